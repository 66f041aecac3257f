//! The hand-written binary encoding of accumulators, for the partial results of sharded runs
//! ([`MetricAccumulator::write_to`](crate::MetricAccumulator::write_to),
//! [`WaitAccumulator::write_to`](crate::WaitAccumulator::write_to)).
//!
//! Every stream is: a 4-byte tag naming the type, a `u16` format version, the type's fields
//! (integers little-endian, `f64`s as their bits), and an 8-byte checksum, FNV-1a (64-bit) of
//! every byte before it. One step of FNV-1a is a bijection of the running hash for a given byte
//! and of the byte for a given hash, so changing any one byte always changes the checksum.
//!
//! The reader consumes exactly the bytes the writer produced, so several accumulators may follow
//! each other in one stream. It never allocates ahead of the data: variable-length parts are
//! read block by block, so a corrupted length makes the stream run out (an error) before memory
//! does.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use crate::error::ReportError;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Bytes gathered before they are handed to the writer.
const FLUSH_AT: usize = 1 << 16;

/// Entries (or buckets) read per block: bounds what a corrupted length can make the reader
/// allocate beyond the data it has actually read.
pub(crate) const BLOCK: usize = 4096;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    h
}

/// Writes a stream: header, fields, checksum. Buffers internally, so the writer need not be
/// buffered.
pub(crate) struct Encoder<'a, W: Write + ?Sized> {
    w: &'a mut W,
    buf: Vec<u8>,
    hash: u64,
}

impl<'a, W: Write + ?Sized> Encoder<'a, W> {
    /// Starts a stream with its tag and format version.
    pub(crate) fn new(w: &'a mut W, tag: [u8; 4], version: u16) -> Self {
        let mut e = Encoder {
            w,
            buf: Vec::with_capacity(1024),
            hash: FNV_OFFSET,
        };
        e.buf.extend_from_slice(&tag);
        e.buf.extend_from_slice(&version.to_le_bytes());
        e
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.hash = fnv(self.hash, &self.buf);
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Appends raw bytes.
    pub(crate) fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    pub(crate) fn u8(&mut self, x: u8) -> io::Result<()> {
        self.bytes(&[x])
    }

    pub(crate) fn u16(&mut self, x: u16) -> io::Result<()> {
        self.bytes(&x.to_le_bytes())
    }

    pub(crate) fn u64(&mut self, x: u64) -> io::Result<()> {
        self.bytes(&x.to_le_bytes())
    }

    pub(crate) fn i64(&mut self, x: i64) -> io::Result<()> {
        self.bytes(&x.to_le_bytes())
    }

    pub(crate) fn u128(&mut self, x: u128) -> io::Result<()> {
        self.bytes(&x.to_le_bytes())
    }

    /// Writes what is buffered and the checksum.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.w.write_all(&self.hash.to_le_bytes())
    }
}

/// Reads a stream written by an [`Encoder`], checksumming as it goes.
pub(crate) struct Decoder<'a, R: Read + ?Sized> {
    r: &'a mut R,
    hash: u64,
    /// The type being read, for error messages.
    kind: &'static str,
}

impl<'a, R: Read + ?Sized> Decoder<'a, R> {
    /// Reads and checks the tag and the format version.
    pub(crate) fn new(
        r: &'a mut R,
        kind: &'static str,
        tag: [u8; 4],
        version: u16,
    ) -> Result<Self, ReportError> {
        let mut d = Decoder {
            r,
            hash: FNV_OFFSET,
            kind,
        };
        let found: [u8; 4] = d.array("the tag")?;
        if found != tag {
            return Err(d.corrupt(format!(
                "tag {:?}, expected {:?} (not a {kind} stream)",
                String::from_utf8_lossy(&found),
                String::from_utf8_lossy(&tag)
            )));
        }
        let v = d.u16("the format version")?;
        if v != version {
            return Err(d.corrupt(format!(
                "format version {v}, this build reads version {version}"
            )));
        }
        Ok(d)
    }

    /// A [`ReportError::Corrupt`] naming the type.
    pub(crate) fn corrupt(&self, what: impl std::fmt::Display) -> ReportError {
        ReportError::Corrupt {
            what: format!("{}: {what}", self.kind),
        }
    }

    /// Fills `buf` from the stream.
    pub(crate) fn fill(&mut self, buf: &mut [u8], field: &str) -> Result<(), ReportError> {
        match self.r.read_exact(buf) {
            Ok(()) => {
                self.hash = fnv(self.hash, buf);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(self.corrupt(format!("truncated: the stream ends inside {field}")))
            }
            Err(source) => Err(ReportError::Read {
                path: PathBuf::from("<stream>"),
                source,
            }),
        }
    }

    pub(crate) fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N], ReportError> {
        let mut b = [0u8; N];
        self.fill(&mut b, field)?;
        Ok(b)
    }

    pub(crate) fn u8(&mut self, field: &str) -> Result<u8, ReportError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &str) -> Result<u16, ReportError> {
        self.array(field).map(u16::from_le_bytes)
    }

    pub(crate) fn u64(&mut self, field: &str) -> Result<u64, ReportError> {
        self.array(field).map(u64::from_le_bytes)
    }

    pub(crate) fn i64(&mut self, field: &str) -> Result<i64, ReportError> {
        self.array(field).map(i64::from_le_bytes)
    }

    /// Reads the checksum and compares it with that of everything read before.
    pub(crate) fn finish(self) -> Result<(), ReportError> {
        let expected = self.hash;
        let mut b = [0u8; 8];
        match self.r.read_exact(&mut b) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(self.corrupt("truncated: the stream ends inside the checksum"));
            }
            Err(source) => {
                return Err(ReportError::Read {
                    path: PathBuf::from("<stream>"),
                    source,
                });
            }
        }
        let found = u64::from_le_bytes(b);
        if found != expected {
            return Err(self.corrupt(format!(
                "checksum {found:#018x} does not match the content's {expected:#018x}"
            )));
        }
        Ok(())
    }
}

/// Little-endian field readers over a block of bytes already read (and checksummed).
pub(crate) fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

pub(crate) fn le_i64(b: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

pub(crate) fn le_u128(b: &[u8], at: usize) -> u128 {
    u128::from_le_bytes(b[at..at + 16].try_into().expect("16 bytes"))
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

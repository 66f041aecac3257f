//! The one error type of this crate: every message names the file (or `<stdout>`) and what went
//! wrong, so the CLI can print it as is.

use std::path::PathBuf;

/// Why a report could not be written (or its inputs were rejected).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Creating the directory or the temporary file, writing, flushing, syncing or renaming it
    /// over the destination failed.
    #[error("{}: cannot write", path.display())]
    Write {
        /// The destination (`<stdout>` for standard output).
        path: PathBuf,
        /// The operating-system (or encoder) error.
        source: std::io::Error,
    },
    /// An existing file could not be opened or read (the summary CSV whose header is checked),
    /// or reading a serialized accumulator failed (`<stream>`).
    #[error("{}: cannot read", path.display())]
    Read {
        /// The file (`<stream>` for an accumulator's reader).
        path: PathBuf,
        /// The operating-system (or CSV parser) error.
        source: std::io::Error,
    },
    /// The summary CSV already has a header, and it is not the one this run would write (other
    /// `--set` keys, headline metrics or levels); appending would misalign columns.
    #[error(
        "{}: the existing header differs from the one this run would write ({hint}), not appending\n  existing: {existing}\n  expected: {expected}\nto proceed, write to a new file (another --summary-csv FILE), or give the same --set keys in the same order as the file's columns (every run of one file needs the same keys)",
        path.display()
    )]
    HeaderMismatch {
        /// The file.
        path: PathBuf,
        /// What differs, in words.
        hint: String,
        /// The header found in the file.
        existing: String,
        /// The header this run would write.
        expected: String,
    },
    /// The summary CSV does not end with a line break: an earlier write was cut short (a full
    /// disk, a killed process). Appending would glue the new line to the torn one.
    #[error(
        "{}: the file is torn: it ends at byte {len} in the middle of a line (an earlier write was cut short), not appending to it; remove the partial last line, keeping the first {keep} bytes (`truncate -s {keep} {}`), or write to a new file",
        path.display(),
        path.display()
    )]
    TornCsv {
        /// The file.
        path: PathBuf,
        /// Its length, bytes.
        len: u64,
        /// The length of its complete lines (up to and including the last line break).
        keep: u64,
    },
    /// The data handed to a writer is inconsistent (columns of different lengths, zero bins, an
    /// unknown headline metric, …); nothing was written.
    #[error("{}: {reason}", path.display())]
    InvalidInput {
        /// The file that was not written.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A serialized accumulator (a shard's partial result, see
    /// [`MetricAccumulator::read_from`](crate::MetricAccumulator::read_from)) could not be
    /// decoded: the stream is truncated, is not of the expected type or format version, fails
    /// its checksum, or holds an inconsistent state. Nothing was read into memory beyond what
    /// the stream actually contained.
    #[error("corrupt or incompatible accumulator stream: {what}")]
    Corrupt {
        /// What is wrong, naming the accumulator type and the field.
        what: String,
    },
    /// A tail level is not strictly between 0 and 1, or is given twice.
    #[error("invalid tail level {level}: {reason}")]
    InvalidLevel {
        /// The level as given.
        level: f64,
        /// What is wrong.
        reason: &'static str,
    },
}

//! Every path's values streamed to `paths.parquet` as the run goes (`--paths-parquet`, cargo
//! feature `parquet`): one Arrow record batch per chunk, written in path order into row groups
//! of [`ROW_GROUP_PATHS`] paths, Snappy-compressed. Columns: `path` (UInt64), then every
//! column of the run's layout (Float64, in layout order), then `weight` (Float64) when the run
//! is importance-sampled — the columns of paths.csv, typed.
//!
//! The run hands chunks over roughly in order ([`lrtsim_sim::ChunkSink::in_order`]); a chunk
//! that arrives before the ones it follows waits in memory, and a worker whose chunk is more
//! than [`MAX_PENDING_CHUNKS`] ahead of the next one to write waits for it, so memory stays
//! within a fixed buffer whatever the number of paths. The bytes depend only on the values
//! (and the writer's version), so they are the same for any thread count.
//!
//! The file is written as `paths.parquet.tmp-<pid>` in the output directory (removed on an
//! interrupt or a failure) and renamed into place with the other files of the set.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use arrow_array::{ArrayRef, Float64Array, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use lrtsim_sim::ChunkOutput;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};

/// The file's name in the output directory.
pub const FILE: &str = "paths.parquet";
/// Whether this build writes Parquet.
pub const AVAILABLE: bool = true;

/// Paths per row group: 64 chunks.
pub const ROW_GROUP_PATHS: usize = 65_536;
/// Chunks that may wait for earlier ones before their workers wait too.
pub const MAX_PENDING_CHUNKS: u64 = 64;

/// One chunk's values, waiting for its turn.
struct Pending {
    first_path: u64,
    columns: Vec<Vec<f64>>,
    weights: Option<Vec<f64>>,
}

struct State {
    writer: Option<ArrowWriter<File>>,
    /// The next chunk to write.
    next: u64,
    pending: BTreeMap<u64, Pending>,
    /// The first error (nothing more is written after it).
    error: Option<String>,
}

/// The streaming writer of `paths.parquet` (see the module's documentation).
pub struct PathsParquet {
    schema: Arc<Schema>,
    tmp: PathBuf,
    state: Mutex<State>,
    turn: Condvar,
}

impl PathsParquet {
    /// Starts `dir/paths.parquet.tmp-<pid>` for the columns `names` (and `weight` when
    /// `weighted`), the first chunk to come being `first_chunk`.
    pub fn create(dir: &Path, names: &[String], weighted: bool, first_chunk: u64) -> Result<Self> {
        let mut fields = vec![Field::new("path", DataType::UInt64, false)];
        fields.extend(
            names
                .iter()
                .map(|n| Field::new(n, DataType::Float64, false)),
        );
        if weighted {
            fields.push(Field::new("weight", DataType::Float64, false));
        }
        let schema = Arc::new(Schema::new(fields));
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!("{FILE}.tmp-{}", std::process::id()));
        let file = File::create(&tmp).map_err(|e| Error::Context {
            context: format!("creating {}", tmp.display()),
            source: Box::new(e.into()),
        })?;
        lrtsim_report::register_cleanup(&tmp);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_PATHS))
            .set_created_by(format!("lrtsim {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| Error::Failed(format!("{}: {e}", tmp.display())))?;
        Ok(PathsParquet {
            schema,
            tmp,
            state: Mutex::new(State {
                writer: Some(writer),
                next: first_chunk,
                pending: BTreeMap::new(),
                error: None,
            }),
            turn: Condvar::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes one chunk: writes it and the chunks waiting after it when it is the next one,
    /// else keeps a copy until its turn (waiting first while it is too far ahead, unless
    /// `stopping` says the run is stopping: the chunks before may then never come).
    pub fn accept(&self, chunk: &ChunkOutput<'_>, stopping: &dyn Fn() -> bool) {
        let mut state = self.state();
        while state.error.is_none() && chunk.chunk >= state.next + MAX_PENDING_CHUNKS {
            if stopping() {
                state.error = Some("the run stopped".to_string());
                break;
            }
            state = self
                .turn
                .wait_timeout(state, std::time::Duration::from_millis(50))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        if state.error.is_some() {
            return;
        }
        state.pending.insert(
            chunk.chunk,
            Pending {
                first_path: chunk.paths.start,
                columns: chunk.columns.to_vec(),
                weights: chunk.weights.map(<[f64]>::to_vec),
            },
        );
        let mut wrote = false;
        loop {
            let next = state.next;
            let Some(p) = state.pending.remove(&next) else {
                break;
            };
            if let Err(e) = self.write(&mut state, p) {
                state.error = Some(format!("{}: {e}", self.tmp.display()));
                state.pending.clear();
                break;
            }
            state.next += 1;
            wrote = true;
        }
        drop(state);
        if wrote {
            self.turn.notify_all();
        }
    }

    /// Writes one chunk's record batch.
    fn write(&self, state: &mut State, p: Pending) -> std::result::Result<(), String> {
        let n = p.columns.first().map_or(0, Vec::len) as u64;
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        arrays.push(Arc::new(UInt64Array::from_iter_values(
            p.first_path..p.first_path + n,
        )));
        for c in p.columns {
            arrays.push(Arc::new(Float64Array::from(c)));
        }
        if let Some(w) = p.weights {
            arrays.push(Arc::new(Float64Array::from(w)));
        }
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| e.to_string())?;
        state
            .writer
            .as_mut()
            .ok_or("the writer is closed")?
            .write(&batch)
            .map_err(|e| e.to_string())
    }

    /// Appends the paths of a shard's `paths.parquet` part `file` (written by a run of
    /// `total_paths` paths with the columns `names`, and `weight` when `weighted`), whose first
    /// path starts chunk `first_chunk`, as the chunks they came in: the merged file has the
    /// bytes of the unsharded run's. Parts are appended in chunk order.
    pub fn append_part(
        &self,
        file: &Path,
        first_chunk: u64,
        names: &[String],
        weighted: bool,
        total_paths: u64,
    ) -> Result<()> {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let bad = |why: String| Error::input(format!("{}: {why}", file.display()));
        let f =
            File::open(file).map_err(|e| bad(format!("cannot open the shard's {FILE}: {e}")))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)
            .map_err(|e| bad(format!("not a Parquet file: {e}")))?;
        let expected: Vec<&str> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        let found: Vec<&str> = reader
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        if found != expected || names.len() + 1 + usize::from(weighted) != expected.len() {
            return Err(bad(format!(
                "its columns are {found:?}, the run's are {expected:?}"
            )));
        }
        let reader = reader
            .with_batch_size(lrtsim_sim::CHUNK_PATHS as usize)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let width = expected.len() - 1;
        // Rows of the current chunk, column by column (path ids first).
        let mut ids: Vec<u64> = Vec::new();
        let mut columns: Vec<Vec<f64>> = vec![Vec::new(); width];
        let mut chunk = first_chunk;
        let flush = |ids: &mut Vec<u64>, columns: &mut Vec<Vec<f64>>, chunk: &mut u64| {
            let paths = lrtsim_sim::chunk_paths(total_paths, *chunk);
            if ids.first() != Some(&paths.start) || ids.len() as u64 != paths.end - paths.start {
                return Err(bad(format!(
                    "its rows do not hold chunk {}'s paths {}..{} in order",
                    *chunk, paths.start, paths.end
                )));
            }
            let weights = weighted.then(|| columns.pop().expect("a weight column"));
            self.accept(
                &ChunkOutput {
                    chunk: *chunk,
                    paths,
                    columns,
                    weights: weights.as_deref(),
                    operators: None,
                },
                &|| false,
            );
            if let Some(w) = weights {
                columns.push(w);
            }
            ids.clear();
            for c in columns.iter_mut() {
                c.clear();
            }
            *chunk += 1;
            if self.failed() {
                return Err(Error::Failed(format!("writing the merged {FILE}")));
            }
            Ok(())
        };
        for batch in reader {
            let batch = batch.map_err(|e| bad(format!("cannot read: {e}")))?;
            let path = batch
                .column(0)
                .as_any()
                .downcast_ref::<UInt64Array>()
                .ok_or_else(|| bad("its path column is not UInt64".to_string()))?;
            let values: Vec<&Float64Array> = (1..=width)
                .map(|c| {
                    batch
                        .column(c)
                        .as_any()
                        .downcast_ref::<Float64Array>()
                        .ok_or_else(|| bad(format!("its column {} is not Float64", expected[c])))
                })
                .collect::<Result<_>>()?;
            for row in 0..batch.num_rows() {
                let id = path.value(row);
                if let Some(&last) = ids.last()
                    && id != last + 1
                {
                    return Err(bad(format!("path {id} follows path {last}")));
                }
                ids.push(id);
                for (c, v) in columns.iter_mut().zip(&values) {
                    c.push(v.value(row));
                }
                let paths = lrtsim_sim::chunk_paths(total_paths, chunk);
                if ids.len() as u64 == paths.end - paths.start {
                    flush(&mut ids, &mut columns, &mut chunk)?;
                }
            }
        }
        if !ids.is_empty() {
            flush(&mut ids, &mut columns, &mut chunk)?;
        }
        Ok(())
    }

    /// Whether writing failed (the run then stops early).
    pub fn failed(&self) -> bool {
        self.state().error.is_some()
    }

    /// Closes the file (its footer) once every chunk is written; returns the temporary file,
    /// to be renamed into place ([`PathsParquet::persist`]).
    pub fn finish(self) -> Result<TempParquet> {
        let mut state = self.state();
        // From here on the temporary belongs to `tmp` (removed when it is dropped), and this
        // writer's drop finds no writer to clean up after.
        let writer = state.writer.take().expect("finished once");
        let tmp = TempParquet(Some(self.tmp.clone()));
        if let Some(e) = state.error.take() {
            return Err(Error::Failed(format!("writing {FILE}: {e}")));
        }
        if !state.pending.is_empty() {
            return Err(Error::Failed(format!(
                "writing {FILE}: chunks {:?} arrived without the ones before them",
                state.pending.keys().collect::<Vec<_>>()
            )));
        }
        drop(state);
        let file = writer
            .into_inner()
            .map_err(|e| Error::Failed(format!("writing {FILE}: {e}")))?;
        file.sync_all()?;
        Ok(tmp)
    }
}

impl Drop for PathsParquet {
    fn drop(&mut self) {
        // Not finished (a failed or stopped run): the temporary goes.
        if self.state().writer.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
            lrtsim_report::unregister_cleanup(&self.tmp);
        }
    }
}

/// A finished `paths.parquet.tmp-<pid>`, removed when dropped unless renamed into place.
pub struct TempParquet(Option<PathBuf>);

impl TempParquet {
    /// Renames the file to `dest`.
    pub fn persist(&mut self, dest: &Path) -> Result<()> {
        let Some(tmp) = self.0.take() else {
            return Err(Error::Failed(format!(
                "{FILE} was already moved into an output directory"
            )));
        };
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        if std::fs::rename(&tmp, dest).is_err() {
            // Another file system: copied to a temporary beside `dest`, then renamed.
            let beside = dest.with_extension(format!("parquet.tmp-{}", std::process::id()));
            lrtsim_report::register_cleanup(&beside);
            let copied = std::fs::copy(&tmp, &beside)
                .and_then(|_| File::open(&beside)?.sync_all())
                .and_then(|()| std::fs::rename(&beside, dest));
            lrtsim_report::unregister_cleanup(&beside);
            if let Err(e) = copied {
                let _ = std::fs::remove_file(&beside);
                self.0 = Some(tmp);
                return Err(Error::Context {
                    context: format!("moving {} to {}", FILE, dest.display()),
                    source: Box::new(e.into()),
                });
            }
            let _ = std::fs::remove_file(&tmp);
        }
        lrtsim_report::unregister_cleanup(&tmp);
        Ok(())
    }
}

impl Drop for TempParquet {
    fn drop(&mut self) {
        if let Some(tmp) = self.0.take() {
            let _ = std::fs::remove_file(&tmp);
            lrtsim_report::unregister_cleanup(&tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunk `k` of a run of `n` paths: two columns of values from the path index.
    fn chunk(k: u64, n: u64) -> (std::ops::Range<u64>, Vec<Vec<f64>>, Vec<f64>) {
        let paths = lrtsim_sim::chunk_paths(n, k);
        let a = paths.clone().map(|p| p as f64 * 0.5).collect();
        let b = paths.clone().map(|p| (p as f64).sqrt()).collect();
        let w = paths.clone().map(|p| 1.0 / (1.0 + p as f64)).collect();
        (paths, vec![a, b], w)
    }

    /// Hands chunk `k` of a run of `n` paths to `pq`.
    fn hand_over(pq: &PathsParquet, k: u64, n: u64, stopping: &dyn Fn() -> bool) {
        let (paths, columns, weights) = chunk(k, n);
        pq.accept(
            &ChunkOutput {
                chunk: k,
                paths,
                columns: &columns,
                weights: Some(&weights),
                operators: None,
            },
            stopping,
        );
    }

    fn write_in(order: &[u64], n: u64, dir: &Path) -> Vec<u8> {
        let names = vec!["a".to_string(), "b".to_string()];
        let pq = PathsParquet::create(dir, &names, true, 0).unwrap();
        std::thread::scope(|s| {
            // Each chunk from its own thread, started in `order`: early ones wait in memory.
            for &k in order {
                let pq = &pq;
                s.spawn(move || hand_over(pq, k, n, &|| false));
            }
        });
        let mut tmp = pq.finish().unwrap();
        let dest = dir.join(FILE);
        tmp.persist(&dest).unwrap();
        std::fs::read(dest).unwrap()
    }

    /// Chunks handed over in any order give the bytes of chunks handed over in order.
    #[test]
    fn any_arrival_order_gives_the_same_file() {
        let n = 70 * lrtsim_sim::CHUNK_PATHS + 100;
        let chunks = lrtsim_sim::chunk_count(n);
        let dir = tempfile::tempdir().unwrap();
        let in_order: Vec<u64> = (0..chunks).collect();
        let reference = write_in(&in_order, n, &dir.path().join("a"));
        assert_eq!(&reference[..4], b"PAR1");
        let mut reversed = in_order.clone();
        reversed.reverse();
        let mut shuffled = in_order.clone();
        shuffled.sort_by_key(|k| (k * 37) % chunks);
        for order in [reversed, shuffled] {
            assert_eq!(write_in(&order, n, &dir.path().join("b")), reference);
        }
        // No temporary is left behind.
        for d in ["a", "b"] {
            let names: Vec<_> = std::fs::read_dir(dir.path().join(d))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, [FILE], "{d}");
        }
    }

    /// A worker waiting for its turn gives up when the run stops (the chunks before it may
    /// never come), and an unfinished writer removes its temporary.
    #[test]
    fn a_stopping_run_does_not_wait_forever() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["a".to_string(), "b".to_string()];
        let pq = PathsParquet::create(dir.path(), &names, true, 0).unwrap();
        let n = 1000 * lrtsim_sim::CHUNK_PATHS;
        let k = MAX_PENDING_CHUNKS + 5;
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(100));
                stop.store(true, Ordering::Relaxed);
            });
            hand_over(&pq, k, n, &|| stop.load(Ordering::Relaxed));
        });
        assert!(pq.failed());
        assert!(pq.finish().is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    use std::sync::atomic::{AtomicBool, Ordering};
}

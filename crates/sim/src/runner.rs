//! The rayon-parallel runner: fixed-size chunks of paths, each with its own random stream,
//! combined in chunk order — so results are bit-identical for any thread count and any split
//! of the chunks into shards.

use std::ops::Range;

use lrtsim_scenario::Model;
use rayon::prelude::*;

use crate::kernel::PathKernel;
use crate::outputs::{Layout, SimResults};
use crate::stream::{CHUNK_PATHS, chunk_rng};

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Run only these chunks (a shard); None runs every chunk.
    pub chunks: Option<Range<u64>>,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The worker thread pool could not be built.
    #[error("cannot start {threads} worker threads: {message}")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// The pool builder's message.
        message: String,
    },
    /// The chunk range does not fit the run.
    #[error("chunks {start}..{end} are outside the run's {total} chunks")]
    BadChunks {
        /// First chunk asked for.
        start: u64,
        /// One past the last chunk asked for.
        end: u64,
        /// Chunks in the run.
        total: u64,
    },
}

/// Number of chunks of a run of `paths` paths.
pub fn chunk_count(paths: u64) -> u64 {
    paths.div_ceil(CHUNK_PATHS)
}

/// Paths of chunk `chunk` as a range of path indices.
pub fn chunk_paths(paths: u64, chunk: u64) -> Range<u64> {
    let start = chunk * CHUNK_PATHS;
    start..(start + CHUNK_PATHS).min(paths)
}

/// Runs the model's paths. `progress` is called with the number of paths of each finished
/// chunk (from worker threads, in no particular order).
pub fn run(
    model: &Model,
    options: &RunOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SimResults, SimError> {
    let total = chunk_count(model.paths);
    let chunks = options.chunks.clone().unwrap_or(0..total);
    if chunks.start > chunks.end || chunks.end > total {
        return Err(SimError::BadChunks {
            start: chunks.start,
            end: chunks.end,
            total,
        });
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .map_err(|e| SimError::ThreadPool {
            threads: options.threads,
            message: e.to_string(),
        })?;
    let layout = Layout::new(model);
    let width = layout.len();
    let rows: Vec<Vec<f64>> = pool.install(|| {
        chunks
            .clone()
            .into_par_iter()
            .map(|chunk| {
                let rows = run_chunk(model, chunk);
                progress((rows.len() / width) as u64);
                rows
            })
            .collect()
    });
    let n: usize = rows.iter().map(|r| r.len() / width).sum();
    let mut columns: Vec<Vec<f64>> = (0..width).map(|_| Vec::with_capacity(n)).collect();
    for chunk_rows in rows {
        for row in chunk_rows.chunks_exact(width) {
            for (col, v) in columns.iter_mut().zip(row) {
                col.push(*v);
            }
        }
    }
    let first_path = chunks.start * CHUNK_PATHS;
    Ok(SimResults {
        layout,
        first_path,
        columns,
    })
}

/// Simulates one chunk; returns its rows, row-major.
pub fn run_chunk(model: &Model, chunk: u64) -> Vec<f64> {
    let mut rng = chunk_rng(model.seed, chunk);
    let mut kernel = PathKernel::new(model);
    let width = kernel.layout().len();
    let paths = chunk_paths(model.paths, chunk);
    let mut rows = vec![0.0; (paths.end - paths.start) as usize * width];
    for row in rows.chunks_exact_mut(width) {
        kernel.run_path(&mut rng, row);
    }
    rows
}

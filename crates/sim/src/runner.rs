//! The rayon-parallel runner: fixed-size chunks of paths, each with its own random stream,
//! combined in chunk order — so results are bit-identical for any thread count and any split
//! of the chunks into shards.

use std::ops::Range;
use std::sync::Mutex;

use lrtsim_scenario::Model;
use rayon::prelude::*;

use crate::bands::PriceBands;
use crate::importance::ResolvedTilt;
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
    let tilt = pool.install(|| crate::importance::resolve(model));
    let first_path = chunks.start * CHUNK_PATHS;
    let end_path = (chunks.end * CHUNK_PATHS).min(model.paths).max(first_path);
    let n = (end_path - first_path) as usize;
    // Every chunk writes its paths straight into its own slice of every column: no row
    // buffer to transpose afterwards, and the columns are the only per-path memory.
    let mut columns: Vec<Vec<f64>> = (0..width).map(|_| vec![0.0; n]).collect();
    let mut weights: Option<Vec<f64>> = tilt.as_ref().map(|_| vec![0.0; n]);
    let mut per_chunk: Vec<Vec<&mut [f64]>> = (0..chunks.end - chunks.start)
        .map(|_| Vec::with_capacity(width))
        .collect();
    for column in columns.iter_mut().chain(weights.iter_mut()) {
        for (slices, part) in per_chunk
            .iter_mut()
            .zip(column.chunks_mut(CHUNK_PATHS as usize))
        {
            slices.push(part);
        }
    }
    // Price bands are integer counts: merged in any order, they come out the same.
    let bands: Mutex<Option<PriceBands>> = Mutex::new(
        model
            .market
            .as_ref()
            .map(|_| PriceBands::new(model.n_steps, model.step_days)),
    );
    pool.install(|| {
        per_chunk
            .into_par_iter()
            .enumerate()
            .for_each(|(i, mut slices)| {
                let (paths, chunk_bands) =
                    run_chunk_into(model, tilt.as_ref(), chunks.start + i as u64, &mut slices);
                if let Some(b) = chunk_bands {
                    let mut all = bands.lock().expect("no worker panics while merging");
                    all.as_mut().expect("a market has bands").merge(&b);
                }
                progress(paths);
            })
    });
    Ok(SimResults {
        layout,
        first_path,
        columns,
        weights,
        tilt,
        price_bands: bands.into_inner().expect("no worker panicked"),
    })
}

/// Simulates chunk `chunk`, writing path `k` of the chunk to `columns[c][k]` (and, under a
/// tilt, its likelihood-ratio weight to the extra last column); returns the number of paths
/// and, with a market, their price bands.
fn run_chunk_into(
    model: &Model,
    tilt: Option<&ResolvedTilt>,
    chunk: u64,
    columns: &mut [&mut [f64]],
) -> (u64, Option<PriceBands>) {
    let mut rng = chunk_rng(model.seed, chunk);
    let mut kernel = match tilt {
        Some(t) => {
            let direct: Vec<bool> = t.tilt.copulas.iter().map(|&s| s != 0.0).collect();
            PathKernel::with_tilt(model, &t.tilt, &direct)
        }
        None => PathKernel::new(model),
    };
    let width = kernel.layout().len();
    let mut row = vec![0.0; width];
    let paths = chunk_paths(model.paths, chunk);
    for k in 0..(paths.end - paths.start) as usize {
        kernel.run_path(&mut rng, &mut row);
        for (column, v) in columns.iter_mut().zip(&row) {
            column[k] = *v;
        }
        if tilt.is_some() {
            columns[width][k] = kernel.weight();
        }
    }
    (paths.end - paths.start, kernel.take_bands())
}

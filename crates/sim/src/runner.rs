//! The rayon-parallel runner: fixed-size chunks of paths, each with its own random stream,
//! combined in chunk order — so results are bit-identical for any thread count and any split
//! of the chunks into shards.

use std::ops::Range;
use std::sync::Mutex;

use lrtsim_scenario::Model;
use rayon::prelude::*;

use crate::bands::{BandSet, PriceBands};
use crate::importance::ResolvedTilt;
use crate::kernel::PathKernel;
use crate::outputs::{Layout, SimResults};
use crate::stream::{CHUNK_PATHS, path_rng};

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
    /// A path's likelihood-ratio weight left the floating-point range (importance sampling
    /// with tilts far too strong for the scenario).
    #[error(
        "importance sampling: the likelihood-ratio weight of path {path} is e^{log_weight:.1}, outside the range of floating-point numbers (e^-745 to e^709): the tilts are far too strong for this scenario; weaken importance.rate_multipliers or importance.factor_shifts (or, with method = \"auto\", run without [importance])"
    )]
    Weight {
        /// The first such path.
        path: u64,
        /// Its log weight.
        log_weight: f64,
    },
    /// The sink asked the run to stop ([`ChunkSink::stopped`]) before every chunk ran.
    #[error("stopped before every path ran (interrupted)")]
    Stopped,
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

/// One finished chunk of paths, handed to a [`ChunkSink`].
#[derive(Debug)]
pub struct ChunkOutput<'a> {
    /// Chunk index.
    pub chunk: u64,
    /// Its paths' indices.
    pub paths: Range<u64>,
    /// `columns[c][k]` is column `c` (of the run's [`Layout`]) of path `paths.start + k`.
    pub columns: &'a [Vec<f64>],
    /// Likelihood-ratio weight of every path under importance sampling (None: plain Monte
    /// Carlo).
    pub weights: Option<&'a [f64]>,
    /// ETH slashed per operator, for the sinks that ask ([`ChunkSink::wants_operators`]): the
    /// positive entries only, by path then operator, ascending. None otherwise.
    pub operators: Option<&'a [OperatorLoss]>,
}

/// One operator's ETH slashed on one path (AVS slashing of its allocations and beacon-chain
/// losses of its validators; see [`crate::PathComponents::slashed_by_operator`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatorLoss {
    /// The path.
    pub path: u64,
    /// The operator, by its index in the model.
    pub operator: u32,
    /// ETH slashed, > 0.
    pub eth: f64,
}

/// Receives every chunk of a run, from worker threads, in no particular order. A sink whose
/// result must not depend on the thread count combines chunks with an order-independent
/// (exactly associative and commutative) merge, or places them by chunk index.
pub trait ChunkSink: Sync {
    /// Takes one finished chunk.
    fn accept(&self, chunk: &ChunkOutput<'_>);

    /// Whether the chunks should carry the ETH slashed per operator
    /// ([`ChunkOutput::operators`]); recording it costs a little on every slashing event and
    /// path. No by default.
    fn wants_operators(&self) -> bool {
        false
    }

    /// Whether the sink wants the chunks roughly in order (to stream them to a file): chunks
    /// are then started in increasing order, one at a time per worker, so that one that
    /// finishes early waits only for the few still running. Any order by default
    /// (work-stealing halves of the range: the fastest schedule).
    fn in_order(&self) -> bool {
        false
    }

    /// Whether the run should stop (an interrupt): checked before each chunk; once true, the
    /// chunks not started are skipped and the run fails with [`SimError::Stopped`]. Never by
    /// default.
    fn stopped(&self) -> bool {
        false
    }
}

/// What a run produced besides the chunks given to the sink.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Column layout of the chunks.
    pub layout: Layout,
    /// Paths run: indices `paths.start..paths.end` (a shard runs part of them).
    pub paths: Range<u64>,
    /// The importance-sampling tilt the paths were drawn under (None: plain Monte Carlo).
    pub tilt: Option<ResolvedTilt>,
    /// Market price / NAV bands of the paths run (None without `[market]`).
    pub price_bands: Option<PriceBands>,
    /// Withdrawal-queue bands, as a share of the t = 0 supply (None without `[withdrawals]`).
    pub queue_bands: Option<PriceBands>,
    /// Lending-market utilization bands (None without `[lending.rates]`).
    pub utilization_bands: Option<PriceBands>,
    /// The beacon chain's exit queue, in units of [`crate::bands::EXIT_QUEUE_UNIT_ETH`] (None
    /// without `[withdrawals]` or, in a sector, without a front door).
    pub exit_queue_bands: Option<PriceBands>,
    /// A sector's price / NAV bands of each LRT with a market, in `[[lrts]]` order (empty for
    /// a pool).
    pub lrt_price_bands: Vec<PriceBands>,
}

/// Runs the model's paths, handing each finished chunk to `sink`; per-path values are not
/// kept. `progress` is called with the number of paths of each finished chunk (from worker
/// threads, in no particular order).
pub fn run_with(
    model: &Model,
    options: &RunOptions,
    sink: &dyn ChunkSink,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RunOutcome, SimError> {
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
    let tilt = pool.install(|| crate::importance::resolve(model));
    let first_path = chunks.start * CHUNK_PATHS;
    let end_path = (chunks.end * CHUNK_PATHS).min(model.paths).max(first_path);
    // The first path (by id, whatever the thread count) whose weight is not a positive float.
    let bad_weight: std::sync::Mutex<Option<(u64, f64)>> = std::sync::Mutex::new(None);
    // Each worker job keeps one kernel (its buffers and price bands) and one chunk buffer
    // across the chunks it runs; price bands are integer counts, so merging them in any
    // order gives the same bands.
    let new_worker = || Worker::new(model, tilt.as_ref(), sink.wants_operators());
    let run_chunk = chunk_step(|mut worker: Worker<'_>, chunk: u64| {
        if sink.stopped() {
            return worker;
        }
        let paths = worker.run_chunk(model, chunk);
        if let Some(bad) = worker.bad_weight {
            let mut first = bad_weight.lock().expect("no worker panics holding it");
            if first.is_none_or(|f| bad.0 < f.0) {
                *first = Some(bad);
            }
            return worker;
        }
        sink.accept(&ChunkOutput {
            chunk,
            paths: paths.clone(),
            columns: &worker.columns,
            weights: tilt.as_ref().map(|_| worker.weights.as_slice()),
            operators: worker.operators.as_deref(),
        });
        progress(paths.end - paths.start);
        worker
    });
    let bands = pool.install(|| {
        let range = chunks.start..chunks.end;
        if sink.in_order() {
            use rayon::iter::ParallelBridge;
            range
                .par_bridge()
                .fold(new_worker, run_chunk)
                .map(|mut worker| worker.kernel.take_band_set())
                .reduce(BandSet::default, BandSet::merge)
        } else {
            range
                .into_par_iter()
                .fold(new_worker, run_chunk)
                .map(|mut worker| worker.kernel.take_band_set())
                .reduce(BandSet::default, BandSet::merge)
        }
    });
    let empty = BandSet::for_model(model);
    if sink.stopped() {
        return Err(SimError::Stopped);
    }
    if let Some((path, log_weight)) = bad_weight.into_inner().expect("no worker panicked") {
        return Err(SimError::Weight { path, log_weight });
    }
    let price_bands = bands.price.or(empty.price);
    Ok(RunOutcome {
        layout,
        paths: first_path..end_path,
        tilt,
        price_bands,
        queue_bands: bands.queue.or(empty.queue),
        utilization_bands: bands.utilization.or(empty.utilization),
        exit_queue_bands: bands.exit_queue.or(empty.exit_queue),
        lrt_price_bands: if bands.lrt_price.is_empty() {
            empty.lrt_price
        } else {
            bands.lrt_price
        },
    })
}

/// `f`, typed as a step from a worker to the same worker (a closure's own signature would
/// not tie the two lifetimes).
fn chunk_step<'m, F: Fn(Worker<'m>, u64) -> Worker<'m>>(f: F) -> F {
    f
}

/// A worker job's kernel and chunk buffers.
struct Worker<'m> {
    kernel: PathKernel<'m>,
    tilted: bool,
    row: Vec<f64>,
    columns: Vec<Vec<f64>>,
    weights: Vec<f64>,
    /// ETH slashed per operator, when recorded.
    operators: Option<Vec<OperatorLoss>>,
    /// The first path of the last chunk whose weight is not a positive finite float, with its
    /// log weight.
    bad_weight: Option<(u64, f64)>,
}

impl<'m> Worker<'m> {
    fn new(model: &'m Model, tilt: Option<&ResolvedTilt>, operators: bool) -> Self {
        let mut kernel = crate::importance::run_kernel(model, tilt);
        if operators {
            kernel.record_operators();
        }
        let width = kernel.layout().len();
        Worker {
            kernel,
            tilted: tilt.is_some(),
            row: vec![0.0; width],
            columns: vec![Vec::with_capacity(CHUNK_PATHS as usize); width],
            weights: Vec::with_capacity(CHUNK_PATHS as usize),
            operators: operators.then(Vec::new),
            bad_weight: None,
        }
    }

    /// Simulates chunk `chunk` into the buffers; returns its paths.
    fn run_chunk(&mut self, model: &Model, chunk: u64) -> Range<u64> {
        let paths = chunk_paths(model.paths, chunk);
        for c in self.columns.iter_mut() {
            c.clear();
        }
        self.weights.clear();
        if let Some(o) = self.operators.as_mut() {
            o.clear();
        }
        self.bad_weight = None;
        for path in paths.clone() {
            let mut rng = path_rng(model.seed, path);
            self.kernel.run_path(&mut rng, &mut self.row);
            for (column, v) in self.columns.iter_mut().zip(&self.row) {
                column.push(*v);
            }
            if let Some(out) = self.operators.as_mut() {
                self.kernel.for_each_slashed_operator(|operator, eth| {
                    if eth > 0.0 {
                        out.push(OperatorLoss {
                            path,
                            operator,
                            eth,
                        });
                    }
                });
            }
            if self.tilted {
                let w = self.kernel.weight();
                if !(w > 0.0 && w.is_finite()) && self.bad_weight.is_none() {
                    self.bad_weight = Some((path, self.kernel.log_weight()));
                }
                self.weights.push(w);
            }
        }
        paths
    }
}

/// A [`ChunkSink`] that keeps every path's values, placed by path index (so the result does
/// not depend on the order chunks arrive in).
#[derive(Debug)]
pub struct Collector {
    first_path: u64,
    columns: Mutex<Vec<Vec<f64>>>,
    weights: Option<Mutex<Vec<f64>>>,
}

impl Collector {
    /// Room for paths `first_path..first_path + paths`, `width` columns each, and their
    /// weights if `weighted`.
    pub fn new(first_path: u64, paths: usize, width: usize, weighted: bool) -> Self {
        Collector {
            first_path,
            columns: Mutex::new(vec![vec![0.0; paths]; width]),
            weights: weighted.then(|| Mutex::new(vec![0.0; paths])),
        }
    }

    /// The columns and (if weighted) the weights.
    pub fn into_parts(self) -> (Vec<Vec<f64>>, Option<Vec<f64>>) {
        (
            self.columns.into_inner().expect("no worker panicked"),
            self.weights
                .map(|w| w.into_inner().expect("no worker panicked")),
        )
    }
}

impl ChunkSink for Collector {
    fn accept(&self, chunk: &ChunkOutput<'_>) {
        let at = (chunk.paths.start - self.first_path) as usize;
        let n = (chunk.paths.end - chunk.paths.start) as usize;
        {
            let mut columns = self.columns.lock().expect("no worker panics while copying");
            for (all, part) in columns.iter_mut().zip(chunk.columns) {
                all[at..at + n].copy_from_slice(part);
            }
        }
        if let (Some(all), Some(part)) = (&self.weights, chunk.weights) {
            all.lock().expect("no worker panics while copying")[at..at + n].copy_from_slice(part);
        }
    }
}

/// Runs the model's paths and keeps every path's values (see [`run_with`] to stream them
/// instead). `progress` is called with the number of paths of each finished chunk (from
/// worker threads, in no particular order).
pub fn run(
    model: &Model,
    options: &RunOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SimResults, SimError> {
    let total = chunk_count(model.paths);
    let chunks = options.chunks.clone().unwrap_or(0..total);
    let first_path = chunks.start.min(total) * CHUNK_PATHS;
    let end_path = (chunks.end.min(total) * CHUNK_PATHS)
        .min(model.paths)
        .max(first_path);
    let n = (end_path - first_path) as usize;
    let width = Layout::new(model).len();
    let collector = Collector::new(first_path, n, width, model.importance.is_some());
    let outcome = run_with(model, options, &collector, progress)?;
    let (columns, weights) = collector.into_parts();
    Ok(SimResults {
        layout: outcome.layout,
        first_path,
        columns,
        weights,
        tilt: outcome.tilt,
        price_bands: outcome.price_bands,
    })
}

//! Paths per second of the engine on the benchmark scenario (scenarios/bench-slashing.toml),
//! on scenarios/baseline.toml, on scenarios/bank-run.toml (withdrawals: the front door runs
//! every step) and on the market presets (the pool and its traders every step), at 1 and 2
//! threads. Results go to BENCHMARKS.md. `cargo bench --bench engine -- steth` runs one group.
//!
//! The `end_to_end` groups measure what `lrtsim run` does minus writing files: 1,000,000
//! paths of bench-slashing and baseline streamed into one tail accumulator per column (as the
//! report does), then VaR/ES with intervals at the default levels for every column.
//!
//! Run: `cargo bench --bench engine` (criterion reports throughput in paths/s).

use std::hint::black_box;
use std::path::Path;

use std::sync::Mutex;

use rayon::prelude::*;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lrtsim_report::{DEFAULT_LEVELS, MetricAccumulator, MetricStats};
use lrtsim_scenario::Model;
use lrtsim_sim::{ChunkOutput, ChunkSink, Layout, RunOptions, run, run_with};

/// Scenarios and paths per measured run: enough for every thread to get many chunks, few
/// enough for the slow step-by-step kernels to take seconds.
const RUNS: [(&str, u64); 8] = [
    ("bench-slashing", 200_000),
    ("baseline", 200_000),
    ("bank-run", 200_000),
    ("steth-2022", 50_000),
    ("ezeth-2024", 200_000),
    ("rseth-2026", 20_000),
    ("leverage-loop", 20_000),
    ("market-oracle-cascade", 5_000),
];

/// A shipped scenario with `paths` paths.
fn shipped(name: &str, paths: u64) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"));
    lrtsim_scenario::load_file(&path, &[format!("simulation.paths={paths}")])
        .expect("scenario loads")
}

/// A criterion group `group` timing `f` at 1 and 2 threads, throughput in paths.
fn bench_threads(c: &mut Criterion, group: String, paths: u64, f: impl Fn(&RunOptions)) {
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(paths));
    group.sample_size(10);
    for threads in [1, 2] {
        let options = RunOptions {
            threads,
            chunks: None,
        };
        group.bench_function(format!("threads={threads}"), |b| b.iter(|| f(&options)));
    }
    group.finish();
}

fn engine(c: &mut Criterion) {
    for (name, paths) in RUNS {
        let model = shipped(name, paths);
        bench_threads(c, name.to_string(), paths, |options| {
            black_box(run(&model, options, &|_| {}).expect("run"));
        });
    }
}

/// One tail accumulator per output column.
struct Tails(Vec<Mutex<MetricAccumulator>>);

impl ChunkSink for Tails {
    fn accept(&self, chunk: &ChunkOutput<'_>) {
        // Start at a different column per chunk, as the CLI does, so workers rarely queue.
        let k = self.0.len();
        let first = (chunk.chunk % k as u64) as usize;
        for i in (0..k).map(|i| (first + i) % k) {
            self.0[i].lock().unwrap().add_chunk(
                chunk.paths.start,
                &chunk.columns[i],
                chunk.weights,
            );
        }
    }
}

/// Runs `model` and computes the tail statistics of every column.
fn end_to_end_run(model: &Model, options: &RunOptions) -> Vec<MetricStats> {
    let layout = Layout::new(model);
    let capacity =
        lrtsim_report::tail_capacity(model.paths, &DEFAULT_LEVELS, layout.len(), false, 1 << 30);
    let tails = Tails(
        (0..layout.len())
            .map(|_| Mutex::new(MetricAccumulator::new(capacity, false)))
            .collect(),
    );
    run_with(model, options, &tails, &|_| {}).expect("run");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .expect("pool");
    pool.install(|| {
        tails
            .0
            .par_iter()
            .zip(layout.names())
            .map(|(acc, name)| acc.lock().unwrap().stats(name, &DEFAULT_LEVELS))
            .collect()
    })
}

fn end_to_end(c: &mut Criterion) {
    for name in ["bench-slashing", "baseline"] {
        let paths = 1_000_000;
        let model = shipped(name, paths);
        bench_threads(c, format!("end_to_end/{name}"), paths, |options| {
            black_box(end_to_end_run(&model, options));
        });
    }
}

criterion_group!(benches, engine, end_to_end);
criterion_main!(benches);

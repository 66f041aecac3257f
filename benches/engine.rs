//! Paths per second of the engine on the benchmark scenario (scenarios/bench-slashing.toml),
//! on scenarios/baseline.toml, on scenarios/bank-run.toml (withdrawals: the front door runs
//! every step) and on the market presets (the pool and its traders every step), at 1 and 2
//! threads. Results go to BENCHMARKS.md. `cargo bench --bench engine -- steth` runs one group.
//!
//! Run: `cargo bench --bench engine` (criterion reports throughput in paths/s).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lrtsim_sim::{RunOptions, run};

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

fn engine(c: &mut Criterion) {
    for (name, paths) in RUNS {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(format!("{name}.toml"));
        let model = lrtsim_scenario::load_file(&path, &[format!("simulation.paths={paths}")])
            .expect("scenario loads");
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(paths));
        group.sample_size(10);
        for threads in [1, 2] {
            let options = RunOptions {
                threads,
                chunks: None,
            };
            group.bench_function(format!("threads={threads}"), |b| {
                b.iter(|| black_box(run(&model, &options, &|_| {}).expect("run")))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, engine);
criterion_main!(benches);

//! Paths per second of the engine on the benchmark scenario (scenarios/bench-slashing.toml),
//! on scenarios/baseline.toml and on scenarios/bank-run.toml (withdrawals: the front door runs
//! every step), at 1 and 2 threads. Results go to BENCHMARKS.md.
//!
//! Run: `cargo bench --bench engine` (criterion reports throughput in paths/s).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lrtsim_sim::{RunOptions, run};

/// Paths per measured run: large enough for every thread to get many chunks.
const PATHS: u64 = 200_000;

fn engine(c: &mut Criterion) {
    for name in ["bench-slashing", "baseline", "bank-run"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(format!("{name}.toml"));
        let model = lrtsim_scenario::load_file(&path, &[format!("simulation.paths={PATHS}")])
            .expect("scenario loads");
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(PATHS));
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

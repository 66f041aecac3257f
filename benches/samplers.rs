//! Micro-benches: the samplers the path kernel is built from (shock arrivals and hits,
//! severities, copula fault days) on scenarios/bench-slashing.toml, and one path of every
//! shipped scenario (the kernel reused, as in a chunk). Results go to BENCHMARKS.md.
//!
//! Run: `cargo bench --bench samplers` (`-- one_path` or `-- samplers` for one group).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use lrtsim_scenario::Model;
use lrtsim_sim::{PathKernel, chunk_rng};
use rand::RngExt;
use rand_distr::Distribution;

fn load(name: &str) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"));
    lrtsim_scenario::load_file(&path, &[]).expect("scenario loads")
}

fn samplers(c: &mut Criterion) {
    let m = load("bench-slashing");
    let mut group = c.benchmark_group("samplers");
    let shock = m
        .shocks
        .iter()
        .find(|s| s.events.is_some())
        .expect("a Poisson shock");
    let mut rng = chunk_rng(1, 0);
    group.bench_function("shock_arrivals", |b| {
        let events = shock.events.as_ref().unwrap();
        b.iter(|| {
            let n = events.sample(&mut rng) as u64;
            let mut t = 0.0;
            for _ in 0..n {
                t += rng.random::<f64>() * m.horizon_days;
            }
            black_box(t)
        })
    });
    group.bench_function("shock_hits", |b| {
        b.iter(|| {
            let mut hit = 0usize;
            shock
                .hits
                .sample_hits(&mut rng, |_, pairs| hit += pairs.len());
            black_box(hit)
        })
    });
    group.bench_function("severity", |b| {
        b.iter(|| black_box(shock.severity.sample(&mut rng)))
    });
    let copula = m.copulas.first().expect("a copula");
    let mut scratch = Vec::with_capacity(64);
    group.bench_function("copula_faults_per_path", |b| {
        b.iter(|| {
            let mut n = 0u32;
            copula.sample_faults(&mut rng, &mut scratch, &mut |_, _| n += 1);
            black_box(n)
        })
    });
    group.finish();
}

fn one_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("one_path");
    for name in [
        "bench-slashing",
        "baseline",
        "client-bug-double-sign",
        "non-finality-leak",
        "bank-run",
        "exit-queue-2025",
        "steth-2022",
        "ezeth-2024",
        "rseth-2026",
        "leverage-loop",
        "market-oracle-cascade",
    ] {
        let m = load(name);
        let mut kernel = PathKernel::new(&m);
        let mut row = vec![0.0; kernel.layout().len()];
        let mut rng = chunk_rng(m.seed, 0);
        group.bench_function(name, |b| {
            b.iter(|| {
                kernel.run_path(&mut rng, &mut row);
                black_box(row[0])
            })
        });
    }
    group.finish();
}

criterion_group!(benches, samplers, one_path);
criterion_main!(benches);

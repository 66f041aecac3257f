//! Cross-checks of the engine against itself (VALIDATION.md): determinism across thread
//! counts and shard splits, conservation of ETH on every path, attribution sums.

use std::path::Path;

use lrtsim_scenario::{Model, load_file};
use lrtsim_sim::{CHUNK_PATHS, PathKernel, RunOptions, SimResults, chunk_count, chunk_rng, run};

fn scenario(name: &str, paths: u64) -> Model {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    load_file(&path, &[format!("simulation.paths={paths}")]).unwrap_or_else(|e| panic!("{e}"))
}

fn run_with(model: &Model, threads: usize, chunks: Option<std::ops::Range<u64>>) -> SimResults {
    run(model, &RunOptions { threads, chunks }, &|_| {}).unwrap()
}

fn bits(r: &SimResults) -> Vec<Vec<u64>> {
    r.columns
        .iter()
        .map(|c| c.iter().map(|v| v.to_bits()).collect())
        .collect()
}

#[test]
fn same_seed_is_bit_identical_for_any_thread_count() {
    // The step-by-step market kernels with lending are slow: fewer chunks for them.
    for (name, chunks) in [
        ("bench-slashing.toml", 10),
        ("baseline.toml", 10),
        ("client-bug-double-sign.toml", 10),
        ("non-finality-leak.toml", 10),
        ("bank-run.toml", 10),
        ("exit-queue-2025.toml", 10),
        ("steth-2022.toml", 10),
        ("ezeth-2024.toml", 10),
        ("rseth-2026.toml", 2),
        ("leverage-loop.toml", 4),
        ("market-oracle-cascade.toml", 3),
        ("shared-operator.toml", 10),
    ] {
        // Not a multiple of the chunk size, so the last chunk is short.
        let model = scenario(name, (chunks - 1) * CHUNK_PATHS + 123);
        let one = run_with(&model, 1, None);
        assert_eq!(one.paths() as u64, (chunks - 1) * 1024 + 123);
        for threads in [2, 8] {
            assert_eq!(
                bits(&one),
                bits(&run_with(&model, threads, None)),
                "{name}: 1 vs {threads} threads"
            );
        }
        assert_eq!(
            one.price_bands,
            run_with(&model, 2, None).price_bands,
            "{name}: price bands"
        );
        let moved = |c: &str| one.column(c).is_some_and(|v| v.iter().any(|x| *x > 0.0));
        assert!(
            moved("slashed_eth") || moved("max_discount"),
            "{name}: the check needs losses or a depeg"
        );
    }
}

#[test]
fn shards_reproduce_the_full_run() {
    // The market kernels with lending are slow: fewer chunks for them (three shards all the
    // same, the last one short).
    for (name, chunks) in [
        ("baseline.toml", 5),
        ("bank-run.toml", 5),
        ("rseth-2026.toml", 3),
        ("market-oracle-cascade.toml", 3),
        ("shared-operator.toml", 5),
    ] {
        shards_reproduce(name, chunks);
    }
}

fn shards_reproduce(name: &str, chunks: u64) {
    let model = scenario(name, chunks * CHUNK_PATHS + 5);
    let full = run_with(&model, 2, None);
    let total = chunk_count(model.paths);
    let mut merged: Vec<Vec<f64>> = vec![Vec::new(); full.columns.len()];
    for shard in [0..chunks - 2, chunks - 2..chunks - 1, chunks - 1..total] {
        let part = run_with(&model, 1, Some(shard.clone()));
        assert_eq!(part.first_path, shard.start * CHUNK_PATHS);
        for (m, c) in merged.iter_mut().zip(&part.columns) {
            m.extend_from_slice(c);
        }
    }
    let merged_bits: Vec<Vec<u64>> = merged
        .iter()
        .map(|c| c.iter().map(|v| v.to_bits()).collect())
        .collect();
    assert_eq!(bits(&full), merged_bits, "{name}");
    assert!(
        run(
            &model,
            &RunOptions {
                threads: 1,
                chunks: Some(0..total + 1)
            },
            &|_| {}
        )
        .is_err()
    );
}

#[test]
fn different_seeds_differ() {
    let a = scenario("bench-slashing.toml", 4096);
    let mut b = a.clone();
    b.seed += 1;
    assert_ne!(bits(&run_with(&a, 1, None)), bits(&run_with(&b, 1, None)));
}

#[test]
fn eth_is_conserved_on_every_path() {
    // initial collateral + gross rewards = holders' assets + slashed + fees, with holders'
    // assets recomputed from per-operator state; the unallocated stake is never slashed; and
    // the per-AVS and per-source attributions each add up to the total slashed.
    let model = scenario("baseline.toml", 1);
    let mut kernel = PathKernel::new(&model);
    let layout = kernel.layout().clone();
    let mut row = vec![0.0; layout.len()];
    let mut rng = chunk_rng(9, 0);
    let unallocated_t0 = model.collateral_eth - model.pairs.iter().map(|p| p.eth).sum::<f64>();
    let mut lossy = 0;
    for _ in 0..20_000 {
        kernel.run_path(&mut rng, &mut row);
        let b = kernel.book();
        let c = model.collateral_eth;
        let fees = row[layout.index("fees_eth").unwrap()];
        let slashed = row[layout.index("slashed_eth").unwrap()];
        let holders = b.withdrawable_eth + b.net_rewards_eth;
        let tol = 1e-9 * c;
        assert!(
            (c + b.gross_rewards_eth - (holders + slashed + fees)).abs() < tol,
            "conservation"
        );
        // AVS slashing never touches unallocated stake; beacon losses shrink it with the rest.
        let col = |name: &str| row[layout.index(name).unwrap()];
        let beacon =
            col("beacon_initial_eth") + col("beacon_correlation_eth") + col("inactivity_leak_eth");
        let unallocated = b.withdrawable_eth - b.allocated_eth;
        assert!(
            unallocated <= unallocated_t0 + tol,
            "unallocated stake grew"
        );
        if beacon == 0.0 {
            assert!(
                (unallocated - unallocated_t0).abs() < tol,
                "unallocated stake changed"
            );
        }
        let by_avs: f64 = row[layout.avs_start()..layout.source_start()].iter().sum();
        let by_source: f64 = row[layout.source_start()..layout.source_end()].iter().sum();
        let avs = col("avs_slashed_eth");
        assert!(
            (by_avs - avs).abs() < tol && (by_source - slashed).abs() < tol,
            "attribution"
        );
        assert!((avs + beacon - slashed).abs() < tol, "loss kinds add up");
        let nav = row[layout.index("nav_return").unwrap()];
        assert!((nav - (holders - c) / c).abs() < 1e-12, "nav_return");
        lossy += usize::from(slashed > 0.0);
    }
    assert!(lossy > 100, "the check needs lossy paths, got {lossy}");
}

#[test]
fn kernel_state_resets_between_paths() {
    // A path's outputs depend only on its random numbers, not on what the previous path
    // did to the state: replaying a stream from a fresh kernel gives the same rows.
    for name in ["bench-slashing.toml", "rseth-2026.toml", "ezeth-2024.toml"] {
        resets_between_paths(name);
    }
}

fn resets_between_paths(name: &str) {
    let model = scenario(name, 1);
    let mut warm = PathKernel::new(&model);
    let width = warm.layout().len();
    let mut rng = chunk_rng(1, 0);
    let mut rows = vec![vec![0.0; width]; 300];
    for r in rows.iter_mut() {
        warm.run_path(&mut rng, r);
    }
    let mut rng = chunk_rng(1, 0);
    let mut row = vec![0.0; width];
    for expected in &rows {
        let mut fresh = PathKernel::new(&model);
        fresh.run_path(&mut rng, &mut row);
        assert_eq!(&row, expected);
    }
}

#[test]
fn more_risk_never_lowers_the_tail_beyond_noise() {
    // VALIDATION.md: raising a slashing rate or a correlation never lowers VaR or ES beyond
    // Monte Carlo noise (4 combined standard errors; VaR's from its order-statistic CI).
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/bench-slashing.toml");
    let stats = |extra: &[&str]| {
        let mut sets = vec!["simulation.paths=60000".to_string()];
        sets.extend(extra.iter().map(|s| s.to_string()));
        let model = load_file(&path, &sets).unwrap();
        let r = run_with(&model, 0, None);
        lrtsim_report::metric_stats("l", r.column("slashed_fraction").unwrap(), &[0.95, 0.99])
    };
    let base = stats(&[]);
    for more in [
        &["copulas.daily-faults.global_correlation=0.6"][..],
        &["shocks.client-bug.rate_per_year=0.5"],
        &["copulas.daily-faults.fault_prob_per_day=3e-4"],
        &[
            "shocks.avs-3-bug.rate_per_year=0.2",
            "shocks.avs-4-bug.rate_per_year=0.2",
        ],
    ] {
        let worse = stats(more);
        for (b, w) in base.levels.iter().zip(&worse.levels) {
            let sd = |l: &lrtsim_report::LevelStats| (l.es_hi - l.es_lo) / 3.92;
            let es_noise = 4.0 * (sd(b).powi(2) + sd(w).powi(2)).sqrt();
            assert!(
                w.es >= b.es - es_noise,
                "{more:?}: ES {} fell from {}",
                w.es,
                b.es
            );
            assert!(
                w.var_hi >= b.var_lo,
                "{more:?}: VaR {} fell from {}",
                w.var,
                b.var
            );
        }
        assert!(
            worse.mean
                >= base.mean - 4.0 * (base.std_error.powi(2) + worse.std_error.powi(2)).sqrt()
        );
    }
}

#[test]
fn a_copula_fault_closes_its_period_before_events_at_the_same_time() {
    // One pair; a copula that faults every one-day period (p = 1), slashing half, and a shock
    // scheduled at day 1, slashing half. The fault of the period [0, 1) happens at its end,
    // day 1, before the shock of day 1 (which opens [1, 2)); then the fault of [1, 2) at day
    // 2. So the copula takes 0.5 + 0.125 of the ETH and the shock 0.25 — at step_days 2 (one
    // step holding both day-1 events), 1 and 0.5 alike.
    for step in [2.0, 1.0, 0.5] {
        let text = format!(
            "[simulation]\npaths = 3\nhorizon_days = 2\nstep_days = {step:?}\nseed = 1\n\
             [pool]\ncollateral_eth = 1\n\
             [[operators]]\nname = \"a\"\nstake_eth = 1\nallocations = {{ x = 1.0 }}\n\
             [[avs]]\nname = \"x\"\n\
             [[shocks]]\nname = \"s\"\nat_days = 1\nseverity = 0.5\n\
             [[copulas]]\nname = \"c\"\nfault_prob_per_day = 1\nseverity = 0.5\n"
        );
        let model = lrtsim_scenario::load_str(&text, Path::new("tie.toml"), &[]).unwrap();
        let r = run_with(&model, 1, None);
        for (source, want) in [("c", 0.625), ("s", 0.25)] {
            let got = r.column(&format!("slashed_eth.source.{source}")).unwrap();
            assert!(
                got.iter().all(|&v| v == want),
                "step_days {step}: source {source} lost {got:?}, want {want}"
            );
        }
    }
}

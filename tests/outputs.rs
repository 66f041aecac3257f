//! Output files checked against known values: `exceedance.csv` against a Poisson tail,
//! `queue_paths.csv` and `utilization_paths.csv` against the per-path values and scenarios
//! whose answer is known.

#[allow(dead_code)] // each test binary uses part of the shared fixture
mod fixture;

use fixture::{Fixture, Table, arg};

/// One operator allocating half the pool to one AVS whose independent faults (Poisson, mean
/// `MEAN_FAULTS` over the year) each slash 1 % of the current allocation: after k faults
/// slashed_eth = 500 · (1 − 0.99ᵏ).
const POISSON: &str = r#"
name = "poisson"
[simulation]
paths = 100_000
horizon_days = 365
step_days = 365
seed = 3
[pool]
collateral_eth = 1000
[[operators]]
name = "op"
share = 1.0
allocations = { oracle = 0.5 }
[[avs]]
name = "oracle"
fault_rate_per_year = 2.0
fault_severity = 0.01
"#;
const MEAN_FAULTS: f64 = 2.0;

/// P(N > k) for N ~ Poisson(`mean`).
fn poisson_tail(mean: f64, k: u32) -> f64 {
    let mut pmf = (-mean).exp();
    let mut cdf = pmf;
    for j in 1..=k {
        pmf *= mean / f64::from(j);
        cdf += pmf;
    }
    (1.0 - cdf).max(0.0)
}

#[test]
fn exceedance_of_a_scaled_poisson_count_matches_its_tail() {
    let fx = Fixture::new();
    let file = fx.write_scenario("poisson.toml", POISSON);
    fx.run(["run", &arg(&file), "-q", "-o", "res"]).ok();
    let t = fx.read_csv("res/exceedance.csv");
    assert_eq!(
        t.header.join(","),
        "metric,tail_prob,loss,ci_lo,ci_hi,exact,tail_paths"
    );
    let n = 100_000.0;
    let rows: Vec<&Vec<String>> = t.rows.iter().filter(|r| r[0] == "slashed_eth").collect();
    let probs: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        probs,
        [
            "0.5", "0.2", "0.1", "0.05", "0.02", "0.01", "0.005", "0.002", "0.001", "0.0005",
            "0.0002", "0.0001"
        ]
    );
    let num = |s: &str| s.parse::<f64>().unwrap();
    for r in &rows {
        let (p, loss, lo, hi) = (num(&r[1]), num(&r[2]), num(&r[3]), num(&r[4]));
        assert_eq!(r[5], "1", "every level is exact at 100,000 paths: {r:?}");
        assert!(lo <= loss && loss <= hi, "{r:?}");
        // The loss is an atom 500 · (1 − 0.99^k).
        let k = (0..60u32)
            .find(|&k| (500.0 * (1.0 - 0.99f64.powi(k as i32)) - loss).abs() < 1e-6)
            .unwrap_or_else(|| panic!("{loss} is not 500 · (1 − 0.99^k): {r:?}"));
        // The share of paths above it is the Poisson tail, within 5 standard errors.
        let tail = poisson_tail(MEAN_FAULTS, k);
        let share = num(&r[6]) / n;
        let se = (tail * (1.0 - tail) / n).sqrt();
        assert!(
            (share - tail).abs() <= 5.0 * se + 1e-12,
            "p = {p}: {share} of the paths above {k} faults, Poisson {tail} ± {se}"
        );
        // And k is the Poisson quantile: P(N > k) ≤ p < P(N > k − 1), up to the same noise.
        assert!(tail <= p + 5.0 * se, "p = {p}, k = {k}: {tail}");
        if k > 0 {
            let before = poisson_tail(MEAN_FAULTS, k - 1);
            let se = (before * (1.0 - before) / n).sqrt();
            assert!(before + 5.0 * se > p, "p = {p}, k = {k}: {before}");
        }
    }
    // Where a tail probability is a level of tail_metrics.csv, the same VaR and interval, to
    // the bit.
    let tm = fx.read_csv("res/tail_metrics.csv");
    let mut matched = 0;
    for r in &t.rows {
        let level = match r[1].as_str() {
            "0.1" => "0.9",
            "0.05" => "0.95",
            "0.01" => "0.99",
            "0.005" => "0.995",
            "0.001" => "0.999",
            _ => continue,
        };
        let m = tm
            .rows
            .iter()
            .find(|m| m[0] == r[0] && m[1] == level)
            .unwrap_or_else(|| panic!("no {} at {level} in tail_metrics.csv", r[0]));
        assert_eq!(
            (&m[2], &m[3], &m[4], &m[8]),
            (&r[2], &r[3], &r[4], &r[5]),
            "{} at {level}",
            r[0]
        );
        matched += 1;
    }
    let metrics = t.group_by_first().len();
    assert_eq!(matched, 5 * metrics);
    assert_eq!(metrics, tm.group_by_first().len());
}

/// Under a small tail memory the shallow levels come from the histogram (`exact` 0) and the
/// deep ones stay exact, as in tail_metrics.csv; and the file does not depend on the threads.
#[test]
fn exceedance_rows_read_from_the_histogram_are_flagged() {
    let fx = Fixture::new();
    let file = fx.write_scenario("poisson.toml", POISSON);
    for threads in ["1", "3"] {
        fx.run([
            "run",
            &arg(&file),
            "--set",
            "avs.oracle.fault_severity={ dist = \"uniform\", min = 0.005, max = 0.02 }",
            // 9 metrics: 1 MiB each of overhead, and some 7,000 kept values each (the levels
            // down to 0.99 exact, 0.9 and below from the histogram).
            "--tail-memory-mb",
            "11",
            "-t",
            threads,
            "-q",
            "-o",
            &format!("t{threads}"),
        ])
        .ok();
    }
    assert_eq!(fx.read("t1/exceedance.csv"), fx.read("t3/exceedance.csv"));
    let t = Table::parse(&fx.read("t1/exceedance.csv"));
    let tm = fx.read_csv("t1/tail_metrics.csv");
    let rows: Vec<&Vec<String>> = t.rows.iter().filter(|r| r[0] == "slashed_eth").collect();
    let first_exact = rows
        .iter()
        .position(|r| r[5] == "1")
        .expect("deep rows are exact");
    assert!(
        first_exact > 0,
        "shallow rows come from the histogram: {rows:?}"
    );
    assert!(rows[first_exact..].iter().all(|r| r[5] == "1"), "{rows:?}");
    let at_90 = tm
        .rows
        .iter()
        .find(|m| m[0] == "slashed_eth" && m[1] == "0.9")
        .unwrap();
    let row_10 = rows.iter().find(|r| r[1] == "0.1").unwrap();
    assert_eq!(at_90[8], row_10[5]);
    assert_eq!(at_90[2], row_10[2]);
}

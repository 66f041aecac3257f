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
            "0.1", "0.05", "0.02", "0.01", "0.005", "0.002", "0.001", "0.0005", "0.0002", "0.0001"
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

/// The header of the band files.
const BANDS_HEADER: &str = "step,day,paths,p01,p05,p25,p50,p75,p95,p99";
/// Their percentiles, as probabilities.
const BAND_PROBS: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
/// Ratio of two neighbouring edges of the queue grid (10^0.01).
const QUEUE_BIN_RATIO: f64 = 1.023292992280754;

/// The k-th smallest of `v` (1-based) for probability p: k = ⌈p·n⌉, at least 1.
fn order_statistic(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let k = ((p * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[k - 1]
}

/// queue_paths.csv at the horizon: each percentile lies in the queue grid's bin of the same
/// percentile of the per-path queue paths.csv gives (LRT unpaid at the horizon: unfilled_share
/// × requested_share × the t = 0 supply); every step has every path; threads do not matter.
#[test]
fn queue_bands_at_the_horizon_match_the_paths() {
    let fx = Fixture::new();
    let bank_run = arg(&fixture::repo_scenario("bank-run.toml"));
    for threads in ["1", "2"] {
        fx.run([
            "run",
            &bank_run,
            "--set",
            "simulation.paths=3000",
            "--paths-csv",
            "-t",
            threads,
            "-q",
            "-o",
            &format!("t{threads}"),
        ])
        .ok();
    }
    assert_eq!(fx.read("t1/queue_paths.csv"), fx.read("t2/queue_paths.csv"));
    let text = fx.read("t1/queue_paths.csv");
    assert_eq!(text.lines().next(), Some(BANDS_HEADER));
    let bands = Table::parse(&text);
    let resolved: toml::Table = fx.read("t1/scenario.resolved.toml").parse().unwrap();
    let num = |v: &toml::Value| v.as_float().or(v.as_integer().map(|i| i as f64)).unwrap();
    let supply0 = num(&resolved["pool"]["collateral_eth"])
        + num(&resolved["withdrawals"]["buffer"]["initial_eth"]);
    let horizon = num(&resolved["simulation"]["horizon_days"]);
    assert_eq!(
        bands.rows.len(),
        horizon as usize,
        "daily steps, one row each"
    );
    for (i, r) in bands.rows.iter().enumerate() {
        assert_eq!(r[0], (i + 1).to_string());
        assert_eq!(r[2], "3000");
    }
    let paths = fx.read_csv("t1/paths.csv");
    let queued: Vec<f64> = paths
        .floats("unfilled_share")
        .iter()
        .zip(paths.floats("requested_share"))
        .map(|(u, r)| u * r * supply0)
        .collect();
    assert!(
        order_statistic(&queued, 0.5) > 0.01 * supply0,
        "a queue at the horizon to compare"
    );
    let last = bands.rows.last().unwrap();
    for (j, &p) in BAND_PROBS.iter().enumerate() {
        let band: f64 = last[3 + j].parse().unwrap();
        let exact = order_statistic(&queued, p);
        if exact < 1e-8 * supply0 {
            assert!(band < 1e-8 * supply0, "p = {p}: {band} vs {exact}");
            continue;
        }
        let ratio = band / exact;
        assert!(
            ((1.0 - 1e-9) / QUEUE_BIN_RATIO..=QUEUE_BIN_RATIO * (1.0 + 1e-9)).contains(&ratio),
            "p = {p}: band {band}, paths {exact}"
        );
    }
    // Nothing is queued before the run starts on day 10 (bank-run.toml's trigger).
    assert!(
        bands.rows[..9]
            .iter()
            .all(|r| r[3..].iter().all(|x| x == "0"))
    );
}

/// A lending market whose utilization is known at every step: no interest (a flat zero rate
/// curve), no risk, and outside lenders withdrawing 45 % of the t = 0 supply on day 9.5,
/// returning it linearly over 20 days: U(t) = min(1, 0.6 / (1 − 0.45 · (1 − (t − 9.5)/20)⁺)).
const LENDING: &str = r#"
name = "lend"
[simulation]
paths = 300
horizon_days = 40
step_days = 1
seed = 1
[pool]
collateral_eth = 10000
[[operators]]
name = "a"
share = 1.0
[market.pool]
amplification = 100
depth_eth = 1000
[lending]
oracle = "exchange_rate"
ltv = 0.9
liquidation_threshold = 0.93
liquidation_bonus = 0.01
collateral_share = 0.3
looper_leverage = 5
[lending.rates]
utilization = 0.6
base_per_year = 0
slope1_per_year = 0
slope2_per_year = 0
[[lending.rates.supply_shocks]]
name = "whale"
at_days = 9.5
share = 0.45
recovery_days = 20
[[lending.positions]]
share = 1.0
health_factor = 1.5
"#;

#[test]
fn utilization_bands_follow_a_known_supply_withdrawal() {
    let fx = Fixture::new();
    let file = fx.write_scenario("lend.toml", LENDING);
    fx.run(["run", &arg(&file), "-q", "-o", "res"]).ok();
    let text = fx.read("res/utilization_paths.csv");
    assert_eq!(text.lines().next(), Some(BANDS_HEADER));
    let t = Table::parse(&text);
    assert_eq!(t.rows.len(), 40);
    for r in &t.rows {
        let day: f64 = r[1].parse().unwrap();
        assert_eq!(r[2], "300");
        let withdrawn = if day >= 9.5 {
            0.45 * (1.0 - (day - 9.5) / 20.0).max(0.0)
        } else {
            0.0
        };
        let u = (0.6 / (1.0 - withdrawn)).min(1.0);
        for x in &r[3..] {
            let x: f64 = x.parse().unwrap();
            if u == 1.0 {
                assert_eq!(x, 1.0, "day {day}: full utilization is the exact bin");
            } else {
                // The 0.001-wide bin holding u.
                let lo = (u * 1000.0).floor() / 1000.0;
                assert!(
                    x >= lo - 1e-12 && x <= lo + 0.001 + 1e-12,
                    "day {day}: {x} outside the bin of {u}"
                );
            }
        }
    }
    // Days 10 and 11 are at full utilization, day 12 is not.
    assert!(t.rows[9][3..].iter().all(|x| x == "1"));
    assert!(t.rows[11][3..].iter().all(|x| x != "1"));
    // No queue file without [withdrawals], and the run lists its files.
    assert!(!fx.path("res/queue_paths.csv").exists());
    let m = fx.read_json("res/manifest.json");
    let names: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "scenario.resolved.toml",
            "summary.json",
            "tail_metrics.csv",
            "exceedance.csv",
            "contributions.csv",
            "loss_distribution.csv",
            "price_paths.csv",
            "utilization_paths.csv"
        ]
    );
}

/// A pool whose holders never redeem, under a network exit queue that is known at every
/// step's end: 1,000,000 ETH waiting at t = 0, other stakers joining at 20,000 ETH a day, Electra's
/// churn at the default total balance (256 ETH an epoch, 57,600 ETH a day), and a rush of
/// U(300,000, 700,000) ETH on day 10.5. Q(t) = 1,000,000 − 37,600·t before the rush, then
/// Q(10.5) + S − 37,600·(t − 10.5), down to 0.
const EXIT_QUEUE_POOL: &str = r#"
[[operators]]
name = "a"
share = 1.0
[withdrawals.demand]
base_share_per_day = 1e-9
[withdrawals.network]
queue_eth = 1000000
inflow_eth_per_day = 20000
[[withdrawals.network.rushes]]
name = "rush"
at_days = 10.5
size_eth = { dist = "uniform", min = 300000, max = 700000 }
"#;

/// The same queue as a sector of one LRT with a front door: the shared exit queue.
const EXIT_QUEUE_SECTOR: &str = r#"
[[lrts]]
name = "solo"
[lrts.withdrawals.demand]
base_share_per_day = 1e-9
[sector.exit_queue]
queue_eth = 1000000
inflow_eth_per_day = 20000
[[sector.exit_queue.rushes]]
name = "rush"
at_days = 10.5
size_eth = { dist = "uniform", min = 300000, max = 700000 }
[[operators]]
name = "a"
stake_eth = 10000
lrts = { solo = 1.0 }
"#;

/// exit_queue_paths.csv follows the churn arithmetic: before the rush every path's queue is
/// 1,000,000 − 37,600·t (every percentile in that value's bin, within 2.33 %); after it, the
/// p-th percentile is that of the rush's uniform size carried down by the drain — within
/// the bin plus four Monte Carlo standard errors of a uniform's empirical quantile — and
/// exactly 0 once the largest rush has drained (day 45.2). The holders' redemptions (10⁻⁹ of
/// them a day) are too small to show. The sector's shared queue writes the same bands to
/// 10⁻⁹ (a sector of one LRT is the pool to rounding), and its `sector_peak_exit_queue_eth` is
/// the pool's `peak_network_queue_eth`: the queue just after the rush.
#[test]
fn exit_queue_bands_follow_the_churn_arithmetic() {
    let fx = Fixture::new();
    // Both run 3,000 paths over 50 days in half-day steps.
    let head = "name = \"exitq\"\n[simulation]\npaths = 3000\nhorizon_days = 50\nstep_days = 0.5\nseed = 3\n[pool]\ncollateral_eth = 10000\n";
    let pool = fx.write_scenario("pool.toml", &format!("{head}{EXIT_QUEUE_POOL}"));
    let sector = fx.write_scenario("sector.toml", &format!("{head}{EXIT_QUEUE_SECTOR}"));
    fx.run(["run", &arg(&pool), "--paths-csv", "-q", "-o", "pool"])
        .ok();
    fx.run(["run", &arg(&sector), "--paths-csv", "-q", "-o", "sector"])
        .ok();
    // The sector's exit-queue peak is its door's, and the pool's: max(Q(0), Q(10.5) + S).
    let (pool_paths, sector_paths) = (
        fx.read_csv("pool/paths.csv"),
        fx.read_csv("sector/paths.csv"),
    );
    let peaks = sector_paths.floats("sector_peak_exit_queue_eth");
    assert_eq!(
        peaks,
        sector_paths.floats("peak_network_queue_eth.lrt.solo")
    );
    for (a, b) in peaks
        .iter()
        .zip(pool_paths.floats("peak_network_queue_eth"))
    {
        assert!((a - b).abs() <= 1e-9 * b, "{a} vs {b}");
        assert!((1e6 - 1e-6..=1_305_200.0 + 1e-6).contains(a), "{a}");
    }
    assert!(
        peaks.iter().any(|&p| p > 1.25e6),
        "rushes above the t = 0 queue"
    );
    let text = fx.read("pool/exit_queue_paths.csv");
    assert_eq!(text.lines().next(), Some(BANDS_HEADER));
    let bands = Table::parse(&text);
    let other = Table::parse(&fx.read("sector/exit_queue_paths.csv"));
    assert_eq!(bands.header, other.header);
    assert_eq!(bands.rows.len(), other.rows.len());
    for (a, b) in bands.rows.iter().zip(&other.rows) {
        for (x, y) in a.iter().zip(b) {
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{a:?} vs {b:?}");
        }
    }
    assert_eq!(bands.rows.len(), 100, "half-day steps over 50 days");
    let (q0, net, t_rush, lo, hi) = (1.0e6, 57_600.0 - 20_000.0, 10.5, 3.0e5, 7.0e5);
    let n = 3000.0;
    let (mut before, mut after, mut drained) = (0, 0, 0);
    for r in &bands.rows {
        let day: f64 = r[1].parse().unwrap();
        assert_eq!(r[2], "3000");
        for (j, &p) in BAND_PROBS.iter().enumerate() {
            let band: f64 = r[3 + j].parse().unwrap();
            // A rush at a step's end is the next step's event (events fall in [t0, t1)).
            let (exact, mc) = if day <= t_rush {
                (q0 - net * day, 0.0)
            } else {
                let size = lo + p * (hi - lo);
                let se = (hi - lo) * (p * (1.0 - p) / n).sqrt();
                ((q0 - net * day + size).max(0.0), 4.0 * se)
            };
            if day <= t_rush {
                before += 1;
            } else if exact > 0.0 {
                after += 1;
            }
            if q0 - net * day + hi <= 0.0 {
                assert_eq!(band, 0.0, "day {day}, p = {p}: drained");
                drained += 1;
                continue;
            }
            let tol = (QUEUE_BIN_RATIO - 1.0) * exact + mc + 1e-6;
            assert!(
                (band - exact).abs() <= tol,
                "day {day}, p = {p}: band {band}, exact {exact} ± {tol}"
            );
        }
    }
    assert!(
        before > 100 && after > 300 && drained > 20,
        "{before} {after} {drained}"
    );
    // No file without [withdrawals].
    fx.run([
        "run",
        &arg(&fixture::repo_scenario("baseline.toml")),
        "--set",
        "simulation.paths=1000",
        "-q",
        "-o",
        "none",
    ])
    .ok();
    assert!(!fx.path("none/exit_queue_paths.csv").exists());
}

/// A sector's per-LRT price bands (price_paths.lrt.<name>.csv): at the horizon, each LRT's
/// share of paths beyond 1 %, 5 % and 10 % is exactly the share of paths whose
/// `end_discount.lrt.<name>` (1 − price ÷ NAV at the horizon, the same quantity) exceeds it,
/// and each percentile is within a 10 bp bin of the paths' (sector-2026 over 10 days). No
/// pool-wide price_paths.csv is written for a sector.
#[test]
fn a_sectors_price_bands_are_each_lrts_pool() {
    let fx = Fixture::new();
    fx.run([
        "run",
        &arg(&fixture::repo_scenario("sector-2026.toml")),
        "--set",
        "simulation.paths=600",
        "--set",
        "simulation.horizon_days=10",
        "--paths-csv",
        "-q",
        "-o",
        "res",
    ])
    .ok();
    assert!(!fx.path("res/price_paths.csv").exists());
    let paths = fx.read_csv("res/paths.csv");
    let mut beyond_1pct = Vec::new();
    for lrt in ["kelp", "etherfi", "renzo", "steth"] {
        let bands = fx.read_csv(format!("res/price_paths.lrt.{lrt}.csv"));
        assert_eq!(
            bands.header,
            [
                BANDS_HEADER,
                "discount_over_100bps_share,discount_over_500bps_share,discount_over_1000bps_share"
            ]
            .join(",")
            .split(',')
            .collect::<Vec<_>>()
        );
        assert_eq!(bands.rows.len(), 40, "quarter-day steps over 10 days");
        let ratio: Vec<f64> = (paths.floats(&format!("end_discount.lrt.{lrt}")).iter())
            .map(|d| 1.0 - d)
            .collect();
        let last = bands.rows.len() - 1;
        for (b, col) in [(100, 10), (500, 11), (1000, 12)] {
            let share: f64 = bands.rows[last][col].parse().unwrap();
            let beyond = ratio.iter().filter(|&&q| q < 1.0 - b as f64 / 1e4).count();
            assert_eq!(share, beyond as f64 / 600.0, "{lrt}, {b} bp");
            if b == 100 {
                beyond_1pct.push(beyond);
            }
        }
        for (j, &p) in BAND_PROBS.iter().enumerate() {
            let band: f64 = bands.rows[last][3 + j].parse().unwrap();
            let exact = order_statistic(&ratio, p);
            assert!(
                (band - exact).abs() <= 1e-3,
                "{lrt}, p = {p}: {band} vs {exact}"
            );
        }
    }
    // kelp and renzo are beyond 1 % at the horizon on every path, etherfi (whose
    // pool stays within 0.2 % of NAV) on none, and stETH — its holders selling on kelp's loss
    // from day 1, its loopers once the reserve is no longer full — on every path: four
    // pools, not one.
    assert_eq!(beyond_1pct, [600, 0, 600, 600]);
}

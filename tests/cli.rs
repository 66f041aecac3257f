//! End-to-end tests of the `lrtsim` command line: exit codes, output files and their formats,
//! determinism, input validation and batch behaviour.
//!
//! Every test runs the binary in its own temporary directory (see `fixture`) with a small
//! number of paths (`--set simulation.paths=...`), never the scenarios' default counts.

mod fixture;

use std::collections::BTreeSet;

use fixture::{Fixture, Run, Table, arg, parse_json, repo_scenario, test_scenario};
use serde_json::Value;

const LEVELS: [&str; 5] = ["0.9", "0.95", "0.99", "0.995", "0.999"];
const TAIL_HEADER: &str = "metric,level,var,var_lo,var_hi,es,es_lo,es_hi,exact";
const DIST_HEADER: &str = "metric,bin_lo,bin_hi,count,pdf,cdf,exceedance";
const REPORT_FILES: [&str; 7] = [
    "contributions.csv",
    "exceedance.csv",
    "loss_distribution.csv",
    "manifest.json",
    "scenario.resolved.toml",
    "summary.json",
    "tail_metrics.csv",
];
/// The report files of a run without the manifest (which names the run: its id differs from
/// run to run).
const DATA_FILES: [&str; 6] = [
    "contributions.csv",
    "loss_distribution.csv",
    "summary.json",
    "tail_metrics.csv",
    "exceedance.csv",
    "scenario.resolved.toml",
];
/// The levels of the summary CSV and sweep.csv.
const CSV_LEVELS: [&str; 3] = ["0.95", "0.99", "0.999"];

/// The loss metrics of `baseline.toml`, in report order: headline metrics, total ETH slashed,
/// per AVS in file order, per source (shocks, copulas, then the AVSs' independent faults).
const BASELINE_METRICS: [&str; 21] = [
    "slashed_fraction",
    "nav_loss",
    "slashed_eth",
    "avs_slashed_eth",
    "beacon_initial_eth",
    "beacon_correlation_eth",
    "inactivity_leak_eth",
    "slashed_eth.avs.eigenda",
    "slashed_eth.avs.oracle-a",
    "slashed_eth.avs.bridge-x",
    "slashed_eth.avs.coproc",
    "slashed_eth.avs.sequencer",
    "slashed_eth.avs.keeper",
    "slashed_eth.avs.zk-prover",
    "slashed_eth.avs.rollup-da",
    "slashed_eth.source.bridge-x-bug",
    "slashed_eth.source.hetzner-outage",
    "slashed_eth.source.key-compromise",
    "slashed_eth.source.daily-faults",
    "slashed_eth.source.prysm-bug",
    "slashed_eth.source.avs_faults",
];

/// The redemption metrics of a scenario with `[withdrawals]`, in report order; they follow
/// `inactivity_leak_eth` and come before the per-AVS metrics.
const REDEMPTION_METRICS: [&str; 13] = [
    "redeem_days_t0",
    "redeem_days_stress",
    "stress_start_days",
    "unredeemed_t0",
    "unredeemed_stress",
    "peak_queue_eth",
    "peak_queue_days",
    "unfilled_share",
    "requested_share",
    "redeemed_eth",
    "exit_fees_eth",
    "queued_loss_eth",
    "peak_network_queue_eth",
];

/// The per-AVS and per-source metrics of `bank-run.toml`: 3 AVSs, one shock, `avs_faults`.
const BANK_RUN_ATTRIBUTION: [&str; 5] = [
    "slashed_eth.avs.bridge-x",
    "slashed_eth.avs.oracle-a",
    "slashed_eth.avs.rollup-da",
    "slashed_eth.source.bridge-x-bug",
    "slashed_eth.source.avs_faults",
];

/// The headline of a scenario with `[withdrawals]` (stdout table, summary CSV).
const REDEMPTION_HEADLINE: [&str; 5] = [
    "slashed_fraction",
    "nav_loss",
    "redeem_days_t0",
    "redeem_days_stress",
    "peak_queue_days",
];

const WAIT_HEADER: &str = "holder,redeemed,wait_days_lo,wait_days_hi,paths,share,cdf";

/// The metrics of `bank-run.toml` in report order: the seven loss metrics every scenario
/// has, the redemption metrics, then per AVS and per source.
fn bank_run_metrics() -> Vec<String> {
    BASELINE_METRICS[..7]
        .iter()
        .chain(&REDEMPTION_METRICS)
        .chain(&BANK_RUN_ATTRIBUTION)
        .map(|m| m.to_string())
        .collect()
}

fn paths_set(n: u64) -> String {
    format!("simulation.paths={n}")
}

#[track_caller]
fn num(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

#[track_caller]
fn parse_f64(s: &str) -> f64 {
    s.parse()
        .unwrap_or_else(|e| panic!("{s:?} is not a number: {e}"))
}

/// |a − b| within `rel` of the larger magnitude (plus a tiny absolute slack for zeros).
#[track_caller]
fn assert_close(a: f64, b: f64, rel: f64, what: &str) {
    let tol = rel * a.abs().max(b.abs()) + 1e-15;
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

/// Files (not directories) directly in `dir` of the fixture, sorted.
fn files_in(fx: &Fixture, dir: &str) -> Vec<String> {
    let prefix = format!("{dir}/");
    fx.listing()
        .into_iter()
        .filter_map(|p| p.strip_prefix(&prefix).map(String::from))
        .filter(|p| !p.contains('/') && !p.is_empty())
        .collect()
}

/// The metric names of a metrics object of summary.json in the order they appear in the file
/// (serde_json's map sorts keys, so the order is read from the pretty-printed text).
fn metric_order_in_text(text: &str, names: &[String]) -> Vec<String> {
    let mut found: Vec<(usize, String)> = names
        .iter()
        .map(|n| {
            let pos = text
                .find(&format!("\n    \"{n}\": {{"))
                .unwrap_or_else(|| panic!("metric {n} not at the metrics level of summary.json"));
            (pos, n.clone())
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, n)| n).collect()
}

/// Checks the loss distribution of one run: header, metric order, and per metric contiguous
/// bins from min to max whose counts sum to `paths`, with at most `bins` bins (exactly `bins`
/// unless every value is equal).
#[track_caller]
fn check_loss_distribution(table: &Table, summary: &Value, metrics: &[String], bins: usize) {
    assert_eq!(table.header.join(","), DIST_HEADER);
    let paths = summary["paths"].as_u64().expect("paths");
    let groups = table.group_by_first();
    let names: Vec<&str> = groups.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, metrics, "metric order of loss_distribution.csv");
    for (name, rows) in &groups {
        let m = &summary["metrics"][name];
        let (min, max) = (num(&m["min"]), num(&m["max"]));
        let expected_bins = if min == max { 1 } else { bins };
        assert_eq!(rows.len(), expected_bins, "{name}: number of bins");
        let count: u64 = rows.iter().map(|r| r[3].parse::<u64>().unwrap()).sum();
        assert_eq!(count, paths, "{name}: counts must sum to the paths");
        assert_eq!(
            parse_f64(&rows[0][1]),
            min,
            "{name}: first bin starts at min"
        );
        assert_eq!(
            parse_f64(&rows[rows.len() - 1][2]),
            max,
            "{name}: last bin ends at max"
        );
        for w in rows.windows(2) {
            assert_eq!(w[0][2], w[1][1], "{name}: bins must be contiguous");
        }
        let mut below = 0u64;
        for r in rows {
            below += r[3].parse::<u64>().unwrap();
            let cdf = parse_f64(&r[5]);
            let exceedance = parse_f64(&r[6]);
            assert_close(cdf, below as f64 / paths as f64, 1e-12, "cdf");
            assert_close(cdf + exceedance, 1.0, 1e-12, "cdf + exceedance");
        }
        assert_eq!(rows[rows.len() - 1][5], "1", "{name}: last cdf");
    }
}

/// Checks tail_metrics.csv against summary.json: exact header, five levels per metric in
/// order, metrics in `metrics` order, and every number equal to the summary's.
#[track_caller]
fn check_tail_metrics(table: &Table, summary: &Value, metrics: &[String]) {
    assert_eq!(table.header.join(","), TAIL_HEADER);
    let groups = table.group_by_first();
    let names: Vec<&str> = groups.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, metrics, "metric order of tail_metrics.csv");
    for (name, rows) in &groups {
        let levels: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
        assert_eq!(levels, LEVELS, "{name}: levels");
        let m = &summary["metrics"][name];
        for r in rows {
            let l = r[1].as_str();
            let v: Vec<f64> = r[2..].iter().map(|s| parse_f64(s)).collect();
            let exact = m["exact"][l].as_bool().expect("exact flag");
            let expected = [
                num(&m["var"][l]),
                num(&m["var_ci"][l][0]),
                num(&m["var_ci"][l][1]),
                num(&m["es"][l]),
                num(&m["es_ci"][l][0]),
                num(&m["es_ci"][l][1]),
                f64::from(u8::from(exact)),
            ];
            assert_eq!(
                v, expected,
                "{name} at {l}: tail_metrics.csv vs summary.json"
            );
        }
    }
}

/// The metric of each row of the first stdout table in `stdout`, in order.
fn table_rows(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("metric "))
        .skip(1)
        // The risk contributions follow the metric rows, from a line `ES 99% of …`.
        .take_while(|l| !l.is_empty() && !l.starts_with("ES "))
        .map(|l| l.split_whitespace().next().expect("a metric name"))
        .collect()
}

/// Checks the layout of redemption_wait.csv for a run of `paths` paths over `horizon_days`
/// in 1-day bins: exact header; holders `t0` then `stress`; per holder an instant row (0, 0),
/// the bins (i, i + 1] up to the horizon, then the unpaid row with empty bounds; counts that
/// add up to the paths, shares to 1 and a cumulative cdf ending at exactly 1. Returns the
/// count of each row per holder.
#[track_caller]
fn check_redemption_wait(text: &str, paths: u64, horizon_days: u64) -> Vec<(String, Vec<u64>)> {
    assert_eq!(text.lines().next(), Some(WAIT_HEADER), "header");
    let table = Table::parse(text);
    let groups = table.group_by_first();
    let holders: Vec<&str> = groups.iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(holders, ["t0", "stress"], "holders of redemption_wait.csv");
    let mut counts = Vec::new();
    for (holder, rows) in &groups {
        assert_eq!(
            rows.len() as u64,
            1 + horizon_days + 1,
            "{holder}: instant row, one row per day, unpaid row"
        );
        let mut expected_bounds = vec![("1".to_string(), "0".to_string(), "0".to_string())];
        for d in 0..horizon_days {
            expected_bounds.push(("1".into(), d.to_string(), (d + 1).to_string()));
        }
        expected_bounds.push(("0".into(), String::new(), String::new()));
        let bounds: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| (r[1].clone(), r[2].clone(), r[3].clone()))
            .collect();
        assert_eq!(bounds, expected_bounds, "{holder}: rows and bounds");

        let c: Vec<u64> = rows.iter().map(|r| r[4].parse().unwrap()).collect();
        assert_eq!(
            c.iter().sum::<u64>(),
            paths,
            "{holder}: counts add up to the paths"
        );
        let shares: f64 = rows.iter().map(|r| parse_f64(&r[5])).sum();
        assert_close(shares, 1.0, 1e-12, &format!("{holder}: shares add up to 1"));
        let mut below = 0;
        for (r, &n) in rows.iter().zip(&c) {
            below += n;
            assert_eq!(parse_f64(&r[5]), n as f64 / paths as f64, "{holder}: share");
            assert_close(
                parse_f64(&r[6]),
                below as f64 / paths as f64,
                1e-12,
                &format!("{holder}: cdf"),
            );
        }
        assert_eq!(rows[rows.len() - 1][6], "1", "{holder}: the cdf ends at 1");
        counts.push((holder.clone(), c));
    }
    counts
}

/// The counts of redemption_wait.csv recomputed from paths.csv: instant, the 1-day bins
/// (d, d + 1] and unpaid, for `wait` and `unpaid` (the holder's columns).
fn wait_counts(wait: &[f64], unpaid: &[f64], horizon_days: u64) -> Vec<u64> {
    let bins = horizon_days as usize;
    let mut c = vec![0u64; bins + 2];
    for (&w, &u) in wait.iter().zip(unpaid) {
        let slot = if u == 1.0 {
            bins + 1
        } else if w == 0.0 {
            0
        } else {
            (w.ceil() as usize).clamp(1, bins)
        };
        c[slot] += 1;
    }
    c
}

/// Runs a scenario expected to be rejected as bad input: exit code 2, nothing on stdout,
/// every needle on stderr, and nothing created in the working directory.
#[track_caller]
fn assert_rejected(fx: &Fixture, args: &[String], needles: &[&str]) -> Run {
    let before = fx.listing();
    let r = fx.run(args);
    r.expect_code(2).stderr_has(needles);
    assert_eq!(r.stdout, "", "nothing on stdout for bad input");
    assert_eq!(fx.listing(), before, "bad input must not create any file");
    r
}

/// `run <scenario>` arguments that would write everything there is to write.
fn run_writing_everything(scenarios: &[String], extra: &[&str]) -> Vec<String> {
    let mut args = vec!["run".to_string()];
    args.extend(scenarios.iter().cloned());
    args.extend(
        [
            "--out",
            "res/{name}",
            "--paths-csv",
            "--summary-csv",
            "sweep.csv",
        ]
        .map(String::from),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

// ---------------------------------------------------------------------------------------------
// 1. A baseline run end to end.

#[test]
fn baseline_run_writes_summary_tail_metrics_and_loss_distribution() {
    let fx = Fixture::new();
    let r = fx.run([
        "run",
        &arg(&repo_scenario("baseline.toml")),
        "--set",
        &paths_set(2_000),
        "--out",
        "res",
    ]);
    r.ok();
    assert_eq!(
        files_in(&fx, "res"),
        REPORT_FILES,
        "no paths.csv unless asked, no redemption_wait.csv without [withdrawals]"
    );

    let s = fx.read_json("res/summary.json");
    assert_eq!(s["scenario"], "baseline");
    let hash = s["scenario_hash"]
        .as_str()
        .expect("scenario_hash is a string");
    assert!(hash.len() >= 8, "scenario_hash {hash:?}");
    assert_eq!(s["seed"], 42);
    assert_eq!(s["paths"], 2_000);
    assert_eq!(s["engine_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["horizon_days"], 365.0);
    assert_eq!(s["step_days"], 1.0);
    assert_eq!(
        s["levels"],
        serde_json::json!([0.9, 0.95, 0.99, 0.995, 0.999])
    );

    let metrics: Vec<String> = BASELINE_METRICS.iter().map(|m| m.to_string()).collect();
    let keys: BTreeSet<&str> = s["metrics"]
        .as_object()
        .expect("metrics object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BASELINE_METRICS.into_iter().collect::<BTreeSet<_>>());
    assert_eq!(
        metric_order_in_text(&fx.read("res/summary.json"), &metrics),
        metrics,
        "summary.json keeps the report order of the metrics"
    );
    for name in &metrics {
        let m = &s["metrics"][name];
        for field in ["mean", "std_error", "prob_loss", "min", "max"] {
            assert!(m[field].is_number(), "{name}.{field} = {}", m[field]);
        }
        let p = num(&m["prob_loss"]);
        assert!((0.0..=1.0).contains(&p), "{name}.prob_loss = {p}");
        assert!(num(&m["std_error"]) >= 0.0);
        for field in ["var", "es", "var_ci", "es_ci"] {
            let by_level = m[field].as_object().expect("keyed by level");
            let keys: Vec<&str> = by_level.keys().map(String::as_str).collect();
            let mut expected = LEVELS.to_vec();
            expected.sort();
            assert_eq!(keys, expected, "{name}.{field} levels");
        }
        let mut prev_var = f64::NEG_INFINITY;
        for l in LEVELS {
            let (var, es) = (num(&m["var"][l]), num(&m["es"][l]));
            let (vlo, vhi) = (num(&m["var_ci"][l][0]), num(&m["var_ci"][l][1]));
            let (elo, ehi) = (num(&m["es_ci"][l][0]), num(&m["es_ci"][l][1]));
            assert!(
                vlo <= var && var <= vhi,
                "{name} VaR {l}: {vlo} ≤ {var} ≤ {vhi}"
            );
            assert!(
                elo <= es && es <= ehi,
                "{name} ES {l}: {elo} ≤ {es} ≤ {ehi}"
            );
            assert!(es >= var, "{name}: ES {es} < VaR {var} at {l}");
            assert!(var >= prev_var, "{name}: VaR decreases at {l}");
            prev_var = var;
        }
    }
    // nav_loss is a loss: the baseline earns rewards, so its mean is negative, and a
    // slashed fraction cannot be.
    assert!(num(&s["metrics"]["nav_loss"]["mean"]) < 0.0);
    assert!(num(&s["metrics"]["slashed_fraction"]["min"]) >= 0.0);
    assert!(num(&s["metrics"]["slashed_fraction"]["max"]) > 0.0);

    check_tail_metrics(&fx.read_csv("res/tail_metrics.csv"), &s, &metrics);
    assert_eq!(
        fx.read("res/tail_metrics.csv").lines().count(),
        1 + 5 * metrics.len()
    );
    check_loss_distribution(&fx.read_csv("res/loss_distribution.csv"), &s, &metrics, 100);

    for needle in [
        "baseline",
        "2000",
        "slashed_fraction",
        "nav_loss",
        "VaR 99%",
    ] {
        assert!(
            r.stdout.contains(needle),
            "table lacks {needle}:\n{}",
            r.stdout
        );
    }
    assert_eq!(
        table_rows(&r.stdout),
        ["slashed_fraction", "nav_loss"],
        "no redemption rows without [withdrawals]"
    );
}

#[test]
fn summary_statistics_match_the_order_statistics_of_paths_csv() {
    let fx = Fixture::new();
    let n = 2_000usize;
    fx.run([
        "run",
        &arg(&repo_scenario("baseline.toml")),
        "--set",
        &paths_set(n as u64),
        "--paths-csv",
        "-o",
        "res",
        "-q",
    ])
    .ok();
    let s = fx.read_json("res/summary.json");
    let paths = fx.read_csv("res/paths.csv");
    assert_eq!(paths.rows.len(), n);
    for name in BASELINE_METRICS {
        let losses: Vec<f64> = if name == "nav_loss" {
            paths.floats("nav_return").iter().map(|r| -r).collect()
        } else {
            paths.floats(name)
        };
        let m = &s["metrics"][name];
        let mut sorted = losses.clone();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(num(&m["min"]), sorted[0], "{name}.min");
        assert_eq!(num(&m["max"]), sorted[n - 1], "{name}.max");
        let positive = losses.iter().filter(|&&x| x > 0.0).count();
        assert_eq!(
            num(&m["prob_loss"]),
            positive as f64 / n as f64,
            "{name}.prob_loss"
        );
        let mean = losses.iter().sum::<f64>() / n as f64;
        assert_close(num(&m["mean"]), mean, 1e-9, &format!("{name}.mean"));
        for l in LEVELS {
            let alpha = parse_f64(l);
            // n·α is a whole number for n = 2000 and every default level.
            let k = (n as f64 * alpha).round() as usize;
            assert_eq!(num(&m["var"][l]), sorted[k - 1], "{name} VaR {l}");
            let tail = &sorted[k..];
            let es = tail.iter().sum::<f64>() / tail.len() as f64;
            assert_close(num(&m["es"][l]), es, 1e-9, &format!("{name} ES {l}"));
        }
    }
}

/// `--paths-parquet`: in a build with the `parquet` feature, the file is written and its bytes
/// do not depend on the thread count (pandas reads it back equal to paths.csv:
/// python/tests); in a build without, the run is refused before anything is written, saying
/// how to build it. Never with `--shard`.
#[test]
fn paths_parquet_is_written_or_refused_with_how_to_build_it() {
    let fx = Fixture::new();
    let run = |out: &str, threads: &str| {
        fx.run([
            "run",
            &arg(&repo_scenario("rare-tail.toml")),
            "--set",
            &paths_set(5_000),
            "--paths-parquet",
            "-t",
            threads,
            "-o",
            out,
            "-q",
        ])
    };
    if cfg!(feature = "parquet") {
        run("one", "1").ok();
        run("two", "2").ok();
        let bytes = fx.read_bytes("one/paths.parquet");
        assert_eq!(&bytes[..4], b"PAR1");
        assert_eq!(bytes, fx.read_bytes("two/paths.parquet"));
        let manifest = fx.read("one/manifest.json");
        assert!(manifest.contains("paths.parquet"), "{manifest}");
        assert!(
            !fx.listing().iter().any(|f| f.contains(".tmp-")),
            "{:?}",
            fx.listing()
        );
    } else {
        run("one", "1")
            .expect_code(2)
            .stderr_has(&["--paths-parquet", "--features parquet"]);
        assert!(!fx.path("one").exists());
    }
    // Shards write their paths beside their parts; the merge has the unsharded run's bytes.
    // (70 chunks over 3 shards: the shards' ranges do not fall on row-group boundaries.)
    let shard = |i: u32| {
        fx.run([
            "run",
            &arg(&repo_scenario("rare-tail.toml")),
            "--set",
            &paths_set(70 * 1024 + 300),
            "--paths-parquet",
            "--shard",
            &format!("{i}/3"),
            "-o",
            "parts",
            "-q",
        ])
    };
    if cfg!(feature = "parquet") {
        for i in 0..3 {
            shard(i).ok();
        }
        fx.run(["merge", "parts", "-o", "merged", "-q"]).ok();
        run_n(&fx, "whole", 70 * 1024 + 300).ok();
        assert_eq!(
            fx.read_bytes("merged/paths.parquet"),
            fx.read_bytes("whole/paths.parquet")
        );
        // A part without its paths: the merge says which.
        std::fs::remove_file(fx.path("parts/shard-1-of-3.lrtpart.paths.parquet")).unwrap();
        fx.run(["merge", "parts", "-o", "merged2", "-q"])
            .expect_code(2)
            .stderr_has(&["shard-1-of-3.lrtpart.paths.parquet"]);
    } else {
        shard(0).expect_code(2).stderr_has(&["--features parquet"]);
    }
}

/// `--table-format`: with the `parquet` feature, `both` writes every table as CSV and as
/// Parquet, the same bytes for any thread count and for merged shards, listed in the
/// manifest; `parquet` writes no CSV table, and the HTML report then says what to do; a
/// sweep's points follow it and are rerun when it changes. Without the feature it is refused
/// before anything is written. (The Parquet files' values and types against the CSV files:
/// python/tests; the conversion: crates/run/src/tables.rs.)
#[test]
fn table_format_parquet_writes_the_tables_or_is_refused() {
    let fx = Fixture::new();
    let scenario = arg(&repo_scenario("bank-run.toml"));
    let run = |out: &str, format: &str, threads: &str| {
        fx.run([
            "run",
            &scenario,
            "--set",
            &paths_set(3_000),
            "--table-format",
            format,
            "-t",
            threads,
            "-o",
            out,
            "-q",
        ])
    };
    let tables = [
        "contributions",
        "exceedance",
        "exit_queue_paths",
        "loss_distribution",
        "queue_paths",
        "redemption_wait",
        "tail_metrics",
    ];
    if !cfg!(feature = "parquet") {
        run("one", "parquet", "1")
            .expect_code(2)
            .stderr_has(&["--table-format parquet", "--features parquet"]);
        assert!(!fx.path("one").exists());
        return;
    }
    run("one", "both", "1").ok();
    run("two", "both", "2").ok();
    let manifest = fx.read("one/manifest.json");
    for t in tables {
        let bytes = fx.read_bytes(format!("one/{t}.parquet"));
        assert_eq!(&bytes[..4], b"PAR1", "{t}");
        assert_eq!(bytes, fx.read_bytes(format!("two/{t}.parquet")), "{t}");
        assert!(fx.path(format!("one/{t}.csv")).exists(), "{t}");
        assert!(
            manifest.contains(&format!("\"{t}.parquet\"")),
            "{t}: {manifest}"
        );
    }
    // Parquet alone: no CSV table; summary.json and the resolved scenario as always.
    run("alone", "parquet", "2").ok();
    let csv: Vec<String> = fx
        .listing()
        .into_iter()
        .filter(|f| f.starts_with("alone/") && f.ends_with(".csv"))
        .collect();
    assert!(csv.is_empty(), "{csv:?}");
    assert!(fx.path("alone/summary.json").exists());
    assert_eq!(
        fx.read_bytes("alone/exceedance.parquet"),
        fx.read_bytes("one/exceedance.parquet")
    );
    fx.run(["report", "alone", "-q"])
        .expect_code(2)
        .stderr_has(&["--table-format both"]);
    fx.run([
        "run",
        &scenario,
        "--set",
        &paths_set(300),
        "--table-format",
        "parquet",
        "--report",
        "-o",
        "html",
        "-q",
    ])
    .expect_code(2)
    .stderr_has(&["--report", "--table-format both"]);
    // Merged shards: the unsharded run's bytes. The format goes to the merge, not the shards.
    for i in 0..2 {
        fx.run([
            "run",
            &scenario,
            "--set",
            &paths_set(3_000),
            "--shard",
            &format!("{i}/2"),
            "-o",
            "parts",
            "-q",
        ])
        .ok();
    }
    fx.run([
        "run",
        &scenario,
        "--set",
        &paths_set(3_000),
        "--shard",
        "0/2",
        "--table-format",
        "both",
        "-o",
        "parts2",
        "-q",
    ])
    .expect_code(2)
    .stderr_has(&["--table-format go to `lrtsim merge`"]);
    fx.run([
        "merge",
        "parts",
        "--table-format",
        "both",
        "-o",
        "merged",
        "-q",
    ])
    .ok();
    for t in tables {
        assert_eq!(
            fx.read_bytes(format!("merged/{t}.parquet")),
            fx.read_bytes(format!("one/{t}.parquet")),
            "{t}"
        );
    }
    // A sweep's points in Parquet; a rerun in another format reruns them.
    let sweep = |format: &str| {
        fx.run([
            "sweep",
            &scenario,
            "--set",
            &paths_set(500),
            "--grid",
            "withdrawals.buffer.initial_eth=10000,20000",
            "--table-format",
            format,
            "-o",
            "sw",
        ])
    };
    sweep("parquet").ok();
    assert!(fx.path("sw/points/0000/tail_metrics.parquet").exists());
    assert!(!fx.path("sw/points/0000/tail_metrics.csv").exists());
    sweep("parquet").ok().stderr_has(&["up to date, skipped"]);
    sweep("csv").ok();
    assert!(fx.path("sw/points/0001/tail_metrics.csv").exists());
}

/// A run of rare-tail with `n` paths and `--paths-parquet` into `out`.
fn run_n(fx: &Fixture, out: &str, n: u64) -> Run {
    fx.run([
        "run",
        &arg(&repo_scenario("rare-tail.toml")),
        "--set",
        &paths_set(n),
        "--paths-parquet",
        "-o",
        out,
        "-q",
    ])
}

#[test]
fn paths_csv_columns_are_consistent() {
    let fx = Fixture::new();
    let n = 2_000;
    fx.run([
        "run",
        &arg(&repo_scenario("baseline.toml")),
        "--set",
        &paths_set(n),
        "--paths-csv",
        "-o",
        "res",
        "-q",
    ])
    .ok();
    let t = fx.read_csv("res/paths.csv");
    let mut expected = vec![
        "path",
        "slashed_eth",
        "slashed_fraction",
        "nav_return",
        "rewards_eth",
        "fees_eth",
    ];
    expected.extend(&BASELINE_METRICS[3..]);
    assert_eq!(t.header, expected);
    let index: Vec<String> = t.rows.iter().map(|r| r[0].clone()).collect();
    let expected_index: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    assert_eq!(index, expected_index, "path column is 0..n in order");

    let collateral = 1_000_000.0;
    let eth = t.floats("slashed_eth");
    let fraction = t.floats("slashed_fraction");
    let nav = t.floats("nav_return");
    let rewards = t.floats("rewards_eth");
    let avs_cols: Vec<Vec<f64>> = BASELINE_METRICS[7..15]
        .iter()
        .map(|c| t.floats(c))
        .collect();
    let src_cols: Vec<Vec<f64>> = BASELINE_METRICS[15..].iter().map(|c| t.floats(c)).collect();
    let kinds: Vec<Vec<f64>> = BASELINE_METRICS[3..7].iter().map(|c| t.floats(c)).collect();
    for i in 0..n as usize {
        assert_close(fraction[i], eth[i] / collateral, 1e-12, "slashed_fraction");
        // The LRT supply is constant: NAV moves by (rewards − slashing) / collateral.
        assert_close(
            nav[i],
            (rewards[i] - eth[i]) / collateral,
            1e-9,
            "nav_return",
        );
        let by_avs: f64 = avs_cols.iter().map(|c| c[i]).sum();
        let by_src: f64 = src_cols.iter().map(|c| c[i]).sum();
        let by_kind: f64 = kinds.iter().map(|c| c[i]).sum();
        assert_close(
            by_avs,
            kinds[0][i],
            1e-9,
            "ETH slashed per AVS sums to the AVS-slashed total",
        );
        assert_close(by_kind, eth[i], 1e-9, "the loss kinds sum to the total");
        assert_close(
            by_src,
            eth[i],
            1e-9,
            "ETH slashed per source sums to the total",
        );
    }
    assert!(eth.iter().any(|&x| x > 0.0), "some path is slashed");
}

#[test]
fn bins_option_sets_the_bins_of_the_loss_distribution() {
    let fx = Fixture::new();
    fx.run([
        "run",
        &arg(&test_scenario("small.toml")),
        "--set",
        &paths_set(3_000),
        "--bins",
        "7",
        "-o",
        "res",
        "-q",
    ])
    .ok();
    let s = fx.read_json("res/summary.json");
    let metrics: Vec<String> = s["metrics"].as_object().unwrap().keys().cloned().collect();
    let order = metric_order_in_text(&fx.read("res/summary.json"), &metrics);
    check_loss_distribution(&fx.read_csv("res/loss_distribution.csv"), &s, &order, 7);
}

// ---------------------------------------------------------------------------------------------
// 2. Determinism.

#[test]
fn outputs_are_byte_identical_for_1_2_and_8_threads() {
    let fx = Fixture::new();
    for (scenario, paths) in [("bench-slashing.toml", 20_000), ("baseline.toml", 10_000)] {
        let mut stdout = Vec::new();
        for threads in ["1", "2", "8"] {
            let r = fx.run([
                "run",
                &arg(&repo_scenario(scenario)),
                "--set",
                &paths_set(paths),
                "--threads",
                threads,
                "--paths-csv",
                "--format",
                "json",
                "-q",
                "-o",
                &format!("{scenario}/t{threads}"),
            ]);
            r.ok();
            stdout.push(r.stdout.clone());
        }
        for file in [
            "summary.json",
            "tail_metrics.csv",
            "exceedance.csv",
            "contributions.csv",
            "loss_distribution.csv",
            "paths.csv",
            "scenario.resolved.toml",
        ] {
            let one = fx.read_bytes(format!("{scenario}/t1/{file}"));
            for threads in ["2", "8"] {
                assert!(
                    one == fx.read_bytes(format!("{scenario}/t{threads}/{file}")),
                    "{scenario}: {file} differs between 1 and {threads} threads"
                );
            }
        }
        assert!(
            stdout.iter().all(|o| *o == stdout[0]),
            "{scenario}: stdout differs"
        );
        let eth = fx
            .read_csv(format!("{scenario}/t1/paths.csv"))
            .floats("slashed_eth");
        assert!(
            eth.iter().any(|&x| x > 0.0),
            "{scenario}: a trivial run proves nothing"
        );
    }
}

#[test]
fn seed_override_changes_the_paths_and_an_identical_value_changes_nothing() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["run", &small, "--paths-csv", "-q", "-o", out];
        args.extend(extra);
        fx.run(args).ok();
    };
    run("default", &[]);
    run("other-seed", &["--set", "simulation.seed=12345"]);
    run("same-seed", &["--set", "simulation.seed=11"]);

    assert_ne!(
        fx.read("default/paths.csv"),
        fx.read("other-seed/paths.csv"),
        "another seed must give other paths"
    );
    let default = fx.read_json("default/summary.json");
    let other = fx.read_json("other-seed/summary.json");
    assert_eq!(default["seed"], 11);
    assert_eq!(other["seed"], 12345);
    assert_ne!(default["scenario_hash"], other["scenario_hash"]);
    // Setting the value the file already has resolves to the same scenario.
    for file in ["summary.json", "paths.csv", "tail_metrics.csv"] {
        assert_eq!(
            fx.read(format!("default/{file}")),
            fx.read(format!("same-seed/{file}")),
            "{file}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. A scenario without risk.

#[test]
fn zero_risk_scenario_slashes_nothing_and_every_path_is_identical() {
    let fx = Fixture::new();
    let n = 2_000;
    fx.run([
        "run",
        &arg(&test_scenario("zero-risk.toml")),
        "--set",
        &paths_set(n),
        "--paths-csv",
        "-q",
        "-o",
        "res",
    ])
    .ok();
    let t = fx.read_csv("res/paths.csv");
    assert_eq!(t.rows.len(), n as usize);
    let slashed: Vec<usize> = (0..t.header.len())
        .filter(|&i| t.header[i].starts_with("slashed_"))
        .collect();
    assert_eq!(
        slashed.len(),
        2 + 2 + 4,
        "total, fraction, 2 AVSs, 4 sources"
    );
    let first = &t.rows[0];
    for row in &t.rows {
        for &i in &slashed {
            assert_eq!(row[i], "0", "path {}: {} must be 0", row[0], t.header[i]);
        }
        // Rewards are deterministic: NAV, rewards and fees are the same on every path.
        assert_eq!(row[1..], first[1..], "path {} differs from path 0", row[0]);
    }
    // Gross rewards: 3.2 % of 100 000 ETH staked, plus AVS rewards on 32 000 ETH at 0.4 %
    // and 18 000 ETH at 0.6 % = 3 436 ETH. Net of commissions (10 %, 5 %, 10 % per
    // operator) and the 10 % protocol fee: 2 829.06 ETH.
    assert_close(
        parse_f64(&first[t.col("rewards_eth")]),
        2_829.06,
        1e-12,
        "rewards_eth",
    );
    assert_close(
        parse_f64(&first[t.col("fees_eth")]),
        606.94,
        1e-12,
        "fees_eth",
    );
    assert_close(
        parse_f64(&first[t.col("nav_return")]),
        0.0282906,
        1e-12,
        "nav_return",
    );

    let s = fx.read_json("res/summary.json");
    let sf = &s["metrics"]["slashed_fraction"];
    assert_eq!(sf["prob_loss"], 0.0);
    assert_eq!(sf["max"], 0.0);
    let nav_loss = &s["metrics"]["nav_loss"];
    for l in LEVELS {
        assert_eq!(sf["var"][l], 0.0);
        assert_eq!(sf["es"][l], 0.0);
        assert_close(num(&nav_loss["var"][l]), -0.0282906, 1e-12, "nav_loss VaR");
    }
    let dist = fx.read_csv("res/loss_distribution.csv");
    for (name, rows) in dist.group_by_first() {
        assert_eq!(rows.len(), 1, "{name}: a point mass is one bin");
        assert_eq!(rows[0][3], n.to_string(), "{name}: count");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Bad input: exit code 2, the field and file named, nothing written.

#[test]
fn unknown_field_is_rejected_with_its_path_location_and_a_suggestion() {
    let fx = Fixture::new();
    let file = arg(&test_scenario("bad-unknown-field.toml"));
    let r = assert_rejected(
        &fx,
        &run_writing_everything(std::slice::from_ref(&file), &[]),
        &[
            "bad-unknown-field.toml:19:1: operators[1].sharee",
            "unknown field `sharee`",
            "did you mean `share`?",
            "1 scenario is invalid",
        ],
    );
    assert!(r.stderr.starts_with("error: "), "{}", r.stderr);

    // The same mistake made with --set names the override instead of a line.
    assert_rejected(
        &fx,
        &run_writing_everything(
            &[arg(&test_scenario("small.toml"))],
            &["--set", "operators.op-b.sharee=0.3"],
        ),
        &[
            "small.toml: operators[1].sharee: unknown field `sharee`",
            "did you mean `share`?",
            "(value from --set operators.op-b.sharee=0.3)",
        ],
    );
}

#[test]
fn allocation_to_an_unknown_avs_is_rejected() {
    let fx = Fixture::new();
    assert_rejected(
        &fx,
        &run_writing_everything(&[arg(&test_scenario("bad-reference.toml"))], &[]),
        &[
            "bad-reference.toml:20:17: operators[1].allocations.orcale",
            "no AVS named `orcale`",
            "did you mean `oracle`?",
        ],
    );
}

#[test]
fn probability_above_one_is_rejected() {
    let fx = Fixture::new();
    assert_rejected(
        &fx,
        &run_writing_everything(&[arg(&test_scenario("bad-probability.toml"))], &[]),
        &[
            "bad-probability.toml:24:1: shocks[0].hit_probability",
            "must be in [0, 1], got 1.5",
        ],
    );
    assert_rejected(
        &fx,
        &run_writing_everything(
            &[arg(&test_scenario("small.toml"))],
            &["--set", "shocks.client-a-bug.hit_probability=1.5"],
        ),
        &[
            "small.toml: shocks[0].hit_probability: must be in [0, 1], got 1.5",
            "(value from --set shocks.client-a-bug.hit_probability=1.5)",
        ],
    );
}

#[test]
fn malformed_toml_is_rejected_with_line_and_column() {
    let fx = Fixture::new();
    let r = assert_rejected(
        &fx,
        &run_writing_everything(&[arg(&test_scenario("bad-syntax.toml"))], &[]),
        &["bad-syntax.toml:7:", "TOML syntax error"],
    );
    // `<file>:<line>:<column>: TOML syntax error`, the column a number.
    let after = r.stderr.split("bad-syntax.toml:7:").nth(1).unwrap();
    let (col, rest) = after.split_once(':').expect("a column");
    assert!(col.parse::<usize>().is_ok_and(|c| c >= 1), "column {col:?}");
    assert!(rest.starts_with(" TOML syntax error"), "{}", r.stderr);
}

#[test]
fn bad_set_overrides_are_rejected() {
    let fx = Fixture::new();
    let small = [arg(&test_scenario("small.toml"))];
    let cases: [(&str, &[&str]); 6] = [
        (
            "avs.nope.reward_apr=0.1",
            &[
                "small.toml: --set avs.nope.reward_apr=0.1",
                "`avs` has no entry named `nope` (entries: x, y, z)",
            ],
        ),
        (
            "shocks.z-bgu.rate_per_year=1",
            &[
                "`shocks` has no entry named `z-bgu`",
                "did you mean `z-bug`?",
            ],
        ),
        (
            "simulation.paths=many",
            &[
                "small.toml: simulation.paths: invalid type",
                "expected u64",
                "(value from --set simulation.paths=many)",
            ],
        ),
        (
            "simulation.paths=-5",
            &["simulation.paths", "(value from --set simulation.paths=-5)"],
        ),
        (
            "simulation.paths",
            &["--set simulation.paths: expected KEY=VALUE"],
        ),
        ("operators=3", &["`operators` is a list of entries"]),
    ];
    for (set, needles) in cases {
        assert_rejected(
            &fx,
            &run_writing_everything(&small, &["--set", set]),
            needles,
        );
        let validate = ["validate", &small[0], "--set", set].map(String::from);
        assert_rejected(&fx, &validate, needles);
    }
}

#[test]
fn missing_scenario_file_is_rejected() {
    let fx = Fixture::new();
    assert_rejected(
        &fx,
        &run_writing_everything(&["does-not-exist.toml".to_string()], &[]),
        &["does-not-exist.toml: cannot read the scenario file"],
    );
}

#[test]
fn usage_errors_exit_2_and_write_nothing() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    let cases: Vec<Vec<&str>> = vec![
        vec![],
        vec!["run"],
        vec!["validate"],
        vec!["simulate", &small],
        vec!["run", &small, "--no-such-flag"],
        vec!["run", &small, "--bins", "0"],
        vec!["run", &small, "--threads", "many"],
        vec!["run", &small, "--format", "xml"],
    ];
    for args in cases {
        let before = fx.listing();
        let r = fx.run(&args);
        r.expect_code(2);
        assert!(
            r.stderr.contains("error") || r.stderr.contains("Usage:"),
            "{args:?}: {}",
            r.stderr
        );
        assert_eq!(fx.listing(), before, "{args:?} wrote something");
    }
}

#[test]
fn version_and_help_exit_0() {
    let fx = Fixture::new();
    let r = fx.run(["--version"]);
    r.ok();
    assert!(r.stdout.contains(env!("CARGO_PKG_VERSION")), "{}", r.stdout);
    let r = fx.run(["run", "--help"]);
    r.ok();
    for flag in [
        "--set",
        "--out",
        "--threads",
        "--quiet",
        "--format",
        "--summary-csv",
    ] {
        assert!(r.stdout.contains(flag), "help lacks {flag}");
    }
}

#[test]
fn validate_accepts_good_files_and_rejects_bad_ones() {
    let fx = Fixture::new();
    let good = [
        arg(&repo_scenario("baseline.toml")),
        arg(&repo_scenario("bench-slashing.toml")),
        arg(&test_scenario("small.toml")),
        arg(&test_scenario("zero-risk.toml")),
    ];
    let mut args = vec!["validate".to_string()];
    args.extend(good.iter().cloned());
    let r = fx.run(&args);
    r.ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    for (line, (file, name)) in
        lines.iter().zip(
            good.iter()
                .zip(["baseline", "bench-slashing", "small", "zero-risk"]),
        )
    {
        assert!(line.starts_with(&format!("{file}: ok ({name}: ")), "{line}");
    }
    assert!(lines[0].contains("18 operators, 8 AVSs"), "{}", lines[0]);
    assert!(fx.listing().is_empty(), "validate writes nothing");

    // A sector says how many LRTs share the operators.
    let r = fx.run(["validate", &arg(&repo_scenario("shared-operator.toml"))]);
    r.ok();
    assert!(
        r.stdout
            .contains("(shared-operator: 2 LRTs on 8 operators, 3 AVSs"),
        "{}",
        r.stdout
    );
    // Governance: the allocations at t = 0 (not the empty ones a vote may fill) and the votes.
    let r = fx.run(["validate", &arg(&repo_scenario("risk-on-vote.toml"))]);
    r.ok();
    assert!(
        r.stdout
            .contains("5 operators, 3 AVSs, 10 allocations, 1 governance vote, 2 loss sources"),
        "{}",
        r.stdout
    );

    // A --set applies before validation.
    let r = fx.run(["validate", &good[2], "--set", &paths_set(123)]);
    r.ok();
    assert!(r.stdout.contains("123 paths"), "{}", r.stdout);

    // One bad file among good ones: the good ones still get their "ok" line.
    let bad = arg(&test_scenario("bad-probability.toml"));
    let r = fx.run(["validate", &good[2], &bad, &good[3]]);
    r.expect_code(2).stderr_has(&[
        "bad-probability.toml:24:1: shocks[0].hit_probability",
        "1 scenario is invalid",
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(lines[0].starts_with(&format!("{}: ok (small: ", good[2])));
    assert!(lines[1].starts_with(&format!("{}: ok (zero-risk: ", good[3])));
    assert!(!r.stderr.contains("small.toml"), "{}", r.stderr);
    assert!(fx.listing().is_empty(), "validate writes nothing");

    // Every bad file is reported, not only the first.
    let bads = [
        "bad-unknown-field.toml",
        "bad-reference.toml",
        "bad-probability.toml",
        "bad-syntax.toml",
    ];
    let mut args = vec!["validate".to_string()];
    args.extend(bads.iter().map(|b| arg(&test_scenario(b))));
    let mut needles = bads.to_vec();
    needles.push("4 scenarios are invalid");
    assert_rejected(&fx, &args, &needles);
}

#[test]
fn batch_with_an_invalid_scenario_writes_nothing_for_the_valid_one() {
    let fx = Fixture::new();
    let r = assert_rejected(
        &fx,
        &run_writing_everything(
            &[
                arg(&test_scenario("small.toml")),
                arg(&test_scenario("bad-reference.toml")),
            ],
            &["--set", &paths_set(500)],
        ),
        &["bad-reference.toml:20:17:", "1 scenario is invalid"],
    );
    assert!(!r.stderr.contains("paths in"), "nothing ran: {}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// 5. JSON on stdout.

#[test]
fn format_json_prints_the_summary_that_was_written() {
    let fx = Fixture::new();
    let r = fx.run([
        "run",
        &arg(&test_scenario("small.toml")),
        "--set",
        &paths_set(1_000),
        "--format",
        "json",
        "-o",
        "res",
    ]);
    r.ok();
    let printed: Value =
        parse_json(&r.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", r.stdout));
    assert!(printed.is_object());
    assert_eq!(printed, fx.read_json("res/summary.json"));
}

#[test]
fn format_json_with_two_scenarios_prints_an_array_in_command_line_order() {
    let fx = Fixture::new();
    let r = fx.run([
        "run",
        &arg(&test_scenario("zero-risk.toml")),
        &arg(&test_scenario("small.toml")),
        "--set",
        &paths_set(500),
        "--format",
        "json",
        "-q",
        "-o",
        "res",
    ]);
    r.ok();
    let printed: Value =
        parse_json(&r.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", r.stdout));
    let items = printed.as_array().expect("an array");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0], fx.read_json("res/zero-risk/summary.json"));
    assert_eq!(items[1], fx.read_json("res/small/summary.json"));
    assert_eq!(items[0]["scenario"], "zero-risk");
    assert_eq!(items[1]["scenario"], "small");
}

// ---------------------------------------------------------------------------------------------
// 6. The summary CSV of a sweep.

#[test]
fn summary_csv_collects_one_line_per_run_with_set_columns() {
    let fx = Fixture::new();
    let rates = ["0.05", "0.2", "0.8"];
    for (i, rate) in rates.iter().enumerate() {
        fx.run([
            "run",
            &arg(&test_scenario("small.toml")),
            "--set",
            &paths_set(2_000),
            "--set",
            &format!("shocks.z-bug.rate_per_year={rate}"),
            "--summary-csv",
            "sweep/summary.csv",
            "-q",
            "-o",
            &format!("runs/{i}"),
        ])
        .ok();
    }
    let text = fx.read("sweep/summary.csv");
    assert_eq!(
        text.lines().count(),
        4,
        "one header and three lines:\n{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("scenario,")).count(),
        1,
        "a single header:\n{text}"
    );
    let t = Table::parse(&text);
    assert!(
        t.header.join(",").starts_with(
            "scenario,scenario_hash,seed,paths,simulation.paths,shocks.z-bug.rate_per_year,\
             slashed_fraction.mean,slashed_fraction.mean_lo,slashed_fraction.mean_hi,\
             slashed_fraction.prob_loss,slashed_fraction.var_0.95,slashed_fraction.var_lo_0.95,"
        ),
        "{:?}",
        t.header
    );
    assert_eq!(t.header.len(), 4 + 2 + 2 * (4 + 6 * CSV_LEVELS.len()));
    assert_eq!(t.header.last().unwrap(), "nav_loss.es_hi_0.999");

    let mut means = Vec::new();
    for (i, rate) in rates.iter().enumerate() {
        let row = &t.rows[i];
        let s = fx.read_json(format!("runs/{i}/summary.json"));
        assert_eq!(row[t.col("scenario")], "small");
        assert_eq!(row[t.col("seed")], "11");
        assert_eq!(row[t.col("paths")], "2000");
        assert_eq!(row[t.col("simulation.paths")], "2000");
        assert_eq!(row[t.col("shocks.z-bug.rate_per_year")], *rate);
        assert_eq!(
            row[t.col("scenario_hash")],
            s["scenario_hash"].as_str().unwrap()
        );
        for (col, metric, field, level) in [
            ("slashed_fraction.mean", "slashed_fraction", "mean", None),
            (
                "slashed_fraction.var_0.99",
                "slashed_fraction",
                "var",
                Some("0.99"),
            ),
            ("nav_loss.es_0.999", "nav_loss", "es", Some("0.999")),
        ] {
            let m = &s["metrics"][metric][field];
            let expected = num(level.map_or(m, |l| &m[l]));
            assert_eq!(parse_f64(&row[t.col(col)]), expected, "run {i}: {col}");
        }
        means.push(parse_f64(&row[t.col("slashed_fraction.mean")]));
    }
    let hashes: BTreeSet<&str> = t
        .rows
        .iter()
        .map(|r| r[t.col("scenario_hash")].as_str())
        .collect();
    assert_eq!(
        hashes.len(),
        3,
        "each override resolves to another scenario"
    );
    // Each z-bug event slashes 4.5 % of the pool: the mean loss must rise with its rate.
    assert!(means[0] < means[1] && means[1] < means[2], "{means:?}");
}

#[test]
fn summary_csv_dash_prints_header_and_line_on_stdout() {
    let fx = Fixture::new();
    let r = fx.run([
        "run",
        &arg(&test_scenario("small.toml")),
        "--set",
        &paths_set(500),
        "--summary-csv",
        "-",
        "-q",
        "-o",
        "res",
    ]);
    r.ok();
    // stdout is the CSV alone: no table.
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(
        lines[0].starts_with("scenario,scenario_hash,seed,paths,simulation.paths,"),
        "{}",
        r.stdout
    );
    let t = Table::parse(&r.stdout);
    assert_eq!(t.rows.len(), 1);
    assert_eq!(t.rows[0][0], "small");
    assert_eq!(t.rows[0][t.col("simulation.paths")], "500");
    let s = fx.read_json("res/summary.json");
    assert_eq!(
        parse_f64(&t.rows[0][t.col("nav_loss.mean")]),
        num(&s["metrics"]["nav_loss"]["mean"])
    );
    assert!(!fx.path("-").exists(), "`-` is stdout, not a file");
}

#[test]
fn summary_csv_with_another_header_is_left_untouched_and_the_run_fails() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    fx.run([
        "run",
        &small,
        "--set",
        &paths_set(300),
        "--summary-csv",
        "s.csv",
        "-q",
        "-o",
        "a",
    ])
    .ok();
    let before = fx.read("s.csv");
    let r = fx.run([
        "run",
        &small,
        "--set",
        "simulation.seed=3",
        "--set",
        &paths_set(300),
        "--summary-csv",
        "s.csv",
        "-q",
        "-o",
        "b",
    ]);
    r.expect_code(1).stderr_has(&["s.csv", "header"]);
    assert_eq!(fx.read("s.csv"), before);
    // Checked before simulating: the run wrote nothing.
    assert!(
        !fx.path("b").exists(),
        "the failed run must not write its outputs"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Batches, output directories (9: the default one) and runtime failures.

#[test]
fn batch_without_name_in_out_writes_each_scenario_to_its_own_subdirectory() {
    let fx = Fixture::new();
    let scenarios = [
        arg(&test_scenario("small.toml")),
        arg(&test_scenario("zero-risk.toml")),
    ];
    let r = fx.run([
        "run",
        &scenarios[0],
        &scenarios[1],
        "--set",
        &paths_set(500),
        "-o",
        "batch",
    ]);
    r.ok();
    for name in ["small", "zero-risk"] {
        assert_eq!(files_in(&fx, &format!("batch/{name}")), REPORT_FILES);
        assert_eq!(
            fx.read_json(format!("batch/{name}/summary.json"))["scenario"],
            name
        );
    }
    assert!(
        files_in(&fx, "batch").is_empty(),
        "nothing written in batch/ itself"
    );
    assert_eq!(
        r.stdout.matches("scenario: ").count(),
        2,
        "two tables:\n{}",
        r.stdout
    );

    // With {name} in the template, it is replaced as given.
    fx.run([
        "run",
        &scenarios[0],
        &scenarios[1],
        "--set",
        &paths_set(500),
        "-q",
        "-o",
        "by-name/{name}-run",
    ])
    .ok();
    for name in ["small", "zero-risk"] {
        assert_eq!(files_in(&fx, &format!("by-name/{name}-run")), REPORT_FILES);
    }
}

#[test]
fn batch_of_scenarios_with_the_same_name_is_rejected_before_running() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    // Another file, the same scenario name.
    let copy = fx.write_scenario(
        "copy.toml",
        &std::fs::read_to_string(test_scenario("small.toml")).unwrap(),
    );
    let r = assert_rejected(
        &fx,
        &[
            "run",
            &small,
            &arg(&copy),
            "--set",
            &paths_set(300),
            "-o",
            "batch",
        ]
        .map(String::from),
        &["small.toml", "copy.toml", "would both write to batch/small"],
    );
    assert!(!r.stderr.contains("paths in"), "nothing ran: {}", r.stderr);

    // Distinct files renamed alike by --set, and with {name} in --out.
    assert_rejected(
        &fx,
        &run_writing_everything(
            &[small.clone(), arg(&test_scenario("zero-risk.toml"))],
            &["--set", "name=same"],
        ),
        &[
            "small.toml and ",
            "zero-risk.toml would both write to res/same",
            "distinct names or use {name} in --out",
        ],
    );
}

#[test]
fn default_output_directory_is_out_name_under_the_working_directory() {
    let fx = Fixture::new();
    let r = fx.run([
        "run",
        &arg(&test_scenario("small.toml")),
        "--set",
        &paths_set(300),
    ]);
    r.ok();
    assert_eq!(files_in(&fx, "out/small"), REPORT_FILES);
    assert_eq!(
        fx.listing(),
        [
            "out/",
            "out/small/",
            "out/small/contributions.csv",
            "out/small/exceedance.csv",
            "out/small/loss_distribution.csv",
            "out/small/manifest.json",
            "out/small/scenario.resolved.toml",
            "out/small/summary.json",
            "out/small/tail_metrics.csv"
        ]
    );
    assert!(
        r.stderr.trim_end().ends_with("-> out/small"),
        "{}",
        r.stderr
    );
}

#[test]
fn runtime_failure_exits_1_and_names_the_path() {
    let fx = Fixture::new();
    std::fs::write(fx.path("blocker"), "a file where a directory should be").unwrap();
    let r = fx.run([
        "run",
        &arg(&test_scenario("small.toml")),
        "--set",
        &paths_set(300),
        "-q",
        "-o",
        "blocker/res",
    ]);
    r.expect_code(1).stderr_has(&["error: ", "blocker/res"]);
}

#[test]
fn write_errors_name_the_os_error_once() {
    let fx = Fixture::new();
    std::fs::create_dir(fx.path("a-directory")).unwrap();
    let r = fx.run([
        "run",
        &arg(&test_scenario("small.toml")),
        "--set",
        &paths_set(300),
        "-q",
        "-o",
        "res",
        "--summary-csv",
        "a-directory",
    ]);
    r.expect_code(1).stderr_has(&["a-directory: cannot "]);
    assert_eq!(r.stderr.matches("(os error").count(), 1, "{}", r.stderr);
}

#[test]
fn closed_stdout_does_not_panic() {
    use std::process::Stdio;
    let fx = Fixture::new();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lrtsim"))
        .current_dir(fx.root())
        .args([
            "run",
            &arg(&test_scenario("small.toml")),
            "--set",
            &paths_set(2_000),
            "--format",
            "json",
            "-q",
            "-o",
            "res",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // The reader goes away before anything is printed.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// 8. stderr: run log or quiet.

#[test]
fn quiet_leaves_stderr_empty_and_the_default_logs_one_line_per_run() {
    let fx = Fixture::new();
    let args = |quiet: bool| {
        let mut a = vec![
            "run".to_string(),
            arg(&test_scenario("small.toml")),
            arg(&test_scenario("zero-risk.toml")),
            "--set".into(),
            paths_set(400),
            "-o".into(),
            "res".into(),
        ];
        if quiet {
            a.push("--quiet".into());
        }
        a
    };
    let r = fx.run(args(true));
    r.ok();
    assert_eq!(r.stderr, "", "--quiet must leave stderr empty");
    assert!(
        r.stdout.contains("scenario: small"),
        "the table is still printed"
    );

    let r = fx.run(args(false));
    r.ok();
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stderr);
    for (line, name) in lines.iter().zip(["small", "zero-risk"]) {
        assert!(
            line.starts_with(&format!("{name}: 400 paths in ")),
            "{line}"
        );
        assert!(
            line.contains(" s (") && line.contains(" paths/s)"),
            "{line}"
        );
        assert!(line.ends_with(&format!("-> res/{name}")), "{line}");
    }
    assert!(
        !r.stderr.contains('\r') && !r.stderr.contains('\u{1b}'),
        "no progress bar when stderr is not a terminal: {:?}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// 10. Atomic writes.

#[test]
fn outputs_are_written_without_leftover_temporary_files() {
    let fx = Fixture::new();
    let args = [
        "run",
        &arg(&test_scenario("small.toml")),
        &arg(&test_scenario("zero-risk.toml")),
        "--set",
        &paths_set(500),
        "--paths-csv",
        "-q",
        "-o",
        "res",
    ];
    fx.run(args).ok();
    let first = fx.read_bytes("res/small/paths.csv");
    // A second run replaces the files in place.
    fx.run(args).ok();
    assert_eq!(fx.read_bytes("res/small/paths.csv"), first);
    for name in ["small", "zero-risk"] {
        assert_eq!(
            files_in(&fx, &format!("res/{name}")),
            [
                "contributions.csv",
                "exceedance.csv",
                "loss_distribution.csv",
                "manifest.json",
                "paths.csv",
                "scenario.resolved.toml",
                "summary.json",
                "tail_metrics.csv"
            ]
        );
    }
    let leftovers: Vec<String> = fx
        .listing()
        .into_iter()
        .filter(|p| p.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

// ---------------------------------------------------------------------------------------------
// 11. Redemptions: scenarios with [withdrawals].

#[test]
fn bank_run_reports_redemption_metrics_and_the_wait_distribution() {
    let fx = Fixture::new();
    let n = 3_000;
    let r = fx.run([
        "run",
        &arg(&repo_scenario("bank-run.toml")),
        "--set",
        &paths_set(n),
        "--paths-csv",
        "-o",
        "res",
    ]);
    r.ok();
    assert_eq!(
        files_in(&fx, "res"),
        [
            "contributions.csv",
            "exceedance.csv",
            "exit_queue_paths.csv",
            "loss_distribution.csv",
            "manifest.json",
            "paths.csv",
            "queue_paths.csv",
            "redemption_wait.csv",
            "scenario.resolved.toml",
            "summary.json",
            "tail_metrics.csv"
        ]
    );

    // summary.json, tail_metrics.csv and loss_distribution.csv: the 13 redemption metrics
    // right after inactivity_leak_eth, before the per-AVS and per-source metrics.
    let s = fx.read_json("res/summary.json");
    assert_eq!(s["scenario"], "bank-run");
    assert_eq!(s["horizon_days"], 120.0);
    let metrics = bank_run_metrics();
    let keys: BTreeSet<&str> = s["metrics"]
        .as_object()
        .expect("metrics object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, metrics.iter().map(String::as_str).collect());
    assert_eq!(
        metric_order_in_text(&fx.read("res/summary.json"), &metrics),
        metrics,
        "summary.json keeps the report order of the metrics"
    );
    let at = metrics
        .iter()
        .position(|m| m == "inactivity_leak_eth")
        .unwrap();
    assert_eq!(metrics[at + 1..at + 14], REDEMPTION_METRICS);
    check_tail_metrics(&fx.read_csv("res/tail_metrics.csv"), &s, &metrics);
    check_loss_distribution(&fx.read_csv("res/loss_distribution.csv"), &s, &metrics, 100);

    // paths.csv: the redemption columns after the 9 fixed ones, before the per-AVS ones.
    let t = fx.read_csv("res/paths.csv");
    let mut expected = vec![
        "path",
        "slashed_eth",
        "slashed_fraction",
        "nav_return",
        "rewards_eth",
        "fees_eth",
    ];
    expected.extend(&BASELINE_METRICS[3..7]);
    expected.extend(REDEMPTION_METRICS);
    expected.extend(BANK_RUN_ATTRIBUTION);
    assert_eq!(t.header, expected);
    for name in REDEMPTION_METRICS {
        let values = t.floats(name);
        let mean = values.iter().sum::<f64>() / n as f64;
        let m = &s["metrics"][name];
        assert_close(num(&m["mean"]), mean, 1e-9, &format!("{name}.mean"));
        assert!(values.iter().all(|v| *v >= 0.0), "{name} is never negative");
    }
    let horizon = 120.0;
    let start = t.floats("stress_start_days");
    let peak_days = t.floats("peak_queue_days");
    for holder in ["t0", "stress"] {
        let wait = t.floats(&format!("redeem_days_{holder}"));
        let unpaid = t.floats(&format!("unredeemed_{holder}"));
        for i in 0..n as usize {
            let asked = if holder == "t0" { 0.0 } else { start[i] };
            assert!(unpaid[i] == 0.0 || unpaid[i] == 1.0, "unredeemed_{holder}");
            // Censoring: a holder not paid by the horizon waited until the horizon.
            if unpaid[i] == 1.0 {
                assert_close(wait[i], horizon - asked, 1e-12, "censored wait");
            }
            assert!(
                wait[i] <= horizon - asked + 1e-9,
                "{holder}: wait past the horizon"
            );
            // The back of the queue waits at least as long as any holder (up to the step
            // within which peak_queue_days is timed approximately).
            assert!(
                wait[i] <= peak_days[i] + 1.0,
                "path {i}: {holder} waits {} > peak_queue_days {}",
                wait[i],
                peak_days[i]
            );
        }
    }
    for name in ["unfilled_share", "requested_share"] {
        assert!(
            t.floats(name).iter().all(|v| (0.0..=1.0).contains(v)),
            "{name} is a share"
        );
    }
    // The bridge-x bug on day 10 starts a run: most paths' stress starts right after it,
    // and queued holders wait.
    assert!(num(&s["metrics"]["redeem_days_stress"]["mean"]) > 1.0);
    assert!(num(&s["metrics"]["peak_queue_days"]["min"]) > 7.0);

    // redemption_wait.csv: the layout, and the counts of paths.csv's waits.
    let wait_text = fx.read("res/redemption_wait.csv");
    let counts = check_redemption_wait(&wait_text, n, 120);
    for (holder, c) in &counts {
        let expected = wait_counts(
            &t.floats(&format!("redeem_days_{holder}")),
            &t.floats(&format!("unredeemed_{holder}")),
            120,
        );
        assert_eq!(*c, expected, "{holder}: counts vs paths.csv");
        // The unpaid row's share is the mean of unredeemed_*.
        assert_eq!(
            c[c.len() - 1] as f64 / n as f64,
            num(&s["metrics"][format!("unredeemed_{holder}")]["mean"]),
            "{holder}: unpaid share"
        );
    }

    // The table shows the redemption headline.
    assert_eq!(table_rows(&r.stdout), REDEMPTION_HEADLINE, "{}", r.stdout);
}

#[test]
fn holders_not_paid_by_the_horizon_are_censored() {
    // A 20 M ETH rush on day 10 keeps the network exit queue beyond the horizon: stressed
    // holders who miss the instant path are mostly still waiting at day 120.
    let fx = Fixture::new();
    let n = 1_000;
    fx.run([
        "run",
        &arg(&repo_scenario("bank-run.toml")),
        "--set",
        &paths_set(n),
        "--set",
        "withdrawals.network.rushes.sector-exit.size_eth=20000000",
        "--paths-csv",
        "-q",
        "-o",
        "res",
    ])
    .ok();
    let t = fx.read_csv("res/paths.csv");
    let s = fx.read_json("res/summary.json");
    let wait = t.floats("redeem_days_stress");
    let unpaid = t.floats("unredeemed_stress");
    let start = t.floats("stress_start_days");
    let censored = unpaid.iter().filter(|&&u| u == 1.0).count();
    assert!(censored > n as usize / 10, "{censored} censored paths");
    // A censored stress holder asked within the day after the stress started (the default
    // `stress_window_days`) and waited until the horizon.
    for i in 0..n as usize {
        if unpaid[i] == 1.0 {
            let (low, high) = (120.0 - start[i] - 1.0, 120.0 - start[i]);
            assert!(
                wait[i] >= low - 1e-9 && wait[i] <= high + 1e-9,
                "censored wait {} outside [{low}, {high}]",
                wait[i]
            );
        }
    }
    let m = &s["metrics"]["unredeemed_stress"];
    assert_eq!(num(&m["mean"]), censored as f64 / n as f64);
    assert_eq!(num(&m["prob_loss"]), num(&m["mean"]));
    let counts = check_redemption_wait(&fx.read("res/redemption_wait.csv"), n, 120);
    let (holder, c) = &counts[1];
    assert_eq!(holder, "stress");
    assert_eq!(c[c.len() - 1], censored as u64, "the unpaid row");
}

#[test]
fn summary_csv_of_a_scenario_with_withdrawals_has_the_redemption_headline() {
    let fx = Fixture::new();
    for (i, buffer) in ["5000", "50000"].iter().enumerate() {
        fx.run([
            "run",
            &arg(&repo_scenario("bank-run.toml")),
            "--set",
            &paths_set(1_000),
            "--set",
            &format!("withdrawals.buffer.initial_eth={buffer}"),
            "--summary-csv",
            "sweep.csv",
            "-q",
            "-o",
            &format!("runs/{i}"),
        ])
        .ok();
    }
    let t = fx.read_csv("sweep.csv");
    let mut expected = [
        "scenario",
        "scenario_hash",
        "seed",
        "paths",
        "simulation.paths",
        "withdrawals.buffer.initial_eth",
    ]
    .map(String::from)
    .to_vec();
    for metric in REDEMPTION_HEADLINE {
        for c in ["mean", "mean_lo", "mean_hi", "prob_loss"] {
            expected.push(format!("{metric}.{c}"));
        }
        for l in CSV_LEVELS {
            for c in ["var", "var_lo", "var_hi", "es", "es_lo", "es_hi"] {
                expected.push(format!("{metric}.{c}_{l}"));
            }
        }
    }
    assert_eq!(t.header, expected);
    assert_eq!(t.rows.len(), 2);
    for (i, buffer) in ["5000", "50000"].iter().enumerate() {
        let row = &t.rows[i];
        let s = fx.read_json(format!("runs/{i}/summary.json"));
        assert_eq!(row[t.col("scenario")], "bank-run");
        assert_eq!(row[t.col("withdrawals.buffer.initial_eth")], *buffer);
        for metric in REDEMPTION_HEADLINE {
            let m = &s["metrics"][metric];
            assert_eq!(
                parse_f64(&row[t.col(&format!("{metric}.mean"))]),
                num(&m["mean"]),
                "run {i}: {metric}.mean"
            );
            for l in CSV_LEVELS {
                assert_eq!(
                    parse_f64(&row[t.col(&format!("{metric}.var_{l}"))]),
                    num(&m["var"][l]),
                    "run {i}: {metric}.var_{l}"
                );
                assert_eq!(
                    parse_f64(&row[t.col(&format!("{metric}.es_{l}"))]),
                    num(&m["es"][l]),
                    "run {i}: {metric}.es_{l}"
                );
            }
        }
    }
}

#[test]
fn scenarios_with_and_without_withdrawals_cannot_share_a_summary_csv() {
    let fx = Fixture::new();
    let bank_run = arg(&repo_scenario("bank-run.toml"));
    let baseline = arg(&repo_scenario("baseline.toml"));
    for pair in [[&bank_run, &baseline], [&baseline, &bank_run]] {
        let r = assert_rejected(
            &fx,
            &run_writing_everything(
                &[pair[0].clone(), pair[1].clone()],
                &["--set", &paths_set(300)],
            ),
            &[
                "bank-run.toml",
                "baseline.toml",
                "cannot share one --summary-csv",
                "[withdrawals]",
            ],
        );
        assert!(!r.stderr.contains("paths in"), "nothing ran: {}", r.stderr);
    }
    // The same with the summary CSV on stdout.
    assert_rejected(
        &fx,
        &[
            "run",
            &bank_run,
            &baseline,
            "--set",
            &paths_set(300),
            "--summary-csv",
            "-",
        ]
        .map(String::from),
        &[
            "bank-run.toml",
            "baseline.toml",
            "cannot share one --summary-csv",
        ],
    );
}

#[test]
fn batch_mixing_withdrawals_writes_redemption_wait_csv_only_where_there_are_withdrawals() {
    let fx = Fixture::new();
    let r = fx.run([
        "run",
        &arg(&repo_scenario("bank-run.toml")),
        &arg(&test_scenario("small.toml")),
        "--set",
        &paths_set(500),
        "-q",
        "-o",
        "res",
    ]);
    r.ok();
    assert_eq!(
        files_in(&fx, "res/bank-run"),
        [
            "contributions.csv",
            "exceedance.csv",
            "exit_queue_paths.csv",
            "loss_distribution.csv",
            "manifest.json",
            "queue_paths.csv",
            "redemption_wait.csv",
            "scenario.resolved.toml",
            "summary.json",
            "tail_metrics.csv"
        ]
    );
    assert_eq!(files_in(&fx, "res/small"), REPORT_FILES);
    let tables: Vec<&str> = r.stdout.split("\n\n").filter(|b| !b.is_empty()).collect();
    assert_eq!(tables.len(), 2, "{}", r.stdout);
    assert!(
        tables[0].starts_with("scenario: bank-run "),
        "{}",
        tables[0]
    );
    assert_eq!(table_rows(tables[0]), REDEMPTION_HEADLINE);
    assert!(
        tables[1].trim_start().starts_with("scenario: small "),
        "{}",
        tables[1]
    );
    assert_eq!(table_rows(tables[1]), ["slashed_fraction", "nav_loss"]);
    let small = fx.read_json("res/small/summary.json");
    for name in REDEMPTION_METRICS {
        assert!(small["metrics"].get(name).is_none(), "small has no {name}");
    }
}

#[test]
fn bank_run_outputs_are_byte_identical_for_1_and_2_threads() {
    let fx = Fixture::new();
    let mut stdout = Vec::new();
    for threads in ["1", "2"] {
        // 5,000 paths: five chunks of 1,024, so two threads share the work.
        let r = fx.run([
            "run",
            &arg(&repo_scenario("bank-run.toml")),
            "--set",
            &paths_set(5_000),
            "--threads",
            threads,
            "--paths-csv",
            "--format",
            "json",
            "-q",
            "-o",
            &format!("t{threads}"),
        ]);
        r.ok();
        stdout.push(r.stdout);
    }
    for file in [
        "summary.json",
        "tail_metrics.csv",
        "exceedance.csv",
        "contributions.csv",
        "redemption_wait.csv",
        "queue_paths.csv",
        "exit_queue_paths.csv",
        "loss_distribution.csv",
        "paths.csv",
        "scenario.resolved.toml",
    ] {
        assert!(
            fx.read_bytes(format!("t1/{file}")) == fx.read_bytes(format!("t2/{file}")),
            "{file} differs between 1 and 2 threads"
        );
    }
    assert_eq!(stdout[0], stdout[1], "stdout differs");
    let waits = fx.read_csv("t1/paths.csv").floats("redeem_days_stress");
    assert!(
        waits.iter().any(|&w| w > 0.0),
        "a run where nobody waits proves nothing"
    );
}

#[test]
fn validate_accepts_the_withdrawal_scenarios() {
    let fx = Fixture::new();
    let files = [
        arg(&repo_scenario("bank-run.toml")),
        arg(&repo_scenario("exit-queue-2025.toml")),
    ];
    let r = fx.run(["validate", &files[0], &files[1]]);
    r.ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    for (line, (file, name)) in lines
        .iter()
        .zip(files.iter().zip(["bank-run", "exit-queue-2025"]))
    {
        assert!(line.starts_with(&format!("{file}: ok ({name}: ")), "{line}");
    }
    assert!(fx.listing().is_empty(), "validate writes nothing");
}

#[test]
fn every_shipped_scenario_validates() {
    let fx = Fixture::new();
    let mut files = Vec::new();
    for dir in ["scenarios", "scenarios/validation"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut in_dir: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| arg(&p))
            .collect();
        in_dir.sort();
        files.extend(in_dir);
    }
    for required in [
        "scenarios/baseline.toml",
        "scenarios/bank-run.toml",
        "scenarios/exit-queue-2025.toml",
        "scenarios/validation/zero-risk.toml",
    ] {
        assert!(
            files.iter().any(|f| f.ends_with(required)),
            "{required} not found among {files:?}"
        );
    }
    let mut args = vec!["validate".to_string()];
    args.extend(files.iter().cloned());
    let r = fx.run(&args);
    r.ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), files.len(), "{}", r.stdout);
    for (line, file) in lines.iter().zip(&files) {
        assert!(line.starts_with(&format!("{file}: ok (")), "{line}");
    }
}

/// The market metrics of a scenario with `[market]` and thresholds `bps`, in report order.
fn market_metrics(bps: &[u32]) -> Vec<String> {
    let mut m: Vec<String> = [
        "max_discount",
        "end_discount",
        "forced_sale_loss",
        "forced_sale_discount",
        "horizon_sale_loss",
        "sold_share",
        "panic_sold_share",
        "arb_bought_share",
        "liquidity_lost_share",
    ]
    .map(String::from)
    .to_vec();
    m.extend(bps.iter().map(|b| format!("days_discount_over_{b}bps")));
    m.extend(bps.iter().map(|b| format!("depeg_over_{b}bps")));
    m.extend(["market_substeps", "market_unresolved_substeps"].map(String::from));
    m
}

#[test]
fn ezeth_preset_reports_market_metrics_and_price_bands() {
    let fx = Fixture::new();
    let n = 2_000u64;
    let r = fx.run([
        "run",
        &arg(&repo_scenario("ezeth-2024.toml")),
        "--set",
        &paths_set(n),
        "--paths-csv",
        "-o",
        "res",
    ]);
    r.ok();
    assert_eq!(
        files_in(&fx, "res"),
        [
            "contributions.csv",
            "exceedance.csv",
            "loss_distribution.csv",
            "manifest.json",
            "paths.csv",
            "price_paths.csv",
            "scenario.resolved.toml",
            "summary.json",
            "tail_metrics.csv"
        ]
    );
    // The market metrics follow the seven loss metrics (no [withdrawals] here).
    let s = fx.read_json("res/summary.json");
    let market = market_metrics(&[100, 500, 2000]);
    let text = fx.read("res/summary.json");
    let mut expected: Vec<String> = BASELINE_METRICS[..7]
        .iter()
        .map(|m| m.to_string())
        .collect();
    expected.extend(market.iter().cloned());
    expected.push("slashed_eth.source.avs_faults".into());
    assert_eq!(metric_order_in_text(&text, &expected), expected);
    check_tail_metrics(&fx.read_csv("res/tail_metrics.csv"), &s, &expected);
    // The headline table adds the deepest discount and the forced seller's loss.
    assert_eq!(
        table_rows(&r.stdout),
        [
            "slashed_fraction",
            "nav_loss",
            "max_discount",
            "forced_sale_loss"
        ],
        "{}",
        r.stdout
    );

    // price_paths.csv: one row per hourly step (72 ≤ 1000 points), percentiles in order.
    let bands = fx.read_csv("res/price_paths.csv");
    assert_eq!(
        bands.header,
        [
            "step",
            "day",
            "paths",
            "p01",
            "p05",
            "p25",
            "p50",
            "p75",
            "p95",
            "p99",
            "discount_over_100bps_share",
            "discount_over_500bps_share",
            "discount_over_2000bps_share"
        ]
    );
    assert_eq!(bands.rows.len(), 72);
    let hour = 1.0 / 24.0;
    for (i, row) in bands.rows.iter().enumerate() {
        assert_eq!(row[bands.col("step")], (i + 1).to_string());
        assert_close(
            parse_f64(&row[bands.col("day")]),
            (i + 1) as f64 * hour,
            1e-12,
            "day",
        );
        assert_eq!(row[bands.col("paths")], n.to_string());
        let q: Vec<f64> = row[3..10].iter().map(|v| parse_f64(v)).collect();
        assert!(
            q.windows(2).all(|w| w[0] <= w[1]),
            "percentiles in order: {q:?}"
        );
    }
    // Time above a threshold per path (paths.csv, in continuous time) against the share of
    // paths above it at each step's end (price_paths.csv) times the step: a Riemann sum of
    // the same time, off by at most a step at each of a path's crossings (one down, one back
    // up here).
    let t = fx.read_csv("res/paths.csv");
    for b in [100, 500, 2000] {
        let per_path: f64 = t.floats(&format!("days_discount_over_{b}bps")).iter().sum();
        let per_step: f64 = bands
            .floats(&format!("discount_over_{b}bps_share"))
            .iter()
            .map(|s| s * n as f64 * hour)
            .sum();
        assert!(per_path > 0.0);
        assert!(
            (per_step - per_path).abs() <= 2.0 * n as f64 * hour,
            "time above {b} bp: {per_step} vs {per_path}"
        );
    }
    // The dump takes the thin pool far below NAV, and the peg is back by the horizon.
    let low = t.floats("max_discount");
    assert!(low.iter().all(|&d| d > 0.5), "the flash crash");
    assert!(t.floats("end_discount").iter().all(|&d| d.abs() < 1e-3));
}

#[test]
fn scenarios_with_and_without_a_market_cannot_share_a_summary_csv() {
    let fx = Fixture::new();
    assert_rejected(
        &fx,
        &[
            "run",
            &arg(&repo_scenario("ezeth-2024.toml")),
            &arg(&repo_scenario("baseline.toml")),
            "--set",
            &paths_set(300),
            "--summary-csv",
            "-",
        ]
        .map(String::from),
        &[
            "ezeth-2024.toml",
            "baseline.toml",
            "cannot share one --summary-csv",
            "[market]",
        ],
    );
}

#[test]
fn leverage_loop_reports_lending_and_reserve_metrics() {
    let fx = Fixture::new();
    let r = fx.run([
        "run",
        &arg(&repo_scenario("leverage-loop.toml")),
        "--set",
        &paths_set(300),
        "--paths-csv",
        "-q",
        "-o",
        "res",
    ]);
    r.ok();
    // The stdout table follows the scenario's sections: slashing, redemptions, market, lending.
    assert_eq!(
        table_rows(&r.stdout),
        [
            "slashed_fraction",
            "nav_loss",
            "redeem_days_t0",
            "redeem_days_stress",
            "peak_queue_days",
            "max_discount",
            "forced_sale_loss",
            "liquidated_share",
            "bad_debt_share",
            "looper_equity_loss"
        ],
        "{}",
        r.stdout
    );
    // After the redemption and market metrics: the lending block, then exploits and reserves.
    let s = fx.read_json("res/summary.json");
    let text = fx.read("res/summary.json");
    let expected: Vec<String> = [
        "liquidated_share",
        "cascade_depth",
        "bad_debt_eth",
        "bad_debt_share",
        "looper_equity_loss",
        "peak_borrow_rate",
        "unwound_share",
        "exploit_loss_eth",
        "stolen_eth",
        "minted_share",
        "restituted_eth",
        "reserve_paid_eth",
        "reserve_end_eth",
        "reserve_exhausted",
    ]
    .map(String::from)
    .to_vec();
    assert_eq!(metric_order_in_text(&text, &expected), expected);
    let keys: Vec<String> = s["metrics"]
        .as_object()
        .expect("metrics object")
        .keys()
        .cloned()
        .collect();
    let all = metric_order_in_text(&text, &keys);
    let at = all
        .iter()
        .position(|m| m == "market_unresolved_substeps")
        .unwrap();
    assert_eq!(all[at + 1..at + 1 + expected.len()], expected[..]);
    check_tail_metrics(&fx.read_csv("res/tail_metrics.csv"), &s, &all);
    // The 3,000 ETH insurance fund pays on every path (the slashing is scheduled), so the
    // probability it is exhausted is the mean of the indicator.
    let t = fx.read_csv("res/paths.csv");
    let exhausted = t.floats("reserve_exhausted");
    let m = &s["metrics"]["reserve_exhausted"];
    assert_close(
        num(&m["mean"]),
        exhausted.iter().sum::<f64>() / exhausted.len() as f64,
        1e-12,
        "P(reserve exhausted)",
    );
    assert!(
        t.floats("reserve_paid_eth")
            .iter()
            .all(|&p| p > 0.0 && p <= 5000.0)
    );
}

// ---------------------------------------------------------------------------------------------
// Importance sampling and bounded memory (issue 7).

/// Runs `scenario` with `args` into `out` on `threads` threads.
fn run_into(fx: &Fixture, scenario: &str, args: &[&str], threads: &str, out: &str) -> Run {
    let scenario = arg(&repo_scenario(scenario));
    let mut all = vec![
        "run",
        scenario.as_str(),
        "--threads",
        threads,
        "-q",
        "-o",
        out,
    ];
    all.extend_from_slice(args);
    let r = fx.run(all);
    r.ok();
    r
}

#[test]
fn importance_sampled_runs_report_weights_and_do_not_depend_on_threads() {
    let fx = Fixture::new();
    let args = [
        "--set",
        "simulation.paths=3000",
        "--set",
        "importance.pilot_paths=2000",
        "--paths-csv",
    ];
    let r1 = run_into(&fx, "rare-tail.toml", &args, "1", "t1");
    let r2 = run_into(&fx, "rare-tail.toml", &args, "2", "t2");
    // manifest.json names the run (its id differs); the files it lists are compared.
    for file in DATA_FILES.iter().chain(&["paths.csv"]) {
        assert!(
            fx.read_bytes(format!("t1/{file}")) == fx.read_bytes(format!("t2/{file}")),
            "{file} differs between 1 and 2 threads"
        );
    }
    assert_eq!(r1.stdout, r2.stdout);
    assert!(
        r1.stdout.contains("importance sampling: ESS"),
        "{}",
        r1.stdout
    );
    let s = fx.read_json("t1/summary.json");
    let imp = &s["importance"];
    assert!(
        imp["method"]
            .as_str()
            .unwrap()
            .starts_with("auto (cross-entropy"),
        "{imp}"
    );
    let tilts = imp["tilts"].as_array().unwrap();
    assert!(
        tilts
            .iter()
            .any(|t| t["source"] == "shared-dependency" && num(&t["value"]) > 100.0),
        "{imp}"
    );
    // The weights are in paths.csv; the summary's mean is their weighted mean,
    // self-normalized (Σ w·L / Σ w).
    let paths = fx.read_csv("t1/paths.csv");
    let w = paths.floats("weight");
    let loss = paths.floats("slashed_fraction");
    let n = w.len() as f64;
    let weighted: f64 =
        w.iter().zip(&loss).map(|(w, l)| w * l).sum::<f64>() / w.iter().sum::<f64>();
    assert_close(
        weighted,
        num(&s["metrics"]["slashed_fraction"]["mean"]),
        1e-9,
        "weighted mean",
    );
    let mean_w = w.iter().sum::<f64>() / n;
    assert_close(mean_w, num(&imp["mean_weight"]), 1e-9, "mean weight");
    let ess = w.iter().sum::<f64>().powi(2) / w.iter().map(|w| w * w).sum::<f64>();
    assert_close(ess, num(&imp["effective_sample_size"]), 1e-6, "ESS");
    // The once-in-1000-years shock strikes on most tilted paths; weighted, its probability
    // is back near 1 − e^(−0.001).
    let source = "slashed_eth.source.shared-dependency";
    let hit = paths.floats(source).iter().filter(|&&l| l > 0.0).count() as f64 / n;
    let p = num(&s["metrics"][source]["prob_loss"]);
    assert!(
        hit > 0.3 && p < 0.01,
        "share hit {hit}, weighted probability {p}"
    );
    // Without [importance] there is no block and no weight column.
    run_into(
        &fx,
        "baseline.toml",
        &["--set", "simulation.paths=1000", "--paths-csv"],
        "2",
        "b",
    );
    assert!(fx.read_json("b/summary.json").get("importance").is_none());
    assert!(
        !fx.read("b/paths.csv")
            .lines()
            .next()
            .unwrap()
            .contains("weight")
    );
}

#[test]
fn a_small_tail_memory_reads_low_levels_from_the_histogram_and_keeps_high_ones_exact() {
    let fx = Fixture::new();
    let paths = ["--set", "simulation.paths=60000"];
    run_into(&fx, "bench-slashing.toml", &paths, "2", "all");
    let small = [paths[0], paths[1], "--tail-memory-mb", "31"];
    run_into(&fx, "bench-slashing.toml", &small, "1", "small1");
    run_into(&fx, "bench-slashing.toml", &small, "2", "small2");
    for file in DATA_FILES {
        assert!(
            fx.read_bytes(format!("small1/{file}")) == fx.read_bytes(format!("small2/{file}")),
            "{file} differs between 1 and 2 threads with a bounded tail"
        );
    }
    let (all, small) = (
        fx.read_json("all/summary.json"),
        fx.read_json("small1/summary.json"),
    );
    let m = |s: &Value, k: &str, l: &str| num(&s["metrics"]["slashed_fraction"][k][l]);
    let exact = |s: &Value, l: &str| {
        s["metrics"]["slashed_fraction"]["exact"][l]
            .as_bool()
            .unwrap()
    };
    for l in LEVELS {
        assert!(exact(&all, l), "keep-all: {l} is exact");
    }
    let mut approximate = 0;
    for l in LEVELS {
        if exact(&small, l) {
            for k in ["var", "es"] {
                assert_eq!(
                    m(&small, k, l),
                    m(&all, k, l),
                    "{k} {l}: exact levels agree"
                );
            }
        } else {
            approximate += 1;
            // Within a bucket (2^-7 relative) of the exact value; the interval covers it.
            let (var, exact_var) = (m(&small, "var", l), m(&all, "var", l));
            assert!(
                (var - exact_var).abs() <= exact_var.abs() / 128.0,
                "VaR {l}: {var} vs {exact_var}"
            );
            let ci = &small["metrics"]["slashed_fraction"]["var_ci"][l];
            assert!(
                num(&ci[0]) <= exact_var && exact_var <= num(&ci[1]),
                "VaR {l}: {ci}"
            );
            let (es, exact_es) = (m(&small, "es", l), m(&all, "es", l));
            assert!(
                (es - exact_es).abs() <= exact_es.abs() / 128.0,
                "ES {l}: {es} vs {exact_es}"
            );
        }
    }
    assert!(exact(&small, "0.999") && exact(&small, "0.99"));
    assert!(
        approximate >= 1,
        "the budget leaves the 0.9 tail to the histogram"
    );
    // The moments do not depend on the budget.
    let sf = |s: &Value, k: &str| num(&s["metrics"]["slashed_fraction"][k]);
    for k in ["mean", "std_error", "prob_loss", "min", "max"] {
        assert_eq!(sf(&small, k), sf(&all, k), "{k}");
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 16: every run records its resolution and warns when it could not reach its tolerance.

#[test]
fn runs_and_sweeps_warn_when_the_market_cannot_reach_its_tolerance() {
    // A tolerance of 2e-6 of NAV per sub-step is beyond the shortest sub-step (1e-6 day) in
    // ezeth-2024's hour-long dump: every path has unresolved sub-steps, and `run` and `sweep`
    // say so on stderr (exit 0: the results are written, with the counts in summary.json).
    let fx = Fixture::new();
    let scenario = arg(&repo_scenario("ezeth-2024.toml"));
    let tight = "simulation.max_price_move_per_substep=2e-6";
    let r = fx.run([
        "run",
        &scenario,
        "--set",
        tight,
        "--set",
        "simulation.paths=2",
        "-q",
        "-o",
        "res",
    ]);
    r.ok();
    assert!(r.stderr.contains("shortest sub-step"), "{}", r.stderr);
    let s = fx.read_json("res/summary.json");
    assert!(num(&s["metrics"]["market_unresolved_substeps"]["mean"]) > 0.0);
    let r = fx.run([
        "sweep",
        &scenario,
        "--grid",
        "simulation.max_price_move_per_substep=2e-6,3e-3",
        "--set",
        "simulation.paths=2",
        "-q",
        "-o",
        "sw",
    ]);
    r.ok();
    assert_eq!(
        r.stderr.matches("shortest sub-step").count(),
        1,
        "{}",
        r.stderr
    );
    // At the default tolerance nothing is said.
    let r = fx.run([
        "run",
        &scenario,
        "--set",
        "simulation.paths=2",
        "-q",
        "-o",
        "calm",
    ]);
    r.ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// Issue 17: output that cannot be written, empty output directories, sweep caps.

/// A command whose stdout (or stderr) is a full device: `/dev/full`, where every write fails
/// with ENOSPC. Skipped where there is no such device.
fn full_device() -> Option<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .ok()
}

/// The binary as a plain `std::process::Command` (its streams can be redirected) in the
/// fixture's directory.
fn raw(fx: &Fixture) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lrtsim"));
    cmd.current_dir(fx.root()).env_remove("RUST_BACKTRACE");
    cmd
}

#[test]
fn stdout_that_cannot_be_written_is_an_error_not_a_panic() {
    let fx = Fixture::new();
    let Some(full) = full_device() else {
        eprintln!("skipped: no /dev/full");
        return;
    };
    let small = arg(&test_scenario("small.toml"));
    let o = raw(&fx)
        .args(["validate", &small])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: writing to stdout"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // So for run's table and JSON.
    for format in ["table", "json"] {
        let o = raw(&fx)
            .args(["run", &small, "-q", "--format", format, "--out", "o"])
            .args(["--set", &paths_set(50)])
            .stdout(full_device().unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{format}: {stderr}");
        assert!(stderr.contains("writing to stdout"), "{format}: {stderr}");
    }
    // A full stderr leaves the exit status to tell.
    let bad = arg(&test_scenario("bad-probability.toml"));
    let o = raw(&fx)
        .args(["validate", &bad])
        .stderr(full_device().unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_reader_that_goes_away_stops_the_output_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    let bad = arg(&test_scenario("bad-probability.toml"));
    // Many lines on stdout and on stderr into pipes closed at once (`| head -0`): every
    // write fails with EPIPE. Several times, since the race decides which write sees it.
    let mut args = vec!["validate".to_string()];
    for _ in 0..200 {
        args.push(small.clone());
        args.push(bad.clone());
    }
    for _ in 0..5 {
        let mut child = raw(&fx)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(2), "{status}");
    }
    // Reading only the first lines of stdout: the rest is dropped without a word.
    let mut child = raw(&fx)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(2));
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

#[test]
fn an_empty_output_directory_is_refused() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    for args in [
        vec!["run", &small, "--out", ""],
        vec!["run", &small, "-o", " "],
        vec!["sweep", &small, "--seeds", "2", "--out", ""],
        vec!["replay", &small, "--path", "0", "--out", ""],
        vec!["merge", "parts", "--out", ""],
    ] {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let r = fx.run(&args);
        r.expect_code(2)
            .stderr_has(&["an empty directory name; give a directory (`.` for the current one)"]);
        assert!(fx.listing().is_empty(), "{args:?} wrote {:?}", fx.listing());
    }
}

#[test]
fn sweeps_beyond_their_cap_say_so() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    let r = fx.run([
        "sweep",
        &small,
        "--grid",
        "shocks.0.rate_per_year=log:0.01:0.1:1000000000",
    ]);
    r.expect_code(2)
        .stderr_has(&["1000000000 values are too many: a sweep has at most 10000 points"]);
    let r = fx.run([
        "sweep",
        &small,
        "--grid",
        "shocks.0.rate_per_year=0.01,0.02,0.03,0.04,0.05,0.06,0.07,0.08,0.09,0.1",
        "--grid",
        "shocks.0.severity=0:0.99:0.0001",
    ]);
    r.expect_code(2)
        .stderr_has(&["the sweep has 10 × 9901 points, more than the 10000"]);
    let r = fx.run([
        "sweep",
        &small,
        "--seeds",
        "3",
        "--set",
        "simulation.seed=9223372036854775807",
    ]);
    r.expect_code(2).stderr_has(&[
        "--seeds 3: the seeds would run from 9223372036854775807 to 9223372036854775809, past the largest seed",
    ]);
    assert!(fx.listing().is_empty(), "{:?}", fx.listing());
}

// ---------------------------------------------------------------------------------------------
// Output-set and summary-CSV contracts (issue 17, items 6, 7, 13, 15).

/// FNV-1a 64 of `bytes` as manifest.json writes it.
fn fnv1a64(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Checks that `dir`'s manifest names the run and every file of `files` with its checksum.
fn check_manifest(fx: &Fixture, dir: &str, seed: u64, paths: u64, files: &[&str]) {
    let m = fx.read_json(format!("{dir}/manifest.json"));
    assert_eq!(m["seed"].as_u64(), Some(seed), "{m}");
    assert_eq!(m["paths"].as_u64(), Some(paths), "{m}");
    let summary = fx.read_json(format!("{dir}/summary.json"));
    assert_eq!(m["scenario_hash"], summary["scenario_hash"]);
    assert!(!m["run_id"].as_str().unwrap().is_empty());
    let listed: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, files, "{m}");
    for f in m["files"].as_array().unwrap() {
        let bytes = fx.read_bytes(format!("{dir}/{}", f["name"].as_str().unwrap()));
        assert_eq!(f["bytes"].as_u64(), Some(bytes.len() as u64), "{f}");
        assert_eq!(f["fnv1a64"].as_str(), Some(fnv1a64(&bytes).as_str()), "{f}");
    }
}

/// The files whose name marks a temporary or a lock, anywhere under the fixture.
fn leftovers(fx: &Fixture) -> Vec<String> {
    fx.listing()
        .into_iter()
        .filter(|p| p.contains(".tmp-") || p.ends_with(".lock"))
        .collect()
}

#[test]
fn a_run_writes_its_manifest_last_and_keeps_what_else_is_in_the_directory() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    std::fs::create_dir_all(fx.path("res/replay")).unwrap();
    std::fs::write(fx.path("res/notes.txt"), "mine").unwrap();
    std::fs::write(fx.path("res/replay/x.txt"), "mine").unwrap();
    fx.run([
        "run",
        &small,
        "--set",
        &paths_set(700),
        "--paths-csv",
        "-q",
        "-o",
        "res",
    ])
    .ok();
    check_manifest(
        &fx,
        "res",
        11,
        700,
        &[
            "scenario.resolved.toml",
            "summary.json",
            "tail_metrics.csv",
            "exceedance.csv",
            "contributions.csv",
            "loss_distribution.csv",
            "paths.csv",
        ],
    );
    // A later run without --paths-csv: paths.csv stays, but the manifest no longer vouches
    // for it; the user's files are untouched.
    fx.run(["run", &small, "--set", &paths_set(600), "-q", "-o", "res"])
        .ok();
    check_manifest(
        &fx,
        "res",
        11,
        600,
        &[
            "scenario.resolved.toml",
            "summary.json",
            "tail_metrics.csv",
            "exceedance.csv",
            "contributions.csv",
            "loss_distribution.csv",
        ],
    );
    assert_eq!(fx.read("res/notes.txt"), "mine");
    assert_eq!(fx.read("res/replay/x.txt"), "mine");
    assert!(fx.path("res/paths.csv").exists());
    assert!(leftovers(&fx).is_empty(), "{:?}", leftovers(&fx));
}

/// Spawns `lrtsim` with `args` in the fixture's directory, stderr piped.
fn spawn(fx: &Fixture, args: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_lrtsim"))
        .args(args)
        .current_dir(fx.root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting lrtsim")
}

/// Reads `child`'s stderr until a line contains `needle` (panics if it ends first); the rest
/// of stderr is drained in the background.
fn wait_for_stderr(child: &mut std::process::Child, needle: &str) -> String {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("stderr ended before {needle:?}:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains(needle) {
            std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
            return line;
        }
    }
}

#[test]
fn a_second_run_into_a_locked_directory_exits_2_and_the_first_set_is_complete() {
    let fx = Fixture::new();
    let baseline = arg(&repo_scenario("baseline.toml"));
    // Long enough to still be running when the second starts; its log line gives the
    // estimate (stderr is not a terminal).
    let mut first = spawn(
        &fx,
        &[
            "run",
            &baseline,
            "--set",
            "simulation.paths=3000000",
            "--set",
            "simulation.seed=7",
            "-o",
            "shared",
        ],
    );
    let estimate = wait_for_stderr(&mut first, "paths/s (measured on the first");
    assert!(
        estimate.contains("baseline: 3000000 paths at") && estimate.contains("in all"),
        "{estimate}"
    );
    let r = fx.run([
        "run",
        &baseline,
        "--set",
        &paths_set(1000),
        "--set",
        "simulation.seed=42",
        "-q",
        "-o",
        "shared",
    ]);
    r.expect_code(2).stderr_has(&[
        &format!("process {}", first.id()),
        "is writing its output set there (lock file shared/.lrtsim.lock)",
        "remove shared/.lrtsim.lock",
    ]);
    assert!(first.wait().unwrap().success());
    check_manifest(
        &fx,
        "shared",
        7,
        3_000_000,
        &[
            "scenario.resolved.toml",
            "summary.json",
            "tail_metrics.csv",
            "exceedance.csv",
            "contributions.csv",
            "loss_distribution.csv",
        ],
    );
    assert_eq!(fx.read_json("shared/summary.json")["seed"], 7);
    assert!(leftovers(&fx).is_empty(), "{:?}", leftovers(&fx));
}

#[cfg(unix)]
#[test]
fn an_interrupted_run_leaves_no_temporaries_no_lock_and_no_manifest() {
    let fx = Fixture::new();
    let baseline = arg(&repo_scenario("baseline.toml"));
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let mut child = spawn(
            &fx,
            &[
                "run",
                &baseline,
                "--set",
                "simulation.paths=50000000",
                "-o",
                "res",
            ],
        );
        wait_for_stderr(&mut child, "paths/s (measured on the first");
        let killed = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{signal}: {status:?}");
        assert!(leftovers(&fx).is_empty(), "{signal}: {:?}", leftovers(&fx));
        assert!(!fx.path("res/manifest.json").exists());
    }
}

#[test]
fn summary_csv_refuses_a_torn_file_before_running() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    let args = |out: &str| {
        [
            "run".to_string(),
            small.clone(),
            "--set".into(),
            paths_set(300),
            "--summary-csv".into(),
            "s.csv".into(),
            "-q".into(),
            "-o".into(),
            out.into(),
        ]
    };
    fx.run(args("a")).ok();
    let complete = fx.read_bytes("s.csv");
    let mut torn = complete.clone();
    torn.extend_from_slice(b"small,fnv1a64:0123,11,30");
    std::fs::write(fx.path("s.csv"), &torn).unwrap();
    let r = fx.run(args("b"));
    r.expect_code(2).stderr_has(&[
        &format!("s.csv: the file is torn: it ends at byte {}", torn.len()),
        &format!("truncate -s {} s.csv", complete.len()),
        "or write to a new file",
    ]);
    assert_eq!(
        fx.read_bytes("s.csv"),
        torn,
        "a torn file is never extended"
    );
    assert!(!fx.path("b").exists(), "refused before simulating");
    // Repaired as the message says, the file takes the next line.
    std::fs::write(fx.path("s.csv"), &complete).unwrap();
    fx.run(args("b")).ok();
    assert_eq!(fx.read("s.csv").lines().count(), 3);
    // Other --set keys: the message says how to proceed.
    let r = fx.run([
        "run",
        &small,
        "--set",
        "simulation.seed=3",
        "--set",
        &paths_set(300),
        "--summary-csv",
        "s.csv",
        "-q",
        "-o",
        "c",
    ]);
    r.expect_code(1).stderr_has(&[
        "header differs",
        "its parameter columns are [simulation.paths], this run's --set keys are [simulation.seed, simulation.paths]",
        "write to a new file",
    ]);
}

/// A summary CSV on a full file system: the append fails (exit 1) and leaves the file as it
/// was. Needs a small tmpfs (root); skipped otherwise.
#[cfg(target_os = "linux")]
#[test]
fn a_failed_summary_csv_append_leaves_the_file_unchanged() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    let mnt = fx.path("full");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("skipped: cannot mount a small tmpfs (needs root) to fill a file system");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let args = [
        "run",
        &small,
        "--set",
        &paths_set(300),
        "--summary-csv",
        "full/s.csv",
        "-q",
        "-o",
        "a",
    ];
    fx.run(args).ok();
    let before = fx.read_bytes("full/s.csv");
    // Fill the file system.
    {
        use std::io::Write;
        let mut f = std::fs::File::create(mnt.join("filler")).unwrap();
        let block = [0u8; 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let r = fx.run(args);
    r.expect_code(1).stderr_has(&["full/s.csv"]);
    assert_eq!(fx.read_bytes("full/s.csv"), before, "all or nothing");
    let names: Vec<String> = std::fs::read_dir(&mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains(".tmp-")),
        "temporaries left: {names:?}"
    );
}

#[test]
fn paths_csv_refuses_runs_whose_rows_it_cannot_hold() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    let r = fx.run([
        "run",
        &small,
        "--set",
        "simulation.paths=100000000000",
        "--paths-csv",
        "-o",
        "big",
    ]);
    r.expect_code(2).stderr_has(&[
        "small: --paths-csv keeps every path's values in memory",
        "at most 10000000 paths",
    ]);
    assert!(fx.listing().is_empty(), "{:?}", fx.listing());
}

#[test]
fn replay_refuses_a_trace_above_its_row_limit() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    let r = fx.run([
        "replay",
        &small,
        "--path",
        "0",
        "--max-trace-rows",
        "10",
        "-o",
        "rp",
    ]);
    r.expect_code(2).stderr_has(&[
        "trace.csv would have",
        "above the limit of 10 rows (--max-trace-rows)",
        "give --max-trace-rows",
    ]);
    assert!(fx.listing().is_empty(), "{:?}", fx.listing());
    fx.run(["replay", &small, "--path", "0", "-q", "-o", "rp"])
        .ok();
    let m = fx.read_json("rp/manifest.json");
    assert_eq!(m["command"], "replay");
    assert_eq!(m["replayed_path"], 0);
    assert_eq!(m["files"].as_array().unwrap().len(), 4);
    assert!(leftovers(&fx).is_empty(), "{:?}", leftovers(&fx));
}

/// A sector scenario end to end: the per-LRT metrics in tail_metrics.csv, the sector's ES
/// split by LRT in contributions.csv (shares adding up to 1 at every level), paths.csv's LRT
/// columns adding up to the sector's, and the same bytes for 1 and 2 threads.
#[test]
fn a_sector_reports_each_lrt_and_what_each_carries_of_the_sector_tail() {
    let fx = Fixture::new();
    let run = |out: &str, threads: &str| {
        fx.run([
            "run",
            &arg(&repo_scenario("shared-operator.toml")),
            "--set",
            &paths_set(20_000),
            "--paths-csv",
            "-t",
            threads,
            "-o",
            out,
        ])
    };
    let table = run("one", "1");
    table.ok();
    assert!(
        table.stdout.contains("ES 99% of sector_slashed_eth")
            && table.stdout.contains("  lrt ")
            && table.stdout.contains("\nslashed_fraction.lrt.beta ")
            && table.stdout.contains("\njoint_loss_over_500bps "),
        "{}",
        table.stdout
    );
    run("two", "2").ok();
    for f in [
        "summary.json",
        "tail_metrics.csv",
        "contributions.csv",
        "exceedance.csv",
        "loss_distribution.csv",
        "paths.csv",
    ] {
        assert_eq!(
            fx.read_bytes(format!("one/{f}")),
            fx.read_bytes(format!("two/{f}")),
            "{f}"
        );
    }
    let tail = fx.read_csv("one/tail_metrics.csv");
    let metrics: std::collections::BTreeSet<String> =
        tail.rows.iter().map(|r| r[0].clone()).collect();
    for m in [
        "sector_slashed_eth",
        "slashed_eth.lrt.alpha",
        "slashed_eth.lrt.beta",
        "slashed_fraction.lrt.alpha",
        "nav_loss.lrt.beta",
    ] {
        assert!(metrics.contains(m), "{m}: {metrics:?}");
    }
    assert!(!metrics.iter().any(|m| m.starts_with("rewards_eth.lrt.")));
    let contrib = fx.read_csv("one/contributions.csv");
    let (metric, level, share) = (
        contrib.col("metric"),
        contrib.col("level"),
        contrib.col("share"),
    );
    let mut by_level: std::collections::BTreeMap<String, (usize, f64)> = Default::default();
    for r in contrib
        .rows
        .iter()
        .filter(|r| r[metric] == "sector_slashed_eth")
    {
        assert_eq!(r[contrib.col("decomposition")], "lrt");
        let e = by_level.entry(r[level].clone()).or_default();
        e.0 += 1;
        e.1 += r[share].parse::<f64>().unwrap();
    }
    assert!(by_level.len() >= 3, "{by_level:?}");
    for (l, (n, total)) in &by_level {
        assert_eq!(*n, 2, "level {l}: alpha and beta");
        assert!(
            (total - 1.0).abs() < 1e-12,
            "level {l}: shares sum to {total}"
        );
    }
    let paths = fx.read_csv("one/paths.csv");
    let (sector, alpha, beta) = (
        paths.floats("sector_slashed_eth"),
        paths.floats("slashed_eth.lrt.alpha"),
        paths.floats("slashed_eth.lrt.beta"),
    );
    for p in 0..sector.len() {
        assert!((alpha[p] + beta[p] - sector[p]).abs() <= 1e-12 * sector[p].max(1.0));
    }
}

/// A sector with channels (sector-2026: three doors and markets, collateral, one reserve) has
/// them in its headline: after each LRT's slashed fraction and the joint losses, each LRT's
/// NAV loss, then per LRT its requested share and deepest discount, then the sector's outflow,
/// exit-queue peak, bad debt and reserve — in the stdout table and in the summary CSV, with
/// summary.json's means. A sector without channels (shared-operator) keeps the short headline.
#[test]
fn a_sectors_headline_shows_its_channels() {
    let fx = Fixture::new();
    let r = fx.run([
        "run",
        &arg(&repo_scenario("sector-2026.toml")),
        "--set",
        &paths_set(200),
        "--set",
        "simulation.horizon_days=5",
        "--summary-csv",
        "sector.csv",
        "-o",
        "res",
    ]);
    r.ok();
    let expected: Vec<String> = [
        "slashed_fraction",
        "nav_loss",
        "slashed_fraction.lrt.kelp",
        "slashed_fraction.lrt.etherfi",
        "slashed_fraction.lrt.renzo",
        "slashed_fraction.lrt.steth",
        "joint_loss_over_100bps",
        "joint_loss_over_500bps",
        "nav_loss.lrt.kelp",
        "nav_loss.lrt.etherfi",
        "nav_loss.lrt.renzo",
        "nav_loss.lrt.steth",
        "requested_share.lrt.kelp",
        "max_discount.lrt.kelp",
        "requested_share.lrt.etherfi",
        "max_discount.lrt.etherfi",
        "requested_share.lrt.renzo",
        "max_discount.lrt.renzo",
        "requested_share.lrt.steth",
        "max_discount.lrt.steth",
        "sector_outflow_eth",
        "sector_peak_exit_queue_eth",
        "sector_bad_debt_eth",
        "peak_utilization",
        "days_at_full_utilization",
    ]
    .map(String::from)
    .to_vec();
    let table: Vec<String> = r
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("metric "))
        .skip(1)
        .take_while(|l| !l.starts_with("ES "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(table, expected);
    let t = fx.read_csv("sector.csv");
    let s = fx.read_json("res/summary.json");
    let means: Vec<&String> = t.header.iter().filter(|h| h.ends_with(".mean")).collect();
    assert_eq!(
        means,
        expected
            .iter()
            .map(|m| format!("{m}.mean"))
            .collect::<Vec<_>>()
            .iter()
            .collect::<Vec<_>>()
    );
    for m in &expected {
        assert_eq!(
            parse_f64(&t.rows[0][t.col(&format!("{m}.mean"))]),
            num(&s["metrics"][m.as_str()]["mean"]),
            "{m}"
        );
    }
    // kelp's forged mint: its holders lose, and the reserve fills.
    assert!(num(&s["metrics"]["nav_loss.lrt.kelp"]["mean"]) > 0.1);
    assert_eq!(num(&s["metrics"]["peak_utilization"]["mean"]), 1.0);
    // No channels, no channel rows.
    let r = fx.run([
        "run",
        &arg(&repo_scenario("shared-operator.toml")),
        "--set",
        &paths_set(1000),
        "-o",
        "plain",
    ]);
    r.ok();
    assert!(!r.stdout.contains("nav_loss.lrt.") && r.stdout.contains("joint_loss_over_100bps"));
}

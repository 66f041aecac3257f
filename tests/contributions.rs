//! Risk contributions end to end (issue 18): `contributions.csv` adds up to the ES of every
//! decomposition of `slashed_eth` and `nav_loss`, does not depend on the thread count, is
//! empty at levels read from the histogram and the same at exact levels whatever the tail
//! memory; identical operators under a one-factor copula get equal shares within their
//! intervals, an AVS that never loses contributes 0, and importance-sampled and plain runs
//! agree within their intervals. (Merged shards against the whole run: tests/shards.rs.)

#[allow(dead_code)] // each test binary uses part of the shared fixture
mod fixture;

use std::collections::BTreeMap;

use fixture::{Fixture, Table, arg, repo_scenario};

/// One row of `contributions.csv`.
#[derive(Debug, Clone)]
struct Row {
    metric: String,
    level: String,
    decomposition: String,
    component: String,
    es_contribution: f64,
    ci_lo: f64,
    ci_hi: f64,
    es: f64,
    exact: bool,
}

/// The rows of `metric` (`slashed_eth` or `nav_loss`).
fn rows(t: &Table, metric: &str) -> Vec<Row> {
    let f = |r: &[String], c: &str| r[t.col(c)].parse::<f64>().unwrap();
    t.rows
        .iter()
        .filter(|r| r[t.col("metric")] == metric)
        .map(|r| Row {
            metric: metric.to_owned(),
            level: r[t.col("level")].clone(),
            decomposition: r[t.col("decomposition")].clone(),
            component: r[t.col("component")].clone(),
            es_contribution: f(r, "es_contribution"),
            ci_lo: f(r, "ci_lo"),
            ci_hi: f(r, "ci_hi"),
            es: f(r, "es"),
            exact: r[t.col("exact")] == "1",
        })
        .collect()
}

/// The rows grouped by (level, decomposition).
fn blocks(rows: &[Row]) -> BTreeMap<(String, String), Vec<Row>> {
    let mut out: BTreeMap<(String, String), Vec<Row>> = BTreeMap::new();
    for r in rows {
        out.entry((r.level.clone(), r.decomposition.clone()))
            .or_default()
            .push(r.clone());
    }
    out
}

/// The columns of contributions.csv.
const CONTRIBUTIONS_HEADER: [&str; 18] = [
    "metric",
    "level",
    "decomposition",
    "component",
    "es_contribution",
    "share",
    "ci_lo",
    "ci_hi",
    "standalone_es",
    "var_contribution",
    "var_contribution_lo",
    "var_contribution_hi",
    "es",
    "var",
    "diversification_benefit",
    "tail_paths",
    "window_paths",
    "exact",
];

/// Standard error of a contribution, from its 95 % interval.
fn se(r: &Row) -> f64 {
    (r.ci_hi - r.ci_lo) / (2.0 * 1.959_963_984_540_054)
}

#[test]
fn baseline_contributions_add_up_to_es_and_do_not_depend_on_threads() {
    let fx = Fixture::new();
    let base = arg(&repo_scenario("baseline.toml"));
    let mut outs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = format!("t{threads}");
        let r = fx.run([
            "run",
            &base,
            "--set",
            "simulation.paths=6000",
            "--quiet",
            "--threads",
            threads,
            "--out",
            &out,
        ]);
        r.ok();
        assert!(
            r.stdout.contains("ES 99% of slashed_eth")
                && r.stdout.contains("  source ")
                && r.stdout.contains("  attribute.client "),
            "{}",
            r.stdout
        );
        outs.push(out);
    }
    let reference = fx.read_bytes(format!("{}/contributions.csv", outs[0]));
    for o in &outs[1..] {
        assert!(reference == fx.read_bytes(format!("{o}/contributions.csv")));
        assert!(
            fx.read_bytes(format!("{}/summary.json", outs[0]))
                == fx.read_bytes(format!("{o}/summary.json"))
        );
    }
    let table = fx.read_csv("t1/contributions.csv");
    assert_eq!(
        table.header, CONTRIBUTIONS_HEADER,
        "contributions.csv's columns"
    );
    let b = blocks(&rows(&table, "slashed_eth"));
    let decompositions: std::collections::BTreeSet<&str> =
        b.keys().map(|(_, d)| d.as_str()).collect();
    for d in [
        "source",
        "avs",
        "operator",
        "attribute.client",
        "attribute.el_client",
        "attribute.cloud",
        "attribute.region",
        "attribute.key_manager",
    ] {
        assert!(decompositions.contains(d), "{d}: {decompositions:?}");
    }
    let nav = blocks(&rows(&table, "nav_loss"));
    assert!(nav.keys().any(|(_, d)| d == "kind"));
    assert_eq!(
        nav.len(),
        b.len() + 5,
        "nav_loss: by kind and by every slashed decomposition"
    );
    for ((level, d), rs) in b.iter().chain(&nav) {
        let sum: f64 = rs.iter().map(|r| r.es_contribution).sum();
        let es = rs[0].es;
        // To rounding of the terms (nav_loss's rewards offset its losses).
        let scale: f64 = rs
            .iter()
            .map(|r| r.es_contribution.abs())
            .sum::<f64>()
            .max(es.abs());
        assert!(
            (sum - es).abs() <= 1e-12 * scale,
            "{} {level} {d}: {sum} vs ES {es}",
            rs[0].metric
        );
        assert!(rs.iter().all(|r| r.exact && r.ci_lo <= r.es_contribution));
    }
    // A contribution never exceeds the component's own ES (its tail is one of the sets of
    // mass n(1 − α) the standalone ES maximizes over). Every component of `slashed_eth` has
    // one — operators and attribute values from their own tails, kept in the streaming pass —
    // and so every decomposition its diversification benefit.
    let (sa, dec, comp) = (
        table.col("standalone_es"),
        table.col("decomposition"),
        table.col("es_contribution"),
    );
    let div = table.col("diversification_benefit");
    let mut standalone = 0;
    for r in table.rows.iter().filter(|r| r[0] == "slashed_eth") {
        assert!(!r[sa].is_empty() && !r[div].is_empty(), "{r:?}");
        let (own, c): (f64, f64) = (r[sa].parse().unwrap(), r[comp].parse().unwrap());
        assert!(c <= own * (1.0 + 1e-12) + 1e-9, "{r:?}");
        standalone += usize::from(r[dec] == "operator" || r[dec].starts_with("attribute."));
    }
    assert!(standalone > 0);
    // The ES in the rows is the ES of summary.json.
    let summary = fx.read_json("t1/summary.json");
    let es99 = summary["metrics"]["slashed_eth"]["es"]["0.99"]
        .as_f64()
        .unwrap();
    assert_eq!(b[&("0.99".to_string(), "source".to_string())][0].es, es99);
    assert_eq!(
        summary["contributions"].as_array().unwrap().len(),
        b.len() + nav.len()
    );
}

#[test]
fn levels_read_from_the_histogram_get_no_contributions() {
    let fx = Fixture::new();
    // 21 MiB for 21 metrics leaves one exact tail value each: every level from the histograms.
    fx.run([
        "run",
        &arg(&repo_scenario("baseline.toml")),
        "--set",
        "simulation.paths=9000",
        "--tail-memory-mb",
        "21",
        "--quiet",
        "--out",
        "o",
    ])
    .ok();
    let t = fx.read_csv("o/contributions.csv");
    assert!(t.rows.is_empty(), "{:?}", t.rows.first());
    assert!(
        fx.read_json("o/summary.json")
            .get("contributions")
            .is_none()
    );
}

#[test]
fn exact_levels_get_the_same_contributions_whatever_the_tail_memory() {
    let fx = Fixture::new();
    let base = arg(&repo_scenario("baseline.toml"));
    for (mb, out) in [("1024", "full"), ("25", "small")] {
        fx.run([
            "run",
            &base,
            "--set",
            "simulation.paths=20000",
            "--tail-memory-mb",
            mb,
            "--quiet",
            "--out",
            out,
        ])
        .ok();
    }
    // 25 MiB: the metrics' seven eighths, for 21 metrics, keep 1,365 values each (0.9 from
    // the histogram, the levels from 0.95 up exact), the own tails of the operators and
    // attribute values take the last eighth.
    let exact: Vec<String> = fx
        .read_csv("small/tail_metrics.csv")
        .rows
        .iter()
        .filter(|r| r[0] == "slashed_eth" && r[8] == "1")
        .map(|r| r[1].clone())
        .collect();
    assert!(!exact.contains(&"0.9".to_string()) && exact.contains(&"0.99".to_string()));
    let lines = |dir: &str| -> Vec<String> {
        fx.read(format!("{dir}/contributions.csv"))
            .lines()
            .map(String::from)
            .collect()
    };
    let (full, small) = (lines("full"), lines("small"));
    let at_exact = |l: &String| {
        exact
            .iter()
            .any(|e| l.split(',').nth(1) == Some(e.as_str()))
    };
    let kept: Vec<&String> = full.iter().skip(1).filter(|l| at_exact(l)).collect();
    assert!(!kept.is_empty());
    assert_eq!(small.len() - 1, kept.len());
    // The same rows, bit for bit: the same tail paths in the same order, and the same
    // standalone ES (the own tails hold every exact level's tail in both runs).
    for (s, f) in small.iter().skip(1).zip(kept) {
        assert_eq!(s, f);
    }
}

const EXCHANGEABLE: &str = r#"
name = "exchangeable"
[simulation]
paths = 20000
horizon_days = 365
seed = 5
[pool]
collateral_eth = 1000
[[operators]]
name = "a"
share = 0.25
attributes = { client = "p" }
allocations = { x = 0.5, idle = 0.5 }
[[operators]]
name = "b"
share = 0.25
attributes = { client = "p" }
allocations = { x = 0.5, idle = 0.5 }
[[operators]]
name = "c"
share = 0.25
attributes = { client = "q" }
allocations = { x = 0.5, idle = 0.5 }
[[operators]]
name = "d"
share = 0.25
attributes = { client = "q" }
allocations = { x = 0.5, idle = 0.5 }
[[avs]]
name = "x"
[[avs]]
name = "idle"
[[copulas]]
name = "one-factor"
select = { avs = ["x"] }
factor_period_days = 30
fault_prob_per_year = 0.1
global_correlation = 0.3
severity = { dist = "beta", mean = 0.2, sd = 0.1 }
"#;

#[test]
fn identical_operators_get_equal_shares_and_an_idle_avs_contributes_nothing() {
    let fx = Fixture::new();
    let s = fx.write_scenario("ex.toml", EXCHANGEABLE);
    fx.run(["run", &arg(&s), "--quiet", "--out", "o"]).ok();
    let b = blocks(&rows(&fx.read_csv("o/contributions.csv"), "slashed_eth"));
    let mut checked = 0;
    for level in ["0.9", "0.95", "0.99"] {
        let ops = &b[&(level.to_string(), "operator".to_string())];
        assert_eq!(ops.len(), 4);
        let es = ops[0].es;
        assert!(es > 0.0, "level {level}: the tail has losses");
        // By symmetry each operator's true contribution is ES/4 (and each client's ES/2):
        // within 3.5 standard errors (two-sided 5e-4 each).
        for r in ops {
            assert!(
                (r.es_contribution - es / 4.0).abs() <= 3.5 * se(r),
                "{level} {}: {} vs {}",
                r.component,
                r.es_contribution,
                es / 4.0
            );
            checked += 1;
        }
        for r in &b[&(level.to_string(), "attribute.client".to_string())] {
            assert!((r.es_contribution - es / 2.0).abs() <= 3.5 * se(r));
        }
        let avs = &b[&(level.to_string(), "avs".to_string())];
        let idle = avs.iter().find(|r| r.component == "idle").unwrap();
        assert_eq!(
            (idle.es_contribution, idle.ci_lo, idle.ci_hi),
            (0.0, 0.0, 0.0)
        );
        let x = avs.iter().find(|r| r.component == "x").unwrap();
        // The only AVS that loses carries the whole ES (to rounding).
        assert!((x.es_contribution - es).abs() <= 1e-12 * es);
    }
    assert_eq!(checked, 12);
}

const TWO_SOURCES: &str = r#"
name = "two-sources"
[simulation]
paths = 20000
horizon_days = 365
seed = 8
[pool]
collateral_eth = 1000
[[operators]]
name = "a"
share = 0.5
allocations = { x = 0.6, y = 0.3 }
[[operators]]
name = "b"
share = 0.5
allocations = { x = 0.3, y = 0.6 }
[[avs]]
name = "x"
[[avs]]
name = "y"
fault_rate_per_year = 1.0
fault_severity = 0.05
[[shocks]]
name = "bug"
rate_per_year = 0.05
select = { avs = ["x"] }
severity = { dist = "beta", mean = 0.3, sd = 0.1 }
"#;

#[test]
fn importance_sampled_and_plain_contributions_agree_within_their_intervals() {
    let fx = Fixture::new();
    let plain = fx.write_scenario("plain.toml", TWO_SOURCES);
    let tilted = fx.write_scenario(
        "tilted.toml",
        &format!("{TWO_SOURCES}\n[importance]\nrate_multipliers = {{ bug = 4 }}\n"),
    );
    fx.run(["run", &arg(&plain), "--quiet", "--out", "p"]).ok();
    fx.run(["run", &arg(&tilted), "--quiet", "--out", "t"]).ok();
    assert!(fx.read_json("t/summary.json").get("importance").is_some());
    let read = |dir: &str, metric: &str| {
        let mut b = blocks(&rows(
            &fx.read_csv(format!("{dir}/contributions.csv")),
            metric,
        ));
        // One key space: nav_loss's decompositions under their metric's name.
        if metric == "nav_loss" {
            b = b
                .into_iter()
                .map(|((l, d), v)| ((l, format!("nav_loss/{d}")), v))
                .collect();
        }
        b
    };
    let mut p = read("p", "slashed_eth");
    p.extend(read("p", "nav_loss"));
    let mut t = read("t", "slashed_eth");
    t.extend(read("t", "nav_loss"));
    let mut compared = 0;
    for level in ["0.95", "0.99"] {
        for d in ["source", "avs", "operator", "nav_loss/kind"] {
            let key = (level.to_string(), d.to_string());
            for (a, b) in p[&key].iter().zip(&t[&key]) {
                assert_eq!(a.component, b.component);
                let joint = (se(a).powi(2) + se(b).powi(2)).sqrt();
                assert!(
                    (a.es_contribution - b.es_contribution).abs() <= 4.0 * joint,
                    "{level} {d} {}: plain {} vs IS {} (joint se {joint})",
                    a.component,
                    a.es_contribution,
                    b.es_contribution
                );
                compared += 1;
            }
        }
    }
    // Per level: 2 sources, 2 AVSs, 2 operators, 2 kinds (AVS slashing, rewards).
    assert_eq!(compared, 2 * (2 + 2 + 2 + 2));
    // The tilt puts more bug events in the tail: its contribution's interval at 99 % narrows.
    let bug = |b: &BTreeMap<(String, String), Vec<Row>>| {
        b[&("0.99".to_string(), "source".to_string())]
            .iter()
            .find(|r| r.component == "bug")
            .map(se)
            .unwrap()
    };
    assert!(bug(&t) < bug(&p), "IS se {} vs plain {}", bug(&t), bug(&p));
}

/// The `source` row of component `name` at `level` in contributions.csv.
fn row_of<'t>(t: &'t Table, level: &str, name: &str) -> &'t Vec<String> {
    t.rows
        .iter()
        .find(|r| r[0] == "slashed_eth" && r[1] == level && r[2] == "source" && r[3] == name)
        .unwrap()
}

/// Two independent sources, each wiping out one operator's allocation to its own AVS at its
/// first event (later events find nothing left): A = 300 ETH with probability p_A = 1 − e^(−λ_A),
/// B = 100 ETH with p_B, independent. Their joint law has four atoms, so the contributions
/// are known exactly (the tie rule at VaR included).
const TWO_ATOMS: &str = r#"
name = "two-atoms"
[simulation]
paths = 40000
horizon_days = 365
seed = 12
[pool]
collateral_eth = 1000
[[operators]]
name = "big"
share = 0.5
allocations = { x = 0.6 }
[[operators]]
name = "small"
share = 0.5
allocations = { y = 0.2 }
[[avs]]
name = "x"
[[avs]]
name = "y"
[[shocks]]
name = "a"
rate_per_year = 0.030459207484708574
severity = 1
select = { avs = ["x"] }
[[shocks]]
name = "b"
rate_per_year = 0.08338160893905101
severity = 1
select = { avs = ["y"] }
"#;

#[test]
fn two_independent_sources_match_their_exact_contributions_with_ties_at_var() {
    let (a, b) = (300.0, 100.0);
    let (rate_a, rate_b) = (0.030459207484708574f64, 0.08338160893905101f64);
    let (pa, pb) = (1.0 - (-rate_a).exp(), 1.0 - (-rate_b).exp());
    // The law of L = A + B by convolution of the two two-point laws: (value, P, E[A; L],
    // E[B; L]) per atom.
    let mut atoms: Vec<(f64, f64, f64, f64)> = Vec::new();
    for (xa, qa) in [(0.0, 1.0 - pa), (a, pa)] {
        for (xb, qb) in [(0.0, 1.0 - pb), (b, pb)] {
            atoms.push((xa + xb, qa * qb, xa * qa * qb, xb * qa * qb));
        }
    }
    atoms.sort_by(|x, y| x.0.total_cmp(&y.0));
    let exact = |alpha: f64| -> [f64; 2] {
        let mut cdf = 0.0;
        let k = atoms
            .iter()
            .position(|t| {
                cdf += t.1;
                cdf >= alpha
            })
            .unwrap();
        let tail = 1.0 - alpha;
        let above: f64 = atoms[k + 1..].iter().map(|t| t.1).sum();
        let part = |e: fn(&(f64, f64, f64, f64)) -> f64| {
            (atoms[k + 1..].iter().map(e).sum::<f64>() + (tail - above) * e(&atoms[k]) / atoms[k].1)
                / tail
        };
        [part(|t| t.2), part(|t| t.3)]
    };
    let fx = Fixture::new();
    let s = fx.write_scenario("two-atoms.toml", TWO_ATOMS);
    fx.run(["run", &arg(&s), "--quiet", "--out", "o"]).ok();
    let b_rows = blocks(&rows(&fx.read_csv("o/contributions.csv"), "slashed_eth"));
    // VaR 95 % is the atom at 100 (B alone) and VaR 99 % the atom at 300 (A alone): the tail
    // takes only part of the paths tied there.
    for (level, alpha, var) in [("0.95", 0.95, b), ("0.99", 0.99, a)] {
        let rs = &b_rows[&(level.to_string(), "source".to_string())];
        let want = exact(alpha);
        for (r, (name, x)) in rs.iter().zip([("a", want[0]), ("b", want[1])]) {
            assert_eq!(r.component, name);
            assert!(
                // 4 standard errors, and rounding where the estimate has no spread (A is 300 on
                // every path of the 99 % tail).
                (r.es_contribution - x).abs() <= 4.0 * se(r) + 1e-12 * x.abs(),
                "{level} {name}: {} vs exact {x} (se {})",
                r.es_contribution,
                se(r)
            );
        }
        let t = fx.read_csv("o/contributions.csv");
        let row = t
            .rows
            .iter()
            .find(|r| r[0] == "slashed_eth" && r[1] == level)
            .unwrap();
        assert_eq!(row[t.col("var")].parse::<f64>().unwrap(), var);
        // VaR's interval lies on its atom, so the VaR contributions are its composition:
        // L = 100 is B alone, L = 300 is A alone.
        let var_contribution = |name: &str| {
            row_of(&t, level, name)[t.col("var_contribution")]
                .parse::<f64>()
                .unwrap()
        };
        let (va, vb) = if var == b { (0.0, b) } else { (a, 0.0) };
        assert_eq!((var_contribution("a"), var_contribution("b")), (va, vb));
        // By operator: the same split (each source hits one operator).
        let ops = &b_rows[&(level.to_string(), "operator".to_string())];
        assert_eq!(ops[0].es_contribution, rs[0].es_contribution);
        assert_eq!(ops[1].es_contribution, rs[1].es_contribution);
    }
}

#[test]
fn no_contributions_skips_them_and_changes_nothing_else() {
    let fx = Fixture::new();
    let base = arg(&repo_scenario("baseline.toml"));
    let paths = "simulation.paths=3000";
    fx.run(["run", &base, "--set", paths, "-q", "--out", "with"])
        .ok();
    let r = fx.run([
        "run",
        &base,
        "--set",
        paths,
        "-q",
        "--no-contributions",
        "--out",
        "without",
    ]);
    r.ok();
    assert!(!r.stdout.contains("ES 99% of"), "{}", r.stdout);
    let t = fx.read_csv("without/contributions.csv");
    assert!(t.rows.is_empty() && t.header.len() == 18);
    let without = fx.read_json("without/summary.json");
    assert!(without.get("contributions").is_none());
    let mut with = fx.read_json("with/summary.json");
    with.as_object_mut().unwrap().remove("contributions");
    assert_eq!(with, without);
    for f in ["tail_metrics.csv", "loss_distribution.csv"] {
        assert!(fx.read_bytes(format!("with/{f}")) == fx.read_bytes(format!("without/{f}")));
    }
    // Shards merged with the flag give the same files as the whole run with it.
    for i in 0..2 {
        fx.run([
            "run",
            &base,
            "--set",
            paths,
            "-q",
            "--out",
            "parts",
            "--shard",
            &format!("{i}/2"),
        ])
        .ok();
    }
    fx.run([
        "merge",
        "parts",
        "-q",
        "--no-contributions",
        "--out",
        "merged",
    ])
    .ok();
    for f in ["summary.json", "contributions.csv"] {
        assert!(fx.read_bytes(format!("merged/{f}")) == fx.read_bytes(format!("without/{f}")));
    }
}

/// A sector: each LRT's `slashed_eth.lrt.<name>` is decomposed by AVS (its shares of its
/// operators' allocations' slashing, the beacon chain as one component) and by operator (its
/// shares of theirs). Every decomposition adds up to that metric's ES in summary.json, and
/// in shared-operator.toml beta — the LRT whose operators run the bridge AVS — owes most of
/// its tail to the bridge.
#[test]
fn each_lrt_of_a_sector_gets_its_own_contributions() {
    let fx = Fixture::new();
    let scenario = arg(&repo_scenario("shared-operator.toml"));
    for (threads, out) in [("2", "sec"), ("3", "sec3")] {
        fx.run([
            "run",
            scenario.as_str(),
            "--set",
            "simulation.paths=20000",
            "--quiet",
            "--threads",
            threads,
            "--out",
            out,
        ])
        .ok();
    }
    // Whatever the thread count, the same bytes.
    for f in ["contributions.csv", "summary.json"] {
        assert!(
            fx.read_bytes(format!("sec/{f}")) == fx.read_bytes(format!("sec3/{f}")),
            "{f}"
        );
    }
    let table = fx.read_csv("sec/contributions.csv");
    let summary = fx.read_json("sec/summary.json");
    for lrt in ["alpha", "beta"] {
        let metric = format!("slashed_eth.lrt.{lrt}");
        let b = blocks(&rows(&table, &metric));
        let decompositions: std::collections::BTreeSet<&str> =
            b.keys().map(|(_, d)| d.as_str()).collect();
        assert_eq!(
            decompositions,
            ["avs", "operator"].into_iter().collect(),
            "{metric}"
        );
        for ((level, d), rows) in &b {
            let sum: f64 = rows.iter().map(|r| r.es_contribution).sum();
            let es = rows[0].es;
            assert!(
                (sum - es).abs() <= 1e-9 * es.abs().max(1.0),
                "{metric} {d} {level}"
            );
            let want = summary["metrics"][&metric]["es"][level.as_str()]
                .as_f64()
                .unwrap_or_else(|| panic!("{metric} ES at {level} in summary.json"));
            assert!(
                (es - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{metric} {level}"
            );
            assert!(rows.iter().all(|r| r.exact && r.es_contribution >= 0.0));
        }
    }
    let beta = rows(&table, "slashed_eth.lrt.beta");
    let bridge = beta
        .iter()
        .find(|r| r.level == "0.99" && r.decomposition == "avs" && r.component == "bridge")
        .expect("beta's bridge contribution at 99 %");
    assert!(bridge.es_contribution > 0.8 * bridge.es, "{bridge:?}");
}

/// The sector's holders' loss is decomposed by LRT as each LRT's t = 0 supply — collateral
/// and front-door buffer — times its NAV loss, exactly as `sector_holders_loss_eth` sums it:
/// in sector-2026, where etherfi has a 40,000 ETH buffer, the LRTs' contributions add up to
/// the ES at every level (scaled by the collateral alone they missed it by about 40,000 ×
/// etherfi's NAV loss, 180 ETH).
#[test]
fn a_sectors_holders_loss_adds_up_with_buffers() {
    let fx = Fixture::new();
    fx.run([
        "run",
        &arg(&repo_scenario("sector-2026.toml")),
        "--set",
        "simulation.paths=300",
        "--set",
        "simulation.horizon_days=10",
        "--quiet",
        "--out",
        "res",
    ])
    .ok();
    let table = fx.read_csv("res/contributions.csv");
    let b = blocks(&rows(&table, "sector_holders_loss_eth"));
    assert!(!b.is_empty());
    for ((level, d), rows) in &b {
        assert_eq!(d, "lrt");
        assert_eq!(rows.len(), 4, "{level}");
        let sum: f64 = rows.iter().map(|r| r.es_contribution).sum();
        let es = rows[0].es;
        assert!(
            (sum - es).abs() <= 1e-9 * es.abs().max(1.0),
            "{level}: {sum} vs {es}"
        );
    }
}

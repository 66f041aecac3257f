//! `lrtsim sweep`: grids, zipped lists and seed axes; one sweep.csv row per point; every
//! point's outputs equal to a plain `lrtsim run` with the same `--set` values; resumable.

#[allow(dead_code)] // each test binary uses part of the shared fixture
mod fixture;

use std::fs;

use fixture::{Fixture, arg, repo_scenario};

const CORR: &str = "copulas.daily-faults.global_correlation";
const RATE: &str = "shocks.bridge-x-bug.rate_per_year";
const APR: &str = "avs.bridge-x.reward_apr";

fn sweep_args(extra: &[&str]) -> Vec<String> {
    let mut a = vec![
        "sweep".to_string(),
        arg(&repo_scenario("baseline.toml")),
        "--set".into(),
        "simulation.paths=3000".into(),
        "--grid".into(),
        format!("{CORR}=0.1:0.2:0.1"),
        "--zip".into(),
        format!("{RATE}=0.01,0.05"),
        "--zip".into(),
        format!("{APR}=0.02,0.03"),
        "--seeds".into(),
        "2".into(),
        "--out".into(),
        "sw".into(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

#[test]
fn one_row_per_point_and_every_point_equals_a_plain_run() {
    let fx = Fixture::new();
    let r = fx.run(sweep_args(&[]));
    r.ok().stderr_has(&["8 points (8 run, 0 up to date)"]);
    let t = fx.read_csv("sw/sweep.csv");
    assert_eq!(t.rows.len(), 8);
    for c in [
        "point",
        "dir",
        CORR,
        RATE,
        APR,
        "simulation.seed",
        "scenario_hash",
    ] {
        t.col(c);
    }
    for c in [
        "slashed_fraction.mean_lo",
        "slashed_fraction.mean_hi",
        "nav_loss.var_0.99",
        "nav_loss.var_lo_0.99",
        "nav_loss.es_hi_0.999",
    ] {
        t.col(c);
    }
    // The last axis varies fastest: grid, then the zipped pair, then the seed.
    let at = |row: usize, c: &str| t.rows[row][t.col(c)].clone();
    let expect = [
        ("0.1", "0.01", "0.02", "42"),
        ("0.1", "0.01", "0.02", "43"),
        ("0.1", "0.05", "0.03", "42"),
        ("0.1", "0.05", "0.03", "43"),
        ("0.2", "0.01", "0.02", "42"),
    ];
    for (i, (c, r, a, s)) in expect.iter().enumerate() {
        assert_eq!(
            (
                at(i, CORR),
                at(i, RATE),
                at(i, APR),
                at(i, "simulation.seed")
            ),
            (c.to_string(), r.to_string(), a.to_string(), s.to_string()),
            "row {i}"
        );
        assert_eq!(at(i, "dir"), format!("points/{i:04}"));
    }
    // Means and their intervals are consistent.
    let (m, lo, hi) = (
        t.floats("slashed_fraction.mean"),
        t.floats("slashed_fraction.mean_lo"),
        t.floats("slashed_fraction.mean_hi"),
    );
    for i in 0..8 {
        assert!(lo[i] <= m[i] && m[i] <= hi[i] && lo[i] < hi[i], "row {i}");
    }
    // Point 6 = correlation 0.2, the second zipped pair, seed 42: a plain run gives the same
    // files, bit for bit.
    let scenario = arg(&repo_scenario("baseline.toml"));
    let sets = [
        "simulation.paths=3000",
        &format!("{CORR}=0.2"),
        &format!("{RATE}=0.05"),
        &format!("{APR}=0.03"),
        "simulation.seed=42",
    ];
    let mut run = vec![
        "run".to_string(),
        scenario,
        "--quiet".into(),
        "--out".into(),
        "plain".into(),
    ];
    for s in sets {
        run.push("--set".into());
        run.push(s.to_string());
    }
    fx.run(&run).ok();
    for f in [
        "summary.json",
        "tail_metrics.csv",
        "exceedance.csv",
        "contributions.csv",
        "loss_distribution.csv",
        "scenario.resolved.toml",
    ] {
        assert!(
            fx.read_bytes(format!("sw/points/0006/{f}")) == fx.read_bytes(format!("plain/{f}")),
            "{f} of point 6 differs from the plain run"
        );
    }
    let p = fx.read_json("sw/points/0006/point.json");
    assert_eq!(
        p["scenario_hash"],
        fx.read_json("plain/summary.json")["scenario_hash"]
    );
}

#[test]
fn sweeps_resume_and_rerun_only_what_changed() {
    let fx = Fixture::new();
    fx.run(sweep_args(&[])).ok();
    let csv = fx.read_bytes("sw/sweep.csv");
    let modified = |p: &str| fs::metadata(fx.path(p)).unwrap().modified().unwrap();
    let before = modified("sw/points/0003/summary.json");
    // Everything up to date: nothing runs, sweep.csv is the same.
    fx.run(sweep_args(&[]))
        .ok()
        .stderr_has(&["8 points (0 run, 8 up to date)"]);
    assert_eq!(fx.read_bytes("sw/sweep.csv"), csv);
    assert_eq!(modified("sw/points/0003/summary.json"), before);
    // A point with a missing output runs again, alone.
    fs::remove_file(fx.path("sw/points/0005/tail_metrics.csv")).unwrap();
    fx.run(sweep_args(&[]))
        .ok()
        .stderr_has(&["8 points (1 run, 7 up to date)", "[6/8]"]);
    assert_eq!(fx.read_bytes("sw/sweep.csv"), csv);
    // A truncated summary.json (its manifest's checksum fails) runs again, and so does a point
    // whose manifest is missing or torn; the rest stay up to date.
    let summary = fx.read_bytes("sw/points/0002/summary.json");
    fs::write(
        fx.path("sw/points/0002/summary.json"),
        &summary[..summary.len() / 2],
    )
    .unwrap();
    fs::remove_file(fx.path("sw/points/0004/manifest.json")).unwrap();
    let manifest = fx.read_bytes("sw/points/0007/manifest.json");
    fs::write(fx.path("sw/points/0007/manifest.json"), &manifest[..20]).unwrap();
    fx.run(sweep_args(&[]))
        .ok()
        .stderr_has(&["8 points (3 run, 5 up to date)"]);
    assert_eq!(fx.read_bytes("sw/points/0002/summary.json"), summary);
    assert_eq!(fx.read_bytes("sw/sweep.csv"), csv);
    for p in ["0002", "0004", "0007"] {
        let m = fx.read_json(format!("sw/points/{p}/manifest.json"));
        assert_eq!(m["command"], "sweep");
        assert!(m["files"].as_array().unwrap().len() >= 3);
    }
    // Other settings or other values: the affected points run again.
    fx.run(sweep_args(&["--bins", "50"]))
        .ok()
        .stderr_has(&["8 points (8 run, 0 up to date)"]);
    let mut more = sweep_args(&[]);
    more[5] = format!("{CORR}=0.1:0.3:0.1");
    fx.run(&more)
        .ok()
        .stderr_has(&["12 points (12 run, 0 up to date)"]);
    fx.run(&more)
        .ok()
        .stderr_has(&["12 points (0 run, 12 up to date)"]);
    // --force reruns everything.
    fx.run(sweep_args(&["--force"]))
        .ok()
        .stderr_has(&["8 points (8 run, 0 up to date)"]);
}

#[test]
fn bad_sweeps_are_refused_before_anything_runs() {
    let fx = Fixture::new();
    let scenario = arg(&repo_scenario("baseline.toml"));
    let base = ["sweep", scenario.as_str(), "--out", "sw"];
    let with = |extra: &[&str]| {
        let mut v: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    fx.run(with(&[]))
        .expect_code(2)
        .stderr_has(&["nothing to sweep"]);
    fx.run(with(&["--grid", "shocks.nope.rate_per_year=0.1,0.2"]))
        .expect_code(2)
        .stderr_has(&["nope", "2 of 2 points are invalid"]);
    fx.run(with(&["--grid", &format!("{CORR}=0.1,1.5")]))
        .expect_code(2)
        .stderr_has(&["global_correlation", "1 of 2 points are invalid"]);
    fx.run(with(&[
        "--zip",
        &format!("{RATE}=0.1,0.2"),
        "--zip",
        &format!("{APR}=0.1"),
    ]))
    .expect_code(2)
    .stderr_has(&["same length"]);
    fx.run(with(&["--grid", &format!("{CORR}=0.3:0.1:0.1")]))
        .expect_code(2)
        .stderr_has(&["STEP"]);
    fx.run(with(&[
        "--grid",
        &format!("{CORR}=0.1,0.2"),
        "--grid",
        &format!("{CORR}=0.3"),
    ]))
    .expect_code(2)
    .stderr_has(&["swept twice"]);
    fx.run(with(&["--grid", "simulation.seed=1,2", "--seeds", "2"]))
        .expect_code(2)
        .stderr_has(&["swept twice"]);
    assert!(!fx.path("sw").exists());
}

#[test]
fn contributions_of_a_chosen_decomposition_are_columns_of_sweep_csv() {
    let fx = Fixture::new();
    let base = arg(&repo_scenario("baseline.toml"));
    let r = fx.run([
        "sweep",
        &base,
        "--set",
        "simulation.paths=3000",
        "--grid",
        &format!("{RATE}=0.05,0.2"),
        "--contributions",
        "attribute.cloud",
        "-q",
        "--out",
        "sw",
    ]);
    r.ok();
    let t = fx.read_csv("sw/sweep.csv");
    assert_eq!(t.rows.len(), 2);
    let mut checked = 0;
    for (k, row) in t.rows.iter().enumerate() {
        // The columns hold the point's contributions.csv rows.
        let point = fx.read_csv(format!("sw/points/{k:04}/contributions.csv"));
        for r in point.rows.iter().filter(|r| {
            r[0] == "slashed_eth"
                && r[2] == "attribute.cloud"
                && ["0.95", "0.99", "0.999"].contains(&r[1].as_str())
        }) {
            for (what, col) in [("es_contribution", 4), ("share", 5)] {
                let name = format!("slashed_eth.attribute.cloud.{}.{what}_{}", r[3], r[1]);
                assert_eq!(row[t.col(&name)], r[col], "{name}");
                checked += 1;
            }
        }
    }
    // 2 points × 3 levels × 4 clouds × 2 columns.
    assert_eq!(checked, 2 * 3 * 4 * 2);
    // A decomposition the scenario does not have is refused before anything runs.
    fx.run([
        "sweep",
        &base,
        "--grid",
        &format!("{RATE}=0.05,0.2"),
        "--contributions",
        "attribute.colour",
        "--out",
        "bad",
    ])
    .expect_code(2)
    .stderr_has(&["attribute.colour", "attribute.cloud", "source"]);
    assert!(!fx.path("bad").exists());
}

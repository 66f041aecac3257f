//! Uncertain rates end to end (issue 19): the baseline with its AVS fault rates and the
//! bridge bug on one rate factor runs with risk contributions (which re-simulate the tail
//! paths and fail the run if one differs from its stored row), gives byte-identical outputs
//! for 1 and 3 threads, and `lrtsim replay` reproduces a worst path's row as `paths.csv`
//! has it.

#[allow(dead_code)] // each test binary uses part of the shared fixture
mod fixture;

use fixture::{Fixture, arg, repo_scenario};

/// `scenarios/baseline.toml` with every AVS fault rate and the `bridge-x-bug` shock on one
/// rate factor of variance 1, and the `key-compromise` rate a gamma with cv 1.
fn uncertain_baseline() -> String {
    let text = std::fs::read_to_string(repo_scenario("baseline.toml")).unwrap();
    let out = text
        .replace(
            "fault_rate_per_year = 0.004",
            "fault_rate_per_year = 0.004\nfault_rate_factor = \"avs-bugs\"",
        )
        .replace(
            "name = \"bridge-x-bug\"\nrate_per_year = 0.02",
            "name = \"bridge-x-bug\"\nrate_per_year = 0.02\nrate_factor = \"avs-bugs\"",
        )
        .replace(
            "name = \"key-compromise\"\nrate_per_year = 0.02",
            "name = \"key-compromise\"\nrate_per_year = { dist = \"gamma\", mean = 0.02, cv = 1.0 }",
        );
    assert_ne!(out, text);
    format!("{out}\n[[rate_factors]]\nname = \"avs-bugs\"\nvariance = 1.0\n")
}

#[test]
fn uncertain_baseline_runs_with_contributions_and_replays_bit_for_bit() {
    let fx = Fixture::new();
    let file = arg(&fx.write_scenario("uncertain.toml", &uncertain_baseline()));
    for threads in ["1", "3"] {
        fx.run([
            "run",
            &file,
            "--set",
            "simulation.paths=6000",
            "--quiet",
            "--paths-csv",
            "--threads",
            threads,
            "--out",
            &format!("t{threads}"),
        ])
        .ok();
    }
    for f in [
        "summary.json",
        "contributions.csv",
        "paths.csv",
        "tail_metrics.csv",
    ] {
        assert!(
            fx.read_bytes(format!("t1/{f}")) == fx.read_bytes(format!("t3/{f}")),
            "{f} depends on the thread count"
        );
    }
    let summary = fx.read_json("t1/summary.json");
    let worst = summary["metrics"]["slashed_eth"]["worst_paths"][0]["path"]
        .as_u64()
        .expect("a worst path");
    fx.run([
        "replay",
        &file,
        "--set",
        "simulation.paths=6000",
        "--quiet",
        "--path",
        &worst.to_string(),
        "--out",
        "replay",
    ])
    .ok();
    let paths = fx.read("t1/paths.csv");
    let line = paths
        .lines()
        .nth(worst as usize + 1)
        .expect("the worst path's row");
    let replayed = fx.read("replay/path.csv");
    assert_eq!(replayed.lines().nth(1), Some(line));
}

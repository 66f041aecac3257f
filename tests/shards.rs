//! Sharded runs and `lrtsim merge`: the merged files are bit-identical to the single-machine
//! run for 1, 3 and 8 shards (plain, with redemptions, with a market, with importance sampling,
//! with a tail memory small enough that the histograms are used, a sector of two LRTs, a
//! governance vote, a redelegation, front doors sharing an exit queue; risk contributions included), and missing, duplicated, overlapping, mismatched or corrupt shards are refused
//! with a message naming them.

#[allow(dead_code)] // each test binary uses part of the shared fixture
mod fixture;

use std::fs;
use std::path::Path;

use fixture::{Fixture, arg, repo_scenario};

/// Runs the whole scenario into `out`.
fn whole(fx: &Fixture, scenario: &str, sets: &[String], out: &str) {
    let mut args = vec!["run".to_string(), arg(&repo_scenario(scenario))];
    args.extend(sets.iter().cloned());
    args.extend(["--quiet", "--out", out].map(String::from));
    fx.run(&args).ok();
}

/// Runs shards `0..n` of `n` into `dir`.
fn shards(fx: &Fixture, scenario: &str, sets: &[String], n: u64, dir: &str) {
    for i in 0..n {
        let mut args = vec!["run".to_string(), arg(&repo_scenario(scenario))];
        args.extend(sets.iter().cloned());
        args.extend(["--quiet", "--out", dir, "--shard", &format!("{i}/{n}")].map(String::from));
        let r = fx.run(&args);
        r.ok();
        assert!(r.stdout.is_empty(), "a shard prints nothing: {}", r.stdout);
    }
}

/// The files of directory `dir` (relative to the fixture), sorted.
fn files(fx: &Fixture, dir: &str) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(fx.path(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn sets(pairs: &[&str]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|p| ["--set".to_string(), p.to_string()])
        .collect()
}

/// Merges `n`-way shards of `scenario` and compares every file with the whole run.
fn check_bit_identical(scenario: &str, sets: &[String], extra: &[&str], expect: &[&str]) {
    let fx = Fixture::new();
    let mut all = sets.to_vec();
    all.extend(extra.iter().map(|s| s.to_string()));
    whole(&fx, scenario, &all, "whole");
    let reference = files(&fx, "whole");
    for f in expect {
        assert!(
            reference.contains(&f.to_string()),
            "{scenario}: no {f} in {reference:?}"
        );
    }
    for n in [1u64, 3, 8] {
        let parts = format!("parts-{n}");
        shards(&fx, scenario, &all, n, &parts);
        assert_eq!(files(&fx, &parts).len(), n as usize);
        let merged = format!("merged-{n}");
        fx.run(["merge", &parts, "--quiet", "--out", &merged]).ok();
        assert_eq!(files(&fx, &merged), reference, "{scenario}, {n} shards");
        for f in &reference {
            if f == "manifest.json" {
                // It names the run (id, command); the files it lists must be the same.
                let files = |dir: &str| fx.read_json(Path::new(dir).join(f))["files"].clone();
                assert_eq!(files("whole"), files(&merged), "{scenario}, {n} shards");
                continue;
            }
            let a = fx.read_bytes(Path::new("whole").join(f));
            let b = fx.read_bytes(Path::new(&merged).join(f));
            assert!(
                a == b,
                "{scenario}, {n} shards: {f} differs from the whole run"
            );
        }
    }
}

#[test]
fn merged_shards_equal_the_whole_run_bit_for_bit() {
    let base = [
        "scenario.resolved.toml",
        "summary.json",
        "tail_metrics.csv",
        "exceedance.csv",
        "loss_distribution.csv",
        "contributions.csv",
    ];
    check_bit_identical(
        "baseline.toml",
        &sets(&["simulation.paths=9000"]),
        &[],
        &base,
    );
    // 21 MiB for 21 metrics leaves one exact tail value each: every level from the histograms.
    check_bit_identical(
        "baseline.toml",
        &sets(&["simulation.paths=9000"]),
        &["--tail-memory-mb", "21"],
        &base,
    );
    check_bit_identical(
        "bank-run.toml",
        &sets(&["simulation.paths=5000"]),
        &[],
        &[
            "redemption_wait.csv",
            "queue_paths.csv",
            "exit_queue_paths.csv",
            "exceedance.csv",
            "summary.json",
        ],
    );
    // Lending with rates: utilization bands (and queue and price bands) merge exactly.
    check_bit_identical(
        "leverage-loop.toml",
        &sets(&["simulation.paths=1200"]),
        &[],
        &[
            "utilization_paths.csv",
            "queue_paths.csv",
            "exit_queue_paths.csv",
            "price_paths.csv",
        ],
    );
    check_bit_identical(
        "steth-2022.toml",
        &sets(&["simulation.paths=2500"]),
        &[],
        &["price_paths.csv", "summary.json"],
    );
    check_bit_identical(
        "rare-tail.toml",
        &sets(&["simulation.paths=6000", "importance.pilot_paths=4000"]),
        &[],
        &["summary.json", "contributions.csv", "exceedance.csv"],
    );
    // A sector (each LRT's metrics and contributions) and a governance vote at a random time.
    check_bit_identical(
        "shared-operator.toml",
        &sets(&["simulation.paths=6000"]),
        &[],
        &["summary.json", "contributions.csv", "exceedance.csv"],
    );
    check_bit_identical(
        "risk-on-vote.toml",
        &sets(&["simulation.paths=6000"]),
        &[],
        &["summary.json", "contributions.csv"],
    );
    // A sector LRT redelegating at a random time.
    check_bit_identical(
        "consolidation.toml",
        &sets(&["simulation.paths=6000"]),
        &[],
        &["summary.json", "contributions.csv"],
    );
    // Two LRTs' front doors sharing one exit queue (and its bands).
    check_bit_identical(
        "sector-exit-queue.toml",
        &sets(&["simulation.paths=3000"]),
        &[],
        &["summary.json", "contributions.csv", "exit_queue_paths.csv"],
    );
    // Four tokens' front doors and markets (3 chunks, 10 days: the mint on day 1 and the run).
    check_bit_identical(
        "sector-2026.toml",
        &sets(&["simulation.paths=2100", "simulation.horizon_days=10"]),
        &[],
        &[
            "summary.json",
            "contributions.csv",
            "price_paths.lrt.kelp.csv",
            "price_paths.lrt.renzo.csv",
            "price_paths.lrt.steth.csv",
            "utilization_paths.csv",
            "exit_queue_paths.csv",
        ],
    );
}

/// Shards run with `--no-contributions` keep no own tails of operators: merged with the risk
/// contributions on, the contributions are those of the whole run, but operators and
/// attribute values have no standalone ES (empty cells, never a wrong number); sources and
/// AVSs, whose standalone ES is their metric's, keep theirs.
#[test]
fn shards_without_own_tails_merge_to_contributions_without_operator_standalone_es() {
    let fx = Fixture::new();
    let set = sets(&["simulation.paths=6000"]);
    whole(&fx, "baseline.toml", &set, "whole");
    let mut no = set.clone();
    no.push("--no-contributions".into());
    shards(&fx, "baseline.toml", &no, 3, "parts");
    fx.run(["merge", "parts", "--quiet", "--out", "merged"])
        .ok();
    let (a, b) = (
        fx.read_csv("whole/contributions.csv"),
        fx.read_csv("merged/contributions.csv"),
    );
    assert_eq!(a.header, b.header);
    assert_eq!(a.rows.len(), b.rows.len());
    let (dec, sa, div) = (
        a.col("decomposition"),
        a.col("standalone_es"),
        a.col("diversification_benefit"),
    );
    let mut emptied = 0;
    for (x, y) in a.rows.iter().zip(&b.rows) {
        let own =
            x[0] == "slashed_eth" && (x[dec] == "operator" || x[dec].starts_with("attribute."));
        for (k, (u, v)) in x.iter().zip(y).enumerate() {
            if own && (k == sa || k == div) {
                assert!(v.is_empty() && !u.is_empty(), "{x:?} vs {y:?}");
                emptied += 1;
            } else {
                assert_eq!(u, v, "column {k}: {x:?} vs {y:?}");
            }
        }
    }
    assert!(emptied > 0);
    // The tail statistics are the whole run's (every value kept either way at 6,000 paths).
    for f in [
        "tail_metrics.csv",
        "exceedance.csv",
        "loss_distribution.csv",
    ] {
        assert_eq!(
            fx.read_bytes(Path::new("whole").join(f)),
            fx.read_bytes(Path::new("merged").join(f)),
            "{f}"
        );
    }
}

#[test]
fn merge_prints_the_table_of_the_whole_run() {
    let fx = Fixture::new();
    let s = sets(&["simulation.paths=3000"]);
    let mut args = vec!["run".to_string(), arg(&repo_scenario("baseline.toml"))];
    args.extend(s.iter().cloned());
    args.extend(["--quiet", "--out", "whole", "--summary-csv", "whole.csv"].map(String::from));
    let whole = fx.run(&args);
    whole.ok();
    shards(&fx, "baseline.toml", &s, 2, "parts");
    let merged = fx.run([
        "merge",
        "parts/shard-0-of-2.lrtpart",
        "parts/shard-1-of-2.lrtpart",
        "--out",
        "m",
    ]);
    merged.ok().stderr_has(&["merged 2 parts (3000 paths)"]);
    assert_eq!(merged.stdout, whole.stdout);
    // The summary-CSV line of the merged run, with the shards' --set values, is the whole run's.
    fx.run([
        "merge",
        "parts",
        "--quiet",
        "--out",
        "m2",
        "--summary-csv",
        "merged.csv",
    ])
    .ok();
    let line = fx.read("merged.csv");
    assert!(line.contains(",simulation.paths,"), "{line}");
    assert_eq!(line, fx.read("whole.csv"));
}

#[test]
fn auto_shard_index_comes_from_slurm_or_kubernetes() {
    let fx = Fixture::new();
    let scenario = arg(&repo_scenario("baseline.toml"));
    let base = [
        "run",
        &scenario,
        "--set",
        "simulation.paths=3000",
        "--quiet",
        "--out",
        "p",
    ];
    let run = |var: Option<(&str, &str)>| {
        let mut cmd = fx.cmd();
        cmd.env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .args(base)
            .args(["--shard", "auto/3"]);
        if let Some((k, v)) = var {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    assert!(run(Some(("SLURM_ARRAY_TASK_ID", "1"))).status.success());
    assert!(run(Some(("JOB_COMPLETION_INDEX", "2"))).status.success());
    assert_eq!(
        files(&fx, "p"),
        ["shard-1-of-3.lrtpart", "shard-2-of-3.lrtpart"]
    );
    let none = run(None);
    assert_eq!(none.status.code(), Some(2));
    let err = String::from_utf8_lossy(&none.stderr);
    assert!(
        err.contains("SLURM_ARRAY_TASK_ID") && err.contains("JOB_COMPLETION_INDEX"),
        "{err}"
    );
    let out_of_range = run(Some(("SLURM_ARRAY_TASK_ID", "3")));
    assert_eq!(out_of_range.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out_of_range.stderr);
    assert!(err.contains("--array=0-2"), "{err}");
    fx.run(["run", &scenario, "--shard", "3/3"])
        .expect_code(2)
        .stderr_has(&["--shard 3/3"]);
    fx.run(["run", &scenario, "--shard", "0/2", "--paths-csv"])
        .expect_code(2)
        .stderr_has(&["--paths-csv"]);
}

#[test]
fn bad_shard_sets_are_refused_naming_the_files() {
    let fx = Fixture::new();
    let s = sets(&["simulation.paths=3000"]);
    shards(&fx, "baseline.toml", &s, 3, "p3");
    shards(&fx, "baseline.toml", &s, 2, "p2");
    let mut seeded = s.clone();
    seeded.extend(sets(&["simulation.seed=7"]));
    shards(&fx, "baseline.toml", &seeded, 3, "seed7");
    let p = |d: &str, i: u64, n: u64| format!("{d}/shard-{i}-of-{n}.lrtpart");

    // Missing: the absent shard is named.
    fx.run(["merge", &p("p3", 0, 3), &p("p3", 2, 3), "--out", "m"])
        .expect_code(2)
        .stderr_has(&["incomplete", "chunks 1..2", "shard-1-of-3.lrtpart"]);
    // The same file twice, and a copy of a shard.
    fx.run(["merge", "p3", &p("p3", 1, 3), "--out", "m"])
        .expect_code(2)
        .stderr_has(&["duplicated", "given twice"]);
    fs::create_dir(fx.path("copy")).unwrap();
    fs::copy(fx.path(p("p3", 1, 3)), fx.path("copy/shard-1-of-3.lrtpart")).unwrap();
    fx.run(["merge", "p3", "copy", "--out", "m"])
        .expect_code(2)
        .stderr_has(&[
            "duplicated shard",
            "p3/shard-1-of-3.lrtpart",
            "copy/shard-1-of-3.lrtpart",
        ]);
    // Overlapping: shard 1 of 2 holds chunks 1..3, shard 1 of 3 chunk 1.
    fx.run([
        "merge",
        &p("p3", 0, 3),
        &p("p2", 1, 2),
        &p("p3", 1, 3),
        "--out",
        "m",
    ])
    .expect_code(2)
    .stderr_has(&[
        "overlapping",
        "shard-1-of-2.lrtpart",
        "shard-1-of-3.lrtpart",
    ]);
    // Mixed splits that tile exactly are fine.
    fx.run([
        "merge",
        &p("p3", 0, 3),
        &p("p2", 1, 2),
        "--quiet",
        "--out",
        "mixed",
    ])
    .ok();
    // Mismatched: another seed.
    fx.run([
        "merge",
        &p("p3", 0, 3),
        &p("seed7", 1, 3),
        &p("p3", 2, 3),
        "--out",
        "m",
    ])
    .expect_code(2)
    .stderr_has(&[
        "not shards of the same run",
        "seed: 42 vs 7",
        "seed7/shard-1-of-3.lrtpart",
    ]);
    // Truncated and foreign files.
    let bytes = fx.read_bytes(p("p3", 2, 3));
    fs::create_dir(fx.path("cut")).unwrap();
    fs::write(
        fx.path("cut/shard-2-of-3.lrtpart"),
        &bytes[..bytes.len() - 100],
    )
    .unwrap();
    fx.run([
        "merge",
        &p("p3", 0, 3),
        &p("p3", 1, 3),
        "cut/shard-2-of-3.lrtpart",
        "--out",
        "m",
    ])
    .expect_code(2)
    .stderr_has(&["cut/shard-2-of-3.lrtpart", "truncated or corrupt"]);
    fs::write(fx.path("cut/notes.lrtpart"), "hello\n").unwrap();
    fx.run(["merge", "cut/notes.lrtpart", "--out", "m"])
        .expect_code(2)
        .stderr_has(&["notes.lrtpart", "not a partial result"]);
    fx.run(["merge", "nowhere", "--out", "m"])
        .expect_code(2)
        .stderr_has(&["nowhere", "no such file"]);
    fs::create_dir(fx.path("empty")).unwrap();
    fx.run(["merge", "empty", "--out", "m"])
        .expect_code(2)
        .stderr_has(&["no *.lrtpart"]);
    // Nothing was written by the refused merges.
    assert!(!fx.path("m").exists());
    // The merged mixed split equals the 3-way merge.
    fx.run(["merge", "p3", "--quiet", "--out", "m3"]).ok();
    assert_eq!(
        fx.read_bytes("mixed/summary.json"),
        fx.read_bytes("m3/summary.json")
    );
}

//! `lrtsim replay`: a replayed path's `path.csv` is its line of the run's `paths.csv`, byte for
//! byte (with its weight under importance sampling); `summary.txt` tells its events and is
//! what stdout shows; `events.csv` and `trace.csv` have a row per event and per step; output
//! directories follow `--out`; bad path ids and bad scenarios exit with status 2 and write
//! nothing.

#[allow(dead_code)] // each test binary uses part of the shared fixture
mod fixture;

use fixture::{Fixture, Table, arg, repo_scenario, test_scenario};

/// Runs `scenario` with `sets` and `--paths-csv` into `out`; returns paths.csv's text.
fn run_with_paths(fx: &Fixture, scenario: &str, sets: &[&str], out: &str) -> String {
    let mut args = vec!["run".to_string(), scenario.to_string()];
    for s in sets {
        args.extend(["--set".to_string(), s.to_string()]);
    }
    args.extend(["--paths-csv", "-q", "--out", out].map(String::from));
    fx.run(&args).ok();
    fx.read(format!("{out}/paths.csv"))
}

/// The path with the largest `nav_loss` (smallest `nav_return`; the first of equals).
fn worst_path(paths_csv: &str) -> usize {
    let t = Table::parse(paths_csv);
    let nav = t.floats("nav_return");
    let mut worst = 0;
    for (i, v) in nav.iter().enumerate() {
        if *v < nav[worst] {
            worst = i;
        }
    }
    assert_eq!(
        t.rows[worst][0],
        worst.to_string(),
        "rows are in path order"
    );
    worst
}

/// paths.csv's header and the line of path `path`, as `path.csv` should be.
fn expected_path_csv(paths_csv: &str, path: usize) -> String {
    let lines: Vec<&str> = paths_csv.lines().collect();
    format!("{}\n{}\n", lines[0], lines[path + 1])
}

/// Replays `paths` of `scenario` with `sets`; returns the run.
fn replay(
    fx: &Fixture,
    scenario: &str,
    sets: &[&str],
    paths: &[u64],
    extra: &[&str],
) -> fixture::Run {
    let mut args = vec!["replay".to_string(), scenario.to_string()];
    for s in sets {
        args.extend(["--set".to_string(), s.to_string()]);
    }
    for p in paths {
        args.extend(["--path".to_string(), p.to_string()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    fx.run(&args)
}

#[test]
fn the_worst_path_of_a_run_replays_to_its_row_with_its_story() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    let sets = ["simulation.paths=1500"];
    let paths_csv = run_with_paths(&fx, &small, &sets, "res");
    let worst = worst_path(&paths_csv);
    let run = replay(&fx, &small, &sets, &[worst as u64], &[]);
    run.ok();
    let dir = format!("out/small/replay/path-{worst}");
    assert_eq!(
        fx.read(format!("{dir}/path.csv")),
        expected_path_csv(&paths_csv, worst),
        "path.csv is paths.csv's line of path {worst}"
    );
    let summary = fx.read(format!("{dir}/summary.txt"));
    assert_eq!(run.stdout, summary, "stdout shows summary.txt");
    assert!(
        run.stderr
            .contains(&format!("small: path {worst} replayed")),
        "{}",
        run.stderr
    );
    assert!(summary.starts_with(&format!(
        "Replay of path {worst} of scenario small (seed 11, 1500 paths; 30 steps of 12 days"
    )));
    let events = fx.read_csv(format!("{dir}/events.csv"));
    assert_eq!(
        events.header,
        [
            "step",
            "day",
            "kind",
            "name",
            "slashed_eth",
            "exploit_loss_eth",
            "reserve_paid_eth",
            "net_loss_eth",
            "nav_per_lrt",
            "detail"
        ]
    );
    assert!(!events.rows.is_empty(), "the worst path has events");
    // The summary tells every event (they are few here), by kind and name, in time order.
    assert!(summary.contains(&format!("Events ({}, in time order)", events.rows.len())));
    let mut at = 0;
    for e in &events.rows {
        let said = format!("{} {}", e[2].replace('_', " "), e[3]);
        let found = summary[at..]
            .find(&said)
            .unwrap_or_else(|| panic!("{said:?} not in order in\n{summary}"));
        at += found + said.len();
    }
    // The events' ETH slashed add up to the path's.
    let slashed: f64 = events.floats("slashed_eth").iter().sum();
    let row = Table::parse(&paths_csv);
    let total = row.floats("slashed_eth")[worst];
    assert!(
        (slashed - total).abs() <= 1e-9 * total.max(1.0),
        "{slashed} vs {total}"
    );
    // One trace row per step; the last NAV is the path's.
    let trace = fx.read_csv(format!("{dir}/trace.csv"));
    assert_eq!(trace.rows.len(), 30);
    assert_eq!(&trace.header[..3], ["step", "day", "events"]);
    let nav = trace.floats("nav_per_lrt");
    let nav_return = row.floats("nav_return")[worst];
    assert!((nav[29] - (1.0 + nav_return)).abs() < 1e-9);
    assert!(summary.contains("Notable points"));
}

#[test]
fn an_importance_sampled_path_keeps_its_weight() {
    let fx = Fixture::new();
    let rare = arg(&repo_scenario("rare-tail.toml"));
    let sets = ["simulation.paths=1100"];
    let paths_csv = run_with_paths(&fx, &rare, &sets, "res");
    assert!(paths_csv.lines().next().unwrap().ends_with(",weight"));
    let worst = worst_path(&paths_csv);
    for path in [worst, 1024] {
        let run = replay(
            &fx,
            &rare,
            &sets,
            &[path as u64],
            &["-o", "r/{name}-{path}", "-q"],
        );
        run.ok();
        assert!(run.stderr.is_empty(), "--quiet: {}", run.stderr);
        assert_eq!(
            fx.read(format!("r/rare-tail-{path}/path.csv")),
            expected_path_csv(&paths_csv, path)
        );
        assert!(run.stdout.contains("likelihood-ratio weight"));
    }
}

#[test]
fn market_and_redemption_paths_trace_their_sections() {
    let fx = Fixture::new();
    let rseth = arg(&repo_scenario("rseth-2026.toml"));
    let sets = ["simulation.paths=300"];
    let paths_csv = run_with_paths(&fx, &rseth, &sets, "res");
    let worst = worst_path(&paths_csv);
    replay(&fx, &rseth, &sets, &[worst as u64], &["-o", "one"]).ok();
    assert_eq!(
        fx.read("one/path.csv"),
        expected_path_csv(&paths_csv, worst)
    );
    let trace = fx.read_csv("one/trace.csv");
    for column in [
        "queue_eth",
        "liquid_eth",
        "redeemed_eth_cum",
        "network_queue_eth",
        "price_eth",
        "discount",
        "pool_lrt",
        "debt_eth",
        "liquidated_lrt_cum",
        "bad_debt_eth_cum",
        "stolen_eth_cum",
        "reserves_eth",
    ] {
        trace.col(column);
    }
    let summary = fx.read("one/summary.txt");
    for needle in ["Redemptions:", "Market:", "Lending:", "lowest market price"] {
        assert!(summary.contains(needle), "{needle:?} not in\n{summary}");
    }
}

#[test]
fn several_paths_go_to_their_own_directories() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    let paths_csv = run_with_paths(&fx, &small, &[], "res");
    // Without {path} in --out, each path writes DIR/path-<id>; a repeated id runs once.
    let run = replay(&fx, &small, &[], &[3, 999, 3], &["-o", "many"]);
    run.ok();
    for p in [3, 999] {
        assert_eq!(
            fx.read(format!("many/path-{p}/path.csv")),
            expected_path_csv(&paths_csv, p)
        );
        for f in ["events.csv", "trace.csv", "summary.txt"] {
            assert!(fx.path(format!("many/path-{p}/{f}")).is_file());
        }
    }
    assert_eq!(run.stdout.matches("Replay of path").count(), 2);
    // With {path}, as given.
    replay(&fx, &small, &[], &[5, 6], &["-o", "x/{name}/p{path}"]).ok();
    assert!(fx.path("x/small/p5/summary.txt").is_file());
    assert!(fx.path("x/small/p6/summary.txt").is_file());
    // No stray temporary files.
    assert!(fx.listing().iter().all(|f| !f.contains(".tmp-")));
}

#[test]
fn bad_path_ids_and_bad_scenarios_exit_2_and_write_nothing() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    let run = replay(&fx, &small, &["simulation.paths=100"], &[5, 100], &[]);
    run.expect_code(2).stderr_has(&[
        "error: ",
        "small.toml",
        "--path",
        "path 100 is not in the run",
        "simulation.paths = 100",
        "0 to 99",
    ]);
    assert!(run.stdout.is_empty());
    assert!(fx.listing().is_empty(), "{:?}", fx.listing());
    let bad = arg(&test_scenario("bad-probability.toml"));
    replay(&fx, &bad, &[], &[0], &[]).expect_code(2);
    replay(&fx, &small, &["simulation.paths=-1"], &[0], &[]).expect_code(2);
    assert!(fx.listing().is_empty(), "{:?}", fx.listing());
    // --path is required.
    let run = fx.run(["replay", small.as_str()]);
    assert_eq!(run.code, Some(2));
}

/// `scenario.resolved.toml` is the scenario as run (after `--set`): listed in the manifest,
/// it runs to the same scenario hash and paths, and a path replayed from it is the run's row.
#[test]
fn the_resolved_scenario_reruns_and_replays_the_run() {
    let fx = Fixture::new();
    let small = arg(&test_scenario("small.toml"));
    let sets = [
        "simulation.paths=900",
        "avs.x.fault_rate_per_year=0.7",
        "simulation.seed=5",
    ];
    let paths_csv = run_with_paths(&fx, &small, &sets, "res");
    let resolved = fx.read("res/scenario.resolved.toml");
    let summary = fx.read_json("res/summary.json");
    let hash = summary["scenario_hash"].as_str().unwrap();
    assert!(
        resolved.starts_with("# The scenario as run by lrtsim"),
        "{resolved}"
    );
    assert!(resolved.contains(hash), "{resolved}");
    assert!(resolved.contains("fault_rate_per_year = 0.7"), "{resolved}");
    let manifest = fx.read_json("res/manifest.json");
    assert_eq!(manifest["files"][0]["name"], "scenario.resolved.toml");
    // Run again from the resolved file: same hash, same paths, same tail metrics.
    let again = run_with_paths(&fx, "res/scenario.resolved.toml", &[], "again");
    assert_eq!(again, paths_csv);
    assert_eq!(fx.read_json("again/summary.json")["scenario_hash"], hash);
    for file in ["tail_metrics.csv", "scenario.resolved.toml"] {
        assert_eq!(
            fx.read(format!("res/{file}")),
            fx.read(format!("again/{file}")),
            "{file}"
        );
    }
    // Replay the worst path from it.
    let worst = worst_path(&paths_csv);
    replay(&fx, "res/scenario.resolved.toml", &[], &[worst as u64], &[]).ok();
    assert_eq!(
        fx.read(format!("out/small/replay/path-{worst}/path.csv")),
        expected_path_csv(&paths_csv, worst)
    );
}

/// A governance vote and its effects are events of the replayed path: `vote` names the
/// allocations it changes (magnitude now → then, and from which day), `allocation` their ETH
/// before → after; the replayed row is the run's.
#[test]
fn governance_votes_and_their_effects_are_traced() {
    let fx = Fixture::new();
    let text = std::fs::read_to_string(repo_scenario("risk-on-vote.toml"))
        .unwrap()
        .replace("rate_per_year = 1 ", "at_days = 100 ");
    let scenario = arg(&fx.write_scenario("vote.toml", &text));
    let sets = ["simulation.paths=200"];
    let paths_csv = run_with_paths(&fx, &scenario, &sets, "res");
    replay(&fx, &scenario, &sets, &[7], &["-o", "p7"]).ok();
    assert_eq!(fx.read("p7/path.csv"), expected_path_csv(&paths_csv, 7));
    let events = fx.read_csv("p7/events.csv");
    let (kind, name, day, detail) = (
        events.col("kind"),
        events.col("name"),
        events.col("day"),
        events.col("detail"),
    );
    let rows: Vec<&Vec<String>> = events
        .rows
        .iter()
        .filter(|r| r[name] == "risk-on")
        .collect();
    let kinds: Vec<(&str, f64)> = rows
        .iter()
        .map(|r| (r[kind].as_str(), r[day].parse().unwrap()))
        .collect();
    // The vote, its increases at once (no allocation delay), its decreases 14 days later.
    assert_eq!(
        kinds,
        [
            ("vote", 100.0),
            ("allocation", 100.0),
            ("allocation", 114.0)
        ],
        "{rows:?}"
    );
    assert!(
        rows[0][detail].contains("small-1/bridge: magnitude 0.1 → 0.6 from day 100"),
        "{}",
        rows[0][detail]
    );
    assert!(
        rows[0][detail].contains("small-1/eigenda: magnitude 0.4 → 0.1 from day 114"),
        "{}",
        rows[0][detail]
    );
    assert!(
        rows[1][detail].contains("small-3/bridge: 0 → "),
        "{}",
        rows[1][detail]
    );
}

/// A redelegation is two events of the replayed path: `redelegation` at the decision (the
/// LRT's stake queued at each operator it leaves), `delegation` when the escrow is over (the
/// ETH that left and arrived); the replayed row is the run's.
#[test]
fn redelegations_are_traced() {
    let fx = Fixture::new();
    let text = std::fs::read_to_string(repo_scenario("shared-operator.toml")).unwrap()
        + "\n[[redelegations]]\nname = \"leave-a1\"\nlrt = \"alpha\"\nat_days = 100\nfrom = [\"a1\"]\nto = { b1 = 1 }\nshare = 0.5\n";
    let scenario = arg(&fx.write_scenario("moves.toml", &text));
    let sets = ["simulation.paths=100"];
    let paths_csv = run_with_paths(&fx, &scenario, &sets, "res");
    replay(&fx, &scenario, &sets, &[3], &["-o", "p3"]).ok();
    assert_eq!(fx.read("p3/path.csv"), expected_path_csv(&paths_csv, 3));
    let events = fx.read_csv("p3/events.csv");
    let (kind, name, day, detail) = (
        events.col("kind"),
        events.col("name"),
        events.col("day"),
        events.col("detail"),
    );
    let rows: Vec<(&str, f64, &str)> = events
        .rows
        .iter()
        .filter(|r| r[name] == "leave-a1")
        .map(|r| {
            (
                r[kind].as_str(),
                r[day].parse().unwrap(),
                r[detail].as_str(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[0].0, rows[0].1), ("redelegation", 100.0));
    assert_eq!((rows[1].0, rows[1].1), ("delegation", 114.0));
    // Half of alpha's 90 % of a1 is queued: 45 % of a1's stake.
    assert!(rows[0].2.contains("(45 %) of a1 queued"), "{}", rows[0].2);
    assert!(
        rows[1].2.contains("ETH left a1") && rows[1].2.contains("ETH to b1"),
        "{}",
        rows[1].2
    );
}

/// A sector path's story tells each LRT's outcome — its slashing, its NAV loss and a mint's
/// dilution — beside the whole stake's, and the mint among the events.
#[test]
fn a_sector_path_tells_each_lrts_outcome() {
    let fx = Fixture::new();
    let text = std::fs::read_to_string(repo_scenario("shared-operator.toml")).unwrap()
        + "\n[[exploits]]\nname = \"forged-mint\"\nat_days = 100\nkind = \"unbacked_mint\"\nsize = 0.1\nlrt = \"alpha\"\n";
    let scenario = arg(&fx.write_scenario("sector.toml", &text));
    let sets = ["simulation.paths=100"];
    let paths_csv = run_with_paths(&fx, &scenario, &sets, "res");
    replay(&fx, &scenario, &sets, &[4], &["-o", "p4"]).ok();
    assert_eq!(fx.read("p4/path.csv"), expected_path_csv(&paths_csv, 4));
    let summary = fx.read("p4/summary.txt");
    for needle in [
        "Value per unit of the operators' whole stake (every staker's)",
        "The LRTs' holders lost ",
        "    alpha: ",
        "% of its supply minted without backing (",
        "    beta: ",
        "LRT alpha minted without backing (10 % of the supply;",
    ] {
        assert!(summary.contains(needle), "{needle:?} not in\n{summary}");
    }
}

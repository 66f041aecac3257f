//! Tail-path replay: a replayed path's row is its row in the run, bit for bit, with its
//! weight; its trace accounts for the row (the events' ETH slashed add up to it, the last
//! step's NAV is the path's); a kernel with a trace recorder attached gives the same rows as
//! one without; the event-driven path's step rows (rewards added as they would accrue) agree
//! with the step-by-step path's.

use std::path::Path;

use lrtsim_scenario::{Model, load_file, load_str};
use lrtsim_sim::{
    EventKind, Layout, PathKernel, ReplayError, Replayer, RunOptions, SimResults, TraceStep,
    path_rng, replay, run,
};

/// The shipped scenarios replayed, each run with 3,000 paths.
const SCENARIOS: [&str; 10] = [
    "bench-slashing",
    "baseline",
    "bank-run",
    "steth-2022",
    "leverage-loop",
    "rseth-2026",
    "rare-tail",
    "client-bug-double-sign",
    "non-finality-leak",
    "market-oracle-cascade",
];

/// Paths replayed: the first two, both sides of the first chunk boundary, one further on.
const PATHS: [u64; 5] = [0, 1, 1023, 1024, 2500];

fn shipped(name: &str, paths: u64) -> Model {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../scenarios/{name}.toml"));
    load_file(&file, &[format!("simulation.paths={paths}")])
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn simulate(model: &Model) -> SimResults {
    run(
        model,
        &RunOptions {
            threads: 2,
            chunks: None,
        },
        &|_| {},
    )
    .unwrap()
}

/// Relative closeness, with a floor of 1 ETH (or 1) for values near 0.
fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

/// What every trace of `model` must satisfy, given the path's row.
fn check_trace(model: &Model, name: &str, path: u64, row: &[f64], steps: &[TraceStep]) {
    assert_eq!(steps.len(), model.n_steps as usize, "{name} path {path}");
    for (k, s) in steps.iter().enumerate() {
        assert_eq!(s.step as usize, k);
        assert_eq!(s.day, (k + 1) as f64 * model.step_days);
        assert_eq!(s.redemption.is_some(), model.withdrawals.is_some());
        assert_eq!(s.market.is_some(), model.market.is_some());
        assert_eq!(s.lending.is_some(), model.lending.is_some());
    }
    let last = steps.last().unwrap();
    assert_eq!(
        last.slashed_eth_cum.to_bits(),
        row[Layout::SLASHED_ETH].to_bits(),
        "{name} path {path}: the last step's ETH slashed is the row's"
    );
    assert_eq!(
        last.rewards_eth_cum.to_bits(),
        row[Layout::REWARDS_ETH].to_bits(),
        "{name} path {path}: the last step's rewards are the row's"
    );
    let nav = 1.0 + row[Layout::NAV_RETURN];
    assert!(
        (last.nav_per_lrt - nav).abs() <= 1e-9,
        "{name} path {path}: last NAV {} vs 1 + nav_return = {nav}",
        last.nav_per_lrt
    );
    let in_steps: f64 = steps.iter().map(|s| s.slashed_eth).sum();
    assert!(close(in_steps, row[Layout::SLASHED_ETH], 1e-9));
    if let (Some(m), Some(start)) = (&last.market, model.market.as_ref().map(|_| 0)) {
        let _ = start;
        let layout = Layout::new(model);
        let max = row[layout.index("max_discount").unwrap()];
        assert_eq!(
            m.max_discount.to_bits(),
            max.to_bits(),
            "{name} path {path}"
        );
    }
    if let Some(l) = &last.lending {
        let layout = Layout::new(model);
        let supply0 = model.collateral_eth
            + model
                .withdrawals
                .as_ref()
                .map_or(0.0, |w| w.buffer_initial_eth);
        let share = row[layout.index("liquidated_share").unwrap()];
        assert!(close(l.liquidated_lrt / supply0, share, 1e-12));
    }
    if let Some(r) = &last.redemption {
        let layout = Layout::new(model);
        let redeemed = row[layout.index("redeemed_eth").unwrap()];
        assert_eq!(r.redeemed_eth.to_bits(), redeemed.to_bits());
    }
}

#[test]
fn replayed_paths_are_the_runs_rows_with_traces_that_account_for_them() {
    let mut seen = std::collections::BTreeSet::new();
    for name in SCENARIOS {
        let model = shipped(name, 3000);
        let results = simulate(&model);
        let mut replayer = Replayer::new(&model);
        assert_eq!(
            replayer.tilt(),
            results.tilt.as_ref(),
            "{name}: the replayer resolves the run's tilt"
        );
        for path in PATHS {
            let r = replayer.replay(path).unwrap();
            let i = path as usize;
            assert_eq!(r.path, path);
            assert_eq!(r.layout, results.layout);
            for (c, column) in results.columns.iter().enumerate() {
                assert_eq!(
                    r.row[c].to_bits(),
                    column[i].to_bits(),
                    "{name} path {path}: column {} is {} in the run, {} replayed",
                    results.layout.names()[c],
                    column[i],
                    r.row[c]
                );
            }
            match (&results.weights, r.weight) {
                (None, None) => {}
                (Some(w), Some(x)) => assert_eq!(w[i].to_bits(), x.to_bits(), "{name} {path}"),
                (w, x) => panic!("{name} path {path}: weights {w:?} vs {x:?}"),
            }
            // The events' ETH slashed add up to the path's.
            let slashed: f64 = r.events.iter().map(|e| e.slashed_eth).sum();
            let total = r.row[Layout::SLASHED_ETH];
            assert!(
                (slashed - total).abs() <= 1e-9 * total.abs(),
                "{name} path {path}: events slash {slashed}, the row {total}"
            );
            // Events in time order, each in its step.
            for pair in r.events.windows(2) {
                assert!(
                    (pair[0].step, pair[0].day) <= (pair[1].step, pair[1].day),
                    "{name} path {path}: {:?} before {:?}",
                    pair[0],
                    pair[1]
                );
            }
            for e in &r.events {
                let t0 = f64::from(e.step) * model.step_days;
                assert!(e.day >= t0 && e.day <= t0 + model.step_days, "{e:?}");
                assert!(!e.name.is_empty() && !e.detail.is_empty(), "{e:?}");
                assert!(e.nav_per_lrt.is_finite());
                seen.insert(e.kind);
            }
            // The step rows count the events and their ETH slashed.
            let counted: u32 = r.steps.iter().map(|s| s.events).sum();
            assert_eq!(counted as usize, r.events.len());
            for s in &r.steps {
                let in_step: f64 = r
                    .events
                    .iter()
                    .filter(|e| e.step == s.step)
                    .map(|e| e.slashed_eth)
                    .sum();
                assert!(close(in_step, s.slashed_eth, 1e-9), "{name} {path} {s:?}");
            }
            check_trace(&model, name, path, &r.row, &r.steps);
            // The renderings have one line per row.
            assert_eq!(r.events_csv().lines().count(), r.events.len() + 1);
            assert_eq!(r.trace_csv().lines().count(), r.steps.len() + 1);
            assert_eq!(r.path_csv().lines().count(), 2);
            assert!(
                r.summary_text()
                    .contains(&format!("path {path} of scenario {name}"))
            );
        }
        // Beyond the last path.
        assert_eq!(
            replayer.replay(model.paths).unwrap_err(),
            ReplayError::PathOutOfRange {
                path: 3000,
                paths: 3000
            }
        );
    }
    // The scenarios between them exercise these kinds of events on the paths replayed.
    for kind in [
        EventKind::Shock,
        EventKind::AvsFault,
        EventKind::CopulaFault,
        EventKind::BeaconIncident,
        EventKind::Depeg,
    ] {
        assert!(seen.contains(&kind), "no {kind} event in {seen:?}");
    }
}

#[test]
fn a_kernel_with_a_recorder_gives_the_same_rows() {
    for name in SCENARIOS {
        let model = shipped(name, 3000);
        let results = simulate(&model);
        let mut kernel = match &results.tilt {
            Some(t) => {
                let direct: Vec<bool> = t.tilt.copulas.iter().map(|&s| s != 0.0).collect();
                PathKernel::with_tilt(&model, &t.tilt, &direct)
            }
            None => PathKernel::new(&model),
        };
        kernel.attach_trace();
        let mut row = vec![0.0; results.layout.len()];
        // One kernel over many paths (as a worker runs them): every trace starts afresh.
        for path in (0..3000).step_by(37).chain(PATHS) {
            kernel.run_path(&mut path_rng(model.seed, path), &mut row);
            for (c, column) in results.columns.iter().enumerate() {
                assert_eq!(
                    row[c].to_bits(),
                    column[path as usize].to_bits(),
                    "{name} path {path}, column {}",
                    results.layout.names()[c]
                );
            }
            if let Some(w) = &results.weights {
                assert_eq!(kernel.weight().to_bits(), w[path as usize].to_bits());
            }
            let trace = kernel.trace().expect("attached");
            check_trace(&model, name, path, &row, trace.steps());
        }
        assert!(kernel.detach_trace().is_some());
        assert!(kernel.trace().is_none());
    }
}

#[test]
fn replay_rejects_paths_outside_the_run() {
    let model = shipped("baseline", 10);
    assert!(replay(&model, 9).is_ok());
    let err = replay(&model, 10).unwrap_err();
    assert_eq!(
        err,
        ReplayError::PathOutOfRange {
            path: 10,
            paths: 10
        }
    );
    assert_eq!(
        err.to_string(),
        "path 10 is not a path of the run: it has 10 paths (ids 0 to 9)"
    );
    assert!(replay(&model, u64::MAX).is_err());
}

/// A scenario whose every event is scheduled and every draw fixed, with rewards, reserves
/// that take a share of them up to a cap, a theft with a restitution and two slashings;
/// `extra` appended.
fn deterministic(extra: &str) -> Model {
    let text = format!(
        r#"
[simulation]
paths = 3
horizon_days = 60
step_days = 1
seed = 5
[pool]
collateral_eth = 100000
[rewards]
base_apr = 0.03
mev_apr = 0.004
[[operators]]
name = "op-a"
share = 0.6
allocations = {{ x = 0.5, y = 0.3 }}
[[operators]]
name = "op-b"
share = 0.4
allocations = {{ x = 0.2 }}
[[avs]]
name = "x"
reward_apr = 0.01
[[avs]]
name = "y"
reward_apr = 0.02
[[shocks]]
name = "x-bug"
at_days = 10.5
select = {{ avs = ["x"] }}
severity = 0.1
[[shocks]]
name = "y-bug"
at_days = 40.25
select = {{ avs = ["y"] }}
severity = 0.2
[[exploits]]
name = "theft"
at_days = 20.5
size = 0.02
restitution_share = 0.5
restitution_days = 15
[[reserves]]
name = "fund"
initial_eth = 1000
reward_share = 0.5
cap_eth = 1050
covers = ["exploits"]
{extra}"#
    );
    load_str(&text, Path::new("deterministic.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn event_driven_step_rows_agree_with_the_step_by_step_path() {
    // Without [withdrawals] the path runs event by event, rewards accrued in whole steps up to
    // each event's step (at the rate after the step's events); with a front door nobody uses
    // it runs on the continuous clock, rewards accrued up to each event at the rate before
    // it, and a reserve refills as they come. Same book, same NAV — but for where the rewards of
    // an event's step go: within one step's rewards, 8.2e-5 of the assets at 3 % a year;
    // 1e-4 allowed.
    let fast = replay(&deterministic(""), 1).unwrap();
    let dormant = "[withdrawals.demand]\nbase_share_per_day = 1e-300\nnav_loss_sensitivity_per_day = 0\n\
                   wait_sensitivity_per_day = 0\n";
    let stepped = replay(&deterministic(dormant), 1).unwrap();
    assert!(fast.steps[0].redemption.is_none() && stepped.steps[0].redemption.is_some());
    assert_eq!(fast.steps.len(), 60);
    for (a, b) in fast.steps.iter().zip(&stepped.steps) {
        let w = (a.waterfall.unwrap(), b.waterfall.unwrap());
        for (x, y, what) in [
            (a.nav_per_lrt, b.nav_per_lrt, "NAV"),
            (a.rewards_eth_cum, b.rewards_eth_cum, "rewards"),
            (a.slashed_eth_cum, b.slashed_eth_cum, "slashed"),
            (w.0.reserves_eth, w.1.reserves_eth, "reserves"),
            (w.0.stolen_eth, w.1.stolen_eth, "stolen"),
            (w.0.reserve_paid_eth, w.1.reserve_paid_eth, "paid"),
        ] {
            // ETH amounts: within 1e-4 of the assets (100,000 ETH).
            let scale = if what == "NAV" { 1.0 } else { 100_000.0 };
            assert!(
                (x - y).abs() <= 1e-4 * scale,
                "step {}: {what} {x} vs {y}",
                a.step
            );
        }
        assert_eq!(a.events, b.events);
    }
    // The reserves filled up to their cap before the theft, then paid what they held.
    let before_theft = fast.steps[19].waterfall.unwrap();
    assert_eq!(before_theft.reserves_eth, 1050.0);
    assert_eq!(before_theft.reserve_paid_eth, 0.0);
    assert!(fast.steps[5].waterfall.unwrap().reserves_eth < 1050.0);
    // Four events: both shocks, the theft and its restitution, in time order.
    let kinds: Vec<(EventKind, &str)> = fast
        .events
        .iter()
        .map(|e| (e.kind, e.name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::Shock, "x-bug"),
            (EventKind::Exploit, "theft"),
            (EventKind::Restitution, "theft"),
            (EventKind::Shock, "y-bug")
        ]
    );
    let theft = &fast.events[1];
    assert!(theft.exploit_loss_eth > 1900.0);
    assert_eq!(theft.reserve_paid_eth, 1050.0);
    assert!(close(
        theft.net_loss_eth,
        theft.exploit_loss_eth - theft.reserve_paid_eth,
        1e-12
    ));
    let restitution = &fast.events[2];
    assert!(restitution.net_loss_eth <= 0.0, "{restitution:?}");
    assert!(
        fast.events[0]
            .detail
            .contains("severity 0.1 on 2 allocations: op-a/x, op-b/x"),
        "{}",
        fast.events[0].detail
    );
    // NAV: each shock's loss shows right after it, and the path ends where its row says.
    let slashed_x = 0.1 * (0.6 * 0.5 + 0.4 * 0.2) * 100_000.0;
    assert!(close(fast.events[0].slashed_eth, slashed_x, 1e-12));
    assert!(fast.events[0].nav_per_lrt < fast.steps[9].nav_per_lrt);
    let summary = fast.summary_text();
    for needle in [
        "Replay of path 1 of scenario deterministic",
        "Events (4, in time order)",
        "shock x-bug",
        "exploit theft",
        "Exploits: ",
        "Reserves: 1000 ETH at t = 0",
        "Notable points",
        "lowest NAV per LRT",
    ] {
        assert!(summary.contains(needle), "{needle:?} not in\n{summary}");
    }
}

#[test]
fn path_csv_is_the_runs_line() {
    // The header and the row as `paths.csv` writes them (`{}` floats, `weight` last).
    let model = shipped("rare-tail", 1100);
    let results = simulate(&model);
    let r = replay(&model, 1030).unwrap();
    let csv = r.path_csv();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[0], "path");
    assert_eq!(header.last(), Some(&"weight"));
    assert_eq!(&header[1..header.len() - 1], results.layout.names());
    let values: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(values[0], "1030");
    for (c, column) in results.columns.iter().enumerate() {
        assert_eq!(values[c + 1], column[1030].to_string());
    }
    let w = results.weights.as_ref().unwrap()[1030];
    assert_eq!(values.last().unwrap(), &w.to_string());
    assert!(r.summary_text().contains("likelihood-ratio weight"));
}

/// A replay whose step rows are streamed (through a bounded channel, written as they come)
/// gives the same trace.csv, summary and digest as one that keeps them.
#[test]
fn a_streamed_replay_equals_one_kept_in_memory() {
    use lrtsim_sim::trace::StepDigest;
    for name in ["bank-run", "steth-2022", "leverage-loop", "rseth-2026"] {
        let model = shipped(name, 3000);
        let mut replayer = Replayer::new(&model);
        for path in [0u64, 1024, 2500] {
            let kept = replayer.replay(path).unwrap();
            assert_eq!(kept.digest, StepDigest::of(&kept.steps), "{name} {path}");
            let (rows, received) = std::sync::mpsc::sync_channel::<TraceStep>(16);
            let mut csv = Vec::new();
            let streamed = std::thread::scope(|scope| {
                let r = &mut replayer;
                let worker = scope.spawn(move || r.replay_streaming(path, rows));
                lrtsim_sim::replayer::write_trace_csv(&mut csv, received).unwrap();
                worker.join().unwrap().unwrap()
            });
            assert!(streamed.steps.is_empty());
            assert_eq!(csv, kept.trace_csv().into_bytes(), "{name} {path}");
            assert_eq!(streamed.digest, kept.digest, "{name} {path}");
            assert_eq!(
                streamed.summary_text(),
                kept.summary_text(),
                "{name} {path}"
            );
            assert_eq!(streamed.events, kept.events);
        }
    }
}

/// A sector's path replays with its events named: sector-2026's forged mint and the lenders'
/// run on the sector's reserve (a supply shock of `[sector.lending]`, not of the pool's
/// `[lending.rates]`, which a sector does not have), at their days.
#[test]
fn a_sectors_reserve_events_replay_by_name() {
    let model = shipped("sector-2026", 4);
    let r = replay(&model, 0).unwrap();
    let named = |kind: EventKind, name: &str| {
        r.events
            .iter()
            .find(|e| e.kind == kind && e.name == name)
            .unwrap_or_else(|| panic!("no {kind:?} {name} in {:?}", r.events))
            .day
    };
    assert_eq!(named(EventKind::SupplyShock, "lenders-run"), 1.06);
    assert_eq!(named(EventKind::Exploit, "forged-bridge-message"), 1.0);
}

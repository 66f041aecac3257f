//! Value stability: the first paths of the shipped scenarios, pinned. The random-stream
//! contract — one Xoshiro256++ stream per (seed, path), events drawn in a fixed order — and
//! the model together decide these numbers; a change to either must change this file
//! deliberately (regenerate the literals with `lrtsim run <scenario> --set simulation.paths=3
//! --paths-csv`). A relative tolerance of 1e-12 absorbs last-bit differences of libm
//! between platforms; a changed stream moves the values by far more.

use std::path::Path;

use lrtsim_sim::{RunOptions, run};

/// Checks the first three paths of `name` (its own seed) against `expected[path][column]`.
fn pinned(name: &str, columns: &[&str], expected: [&[f64]; 3]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    let model = lrtsim_scenario::load_file(&path, &["simulation.paths=3".to_string()])
        .unwrap_or_else(|e| panic!("{e}"));
    let r = run(&model, &RunOptions::default(), &|_| {}).unwrap();
    for (c, col) in columns.iter().enumerate() {
        let got = r
            .column(col)
            .unwrap_or_else(|| panic!("{name}: no column {col}"));
        for p in 0..3 {
            let want = expected[p][c];
            let ok = if want == 0.0 {
                got[p] == 0.0
            } else {
                ((got[p] - want) / want).abs() < 1e-12
            };
            assert!(ok, "{name} path {p} {col}: {} vs pinned {want}", got[p]);
        }
    }
}

#[test]
fn bench_slashing_first_paths_are_pinned() {
    pinned(
        "bench-slashing.toml",
        &["slashed_eth", "nav_return"],
        [&[5000.0, -0.005], &[1000.0, -0.001], &[4000.0, -0.004]],
    );
}

#[test]
fn baseline_first_paths_are_pinned() {
    pinned(
        "baseline.toml",
        &["slashed_eth", "nav_return"],
        [
            &[2700.0851247665732, 0.02590074872385332],
            &[0.0, 0.028677539699999983],
            &[0.0, 0.028677539699999983],
        ],
    );
}

#[test]
fn bank_run_first_paths_are_pinned() {
    pinned(
        "bank-run.toml",
        &["slashed_eth", "nav_return", "redeem_days_t0"],
        [
            &[28761.86272277622, -0.014873129491706716, 0.0],
            &[27445.722436906177, -0.01564310687416348, 0.0],
            &[22263.111713340277, -0.01035561366439186, 0.0],
        ],
    );
}

#[test]
fn steth_2022_first_paths_are_pinned() {
    pinned(
        "steth-2022.toml",
        &["nav_return", "max_discount"],
        [
            &[0.016444109589041075, 0.038710349997188365],
            &[0.016444109589041075, 0.026749585091163652],
            &[0.016444109589041075, 0.023784246379582097],
        ],
    );
}

#[test]
fn ezeth_2024_first_paths_are_pinned() {
    pinned(
        "ezeth-2024.toml",
        &["max_discount", "forced_sale_loss"],
        [
            &[0.7061404501562473, 0.7213631793677544],
            &[0.6357625262965114, 0.6566315468120052],
            &[0.7275227639006159, 0.7411444626371053],
        ],
    );
}

#[test]
fn rseth_2026_first_paths_are_pinned() {
    pinned(
        "rseth-2026.toml",
        &["nav_return", "max_discount", "bad_debt_eth"],
        [
            &[
                -0.1752073009501638,
                0.039767655094481325,
                11332.593439895278,
            ],
            &[-0.173504491991051, 0.8023272537416428, 11269.823240427522],
            &[-0.17321464961572608, 0.9252663356833586, 11259.138857064383],
        ],
    );
}

#[test]
fn leverage_loop_first_paths_are_pinned() {
    pinned(
        "leverage-loop.toml",
        &["slashed_eth", "looper_equity_loss", "peak_borrow_rate"],
        [
            &[20323.170152022503, 0.23646396407750103, 0.02550527570427027],
            &[
                10110.131695630425,
                0.08530563094529242,
                0.025515948397977647,
            ],
            &[
                6685.0496079014865,
                0.03246366422444069,
                0.025515948397977647,
            ],
        ],
    );
}

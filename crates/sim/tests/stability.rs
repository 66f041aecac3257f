//! Value stability: the first paths of the shipped scenarios, pinned. The random-stream
//! contract — one Xoshiro256++ stream per (seed, chunk), events drawn in a fixed order — and
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
        [&[5000.0, -0.005], &[0.0, 0.0], &[2000.0, -0.002]],
    );
}

#[test]
fn baseline_first_paths_are_pinned() {
    pinned(
        "baseline.toml",
        &["slashed_eth", "nav_return"],
        [
            &[2700.0851247665732, 0.02590074872385332],
            &[1096.0969448870972, 0.027572661667231938],
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
            &[17140.46727773169, -0.006076687853484697, 0.0],
            &[31619.518634547454, -0.017465588070778915, 0.0],
        ],
    );
}

#[test]
fn steth_2022_first_paths_are_pinned() {
    pinned(
        "steth-2022.toml",
        &["nav_return", "max_discount"],
        [
            &[0.016444109589041075, 0.03857581189053383],
            &[0.016444109589041075, 0.07362818509612712],
            &[0.016444109589041075, 0.02342583753614691],
        ],
    );
}

#[test]
fn ezeth_2024_first_paths_are_pinned() {
    pinned(
        "ezeth-2024.toml",
        &["max_discount", "forced_sale_loss"],
        [
            &[0.7668826152936206, 0.7777214286874798],
            &[0.7724362774465525, 0.7828970419813241],
            &[0.7332706243514124, 0.7464856971561142],
        ],
    );
}

#[test]
fn rseth_2026_first_paths_are_pinned() {
    pinned(
        "rseth-2026.toml",
        &["nav_return", "max_discount", "bad_debt_eth"],
        [
            &[-0.1752640761336487, 0.19285828006308037, 11283.516289187039],
            &[
                -0.17504435126533346,
                0.21515933443907265,
                11268.911040768997,
            ],
            &[-0.1747496202015928, 0.22180334602372676, 11255.069923748397],
        ],
    );
}

#[test]
fn leverage_loop_first_paths_are_pinned() {
    pinned(
        "leverage-loop.toml",
        &["slashed_eth", "looper_equity_loss", "peak_borrow_rate"],
        [
            &[20323.1701123786, 0.23709645877735142, 0.02550534241301861],
            &[
                5289.458950751696,
                0.011597519281936641,
                0.025515948258820895,
            ],
            &[
                16937.479790466496,
                0.18629508019006558,
                0.026812246593701777,
            ],
        ],
    );
}

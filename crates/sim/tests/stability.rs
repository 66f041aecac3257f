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

/// The paths among the first `paths` of `name` on which `column` is positive, and its sum
/// over them (in path order), against `expected`: many more draws than three paths make —
/// the copula samplers' rarer branches among them.
fn pinned_totals(name: &str, paths: u64, column: &str, expected: (usize, f64)) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name);
    let model = lrtsim_scenario::load_file(&path, &[format!("simulation.paths={paths}")])
        .unwrap_or_else(|e| panic!("{e}"));
    let r = run(&model, &RunOptions::default(), &|_| {}).unwrap();
    let got = r
        .column(column)
        .unwrap_or_else(|| panic!("{name}: no column {column}"));
    let positive = got.iter().filter(|x| **x > 0.0).count();
    let sum: f64 = got.iter().sum();
    assert!(
        positive == expected.0 && ((sum - expected.1) / expected.1).abs() < 1e-12,
        "{name}, {paths} paths, {column}: {positive} positive, sum {sum:?}; pinned {expected:?}"
    );
}

#[test]
fn baseline_copula_faults_are_pinned() {
    // Its Student-t copula with group factors draws by the union sampler: about 0.66
    // candidate periods a path, most with several faults and rejected.
    pinned_totals(
        "baseline.toml",
        20_000,
        "slashed_eth.source.daily-faults",
        (3917, 11865884.259494869),
    );
}

#[test]
fn bench_slashing_first_paths_are_pinned() {
    pinned(
        "bench-slashing.toml",
        &["slashed_eth", "nav_return"],
        [&[4000.0, -0.004], &[6000.0, -0.006], &[3000.0, -0.003]],
    );
}

#[test]
fn baseline_first_paths_are_pinned() {
    pinned(
        "baseline.toml",
        &["slashed_eth", "nav_return"],
        [
            &[0.0, 0.028677539699999983],
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
            &[28761.86272277622, -0.01465085599729088, 0.0],
            &[27445.722436906177, -0.015433635362762654, 0.0],
            &[22263.111713340277, -0.010139046851053934, 0.0],
        ],
    );
}

#[test]
fn steth_2022_first_paths_are_pinned() {
    pinned(
        "steth-2022.toml",
        &["nav_return", "max_discount"],
        [
            &[0.016444109589041075, 0.03882754060334048],
            &[0.016444109589041075, 0.026805294617272435],
            &[0.016444109589041075, 0.02384426216905189],
        ],
    );
}

#[test]
fn ezeth_2024_first_paths_are_pinned() {
    pinned(
        "ezeth-2024.toml",
        &["max_discount", "forced_sale_loss"],
        [
            &[0.7205946117092035, 0.7347280061427082],
            &[0.6670648113306854, 0.6853528241549609],
            &[0.7381134662016765, 0.7509623563204041],
        ],
    );
}

#[test]
fn rseth_2026_first_paths_are_pinned() {
    pinned(
        "rseth-2026.toml",
        &["nav_return", "max_discount", "bad_debt_eth"],
        [
            &[-0.1751982112888315, 0.02464303987933414, 11333.164800496443],
            &[
                -0.17516778026438629,
                0.02597544486079051,
                11332.045164356585,
            ],
            &[
                -0.17498110627035712,
                0.08864196562996163,
                11325.176945034478,
            ],
        ],
    );
}

#[test]
fn leverage_loop_first_paths_are_pinned() {
    pinned(
        "leverage-loop.toml",
        &["slashed_eth", "looper_equity_loss", "peak_borrow_rate"],
        [
            &[20324.251694190734, 0.2365951967594775, 0.02550527570427027],
            &[
                10110.669728509813,
                0.08533910833083169,
                0.025515948399625822,
            ],
            &[6685.405367509538, 0.032446256582469246, 0.02551594839881385],
        ],
    );
}

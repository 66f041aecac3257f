//! Redelegations (`[[redelegations]]`): an LRT moves stake between operators through
//! EigenLayer's withdrawal escrow (`docs/core/DelegationManager.md`: queued withdrawals stay
//! slashable for `MIN_WITHDRAWAL_DELAY`; re-delegated stake takes the new operator's
//! allocations, ELIP-002's magnitudes being fractions of delegated stake). Scheduled shocks
//! give exact losses and rewards, worked by hand below; Poisson faults with a random decision
//! give a closed-form expectation, checked within 4 Monte Carlo standard errors at a fixed
//! seed; sectors whose LRTs hold every operator conserve losses and rewards on every path.

mod support;

use lrtsim_scenario::Model;
use support::sim::{col, load, simulate};

/// Two operators of 100 ETH, x with 40 % on AVS `a` and y with 30 %; staking 3 % and AVS
/// 2 % a year, no commission or fee; 60 days; scheduled shocks on x/a at day 20 and on y/a
/// at day 30, both slashing half; `lrts` (operator tables' extra line) and `extra` appended.
fn two_operators(x_extra: &str, y_extra: &str, extra: &str, paths: u64) -> String {
    format!(
        r#"
[simulation]
paths = {paths}
horizon_days = 60
step_days = 1
seed = 5
[pool]
collateral_eth = 200
protocol_fee = 0
[rewards]
base_apr = 0.03
mev_apr = 0
operator_commission = 0
[[operators]]
name = "x"
stake_eth = 100
allocations = {{ a = 0.4 }}
{x_extra}
[[operators]]
name = "y"
stake_eth = 100
allocations = {{ a = 0.3 }}
{y_extra}
[[avs]]
name = "a"
reward_apr = 0.02
[[shocks]]
name = "x-bug"
at_days = 20
severity = 0.5
hit_per = "event"
select = {{ operators = ["x"], avs = ["a"] }}
[[shocks]]
name = "y-bug"
at_days = 30
severity = 0.5
hit_per = "event"
select = {{ operators = ["y"], avs = ["a"] }}
{extra}
"#
    )
}

fn model(text: &str) -> Model {
    load(text, "redelegation.toml", &[])
}

/// Half of the stake at x moves to y: decided on day 10, in escrow 14 days.
const MOVE_HALF: &str = r#"
[[redelegations]]
name = "rotate"
at_days = 10
from = ["x"]
to = { y = 1.0 }
share = 0.5
"#;

const S: f64 = 0.03;
const A: f64 = 0.02;

/// The pool moves half of x to y. Day 20: x/a loses half its 40 ETH (the queued half is still
/// slashable there) → x holds 80, 20 allocated. Day 24: 40 ETH leave x (10 allocated go with
/// them) and join y, where 30 % is allocated → y holds 140, 42 allocated. Day 30: y/a loses
/// half its 42 ETH. Rewards follow the book: 200 s + 70 a for 20 days, 180 s + 50 a for 4,
/// 180 s + 52 a for 6, 159 s + 31 a for 30.
#[test]
fn the_pool_moves_stake_in_closed_form() {
    let r = simulate(&model(&two_operators("", "", MOVE_HALF, 4)));
    let rewards = ((200.0 * S + 70.0 * A) * 20.0
        + (180.0 * S + 50.0 * A) * 4.0
        + (180.0 * S + 52.0 * A) * 6.0
        + (159.0 * S + 31.0 * A) * 30.0)
        / 365.0;
    for p in 0..4 {
        assert!((col(&r, "slashed_eth")[p] - 41.0).abs() < 1e-12);
        assert!((col(&r, "rewards_eth")[p] - rewards).abs() < 1e-12);
    }
    // Without the move: 20 + 15.
    let still = simulate(&model(&two_operators("", "", "", 1)));
    assert!((col(&still, "slashed_eth")[0] - 35.0).abs() < 1e-12);
    // The same with the escrow over before the first shock: x/a then holds 20, y/a 42.
    let quick = simulate(&model(&two_operators(
        "",
        "",
        &MOVE_HALF.replace("share = 0.5", "share = 0.5\nescrow_days = 5"),
        1,
    )));
    assert!((col(&quick, "slashed_eth")[0] - (10.0 + 0.5 * (30.0 + 0.3 * 50.0))).abs() < 1e-12);
    // Halving the step changes nothing: the events fall on whole days either way.
    let text = two_operators("", "", MOVE_HALF, 1);
    let half = simulate(&load(
        &text,
        "redelegation.toml",
        &["simulation.step_days=0.5".into()],
    ));
    assert!((col(&half, "slashed_eth")[0] - 41.0).abs() < 1e-12);
    assert!((col(&half, "rewards_eth")[0] - rewards).abs() < 1e-12);
}

/// Two LRTs on x and y: alpha holds 50 % of x and 20 % of y, beta 30 % and 50 %, others the
/// rest; alpha leaves x for y (decided on day 10, moved on day 24). Day 20: x/a loses 20 ETH,
/// alpha bears 10 (its queued stake among it), beta 6. Day 24: alpha's 40 ETH join y, which
/// holds 140: alpha's fraction is 60/140, beta's 50/140; beta's fraction of x (now 40 ETH)
/// 0.3/0.5. Day 30: y/a loses 21 ETH: alpha 9, beta 7.5. Rewards: each LRT's fractions of
/// each operator's rewards, segment by segment.
#[test]
fn a_sector_lrt_moves_its_stake_in_closed_form() {
    let text = two_operators(
        "lrts = { alpha = 0.5, beta = 0.3 }",
        "lrts = { alpha = 0.2, beta = 0.5 }",
        &format!(
            "{}\nlrt = \"alpha\"\nshare = 1\n[[lrts]]\nname = \"alpha\"\n[[lrts]]\nname = \"beta\"\n",
            MOVE_HALF.replace("share = 0.5\n", "")
        ),
        3,
    );
    let r = simulate(&model(&text));
    // Each operator's reward rate, per segment: [0, 20), [20, 24), [24, 30), [30, 60).
    let x = [
        100.0 * S + 40.0 * A,
        80.0 * S + 20.0 * A,
        40.0 * S + 10.0 * A,
        40.0 * S + 10.0 * A,
    ];
    let y = [
        100.0 * S + 30.0 * A,
        100.0 * S + 30.0 * A,
        140.0 * S + 42.0 * A,
        119.0 * S + 21.0 * A,
    ];
    let days = [20.0, 4.0, 6.0, 30.0];
    let alpha = [
        (0.5, 0.2),
        (0.5, 0.2),
        (0.0, 60.0 / 140.0),
        (0.0, 60.0 / 140.0),
    ];
    let beta = [
        (0.3, 0.5),
        (0.3, 0.5),
        (0.6, 50.0 / 140.0),
        (0.6, 50.0 / 140.0),
    ];
    let rewards = |f: [(f64, f64); 4]| -> f64 {
        (0..4)
            .map(|k| (f[k].0 * x[k] + f[k].1 * y[k]) * days[k] / 365.0)
            .sum()
    };
    for p in 0..3 {
        let got = |m: &str| col(&r, m)[p];
        assert!((got("slashed_eth") - 41.0).abs() < 1e-12);
        assert!((got("slashed_eth.lrt.alpha") - 19.0).abs() < 1e-12);
        assert!((got("slashed_eth.lrt.beta") - 13.5).abs() < 1e-12);
        for (name, f) in [("alpha", alpha), ("beta", beta)] {
            let want = rewards(f);
            let have = got(&format!("rewards_eth.lrt.{name}"));
            assert!((have - want).abs() < 1e-12, "{name}: {have} vs {want}");
        }
    }
    // The others keep what the LRTs do not bear: 20 % of x's loss, 30/140 of y's.
    let others = col(&r, "slashed_eth")[0] - col(&r, "sector_slashed_eth")[0];
    assert!((others - (0.2 * 20.0 + 30.0 / 140.0 * 21.0)).abs() < 1e-12);
}

/// Two LRTs holding every operator between them, Poisson faults on two AVSs and beacon
/// incidents, random moves both ways and thefts at one of them: on every path the LRTs'
/// losses add up to the pool's and their rewards to its rewards (nothing is lost or made by
/// moving stake; what a theft takes earns for no one).
#[test]
fn a_sector_conserves_losses_and_rewards_on_every_path() {
    let text = r#"
[simulation]
paths = 2000
horizon_days = 365
step_days = 1
seed = 21
[pool]
collateral_eth = 300
[rewards]
base_apr = 0.03
mev_apr = 0.005
[[operators]]
name = "x"
stake_eth = 100
allocations = { a = 0.5, b = 0.2 }
lrts = { alpha = 0.6, beta = 0.4 }
[[operators]]
name = "y"
stake_eth = 100
allocations = { b = 0.7 }
lrts = { alpha = 0.1, beta = 0.9 }
[[operators]]
name = "z"
stake_eth = 100
allocations = { a = 0.2 }
lrts = { alpha = 1.0 }
[[avs]]
name = "a"
reward_apr = 0.02
fault_rate_per_year = 2
fault_severity = { dist = "beta", mean = 0.2, sd = 0.1 }
[[avs]]
name = "b"
reward_apr = 0.04
fault_rate_per_year = 3
fault_severity = { dist = "beta", mean = 0.1, sd = 0.05 }
[[lrts]]
name = "alpha"
[[lrts]]
name = "beta"
[[redelegations]]
name = "alpha-out"
lrt = "alpha"
rate_per_year = 2
from = ["x", "z"]
to = { y = 1.0 }
share = 0.8
[[redelegations]]
name = "beta-in"
lrt = "beta"
rate_per_year = 3
from = ["y"]
to = { x = 0.5, z = 0.5 }
share = 0.5
escrow_days = 7
[[exploits]]
name = "drain"
rate_per_year = 2
kind = "stolen"
size = 0.05
lrt = "alpha"
[[beacon_incidents]]
name = "client-bug"
kind = "double_sign"
rate_per_year = 1
select = { operators = ["x", "y"] }
hit_probability = 0.7
validator_share = 0.3
network_slashed_share = 0.05
"#;
    let r = simulate(&load(text, "conserve.toml", &[]));
    let (mut moved, mut slashed) = (0, 0);
    for p in 0..2000 {
        let got = |m: &str| col(&r, m)[p];
        let pool = got("slashed_eth");
        let lrts = got("slashed_eth.lrt.alpha") + got("slashed_eth.lrt.beta");
        assert!(
            (lrts - pool).abs() <= 1e-9 * pool.max(1.0),
            "path {p}: {lrts} vs {pool}"
        );
        let pool = got("rewards_eth");
        let lrts = got("rewards_eth.lrt.alpha") + got("rewards_eth.lrt.beta");
        assert!(
            (lrts - pool).abs() <= 1e-9 * pool,
            "path {p}: {lrts} vs {pool}"
        );
        slashed += usize::from(got("slashed_eth") > 0.0);
        moved += usize::from(got("slashed_eth.lrt.alpha") > 0.0);
    }
    assert!(
        slashed > 1000 && moved > 500,
        "{slashed} {moved}: the test sees losses"
    );
}

/// A random decision: x (100 ETH, all allocated to `a`, whose faults come at λ = 3 a year and
/// slash f = 0.2) is left for y (unallocated) at the first event of a Poisson process of
/// ρ = 2 a year, 14 days of escrow later. Given the exposure τ = min(T + e, H), the loss is
/// 100 (1 − (1 − f)^N) with N ~ Poisson(λτ), so E[loss] = 100 (1 − E[e^{−λfτ}]) and, with
/// c = λf, E[e^{−cτ}] = e^{−ce} ρ/(ρ + c) (1 − e^{−(ρ+c)(H−e)}) + e^{−ρ(H−e)} e^{−cH}.
#[test]
fn a_random_move_ends_the_exposure_in_expectation() {
    let n = 20_000;
    let text = format!(
        r#"
[simulation]
paths = {n}
horizon_days = 365
step_days = 1
seed = 8
[pool]
collateral_eth = 200
[[operators]]
name = "x"
stake_eth = 100
allocations = {{ a = 1.0 }}
[[operators]]
name = "y"
stake_eth = 100
[[avs]]
name = "a"
fault_rate_per_year = 3
fault_severity = 0.2
[[redelegations]]
name = "leave-x"
rate_per_year = 2
from = ["x"]
to = {{ y = 1.0 }}
"#
    );
    let r = simulate(&load(&text, "random-move.toml", &[]));
    let loss = col(&r, "slashed_eth");
    let mean = loss.iter().sum::<f64>() / n as f64;
    let var = loss.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let se = (var / n as f64).sqrt();
    let (rho, c, e, h): (f64, f64, f64, f64) = (2.0, 3.0 * 0.2, 14.0 / 365.0, 1.0);
    let mgf = (-c * e).exp() * rho / (rho + c) * (1.0 - (-(rho + c) * (h - e)).exp())
        + (-rho * (h - e)).exp() * (-c * h).exp();
    let want = 100.0 * (1.0 - mgf);
    assert!(
        (mean - want).abs() < 4.0 * se,
        "mean {mean} vs {want} (se {se})"
    );
    // Staying put would lose 100 (1 − e^{−cH}) ≈ 45: the move is what the test sees.
    assert!(want < 0.7 * 100.0 * (1.0 - (-c * h).exp()));
}

/// An operator undelegating its stakers (`[[undelegations]]`) is each LRT's move of all its
/// stake there, decided at that moment: x undelegates on day 10, alpha and beta (by default)
/// go to their only other operator, y. Day 20: x/a loses 20 ETH — alpha bears 10, beta 6
/// (their queued stake still slashable). Day 24: alpha's 40 ETH and beta's 24 join y, which
/// holds 164, 49.2 allocated. Day 30: y/a loses 24.6 — alpha (60 of 164) 9, beta (74 of 164)
/// 11.1. Every column equals the run with the two moves written by hand, on every path; in a
/// one-LRT scenario the pool moves.
#[test]
fn an_undelegation_moves_every_lrts_stake_in_closed_form() {
    let lrts = "[[lrts]]\nname = \"alpha\"\n[[lrts]]\nname = \"beta\"\n";
    let sector = |extra: &str| {
        two_operators(
            "lrts = { alpha = 0.5, beta = 0.3 }",
            "lrts = { alpha = 0.2, beta = 0.5 }",
            &format!("{extra}\n{lrts}"),
            3,
        )
    };
    let undelegate = "[[undelegations]]\nname = \"x-out\"\noperator = \"x\"\nat_days = 10\n";
    let m = model(&sector(undelegate));
    let moves: Vec<_> = (m.redelegations.iter())
        .map(|r| {
            (
                r.name.as_str(),
                r.lrt,
                r.from.clone(),
                r.to.clone(),
                r.share,
                r.decided_with,
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("x-out.alpha", 0, vec![0], vec![(1, 1.0)], 1.0, None),
            ("x-out.beta", 1, vec![0], vec![(1, 1.0)], 1.0, Some(0)),
        ]
    );
    let r = simulate(&m);
    let by_hand = simulate(&model(&sector(
        "[[redelegations]]\nname = \"a\"\nlrt = \"alpha\"\nat_days = 10\nfrom = [\"x\"]\nto = { y = 1 }\n\
         [[redelegations]]\nname = \"b\"\nlrt = \"beta\"\nat_days = 10\nfrom = [\"x\"]\nto = { y = 1 }\n",
    )));
    assert_eq!(r.columns, by_hand.columns);
    for p in 0..3 {
        let got = |m: &str| col(&r, m)[p];
        assert!((got("slashed_eth.lrt.alpha") - 19.0).abs() < 1e-12);
        assert!((got("slashed_eth.lrt.beta") - (6.0 + 24.6 * 74.0 / 164.0)).abs() < 1e-12);
        assert!((got("slashed_eth") - 44.6).abs() < 1e-12);
    }
    // One LRT: the pool leaves x for y, as MOVE_HALF does with all of it.
    let one = simulate(&model(&two_operators("", "", undelegate, 2)));
    let all = simulate(&model(&two_operators(
        "",
        "",
        &MOVE_HALF.replace("share = 0.5", "share = 1"),
        2,
    )));
    assert_eq!(one.columns, all.columns);
    assert!((col(&one, "slashed_eth")[0] - (20.0 + 0.5 * 0.3 * 180.0)).abs() < 1e-12);
}

/// At a random time, every LRT moves at the operator's one moment: x (all allocated to `a`)
/// undelegates at the first event of a Poisson process of ρ = 2 a year, without escrow, and a
/// shock on day 180 halves x/a. On every path alpha and beta (half of x each) lose the same —
/// 25 ETH each if x has not undelegated by then, nothing if it has — and the share of paths
/// with a loss is e^(−ρ·180/365) within 4 standard errors. Two moves decided independently
/// (written by hand) differ on some paths: the test sees the shared moment.
#[test]
fn an_undelegations_lrts_move_at_one_random_moment() {
    let n = 4_000;
    let text = |moves: &str| {
        format!(
            r#"
[simulation]
paths = {n}
horizon_days = 365
step_days = 1
seed = 9
[pool]
collateral_eth = 200
[[operators]]
name = "x"
stake_eth = 100
allocations = {{ a = 1.0 }}
lrts = {{ alpha = 0.5, beta = 0.5 }}
[[operators]]
name = "y"
stake_eth = 100
lrts = {{ alpha = 0.5, beta = 0.5 }}
[[avs]]
name = "a"
[[shocks]]
name = "x-bug"
at_days = 180
severity = 0.5
hit_per = "event"
select = {{ operators = ["x"], avs = ["a"] }}
[[lrts]]
name = "alpha"
[[lrts]]
name = "beta"
{moves}
"#
        )
    };
    let r = simulate(&model(&text(
        "[[undelegations]]\nname = \"x-out\"\noperator = \"x\"\nrate_per_year = 2\nescrow_days = 0\n",
    )));
    let (alpha, beta) = (
        col(&r, "slashed_eth.lrt.alpha"),
        col(&r, "slashed_eth.lrt.beta"),
    );
    let mut hit = 0;
    for p in 0..n {
        assert_eq!(alpha[p], beta[p], "path {p}");
        assert!(
            alpha[p] == 0.0 || (alpha[p] - 25.0).abs() < 1e-9,
            "path {p}: {}",
            alpha[p]
        );
        hit += usize::from(alpha[p] > 0.0);
    }
    let q = (-2.0_f64 * 180.0 / 365.0).exp();
    let se = (q * (1.0 - q) / n as f64).sqrt();
    let share = hit as f64 / n as f64;
    assert!((share - q).abs() < 4.0 * se, "{share} vs {q} (se {se})");
    let apart = simulate(&model(&text(
        "[[redelegations]]\nname = \"a\"\nlrt = \"alpha\"\nrate_per_year = 2\nescrow_days = 0\nfrom = [\"x\"]\nto = { y = 1 }\n\
         [[redelegations]]\nname = \"b\"\nlrt = \"beta\"\nrate_per_year = 2\nescrow_days = 0\nfrom = [\"x\"]\nto = { y = 1 }\n",
    )));
    let differ = (0..n)
        .filter(|&p| {
            col(&apart, "slashed_eth.lrt.alpha")[p] != col(&apart, "slashed_eth.lrt.beta")[p]
        })
        .count();
    assert!(differ > n / 10, "{differ} paths differ");
}

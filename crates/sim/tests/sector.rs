//! Sector scenarios (`[[lrts]]`): several LRTs delegating shares of one set of operators.
//! Checked against what must hold whatever the randomness (an LRT holding every operator is
//! the pool; proportional delegations give comonotone losses, to the bit; a scheduled shock
//! splits by the shares in closed form) and, with fixed seeds, against the laws of the LRTs
//! run alone (two-sample Kolmogorov–Smirnov at α = 0.001) and their independence when they
//! share nothing (a 2×2 χ² test at α = 0.001).

mod support;

use std::path::Path;

use lrtsim_scenario::{Model, load_str};
use lrtsim_sim::SimResults;
use support::sim::{col, simulate};
use support::two_sample::{ks_critical, ks_statistic};

fn load(text: &str, paths: u64) -> Model {
    load_str(
        text,
        Path::new("sector.toml"),
        &[format!("simulation.paths={paths}")],
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A shipped scenario's text with `[[lrts]] name = "all"` and every operator delegating
/// all its stake to it.
fn whole_pool_as_one_lrt(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(file);
    let text = std::fs::read_to_string(path).unwrap();
    text.replace("[[operators]]\n", "[[operators]]\nlrts = { all = 1.0 }\n")
        + "\n[[lrts]]\nname = \"all\"\n"
}

/// An LRT to which every operator delegates all its stake is the pool: its slashing, its
/// slashed fraction, its rewards and its NAV loss are the pool's on every path — with AVS
/// slashing, beacon incidents and their correlation penalties (baseline), double signing
/// (client-bug-double-sign), inactivity leaks accrued step by step (non-finality-leak) and
/// importance sampling (rare-tail).
#[test]
fn one_lrt_holding_every_operator_is_the_pool() {
    for file in [
        "baseline.toml",
        "client-bug-double-sign.toml",
        "non-finality-leak.toml",
        "rare-tail.toml",
    ] {
        let model = load(&whole_pool_as_one_lrt(file), 4_000);
        assert_eq!(model.lrts.len(), 1);
        let r = simulate(&model);
        let close = |a: &[f64], b: &[f64], what: &str, scale: f64| {
            for (p, (x, y)) in a.iter().zip(b).enumerate() {
                assert!(
                    (x - y).abs() <= 1e-12 * scale.max(y.abs()),
                    "{file}: path {p}: {what} {x} vs the pool's {y}"
                );
            }
        };
        let slashed = col(&r, "slashed_eth");
        assert!(slashed.iter().filter(|x| **x > 0.0).count() > 50, "{file}");
        close(col(&r, "slashed_eth.lrt.all"), slashed, "slashed_eth", 1.0);
        close(col(&r, "sector_slashed_eth"), slashed, "sector", 1.0);
        close(
            col(&r, "slashed_fraction.lrt.all"),
            col(&r, "slashed_fraction"),
            "slashed_fraction",
            0.1,
        );
        close(
            col(&r, "rewards_eth.lrt.all"),
            col(&r, "rewards_eth"),
            "rewards",
            1.0,
        );
        let nav_loss: Vec<f64> = col(&r, "nav_return").iter().map(|x| -x).collect();
        // A NAV loss is a small difference of larger sums: to 1e-13 of the NAV.
        close(col(&r, "nav_loss.lrt.all"), &nav_loss, "nav_loss", 0.1);
    }
}

/// Two LRTs delegating 60 % and 30 % of every operator: one's losses are twice the other's
/// on every path, to the bit (scaling by 2 is exact in binary floating point), so their
/// slashed fractions and NAV losses are equal to the bit — perfectly comonotone. Other
/// stakers hold the remaining 10 %: the sector bears 90 % of the slashing.
#[test]
fn proportional_delegations_slash_comonotonically() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/shared-operator.toml"),
    )
    .unwrap();
    let mut proportional = String::new();
    for line in text.lines() {
        if line.starts_with("lrts = ") {
            proportional.push_str("lrts = { alpha = 0.6, beta = 0.3 }\n");
        } else {
            proportional.push_str(line);
            proportional.push('\n');
        }
    }
    let r = simulate(&load(&proportional, 10_000));
    let (alpha, beta) = (
        col(&r, "slashed_eth.lrt.alpha"),
        col(&r, "slashed_eth.lrt.beta"),
    );
    assert!(alpha.iter().filter(|x| **x > 0.0).count() > 100);
    for p in 0..alpha.len() {
        assert_eq!(alpha[p].to_bits(), (2.0 * beta[p]).to_bits(), "path {p}");
        for metric in ["slashed_fraction", "nav_loss"] {
            let a = col(&r, &format!("{metric}.lrt.alpha"))[p];
            let b = col(&r, &format!("{metric}.lrt.beta"))[p];
            assert_eq!(a.to_bits(), b.to_bits(), "path {p}: {metric} {a} vs {b}");
        }
        let sector = col(&r, "sector_slashed_eth")[p];
        let all = col(&r, "slashed_eth")[p];
        assert!((sector - 0.9 * all).abs() <= 1e-12 * all, "path {p}");
        // Comonotone: both lose more than x exactly when one does.
        for (b, x) in [(100, 0.01), (500, 0.05)] {
            let joint = col(&r, &format!("joint_loss_over_{b}bps"))[p];
            let one = col(&r, "slashed_fraction.lrt.alpha")[p] > x;
            assert_eq!(joint, f64::from(u8::from(one)), "path {p}, {b} bps");
        }
    }
}

/// Moving the shared operators' stake from both LRTs to one each (s1 to alpha, s2 to beta)
/// removes the overlap; with the same random numbers path by path (the operators, AVSs and
/// sources are unchanged), the probability that both lose more than 1 % falls — by more
/// than four standard errors of the paired difference — and the joint indicator is, on every
/// path, the AND of the two fractions' exceedances (`loss_over_100bps.lrt.*`).
#[test]
fn overlap_raises_the_joint_tail() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/shared-operator.toml"),
    )
    .unwrap();
    let n = 40_000;
    let with_overlap = load(&text, n);
    let without_overlap = load_str(
        &text,
        Path::new("sector.toml"),
        &[
            "operators.s1.lrts.alpha=0.9",
            "operators.s1.lrts.beta=0",
            "operators.s2.lrts.alpha=0",
            "operators.s2.lrts.beta=0.9",
            &format!("simulation.paths={n}"),
        ]
        .map(String::from),
    )
    .unwrap();
    // Each LRT keeps its collateral: only where it sits changes.
    for (a, b) in with_overlap.lrts.iter().zip(&without_overlap.lrts) {
        assert_eq!(a.collateral_eth, b.collateral_eth, "{}", a.name);
    }
    let (shared, separate) = (simulate(&with_overlap), simulate(&without_overlap));
    let joint = |r: &SimResults| col(r, "joint_loss_over_100bps").to_vec();
    for r in [&shared, &separate] {
        let (a, b, j) = (
            col(r, "slashed_fraction.lrt.alpha"),
            col(r, "slashed_fraction.lrt.beta"),
            joint(r),
        );
        let (ea, eb) = (
            col(r, "loss_over_100bps.lrt.alpha"),
            col(r, "loss_over_100bps.lrt.beta"),
        );
        for p in 0..n as usize {
            assert_eq!(j[p], f64::from(u8::from(a[p] > 0.01 && b[p] > 0.01)));
            // Each LRT's own exceedance, whose AND the joint indicator is.
            assert_eq!(ea[p], f64::from(u8::from(a[p] > 0.01)));
            assert_eq!(eb[p], f64::from(u8::from(b[p] > 0.01)));
            assert_eq!(j[p], ea[p] * eb[p]);
        }
    }
    let d: Vec<f64> = joint(&shared)
        .iter()
        .zip(joint(&separate))
        .map(|(x, y)| x - y)
        .collect();
    let mean = d.iter().sum::<f64>() / n as f64;
    let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
    let se = (var / n as f64).sqrt();
    assert!(
        mean > 4.0 * se,
        "P(both > 1 %) with overlap − without = {mean} (SE {se})"
    );
}

/// Operators a1, a2 (alpha's), b1 (beta's) and s (shared: alpha 0.25, beta 0.5); one
/// scheduled shock on day 73 slashes 20 % of every allocation to `da`, and nothing else
/// happens. Each operator loses 0.2 × its `da` allocation; each LRT its shares of those, and
/// of the rewards they no longer earn from day 73 on (rewards accrue in whole days).
const SCHEDULED: &str = r#"
[simulation]
paths = 10
horizon_days = 365
seed = 3

[pool]
collateral_eth = 400
protocol_fee = 0.1

[rewards]
base_apr = 0.03
mev_apr = 0.005
operator_commission = 0.1

[[lrts]]
name = "alpha"

[[lrts]]
name = "beta"

[[operators]]
name = "a1"
stake_eth = 100
lrts = { alpha = 1.0 }
allocations = { da = 0.5, oracle = 0.2 }

[[operators]]
name = "a2"
stake_eth = 100
lrts = { alpha = 0.8 }
allocations = { da = 0.3 }

[[operators]]
name = "b1"
stake_eth = 100
lrts = { beta = 1.0 }
allocations = { oracle = 0.6 }

[[operators]]
name = "s"
stake_eth = 100
lrts = { alpha = 0.25, beta = 0.5 }
allocations = { da = 0.4, oracle = 0.1 }

[[avs]]
name = "da"
reward_apr = 0.01

[[avs]]
name = "oracle"
reward_apr = 0.02

[[shocks]]
name = "da-bug"
at_days = 73
select = { avs = ["da"] }
hit_per = "event"
severity = 0.2
"#;

#[test]
fn a_scheduled_shock_splits_by_the_shares_in_closed_form() {
    let r = simulate(&load(SCHEDULED, 10));
    // Net rates per ETH per year: staking (0.035) and each AVS's APR, after 10 % commission
    // and the 10 % protocol fee.
    let keep = 0.9 * 0.9;
    let (staking, da, oracle) = (0.035 * keep, 0.01 * keep, 0.02 * keep);
    // (stake, da allocation, oracle allocation, alpha share, beta share)
    let ops = [
        (100.0, 50.0, 20.0, 1.0, 0.0),
        (100.0, 30.0, 0.0, 0.8, 0.0),
        (100.0, 0.0, 60.0, 0.0, 1.0),
        (100.0, 40.0, 10.0, 0.25, 0.5),
    ];
    let after = (365.0 - 73.0) / 365.0;
    let mut slashed = [0.0; 2];
    let mut rewards = [0.0; 2];
    let mut collateral = [0.0; 2];
    for (stake, a_da, a_or, s_alpha, s_beta) in ops {
        let loss = 0.2 * a_da;
        let rate0: f64 = stake * staking + a_da * da + a_or * oracle;
        let drop = loss * (staking + da);
        for (l, share) in [s_alpha, s_beta].into_iter().enumerate() {
            slashed[l] += share * loss;
            rewards[l] += share * (rate0 - drop * after);
            collateral[l] += share * stake;
        }
    }
    for (l, name) in ["alpha", "beta"].iter().enumerate() {
        let expect_nav_loss = (slashed[l] - rewards[l]) / collateral[l];
        for p in 0..10 {
            let got = |m: &str| col(&r, &format!("{m}.lrt.{name}"))[p];
            assert!((got("slashed_eth") - slashed[l]).abs() < 1e-12, "{name}");
            assert!(
                (got("slashed_fraction") - slashed[l] / collateral[l]).abs() < 1e-14,
                "{name}"
            );
            assert!(
                (got("rewards_eth") - rewards[l]).abs() < 1e-11,
                "{name}: rewards {} vs {}",
                got("rewards_eth"),
                rewards[l]
            );
            assert!((got("nav_loss") - expect_nav_loss).abs() < 1e-14, "{name}");
        }
    }
    // alpha: 0.2 × (50 + 0.8 × 30 + 0.25 × 40) = 16.8 ETH; beta: 0.2 × 0.5 × 40 = 4 ETH.
    assert!((slashed[0] - 16.8).abs() < 1e-12 && (slashed[1] - 4.0).abs() < 1e-12);
    let sector = col(&r, "sector_slashed_eth")[0];
    assert!((sector - 20.8).abs() < 1e-12);
    // The shared operator's other stakers (25 %) lose the rest: 0.25 × 0.2 × 40 + 0.2 × 0.2 × 30.
    let others = col(&r, "slashed_eth")[0] - sector;
    assert!((others - (0.25 * 0.2 * 40.0 + 0.2 * 0.2 * 30.0)).abs() < 1e-12);
}

/// alpha in SCHEDULED — a1 (100 % of 100 ETH), a2 (80 %), s (25 %), as in the closed form
/// above: (its slashed ETH, its net reward rate at t = 0, what the day-73 slashing takes off
/// that rate, both ETH per year, its collateral).
fn alpha_in_scheduled() -> (f64, f64, f64, f64) {
    let keep = 0.9 * 0.9;
    let (staking, da, oracle) = (0.035 * keep, 0.01 * keep, 0.02 * keep);
    let (mut slashed, mut rate0, mut drop, mut c) = (0.0, 0.0, 0.0, 0.0);
    for (stake, a_da, a_or, share) in [
        (100.0, 50.0, 20.0, 1.0),
        (100.0, 30.0, 0.0, 0.8),
        (100.0, 40.0, 10.0, 0.25),
    ] {
        let loss: f64 = 0.2 * a_da;
        slashed += share * loss;
        rate0 += share * (stake * staking + a_da * da + a_or * oracle);
        drop += share * loss * (staking + da);
        c += share * stake;
    }
    (slashed, rate0, drop, c)
}

/// An unbacked mint at one LRT of a sector (a forged bridge message, as at rsETH in April
/// 2026) dilutes that LRT's holders alone: minting m of alpha's supply on day 200 takes its
/// NAV per token to (assets at the horizon) ÷ ((1 + m) × collateral), its dilution is the
/// minted LRT at the NAV just before (collateral less slashing plus 200 days of rewards), and
/// beta's every column is what it was without the mint, to the bit. The sector's holders'
/// loss is Σ collateral × NAV loss.
#[test]
fn an_unbacked_mint_at_one_lrt_dilutes_its_holders_alone() {
    let mint = "[[exploits]]\nname = \"forged-mint\"\nat_days = 200\nkind = \"unbacked_mint\"\nsize = 0.18\nlrt = \"alpha\"\n";
    let plain = simulate(&load(SCHEDULED, 10));
    let minted = simulate(&load(&format!("{SCHEDULED}\n{mint}"), 10));
    for name in [
        "slashed_eth.lrt.beta",
        "slashed_fraction.lrt.beta",
        "nav_loss.lrt.beta",
        "rewards_eth.lrt.beta",
        "slashed_eth.lrt.alpha",
        "rewards_eth.lrt.alpha",
        "slashed_eth",
        "nav_return",
    ] {
        for (a, b) in col(&plain, name).iter().zip(col(&minted, name)) {
            assert_eq!(a.to_bits(), b.to_bits(), "{name}");
        }
    }
    let (slashed, rate0, drop, c) = alpha_in_scheduled();
    let rewards_by = |day: f64| rate0 * day / 365.0 - drop * (day - 73.0) / 365.0;
    let nav_before = (c - slashed + rewards_by(200.0)) / c;
    let nav_end = (c - slashed + rewards_by(365.0)) / (1.18 * c);
    for p in 0..10 {
        let got = |m: &str| col(&minted, m)[p];
        assert!((got("nav_loss.lrt.alpha") - (1.0 - nav_end)).abs() < 1e-14);
        assert!((got("minted_share.lrt.alpha") - 0.18).abs() < 1e-15);
        assert!((got("exploit_loss_eth.lrt.alpha") - 0.18 * c * nav_before).abs() < 1e-11);
        assert_eq!(got("minted_share.lrt.beta"), 0.0);
        assert_eq!(got("exploit_loss_eth.lrt.beta"), 0.0);
        let holders = c * got("nav_loss.lrt.alpha") + 150.0 * got("nav_loss.lrt.beta");
        assert!((got("sector_holders_loss_eth") - holders).abs() < 1e-12);
    }
}

/// A theft at one LRT of a sector takes its assets out of its stake, pro rata over its
/// operators: stealing s of alpha's assets A on day 200 takes q = s·A / (its stake then) of its
/// holdings everywhere, so its rewards from then on fall by the factor 1 − q; half of it is
/// returned on day 230 (held liquid). alpha's NAV loss is (slashing − rewards + stolen −
/// returned) ÷ collateral; beta's columns and the pool's slashing are those without the theft.
#[test]
fn a_theft_at_one_lrt_takes_its_stake_alone() {
    let theft = "[[exploits]]\nname = \"drain\"\nat_days = 200\nkind = \"stolen\"\nsize = 0.1\nrestitution_share = 0.5\nrestitution_days = 30\nlrt = \"alpha\"\n";
    let plain = simulate(&load(SCHEDULED, 4));
    let robbed = simulate(&load(&format!("{SCHEDULED}\n{theft}"), 4));
    for name in [
        "slashed_eth.lrt.beta",
        "nav_loss.lrt.beta",
        "rewards_eth.lrt.beta",
        "slashed_eth.lrt.alpha",
    ] {
        for (a, b) in col(&plain, name).iter().zip(col(&robbed, name)) {
            assert!(
                (a - b).abs() <= 1e-12 * a.abs().max(1.0),
                "{name}: {a} vs {b}"
            );
        }
    }
    assert_eq!(col(&plain, "slashed_eth"), col(&robbed, "slashed_eth"));
    let (slashed, rate0, drop, c) = alpha_in_scheduled();
    let before = rate0 * 200.0 / 365.0 - drop * (200.0 - 73.0) / 365.0;
    let stolen = 0.1 * (c - slashed + before);
    let q = stolen / (c - slashed);
    let rewards = before + (1.0 - q) * (rate0 - drop) * 165.0 / 365.0;
    for p in 0..4 {
        let got = |m: &str| col(&robbed, m)[p];
        assert!((got("exploit_loss_eth.lrt.alpha") - stolen).abs() < 1e-11);
        assert!(
            (got("rewards_eth.lrt.alpha") - rewards).abs() < 1e-11,
            "{} vs {rewards}",
            got("rewards_eth.lrt.alpha")
        );
        let nav_loss = (slashed - rewards + 0.5 * stolen) / c;
        assert!((got("nav_loss.lrt.alpha") - nav_loss).abs() < 1e-13);
        assert_eq!(got("exploit_loss_eth.lrt.beta"), 0.0);
        let holders = c * got("nav_loss.lrt.alpha") + 150.0 * got("nav_loss.lrt.beta");
        assert!((got("sector_holders_loss_eth") - holders).abs() < 1e-12);
    }
}

/// Two LRTs that share nothing: alpha on a1, a2 allocating to `da`, beta on b1, b2 allocating
/// to `oracle`; each AVS has its own faults and its own bug (a shock selecting it), and no
/// other source. Each LRT then has the law of the same LRT run alone, and the two are
/// independent.
const DISJOINT: &str = r#"
[simulation]
paths = 20000
horizon_days = 365
seed = 11

[pool]
collateral_eth = 400

[rewards]
base_apr = 0.03

[[lrts]]
name = "alpha"

[[lrts]]
name = "beta"

[[operators]]
name = "a1"
stake_eth = 100
lrts = { alpha = 1.0 }
allocations = { da = 0.5 }

[[operators]]
name = "a2"
stake_eth = 100
lrts = { alpha = 1.0 }
allocations = { da = 0.3 }

[[operators]]
name = "b1"
stake_eth = 100
lrts = { beta = 1.0 }
allocations = { oracle = 0.6 }

[[operators]]
name = "b2"
stake_eth = 100
lrts = { beta = 1.0 }
allocations = { oracle = 0.4 }

[[avs]]
name = "da"
reward_apr = 0.01
fault_rate_per_year = 0.2
fault_severity = { dist = "beta", mean = 0.1, sd = 0.05 }

[[avs]]
name = "oracle"
reward_apr = 0.02
fault_rate_per_year = 0.3
fault_severity = { dist = "beta", mean = 0.1, sd = 0.05 }

[[shocks]]
name = "da-bug"
rate_per_year = 0.3
select = { avs = ["da"] }
hit_per = "event"
severity = { dist = "uniform", min = 0.1, max = 0.5 }

[[shocks]]
name = "oracle-bug"
rate_per_year = 0.2
select = { avs = ["oracle"] }
hit_per = "event"
severity = { dist = "uniform", min = 0.1, max = 0.5 }
"#;

/// alpha's part of [`DISJOINT`] run alone: its operators, its AVS and its bug.
const ALPHA_ALONE: &str = r#"
[simulation]
paths = 20000
horizon_days = 365
seed = 12

[pool]
collateral_eth = 200

[rewards]
base_apr = 0.03

[[operators]]
name = "a1"
stake_eth = 100
allocations = { da = 0.5 }

[[operators]]
name = "a2"
stake_eth = 100
allocations = { da = 0.3 }

[[avs]]
name = "da"
reward_apr = 0.01
fault_rate_per_year = 0.2
fault_severity = { dist = "beta", mean = 0.1, sd = 0.05 }

[[shocks]]
name = "da-bug"
rate_per_year = 0.3
select = { avs = ["da"] }
hit_per = "event"
severity = { dist = "uniform", min = 0.1, max = 0.5 }
"#;

#[test]
fn lrts_that_share_nothing_have_their_own_laws_and_are_independent() {
    let sector = simulate(&load(DISJOINT, 20_000));
    let alone = simulate(&load(ALPHA_ALONE, 20_000));
    let n = 20_000;
    // The law of alpha in the sector is the law of alpha alone (KS at α = 0.001; ties within
    // 1e-9 of a fraction are the summation order's).
    let alone_nav_loss: Vec<f64> = col(&alone, "nav_return").iter().map(|x| -x).collect();
    for (in_sector, by_itself) in [
        (
            col(&sector, "slashed_fraction.lrt.alpha"),
            col(&alone, "slashed_fraction"),
        ),
        (
            col(&sector, "nav_loss.lrt.alpha"),
            alone_nav_loss.as_slice(),
        ),
    ] {
        let d = ks_statistic(in_sector, by_itself, 1e-9);
        assert!(d < ks_critical(n, n), "KS D = {d} ≥ {}", ks_critical(n, n));
    }
    // Independence: a 2×2 table of (alpha lost something, beta lost something), χ² with one
    // degree of freedom against 10.83 (α = 0.001).
    let a = col(&sector, "slashed_eth.lrt.alpha");
    let b = col(&sector, "slashed_eth.lrt.beta");
    let mut table = [[0.0f64; 2]; 2];
    for p in 0..n {
        table[usize::from(a[p] > 0.0)][usize::from(b[p] > 0.0)] += 1.0;
    }
    let total = n as f64;
    let mut chi2 = 0.0;
    for i in 0..2 {
        for j in 0..2 {
            let expected = (table[i][0] + table[i][1]) * (table[0][j] + table[1][j]) / total;
            assert!(expected > 500.0, "a test with power: {table:?}");
            chi2 += (table[i][j] - expected).powi(2) / expected;
        }
    }
    assert!(chi2 < 10.83, "χ² = {chi2}: {table:?}");
    // And the pool is the two LRTs: nothing else holds stake.
    let all = col(&sector, "slashed_eth");
    for p in 0..n {
        assert!((a[p] + b[p] - all[p]).abs() <= 1e-12 * all[p].max(1.0));
    }
}

//! Liquidations in continuous time (issue 16, docs/model.md §15): a cascade is the sequence of
//! liquidation calls at one instant, each reading the price the previous call's sale left,
//! until nothing is liquidatable — its fixed point — and a position is liquidated at the
//! moment the price its lender reads crosses its threshold, wherever that falls within the
//! engine's sub-steps. So none of it may depend on `simulation.step_days`.
//!
//! Checked against things computed here independently of the engine:
//!
//! * a two-bucket cascade through a constant-product pool whose fixed point is derived by hand
//!   (closed form), run through the engine at steps of 1, ¼ and 1/16 day;
//! * Aave's own call-by-call sequence at moving prices (the integer ports of `liquidationCall`
//!   and of a Uniswap v2 pair in `contract_ports`: call, sell the seized collateral, read the
//!   pair's price again, next call) where lrtsim's shortcut at a fixed price would close in one
//!   go what Aave needs several calls for;
//! * thresholds crossed by known price paths — a constant-rate sale into a constant-product
//!   pool, debt accruing at a constant rate, a TWAP after a dump — whose crossing times and
//!   liquidations have closed forms, at the three steps;
//! * a fixed oracle's cascade is one pass at its price;
//! * on random paths with buyers, arbitrageurs and flows, the lending metrics at the three
//!   steps agree within the Monte Carlo error of their paired differences.
//!
//! Tolerances: the closed forms take a few dozen floating-point operations, and the engine
//! stops a continuous move 1e-12 (relative) past a threshold; results are compared at 1e-9
//! relative, the brief's bar for deterministic fixed points. The Aave comparison is at 1e-11 of
//! the position (integer rounding at 1 wei in 1e21, f64 at 1e-16 per operation, over a handful
//! of calls). The statistical test uses the convergence harness's rule: 4 standard errors of
//! the paired difference, 2 % of the mean, or one basis point.

mod contract_ports;
mod support;

use std::cell::Cell;
use std::path::Path;

use contract_ports::*;
use lrtsim_scenario::{DAYS_PER_YEAR, Model, load_str};
use lrtsim_sim::amm::{Fees, Invariant, Pool};
use lrtsim_sim::lending::{LenderVersion, LendingBook, LendingParams, PriceReads};
use lrtsim_sim::{RunOptions, SimResults, TraceStep, replay, run};
use support::convergence::{SHARE_FLOOR, paired_difference, tolerance};

/// The steps every engine test runs at, days.
const STEPS: [f64; 3] = [1.0, 0.25, 0.0625];

/// The engine tests' lender: a non-E-mode market (weETH on Base, MECHANICS.md §6: LT 75 %,
/// bonus 7.5 %), close factor 50 %, full close at HF 0.95 and below.
const LT: f64 = 0.75;
const BONUS: f64 = 0.075;
/// The spiral point LT·(1 + bonus) = 0.80625: a liquidation at HF 1 leaves HF 2 − C_SPIRAL.
const C_SPIRAL: f64 = LT * (1.0 + BONUS);

/// LRT supply of the engine tests (= `pool.collateral_eth`, no buffer), and the pool: 100,000
/// ETH and 100,000 LRT, price 1, constant product k = 10¹⁰, no fee, no rate oracle.
const S0: f64 = 1_000_000.0;
const Z0: f64 = 100_000.0;
const K: f64 = Z0 * Z0;

/// Relative tolerance of the deterministic engine tests.
const REL: f64 = 1e-9;

fn rel_err(got: f64, want: f64) -> f64 {
    ((got - want) / want).abs()
}

/// A scenario with no rewards and no losses (the NAV stays 1), the pool above with nobody
/// trading in it but what `extra` adds, and a lending market (LTV 0.7, LT 0.75, bonus 7.5 %;
/// oracle, collateral and positions in `lending`), at step `step_days` over `horizon` days.
fn model(step_days: f64, horizon: f64, lending: &str, extra: &str) -> Model {
    let text = format!(
        "[simulation]\npaths = 2\nhorizon_days = {horizon}\nstep_days = {step_days}\nseed = 5\n\
         [pool]\ncollateral_eth = {S0}\n\
         [[operators]]\nname = \"op\"\nshare = 1.0\nallocations = {{ avs = 1.0 }}\n\
         [[avs]]\nname = \"avs\"\n\
         [market.pool]\nkind = \"constant_product\"\ndepth_eth = {}\nfee_bps = 0\nrate_oracle = false\n\
         [lending]\nltv = 0.7\nliquidation_threshold = {LT}\nliquidation_bonus = {BONUS}\n{lending}\n{extra}",
        2.0 * Z0
    );
    load_str(&text, Path::new("cascade.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn simulate(model: &Model) -> SimResults {
    run(model, &RunOptions::default(), &|_| {}).unwrap()
}

/// Path 0's value of column `name`.
fn value(r: &SimResults, name: &str) -> f64 {
    r.column(name).unwrap_or_else(|| panic!("no column {name}"))[0]
}

/// Path 0's step-by-step trace.
fn trace(model: &Model) -> Vec<TraceStep> {
    replay(model, 0).unwrap().steps
}

/// The first step end at which the trace's seized collateral exceeds `lrt`, days.
fn first_day_liquidated_over(steps: &[TraceStep], lrt: f64) -> f64 {
    steps
        .iter()
        .find(|s| s.lending.expect("lending").liquidated_lrt > lrt)
        .unwrap_or_else(|| panic!("never more than {lrt} LRT seized"))
        .day
}

/// Each (crossing time, LRT seized before it) is first seen at the first step end after the
/// crossing (steps of `step` days).
#[track_caller]
fn assert_seen_at_first_step_end_after(
    steps: &[TraceStep],
    crossings: [(f64, f64); 2],
    step: f64,
    what: &str,
) {
    for (t, before) in crossings {
        let day = first_day_liquidated_over(steps, before);
        assert!(
            day >= t && day - step < t,
            "{what}: seen at {day}, crossed at {t}"
        );
    }
}

/// LRT a constant-product pool of invariant K (no fee) takes to move its price from `from`
/// to `to`: √(K/to) − √(K/from).
fn cp_sale(from: f64, to: f64) -> f64 {
    (K / to).sqrt() - (K / from).sqrt()
}

/// The price of the pool after a sale of `lrt` at price `p`: K/(√(K/p) + lrt)².
fn cp_after(p: f64, lrt: f64) -> f64 {
    let z = (K / p).sqrt() + lrt;
    K / (z * z)
}

// ---------------------------------------------------------------------------------------
// 1. A cascade whose fixed point is known by hand.
// ---------------------------------------------------------------------------------------

#[test]
fn a_two_bucket_cascade_reaches_its_closed_form_fixed_point_at_any_step() {
    // Two buckets on a market oracle, posted = 1.4 % of the supply = 14,000 LRT:
    //   B: 40 % (C_B = 5,600 LRT) opened at HF 1.02: D_B = C_B·LT/1.02, threshold 1/1.02;
    //   A: 60 % (C_A = 8,400 LRT) opened at HF 1.40: D_A = C_A·LT/1.40, threshold 1/1.40.
    // The pool holds z₀ = 100,000 LRT at price 1; with no fee, price = K/z², K = z₀², and
    // selling Δ moves z to z + Δ. Liquidators sell at most down to where the pool pays the
    // oracle price / (1 + b) (their floor; no fee here, so the marginal price): from p that is
    // κ(p) = √(K(1 + b)/p) − √(K/p) LRT, a fall of the price by the factor 1/(1 + b).
    //
    // A dump of 1.32 % of the supply (13,200 LRT) at once on day 5.3 — off every step grid —
    // takes the price to p₁ = K/(z₀ + 13,200)² = 0.78038. There HF_A = 1.40·p₁ = 1.0925 (A is
    // healthy) and HF_B = 1.02·p₁ = 0.796 ≤ 0.95: B is closed in full, and since HF_B is below
    // the spiral point LT(1 + b) = 0.806, its collateral no longer covers debt × (1 + b), so the
    // call would seize all of C_B for C_B·p₁/(1 + b) of debt. But C_B > κ(p₁) = 4,168: the call
    // is scaled to what sells at a profit,
    //   call 1 (B at p₁):  seize κ₁ = κ(p₁), repay κ₁·p₁/(1 + b), write off nothing;
    //   the sale takes the price to the floor, p₂ = p₁/(1 + b) = 0.72594.
    // A is still healthy there (1.40·p₂ = 1.0163); B, with less collateral, is deeper under:
    //   call 2 (B at p₂):  full close of the rest C_B − κ₁ = 1,432 ≤ κ(p₂) = 4,322, repaying
    //                      (C_B − κ₁)·p₂/(1 + b); the rest of B's debt is bad debt:
    //                      bad = D_B − κ₁·p₁/(1 + b) − (C_B − κ₁)·p₂/(1 + b) = 124.9 ETH;
    //   the sale takes the price to p₃ = K/(√(K/p₂) + C_B − κ₁)² = 0.70854.
    // Now HF_A = 1.40·p₃ = 0.9920, in (0.95, 1): A was healthy until B's liquidation moved the
    // price. Aave's close factor: half the debt.
    //   call 3 (A at p₃):  repay D_A/2, seize s_A = (D_A/2)(1 + b)/p₃ = 3,414 ≤ κ(p₃) = 4,374;
    //   the sale takes the price to p₄ = K/(√(K/p₃) + s_A)² = 0.66951.
    // At p₄ A's health factor is (C_A − s_A)·p₄·LT/(D_A/2) = 1.113 ≥ 1 and B is empty: nothing
    // is liquidatable at the price the last sale left — the fixed point. Nobody else trades,
    // so the price stays p₄ to the horizon. Seized C_B + s_A, bad debt as above, 3 calls.
    let posted = 0.014 * S0;
    let (c_b, h_b) = (0.4 * posted, 1.02);
    let (c_a, h_a) = (0.6 * posted, 1.40);
    let (d_b, d_a) = (c_b * LT / h_b, c_a * LT / h_a);
    let b = 1.0 + BONUS;
    let p1 = K / ((Z0 + 0.0132 * S0) * (Z0 + 0.0132 * S0));
    let kappa = |p: f64| cp_sale(p, p / b);
    // Call 1: B, scaled to κ₁.
    assert!(h_b * p1 < C_SPIRAL && h_a * p1 >= 1.0);
    let k1 = kappa(p1);
    assert!(k1 < c_b);
    let repaid1 = k1 * p1 / b;
    let p2 = p1 / b;
    // Call 2: B closed, the rest written off.
    let rest = c_b - k1;
    assert!(h_a * p2 >= 1.0 && rest <= kappa(p2));
    let repaid2 = rest * p2 / b;
    let bad = d_b - repaid1 - repaid2;
    assert!(bad > 100.0);
    let p3 = cp_after(p2, rest);
    // Call 3: A, half its debt.
    let hf_a = h_a * p3;
    assert!(hf_a > 0.95 && hf_a < 1.0);
    let s_a = 0.5 * d_a * b / p3;
    assert!(s_a <= kappa(p3));
    let p4 = cp_after(p3, s_a);
    assert!((c_a - s_a) * p4 * LT / (0.5 * d_a) >= 1.0);
    // Against the rounded figures of the derivation.
    assert!((p1 - 0.780_38).abs() < 5e-6 && (p4 - 0.669_51).abs() < 5e-6);
    assert!((bad - 124.9).abs() < 0.05 && (s_a - 3413.7).abs() < 0.05);

    let lending = format!(
        "oracle = \"market\"\ncollateral_share = 0.014\nlooper_leverage = 1\n\
         [[lending.positions]]\nshare = 0.4\nhealth_factor = {h_b}\n\
         [[lending.positions]]\nshare = 0.6\nhealth_factor = {h_a}"
    );
    let dump = "[[market.shocks]]\nname = \"dump\"\nat_days = 5.3\nsell_share = 0.0132";
    for step in STEPS {
        let r = simulate(&model(step, 10.0, &lending, dump));
        let what = format!("step {step}");
        assert!(
            rel_err(value(&r, "liquidated_share"), (c_b + s_a) / S0) < REL,
            "{what}: seized {} vs {}",
            value(&r, "liquidated_share") * S0,
            c_b + s_a
        );
        assert!(
            rel_err(value(&r, "bad_debt_eth"), bad) < REL,
            "{what}: bad debt {} vs {bad}",
            value(&r, "bad_debt_eth")
        );
        assert!(
            rel_err(value(&r, "bad_debt_share"), bad / (d_a + d_b)) < REL,
            "{what}"
        );
        assert_eq!(value(&r, "cascade_depth"), 3.0, "{what}");
        // The NAV is 1: the discount at the horizon and at the low is 1 − p₄.
        let end = 1.0 - value(&r, "end_discount");
        assert!(rel_err(end, p4) < REL, "{what}: final price {end} vs {p4}");
        assert!(rel_err(1.0 - value(&r, "max_discount"), p4) < REL, "{what}");
    }
}

// ---------------------------------------------------------------------------------------
// 2. Against Aave's calls one by one at moving prices.
// ---------------------------------------------------------------------------------------

/// An 18-decimal amount as tokens.
fn f(u: U256) -> f64 {
    u.to::<u128>() as f64 / 1e18
}

/// Tokens as an 18-decimal amount (nearest wei).
fn wei(x: f64) -> U256 {
    U256::from((x * 1e18).round() as u128)
}

/// Where a sequence of liquidations ended: collateral and debt left on the position, debt
/// written off, the pool's balances, and the calls made.
#[derive(Debug)]
struct End {
    collateral: f64,
    debt: f64,
    written_off: f64,
    pool: (f64, f64),
    calls: u32,
}

/// Aave's `liquidationCall` (integer port, `debtToCover` = everything allowed) on one position
/// of `c` LRT owing `d` ETH, call after call; after each, the liquidator sells what she
/// received into a Uniswap v2 pair (0.3 % fee) of `x` ETH and `z` LRT, and the next call
/// reads the pair's price (ETH per LRT, 18 decimals), until the contract refuses.
fn aave_calls(version: AaveVersion, lt: f64, bonus: f64, c: f64, d: f64, x: f64, z: f64) -> End {
    let mut pair = UniV2Pair::new(wei(x), wei(z));
    let mut position = AavePosition {
        collateral: wei(c),
        debt: wei(d),
    };
    let (mut calls, mut deficit) = (0, U256::ZERO);
    loop {
        let [eth, lrt] = pair.reserves();
        let params = AaveParams {
            liquidation_threshold_bps: U256::from((lt * 1e4).round() as u64),
            liquidation_bonus_bps: U256::from((1e4 + bonus * 1e4).round() as u64),
            protocol_fee_bps: U256::ZERO,
            collateral_price: eth * WAD / lrt,
            debt_price: WAD,
        };
        let Ok(l) = liquidation_call(version, &mut position, &params, U256::MAX) else {
            break;
        };
        calls += 1;
        deficit += l.deficit;
        pair.swap_in_with_fee(
            1,
            l.collateral_to_liquidator,
            U256::from(997),
            U256::from(1000),
        );
    }
    let [eth, lrt] = pair.reserves();
    End {
        collateral: f(position.collateral),
        debt: f(position.debt),
        written_off: f(deficit),
        pool: (f(eth), f(lrt)),
        calls,
    }
}

/// lrtsim's book on the same position and pool, its oracle reading the pool (`reads`).
#[allow(clippy::too_many_arguments)]
fn lrtsim_calls(
    version: LenderVersion,
    reads: PriceReads,
    lt: f64,
    bonus: f64,
    c: f64,
    d: f64,
    x: f64,
    z: f64,
) -> End {
    let params = LendingParams {
        ltv: lt,
        liquidation_threshold: lt,
        liquidation_bonus: bonus,
        version,
        ..LendingParams::AAVE_LRT_EMODE
    };
    // Opened at price 1 at HF c·LT/d: debt d.
    let mut book = LendingBook::new(params, &[(c, c * lt / d)], 1.0, 1.0);
    let pool = Cell::new(Pool::with_fees(
        Invariant::ConstantProduct,
        Fees::uniswap_v2(0.003),
        x,
        z,
    ));
    let cascade = book.liquidate(
        reads,
        || pool.get().price(),
        |lrt| {
            let mut p = pool.get();
            let out = p.sell(lrt).amount_out;
            pool.set(p);
            out
        },
    );
    assert!(!cascade.unresolved);
    End {
        collateral: book.collateral_lrt()[0],
        debt: book.debt_eth()[0],
        written_off: book.bad_debt_eth(),
        pool: (pool.get().eth(), pool.get().lrt_units()),
        calls: cascade.calls,
    }
}

#[test]
fn a_market_oracle_cascade_ends_where_aaves_calls_end_at_moving_prices() {
    // Each case: (LT, bonus, collateral, debt, pool ETH, pool LRT). The pool's price is
    // x/z; the position's HF at it is c·(x/z)·LT/d.
    let cases = [
        // E-mode, HF 0.9560 at the pool's 0.98: in the spiral (0.95, 0.9595]. Aave repays
        // half, the sale drops the price, the next call reads HF below 0.95 and closes the
        // rest in full at that lower price — not the full close at 0.98 a fixed price gives.
        (0.95, 0.01, 1_000.0, 973.8, 9_800.0, 10_000.0),
        // The same in a deeper pool: the price moves less, so HF stays above 0.95 for a
        // few more halvings before the full close.
        (0.95, 0.01, 1_000.0, 973.8, 98_000.0, 100_000.0),
        // Above the spiral point, HF 0.98: half repaid restores HF ≥ 1 at the price read,
        // but the sale takes it below 1 again, and again.
        (0.95, 0.01, 1_000.0, 950.0, 4_900.0, 5_000.0),
        // LT 0.75, bonus 7.5 %: HF 0.83 at 0.9, above the spiral point 0.806 — then below.
        (0.75, 0.075, 1_000.0, 813.3, 9_000.0, 10_000.0),
        // Deep under: HF 0.70, a full close at once with bad debt, no second call.
        (0.75, 0.075, 1_000.0, 964.3, 9_000.0, 10_000.0),
    ];
    let tol = 1e-11;
    let mut differs = 0;
    for (lt, bonus, c, d, x, z) in cases {
        let hf = c * (x / z) * lt / d;
        for (version, lv) in [
            (AaveVersion::V3_2, LenderVersion::V3_2),
            (AaveVersion::V3_3, LenderVersion::V3_3),
        ] {
            let what = format!("LT {lt}, bonus {bonus}, HF {hf:.4}, pool {x}/{z}, {version:?}");
            let aave = aave_calls(version, lt, bonus, c, d, x, z);
            let sim = lrtsim_calls(lv, PriceReads::Moving, lt, bonus, c, d, x, z);
            assert!(aave.calls >= 1, "{what}: nothing liquidated");
            assert_eq!(sim.calls, aave.calls, "{what}: {sim:?} vs {aave:?}");
            for (name, a, b, scale) in [
                ("collateral", sim.collateral, aave.collateral, c),
                ("debt", sim.debt, aave.debt, d),
                ("written off", sim.written_off, aave.written_off, d),
                ("pool ETH", sim.pool.0, aave.pool.0, x),
                ("pool LRT", sim.pool.1, aave.pool.1, z),
            ] {
                assert!(
                    (a - b).abs() <= tol * scale,
                    "{what}: {name} {a} vs {b}\n{sim:?}\n{aave:?}"
                );
            }
            // Not vacuous: closing in one go what Aave needs several calls for (the shortcut
            // that is exact at a fixed price) repays a different amount of debt at moving
            // prices.
            let one_go = lrtsim_calls(lv, PriceReads::Fixed, lt, bonus, c, d, x, z);
            let repaid = |e: &End| d - e.debt - e.written_off;
            if one_go.calls < aave.calls && (repaid(&one_go) - repaid(&aave)).abs() > 1e-6 * d {
                differs += 1;
            }
        }
    }
    assert!(
        differs >= 4,
        "{differs} cases where the one-go close would differ"
    );
}

// ---------------------------------------------------------------------------------------
// 3. Thresholds crossed by known price paths.
// ---------------------------------------------------------------------------------------

#[test]
fn a_sale_at_a_constant_rate_liquidates_at_the_moment_it_crosses_the_threshold() {
    // One bucket of 4,000 LRT (0.4 % of the supply) opened at HF 1.05 on a market oracle, its
    // threshold p* = 1/1.05; a looper of leverage 3 (3 LRT, 2 ETH of debt, threshold
    // 2/(3·LT) = 0.8889). From day 2 holders sell 1.9 % of the supply evenly over 10 days:
    // r = 1,900 LRT a day, so with no fee the price is K/(z₀ + r(t − 2))² until a liquidation
    // adds its sale. It reaches p* at
    //   t* = 2 + (√(K/p*) − z₀)/r = 3.2997 d,
    // where the bucket's HF is 1 (just below: the engine stops the sale 1e-12 past p*), so half
    // its debt D/2 = C·p*·LT/2 is repaid and s₁ = (D/2)(1 + b)/p* = C·LT·(1 + b)/2 = 1,612.5
    // LRT seized — at a later, lower price p it would be (D/2)(1 + b)/p, more. It sells them
    // (κ = 3,773 at p*), the price drops to K/(√(K/p*) + s₁)², and the bucket's HF is
    // 2 − LT(1 + b) = 1.19375 at p*: its new threshold p** = p*/1.19375 = 0.7978, reached when
    // the flow has sold √(K/p**) − z₀ − s₁, at
    //   t** = 2 + (√(K/p**) − z₀ − s₁)/r = 7.4445 d,
    // seizing s₂ = (C − s₁)·LT·(1 + b)/2 = 962.46. The next threshold, p**/1.19375 = 0.6683, is
    // below the final price K/(z₀ + 19,000 + s₁ + s₂)² = 0.6766: two liquidations. The looper
    // (never sold) is liquidated at its thresholds likewise: at 0.8889 (repay 1, seize
    // 1.075/0.8889), at 0.8889/1.19375 (repay 0.5), and not at the next (0.6238).
    let c = 0.004 * S0;
    let h = 1.05;
    let d = c * LT / h;
    let b = 1.0 + BONUS;
    let r = 0.019 * S0 / 10.0;
    let p1 = d / (c * LT);
    let t1 = 2.0 + ((K / p1).sqrt() - Z0) / r;
    let s1 = 0.5 * d * b / p1;
    let (c1, d1) = (c - s1, 0.5 * d);
    let p2 = d1 / (c1 * LT);
    assert!(rel_err(c1 * p1 * LT / d1, 2.0 - C_SPIRAL) < 1e-12);
    let t2 = 2.0 + ((K / p2).sqrt() - Z0 - s1) / r;
    let s2 = 0.5 * d1 * b / p2;
    let (c2, d2) = (c1 - s2, 0.5 * d1);
    let p_end = K / ((Z0 + 0.019 * S0 + s1 + s2) * (Z0 + 0.019 * S0 + s1 + s2));
    assert!(p_end > d2 / (c2 * LT), "a third liquidation");
    assert!(s1 <= cp_sale(p1, p1 / b) && s2 <= cp_sale(p2, p2 / b));
    assert!((t1 - 3.2997).abs() < 1e-4 && (t2 - 7.4445).abs() < 1e-4);
    // The looper: thresholds q₁ = 2/(3·LT), then q₁/1.19375; equity at the final price.
    let (mut lc, mut ld) = (3.0, 2.0);
    for _ in 0..2 {
        let q = ld / (lc * LT);
        assert!(q > p_end);
        lc -= 0.5 * ld * b / q;
        ld *= 0.5;
    }
    assert!(ld / (lc * LT) < p_end);
    let looper_loss = 1.0 - (lc * p_end - ld);

    let lending = "oracle = \"market\"\ncollateral_share = 0.004\nlooper_leverage = 3\n\
                   [[lending.positions]]\nshare = 1.0\nhealth_factor = 1.05";
    let flow =
        "[[market.shocks]]\nname = \"flow\"\nat_days = 2\nsell_share = 0.019\nsell_days = 10";
    for step in STEPS {
        let m = model(step, 20.0, lending, flow);
        let r = simulate(&m);
        let what = format!("step {step}");
        let seized = value(&r, "liquidated_share") * S0;
        assert!(
            rel_err(seized, s1 + s2) < REL,
            "{what}: {seized} vs {}",
            s1 + s2
        );
        assert_eq!(value(&r, "bad_debt_eth"), 0.0, "{what}");
        assert_eq!(value(&r, "cascade_depth"), 1.0, "{what}");
        let end = 1.0 - value(&r, "end_discount");
        assert!(rel_err(end, p_end) < REL, "{what}: {end} vs {p_end}");
        let loss = value(&r, "looper_equity_loss");
        assert!(
            rel_err(loss, looper_loss) < REL,
            "{what}: {loss} vs {looper_loss}"
        );
        // The moments, read on the reporting grid: the first step end after each crossing
        // is the first to show its seizure.
        let steps = trace(&m);
        assert_seen_at_first_step_end_after(
            &steps,
            [(t1, 0.0), (t2, s1 * (1.0 + 1e-9))],
            step,
            &what,
        );
        // Between the two, exactly s₁ (the first liquidation at p*).
        let mid = steps.iter().find(|s| s.day > t1 && s.day < t2).unwrap();
        let between = mid.lending.unwrap().liquidated_lrt;
        assert!(rel_err(between, s1) < REL, "{what}: {between} vs {s1}");
    }
}

#[test]
fn interest_liquidates_at_the_moment_it_takes_the_health_factor_to_one() {
    // An exchange-rate oracle (the NAV stays 1) and a borrow rate of 200 % a year whatever the
    // utilization: every debt grows as e^(2t/365). One bucket of 4,000 LRT opened at HF 1.02
    // reaches HF 1 at
    //   t* = 365·ln(1.02)/2 = 3.6140 d,
    // where D(t*) = C·LT: half is repaid, s₁ = C·LT·(1 + b)/2 seized, and HF is 2 − LT(1 + b)
    // = 1.19375, which the interest brings back to 1 at
    //   t** = t* + 365·ln(1.19375)/2 = 35.935 d,
    // seizing s₂ = (C − s₁)·LT·(1 + b)/2; the next crossing, t** + 32.33 d, is past the
    // 60-day horizon, where the debt is (C − s₁)·LT/2 · e^(2(60 − t**)/365). Liquidated at the
    // end of a step instead, the debt would have grown for up to a step more and the seizure
    // been larger by up to e^(2Δ/365) − 1 (0.5 % at Δ = 1 day).
    let c = 0.004 * S0;
    let g = 2.0 / DAYS_PER_YEAR;
    let b = 1.0 + BONUS;
    let t1 = (1.02f64).ln() / g;
    let s1 = c * LT * b / 2.0;
    let c1 = c - s1;
    let t2 = t1 + (2.0 - C_SPIRAL).ln() / g;
    let s2 = c1 * LT * b / 2.0;
    assert!(t2 + (2.0 - C_SPIRAL).ln() / g > 60.0);
    let debt_end = 0.5 * c1 * LT * (g * (60.0 - t2)).exp();
    assert!((t1 - 3.6140).abs() < 1e-4 && (t2 - 35.935).abs() < 1e-3);
    // The pool takes both sales at a profit (its price stays above NAV/(1 + b)).
    assert!(s1 <= cp_sale(1.0, 1.0 / b) && s2 <= cp_sale(cp_after(1.0, s1), 1.0 / b));

    let lending = "oracle = \"exchange_rate\"\ncollateral_share = 0.004\nlooper_leverage = 1\n\
                   [lending.rates]\nutilization = 0.5\nbase_per_year = 2.0\n\
                   slope1_per_year = 0\nslope2_per_year = 0\n\
                   [[lending.positions]]\nshare = 1.0\nhealth_factor = 1.02";
    for step in STEPS {
        let m = model(step, 60.0, lending, "");
        let r = simulate(&m);
        let what = format!("step {step}");
        let seized = value(&r, "liquidated_share") * S0;
        assert!(
            rel_err(seized, s1 + s2) < REL,
            "{what}: {seized} vs {}",
            s1 + s2
        );
        assert_eq!(value(&r, "peak_borrow_rate"), 2.0, "{what}");
        assert_eq!(value(&r, "bad_debt_eth"), 0.0, "{what}");
        let steps = trace(&m);
        let last = steps.last().unwrap().lending.unwrap();
        assert!(
            rel_err(last.debt_eth, debt_end) < REL,
            "{what}: debt {} vs {debt_end}",
            last.debt_eth
        );
        assert_seen_at_first_step_end_after(
            &steps,
            [(t1, 0.0), (t2, s1 * (1.0 + 1e-9))],
            step,
            &what,
        );
    }
}

#[test]
fn a_twap_liquidates_as_it_crosses_and_its_cascade_is_one_pass() {
    // A TWAP over w = 2 days. A dump of 0.48 % of the supply at once on day 3.3 takes the
    // pool from 1 to p₁ = K/(z₀ + 4,800)² = 0.91049, where it stays (nobody buys): the TWAP
    // falls linearly, 1 − (1 − p₁)(t − 3.3)/w. Bucket A (2,000 LRT, HF 1/0.96, threshold
    // 0.96) is crossed at
    //   t_A = 3.3 + w·(1 − 0.96)/(1 − p₁) = 4.1938 d,
    // and liquidated at the TWAP's 0.96 — half its debt, s_A = C_A·LT·(1 + b)/2 = 806.25 LRT,
    // which the pool takes at a profit (its price p₁ is above 0.96/(1 + b), κ = 1,022). The
    // sale takes the pool to p₂ = K/(√(K/p₁) + s_A)² = 0.8966 — below bucket B's threshold
    // 0.93 — but a sale does not move a time average at once: the cascade ends after that
    // one call (a market oracle would have liquidated B right away). From t_A the TWAP is
    //   (1·(3.3 + w − t) + p₁·(t_A − 3.3) + p₂·(t − t_A))/w,
    // which reaches 0.93 at t_B (solved below, 4.77 d, before the dump leaves the window),
    // when B (3,000 LRT) is liquidated likewise: s_B = C_B·LT·(1 + b)/2. Afterwards the TWAP
    // tends to K/(√(K/p₂) + s_B)² = 0.8765, above both new thresholds (0.96/1.19375 and
    // 0.93/1.19375): two liquidations, one call each.
    let w = 2.0;
    let b = 1.0 + BONUS;
    let (c_a, c_b) = (0.4 * 5_000.0, 0.6 * 5_000.0);
    let (h_a, h_b) = (1.0 / 0.96, 1.0 / 0.93);
    let (q_a, q_b) = ((c_a * LT / h_a) / (c_a * LT), (c_b * LT / h_b) / (c_b * LT));
    let p1 = K / ((Z0 + 0.0048 * S0) * (Z0 + 0.0048 * S0));
    let t_a = 3.3 + w * (1.0 - q_a) / (1.0 - p1);
    let s_a = c_a * LT * b / 2.0;
    assert!(s_a <= cp_sale(p1, q_a / b));
    let p2 = cp_after(p1, s_a);
    assert!(p2 < q_b, "a market oracle would liquidate B at once");
    // (3.3 + w − t) + p₁(t_A − 3.3) + p₂(t − t_A) = w·q_B, linear in t.
    let t_b = (w * q_b - 3.3 - w - p1 * (t_a - 3.3) + p2 * t_a) / (p2 - 1.0);
    assert!(t_b > t_a && t_b < 3.3 + w);
    let s_b = c_b * LT * b / 2.0;
    assert!(s_b <= cp_sale(p2, q_b / b));
    let p3 = cp_after(p2, s_b);
    assert!(p3 > q_a / (2.0 - C_SPIRAL) && p3 > q_b / (2.0 - C_SPIRAL));
    assert!((t_a - 4.1938).abs() < 1e-4, "{t_a}");
    assert!((t_b - 4.77).abs() < 0.01, "{t_b}");

    let lending = format!(
        "oracle = \"twap\"\ntwap_days = {w}\ncollateral_share = 0.005\nlooper_leverage = 1\n\
         [[lending.positions]]\nshare = 0.4\nhealth_factor = {h_a}\n\
         [[lending.positions]]\nshare = 0.6\nhealth_factor = {h_b}"
    );
    let dump = "[[market.shocks]]\nname = \"dump\"\nat_days = 3.3\nsell_share = 0.0048";
    for step in STEPS {
        let m = model(step, 10.0, &lending, dump);
        let r = simulate(&m);
        let what = format!("step {step}");
        let seized = value(&r, "liquidated_share") * S0;
        assert!(
            rel_err(seized, s_a + s_b) < REL,
            "{what}: {seized} vs {}",
            s_a + s_b
        );
        assert_eq!(
            value(&r, "cascade_depth"),
            1.0,
            "{what}: one call a cascade"
        );
        let end = 1.0 - value(&r, "end_discount");
        assert!(rel_err(end, p3) < REL, "{what}: {end} vs {p3}");
        let steps = trace(&m);
        assert_seen_at_first_step_end_after(
            &steps,
            [(t_a, 0.0), (t_b, s_a * (1.0 + 1e-9))],
            step,
            &what,
        );
    }
}

// ---------------------------------------------------------------------------------------
// 4. A fixed oracle: one pass.
// ---------------------------------------------------------------------------------------

#[test]
fn a_fixed_oracle_cascade_is_one_pass_at_its_price() {
    // Five buckets read at a fixed price (the exchange rate) while their liquidators' sales
    // crash a pool: each liquidatable bucket ends exactly where the same bucket liquidated
    // alone at that price ends (Aave's calls at a fixed price, the spiral closed at once),
    // the others are untouched, and the calls are the buckets' calls added up.
    let params = LendingParams::AAVE_LRT_EMODE;
    let price = 0.97;
    let buckets = [
        (100.0, 1.0),
        (200.0, 1.02),
        (300.0, 0.99),
        (150.0, 1.2),
        (250.0, 1.04),
    ];
    let pool = Cell::new(Pool::with_fees(
        Invariant::ConstantProduct,
        Fees::uniswap_v2(0.003),
        500.0,
        500.0,
    ));
    let mut book = LendingBook::new(params, &buckets, 1.0, 1.0);
    let cascade = book.liquidate(
        PriceReads::Fixed,
        || price,
        |lrt| {
            let mut p = pool.get();
            let out = p.sell(lrt).amount_out;
            pool.set(p);
            out
        },
    );
    assert!(pool.get().price() < 0.7, "the pool crashed");
    let mut calls = 0;
    for (i, &bucket) in buckets.iter().enumerate() {
        let mut alone = LendingBook::new(params, &[bucket], 1.0, 1.0);
        calls += alone
            .liquidate(PriceReads::Fixed, || price, |lrt| lrt * price)
            .calls;
        assert!(rel_err(book.collateral_lrt()[i], alone.collateral_lrt()[0]) < 1e-12);
        assert_eq!(book.debt_eth()[i], alone.debt_eth()[0]);
        if bucket.1 * price >= 1.0 {
            assert_eq!(book.collateral_lrt()[i], bucket.0, "bucket {i} touched");
        }
    }
    assert_eq!(cascade.calls, calls);
    assert!(calls > 3);
}

// ---------------------------------------------------------------------------------------
// 5. On random paths: no step dependence beyond the Monte Carlo error.
// ---------------------------------------------------------------------------------------

#[test]
fn lending_metrics_do_not_move_with_the_step_on_random_paths() {
    // A market oracle on a thin StableSwap pool with patient buyers, arbitrageurs with
    // limited capital (closed wait: no front door), liquidity flight, random dumps at random
    // times and sizes and holders selling over a day: cascades of every size, some running
    // through the arbitrageurs' capital. Paired differences of the per-path metrics at steps of
    // 1, ¼ and 1/16 day (common random numbers) must be within 4 standard errors, 2 % of the
    // mean or a basis point. At 4,000 paths this resolves the step dependence the engine had
    // with liquidations once per sub-step in rounds (bad debt 0.9 percentage points higher at
    // 1/16 day than at 1 day, 6.7 standard errors), and with liquidations at the crossings but
    // arbitrageurs bidding only at the sub-step's end (0.65 points, 6.8 standard errors).
    let text = |step: f64| {
        format!(
            "[simulation]\npaths = 4000\nhorizon_days = 20\nstep_days = {step}\nseed = 77\n\
             [pool]\ncollateral_eth = 100000\n\
             [[operators]]\nname = \"op\"\nshare = 1.0\nallocations = {{ avs = 1.0 }}\n\
             [[avs]]\nname = \"avs\"\n\
             [market.pool]\namplification = 50\ndepth_eth = 12000\n\
             [market.recovery]\nhalf_life_days = 2\n\
             [market.liquidity]\nflight_per_day = 2\nfloor_share = 0.5\nreturn_half_life_days = 5\n\
             [market.arbitrage]\ncapital_eth = 1500\nrequired_return_per_year = 0.1\npremium_bps = 30\n\
             closed_wait_days = 14\n\
             [[market.shocks]]\nname = \"dump\"\nrate_per_year = 40\nsell_share = {{ dist = \"uniform\", min = 0.0, max = 0.03 }}\n\
             [[market.shocks]]\nname = \"run\"\nrate_per_year = 30\nsell_share = {{ dist = \"uniform\", min = 0.0, max = 0.03 }}\nsell_days = 1\n\
             [lending]\noracle = \"market\"\nltv = 0.93\nliquidation_threshold = 0.95\nliquidation_bonus = 0.01\n\
             collateral_share = 0.08\nlooper_leverage = 12\n\
             [[lending.positions]]\nshare = 0.3\nhealth_factor = 1.01\n\
             [[lending.positions]]\nshare = 0.4\nhealth_factor = 1.03\n\
             [[lending.positions]]\nshare = 0.3\nhealth_factor = 1.08\n"
        )
    };
    let runs: Vec<SimResults> = STEPS
        .iter()
        .map(|&step| {
            let m = load_str(&text(step), Path::new("random.toml"), &[])
                .unwrap_or_else(|e| panic!("{e}"));
            simulate(&m)
        })
        .collect();
    let liquidated = runs[0].column("liquidated_share").unwrap();
    assert!(
        liquidated.iter().filter(|&&l| l > 0.0).count() > 1000,
        "too few paths with liquidations to test anything"
    );
    for name in [
        "liquidated_share",
        "bad_debt_share",
        "looper_equity_loss",
        "max_discount",
        "cascade_depth",
    ] {
        let base = runs[0].column(name).unwrap();
        let mean = base.iter().sum::<f64>() / base.len() as f64;
        for (run, step) in runs.iter().zip(STEPS).skip(1) {
            let diff = paired_difference(base, run.column(name).unwrap());
            let tol = tolerance(&diff, mean, SHARE_FLOOR);
            assert!(
                diff.mean.abs() <= tol,
                "{name} at step {step}: mean difference {} ± {} vs mean {mean} (tolerance {tol})",
                diff.mean,
                diff.std_error
            );
        }
    }
}

//! The lending market of `lrtsim_sim::lending` checked against things no one here invented:
//! the leverage of a loop to a health factor as MECHANICS.md §6 and Aave's docs state it
//! (1/(1 − LT/HF): 16.83× and 22.44×), one liquidation worked by hand under Aave's rules
//! (close factor, bonus), the closed form of bad debt when collateral no longer covers debt,
//! the rsETH-style unbacked mint (borrow at LTV 0.93, NAV diluted by 1/1.18), an
//! exchange-rate oracle ignoring a pure market depeg, a cascade through a constant-product
//! pool whose sale proceeds are the pool's own payouts, and conservation on random books and
//! price paths (proptest).
//!
//! Tolerances: hand-computed literals are given to 1e-9 absolute (13+ significant digits are
//! printed, far below that); formula-against-formula comparisons on a handful of f64
//! operations use 1e-12 relative (each operation rounds at 2⁻⁵³ ≈ 1.1e-16, so a few dozen
//! roundings stay below 1e-14); sums over many positions and calls use 1e-9 relative, as the
//! brief asks for the conservation law.

use std::cell::Cell;

use lrtsim_sim::amm::{Fees, Invariant, Pool, Quote};
use lrtsim_sim::lending::{
    Cascade, LenderVersion, LendingBook, LendingParams, MAX_CASCADE_CALLS, PriceReads, max_leverage,
};
use proptest::prelude::*;

/// Aave's LRT E-mode (MECHANICS.md §6): LTV 93%, LT 95%, bonus 1%, close factor 50%, full
/// close below HF 0.95.
const AAVE: LendingParams = LendingParams::AAVE_LRT_EMODE;

/// Swap fee of the test pools (5 bps, a typical LRT/ETH pool).
const FEE: f64 = 0.0005;

fn rel_err(got: f64, want: f64) -> f64 {
    ((got - want) / want).abs()
}

// ---------------------------------------------------------------------------------------
// 1. Leverage of a loop.
// ---------------------------------------------------------------------------------------

#[test]
fn max_leverage_matches_the_published_figures() {
    // MECHANICS.md §6: max leverage = 1/(1 − LT/HF). LT 0.965 (Aave's LRT E-mode on some
    // markets) looped to HF 1.01 gives 22.44×; LT 0.95 gives 16.83×. Two decimals, as
    // published: |x − figure| < 0.005.
    let a = max_leverage(0.965, 1.01);
    let b = max_leverage(0.95, 1.01);
    assert!((a - 22.44).abs() < 0.005, "{a}");
    assert!((b - 16.83).abs() < 0.005, "{b}");
    // By hand, exactly: 1/(1 − 0.965/1.01) = 1.01/0.045 = 202/9; 1/(1 − 0.95/1.01) =
    // 1.01/0.06 = 101/6. A few roundings: 1e-12 relative.
    assert!(rel_err(a, 202.0 / 9.0) < 1e-12);
    assert!(rel_err(b, 101.0 / 6.0) < 1e-12);
    assert_eq!(AAVE.max_leverage(1.01), b);

    // A position opened at HF 1.01 under LT 0.95 is levered exactly that much: collateral
    // value over equity.
    let params = LendingParams {
        liquidation_threshold: 0.95,
        ..AAVE
    };
    for price0 in [1.0, 0.98] {
        let book = LendingBook::new(params, &[(100.0, 1.01)], price0, b);
        let value = book.collateral_lrt()[0] * price0;
        let equity = value - book.debt_eth()[0];
        assert!(rel_err(value / equity, b) < 1e-12);
        // The looper levered the same way sits at the same health factor and owns 1 ETH.
        assert!(rel_err(book.looper_health_factor(price0), 1.01) < 1e-12);
        assert!((book.looper_equity(price0) - 1.0).abs() < 1e-12);
        assert!(rel_err(book.looper_collateral_lrt() * price0, b) < 1e-12);
    }
}

// ---------------------------------------------------------------------------------------
// 2. One liquidation by hand.
// ---------------------------------------------------------------------------------------

#[test]
fn one_partial_liquidation_matches_the_hand_calculation() {
    // 100 LRT at price 1, LT 0.95, opened at HF 1.05:
    //   debt D = 100 × 0.95 / 1.05 = 1900/21 = 90.476190476190476…
    // The oracle falls to 0.94:
    //   HF = 100 × 0.94 × 0.95 / (1900/21) = 89.3 × 21/1900 = 0.987 exactly (≥ 0.95 and
    //   above LT·(1 + bonus) = 0.9595, so the close factor is 0.5)
    //   repay r = D/2 = 950/21 = 45.238095238095238…
    //   seize s = r × 1.01 / 0.94 = 47975/987 = 48.606889564336372…
    //   HF after = (100 − s) × 0.94 × 0.95 / r = 2029/2000 = 1.0145 (≥ 1: one round)
    //   (equivalently HF' = (HF − 0.5 c)/0.5 = 2 × 0.987 − 0.9595 = 1.0145).
    let price = 0.94;
    let mut book = LendingBook::new(AAVE, &[(100.0, 1.05)], 1.0, 1.0);
    let d0 = book.debt_eth()[0];
    assert!((d0 - 90.476_190_476_190_48).abs() < 1e-9);
    let hf = book.position_health_factor(0, price);
    assert!((hf - 0.987).abs() < 1e-9);

    let mut sold = Vec::new();
    let cascade = book.liquidate(
        PriceReads::Fixed,
        || price,
        |lrt| {
            sold.push(lrt);
            lrt * price
        },
    );

    // From the formulas.
    let lt = AAVE.liquidation_threshold;
    let r = 0.5 * d0;
    let s = r * (1.0 + AAVE.liquidation_bonus) / price;
    let hf_after = (100.0 - s) * price * lt / r;
    assert_eq!(cascade.calls, 1);
    assert!(!cascade.unresolved);
    assert!(rel_err(cascade.repaid_eth, r) < 1e-12);
    assert!(rel_err(cascade.liquidated_lrt, s) < 1e-12);
    assert_eq!(cascade.bad_debt_eth, 0.0);
    assert_eq!(sold.len(), 1);
    assert!(rel_err(sold[0], s) < 1e-12);
    assert!(rel_err(book.position_health_factor(0, price), hf_after) < 1e-12);

    // Against the hand-computed literals.
    assert!((cascade.repaid_eth - 45.238_095_238_095_24).abs() < 1e-9);
    assert!((cascade.liquidated_lrt - 48.606_889_564_336_37).abs() < 1e-9);
    assert!((book.collateral_lrt()[0] - 51.393_110_435_663_63).abs() < 1e-9);
    assert!((book.debt_eth()[0] - 45.238_095_238_095_24).abs() < 1e-9);
    assert!((book.position_health_factor(0, price) - 1.0145).abs() < 1e-9);
    assert!((cascade.proceeds_eth - 48.606_889_564_336_37 * 0.94).abs() < 1e-9);
}

// ---------------------------------------------------------------------------------------
// 3. Exchange-rate oracle against a market depeg.
// ---------------------------------------------------------------------------------------

/// Buckets of 100 LRT at health factors 1.01, 1.02, …, 1.30.
fn spread() -> Vec<(f64, f64)> {
    (0..30).map(|i| (100.0, 1.01 + 0.01 * i as f64)).collect()
}

/// A balanced constant-product pool of `depth` ETH and `depth` LRT (price 1), then knocked to
/// `shock` by an outside seller.
fn shocked_pool(depth: f64, shock: f64) -> Pool {
    let mut pool = Pool::with_fees(
        Invariant::ConstantProduct,
        Fees::uniswap_v2(FEE),
        depth,
        depth,
    );
    pool.sell_to_price(shock, f64::INFINITY, Quote::Marginal);
    pool
}

#[test]
fn an_exchange_rate_oracle_ignores_a_pure_market_depeg() {
    // MECHANICS.md §6: Aave and Compound price LRTs at the protocol's exchange rate, so a
    // market depeg alone liquidates nobody. The pool collapses to 0.7 while the NAV stays 1.
    let pool = Cell::new(shocked_pool(5000.0, 0.7));
    let mut book = LendingBook::new(AAVE, &spread(), 1.0, 15.0);
    let before = book.clone();
    let mut sales = 0;
    let nav = 1.0;
    let cascade = book.liquidate(
        PriceReads::Fixed,
        || nav,
        |lrt| {
            sales += 1;
            let mut p = pool.get();
            let out = p.sell(lrt).amount_out;
            pool.set(p);
            out
        },
    );
    assert_eq!(cascade, Cascade::default());
    assert_eq!(sales, 0);
    assert_eq!(book.collateral_lrt(), before.collateral_lrt());
    assert_eq!(book.debt_eth(), before.debt_eth());
    assert_eq!(book.looper_debt_eth(), before.looper_debt_eth());
    assert!((pool.get().price() - 0.7).abs() < 1e-12);

    // Not vacuous: the same book on a market oracle reading that pool is liquidated.
    let cascade = book.liquidate(
        PriceReads::Moving,
        || pool.get().price(),
        |lrt| {
            let mut p = pool.get();
            let out = p.sell(lrt).amount_out;
            pool.set(p);
            out
        },
    );
    assert!(cascade.calls >= 1 && cascade.liquidated_lrt > 0.0);
}

// ---------------------------------------------------------------------------------------
// 4. A cascade through a constant-product pool.
// ---------------------------------------------------------------------------------------

/// The outcome of a market-oracle cascade on [`spread`] after an outside sale knocks a pool
/// of `depth` to 0.97.
struct Run {
    book: LendingBook,
    cascade: Cascade,
    pool_before: Pool,
    pool_after: Pool,
    sales: Vec<(f64, f64, f64)>,
}

fn market_cascade(depth: f64, looper_leverage: f64) -> Run {
    let mut book = LendingBook::new(AAVE, &spread(), 1.0, looper_leverage);
    let pool_before = shocked_pool(depth, 0.97);
    let pool = Cell::new(pool_before);
    let mut sales = Vec::new();
    let cascade = book.liquidate(
        PriceReads::Moving,
        || pool.get().price(),
        |lrt| {
            let mut p = pool.get();
            let swap = p.sell(lrt);
            pool.set(p);
            sales.push((lrt, swap.amount_out, swap.fee));
            swap.amount_out
        },
    );
    Run {
        book,
        cascade,
        pool_before,
        pool_after: pool.get(),
        sales,
    }
}

#[test]
fn a_market_oracle_cascade_feeds_on_its_own_sales_and_stops() {
    // 3,000 LRT in 30 buckets at HF 1.01 … 1.30, a constant-product pool knocked to 0.97.
    // At 0.97 the buckets with HF × 0.97 < 1, i.e. HF ≤ 1.03, are liquidated; their sales
    // push the price down and the next buckets fall.
    let shallow = market_cascade(20_000.0, 10.0);
    let deep = market_cascade(50_000.0, 10.0);

    for run in [&shallow, &deep] {
        let c = run.cascade;
        let final_price = run.pool_after.price();
        // (a) It stopped, not at the cap, with nothing liquidatable at the final price.
        assert!(!c.unresolved);
        assert!(!run.book.liquidatable(final_price));
        assert!(run.book.min_health_factor(final_price) >= 1.0);
        // (b) More than one call (three buckets are liquidatable at the shocked price).
        let p = run.pool_before.price();
        assert!(c.calls > 1, "calls {}", c.calls);
        assert_eq!(run.book.max_depth(), c.calls);
        // The first call's sale, from the formulas: the most underwater bucket at the shocked
        // price p (HF 1.01·p = 0.9797), liquidated by Aave's rule — half its debt, HF above
        // 0.95 — at the bonus: 0.5·D·(1 + b)/p. (1e-12 relative: a few roundings.)
        let b = 1.0 + AAVE.liquidation_bonus;
        let (c0, h0) = spread()[0];
        let d0 = c0 * AAVE.liquidation_threshold / h0;
        assert!(h0 * p > 0.95 && h0 * p < 1.0);
        let first = 0.5 * d0 * b / p;
        assert!(first > 0.0);
        assert!(rel_err(run.sales[0].0, first) < 1e-12);
        // (d) Conservation: lent = repaid + outstanding + bad debt (1e-9 relative).
        let lent = run.book.lent_eth();
        assert!(run.book.conservation_residual().abs() < 1e-9 * lent);
        assert!(
            (lent - (c.repaid_eth + run.book.total_debt_eth() + c.bad_debt_eth)).abs()
                < 1e-9 * lent
        );
        assert!(run.book.collateral_residual().abs() < 1e-9 * run.book.posted_lrt());
        // (e) Proceeds are the pool's payouts: the closure's returns, summed in the same
        // order (bit for bit), and the ETH that left the pool (Uniswap v2 takes its fee out
        // of the LRT paid in, all of which stays in the pool; each sale recomputes x, so the
        // telescoping sum differs by rounding: 1e-12 of the pool).
        let paid: f64 = run.sales.iter().map(|s| s.1).sum();
        let fees: f64 = run.sales.iter().map(|s| s.2).sum();
        let seized: f64 = run.sales.iter().map(|s| s.0).sum();
        assert_eq!(c.proceeds_eth, paid);
        assert_eq!(run.sales.len() as u32, c.calls);
        let left_pool = run.pool_before.eth() - run.pool_after.eth();
        assert!((left_pool - c.proceeds_eth).abs() < 1e-12 * run.pool_before.eth());
        assert!(rel_err(fees, FEE * seized) < 1e-12);
        let into_pool = run.pool_after.lrt_units() - run.pool_before.lrt_units();
        assert!(rel_err(into_pool, seized) < 1e-12);
        assert!(rel_err(c.liquidated_lrt, seized) < 1e-12);
        assert!(rel_err(run.book.liquidation_proceeds_eth(), c.proceeds_eth) < 1e-15);
    }

    // In the shallow pool the sales fed back: a bucket healthy at the shocked price (HF
    // 1.04 × 0.97 > 1) was liquidated because the calls before it moved the price.
    let p = shallow.pool_before.price();
    let fed = spread()
        .iter()
        .zip(shallow.book.collateral_lrt())
        .any(|(&(c, h), &left)| h * p >= 1.0 && left < c);
    assert!(fed, "no bucket beyond the shock was reached");

    // (c) A deeper pool absorbs the same sales with less impact: fewer calls, less seized,
    // a higher final price. (Calls are not monotone in depth everywhere: a pool shallow
    // enough closes the whole book in full in a few calls. Both pools here are deep
    // enough for the cascade to stop with part of the book healthy.)
    assert!(shallow.cascade.calls > deep.cascade.calls);
    assert!(shallow.cascade.liquidated_lrt > deep.cascade.liquidated_lrt);
    assert!(shallow.pool_after.price() < deep.pool_after.price());
    assert!(shallow.book.total_collateral_lrt() > 0.0);
}

// ---------------------------------------------------------------------------------------
// 5. An underwater position.
// ---------------------------------------------------------------------------------------

#[test]
fn an_underwater_position_leaves_the_closed_form_bad_debt() {
    // 100 LRT owing 90.476 ETH; the oracle falls to 0.8: collateral worth 80 < debt, HF =
    // 0.84 < 0.95, full close. Liquidators take everything and repay what it is worth to
    // them, 80/1.01; the rest is bad debt: D − C·p/(1 + bonus). Same operations as the
    // closed form, so equal bit for bit.
    let price = 0.8;
    let mut book = LendingBook::new(AAVE, &[(100.0, 1.05)], 1.0, 1.0);
    let d = book.debt_eth()[0];
    assert!(100.0 * price < d);
    let cascade = book.liquidate(PriceReads::Fixed, || price, |lrt| lrt * price);
    let repaid = 100.0 * price / (1.0 + AAVE.liquidation_bonus);
    assert_eq!(cascade.calls, 1);
    assert_eq!(cascade.liquidated_lrt, 100.0);
    assert_eq!(cascade.repaid_eth, repaid);
    assert_eq!(cascade.bad_debt_eth, d - repaid);
    // By hand: 1900/21 − 80/1.01 = 90.476190476190476 − 79.207920792079208.
    assert!((cascade.bad_debt_eth - 11.268_269_684_111_27).abs() < 1e-9);
    assert_eq!(book.collateral_lrt()[0], 0.0);
    assert_eq!(book.debt_eth()[0], 0.0);
    assert_eq!(book.bad_debt_eth(), cascade.bad_debt_eth);
    assert!(book.conservation_residual().abs() < 1e-12 * book.lent_eth());
}

// ---------------------------------------------------------------------------------------
// 6. The representative looper.
// ---------------------------------------------------------------------------------------

#[test]
fn the_looper_follows_the_rules_but_never_moves_the_market() {
    // Same cascade with a 15× looper (HF 15 × 0.95/14 = 1.018, liquidated at 0.97) and
    // without one (leverage 1, no debt): the market is identical bit for bit.
    let with = market_cascade(20_000.0, 15.0);
    let without = market_cascade(20_000.0, 1.0);
    assert_eq!(with.cascade, without.cascade);
    assert_eq!(with.sales, without.sales);
    assert_eq!(with.book.collateral_lrt(), without.book.collateral_lrt());
    assert_eq!(with.book.debt_eth(), without.book.debt_eth());
    assert_eq!(with.book.lent_eth(), without.book.lent_eth());
    assert_eq!(with.book.repaid_eth(), without.book.repaid_eth());
    assert_eq!(with.book.bad_debt_eth(), without.book.bad_debt_eth());
    assert_eq!(with.book.liquidated_lrt(), without.book.liquidated_lrt());
    assert_eq!(
        with.book.liquidation_proceeds_eth(),
        without.book.liquidation_proceeds_eth()
    );
    assert_eq!(with.book.max_depth(), without.book.max_depth());
    // …and the looper was liquidated: less debt than its 14 ETH, healthy at the end, and
    // most of its 1 ETH of equity gone.
    let p = with.pool_after.price();
    assert!(with.book.looper_debt_eth() < 14.0);
    assert!(with.book.looper_health_factor(p) >= 1.0);
    assert!(with.book.looper_equity(p) < 1.0);
    assert_eq!(without.book.looper_equity(p), p);

    // Same rules: at a constant price the looper ends exactly where a bucket built like it
    // ends (collateral 15, HF 15 × 0.95/14 at price 1), calls and all.
    let hf15 = 15.0 * AAVE.liquidation_threshold / 14.0;
    for price in [0.98, 0.97, 0.958, 0.9, 0.5] {
        let mut looper = LendingBook::new(AAVE, &[], 1.0, 15.0);
        let mut bucket = LendingBook::new(AAVE, &[(15.0, hf15)], 1.0, 1.0);
        assert!(rel_err(bucket.debt_eth()[0], looper.looper_debt_eth()) < 1e-12);
        let c = looper.liquidate(PriceReads::Fixed, || price, |lrt| lrt * price);
        assert_eq!(c, Cascade::default(), "the looper alone is no market");
        bucket.liquidate(PriceReads::Fixed, || price, |lrt| lrt * price);
        assert!((looper.looper_collateral_lrt() - bucket.collateral_lrt()[0]).abs() < 1e-12);
        assert!((looper.looper_debt_eth() - bucket.debt_eth()[0]).abs() < 1e-12);
        // At a fixed price each partial liquidation costs the looper the bonus on what was
        // repaid (it gives up r·(1 + bonus) of collateral for r of debt): equity =
        // 15p − 14 − bonus × repaid while collateral is left; 0 once it is all seized.
        let equity = looper.looper_equity(price);
        if looper.looper_collateral_lrt() > 0.0 {
            let repaid = 14.0 - looper.looper_debt_eth();
            assert!(repaid > 0.0);
            let want = 15.0 * price - 14.0 - AAVE.liquidation_bonus * repaid;
            assert!((equity - want).abs() < 1e-12, "{price}: {equity} vs {want}");
        } else {
            assert_eq!(equity, 0.0);
        }
    }
}

// ---------------------------------------------------------------------------------------
// 7. The rsETH case: borrowing against unbacked LRT.
// ---------------------------------------------------------------------------------------

#[test]
fn borrowing_against_minted_lrt_then_dilution_leaves_the_closed_form_bad_debt() {
    // An attacker mints M = 100 LRT without backing and borrows at LTV 0.93 at the old
    // rate, 1: 93 ETH. The mint is discovered; the exchange rate falls by the dilution,
    // NAV 1/1.18. Attacker's HF = 100 × (1/1.18) × 0.95 / 93 = 0.95/0.93/1.18 = 0.8657 <
    // 0.95: full close, everything seized, 100/1.18/1.01 repaid, bad debt
    //   93 − 100/(1.18 × 1.01) = 0.93·M − M/(1.18·1.01) = 9.0933042456788 ETH.
    // Honest borrowers at HF 1.25 fall to 1.25/1.18 = 1.059 and survive.
    let nav = 1.0 / 1.18;
    let m = 100.0;
    let mut book = LendingBook::new(AAVE, &[(1000.0, 1.25)], 1.0, 1.0);
    let borrowed = book.open(m, 1.0);
    assert!(rel_err(borrowed, 93.0) < 1e-15);
    assert_eq!(book.position_count(), 2);
    assert!(rel_err(book.lent_eth(), 1000.0 * 0.95 / 1.25 + 93.0) < 1e-15);
    let hf = book.position_health_factor(1, nav);
    assert!(rel_err(hf, 0.95 / 0.93 / 1.18) < 1e-12);
    assert!(hf < AAVE.full_close_below_hf);

    let mut sold = 0.0;
    let cascade = book.liquidate(
        PriceReads::Fixed,
        || nav,
        |lrt| {
            sold += lrt;
            lrt * nav
        },
    );
    let bad = 0.93 * m - m / (1.18 * 1.01);
    assert_eq!(cascade.calls, 1);
    assert_eq!(sold, m);
    assert!(rel_err(cascade.bad_debt_eth, bad) < 1e-12);
    assert!((cascade.bad_debt_eth - 9.093_304_245_678_8).abs() < 1e-9);
    assert!(rel_err(cascade.repaid_eth, m / (1.18 * 1.01)) < 1e-12);
    // The honest bucket is untouched.
    assert_eq!(book.collateral_lrt()[0], 1000.0);
    assert!(rel_err(book.position_health_factor(0, nav), 1.25 / 1.18) < 1e-12);
    assert!(book.conservation_residual().abs() < 1e-12 * book.lent_eth());
}

// ---------------------------------------------------------------------------------------
// 8. Properties on random books and price paths.
// ---------------------------------------------------------------------------------------

/// Random risk parameters: LT in [0.5, 0.97], LTV up to LT, bonus up to 15%, any close factor,
/// any protocol fee (often none), either version,
/// full-close threshold anywhere in [0.5, 1]; the engine's safety bound on calls, or (to
/// exercise it) 1 to 40 calls.
fn params() -> impl Strategy<Value = LendingParams> {
    (
        0.5f64..0.97,
        0.5f64..1.0,
        0.0f64..0.15,
        0.05f64..=1.0,
        0.5f64..=1.0,
        prop_oneof![Just(MAX_CASCADE_CALLS), 1u32..40],
        prop_oneof![Just(0.0), 0.0f64..=1.0],
        prop::bool::ANY,
    )
        .prop_map(
            |(lt, ltv_share, bonus, cf, full, calls, protocol_fee, v3_3)| LendingParams {
                ltv: lt * ltv_share,
                liquidation_threshold: lt,
                liquidation_bonus: bonus,
                close_factor: cf,
                full_close_below_hf: full,
                protocol_fee,
                version: if v3_3 {
                    LenderVersion::V3_3
                } else {
                    LenderVersion::V3_2
                },
                max_calls: calls,
            },
        )
}

/// One step of a path: the oracle's price, whether it reads a pool (else it is constant),
/// and LRT posted by a new borrower before the cascade (0: none).
fn steps() -> impl Strategy<Value = Vec<(f64, bool, f64)>> {
    prop::collection::vec(
        (
            0.1f64..1.3,
            prop::bool::ANY,
            prop_oneof![Just(0.0), 0.0f64..500.0],
        ),
        1..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_207),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every cascade ends by itself, well within the engine's safety bound, and leaves
    /// nothing liquidatable at the price it ends at; one stopped by a small bound leaves
    /// positions liquidatable; nothing goes negative; ETH and LRT are conserved (1e-9
    /// relative).
    #[test]
    fn cascades_terminate_and_conserve(
        params in params(),
        buckets in prop::collection::vec((0.0f64..1000.0, 1.0f64..2.0), 0..12),
        looper in 1.0f64..30.0,
        depth in 50.0f64..50_000.0,
        path in steps(),
    ) {
        let mut book = LendingBook::new(params, &buckets, 1.0, looper);
        let pool = Cell::new(Pool::with_fees(Invariant::ConstantProduct, Fees::uniswap_v2(FEE), depth, depth));
        let mut depth_seen = 0;
        for &(target, market, posted) in &path {
            if posted > 0.0 {
                let borrowed = book.open(posted, target);
                prop_assert!(borrowed >= 0.0);
            }
            let mut paid = 0.0;
            let final_price;
            let cascade = if market {
                // Move the pool to the target first, then let the cascade move it further.
                let mut p = pool.get();
                if p.price() > target {
                    p.sell_to_price(target, f64::INFINITY, Quote::Marginal);
                } else {
                    p.buy_to_price(target, f64::INFINITY, Quote::Marginal);
                }
                pool.set(p);
                let c = book.liquidate(
                    PriceReads::Moving,
                    || pool.get().price(),
                    |lrt| {
                        let mut p = pool.get();
                        let out = p.sell(lrt).amount_out;
                        pool.set(p);
                        paid += out;
                        out
                    },
                );
                final_price = pool.get().price();
                c
            } else {
                let c = book.liquidate(PriceReads::Fixed, || target, |lrt| { let out = lrt * target; paid += out; out });
                final_price = target;
                c
            };
            prop_assert!(cascade.calls <= params.max_calls);
            if cascade.unresolved {
                prop_assert!(params.max_calls < MAX_CASCADE_CALLS, "{} calls", cascade.calls);
                prop_assert_eq!(cascade.calls, params.max_calls);
                prop_assert!(book.liquidatable(final_price));
            } else {
                prop_assert!(!book.liquidatable(final_price));
            }
            depth_seen = depth_seen.max(cascade.calls);
            prop_assert_eq!(book.max_depth(), depth_seen);
            prop_assert_eq!(cascade.proceeds_eth, paid);
            prop_assert!(cascade.liquidated_lrt >= 0.0 && cascade.repaid_eth >= 0.0);
            prop_assert!(cascade.bad_debt_eth >= 0.0);
            for (&c, &d) in book.collateral_lrt().iter().zip(book.debt_eth()) {
                prop_assert!(c >= 0.0 && d >= 0.0 && c.is_finite() && d.is_finite());
            }
            prop_assert!(book.looper_collateral_lrt() >= 0.0 && book.looper_debt_eth() >= 0.0);
            let lent = book.lent_eth();
            prop_assert!(book.conservation_residual().abs() <= 1e-9 * lent.max(1.0),
                "residual {} of {}", book.conservation_residual(), lent);
            prop_assert!(book.collateral_residual().abs() <= 1e-9 * book.posted_lrt().max(1.0));
        }
    }
}

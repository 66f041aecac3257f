//! The continuous-time market against closed forms, at several internal tolerances
//! (`simulation.max_price_move_per_substep`) and reporting grids (`simulation.step_days`):
//! issue 16. Every scenario has one path, NAV 1 throughout (no rewards, no losses), and one
//! trader besides the pool, so price / NAV has a reference computed here from the pool's
//! invariant alone — nothing in this file calls the crate's pool code.
//!
//! - A constant-rate sale into a Uniswap v2 pool: a closed form, exact for the continuous flow.
//! - A constant-rate sale into a Curve StableSwap pool: the invariant solved by bisection
//!   (without a fee the flow is one trade of everything sold so far), or with a fee an ODE
//!   along the curve integrated by RK4 (the limit of many small trades).
//! - Patient buyers after a dump (exact 2^(−t/H)) and against a constant-rate sale (an ODE in
//!   price / NAV, exact for a fee-less constant product, integrated by RK4), with the time
//!   spent beyond each discount threshold.
//! - The number of sub-steps against the tolerance.
//!
//! Measured errors (max |Δ price / NAV| over every step end of the three grids, and the path's
//! low) are printed with `--nocapture` and quoted in docs/model.md §14.

use std::path::Path;

use lrtsim_scenario::{Model, load_str};
use lrtsim_sim::replay;

/// Collateral, ETH, and LRT supply: NAV 1.
const SUPPLY: f64 = 100_000.0;
/// The pool: 10,000 ETH of value, balanced: x₀ = z₀ = 5,000.
const DEPTH_ETH: f64 = 10_000.0;
/// Each side of it, ETH and LRT.
const X0: f64 = 5_000.0;
/// The internal tolerances tested (the default first).
const TOLERANCES: [f64; 3] = [3e-3, 1e-3, 3e-4];
/// The reporting grids tested.
const STEPS_DAYS: [f64; 3] = [1.0, 0.25, 0.0625];
/// The sales start here and last `SELL_DAYS` (both on every grid).
const SELL_START_DAYS: f64 = 0.5;
const SELL_DAYS: f64 = 6.0;
const HORIZON_DAYS: f64 = 8.0;

/// One path of a scenario with `market` (the `[market…]` tables) at tolerance `tol` and steps
/// of `step_days`.
fn scenario(tol: f64, step_days: f64, horizon_days: f64, market: &str) -> Model {
    let text = format!(
        "[simulation]\npaths = 1\nhorizon_days = {horizon_days}\nstep_days = {step_days}\nseed = 5\n\
         max_price_move_per_substep = {tol:e}\n\
         [pool]\ncollateral_eth = {SUPPLY}\n[[operators]]\nname = \"op\"\nshare = 1.0\n{market}"
    );
    load_str(&text, Path::new("closed_forms.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// What the engine reported on the path.
struct Run {
    /// (day, price / NAV) at every step's end.
    ends: Vec<(f64, f64)>,
    max_discount: f64,
    days_over_100bps: f64,
    days_over_500bps: f64,
    substeps: f64,
    unresolved: f64,
}

fn simulate(model: &Model) -> Run {
    let r = replay(model, 0).unwrap_or_else(|e| panic!("{e}"));
    let ends = r
        .steps
        .iter()
        .map(|s| {
            assert_eq!(s.nav_per_lrt, 1.0);
            (s.day, s.market.expect("a market").price_eth)
        })
        .collect();
    let v = |name: &str| r.value(name).unwrap_or_else(|| panic!("no column {name}"));
    Run {
        ends,
        max_discount: v("max_discount"),
        days_over_100bps: v("days_discount_over_100bps"),
        days_over_500bps: v("days_discount_over_500bps"),
        substeps: v("market_substeps"),
        unresolved: v("market_unresolved_substeps"),
    }
}

/// LRT sold by day `t` by a flow of `rate` LRT a day over [`SELL_START_DAYS`, + `SELL_DAYS`).
fn sold_by(t: f64, rate: f64) -> f64 {
    rate * (t.clamp(SELL_START_DAYS, SELL_START_DAYS + SELL_DAYS) - SELL_START_DAYS)
}

/// The largest error of `run` against `reference` (price / NAV at a day) at the step ends, and
/// of its low against `low` (the reference's largest discount).
fn errors(run: &Run, reference: impl Fn(f64) -> f64, low: f64) -> (f64, f64) {
    let ends = run
        .ends
        .iter()
        .map(|&(t, q)| (q - reference(t)).abs())
        .fold(0.0, f64::max);
    (ends, (run.max_discount - low).abs())
}

/// The observed order of convergence between the first and last tolerance of [`TOLERANCES`].
fn order(err: &[f64]) -> f64 {
    (err[0] / err[err.len() - 1]).ln() / (TOLERANCES[0] / TOLERANCES[TOLERANCES.len() - 1]).ln()
}

// ---------------------------------------------------------------------------------------------
// Constant product (Uniswap v2)
// ---------------------------------------------------------------------------------------------

/// Price / NAV of the constant-product pool x₀ = z₀ = 5,000 after `sold` LRT were sold into it
/// as a continuous flow, with Uniswap v2's fee φ on the amount in, all of it kept.
///
/// A sale of dz (gross) adds dz to the LRT reserve and pays out getAmountOut(dz) =
/// x·dz(1 − φ)/(z + dz(1 − φ)), which to first order is x(1 − φ)dz/z. As a flow:
///
/// ```text
/// dz = r dt,   dx = −(1 − φ)·x·dz/z   ⇒   x·z^(1−φ) = x₀·z₀^(1−φ)
/// p(t) = x/z = x₀·z₀^(1−φ) / (z₀ + r·t)^(2−φ)
/// ```
///
/// (φ = 0: p = x₀z₀/(z₀ + rt)², the invariant x·z = k itself.) One finite trade of Δ = u·z
/// instead leaves ln x lower by φ(1 − φ)u²/2 + O(u³): splitting the flow into sub-steps of
/// u ≈ tol/(2q) (a move of tol in q = p, with −d ln p/dz = 2/z) errs by about
/// (φ/2)·Σu² ≈ (φ/2)·(tol/2q)·ln(z/z₀) in ln p — first order in the tolerance, scaled by the
/// fee.
fn cp_ratio(sold: f64, fee: f64) -> f64 {
    let z = X0 + sold;
    X0 * (X0 / z).powf(1.0 - fee) / z
}

fn cp_sale(fee_bps: f64) -> String {
    format!(
        "[market.pool]\nkind = \"constant_product\"\ndepth_eth = {DEPTH_ETH}\nfee_bps = {fee_bps}\n\
         [[market.shocks]]\nname = \"flow\"\nat_days = {SELL_START_DAYS}\nsell_share = 0.03\nsell_days = {SELL_DAYS}\n"
    )
}

#[test]
fn a_constant_rate_sale_into_a_constant_product_pool_follows_the_closed_form() {
    // 3,000 LRT over 6 days into 5,000 + 5,000: price / NAV falls to (5/8)^(2−φ) ≈ 0.39.
    let rate = 0.03 * SUPPLY / SELL_DAYS;
    let z_end = X0 + 0.03 * SUPPLY;
    // Without a fee every split of the flow is the same trade: exact at any tolerance.
    let mut counts = Vec::new();
    for tol in TOLERANCES {
        for step in STEPS_DAYS {
            let run = simulate(&scenario(tol, step, HORIZON_DAYS, &cp_sale(0.0)));
            let (ends, low) = errors(
                &run,
                |t| cp_ratio(sold_by(t, rate), 0.0),
                1.0 - cp_ratio(3_000.0, 0.0),
            );
            assert!(
                ends < 1e-13 && low < 1e-13,
                "tol {tol}, step {step}: {ends:e}, {low:e}"
            );
            // Sub-steps: price / NAV falls monotonically by V = 1 − q_end, a sub-step of the
            // sale moves it by the tolerance (at most; less where a step's end cuts it short),
            // and the quiet steps take one each: V/tol ≤ N ≤ V/tol + steps + 2.
            let moves = (1.0 - cp_ratio(3_000.0, 0.0)) / tol;
            let steps = HORIZON_DAYS / step;
            assert!(
                run.substeps >= moves && run.substeps <= moves + steps + 2.0,
                "tol {tol}, step {step}: {} sub-steps for {moves:.1} moves of the tolerance",
                run.substeps
            );
            if step == 1.0 {
                counts.push(run.substeps);
            }
        }
    }
    println!("constant product, no fee: sub-steps at daily steps {counts:?}");
    // Uniswap v2's 30 bp: the fee kept by each sub-step's trade deepens the pool for the next
    // one, so the path depends on the splitting, at first order in the tolerance.
    let fee = 0.003;
    let mut worst = Vec::new();
    for tol in TOLERANCES {
        let mut e = 0.0f64;
        for step in STEPS_DAYS {
            let run = simulate(&scenario(tol, step, HORIZON_DAYS, &cp_sale(30.0)));
            let (ends, low) = errors(
                &run,
                |t| cp_ratio(sold_by(t, rate), fee),
                1.0 - cp_ratio(3_000.0, fee),
            );
            // The bound above, with q ≥ its end value and 50 % slack for sub-steps that grow.
            let q_end = cp_ratio(3_000.0, fee);
            let bound = 1.5 * (fee / 2.0) * (tol / (2.0 * q_end)) * (z_end / X0).ln();
            assert!(
                ends < bound && low < bound,
                "tol {tol}, step {step}: {ends:e}, {low:e} vs {bound:e}"
            );
            e = e.max(ends).max(low);
            assert_eq!(run.unresolved, 0.0);
        }
        println!("constant product, 30 bp: tolerance {tol:e}: max error {e:.3e}");
        worst.push(e);
    }
    let p = order(&worst);
    println!("constant product, 30 bp: observed order {p:.2}");
    assert!(worst.windows(2).all(|w| w[1] < w[0]), "{worst:?}");
    assert!((0.8..1.3).contains(&p), "order {p}");
}

// ---------------------------------------------------------------------------------------------
// StableSwap (Curve)
// ---------------------------------------------------------------------------------------------

/// Curve's two-coin invariant F(x, z; D) = 4A(x + z) + D − 4AD − D³/(4xz): 0 on the curve,
/// increasing in x and z, decreasing in D (for 4A ≥ 1).
fn ss_f(amp: f64, d: f64, x: f64, z: f64) -> f64 {
    4.0 * amp * (x + z) + d - 4.0 * amp * d - d * d * d / (4.0 * x * z)
}

/// The root of an increasing `f` on [lo, hi] by bisection to the last bit.
fn bisect(mut lo: f64, mut hi: f64, f: impl Fn(f64) -> f64) -> f64 {
    loop {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            return mid;
        }
        if f(mid) > 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
}

/// D of the curve through (x, z): on [2√(xz), x + z] (F ≥ 0 at the constant-product value,
/// ≤ 0 at the constant-sum one).
fn ss_d(amp: f64, x: f64, z: f64) -> f64 {
    bisect(2.0 * (x * z).sqrt(), x + z, |d| -ss_f(amp, d, x, z))
}

/// The ETH balance on the curve D at LRT balance `z`.
fn ss_x(amp: f64, d: f64, z: f64) -> f64 {
    bisect(0.0, d, |x| if x <= 0.0 { -1.0 } else { ss_f(amp, d, x, z) })
}

/// The marginal price −dx/dz on the curve through (x, z): F_z / F_x.
fn ss_price(amp: f64, d: f64, x: f64, z: f64) -> f64 {
    let c = d * d * d / (4.0 * x * z);
    (4.0 * amp + c / z) / (4.0 * amp + c / x)
}

/// Price / NAV along a sale into a StableSwap pool x₀ = z₀ = 5,000 with fee `fee` on the
/// amount out of which `kept` stays in the pool, at each of `sold` (increasing LRT sold), for
/// the continuous flow: the gross amount out of a sale dz is p·dz, the pool keeps
/// kept·fee·p·dz of it, so
///
/// ```text
/// dx/dz = −p(x, z)·(1 − kept·fee),   p = F_z/F_x on the curve through (x, z)
/// ```
///
/// (D grows with the kept fee: it is solved afresh from (x, z) at every evaluation),
/// integrated by classical RK4 in z with steps of at most `dz_max`. Without a fee this is the
/// curve D₀ itself: one trade of everything sold.
fn ss_flow(amp: f64, fee: f64, kept: f64, sold: &[f64], dz_max: f64) -> Vec<f64> {
    let slope = |x: f64, z: f64| -ss_price(amp, ss_d(amp, x, z), x, z) * (1.0 - kept * fee);
    let (mut x, mut z) = (X0, X0);
    sold.iter()
        .map(|&s| {
            let target = X0 + s;
            let n = ((target - z) / dz_max).ceil().max(0.0);
            let h = if n > 0.0 { (target - z) / n } else { 0.0 };
            for _ in 0..n as usize {
                let k1 = slope(x, z);
                let k2 = slope(x + 0.5 * h * k1, z + 0.5 * h);
                let k3 = slope(x + 0.5 * h * k2, z + 0.5 * h);
                let k4 = slope(x + h * k3, z + h);
                x += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
                z += h;
            }
            z = target;
            ss_price(amp, ss_d(amp, x, z), x, z)
        })
        .collect()
}

fn ss_sale(fee_bps: f64, admin: f64) -> String {
    format!(
        "[market.pool]\nkind = \"stableswap\"\namplification = 50\ndepth_eth = {DEPTH_ETH}\n\
         fee_bps = {fee_bps}\nadmin_fee_share = {admin}\n\
         [[market.shocks]]\nname = \"flow\"\nat_days = {SELL_START_DAYS}\nsell_share = 0.05\nsell_days = {SELL_DAYS}\n"
    )
}

#[test]
fn a_constant_rate_sale_into_a_stableswap_pool_follows_the_invariant() {
    // A = 50, 5,000 + 5,000, 5,000 LRT over 6 days: flat at first, then over the curve's edge
    // to price / NAV ≈ 0.48.
    let amp = 50.0;
    let rate = 0.05 * SUPPLY / SELL_DAYS;
    // Without a fee the flow is one trade of what was sold so far: x on the curve D₀ = 10,000.
    let d0 = 2.0 * X0;
    let exact = |t: f64| {
        let z = X0 + sold_by(t, rate);
        ss_price(amp, d0, ss_x(amp, d0, z), z)
    };
    let low = 1.0 - exact(HORIZON_DAYS);
    assert!((0.45..0.55).contains(&low), "{low}");
    for tol in TOLERANCES {
        for step in STEPS_DAYS {
            let run = simulate(&scenario(tol, step, HORIZON_DAYS, &ss_sale(0.0, 0.5)));
            let (ends, low_err) = errors(&run, exact, low);
            assert!(
                ends < 1e-11 && low_err < 1e-11,
                "tol {tol}, step {step}: {ends:e}, {low_err:e}"
            );
        }
    }

    // 30 bp on the amount out, all of it kept (admin share 0): the kept fee raises D trade by
    // trade, so the reference is the limit of many small trades, the ODE of `ss_flow`. Its own
    // error: RK4 at 0.5 and 0.25 LRT a step agree to ~2e-14.
    let (fee, kept) = (0.003, 1.0);
    let days: Vec<f64> = (1..=128).map(|k| f64::from(k) * 0.0625).collect();
    let sold: Vec<f64> = days.iter().map(|&t| sold_by(t, rate)).collect();
    let reference = ss_flow(amp, fee, kept, &sold, 0.5);
    let finer = ss_flow(amp, fee, kept, &sold, 0.25);
    let rk4 = reference
        .iter()
        .zip(&finer)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    println!("stableswap, 30 bp kept: RK4 at 0.5 against 0.25 LRT a step: {rk4:.1e}");
    assert!(rk4 < 1e-12, "RK4 {rk4:e}");
    let at = |t: f64| reference[(t / 0.0625).round() as usize - 1];
    let low = 1.0 - at(HORIZON_DAYS);
    let mut worst = Vec::new();
    for tol in TOLERANCES {
        let mut e = 0.0f64;
        for step in STEPS_DAYS {
            let run = simulate(&scenario(tol, step, HORIZON_DAYS, &ss_sale(30.0, 0.0)));
            let (ends, low_err) = errors(&run, at, low);
            e = e.max(ends).max(low_err);
            assert_eq!(run.unresolved, 0.0);
        }
        println!("stableswap, 30 bp kept: tolerance {tol:e}: max error {e:.3e}");
        worst.push(e);
    }
    let p = order(&worst);
    println!("stableswap, 30 bp kept: observed order {p:.2}");
    for (e, tol) in worst.iter().zip(TOLERANCES) {
        assert!(*e < 2.0 * kept * fee * tol, "tol {tol}: {e:e}");
    }
    assert!(worst.windows(2).all(|w| w[1] < w[0]), "{worst:?}");
    assert!((0.8..1.3).contains(&p), "order {p}");
}

// ---------------------------------------------------------------------------------------------
// Patient buyers
// ---------------------------------------------------------------------------------------------

fn buyers(extra: &str, half_life_days: f64) -> String {
    format!(
        "[market.pool]\nkind = \"constant_product\"\ndepth_eth = {DEPTH_ETH}\nfee_bps = 0\n\
         [market.recovery]\nhalf_life_days = {half_life_days}\n{extra}"
    )
}

#[test]
fn after_a_dump_patient_buyers_close_the_gap_exactly_at_their_half_life() {
    // 2 % of supply at once on day 0.5 into 5,000 + 5,000: gap₀ = 1 − (5/7)², then
    // gap(t) = gap₀·2^(−(t − 0.5)/H) — at every tolerance and grid, to rounding, as the
    // sub-steps compose exact factors. Time beyond 1 %: H·log₂(gap₀/0.01), exact too (the
    // metric interpolates geometrically within a sub-step).
    let h = 0.75;
    let gap0 = 1.0 - (5.0f64 / 7.0).powi(2);
    let dump = "[[market.shocks]]\nname = \"dump\"\nat_days = 0.5\nsell_share = 0.02\n";
    // A step ending on day 0.5 ends before the dump (step k holds the events of
    // [k·step, (k + 1)·step)).
    let exact = |t: f64| {
        if t <= 0.5 {
            1.0
        } else {
            1.0 - gap0 * (-(t - 0.5) / h).exp2()
        }
    };
    let over = |d: f64| h * (gap0 / d).log2();
    for tol in TOLERANCES {
        for step in STEPS_DAYS {
            let run = simulate(&scenario(tol, step, HORIZON_DAYS, &buyers(dump, h)));
            let (ends, low) = errors(&run, exact, gap0);
            assert!(
                ends < 1e-12 && low < 1e-12,
                "tol {tol}, step {step}: {ends:e}, {low:e}"
            );
            assert!(
                (run.days_over_100bps - over(0.01)).abs() < 1e-9,
                "tol {tol}, step {step}: {} vs {}",
                run.days_over_100bps,
                over(0.01)
            );
            assert!((run.days_over_500bps - over(0.05)).abs() < 1e-9);
        }
    }
}

/// Price / NAV q of a fee-less constant-product pool (x·z = L², L = 5,000, so z = L/√q) with
/// patient buyers at half-life `h` and `rate` LRT a day sold from `start` to `end`:
///
/// ```text
/// dq/dt = (ln 2/h)·(1 − q) − 1{start ≤ t < end}·(2·rate/L)·q^(3/2)
/// ```
///
/// (buyers close the gap at their half-life; a sale dz moves ln q by −2dz/z). No linearisation:
/// this is the exact dynamics of the pool. As an autonomous ODE on [start, end) q falls
/// monotonically toward the balance of the two terms, so the path's low is q(end); after `end`
/// the gap decays as 2^(−(t − end)/h).
#[derive(Clone, Copy)]
struct BuyersAndSale {
    h: f64,
    rate: f64,
    start: f64,
    end: f64,
}

impl BuyersAndSale {
    fn dq(&self, q: f64, selling: bool) -> f64 {
        let buy = std::f64::consts::LN_2 / self.h * (1.0 - q);
        if selling {
            buy - 2.0 * self.rate / X0 * q * q.sqrt()
        } else {
            buy
        }
    }

    /// q after `dt` of RK4 from `q` (all within or all outside the sale).
    fn rk4(&self, q: f64, dt: f64, selling: bool) -> f64 {
        let k1 = self.dq(q, selling);
        let k2 = self.dq(q + 0.5 * dt * k1, selling);
        let k3 = self.dq(q + 0.5 * dt * k2, selling);
        let k4 = self.dq(q + dt * k3, selling);
        q + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    }

    /// q at `t`, by RK4 from the sale's start in steps of at most `dt`.
    fn q(&self, t: f64, dt: f64) -> f64 {
        if t <= self.start {
            return 1.0;
        }
        let within = t.min(self.end) - self.start;
        let n = (within / dt).ceil();
        let mut q = 1.0;
        for _ in 0..n as usize {
            q = self.rk4(q, within / n, true);
        }
        if t > self.end {
            q = 1.0 - (1.0 - q) * (-(t - self.end) / self.h).exp2();
        }
        q
    }

    /// ∫ of the buyers' and of the sellers' rates of change of q from the sale's start to
    /// `horizon` (trapezoids on RK4 steps of `dt`): the moves the sub-steps are sized by.
    fn gross_moves(&self, horizon: f64, dt: f64) -> (f64, f64) {
        let n = ((horizon - self.start) / dt).round() as usize;
        let (mut buyers, mut sellers) = (0.0, 0.0);
        let mut q = 1.0;
        for i in 0..n {
            let t = self.start + i as f64 * dt;
            let selling = t < self.end;
            let next = if selling {
                self.rk4(q, dt, true)
            } else {
                1.0 - (1.0 - q) * (-dt / self.h).exp2()
            };
            let buy = |q: f64| std::f64::consts::LN_2 / self.h * (1.0 - q);
            buyers += 0.5 * dt * (buy(q) + buy(next));
            if selling {
                let sell = |q: f64| 2.0 * self.rate / X0 * q * q.sqrt();
                sellers += 0.5 * dt * (sell(q) + sell(next));
            }
            q = next;
        }
        (buyers, sellers)
    }

    /// Days with the discount above `d`: from its crossing within the sale (bisection on `q`)
    /// to its crossing after it (exact), if the low is below 1 − d.
    fn days_over(&self, d: f64, dt: f64) -> f64 {
        let gap_end = 1.0 - self.q(self.end, dt);
        if gap_end <= d {
            return 0.0;
        }
        let up = bisect(self.start, self.end, |t| (1.0 - self.q(t, dt)) - d);
        self.end + self.h * (gap_end / d).log2() - up
    }
}

#[test]
fn patient_buyers_against_a_constant_rate_sale_converge_to_the_ode_at_second_order() {
    // Half-life 1 day; 1,200 LRT (1.2 % of supply) over 6 days: 200 LRT a day into
    // 5,000 + 5,000. The discount rises toward ≈ 9 % within the sale, then halves every day.
    let model = BuyersAndSale {
        h: 1.0,
        rate: 200.0,
        start: SELL_START_DAYS,
        end: SELL_START_DAYS + SELL_DAYS,
    };
    let sale = format!(
        "[[market.shocks]]\nname = \"flow\"\nat_days = {SELL_START_DAYS}\nsell_share = 0.012\nsell_days = {SELL_DAYS}\n"
    );
    let horizon = 12.0;
    // The reference at 1/2048 day, checked against 1/4096 (RK4's error falls 16-fold).
    let (dt, fine) = (1.0 / 2048.0, 1.0 / 4096.0);
    let low = 1.0 - model.q(model.end, dt);
    let rk4 = (low - 1.0 + model.q(model.end, fine)).abs();
    println!("buyers and sale: RK4 at 1/2048 against 1/4096 day: {rk4:.1e} at the low");
    assert!(rk4 < 1e-13);
    assert!((0.05..0.15).contains(&low), "{low}");
    let over = [model.days_over(0.01, dt), model.days_over(0.05, dt)];
    for (d, o) in [0.01, 0.05].into_iter().zip(over) {
        let diff = (o - model.days_over(d, fine)).abs();
        println!("buyers and sale: days over {d}: RK4 at 1/2048 against 1/4096 day: {diff:.1e}");
        assert!(diff < 1e-10);
    }
    println!(
        "buyers and sale: low {low:.6}, days over 1 % {:.6}, 5 % {:.6}",
        over[0], over[1]
    );

    let moves = model.gross_moves(horizon, dt);
    let mut worst = Vec::new();
    let mut worst_days = Vec::new();
    let mut substeps = Vec::new();
    for tol in TOLERANCES {
        let (mut e, mut e_days) = (0.0f64, 0.0f64);
        for step in STEPS_DAYS {
            let run = simulate(&scenario(tol, step, horizon, &buyers(&sale, model.h)));
            let (ends, low_err) = errors(&run, |t| model.q(t, dt), low);
            e = e.max(ends).max(low_err);
            e_days = e_days
                .max((run.days_over_100bps - over[0]).abs())
                .max((run.days_over_500bps - over[1]).abs());
            assert_eq!(run.unresolved, 0.0);
            // Sub-steps: the buyers move q by at most the tolerance within one, the buyers'
            // and sellers' gross moves together by at most the tolerance in the first after a
            // change of rates (growth lengthens the later ones up to the buyers' bound), and
            // the quiet steps take one each: B/tol ≲ N ≤ (B + S)/tol + steps + 2.
            let (b, bs) = (moves.0 / tol, (moves.0 + moves.1) / tol);
            let steps = horizon / step;
            assert!(
                run.substeps >= 0.95 * b && run.substeps <= bs + steps + 2.0,
                "tol {tol}, step {step}: {} sub-steps; buyers' moves {b:.1}, gross {bs:.1}",
                run.substeps
            );
            if step == 1.0 {
                substeps.push(run.substeps);
            }
        }
        println!(
            "buyers and sale: tolerance {tol:e}: max error {e:.3e} in price / NAV, {e_days:.3e} days over a threshold"
        );
        worst.push(e);
        worst_days.push(e_days);
    }
    let (p, p_days) = (order(&worst), order(&worst_days));
    println!("buyers and sale: observed order {p:.2} (price / NAV), {p_days:.2} (days over)");
    println!("buyers and sale: sub-steps at daily steps {substeps:?}");
    // Second order: the splitting's error at a balance is (ln 2·h/H)²/24 of the discount, with
    // h ≈ tol / (ln 2/H · discount) at most: ~tol²/(24·discount) ≈ tol²/2.4 here; the transient
    // toward the balance (the worst error, around day 2) takes about twice that.
    for (e, tol) in worst.iter().zip(TOLERANCES) {
        assert!(*e < 1.5 * tol * tol, "tol {tol}: {e:e}");
    }
    assert!((1.7..2.3).contains(&p), "order {p}");
    // The time beyond a threshold converges at second order too (the crossing on the way up,
    // during the sale, is interpolated geometrically within its sub-step, exact only for the
    // decay after it): within 0.005 day (7 minutes) at the default tolerance.
    assert!(worst_days[0] < 0.005, "{worst_days:?}");
    assert!(worst_days.windows(2).all(|w| w[1] < w[0]), "{worst_days:?}");
    assert!(p_days > 1.7, "order {p_days}");
    // N ∝ 1/tol: error ∝ N⁻², a second-order method in its number of sub-steps.
    let growth = [substeps[1] / substeps[0], substeps[2] / substeps[0]];
    assert!(
        (2.5..3.5).contains(&growth[0]) && (8.0..11.0).contains(&growth[1]),
        "{substeps:?}"
    );
}

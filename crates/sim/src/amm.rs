//! An LRT/ETH liquidity pool trading on a real invariant: Curve's two-coin StableSwap or the
//! constant product.
//!
//! The pool holds `x` ETH and `z` *pool units* of LRT (the caller converts LRT to pool units
//! with the pool's rate; a StableSwap pool is balanced at x = z). Its invariant is
//! homogeneous of degree 1 in (x, z):
//!
//! ```text
//! StableSwap (n = 2, A·nⁿ = 4A):  4A(x + z) + D = 4AD + D³/(4xz)
//! Constant product:               x·z = L²      (stored as L = √(xz))
//! ```
//!
//! **Swaps keep the invariant.** A swap's fee is a fraction `fee` of the amount *out*: the
//! pool pays out the gross amount that keeps it exactly on its curve (D or L unchanged), the
//! trader receives gross·(1 − fee), and gross·fee leaves the pool to the liquidity providers
//! ([`Swap::fee`]). After every swap the pool's balances are recomputed from the curve (the
//! balance paid out is the curve's function of the balance paid in), so rounding never
//! accumulates off the curve. [`Pool::new`] and [`Pool::rescale_lrt`] keep the balances as
//! given and solve the invariant from them, so those balances sit on the computed curve only
//! to rounding (up to ~1e-13 of the smaller balance for a very flat, very imbalanced curve);
//! the next swap's payout absorbs that difference.
//!
//! **Marginal price** (ETH per pool unit of LRT) is −dx/dz along the curve. For StableSwap,
//! implicit differentiation of F(x, z) = 4A(x + z) + D − 4AD − D³/(4xz) = 0 gives
//!
//! ```text
//! p = F_z / F_x = (4A + D³/(4xz²)) / (4A + D³/(4x²z)) = (k + x/D) / (k + z/D),  k = 16A·x²z²/D⁴
//! ```
//!
//! (exactly 1 for a balanced pool; x/z as A → 0; 1 as A → ∞). For the constant product
//! p = x/z.
//!
//! **Amplification.** `amp` is the whitepaper's A. Curve's contracts store and report
//! `A()` = A·n^(n−1), i.e. **twice** this for two coins (they form `Ann = A() · N_COINS` =
//! 4A), so a pool whose contract reports `A() = 100` is `Invariant::Stableswap { amp: 50.0 }`.
//!
//! ```
//! use lrtsim_sim::amm::{Invariant, Pool};
//! let mut pool = Pool::new(Invariant::Stableswap { amp: 50.0 }, 1000.0, 1000.0);
//! assert_eq!(pool.price(), 1.0);
//! let swap = pool.sell(100.0, 0.0004);
//! // A deep stableswap pool pays almost 1:1 for a 10% trade…
//! assert!(swap.amount_out > 99.0 && swap.amount_out < 100.0);
//! // …and the invariant did not move.
//! assert_eq!(pool.invariant(), 2000.0);
//! ```

/// Iteration cap of every Newton loop (Curve's `range(255)`).
const MAX_ITERATIONS: usize = 255;

/// Relative step at which the invariant's Newton iteration (Curve's `get_D`) stops: the
/// iteration converges quadratically, so the error after such a step is far below it.
const D_REL_TOL: f64 = 1e-15;

/// Relative price error, |ln p − ln target|, at which the StableSwap price solver stops.
const PRICE_REL_TOL: f64 = 1e-14;

/// The price solver searches ln(balance/D) in [−`LN_T_MAX`, `LN_T_MAX`]: prices of roughly
/// e^(±400), far beyond anything a pool quotes, and far from overflow in the curve's closed
/// form.
const LN_T_MAX: f64 = 200.0;

/// Largest Newton step of the price solver in ln(balance/D) (a factor e⁸ ≈ 3000 in a balance).
const MAX_LN_STEP: f64 = 8.0;

/// The invariant a [`Pool`] trades on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Invariant {
    /// Curve's two-coin StableSwap, 4A(x + z) + D = 4AD + D³/(4xz). Between the constant
    /// product (A → 0) and the constant sum x + z = D (A → ∞).
    Stableswap {
        /// The whitepaper's amplification coefficient A (> 0; 4A = A·nⁿ). Curve's contracts
        /// report twice this (`A() = A·n^(n−1)`) for two coins.
        amp: f64,
    },
    /// Uniswap v2's constant product x·z = L², stored as L = √(xz).
    ConstantProduct,
}

/// The result of one swap.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Swap {
    /// What the trader paid in: pool units of LRT for a sale, ETH for a purchase.
    pub amount_in: f64,
    /// What the trader received, after the fee: ETH for a sale, pool units for a purchase.
    pub amount_out: f64,
    /// The fee, in the out token: the gross amount the pool paid out minus `amount_out`. It
    /// left the pool to the liquidity providers.
    pub fee: f64,
}

/// An LRT/ETH pool: `x` ETH, `z` pool units of LRT and the invariant value (D or L).
#[derive(Debug, Clone, Copy)]
pub struct Pool {
    /// The curve.
    kind: Invariant,
    /// ETH balance x.
    x_eth: f64,
    /// LRT balance z, in pool units.
    z_units: f64,
    /// The invariant: D for StableSwap, L = √(xz) for the constant product (ETH-like units,
    /// homogeneous of degree 1 in the balances).
    inv: f64,
}

impl Pool {
    /// A pool with `x_eth` ETH and `z_units` pool units of LRT (both > 0 and finite).
    ///
    /// The invariant is L = √(xz) for the constant product; for StableSwap it is D from
    /// Curve's `get_D` Newton iteration on g(D) = D³/(4xz) + (4A − 1)·D − 4A(x + z) = 0,
    ///
    /// ```text
    /// D ← (4A·S + 2·D_P)·D / ((4A − 1)·D + 3·D_P),   D_P = D³/(4xz),  S = x + z,
    /// ```
    ///
    /// started from D = S. g is increasing and convex on the root's bracket
    /// [2√(xz), S] (the constant-product and constant-sum values), so the iteration falls
    /// monotonically to the root; it stops at a relative step of 1e-15.
    pub fn new(inv: Invariant, x_eth: f64, z_units: f64) -> Pool {
        debug_assert!(
            x_eth > 0.0 && x_eth.is_finite(),
            "ETH balance {x_eth} must be > 0 and finite"
        );
        debug_assert!(
            z_units > 0.0 && z_units.is_finite(),
            "LRT balance {z_units} must be > 0 and finite"
        );
        let d = match inv {
            Invariant::Stableswap { amp } => {
                debug_assert!(
                    amp > 0.0 && amp.is_finite(),
                    "amplification {amp} must be > 0 and finite"
                );
                stableswap_d(amp, x_eth, z_units, None)
            }
            Invariant::ConstantProduct => (x_eth * z_units).sqrt(),
        };
        Pool {
            kind: inv,
            x_eth,
            z_units,
            inv: d,
        }
    }

    /// ETH balance x.
    pub fn eth(&self) -> f64 {
        self.x_eth
    }

    /// LRT balance z, in pool units.
    pub fn lrt_units(&self) -> f64 {
        self.z_units
    }

    /// The invariant: D for StableSwap (= x + z when balanced), L = √(xz) for the constant
    /// product. Swaps leave it unchanged.
    pub fn invariant(&self) -> f64 {
        self.inv
    }

    /// The curve the pool trades on.
    pub fn kind(&self) -> Invariant {
        self.kind
    }

    /// Marginal price, ETH per pool unit of LRT: −dx/dz along the curve at the current
    /// balances. StableSwap: (k + x/D)/(k + z/D) with k = 16A·x²z²/D⁴ (see the module
    /// docs); exactly 1 when x = z. Constant product: x/z.
    pub fn price(&self) -> f64 {
        match self.kind {
            Invariant::Stableswap { amp } => {
                stableswap_price(amp, self.x_eth / self.inv, self.z_units / self.inv)
            }
            Invariant::ConstantProduct => self.x_eth / self.z_units,
        }
    }

    /// The ETH balance on the current curve when the LRT balance is `z_units` (> 0).
    ///
    /// StableSwap: multiplying the invariant by 4xz gives the quadratic in x
    /// 16A·z·x² + 4z(4Az + D − 4AD)·x − D³ = 0, whose positive root is taken in a
    /// cancellation-free form (see [`Pool::z_given_x`]). Constant product: L²/z.
    pub fn x_given_z(&self, z_units: f64) -> f64 {
        debug_assert!(
            z_units > 0.0 && !z_units.is_nan(),
            "LRT balance {z_units} must be > 0"
        );
        match self.kind {
            Invariant::Stableswap { amp } => self.inv * stableswap_other(amp, z_units / self.inv),
            Invariant::ConstantProduct => self.inv * (self.inv / z_units),
        }
    }

    /// The LRT balance (pool units) on the current curve when the ETH balance is `x_eth`
    /// (> 0).
    ///
    /// StableSwap: 16A·x·z² + 4x(4Ax + D − 4AD)·z − D³ = 0, i.e. a·z² + b·z + c = 0 with
    /// a = 16Ax, b = 4x·m, m = 4A(x − D) + D, c = −D³. Its discriminant is
    /// b² − 4ac = 16x²(m² + 4AD³/x), so with q = √(m² + 4AD³/x) the positive root is
    ///
    /// ```text
    /// z = (q − m)/(8A)            when m < 0   (a sum of positives)
    /// z = D³/(2x(m + q))          when m ≥ 0   (the same root as −2c/(b + √(b² − 4ac)))
    /// ```
    ///
    /// so neither branch subtracts nearly equal numbers. Computed with D = 1 (balances / D)
    /// and q as a `hypot`, so nothing overflows. Constant product: L²/x.
    pub fn z_given_x(&self, x_eth: f64) -> f64 {
        debug_assert!(
            x_eth > 0.0 && !x_eth.is_nan(),
            "ETH balance {x_eth} must be > 0"
        );
        match self.kind {
            Invariant::Stableswap { amp } => self.inv * stableswap_other(amp, x_eth / self.inv),
            Invariant::ConstantProduct => self.inv * (self.inv / x_eth),
        }
    }

    /// The ETH balance after selling `dz_units` and the gross ETH paid out for them.
    fn sell_gross(&self, dz_units: f64) -> (f64, f64) {
        if dz_units == 0.0 {
            return (self.x_eth, 0.0);
        }
        let x_new = self.x_given_z(self.z_units + dz_units);
        if x_new < self.x_eth {
            (x_new, self.x_eth - x_new)
        } else {
            (self.x_eth, 0.0)
        }
    }

    /// The LRT balance after buying with `dx_eth` and the gross pool units paid out.
    fn buy_gross(&self, dx_eth: f64) -> (f64, f64) {
        if dx_eth == 0.0 {
            return (self.z_units, 0.0);
        }
        let z_new = self.z_given_x(self.x_eth + dx_eth);
        if z_new < self.z_units {
            (z_new, self.z_units - z_new)
        } else {
            (self.z_units, 0.0)
        }
    }

    /// ETH the trader would receive, after the fee, for selling `dz_units` pool units of LRT
    /// (gross = x − x_given_z(z + dz), paid gross·(1 − fee)). No state change.
    pub fn quote_sell(&self, dz_units: f64, fee: f64) -> f64 {
        debug_assert_amount(dz_units);
        debug_assert_fee(fee);
        let (_, gross) = self.sell_gross(dz_units);
        gross - gross * fee
    }

    /// Sell `dz_units` pool units of LRT for ETH: z += dz, x falls to x_given_z(z + dz), the
    /// trader receives the gross ETH less the fee, a `fee` fraction of it.
    ///
    /// Any finite sale leaves x > 0 (x → 0 only as dz → ∞).
    pub fn sell(&mut self, dz_units: f64, fee: f64) -> Swap {
        debug_assert_amount(dz_units);
        debug_assert_fee(fee);
        if dz_units == 0.0 {
            return Swap::default();
        }
        let (x_new, gross) = self.sell_gross(dz_units);
        self.z_units += dz_units;
        self.x_eth = x_new;
        let fee_eth = gross * fee;
        Swap {
            amount_in: dz_units,
            amount_out: gross - fee_eth,
            fee: fee_eth,
        }
    }

    /// Pool units of LRT the trader would receive, after the fee, for `dx_eth` ETH
    /// (gross = z − z_given_x(x + dx), paid gross·(1 − fee)). No state change.
    pub fn quote_buy(&self, dx_eth: f64, fee: f64) -> f64 {
        debug_assert_amount(dx_eth);
        debug_assert_fee(fee);
        let (_, gross) = self.buy_gross(dx_eth);
        gross - gross * fee
    }

    /// Buy LRT with `dx_eth` ETH: x += dx, z falls to z_given_x(x + dx), the trader receives
    /// the gross pool units less the fee, a `fee` fraction of them.
    pub fn buy(&mut self, dx_eth: f64, fee: f64) -> Swap {
        debug_assert_amount(dx_eth);
        debug_assert_fee(fee);
        if dx_eth == 0.0 {
            return Swap::default();
        }
        let (z_new, gross) = self.buy_gross(dx_eth);
        self.x_eth += dx_eth;
        self.z_units = z_new;
        let fee_units = gross * fee;
        Swap {
            amount_in: dx_eth,
            amount_out: gross - fee_units,
            fee: fee_units,
        }
    }

    /// Sell LRT until the marginal price falls to `target_price` (ETH per pool unit, > 0),
    /// selling at most `max_dz_units` (≥ 0; `f64::INFINITY` for no cap). A no-op returning
    /// zeros if [`Pool::price`] ≤ `target_price` already.
    ///
    /// The LRT balance with marginal price p: constant product, z = L/√p (on the curve
    /// p = x/z and xz = L²); StableSwap, the root of the price along the curve (see
    /// [`Pool::buy_to_price`]).
    pub fn sell_to_price(&mut self, target_price: f64, max_dz_units: f64, fee: f64) -> Swap {
        debug_assert_price(target_price);
        debug_assert!(max_dz_units >= 0.0, "cap {max_dz_units} must be ≥ 0");
        debug_assert_fee(fee);
        if self.price() <= target_price {
            return Swap::default();
        }
        let z_target = match self.kind {
            // By symmetry of the invariant, the point whose LRT balance is t·D prices ETH at
            // h(t) LRT per ETH, so the LRT price is p where h(t) = 1/p.
            Invariant::Stableswap { amp } => {
                self.inv
                    * stableswap_balance_at_price(amp, 1.0 / target_price, self.z_units / self.inv)
            }
            Invariant::ConstantProduct => self.inv / target_price.sqrt(),
        };
        let dz_units = (z_target - self.z_units).min(max_dz_units);
        if dz_units > 0.0 {
            self.sell(dz_units, fee)
        } else {
            Swap::default()
        }
    }

    /// Buy LRT with ETH until the marginal price rises to `target_price` (ETH per pool
    /// unit, positive), spending at most `max_dx_eth` (≥ 0; `f64::INFINITY` for no cap). A
    /// no-op returning zeros if [`Pool::price`] ≥ `target_price` already.
    ///
    /// The ETH balance with marginal price p: constant product, x = L·√p; StableSwap, the
    /// balance t·D at which h(t) = (k + t)/(k + o(t)) = p, with o(t) the other balance / D and
    /// k = 16A·t²o², solved by safeguarded Newton on ln h against ln t (analytic slope,
    /// bisection whenever Newton leaves the bracket or stalls). h increases along the curve
    /// from 0 (t → 0) to ∞ (t → ∞), so every positive target has one root; the solve stops
    /// at 1e-14 relative in price or at the resolution of t (price within ~1e-12 on the
    /// nearly full side of a very flat curve).
    pub fn buy_to_price(&mut self, target_price: f64, max_dx_eth: f64, fee: f64) -> Swap {
        debug_assert_price(target_price);
        debug_assert!(max_dx_eth >= 0.0, "cap {max_dx_eth} must be ≥ 0");
        debug_assert_fee(fee);
        if self.price() >= target_price {
            return Swap::default();
        }
        let x_target = match self.kind {
            Invariant::Stableswap { amp } => {
                self.inv * stableswap_balance_at_price(amp, target_price, self.x_eth / self.inv)
            }
            Invariant::ConstantProduct => self.inv * target_price.sqrt(),
        };
        let dx_eth = (x_target - self.x_eth).min(max_dx_eth);
        if dx_eth > 0.0 {
            self.buy(dx_eth, fee)
        } else {
            Swap::default()
        }
    }

    /// Liquidity providers add (`factor` > 1) or withdraw (`factor` < 1) pro rata: x, z and
    /// the invariant are all multiplied by `factor` (> 0). The invariant is homogeneous of
    /// degree 1, so the pool stays on its curve and the price does not move.
    pub fn scale_liquidity(&mut self, factor: f64) {
        debug_assert!(
            factor > 0.0 && factor.is_finite(),
            "liquidity factor {factor} must be > 0 and finite"
        );
        self.x_eth *= factor;
        self.z_units *= factor;
        self.inv *= factor;
    }

    /// The pool's rate oracle moved: the LRT balance in pool units is multiplied by `factor`
    /// (> 0) and the invariant recomputed at the new balances (StableSwap: `get_D`
    /// warm-started from the old D; constant product: √(xz)).
    pub fn rescale_lrt(&mut self, factor: f64) {
        debug_assert!(
            factor > 0.0 && factor.is_finite(),
            "rate factor {factor} must be > 0 and finite"
        );
        self.z_units *= factor;
        self.inv = match self.kind {
            Invariant::Stableswap { amp } => {
                stableswap_d(amp, self.x_eth, self.z_units, Some(self.inv))
            }
            Invariant::ConstantProduct => (self.x_eth * self.z_units).sqrt(),
        };
    }

    /// The pool's value in ETH marking its LRT at `price` ETH per pool unit: x + z·price.
    pub fn value_at(&self, price: f64) -> f64 {
        self.x_eth + self.z_units * price
    }
}

fn debug_assert_amount(amount: f64) {
    debug_assert!(
        amount >= 0.0 && amount.is_finite(),
        "swap amount {amount} must be ≥ 0 and finite"
    );
}

fn debug_assert_fee(fee: f64) {
    debug_assert!((0.0..1.0).contains(&fee), "fee {fee} must be in [0, 1)");
}

fn debug_assert_price(price: f64) {
    debug_assert!(
        price > 0.0 && price.is_finite(),
        "target price {price} must be > 0 and finite"
    );
}

/// StableSwap's D for balances (x, z), by Curve's `get_D` Newton step on the normalized
/// balances (x, z)/S, S = x + z, where the root d = D/S lies in [2√(xz)/S, 1]. Starts at
/// `warm`/S clamped into that bracket (Curve's start, d = 1, without a warm start). From
/// the left a step lands right of the root (g is convex), so after at most one step the
/// iteration falls monotonically; every iterate is clamped into the bracket.
fn stableswap_d(amp: f64, x: f64, z: f64, warm: Option<f64>) -> f64 {
    let s = x + z;
    let (xn, zn) = (x / s, z / s);
    let p4 = 4.0 * xn * zn;
    let ann = 4.0 * amp;
    let (lo, hi) = (p4.sqrt(), 1.0);
    let mut d = warm.map_or(hi, |w| (w / s).clamp(lo, hi));
    for _ in 0..MAX_ITERATIONS {
        let d_p = d * d * d / p4;
        let next = ((ann + 2.0 * d_p) * d / ((ann - 1.0) * d + 3.0 * d_p)).clamp(lo, hi);
        let step = (next - d).abs();
        d = next;
        if step <= D_REL_TOL * d {
            break;
        }
    }
    d * s
}

/// The other balance, over D, on the StableSwap curve with D = 1 when one balance over D is
/// `t` (> 0): the positive root o of 16A·t·o² + 4t·m·o − 1 = 0, m = 4A(t − 1) + 1, in the
/// cancellation-free form of [`Pool::z_given_x`].
fn stableswap_other(amp: f64, t: f64) -> f64 {
    let m = 4.0 * amp * (t - 1.0) + 1.0;
    let q = m.hypot(2.0 * (amp / t).sqrt());
    if m >= 0.0 {
        1.0 / (2.0 * t * (m + q))
    } else {
        (q - m) / (8.0 * amp)
    }
}

/// Marginal price of the second coin in the first on the StableSwap curve, at balances
/// (u, w) over D: (k + u)/(k + w), k = 16A·u²w².
fn stableswap_price(amp: f64, u: f64, w: f64) -> f64 {
    let uw = u * w;
    let k = 16.0 * amp * uw * uw;
    (k + u) / (k + w)
}

/// ln h(t) and its slope d ln h / d ln t, where h(t) is the price of the other coin in the
/// first at the curve point whose first balance over D is t.
///
/// Along the curve do/dt = −1/h (h = −dt/do), so with k = 16A·t²o²,
/// dk/dt = 32A·t·o·(o − t/h) and
/// d ln h/dt = (dk/dt + 1)/(k + t) − (dk/dt − 1/h)/(k + o).
fn stableswap_ln_price_slope(amp: f64, t: f64) -> (f64, f64) {
    let o = stableswap_other(amp, t);
    let to = t * o;
    let k = 16.0 * amp * to * to;
    let h = (k + t) / (k + o);
    let dk = 32.0 * amp * to * (o - t / h);
    let slope = t * ((dk + 1.0) / (k + t) - (dk - 1.0 / h) / (k + o));
    (h.ln(), slope)
}

/// The first balance over D, t, at which the StableSwap price of the other coin in the
/// first is `price`: h(t) = price. Newton's method on f(s) = ln h(eˢ) − ln price, s = ln t,
/// from s = ln `t0`, safeguarded as in Numerical Recipes' `rtsafe`: every evaluation narrows
/// a bracket [lo, hi] (h increases in t), and the step bisects the bracket instead whenever
/// Newton would leave it, the slope is not positive, or Newton's step is more than half the
/// step before last (so a Newton iteration that oscillates still converges). Stops at
/// |f| ≤ 1e-14, at a Newton step below 2 ulps of t (where rounding in h, up to ~1e-13 when
/// t is the nearly full side of a flat curve, outweighs the step), or when the bracket
/// cannot be split further.
fn stableswap_balance_at_price(amp: f64, price: f64, t0: f64) -> f64 {
    let ln_target = price.ln();
    let (mut lo, mut hi) = (-LN_T_MAX, LN_T_MAX);
    let mut s = t0.ln().clamp(lo, hi);
    let (mut last_step, mut step_before_last) = (hi - lo, hi - lo);
    for _ in 0..MAX_ITERATIONS {
        let (ln_h, slope) = stableswap_ln_price_slope(amp, s.exp());
        let f = ln_h - ln_target;
        if f.abs() <= PRICE_REL_TOL {
            break;
        }
        if f > 0.0 {
            hi = s;
        } else {
            lo = s;
        }
        let newton_step = (f / slope).clamp(-MAX_LN_STEP, MAX_LN_STEP);
        let newton = s - newton_step;
        let use_newton = slope > 0.0
            && newton > lo
            && newton < hi
            && newton_step.abs() <= 0.5 * step_before_last.abs();
        if use_newton && newton_step.abs() <= 2.0 * f64::EPSILON {
            // Converged to within ~1 ulp of t: the price can be no closer than rounding.
            s = newton;
            break;
        }
        let next = if use_newton { newton } else { 0.5 * (lo + hi) };
        if next <= lo || next >= hi {
            break; // The bracket is down to adjacent floats.
        }
        step_before_last = last_step;
        last_step = next - s;
        s = next;
    }
    s.exp()
}

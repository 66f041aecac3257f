//! The LRT/ETH pool of `lrtsim_sim::amm` checked against things no one here invented:
//! Uniswap v2's closed forms for the constant product, f64 ports of Curve's own `get_D` and
//! `get_y` iterations for StableSwap, the invariant's two limits (constant product as
//! A → 0, constant sum as A → ∞), calculus (marginal price = slope of the quote), and
//! conservation and no-arbitrage properties on random pools and trade sequences (proptest).
//!
//! Tolerances are stated in units of `EPS` = 2⁻⁵² (f64's spacing at 1, twice the unit
//! roundoff) where the error is pure rounding, and derived from the neglected terms where a
//! limit is compared.

use lrtsim_sim::amm::{Fees, Invariant, Pool, Quote, Swap};
use proptest::prelude::*;

const EPS: f64 = f64::EPSILON;

/// Amplifications spanning the range a simulation uses, from nearly constant product to
/// nearly constant sum.
const AMPS: [f64; 8] = [0.01, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5];

fn rel_err(got: f64, want: f64) -> f64 {
    ((got - want) / want).abs()
}

fn stableswap(amp: f64) -> Invariant {
    Invariant::Stableswap { amp }
}

// ---------------------------------------------------------------------------------------
// Curve's reference iterations, ported to f64.
//
// Source: curvefi/curve-contract, contracts/pools/3pool/StableSwap3Pool.vy (Vyper 0.2.4,
// commit 15e303aa9b1e3e4bffc0475c8e814dea9b6a50ac), functions `get_D` and `get_y`, with
// N_COINS = 2. The contract's `amp` is A·n^(n−1) (twice the whitepaper's A for two coins)
// and it forms Ann = amp·N_COINS = 4A. Its loops stop when a step is ≤ 1 wei; the f64
// analogue is a step of ≤ 1 ulp (relative EPS). Both loops keep the contract's 255 cap.
// ---------------------------------------------------------------------------------------

/// `get_D(xp, amp)`: Newton on the invariant in D from D = S.
fn curve_get_d(xp: [f64; 2], amp: f64) -> f64 {
    const N_COINS: f64 = 2.0;
    let s: f64 = xp[0] + xp[1];
    if s == 0.0 {
        return 0.0;
    }
    let mut d = s;
    let ann = amp * N_COINS;
    for _ in 0..255 {
        let mut d_p = d;
        for x in xp {
            d_p = d_p * d / (x * N_COINS);
        }
        let d_prev = d;
        d = (ann * s + d_p * N_COINS) * d / ((ann - 1.0) * d + (N_COINS + 1.0) * d_p);
        if (d - d_prev).abs() <= EPS * d {
            break;
        }
    }
    d
}

/// `get_y(i, j, x, xp_)`: the balance of coin j that keeps D when coin i holds `x`. The
/// contract first computes D = get_D(xp_, amp); here D is passed in. With two coins the
/// loop over "coins other than j" visits coin i only.
fn curve_get_y(x: f64, d: f64, amp: f64) -> f64 {
    const N_COINS: f64 = 2.0;
    let ann = amp * N_COINS;
    let mut c = d;
    let mut s_ = 0.0;
    s_ += x;
    c = c * d / (x * N_COINS);
    c = c * d / (ann * N_COINS);
    let b = s_ + d / ann; // - D
    let mut y = d;
    for _ in 0..255 {
        let y_prev = y;
        y = (y * y + c) / (2.0 * y + b - d);
        if (y - y_prev).abs() <= EPS * y {
            break;
        }
    }
    y
}

/// The contract's `amp` for a whitepaper A (two coins).
fn curve_amp(amp: f64) -> f64 {
    2.0 * amp
}

/// Relative residual of the StableSwap equation 4A(x + z) + D = 4AD + D³/(4xz): |left −
/// right| over the sum of the four terms' magnitudes (the scale of its rounding).
fn stableswap_residual(amp: f64, x: f64, z: f64, d: f64) -> f64 {
    let terms = [
        4.0 * amp * (x + z),
        d,
        4.0 * amp * d,
        d * d * d / (4.0 * x * z),
    ];
    (terms[0] + terms[1] - terms[2] - terms[3]).abs() / terms.iter().sum::<f64>()
}

/// SplitMix64, for reproducible random swap sequences outside proptest.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------------------
// 1. Constant product: Uniswap v2's closed forms.
// ---------------------------------------------------------------------------------------

#[test]
fn constant_product_matches_uniswap_v2_closed_forms() {
    // Uniswap v2's getAmountOut takes the fee from the amount in: out = x·Δ(1 − φ)/(z +
    // Δ(1 − φ)), and the pair keeps all of Δ (less an admin share of the fee, 0 in v2 and
    // tried here at 0.5 too), so k grows. The crate computes x·(Δu/(z + Δu)) and x·(z/(z +
    // Δu)): a few roundings of reserve-sized numbers, 16·EPS·x absolute with a 2× margin.
    for (x, z) in [(1000.0, 1000.0), (1000.0, 250.0), (3.7, 12345.6)] {
        for fee in [0.0, 0.003, 0.3] {
            for admin_share in [0.0, 0.5] {
                let fees = Fees {
                    fee,
                    admin_share,
                    offpeg_multiplier: 1.0,
                };
                for frac in [1e-3, 0.1, 1.0, 10.0] {
                    let pool = Pool::with_fees(Invariant::ConstantProduct, fees, x, z);
                    assert_eq!(pool.price(), x / z);
                    assert!(rel_err(pool.invariant(), (x * z).sqrt()) <= EPS);

                    let dz = frac * z;
                    let net = dz * (1.0 - fee);
                    let want = x * net / (z + net);
                    assert!((pool.quote_sell(dz) - want).abs() <= 16.0 * EPS * x);
                    let mut sold = pool;
                    let swap = sold.sell(dz);
                    assert_eq!(swap.amount_in, dz);
                    assert_eq!(swap.amount_out, pool.quote_sell(dz));
                    assert!((swap.amount_out - want).abs() <= 16.0 * EPS * x);
                    assert_eq!(swap.fee, dz * fee);
                    assert_eq!(swap.admin_fee, dz * fee * admin_share);
                    assert!(rel_err(sold.lrt_units(), z + dz - swap.admin_fee) <= 2.0 * EPS);
                    assert!(rel_err(sold.eth(), x * z / (z + net)) <= 8.0 * EPS);
                    assert_eq!(sold.price(), sold.eth() / sold.lrt_units());
                    let l = (sold.eth() * sold.lrt_units()).sqrt();
                    assert!(rel_err(sold.invariant(), l) <= 4.0 * EPS);
                    assert!(sold.invariant() >= pool.invariant() * (1.0 - 4.0 * EPS));

                    // Buy with dx: out = z·dx(1 − φ)/(x + dx(1 − φ)), same error budget in z.
                    let dx = frac * x;
                    let net = dx * (1.0 - fee);
                    let want = z * net / (x + net);
                    assert!((pool.quote_buy(dx) - want).abs() <= 16.0 * EPS * z);
                    let mut bought = pool;
                    let swap = bought.buy(dx);
                    assert_eq!(swap.amount_in, dx);
                    assert!((swap.amount_out - want).abs() <= 16.0 * EPS * z);
                    assert_eq!(swap.fee, dx * fee);
                    assert!(rel_err(bought.eth(), x + dx - swap.admin_fee) <= 2.0 * EPS);
                    assert!(rel_err(bought.lrt_units(), x * z / (x + net)) <= 8.0 * EPS);
                }
            }
        }
    }
}

#[test]
fn constant_product_to_price_lands_on_closed_form() {
    // Without a fee, on the curve p = x/z and xz = L², so the point with price p is
    // x = L·√p, z = L/√p. With Uniswap v2's fee kept in the reserves the point moves off the
    // old curve, but the price still lands on the target (the crate solves the quadratic of
    // the price after the trade). A handful of roundings: 16·EPS relative.
    for fees in [Fees::NONE, Fees::uniswap_v2(0.003)] {
        for (x, z) in [(1000.0, 1000.0), (500.0, 2000.0)] {
            for target in [0.05, 0.2, 0.9, 1.1, 5.0, 20.0] {
                let mut pool = Pool::with_fees(Invariant::ConstantProduct, fees, x, z);
                let l = pool.invariant();
                let start = pool.price();
                let swap = if target < start {
                    pool.sell_to_price(target, f64::INFINITY, Quote::Marginal)
                } else {
                    pool.buy_to_price(target, f64::INFINITY, Quote::Marginal)
                };
                assert!(swap.amount_in > 0.0);
                assert!(rel_err(pool.price(), target) <= 16.0 * EPS);
                if fees == Fees::NONE {
                    assert!(
                        rel_err(pool.eth(), l * target.sqrt()) <= 16.0 * EPS,
                        "x at target {target}"
                    );
                    assert!(
                        rel_err(pool.lrt_units(), l / target.sqrt()) <= 16.0 * EPS,
                        "z at target {target}"
                    );
                } else {
                    assert!(pool.invariant() > l);
                }
                // After the fee: the trader's marginal price p(1 − φ) (sale) or p/(1 − φ)
                // (purchase) lands on the target too.
                let mut fresh = Pool::with_fees(Invariant::ConstantProduct, fees, x, z);
                let (want, got) = if target < start {
                    fresh.sell_to_price(target, f64::INFINITY, Quote::AfterFee);
                    (target, fresh.price() * (1.0 - fees.fee))
                } else {
                    fresh.buy_to_price(target, f64::INFINITY, Quote::AfterFee);
                    (target, fresh.price() / (1.0 - fees.fee))
                };
                if (target < start && target < start * (1.0 - fees.fee))
                    || (target > start && target > start / (1.0 - fees.fee))
                {
                    assert!(rel_err(got, want) <= 16.0 * EPS, "{got} vs {want}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. StableSwap against Curve's reference iterations.
// ---------------------------------------------------------------------------------------

#[test]
fn stableswap_d_matches_curve_get_d() {
    // Both solve the same equation to convergence. D is homogeneous of degree 1 with positive
    // partial derivatives, so d ln D = θ·d ln x + (1 − θ)·d ln z with θ ∈ [0, 1]: the root is
    // perfectly conditioned and two converged solvers agree to a few ulps. 1e-13 ≈ 450 ulps.
    for amp in AMPS {
        for ratio in [1.0, 1.0001, 0.7, 3.0, 0.01, 100.0, 1e-4, 1e4] {
            for scale in [1.0, 1234.567, 3.3e6] {
                let (x, z) = (scale, scale * ratio);
                let pool = Pool::new(stableswap(amp), x, z);
                let want = curve_get_d([x, z], curve_amp(amp));
                let err = rel_err(pool.invariant(), want);
                assert!(
                    err <= 1e-13,
                    "A = {amp}, z/x = {ratio}: D = {} vs Curve {want} ({err:e})",
                    pool.invariant()
                );
                assert!(stableswap_residual(amp, x, z, pool.invariant()) <= 1e-14);
            }
        }
    }
    // A balanced pool's D is x + z exactly (both sides 4A·2x + D = 4AD + D³/(4x²) at D = 2x).
    assert_eq!(
        Pool::new(stableswap(50.0), 1000.0, 1000.0).invariant(),
        2000.0
    );
}

#[test]
fn stableswap_closed_form_matches_curve_get_y() {
    // The closed-form root and Curve's Newton iteration solve the same quadratic. Near the
    // depleted side the balance is fixed by a near-cancellation (constant-sum regime), so its
    // relative sensitivity to the other balance reaches ~√A; at A = 1e5 that turns ulps into
    // ~1e-13. Hence 1e-12.
    for amp in AMPS {
        for ratio in [1.0, 0.7, 3.0, 0.01, 100.0] {
            let (x0, z0) = (1000.0, 1000.0 * ratio);
            let pool = Pool::new(stableswap(amp), x0, z0);
            let d = pool.invariant();
            for f in [1e-3, 0.1, 0.5, 0.9, 0.999, 1.0, 1.001, 1.1, 2.0, 10.0, 1e3] {
                let x = x0 * f;
                let want = curve_get_y(x, d, curve_amp(amp));
                let got = pool.z_given_x(x);
                assert!(
                    rel_err(got, want) <= 1e-12,
                    "A = {amp}, z/x = {ratio}, x = {x}: {got} vs Curve {want}"
                );
                // The invariant is symmetric: x_given_z is the same function.
                let z = z0 * f;
                let want = curve_get_y(z, d, curve_amp(amp));
                let got = pool.x_given_z(z);
                assert!(
                    rel_err(got, want) <= 1e-12,
                    "A = {amp}, z/x = {ratio}, z = {z}: {got} vs Curve {want}"
                );
            }
        }
    }
}

#[test]
fn stableswap_stays_on_curve_after_random_swaps() {
    // After many swaps the balances must still solve the invariant with the stored D: the
    // equation's residual is a few EPS, and Curve's get_D of the balances (perfectly
    // conditioned, see above) returns the stored D. 1e-12 covers both with a wide margin.
    let mut rng = SplitMix(20260501);
    for amp in AMPS {
        for ratio in [1.0, 0.25, 4.0] {
            // A fee that leaves the pool whole (admin share 1) leaves D where it is.
            let fees = Fees {
                fee: 0.0004,
                admin_share: 1.0,
                offpeg_multiplier: 1.0,
            };
            let mut pool = Pool::with_fees(stableswap(amp), fees, 1000.0, 1000.0 * ratio);
            let d = pool.invariant();
            for _ in 0..200 {
                // Trade sizes from 1e-6 to 1 of the reserve, log-uniform.
                let frac = 10f64.powf(-6.0 * rng.next_f64());
                if rng.next_f64() < 0.5 {
                    pool.sell(frac * pool.lrt_units());
                } else {
                    pool.buy(frac * pool.eth());
                }
                assert_eq!(pool.invariant(), d);
                assert!(stableswap_residual(amp, pool.eth(), pool.lrt_units(), d) <= 1e-12);
            }
            let (x, z) = (pool.eth(), pool.lrt_units());
            let err = rel_err(curve_get_d([x, z], curve_amp(amp)), d);
            assert!(
                err <= 1e-12,
                "A = {amp}: Curve's D of the final balances is off by {err:e}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 3. Limits of the StableSwap invariant.
// ---------------------------------------------------------------------------------------

#[test]
fn stableswap_tends_to_constant_product_as_amp_vanishes() {
    // Dividing the invariant by 4(D + 4A(S − D))/D³ gives xz = (D²/4)/(1 + ε), ε = 4A(S − D)/D,
    // S = x + z: a constant product whose "constant" drifts by ε ≤ 4A·S/D. Between the
    // starting and the traded point it moves by at most max(ε₀, ε₁), so the ETH left in the
    // pool, x₁, differs from the constant-product x₁ = x₀z₀/z₁ by that fraction, and the
    // trade by x₁/out times it. At A = 1e-6 the bound is ~1e-5; we allow 1.01× the bound
    // plus rounding.
    let amp = 1e-6;
    for (x, z) in [(1000.0, 1000.0), (1000.0, 400.0), (200.0, 1000.0)] {
        let pool = Pool::new(stableswap(amp), x, z);
        let d = pool.invariant();
        assert!(rel_err(d, 2.0 * (x * z).sqrt()) <= 4.0 * amp * (x + z) / d);
        for frac in [0.01, 0.3, 1.0, 10.0] {
            let dz = frac * z;
            let mut traded = pool;
            let out = traded.sell(dz).amount_out;
            let cp_out = x * dz / (z + dz);
            let cp_x1 = x * z / (z + dz);
            let eps = |s: f64| 4.0 * amp * (s - d) / d;
            let drift = eps(x + z).max(eps(traded.eth() + traded.lrt_units()));
            let bound = 1.01 * drift * cp_x1 / cp_out + 1e-12;
            assert!(
                rel_err(out, cp_out) <= bound,
                "{} vs {cp_out}, bound {bound:e}",
                out
            );
            // The marginal price, (k + u)/(k + w) with u = x/D, w = z/D, k = 16A·u²w², is
            // u/w·(1 + 16A·u·w²)/(1 + 16A·u²·w): the constant product's x/z up to a relative
            // 16A·u·w·|w − u|.
            let (u, w) = (traded.eth() / d, traded.lrt_units() / d);
            let bound = 1.01 * 16.0 * amp * u * w * (w - u).abs() + 1e-12;
            assert!(rel_err(traded.price(), traded.eth() / traded.lrt_units()) <= bound);
        }
    }
}

#[test]
fn stableswap_tends_to_constant_sum_as_amp_grows() {
    // As A → ∞ the curve flattens to x + z = D: price 1 and 1:1 trades for moderate
    // imbalance. Quantitatively, with u = x/D, w = z/D the price is (k + u)/(k + w),
    // k = 16A·u²w², so A·(p − 1) → (x − z)·S³/(16x²z²) (S = x + z, D → S) with an O(1/A)
    // correction (from w/k and from D/S − 1, both O(1/A)). For these pools the correction is
    // ≈ 1.6/A relative at most; 10/A checks the 1/A rate with margin.
    for (x, z) in [
        (1000.0, 1000.0),
        (1500.0, 500.0),
        (500.0, 1500.0),
        (1000.0, 800.0),
    ] {
        let s: f64 = x + z;
        let limit = (x - z) * s.powi(3) / (16.0 * x * x * z * z);
        for amp in [1e3, 1e4, 1e5] {
            let pool = Pool::new(stableswap(amp), x, z);
            let p = pool.price();
            assert!((p - 1.0).abs() <= 1e-2, "A = {amp}: price {p}");
            assert!(
                (amp * (p - 1.0) - limit).abs() <= 10.0 / amp * limit.abs().max(1e-12),
                "A = {amp}: A(p − 1) = {} vs {limit}",
                amp * (p - 1.0)
            );
        }
        // A trade of 10% of the smaller side executes at ~1:1 when A = 1e5: its average
        // price lies between the marginal prices before and after (mean value theorem, the
        // price being monotone along the curve), which stay within 1e-4 of 1 (the limit above
        // gives |p − 1| ≲ 3e-5 here). The 1e-12 covers rounding in out/dz.
        let pool = Pool::new(stableswap(1e5), x, z);
        let dz = 0.1 * z.min(x);
        let mut after = pool;
        let average = after.sell(dz).amount_out / dz;
        let (p0, p1) = (pool.price(), after.price());
        assert!((p1 - 1.0).abs() <= 1e-4);
        assert!(
            average >= p1 - 1e-12 && average <= p0 + 1e-12,
            "{p1} ≤ {average} ≤ {p0}"
        );
        let dx = 0.1 * z.min(x);
        let mut after = pool;
        let average = dx / after.buy(dx).amount_out;
        let p1 = after.price();
        assert!((p1 - 1.0).abs() <= 1e-4);
        assert!(
            average >= p0 - 1e-12 && average <= p1 + 1e-12,
            "{p0} ≤ {average} ≤ {p1}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 4. Marginal price = derivative of the quote.
// ---------------------------------------------------------------------------------------

#[test]
fn marginal_price_is_slope_of_quote() {
    // quote_sell(h) = x − X(z + h) with X the curve, so its derivative at h = 0 is the
    // marginal price. Pool::new keeps the balances as given, so the first payout also carries
    // the curve's rounding at the start (x − X(z), up to ~1e-13·x on the depleted side); the
    // three-point formula q'(0) ≈ (−5q(h) + 8q(2h) − 3q(3h))/(2h) — exact for quadratics and
    // with weights summing to 0 — cancels that constant. With h = 1e-5 of the reserve the
    // O(h²) truncation is ~1e-10; each quote is a difference of reserve-sized numbers, off by
    // a few EPS·x, which over h·p = 1e-5·z·p is ≲ 1e-8 for these pools (x ≤ 50·z·p).
    // Observed ≤ 5e-8; 1e-6 leaves a wide margin.
    let kinds = [
        Invariant::ConstantProduct,
        stableswap(0.01),
        stableswap(1.0),
        stableswap(100.0),
        stableswap(1e4),
    ];
    for kind in kinds {
        for (x, z) in [
            (1000.0, 1000.0),
            (1000.0, 300.0),
            (300.0, 1000.0),
            (1000.0, 20.0),
        ] {
            let pool = Pool::new(kind, x, z);
            let h = 1e-5 * z;
            let q = |n: f64| pool.quote_sell(n * h);
            let slope = (-5.0 * q(1.0) + 8.0 * q(2.0) - 3.0 * q(3.0)) / (2.0 * h);
            let p = pool.price();
            assert!(
                rel_err(slope, p) <= 1e-6,
                "{kind:?} ({x}, {z}): slope {slope} vs price {p}"
            );
            // Buying: quote_buy'(0) = dz/dx = 1/p.
            let h = 1e-5 * x;
            let q = |n: f64| pool.quote_buy(n * h);
            let slope = (-5.0 * q(1.0) + 8.0 * q(2.0) - 3.0 * q(3.0)) / (2.0 * h);
            assert!(
                rel_err(slope, 1.0 / p) <= 1e-6,
                "{kind:?} ({x}, {z}): buy slope {slope} vs 1/price {}",
                1.0 / p
            );
            // After a swap the pool sits exactly on the computed curve, and the plain secant
            // quote(h)/h of a tiny trade works too: at h = 1e-7·z the truncation is
            // (h/z)·|d ln p/d ln z|/2 ≲ 1e-7 (exactly h/z for the constant product) and the
            // rounding a few EPS·x/(h·p) ≲ 1e-7 (x ≤ 50·z·p). Observed ≤ 1e-7.
            let mut moved = pool;
            moved.sell(0.01 * z);
            let h = 1e-7 * moved.lrt_units();
            let secant = moved.quote_sell(h) / h;
            assert!(
                rel_err(secant, moved.price()) <= 1e-6,
                "{kind:?}: secant {secant} vs {}",
                moved.price()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 5. Properties on random pools and trade sequences.
// ---------------------------------------------------------------------------------------

/// A random pool: constant product or StableSwap with A log-uniform in [0.01, 1e5], ETH
/// balance log-uniform in [1, 1e6], LRT/ETH balance ratio log-uniform in [1e-2, 1e2].
fn any_pool() -> impl Strategy<Value = Pool> {
    (prop::option::of(-2.0f64..5.0), 0.0f64..6.0, -2.0f64..2.0).prop_map(
        |(log_amp, log_x, log_ratio)| {
            let kind = log_amp.map_or(Invariant::ConstantProduct, |l| stableswap(10f64.powf(l)));
            let x = 10f64.powf(log_x);
            Pool::new(kind, x, x * 10f64.powf(log_ratio))
        },
    )
}

/// Fees as a contract could charge them: none, or a fee up to 1 % with any admin share, and
/// (StableSwap only) a static fee or an off-peg multiplier up to 10.
fn any_fees(stableswap: bool) -> impl Strategy<Value = Fees> {
    let dynamic = if stableswap {
        prop_oneof![Just(1.0), 1.0f64..10.0].boxed()
    } else {
        Just(1.0).boxed()
    };
    prop_oneof![
        Just(Fees::NONE),
        (
            0.0f64..0.01,
            prop_oneof![Just(0.0), Just(0.5), Just(1.0), 0.0f64..=1.0],
            dynamic
        )
            .prop_map(|(fee, admin_share, offpeg_multiplier)| Fees {
                fee,
                admin_share,
                offpeg_multiplier,
            }),
    ]
}

/// A random pool with random fees.
fn any_pool_with_fees() -> impl Strategy<Value = Pool> {
    any_pool().prop_flat_map(|pool| {
        let stableswap = matches!(pool.kind(), Invariant::Stableswap { .. });
        any_fees(stableswap)
            .prop_map(move |fees| Pool::with_fees(pool.kind(), fees, pool.eth(), pool.lrt_units()))
    })
}

/// Trades: (sell?, size as a fraction of the reserve paid in, log-uniform in [1e-6, 10]).
fn any_trades() -> impl Strategy<Value = Vec<(bool, f64)>> {
    prop::collection::vec((any::<bool>(), -6.0f64..1.0), 1..16).prop_map(|v| {
        v.into_iter()
            .map(|(sell, l)| (sell, 10f64.powf(l)))
            .collect()
    })
}

/// The invariant's residual at the pool's balances (see `stableswap_residual`; for the
/// constant product |xz − L²|/L²).
fn residual(pool: &Pool) -> f64 {
    let (x, z, d) = (pool.eth(), pool.lrt_units(), pool.invariant());
    match pool.kind() {
        Invariant::Stableswap { amp } => stableswap_residual(amp, x, z, d),
        Invariant::ConstantProduct => (x * z - d * d).abs() / (d * d),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_206),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every swap: reserves stay positive and finite; the invariant never falls, stays put
    /// when no fee is kept, and the balances solve it; the fee is the contract's (StableSwap:
    /// a share in [fee, m·fee] of the gross out; constant product: φ of the amount in); the
    /// pool pays out the trader's amount plus the admin share of the fee, keeps the amount
    /// paid in (less the admin share for the constant product), and the price moves the
    /// right way.
    #[test]
    fn swaps_conserve_value_and_stay_on_curve(pool in any_pool_with_fees(), trades in any_trades()) {
        let mut pool = pool;
        let fees = pool.fees();
        let stableswap = matches!(pool.kind(), Invariant::Stableswap { .. });
        let kept = fees.fee > 0.0 && fees.admin_share < 1.0;
        for (sell, frac) in trades {
            let before = pool;
            let swap = if sell { pool.sell(frac * before.lrt_units()) } else { pool.buy(frac * before.eth()) };
            let (x0, z0, x1, z1) = (before.eth(), before.lrt_units(), pool.eth(), pool.lrt_units());
            prop_assert!(x1 > 0.0 && x1.is_finite() && z1 > 0.0 && z1.is_finite(), "{pool:?}");
            // The invariant grows by the kept fee (never falls beyond rounding); the balances
            // solve it to ~EPS (it is re-solved at every swap, so rounding does not
            // accumulate).
            if kept {
                prop_assert!(pool.invariant() >= before.invariant() * (1.0 - 1e-13));
            } else {
                prop_assert_eq!(pool.invariant(), before.invariant());
            }
            prop_assert!(residual(&pool) <= 1e-12, "residual {:e}", residual(&pool));
            prop_assert!(swap.amount_out >= 0.0 && swap.fee >= 0.0);
            prop_assert!((swap.admin_fee - fees.admin_share * swap.fee).abs() <= 2.0 * EPS * swap.fee);
            if stableswap {
                // The dynamic fee is between the base fee and m × it.
                let gross = swap.amount_out + swap.fee;
                let lo = fees.fee * gross * (1.0 - 4.0 * EPS);
                let hi = fees.fee * fees.offpeg_multiplier.max(1.0) * gross * (1.0 + 4.0 * EPS);
                prop_assert!(swap.fee >= lo && swap.fee <= hi, "fee {} not in [{lo}, {hi}]", swap.fee);
            } else {
                prop_assert_eq!(swap.fee, fees.fee * swap.amount_in);
            }
            // What left the pool's out side is the trader's amount plus what left with the
            // admin (StableSwap; for the constant product the admin share leaves the in side).
            // The balance paid into rounds once when the amount is added (≤ 1 ulp of the new
            // balance), the out balance a few times (≤ 1 ulp of the old balance each).
            let (out_admin, in_admin) = if stableswap { (swap.admin_fee, 0.0) } else { (0.0, swap.admin_fee) };
            let p0 = before.price();
            let p1 = pool.price();
            if sell {
                prop_assert!(((x0 - x1) - (swap.amount_out + out_admin)).abs() <= 4.0 * EPS * x0);
                prop_assert!(((z1 - z0) - (swap.amount_in - in_admin)).abs() <= 2.0 * EPS * z1);
                prop_assert_eq!(swap.amount_in, frac * z0);
                // Price falls. Slack 1e-12 for rounding in the price of an unmoved point
                // (balances known to ~1e-13 relative on a depleted side, see above).
                prop_assert!(p1 <= p0 * (1.0 + 1e-12), "sell raised the price {p0} → {p1}");
            } else {
                prop_assert!(((z0 - z1) - (swap.amount_out + out_admin)).abs() <= 4.0 * EPS * z0);
                prop_assert!(((x1 - x0) - (swap.amount_in - in_admin)).abs() <= 2.0 * EPS * x1);
                prop_assert_eq!(swap.amount_in, frac * x0);
                prop_assert!(p1 >= p0 * (1.0 - 1e-12), "buy lowered the price {p0} → {p1}");
            }
            // A trade of ≥ 1e-3 of the reserve moves the price by far more than rounding
            // (≥ ~1e-8 even at A = 1e5 near balance), so there the move is strict.
            if frac >= 1e-3 {
                let moved_right = if sell { p1 < p0 } else { p1 > p0 };
                prop_assert!(moved_right, "price did not move: {} → {}", p0, p1);
            }
        }
    }

    /// No free lunch: a round trip returns at most what was paid in — less one fee when no
    /// fee stays in the pool (the second leg puts back less than the first took out, and its
    /// fee takes a `fee` fraction of its gross). With fees kept the bound is the invariant's:
    /// after selling Δ and buying back with everything received the pool holds the same ETH
    /// (less an admin fee) and z + Δ − back LRT, and since kept fees never lower the
    /// invariant, which grows in both balances, back ≤ Δ. (A kept fee makes the way back
    /// cheaper than the way out: Uniswap v2 returns Δ·u²(z + Δ)/(z + Δu²), u = 1 − φ, which
    /// exceeds Δ·u for large Δ.) Rounding slack: the pool's balances are re-solved from the
    /// curve at each step, known to ~1e-13 of a reserve (see the Curve comparison), so 1e-12
    /// of the pool's value in the token being returned.
    #[test]
    fn round_trips_do_not_profit(pool in any_pool_with_fees(), log_frac in -6.0f64..1.0) {
        let frac = 10f64.powf(log_frac);
        let p = pool.price();
        let fees = pool.fees();
        let keep = if fees.fee > 0.0 && fees.admin_share < 1.0 { 1.0 } else { 1.0 - fees.fee };
        // Sell LRT, buy it back with all the ETH received.
        let mut a = pool;
        let dz = frac * pool.lrt_units();
        let eth = a.sell(dz).amount_out;
        let back = a.buy(eth).amount_out;
        let slack = 1e-12 * (pool.lrt_units() + pool.eth() / p);
        prop_assert!(back <= dz * keep + slack, "sold {dz}, got back {back}");
        // Buy LRT, sell it back for ETH.
        let mut b = pool;
        let dx = frac * pool.eth();
        let units = b.buy(dx).amount_out;
        let back = b.sell(units).amount_out;
        let slack = 1e-12 * (pool.eth() + pool.lrt_units() * p);
        prop_assert!(back <= dx * keep + slack, "paid {dx}, got back {back}");
    }

    /// The trade sized for a given amount out pays that amount out, whatever the pool and its
    /// fees: the dynamic fee of the trade's own balances found by fixed point (explored with
    /// 200,000 random cases once, none failing; here a fixed sample), to 1e-9 of the amount
    /// plus 1e-12 of the pool (the curve's resolution).
    #[test]
    fn trades_sized_for_an_amount_out_pay_it(
        pool in any_pool_with_fees(),
        log_frac in -8.0f64..-0.001,
        buy in any::<bool>(),
    ) {
        let frac = 10f64.powf(log_frac);
        let slack = 1e-12 * (pool.eth() + pool.lrt_units());
        let (out, paid) = if buy {
            let out = frac * pool.lrt_units();
            (out, pool.buy_for_units(out).map(|dx| pool.quote_buy(dx)))
        } else {
            let out = frac * pool.eth();
            (out, pool.sell_for_eth(out).map(|dz| pool.quote_sell(dz)))
        };
        if let Some(got) = paid {
            prop_assert!((got - out).abs() <= 1e-9 * out + slack, "{got} vs {out}");
        }
    }

    /// Trading to a random target price lands on it, whatever the pool and its fees, and
    /// whichever price is aimed at (the pool's, or the trader's after the fee).
    #[test]
    fn to_price_hits_random_targets(pool in any_pool_with_fees(), log_target in -4.0f64..4.0, after_fee in any::<bool>()) {
        let quote = if after_fee { Quote::AfterFee } else { Quote::Marginal };
        let target = pool.price() * 10f64.powf(log_target);
        let mut moved = pool;
        let sell = target < pool.price();
        let swap = if sell {
            moved.sell_to_price(target, f64::INFINITY, quote)
        } else {
            moved.buy_to_price(target, f64::INFINITY, quote)
        };
        prop_assert!(moved.eth() > 0.0 && moved.lrt_units() > 0.0);
        let f = moved.marginal_fee();
        let reads = match (quote, sell) {
            (Quote::Marginal, _) => moved.price(),
            (Quote::AfterFee, true) => moved.price() * (1.0 - f),
            (Quote::AfterFee, false) => moved.price() / (1.0 - f),
        };
        let f0 = pool.marginal_fee();
        let start = match (quote, sell) {
            (Quote::Marginal, _) => pool.price(),
            (Quote::AfterFee, true) => pool.price() * (1.0 - f0),
            (Quote::AfterFee, false) => pool.price() / (1.0 - f0),
        };
        let beyond = if sell { target < start } else { target > start };
        if beyond {
            prop_assert!(swap.amount_in > 0.0);
            prop_assert!(rel_err(reads, target) <= 1e-10, "{reads} vs target {target}");
        } else {
            prop_assert_eq!(swap, Swap::default());
        }
    }
}

/// A case the random search found (a nearly flat curve, A ≈ 9,441, with a dynamic fee):
/// aiming the after-fee price, the fixed point on the fee diverges (each round moves the
/// balance far along the flat curve, and the fee with it), and the trade stopped 7.6e-5 short
/// of the target. The fee's fixed point is then bisected in [fee, m·fee]; both sides land.
#[test]
fn to_price_after_a_dynamic_fee_on_a_flat_curve() {
    let fees = Fees {
        fee: 0.009164120675224773,
        admin_share: 0.0,
        offpeg_multiplier: 3.3128094549325025,
    };
    let pool = Pool::with_fees(
        Invariant::Stableswap {
            amp: 9440.678749125664,
        },
        fees,
        1.0,
        1.0,
    );
    for log_target in [0.011212309090970235, -0.011212309090970235, 0.02, -0.05] {
        let target = pool.price() * 10f64.powf(log_target);
        let mut moved = pool;
        let sell = target < pool.price();
        let swap = if sell {
            moved.sell_to_price(target, f64::INFINITY, Quote::AfterFee)
        } else {
            moved.buy_to_price(target, f64::INFINITY, Quote::AfterFee)
        };
        assert!(swap.amount_in > 0.0, "log target {log_target}");
        let f = moved.marginal_fee();
        let reads = if sell {
            moved.price() * (1.0 - f)
        } else {
            moved.price() / (1.0 - f)
        };
        assert!(
            rel_err(reads, target) <= 1e-10,
            "log target {log_target}: {reads} vs {target}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 6. Trading to a target price.
// ---------------------------------------------------------------------------------------

/// Every kind the to-price tests cover.
fn to_price_kinds() -> Vec<Invariant> {
    let mut kinds = vec![Invariant::ConstantProduct];
    kinds.extend(AMPS.iter().map(|&a| stableswap(a)));
    kinds
}

/// A pool of `kind` charging a fee of `fee` as its contract does, part of it kept in the
/// pool: Curve's (half to the admin) with an off-peg multiplier of 5 for StableSwap,
/// Uniswap v2's for the constant product.
fn with_contract_fees(kind: Invariant, fee: f64, x: f64, z: f64) -> Pool {
    let fees = match kind {
        Invariant::Stableswap { .. } => Fees {
            fee,
            admin_share: 0.5,
            offpeg_multiplier: 5.0,
        },
        Invariant::ConstantProduct => Fees::uniswap_v2(fee),
    };
    Pool::with_fees(kind, fees, x, z)
}

#[test]
fn to_price_hits_targets() {
    // The solver stops at 1e-14 relative in price; the swap then recomputes the other
    // balance from the curve (a few ulps, amplified ≤ ~1e3 on a depleted side): 1e-10. With
    // fees kept in the pool (and StableSwap's dynamic fee) the solve refines the curve's
    // answer on the price after the trade itself, to the same tolerance.
    for kind in to_price_kinds() {
        for (x, z) in [(1000.0, 1000.0), (1000.0, 300.0), (300.0, 1000.0)] {
            for target in [1e-3, 0.05, 0.2, 0.5, 0.9, 0.999, 1.001, 1.5, 5.0, 50.0, 1e3] {
                let pool = with_contract_fees(kind, 0.001, x, z);
                let mut moved = pool;
                let swap = if target < pool.price() {
                    moved.sell_to_price(target, f64::INFINITY, Quote::Marginal)
                } else {
                    moved.buy_to_price(target, f64::INFINITY, Quote::Marginal)
                };
                assert!(swap.amount_in > 0.0);
                assert!(
                    moved.eth() > 0.0
                        && moved.eth().is_finite()
                        && moved.lrt_units() > 0.0
                        && moved.lrt_units().is_finite()
                );
                let err = rel_err(moved.price(), target);
                assert!(
                    err <= 1e-10,
                    "{kind:?} ({x}, {z}) → {target}: price {} ({err:e})",
                    moved.price()
                );
                assert!(moved.invariant() > pool.invariant());
            }
        }
    }
}

#[test]
fn to_price_extreme_cases() {
    // A very flat curve pushed far off its peg, and a constant product crashed to 5%.
    let mut pool = Pool::new(stableswap(1e4), 1000.0, 1000.0);
    pool.sell_to_price(0.2, f64::INFINITY, Quote::Marginal);
    assert!(rel_err(pool.price(), 0.2) <= 1e-10, "{}", pool.price());
    // Constant sum until the ETH is nearly gone: almost all of it left.
    assert!(pool.eth() > 0.0 && pool.eth() < 10.0, "{}", pool.eth());

    let mut pool = Pool::new(Invariant::ConstantProduct, 1000.0, 1000.0);
    pool.sell_to_price(0.05, f64::INFINITY, Quote::Marginal);
    assert!(rel_err(pool.price(), 0.05) <= 1e-10);
    // x = L·√p = 1000·√0.05.
    assert!(rel_err(pool.eth(), 1000.0 * 0.05f64.sqrt()) <= 16.0 * EPS);

    // A case where an unguarded Newton iteration on ln(price) bounces between the two sides
    // of the root forever (found by random search): the safeguard must bisect.
    let mut pool = Pool::new(
        stableswap(17.146103080067423),
        4427.887574652861,
        27775.488041402223,
    );
    pool.buy_to_price(73.39366571193067, f64::INFINITY, Quote::Marginal);
    assert!(
        rel_err(pool.price(), 73.39366571193067) <= 1e-10,
        "{}",
        pool.price()
    );

    for amp in [0.01, 1e5] {
        for target in [1e-3, 1e3] {
            let mut pool = Pool::new(stableswap(amp), 1000.0, 1000.0);
            if target < 1.0 {
                pool.sell_to_price(target, f64::INFINITY, Quote::Marginal);
            } else {
                pool.buy_to_price(target, f64::INFINITY, Quote::Marginal);
            }
            assert!(
                rel_err(pool.price(), target) <= 1e-10,
                "A = {amp} → {target}: {}",
                pool.price()
            );
            assert!(pool.eth() > 0.0 && pool.lrt_units() > 0.0);
        }
    }
}

#[test]
fn to_price_respects_caps_and_is_noop_past_target() {
    for kind in to_price_kinds() {
        let pool = with_contract_fees(kind, 0.003, 1000.0, 1000.0);
        let p = pool.price();

        // Uncapped, then capped at half the amount needed: the cap is traded exactly and the
        // price stops between the start and the target.
        let mut free = pool;
        let need = free
            .sell_to_price(0.5 * p, f64::INFINITY, Quote::Marginal)
            .amount_in;
        let mut capped = pool;
        let swap = capped.sell_to_price(0.5 * p, 0.5 * need, Quote::Marginal);
        assert_eq!(swap.amount_in, 0.5 * need);
        assert!(capped.price() < p && capped.price() > 0.5 * p);
        let mut free = pool;
        let need = free
            .buy_to_price(2.0 * p, f64::INFINITY, Quote::Marginal)
            .amount_in;
        let mut capped = pool;
        let swap = capped.buy_to_price(2.0 * p, 0.5 * need, Quote::Marginal);
        assert_eq!(swap.amount_in, 0.5 * need);
        assert!(capped.price() > p && capped.price() < 2.0 * p);

        // A cap of zero trades nothing.
        let mut zero = pool;
        assert_eq!(
            zero.sell_to_price(0.5 * p, 0.0, Quote::Marginal),
            Swap::default()
        );
        assert_eq!(
            zero.buy_to_price(2.0 * p, 0.0, Quote::Marginal),
            Swap::default()
        );

        // Already at or past the target: nothing happens.
        for (target, sell) in [(p, true), (2.0 * p, true), (p, false), (0.5 * p, false)] {
            let mut same = pool;
            let swap = if sell {
                same.sell_to_price(target, f64::INFINITY, Quote::Marginal)
            } else {
                same.buy_to_price(target, f64::INFINITY, Quote::Marginal)
            };
            assert_eq!(swap, Swap::default());
            assert_eq!(
                (same.eth(), same.lrt_units(), same.invariant()),
                (pool.eth(), pool.lrt_units(), pool.invariant())
            );
        }
    }
}

#[test]
fn to_price_amounts_are_what_the_trades_take() {
    // `sell_to_price_units` and `buy_to_price_eth` quote, without trading, exactly what the
    // uncapped trades to the same targets take; nothing at or past the target.
    for kind in to_price_kinds() {
        for (x, z) in [(1000.0, 1000.0), (1000.0, 300.0), (300.0, 1000.0)] {
            let pool = with_contract_fees(kind, 0.003, x, z);
            let p = pool.price();
            for ratio in [1e-3, 0.5, 0.99, 0.999_999, 1.000_001, 1.01, 2.0, 1e3] {
                let target = p * ratio;
                let mut sold = pool;
                let sale = sold.sell_to_price(target, f64::INFINITY, Quote::Marginal);
                assert_eq!(
                    pool.sell_to_price_units(target, Quote::Marginal),
                    sale.amount_in,
                    "{kind:?} {ratio}"
                );
                let mut bought = pool;
                let purchase = bought.buy_to_price(target, f64::INFINITY, Quote::Marginal);
                assert_eq!(
                    pool.buy_to_price_eth(target, Quote::Marginal),
                    purchase.amount_in,
                    "{kind:?} {ratio}"
                );
                assert!((ratio < 1.0) == (sale.amount_in > 0.0), "{kind:?} {ratio}");
                assert!(
                    (ratio > 1.0) == (purchase.amount_in > 0.0),
                    "{kind:?} {ratio}"
                );
            }
            // Within the StableSwap solver's tolerance of the target is at the target.
            if kind != Invariant::ConstantProduct {
                assert_eq!(
                    pool.sell_to_price_units(p * (1.0 - 1e-15), Quote::Marginal),
                    0.0
                );
                assert_eq!(
                    pool.buy_to_price_eth(p * (1.0 + 1e-15), Quote::Marginal),
                    0.0
                );
            }
        }
    }
}

#[test]
fn cap_first_trades_are_the_to_price_trades() {
    // Trying the cap first gives the same trade as solving first, whether the cap binds
    // (a quarter or half of what the target needs) or not (twice or ten times that).
    for kind in to_price_kinds() {
        for (x, z) in [(1000.0, 1000.0), (1000.0, 300.0), (300.0, 1000.0)] {
            let pool = with_contract_fees(kind, 0.003, x, z);
            let p = pool.price();
            for ratio in [0.2, 0.97, 0.9999, 1.0001, 1.03, 5.0] {
                let target = p * ratio;
                let need = if ratio < 1.0 {
                    pool.sell_to_price_units(target, Quote::Marginal)
                } else {
                    pool.buy_to_price_eth(target, Quote::Marginal)
                };
                for share in [0.25, 0.5, 2.0, 10.0] {
                    let cap = share * need;
                    let (mut a, mut b) = (pool, pool);
                    let (first, solved) = if ratio < 1.0 {
                        (
                            a.sell_to_price_cap_first(target, cap, Quote::Marginal),
                            b.sell_to_price(target, cap, Quote::Marginal),
                        )
                    } else {
                        (
                            a.buy_to_price_cap_first(target, cap, Quote::Marginal),
                            b.buy_to_price(target, cap, Quote::Marginal),
                        )
                    };
                    assert_eq!(first, solved, "{kind:?} ({x}, {z}) {ratio} {share}");
                    assert_eq!(
                        (a.eth(), a.lrt_units(), a.price()),
                        (b.eth(), b.lrt_units(), b.price())
                    );
                    assert_eq!(first.amount_in == cap, share < 1.0);
                }
            }
        }
    }
}

#[test]
fn huge_trades_leave_reserves_positive() {
    // Selling without bound drains ETH only asymptotically. For StableSwap the leading terms
    // of the invariant at large z are 4A·z ≈ D³/(4xz), i.e. x ≈ D³/(16A·z²); the neglected
    // terms are (4A − 1)·D and 4A·x against 4A·z, a relative 2|4A − 1|/(4A·z/D) with margin.
    for amp in AMPS {
        let pool = Pool::new(stableswap(amp), 1000.0, 1000.0);
        let d = pool.invariant();
        let mut last = pool.eth();
        for depths in [1e3, 1e6, 1e9] {
            let mut sold = pool;
            sold.sell(depths * d);
            let (x, z) = (sold.eth(), sold.lrt_units());
            assert!(x > 0.0 && x < last, "A = {amp}, {depths}×D: x = {x}");
            last = x;
            let asymptote = d.powi(3) / (16.0 * amp * z * z);
            let tol = 2.0 * (4.0 * amp - 1.0).abs() / (4.0 * amp * z / d) + 1e-12;
            assert!(
                rel_err(x, asymptote) <= tol,
                "A = {amp}, {depths}×D: {x} vs {asymptote}"
            );
            // And the other way round.
            let mut bought = pool;
            bought.buy(depths * d);
            assert!(bought.lrt_units() > 0.0 && bought.lrt_units().is_finite());
        }
    }
    let pool = Pool::new(Invariant::ConstantProduct, 1000.0, 1000.0);
    for depths in [1e3, 1e6, 1e9] {
        let mut sold = pool;
        sold.sell(depths * 1000.0);
        assert!(sold.eth() > 0.0);
        assert!(rel_err(sold.eth(), 1e6 / (1000.0 + depths * 1000.0)) <= 8.0 * EPS);
    }
}

// ---------------------------------------------------------------------------------------
// 7. Liquidity changes and rate moves.
// ---------------------------------------------------------------------------------------

#[test]
fn scale_liquidity_keeps_price_and_curve() {
    // Homogeneity: (x, z, D) → f·(x, z, D) leaves x/D, z/D and so the price unchanged up to
    // one rounding per product (a few ulps of the price): 16·EPS.
    for kind in to_price_kinds() {
        for (x, z) in [(1000.0, 1000.0), (1000.0, 300.0), (30.0, 1000.0)] {
            for factor in [0.01, 0.5, 1.7, 40.0] {
                let pool = Pool::new(kind, x, z);
                let mut scaled = pool;
                scaled.scale_liquidity(factor);
                assert!(
                    rel_err(scaled.price(), pool.price()) <= 16.0 * EPS,
                    "{kind:?} × {factor}"
                );
                assert_eq!(scaled.eth(), x * factor);
                assert_eq!(scaled.lrt_units(), z * factor);
                assert_eq!(scaled.invariant(), pool.invariant() * factor);
                assert!(residual(&scaled) <= 1e-12);
                assert!(rel_err(scaled.value_at(0.9), factor * pool.value_at(0.9)) <= 4.0 * EPS);
            }
        }
    }
}

#[test]
fn rescale_lrt_keeps_the_invariant_equation() {
    // After the rate moves the invariant is recomputed at the new balances: the equation
    // holds to rounding and D agrees with Curve's get_D (1e-13, as for Pool::new).
    for kind in to_price_kinds() {
        for (x, z) in [(1000.0, 1000.0), (1000.0, 300.0)] {
            for factor in [0.5, 0.97, 1.0, 1.03, 2.0] {
                let mut pool = Pool::new(kind, x, z);
                pool.sell(0.1 * z);
                pool.rescale_lrt(factor);
                let (x1, z1) = (pool.eth(), pool.lrt_units());
                assert!(
                    residual(&pool) <= 1e-14,
                    "{kind:?} × {factor}: residual {:e}",
                    residual(&pool)
                );
                if let Invariant::Stableswap { amp } = kind {
                    let want = curve_get_d([x1, z1], curve_amp(amp));
                    assert!(rel_err(pool.invariant(), want) <= 1e-13);
                }
                // The rescaled pool trades on its new curve.
                let before = pool.price();
                pool.sell(0.01 * z1);
                assert!(pool.price() < before);
                assert!(residual(&pool) <= 1e-12);
            }
        }
    }
}

#[test]
fn value_at_marks_lrt_at_the_given_price() {
    let pool = Pool::new(stableswap(50.0), 1200.0, 800.0);
    assert_eq!(pool.value_at(0.95), 1200.0 + 800.0 * 0.95);
    assert_eq!(pool.value_at(0.0), 1200.0);
}

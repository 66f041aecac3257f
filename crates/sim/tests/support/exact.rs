//! Exact reference laws for the Monte Carlo tests of `lrtsim-sim`.
//!
//! Everything here is either closed form or a one-dimensional integral (the
//! Student-t copula: two nested ones) evaluated by composite 16-point
//! Gauss–Legendre quadrature with panels narrow enough to resolve every length
//! scale of the integrand, so results are accurate to round-off: ~1e−15
//! absolute on probabilities and ~1e−13 relative even far in the tails. The
//! `*_refined` variants halve the panels so the tests can check this, and the
//! tests also compare against independent computations (mpmath, closed
//! forms). Nothing in this file depends on the crate under test, so a bug in
//! the engine cannot leak into its reference values.
//!
//! Φ is implemented here rather than taken from statrs, whose `erfc` (0.19)
//! is only accurate to ~1e−11 relative; see [`std_normal_cdf`].
//!
//! Conventions: a discrete loss law is a pmf slice `pmf[k] = P(L = k·unit)`,
//! `k = 0, 1, …`; quantiles are returned as the index `k`.

use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::function::erf::erfc_inv;
use statrs::function::gamma::ln_gamma;

// ---------------------------------------------------------------------------
// Standard normal and Student-t helpers
// ---------------------------------------------------------------------------

/// Standard normal density φ(x) = exp(−x²/2)/√(2π).
pub fn std_normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal CDF Φ(x), accurate to a few ulps in *relative* terms in
/// both tails (checked against mpmath to < 1e−14 on [−12, 12]), so
/// `std_normal_cdf(-x)` is an accurate upper tail 1 − Φ(x).
///
/// statrs' `erfc` is deliberately not used: in statrs 0.19 it has relative
/// errors of ~1e−11 (e.g. Φ(1) is off by 1.4e−11), which would dominate the
/// error budget here. Instead (Marsaglia 2004, J. Stat. Softw. 11(4)):
///
/// * |x| < 1.2: Φ(x) = ½ + φ(x) Σ_{j≥0} x^{2j+1}/(1·3·5···(2j+1)) (all terms of
///   one sign, summed until they no longer change the sum);
/// * |x| ≥ 1.2: the upper tail Q(z) = φ(z)·R(z), z = |x|, with Laplace's
///   continued fraction for the Mills ratio
///   R(z) = 1/(z + 1/(z + 2/(z + 3/(z + …)))) evaluated bottom-up from depth
///   N = min(300, 16 + (22/z)²) (truncation error ≈ e^{−2z√N} < 1e−18).
pub fn std_normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let z = x.abs();
    if z < 1.2 {
        let x2 = x * x;
        let (mut term, mut sum) = (x, x);
        let mut j = 0.0;
        loop {
            j += 1.0;
            term *= x2 / (2.0 * j + 1.0);
            let next = sum + term;
            if next == sum {
                break;
            }
            sum = next;
        }
        return 0.5 + std_normal_pdf(x) * sum;
    }
    let q = if z > 40.0 {
        0.0
    } else {
        let depth = (16.0 + (22.0 / z).powi(2)).min(300.0) as usize;
        let mut f = z;
        for k in (1..=depth).rev() {
            f = z + k as f64 / f;
        }
        std_normal_pdf(z) / f
    };
    if x < 0.0 { q } else { 1.0 - q }
}

/// Standard normal quantile Φ⁻¹(u): statrs' `erfc_inv` (Boost-derived),
/// −√2·erfc⁻¹(2u), polished by two Newton steps on [`std_normal_cdf`] (working
/// in the smaller tail), so that Φ(Φ⁻¹(u)) = u to ~1e−15 relative. Returns ∓∞
/// at u = 0, 1.
pub fn std_normal_inv_cdf(u: f64) -> f64 {
    assert!((0.0..=1.0).contains(&u), "Φ⁻¹: u = {u} outside [0, 1]");
    let mut x = -std::f64::consts::SQRT_2 * erfc_inv(2.0 * u);
    if !x.is_finite() {
        return x;
    }
    for _ in 0..2 {
        let err = if x <= 0.0 {
            std_normal_cdf(x) - u
        } else {
            (1.0 - u) - std_normal_cdf(-x)
        };
        let d = std_normal_pdf(x);
        if d > 0.0 {
            x -= err / d;
        }
    }
    x
}

/// Student-t CDF F_ν(x), from the representation T = N/√(W/ν) (N ~ N(0,1),
/// W ~ χ²_ν independent):
///
/// ```text
/// F_ν(x) = E[Φ(x·√(W/ν))] = ∫ Φ(x e^{u/2}) f_U(u) du,  U = ln(W/ν),
/// ```
///
/// integrated with the same χ² quadrature as [`t_copula_finite_pmf`]
/// (accuracy ~1e−14 relative in the lower tail). It is used instead of
/// statrs' incomplete-beta `StudentsT::cdf`, which loses accuracy for large ν
/// (at ν = 1e6 its F(t⁻¹(0.01)) is off by 4e−12, i.e. t⁻¹(0.01) by 1.6e−10).
pub fn students_t_cdf(x: f64, nu: f64) -> f64 {
    assert!(
        nu > 0.0 && nu.is_finite(),
        "t: ν = {nu} must be finite and > 0"
    );
    if x > 0.0 {
        return 1.0 - students_t_cdf(-x, nu);
    }
    chi2_log_nodes(nu, x, 0.25, 1)
        .into_iter()
        .map(|(u, w)| w * std_normal_cdf(x * (0.5 * u).exp()))
        .sum()
}

/// Student-t density f_ν(x) = Γ((ν+1)/2)/(Γ(ν/2)√(νπ)) · (1 + x²/ν)^(−(ν+1)/2).
pub fn students_t_pdf(x: f64, nu: f64) -> f64 {
    let ln_norm =
        ln_gamma(0.5 * (nu + 1.0)) - ln_gamma(0.5 * nu) - 0.5 * (nu * std::f64::consts::PI).ln();
    (ln_norm - 0.5 * (nu + 1.0) * (x * x / nu).ln_1p()).exp()
}

/// Student-t quantile t_ν⁻¹(u) for ν > 0 degrees of freedom, solved by Newton
/// iteration on [`students_t_cdf`] (in the smaller tail) until the step is at
/// round-off level, so that F_ν(t_ν⁻¹(u)) = u to ~1e−14 relative.
///
/// Starting point: statrs' `StudentsT::inverse_cdf` for ν < 20; for ν ≥ 20 the
/// Cornish–Fisher expansion of Abramowitz & Stegun 26.7.5 around z = Φ⁻¹(u),
/// because statrs 0.19's inverse is wrong for large ν (−2.32180 instead of
/// −2.32635 at ν = 1e7, u = 0.01) and does not terminate at ν = 1e8.
/// Checked against mpmath: t₄⁻¹(0.01) = −3.7469473879791968,
/// t_{10⁶}⁻¹(0.01) = −2.3263516031208054.
pub fn students_t_inv_cdf(u: f64, nu: f64) -> f64 {
    assert!(u > 0.0 && u < 1.0, "t⁻¹: u = {u} outside (0, 1)");
    assert!(
        nu > 0.0 && nu.is_finite(),
        "t⁻¹: ν = {nu} must be finite and > 0"
    );
    let mut x = if nu < 20.0 {
        StudentsT::new(0.0, 1.0, nu)
            .expect("valid Student-t")
            .inverse_cdf(u)
    } else {
        let z = std_normal_inv_cdf(u);
        let z2 = z * z;
        let g1 = z * (z2 + 1.0) / 4.0;
        let g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0;
        let g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0;
        let g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0;
        z + (g1 + (g2 + (g3 + g4 / nu) / nu) / nu) / nu
    };
    for _ in 0..50 {
        let err = if x <= 0.0 {
            students_t_cdf(x, nu) - u
        } else {
            (1.0 - u) - students_t_cdf(-x, nu)
        };
        let mut d = students_t_pdf(x, nu);
        if !(d > 0.0 && d.is_finite()) {
            d = std_normal_pdf(x);
        }
        let step = err / d;
        x -= step;
        if step.is_nan() || step.abs() <= 4.0 * f64::EPSILON * x.abs() {
            break;
        }
    }
    x
}

// ---------------------------------------------------------------------------
// Quadrature
// ---------------------------------------------------------------------------

/// Number of Gauss–Legendre points per panel used by every integral here.
pub const GL_POINTS: usize = 16;

/// Gauss–Legendre nodes and weights on [−1, 1] with `m` points (Newton
/// iteration on the Legendre recurrence, Numerical Recipes §4.6 `gauleg`).
/// Exact for polynomials of degree ≤ 2m − 1.
pub fn gauss_legendre(m: usize) -> (Vec<f64>, Vec<f64>) {
    assert!(m >= 1);
    let mut x = vec![0.0; m];
    let mut w = vec![0.0; m];
    let mf = m as f64;
    for i in 0..m.div_ceil(2) {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (mf + 0.5)).cos();
        let mut dp;
        loop {
            let (mut p1, mut p2) = (1.0, 0.0);
            for j in 0..m {
                let jf = j as f64;
                let p3 = p2;
                p2 = p1;
                p1 = ((2.0 * jf + 1.0) * z * p2 - jf * p3) / (jf + 1.0);
            }
            // p1 = P_m(z), p2 = P_{m−1}(z).
            dp = mf * (z * p1 - p2) / (z * z - 1.0);
            let z_old = z;
            z = z_old - p1 / dp;
            if (z - z_old).abs() <= 1e-15 {
                break;
            }
        }
        x[i] = -z;
        x[m - 1 - i] = z;
        let wi = 2.0 / ((1.0 - z * z) * dp * dp);
        w[i] = wi;
        w[m - 1 - i] = wi;
    }
    (x, w)
}

/// Nodes and weights of the composite `GL_POINTS`-point Gauss–Legendre rule on
/// the consecutive panels `[edges[i], edges[i+1]]`.
fn composite_nodes(edges: &[f64]) -> Vec<(f64, f64)> {
    let (gx, gw) = gauss_legendre(GL_POINTS);
    let mut out = Vec::with_capacity(edges.len().saturating_sub(1) * GL_POINTS);
    for pair in edges.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
        for (x, w) in gx.iter().zip(&gw) {
            out.push((mid + half * x, half * w));
        }
    }
    out
}

/// Equal-width panel edges covering [a, b] with panel width at most `h`.
fn uniform_edges(a: f64, b: f64, h: f64) -> Vec<f64> {
    assert!(b > a && h > 0.0);
    let panels = ((b - a) / h).ceil().max(1.0) as usize;
    (0..=panels)
        .map(|i| a + (b - a) * i as f64 / panels as f64)
        .collect()
}

/// ∫_a^b f(x) dx by the composite 16-point Gauss–Legendre rule with equal
/// panels of width ≤ `h`.
pub fn integrate(a: f64, b: f64, h: f64, f: impl Fn(f64) -> f64) -> f64 {
    composite_nodes(&uniform_edges(a, b, h))
        .into_iter()
        .map(|(x, w)| w * f(x))
        .sum()
}

// ---------------------------------------------------------------------------
// Binomial mixtures (shared by the Gaussian and Student-t copulas)
// ---------------------------------------------------------------------------

/// ln C(n, k) for k = 0..=n, accumulated as Σ_{j=1}^{k} ln((n−j+1)/j) with
/// Neumaier-compensated summation (and mirrored, C(n,k) = C(n,n−k)).
///
/// Going through ln n! (statrs' `ln_binomial`) is avoided on purpose: for
/// n = 5,000, ln n! ≈ 37,591 carries an absolute rounding error of several
/// 1e−12, which would become a relative error of the same size on every
/// probability (observed: Σ pmf − 1 = 2.5e−12). The terms here are O(10), so
/// the error stays ~1e−14.
pub fn ln_binomial_row(n: usize) -> Vec<f64> {
    let mut lc = vec![0.0; n + 1];
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    for k in 1..=n / 2 {
        let t = ((n - k + 1) as f64 / k as f64).ln();
        let s = sum + t;
        comp += if sum.abs() >= t.abs() {
            (sum - s) + t
        } else {
            (t - s) + sum
        };
        sum = s;
        lc[k] = sum + comp;
        lc[n - k] = lc[k];
    }
    lc
}

/// Binomial(n, p) pmf in log space: exp(ln C(n,k) + k ln p + (n−k) ln(1−p)).
pub fn binomial_pmf(n: usize, p: f64) -> Vec<f64> {
    assert!((0.0..=1.0).contains(&p));
    let mut pmf = vec![0.0; n + 1];
    if p == 0.0 {
        pmf[0] = 1.0;
    } else if p == 1.0 {
        pmf[n] = 1.0;
    } else {
        let (lp, lq) = (p.ln(), (-p).ln_1p());
        let lc = ln_binomial_row(n);
        for (k, v) in pmf.iter_mut().enumerate() {
            *v = (lc[k] + k as f64 * lp + (n - k) as f64 * lq).exp();
        }
    }
    pmf
}

/// Σ_j w_j · Binomial(n, Φ(x_j)) — the pmf of a conditionally binomial count
/// whose conditional default probability is Φ(x_j) with mixing weight w_j.
///
/// Each binomial is evaluated in log space ([`ln_binomial_row`]) starting at
/// its mode and walking outwards until the terms drop below 1e−300 (the pmf
/// is unimodal, so everything skipped is below that too). Cutting earlier,
/// e.g. at 1e−22, would be harmless in absolute terms but costs the relative
/// accuracy of far-tail probabilities such as P(K = n) ≈ 1e−20.
fn mix_binomial(n: usize, nodes: impl IntoIterator<Item = (f64, f64)>) -> Vec<f64> {
    const TINY: f64 = 1e-300;
    let lc = ln_binomial_row(n);
    let nf = n as f64;
    let mut pmf = vec![0.0; n + 1];
    for (w, x) in nodes {
        if w == 0.0 {
            continue;
        }
        let p = std_normal_cdf(x);
        let q = std_normal_cdf(-x);
        if p == 0.0 {
            pmf[0] += w;
            continue;
        }
        if q == 0.0 {
            pmf[n] += w;
            continue;
        }
        let (lp, lq) = (p.ln(), q.ln());
        let term = |k: usize| (lc[k] + k as f64 * lp + (nf - k as f64) * lq).exp();
        let mode = (((nf + 1.0) * p).floor() as usize).min(n);
        for (k, slot) in pmf.iter_mut().enumerate().skip(mode) {
            let t = term(k);
            *slot += w * t;
            if t < TINY {
                break;
            }
        }
        for (k, slot) in pmf[..mode].iter_mut().enumerate().rev() {
            let t = term(k);
            *slot += w * t;
            if t < TINY {
                break;
            }
        }
    }
    pmf
}

/// Narrowest width, in the probit variable x, of the binomial likelihood
/// k ↦ P(K = k | Φ(x)) seen as a function of x: √(p(1−p)/n)/φ(x) is smallest at
/// x = 0, where it equals √(π/2)/√n ≈ 1.2533/√n.
fn binomial_probit_width(n: usize) -> f64 {
    (std::f64::consts::PI / 2.0).sqrt() / (n.max(1) as f64).sqrt()
}

// ---------------------------------------------------------------------------
// 1. One-factor Gaussian copula (Vasicek), finite N
// ---------------------------------------------------------------------------

/// Integration range for a standard normal factor: the mass outside
/// [−12, 12] is 2Φ(−12) ≈ 3.6e−33.
const Z_MAX: f64 = 12.0;

/// Exact law of the number of defaults K among `n` exchangeable obligors with
/// default probability `p` and asset correlation `rho` in the one-factor
/// Gaussian copula (Vasicek 1987/2002; Gordy 2000):
///
/// ```text
/// P(K = k) = ∫ C(n,k) p(z)^k (1 − p(z))^(n−k) φ(z) dz,
/// p(z)     = Φ((Φ⁻¹(p) − √ρ z)/√(1−ρ)).
/// ```
///
/// The z-integral over [−12, 12] uses composite 16-point Gauss–Legendre with
/// panels no wider than min(0.25, w) where w = 1.2533·√(1−ρ)/(√ρ·√n) is the
/// narrowest width of the integrand in z, so every peak is resolved. Binomial
/// terms are computed in log space (n up to several thousand; n = 5,000
/// takes ~50 ms optimized). Accuracy ~1e−15 absolute and ~1e−13 relative
/// per point (mpmath-checked); Σ pmf = 1 to ~1e−14. Requires 0 < p < 1 and
/// 0 ≤ ρ < 1. Returns a vector of length n + 1.
pub fn vasicek_finite_pmf(n: usize, p: f64, rho: f64) -> Vec<f64> {
    vasicek_finite_pmf_refined(n, p, rho, 1)
}

/// [`vasicek_finite_pmf`] with the panel width divided by `refine` (used by
/// the tests to check convergence by halving the panels).
pub fn vasicek_finite_pmf_refined(n: usize, p: f64, rho: f64, refine: usize) -> Vec<f64> {
    assert!(p > 0.0 && p < 1.0, "p = {p} outside (0, 1)");
    assert!((0.0..1.0).contains(&rho), "ρ = {rho} outside [0, 1)");
    assert!(refine >= 1);
    let a = std_normal_inv_cdf(p);
    let (sr, s1) = (rho.sqrt(), (1.0 - rho).sqrt());
    let width = if rho > 0.0 {
        binomial_probit_width(n) * s1 / sr
    } else {
        f64::INFINITY
    };
    let h = width.min(0.25) / refine as f64;
    let nodes = composite_nodes(&uniform_edges(-Z_MAX, Z_MAX, h))
        .into_iter()
        .map(|(z, w)| (w * std_normal_pdf(z), (a - sr * z) / s1));
    mix_binomial(n, nodes)
}

/// Exact law of the number of pairs that fault at least once over consecutive factor
/// periods of a one-factor Gaussian copula: `n` exchangeable pairs, asset correlation
/// `rho`, marginal fault probability `p[k]` in period k, an independent factor every
/// period (the engine's `[[copulas]]` with `factor_period_days`, severity 1, so a pair's
/// later faults slash nothing). With m pairs not yet faulted, the pairs that fault for the
/// first time in period k are Vasicek(m, p[k], ρ)-distributed whatever happened before
/// (the period's factor and noise are independent of the past, and the pairs are
/// exchangeable), so the count is a Markov chain:
///
/// ```text
/// P(F_k = f + j | F_{k−1} = f) = vasicek_finite_pmf(n − f, p[k], ρ)[j].
/// ```
///
/// One period is [`vasicek_finite_pmf`]; for ρ = 0 it is Binomial(n, 1 − Π(1 − p[k])).
/// Returns a vector of length n + 1.
pub fn vasicek_periods_pmf(n: usize, p: &[f64], rho: f64) -> Vec<f64> {
    let mut law = vec![0.0; n + 1];
    law[0] = 1.0;
    for &pk in p {
        let mut next = vec![0.0; n + 1];
        for (f, &mass) in law.iter().enumerate() {
            if mass == 0.0 {
                continue;
            }
            let fresh = if f == n {
                vec![1.0]
            } else {
                vasicek_finite_pmf(n - f, pk, rho)
            };
            for (j, q) in fresh.iter().enumerate() {
                next[f + j] += mass * q;
            }
        }
        law = next;
    }
    law
}

// ---------------------------------------------------------------------------
// 2. Vasicek large-N limit
// ---------------------------------------------------------------------------

/// α-quantile of the large-N (asymptotic single-risk-factor) Vasicek loss
/// fraction (Vasicek 2002, "The distribution of loan portfolio value"; Basel
/// IRB formula):
///
/// ```text
/// q_α = Φ((Φ⁻¹(p) + √ρ Φ⁻¹(α)) / √(1−ρ)).
/// ```
pub fn vasicek_large_n_quantile(p: f64, rho: f64, alpha: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0 && (0.0..1.0).contains(&rho));
    assert!(alpha > 0.0 && alpha < 1.0);
    std_normal_cdf(
        (std_normal_inv_cdf(p) + rho.sqrt() * std_normal_inv_cdf(alpha)) / (1.0 - rho).sqrt(),
    )
}

/// Expected shortfall of the large-N Vasicek loss fraction,
///
/// ```text
/// ES_α = (1/(1−α)) ∫_α^1 q_u du
///      = (1/(1−α)) ∫_{Φ⁻¹(α)}^∞ φ(s) Φ((Φ⁻¹(p) + √ρ s)/√(1−ρ)) ds
/// ```
///
/// (substitution u = Φ(s), which removes the singularity of q_u at u → 1).
/// The s-integral runs over [Φ⁻¹(α), max(Φ⁻¹(α), 0) + 40] (φ is < e^{−800}
/// beyond) by composite Gauss–Legendre, accuracy ~1e−14. Closed form for
/// cross-checking: ES_α = Φ₂(Φ⁻¹(p), −Φ⁻¹(α); √ρ)/(1−α).
pub fn vasicek_large_n_es(p: f64, rho: f64, alpha: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0 && (0.0..1.0).contains(&rho));
    assert!(alpha > 0.0 && alpha < 1.0);
    let a = std_normal_inv_cdf(p);
    let (sr, s1) = (rho.sqrt(), (1.0 - rho).sqrt());
    let s_alpha = std_normal_inv_cdf(alpha);
    let tail = std_normal_cdf(-s_alpha); // 1 − α, accurate for α near 1
    integrate(s_alpha, s_alpha.max(0.0) + 40.0, 0.25, |s| {
        std_normal_pdf(s) * std_normal_cdf((a + sr * s) / s1)
    }) / tail
}

// ---------------------------------------------------------------------------
// 3. One-factor Student-t copula, finite N
// ---------------------------------------------------------------------------

/// Log density of U = ln(W/ν), W ~ χ²_ν, written as c₀(m) + m(u − (e^u − 1))
/// with m = ν/2 and c₀(m) = m ln m − m − ln Γ(m) (= ln f_U(0), the mode).
/// For m ≥ 10, c₀ uses the Stirling series through m⁻¹³ (truncation error
/// < 1e−16) to avoid the cancellation of m ln m − lnΓ(m) when ν is large.
fn log_chi2_log_density(m: f64) -> impl Fn(f64) -> f64 {
    let c0 = if m >= 10.0 {
        let (m2, m3) = (m * m, m * m * m);
        0.5 * m.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln() - 1.0 / (12.0 * m)
            + 1.0 / (360.0 * m3)
            - 1.0 / (1260.0 * m3 * m2)
            + 1.0 / (1680.0 * m3 * m3 * m)
            - 1.0 / (1188.0 * m3 * m3 * m3)
            + 691.0 / (360360.0 * m3 * m3 * m3 * m2)
            - 1.0 / (156.0 * m3 * m3 * m3 * m3 * m)
    } else {
        m * m.ln() - m - ln_gamma(m)
    };
    move |u: f64| c0 + m * u_minus_expm1(u)
}

/// u − (e^u − 1) without cancellation: −Σ_{j≥2} u^j/j! for |u| < ½ (for
/// ν = 1e6 the relevant u are ~1e−3 and m = 5e5 multiplies the result).
fn u_minus_expm1(u: f64) -> f64 {
    if u.abs() >= 0.5 {
        return u - u.exp_m1();
    }
    let (mut term, mut sum) = (0.5 * u * u, 0.0);
    let mut j = 2.0;
    while term != 0.0 && sum - term != sum {
        sum -= term;
        j += 1.0;
        term *= u / j;
    }
    sum
}

/// |a| beyond which nothing downstream depends on a any more: Φ(±38) is 0 or
/// 1 in f64 (2.9e−316), and the Gaussian kernels of the t copula reach at
/// most 10√ρ ≤ 10 further.
const A_RESOLVED: f64 = 50.0;

/// Quadrature nodes (u_j, w_j) for U = ln(W/ν), W ~ χ²_ν, such that
/// Σ_j w_j g(u_j) ≈ E[g(U)] for functions g whose dependence on u goes
/// through a(u) = c·e^{u/2}, varying on a scale ≥ `da_max` in a while
/// |a| < [`A_RESOLVED`] and constant beyond.
fn chi2_log_nodes(nu: f64, c: f64, da_max: f64, refine: usize) -> Vec<(f64, f64)> {
    const LOG_CUT: f64 = -50.0; // tail mass beyond the cut-offs < 1e−20
    let m = 0.5 * nu;
    let logf = log_chi2_log_density(m);
    // logf is increasing on (−∞, 0] and decreasing on [0, ∞): bracket + bisect.
    let solve = |dir: f64| {
        let (mut lo, mut hi) = (0.0, dir);
        while logf(hi) > LOG_CUT {
            lo = hi;
            hi *= 2.0;
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if logf(mid) > LOG_CUT {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    };
    let (u_lo, u_hi) = (solve(-1.0), solve(1.0));
    // Panel width: resolve the density (scale 1/√m near the mode, 1/|slope|
    // in the tails) and the map u ↦ a(u) = c·e^{u/2} to `da_max`.
    let r = refine as f64;
    let h_at = |u: f64| {
        let mut h = 0.25f64
            .min(0.5 / m.sqrt())
            .min(4.0 / (m * u.exp_m1().abs()));
        let a_abs = c.abs() * (0.5 * u).exp();
        if a_abs > 0.0 && a_abs < A_RESOLVED {
            h = h.min(2.0 * (da_max / a_abs).ln_1p());
        }
        h / r
    };
    let mut edges = vec![u_lo];
    let mut u = u_lo;
    while u < u_hi {
        let h = h_at(u).min(h_at((u + h_at(u)).min(u_hi)));
        u = (u + h).min(u_hi);
        edges.push(u);
    }
    composite_nodes(&edges)
        .into_iter()
        .map(|(u, w)| (u, w * logf(u).exp()))
        .collect()
}

/// Exact law of the number of defaults K among `n` exchangeable obligors in
/// the one-factor Student-t copula with `nu` degrees of freedom (Frey &
/// McNeil 2001/2003; McNeil, Frey & Embrechts, *Quantitative Risk
/// Management*, §11.1):
///
/// ```text
/// X_i = (√ρ Z + √(1−ρ) ε_i) / √(W/ν),  Z, ε_i ~ N(0,1), W ~ χ²_ν,
/// default_i ⇔ X_i < c := t_ν⁻¹(p),
/// P(default | Z = z, W = w) = Φ((c √(w/ν) − √ρ z) / √(1−ρ)).
/// ```
///
/// Writing u = ln(W/ν) and Y = c e^{U/2} − √ρ Z, the conditional probability
/// is Φ(Y/√(1−ρ)), so for ρ > 0
///
/// ```text
/// P(K = k) = ∫ Bin(k; n, Φ(y/√(1−ρ))) f_Y(y) dy,
/// f_Y(y)   = E_U[ φ((y − c e^{U/2})/√ρ) ] / √ρ,
/// ```
///
/// with the density of U, f_U(u) = m^m e^{m u − m e^u}/Γ(m) (m = ν/2). Both
/// integrals use composite 16-point Gauss–Legendre with panels adapted to
/// every length scale of the integrand (the χ² density, √ρ, and the binomial
/// peak width); for ρ = 0 the y-integral collapses to
/// P(K = k) = E_U[Bin(k; n, Φ(c e^{U/2}))]. Accuracy ~1e−15 absolute and
/// ~1e−13 relative per point (panel halving; independent tensor-product
/// quadrature in the tests), checked for ν from 0.5 to 1e10. Requires
/// 0 < p < 1, 0 ≤ ρ < 1; the cost grows like 1/√ρ for small ρ > 0
/// (n = 5,000, ν = 4, ρ = 0.12: ~0.2 s optimized).
pub fn t_copula_finite_pmf(n: usize, p: f64, rho: f64, nu: f64) -> Vec<f64> {
    t_copula_finite_pmf_refined(n, p, rho, nu, 1)
}

/// [`t_copula_finite_pmf`] with all panel widths divided by `refine`.
pub fn t_copula_finite_pmf_refined(n: usize, p: f64, rho: f64, nu: f64, refine: usize) -> Vec<f64> {
    assert!(p > 0.0 && p < 1.0, "p = {p} outside (0, 1)");
    assert!((0.0..1.0).contains(&rho), "ρ = {rho} outside [0, 1)");
    assert!(refine >= 1);
    let c = students_t_inv_cdf(p, nu);
    let r = refine as f64;
    if rho == 0.0 {
        let nodes = chi2_log_nodes(nu, c, binomial_probit_width(n), refine);
        return mix_binomial(n, nodes.into_iter().map(|(u, w)| (w, c * (0.5 * u).exp())));
    }
    let (sr, s1) = (rho.sqrt(), (1.0 - rho).sqrt());
    let mut a_nodes: Vec<(f64, f64)> = chi2_log_nodes(nu, c, 0.5 * sr, refine)
        .into_iter()
        .map(|(u, w)| (c * (0.5 * u).exp(), w))
        .collect();
    a_nodes.sort_by(|x, y| x.0.total_cmp(&y.0));
    const KERNEL_SD: f64 = 10.0; // φ(10) ≈ 7.7e−23
    // Beyond |y| = Y_CUT the conditional default probability Φ(y/√(1−ρ)) is 0
    // or 1 in f64 (Φ(−38) ≈ 2.9e−316): that mass goes straight to K = 0 or
    // K = n, with P(Y < −Y_CUT) = E_U[Φ((−Y_CUT − a(U))/√ρ)] and likewise above.
    const Y_CUT: f64 = 38.0;
    let y_lo = (a_nodes.first().unwrap().0 - KERNEL_SD * sr).max(-Y_CUT);
    let y_hi = (a_nodes.last().unwrap().0 + KERNEL_SD * sr).min(Y_CUT);
    let h_y = (0.5 * sr).min(binomial_probit_width(n) * s1).min(0.25) / r;
    let f_y = |y: f64| {
        let lo = a_nodes.partition_point(|&(a, _)| a < y - KERNEL_SD * sr);
        let hi = a_nodes.partition_point(|&(a, _)| a <= y + KERNEL_SD * sr);
        a_nodes[lo..hi]
            .iter()
            .map(|&(a, w)| w * std_normal_pdf((y - a) / sr))
            .sum::<f64>()
            / sr
    };
    let nodes = composite_nodes(&uniform_edges(y_lo, y_hi, h_y))
        .into_iter()
        .map(|(y, w)| (w * f_y(y), y / s1));
    let mut pmf = mix_binomial(n, nodes);
    for &(a, w) in &a_nodes {
        pmf[0] += w * std_normal_cdf((-Y_CUT - a) / sr);
        pmf[n] += w * std_normal_cdf((a - Y_CUT) / sr);
    }
    pmf
}

// ---------------------------------------------------------------------------
// 4. Bivariate normal CDF
// ---------------------------------------------------------------------------

/// Φ₂(h, k; ρ) = P(X < h, Y < k) for a standard bivariate normal pair with
/// correlation ρ — e.g. the joint default probability of two obligors with
/// thresholds h = Φ⁻¹(p₁), k = Φ⁻¹(p₂) and asset correlation ρ.
///
/// For ρ ≥ 0 it is the one-factor representation
///
/// ```text
/// Φ₂(h, k; ρ) = ∫ φ(z) Φ((h − √ρ z)/√(1−ρ)) Φ((k − √ρ z)/√(1−ρ)) dz,
/// ```
///
/// integrated over [−12, 12] with panels ≤ min(0.25, ½√((1−ρ)/ρ)) (the
/// width of the Φ steps). This representation only exists for ρ ≥ 0; for
/// ρ < 0 the reflection Φ₂(h, k; ρ) = Φ(h) − Φ₂(h, −k; −ρ) is used (absolute,
/// not relative, accuracy then). ρ = ±1 are handled in closed form. Absolute
/// accuracy ~1e−15; cost grows like (1−ρ)^(−1/2), fine for |ρ| ≤ 1 − 1e−8.
pub fn bivariate_normal_cdf(h: f64, k: f64, rho: f64) -> f64 {
    assert!((-1.0..=1.0).contains(&rho), "ρ = {rho} outside [−1, 1]");
    if rho < 0.0 {
        return std_normal_cdf(h) - bivariate_normal_cdf(h, -k, -rho);
    }
    if rho == 1.0 {
        return std_normal_cdf(h.min(k));
    }
    let (sr, s1) = (rho.sqrt(), (1.0 - rho).sqrt());
    let h_panel = if rho > 0.0 {
        0.5 * s1 / sr
    } else {
        f64::INFINITY
    }
    .min(0.25);
    integrate(-Z_MAX, Z_MAX, h_panel, |z| {
        std_normal_pdf(z) * std_normal_cdf((h - sr * z) / s1) * std_normal_cdf((k - sr * z) / s1)
    })
}

// ---------------------------------------------------------------------------
// 5. Marshall–Olkin common shock
// ---------------------------------------------------------------------------

/// Number of defaults by time `t` among `n` obligors in the exchangeable
/// Marshall–Olkin (common-shock) model (Marshall & Olkin 1967; Lindskog &
/// McNeil 2003): each obligor has an idiosyncratic exponential clock of rate
/// λ_I and all share one global clock of rate λ_G; the global shock defaults
/// everybody. Hence
///
/// ```text
/// K ~ (1−π) Binomial(n, q) + π δ_n,  q = 1 − e^{−λ_I t},  π = 1 − e^{−λ_G t}.
/// ```
///
/// q and π are computed with `exp_m1`. Closed form, exact to round-off.
pub fn marshall_olkin_pmf(n: usize, lambda_i: f64, lambda_g: f64, t: f64) -> Vec<f64> {
    assert!(lambda_i >= 0.0 && lambda_g >= 0.0 && t >= 0.0);
    let q = -(-lambda_i * t).exp_m1();
    let pi = -(-lambda_g * t).exp_m1();
    let mut pmf: Vec<f64> = binomial_pmf(n, q)
        .into_iter()
        .map(|v| (1.0 - pi) * v)
        .collect();
    pmf[n] += pi;
    pmf
}

// ---------------------------------------------------------------------------
// 6. CreditRisk+ (Panjer recursion)
// ---------------------------------------------------------------------------

/// Law of the CreditRisk+ loss L = Σ_b ν_b N_b in units of exposure, with
/// independent N_b ~ Poisson(μ_b) per exposure band `(ν_b, μ_b)` (Credit
/// Suisse First Boston, *CreditRisk+: A Credit Risk Management Framework*,
/// 1997, §A4 — the fixed-default-rate case). L is compound Poisson with
/// μ = Σ μ_b, and the Panjer recursion gives
///
/// ```text
/// P(L = 0) = e^{−μ},
/// P(L = n) = (1/n) Σ_{b: ν_b ≤ n} μ_b ν_b P(L = n − ν_b).
/// ```
///
/// Returns P(L = 0..=max_loss) (the recursion is exact; only the tail beyond
/// `max_loss` is left out). Requires ν_b ≥ 1, μ_b ≥ 0 and μ < 700 (so that
/// e^{−μ} does not underflow).
pub fn creditrisk_plus_pmf(bands: &[(u32, f64)], max_loss: usize) -> Vec<f64> {
    assert!(
        bands
            .iter()
            .all(|&(v, m)| v >= 1 && m >= 0.0 && m.is_finite()),
        "bands need ν ≥ 1 and finite μ ≥ 0"
    );
    let mu: f64 = bands.iter().map(|&(_, m)| m).sum();
    assert!(mu < 700.0, "μ = {mu} too large: e^(−μ) underflows");
    let mut pmf = vec![0.0; max_loss + 1];
    pmf[0] = (-mu).exp();
    for l in 1..=max_loss {
        let s: f64 = bands
            .iter()
            .filter(|&&(v, _)| v as usize <= l)
            .map(|&(v, m)| m * v as f64 * pmf[l - v as usize])
            .sum();
        pmf[l] = s / l as f64;
    }
    pmf
}

// ---------------------------------------------------------------------------
// 7. Functionals of a discrete loss law pmf[k] = P(L = k·unit)
// ---------------------------------------------------------------------------

/// Tolerance used by [`discrete_quantile`]: CDF(k) ≥ α − 1e−12 counts as
/// reaching α, so that quantiles landing exactly on an atom boundary (e.g.
/// α = 0.9 for a uniform law on 10 points, whose running sum is
/// 0.8999999999999999) are not pushed one atom up by summation round-off.
pub const QUANTILE_TOL: f64 = 1e-12;

/// P(L ≤ k·unit) = Σ_{j ≤ k} pmf[j] (the total mass if k is past the end).
pub fn cdf(pmf: &[f64], k: usize) -> f64 {
    pmf[..(k + 1).min(pmf.len())].iter().sum()
}

/// E[L] = unit · Σ_k k·pmf[k].
pub fn pmf_mean(pmf: &[f64], unit: f64) -> f64 {
    unit * pmf
        .iter()
        .enumerate()
        .map(|(k, &v)| k as f64 * v)
        .sum::<f64>()
}

/// Value-at-risk index: the smallest k with CDF(k) ≥ α (lower α-quantile,
/// VaR_α = k·unit), with the comparison made as CDF(k) ≥ α − [`QUANTILE_TOL`].
/// Panics if the pmf never reaches α (mass missing past its end).
pub fn discrete_quantile(pmf: &[f64], alpha: f64) -> usize {
    assert!(alpha > 0.0 && alpha < 1.0, "α = {alpha} outside (0, 1)");
    let mut acc = 0.0;
    for (k, &v) in pmf.iter().enumerate() {
        acc += v;
        if acc >= alpha - QUANTILE_TOL {
            return k;
        }
    }
    panic!("pmf mass {acc} never reaches α = {alpha}: extend the support");
}

/// Expected shortfall in the Acerbi–Tasche (2002) form, which is exact for
/// atoms at the quantile:
///
/// ```text
/// ES_α = (1/(1−α)) [ E[L·1{L > q}] + q·(F(q) − α) ],  q = VaR_α,
/// ```
///
/// in loss units (multiplied by `unit`). The pmf must carry (essentially) all
/// the mass: any tail beyond its end is ignored.
pub fn discrete_es(pmf: &[f64], unit: f64, alpha: f64) -> f64 {
    let q = discrete_quantile(pmf, alpha);
    let f_q = cdf(pmf, q);
    let tail: f64 = pmf
        .iter()
        .enumerate()
        .skip(q + 1)
        .map(|(k, &v)| k as f64 * v)
        .sum();
    unit * (tail + q as f64 * (f_q - alpha)) / (1.0 - alpha)
}

// ---------------------------------------------------------------------------
// 8. Monte Carlo acceptance band
// ---------------------------------------------------------------------------

/// Normal-approximation band for an empirical frequency: if each of
/// `n_samples` independent draws hits with probability `prob`, the observed
/// frequency lies in prob ± z·√(prob(1−prob)/n_samples) with probability
/// ≈ 2Φ(z) − 1 (CLT). Returns (lower, upper), not clamped to [0, 1]. Use it
/// e.g. to check that P̂(L ≤ exact VaR_α) is consistent with F(VaR_α).
pub fn binomial_quantile_band(n_samples: u64, prob: f64, z: f64) -> (f64, f64) {
    assert!(n_samples > 0 && (0.0..=1.0).contains(&prob));
    let half = z * (prob * (1.0 - prob) / n_samples as f64).sqrt();
    (prob - half, prob + half)
}

//! Factor copulas over allocation pairs, sampled exactly without a draw per pair per period.
//!
//! The common factors are drawn once per *factor period* of `factor_period_days` ([`Periods`];
//! independent of the simulation's step). In each period, pair i's latent is
//! `X_i = (a·Z + b·Y_g(i) + e·ε_i) / S` with a global factor
//! Z, group factors Y_g and idiosyncratic ε_i, all standard normal; `a = √ρ_global`,
//! `b = √ρ_group`, `e = √(1 − a² − b²)`; S = 1 (Gaussian) or √(W/ν) with W ~ χ²_ν
//! (Student-t). The pair faults when X_i < c = F⁻¹(p), F the standard normal or t_ν CDF and
//! p the period's marginal probability (smaller in a shortened last period).
//! Given the common variables V = (Z, Y, W) pairs fault independently with probability
//! `Φ((c·S − a·Z − b·Y_g) / e)`.
//!
//! Two exact samplers (`docs/model.md` derives both):
//! - **Direct**: per period draw V, then per group the faulting members by geometric skips.
//!   Cost per period O(groups + faults).
//! - **Union** (Karp–Luby): when m = n·p ≤ [`UNION_MAX_MASS`], candidate periods arrive with
//!   probability m per period (geometric skips over periods). At a candidate: pick a pair i
//!   uniformly, draw V conditional on pair i faulting, then the other pairs' faults given V in
//!   member order, and accept when i is the first of the faults — probability 1/|faults|
//!   given them, decided as soon as a pair before i faults. Accepted periods have exactly the
//!   law of the period's fault set conditioned on being non-empty, and occur with exactly its
//!   probability.
//!   Cost per path O(m·periods·(groups + faults)).
//! - **Table**: when the pairs are exchangeable — a Gaussian copula whose latent has one common
//!   factor (no group factors, or a single group) — the number N of faults in a period has one
//!   law, P(N = k) = ∫ φ(z)·C(n, k)·p(z)ᵏ·(1 − p(z))ⁿ⁻ᵏ dz with p(z) = Φ((c − a'·z)/e),
//!   tabulated once per scenario by quadrature ([`CountTable`]). Fault periods arrive by
//!   geometric skips with q = P(N ≥ 1); at one, N is drawn from P(N = k | N ≥ 1) by inversion,
//!   then N distinct pairs uniformly. Exact but for the table's error (about 1e-12 per
//!   probability, from statrs' erfc; the quadrature has converged; tested against an
//!   independent reference) and the draws' rounding. Cost per path O(fault periods
//!   + faults), with no special function evaluated.

use rand::{Rng, RngExt};
use rand_distr::{ChiSquared, Distribution, Gamma, StandardNormal};
use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::function::erf::{erfc, erfc_inv};

use crate::severity::SeverityDist;
use crate::spec::{Copula, CopulaFamily};

/// Largest per-period fault mass n·p for which the union sampler is used.
pub const UNION_MAX_MASS: f64 = 0.5;

/// Relative tolerance (of the horizon) within which a factor period divides the horizon: a
/// remainder below it is rounding, not a last, shorter period.
pub const PERIOD_TOLERANCE: f64 = 1e-9;

/// Which exact sampler a copula uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Draw the common factors every period.
    Direct,
    /// Skip to candidate periods and accept by the union (Karp–Luby) rule.
    Union,
    /// Draw which periods have a fault (their binomial number, then uniform positions; or by
    /// geometric skips when many do) and each one's fault count from its tabulated law
    /// (exchangeable Gaussian copulas only).
    Table,
}

/// Widest step of [`CountTable`]'s quadrature over the factor z.
const TABLE_MAX_STEP: f64 = 0.006;
/// Half-width of the quadrature's range of z: φ carries less than 2e-33 of mass beyond it.
const TABLE_Z_MAX: f64 = 12.0;
/// Most pairs for which the table is built (its cost grows with them); beyond, the union or
/// direct sampler.
pub const TABLE_MAX_PAIRS: usize = 20_000;

/// The law of the number of faults in one period of an exchangeable Gaussian copula, by
/// quadrature: `pmf[k]` = P(N = k) for k = 0..=n.
#[derive(Debug, Clone)]
pub struct CountTable {
    /// P(N = k), k = 0..=n.
    pub pmf: Vec<f64>,
    /// ln(1 − q), q = P(N ≥ 1) = Σ_{k ≥ 1} pmf[k]: the log-probability of a period without a
    /// fault.
    ln_no_fault: f64,
    /// P(N ≤ k | N ≥ 1) at index k − 1, k = 1..=n (the last is 1).
    cond_cdf: Vec<f64>,
}

impl CountTable {
    /// The law for `n` pairs with marginal fault probability `p` ∈ (0, 1) per period and latent
    /// `a·Z + e·ε` (a² + e² = 1, e > 0). Composite Simpson over z in [−12, 12] with a step of
    /// at most 0.006 and at most an eighth of the integrand's narrowest width in z,
    /// 1.2533·e/(a·√n) (a binomial term's width where it peaks): the rule then converges
    /// exponentially, as for any smooth bump resolved by several points. Each binomial term
    /// is computed in logarithms (log Φ accurate in both tails) and summed only over the k
    /// within 40 standard deviations of the binomial's mean (the rest is below e⁻⁸⁰⁰).
    pub fn new(n: usize, p: f64, a: f64, e: f64) -> Self {
        // statrs' inverse is good to about 1e-12; two Newton steps on Φ (erfc, accurate to
        // the last bits) make the threshold exact to rounding.
        let mut c = norm_inv(p);
        for _ in 0..2 {
            let density = (-0.5 * c * c).exp() / (2.0 * std::f64::consts::PI).sqrt();
            c -= (norm_cdf(c) - p) / density;
        }
        let ln_fact: Vec<f64> = std::iter::once(0.0)
            .chain((1..=n).scan(0.0, |acc, i| {
                *acc += (i as f64).ln();
                Some(*acc)
            }))
            .collect();
        let ln_choose = |k: usize| ln_fact[n] - ln_fact[k] - ln_fact[n - k];
        let width = if a > 0.0 {
            1.2533 * e / (a * (n as f64).sqrt())
        } else {
            f64::INFINITY
        };
        let intervals = ((2.0 * TABLE_Z_MAX / TABLE_MAX_STEP.min(width / 8.0)).ceil() as usize)
            .next_multiple_of(2);
        let grid = intervals + 1;
        let h = 2.0 * TABLE_Z_MAX / intervals as f64;
        let ln_sqrt_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let mut pmf = vec![0.0; n + 1];
        for i in 0..grid {
            let z = -TABLE_Z_MAX + i as f64 * h;
            let weight = if i == 0 || i == grid - 1 {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            let x = (c - a * z) / e;
            let (lp, lq) = (ln_norm_cdf(x), ln_norm_cdf(-x));
            let ln_phi = -0.5 * z * z - ln_sqrt_2pi;
            let pz = lp.exp();
            let mean = n as f64 * pz;
            let sd = (n as f64 * pz * (1.0 - pz)).sqrt();
            let lo = (mean - 40.0 * sd - 10.0).max(0.0) as usize;
            let hi = ((mean + 40.0 * sd + 10.0).ceil() as usize).min(n);
            let w = weight * h / 3.0;
            for (k, out) in pmf.iter_mut().enumerate().take(hi + 1).skip(lo) {
                let ln_term = ln_choose(k) + k as f64 * lp + (n - k) as f64 * lq + ln_phi;
                *out += w * ln_term.exp();
            }
        }
        let q: f64 = pmf[1..].iter().sum();
        let mut acc = 0.0;
        let mut cond_cdf: Vec<f64> = pmf[1..]
            .iter()
            .map(|&x| {
                acc += x;
                (acc / q).min(1.0)
            })
            .collect();
        if let Some(last) = cond_cdf.last_mut() {
            *last = 1.0;
        }
        CountTable {
            pmf,
            ln_no_fault: (-q.min(1.0)).ln_1p(),
            cond_cdf,
        }
    }

    /// P(N ≥ 1).
    pub fn fault_prob(&self) -> f64 {
        -self.ln_no_fault.exp_m1()
    }

    /// Draws N given N ≥ 1 by inversion (from k = 1 up: most of the mass is there).
    #[inline]
    fn draw_count<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        invert_cdf(rng, &self.cond_cdf) + 1
    }
}

/// The index k of a discrete law drawn by inversion of its CDF (`cdf[k]` = P(X ≤ k), the last
/// entry 1), searched from 0 up: one uniform.
#[inline]
pub(crate) fn invert_cdf<R: Rng + ?Sized>(rng: &mut R, cdf: &[f64]) -> usize {
    let u: f64 = rng.random();
    let mut k = 0;
    while k + 1 < cdf.len() && u >= cdf[k] {
        k += 1;
    }
    k
}

/// The largest expected number of fault periods, and the largest per-period fault probability,
/// of a run of periods whose fault periods a [`DaysTable`] draws (beyond, geometric skips cost
/// less than placing the periods one by one).
const DAYS_TABLE_MAX_MEAN: f64 = 8.0;
const DAYS_TABLE_MAX_Q: f64 = 0.25;

/// Which periods of a run of `n` have a fault, each independently with probability q: their
/// number D ~ Binomial(n, q) by inversion of its CDF, then D distinct periods uniformly — the
/// law of the periods that geometric skips would find, without a logarithm per skip.
#[derive(Debug, Clone)]
pub struct DaysTable {
    /// The run's number of periods.
    n: u32,
    /// P(D ≤ k), k = 0, 1, … up to where the terms vanish (the last entry is set to 1).
    cdf: Vec<f64>,
}

impl DaysTable {
    /// The table for `n` periods of fault probability q = 1 − e^`ln_no_fault`, or None when
    /// n·q > 8 or q > 0.25 (geometric skips are then cheaper).
    pub fn new(n: u32, ln_no_fault: f64) -> Option<Self> {
        let q = -ln_no_fault.exp_m1();
        if q.is_nan() || q <= 0.0 || q > DAYS_TABLE_MAX_Q || f64::from(n) * q > DAYS_TABLE_MAX_MEAN
        {
            return None;
        }
        // P(D = 0) = (1 − q)ⁿ (at least e⁻¹¹ here), then P(D = k + 1) = P(D = k)·(n − k)/(k + 1)
        // ·q/(1 − q), summed past the mean until a term is below 1e-17 of the sum (the rest of
        // the tail is smaller still).
        let ratio = q / (1.0 - q);
        let mut term = (f64::from(n) * ln_no_fault).exp();
        let mut acc = term;
        let mut cdf = vec![acc];
        for k in 0..n {
            term *= f64::from(n - k) / f64::from(k + 1) * ratio;
            acc += term;
            cdf.push(acc.min(1.0));
            if f64::from(k + 1) > f64::from(n) * q && term <= 1e-17 * acc {
                break;
            }
        }
        *cdf.last_mut().expect("not empty") = 1.0;
        Some(DaysTable { n, cdf })
    }

    /// P(D ≤ k) as tabulated (1 beyond the table).
    pub fn cdf(&self, k: usize) -> f64 {
        self.cdf.get(k).copied().unwrap_or(1.0)
    }

    /// Draws D by inversion (from 0 up: most of the mass is there).
    #[inline]
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        invert_cdf(rng, &self.cdf)
    }

    /// Draws which periods (0..n) have a fault, ascending, and calls `f` with each.
    #[inline]
    fn for_each_day<R: Rng + ?Sized>(&self, rng: &mut R, mut f: impl FnMut(&mut R, u32)) {
        let d = self.draw(rng);
        if d == 0 {
            return;
        }
        let mut small = [0u32; 32];
        let mut large = Vec::new();
        let chosen: &mut [u32] = if d <= small.len() {
            &mut small[..d]
        } else {
            // Beyond 32 fault periods (probability below 1e-9 at a mean of at most 8).
            large.resize(d, 0);
            &mut large
        };
        // Distinct periods by rejection (D ≤ n/4 is likely, so few draws are rejected).
        for i in 0..d {
            chosen[i] = loop {
                let k = rng.random_range(0..self.n);
                if !chosen[..i].contains(&k) {
                    break k;
                }
            };
        }
        chosen.sort_unstable();
        for &k in chosen.iter() {
            f(rng, k);
        }
    }
}

/// ln Φ(x), accurate in both tails (Φ by erfc below 0, 1 − Φ(−x) in ln_1p above).
fn ln_norm_cdf(x: f64) -> f64 {
    if x < 0.0 {
        norm_cdf(x).ln()
    } else {
        (-norm_cdf(-x)).ln_1p()
    }
}

/// A copula's factor periods: `n_periods = ⌈horizon / period⌉` periods of `period_days`, the
/// last one ending at the horizon — shorter (`last_days`) when the period does not divide
/// the horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Periods {
    /// Length of a period, days.
    pub period_days: f64,
    /// Number of periods over the horizon (the number of factor draws of a path).
    pub n_periods: u32,
    /// Length of the last period, days: `period_days` when the period divides the horizon
    /// (within [`PERIOD_TOLERANCE`]), else `horizon − (n_periods − 1)·period_days`.
    pub last_days: f64,
    /// The horizon, days: the end of the last period.
    pub horizon_days: f64,
}

impl Periods {
    /// The periods of `period_days` (in (0, horizon]) over `horizon_days`.
    pub fn new(horizon_days: f64, period_days: f64) -> Self {
        let ratio = horizon_days / period_days;
        let whole = ratio.round().max(1.0);
        let (n, last_days) =
            if (whole * period_days - horizon_days).abs() <= PERIOD_TOLERANCE * horizon_days {
                (whole, period_days)
            } else {
                let n = ratio.ceil();
                (n, horizon_days - (n - 1.0) * period_days)
            };
        Periods {
            period_days,
            n_periods: n as u32,
            last_days,
            horizon_days,
        }
    }

    /// Whether the last period is shorter than the others.
    pub fn last_is_partial(&self) -> bool {
        self.last_days < self.period_days
    }

    /// When the faults of period `k` happen: at its end, `(k + 1)·period_days`, and the last
    /// period's at the horizon.
    #[inline]
    pub fn end_days(&self, k: u32) -> f64 {
        if k + 1 >= self.n_periods {
            self.horizon_days
        } else {
            f64::from(k + 1) * self.period_days
        }
    }
}

/// Standard normal CDF.
#[inline]
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The grid of [`norm_cdf_bound`]: t = `PHI_GRID_LO` + j/`PHI_GRID_STEPS`, j = 0, 1, …, up
/// to 0.
const PHI_GRID_LO: f64 = -37.0;
const PHI_GRID_STEPS: f64 = 64.0;

/// An upper bound of [`norm_cdf`]`(t)` for t in [−37, 0] (None elsewhere): its value at the
/// grid point at or above t, times 1 + 10⁻¹², from a table made once. Φ rises, and the bound's
/// margin is a thousand times the computed Φ's relative error, so it bounds the *computed*
/// value too. Cheap: a multiplication, a truncation and a load.
#[inline]
fn norm_cdf_bound(t: f64) -> Option<f64> {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    if !(PHI_GRID_LO..=0.0).contains(&t) {
        return None;
    }
    let table = TABLE.get_or_init(|| {
        let n = (-PHI_GRID_LO * PHI_GRID_STEPS) as usize;
        (0..=n)
            .map(|j| norm_cdf(PHI_GRID_LO + j as f64 / PHI_GRID_STEPS) * (1.0 + 1e-12))
            .collect()
    });
    // The grid point at or above t: the ceiling of its (exact, non-negative) offset in steps.
    let offset = (t - PHI_GRID_LO) * PHI_GRID_STEPS;
    let mut j = offset as usize;
    if (j as f64) < offset {
        j += 1;
    }
    table.get(j).copied()
}

/// Standard normal quantile.
#[inline]
pub fn norm_inv(q: f64) -> f64 {
    -std::f64::consts::SQRT_2 * erfc_inv(2.0 * q)
}

/// Smallest probability handed to statrs' Student-t quantile: below it, its inverse
/// incomplete beta (AS 64, started from a guess clamped to [1e-4, 0.9999]) can stop far from
/// the root or panic.
const T_QUANTILE_STATRS_MIN: f64 = 1e-15;

/// Student-t quantile F⁻¹(p) of `t` (ν ≥ 1). statrs' `inverse_cdf` where it is accurate —
/// its result is kept when F of it is within 1e-6 (relative) of p, so these values are
/// statrs' own bits — else, in the far lower tail, the root of F(x) = p: from the tail's
/// leading term where that is exact to 1e-12, by bisection in ln|x| on statrs' CDF above it.
/// Finite for every p > 0 when ν ≥ 1 (|x| ≤ 1/(π·p), capped at the largest float).
pub fn t_quantile(t: &StudentsT, p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    // ν = 1, 2 and 4 have closed forms (Hill 1970; Shaw 2006, "Sampling Student's T
    // distribution"): a few elementary functions instead of statrs' iterative inverse of the
    // incomplete beta function, accurate to rounding in both tails.
    match t.freedom() {
        1.0 => {
            // tan(π(p − ½)) = −1/tan(πp), written so that a tiny p loses nothing.
            let tail = -1.0 / (std::f64::consts::PI * p.min(1.0 - p)).tan();
            return if p < 0.5 { tail } else { -tail };
        }
        2.0 => return (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt(),
        4.0 => {
            let a = 4.0 * p * (1.0 - p);
            let q = ((a.sqrt()).acos() / 3.0).cos() / a.sqrt();
            return (2.0 * (q - 1.0).max(0.0).sqrt()).copysign(p - 0.5);
        }
        _ => {}
    }
    if p >= T_QUANTILE_STATRS_MIN {
        let x = t.inverse_cdf(p);
        if p >= 0.5 || (t.cdf(x) / p - 1.0).abs() <= 1e-6 {
            return x;
        }
    }
    // F(x) = ½·I_z(a, ½) with z = ν/(ν + x²), a = ν/2; as z → 0, I_z(a, ½) = z^a/(a·B(a, ½))
    // · (1 + O(z)). In logarithms, so that neither z nor x leaves the floats.
    let nu = t.freedom();
    let a = 0.5 * nu;
    let ln_z = ((2.0 * p).ln() + a.ln() + statrs::function::beta::ln_beta(a, 0.5)) / a;
    if ln_z < -27.6 {
        // z < 1e-12: the leading term's relative error, about z/2, is below 1e-12.
        let ln_x = 0.5 * (nu.ln() - ln_z + (-ln_z.exp()).ln_1p());
        return -ln_x.exp().min(f64::MAX);
    }
    // Here |x| < √(ν·1e12) ≤ 3.2e7: statrs' CDF is exact there. F(−e^s) decreases in s:
    // bracket the root in s ∈ [lo, hi] and halve.
    let (mut lo, mut hi) = (-700.0_f64, 40.0_f64);
    for _ in 0..90 {
        let mid = 0.5 * (lo + hi);
        if t.cdf(-mid.exp()) > p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    -(0.5 * (lo + hi)).exp()
}

/// Number of failures before the first success of Bernoulli trials whose failure
/// probability has logarithm `ln_fail` (`ln(1 − p)`); `u64::MAX` when p = 0.
#[inline]
pub fn geometric_skip<R: Rng + ?Sized>(rng: &mut R, ln_fail: f64) -> u64 {
    if ln_fail == 0.0 {
        return u64::MAX;
    }
    if ln_fail == f64::NEG_INFINITY {
        return 0;
    }
    // 1 − U lies in (0, 1], so the logarithm is finite.
    let u: f64 = 1.0 - rng.random::<f64>();
    // k ≥ 0: the truncating cast is the floor (saturating at u64::MAX), without a libm call.
    (u.ln() / ln_fail) as u64
}

#[derive(Debug, Clone)]
enum Family {
    Gaussian,
    StudentT {
        nu: f64,
        t: StudentsT,
        chi2: ChiSquared<f64>,
    },
}

/// The marginal law of one period: fault probability p of a pair, its threshold F⁻¹(p), and
/// ln(1 − min(n·p, 1)), the union sampler's probability of no candidate.
#[derive(Debug, Clone, Copy)]
struct Marginal {
    p: f64,
    threshold: f64,
    ln_no_candidate: f64,
}

impl Marginal {
    fn new(family: &Family, p: f64, members: usize) -> Self {
        let threshold = match family {
            _ if p <= 0.0 => f64::NEG_INFINITY,
            _ if p >= 1.0 => f64::INFINITY,
            Family::Gaussian => norm_inv(p),
            Family::StudentT { t, .. } => t_quantile(t, p),
        };
        Marginal {
            p,
            threshold,
            ln_no_candidate: (-(members as f64 * p).min(1.0)).ln_1p(),
        }
    }
}

/// A compiled factor copula.
#[derive(Debug, Clone)]
pub struct CopulaModel {
    /// Source index for loss attribution.
    pub source: u32,
    /// The factor periods over the horizon.
    pub periods: Periods,
    /// Marginal fault probability per pair per (full) period.
    pub p_period: f64,
    /// Marginal fault probability per pair in the last period (`p_period` unless it is
    /// shorter).
    pub p_last_period: f64,
    /// Severity of one fault.
    pub severity: SeverityDist,
    method: Method,
    family: Family,
    /// The law of a full period, and of the last one.
    full: Marginal,
    last: Marginal,
    a: f64,
    b: f64,
    e: f64,
    /// Group `g` holds members `members[offsets[g]..offsets[g + 1]]` (pair indices).
    offsets: Vec<u32>,
    members: Vec<u32>,
    /// Group of each member.
    member_group: Vec<u32>,
    /// The fault-count laws of a full period and of the last one, when the pairs are
    /// exchangeable (see [`Method::Table`]).
    tables: Option<Box<(CountTable, CountTable)>>,
    /// With the tables: which periods of each run (see [`CopulaModel::runs`]) have a fault,
    /// when drawn by their number ([`DaysTable::new`]).
    days: [Option<DaysTable>; 2],
}

impl CopulaModel {
    /// Compiles a validated copula over `groups` of pair indices, drawn over `periods` with
    /// marginal probability `p_period` per full period and `p_last_period` in the last one
    /// (equal unless the last period is shorter).
    pub fn new(
        source: u32,
        spec: &Copula,
        periods: Periods,
        p_period: f64,
        p_last_period: f64,
        groups: Vec<Vec<u32>>,
    ) -> Self {
        let family = match spec.family {
            CopulaFamily::Gaussian => Family::Gaussian,
            CopulaFamily::StudentT => {
                let nu = spec.dof.expect("validated: dof given for student_t");
                Family::StudentT {
                    nu,
                    t: StudentsT::new(0.0, 1.0, nu).expect("validated dof"),
                    chi2: ChiSquared::new(nu).expect("validated dof"),
                }
            }
        };
        let a = spec.global_correlation.sqrt();
        let b = spec.group_correlation.sqrt();
        let e = (1.0 - spec.global_correlation - spec.group_correlation)
            .max(0.0)
            .sqrt();
        let mut offsets = vec![0u32];
        let mut members = Vec::new();
        let mut member_group = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            members.extend_from_slice(group);
            member_group.extend(std::iter::repeat_n(g as u32, group.len()));
            offsets.push(members.len() as u32);
        }
        let mass = members.len() as f64 * p_period;
        // Exchangeable: Gaussian, one common factor (group factors only with a single group,
        // where they are common too), marginals strictly inside (0, 1).
        let loading = if groups.len() <= 1 {
            (spec.global_correlation + spec.group_correlation).sqrt()
        } else {
            a
        };
        let exchangeable = matches!(family, Family::Gaussian)
            && (groups.len() <= 1 || b == 0.0)
            && e > 0.0
            && (1..=TABLE_MAX_PAIRS).contains(&members.len())
            && [p_period, p_last_period]
                .iter()
                .all(|&p| p > 0.0 && p < 1.0);
        let tables = exchangeable.then(|| {
            let n = members.len();
            let full = CountTable::new(n, p_period, loading, e);
            let last = if p_last_period == p_period {
                full.clone()
            } else {
                CountTable::new(n, p_last_period, loading, e)
            };
            Box::new((full, last))
        });
        let method = if tables.is_some() {
            Method::Table
        } else if mass <= UNION_MAX_MASS {
            Method::Union
        } else {
            Method::Direct
        };
        let full = Marginal::new(&family, p_period, members.len());
        let last = Marginal::new(&family, p_last_period, members.len());
        let days = match tables.as_deref() {
            Some((t_full, t_last)) => {
                let n = periods.n_periods;
                let (n_full, n_last) = if periods.last_is_partial() {
                    (n - 1, 1)
                } else {
                    (n, 0)
                };
                [
                    DaysTable::new(n_full, t_full.ln_no_fault),
                    DaysTable::new(n_last, t_last.ln_no_fault),
                ]
            }
            None => [None, None],
        };
        CopulaModel {
            source,
            periods,
            p_period,
            p_last_period,
            severity: spec.severity.sampler(),
            method,
            family,
            full,
            last,
            a,
            b,
            e,
            offsets,
            members,
            member_group,
            tables,
            days,
        }
    }

    /// The sampler in use.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Forces a sampler (all are exact; tests compare them). Union needs n·p ≤ 1, Table
    /// exchangeable pairs.
    pub fn with_method(mut self, method: Method) -> Self {
        assert!(
            method != Method::Union || self.members.len() as f64 * self.p_period <= 1.0,
            "union sampler needs n·p ≤ 1"
        );
        assert!(
            method != Method::Table || self.tables.is_some(),
            "the table sampler needs exchangeable pairs"
        );
        self.method = method;
        self
    }

    /// The fault-count law of a full period, when the pairs are exchangeable.
    pub fn count_table(&self) -> Option<&CountTable> {
        self.tables.as_deref().map(|t| &t.0)
    }

    /// The law of which full periods have a fault, when the table sampler draws it by their
    /// number ([`DaysTable`]).
    pub fn days_table(&self) -> Option<&DaysTable> {
        self.days[0].as_ref()
    }

    /// Number of pairs in the copula.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the copula covers no pair.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The runs of periods with one marginal law: the full periods, then a shortened last
    /// period if there is one, as (first period, number of periods ≥ 1, law). A copula
    /// whose periods divide the horizon has one run, and draws exactly as a loop over its
    /// periods would.
    fn runs(&self) -> impl Iterator<Item = (u32, u32, &Marginal)> {
        let n = self.periods.n_periods;
        let runs = if self.periods.last_is_partial() {
            [(0, n - 1, &self.full), (n - 1, 1, &self.last)]
        } else {
            [(0, n, &self.full), (n, 0, &self.last)]
        };
        runs.into_iter().filter(|r| r.1 > 0)
    }

    /// Samples every fault over the copula's periods, calling `emit(period, pair)` in period
    /// order (a fault of period k happens at [`Periods::end_days`]`(k)`). `scratch` is reused
    /// between calls to avoid allocation.
    pub fn sample_faults<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        scratch: &mut Vec<u32>,
        emit: &mut impl FnMut(u32, u32),
    ) {
        if self.members.is_empty() || self.p_period <= 0.0 {
            return;
        }
        for (first, count, law) in self.runs() {
            match self.method {
                Method::Table => {
                    let tables = self.tables.as_deref().expect("Table has its tables");
                    let is_last = std::ptr::eq(law, &self.last);
                    let table = if is_last { &tables.1 } else { &tables.0 };
                    if let Some(days) = &self.days[usize::from(is_last)] {
                        debug_assert_eq!(days.n, count);
                        days.for_each_day(rng, |rng, k| {
                            let faults = table.draw_count(rng);
                            self.distinct_members(rng, faults, scratch);
                            for &pair in scratch.iter() {
                                emit(first + k, pair);
                            }
                        });
                        continue;
                    }
                    let mut k: u64 = 0;
                    loop {
                        k = k.saturating_add(geometric_skip(rng, table.ln_no_fault));
                        if k >= u64::from(count) {
                            break;
                        }
                        let faults = table.draw_count(rng);
                        self.distinct_members(rng, faults, scratch);
                        for &pair in scratch.iter() {
                            emit(first + k as u32, pair);
                        }
                        k += 1;
                    }
                }
                Method::Direct => {
                    for period in first..first + count {
                        let (z, scale) = self.common(rng);
                        scratch.clear();
                        let complete = self.faults_given(rng, law, z, scale, None, scratch);
                        debug_assert!(complete, "no chosen pair, no rejection");
                        for &pair in scratch.iter() {
                            emit(period, pair);
                        }
                    }
                }
                Method::Union => {
                    let mut k: u64 = 0;
                    loop {
                        let skip = geometric_skip(rng, law.ln_no_candidate);
                        k = k.saturating_add(skip);
                        if k >= u64::from(count) {
                            break;
                        }
                        if self.union_candidate(rng, law, scratch) {
                            for &pair in scratch.iter() {
                                emit(first + k as u32, pair);
                            }
                        }
                        k += 1;
                    }
                }
            }
        }
    }

    /// Samples every fault like [`CopulaModel::sample_faults`] with the direct sampler, but
    /// with every period's global factor drawn from N(−`shift`, 1) instead of N(0, 1)
    /// (importance sampling: `shift` > 0 makes faults more likely). Returns
    /// S = Σₖ (−Zₖ) over the `n_periods` periods; the path's likelihood ratio is then
    /// exp(−shift·S + n_periods·shift²/2).
    pub fn sample_faults_shifted<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        shift: f64,
        scratch: &mut Vec<u32>,
        emit: &mut impl FnMut(u32, u32),
    ) -> f64 {
        let mut sum_neg_z = 0.0;
        if self.members.is_empty() || self.p_period <= 0.0 {
            return sum_neg_z;
        }
        for (first, count, law) in self.runs() {
            for period in first..first + count {
                let (z0, scale) = self.common(rng);
                let z = z0 - shift;
                sum_neg_z -= z;
                scratch.clear();
                let complete = self.faults_given(rng, law, z, scale, None, scratch);
                debug_assert!(complete, "no chosen pair, no rejection");
                for &pair in scratch.iter() {
                    emit(period, pair);
                }
            }
        }
        sum_neg_z
    }

    /// Fills `out` with `k` distinct members drawn uniformly (`k` ≤ n): by rejection while
    /// few, else by a partial Fisher–Yates shuffle.
    fn distinct_members<R: Rng + ?Sized>(&self, rng: &mut R, k: usize, out: &mut Vec<u32>) {
        out.clear();
        let n = self.members.len();
        if k <= 16 && 4 * k <= n {
            while out.len() < k {
                let i = rng.random_range(0..n) as u32;
                if !out.contains(&i) {
                    out.push(i);
                }
            }
        } else {
            out.extend(0..n as u32);
            for i in 0..k {
                let j = rng.random_range(i..n);
                out.swap(i, j);
            }
            out.truncate(k);
        }
        for m in out.iter_mut() {
            *m = self.members[*m as usize];
        }
    }

    /// Draws the global factor and the scale S of the common variables.
    fn common<R: Rng + ?Sized>(&self, rng: &mut R) -> (f64, f64) {
        let z: f64 = StandardNormal.sample(rng);
        let scale = match &self.family {
            Family::Gaussian => 1.0,
            Family::StudentT { nu, chi2, .. } => (chi2.sample(rng) / nu).sqrt(),
        };
        (z, scale)
    }

    /// Conditional fault probability, with threshold `threshold`, of a pair whose group
    /// factor is `y`.
    #[inline]
    fn conditional(&self, threshold: f64, z: f64, y: f64, scale: f64) -> f64 {
        let x = threshold * scale - self.a * z - self.b * y;
        if self.e > 0.0 {
            norm_cdf(x / self.e)
        } else if x > 0.0 {
            1.0
        } else {
            0.0
        }
    }

    /// Pushes the faulting pairs given Z and S onto `out`, under the period law `law`, group
    /// by group and in member order within each. Group `fixed.0` uses factor `fixed.1` and
    /// skips member index `fixed.2` (the union sampler's chosen pair, known to fault); then
    /// the pairs are drawn only as long as none before the chosen one (in member order)
    /// faults: at the first that does, it returns false, the faults incomplete (the union
    /// sampler rejects the candidate). Returns true otherwise.
    fn faults_given<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        law: &Marginal,
        z: f64,
        scale: f64,
        fixed: Option<(u32, f64, usize)>,
        out: &mut Vec<u32>,
    ) -> bool {
        // Members before this one may not fault (the chosen pair's index; 0 without one).
        let first_allowed = fixed.map_or(0, |f| f.2);
        for g in 0..self.offsets.len() - 1 {
            let (y, skip_member) = match fixed {
                Some((fg, fy, fm)) if fg as usize == g => (fy, Some(fm)),
                _ if self.b > 0.0 => (StandardNormal.sample(rng), None),
                _ => (0.0, None),
            };
            let (lo, hi) = (self.offsets[g] as usize, self.offsets[g + 1] as usize);
            // The group's first geometric skip, when its uniform is drawn ahead: most groups
            // have no fault, and a cheap bound on p tells so from the uniform alone.
            let mut first = None;
            if self.e > 0.0 {
                let t = (law.threshold * scale - self.a * z - self.b * y) / self.e;
                if let Some(p_max) = norm_cdf_bound(t) {
                    // Φ(t) > 0 on the bound's grid, so the skip below draws this uniform too.
                    let u = 1.0 - rng.random::<f64>();
                    // No fault in the n pairs iff the skip ln(u)/ln(1 − p) ≥ n, which holds
                    // when u ≤ (1 − p)^(n(1 + 10⁻⁹)) — so, by Bernoulli's inequality, when
                    // u ≤ 1 − n(1 + 10⁻⁹)·p — with margins (10⁻⁹ relative, two ulps of 1
                    // absolute) beyond the roundings of the skip's logarithms and quotient.
                    let n = (hi - lo) as f64;
                    if u < 1.0 - n * p_max * (1.0 + 1e-9) - 2.3e-16 {
                        continue;
                    }
                    first = Some(u);
                }
            }
            let p = self.conditional(law.threshold, z, y, scale);
            if p <= 0.0 {
                continue;
            }
            let ln_fail = (-p).ln_1p();
            let mut k = lo as u64;
            loop {
                let skip = match first.take() {
                    // geometric_skip's arithmetic, on the uniform drawn above (p > 0 and < 1
                    // here, so ln_fail is finite and not 0).
                    Some(u) => (u.ln() / ln_fail) as u64,
                    None => geometric_skip(rng, ln_fail),
                };
                k = k.saturating_add(skip);
                if k >= hi as u64 {
                    break;
                }
                if (k as usize) < first_allowed {
                    return false;
                }
                if Some(k as usize) != skip_member {
                    out.push(self.members[k as usize]);
                }
                k += 1;
            }
        }
        true
    }

    /// One union-sampler candidate under the period law `law`: fills `out` with the period's
    /// faults and returns whether the candidate is accepted.
    fn union_candidate<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        law: &Marginal,
        out: &mut Vec<u32>,
    ) -> bool {
        out.clear();
        let m = rng.random_range(0..self.members.len());
        let u = 1.0 - rng.random::<f64>();
        // The chosen pair's latent conditional on faulting, then the scale given it.
        let (g_latent, scale) = match &self.family {
            Family::Gaussian => (norm_inv(u * law.p), 1.0),
            Family::StudentT { nu, t, .. } => {
                let x = t_quantile(t, u * law.p);
                // W | X = x ~ Gamma(shape (ν+1)/2, scale 2/(1 + x²/ν)).
                let gamma_scale = 2.0 / (1.0 + x * x / nu);
                if gamma_scale >= f64::MIN_POSITIVE {
                    let w = Gamma::new(0.5 * (nu + 1.0), gamma_scale)
                        .expect("positive parameters")
                        .sample(rng);
                    let scale = (w / nu).sqrt();
                    (x * scale, scale)
                } else {
                    // x²/ν beyond the floats (a latent in the far tail of a tiny probability):
                    // with W = gamma_scale·G, G ~ Gamma((ν+1)/2, 1), S = √(W/ν) → 0 while
                    // X·S = −√(2G)·|x|/√(ν + x²) → −√(2G).
                    let g = Gamma::new(0.5 * (nu + 1.0), 1.0)
                        .expect("positive shape")
                        .sample(rng);
                    let r = x.abs() / nu.sqrt();
                    let scale = (2.0 * g / nu).sqrt() / r;
                    (-(2.0 * g).sqrt(), scale)
                }
            }
        };
        // (Z, Y, ε) ~ N(0, I) conditioned on a·Z + b·Y + e·ε = g: project onto the plane.
        let xi: [f64; 3] = [
            StandardNormal.sample(rng),
            StandardNormal.sample(rng),
            StandardNormal.sample(rng),
        ];
        let d = g_latent - (self.a * xi[0] + self.b * xi[1] + self.e * xi[2]);
        let z = xi[0] + self.a * d;
        let y = xi[1] + self.b * d;
        out.push(self.members[m]);
        // Accepted when the chosen pair is the first of the faults in member order, which
        // has probability 1/|faults| given them: found without drawing the faults of a
        // candidate that another pair before it rejects.
        self.faults_given(rng, law, z, scale, Some((self.member_group[m], y, m)), out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bound of Φ is above the computed Φ on and between its grid points and absent
    /// outside [−37, 0]; and where `faults_given` decides from it that a group of n pairs has
    /// no fault, the geometric skip it stands for is indeed ≥ n — at uniforms just below the
    /// decision's threshold, where a margin too thin would show.
    #[test]
    fn the_normal_cdf_bound_and_the_no_fault_shortcut_are_sound() {
        use rand::SeedableRng;
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(37);
        assert_eq!(norm_cdf_bound(-37.01), None);
        assert_eq!(norm_cdf_bound(1e-300), None);
        assert_eq!(norm_cdf_bound(f64::NAN), None);
        let grid = (0..=(37 * 64)).map(|j| -37.0 + j as f64 / 64.0);
        let random = (0..200_000).map(|_| -37.0 * rng.random::<f64>().powi(3));
        let ts: Vec<f64> = grid.clone().chain(random).collect();
        for &t in &ts {
            let (p, bound) = (norm_cdf(t), norm_cdf_bound(t).expect("in range"));
            assert!(p > 0.0 && bound >= p, "t = {t}: Φ = {p:e}, bound {bound:e}");
            // Tight: at most the next grid point's Φ (with its margin).
            assert!(bound <= norm_cdf(t + 1.0 / 64.0) * (1.0 + 2e-12), "t = {t}");
        }
        let mut decided = 0;
        for &t in ts.iter().step_by(7) {
            let bound = norm_cdf_bound(t).expect("in range");
            let p = norm_cdf(t);
            let ln_fail = (-p).ln_1p();
            for n in [1usize, 3, 8, 20, 1000] {
                let threshold = 1.0 - n as f64 * bound * (1.0 + 1e-9) - 2.3e-16;
                // The largest uniforms the shortcut accepts, and a few random ones below.
                let mut u = threshold;
                for _ in 0..4 {
                    u = f64::from_bits(u.to_bits() - 1);
                    if u <= 0.0 {
                        break;
                    }
                    assert!(
                        (u.ln() / ln_fail) as u64 >= n as u64,
                        "t = {t}, n = {n}, u = {u}"
                    );
                    decided += 1;
                }
                let v = threshold * rng.random::<f64>();
                if v > 0.0 {
                    assert!(
                        (v.ln() / ln_fail) as u64 >= n as u64,
                        "t = {t}, n = {n}, u = {v}"
                    );
                }
            }
        }
        assert!(decided > 100_000);
    }

    /// The fault-period count's table is the Binomial(n, q) law: its CDF equals exact rational
    /// sums (Python's `fractions`, on the binary values of q, rounded once) to 5e-15 (the
    /// recurrence's rounding over up to 16 terms), and statrs' CDF (a regularized incomplete beta
    /// function, the less accurate of the two: up to 2.4e-13 off those exact sums here) to
    /// 1e-12 over the whole support. Beyond its use (n·q > 8 or q > 0.25) there is no table.
    #[test]
    fn the_days_table_is_the_binomial_law() {
        use statrs::distribution::{Binomial, DiscreteCDF};
        type Case<'a> = (u32, f64, &'a [(usize, f64)]);
        let exact: [Case; 3] = [
            (
                365,
                0.0071,
                &[
                    (0, 0.07421836861073446),
                    (1, 0.2679306279064524),
                    (2, 0.5200355543461006),
                    (4, 0.8793306599509869),
                    (8, 0.9986170909626296),
                ],
            ),
            (
                1000,
                0.008,
                &[
                    (0, 0.0003248419838967789),
                    (3, 0.0418080348321834),
                    (8, 0.5925480918997656),
                    (15, 0.9920203631371747),
                ],
            ),
            (
                30,
                0.25,
                &[
                    (0, 0.00017858209017001473),
                    (5, 0.20259807422213783),
                    (10, 0.8942718773073399),
                    (15, 0.9991810108553227),
                ],
            ),
        ];
        for (n, q, values) in exact {
            let t = DaysTable::new(n, (-q).ln_1p()).expect("within the table's range");
            for &(k, want) in values {
                let got = t.cdf(k);
                assert!(
                    (got - want).abs() <= 5e-15,
                    "n {n} q {q} k {k}: {got} vs {want}"
                );
            }
        }
        for (n, q) in [
            (365u32, 0.0071f64),
            (1, 0.02),
            (30, 0.25),
            (1000, 0.008),
            (7, 1e-9),
        ] {
            let t = DaysTable::new(n, (-q).ln_1p()).expect("within the table's range");
            let b = Binomial::new(q, u64::from(n)).unwrap();
            for k in 0..=(n as usize).min(t.cdf.len() + 5) {
                let (got, want) = (t.cdf(k), b.cdf(k as u64));
                assert!(
                    (got - want).abs() <= 1e-12,
                    "n {n} q {q} k {k}: {got} vs CDF {want}"
                );
            }
            assert_eq!(*t.cdf.last().unwrap(), 1.0);
        }
        assert!(
            DaysTable::new(365, (-0.03f64).ln_1p()).is_none(),
            "n·q = 11"
        );
        assert!(DaysTable::new(10, (-0.3f64).ln_1p()).is_none(), "q = 0.3");
        assert!(DaysTable::new(10, 0.0).is_none(), "q = 0");
    }

    /// The quantile inverts the CDF down to the smallest probabilities, where statrs' own
    /// inverse stops at a bracket or panics; closed forms for ν = 1 (Cauchy) and ν = 2.
    #[test]
    fn t_quantile_holds_in_the_far_tail() {
        let ps = [
            1e-300, 1e-200, 1e-100, 1e-40, 1e-31, 1e-20, 1e-15, 1e-12, 1e-9, 1e-6, 0.01, 0.3, 0.5,
            0.9,
        ];
        for nu in [1.0, 1.5, 2.0, 4.0, 30.0, 1000.0] {
            let t = StudentsT::new(0.0, 1.0, nu).unwrap();
            for p in ps {
                let x = t_quantile(&t, p);
                assert!(x.is_finite(), "ν = {nu}, p = {p:e}: {x}");
                if x.abs() < 1e100 {
                    let rel = (t.cdf(x) / p - 1.0).abs();
                    assert!(rel < 1e-6, "ν = {nu}, p = {p:e}: F({x:e}) = {:e}", t.cdf(x));
                } else {
                    // Beyond statrs' CDF (x² overflows): the tail's law F(x) ≈ C·|x|^−ν,
                    // C = Γ((ν+1)/2)·ν^(ν/2 − 1)/(√π·Γ(ν/2)).
                    use statrs::function::gamma::ln_gamma;
                    let ln_c = ln_gamma(0.5 * (nu + 1.0)) + (0.5 * nu - 1.0) * nu.ln()
                        - 0.5 * std::f64::consts::PI.ln()
                        - ln_gamma(0.5 * nu);
                    let err = (p.ln() - (ln_c - nu * x.abs().ln())).abs();
                    assert!(
                        err < 1e-9,
                        "ν = {nu}, p = {p:e}: x = {x:e}, ln error {err:e}"
                    );
                }
                let exact = if nu == 1.0 {
                    // tan(π(p − 1/2)) = −1/tan(πp), accurate for small p.
                    Some(-1.0 / (std::f64::consts::PI * p).tan())
                } else if nu == 2.0 {
                    Some((2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt())
                } else {
                    None
                };
                if let Some(e) = exact.filter(|e| e.abs() > 1.0) {
                    assert!(
                        (x / e - 1.0).abs() < 1e-14,
                        "ν = {nu}, p = {p:e}: {x:e} vs {e:e}"
                    );
                }
            }
        }
        let t = StudentsT::new(0.0, 1.0, 4.0).unwrap();
        assert_eq!(t_quantile(&t, 0.0), f64::NEG_INFINITY);
        assert_eq!(t_quantile(&t, 1.0), f64::INFINITY);
        // ν = 4's closed form agrees with statrs' inverse where that is accurate, and F of it
        // is p (statrs' CDF, accurate there).
        for p in [2.7e-5, 1e-3, 0.01, 0.2, 0.45, 0.5, 0.8, 0.999] {
            let x = t_quantile(&t, p);
            let s = t.inverse_cdf(p);
            assert!(
                (x - s).abs() <= 1e-12 * s.abs().max(1e-300),
                "p {p}: {x} vs {s}"
            );
            assert!(
                (t.cdf(x) / p - 1.0).abs() < 1e-12,
                "p {p}: F({x}) = {}",
                t.cdf(x)
            );
        }
        // Elsewhere, where statrs is accurate, its own bits.
        let t5 = StudentsT::new(0.0, 1.0, 5.0).unwrap();
        assert_eq!(t_quantile(&t5, 2.7e-5), t5.inverse_cdf(2.7e-5));
    }
}

//! Uncertain Poisson rates: a rate given as a distribution, drawn once per path, and named
//! rate factors (CreditRisk+ "sectors") multiplying the rates of several sources.
//!
//! In a scenario file a rate is either a bare number (events per year, fixed) or a table
//! tagged by `dist`:
//!
//! ```toml
//! rate_per_year = 0.02
//! rate_per_year = { dist = "gamma", mean = 0.02, cv = 1.0 }
//! rate_per_year = { dist = "lognormal", mean = 0.02, cv = 2.0 }
//! rate_per_year = { dist = "discrete", values = [0.01, 0.1], weights = [0.7, 0.3] }
//! ```
//!
//! A path draws every uncertain rate once, before its events; given the rates Λ (and the rate
//! factors S), a source's event count is Poisson(Λ·S·T). See `docs/model.md` §21.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Gamma, LogNormal};
use serde::Deserializer;
use serde::{Deserialize, Serialize};

use crate::severity::number_or_table;
use crate::spec::Scenario;
use crate::validate::Num;

/// Largest coefficient of variation of an uncertain rate, and largest standard deviation of
/// a rate factor (variance ≤ 100): beyond, nearly all the mass sits at 0 and the rest at
/// thousands of times the mean, which no prior means.
pub const MAX_RATE_CV: f64 = 10.0;

/// A Poisson rate as written in a scenario file: events per year.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Rate {
    /// A known rate (a bare number; serializes as one).
    Fixed(f64),
    /// A distribution of the rate, drawn once per path.
    Dist(RateDist),
}

impl Default for Rate {
    fn default() -> Self {
        Rate::Fixed(0.0)
    }
}

impl From<f64> for Rate {
    fn from(v: f64) -> Self {
        Rate::Fixed(v)
    }
}

/// The distribution of an uncertain rate, events per year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum RateDist {
    /// Gamma with this mean and coefficient of variation (shape 1/cv², scale mean·cv²).
    Gamma {
        /// Mean rate, events per year (> 0).
        mean: f64,
        /// Coefficient of variation σ/mean, in (0, 10].
        cv: f64,
    },
    /// Lognormal with this mean and coefficient of variation (σ² = ln(1 + cv²),
    /// μ = ln(mean) − σ²/2).
    Lognormal {
        /// Mean rate, events per year (> 0).
        mean: f64,
        /// Coefficient of variation σ/mean, in (0, 10].
        cv: f64,
    },
    /// Weighted values ("0.01 with weight 0.7, 0.1 with 0.3").
    Discrete {
        /// Rates, events per year, each ≥ 0.
        values: Vec<f64>,
        /// Non-negative weights, one per value, with a positive sum (normalised).
        weights: Vec<f64>,
    },
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        number_or_table(
            deserializer,
            "a number of events per year or a table with `dist` = \"gamma\", \"lognormal\" or \"discrete\"",
            Rate::Fixed,
            Rate::Dist,
        )
    }
}

impl Rate {
    /// Mean rate, events per year, exact (the fixed value itself).
    pub fn mean(&self) -> f64 {
        match self {
            Rate::Fixed(v) => *v,
            Rate::Dist(RateDist::Gamma { mean, .. } | RateDist::Lognormal { mean, .. }) => *mean,
            Rate::Dist(RateDist::Discrete { values, weights }) => {
                let total: f64 = weights.iter().sum();
                values.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / total
            }
        }
    }

    /// True for a distribution (drawn per path), false for a fixed number.
    pub fn is_uncertain(&self) -> bool {
        matches!(self, Rate::Dist(_))
    }

    /// Largest value the rate can take when that is finite (fixed, discrete); None for gamma
    /// and lognormal.
    pub fn max(&self) -> Option<f64> {
        match self {
            Rate::Fixed(v) => Some(*v),
            Rate::Dist(RateDist::Discrete { values, .. }) => {
                Some(values.iter().copied().fold(0.0, f64::max))
            }
            Rate::Dist(_) => None,
        }
    }

    /// Problems of a distribution's parameters as `(field, message)` pairs, the field
    /// relative to the rate (`""` for the whole value). A fixed rate is checked by the
    /// caller (finite, ≥ 0).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let Rate::Dist(d) = self else { return out };
        match d {
            RateDist::Gamma { mean, cv } | RateDist::Lognormal { mean, cv } => {
                if !(mean.is_finite() && *mean > 0.0) {
                    out.push((
                        "mean",
                        format!(
                            "must be a finite number of events per year > 0, got {}",
                            Num(*mean)
                        ),
                    ));
                }
                if !(cv.is_finite() && *cv > 0.0 && *cv <= MAX_RATE_CV) {
                    out.push((
                        "cv",
                        format!(
                            "must be in (0, {MAX_RATE_CV}] (σ/mean; a known rate is a bare number), got {}",
                            Num(*cv)
                        ),
                    ));
                }
            }
            RateDist::Discrete { values, weights } => {
                if values.is_empty() {
                    out.push(("values", "must not be empty".to_string()));
                }
                if values.len() != weights.len() {
                    out.push((
                        "weights",
                        format!(
                            "must have one weight per value ({} values, {} weights)",
                            values.len(),
                            weights.len()
                        ),
                    ));
                }
                if let Some(v) = values.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
                    out.push((
                        "values",
                        format!(
                            "every value must be a finite number of events per year ≥ 0, got {}",
                            Num(*v)
                        ),
                    ));
                }
                if let Some(w) = weights.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
                    out.push((
                        "weights",
                        format!("every weight must be a finite number ≥ 0, got {}", Num(*w)),
                    ));
                } else {
                    let sum: f64 = weights.iter().sum();
                    if !(sum > 0.0 && sum.is_finite()) {
                        out.push((
                            "weights",
                            format!("must have a positive, finite sum, got {}", Num(sum)),
                        ));
                    }
                }
            }
        }
        out
    }

    /// The per-path sampler of the rate, events per year. The rate must have passed
    /// [`Rate::problems`].
    pub fn sampler(&self) -> RateSampler {
        match self {
            Rate::Fixed(v) => RateSampler::Fixed(*v),
            Rate::Dist(RateDist::Gamma { mean, cv }) => {
                let shape = 1.0 / (cv * cv);
                RateSampler::Gamma(Gamma::new(shape, mean / shape).expect("validated gamma rate"))
            }
            Rate::Dist(RateDist::Lognormal { mean, cv }) => {
                let s2 = (cv * cv).ln_1p();
                RateSampler::LogNormal(
                    LogNormal::new(mean.ln() - s2 / 2.0, s2.sqrt()).expect("validated lognormal"),
                )
            }
            Rate::Dist(RateDist::Discrete { values, weights }) => {
                let total: f64 = weights.iter().sum();
                let mut acc = 0.0;
                let cumulative = weights
                    .iter()
                    .map(|w| {
                        acc += w / total;
                        acc
                    })
                    .collect();
                RateSampler::Discrete {
                    values: values.clone(),
                    cumulative,
                }
            }
        }
    }
}

/// A compiled rate: fixed, or drawn once per path.
#[derive(Debug, Clone)]
pub enum RateSampler {
    /// Always this rate (no draw).
    Fixed(f64),
    /// Gamma-distributed rate.
    Gamma(Gamma<f64>),
    /// Lognormal rate.
    LogNormal(LogNormal<f64>),
    /// Weighted values: the first value whose cumulative weight exceeds a uniform draw.
    Discrete {
        /// The rates.
        values: Vec<f64>,
        /// Cumulative normalised weights (last ≈ 1).
        cumulative: Vec<f64>,
    },
}

impl RateSampler {
    /// One draw of the rate (a fixed rate draws nothing from `rng`).
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            RateSampler::Fixed(v) => *v,
            RateSampler::Gamma(g) => g.sample(rng),
            RateSampler::LogNormal(l) => l.sample(rng),
            RateSampler::Discrete { values, cumulative } => {
                let u: f64 = rng.random();
                let i = cumulative
                    .partition_point(|c| *c <= u)
                    .min(values.len() - 1);
                values[i]
            }
        }
    }
}

/// `[[rate_factors]]`: a shared gamma multiplier, mean 1, on the rates of the sources that
/// name it in `rate_factor` (CreditRisk+'s sector variable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateFactor {
    /// Unique name among rate factors.
    pub name: String,
    /// Variance of the multiplier (σ², with mean 1), in (0, 100]: the squared coefficient of
    /// variation it adds to every rate loading on it.
    pub variance: f64,
}

/// The per-path draws of a model with uncertain rates or rate factors.
#[derive(Debug, Clone)]
pub struct RateDraws {
    /// One gamma multiplier per factor (shape 1/σ², scale σ²), in file order.
    pub factors: Vec<Gamma<f64>>,
    /// One slot per Poisson source, flat order: shocks, beacon incidents, exploits, AVS fault
    /// entries (the AVSs with fault rates and pairs, file order), rushes, lending supply
    /// shocks, market depeg shocks. A scheduled source has a fixed rate of 0.
    pub slots: Vec<RateSlot>,
    /// First slot of each group: [incidents, exploits, AVS entries, rushes, supply shocks,
    /// depeg shocks].
    pub first: [usize; 6],
}

/// One source's rate in [`RateDraws`].
#[derive(Debug, Clone)]
pub struct RateSlot {
    /// Its rate, events per year (for AVS entries: per allocation pair).
    pub rate: RateSampler,
    /// The factor it loads on.
    pub factor: Option<u32>,
    /// Mean events over the horizon per unit of rate: horizon in years (× pairs for an AVS).
    pub scale: f64,
}

impl RateDraws {
    /// Draws a path's factors into `factors` and its expected events over the horizon per
    /// slot into `means`: the factors in file order, then each uncertain slot's rate, in
    /// slot order. Nothing else is drawn, so a path's later draws start at the same place
    /// whatever it does with the means.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R, factors: &mut [f64], means: &mut [f64]) {
        for (f, g) in factors.iter_mut().zip(&self.factors) {
            *f = g.sample(rng);
        }
        for (m, slot) in means.iter_mut().zip(&self.slots) {
            let rate = slot.rate.sample(rng);
            let s = slot.factor.map_or(1.0, |f| factors[f as usize]);
            *m = rate * s * slot.scale;
        }
    }
}

/// Every Poisson rate of a scenario with the factor it names: shocks, beacon incidents,
/// exploits, AVS faults, rushes, lending supply shocks, market depeg shocks (see
/// [`rush_rates`], [`supply_shock_rates`] and [`depeg_rates`] for a sector's).
pub fn rates_of(s: &Scenario) -> Vec<(&Rate, Option<&str>)> {
    let mut out: Vec<(&Rate, Option<&str>)> = Vec::new();
    out.extend(
        s.shocks
            .iter()
            .map(|x| (&x.rate_per_year, x.rate_factor.as_deref())),
    );
    out.extend(
        s.beacon_incidents
            .iter()
            .map(|x| (&x.rate_per_year, x.rate_factor.as_deref())),
    );
    out.extend(
        s.exploits
            .iter()
            .map(|x| (&x.rate_per_year, x.rate_factor.as_deref())),
    );
    out.extend(
        s.avs
            .iter()
            .map(|x| (&x.fault_rate_per_year, x.fault_rate_factor.as_deref())),
    );
    out.extend(rush_rates(s));
    out.extend(supply_shock_rates(s));
    out.extend(depeg_rates(s));
    out
}

/// The rushes on the exit queue, in file order: the pool's (`[withdrawals.network]`) or a
/// sector's (`[sector.exit_queue]`; a sector has no pool's).
pub fn rush_rates(s: &Scenario) -> impl Iterator<Item = (&Rate, Option<&str>)> {
    let pool = s.withdrawals.as_ref().map(|w| &w.network);
    let sector = s.sector.as_ref().and_then(|x| x.exit_queue.as_ref());
    (pool.into_iter().chain(sector))
        .flat_map(|n| &n.rushes)
        .map(|x| (&x.rate_per_year, x.rate_factor.as_deref()))
}

/// The lending market's supply shocks, in file order: the pool's (`[lending.rates]`) or a
/// sector reserve's (`[sector.lending]`).
pub fn supply_shock_rates(s: &Scenario) -> impl Iterator<Item = (&Rate, Option<&str>)> {
    let pool = s.lending.as_ref().and_then(|l| l.rates.as_ref());
    let pool = pool.map(|r| r.supply_shocks.as_slice());
    let sector = s.sector.as_ref().and_then(|x| x.lending.as_ref());
    let sector = sector.map(|r| r.supply_shocks.as_slice());
    (pool.into_iter().chain(sector))
        .flatten()
        .map(|x| (&x.rate_per_year, x.rate_factor.as_deref()))
}

/// The markets' depeg shocks: the pool's (`[market]`), then each sector LRT's, in LRT and
/// file order.
pub fn depeg_rates(s: &Scenario) -> impl Iterator<Item = (&Rate, Option<&str>)> {
    let lrts = s.lrts.iter().filter_map(|l| l.market.as_ref());
    (s.market.iter().chain(lrts))
        .flat_map(|m| &m.shocks)
        .map(|x| (&x.rate_per_year, x.rate_factor.as_deref()))
}

/// The rate-factor names the scenario's sources load on.
pub fn factor_names_used(s: &Scenario) -> Vec<&str> {
    rates_of(s).into_iter().filter_map(|(_, f)| f).collect()
}

/// True when some rate is a distribution or some rate factor is defined: paths then draw
/// their rates first.
pub fn has_uncertain_rates(s: &Scenario) -> bool {
    !s.rate_factors.is_empty()
        || rates_of(s)
            .iter()
            .any(|(r, f)| r.is_uncertain() || f.is_some())
}

//! Severity distributions: the fraction of an allocation's current amount a hit slashes.
//!
//! In a scenario file a severity is either a bare number (fixed) or a table tagged by `dist`:
//!
//! ```toml
//! severity = 0.05
//! severity = { dist = "uniform", min = 0.01, max = 0.2 }
//! severity = { dist = "beta", mean = 0.1, sd = 0.05 }
//! severity = { dist = "empirical", values = [0.01, 0.1, 1.0], weights = [0.7, 0.25, 0.05] }
//! ```

use std::fmt;

use rand::{Rng, RngExt};
use rand_distr::{Beta, Distribution};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::validate::Num;

/// A severity as written in a scenario file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum Severity {
    /// Always the same fraction.
    Fixed {
        /// The fraction, in [0, 1].
        value: f64,
    },
    /// Uniform on [min, max] ⊆ [0, 1].
    Uniform {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// Beta distribution given by its mean and standard deviation (sd² < mean·(1 − mean)).
    Beta {
        /// Mean, in (0, 1).
        mean: f64,
        /// Standard deviation, > 0.
        sd: f64,
    },
    /// Discrete points with weights (normalised to sum to 1).
    Empirical {
        /// Fractions, each in [0, 1].
        values: Vec<f64>,
        /// Non-negative weights, one per value, with a positive sum.
        weights: Vec<f64>,
    },
}

/// Smallest standard deviation of a beta severity, as a share of its largest,
/// √(mean·(1 − mean)): keeps α + β below 1e18, where the beta is a fixed value anyway (and
/// beyond which sd² and the shapes leave the floating-point range).
pub const MIN_BETA_SD_SHARE: f64 = 1e-9;

/// The shapes (α, β) of the beta with this mean and standard deviation, by the method of
/// moments (α + β = m(1 − m)/sd² − 1), when both are positive finite floats.
fn beta_shapes(mean: f64, sd: f64) -> Option<(f64, f64)> {
    let k = mean * (1.0 - mean) / (sd * sd) - 1.0;
    let (a, b) = (mean * k, (1.0 - mean) * k);
    (a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()).then_some((a, b))
}

/// The tagged-table form, deserialized with unknown-field checks.
#[derive(Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
enum Tagged {
    Fixed { value: f64 },
    Uniform { min: f64, max: f64 },
    Beta { mean: f64, sd: f64 },
    Empirical { values: Vec<f64>, weights: Vec<f64> },
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        number_or_table(
            deserializer,
            "a number in [0, 1] or a table with `dist` = \"fixed\", \"uniform\", \"beta\" or \"empirical\"",
            |value| Severity::Fixed { value },
            |t: Tagged| match t {
                Tagged::Fixed { value } => Severity::Fixed { value },
                Tagged::Uniform { min, max } => Severity::Uniform { min, max },
                Tagged::Beta { mean, sd } => Severity::Beta { mean, sd },
                Tagged::Empirical { values, weights } => Severity::Empirical { values, weights },
            },
        )
    }
}

/// Deserializes a value written either as a number (`number` makes it) or as a table (read
/// as `Table`, then `table` makes it): the scenario format's "a number or a distribution".
/// `expecting` is what the error says was expected.
pub(crate) fn number_or_table<'de, D, T, Table>(
    deserializer: D,
    expecting: &'static str,
    number: fn(f64) -> T,
    table: fn(Table) -> T,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    Table: Deserialize<'de>,
{
    struct V<T, Table> {
        expecting: &'static str,
        number: fn(f64) -> T,
        table: fn(Table) -> T,
    }
    impl<'de, T, Table: Deserialize<'de>> Visitor<'de> for V<T, Table> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
            Ok((self.number)(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            Ok((self.number)(v as f64))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            Ok((self.number)(v as f64))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            Table::deserialize(de::value::MapAccessDeserializer::new(map)).map(self.table)
        }
    }
    deserializer.deserialize_any(V {
        expecting,
        number,
        table,
    })
}

impl Severity {
    /// Checks the parameters of a severity (a fraction in [0, 1]); returns `(field, message)`
    /// pairs for each problem, with the field relative to the severity itself (`""` for the
    /// whole value).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        self.problems_in(1.0)
    }

    /// Like [`Severity::problems`] for a distribution of values in [0, `max`] (e.g. a duration
    /// in days). The beta form is only for fractions (`max` = 1).
    pub fn problems_in(&self, max: f64) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let unit = |x: f64| x.is_finite() && (0.0..=max).contains(&x);
        if max != 1.0
            && let Severity::Beta { .. } = self
        {
            out.push((
                "dist",
                "the beta form is only for fractions; use fixed, uniform or empirical".to_string(),
            ));
            return out;
        }
        match self {
            Severity::Fixed { value } => {
                if !unit(*value) {
                    out.push(("", format!("must be in [0, {max}], got {}", Num(*value))));
                }
            }
            Severity::Uniform { min: lo, max: hi } => {
                if !unit(*lo) {
                    out.push(("min", format!("must be in [0, {max}], got {}", Num(*lo))));
                }
                if !unit(*hi) {
                    out.push(("max", format!("must be in [0, {max}], got {}", Num(*hi))));
                }
                if lo > hi {
                    out.push((
                        "max",
                        format!("must be ≥ min ({}), got {}", Num(*lo), Num(*hi)),
                    ));
                }
            }
            Severity::Beta { mean, sd } => {
                if !(*mean > 0.0 && *mean < 1.0) {
                    out.push(("mean", format!("must be in (0, 1), got {}", Num(*mean))));
                } else {
                    let max_sd = (mean * (1.0 - mean)).sqrt();
                    let min_sd = MIN_BETA_SD_SHARE * max_sd;
                    if !(*sd >= min_sd && *sd < max_sd) {
                        let why = if *sd > 0.0 && *sd < min_sd {
                            "; a narrower beta is a fixed severity: write the number"
                        } else {
                            ""
                        };
                        out.push((
                            "sd",
                            format!(
                                "must be in [{min_sd:.3e}, {max_sd:.6}) for mean {} (from 1e-9 of √(mean·(1 − mean)) up to it), got {}{why}", Num(*mean), Num(*sd)
                            ),
                        ));
                    } else if beta_shapes(*mean, *sd).is_none() {
                        out.push((
                            "sd",
                            format!(
                                "is too close to its largest value √(mean·(1 − mean)) = {max_sd} for the beta shapes to be positive floats, got {}", Num(*sd)
                            ),
                        ));
                    }
                }
            }
            Severity::Empirical { values, weights } => {
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
                if let Some(v) = values.iter().find(|v| !unit(**v)) {
                    out.push((
                        "values",
                        format!("every value must be in [0, {max}], got {}", Num(*v)),
                    ));
                }
                if let Some(w) = weights.iter().find(|w| !(**w >= 0.0 && w.is_finite())) {
                    out.push((
                        "weights",
                        format!("every weight must be a finite number ≥ 0, got {}", Num(*w)),
                    ));
                } else {
                    let sum = weights.iter().sum::<f64>();
                    if !(sum > 0.0 && sum.is_finite()) {
                        out.push((
                            "weights",
                            format!(
                                "must have a positive, finite sum (below 1.8e308), got {}",
                                Num(sum)
                            ),
                        ));
                    }
                }
            }
        }
        out
    }

    /// Mean severity, exact.
    pub fn mean(&self) -> f64 {
        match self {
            Severity::Fixed { value } => *value,
            Severity::Uniform { min, max } => 0.5 * (min + max),
            Severity::Beta { mean, .. } => *mean,
            Severity::Empirical { values, weights } => {
                let total: f64 = weights.iter().sum();
                values.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / total
            }
        }
    }

    /// Builds the sampler. The severity must have passed [`Severity::problems`].
    pub fn sampler(&self) -> SeverityDist {
        match self {
            Severity::Fixed { value } => SeverityDist::Fixed(*value),
            Severity::Uniform { min, max } => SeverityDist::Uniform {
                min: *min,
                width: max - min,
            },
            Severity::Beta { mean, sd } => {
                let (a, b) = beta_shapes(*mean, *sd).expect("validated beta parameters");
                SeverityDist::Beta(Beta::new(a, b).expect("validated beta parameters"))
            }
            Severity::Empirical { values, weights } => {
                let total: f64 = weights.iter().sum();
                let mut acc = 0.0;
                let cumulative = weights
                    .iter()
                    .map(|w| {
                        acc += w / total;
                        acc
                    })
                    .collect();
                SeverityDist::Empirical {
                    values: values.clone(),
                    cumulative,
                }
            }
        }
    }
}

/// A validated severity distribution, ready to sample. Immutable, so shareable across threads.
#[derive(Debug, Clone)]
pub enum SeverityDist {
    /// Always this fraction (draws no random number).
    Fixed(f64),
    /// `min + width · U`.
    Uniform {
        /// Lower bound.
        min: f64,
        /// `max − min`.
        width: f64,
    },
    /// A beta distribution.
    Beta(Beta<f64>),
    /// Inverse-CDF lookup over discrete points.
    Empirical {
        /// The fractions.
        values: Vec<f64>,
        /// Normalised cumulative weights; the last is 1 up to rounding.
        cumulative: Vec<f64>,
    },
}

impl SeverityDist {
    /// Draws one severity in [0, 1].
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            SeverityDist::Fixed(v) => *v,
            SeverityDist::Uniform { min, width } => min + width * rng.random::<f64>(),
            SeverityDist::Beta(b) => b.sample(rng),
            SeverityDist::Empirical { values, cumulative } => {
                let u: f64 = rng.random();
                let i = cumulative
                    .partition_point(|c| *c <= u)
                    .min(values.len() - 1);
                values[i]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;
    use statrs::distribution::{Beta as BetaLaw, ContinuousCDF};

    /// Kolmogorov–Smirnov test of the beta sampler against the beta CDF with the parameters
    /// the method of moments gives. Critical value at 0.1% for large n: 1.95/√n.
    #[test]
    fn beta_sampler_matches_beta_cdf() {
        let (mean, sd) = (0.15, 0.1);
        let sev = Severity::Beta { mean, sd };
        let k = mean * (1.0 - mean) / (sd * sd) - 1.0;
        let law = BetaLaw::new(mean * k, (1.0 - mean) * k).unwrap();
        let dist = sev.sampler();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let n = 50_000;
        let mut xs: Vec<f64> = (0..n).map(|_| dist.sample(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        let d = xs
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let f = law.cdf(*x);
                (f - i as f64 / n as f64)
                    .abs()
                    .max(((i + 1) as f64 / n as f64 - f).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 1.95 / (n as f64).sqrt(), "KS distance {d}");
        let m = xs.iter().sum::<f64>() / n as f64;
        assert!((m - sev.mean()).abs() < 4.0 * sd / (n as f64).sqrt());
    }

    #[test]
    fn empirical_sampler_frequencies() {
        let sev = Severity::Empirical {
            values: vec![0.1, 0.5, 1.0],
            weights: vec![6.0, 3.0, 1.0],
        };
        let dist = sev.sampler();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        let n = 100_000;
        let mut counts = [0usize; 3];
        for _ in 0..n {
            let v = dist.sample(&mut rng);
            counts[[0.1, 0.5, 1.0].iter().position(|x| *x == v).unwrap()] += 1;
        }
        for (c, p) in counts.iter().zip([0.6, 0.3, 0.1]) {
            let f = *c as f64 / n as f64;
            assert!(
                (f - p).abs() < 4.0 * (p * (1.0 - p) / n as f64).sqrt(),
                "{f} vs {p}"
            );
        }
        assert!((sev.mean() - 0.31).abs() < 1e-12);
    }
}

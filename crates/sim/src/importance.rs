//! Importance sampling: the tilts a run samples under, chosen by hand (`method = "manual"`)
//! or by the cross-entropy method (`method = "auto"`).
//!
//! # The cross-entropy method (Rubinstein & Kroese 2004; de Boer et al. 2005)
//!
//! The zero-variance sampling law for the tail event {L ≥ γ*} is P conditioned on it; the
//! method picks, within the family of tilts, the one closest to it in Kullback–Leibler
//! divergence. For Poisson counts and Gaussian factor means that optimum has a closed form:
//! the conditional expectation of each source's sufficient statistic given the tail event,
//!
//! * rate multiplier θₖ = E_P[Nₖ | L ≥ γ] / μₖ (Nₖ the source's event count, μₖ its mean),
//! * factor shift sᶜ = E_P[Σₖ(−Zₖ) | L ≥ γ] / n_periods (the copula's factor draws, one
//!   per factor period),
//!
//! estimated from pilot paths drawn under the current tilt, each weighted by its likelihood
//! ratio W = dP/dQ. Because {L ≥ γ*} is too rare for plain pilots, the threshold climbs in
//! levels: each iteration takes γ = min(VaR̂_α, the (1 − ρ) quantile of the pilot losses),
//! with ρ = 0.1 and VaR̂_α the weighted tail estimate of the target quantile, updates the
//! tilt on the paths with L ≥ γ (L > γ when γ is an atom), and stops once γ reached VaR̂_α.
//! Multipliers are kept in [1, [`MAX_AUTO_MULTIPLIER`]] and shifts in [0, [`MAX_AUTO_SHIFT`]].
//!
//! Pilot paths use their own random streams (keyed by the seed and the iteration), so the
//! chosen tilt — and with it the whole run — depends only on the scenario and the seed.

use lrtsim_scenario::Model;
use lrtsim_scenario::importance::{AutoTilt, MAX_AUTO_MULTIPLIER, MAX_AUTO_SHIFT, Tilt};
use rand::{Rng, SeedableRng};
use rand_xoshiro::SplitMix64;
use rayon::prelude::*;

use crate::kernel::PathKernel;
use crate::outputs::Layout;
use crate::runner::{chunk_count, chunk_paths};
use crate::stream::path_rng;

/// Share of the pilot paths that define an intermediate threshold.
pub const ELITE_SHARE: f64 = 0.1;

/// One cross-entropy iteration, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Iteration {
    /// Threshold γ used for the update.
    pub threshold: f64,
    /// Whether γ was the target quantile's estimate (the last iteration).
    pub reached_level: bool,
    /// Pilot paths at or above γ.
    pub elite_paths: u64,
    /// The tilt after the update.
    pub tilt: Tilt,
}

/// The tilt a run samples under, and how it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedTilt {
    /// The tilt.
    pub tilt: Tilt,
    /// `manual`, or `auto (cross-entropy …)` naming the target and the iterations.
    pub method: String,
    /// The cross-entropy iterations (empty for `manual`).
    pub iterations: Vec<Iteration>,
}

/// The kernel a run's paths are drawn with: tilted by `tilt` (shifted copulas sampled period
/// by period), or plain.
pub fn run_kernel<'m>(model: &'m Model, tilt: Option<&ResolvedTilt>) -> PathKernel<'m> {
    match tilt {
        Some(t) => {
            let direct: Vec<bool> = t.tilt.copulas.iter().map(|&s| s != 0.0).collect();
            PathKernel::with_tilt(model, &t.tilt, &direct)
        }
        None => PathKernel::new(model),
    }
}

/// A metric of a path row: a column, or `nav_loss` (−`nav_return`).
#[derive(Debug, Clone, Copy)]
pub enum MetricRef {
    /// −`nav_return`.
    NavLoss,
    /// A layout column.
    Column(usize),
}

impl MetricRef {
    /// Resolves a metric name against a layout.
    pub fn find(layout: &Layout, name: &str) -> Option<Self> {
        if name == "nav_loss" {
            return Some(MetricRef::NavLoss);
        }
        layout.index(name).map(MetricRef::Column)
    }

    /// The metric's value in `row`.
    pub fn value(self, row: &[f64]) -> f64 {
        match self {
            MetricRef::NavLoss => -row[Layout::NAV_RETURN],
            MetricRef::Column(c) => row[c],
        }
    }
}

/// The tilt of `model`'s run: None without `[importance]`; the scenario's tilts for
/// `manual`; the cross-entropy choice for `auto` (pilot runs on the current rayon pool).
pub fn resolve(model: &Model) -> Option<ResolvedTilt> {
    let imp = model.importance.as_ref()?;
    Some(match &imp.auto {
        None => ResolvedTilt {
            tilt: imp.tilt.clone(),
            method: "manual".to_string(),
            iterations: Vec::new(),
        },
        Some(auto) => cross_entropy(model, auto),
    })
}

/// The random seed of pilot iteration `iteration`.
fn pilot_seed(seed: u64, iteration: u32) -> u64 {
    let mut mix = SplitMix64::seed_from_u64(seed ^ 0x7069_6c6f_7400_0000);
    let a = mix.next_u64();
    let mut mix =
        SplitMix64::seed_from_u64(a ^ u64::from(iteration).wrapping_mul(0xD6E8_FEB8_6659_FD93));
    mix.next_u64()
}

/// Pilot paths under `tilt`: per path (loss, log weight, statistics…), in path order.
fn pilot(model: &Model, auto: &AutoTilt, tilt: &Tilt, iteration: u32) -> (Vec<f64>, usize) {
    let layout = Layout::new(model);
    let metric = MetricRef::find(&layout, &auto.metric).expect("validated target metric");
    let seed = pilot_seed(model.seed, iteration);
    let paths = auto.pilot_paths;
    let direct = &auto.eligible.copulas;
    let stride = 2 + tilt.flat().0.len() + tilt.copulas.len();
    let chunks: Vec<Vec<f64>> = (0..chunk_count(paths))
        .into_par_iter()
        .map(|chunk| {
            let mut kernel = PathKernel::with_tilt(model, tilt, direct);
            let mut row = vec![0.0; layout.len()];
            let range = chunk_paths(paths, chunk);
            let mut out = Vec::with_capacity((range.end - range.start) as usize * stride);
            for path in range {
                kernel.run_path(&mut path_rng(seed, path), &mut row);
                out.push(metric.value(&row));
                out.push(kernel.weight().ln());
                out.extend_from_slice(kernel.tilt_statistics());
            }
            out
        })
        .collect();
    (chunks.concat(), stride)
}

/// The weighted tail estimate of the α-quantile: inf{x : (1/n) Σ w·1{L > x} ≤ 1 − α}, from
/// `order` (path indices by loss, largest first).
fn weighted_var(losses: &[f64], weights: &[f64], order: &[usize], alpha: f64) -> f64 {
    let n = losses.len() as f64;
    let mut above = 0.0;
    for &i in order {
        above += weights[i] / n;
        if above > 1.0 - alpha {
            return losses[i];
        }
    }
    losses[*order.last().expect("pilot paths")]
}

/// The cross-entropy choice of tilt for `auto`.
pub fn cross_entropy(model: &Model, auto: &AutoTilt) -> ResolvedTilt {
    let imp = model.importance.as_ref().expect("auto needs [importance]");
    // Rate-based sources: expected events; copulas: factor periods (draws of Z).
    let (means, n_periods) = imp.mean_events.flat();
    let (rate_ok, shift_ok) = auto.eligible.flat();
    let mut tilt = Tilt::identity(&model.scenario);
    let mut iterations = Vec::new();
    for it in 0..auto.iterations {
        let (data, stride) = pilot(model, auto, &tilt, it);
        let n = data.len() / stride;
        let losses: Vec<f64> = (0..n).map(|i| data[i * stride]).collect();
        let weights: Vec<f64> = (0..n).map(|i| data[i * stride + 1].exp()).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| losses[b].total_cmp(&losses[a]).then(a.cmp(&b)));
        let target = weighted_var(&losses, &weights, &order, auto.level);
        // The (1 − ρ) quantile of the pilot losses as drawn (unweighted).
        let elite_rank = ((n as f64 * ELITE_SHARE).ceil() as usize).clamp(1, n);
        let rho_quantile = losses[order[elite_rank - 1]];
        let reached = target <= rho_quantile;
        let gamma = if reached { target } else { rho_quantile };
        let mut elite: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| losses[i] >= gamma)
            .collect();
        if elite.len() as f64 > 2.0 * ELITE_SHARE * n as f64 && !reached {
            // γ is an atom shared by many paths: keep the paths strictly above it.
            elite.retain(|&i| losses[i] > gamma);
        }
        elite.sort_unstable();
        let total: f64 = elite.iter().map(|&i| weights[i]).sum();
        // Weights beyond the floats (a pilot tilt far too strong) leave nothing to update on.
        if elite.is_empty() || !(total > 0.0 && total.is_finite()) {
            break;
        }
        let (mut rates, mut shifts) = tilt.flat();
        let n_rates = rates.len();
        for (k, rate) in rates.iter_mut().enumerate() {
            if rate_ok[k] && means[k] > 0.0 {
                let s: f64 = elite
                    .iter()
                    .map(|&i| weights[i] * data[i * stride + 2 + k])
                    .sum();
                let r = s / total / means[k];
                if r.is_finite() {
                    *rate = r.clamp(1.0, MAX_AUTO_MULTIPLIER);
                }
            }
        }
        for (c, shift) in shifts.iter_mut().enumerate() {
            if shift_ok[c] {
                let s: f64 = elite
                    .iter()
                    .map(|&i| weights[i] * data[i * stride + 2 + n_rates + c])
                    .sum();
                let sh = s / total / n_periods[c];
                if sh.is_finite() {
                    *shift = sh.clamp(0.0, MAX_AUTO_SHIFT);
                }
            }
        }
        tilt = tilt.from_flat(&rates, &shifts);
        iterations.push(Iteration {
            threshold: gamma,
            reached_level: reached,
            elite_paths: elite.len() as u64,
            tilt: tilt.clone(),
        });
        if reached {
            break;
        }
    }
    let method = format!(
        "auto (cross-entropy: {} at level {}, {} iteration{} of {} pilot paths{})",
        auto.metric,
        auto.level,
        iterations.len(),
        if iterations.len() == 1 { "" } else { "s" },
        auto.pilot_paths,
        if iterations.last().is_some_and(|i| i.reached_level) {
            ""
        } else {
            "; the target level was not reached"
        }
    );
    ResolvedTilt {
        tilt,
        method,
        iterations,
    }
}

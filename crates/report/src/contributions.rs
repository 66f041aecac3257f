//! Risk contributions: how the components of a loss metric (sources, AVSs, operators, …) share
//! its expected shortfall and its VaR.
//!
//! See [`EulerEstimator`] for the estimator and its interval.

use serde::Serialize;

use crate::exact::CompSum;
use crate::stats::{LevelStats, ci_z, n_alpha};

/// A decomposition of a loss metric: named components that add up to it on every path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decomposition {
    /// Its name: `source`, `avs`, `operator`, or an operator attribute such as `client`.
    pub name: String,
    /// Its components' names, in report order.
    pub components: Vec<String>,
}

/// One component's share of a metric's ES (and VaR) at one level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentContribution {
    /// The component's name.
    pub component: String,
    /// Its Euler contribution to ES (units of the metric); they add up to the ES.
    pub es_contribution: f64,
    /// `es_contribution` / ES (0 when the ES is 0).
    pub share: f64,
    /// Lower end of the [`CI_CONFIDENCE`](crate::CI_CONFIDENCE) interval of `es_contribution`.
    pub ci_lo: f64,
    /// Upper end of that interval.
    pub ci_hi: f64,
    /// The component's own ES at the level, when it is a reported metric (None otherwise;
    /// left out of `summary.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standalone_es: Option<f64>,
    /// Its VaR contribution E[X | L ≈ VaR] (window estimator).
    pub var_contribution: f64,
    /// Lower end of the [`CI_CONFIDENCE`](crate::CI_CONFIDENCE) interval of
    /// `var_contribution`.
    pub var_contribution_lo: f64,
    /// Upper end of that interval.
    pub var_contribution_hi: f64,
}

/// The contributions of one decomposition of one metric at one level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecompositionContributions {
    /// The metric decomposed, e.g. `slashed_eth`.
    pub metric: String,
    /// The level α.
    pub level: f64,
    /// The decomposition's name.
    pub decomposition: String,
    /// The metric's ES at the level (the contributions add up to it).
    pub es: f64,
    /// The metric's VaR at the level.
    pub var: f64,
    /// False when the tie mean at VaR came from only some of the tied paths (see the module
    /// documentation).
    pub exact: bool,
    /// Paths with L ≥ VaR.
    pub tail_paths: u64,
    /// Paths in the VaR contributions' window.
    pub window_paths: u64,
    /// Σ standalone ES − ES, when every component has a standalone ES (left out of
    /// `summary.json` otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diversification_benefit: Option<f64>,
    /// One entry per component, in the decomposition's order.
    pub components: Vec<ComponentContribution>,
}

/// The running sums of one level, per component (flat over the decompositions).
#[derive(Debug, Clone)]
struct Sums {
    /// Σ_{L > v} w·X and Σ_{L > v} w.
    above: Vec<CompSum>,
    above_w: CompSum,
    /// Σ_{L = v} w·X and Σ_{L = v} w.
    tie: Vec<CompSum>,
    tie_w: CompSum,
    /// Over L ≥ v: Σ (w·X)², Σ w²·X, Σ w².
    sq: Vec<CompSum>,
    cross: Vec<CompSum>,
    w2: CompSum,
    /// Over the window var_lo ≤ L ≤ var_hi: Σ w·X, Σ w, Σ (w·X)², Σ w²·X, Σ w².
    win: Vec<CompSum>,
    win_w: CompSum,
    win_sq: Vec<CompSum>,
    win_cross: Vec<CompSum>,
    win_w2: CompSum,
    tail_paths: u64,
    window_paths: u64,
}

/// The tail sums of the paths of one band of losses (see [`EulerEstimator::add`]): Σ w·X,
/// Σ w, Σ (w·X)², Σ w²·X, Σ w² and the paths.
#[derive(Debug, Clone)]
struct Band {
    x: Vec<CompSum>,
    w: CompSum,
    sq: Vec<CompSum>,
    cross: Vec<CompSum>,
    w2: CompSum,
    paths: u64,
}

impl Band {
    fn new(width: usize) -> Self {
        let v = || vec![CompSum::default(); width];
        Band {
            x: v(),
            w: CompSum::default(),
            sq: v(),
            cross: v(),
            w2: CompSum::default(),
            paths: 0,
        }
    }
}

/// Adds the compensated sum `b` to `a` (its rounded part, then its error).
fn absorb(a: &mut CompSum, b: CompSum) {
    a.add(b.hi);
    a.lo += b.lo;
}

impl Sums {
    fn new(width: usize) -> Self {
        let v = || vec![CompSum::default(); width];
        Sums {
            above: v(),
            above_w: CompSum::default(),
            tie: v(),
            tie_w: CompSum::default(),
            sq: v(),
            cross: v(),
            w2: CompSum::default(),
            win: v(),
            win_w: CompSum::default(),
            win_sq: v(),
            win_cross: v(),
            win_w2: CompSum::default(),
            tail_paths: 0,
            window_paths: 0,
        }
    }
}

/// One level's statistics and sums.
#[derive(Debug, Clone)]
struct LevelState {
    stats: LevelStats,
    /// Every path tied at VaR is among the paths added.
    ties_complete: bool,
    sums: Sums,
}

/// Euler contributions of the components of one metric, at the levels where its statistics are
/// exact.
///
/// A [`Decomposition`] names components X₁, …, X_K that add up to the metric L on every path.
/// The estimator takes, for each level of the metric's [`LevelStats`], the paths of the
/// tail — L, the likelihood-ratio weight w (1 without importance sampling) and the components,
/// in ascending path id — and returns each component's **Euler contribution to ES** with the
/// same tail as the ES itself. With n paths, T = n(1 − α) (the tail mass of
/// [`MetricAccumulator::stats`](crate::MetricAccumulator::stats)) and v the VaR:
///
/// ```text
/// C_i = [ Σ_{L > v} w·X_i  +  (T − Σ_{L > v} w) · Σ_{L = v} w·X_i / Σ_{L = v} w ] / T
/// ```
///
/// The fractional part of the tail at VaR is shared evenly (by weight) among the paths whose
/// loss equals VaR, so the result does not depend on path order, and since Σᵢ Xᵢ = L,
/// Σᵢ C_i = v + Σ_{L > v} w·(L − v) / T = ES, to rounding.
///
/// * **Interval** of C_i: the asymptotic-normal interval of Hong & Liu (2009, "Simulating
///   sensitivities of conditional value at risk", Management Science 55(2)) for the
///   order-statistic estimator: C_i ± z·s_i / ((1 − α)·√n), s_i the sample standard deviation
///   over all n paths of yᵢ = w·(X_i − m_i)·1{L ≥ v}, with m_i the VaR contribution below — for
///   X_i = L it is, up to the window, the ES interval of [`LevelStats`].
/// * **VaR contribution** E[X_i | L = VaR]: a window estimator, the weighted mean of X_i over
///   the paths whose L lies in the VaR's own confidence interval [`var_lo`, `var_hi`], with the
///   delta-method standard error √(Σ w²(X_i − m_i)²) / Σ w. The window narrows as 1/√n; the
///   VaR contributions add up to the window's mean of L, which is VaR up to the window's width.
/// * **Exactness**: only levels whose statistics are exact ([`LevelStats::exact`]) get
///   contributions; they are flagged approximate ([`DecompositionContributions::exact`] false)
///   when the accumulator did not keep every path tied at VaR (the tie mean then comes from the
///   kept ones), unless VaR is 0 and the components are non-negative (every component of a
///   zero-loss path is then 0).
#[derive(Debug, Clone)]
pub struct EulerEstimator {
    metric: String,
    n: u64,
    decompositions: Vec<Decomposition>,
    width: usize,
    non_negative: bool,
    /// Every path added so far had weight 1: the Σ w²·X sums (`cross`, `win_cross`) then equal
    /// the Σ w·X ones bit for bit (the same additions of the same values) and are not kept.
    unit: bool,
    levels: Vec<LevelState>,
    /// The levels' distinct VaRs, ascending (by [`f64::total_cmp`]).
    vars: Vec<f64>,
    /// Per VaR u_j: the paths with u_j < L < u_{j+1} (`open[j]`, u_J = ∞) and with L = u_j
    /// (`at[j]`).
    open: Vec<Band>,
    at: Vec<Band>,
    /// The indices of the current path's components that are not zero (reused from path to
    /// path): only those are added (see [`add`](Self::add)).
    nonzero: Vec<u32>,
}

impl EulerEstimator {
    /// An estimator for `metric` over `n` paths, whose statistics at each level are `levels`
    /// (from [`MetricAccumulator::stats`](crate::MetricAccumulator::stats) or
    /// [`metric_stats`](crate::metric_stats)); levels that are not exact are left out.
    /// `non_negative`: every component is ≥ 0 on every path (so a path of zero loss has zero
    /// components). Components are passed to [`add`](Self::add) as one flat slice, the
    /// decompositions' components one after the other.
    pub fn new(
        metric: &str,
        n: u64,
        levels: &[LevelStats],
        decompositions: Vec<Decomposition>,
        non_negative: bool,
    ) -> Self {
        let width = decompositions.iter().map(|d| d.components.len()).sum();
        let levels: Vec<LevelState> = levels
            .iter()
            .filter(|l| l.exact && l.var.is_finite())
            .map(|l| LevelState {
                stats: l.clone(),
                ties_complete: true,
                sums: Sums::new(width),
            })
            .collect();
        let mut vars: Vec<f64> = levels.iter().map(|l| l.stats.var).collect();
        vars.sort_unstable_by(f64::total_cmp);
        vars.dedup_by(|a, b| a.to_bits() == b.to_bits());
        EulerEstimator {
            metric: metric.to_owned(),
            n,
            width,
            non_negative,
            unit: true,
            open: vars.iter().map(|_| Band::new(width)).collect(),
            at: vars.iter().map(|_| Band::new(width)).collect(),
            nonzero: Vec::new(),
            vars,
            levels,
            decompositions,
        }
    }

    /// Number of paths of the run.
    pub fn paths(&self) -> u64 {
        self.n
    }

    /// Components per path (all decompositions together).
    pub fn width(&self) -> usize {
        self.width
    }

    /// The smallest loss a path must have to matter at some level (the lowest VaR interval's
    /// lower end), None when no level is exact. Pass every path with a loss at least this to
    /// [`add`](Self::add).
    pub fn floor(&self) -> Option<f64> {
        self.levels
            .iter()
            .map(|l| l.stats.var_lo.min(l.stats.var))
            .min_by(f64::total_cmp)
    }

    /// Whether paths of loss `loss` need their components (a zero loss with non-negative
    /// components does not: they are all 0).
    pub fn needs_components(&self, loss: f64) -> bool {
        Self::components_needed(self.non_negative, loss)
    }

    /// [`needs_components`](Self::needs_components) of an estimator made with `non_negative`.
    pub fn components_needed(non_negative: bool, loss: f64) -> bool {
        !(non_negative && loss == 0.0)
    }

    /// Records that the paths added are not all the paths with a loss at least
    /// [`floor`](Self::floor): some tied at `at` are missing. Levels whose VaR is `at` become
    /// approximate, unless `at` is 0 with non-negative components.
    pub fn ties_incomplete_at(&mut self, at: f64) {
        let known_zero = self.non_negative && at == 0.0;
        for l in &mut self.levels {
            if l.stats.var.to_bits() == at.to_bits() && !known_zero {
                l.ties_complete = false;
            }
        }
    }

    /// Adds one path: its loss, its likelihood-ratio weight (1 unweighted) and its components
    /// ([`width`](Self::width) values; None when they are all 0, e.g. a zero loss with
    /// non-negative components). Add the paths in ascending path id: the sums are taken in
    /// that order, so their bits do not depend on threads or shards.
    ///
    /// # Panics
    ///
    /// If `components` has the wrong length (a programmer error).
    pub fn add(&mut self, loss: f64, weight: f64, components: Option<&[f64]>) {
        if let Some(x) = components {
            assert_eq!(x.len(), self.width, "one value per component");
        }
        let w = weight;
        if self.unit && w != 1.0 {
            self.keep_cross();
        }
        let unit = self.unit;
        // Only the components that are not zero are added: adding ±0 leaves a compensated
        // sum's bits as they are, since neither of its parts is ever −0 (x + y is −0 only when
        // both are, and both start at +0), and w·(±0) is ±0. Most of a path's components are 0.
        let nz = &mut self.nonzero;
        if let Some(x) = components {
            // Branch-free: each index is written, and kept when its value is not zero.
            nz.resize(x.len(), 0);
            let mut n = 0;
            for (i, &xi) in x.iter().enumerate() {
                nz[n] = i as u32;
                n += usize::from(xi != 0.0);
            }
            nz.truncate(n);
        }
        let nz = &self.nonzero;
        // The tail sums go to one band of losses — strictly between two consecutive VaRs of
        // the levels, or at one — whatever the number of levels whose tail the path is in;
        // `finish` adds up the bands at or above each level's VaR.
        let j = self.vars.partition_point(|v| v.total_cmp(&loss).is_le());
        if j > 0 {
            let band = if self.vars[j - 1].total_cmp(&loss).is_eq() {
                &mut self.at[j - 1]
            } else {
                &mut self.open[j - 1]
            };
            band.paths += 1;
            band.w.add(w);
            band.w2.add(w * w);
            if let Some(x) = components
                && unit
            {
                for &i in nz {
                    let (i, xi) = (i as usize, x[i as usize]);
                    band.x[i].add(xi);
                    band.sq[i].add_square(xi);
                }
            } else if let Some(x) = components {
                for &i in nz {
                    let (i, wx) = (i as usize, w * x[i as usize]);
                    band.x[i].add(wx);
                    band.sq[i].add_square(wx);
                    band.cross[i].add(w * wx);
                }
            }
        }
        for l in &mut self.levels {
            let (lo, hi) = (l.stats.var_lo, l.stats.var_hi);
            if !(loss.total_cmp(&lo).is_ge() && loss.total_cmp(&hi).is_le()) {
                continue;
            }
            let s = &mut l.sums;
            s.window_paths += 1;
            s.win_w.add(w);
            s.win_w2.add(w * w);
            let Some(x) = components else {
                continue;
            };
            if unit {
                for &i in nz {
                    let (i, xi) = (i as usize, x[i as usize]);
                    s.win[i].add(xi);
                    s.win_sq[i].add_square(xi);
                }
                continue;
            }
            for &i in nz {
                let (i, wx) = (i as usize, w * x[i as usize]);
                s.win[i].add(wx);
                s.win_sq[i].add_square(wx);
                s.win_cross[i].add(w * wx);
            }
        }
    }

    /// On the first path of weight other than 1: the Σ w²·X sums so far, which are the Σ w·X
    /// sums, kept from now on.
    #[cold]
    fn keep_cross(&mut self) {
        for b in self.open.iter_mut().chain(self.at.iter_mut()) {
            b.cross.clone_from(&b.x);
        }
        for l in &mut self.levels {
            l.sums.win_cross.clone_from(&l.sums.win);
        }
        self.unit = false;
    }

    /// Level `l`'s sums: its window's, and its tail's from the bands at or above its VaR,
    /// added from the top band down (a fixed order: the result depends only on the bands at or
    /// above the VaR, not on the other levels).
    fn assemble(&self, l: &LevelState) -> Sums {
        let mut sums = l.sums.clone();
        let unit = self.unit;
        if unit {
            sums.win_cross.clone_from(&sums.win);
        }
        {
            let j = self
                .vars
                .iter()
                .position(|v| v.to_bits() == l.stats.var.to_bits())
                .expect("every level's VaR is among the bands'");
            let s = &mut sums;
            let mut add = |b: &Band, above: bool| {
                s.tail_paths += b.paths;
                absorb(if above { &mut s.above_w } else { &mut s.tie_w }, b.w);
                absorb(&mut s.w2, b.w2);
                let first = if above { &mut s.above } else { &mut s.tie };
                for (i, f) in first.iter_mut().enumerate() {
                    absorb(f, b.x[i]);
                    absorb(&mut s.sq[i], b.sq[i]);
                    absorb(&mut s.cross[i], if unit { b.x[i] } else { b.cross[i] });
                }
            };
            for k in (j..self.vars.len()).rev() {
                add(&self.open[k], true);
                if k > j {
                    add(&self.at[k], true);
                }
            }
            add(&self.at[j], false);
        }
        sums
    }

    /// The contributions, per level then per decomposition. `standalone(d, i, level)` is the
    /// ES of component i of decomposition d alone at `level`, when known.
    pub fn finish(
        &self,
        standalone: impl Fn(usize, usize, f64) -> Option<f64>,
    ) -> Vec<DecompositionContributions> {
        let z = ci_z();
        let nf = self.n as f64;
        let mut out = Vec::new();
        for l in &self.levels {
            let alpha = l.stats.level;
            let tail_mass = nf - n_alpha(self.n as usize, alpha);
            if tail_mass <= 0.0 || self.n == 0 {
                continue;
            }
            let s = &self.assemble(l);
            let es = l.stats.es;
            let above_w = s.above_w.value();
            let tie_w = s.tie_w.value();
            let per_component: Vec<(f64, f64, f64, f64)> = (0..self.width)
                .map(|i| {
                    let tie_mean = if tie_w > 0.0 {
                        s.tie[i].value() / tie_w
                    } else {
                        0.0
                    };
                    let c = (s.above[i].value() + (tail_mass - above_w) * tie_mean) / tail_mass;
                    // VaR contribution: the window's weighted mean, delta-method error.
                    let win_w = s.win_w.value();
                    let (m, se) = if win_w > 0.0 {
                        let m = s.win[i].value() / win_w;
                        let ss = s.win_sq[i].value() - 2.0 * m * s.win_cross[i].value()
                            + m * m * s.win_w2.value();
                        (m, ss.max(0.0).sqrt() / win_w)
                    } else {
                        (tie_mean, 0.0)
                    };
                    // Hong & Liu: y = w (X − m) 1{L ≥ v} over all n paths.
                    let sum_y = s.above[i].value() + s.tie[i].value() - m * (above_w + tie_w);
                    let sum_y2 =
                        s.sq[i].value() - 2.0 * m * s.cross[i].value() + m * m * s.w2.value();
                    let sd = if nf < 2.0 {
                        0.0
                    } else {
                        ((sum_y2 - sum_y * sum_y / nf) / (nf - 1.0)).max(0.0).sqrt()
                    };
                    let half = z * sd / ((1.0 - alpha) * nf.sqrt());
                    (c, half, m, z * se)
                })
                .collect();
            let mut at = 0;
            for (d, dec) in self.decompositions.iter().enumerate() {
                let k = dec.components.len();
                let components: Vec<ComponentContribution> = dec
                    .components
                    .iter()
                    .enumerate()
                    .map(|(i, name)| {
                        let (c, half, m, vhalf) = per_component[at + i];
                        ComponentContribution {
                            component: name.clone(),
                            es_contribution: c,
                            share: if es != 0.0 { c / es } else { 0.0 },
                            ci_lo: c - half,
                            ci_hi: c + half,
                            standalone_es: standalone(d, i, alpha),
                            var_contribution: m,
                            var_contribution_lo: m - vhalf,
                            var_contribution_hi: m + vhalf,
                        }
                    })
                    .collect();
                at += k;
                let diversification_benefit = components
                    .iter()
                    .map(|c| c.standalone_es)
                    .sum::<Option<f64>>()
                    .map(|total| total - es);
                out.push(DecompositionContributions {
                    metric: self.metric.clone(),
                    level: alpha,
                    decomposition: dec.name.clone(),
                    es,
                    var: l.stats.var,
                    exact: l.ties_complete,
                    tail_paths: s.tail_paths,
                    window_paths: s.window_paths,
                    diversification_benefit,
                    components,
                });
            }
        }
        out
    }
}

/// The expected shortfall at `alpha` of a non-negative metric over `n` paths known only in
/// its upper part: `entries` holds (value, likelihood-ratio weight; 1 unweighted) of *every*
/// path whose value is positive and at least `floor`; every other path's value is below
/// `floor`, or 0 when `floor` ≤ 0. Computed as
/// [`MetricAccumulator::stats`](crate::MetricAccumulator::stats) computes an exact level — VaR v the first value, from the
/// top, at which the running weight exceeds n(1 − α), ES = v + Σ_{x > v} w·(x − v) / (n(1 − α))
/// — when the VaR lies among `entries` (or is 0, with `floor` ≤ 0); None when it lies below
/// them (then unknown). Sorts `entries`.
///
/// Risk contributions use it for the standalone ES of components that are not metrics of the
/// run (operators, attribute values), from the re-simulated tail paths.
pub fn tail_es(entries: &mut [(f64, f64)], n: u64, alpha: f64, floor: f64) -> Option<f64> {
    if n == 0 {
        return None;
    }
    // Descending by value, then weight (the accumulator's order for its sums).
    entries.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)));
    let nf = n as f64;
    let na = n_alpha(n as usize, alpha);
    let tail_mass = nf - na;
    let mut running = 0.0;
    let mut at = None;
    for (j, &(_, w)) in entries.iter().enumerate() {
        running += w;
        if nf - running < na {
            at = Some(j);
            break;
        }
    }
    let v = match at {
        Some(j) => entries[j].0,
        // Every path is listed: the mass is never reached, the minimum is the VaR.
        None if entries.len() as u64 == n => entries.last()?.0,
        None if floor <= 0.0 => 0.0,
        None => return None,
    };
    if tail_mass <= 0.0 {
        return entries.first().map(|e| e.0);
    }
    let mut excess = CompSum::default();
    for &(x, w) in entries.iter().take_while(|e| e.0 > v) {
        excess.add(w * (x - v));
    }
    Some(v + excess.value() / tail_mass)
}

#[cfg(test)]
#[path = "contributions_tests.rs"]
mod tests;

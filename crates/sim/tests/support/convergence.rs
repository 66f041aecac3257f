//! Convergence in the time step (issue 16): does a shipped scenario give the same answers when
//! only `simulation.step_days` changes?
//!
//! A scenario is run three times with the same seed and number of paths: at its shipped step
//! h, at h/2 and at h/4. For every headline metric the harness compares the means at h/2 and
//! h/4 with the mean at h, and the 99 % value at risk of the three runs.
//!
//! # Why paired differences
//!
//! The runner gives path i its own random stream, keyed by (seed, i) and independent of the
//! step ([`lrtsim_sim::path_rng`]). Path i of the three runs therefore sees the same random
//! numbers (common random numbers), and in this engine the same events: a path draws its
//! shocks, rushes and depegs in continuous time before it steps (copula faults excepted, as
//! they are drawn per step). The estimator of the step bias E[X(h)] − E[X(h/k)] is the mean of
//! the per-path differences Dᵢ = Xᵢ(h) − Xᵢ(h/k), with standard error sd(D)/√n. Because Xᵢ(h)
//! and Xᵢ(h/k) are strongly positively correlated, Var D = Var X(h) + Var X(h/k) −
//! 2 Cov ≪ Var X(h) + Var X(h/k): the paired test resolves a bias far smaller than two
//! independent runs of the same size could (Glasserman 2003, §4.2). Where the coupling is
//! weaker (a copula drawing once per step shifts every later draw of the path), the standard
//! error of D grows accordingly, so the test stays valid and only loses power.
//!
//! # Why this tolerance
//!
//! A comparison passes when |mean D| ≤ max(4·SE(D), 2 % of |mean at h|, floor):
//!
//! * **4 standard errors** — with no step bias, mean D / SE(D) is close to standard normal
//!   (central limit theorem over ≥ 2,000 paths), so a step-independent engine exceeds 4 SE in
//!   one comparison out of ~16,000 (two-sided 6·10⁻⁵): across every shipped scenario (~100
//!   comparisons) the chance of a false alarm is below 1 %. Runs are seeded, so a verdict is
//!   reproducible, not flaky.
//! * **2 % relative** — common random numbers can make SE(D) tiny (paths almost identical at
//!   every step), so 4 SE alone would flag a bias that is real but far below what matters for a
//!   risk report. 2 % of the metric is the accuracy asked of the time discretisation.
//! * **Absolute floor** — for a metric that is 0 on nearly every path (bad debt, deep depegs)
//!   both terms above vanish, and one path moving would fail. The floor is 1e-4 for shares,
//!   fractions and probabilities (one basis point), 0.01 day (about a quarter of an hour) for
//!   durations (a word of the name is `days`: `peak_queue_days`, `redeem_days_stress`,
//!   `days_discount_over_100bps`), and for ETH amounts (a word is `eth`) the same
//!   basis point of the pool's collateral at t = 0, 1e-4 × `collateral_eth`, so an ETH metric
//!   is held to the accuracy of the share that expresses it.
//!
//! # The value at risk
//!
//! The 99 % VaR of each run comes with the distribution-free 95 % confidence interval that
//! `lrtsim_report::metric_stats` reports (binomial order statistics: the interval between the
//! l-th and u-th smallest values, with l and u chosen from the Binomial(n, 0.99) law, whatever
//! the metric's distribution; the same interval `summary.json` reports). The issue asks that
//! the three runs' intervals overlap, i.e. (for intervals on a line) that they share a point:
//! the gap max(lower ends) − min(upper ends) is ≤ 0.
//!
//! Taken literally that fails a metric whose tail is an atom: the interval of a constant is a
//! point, and runs that agree to round-off (1e-17 apart, as `nav_loss` of a market scenario
//! without slashing does) have disjoint points. The harness therefore accepts a gap up to the
//! slack of the mean comparison without its statistical term, max(2 % of |VaR at h|, floor):
//! the statistical part is the intervals themselves. Set [`VAR_RELATIVE_SLACK`] to 0 for the
//! floor alone. This is a coarse check — at 2,000 paths the interval spans roughly the 10th to
//! the 30th worst path — aimed at tails that move by factors, as the issue reports.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lrtsim_report::{CI_CONFIDENCE, metric_stats};
use lrtsim_scenario::Model;
use lrtsim_sim::importance::MetricRef;
use lrtsim_sim::{Layout, RunOptions, SimResults, run};

/// The headline metrics of issue 16; a scenario is checked on those it has.
pub const HEADLINE_METRICS: [&str; 10] = [
    "max_discount",
    "depeg_over_500bps",
    "days_discount_over_100bps",
    "forced_sale_loss",
    "redeem_days_stress",
    "peak_queue_days",
    "liquidated_share",
    "bad_debt_share",
    "looper_equity_loss",
    "nav_loss",
];

/// The refined steps, as divisors of the shipped step: h/2 and h/4.
pub const REFINEMENTS: [u32; 2] = [2, 4];

/// Fewest paths the issue allows for a convergence check of a shipped scenario.
pub const MIN_PATHS: u64 = 2_000;

/// Standard errors of the paired difference a comparison tolerates.
pub const SE_MULTIPLE: f64 = 4.0;

/// Relative tolerance, a share of |mean at the shipped step|.
pub const RELATIVE_TOLERANCE: f64 = 0.02;

/// Absolute floor of the tolerance for shares, fractions and probabilities.
pub const SHARE_FLOOR: f64 = 1e-4;

/// Absolute floor of the tolerance for durations, days.
pub const DAYS_FLOOR: f64 = 0.01;

/// Level of the value at risk compared.
pub const VAR_LEVEL: f64 = 0.99;

/// Gap between the VaR intervals accepted, as a share of |VaR at the shipped step| (see the
/// module documentation); the unit's floor applies too.
pub const VAR_RELATIVE_SLACK: f64 = RELATIVE_TOLERANCE;

/// What a metric measures, which sets its tolerance floor ([`Unit::floor`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// A share, fraction or probability (dimensionless).
    Share,
    /// A duration in days.
    Days,
    /// An amount of ETH.
    Eth,
}

impl Unit {
    /// The unit of metric `name`, from the words of its base name (before any `.`, so
    /// `slashed_eth.avs.<name>` is read as `slashed_eth`): days when a word is `days`
    /// (`peak_queue_days`, `days_discount_over_100bps`, but also `redeem_days_stress`), else
    /// ETH when a word is `eth` (`bad_debt_eth`), else a share.
    pub fn of(name: &str) -> Self {
        let base = name.split('.').next().unwrap_or(name);
        let has = |word: &str| base.split('_').any(|w| w == word);
        if has("days") {
            Unit::Days
        } else if has("eth") {
            Unit::Eth
        } else {
            Unit::Share
        }
    }

    /// The absolute floor of the tolerance in `model` (see the module documentation).
    pub fn floor(self, model: &Model) -> f64 {
        match self {
            Unit::Share => SHARE_FLOOR,
            Unit::Days => DAYS_FLOOR,
            Unit::Eth => SHARE_FLOOR * model.collateral_eth,
        }
    }
}

/// The file of shipped scenario `file` (e.g. `"steth-2022.toml"`).
pub fn scenario_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(file)
}

/// Loads shipped scenario `file` with `--set` style `overrides` (e.g.
/// `"simulation.paths=2000"`), panicking with the loader's message on error.
pub fn load(file: &str, overrides: &[String]) -> Model {
    lrtsim_scenario::load_file(&scenario_path(file), overrides)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// One run of a scenario: its per-path results and how long it took.
#[derive(Debug, Clone)]
pub struct Run {
    /// The model run.
    pub model: Model,
    /// Every path's outputs.
    pub results: SimResults,
    /// Wall time of the run (loading excluded).
    pub wall: Duration,
}

impl Run {
    /// Runs `model` on every core, keeping every path.
    pub fn new(model: Model) -> Self {
        assert!(
            model.importance.is_none(),
            "{}: the convergence harness compares unweighted paths; drop [importance]",
            model.name
        );
        let start = Instant::now();
        let results = run(&model, &RunOptions::default(), &|_| {})
            .unwrap_or_else(|e| panic!("{}: {e}", model.name));
        Run {
            model,
            results,
            wall: start.elapsed(),
        }
    }

    /// The per-path values of metric `name`: a column, or `nav_loss` (−`nav_return`, as the
    /// report computes it); None if the scenario does not have it.
    pub fn metric(&self, name: &str) -> Option<Vec<f64>> {
        match MetricRef::find(&self.results.layout, name)? {
            MetricRef::NavLoss => Some(
                self.results.columns[Layout::NAV_RETURN]
                    .iter()
                    .map(|v| -v)
                    .collect(),
            ),
            MetricRef::Column(c) => Some(self.results.columns[c].clone()),
        }
    }
}

/// Mean of the per-path differences of two runs and its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedDifference {
    /// mean(Dᵢ), Dᵢ = xᵢ − yᵢ.
    pub mean: f64,
    /// sd(D) / √n, with the sample standard deviation (n − 1).
    pub std_error: f64,
}

/// The paired difference of `x` and `y`, path i against path i (see the module
/// documentation).
///
/// # Panics
///
/// If the slices differ in length or hold fewer than two values.
pub fn paired_difference(x: &[f64], y: &[f64]) -> PairedDifference {
    assert_eq!(x.len(), y.len(), "paired runs must have the same paths");
    assert!(x.len() >= 2, "a standard error needs two paths");
    let n = x.len() as f64;
    let d = || x.iter().zip(y).map(|(a, b)| a - b);
    let mean = d().sum::<f64>() / n;
    let var = d().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    PairedDifference {
        mean,
        std_error: (var / n).sqrt(),
    }
}

/// The tolerance of a comparison: max([`SE_MULTIPLE`]·SE, [`RELATIVE_TOLERANCE`]·|mean at the
/// shipped step|, `floor`).
pub fn tolerance(diff: &PairedDifference, reference_mean: f64, floor: f64) -> f64 {
    (SE_MULTIPLE * diff.std_error)
        .max(RELATIVE_TOLERANCE * reference_mean.abs())
        .max(floor)
}

/// A value at risk with its distribution-free confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VarInterval {
    /// The empirical [`VAR_LEVEL`]-quantile.
    pub var: f64,
    /// Lower end of its `lrtsim_report::CI_CONFIDENCE` interval.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

/// The [`VAR_LEVEL`] VaR of `values` with the order-statistic interval of
/// `lrtsim_report::metric_stats` (every value kept, so the interval is exact).
pub fn var_interval(values: &[f64]) -> VarInterval {
    let stats = metric_stats("convergence", values, &[VAR_LEVEL]);
    let l = &stats.levels[0];
    assert!(l.exact, "metric_stats keeps every value");
    VarInterval {
        var: l.var,
        lo: l.var_lo,
        hi: l.var_hi,
    }
}

/// How far the intervals are from sharing a point: max(lower ends) − min(upper ends); ≤ 0 when
/// they overlap (on a line, sharing a point is the same as overlapping pairwise).
pub fn interval_gap(intervals: &[VarInterval]) -> f64 {
    let lo = intervals
        .iter()
        .map(|i| i.lo)
        .fold(f64::NEG_INFINITY, f64::max);
    let hi = intervals.iter().map(|i| i.hi).fold(f64::INFINITY, f64::min);
    lo - hi
}

/// The VaR gap accepted: max([`VAR_RELATIVE_SLACK`]·|VaR at the shipped step|, `floor`).
pub fn var_slack(reference_var: f64, floor: f64) -> f64 {
    (VAR_RELATIVE_SLACK * reference_var.abs()).max(floor)
}

/// The comparison of one refined step with the shipped one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refinement {
    /// The refined step is the shipped step / `divisor`.
    pub divisor: u32,
    /// Paired difference, shipped step − refined step.
    pub diff: PairedDifference,
    /// Largest |mean difference| accepted ([`tolerance`]).
    pub tolerance: f64,
}

impl Refinement {
    /// |mean difference| ≤ tolerance (false when either is NaN).
    pub fn passed(&self) -> bool {
        self.diff.mean.abs() <= self.tolerance
    }
}

/// One metric at the shipped and refined steps.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricConvergence {
    /// The metric's name.
    pub name: String,
    /// The absolute floor of its tolerance ([`Unit::floor`]).
    pub floor: f64,
    /// Mean at the shipped step, then at each refined step ([`REFINEMENTS`] order).
    pub means: Vec<f64>,
    /// The shipped step against each refined step.
    pub refinements: Vec<Refinement>,
    /// VaR at the shipped step, then at each refined step.
    pub var: Vec<VarInterval>,
    /// The largest [`interval_gap`] of `var` accepted ([`var_slack`]).
    pub var_slack: f64,
    /// Every path of every run has the same value (e.g. a depeg threshold crossed on every
    /// path): the metric passes but tells nothing about convergence.
    pub constant: bool,
}

impl MetricConvergence {
    /// Compares `name` across `runs` (the shipped step first).
    fn new(name: &str, runs: &[Run]) -> Option<Self> {
        let columns: Vec<Vec<f64>> = runs.iter().map(|r| r.metric(name)).collect::<Option<_>>()?;
        let reference = &columns[0];
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let floor = Unit::of(name).floor(&runs[0].model);
        let reference_mean = mean(reference);
        let refinements = runs[1..]
            .iter()
            .zip(&columns[1..])
            .map(|(run, refined)| {
                let diff = paired_difference(reference, refined);
                Refinement {
                    divisor: divisor(&runs[0].model, &run.model),
                    diff,
                    tolerance: tolerance(&diff, reference_mean, floor),
                }
            })
            .collect();
        let var: Vec<VarInterval> = columns.iter().map(|c| var_interval(c)).collect();
        let first = reference[0];
        let constant = columns.iter().flatten().all(|&v| v == first);
        Some(MetricConvergence {
            name: name.to_string(),
            floor,
            means: columns.iter().map(|c| mean(c)).collect(),
            refinements,
            var_slack: var_slack(var[0].var, floor),
            var,
            constant,
        })
    }

    /// [`interval_gap`] of the VaR intervals.
    pub fn var_gap(&self) -> f64 {
        interval_gap(&self.var)
    }

    /// The VaR intervals overlap, up to the slack (false when the gap is NaN).
    pub fn var_overlap(&self) -> bool {
        self.var_gap() <= self.var_slack
    }

    /// Every refinement and the VaR check pass.
    pub fn passed(&self) -> bool {
        self.refinements.iter().all(Refinement::passed) && self.var_overlap()
    }

    /// What failed, e.g. `"mean h/2, VaR"`; empty when everything passed.
    pub fn failed_checks(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .refinements
            .iter()
            .filter(|r| !r.passed())
            .map(|r| format!("mean h/{}", r.divisor))
            .collect();
        if !self.var_overlap() {
            out.push("VaR".to_string());
        }
        out
    }
}

/// The refinement factor between the shipped `model` and `refined` (a whole number).
fn divisor(model: &Model, refined: &Model) -> u32 {
    (model.step_days / refined.step_days).round() as u32
}

/// A scenario's convergence check: its runs and the comparison of every metric.
#[derive(Debug, Clone)]
pub struct Convergence {
    /// The scenario file.
    pub scenario: String,
    /// Paths of every run.
    pub paths: u64,
    /// The seed shared by the runs.
    pub seed: u64,
    /// Step of each run, days: shipped, then refined.
    pub step_days: Vec<f64>,
    /// Wall time of each run.
    pub wall: Vec<Duration>,
    /// Every metric compared.
    pub metrics: Vec<MetricConvergence>,
}

impl Convergence {
    /// Every metric passed.
    pub fn passed(&self) -> bool {
        self.metrics.iter().all(MetricConvergence::passed)
    }

    /// The comparison of metric `name`, if it was checked.
    pub fn metric(&self, name: &str) -> Option<&MetricConvergence> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// One line per failed check, with its numbers; empty when everything passed.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for m in &self.metrics {
            for r in m.refinements.iter().filter(|r| !r.passed()) {
                out.push(format!(
                    "{} {}: mean at h/{} differs by {} ± {} (tolerance {})",
                    self.scenario,
                    m.name,
                    r.divisor,
                    num(r.diff.mean),
                    num(r.diff.std_error),
                    num(r.tolerance),
                ));
            }
            if !m.var_overlap() {
                out.push(format!(
                    "{} {}: the {} % VaR intervals {} are {} apart (slack {})",
                    self.scenario,
                    m.name,
                    VAR_LEVEL * 100.0,
                    var_cell(&m.var),
                    num(m.var_gap()),
                    num(m.var_slack),
                ));
            }
        }
        out
    }
}

/// A table: a title line with the runs' steps and wall times, then one row per metric.
impl fmt::Display for Convergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps: Vec<String> = self.step_days.iter().map(|s| num(*s)).collect();
        let walls: Vec<String> = self
            .wall
            .iter()
            .map(|w| format!("{:.2} s", w.as_secs_f64()))
            .collect();
        writeln!(
            f,
            "{}: {} paths, seed {}, step_days {}; wall {}",
            self.scenario,
            self.paths,
            self.seed,
            steps.join(" | "),
            walls.join(" | "),
        )?;
        let mut header = vec![
            "scenario".to_string(),
            "metric".to_string(),
            "mean@h".to_string(),
        ];
        for k in REFINEMENTS {
            header.push(format!("mean@h/{k}"));
        }
        for k in REFINEMENTS {
            header.push(format!("Δ(h−h/{k}) ± SE"));
            header.push(format!("tol h/{k}"));
        }
        let refined: Vec<String> = REFINEMENTS.iter().map(|k| format!("h/{k}")).collect();
        header.push(format!(
            "VaR{} {}% CI @h | {}",
            VAR_LEVEL * 100.0,
            CI_CONFIDENCE * 100.0,
            refined.join(" | ")
        ));
        header.push("VaR gap".to_string());
        header.push("slack".to_string());
        header.push("verdict".to_string());
        let mut rows = vec![header];
        for m in &self.metrics {
            let mut row = vec![self.scenario.clone(), m.name.clone()];
            row.extend(m.means.iter().map(|v| num(*v)));
            for r in &m.refinements {
                let mark = if r.passed() { "" } else { " ✗" };
                row.push(format!(
                    "{} ± {}{mark}",
                    num(r.diff.mean),
                    num(r.diff.std_error)
                ));
                row.push(num(r.tolerance));
            }
            row.push(var_cell(&m.var));
            let mark = if m.var_overlap() { "" } else { " ✗" };
            row.push(format!("{}{mark}", num(m.var_gap())));
            row.push(num(m.var_slack));
            row.push(if m.passed() && m.constant {
                "PASS (constant)".to_string()
            } else if m.passed() {
                "PASS".to_string()
            } else {
                format!("FAIL ({})", m.failed_checks().join(", "))
            });
            rows.push(row);
        }
        let columns = rows[0].len();
        let widths: Vec<usize> = (0..columns)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, &w)| format!("{cell:<w$}"))
                .collect();
            writeln!(f, "{}", cells.join("  ").trim_end())?;
        }
        Ok(())
    }
}

/// `[lo, hi]` of each run, separated by `|`.
fn var_cell(var: &[VarInterval]) -> String {
    var.iter()
        .map(|v| format!("[{}, {}]", num(v.lo), num(v.hi)))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Four significant digits; scientific notation for very small or large magnitudes.
fn num(x: f64) -> String {
    let a = x.abs();
    if x == 0.0 || !x.is_finite() {
        format!("{x}")
    } else if !(1e-3..1e5).contains(&a) {
        format!("{x:.3e}")
    } else {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{x:.decimals$}")
    }
}

/// Checks shipped scenario `file` on `metrics` (each must exist), with `paths` paths and
/// `overrides` applied to all three runs: the shipped step h, then h/2 and h/4.
///
/// # Panics
///
/// If the scenario does not load, a metric is not among its outputs, or it has
/// `[importance]`.
pub fn convergence(file: &str, paths: u64, overrides: &[&str], metrics: &[&str]) -> Convergence {
    convergence_with(file, paths, overrides, metrics, |_| Vec::new())
}

/// [`convergence`] with further overrides that depend on each run's step (`per_step(step)`,
/// applied after the step): a scenario made to depend on the step on purpose, for negative
/// controls.
pub fn convergence_with(
    file: &str,
    paths: u64,
    overrides: &[&str],
    metrics: &[&str],
    per_step: impl Fn(f64) -> Vec<String>,
) -> Convergence {
    let mut sets: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    sets.push(format!("simulation.paths={paths}"));
    let h = load(file, &sets).step_days;
    let mut runs = Vec::new();
    for k in std::iter::once(1).chain(REFINEMENTS) {
        let step = h / f64::from(k);
        let mut refined = sets.clone();
        // `Display` of an f64 is its shortest round-trip form, so the TOML value is h/k
        // exactly.
        refined.push(format!("simulation.step_days={step}"));
        refined.extend(per_step(step));
        runs.push(Run::new(load(file, &refined)));
    }
    let metrics = metrics
        .iter()
        .map(|name| {
            MetricConvergence::new(name, &runs)
                .unwrap_or_else(|| panic!("{file} has no metric {name}"))
        })
        .collect();
    Convergence {
        scenario: file.to_string(),
        paths,
        seed: runs[0].model.seed,
        step_days: runs.iter().map(|r| r.model.step_days).collect(),
        wall: runs.iter().map(|r| r.wall).collect(),
        metrics,
    }
}

/// [`convergence`] on the [`HEADLINE_METRICS`] that scenario `file` has, with no overrides
/// besides the paths.
/// [`headline_convergence`] in the market's tolerance instead of the step: the runs keep the
/// shipped step and divide `simulation.max_price_move_per_substep` by 1, 2 and 4 (the table's
/// step column then still shows h, h/2, h/4: read them as ε, ε/2, ε/4).
pub fn headline_tolerance_convergence(file: &str, paths: u64) -> Convergence {
    let (probe, metrics) = headline_metrics(file);
    let h = probe.step_days;
    let eps = probe
        .market
        .as_ref()
        .unwrap_or_else(|| panic!("{file} has no market"))
        .max_price_move_per_substep;
    convergence_with(file, paths, &[], &metrics, |step| {
        let k = (h / step).round();
        // The last `--set` of a key wins: back to the shipped step, the tolerance refined.
        vec![
            format!("simulation.step_days={h}"),
            format!("simulation.max_price_move_per_substep={}", eps / k),
        ]
    })
}

/// [`headline_convergence`] in the front door's resolution: the runs keep the shipped step
/// (and the market's tolerance) and divide `simulation.max_demand_per_substep` by 1, 2 and 4
/// (read the table's step column h, h/2, h/4 as δ, δ/2, δ/4).
pub fn headline_front_door_convergence(file: &str, paths: u64) -> Convergence {
    let (probe, metrics) = headline_metrics(file);
    let h = probe.step_days;
    let delta = probe
        .withdrawals
        .as_ref()
        .unwrap_or_else(|| panic!("{file} has no [withdrawals]"))
        .max_demand_per_substep;
    convergence_with(file, paths, &[], &metrics, |step| {
        let k = (h / step).round();
        vec![
            format!("simulation.step_days={h}"),
            format!("simulation.max_demand_per_substep={}", delta / k),
        ]
    })
}

pub fn headline_convergence(file: &str, paths: u64) -> Convergence {
    let (_, metrics) = headline_metrics(file);
    convergence(file, paths, &[], &metrics)
}

/// The scenario as shipped (one path) and the headline metrics it reports.
fn headline_metrics(file: &str) -> (Model, Vec<&'static str>) {
    let probe = load(file, &["simulation.paths=1".to_string()]);
    let layout = Layout::new(&probe);
    let metrics = HEADLINE_METRICS
        .into_iter()
        .filter(|name| MetricRef::find(&layout, name).is_some())
        .collect();
    (probe, metrics)
}

//! A run's description plus its metric statistics: the `summary.json` layout and the stdout table.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::contributions::DecompositionContributions;
use crate::stats::{LevelStats, MetricStats};

/// What was run: enough to reproduce it and to tell runs apart in a sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// Scenario name, e.g. `baseline`.
    pub scenario: String,
    /// Hash of the fully resolved scenario (after `--set` overrides).
    pub scenario_hash: String,
    /// Master random seed.
    pub seed: u64,
    /// Number of simulated paths.
    pub paths: u64,
    /// Version of the engine that produced the numbers.
    pub engine_version: String,
    /// Simulated horizon in days.
    pub horizon_days: f64,
    /// Time step in days.
    pub step_days: f64,
    /// The market's resolution, `simulation.max_price_move_per_substep` as the run used it
    /// (its default when the scenario leaves it out): the largest move of price / NAV, a
    /// fraction of NAV, one sub-step of the market integrates. None without `[market]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_price_move_per_substep: Option<f64>,
    /// The front door's resolution, `simulation.max_demand_per_substep` as the run used it
    /// (its default when the scenario leaves it out): the largest share of the remaining
    /// holders that asks to redeem within one of its sub-steps. None without `[withdrawals]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_demand_per_substep: Option<f64>,
    /// How the paths were importance-sampled, if they were (None: plain Monte Carlo, every
    /// path of weight 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importance: Option<ImportanceInfo>,
}

/// How a run was importance-sampled: the change of measure and the health of its
/// likelihood-ratio weights. In `summary.json` as `"importance"`, and one line of the stdout
/// table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportanceInfo {
    /// How the tilts were chosen, e.g. `"manual"` or
    /// `"auto (cross-entropy, metric nav_loss, level 0.999)"`.
    pub method: String,
    /// The tilts applied, in the scenario's order.
    pub tilts: Vec<Tilt>,
    /// Kish's effective sample size (Σw)² / Σw²: how many plain Monte Carlo paths the weighted
    /// paths are worth for a mean (n when every weight is 1).
    pub effective_sample_size: f64,
    /// Σw / n, which estimates 1: far from 1 (beyond a few `mean_weight_se`) means the tilts
    /// under-sample part of the distribution.
    pub mean_weight: f64,
    /// Standard error of `mean_weight`.
    pub mean_weight_se: f64,
    /// The largest weight; a few huge weights mean a noisy estimate.
    pub max_weight: f64,
}

/// One change of measure of an importance-sampled run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tilt {
    /// The loss source tilted (a shock, copula or beacon incident name).
    pub source: String,
    /// `"rate_multiplier"` (event rate × value) or `"factor_shift"` (copula factor mean shifted
    /// by value).
    pub kind: String,
    /// The multiplier or shift.
    pub value: f64,
}

/// Everything `summary.json` holds: the run description and one [`MetricStats`] per metric, in
/// the order they are reported.
///
/// # JSON layout
///
/// [`Serialize`] is implemented by hand so that metrics keep their order (a `serde_json::Value`
/// map would normally sort them):
///
/// ```json
/// { "scenario": "baseline", "scenario_hash": "…", "seed": 42, "paths": 100000,
///   "engine_version": "0.1.0", "horizon_days": 365.0, "step_days": 1.0,
///   "max_price_move_per_substep": 0.003,
///   "importance": { "method": "manual", "tilts": [{"source": …, "kind": …, "value": …}],
///       "effective_sample_size": …, "mean_weight": …, "mean_weight_se": …, "max_weight": … },
///   "levels": [0.9, 0.95, 0.99, 0.995, 0.999],
///   "metrics": { "slashed_fraction": { "mean": …, "std_error": …, "prob_loss": …,
///       "min": …, "max": …, "var": {"0.9": …, …}, "es": {…},
///       "var_ci": {"0.9": [lo, hi], …}, "es_ci": {"0.9": [lo, hi], …},
///       "exact": {"0.9": true, …},
///       "worst_paths": [{"path": 123, "value": 0.05}, …] }, … } }
/// ```
///
/// `max_price_move_per_substep` is present only for runs with a market, `importance` only for
/// importance-sampled runs. Level keys are the levels' shortest
/// round-trip decimal (`{}` of `f64`), `levels` is taken from the first metric (all metrics
/// normally share them) and non-finite numbers become `null`. `worst_paths` lists
/// [`MetricStats::worst_paths`] (up to [`WORST_PATHS`](crate::WORST_PATHS) paths with a loss
/// above 0, worst first; empty when no path has one).
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The run.
    pub info: RunInfo,
    /// Statistics per metric, in report order.
    pub metrics: Vec<MetricStats>,
    /// Risk contributions (`"contributions"` in `summary.json`, left out when empty): per
    /// decomposed metric, level and decomposition.
    pub contributions: Vec<DecompositionContributions>,
}

impl Summary {
    /// The summary as a JSON value. `serde_json`'s map sorts keys (unless its `preserve_order`
    /// feature is on), so use
    /// [`write_summary_json`](crate::write_summary_json) (which serializes `self` directly) when
    /// the order of the metrics matters.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a summary has only string keys, so it always serializes")
    }

    /// The statistics of the metric called `name` (the first one, should a name repeat).
    pub fn metric(&self, name: &str) -> Option<&MetricStats> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// The tail levels of the report: those of the first metric (empty without metrics).
    pub fn levels(&self) -> Vec<f64> {
        self.metrics
            .first()
            .map(|m| m.levels.iter().map(|l| l.level).collect())
            .unwrap_or_default()
    }
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let i = &self.info;
        let entries = 9
            + usize::from(!self.contributions.is_empty())
            + usize::from(i.max_price_move_per_substep.is_some())
            + usize::from(i.max_demand_per_substep.is_some())
            + usize::from(i.importance.is_some());
        let mut map = serializer.serialize_map(Some(entries))?;
        map.serialize_entry("scenario", &i.scenario)?;
        map.serialize_entry("scenario_hash", &i.scenario_hash)?;
        map.serialize_entry("seed", &i.seed)?;
        map.serialize_entry("paths", &i.paths)?;
        map.serialize_entry("engine_version", &i.engine_version)?;
        map.serialize_entry("horizon_days", &i.horizon_days)?;
        map.serialize_entry("step_days", &i.step_days)?;
        if let Some(tol) = i.max_price_move_per_substep {
            map.serialize_entry("max_price_move_per_substep", &tol)?;
        }
        if let Some(share) = i.max_demand_per_substep {
            map.serialize_entry("max_demand_per_substep", &share)?;
        }
        if let Some(imp) = &i.importance {
            map.serialize_entry("importance", imp)?;
        }
        map.serialize_entry("levels", &self.levels())?;
        map.serialize_entry("metrics", &MetricsJson(&self.metrics))?;
        if !self.contributions.is_empty() {
            map.serialize_entry("contributions", &self.contributions)?;
        }
        map.end()
    }
}

/// `"metrics"`: name → statistics, in order.
struct MetricsJson<'a>(&'a [MetricStats]);

impl Serialize for MetricsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for m in self.0 {
            map.serialize_entry(&m.name, &MetricJson(m))?;
        }
        map.end()
    }
}

/// One metric's object in `summary.json`.
struct MetricJson<'a>(&'a MetricStats);

impl Serialize for MetricJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let mut map = serializer.serialize_map(Some(11))?;
        map.serialize_entry("mean", &m.mean)?;
        map.serialize_entry("std_error", &m.std_error)?;
        map.serialize_entry("prob_loss", &m.prob_loss)?;
        map.serialize_entry("min", &m.min)?;
        map.serialize_entry("max", &m.max)?;
        map.serialize_entry("var", &ByLevel(&m.levels, |l: &LevelStats| l.var))?;
        map.serialize_entry("es", &ByLevel(&m.levels, |l: &LevelStats| l.es))?;
        map.serialize_entry(
            "var_ci",
            &ByLevel(&m.levels, |l: &LevelStats| [l.var_lo, l.var_hi]),
        )?;
        map.serialize_entry(
            "es_ci",
            &ByLevel(&m.levels, |l: &LevelStats| [l.es_lo, l.es_hi]),
        )?;
        map.serialize_entry("exact", &ByLevel(&m.levels, |l: &LevelStats| l.exact))?;
        map.serialize_entry("worst_paths", &m.worst_paths)?;
        map.end()
    }
}

/// A map from level (as `"0.99"`) to one field of its [`LevelStats`].
struct ByLevel<'a, F>(&'a [LevelStats], F);

impl<F, V> Serialize for ByLevel<'_, F>
where
    F: Fn(&LevelStats) -> V,
    V: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for l in self.0 {
            map.serialize_entry(&l.level.to_string(), &(self.1)(l))?;
        }
        map.end()
    }
}

/// A number for people: six significant digits, scientific notation outside [1e-4, 1e7).
fn human(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    let magnitude = x.abs().log10().floor();
    if (-4.0..7.0).contains(&magnitude) {
        format!("{:.*}", (5.0 - magnitude).max(0.0) as usize, x)
    } else {
        format!("{x:.5e}")
    }
}

/// `importance sampling: ESS … of … paths, mean weight … ± …, max weight …` and a newline: the
/// ESS rounded to a whole number, the mean weight with as many decimals as two significant
/// digits of its standard error need (at least 4), the maximum in six significant digits.
fn importance_line(imp: &ImportanceInfo, paths: u64) -> String {
    let se = imp.mean_weight_se;
    let decimals = if se > 0.0 && se.is_finite() {
        (1.0 - se.log10().floor()).clamp(4.0, 17.0) as usize
    } else {
        4
    };
    format!(
        "importance sampling: ESS {:.0} of {paths} paths, mean weight {:.*} ± {:.*}, max weight {}\n",
        imp.effective_sample_size,
        decimals,
        imp.mean_weight,
        decimals,
        se,
        human(imp.max_weight),
    )
}

/// A human-readable table of the headline metrics, for stdout.
///
/// A first line names the scenario, the number of paths and the seed; for an importance-sampled
/// run a second line gives the weights' health,
/// `importance sampling: ESS 12345 of 100000 paths, mean weight 1.0003 ± 0.0021, max weight 17.2`
/// (see [`ImportanceInfo`]); then one aligned row per
/// metric in `headline` (all metrics, in report order, if `headline` is empty) with its mean,
/// VaR at 95 %, 99 % and 99.9 %, ES at 99 % and the [`CI_CONFIDENCE`](crate::CI_CONFIDENCE)
/// interval of VaR 99 % as `[lo, hi]`. Numbers have six significant digits (scientific notation
/// below 1e-4 or from 1e7 on); a level that was not computed, or a headline name that is not in
/// the summary, shows as `-`. With [`Summary::contributions`] at 99 %, lines starting `ES 99%`
/// then give the largest contributors to ES 99 % (see `render_contributions`). The string
/// ends with a newline.
pub fn render_table(s: &Summary, headline: &[&str]) -> String {
    let names: Vec<&str> = if headline.is_empty() {
        s.metrics.iter().map(|m| m.name.as_str()).collect()
    } else {
        headline.to_vec()
    };
    let header = [
        "metric",
        "mean",
        "VaR 95%",
        "VaR 99%",
        "VaR 99.9%",
        "ES 99%",
        "VaR 99% CI",
    ]
    .map(String::from);
    let mut rows = vec![header.to_vec()];
    for name in names {
        let m = s.metric(name);
        let at = |level: f64, f: fn(&LevelStats) -> String| {
            m.and_then(|m| m.level(level))
                .map(f)
                .unwrap_or_else(|| "-".to_owned())
        };
        rows.push(vec![
            name.to_owned(),
            m.map(|m| human(m.mean)).unwrap_or_else(|| "-".to_owned()),
            at(0.95, |l| human(l.var)),
            at(0.99, |l| human(l.var)),
            at(0.999, |l| human(l.var)),
            at(0.99, |l| human(l.es)),
            at(0.99, |l| {
                format!("[{}, {}]", human(l.var_lo), human(l.var_hi))
            }),
        ]);
    }

    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let i = &s.info;
    let mut out = format!(
        "scenario: {}   paths: {}   seed: {}\n",
        i.scenario, i.paths, i.seed
    );
    if let Some(imp) = &i.importance {
        out.push_str(&importance_line(imp, i.paths));
    }
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            // Names left-aligned, numbers right-aligned so their digits line up.
            if c == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    // No blank line before it: several runs' tables are separated by one.
    out.push_str(&render_contributions(
        &s.contributions,
        TABLE_CONTRIBUTION_LEVEL,
        TABLE_TOP_CONTRIBUTORS,
    ));
    out
}

/// The level whose risk contributions [`render_table`] shows.
const TABLE_CONTRIBUTION_LEVEL: f64 = 0.99;

/// How many components per decomposition [`render_table`] shows.
const TABLE_TOP_CONTRIBUTORS: usize = 3;

/// The block of [`render_table`] on risk contributions at `level`. Per decomposed metric a
/// line `ES 99% of slashed_eth = 1234.5, carried by (share, 95% interval):`, then per
/// decomposition its `top` largest contributors, `name 62.1% [58.0%, 66.2%]`, largest first
/// (ties in the decomposition's order). The first metric is shown by every decomposition, the
/// others by their first one only (`nav_loss` by kind). When a decomposition has a negative
/// contribution (a gain, such as rewards), shares mean little: the contributions are shown as
/// values, largest in magnitude first. An ES of 0 gets one line. Empty without contributions at
/// `level`.
fn render_contributions(blocks: &[DecompositionContributions], level: f64, top: usize) -> String {
    let at: Vec<&DecompositionContributions> = blocks
        .iter()
        .filter(|b| (b.level - level).abs() <= 1e-12)
        .collect();
    let first_metric = at.first().map(|b| b.metric.clone());
    let shown: Vec<&DecompositionContributions> = at
        .iter()
        .enumerate()
        .filter(|&(i, b)| {
            Some(&b.metric) == first_metric.as_ref() || i == 0 || at[i - 1].metric != b.metric
        })
        .map(|(_, b)| *b)
        .collect();
    let mut out = String::new();
    let width = shown
        .iter()
        .map(|b| b.decomposition.chars().count())
        .max()
        .unwrap_or(0);
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);
    let mut metric = "";
    for b in shown {
        let new_metric = b.metric != metric;
        metric = &b.metric;
        if b.es == 0.0 {
            if new_metric {
                out.push_str(&format!(
                    "ES {}% of {} = 0: no loss in the tail\n",
                    100.0 * level,
                    b.metric
                ));
            }
            continue;
        }
        let values = b.components.iter().any(|c| c.es_contribution < 0.0);
        if new_metric {
            out.push_str(&format!(
                "ES {}% of {} = {}{}, carried by ({}, {}% interval):\n",
                100.0 * level,
                b.metric,
                human(b.es),
                if b.exact {
                    ""
                } else {
                    " (approximate: not every path tied at VaR was kept)"
                },
                if values { "contribution" } else { "share" },
                100.0 * crate::CI_CONFIDENCE,
            ));
        }
        let key = |c: &crate::ComponentContribution| {
            if values {
                c.es_contribution.abs()
            } else {
                c.es_contribution
            }
        };
        let mut order: Vec<usize> = (0..b.components.len()).collect();
        order.sort_by(|&i, &j| {
            key(&b.components[j])
                .total_cmp(&key(&b.components[i]))
                .then(i.cmp(&j))
        });
        let parts: Vec<String> = order
            .iter()
            .take(top)
            .map(|&i| {
                let c = &b.components[i];
                if values {
                    format!(
                        "{} {} [{}, {}]",
                        c.component,
                        human(c.es_contribution),
                        human(c.ci_lo),
                        human(c.ci_hi)
                    )
                } else {
                    format!(
                        "{} {} [{}, {}]",
                        c.component,
                        pct(c.share),
                        pct(c.ci_lo / b.es),
                        pct(c.ci_hi / b.es)
                    )
                }
            })
            .collect();
        let pad = width - b.decomposition.chars().count();
        out.push_str(&format!(
            "  {}{}  {}\n",
            b.decomposition,
            " ".repeat(pad),
            parts.join(" · ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{DEFAULT_LEVELS, metric_stats};

    pub(crate) fn sample_summary() -> Summary {
        let a: Vec<f64> = (1..=1000).map(|i| f64::from(i) / 1000.0).collect();
        let b: Vec<f64> = (0..1000).map(|i| f64::from(i % 7) * 1e-6).collect();
        Summary {
            info: RunInfo {
                scenario: "baseline".into(),
                scenario_hash: "abc123".into(),
                seed: 42,
                paths: 1000,
                engine_version: "0.1.0".into(),
                horizon_days: 365.0,
                step_days: 1.0,
                max_price_move_per_substep: None,
                max_demand_per_substep: None,
                importance: None,
            },
            // Not in alphabetical order, to check that the order is kept.
            metrics: vec![
                metric_stats("zeta_loss", &a, &DEFAULT_LEVELS),
                metric_stats("alpha_loss", &b, &DEFAULT_LEVELS),
            ],
            contributions: Vec::new(),
        }
    }

    #[test]
    fn json_layout() {
        let s = sample_summary();
        let j = s.to_json();
        assert_eq!(j["scenario"], "baseline");
        assert_eq!(j["seed"], 42);
        assert_eq!(j["horizon_days"], 365.0);
        assert_eq!(
            j["levels"],
            serde_json::json!([0.9, 0.95, 0.99, 0.995, 0.999])
        );
        let z = &j["metrics"]["zeta_loss"];
        for key in ["0.9", "0.95", "0.99", "0.995", "0.999"] {
            assert!(z["var"][key].is_f64(), "{key}");
            assert!(z["es"][key].is_f64(), "{key}");
            assert_eq!(z["var_ci"][key].as_array().unwrap().len(), 2);
            assert_eq!(z["es_ci"][key].as_array().unwrap().len(), 2);
        }
        assert_eq!(z["var"]["0.99"], 0.99);
        assert_eq!(z["mean"], s.metric("zeta_loss").unwrap().mean);
    }

    #[test]
    fn json_keeps_metric_order_and_writes_null_for_nan() {
        let mut s = sample_summary();
        s.metrics.push(metric_stats("empty", &[], &DEFAULT_LEVELS));
        let text = serde_json::to_string_pretty(&s).unwrap();
        let (zeta, alpha) = (
            text.find("\"zeta_loss\"").unwrap(),
            text.find("\"alpha_loss\"").unwrap(),
        );
        assert!(zeta < alpha);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(back["metrics"]["empty"]["mean"].is_null());
        assert!(back["metrics"]["empty"]["var_ci"]["0.99"][0].is_null());
    }

    #[test]
    fn json_market_resolution_follows_the_step() {
        let mut s = sample_summary();
        let plain = serde_json::to_string_pretty(&s).unwrap();
        assert!(!plain.contains("max_price_move_per_substep"));
        s.info.max_price_move_per_substep = Some(0.003);
        s.info.importance = Some(importance());
        let text = serde_json::to_string_pretty(&s).unwrap();
        let (step, tol, imp) = (
            text.find("\"step_days\"").unwrap(),
            text.find("\"max_price_move_per_substep\"").unwrap(),
            text.find("\"importance\"").unwrap(),
        );
        assert!(step < tol && tol < imp);
        assert_eq!(s.to_json()["max_price_move_per_substep"], 0.003);
    }

    fn importance() -> ImportanceInfo {
        ImportanceInfo {
            method: "auto (cross-entropy, metric nav_loss, level 0.999)".into(),
            tilts: vec![
                Tilt {
                    source: "prysm-bug".into(),
                    kind: "rate_multiplier".into(),
                    value: 8.0,
                },
                Tilt {
                    source: "restaking".into(),
                    kind: "factor_shift".into(),
                    value: -1.5,
                },
            ],
            effective_sample_size: 12_345.4,
            mean_weight: 1.000_312,
            mean_weight_se: 0.002_08,
            max_weight: 17.25,
        }
    }

    #[test]
    fn json_importance_and_exact_flags() {
        let mut s = sample_summary();
        let plain = serde_json::to_string_pretty(&s).unwrap();
        assert!(!plain.contains("importance"));
        assert_eq!(s.to_json()["metrics"]["zeta_loss"]["exact"]["0.99"], true);
        s.metrics[1].levels[0].exact = false;
        s.info.importance = Some(importance());
        let text = serde_json::to_string_pretty(&s).unwrap();
        // Between the run's description and the levels.
        let (step, imp, levels) = (
            text.find("\"step_days\"").unwrap(),
            text.find("\"importance\"").unwrap(),
            text.find("\"levels\"").unwrap(),
        );
        assert!(step < imp && imp < levels);
        let j: serde_json::Value = serde_json::from_str(&text).unwrap();
        let i = &j["importance"];
        assert_eq!(
            i["method"],
            "auto (cross-entropy, metric nav_loss, level 0.999)"
        );
        assert_eq!(i["tilts"][1]["kind"], "factor_shift");
        assert_eq!(i["tilts"][1]["value"], -1.5);
        assert_eq!(i["effective_sample_size"], 12_345.4);
        assert_eq!(i["max_weight"], 17.25);
        assert_eq!(j["metrics"]["alpha_loss"]["exact"]["0.9"], false);
        assert_eq!(j["metrics"]["alpha_loss"]["exact"]["0.999"], true);
    }

    #[test]
    fn table_importance_line() {
        let mut s = sample_summary();
        s.info.importance = Some(importance());
        let t = render_table(&s, &[]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[1],
            "importance sampling: ESS 12345 of 1000 paths, mean weight 1.0003 ± 0.0021, \
             max weight 17.2500"
        );
        assert!(lines[2].starts_with("metric"));
        assert_eq!(lines.len(), 5);
        // The mean weight gets the decimals its standard error needs.
        let mut i = importance();
        i.mean_weight_se = 0.000_012_3;
        assert!(importance_line(&i, 10).contains("mean weight 1.000312 ± 0.000012,"));
    }

    #[test]
    fn metric_lookup() {
        let s = sample_summary();
        assert_eq!(s.metric("alpha_loss").unwrap().name, "alpha_loss");
        assert!(s.metric("nope").is_none());
    }

    #[test]
    fn table_has_header_rows_and_alignment() {
        let s = sample_summary();
        let t = render_table(&s, &["alpha_loss", "zeta_loss", "missing"]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "scenario: baseline   paths: 1000   seed: 42");
        assert!(lines[1].starts_with("metric") && lines[1].contains("VaR 99.9%"));
        assert!(lines[2].starts_with("alpha_loss"));
        // VaR 99 % of 1/1000 … 1000/1000 is L_(990); its CI ranks 983 and 997 are checked
        // against exact binomial sums in the stats tests.
        assert!(
            lines[3].starts_with("zeta_loss")
                && lines[3].contains("0.990000")
                && lines[3].contains("[0.983000, 0.997000]")
        );
        assert!(lines[4].starts_with("missing") && lines[4].trim_end().ends_with('-'));
        // Tiny values go scientific rather than to a row of zeros.
        assert!(lines[2].contains("e-6"), "{}", lines[2]);
        // Right-aligned columns: the header and the full rows end at the same place.
        assert_eq!(lines[1].len(), lines[3].len());
        assert_eq!(render_table(&s, &[]).lines().count(), 4);
    }

    /// A block of contributions: `es` and (component, contribution, half-width) per component.
    fn block(
        metric: &str,
        decomposition: &str,
        level: f64,
        es: f64,
        parts: &[(&str, f64, f64)],
    ) -> DecompositionContributions {
        DecompositionContributions {
            metric: metric.into(),
            level,
            decomposition: decomposition.into(),
            es,
            var: es,
            exact: true,
            tail_paths: 10,
            window_paths: 2,
            diversification_benefit: None,
            components: parts
                .iter()
                .map(|&(name, c, half)| crate::ComponentContribution {
                    component: name.into(),
                    es_contribution: c,
                    share: if es != 0.0 { c / es } else { 0.0 },
                    ci_lo: c - half,
                    ci_hi: c + half,
                    standalone_es: None,
                    var_contribution: c,
                    var_contribution_lo: c,
                    var_contribution_hi: c,
                })
                .collect(),
        }
    }

    #[test]
    fn table_shows_the_largest_contributors_to_es_99() {
        let mut s = sample_summary();
        s.contributions = vec![
            block("slashed_eth", "source", 0.95, 10.0, &[("x", 10.0, 1.0)]),
            block(
                "slashed_eth",
                "source",
                0.99,
                200.0,
                &[
                    ("a", 20.0, 2.0),
                    ("b", 150.0, 10.0),
                    ("c", 20.0, 1.0),
                    ("d", 10.0, 1.0),
                ],
            ),
            block(
                "slashed_eth",
                "operator",
                0.99,
                200.0,
                &[("op", 200.0, 4.0)],
            ),
            block(
                "nav_loss",
                "kind",
                0.99,
                0.01,
                &[("slashing", 0.03, 0.001), ("rewards", -0.02, 0.0)],
            ),
            block("nav_loss", "source", 0.99, 0.01, &[("a", 0.01, 0.001)]),
            block("other", "kind", 0.99, 0.0, &[("z", 0.0, 0.0)]),
        ];
        let t = render_table(&s, &["zeta_loss"]);
        let lines: Vec<&str> = t.lines().skip(3).collect();
        assert_eq!(
            lines,
            [
                "ES 99% of slashed_eth = 200.000, carried by (share, 95% interval):",
                // The three largest, ties in the decomposition's order; shares of ES.
                "  source    b 75.0% [70.0%, 80.0%] · a 10.0% [9.0%, 11.0%] · c 10.0% [9.5%, 10.5%]",
                "  operator  op 100.0% [98.0%, 102.0%]",
                // A gain: values, largest in magnitude first; only the first decomposition.
                "ES 99% of nav_loss = 0.0100000, carried by (contribution, 95% interval):",
                "  kind      slashing 0.0300000 [0.0290000, 0.0310000] · rewards -0.0200000 [-0.0200000, -0.0200000]",
                "ES 99% of other = 0: no loss in the tail",
            ]
        );
        // summary.json: the blocks in order, after the metrics.
        let j = s.to_json();
        let c = &j["contributions"];
        assert_eq!(c.as_array().unwrap().len(), 6);
        assert_eq!(c[1]["decomposition"], "source");
        assert_eq!(c[1]["components"][1]["component"], "b");
        assert_eq!(c[1]["components"][1]["share"], 0.75);
        // Unknown numbers are left out (summary.json holds no null).
        assert!(c[1]["components"][1].get("standalone_es").is_none());
        assert!(c[1].get("diversification_benefit").is_none());
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.find("\"metrics\"").unwrap() < text.find("\"contributions\"").unwrap());
        // Without contributions at 99 %, nothing is added to the table; without any, nothing
        // to summary.json.
        s.contributions.retain(|b| b.level != 0.99);
        assert_eq!(render_table(&s, &["zeta_loss"]).lines().count(), 3);
        s.contributions.clear();
        assert!(s.to_json().get("contributions").is_none());
    }

    #[test]
    fn human_numbers() {
        assert_eq!(human(0.0), "0");
        assert_eq!(human(1.0), "1.00000");
        assert_eq!(human(0.0123456789), "0.0123457");
        assert_eq!(human(123456.789), "123457");
        assert_eq!(human(-2.5e-7), "-2.50000e-7");
        assert_eq!(human(f64::NAN), "NaN");
    }
}

//! The report of one run: each section only where the run has the data.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::fmt::{Unit, count, esc, exact, level, sig};
use crate::page::{Cell, METRIC_HEAD, Page, figure, metric_rows, table};
use crate::read::{
    self, BandRow, Bin, Contribution, Exceedance, Level, Summary, WaitRow, distributions,
};
use crate::svg::{Axis, Chart, Mark, Shape, hbars};
use crate::{Error, Stories};

/// Everything a report reads from one run directory.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The directory.
    pub dir: PathBuf,
    /// `summary.json`.
    pub summary: Summary,
    /// `loss_distribution.csv`, per metric.
    pub dists: Vec<(String, Vec<Bin>)>,
    /// `contributions.csv` (empty when absent or header-only).
    pub contributions: Vec<Contribution>,
    /// `redemption_wait.csv`, when present.
    pub waits: Option<Vec<WaitRow>>,
    /// `price_paths.csv`, when present.
    pub price: Option<Vec<BandRow>>,
    /// `queue_paths.csv`, when present.
    pub queue: Option<Vec<BandRow>>,
    /// `utilization_paths.csv`, when present.
    pub utilization: Option<Vec<BandRow>>,
    /// `exit_queue_paths.csv`, when present.
    pub exit_queue: Option<Vec<BandRow>>,
    /// A sector's `price_paths.lrt.<name>.csv` present, per LRT (in the order of its
    /// `slashed_fraction.lrt.<name>` metrics, the `[[lrts]]` order).
    pub lrt_price: Vec<(String, Vec<BandRow>)>,
    /// `exceedance.csv`, when present.
    pub exceedance: Option<Vec<(String, Vec<Exceedance>)>>,
}

/// Reads `file` with `f` when it exists.
fn optional<T>(
    dir: &Path,
    file: &str,
    f: impl Fn(&Path) -> Result<T, Error>,
) -> Result<Option<T>, Error> {
    let p = dir.join(file);
    if p.is_file() {
        f(&p).map(Some)
    } else {
        Ok(None)
    }
}

impl RunData {
    /// Reads a run directory: `summary.json` and `loss_distribution.csv` must be there, the
    /// other files are read when present.
    pub fn load(dir: &Path) -> Result<RunData, Error> {
        let summary_path = dir.join("summary.json");
        let summary = read::summary(&summary_path)?;
        for (name, _) in &summary.metrics.0 {
            summary.levels_of(&summary_path, name)?;
        }
        let lrts: Vec<String> = (summary.metrics.0.iter())
            .filter_map(|(n, _)| n.strip_prefix("slashed_fraction.lrt."))
            .map(String::from)
            .collect();
        let mut lrt_price = Vec::new();
        for lrt in lrts {
            if let Some(rows) = optional(dir, &format!("price_paths.lrt.{lrt}.csv"), read::bands)? {
                lrt_price.push((lrt, rows));
            }
        }
        Ok(RunData {
            dir: dir.to_path_buf(),
            lrt_price,
            dists: distributions(&dir.join("loss_distribution.csv"))?,
            contributions: optional(dir, "contributions.csv", read::contributions)?
                .unwrap_or_default(),
            waits: optional(dir, "redemption_wait.csv", read::waits)?,
            price: optional(dir, "price_paths.csv", read::bands)?,
            queue: optional(dir, "queue_paths.csv", read::bands)?,
            utilization: optional(dir, "utilization_paths.csv", read::bands)?,
            exit_queue: optional(dir, "exit_queue_paths.csv", read::bands)?,
            exceedance: optional(dir, "exceedance.csv", read::exceedance)?,
            summary,
        })
    }

    /// The levels of metric `name` (validated at load).
    pub fn levels(&self, name: &str) -> Vec<Level> {
        self.summary
            .levels_of(&self.dir.join("summary.json"), name)
            .unwrap_or_default()
    }

    /// The levels of `name` among 0.95, 0.99 and 0.999 (the short tables').
    pub fn short_levels(&self, name: &str) -> Vec<Level> {
        self.levels(name)
            .into_iter()
            .filter(|l| [0.95, 0.99, 0.999].contains(&l.alpha))
            .collect()
    }

    /// The histogram of `name`.
    pub fn bins(&self, name: &str) -> Option<&[Bin]> {
        self.dists
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }

    /// The exceedance rows of `name`, when `exceedance.csv` has them.
    pub fn exceedance_of(&self, name: &str) -> Option<&[Exceedance]> {
        self.exceedance
            .as_ref()?
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.as_slice())
    }

    /// Whether the run has metric `name`.
    pub fn has(&self, name: &str) -> bool {
        self.summary.metric(name).is_some()
    }
}

/// A few words on what metric `name` is, with its unit, for an axis title.
pub fn describe(name: &str) -> String {
    let unit = Unit::of(name).label();
    let what = match name {
        "slashed_fraction" => "ETH slashed ÷ collateral",
        "nav_loss" => "NAV loss per LRT",
        "slashed_eth" => "ETH slashed",
        "redeem_days_t0" => "wait of a holder asking at t = 0",
        "redeem_days_stress" => "wait of a holder asking as the stress starts",
        "peak_queue_days" => "longest wait in the queue",
        "peak_queue_eth" => "largest withdrawal queue",
        "max_discount" => "deepest discount to NAV",
        "forced_sale_loss" => "loss of a forced seller",
        "liquidated_share" => "collateral liquidated ÷ LRT supply",
        "bad_debt_eth" => "bad debt",
        "looper_equity_loss" => "looper's equity loss",
        "cascade_depth" => "liquidation calls in the deepest cascade",
        "exploit_loss_eth" => "ETH lost to exploits",
        "reserve_end_eth" => "reserves at the horizon",
        "reserve_paid_eth" => "ETH paid by the reserves",
        _ => return format!("{name} ({unit})"),
    };
    format!("{what}, {name} ({unit})")
}

/// The table of several metrics' statistics (short levels).
pub fn stats_table(run: &RunData, names: &[&str], all_levels: bool, tag: Option<&str>) -> String {
    let mut rows = Vec::new();
    for name in names {
        if let Some(m) = run.summary.metric(name) {
            let levels = if all_levels {
                run.levels(name)
            } else {
                run.short_levels(name)
            };
            rows.extend(metric_rows(name, m, &levels, tag));
        }
    }
    table("stats", &METRIC_HEAD, &rows)
}

/// A histogram of `name` (share of paths per bin, log scale), or `None` without bins.
pub fn histogram(run: &RunData, name: &str, id: &str) -> Option<String> {
    let bins = run.bins(name)?;
    let m = run.summary.metric(name)?;
    if m.max <= m.min {
        // A constant: no distribution to draw.
        return None;
    }
    let n = run.summary.paths as f64;
    let unit = Unit::of(name);
    let shares: Vec<(f64, f64, f64)> = bins
        .iter()
        .filter(|b| b.count > 0.0)
        .map(|b| (b.lo, b.hi, b.count / n))
        .collect();
    let min_share = shares.iter().map(|s| s.2).fold(1.0, f64::min);
    let lo = bins.first()?.lo;
    let hi = bins.last()?.hi;
    let chart = Chart {
        title: format!("Distribution of {name}"),
        x: Axis::linear(describe(name), unit, lo, hi),
        y: Axis::log("share of paths (log scale)", Unit::Fraction, min_share, 1.0),
        marks: vec![Mark::Bars {
            bars: shares
                .iter()
                .map(|&(a, b, s)| if a == b { (a, a, s) } else { (a, b, s) })
                .collect(),
            color: 0,
        }],
        legend: Vec::new(),
    };
    let rows: Vec<Vec<Cell>> = bins
        .iter()
        .map(|b| {
            vec![
                Cell::num(b.lo, unit),
                Cell::num(b.hi, unit),
                Cell::text(count(b.count as u64)),
                Cell::num(b.count / n, Unit::Fraction),
                Cell::num(b.exceedance, Unit::Fraction),
            ]
        })
        .collect();
    Some(figure(
        id,
        &format!(
            "Distribution of {name} over {} paths: mean {}, P(> 0) {}",
            count(run.summary.paths),
            unit.format(m.mean),
            Unit::Fraction.format(m.prob_loss)
        ),
        &chart.render(),
        "Share of paths in each bin, on a log scale so that the tail shows; bins of equal width from the smallest to the largest value (loss_distribution.csv).",
        &table(
            "data",
            &[
                "bin from",
                "bin to",
                "paths",
                "share",
                "share at or above the bin's end",
            ],
            &rows,
        ),
    ))
}

/// One run's exceedance curve: marks, table rows, x range, smallest probability, source file.
pub type ExceedanceParts = (Vec<Mark>, Vec<Vec<Cell>>, (f64, f64), f64, &'static str);

/// The marks of one run's exceedance curve of `name` in palette colour `c`, its table rows,
/// the x range and the smallest probability; `label` names the run in the table (comparisons).
pub fn exceedance_marks(
    run: &RunData,
    name: &str,
    c: usize,
    label: Option<&str>,
) -> ExceedanceParts {
    let unit = Unit::of(name);
    let mut marks = Vec::new();
    let mut rows = Vec::new();
    let (mut xmin, mut xmax, mut pmin) = (f64::INFINITY, f64::NEG_INFINITY, 1.0f64);
    let source;
    let run_cell = |rows: &mut Vec<Cell>| {
        if let Some(l) = label {
            rows.insert(0, Cell::name(l));
        }
    };
    if let Some(ex) = run.exceedance_of(name).filter(|e| !e.is_empty()) {
        source = "exceedance.csv";
        let mut band = Vec::new();
        for e in ex {
            band.push((e.ci[0], e.tail_prob));
            xmin = xmin.min(e.ci[0]);
            xmax = xmax.max(e.ci[1]);
            pmin = pmin.min(e.tail_prob);
        }
        for e in ex.iter().rev() {
            band.push((e.ci[1], e.tail_prob));
        }
        marks.push(Mark::Area {
            pts: band,
            color: c,
            opacity: 0.2,
        });
        marks.push(Mark::Line {
            pts: ex.iter().map(|e| (e.loss, e.tail_prob)).collect(),
            color: c,
            dash: false,
        });
        // The body above the curve's first tail probability (10 %), dashed, from the bin
        // edges of loss_distribution.csv.
        let top = ex.iter().map(|e| e.tail_prob).fold(0.0, f64::max);
        if let Some(bins) = run.bins(name).filter(|b| !b.is_empty()) {
            let mut body = vec![(bins[0].lo, 1.0)];
            body.extend(
                bins.iter()
                    .filter(|b| b.exceedance > top)
                    .map(|b| (b.hi, b.exceedance)),
            );
            if let Some(first) = ex.first() {
                body.push((first.loss, first.tail_prob));
            }
            for &(x, _) in &body {
                xmin = xmin.min(x);
                xmax = xmax.max(x);
            }
            marks.push(Mark::Line {
                pts: body,
                color: c,
                dash: true,
            });
        }
        for e in ex {
            let mut r = vec![
                Cell::num(e.tail_prob, Unit::Fraction),
                Cell::num(e.loss, unit),
                Cell::interval(e.ci, unit),
                Cell::text(if e.exact { "exact" } else { "histogram" }),
            ];
            run_cell(&mut r);
            rows.push(r);
        }
    } else if let Some(bins) = run.bins(name) {
        source = "loss_distribution.csv";
        let mut pts = vec![(bins[0].lo, 1.0)];
        for b in bins {
            xmin = xmin.min(b.lo);
            xmax = xmax.max(b.hi);
            if b.exceedance > 0.0 {
                pts.push((b.hi, b.exceedance));
                pmin = pmin.min(b.exceedance);
                let mut r = vec![
                    Cell::num(b.exceedance, Unit::Fraction),
                    Cell::num(b.hi, unit),
                    Cell::text(""),
                    Cell::text("bin edge"),
                ];
                run_cell(&mut r);
                rows.push(r);
            }
        }
        marks.push(Mark::Line {
            pts,
            color: c,
            dash: false,
        });
    } else {
        source = "";
    }
    let levels = run.levels(name);
    marks.push(Mark::Points {
        pts: levels
            .iter()
            .map(|l| (l.var, 1.0 - l.alpha, Some(l.var_ci)))
            .collect(),
        color: c,
        shape: Shape::Circle,
    });
    marks.push(Mark::Points {
        pts: levels
            .iter()
            .map(|l| (l.es, 1.0 - l.alpha, Some(l.es_ci)))
            .collect(),
        color: c,
        shape: Shape::Diamond,
    });
    for l in &levels {
        xmin = xmin.min(l.var_ci[0]).min(l.es_ci[0]);
        xmax = xmax.max(l.var_ci[1]).max(l.es_ci[1]);
        pmin = pmin.min(1.0 - l.alpha);
    }
    (marks, rows, (xmin, xmax), pmin, source)
}

/// The exceedance curve of `name` for one or more runs (label, run).
pub fn exceedance_figure(runs: &[(&str, &RunData)], name: &str, id: &str) -> String {
    let series: Vec<(&str, &RunData, &str)> = runs
        .iter()
        .map(|&(label, run)| (label, run, name))
        .collect();
    exceedance_curves(&series, name, "run", id)
}

/// Exceedance curves of several series (label, run, metric) in one chart, titled after
/// `name` (a metric, or a pattern such as `slashed_fraction.lrt.*`); the metrics share a
/// unit. `kind` heads the labels' column of the data table (`run`, `LRT`).
fn exceedance_curves(
    series: &[(&str, &RunData, &str)],
    name: &str,
    kind: &str,
    id: &str,
) -> String {
    let unit = Unit::of(series[0].2);
    let mut marks = Vec::new();
    let mut rows = Vec::new();
    let (mut xmin, mut xmax, mut pmin) = (f64::INFINITY, f64::NEG_INFINITY, 1.0f64);
    let mut sources = Vec::new();
    let mut legend = Vec::new();
    let several = series.len() > 1;
    for (i, &(label, run, metric)) in series.iter().enumerate() {
        let (m, r, (a, b), p, src) =
            exceedance_marks(run, metric, i, if several { Some(label) } else { None });
        marks.extend(m);
        rows.extend(r);
        xmin = xmin.min(a);
        xmax = xmax.max(b);
        pmin = pmin.min(p);
        if !sources.contains(&src) {
            sources.push(src);
        }
        if several {
            legend.push((label.to_string(), i));
        }
    }
    let chart = Chart {
        title: format!("P({name} > x)"),
        x: Axis::linear(describe(name), unit, xmin, xmax),
        // Half a decade below the smallest probability, so that its points sit above the axis.
        y: Axis::log("P(loss > x), log scale", Unit::Fraction, pmin * 0.5, 1.0),
        marks,
        legend,
    };
    let first = series[0].1;
    let l99 = first.levels(name).into_iter().find(|l| l.alpha == 0.99);
    let caption = match (several, l99) {
        (false, Some(l)) => format!(
            "Exceedance curve of {name}: 1 path in 100 loses more than {} (VaR 99 %), and those lose {} on average (ES 99 %)",
            unit.format(l.var),
            unit.format(l.es)
        ),
        _ => format!("Exceedance curve P({name} > x)"),
    };
    let band = if sources.contains(&"exceedance.csv") {
        "the solid curve and its shaded band are each VaR with its 95 % interval (exceedance.csv, from 10 % down); the dashed part above is read at the histogram's bin edges (loss_distribution.csv)"
    } else {
        "the curve is read at the histogram's bin edges (this run has no exceedance.csv, so no band along the curve)"
    };
    let mut head = vec!["P(loss > x)", "x", "95 % interval", "from"];
    if several {
        head.insert(0, kind);
    }
    figure(
        id,
        &caption,
        &chart.render(),
        &format!(
            "Probability that {name} exceeds x, log scale; {band}. Circles: VaR at 90, 95, 99, 99.5 and 99.9 % with their 95 % intervals; diamonds: ES at the same levels, drawn at the level's tail probability."
        ),
        &table("data", &head, &rows),
    )
}

/// A fan chart of a percentile-band file.
fn fan_figure(
    id: &str,
    caption: &str,
    rows: &[BandRow],
    y_title: &str,
    unit: Unit,
    note: &str,
) -> String {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for r in rows {
        lo = lo.min(r.p[0]);
        hi = hi.max(r.p[6]);
    }
    // A little room above and below the outer band.
    let pad = (hi - lo) * 0.03;
    let (lo, hi) = (lo - pad, hi + pad);
    let d0 = rows.first().map_or(0.0, |r| r.day.min(0.0));
    let d1 = rows.last().map_or(1.0, |r| r.day);
    let band = |i: usize, j: usize, o: f64| Mark::Band {
        pts: rows.iter().map(|r| (r.day, r.p[i], r.p[j])).collect(),
        color: 0,
        opacity: o,
    };
    let chart = Chart {
        title: caption.to_string(),
        x: Axis::linear("days from the start (days)", Unit::Days, d0, d1),
        y: Axis::linear(y_title, unit, lo, hi),
        marks: vec![
            band(0, 6, 0.15),
            band(1, 5, 0.25),
            band(2, 4, 0.4),
            Mark::Line {
                pts: rows.iter().map(|r| (r.day, r.p[3])).collect(),
                color: 7,
                dash: false,
            },
        ],
        legend: vec![
            ("1–99 %, 5–95 %, 25–75 % of paths".into(), 0),
            ("median".into(), 7),
        ],
    };
    let table_rows: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            let mut v = vec![Cell::num(r.day, Unit::Days)];
            v.extend(r.p.iter().map(|&x| Cell::num(x, unit)));
            v
        })
        .collect();
    figure(
        id,
        caption,
        &chart.render(),
        note,
        &table(
            "data",
            &["day", "p01", "p05", "p25", "p50", "p75", "p95", "p99"],
            &table_rows,
        ),
    )
}

/// ES contributions of one decomposition at level `alpha` as bars with intervals.
fn contribution_figure(
    run: &RunData,
    metric: &str,
    decomposition: &str,
    alpha: f64,
) -> Option<String> {
    let mut rows: Vec<&Contribution> = run
        .contributions
        .iter()
        .filter(|c| c.metric == metric && c.decomposition == decomposition && c.level == alpha)
        .collect();
    let first = *rows.first()?;
    if first.es == 0.0 && rows.iter().all(|c| c.es_contribution == 0.0) {
        return None;
    }
    rows.sort_by(|a, b| {
        b.es_contribution
            .total_cmp(&a.es_contribution)
            .then(a.component.cmp(&b.component))
    });
    let unit = Unit::of(metric);
    const SHOWN: usize = 12;
    let bars: Vec<(String, f64, [f64; 2])> = rows
        .iter()
        .take(SHOWN)
        .map(|c| (c.component.clone(), c.es_contribution, c.ci))
        .collect();
    let by = match decomposition {
        "source" => "loss source".to_string(),
        "avs" => "AVS".to_string(),
        "operator" => "operator".to_string(),
        "kind" => "kind of loss or gain".to_string(),
        "lrt" => "LRT".to_string(),
        d => d
            .strip_prefix("attribute.")
            .map_or(d.to_string(), |a| format!("operator attribute {a}")),
    };
    let what = match metric {
        "slashed_eth" => "slashed ETH".to_string(),
        "sector_slashed_eth" => "the sector's slashed ETH".to_string(),
        "sector_holders_loss_eth" => "the LRTs' holders' loss".to_string(),
        m => match m.strip_prefix("slashed_eth.lrt.") {
            Some(lrt) => format!("{lrt}'s slashed ETH"),
            None => "NAV loss".to_string(),
        },
    };
    if let [only] = rows.as_slice() {
        // One contributor carries it all: a sentence, not a chart of one bar.
        return Some(format!(
            "<p class=\"note\">ES {} % of {what} ({} in the worst {} % of paths) comes all from one {by}, {}.</p>\n",
            level(alpha),
            unit.format(first.es),
            sig((1.0 - alpha) * 100.0, 3),
            esc(&only.component)
        ));
    }
    let caption = format!(
        "ES {} % of {what} by {by}: {} in the worst {} % of paths",
        level(alpha),
        unit.format(first.es),
        sig((1.0 - alpha) * 100.0, 3)
    );
    let svg = hbars(
        &caption,
        &format!(
            "contribution to ES {} % of {metric} ({})",
            level(alpha),
            unit.label()
        ),
        unit,
        &bars,
    );
    let table_rows: Vec<Vec<Cell>> = rows
        .iter()
        .map(|c| {
            let level = exact(c.level);
            let tags = [
                ("metric", metric),
                ("decomposition", decomposition),
                ("component", c.component.as_str()),
                ("level", level.as_str()),
            ];
            vec![
                Cell::name(&c.component),
                Cell::num(c.es_contribution, unit).with(&tags),
                Cell::num(c.share, Unit::Fraction),
                Cell::interval(c.ci, unit),
            ]
        })
        .collect();
    let more = if rows.len() > SHOWN {
        format!(
            " The chart shows the {SHOWN} largest of {}; the table has them all.",
            rows.len()
        )
    } else {
        String::new()
    };
    Some(figure(
        &format!("contrib-{metric}-{decomposition}"),
        &caption,
        &svg,
        &format!(
            "Euler contributions: each bar is what the component adds to the ES, the whiskers its 95 % interval; the bars add up to the ES (contributions.csv).{more}"
        ),
        &table(
            "data",
            &["component", "ES contribution", "share", "95 % interval"],
            &table_rows,
        ),
    ))
}

/// The names of the run's metrics that start with `prefix`.
fn metrics_with_prefix<'a>(run: &'a RunData, prefix: &str) -> Vec<&'a str> {
    run.summary
        .metrics
        .0
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// The scenario in brief, as a definition list.
pub fn brief(run: &RunData) -> String {
    let s = &run.summary;
    let mut items: Vec<(String, String, &str)> = vec![
        ("scenario".into(), s.scenario.clone(), "scenario"),
        (
            "scenario hash".into(),
            s.scenario_hash.clone(),
            "scenario_hash",
        ),
        ("seed".into(), s.seed.to_string(), "seed"),
        ("paths".into(), count(s.paths), "paths"),
        (
            "horizon".into(),
            format!(
                "{} days in steps of {} days",
                sig(s.horizon_days, 6),
                sig(s.step_days, 6)
            ),
            "horizon_days",
        ),
    ];
    let mut resolution = Vec::new();
    if let Some(d) = s.max_demand_per_substep {
        resolution.push(format!(
            "front door: at most {} of the holders asking per sub-step",
            Unit::Fraction.format(d)
        ));
    }
    if let Some(p) = s.max_price_move_per_substep {
        let mut t = format!(
            "market: price ÷ NAV moves at most {} per sub-step",
            Unit::Fraction.format(p)
        );
        if let Some(m) = s.metric("market_substeps") {
            let _ = write!(t, ", {} sub-steps per path on average", sig(m.mean, 4));
        }
        if let Some(m) = s
            .metric("market_unresolved_substeps")
            .filter(|m| m.max > 0.0)
        {
            let _ = write!(
                t,
                " (unresolved sub-steps on some paths: up to {})",
                sig(m.max, 4)
            );
        }
        resolution.push(t);
    }
    if resolution.is_empty() {
        resolution.push("event by event (no front door or market)".into());
    }
    items.push((
        "resolution used".into(),
        resolution.join("; "),
        "resolution",
    ));
    if let Some(i) = &s.importance {
        items.push((
            "importance sampling".into(),
            format!(
                "{}; effective sample size {}",
                i.method,
                count(i.effective_sample_size.round() as u64)
            ),
            "importance",
        ));
    }
    items.push((
        "engine version".into(),
        s.engine_version.clone(),
        "engine_version",
    ));
    let mut out = String::from("<dl class=\"brief\">");
    for (k, v, key) in items {
        let _ = write!(
            out,
            "<dt>{}</dt><dd data-key=\"{}\">{}</dd>",
            esc(&k),
            key,
            esc(&v)
        );
    }
    out.push_str("</dl>\n");
    out
}

/// The report of the run in `dir`: one self-contained HTML page.
pub fn run_report(dir: &Path, stories: &Stories) -> Result<String, Error> {
    let run = RunData::load(dir)?;
    Ok(render_run(&run, stories))
}

/// [`run_report`] of loaded data.
pub fn render_run(run: &RunData, stories: &Stories) -> String {
    let s = &run.summary;
    let mut page = Page::new(
        format!("lrtsim report: {}", s.scenario),
        format!(
            "{} paths, seed {}, horizon {} days, {}",
            count(s.paths),
            s.seed,
            sig(s.horizon_days, 6),
            s.scenario_hash
        ),
    );
    // The scenario in brief and the headline table.
    let headline = s.headline();
    let mut html = brief(run);
    html.push_str("<h3>Headline metrics</h3>\n<p class=\"note\">Every metric is a loss: larger is worse. 95 % confidence intervals; a level marked (histogram) was read from the histogram, not the exact values (docs/outputs.md).</p>\n");
    html.push_str(
        &stats_table(run, &headline, true, None)
            .replace("<table class=\"stats\"", "<table class=\"stats headline\""),
    );
    page.section("scenario", "Scenario and headline", html);

    // The loss distribution.
    let mut html = String::new();
    for name in ["nav_loss", "slashed_fraction"] {
        if run.has(name) {
            if let Some(h) = histogram(run, name, &format!("hist-{name}")) {
                html.push_str(&h);
            }
            html.push_str(&exceedance_figure(
                &[("", run)],
                name,
                &format!("exceedance-{name}"),
            ));
        }
    }
    page.section("loss", "Loss distribution", html);

    // What drives the tail.
    let alpha = contribution_level(run);
    if let Some(alpha) = alpha {
        let mut html = format!(
            "<p class=\"note\">Risk contributions at the {} % level: how the worst {} % of paths' losses split.</p>\n",
            level(alpha),
            sig((1.0 - alpha) * 100.0, 3)
        );
        let mut decompositions: Vec<&str> = Vec::new();
        for c in &run.contributions {
            if c.metric == "slashed_eth" && !decompositions.contains(&c.decomposition.as_str()) {
                decompositions.push(&c.decomposition);
            }
        }
        for d in decompositions {
            if let Some(f) = contribution_figure(run, "slashed_eth", d, alpha) {
                html.push_str(&f);
            }
        }
        if let Some(f) = contribution_figure(run, "nav_loss", "kind", alpha) {
            html.push_str(&f);
        }
        page.section("drivers", "What drives the tail", html);
    }

    // A sector: the LRTs side by side.
    if run.has("sector_slashed_eth") {
        page.section("sector", "The LRTs side by side", sector_html(run, alpha));
    }
    // A sector's shared channels: its doors, pools and lending market.
    if run.has("sector_outflow_eth") || run.has("peak_utilization") {
        page.section(
            "channels",
            "The sector's channels: doors, pools and the lending market",
            channels_html(run),
        );
    }

    // The market.
    if run.has("max_discount") {
        let mut html = String::new();
        if let Some(rows) = run.price.as_ref().filter(|r| !r.is_empty()) {
            html.push_str(&price_fan("fan-price", "", rows, "price_paths.csv"));
        }
        let mut names = vec!["max_discount"];
        let days = metrics_with_prefix(run, "days_discount_over_");
        names.extend(days.iter().copied());
        for name in &names {
            if let Some(h) = histogram(run, name, &format!("hist-{name}")) {
                html.push_str(&h);
            }
        }
        let mut table_names = vec![
            "max_discount",
            "end_discount",
            "forced_sale_loss",
            "forced_sale_discount",
            "sold_share",
            "panic_sold_share",
            "liquidity_lost_share",
        ];
        table_names.extend(days.iter().copied());
        table_names.extend(metrics_with_prefix(run, "depeg_over_"));
        html.push_str("<h3>Market metrics: tail values</h3>\n");
        html.push_str(&stats_table(run, &table_names, false, None));
        page.section("market", "The market: depeg depth and duration", html);
    }

    // Redemptions.
    if run.has("redeem_days_t0") {
        let mut html = String::new();
        if let Some(w) = &run.waits {
            html.push_str(&wait_figure(w));
        }
        if let Some(rows) = run.queue.as_ref().filter(|r| !r.is_empty()) {
            html.push_str(&fan_figure(
                "fan-queue",
                "The withdrawal queue over time (ETH)",
                rows,
                "ETH waiting in the withdrawal queue (ETH)",
                Unit::Eth,
                "Percentile bands across paths at each recorded step's end (queue_paths.csv).",
            ));
        }
        if let Some(f) = exit_queue_fan(run) {
            html.push_str(&f);
        }
        if let Some(h) = histogram(run, "peak_queue_days", "hist-peak_queue_days") {
            html.push_str(&h);
        }
        html.push_str("<h3>Redemption metrics: tail values</h3>\n");
        html.push_str(&stats_table(
            run,
            &[
                "redeem_days_t0",
                "redeem_days_stress",
                "unredeemed_t0",
                "unredeemed_stress",
                "peak_queue_eth",
                "peak_queue_days",
                "unfilled_share",
                "queued_loss_eth",
                "peak_network_queue_eth",
            ],
            false,
            None,
        ));
        page.section("redemptions", "Redemptions: how long holders wait", html);
    }

    // Lending.
    if run.has("liquidated_share") {
        let mut html = String::new();
        for name in [
            "liquidated_share",
            "bad_debt_eth",
            "looper_equity_loss",
            "cascade_depth",
        ] {
            if let Some(h) = histogram(run, name, &format!("hist-{name}")) {
                html.push_str(&h);
            }
        }
        if let Some(rows) = run.utilization.as_ref().filter(|r| !r.is_empty()) {
            html.push_str(&fan_figure(
                "fan-utilization",
                "Utilization of the lending market over time",
                rows,
                "utilization (%)",
                Unit::Fraction,
                "Percentile bands across paths at each recorded step's end (utilization_paths.csv).",
            ));
        }
        html.push_str("<h3>Lending metrics: tail values</h3>\n");
        html.push_str(&stats_table(
            run,
            &[
                "liquidated_share",
                "cascade_depth",
                "bad_debt_eth",
                "bad_debt_share",
                "looper_equity_loss",
                "peak_borrow_rate",
                "unwound_share",
            ],
            false,
            None,
        ));
        page.section("lending", "Lending: liquidations and bad debt", html);
    }

    // Reserves and exploits.
    if run.has("exploit_loss_eth") {
        let mut html = String::new();
        for name in ["exploit_loss_eth", "reserve_paid_eth", "reserve_end_eth"] {
            if let Some(h) = histogram(run, name, &format!("hist-{name}")) {
                html.push_str(&h);
            }
        }
        html.push_str("<h3>Exploit and reserve metrics: tail values</h3>\n<p class=\"note\">reserve_end_eth is better when larger: its VaR and ES describe the best paths; reserve_exhausted's mean is the probability that the reserves ran out.</p>\n");
        html.push_str(&stats_table(
            run,
            &[
                "exploit_loss_eth",
                "stolen_eth",
                "minted_share",
                "restituted_eth",
                "reserve_paid_eth",
                "reserve_end_eth",
                "reserve_exhausted",
            ],
            false,
            None,
        ));
        page.section("reserves", "Reserves and exploits", html);
    }

    page.section("worst", "The worst paths", stories_html(stories));
    page.finish()
}

/// A sector's LRTs, in `[[lrts]]` order (the order of their `slashed_fraction.lrt.<name>`).
fn sector_lrts(run: &RunData) -> Vec<&str> {
    metrics_with_prefix(run, "slashed_fraction.lrt.")
        .into_iter()
        .map(|m| m.trim_start_matches("slashed_fraction.lrt."))
        .collect()
}

/// A sector LRT's channel metrics (each `<metric>.lrt.<name>`, where the LRT has the channel):
/// what its holders asked to redeem and were paid, the queue's wait, what they sold, its pool's
/// deepest discount, its collateral's liquidations, bad debt and unwinding.
const LRT_CHANNELS: [&str; 8] = [
    "requested_share",
    "redeemed_eth",
    "peak_queue_days",
    "sold_share",
    "max_discount",
    "liquidated_share",
    "bad_debt_eth",
    "unwound_share",
];

/// The LRTs side by side: for each quantity an LRT has (slashing, NAV loss, what its holders
/// asked and sold, its pool's deepest discount, its collateral's liquidations and bad debt),
/// the mean and ES 99 % of each LRT's `<quantity>.lrt.<name>` in a column of its own.
fn side_by_side(run: &RunData, lrts: &[&str]) -> String {
    if lrts.len() < 2 {
        return String::new();
    }
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for q in ["slashed_fraction", "nav_loss"]
        .into_iter()
        .chain(LRT_CHANNELS)
    {
        let names: Vec<String> = lrts.iter().map(|l| format!("{q}.lrt.{l}")).collect();
        if !names.iter().any(|n| run.has(n)) {
            continue;
        }
        let unit = Unit::of(q);
        // The mean, then the ES at 99 % where the run has that level.
        for (first, stat) in [(true, "mean"), (false, "es")] {
            let mut row = vec![
                Cell::name(if first { q } else { "" }),
                Cell::text(if first { "mean" } else { "ES 99 %" }),
            ];
            for n in &names {
                let cell = run.summary.metric(n).and_then(|m| match stat {
                    "mean" => {
                        Some(Cell::num(m.mean, unit).with(&[("metric", n), ("stat", "mean")]))
                    }
                    _ => run
                        .levels(n)
                        .into_iter()
                        .find(|l| l.alpha == 0.99)
                        .map(|l| {
                            Cell::num(l.es, unit).with(&[
                                ("metric", n),
                                ("stat", "es"),
                                ("level", &exact(0.99)),
                            ])
                        }),
                });
                row.push(cell.unwrap_or_else(|| Cell::text("—")));
            }
            rows.push(row);
        }
    }
    let mut head = vec!["quantity", "statistic"];
    head.extend(lrts.iter().copied());
    format!(
        "<h3>The LRTs side by side</h3>\n<p class=\"note\">Each LRT's <code>&lt;quantity&gt;.lrt.&lt;name&gt;</code>: the mean over the paths and the expected shortfall at 99 % (the mean of the worst 1 %); — where an LRT has no such channel.</p>\n{}",
        table("stats", &head, &rows)
    )
}

/// One exceedance chart (`id`) of `metric.lrt.<name>` with a curve per LRT that has it,
/// appended to `html`; returns those metrics' names.
fn per_lrt_exceedance(
    run: &RunData,
    lrts: &[&str],
    metric: &str,
    id: &str,
    html: &mut String,
) -> Vec<String> {
    let names: Vec<(&str, String)> = (lrts.iter())
        .map(|l| (*l, format!("{metric}.lrt.{l}")))
        .filter(|(_, n)| run.has(n))
        .collect();
    let series: Vec<(&str, &RunData, &str)> =
        names.iter().map(|(l, n)| (*l, run, n.as_str())).collect();
    if !series.is_empty() {
        let pattern = format!("{metric}.lrt.*");
        html.push_str(&exceedance_curves(&series, &pattern, "LRT", id));
    }
    names.into_iter().map(|(_, n)| n).collect()
}

/// The sector section: each LRT's exceedance curve in one chart, the LRTs' loss statistics
/// (with their mints, if any), the joint losses against what independent LRTs would give,
/// each LRT's share of the sector's ES of slashing and of holders' loss, and what drives each
/// LRT's own ES (its AVSs and operators).
fn sector_html(run: &RunData, alpha: Option<f64>) -> String {
    let lrts = sector_lrts(run);
    let mut html = String::from(
        "<p class=\"note\">Each LRT of the sector bears its share of its operators' slashing (docs/model.md §22). Its slashed fraction is of its own collateral; the pool's metrics above count every staker of the operators.</p>\n",
    );
    html.push_str(&side_by_side(run, &lrts));
    // Each LRT's slashed fraction, then the holders' side: its NAV loss per token, rewards
    // netted and mints' dilution included.
    let mut table_names: Vec<String> = Vec::new();
    for (metric, id) in [
        ("slashed_fraction", "exceedance-lrts"),
        ("nav_loss", "exceedance-lrts-nav"),
    ] {
        table_names.extend(per_lrt_exceedance(run, &lrts, metric, id, &mut html));
    }
    table_names.extend(
        metrics_with_prefix(run, "minted_share.lrt.")
            .into_iter()
            .chain(metrics_with_prefix(run, "exploit_loss_eth.lrt."))
            .map(String::from),
    );
    table_names.extend([
        "sector_slashed_eth".into(),
        "sector_holders_loss_eth".into(),
    ]);
    let refs: Vec<&str> = table_names.iter().map(String::as_str).collect();
    html.push_str("<h3>Each LRT's losses: tail values</h3>\n");
    html.push_str(&stats_table(run, &refs, false, None));
    html.push_str(&joint_table(run, &lrts));
    for metric in ["sector_slashed_eth", "sector_holders_loss_eth"] {
        if let Some(f) = alpha.and_then(|a| contribution_figure(run, metric, "lrt", a)) {
            html.push_str(&f);
        }
    }
    // What drives each LRT's own tail: the AVSs (and the beacon chain) and the operators.
    for l in &lrts {
        let metric = format!("slashed_eth.lrt.{l}");
        for d in ["avs", "operator"] {
            if let Some(f) = alpha.and_then(|a| contribution_figure(run, &metric, d, a)) {
                html.push_str(&f);
            }
        }
    }
    html
}

/// The fan of price ÷ NAV from `file`'s `rows` (`whose`: "" for the pool, "kelp's " for an LRT
/// of a sector), its caption naming the median path's low.
fn price_fan(id: &str, whose: &str, rows: &[BandRow], file: &str) -> String {
    let worst = rows.iter().min_by(|a, b| a.p[3].total_cmp(&b.p[3]));
    let caption = match worst {
        Some(w) => format!(
            "{}rice ÷ NAV over time: the median path is lowest on day {} at {}",
            if whose.is_empty() {
                "P".to_string()
            } else {
                format!("{whose}p")
            },
            sig(w.day, 4),
            sig(w.p[3], 4)
        ),
        None => format!("{whose}price ÷ NAV over time"),
    };
    fan_figure(
        id,
        &caption,
        rows,
        "market price ÷ NAV (ratio)",
        Unit::Ratio,
        &format!(
            "Percentile bands across paths at each recorded step's end ({file}); below 1 is a discount."
        ),
    )
}

/// A sector's LRTs' price ÷ NAV on one chart: each LRT's median and 5–95 % band, in its colour
/// (with two or more LRTs' price_paths.lrt.<name>.csv, which share their steps).
fn prices_side_by_side(run: &RunData) -> Option<String> {
    let lrts: Vec<&(String, Vec<BandRow>)> = (run.lrt_price.iter())
        .filter(|(_, r)| !r.is_empty())
        .collect();
    if lrts.len() < 2 {
        return None;
    }
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (_, rows) in &lrts {
        for r in rows {
            lo = lo.min(r.p[1]);
            hi = hi.max(r.p[5]);
        }
    }
    let pad = ((hi - lo) * 0.03).max(1e-4);
    let d0 = lrts[0].1.first().map_or(0.0, |r| r.day.min(0.0));
    let d1 = lrts[0].1.last().map_or(1.0, |r| r.day);
    let mut marks = Vec::new();
    let mut legend = Vec::new();
    for (c, (lrt, rows)) in lrts.iter().enumerate() {
        marks.push(Mark::Band {
            pts: rows.iter().map(|r| (r.day, r.p[1], r.p[5])).collect(),
            color: c,
            opacity: 0.15,
        });
        marks.push(Mark::Line {
            pts: rows.iter().map(|r| (r.day, r.p[3])).collect(),
            color: c,
            dash: false,
        });
        legend.push((format!("{lrt}: median, 5–95 % of paths"), c));
    }
    let caption = "The LRTs' prices ÷ NAV side by side";
    let chart = Chart {
        title: caption.to_string(),
        x: Axis::linear("days from the start (days)", Unit::Days, d0, d1),
        y: Axis::linear(
            "market price ÷ NAV (ratio)",
            Unit::Ratio,
            lo - pad,
            hi + pad,
        ),
        marks,
        legend,
    };
    let mut head = vec!["day".to_string()];
    for (lrt, _) in &lrts {
        head.extend(["p05", "p50", "p95"].map(|p| format!("{lrt} {p}")));
    }
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let table_rows: Vec<Vec<Cell>> = (0..lrts[0].1.len())
        .map(|i| {
            let mut v = vec![Cell::num(lrts[0].1[i].day, Unit::Days)];
            for (_, rows) in &lrts {
                // The files share their steps; a shorter one (edited by hand) leaves blanks.
                v.extend([1, 3, 5].map(|k| match rows.get(i) {
                    Some(r) => Cell::num(r.p[k], Unit::Ratio),
                    None => Cell::text(""),
                }));
            }
            v
        })
        .collect();
    Some(figure(
        "fan-prices-lrts",
        caption,
        &chart.render(),
        "Each LRT's median price ÷ NAV and its 5–95 % band across paths at each recorded step's end (price_paths.lrt.<name>.csv); below 1 is a discount.",
        &table("data", &head, &table_rows),
    ))
}

/// The fan of the beacon chain's exit queue (exit_queue_paths.csv), when the run has one.
fn exit_queue_fan(run: &RunData) -> Option<String> {
    let rows = run.exit_queue.as_ref().filter(|r| !r.is_empty())?;
    Some(fan_figure(
        "fan-exit-queue",
        "The beacon chain's exit queue over time (ETH)",
        rows,
        "ETH waiting in the exit queue (ETH)",
        Unit::Eth,
        "Percentile bands across paths at each recorded step's end (exit_queue_paths.csv): every staker's ETH waiting to exit, which drains at the churn; a wait in days is the ETH ÷ the churn.",
    ))
}

/// The sector's channels: each LRT's redemptions, depeg and lending losses side by side
/// (exceedance curves, one per LRT), the lending reserve's utilization over time, and the
/// tail values of each LRT's channel metrics and of the sector's flows and reserve.
fn channels_html(run: &RunData) -> String {
    let lrts = sector_lrts(run);
    let mut html = String::from(
        "<p class=\"note\">What each LRT's holders asked to redeem and sold, how far its pool fell below NAV and what its collateral left the lenders, in one chart per quantity; then the one lending reserve every collateral borrows from (docs/model.md §22).</p>\n",
    );
    let per_lrt = [
        ("requested_share", "exceedance-lrts-requested"),
        ("max_discount", "exceedance-lrts-discount"),
        ("bad_debt_eth", "exceedance-lrts-bad_debt"),
    ];
    let mut table_names: Vec<String> = Vec::new();
    for (metric, id) in per_lrt {
        per_lrt_exceedance(run, &lrts, metric, id, &mut html);
    }
    if let Some(rows) = run.utilization.as_ref().filter(|r| !r.is_empty()) {
        html.push_str(&fan_figure(
            "fan-utilization",
            "Utilization of the sector's WETH reserve over time",
            rows,
            "utilization (%)",
            Unit::Fraction,
            "Percentile bands across paths at each recorded step's end (utilization_paths.csv): every collateral's debt ÷ the ETH supplied.",
        ));
    }
    if let Some(f) = prices_side_by_side(run) {
        html.push_str(&f);
    }
    for (lrt, rows) in run.lrt_price.iter().filter(|(_, r)| !r.is_empty()) {
        html.push_str(&price_fan(
            &format!("fan-price-{lrt}"),
            &format!("{lrt}'s "),
            rows,
            &format!("price_paths.lrt.{lrt}.csv"),
        ));
    }
    if let Some(f) = exit_queue_fan(run) {
        html.push_str(&f);
    }
    for metric in LRT_CHANNELS {
        table_names.extend(
            (lrts.iter())
                .map(|l| format!("{metric}.lrt.{l}"))
                .filter(|n| run.has(n)),
        );
    }
    let refs: Vec<&str> = table_names.iter().map(String::as_str).collect();
    html.push_str("<h3>Each LRT's channels: tail values</h3>\n");
    html.push_str(&stats_table(run, &refs, false, None));
    let sector: Vec<&str> = [
        "sector_outflow_eth",
        "sector_redeemed_eth",
        "sector_sold_eth",
        "sector_peak_exit_queue_eth",
        "sector_bad_debt_eth",
        "peak_utilization",
        "days_at_full_utilization",
        "peak_blocked_withdrawals_eth",
    ]
    .into_iter()
    .filter(|n| run.has(n))
    .collect();
    if !sector.is_empty() {
        html.push_str("<h3>The sector's flows and its lending reserve: tail values</h3>\n");
        html.push_str(&stats_table(run, &sector, false, None));
    }
    html
}

/// The joint-loss table: per threshold, the probability that every LRT loses more than it,
/// each LRT's own probability, their product (the joint probability of independent LRTs)
/// and the ratio of the two.
fn joint_table(run: &RunData, lrts: &[&str]) -> String {
    let mut rows = Vec::new();
    for name in metrics_with_prefix(run, "joint_loss_over_") {
        let Some(joint) = run.summary.metric(name) else {
            continue;
        };
        let bps = name
            .trim_start_matches("joint_loss_over_")
            .trim_end_matches("bps");
        let tagged = |metric: &str, x: f64| {
            Cell::num(x, Unit::Indicator).with(&[("metric", metric), ("stat", "mean")])
        };
        let half = 1.959964 * joint.std_error;
        let mut row = vec![
            Cell::name(format!(
                "{} %",
                sig(bps.parse::<f64>().unwrap_or(f64::NAN) / 100.0, 4)
            )),
            tagged(name, joint.mean),
            Cell::interval([joint.mean - half, joint.mean + half], Unit::Indicator),
        ];
        let mut product = 1.0;
        for l in lrts {
            let each = format!("loss_over_{bps}bps.lrt.{l}");
            match run.summary.metric(&each) {
                Some(m) => {
                    product *= m.mean;
                    row.push(tagged(&each, m.mean));
                }
                None => {
                    product = f64::NAN;
                    row.push(Cell::text("—"));
                }
            }
        }
        row.push(Cell::num(product, Unit::Indicator));
        row.push(Cell::text(if product > 0.0 {
            format!("{}×", sig(joint.mean / product, 3))
        } else {
            "—".into()
        }));
        rows.push(row);
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut head = vec![
        "every LRT loses more than".to_string(),
        "P(all)".into(),
        "95 % interval".into(),
    ];
    head.extend(lrts.iter().map(|l| format!("P({l})")));
    head.extend(["if independent".into(), "all ÷ independent".into()]);
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    format!(
        "<h3>Joint losses</h3>\n<p class=\"note\">P(all): the share of paths on which every LRT's slashed fraction exceeds the threshold (joint_loss_over_*). P(LRT): each one's own probability (loss_over_*); their product is what P(all) would be if the LRTs' losses were independent, so the last column says how much shared operators and shared risks multiply the joint tail.</p>\n{}",
        table("stats", &head, &rows)
    )
}

/// The level of the contribution charts: 99 % when it has contributions, else the highest
/// level that has some; `None` without contributions.
fn contribution_level(run: &RunData) -> Option<f64> {
    let levels: Vec<f64> = run
        .contributions
        .iter()
        .filter(|c| c.metric == "slashed_eth")
        .map(|c| c.level)
        .collect();
    if levels.contains(&0.99) {
        Some(0.99)
    } else {
        levels.into_iter().reduce(f64::max)
    }
}

/// The distribution of both holders' waits.
fn wait_figure(rows: &[WaitRow]) -> String {
    let mut marks = Vec::new();
    let mut legend = Vec::new();
    let mut table_rows = Vec::new();
    let mut notes = Vec::new();
    let mut ymax = 0f64;
    let mut xmax = 1f64;
    for (i, holder) in ["t0", "stress"].into_iter().enumerate() {
        let mut bars = Vec::new();
        for r in rows.iter().filter(|r| r.holder == holder) {
            match r.bin {
                Some((lo, hi)) if hi > lo => {
                    let w = hi - lo;
                    let (a, b) = if i == 0 {
                        (lo, lo + w / 2.0)
                    } else {
                        (lo + w / 2.0, hi)
                    };
                    if r.share > 0.0 {
                        bars.push((a, b, r.share));
                        ymax = ymax.max(r.share);
                        xmax = xmax.max(hi);
                    }
                }
                _ => {}
            }
            let bin = match r.bin {
                Some((lo, hi)) if lo == hi => "paid at once".to_string(),
                Some((lo, hi)) => format!("({}, {}] days", sig(lo, 6), sig(hi, 6)),
                None => "not paid by the horizon".to_string(),
            };
            if r.share > 0.0 || r.bin.is_none_or(|(a, b)| a == b) {
                table_rows.push(vec![
                    Cell::name(holder),
                    Cell::text(bin),
                    Cell::num(r.share, Unit::Fraction),
                ]);
            }
        }
        let instant = rows
            .iter()
            .find(|r| r.holder == holder && r.bin.is_some_and(|(a, b)| a == b))
            .map_or(0.0, |r| r.share);
        let unpaid = rows
            .iter()
            .find(|r| r.holder == holder && r.bin.is_none())
            .map_or(0.0, |r| r.share);
        let who = if holder == "t0" {
            "the holder asking at t = 0"
        } else {
            "the holder asking as the stress starts"
        };
        notes.push(format!(
            "{who}: paid at once on {} of paths, not paid by the horizon on {}",
            Unit::Fraction.format(instant),
            Unit::Fraction.format(unpaid)
        ));
        marks.push(Mark::Bars { bars, color: i });
        legend.push((
            if holder == "t0" {
                "asks at t = 0".to_string()
            } else {
                "asks as the stress starts".to_string()
            },
            i,
        ));
    }
    let chart = Chart {
        title: "Time to redeem".into(),
        x: Axis::linear(
            "wait from asking to being paid (days)",
            Unit::Days,
            0.0,
            xmax,
        ),
        y: Axis::linear("share of paths", Unit::Fraction, 0.0, ymax.max(1e-6) * 1.08),
        marks,
        legend,
    };
    figure(
        "waits",
        "Time to redeem of both holders: share of paths by wait",
        &chart.render(),
        &format!(
            "Waits in bins of whole days (redemption_wait.csv), paid waits only; {}.",
            notes.join("; ")
        ),
        &table("data", &["holder", "wait", "share of paths"], &table_rows),
    )
}

/// The worst paths' section.
fn stories_html(stories: &Stories) -> String {
    match stories {
        Stories::Unavailable(why) => format!(
            "<p class=\"note\" data-stories=\"unavailable\">The worst paths' stories are unavailable: {}.</p>\n",
            esc(why)
        ),
        Stories::Lines { metric, stories } => {
            let mut s = format!(
                "<p class=\"note\">The paths with the largest {} (summary.json's worst_paths), re-simulated alone (lrtsim replay tells each in full).</p>\n<ul class=\"stories\">\n",
                esc(metric)
            );
            let unit = Unit::of(metric);
            for st in stories {
                let _ = writeln!(
                    s,
                    "<li class=\"story\" data-path=\"{}\" data-value=\"{}\">path {}: {} = {}; {}</li>",
                    st.path,
                    exact(st.value),
                    st.path,
                    esc(metric),
                    esc(&unit.format(st.value)),
                    esc(&st.line)
                );
            }
            s.push_str("</ul>\n");
            s
        }
    }
}

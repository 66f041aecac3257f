//! A sweep's report: every headline metric against each swept parameter with its 95 % band
//! (sweep.csv), and for two-axis grids a heat map.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use crate::Error;
use crate::fmt::{Unit, count, esc, exact, sig};
use crate::page::{Cell, Page, figure, table};
use crate::read::{HEADLINE, Table};
use crate::svg::{Axis, Chart, Mark, heatmap};

/// The statistics drawn: (column stem, level suffix, label).
const STATS: [(&str, &str, &str); 3] = [
    ("mean", "", "mean"),
    ("var", "_0.99", "VaR 99 %"),
    ("es", "_0.99", "ES 99 %"),
];

/// One point of the sweep.
struct Point {
    /// The parameters' values as written.
    params: Vec<String>,
    /// Per headline metric and statistic: (value, lo, hi).
    stats: Vec<[(f64, f64, f64); 3]>,
    /// The point's number.
    id: String,
}

/// The column names of statistic `stat` of `metric`: value, lo, hi.
fn stat_columns(metric: &str, stat: (&str, &str, &str)) -> [String; 3] {
    let (stem, lvl, _) = stat;
    if stem == "mean" {
        [
            format!("{metric}.mean"),
            format!("{metric}.mean_lo"),
            format!("{metric}.mean_hi"),
        ]
    } else {
        [
            format!("{metric}.{stem}{lvl}"),
            format!("{metric}.{stem}_lo{lvl}"),
            format!("{metric}.{stem}_hi{lvl}"),
        ]
    }
}

/// The report of the sweep in `dir`.
pub fn sweep_report(dir: &Path) -> Result<String, Error> {
    let path = dir.join("sweep.csv");
    let t = Table::read(&path)?;
    let paths_col = t.col("paths")?;
    let point_col = t.col("point")?;
    let scenario = t.col("scenario")?;
    let seed_col = t.col("seed")?;
    // Parameters: after `paths`, up to the first headline metric's mean.
    let first_metric = t
        .header
        .iter()
        .position(|h| HEADLINE.iter().any(|m| *h == format!("{m}.mean")))
        .ok_or_else(|| Error::Invalid {
            path: path.clone(),
            line: Some(1),
            reason: "no headline metric column (slashed_fraction.mean, …) in the header".into(),
        })?;
    let mut param_cols: Vec<usize> = (paths_col + 1..first_metric).collect();
    // A seed axis (--seeds) is a parameter too.
    let seeds: BTreeSet<&str> = (0..t.rows.len()).map(|r| t.text(r, seed_col)).collect();
    if seeds.len() > 1 {
        param_cols.push(seed_col);
    }
    let params: Vec<String> = param_cols.iter().map(|&c| t.header[c].clone()).collect();
    let metrics: Vec<&str> = HEADLINE
        .into_iter()
        .filter(|m| t.header.iter().any(|h| *h == format!("{m}.mean")))
        .collect();
    let mut points = Vec::new();
    for r in 0..t.rows.len() {
        let mut stats = Vec::new();
        for m in &metrics {
            let mut s = [(0.0, 0.0, 0.0); 3];
            for (k, stat) in STATS.into_iter().enumerate() {
                let cols = stat_columns(m, stat);
                let v = |i: usize| -> Result<f64, Error> { t.num(r, t.col(&cols[i])?) };
                s[k] = (v(0)?, v(1)?, v(2)?);
            }
            stats.push(s);
        }
        points.push(Point {
            params: param_cols
                .iter()
                .map(|&c| t.text(r, c).to_string())
                .collect(),
            stats,
            id: t.text(r, point_col).to_string(),
        });
    }
    if points.is_empty() {
        return Err(Error::Invalid {
            path,
            line: None,
            reason: "no point has run yet (the file holds its header alone)".into(),
        });
    }
    let name = t.text(0, scenario).to_string();
    let mut page = Page::new(
        format!("lrtsim sweep: {name}"),
        format!(
            "{} points of {} paths each; parameters {}",
            points.len(),
            count(t.num(0, paths_col)? as u64),
            if params.is_empty() {
                "none".to_string()
            } else {
                params.join(", ")
            }
        ),
    );
    // Overview: the points' table.
    let mut rows = Vec::new();
    for p in &points {
        let mut row = vec![Cell::name(&p.id)];
        row.extend(p.params.iter().map(Cell::text));
        for (mi, m) in metrics.iter().enumerate() {
            let unit = Unit::of(m);
            for k in [0, 2] {
                let (v, lo, hi) = p.stats[mi][k];
                row.push(Cell::num(v, unit).with(&[("metric", m), ("point", &p.id)]));
                row.push(Cell::interval([lo, hi], unit));
            }
        }
        rows.push(row);
    }
    let mut head: Vec<String> = vec!["point".into()];
    head.extend(params.iter().cloned());
    for m in &metrics {
        head.push(format!("{m} mean"));
        head.push("95 % interval".into());
        head.push(format!("{m} ES 99 %"));
        head.push("95 % interval".into());
    }
    let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
    // The file's name, not its path: the page does not depend on where the sweep was read
    // (nor tell a reader the machine's folders).
    let mut html = "<p class=\"note\">From the sweep's sweep.csv (one row per point; each point's full outputs are in its folder). Points share the seed, so path i sees the same random numbers at every point (common random numbers): differences between points come from the model; each point's interval overstates the noise of a difference.</p>\n".to_string();
    html.push_str(&table("stats sweep", &head_refs, &rows));
    page.section("points", "The points", html);

    // Metrics against each parameter.
    let numeric: Vec<Option<Vec<f64>>> = (0..params.len())
        .map(|k| {
            points
                .iter()
                .map(|p| p.params[k].trim().parse::<f64>().ok())
                .collect()
        })
        .collect();
    let mut html = String::new();
    for (k, param) in params.iter().enumerate() {
        let Some(xs) = &numeric[k] else {
            let _ = writeln!(
                html,
                "<p class=\"note\">{} has non-numeric values: see the table.</p>",
                esc(param)
            );
            continue;
        };
        for (mi, m) in metrics.iter().enumerate() {
            html.push_str(&parameter_figure(&points, &params, k, xs, mi, m));
        }
    }
    if !params.is_empty() {
        page.section("against", "Headline metrics against each parameter", html);
    }
    // Two-axis grids: heat maps.
    if params.len() == 2 {
        let mut html = String::new();
        let xs: Vec<String> = distinct(points.iter().map(|p| p.params[1].clone()));
        let ys: Vec<String> = distinct(points.iter().map(|p| p.params[0].clone()));
        for (mi, m) in metrics.iter().enumerate() {
            let unit = Unit::of(m);
            for k in [0, 2] {
                let values: Vec<Vec<Option<f64>>> = ys
                    .iter()
                    .map(|y| {
                        xs.iter()
                            .map(|x| {
                                points
                                    .iter()
                                    .find(|p| &p.params[0] == y && &p.params[1] == x)
                                    .map(|p| p.stats[mi][k].0)
                            })
                            .collect()
                    })
                    .collect();
                let caption = format!(
                    "{} of {m} over the grid of {} and {}",
                    STATS[k].2, params[0], params[1]
                );
                let svg = heatmap(&caption, &params[1], &params[0], &xs, &ys, &values, |v| {
                    unit.format(v)
                });
                let mut rows = Vec::new();
                for (j, y) in ys.iter().enumerate() {
                    let mut row = vec![Cell::name(y)];
                    for v in &values[j] {
                        row.push(v.map_or(Cell::text("—"), |v| Cell::num(v, unit)));
                    }
                    rows.push(row);
                }
                let mut head = vec![format!("{} \\ {}", params[0], params[1])];
                head.extend(xs.iter().cloned());
                let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
                html.push_str(&figure(
                    &format!("heat-{m}-{}", STATS[k].0),
                    &caption,
                    &svg,
                    "Each cell is one point; colour from lowest (dark) to highest (yellow).",
                    &table("data", &head_refs, &rows),
                ));
            }
        }
        page.section("grid", "Two-axis grid: heat maps", html);
    }
    Ok(page.finish())
}

/// Distinct values in first-seen order.
fn distinct(it: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in it {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Metric `metric` against parameter `k`: with one parameter, mean, VaR 99 % and ES 99 % with
/// their bands; with more, ES 99 % per combination of the other parameters (at most 8).
fn parameter_figure(
    points: &[Point],
    params: &[String],
    k: usize,
    xs: &[f64],
    mi: usize,
    metric: &str,
) -> String {
    let unit = Unit::of(metric);
    let others = |p: &Point| -> String {
        params
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .map(|(j, name)| {
                format!(
                    "{}={}",
                    name.rsplit('.').next().unwrap_or(name),
                    p.params[j]
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let groups = distinct(points.iter().map(others));
    let mut marks = Vec::new();
    let mut legend = Vec::new();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut series: Vec<(String, usize, usize)> = Vec::new(); // (label, stat index, group index)
    if groups.len() <= 1 {
        for (s, stat) in STATS.iter().enumerate() {
            series.push((stat.2.to_string(), s, 0));
        }
    } else {
        for (g, label) in groups.iter().take(8).enumerate() {
            series.push((label.clone(), 2, g));
        }
    }
    let mut rows = Vec::new();
    for (c, (label, s, g)) in series.iter().enumerate() {
        let mut pts: Vec<(f64, f64, f64, f64)> = points
            .iter()
            .zip(xs)
            .filter(|(p, _)| groups.len() <= 1 || others(p) == groups[*g])
            .map(|(p, &x)| {
                let (v, l, h) = p.stats[mi][*s];
                (x, v, l, h)
            })
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        for &(x, v, l, h) in &pts {
            lo = lo.min(l);
            hi = hi.max(h);
            rows.push(vec![
                Cell::name(label),
                Cell::text(sig(x, 6)),
                Cell::num(v, unit).with(&[("metric", metric), ("value-of", &exact(x))]),
                Cell::interval([l, h], unit),
            ]);
        }
        marks.push(Mark::Band {
            pts: pts.iter().map(|&(x, _, l, h)| (x, l, h)).collect(),
            color: c,
            opacity: 0.2,
        });
        marks.push(Mark::Line {
            pts: pts.iter().map(|&(x, v, _, _)| (x, v)).collect(),
            color: c,
            dash: false,
        });
        marks.push(Mark::Points {
            pts: pts.iter().map(|&(x, v, _, _)| (x, v, None)).collect(),
            color: c,
            shape: crate::svg::Shape::Circle,
        });
        legend.push((label.clone(), c));
    }
    let (xmin, xmax) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let log = xmin > 0.0 && xmax / xmin >= 100.0;
    let x_axis = if log {
        Axis::log(params[k].clone(), Unit::Ratio, xmin, xmax)
    } else {
        Axis::linear(params[k].clone(), Unit::Ratio, xmin, xmax)
    };
    let what = if groups.len() <= 1 {
        "mean, VaR 99 % and ES 99 %".to_string()
    } else {
        "ES 99 %".to_string()
    };
    let caption = format!("{what} of {metric} against {}", params[k]);
    let chart = Chart {
        title: caption.clone(),
        x: x_axis,
        y: Axis::linear(
            format!("{metric} ({})", unit.label()),
            unit,
            lo.min(0.0f64.max(lo)),
            hi,
        ),
        marks,
        legend,
    };
    let more = if groups.len() > 8 {
        format!(
            " The chart shows 8 of {} combinations of the other parameters.",
            groups.len()
        )
    } else {
        String::new()
    };
    figure(
        &format!("sweep-{metric}-{k}"),
        &caption,
        &chart.render(),
        &format!("Bands: 95 % intervals of each point (sweep.csv).{more}"),
        &table(
            "data",
            &["series", params[k].as_str(), metric, "95 % interval"],
            &rows,
        ),
    )
}

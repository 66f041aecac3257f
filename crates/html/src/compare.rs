//! Two runs of one scenario family side by side: each headline metric for both, their
//! difference with its 95 % interval, and overlaid exceedance curves.
//!
//! The interval of a difference is **paired** (common random numbers) when both runs used the
//! same seed and number of paths, were not importance-sampled, and kept per-path values
//! (`paths.csv`, listed in their manifests): for means, the interval of the mean of the
//! per-path differences; for ES, the same of the per-path differences of the ES's influence
//! function, (L − VaR)⁺ / (1 − α). Otherwise — and always for VaR — it is **unpaired**: the
//! two runs' half-widths combined as if independent, √(h_A² + h_B²). The page says which.

use std::fmt::Write as _;
use std::path::Path;

use crate::Error;
use crate::fmt::{Unit, count, esc, exact, level};
use crate::page::{Cell, Page, table};
use crate::read::{self, Table};
use crate::single::{RunData, brief, exceedance_figure};

/// The 97.5 % normal quantile.
const Z: f64 = 1.959964;

/// Per-path headline values of a run, from its `paths.csv`, when the pairing applies.
struct PerPath {
    /// (metric, values by path).
    columns: Vec<(String, Vec<f64>)>,
}

/// Whether the manifest of `dir` lists `file`.
fn manifest_lists(dir: &Path, file: &str) -> Result<bool, Error> {
    let path = dir.join("manifest.json");
    let text = read::read_text(&path)?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Json {
        path: path.clone(),
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })?;
    Ok(v.get("files")
        .and_then(|f| f.as_array())
        .is_some_and(|files| {
            files
                .iter()
                .any(|f| f.get("name").and_then(|n| n.as_str()) == Some(file))
        }))
}

/// Reads the headline columns of `paths.csv` (`nav_loss` is −`nav_return`).
fn per_path(run: &RunData, names: &[&str]) -> Result<PerPath, Error> {
    let t = Table::read(&run.dir.join("paths.csv"))?;
    let mut columns = Vec::new();
    for &name in names {
        let (col, sign) = if name == "nav_loss" {
            (t.col("nav_return")?, -1.0)
        } else {
            (t.col(name)?, 1.0)
        };
        let mut v = Vec::with_capacity(t.rows.len());
        for r in 0..t.rows.len() {
            v.push(sign * t.num(r, col)?);
        }
        columns.push((name.to_string(), v));
    }
    Ok(PerPath { columns })
}

/// Why the runs cannot be paired, or `None` when they can.
fn unpaired_reason(a: &RunData, b: &RunData) -> Result<Option<String>, Error> {
    let (sa, sb) = (&a.summary, &b.summary);
    if sa.seed != sb.seed || sa.paths != sb.paths {
        return Ok(Some(format!(
            "the runs differ in seed or paths (seed {} and {}, {} and {} paths)",
            sa.seed,
            sb.seed,
            count(sa.paths),
            count(sb.paths)
        )));
    }
    if sa.importance.is_some() || sb.importance.is_some() {
        return Ok(Some(
            "a run is importance-sampled (its paths carry weights)".into(),
        ));
    }
    for r in [a, b] {
        if !manifest_lists(&r.dir, "paths.csv")? {
            return Ok(Some(format!(
                "{} has no paths.csv of this run (run with --paths-csv to pair)",
                r.dir.display()
            )));
        }
    }
    Ok(None)
}

/// One statistic of both runs: its label, level, A's value and interval, B's, the difference
/// and its interval, and whether that interval is paired.
type Row = (
    String,
    Option<f64>,
    f64,
    [f64; 2],
    f64,
    [f64; 2],
    f64,
    [f64; 2],
    bool,
);

/// Mean and standard deviation.
fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, var.sqrt())
}

/// The comparison of the runs in `a` and `b`, labelled `labels`.
pub fn comparison_report(a: &Path, b: &Path, labels: [&str; 2]) -> Result<String, Error> {
    let ra = RunData::load(a)?;
    let rb = RunData::load(b)?;
    let headline: Vec<&str> = ra
        .summary
        .headline()
        .into_iter()
        .filter(|m| rb.summary.metric(m).is_some())
        .collect();
    let reason = unpaired_reason(&ra, &rb)?;
    let paired = match &reason {
        None => {
            let pa = per_path(&ra, &headline)?;
            let pb = per_path(&rb, &headline)?;
            if pa
                .columns
                .iter()
                .any(|(_, v)| v.len() as u64 != ra.summary.paths)
                || pb
                    .columns
                    .iter()
                    .any(|(_, v)| v.len() as u64 != rb.summary.paths)
            {
                return Err(Error::Invalid {
                    path: ra.dir.join("paths.csv"),
                    line: None,
                    reason: "paths.csv does not have one row per path of summary.json".into(),
                });
            }
            Some((pa, pb))
        }
        Some(_) => None,
    };
    let (sa, sb) = (&ra.summary, &rb.summary);
    let mut page = Page::new(
        format!("lrtsim comparison: {} vs {}", labels[0], labels[1]),
        format!(
            "{} ({}) and {} ({}); differences are {} − {}",
            labels[0], sa.scenario, labels[1], sb.scenario, labels[1], labels[0]
        ),
    );
    let mut html = String::new();
    for (label, r) in [(labels[0], &ra), (labels[1], &rb)] {
        let _ = write!(html, "<h3>{}</h3>\n{}", esc(label), brief(r));
    }
    let method = match &reason {
        None => "Intervals of the differences are <strong>paired</strong> (common random numbers: same seed and paths, per-path values from both runs' paths.csv) for means and ES; VaR differences use the unpaired interval.".to_string(),
        Some(why) => format!(
            "Intervals of the differences are <strong>unpaired</strong> (each run's half-widths combined as if independent), because {}.",
            esc(why)
        ),
    };
    let _ = writeln!(
        html,
        "<p class=\"note\" data-pairing=\"{}\">{method}</p>",
        if reason.is_none() {
            "paired"
        } else {
            "unpaired"
        }
    );
    if sa.scenario != sb.scenario {
        let _ = writeln!(
            html,
            "<p class=\"note\">The runs are of different scenarios ({} and {}): compare only what they share.</p>",
            esc(&sa.scenario),
            esc(&sb.scenario)
        );
    }
    // The headline table.
    let mut rows = Vec::new();
    for name in &headline {
        let unit = Unit::of(name);
        let (ma, mb) = (
            sa.metric(name).expect("in both"),
            sb.metric(name).expect("in both"),
        );
        let la = ra.levels(name);
        let lb = rb.levels(name);
        let values = |paired_col: Option<(&[f64], &[f64])>| -> Vec<Row> {
            let mut out = Vec::new();
            let ha = Z * ma.std_error;
            let hb = Z * mb.std_error;
            let d = mb.mean - ma.mean;
            let (ci, p) = match paired_col {
                Some((x, y)) => {
                    let diffs: Vec<f64> = x.iter().zip(y).map(|(a, b)| b - a).collect();
                    let (_, sd) = mean_sd(&diffs);
                    let h = Z * sd / (diffs.len() as f64).sqrt();
                    ([d - h, d + h], true)
                }
                None => {
                    let h = (ha * ha + hb * hb).sqrt();
                    ([d - h, d + h], false)
                }
            };
            out.push((
                "mean".to_string(),
                None,
                ma.mean,
                [ma.mean - ha, ma.mean + ha],
                mb.mean,
                [mb.mean - hb, mb.mean + hb],
                d,
                ci,
                p,
            ));
            for (x, y) in la.iter().zip(&lb) {
                if ![0.95, 0.99, 0.999].contains(&x.alpha) {
                    continue;
                }
                let half = |c: [f64; 2]| (c[1] - c[0]) / 2.0;
                let dv = y.var - x.var;
                let hv = (half(x.var_ci).powi(2) + half(y.var_ci).powi(2)).sqrt();
                out.push((
                    format!("VaR {} %", level(x.alpha)),
                    Some(x.alpha),
                    x.var,
                    x.var_ci,
                    y.var,
                    y.var_ci,
                    dv,
                    [dv - hv, dv + hv],
                    false,
                ));
                let de = y.es - x.es;
                let (eci, ep) = match paired_col {
                    Some((pa, pb)) => {
                        let t = 1.0 - x.alpha;
                        let psi: Vec<f64> = pa
                            .iter()
                            .zip(pb)
                            .map(|(a, b)| ((b - y.var).max(0.0) - (a - x.var).max(0.0)) / t)
                            .collect();
                        let (_, sd) = mean_sd(&psi);
                        let h = Z * sd / (psi.len() as f64).sqrt();
                        ([de - h, de + h], true)
                    }
                    None => {
                        let h = (half(x.es_ci).powi(2) + half(y.es_ci).powi(2)).sqrt();
                        ([de - h, de + h], false)
                    }
                };
                out.push((
                    format!("ES {} %", level(x.alpha)),
                    Some(x.alpha),
                    x.es,
                    x.es_ci,
                    y.es,
                    y.es_ci,
                    de,
                    eci,
                    ep,
                ));
            }
            out
        };
        let col = |p: &PerPath| -> Option<Vec<f64>> {
            p.columns
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let pair_cols = paired
            .as_ref()
            .and_then(|(pa, pb)| Some((col(pa)?, col(pb)?)));
        let stats = values(
            pair_cols
                .as_ref()
                .map(|(x, y)| (x.as_slice(), y.as_slice())),
        );
        for (i, (stat, lvl, va, ca, vb, cb, d, dci, p)) in stats.into_iter().enumerate() {
            let key = if stat == "mean" {
                "mean"
            } else if stat.starts_with("VaR") {
                "var"
            } else {
                "es"
            };
            let tag = |c: Cell, run: &str, stat: &str| {
                let mut pairs = vec![
                    ("metric", name.to_string()),
                    ("stat", stat.to_string()),
                    ("run", run.to_string()),
                ];
                if let Some(l) = lvl {
                    pairs.push(("level", exact(l)));
                }
                let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                c.with(&refs)
            };
            let significant = dci[0] > 0.0 || dci[1] < 0.0;
            rows.push(vec![
                Cell::name(if i == 0 { name } else { "" }),
                Cell::text(&stat),
                tag(Cell::num(va, unit), "0", key),
                tag(Cell::interval(ca, unit), "0", &format!("{key}_ci")),
                tag(Cell::num(vb, unit), "1", key),
                tag(Cell::interval(cb, unit), "1", &format!("{key}_ci")),
                Cell::num(d, unit).with(&[("diff", "1")]),
                Cell::interval(dci, unit),
                Cell::text(format!(
                    "{}{}",
                    if p { "paired" } else { "unpaired" },
                    if significant { ", ≠ 0" } else { "" }
                )),
            ]);
        }
    }
    let head_a = labels[0].to_string();
    let head_b = labels[1].to_string();
    let diff = format!("{} − {}", labels[1], labels[0]);
    html.push_str("<h3>Headline metrics, both runs</h3>\n");
    html.push_str(
        &table(
            "stats compare",
            &[
                "metric",
                "statistic",
                &head_a,
                "95 % interval",
                &head_b,
                "95 % interval",
                &diff,
                "95 % interval",
                "interval",
            ],
            &rows,
        )
        .replace(
            "<table class=\"stats compare\"",
            "<table class=\"stats compare headline\"",
        ),
    );
    html.push_str("<p class=\"note\">“≠ 0”: the difference's 95 % interval excludes zero.</p>\n");
    page.section("scenario", "The two runs and their headline metrics", html);
    // Overlaid exceedance curves.
    let mut html = String::new();
    for name in &headline {
        if ["redeem_days_t0"].contains(name) {
            continue;
        }
        html.push_str(&exceedance_figure(
            &[(labels[0], &ra), (labels[1], &rb)],
            name,
            &format!("exceedance-{name}"),
        ));
    }
    page.section("loss", "Exceedance curves, overlaid", html);
    Ok(page.finish())
}

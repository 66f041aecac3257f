//! `lrtsim sweep`: one scenario over a grid of parameter values.
//!
//! Axes are `--grid KEY=VALUES` (cartesian product, the first axis varying slowest), one axis
//! made of every `--zip KEY=VALUES` (paired lists) and an optional seed axis (`--seeds N`,
//! varying fastest). Each point is the scenario with its values applied as `--set` overrides
//! after the sweep's own `--set`s; all points are loaded and validated before any runs. Every
//! point writes the files of `lrtsim run` into `DIR/points/NNNN/` and, last, a `point.json`
//! naming its values, its resolved scenario's hash, the settings and its row of `sweep.csv`;
//! a point whose `point.json` matches (same hash, same settings, same engine) and whose
//! outputs exist is not run again. `sweep.csv` holds one row per point (parameters as columns,
//! headline metrics with 95% confidence intervals), rewritten atomically after every point.
//!
//! Every point uses the same seed unless the seed is an axis, and path *i* of every point
//! draws from the same random stream (keyed by seed and path index): common random numbers,
//! so differences between points are differences of the model, not of the draws.

use std::path::{Path, PathBuf};
use std::time::Instant;

use lrtsim_report::Summary;
use lrtsim_scenario::Model;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, bail};
use crate::monitor::Monitor;
use crate::run::{Settings, headline};

/// What a sweep is asked to do (`lrtsim sweep`'s arguments).
#[derive(Debug, Clone)]
pub struct SweepRequest {
    /// The scenario file (with `text`: the name its messages give it).
    pub scenario: PathBuf,
    /// The scenario's TOML text, when it is not read from `scenario` (the Python API's
    /// scenarios from text or a dict).
    pub text: Option<String>,
    /// `--set` overrides applied to every point, before the point's own values.
    pub set: Vec<String>,
    /// `--grid KEY=VALUES` axes (cartesian product, the first varying slowest).
    pub grid: Vec<String>,
    /// `--zip KEY=VALUES` lists, paired into one axis.
    pub zip: Vec<String>,
    /// `--seeds N`: a seed axis of N seeds (varying fastest).
    pub seeds: Option<u32>,
    /// The output directory (`{name}` is the scenario's name).
    pub out: String,
    /// Run every point again, even those up to date.
    pub force: bool,
    /// `--contributions DECOMPOSITION`: each component's share of ES 99 % as sweep.csv
    /// columns.
    pub contributions: Option<String>,
    /// How each point runs and reports (`paths_csv` is not used).
    pub settings: Settings,
}

impl SweepRequest {
    /// The scenario with `overrides`.
    fn load(&self, overrides: &[String]) -> Result<Model, lrtsim_scenario::ScenarioError> {
        match &self.text {
            None => lrtsim_scenario::load_file(&self.scenario, overrides),
            Some(text) => lrtsim_scenario::load_str(text, &self.scenario, overrides),
        }
    }
}

/// What a sweep gives: sweep.csv's header and rows, and where it is.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    /// The columns of sweep.csv.
    pub header: Vec<String>,
    /// One row per point, in point order.
    pub rows: Vec<Vec<String>>,
    /// The sweep's directory (sweep.csv and points/).
    pub out: PathBuf,
    /// Points run, and points skipped as up to date.
    pub ran: usize,
    /// Points skipped as up to date.
    pub skipped: usize,
}

/// Most points a sweep may have: every point is loaded and validated before any runs, and
/// writes a folder of its own.
const MAX_POINTS: usize = 10_000;

/// One axis: its keys (one, or several for `--zip`) and, per value index, their values.
#[derive(Debug, Clone, PartialEq)]
struct Axis {
    keys: Vec<String>,
    /// `values[k][i]`: value of key `i` at the axis's `k`-th position.
    values: Vec<Vec<String>>,
}

/// Splits `KEY=VALUES`.
fn split_assignment<'a>(flag: &str, arg: &'a str) -> Result<(&'a str, &'a str)> {
    match arg.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => Ok((k.trim(), v.trim())),
        _ => bail!(Error::input(format!(
            "{flag} {arg}: expected KEY=VALUES, e.g. {flag} copulas.cloud.rho=0.1,0.2,0.3"
        ))),
    }
}

/// Decimal places that write `x` exactly as its shortest text does (at most 15).
fn decimals_of(x: f64) -> usize {
    (0..=15)
        .find(|&d| format!("{x:.d$}").parse::<f64>() == Ok(x))
        .unwrap_or(15)
}

/// `x` rounded to 12 significant digits, written shortest.
fn round12(x: f64) -> String {
    let r: f64 = format!("{x:.11e}").parse().unwrap_or(x);
    format!("{r}")
}

/// The values of one `KEY=VALUES`: a list `a,b,c`, a range `start:stop:step` (inclusive) or
/// a log range `log:start:stop:n`.
fn parse_values(flag: &str, key: &str, spec: &str) -> Result<Vec<String>> {
    let bad = |why: &str| -> Error {
        Error::input(format!(
            "{flag} {key}={spec}: {why} (values are a list V1,V2,…, a range START:STOP:STEP or a log range log:START:STOP:N)"
        ))
    };
    let num = |t: &str| -> Result<f64> {
        t.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| bad(&format!("{t:?} is not a finite number")))
    };
    if let Some(rest) = spec.strip_prefix("log:") {
        let parts: Vec<&str> = rest.split(':').collect();
        let [a, b, n] = parts[..] else {
            return Err(bad("a log range has three fields after log:"));
        };
        let (a, b) = (num(a)?, num(b)?);
        let n: u128 = n
            .trim()
            .parse()
            .map_err(|_| bad(&format!("N = {n:?} is not a whole number")))?;
        if a <= 0.0 || b <= 0.0 {
            return Err(bad("a log range needs START and STOP above 0"));
        }
        if n < 2 {
            return Err(bad("a log range needs N of at least 2"));
        }
        if n > MAX_POINTS as u128 {
            return Err(bad(&format!(
                "{n} values are too many: a sweep has at most {MAX_POINTS} points"
            )));
        }
        let n = n as usize;
        let (la, lb) = (a.log10(), b.log10());
        return Ok((0..n)
            .map(|i| {
                let v = match i {
                    0 => a,
                    i if i == n - 1 => b,
                    i => 10f64.powf(la + (lb - la) * i as f64 / (n - 1) as f64),
                };
                round12(v)
            })
            .collect());
    }
    if spec.contains(':') {
        let parts: Vec<&str> = spec.split(':').collect();
        let [a, b, step] = parts[..] else {
            return Err(bad("a range has three fields START:STOP:STEP"));
        };
        let (a, b, step) = (num(a)?, num(b)?, num(step)?);
        if step == 0.0 || (b - a) * step < 0.0 {
            return Err(bad("STEP must be non-zero and lead from START to STOP"));
        }
        let count = ((b - a) / step + 1e-9).floor() + 1.0;
        if count > MAX_POINTS as f64 {
            return Err(bad(&format!(
                "{count} values are too many: a sweep has at most {MAX_POINTS} points"
            )));
        }
        let d = decimals_of(a).max(decimals_of(b)).max(decimals_of(step));
        return Ok((0..count as usize)
            .map(|i| {
                let v = a + step * i as f64;
                let text = format!("{v:.d$}");
                // "-0.0" reads as 0.
                if text.parse::<f64>() == Ok(0.0) {
                    format!("{:.d$}", 0.0)
                } else {
                    text
                }
            })
            .collect());
    }
    let values: Vec<String> = spec.split(',').map(|v| v.trim().to_string()).collect();
    if values.iter().any(String::is_empty) {
        return Err(bad("an empty value in the list"));
    }
    Ok(values)
}

/// The axes of a sweep, in order: the grids, the zipped lists, the seeds.
fn axes(args: &SweepRequest, base_seed: u64) -> Result<Vec<Axis>> {
    let mut out = Vec::new();
    for g in &args.grid {
        let (k, v) = split_assignment("--grid", g)?;
        out.push(Axis {
            keys: vec![k.to_string()],
            values: parse_values("--grid", k, v)?
                .into_iter()
                .map(|v| vec![v])
                .collect(),
        });
    }
    if !args.zip.is_empty() {
        let mut keys = Vec::new();
        let mut lists: Vec<Vec<String>> = Vec::new();
        for z in &args.zip {
            let (k, v) = split_assignment("--zip", z)?;
            let values = parse_values("--zip", k, v)?;
            if let Some(first) = lists.first()
                && first.len() != values.len()
            {
                bail!(Error::input(format!(
                    "--zip {}: {} values, but --zip {} has {}; zipped lists vary together and need the same length",
                    k,
                    values.len(),
                    keys[0],
                    first.len()
                )));
            }
            keys.push(k.to_string());
            lists.push(values);
        }
        let n = lists[0].len();
        out.push(Axis {
            keys,
            values: (0..n)
                .map(|i| lists.iter().map(|l| l[i].clone()).collect())
                .collect(),
        });
    }
    if let Some(n) = args.seeds {
        // TOML integers are i64: a seed beyond cannot be written into the scenario.
        let last = u128::from(base_seed) + u128::from(n) - 1;
        if last > i64::MAX as u128 {
            bail!(Error::input(format!(
                "--seeds {n}: the seeds would run from {base_seed} to {last}, past the largest seed a scenario holds ({}); lower simulation.seed",
                i64::MAX
            )));
        }
        out.push(Axis {
            keys: vec!["simulation.seed".to_string()],
            values: (0..u64::from(n))
                .map(|i| vec![base_seed.wrapping_add(i).to_string()])
                .collect(),
        });
    }
    let mut seen: Vec<&str> = Vec::new();
    for a in &out {
        for k in &a.keys {
            if seen.contains(&k.as_str()) {
                bail!(Error::input(format!(
                    "{k} is swept twice (by --grid, --zip or --seeds); give each key one axis"
                )));
            }
            seen.push(k);
        }
    }
    if out.is_empty() {
        bail!(Error::input(
            "nothing to sweep: give at least one --grid KEY=VALUES, --zip KEY=VALUES or --seeds N"
                .to_string()
        ));
    }
    let points = out
        .iter()
        .try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()))
        .filter(|&p| p <= MAX_POINTS);
    if points.is_none() {
        let sizes: Vec<String> = out.iter().map(|a| a.values.len().to_string()).collect();
        bail!(Error::input(format!(
            "the sweep has {} points, more than the {MAX_POINTS} a sweep may have (every point is validated before any runs and writes its own folder); use fewer values or split it",
            sizes.join(" × ")
        )));
    }
    Ok(out)
}

/// Every point: (key, value) pairs in axis order, the last axis varying fastest.
fn points(axes: &[Axis]) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for axis in axes {
        out = out
            .into_iter()
            .flat_map(|p| {
                axis.values.iter().map(move |vals| {
                    let mut q = p.clone();
                    q.extend(axis.keys.iter().cloned().zip(vals.iter().cloned()));
                    q
                })
            })
            .collect();
    }
    out
}

/// What `point.json` records: enough to know whether the point's outputs are up to date.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct PointRecord {
    point: usize,
    values: Vec<(String, String)>,
    scenario_hash: String,
    engine_version: String,
    tail_memory_mb: u32,
    bins: u32,
    /// Whether the risk contributions were computed (`--no-contributions` not given).
    #[serde(default)]
    contributions: bool,
    /// The tables' files (`--table-format`); CSV in records that predate it.
    #[serde(default, with = "table_format_name")]
    table_format: crate::tables::TableFormat,
    /// The sweep.csv header and this point's row.
    header: Vec<String>,
    row: Vec<String>,
}

/// [`crate::tables::TableFormat`] in `point.json`: `"csv"`, `"parquet"` or `"both"`.
mod table_format_name {
    use crate::tables::TableFormat;

    pub fn serialize<S: serde::Serializer>(f: &TableFormat, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(f.name())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TableFormat, D::Error> {
        let name = <String as serde::Deserialize>::deserialize(d)?;
        TableFormat::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown table format {name:?}")))
    }
}

/// A decomposition of `slashed_eth` whose contributions `sweep.csv` reports (`--contributions`).
struct Contributions {
    decomposition: String,
    components: Vec<String>,
}

/// The columns of `sweep.csv`: `point,dir`, then the summary CSV's
/// ([`lrtsim_report::summary_csv_header`]) with the swept keys as parameters, then with
/// `--contributions` per level of the summary CSV and per component
/// `slashed_eth.DECOMPOSITION.COMPONENT.es_contribution_LEVEL` and `….share_LEVEL`.
fn header(keys: &[String], metrics: &[&str], contrib: Option<&Contributions>) -> Vec<String> {
    let mut h: Vec<String> = ["point", "dir"].map(String::from).to_vec();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    h.extend(lrtsim_report::summary_csv_header(&keys, metrics));
    if let Some(c) = contrib {
        for l in lrtsim_report::SUMMARY_CSV_LEVELS {
            for comp in &c.components {
                for what in ["es_contribution", "share"] {
                    h.push(format!(
                        "{}.{}.{comp}.{what}_{l}",
                        crate::contrib::SLASHED,
                        c.decomposition
                    ));
                }
            }
        }
    }
    h
}

/// A point's row of `sweep.csv` (see [`header`]).
fn row(
    point: usize,
    dir: &str,
    values: &[(String, String)],
    summary: &Summary,
    metrics: &[&str],
    contrib: Option<&Contributions>,
) -> Result<Vec<String>> {
    let mut r = vec![point.to_string(), dir.to_string()];
    r.extend(lrtsim_report::summary_csv_row(
        Path::new("sweep.csv"),
        values,
        summary,
        metrics,
    )?);
    if let Some(c) = contrib {
        for l in lrtsim_report::SUMMARY_CSV_LEVELS {
            // Empty cells at a level without contributions (read from the histogram).
            let block = summary.contributions.iter().find(|b| {
                b.metric == crate::contrib::SLASHED
                    && b.decomposition == c.decomposition
                    && (b.level - l).abs() <= 1e-12
            });
            for k in 0..c.components.len() {
                match block.and_then(|b| b.components.get(k)) {
                    Some(x) => {
                        r.push(x.es_contribution.to_string());
                        r.push(x.share.to_string());
                    }
                    None => r.extend([String::new(), String::new()]),
                }
            }
        }
    }
    Ok(r)
}

fn expected_files(model: &Model, format: crate::tables::TableFormat) -> Vec<String> {
    let mut f = vec![
        crate::run::RESOLVED_SCENARIO.to_string(),
        "summary.json".to_string(),
    ];
    let mut tables: Vec<String> = [
        "tail_metrics",
        "exceedance",
        "contributions",
        "loss_distribution",
    ]
    .map(String::from)
    .to_vec();
    if model.withdrawals.is_some() {
        tables.push("redemption_wait".into());
    }
    // The bands the run records, each its own table.
    let bands = lrtsim_sim::bands::BandSet::for_model(model);
    for (present, table) in [
        (bands.queue.is_some(), "queue_paths"),
        (bands.price.is_some(), "price_paths"),
        (bands.utilization.is_some(), "utilization_paths"),
        (bands.exit_queue.is_some(), "exit_queue_paths"),
    ] {
        if present {
            tables.push(table.into());
        }
    }
    tables.extend(
        (model.lrts.iter())
            .filter(|l| l.market.is_some())
            .map(|l| format!("price_paths.lrt.{}", l.name)),
    );
    for t in tables {
        if format.csv() {
            f.push(format!("{t}.csv"));
        }
        if format.parquet() {
            f.push(format!("{t}.parquet"));
        }
    }
    f
}

/// The record of a point whose outputs are complete and current: its `point.json` matches
/// `want` (same values, scenario hash, engine, settings and columns), its `manifest.json`
/// vouches for the set of this scenario, seed and paths (every file present with its
/// checksum: a truncated or rewritten file fails it) and lists every expected file, and its
/// `summary.json` parses. Anything else (a missing, torn or mismatched file) reruns the point.
fn up_to_date(dir: &Path, model: &Model, want: &PointRecord) -> Option<PointRecord> {
    let text = std::fs::read_to_string(dir.join("point.json")).ok()?;
    let rec: PointRecord = serde_json::from_str(&text).ok()?;
    let same = rec.scenario_hash == want.scenario_hash
        && rec.values == want.values
        && rec.engine_version == want.engine_version
        && rec.tail_memory_mb == want.tail_memory_mb
        && rec.bins == want.bins
        && rec.contributions == want.contributions
        && rec.table_format == want.table_format
        && rec.header == want.header
        && rec.row.len() == want.header.len();
    if !same {
        return None;
    }
    crate::outset::verify(
        dir,
        &model.scenario_hash,
        model.seed,
        model.paths,
        &expected_files(model, want.table_format)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .ok()?;
    let summary = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    serde_json::from_str::<serde_json::Value>(&summary).ok()?;
    Some(rec)
}

/// `lrtsim sweep`: every point loaded and validated, then run (or skipped when up to date)
/// into its folder, sweep.csv rewritten after each.
pub fn sweep(args: &SweepRequest, monitor: &dyn Monitor) -> Result<SweepOutcome> {
    args.settings.table_format.check_available()?;
    let base = match &args.text {
        None => crate::run::load_all(std::slice::from_ref(&args.scenario), &args.set)?
            .pop()
            .expect("one scenario"),
        Some(_) => args.load(&args.set)?,
    };
    let axes = axes(args, base.seed)?;
    let keys: Vec<String> = axes.iter().flat_map(|a| a.keys.clone()).collect();
    let points = points(&axes);
    // Load and validate every point before running any.
    let mut models = Vec::with_capacity(points.len());
    let mut errors = Vec::new();
    for p in &points {
        let mut set = args.set.clone();
        set.extend(p.iter().map(|(k, v)| format!("{k}={v}")));
        match args.load(&set) {
            Ok(m) => models.push(m),
            Err(e) => {
                let at: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
                errors.push((at.join(" "), e.to_string()));
            }
        }
    }
    if !errors.is_empty() {
        // One line per distinct problem, naming the first point that has it.
        let n = errors.len();
        let mut shown: Vec<(String, String, usize)> = Vec::new();
        for (at, e) in errors {
            match shown.iter_mut().find(|(_, m, _)| *m == e) {
                Some(s) => s.2 += 1,
                None => shown.push((at, e, 1)),
            }
        }
        let lines: Vec<String> = shown
            .iter()
            .take(10)
            .map(|(at, e, k)| match k {
                1 => format!("point {at}: {e}"),
                k => format!("point {at} (and {} more): {e}", k - 1),
            })
            .collect();
        bail!(Error::input(format!(
            "{}\n{n} of {} points are invalid",
            lines.join("\n"),
            points.len()
        )));
    }
    let owned = headline(&base);
    let metrics = crate::run::names(&owned);
    if let Some(m) = models.iter().find(|m| headline(m) != owned) {
        bail!(Error::input(format!(
            "the sweep changes which sections the scenario has ({} has different headline metrics); sweep values within a section",
            m.name
        )));
    }
    let contrib = match &args.contributions {
        None => None,
        Some(d) => {
            let Some(components) = crate::contrib::slashed_components(&base, d) else {
                bail!(Error::input(format!(
                    "--contributions {d}: slashed_eth has no such decomposition in {}; it has {}",
                    base.name,
                    crate::contrib::slashed_decompositions(&base).join(", ")
                )));
            };
            if let Some(i) = models.iter().position(|m| {
                crate::contrib::slashed_components(m, d).as_ref() != Some(&components)
            }) {
                let at: Vec<String> = points[i].iter().map(|(k, v)| format!("{k}={v}")).collect();
                bail!(Error::input(format!(
                    "--contributions {d}: point {} changes its components (they must be the same at every point)",
                    at.join(" ")
                )));
            }
            Some(Contributions {
                decomposition: d.clone(),
                components,
            })
        }
    };
    let out = PathBuf::from(args.out.replace("{name}", &base.name));
    let settings = Settings {
        paths_csv: false,
        ..args.settings
    };
    // One sweep at a time in DIR (it rewrites sweep.csv); every point's folder is locked too
    // while the point runs.
    let _lock = crate::outset::Lock::acquire(&out, crate::outset::LOCK_FILE, monitor)?;
    let head = header(&keys, &metrics, contrib.as_ref());
    let width = points.len().saturating_sub(1).to_string().len().max(4);
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(points.len());
    let (mut ran, mut skipped) = (0usize, 0usize);
    let started = Instant::now();
    for (k, (values, model)) in points.iter().zip(&models).enumerate() {
        let rel = format!("points/{k:0width$}");
        let dir = out.join(&rel);
        let mut record = PointRecord {
            point: k,
            values: values.clone(),
            scenario_hash: model.scenario_hash.clone(),
            engine_version: env!("CARGO_PKG_VERSION").to_string(),
            tail_memory_mb: settings.tail_memory_mb,
            bins: settings.bins,
            contributions: settings.contributions,
            table_format: settings.table_format,
            header: head.clone(),
            row: Vec::new(),
        };
        let label: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        // `[k/n] KEY=V …: ` then what became of the point.
        let log = |what: String| {
            monitor.info(&format!(
                "[{}/{}] {}: {what}",
                k + 1,
                points.len(),
                label.join(" ")
            ));
        };
        let done = if args.force {
            None
        } else {
            up_to_date(&dir, model, &record)
        };
        if let Some(rec) = done {
            skipped += 1;
            log(format!("up to date, skipped ({})", dir.display()));
            rows.push(rec.row);
        } else {
            let t = Instant::now();
            // A stale record must not vouch for outputs being rewritten.
            let set = crate::outset::OutputSet::lock(&dir, "sweep", monitor)?;
            let _ = std::fs::remove_file(dir.join("point.json"));
            let (outcome, sink) = crate::run::simulate(model, &settings, None, None, monitor)?;
            let summary = crate::run::report(model, &outcome, sink, set, &settings)?;
            crate::run::warn_unresolved(model, &summary, monitor);
            crate::run::warn_degenerate(model, &summary, monitor);
            record.row = row(k, &rel, values, &summary, &metrics, contrib.as_ref())?;
            let json = serde_json::to_string_pretty(&record)?;
            lrtsim_report::write_atomic(&dir.join("point.json"), |w| {
                w.write_all(json.as_bytes())?;
                w.write_all(b"\n")
            })?;
            ran += 1;
            log(format!(
                "{} paths in {:.2} s -> {}",
                model.paths,
                t.elapsed().as_secs_f64(),
                dir.display()
            ));
            rows.push(record.row);
        }
        lrtsim_report::write_csv(&out.join("sweep.csv"), &head, &rows)?;
    }
    monitor.info(&format!(
        "{}: {} points ({ran} run, {skipped} up to date) in {:.2} s -> {}",
        base.name,
        points.len(),
        started.elapsed().as_secs_f64(),
        out.join("sweep.csv").display()
    ));
    Ok(SweepOutcome {
        header: head,
        rows,
        out,
        ran,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(spec: &str) -> Vec<String> {
        parse_values("--grid", "k", spec).unwrap()
    }

    #[test]
    fn value_lists_ranges_and_log_ranges() {
        assert_eq!(vals("0.1,0.2, high"), ["0.1", "0.2", "high"]);
        assert_eq!(vals("0.1:0.5:0.1"), ["0.1", "0.2", "0.3", "0.4", "0.5"]);
        assert_eq!(vals("1000:5000:2000"), ["1000", "3000", "5000"]);
        assert_eq!(vals("1:0:-0.25"), ["1.00", "0.75", "0.50", "0.25", "0.00"]);
        assert_eq!(vals("0:1:0.3"), ["0.0", "0.3", "0.6", "0.9"]);
        assert_eq!(vals("log:1e-4:1e-1:4"), ["0.0001", "0.001", "0.01", "0.1"]);
        assert_eq!(vals("log:1:100:3"), ["1", "10", "100"]);
        for bad in [
            "1:2",
            "1:2:0",
            "2:1:1",
            "log:0:1:3",
            "log:1:10:1",
            "a:2:1",
            "1,,2",
            "log:1:2",
        ] {
            assert!(parse_values("--grid", "k", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn points_are_the_product_with_the_last_axis_fastest() {
        let a = Axis {
            keys: vec!["a".into()],
            values: vec![vec!["1".into()], vec!["2".into()]],
        };
        let z = Axis {
            keys: vec!["b".into(), "c".into()],
            values: vec![
                vec!["x".into(), "10".into()],
                vec!["y".into(), "20".into()],
                vec!["z".into(), "30".into()],
            ],
        };
        let p = points(&[a, z]);
        assert_eq!(p.len(), 6);
        let s = |i: usize| {
            p[i].iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(s(0), "a=1 b=x c=10");
        assert_eq!(s(1), "a=1 b=y c=20");
        assert_eq!(s(5), "a=2 b=z c=30");
    }
}

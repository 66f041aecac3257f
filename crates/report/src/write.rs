//! Output files: atomic writes of `summary.json`, `tail_metrics.csv`, `loss_distribution.csv`,
//! `redemption_wait.csv`, `price_paths.csv` and `paths.csv`, and the one-line-per-run summary
//! CSV for parameter sweeps.
//!
//! Floats in CSV files are written with Rust's `{}` formatting (shortest string that parses back
//! to the same `f64`), so the same inputs give byte-identical files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rayon::prelude::*;

use crate::accumulator::MetricAccumulator;
use crate::error::ReportError;
use crate::stats::MetricStats;
use crate::summary::Summary;
use crate::wait::WaitAccumulator;

/// Files this process has created and must not leave behind if it is interrupted: the
/// temporaries of [`write_atomic`] while they are being written, and whatever a caller
/// registers with [`register_cleanup`] (an output directory's lock file).
static CLEANUP: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn cleanup_list() -> MutexGuard<'static, Vec<PathBuf>> {
    CLEANUP.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds `path` to the files [`remove_cleanup_files_and_exit`] removes.
pub fn register_cleanup(path: &Path) {
    cleanup_list().push(path.to_owned());
}

/// Removes `path` from the files [`remove_cleanup_files_and_exit`] removes (it was renamed
/// or removed by its owner).
pub fn unregister_cleanup(path: &Path) {
    let mut list = cleanup_list();
    if let Some(i) = list.iter().rposition(|p| p == path) {
        list.swap_remove(i);
    }
}

/// For an interrupted process (SIGINT, SIGTERM): removes every registered file — the
/// temporaries being written and the registered lock files — and exits with `code`.
///
/// The registry stays locked until the process has exited, and [`write_atomic`] creates its
/// temporary file and registers it under the same lock, so no temporary can appear after the
/// removal.
pub fn remove_cleanup_files_and_exit(code: i32) -> ! {
    let list = cleanup_list();
    for p in list.iter() {
        let _ = fs::remove_file(p);
    }
    std::process::exit(code)
}

/// Removes the temporary file when dropped unless disarmed, so neither an error nor a panic in
/// the writer leaves it behind.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
        unregister_cleanup(&self.path);
    }
}

thread_local! {
    /// The files [`write_atomic`] writes on this thread while [`capture_writes`] runs: into
    /// memory instead of the file system, by path.
    static CAPTURE: std::cell::RefCell<Option<std::collections::BTreeMap<PathBuf, Vec<u8>>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with every [`write_atomic`] on this thread (so every `write_*` function of the
/// crate) writing into memory instead of the file system, and returns what `f` returned with
/// the bytes written, by path: the same bytes the files would hold. Nested captures are not
/// supported (the inner one takes the files).
pub fn capture_writes<T>(
    f: impl FnOnce() -> T,
) -> (T, std::collections::BTreeMap<PathBuf, Vec<u8>>) {
    let outer = CAPTURE.with_borrow_mut(|c| c.replace(Default::default()));
    // Restores the outer state even if `f` panics.
    struct Restore(Option<Option<std::collections::BTreeMap<PathBuf, Vec<u8>>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(outer) = self.0.take() {
                CAPTURE.with_borrow_mut(|c| *c = outer);
            }
        }
    }
    let mut restore = Restore(Some(outer));
    let value = f();
    let files = CAPTURE.with_borrow_mut(|c| {
        let files = c.take().unwrap_or_default();
        *c = restore.0.take().expect("restored once");
        files
    });
    (value, files)
}

/// Writes a file atomically: readers see either the old file or the complete new one.
/// (Into memory instead while [`capture_writes`] runs on this thread.)
///
/// `f` writes the content into a buffered `<path>.tmp-<pid>` in the same directory (so the rename
/// stays on one file system); it is then flushed, synced to disk and renamed over `path`. Missing
/// parent directories are created. If anything fails — including `f` returning an error or
/// panicking — the temporary file is removed and `path` is left as it was. Two threads of one
/// process must not write the same path at the same time (they would share the temporary name).
pub fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    let Some(name) = path.file_name() else {
        return Err(ReportError::InvalidInput {
            path: path.to_owned(),
            reason: "not a file path".to_owned(),
        });
    };
    if CAPTURE.with_borrow(Option::is_some) {
        let mut bytes = Vec::new();
        f(&mut bytes).map_err(err)?;
        CAPTURE.with_borrow_mut(|c| {
            c.as_mut()
                .expect("capturing")
                .insert(path.to_owned(), bytes)
        });
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(err)?;
    }
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp_path = path.with_file_name(tmp_name);
    // Created and registered under the registry's lock (see remove_cleanup_files_and_exit).
    let file = {
        let mut list = cleanup_list();
        let file = File::create(&tmp_path).map_err(err)?;
        list.push(tmp_path.clone());
        file
    };
    let mut tmp = TempFile {
        path: tmp_path,
        armed: true,
    };
    let mut out = BufWriter::new(file);
    f(&mut out).map_err(err)?;
    let file = out.into_inner().map_err(|e| err(e.into_error()))?;
    // Sync before the rename, or a crash could leave the new name pointing at an empty file.
    file.sync_all().map_err(err)?;
    drop(file);
    fs::rename(&tmp.path, path).map_err(err)?;
    tmp.armed = false;
    Ok(())
}

/// Writes `summary.json` (layout in [`Summary`]), pretty-printed with a trailing newline,
/// atomically.
pub fn write_summary_json(path: &Path, s: &Summary) -> Result<(), ReportError> {
    write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, s)?;
        w.write_all(b"\n")
    })
}

/// `{}` of an `f64`: the shortest decimal that parses back to the same value.
fn num(x: f64) -> String {
    x.to_string()
}

/// Writes a CSV file atomically: `header`, then `rows` (RFC 4180 quoting, as every other CSV
/// of the crate). For tables assembled by the caller, such as a sweep's `sweep.csv`.
pub fn write_csv(path: &Path, header: &[String], rows: &[Vec<String>]) -> Result<(), ReportError> {
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(header)?;
        for r in rows {
            csv.write_record(r)?;
        }
        csv.flush()
    })
}

/// Writes `tail_metrics.csv` atomically: header
/// `metric,level,var,var_lo,var_hi,es,es_lo,es_hi,exact`, then one row per metric and level,
/// metrics in report order and levels in their order. `exact` is 1 when the level's statistics
/// came from exact values, 0 when from the histogram ([`LevelStats::exact`](crate::LevelStats::exact)).
pub fn write_tail_metrics_csv(path: &Path, s: &Summary) -> Result<(), ReportError> {
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record([
            "metric", "level", "var", "var_lo", "var_hi", "es", "es_lo", "es_hi", "exact",
        ])?;
        for m in &s.metrics {
            for l in &m.levels {
                csv.write_record([
                    m.name.clone(),
                    num(l.level),
                    num(l.var),
                    num(l.var_lo),
                    num(l.var_hi),
                    num(l.es),
                    num(l.es_lo),
                    num(l.es_hi),
                    u8::from(l.exact).to_string(),
                ])?;
            }
        }
        csv.flush()
    })
}

/// Header of `contributions.csv` ([`write_contributions_csv`]).
pub const CONTRIBUTIONS_CSV_HEADER: [&str; 18] = [
    "metric",
    "level",
    "decomposition",
    "component",
    "es_contribution",
    "share",
    "ci_lo",
    "ci_hi",
    "standalone_es",
    "var_contribution",
    "var_contribution_lo",
    "var_contribution_hi",
    "es",
    "var",
    "diversification_benefit",
    "tail_paths",
    "window_paths",
    "exact",
];

/// Writes `contributions.csv` atomically: header [`CONTRIBUTIONS_CSV_HEADER`], then one row per
/// component of every decomposition at every level, in the given order (see
/// [`DecompositionContributions`](crate::DecompositionContributions)). `standalone_es` and
/// `diversification_benefit` are empty when unknown; `exact` is 1, or 0 for contributions
/// flagged approximate.
pub fn write_contributions_csv(
    path: &Path,
    blocks: &[crate::DecompositionContributions],
) -> Result<(), ReportError> {
    let opt = |x: Option<f64>| x.map(num).unwrap_or_default();
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(CONTRIBUTIONS_CSV_HEADER)?;
        for b in blocks {
            for c in &b.components {
                csv.write_record([
                    b.metric.clone(),
                    num(b.level),
                    b.decomposition.clone(),
                    c.component.clone(),
                    num(c.es_contribution),
                    num(c.share),
                    num(c.ci_lo),
                    num(c.ci_hi),
                    opt(c.standalone_es),
                    num(c.var_contribution),
                    num(c.var_contribution_lo),
                    num(c.var_contribution_hi),
                    num(b.es),
                    num(b.var),
                    opt(b.diversification_benefit),
                    b.tail_paths.to_string(),
                    b.window_paths.to_string(),
                    u8::from(b.exact).to_string(),
                ])?;
            }
        }
        csv.flush()
    })
}

/// Writes `loss_distribution.csv` atomically: header
/// `metric,bin_lo,bin_hi,count,pdf,cdf,exceedance`, then the
/// [`histogram`](MetricAccumulator::histogram) of every metric with `bins` bins, metrics in the
/// given order. Histograms are computed in parallel (each on its own, so the file does not
/// depend on the thread count).
///
/// Fails without writing if `bins` is 0.
pub fn write_loss_distribution_csv(
    path: &Path,
    metrics: &[(&str, &MetricAccumulator)],
    bins: usize,
) -> Result<(), ReportError> {
    if bins == 0 {
        return Err(ReportError::InvalidInput {
            path: path.to_owned(),
            reason: "a loss distribution needs at least one bin".to_owned(),
        });
    }
    let histograms: Vec<_> = metrics
        .par_iter()
        .map(|&(_, acc)| acc.histogram(bins))
        .collect();
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record([
            "metric",
            "bin_lo",
            "bin_hi",
            "count",
            "pdf",
            "cdf",
            "exceedance",
        ])?;
        for (&(name, _), bins) in metrics.iter().zip(&histograms) {
            for b in bins {
                csv.write_record([
                    name.to_owned(),
                    num(b.lo),
                    num(b.hi),
                    b.count.to_string(),
                    num(b.pdf),
                    num(b.cdf),
                    num(b.exceedance),
                ])?;
            }
        }
        csv.flush()
    })
}

/// Writes `redemption_wait.csv` atomically: the distribution of the time to redeem of each
/// `(holder, accumulator)`. Header `holder,redeemed,wait_days_lo,wait_days_hi,paths,share,cdf`;
/// per holder, first the instant redemptions (`0,0`), then bins `(lo, lo + bin_days]` up to
/// `horizon_days` (redeemed = 1), then one row for the paths on which the holder was not paid
/// by the horizon (redeemed = 0, empty bounds). `paths` is the number of paths in the row,
/// `share` their share of all paths (with likelihood-ratio weights: their Σw over the total Σw), `cdf` the
/// running total, so the last paid row's `cdf` is the probability of being paid by the horizon
/// and the final row's is 1.
pub fn write_redemption_wait_csv(
    path: &Path,
    holders: &[(&str, &WaitAccumulator)],
) -> Result<(), ReportError> {
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record([
            "holder",
            "redeemed",
            "wait_days_lo",
            "wait_days_hi",
            "paths",
            "share",
            "cdf",
        ])?;
        for &(holder, acc) in holders {
            for row in acc.rows() {
                let (lo, hi) = row
                    .bounds
                    .map_or((String::new(), String::new()), |(lo, hi)| {
                        (num(lo), num(hi))
                    });
                csv.write_record([
                    holder.to_owned(),
                    if row.redeemed { "1" } else { "0" }.to_owned(),
                    lo,
                    hi,
                    row.paths.to_string(),
                    num(row.share),
                    num(row.cdf),
                ])?;
            }
        }
        csv.flush()
    })
}

/// Writes the per-path values atomically: header `path,<names…>`, then one row per path with
/// its 0-based index and the value of every column.
///
/// Fails without writing if `names` and `columns` differ in number or the columns in length.
pub fn write_paths_csv(path: &Path, names: &[&str], columns: &[&[f64]]) -> Result<(), ReportError> {
    let invalid = |reason: String| {
        Err(ReportError::InvalidInput {
            path: path.to_owned(),
            reason,
        })
    };
    if names.len() != columns.len() {
        return invalid(format!(
            "{} column names but {} columns",
            names.len(),
            columns.len()
        ));
    }
    let rows = columns.first().map_or(0, |c| c.len());
    if let Some((i, c)) = columns.iter().enumerate().find(|(_, c)| c.len() != rows) {
        return invalid(format!(
            "column `{}` has {} values but `{}` has {rows}",
            names[i],
            c.len(),
            names[0]
        ));
    }
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_field("path")?;
        for name in names {
            csv.write_field(name)?;
        }
        csv.write_record(None::<&[u8]>)?;
        // One reused buffer: at a million rows, allocating a String per field would dominate.
        let mut field = String::new();
        for row in 0..rows {
            csv.write_field(row.to_string())?;
            for c in columns {
                field.clear();
                std::fmt::Write::write_fmt(&mut field, format_args!("{}", c[row]))
                    .expect("writing to a String");
                csv.write_field(&field)?;
            }
            csv.write_record(None::<&[u8]>)?;
        }
        csv.flush()
    })
}

/// One time point of `price_paths.csv`, for [`write_price_paths_csv`]: percentile bands of the
/// market price / NAV ratio across paths at the end of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceRow {
    /// Steps completed at the point (1-based).
    pub step: u32,
    /// Days from the start at the point.
    pub day: f64,
    /// Paths counted at the point.
    pub paths: u64,
    /// The ratio's quantile at each probability given to the writer, in order.
    pub quantiles: Vec<f64>,
    /// Share of paths whose ratio is below `1 − bps / 10,000`, for each threshold given to the
    /// writer, in order.
    pub share_below: Vec<f64>,
}

/// The column name of the quantile at probability `p` (in [0, 1]) in `price_paths.csv`; the
/// rule is in [`write_price_paths_csv`]. `0.07 * 100.0` is `7.000000000000001`, hence the shift
/// on the digits of `p`'s shortest decimal.
fn quantile_column(p: f64) -> String {
    // `+ 0.0` turns −0 into 0.
    let s = (p + 0.0).to_string();
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut digits = format!("{int}{frac:0<2}");
    let point = int.len() + 2;
    let frac = digits.split_off(point);
    let int = digits.trim_start_matches('0');
    let mut name = format!("p{int:0>2}");
    if !frac.is_empty() {
        name.push('.');
        name.push_str(&frac);
    }
    name
}

/// Writes `price_paths.csv` atomically: percentile bands of the market price / NAV ratio over
/// time, one row per recorded point.
///
/// Header `step,day,paths`, then one quantile column per entry of `probs`, then
/// `discount_over_{bps}bps_share` per entry of `thresholds_bps`: the share of paths whose
/// price / NAV is below `1 − bps / 10,000` at that step's end. Rows follow `rows` in order;
/// floats use `{}` formatting (a quantile with no paths is `NaN`).
///
/// A quantile column is named `p` followed by the percentage: the shortest decimal of the
/// probability (its `{}` formatting) with the decimal point moved two places right, the integer
/// part padded with zeros to at least two digits, and no trailing zeros. So 0.01 → `p01`,
/// 0.05 → `p05`, 0.5 → `p50`, 0.99 → `p99`, 0.001 → `p00.1`, 0.999 → `p99.9`,
/// 0.9999 → `p99.99`, 0 → `p00` and 1 → `p100`. The shift is done on the digits, not by
/// multiplying by 100, so 0.07 gives `p07`.
///
/// Fails without writing if a probability is not in [0, 1], two columns would have the same
/// name, or a row has a different number of quantiles or shares than `probs` or
/// `thresholds_bps`.
pub fn write_price_paths_csv(
    path: &Path,
    probs: &[f64],
    thresholds_bps: &[u32],
    rows: &[PriceRow],
) -> Result<(), ReportError> {
    let invalid = |reason: String| {
        Err(ReportError::InvalidInput {
            path: path.to_owned(),
            reason,
        })
    };
    if let Some(p) = probs.iter().find(|p| !(0.0..=1.0).contains(*p)) {
        return invalid(format!("quantile probability {p} is not in [0, 1]"));
    }
    let mut header: Vec<String> = ["step", "day", "paths"].map(String::from).to_vec();
    header.extend(probs.iter().map(|&p| quantile_column(p)));
    header.extend(
        thresholds_bps
            .iter()
            .map(|bps| format!("discount_over_{bps}bps_share")),
    );
    if let Some((i, name)) = header
        .iter()
        .enumerate()
        .find(|(i, name)| header[..*i].contains(name))
    {
        return invalid(format!("column `{name}` appears twice (column {})", i + 1));
    }
    if let Some(r) = rows
        .iter()
        .find(|r| r.quantiles.len() != probs.len() || r.share_below.len() != thresholds_bps.len())
    {
        return invalid(format!(
            "the row of step {} has {} quantiles and {} shares, expected {} and {}",
            r.step,
            r.quantiles.len(),
            r.share_below.len(),
            probs.len(),
            thresholds_bps.len()
        ));
    }
    write_atomic(path, |w| {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(&header)?;
        for r in rows {
            csv.write_field(r.step.to_string())?;
            csv.write_field(num(r.day))?;
            csv.write_field(r.paths.to_string())?;
            for &x in r.quantiles.iter().chain(&r.share_below) {
                csv.write_field(num(x))?;
            }
            csv.write_record(None::<&[u8]>)?;
        }
        csv.flush()
    })
}

/// Where [`append_summary_csv`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SummaryCsvTarget {
    /// Standard output: header and line every time (the caller redirects or collects them).
    Stdout,
    /// A file that collects one line per run; the header is written only when it is new.
    File(PathBuf),
}

impl SummaryCsvTarget {
    /// The path to name in errors.
    fn path(&self) -> PathBuf {
        match self {
            SummaryCsvTarget::Stdout => PathBuf::from("<stdout>"),
            SummaryCsvTarget::File(p) => p.clone(),
        }
    }
}

/// CSV-encodes one record, terminated by `\n`.
fn csv_line<I, T>(fields: I) -> Vec<u8>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(fields)
        .expect("writing CSV to memory cannot fail");
    csv.into_inner()
        .expect("flushing CSV to memory cannot fail")
}

/// The tail levels of the summary CSV (and of `sweep.csv`, which shares its schema).
pub const SUMMARY_CSV_LEVELS: [f64; 3] = [0.95, 0.99, 0.999];

/// The normal quantile of a two-sided 95 % interval, for `mean_lo` and `mean_hi`.
const Z_95: f64 = 1.959_963_984_540_054;

/// The columns of the summary CSV, one schema for `run --summary-csv`, `merge --summary-csv`
/// and `sweep.csv` (which puts `point,dir` in front):
///
/// `scenario,scenario_hash,seed,paths`, then one column per parameter key (a `--set` key or a
/// swept key, bare: `simulation.paths`), then for every metric `m` of `metrics`:
/// `m.mean,m.mean_lo,m.mean_hi,m.prob_loss`, then for each level `l` of
/// [`SUMMARY_CSV_LEVELS`]: `m.var_l,m.var_lo_l,m.var_hi_l,m.es_l,m.es_lo_l,m.es_hi_l`.
pub fn summary_csv_header(keys: &[&str], metrics: &[&str]) -> Vec<String> {
    let mut h: Vec<String> = ["scenario", "scenario_hash", "seed", "paths"]
        .map(String::from)
        .to_vec();
    h.extend(keys.iter().map(|k| (*k).to_owned()));
    for m in metrics {
        for c in ["mean", "mean_lo", "mean_hi", "prob_loss"] {
            h.push(format!("{m}.{c}"));
        }
        for l in SUMMARY_CSV_LEVELS {
            for c in ["var", "var_lo", "var_hi", "es", "es_lo", "es_hi"] {
                h.push(format!("{m}.{c}_{l}"));
            }
        }
    }
    h
}

/// The row of [`summary_csv_header`] for one run: `values` are the (key, value) pairs as given
/// (trimmed), `metrics` the metrics of the columns (all of the summary's if empty). `path` is
/// the file named in errors: a metric or level missing from the summary.
pub fn summary_csv_row(
    path: &Path,
    values: &[(String, String)],
    s: &Summary,
    metrics: &[&str],
) -> Result<Vec<String>, ReportError> {
    let i = &s.info;
    let mut r = vec![
        i.scenario.clone(),
        i.scenario_hash.clone(),
        i.seed.to_string(),
        i.paths.to_string(),
    ];
    r.extend(values.iter().map(|(_, v)| v.clone()));
    for m in resolve_metrics(path, s, metrics)? {
        r.push(num(m.mean));
        r.push(num(m.mean - Z_95 * m.std_error));
        r.push(num(m.mean + Z_95 * m.std_error));
        r.push(num(m.prob_loss));
        for l in SUMMARY_CSV_LEVELS {
            let Some(s) = m.level(l) else {
                return Err(ReportError::InvalidInput {
                    path: path.to_owned(),
                    reason: format!("level {l} is missing for `{}`", m.name),
                });
            };
            for v in [s.var, s.var_lo, s.var_hi, s.es, s.es_lo, s.es_hi] {
                r.push(num(v));
            }
        }
    }
    Ok(r)
}

/// The summary's statistics of `metrics` in that order (all of them if empty).
fn resolve_metrics<'s>(
    path: &Path,
    s: &'s Summary,
    metrics: &[&str],
) -> Result<Vec<&'s MetricStats>, ReportError> {
    if metrics.is_empty() {
        return Ok(s.metrics.iter().collect());
    }
    metrics
        .iter()
        .map(|name| {
            s.metric(name).ok_or_else(|| ReportError::InvalidInput {
                path: path.to_owned(),
                reason: format!(
                    "headline metric `{name}` is not in the summary (metrics: {})",
                    s.metrics
                        .iter()
                        .map(|m| m.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        })
        .collect()
}

/// Checks the current content of a summary CSV before appending to it: a file that does not
/// end with a line break is torn ([`ReportError::TornCsv`]); a non-empty file must start with
/// `header` ([`ReportError::HeaderMismatch`]).
fn check_existing(path: &Path, bytes: &[u8], header: &[String]) -> Result<(), ReportError> {
    if bytes.is_empty() {
        return Ok(());
    }
    if bytes.last() != Some(&b'\n') {
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        return Err(ReportError::TornCsv {
            path: path.to_owned(),
            len: bytes.len() as u64,
            keep: keep as u64,
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut first = csv::ByteRecord::new();
    reader
        .read_byte_record(&mut first)
        .map_err(|e| ReportError::Read {
            path: path.to_owned(),
            source: e.into(),
        })?;
    if first.iter().ne(header.iter().map(String::as_bytes)) {
        let existing: Vec<String> = first
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        return Err(ReportError::HeaderMismatch {
            path: path.to_owned(),
            hint: mismatch_hint(&existing, header),
            existing: existing.join(","),
            expected: header.join(","),
        });
    }
    Ok(())
}

/// What differs between an existing summary CSV header and this run's, in words: the
/// parameter columns (`--set` keys) or the metric columns.
fn mismatch_hint(existing: &[String], expected: &[String]) -> String {
    // Parameters sit between the four fixed columns and the first metric's `.mean`.
    let params = |h: &[String]| -> Option<Vec<String>> {
        let fixed = ["scenario", "scenario_hash", "seed", "paths"];
        if h.len() < 4 || h[..4].iter().zip(fixed).any(|(a, b)| a != b) {
            return None;
        }
        let end = h[4..]
            .iter()
            .position(|c| c.ends_with(".mean"))
            .map_or(h.len(), |i| i + 4);
        Some(h[4..end].to_vec())
    };
    let (Some(theirs), Some(ours)) = (params(existing), params(expected)) else {
        return "the file is not a summary CSV of this version of lrtsim".to_owned();
    };
    if theirs.iter().any(|k| k.starts_with("set.")) {
        return "the file has the summary CSV schema of an earlier version of lrtsim (set.KEY columns; see docs/outputs.md, migration)".to_owned();
    }
    if theirs != ours {
        return format!(
            "its parameter columns are [{}], this run's --set keys are [{}]",
            theirs.join(", "),
            ours.join(", ")
        );
    }
    "its metric columns differ (a scenario with other sections: [withdrawals], [market])".to_owned()
}

/// Checks, before a run, that [`append_summary_csv`] will be able to append to `target`
/// with these `--set` keys and headline metrics: a File target that exists must end with a
/// line break and, if not empty, start with the same header. Lets a run fail before any work
/// is done.
pub fn check_summary_csv(
    target: &SummaryCsvTarget,
    set_keys: &[&str],
    headline: &[&str],
) -> Result<(), ReportError> {
    let SummaryCsvTarget::File(path) = target else {
        return Ok(());
    };
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(ReportError::Read {
                path: path.clone(),
                source,
            });
        }
    };
    check_existing(path, &bytes, &summary_csv_header(set_keys, headline))
}

/// Whether `file` is still the file at `path` (not replaced by a rename since it was opened).
#[cfg(unix)]
fn is_current(file: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (file.metadata()?, fs::metadata(path)?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}

#[cfg(not(unix))]
fn is_current(_: &File, _: &Path) -> io::Result<bool> {
    Ok(true)
}

/// Set once the header has gone to stdout: with several runs in one process, `-` prints it
/// once, so stdout is one CSV table.
static STDOUT_HEADER_DONE: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Appends one line describing this run to a summary CSV, for shell-loop parameter sweeps.
///
/// Columns: [`summary_csv_header`] with the `--set` keys of `set_values` and the metrics of
/// `headline` (all metrics if empty); the row is [`summary_csv_row`]. Fields are quoted by the
/// `csv` crate where needed; floats use `{}` formatting.
///
/// * [`SummaryCsvTarget::Stdout`]: writes the header (the first time in this process) and the
///   line.
/// * [`SummaryCsvTarget::File`]: all or nothing. Under an exclusive advisory lock on the file,
///   its content is read and checked — a file that does not end with a line break is torn and
///   refused ([`ReportError::TornCsv`]); a non-empty file must start with the header this run
///   would write ([`ReportError::HeaderMismatch`]) — then the old content plus the new line
///   (or the header and the line, for a new or empty file) is written to a temporary file in
///   the same directory and renamed over it ([`write_atomic`]). So a failed write (a full disk)
///   leaves the file as it was, and concurrent runs neither interleave lines nor lose one (a
///   run that waited for the lock while another replaced the file starts over on the new file).
pub fn append_summary_csv(
    target: &SummaryCsvTarget,
    set_values: &[(String, String)],
    s: &Summary,
    headline: &[&str],
) -> Result<(), ReportError> {
    let path = target.path();
    let metrics: Vec<&str> = resolve_metrics(&path, s, headline)?
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let keys: Vec<&str> = set_values.iter().map(|(k, _)| k.as_str()).collect();
    let header = summary_csv_header(&keys, &metrics);
    let row_line = csv_line(summary_csv_row(&path, set_values, s, &metrics)?);
    let header_line = csv_line(&header);

    let path = match target {
        SummaryCsvTarget::Stdout => {
            use std::sync::atomic::Ordering;
            let err = |source| ReportError::Write {
                path: target.path(),
                source,
            };
            let first = !STDOUT_HEADER_DONE.swap(true, Ordering::Relaxed);
            let bytes = if first {
                [header_line, row_line].concat()
            } else {
                row_line
            };
            let mut out = io::stdout().lock();
            return match out.write_all(&bytes).and_then(|()| out.flush()) {
                // A reader that went away (`| head`) is not an error.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(err),
            };
        }
        SummaryCsvTarget::File(path) => path,
    };
    let write_err = |source| ReportError::Write {
        path: path.clone(),
        source,
    };
    let read_err = |source| ReportError::Read {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(write_err)?;
    }
    loop {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(write_err)?;
        match file.lock() {
            // Some file systems do not do locks.
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {}
            r => r.map_err(write_err)?,
        }
        // Another run replaced the file while this one waited for the lock: start over on
        // the new file.
        if !is_current(&file, path).map_err(read_err)? {
            continue;
        }
        let mut existing = Vec::new();
        io::Read::read_to_end(&mut &file, &mut existing).map_err(read_err)?;
        check_existing(path, &existing, &header)?;
        if existing.is_empty() {
            existing.extend_from_slice(&header_line);
        }
        existing.extend_from_slice(&row_line);
        write_atomic(path, |w| w.write_all(&existing))?;
        // Dropping the file releases the lock (on the replaced file: the next run sees that
        // and reopens).
        return Ok(());
    }
}

/// FNV-1a (64 bits) of a file's bytes, streamed, as 16 lowercase hex digits, with the file's
/// length: the checksum of `manifest.json` (and of a shard's partial result).
pub fn fnv1a64_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut h = Fnv1a64::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok((len, h.hex()))
}

/// FNV-1a, 64 bits: offset basis 0xcbf29ce484222325, prime 0x100000001b3, one byte at a time.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a64(u64);

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv1a64 {
    /// The empty hash.
    pub fn new() -> Self {
        Fnv1a64(0xcbf2_9ce4_8422_2325)
    }

    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The hash as 16 lowercase hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{DEFAULT_LEVELS, metric_stats};
    use crate::summary::RunInfo;
    use crate::wait::WaitAccumulator;

    fn summary() -> Summary {
        let a: Vec<f64> = (1..=1000).map(|i| f64::from(i) / 1000.0).collect();
        let b: Vec<f64> = (0..1000).map(|i| f64::from(i % 10) - 3.0).collect();
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
            metrics: vec![
                metric_stats("slashed_fraction", &a, &DEFAULT_LEVELS),
                metric_stats("depeg", &b, &DEFAULT_LEVELS),
            ],
            contributions: Vec::new(),
        }
    }

    /// A capture holds the bytes the files would hold, and touches no file.
    #[test]
    fn captured_writes_are_the_files_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let s = summary();
        write_tail_metrics_csv(&dir.path().join("tail_metrics.csv"), &s).unwrap();
        write_summary_json(&dir.path().join("summary.json"), &s).unwrap();
        let elsewhere = dir.path().join("sub");
        let (r, files) = capture_writes(|| {
            write_tail_metrics_csv(&elsewhere.join("tail_metrics.csv"), &s)?;
            write_summary_json(&elsewhere.join("summary.json"), &s)
        });
        r.unwrap();
        assert!(!elsewhere.exists());
        assert_eq!(files.len(), 2);
        for name in ["tail_metrics.csv", "summary.json"] {
            assert_eq!(
                files[&elsewhere.join(name)],
                fs::read(dir.path().join(name)).unwrap(),
                "{name}"
            );
        }
        // After the capture, files are written again.
        write_summary_json(&elsewhere.join("summary.json"), &s).unwrap();
        assert!(elsewhere.join("summary.json").exists());
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn atomic_write_creates_dirs_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/nested/file.txt");
        write_atomic(&path, |w| w.write_all(b"first")).unwrap();
        write_atomic(&path, |w| w.write_all(b"second")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "second");
        assert_eq!(files_in(path.parent().unwrap()), ["file.txt"]);
    }

    #[test]
    fn failed_atomic_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file.txt");
        fs::write(&path, "old").unwrap();
        let err = write_atomic(&path, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("encoder gave up"))
        })
        .unwrap_err();
        let msg = err.to_string();
        let cause = std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            msg.contains("file.txt") && cause.contains("encoder gave up"),
            "{msg}: {cause}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(files_in(dir.path()), ["file.txt"]);

        let panicked = std::panic::catch_unwind(|| write_atomic(&path, |_| panic!("boom")));
        assert!(panicked.is_err());
        assert_eq!(files_in(dir.path()), ["file.txt"]);
    }

    #[test]
    fn tail_metrics_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tail_metrics.csv");
        let s = summary();
        write_tail_metrics_csv(&path, &s).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "metric,level,var,var_lo,var_hi,es,es_lo,es_hi,exact"
        );
        assert_eq!(lines.len(), 1 + 2 * 5);
        assert!(lines.iter().skip(1).all(|l| l.ends_with(",1")));
        assert!(
            lines[3].starts_with("slashed_fraction,0.99,0.99,"),
            "{}",
            lines[3]
        );
        // Values round-trip exactly.
        let es: f64 = lines[3].split(',').nth(5).unwrap().parse().unwrap();
        assert_eq!(es.to_bits(), s.metrics[0].levels[2].es.to_bits());
        assert!(lines[6].starts_with("depeg,0.9,"));
        // Reproducible byte for byte.
        let again = dir.path().join("again.csv");
        write_tail_metrics_csv(&again, &s).unwrap();
        assert_eq!(fs::read(&path).unwrap(), fs::read(&again).unwrap());
    }

    fn keep_all(values: &[f64]) -> MetricAccumulator {
        let mut acc = MetricAccumulator::new(usize::MAX, false);
        acc.add_chunk(0, values, None);
        acc
    }

    #[test]
    fn contributions_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contributions.csv");
        let component =
            |name: &str, c: f64, standalone: Option<f64>| crate::ComponentContribution {
                component: name.into(),
                es_contribution: c,
                share: c / 4.0,
                ci_lo: c - 0.5,
                ci_hi: c + 0.5,
                standalone_es: standalone,
                var_contribution: c / 2.0,
                var_contribution_lo: 0.0,
                var_contribution_hi: c,
            };
        let block =
            |decomposition: &str, standalone: Option<f64>| crate::DecompositionContributions {
                metric: "slashed_eth".into(),
                level: 0.99,
                decomposition: decomposition.into(),
                es: 4.0,
                var: 3.0,
                exact: decomposition == "source",
                tail_paths: 12,
                window_paths: 5,
                diversification_benefit: standalone.map(|s| 2.0 * s - 4.0),
                components: vec![
                    component("a,b", 3.0, standalone),
                    component("c", 1.0, standalone),
                ],
            };
        write_contributions_csv(
            &path,
            &[block("source", Some(2.5)), block("operator", None)],
        )
        .unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], CONTRIBUTIONS_CSV_HEADER.join(","));
        assert_eq!(
            lines[1],
            "slashed_eth,0.99,source,\"a,b\",3,0.75,2.5,3.5,2.5,1.5,0,3,4,3,1,12,5,1"
        );
        // Unknown standalone ES and diversification benefit: empty cells; approximate: 0.
        assert_eq!(
            lines[4],
            "slashed_eth,0.99,operator,c,1,0.25,0.5,1.5,,0.5,0,1,4,3,,12,5,0"
        );
        assert_eq!(lines.len(), 5);
        // No blocks: the header alone.
        write_contributions_csv(&path, &[]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 1);
    }

    #[test]
    fn loss_distribution_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss_distribution.csv");
        let a: Vec<f64> = (0..=10).map(f64::from).collect();
        let b = vec![0.5; 4];
        let (acc_a, acc_b) = (keep_all(&a), keep_all(&b));
        write_loss_distribution_csv(&path, &[("a", &acc_a), ("b", &acc_b)], 10).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "metric,bin_lo,bin_hi,count,pdf,cdf,exceedance");
        assert_eq!(lines.len(), 1 + 10 + 1);
        assert_eq!(
            lines[1],
            format!("a,0,1,1,{},{},{}", 1.0 / 11.0, 1.0 / 11.0, 10.0 / 11.0)
        );
        assert_eq!(lines[10], "a,9,10,2,0.18181818181818182,1,0");
        assert_eq!(lines[11], "b,0.5,0.5,4,0,1,0");
        let err = write_loss_distribution_csv(&dir.path().join("x.csv"), &[("a", &acc_a)], 0)
            .unwrap_err();
        assert!(matches!(err, ReportError::InvalidInput { .. }));
        assert!(!dir.path().join("x.csv").exists());
    }

    /// The sample the pinned files in `testdata/` were written from by the previous,
    /// column-based writers (a mixture with atoms at 0 and 0.0265, a continuous part and a
    /// lattice of sevenths; plain xorshift so that it does not depend on a crate's version).
    fn legacy_sample(seed: u64, n: usize) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| {
                let u = next();
                let v = next();
                if u < 0.3 {
                    0.0
                } else if u < 0.35 {
                    0.0265
                } else if u < 0.5 {
                    -(1.0 - v).ln() * 0.01 - 0.002
                } else {
                    (v * 1000.0).round() / 7.0
                }
            })
            .collect()
    }

    /// Feeds `values` to an accumulator in chunks of 1024 paths, in a scrambled order.
    fn chunked(values: &[f64], capacity: usize) -> MetricAccumulator {
        let chunks: Vec<&[f64]> = values.chunks(1024).collect();
        let mut acc = MetricAccumulator::new(capacity, false);
        for i in 0..chunks.len() {
            let c = (i * 7 + 3) % chunks.len();
            acc.add_chunk((c * 1024) as u64, chunks[c], None);
        }
        acc
    }

    #[test]
    fn loss_distribution_csv_is_unchanged_for_kept_values() {
        let dir = tempfile::tempdir().unwrap();
        let a = legacy_sample(1, 30_000);
        let b = legacy_sample(2, 5_000);
        let c = vec![0.25; 17];
        // Keep-all, and bounded accumulators that still hold every value (n < 2m).
        for (cap, cap_b) in [(usize::MAX, usize::MAX), (15_001, 2501)] {
            let (a, b, c) = (chunked(&a, cap), chunked(&b, cap_b), chunked(&c, 9));
            let path = dir.path().join("loss_distribution.csv");
            write_loss_distribution_csv(&path, &[("a", &a), ("b", &b), ("c", &c)], 100).unwrap();
            assert_eq!(
                fs::read_to_string(&path).unwrap(),
                include_str!("testdata/loss_distribution.csv")
            );
            write_loss_distribution_csv(&path, &[("a", &a), ("b", &b)], 7).unwrap();
            assert_eq!(
                fs::read_to_string(&path).unwrap(),
                include_str!("testdata/loss_distribution_7.csv")
            );
        }
    }

    #[test]
    fn loss_distribution_from_buckets_is_close() {
        // Far fewer kept values than paths: the bins come from the log-linear buckets.
        let a = legacy_sample(1, 30_000);
        let exact = crate::histogram(&a, 100);
        let acc = chunked(&a, 500);
        let approx = acc.histogram(100);
        assert_eq!(approx.len(), 100);
        assert_eq!(
            (approx[0].lo, approx[99].hi),
            (exact[0].lo, exact[99].hi),
            "same range"
        );
        assert_eq!(approx.iter().map(|b| b.count).sum::<u64>(), 30_000);
        // A path lands in a neighbouring bin only near an edge: the running counts agree
        // within the paths of the buckets that straddle an edge.
        let mut moved = 0i64;
        let (mut ce, mut ca) = (0i64, 0i64);
        for (e, x) in exact.iter().zip(&approx) {
            assert_eq!((e.lo, e.hi), (x.lo, x.hi));
            ce += e.count as i64;
            ca += x.count as i64;
            moved = moved.max((ce - ca).abs());
        }
        assert!(moved <= 300, "{moved} paths moved across an edge");
        // The atoms (0, 0.0265 and the sevenths) sit inside their bins: the first bin is exact.
        assert_eq!(approx[0].count, exact[0].count);
    }
    #[test]
    fn paths_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("paths.csv");
        write_paths_csv(&path, &["x", "y,z"], &[&[0.1, 2.0], &[-3.0, 1e-7]]).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "path,x,\"y,z\"\n0,0.1,-3\n1,2,0.0000001\n"
        );
        let err = write_paths_csv(
            &dir.path().join("bad.csv"),
            &["x", "y"],
            &[&[0.1, 2.0], &[1.0]],
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("bad.csv") && msg.contains("`y` has 1 values"),
            "{msg}"
        );
        assert!(write_paths_csv(&dir.path().join("bad.csv"), &["x"], &[]).is_err());
        assert!(!dir.path().join("bad.csv").exists());
    }

    #[test]
    fn summary_json_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        write_summary_json(&path, &summary()).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"));
        let j: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(j["metrics"]["slashed_fraction"]["var"]["0.99"], 0.99);
        assert!(j["metrics"]["depeg"]["es_ci"]["0.999"].is_array());
        assert!(text.find("slashed_fraction").unwrap() < text.find("depeg").unwrap());
        assert_eq!(files_in(dir.path()), ["summary.json"]);
    }

    fn sets(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn summary_csv_header_once_across_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sweep/summary.csv");
        let target = SummaryCsvTarget::File(path.clone());
        let s = summary();
        append_summary_csv(
            &target,
            &sets(&[("slashing.rate", "0.01")]),
            &s,
            &["slashed_fraction"],
        )
        .unwrap();
        append_summary_csv(
            &target,
            &sets(&[("slashing.rate", "0.02, high")]),
            &s,
            &["slashed_fraction"],
        )
        .unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let mut expected = String::from(
            "scenario,scenario_hash,seed,paths,slashing.rate,slashed_fraction.mean,\
             slashed_fraction.mean_lo,slashed_fraction.mean_hi,slashed_fraction.prob_loss",
        );
        for l in ["0.95", "0.99", "0.999"] {
            for c in ["var", "var_lo", "var_hi", "es", "es_lo", "es_hi"] {
                expected.push_str(&format!(",slashed_fraction.{c}_{l}"));
            }
        }
        assert_eq!(lines[0], expected);
        assert!(
            lines[1].starts_with("baseline,abc123,42,1000,0.01,0.5005,"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("baseline,abc123,42,1000,\"0.02, high\","),
            "{}",
            lines[2]
        );
        assert_eq!(files_in(path.parent().unwrap()), ["summary.csv"]);
    }

    /// A file that does not end with a line break (a cut-short write) is refused, before and
    /// at the append, and left as it was; the message says where it is torn and how to repair.
    #[test]
    fn summary_csv_refuses_a_torn_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.csv");
        let target = SummaryCsvTarget::File(path.clone());
        let s = summary();
        append_summary_csv(&target, &[], &s, &["depeg"]).unwrap();
        let complete = fs::read(&path).unwrap();
        let mut torn = complete.clone();
        torn.extend_from_slice(b"baseline,abc123,42,10");
        fs::write(&path, &torn).unwrap();
        let err = check_summary_csv(&target, &[], &["depeg"]).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ReportError::TornCsv { .. }), "{msg}");
        assert!(
            msg.contains(&format!("ends at byte {}", torn.len()))
                && msg.contains(&format!("truncate -s {}", complete.len())),
            "{msg}"
        );
        let err = append_summary_csv(&target, &[], &s, &["depeg"]).unwrap_err();
        assert!(matches!(err, ReportError::TornCsv { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), torn);
        // Repaired as the message says, it takes the next line.
        fs::write(&path, &complete).unwrap();
        append_summary_csv(&target, &[], &s, &["depeg"]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 3);
        assert_eq!(files_in(dir.path()), ["summary.csv"]);
    }

    /// A temporary being written is registered for removal on an interrupt, and unregistered
    /// once renamed.
    #[test]
    fn temporaries_are_registered_while_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        let tmp = dir.path().join(format!("f.txt.tmp-{}", std::process::id()));
        write_atomic(&path, |w| {
            assert!(cleanup_list().contains(&tmp));
            w.write_all(b"x")
        })
        .unwrap();
        assert!(!cleanup_list().contains(&tmp));
        let _ = write_atomic(&path, |_| Err(io::Error::other("no")));
        assert!(!cleanup_list().contains(&tmp));
        assert_eq!(files_in(dir.path()), ["f.txt"]);
    }

    #[test]
    fn summary_csv_header_mismatch_leaves_file_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.csv");
        let target = SummaryCsvTarget::File(path.clone());
        let s = summary();
        append_summary_csv(&target, &sets(&[("a", "1")]), &s, &["depeg"]).unwrap();
        let before = fs::read(&path).unwrap();
        let err = append_summary_csv(&target, &sets(&[("b", "1")]), &s, &["depeg"]).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ReportError::HeaderMismatch { .. }));
        assert!(
            msg.contains("summary.csv")
                && msg.contains(",a,")
                && msg.contains(",b,")
                && msg.contains("write to a new file")
                && msg.contains("its parameter columns are [a], this run's --set keys are [b]"),
            "{msg}"
        );
        assert_eq!(fs::read(&path).unwrap(), before);
        // A file of the earlier schema (`set.KEY` columns) is named as such.
        fs::write(
            &path,
            "scenario,scenario_hash,seed,paths,set.a,depeg.mean\n",
        )
        .unwrap();
        let err = append_summary_csv(&target, &sets(&[("a", "1")]), &s, &["depeg"]).unwrap_err();
        assert!(err.to_string().contains("of an earlier version"), "{err}");
    }

    #[test]
    fn summary_csv_into_an_empty_file_and_unknown_metric() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.csv");
        fs::write(&path, "").unwrap();
        let target = SummaryCsvTarget::File(path.clone());
        let s = summary();
        append_summary_csv(&target, &[], &s, &[]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("scenario,scenario_hash,seed,paths,slashed_fraction.mean,"));
        assert!(text.lines().next().unwrap().ends_with("depeg.es_hi_0.999"));
        assert_eq!(text.lines().count(), 2);
        let err = append_summary_csv(&target, &[], &s, &["nope"]).unwrap_err();
        assert!(err.to_string().contains("`nope`"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn redemption_wait_bins_instant_paid_and_unpaid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redemption_wait.csv");
        let waits = [0.0, 0.5, 1.0, 1.5, 2.9, 3.0];
        let unpaid = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let mut t0 = WaitAccumulator::new(1.0, 3.0, false);
        t0.add_chunk(&waits[3..], &unpaid[3..], None);
        t0.add_chunk(&waits[..3], &unpaid[..3], None);
        write_redemption_wait_csv(&path, &[("t0", &t0)]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "holder,redeemed,wait_days_lo,wait_days_hi,paths,share,cdf",
                "t0,1,0,0,1,0.16666666666666666,0.16666666666666666",
                "t0,1,0,1,2,0.3333333333333333,0.5",
                "t0,1,1,2,1,0.16666666666666666,0.6666666666666666",
                "t0,1,2,3,1,0.16666666666666666,0.8333333333333334",
                "t0,0,,,1,0.16666666666666666,1",
            ]
        );
        assert!(std::panic::catch_unwind(|| WaitAccumulator::new(0.0, 3.0, false)).is_err());
    }

    #[test]
    fn redemption_wait_csv_is_unchanged_and_merges_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let waits: Vec<f64> = legacy_sample(3, 20_000)
            .iter()
            .map(|x| (x * 1.3) % 40.0)
            .collect();
        let unpaid: Vec<f64> = legacy_sample(4, 20_000)
            .iter()
            .map(|&x| if x > 100.0 { 1.0 } else { 0.0 })
            .collect();
        let waits2: Vec<f64> = legacy_sample(5, 20_000)
            .iter()
            .map(|x| x.abs() * 0.5)
            .collect();
        // Chunks spread over three accumulators, merged in a different order.
        let build = |w: &[f64]| {
            let mut parts = [0, 1, 2].map(|_| WaitAccumulator::new(1.0, 30.0, false));
            for (i, (cw, cu)) in w.chunks(1024).zip(unpaid.chunks(1024)).enumerate() {
                parts[(i * 5) % 3].add_chunk(cw, cu, None);
            }
            let [mut a, b, c] = parts;
            let mut bc = c.clone();
            bc.merge(&b);
            a.merge(&bc);
            a
        };
        let (t0, stress) = (build(&waits), build(&waits2));
        let path = dir.path().join("redemption_wait.csv");
        write_redemption_wait_csv(&path, &[("t0", &t0), ("stress", &stress)]).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            include_str!("testdata/redemption_wait.csv")
        );
        // Weights all 1 give the same file.
        let mut w0 = WaitAccumulator::new(1.0, 30.0, true);
        let mut w1 = WaitAccumulator::new(1.0, 30.0, true);
        let ones = vec![1.0; 20_000];
        w0.add_chunk(&waits, &unpaid, Some(&ones));
        w1.add_chunk(&waits2, &unpaid, Some(&ones));
        write_redemption_wait_csv(&path, &[("t0", &w0), ("stress", &w1)]).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            include_str!("testdata/redemption_wait.csv")
        );
    }

    #[test]
    fn weighted_redemption_wait_shares() {
        let dir = tempfile::tempdir().unwrap();
        let mut acc = WaitAccumulator::new(1.0, 2.0, true);
        acc.add_chunk(
            &[0.0, 0.5, 1.5, 2.0],
            &[0.0, 0.0, 0.0, 1.0],
            Some(&[1.0, 4.0, 2.0, 1.0]),
        );
        let path = dir.path().join("w.csv");
        write_redemption_wait_csv(&path, &[("stress", &acc)]).unwrap();
        // Shares of Σw = 8 (self-normalized: the last cdf is 1, whatever Σw/n).
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "holder,redeemed,wait_days_lo,wait_days_hi,paths,share,cdf\n\
             stress,1,0,0,1,0.125,0.125\n\
             stress,1,0,1,1,0.5,0.625\n\
             stress,1,1,2,1,0.25,0.875\n\
             stress,0,,,1,0.125,1\n"
        );
    }

    #[test]
    fn tail_metrics_match_the_previous_implementation() {
        let a = legacy_sample(1, 30_000);
        let b = legacy_sample(2, 5_000);
        let mut s = summary();
        s.info.paths = 30_000;
        s.metrics = vec![
            chunked(&a, usize::MAX).stats("a", &DEFAULT_LEVELS),
            chunked(&b, 3000).stats("b", &[0.5, 0.9, 0.999]),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tail_metrics.csv");
        write_tail_metrics_csv(&path, &s).unwrap();
        let new = fs::read_to_string(&path).unwrap();
        let old = include_str!("testdata/tail_metrics.csv");
        assert_eq!(new.lines().count(), old.lines().count());
        for (n, o) in new.lines().zip(old.lines()).skip(1) {
            let (n, o): (Vec<&str>, Vec<&str>) = (n.split(',').collect(), o.split(',').collect());
            // metric, level, VaR and its interval: identical text.
            assert_eq!(n[..5], o[..5]);
            // ES and its interval: within 1e-12 relative.
            for i in 5..8 {
                let (x, y): (f64, f64) = (n[i].parse().unwrap(), o[i].parse().unwrap());
                assert!((x - y).abs() <= 1e-12 * y.abs(), "{x} vs {y}");
            }
            assert_eq!(n[8], "1");
        }
    }

    #[test]
    fn quantile_column_names() {
        for (p, name) in [
            (0.01, "p01"),
            (0.05, "p05"),
            (0.07, "p07"),
            (0.1, "p10"),
            (0.5, "p50"),
            (0.95, "p95"),
            (0.99, "p99"),
            (0.001, "p00.1"),
            (0.0005, "p00.05"),
            (0.999, "p99.9"),
            (0.9999, "p99.99"),
            (0.0, "p00"),
            (-0.0, "p00"),
            (1.0, "p100"),
        ] {
            assert_eq!(quantile_column(p), name, "{p}");
        }
    }

    fn price_row(step: u32, q: f64) -> PriceRow {
        PriceRow {
            step,
            day: f64::from(step) / 24.0,
            paths: 1000,
            quantiles: vec![q - 0.01, q, 1.0],
            share_below: vec![0.25, 0.0],
        }
    }

    #[test]
    fn price_paths_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/price_paths.csv");
        let rows = [price_row(9, 0.995), price_row(18, 0.9901)];
        write_price_paths_csv(&path, &[0.01, 0.5, 0.999], &[100, 500], &rows).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "step,day,paths,p01,p50,p99.9,discount_over_100bps_share,discount_over_500bps_share",
                "9,0.375,1000,0.985,0.995,1,0.25,0",
                &format!("18,0.75,1000,{},0.9901,1,0.25,0", 0.9901 - 0.01),
            ]
        );
        // Values round-trip exactly.
        let q: f64 = lines[2].split(',').nth(3).unwrap().parse().unwrap();
        assert_eq!(q.to_bits(), (0.9901f64 - 0.01).to_bits());
        assert_eq!(files_in(path.parent().unwrap()), ["price_paths.csv"]);

        // No points, no quantiles: the header alone; NaN for a point with no paths.
        let empty = dir.path().join("empty.csv");
        write_price_paths_csv(&empty, &[], &[], &[]).unwrap();
        assert_eq!(fs::read_to_string(&empty).unwrap(), "step,day,paths\n");
        let nan = PriceRow {
            step: 1,
            day: 1.0,
            paths: 0,
            quantiles: vec![f64::NAN],
            share_below: vec![f64::NAN],
        };
        write_price_paths_csv(&empty, &[0.5], &[100], &[nan]).unwrap();
        assert_eq!(
            fs::read_to_string(&empty).unwrap(),
            "step,day,paths,p50,discount_over_100bps_share\n1,1,0,NaN,NaN\n"
        );
    }

    #[test]
    fn price_paths_csv_rejects_inconsistent_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.csv");
        let rows = [price_row(9, 0.995)];
        let err = write_price_paths_csv(&path, &[0.01, 0.5], &[100, 500], &rows).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("bad.csv") && msg.contains("step 9 has 3 quantiles"),
            "{msg}"
        );
        let err = write_price_paths_csv(&path, &[0.5, 0.5, 0.9], &[100, 500], &rows).unwrap_err();
        assert!(err.to_string().contains("`p50` appears twice"), "{err}");
        let err = write_price_paths_csv(&path, &[0.01, 0.5, 0.9], &[100, 100], &rows).unwrap_err();
        assert!(
            err.to_string().contains("`discount_over_100bps_share`"),
            "{err}"
        );
        for p in [1.5, -0.1, f64::NAN] {
            let err = write_price_paths_csv(&path, &[p, 0.5, 0.9], &[100, 500], &rows).unwrap_err();
            assert!(matches!(err, ReportError::InvalidInput { .. }), "{p}");
        }
        assert!(!path.exists());
        assert_eq!(files_in(dir.path()), Vec::<String>::new());
    }
}

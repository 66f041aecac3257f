//! Reading a run's output files (docs/outputs.md). Every malformed input is an [`Error`]
//! naming the file and the line (and for JSON the column), never a panic.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use crate::Error;

/// `summary.json`, the parts a report shows.
#[derive(Debug, Clone, Deserialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Hash of the resolved scenario.
    pub scenario_hash: String,
    /// Seed.
    pub seed: u64,
    /// Number of paths.
    pub paths: u64,
    /// Engine version.
    pub engine_version: String,
    /// Horizon, days.
    pub horizon_days: f64,
    /// Step, days.
    pub step_days: f64,
    /// The front door's resolution (with `[withdrawals]`).
    #[serde(default)]
    pub max_demand_per_substep: Option<f64>,
    /// The market's tolerance (with `[market]`).
    #[serde(default)]
    pub max_price_move_per_substep: Option<f64>,
    /// Importance sampling, when used.
    #[serde(default)]
    pub importance: Option<Importance>,
    /// Tail levels α.
    pub levels: Vec<f64>,
    /// Every metric, in the file's (the metric) order.
    pub metrics: Metrics,
}

/// `summary.json`'s `importance` object (the parts shown).
#[derive(Debug, Clone, Deserialize)]
pub struct Importance {
    /// How the tilts were chosen.
    pub method: String,
    /// Kish's effective sample size.
    pub effective_sample_size: f64,
}

/// The metrics of `summary.json` in file order.
#[derive(Debug, Clone, Default)]
pub struct Metrics(pub Vec<(String, MetricSummary)>);

impl<'de> Deserialize<'de> for Metrics {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Metrics;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of metrics")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Metrics, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, MetricSummary>()? {
                    out.push((k, v));
                }
                Ok(Metrics(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// One metric of `summary.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricSummary {
    /// Mean over all paths.
    pub mean: f64,
    /// Standard error of the mean.
    pub std_error: f64,
    /// Share of paths with a value above 0.
    pub prob_loss: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// VaR per level key.
    pub var: BTreeMap<String, f64>,
    /// ES per level key.
    pub es: BTreeMap<String, f64>,
    /// VaR intervals per level key.
    pub var_ci: BTreeMap<String, [f64; 2]>,
    /// ES intervals per level key.
    pub es_ci: BTreeMap<String, [f64; 2]>,
    /// Whether each level is exact.
    pub exact: BTreeMap<String, bool>,
    /// The worst paths, descending.
    #[serde(default)]
    pub worst_paths: Vec<WorstPath>,
}

/// One of a metric's worst paths.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct WorstPath {
    /// Path id.
    pub path: u64,
    /// Its value.
    pub value: f64,
}

/// One tail level of a metric, its numbers gathered.
#[derive(Debug, Clone, Copy)]
pub struct Level {
    /// α.
    pub alpha: f64,
    /// VaR.
    pub var: f64,
    /// VaR's 95 % interval.
    pub var_ci: [f64; 2],
    /// ES.
    pub es: f64,
    /// ES's 95 % interval.
    pub es_ci: [f64; 2],
    /// From the exact values (else the histogram).
    pub exact: bool,
}

impl Summary {
    /// Metric `name`, if the run has it.
    pub fn metric(&self, name: &str) -> Option<&MetricSummary> {
        self.metrics
            .0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m)
    }

    /// The headline metrics the run has (docs/outputs.md): `slashed_fraction`, `nav_loss`,
    /// with `[withdrawals]` the three waits, with `[market]` the depth and the forced sale.
    pub fn headline(&self) -> Vec<&'static str> {
        HEADLINE
            .into_iter()
            .filter(|m| self.metric(m).is_some())
            .collect()
    }

    /// The levels of metric `m`, ascending; a level missing from one of its maps is an error
    /// naming the file.
    pub fn levels_of(&self, file: &Path, name: &str) -> Result<Vec<Level>, Error> {
        let m = self.metric(name).ok_or_else(|| Error::Invalid {
            path: file.to_path_buf(),
            line: None,
            reason: format!("no metric `{name}`"),
        })?;
        self.levels
            .iter()
            .map(|&alpha| {
                let key = format!("{alpha}");
                let missing = |what: &str| Error::Invalid {
                    path: file.to_path_buf(),
                    line: None,
                    reason: format!("metrics.{name}.{what} has no level \"{key}\""),
                };
                Ok(Level {
                    alpha,
                    var: *m.var.get(&key).ok_or_else(|| missing("var"))?,
                    var_ci: *m.var_ci.get(&key).ok_or_else(|| missing("var_ci"))?,
                    es: *m.es.get(&key).ok_or_else(|| missing("es"))?,
                    es_ci: *m.es_ci.get(&key).ok_or_else(|| missing("es_ci"))?,
                    exact: *m.exact.get(&key).ok_or_else(|| missing("exact"))?,
                })
            })
            .collect()
    }
}

/// Reads a file to a string.
pub fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads and parses `summary.json`.
pub fn summary(path: &Path) -> Result<Summary, Error> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    })
}

/// A CSV file read whole: its header and rows, each row with its line number.
#[derive(Debug, Clone)]
pub struct Table {
    /// The file.
    pub path: PathBuf,
    /// The header's names.
    pub header: Vec<String>,
    /// (line number, fields) per row.
    pub rows: Vec<(u64, Vec<String>)>,
}

impl Table {
    /// Reads `path`; a row with another number of fields than the header is an error naming
    /// its line.
    pub fn read(path: &Path) -> Result<Table, Error> {
        let file = std::fs::File::open(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound
                && path.with_extension("parquet").exists()
            {
                // The run was asked for Parquet tables alone.
                Error::Invalid {
                    path: path.to_path_buf(),
                    line: None,
                    reason: "not found: the run wrote its tables as Parquet (--table-format parquet), and the HTML report reads the CSV files; rerun with --table-format both".to_string(),
                }
            } else {
                Error::Read {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file);
        let csv_err = |e: csv::Error| {
            let line = e.position().map(|p| p.line());
            Error::Invalid {
                path: path.to_path_buf(),
                line,
                reason: match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("{len} fields where the header has {expected_len}"),
                    _ => e.to_string(),
                },
            }
        };
        let header: Vec<String> = reader
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(csv_err)?;
            let line = record.position().map_or(0, |p| p.line());
            rows.push((line, record.iter().map(str::to_string).collect()));
        }
        Ok(Table {
            path: path.to_path_buf(),
            header,
            rows,
        })
    }

    /// The index of column `name`; its absence is an error naming the file's header line.
    pub fn col(&self, name: &str) -> Result<usize, Error> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::Invalid {
                path: self.path.clone(),
                line: Some(1),
                reason: format!("the header has no column `{name}`"),
            })
    }

    /// Row `row`'s field `col` as a number; anything else is an error naming line and column.
    pub fn num(&self, row: usize, col: usize) -> Result<f64, Error> {
        let (line, fields) = &self.rows[row];
        let s = &fields[col];
        s.trim().parse::<f64>().map_err(|_| Error::Invalid {
            path: self.path.clone(),
            line: Some(*line),
            reason: format!("column `{}`: {s:?} is not a number", self.header[col]),
        })
    }

    /// Row `row`'s field `col` as text.
    pub fn text(&self, row: usize, col: usize) -> &str {
        &self.rows[row].1[col]
    }

    /// The whole columns `names` as numbers, row by row.
    pub fn nums(&self, names: &[&str]) -> Result<Vec<Vec<f64>>, Error> {
        let cols: Vec<usize> = names
            .iter()
            .map(|n| self.col(n))
            .collect::<Result<_, _>>()?;
        (0..self.rows.len())
            .map(|r| cols.iter().map(|&c| self.num(r, c)).collect())
            .collect()
    }
}

/// One bin of `loss_distribution.csv`.
#[derive(Debug, Clone, Copy)]
pub struct Bin {
    /// Lower edge.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Paths in the bin.
    pub count: f64,
    /// Share of paths at or above `hi`.
    pub exceedance: f64,
    /// Share of paths up to this bin.
    pub cdf: f64,
}

/// `loss_distribution.csv`: the bins of every metric, in file order.
pub fn distributions(path: &Path) -> Result<Vec<(String, Vec<Bin>)>, Error> {
    let t = Table::read(path)?;
    let m = t.col("metric")?;
    let cols = ["bin_lo", "bin_hi", "count", "exceedance", "cdf"]
        .iter()
        .map(|n| t.col(n))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out: Vec<(String, Vec<Bin>)> = Vec::new();
    for r in 0..t.rows.len() {
        let name = t.text(r, m);
        let bin = Bin {
            lo: t.num(r, cols[0])?,
            hi: t.num(r, cols[1])?,
            count: t.num(r, cols[2])?,
            exceedance: t.num(r, cols[3])?,
            cdf: t.num(r, cols[4])?,
        };
        match out.last_mut() {
            Some((n, bins)) if n == name => bins.push(bin),
            _ => out.push((name.to_string(), vec![bin])),
        }
    }
    Ok(out)
}

/// One component row of `contributions.csv`.
#[derive(Debug, Clone)]
pub struct Contribution {
    /// The metric decomposed.
    pub metric: String,
    /// α.
    pub level: f64,
    /// The decomposition.
    pub decomposition: String,
    /// The component.
    pub component: String,
    /// Its ES contribution.
    pub es_contribution: f64,
    /// Its share of ES.
    pub share: f64,
    /// 95 % interval of the contribution.
    pub ci: [f64; 2],
    /// The metric's ES at α.
    pub es: f64,
}

/// `contributions.csv` (empty when the file holds its header alone).
pub fn contributions(path: &Path) -> Result<Vec<Contribution>, Error> {
    let t = Table::read(path)?;
    let [m, l, d, c, e, s, lo, hi, es] = [
        "metric",
        "level",
        "decomposition",
        "component",
        "es_contribution",
        "share",
        "ci_lo",
        "ci_hi",
        "es",
    ]
    .map(|n| t.col(n));
    let (m, l, d, c, e, s, lo, hi, es) = (m?, l?, d?, c?, e?, s?, lo?, hi?, es?);
    (0..t.rows.len())
        .map(|r| {
            Ok(Contribution {
                metric: t.text(r, m).to_string(),
                level: t.num(r, l)?,
                decomposition: t.text(r, d).to_string(),
                component: t.text(r, c).to_string(),
                es_contribution: t.num(r, e)?,
                share: t.num(r, s)?,
                ci: [t.num(r, lo)?, t.num(r, hi)?],
                es: t.num(r, es)?,
            })
        })
        .collect()
}

/// One row of a percentile-band file (`price_paths.csv`, `queue_paths.csv`,
/// `utilization_paths.csv`): the day and p01, p05, p25, p50, p75, p95, p99.
#[derive(Debug, Clone, Copy)]
pub struct BandRow {
    /// Days from the start.
    pub day: f64,
    /// The 1st, 5th, 25th, 50th, 75th, 95th and 99th percentiles.
    pub p: [f64; 7],
}

/// The percentile columns of a band file.
pub const BAND_COLUMNS: [&str; 7] = ["p01", "p05", "p25", "p50", "p75", "p95", "p99"];

/// Reads a percentile-band file.
pub fn bands(path: &Path) -> Result<Vec<BandRow>, Error> {
    let t = Table::read(path)?;
    let mut names = vec!["day"];
    names.extend(BAND_COLUMNS);
    Ok(t.nums(&names)?
        .into_iter()
        .map(|v| BandRow {
            day: v[0],
            p: [v[1], v[2], v[3], v[4], v[5], v[6], v[7]],
        })
        .collect())
}

/// One row of `redemption_wait.csv`.
#[derive(Debug, Clone)]
pub struct WaitRow {
    /// `t0` or `stress`.
    pub holder: String,
    /// Paid by the horizon.
    pub redeemed: bool,
    /// Bin (lo, hi] in days; `None` for the unpaid row.
    pub bin: Option<(f64, f64)>,
    /// Share of paths.
    pub share: f64,
}

/// Reads `redemption_wait.csv`.
pub fn waits(path: &Path) -> Result<Vec<WaitRow>, Error> {
    let t = Table::read(path)?;
    let [h, r, lo, hi, s] = [
        "holder",
        "redeemed",
        "wait_days_lo",
        "wait_days_hi",
        "share",
    ]
    .map(|n| t.col(n));
    let (h, r, lo, hi, s) = (h?, r?, lo?, hi?, s?);
    (0..t.rows.len())
        .map(|i| {
            let redeemed = t.num(i, r)? != 0.0;
            Ok(WaitRow {
                holder: t.text(i, h).to_string(),
                redeemed,
                bin: if redeemed {
                    Some((t.num(i, lo)?, t.num(i, hi)?))
                } else {
                    None
                },
                share: t.num(i, s)?,
            })
        })
        .collect()
}

/// The headline metrics a run or a sweep may have, in their order (docs/outputs.md).
pub const HEADLINE: [&str; 7] = [
    "slashed_fraction",
    "nav_loss",
    "redeem_days_t0",
    "redeem_days_stress",
    "peak_queue_days",
    "max_discount",
    "forced_sale_loss",
];

/// One row of `exceedance.csv`.
#[derive(Debug, Clone, Copy)]
pub struct Exceedance {
    /// p: the probability of exceeding `loss`.
    pub tail_prob: f64,
    /// VaR at 1 − p.
    pub loss: f64,
    /// Its 95 % interval.
    pub ci: [f64; 2],
    /// From the exact values.
    pub exact: bool,
}

/// `exceedance.csv`, per metric in file order.
pub fn exceedance(path: &Path) -> Result<Vec<(String, Vec<Exceedance>)>, Error> {
    let t = Table::read(path)?;
    let m = t.col("metric")?;
    let cols = ["tail_prob", "loss", "ci_lo", "ci_hi", "exact"]
        .iter()
        .map(|n| t.col(n))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out: Vec<(String, Vec<Exceedance>)> = Vec::new();
    for r in 0..t.rows.len() {
        let name = t.text(r, m);
        let e = Exceedance {
            tail_prob: t.num(r, cols[0])?,
            loss: t.num(r, cols[1])?,
            ci: [t.num(r, cols[2])?, t.num(r, cols[3])?],
            exact: t.num(r, cols[4])? != 0.0,
        };
        match out.last_mut() {
            Some((n, rows)) if n == name => rows.push(e),
            _ => out.push((name.to_string(), vec![e])),
        }
    }
    Ok(out)
}

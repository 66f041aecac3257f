//! Running one scenario with its report: the metrics it reports ([`metric_plan`]), the sink
//! that accumulates them as the paths stream by ([`ReportSink`]), the simulation
//! ([`simulate`]) and the report's statistics and files ([`report`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use lrtsim_report::{
    DEFAULT_LEVELS, ImportanceInfo, MetricAccumulator, RunInfo, Summary, SummaryCsvTarget, Tilt,
    WaitAccumulator,
};
use lrtsim_scenario::Model;
use lrtsim_sim::importance::MetricRef;
use lrtsim_sim::{ChunkOutput, ChunkSink, Collector, Layout, RunOptions, RunOutcome};
use rayon::prelude::*;

use crate::error::{Error, Result, ResultExt, bail};
use crate::monitor::Monitor;
use crate::outset::{OutputSet, RunId};
use crate::tables::TableFormat;

/// Most paths a run with `--paths-csv` may have: it holds every path's values in memory
/// (8 bytes per value, some 20–60 columns) until it writes them.
pub const MAX_PATHS_CSV: u64 = 10_000_000;

/// Metrics shown in the stdout table and the one-line summary CSV.
const HEADLINE: [&str; 2] = ["slashed_fraction", "nav_loss"];
/// Added to the headline for scenarios with `[withdrawals]`.
const REDEMPTION_HEADLINE: [&str; 3] = ["redeem_days_t0", "redeem_days_stress", "peak_queue_days"];
/// Added to the headline for scenarios with `[market]`.
const MARKET_HEADLINE: [&str; 2] = ["max_discount", "forced_sale_loss"];
/// Added to the stdout table (not to the summary CSV) for scenarios with `[lending]`.
const LENDING_TABLE: [&str; 3] = ["liquidated_share", "bad_debt_share", "looper_equity_loss"];
/// Percentiles of price / NAV in `price_paths.csv`.
const PRICE_PERCENTILES: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

/// The headline metrics of `model`: the pool's slashing and NAV loss, the redemption and
/// market metrics with those sections, and for a sector each LRT's slashed fraction and the
/// joint losses, then with front doors or markets each LRT's NAV loss, requested share (with
/// its door) and deepest discount (with its market), and the sector's outflow, exit-queue
/// peak (with doors), bad debt (with collateral) and reserve (with `[sector.lending]`).
pub fn headline(model: &Model) -> Vec<String> {
    let mut h: Vec<String> = HEADLINE.iter().map(|m| m.to_string()).collect();
    if model.withdrawals.is_some() {
        h.extend(REDEMPTION_HEADLINE.iter().map(|m| m.to_string()));
    }
    if model.market.is_some() {
        h.extend(MARKET_HEADLINE.iter().map(|m| m.to_string()));
    }
    h.extend(
        model
            .lrts
            .iter()
            .map(|l| format!("slashed_fraction.lrt.{}", l.name)),
    );
    h.extend(
        model
            .joint_loss_thresholds_bps
            .iter()
            .map(|b| format!("joint_loss_over_{b}bps")),
    );
    // A sector's channels: each LRT's holders' loss, what its holders asked to redeem and its
    // pool's deepest discount, then the shared channels (outflow, exit queue, reserve).
    let doors = model.lrts.iter().any(|l| l.withdrawals.is_some());
    let markets = model.lrts.iter().any(|l| l.market.is_some());
    if doors || markets {
        h.extend(
            model
                .lrts
                .iter()
                .map(|l| format!("nav_loss.lrt.{}", l.name)),
        );
        for l in &model.lrts {
            if l.withdrawals.is_some() {
                h.push(format!("requested_share.lrt.{}", l.name));
            }
            if l.market.is_some() {
                h.push(format!("max_discount.lrt.{}", l.name));
            }
        }
        h.push("sector_outflow_eth".into());
        if doors {
            h.push("sector_peak_exit_queue_eth".into());
        }
        if model.lrts.iter().any(|l| l.lending.is_some()) {
            h.push("sector_bad_debt_eth".into());
        }
        if model.reserve.is_some() {
            h.extend(["peak_utilization", "days_at_full_utilization"].map(String::from));
        }
    }
    h
}

/// The rows of the stdout table of `model`, following its sections: the headline, then the
/// lending metrics with `[lending]`.
pub fn table_rows(model: &Model) -> Vec<String> {
    let mut rows = headline(model);
    if model.lending.is_some() {
        rows.extend(LENDING_TABLE.iter().map(|m| m.to_string()));
    }
    rows
}

/// Borrowed names, for the report functions' `&[&str]`.
pub fn names(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Loads every scenario; reports all failures together.
pub fn load_all(paths: &[PathBuf], set: &[String]) -> Result<Vec<Model>> {
    let mut models = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match lrtsim_scenario::load_file(p, set) {
            Ok(m) => models.push(m),
            Err(e) => errors.push(e.to_string()),
        }
    }
    invalid(errors)?;
    Ok(models)
}

/// Ok without errors, else one input error listing them all and counting the files.
pub fn invalid(errors: Vec<String>) -> Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let n = errors.len();
    let noun = if n == 1 {
        "scenario is"
    } else {
        "scenarios are"
    };
    Err(Error::input(format!(
        "{}\n{n} {noun} invalid",
        errors.join("\n")
    )))
}

/// The output directory of `model`.
pub fn out_dir(template: &str, model: &Model, several: bool) -> PathBuf {
    let template = if several && !template.contains("{name}") {
        format!("{template}/{{name}}")
    } else {
        template.to_string()
    };
    PathBuf::from(template.replace("{name}", &model.name))
}

/// `--set KEY=VALUE` arguments as (key, value) pairs.
pub fn set_values(set: &[String]) -> Vec<(String, String)> {
    set.iter()
        .map(|a| {
            let (k, v) = a.split_once('=').unwrap_or((a, ""));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

/// Where `--summary-csv` goes.
pub fn summary_target(arg: Option<&str>) -> Option<SummaryCsvTarget> {
    arg.map(|s| match s {
        "-" => SummaryCsvTarget::Stdout,
        f => SummaryCsvTarget::File(PathBuf::from(f)),
    })
}

/// Receives a run's chunks: one streaming accumulator per reported metric, the redemption
/// waits, the likelihood-ratio weights, and — only with `--paths-csv` — every path's values.
/// Every merge is exact and order-independent, so the report does not depend on the thread
/// count.
pub struct ReportSink {
    /// (metric, where its values come from, accumulator), in report order.
    pub metrics: Vec<(String, MetricRef, Mutex<MetricAccumulator>)>,
    /// (holder, wait column, unredeemed column, accumulator).
    pub waits: Vec<(&'static str, usize, usize, Mutex<WaitAccumulator>)>,
    /// Every path's columns and weight, by path index (`--paths-csv`).
    pub paths: Option<Collector>,
    /// The own tails of operators and attribute values, for their standalone ES in the risk
    /// contributions (None without contributions or operators).
    pub own_tails: Option<crate::contrib::OwnTails>,
    /// Every path's values streamed to paths.parquet (`--paths-parquet`).
    pub paths_parquet: Option<crate::paths_parquet::PathsParquet>,
    /// Per metric, the earlier metric whose values it has on every path by the scenario's
    /// structure ([`metric_aliases`]): it is not fed, and takes a copy of that metric's
    /// accumulator when the run ends ([`ReportSink::copy_aliases`]).
    pub same_as: Vec<Option<usize>>,
}

impl ReportSink {
    /// Gives every aliased metric a copy of its source's accumulator: the state feeding it
    /// the same values would have left, so every result and shard byte is the same.
    pub fn copy_aliases(&self) {
        for (i, j) in self.same_as.iter().enumerate() {
            if let Some(j) = *j {
                let copy = lock(&self.metrics[j].2).clone();
                *lock(&self.metrics[i].2) = copy;
            }
        }
    }
}

/// Per metric of `plan`, the earlier metric whose value it equals, bit for bit, on every path
/// of `model`: `avs_slashed_eth` and `slashed_eth` when the scenario has no beacon-chain
/// incident (the only other losses `slashed_eth` counts), since both then receive the same
/// slashing amounts in the same order from 0. None elsewhere.
pub fn metric_aliases(model: &Model, plan: &[(String, MetricRef)]) -> Vec<Option<usize>> {
    let at = |name: &str| plan.iter().position(|(n, _)| n == name);
    let mut out = vec![None; plan.len()];
    if model.incidents.is_empty()
        && let (Some(i), Some(j)) = (at("avs_slashed_eth"), at("slashed_eth"))
        && j < i
    {
        out[i] = Some(j);
    }
    out
}

impl ChunkSink for ReportSink {
    fn accept(&self, chunk: &ChunkOutput<'_>) {
        self.accept_chunk(chunk, &|| false);
    }

    fn wants_operators(&self) -> bool {
        self.own_tails.is_some()
    }

    fn in_order(&self) -> bool {
        self.paths_parquet.is_some()
    }

    fn stopped(&self) -> bool {
        self.paths_parquet
            .as_ref()
            .is_some_and(crate::paths_parquet::PathsParquet::failed)
    }
}

impl ReportSink {
    /// Takes one chunk ([`ChunkSink::accept`]); `stopping` tells whether the run is stopping
    /// (a worker waiting for its turn to write paths.parquet then gives up).
    fn accept_chunk(&self, chunk: &ChunkOutput<'_>, stopping: &dyn Fn() -> bool) {
        let mut negated = Vec::new();
        // Workers start at different metrics ([`rotation_start`]), so that two of them rarely
        // wait for the same lock; the accumulators' merges do not depend on the order.
        let k = self.metrics.len();
        let first = rotation_start(chunk.chunk, k);
        visit_rotating(
            k,
            first,
            |i| &self.metrics[i].2,
            |i, acc| {
                if self.same_as[i].is_some() {
                    return;
                }
                let values = match self.metrics[i].1 {
                    MetricRef::NavLoss => {
                        if negated.is_empty() {
                            negated = chunk.columns[Layout::NAV_RETURN]
                                .iter()
                                .map(|r| -r)
                                .collect();
                        }
                        negated.as_slice()
                    }
                    MetricRef::Column(c) => chunk.columns[c].as_slice(),
                };
                acc.add_chunk(chunk.paths.start, values, chunk.weights);
            },
        );
        for (_, wait, unredeemed, acc) in &self.waits {
            lock(acc).add_chunk(
                &chunk.columns[*wait],
                &chunk.columns[*unredeemed],
                chunk.weights,
            );
        }
        if let Some(paths) = &self.paths {
            paths.accept(chunk);
        }
        if let (Some(own), Some(losses)) = (&self.own_tails, chunk.operators) {
            own.add_chunk(chunk.chunk, losses, chunk.paths.start, chunk.weights);
        }
        if let Some(pq) = &self.paths_parquet {
            pq.accept(chunk, stopping);
        }
    }
}

/// A sink that passes chunks on to `sink` and stops the run when `monitor` asks.
struct Stoppable<'a> {
    sink: &'a ReportSink,
    monitor: &'a dyn Monitor,
}

impl ChunkSink for Stoppable<'_> {
    fn accept(&self, chunk: &ChunkOutput<'_>) {
        self.sink
            .accept_chunk(chunk, &|| self.monitor.stop_requested());
    }

    fn wants_operators(&self) -> bool {
        self.sink.wants_operators()
    }

    fn in_order(&self) -> bool {
        self.sink.in_order()
    }

    fn stopped(&self) -> bool {
        self.monitor.stop_requested() || self.sink.stopped()
    }
}

/// Where a worker starts its round of `n` locked items for chunk `chunk`: the chunk's index
/// times the golden ratio, modulo 1, of n — workers take neighbouring chunks at the same
/// time, and starts a fraction 0.38 or 0.62 of the round apart keep them off each other's
/// items (starting at `chunk` mod n, one item apart, they met at every item).
pub(crate) fn rotation_start(chunk: u64, n: usize) -> usize {
    let frac = chunk.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((u128::from(frac) * n as u128) >> 64) as usize
}

/// Locks a sink's accumulator (a worker that panicked while holding it aborts the run).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().expect("no worker panics while accumulating")
}

/// Calls `f(i, item)` for each of `n` locked items `item(i)`, from `first` on and round: an
/// item another worker holds is passed over and visited after the others (waiting for it only
/// then), so that two workers do not queue on each other item after item. For sinks whose
/// results do not depend on the order they take chunks in.
pub(crate) fn visit_rotating<'a, T: 'a>(
    n: usize,
    first: usize,
    item: impl Fn(usize) -> &'a Mutex<T>,
    mut f: impl FnMut(usize, &mut T),
) {
    let mut busy = Vec::new();
    for i in (0..n).map(|i| (first + i) % n) {
        match item(i).try_lock() {
            Ok(mut t) => f(i, &mut t),
            Err(std::sync::TryLockError::WouldBlock) => busy.push(i),
            Err(std::sync::TryLockError::Poisoned(_)) => {
                panic!("no worker panics while accumulating")
            }
        }
    }
    for i in busy {
        f(i, &mut lock(item(i)));
    }
}

/// The loss metrics of a run, in report order: headline metrics first, then ETH lost in
/// total and by kind, the redemption metrics (with `[withdrawals]`), the market metrics (with
/// `[market]`), the lending, exploit and reserve metrics, per AVS and per source.
/// `nav_loss` (−`nav_return`) is the only metric that is not a column.
pub fn metric_plan(layout: &Layout) -> Vec<(String, MetricRef)> {
    let col =
        |name: &str| MetricRef::Column(layout.index(name).expect("layout has the fixed columns"));
    let mut out = vec![
        ("slashed_fraction".to_string(), col("slashed_fraction")),
        ("nav_loss".to_string(), MetricRef::NavLoss),
    ];
    // ETH lost in total and by kind: AVS slashing and the beacon chain's penalties.
    for name in [
        "slashed_eth",
        "avs_slashed_eth",
        "beacon_initial_eth",
        "beacon_correlation_eth",
        "inactivity_leak_eth",
    ] {
        out.push((name.to_string(), col(name)));
    }
    let names = layout.names();
    if let Some(start) = layout.redemption_start() {
        for k in 0..Layout::REDEMPTION.len() {
            out.push((names[start + k].clone(), MetricRef::Column(start + k)));
        }
    }
    if let Some(start) = layout.market_start().or(layout.waterfall_start()) {
        for (i, name) in names[..layout.avs_start()].iter().enumerate().skip(start) {
            out.push((name.clone(), MetricRef::Column(i)));
        }
    }
    for (i, name) in names.iter().enumerate().skip(layout.avs_start()) {
        // A sector's rewards per LRT are a gain, not a loss: in paths.csv only (as
        // `rewards_eth`); their effect is in `nav_loss.lrt.*`.
        if !name.starts_with("rewards_eth.lrt.") {
            out.push((name.clone(), MetricRef::Column(i)));
        }
    }
    out
}

/// How a run simulates and reports (the command line's `--threads`, `--tail-memory-mb`,
/// `--bins`, `--paths-csv` and `--no-contributions`).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Worker threads (0: one per core).
    pub threads: u32,
    /// Memory for exact tail values, MiB.
    pub tail_memory_mb: u32,
    /// Bins per metric in loss_distribution.csv.
    pub bins: u32,
    /// Keep every path for paths.csv.
    pub paths_csv: bool,
    /// Compute the risk contributions (re-simulating their tail paths).
    pub contributions: bool,
    /// The tables' files: CSV, Parquet or both (`--table-format`).
    pub table_format: crate::tables::TableFormat,
}

/// Share of `--tail-memory-mb` that goes to the own tails of operators and attribute values
/// (when the run keeps them): one eighth.
const OWN_TAILS_BUDGET_SHARE: u64 = 8;

/// The exact-tail capacities of a run of `model` with `metrics` metrics (the whole run's,
/// also for a shard): per metric, and per own tail of an operator or attribute value when the
/// run keeps them (risk contributions on, and operators). The own tails take one eighth of
/// the memory, the metrics the rest.
pub fn capacities(
    model: &Model,
    metrics: usize,
    tail_memory_mb: u32,
    contributions: bool,
) -> (usize, Option<usize>) {
    let budget = u64::from(tail_memory_mb) << 20;
    let weighted = model.importance.is_some();
    let own = if contributions {
        crate::contrib::OwnTails::count(model)
    } else {
        0
    };
    if own == 0 {
        let m =
            lrtsim_report::tail_capacity(model.paths, &DEFAULT_LEVELS, metrics, weighted, budget);
        return (m, None);
    }
    let own_budget = budget / OWN_TAILS_BUDGET_SHARE;
    let m = lrtsim_report::tail_capacity(
        model.paths,
        &DEFAULT_LEVELS,
        metrics,
        weighted,
        budget - own_budget,
    );
    let own_m =
        lrtsim_report::own_tail_capacity(model.paths, &DEFAULT_LEVELS, own, weighted, own_budget);
    (m, Some(own_m))
}

/// The tagged holders whose time to redeem is reported (with `[withdrawals]`): (holder, wait
/// column, unredeemed column).
pub fn wait_plan(layout: &Layout) -> Vec<(&'static str, usize, usize)> {
    if layout.redemption_start().is_none() {
        return Vec::new();
    }
    let index = |name| layout.index(name).expect("redemption columns");
    [
        ("t0", "redeem_days_t0", "unredeemed_t0"),
        ("stress", "redeem_days_stress", "unredeemed_stress"),
    ]
    .into_iter()
    .map(|(holder, wait, unpaid)| (holder, index(wait), index(unpaid)))
    .collect()
}

/// Runs one model's paths (only `chunks`, for a shard) with a progress bar on an attended
/// stderr, accumulating the report as chunks finish.
pub fn simulate(
    model: &Model,
    settings: &Settings,
    chunks: Option<std::ops::Range<u64>>,
    parquet_dir: Option<&std::path::Path>,
    monitor: &dyn Monitor,
) -> Result<(RunOutcome, ReportSink)> {
    let layout = Layout::new(model);
    let plan = metric_plan(&layout);
    let same_as = metric_aliases(model, &plan);
    let weighted = model.importance.is_some();
    let (capacity, own_capacity) = capacities(
        model,
        plan.len(),
        settings.tail_memory_mb,
        settings.contributions,
    );
    let paths = match &chunks {
        None => 0..model.paths,
        Some(c) => {
            let at = |chunk: u64| {
                chunk
                    .saturating_mul(lrtsim_sim::CHUNK_PATHS)
                    .min(model.paths)
            };
            at(c.start)..at(c.end).max(at(c.start))
        }
    };
    monitor.started(&model.name, paths.end - paths.start);
    let wait_bin_days = model.step_days.max(1.0);
    let waits = wait_plan(&layout)
        .into_iter()
        .map(|(holder, wait, unpaid)| {
            let acc = WaitAccumulator::new(wait_bin_days, model.horizon_days, weighted);
            (holder, wait, unpaid, Mutex::new(acc))
        })
        .collect();
    let sink = ReportSink {
        metrics: plan
            .into_iter()
            .map(|(name, source)| {
                (
                    name,
                    source,
                    Mutex::new(MetricAccumulator::new(capacity, weighted)),
                )
            })
            .collect(),
        waits,
        paths: settings.paths_csv.then(|| {
            Collector::new(
                paths.start,
                (paths.end - paths.start) as usize,
                layout.len(),
                weighted,
            )
        }),
        own_tails: own_capacity.map(|m| crate::contrib::OwnTails::new(model, m, weighted)),
        paths_parquet: match parquet_dir {
            Some(dir) => Some(crate::paths_parquet::PathsParquet::create(
                dir,
                layout.names(),
                weighted,
                paths.start / lrtsim_sim::CHUNK_PATHS,
            )?),
            None => None,
        },
        same_as,
    };
    let options = RunOptions {
        threads: settings.threads as usize,
        chunks,
    };
    let stoppable = Stoppable {
        sink: &sink,
        monitor,
    };
    let outcome = lrtsim_sim::run_with(model, &options, &stoppable, &|n| monitor.advanced(n));
    monitor.finished();
    let mut sink = sink;
    if !monitor.stop_requested()
        && let Some(pq) = sink.paths_parquet.take_if(|pq| pq.failed())
    {
        // The write error, rather than the stop it caused.
        pq.finish()?;
    }
    let outcome = outcome.with_context(|| format!("running {}", model.name))?;
    sink.copy_aliases();
    Ok((outcome, sink))
}

/// What the report says about importance sampling (None for plain Monte Carlo).
fn importance_info(
    model: &Model,
    outcome: &RunOutcome,
    sink: &ReportSink,
) -> Option<ImportanceInfo> {
    let tilt = outcome.tilt.as_ref()?;
    // Every metric sees the same weights: the first one's exact sums summarize them.
    let w = lock(&sink.metrics.first()?.2).weight_summary()?;
    Some(ImportanceInfo {
        method: tilt.method.clone(),
        tilts: tilt
            .tilt
            .entries(&model.scenario)
            .into_iter()
            .map(|(source, kind, value)| Tilt {
                source,
                kind: kind.to_string(),
                value,
            })
            .collect(),
        effective_sample_size: w.effective_sample_size,
        mean_weight: w.mean_weight,
        mean_weight_se: w.mean_weight_se,
        max_weight: w.max_weight,
    })
}

/// Warns on stderr when the market could not integrate some sub-steps within its tolerance,
/// or a liquidation cascade stopped at its safety bound (`market_unresolved_substeps` > 0 on
/// some path; in a sector, each LRT's `market_unresolved_substeps.lrt.<name>`): their results
/// may depend on the resolution.
pub fn warn_unresolved(model: &Model, summary: &Summary, monitor: &dyn Monitor) {
    const NAME: &str = "market_unresolved_substeps";
    for m in &summary.metrics {
        let market = match m.name.strip_prefix(NAME) {
            Some("") => "the market".to_string(),
            Some(rest) => match rest.strip_prefix(".lrt.") {
                Some(lrt) => format!("the market of {lrt}"),
                None => continue,
            },
            None => continue,
        };
        if m.max > 0.0 {
            monitor.warn(&format!(
                "warning: {}: on {:.2} % of the paths {market} met moves too fast for its \
                 shortest sub-step (1e-6 day) to keep within its tolerance (docs/model.md §14), \
                 or a liquidation cascade stopped at its safety bound of 10,000 calls (§15); \
                 those paths' market results may depend on the resolution",
                model.name,
                100.0 * m.prob_loss
            ));
        }
    }
}

/// Every path's columns and, when weighted, their weights (`--paths-csv`).
type PathColumns = (Vec<Vec<f64>>, Option<Vec<f64>>);

/// The last guard before anything is written: a report never holds a non-finite number
/// (JSON would write it as `null`, CSV as `inf` or `NaN`). Validation keeps every field in a
/// range where the model's numbers are finite, so one here is a bug or a corner the ranges
/// missed: the run fails (exit status 1), naming the value, instead of reporting nonsense.
fn check_finite(
    scenario: &str,
    summary: &Summary,
    price_rows: &[(String, &[lrtsim_report::PriceRow])],
    paths: Option<&PathColumns>,
    names: &[String],
) -> Result<()> {
    let fail = |what: String, v: f64| -> Result<()> {
        bail!(
            "{scenario}: the report would hold a non-finite number, {what} = {v}; the run fails rather than write it (a bug, or a scenario beyond what the model represents: please report it with the scenario)"
        )
    };
    for m in &summary.metrics {
        let scalars = [
            ("mean", m.mean),
            ("std_error", m.std_error),
            ("prob_loss", m.prob_loss),
            ("min", m.min),
            ("max", m.max),
        ];
        for (field, v) in scalars {
            if !v.is_finite() {
                return fail(format!("{}: {field}", m.name), v);
            }
        }
        for l in &m.levels {
            let values = [
                ("var", l.var),
                ("var_lo", l.var_lo),
                ("var_hi", l.var_hi),
                ("es", l.es),
                ("es_lo", l.es_lo),
                ("es_hi", l.es_hi),
            ];
            for (field, v) in values {
                if !v.is_finite() {
                    return fail(format!("{}: {field} at level {}", m.name, l.level), v);
                }
            }
        }
        if let Some(w) = m.worst_paths.iter().find(|w| !w.value.is_finite()) {
            return fail(format!("{}: worst path {}", m.name, w.path), w.value);
        }
    }
    if let Some(i) = &summary.info.importance {
        let values = [
            ("effective_sample_size", i.effective_sample_size),
            ("mean_weight", i.mean_weight),
            ("mean_weight_se", i.mean_weight_se),
            ("max_weight", i.max_weight),
        ];
        for (field, v) in values {
            if !v.is_finite() {
                return fail(format!("importance: {field}"), v);
            }
        }
    }
    for (file, rows) in price_rows {
        for r in rows.iter() {
            let values = std::iter::once(r.day)
                .chain(r.quantiles.iter().copied())
                .chain(r.share_below.iter().copied());
            if let Some(v) = values.clone().find(|v| !v.is_finite()) {
                return fail(format!("{file}: step {}", r.step), v);
            }
        }
    }
    if let Some((columns, weights)) = paths {
        let named = columns
            .iter()
            .zip(names)
            .chain(weights.iter().map(|w| (w, &names[0])));
        for (c, (column, name)) in named.enumerate() {
            if let Some(p) = column.iter().position(|v| !v.is_finite()) {
                let name = if c < columns.len() {
                    name.as_str()
                } else {
                    "weight"
                };
                return fail(format!("paths.csv: path {p}, {name}"), column[p]);
            }
        }
    }
    Ok(())
}

/// Weights are degenerate when the effective sample size is below this share of the paths
/// ([`warn_degenerate`]).
const DEGENERATE_ESS_SHARE: f64 = 0.01;
/// … or when one path carries more than this share of the total weight.
const DEGENERATE_MAX_WEIGHT_SHARE: f64 = 0.5;

/// Warns on stderr when an importance-sampled run's likelihood-ratio weights degenerate: a
/// few paths carry most of the weight, so its estimates rest on them (their standard errors
/// understate the uncertainty).
pub fn warn_degenerate(model: &Model, summary: &Summary, monitor: &dyn Monitor) {
    let Some(i) = &summary.info.importance else {
        return;
    };
    let n = summary.info.paths as f64;
    let total = i.mean_weight * n;
    let largest = if total > 0.0 {
        i.max_weight / total
    } else {
        1.0
    };
    if i.effective_sample_size < DEGENERATE_ESS_SHARE * n || largest > DEGENERATE_MAX_WEIGHT_SHARE {
        monitor.warn(&format!(
            "warning: {}: the importance weights degenerate: effective sample size {:.1} of {} paths ({:.3} %), the largest weight is {:.1} % of the total; the estimates rest on a few paths — weaken the tilts ([importance]) or run more paths",
            model.name,
            i.effective_sample_size,
            summary.info.paths,
            100.0 * i.effective_sample_size / n,
            100.0 * largest
        ));
    }
}

/// The scenario as run, in the output directory (`lrtsim run` and `lrtsim replay` accept it).
pub const RESOLVED_SCENARIO: &str = "scenario.resolved.toml";

/// `scenario.resolved.toml` of `model`: its resolved scenario as TOML, after a comment naming
/// the engine and the scenario hash. The same bytes for a run and the merge of its shards.
pub fn resolved_scenario_toml(model: &Model) -> Result<String> {
    let header = format!(
        "The scenario as run by lrtsim {} (defaults filled in, --set overrides applied).\n\
         `lrtsim run` of this file resolves to the same scenario: scenario_hash {}",
        env!("CARGO_PKG_VERSION"),
        model.scenario_hash
    );
    lrtsim_scenario::resolved_toml(&model.scenario, &header)
        .map_err(|e| Error::Failed(format!("{}: {RESOLVED_SCENARIO}: {e}", model.name)))
}

/// A run's report, computed: the summary and what every output file holds, before anything
/// is written ([`RunReport::write`] into an output set, [`RunReport::files_in_memory`] as
/// bytes).
pub struct RunReport {
    /// summary.json.
    pub summary: Summary,
    /// Each metric's loss exceedance curve (exceedance.csv).
    exceedance: Vec<(String, Vec<lrtsim_report::ExceedanceRow>)>,
    /// Each metric's accumulator (loss_distribution.csv).
    metrics: Vec<(String, MetricAccumulator)>,
    /// Each tagged holder's time to redeem (redemption_wait.csv).
    waits: Vec<(&'static str, WaitAccumulator)>,
    /// price_paths.csv's rows and discount thresholds (bps).
    price_rows: Option<(Vec<lrtsim_report::PriceRow>, Vec<u32>)>,
    /// queue_paths.csv's rows.
    queue_rows: Option<Vec<lrtsim_report::PriceRow>>,
    /// utilization_paths.csv's rows.
    utilization_rows: Option<Vec<lrtsim_report::PriceRow>>,
    /// exit_queue_paths.csv's rows.
    exit_queue_rows: Option<Vec<lrtsim_report::PriceRow>>,
    /// A sector's `price_paths.lrt.<name>.csv`: each LRT with a market, its rows and discount
    /// thresholds (bps).
    lrt_price_rows: Vec<(String, Vec<lrtsim_report::PriceRow>, Vec<u32>)>,
    /// paths.csv's column names and columns (`--paths-csv`).
    paths: Option<(Vec<String>, Vec<Vec<f64>>)>,
    /// scenario.resolved.toml.
    resolved: String,
    /// Bins of each metric's loss distribution.
    bins: u32,
    /// The tables' files (`--table-format`).
    table_format: TableFormat,
    /// paths.parquet, written as the paths ran, until it is moved into the output set.
    paths_parquet: Mutex<Option<crate::paths_parquet::TempParquet>>,
    /// The scenario's hash (the manifest names it).
    scenario_hash: String,
}

impl RunReport {
    /// Computes the tail metrics, the risk contributions (re-simulating their tail paths) and
    /// the other tables of a run of `model` from its sink, on `settings.threads` threads.
    /// Fails, before anything is written, when a number would not be finite.
    pub fn compute(
        model: &Model,
        outcome: &RunOutcome,
        mut sink: ReportSink,
        settings: &Settings,
    ) -> Result<Self> {
        // On as many threads as the run (each metric's statistics are computed on one thread).
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(settings.threads as usize)
            .build()
            .context("starting the report's worker threads")?;
        // Each metric's statistics at the tail levels and at those of the loss exceedance curve
        // (VaR at log-spaced tail probabilities) in one call: one sort of its kept tail.
        let (stats, exceedance): (Vec<_>, Vec<Vec<lrtsim_report::ExceedanceRow>>) =
            pool.install(|| {
                sink.metrics
                    .par_iter()
                    .map(|(name, _, acc)| {
                        let acc = lock(acc);
                        let levels = lrtsim_report::report_levels(&DEFAULT_LEVELS, acc.paths());
                        let mut stats = acc.stats(name, &levels);
                        let rows = lrtsim_report::exceedance_rows(&acc, &stats);
                        stats.levels.truncate(DEFAULT_LEVELS.len());
                        (stats, rows)
                    })
                    .unzip()
            });
        // Risk contributions (issue 18): the tail paths of the decomposed metrics re-simulated.
        let contributions = if settings.contributions {
            pool.install(|| {
                crate::contrib::contributions(
                    model,
                    outcome,
                    |name| {
                        sink.metrics
                            .iter()
                            .find(|(n, ..)| n == name)
                            .map(|(_, _, acc)| lock(acc))
                    },
                    &stats,
                    sink.own_tails.as_ref(),
                )
            })?
        } else {
            Vec::new()
        };
        let summary = Summary {
            info: RunInfo {
                scenario: model.name.clone(),
                scenario_hash: model.scenario_hash.clone(),
                seed: model.seed,
                paths: model.paths,
                engine_version: env!("CARGO_PKG_VERSION").to_string(),
                horizon_days: model.horizon_days,
                step_days: model.step_days,
                max_price_move_per_substep: model
                    .market
                    .as_ref()
                    .map(|m| m.max_price_move_per_substep),
                max_demand_per_substep: model
                    .withdrawals
                    .as_ref()
                    .map(|w| w.max_demand_per_substep),
                importance: importance_info(model, outcome, &sink),
            },
            metrics: stats,
            contributions,
        };
        // Price / NAV rows at a market's discount thresholds.
        let price_rows_of = |bands: &lrtsim_sim::bands::PriceBands,
                             market: &lrtsim_scenario::MarketModel| {
            let thresholds: Vec<f64> = market.thresholds.iter().map(|t| t.0).collect();
            bands
                .rows(&PRICE_PERCENTILES, &thresholds)
                .into_iter()
                .map(|r| lrtsim_report::PriceRow {
                    step: r.step,
                    day: r.day,
                    paths: r.paths,
                    quantiles: r.quantiles,
                    share_below: r.share_below,
                })
                .collect::<Vec<_>>()
        };
        let price_rows: Option<Vec<lrtsim_report::PriceRow>> =
            match (&outcome.price_bands, &model.market) {
                (Some(bands), Some(market)) => Some(price_rows_of(bands, market)),
                _ => None,
            };
        let lrt_price_rows: Vec<(String, Vec<lrtsim_report::PriceRow>, Vec<u32>)> = (model.lrts)
            .iter()
            .filter_map(|l| l.market.as_ref().map(|mk| (l, mk)))
            .zip(&outcome.lrt_price_bands)
            .map(|((l, mk), bands)| {
                (
                    l.name.clone(),
                    price_rows_of(bands, mk),
                    mk.thresholds.iter().map(|t| t.1).collect(),
                )
            })
            .collect();
        for (name, rows) in sink.metrics.iter().map(|(n, ..)| n).zip(&exceedance) {
            for r in rows {
                if let Some(v) = [r.loss, r.ci_lo, r.ci_hi, r.tail_paths]
                    .into_iter()
                    .find(|v| !v.is_finite())
                {
                    bail!(
                        "{}: the report would hold a non-finite number, exceedance.csv: {name} at tail probability {} = {v}; the run fails rather than write it (a bug: please report it with the scenario)",
                        model.name,
                        r.tail_prob
                    );
                }
            }
        }
        // Queue (ETH, t = 0 units), utilization and exit-queue (ETH) bands over time.
        let band_rows = |bands: &Option<lrtsim_sim::bands::PriceBands>, scale: f64| {
            bands.as_ref().map(|b| {
                b.rows(&PRICE_PERCENTILES, &[])
                    .into_iter()
                    .map(|r| lrtsim_report::PriceRow {
                        step: r.step,
                        day: r.day,
                        paths: r.paths,
                        quantiles: r.quantiles.iter().map(|q| q * scale).collect(),
                        share_below: Vec::new(),
                    })
                    .collect::<Vec<_>>()
            })
        };
        let queue_rows = band_rows(
            &outcome.queue_bands,
            lrtsim_sim::bands::queue_unit_eth(model),
        );
        let utilization_rows = band_rows(&outcome.utilization_bands, 1.0);
        let exit_queue_rows = band_rows(
            &outcome.exit_queue_bands,
            lrtsim_sim::bands::EXIT_QUEUE_UNIT_ETH,
        );
        for (file, rows) in [
            ("queue_paths.csv", &queue_rows),
            ("utilization_paths.csv", &utilization_rows),
            ("exit_queue_paths.csv", &exit_queue_rows),
        ] {
            for r in rows.iter().flatten() {
                if let Some(v) = std::iter::once(r.day)
                    .chain(r.quantiles.iter().copied())
                    .find(|v| !v.is_finite())
                {
                    bail!(
                        "{}: the report would hold a non-finite number, {file}: step {} = {v}; the run fails rather than write it (a bug: please report it with the scenario)",
                        model.name,
                        r.step
                    );
                }
            }
        }
        let paths = sink.paths.take().map(Collector::into_parts);
        let price_files: Vec<(String, &[lrtsim_report::PriceRow])> = (price_rows
            .as_deref()
            .map(|r| ("price_paths.csv".to_string(), r)))
        .into_iter()
        .chain(
            (lrt_price_rows.iter())
                .map(|(name, rows, _)| (format!("price_paths.lrt.{name}.csv"), &rows[..])),
        )
        .collect();
        check_finite(
            &model.name,
            &summary,
            &price_files,
            paths.as_ref(),
            outcome.layout.names(),
        )?;
        let resolved = resolved_scenario_toml(model)?;
        let parquet = sink
            .paths_parquet
            .take()
            .map(crate::paths_parquet::PathsParquet::finish)
            .transpose()?;
        let exceedance: Vec<(String, Vec<lrtsim_report::ExceedanceRow>)> = sink
            .metrics
            .iter()
            .map(|(name, ..)| name.clone())
            .zip(exceedance)
            .collect();
        let metrics = sink
            .metrics
            .into_iter()
            .map(|(name, _, acc)| {
                (
                    name,
                    acc.into_inner()
                        .expect("no worker panics while accumulating"),
                )
            })
            .collect();
        let waits = sink
            .waits
            .into_iter()
            .map(|(holder, _, _, acc)| {
                (
                    holder,
                    acc.into_inner()
                        .expect("no worker panics while accumulating"),
                )
            })
            .collect();
        let price_rows = match (price_rows, &model.market) {
            (Some(rows), Some(market)) => {
                Some((rows, market.thresholds.iter().map(|t| t.1).collect()))
            }
            _ => None,
        };
        let paths = paths.map(|(columns, weights)| {
            let mut names = outcome.layout.names().to_vec();
            let mut columns = columns;
            if let Some(w) = weights {
                names.push("weight".to_string());
                columns.push(w);
            }
            (names, columns)
        });
        Ok(RunReport {
            summary,
            exceedance,
            metrics,
            waits,
            price_rows,
            queue_rows,
            utilization_rows,
            exit_queue_rows,
            lrt_price_rows,
            paths,
            resolved,
            bins: settings.bins,
            table_format: settings.table_format,
            paths_parquet: Mutex::new(parquet),
            scenario_hash: model.scenario_hash.clone(),
        })
    }

    /// Every path's values (`--paths-csv`): the column names (the layout's, then `weight`
    /// when weighted) and the columns, by path index. None unless the run kept them.
    pub fn paths(&self) -> Option<(&[String], &[Vec<f64>])> {
        self.paths
            .as_ref()
            .map(|(names, columns)| (names.as_slice(), columns.as_slice()))
    }

    /// Writes every report file, each atomically, at the path `file` gives its name (the
    /// tables as the run's `--table-format` asked); and moves paths.parquet (written as the
    /// paths ran) there, the first time.
    pub fn write_files(&self, file: impl FnMut(&str) -> PathBuf) -> Result<()> {
        self.write_files_with(file, self.table_format, true)
    }

    /// [`RunReport::write_files`] with the tables as `format`, paths.parquet moved or not.
    fn write_files_with(
        &self,
        mut file: impl FnMut(&str) -> PathBuf,
        format: TableFormat,
        parquet: bool,
    ) -> Result<()> {
        lrtsim_report::write_atomic(&file(RESOLVED_SCENARIO), |w| {
            std::io::Write::write_all(w, self.resolved.as_bytes())
        })?;
        lrtsim_report::write_summary_json(&file("summary.json"), &self.summary)?;
        let mut table = |stem: &str, write: &dyn Fn(&Path) -> Result<()>| {
            crate::tables::write_table(format, stem, &mut file, write)
        };
        table("tail_metrics", &|p| {
            Ok(lrtsim_report::write_tail_metrics_csv(p, &self.summary)?)
        })?;
        let curves: Vec<(&str, Vec<lrtsim_report::ExceedanceRow>)> = self
            .exceedance
            .iter()
            .map(|(name, rows)| (name.as_str(), rows.clone()))
            .collect();
        table("exceedance", &|p| {
            Ok(lrtsim_report::write_exceedance_csv(p, &curves)?)
        })?;
        table("contributions", &|p| {
            Ok(lrtsim_report::write_contributions_csv(
                p,
                &self.summary.contributions,
            )?)
        })?;
        let columns: Vec<(&str, &MetricAccumulator)> = self
            .metrics
            .iter()
            .map(|(name, acc)| (name.as_str(), acc))
            .collect();
        table("loss_distribution", &|p| {
            Ok(lrtsim_report::write_loss_distribution_csv(
                p,
                &columns,
                self.bins as usize,
            )?)
        })?;
        if !self.waits.is_empty() {
            let holders: Vec<(&str, &WaitAccumulator)> = self
                .waits
                .iter()
                .map(|(holder, acc)| (*holder, acc))
                .collect();
            table("redemption_wait", &|p| {
                Ok(lrtsim_report::write_redemption_wait_csv(p, &holders)?)
            })?;
        }
        let bands = [
            (
                "queue_paths",
                self.queue_rows.as_ref().map(|r| (r, &[][..])),
            ),
            (
                "price_paths",
                self.price_rows.as_ref().map(|(r, bps)| (r, bps.as_slice())),
            ),
            (
                "utilization_paths",
                self.utilization_rows.as_ref().map(|r| (r, &[][..])),
            ),
            (
                "exit_queue_paths",
                self.exit_queue_rows.as_ref().map(|r| (r, &[][..])),
            ),
        ];
        let lrt_stems: Vec<String> = (self.lrt_price_rows.iter())
            .map(|(name, ..)| format!("price_paths.lrt.{name}"))
            .collect();
        let lrt_bands = (lrt_stems.iter().zip(&self.lrt_price_rows))
            .map(|(stem, (_, rows, bps))| (stem.as_str(), Some((rows, bps.as_slice()))));
        for (stem, rows) in bands.into_iter().chain(lrt_bands) {
            if let Some((rows, bps)) = rows {
                table(stem, &|p| {
                    Ok(lrtsim_report::write_price_paths_csv(
                        p,
                        &PRICE_PERCENTILES,
                        bps,
                        rows,
                    )?)
                })?;
            }
        }
        if let Some((names, columns)) = &self.paths {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let cols: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
            lrtsim_report::write_paths_csv(&file("paths.csv"), &names, &cols)?;
        }
        if parquet
            && let Some(pq) = self
                .paths_parquet
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_mut()
        {
            pq.persist(&file(crate::paths_parquet::FILE))?;
        }
        Ok(())
    }

    /// Moves paths.parquet (written as the paths ran) to `dest` now, rather than with the
    /// other files; returns whether the run had one. [`RunReport::write`] then leaves it out.
    pub fn persist_paths_parquet(&self, dest: &std::path::Path) -> Result<bool> {
        let taken = self
            .paths_parquet
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match taken {
            Some(mut pq) => {
                pq.persist(dest)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Writes every report file into the locked directory of `set`: the old manifest first
    /// removed, each file atomically, the new manifest last ([`crate::outset`]). The lock is
    /// released when done (or on failure).
    pub fn write(&self, set: OutputSet) -> Result<()> {
        self.write_as(set, self.table_format)
    }

    /// [`RunReport::write`] with the tables as `format` rather than as the run asked.
    pub fn write_as(&self, mut set: OutputSet, format: TableFormat) -> Result<()> {
        set.begin()?;
        self.write_files_with(|name| set.file(name), format, true)?;
        let info = &self.summary.info;
        set.finish(&RunId {
            scenario: &info.scenario,
            scenario_hash: &self.scenario_hash,
            seed: info.seed,
            paths: info.paths,
            replayed_path: None,
        })?;
        Ok(())
    }

    /// The bytes of every file [`RunReport::write_files`] writes, by file name — the bytes a
    /// run writes into its directory (the manifest, which names the run's id and time, and
    /// paths.parquet, written to disk as the paths ran, aside).
    pub fn files_in_memory(&self) -> Result<std::collections::BTreeMap<String, Vec<u8>>> {
        let (result, files) = lrtsim_report::capture_writes(|| {
            self.write_files_with(|name| PathBuf::from(name), TableFormat::Csv, false)
        });
        result?;
        Ok(files
            .into_iter()
            .map(|(path, bytes)| (path.to_string_lossy().into_owned(), bytes))
            .collect())
    }
}

/// Computes the tail metrics and writes every report file of one run into the locked
/// directory of `set` ([`RunReport::compute`], then [`RunReport::write`]).
pub fn report(
    model: &Model,
    outcome: &RunOutcome,
    sink: ReportSink,
    set: OutputSet,
    settings: &Settings,
) -> Result<Summary> {
    let report = RunReport::compute(model, outcome, sink, settings)?;
    report.write(set)?;
    Ok(report.summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(values: &[f64]) -> Summary {
        Summary {
            info: RunInfo {
                scenario: "s".into(),
                scenario_hash: String::new(),
                seed: 1,
                paths: values.len() as u64,
                engine_version: String::new(),
                horizon_days: 1.0,
                step_days: 1.0,
                max_price_move_per_substep: None,
                max_demand_per_substep: None,
                importance: None,
            },
            metrics: vec![lrtsim_report::metric_stats(
                "nav_loss",
                values,
                &DEFAULT_LEVELS,
            )],
            contributions: Vec::new(),
        }
    }

    /// as indicatif draws it now, and with the widest rate and ETA it plans for.
    fn bank_run(paths: u64) -> Model {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/bank-run.toml");
        lrtsim_scenario::load_file(&path, &[format!("simulation.paths={paths}")]).unwrap()
    }

    const SETTINGS: Settings = Settings {
        threads: 2,
        tail_memory_mb: 64,
        bins: 50,
        paths_csv: true,
        contributions: true,
        table_format: TableFormat::Csv,
    };

    /// The report in memory is the bytes of the files it writes, manifest aside.
    #[test]
    fn files_in_memory_are_the_written_files() {
        let model = bank_run(3000);
        let (outcome, sink) = simulate(&model, &SETTINGS, None, None, &crate::Silent).unwrap();
        let report = RunReport::compute(&model, &outcome, sink, &SETTINGS).unwrap();
        let memory = report.files_in_memory().unwrap();
        let dir = tempfile::tempdir().unwrap();
        report
            .write(OutputSet::lock(dir.path(), "run", &crate::Silent).unwrap())
            .unwrap();
        let mut written = std::collections::BTreeMap::new();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != crate::outset::MANIFEST {
                written.insert(name, std::fs::read(entry.path()).unwrap());
            }
        }
        assert_eq!(memory, written);
        for name in [
            "summary.json",
            "paths.csv",
            "redemption_wait.csv",
            "queue_paths.csv",
        ] {
            assert!(memory.contains_key(name), "{name}");
        }
        let (names, columns) = report.paths().unwrap();
        assert_eq!(names.len(), columns.len());
        assert!(columns.iter().all(|c| c.len() == 3000));
    }

    /// A monitor that asks to stop after the first chunk.
    struct StopAfterFirst(std::sync::atomic::AtomicU64);

    impl Monitor for StopAfterFirst {
        fn advanced(&self, paths: u64) {
            self.0
                .fetch_add(paths, std::sync::atomic::Ordering::Relaxed);
        }
        fn stop_requested(&self) -> bool {
            self.0.load(std::sync::atomic::Ordering::Relaxed) > 0
        }
    }

    /// A stop request ends the run early, with an error, after the chunks under way.
    #[test]
    fn a_stop_request_stops_the_run() {
        let model = bank_run(200_000);
        let monitor = StopAfterFirst(0.into());
        let Err(e) = simulate(&model, &SETTINGS, None, None, &monitor) else {
            panic!("the run did not stop");
        };
        assert!(
            matches!(&e, Error::Context { source, .. } if matches!(**source, Error::Sim(lrtsim_sim::SimError::Stopped))),
            "{e:?}"
        );
        assert!(!e.is_input());
        let done = monitor.0.load(std::sync::atomic::Ordering::Relaxed);
        assert!(done < 200_000 / 2, "{done} paths ran");
    }

    /// The aliasing rule holds: on every path of every shipped scenario, an aliased metric's
    /// column has the bits of its source's; and it is needed — with a beacon-chain incident,
    /// the two differ on some path, and there is no alias.
    #[test]
    fn aliased_metrics_equal_their_source_on_every_path() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        let mut aliased = 0;
        let mut differ = 0;
        for entry in std::fs::read_dir(&dir).expect("scenarios/") {
            let path = entry.expect("an entry").path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let model = lrtsim_scenario::load_file(&path, &["simulation.paths=400".into()])
                .unwrap_or_else(|e| panic!("{e}"));
            let layout = Layout::new(&model);
            let plan = metric_plan(&layout);
            let same_as = metric_aliases(&model, &plan);
            let r =
                lrtsim_sim::run(&model, &lrtsim_sim::RunOptions::default(), &|_| {}).expect("runs");
            let column = |name: &str| r.column(name).expect("a column");
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            for (i, j) in same_as.iter().enumerate() {
                if let Some(j) = *j {
                    assert_eq!(
                        bits(column(&plan[i].0)),
                        bits(column(&plan[j].0)),
                        "{}: {} ≠ {}",
                        model.name,
                        plan[i].0,
                        plan[j].0
                    );
                    aliased += 1;
                }
            }
            if !model.incidents.is_empty() {
                assert!(same_as.iter().all(Option::is_none), "{}", model.name);
                differ +=
                    usize::from(bits(column("avs_slashed_eth")) != bits(column("slashed_eth")));
            }
        }
        assert!(aliased >= 5, "{aliased} scenarios with an alias");
        assert!(
            differ >= 2,
            "{differ} scenarios with incidents where the two differ"
        );
    }

    /// The last guard names the value and fails the run (exit status 1, not 2).
    #[test]
    fn a_non_finite_number_fails_the_report() {
        let names = ["nav_return".to_string()];
        assert!(check_finite("s", &summary(&[0.1, 0.2]), &[], None, &names).is_ok());
        let e = check_finite("s", &summary(&[0.1, f64::INFINITY]), &[], None, &names).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("s: the report would hold a non-finite number, nav_loss: mean = inf"),
            "{e}"
        );
        assert!(!e.is_input());
        let paths = (vec![vec![0.5, f64::NAN]], None);
        let e = check_finite("s", &summary(&[0.1, 0.2]), &[], Some(&paths), &names).unwrap_err();
        assert!(
            e.to_string()
                .contains("paths.csv: path 1, nav_return = NaN"),
            "{e}"
        );
    }
}

//! Sharded runs: `run --shard I/N` writes a partial result, `lrtsim merge` combines partials
//! into the files an unsharded run writes, bit for bit.
//!
//! A partial result (`shard-I-of-N.lrtpart`) is one file: a first line naming the format, a
//! one-line JSON manifest (scenario, its hash and resolved contents, seed, paths, the shard's
//! chunk range, engine version, report settings, the importance-sampling tilt, the payload's
//! length and checksum), then a binary payload: every metric's accumulator (counts, exact
//! sums, the body's mergeable histogram, the exact top-m tail values with their path ids), the
//! redemption-wait accumulators and the price, queue, utilization and exit-queue bands and a
//! sector's per-LRT price bands (those the scenario has). Every accumulator merges exactly and
//! in any order, so merging the shards of a run gives the same bits as running it whole.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use lrtsim_report::{MetricAccumulator, SummaryCsvTarget, WaitAccumulator};
use lrtsim_scenario::{Model, Scenario};
use lrtsim_sim::bands::{BandSet, Grid, PriceBands};
use lrtsim_sim::importance::ResolvedTilt;
use lrtsim_sim::{Layout, RunOutcome};
use serde::{Deserialize, Serialize};

use crate::contrib::OwnTails;
use crate::error::{Error, Result, ResultExt, bail};
use crate::monitor::Monitor;
use crate::run::{ReportSink, Settings, lock, metric_plan};

/// First line of a partial-result file.
const MAGIC: &str = "lrtsim partial result, format 1";
/// Longest manifest line read (the resolved scenario is in it).
const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// File extension of partial results.
pub const EXTENSION: &str = "lrtpart";

/// Which shard of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    /// 0-based index.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl ShardSpec {
    /// Parses `I/N` or `auto/N` (I from `$SLURM_ARRAY_TASK_ID`, else `$JOB_COMPLETION_INDEX`).
    pub fn parse(spec: &str) -> Result<Self> {
        Self::parse_with(spec, |k| std::env::var(k).ok())
    }

    fn parse_with(spec: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let bad = |why: String| -> Error {
            Error::input(format!(
                "--shard {spec}: {why} (expected I/N with 0 <= I < N, e.g. 3/8, or auto/N)"
            ))
        };
        let Some((i, n)) = spec.split_once('/') else {
            return Err(bad("no '/'".into()));
        };
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| bad(format!("N = {n:?} is not a whole number")))?;
        if count == 0 {
            return Err(bad("N must be at least 1".into()));
        }
        let (index, from) = if i.trim() == "auto" {
            let found = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"]
                .into_iter()
                .find_map(|k| env(k).map(|v| (k, v)));
            let Some((key, value)) = found else {
                return Err(bad(
                    "auto needs $SLURM_ARRAY_TASK_ID (Slurm job arrays) or $JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs), and neither is set".into(),
                ));
            };
            let index = value
                .trim()
                .parse::<u64>()
                .map_err(|_| bad(format!("${key} = {value:?} is not a whole number")))?;
            (index, format!(" (from ${key})"))
        } else {
            let index = i
                .trim()
                .parse()
                .map_err(|_| bad(format!("I = {i:?} is not a whole number")))?;
            (index, String::new())
        };
        if index >= count {
            return Err(bad(format!(
                "index {index}{from} is not below N = {count}; shards are numbered from 0 (a Slurm array of {count} shards is --array=0-{})",
                count - 1
            )));
        }
        Ok(ShardSpec { index, count })
    }

    /// The shard's chunks of a run of `total` chunks: a contiguous share, sizes differing by at
    /// most one.
    pub fn chunks(&self, total: u64) -> Range<u64> {
        let at = |i: u64| (u128::from(i) * u128::from(total) / u128::from(self.count)) as u64;
        at(self.index)..at(self.index + 1)
    }

    /// The partial result's file name.
    pub fn file_name(&self) -> String {
        format!("shard-{}-of-{}.{EXTENSION}", self.index, self.count)
    }
}

/// The tilt a shard's paths were drawn under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct TiltManifest {
    method: String,
    /// Rate multipliers, flat (shocks, incidents, exploits, AVS faults).
    rates: Vec<f64>,
    /// Copula factor shifts.
    copulas: Vec<f64>,
}

/// What a partial result says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    engine_version: String,
    scenario: String,
    scenario_hash: String,
    seed: u64,
    paths: u64,
    shard: u64,
    shards: u64,
    /// The shard's chunks, [start, end).
    chunks: [u64; 2],
    total_chunks: u64,
    /// The shard's paths, [start, end).
    path_range: [u64; 2],
    tail_memory_mb: u32,
    tail_capacity: u64,
    bins: u32,
    /// The `--set` overrides, as given.
    overrides: Vec<String>,
    metrics: Vec<String>,
    waits: Vec<String>,
    price_bands: bool,
    /// Queue bands follow the price bands (scenarios with `[withdrawals]`).
    #[serde(default)]
    queue_bands: bool,
    /// Utilization bands follow (scenarios with `[lending.rates]`).
    #[serde(default)]
    utilization_bands: bool,
    /// The beacon chain's exit-queue bands follow (`[withdrawals]`, a sector's front doors).
    #[serde(default)]
    exit_queue_bands: bool,
    /// A sector's price bands of its LRTs with a market follow, this many.
    #[serde(default)]
    lrt_price_bands: usize,
    /// The capacity of the own tails of operators and attribute values, when the shard kept
    /// them (risk contributions on); they follow the price, queue, utilization and exit-queue
    /// bands and the sector LRTs' price bands in the payload.
    #[serde(default)]
    own_tail_capacity: Option<u64>,
    importance: Option<TiltManifest>,
    /// The shard wrote its paths' values to `<part>.paths.parquet` (`--paths-parquet`).
    #[serde(default)]
    paths_parquet: bool,
    payload_bytes: u64,
    payload_fnv1a64: String,
    /// The resolved scenario (overrides applied), from which `merge` rebuilds the model.
    resolved_scenario: serde_json::Value,
}

/// FNV-1a, 64 bits, as 16 hex digits (the hash of `manifest.json` too).
fn fnv1a64(bytes: &[u8]) -> String {
    let mut h = lrtsim_report::Fnv1a64::new();
    h.update(bytes);
    h.hex()
}

/// The file a shard's paths go to with `--paths-parquet`, beside its partial result `part`.
fn parquet_of(part: &Path) -> PathBuf {
    part.with_extension(format!("{EXTENSION}.{}", crate::paths_parquet::FILE))
}

/// Runs shard `spec` of `model` and writes its partial result into `dir` (and, with
/// `paths_parquet`, its paths' values beside it, first).
pub fn run_shard(
    model: &Model,
    spec: &ShardSpec,
    dir: &Path,
    settings: &Settings,
    overrides: &[String],
    paths_parquet: bool,
    monitor: &dyn Monitor,
) -> Result<()> {
    let total = lrtsim_sim::chunk_count(model.paths);
    let chunks = spec.chunks(total);
    // Shards of one run write side by side into one folder: each locks its own part only.
    let _lock = crate::outset::Lock::acquire(dir, &format!(".{}.lock", spec.file_name()), monitor)?;
    let started = Instant::now();
    let parquet_dir = paths_parquet.then_some(dir);
    let (outcome, mut sink) =
        crate::run::simulate(model, settings, Some(chunks.clone()), parquet_dir, monitor)?;
    let elapsed = started.elapsed().as_secs_f64();
    let path = dir.join(spec.file_name());
    if let Some(pq) = sink.paths_parquet.take() {
        pq.finish()?.persist(&parquet_of(&path))?;
    }
    write_partial(
        &path,
        model,
        spec,
        chunks,
        &outcome,
        &sink,
        settings,
        overrides,
        paths_parquet,
    )?;
    let n = outcome.paths.end - outcome.paths.start;
    monitor.info(&format!(
        "{}: shard {}/{}: paths {}..{} ({n} paths) in {elapsed:.2} s -> {}",
        model.name,
        spec.index,
        spec.count,
        outcome.paths.start,
        outcome.paths.end,
        path.display()
    ));
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn write_partial(
    path: &Path,
    model: &Model,
    spec: &ShardSpec,
    chunks: Range<u64>,
    outcome: &RunOutcome,
    sink: &ReportSink,
    settings: &Settings,
    overrides: &[String],
    paths_parquet: bool,
) -> Result<()> {
    let mut payload = Vec::new();
    for (_, _, acc) in &sink.metrics {
        lock(acc)
            .write_to(&mut payload)
            .context("encoding a partial result")?;
    }
    for (_, _, _, acc) in &sink.waits {
        lock(acc)
            .write_to(&mut payload)
            .context("encoding a partial result")?;
    }
    if let Some(bands) = &outcome.price_bands {
        write_bands(&mut payload, bands);
    }
    for bands in [
        &outcome.queue_bands,
        &outcome.utilization_bands,
        &outcome.exit_queue_bands,
    ]
    .into_iter()
    .flatten()
    .chain(&outcome.lrt_price_bands)
    {
        write_bands(&mut payload, bands);
    }
    let own_tail_capacity = match &sink.own_tails {
        Some(own) => {
            own.write_to(&mut payload)
                .context("encoding a partial result")?;
            own.capacity().map(|c| c as u64)
        }
        None => None,
    };
    let tail_capacity = sink
        .metrics
        .first()
        .map_or(0, |(_, _, acc)| lock(acc).tail_capacity() as u64);
    let manifest = Manifest {
        engine_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: model.name.clone(),
        scenario_hash: model.scenario_hash.clone(),
        seed: model.seed,
        paths: model.paths,
        shard: spec.index,
        shards: spec.count,
        chunks: [chunks.start, chunks.end],
        total_chunks: lrtsim_sim::chunk_count(model.paths),
        path_range: [outcome.paths.start, outcome.paths.end],
        tail_memory_mb: settings.tail_memory_mb,
        tail_capacity,
        bins: settings.bins,
        overrides: overrides.to_vec(),
        metrics: sink.metrics.iter().map(|(n, ..)| n.clone()).collect(),
        waits: sink.waits.iter().map(|(h, ..)| h.to_string()).collect(),
        price_bands: outcome.price_bands.is_some(),
        own_tail_capacity,
        queue_bands: outcome.queue_bands.is_some(),
        utilization_bands: outcome.utilization_bands.is_some(),
        exit_queue_bands: outcome.exit_queue_bands.is_some(),
        lrt_price_bands: outcome.lrt_price_bands.len(),
        importance: outcome.tilt.as_ref().map(|t| {
            let (rates, copulas) = t.tilt.flat();
            TiltManifest {
                method: t.method.clone(),
                rates,
                copulas,
            }
        }),
        paths_parquet,
        payload_bytes: payload.len() as u64,
        payload_fnv1a64: fnv1a64(&payload),
        resolved_scenario: serde_json::to_value(&model.scenario)
            .context("serializing the resolved scenario")?,
    };
    let line = serde_json::to_string(&manifest).context("serializing the manifest")?;
    lrtsim_report::write_atomic(path, |w| {
        writeln!(w, "{MAGIC}")?;
        writeln!(w, "{line}")?;
        w.write_all(&payload)
    })?;
    Ok(())
}

/// Bands in a payload (price, queue, utilization or exit queue): points, counts, then the non-zero counts
/// as (index, count).
fn write_bands(out: &mut Vec<u8>, bands: &PriceBands) {
    let counts = bands.all_counts();
    out.extend_from_slice(&(bands.points() as u64).to_le_bytes());
    out.extend_from_slice(&(counts.len() as u64).to_le_bytes());
    let nonzero = counts.iter().filter(|&&c| c != 0).count() as u64;
    out.extend_from_slice(&nonzero.to_le_bytes());
    for (i, &c) in counts.iter().enumerate() {
        if c != 0 {
            out.extend_from_slice(&(i as u64).to_le_bytes());
            out.extend_from_slice(&c.to_le_bytes());
        }
    }
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_bands(r: &mut Cursor<&[u8]>, model: &Model, grid: Grid) -> Result<PriceBands, String> {
    let shape = PriceBands::on(grid, model.n_steps, model.step_days);
    let what = match grid {
        Grid::Price => "price",
        Grid::Queue => "queue",
        Grid::Utilization => "utilization",
    };
    let eof = |_| format!("the {what} bands are truncated");
    let points = read_u64(r).map_err(eof)?;
    let len = read_u64(r).map_err(eof)?;
    if points != shape.points() as u64 || len != shape.all_counts().len() as u64 {
        return Err(format!(
            "the {what} bands have {points} points and {len} counts, the scenario needs {} and {}",
            shape.points(),
            shape.all_counts().len()
        ));
    }
    let nonzero = read_u64(r).map_err(eof)?;
    let left = (r.get_ref().len() as u64).saturating_sub(r.position());
    if nonzero > len || nonzero.saturating_mul(16) > left {
        return Err(format!("the {what} bands are truncated or corrupt"));
    }
    let mut counts = vec![0u64; len as usize];
    let mut last = None;
    for _ in 0..nonzero {
        let i = read_u64(r).map_err(eof)?;
        let c = read_u64(r).map_err(eof)?;
        if i >= len || last.is_some_and(|l| i <= l) || c == 0 {
            return Err(format!("the {what} bands are corrupt"));
        }
        last = Some(i);
        counts[i as usize] = c;
    }
    PriceBands::from_counts_on(grid, model.n_steps, model.step_days, counts)
        .ok_or_else(|| format!("the {what} bands do not fit the scenario"))
}

/// One partial-result file: where it is and its manifest.
struct Part {
    path: PathBuf,
    manifest: Manifest,
}

impl Part {
    fn label(&self) -> String {
        format!(
            "{} (shard {}/{}, chunks {}..{})",
            self.path.display(),
            self.manifest.shard,
            self.manifest.shards,
            self.manifest.chunks[0],
            self.manifest.chunks[1]
        )
    }
}

fn bad_part(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::input(format!("{}: {why}", path.display()))
}

/// Opens a partial result and reads its manifest; the reader is left at the payload.
fn open_part(path: &Path) -> Result<(Manifest, BufReader<File>)> {
    let file = File::open(path).map_err(|e| bad_part(path, format!("cannot open: {e}")))?;
    let mut r = BufReader::new(file);
    let mut magic = Vec::new();
    (&mut r)
        .take(MAGIC.len() as u64 + 1)
        .read_until(b'\n', &mut magic)
        .map_err(|e| bad_part(path, format!("cannot read: {e}")))?;
    if magic != format!("{MAGIC}\n").as_bytes() {
        return Err(bad_part(
            path,
            "not a partial result of lrtsim (write one with `lrtsim run --shard I/N`)",
        ));
    }
    let mut line = Vec::new();
    (&mut r)
        .take(MAX_MANIFEST_BYTES)
        .read_until(b'\n', &mut line)
        .map_err(|e| bad_part(path, format!("cannot read: {e}")))?;
    let manifest: Manifest = serde_json::from_slice(&line)
        .map_err(|e| bad_part(path, format!("the manifest is corrupt: {e}")))?;
    Ok((manifest, r))
}

/// The partial-result files named by `args`: files as given, directories expanded to their
/// `*.lrtpart` files in name order.
fn part_files(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for a in args {
        if a.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(a)
                .map_err(|e| bad_part(a, format!("cannot list: {e}")))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == EXTENSION))
                .collect();
            if found.is_empty() {
                return Err(bad_part(
                    a,
                    format!("no *.{EXTENSION} files in this directory"),
                ));
            }
            found.sort();
            out.extend(found);
        } else if a.exists() {
            out.push(a.clone());
        } else {
            return Err(bad_part(a, "no such file or directory"));
        }
    }
    Ok(out)
}

/// Checks that `parts` are the complete, non-overlapping shards of one run.
fn check_parts(parts: &mut [Part]) -> Result<()> {
    let f = &parts[0].manifest.clone();
    let first_path = parts[0].path.clone();
    for p in parts.iter().skip(1) {
        let m = &p.manifest;
        let mut differ = Vec::new();
        let mut field = |name: &str, a: String, b: String| {
            if a != b {
                differ.push(format!("{name}: {a} vs {b}"));
            }
        };
        field(
            "engine version",
            f.engine_version.clone(),
            m.engine_version.clone(),
        );
        field("scenario", f.scenario.clone(), m.scenario.clone());
        field(
            "scenario hash",
            f.scenario_hash.clone(),
            m.scenario_hash.clone(),
        );
        field("seed", f.seed.to_string(), m.seed.to_string());
        field("paths", f.paths.to_string(), m.paths.to_string());
        field(
            "--tail-memory-mb",
            f.tail_memory_mb.to_string(),
            m.tail_memory_mb.to_string(),
        );
        field(
            "tail capacity",
            f.tail_capacity.to_string(),
            m.tail_capacity.to_string(),
        );
        field("--bins", f.bins.to_string(), m.bins.to_string());
        field(
            "own tails of operators (--no-contributions?)",
            format!("{:?}", f.own_tail_capacity),
            format!("{:?}", m.own_tail_capacity),
        );
        field("metrics", f.metrics.join(","), m.metrics.join(","));
        field(
            "importance tilt",
            format!("{:?}", f.importance),
            format!("{:?}", m.importance),
        );
        if !differ.is_empty() {
            bail!(Error::input(format!(
                "{} and {} are not shards of the same run:\n  {}",
                first_path.display(),
                p.path.display(),
                differ.join("\n  ")
            )));
        }
    }
    for p in parts.iter() {
        let m = &p.manifest;
        if m.chunks[0] > m.chunks[1] || m.chunks[1] > m.total_chunks {
            return Err(bad_part(&p.path, "its chunk range is corrupt"));
        }
    }
    parts.sort_by_key(|p| (p.manifest.chunks[0], p.manifest.chunks[1]));
    // The same shard twice (the same file, or a copy).
    for i in 0..parts.len() {
        for j in i + 1..parts.len() {
            let (a, b) = (&parts[i].manifest, &parts[j].manifest);
            if a.chunks == b.chunks && (a.shard, a.shards) == (b.shard, b.shards) {
                bail!(Error::input(format!(
                    "duplicated shard: {} and {} are both shard {}/{}",
                    parts[i].path.display(),
                    parts[j].path.display(),
                    a.shard,
                    a.shards
                )));
            }
        }
    }
    let total = f.total_chunks;
    let mut missing = Vec::new();
    let mut at = 0u64;
    let mut last: Option<&Part> = None;
    for p in parts.iter() {
        let [start, end] = p.manifest.chunks;
        if start == end {
            continue;
        }
        if start < at {
            let prev = last.expect("a previous part covers the overlap");
            bail!(Error::input(format!(
                "overlapping shards: {} and {} both hold chunks {start}..{}",
                prev.label(),
                p.label(),
                at.min(end)
            )));
        }
        if start > at {
            missing.push(at..start);
        }
        at = end;
        last = Some(p);
    }
    if at < total {
        missing.push(at..total);
    }
    if !missing.is_empty() {
        let ranges: Vec<String> = missing
            .iter()
            .map(|r| format!("chunks {}..{}", r.start, r.end))
            .collect();
        // Name the missing shards when every part comes from one split into N.
        let n = f.shards;
        let named = if parts.iter().all(|p| p.manifest.shards == n) {
            let have: Vec<u64> = parts.iter().map(|p| p.manifest.shard).collect();
            let absent: Vec<String> = (0..n)
                .filter(|i| !have.contains(i))
                .map(|i| {
                    let s = ShardSpec { index: i, count: n };
                    s.file_name()
                })
                .collect();
            format!(" — missing: {}", absent.join(", "))
        } else {
            String::new()
        };
        bail!(Error::input(format!(
            "incomplete run {} ({} chunks): {} not covered by the {} part{} given{named}",
            f.scenario,
            total,
            ranges.join(", "),
            parts.len(),
            if parts.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// Rebuilds the model from a manifest's resolved scenario.
fn model_of(part: &Part) -> Result<Model> {
    let m = &part.manifest;
    let scenario: Scenario = serde_json::from_value(m.resolved_scenario.clone())
        .map_err(|e| bad_part(&part.path, format!("its scenario cannot be read: {e}")))?;
    let problems = lrtsim_scenario::validate(&scenario);
    if !problems.is_empty() {
        return Err(bad_part(
            &part.path,
            format!(
                "its scenario is invalid for this engine: {}",
                problems
                    .iter()
                    .map(|d| format!("{}: {}", d.path, d.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ));
    }
    let model = Model::compile(scenario, m.overrides.clone());
    if model.scenario_hash != m.scenario_hash {
        return Err(bad_part(
            &part.path,
            format!(
                "its scenario hashes to {}, the manifest says {}",
                model.scenario_hash, m.scenario_hash
            ),
        ));
    }
    Ok(model)
}

/// The parts merged so far: metrics' and waits' accumulators, bands, own tails.
type MergedParts = (
    Vec<MetricAccumulator>,
    Vec<WaitAccumulator>,
    BandSet,
    Option<OwnTails>,
);

/// What a merge is asked to do (`lrtsim merge`'s arguments).
#[derive(Debug, Clone)]
pub struct MergeRequest {
    /// The partial results: files, or directories holding them.
    pub parts: Vec<PathBuf>,
    /// The output directory.
    pub out: PathBuf,
    /// Worker threads for the report (0: one per core).
    pub threads: u32,
    /// Whether to compute the risk contributions.
    pub contributions: bool,
    /// Where to append the one-line summary (`--summary-csv`), if anywhere.
    pub summary_csv: Option<SummaryCsvTarget>,
    /// The tables' files (`--table-format`).
    pub table_format: crate::tables::TableFormat,
}

/// What a merge gives: the scenario and its summary.
#[derive(Debug)]
pub struct Merged {
    /// The scenario of the parts.
    pub model: Model,
    /// The merged run's summary (as summary.json).
    pub summary: lrtsim_report::Summary,
    /// How many parts were merged.
    pub parts: usize,
}

/// `lrtsim merge`: checks that the parts are the shards of one run, each once, merges them
/// and writes the report of the whole run into `request.out`, the same bits as an unsharded
/// run's.
pub fn merge(request: &MergeRequest, monitor: &dyn Monitor) -> Result<Merged> {
    request.table_format.check_available()?;
    let started = Instant::now();
    let files = part_files(&request.parts)?;
    // The same file named twice (e.g. a directory and one of its files).
    let mut seen: BTreeMap<PathBuf, &PathBuf> = BTreeMap::new();
    for f in &files {
        let key = f.canonicalize().unwrap_or_else(|_| f.clone());
        if let Some(prev) = seen.insert(key, f) {
            bail!(Error::input(format!(
                "duplicated shard: {} is given twice (also as {})",
                f.display(),
                prev.display()
            )));
        }
    }
    let mut parts = Vec::new();
    for f in &files {
        let (manifest, _) = open_part(f)?;
        parts.push(Part {
            path: f.clone(),
            manifest,
        });
    }
    check_parts(&mut parts)?;
    let model = model_of(&parts[0])?;
    let layout = Layout::new(&model);
    let plan = metric_plan(&layout);
    let f = &parts[0].manifest;
    if plan
        .iter()
        .map(|(n, _)| n.as_str())
        .ne(f.metrics.iter().map(String::as_str))
    {
        return Err(bad_part(
            &parts[0].path,
            "its metrics differ from the scenario's (written by another engine version?)",
        ));
    }
    let tilt = match (&f.importance, &model.importance) {
        (None, None) => None,
        (Some(t), Some(imp)) => {
            let (rates, copulas) = imp.tilt.flat();
            if rates.len() != t.rates.len() || copulas.len() != t.copulas.len() {
                return Err(bad_part(
                    &parts[0].path,
                    "its tilt does not fit the scenario",
                ));
            }
            Some(ResolvedTilt {
                tilt: imp.tilt.from_flat(&t.rates, &t.copulas),
                method: t.method.clone(),
                iterations: Vec::new(),
            })
        }
        _ => {
            return Err(bad_part(
                &parts[0].path,
                "its importance sampling does not match the scenario",
            ));
        }
    };
    let settings = Settings {
        threads: request.threads,
        tail_memory_mb: f.tail_memory_mb,
        bins: f.bins,
        paths_csv: false,
        contributions: request.contributions,
        table_format: request.table_format,
    };
    // Merge part by part (memory: the merged accumulators plus one part).
    let expected = BandSet::for_model(&model);
    if f.queue_bands != expected.queue.is_some()
        || f.utilization_bands != expected.utilization.is_some()
        || f.exit_queue_bands != expected.exit_queue.is_some()
        || f.lrt_price_bands != expected.lrt_price.len()
        || f.price_bands != expected.price.is_some()
    {
        return Err(bad_part(
            &parts[0].path,
            "its price, queue, utilization, exit-queue or per-LRT price bands do not match the scenario (written by another engine version?)",
        ));
    }
    let mut merged: Option<MergedParts> = None;
    for part in &parts {
        let (m, r) = (&part.manifest, &part.path);
        let (_, mut reader) = open_part(r)?;
        let mut payload = Vec::new();
        (&mut reader)
            .take(m.payload_bytes.saturating_add(1))
            .read_to_end(&mut payload)
            .map_err(|e| bad_part(r, format!("cannot read: {e}")))?;
        if payload.len() as u64 != m.payload_bytes || fnv1a64(&payload) != m.payload_fnv1a64 {
            return Err(bad_part(
                r,
                format!(
                    "the data is truncated or corrupt ({} bytes, the manifest says {}; checksum {})",
                    payload.len(),
                    m.payload_bytes,
                    if fnv1a64(&payload) == m.payload_fnv1a64 {
                        "matches"
                    } else {
                        "differs"
                    }
                ),
            ));
        }
        let mut cur = Cursor::new(payload.as_slice());
        let corrupt = |e: lrtsim_report::ReportError| bad_part(r, e);
        let metrics = (0..m.metrics.len())
            .map(|_| MetricAccumulator::read_from(&mut cur).map_err(corrupt))
            .collect::<Result<Vec<_>>>()?;
        let waits = (0..m.waits.len())
            .map(|_| WaitAccumulator::read_from(&mut cur).map_err(corrupt))
            .collect::<Result<Vec<_>>>()?;
        let mut read = |grid: Grid| -> Result<PriceBands> {
            read_bands(&mut cur, &model, grid).map_err(|e| bad_part(r, e))
        };
        let bands = BandSet {
            price: m.price_bands.then(|| read(Grid::Price)).transpose()?,
            queue: m.queue_bands.then(|| read(Grid::Queue)).transpose()?,
            utilization: (m.utilization_bands)
                .then(|| read(Grid::Utilization))
                .transpose()?,
            exit_queue: m.exit_queue_bands.then(|| read(Grid::Queue)).transpose()?,
            lrt_price: (0..m.lrt_price_bands)
                .map(|_| read(Grid::Price))
                .collect::<Result<_>>()?,
        };
        let own = match m.own_tail_capacity {
            Some(c) => {
                let c = usize::try_from(c)
                    .ok()
                    .filter(|c| (1..=usize::MAX / 4).contains(c))
                    .ok_or_else(|| bad_part(r, "its own-tail capacity is corrupt"))?;
                Some(
                    OwnTails::read_from(&model, c, model.importance.is_some(), &mut cur)
                        .map_err(corrupt)?,
                )
            }
            None => None,
        };
        if cur.position() != payload.len() as u64 {
            return Err(bad_part(r, "the data has trailing bytes"));
        }
        let covered: u64 = metrics.first().map_or(0, MetricAccumulator::paths);
        if covered != m.path_range[1] - m.path_range[0] {
            return Err(bad_part(
                r,
                format!(
                    "it holds {covered} paths, its manifest says {}",
                    m.path_range[1] - m.path_range[0]
                ),
            ));
        }
        merged = Some(match merged.take() {
            None => (metrics, waits, bands, own),
            Some((mut ms, mut ws, bs, mut os)) => {
                for (a, b) in ms.iter_mut().zip(&metrics) {
                    a.merge(b);
                }
                for (a, b) in ws.iter_mut().zip(&waits) {
                    a.merge(b);
                }
                (ms, ws, bs.merge(bands), {
                    if let (Some(a), Some(b)) = (os.as_mut(), own.as_ref()) {
                        a.merge(b);
                    }
                    os
                })
            }
        });
    }
    let (metrics, waits, bands, own) = merged.expect("at least one part");
    // The parts' paths.parquet, when they wrote them: all or none.
    let paths_parquet = match parts.iter().filter(|p| p.manifest.paths_parquet).count() {
        0 => None,
        n if n == parts.len() => {
            let weighted = tilt.is_some();
            let pq = crate::paths_parquet::PathsParquet::create(
                &request.out,
                layout.names(),
                weighted,
                0,
            )?;
            let mut in_order: Vec<&Part> = parts.iter().collect();
            in_order.sort_by_key(|p| p.manifest.chunks[0]);
            for part in in_order {
                pq.append_part(
                    &parquet_of(&part.path),
                    part.manifest.chunks[0],
                    layout.names(),
                    weighted,
                    model.paths,
                )?;
            }
            Some(pq)
        }
        n => {
            let without: Vec<String> = parts
                .iter()
                .filter(|p| !p.manifest.paths_parquet)
                .map(|p| p.path.display().to_string())
                .collect();
            bail!(Error::input(format!(
                "{n} of the {} parts wrote their paths with --paths-parquet and {} did not ({}): run every shard with it, or none",
                parts.len(),
                without.len(),
                without.join(", ")
            )));
        }
    };
    let wait_plan = crate::run::wait_plan(&layout);
    // Every part holds its aliases' copies already: nothing is fed or copied here.
    let same_as = vec![None; plan.len()];
    let sink = ReportSink {
        metrics: plan
            .into_iter()
            .zip(metrics)
            .map(|((name, source), acc)| (name, source, Mutex::new(acc)))
            .collect(),
        waits: wait_plan
            .into_iter()
            .zip(waits)
            .map(|((holder, wait, unredeemed), acc)| (holder, wait, unredeemed, Mutex::new(acc)))
            .collect(),
        paths: None,
        own_tails: own.filter(|_| settings.contributions),
        paths_parquet,
        same_as,
    };
    let outcome = RunOutcome {
        layout,
        paths: 0..model.paths,
        tilt,
        price_bands: bands.price,
        queue_bands: bands.queue,
        utilization_bands: bands.utilization,
        exit_queue_bands: bands.exit_queue,
        lrt_price_bands: bands.lrt_price,
    };
    let head = crate::run::headline(&model);
    let head = crate::run::names(&head);
    let set_values = crate::run::set_values(&f.overrides);
    let target = request.summary_csv.as_ref();
    if let Some(t) = &target {
        let keys: Vec<&str> = set_values.iter().map(|(k, _)| k.as_str()).collect();
        lrtsim_report::check_summary_csv(t, &keys, &head)?;
    }
    let set = crate::outset::OutputSet::lock(&request.out, "merge", monitor)?;
    let summary = crate::run::report(&model, &outcome, sink, set, &settings)?;
    crate::run::warn_unresolved(&model, &summary, monitor);
    crate::run::warn_degenerate(&model, &summary, monitor);
    if let Some(t) = &target {
        lrtsim_report::append_summary_csv(t, &set_values, &summary, &head)?;
    }
    monitor.info(&format!(
        "{}: merged {} part{} ({} paths) in {:.2} s -> {}",
        model.name,
        parts.len(),
        if parts.len() == 1 { "" } else { "s" },
        model.paths,
        started.elapsed().as_secs_f64(),
        request.out.display()
    ));
    Ok(Merged {
        model,
        summary,
        parts: parts.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_parse_and_split_every_chunk_once() {
        let none = |_: &str| None;
        assert_eq!(
            ShardSpec::parse_with("3/8", none).unwrap(),
            ShardSpec { index: 3, count: 8 }
        );
        for bad in ["8/8", "1", "a/2", "1/0", "-1/4", "auto/4"] {
            assert!(ShardSpec::parse_with(bad, none).is_err(), "{bad}");
        }
        let slurm = |k: &str| (k == "SLURM_ARRAY_TASK_ID").then(|| "2".to_string());
        assert_eq!(ShardSpec::parse_with("auto/4", slurm).unwrap().index, 2);
        let k8s = |k: &str| (k == "JOB_COMPLETION_INDEX").then(|| "5".to_string());
        assert_eq!(ShardSpec::parse_with("auto/6", k8s).unwrap().index, 5);
        assert!(ShardSpec::parse_with("auto/5", k8s).is_err());
        for total in [0u64, 1, 7, 196, 1000] {
            for n in [1u64, 3, 8, 13] {
                let mut at = 0;
                for i in 0..n {
                    let c = ShardSpec { index: i, count: n }.chunks(total);
                    assert_eq!(c.start, at);
                    assert!(c.end - c.start <= total.div_ceil(n));
                    at = c.end;
                }
                assert_eq!(at, total);
            }
        }
    }
}

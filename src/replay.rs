//! `lrtsim replay`: re-simulate single paths of a run and write their traces.
//!
//! For each `--path`, the path is simulated alone from its own random stream (under the run's
//! importance-sampling tilt, if any) and its directory gets `path.csv` (the path's row of
//! `paths.csv`, byte for byte), `events.csv`, `trace.csv` and `summary.txt`; the summary is
//! also printed on stdout. Every path id is checked before anything is simulated or written.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use lrtsim_scenario::Model;
use lrtsim_sim::trace::TraceStep;
use lrtsim_sim::{Replay, Replayer};

use crate::cli::ReplayArgs;
use crate::run::{InputError, print_stdout};
use lrtsim_run::outset::{OutputSet, RunId};

/// The output directory of path `path`: `{name}` and `{path}` replaced; with several paths and
/// no `{path}` in the template, `DIR/path-<id>`.
fn out_dir(template: &str, model: &Model, path: u64, several: bool) -> PathBuf {
    let template = if several && !template.contains("{path}") {
        format!("{template}/path-{{path}}")
    } else {
        template.to_string()
    };
    PathBuf::from(
        template
            .replace("{name}", &model.name)
            .replace("{path}", &path.to_string()),
    )
}

/// Bad path ids, as an input error (exit status 2): the ids are checked against the scenario's
/// `simulation.paths`.
fn bad_paths(args: &ReplayArgs, model: &Model, bad: &[u64]) -> InputError {
    let ids: Vec<String> = bad.iter().map(u64::to_string).collect();
    let last = model.paths.saturating_sub(1);
    let message = format!(
        "path{} {} {} not in the run: simulation.paths = {} gives path ids 0 to {last} (use the --set overrides of the run)",
        if bad.len() == 1 { "" } else { "s" },
        ids.join(", "),
        if bad.len() == 1 { "is" } else { "are" },
        model.paths,
    );
    InputError(format!("{}: --path: {message}", args.scenario.display()))
}

/// The default of `--max-trace-rows`: a year of hourly steps is 8,760 rows; a million rows are
/// 100–250 MB of trace.csv per path (streamed: memory does not grow with the rows).
pub const DEFAULT_MAX_TRACE_ROWS: u64 = 1_000_000;

/// Replays `path` into the locked `set`: the path runs on a worker thread and sends its step
/// rows through a bounded channel to this thread, which writes them to trace.csv as they
/// come, so memory does not grow with the number of steps. Then path.csv, events.csv and
/// summary.txt, each atomically, and the manifest last. Returns the replay (without its step
/// rows) and its summary text.
fn replay_into(
    mut set: OutputSet,
    model: &Model,
    replayer: &mut Replayer<'_>,
    path: u64,
) -> Result<(Replay, String)> {
    set.begin()?;
    let mut replayed = None;
    lrtsim_report::write_atomic(&set.file("trace.csv"), |w| {
        let (rows, received) = std::sync::mpsc::sync_channel::<TraceStep>(1024);
        std::thread::scope(|scope| {
            let worker = scope.spawn(move || replayer.replay_streaming(path, rows));
            // On a write error `received` is dropped: the worker finishes without sending.
            let written = lrtsim_sim::replayer::write_trace_csv(w, received);
            let r = worker.join().expect("a replay does not panic");
            replayed = Some(r);
            written
        })
    })?;
    let r = replayed.expect("the replay ran")?;
    let summary = r.summary_text();
    for (file, text) in [
        ("path.csv", r.path_csv()),
        ("events.csv", r.events_csv()),
        ("summary.txt", summary.clone()),
    ] {
        lrtsim_report::write_atomic(&set.file(file), |w| w.write_all(text.as_bytes()))?;
    }
    set.finish(&RunId {
        scenario: &model.name,
        scenario_hash: &model.scenario_hash,
        seed: model.seed,
        paths: model.paths,
        replayed_path: Some(r.path),
    })?;
    Ok((r, summary))
}

/// `lrtsim replay`.
pub fn replay(args: &ReplayArgs) -> Result<()> {
    // An invalid scenario or --set is a ScenarioError: exit status 2, as for `run`.
    let model = lrtsim_scenario::load_file(&args.scenario, &args.set.set)?;
    // Each path once, in the order given.
    let mut paths: Vec<u64> = Vec::with_capacity(args.paths.len());
    for &p in &args.paths {
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    let bad: Vec<u64> = paths
        .iter()
        .copied()
        .filter(|&p| p >= model.paths)
        .collect();
    if !bad.is_empty() {
        return Err(bad_paths(args, &model, &bad).into());
    }
    let rows = u64::from(model.n_steps);
    if rows > args.max_trace_rows {
        return Err(InputError(format!(
            "{}: trace.csv would have {rows} rows (one per step: simulation.horizon_days / step_days), above the limit of {} rows (--max-trace-rows), up to {} MB on disk per path; give --max-trace-rows {rows} to write it anyway, or replay with fewer steps",
            args.scenario.display(),
            args.max_trace_rows,
            rows.saturating_mul(250).div_ceil(1_000_000)
        ))
        .into());
    }
    let several = paths.len() > 1;
    // Every path's folder is locked before anything is simulated.
    let mut sets = Vec::with_capacity(paths.len());
    for &path in &paths {
        sets.push(OutputSet::lock(
            &out_dir(&args.out, &model, path, several),
            "replay",
            &crate::run::Terminal::new(args.workers.quiet),
        )?);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.workers.threads as usize)
        .build()
        .context("starting the worker threads")?;
    let started = Instant::now();
    // The tilt of an importance-sampled run (for `method = "auto"`, its pilot runs), once.
    let mut replayer = pool.install(|| Replayer::new(&model));
    if !args.workers.quiet && replayer.tilt().is_some() {
        eprintln!(
            "{}: importance-sampling tilt resolved in {:.2} s",
            model.name,
            started.elapsed().as_secs_f64()
        );
    }
    for (i, (&path, set)) in paths.iter().zip(sets).enumerate() {
        let dir = set.dir().to_path_buf();
        let (r, summary) = replay_into(set, &model, &mut replayer, path)?;
        if !args.workers.quiet {
            eprintln!(
                "{}: path {path} replayed ({} event{}) -> {}",
                model.name,
                r.events.len(),
                if r.events.len() == 1 { "" } else { "s" },
                dir.display()
            );
        }
        if i > 0 {
            print_stdout("")?;
        }
        print_stdout(summary.trim_end())?;
    }
    Ok(())
}

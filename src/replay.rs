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
use lrtsim_sim::{Replay, Replayer};

use crate::cli::ReplayArgs;
use crate::run::{InputError, print_stdout};

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

/// Writes the four files of one replayed path into `dir`, each atomically.
fn write_files(dir: &std::path::Path, r: &Replay, summary: &str) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating output directory {}", dir.display()))?;
    for (file, text) in [
        ("path.csv", r.path_csv()),
        ("events.csv", r.events_csv()),
        ("trace.csv", r.trace_csv()),
        ("summary.txt", summary.to_string()),
    ] {
        lrtsim_report::write_atomic(&dir.join(file), |w| w.write_all(text.as_bytes()))?;
    }
    Ok(())
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
    let several = paths.len() > 1;
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
    for (i, &path) in paths.iter().enumerate() {
        let r = replayer.replay(path)?;
        let dir = out_dir(&args.out, &model, path, several);
        let summary = r.summary_text();
        write_files(&dir, &r, &summary)?;
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

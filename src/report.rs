//! `lrtsim report`: one self-contained HTML page from a run's output directory, two runs
//! compared, or a sweep (the rendering is the `lrtsim-html` crate). The worst paths' stories
//! are made here: the run's `scenario.resolved.toml` is loaded and its worst paths are
//! re-simulated in-process by the replay machinery, their events told in one line each.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use lrtsim_html::{DirKind, Error as HtmlError, Stories, Story};
use lrtsim_sim::trace::EventKind;
use lrtsim_sim::{Replay, Replayer};

use crate::cli::ReportCmdArgs;
use crate::run::InputError;

/// The metrics whose worst paths are told, the first with any worst path.
const STORY_METRICS: [&str; 5] = [
    "nav_loss",
    "slashed_eth",
    "max_discount",
    "redeem_days_stress",
    "exploit_loss_eth",
];

/// An error of the renderer: a directory that is not an output, or a malformed file, is bad
/// input (exit status 2); a file that cannot be read is a runtime failure (1).
fn html_error(e: HtmlError) -> anyhow::Error {
    match e {
        HtmlError::Read { .. } => anyhow::Error::new(e),
        e => InputError(e.to_string()).into(),
    }
}

/// `lrtsim report`.
pub fn report(args: &ReportCmdArgs) -> Result<()> {
    let started = Instant::now();
    if !args.labels.is_empty() && (args.dirs.len() != 2 || args.labels.len() != 2) {
        return Err(InputError(
            "--labels A,B names the two runs of a comparison: give two labels and two run directories".into(),
        )
        .into());
    }
    let (html, out) = match args.dirs.as_slice() {
        [dir] => match lrtsim_html::dir_kind(dir).map_err(html_error)? {
            DirKind::Run => {
                let stories = stories(
                    dir,
                    args.stories as usize,
                    args.workers.threads,
                    args.workers.quiet,
                );
                (
                    lrtsim_html::run_report(dir, &stories).map_err(html_error)?,
                    dir.join("report.html"),
                )
            }
            DirKind::Sweep => (
                lrtsim_html::sweep_report(dir).map_err(html_error)?,
                dir.join("report.html"),
            ),
        },
        [a, b] => {
            for d in [a, b] {
                if lrtsim_html::dir_kind(d).map_err(html_error)? != DirKind::Run {
                    return Err(InputError(format!(
                        "{}: a comparison takes two run directories (summary.json and manifest.json), not a sweep",
                        d.display()
                    ))
                    .into());
                }
            }
            let labels: Vec<String> = if args.labels.is_empty() {
                vec![dir_label(a), dir_label(b)]
            } else {
                args.labels.clone()
            };
            (
                lrtsim_html::comparison_report(a, b, [&labels[0], &labels[1]])
                    .map_err(html_error)?,
                a.join("comparison.html"),
            )
        }
        _ => unreachable!("clap takes one or two directories"),
    };
    if !args.labels.is_empty() && args.dirs.len() != 2 {
        return Err(InputError(
            "--labels names the two runs of a comparison: give two run directories".into(),
        )
        .into());
    }
    let out = args.out.clone().unwrap_or(out);
    write_html(&out, &html)?;
    if !args.workers.quiet {
        eprintln!(
            "report: {} ({} bytes) in {:.2} s",
            out.display(),
            html.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// A run directory's label: its last component.
fn dir_label(dir: &Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Writes the page atomically (temporary name, synced, renamed).
fn write_html(out: &Path, html: &str) -> Result<()> {
    lrtsim_report::write_atomic(out, |w| w.write_all(html.as_bytes()))
        .with_context(|| format!("writing the report {}", out.display()))
}

/// `run --report`: writes `report.html` into the run's directory (after its manifest).
pub fn write_run_report(dir: &Path, threads: u32, quiet: bool) -> Result<PathBuf> {
    let stories = stories(dir, 5, threads, quiet);
    let html = lrtsim_html::run_report(dir, &stories).map_err(html_error)?;
    let out = dir.join("report.html");
    write_html(&out, &html)?;
    Ok(out)
}

/// The stories of the `n` worst paths of the first of [`STORY_METRICS`] with worst paths,
/// from the run's `scenario.resolved.toml`; unavailable (and why) otherwise.
/// The replays run on `threads` threads (0: one per core): an importance-sampled run's tilt may
/// need pilot runs.
fn stories(dir: &Path, n: usize, threads: u32, quiet: bool) -> Stories {
    if n == 0 {
        return Stories::Unavailable("not asked for (--stories 0)".into());
    }
    let resolved = dir.join("scenario.resolved.toml");
    if !resolved.is_file() {
        return Stories::Unavailable(format!(
            "{} is missing (runs of this version write it); `lrtsim replay SCENARIO --path ID` with the run's scenario and --set tells a path's story",
            resolved.display()
        ));
    }
    let summary = match lrtsim_html::read::summary(&dir.join("summary.json")) {
        Ok(s) => s,
        Err(e) => return Stories::Unavailable(e.to_string()),
    };
    let model = match lrtsim_scenario::load_file(&resolved, &[]) {
        Ok(m) => m,
        Err(e) => return Stories::Unavailable(format!("{}: {e}", resolved.display())),
    };
    if model.scenario_hash != summary.scenario_hash {
        return Stories::Unavailable(format!(
            "{} has scenario_hash {}, the run {}: not the scenario that was run",
            resolved.display(),
            model.scenario_hash,
            summary.scenario_hash
        ));
    }
    let Some((metric, worst)) = STORY_METRICS.iter().find_map(|m| {
        summary
            .metric(m)
            .filter(|s| !s.worst_paths.is_empty())
            .map(|s| (*m, s.worst_paths.clone()))
    }) else {
        return Stories::Unavailable("no path lost anything".into());
    };
    let started = Instant::now();
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(threads as usize)
        .build()
    {
        Ok(p) => p,
        Err(e) => return Stories::Unavailable(format!("starting the worker threads: {e}")),
    };
    let mut replayer = pool.install(|| Replayer::new(&model));
    let mut out = Vec::new();
    for w in worst.iter().take(n) {
        match pool.install(|| replayer.replay(w.path)) {
            Ok(r) => out.push(Story {
                path: w.path,
                value: w.value,
                line: story_line(&r),
            }),
            Err(e) => return Stories::Unavailable(format!("replaying path {}: {e}", w.path)),
        }
    }
    if !quiet {
        eprintln!(
            "report: {} worst paths of {metric} replayed in {:.2} s",
            out.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Stories::Lines {
        metric: metric.to_string(),
        stories: out,
    }
}

/// A number with 3 significant digits (whole above 1,000, with separators).
fn num(x: f64) -> String {
    if x.abs() >= 1000.0 {
        lrtsim_html::fmt::thousands(&format!("{x:.0}"))
    } else {
        lrtsim_html::fmt::sig(x, 3)
    }
}

/// A percentage with 3 significant digits.
fn pct(x: f64) -> String {
    format!("{} %", lrtsim_html::fmt::sig(x * 100.0, 3))
}

/// One line: the path's largest events (up to three, in time order), then its outcome —
/// slashing, the run and the queue, the depeg, liquidations, bad debt, exploits.
pub fn story_line(r: &Replay) -> String {
    // The events that matter: losses, rushes, depegs, exploits; the largest three by ETH.
    let mut events: Vec<(usize, f64)> = r
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            e.slashed_eth > 0.0
                || e.exploit_loss_eth > 0.0
                || matches!(
                    e.kind,
                    EventKind::Rush
                        | EventKind::Depeg
                        | EventKind::Exploit
                        | EventKind::SupplyShock
                )
        })
        .map(|(i, e)| (i, e.slashed_eth + e.exploit_loss_eth))
        .collect();
    let total_events = events.len();
    events.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    events.truncate(3);
    events.sort_by_key(|e| e.0);
    let mut parts: Vec<String> = events
        .iter()
        .map(|&(i, _)| {
            let e = &r.events[i];
            let what = match e.kind {
                EventKind::Shock | EventKind::AvsFault | EventKind::CopulaFault => {
                    format!("{} slashing", e.name)
                }
                EventKind::Rush => format!("{} exit rush", e.name),
                EventKind::Depeg => format!("{} selling", e.name),
                EventKind::Exploit => format!("{} exploit", e.name),
                _ => e.name.clone(),
            };
            let mut t = format!("{what} on day {}", lrtsim_html::fmt::sig(e.day, 3));
            if e.slashed_eth > 0.0 {
                let _ = write!(t, ", {} ETH slashed", num(e.slashed_eth));
            }
            if e.exploit_loss_eth > 0.0 {
                let _ = write!(t, ", {} ETH lost", num(e.exploit_loss_eth));
            }
            t
        })
        .collect();
    if total_events > events.len() {
        parts.push(format!("{} more events", total_events - events.len()));
    }
    if parts.is_empty() {
        parts.push("no loss event".into());
    }
    let v = |name: &str| r.value(name);
    let mut outcome = Vec::new();
    if let Some(s) = v("slashed_eth").filter(|s| *s > 0.0) {
        outcome.push(format!("{} ETH slashed in all", num(s)));
    }
    if let Some(q) = v("peak_queue_days").filter(|q| *q > 0.0) {
        let mut t = format!("queue {} days", num(q));
        match v("redeem_days_stress") {
            Some(w) if w > 0.0 => {
                let _ = write!(
                    t,
                    " (a holder asking as the stress starts waits {} days)",
                    num(w)
                );
            }
            Some(_) => t.push_str(" (a holder asking as the stress starts is paid at once)"),
            None => {}
        }
        outcome.push(t);
    }
    if let Some(d) = v("max_discount").filter(|d| *d > 0.0) {
        let mut t = format!("discount down to {}", pct(d));
        if let Some(days) = v("days_discount_over_100bps").filter(|x| *x > 0.0) {
            let _ = write!(t, ", {} days beyond 1 %", num(days));
        }
        outcome.push(t);
    }
    if let Some(l) = v("liquidated_share").filter(|l| *l > 0.0) {
        outcome.push(format!("{} of the supply liquidated", pct(l)));
    }
    if let Some(b) = v("bad_debt_eth").filter(|b| *b > 0.0) {
        outcome.push(format!("{} ETH bad debt", num(b)));
    }
    if let Some(n) = v("nav_return") {
        outcome.push(format!("NAV per LRT {}", pct_change(n)));
    }
    format!("{}; {}", parts.join(", "), outcome.join(", "))
}

/// A return as a signed percentage (`-3.61 %`, `+1.2 %`).
fn pct_change(x: f64) -> String {
    let s = pct(x);
    if x > 0.0 { format!("+{s}") } else { s }
}

//! `run` and `validate` on the command line: load every scenario, simulate, report (with
//! [`lrtsim_run::run`]), print; the progress bar and the stderr lines ([`Terminal`]).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lrtsim_report::SummaryCsvTarget;
use lrtsim_run::Monitor;
use lrtsim_run::outset::OutputSet;
use lrtsim_run::run::{
    MAX_PATHS_CSV, Settings, headline, load_all, names, out_dir, report, set_values, simulate,
    summary_target, table_rows, warn_degenerate, warn_unresolved,
};
use lrtsim_scenario::ScenarioError;
use lrtsim_sim::Layout;

use crate::cli::{Format, RunArgs, ValidateArgs};

/// Bad input (scenario, arguments): exit code 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for InputError {}

/// 2 for bad input, 1 for anything else.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<InputError>().is_some()
        || e.downcast_ref::<lrtsim_run::Error>()
            .is_some_and(lrtsim_run::Error::is_input)
        || e.downcast_ref::<ScenarioError>().is_some()
        || matches!(
            e.downcast_ref::<lrtsim_report::ReportError>(),
            Some(lrtsim_report::ReportError::TornCsv { .. })
        )
    {
        2
    } else {
        1
    }
}

/// ", 1 thing" or ", n things" (nothing for none).
fn counted(n: usize, thing: &str) -> String {
    match n {
        0 => String::new(),
        1 => format!(", 1 {thing}"),
        n => format!(", {n} {thing}s"),
    }
}

/// `lrtsim validate`: one "ok" line on stdout per valid file, as each is checked; every
/// invalid file's problems together at the end.
pub fn validate(args: &ValidateArgs) -> Result<()> {
    let mut errors = Vec::new();
    for p in &args.scenarios {
        match lrtsim_scenario::load_file(p, &args.set.set) {
            Ok(m) => print_stdout(&format!(
                "{}: ok ({}: {}{} operators, {} AVSs, {} allocations{}, {} loss source{}, {} paths × {} steps)",
                p.display(),
                m.name,
                if m.lrts.is_empty() {
                    String::new()
                } else {
                    format!("{} LRTs on ", m.lrts.len())
                },
                m.operators.len(),
                m.avs_names.len(),
                // Pairs a governance vote may fill exist from t = 0 with nothing in them.
                m.pairs.iter().filter(|p| p.eth > 0.0).count(),
                counted(m.governance.len(), "governance vote")
                    + &counted(m.redelegations.len(), "redelegation"),
                m.sources.len(),
                if m.sources.len() == 1 { "" } else { "s" },
                m.paths,
                m.n_steps
            ))?,
            Err(e) => errors.push(e.to_string()),
        }
    }
    Ok(lrtsim_run::run::invalid(errors)?)
}

/// `lrtsim run`.
pub fn run(args: &RunArgs) -> Result<()> {
    let models = load_all(&args.scenarios, &args.set.set)?;
    let monitor = Terminal::new(args.workers.quiet);
    let several = models.len() > 1;
    let dirs: Vec<PathBuf> = models
        .iter()
        .map(|m| out_dir(&args.out, m, several))
        .collect();
    for (i, d) in dirs.iter().enumerate() {
        if let Some(j) = dirs[..i].iter().position(|e| e == d) {
            bail!(InputError(format!(
                "{} and {} would both write to {}; give the scenarios distinct names or use {{name}} in --out",
                args.scenarios[j].display(),
                args.scenarios[i].display(),
                d.display()
            )));
        }
    }
    if args.paths_csv
        && args.shard.is_none()
        && let Some(m) = models.iter().find(|m| m.paths > MAX_PATHS_CSV)
    {
        let width = Layout::new(m).len() as u64 + 1;
        bail!(InputError(format!(
            "{}: --paths-csv keeps every path's values in memory until the end ({} paths × {width} columns × 8 bytes = {:.1} GB); it is meant for small runs, at most {MAX_PATHS_CSV} paths: lower simulation.paths, or use summary.json's worst_paths and `lrtsim replay` for single paths",
            m.name,
            m.paths,
            (m.paths as f64) * (width as f64) * 8.0 / 1e9
        )));
    }
    let set_values = set_values(&args.set.set);
    let summary_target = summary_target(args.stdout.summary_csv.as_deref());
    if let Some(t) = &summary_target {
        // Fail before simulating if the sweep file's columns would not line up.
        let keys: Vec<&str> = set_values.iter().map(|(k, _)| k.as_str()).collect();
        if let Some(i) = models
            .iter()
            .position(|m| headline(m) != headline(&models[0]))
        {
            bail!(InputError(format!(
                "{} and {} cannot share one --summary-csv: their headline columns differ (only one of them has [withdrawals] or [market])",
                args.scenarios[0].display(),
                args.scenarios[i].display()
            )));
        }
        lrtsim_report::check_summary_csv(t, &keys, &names(&headline(&models[0])))?;
    }

    let settings = Settings {
        threads: args.workers.threads,
        tail_memory_mb: args.report.tail_memory_mb,
        bins: args.report.bins,
        paths_csv: args.paths_csv,
        contributions: !args.contrib.no_contributions,
        table_format: args.tables.format(),
    };
    if args.html_report && args.shard.is_some() {
        bail!(InputError(
            "--report needs an unsharded run: run `lrtsim report` on the directory `lrtsim merge` writes".to_string()
        ));
    }
    settings.table_format.check_available()?;
    if args.html_report && !settings.table_format.csv() {
        bail!(InputError(
            "--report reads the CSV tables: use --table-format both (or csv) with it".to_string()
        ));
    }
    if args.paths_parquet && !lrtsim_run::paths_parquet::AVAILABLE {
        // Before any directory is made (creating the writer would refuse it too, later).
        return Err(
            lrtsim_run::Error::parquet_unavailable("--paths-parquet", "--paths-csv").into(),
        );
    }
    if let Some(spec) = &args.shard {
        let shard = lrtsim_run::shard::ShardSpec::parse(spec)?;
        if args.paths_csv
            || args.stdout.summary_csv.is_some()
            || settings.table_format != lrtsim_run::tables::TableFormat::Csv
        {
            bail!(InputError(
                "--shard writes a partial result only: --paths-csv needs an unsharded run (--paths-parquet does not), and --summary-csv and --table-format go to `lrtsim merge`".to_string()
            ));
        }
        for (model, dir) in models.iter().zip(&dirs) {
            lrtsim_run::shard::run_shard(
                model,
                &shard,
                dir,
                &settings,
                &args.set.set,
                args.paths_parquet,
                &monitor,
            )?;
        }
        return Ok(());
    }
    // Every directory is locked before anything runs: a concurrent run into one of them
    // stops now, not after simulating.
    let mut sets = Vec::with_capacity(dirs.len());
    for d in &dirs {
        sets.push(OutputSet::lock(d, "run", &monitor)?);
    }
    let mut summaries = Vec::new();
    for ((model, dir), set) in models.iter().zip(&dirs).zip(sets) {
        let started = Instant::now();
        let parquet_dir = args.paths_parquet.then_some(dir.as_path());
        let (outcome, sink) = simulate(model, &settings, None, parquet_dir, &monitor)?;
        let elapsed = started.elapsed().as_secs_f64();
        let summary = report(model, &outcome, sink, set, &settings)?;
        warn_unresolved(model, &summary, &monitor);
        warn_degenerate(model, &summary, &monitor);
        if args.html_report {
            // After the manifest: report.html is not part of the run's output set.
            crate::report::write_run_report(dir, args.workers.threads, args.workers.quiet)?;
        }
        if !args.workers.quiet {
            eprintln!(
                "{}: {} paths in {elapsed:.2} s ({:.0} paths/s) -> {}",
                model.name,
                model.paths,
                model.paths as f64 / elapsed.max(1e-9),
                dir.display()
            );
        }
        if let Some(t) = &summary_target {
            lrtsim_report::append_summary_csv(t, &set_values, &summary, &names(&headline(model)))?;
        }
        // `--summary-csv -` makes stdout the CSV alone.
        if args.stdout.format == Format::Table && summary_target != Some(SummaryCsvTarget::Stdout) {
            print_stdout(&lrtsim_report::render_table(
                &summary,
                &names(&table_rows(model)),
            ))?;
        }
        summaries.push(summary);
    }
    if args.stdout.format == Format::Json && summary_target != Some(SummaryCsvTarget::Stdout) {
        // Serialized like summary.json (metrics in report order), not via a sorted map.
        let json = if several {
            serde_json::to_string_pretty(&summaries)?
        } else {
            serde_json::to_string_pretty(&summaries[0])?
        };
        print_stdout(&json)?;
    }
    Ok(())
}

/// Prints a block on stdout. A reader that went away (`| head`) is not an error: like
/// standard Unix tools the command then writes nothing more there, without a word; any other
/// failure (a full disk) is one, exit status 1.
pub fn print_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    static GONE: AtomicBool = AtomicBool::new(false);
    if GONE.load(Ordering::Relaxed) {
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            GONE.store(true, Ordering::Relaxed);
            Ok(())
        }
        r => r.context("writing to stdout"),
    }
}

/// The widest `{per_sec:0}` of the progress line that [`progress_style`] plans for (a
/// rate below 100 M paths/s).
const PER_SEC_WIDTH: usize = "99,999,999/s".len();
/// The widest `{eta}` it plans for (`{eta}` is a rounded number and one unit letter).
const ETA_WIDTH: usize = "9999y".len();

/// The progress line for a terminal `width` columns wide and a run named `name` of `paths`
/// paths, and its message (the name, shortened if it must be): the richest of a few layouts
/// whose longest line fits in `width − 1` columns, so that it never wraps (indicatif pads the
/// line with spaces to the terminal's width; a longer line wraps and every redraw adds a row).
pub fn progress_style(width: usize, name: &str, paths: u64) -> (ProgressStyle, String) {
    let (template, message) = progress_template(width, name, paths);
    let style = ProgressStyle::with_template(&template)
        .expect("valid template")
        .progress_chars("=> ");
    (style, message)
}

/// [`progress_style`]'s template and message.
fn progress_template(width: usize, name: &str, paths: u64) -> (String, String) {
    let budget = width.saturating_sub(1);
    // "P/N paths" with P and N at most as wide as N with its thousands separators.
    let count = 2 * indicatif::HumanCount(paths).to_string().len() + 1 + " paths".len();
    let name_len = name.chars().count();
    // Full: name [bar] count  rate  ETA eta, with a bar of 10 to 30 columns.
    let fixed = name_len + " [] ".len() + count + 2 + PER_SEC_WIDTH + "  ETA ".len() + ETA_WIDTH;
    if budget >= fixed + 10 {
        let bar = (budget - fixed).min(30);
        let template = format!(
            "{{msg}} [{{bar:{bar}}}] {{human_pos}}/{{human_len}} paths  {{per_sec:0}}  ETA {{eta}}"
        );
        return (template, name.to_string());
    }
    // Without the rate.
    let fixed = name_len + " [] ".len() + count + "  ETA ".len() + ETA_WIDTH;
    if budget >= fixed + 10 {
        let bar = (budget - fixed).min(30);
        let template =
            format!("{{msg}} [{{bar:{bar}}}] {{human_pos}}/{{human_len}} paths  ETA {{eta}}");
        return (template, name.to_string());
    }
    // No bar, no rate: name count  ETA eta.
    let fixed = name_len + 1 + count + "  ETA ".len() + ETA_WIDTH;
    if budget >= fixed {
        let template = "{msg} {human_pos}/{human_len} paths  ETA {eta}".to_string();
        return (template, name.to_string());
    }
    // The name, shortened to what is left, and the share done.
    let tail = " 100%  ETA ".len() + ETA_WIDTH;
    let room = budget.saturating_sub(tail);
    let message = if name_len <= room {
        name.to_string()
    } else if room >= 2 {
        let mut short: String = name.chars().take(room - 1).collect();
        short.push('…');
        short
    } else {
        String::new()
    };
    if budget >= tail {
        return ("{msg} {percent:>3}%  ETA {eta}".to_string(), message);
    }
    ("{percent:>3}%".to_string(), String::new())
}

/// Seconds of simulation after which a run without a progress bar (stderr not a terminal)
/// logs its estimated duration.
const ESTIMATE_AFTER_SECS: f64 = 0.5;

/// The duration estimate of a run logged when stderr is not a terminal: once, at the first
/// chunk that completes after [`ESTIMATE_AFTER_SECS`], from the paths per second measured so
/// far (a run done sooner needs none).
struct Estimate {
    name: String,
    total: u64,
    started: Instant,
    done: std::sync::atomic::AtomicU64,
    logged: std::sync::atomic::AtomicBool,
}

impl Estimate {
    fn new(name: &str, total: u64) -> Self {
        Estimate {
            name: name.to_string(),
            total,
            started: Instant::now(),
            done: 0.into(),
            logged: false.into(),
        }
    }

    fn add(&self, n: u64) {
        use std::sync::atomic::Ordering;
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        let elapsed = self.started.elapsed().as_secs_f64();
        if elapsed < ESTIMATE_AFTER_SECS
            || done >= self.total
            || self.logged.swap(true, Ordering::Relaxed)
        {
            return;
        }
        let rate = done as f64 / elapsed;
        eprintln!(
            "{}: {} paths at {rate:.0} paths/s (measured on the first {done}): about {} in all, {} to go",
            self.name,
            self.total,
            duration(self.total as f64 / rate),
            duration((self.total - done) as f64 / rate)
        );
    }
}

/// A duration in words: "42 s", "3.5 min", "2.1 h", "4.0 days".
fn duration(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 5400.0 {
        format!("{:.1} min", secs / 60.0)
    } else if secs < 172_800.0 {
        format!("{:.1} h", secs / 3600.0)
    } else {
        format!("{:.1} days", secs / 86_400.0)
    }
}

/// The command line's [`Monitor`]: a progress bar on an attended stderr (else, unless quiet,
/// one line estimating a long run's duration); information lines on stderr unless quiet;
/// warnings always.
pub struct Terminal {
    quiet: bool,
    progress: Mutex<Option<Progress>>,
}

/// How a run's progress is shown.
enum Progress {
    Bar(ProgressBar),
    Estimate(Estimate),
}

impl Terminal {
    /// A monitor that shows nothing but warnings when `quiet`.
    pub fn new(quiet: bool) -> Self {
        Terminal {
            quiet,
            progress: Mutex::new(None),
        }
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, Option<Progress>> {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Monitor for Terminal {
    fn started(&self, name: &str, paths: u64) {
        if self.quiet {
            return;
        }
        let progress = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(paths), ProgressDrawTarget::stderr());
            let width = console::Term::stderr().size().1;
            let (style, message) = progress_style(usize::from(width), name, paths);
            bar.set_style(style);
            bar.set_message(message);
            Progress::Bar(bar)
        } else {
            Progress::Estimate(Estimate::new(name, paths))
        };
        *self.progress() = Some(progress);
    }

    fn advanced(&self, paths: u64) {
        match &*self.progress() {
            Some(Progress::Bar(bar)) => bar.inc(paths),
            Some(Progress::Estimate(e)) => e.add(paths),
            None => {}
        }
    }

    fn finished(&self) {
        if let Some(Progress::Bar(bar)) = self.progress().take() {
            bar.finish_and_clear();
        }
    }

    fn info(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    fn warn(&self, line: &str) {
        eprintln!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lrtsim_run::run::lock;

    /// A terminal that records what indicatif writes (for the progress line's width).
    #[derive(Debug)]
    struct Recorder {
        width: u16,
        written: Mutex<String>,
    }

    impl indicatif::TermLike for Recorder {
        fn width(&self) -> u16 {
            self.width
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            lock(&self.written).push_str(s);
            lock(&self.written).push('\n');
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            lock(&self.written).push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            lock(&self.written).clear();
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The progress line fits the terminal, whatever its width, the name and the path count:

    #[test]
    fn the_progress_line_fits_the_terminal() {
        let long = "a-scenario-with-a-very-long-name-that-goes-on-and-on-and-on";
        for width in [8u16, 16, 24, 40, 60, 80, 100, 132, 200] {
            for name in ["baseline", "market-oracle-cascade", long] {
                for paths in [1_000u64, 200_000, 100_000_000, 100_000_000_000] {
                    let (template, message) = progress_template(usize::from(width), name, paths);
                    let budget = usize::from(width) - 1;
                    let n = indicatif::HumanCount(paths).to_string();
                    let bar = template.split("{bar:").nth(1).map(|s| {
                        s[..s.find('}').expect("bar width")]
                            .parse::<usize>()
                            .expect("a number")
                    });
                    let mut worst = template
                        .replace("{msg}", &message)
                        .replace("{human_pos}", &n)
                        .replace("{human_len}", &n)
                        .replace("{per_sec:0}", "99,999,999/s")
                        .replace("{eta}", "9999y")
                        .replace("{percent:>3}", "100");
                    if let Some(b) = bar {
                        worst = worst.replace(&format!("{{bar:{b}}}"), &"=".repeat(b));
                    }
                    assert!(
                        worst.chars().count() <= budget,
                        "width {width}, {name}, {paths}: {worst:?} ({template:?})"
                    );
                    if width >= 80 && name != long && paths <= 100_000_000 {
                        assert!(
                            bar.is_some() && message == name,
                            "width {width}: {template:?}"
                        );
                    }
                    // As indicatif draws it.
                    let term = std::sync::Arc::new(Recorder {
                        width,
                        written: Mutex::new(String::new()),
                    });
                    let target = ProgressDrawTarget::term_like(Box::new(ArcTerm(term.clone())));
                    let pb = ProgressBar::with_draw_target(Some(paths), target);
                    let (style, message) = progress_style(usize::from(width), name, paths);
                    pb.set_style(style);
                    pb.set_message(message);
                    pb.set_position(paths / 3);
                    pb.tick();
                    let drawn = lock(&term.written).clone();
                    // The rate of a test's instant progress is absurd: count it at its widest.
                    let line: String = drawn
                        .trim_end_matches(' ')
                        .split(' ')
                        .map(|w| if w.ends_with("/s") { "99,999,999/s" } else { w })
                        .collect::<Vec<_>>()
                        .join(" ");
                    assert!(
                        !line.contains('\n') && line.chars().count() <= budget,
                        "width {width}, {name}, {paths}: drew {line:?}"
                    );
                }
            }
        }
    }

    /// A shared [`Recorder`] as a draw target.
    #[derive(Debug)]
    struct ArcTerm(std::sync::Arc<Recorder>);

    impl indicatif::TermLike for ArcTerm {
        fn width(&self) -> u16 {
            self.0.width()
        }
        fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
            self.0.move_cursor_up(n)
        }
        fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
            self.0.move_cursor_down(n)
        }
        fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
            self.0.move_cursor_right(n)
        }
        fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
            self.0.move_cursor_left(n)
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.0.write_line(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.write_str(s)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.0.clear_line()
        }
        fn flush(&self) -> std::io::Result<()> {
            self.0.flush()
        }
    }
}

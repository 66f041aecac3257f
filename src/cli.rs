//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Monte Carlo stress tests for liquid restaking tokens: loss distributions and tail metrics
/// of correlated slashing over one pooled collateral.
#[derive(Debug, Parser)]
#[command(name = "lrtsim", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate one or more scenario files and write their reports.
    Run(RunArgs),
    /// Check scenario files (and --set overrides) without simulating; exit 0 if all are valid,
    /// 2 otherwise.
    Validate(ValidateArgs),
    /// Run a scenario over a grid of parameter values: one row per point in sweep.csv, each
    /// point's full outputs in its own folder; resumable.
    Sweep(SweepArgs),
    /// Merge the partial results of a sharded run (`run --shard`) into the files an unsharded
    /// run writes, bit for bit.
    Merge(MergeArgs),
    /// Re-simulate single paths of a run (e.g. the worst paths listed in summary.json) and
    /// write their step-by-step trace.
    Replay(ReplayArgs),
    /// Write one self-contained HTML report (inline SVG charts, no script, nothing fetched)
    /// of a run's output directory, of two runs side by side, or of a sweep.
    Report(ReportCmdArgs),
}

/// Overrides shared by the commands that load a scenario.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Override a scenario field before validation: a dotted path into the TOML, array
    /// entries by name (e.g. `--set avs.eigenda.reward_apr=0.02`,
    /// `--set simulation.paths=100000`). Repeatable; a later --set of the same key wins.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// `lrtsim validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files (TOML); every --set applies to each.
    #[arg(required = true, value_name = "SCENARIO")]
    pub scenarios: Vec<PathBuf>,
    #[command(flatten)]
    pub set: SetArgs,
}

/// What `run` and `merge` print on stdout at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A short table of the headline tail metrics.
    Table,
    /// The summary JSON (an array of summaries when several scenarios run).
    Json,
}

/// Threads and logging, shared by the commands that compute.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Worker threads (0: one per core; at most 1024). Results do not depend on it.
    #[arg(short = 't', long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub threads: u32,
    /// No progress bar and no log on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// What the reports keep: results depend on these (not on the thread count).
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Memory for the exact tail values of all metrics together, MiB: with more paths than
    /// fit, the lowest levels come from a histogram (see docs/outputs.md).
    #[arg(long, default_value_t = 1024, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub tail_memory_mb: u32,
    /// Bins per metric in loss_distribution.csv.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub bins: u32,
}

/// The files the report's tables are written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// `<table>.csv`.
    Csv,
    /// `<table>.parquet` instead (typed columns; needs a build with `--features parquet`).
    Parquet,
    /// Both.
    Both,
}

impl From<TableFormat> for lrtsim_run::tables::TableFormat {
    fn from(f: TableFormat) -> Self {
        match f {
            TableFormat::Csv => Self::Csv,
            TableFormat::Parquet => Self::Parquet,
            TableFormat::Both => Self::Both,
        }
    }
}

/// How the report's tables are written.
#[derive(Debug, Args)]
pub struct TableArgs {
    /// Write the tables (tail_metrics, exceedance, contributions, loss_distribution,
    /// redemption_wait, queue/price/utilization/exit_queue_paths) as CSV, as Parquet (typed
    /// columns, for pandas, polars and DuckDB) or both. summary.json and scenario.resolved.toml are always
    /// written; `lrtsim report` and --report read the CSV files.
    #[arg(long, value_enum, default_value_t = TableFormat::Csv, value_name = "FORMAT")]
    pub table_format: TableFormat,
}

impl TableArgs {
    /// The library's format.
    pub fn format(&self) -> lrtsim_run::tables::TableFormat {
        self.table_format.into()
    }
}

/// Whether the risk contributions are computed.
#[derive(Debug, Args)]
pub struct ContributionArgs {
    /// Skip the risk contributions: their tail paths are not re-simulated, contributions.csv
    /// holds its header alone and summary.json and the table have no contributions (saves up
    /// to one re-simulation of the run's paths when a large atom sits at a low VaR).
    #[arg(long)]
    pub no_contributions: bool,
}

/// What goes to stdout and to the one-line summary CSV.
#[derive(Debug, Args)]
pub struct StdoutArgs {
    /// What to print on stdout at the end.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Append one line per run (scenario, seed, --set values, headline metrics with
    /// intervals) to FILE, writing the header only when FILE is new; all or nothing, and a torn
    /// FILE (no final line break) is refused. `-` prints the CSV on stdout instead of the table.
    #[arg(long, value_name = "FILE|-")]
    pub summary_csv: Option<String>,
}

/// `lrtsim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files (TOML); all are validated before any runs, and every --set applies to
    /// each.
    #[arg(required = true, value_name = "SCENARIO")]
    pub scenarios: Vec<PathBuf>,
    #[command(flatten)]
    pub set: SetArgs,
    /// Output directory; `{name}` is replaced by the scenario name. With several scenarios
    /// and no `{name}`, each writes to `DIR/<name>`.
    #[arg(short, long, value_name = "DIR", default_value = "out/{name}", value_parser = directory)]
    pub out: String,
    #[command(flatten)]
    pub workers: WorkerArgs,
    #[command(flatten)]
    pub stdout: StdoutArgs,
    /// Also write paths.csv, one row per path (meant for small runs).
    #[arg(long)]
    pub paths_csv: bool,
    /// Also write paths.parquet: every path's values, typed, streamed to disk as the run
    /// goes (any number of paths; needs a build with `--features parquet`).
    #[arg(long)]
    pub paths_parquet: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub tables: TableArgs,
    #[command(flatten)]
    pub contrib: ContributionArgs,
    /// Simulate only shard I (0-based) of N — a contiguous share of the run's chunks of 1,024
    /// paths — and write its partial result `shard-I-of-N.lrtpart` into the output directory
    /// instead of the reports (`lrtsim merge` combines them). `auto/N` takes I from
    /// `$SLURM_ARRAY_TASK_ID`, else `$JOB_COMPLETION_INDEX` (Kubernetes Indexed Jobs).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Also write report.html, the run's self-contained HTML report (as `lrtsim report`),
    /// into each output directory after its other files and manifest.
    #[arg(long = "report")]
    pub html_report: bool,
}

/// `lrtsim merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Partial results (`*.lrtpart`) of `run --shard`, or directories holding them.
    #[arg(required = true, value_name = "PART")]
    pub parts: Vec<PathBuf>,
    /// Output directory for the merged reports.
    #[arg(short, long, value_name = "DIR", value_parser = directory_path)]
    pub out: PathBuf,
    #[command(flatten)]
    pub workers: WorkerArgs,
    #[command(flatten)]
    pub stdout: StdoutArgs,
    #[command(flatten)]
    pub tables: TableArgs,
    #[command(flatten)]
    pub contrib: ContributionArgs,
}

/// `lrtsim replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The scenario file of the run (with the same --set overrides).
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    #[command(flatten)]
    pub set: SetArgs,
    /// Path id to replay (as in summary.json's worst_paths or paths.csv's row order);
    /// repeatable.
    #[arg(long = "path", required = true, value_name = "ID")]
    pub paths: Vec<u64>,
    /// Output directory; `{name}` is the scenario name, `{path}` the path id.
    #[arg(
        short,
        long,
        value_name = "DIR",
        default_value = "out/{name}/replay/path-{path}",
        value_parser = directory
    )]
    pub out: String,
    /// Most rows (steps) trace.csv may have: a path of more steps is refused before it is
    /// simulated. The trace is streamed to disk (memory does not grow with it) at about
    /// 100–250 bytes a row; raise the limit for a longer trace.
    #[arg(long, value_name = "ROWS", default_value_t = crate::replay::DEFAULT_MAX_TRACE_ROWS)]
    pub max_trace_rows: u64,
    #[command(flatten)]
    pub workers: WorkerArgs,
}

/// `lrtsim report`.
#[derive(Debug, Args)]
pub struct ReportCmdArgs {
    /// A run's output directory (summary.json and manifest.json), a sweep's directory
    /// (sweep.csv), or two run directories to compare.
    #[arg(required = true, num_args = 1..=2, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// The HTML file to write. Default: DIR/report.html; for a comparison, the first DIR's
    /// comparison.html.
    #[arg(short, long, value_name = "FILE", value_parser = directory_path)]
    pub out: Option<PathBuf>,
    /// Names of the two runs of a comparison (default: their directories' names).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub labels: Vec<String>,
    /// How many of the worst paths to re-simulate and tell in one line each (0: none); needs
    /// the run's scenario.resolved.toml.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub stories: u32,
    #[command(flatten)]
    pub workers: WorkerArgs,
}

/// `lrtsim sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The scenario file to sweep (one); --set values hold at every point, --grid, --zip and
    /// --seeds vary.
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    #[command(flatten)]
    pub set: SetArgs,
    /// An axis of the cartesian product: `KEY=V1,V2,…`, `KEY=START:STOP:STEP` (inclusive) or
    /// `KEY=log:START:STOP:N` (N values evenly spaced in log). Repeatable.
    #[arg(long, value_name = "KEY=VALUES")]
    pub grid: Vec<String>,
    /// Paired lists: every --zip has the same number of values and they vary together (one
    /// axis of the product). Repeatable.
    #[arg(long, value_name = "KEY=VALUES")]
    pub zip: Vec<String>,
    /// A seed axis: run every point with N seeds (the scenario's seed, then seed + 1, …) to
    /// see seed-to-seed variance. Without it every point uses the scenario's seed (common
    /// random numbers).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub seeds: Option<u32>,
    /// Output directory: `sweep.csv` and one folder per point under `points/`.
    #[arg(short, long, value_name = "DIR", default_value = "out/{name}-sweep", value_parser = directory)]
    pub out: String,
    /// Rerun points even if their outputs exist.
    #[arg(long)]
    pub force: bool,
    /// Add to sweep.csv each component's contribution to the ES of slashed_eth (and its share
    /// of it) at 95 %, 99 % and 99.9 % for this decomposition: `source`, `avs`, `operator` or
    /// `attribute.KEY` (see contributions.csv).
    #[arg(
        long,
        value_name = "DECOMPOSITION",
        conflicts_with = "no_contributions"
    )]
    pub contributions: Option<String>,
    #[command(flatten)]
    pub workers: WorkerArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub tables: TableArgs,
    #[command(flatten)]
    pub contrib: ContributionArgs,
}

/// An output directory: not empty (an empty name would silently mean the current directory;
/// write `.` for that).
fn directory(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("an empty directory name; give a directory (`.` for the current one)".to_string())
    } else {
        Ok(s.to_string())
    }
}

/// [`directory`] as a path.
fn directory_path(s: &str) -> Result<PathBuf, String> {
    directory(s).map(PathBuf::from)
}

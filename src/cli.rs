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
}

/// Overrides shared by `run` and `validate`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// Override a scenario field before validation: a dotted path into the TOML, array
    /// entries by name (e.g. `--set avs.eigenda.reward_apr=0.02`,
    /// `--set simulation.paths=100000`). Repeatable; applied to every scenario.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// `lrtsim validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files (TOML).
    #[arg(required = true, value_name = "SCENARIO")]
    pub scenarios: Vec<PathBuf>,
    #[command(flatten)]
    pub set: SetArgs,
}

/// What `run` prints on stdout at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A short table of the headline tail metrics.
    Table,
    /// The summary JSON (an array of summaries when several scenarios run).
    Json,
}

/// `lrtsim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files (TOML); all are validated before any runs.
    #[arg(required = true, value_name = "SCENARIO")]
    pub scenarios: Vec<PathBuf>,
    #[command(flatten)]
    pub set: SetArgs,
    /// Output directory; `{name}` is replaced by the scenario name. With several scenarios
    /// and no `{name}`, each writes to `DIR/<name>`.
    #[arg(short, long, value_name = "DIR", default_value = "out/{name}")]
    pub out: String,
    /// Worker threads (0: one per core; at most 1024). Results do not depend on it.
    #[arg(short = 't', long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub threads: u32,
    /// No progress bar and no run log on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// What to print on stdout at the end.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Append one line per run (scenario, seed, --set values, headline metrics) to FILE,
    /// writing the header only when FILE is new; `-` writes header and line to stdout.
    #[arg(long, value_name = "FILE|-")]
    pub summary_csv: Option<String>,
    /// Also write paths.csv, one row per path (meant for small runs).
    #[arg(long)]
    pub paths_csv: bool,
    /// Memory for the exact tail values of all metrics together, MiB: with more paths than
    /// fit, the lowest levels come from a histogram (see docs/outputs.md). Results depend on
    /// it, not on the thread count.
    #[arg(long, default_value_t = 1024, value_name = "MIB", value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub tail_memory_mb: u32,
    /// Bins per metric in loss_distribution.csv.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub bins: u32,
}

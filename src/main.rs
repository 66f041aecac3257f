//! `lrtsim`: Monte Carlo stress tests for liquid restaking tokens.
//!
//! A thin command line over the libraries: parse arguments, load and validate every scenario
//! first (so a bad file stops the batch before anything is written), run each, write its
//! reports, map errors to exit codes (0 ok, 1 runtime failure, 2 bad input).

/// `eprintln!` that never panics: when stderr cannot be written (closed, full, a reader that
/// went away) there is nowhere left to say so, and the exit status still tells.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod cli;
mod interrupt;
mod merge;
mod replay;
mod report;
mod run;
mod sweep;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Validate(_)) {
        interrupt::install();
    }
    let result = match &cli.command {
        Command::Run(args) => run::run(args),
        Command::Validate(args) => run::validate(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Merge(args) => merge::merge(args),
        Command::Replay(args) => replay::replay(args),
        Command::Report(args) => report::report(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(run::exit_code(&e))
        }
    }
}

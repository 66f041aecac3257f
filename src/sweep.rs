//! `lrtsim sweep` on the command line: the arguments handed to [`lrtsim_run::sweep`].

use anyhow::Result;
use lrtsim_run::run::Settings;
use lrtsim_run::sweep::SweepRequest;

use crate::cli::SweepArgs;
use crate::run::Terminal;

/// `lrtsim sweep`.
pub fn sweep(args: &SweepArgs) -> Result<()> {
    let request = SweepRequest {
        scenario: args.scenario.clone(),
        text: None,
        set: args.set.set.clone(),
        grid: args.grid.clone(),
        zip: args.zip.clone(),
        seeds: args.seeds,
        out: args.out.clone(),
        force: args.force,
        contributions: args.contributions.clone(),
        settings: Settings {
            threads: args.workers.threads,
            tail_memory_mb: args.report.tail_memory_mb,
            bins: args.report.bins,
            paths_csv: false,
            contributions: !args.contrib.no_contributions,
            table_format: args.tables.format(),
        },
    };
    lrtsim_run::sweep::sweep(&request, &Terminal::new(args.workers.quiet))?;
    Ok(())
}

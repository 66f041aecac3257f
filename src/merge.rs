//! `lrtsim merge` on the command line: the arguments handed to [`lrtsim_run::shard::merge`],
//! the summary printed.

use anyhow::Result;
use lrtsim_report::SummaryCsvTarget;
use lrtsim_run::shard::MergeRequest;

use crate::cli::{Format, MergeArgs};
use crate::run::{Terminal, print_stdout};

/// `lrtsim merge`.
pub fn merge(args: &MergeArgs) -> Result<()> {
    let target = lrtsim_run::run::summary_target(args.stdout.summary_csv.as_deref());
    let request = MergeRequest {
        parts: args.parts.clone(),
        out: args.out.clone(),
        threads: args.workers.threads,
        contributions: !args.contrib.no_contributions,
        summary_csv: target.clone(),
        table_format: args.tables.format(),
    };
    let merged = lrtsim_run::shard::merge(&request, &Terminal::new(args.workers.quiet))?;
    match args.stdout.format {
        // `--summary-csv -` makes stdout the CSV alone.
        _ if target == Some(SummaryCsvTarget::Stdout) => {}
        Format::Table => print_stdout(&lrtsim_report::render_table(
            &merged.summary,
            &lrtsim_run::run::names(&lrtsim_run::run::table_rows(&merged.model)),
        ))?,
        Format::Json => print_stdout(&serde_json::to_string_pretty(&merged.summary)?)?,
    }
    Ok(())
}

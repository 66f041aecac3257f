//! `run` and `validate`: load every scenario, simulate, report.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lrtsim_report::{DEFAULT_LEVELS, RunInfo, Summary, SummaryCsvTarget};
use lrtsim_scenario::{Model, ScenarioError};
use lrtsim_sim::{RunOptions, SimResults};

use crate::cli::{Format, RunArgs, ValidateArgs};

/// Metrics shown in the stdout table and the one-line summary CSV.
const HEADLINE: [&str; 2] = ["slashed_fraction", "nav_loss"];
/// Added to the headline for scenarios with `[withdrawals]`.
const REDEMPTION_HEADLINE: [&str; 3] = ["redeem_days_t0", "redeem_days_stress", "peak_queue_days"];
/// Added to the headline for scenarios with `[market]`.
const MARKET_HEADLINE: [&str; 2] = ["max_discount", "forced_sale_loss"];
/// Percentiles of price / NAV in `price_paths.csv`.
const PRICE_PERCENTILES: [f64; 7] = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

/// The headline metrics of `model`.
fn headline(model: &Model) -> Vec<&'static str> {
    let mut h = HEADLINE.to_vec();
    if model.withdrawals.is_some() {
        h.extend(REDEMPTION_HEADLINE);
    }
    if model.market.is_some() {
        h.extend(MARKET_HEADLINE);
    }
    h
}

/// Bad input (scenario, arguments): exit code 2.
#[derive(Debug)]
struct InputError(String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for InputError {}

/// 2 for bad input, 1 for anything else.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<InputError>().is_some() || e.downcast_ref::<ScenarioError>().is_some() {
        2
    } else {
        1
    }
}

/// Loads every scenario; reports all failures together.
fn load_all(paths: &[PathBuf], set: &[String]) -> Result<Vec<Model>> {
    let mut models = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match lrtsim_scenario::load_file(p, set) {
            Ok(m) => models.push(m),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        let n = errors.len();
        let noun = if n == 1 {
            "scenario is"
        } else {
            "scenarios are"
        };
        return Err(InputError(format!("{}\n{n} {noun} invalid", errors.join("\n"))).into());
    }
    Ok(models)
}

/// `lrtsim validate`.
pub fn validate(args: &ValidateArgs) -> Result<()> {
    let models = load_all(&args.scenarios, &args.set.set)?;
    for (m, p) in models.iter().zip(&args.scenarios) {
        println!(
            "{}: ok ({}: {} operators, {} AVSs, {} allocations, {} loss source{}, {} paths × {} steps)",
            p.display(),
            m.name,
            m.operators.len(),
            m.avs_names.len(),
            m.pairs.len(),
            m.sources.len(),
            if m.sources.len() == 1 { "" } else { "s" },
            m.paths,
            m.n_steps
        );
    }
    Ok(())
}

/// The output directory of `model`.
fn out_dir(template: &str, model: &Model, several: bool) -> PathBuf {
    let template = if several && !template.contains("{name}") {
        format!("{template}/{{name}}")
    } else {
        template.to_string()
    };
    PathBuf::from(template.replace("{name}", &model.name))
}

/// `lrtsim run`.
pub fn run(args: &RunArgs) -> Result<()> {
    let models = load_all(&args.scenarios, &args.set.set)?;
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
    let set_values: Vec<(String, String)> = args
        .set
        .set
        .iter()
        .map(|a| {
            let (k, v) = a.split_once('=').unwrap_or((a, ""));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let summary_target = args.summary_csv.as_deref().map(|s| match s {
        "-" => SummaryCsvTarget::Stdout,
        f => SummaryCsvTarget::File(PathBuf::from(f)),
    });
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
        lrtsim_report::check_summary_csv(t, &keys, &headline(&models[0]), &DEFAULT_LEVELS)?;
    }

    let mut summaries = Vec::new();
    for (model, dir) in models.iter().zip(&dirs) {
        let started = Instant::now();
        let results = simulate(model, args)?;
        let elapsed = started.elapsed().as_secs_f64();
        let summary = report(model, &results, dir, args)?;
        if !args.quiet {
            eprintln!(
                "{}: {} paths in {elapsed:.2} s ({:.0} paths/s) -> {}",
                model.name,
                model.paths,
                model.paths as f64 / elapsed.max(1e-9),
                dir.display()
            );
        }
        if let Some(t) = &summary_target {
            lrtsim_report::append_summary_csv(t, &set_values, &summary, &headline(model))?;
        }
        if args.format == Format::Table {
            print_stdout(&lrtsim_report::render_table(&summary, &headline(model)))?;
        }
        summaries.push(summary);
    }
    if args.format == Format::Json {
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

/// Prints a block on stdout; a reader that went away (`| head`) is not an error.
fn print_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("writing to stdout"),
    }
}

/// Runs one model's paths with a progress bar on an attended stderr.
fn simulate(model: &Model, args: &RunArgs) -> Result<SimResults> {
    let draw = !args.quiet && std::io::stderr().is_terminal();
    let bar = if draw {
        let bar = ProgressBar::with_draw_target(Some(model.paths), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {human_pos}/{human_len} paths  {per_sec:0}  ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(model.name.clone());
        bar
    } else {
        ProgressBar::hidden()
    };
    let options = RunOptions {
        threads: args.threads as usize,
        chunks: None,
    };
    let results = lrtsim_sim::run(model, &options, &|n| bar.inc(n))
        .with_context(|| format!("running {}", model.name))?;
    bar.finish_and_clear();
    Ok(results)
}

/// The loss metrics of a run, in report order: headline metrics first, then ETH lost in
/// total and by kind, the redemption metrics (with `[withdrawals]`), the market metrics (with
/// `[market]`), the exploit and reserve metrics (with `[[exploits]]` or `[[reserves]]`), per AVS
/// and per source.
/// `nav_loss` (−`nav_return`) is the only new column; the others are borrowed from the
/// results.
fn metric_columns<'a>(results: &'a SimResults, nav_loss: &'a [f64]) -> Vec<(&'a str, &'a [f64])> {
    let col = |name: &str| results.column(name).expect("layout has the fixed columns");
    let mut out = vec![
        ("slashed_fraction", col("slashed_fraction")),
        ("nav_loss", nav_loss),
    ];
    // ETH lost in total and by kind: AVS slashing and the beacon chain's penalties.
    for name in [
        "slashed_eth",
        "avs_slashed_eth",
        "beacon_initial_eth",
        "beacon_correlation_eth",
        "inactivity_leak_eth",
    ] {
        out.push((name, col(name)));
    }
    let layout = &results.layout;
    if let Some(start) = layout.redemption_start() {
        for (k, name) in lrtsim_sim::Layout::REDEMPTION.iter().enumerate() {
            out.push((name, results.columns[start + k].as_slice()));
        }
    }
    if let Some(start) = layout.market_start().or(layout.waterfall_start()) {
        for (i, name) in layout.names()[..layout.avs_start()]
            .iter()
            .enumerate()
            .skip(start)
        {
            out.push((name.as_str(), results.columns[i].as_slice()));
        }
    }
    for (i, name) in layout.names().iter().enumerate().skip(layout.avs_start()) {
        out.push((name.as_str(), results.columns[i].as_slice()));
    }
    out
}

/// Computes the tail metrics and writes every report file of one run into `dir`.
fn report(model: &Model, results: &SimResults, dir: &Path, args: &RunArgs) -> Result<Summary> {
    let nav_loss: Vec<f64> = results
        .column("nav_return")
        .expect("layout has nav_return")
        .iter()
        .map(|r| -r)
        .collect();
    let refs = metric_columns(results, &nav_loss);
    let stats = lrtsim_report::all_metric_stats(&refs, &DEFAULT_LEVELS);
    let summary = Summary {
        info: RunInfo {
            scenario: model.name.clone(),
            scenario_hash: model.scenario_hash.clone(),
            seed: model.seed,
            paths: model.paths,
            engine_version: env!("CARGO_PKG_VERSION").to_string(),
            horizon_days: model.horizon_days,
            step_days: model.step_days,
        },
        metrics: stats,
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating output directory {}", dir.display()))?;
    lrtsim_report::write_summary_json(&dir.join("summary.json"), &summary)?;
    lrtsim_report::write_tail_metrics_csv(&dir.join("tail_metrics.csv"), &summary)?;
    lrtsim_report::write_loss_distribution_csv(
        &dir.join("loss_distribution.csv"),
        &refs,
        args.bins as usize,
    )?;
    if results.layout.redemption_start().is_some() {
        let col = |name: &str| results.column(name).expect("redemption columns");
        lrtsim_report::write_redemption_wait_csv(
            &dir.join("redemption_wait.csv"),
            &[
                lrtsim_report::WaitColumn {
                    holder: "t0",
                    wait_days: col("redeem_days_t0"),
                    unredeemed: col("unredeemed_t0"),
                },
                lrtsim_report::WaitColumn {
                    holder: "stress",
                    wait_days: col("redeem_days_stress"),
                    unredeemed: col("unredeemed_stress"),
                },
            ],
            model.step_days.max(1.0),
            model.horizon_days,
        )?;
    }
    if let (Some(bands), Some(market)) = (&results.price_bands, &model.market) {
        let thresholds: Vec<f64> = market.thresholds.iter().map(|t| t.0).collect();
        let bps: Vec<u32> = market.thresholds.iter().map(|t| t.1).collect();
        let rows: Vec<lrtsim_report::PriceRow> = bands
            .rows(&PRICE_PERCENTILES, &thresholds)
            .into_iter()
            .map(|r| lrtsim_report::PriceRow {
                step: r.step,
                day: r.day,
                paths: r.paths,
                quantiles: r.quantiles,
                share_below: r.share_below,
            })
            .collect();
        lrtsim_report::write_price_paths_csv(
            &dir.join("price_paths.csv"),
            &PRICE_PERCENTILES,
            &bps,
            &rows,
        )?;
    }
    if args.paths_csv {
        let names: Vec<&str> = results.layout.names().iter().map(String::as_str).collect();
        let cols: Vec<&[f64]> = results.columns.iter().map(Vec::as_slice).collect();
        lrtsim_report::write_paths_csv(&dir.join("paths.csv"), &names, &cols)?;
    }
    Ok(summary)
}

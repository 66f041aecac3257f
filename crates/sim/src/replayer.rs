//! Tail-path replay: re-simulate single paths of a run and keep their traces.
//!
//! Every path has its own random stream ([`path_rng`]), so path `i` of a run can be simulated
//! alone: [`replay`] runs it with the kernel the runner would use (under the run's
//! importance-sampling tilt, resolved as the runner does) and returns a [`Replay`]: the path's
//! output row — identical, bit for bit, to its row in the run's results and `paths.csv` —, its
//! likelihood-ratio weight, and its trace ([`crate::trace`]). [`Replay`] also renders the files
//! of `lrtsim replay`: `path.csv`, `events.csv`, `trace.csv` and `summary.txt`.
//!
//! ```
//! use std::path::Path;
//! let text = r#"
//! [simulation]
//! paths = 100
//! horizon_days = 365
//! seed = 1
//! [pool]
//! collateral_eth = 100
//! [[operators]]
//! name = "a"
//! share = 1
//! allocations = { x = 1.0 }
//! [[avs]]
//! name = "x"
//! [[shocks]]
//! name = "bug"
//! rate_per_year = 2
//! severity = 0.1
//! "#;
//! let model = lrtsim_scenario::load_str(text, Path::new("demo.toml"), &[])?;
//! let results = lrtsim_sim::run(&model, &lrtsim_sim::RunOptions::default(), &|_| {})?;
//! let r = lrtsim_sim::replay(&model, 42)?;
//! let slashed = results.column("slashed_eth").unwrap()[42];
//! assert_eq!(r.row[lrtsim_sim::Layout::SLASHED_ETH].to_bits(), slashed.to_bits());
//! // Every shock's ETH is in the trace.
//! let traced: f64 = r.events.iter().map(|e| e.slashed_eth).sum();
//! assert!((traced - slashed).abs() <= 1e-9 * slashed.max(1.0));
//! assert_eq!(r.steps.len(), 365);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;
use std::sync::mpsc::SyncSender;

use lrtsim_scenario::Model;

use crate::importance::ResolvedTilt;
use crate::kernel::PathKernel;
use crate::outputs::Layout;
use crate::stream::path_rng;
use crate::trace::{StepDigest, TraceEvent, TraceRecorder, TraceStep, num, pct};

/// Why a path cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The path id is not one of the run's paths.
    #[error(
        "path {path} is not a path of the run: it has {paths} paths (ids 0 to {})",
        .paths.saturating_sub(1)
    )]
    PathOutOfRange {
        /// The id asked for.
        path: u64,
        /// Paths in the run (`simulation.paths`).
        paths: u64,
    },
}

/// One path of a run, re-simulated with its trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// Scenario name.
    pub scenario: String,
    /// The run's seed.
    pub seed: u64,
    /// The path's id (0-based, as in `paths.csv`).
    pub path: u64,
    /// Paths in the run.
    pub paths: u64,
    /// Step length, days.
    pub step_days: f64,
    /// Collateral at t = 0, ETH.
    pub collateral_eth: f64,
    /// ETH the reserves hold at t = 0 (0 without `[[reserves]]`).
    pub reserve_initial_eth: f64,
    /// Column layout of `row`.
    pub layout: Layout,
    /// The path's output row: identical, bit for bit, to its row in the run's results
    /// ([`crate::run`]) and in `paths.csv`.
    pub row: Vec<f64>,
    /// The path's likelihood-ratio weight under importance sampling (the run's `weight`
    /// column); None for plain Monte Carlo.
    pub weight: Option<f64>,
    /// How the importance-sampling tilt was chosen (None for plain Monte Carlo).
    pub tilt_method: Option<String>,
    /// Every event applied, in time order.
    pub events: Vec<TraceEvent>,
    /// One row per step, in step order (empty when the rows were streamed,
    /// [`Replayer::replay_streaming`]).
    pub steps: Vec<TraceStep>,
    /// What the summary needs from the step rows (kept also when they were streamed).
    pub digest: StepDigest,
}

/// Replays paths of one model, with the tilt resolved once.
pub struct Replayer<'m> {
    model: &'m Model,
    tilt: Option<ResolvedTilt>,
    kernel: PathKernel<'m>,
    row: Vec<f64>,
}

impl<'m> Replayer<'m> {
    /// A replayer for `model`'s run: its importance-sampling tilt is resolved as the runner
    /// resolves it ([`crate::importance::resolve`]; for `method = "auto"` that runs the
    /// cross-entropy pilots on the current rayon pool — the tilt does not depend on the
    /// thread count).
    pub fn new(model: &'m Model) -> Self {
        Replayer::with_tilt(model, crate::importance::resolve(model))
    }

    /// A replayer for paths drawn under `tilt` (None: plain Monte Carlo), e.g. the tilt of a
    /// run's [`crate::SimResults`].
    pub fn with_tilt(model: &'m Model, tilt: Option<ResolvedTilt>) -> Self {
        // The kernel the runner's workers build.
        let kernel = crate::importance::run_kernel(model, tilt.as_ref());
        let width = kernel.layout().len();
        Replayer {
            model,
            tilt,
            kernel,
            row: vec![0.0; width],
        }
    }

    /// The tilt paths are drawn under (None: plain Monte Carlo).
    pub fn tilt(&self) -> Option<&ResolvedTilt> {
        self.tilt.as_ref()
    }

    /// Re-simulates path `path` of the run with its trace.
    ///
    /// The path runs twice from its own stream: once as the runner runs it, for the row and
    /// the weight, and once with a trace recorder attached (whose hooks only read the state,
    /// so it takes the same course).
    pub fn replay(&mut self, path: u64) -> Result<Replay, ReplayError> {
        self.replay_with(path, TraceRecorder::new())
    }

    /// [`replay`](Self::replay), with each step row sent to `rows` as the step ends instead of
    /// kept in [`Replay::steps`] (which stays empty; [`Replay::digest`] has what the summary
    /// needs): memory does not grow with the number of steps when the receiver writes the rows
    /// out as they come (e.g. on another thread, through a bounded channel). If the receiver
    /// goes away the path still completes and later rows are dropped.
    pub fn replay_streaming(
        &mut self,
        path: u64,
        rows: SyncSender<TraceStep>,
    ) -> Result<Replay, ReplayError> {
        self.replay_with(path, TraceRecorder::streaming(rows))
    }

    fn replay_with(&mut self, path: u64, recorder: TraceRecorder) -> Result<Replay, ReplayError> {
        let m = self.model;
        if path >= m.paths {
            return Err(ReplayError::PathOutOfRange {
                path,
                paths: m.paths,
            });
        }
        self.kernel.detach_trace();
        self.kernel
            .run_path(&mut path_rng(m.seed, path), &mut self.row);
        let row = self.row.clone();
        let weight = self.tilt.is_some().then(|| self.kernel.weight());
        self.kernel.attach_recorder(recorder);
        self.kernel
            .run_path(&mut path_rng(m.seed, path), &mut self.row);
        debug_assert!(
            row.iter()
                .zip(&self.row)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "the trace hooks changed path {path}'s row"
        );
        let recorder = self.kernel.detach_trace().expect("a recorder was attached");
        let digest = recorder.digest().clone();
        let (events, steps) = recorder.into_parts();
        Ok(Replay {
            scenario: m.name.clone(),
            seed: m.seed,
            path,
            paths: m.paths,
            step_days: m.step_days,
            collateral_eth: m.collateral_eth,
            reserve_initial_eth: m.reserves.iter().map(|r| r.initial_eth).sum(),
            layout: self.kernel.layout().clone(),
            row,
            weight,
            tilt_method: self.tilt.as_ref().map(|t| t.method.clone()),
            events,
            steps,
            digest,
        })
    }
}

/// Re-simulates path `path` of `model`'s run (see [`Replayer::replay`]); a path id ≥
/// `model.paths` is an error. With `method = "auto"` importance sampling the tilt's pilot
/// runs come first (on the current rayon pool); to replay several paths, resolve it once with
/// a [`Replayer`].
pub fn replay(model: &Model, path: u64) -> Result<Replay, ReplayError> {
    if path >= model.paths {
        return Err(ReplayError::PathOutOfRange {
            path,
            paths: model.paths,
        });
    }
    Replayer::new(model).replay(path)
}

/// Writes `trace.csv` from step rows as they come (e.g. from a channel fed by
/// [`Replayer::replay_streaming`]): the header of the first row's
/// [`columns`](TraceStep::columns), then one line per row; nothing without rows.
pub fn write_trace_csv<S: std::borrow::Borrow<TraceStep>>(
    w: &mut dyn std::io::Write,
    rows: impl IntoIterator<Item = S>,
) -> std::io::Result<()> {
    let mut line = String::new();
    for (k, row) in rows.into_iter().enumerate() {
        let columns = row.borrow().columns();
        if k == 0 {
            let names: Vec<&str> = columns.iter().map(|c| c.0).collect();
            w.write_all(names.join(",").as_bytes())?;
            w.write_all(b"\n")?;
        }
        line.clear();
        for (i, (_, v)) in columns.into_iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            let _ = write!(line, "{v}");
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// A number of days: "1 day", "0.25 days".
fn days(x: f64) -> String {
    if x == 1.0 {
        "1 day".to_string()
    } else {
        format!("{} days", num(x))
    }
}

/// A CSV field, quoted when it must be (as the `csv` crate's writer does: a comma, a quote or
/// a line break).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Replay {
    /// The value of column `name` of the row.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.layout.index(name).map(|i| self.row[i])
    }

    /// `path.csv`: the header of `paths.csv` (`path`, the layout's columns, then `weight`
    /// under importance sampling) and the path's row, formatted as `paths.csv` formats it —
    /// byte for byte the same as that path's line there.
    pub fn path_csv(&self) -> String {
        let mut header = vec!["path".to_string()];
        header.extend(self.layout.names().iter().map(|n| csv_field(n)));
        let mut values = vec![self.path.to_string()];
        values.extend(self.row.iter().map(|v| v.to_string()));
        if let Some(w) = self.weight {
            header.push("weight".to_string());
            values.push(w.to_string());
        }
        format!("{}\n{}\n", header.join(","), values.join(","))
    }

    /// `events.csv`: one row per event, in time order; header
    /// `step,day,kind,name,slashed_eth,exploit_loss_eth,reserve_paid_eth,net_loss_eth,nav_per_lrt,detail`
    /// (see [`TraceEvent`]). Numbers use Rust's shortest round-trip formatting.
    pub fn events_csv(&self) -> String {
        let mut out = String::from(
            "step,day,kind,name,slashed_eth,exploit_loss_eth,reserve_paid_eth,net_loss_eth,\
             nav_per_lrt,detail\n",
        );
        for e in &self.events {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{}",
                e.step,
                e.day,
                e.kind,
                csv_field(&e.name),
                e.slashed_eth,
                e.exploit_loss_eth,
                e.reserve_paid_eth,
                e.net_loss_eth,
                e.nav_per_lrt,
                csv_field(&e.detail)
            );
        }
        out
    }

    /// `trace.csv`: one row per step ([`TraceStep::columns`] gives the header). Builds the
    /// whole text in memory; [`write_trace_csv`](Self::write_trace_csv) streams it.
    pub fn trace_csv(&self) -> String {
        let mut out = Vec::new();
        self.write_trace_csv(&mut out)
            .expect("writing to memory cannot fail");
        String::from_utf8(out).expect("the trace is ASCII")
    }

    /// Writes `trace.csv` row by row to `w` (byte for byte [`trace_csv`](Self::trace_csv)),
    /// without holding the text in memory.
    pub fn write_trace_csv(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        write_trace_csv(w, &self.steps)
    }

    /// `summary.txt`: the path in plain words — the run it belongs to, its weight, its
    /// outcome at the horizon, its events in time order and the notable points of its trace.
    pub fn summary_text(&self) -> String {
        let mut out = String::new();
        self.write_header(&mut out);
        self.write_outcome(&mut out);
        self.write_events(&mut out);
        self.write_notable(&mut out);
        out
    }

    fn horizon_days(&self) -> f64 {
        self.digest.last_day
    }

    fn write_header(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "Replay of path {} of scenario {} (seed {}, {} paths; {} steps of {}, horizon {})",
            self.path,
            self.scenario,
            self.seed,
            self.paths,
            self.digest.steps,
            days(self.step_days),
            days(self.horizon_days())
        );
        if let Some(w) = self.weight {
            let _ = writeln!(
                out,
                "Importance sampling ({}): this path's likelihood-ratio weight is {}; it counts {} times in the run's statistics.",
                self.tilt_method.as_deref().unwrap_or("tilted"),
                num(w),
                num(w)
            );
        }
        out.push('\n');
    }

    fn write_outcome(&self, out: &mut String) {
        let v = |name: &str| self.value(name).unwrap_or(f64::NAN);
        let _ = writeln!(out, "Outcome at the horizon");
        let slashed = v("slashed_eth");
        let _ = writeln!(
            out,
            "  ETH slashed: {} ({} of the {} ETH collateral)",
            num(slashed),
            pct(v("slashed_fraction")),
            num(self.collateral_eth)
        );
        if slashed > 0.0 {
            let kinds: Vec<String> = [
                ("AVS slashing", "avs_slashed_eth"),
                ("beacon initial penalties", "beacon_initial_eth"),
                ("beacon correlation penalties", "beacon_correlation_eth"),
                ("inactivity leaks", "inactivity_leak_eth"),
            ]
            .iter()
            .filter(|(_, c)| v(c) > 0.0)
            .map(|(label, c)| format!("{label} {}", num(v(c))))
            .collect();
            let _ = writeln!(out, "    by kind: {}", kinds.join(", "));
            let names = self.layout.names();
            let sources: Vec<String> = (self.layout.source_start()..self.layout.source_end())
                .filter(|&i| self.row[i] > 0.0)
                .map(|i| {
                    let name = names[i].trim_start_matches("slashed_eth.source.");
                    format!("{name} {}", num(self.row[i]))
                })
                .collect();
            let _ = writeln!(out, "    by source: {}", sources.join(", "));
        }
        let nav_return = v("nav_return");
        let sector = self.layout.lrt_start().is_some();
        let _ = writeln!(
            out,
            "  {}: {} (NAV loss {}); rewards {} ETH, fees {} ETH",
            if sector {
                "Value per unit of the operators' whole stake (every staker's)"
            } else {
                "NAV per LRT"
            },
            num(1.0 + nav_return),
            pct(-nav_return),
            num(v("rewards_eth")),
            num(v("fees_eth"))
        );
        // A sector: each LRT's share of the losses, its NAV loss and its mints.
        let lrts: Vec<&str> = self
            .layout
            .names()
            .iter()
            .filter_map(|n| n.strip_prefix("slashed_fraction.lrt."))
            .collect();
        if sector {
            let _ = writeln!(
                out,
                "  The LRTs' holders lost {} ETH in all ({} ETH of it to slashing):",
                num(v("sector_holders_loss_eth")),
                num(v("sector_slashed_eth"))
            );
            for l in lrts {
                let at = |m: &str| v(&format!("{m}.lrt.{l}"));
                let mut line = format!(
                    "    {l}: {} ETH slashed ({} of its collateral), NAV loss {}",
                    num(at("slashed_eth")),
                    pct(at("slashed_fraction")),
                    pct(at("nav_loss"))
                );
                let minted = self.value(&format!("minted_share.lrt.{l}")).unwrap_or(0.0);
                if minted > 0.0 {
                    line.push_str(&format!(
                        "; {} of its supply minted without backing ({} ETH of dilution)",
                        pct(minted),
                        num(at("exploit_loss_eth"))
                    ));
                }
                let _ = writeln!(out, "{line}");
            }
        }
        if self.layout.redemption_start().is_some() {
            let stress = if v("unredeemed_stress") > 0.0 {
                format!(
                    "not paid by the horizon ({} days of waiting)",
                    num(v("redeem_days_stress"))
                )
            } else {
                format!("paid after {} days", num(v("redeem_days_stress")))
            };
            let t0 = if v("unredeemed_t0") > 0.0 {
                "not paid by the horizon".to_string()
            } else {
                format!("paid after {} days", num(v("redeem_days_t0")))
            };
            let _ = writeln!(
                out,
                "  Redemptions: a holder asking at t = 0 is {t0}; one asking when the stress starts (day {}) is {stress}",
                num(v("stress_start_days"))
            );
            let _ = writeln!(
                out,
                "    peak queue {} ETH, longest wait {} days; {} of the supply asked, {} of it unpaid at the horizon; {} ETH redeemed, {} ETH in instant fees; peak network exit queue {} ETH",
                num(v("peak_queue_eth")),
                num(v("peak_queue_days")),
                pct(v("requested_share")),
                pct(v("unfilled_share")),
                num(v("redeemed_eth")),
                num(v("exit_fees_eth")),
                num(v("peak_network_queue_eth"))
            );
        }
        if self.layout.market_start().is_some() {
            let _ = writeln!(
                out,
                "  Market: deepest discount {} (at a step's low), {} at the horizon; forced sale loss {}; {} of the supply sold ({} by redeeming holders), {} bought by arbitrageurs; {} of the liquidity withdrawn at most",
                pct(v("max_discount")),
                pct(v("end_discount")),
                pct(v("forced_sale_loss")),
                pct(v("sold_share")),
                pct(v("panic_sold_share")),
                pct(v("arb_bought_share")),
                pct(v("liquidity_lost_share"))
            );
        }
        if self.layout.lending_start().is_some() {
            let mut line = format!(
                "  Lending: {} of the supply liquidated, cascade depth {}, bad debt {} ETH ({} of the ETH lent); looper equity loss {}",
                pct(v("liquidated_share")),
                num(v("cascade_depth")),
                num(v("bad_debt_eth")),
                pct(v("bad_debt_share")),
                pct(v("looper_equity_loss"))
            );
            if v("peak_borrow_rate") > 0.0 {
                let _ = write!(
                    line,
                    "; peak borrow rate {} per year; {} of the supply unwound",
                    pct(v("peak_borrow_rate")),
                    pct(v("unwound_share"))
                );
            }
            let _ = writeln!(out, "{line}");
        }
        if self.layout.waterfall_start().is_some() {
            let (lost, restituted) = (v("exploit_loss_eth"), v("restituted_eth"));
            if lost > 0.0 || restituted > 0.0 {
                let _ = writeln!(
                    out,
                    "  Exploits: {} ETH lost ({} ETH stolen, {} of the supply minted without backing), {} ETH restituted",
                    num(lost),
                    num(v("stolen_eth")),
                    pct(v("minted_share")),
                    num(restituted)
                );
            }
            let paid = v("reserve_paid_eth");
            if self.reserve_initial_eth > 0.0 || paid > 0.0 {
                let _ = writeln!(
                    out,
                    "  Reserves: {} ETH at t = 0; paid {} ETH into the pool, hold {} ETH at the horizon{}",
                    num(self.reserve_initial_eth),
                    num(paid),
                    num(v("reserve_end_eth")),
                    if v("reserve_exhausted") > 0.0 {
                        "; a loss they cover found them empty"
                    } else {
                        ""
                    }
                );
            }
        }
        out.push('\n');
    }

    fn write_events(&self, out: &mut String) {
        /// Events listed in the summary; the rest are in events.csv.
        const LISTED: usize = 100;
        let n = self.events.len();
        if n == 0 {
            let _ = writeln!(out, "Events: none\n");
            return;
        }
        let _ = writeln!(out, "Events ({n}, in time order)");
        for e in self.events.iter().take(LISTED) {
            let mut line = format!(
                "  day {} (step {}): {} {} — {}",
                num(e.day),
                e.step,
                e.kind.as_str().replace('_', " "),
                e.name,
                e.detail
            );
            if e.slashed_eth != 0.0 {
                let _ = write!(line, "; slashed {} ETH", num(e.slashed_eth));
            }
            if e.exploit_loss_eth != 0.0 {
                let _ = write!(line, "; exploit loss {} ETH", num(e.exploit_loss_eth));
            }
            if e.reserve_paid_eth != 0.0 {
                let _ = write!(line, "; reserves paid {} ETH", num(e.reserve_paid_eth));
            }
            if e.net_loss_eth != 0.0 {
                let _ = write!(line, "; net loss {} ETH", num(e.net_loss_eth));
            }
            let _ = write!(line, "; NAV per LRT {} after it", num(e.nav_per_lrt));
            let _ = writeln!(out, "{line}");
        }
        if n > LISTED {
            let _ = writeln!(out, "  … and {} more (all in events.csv)", n - LISTED);
        }
        out.push('\n');
    }

    fn write_notable(&self, out: &mut String) {
        let _ = writeln!(out, "Notable points");
        let d = &self.digest;
        let mut lines: Vec<String> = Vec::new();
        let at = |s: &TraceStep| format!("at the end of day {} (step {})", num(s.day), s.step);
        // Lowest NAV: after an event or at a step's end.
        let low_event = self
            .events
            .iter()
            .min_by(|a, b| a.nav_per_lrt.total_cmp(&b.nav_per_lrt));
        match (&d.lowest_nav, low_event) {
            (Some(s), Some(e)) if e.nav_per_lrt < s.nav_per_lrt => lines.push(format!(
                "lowest NAV per LRT: {} right after the {} {} on day {}",
                num(e.nav_per_lrt),
                e.kind.as_str().replace('_', " "),
                e.name,
                num(e.day)
            )),
            (Some(s), _) => lines.push(format!(
                "lowest NAV per LRT: {} {}",
                num(s.nav_per_lrt),
                at(s)
            )),
            _ => {}
        }
        if let Some(e) = self
            .events
            .iter()
            .filter(|e| e.net_loss_eth > 0.0)
            .max_by(|a, b| a.net_loss_eth.total_cmp(&b.net_loss_eth))
        {
            lines.push(format!(
                "largest single loss: {} ETH, the {} {} on day {}",
                num(e.net_loss_eth),
                e.kind.as_str().replace('_', " "),
                e.name,
                num(e.day)
            ));
        }
        if let Some(s) = &d.most_slashed {
            lines.push(format!(
                "most ETH slashed in one step: {} ETH in step {} (days {} to {})",
                num(s.slashed_eth),
                s.step,
                num(s.day - self.step_days),
                num(s.day)
            ));
        }
        let red = |s: &TraceStep| s.redemption.expect("a row with [withdrawals]");
        if let Some(s) = &d.longest_queue {
            let r = red(s);
            lines.push(format!(
                "longest front-door queue: {} ETH ({} LRT) {}",
                num(r.queue_eth),
                num(r.queue_lrt),
                at(s)
            ));
        }
        if let Some(s) = &d.least_liquid {
            lines.push(format!(
                "least liquid ETH (buffer): {} ETH {}",
                num(red(s).liquid_eth),
                at(s)
            ));
        }
        if let Some(s) = &d.longest_network_queue {
            lines.push(format!(
                "longest network exit queue: {} ETH {}",
                num(red(s).network_queue_eth),
                at(s)
            ));
        }
        if let Some(s) = &d.lowest_price {
            let m = s.market.expect("a row with [market]");
            lines.push(format!(
                "lowest market price: {} ETH per LRT {} (discount {})",
                num(m.price_eth),
                at(s),
                pct(m.discount)
            ));
        }
        if let Some(last) = d.last_max_discount
            && last > 0.0
            && let Some(s) = &d.deepest_discount
        {
            lines.push(format!(
                "deepest discount at a step's low: {} in step {} (days {} to {})",
                pct(last),
                s.step,
                num(s.day - self.step_days),
                num(s.day)
            ));
        }
        if let Some(s) = &d.first_liquidation {
            lines.push(format!(
                "first liquidation: in step {} (days {} to {}); {} LRT seized by the horizon",
                s.step,
                num(s.day - self.step_days),
                num(s.day),
                num(d.last_liquidated_lrt)
            ));
        } else if d.lending {
            lines.push("no liquidation".to_string());
        }
        if let Some(s) = &d.first_bad_debt {
            lines.push(format!(
                "first bad debt written off: {} ETH {}",
                num(s.lending.expect("a row with [lending]").bad_debt_eth),
                at(s)
            ));
        }
        if let Some(s) = &d.lowest_reserves {
            lines.push(format!(
                "reserves at their lowest: {} ETH {}",
                num(s.waterfall.expect("a row with a waterfall").reserves_eth),
                at(s)
            ));
        }
        if lines.is_empty() {
            lines.push("none".to_string());
        }
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
    }
}

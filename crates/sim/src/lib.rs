//! The simulation engine of **lrtsim**: many paths of one pooled collateral.
//!
//! - [`PathKernel`] holds one path's state — every allocation pair in ETH, operator stakes,
//!   reward rates — and runs a path event by event: common shocks, the AVSs' independent
//!   faults and copula faults are drawn as event times, sorted, and applied, with rewards
//!   accrued between events. A path allocates nothing.
//! - [`Ledger`] keeps EigenLayer's accounting of the pool's stake (AVS and beacon-chain
//!   slashing factors, pro-rata withdrawals).
//! - [`Redemption`] is the front door of a scenario with `[withdrawals]`: redemption demand,
//!   the instant buffer, the protocol's FIFO queue, the EigenLayer escrow and the beacon
//!   chain's network-wide exit queue, stepped once per step, with each path's time to redeem
//!   read off its cumulative queued and paid curves ([`RedemptionOutcome`]).
//! - [`stream`] keys one Xoshiro256++ generator per path by (seed, path index); paths are
//!   run in chunks of [`CHUNK_PATHS`].
//! - [`replay`] re-simulates one path of a run — its row bit for bit — with its trace
//!   ([`trace`]): every event applied and one row per step.
//! - [`run`] spreads chunks over a rayon pool and combines them in chunk order into
//!   [`SimResults`], per-path columns named by a [`Layout`]. Same seed, same outputs, for
//!   any thread count or shard split.
//!
//! ```
//! use std::path::Path;
//! let text = r#"
//! [simulation]
//! paths = 2000
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
//! rate_per_year = 0.5
//! severity = 0.1
//! "#;
//! let model = lrtsim_scenario::load_str(text, Path::new("demo.toml"), &[])?;
//! let results = lrtsim_sim::run(&model, &lrtsim_sim::RunOptions::default(), &|_| {})?;
//! let slashed = results.column("slashed_fraction").unwrap();
//! // E[1 − 0.9^N], N ~ Poisson(0.5): 1 − e^(−0.05) ≈ 0.0488.
//! let mean = slashed.iter().sum::<f64>() / slashed.len() as f64;
//! assert!((mean - 0.0488).abs() < 0.01);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod amm;
pub mod bands;
pub mod components;
mod delegation;
pub mod exit_queue;
mod governance;
pub mod importance;
pub mod kernel;
mod leaks;
pub mod ledger;
pub mod lending;
pub mod market;
pub mod outputs;
pub mod redemption;
pub mod replayer;
pub mod runner;
pub mod stream;
pub mod trace;
pub mod waterfall;

pub use components::{ComponentReplayer, PathComponents};
pub use importance::{ResolvedTilt, resolve};
pub use kernel::{Book, PathKernel};
pub use ledger::Ledger;
pub use market::{Market, MarketOutcome};
pub use outputs::{Layout, SimResults};
pub use redemption::{Redemption, RedemptionOutcome};
pub use replayer::{Replay, ReplayError, Replayer, replay};
pub use runner::{
    ChunkOutput, ChunkSink, Collector, OperatorLoss, RunOptions, RunOutcome, SimError, chunk_count,
    chunk_paths, run, run_with,
};
pub use stream::{CHUNK_PATHS, chunk_rng, path_rng};
pub use trace::{
    EventKind, StepLending, StepMarket, StepRedemption, StepWaterfall, TraceEvent, TraceRecorder,
    TraceStep,
};

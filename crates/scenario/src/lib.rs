//! Scenario files for **lrtsim**: what can happen to a liquid restaking token's collateral.
//!
//! A scenario is a TOML file describing one LRT — its pooled collateral, operators, AVSs and
//! their EigenLayer allocations, rewards — the risk sources acting on it: common
//! (Marshall–Olkin) shocks, factor copulas, the AVSs' independent faults and beacon-chain
//! incidents ([`beacon`]), Poisson or scheduled — and, optionally, its front door: redemption
//! demand, instant buffer, protocol queue, EigenLayer escrow and the network exit queue
//! ([`withdrawal`]) — and its side door, the LRT/ETH pool and its traders ([`market`]). This
//! crate
//!
//! - defines the file format ([`spec`]), documented field by field in `docs/scenario.md`;
//! - loads it ([`load_file`], [`load_str`]) with `--set KEY=VALUE` overrides ([`overrides`]),
//!   reporting every problem with file, field path, line and column ([`ScenarioError`]);
//! - validates it ([`validate()`]) and compiles it into a [`Model`]: flat arrays plus
//!   ready-made samplers ([`SeverityDist`], [`CopulaModel`]) that the simulation crate's
//!   path kernel drives.
//!
//! ```
//! use std::path::Path;
//! let text = r#"
//! [simulation]
//! paths = 1000
//! horizon_days = 365
//! seed = 7
//! [pool]
//! collateral_eth = 64
//! [[operators]]
//! name = "op-a"
//! share = 1.0
//! allocations = { oracle = 0.5 }
//! [[avs]]
//! name = "oracle"
//! [[shocks]]
//! name = "oracle-bug"
//! rate_per_year = 0.1
//! select = { avs = ["oracle"] }
//! severity = { dist = "beta", mean = 0.2, sd = 0.1 }
//! "#;
//! let model = lrtsim_scenario::load_str(text, Path::new("demo.toml"), &["simulation.paths=500".into()])?;
//! assert_eq!(model.name, "demo");
//! assert_eq!(model.paths, 500);
//! assert_eq!(model.pairs[0].eth, 32.0);
//! assert_eq!(model.sources, ["oracle-bug", "avs_faults"]);
//! # Ok::<(), lrtsim_scenario::ScenarioError>(())
//! ```
#![deny(missing_docs)]

pub mod beacon;
pub mod copula;
pub mod error;
pub mod exploit;
pub mod importance;
pub mod load;
pub mod market;
pub mod model;
pub mod overrides;
pub mod rate;
pub mod severity;
pub mod spec;
pub mod suggest;
pub mod validate;
pub mod withdrawal;

pub use copula::{CopulaModel, Method, Periods};
pub use error::{Diagnostic, ScenarioError};
pub use load::{load_file, load_str, resolved_toml};
pub use market::MarketModel;
pub use model::{AVS_FAULTS_SOURCE, DAYS_PER_YEAR, Model};
pub use severity::{Severity, SeverityDist};
pub use spec::Scenario;
pub use validate::validate;

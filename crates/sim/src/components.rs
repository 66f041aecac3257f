//! Loss components of single paths, re-simulated for risk contributions.
//!
//! Every path has its own random stream ([`path_rng`]), so the few paths in a metric's tail
//! can be run again alone after the streaming pass — under the run's importance-sampling tilt —
//! with the kernel recording what only they need: the ETH slashed per operator
//! ([`PathKernel::record_operators`]). Their rows are the rows of the run, bit for bit; a run
//! that reports no contributions pays nothing for them.

use lrtsim_scenario::Model;

use crate::importance::{ResolvedTilt, run_kernel};
use crate::kernel::PathKernel;
use crate::replayer::ReplayError;
use crate::stream::path_rng;

/// One re-simulated path: its output row, its likelihood-ratio weight and the ETH slashed per
/// operator.
#[derive(Debug, Clone, Copy)]
pub struct PathComponents<'a> {
    /// The path's output row (see [`crate::Layout`]), identical bit for bit to its row in the
    /// run.
    pub row: &'a [f64],
    /// Its likelihood-ratio weight dP/dQ (1 for plain Monte Carlo).
    pub weight: f64,
    /// ETH slashed per operator, in the model's operator order: AVS slashing of the operator's
    /// allocations plus beacon-chain losses of its validators. Adds up to the row's
    /// `slashed_eth` to rounding.
    pub slashed_by_operator: &'a [f64],
    /// ETH slashed per allocation pair by AVSs, in the model's pair order.
    pub slashed_by_pair: &'a [f64],
    /// Beacon-chain ETH lost per operator (with the operator's pairs, its slashed ETH).
    pub beacon_by_operator: &'a [f64],
    /// LRT outstanding at the horizon, in t = 0 ETH units (the t = 0 supply changed by
    /// redemptions and unbacked mints).
    pub supply_lrt: f64,
}

/// Re-simulates single paths of one run with their components recorded.
pub struct ComponentReplayer<'m> {
    model: &'m Model,
    kernel: PathKernel<'m>,
    row: Vec<f64>,
}

impl<'m> ComponentReplayer<'m> {
    /// A replayer for paths of `model` drawn under `tilt` (None: plain Monte Carlo) — the
    /// tilt of the run ([`crate::RunOutcome::tilt`]).
    pub fn new(model: &'m Model, tilt: Option<&ResolvedTilt>) -> Self {
        let mut kernel = run_kernel(model, tilt);
        kernel.record_operators();
        let width = kernel.layout().len();
        ComponentReplayer {
            model,
            kernel,
            row: vec![0.0; width],
        }
    }

    /// Re-simulates path `path` from its own stream.
    pub fn run(&mut self, path: u64) -> Result<PathComponents<'_>, ReplayError> {
        let m = self.model;
        if path >= m.paths {
            return Err(ReplayError::PathOutOfRange {
                path,
                paths: m.paths,
            });
        }
        self.kernel
            .run_path(&mut path_rng(m.seed, path), &mut self.row);
        Ok(PathComponents {
            row: &self.row,
            weight: if self.kernel.is_weighted() {
                self.kernel.weight()
            } else {
                1.0
            },
            slashed_by_operator: self
                .kernel
                .slashed_by_operator()
                .expect("recording was switched on in new"),
            slashed_by_pair: self.kernel.slashed_by_pair(),
            beacon_by_operator: self.kernel.beacon_by_operator(),
            supply_lrt: self.kernel.supply_lrt(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::outputs::Layout;

    const TEXT: &str = r#"
[simulation]
paths = 300
horizon_days = 365
seed = 7
[pool]
collateral_eth = 1000
[[operators]]
name = "a"
share = 0.5
attributes = { client = "x" }
allocations = { s = 0.5, t = 0.3 }
[[operators]]
name = "b"
share = 0.5
attributes = { client = "y" }
allocations = { s = 0.2 }
[[avs]]
name = "s"
fault_rate_per_year = 0.5
fault_severity = 0.2
[[avs]]
name = "t"
[[shocks]]
name = "bug"
rate_per_year = 1
severity = 0.1
select = { avs = ["t"] }
[[beacon_incidents]]
name = "ds"
kind = "double_sign"
rate_per_year = 0.5
validator_share = 0.5
"#;

    #[test]
    fn rows_match_the_run_and_operators_add_up_to_the_slashed_eth() {
        let model = lrtsim_scenario::load_str(TEXT, Path::new("c.toml"), &[]).unwrap();
        let results = crate::run(&model, &crate::RunOptions::default(), &|_| {}).unwrap();
        let mut r = ComponentReplayer::new(&model, results.tilt.as_ref());
        let mut hit = 0;
        for path in 0..model.paths {
            let c = r.run(path).unwrap();
            for (col, v) in results.columns.iter().zip(c.row) {
                assert_eq!(col[path as usize].to_bits(), v.to_bits());
            }
            let slashed = c.row[Layout::SLASHED_ETH];
            let by_op: f64 = c.slashed_by_operator.iter().sum();
            assert!((by_op - slashed).abs() <= 1e-12 * slashed.max(1.0));
            // Each operator's loss is its pairs' AVS slashing plus its beacon-chain losses.
            for (o, op) in model.operators.iter().enumerate() {
                let pairs: f64 = c.slashed_by_pair[op.first_pair as usize..op.end_pair as usize]
                    .iter()
                    .sum();
                let parts = pairs + c.beacon_by_operator[o];
                let whole = c.slashed_by_operator[o];
                assert!(
                    (parts - whole).abs() <= 1e-12 * whole.max(1.0),
                    "operator {o}"
                );
            }
            let avs = c.row[Layout::AVS_SLASHED_ETH];
            let by_pair: f64 = c.slashed_by_pair.iter().sum();
            assert!((by_pair - avs).abs() <= 1e-12 * avs.max(1.0));
            hit += usize::from(slashed > 0.0);
        }
        assert!(hit > 30, "the scenario slashes on many paths ({hit})");
        assert!(matches!(
            r.run(model.paths),
            Err(ReplayError::PathOutOfRange { .. })
        ));
    }
}

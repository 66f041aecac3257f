//! Risk contributions of a run (issue 18): which sources, AVSs, operators and operator
//! attributes carry the tail of `slashed_eth`.
//!
//! After the streaming pass (or a shard merge) the `slashed_eth` accumulator holds the exact
//! tail with path ids. The paths at or above the lowest exact level's VaR interval are run
//! again alone from their own streams ([`lrtsim_sim::ComponentReplayer`], under the run's
//! tilt), each checked to give the run's `slashed_eth` and weight bit for bit, and their
//! components go, in ascending path id, into an [`EulerEstimator`]. Paths of zero loss are not
//! re-run: every component of theirs is 0. Re-simulation runs in fixed batches of paths, so
//! memory stays bounded and the result does not depend on the thread count or the shards.

use anyhow::{Result, bail};
use lrtsim_report::{
    Decomposition, DecompositionContributions, EulerEstimator, MetricAccumulator, MetricStats,
};
use lrtsim_scenario::Model;
use lrtsim_sim::{ComponentReplayer, Layout, RunOutcome};
use rayon::prelude::*;

/// The metric decomposed.
pub const METRIC: &str = "slashed_eth";

/// Paths re-simulated per batch (their components are held until the batch is added).
const BATCH_PATHS: usize = 8192;
/// Paths one worker re-simulates with one kernel.
const WORKER_PATHS: usize = 64;

/// Where the components of a decomposition come from, per path.
#[derive(Debug, Clone)]
enum Source {
    /// A column of the path's row.
    Column(usize),
    /// The sum of some operators' slashed ETH (in operator order).
    Operators(Vec<usize>),
}

/// A decomposition with, per component, where it comes from and its standalone metric.
struct Plan {
    decomposition: Decomposition,
    sources: Vec<Source>,
    standalone: Vec<Option<String>>,
}

/// The decompositions of `slashed_eth` for `model`: by loss source; by AVS (with the
/// beacon-chain losses as their own components when the scenario has beacon incidents); by
/// operator; and by each operator attribute (operators without it under `(none)`).
fn plans(model: &Model, layout: &Layout) -> Vec<Plan> {
    let mut out = Vec::new();
    let source_names: Vec<String> = model.sources.clone();
    out.push(Plan {
        decomposition: Decomposition {
            name: "source".into(),
            components: source_names.clone(),
        },
        sources: (0..source_names.len())
            .map(|k| Source::Column(layout.source_start() + k))
            .collect(),
        standalone: source_names
            .iter()
            .map(|s| Some(format!("slashed_eth.source.{s}")))
            .collect(),
    });
    let mut avs = Plan {
        decomposition: Decomposition {
            name: "avs".into(),
            components: model.avs_names.clone(),
        },
        sources: (0..model.avs_names.len())
            .map(|k| Source::Column(layout.avs_start() + k))
            .collect(),
        standalone: model
            .avs_names
            .iter()
            .map(|a| Some(format!("slashed_eth.avs.{a}")))
            .collect(),
    };
    if !model.incidents.is_empty() {
        for (name, col) in [
            ("beacon_initial", Layout::BEACON_INITIAL_ETH),
            ("beacon_correlation", Layout::BEACON_CORRELATION_ETH),
            ("inactivity_leak", Layout::INACTIVITY_LEAK_ETH),
        ] {
            avs.decomposition.components.push(format!("({name})"));
            avs.sources.push(Source::Column(col));
            avs.standalone.push(Some(format!("{name}_eth")));
        }
    }
    out.push(avs);
    out.push(Plan {
        decomposition: Decomposition {
            name: "operator".into(),
            components: model.operators.iter().map(|o| o.name.clone()).collect(),
        },
        sources: (0..model.operators.len())
            .map(|o| Source::Operators(vec![o]))
            .collect(),
        standalone: vec![None; model.operators.len()],
    });
    let ops = &model.scenario.operators;
    let keys: std::collections::BTreeSet<&String> =
        ops.iter().flat_map(|o| o.attributes.keys()).collect();
    for key in keys {
        let mut values: Vec<String> = ops
            .iter()
            .map(|o| {
                o.attributes
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| "(none)".into())
            })
            .collect();
        let of_operator = values.clone();
        values.sort();
        values.dedup();
        let sources = values
            .iter()
            .map(|v| Source::Operators((0..ops.len()).filter(|&o| &of_operator[o] == v).collect()))
            .collect();
        out.push(Plan {
            decomposition: Decomposition {
                name: format!("attribute.{key}"),
                components: values.clone(),
            },
            sources,
            standalone: vec![None; values.len()],
        });
    }
    out
}

/// The risk contributions of `slashed_eth` at every exact level of `stats` (its statistics),
/// from its accumulator `acc`; `all_stats` gives the components' standalone ES. Runs on the
/// current rayon pool.
pub fn contributions(
    model: &Model,
    outcome: &RunOutcome,
    acc: &MetricAccumulator,
    stats: &MetricStats,
    all_stats: &[MetricStats],
) -> Result<Vec<DecompositionContributions>> {
    let layout = &outcome.layout;
    let plans = plans(model, layout);
    let sources: Vec<&Source> = plans.iter().flat_map(|p| &p.sources).collect();
    let mut est = EulerEstimator::new(
        METRIC,
        acc.paths(),
        &stats.levels,
        plans.iter().map(|p| p.decomposition.clone()).collect(),
        true,
    );
    let Some(floor) = est.floor() else {
        return Ok(Vec::new());
    };
    let (mut tail, complete) = acc.tail_at_least(floor);
    if !complete {
        est.ties_incomplete_at(tail.last().map_or(floor, |t| t.value));
    }
    tail.sort_unstable_by_key(|t| t.path);
    let width = est.width();
    let tilt = outcome.tilt.as_ref();
    for batch in tail.chunks(BATCH_PATHS) {
        let need: Vec<usize> = (0..batch.len())
            .filter(|&i| est.needs_components(batch[i].value))
            .collect();
        let computed: Vec<Result<Vec<f64>>> = need
            .par_chunks(WORKER_PATHS)
            .flat_map_iter(|idx| {
                let mut replayer = ComponentReplayer::new(model, tilt);
                idx.iter()
                    .map(|&i| {
                        let t = batch[i];
                        let c = replayer.run(t.path)?;
                        let slashed = c.row[Layout::SLASHED_ETH];
                        if slashed.to_bits() != t.value.to_bits()
                            || (tilt.is_some() && c.weight.to_bits() != t.weight.to_bits())
                        {
                            bail!(
                                "{}: path {} re-simulated for the risk contributions gives slashed_eth {slashed} (weight {}), but the run recorded {} (weight {}): a bug, please report it with the scenario",
                                model.name,
                                t.path,
                                c.weight,
                                t.value,
                                t.weight
                            );
                        }
                        Ok(sources
                            .iter()
                            .map(|s| match s {
                                Source::Column(col) => c.row[*col],
                                Source::Operators(ops) => {
                                    ops.iter().map(|&o| c.slashed_by_operator[o]).sum()
                                }
                            })
                            .collect::<Vec<f64>>())
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut computed = computed.into_iter();
        let mut next = need.iter().peekable();
        for (i, t) in batch.iter().enumerate() {
            if next.peek() == Some(&&i) {
                next.next();
                let x = computed.next().expect("one result per path re-run")?;
                debug_assert_eq!(x.len(), width);
                est.add(t.value, t.weight, Some(&x));
            } else {
                est.add(t.value, t.weight, None);
            }
        }
    }
    let standalone = |d: usize, i: usize, level: f64| {
        let name = plans[d].standalone[i].as_deref()?;
        let m = all_stats.iter().find(|m| m.name == name)?;
        m.level(level).filter(|l| l.exact).map(|l| l.es)
    };
    Ok(est.finish(standalone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_decompositions_cover_every_operator_once() {
        let model =
            lrtsim_scenario::load_file(std::path::Path::new("scenarios/baseline.toml"), &[])
                .expect("the baseline loads");
        let layout = Layout::new(&model);
        let plans = plans(&model, &layout);
        let names: Vec<&str> = plans
            .iter()
            .map(|p| p.decomposition.name.as_str())
            .collect();
        assert_eq!(&names[..3], ["source", "avs", "operator"]);
        assert!(names.contains(&"attribute.client"));
        for p in &plans[3..] {
            let mut seen = vec![0; model.operators.len()];
            for s in &p.sources {
                let Source::Operators(ops) = s else {
                    panic!("attributes aggregate operators")
                };
                for &o in ops {
                    seen[o] += 1;
                }
            }
            assert!(seen.iter().all(|&k| k == 1), "{}", p.decomposition.name);
        }
    }
}

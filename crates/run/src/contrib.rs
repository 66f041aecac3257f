//! Risk contributions of a run (issue 18): which sources, AVSs, operators and operator
//! attributes carry the tail of `slashed_eth`, and which kinds of loss and gain that of
//! `nav_loss`.
//!
//! After the streaming pass (or a shard merge) each metric's accumulator holds its exact tail
//! with path ids. The paths at or above the lowest exact level's VaR interval are run again
//! alone from their own streams ([`lrtsim_sim::ComponentReplayer`], under the run's tilt),
//! each checked to give the run's value and weight bit for bit, and their components go, in
//! ascending path id, into an [`EulerEstimator`]. Paths of zero `slashed_eth` are not re-run:
//! every component of theirs is 0. Re-simulation runs in fixed batches of paths, so
//! memory stays bounded and the result does not depend on the thread count or the shards.

use crate::error::{Result, bail};
use lrtsim_report::{
    Decomposition, DecompositionContributions, EulerEstimator, MetricAccumulator, MetricStats,
    OwnTail, ReportError, TailPath,
};
use lrtsim_scenario::Model;
use lrtsim_sim::{ComponentReplayer, Layout, OperatorLoss, PathComponents, RunOutcome};
use rayon::prelude::*;
use std::sync::Mutex;

/// The metrics decomposed.
pub const SLASHED: &str = "slashed_eth";
/// See [`SLASHED`].
pub const NAV_LOSS: &str = "nav_loss";

/// Paths re-simulated per batch (their components are held until the batch is added).
const BATCH_PATHS: usize = 8192;
/// Paths one worker re-simulates with one kernel.
const WORKER_PATHS: usize = 64;

/// One component's value on a path, read from its re-simulated row and operators.
#[derive(Debug, Clone, PartialEq)]
enum Term {
    /// A column of the row.
    Column(usize),
    /// Minus a column of the row.
    Negated(usize),
    /// The sum of some operators' slashed ETH (in operator order).
    Operators(Vec<usize>),
    /// LRT minted without backing, in t = 0 ETH units: the column `minted_share` times the
    /// t = 0 supply.
    Minted(usize),
    /// What redeemers took beyond par: ETH paid to them plus the instant-exit fees (the
    /// columns `redeemed_eth` and `exit_fees_eth`), less the LRT they handed in, in t = 0 ETH
    /// units (the t = 0 supply plus the mints, column `minted_share`, less the supply at the
    /// horizon).
    Redemptions {
        redeemed: usize,
        fees: usize,
        minted: Option<usize>,
    },
    /// What the reserves hold at the horizon (the column `reserve_end_eth`) less what they held
    /// at t = 0: minus the ETH they put into the pool, net of the rewards and restitutions they
    /// took.
    ReservesNet(usize),
    /// A column times a constant (an LRT's NAV loss times its collateral: its holders' loss
    /// in ETH).
    Scaled(usize, f64),
    /// An LRT's share of some pairs' AVS slashing: Σ share × the pair's slashed ETH (pair
    /// index, the LRT's share of the pair's operator), in pair order.
    LrtPairs(Vec<(usize, f64)>),
    /// An LRT's share of some operators' beacon-chain losses, Σ share × the operator's
    /// beacon-chain ETH lost (operator index, share), in operator order.
    LrtBeacon(Vec<(usize, f64)>),
    /// An LRT's share of one operator's slashed ETH (operator index, share).
    LrtOperator(usize, f64),
}

/// What a term reads of a re-simulated path.
#[derive(Debug, Clone, Copy)]
struct PathView<'a> {
    row: &'a [f64],
    operators: &'a [f64],
    pairs: &'a [f64],
    beacon: &'a [f64],
    /// LRT outstanding at the horizon, t = 0 ETH units.
    supply_lrt: f64,
}

impl<'a> PathView<'a> {
    fn of(c: &PathComponents<'a>) -> Self {
        PathView {
            row: c.row,
            operators: c.slashed_by_operator,
            pairs: c.slashed_by_pair,
            beacon: c.beacon_by_operator,
            supply_lrt: c.supply_lrt,
        }
    }
}

impl Term {
    fn eval(&self, model: &Model, p: PathView<'_>) -> f64 {
        let row = p.row;
        match self {
            Term::Column(c) => row[*c],
            Term::Negated(c) => -row[*c],
            Term::Operators(ops) => ops.iter().map(|&o| p.operators[o]).sum(),
            Term::Minted(c) => row[*c] * model.supply0_lrt(),
            Term::Redemptions {
                redeemed,
                fees,
                minted,
            } => {
                let minted = minted.map_or(0.0, |c| row[c] * model.supply0_lrt());
                let burned = model.supply0_lrt() + minted - p.supply_lrt;
                row[*redeemed] + row[*fees] - burned
            }
            Term::ReservesNet(c) => {
                row[*c] - model.reserves.iter().map(|r| r.initial_eth).sum::<f64>()
            }
            Term::Scaled(c, factor) => factor * row[*c],
            Term::LrtPairs(pairs) => pairs.iter().map(|&(q, s)| s * p.pairs[q]).sum(),
            Term::LrtBeacon(ops) => ops.iter().map(|&(o, s)| s * p.beacon[o]).sum(),
            Term::LrtOperator(o, s) => s * p.operators[*o],
        }
    }
}

/// A decomposition with, per component, its term and its standalone metric.
struct Plan {
    decomposition: Decomposition,
    terms: Vec<Term>,
    standalone: Vec<Option<String>>,
}

impl Plan {
    fn new(name: &str) -> Self {
        Plan {
            decomposition: Decomposition {
                name: name.to_owned(),
                components: Vec::new(),
            },
            terms: Vec::new(),
            standalone: Vec::new(),
        }
    }

    fn push(&mut self, component: String, term: Term, standalone: Option<String>) {
        self.decomposition.components.push(component);
        self.terms.push(term);
        self.standalone.push(standalone);
    }
}

/// The decompositions of `slashed_eth` for `model`: by loss source; by AVS (with the
/// beacon-chain losses as their own components when the scenario has beacon incidents); by
/// operator; and by each operator attribute (operators without it under `(none)`).
/// Decompositions without components (no AVS) are left out.
fn slashed_plans(model: &Model, layout: &Layout) -> Vec<Plan> {
    let mut out = Vec::new();
    let mut source = Plan::new("source");
    for (k, s) in model.sources.iter().enumerate() {
        source.push(
            s.clone(),
            Term::Column(layout.source_start() + k),
            Some(format!("slashed_eth.source.{s}")),
        );
    }
    out.push(source);
    let mut avs = Plan::new("avs");
    for (k, a) in model.avs_names.iter().enumerate() {
        avs.push(
            a.clone(),
            Term::Column(layout.avs_start() + k),
            Some(format!("slashed_eth.avs.{a}")),
        );
    }
    if !model.incidents.is_empty() {
        for (name, col) in [
            ("beacon_initial", Layout::BEACON_INITIAL_ETH),
            ("beacon_correlation", Layout::BEACON_CORRELATION_ETH),
            ("inactivity_leak", Layout::INACTIVITY_LEAK_ETH),
        ] {
            avs.push(
                format!("({name})"),
                Term::Column(col),
                Some(format!("{name}_eth")),
            );
        }
    }
    out.push(avs);
    let mut operator = Plan::new("operator");
    for (o, op) in model.operators.iter().enumerate() {
        operator.push(op.name.clone(), Term::Operators(vec![o]), None);
    }
    out.push(operator);
    let ops = &model.scenario.operators;
    let keys: std::collections::BTreeSet<&String> =
        ops.iter().flat_map(|o| o.attributes.keys()).collect();
    for key in keys {
        let of_operator: Vec<String> = ops
            .iter()
            .map(|o| {
                o.attributes
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| "(none)".into())
            })
            .collect();
        let mut values = of_operator.clone();
        values.sort();
        values.dedup();
        let mut plan = Plan::new(&format!("attribute.{key}"));
        for v in values {
            let members = (0..ops.len()).filter(|&o| of_operator[o] == v).collect();
            plan.push(v, Term::Operators(members), None);
        }
        out.push(plan);
    }
    out.retain(|p| !p.terms.is_empty());
    out
}

/// The names of the decompositions of `slashed_eth` for `model`, in report order.
pub fn slashed_decompositions(model: &Model) -> Vec<String> {
    slashed_plans(model, &Layout::new(model))
        .into_iter()
        .map(|p| p.decomposition.name)
        .collect()
}

/// The components of the decomposition `name` of `slashed_eth` for `model` (None if it has no
/// such decomposition).
pub fn slashed_components(model: &Model, name: &str) -> Option<Vec<String>> {
    slashed_plans(model, &Layout::new(model))
        .into_iter()
        .find(|p| p.decomposition.name == name)
        .map(|p| p.decomposition.components)
}

/// What the pool lost at par besides slashing, in ETH, as (component, term): exploits
/// (stolen ETH, unbacked mints, restitutions back), the reserves' net payments, the rewards
/// (negative: they add to the holders) and, with `[withdrawals]`, what redeemers took beyond
/// par.
fn nav_extra_terms(model: &Model, layout: &Layout) -> Vec<(&'static str, Term)> {
    let mut out = Vec::new();
    let mut minted = None;
    if let Some(w) = layout.waterfall_start() {
        let at = |name: &str| {
            w + Layout::WATERFALL
                .iter()
                .position(|n| *n == name)
                .expect("a waterfall column")
        };
        if !model.exploits.is_empty() {
            out.push(("exploit_stolen", Term::Column(at("stolen_eth"))));
            out.push(("unbacked_mint", Term::Minted(at("minted_share"))));
            minted = Some(at("minted_share"));
            out.push(("restitution", Term::Negated(at("restituted_eth"))));
        }
        if !model.reserves.is_empty() {
            out.push(("reserves", Term::ReservesNet(at("reserve_end_eth"))));
        }
    }
    out.push(("rewards", Term::Negated(Layout::REWARDS_ETH)));
    if model.withdrawals.is_some() {
        let col = |name: &str| layout.index(name).expect("a redemption column");
        out.push((
            "redemptions",
            Term::Redemptions {
                redeemed: col("redeemed_eth"),
                fees: col("exit_fees_eth"),
                minted,
            },
        ));
    }
    out
}

/// The decompositions of `nav_loss` for `model`: by kind, then every decomposition of
/// `slashed_eth` with the other kinds as components in parentheses. Each component is what
/// it took from (or, negative, gave) the pool at par, in ETH, divided by the LRT supply at
/// the horizon (t = 0 ETH units: the t = 0 supply changed by unbacked mints and
/// redemptions), so that they add up to `nav_loss` (docs/model.md §20).
fn nav_plans(model: &Model, layout: &Layout) -> Vec<Plan> {
    let extra = nav_extra_terms(model, layout);
    let mut kind = Plan::new("kind");
    kind.push(
        "avs_slashing".into(),
        Term::Column(Layout::AVS_SLASHED_ETH),
        None,
    );
    if !model.incidents.is_empty() {
        for (name, col) in [
            ("beacon_initial", Layout::BEACON_INITIAL_ETH),
            ("beacon_correlation", Layout::BEACON_CORRELATION_ETH),
            ("inactivity_leak", Layout::INACTIVITY_LEAK_ETH),
        ] {
            kind.push(name.into(), Term::Column(col), None);
        }
    }
    for (name, term) in &extra {
        kind.push((*name).into(), term.clone(), None);
    }
    let mut out = vec![kind];
    for mut p in slashed_plans(model, layout) {
        p.standalone.fill(None);
        for (name, term) in &extra {
            p.push(format!("({name})"), term.clone(), None);
        }
        out.push(p);
    }
    out
}

/// The own tails of the components of `slashed_eth` that are not metrics of the run — each
/// operator and each value of each operator attribute — kept in the streaming pass from the
/// ETH slashed per operator of every path ([`lrtsim_sim::ChunkSink::wants_operators`]), for
/// their standalone ES. Merges are exact and order-independent, and the shards of a run carry
/// them ([`OwnTails::write_to`]). Each tail has its own lock, so that worker threads adding
/// chunks rarely wait for each other.
pub struct OwnTails {
    /// (decomposition, component) of each tail.
    names: Vec<(String, String)>,
    /// Per operator, the tails its slashed ETH adds to, ascending.
    of_operator: Vec<Vec<u32>>,
    tails: Vec<Mutex<OwnTail>>,
}

/// Locks a tail (a worker that panicked while holding it aborts the run).
fn held(t: &Mutex<OwnTail>) -> std::sync::MutexGuard<'_, OwnTail> {
    t.lock().expect("no worker panics while adding to a tail")
}

impl OwnTails {
    /// The (decomposition, component, operators) of the tails `model` has, in report order.
    fn plan(model: &Model) -> Vec<(String, String, Vec<usize>)> {
        let mut out = Vec::new();
        for p in slashed_plans(model, &Layout::new(model)) {
            let name = &p.decomposition.name;
            if name != "operator" && !name.starts_with("attribute.") {
                continue;
            }
            for (c, t) in p.decomposition.components.iter().zip(&p.terms) {
                if let Term::Operators(ops) = t {
                    out.push((name.clone(), c.clone(), ops.clone()));
                }
            }
        }
        out
    }

    /// How many tails `model` has (operators and attribute values).
    pub fn count(model: &Model) -> usize {
        Self::plan(model).len()
    }

    /// Empty tails for `model`, each of capacity `capacity`
    /// ([`lrtsim_report::own_tail_capacity`]), weighted or not.
    pub fn new(model: &Model, capacity: usize, weighted: bool) -> Self {
        let plan = Self::plan(model);
        let mut of_operator = vec![Vec::new(); model.operators.len()];
        for (k, (_, _, ops)) in plan.iter().enumerate() {
            for &o in ops {
                of_operator[o].push(k as u32);
            }
        }
        OwnTails {
            names: plan
                .iter()
                .map(|(d, c, _)| (d.clone(), c.clone()))
                .collect(),
            of_operator,
            tails: (0..plan.len())
                .map(|_| Mutex::new(OwnTail::new(capacity, weighted)))
                .collect(),
        }
    }

    /// Adds a chunk's ETH slashed per operator (by path, then operator, ascending), with the
    /// weights of the chunk's paths (from `first_path` on) when weighted. Each tail's value on
    /// a path is the sum of its operators' in operator order, the bits of the re-simulated
    /// components' operator terms. The values are gathered per tail first, then each
    /// tail is locked once, from a tail that depends on the chunk (so that workers
    /// start apart).
    pub fn add_chunk(
        &self,
        chunk: u64,
        losses: &[OperatorLoss],
        first_path: u64,
        weights: Option<&[f64]>,
    ) {
        let k_tails = self.tails.len();
        if k_tails == 0 {
            return;
        }
        thread_local! {
            /// Per tail, its (path, value, weight) in path order; per tail, its value on the
            /// current path; the tails the current path touched. Reused from chunk to chunk.
            static SCRATCH: std::cell::RefCell<OwnScratch> = std::cell::RefCell::default();
        }
        SCRATCH.with_borrow_mut(|s| {
            s.values.resize_with(k_tails, Vec::new);
            s.scratch.resize(k_tails, 0.0);
            let OwnScratch {
                values,
                scratch,
                touched,
            } = s;
            let mut at = 0;
            while at < losses.len() {
                let path = losses[at].path;
                while at < losses.len() && losses[at].path == path {
                    let l = losses[at];
                    for &k in &self.of_operator[l.operator as usize] {
                        let v = &mut scratch[k as usize];
                        if *v == 0.0 {
                            touched.push(k);
                        }
                        *v += l.eth;
                    }
                    at += 1;
                }
                let w = weights.map_or(1.0, |w| w[(path - first_path) as usize]);
                for &k in touched.iter() {
                    let v = std::mem::take(&mut scratch[k as usize]);
                    values[k as usize].push((path, v, w));
                }
                touched.clear();
            }
            let first = crate::run::rotation_start(chunk, k_tails);
            let (values, tails) = (&mut *values, &self.tails);
            let with_values: Vec<usize> = (0..k_tails)
                .map(|i| (first + i) % k_tails)
                .filter(|&k| !values[k].is_empty())
                .collect();
            crate::run::visit_rotating(
                with_values.len(),
                0,
                |i| &tails[with_values[i]],
                |i, t| {
                    let k = with_values[i];
                    for &(path, v, w) in &values[k] {
                        t.offer(path, v, w);
                    }
                    values[k].clear();
                },
            );
        });
    }

    /// The capacity of each tail (None without tails).
    pub fn capacity(&self) -> Option<usize> {
        self.tails.first().map(|t| held(t).capacity())
    }

    /// Adds `other`'s paths (tails of the same model and capacity).
    pub fn merge(&mut self, other: &OwnTails) {
        for (a, b) in self.tails.iter_mut().zip(&other.tails) {
            held(a).merge(&held(b));
        }
    }

    /// Every tail's standalone ES over `paths` paths at each of `levels` (in parallel on the
    /// current rayon pool).
    pub fn standalone(&self, paths: u64, levels: &[f64]) -> OwnEs<'_> {
        OwnEs {
            names: &self.names,
            levels: levels.to_vec(),
            es: self
                .tails
                .par_iter()
                .map(|t| held(t).es_levels(paths, levels))
                .collect(),
        }
    }

    /// Writes every tail, in order ([`OwnTail::write_to`]).
    pub fn write_to(&self, out: &mut Vec<u8>) -> std::io::Result<()> {
        for t in &self.tails {
            held(t).write_to(out)?;
        }
        Ok(())
    }

    /// Reads what [`OwnTails::write_to`] wrote for `model`, checking each tail's capacity and
    /// weighting against `capacity` and `weighted`.
    pub fn read_from(
        model: &Model,
        capacity: usize,
        weighted: bool,
        r: &mut impl std::io::Read,
    ) -> Result<Self, ReportError> {
        let mut own = OwnTails::new(model, capacity, weighted);
        for t in own.tails.iter_mut() {
            let read = OwnTail::read_from(r)?;
            if read.capacity() != capacity || read.is_weighted() != weighted {
                return Err(ReportError::Corrupt {
                    what: format!(
                        "OwnTail: capacity {} (weighted {}), the run's is {capacity} (weighted {weighted})",
                        read.capacity(),
                        read.is_weighted()
                    ),
                });
            }
            *t = Mutex::new(read);
        }
        Ok(own)
    }
}

/// [`OwnTails::add_chunk`]'s buffers, one set per thread.
#[derive(Default)]
struct OwnScratch {
    values: Vec<Vec<(u64, f64, f64)>>,
    scratch: Vec<f64>,
    touched: Vec<u32>,
}

/// The standalone ES of [`OwnTails`] at some levels.
pub struct OwnEs<'a> {
    names: &'a [(String, String)],
    levels: Vec<f64>,
    /// Per tail, per level.
    es: Vec<Vec<Option<f64>>>,
}

impl OwnEs<'_> {
    /// The standalone ES at level `alpha` of component `component` of decomposition
    /// `decomposition`; None if it has no tail, the level was not computed, or the tail lacks
    /// it.
    pub fn get(&self, decomposition: &str, component: &str, alpha: f64) -> Option<f64> {
        let k = self
            .names
            .iter()
            .position(|(d, c)| d == decomposition && c == component)?;
        let l = self.levels.iter().position(|&a| a == alpha)?;
        self.es[k][l]
    }
}

/// How one metric is decomposed.
struct MetricPlan {
    metric: String,
    /// The metric's column (unless `nav`).
    column: usize,
    plans: Vec<Plan>,
    /// Every component ≥ 0 on every path.
    non_negative: bool,
    /// `nav_loss`: the terms are ETH, divided per path by the supply at the horizon.
    nav: bool,
    /// Every plan's terms, one after the other, with a single operator's as
    /// [`Flat::Operator`].
    flat: Vec<Flat>,
}

/// A [`Term`] as [`MetricPlan::components_into`] evaluates it.
enum Flat {
    /// One operator's slashed ETH: a one-operator [`Term::Operators`] without the sum (the
    /// same value: operators' slashed ETH is +0 or positive, which a sum of one keeps).
    Operator(usize),
    /// Any other term.
    Term(Term),
}

impl MetricPlan {
    fn new(metric: &str, column: usize, plans: Vec<Plan>, non_negative: bool, nav: bool) -> Self {
        let flat = plans
            .iter()
            .flat_map(|p| &p.terms)
            .map(|t| match t {
                Term::Operators(ops) if ops.len() == 1 => Flat::Operator(ops[0]),
                t => Flat::Term(t.clone()),
            })
            .collect();
        MetricPlan {
            metric: metric.to_owned(),
            column,
            plans,
            non_negative,
            nav,
            flat,
        }
    }
}

impl MetricPlan {
    /// The metric's value on a re-simulated row (as the run's accumulator received it).
    fn value(&self, row: &[f64]) -> f64 {
        if self.nav {
            -row[Layout::NAV_RETURN]
        } else {
            row[self.column]
        }
    }

    /// The number of components, all decompositions together.
    fn width(&self) -> usize {
        self.plans.iter().map(|p| p.terms.len()).sum()
    }

    /// The components of a path, all decompositions one after the other.
    #[cfg(test)]
    fn components(&self, model: &Model, path: PathView<'_>) -> Vec<f64> {
        let mut out = vec![0.0; self.width()];
        self.components_into(model, path, &mut out);
        out
    }

    /// [`components`](Self::components) into `out` (length [`width`](Self::width)).
    fn components_into(&self, model: &Model, path: PathView<'_>, out: &mut [f64]) {
        let eval = |t: &Flat| match t {
            Flat::Operator(o) => path.operators[*o],
            Flat::Term(t) => t.eval(model, path),
        };
        debug_assert_eq!(out.len(), self.width());
        debug_assert_eq!(self.flat.len(), self.width());
        if !self.nav {
            for (o, t) in out.iter_mut().zip(&self.flat) {
                *o = eval(t);
            }
        } else if path.supply_lrt <= 0.0 {
            // Everyone redeemed: the front door keeps the NAV at 1, nothing is lost.
            out.fill(0.0);
        } else {
            for (o, t) in out.iter_mut().zip(&self.flat) {
                *o = eval(t) / path.supply_lrt;
            }
        }
    }
}

/// The decomposed metrics of `model`: `slashed_eth` and `nav_loss`, and for a sector
/// `sector_slashed_eth` by LRT.
fn metric_plans(model: &Model, layout: &Layout) -> Vec<MetricPlan> {
    let mut out = vec![
        MetricPlan::new(
            SLASHED,
            Layout::SLASHED_ETH,
            slashed_plans(model, layout),
            true,
            false,
        ),
        MetricPlan::new(
            NAV_LOSS,
            Layout::NAV_RETURN,
            nav_plans(model, layout),
            false,
            true,
        ),
    ];
    if let Some(start) = layout.lrt_start() {
        // The LRTs' holders' losses add up to the sector's on every path (in LRT order, as
        // the kernel sums them).
        let mut lrt = Plan::new("lrt");
        for (k, l) in model.lrts.iter().enumerate() {
            lrt.push(
                l.name.clone(),
                Term::Column(start + 1 + k),
                Some(format!("slashed_eth.lrt.{}", l.name)),
            );
        }
        out.push(MetricPlan::new(
            Layout::SECTOR_SLASHED_ETH,
            start,
            vec![lrt],
            true,
            false,
        ));
        // Each LRT's holders' loss (its t = 0 supply — collateral and buffer — × its NAV loss)
        // likewise adds up to the sector's.
        let n = model.lrts.len();
        let mut holders = Plan::new("lrt");
        for (k, l) in model.lrts.iter().enumerate() {
            holders.push(
                l.name.clone(),
                Term::Scaled(start + 1 + 2 * n + k, l.supply0_lrt()),
                None,
            );
        }
        let column = layout
            .index(Layout::SECTOR_HOLDERS_LOSS_ETH)
            .expect("sector scenarios have the holders' loss");
        out.push(MetricPlan::new(
            Layout::SECTOR_HOLDERS_LOSS_ETH,
            column,
            vec![holders],
            false,
            false,
        ));
        // Each LRT's slashed ETH by AVS (its shares of its operators' allocations' slashing,
        // then of their beacon-chain losses) and by operator — while its shares are fixed:
        // a redelegation changes them mid-path.
        let fixed_shares = model.redelegations.is_empty();
        for (k, l) in model.lrts.iter().enumerate().filter(|_| fixed_shares) {
            out.push(MetricPlan::new(
                &format!("slashed_eth.lrt.{}", l.name),
                start + 1 + k,
                lrt_plans(model, k as u32),
                true,
                false,
            ));
        }
    }
    out
}

/// The decompositions of LRT `l`'s slashed ETH (`slashed_eth.lrt.<name>`): by AVS, with the
/// beacon chain as one component when the scenario has beacon incidents, and by operator —
/// over the operators it delegates to, each term its share of theirs.
fn lrt_plans(model: &Model, l: u32) -> Vec<Plan> {
    let share_of = |o: usize| {
        model.operators[o]
            .lrt_shares
            .iter()
            .find(|(k, _)| *k == l)
            .map(|&(_, s)| s)
    };
    let mut avs = Plan::new("avs");
    for (a, name) in model.avs_names.iter().enumerate() {
        let pairs: Vec<(usize, f64)> = model
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| p.avs as usize == a)
            .filter_map(|(q, p)| share_of(p.operator as usize).map(|s| (q, s)))
            .collect();
        if !pairs.is_empty() {
            avs.push(name.clone(), Term::LrtPairs(pairs), None);
        }
    }
    let mut operator = Plan::new("operator");
    let mut beacon = Vec::new();
    for (o, op) in model.operators.iter().enumerate() {
        if let Some(s) = share_of(o) {
            operator.push(op.name.clone(), Term::LrtOperator(o, s), None);
            beacon.push((o, s));
        }
    }
    if !model.incidents.is_empty() {
        avs.push("(beacon)".into(), Term::LrtBeacon(beacon), None);
    }
    let mut out = vec![avs, operator];
    out.retain(|p| !p.terms.is_empty());
    out
}

/// One batch of re-simulated paths: per path, every job's components one after the other
/// (at the jobs' `offsets`), and per path and job whether they were computed.
struct Batch {
    values: Vec<f64>,
    computed: Vec<bool>,
}

/// Re-simulates the paths `batch` (ascending) into `out`, checking each against the value the
/// run recorded (in parallel on the current rayon pool).
fn resimulate(
    model: &Model,
    tilt: Option<&lrtsim_sim::ResolvedTilt>,
    jobs: &[Job],
    offsets: &[usize],
    batch: &[u64],
    out: &mut Batch,
) -> Result<()> {
    let width = offsets[jobs.len()];
    let values = &mut out.values[..batch.len() * width];
    let computed = &mut out.computed[..batch.len() * jobs.len()];
    batch
        .par_chunks(WORKER_PATHS)
        .zip(values.par_chunks_mut(WORKER_PATHS * width))
        .zip(computed.par_chunks_mut(WORKER_PATHS * jobs.len()))
        .try_for_each_init(
            || ComponentReplayer::new(model, tilt),
            |replayer, ((ids, values), computed)| -> Result<()> {
                // Per job, where its tail (ascending path ids, like `ids`) reaches the current
                // path: one search per worker's share, then steps forward.
                let mut cursors: Vec<usize> = jobs
                    .iter()
                    .map(|j| j.tail.partition_point(|t| t.path < ids[0]))
                    .collect();
                for (i, &path) in ids.iter().enumerate() {
                    let c = replayer.run(path)?;
                    let values = &mut values[i * width..(i + 1) * width];
                    let computed = &mut computed[i * jobs.len()..(i + 1) * jobs.len()];
                    for ((k, j), at) in jobs.iter().enumerate().zip(&mut cursors) {
                        while j.tail.get(*at).is_some_and(|t| t.path < path) {
                            *at += 1;
                        }
                        computed[k] = false;
                        let Some(&t) = j.tail.get(*at).filter(|t| t.path == path) else {
                            continue;
                        };
                        if !j.needs_components(t.value) {
                            continue;
                        }
                        let value = j.mp.value(c.row);
                        if value.to_bits() != t.value.to_bits()
                            || (tilt.is_some() && c.weight.to_bits() != t.weight.to_bits())
                        {
                            bail!(
                                "{}: path {path} re-simulated for the risk contributions gives {} {value} (weight {}), but the run recorded {} (weight {}): a bug, please report it with the scenario",
                                model.name,
                                j.mp.metric,
                                c.weight,
                                t.value,
                                t.weight
                            );
                        }
                        j.mp.components_into(
                            model,
                            PathView::of(&c),
                            &mut values[offsets[k]..offsets[k + 1]],
                        );
                        computed[k] = true;
                    }
                }
                Ok(())
            },
        )
}

/// Adds to each job's estimator (`states`: the estimator and the tail entries added so far)
/// its tail entries up to path `last` (all that remain when None), in path order, with the
/// components of those in `batch` (re-simulated into `data`); the jobs in parallel.
fn add_batch(
    jobs: &[Job],
    states: &mut [(EulerEstimator, usize)],
    offsets: &[usize],
    batch: &[u64],
    data: &Batch,
    last: Option<u64>,
) {
    let width = offsets[jobs.len()];
    let n_jobs = jobs.len();
    states
        .par_iter_mut()
        .zip(jobs)
        .enumerate()
        .for_each(|(k, ((est, done), j))| {
            let end = match last {
                Some(p) => j.tail.partition_point(|t| t.path <= p),
                None => j.tail.len(),
            };
            for t in &j.tail[*done..end] {
                match batch.binary_search(&t.path) {
                    Ok(i) if j.needs_components(t.value) => {
                        assert!(data.computed[i * n_jobs + k], "computed for this job");
                        let x = &data.values[i * width + offsets[k]..i * width + offsets[k + 1]];
                        est.add(t.value, t.weight, Some(x));
                    }
                    _ => est.add(t.value, t.weight, None),
                }
            }
            *done = end;
        });
}

/// One decomposed metric under way: its plan and its tail paths (ascending path id); its
/// estimator is held apart (see [`add_batch`]).
struct Job<'a> {
    mp: MetricPlan,
    tail: Vec<TailPath>,
    all_stats: &'a [MetricStats],
}

impl Job<'_> {
    /// Whether a tail path of loss `loss` needs its components
    /// ([`EulerEstimator::needs_components`]).
    fn needs_components(&self, loss: f64) -> bool {
        EulerEstimator::components_needed(self.mp.non_negative, loss)
    }
}

/// The risk contributions of every decomposed metric at every exact level of its statistics
/// (in `all_stats`), from its accumulator (`accumulator(name)`); standalone ES from
/// `all_stats`, and for operators and attribute values from their own tails (`own`, when the
/// run kept them). The tail paths of all metrics are re-simulated together, each once, in
/// batches of ascending path id. Runs on the current rayon pool.
pub fn contributions<G>(
    model: &Model,
    outcome: &RunOutcome,
    accumulator: impl Fn(&str) -> Option<G> + Sync,
    all_stats: &[MetricStats],
    own: Option<&OwnTails>,
) -> Result<Vec<DecompositionContributions>>
where
    G: std::ops::Deref<Target = MetricAccumulator>,
{
    // Each decomposed metric's tail paths, in path order (the metrics in parallel).
    let (jobs, ests): (Vec<Job<'_>>, Vec<EulerEstimator>) = metric_plans(model, &outcome.layout)
        .into_par_iter()
        .filter_map(|mp| {
            let (acc, stats) = (
                accumulator(&mp.metric)?,
                all_stats.iter().find(|m| m.name == mp.metric)?,
            );
            let mut est = EulerEstimator::new(
                &mp.metric,
                acc.paths(),
                &stats.levels,
                mp.plans.iter().map(|p| p.decomposition.clone()).collect(),
                mp.non_negative,
            );
            let floor = est.floor()?;
            let (tail, complete) = acc.tail_at_least_by_path(floor);
            if !complete {
                // The smallest value kept at or above the floor.
                let last = tail.iter().map(|t| t.value).min_by(f64::total_cmp);
                est.ties_incomplete_at(last.unwrap_or(floor));
            }
            let job = Job {
                mp,
                tail,
                all_stats,
            };
            Some((job, est))
        })
        .unzip();
    // The standalone ES of operators and attribute values, at the levels of `slashed_eth`.
    // Computed alongside the re-simulation and the sums, which leave a thread idle at times.
    let own_es = || {
        own.and_then(|o| {
            let m = all_stats.iter().find(|m| m.name == SLASHED)?;
            let levels: Vec<f64> = m.levels.iter().map(|l| l.level).collect();
            Some(o.standalone(model.paths, &levels))
        })
    };
    let (own_es, states) = rayon::join(own_es, || euler_sums(model, outcome, &jobs, ests));
    let states = states?;
    let mut out = Vec::new();
    for (j, (mut est, done)) in jobs.into_iter().zip(states) {
        // Without any path to re-run, the tail entries are all added here.
        for t in &j.tail[done..] {
            est.add(t.value, t.weight, None);
        }
        let plans = &j.mp.plans;
        let standalone = |d: usize, i: usize, level: f64| match plans[d].standalone[i].as_deref() {
            // A metric of the run: its own ES, when exact.
            Some(name) => {
                let m = j.all_stats.iter().find(|m| m.name == name)?;
                m.level(level).filter(|l| l.exact).map(|l| l.es)
            }
            // An operator or attribute value of `slashed_eth`: from its own tail, when the
            // run kept it and it holds that level's tail.
            None if j.mp.metric == SLASHED => own_es.as_ref()?.get(
                &plans[d].decomposition.name,
                &plans[d].decomposition.components[i],
                level,
            ),
            None => None,
        };
        out.extend(est.finish(standalone));
    }
    // As for every number of the report (run.rs): never a null in summary.json.
    for b in &out {
        for c in &b.components {
            let numbers = [
                c.es_contribution,
                c.share,
                c.ci_lo,
                c.ci_hi,
                c.var_contribution,
                c.var_contribution_lo,
                c.var_contribution_hi,
            ];
            let more = [c.standalone_es, b.diversification_benefit];
            if let Some(v) = numbers
                .into_iter()
                .chain(more.into_iter().flatten())
                .find(|v| !v.is_finite())
            {
                bail!(
                    "{}: the report would hold a non-finite number, the contribution of {} to {} at level {} ({}) = {v}; the run fails rather than write it (a bug, or a scenario beyond what the model represents: please report it with the scenario)",
                    model.name,
                    c.component,
                    b.metric,
                    b.level,
                    b.decomposition
                );
            }
        }
    }
    Ok(out)
}

/// Each job's estimator with the sums of its tail paths that need components, re-simulated in
/// batches of ascending path id (each batch's sums run while the next batch is re-simulated),
/// and how many of the job's tail entries it has added.
fn euler_sums(
    model: &Model,
    outcome: &RunOutcome,
    jobs: &[Job<'_>],
    ests: Vec<EulerEstimator>,
) -> Result<Vec<(EulerEstimator, usize)>> {
    // Every path some metric needs the components of, once, ascending.
    let mut paths: Vec<u64> = jobs
        .iter()
        .flat_map(|j| {
            j.tail
                .iter()
                .filter(|t| j.needs_components(t.value))
                .map(|t| t.path)
        })
        .collect();
    paths.sort_unstable();
    paths.dedup();
    let tilt = outcome.tilt.as_ref();
    // Where each job's components start in a path's row of a [`Batch`] (the last entry: the
    // row's width).
    let offsets: Vec<usize> = std::iter::once(0)
        .chain(jobs.iter().scan(0, |at, j| {
            *at += j.mp.width();
            Some(*at)
        }))
        .collect();
    let width = offsets[jobs.len()];
    // Each job's estimator and how many of its tail entries it has added, apart from the
    // job, so that one batch's sums run while the next batch is re-simulated.
    let mut states: Vec<(EulerEstimator, usize)> = ests.into_iter().map(|e| (e, 0)).collect();
    let batches: Vec<&[u64]> = paths.chunks(BATCH_PATHS).collect();
    let batch_len = paths.len().min(BATCH_PATHS);
    let buffer = || Batch {
        values: vec![0.0f64; batch_len * width],
        computed: vec![false; batch_len * jobs.len()],
    };
    let (mut current, mut next) = (buffer(), buffer());
    if let Some(first) = batches.first() {
        resimulate(model, tilt, jobs, &offsets, first, &mut current)?;
    }
    for (b, batch) in batches.iter().enumerate() {
        // Each job takes its tail entries up to the batch's last path (all that remain after
        // the last batch), in path order, while the next batch is re-simulated.
        let last = (b + 1 < batches.len()).then(|| *batch.last().expect("not empty"));
        let (resimulated, ()) = rayon::join(
            || match batches.get(b + 1) {
                Some(following) => resimulate(model, tilt, jobs, &offsets, following, &mut next),
                None => Ok(()),
            },
            || add_batch(jobs, &mut states, &offsets, batch, &current, last),
        );
        resimulated?;
        std::mem::swap(&mut current, &mut next);
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// A scenario by its path from the repository's root.
    fn load(path: &str, paths: u64) -> Model {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path);
        lrtsim_scenario::load_file(&path, &[format!("simulation.paths={paths}")])
            .expect("the scenario loads")
    }

    #[test]
    fn attribute_decompositions_cover_every_operator_once() {
        let model = load("scenarios/baseline.toml", 10);
        let layout = Layout::new(&model);
        let plans = slashed_plans(&model, &layout);
        let names: Vec<&str> = plans
            .iter()
            .map(|p| p.decomposition.name.as_str())
            .collect();
        assert_eq!(&names[..3], ["source", "avs", "operator"]);
        assert!(names.contains(&"attribute.client"));
        for p in &plans[3..] {
            let mut seen = vec![0; model.operators.len()];
            for t in &p.terms {
                let Term::Operators(ops) = t else {
                    panic!("attributes aggregate operators")
                };
                for &o in ops {
                    seen[o] += 1;
                }
            }
            assert!(seen.iter().all(|&k| k == 1), "{}", p.decomposition.name);
        }
    }

    /// Exploits (a theft with restitution, an unbacked mint) and a reserve, without
    /// `[withdrawals]`: every term of the `nav_loss` decomposition moves.
    const WATERFALL: &str = r#"
name = "waterfall"
[simulation]
paths = 3000
horizon_days = 365
seed = 4
[pool]
collateral_eth = 1000
[rewards]
base_apr = 0.03
[[operators]]
name = "a"
share = 0.6
attributes = { cloud = "x" }
allocations = { s = 0.5 }
[[operators]]
name = "b"
share = 0.4
allocations = { s = 0.3 }
[[avs]]
name = "s"
fault_rate_per_year = 0.5
fault_severity = 0.2
[[exploits]]
name = "theft"
rate_per_year = 0.3
size = 0.05
restitution_share = 0.5
restitution_days = 20
[[exploits]]
name = "mint"
rate_per_year = 0.3
kind = "unbacked_mint"
size = 0.04
[[reserves]]
name = "fund"
initial_eth = 10
reward_share = 0.2
cap_eth = 15
"#;

    /// On every path, each decomposition of each metric adds up to the metric as the run
    /// computed it: to 1e-12 of the components' magnitude (with `[withdrawals]`, of the
    /// components' and the NAV's, for `nav_loss`).
    /// Returns on how many paths `nav_loss` was not 0.
    fn check_identities(model: &Model) -> usize {
        let results = lrtsim_sim::run(model, &lrtsim_sim::RunOptions::default(), &|_| {})
            .expect("the scenario runs");
        let layout = &results.layout;
        let plans = metric_plans(model, layout);
        let sector = usize::from(!model.lrts.is_empty());
        assert_eq!(
            plans.len(),
            2 + 2 * sector + model.lrts.len(),
            "{}: slashed_eth and nav_loss (and sector_slashed_eth, sector_holders_loss_eth and each LRT's slashed_eth)",
            model.name
        );
        let mut replayer = ComponentReplayer::new(model, results.tilt.as_ref());
        let mut moved = 0;
        for path in 0..model.paths {
            let c = replayer.run(path).unwrap();
            for mp in &plans {
                let value = mp.value(c.row);
                let stored = if mp.nav {
                    -results.columns[Layout::NAV_RETURN][path as usize]
                } else {
                    results.columns[mp.column][path as usize]
                };
                assert_eq!(value.to_bits(), stored.to_bits());
                let x = mp.components(model, PathView::of(&c));
                let mut at = 0;
                for p in &mp.plans {
                    let part = &x[at..at + p.terms.len()];
                    at += p.terms.len();
                    let sum: f64 = part.iter().sum();
                    let scale: f64 = part.iter().map(|v| v.abs()).sum::<f64>().max(1e-300);
                    // With withdrawals the NAV (about 1) is a ratio of the book's sums.
                    let tol = if mp.nav && model.withdrawals.is_some() {
                        1e-12 * (scale + 1.0)
                    } else {
                        1e-12 * scale
                    };
                    assert!(
                        (sum - value).abs() <= tol,
                        "{} path {path}: {} by {}: {sum} vs {value} ({part:?})",
                        model.name,
                        mp.metric,
                        p.decomposition.name
                    );
                    if mp.non_negative {
                        assert!(part.iter().all(|&v| v >= 0.0));
                    }
                }
                moved += usize::from(value != 0.0 && mp.nav);
            }
        }
        moved
    }

    #[test]
    fn nav_loss_and_slashed_eth_decompositions_add_up_on_every_path() {
        for (file, paths) in [
            ("scenarios/baseline.toml", 3000),
            ("scenarios/client-bug-double-sign.toml", 1500),
            ("scenarios/non-finality-leak.toml", 1500),
            ("scenarios/rare-tail.toml", 1500),
            ("scenarios/steth-2022.toml", 300),
            ("scenarios/bank-run.toml", 300),
            ("scenarios/exit-queue-2025.toml", 300),
            ("scenarios/rseth-2026.toml", 200),
            ("scenarios/leverage-loop.toml", 200),
            // A sector: sector_slashed_eth by LRT too.
            ("scenarios/shared-operator.toml", 3000),
        ] {
            let model = load(file, paths);
            assert!(check_identities(&model) > 0, "{file}");
        }
        let model = lrtsim_scenario::load_str(WATERFALL, Path::new("w.toml"), &[]).unwrap();
        assert!(check_identities(&model) > 0);
        // Every extra term is non-zero on some path of this scenario.
        let all = [
            "exploit_stolen",
            "unbacked_mint",
            "restitution",
            "reserves",
            "rewards",
        ];
        terms_move(&model, &all);
        // An unbacked mint (its attacker sells and borrows) and redemptions.
        terms_move(
            &load("scenarios/rseth-2026.toml", 200),
            &["unbacked_mint", "rewards", "redemptions"],
        );
    }

    /// The terms `names` of `nav_loss` (besides slashing) are non-zero on some path of `model`.
    fn terms_move(model: &Model, names: &[&str]) {
        let results = lrtsim_sim::run(model, &lrtsim_sim::RunOptions::default(), &|_| {}).unwrap();
        let mut replayer = ComponentReplayer::new(model, results.tilt.as_ref());
        let terms = nav_extra_terms(model, &results.layout);
        let mut moved = vec![false; terms.len()];
        for path in 0..model.paths {
            let c = replayer.run(path).unwrap();
            for (m, (_, t)) in moved.iter_mut().zip(&terms) {
                *m |= t.eval(model, PathView::of(&c)) != 0.0;
            }
        }
        for name in names {
            let k = terms
                .iter()
                .position(|(n, _)| n == name)
                .expect("a term of the scenario");
            assert!(moved[k], "{}: {name} never moves", model.name);
        }
    }

    /// A sink that keeps only the own tails.
    struct OwnSink(OwnTails);

    impl lrtsim_sim::ChunkSink for OwnSink {
        fn accept(&self, chunk: &lrtsim_sim::ChunkOutput<'_>) {
            let losses = chunk.operators.expect("asked for");
            self.0
                .add_chunk(chunk.chunk, losses, chunk.paths.start, chunk.weights);
        }

        fn wants_operators(&self) -> bool {
            true
        }
    }

    /// The standalone ES of every operator and attribute value from its own tail, kept in the
    /// streaming pass (several threads, chunks in any order), equals — bit for bit — the ES
    /// of its values on every path, re-simulated one by one; with and without importance
    /// sampling, and with a capacity that keeps only the levels' tails.
    #[test]
    fn own_tails_give_the_es_of_every_path() {
        let levels = lrtsim_report::DEFAULT_LEVELS;
        for (file, paths, tilted) in [
            ("scenarios/baseline.toml", 6000, false),
            ("scenarios/rare-tail.toml", 4000, true),
        ] {
            let model = load(file, paths);
            assert_eq!(model.importance.is_some(), tilted, "{file}");
            let layout = Layout::new(&model);
            let weighted = model.importance.is_some();
            let need = lrtsim_report::own_tail_capacity(paths, &levels, 1, weighted, 0);
            assert_eq!(need, 1);
            // Every path, and about the levels' tails alone.
            // (Importance sampling puts several times more paths in the tails.)
            let small = paths as usize / if weighted { 2 } else { 8 };
            for capacity in [paths as usize, small] {
                let sink = OwnSink(OwnTails::new(&model, capacity, weighted));
                let options = lrtsim_sim::RunOptions {
                    threads: 3,
                    chunks: None,
                };
                let outcome = lrtsim_sim::run_with(&model, &options, &sink, &|_| {}).unwrap();
                let own = sink.0;
                let es = own.standalone(paths, &levels);
                let mut replayer = ComponentReplayer::new(&model, outcome.tilt.as_ref());
                let plans: Vec<Plan> = slashed_plans(&model, &layout)
                    .into_iter()
                    .filter(|p| {
                        p.decomposition.name == "operator"
                            || p.decomposition.name.starts_with("attribute.")
                    })
                    .collect();
                let width: usize = plans.iter().map(|p| p.terms.len()).sum();
                let mut values = vec![Vec::new(); width];
                for path in 0..paths {
                    let c = replayer.run(path).unwrap();
                    let terms = plans.iter().flat_map(|p| &p.terms);
                    for (v, t) in values.iter_mut().zip(terms) {
                        v.push((t.eval(&model, PathView::of(&c)), c.weight));
                    }
                }
                let names = plans.iter().flat_map(|p| {
                    p.decomposition
                        .components
                        .iter()
                        .map(|c| (p.decomposition.name.clone(), c.clone()))
                });
                let mut compared = 0;
                for ((d, c), v) in names.zip(values.iter_mut()) {
                    for &a in &levels {
                        let want = lrtsim_report::tail_es(v, paths, a, f64::NEG_INFINITY);
                        match es.get(&d, &c, a) {
                            Some(got) => {
                                assert_eq!(got.to_bits(), want.unwrap().to_bits(), "{d} {c} {a}");
                                compared += 1;
                            }
                            // Only with a capacity below the level's tail.
                            None => assert!(capacity < paths as usize, "{d} {c} {a}"),
                        }
                    }
                }
                assert!(
                    compared >= width * (levels.len() - 1),
                    "{file} {capacity} {compared}"
                );
            }
        }
    }

    #[test]
    fn with_withdrawals_nav_loss_has_a_redemptions_component() {
        let model = load("scenarios/bank-run.toml", 10);
        let plans = metric_plans(&model, &Layout::new(&model));
        assert_eq!(
            plans.iter().map(|p| p.metric.as_str()).collect::<Vec<_>>(),
            [SLASHED, NAV_LOSS]
        );
        let kind = &plans[1].plans[0].decomposition;
        assert_eq!(kind.name, "kind");
        assert_eq!(
            kind.components.last().map(String::as_str),
            Some("redemptions")
        );
    }
}

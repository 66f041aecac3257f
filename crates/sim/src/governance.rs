//! Allocation changes over time (`[[governance]]`), as EigenLayer's `AllocationManager` runs
//! them (`docs/core/AllocationManager.md`, `modifyAllocations` and `slashOperator`).
//!
//! A vote sets new magnitudes on some of an operator's allocations. For each:
//!
//! - an **increase** is encumbered at once (capped at the magnitude the operator has free:
//!   its max magnitude less what is allocated or pending) and becomes slashable — and earns —
//!   `allocation_delay_days` after the vote; a pending increase is not slashed;
//! - a **decrease** stays slashable for `deallocation_delay_days`; a slash meanwhile cuts the
//!   pending decrease in the same proportion as the allocation, so the allocation keeps the
//!   ratio new / current fixed at the vote (the ledger applies it then, exactly);
//! - an allocation with a modification still pending is left as it is (the contract refuses a
//!   second one).
//!
//! Both take effect at their own event on the path's clock; at equal times, losses drawn for
//! that moment come first. See `docs/model.md` §23.

use lrtsim_scenario::Model;

use crate::ledger::Ledger;

/// A target's modification on the current path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Pending {
    /// Nothing pending (no vote yet, nothing to change, or refused).
    None,
    /// This much magnitude is added when the allocation delay is over.
    Increase(f64),
    /// The allocation keeps this ratio of itself when the deallocation delay is over.
    Decrease(f64),
}

/// The governance state of one path, with buffers reused across paths.
#[derive(Debug, Clone)]
pub(crate) struct Governance {
    /// Start of each entry's targets in `pending`.
    offsets: Vec<usize>,
    pending: Vec<Pending>,
    /// Per pair: until when a modification is pending, days (−∞: none).
    busy_until_days: Vec<f64>,
    /// Per operator: magnitude encumbered by pending increases.
    pending_increase: Vec<f64>,
    /// Whether a vote came on the current path (if not, the state is still the t = 0 one).
    voted: bool,
}

/// One target's change, for the trace: (pair, magnitude before, magnitude after).
pub(crate) type Change = (u32, f64, f64);

impl Governance {
    /// The state for `model` (None without `[[governance]]`).
    pub(crate) fn new(model: &Model) -> Option<Self> {
        if model.governance.is_empty() {
            return None;
        }
        let mut offsets = Vec::with_capacity(model.governance.len());
        let mut n = 0;
        for g in &model.governance {
            offsets.push(n);
            n += g.targets.len();
        }
        Some(Governance {
            offsets,
            pending: vec![Pending::None; n],
            busy_until_days: vec![f64::NEG_INFINITY; model.pairs.len()],
            pending_increase: vec![0.0; model.operators.len()],
            voted: false,
        })
    }

    /// The t = 0 state (only the targets are touched, and only after a vote).
    pub(crate) fn reset(&mut self, model: &Model) {
        if !std::mem::take(&mut self.voted) {
            return;
        }
        self.pending.fill(Pending::None);
        for g in &model.governance {
            for &(pair, _) in &g.targets {
                self.busy_until_days[pair as usize] = f64::NEG_INFINITY;
                let op = model.pairs[pair as usize].operator as usize;
                self.pending_increase[op] = 0.0;
            }
        }
    }

    /// Entry `g`'s vote at `t`: fixes each target's modification from the allocations now.
    /// Calls `changed(pair, magnitude now, magnitude once in effect)` for every target it
    /// modifies.
    pub(crate) fn vote(
        &mut self,
        model: &Model,
        ledger: &Ledger,
        g: u32,
        t: f64,
        mut changed: impl FnMut(Change),
    ) {
        let entry = &model.governance[g as usize];
        let base = self.offsets[g as usize];
        self.voted = true;
        for (k, &(pair, new)) in entry.targets.iter().enumerate() {
            let p = pair as usize;
            self.pending[base + k] = Pending::None;
            if self.busy_until_days[p] > t {
                continue;
            }
            let now = ledger.magnitude(pair);
            if new < now {
                self.pending[base + k] = Pending::Decrease(new / now);
                self.busy_until_days[p] = t + entry.deallocation_delay_days;
                changed((pair, now, new));
            } else if new > now {
                let op = model.pairs[p].operator;
                let free = ledger.max_magnitude(op)
                    - ledger.encumbered_magnitude(op)
                    - self.pending_increase[op as usize];
                let add = (new - now).min(free);
                if add > 0.0 {
                    self.pending[base + k] = Pending::Increase(add);
                    self.pending_increase[op as usize] += add;
                    self.busy_until_days[p] = t + entry.allocation_delay_days;
                    changed((pair, now, now + add));
                }
            }
        }
    }

    /// Entry `g`'s increases (`increase`) or decreases take effect. Calls `changed(pair, ETH
    /// allocated before, after)` for every allocation it changes.
    pub(crate) fn take_effect(
        &mut self,
        model: &Model,
        ledger: &mut Ledger,
        g: u32,
        increase: bool,
        mut changed: impl FnMut(Change),
    ) {
        let entry = &model.governance[g as usize];
        let base = self.offsets[g as usize];
        for (k, &(pair, _)) in entry.targets.iter().enumerate() {
            let before = ledger.allocation_eth(pair);
            match self.pending[base + k] {
                Pending::Increase(add) if increase => {
                    ledger.add_magnitude(pair, add);
                    let op = model.pairs[pair as usize].operator;
                    self.pending_increase[op as usize] -= add;
                    // Unique stake: what is allocated never exceeds the max magnitude.
                    debug_assert!(
                        ledger.encumbered_magnitude(op) <= ledger.max_magnitude(op) + 1e-9,
                        "operator {op} over-allocated"
                    );
                }
                Pending::Decrease(ratio) if !increase => {
                    ledger.scale_allocation(pair, ratio);
                }
                _ => continue,
            }
            self.pending[base + k] = Pending::None;
            changed((pair, before, ledger.allocation_eth(pair)));
        }
    }
}

//! Who holds each operator's stake over time (`[[redelegations]]`), as EigenLayer's
//! `DelegationManager` moves it (`docs/core/DelegationManager.md`: `queueWithdrawals`, the
//! `MIN_WITHDRAWAL_DELAY` escrow, `completeQueuedWithdrawals` and re-delegation).
//!
//! Every staker delegated to an operator bears its slashing and earns its rewards pro rata
//! (the operator's magnitudes and beacon factor scale every delegator's withdrawable amount
//! alike), so a holder's part of operator *o* is a fraction φ of the operator's withdrawable
//! stake that slashing leaves unchanged; only moves change it. The holders are the LRTs (the
//! pool, in a one-LRT scenario) and one escrow slot per redelegation and operator it leaves:
//!
//! - at the **decision**, `share` of the LRT's fraction at each `from` operator becomes its
//!   escrow slot's (queued, still slashable there, still in the book);
//! - at the **completion**, `escrow_days` later, the slot's fraction of each `from` operator
//!   leaves it (what slashing left of it) and is delegated to the `to` operators by weight:
//!   the other holders' fractions there are diluted, and the operators' allocations apply to
//!   the new stake in the proportions they have now.
//!
//! A theft from one LRT of a sector (`[[exploits]]` with `kind = "stolen"` and `lrt`) takes
//! the same share of its holdings at every operator out of the book: the other stakers'
//! fractions of those operators grow, their ETH unchanged.
//!
//! Losses and rewards are attributed to holders by settling an operator whenever its
//! fractions change: each holder is credited φ × (the operator's losses, rewards since the
//! last settlement). Between moves, this is the static split, exactly. See `docs/model.md`
//! §23.

use lrtsim_scenario::Model;
use lrtsim_scenario::spec::ExploitKind;

use crate::ledger::Ledger;

/// The holders' fractions of every operator on one path, with buffers reused across paths.
#[derive(Debug, Clone)]
pub(crate) struct Delegations {
    n_ops: usize,
    /// Holders' fractions, `[holder × n_ops + operator]`.
    phi: Vec<f64>,
    /// At t = 0 (what [`Delegations::reset`] restores).
    phi0: Vec<f64>,
    /// Each holder's LRT (0 for the pool of a one-LRT scenario).
    owner: Vec<u32>,
    /// Each LRT's holders, ascending (itself, then its escrow slots).
    holders_of: Vec<Vec<usize>>,
    /// Each redelegation's first escrow slot (one per `from` operator, in order).
    first_slot: Vec<usize>,
    /// Per operator: its cumulative losses and rewards at its last settlement, ETH.
    basis_loss_eth: Vec<f64>,
    basis_rewards_eth: Vec<f64>,
    /// Per holder: losses and rewards settled so far, ETH.
    settled_loss_eth: Vec<f64>,
    settled_rewards_eth: Vec<f64>,
}

/// What a completion moved: (from operator, ETH), then (to operator, ETH), for the trace.
pub(crate) type Moved = (u32, f64);

impl Delegations {
    /// The t = 0 holders of `model` (None unless it has `[[redelegations]]`, or a sector's
    /// thefts, front doors or markets).
    pub(crate) fn new(model: &Model) -> Option<Self> {
        let thefts =
            !model.lrts.is_empty() && model.exploits.iter().any(|e| e.kind == ExploitKind::Stolen);
        let doors = (model.lrts.iter()).any(|l| l.withdrawals.is_some() || l.market.is_some());
        if model.redelegations.is_empty() && !thefts && !doors {
            return None;
        }
        let n_ops = model.operators.len();
        let n_lrts = model.lrts.len().max(1);
        let mut owner: Vec<u32> = (0..n_lrts as u32).collect();
        let mut first_slot = Vec::with_capacity(model.redelegations.len());
        for r in &model.redelegations {
            first_slot.push(owner.len());
            owner.extend(std::iter::repeat_n(r.lrt, r.from.len()));
        }
        let mut phi0 = vec![0.0; owner.len() * n_ops];
        for (o, op) in model.operators.iter().enumerate() {
            if model.lrts.is_empty() {
                // The pool holds every operator's stake.
                phi0[o] = 1.0;
            }
            for &(l, share) in &op.lrt_shares {
                phi0[l as usize * n_ops + o] = share;
            }
        }
        let holders = owner.len();
        let holders_of = (0..n_lrts as u32)
            .map(|l| (0..holders).filter(|&h| owner[h] == l).collect())
            .collect();
        Some(Delegations {
            n_ops,
            phi: phi0.clone(),
            phi0,
            owner,
            holders_of,
            first_slot,
            basis_loss_eth: vec![0.0; n_ops],
            basis_rewards_eth: vec![0.0; n_ops],
            settled_loss_eth: vec![0.0; holders],
            settled_rewards_eth: vec![0.0; holders],
        })
    }

    /// The t = 0 holders.
    pub(crate) fn reset(&mut self) {
        self.phi.copy_from_slice(&self.phi0);
        self.basis_loss_eth.fill(0.0);
        self.basis_rewards_eth.fill(0.0);
        self.settled_loss_eth.fill(0.0);
        self.settled_rewards_eth.fill(0.0);
    }

    fn holders(&self) -> usize {
        self.owner.len()
    }

    /// Credits every holder of operator `o` with its fraction of the operator's losses and
    /// rewards since the last settlement (`loss_eth`, `rewards_eth`: the operator's
    /// cumulative amounts now).
    fn settle(&mut self, o: usize, loss_eth: f64, rewards_eth: f64) {
        let dl = loss_eth - self.basis_loss_eth[o];
        let dr = rewards_eth - self.basis_rewards_eth[o];
        for h in 0..self.holders() {
            let phi = self.phi[h * self.n_ops + o];
            if phi != 0.0 {
                self.settled_loss_eth[h] += phi * dl;
                self.settled_rewards_eth[h] += phi * dr;
            }
        }
        self.basis_loss_eth[o] = loss_eth;
        self.basis_rewards_eth[o] = rewards_eth;
    }

    /// Redelegation `r`'s decision: `share` of its LRT's fraction of each `from` operator is
    /// queued (its escrow slot's). `cumulative(o)` gives operator o's (losses, rewards) so
    /// far. Calls `queued(operator, fraction of the operator queued)`.
    pub(crate) fn decide(
        &mut self,
        model: &Model,
        r: u32,
        cumulative: impl Fn(usize) -> (f64, f64),
        mut queued: impl FnMut(Moved),
    ) {
        let entry = &model.redelegations[r as usize];
        let lrt = entry.lrt as usize;
        for (j, &op) in entry.from.iter().enumerate() {
            let o = op as usize;
            let (l, w) = cumulative(o);
            self.settle(o, l, w);
            let slot = self.first_slot[r as usize] + j;
            let psi = entry.share * self.phi[lrt * self.n_ops + o];
            self.phi[lrt * self.n_ops + o] -= psi;
            self.phi[slot * self.n_ops + o] += psi;
            queued((op, psi));
        }
    }

    /// Redelegation `r`'s completion: each escrow slot's stake leaves its operator and is
    /// delegated to the `to` operators by weight. Calls `moved` with (from operator, ETH) for
    /// each operator left, then (to operator, ETH) for each joined.
    pub(crate) fn complete(
        &mut self,
        model: &Model,
        r: u32,
        ledger: &mut Ledger,
        cumulative: impl Fn(usize) -> (f64, f64),
        mut moved: impl FnMut(Moved),
    ) {
        let entry = &model.redelegations[r as usize];
        let n = self.n_ops;
        let mut total_eth = 0.0;
        for (j, &op) in entry.from.iter().enumerate() {
            let o = op as usize;
            let (l, w) = cumulative(o);
            self.settle(o, l, w);
            let slot = self.first_slot[r as usize] + j;
            let psi = std::mem::take(&mut self.phi[slot * n + o]);
            let eth = ledger.undelegate(op, psi);
            // The rest of the operator's stake is held as before: fractions of less.
            let keep = 1.0 - psi;
            for h in 0..self.holders() {
                let phi = &mut self.phi[h * n + o];
                *phi = if keep > 1e-12 { *phi / keep } else { 0.0 };
            }
            total_eth += eth;
            moved((op, eth));
        }
        let lrt = entry.lrt as usize;
        for &(op, weight) in &entry.to {
            let o = op as usize;
            let (l, w) = cumulative(o);
            self.settle(o, l, w);
            let before = ledger.withdrawable_eth(op);
            let eth = ledger.delegate(op, weight * total_eth);
            let after = before + eth;
            if after > 0.0 {
                for h in 0..self.holders() {
                    self.phi[h * n + o] *= before / after;
                }
                self.phi[lrt * n + o] += eth / after;
            }
            moved((op, eth));
        }
    }

    /// A theft from LRT `lrt`: `eth` (at most its stake) taken out of its stake, pro rata
    /// over its holdings (its escrow slots included) at every operator. Calls `touched(op)`
    /// for each operator it takes from; returns the ETH taken.
    pub(crate) fn take(
        &mut self,
        lrt: u32,
        eth: f64,
        ledger: &mut Ledger,
        cumulative: impl Fn(usize) -> (f64, f64),
        mut touched: impl FnMut(u32),
    ) -> f64 {
        let n = self.n_ops;
        let stake = self.lrt_book_eth(lrt, ledger);
        if stake <= 0.0 || eth <= 0.0 {
            return 0.0;
        }
        let q = (eth / stake).min(1.0);
        let mut taken = 0.0;
        for o in 0..n {
            let psi = q * self.lrt_fraction(lrt, o);
            if psi <= 0.0 {
                continue;
            }
            let (l, w) = cumulative(o);
            self.settle(o, l, w);
            taken += ledger.undelegate(o as u32, psi);
            touched(o as u32);
            let keep = 1.0 - psi;
            for h in 0..self.holders() {
                let phi = &mut self.phi[h * n + o];
                if self.owner[h] == lrt {
                    *phi *= 1.0 - q;
                }
                *phi = if keep > 1e-12 { *phi / keep } else { 0.0 };
            }
        }
        taken
    }

    /// Slashed validators forced out of operator `o`: LRT `lrt`'s `eth` of them (at most its
    /// stake there) leaves its stake at `o` (its escrow slots' too, pro rata), the other
    /// holders keeping theirs. Returns the ETH withdrawn.
    pub(crate) fn exit_at(
        &mut self,
        lrt: u32,
        o: usize,
        eth: f64,
        ledger: &mut Ledger,
        cumulative: impl Fn(usize) -> (f64, f64),
    ) -> f64 {
        let n = self.n_ops;
        let held = self.lrt_fraction(lrt, o) * ledger.withdrawable_eth(o as u32);
        if held <= 0.0 || eth <= 0.0 {
            return 0.0;
        }
        let q = (eth / held).min(1.0);
        let psi = q * self.lrt_fraction(lrt, o);
        let (l, w) = cumulative(o);
        self.settle(o, l, w);
        let taken = ledger.withdraw_retired_share(o as u32, psi);
        let keep = 1.0 - psi;
        for h in 0..self.holders() {
            let phi = &mut self.phi[h * n + o];
            if self.owner[h] == lrt {
                *phi *= 1.0 - q;
            }
            *phi = if keep > 1e-12 { *phi / keep } else { 0.0 };
        }
        taken
    }

    /// LRT `lrt`'s stake now: its fractions of the operators' withdrawable stake, ETH.
    pub(crate) fn lrt_book_eth(&self, lrt: u32, ledger: &Ledger) -> f64 {
        (0..self.n_ops)
            .map(|o| self.lrt_fraction(lrt, o) * ledger.withdrawable_eth(o as u32))
            .sum()
    }

    /// LRT `lrt`'s fraction of operator `o`, its escrow slots included.
    pub(crate) fn lrt_fraction(&self, lrt: u32, o: usize) -> f64 {
        self.holders_of[lrt as usize]
            .iter()
            .map(|&h| self.phi[h * self.n_ops + o])
            .sum()
    }

    /// LRT `lrt`'s (losses, rewards) so far: what was settled to its holders plus their
    /// fractions of each operator's amounts since its last settlement.
    pub(crate) fn lrt_totals(
        &self,
        lrt: u32,
        cumulative: impl Fn(usize) -> (f64, f64),
    ) -> (f64, f64) {
        let mut loss = 0.0;
        let mut rewards = 0.0;
        let holders = &self.holders_of[lrt as usize];
        for &h in holders {
            loss += self.settled_loss_eth[h];
            rewards += self.settled_rewards_eth[h];
        }
        for o in 0..self.n_ops {
            let (l, w) = cumulative(o);
            let (dl, dr) = (l - self.basis_loss_eth[o], w - self.basis_rewards_eth[o]);
            for &h in holders {
                let phi = self.phi[h * self.n_ops + o];
                loss += phi * dl;
                rewards += phi * dr;
            }
        }
        (loss, rewards)
    }
}

/// One LRT's part of its operators' stake, as its front door redeems from it: its book is
/// Σ φ·W over its holdings, and a redemption takes the same share of each (as a theft does,
/// [`Delegations::take`], but the ETH goes to the redeemers).
pub(crate) struct LrtStake<'a, 'm, F, G> {
    pub(crate) d: &'a mut Delegations,
    pub(crate) ledger: &'a mut Ledger<'m>,
    pub(crate) lrt: u32,
    /// Operator o's cumulative (losses, rewards), for the settlements.
    pub(crate) cumulative: F,
    /// Called with each operator the stake leaves.
    pub(crate) touched: G,
}

impl<F: Fn(usize) -> (f64, f64), G: FnMut(u32)> crate::redemption::Stake
    for LrtStake<'_, '_, F, G>
{
    fn book_eth(&self) -> f64 {
        self.d.lrt_book_eth(self.lrt, self.ledger)
    }
    fn withdraw_pro_rata(&mut self, eth: f64) -> f64 {
        self.d.take(
            self.lrt,
            eth,
            self.ledger,
            &self.cumulative,
            &mut self.touched,
        )
    }
}

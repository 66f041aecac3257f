//! Inactivity leaks as the consensus spec runs them across a path: the validators a leak
//! takes offline form cohorts that carry balance, effective balance and inactivity score
//! ([`ValidatorLeakState`]) from one leak to the next, recover their score once the chain
//! finalizes again, are ejected at 16 ETH of effective balance and leak until their exit
//! epoch. Losses are booked as they accrue, whenever the path's clock reaches a new time.

use lrtsim_scenario::beacon::{
    EJECTION_BALANCE_GWEI, EPOCHS_PER_DAY, GWEI_PER_ETH, INACTIVITY_SCORE_BIAS, LeakPath,
    MAX_SEED_LOOKAHEAD, ValidatorLeakState,
};

/// A group of identical validators of one operator hit by the same leaks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cohort {
    /// Operator index.
    pub op: u32,
    /// Number of validators, in the ledger's unscaled units (× the ledger's scale = count).
    pub validators: f64,
    /// Their spec state (one validator's).
    pub state: ValidatorLeakState,
    /// They are offline (miss their votes) before this epoch.
    pub offline_until: u64,
    /// Loss source their losses are booked under (the last leak that hit them).
    pub source: u32,
    /// Some(e₀) while the cohort is on the single-leak table: fresh at e₀ and offline in a
    /// leak ever since, not yet at its ejection (its state is then the table's).
    pub fresh_from: Option<u64>,
}

/// The leak state of one path.
#[derive(Debug, Default)]
pub(crate) struct Leaks {
    /// Cohorts in creation order.
    pub cohorts: Vec<Cohort>,
    /// The network's leak intervals [start, end) in epochs (finality stalled), sorted and
    /// disjoint.
    pub intervals: Vec<(u64, u64)>,
}

/// Epoch of a time in days (the epoch in progress).
pub(crate) fn epoch_of(days: f64) -> u64 {
    (days * EPOCHS_PER_DAY) as u64
}

impl Leaks {
    /// Forgets the previous path.
    pub fn clear(&mut self) {
        self.cohorts.clear();
        self.intervals.clear();
    }

    /// Adds the stall `[start, end)`; leaks arrive in time order, so the intervals stay
    /// sorted and disjoint (an overlapping one extends the last).
    pub fn push_interval(&mut self, start: u64, end: u64) {
        match self.intervals.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => self.intervals.push((start, end)),
        }
    }

    /// Moves cohort `c` to epoch `to`; returns (Gwei lost per validator, Some(epoch) if it was
    /// ejected then). `queue_epochs(epoch, gwei)` gives the exit-queue wait of an ejection of
    /// the cohort's balance at `epoch`.
    pub fn advance_cohort(
        &mut self,
        c: usize,
        to: u64,
        table: &LeakPath,
        queue_epochs: &mut impl FnMut(u64, u64) -> u64,
    ) -> (u64, Option<u64>) {
        // In place (a copy of the cohort in and out cost more than the rest of a call).
        let stalls = Stalls(&self.intervals);
        let co = &mut self.cohorts[c];
        let before = co.state.balance_gwei;
        let mut ejected = None;
        if let Some(start) = co.fresh_from {
            // Offline in a stall since it was fresh: read the state off the table, up to the
            // end of the stretch (the stall's or its own) or the epoch that ejects it.
            let stall_end = stalls.leak_end(co.state.epoch);
            let limit = table.ejected_after().unwrap_or_else(|| table.len_epochs()) as u64;
            let end = to.min(stall_end).min(co.offline_until).min(start + limit);
            if end > co.state.epoch {
                let k = (end - start) as usize;
                co.state.balance_gwei = table.balance_after(k);
                co.state.effective_balance_gwei = table.effective_balance_after(k);
                co.state.score = INACTIVITY_SCORE_BIAS * k as u64;
                co.state.epoch = end;
            }
            if end < to {
                co.fresh_from = None;
            }
        }
        while co.state.epoch < to && co.state.is_active() {
            let ep = co.state.epoch;
            let in_leak = stalls.in_leak(ep);
            let offline = ep < co.offline_until;
            // An effective balance at the ejection balance ejects it in this epoch, online or
            // not: step it.
            let pending_ejection = co.state.exit_epoch.is_none()
                && co.state.effective_balance_gwei <= EJECTION_BALANCE_GWEI;
            if !in_leak && !offline && co.state.score == 0 && !pending_ejection {
                // Nothing changes until the next leak.
                co.state.epoch = stalls.next_leak_start(ep).min(to);
                continue;
            }
            if !in_leak && !offline && !pending_ejection {
                // Online after finality: the score falls by 17 an epoch, nothing else moves.
                let until = stalls.next_leak_start(ep).min(to);
                let k = until - ep;
                co.state.score = co.state.score.saturating_sub(17 * k);
                co.state.epoch = until;
                continue;
            }
            if in_leak && offline && !pending_ejection {
                // Offline through the stall: epochs at once, up to the next change of
                // effective balance (the epochs `step` would process one by one).
                let until = to.min(co.offline_until).min(stalls.leak_end(ep));
                if co.state.advance_offline_in_leak(until - ep) > 0 {
                    continue;
                }
            }
            let ejecting = co.state.exit_epoch.is_none()
                && co.state.effective_balance_gwei <= EJECTION_BALANCE_GWEI;
            let wait = if ejecting {
                ejected = Some(ep);
                queue_epochs(ep, co.state.balance_gwei)
            } else {
                0
            };
            co.state.step(in_leak, offline, wait);
        }
        if co.state.epoch < to {
            co.state.epoch = to;
        }
        (before - co.state.balance_gwei, ejected)
    }
}

/// The network's leak intervals, sorted and disjoint ([`Leaks::intervals`]).
#[derive(Clone, Copy)]
struct Stalls<'a>(&'a [(u64, u64)]);

impl Stalls<'_> {
    fn in_leak(self, epoch: u64) -> bool {
        let i = self.0.partition_point(|&(a, _)| a <= epoch);
        i > 0 && epoch < self.0[i - 1].1
    }

    /// The end of the stall `epoch` is in (`epoch` in a stall).
    fn leak_end(self, epoch: u64) -> u64 {
        let i = self.0.partition_point(|&(a, _)| a <= epoch);
        self.0[i - 1].1
    }

    /// First leak start after `epoch` (u64::MAX if none).
    fn next_leak_start(self, epoch: u64) -> u64 {
        let i = self.0.partition_point(|&(a, _)| a <= epoch);
        self.0.get(i).map_or(u64::MAX, |&(a, _)| a)
    }
}

/// The wait, in epochs past the earliest exit epoch, of an ejection at `epoch` of `gwei`
/// behind the pool's own earlier ejections (no other exits), at `churn_gwei` an epoch;
/// `free_epoch` is when the queue is empty, moved past this ejection.
pub(crate) fn own_queue_epochs(
    free_epoch: &mut u64,
    epoch: u64,
    gwei: f64,
    churn_gwei: u64,
) -> u64 {
    let earliest = epoch + 1 + MAX_SEED_LOOKAHEAD;
    let start = (*free_epoch).max(earliest);
    *free_epoch = start + (gwei / churn_gwei as f64).ceil() as u64;
    start - earliest
}

/// Gwei per ETH as a float.
pub(crate) const GWEI: f64 = GWEI_PER_ETH as f64;

//! Beacon-chain penalties, exactly as the consensus spec computes them (integer Gwei).
//!
//! Sources: `ethereum/consensus-specs`, `specs/electra/beacon-chain.md` (`slash_validator`,
//! `process_slashings`, `process_effective_balance_updates`, `process_registry_updates`) and
//! `specs/altair/beacon-chain.md` (`process_inactivity_updates`,
//! `get_inactivity_penalty_deltas`, with the Bellatrix quotient). `docs/model.md` §9 (slashing)
//! and §10 (inactivity leak) give the formulas; the tests below reproduce MECHANICS.md's worked values.

use serde::{Deserialize, Serialize};

/// Gwei per ETH (`EFFECTIVE_BALANCE_INCREMENT` is 1 ETH).
pub const GWEI_PER_ETH: u64 = 1_000_000_000;
/// `PROPORTIONAL_SLASHING_MULTIPLIER_BELLATRIX`.
pub const PROPORTIONAL_SLASHING_MULTIPLIER: u64 = 3;
/// `EPOCHS_PER_SLASHINGS_VECTOR`: the window of `state.slashings`, 8192 epochs (36.4 days).
pub const EPOCHS_PER_SLASHINGS_VECTOR: u64 = 8192;
/// Epochs per day: 225 (12 s slots, 32 slots an epoch).
pub const EPOCHS_PER_DAY: f64 = 225.0;
/// Slots per day: 7,200 (`SECONDS_PER_SLOT` = 12).
pub const SLOTS_PER_DAY: f64 = 7_200.0;
/// `INACTIVITY_SCORE_BIAS`.
pub const INACTIVITY_SCORE_BIAS: u64 = 4;
/// `INACTIVITY_PENALTY_QUOTIENT_BELLATRIX` = 2^24.
pub const INACTIVITY_PENALTY_QUOTIENT: u64 = 1 << 24;
/// `EJECTION_BALANCE`: 16 ETH.
pub const EJECTION_BALANCE_GWEI: u64 = 16 * GWEI_PER_ETH;
/// Hysteresis of effective-balance updates: `EFFECTIVE_BALANCE_INCREMENT // HYSTERESIS_QUOTIENT`
/// (0.25 ETH) times the downward multiplier 1.
pub const DOWNWARD_THRESHOLD_GWEI: u64 = GWEI_PER_ETH / 4;

/// Which fork's slashing rules apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fork {
    /// Electra (Pectra, May 2025) and later: initial penalty EB/4096, correlation penalty per
    /// effective-balance increment.
    #[default]
    Electra,
    /// Bellatrix to Deneb, for back-tests before May 2025: initial penalty EB/32, correlation
    /// penalty rounded down to whole ETH per validator.
    Bellatrix,
}

impl Fork {
    /// `MIN_SLASHING_PENALTY_QUOTIENT` of the fork.
    pub fn min_slashing_penalty_quotient(self) -> u64 {
        match self {
            Fork::Electra => 4096,
            Fork::Bellatrix => 32,
        }
    }

    /// Initial penalty of `slash_validator`: `effective_balance // MIN_SLASHING_PENALTY_QUOTIENT`.
    pub fn initial_penalty_gwei(self, effective_balance_gwei: u64) -> u64 {
        effective_balance_gwei / self.min_slashing_penalty_quotient()
    }

    /// Correlation penalty of `process_slashings` for one slashed validator with effective
    /// balance `eb`, when `slashings` Gwei were slashed network-wide in the 8192-epoch window
    /// and `total` is the total active balance. Electra:
    /// `min(3·S, T) // (T // 1 ETH) · (EB // 1 ETH)`; Bellatrix:
    /// `(EB // 1 ETH) · min(3·S, T) // T · 1 ETH`.
    pub fn correlation_penalty_gwei(
        self,
        effective_balance_gwei: u64,
        slashings_gwei: u64,
        total_gwei: u64,
    ) -> u64 {
        let adjusted =
            (slashings_gwei.saturating_mul(PROPORTIONAL_SLASHING_MULTIPLIER)).min(total_gwei);
        let increments = effective_balance_gwei / GWEI_PER_ETH;
        match self {
            Fork::Electra => adjusted / (total_gwei / GWEI_PER_ETH) * increments,
            Fork::Bellatrix => {
                // u128: increments × adjusted overflows u64 for large validators.
                let numerator = u128::from(increments) * u128::from(adjusted);
                (numerator / u128::from(total_gwei)) as u64 * GWEI_PER_ETH
            }
        }
    }
}

/// `MAX_SEED_LOOKAHEAD + 1`: an exit initiated in epoch e takes effect at the earliest in
/// epoch e + 5 (`compute_activation_exit_epoch`).
pub const EXIT_LOOKAHEAD_EPOCHS: u64 = 5;
/// `MIN_VALIDATOR_WITHDRAWABILITY_DELAY`: 256 epochs (27.3 hours) from exit to withdrawable.
pub const WITHDRAWABILITY_DELAY_EPOCHS: u64 = 256;

/// The exit-churn rule: how much balance may leave the active set per epoch. Electra:
/// `min(MAX_PER_EPOCH_ACTIVATION_EXIT_CHURN_LIMIT, max(MIN_PER_EPOCH_CHURN_LIMIT_ELECTRA,
/// T // CHURN_LIMIT_QUOTIENT))`, rounded down to whole ETH (`get_balance_churn_limit`,
/// `get_activation_exit_churn_limit`). A parameter, not a constant: proposed forks change it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChurnRule {
    /// `CHURN_LIMIT_QUOTIENT` (65536; ≥ 1).
    pub quotient: u64,
    /// `MIN_PER_EPOCH_CHURN_LIMIT_ELECTRA`, ETH (128).
    pub min_per_epoch_eth: u64,
    /// `MAX_PER_EPOCH_ACTIVATION_EXIT_CHURN_LIMIT`, ETH (256); 0 removes the cap.
    pub max_per_epoch_eth: u64,
}

impl Default for ChurnRule {
    fn default() -> Self {
        ChurnRule {
            quotient: 65_536,
            min_per_epoch_eth: 128,
            max_per_epoch_eth: 256,
        }
    }
}

impl ChurnRule {
    /// Exit churn per epoch at total active balance `total_gwei`, in Gwei.
    pub fn exit_churn_gwei_per_epoch(&self, total_gwei: u64) -> u64 {
        let balance_churn = (self.min_per_epoch_eth * GWEI_PER_ETH).max(total_gwei / self.quotient);
        let balance_churn = balance_churn - balance_churn % GWEI_PER_ETH;
        match self.max_per_epoch_eth {
            0 => balance_churn,
            cap => balance_churn.min(cap * GWEI_PER_ETH),
        }
    }

    /// Days for a network exit queue of `queue_eth` to clear at total active balance
    /// `total_eth` (the queue drains at the churn, 225 epochs a day).
    pub fn exit_queue_days(&self, queue_eth: f64, total_eth: f64) -> f64 {
        let churn_eth = self.exit_churn_gwei_per_epoch((total_eth * GWEI_PER_ETH as f64) as u64)
            as f64
            / GWEI_PER_ETH as f64;
        queue_eth / churn_eth / EPOCHS_PER_DAY
    }
}

/// Days from a validator's exit request to its ETH reaching the withdrawal address, behind an
/// exit queue of `queue_eth`: the queue at the churn, the 5-epoch lookahead, the 256-epoch
/// withdrawability delay, then the withdrawal sweep, which reaches the validator
/// `sweep_position` ∈ [0, 1] of the way through a cycle of `sweep_cycle_days`.
pub fn exit_to_withdrawal_days(
    rule: &ChurnRule,
    queue_eth: f64,
    total_eth: f64,
    sweep_position: f64,
    sweep_cycle_days: f64,
) -> f64 {
    rule.exit_queue_days(queue_eth, total_eth)
        + (EXIT_LOOKAHEAD_EPOCHS + WITHDRAWABILITY_DELAY_EPOCHS) as f64 / EPOCHS_PER_DAY
        + sweep_position * sweep_cycle_days
}

/// Epochs between a slashing and its correlation penalty (`EPOCHS_PER_SLASHINGS_VECTOR // 2`).
pub const CORRELATION_PENALTY_DELAY_EPOCHS: u64 = EPOCHS_PER_SLASHINGS_VECTOR / 2;

/// The balance path of one validator that is offline through an inactivity leak, from its
/// first leaking epoch: per epoch its inactivity score rises by 4, it loses
/// `EB · score // (4 · 2^24)`, its effective balance follows the balance with the spec's
/// hysteresis, and it is ejected (stops leaking) once its effective balance is ≤ 16 ETH.
#[derive(Debug, Clone, PartialEq)]
pub struct LeakPath {
    /// `balance_gwei[e]` is the balance after `e` epochs of leak (`[0]` is the start).
    balance_gwei: Vec<u64>,
    /// `effective_balance_gwei[e]`: its effective balance then.
    effective_balance_gwei: Vec<u64>,
    /// Epoch count after which the validator was ejected, if within the table.
    ejected_after: Option<usize>,
}

impl LeakPath {
    /// Computes the path for a validator starting with balance = effective balance = `eb`,
    /// for up to `max_epochs` epochs.
    pub fn new(effective_balance_gwei: u64, max_epochs: usize) -> Self {
        let mut balance = effective_balance_gwei;
        let mut eb = effective_balance_gwei;
        let max_eb = effective_balance_gwei;
        let mut score: u64 = 0;
        let mut path = Vec::with_capacity(max_epochs + 1);
        path.push(balance);
        let mut ebs = Vec::with_capacity(max_epochs + 1);
        ebs.push(eb);
        let mut ejected_after = None;
        for epoch in 1..=max_epochs {
            // process_registry_updates runs on the effective balance of the previous epoch's
            // update: an ejected validator leaves the active set and stops leaking.
            if eb <= EJECTION_BALANCE_GWEI {
                ejected_after = Some(epoch - 1);
                break;
            }
            // process_inactivity_updates, then get_inactivity_penalty_deltas.
            score += INACTIVITY_SCORE_BIAS;
            let penalty = (u128::from(eb) * u128::from(score)
                / u128::from(INACTIVITY_SCORE_BIAS * INACTIVITY_PENALTY_QUOTIENT))
                as u64;
            balance = balance.saturating_sub(penalty);
            // process_effective_balance_updates (downward hysteresis).
            if balance + DOWNWARD_THRESHOLD_GWEI < eb {
                eb = (balance - balance % GWEI_PER_ETH).min(max_eb);
            }
            path.push(balance);
            ebs.push(eb);
        }
        LeakPath {
            balance_gwei: path,
            effective_balance_gwei: ebs,
            ejected_after,
        }
    }

    /// Balance after `epochs` epochs of leak (constant once ejected or past the table).
    pub fn balance_after(&self, epochs: usize) -> u64 {
        let last = self.balance_gwei.len() - 1;
        self.balance_gwei[epochs.min(last)]
    }

    /// Effective balance after `epochs` epochs of leak (constant once ejected or past the
    /// table).
    pub fn effective_balance_after(&self, epochs: usize) -> u64 {
        let last = self.effective_balance_gwei.len() - 1;
        self.effective_balance_gwei[epochs.min(last)]
    }

    /// Epochs in the table (the state after each of 0..=len is known).
    pub fn len_epochs(&self) -> usize {
        self.balance_gwei.len() - 1
    }

    /// Epochs of leak after which the validator is ejected, if it is within the table.
    pub fn ejected_after(&self) -> Option<usize> {
        self.ejected_after
    }
}

/// `INACTIVITY_SCORE_RECOVERY_RATE`: once the chain finalizes again every score falls by 16
/// an epoch on top of the −1 (online) or +4 (offline) of the epoch's participation.
pub const INACTIVITY_SCORE_RECOVERY_RATE: u64 = 16;
/// `MAX_SEED_LOOKAHEAD`: an exit initiated at epoch e takes effect at e + 1 + 4 at the
/// earliest (`compute_activation_exit_epoch`), later behind the exit queue.
pub const MAX_SEED_LOOKAHEAD: u64 = 4;

/// One validator's state across any sequence of leaks, epoch by epoch as the spec's
/// `process_epoch` moves it (Altair and later): `process_inactivity_updates`, the inactivity
/// penalty of `get_inactivity_penalty_deltas`, the ejection of `process_registry_updates`
/// and `process_effective_balance_updates`. Unlike [`LeakPath`] (one leak from a fresh
/// validator, ejection stopping the leak at once) it carries balance, effective balance and
/// score from one leak to the next, decays the score once finality returns, and keeps an
/// ejected validator leaking until its exit epoch. The path kernel moves its leak cohorts
/// with it (`docs/model.md` §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidatorLeakState {
    /// Balance, Gwei.
    pub balance_gwei: u64,
    /// Effective balance, Gwei.
    pub effective_balance_gwei: u64,
    /// Largest effective balance (32 ETH, or up to 2048 for a compounding validator), Gwei.
    pub max_effective_balance_gwei: u64,
    /// Inactivity score.
    pub score: u64,
    /// Epochs processed so far.
    pub epoch: u64,
    /// The exit epoch once the validator has been ejected.
    pub exit_epoch: Option<u64>,
}

impl ValidatorLeakState {
    /// A validator with balance = effective balance = `eb_gwei` and score 0.
    pub fn new(eb_gwei: u64) -> Self {
        ValidatorLeakState {
            balance_gwei: eb_gwei,
            effective_balance_gwei: eb_gwei,
            max_effective_balance_gwei: eb_gwei,
            score: 0,
            epoch: 0,
            exit_epoch: None,
        }
    }

    /// Whether the validator is still in the active set (before its exit epoch).
    pub fn is_active(&self) -> bool {
        self.exit_epoch.is_none_or(|e| self.epoch < e)
    }

    /// Processes up to `max_epochs` epochs offline in an inactivity leak at once: the state
    /// that as many [`step`](Self::step)s `(true, true, _)` reach, exactly, stopping after the
    /// first epoch that lowers the effective balance (the next may eject). Returns the epochs
    /// processed: 0 where a step may eject (not yet ejected, the effective balance at the
    /// ejection balance) or the validator has exited.
    ///
    /// With the effective balance E fixed and the score s₀ at the start, epoch j (1, 2, …)
    /// raises the score to s₀ + 4j and takes ⌊E·(s₀ + 4j)/2²⁶⌋ Gwei: the loss over k epochs
    /// is a floor sum Σᵢ₌₀ᵏ⁻¹ ⌊(a·i + b)/m⌋ ([`floor_sum`]), and the first epoch whose
    /// balance falls a quarter ETH below E is found from the root of the loss without its
    /// floors, epoch by epoch from just below it (by bisection if that is far off).
    pub fn advance_offline_in_leak(&mut self, max_epochs: u64) -> u64 {
        let n_max = match self.exit_epoch {
            Some(exit) => max_epochs.min(exit.saturating_sub(self.epoch)),
            None if self.effective_balance_gwei <= EJECTION_BALANCE_GWEI => 0,
            None => max_epochs,
        };
        // (Never the case after a step: the effective balance is then within a quarter ETH
        // above the balance at most.)
        if n_max == 0 || self.balance_gwei + DOWNWARD_THRESHOLD_GWEI < self.effective_balance_gwei {
            return 0;
        }
        let (eb, s0, b0) = (
            u128::from(self.effective_balance_gwei),
            u128::from(self.score),
            u128::from(self.balance_gwei),
        );
        let m = u128::from(INACTIVITY_SCORE_BIAS * INACTIVITY_PENALTY_QUOTIENT);
        let bias = u128::from(INACTIVITY_SCORE_BIAS);
        // ⌊(a·i + b)/m⌋ = ⌊(a/g·i + ⌊b/g⌋)/(m/g)⌋ for g dividing a and m (a·i/g is an
        // integer): with m a power of two and E whole ETH, m/g is at most 2¹⁵ — fewer and
        // smaller steps in the floor sum.
        let (a, b) = (bias * eb, eb * (s0 + bias));
        let g = 1u128 << a.trailing_zeros().min(m.trailing_zeros());
        let loss = |k: u64| floor_sum(u128::from(k), m / g, a / g, b / g);
        // The effective balance falls in the first epoch after which b₀ − loss + ¼ ETH < E;
        // until then the balance stays above it, so no subtraction saturates before.
        let room = (b0 + u128::from(DOWNWARD_THRESHOLD_GWEI)).saturating_sub(eb);
        let (a, b, m) = (a / g, b / g, m / g);
        let total = loss(n_max);
        let (k, lost) = if total <= room {
            (n_max, total)
        } else {
            // The smallest k with loss(k) > room. From just below the root of the loss
            // without its floors, E·(s₀k + 2k(k + 1))/2²⁶ (at most k above it, a few epochs'
            // worth), epoch by epoch; by bisection where that is off.
            let (a2, b2) = (2.0 * eb as f64, eb as f64 * (s0 as f64 + 2.0));
            let c2 = room as f64 * (m * g) as f64;
            let root = (-b2 + (b2 * b2 + 4.0 * a2 * c2).sqrt()) / (2.0 * a2);
            let guess = if root.is_finite() {
                root.max(0.0) as u64
            } else {
                0
            };
            let mut k = guess.saturating_sub(2).min(n_max - 1);
            let mut l = loss(k);
            // loss(lo) ≤ room < loss(hi) = loss(n_max).
            let (mut lo, mut hi) = (0, n_max);
            if l > room {
                hi = k;
            } else {
                for _ in 0..64 {
                    // Epoch k + 1's penalty: term i = k of the sum.
                    l += (a * u128::from(k) + b) / m;
                    k += 1;
                    if l > room {
                        break;
                    }
                }
                if l > room {
                    (lo, hi) = (k - 1, k);
                } else {
                    lo = k;
                }
            }
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if loss(mid) > room {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            (hi, if hi == k && l > room { l } else { loss(hi) })
        };
        self.score += INACTIVITY_SCORE_BIAS * k;
        self.balance_gwei = u64::try_from(b0.saturating_sub(lost)).expect("below b₀");
        if self.balance_gwei + DOWNWARD_THRESHOLD_GWEI < self.effective_balance_gwei {
            self.effective_balance_gwei = (self.balance_gwei - self.balance_gwei % GWEI_PER_ETH)
                .min(self.max_effective_balance_gwei);
        }
        self.epoch += k;
        k
    }

    /// Processes one epoch. `in_leak`: the chain is in an inactivity leak (finality stalled);
    /// `offline`: the validator misses its target votes; `queue_epochs`: epochs its exit waits
    /// behind the exit queue if it is ejected in this epoch. An exited validator no longer
    /// changes.
    pub fn step(&mut self, in_leak: bool, offline: bool, queue_epochs: u64) {
        if !self.is_active() {
            self.epoch += 1;
            return;
        }
        // process_inactivity_updates.
        if offline {
            self.score += INACTIVITY_SCORE_BIAS;
        } else {
            self.score -= self.score.min(1);
        }
        if !in_leak {
            self.score -= self.score.min(INACTIVITY_SCORE_RECOVERY_RATE);
        }
        // get_inactivity_penalty_deltas: offline validators pay EB · score / (4 · 2^24).
        if offline {
            let penalty = (u128::from(self.effective_balance_gwei) * u128::from(self.score)
                / u128::from(INACTIVITY_SCORE_BIAS * INACTIVITY_PENALTY_QUOTIENT))
                as u64;
            self.balance_gwei = self.balance_gwei.saturating_sub(penalty);
        }
        // process_registry_updates: ejection on the effective balance before this epoch's
        // update.
        if self.exit_epoch.is_none() && self.effective_balance_gwei <= EJECTION_BALANCE_GWEI {
            self.exit_epoch = Some(self.epoch + 1 + MAX_SEED_LOOKAHEAD + queue_epochs);
        }
        // process_effective_balance_updates (downward hysteresis; balances only fall here).
        if self.balance_gwei + DOWNWARD_THRESHOLD_GWEI < self.effective_balance_gwei {
            self.effective_balance_gwei = (self.balance_gwei - self.balance_gwei % GWEI_PER_ETH)
                .min(self.max_effective_balance_gwei);
        }
        self.epoch += 1;
    }
}

/// Σᵢ₌₀ⁿ⁻¹ ⌊(a·i + b)/m⌋ for m > 0, in O(log m) steps (the Euclidean-like reduction of the
/// AtCoder Library's `floor_sum`): exact while a·n + b and the sum fit in u128.
pub fn floor_sum(n: u128, m: u128, a: u128, b: u128) -> u128 {
    // In 64 bits when every intermediate fits (the usual case: a 64-bit division is several
    // times faster than a 128-bit one).
    if let (Ok(n64), Ok(m64), Ok(a64), Ok(b64)) = (
        u64::try_from(n),
        u64::try_from(m),
        u64::try_from(a),
        u64::try_from(b),
    ) && let Some(s) = floor_sum_u64(n64, m64, a64, b64)
    {
        return u128::from(s);
    }
    floor_sum_u128(n, m, a, b)
}

/// [`floor_sum`] in u64, None where an intermediate would not fit.
fn floor_sum_u64(mut n: u64, mut m: u64, mut a: u64, mut b: u64) -> Option<u64> {
    let mut sum: u64 = 0;
    loop {
        if a >= m {
            let pairs = u64::try_from(u128::from(n) * u128::from(n.saturating_sub(1)) / 2).ok()?;
            sum = sum.checked_add(pairs.checked_mul(a / m)?)?;
            a %= m;
        }
        if b >= m {
            sum = sum.checked_add(n.checked_mul(b / m)?)?;
            b %= m;
        }
        let y_max = a.checked_mul(n)?.checked_add(b)?;
        if y_max < m {
            return Some(sum);
        }
        n = y_max / m;
        b = y_max % m;
        std::mem::swap(&mut m, &mut a);
    }
}

/// [`floor_sum`] in u128.
fn floor_sum_u128(mut n: u128, mut m: u128, mut a: u128, mut b: u128) -> u128 {
    let mut sum = 0;
    loop {
        if a >= m {
            sum += n * n.saturating_sub(1) / 2 * (a / m);
            a %= m;
        }
        if b >= m {
            sum += n * (b / m);
            b %= m;
        }
        let y_max = a * n + b;
        if y_max < m {
            return sum;
        }
        n = y_max / m;
        b = y_max % m;
        std::mem::swap(&mut m, &mut a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 34_200_000 * GWEI_PER_ETH;
    const EB32: u64 = 32 * GWEI_PER_ETH;

    #[test]
    fn floor_sum_is_the_sum_of_its_floors() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
        for _ in 0..3_000 {
            let n = rng.random_range(0..300u64);
            let bits: [u32; 3] = [
                rng.random_range(1..40),
                rng.random_range(1..45),
                rng.random_range(1..60),
            ];
            let m = rng.random_range(1..1u64 << bits[0]);
            let a = rng.random_range(0..1u64 << bits[1]);
            let b = rng.random_range(0..1u64 << bits[2]);
            let brute: u128 = (0..n)
                .map(|i| (u128::from(a) * u128::from(i) + u128::from(b)) / u128::from(m))
                .sum();
            let args = (u128::from(n), u128::from(m), u128::from(a), u128::from(b));
            assert_eq!(floor_sum(args.0, args.1, args.2, args.3), brute, "{args:?}");
            assert_eq!(
                floor_sum_u128(args.0, args.1, args.2, args.3),
                brute,
                "{args:?}"
            );
        }
        // Past 64 bits: the 128-bit path.
        let (n, m, a, b) = (1_000u128, 3u128, u128::from(u64::MAX), u128::from(u64::MAX));
        let brute: u128 = (0..n).map(|i| (a * i + b) / m).sum();
        assert_eq!(floor_sum(n, m, a, b), brute);
    }

    /// Offline through a leak, epochs at once are the epochs one at a time: from random states
    /// (balances, effective balances a quarter ETH apart or less, scores, compounding and 32
    /// ETH validators, ejected and not), the same state after the same number of epochs, which
    /// end at the first fall of the effective balance or the limit.
    #[test]
    fn epochs_offline_in_a_leak_at_once_are_the_epochs_one_by_one() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(12);
        let mut fell = 0;
        for case in 0..4_000 {
            let max_eb = if case % 3 == 0 { 2048 } else { 32 } * GWEI_PER_ETH;
            let eb = rng.random_range(15..=max_eb / GWEI_PER_ETH) * GWEI_PER_ETH;
            let balance = eb + rng.random_range(0..GWEI_PER_ETH) - GWEI_PER_ETH / 4;
            let mut state = ValidatorLeakState {
                balance_gwei: balance,
                effective_balance_gwei: eb,
                max_effective_balance_gwei: max_eb,
                score: rng.random_range(0..200_000),
                epoch: rng.random_range(0..1_000),
                exit_epoch: None,
            };
            if case % 5 == 0 {
                state.exit_epoch = Some(state.epoch + rng.random_range(0..3_000));
            }
            let limit = rng.random_range(0..5_000);
            let mut fast = state;
            let k = fast.advance_offline_in_leak(limit);
            let mut slow = state;
            let mut steps = 0;
            let may_eject = state.exit_epoch.is_none() && eb <= EJECTION_BALANCE_GWEI;
            if !may_eject && state.is_active() {
                while steps < limit && slow.is_active() {
                    let before = slow.effective_balance_gwei;
                    slow.step(true, true, 0);
                    steps += 1;
                    if slow.effective_balance_gwei != before {
                        fell += 1;
                        break;
                    }
                }
            }
            assert_eq!(
                (k, fast),
                (steps, slow),
                "case {case}: from {state:?}, limit {limit}"
            );
        }
        assert!(
            fell > 1_000,
            "{fell} cases reach a fall of the effective balance"
        );
    }

    fn eth(gwei: u64) -> f64 {
        gwei as f64 / GWEI_PER_ETH as f64
    }

    /// MECHANICS.md §2: at T = 34.2 M ETH, EB = 32: S/T = 0.01% → 0.0096 ETH; 0.5% → 0.48;
    /// 2% → 1.92; 10% → 9.6; ≥ 33.3% → the whole balance.
    #[test]
    fn electra_correlation_penalty_worked_values() {
        let at = |share: f64| {
            eth(Fork::Electra.correlation_penalty_gwei(EB32, (share * T as f64) as u64, T))
        };
        assert!((at(0.0001) - 0.0096).abs() < 1e-6, "{}", at(0.0001));
        assert!((at(0.005) - 0.48).abs() < 1e-6, "{}", at(0.005));
        assert!((at(0.02) - 1.92).abs() < 1e-6, "{}", at(0.02));
        assert!((at(0.10) - 9.6).abs() < 1e-6, "{}", at(0.10));
        assert_eq!(at(0.34), 32.0);
        assert_eq!(at(1.0), 32.0);
        // EB 2048: 64 times the 32 ETH values.
        let big = |share: f64| {
            eth(Fork::Electra.correlation_penalty_gwei(
                2048 * GWEI_PER_ETH,
                (share * T as f64) as u64,
                T,
            ))
        };
        assert!((big(0.005) - 30.72).abs() < 1e-4, "{}", big(0.005));
        assert!((big(0.02) - 122.88).abs() < 1e-4, "{}", big(0.02));
        assert_eq!(big(0.5), 2048.0);
    }

    /// Initial penalty: 0.0078 ETH for 32 ETH, 0.5 ETH for 2048 ETH (Electra); EB/32 before.
    #[test]
    fn initial_penalty() {
        assert_eq!(Fork::Electra.initial_penalty_gwei(EB32), 7_812_500);
        assert_eq!(
            Fork::Electra.initial_penalty_gwei(2048 * GWEI_PER_ETH),
            GWEI_PER_ETH / 2
        );
        assert_eq!(Fork::Bellatrix.initial_penalty_gwei(EB32), GWEI_PER_ETH);
    }

    /// Before Electra the penalty rounds down to whole ETH: zero for a 32 ETH validator below
    /// S/T ≈ 1.04% (3·S/T·32 < 1), then 1 ETH.
    #[test]
    fn bellatrix_rounding_regime() {
        let at = |share: f64| {
            eth(Fork::Bellatrix.correlation_penalty_gwei(EB32, (share * T as f64) as u64, T))
        };
        assert_eq!(at(0.005), 0.0);
        assert_eq!(at(0.0104), 0.0);
        assert_eq!(at(0.0105), 1.0);
        assert_eq!(at(0.02), 1.0);
        assert_eq!(at(0.10), 9.0);
        assert_eq!(at(0.5), 32.0);
    }

    /// MECHANICS.md §3 and VALIDATION.md: at T = 34.2 M ETH the churn is capped at 256 ETH
    /// per epoch (57,600 ETH a day) and a 744,000 ETH queue clears in 12.92 days; then the
    /// lookahead (5 epochs), the withdrawability delay (256 epochs, 27.3 h) and the sweep.
    #[test]
    fn exit_churn_and_queue() {
        let rule = ChurnRule::default();
        assert_eq!(rule.exit_churn_gwei_per_epoch(T), 256 * GWEI_PER_ETH);
        let days = rule.exit_queue_days(744_000.0, 34_200_000.0);
        assert!((days - 12.92).abs() < 0.005, "{days}");
        // The September 2025 queue: ~2.5 M ETH, 44-46 days observed.
        let sept = rule.exit_queue_days(2_500_000.0, 34_200_000.0);
        assert!((43.0..=46.0).contains(&sept), "{sept}");
        // Below T = 128 · 65536 ETH the minimum applies; the quotient in between.
        assert_eq!(
            rule.exit_churn_gwei_per_epoch(5_000_000 * GWEI_PER_ETH),
            128 * GWEI_PER_ETH
        );
        assert_eq!(
            rule.exit_churn_gwei_per_epoch(12_000_000 * GWEI_PER_ETH),
            183 * GWEI_PER_ETH
        );
        // A fork without the cap (MECHANICS.md §3) churns T // 65536: 521 ETH here.
        let uncapped = ChurnRule {
            max_per_epoch_eth: 0,
            ..rule
        };
        assert_eq!(uncapped.exit_churn_gwei_per_epoch(T), 521 * GWEI_PER_ETH);
        let total = exit_to_withdrawal_days(&rule, 744_000.0, 34_200_000.0, 0.5, 9.0);
        let delays = (5.0 + 256.0) / 225.0;
        assert!((total - (days + delays + 4.5)).abs() < 1e-12);
        assert!(
            (256.0f64 / 225.0 * 24.0 - 27.3).abs() < 0.01,
            "the withdrawability delay is 27.3 h"
        );
    }

    /// MECHANICS.md §2: a 32 ETH validator offline through a leak is ejected after about
    /// 4,682 epochs (effective balance 16 ETH, 20.8 days); about 0.93 of its balance remains
    /// after 7 days and 0.74 after 14 (exp(−t²/2^25), which ignores the effective-balance
    /// steps); at 21 days it has been ejected with a little over 16 ETH (the formula's 0.51
    /// would be below the ejection balance).
    #[test]
    fn inactivity_leak_reaches_ejection() {
        let path = LeakPath::new(EB32, 10_000);
        let ejected = path.ejected_after().unwrap();
        assert!(
            (ejected as i64 - 4682).abs() <= 5,
            "ejected after {ejected} epochs"
        );
        let remaining =
            |days: f64| path.balance_after((days * EPOCHS_PER_DAY) as usize) as f64 / EB32 as f64;
        assert!((remaining(7.0) - 0.93).abs() < 0.005, "{}", remaining(7.0));
        assert!((remaining(14.0) - 0.74).abs() < 0.01, "{}", remaining(14.0));
        assert!(ejected < (21.0 * EPOCHS_PER_DAY) as usize);
        assert!(
            remaining(21.0) > 0.5 && remaining(21.0) < 0.53,
            "{}",
            remaining(21.0)
        );
        // After ejection the balance stays put, a little above 16 ETH.
        assert_eq!(path.balance_after(ejected), path.balance_after(9_999));
        assert!(eth(path.balance_after(ejected)) > 16.0 && eth(path.balance_after(ejected)) < 17.0);
    }

    /// Runs `state` through `leaks` (epoch ranges [start, end) with the chain leaking and the
    /// validator offline; online and finalized otherwise) up to `epochs`, no exit queue.
    fn run_leaks(leaks: &[(u64, u64)], epochs: u64) -> ValidatorLeakState {
        let mut st = ValidatorLeakState::new(EB32);
        for ep in 0..epochs {
            let leaking = leaks.iter().any(|&(a, b)| (a..b).contains(&ep));
            st.step(leaking, leaking, 0);
        }
        st
    }

    /// Until ejection the per-epoch state follows the precomputed single-leak path exactly.
    #[test]
    fn leak_state_matches_the_single_leak_path_until_ejection() {
        let path = LeakPath::new(EB32, 10_000);
        let ejected = path.ejected_after().unwrap();
        let mut st = ValidatorLeakState::new(EB32);
        for e in 1..=ejected {
            st.step(true, true, 0);
            assert_eq!(st.balance_gwei, path.balance_after(e), "epoch {e}");
            assert_eq!(st.effective_balance_gwei, path.effective_balance_after(e));
            assert_eq!(st.score, 4 * e as u64);
        }
        assert_eq!(st.exit_epoch, None);
        // The spec ejects it in the next epoch, with exit 5 epochs later, and it pays the
        // leak until then (LeakPath stops at once).
        st.step(true, true, 0);
        assert_eq!(st.exit_epoch, Some(ejected as u64 + 5));
        for _ in 0..20 {
            st.step(true, true, 0);
        }
        assert!(!st.is_active());
        assert!(st.balance_gwei < path.balance_after(ejected));
        let at_exit = st.balance_gwei;
        st.step(true, true, 0);
        assert_eq!(st.balance_gwei, at_exit, "no leak past the exit epoch");
    }

    /// Once finality returns the score falls by 17 an epoch for an online validator and by 12
    /// for an offline one (`process_inactivity_updates`).
    #[test]
    fn score_decays_by_12_to_17_an_epoch_after_finality() {
        let mut on = run_leaks(&[(0, 1000)], 1000);
        assert_eq!(on.score, 4000);
        let mut off = on;
        on.step(false, false, 0);
        off.step(false, true, 0);
        assert_eq!((on.score, off.score), (4000 - 17, 4000 - 12));
        // Back to 0 after ⌈4000/17⌉ = 236 online epochs (about a day).
        let st = run_leaks(&[(0, 1000)], 1000 + 236);
        assert_eq!(st.score, 0);
        let st = run_leaks(&[(0, 1000)], 1000 + 235);
        assert!(st.score > 0);
    }

    /// Two leaks of 14 and 18 days, 20 days apart (the example): the second starts
    /// from the lowered balance and effective balance (its score is back at 0 by then) and
    /// costs about 7.1 ETH; a fresh validator would lose about 12.3 ETH in 18 days (72 %
    /// more). Gaps of 2 and 5 days cost more than 20, and overlapping leaks (no gap) are one
    /// leak.
    #[test]
    fn a_second_leak_starts_from_what_the_first_left() {
        let d = |days: f64| (days * EPOCHS_PER_DAY) as u64;
        let first = run_leaks(&[(0, d(14.0))], d(14.0));
        let first_loss = EB32 - first.balance_gwei;
        let total = |gap: f64| {
            let start = d(14.0 + gap);
            EB32 - run_leaks(
                &[(0, d(14.0)), (start, start + d(18.0))],
                start + d(18.0) + 50,
            )
            .balance_gwei
        };
        let second_20 = total(20.0) - first_loss;
        let fresh = EB32 - LeakPath::new(EB32, 5000).balance_after(d(18.0) as usize);
        assert!((eth(second_20) - 7.14).abs() < 0.05, "{}", eth(second_20));
        assert!((eth(fresh) - 12.28).abs() < 0.05, "{}", eth(fresh));
        assert!((fresh as f64 / second_20 as f64 - 1.72).abs() < 0.02);
        // The score left by the first leak (12,600, falling by 17 an epoch: gone after 3.3
        // days) raises the cost of a close second one: 5 days into it, a 2-day gap has cost
        // more than a 5-day gap, which costs what a 20-day gap does; every gap ends in
        // ejection during the second leak, the closest soonest after its start.
        let partial = |gap: f64| {
            let start = d(14.0 + gap);
            let st = run_leaks(&[(0, d(14.0)), (start, start + d(18.0))], start + d(5.0));
            (EB32 - st.balance_gwei, st.score)
        };
        assert!(
            partial(2.0).0 > partial(5.0).0,
            "{:?} {:?}",
            partial(2.0),
            partial(5.0)
        );
        assert_eq!(partial(5.0), partial(20.0));
        let exit_after_start = |gap: f64| {
            let start = d(14.0 + gap);
            let st = run_leaks(&[(0, d(14.0)), (start, start + d(18.0))], start + d(18.0));
            st.exit_epoch.expect("ejected") - start
        };
        assert!(exit_after_start(2.0) < exit_after_start(5.0));
        assert_eq!(exit_after_start(5.0), exit_after_start(20.0));
        assert!(total(2.0) >= total(20.0));
        // Overlapping leaks are one leak while they overlap.
        let overlap = run_leaks(&[(0, d(14.0)), (d(10.0), d(24.0))], d(30.0));
        assert_eq!(overlap, {
            let mut s = run_leaks(&[(0, d(24.0))], d(30.0));
            s.epoch = overlap.epoch;
            s
        });
    }

    /// A third leak after the validator's exit costs nothing.
    #[test]
    fn a_leak_after_the_exit_costs_nothing() {
        let d = |days: f64| (days * EPOCHS_PER_DAY) as u64;
        let two = run_leaks(&[(0, d(14.0)), (d(34.0), d(52.0))], d(60.0));
        assert!(!two.is_active(), "ejected in the second leak");
        let three = run_leaks(
            &[(0, d(14.0)), (d(34.0), d(52.0)), (d(55.0), d(60.0))],
            d(60.0),
        );
        assert_eq!(two.balance_gwei, three.balance_gwei);
        assert!(eth(two.balance_gwei) < 16.0 + 1.0);
    }
}

//! EigenLayer's slashing accounting of the pool's restaked ETH, operator by operator.
//!
//! Sources: ELIP-002 (unique stake), `docs/core/AllocationManager.md` and
//! `docs/core/accounting/SharesAccounting.md` of Layr-Labs/eigenlayer-contracts. The pool's
//! withdrawable ETH from operator *i* is
//!
//! ```text
//! withdrawable_i = deposit_i × beacon_slashing_factor_i × max_magnitude_i
//! ```
//!
//! - an AVS slash of fraction f on allocation (i, j) removes f of that allocation: the
//!   allocation, the max magnitude and the withdrawable amount fall by the same ETH, and the
//!   operator's other allocations keep their ETH amounts;
//! - a beacon-chain balance loss of x ETH on validators holding B ETH multiplies the beacon
//!   slashing factor by (B − x)/B: the withdrawable amount and every allocation shrink by that
//!   ratio, while AVS slashes leave B unchanged (slashed native ETH is not burned, only lost to
//!   the holders).
//!
//! The two factors multiply, so dual slashing compounds exactly (`DualSlashingEdgeCase.md`:
//! 32 ETH, a 75% AVS slash, then a 16 ETH beacon loss → 4 ETH withdrawable).

use lrtsim_scenario::Model;

/// Per-operator and per-allocation state of one path, with the reward rates of the book.
///
/// Withdrawals take the same share of every operator and allocation (the pool exits pro
/// rata), so they are one multiplication: every stored amount is multiplied by `scale`
/// (1 until something is withdrawn) to give ETH.
#[derive(Debug, Clone)]
pub struct Ledger<'m> {
    model: &'m Model,
    /// Slashable amount of each allocation pair (× `scale` = ETH).
    alloc_eth: Vec<f64>,
    /// The pool's withdrawable amount from each operator (× `scale` = ETH).
    withdrawable_eth: Vec<f64>,
    /// Physical beacon-chain balance of each operator's validators (× `scale` = ETH).
    beacon_eth: Vec<f64>,
    /// Active (not slashed, not ejected) validators of each operator (× `scale`).
    active_validators: Vec<f64>,
    /// Each operator's validators at t = 0 (what [`Ledger::reset`] restores).
    validators0: Vec<f64>,
    /// Per operator, the share of its validators still delegated after stake left it pro
    /// rata over all its validators (undelegated: a sector's redemptions and thefts, moves of
    /// stake), slashed ones included; 1 at t = 0.
    kept: Vec<f64>,
    /// The pool's withdrawable ETH at t = 0.
    book0_eth: f64,
    /// Share of the t = 0 book still in it after pro-rata withdrawals.
    scale: f64,
    /// The pool's withdrawable ETH summed over operators, kept up to date.
    book_eth: f64,
    dirty_pairs: Vec<u32>,
    pair_dirty: Vec<bool>,
    dirty_operators: Vec<u32>,
    operator_dirty: Vec<bool>,
    /// Gross rewards of the current book, ETH per year.
    pub gross_rate_eth_per_year: f64,
    /// Rewards of the current book that reach the pool, ETH per year.
    pub net_rate_eth_per_year: f64,
}

impl<'m> Ledger<'m> {
    /// The t = 0 book of `model`.
    pub fn new(model: &'m Model) -> Self {
        Ledger {
            model,
            alloc_eth: model.pairs.iter().map(|p| p.eth).collect(),
            withdrawable_eth: model.operators.iter().map(|o| o.stake_eth).collect(),
            beacon_eth: model.operators.iter().map(|o| o.stake_eth).collect(),
            active_validators: model.operators.iter().map(initial_validators).collect(),
            validators0: model.operators.iter().map(initial_validators).collect(),
            kept: vec![1.0; model.operators.len()],
            book0_eth: initial_book_eth(model),
            scale: 1.0,
            book_eth: initial_book_eth(model),
            dirty_pairs: Vec::with_capacity(64),
            pair_dirty: vec![false; model.pairs.len()],
            dirty_operators: Vec::with_capacity(16),
            operator_dirty: vec![false; model.operators.len()],
            gross_rate_eth_per_year: model.gross_reward_eth_per_year,
            net_rate_eth_per_year: model.net_reward_eth_per_year,
        }
    }

    /// Restores the t = 0 book, touching only what changed.
    pub fn reset(&mut self) {
        let m = self.model;
        for &p in &self.dirty_pairs {
            self.alloc_eth[p as usize] = m.pairs[p as usize].eth;
            self.pair_dirty[p as usize] = false;
        }
        self.dirty_pairs.clear();
        for &o in &self.dirty_operators {
            let stake = m.operators[o as usize].stake_eth;
            self.withdrawable_eth[o as usize] = stake;
            self.beacon_eth[o as usize] = stake;
            self.active_validators[o as usize] = self.validators0[o as usize];
            self.kept[o as usize] = 1.0;
            self.operator_dirty[o as usize] = false;
        }
        self.dirty_operators.clear();
        if self.scale != 1.0 || self.book_eth != self.book0_eth {
            self.scale = 1.0;
            self.book_eth = self.book0_eth;
        }
        self.gross_rate_eth_per_year = m.gross_reward_eth_per_year;
        self.net_rate_eth_per_year = m.net_reward_eth_per_year;
    }

    fn touch_pair(&mut self, pair: usize) {
        if !self.pair_dirty[pair] {
            self.pair_dirty[pair] = true;
            self.dirty_pairs.push(pair as u32);
        }
    }

    fn touch_operator(&mut self, op: usize) {
        if !self.operator_dirty[op] {
            self.operator_dirty[op] = true;
            self.dirty_operators.push(op as u32);
        }
    }

    /// An AVS slashes `fraction` of allocation `pair`; returns the ETH the pool loses.
    pub fn slash_allocation(&mut self, pair: u32, fraction: f64) -> f64 {
        let p = pair as usize;
        let loss = fraction * (self.scale * self.alloc_eth[p]);
        if loss <= 0.0 {
            return 0.0;
        }
        let info = &self.model.pairs[p];
        let op = info.operator as usize;
        let operator = &self.model.operators[op];
        self.touch_pair(p);
        self.touch_operator(op);
        // x / 1 = x: no division while nothing has been withdrawn pro rata (the usual case).
        let stored = if self.scale == 1.0 {
            loss
        } else {
            loss / self.scale
        };
        self.alloc_eth[p] -= stored;
        self.withdrawable_eth[op] -= stored;
        self.book_eth -= loss;
        self.gross_rate_eth_per_year -=
            loss * (operator.gross_staking_per_eth_year + info.gross_avs_per_eth_year);
        self.net_rate_eth_per_year -=
            loss * (operator.net_staking_per_eth_year + info.net_avs_per_eth_year);
        loss
    }

    /// Operator `op`'s validators lose `physical_eth` of beacon-chain balance (capped at what
    /// they hold); returns the ETH the pool loses.
    pub fn beacon_loss(&mut self, op: u32, physical_eth: f64) -> f64 {
        let o = op as usize;
        let balance = self.scale * self.beacon_eth[o];
        let x = physical_eth.min(balance);
        if x <= 0.0 {
            return 0.0;
        }
        self.touch_operator(o);
        let lost_share = x / balance;
        let operator = &self.model.operators[o];
        let loss = (self.scale * self.withdrawable_eth[o]) * lost_share;
        self.withdrawable_eth[o] -= loss / self.scale;
        self.beacon_eth[o] -= x / self.scale;
        self.book_eth -= loss;
        self.gross_rate_eth_per_year -= loss * operator.gross_staking_per_eth_year;
        self.net_rate_eth_per_year -= loss * operator.net_staking_per_eth_year;
        self.shrink_allocations(o, lost_share);
        loss
    }

    /// Shrinks every allocation of operator `o` by `share` of its ETH (its delegated stake
    /// fell by that share), with the AVS rewards they earn.
    fn shrink_allocations(&mut self, o: usize, share: f64) {
        let operator = &self.model.operators[o];
        for p in operator.first_pair as usize..operator.end_pair as usize {
            let cut = self.alloc_eth[p] * share;
            if cut > 0.0 {
                self.cut_pair(p, cut);
            }
        }
    }

    /// Removes `cut` > 0 (stored units) from allocation `p`, with the AVS rewards it earns;
    /// returns it in ETH.
    fn cut_pair(&mut self, p: usize, cut: f64) -> f64 {
        self.touch_pair(p);
        self.alloc_eth[p] -= cut;
        let info = &self.model.pairs[p];
        let cut_eth = self.scale * cut;
        self.gross_rate_eth_per_year -= cut_eth * info.gross_avs_per_eth_year;
        self.net_rate_eth_per_year -= cut_eth * info.net_avs_per_eth_year;
        cut_eth
    }

    /// The rewards operator `op`'s stake earns for the pool now, net of commission and
    /// protocol fee, ETH per year: its withdrawable stake at the staking rate plus each of its
    /// allocations at its AVS's rate (the terms of the pool's rate that are this operator's).
    pub fn operator_net_rate_eth_per_year(&self, op: u32) -> f64 {
        let o = op as usize;
        let operator = &self.model.operators[o];
        let avs: f64 = (operator.first_pair as usize..operator.end_pair as usize)
            .map(|p| self.alloc_eth[p] * self.model.pairs[p].net_avs_per_eth_year)
            .sum();
        self.scale * (self.withdrawable_eth[o] * operator.net_staking_per_eth_year + avs)
    }

    /// Share of the t = 0 book still in it after pro-rata withdrawals.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The pool's withdrawable ETH over all operators (the restaked book, including ETH
    /// queued in the EigenLayer escrow, which stays slashable).
    pub fn book_eth(&self) -> f64 {
        self.book_eth
    }

    /// Withdraws `eth` of the book pro rata from every operator and allocation (capped at the
    /// book); returns the ETH withdrawn. Rewards fall in proportion.
    pub fn withdraw_pro_rata(&mut self, eth: f64) -> f64 {
        let x = eth.min(self.book_eth);
        if x <= 0.0 {
            return 0.0;
        }
        let keep = 1.0 - x / self.book_eth;
        self.scale *= keep;
        self.book_eth -= x;
        self.gross_rate_eth_per_year *= keep;
        self.net_rate_eth_per_year *= keep;
        x
    }

    /// Withdraws operator `op`'s validators holding `physical_eth` of beacon-chain balance
    /// (slashed validators forced out, once withdrawable): the pool's share of them leaves the
    /// book, with the same share of the operator's allocations. Returns the ETH withdrawn.
    pub fn withdraw_validators(&mut self, op: u32, physical_eth: f64) -> f64 {
        let o = op as usize;
        let balance = self.scale * self.beacon_eth[o];
        if balance <= 0.0 || physical_eth <= 0.0 {
            return 0.0;
        }
        let share = (physical_eth / balance).min(1.0);
        self.remove_share(o, share)
    }

    /// `share` ≤ 1 of operator `op`'s stake leaves the book on validators already retired
    /// (slashed validators forced out, one staker's part of them at a time: a sector LRT's);
    /// returns the ETH withdrawn.
    pub fn withdraw_retired_share(&mut self, op: u32, share: f64) -> f64 {
        let o = op as usize;
        let share = share.min(1.0);
        if share <= 0.0 || self.withdrawable_eth[o] <= 0.0 {
            return 0.0;
        }
        self.remove_share(o, share)
    }

    /// `share` ≤ 1 of operator `o`'s withdrawable amount, beacon-chain balance and allocations
    /// leaves the book, with the rewards they earn; returns the ETH that leaves.
    fn remove_share(&mut self, o: usize, share: f64) -> f64 {
        self.touch_operator(o);
        let operator = &self.model.operators[o];
        let eth = (self.scale * self.withdrawable_eth[o]) * share;
        self.withdrawable_eth[o] -= eth / self.scale;
        self.beacon_eth[o] *= 1.0 - share;
        self.book_eth -= eth;
        self.gross_rate_eth_per_year -= eth * operator.gross_staking_per_eth_year;
        self.net_rate_eth_per_year -= eth * operator.net_staking_per_eth_year;
        self.shrink_allocations(o, share);
        eth
    }

    /// Redelegation: `share` ≤ 1 of operator `op`'s stake leaves it (a holder's queued
    /// withdrawal completes) — that share of its withdrawable amount, beacon-chain balance,
    /// active validators and allocations, with the rewards they earn. Returns the ETH that
    /// leaves (what slashing left of that share: the AVS-slashed part stays locked).
    pub fn undelegate(&mut self, op: u32, share: f64) -> f64 {
        let o = op as usize;
        let share = share.min(1.0);
        if share <= 0.0 || self.withdrawable_eth[o] <= 0.0 {
            return 0.0;
        }
        self.active_validators[o] *= 1.0 - share;
        self.kept[o] *= 1.0 - share;
        self.remove_share(o, share)
    }

    /// Operator `op`'s validators still delegated, as a share of those it had, after stake
    /// left it pro rata (see `kept`): slashed validators waiting to exit shrink by it too.
    pub fn kept(&self, op: u32) -> f64 {
        self.kept[op as usize]
    }

    /// Redelegation: `eth` of stake is delegated to operator `op`, on fresh validators (full
    /// beacon-chain balance). The operator's allocations apply to it in the proportions they
    /// have to its stake now (its magnitudes at t = 0 when it holds none); rewards follow.
    /// Returns the ETH added.
    pub fn delegate(&mut self, op: u32, eth: f64) -> f64 {
        let o = op as usize;
        if eth <= 0.0 {
            return 0.0;
        }
        self.touch_operator(o);
        let m = self.model;
        let operator = &m.operators[o];
        let stored = eth / self.scale;
        let before = self.withdrawable_eth[o];
        for p in operator.first_pair as usize..operator.end_pair as usize {
            let ratio = if before > 0.0 {
                self.alloc_eth[p] / before
            } else {
                m.pairs[p].magnitude
            };
            let add = ratio * stored;
            if add > 0.0 {
                self.touch_pair(p);
                self.alloc_eth[p] += add;
                let add_eth = self.scale * add;
                self.gross_rate_eth_per_year += add_eth * m.pairs[p].gross_avs_per_eth_year;
                self.net_rate_eth_per_year += add_eth * m.pairs[p].net_avs_per_eth_year;
            }
        }
        self.withdrawable_eth[o] += stored;
        self.beacon_eth[o] += stored;
        self.active_validators[o] += stored * lrtsim_scenario::beacon::GWEI_PER_ETH as f64
            / operator.validator_balance_gwei as f64;
        self.book_eth += eth;
        self.gross_rate_eth_per_year += eth * operator.gross_staking_per_eth_year;
        self.net_rate_eth_per_year += eth * operator.net_staking_per_eth_year;
        eth
    }

    /// Active validators of operator `op` (a real number: stake / effective balance).
    pub fn active_validators(&self, op: u32) -> f64 {
        self.scale * self.active_validators[op as usize]
    }

    /// Removes `share` of operator `op`'s active validators (slashed or ejected: they leave
    /// the active set) and returns how many that is.
    pub fn retire_validators(&mut self, op: u32, share: f64) -> f64 {
        let o = op as usize;
        let n = share * self.active_validators[o];
        if n > 0.0 {
            self.touch_operator(o);
            self.active_validators[o] -= n;
        }
        self.scale * n
    }

    /// Allocation `pair`'s magnitude, as a fraction of its operator's max magnitude at t = 0:
    /// its ETH per ETH of the operator's beacon-chain balance (0 once nothing backs it).
    pub fn magnitude(&self, pair: u32) -> f64 {
        let o = self.model.pairs[pair as usize].operator as usize;
        if self.beacon_eth[o] > 0.0 {
            self.alloc_eth[pair as usize] / self.beacon_eth[o]
        } else {
            0.0
        }
    }

    /// Operator `op`'s allocated magnitude, summed over its pairs (see [`Ledger::magnitude`]).
    pub fn encumbered_magnitude(&self, op: u32) -> f64 {
        let operator = &self.model.operators[op as usize];
        (operator.first_pair..operator.end_pair)
            .map(|p| self.magnitude(p))
            .sum()
    }

    /// A deallocation takes effect: allocation `pair` keeps `ratio` ≤ 1 of what it holds now
    /// (EigenLayer slashes a pending deallocation with the allocation, so the ratio fixed at
    /// the vote is exact), with the AVS rewards it earns. Returns the ETH released from it.
    pub fn scale_allocation(&mut self, pair: u32, ratio: f64) -> f64 {
        let p = pair as usize;
        let cut = self.alloc_eth[p] * (1.0 - ratio);
        if cut <= 0.0 {
            return 0.0;
        }
        self.cut_pair(p, cut)
    }

    /// An allocation takes effect: allocation `pair` gains `magnitude` (a fraction of the
    /// operator's t = 0 max magnitude), worth that much of the operator's beacon-chain balance
    /// now, with the AVS rewards it earns. Returns the ETH added.
    pub fn add_magnitude(&mut self, pair: u32, magnitude: f64) -> f64 {
        let p = pair as usize;
        let o = self.model.pairs[p].operator as usize;
        let add = magnitude * self.beacon_eth[o];
        if add <= 0.0 {
            return 0.0;
        }
        self.touch_pair(p);
        self.alloc_eth[p] += add;
        let info = &self.model.pairs[p];
        let add_eth = self.scale * add;
        self.gross_rate_eth_per_year += add_eth * info.gross_avs_per_eth_year;
        self.net_rate_eth_per_year += add_eth * info.net_avs_per_eth_year;
        add_eth
    }

    /// Slashable ETH of allocation `pair`.
    pub fn allocation_eth(&self, pair: u32) -> f64 {
        self.scale * self.alloc_eth[pair as usize]
    }

    /// The pool's withdrawable ETH from operator `op`.
    pub fn withdrawable_eth(&self, op: u32) -> f64 {
        self.scale * self.withdrawable_eth[op as usize]
    }

    /// Physical beacon-chain balance of operator `op`'s validators.
    pub fn beacon_balance_eth(&self, op: u32) -> f64 {
        self.scale * self.beacon_eth[op as usize]
    }

    /// Operator `op`'s max magnitude as a fraction of its t = 0 value (1 until an AVS slashes).
    pub fn max_magnitude(&self, op: u32) -> f64 {
        let o = op as usize;
        if self.beacon_eth[o] > 0.0 {
            self.withdrawable_eth[o] / self.beacon_eth[o]
        } else {
            0.0
        }
    }

    /// Totals of the book: (withdrawable, allocated) ETH summed over operators and pairs.
    pub fn totals(&self) -> (f64, f64) {
        (
            self.scale * self.withdrawable_eth.iter().sum::<f64>(),
            self.scale * self.alloc_eth.iter().sum::<f64>(),
        )
    }
}

/// The pool's withdrawable ETH at t = 0: the operators' stakes summed.
fn initial_book_eth(m: &Model) -> f64 {
    m.operators.iter().map(|o| o.stake_eth).sum()
}

/// Validators an operator runs at t = 0: its stake over their effective balance.
fn initial_validators(op: &lrtsim_scenario::model::OperatorModel) -> f64 {
    op.stake_eth * lrtsim_scenario::beacon::GWEI_PER_ETH as f64 / op.validator_balance_gwei as f64
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn model(operators: &str, avs: &[&str]) -> Model {
        let mut text =
            "[simulation]\npaths = 1\nhorizon_days = 1\nseed = 1\n[pool]\ncollateral_eth = 200\n"
                .to_string();
        text.push_str(operators);
        for a in avs {
            text.push_str(&format!("[[avs]]\nname = \"{a}\"\n"));
        }
        lrtsim_scenario::load_str(&text, Path::new("ledger.toml"), &[]).unwrap()
    }

    /// ELIP-002: allocations 2,000 / 2,500 / 2,000 of 10,000 magnitude with 200 staked; a 50%
    /// slash of the first leaves 180 staked (max magnitude 9,000, wadSlashed 0.10) and the
    /// other sets' amounts unchanged (50 and 40).
    #[test]
    fn elip_002_magnitude_example() {
        let m = model(
            "[[operators]]\nname = \"op\"\nstake_eth = 200\nallocations = { a = 0.2, b = 0.25, c = 0.2 }\n",
            &["a", "b", "c"],
        );
        let mut l = Ledger::new(&m);
        let loss = l.slash_allocation(0, 0.5);
        assert_eq!(loss, 20.0);
        assert_eq!(loss / 200.0, 0.10);
        assert_eq!(l.withdrawable_eth(0), 180.0);
        assert!((l.max_magnitude(0) - 0.9).abs() < 1e-15);
        assert_eq!(
            [
                l.allocation_eth(0),
                l.allocation_eth(1),
                l.allocation_eth(2)
            ],
            [20.0, 50.0, 40.0]
        );
        assert_eq!(
            l.beacon_balance_eth(0),
            200.0,
            "an AVS slash does not move the beacon balance"
        );
    }

    /// DualSlashingEdgeCase.md: 32 ETH restaked, a 75% AVS slash, then a 16 ETH beacon-chain
    /// balance loss → 4 ETH withdrawable; the order of the two does not matter.
    #[test]
    fn dual_slashing_edge_case() {
        let m = model(
            "[[operators]]\nname = \"op\"\nstake_eth = 32\nallocations = { a = 1.0 }\n[[operators]]\nname = \"rest\"\nstake_eth = 168\n",
            &["a"],
        );
        let mut l = Ledger::new(&m);
        assert_eq!(l.slash_allocation(0, 0.75), 24.0);
        assert_eq!(l.beacon_loss(0, 16.0), 4.0);
        assert_eq!(l.withdrawable_eth(0), 4.0);
        assert_eq!(l.allocation_eth(0), 4.0);
        let mut l = Ledger::new(&m);
        assert_eq!(l.beacon_loss(0, 16.0), 16.0);
        assert_eq!(l.slash_allocation(0, 0.75), 12.0);
        assert_eq!(l.withdrawable_eth(0), 4.0);
        // Reset restores the t = 0 book.
        l.reset();
        assert_eq!(
            (
                l.withdrawable_eth(0),
                l.beacon_balance_eth(0),
                l.allocation_eth(0)
            ),
            (32.0, 32.0, 32.0)
        );
    }

    /// Pro-rata withdrawals scale every operator and allocation, and the ETH still in the
    /// book (the EigenLayer escrow among it) stays slashable: a later slash takes its share.
    #[test]
    fn pro_rata_withdrawal_scales_the_book() {
        let m = model(
            "[[operators]]\nname = \"x\"\nstake_eth = 150\nallocations = { a = 0.2 }\n[[operators]]\nname = \"y\"\nstake_eth = 50\n",
            &["a"],
        );
        let mut l = Ledger::new(&m);
        assert_eq!(l.book_eth(), 200.0);
        assert_eq!(l.withdraw_pro_rata(50.0), 50.0);
        assert_eq!(
            (l.withdrawable_eth(0), l.withdrawable_eth(1)),
            (112.5, 37.5)
        );
        assert_eq!(l.allocation_eth(0), 22.5);
        assert_eq!(l.slash_allocation(0, 0.5), 11.25);
        assert!((l.book_eth() - 138.75).abs() < 1e-12);
        assert!((l.totals().0 - l.book_eth()).abs() < 1e-12);
        let book = l.book_eth();
        assert_eq!(l.withdraw_pro_rata(1e9), book, "at most the book");
        assert!(l.totals().0.abs() < 1e-12);
        l.reset();
        assert_eq!((l.book_eth(), l.allocation_eth(0)), (200.0, 30.0));
    }

    /// Slashed validators leave with their operator's share of the book: half the beacon
    /// balance takes half the withdrawable amount and half of every allocation.
    #[test]
    fn withdrawing_validators_takes_their_share() {
        let m = model(
            "[[operators]]\nname = \"x\"\nstake_eth = 100\nallocations = { a = 0.4 }\n[[operators]]\nname = \"y\"\nstake_eth = 100\n",
            &["a"],
        );
        let mut l = Ledger::new(&m);
        l.slash_allocation(0, 0.5); // withdrawable 80 of a beacon balance of 100
        assert_eq!(l.withdraw_validators(0, 50.0), 40.0);
        assert_eq!(
            (
                l.withdrawable_eth(0),
                l.beacon_balance_eth(0),
                l.allocation_eth(0)
            ),
            (40.0, 50.0, 10.0)
        );
        assert_eq!(l.withdrawable_eth(1), 100.0);
        assert!((l.book_eth() - 140.0).abs() < 1e-12);
    }

    /// A move of half an operator's stake after a 50 % AVS slash: 40 of its 80 withdrawable
    /// ETH leave with half its allocations and validators; at the new operator they earn its
    /// allocations' proportions (ELIP-002: magnitudes are fractions of delegated stake), the
    /// book is unchanged and the slashed 20 ETH stay locked at the old operator.
    #[test]
    fn redelegation_moves_withdrawable_stake() {
        let m = model(
            "[[operators]]\nname = \"x\"\nstake_eth = 100\nallocations = { a = 0.4 }\n[[operators]]\nname = \"y\"\nstake_eth = 100\nallocations = { a = 0.25 }\n",
            &["a"],
        );
        let mut l = Ledger::new(&m);
        assert_eq!(l.slash_allocation(0, 0.5), 20.0);
        let validators = l.active_validators(0);
        let eth = l.undelegate(0, 0.5);
        assert_eq!(eth, 40.0);
        assert_eq!(
            (
                l.withdrawable_eth(0),
                l.beacon_balance_eth(0),
                l.allocation_eth(0)
            ),
            (40.0, 50.0, 10.0)
        );
        assert_eq!(l.active_validators(0), validators / 2.0);
        assert_eq!(l.delegate(1, eth), 40.0);
        assert_eq!(
            (
                l.withdrawable_eth(1),
                l.beacon_balance_eth(1),
                l.allocation_eth(1)
            ),
            (140.0, 140.0, 35.0)
        );
        assert!((l.book_eth() - 180.0).abs() < 1e-12);
        assert!((l.totals().0 - l.book_eth()).abs() < 1e-12);
        // The rates are those of the book as it now stands.
        let staking = m.operators[0].net_staking_per_eth_year;
        let avs = m.pairs[0].net_avs_per_eth_year;
        let expect = 180.0 * staking + 45.0 * avs;
        assert!((l.net_rate_eth_per_year - expect).abs() < 1e-9 * expect.max(1.0));
        // An empty operator takes its t = 0 magnitudes.
        let all = l.undelegate(1, 1.0);
        assert_eq!(all, 140.0);
        assert_eq!(l.allocation_eth(1), 0.0);
        l.delegate(1, 20.0);
        assert_eq!(l.allocation_eth(1), 5.0);
    }

    /// A beacon loss shrinks every allocation of the operator in proportion and no other's.
    #[test]
    fn beacon_loss_scales_allocations() {
        let m = model(
            "[[operators]]\nname = \"x\"\nstake_eth = 100\nallocations = { a = 0.5, b = 0.3 }\n[[operators]]\nname = \"y\"\nstake_eth = 100\nallocations = { a = 1.0 }\n",
            &["a", "b"],
        );
        let mut l = Ledger::new(&m);
        assert_eq!(l.beacon_loss(0, 10.0), 10.0);
        assert!(
            (l.allocation_eth(0) - 45.0).abs() < 1e-12
                && (l.allocation_eth(1) - 27.0).abs() < 1e-12
        );
        assert_eq!(l.allocation_eth(2), 100.0);
        assert_eq!(l.beacon_loss(0, 1e9), 90.0, "capped at the balance");
        assert_eq!(l.withdrawable_eth(0), 0.0);
    }
}

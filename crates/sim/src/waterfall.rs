//! The loss waterfall: first-loss reserves, outside the NAV, that pay the losses they cover
//! into the pool in file order, up to what each holds; what is left falls on the holders
//! through the exchange rate. Rewards can refill them up to a cap.

use lrtsim_scenario::exploit::ReserveModel;

/// Which losses a payment is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// AVS slashing, beacon-chain penalties.
    Slashing,
    /// Exploits.
    Exploit,
}

/// The reserves of one path.
#[derive(Debug, Clone)]
pub struct Reserves<'m> {
    m: &'m [ReserveModel],
    balance_eth: Vec<f64>,
    /// ETH paid into the pool so far.
    paid_eth: f64,
    /// Rewards diverted into the reserves so far, ETH.
    diverted_eth: f64,
    /// ETH paid back to the reserves by restitutions.
    refunded_eth: f64,
    /// Whether a covered loss ever found its reserves empty.
    exhausted: bool,
}

impl<'m> Reserves<'m> {
    /// Reserves at their t = 0 levels.
    pub fn new(m: &'m [ReserveModel]) -> Self {
        Reserves {
            m,
            balance_eth: m.iter().map(|r| r.initial_eth).collect(),
            paid_eth: 0.0,
            diverted_eth: 0.0,
            refunded_eth: 0.0,
            exhausted: false,
        }
    }

    /// Back to t = 0.
    pub fn reset(&mut self) {
        for (b, r) in self.balance_eth.iter_mut().zip(self.m) {
            *b = r.initial_eth;
        }
        self.paid_eth = 0.0;
        self.diverted_eth = 0.0;
        self.refunded_eth = 0.0;
        self.exhausted = false;
    }

    fn covers(r: &ReserveModel, kind: Loss) -> bool {
        match kind {
            Loss::Slashing => r.covers_slashing,
            Loss::Exploit => r.covers_exploits,
        }
    }

    /// A loss of `loss_eth`: each reserve that covers `kind`, in order, pays what it can;
    /// returns the ETH paid into the pool (≤ the loss).
    pub fn absorb(&mut self, loss_eth: f64, kind: Loss) -> f64 {
        let mut left = loss_eth.max(0.0);
        let mut covered_by_any = false;
        for (b, r) in self.balance_eth.iter_mut().zip(self.m) {
            if left <= 0.0 {
                break;
            }
            if !Self::covers(r, kind) {
                continue;
            }
            covered_by_any = true;
            let pay = left.min(*b);
            *b -= pay;
            left -= pay;
        }
        if covered_by_any && left > 0.0 {
            self.exhausted = true;
        }
        let paid = loss_eth.max(0.0) - left;
        self.paid_eth += paid;
        paid
    }

    /// Of `rewards_eth` that reached the pool, the part diverted into the reserves (each
    /// takes its `reward_share` of them while below its cap).
    pub fn divert(&mut self, rewards_eth: f64) -> f64 {
        if rewards_eth <= 0.0 {
            return 0.0;
        }
        let mut taken = 0.0;
        for (b, r) in self.balance_eth.iter_mut().zip(self.m) {
            let take = (r.reward_share * rewards_eth)
                .min((r.cap_eth - *b).max(0.0))
                .min(rewards_eth - taken);
            *b += take;
            taken += take;
        }
        self.diverted_eth += taken;
        taken
    }

    /// What [`Reserves::divert`] would take of `rewards_eth` now, without taking it
    /// (read-only, for traces).
    pub fn would_divert(&self, rewards_eth: f64) -> f64 {
        if rewards_eth <= 0.0 {
            return 0.0;
        }
        let mut taken = 0.0;
        for (b, r) in self.balance_eth.iter().zip(self.m) {
            let take = (r.reward_share * rewards_eth)
                .min((r.cap_eth - *b).max(0.0))
                .min(rewards_eth - taken);
            taken += take;
        }
        taken
    }

    /// A restitution of `eth` after a loss the reserves paid `paid_eth` of: the reserves that
    /// cover exploits are refilled, in order up to their caps, with at most `paid_eth`;
    /// returns what is left for the pool.
    pub fn refund(&mut self, eth: f64, paid_eth: f64) -> f64 {
        let mut to_reserves = eth.min(paid_eth).max(0.0);
        let start = to_reserves;
        for (b, r) in self.balance_eth.iter_mut().zip(self.m) {
            if !r.covers_exploits {
                continue;
            }
            let put = to_reserves.min((r.cap_eth.max(r.initial_eth) - *b).max(0.0));
            *b += put;
            to_reserves -= put;
        }
        let refunded = start - to_reserves;
        self.refunded_eth += refunded;
        eth - refunded
    }

    /// ETH the reserves hold now.
    pub fn total_eth(&self) -> f64 {
        self.balance_eth.iter().sum()
    }
    /// ETH they held at t = 0.
    pub fn initial_eth(&self) -> f64 {
        self.m.iter().map(|r| r.initial_eth).sum()
    }
    /// ETH paid into the pool so far.
    pub fn paid_eth(&self) -> f64 {
        self.paid_eth
    }
    /// Rewards diverted into the reserves so far, ETH.
    pub fn diverted_eth(&self) -> f64 {
        self.diverted_eth
    }
    /// ETH restitutions paid back to the reserves.
    pub fn refunded_eth(&self) -> f64 {
        self.refunded_eth
    }
    /// 1 if a loss they cover ever found them empty, else 0.
    pub fn exhausted(&self) -> f64 {
        f64::from(u8::from(self.exhausted))
    }
}

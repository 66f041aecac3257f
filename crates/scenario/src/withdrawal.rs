//! The compiled withdrawal model: `[withdrawals]` in the units the path kernel works in
//! (days, ETH, fractions), with every default resolved.

use rand_distr::Poisson;

use crate::DAYS_PER_YEAR;
use crate::beacon::{
    EPOCHS_PER_DAY, EXIT_LOOKAHEAD_EPOCHS, GWEI_PER_ETH, WITHDRAWABILITY_DELAY_EPOCHS,
};
use crate::severity::SeverityDist;
use crate::spec::{ExitNetwork, Scenario, Withdrawals};

/// Basis points per unit.
const BPS: f64 = 10_000.0;

/// Redemption demand, instant buffer, protocol queue, escrow and exit network of a scenario.
#[derive(Debug, Clone)]
pub struct WithdrawalModel {
    /// The front door's resolution: the largest share of the remaining holders that may ask
    /// within one sub-step (`simulation.max_demand_per_substep`).
    pub max_demand_per_substep: f64,
    /// Share of remaining holders asking per day in calm times.
    pub base_share_per_day: f64,
    /// Added daily share per unit of NAV drawdown.
    pub nav_loss_sensitivity_per_day: f64,
    /// Added daily share per day of posted wait beyond `wait_free_days`.
    pub wait_sensitivity_per_day: f64,
    /// Posted wait that does not move holders, days.
    pub wait_free_days: f64,
    /// Cap on the daily share.
    pub max_share_per_day: f64,
    /// Added daily share per unit of market discount.
    pub discount_sensitivity_per_day: f64,
    /// Run trigger: (smallest triggering loss as a fraction of NAV, pulse share per day,
    /// decay days).
    pub trigger: Option<TriggerModel>,
    /// Liquid ETH at t = 0.
    pub buffer_initial_eth: f64,
    /// Buffer level the protocol exits validators to restore, ETH.
    pub buffer_target_eth: f64,
    /// Whether there is an instant path at all.
    pub instant: bool,
    /// Token-bucket capacity, ETH (+∞: no limit).
    pub bucket_capacity_eth: f64,
    /// Token-bucket refill, ETH per day.
    pub bucket_refill_eth_per_day: f64,
    /// Instant-exit fee, a fraction of the amount redeemed.
    pub instant_fee: f64,
    /// Share of requests that try the instant path.
    pub instant_share: f64,
    /// Protocol-queue cooldown, days.
    pub cooldown_days: f64,
    /// Protocol-queue payout cap, ETH per day (+∞: none).
    pub daily_cap_eth: f64,
    /// How often the protocol processes its queue, days.
    pub processing_interval_days: f64,
    /// Window after the stress starts in which the stress holder asks, days.
    pub stress_window_days: f64,
    /// Pause rule: (smallest pausing loss as a fraction of NAV, pause length in days).
    pub pause: Option<(f64, f64)>,
    /// EigenLayer escrow, days.
    pub escrow_days: f64,
    /// Exit churn of the network, ETH per day.
    pub churn_eth_per_day: f64,
    /// Network exit queue at t = 0, ETH.
    pub network_queue_eth: f64,
    /// Other stakers' exits joining the queue, ETH per day.
    pub network_inflow_eth_per_day: f64,
    /// From leaving the exit queue to withdrawable: 5 + 256 epochs, in days.
    pub exit_delay_days: f64,
    /// Withdrawal-sweep cycle, days.
    pub sweep_days: f64,
    /// Sector-wide rushes.
    pub rushes: Vec<RushModel>,
}

/// A run trigger, compiled.
#[derive(Debug, Clone, Copy)]
pub struct TriggerModel {
    /// Smallest loss event that triggers, as a fraction of the pool's NAV.
    pub min_loss_fraction: f64,
    /// Pulse height, share of remaining holders per day.
    pub share_per_day: f64,
    /// E-folding time, days.
    pub decay_days: f64,
}

/// A sector-wide rush on the network exit queue, compiled.
#[derive(Debug, Clone)]
pub struct RushModel {
    /// Name.
    pub name: String,
    /// Poisson count over the horizon (None when the rate is 0 or the rush is scheduled).
    pub events: Option<Poisson<f64>>,
    /// Scheduled day.
    pub at_days: Option<f64>,
    /// ETH joining the exit queue.
    pub size_eth: SeverityDist,
    /// Whether it triggers a redemption pulse.
    pub triggers_run: bool,
}

/// Default of `simulation.max_demand_per_substep`: the largest share of the remaining
/// holders that may ask to redeem within one sub-step of the front door (docs/model.md §12).
pub const DEFAULT_MAX_DEMAND_PER_SUBSTEP: f64 = 2e-3;

/// Range of `simulation.max_demand_per_substep`, (lower, upper]: sub-steps grow in number as
/// 1 / the resolution; above 5 % of the holders a sub-step is coarser than the demand's own
/// changes in a run.
pub const MAX_DEMAND_PER_SUBSTEP_RANGE: (f64, f64) = (1e-6, 0.05);

impl WithdrawalModel {
    /// Compiles `s.withdrawals` (None when the section is absent). `s` passed validation.
    pub fn compile(s: &Scenario) -> Option<WithdrawalModel> {
        let w = s.withdrawals.as_ref()?;
        Some(Self::compile_with(s, w, &w.network))
    }

    /// Compiles the front door `w` exiting through `net` (a sector's LRT: its own
    /// `withdrawals` and the sector's exit queue). `s` passed validation.
    pub fn compile_with(s: &Scenario, w: &Withdrawals, net: &ExitNetwork) -> WithdrawalModel {
        let d = &w.demand;
        let total_gwei = (s.beacon.total_active_balance_eth * GWEI_PER_ETH as f64) as u64;
        let churn_per_epoch =
            net.churn.exit_churn_gwei_per_epoch(total_gwei) as f64 / GWEI_PER_ETH as f64;
        let horizon_years = s.simulation.horizon_days / DAYS_PER_YEAR;
        let buffer = w.buffer.as_ref();
        WithdrawalModel {
            base_share_per_day: d.base_share_per_day,
            nav_loss_sensitivity_per_day: d.nav_loss_sensitivity_per_day,
            wait_sensitivity_per_day: d.wait_sensitivity_per_day,
            wait_free_days: d.wait_free_days,
            max_share_per_day: d.max_share_per_day,
            discount_sensitivity_per_day: d.discount_sensitivity_per_day.unwrap_or(0.0),
            trigger: d.trigger.as_ref().map(|t| TriggerModel {
                min_loss_fraction: t.min_loss_bps / BPS,
                share_per_day: t.share_per_day,
                decay_days: t.decay_days,
            }),
            buffer_initial_eth: buffer.map_or(0.0, |b| b.initial_eth),
            buffer_target_eth: buffer.map_or(0.0, |b| b.target_eth.unwrap_or(b.initial_eth)),
            instant: buffer.is_some(),
            bucket_capacity_eth: buffer
                .and_then(|b| b.bucket_capacity_eth)
                .unwrap_or(f64::INFINITY),
            bucket_refill_eth_per_day: buffer.map_or(0.0, |b| b.bucket_refill_eth_per_day),
            instant_fee: buffer.map_or(0.0, |b| b.instant_fee_bps / BPS),
            instant_share: buffer.map_or(0.0, |b| b.instant_share),
            cooldown_days: w.queue.cooldown_days,
            daily_cap_eth: w.queue.daily_cap_eth.unwrap_or(f64::INFINITY),
            processing_interval_days: w.queue.processing_interval_days,
            stress_window_days: d.stress_window_days,
            max_demand_per_substep: s
                .simulation
                .max_demand_per_substep
                .unwrap_or(DEFAULT_MAX_DEMAND_PER_SUBSTEP),
            pause: w
                .queue
                .pause
                .as_ref()
                .map(|p| (p.min_loss_bps / BPS, p.days)),
            escrow_days: w.escrow.days,
            churn_eth_per_day: churn_per_epoch * EPOCHS_PER_DAY,
            network_queue_eth: net.queue_eth,
            network_inflow_eth_per_day: net.inflow_eth_per_day,
            exit_delay_days: (EXIT_LOOKAHEAD_EPOCHS + WITHDRAWABILITY_DELAY_EPOCHS) as f64
                / EPOCHS_PER_DAY,
            sweep_days: net.sweep_days,
            rushes: net
                .rushes
                .iter()
                .map(|r| RushModel {
                    name: r.name.clone(),
                    events: crate::model::poisson_events(
                        r.rate_per_year.mean(),
                        horizon_years,
                        r.at_days,
                    ),
                    at_days: r.at_days,
                    size_eth: r.size_eth.sampler(),
                    triggers_run: r.triggers_run,
                })
                .collect(),
        }
    }
}

//! The beacon chain's exit queue, first in first out, as a fluid: ETH waiting to exit drains
//! at the churn (`get_activation_exit_churn_limit` per epoch, 225 epochs a day) and fills with
//! the other stakers' exits (an inflow rate) and with every exit that joins it — the pool's
//! validators, slashed or ejected ones, rushes of other stakers. One queue for everyone who
//! exits through it: an exit joining at t waits until all the ETH ahead of it has left,
//! Q(t) / churn days, and its own ETH leaves over the next eth / churn days (docs/model.md §12).

/// The network exit queue of one path.
#[derive(Debug, Clone)]
pub struct ExitQueue {
    /// At t = 0, ETH.
    initial_eth: f64,
    /// Other stakers joining, ETH per day.
    inflow_eth_per_day: f64,
    /// The churn: ETH leaving per day.
    churn_eth_per_day: f64,
    /// ETH waiting at `time_days`.
    queue_eth: f64,
    time_days: f64,
    /// Largest queue seen (at a join or an observation), ETH.
    peak_eth: f64,
}

impl ExitQueue {
    /// A queue of `initial_eth` at t = 0, filling at `inflow_eth_per_day` and draining at
    /// `churn_eth_per_day` (> 0).
    pub fn new(initial_eth: f64, inflow_eth_per_day: f64, churn_eth_per_day: f64) -> Self {
        ExitQueue {
            initial_eth,
            inflow_eth_per_day,
            churn_eth_per_day,
            queue_eth: initial_eth,
            time_days: 0.0,
            peak_eth: initial_eth,
        }
    }

    /// The t = 0 state.
    pub fn reset(&mut self) {
        self.queue_eth = self.initial_eth;
        self.time_days = 0.0;
        self.peak_eth = self.initial_eth;
    }

    /// The churn, ETH per day.
    pub fn churn_eth_per_day(&self) -> f64 {
        self.churn_eth_per_day
    }

    /// The queue at `t` (not before the last time it moved), ETH, without moving it.
    pub fn queue_eth_at(&self, t: f64) -> f64 {
        let dt = t - self.time_days;
        if dt > 0.0 {
            let net = self.inflow_eth_per_day - self.churn_eth_per_day;
            (self.queue_eth + net * dt).max(0.0)
        } else {
            self.queue_eth
        }
    }

    /// Moves the queue to `t` and returns it, ETH.
    fn advance(&mut self, t: f64) -> f64 {
        let dt = t - self.time_days;
        if dt > 0.0 {
            let net = self.inflow_eth_per_day - self.churn_eth_per_day;
            self.queue_eth = (self.queue_eth + net * dt).max(0.0);
            self.time_days = t;
        }
        self.queue_eth
    }

    /// The queue at `t`, ETH, counted toward the peak.
    pub fn observe(&mut self, t: f64) -> f64 {
        let q = self.advance(t);
        self.peak_eth = self.peak_eth.max(q);
        q
    }

    /// `eth` joins the back of the queue at `t`; returns the days until the ETH ahead of it
    /// has exited (its own ETH then leaves over `eth / churn` days).
    pub fn join(&mut self, t: f64, eth: f64) -> f64 {
        let ahead = self.advance(t);
        self.queue_eth += eth;
        self.peak_eth = self.peak_eth.max(self.queue_eth);
        ahead / self.churn_eth_per_day
    }

    /// The largest queue seen on the path, ETH.
    pub fn peak_eth(&self) -> f64 {
        self.peak_eth
    }
}

#[cfg(test)]
mod tests {
    use super::ExitQueue;

    /// Several exits, from different stakers, join one queue of 1,000 ETH draining at 100 ETH
    /// a day while others join at 20 a day. Each waits for exactly the ETH ahead of it: what
    /// was queued when it joined, less the churn since t = 0, plus the inflow — so each exit's
    /// ETH starts leaving when the one before it has left plus the inflow in between, in the
    /// order they joined (first in, first out), and the waits are the churn arithmetic to
    /// rounding.
    #[test]
    fn exits_leave_first_in_first_out_with_the_churn_arithmetic() {
        let (q0, inflow, churn) = (1_000.0, 20.0, 100.0);
        let mut q = ExitQueue::new(q0, inflow, churn);
        // (day, ETH): A, then B and C at the same moment (B first), a rush, then D after the
        // queue has had time to drain.
        let joins = [
            (1.0, 300.0),
            (2.0, 200.0),
            (2.0, 500.0),
            (5.0, 1_000.0),
            (80.0, 100.0),
        ];
        let mut joined = 0.0;
        let mut prev: Option<(f64, f64)> = None; // (join day, day its last ETH leaves)
        for (t, eth) in joins {
            let wait = q.join(t, eth);
            // What is ahead: everything that joined before, plus the others' inflow, less
            // what left at the churn — never below empty.
            // (The queue empties only once, after the rush, on day 5 + 2,600 / 80 = 37.5, and
            // stays empty as the inflow is below the churn: D, on day 80, waits for nothing.)
            let expected = (q0 + joined + (inflow - churn) * t).max(0.0) / churn;
            assert!(
                (wait - expected).abs() < 1e-12,
                "day {t}: {wait} vs {expected}"
            );
            let start = t + wait;
            if let Some((t_prev, end_prev)) = prev
                && end_prev > t
            {
                // FIFO: it starts when the exit before it has left, plus the inflow between.
                let between = inflow * (t - t_prev) / churn;
                assert!((start - (end_prev + between)).abs() < 1e-9, "day {t}");
            }
            prev = Some((t, start + eth / churn));
            joined += eth;
        }
        // The largest queue was right after the rush.
        let at_rush = q0 + 2_000.0 + inflow * 5.0 - churn * 5.0;
        assert!((q.peak_eth() - at_rush).abs() < 1e-9, "{}", q.peak_eth());
        // Reading the queue does not move it; observing does, and it drains to empty.
        assert_eq!(q.queue_eth_at(200.0), 0.0);
        assert_eq!(q.observe(200.0), 0.0);
        q.reset();
        assert_eq!((q.queue_eth_at(0.0), q.peak_eth()), (q0, q0));
    }
}

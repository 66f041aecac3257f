//! Semantic checks on a deserialized scenario. Each problem names its field path and what is
//! allowed; all problems are reported together.

use std::collections::{BTreeMap, BTreeSet};

use crate::beacon::{Fork, SLOTS_PER_DAY};
use crate::error::Diagnostic;
use crate::importance::{MAX_FACTOR_SHIFT, Slot, source_slot, tiltable};
use crate::market::MAX_PRICE_MOVE_PER_SUBSTEP_RANGE;
use crate::model::{AVS_FAULTS_SOURCE, selected_operators, selected_pairs, stakes_of};
use crate::rate::Rate;
use crate::spec::{
    CopulaFamily, ExitNetwork, ExploitKind, HitUnit, Importance, ImportanceMethod, IncidentKind,
    Lending, LossKind, Market, OracleKind, PoolKind, Scenario, Selector, TokenKind, Withdrawals,
};
use crate::suggest::closest;
use crate::withdrawal::MAX_DEMAND_PER_SUBSTEP_RANGE;

/// A number in a message: as written (`0.05`, `2000000000`) in the usual range, in
/// exponent form beyond it (`5e-324`, `1e308`), never 300 digits.
pub struct Num(pub f64);

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.0;
        if v == 0.0 || !v.is_finite() || (1e-5..1e16).contains(&v.abs()) {
            write!(f, "{v}")
        } else {
            write!(f, "{v:e}")
        }
    }
}

/// Relative tolerance for "sums to" checks (stakes, magnitudes).
pub const SUM_TOLERANCE: f64 = 1e-9;
/// Largest degrees of freedom of a Student-t copula: the t quantile function loses accuracy
/// far beyond it, where the copula is Gaussian to within 2.2/ν anyway.
pub const MAX_DOF: f64 = 1000.0;
/// Smallest degrees of freedom of a Student-t copula: below it the t quantiles of small
/// probabilities overflow.
pub const MIN_DOF: f64 = 1.0;
/// Longest inactivity leak a scenario may describe, days.
pub const MAX_LEAK_DAYS: f64 = 10_000.0;
/// Largest number of steps a path may have.
pub const MAX_STEPS: f64 = 10_000_000.0;
/// Largest amount of ETH any field may give (about eight times all ETH in existence, ~1.2e8):
/// stakes, pools, buffers, queues, flows per day, capital, reserves.
pub const MAX_ETH: f64 = 1e9;
/// Smallest amount of ETH a field that must be positive may give: 1 gwei.
pub const MIN_ETH: f64 = 1e-9;
/// Longest duration any `_days` field may give, and the longest horizon: 100 years.
pub const MAX_DAYS: f64 = 36_500.0;
/// Shortest positive duration a `_days` field that must be positive may give: 1e-6 day
/// (0.0864 s), the market's shortest sub-step; shorter ones only overflow the rates
/// computed from them.
pub const MIN_DAYS: f64 = 1e-6;
/// Smallest share of the pool on either side at t = 0 (`market.pool.lrt_share` is in
/// [1e-6, 1 − 1e-6]): a side below a millionth of the pool is an empty side.
pub const MIN_POOL_SIDE_SHARE: f64 = 1e-6;
/// Largest APR, interest rate or required return per year (1,000 % a year).
pub const MAX_APR: f64 = 10.0;
/// Largest sensitivity of a share per day to a driver (`*_sensitivity_per_day`,
/// `flight_per_day`, `sell_per_loss`).
pub const MAX_SENSITIVITY: f64 = 1_000.0;
/// Most paths a run may have: 2⁵³, the largest count every output represents exactly (path
/// ids and counts are read back as 64-bit floats, by JSON readers too).
pub const MAX_PATHS: u64 = 1 << 53;
/// Range of the exchange rate (ETH per LRT at t = 0) that `pool.exchange_rate` or
/// `pool.lrt_supply` may give.
pub const EXCHANGE_RATE_RANGE: (f64, f64) = (1e-6, 1e6);
/// Largest sector-wide rush a scenario may describe, ETH: a bound on the `size_eth`
/// distributions of `[[withdrawals.network.rushes]]`.
pub const MAX_RUSH_ETH: f64 = MAX_ETH;
/// Largest exit-churn parameter, ETH per epoch: keeps the rule's Gwei arithmetic within u64.
pub const MAX_CHURN_PER_EPOCH_ETH: u64 = 1_000_000_000;
/// Largest LRT/ETH pool a scenario may describe, ETH (`market.pool.depth_eth`).
pub const MAX_MARKET_DEPTH_ETH: f64 = MAX_ETH;
/// stableswap-ng's MAX_FEE, 50 %, in basis points: `set_new_fee` requires
/// `offpeg_fee_multiplier × fee ≤ MAX_FEE × FEE_DENOMINATOR`.
const MAX_OFFPEG_FEE_BPS: f64 = 5_000.0;

/// Largest StableSwap amplification A (`market.pool.amplification`); Curve pools use up to a
/// few thousand.
pub const MAX_AMPLIFICATION: f64 = 1e6;
/// Most discount thresholds in `market.report.thresholds_bps` (each one adds report columns).
pub const MAX_MARKET_THRESHOLDS: usize = 8;
/// Most health-factor buckets in `[[lending.positions]]`.
pub const MAX_POSITION_BUCKETS: usize = 64;
/// Largest health factor of a `[[lending.positions]]` bucket at t = 0.
pub const MAX_HEALTH_FACTOR: f64 = 100.0;
/// Largest `lending.looper_leverage`.
pub const MAX_LOOPER_LEVERAGE: f64 = 100.0;
/// Basis points in a whole (a loss of the entire NAV).
const BPS: f64 = 10_000.0;

struct Checker {
    out: Vec<Diagnostic>,
}

impl Checker {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.out.push(Diagnostic::new(path, message));
    }
    fn finite_in(&mut self, path: &str, v: f64, lo: f64, hi: f64) {
        if !(v.is_finite() && v >= lo && v <= hi) {
            let v = Num(v);
            self.push(path, format!("must be in [{lo}, {hi}], got {v}"));
        }
    }
    fn non_negative(&mut self, path: &str, v: f64) {
        if !(v.is_finite() && v >= 0.0) {
            let v = Num(v);
            self.push(path, format!("must be a finite number ≥ 0, got {v}"));
        }
    }
    /// `v` in [lo, hi).
    fn finite_in_closed_open(&mut self, path: &str, v: f64, lo: f64, hi: f64) {
        if !(v.is_finite() && v >= lo && v < hi) {
            let v = Num(v);
            self.push(path, format!("must be in [{lo}, {hi}), got {v}"));
        }
    }
    /// `v` in (lo, hi).
    fn finite_in_open(&mut self, path: &str, v: f64, lo: f64, hi: f64) {
        if !(v.is_finite() && v > lo && v < hi) {
            let v = Num(v);
            self.push(path, format!("must be in ({lo}, {hi}), got {v}"));
        }
    }
    /// `v` in (lo, hi].
    fn finite_in_open_closed(&mut self, path: &str, v: f64, lo: f64, hi: f64) {
        if !(v.is_finite() && v > lo && v <= hi) {
            let v = Num(v);
            self.push(path, format!("must be in ({lo}, {hi}], got {v}"));
        }
    }
    /// An amount of ETH in [0, [`MAX_ETH`]].
    fn amount(&mut self, path: &str, v: f64) {
        if !(v.is_finite() && (0.0..=MAX_ETH).contains(&v)) {
            let v = Num(v);
            self.push(path, format!("must be an amount in [0, 1e9] ETH (all ETH in existence is about 1.2e8), got {v}"));
        }
    }
    /// An amount of ETH in [[`MIN_ETH`], [`MAX_ETH`]].
    fn positive_amount(&mut self, path: &str, v: f64) {
        if !(v.is_finite() && (MIN_ETH..=MAX_ETH).contains(&v)) {
            let v = Num(v);
            self.push(path, format!("must be an amount in [1e-9, 1e9] ETH (1 gwei to about eight times all ETH in existence), got {v}"));
        }
    }
    /// A duration in [0, [`MAX_DAYS`]] days.
    fn duration(&mut self, path: &str, v: f64) {
        if !(v.is_finite() && (0.0..=MAX_DAYS).contains(&v)) {
            let v = Num(v);
            self.push(
                path,
                format!("must be a duration in [0, {MAX_DAYS}] days (100 years), got {v}"),
            );
        }
    }
    /// A duration in [[`MIN_DAYS`], [`MAX_DAYS`]] days.
    fn positive_duration(&mut self, path: &str, v: f64) {
        if !(v.is_finite() && (MIN_DAYS..=MAX_DAYS).contains(&v)) {
            let v = Num(v);
            self.push(path, format!("must be a duration in [{MIN_DAYS:e}, {MAX_DAYS}] days (0.0864 s to 100 years), got {v}"));
        }
    }
    /// An APR, interest rate or return per year in [0, [`MAX_APR`]].
    fn apr(&mut self, path: &str, v: f64) {
        if !(v.is_finite() && (0.0..=MAX_APR).contains(&v)) {
            let v = Num(v);
            self.push(
                path,
                format!("must be a rate in [0, {MAX_APR}] per year (0 to 1,000 %), got {v}"),
            );
        }
    }
    /// A sensitivity in [0, [`MAX_SENSITIVITY`]].
    fn sensitivity(&mut self, path: &str, v: f64) {
        self.finite_in(path, v, 0.0, MAX_SENSITIVITY);
    }
    fn name(&mut self, path: &str, name: &str) {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.push(path, format!("`{name}` is not a valid name: use letters, digits, `-` and `_` (names appear in --set paths and CSV columns)"));
        }
    }
    /// A valid name, not yet in `seen` (one namespace per list: `what` names it in the error).
    fn unique_name<'a>(
        &mut self,
        path: &str,
        name: &'a str,
        seen: &mut BTreeSet<&'a str>,
        what: &str,
    ) {
        self.name(path, name);
        if !seen.insert(name) {
            self.push(path, format!("duplicate {what} name `{name}`"));
        }
    }
    fn reference(&mut self, path: &str, name: &str, kind: &str, known: &[&str]) -> bool {
        if known.contains(&name) {
            return true;
        }
        let hint = closest(name, known.iter().copied())
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        self.push(path, format!("no {kind} named `{name}`{hint}"));
        false
    }
}

/// Returns every semantic problem of `s` (empty when the scenario is valid).
pub fn validate(s: &Scenario) -> Vec<Diagnostic> {
    let mut c = Checker { out: Vec::new() };
    if let Some(name) = &s.name {
        c.name("name", name);
    }
    check_simulation(&mut c, s);
    check_pool(&mut c, s);
    c.apr("rewards.base_apr", s.rewards.base_apr);
    c.apr("rewards.mev_apr", s.rewards.mev_apr);
    c.finite_in(
        "rewards.operator_commission",
        s.rewards.operator_commission,
        0.0,
        1.0,
    );
    let avs_names: Vec<&str> = s.avs.iter().map(|a| a.name.as_str()).collect();
    check_operators(&mut c, s, &avs_names);
    check_lrts(&mut c, s);
    check_avs(&mut c, s);
    check_beacon(&mut c, s);
    // Structural problems make selector resolution meaningless: skip it then.
    let resolve = c.out.is_empty();
    check_sources(&mut c, s, &avs_names, resolve);
    if let Some(w) = &s.withdrawals {
        check_withdrawals(&mut c, s, w, "withdrawals", s.market.is_some());
    }
    if let Some(m) = &s.market {
        let place = MarketPlace {
            at: "market",
            withdrawals: s.withdrawals.as_ref(),
            door: "[withdrawals]",
            supply_eth: supply_eth(s),
            supply_is: "pool.collateral_eth plus the buffer",
        };
        check_market(&mut c, s, m, &place);
    }
    if let Some(l) = &s.lending {
        let place = LendingPlace {
            at: "lending",
            market: s.market.as_ref(),
            market_hint: "needs [market]: liquidators sell the seized LRT into the market's pool; add [market] (at least [market.pool] with its depth_eth) or remove [lending]",
            supply_eth: supply_eth(s),
            supply_is: "pool.collateral_eth plus the buffer",
            door: s.withdrawals.is_some(),
            exploits: !s.exploits.is_empty(),
            rates: l.rates.is_some(),
        };
        check_lending(&mut c, s, l, &place);
    }
    check_reserves(&mut c, s);
    check_governance(&mut c, s, &avs_names);
    check_redelegations(&mut c, s);
    check_undelegations(&mut c, s);
    check_lsts(&mut c, s);
    check_rate_factors(&mut c, s);
    if let Some(imp) = &s.importance {
        check_importance(&mut c, s, imp);
    }
    if c.out.is_empty() {
        check_work(&mut c, s);
    }
    c.out
}

/// Most event-steps a path may imply: the expected number of events per path times the
/// number of steps. A path's work grows with both (every step visits what earlier events
/// left behind, such as slashed validators waiting to be withdrawn), so this bounds the time
/// one path can take to seconds.
pub const MAX_EVENT_STEPS: f64 = 1e9;

/// The expected number of events per path of each event source of a valid scenario, with the
/// field that sets it: Poisson means (tilted by manual importance multipliers), 1 for a
/// scheduled event, twice for double signing (its correlation penalty comes later) and for
/// exploits with a restitution, and the expected faults of each copula.
pub fn expected_events(s: &Scenario) -> Vec<(String, f64)> {
    let years = s.simulation.horizon_days / crate::DAYS_PER_YEAR;
    let multiplier = |name: &str| {
        s.importance
            .as_ref()
            .filter(|i| i.method == ImportanceMethod::Manual)
            .and_then(|i| i.rate_multipliers.get(name).copied())
            .unwrap_or(1.0)
    };
    let scheduled = |at: &str, rate: f64, at_days: Option<f64>, name: &str| match at_days {
        Some(_) => (format!("{at}.at_days"), 1.0),
        None => (
            format!("{at}.rate_per_year"),
            rate * years * multiplier(name),
        ),
    };
    let mut out = Vec::new();
    for (i, x) in s.shocks.iter().enumerate() {
        out.push(scheduled(
            &format!("shocks[{i}]"),
            x.rate_per_year.mean(),
            x.at_days,
            &x.name,
        ));
    }
    for (i, cp) in s.copulas.iter().enumerate() {
        let pairs = selected_pairs(s, &cp.select).len() as f64;
        let periods = crate::copula::Periods::new(s.simulation.horizon_days, cp.factor_period_days);
        let full = crate::model::copula_fault_prob(cp, periods.period_days);
        let last = crate::model::copula_fault_prob(cp, periods.last_days);
        let per_pair = if periods.last_is_partial() {
            f64::from(periods.n_periods - 1) * full + last
        } else {
            f64::from(periods.n_periods) * full
        };
        let field = if cp.fault_prob_per_day.is_some() {
            "fault_prob_per_day"
        } else {
            "fault_prob_per_year"
        };
        out.push((format!("copulas[{i}].{field}"), pairs * per_pair));
    }
    for (i, x) in s.beacon_incidents.iter().enumerate() {
        let (path, n) = scheduled(
            &format!("beacon_incidents[{i}]"),
            x.rate_per_year.mean(),
            x.at_days,
            &x.name,
        );
        let factor = if x.kind == IncidentKind::DoubleSign {
            2.0
        } else {
            1.0
        };
        out.push((path, n * factor));
    }
    for (i, x) in s.exploits.iter().enumerate() {
        let (path, n) = scheduled(
            &format!("exploits[{i}]"),
            x.rate_per_year.mean(),
            x.at_days,
            &x.name,
        );
        let factor = if x.restitution_share > 0.0 { 2.0 } else { 1.0 };
        out.push((path, n * factor));
    }
    for (i, a) in s.avs.iter().enumerate() {
        let pairs = s
            .operators
            .iter()
            .filter(|o| o.allocations.get(&a.name).is_some_and(|m| *m > 0.0))
            .count() as f64;
        out.push((
            format!("avs[{i}].fault_rate_per_year"),
            a.fault_rate_per_year.mean() * pairs * years * multiplier(AVS_FAULTS_SOURCE),
        ));
    }
    if let Some(w) = &s.withdrawals {
        for (i, r) in w.network.rushes.iter().enumerate() {
            out.push(scheduled(
                &format!("withdrawals.network.rushes[{i}]"),
                r.rate_per_year.mean(),
                r.at_days,
                "",
            ));
        }
    }
    let sector_queue = s.sector.as_ref().and_then(|x| x.exit_queue.as_ref());
    for (i, r) in sector_queue
        .iter()
        .flat_map(|q| q.rushes.iter())
        .enumerate()
    {
        out.push(scheduled(
            &format!("sector.exit_queue.rushes[{i}]"),
            r.rate_per_year.mean(),
            r.at_days,
            "",
        ));
    }
    let markets = s.market.iter().map(|m| ("market".to_string(), m));
    let lrt_markets = (s.lrts.iter().enumerate())
        .filter_map(|(k, l)| l.market.as_ref().map(|m| (format!("lrts[{k}].market"), m)));
    for (at, m) in markets.chain(lrt_markets) {
        for (i, d) in m.shocks.iter().enumerate() {
            out.push(scheduled(
                &format!("{at}.shocks[{i}]"),
                d.rate_per_year.mean(),
                d.at_days,
                "",
            ));
        }
    }
    let reserve = s.sector.as_ref().and_then(|x| x.lending.as_ref());
    for (i, x) in reserve
        .iter()
        .flat_map(|r| r.supply_shocks.iter())
        .enumerate()
    {
        out.push(scheduled(
            &format!("sector.lending.supply_shocks[{i}]"),
            x.rate_per_year.mean(),
            x.at_days,
            "",
        ));
    }
    if let Some(r) = s.lending.as_ref().and_then(|l| l.rates.as_ref()) {
        for (i, x) in r.supply_shocks.iter().enumerate() {
            out.push(scheduled(
                &format!("lending.rates.supply_shocks[{i}]"),
                x.rate_per_year.mean(),
                x.at_days,
                "",
            ));
        }
    }
    out
}

/// Refuses a scenario whose paths imply more than [`MAX_EVENT_STEPS`] event-steps, at the
/// source that expects the most events.
fn check_work(c: &mut Checker, s: &Scenario) {
    let steps = (s.simulation.horizon_days / s.simulation.step_days)
        .round()
        .max(1.0);
    let sources = expected_events(s);
    let total: f64 = sources.iter().map(|x| x.1).sum();
    if total * steps <= MAX_EVENT_STEPS {
        return;
    }
    let (path, most) = sources
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("events come from some source");
    c.push(
        path.clone(),
        format!(
            "the scenario expects {total:.3e} events per path ({most:.3e} from here) over {steps} steps: {:.3e} event-steps, and at most {MAX_EVENT_STEPS:.0e} are allowed, since a path's work grows with both; lower the rates or lengthen simulation.step_days",
            total * steps
        ),
    );
}

fn check_simulation(c: &mut Checker, s: &Scenario) {
    let sim = &s.simulation;
    if !(1..=MAX_PATHS).contains(&sim.paths) {
        c.push(
            "simulation.paths",
            format!("must be in [1, 2^53 = {MAX_PATHS}] (the largest count the outputs represent exactly), got {}", sim.paths),
        );
    }
    c.positive_duration("simulation.horizon_days", sim.horizon_days);
    c.positive_duration("simulation.step_days", sim.step_days);
    if sim.horizon_days > 0.0
        && sim.step_days > 0.0
        && sim.horizon_days.is_finite()
        && sim.step_days.is_finite()
    {
        let steps = (sim.horizon_days / sim.step_days).round();
        if sim.step_days > sim.horizon_days * (1.0 + SUM_TOLERANCE) {
            c.push(
                "simulation.step_days",
                format!(
                    "must be ≤ horizon_days ({}), got {}",
                    Num(sim.horizon_days),
                    Num(sim.step_days)
                ),
            );
        } else if (steps * sim.step_days - sim.horizon_days).abs() > 1e-9 * sim.horizon_days {
            c.push(
                "simulation.step_days",
                format!(
                    "must divide horizon_days ({}) into whole steps; {} gives {:.4} steps",
                    sim.horizon_days,
                    sim.step_days,
                    sim.horizon_days / sim.step_days
                ),
            );
        } else if steps > MAX_STEPS {
            c.push(
                "simulation.step_days",
                format!("gives {steps} steps; at most {MAX_STEPS} are allowed"),
            );
        }
    }
    if let Some(tol) = sim.max_price_move_per_substep {
        const PATH: &str = "simulation.max_price_move_per_substep";
        if s.market.is_none() && !s.lrts.iter().any(|l| l.market.is_some()) {
            c.push(
                PATH,
                "applies to scenarios with [market] (or a sector LRT's `market`) only (the market's resolution in time)",
            );
        } else {
            let (lo, hi) = MAX_PRICE_MOVE_PER_SUBSTEP_RANGE;
            c.finite_in_open_closed(PATH, tol, lo, hi);
        }
    }
    if let Some(share) = sim.max_demand_per_substep {
        const PATH: &str = "simulation.max_demand_per_substep";
        let doors = s.lrts.iter().any(|l| l.withdrawals.is_some());
        if s.withdrawals.is_none() && !doors {
            c.push(
                PATH,
                "applies to scenarios with [withdrawals] (or a sector LRT's `withdrawals`) only (the front door's resolution in time)",
            );
        } else {
            let (lo, hi) = MAX_DEMAND_PER_SUBSTEP_RANGE;
            c.finite_in_open_closed(PATH, share, lo, hi);
        }
    }
}

/// A copula's `factor_period_days`: > 0, at most the horizon, at most [`MAX_STEPS`] periods.
fn check_factor_period(c: &mut Checker, s: &Scenario, path: &str, period_days: f64) {
    c.positive_duration(path, period_days);
    let horizon = s.simulation.horizon_days;
    if !(period_days > 0.0 && period_days.is_finite() && horizon > 0.0 && horizon.is_finite()) {
        return;
    }
    if period_days > horizon * (1.0 + SUM_TOLERANCE) {
        c.push(
            path,
            format!(
                "must be ≤ horizon_days ({}), got {}",
                Num(horizon),
                Num(period_days)
            ),
        );
    } else if (horizon / period_days).ceil() > MAX_STEPS {
        c.push(
            path,
            format!(
                "gives {} factor periods; at most {MAX_STEPS} are allowed",
                (horizon / period_days).ceil()
            ),
        );
    }
}

fn check_pool(c: &mut Checker, s: &Scenario) {
    let p = &s.pool;
    c.positive_amount("pool.collateral_eth", p.collateral_eth);
    let (lo, hi) = EXCHANGE_RATE_RANGE;
    match (p.lrt_supply, p.exchange_rate) {
        (Some(_), Some(_)) => c.push(
            "pool.exchange_rate",
            "give either lrt_supply or exchange_rate, not both",
        ),
        (Some(v), None) => {
            let rate = p.collateral_eth / v;
            if !(v.is_finite() && v > 0.0) {
                c.push(
                    "pool.lrt_supply",
                    format!("must be a finite number > 0, got {}", Num(v)),
                );
            } else if p.collateral_eth.is_finite()
                && p.collateral_eth > 0.0
                && !(lo..=hi).contains(&rate)
            {
                c.push(
                    "pool.lrt_supply",
                    format!("gives an exchange rate collateral_eth / lrt_supply = {rate:e} ETH per LRT; it must be in [{lo:e}, {hi:e}]"),
                );
            }
        }
        (None, Some(v)) => c.finite_in("pool.exchange_rate", v, lo, hi),
        (None, None) => {}
    }
    c.finite_in("pool.protocol_fee", p.protocol_fee, 0.0, 1.0);
}

fn check_operators(c: &mut Checker, s: &Scenario, avs_names: &[&str]) {
    if s.operators.is_empty() {
        c.push("operators", "at least one operator is required");
        return;
    }
    let mut seen = BTreeSet::new();
    let mut total = 0.0;
    for (i, op) in s.operators.iter().enumerate() {
        let at = format!("operators[{i}]");
        c.unique_name(&format!("{at}.name"), &op.name, &mut seen, "operator");
        match (op.stake_eth, op.share) {
            (Some(_), Some(_)) => c.push(
                format!("{at}.share"),
                "give either stake_eth or share, not both",
            ),
            (None, None) => c.push(at.clone(), "needs `stake_eth` or `share`"),
            (Some(v), None) => {
                c.amount(&format!("{at}.stake_eth"), v);
                total += v;
            }
            (None, Some(v)) => {
                c.finite_in(&format!("{at}.share"), v, 0.0, 1.0);
                total += v * s.pool.collateral_eth;
            }
        }
        if let Some(v) = op.validator_balance_eth {
            validator_balance(c, &format!("{at}.validator_balance_eth"), v);
        }
        if let Some(v) = op.commission {
            c.finite_in(&format!("{at}.commission"), v, 0.0, 1.0);
        }
        let mut sum = 0.0;
        for (avs, m) in &op.allocations {
            let path = format!("{at}.allocations.{avs}");
            c.reference(&path, avs, "AVS", avs_names);
            c.finite_in(&path, *m, 0.0, 1.0);
            sum += m;
        }
        if sum > 1.0 + SUM_TOLERANCE {
            c.push(
                format!("{at}.allocations"),
                format!("magnitudes sum to {sum}; under unique stake they may sum to at most 1"),
            );
        }
    }
    let collateral = s.pool.collateral_eth;
    if collateral > 0.0
        && total.is_finite()
        && (total - collateral).abs() > SUM_TOLERANCE * collateral.max(1.0)
    {
        c.push(
            "operators",
            format!("operator stakes sum to {total} ETH but pool.collateral_eth is {collateral}; shares must sum to 1 and stake_eth values to the collateral"),
        );
    }
}

/// Largest contagion loading: a loss elsewhere felt at most 100 times over.
const MAX_LOADING: f64 = 100.0;

/// `[[lrts]]` and the operators' `lrts` shares: names unique, shares in [0, 1] summing to at
/// most 1 per operator, every LRT with stake; and, for now, none of the per-LRT machinery a
/// sector does not model yet.
fn check_lrts(c: &mut Checker, s: &Scenario) {
    let mut seen = BTreeSet::new();
    for (i, l) in s.lrts.iter().enumerate() {
        c.unique_name(&format!("lrts[{i}].name"), &l.name, &mut seen, "LRT");
    }
    let names: Vec<&str> = s.lrts.iter().map(|l| l.name.as_str()).collect();
    let mut stake = vec![0.0; s.lrts.len()];
    for (i, op) in s.operators.iter().enumerate() {
        let at = format!("operators[{i}].lrts");
        if !op.lrts.is_empty() && s.lrts.is_empty() {
            c.push(
                at,
                "names LRTs, but the scenario has no [[lrts]]: add one `[[lrts]]` table per LRT (or remove `lrts`)",
            );
            continue;
        }
        let mut sum = 0.0;
        for (lrt, share) in &op.lrts {
            let path = format!("{at}.{lrt}");
            if c.reference(&path, lrt, "LRT", &names) {
                let k = names.iter().position(|n| n == lrt).expect("known");
                let op_stake = op.stake_eth_of(s.pool.collateral_eth);
                stake[k] += share * op_stake;
            }
            c.finite_in(&path, *share, 0.0, 1.0);
            sum += share;
        }
        if sum > 1.0 + SUM_TOLERANCE {
            c.push(
                at,
                format!("the LRTs' shares sum to {sum}; they may sum to at most 1 (the rest is other stakers')"),
            );
        }
    }
    for (k, l) in s.lrts.iter().enumerate() {
        if stake[k].is_nan() || stake[k] <= 0.0 {
            c.push(
                format!("lrts[{k}]"),
                format!(
                    "no operator holds stake for `{}`: give it a share in some operator's `lrts`",
                    l.name
                ),
            );
        }
    }
    match (&s.sector, s.lrts.is_empty()) {
        (Some(_), true) => c.push(
            "sector",
            "describes the LRTs of a sector together, but the scenario has no [[lrts]]",
        ),
        (Some(sector), false) => check_thresholds_bps(
            c,
            "sector.joint_loss_thresholds_bps",
            &sector.joint_loss_thresholds_bps,
        ),
        (None, _) => {}
    }
    if !s.lrts.is_empty() {
        if s.withdrawals.is_some() {
            c.push(
                "withdrawals",
                "a sector scenario gives each LRT its own front door: move this section into that LRT's [[lrts]] table as `[lrts.withdrawals]` (and its `network` into [sector.exit_queue], which every LRT shares)",
            );
        }
        if s.market.is_some() {
            c.push(
                "market",
                "a sector scenario gives each LRT its own market: move this section into that LRT's [[lrts]] table as `[lrts.market]`",
            );
        }
        if s.lending.is_some() {
            c.push(
                "lending",
                "a sector scenario puts each LRT's collateral in its own [[lrts]] table as `[lrts.lending]`, and the one WETH reserve they borrow from (the `rates` here) in [sector.lending]",
            );
        }
        if !s.reserves.is_empty() {
            c.push(
                "reserves",
                "a sector scenario ([[lrts]]) models each LRT's slashing, rewards, exploits, front door, market and lending so far, not yet reserves: remove this section, or [[lrts]] to model one LRT",
            );
        }
    }
    for (k, l) in s.lrts.iter().enumerate() {
        let Some(w) = &l.withdrawals else { continue };
        let at = format!("lrts[{k}].withdrawals");
        if w.network != ExitNetwork::default() {
            c.push(
                format!("{at}.network"),
                "the exit queue is the sector's, shared by every LRT: set it once in [sector.exit_queue] (and remove it here)",
            );
        }
        check_withdrawals(c, s, w, &at, l.market.is_some());
    }
    for (k, l) in s.lrts.iter().enumerate() {
        let Some(mk) = &l.market else { continue };
        let at = format!("lrts[{k}].market");
        let door = format!("lrts[{k}].withdrawals");
        let buffer = l.withdrawals.as_ref().and_then(|w| w.buffer.as_ref());
        let place = MarketPlace {
            at: &at,
            withdrawals: l.withdrawals.as_ref(),
            door: &door,
            supply_eth: stake[k] + buffer.map_or(0.0, |b| b.initial_eth),
            supply_is: "the stake its operators hold for it plus its buffer",
        };
        check_market(c, s, mk, &place);
    }
    let mut debt0_eth = 0.0;
    for (k, l) in s.lrts.iter().enumerate() {
        let Some(x) = &l.lending else { continue };
        let at = format!("lrts[{k}].lending");
        let buffer = l.withdrawals.as_ref().and_then(|w| w.buffer.as_ref());
        let supply = stake[k] + buffer.map_or(0.0, |b| b.initial_eth);
        let place = LendingPlace {
            at: &at,
            market: l.market.as_ref(),
            market_hint: "needs the LRT's `market` (in its [[lrts]] table): liquidators sell the seized LRT into its pool; add [lrts.market] or remove this section",
            supply_eth: supply,
            supply_is: "the stake its operators hold for it plus its buffer",
            door: l.withdrawals.is_some(),
            exploits: (s.exploits.iter()).any(|e| e.lrt.as_deref() == Some(l.name.as_str())),
            rates: s.sector.as_ref().is_some_and(|x| x.lending.is_some()),
        };
        check_lending(c, s, x, &place);
        if x.rates.is_some() {
            c.push(
                format!("{at}.rates"),
                "the borrow rate is the one WETH reserve's, shared by every LRT's collateral: move this section to [sector.lending] (with supply_eth, the reserve's ETH, instead of utilization)",
            );
        }
        debt0_eth += debt0(x, supply);
    }
    let lending = s.sector.as_ref().and_then(|x| x.lending.as_ref());
    if let Some(r) = lending {
        check_reserve(c, s, r, debt0_eth);
    }
    let queue = s.sector.as_ref().and_then(|x| x.exit_queue.as_ref());
    if let Some(net) = queue {
        if !s.lrts.iter().any(|l| l.withdrawals.is_some()) {
            c.push(
                "sector.exit_queue",
                "no LRT has a front door to exit through it: give some [[lrts]] table a `withdrawals` section, or remove this one",
            );
        }
        let trigger = (s.lrts.iter())
            .any(|l| (l.withdrawals.as_ref()).is_some_and(|w| w.demand.trigger.is_some()));
        check_exit_network(c, s, net, "sector.exit_queue", trigger);
    }
    if let Some(a) = s.sector.as_ref().and_then(|x| x.arbitrage.as_ref()) {
        let at = "sector.arbitrage";
        c.positive_amount(&format!("{at}.capital_eth"), a.capital_eth);
        let arbitraged = (s.lrts.iter())
            .filter_map(|l| l.market.as_ref())
            .any(|m| m.arbitrage.is_some());
        if !arbitraged {
            c.push(
                at,
                "no LRT's market has arbitrageurs to share it: give some LRT's `market` an `arbitrage` section (its required return and premium), or remove this one",
            );
        }
        for (k, l) in s.lrts.iter().enumerate() {
            let arb = l.market.as_ref().and_then(|m| m.arbitrage.as_ref());
            if arb.is_some_and(|a| a.capital_eth.is_some()) {
                c.push(
                    format!("lrts[{k}].market.arbitrage.capital_eth"),
                    "the arbitrageurs' capital is the sector's one pot, [sector.arbitrage] capital_eth: remove it here",
                );
            }
        }
    }
    if let Some(ct) = s.sector.as_ref().and_then(|x| x.contagion.as_ref()) {
        let at = "sector.contagion";
        if !s
            .lrts
            .iter()
            .any(|l| l.withdrawals.is_some() || l.market.is_some())
        {
            c.push(
                at,
                "no LRT has a front door or a market whose holders could react: give some [[lrts]] table a `withdrawals` or `market` section, or remove this one",
            );
        }
        c.finite_in(&format!("{at}.loading"), ct.loading, 0.0, MAX_LOADING);
        for (i, row) in &ct.loadings {
            let from = format!("{at}.loadings.{i}");
            c.reference(&from, i, "LRT", &names);
            for (j, v) in row {
                let path = format!("{from}.{j}");
                c.reference(&path, j, "LRT", &names);
                c.finite_in(&path, *v, 0.0, MAX_LOADING);
                if i == j {
                    c.push(
                        path,
                        "an LRT's own loss moves its holders through its own trigger: a loading is between two different LRTs",
                    );
                }
            }
        }
    }
    for (i, e) in s.exploits.iter().enumerate() {
        let at = format!("exploits[{i}]");
        match (&e.lrt, s.lrts.is_empty()) {
            (Some(_), true) => c.push(
                format!("{at}.lrt"),
                "names an LRT, but the scenario has no [[lrts]]: the exploit hits the one LRT (remove `lrt`)",
            ),
            (None, false) => c.push(
                at.clone(),
                format!(
                    "a sector scenario needs the LRT the exploit hits: add `lrt = \"{}\"` (one of {})",
                    s.lrts[0].name,
                    names.join(", ")
                ),
            ),
            (Some(lrt), false) => {
                c.reference(&format!("{at}.lrt"), lrt, "LRT", &names);
            }
            (None, true) => {}
        }
    }
}

fn check_avs(c: &mut Checker, s: &Scenario) {
    let mut seen = BTreeSet::new();
    for (i, a) in s.avs.iter().enumerate() {
        let at = format!("avs[{i}]");
        c.unique_name(&format!("{at}.name"), &a.name, &mut seen, "AVS");
        c.apr(&format!("{at}.reward_apr"), a.reward_apr);
        check_rate(
            c,
            s,
            &format!("{at}.fault_rate_per_year"),
            &a.fault_rate_per_year,
            a.fault_rate_factor.as_deref(),
        );
        match &a.fault_severity {
            Some(sev) => {
                for (field, msg) in sev.problems() {
                    c.push(join(&format!("{at}.fault_severity"), field), msg);
                }
            }
            None if a.fault_rate_per_year.mean() > 0.0 => c.push(
                format!("{at}.fault_severity"),
                "is required when fault_rate_per_year > 0",
            ),
            None => {}
        }
    }
}

fn check_sources(c: &mut Checker, s: &Scenario, avs_names: &[&str], resolve: bool) {
    let mut seen = BTreeSet::new();
    let mut unique = |c: &mut Checker, path: String, name: &str| {
        c.name(&path, name);
        if name == AVS_FAULTS_SOURCE {
            c.push(
                path,
                format!("`{AVS_FAULTS_SOURCE}` is reserved for the AVSs' independent faults"),
            );
        } else if !seen.insert(name.to_string()) {
            c.push(
                path,
                format!(
                    "duplicate source name `{name}` (shock, copula, beacon-incident and exploit names share one namespace)"
                ),
            );
        }
    };
    for (i, sh) in s.shocks.iter().enumerate() {
        let at = format!("shocks[{i}]");
        unique(c, format!("{at}.name"), &sh.name);
        check_schedule(
            c,
            s,
            &at,
            &sh.rate_per_year,
            sh.rate_factor.as_deref(),
            sh.at_days,
        );
        check_hits(c, &at, sh.hit_probability, sh.hits_per_event);
        for (field, msg) in sh.severity.problems() {
            c.push(join(&format!("{at}.severity"), field), msg);
        }
        if resolve {
            let selected = check_selector(c, s, &format!("{at}.select"), &sh.select, avs_names);
            if let (Some(k), Some(pairs)) = (sh.hits_per_event, selected) {
                let units = hit_units(&pairs, sh.hit_per);
                if k == 0 || k as usize > units {
                    c.push(format!("{at}.hits_per_event"), format!("must be between 1 and the number of hit units selected ({units}), got {k}"));
                }
            }
        }
    }
    for (i, cp) in s.copulas.iter().enumerate() {
        let at = format!("copulas[{i}]");
        unique(c, format!("{at}.name"), &cp.name);
        match (cp.family, cp.dof) {
            (CopulaFamily::StudentT, None) => c.push(
                format!("{at}.dof"),
                "is required for family = \"student_t\"",
            ),
            (CopulaFamily::StudentT, Some(v)) => {
                if !(MIN_DOF..=MAX_DOF).contains(&v) {
                    let why = if v > MAX_DOF {
                        "; beyond that the t copula is the Gaussian one: use family = \"gaussian\""
                    } else {
                        "; below 1 its tails are heavier than Cauchy's and its quantiles leave the floating-point range"
                    };
                    c.push(
                        format!("{at}.dof"),
                        format!("must be in [{MIN_DOF}, {MAX_DOF}], got {}{why}", Num(v)),
                    );
                }
            }
            (CopulaFamily::Gaussian, Some(_)) => c.push(
                format!("{at}.dof"),
                "applies only to family = \"student_t\"",
            ),
            (CopulaFamily::Gaussian, None) => {}
        }
        match (cp.fault_prob_per_day, cp.fault_prob_per_year) {
            (Some(_), Some(_)) => c.push(
                format!("{at}.fault_prob_per_year"),
                "give either fault_prob_per_day or fault_prob_per_year, not both",
            ),
            (None, None) => c.push(
                at.clone(),
                "needs `fault_prob_per_day` or `fault_prob_per_year`",
            ),
            (Some(p), None) => c.finite_in(&format!("{at}.fault_prob_per_day"), p, 0.0, 1.0),
            (None, Some(p)) => c.finite_in(&format!("{at}.fault_prob_per_year"), p, 0.0, 1.0),
        }
        check_factor_period(
            c,
            s,
            &format!("{at}.factor_period_days"),
            cp.factor_period_days,
        );
        c.finite_in(
            &format!("{at}.global_correlation"),
            cp.global_correlation,
            0.0,
            1.0,
        );
        c.finite_in(
            &format!("{at}.group_correlation"),
            cp.group_correlation,
            0.0,
            1.0,
        );
        if cp.global_correlation + cp.group_correlation > 1.0 + SUM_TOLERANCE {
            c.push(
                format!("{at}.group_correlation"),
                format!(
                    "global_correlation + group_correlation must be ≤ 1, got {}",
                    cp.global_correlation + cp.group_correlation
                ),
            );
        }
        if cp.group_correlation > 0.0 && cp.group_by.is_none() {
            c.push(
                format!("{at}.group_by"),
                "is required when group_correlation > 0",
            );
        }
        for (field, msg) in cp.severity.problems() {
            c.push(join(&format!("{at}.severity"), field), msg);
        }
        let selected = if resolve {
            check_selector(c, s, &format!("{at}.select"), &cp.select, avs_names)
        } else {
            None
        };
        if let (Some(key), Some(pairs)) = (&cp.group_by, selected)
            && key != "avs"
            && key != "operator"
        {
            let missing: Vec<&str> = pairs
                .iter()
                .map(|(op, _)| &s.operators[*op])
                .filter(|op| !op.attributes.contains_key(key))
                .map(|op| op.name.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if !missing.is_empty() {
                let keys = attribute_keys(s);
                let hint = closest(key, keys.iter().copied().filter(|k| k != key))
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                c.push(
                        format!("{at}.group_by"),
                        format!("must be `avs`, `operator` or an attribute every selected operator has; missing on {}{hint}", missing.join(", ")),
                    );
            }
        }
    }
    check_incidents(c, s, &mut unique, resolve);
    check_exploits(c, s, &mut unique);
}

/// An event source is either Poisson (`rate_per_year` ≥ 0) or scheduled once (`at_days` in
/// [0, horizon_days)), not both.
fn check_schedule(
    c: &mut Checker,
    s: &Scenario,
    at: &str,
    rate: &Rate,
    factor: Option<&str>,
    at_days: Option<f64>,
) {
    check_rate(c, s, &format!("{at}.rate_per_year"), rate, factor);
    let Some(day) = at_days else { return };
    let path = format!("{at}.at_days");
    let horizon = s.simulation.horizon_days;
    if horizon.is_finite() && horizon > 0.0 {
        if !(day.is_finite() && day >= 0.0 && day < horizon) {
            c.push(
                &path,
                format!(
                    "must be in [0, horizon_days) = [0, {}), got {}",
                    Num(horizon),
                    Num(day)
                ),
            );
        }
    } else {
        c.non_negative(&path, day);
    }
    if rate.is_uncertain() || rate.mean() != 0.0 {
        c.push(&path, "give rate_per_year or at_days, not both");
    }
    if factor.is_some() {
        c.push(
            path,
            "a scheduled event has no rate for rate_factor to multiply; remove rate_factor or at_days",
        );
    }
}

/// Largest manual importance multiplier of a rate (and the reciprocal the smallest): the
/// automatic method's cap too. Beyond, the likelihood-ratio weights leave the floats.
pub const MAX_RATE_MULTIPLIER: f64 = 1_000.0;

/// Most events a Poisson source may expect over the horizon (its count is drawn per path).
pub const MAX_EXPECTED_EVENTS: f64 = 1e6;

/// Most events a source with an uncertain rate may expect over the horizon on average: its
/// draws can lie far above the mean.
pub const MAX_UNCERTAIN_EXPECTED_EVENTS: f64 = 1e3;

/// An event rate per year: ≥ 0, and at most [`MAX_EXPECTED_EVENTS`] over the horizon; an
/// uncertain rate (a distribution, or one loading on a rate factor) a valid distribution
/// expecting at most [`MAX_UNCERTAIN_EXPECTED_EVENTS`] on average, and naming a factor that
/// exists.
fn check_rate(c: &mut Checker, s: &Scenario, path: &str, rate: &Rate, factor: Option<&str>) {
    let years = s.simulation.horizon_days / crate::DAYS_PER_YEAR;
    let problems = rate.problems();
    if !rate.is_uncertain() {
        c.non_negative(path, rate.mean());
    }
    for (field, msg) in &problems {
        c.push(join(path, field), msg.clone());
    }
    if let Some(f) = factor {
        let known: Vec<&str> = s.rate_factors.iter().map(|x| x.name.as_str()).collect();
        let at = format!("{}_factor", path.strip_suffix("_per_year").unwrap_or(path));
        c.reference(&at, f, "rate factor", &known);
    }
    if !(problems.is_empty() && years.is_finite() && years > 0.0) {
        return;
    }
    let mean = rate.mean() * years;
    if !mean.is_finite() {
        return;
    }
    if mean > MAX_EXPECTED_EVENTS {
        c.push(
            path,
            format!(
                "expects {mean:.3e} events over the horizon; at most {MAX_EXPECTED_EVENTS:.0e} are allowed"
            ),
        );
    } else if (rate.is_uncertain() || factor.is_some()) && mean > MAX_UNCERTAIN_EXPECTED_EVENTS {
        c.push(
            path,
            format!(
                "expects {mean:.3e} events over the horizon on average; an uncertain rate (a distribution or a rate factor) may expect at most {MAX_UNCERTAIN_EXPECTED_EVENTS:.0e}, so that its draws far above the mean stay simulable"
            ),
        );
    } else if let Some(max) = rate.max().filter(|_| rate.is_uncertain())
        && max * years > MAX_EXPECTED_EVENTS
    {
        c.push(
            join(path, "values"),
            format!(
                "the largest rate expects {:.3e} events over the horizon; at most {MAX_EXPECTED_EVENTS:.0e} are allowed",
                max * years
            ),
        );
    }
}

/// `hit_probability` is a probability and excludes `hits_per_event`.
fn check_hits(
    c: &mut Checker,
    at: &str,
    hit_probability: Option<f64>,
    hits_per_event: Option<u32>,
) {
    if let Some(q) = hit_probability {
        c.finite_in(&format!("{at}.hit_probability"), q, 0.0, 1.0);
        if hits_per_event.is_some() {
            c.push(
                format!("{at}.hits_per_event"),
                "give either hit_probability or hits_per_event, not both",
            );
        }
    }
}

/// Effective balances are whole ETH from 32 to 2048 (EIP-7251).
fn validator_balance(c: &mut Checker, path: &str, v: f64) {
    if !(v.fract() == 0.0 && (32.0..=2048.0).contains(&v)) {
        c.push(
            path,
            format!(
                "must be a whole number of ETH in [32, 2048], got {}",
                Num(v)
            ),
        );
    }
}

fn check_beacon(c: &mut Checker, s: &Scenario) {
    let b = &s.beacon;
    if !(b.total_active_balance_eth.is_finite()
        && b.total_active_balance_eth >= 32.0
        && b.total_active_balance_eth <= MAX_ETH)
    {
        c.push(
            "beacon.total_active_balance_eth",
            format!(
                "must be in [32, 1e9] ETH, got {}",
                Num(b.total_active_balance_eth)
            ),
        );
    }
    validator_balance(c, "beacon.validator_balance_eth", b.validator_balance_eth);
    // Before Electra (EIP-7251) every validator had at most 32 ETH of effective balance.
    if b.fork == Fork::Bellatrix {
        let over = s
            .operators
            .iter()
            .map(|o| o.validator_balance_eth.unwrap_or(b.validator_balance_eth))
            .any(|v| v > 32.0);
        if over {
            c.push("beacon.fork", "bellatrix validators have at most 32 ETH of effective balance; set validator_balance_eth = 32 (here and on operators) or use fork = \"electra\"");
        }
    }
    c.finite_in(
        "beacon.background_slashed_eth",
        b.background_slashed_eth,
        0.0,
        b.total_active_balance_eth.max(0.0),
    );
}

/// Checks the beacon incidents (after the shocks and copulas, whose names they share).
fn check_incidents(
    c: &mut Checker,
    s: &Scenario,
    unique: &mut impl FnMut(&mut Checker, String, &str),
    resolve: bool,
) {
    let op_names: Vec<&str> = s.operators.iter().map(|o| o.name.as_str()).collect();
    for (i, inc) in s.beacon_incidents.iter().enumerate() {
        let at = format!("beacon_incidents[{i}]");
        unique(c, format!("{at}.name"), &inc.name);
        check_schedule(
            c,
            s,
            &at,
            &inc.rate_per_year,
            inc.rate_factor.as_deref(),
            inc.at_days,
        );
        check_hits(c, &at, inc.hit_probability, inc.hits_per_event);
        c.finite_in(
            &format!("{at}.validator_share"),
            inc.validator_share,
            0.0,
            1.0,
        );
        c.finite_in(
            &format!("{at}.network_slashed_share"),
            inc.network_slashed_share,
            0.0,
            1.0,
        );
        match (inc.kind, &inc.duration_days) {
            (IncidentKind::InactivityLeak, None) => c.push(
                format!("{at}.duration_days"),
                "is required for kind = \"inactivity_leak\"",
            ),
            (IncidentKind::InactivityLeak, Some(d)) => {
                for (field, msg) in d.problems_in(MAX_LEAK_DAYS) {
                    c.push(join(&format!("{at}.duration_days"), field), msg);
                }
            }
            (IncidentKind::DoubleSign, Some(_)) => c.push(
                format!("{at}.duration_days"),
                "applies only to kind = \"inactivity_leak\"",
            ),
            (IncidentKind::DoubleSign, None) => {}
        }
        if inc.kind == IncidentKind::InactivityLeak && inc.network_slashed_share != 0.0 {
            c.push(
                format!("{at}.network_slashed_share"),
                "applies only to kind = \"double_sign\"",
            );
        }
        if !inc.select.avs.is_empty() {
            c.push(format!("{at}.select.avs"), "beacon incidents hit operators' validators, not AVS allocations; select by `operators` or `attributes`");
        }
        if !resolve {
            continue;
        }
        let before = c.out.len();
        for (k, name) in inc.select.operators.iter().enumerate() {
            c.reference(
                &format!("{at}.select.operators[{k}]"),
                name,
                "operator",
                &op_names,
            );
        }
        check_attributes(c, s, &format!("{at}.select"), &inc.select);
        if c.out.len() > before {
            continue;
        }
        let n = selected_operators(s, &inc.select).len();
        if n == 0 {
            c.push(format!("{at}.select"), "selects no operator");
        } else if let Some(k) = inc.hits_per_event
            && (k == 0 || k as usize > n)
        {
            c.push(
                format!("{at}.hits_per_event"),
                format!("must be between 1 and the number of operators selected ({n}), got {k}"),
            );
        }
    }
}

/// Checks a front door (`[withdrawals]`, or a sector LRT's at `lrts[k].withdrawals`):
/// demand, buffer, protocol queue, escrow, exit network and rushes; `market` says whether it
/// has a market beside it (the pool's `[market]`, or the LRT's).
fn check_withdrawals(c: &mut Checker, s: &Scenario, w: &Withdrawals, at0: &str, market: bool) {
    let d = &w.demand;
    let at = format!("{at0}.demand");
    let at = at.as_str();
    if !(d.base_share_per_day.is_finite()
        && d.base_share_per_day > 0.0
        && d.base_share_per_day <= 1.0)
    {
        c.push(
            format!("{at}.base_share_per_day"),
            format!(
                "must be in (0, 1], got {}; use a tiny value such as 1e-9 for no calm redemptions",
                Num(d.base_share_per_day)
            ),
        );
    }
    c.sensitivity(
        &format!("{at}.nav_loss_sensitivity_per_day"),
        d.nav_loss_sensitivity_per_day,
    );
    c.sensitivity(
        &format!("{at}.wait_sensitivity_per_day"),
        d.wait_sensitivity_per_day,
    );
    c.duration(&format!("{at}.wait_free_days"), d.wait_free_days);
    c.finite_in_open_closed(
        &format!("{at}.stress_window_days"),
        d.stress_window_days,
        0.0,
        30.0,
    );
    let max_path = format!("{at}.max_share_per_day");
    c.finite_in_open_closed(&max_path, d.max_share_per_day, 0.0, 1.0);
    if d.max_share_per_day < d.base_share_per_day {
        c.push(
            max_path,
            format!(
                "must be ≥ base_share_per_day ({}), got {}",
                Num(d.base_share_per_day),
                Num(d.max_share_per_day)
            ),
        );
    }
    if let Some(v) = d.discount_sensitivity_per_day {
        let path = format!("{at}.discount_sensitivity_per_day");
        c.sensitivity(&path, v);
        if !market {
            let (needs, add) = if at0 == "withdrawals" {
                ("[market]", "a [market] section")
            } else {
                (
                    "the LRT's `market`",
                    "a `market` section to its [[lrts]] table",
                )
            };
            c.push(
                path,
                format!("needs {needs}: the discount is the pool's price below NAV; add {add} or remove this field"),
            );
        }
    }
    if let Some(t) = &d.trigger {
        let at = format!("{at0}.demand.trigger");
        c.finite_in(&format!("{at}.min_loss_bps"), t.min_loss_bps, 0.0, BPS);
        c.finite_in(&format!("{at}.share_per_day"), t.share_per_day, 0.0, 1.0);
        c.positive_duration(&format!("{at}.decay_days"), t.decay_days);
    }

    if let Some(b) = &w.buffer {
        let at = format!("{at0}.buffer");
        c.amount(&format!("{at}.initial_eth"), b.initial_eth);
        if let Some(v) = b.target_eth {
            c.amount(&format!("{at}.target_eth"), v);
        }
        if let Some(v) = b.bucket_capacity_eth {
            c.amount(&format!("{at}.bucket_capacity_eth"), v);
        }
        c.amount(
            &format!("{at}.bucket_refill_eth_per_day"),
            b.bucket_refill_eth_per_day,
        );
        c.finite_in(
            &format!("{at}.instant_fee_bps"),
            b.instant_fee_bps,
            0.0,
            BPS,
        );
        c.finite_in(&format!("{at}.instant_share"), b.instant_share, 0.0, 1.0);
    }

    let q = &w.queue;
    c.duration(&format!("{at0}.queue.cooldown_days"), q.cooldown_days);
    // At least a slot: a protocol acts at most once a block (and a run's count of processing
    // times stays bounded, 7,200 a day).
    let interval = q.processing_interval_days;
    if !(interval.is_finite() && (1.0 / SLOTS_PER_DAY..=30.0).contains(&interval)) {
        c.push(
            format!("{at0}.queue.processing_interval_days"),
            format!(
                "must be at least one slot (12 s, 1/7,200 day) and at most 30 days, got {}",
                Num(interval)
            ),
        );
    }
    if let Some(v) = q.daily_cap_eth {
        c.positive_amount(&format!("{at0}.queue.daily_cap_eth"), v);
    }
    if let Some(p) = &q.pause {
        c.finite_in_open_closed(
            &format!("{at0}.queue.pause.min_loss_bps"),
            p.min_loss_bps,
            0.0,
            BPS,
        );
        c.positive_duration(&format!("{at0}.queue.pause.days"), p.days);
    }

    c.duration(&format!("{at0}.escrow.days"), w.escrow.days);
    check_exit_network(
        c,
        s,
        &w.network,
        &format!("{at0}.network"),
        d.trigger.is_some(),
    );
}

/// Checks an exit queue (`[withdrawals.network]`, `[sector.exit_queue]`) at `at`; `trigger`:
/// whether a redemption trigger exists (a rush that triggers a run needs one).
fn check_exit_network(c: &mut Checker, s: &Scenario, net: &ExitNetwork, at: &str, trigger: bool) {
    c.amount(&format!("{at}.queue_eth"), net.queue_eth);
    c.amount(&format!("{at}.inflow_eth_per_day"), net.inflow_eth_per_day);
    c.duration(&format!("{at}.sweep_days"), net.sweep_days);
    let churn = &net.churn;
    if churn.quotient < 1 {
        c.push(
            format!("{at}.churn.quotient"),
            format!("must be an integer ≥ 1, got {}", churn.quotient),
        );
    }
    if !(1..=MAX_CHURN_PER_EPOCH_ETH).contains(&churn.min_per_epoch_eth) {
        c.push(
            format!("{at}.churn.min_per_epoch_eth"),
            format!(
                "must be a whole number of ETH in [1, {MAX_CHURN_PER_EPOCH_ETH}], got {}",
                churn.min_per_epoch_eth
            ),
        );
    }
    let max = churn.max_per_epoch_eth;
    if max != 0 && max < churn.min_per_epoch_eth {
        c.push(
            format!("{at}.churn.max_per_epoch_eth"),
            format!(
                "must be 0 (no cap) or ≥ min_per_epoch_eth ({}), got {max}",
                churn.min_per_epoch_eth
            ),
        );
    } else if max > MAX_CHURN_PER_EPOCH_ETH {
        c.push(
            format!("{at}.churn.max_per_epoch_eth"),
            format!("must be 0 (no cap) or at most {MAX_CHURN_PER_EPOCH_ETH}, got {max}"),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, r) in net.rushes.iter().enumerate() {
        let at = format!("{at}.rushes[{i}]");
        c.unique_name(&format!("{at}.name"), &r.name, &mut seen, "rush");
        check_schedule(
            c,
            s,
            &at,
            &r.rate_per_year,
            r.rate_factor.as_deref(),
            r.at_days,
        );
        for (field, msg) in r.size_eth.problems_in(MAX_RUSH_ETH) {
            c.push(join(&format!("{at}.size_eth"), field), msg);
        }
        if r.triggers_run && !trigger {
            let needs = if at.starts_with("sector.") {
                "needs some LRT's `withdrawals.demand.trigger` (in its [[lrts]] table), whose share_per_day and decay_days give the pulse"
            } else {
                "needs [withdrawals.demand.trigger], whose share_per_day and decay_days give the pulse"
            };
            c.push(format!("{at}.triggers_run"), needs);
        }
    }
}

/// Checks `[market]`: pool, liquidity, depeg shocks, confidence, recovery, arbitrage, sellers
/// and report.
/// Where a market sits: the pool's `[market]` or a sector LRT's `lrts[k].market`.
struct MarketPlace<'a> {
    /// Its path (`market`, `lrts[0].market`).
    at: &'a str,
    /// The front door its arbitrageurs and sellers use, if any, and how to name it.
    withdrawals: Option<&'a Withdrawals>,
    door: &'a str,
    /// The LRT's supply at t = 0 (ETH at NAV), and what it is made of (for messages).
    supply_eth: f64,
    supply_is: &'a str,
}

fn check_market(c: &mut Checker, s: &Scenario, m: &Market, place: &MarketPlace) {
    let root = place.at;
    let p = &m.pool;
    let at = &format!("{root}.pool");
    c.positive_amount(&format!("{at}.depth_eth"), p.depth_eth);
    c.finite_in(
        &format!("{at}.lrt_share"),
        p.lrt_share,
        MIN_POOL_SIDE_SHARE,
        1.0 - MIN_POOL_SIDE_SHARE,
    );
    // The pool's LRT is part of the supply (counted, like the supply, in ETH at t = 0 NAV).
    let supply_eth = place.supply_eth;
    let pool_lrt_eth = p.depth_eth * p.lrt_share;
    if pool_lrt_eth.is_finite() && supply_eth.is_finite() && pool_lrt_eth > supply_eth {
        c.push(
            format!("{at}.depth_eth"),
            format!(
                "the pool's LRT side (depth_eth × lrt_share = {pool_lrt_eth}) exceeds the LRT supply ({supply_eth} ETH at t = 0: {}); the pool's LRT is part of the supply", place.supply_is
            ),
        );
    }
    c.finite_in_closed_open(&format!("{at}.fee_bps"), p.fee_bps, 0.0, BPS);
    if let Some(a) = p.admin_fee_share {
        c.finite_in(&format!("{at}.admin_fee_share"), a, 0.0, 1.0);
    }
    if let Some(mult) = p.offpeg_fee_multiplier {
        let path = format!("{at}.offpeg_fee_multiplier");
        match p.kind {
            PoolKind::Stableswap => {
                c.finite_in(&path, mult, 1.0, MAX_OFFPEG_FEE_BPS);
                if mult.is_finite() && p.fee_bps.is_finite() && mult * p.fee_bps > MAX_OFFPEG_FEE_BPS
                {
                    c.push(
                        path,
                        format!(
                            "fee_bps × offpeg_fee_multiplier = {} bps exceeds stableswap-ng's MAX_FEE ({MAX_OFFPEG_FEE_BPS} bps); lower one of them",
                            mult * p.fee_bps
                        ),
                    );
                }
            }
            PoolKind::ConstantProduct => c.push(
                path,
                "applies to stableswap pools only (stableswap-ng's dynamic fee); remove it for kind = \"constant_product\"",
            ),
        }
    }
    if let Some(a) = p.amplification {
        let path = format!("{at}.amplification");
        match p.kind {
            PoolKind::Stableswap => c.finite_in_open_closed(&path, a, 0.0, MAX_AMPLIFICATION),
            PoolKind::ConstantProduct => c.push(
                path,
                "applies to stableswap pools only; remove it for kind = \"constant_product\"",
            ),
        }
    }

    if let Some(l) = &m.liquidity {
        let at = &format!("{root}.liquidity");
        c.sensitivity(&format!("{at}.flight_per_day"), l.flight_per_day);
        c.finite_in(&format!("{at}.floor_share"), l.floor_share, 0.0, 1.0);
        if let Some(v) = l.return_half_life_days {
            c.positive_duration(&format!("{at}.return_half_life_days"), v);
        }
        c.finite_in_closed_open(
            &format!("{at}.calm_discount_bps"),
            l.calm_discount_bps,
            0.0,
            BPS,
        );
    }

    let mut seen = BTreeSet::new();
    for (i, d) in m.shocks.iter().enumerate() {
        let at = format!("{root}.shocks[{i}]");
        c.unique_name(&format!("{at}.name"), &d.name, &mut seen, "market shock");
        check_schedule(
            c,
            s,
            &at,
            &d.rate_per_year,
            d.rate_factor.as_deref(),
            d.at_days,
        );
        for (field, msg) in d.sell_share.problems() {
            c.push(join(&format!("{at}.sell_share"), field), msg);
        }
        c.duration(&format!("{at}.sell_days"), d.sell_days);
    }

    if let Some(k) = &m.confidence {
        let at = &format!("{root}.confidence");
        c.sensitivity(&format!("{at}.sell_per_loss"), k.sell_per_loss);
        c.duration(&format!("{at}.sell_days"), k.sell_days);
        c.finite_in_closed_open(&format!("{at}.min_loss_bps"), k.min_loss_bps, 0.0, BPS);
    }

    if let Some(r) = &m.recovery {
        c.positive_duration(&format!("{root}.recovery.half_life_days"), r.half_life_days);
    }

    if let Some(a) = &m.arbitrage {
        let at = &format!("{root}.arbitrage");
        if let Some(v) = a.capital_eth {
            c.positive_amount(&format!("{at}.capital_eth"), v);
        }
        c.apr(
            &format!("{at}.required_return_per_year"),
            a.required_return_per_year,
        );
        c.finite_in_closed_open(&format!("{at}.premium_bps"), a.premium_bps, 0.0, BPS);
        let path = format!("{at}.closed_wait_days");
        let door = place.door;
        match (place.withdrawals, a.closed_wait_days) {
            (None, None) => c.push(
                path,
                format!("is required without {door}: arbitrageurs need an expected wait when there is no redemption; set {root}.arbitrage.closed_wait_days, or add {door}"),
            ),
            (None, Some(v)) => c.duration(&path, v),
            (Some(_), Some(_)) => c.push(
                path,
                format!("is not allowed with {door}: the wait then comes from the front door (instant where the buffer allows, else the queue's posted wait)"),
            ),
            (Some(_), None) => {}
        }
    }

    if let Some(x) = &m.sellers {
        let at = &format!("{root}.sellers");
        if place.withdrawals.is_none() {
            let door = place.door;
            c.push(
                at,
                format!("needs {door}: sellers are redeeming holders choosing between the pool and the queue; add {door} or remove [{root}.sellers]"),
            );
        }
        c.finite_in(
            &format!("{at}.share_of_demand"),
            x.share_of_demand,
            0.0,
            1.0,
        );
        c.apr(&format!("{at}.wait_cost_per_year"), x.wait_cost_per_year);
    }

    let r = &m.report;
    let at = &format!("{root}.report");
    c.positive_amount(&format!("{at}.position_eth"), r.position_eth);
    check_thresholds_bps(c, &format!("{at}.thresholds_bps"), &r.thresholds_bps);
}

/// A list of thresholds in basis points (each one adds report columns): 1 to
/// [`MAX_MARKET_THRESHOLDS`] whole numbers in [1, 9999], strictly increasing.
fn check_thresholds_bps(c: &mut Checker, at: &str, thresholds: &[f64]) {
    if !(1..=MAX_MARKET_THRESHOLDS).contains(&thresholds.len()) {
        c.push(
            at,
            format!(
                "must have 1 to {MAX_MARKET_THRESHOLDS} entries, got {}",
                thresholds.len()
            ),
        );
    }
    let field = at.rsplit('.').next().unwrap_or(at);
    for (i, &b) in thresholds.iter().enumerate() {
        let path = format!("{at}[{i}]");
        if !(b.fract() == 0.0 && (1.0..BPS).contains(&b)) {
            c.push(
                path,
                format!(
                    "must be a whole number of basis points in [1, 9999], got {}",
                    Num(b)
                ),
            );
        } else if i > 0 && b <= thresholds[i - 1] {
            c.push(
                path,
                format!(
                    "must be greater than {field}[{}] ({}): thresholds are strictly increasing",
                    i - 1,
                    thresholds[i - 1]
                ),
            );
        }
    }
}

/// Checks the exploits (after the beacon incidents, whose loss-source names they share).
fn check_exploits(
    c: &mut Checker,
    s: &Scenario,
    unique: &mut impl FnMut(&mut Checker, String, &str),
) {
    for (i, x) in s.exploits.iter().enumerate() {
        let at = format!("exploits[{i}]");
        unique(c, format!("{at}.name"), &x.name);
        check_schedule(
            c,
            s,
            &at,
            &x.rate_per_year,
            x.rate_factor.as_deref(),
            x.at_days,
        );
        for (field, msg) in x.size.problems() {
            c.push(join(&format!("{at}.size"), field), msg);
        }
        let path = format!("{at}.pause_days");
        c.duration(&path, x.pause_days);
        // The front door it pauses: the pool's, or in a sector the LRT's.
        let door = match &x.lrt {
            Some(name) => s
                .lrts
                .iter()
                .any(|l| &l.name == name && l.withdrawals.is_some()),
            None => s.withdrawals.is_some(),
        };
        if x.pause_days > 0.0 && !door {
            let section = if x.lrt.is_some() {
                "the LRT's `withdrawals` (in its [[lrts]] table)"
            } else {
                "[withdrawals]"
            };
            c.push(
                path,
                format!("needs {section}: the pause stops the front door (queue payouts and instant exits); add it or set pause_days = 0"),
            );
        }
        let path = format!("{at}.restitution_share");
        c.finite_in(&path, x.restitution_share, 0.0, 1.0);
        if x.restitution_share > 0.0 {
            if x.kind != ExploitKind::Stolen {
                c.push(
                    path,
                    "applies only to kind = \"stolen\": an unbacked mint takes nothing from the pool, so there is nothing to restitute; set restitution_share = 0",
                );
            }
            c.positive_duration(&format!("{at}.restitution_days"), x.restitution_days);
        }
        let (sell, borrow) = (x.attacker_sell_share, x.attacker_borrow_share);
        let sell_path = format!("{at}.attacker_sell_share");
        let borrow_path = format!("{at}.attacker_borrow_share");
        c.finite_in(&sell_path, sell, 0.0, 1.0);
        c.finite_in(&borrow_path, borrow, 0.0, 1.0);
        match x.kind {
            ExploitKind::Stolen => {
                for (path, v) in [(sell_path, sell), (borrow_path, borrow)] {
                    if v > 0.0 {
                        c.push(
                            path,
                            "applies only to kind = \"unbacked_mint\": a theft mints no LRT for the attacker to sell or borrow against; set it to 0",
                        );
                    }
                }
            }
            ExploitKind::UnbackedMint => {
                let unit = |v: f64| (0.0..=1.0).contains(&v);
                if unit(sell) && unit(borrow) && sell + borrow > 1.0 + SUM_TOLERANCE {
                    c.push(
                        &borrow_path,
                        format!(
                            "attacker_sell_share + attacker_borrow_share must be ≤ 1 (both are shares of the minted LRT), got {sell} + {borrow} = {}",
                            sell + borrow
                        ),
                    );
                }
                // The market it sells into: the pool's, or in a sector the LRT's.
                let market = match &x.lrt {
                    Some(name) => s.lrts.iter().any(|l| &l.name == name && l.market.is_some()),
                    None => s.market.is_some(),
                };
                if sell > 0.0 && !market {
                    let section = if x.lrt.is_some() {
                        "the LRT's `market` (in its [[lrts]] table)"
                    } else {
                        "[market]"
                    };
                    c.push(
                        sell_path,
                        format!("needs {section}: the attacker sells into the market's pool; add it or set attacker_sell_share = 0"),
                    );
                }
                let lending = match &x.lrt {
                    Some(name) => s
                        .lrts
                        .iter()
                        .any(|l| &l.name == name && l.lending.is_some()),
                    None => s.lending.is_some(),
                };
                if borrow > 0.0 && !lending {
                    let section = if x.lrt.is_some() {
                        "the LRT's `lending` (in its [[lrts]] table)"
                    } else {
                        "[lending]"
                    };
                    c.push(
                        borrow_path,
                        format!("needs {section}: the attacker posts the minted LRT as collateral in the lending market; add it or set attacker_borrow_share = 0"),
                    );
                }
            }
        }
    }
}

/// Where a `[lending]` section sits: its path, its LRT's market (and what to say without
/// one), its LRT's supply at t = 0 and what that is made of, and whether it has a front door.
struct LendingPlace<'a> {
    at: &'a str,
    market: Option<&'a Market>,
    market_hint: &'a str,
    supply_eth: f64,
    supply_is: &'a str,
    door: bool,
    /// Whether an exploit can hit this collateral's LRT (a guardian's `after = "exploit"`).
    exploits: bool,
    /// Whether the collateral borrows at a rate curve (a guardian's `after =
    /// "full_utilization"`).
    rates: bool,
}

/// The collateral's debt at t = 0, ETH: each bucket at its health factor at the t = 0
/// exchange rate (1 ETH per LRT), D = C·LT/h; 0 where a value is out of range.
fn debt0(l: &Lending, supply_eth: f64) -> f64 {
    let posted = l.collateral_share * supply_eth;
    let buckets: f64 = if l.positions.is_empty() {
        1.0 / 1.05
    } else {
        l.positions.iter().map(|b| b.share / b.health_factor).sum()
    };
    let d = posted * l.liquidation_threshold * buckets;
    if d.is_finite() && d > 0.0 { d } else { 0.0 }
}

/// Checks a borrow-rate curve at `at` (`[base, slope1, optimal_utilization, slope2]`) and its
/// unwinding rule.
fn check_curve(c: &mut Checker, at: &str, curve: [f64; 4], spread: Option<f64>, share: f64) {
    let [base, slope1, optimal, slope2] = curve;
    c.apr(&format!("{at}.base_per_year"), base);
    c.apr(&format!("{at}.slope1_per_year"), slope1);
    c.finite_in_open(&format!("{at}.optimal_utilization"), optimal, 0.0, 1.0);
    c.apr(&format!("{at}.slope2_per_year"), slope2);
    if let Some(v) = spread {
        c.apr(&format!("{at}.unwind_spread_per_year"), v);
    }
    c.finite_in_open_closed(&format!("{at}.unwind_share_per_day"), share, 0.0, 10.0);
}

/// Checks the outside lenders' withdrawals at `at.supply_shocks`.
fn check_supply_shocks(
    c: &mut Checker,
    s: &Scenario,
    at: &str,
    shocks: &[crate::spec::SupplyShock],
) {
    let mut seen = BTreeSet::new();
    for (i, x) in shocks.iter().enumerate() {
        let at = format!("{at}.supply_shocks[{i}]");
        c.unique_name(&format!("{at}.name"), &x.name, &mut seen, "supply shock");
        let factor = x.rate_factor.as_deref();
        check_schedule(c, s, &at, &x.rate_per_year, factor, x.at_days);
        for (field, msg) in x.share.problems() {
            c.push(join(&format!("{at}.share"), field), msg);
        }
        c.positive_duration(&format!("{at}.recovery_days"), x.recovery_days);
    }
}

/// Checks `[sector.lending]`: the reserve's ETH (at least the collaterals' debt at t = 0),
/// its curve, the unwinding and the outside lenders' withdrawals (fixed rates or days).
fn check_reserve(c: &mut Checker, s: &Scenario, r: &crate::spec::SectorLending, debt0_eth: f64) {
    let at = "sector.lending";
    if !s.lrts.iter().any(|l| l.lending.is_some()) {
        c.push(
            at,
            "no LRT is collateral in the lending market: give some [[lrts]] table a `lending` section, or remove this one",
        );
    }
    let path = format!("{at}.supply_eth");
    c.positive_amount(&path, r.supply_eth);
    if r.supply_eth.is_finite() && r.supply_eth > 0.0 && debt0_eth > r.supply_eth {
        c.push(
            path,
            format!(
                "the collaterals' debt at t = 0 (Σ collateral_share × supply × liquidation_threshold / health factor over the LRTs' positions = {} ETH) exceeds the ETH supplied ({}): lenders cannot have lent more than they supplied",
                short(debt0_eth),
                short(r.supply_eth)
            ),
        );
    }
    check_curve(
        c,
        at,
        r.curve(),
        r.unwind_spread_per_year,
        r.unwind_share_per_day,
    );
    check_supply_shocks(c, s, at, &r.supply_shocks);
    if let Some(run) = &r.run {
        check_utilization_run(c, s, run);
    }
}

/// Checks `[sector.lending.run]`: the utilization in (0, 1], the loadings in [0, 100] and
/// named after LRTs with a run trigger (whose pulse they scale).
fn check_utilization_run(c: &mut Checker, s: &Scenario, r: &crate::spec::UtilizationRun) {
    let at = "sector.lending.run";
    c.finite_in_open_closed(&format!("{at}.at_utilization"), r.at_utilization, 0.0, 1.0);
    c.finite_in(&format!("{at}.loading"), r.loading, 0.0, MAX_LOADING);
    c.non_negative(&format!("{at}.rearm_days"), r.rearm_days);
    let trigger = |name: &str| {
        s.lrts.iter().any(|l| {
            l.name == name && (l.withdrawals.as_ref()).is_some_and(|w| w.demand.trigger.is_some())
        })
    };
    let names: Vec<&str> = s.lrts.iter().map(|l| l.name.as_str()).collect();
    for (name, v) in &r.loadings {
        let path = format!("{at}.loadings.{name}");
        c.reference(&path, name, "LRT", &names);
        c.finite_in(&path, *v, 0.0, MAX_LOADING);
        if names.contains(&name.as_str()) && *v > 0.0 && !trigger(name) {
            c.push(
                path,
                format!("LRT `{name}` has no run trigger to pulse: give its [[lrts]] table a `withdrawals.demand.trigger` (whose share_per_day and decay_days give the pulse), or set its loading to 0"),
            );
        }
    }
    // Loadings all 0 are a sweep's end point (nobody runs); positive ones need a trigger.
    let loading = |name: &str| r.loadings.get(name).copied().unwrap_or(r.loading);
    if names.iter().any(|n| loading(n) > 0.0) && !names.iter().any(|n| trigger(n)) {
        c.push(
            at,
            "no LRT has a run trigger to pulse: give some [[lrts]] table a `withdrawals.demand.trigger` (whose share_per_day and decay_days give the pulse), or remove this section",
        );
    }
}

/// Checks a collateral's guardian at `place.at`.guardian: when it acts (a day, or an event
/// that can happen, with a delay) and for how long.
fn check_guardian(c: &mut Checker, s: &Scenario, g: &crate::spec::Guardian, place: &LendingPlace) {
    use crate::spec::GuardianTrigger;
    let at = format!("{}.guardian", place.at);
    match (g.at_days, g.after) {
        (Some(day), None) => {
            check_schedule(c, s, &at, &Rate::Fixed(0.0), None, Some(day));
            if g.delay_days != 0.0 {
                c.push(
                    format!("{at}.delay_days"),
                    "applies only with `after` (the delay from the event to the action); with at_days the action is on that day",
                );
            }
        }
        (None, Some(after)) => {
            c.non_negative(&format!("{at}.delay_days"), g.delay_days);
            let path = format!("{at}.after");
            match after {
                GuardianTrigger::Exploit if !place.exploits => c.push(
                    path,
                    if s.lrts.is_empty() {
                        "\"exploit\" needs an [[exploits]] entry"
                    } else {
                        "\"exploit\" needs an [[exploits]] entry whose `lrt` is this LRT"
                    },
                ),
                GuardianTrigger::FullUtilization if !place.rates => c.push(
                    path,
                    if s.lrts.is_empty() {
                        "\"full_utilization\" needs the borrow rates, [lending.rates], whose utilization it watches"
                    } else {
                        "\"full_utilization\" needs the reserve, [sector.lending], whose utilization it watches"
                    },
                ),
                _ => {}
            }
        }
        (Some(_), Some(_)) => c.push(&at, "give at_days or after, not both"),
        (None, None) => c.push(
            &at,
            "give at_days (the day it acts) or after (\"exploit\" or \"full_utilization\", with delay_days)",
        ),
    }
    if let Some(d) = g.duration_days {
        c.positive_duration(&format!("{at}.duration_days"), d);
    }
}

/// Checks `[lending]`: the oracle, the liquidation rules, the collateral posted (which, with
/// the market pool's LRT, must fit in the supply), the positions by health factor and the
/// representative looper.
fn check_lending(c: &mut Checker, s: &Scenario, l: &Lending, place: &LendingPlace) {
    let at = place.at;
    if place.market.is_none() {
        c.push(at, place.market_hint);
    }
    if let Some(g) = &l.guardian {
        check_guardian(c, s, g, place);
    }
    let path = format!("{at}.twap_days");
    match (l.oracle, l.twap_days) {
        (OracleKind::Twap, None) => c.push(path, "is required for oracle = \"twap\""),
        (OracleKind::Twap, Some(v)) => c.positive_duration(&path, v),
        (_, Some(_)) => c.push(path, "applies only to oracle = \"twap\""),
        (_, None) => {}
    }
    let ltv = l.ltv;
    c.finite_in_open(&format!("{at}.ltv"), ltv, 0.0, 1.0);
    let ltv_ok = ltv.is_finite() && ltv > 0.0 && ltv < 1.0;
    let lt = l.liquidation_threshold;
    let lt_ok = lt.is_finite() && lt > 0.0 && lt < 1.0;
    let path = format!("{at}.liquidation_threshold");
    if !lt_ok {
        c.push(path, format!("must be in [ltv, 1), got {}", Num(lt)));
    } else if ltv_ok && lt < ltv {
        c.push(
            path,
            format!(
                "must be ≥ ltv ({ltv}), got {lt}: positions opened at the LTV would be liquidated at once"
            ),
        );
    }
    c.finite_in(
        &format!("{at}.liquidation_bonus"),
        l.liquidation_bonus,
        0.0,
        0.5,
    );
    c.finite_in_open_closed(&format!("{at}.close_factor"), l.close_factor, 0.0, 1.0);
    c.finite_in(
        &format!("{at}.liquidation_protocol_fee"),
        l.liquidation_protocol_fee,
        0.0,
        1.0,
    );
    c.finite_in_open_closed(
        &format!("{at}.full_close_below_hf"),
        l.full_close_below_hf,
        0.0,
        1.0,
    );
    let share = l.collateral_share;
    let path = format!("{at}.collateral_share");
    c.finite_in_open_closed(&path, share, 0.0, 1.0);
    // The LRT posted and the pool's LRT are both part of the supply (in ETH at t = 0 NAV).
    if let Some(m) = place.market {
        let supply_eth = place.supply_eth;
        let pool_lrt_eth = m.pool.depth_eth * m.pool.lrt_share;
        let posted_eth = share * supply_eth;
        if share > 0.0
            && share <= 1.0
            && pool_lrt_eth.is_finite()
            && supply_eth.is_finite()
            && supply_eth > 0.0
            && pool_lrt_eth <= supply_eth
            && posted_eth + pool_lrt_eth > supply_eth * (1.0 + SUM_TOLERANCE)
        {
            c.push(
                path,
                format!(
                    "the posted collateral (collateral_share × LRT supply = {} ETH) plus the market pool's LRT side (market.pool.depth_eth × lrt_share = {} ETH) exceeds the LRT supply ({} ETH at t = 0: {}); with this pool at most {} of the supply can be posted",
                    short(posted_eth),
                    short(pool_lrt_eth),
                    short(supply_eth),
                    place.supply_is,
                    short(1.0 - pool_lrt_eth / supply_eth)
                ),
            );
        }
    }

    let n = l.positions.len();
    if n > MAX_POSITION_BUCKETS {
        c.push(
            format!("{at}.positions"),
            format!("must have at most {MAX_POSITION_BUCKETS} buckets, got {n}"),
        );
    }
    let mut sum = 0.0;
    for (i, b) in l.positions.iter().enumerate() {
        let at = format!("{at}.positions[{i}]");
        c.finite_in_open_closed(&format!("{at}.share"), b.share, 0.0, 1.0);
        sum += b.share;
        let hf = b.health_factor;
        if !(hf.is_finite() && (1.0..=MAX_HEALTH_FACTOR).contains(&hf)) {
            let why = if hf < 1.0 {
                ": a position below 1 would be liquidated at t = 0"
            } else {
                ""
            };
            c.push(
                format!("{at}.health_factor"),
                format!("must be in [1, {MAX_HEALTH_FACTOR}], got {}{why}", Num(hf)),
            );
        }
    }
    if n > 0 && sum.is_finite() && (sum - 1.0).abs() > SUM_TOLERANCE {
        c.push(
            format!("{at}.positions"),
            format!(
                "shares sum to {sum}; they must sum to 1 (each bucket is a share of the posted collateral)"
            ),
        );
    }

    let lev = l.looper_leverage;
    let path = format!("{at}.looper_leverage");
    if !(lev.is_finite() && (1.0..=MAX_LOOPER_LEVERAGE).contains(&lev)) {
        c.push(
            path,
            format!("must be in [1, {MAX_LOOPER_LEVERAGE}], got {}", Num(lev)),
        );
    } else if lev > 1.0 && lt_ok {
        // Collateral L, debt L − 1 (per unit of equity): health factor LT·L / (L − 1).
        let hf = lt * lev / (lev - 1.0);
        if hf < 1.0 - SUM_TOLERANCE {
            c.push(
                path,
                format!(
                    "a looper at this leverage would be liquidated at t = 0 (health factor LT·L/(L − 1) = {}): the most the liquidation threshold allows is 1/(1 − LT) = {}",
                    short(hf),
                    short(1.0 / (1.0 - lt))
                ),
            );
        }
    }

    if let Some(r) = l.rates.as_ref().filter(|_| at == "lending") {
        let at = "lending.rates";
        c.finite_in_open_closed(&format!("{at}.utilization"), r.utilization, 0.0, 1.0);
        check_curve(
            c,
            at,
            r.curve(),
            r.unwind_spread_per_year,
            r.unwind_share_per_day,
        );
        if r.unwind_via == crate::spec::UnwindVia::Redeem && !place.door {
            c.push(
                format!("{at}.unwind_via"),
                "\"redeem\" needs [withdrawals]: loopers queue the freed collateral at the front door; use \"sell\" or add [withdrawals]",
            );
        }
        check_supply_shocks(c, s, at, &r.supply_shocks);
    }
}

/// Checks `[[governance]]`: names, the vote's time (a day or a rate, not both), the operators
/// it selects, the new magnitudes (each in [0, 1], and every selected operator's allocations
/// with them summing to at most 1) and the delays.
fn check_governance(c: &mut Checker, s: &Scenario, avs_names: &[&str]) {
    let mut seen = BTreeSet::new();
    let op_names: Vec<&str> = s.operators.iter().map(|o| o.name.as_str()).collect();
    for (i, g) in s.governance.iter().enumerate() {
        let at = format!("governance[{i}]");
        c.unique_name(&format!("{at}.name"), &g.name, &mut seen, "governance");
        check_when(c, s, &at, g.at_days, g.rate_per_year, "the vote");
        c.duration(
            &format!("{at}.allocation_delay_days"),
            g.allocation_delay_days,
        );
        c.duration(
            &format!("{at}.deallocation_delay_days"),
            g.deallocation_delay_days,
        );
        let before = c.out.len();
        for (k, name) in g.select.operators.iter().enumerate() {
            c.reference(
                &format!("{at}.select.operators[{k}]"),
                name,
                "operator",
                &op_names,
            );
        }
        if !g.select.avs.is_empty() {
            c.push(
                format!("{at}.select.avs"),
                "a governance entry selects operators; name the AVSs and their new magnitudes in allocations",
            );
        }
        check_attributes(c, s, &format!("{at}.select"), &g.select);
        if g.allocations.is_empty() {
            c.push(
                format!("{at}.allocations"),
                "must set at least one AVS's new magnitude (`allocations = { avs_name = 0.5 }`)",
            );
        }
        for (avs, m) in &g.allocations {
            let path = format!("{at}.allocations.{avs}");
            c.reference(&path, avs, "AVS", avs_names);
            c.finite_in(&path, *m, 0.0, 1.0);
        }
        if c.out.len() > before {
            continue;
        }
        let selected = selected_operators(s, &g.select);
        if selected.is_empty() {
            c.push(format!("{at}.select"), "selects no operator");
        }
        for oi in selected {
            let op = &s.operators[oi];
            let mut after = op.allocations.clone();
            after.extend(g.allocations.iter().map(|(k, v)| (k.clone(), *v)));
            let sum: f64 = after.values().sum();
            if sum > 1.0 + SUM_TOLERANCE {
                c.push(
                    format!("{at}.allocations"),
                    format!(
                        "operator `{}` would allocate magnitudes summing to {}; under unique stake they may sum to at most 1",
                        op.name,
                        // Rounded: a sum of decimals is rarely exact in binary.
                        Num((sum * 1e12).round() / 1e12)
                    ),
                );
            }
        }
    }
}

/// A decision's time: `at_days` in [0, horizon) or `rate_per_year` in (0, 10⁶], not both.
fn check_when(
    c: &mut Checker,
    s: &Scenario,
    at: &str,
    at_days: Option<f64>,
    rate_per_year: Option<f64>,
    what: &str,
) {
    match (at_days, rate_per_year) {
        (Some(_), Some(_)) => {
            c.push(
                format!("{at}.at_days"),
                "give rate_per_year or at_days, not both",
            );
        }
        (None, None) => c.push(
            at,
            format!("give at_days (the day of {what}) or rate_per_year ({what} at a random time)"),
        ),
        (Some(day), None) => {
            let horizon = s.simulation.horizon_days;
            c.finite_in_closed_open(&format!("{at}.at_days"), day, 0.0, horizon);
        }
        (None, Some(rate)) => {
            c.finite_in_open_closed(&format!("{at}.rate_per_year"), rate, 0.0, 1e6);
        }
    }
}

/// Checks `[[redelegations]]`: names, the decision's time, the LRT (required in a sector,
/// refused otherwise), operators known and holding the LRT's stake, weights summing to 1, no
/// operator on both sides, the share and the escrow.
fn check_redelegations(c: &mut Checker, s: &Scenario) {
    let mut seen = BTreeSet::new();
    let op_names: Vec<&str> = s.operators.iter().map(|o| o.name.as_str()).collect();
    let lrt_names: Vec<&str> = s.lrts.iter().map(|l| l.name.as_str()).collect();
    for (i, r) in s.redelegations.iter().enumerate() {
        let at = format!("redelegations[{i}]");
        c.unique_name(&format!("{at}.name"), &r.name, &mut seen, "redelegation");
        check_when(c, s, &at, r.at_days, r.rate_per_year, "the decision");
        c.finite_in_open_closed(&format!("{at}.share"), r.share, 0.0, 1.0);
        c.duration(&format!("{at}.escrow_days"), r.escrow_days);
        // The LRT whose stake moves (None: the pool of a one-LRT scenario).
        let lrt = match (&r.lrt, s.lrts.is_empty()) {
            (Some(_), true) => {
                c.push(
                    format!("{at}.lrt"),
                    "names an LRT, but the scenario has no [[lrts]]: the pool moves its stake (remove `lrt`)",
                );
                None
            }
            (None, false) => {
                c.push(
                    at.clone(),
                    format!(
                        "a sector scenario needs the LRT that moves its stake: add `lrt = \"{}\"` (one of {})",
                        s.lrts[0].name,
                        lrt_names.join(", ")
                    ),
                );
                None
            }
            (Some(name), false) => c
                .reference(&format!("{at}.lrt"), name, "LRT", &lrt_names)
                .then_some(name.as_str()),
            (None, true) => None,
        };
        if r.from.is_empty() {
            c.push(
                format!("{at}.from"),
                "must name at least one operator the stake leaves",
            );
        }
        for (k, name) in r.from.iter().enumerate() {
            let path = format!("{at}.from[{k}]");
            if !c.reference(&path, name, "operator", &op_names) {
                continue;
            }
            let op = &s.operators[op_names.iter().position(|n| n == name).expect("known")];
            let stake = match (lrt, s.lrts.is_empty()) {
                (Some(l), _) => op.lrts.get(l).copied().unwrap_or(0.0),
                (None, true) => op.stake_eth_of(s.pool.collateral_eth),
                (None, false) => continue,
            };
            if stake.is_nan() || stake <= 0.0 {
                let whose = lrt.map_or("the pool".to_string(), |l| format!("`{l}`"));
                c.push(
                    path,
                    format!("operator `{name}` holds no stake of {whose} at t = 0: name an operator it is delegated to"),
                );
            }
            if r.to.contains_key(name) {
                c.push(
                    format!("{at}.to.{name}"),
                    format!(
                        "operator `{name}` is also in `from`: the stake would move to where it is"
                    ),
                );
            }
        }
        if r.to.is_empty() {
            c.push(
                format!("{at}.to"),
                "must name at least one operator the stake moves to, with its weight (`to = { op_name = 1.0 }`)",
            );
        }
        check_move_weights(c, &at, &r.to, &op_names);
    }
}

/// The weights of the operators a move of stake goes to (`to`): known operators, each weight
/// in (0, 1], summing to 1.
fn check_move_weights(c: &mut Checker, at: &str, to: &BTreeMap<String, f64>, op_names: &[&str]) {
    let mut sum = 0.0;
    for (name, w) in to {
        let path = format!("{at}.to.{name}");
        c.reference(&path, name, "operator", op_names);
        c.finite_in_open_closed(&path, *w, 0.0, 1.0);
        sum += w;
    }
    if !to.is_empty() && sum.is_finite() && (sum - 1.0).abs() > SUM_TOLERANCE {
        c.push(
            format!("{at}.to"),
            format!(
                "weights sum to {}; they must sum to 1",
                Num((sum * 1e12).round() / 1e12)
            ),
        );
    }
}

/// Checks `[[undelegations]]`: names, the decision's time, the operator known and holding
/// some LRT's stake (the pool's, in a one-LRT scenario), the escrow, and where the stake
/// goes: `to` (weights summing to 1, not the operator itself), or by default every LRT with
/// stake there having another operator to move it to.
fn check_undelegations(c: &mut Checker, s: &Scenario) {
    let mut seen = BTreeSet::new();
    let op_names: Vec<&str> = s.operators.iter().map(|o| o.name.as_str()).collect();
    for (i, u) in s.undelegations.iter().enumerate() {
        let at = format!("undelegations[{i}]");
        c.unique_name(&format!("{at}.name"), &u.name, &mut seen, "undelegation");
        check_when(c, s, &at, u.at_days, u.rate_per_year, "the undelegation");
        c.duration(&format!("{at}.escrow_days"), u.escrow_days);
        check_move_weights(c, &at, &u.to, &op_names);
        if u.to.contains_key(&u.operator) {
            c.push(
                format!("{at}.to.{}", u.operator),
                format!(
                    "operator `{}` is the one undelegating: the stake would move to where it is",
                    u.operator
                ),
            );
        }
        if !c.reference(
            &format!("{at}.operator"),
            &u.operator,
            "operator",
            &op_names,
        ) {
            continue;
        }
        let o = op_names
            .iter()
            .position(|n| *n == u.operator)
            .expect("known");
        let holders: Vec<Option<&str>> = if s.lrts.is_empty() {
            vec![None]
        } else {
            s.lrts.iter().map(|l| Some(l.name.as_str())).collect()
        };
        let mut any = false;
        for lrt in holders {
            let stakes = stakes_of(s, lrt);
            if stakes[o].is_nan() || stakes[o] <= 0.0 {
                continue;
            }
            any = true;
            let elsewhere = (stakes.iter().enumerate()).any(|(k, &x)| k != o && x > 0.0);
            if u.to.is_empty() && !elsewhere {
                let whose = lrt.map_or("the pool".to_string(), |l| format!("`{l}`"));
                c.push(
                    format!("{at}.to"),
                    format!(
                        "{whose} has no operator but `{}` to move its stake to: name the operators it goes to, with their weights (`to = {{ op_name = 1.0 }}`)",
                        u.operator
                    ),
                );
            }
        }
        if !any {
            c.push(
                format!("{at}.operator"),
                format!(
                    "operator `{}` holds no LRT's stake at t = 0: there is nothing to undelegate",
                    u.operator
                ),
            );
        }
    }
}

/// LSTs (`lrts[].kind = "lst"`) are not restaked: an operator that holds an LST's stake — at
/// t = 0 (`operators[].lrts`) or once a move of stake (`[[redelegations]]`) brings it there —
/// allocates to no AVS, and no vote (`[[governance]]`) gives it an allocation.
fn check_lsts(c: &mut Checker, s: &Scenario) {
    let lsts: Vec<&str> = (s.lrts.iter())
        .filter(|l| l.kind == TokenKind::Lst)
        .map(|l| l.name.as_str())
        .collect();
    if lsts.is_empty() {
        return;
    }
    // Per operator: the first LST whose stake it holds at some time, and how.
    let mut holds: Vec<Option<(&str, String)>> = (s.operators.iter())
        .map(|op| {
            op.lrts
                .iter()
                .find(|(name, share)| lsts.contains(&name.as_str()) && **share > 0.0)
                .map(|(name, _)| (name.as_str(), format!("holds stake of the LST `{name}`")))
        })
        .collect();
    // The LSTs' moves of stake: (the LST, where its stake goes, the entry). An undelegation
    // moves the stake its operator holds at t = 0.
    let mut moves: Vec<(&str, &BTreeMap<String, f64>, String)> = Vec::new();
    for (i, r) in s.redelegations.iter().enumerate() {
        if let Some(lst) = r.lrt.as_deref().filter(|l| lsts.contains(l)) {
            moves.push((lst, &r.to, format!("redelegations[{i}]")));
        }
    }
    for (i, u) in s.undelegations.iter().enumerate() {
        let o = s.operators.iter().position(|op| op.name == u.operator);
        if let Some((lst, _)) = o.and_then(|o| holds[o].as_ref()) {
            moves.push((lst, &u.to, format!("undelegations[{i}]")));
        }
    }
    for (lst, to, entry) in moves {
        for name in to.keys() {
            if let Some(o) = s.operators.iter().position(|op| &op.name == name) {
                holds[o].get_or_insert_with(|| {
                    (lst, format!("receives stake of the LST `{lst}` ({entry})"))
                });
            }
        }
    }
    const WHY: &str = "an LST (kind = \"lst\") is not restaked, so its operators allocate to no AVS: give the LST operators of its own, or make it kind = \"lrt\"";
    for (o, op) in s.operators.iter().enumerate() {
        if let Some((_, how)) = &holds[o]
            && op.allocations.values().any(|&m| m > 0.0)
        {
            c.push(
                format!("operators[{o}].allocations"),
                format!("operator `{}` {how}; {WHY}", op.name),
            );
        }
    }
    for (i, g) in s.governance.iter().enumerate() {
        if !g.allocations.values().any(|&m| m > 0.0) {
            continue;
        }
        for o in selected_operators(s, &g.select) {
            if let Some((_, how)) = &holds[o] {
                c.push(
                    format!("governance[{i}].allocations"),
                    format!(
                        "would give operator `{}` an allocation, but it {how}; {WHY}",
                        s.operators[o].name
                    ),
                );
            }
        }
    }
}

/// Checks the reserves: names, amounts, refills and the losses each one covers.
fn check_reserves(c: &mut Checker, s: &Scenario) {
    let mut seen = BTreeSet::new();
    for (i, r) in s.reserves.iter().enumerate() {
        let at = format!("reserves[{i}]");
        c.unique_name(&format!("{at}.name"), &r.name, &mut seen, "reserve");
        c.amount(&format!("{at}.initial_eth"), r.initial_eth);
        c.finite_in(&format!("{at}.reward_share"), r.reward_share, 0.0, 1.0);
        if let Some(cap) = r.cap_eth
            && !(cap.is_finite() && cap >= r.initial_eth && cap <= MAX_ETH)
        {
            c.push(
                format!("{at}.cap_eth"),
                format!(
                    "must be an amount in [initial_eth, 1e9] ETH = [{}, 1e9], got {}",
                    Num(r.initial_eth),
                    Num(cap)
                ),
            );
        }
        if r.covers.is_empty() {
            c.push(
                format!("{at}.covers"),
                "must list at least one loss kind: \"slashing\", \"exploits\" or both (a reserve covering nothing never pays)",
            );
        }
        let mut kinds = BTreeSet::new();
        for (k, kind) in r.covers.iter().enumerate() {
            if !kinds.insert(*kind) {
                let name = match kind {
                    LossKind::Slashing => "slashing",
                    LossKind::Exploits => "exploits",
                };
                c.push(
                    format!("{at}.covers[{k}]"),
                    format!("duplicate loss kind \"{name}\""),
                );
            }
        }
    }
}

/// The loss metrics `[importance].target_metric` may name.
pub fn importance_metrics(s: &Scenario) -> Vec<String> {
    let mut out: Vec<String> = [
        "slashed_fraction",
        "nav_loss",
        "slashed_eth",
        "avs_slashed_eth",
        "beacon_initial_eth",
        "beacon_correlation_eth",
        "inactivity_leak_eth",
    ]
    .map(String::from)
    .to_vec();
    if !s.exploits.is_empty() || !s.reserves.is_empty() {
        out.extend(["exploit_loss_eth", "stolen_eth"].map(String::from));
    }
    out.extend(s.avs.iter().map(|a| format!("slashed_eth.avs.{}", a.name)));
    let sources = s
        .shocks
        .iter()
        .map(|x| &x.name)
        .chain(s.copulas.iter().map(|x| &x.name))
        .chain(s.beacon_incidents.iter().map(|x| &x.name))
        .chain(s.exploits.iter().map(|x| &x.name));
    out.extend(sources.map(|n| format!("slashed_eth.source.{n}")));
    out.push(format!("slashed_eth.source.{AVS_FAULTS_SOURCE}"));
    out
}

/// `[[rate_factors]]`: unique names, a variance in (0, 100], and at least one source loading
/// on each.
fn check_rate_factors(c: &mut Checker, s: &Scenario) {
    let mut seen = BTreeSet::new();
    let used = crate::rate::factor_names_used(s);
    let max = crate::rate::MAX_RATE_CV * crate::rate::MAX_RATE_CV;
    for (i, f) in s.rate_factors.iter().enumerate() {
        let at = format!("rate_factors[{i}]");
        c.unique_name(&format!("{at}.name"), &f.name, &mut seen, "rate factor");
        if !(f.variance.is_finite() && f.variance > 0.0 && f.variance <= max) {
            c.push(
                format!("{at}.variance"),
                format!(
                    "must be in (0, {max}] (the variance of a multiplier with mean 1; σ/μ = √variance), got {}",
                    Num(f.variance)
                ),
            );
        }
        if !used.contains(&f.name.as_str()) {
            c.push(
                format!("{at}.name"),
                format!("rate factor `{}` multiplies no rate: name it in a source's rate_factor (an AVS's fault_rate_factor) or remove it", f.name),
            );
        }
    }
}

/// Independent AVS faults expected per year over all allocation pairs.
fn avs_fault_rate_per_year(s: &Scenario) -> f64 {
    s.avs
        .iter()
        .filter(|a| a.fault_rate_per_year.mean().is_finite() && a.fault_rate_per_year.mean() > 0.0)
        .map(|a| {
            let pairs = s
                .operators
                .iter()
                .filter(|o| o.allocations.get(&a.name).is_some_and(|m| *m > 0.0))
                .count();
            a.fault_rate_per_year.mean() * pairs as f64
        })
        .sum()
}

/// Checks `[importance]`: tilts name tiltable sources with sensible values, the automatic
/// method's target and budget.
fn check_importance(c: &mut Checker, s: &Scenario, imp: &Importance) {
    if s.market.is_some() || s.lrts.iter().any(|l| l.market.is_some()) {
        c.push(
            "importance",
            "is not available with [market] yet: the price bands of price_paths.csv count paths, not weights; remove [importance] or [market]",
        );
        return;
    }
    let has_avs_faults = avs_fault_rate_per_year(s) > 0.0;
    let can = tiltable(s, has_avs_faults);
    let rate_names: Vec<String> = s
        .shocks
        .iter()
        .zip(&can.shocks)
        .map(|(x, &ok)| (&x.name, ok))
        .chain(
            s.beacon_incidents
                .iter()
                .zip(&can.incidents)
                .map(|(x, &ok)| (&x.name, ok)),
        )
        .chain(
            s.exploits
                .iter()
                .zip(&can.exploits)
                .map(|(x, &ok)| (&x.name, ok)),
        )
        .filter(|(_, ok)| *ok)
        .map(|(n, _)| n.clone())
        .chain(has_avs_faults.then(|| AVS_FAULTS_SOURCE.to_string()))
        .collect();
    let copula_names: Vec<String> = s
        .copulas
        .iter()
        .zip(&can.copulas)
        .filter(|(_, ok)| **ok)
        .map(|(x, _)| x.name.clone())
        .collect();
    fn known(list: &[String]) -> Vec<&str> {
        list.iter().map(String::as_str).collect()
    }
    let years = s.simulation.horizon_days / crate::DAYS_PER_YEAR;
    for (name, &v) in &imp.rate_multipliers {
        let path = format!("importance.rate_multipliers.{name}");
        let mean = match source_slot(s, name) {
            Some(Slot::Copula(_)) => {
                c.push(
                    &path,
                    format!("`{name}` is a copula: tilt it with importance.factor_shifts"),
                );
                continue;
            }
            Some(slot) if rate_names.contains(name) => match slot {
                Slot::Shock(i) => s.shocks[i].rate_per_year.mean() * years,
                Slot::Incident(i) => s.beacon_incidents[i].rate_per_year.mean() * years,
                Slot::Exploit(i) => s.exploits[i].rate_per_year.mean() * years,
                _ => avs_fault_rate_per_year(s) * years,
            },
            Some(_) => {
                c.push(&path, format!("`{name}` has no Poisson rate to tilt (it is scheduled with at_days, or its rate is 0)"));
                continue;
            }
            None => {
                c.reference(&path, name, "rate-based loss source", &known(&rate_names));
                continue;
            }
        };
        if !(v.is_finite() && (1.0 / MAX_RATE_MULTIPLIER..=MAX_RATE_MULTIPLIER).contains(&v)) {
            c.push(
                &path,
                format!(
                    "must be in [{}, {MAX_RATE_MULTIPLIER}], got {}",
                    1.0 / MAX_RATE_MULTIPLIER,
                    Num(v)
                ),
            );
        } else if v * mean > MAX_EXPECTED_EVENTS {
            c.push(
                &path,
                format!("tilts the source to {:.3e} expected events over the horizon; at most {MAX_EXPECTED_EVENTS:.0e} are allowed", v * mean),
            );
        }
    }
    for (name, &v) in &imp.factor_shifts {
        let path = format!("importance.factor_shifts.{name}");
        if !copula_names.contains(name) {
            match source_slot(s, name) {
                Some(Slot::Copula(_)) => c.push(&path, format!("copula `{name}` has no global factor to shift (global_correlation = 0) or never faults")),
                Some(_) => c.push(&path, format!("`{name}` is not a copula: tilt it with importance.rate_multipliers")),
                None => {
                    c.reference(&path, name, "copula", &known(&copula_names));
                }
            }
            continue;
        }
        c.finite_in(&path, v, 0.0, MAX_FACTOR_SHIFT);
    }
    c.finite_in_open("importance.target_level", imp.target_level, 0.0, 1.0);
    if !(1_000..=10_000_000).contains(&imp.pilot_paths) {
        c.push(
            "importance.pilot_paths",
            format!("must be between 1000 and 10000000, got {}", imp.pilot_paths),
        );
    }
    if !(1..=50).contains(&imp.iterations) {
        c.push(
            "importance.iterations",
            format!("must be between 1 and 50, got {}", imp.iterations),
        );
    }
    let metrics = importance_metrics(s);
    c.reference(
        "importance.target_metric",
        &imp.target_metric,
        "loss metric",
        &known(&metrics),
    );
    if let Some(list) = &imp.sources {
        let all: Vec<String> = rate_names.iter().chain(&copula_names).cloned().collect();
        for (i, name) in list.iter().enumerate() {
            c.reference(
                &format!("importance.sources[{i}]"),
                name,
                "tiltable loss source",
                &known(&all),
            );
        }
    }
    if imp.method == ImportanceMethod::Auto && crate::rate::has_uncertain_rates(s) {
        c.push(
            "importance.method",
            "is \"auto\", which does not tilt uncertain rates (a rate given as a distribution, or a rate factor): use method = \"manual\" with rate_multipliers, which tilt each path's drawn rate consistently",
        );
    }
    if imp.method == ImportanceMethod::Auto {
        if !imp.rate_multipliers.is_empty() || !imp.factor_shifts.is_empty() {
            c.push(
                "importance.method",
                "is \"auto\": the method chooses the tilts, so remove rate_multipliers and factor_shifts (or set method = \"manual\")",
            );
        }
        let any = match &imp.sources {
            Some(list) => !list.is_empty(),
            None => !rate_names.is_empty() || !copula_names.is_empty(),
        };
        if !any {
            c.push(
                "importance.method",
                "is \"auto\" but no source can be tilted: there is no Poisson loss source with a rate and no copula with a global factor",
            );
        }
    } else if imp.sources.is_some() {
        c.push(
            "importance.sources",
            "applies to method = \"auto\" only; with \"manual\" name the tilts in rate_multipliers and factor_shifts",
        );
    }
}

/// The LRT supply at t = 0 valued at NAV, ETH: the collateral plus the instant buffer.
fn supply_eth(s: &Scenario) -> f64 {
    s.pool.collateral_eth
        + s.withdrawals
            .as_ref()
            .and_then(|w| w.buffer.as_ref())
            .map_or(0.0, |b| b.initial_eth)
}

/// A number rounded to 6 decimals for a message (`20`, not `19.999999999999982`).
fn short(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Checks that a selector's attribute keys and values exist on some operator.
fn check_attributes(c: &mut Checker, s: &Scenario, at: &str, sel: &Selector) {
    let keys = attribute_keys(s);
    for (key, values) in &sel.attributes {
        if !keys.contains(key.as_str()) {
            let hint = closest(key, keys.iter().copied())
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            c.push(
                format!("{at}.attributes.{key}"),
                format!("no operator has attribute `{key}`{hint}"),
            );
            continue;
        }
        let known = attribute_values(s, key);
        for v in values.values() {
            if !known.contains(v) {
                let list: Vec<&str> = known.iter().copied().collect();
                let hint = closest(v, list.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                c.push(
                    format!("{at}.attributes.{key}"),
                    format!(
                        "no operator has {key} = \"{v}\" (values: {}){hint}",
                        list.join(", ")
                    ),
                );
            }
        }
    }
}

/// Checks a selector's references; returns the selected (operator, avs) pairs when they resolve.
fn check_selector(
    c: &mut Checker,
    s: &Scenario,
    at: &str,
    sel: &Selector,
    avs_names: &[&str],
) -> Option<Vec<(usize, usize)>> {
    let op_names: Vec<&str> = s.operators.iter().map(|o| o.name.as_str()).collect();
    let before = c.out.len();
    for (i, name) in sel.operators.iter().enumerate() {
        c.reference(&format!("{at}.operators[{i}]"), name, "operator", &op_names);
    }
    for (i, name) in sel.avs.iter().enumerate() {
        c.reference(&format!("{at}.avs[{i}]"), name, "AVS", avs_names);
    }
    check_attributes(c, s, at, sel);
    if c.out.len() > before {
        return None;
    }
    let pairs = selected_pairs(s, sel);
    if pairs.is_empty() {
        c.push(
            at.to_string(),
            "selects no allocation (no selected operator allocates to a selected AVS)",
        );
        return None;
    }
    Some(pairs)
}

/// Number of hit units among selected (operator, AVS) pairs.
fn hit_units(pairs: &[(usize, usize)], unit: HitUnit) -> usize {
    match unit {
        HitUnit::Operator => pairs.iter().map(|p| p.0).collect::<BTreeSet<_>>().len(),
        HitUnit::Avs => pairs.iter().map(|p| p.1).collect::<BTreeSet<_>>().len(),
        HitUnit::Allocation => pairs.len(),
        HitUnit::Event => 1,
    }
}

fn attribute_keys(s: &Scenario) -> BTreeSet<&str> {
    s.operators
        .iter()
        .flat_map(|o| o.attributes.keys().map(String::as_str))
        .collect()
}

fn attribute_values<'a>(s: &'a Scenario, key: &str) -> BTreeSet<&'a str> {
    s.operators
        .iter()
        .filter_map(|o| o.attributes.get(key).map(String::as_str))
        .collect()
}

fn join(base: &str, field: &str) -> String {
    if field.is_empty() {
        base.to_string()
    } else {
        format!("{base}.{field}")
    }
}

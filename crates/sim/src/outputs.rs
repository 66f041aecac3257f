//! Per-path output columns and the run's results.

use lrtsim_scenario::Model;
use lrtsim_scenario::market::MarketModel;

use crate::market::{Market, MarketOutcome};
use crate::redemption::RedemptionOutcome;

/// Column layout of a path's output row: fixed columns, then the redemption columns (with
/// `[withdrawals]`), then the market columns (with `[market]`), then the lending columns (with
/// `[lending]`), then the exploit and reserve
/// columns (with `[[exploits]]` or `[[reserves]]`), then ETH slashed per AVS, then ETH slashed
/// per loss source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    names: Vec<String>,
    redemption_start: Option<usize>,
    market_start: Option<usize>,
    lending_start: Option<usize>,
    waterfall_start: Option<usize>,
    avs_start: usize,
    source_start: usize,
    lrt_start: Option<usize>,
    /// Sector scenarios with front doors: the first door column, and the LRT of each door
    /// (in LRT order), each with the [`Layout::REDEMPTION`] columns suffixed `.lrt.<name>`.
    door_start: usize,
    doors: Vec<u32>,
    /// Sector scenarios with markets: the LRT of each market (in LRT order) and its first
    /// column, each with the market columns ([`Layout::MARKET`], its thresholds',
    /// [`Layout::MARKET_RESOLUTION`]) suffixed `.lrt.<name>`.
    markets: Vec<u32>,
    market_starts: Vec<usize>,
    /// Sector scenarios: per market, the first of its LRT's [`Layout::LENDING`] columns
    /// (suffixed `.lrt.<name>`), if the LRT is collateral.
    lrt_lending_starts: Vec<Option<usize>>,
    /// Sector scenarios with front doors or markets: the first of [`Layout::SECTOR_FLOWS`].
    sector_flow_start: Option<usize>,
    /// Sector scenarios with front doors: [`Layout::SECTOR_EXIT_QUEUE`]'s column.
    sector_exit_queue_col: Option<usize>,
    /// Sector scenarios with a lending market: the first of [`Layout::SECTOR_LENDING`] (and
    /// of [`Layout::SECTOR_RESERVE`] after it with `[sector.lending]`).
    sector_lending_start: Option<usize>,
}

impl Layout {
    /// ETH slashed on the path (all sources).
    pub const SLASHED_ETH: usize = 0;
    /// ETH slashed / collateral at t = 0.
    pub const SLASHED_FRACTION: usize = 1;
    /// NAV per LRT at the horizon / at t = 0 − 1.
    pub const NAV_RETURN: usize = 2;
    /// Rewards that reached the pool (net of commission and protocol fee), ETH.
    pub const REWARDS_ETH: usize = 3;
    /// Operator commission plus protocol fee, ETH.
    pub const FEES_ETH: usize = 4;
    /// ETH lost to AVS slashing (the per-AVS columns add up to it).
    pub const AVS_SLASHED_ETH: usize = 5;
    /// ETH lost to beacon-chain initial slashing penalties.
    pub const BEACON_INITIAL_ETH: usize = 6;
    /// ETH lost to beacon-chain correlation penalties.
    pub const BEACON_CORRELATION_ETH: usize = 7;
    /// ETH lost to inactivity leaks.
    pub const INACTIVITY_LEAK_ETH: usize = 8;
    const FIXED: [&'static str; 9] = [
        "slashed_eth",
        "slashed_fraction",
        "nav_return",
        "rewards_eth",
        "fees_eth",
        "avs_slashed_eth",
        "beacon_initial_eth",
        "beacon_correlation_eth",
        "inactivity_leak_eth",
    ];

    /// Redemption columns, in order (see [`RedemptionOutcome`] for their meaning).
    pub const REDEMPTION: [&'static str; 13] = [
        "redeem_days_t0",
        "redeem_days_stress",
        "stress_start_days",
        "unredeemed_t0",
        "unredeemed_stress",
        "peak_queue_eth",
        "peak_queue_days",
        "unfilled_share",
        "requested_share",
        "redeemed_eth",
        "exit_fees_eth",
        "queued_loss_eth",
        "peak_network_queue_eth",
    ];

    /// Market columns, in order (see [`MarketOutcome`]); then per discount threshold `b`
    /// (basis points) `days_discount_over_{b}bps`, then per threshold `depeg_over_{b}bps`,
    /// then [`Layout::MARKET_RESOLUTION`].
    pub const MARKET: [&'static str; 9] = [
        "max_discount",
        "end_discount",
        "forced_sale_loss",
        "forced_sale_discount",
        "horizon_sale_loss",
        "sold_share",
        "panic_sold_share",
        "arb_bought_share",
        "liquidity_lost_share",
    ];

    /// The market's resolution on the path, after the threshold columns: the sub-steps it
    /// integrated, and how many of them could not be made short enough for its tolerance
    /// (docs/model.md §14).
    pub const MARKET_RESOLUTION: [&'static str; 2] =
        ["market_substeps", "market_unresolved_substeps"];

    /// Lending columns, in order (with `[lending]`): LRT collateral seized by liquidators as
    /// a share of the t = 0 supply, the most liquidation calls of one cascade, bad debt
    /// in ETH and as a share of the ETH lent, and the representative looper's equity loss at
    /// the horizon (at the market price; 1 = wiped out), the highest borrow rate per year (0
    /// without `[lending.rates]`), and the collateral released by unwinding loopers as a share
    /// of the t = 0 supply.
    pub const LENDING: [&'static str; 7] = [
        "liquidated_share",
        "cascade_depth",
        "bad_debt_eth",
        "bad_debt_share",
        "looper_equity_loss",
        "peak_borrow_rate",
        "unwound_share",
    ];

    /// Exploit and reserve columns, in order (with `[[exploits]]` or `[[reserves]]`): ETH lost
    /// to exploits (stolen plus the ETH value of unbacked mints' dilution at the mint), ETH
    /// stolen, LRT minted without backing as a share of the t = 0 supply, ETH restituted, ETH
    /// the reserves paid into the pool, ETH they hold at the horizon, and 1 if a loss they
    /// cover found them empty.
    pub const WATERFALL: [&'static str; 7] = [
        "exploit_loss_eth",
        "stolen_eth",
        "minted_share",
        "restituted_eth",
        "reserve_paid_eth",
        "reserve_end_eth",
        "reserve_exhausted",
    ];

    /// Sector scenarios: the ETH the LRTs' holders lost to slashing, summed over the LRTs
    /// (the rest of `slashed_eth` fell on other stakers of the operators).
    pub const SECTOR_SLASHED_ETH: &'static str = "sector_slashed_eth";
    /// Sector scenarios: what the LRTs' holders lost in all, ETH (Σ collateral × NAV loss).
    pub const SECTOR_HOLDERS_LOSS_ETH: &'static str = "sector_holders_loss_eth";
    /// Sector scenarios with front doors or markets, after their columns: ETH out of the
    /// sector through its doors and its pools (the sum of the next two), ETH the doors paid
    /// their redeeming holders (Σ `redeemed_eth.lrt.*`), ETH the pools paid for the LRT sold
    /// into them (holders, depeg and confidence shocks, attackers; after the fee).
    pub const SECTOR_FLOWS: [&'static str; 3] = [
        "sector_outflow_eth",
        "sector_redeemed_eth",
        "sector_sold_eth",
    ];

    /// Sector scenarios with front doors, after the flows: the largest ETH in the one exit
    /// queue every door exits through (`[sector.exit_queue]`) over the path.
    pub const SECTOR_EXIT_QUEUE: &'static str = "sector_peak_exit_queue_eth";

    /// Sector scenarios with a lending market (`lrts[].lending`), after the flows (and the
    /// exit queue's peak): the bad
    /// debt of every collateral, ETH (Σ `bad_debt_eth.lrt.*`).
    pub const SECTOR_LENDING: [&'static str; 1] = ["sector_bad_debt_eth"];
    /// Sector scenarios with `[sector.lending]`, after [`Layout::SECTOR_LENDING`]: the WETH
    /// reserve's highest utilization, the days it spent at 100 %, and the most ETH its
    /// lenders asked for and could not withdraw (debt − supply at its highest).
    pub const SECTOR_RESERVE: [&'static str; 3] = [
        "peak_utilization",
        "days_at_full_utilization",
        "peak_blocked_withdrawals_eth",
    ];

    /// The layout for `model`.
    pub fn new(model: &Model) -> Self {
        let mut names: Vec<String> = Self::FIXED.iter().map(|s| s.to_string()).collect();
        let redemption_start = model.withdrawals.as_ref().map(|_| {
            let start = names.len();
            names.extend(Self::REDEMPTION.iter().map(|s| s.to_string()));
            start
        });
        let market_start = model.market.as_ref().map(|mk| {
            let start = names.len();
            names.extend(Self::market_names(mk));
            start
        });
        let lending_start = model.lending.as_ref().map(|_| {
            let start = names.len();
            names.extend(Self::LENDING.iter().map(|s| s.to_string()));
            start
        });
        // A sector's exploits are its LRTs' (see the sector columns), not the pool's.
        let waterfall_start = (model.lrts.is_empty()
            && (!model.exploits.is_empty() || !model.reserves.is_empty()))
        .then(|| {
            let start = names.len();
            names.extend(Self::WATERFALL.iter().map(|s| s.to_string()));
            start
        });
        let avs_start = names.len();
        names.extend(
            model
                .avs_names
                .iter()
                .map(|a| format!("slashed_eth.avs.{a}")),
        );
        let source_start = names.len();
        names.extend(
            model
                .sources
                .iter()
                .map(|s| format!("slashed_eth.source.{s}")),
        );
        let lrt_start = (!model.lrts.is_empty()).then(|| {
            let start = names.len();
            names.push(Self::SECTOR_SLASHED_ETH.to_string());
            names.extend(
                model
                    .lrts
                    .iter()
                    .map(|l| format!("slashed_eth.lrt.{}", l.name)),
            );
            for column in ["slashed_fraction", "nav_loss", "rewards_eth"] {
                names.extend(
                    model
                        .lrts
                        .iter()
                        .map(|l| format!("{column}.lrt.{}", l.name)),
                );
            }
            names.extend(
                model
                    .joint_loss_thresholds_bps
                    .iter()
                    .map(|b| format!("joint_loss_over_{b}bps")),
            );
            for b in &model.joint_loss_thresholds_bps {
                names.extend(
                    model
                        .lrts
                        .iter()
                        .map(|l| format!("loss_over_{b}bps.lrt.{}", l.name)),
                );
            }
            names.push(Self::SECTOR_HOLDERS_LOSS_ETH.to_string());
            if !model.exploits.is_empty() {
                for column in ["exploit_loss_eth", "minted_share"] {
                    names.extend(
                        model
                            .lrts
                            .iter()
                            .map(|l| format!("{column}.lrt.{}", l.name)),
                    );
                }
            }
            start
        });
        let door_start = names.len();
        let doors: Vec<u32> = (0..model.lrts.len() as u32)
            .filter(|&k| model.lrts[k as usize].withdrawals.is_some())
            .collect();
        for &k in &doors {
            let name = &model.lrts[k as usize].name;
            names.extend(Self::REDEMPTION.iter().map(|c| format!("{c}.lrt.{name}")));
        }
        let mut markets = Vec::new();
        let mut market_starts = Vec::new();
        let mut lrt_lending_starts = Vec::new();
        for (k, l) in model.lrts.iter().enumerate() {
            let Some(mk) = &l.market else { continue };
            markets.push(k as u32);
            market_starts.push(names.len());
            let name = &l.name;
            names.extend(Self::market_names(mk).map(|c| format!("{c}.lrt.{name}")));
            lrt_lending_starts.push(l.lending.as_ref().map(|_| {
                let start = names.len();
                names.extend(Self::LENDING.iter().map(|c| format!("{c}.lrt.{name}")));
                start
            }));
        }
        let sector_flow_start = (!doors.is_empty() || !markets.is_empty()).then(|| {
            let start = names.len();
            names.extend(Self::SECTOR_FLOWS.iter().map(|s| s.to_string()));
            start
        });
        let sector_exit_queue_col = (!doors.is_empty()).then(|| {
            names.push(Self::SECTOR_EXIT_QUEUE.to_string());
            names.len() - 1
        });
        let sector_lending_start = lrt_lending_starts.iter().any(Option::is_some).then(|| {
            let start = names.len();
            names.extend(Self::SECTOR_LENDING.iter().map(|s| s.to_string()));
            if model.reserve.is_some() {
                names.extend(Self::SECTOR_RESERVE.iter().map(|s| s.to_string()));
            }
            start
        });
        Layout {
            names,
            door_start,
            doors,
            markets,
            market_starts,
            lrt_lending_starts,
            sector_flow_start,
            sector_exit_queue_col,
            sector_lending_start,
            redemption_start,
            market_start,
            lending_start,
            waterfall_start,
            avs_start,
            source_start,
            lrt_start,
        }
    }

    /// Index of the first redemption column (None without `[withdrawals]`).
    pub fn redemption_start(&self) -> Option<usize> {
        self.redemption_start
    }

    /// Writes a path's redemption metrics into its row (a no-op without them).
    pub fn write_redemption(&self, row: &mut [f64], o: &RedemptionOutcome) {
        let Some(start) = self.redemption_start else {
            return;
        };
        let values = o.values();
        row[start..start + values.len()].copy_from_slice(&values);
    }

    /// Sector scenarios: the LRTs with a front door, in LRT order (empty otherwise).
    pub fn doors(&self) -> &[u32] {
        &self.doors
    }

    /// Writes the path's outcome of door `j` (the `j`-th of [`Layout::doors`]) into its row.
    pub fn write_door(&self, row: &mut [f64], j: usize, o: &RedemptionOutcome) {
        let n = Self::REDEMPTION.len();
        let start = self.door_start + j * n;
        row[start..start + n].copy_from_slice(&o.values());
    }

    /// Index of the first lending column (None without `[lending]`).
    pub fn lending_start(&self) -> Option<usize> {
        self.lending_start
    }

    /// Index of the first exploit and reserve column (None without either).
    pub fn waterfall_start(&self) -> Option<usize> {
        self.waterfall_start
    }

    /// Index of the first market column (None without `[market]`).
    pub fn market_start(&self) -> Option<usize> {
        self.market_start
    }

    /// Writes a sector path's flows ([`Layout::SECTOR_FLOWS`]): ETH redeemed through the doors
    /// and ETH paid by the pools (a no-op without doors or markets).
    pub fn write_sector_flows(&self, row: &mut [f64], redeemed_eth: f64, sold_eth: f64) {
        if let Some(start) = self.sector_flow_start {
            row[start..start + 3].copy_from_slice(&[
                redeemed_eth + sold_eth,
                redeemed_eth,
                sold_eth,
            ]);
        }
    }

    /// Writes a sector path's exit-queue peak ([`Layout::SECTOR_EXIT_QUEUE`]; a no-op without
    /// front doors).
    pub fn write_sector_exit_queue(&self, row: &mut [f64], peak_eth: f64) {
        if let Some(c) = self.sector_exit_queue_col {
            row[c] = peak_eth;
        }
    }

    /// The market columns of `mk`, in order.
    fn market_names(mk: &MarketModel) -> impl Iterator<Item = String> + '_ {
        let fixed = Self::MARKET.iter().map(|s| s.to_string());
        let days = (mk.thresholds.iter()).map(|(_, bps)| format!("days_discount_over_{bps}bps"));
        let depeg = (mk.thresholds.iter()).map(|(_, bps)| format!("depeg_over_{bps}bps"));
        let resolution = Self::MARKET_RESOLUTION.iter().map(|s| s.to_string());
        fixed.chain(days).chain(depeg).chain(resolution)
    }

    /// Writes the lending columns of market `j`'s LRT (a no-op if it is not collateral).
    pub fn write_lrt_lending(&self, row: &mut [f64], j: usize, values: &[f64; 7]) {
        if let Some(start) = self.lrt_lending_starts[j] {
            row[start..start + values.len()].copy_from_slice(values);
        }
    }

    /// Writes a sector path's lending columns: the bad debt, then (with `[sector.lending]`)
    /// the reserve's utilization, days at 100 % and blocked withdrawals (a no-op without a
    /// lending market).
    pub fn write_sector_lending(&self, row: &mut [f64], bad_debt_eth: f64, reserve: [f64; 3]) {
        if let Some(start) = self.sector_lending_start {
            row[start] = bad_debt_eth;
            if let Some(cells) = row.get_mut(start + 1..start + 4)
                && self
                    .names
                    .get(start + 1)
                    .is_some_and(|n| n == Self::SECTOR_RESERVE[0])
            {
                cells.copy_from_slice(&reserve);
            }
        }
    }

    /// Sector scenarios: the LRTs with a market, in LRT order (empty otherwise).
    pub fn markets(&self) -> &[u32] {
        &self.markets
    }

    /// Writes the path's outcome of market `j` (the `j`-th of [`Layout::markets`]) into its
    /// row.
    pub fn write_lrt_market(&self, row: &mut [f64], j: usize, o: &MarketOutcome, mk: &Market) {
        Self::write_market_at(row, self.market_starts[j], o, mk);
    }

    /// Writes a path's market metrics into its row (a no-op without them).
    pub fn write_market(&self, row: &mut [f64], o: &MarketOutcome, market: &Market) {
        if let Some(start) = self.market_start {
            Self::write_market_at(row, start, o, market);
        }
    }

    fn write_market_at(row: &mut [f64], start: usize, o: &MarketOutcome, market: &Market) {
        let values = [
            o.max_discount,
            o.end_discount,
            o.forced_sale_loss,
            o.forced_sale_discount,
            o.horizon_sale_loss,
            o.sold_share,
            o.panic_sold_share,
            o.arb_bought_share,
            o.liquidity_lost_share,
        ];
        row[start..start + values.len()].copy_from_slice(&values);
        let rest = start + values.len();
        let (days, depeg) = (market.days_over(), market.depeg_over());
        row[rest..rest + days.len()].copy_from_slice(days);
        row[rest + days.len()..rest + days.len() + depeg.len()].copy_from_slice(depeg);
        let (substeps, unresolved) = market.substeps();
        let at = rest + days.len() + depeg.len();
        row[at] = substeps as f64;
        row[at + 1] = unresolved as f64;
    }

    /// Column names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Number of columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    /// Always false: there are fixed columns.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// Index of the first per-AVS column.
    pub fn avs_start(&self) -> usize {
        self.avs_start
    }
    /// Index of the first per-source column.
    pub fn source_start(&self) -> usize {
        self.source_start
    }
    /// One past the last per-source column.
    pub fn source_end(&self) -> usize {
        self.lrt_start.unwrap_or(self.names.len())
    }
    /// Sector scenarios: index of [`Layout::SECTOR_SLASHED_ETH`], which the per-LRT columns
    /// follow — `slashed_eth.lrt.<name>` for each LRT, then `slashed_fraction.lrt.<name>`,
    /// `nav_loss.lrt.<name>` and `rewards_eth.lrt.<name>`, then `joint_loss_over_{b}bps` per
    /// joint-loss threshold, then per threshold `loss_over_{b}bps.lrt.<name>` for each LRT,
    /// then [`Layout::SECTOR_HOLDERS_LOSS_ETH`] and, with exploits,
    /// `exploit_loss_eth.lrt.<name>` and `minted_share.lrt.<name>` for each LRT (None for one
    /// LRT).
    pub fn lrt_start(&self) -> Option<usize> {
        self.lrt_start
    }
    /// Index of a column by name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// Per-path outputs of a run, column by column, in path order.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResults {
    /// Column layout.
    pub layout: Layout,
    /// Index of the first path (non-zero for a shard).
    pub first_path: u64,
    /// `columns[c][i]` is column `c` of path `first_path + i`.
    pub columns: Vec<Vec<f64>>,
    /// Likelihood-ratio weight dP/dQ of every path under importance sampling (None: plain
    /// Monte Carlo, every path weighs 1).
    pub weights: Option<Vec<f64>>,
    /// The importance-sampling tilt the paths were drawn under (None: plain Monte Carlo).
    pub tilt: Option<crate::importance::ResolvedTilt>,
    /// Market price / NAV bands per recorded step (None without `[market]`).
    pub price_bands: Option<crate::bands::PriceBands>,
}

impl SimResults {
    /// Number of paths.
    pub fn paths(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }
    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.layout.index(name).map(|i| self.columns[i].as_slice())
    }
}

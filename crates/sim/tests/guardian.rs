//! The lending market's guardian (`[lending.guardian]`, `[lrts.lending.guardian]`): a pause
//! holds every liquidation until it ends, a freeze stops new borrowing only. Checked against
//! closed forms: in a market with nothing else moving, the liquidators' sale opens a discount
//! that stays to the horizon, so the days spent past a threshold date the liquidation to the
//! day; and the attacker's borrowing against a mint is exactly LTV × posted mint, or nothing.

mod support;

use lrtsim_scenario::Model;
use support::sim::{col, load, simulate, two_lrts};

fn model(text: &str) -> Model {
    load(text, "guardian.toml", &[])
}

/// One LRT of 1,000 ETH on one operator, no rewards, for 20 days; a slashing of 5 % on day 5
/// (the operator's whole stake allocated to the AVS a bug hits)
/// takes the exchange rate (the lender's oracle) from 1 to 0.95, so the 20 % of the supply
/// posted at health factor 1.02 (0.969 after) is liquidatable. The pool (200 ETH a side)
/// has no buyers, arbitrageurs or liquidity moves: the liquidators' sale leaves a discount
/// that stays. `guardian` follows `[lending]`; `extra` comes last.
fn slashed_collateral(guardian: &str, extra: &str) -> String {
    format!(
        r#"name = "guardian"
[simulation]
paths = 2
horizon_days = 20
step_days = 1
seed = 3

[pool]
collateral_eth = 1000

[rewards]
base_apr = 0
mev_apr = 0

[[operators]]
name = "op"
share = 1.0
allocations = {{ x = 1.0 }}

[[avs]]
name = "x"

[[shocks]]
name = "slash"
at_days = 5
severity = 0.05
select = {{ avs = ["x"] }}

[market.pool]
kind = "constant_product"
depth_eth = 400

[market.report]
thresholds_bps = [10]

[lending]
ltv = 0.93
liquidation_threshold = 0.95
liquidation_bonus = 0.01
collateral_share = 0.2

[[lending.positions]]
share = 1
health_factor = 1.02

{guardian}
{extra}"#
    )
}

/// The days the discount spent over 10 bp, the share of the supply liquidated (the same on
/// both paths: nothing is random).
fn run(text: &str) -> (f64, f64) {
    let r = simulate(&model(text));
    let days = col(&r, "days_discount_over_10bps");
    let liquidated = col(&r, "liquidated_share");
    assert_eq!((days[0], liquidated[0]), (days[1], liquidated[1]));
    (days[0], liquidated[0])
}

/// Without a guardian the liquidation is on day 5 and the discount lasts the 15 days left. A
/// pause from day 4 to day 12 holds it to day 12 (8 days left), the same liquidation (nothing
/// moved in between: no interest, no flows), and one from day 3.5 to 13.5 to day 13.5; a
/// pause from day 4 to the horizon holds it forever; a pause that starts after it (day 6) changes nothing; a freeze liquidates as
/// usual.
#[test]
fn a_pause_holds_the_liquidations_until_it_ends() {
    let (days, liquidated) = run(&slashed_collateral("", ""));
    assert!((days - 15.0).abs() < 1e-9, "{days}");
    assert!(liquidated > 0.005, "{liquidated}");
    let pause = |at: f64, duration: &str| {
        format!("[lending.guardian]\naction = \"pause\"\nat_days = {at}\n{duration}")
    };
    let (held, same) = run(&slashed_collateral(&pause(4.0, "duration_days = 8"), ""));
    assert!((held - 8.0).abs() < 1e-9, "{held}");
    assert!(
        (same - liquidated).abs() <= 1e-12 * liquidated,
        "{same} vs {liquidated}"
    );
    assert_eq!(run(&slashed_collateral(&pause(4.0, ""), "")), (0.0, 0.0));
    // A pause ending within a reporting step (13.5): the liquidation is there, to the day.
    let (mid, _) = run(&slashed_collateral(&pause(3.5, "duration_days = 10"), ""));
    assert!((mid - 6.5).abs() < 1e-9, "{mid}");
    let (late, l) = run(&slashed_collateral(&pause(6.0, "duration_days = 8"), ""));
    assert!((late - 15.0).abs() < 1e-9 && (l - liquidated).abs() <= 1e-12 * liquidated);
    let freeze = "[lending.guardian]\naction = \"freeze\"\nat_days = 4\n";
    let (frozen, l) = run(&slashed_collateral(freeze, ""));
    assert!((frozen - 15.0).abs() < 1e-9 && (l - liquidated).abs() <= 1e-12 * liquidated);
}

/// A guardian set off by an event: an exploit (a theft of 0.1 % on day 2, too small to
/// liquidate anyone) pauses the collateral 1.5 days later for 10 days — from day 3.5 to 13.5,
/// so the slashing's liquidation waits to day 13.5 (6.5 days left); set off by the reserve's
/// first moment at 100 % (`[lending.rates]` with a whale pulling everything the loopers did
/// not borrow on day 1), the pause runs from day 1.25 to 11.25 (8.75 days left).
#[test]
fn a_pause_set_off_by_an_event_acts_after_its_delay() {
    let theft = "[[exploits]]\nname = \"theft\"\nkind = \"stolen\"\nat_days = 2\nsize = 0.001\n";
    let after = "[lending.guardian]\naction = \"pause\"\nafter = \"exploit\"\ndelay_days = 1.5\nduration_days = 10\n";
    let (days, _) = run(&slashed_collateral(after, theft));
    assert!((days - 6.5).abs() < 1e-9, "{days}");
    // Without the exploit the guardian never acts (and the scenario is refused: nothing
    // could set it off).
    let refused = lrtsim_scenario::load_str(
        &slashed_collateral(after, ""),
        std::path::Path::new("g.toml"),
        &[],
    );
    let e = format!("{}", refused.unwrap_err());
    assert!(
        e.contains("lending.guardian.after: \"exploit\" needs an [[exploits]] entry"),
        "{e}"
    );
    let full = "[lending.guardian]\naction = \"pause\"\nafter = \"full_utilization\"\ndelay_days = 0.25\nduration_days = 10\n\n[lending.rates]\nutilization = 0.5\nbase_per_year = 0\nslope1_per_year = 0\nslope2_per_year = 0\n\n[[lending.rates.supply_shocks]]\nname = \"whale\"\nat_days = 1\nshare = 0.5\nrecovery_days = 1000\n";
    let (days, _) = run(&slashed_collateral(full, ""));
    assert!((days - 8.75).abs() < 1e-9, "{days}");
}

/// A freeze stops new borrowing: the attacker of [`the_attacker_borrows_what_the_reserve_has_left`]
/// (sector_lending.rs) posts half of a 20 % mint of alpha on day 5 and borrows LTV × 100,000 ×
/// 0.5 = 46,500 ETH — unless the guardian froze alpha on day 4 (nothing), or froze it
/// 0.29 day after an earlier exploit (a 0.1 % theft on day 2: nothing either), or freezes it
/// after this one (the borrowing comes first: 46,500).
#[test]
fn a_freeze_stops_the_attackers_borrowing() {
    let lending = |guardian: &str| {
        format!(
            "[lrts.market.pool]\nkind = \"constant_product\"\ndepth_eth = 800_000\n\n[lrts.lending]\nltv = 0.93\nliquidation_threshold = 0.95\nliquidation_bonus = 0.01\ncollateral_share = 0.2\n\n[[lrts.lending.positions]]\nshare = 1\nhealth_factor = 1.5\n\n{guardian}"
        )
    };
    let mint = "[[exploits]]\nname = \"forged\"\nkind = \"unbacked_mint\"\nat_days = 5\nsize = 0.2\nattacker_borrow_share = 0.5\nlrt = \"alpha\"\n";
    let theft = "[[exploits]]\nname = \"theft\"\nkind = \"stolen\"\nat_days = 2\nsize = 0.001\nlrt = \"alpha\"\n";
    let peak = |guardian: &str, extra: &str| {
        let text = two_lrts(
            "paths = 2\nhorizon_days = 15\nstep_days = 1\nseed = 5",
            &lending(guardian),
            "",
            &format!(
                "[sector.lending]\nsupply_eth = 200_000\nbase_per_year = 0\nslope1_per_year = 0\nslope2_per_year = 0\n\n{mint}{extra}"
            ),
        );
        col(&simulate(&model(&text)), "peak_utilization")[0]
    };
    let d = 100_000.0 * 0.95 / 1.5;
    let borrowed = (d + 0.5 * 0.93 * 100_000.0) / 200_000.0;
    let close = |got: f64, want: f64| assert!((got - want).abs() <= 1e-12, "{got} vs {want}");
    close(peak("", ""), borrowed);
    let at = "[lrts.lending.guardian]\naction = \"freeze\"\nat_days = 4\n";
    close(peak(at, ""), d / 200_000.0);
    let after =
        "[lrts.lending.guardian]\naction = \"freeze\"\nafter = \"exploit\"\ndelay_days = 0.29\n";
    close(peak(after, theft), d / 200_000.0);
    close(peak(after, ""), borrowed);
}

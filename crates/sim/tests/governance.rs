//! Allocation changes over time (`[[governance]]`), checked against EigenLayer's
//! `AllocationManager` rules (docs/core/AllocationManager.md): a decrease stays slashable for
//! the deallocation delay and a slash meanwhile cuts it in proportion; an increase is not
//! slashable before the allocation delay and is capped at the operator's free magnitude; a
//! second modification of an allocation with one pending is refused. Scheduled shocks give
//! exact values; Poisson faults give closed-form expectations, checked within 4 Monte Carlo
//! standard errors at fixed seeds.

mod support;

use std::path::Path;

use lrtsim_scenario::{DAYS_PER_YEAR, Model, load_str};
use support::sim::{col, simulate};

fn load(text: &str) -> Model {
    load_str(text, Path::new("governance.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// One operator of 1,000 ETH with magnitudes `x` and `y`, no rewards, and `extra` (shocks,
/// governance) appended.
fn one_operator(paths: u64, x: f64, y: f64, extra: &str) -> String {
    format!(
        r#"
[simulation]
paths = {paths}
horizon_days = 100
step_days = 1
seed = 11
[pool]
collateral_eth = 1000
[rewards]
base_apr = 0
mev_apr = 0
[[operators]]
name = "op"
share = 1
allocations = {{ x = {x}, y = {y} }}
[[avs]]
name = "x"
[[avs]]
name = "y"
{extra}
"#
    )
}

/// A scheduled shock on AVS `avs` at `day` slashing `severity` of its allocations.
fn shock(name: &str, avs: &str, day: f64, severity: f64) -> String {
    format!(
        "[[shocks]]\nname = \"{name}\"\nat_days = {day}\nseverity = {severity}\nselect = {{ avs = [\"{avs}\"] }}\n"
    )
}

fn slashed_every_path(text: &str) -> f64 {
    let r = simulate(&load(text));
    let s = col(&r, "slashed_eth");
    assert!(
        s.iter().all(|v| *v == s[0]),
        "scheduled events: every path alike"
    );
    s[0]
}

/// AllocationManager.md, `slashOperator`: "If the allocation has a pending, non-completable
/// deallocation, additionally reduce allocation.pendingDiff by the same proportion". x holds
/// 0.5 (500 ETH); a vote on day 5 lowers it to 0.2, effective on day 19. A 50 % slash on day
/// 10 still takes 250 ETH; the pending −0.3 becomes −0.15, so x holds 0.1 (100 ETH) from day
/// 19 and a 50 % slash on day 40 takes 50: 300 ETH, against 375 with no vote.
#[test]
fn a_pending_deallocation_stays_slashable_and_shrinks_with_the_slash() {
    let shocks = shock("s1", "x", 10.0, 0.5) + &shock("s2", "x", 40.0, 0.5);
    let vote = r#"
[[governance]]
name = "derisk"
at_days = 5
allocations = { x = 0.2 }
"#;
    let with = slashed_every_path(&one_operator(8, 0.5, 0.3, &(shocks.clone() + vote)));
    let without = slashed_every_path(&one_operator(8, 0.5, 0.3, &shocks));
    assert!((with - 300.0).abs() < 1e-9, "{with}");
    assert!((without - 375.0).abs() < 1e-9, "{without}");
    // Past the delay (a vote on day 30, effective on day 44): the day-40 slash still sees
    // 250 ETH.
    let late = vote.replace("at_days = 5", "at_days = 30");
    let with_late = slashed_every_path(&one_operator(8, 0.5, 0.3, &(shocks.clone() + &late)));
    assert!((with_late - 375.0).abs() < 1e-9, "{with_late}");
    // A shorter deallocation delay (effective on day 7): 0.2 from then, 100 + 50 ETH.
    let quick = vote.replace("at_days = 5", "at_days = 5\ndeallocation_delay_days = 2");
    let with_quick = slashed_every_path(&one_operator(8, 0.5, 0.3, &(shocks + &quick)));
    assert!((with_quick - 150.0).abs() < 1e-9, "{with_quick}");
}

/// AllocationManager.md, `modifyAllocations`: an increase is encumbered at once and becomes
/// slashable after the operator's allocation delay; `slashOperator` cuts only the current
/// magnitude. x holds 0.2 (200 ETH), y 0.3; a vote on day 5 raises x to 0.6 with a 20-day
/// delay. A 50 % slash on day 10 takes 100 ETH (the pending +0.4 is untouched); from day 25
/// x holds 0.1 + 0.4 = 0.5 (500 ETH) and a 50 % slash on day 40 takes 250: 350 ETH.
#[test]
fn an_allocation_is_slashable_only_after_its_delay() {
    let shocks = shock("s1", "x", 10.0, 0.5) + &shock("s2", "x", 40.0, 0.5);
    let vote = r#"
[[governance]]
name = "risk-on"
at_days = 5
allocation_delay_days = 20
allocations = { x = 0.6 }
"#;
    let with = slashed_every_path(&one_operator(8, 0.2, 0.3, &(shocks.clone() + vote)));
    assert!((with - 350.0).abs() < 1e-9, "{with}");
    // With no delay the day-10 slash sees 600 ETH (300), then 0.3 is left (150): 450.
    let now = vote.replace("allocation_delay_days = 20\n", "");
    let with_now = slashed_every_path(&one_operator(8, 0.2, 0.3, &(shocks + &now)));
    assert!((with_now - 450.0).abs() < 1e-9, "{with_now}");
}

/// `modifyAllocations` requires the new encumbered magnitude not to exceed the max magnitude.
/// x and y hold 0.5 each; a 40 % slash of x on day 2 leaves max magnitude 0.8 with 0.3 + 0.5
/// allocated, so nothing is free and a vote raising x back to 0.5 on day 5 allocates
/// nothing: the day-30 slash of 50 % takes 150 ETH (200 + 150 in all). A vote while a
/// deallocation is pending is refused: x stays at the first vote's 0.2.
#[test]
fn increases_are_capped_at_free_magnitude_and_pending_changes_are_not_replaced() {
    let shocks = shock("s1", "x", 2.0, 0.4) + &shock("s2", "x", 30.0, 0.5);
    let vote = r#"
[[governance]]
name = "back"
at_days = 5
allocations = { x = 0.5 }
"#;
    let capped = slashed_every_path(&one_operator(8, 0.5, 0.5, &(shocks + vote)));
    assert!((capped - 350.0).abs() < 1e-9, "{capped}");

    let shocks = shock("s2", "x", 30.0, 0.5);
    let votes = r#"
[[governance]]
name = "first"
at_days = 5
allocations = { x = 0.2 }
[[governance]]
name = "second"
at_days = 10
deallocation_delay_days = 1
allocations = { x = 0.1 }
"#;
    // x = 0.2 from day 19 (the second vote, refused, would have made it 0.1 on day 11).
    let refused = slashed_every_path(&one_operator(8, 0.5, 0.3, &(shocks + votes)));
    assert!((refused - 100.0).abs() < 1e-9, "{refused}");
}

/// Poisson faults on x at λ per year, each slashing s of the current allocation (k = λs per
/// day, and E[(1−s)^N] = e^{−kt} for N ~ Poisson(λt)). A vote at t_v sets x's magnitude from
/// a₀ to a₁ < a₀, effective at t_e = t_v + d: x is slashable at a₀ until t_e, and its pending
/// decrease shrinks with the faults in [t_v, t_e), so it holds a₁(1−s)^N[t_v, t_e) after:
/// E = a₀S(1 − e^{−kt_e}) + a₁S e^{−kd}(1 − e^{−k(H − t_e)}) (neglecting the 6·10⁻⁶ chance
/// that faults before t_v take x below a₁, when the vote is an increase). With no delay
/// the new magnitude is absolute: E[loss | τ] = a₀S(1 − e^{−kτ}) + a₁S(1 − e^{−k(H − τ)}) for
/// a vote at τ < H, averaged over τ ~ Exp(ρ) (and a₀ over the whole horizon when τ ≥ H).
#[test]
fn expected_losses_match_the_closed_forms_for_scheduled_and_random_votes() {
    let (s_eth, a0, a1, lambda, s, h_days): (f64, f64, f64, f64, f64, f64) =
        (1000.0, 0.5, 0.1, 3.0, 0.3, 365.0);
    let year = DAYS_PER_YEAR;
    let text = |schedule: &str| {
        format!(
            r#"
[simulation]
paths = 40000
horizon_days = {h_days}
step_days = 1
seed = 5
[pool]
collateral_eth = 1000
[rewards]
base_apr = 0
mev_apr = 0
[[operators]]
name = "op"
share = 1
allocations = {{ x = {a0} }}
[[avs]]
name = "x"
fault_rate_per_year = {lambda}
fault_severity = {s}
[[governance]]
name = "derisk"
{schedule}
allocations = {{ x = {a1} }}
"#
        )
    };
    let k = lambda * s / year;
    let check = |text: &str, expected: f64| {
        let r = simulate(&load(text));
        let x = col(&r, "slashed_eth");
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let se = (var / n).sqrt();
        assert!(
            (mean - expected).abs() < 4.0 * se,
            "mean {mean} vs closed form {expected} (se {se})"
        );
    };
    let (t_v, d) = (30.0, 14.0);
    let t_e = t_v + d;
    let expected = a0 * s_eth * (1.0 - (-k * t_e).exp())
        + a1 * s_eth * (-k * d).exp() * (1.0 - (-k * (h_days - t_e)).exp());
    check(
        &text(&format!("at_days = {t_v}\ndeallocation_delay_days = {d}")),
        expected,
    );

    // τ ~ Exp(ρ) per day r: ∫₀^H r e^{−rτ} e^{∓kτ} dτ = r/(r ± k) (1 − e^{−(r ± k)H}).
    let rho: f64 = 1.5;
    let r = rho / year;
    let p_before = 1.0 - (-r * h_days).exp();
    let e_minus = r / (r + k) * (1.0 - (-(r + k) * h_days).exp());
    let e_plus = r / (r - k) * (1.0 - (-(r - k) * h_days).exp());
    let expected = a0 * s_eth * (p_before - e_minus)
        + a1 * s_eth * (p_before - (-k * h_days).exp() * e_plus)
        + (1.0 - p_before) * a0 * s_eth * (1.0 - (-k * h_days).exp());
    check(
        &text(&format!(
            "rate_per_year = {rho}\ndeallocation_delay_days = 0"
        )),
        expected,
    );
}

/// An allocation earns its AVS's rewards from when it takes effect: with a 10 % AVS reward
/// APR and no commission or protocol fee, raising x by 0.4 (400 ETH) on day 10 of 100 adds
/// 400 × 0.1 × 90 / 365 ETH to the rewards, and lowering it by 0.2 on day 10 (effective
/// on day 24) removes 200 × 0.1 × 76 / 365.
#[test]
fn rewards_follow_the_allocation_from_its_effect() {
    let base = |extra: &str| {
        format!(
            r#"
[simulation]
paths = 4
horizon_days = 100
step_days = 1
seed = 3
[pool]
collateral_eth = 1000
protocol_fee = 0
[rewards]
base_apr = 0.03
mev_apr = 0
operator_commission = 0
[[operators]]
name = "op"
share = 1
allocations = {{ x = 0.3 }}
[[avs]]
name = "x"
reward_apr = 0.1
{extra}
"#
        )
    };
    let rewards = |text: &str| col(&simulate(&load(text)), "rewards_eth")[0];
    let plain = rewards(&base(""));
    let up = rewards(&base(
        "[[governance]]\nname = \"up\"\nat_days = 10\nallocations = { x = 0.7 }\n",
    ));
    let down = rewards(&base(
        "[[governance]]\nname = \"down\"\nat_days = 10\nallocations = { x = 0.1 }\n",
    ));
    let year = DAYS_PER_YEAR;
    assert!(
        (plain - (30.0 + 30.0) * 100.0 / year).abs() < 1e-9,
        "{plain}"
    );
    assert!(
        (up - plain - 400.0 * 0.1 * 90.0 / year).abs() < 1e-9,
        "{up}"
    );
    assert!(
        (plain - down - 200.0 * 0.1 * 76.0 / year).abs() < 1e-9,
        "{down}"
    );
}

/// In a sector, an operator's allocation change reaches every LRT delegating to it by its
/// share, losses and rewards alike: with every operator's stake delegated to the LRTs, their
/// slashing and rewards add up to the pool's on every path, also where an operator is both
/// slashed and reallocated.
#[test]
fn in_a_sector_every_lrt_follows_its_operators_allocations() {
    let text = r#"
[simulation]
paths = 3000
horizon_days = 365
seed = 21
[pool]
collateral_eth = 3000
[rewards]
base_apr = 0.03
[[lrts]]
name = "alpha"
[[lrts]]
name = "beta"
[[operators]]
name = "a"
share = 0.5
lrts = { alpha = 0.7, beta = 0.3 }
allocations = { safe = 0.3 }
[[operators]]
name = "b"
share = 0.5
lrts = { beta = 1.0 }
allocations = { safe = 0.3, risky = 0.2 }
[[avs]]
name = "safe"
fault_rate_per_year = 0.5
fault_severity = 0.2
reward_apr = 0.01
[[avs]]
name = "risky"
fault_rate_per_year = 2
fault_severity = 0.3
reward_apr = 0.05
[[governance]]
name = "risk-on"
rate_per_year = 2
allocations = { risky = 0.6 }
"#;
    let model = load(text);
    let r = simulate(&model);
    let (slashed, rewards) = (col(&r, "slashed_eth"), col(&r, "rewards_eth"));
    let (sa, sb) = (
        col(&r, "slashed_eth.lrt.alpha"),
        col(&r, "slashed_eth.lrt.beta"),
    );
    let (ra, rb) = (
        col(&r, "rewards_eth.lrt.alpha"),
        col(&r, "rewards_eth.lrt.beta"),
    );
    let mut reallocated_and_slashed = 0;
    for p in 0..slashed.len() {
        let tol = 1e-9 * (1.0 + slashed[p] + rewards[p]);
        assert!(
            (sa[p] + sb[p] - slashed[p]).abs() < tol,
            "path {p}: slashing"
        );
        assert!(
            (ra[p] + rb[p] - rewards[p]).abs() < tol,
            "path {p}: rewards"
        );
        reallocated_and_slashed += usize::from(slashed[p] > 0.0 && rewards[p] > 0.0);
    }
    assert!(reallocated_and_slashed > 100);
    // Operator a, new to `risky`, is reachable by its faults once it allocates: the pair
    // exists from t = 0 with nothing allocated.
    assert!(
        model
            .pairs
            .iter()
            .any(|p| p.operator == 0 && p.avs == 1 && p.eth == 0.0)
    );
    assert!(col(&r, "slashed_eth.avs.risky").iter().any(|v| *v > 0.0));
}

/// The result does not depend on the step: events keep their times, so halving the step
/// leaves every path's slashing as it was, to rounding.
#[test]
fn halving_the_step_leaves_the_losses_in_place() {
    let text = |step: f64| {
        one_operator(
            2000,
            0.5,
            0.3,
            r#"
[[shocks]]
name = "bug"
rate_per_year = 4
severity = 0.2
select = { avs = ["x"] }
[[governance]]
name = "derisk"
rate_per_year = 5
deallocation_delay_days = 3.3
allocations = { x = 0.1, y = 0.6 }
allocation_delay_days = 1.7
"#,
        )
        .replace("step_days = 1", &format!("step_days = {step}"))
    };
    let a = simulate(&load(&text(1.0)));
    let b = simulate(&load(&text(0.5)));
    let (x, y) = (col(&a, "slashed_eth"), col(&b, "slashed_eth"));
    assert!(x.iter().filter(|v| **v > 0.0).count() > 500);
    for (p, (u, v)) in x.iter().zip(y).enumerate() {
        assert!((u - v).abs() <= 1e-9 * u.max(1.0), "path {p}: {u} vs {v}");
    }
}

/// The shipped `risk-on-vote.toml` (README): the vote into the bridge AVS is what makes its
/// tail — paths losing more than 5 % of the collateral are several times as frequent with a
/// vote in 63 % of the years as with one in 10 % (same seed; the difference far beyond its
/// Monte Carlo error).
#[test]
fn the_risk_on_vote_preset_moves_the_tail() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/risk-on-vote.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let share_over = |rate: &str| {
        let sets = [
            "simulation.paths=40000".to_string(),
            format!("governance.risk-on.rate_per_year={rate}"),
        ];
        let model = load_str(&text, &path, &sets).unwrap_or_else(|e| panic!("{e}"));
        let r = simulate(&model);
        let x = col(&r, "slashed_fraction");
        x.iter().filter(|v| **v > 0.05).count() as f64 / x.len() as f64
    };
    let (often, rare) = (share_over("1"), share_over("0.1"));
    let se = ((often * (1.0 - often) + rare * (1.0 - rare)) / 40_000.0).sqrt();
    assert!(often > 3.0 * rare, "{often} vs {rare}");
    assert!(often - rare > 10.0 * se, "{often} vs {rare} (se {se})");
}

/// ETH is conserved on every path whatever the votes do: without withdrawals, t = 0
/// collateral + gross rewards = the book + net rewards + slashed + fees (baseline, its small
/// operators voting into bridge-x at a random time); with them, the front door's balance
/// (bank-run, its operators moving between AVSs) — as the engine's own conservation checks
/// state them. Unique stake holds too: the kernel asserts, in this debug build, that no
/// operator's allocations exceed its stake after a vote takes effect.
#[test]
fn eth_is_conserved_with_votes() {
    use lrtsim_sim::{PathKernel, chunk_rng};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let vote = "\n[[governance]]\nname = \"vote\"\nrate_per_year = 3\nallocation_delay_days = 2\nallocations = { AVS = 0.2 }\n";
    for (file, avs) in [
        ("baseline.toml", "bridge-x"),
        ("bank-run.toml", "rollup-da"),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap() + &vote.replace("AVS", avs);
        let model = load_str(&text, &dir.join(file), &[]).unwrap_or_else(|e| panic!("{e}"));
        let mut kernel = PathKernel::new(&model);
        let mut rng = chunk_rng(model.seed, 5);
        let mut row = vec![0.0; kernel.layout().len()];
        let (mut voted, mut lossy) = (0, 0);
        let c = model.collateral_eth;
        for _ in 0..2_000 {
            kernel.run_path(&mut rng, &mut row);
            let b = kernel.book();
            let col = |name: &str| row[kernel.layout().index(name).unwrap()];
            let (slashed, fees) = (col("slashed_eth"), col("fees_eth"));
            if model.withdrawals.is_none() {
                let holders = b.withdrawable_eth + b.net_rewards_eth;
                let gap = c + b.gross_rewards_eth - (holders + slashed + fees);
                assert!(gap.abs() < 1e-9 * c, "{file}: {gap}");
            } else {
                let (lhs, rhs) = b.front_door_balance_eth();
                assert!((lhs - rhs).abs() < 1e-9 * rhs, "{file}: {lhs} vs {rhs}");
            }
            voted += usize::from(b.allocated_eth != model.pairs.iter().map(|p| p.eth).sum::<f64>());
            lossy += usize::from(slashed > 0.0);
        }
        assert!(
            voted > 1_000 && lossy > 20,
            "{file}: {voted} voted, {lossy} lossy"
        );
    }
}

/// docs/scenario.md's `[[governance]]` example is the preset's vote on a fixed day: in place
/// of the preset's entry it loads, moving the three small operators' `bridge` and `eigenda`.
#[test]
fn the_documented_example_loads_in_the_preset() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let preset = std::fs::read_to_string(root.join("scenarios/risk-on-vote.toml")).unwrap();
    let doc = std::fs::read_to_string(root.join("docs/scenario.md")).unwrap();
    let start = doc
        .find("[[governance]]                        # a vote pushes")
        .expect("the example in docs/scenario.md");
    let example = &doc[start..start + doc[start..].find("```").unwrap()];
    let entry = preset
        .find("\n[[governance]]\n")
        .expect("the preset's entry")
        + 1;
    let text = format!("{}{example}", &preset[..entry]);
    let model = load_str(&text, &root.join("scenarios/risk-on-vote.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let g = &model.governance[0];
    assert_eq!((g.at_days, g.targets.len()), (Some(90.0), 6));
}

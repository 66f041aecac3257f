//! Deterministic number formatting: the same value gives the same text on every machine
//! (Rust's float formatting is exact decimal conversion, never the C library's), so pages and
//! their SVG can be compared byte for byte.

/// What a metric's values measure, for axis labels and table cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A fraction, shown as a percentage (`2.36 %`).
    Fraction,
    /// ETH, with thousands separators (`35,623 ETH`).
    Eth,
    /// Days (`32.1 days`).
    Days,
    /// A count (liquidation calls, sub-steps).
    Count,
    /// A 0-or-1 indicator whose mean is a probability, shown as a percentage.
    Indicator,
    /// A rate per year, shown as a percentage.
    PerYear,
    /// A plain ratio (price ÷ NAV), shown as a number.
    Ratio,
}

impl Unit {
    /// The unit of metric `name` (docs/outputs.md, metrics).
    pub fn of(name: &str) -> Unit {
        // A sector LRT's metric (`bad_debt_eth.lrt.kelp`, `…lrt.*`) has its metric's unit.
        let name = name.split(".lrt.").next().unwrap_or(name);
        if name.ends_with("_eth") || name.starts_with("slashed_eth") {
            Unit::Eth
        } else if name.contains("days") {
            Unit::Days
        } else if name.starts_with("unredeemed_")
            || name.starts_with("depeg_over_")
            || name.starts_with("joint_loss_over_")
            || name.starts_with("loss_over_")
            || name == "reserve_exhausted"
        {
            Unit::Indicator
        } else if name == "cascade_depth" || name.starts_with("market_") {
            Unit::Count
        } else if name == "peak_borrow_rate" {
            Unit::PerYear
        } else {
            Unit::Fraction
        }
    }

    /// The unit as written after an axis title (`%`, `ETH`, `days`, …).
    pub fn label(self) -> &'static str {
        match self {
            Unit::Fraction | Unit::Indicator => "%",
            Unit::Eth => "ETH",
            Unit::Days => "days",
            Unit::Count => "count",
            Unit::PerYear => "% per year",
            Unit::Ratio => "ratio",
        }
    }

    /// `x` in this unit, for a table cell or a tick label: percentages with 3 significant
    /// digits, ETH with thousands separators, days and counts with 3–4 digits.
    pub fn format(self, x: f64) -> String {
        match self {
            Unit::Fraction | Unit::Indicator | Unit::PerYear => format!("{} %", sig(x * 100.0, 3)),
            Unit::Eth => eth(x),
            Unit::Days => format!("{} d", sig(x, 3)),
            Unit::Count => thousands(&sig(x, 4)),
            Unit::Ratio => sig(x, 4),
        }
    }

    /// A tick label (no unit: the axis title has it), with `digits` significant digits.
    pub fn tick(self, x: f64, digits: usize) -> String {
        match self {
            Unit::Fraction | Unit::Indicator | Unit::PerYear => {
                format!("{}%", sig(x * 100.0, digits))
            }
            Unit::Eth | Unit::Count | Unit::Days | Unit::Ratio => thousands(&sig(x, digits)),
        }
    }
}

/// `x` with `digits` significant digits, in plain decimal (no exponent), trailing zeros
/// after the point dropped: `sig(0.0236149, 3)` = `0.0236`, `sig(35623.4, 3)` = `35600`.
/// Not finite: `NaN`, `inf`, `-inf`.
pub fn sig(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if x == 0.0 {
        return "0".into();
    }
    let digits = digits.max(1);
    // Round in decimal through the exact exponent form, then place the point.
    let e = format!("{:.*e}", digits - 1, x);
    let (mantissa, exp) = e.split_once('e').expect("exponent form");
    let exp: i32 = exp.parse().expect("an exponent");
    let negative = mantissa.starts_with('-');
    let ds: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let point = exp + 1; // digits before the decimal point
    let mut s = if point <= 0 {
        format!("0.{}{}", "0".repeat((-point) as usize), ds)
    } else if point as usize >= ds.len() {
        format!("{}{}", ds, "0".repeat(point as usize - ds.len()))
    } else {
        format!("{}.{}", &ds[..point as usize], &ds[point as usize..])
    };
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if negative { format!("-{s}") } else { s }
}

/// Thousands separators in the integer part of a plain decimal: `35623.4` → `35,623.4`.
pub fn thousands(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map_or(("", s), |r| ("-", r));
    let (int, frac) = rest
        .split_once('.')
        .map_or((rest, None), |(i, f)| (i, Some(f)));
    if int.len() <= 3 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return s.to_string();
    }
    let mut out = String::with_capacity(int.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// ETH: whole ETH with thousands separators from 1,000 up, else 4 significant digits
/// (`35,623 ETH`, `12.35 ETH`).
pub fn eth(x: f64) -> String {
    if x.abs() >= 1000.0 {
        format!("{} ETH", thousands(&format!("{:.0}", x)))
    } else {
        format!("{} ETH", sig(x, 4))
    }
}

/// A count with thousands separators (`200,000`).
pub fn count(n: u64) -> String {
    thousands(&n.to_string())
}

/// A tail level as a percentage (`0.99` → `99`, `0.995` → `99.5`).
pub fn level(alpha: f64) -> String {
    sig(alpha * 100.0, 6)
}

/// A coordinate in an SVG: one decimal, `-0.0` written `0.0`.
pub fn px(x: f64) -> String {
    let s = format!("{:.1}", x);
    if s == "-0.0" { "0.0".into() } else { s }
}

/// The shortest text that reads back to exactly `x` (Rust's `Display` of `f64`), for data
/// attributes that a checker compares with the JSON's numbers.
pub fn exact(x: f64) -> String {
    format!("{x}")
}

/// Text for HTML (element content and attribute values): `&`, `<`, `>`, `"` and `'` escaped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(sig(0.0236149, 3), "0.0236");
        assert_eq!(sig(35623.4, 3), "35600");
        assert_eq!(sig(-0.5, 3), "-0.5");
        assert_eq!(sig(1.0, 3), "1");
        assert_eq!(sig(9.996, 3), "10");
        assert_eq!(sig(0.000012345, 2), "0.000012");
        assert_eq!(sig(0.0, 3), "0");
    }

    #[test]
    fn separators_and_units() {
        assert_eq!(thousands("35623.4"), "35,623.4");
        assert_eq!(thousands("-1234567"), "-1,234,567");
        assert_eq!(thousands("999"), "999");
        assert_eq!(eth(35623.4), "35,623 ETH");
        assert_eq!(eth(12.3456), "12.35 ETH");
        assert_eq!(Unit::of("slashed_fraction").format(0.0236), "2.36 %");
        assert_eq!(Unit::of("redeem_days_stress").format(32.14), "32.1 d");
        assert_eq!(Unit::of("slashed_eth.avs.bridge-x"), Unit::Eth);
        // A sector LRT's metric has its metric's unit, whatever the LRT is called.
        assert_eq!(Unit::of("bad_debt_eth.lrt.kelp"), Unit::Eth);
        assert_eq!(Unit::of("redeemed_eth.lrt.*"), Unit::Eth);
        assert_eq!(Unit::of("peak_queue_days.lrt.days-ahead"), Unit::Days);
        assert_eq!(Unit::of("requested_share.lrt.kelp_eth"), Unit::Fraction);
        assert_eq!(Unit::of("cascade_depth").format(1234.0), "1,234");
        assert_eq!(level(0.995), "99.5");
        assert_eq!(px(-0.01), "0.0");
    }
}

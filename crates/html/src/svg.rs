//! Hand-written SVG charts: axes with readable ticks, lines, bands, bars, points with
//! intervals, horizontal bar charts and heat maps. Text is SVG text styled by the page's CSS
//! (no fonts embedded or fetched); every coordinate is written with one decimal
//! ([`px`](crate::fmt::px)), so a chart's SVG is the same on every machine.

use std::fmt::Write as _;

use crate::fmt::{Unit, esc, px, sig};

/// The Okabe–Ito palette (colour-blind safe), black last.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// The colour of series `i`.
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

const W: f64 = 720.0;
const H: f64 = 340.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 52.0;

/// One axis of a chart.
#[derive(Debug, Clone)]
pub struct Axis {
    /// The title, with its unit (`slashed ETH (ETH)`).
    pub title: String,
    /// How tick labels are written.
    pub unit: Unit,
    /// Logarithmic.
    pub log: bool,
    /// Lower end.
    pub min: f64,
    /// Upper end.
    pub max: f64,
}

impl Axis {
    /// A linear axis over [min, max] (widened when empty).
    pub fn linear(title: impl Into<String>, unit: Unit, min: f64, max: f64) -> Axis {
        let (min, max) = widen(min, max);
        Axis {
            title: title.into(),
            unit,
            log: false,
            min,
            max,
        }
    }

    /// A log axis over [min, max] (min > 0), extended to whole decades.
    pub fn log(title: impl Into<String>, unit: Unit, min: f64, max: f64) -> Axis {
        let min = if min > 0.0 && min.is_finite() {
            min
        } else {
            1e-6
        };
        let max = if max > min { max } else { min * 10.0 };
        Axis {
            title: title.into(),
            unit,
            log: true,
            min: 10f64.powf(min.log10().floor()),
            max: 10f64.powf(max.log10().ceil()),
        }
    }

    /// Where `v` falls, 0 at `min` to 1 at `max` (log axes: values ≤ 0 fall below 0).
    fn frac(&self, v: f64) -> f64 {
        if self.log {
            if v <= 0.0 {
                return -0.05;
            }
            (v.ln() - self.min.ln()) / (self.max.ln() - self.min.ln())
        } else {
            (v - self.min) / (self.max - self.min)
        }
    }

    /// Tick values.
    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let lo = self.min.log10().round() as i32;
            let hi = self.max.log10().round() as i32;
            let every = ((hi - lo) as f64 / 8.0).ceil().max(1.0) as i32;
            (lo..=hi)
                .filter(|e| (e - lo) % every == 0)
                .map(|e| 10f64.powi(e))
                .collect()
        } else {
            let step = nice_step((self.max - self.min) / 5.0);
            let first = (self.min / step).ceil() as i64;
            let last = (self.max / step + 1e-9).floor() as i64;
            (first..=last).map(|k| k as f64 * step).collect()
        }
    }
}

/// A step of 1, 2 or 5 times a power of ten near `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    let f = if m < 1.5 {
        1.0
    } else if m < 3.5 {
        2.0
    } else if m < 7.5 {
        5.0
    } else {
        10.0
    };
    f * p
}

/// [min, max] made non-empty: a constant gets a small range around it.
fn widen(min: f64, max: f64) -> (f64, f64) {
    if !(min.is_finite() && max.is_finite()) {
        return (0.0, 1.0);
    }
    if max > min {
        (min, max)
    } else {
        let d = if min == 0.0 { 1.0 } else { min.abs() * 0.1 };
        (min - d, max + d)
    }
}

/// A point's marker.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A circle.
    Circle,
    /// A diamond.
    Diamond,
}

/// What a chart draws.
#[derive(Debug, Clone)]
pub enum Mark {
    /// A polyline.
    Line {
        /// Points.
        pts: Vec<(f64, f64)>,
        /// Palette index.
        color: usize,
        /// Dashed.
        dash: bool,
    },
    /// A filled band between two lines over the same x values.
    Band {
        /// (x, lo, hi) per point.
        pts: Vec<(f64, f64, f64)>,
        /// Palette index.
        color: usize,
        /// Fill opacity.
        opacity: f64,
    },
    /// Vertical bars (x0, x1, y) from the bottom of the axis (or 0).
    Bars {
        /// Bars.
        bars: Vec<(f64, f64, f64)>,
        /// Palette index.
        color: usize,
    },
    /// Points with optional horizontal intervals.
    Points {
        /// (x, y, interval).
        pts: Vec<(f64, f64, Option<[f64; 2]>)>,
        /// Palette index.
        color: usize,
        /// Marker.
        shape: Shape,
    },
    /// A filled polygon (e.g. a horizontal confidence band).
    Area {
        /// Vertices in data coordinates.
        pts: Vec<(f64, f64)>,
        /// Palette index.
        color: usize,
        /// Fill opacity.
        opacity: f64,
    },
    /// A vertical rule with a label at its top.
    Rule {
        /// x.
        x: f64,
        /// Label.
        label: String,
        /// Palette index.
        color: usize,
    },
}

/// A grid line from (x1, y1) to (x2, y2), `line`, and its tick label at `at`, anchored
/// `anchor` (`end`, `middle`).
fn grid_tick(s: &mut String, line: [f64; 4], at: (f64, f64), anchor: &str, label: &str) {
    let [x1, y1, x2, y2] = line.map(px);
    let _ = write!(
        s,
        r#"<line class="grid" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"/><text class="tick" x="{}" y="{}" text-anchor="{anchor}">{}</text>"#,
        px(at.0),
        px(at.1),
        esc(label)
    );
}

/// An x–y chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// What it shows, for screen readers (`<title>`).
    pub title: String,
    /// x axis.
    pub x: Axis,
    /// y axis.
    pub y: Axis,
    /// Marks, drawn in order.
    pub marks: Vec<Mark>,
    /// Legend entries (label, palette index).
    pub legend: Vec<(String, usize)>,
}

impl Chart {
    /// The SVG element.
    pub fn render(&self) -> String {
        let pw = W - LEFT - RIGHT;
        let places = legend_places(&self.legend, LEFT, W - RIGHT);
        let rows = places.iter().map(|p| p.1 + 1).max().unwrap_or(0);
        let top = TOP + 18.0 * rows as f64;
        let ph = H - top - BOTTOM;
        let sx = |v: f64| LEFT + self.x.frac(v).clamp(-0.02, 1.02) * pw;
        let sy = |v: f64| top + (1.0 - self.y.frac(v).clamp(-0.02, 1.02)) * ph;
        let mut s = String::new();
        open(&mut s, W, H, &self.title);
        // Grid and ticks.
        for t in self.y.ticks() {
            let y = sy(t);
            let label = tick_label(&self.y, t);
            grid_tick(
                &mut s,
                [LEFT, y, LEFT + pw, y],
                (LEFT - 6.0, y + 4.0),
                "end",
                &label,
            );
        }
        for t in self.x.ticks() {
            let x = sx(t);
            let label = tick_label(&self.x, t);
            let at = (x, top + ph + 16.0);
            grid_tick(&mut s, [x, top, x, top + ph], at, "middle", &label);
        }
        let _ = write!(
            s,
            r#"<rect class="frame" x="{}" y="{}" width="{}" height="{}"/>"#,
            px(LEFT),
            px(top),
            px(pw),
            px(ph)
        );
        let _ = write!(
            s,
            r#"<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>"#,
            px(LEFT + pw / 2.0),
            px(H - 12.0),
            esc(&self.x.title)
        );
        let _ = write!(
            s,
            r#"<text class="axis" transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            px(top + ph / 2.0),
            esc(&self.y.title)
        );
        let base = if self.y.log {
            top + ph
        } else {
            sy(0f64.clamp(self.y.min, self.y.max))
        };
        for mark in &self.marks {
            let empty = match mark {
                Mark::Line { pts, .. } | Mark::Area { pts, .. } => pts.is_empty(),
                Mark::Band { pts, .. } => pts.is_empty(),
                _ => false,
            };
            if empty {
                // No path data: an empty `d` would be an error in the page.
                continue;
            }
            match mark {
                Mark::Line {
                    pts,
                    color: c,
                    dash,
                } => {
                    let d = path(pts.iter().map(|&(x, y)| (sx(x), sy(y))));
                    let _ = write!(
                        s,
                        r#"<path class="line{}" d="{d}" stroke="{}"/>"#,
                        if *dash { " dash" } else { "" },
                        color(*c)
                    );
                }
                Mark::Band {
                    pts,
                    color: c,
                    opacity,
                } => {
                    let fwd = pts.iter().map(|&(x, lo, _)| (sx(x), sy(lo)));
                    let back = pts.iter().rev().map(|&(x, _, hi)| (sx(x), sy(hi)));
                    let d = path(fwd.chain(back));
                    let _ = write!(
                        s,
                        r#"<path class="band" d="{d}Z" fill="{}" fill-opacity="{}"/>"#,
                        color(*c),
                        sig(*opacity, 2)
                    );
                }
                Mark::Area {
                    pts,
                    color: c,
                    opacity,
                } => {
                    let d = path(pts.iter().map(|&(x, y)| (sx(x), sy(y))));
                    let _ = write!(
                        s,
                        r#"<path class="band" d="{d}Z" fill="{}" fill-opacity="{}"/>"#,
                        color(*c),
                        sig(*opacity, 2)
                    );
                }
                Mark::Bars { bars, color: c } => {
                    let _ = write!(s, r#"<g fill="{}">"#, color(*c));
                    for &(x0, x1, y) in bars {
                        let (a, b) = (sx(x0), sx(x1));
                        let top = sy(y);
                        let (y0, h) = if top < base {
                            (top, base - top)
                        } else {
                            (base, top - base)
                        };
                        if h > 0.0 {
                            let _ = write!(
                                s,
                                r#"<rect x="{}" y="{}" width="{}" height="{}"/>"#,
                                px(a),
                                px(y0),
                                px((b - a).max(0.6)),
                                px(h)
                            );
                        }
                    }
                    s.push_str("</g>");
                }
                Mark::Points {
                    pts,
                    color: c,
                    shape,
                } => {
                    for &(x, y, ci) in pts {
                        let (cx, cy) = (sx(x), sy(y));
                        if let Some([lo, hi]) = ci {
                            let _ = write!(
                                s,
                                r#"<path class="whisker" d="M{} {}H{}M{} {}V{}M{} {}V{}" stroke="{}"/>"#,
                                px(sx(lo)),
                                px(cy),
                                px(sx(hi)),
                                px(sx(lo)),
                                px(cy - 4.0),
                                px(cy + 4.0),
                                px(sx(hi)),
                                px(cy - 4.0),
                                px(cy + 4.0),
                                color(*c)
                            );
                        }
                        match shape {
                            Shape::Circle => {
                                let _ = write!(
                                    s,
                                    r#"<circle cx="{}" cy="{}" r="4" fill="{}"/>"#,
                                    px(cx),
                                    px(cy),
                                    color(*c)
                                );
                            }
                            Shape::Diamond => {
                                let _ = write!(
                                    s,
                                    r#"<path d="M{} {}l5 5l-5 5l-5 -5Z" fill="{}"/>"#,
                                    px(cx),
                                    px(cy - 5.0),
                                    color(*c)
                                );
                            }
                        }
                    }
                }
                Mark::Rule { x, label, color: c } => {
                    let x = sx(*x);
                    let _ = write!(
                        s,
                        r#"<line class="rule" x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/><text class="note" x="{}" y="{}">{}</text>"#,
                        px(x),
                        px(top),
                        px(x),
                        px(top + ph),
                        color(*c),
                        px(x + 3.0),
                        px(top + 12.0),
                        esc(label)
                    );
                }
            }
        }
        legend(&mut s, &self.legend, &places);
        s.push_str("</svg>");
        s
    }
}

/// A tick's label.
fn tick_label(axis: &Axis, v: f64) -> String {
    axis.unit.tick(v, 6)
}

/// `M x y L x y …` of screen points.
fn path(pts: impl Iterator<Item = (f64, f64)>) -> String {
    let mut d = String::new();
    for (i, (x, y)) in pts.enumerate() {
        let _ = write!(d, "{}{} {}", if i == 0 { "M" } else { "L" }, px(x), px(y));
    }
    d
}

/// The opening `<svg>` tag with its `<title>`.
fn open(s: &mut String, w: f64, h: f64, title: &str) {
    let _ = write!(
        s,
        r#"<svg viewBox="0 0 {} {}" role="img"><title>{}</title>"#,
        px(w),
        px(h),
        esc(title)
    );
}

/// Where each legend entry goes: its x and its row, rows filled from `x0` up to `x1`.
fn legend_places(entries: &[(String, usize)], x0: f64, x1: f64) -> Vec<(f64, usize)> {
    let mut out = Vec::new();
    let (mut x, mut row) = (x0, 0);
    for (label, _) in entries {
        // About 6.2 px a character at the legend's 11 px.
        let w = 30.0 + 6.2 * label.chars().count() as f64;
        if x > x0 && x + w > x1 {
            x = x0;
            row += 1;
        }
        out.push((x, row));
        x += w;
    }
    out
}

/// A legend above the plot, at `places` ([`legend_places`]).
fn legend(s: &mut String, entries: &[(String, usize)], places: &[(f64, usize)]) {
    for ((label, c), &(x, row)) in entries.iter().zip(places) {
        let y = 6.0 + 18.0 * row as f64;
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text class="legend" x="{}" y="{}">{}</text>"#,
            px(x),
            px(y),
            color(*c),
            px(x + 14.0),
            px(y + 9.0),
            esc(label)
        );
    }
}

/// A horizontal bar chart with intervals: one row per (label, value, [lo, hi]).
pub fn hbars(
    title: &str,
    axis_title: &str,
    unit: Unit,
    rows: &[(String, f64, [f64; 2])],
) -> String {
    let label_w = 190.0;
    let row_h = 22.0;
    let h = TOP + row_h * rows.len() as f64 + BOTTOM;
    let pw = W - label_w - RIGHT;
    let mut min = 0f64;
    let mut max = 0f64;
    for (_, v, [lo, hi]) in rows {
        min = min.min(*v).min(*lo);
        max = max.max(*v).max(*hi);
    }
    let axis = Axis::linear(axis_title, unit, min, max);
    let sx = |v: f64| label_w + axis.frac(v).clamp(0.0, 1.0) * pw;
    let mut s = String::new();
    open(&mut s, W, h, title);
    let bottom = TOP + row_h * rows.len() as f64;
    for t in axis.ticks() {
        let x = sx(t);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{}" y1="{}" x2="{}" y2="{}"/><text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>"#,
            px(x),
            px(TOP),
            px(x),
            px(bottom),
            px(x),
            px(bottom + 16.0),
            esc(&tick_label(&axis, t))
        );
    }
    let zero = sx(0.0);
    for (i, (label, v, [lo, hi])) in rows.iter().enumerate() {
        let y = TOP + row_h * i as f64;
        let (a, b) = if sx(*v) >= zero {
            (zero, sx(*v))
        } else {
            (sx(*v), zero)
        };
        let cy = y + row_h / 2.0;
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{}" text-anchor="end">{}</text><rect x="{}" y="{}" width="{}" height="{}" fill="{}"/><path class="whisker" d="M{} {}H{}M{} {}V{}M{} {}V{}" stroke="{}"/>"#,
            px(label_w - 6.0),
            px(cy + 4.0),
            esc(label),
            px(a),
            px(y + 4.0),
            px((b - a).max(0.6)),
            px(row_h - 8.0),
            color(0),
            px(sx(*lo)),
            px(cy),
            px(sx(*hi)),
            px(sx(*lo)),
            px(cy - 5.0),
            px(cy + 5.0),
            px(sx(*hi)),
            px(cy - 5.0),
            px(cy + 5.0),
            color(7)
        );
    }
    let _ = write!(
        s,
        r#"<line class="axisline" x1="{}" y1="{}" x2="{}" y2="{}"/><text class="axis" x="{}" y="{}" text-anchor="middle">{}</text></svg>"#,
        px(zero),
        px(TOP),
        px(zero),
        px(bottom),
        px(label_w + pw / 2.0),
        px(h - 12.0),
        esc(axis_title)
    );
    s
}

/// A heat map: `values[j][i]` at column `xs[i]`, row `ys[j]` (rows drawn top to bottom), with
/// each cell's value written in it by `fmt`.
pub fn heatmap(
    title: &str,
    x_title: &str,
    y_title: &str,
    xs: &[String],
    ys: &[String],
    values: &[Vec<Option<f64>>],
    fmt: impl Fn(f64) -> String,
) -> String {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.iter().flatten().flatten() {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    let (lo, hi) = widen(lo, hi);
    let pw = W - LEFT - 110.0 - RIGHT;
    let cell_h = 28.0f64;
    let ph = cell_h * ys.len() as f64;
    // The rows' title goes above their labels.
    const TOP: f64 = 30.0;
    let h = TOP + ph + BOTTOM;
    let cw = pw / xs.len().max(1) as f64;
    let mut s = String::new();
    open(&mut s, W, h, title);
    for (j, y) in ys.iter().enumerate() {
        let yy = TOP + cell_h * j as f64;
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>"#,
            px(LEFT + 100.0),
            px(yy + cell_h / 2.0 + 4.0),
            esc(y)
        );
        for (i, _) in xs.iter().enumerate() {
            let x = LEFT + 110.0 + cw * i as f64;
            match values.get(j).and_then(|r| r.get(i)).copied().flatten() {
                Some(v) => {
                    let t = (v - lo) / (hi - lo);
                    let (fill, ink) = sequential(t);
                    let _ = write!(
                        s,
                        r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}"/><text class="cell" x="{}" y="{}" text-anchor="middle" style="fill:{ink}">{}</text>"#,
                        px(x),
                        px(yy),
                        px(cw),
                        px(cell_h),
                        px(x + cw / 2.0),
                        px(yy + cell_h / 2.0 + 4.0),
                        esc(&fmt(v))
                    );
                }
                None => {
                    let _ = write!(
                        s,
                        r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#eeeeee"/>"##,
                        px(x),
                        px(yy),
                        px(cw),
                        px(cell_h)
                    );
                }
            }
        }
    }
    for (i, x) in xs.iter().enumerate() {
        let _ = write!(
            s,
            r#"<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>"#,
            px(LEFT + 110.0 + cw * (i as f64 + 0.5)),
            px(TOP + ph + 16.0),
            esc(x)
        );
    }
    let _ = write!(
        s,
        r#"<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text><text class="axis" x="{}" y="{}">{} ↓</text></svg>"#,
        px(LEFT + 110.0 + pw / 2.0),
        px(h - 12.0),
        esc(x_title),
        px(8.0),
        px(TOP - 10.0),
        esc(y_title)
    );
    s
}

/// A sequential, colour-blind-safe fill (viridis stops) for t in [0, 1], and a readable ink.
fn sequential(t: f64) -> (String, &'static str) {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let f = t * 4.0;
    let i = (f.floor() as usize).min(3);
    let u = f - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * u).round() as u8;
    (
        format!(
            "#{:02x}{:02x}{:02x}",
            mix(a.0, b.0),
            mix(a.1, b.1),
            mix(a.2, b.2)
        ),
        if t > 0.55 { "#000000" } else { "#ffffff" },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_and_ticks() {
        assert_eq!(nice_step(0.023), 0.02);
        assert_eq!(nice_step(7.0), 5.0);
        let a = Axis::linear("x", Unit::Fraction, 0.0, 0.1);
        assert_eq!(a.ticks().len(), 6);
        let l = Axis::log("p", Unit::Fraction, 0.0004, 0.3);
        assert_eq!(l.min, 0.0001);
        assert_eq!(l.max, 1.0);
        assert_eq!(l.ticks().len(), 5);
    }
}

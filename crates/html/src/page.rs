//! The page: sections, figures with their data tables, tables whose numbers carry data
//! attributes, the style sheet (screen and print). No script, no external resource.

use std::fmt::Write as _;

use crate::fmt::{Unit, esc, exact, level};
use crate::read::{Level, MetricSummary};

/// The style sheet: system fonts, a print stylesheet in which no figure or table row breaks
/// across pages and the data tables stay closed.
pub const CSS: &str = r#"
:root{--ink:#1a1a1a;--muted:#555;--rule:#d0d0d0;--bg:#ffffff;--accent:#0072B2}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:980px;margin:0 auto;padding:24px 28px 64px}
h1{font-size:26px;margin:8px 0 4px}
h2{font-size:20px;margin:36px 0 8px;padding-top:8px;border-top:2px solid var(--ink)}
h3{font-size:16px;margin:20px 0 6px}
p.lead{color:var(--muted);margin:0 0 16px}
nav.toc{font-size:13px;color:var(--muted);margin:8px 0 16px}
nav.toc a{color:var(--accent);text-decoration:none;margin-right:12px}
dl.brief{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}
dl.brief dt{color:var(--muted)}
dl.brief dd{margin:0;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px;font-variant-numeric:tabular-nums}
th,td{padding:3px 8px;border-bottom:1px solid var(--rule);text-align:right;vertical-align:top}
th{background:#f4f4f4;font-weight:600}
td.name,th.name{text-align:left}
.tablewrap{overflow-x:auto;max-width:100%}
td[data-lo]{white-space:nowrap}
table.compare{font-size:12px}
figure{margin:16px 0 24px;break-inside:avoid;page-break-inside:avoid}
figure svg{width:100%;height:auto;display:block}
figcaption{font-weight:600;margin:0 0 4px}
figure p.note,p.note{font-size:13px;color:var(--muted);margin:4px 0}
details{margin:4px 0 0;font-size:13px}
details summary{cursor:pointer;color:var(--accent)}
.story{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#1a1a1a}
svg .tick{font-size:11px}
svg .axis{font-size:12px;font-weight:600}
svg .legend,svg .note{font-size:11px}
svg .cell{font-size:11px}
svg .grid{stroke:#e3e3e3;stroke-width:1}
svg .frame{fill:none;stroke:#999;stroke-width:1}
svg .axisline{stroke:#333;stroke-width:1}
svg .line{fill:none;stroke-width:2}
svg .line.dash{stroke-dasharray:6 4}
svg .whisker{fill:none;stroke-width:1.5}
svg .rule{stroke-width:1;stroke-dasharray:3 3}
footer{margin-top:40px;font-size:12px;color:var(--muted)}
@media print{
  body{font-size:11pt}
  main{max-width:none;padding:0}
  nav.toc,details{display:none}
  .tablewrap{overflow:visible}
  h2{break-after:avoid;page-break-after:avoid}
  figure,table,tr,dl.brief{break-inside:avoid;page-break-inside:avoid}
  @page{margin:14mm}
}
"#;

/// A page being built.
#[derive(Debug, Default)]
pub struct Page {
    /// `<title>` and `<h1>`.
    pub title: String,
    /// The line under the title.
    pub lead: String,
    sections: Vec<(String, String, String)>,
}

impl Page {
    /// A page titled `title`.
    pub fn new(title: impl Into<String>, lead: impl Into<String>) -> Page {
        Page {
            title: title.into(),
            lead: lead.into(),
            sections: Vec::new(),
        }
    }

    /// Adds a section `<section id=…>` with heading `heading` and body `html`.
    pub fn section(&mut self, id: &str, heading: &str, html: String) {
        self.sections
            .push((id.to_string(), heading.to_string(), html));
    }

    /// The whole document.
    pub fn finish(&self) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"lrtsim {}\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n<p class=\"lead\">{}</p>\n<nav class=\"toc\">",
            env!("CARGO_PKG_VERSION"),
            esc(&self.title),
            CSS,
            esc(&self.title),
            esc(&self.lead)
        );
        for (id, heading, _) in &self.sections {
            let _ = write!(s, "<a href=\"#{}\">{}</a>", esc(id), esc(heading));
        }
        s.push_str("</nav>\n");
        for (id, heading, html) in &self.sections {
            let _ = write!(
                s,
                "<section id=\"{}\" data-section=\"{}\">\n<h2>{}</h2>\n{}</section>\n",
                esc(id),
                esc(id),
                esc(heading),
                html
            );
        }
        s.push_str("<footer>Made by lrtsim report: a self-contained page (inline SVG and CSS, no script, nothing fetched). Definitions of every number: docs/outputs.md.</footer>\n</main>\n</body>\n</html>\n");
        s
    }
}

/// A figure: caption (the finding's quantity), the SVG, a note, and its data table in a
/// collapsible `<details>`.
pub fn figure(id: &str, caption: &str, svg: &str, note: &str, table: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure class=\"chart\" id=\"{}\" data-chart=\"{}\">\n<figcaption>{}</figcaption>\n{}\n",
        esc(id),
        esc(id),
        esc(caption),
        svg
    );
    if !note.is_empty() {
        let _ = writeln!(s, "<p class=\"note\">{}</p>", esc(note));
    }
    let _ = write!(
        s,
        "<details><summary>Data behind the chart</summary>\n{table}</details>\n</figure>\n"
    );
    s
}

/// A table cell.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The text shown.
    pub text: String,
    /// Extra attributes, already escaped (` data-x="…"`).
    pub attrs: String,
    /// Left-aligned (a name).
    pub name: bool,
}

impl Cell {
    /// A name cell.
    pub fn name(text: impl AsRef<str>) -> Cell {
        Cell {
            text: text.as_ref().to_string(),
            attrs: String::new(),
            name: true,
        }
    }

    /// A number cell in `unit`, carrying its exact value in `data-value`.
    pub fn num(x: f64, unit: Unit) -> Cell {
        Cell {
            text: unit.format(x),
            attrs: format!(" data-value=\"{}\"", exact(x)),
            name: false,
        }
    }

    /// An interval cell `[lo, hi]` in `unit`, with `data-lo` and `data-hi`.
    pub fn interval(ci: [f64; 2], unit: Unit) -> Cell {
        Cell {
            text: format!("[{}, {}]", unit.format(ci[0]), unit.format(ci[1])),
            attrs: format!(" data-lo=\"{}\" data-hi=\"{}\"", exact(ci[0]), exact(ci[1])),
            name: false,
        }
    }

    /// Plain text, right-aligned.
    pub fn text(text: impl AsRef<str>) -> Cell {
        Cell {
            text: text.as_ref().to_string(),
            attrs: String::new(),
            name: false,
        }
    }

    /// Adds attributes `data-KEY="VALUE"` for each pair.
    pub fn with(mut self, pairs: &[(&str, &str)]) -> Cell {
        for (k, v) in pairs {
            let _ = write!(self.attrs, " data-{}=\"{}\"", k, esc(v));
        }
        self
    }
}

/// A table with header `head`; `class` on the `<table>`.
pub fn table(class: &str, head: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<div class=\"tablewrap\"><table class=\"{}\"><thead><tr>",
        esc(class)
    );
    for (i, h) in head.iter().enumerate() {
        let _ = write!(
            s,
            "<th{}>{}</th>",
            if i == 0 { " class=\"name\"" } else { "" },
            esc(h)
        );
    }
    s.push_str("</tr></thead><tbody>\n");
    for row in rows {
        s.push_str("<tr>");
        for c in row {
            let _ = write!(
                s,
                "<td{}{}>{}</td>",
                if c.name { " class=\"name\"" } else { "" },
                c.attrs,
                esc(&c.text)
            );
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div>\n");
    s
}

/// The rows of a metric's statistics table: mean with its interval, P(> 0), and VaR and ES
/// with their intervals at `levels` (a subset of the run's levels, by α). Every number cell
/// carries `data-metric`, `data-stat` (`mean`, `mean_ci`, `prob_loss`, `var`, `var_ci`, `es`,
/// `es_ci`) and `data-level`, and `data-run` when `run` is given, for the checker.
pub fn metric_rows(
    name: &str,
    m: &MetricSummary,
    levels: &[Level],
    run: Option<&str>,
) -> Vec<Vec<Cell>> {
    let unit = Unit::of(name);
    let tag = |c: Cell, stat: &str, lvl: Option<f64>| {
        let mut pairs: Vec<(&str, String)> =
            vec![("metric", name.to_string()), ("stat", stat.to_string())];
        if let Some(l) = lvl {
            pairs.push(("level", exact(l)));
        }
        if let Some(r) = run {
            pairs.push(("run", r.to_string()));
        }
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        c.with(&refs)
    };
    let half = 1.959964 * m.std_error;
    let mut rows = vec![vec![
        Cell::name(name),
        Cell::text("mean"),
        tag(Cell::num(m.mean, unit), "mean", None),
        tag(
            Cell::interval([m.mean - half, m.mean + half], unit),
            "mean_ci",
            None,
        ),
        Cell::text("P(> 0)"),
        tag(Cell::num(m.prob_loss, Unit::Fraction), "prob_loss", None),
        Cell::text(""),
    ]];
    for l in levels {
        rows.push(vec![
            Cell::name(""),
            Cell::text(format!("VaR {} %", level(l.alpha))),
            tag(Cell::num(l.var, unit), "var", Some(l.alpha)),
            tag(Cell::interval(l.var_ci, unit), "var_ci", Some(l.alpha)),
            Cell::text(format!("ES {} %", level(l.alpha))),
            tag(Cell::num(l.es, unit), "es", Some(l.alpha)),
            tag(Cell::interval(l.es_ci, unit), "es_ci", Some(l.alpha)),
        ]);
        if !l.exact {
            let last = rows.last_mut().expect("a row");
            last[1].text.push_str(" (histogram)");
        }
    }
    rows
}

/// The header of [`metric_rows`]' table.
pub const METRIC_HEAD: [&str; 7] = [
    "metric",
    "statistic",
    "value",
    "95 % interval",
    "statistic",
    "value",
    "95 % interval",
];

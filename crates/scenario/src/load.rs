//! Reading a scenario: TOML syntax, `--set` overrides, typed deserialization, semantic
//! validation, then compilation into a [`Model`].
//!
//! Every failure becomes a [`ScenarioError`] naming the file and the field path; fields that
//! are in the file also get their line and column, fields set on the command line name the
//! override instead.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::{Diagnostic, ScenarioError};
use crate::model::Model;
use crate::overrides::apply_overrides;
use crate::spec::Scenario;
use crate::suggest::did_you_mean_from_serde;
use crate::validate::validate;

/// Reads, overrides, validates and compiles the scenario file at `path`.
///
/// `overrides` are `KEY=VALUE` strings as given to `--set`.
pub fn load_file(path: &Path, overrides: &[String]) -> Result<Model, ScenarioError> {
    let bytes = std::fs::read(path).map_err(|source| ScenarioError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        // Where the text stops being UTF-8, counted in the valid part before it.
        let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        let (line, column) = line_col(valid, valid.len());
        ScenarioError::Syntax {
            file: path.to_path_buf(),
            line,
            column,
            message: format!(
                "not UTF-8 text (byte 0x{:02x}): a scenario is a UTF-8 TOML file",
                bytes[e.valid_up_to()]
            ),
        }
    })?;
    load_str(text, path, overrides)
}

/// Like [`load_file`] for a scenario already in memory; `path` names it in messages and
/// gives the default scenario name (its file stem).
pub fn load_str(text: &str, path: &Path, overrides: &[String]) -> Result<Model, ScenarioError> {
    let file = path.to_path_buf();
    let syntax = |e: toml::de::Error| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        ScenarioError::Syntax {
            file: file.clone(),
            line,
            column,
            message: first_line(e.message()),
        }
    };
    // Parsed twice: once keeping spans (to locate errors), once as plain values (to override
    // and deserialize).
    let spans = DeTable::parse(text).map_err(syntax)?;
    let mut table: toml::Table = text.parse().map_err(syntax)?;

    let applied = apply_overrides(&mut table, overrides, &file)?;
    let locate = |mut d: Diagnostic| -> Diagnostic {
        // The last override that set the value (a later `--set` of the same key wins).
        if let Some(o) = applied.iter().rev().find(|o| covers(&o.path, &d.path)) {
            d.from_override = Some(o.assignment.clone());
        } else {
            d.location = span_of(&spans, &d.path).map(|s| line_col(text, s.start));
        }
        d
    };

    let removed = removed_keys(&table);
    if !removed.is_empty() {
        return Err(ScenarioError::Invalid {
            file: file.clone(),
            problems: removed.into_iter().map(locate).collect(),
        });
    }
    let input = toml::Value::Table(table);
    let mut scenario: Scenario = serde_path_to_error::deserialize(input.clone()).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let inner = e.into_inner();
        let message = did_you_mean_from_serde(&first_line(inner.message()));
        ScenarioError::Invalid {
            file: file.clone(),
            problems: vec![locate(unknown_key_path(path, &message))],
        }
    })?;

    // serde fills a struct from an array by position; a scenario names every field.
    if let Some(d) = array_for_table(&input, &scenario) {
        return Err(ScenarioError::Invalid {
            file: file.clone(),
            problems: vec![locate(d)],
        });
    }

    if scenario.name.is_none() {
        let stem = path
            .file_stem()
            // A file stem may hold characters a name cannot (`stress.v2`): replace them.
            .map(|s| {
                s.to_string_lossy()
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                            c
                        } else {
                            '-'
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        scenario.name = Some(stem);
    }
    let mut problems: Vec<Diagnostic> = validate(&scenario).into_iter().map(locate).collect();
    if !problems.is_empty() {
        problems.sort_by_key(|d| d.location.unwrap_or((usize::MAX, usize::MAX)));
        return Err(ScenarioError::Invalid { file, problems });
    }
    Ok(Model::compile(
        scenario,
        applied.into_iter().map(|o| o.assignment).collect(),
    ))
}

/// What `fault_prob_per_step` of a copula has become.
pub const FAULT_PROB_PER_STEP_GONE: &str = "`fault_prob_per_step` is gone: the copula's factor is now drawn once per `factor_period_days` (default 1 day); write `fault_prob_per_day` (the same number for a daily scenario) or `fault_prob_per_year`";

/// Keys the format no longer has, each reported at the key with what to write instead
/// (serde would only call them unknown): `copulas[i].fault_prob_per_step`. For a scenario
/// whose steps are not one day long, the message adds the settings that keep its old law.
fn removed_keys(table: &toml::Table) -> Vec<Diagnostic> {
    let number = |v: Option<&toml::Value>| match v {
        Some(toml::Value::Float(x)) => Some(*x),
        Some(toml::Value::Integer(i)) => Some(*i as f64),
        _ => None,
    };
    let step_days = table
        .get("simulation")
        .and_then(|s| number(s.get("step_days")))
        .unwrap_or(1.0);
    let mut out = Vec::new();
    let Some(toml::Value::Array(copulas)) = table.get("copulas") else {
        return out;
    };
    for (i, cp) in copulas.iter().enumerate() {
        let Some(old) = cp.as_table().and_then(|t| t.get("fault_prob_per_step")) else {
            continue;
        };
        let mut message = FAULT_PROB_PER_STEP_GONE.to_string();
        if let Some(p) = number(Some(old)).filter(|p| (0.0..=1.0).contains(p))
            && step_days != 1.0
            && step_days.is_finite()
            && step_days > 0.0
        {
            let per_day = -((-p).ln_1p() / step_days).exp_m1();
            message.push_str(&format!(
                "; this scenario's steps are {step_days} days long, so the law it had is `factor_period_days = {step_days}` with `fault_prob_per_day = {per_day}` (1 − (1 − p)^(1/step_days))"
            ));
        }
        out.push(Diagnostic::new(
            format!("copulas[{i}].fault_prob_per_step"),
            message,
        ));
    }
    out
}

/// The first place where the input has an array and the format a table (serde would take the
/// array's items as the table's fields in declaration order: `simulation = [365, 300, 1, 7]`
/// as 365 paths over 300 days). Found by walking the input beside the scenario it gave,
/// serialized: its tables are where the format has tables.
fn array_for_table(input: &toml::Value, scenario: &Scenario) -> Option<Diagnostic> {
    fn walk(
        input: &toml::Value,
        canonical: &serde_json::Value,
        path: String,
    ) -> Option<Diagnostic> {
        use serde_json::Value as J;
        match (input, canonical) {
            (toml::Value::Array(_), J::Object(_)) => {
                let what = if path.is_empty() {
                    "the scenario".to_string()
                } else {
                    format!("`{path}`")
                };
                Some(Diagnostic::new(
                    path,
                    format!(
                        "expected a table, got an array: {what} is a table whose fields are given by name (`key = value`, or a `[table]` section)"
                    ),
                ))
            }
            (toml::Value::Table(t), J::Object(o)) => t.iter().find_map(|(k, v)| {
                let sub = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                o.get(k).and_then(|c| walk(v, c, sub))
            }),
            (toml::Value::Array(a), J::Array(c)) => a
                .iter()
                .zip(c)
                .enumerate()
                .find_map(|(i, (v, c))| walk(v, c, format!("{path}[{i}]"))),
            _ => None,
        }
    }
    let canonical = serde_json::to_value(scenario).ok()?;
    walk(input, &canonical, String::new())
}

/// serde reports an unknown field at its parent; point at the field itself so that the
/// location is the offending key. A missing field is named by its path too (located at its
/// parent table, where it belongs; a missing top-level table has no place in the file).
fn unknown_key_path(path: String, message: &str) -> Diagnostic {
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(key) = rest.split('`').next()
    {
        let full = if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        };
        return Diagnostic::new(full, message);
    }
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some(key) = rest.split('`').next()
    {
        let full = if path.is_empty() || path == key {
            key.to_string()
        } else if path.ends_with(&format!(".{key}")) {
            path
        } else {
            format!("{path}.{key}")
        };
        return Diagnostic::new(full, message);
    }
    Diagnostic::new(path, message)
}

/// Whether a diagnostic at `diag` concerns the value set at `set` (equal or nested).
fn covers(set: &str, diag: &str) -> bool {
    diag == set || diag.starts_with(&format!("{set}.")) || diag.starts_with(&format!("{set}["))
}

fn first_line(s: &str) -> String {
    s.trim().lines().next().unwrap_or("").trim().to_string()
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A path segment: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// Splits `operators[3].allocations.eigenda` into segments.
pub(crate) fn parse_path(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(Segment::Key(rest[..i].to_string()));
            }
            rest = &rest[i..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(end) = stripped.find(']') else { break };
                if let Ok(n) = stripped[..end].parse() {
                    out.push(Segment::Index(n));
                }
                rest = &stripped[end + 1..];
            }
        } else {
            out.push(Segment::Key(rest.to_string()));
        }
    }
    out
}

/// The span of the value (or, for a missing last key, of its table) at `path`.
fn span_of(root: &Spanned<DeTable<'_>>, path: &str) -> Option<Range<usize>> {
    let segments = parse_path(path);
    let mut best = None;
    let mut table = Some(root.get_ref());
    let mut value: Option<&Spanned<DeValue<'_>>> = None;
    for seg in &segments {
        let next = match (seg, table, value) {
            (Segment::Key(k), Some(t), _) => {
                let found = t
                    .iter()
                    .find(|(key, _)| key.get_ref().as_ref() == k.as_str());
                if let Some((key, _)) = found {
                    // Point at the key: that is where a reader looks for the field.
                    best = Some(key.span());
                }
                found.map(|(_, v)| v)
            }
            (Segment::Index(i), _, Some(v)) => {
                v.get_ref().as_array().and_then(|a| a.get(*i)).inspect(|e| {
                    best = Some(e.span());
                })
            }
            _ => None,
        };
        let Some(next) = next else { break };
        value = Some(next);
        table = next.get_ref().as_table();
    }
    best
}

/// The scenario `s` as a TOML file (`scenario.resolved.toml`): every field as run, defaults
/// and `--set` overrides included, which [`load_str`] reads back into the same scenario (the
/// same [`scenario_hash`](crate::model::scenario_hash)). `header` is written first, each of
/// its lines as a `# ` comment.
///
/// Fails (with a message) only for a value TOML cannot hold: an integer above 2⁶³ − 1, which
/// a scenario read from TOML never has.
pub fn resolved_toml(s: &Scenario, header: &str) -> Result<String, String> {
    let body =
        toml::to_string(s).map_err(|e| format!("the scenario cannot be written as TOML: {e}"))?;
    let mut out = String::with_capacity(body.len() + header.len() + 16);
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    if !header.is_empty() {
        out.push('\n');
    }
    out.push_str(&body);
    Ok(out)
}

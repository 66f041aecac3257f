//! `--set KEY=VALUE`: dotted paths into the TOML document, applied before validation.
//!
//! Array entries are addressed by their `name` (`avs.eigenda.reward_apr`) or by index
//! (`operators.3.share`). VALUE is parsed as a TOML value; if it is not one, it is taken as a
//! string, so `--set pool.collateral_eth=5e5` sets a float and `--set name=stress` a string.

use std::path::Path;

use toml::{Table, Value};

use crate::error::ScenarioError;
use crate::suggest::closest;

/// One applied override.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The assignment as given (`avs.eigenda.reward_apr=0.02`).
    pub assignment: String,
    /// The canonical field path it set (`avs[2].reward_apr`), used to attribute errors.
    pub path: String,
}

/// Applies every `KEY=VALUE` to `table`, in order.
pub fn apply_overrides(
    table: &mut Table,
    assignments: &[String],
    file: &Path,
) -> Result<Vec<Override>, ScenarioError> {
    assignments
        .iter()
        .map(|a| {
            apply_one(table, a).map_err(|message| ScenarioError::Override {
                file: file.to_path_buf(),
                assignment: a.clone(),
                message,
            })
        })
        .collect()
}

/// Splits `KEY=VALUE` and parses VALUE.
pub fn parse_assignment(assignment: &str) -> Result<(Vec<&str>, Value), String> {
    let (key, raw) = assignment
        .split_once('=')
        .ok_or_else(|| "expected KEY=VALUE, e.g. avs.eigenda.reward_apr=0.02".to_string())?;
    let key = key.trim();
    if key.is_empty() {
        return Err("the KEY before `=` is empty".into());
    }
    let segments: Vec<&str> = key.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(format!("`{key}` has an empty path segment"));
    }
    Ok((segments, parse_value(raw.trim())))
}

fn parse_value(raw: &str) -> Value {
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

fn apply_one(root: &mut Table, assignment: &str) -> Result<Override, String> {
    let (segments, value) = parse_assignment(assignment)?;
    let mut path = String::new();
    set_in_table(root, &segments, value, &mut path)?;
    Ok(Override {
        assignment: assignment.to_string(),
        path,
    })
}

/// Sets `segs` (relative to `table`) to `value`, extending `path` with the canonical path.
fn set_in_table(
    table: &mut Table,
    segs: &[&str],
    value: Value,
    path: &mut String,
) -> Result<(), String> {
    let seg = segs[0];
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(seg);
    if segs.len() == 1 {
        if let Some(Value::Array(items)) = table.get(seg)
            && items.iter().any(Value::is_table)
            && !value.is_array()
        {
            return Err(format!(
                "`{path}` is a list of entries; address one by name, e.g. {path}.NAME.FIELD=VALUE"
            ));
        }
        table.insert(seg.to_string(), value);
        return Ok(());
    }
    match table
        .entry(seg.to_string())
        .or_insert_with(|| Value::Table(Table::new()))
    {
        Value::Table(t) => set_in_table(t, &segs[1..], value, path),
        Value::Array(items) => {
            let name = segs[1];
            let index = find_entry(items, name).ok_or_else(|| {
                let names: Vec<&str> = items.iter().filter_map(entry_name).collect();
                let hint = closest(name, names.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                format!(
                    "`{path}` has no entry named `{name}` (entries: {}){hint}",
                    names.join(", ")
                )
            })?;
            path.push_str(&format!("[{index}]"));
            if segs.len() == 2 {
                return Err(format!(
                    "cannot replace the whole entry `{seg}.{name}`; set one of its fields"
                ));
            }
            match &mut items[index] {
                Value::Table(t) => set_in_table(t, &segs[2..], value, path),
                other => Err(format!("`{path}` is a {}, not a table", other.type_str())),
            }
        }
        other => Err(format!("`{path}` is a {}, not a table", other.type_str())),
    }
}

fn find_entry(items: &[Value], name: &str) -> Option<usize> {
    items
        .iter()
        .position(|v| entry_name(v) == Some(name))
        .or_else(|| name.parse::<usize>().ok().filter(|i| *i < items.len()))
}

fn entry_name(v: &Value) -> Option<&str> {
    v.as_table()
        .and_then(|t| t.get("name"))
        .and_then(Value::as_str)
}

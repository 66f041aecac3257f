//! Errors of loading a scenario: every message names the file, the field path and, where the
//! field is in the file, its line and column.

use std::fmt;
use std::path::PathBuf;

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Field path such as `operators[3].share` (empty for the whole document).
    pub path: String,
    /// What is wrong and what is allowed.
    pub message: String,
    /// 1-based line and column of the field in the file, when it is there.
    pub location: Option<(usize, usize)>,
    /// The `--set KEY=VALUE` that put the value there, when one did.
    pub from_override: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without a location yet.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.into(),
            message: message.into(),
            location: None,
            from_override: None,
        }
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{}: cannot read the scenario file: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{}:{line}:{column}: TOML syntax error: {message}", file.display())]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// A `--set KEY=VALUE` override could not be applied.
    #[error("{}: --set {assignment}: {message}", file.display())]
    Override {
        /// The scenario file it was applied to.
        file: PathBuf,
        /// The override as given.
        assignment: String,
        /// What is wrong.
        message: String,
    },
    /// One or more fields are missing, of the wrong type, unknown or out of range.
    #[error("{}", render_invalid(file, problems))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Every problem found, in file order where known.
        problems: Vec<Diagnostic>,
    },
}

fn render_invalid(file: &std::path::Path, problems: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&render_one(file, d));
    }
    out
}

fn render_one(file: &std::path::Path, d: &Diagnostic) -> String {
    struct W<'a>(&'a std::path::Path, &'a Diagnostic);
    impl fmt::Display for W<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let (file, d) = (self.0, self.1);
            write!(f, "{}", file.display())?;
            if let Some((line, col)) = d.location {
                write!(f, ":{line}:{col}")?;
            }
            f.write_str(": ")?;
            if !d.path.is_empty() {
                write!(f, "{}: ", d.path)?;
            }
            f.write_str(&d.message)?;
            if let Some(o) = &d.from_override {
                write!(f, " (value from --set {o})")?;
            }
            Ok(())
        }
    }
    W(file, d).to_string()
}

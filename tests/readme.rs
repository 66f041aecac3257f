//! The README's commands, run as a newcomer would run them.
//!
//! Every ```` ```sh ```` block of README.md is parsed into commands (backslash-continued lines
//! joined; a `for … done` loop is one command) and every command is run with `bash -c`, in a
//! fresh temporary directory per block holding a copy of `scenarios/`, with the built
//! `lrtsim` first on `PATH`. Nothing is skipped by a list: a command the test does not know
//! how to run fails it.
//!
//! The one rewrite, so that the whole README runs in seconds: `lrtsim` is a shell function
//! that calls the binary with `--set simulation.paths=PATHS` appended (a later `--set` of the
//! same key wins) for `run`, `sweep` and `validate`. `replay` keeps the README's path count:
//! it simulates only the paths it is given, and its `--path` must exist in the run. `merge`
//! takes no `--set`.
//!
//! The set-up commands (`cargo run --release -- run scenarios/baseline.toml`, `cargo test`)
//! are not run — the suite is one of them — but must be present. Every command must exit 0,
//! and a block must leave nothing outside `out/` and the copied `scenarios/` (the README's
//! examples write under the git-ignored `out/`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The path count every `run`, `sweep` and `validate` of the README is scaled down to.
const PATHS: u64 = 256;

/// The README's set-up commands: checked to be there, not run.
const SET_UP: [&str; 2] = [
    "cargo run --release -- run scenarios/baseline.toml",
    "cargo test",
];

/// Commands that build the release binary with Parquet and install and test the Python
/// package: not run here (they build in release mode); .ci/run runs each, verbatim, after
/// `cargo test`.
const CI_RUN: [&str; 2] = [
    "cargo build --release --features parquet",
    "python3 -m venv .venv && .venv/bin/pip install . pytest matplotlib pyarrow polars duckdb nbclient nbformat ipykernel && .venv/bin/pytest python/tests",
];

/// A README command this test does not run: one of [`CI_RUN`], and `.ci/run` runs it verbatim.
fn assert_run_by_ci(command: &str, line: usize) {
    assert!(
        CI_RUN.contains(&command),
        "README.md:{line}: a command the test does not know: {command:?} (the test runs every lrtsim command; a build or install command must be in CI_RUN and in .ci/run)"
    );
    let ci = fs::read_to_string(repo().join(".ci/run")).expect("reading .ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == command),
        "README.md:{line}: .ci/run does not run {command:?}"
    );
}

/// The repository root.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One ```` ```sh ```` block of a Markdown file: its first line number and its lines.
#[derive(Debug)]
struct Block {
    line: usize,
    lines: Vec<String>,
}

/// The ```` ```sh ```` blocks of `markdown`.
fn sh_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        match &mut current {
            None if trimmed == "```sh" || trimmed == "```bash" || trimmed == "```shell" => {
                current = Some(Block {
                    line: i + 1,
                    lines: Vec::new(),
                });
            }
            None => {}
            Some(_) if trimmed == "```" => blocks.push(current.take().expect("in a block")),
            Some(b) => b.lines.push(line.to_string()),
        }
    }
    assert!(current.is_none(), "README.md: an unterminated ```sh block");
    blocks
}

/// The shell words of a line, split at whitespace and `;` (enough to find `for`, `do` and
/// `done`).
fn words(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| !w.is_empty())
}

/// A block's commands: comment-only and empty lines dropped, backslash-continued lines
/// joined, a `for`/`while` loop (up to its matching `done`) kept as one multi-line command.
fn commands(block: &Block) -> Vec<String> {
    // Join continuations first.
    let mut logical: Vec<String> = Vec::new();
    let mut pending = String::new();
    for line in &block.lines {
        let line = line.trim_end();
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head.trim_end());
            pending.push(' ');
            continue;
        }
        pending.push_str(if pending.is_empty() {
            line
        } else {
            line.trim_start()
        });
        logical.push(std::mem::take(&mut pending));
    }
    assert!(
        pending.is_empty(),
        "README.md:{}: a block ends in a backslash",
        block.line
    );
    let mut out = Vec::new();
    let mut open: Option<(String, i64)> = None;
    for line in logical {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let depth: i64 = words(t)
            .map(|w| match w {
                "do" => 1,
                "done" => -1,
                _ => 0,
            })
            .sum();
        match &mut open {
            Some((text, d)) => {
                text.push('\n');
                text.push_str(&line);
                *d += depth;
                if *d <= 0 {
                    out.push(open.take().expect("open loop").0);
                }
            }
            None if matches!(words(t).next(), Some("for" | "while")) => {
                if depth <= 0 && t.contains("done") {
                    out.push(t.to_string());
                } else {
                    open = Some((t.to_string(), depth));
                }
            }
            None => out.push(t.to_string()),
        }
    }
    assert!(
        open.is_none(),
        "README.md:{}: a loop without its `done`",
        block.line
    );
    out
}

/// The programs a README command calls: the first word of every simple command in it
/// (after `do`, `;`, `&&`, `|`), without loop keywords.
fn programs(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in command.lines() {
        let code = line.split(" #").next().unwrap_or("");
        for part in code.split([';', '|', '&']) {
            let mut ws = part.split_whitespace();
            let mut first = ws.next();
            if first == Some("do") || first == Some("then") {
                first = ws.next();
            }
            match first {
                None | Some("for" | "while" | "done" | "do" | "#") => {}
                Some(w) if w.starts_with('#') => {}
                Some(w) if w.contains('=') && !w.starts_with('-') => {}
                Some(w) => out.push(w.to_string()),
            }
        }
    }
    out
}

/// Copies the directory `from` into `to`, recursively.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("creating a directory");
    for entry in fs::read_dir(from).expect("listing a directory") {
        let entry = entry.expect("listing a directory");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copying a file");
        }
    }
}

/// Whether `program` is on `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Runs one README command with `bash` in `dir`; panics with both streams unless it exits 0.
fn run_command(dir: &Path, block: &Block, command: &str) {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_lrtsim"));
    let bin_dir = binary.parent().expect("the binary's directory");
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("a PATH");
    let prelude = format!(
        "set -eo pipefail\n\
         lrtsim() {{\n\
           case \"$1\" in\n\
             run|sweep|validate) command lrtsim \"$@\" --set simulation.paths={PATHS} ;;\n\
             *) command lrtsim \"$@\" ;;\n\
           esac\n\
         }}\n"
    );
    let started = std::time::Instant::now();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("{prelude}{command}\n"))
        .current_dir(dir)
        .env("PATH", path)
        .env_remove("RUST_BACKTRACE")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .expect("running bash");
    eprintln!(
        "README.md:{}: {:.1} s: {}",
        block.line,
        started.elapsed().as_secs_f64(),
        command.lines().next().unwrap_or("")
    );
    assert!(
        out.status.success(),
        "README.md (block at line {}): the command\n{command}\nexited with {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
        block.line,
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every entry of `dir` (top level) other than `scenarios` and `out`.
fn strays(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir)
        .expect("listing a directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n != "scenarios" && n != "out")
        .collect();
    out.sort();
    out
}

/// Every `summary.json` under `dir/out` is of a run of [`PATHS`] paths: the rewrite is in
/// effect (a README command that escaped it would make the test slow, not wrong).
fn check_scaled(dir: &Path) {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).expect("listing a directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.file_name().is_some_and(|n| n == "summary.json") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    if dir.join("out").is_dir() {
        walk(&dir.join("out"), &mut found);
    }
    for f in found {
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&f).expect("reading a summary"))
                .expect("summary.json is JSON");
        assert_eq!(
            json["paths"].as_u64(),
            Some(PATHS),
            "{}: not scaled down to {PATHS} paths",
            f.display()
        );
    }
}

/// Every command of README.md runs and exits 0, and writes only under `out/`.
#[test]
fn every_readme_command_runs() {
    let readme = fs::read_to_string(repo().join("README.md")).expect("reading README.md");
    let blocks = sh_blocks(&readme);
    assert!(
        blocks.len() >= 5,
        "README.md has too few ```sh blocks: {blocks:?}"
    );
    let mut set_up_seen = Vec::new();
    let mut ran = 0;
    for block in &blocks {
        let commands = commands(block);
        assert!(
            !commands.is_empty(),
            "README.md:{}: an empty ```sh block",
            block.line
        );
        let dir = tempfile::Builder::new()
            .prefix("lrtsim-readme-")
            .tempdir()
            .expect("creating a temporary directory");
        copy_dir(&repo().join("scenarios"), &dir.path().join("scenarios"));
        for command in &commands {
            let programs = programs(command);
            let bare = command.split(" #").next().unwrap_or("").trim();
            if programs.first().map(String::as_str) == Some("cargo") && !SET_UP.contains(&bare) {
                assert_run_by_ci(bare, block.line);
                continue;
            }
            if programs.first().map(String::as_str) == Some("cargo") {
                // A set-up command: checked, not run.
                assert!(
                    SET_UP.contains(&bare),
                    "README.md:{}: a cargo command the test does not know: {bare:?} (the test runs every other command; add it to SET_UP only if it must not run)",
                    block.line
                );
                set_up_seen.push(bare.to_string());
                continue;
            }
            if programs.first().map(String::as_str) == Some("python3") {
                assert_run_by_ci(bare, block.line);
                continue;
            }
            assert!(
                !programs.is_empty(),
                "README.md:{}: no program in {command:?}",
                block.line
            );
            for p in &programs {
                assert!(
                    ["lrtsim", "jq"].contains(&p.as_str()),
                    "README.md:{}: the test cannot run `{p}` (in {command:?}): teach tests/readme.rs how",
                    block.line
                );
            }
            if programs.iter().any(|p| p == "jq") && !on_path("jq") {
                eprintln!(
                    "README.md:{}: jq is not installed: not run: {command}",
                    block.line
                );
                continue;
            }
            run_command(dir.path(), block, command);
            ran += 1;
        }
        check_scaled(dir.path());
        let strays = strays(dir.path());
        assert!(
            strays.is_empty(),
            "README.md:{}: the block wrote {strays:?} outside out/",
            block.line
        );
    }
    for s in SET_UP {
        assert!(
            set_up_seen.iter().any(|c| c == s),
            "README.md: the set-up command `{s}` is missing"
        );
    }
    assert!(ran >= 20, "only {ran} README commands ran");
}

/// The parser joins continuations, keeps loops whole and drops comments.
#[test]
fn readme_blocks_parse_into_commands() {
    let text = "x\n```sh\n# a comment\nlrtsim run a.toml \\\n    --set b=1\n\nfor x in 1 2; do\n  lrtsim run a.toml \\\n      --out \"o/$x\"\ndone\nfor i in 0 1; do lrtsim run a.toml; done\nlrtsim merge p   # same as\n```\n";
    let blocks = sh_blocks(text);
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].line, 2);
    let c = commands(&blocks[0]);
    assert_eq!(
        c,
        [
            "lrtsim run a.toml --set b=1",
            "for x in 1 2; do\n  lrtsim run a.toml --out \"o/$x\"\ndone",
            "for i in 0 1; do lrtsim run a.toml; done",
            "lrtsim merge p   # same as",
        ]
    );
    assert_eq!(programs(&c[1]), ["lrtsim"]);
    assert_eq!(programs(&c[2]), ["lrtsim"]);
    assert_eq!(programs("jq '.a' out/x.json   # {\"path\": 1}"), ["jq"]);
}

/// The documentation cites its sources, not files outside the repository.
#[test]
fn docs_cite_no_files_outside_the_repository() {
    let mut files = vec![repo().join("README.md")];
    for entry in fs::read_dir(repo().join("docs")).expect("listing docs/") {
        let path = entry.expect("an entry").path();
        // Markdown only: docs/ also holds the report's screenshot.
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let mut found = Vec::new();
    for f in files {
        let text = fs::read_to_string(&f).expect("reading a doc");
        for (i, line) in text.lines().enumerate() {
            // `shared/` as a relative path: a cluster's shared file system in an example
            // (`/shared/runs/…`, docs/scale-out.md) is not a citation.
            let relative_shared = line
                .match_indices("shared/")
                .any(|(i, _)| !line[..i].ends_with('/'));
            for needle in ["shared/", "MECHANICS.md", "VALIDATION.md"] {
                let hit = if needle == "shared/" {
                    relative_shared
                } else {
                    line.contains(needle)
                };
                if hit {
                    found.push(format!(
                        "{}:{}: {needle}",
                        f.strip_prefix(repo()).unwrap_or(&f).display(),
                        i + 1
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "citations of files not in the repository:\n{}",
        found.join("\n")
    );
}

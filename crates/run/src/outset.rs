//! Output sets: what makes a directory of reports one run's complete set or visibly
//! incomplete.
//!
//! * A **lock file** (`.lrtsim.lock`, created with `create_new`) held while a run simulates and
//!   writes its set; a second run into the same directory stops with exit status 2, naming the
//!   process that holds it. A lock whose process no longer runs (same host, no `/proc/<pid>`)
//!   is stale and taken over with a warning.
//! * Each file is written atomically (`lrtsim_report::write_atomic`).
//! * `manifest.json` is removed **first** when a run starts writing and written **last**: it
//!   names the run (scenario, hash, seed, paths, a run id) and each file of the set with its
//!   length and FNV-1a 64 checksum. A directory without it, or whose files do not match it, is
//!   not a complete set.
//!
//! Nothing else in the directory is touched. On SIGINT/SIGTERM the temporaries being written
//! and the lock are removed (the CLI's interrupt handler, through the report crate's cleanup registry).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, ResultExt, bail};
use crate::monitor::Monitor;
use serde::{Deserialize, Serialize};

/// The lock file of an output directory.
pub const LOCK_FILE: &str = ".lrtsim.lock";
/// The manifest of an output set.
pub const MANIFEST: &str = "manifest.json";

/// This host's name (empty if unknown): a lock taken on another host is never judged stale.
fn host() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Whether process `pid` runs on this host (Linux: `/proc/<pid>` exists). Elsewhere every
/// process counts as running, so no lock is ever judged stale.
fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// A lock file held by this process; removed when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        lrtsim_report::unregister_cleanup(&self.path);
    }
}

impl Lock {
    /// Takes the lock file `name` in `dir` (created if needed); taking over a stale lock is
    /// a warning to `monitor`.
    pub fn acquire(dir: &Path, name: &str, monitor: &dyn Monitor) -> Result<Lock> {
        fs::create_dir_all(dir)
            .with_context(|| format!("creating output directory {}", dir.display()))?;
        let path = dir.join(name);
        let me = format!("pid {}\nhost {}\n", std::process::id(), host());
        for attempt in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    lrtsim_report::register_cleanup(&path);
                    let lock = Lock { path };
                    f.write_all(me.as_bytes())
                        .with_context(|| format!("writing lock file {}", lock.path.display()))?;
                    return Ok(lock);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = fs::read_to_string(&path).unwrap_or_default();
                    let field = |key: &str| {
                        text.lines()
                            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
                    };
                    let pid = field("pid ").and_then(|p| p.parse::<u32>().ok());
                    let their_host = field("host ").unwrap_or_default();
                    let stale = pid.is_some_and(|p| {
                        p != std::process::id() && their_host == host() && !alive(p)
                    });
                    if stale && attempt == 0 {
                        // Only if it is still the same stale lock (another run may have taken
                        // it over meanwhile).
                        if fs::read_to_string(&path).unwrap_or_default() == text {
                            monitor.warn(&format!(
                                "warning: {}: removing the stale lock of process {} (no longer running)",
                                path.display(),
                                pid.unwrap_or_default()
                            ));
                            let _ = fs::remove_file(&path);
                        }
                        continue;
                    }
                    let who = match pid {
                        Some(p) if their_host.is_empty() => format!("process {p}"),
                        Some(p) => format!("process {p} on {their_host}"),
                        None => "another process".to_string(),
                    };
                    bail!(Error::input(format!(
                        "{}: {who} is writing its output set there (lock file {}); wait for it to finish or choose another --out. If that process is no longer running (killed, or on another machine), remove {} and run again",
                        dir.display(),
                        path.display(),
                        path.display()
                    )));
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("creating lock file {}", path.display()));
                }
            }
        }
        bail!(Error::input(format!(
            "{}: could not take the lock file {}; remove it if no lrtsim process is writing there",
            dir.display(),
            path.display()
        )))
    }
}

/// One file of a set in `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// File name, relative to the directory.
    pub name: String,
    /// Length, bytes.
    pub bytes: u64,
    /// FNV-1a 64 of its bytes, 16 hex digits.
    pub fnv1a64: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Format version of the manifest (1).
    pub manifest_format: u32,
    /// Unique id of the run that wrote the set: start time (ns since 1970, hex) and process id.
    pub run_id: String,
    /// The command that wrote it: `run`, `merge`, `sweep` or `replay`.
    pub command: String,
    /// lrtsim's version.
    pub engine_version: String,
    /// Scenario name.
    pub scenario: String,
    /// Hash of the resolved scenario.
    pub scenario_hash: String,
    /// Seed.
    pub seed: u64,
    /// Paths of the run.
    pub paths: u64,
    /// The replayed path (replay folders only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_path: Option<u64>,
    /// The files of the set, in the order written.
    pub files: Vec<FileEntry>,
}

/// What a manifest says about the run.
#[derive(Debug, Clone)]
pub struct RunId<'a> {
    /// Scenario name.
    pub scenario: &'a str,
    /// Resolved scenario hash.
    pub scenario_hash: &'a str,
    /// Seed.
    pub seed: u64,
    /// Paths.
    pub paths: u64,
    /// Replayed path.
    pub replayed_path: Option<u64>,
}

/// This process's run id.
fn run_id() -> String {
    use std::sync::OnceLock;
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{nanos:x}-{}", std::process::id())
    })
    .clone()
}

/// An output directory locked by this run, into which it writes one set.
#[derive(Debug)]
pub struct OutputSet {
    dir: PathBuf,
    command: &'static str,
    files: Vec<String>,
    _lock: Lock,
}

impl OutputSet {
    /// Locks `dir` for this run (see the module doc; a stale lock taken over is a warning to
    /// `monitor`); nothing in it changes yet.
    pub fn lock(dir: &Path, command: &'static str, monitor: &dyn Monitor) -> Result<OutputSet> {
        Ok(OutputSet {
            dir: dir.to_path_buf(),
            command,
            files: Vec::new(),
            _lock: Lock::acquire(dir, LOCK_FILE, monitor)?,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts writing: removes the previous set's manifest, so that from here until
    /// [`finish`](Self::finish) the directory is visibly incomplete.
    pub fn begin(&mut self) -> Result<()> {
        let m = self.dir.join(MANIFEST);
        match fs::remove_file(&m) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing the old {}", m.display()))
            }
            _ => Ok(()),
        }
    }

    /// The path of file `name` of the set, recorded for the manifest.
    pub fn file(&mut self, name: &str) -> PathBuf {
        if !self.files.iter().any(|f| f == name) {
            self.files.push(name.to_string());
        }
        self.dir.join(name)
    }

    /// Writes `manifest.json` last, with every recorded file's checksum, and releases the lock.
    pub fn finish(self, run: &RunId<'_>) -> Result<()> {
        let mut files = Vec::with_capacity(self.files.len());
        for name in &self.files {
            let path = self.dir.join(name);
            let (bytes, fnv1a64) = lrtsim_report::fnv1a64_file(&path)
                .with_context(|| format!("reading back {}", path.display()))?;
            files.push(FileEntry {
                name: name.clone(),
                bytes,
                fnv1a64,
            });
        }
        let manifest = Manifest {
            manifest_format: 1,
            run_id: run_id(),
            command: self.command.to_string(),
            engine_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: run.scenario.to_string(),
            scenario_hash: run.scenario_hash.to_string(),
            seed: run.seed,
            paths: run.paths,
            replayed_path: run.replayed_path,
            files,
        };
        let json = serde_json::to_string_pretty(&manifest)?;
        lrtsim_report::write_atomic(&self.dir.join(MANIFEST), |w| {
            w.write_all(json.as_bytes())?;
            w.write_all(b"\n")
        })?;
        Ok(())
    }
}

/// Checks that `dir` holds a complete set: its manifest parses, names the scenario hash, seed
/// and paths given and every file in `required`, and every file it lists has its length and
/// checksum. The reason it does not, otherwise.
pub fn verify(
    dir: &Path,
    scenario_hash: &str,
    seed: u64,
    paths: u64,
    required: &[&str],
) -> Result<Manifest, String> {
    let path = dir.join(MANIFEST);
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let m: Manifest =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if m.scenario_hash != scenario_hash || m.seed != seed || m.paths != paths {
        return Err(format!(
            "{}: written by another run (scenario hash {}, seed {}, {} paths)",
            path.display(),
            m.scenario_hash,
            m.seed,
            m.paths
        ));
    }
    if let Some(r) = required
        .iter()
        .find(|r| !m.files.iter().any(|f| f.name == **r))
    {
        return Err(format!("{}: does not list {r}", path.display()));
    }
    for f in &m.files {
        let p = dir.join(&f.name);
        match lrtsim_report::fnv1a64_file(&p) {
            Ok((bytes, sum)) if bytes == f.bytes && sum == f.fnv1a64 => {}
            Ok((bytes, _)) => {
                return Err(format!(
                    "{}: does not match the manifest ({bytes} bytes, checksum differs)",
                    p.display()
                ));
            }
            Err(e) => return Err(format!("{}: {e}", p.display())),
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_and_a_stale_one_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let lock = Lock::acquire(dir.path(), LOCK_FILE, &crate::Silent).unwrap();
        let e = Lock::acquire(dir.path(), LOCK_FILE, &crate::Silent).unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("process {}", std::process::id())),
            "{e}"
        );
        assert!(e.is_input());
        drop(lock);
        assert!(!dir.path().join(LOCK_FILE).exists());
        if cfg!(target_os = "linux") {
            // A process id that cannot be running (above the kernel's pid_max).
            fs::write(
                dir.path().join(LOCK_FILE),
                format!("pid 4194305\nhost {}\n", host()),
            )
            .unwrap();
            /// Keeps the warnings.
            #[derive(Default)]
            struct Warnings(std::sync::Mutex<Vec<String>>);
            impl Monitor for Warnings {
                fn warn(&self, line: &str) {
                    self.0.lock().unwrap().push(line.to_string());
                }
            }
            let warnings = Warnings::default();
            let lock = Lock::acquire(dir.path(), LOCK_FILE, &warnings).unwrap();
            drop(lock);
            let warnings = warnings.0.into_inner().unwrap();
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert!(
                warnings[0].contains("stale lock of process 4194305"),
                "{warnings:?}"
            );
        }
    }

    #[test]
    fn a_manifest_vouches_for_its_files_only() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("mine.txt"), "user file").unwrap();
        let mut set = OutputSet::lock(dir.path(), "run", &crate::Silent).unwrap();
        set.begin().unwrap();
        let a = set.file("a.csv");
        fs::write(&a, "x,y\n1,2\n").unwrap();
        let run = RunId {
            scenario: "s",
            scenario_hash: "h",
            seed: 1,
            paths: 10,
            replayed_path: None,
        };
        set.finish(&run).unwrap();
        assert!(!dir.path().join(LOCK_FILE).exists());
        let m = verify(dir.path(), "h", 1, 10, &["a.csv"]).unwrap();
        assert_eq!(m.files.len(), 1);
        assert!(verify(dir.path(), "other", 1, 10, &[]).is_err());
        assert!(verify(dir.path(), "h", 1, 10, &["b.csv"]).is_err());
        fs::write(&a, "x,y\n1,3\n").unwrap();
        let e = verify(dir.path(), "h", 1, 10, &[]).unwrap_err();
        assert!(e.contains("does not match"), "{e}");
        // A new set removes the manifest first.
        let mut set = OutputSet::lock(dir.path(), "run", &crate::Silent).unwrap();
        set.begin().unwrap();
        assert!(!dir.path().join(MANIFEST).exists());
        assert!(dir.path().join("mine.txt").exists());
    }
}

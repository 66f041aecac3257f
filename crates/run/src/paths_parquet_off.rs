//! `paths.parquet` in a build without the `parquet` feature: asking for it is an input error
//! that says how to build with it. (The types exist so that the rest of the crate is the same
//! in both builds; none of them can be made.)

use std::path::Path;

use lrtsim_sim::ChunkOutput;

use crate::error::{Error, Result};

/// The file's name in the output directory.
pub const FILE: &str = "paths.parquet";

/// Whether this build writes Parquet.
pub const AVAILABLE: bool = false;

/// The streaming writer of `paths.parquet`: not in this build.
pub enum PathsParquet {}

impl PathsParquet {
    /// Fails: this build has no Parquet writer.
    pub fn create(
        _dir: &Path,
        _names: &[String],
        _weighted: bool,
        _first_chunk: u64,
    ) -> Result<Self> {
        Err(Error::parquet_unavailable("--paths-parquet", "--paths-csv"))
    }

    /// Never called (no writer exists).
    pub fn accept(&self, _chunk: &ChunkOutput<'_>, _stopping: &dyn Fn() -> bool) {
        match *self {}
    }

    /// Never called (no writer exists).
    pub fn append_part(
        &self,
        _file: &Path,
        _first_chunk: u64,
        _names: &[String],
        _weighted: bool,
        _total_paths: u64,
    ) -> Result<()> {
        match *self {}
    }

    /// Never called (no writer exists).
    pub fn failed(&self) -> bool {
        match *self {}
    }

    /// Never called (no writer exists).
    pub fn finish(self) -> Result<TempParquet> {
        match self {}
    }
}

/// A finished `paths.parquet`: not in this build.
pub enum TempParquet {}

impl TempParquet {
    /// Never called (no file exists).
    pub fn persist(&mut self, _dest: &Path) -> Result<()> {
        match *self {}
    }
}

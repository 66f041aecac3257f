//! A sweep's metrics against its parameters.

use std::path::Path;

use crate::Error;

/// The report of the sweep in `dir`.
pub fn sweep_report(dir: &Path) -> Result<String, Error> {
    Err(Error::NotAnOutput {
        path: dir.to_path_buf(),
        reason: "sweeps are not written yet".into(),
    })
}

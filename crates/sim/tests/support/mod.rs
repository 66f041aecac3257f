//! Shared test support for the `lrtsim-sim` integration tests.
//!
//! Each integration-test binary includes this module with `mod support;` and
//! uses only a subset of it, hence the crate-wide `dead_code` allowance.
#![allow(dead_code)]

pub mod convergence;
pub mod exact;
pub mod sim;
pub mod two_sample;

//! Price bands (placeholder, being written).

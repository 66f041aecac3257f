//! LRT/ETH pool invariants (placeholder, being written).

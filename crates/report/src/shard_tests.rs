//! Tests of the shard serialization (`write_to` / `read_from` of [`MetricAccumulator`] and
//! [`WaitAccumulator`]) and of the worst paths.
//!
//! The contract: chunks split into groups, each group accumulated, written and read back, then
//! merged in any order, give bit-identical results to one accumulator that took every chunk;
//! a damaged stream gives an error, never a panic.

use std::fs;
use std::path::Path;

use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::accumulator::MetricAccumulator;
use crate::accumulator::tests::{chunked, random_weights};
use crate::error::ReportError;
use crate::histogram::Bin;
use crate::stats::{DEFAULT_LEVELS, MetricStats, WORST_PATHS, WorstPath, metric_stats};
use crate::wait::WaitAccumulator;
use crate::write::{write_loss_distribution_csv, write_redemption_wait_csv};

const LEVELS: [f64; 6] = [0.5, 0.9, 0.95, 0.99, 0.995, 0.999];

/// Every number of the statistics as bits (NaN payloads included), so `==` on them is exact.
fn stats_bits(s: &MetricStats) -> Vec<u64> {
    let mut v = vec![
        s.mean.to_bits(),
        s.std_error.to_bits(),
        s.prob_loss.to_bits(),
        s.min.to_bits(),
        s.max.to_bits(),
    ];
    for l in &s.levels {
        v.extend([l.level, l.var, l.var_lo, l.var_hi, l.es, l.es_lo, l.es_hi].map(f64::to_bits));
        v.push(u64::from(l.exact));
    }
    for w in &s.worst_paths {
        v.extend([w.path, w.value.to_bits()]);
    }
    v
}

fn bins_bits(h: &[Bin]) -> Vec<u64> {
    h.iter()
        .flat_map(|b| {
            [b.lo, b.hi, b.pdf, b.cdf, b.exceedance]
                .map(f64::to_bits)
                .into_iter()
                .chain([b.count])
        })
        .collect()
}

fn to_bytes(acc: &MetricAccumulator) -> Vec<u8> {
    let mut out = Vec::new();
    acc.write_to(&mut out).unwrap();
    out
}

fn from_bytes(bytes: &[u8]) -> Result<MetricAccumulator, ReportError> {
    let mut r = bytes;
    let acc = MetricAccumulator::read_from(&mut r)?;
    assert!(r.is_empty(), "read_from consumes exactly the stream");
    Ok(acc)
}

fn loss_csv(dir: &Path, acc: &MetricAccumulator, bins: usize) -> Vec<u8> {
    let path = dir.join("loss_distribution.csv");
    write_loss_distribution_csv(&path, &[("x", acc)], bins).unwrap();
    fs::read(&path).unwrap()
}

/// Asserts that two accumulators give the same bits everywhere (`what` names the case).
fn assert_same(dir: &Path, a: &MetricAccumulator, b: &MetricAccumulator, what: &str) {
    assert_eq!(a.paths(), b.paths(), "{what}: paths");
    let (sa, sb) = (a.stats("x", &LEVELS), b.stats("x", &LEVELS));
    assert_eq!(stats_bits(&sa), stats_bits(&sb), "{what}: {sa:?} vs {sb:?}");
    if stats_bits(&sa).iter().all(|&x| !f64::from_bits(x).is_nan()) {
        assert_eq!(sa, sb, "{what}");
    }
    for bins in [1, 17] {
        assert_eq!(
            bins_bits(&a.histogram(bins)),
            bins_bits(&b.histogram(bins)),
            "{what}: histogram({bins})"
        );
        assert_eq!(
            loss_csv(dir, a, bins),
            loss_csv(dir, b, bins),
            "{what}: loss_distribution.csv with {bins} bins"
        );
    }
    let bits = |acc: &MetricAccumulator| {
        acc.weight_summary().map(|w| {
            [
                w.effective_sample_size,
                w.mean_weight,
                w.mean_weight_se,
                w.max_weight,
            ]
            .map(f64::to_bits)
        })
    };
    assert_eq!(bits(a), bits(b), "{what}: weight summary");
}

/// The reference for [`MetricStats::worst_paths`]: the usable kept entries are the m largest
/// by (value, smaller path id first), or all of them when fewer than 2m; of those, the values
/// above 0, largest first, at most [`WORST_PATHS`].
fn reference_worst(values: &[f64], ids: &[u64], m: usize) -> Vec<WorstPath> {
    let mut order: Vec<(f64, u64)> = values.iter().copied().zip(ids.iter().copied()).collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let usable = if (values.len() as u128) < 2 * m as u128 {
        values.len()
    } else {
        m
    };
    order
        .into_iter()
        .take(usable)
        .filter(|&(x, _)| x > 0.0)
        .take(WORST_PATHS)
        .map(|(value, path)| WorstPath { path, value })
        .collect()
}

fn value_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => Just(0.0),
        1 => Just(-0.0),
        3 => Just(1.5),
        2 => Just(-2.0),
        6 => -1e3f64..1e3,
        3 => 0.0f64..1e-3,
        3 => (-60i32..60).prop_map(|e| 2f64.powi(e)),
        1 => prop_oneof![
            Just(1e300), Just(-1e300), Just(1e-300), Just(-1e-300), Just(5e-324),
            Just(f64::MAX), Just(f64::INFINITY), Just(f64::NAN),
        ],
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_122),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Chunks split into k groups, each accumulated, written and read back, then merged in a
    /// random order: the same bits as one accumulator that took every chunk in path order —
    /// and the same bytes when written again.
    #[test]
    fn shards_merge_to_the_single_machine_bits(
        values in prop::collection::vec(value_strategy(), 1..1500),
        weights_seed in any::<u64>(),
        chunk in 1usize..300,
        capacity in prop_oneof![Just(1usize), 2usize..60, Just(5000), Just(usize::MAX)],
        weighted in any::<bool>(),
        groups in prop_oneof![Just(1usize), Just(3), Just(8)],
        order_seed in any::<u64>(),
        mix in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let weights = random_weights(values.len(), weights_seed);
        let chunks = chunked(&values, &weights, chunk);
        let add = |acc: &mut MetricAccumulator, &(first, v, w): &(u64, &[f64], &[f64])| {
            acc.add_chunk(first, v, weighted.then_some(w));
        };
        let mut reference = MetricAccumulator::new(capacity, weighted);
        for c in &chunks {
            add(&mut reference, c);
        }
        let expected_bytes = to_bytes(&reference);

        let mut rng = Xoshiro256PlusPlus::seed_from_u64(order_seed);
        let mut order = chunks.clone();
        order.shuffle(&mut rng);
        let mut parts: Vec<MetricAccumulator> =
            (0..groups).map(|_| MetricAccumulator::new(capacity, weighted)).collect();
        for c in &order {
            add(&mut parts[rng.random_range(0..groups)], c);
        }
        // With `mix`, about half the parts are merged as they are (dense while they hold every
        // value, fewer than 2m), the others read back (as entries).
        let mut read: Vec<MetricAccumulator> = parts
            .iter()
            .map(|p| {
                if mix && rng.random::<bool>() {
                    p.clone()
                } else {
                    from_bytes(&to_bytes(p)).unwrap()
                }
            })
            .collect();
        read.shuffle(&mut rng);
        let mut merged = read.pop().unwrap();
        for p in &read {
            merged.merge(p);
        }
        let what = format!("m = {capacity}, weighted {weighted}, {groups} groups");
        assert_same(dir.path(), &merged, &reference, &what);
        // The same state, written again, gives the same bytes.
        prop_assert_eq!(to_bytes(&merged), expected_bytes.clone());
        // And a single accumulator survives its own round trip.
        assert_same(dir.path(), &from_bytes(&expected_bytes).unwrap(), &reference, &what);

        // The worst paths are those of the reference ordering.
        let ids: Vec<u64> = (0..values.len() as u64).collect();
        prop_assert_eq!(
            reference.stats("x", &[]).worst_paths,
            reference_worst(&values, &ids, reference.tail_capacity())
        );
    }

    /// The same contract for the redemption waits: equal (`==`) accumulators, identical CSV.
    #[test]
    fn wait_shards_merge_to_the_single_machine_result(
        waits in prop::collection::vec(
            prop_oneof![Just(0.0), Just(-1.0), 0.0f64..50.0, Just(3.0), Just(1e300)],
            1..800,
        ),
        unpaid_seed in any::<u64>(),
        chunk in 1usize..200,
        bin_days in prop_oneof![Just(1.0), 0.3f64..7.0],
        horizon in prop_oneof![Just(30.0), 0.0f64..100.0],
        weighted in any::<bool>(),
        groups in prop_oneof![Just(1usize), Just(3), Just(8)],
        order_seed in any::<u64>(),
    ) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(unpaid_seed);
        let unpaid: Vec<f64> =
            (0..waits.len()).map(|_| f64::from(u8::from(rng.random::<f64>() < 0.1))).collect();
        let weights: Vec<f64> =
            (0..waits.len()).map(|_| 10f64.powf(rng.random::<f64>() * 4.0 - 2.0)).collect();
        let chunks: Vec<(&[f64], &[f64], &[f64])> = waits
            .chunks(chunk)
            .zip(unpaid.chunks(chunk))
            .zip(weights.chunks(chunk))
            .map(|((a, b), c)| (a, b, c))
            .collect();
        let add = |acc: &mut WaitAccumulator, &(a, b, c): &(&[f64], &[f64], &[f64])| {
            acc.add_chunk(a, b, weighted.then_some(c));
        };
        let mut reference = WaitAccumulator::new(bin_days, horizon, weighted);
        for c in &chunks {
            add(&mut reference, c);
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(order_seed);
        let mut parts: Vec<WaitAccumulator> =
            (0..groups).map(|_| WaitAccumulator::new(bin_days, horizon, weighted)).collect();
        for c in &chunks {
            add(&mut parts[rng.random_range(0..groups)], c);
        }
        let mut read: Vec<WaitAccumulator> = parts
            .iter()
            .map(|p| {
                let mut bytes = Vec::new();
                p.write_to(&mut bytes).unwrap();
                let mut r = bytes.as_slice();
                let back = WaitAccumulator::read_from(&mut r).unwrap();
                assert!(r.is_empty());
                assert_eq!(&back, p);
                back
            })
            .collect();
        read.shuffle(&mut rng);
        let mut merged = read.pop().unwrap();
        for p in &read {
            merged.merge(p);
        }
        prop_assert_eq!(&merged, &reference);
        let dir = tempfile::tempdir().unwrap();
        let csv = |acc: &WaitAccumulator| {
            let path = dir.path().join("redemption_wait.csv");
            write_redemption_wait_csv(&path, &[("h", acc)]).unwrap();
            fs::read(&path).unwrap()
        };
        prop_assert_eq!(csv(&merged), csv(&reference));
    }
}

/// Accumulators of every shape: empty, keep-all, bounded but holding every value, bounded and
/// compacted (the histogram in use), weighted or not.
fn samples() -> Vec<(String, MetricAccumulator)> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(301);
    let values: Vec<f64> = (0..3000)
        .map(|_| match rng.random::<f64>() {
            u if u < 0.4 => 0.0,
            u if u < 0.5 => 0.0265,
            u => (u - 0.5) * 1e3 * rng.random::<f64>() - 100.0,
        })
        .collect();
    let weights: Vec<f64> = (0..3000).map(|_| 0.25 + rng.random::<f64>()).collect();
    let mut out = Vec::new();
    for weighted in [false, true] {
        for m in [usize::MAX, 2000, 100, 1] {
            let mut acc = MetricAccumulator::new(m, weighted);
            for (i, (v, w)) in values.chunks(512).zip(weights.chunks(512)).enumerate() {
                acc.add_chunk(1_000_000 + (i * 512) as u64, v, weighted.then_some(w));
            }
            out.push((format!("m = {m}, weighted {weighted}"), acc));
        }
        out.push((
            format!("empty, weighted {weighted}"),
            MetricAccumulator::new(10, weighted),
        ));
    }
    out
}

fn corrupt_message(r: Result<MetricAccumulator, ReportError>) -> String {
    match r {
        Err(e @ ReportError::Corrupt { .. }) => e.to_string(),
        Err(e) => panic!("expected a Corrupt error, got {e}"),
        Ok(_) => panic!("a damaged stream was accepted"),
    }
}

#[test]
fn every_truncation_and_every_flipped_byte_is_an_error() {
    for (what, acc) in samples() {
        let bytes = to_bytes(&acc);
        // Cheap enough to try every length and every byte up to a few tens of kB.
        let step = (bytes.len() / 3000).max(1);
        for len in (0..bytes.len()).step_by(step).chain([bytes.len() - 1]) {
            let msg = corrupt_message(from_bytes(&bytes[..len]));
            assert!(msg.contains("truncated"), "{what}, {len} bytes: {msg}");
        }
        let mut damaged = bytes.clone();
        for at in (0..bytes.len()).step_by(step) {
            for bit in [0, 7] {
                damaged[at] ^= 1 << bit;
                let mut r = damaged.as_slice();
                let result = MetricAccumulator::read_from(&mut r);
                assert!(
                    matches!(result, Err(ReportError::Corrupt { .. })),
                    "{what}: byte {at} bit {bit} flipped was not detected"
                );
                damaged[at] ^= 1 << bit;
            }
        }
        assert_same(
            tempfile::tempdir().unwrap().path(),
            &from_bytes(&damaged).unwrap(),
            &acc,
            &what,
        );
    }
}

#[test]
fn wrong_tag_or_version_is_named() {
    let (_, acc) = samples().swap_remove(2);
    let bytes = to_bytes(&acc);
    let mut tag = bytes.clone();
    tag[0] ^= 0x20;
    let msg = corrupt_message(from_bytes(&tag));
    assert!(
        msg.contains("tag") && msg.contains("not a MetricAccumulator stream"),
        "{msg}"
    );
    let mut version = bytes.clone();
    version[4] = 9;
    let msg = corrupt_message(from_bytes(&version));
    assert!(msg.contains("format version 9"), "{msg}");
    // A WaitAccumulator stream is not a MetricAccumulator one, and the other way round.
    let mut wait = Vec::new();
    WaitAccumulator::new(1.0, 10.0, false)
        .write_to(&mut wait)
        .unwrap();
    assert!(corrupt_message(from_bytes(&wait)).contains("tag"));
    let err = WaitAccumulator::read_from(&mut bytes.as_slice()).unwrap_err();
    assert!(
        err.to_string().contains("not a WaitAccumulator stream"),
        "{err}"
    );
    assert!(corrupt_message(from_bytes(&[])).contains("truncated"));
}

#[test]
fn streams_follow_each_other() {
    let accs = samples();
    let mut wait = WaitAccumulator::new(0.5, 12.0, true);
    wait.add_chunk(
        &[0.0, 1.0, 11.0, 3.2],
        &[0.0, 0.0, 0.0, 1.0],
        Some(&[1.0, 2.0, 0.5, 3.0]),
    );
    let mut stream = Vec::new();
    for (_, acc) in &accs {
        acc.write_to(&mut stream).unwrap();
        wait.write_to(&mut stream).unwrap();
    }
    let mut r = stream.as_slice();
    let dir = tempfile::tempdir().unwrap();
    for (what, acc) in &accs {
        assert_same(
            dir.path(),
            &MetricAccumulator::read_from(&mut r).unwrap(),
            acc,
            what,
        );
        assert_eq!(WaitAccumulator::read_from(&mut r).unwrap(), wait);
    }
    assert!(r.is_empty());
}

#[test]
fn wait_truncations_and_flips_are_errors() {
    let mut wait = WaitAccumulator::new(1.0, 30.0, true);
    wait.add_chunk(
        &[0.0, 1.0, 29.5, 3.2],
        &[0.0, 0.0, 0.0, 1.0],
        Some(&[1.0, 2.0, 0.5, 3.0]),
    );
    let mut bytes = Vec::new();
    wait.write_to(&mut bytes).unwrap();
    for len in 0..bytes.len() {
        let err = WaitAccumulator::read_from(&mut &bytes[..len]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{len}: {err}");
    }
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        let err = WaitAccumulator::read_from(&mut damaged.as_slice()).unwrap_err();
        assert!(matches!(err, ReportError::Corrupt { .. }), "{at}: {err}");
    }
}

/// FNV-1a as the codec computes it, to forge streams with a valid checksum.
fn reseal(bytes: &mut [u8]) {
    let n = bytes.len() - 8;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in &bytes[..n] {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    bytes[n..].copy_from_slice(&h.to_le_bytes());
}

/// Offsets in a `MetricAccumulator` stream: tag 4, version 2, flags 1, then capacity, paths,
/// positive (u64), min and max keys (i64), the sums (285 bytes each), the tail.
const CAPACITY_AT: usize = 7;
const PATHS_AT: usize = 15;
const POSITIVE_AT: usize = 23;
const SUMS_AT: usize = 47;
const SUM_BYTES: usize = 285;

fn put_u64(bytes: &mut [u8], at: usize, x: u64) {
    bytes[at..at + 8].copy_from_slice(&x.to_le_bytes());
}

#[test]
fn inconsistent_streams_with_a_valid_checksum_are_rejected() {
    let accs = samples();
    let plain_hist = &accs[2].1; // m = 100: compacted, histogram in use
    assert!(plain_hist.paths() > 200);
    let base = to_bytes(plain_hist);
    let forge = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut b = base.clone();
        edit(&mut b);
        reseal(&mut b);
        corrupt_message(from_bytes(&b))
    };
    let tail_at = SUMS_AT + 2 * SUM_BYTES;
    let entries_at = tail_at + 8;
    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("zero capacity", Box::new(|b| put_u64(b, CAPACITY_AT, 0))),
        ("other capacity", Box::new(|b| put_u64(b, CAPACITY_AT, 99))),
        (
            "more positive than paths",
            Box::new(|b| put_u64(b, POSITIVE_AT, 1 << 40)),
        ),
        ("unknown flags", Box::new(|b| b[6] |= 0x80)),
        (
            "keeps-all flag without its capacity",
            Box::new(|b| b[6] |= 2),
        ),
        ("special flags", Box::new(|b| b[SUMS_AT] = 0xff)),
        ("top limb", Box::new(|b| b[SUMS_AT + SUM_BYTES - 1] = 0x40)),
        ("entry count", Box::new(move |b| put_u64(b, tail_at, 101))),
        (
            "entries out of order",
            Box::new(move |b| {
                let (first, second) = (entries_at, entries_at + 16);
                let a: Vec<u8> = b[first..first + 16].to_vec();
                let c: Vec<u8> = b[second..second + 16].to_vec();
                b[first..first + 16].copy_from_slice(&c);
                b[second..second + 16].copy_from_slice(&a);
            }),
        ),
        (
            "kept key outside its histogram bucket",
            Box::new(move |b| {
                // The largest entry made larger still: beyond the maximum.
                let key = i64::from_le_bytes(b[entries_at..entries_at + 8].try_into().unwrap());
                b[entries_at..entries_at + 8].copy_from_slice(&(key + (1 << 50)).to_le_bytes());
            }),
        ),
        (
            "more paths than the histogram counts",
            Box::new(|b| put_u64(b, PATHS_AT, 5000)),
        ),
        (
            "more than 2⁵³ paths",
            Box::new(|b| put_u64(b, PATHS_AT, (1 << 53) + 1)),
        ),
    ];
    for (what, edit) in &cases {
        let msg = forge(edit.as_ref());
        assert!(!msg.contains("checksum"), "{what}: {msg}");
    }

    // A claimed length far beyond the data: an error once the stream runs out, without
    // allocating for the claim (2⁵³ entries would not fit in any memory).
    let mut keep_all = to_bytes(&accs[0].1);
    put_u64(&mut keep_all, PATHS_AT, 1 << 53);
    put_u64(&mut keep_all, SUMS_AT + 2 * SUM_BYTES, 1 << 53);
    let msg = corrupt_message(from_bytes(&keep_all));
    assert!(msg.contains("truncated"), "{msg}");

    // A weight that is not positive and finite.
    let weighted = &accs[7].1; // m = 100, weighted
    let mut b = to_bytes(weighted);
    let entries_at = SUMS_AT + 6 * SUM_BYTES + 8 + 8;
    put_u64(&mut b, entries_at + 16, 0);
    reseal(&mut b);
    assert!(corrupt_message(from_bytes(&b)).contains("invalid key or weight"));

    // Waits: bins that `new` would not make, counts that do not add up.
    let mut wait = WaitAccumulator::new(1.0, 5.0, false);
    wait.add_chunk(&[0.5, 2.0], &[0.0, 0.0], None);
    let mut w = Vec::new();
    wait.write_to(&mut w).unwrap();
    for (at, x) in [(23, 6u64), (31, 3), (23, u64::MAX)] {
        let mut b = w.clone();
        put_u64(&mut b, at, x);
        reseal(&mut b);
        let err = WaitAccumulator::read_from(&mut b.as_slice()).unwrap_err();
        assert!(
            matches!(err, ReportError::Corrupt { .. }) && !err.to_string().contains("checksum"),
            "{err}"
        );
    }
}

#[test]
fn worst_paths_of_columns_and_accumulators() {
    // Ties at the top (1.0 twice, 0.5 three times), zeros, negative values and a NaN.
    let values = [
        0.0,
        0.5,
        -3.0,
        1.0,
        0.25,
        0.5,
        f64::NAN,
        1.0,
        0.0,
        0.5,
        0.125,
        -0.0,
        0.2,
        0.3,
        0.4,
        0.01,
        0.02,
        0.03,
    ];
    let s = metric_stats("x", &values, &DEFAULT_LEVELS);
    let got: Vec<(u64, f64)> = s.worst_paths.iter().map(|w| (w.path, w.value)).collect();
    assert_eq!(
        got,
        [
            (3, 1.0),
            (7, 1.0),
            (1, 0.5),
            (5, 0.5),
            (9, 0.5),
            (14, 0.4),
            (13, 0.3),
            (4, 0.25),
            (12, 0.2),
            (10, 0.125)
        ]
    );
    // No loss above 0: none listed.
    assert!(
        metric_stats("z", &[0.0, -1.0, -0.0], &[])
            .worst_paths
            .is_empty()
    );
    assert!(metric_stats("e", &[], &[0.9]).worst_paths.is_empty());

    // From accumulators of any capacity, chunks in any order, weighted or not: the usable
    // kept entries' largest.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(302);
    let values: Vec<f64> = (0..5000)
        .map(|_| (rng.random::<f64>() * 8.0 - 6.0).round() / 2.0)
        .collect();
    let ids: Vec<u64> = (0..5000).map(|i| 7 + i as u64).collect();
    let weights: Vec<f64> = (0..5000).map(|_| 0.5 + rng.random::<f64>()).collect();
    for weighted in [false, true] {
        for m in [1, 3, 9, 10, 11, 200, 2600, usize::MAX] {
            let mut chunks: Vec<usize> = (0..values.len().div_ceil(100)).collect();
            chunks.shuffle(&mut rng);
            let mut acc = MetricAccumulator::new(m, weighted);
            for c in chunks {
                let r = c * 100..((c + 1) * 100).min(values.len());
                acc.add_chunk(
                    ids[r.start],
                    &values[r.clone()],
                    weighted.then(|| &weights[r]),
                );
            }
            let s = acc.stats("x", &[0.99]);
            assert_eq!(
                s.worst_paths,
                reference_worst(&values, &ids, acc.tail_capacity()),
                "m = {m}, weighted {weighted}"
            );
            assert_eq!(s.worst_paths.len(), m.min(WORST_PATHS), "m = {m}");
            assert!(s.worst_paths.iter().all(|w| w.value == 1.0));
        }
    }
}

#[test]
fn worst_paths_in_summary_json() {
    let a: Vec<f64> = (1..=1000).map(|i| f64::from(i) / 1000.0).collect();
    let s = crate::summary::Summary {
        info: crate::summary::RunInfo {
            scenario: "s".into(),
            scenario_hash: "h".into(),
            seed: 1,
            paths: 1000,
            engine_version: "0".into(),
            horizon_days: 1.0,
            step_days: 1.0,
            max_price_move_per_substep: None,
            max_demand_per_substep: None,
            importance: None,
        },
        metrics: vec![metric_stats("a", &a, &DEFAULT_LEVELS)],
        contributions: Vec::new(),
    };
    let text = serde_json::to_string_pretty(&s).unwrap();
    assert!(text.find("\"exact\"").unwrap() < text.find("\"worst_paths\"").unwrap());
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let worst = j["metrics"]["a"]["worst_paths"].as_array().unwrap();
    assert_eq!(worst.len(), WORST_PATHS);
    assert_eq!(worst[0], serde_json::json!({"path": 999, "value": 1.0}));
    assert_eq!(worst[9], serde_json::json!({"path": 990, "value": 0.991}));
    // It reads back as the struct.
    let back: Vec<WorstPath> =
        serde_json::from_value(j["metrics"]["a"]["worst_paths"].clone()).unwrap();
    assert_eq!(back, s.metrics[0].worst_paths);
}

/// Rough timing of writing and reading a run-sized accumulator: 10⁷ paths into the m of a
/// 10⁸-path, 40-metric run (run with
/// `cargo test -p lrtsim-report --release -- --ignored timing_write_read --nocapture`).
#[test]
#[ignore]
fn timing_write_read() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(303);
    let n = 10_000_000;
    let v: Vec<f64> = (0..n).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
    let w: Vec<f64> = (0..n).map(|_| 0.5 + rng.random::<f64>()).collect();
    for weighted in [false, true] {
        let m = crate::accumulator::tail_capacity(
            100_000_000,
            &DEFAULT_LEVELS,
            40,
            weighted,
            crate::accumulator::DEFAULT_MEMORY_BUDGET_BYTES,
        );
        let mut acc = MetricAccumulator::new(m, weighted);
        for (i, c) in v.chunks(1024).enumerate() {
            let r = i * 1024..i * 1024 + c.len();
            acc.add_chunk(r.start as u64, c, weighted.then(|| &w[r]));
        }
        let t = std::time::Instant::now();
        let bytes = to_bytes(&acc);
        let write = t.elapsed();
        let t = std::time::Instant::now();
        let back = from_bytes(&bytes).unwrap();
        let read = t.elapsed();
        assert_eq!(back.paths(), acc.paths());
        eprintln!(
            "weighted {weighted}: m {m}, {} MB, write_to {write:?}, read_from {read:?}",
            bytes.len() >> 20
        );
    }
}

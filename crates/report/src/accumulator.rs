//! Streaming, mergeable accumulation of one metric: bounded memory for any number of paths, and
//! optional likelihood-ratio weights (importance sampling).

use std::cell::OnceCell;
use std::fmt;
use std::io::{self, Read, Write};

use crate::buckets::{LogHist, bucket_id};
use crate::codec::{BLOCK, Decoder, Encoder, le_i64, le_u64};
use crate::error::ReportError;
use crate::exact::{LANES, Lanes, SuperAcc, dd, from_fixed, from_key, to_fixed, total_key};
use crate::histogram::{Bin, Binner, finite_range, histogram};
use crate::stats::{
    CI_CONFIDENCE, LevelStats, MetricStats, Segment, TailView, WORST_PATHS, WorstPath,
    check_levels, ci_z, empty_stats, sample_sd, var_ci_ranks, var_rank,
};

/// Default memory budget for the kept tail entries of all metrics of a run together (1 GiB);
/// see [`tail_capacity`].
pub const DEFAULT_MEMORY_BUDGET_BYTES: u64 = 1 << 30;

/// What [`tail_capacity`] sets aside per metric for everything but the tail entries: the
/// histogram (16 kB of page table plus 3 kB per (sign, binary exponent) page, 8 kB weighted — a
/// metric spanning 30 binary orders of magnitude on both signs needs 60 pages, 180 kB), the exact
/// sums and the struct itself (about 1.2 kB, 3 kB weighted).
pub const PER_METRIC_OVERHEAD_BYTES: u64 = 1 << 20;

/// Binomial standard deviations of margin [`tail_capacity`] keeps below the lowest level's VaR
/// rank (its CI's lower end is about 1.96 of them below it).
const MARGIN_SDS: f64 = 6.0;

/// How many more tail entries [`tail_capacity`] asks for in weighted runs, where importance
/// sampling puts more paths in the tail.
const WEIGHTED_TAIL_FACTOR: f64 = 4.0;

const POS_INF_KEY: i64 = total_key(f64::INFINITY.to_bits());
/// The key of +0.
const ZERO_KEY: i64 = total_key(0);
const NEG_INF_KEY: i64 = total_key(f64::NEG_INFINITY.to_bits());

/// Tag and format version of [`MetricAccumulator::write_to`]'s stream.
const METRIC_TAG: [u8; 4] = *b"LRMA";
const METRIC_FORMAT: u16 = 2;
/// Bits of its flags byte.
const FLAG_WEIGHTED: u8 = 1;
const FLAG_KEEPS_ALL: u8 = 2;

/// The total-order key of a value as the accumulator stores it. i64::MIN (the key of one NaN bit
/// pattern) is moved up by one, to another NaN, so that it is free as the "no threshold yet"
/// floor of the tail buffer.
#[inline(always)]
fn value_key(x: f64) -> i64 {
    total_key(x.to_bits()).max(i64::MIN + 1)
}

/// The number m of tail entries to keep per metric for a run: enough for every level's tail and
/// its confidence interval's lower end, capped by a memory budget. Pass it to
/// [`MetricAccumulator::new`].
///
/// * If every value of every metric fits the budget (`paths` × `metrics` entries of 16 bytes —
///   the value and its path id — 24 weighted, plus [`PER_METRIC_OVERHEAD_BYTES`] per metric),
///   m = `paths`: everything is kept and every statistic and histogram is exact.
/// * Otherwise m = the entries the levels need, n·(1 − α_min) plus 6 binomial standard
///   deviations √(n·α_min·(1 − α_min)) plus 16 (the interval's lower end lies about 1.96 standard
///   deviations below the VaR rank), times 4 for weighted runs (importance sampling puts more
///   paths in the tail); capped so that `metrics` accumulators, each with its buffer of up to
///   2m entries, fit `budget_bytes` together with the per-metric overhead.
///
/// The result never depends on the number of threads, and is at least 1. With 10⁸ paths, the
/// [`DEFAULT_LEVELS`](crate::DEFAULT_LEVELS), 40 metrics and the
/// [`DEFAULT_MEMORY_BUDGET_BYTES`], m = (2³⁰/40 − 2²⁰)/(2 · 16) = 806,092: the levels 0.995 and
/// 0.999 (which need about 5·10⁵ + 1,380 and 10⁵ + 620 entries) are exact, 0.9, 0.95 and 0.99
/// (10⁶ + 1,950) are read from the histogram. Weighted, m = (2³⁰/40 − 2²⁰)/(2 · 24) = 537,395;
/// which levels are exact then depends on how many sampled paths the tilts put in each tail.
pub fn tail_capacity(
    paths: u64,
    levels: &[f64],
    metrics: usize,
    weighted: bool,
    budget_bytes: u64,
) -> usize {
    let entry = entry_bytes(weighted);
    let per_metric =
        (budget_bytes / metrics.max(1) as u64).saturating_sub(PER_METRIC_OVERHEAD_BYTES);
    if paths.saturating_mul(entry) <= per_metric {
        return usize::try_from(paths).unwrap_or(usize::MAX).max(1);
    }
    let need = levels_need(paths, levels, weighted);
    let cap = (per_metric / (2 * entry)) as f64;
    (need.min(cap) as usize).max(1)
}

/// Bytes of one kept tail entry: the value's key and its path id, and the weight when
/// `weighted`.
fn entry_bytes(weighted: bool) -> u64 {
    if weighted {
        size_of::<WeightedEntry>() as u64
    } else {
        size_of::<PlainEntry>() as u64
    }
}

/// The tail entries the `levels` need in a run of `paths` paths (see [`tail_capacity`]), at
/// most `paths`.
fn levels_need(paths: u64, levels: &[f64], weighted: bool) -> f64 {
    let n = paths as f64;
    let need = levels
        .iter()
        .map(|&alpha| {
            let sd = (n * alpha * (1.0 - alpha)).sqrt();
            n * (1.0 - alpha) + MARGIN_SDS * sd + 16.0
        })
        .fold(0.0f64, f64::max);
    let need = if weighted {
        need * WEIGHTED_TAIL_FACTOR
    } else {
        need
    };
    need.ceil().min(n)
}

#[path = "own_tail.rs"]
mod own_tail;
pub use own_tail::{OwnTail, own_tail_capacity};

/// A kept tail entry as [`MetricAccumulator::tail_at_least`] returns it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TailPath {
    /// The path id.
    pub path: u64,
    /// The metric's value on the path.
    pub value: f64,
    /// Its likelihood-ratio weight (1 when unweighted).
    pub weight: f64,
}

impl TailPath {
    /// The path, value and weight (1 unweighted) of a kept entry.
    fn of<E: Entry>(e: E) -> Self {
        TailPath {
            path: e.path(),
            value: from_key(e.key()),
            weight: if E::WEIGHTED {
                f64::from_bits(e.weight_bits())
            } else {
                1.0
            },
        }
    }
}

/// A tail entry: its total-order key comes first in its order, and is all the hot path of
/// [`TopM::offer`] compares in the common case.
trait Entry: Copy + Ord {
    /// Below every real entry (whose keys are above `i64::MIN`, see [`value_key`]).
    const FLOOR: Self;
    /// Bytes of the serialized entry.
    const BYTES: usize;
    /// The value's total-order key.
    fn key(self) -> i64;
    /// The path id.
    fn path(self) -> u64;
    /// Whether it carries a weight.
    const WEIGHTED: bool;
    /// The entry of the value of key `key` of path `path`, with weight bits `w` (ignored when
    /// unweighted).
    fn from_parts(key: i64, path: u64, w: u64) -> Self;
    /// The weight bits (0 when unweighted).
    fn weight_bits(self) -> u64;
    /// Appends the serialized entry (key, path id and, weighted, weight bits: little-endian).
    fn encode(self, out: &mut Vec<u8>);
    /// The entry at the start of `b` (`BYTES` long), if valid: a key above `i64::MIN` and, with
    /// a weight, a positive finite one.
    fn decode(b: &[u8]) -> Option<Self>;
}

/// A kept value of an unweighted accumulator, ordered by value, then by *descending* path id
/// (`rid` is the id's bitwise complement): of equal values the one of the smaller path id ranks
/// higher, as in [`MetricStats::worst_paths`](crate::MetricStats::worst_paths) — and a later
/// path whose value only ties the threshold, the common case when chunks arrive in path order,
/// is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct PlainEntry {
    key: i64,
    rid: u64,
}

/// A kept value of a weighted accumulator: as [`PlainEntry`], then by weight bits (which only
/// matter should a caller reuse path ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct WeightedEntry {
    key: i64,
    rid: u64,
    w: u64,
}

/// A kept value alone, without its path: for tails whose results need the values only (an
/// [`OwnTail`]'s standalone ES). Ordered by value; of equal values any one stands for the
/// others, so the m largest are one multiset of values whatever the order of the offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct KeyEntry {
    key: i64,
}

impl Entry for KeyEntry {
    const FLOOR: Self = KeyEntry { key: i64::MIN };
    const BYTES: usize = 8;
    const WEIGHTED: bool = false;

    #[inline(always)]
    fn key(self) -> i64 {
        self.key
    }

    /// Never asked: such a tail holds no implicit zeros and reports no paths.
    fn path(self) -> u64 {
        unreachable!("a KeyEntry has no path")
    }

    #[inline(always)]
    fn from_parts(key: i64, _path: u64, _w: u64) -> Self {
        KeyEntry { key }
    }

    #[inline(always)]
    fn weight_bits(self) -> u64 {
        0
    }

    fn encode(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.key.to_le_bytes());
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let key = le_i64(b, 0);
        (key != i64::MIN).then_some(KeyEntry { key })
    }
}

/// Bits of +∞: positive finite weights have smaller (non-zero) bits.
const INF_BITS: u64 = 0x7ff0_0000_0000_0000;

impl Entry for PlainEntry {
    const FLOOR: Self = PlainEntry {
        key: i64::MIN,
        rid: 0,
    };
    const BYTES: usize = 16;
    const WEIGHTED: bool = false;

    #[inline(always)]
    fn key(self) -> i64 {
        self.key
    }

    fn path(self) -> u64 {
        !self.rid
    }

    #[inline(always)]
    fn from_parts(key: i64, path: u64, _w: u64) -> Self {
        PlainEntry { key, rid: !path }
    }

    #[inline(always)]
    fn weight_bits(self) -> u64 {
        0
    }

    fn encode(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.key.to_le_bytes());
        out.extend_from_slice(&self.path().to_le_bytes());
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let key = le_i64(b, 0);
        (key != i64::MIN).then(|| PlainEntry {
            key,
            rid: !le_u64(b, 8),
        })
    }
}

impl Entry for WeightedEntry {
    const FLOOR: Self = WeightedEntry {
        key: i64::MIN,
        rid: 0,
        w: 0,
    };
    const BYTES: usize = 24;
    const WEIGHTED: bool = true;

    #[inline(always)]
    fn key(self) -> i64 {
        self.key
    }

    fn path(self) -> u64 {
        !self.rid
    }

    #[inline(always)]
    fn from_parts(key: i64, path: u64, w: u64) -> Self {
        WeightedEntry { key, rid: !path, w }
    }

    #[inline(always)]
    fn weight_bits(self) -> u64 {
        self.w
    }

    fn encode(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.key.to_le_bytes());
        out.extend_from_slice(&self.path().to_le_bytes());
        out.extend_from_slice(&self.w.to_le_bytes());
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let (key, w) = (le_i64(b, 0), le_u64(b, 16));
        (key != i64::MIN && w != 0 && w < INF_BITS).then(|| WeightedEntry {
            key,
            rid: !le_u64(b, 8),
            w,
        })
    }
}

/// A run of consecutive path ids: the values of one chunk, or of chunks of adjacent paths that
/// arrived one after the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IdRun {
    first: u64,
    len: u64,
}

/// Appends the ids `first`, `first + 1`, … (`len` of them) to `runs`, extending the last run
/// when they continue it.
#[inline]
fn push_run(runs: &mut Vec<IdRun>, first: u64, len: usize) {
    if len == 0 {
        return;
    }
    let len = len as u64;
    match runs.last_mut() {
        Some(r) if r.first.checked_add(r.len) == Some(first) => r.len += len,
        _ => runs.push(IdRun { first, len }),
    }
}

/// The values of +0 that an unweighted [`TopM`] holds without storing them (see
/// [`TopM::implicit`]): how many, and the ids of *every* value offered as runs in arrival
/// order — a +0's id is one of them that no stored entry has.
#[derive(Clone, Debug, Default)]
struct Zeros {
    count: u64,
    runs: Vec<IdRun>,
}

/// Calls `f` with the id of every +0 of `zeros` — the ids of its runs that no entry of
/// `stored` has — ascending, until it returns false.
fn zero_ids<E: Entry>(stored: &[E], zeros: &Zeros, mut f: impl FnMut(u64) -> bool) {
    if zeros.count == 0 {
        return;
    }
    let mut taken: Vec<u64> = stored.iter().map(|e| e.path()).collect();
    taken.sort_unstable();
    let mut runs = zeros.runs.clone();
    runs.sort_unstable_by_key(|r| r.first);
    let mut j = 0;
    for r in runs {
        for id in r.first..r.first + r.len {
            while j < taken.len() && taken[j] < id {
                j += 1;
            }
            if j < taken.len() && taken[j] == id {
                continue;
            }
            if !f(id) {
                return;
            }
        }
    }
}

/// What the next chunk does to a [`TopM`] holding its zeros implicitly
/// ([`TopM::implicit_plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImplicitPlan {
    /// It stays implicit: its non-zero values are appended as entries.
    Keep,
    /// Enough values are not zero that a dense store is smaller and faster: convert to one.
    ToDense,
    /// Its entries could reach 2m: convert to the buffer of entries (after building the
    /// histogram from every value held).
    Leave,
}

/// Every value offered to a [`TopM`] that never had to compact, in arrival order: the keys, the
/// weight bits (weighted accumulators only, else empty), and the path ids as runs of consecutive
/// ids (about one per chunk) — 8 bytes per value (16 weighted) instead of an entry's 16 (24).
/// Most runs keep every value (m = the run's path count), and never need more.
#[derive(Clone, Default)]
struct Dense {
    keys: Vec<i64>,
    w: Vec<u64>,
    runs: Vec<IdRun>,
}

impl Dense {
    fn len(&self) -> usize {
        self.keys.len()
    }

    /// Makes room for `extra` more values in a store of capacity `m` (`usize::MAX`: everything
    /// is kept): m at once when m is finite — the memory budget counts it anyway, and a store
    /// that fills up (every value kept, when m is the run's path count) is then never copied —
    /// then 2m − 1, the most it holds; amortized doubling when everything is kept.
    fn reserve(&mut self, m: usize, extra: usize, weighted: bool) {
        let need = self.keys.len() + extra;
        if need <= self.keys.capacity() && (!weighted || need <= self.w.capacity()) {
            return;
        }
        if m == usize::MAX {
            self.keys.reserve(extra);
            if weighted {
                self.w.reserve(extra);
            }
        } else {
            let target = if need <= m { m } else { 2 * m - 1 }.max(need);
            self.keys.reserve_exact(target - self.keys.len());
            if weighted {
                self.w.reserve_exact(target - self.w.len());
            }
        }
    }

    /// Records the ids of the `len` values appended next: paths `first`, `first + 1`, ….
    #[inline]
    fn push_run(&mut self, first: u64, len: usize) {
        push_run(&mut self.runs, first, len);
    }

    /// Appends `other`'s values (after making room for them).
    fn append(&mut self, other: &Dense) {
        self.keys.extend_from_slice(&other.keys);
        self.w.extend_from_slice(&other.w);
        for r in &other.runs {
            self.push_run(r.first, r.len as usize);
        }
    }

    /// Calls `f` with each value's entry, in arrival order.
    #[inline]
    fn for_each<E: Entry>(&self, mut f: impl FnMut(E)) {
        let mut at = 0;
        for r in &self.runs {
            let n = r.len as usize;
            let keys = &self.keys[at..at + n];
            if E::WEIGHTED {
                let w = &self.w[at..at + n];
                for (j, (&key, &w)) in keys.iter().zip(w).enumerate() {
                    f(E::from_parts(key, r.first + j as u64, w));
                }
            } else {
                for (j, &key) in keys.iter().enumerate() {
                    f(E::from_parts(key, r.first + j as u64, 0));
                }
            }
            at += n;
        }
    }

    fn memory_bytes(&self) -> usize {
        self.keys.capacity() * size_of::<i64>()
            + self.w.capacity() * size_of::<u64>()
            + self.runs.capacity() * size_of::<IdRun>()
    }
}

/// The m largest entries seen, under a total order: a buffer of up to 2m entries, compacted to
/// the m largest with `select_nth_unstable_by` when full; the m-th largest then becomes a
/// threshold below which new entries are not even stored. The kept multiset is unique, so it
/// does not depend on the order of arrival.
///
/// Until the buffer first has to compact (2m values; never when m is the run's path count or
/// everything is kept), it holds every value offered, and keeps them as a [`Dense`] store
/// instead: the same values in the same order, in half the memory, appended a chunk at a time.
/// The first compaction converts them to entries (`spill`), the state the buffer would have had.
#[derive(Clone)]
struct TopM<E> {
    /// m; `usize::MAX` keeps everything.
    m: usize,
    /// Every value offered, while no compaction was ever needed; `buf` is then empty and `thr`
    /// the floor.
    dense: Option<Dense>,
    buf: Vec<E>,
    /// Entries at or below it are not among the m largest.
    thr: E,
    /// Grow by doubling up to m too (for values that few paths have, see [`OwnTail`]),
    /// instead of taking m at once.
    sparse: bool,
    /// Present while the buffer holds every value offered with its +0s left implicit (see
    /// [`TopM::implicit`]): `dense` is then `None`, `buf` holds every other value in arrival
    /// order (fewer than 2m of them unless everything is kept) and `thr` is the floor.
    zeros: Option<Zeros>,
}

impl<E> fmt::Debug for TopM<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("TopM");
        s.field("m", &self.m);
        if let Some(z) = &self.zeros {
            s.field("implicit_zeros", &z.count);
        }
        match &self.dense {
            Some(d) => s
                .field("dense", &d.keys.len())
                .field("capacity", &d.keys.capacity())
                .field("runs", &d.runs.len()),
            None => s
                .field("len", &self.buf.len())
                .field("capacity", &self.buf.capacity()),
        };
        s.finish()
    }
}

impl<E: Entry> TopM<E> {
    /// An empty buffer, in the dense state.
    fn new(m: usize) -> Self {
        TopM {
            m,
            dense: Some(Dense::default()),
            buf: Vec::new(),
            thr: E::FLOOR,
            sparse: false,
            zeros: None,
        }
    }

    /// An empty buffer that holds every value offered, its +0s implicitly — as a count and the
    /// runs of ids — and the others as entries, until [`implicit_plan`](Self::implicit_plan)
    /// says otherwise. For values that are 0 on most paths (per-source and per-AVS losses):
    /// the zeros then cost neither memory nor a compaction. Every result is the one of the
    /// buffer holding them as entries. Unweighted only (a zero's weight would be lost).
    fn implicit(m: usize) -> Self {
        assert!(!E::WEIGHTED, "implicit zeros are for unweighted values");
        TopM {
            dense: None,
            zeros: Some(Zeros::default()),
            ..TopM::of_entries(m)
        }
    }

    /// Whether it holds its +0s implicitly.
    fn is_implicit(&self) -> bool {
        self.zeros.is_some()
    }

    /// What a chunk of `extra` values does to a buffer with implicit zeros: convert it to a
    /// dense store once more than a quarter of the values are not zero and a dense store can
    /// take them all; leave it for the buffer of entries before its entries could reach 2m;
    /// else keep it.
    fn implicit_plan(&self, extra: usize) -> ImplicitPlan {
        let Some(z) = &self.zeros else {
            return ImplicitPlan::Keep;
        };
        let len = self.buf.len() + z.count as usize;
        if len > 0 && 4 * self.buf.len() > len && self.dense_fits(len, extra) {
            ImplicitPlan::ToDense
        } else if !self.keeps_all() && self.buf.len() + extra >= 2 * self.m {
            ImplicitPlan::Leave
        } else {
            ImplicitPlan::Keep
        }
    }

    /// The buffer of non-zero entries and the implicit zeros, ready for a chunk of `len` values
    /// of the paths from `first` on (room reserved, ids recorded). Only with implicit zeros.
    #[inline]
    fn implicit_chunk(&mut self, first: u64, len: usize) -> (&mut Vec<E>, &mut Zeros) {
        let z = self.zeros.as_mut().expect("implicit zeros");
        push_run(&mut z.runs, first, len);
        let need = self.buf.len() + len;
        if need > self.buf.capacity() {
            // Doubling, but never past 2m − 1 entries (the most it holds) unless everything
            // is kept.
            let doubled = (2 * self.buf.capacity()).max(1024);
            let target = if self.m == usize::MAX {
                doubled
            } else {
                doubled.min(2 * self.m - 1)
            }
            .max(need);
            self.buf.reserve_exact(target - self.buf.len());
        }
        (&mut self.buf, z)
    }

    /// Calls `f` with the id of every implicit +0, ascending (the order in which they rank,
    /// the smaller id higher), until it returns false.
    fn for_each_zero_id(&self, f: impl FnMut(u64) -> bool) {
        if let Some(z) = &self.zeros {
            zero_ids(&self.buf, z, f);
        }
    }

    /// The entry of the implicit +0 of path `id`.
    fn zero_entry(id: u64) -> E {
        E::from_parts(ZERO_KEY, id, 0)
    }

    /// Appends to `out` the entries of the (at most) `n` implicit +0s that rank highest: those
    /// of the smallest ids. No other zero can be among the n largest of any set holding them.
    fn push_top_zeros(&self, out: &mut Vec<E>, n: usize) {
        let mut left = n.min(self.implicit_zero_count() as usize);
        out.reserve(left);
        self.for_each_zero_id(|id| {
            if left == 0 {
                return false;
            }
            out.push(Self::zero_entry(id));
            left -= 1;
            true
        });
    }

    /// Converts implicit zeros to a dense store: every value's key in arrival order.
    #[cold]
    #[inline(never)]
    fn implicit_to_dense(&mut self, extra: usize) {
        let Some(z) = self.zeros.take() else {
            return;
        };
        let stored = std::mem::take(&mut self.buf);
        let mut d = Dense::default();
        d.reserve(self.m, stored.len() + z.count as usize + extra, false);
        let mut next = stored.iter().peekable();
        for r in &z.runs {
            for id in r.first..r.first + r.len {
                let key = match next.peek() {
                    Some(e) if e.path() == id => next.next().map_or(ZERO_KEY, |e| e.key()),
                    _ => ZERO_KEY,
                };
                d.keys.push(key);
            }
            d.push_run(r.first, r.len as usize);
        }
        debug_assert!(
            next.next().is_none(),
            "every stored entry has its id in the runs"
        );
        self.dense = Some(d);
    }

    /// Converts implicit zeros to the buffer of entries: the stored entries, then the zeros
    /// by ascending id (the order they rank in) for as long as one can still rank above the
    /// threshold — the state offering every value would have reached, as far as any result
    /// can tell: all of them while fewer than 2m, else a set holding the m largest.
    #[cold]
    #[inline(never)]
    fn leave_implicit(&mut self) {
        let Some(z) = self.zeros.take() else {
            return;
        };
        let stored = std::mem::take(&mut self.buf);
        let total = stored.len() as u64 + z.count;
        self.buf = Vec::with_capacity(if self.keeps_all() {
            total as usize
        } else {
            (total as usize).min(2 * self.m)
        });
        for &e in &stored {
            self.offer(e);
        }
        zero_ids(&stored, &z, |id| {
            if self.thr.key() >= ZERO_KEY {
                // No zero of a larger id can rank above the threshold any more.
                return false;
            }
            self.offer(Self::zero_entry(id));
            true
        });
    }

    /// The implicit +0s (0 without).
    fn implicit_zero_count(&self) -> u64 {
        self.zeros.as_ref().map_or(0, |z| z.count)
    }

    /// An empty buffer of entries (not dense).
    fn of_entries(m: usize) -> Self {
        TopM {
            m,
            dense: None,
            buf: Vec::new(),
            thr: E::FLOOR,
            sparse: false,
            zeros: None,
        }
    }

    fn keeps_all(&self) -> bool {
        self.m == usize::MAX
    }

    /// Number of values held (all of them in the dense state and with implicit zeros).
    fn len(&self) -> usize {
        self.dense.as_ref().map_or(self.buf.len(), Dense::len) + self.implicit_zero_count() as usize
    }

    /// Whether a dense store of `len` values can take `extra` more: everything is kept, or
    /// they stay below 2m (where the buffer compacts).
    fn dense_fits(&self, len: usize, extra: usize) -> bool {
        self.keeps_all() || len + extra < 2 * self.m
    }

    /// The dense store, ready for a chunk of `len` values of the paths from `first` on (room
    /// reserved, ids recorded: append the keys, and weight bits when weighted), or `None` when
    /// the chunk goes through [`offer`](Self::offer) — after converting the dense store to
    /// entries if the chunk would make the buffer compact.
    #[inline]
    fn dense_chunk(&mut self, first: u64, len: usize) -> Option<&mut Dense> {
        let fits = self.dense.as_ref()?.len();
        if !self.dense_fits(fits, len) {
            self.spill(len);
            return None;
        }
        let m = self.m;
        let d = self.dense.as_mut()?;
        d.reserve(m, len, E::WEIGHTED);
        d.push_run(first, len);
        Some(d)
    }

    /// Whether [`merge`](Self::merge)-ing `other` into it keeps it holding every value (dense,
    /// or with implicit zeros).
    fn merge_stays_dense(&self, other: &TopM<E>) -> bool {
        match (&self.dense, &other.dense) {
            (Some(a), Some(b)) => self.dense_fits(a.len(), b.len()),
            _ if self.is_implicit() && other.is_implicit() => {
                self.keeps_all() || self.buf.len() + other.buf.len() < 2 * self.m
            }
            _ => false,
        }
    }

    /// Converts a dense store to entries (the same entries, in the same order, that offering
    /// its values would have pushed), with room for `extra` more as [`grow`](Self::grow) would
    /// have made it.
    #[cold]
    #[inline(never)]
    fn spill(&mut self, extra: usize) {
        if self.is_implicit() {
            self.leave_implicit();
            return;
        }
        let Some(d) = self.dense.take() else {
            return;
        };
        let len = d.len();
        let cap = if self.keeps_all() {
            len + extra
        } else if len + extra <= self.m {
            self.m
        } else {
            2 * self.m
        };
        let mut buf = Vec::with_capacity(cap.max(len));
        d.for_each(|e| buf.push(e));
        drop(d);
        self.buf = buf;
    }

    #[inline(always)]
    fn offer(&mut self, e: E) {
        if e > self.thr {
            self.push(e);
        }
    }

    /// [`offer`](Self::offer) for a loop that keeps a copy of the threshold's key in `thr_key`
    /// (in a register): nearly every value lies below it, and costs one comparison.
    #[inline(always)]
    fn offer_with(&mut self, thr_key: &mut i64, key: i64, e: impl FnOnce() -> E) {
        if key >= *thr_key {
            self.offer(e());
            *thr_key = self.thr.key();
        }
    }

    #[inline(always)]
    fn push(&mut self, e: E) {
        debug_assert!(self.dense.is_none(), "push to a dense TopM");
        if self.buf.len() == self.buf.capacity() {
            self.grow();
        }
        self.buf.push(e);
        if self.buf.len() >= self.m.saturating_mul(2) {
            self.compact();
        }
    }

    /// Grows the buffer by doubling, but exactly to m and then to 2m, so that its capacity never
    /// exceeds 2m (and stays at m when no more than m entries arrive).
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let len = self.buf.len();
        let doubled = (2 * len).max(1024);
        let target = if self.keeps_all() {
            doubled
        } else if len < self.m {
            // m at once: the memory budget counts it anyway.
            if self.sparse {
                doubled.min(self.m)
            } else {
                self.m
            }
        } else {
            2 * self.m
        };
        self.buf.reserve_exact(target - len);
    }

    #[cold]
    #[inline(never)]
    fn compact(&mut self) {
        let m = self.m;
        self.buf.select_nth_unstable_by(m - 1, |a, b| b.cmp(a));
        self.buf.truncate(m);
        self.thr = self.thr.max(self.buf[m - 1]);
    }

    /// Calls `f` with every entry held, in no particular order (implicit zeros included).
    #[inline]
    fn for_each_entry(&self, mut f: impl FnMut(E)) {
        match &self.dense {
            Some(d) => d.for_each(f),
            None => {
                self.buf.iter().for_each(|&e| f(e));
                self.for_each_zero_id(|id| {
                    f(Self::zero_entry(id));
                    true
                });
            }
        }
    }

    /// (key, weight bits) of every value held (weight bits 0 when unweighted), in arrival order
    /// while dense.
    fn key_weights(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        debug_assert!(!self.is_implicit(), "key_weights of implicit zeros");
        let (keys, w, buf): (&[i64], &[u64], &[E]) = match &self.dense {
            Some(d) => (&d.keys, &d.w, &[]),
            None => (&[], &[], &self.buf),
        };
        keys.iter()
            .enumerate()
            .map(move |(i, &k)| (k, if E::WEIGHTED { w[i] } else { 0 }))
            .chain(buf.iter().map(|e| (e.key(), e.weight_bits())))
    }

    fn merge(&mut self, other: &TopM<E>) {
        if self.merge_stays_dense(other) && self.is_implicit() {
            // Both implicit: the other's entries and zeros after this one's, in arrival order.
            self.buf.extend_from_slice(&other.buf);
            let (a, b) = (
                self.zeros.as_mut().expect("implicit"),
                other.zeros.as_ref().expect("implicit"),
            );
            a.count += b.count;
            for r in &b.runs {
                push_run(&mut a.runs, r.first, r.len as usize);
            }
            return;
        }
        if self.merge_stays_dense(other) {
            let m = self.m;
            let (a, b) = (
                self.dense.as_mut().expect("dense"),
                other.dense.as_ref().expect("dense"),
            );
            a.reserve(m, b.len(), E::WEIGHTED);
            a.append(b);
            return;
        }
        self.spill(other.len());
        if self.keeps_all() {
            self.buf.reserve(other.len());
            other.for_each_entry(|e| self.buf.push(e));
            return;
        }
        other.for_each_entry(|e| self.offer(e));
        // `other` holds at least m entries at or above its threshold.
        self.thr = self.thr.max(other.thr);
    }

    /// Every entry held that can be among the `depth` largest, in no particular order: all of
    /// them, but of implicit zeros only the `depth` of smallest id (the ones ranking highest).
    fn candidates(&self, depth: usize) -> Vec<E> {
        match &self.dense {
            Some(d) => {
                let mut v = Vec::with_capacity(d.len());
                d.for_each(|e| v.push(e));
                v
            }
            None => {
                let mut v = self.buf.clone();
                self.push_top_zeros(&mut v, depth);
                v
            }
        }
    }

    /// The `depth` largest entries, sorted descending. `depth` must not exceed m unless the
    /// buffer holds every entry ever offered.
    fn top_sorted(&self, depth: usize) -> Vec<E> {
        let depth = depth.min(self.len());
        if depth == 0 {
            return Vec::new();
        }
        let mut v = self.candidates(depth);
        if depth < v.len() {
            v.select_nth_unstable_by(depth - 1, |a, b| b.cmp(a));
            v.truncate(depth);
        }
        v.sort_unstable_by(|a, b| b.cmp(a));
        v
    }

    /// The keys of the `depth` largest entries, sorted descending (same conditions as
    /// [`top_sorted`](Self::top_sorted)): the same keys, selected and sorted as plain integers.
    fn top_keys_sorted(&self, depth: usize) -> Vec<i64> {
        let depth = depth.min(self.len());
        if depth == 0 {
            return Vec::new();
        }
        let mut v: Vec<i64> = match &self.dense {
            Some(d) => d.keys.clone(),
            None => {
                let zeros = (self.implicit_zero_count() as usize).min(depth);
                let mut v = Vec::with_capacity(self.buf.len() + zeros);
                v.extend(self.buf.iter().map(|e| e.key()));
                v.resize(v.len() + zeros, ZERO_KEY);
                v
            }
        };
        if depth < v.len() {
            v.select_nth_unstable_by(depth - 1, |a, b| b.cmp(a));
            v.truncate(depth);
        }
        v.sort_unstable_by(|a, b| b.cmp(a));
        v
    }

    /// The `depth` largest entries, in no particular order (same conditions as
    /// [`top_sorted`](Self::top_sorted)).
    fn top(&self, depth: usize) -> Vec<E> {
        let depth = depth.min(self.len());
        let mut v = self.candidates(depth);
        if depth == 0 {
            v.clear();
        } else if depth < v.len() {
            v.select_nth_unstable_by(depth - 1, |a, b| b.cmp(a));
            v.truncate(depth);
        }
        v
    }

    /// (key, weight bits) of the `depth` largest entries, in no particular order (same
    /// conditions as [`top_sorted`](Self::top_sorted)); straight from the dense store when it
    /// is all of them.
    fn top_key_weights(&self, depth: usize) -> Vec<(i64, u64)> {
        match &self.dense {
            Some(d) if depth >= d.len() => self.key_weights().collect(),
            _ => self
                .top(depth)
                .into_iter()
                .map(|e| (e.key(), e.weight_bits()))
                .collect(),
        }
    }

    /// How many entries the statistics may use: all of them while fewer than 2m were offered
    /// (the buffer then holds every one) or when everything is kept, else the m largest —
    /// also when implicit zeros let it hold more.
    fn usable(&self, offered: u64) -> usize {
        let len = self.len();
        if len as u64 == offered && (self.keeps_all() || (offered as u128) < 2 * self.m as u128) {
            len
        } else {
            len.min(self.m)
        }
    }

    fn memory_bytes(&self) -> usize {
        self.buf.capacity() * size_of::<E>()
            + self.dense.as_ref().map_or(0, Dense::memory_bytes)
            + self
                .zeros
                .as_ref()
                .map_or(0, |z| z.runs.capacity() * size_of::<IdRun>())
    }

    /// Up to `n` of the usable entries (see [`usable`](Self::usable)) whose key passes `keep`,
    /// the largest first. Once `n` are found, a key below the n-th one's is skipped at the cost
    /// of a comparison (in the dense state, whole blocks of keys at a time), and only the few
    /// others become entries.
    fn largest_where(&self, offered: u64, n: usize, keep: impl Fn(i64) -> bool) -> Vec<E> {
        const BLOCK_KEYS: usize = 64;
        let mut best: Vec<E> = Vec::with_capacity(n + 1);
        if n == 0 {
            return best;
        }
        // Keys below it cannot enter `best`: its last entry's, once full.
        let mut floor = i64::MIN;
        #[inline(always)]
        fn consider<E: Entry>(best: &mut Vec<E>, floor: &mut i64, n: usize, e: E) {
            if best.len() < n || e > best[best.len() - 1] {
                let at = best.partition_point(|&b| b > e);
                best.insert(at, e);
                best.truncate(n);
                if best.len() == n {
                    *floor = best[n - 1].key();
                }
            }
        }
        match &self.dense {
            Some(d) => {
                let mut at = 0;
                for r in &d.runs {
                    let len = r.len as usize;
                    let keys = &d.keys[at..at + len];
                    for (b, block) in keys.chunks(BLOCK_KEYS).enumerate() {
                        if !block.iter().fold(false, |a, &k| a | (k >= floor)) {
                            continue;
                        }
                        for (j, &key) in block.iter().enumerate() {
                            if key >= floor && keep(key) {
                                let i = b * BLOCK_KEYS + j;
                                let w = if E::WEIGHTED { d.w[at + i] } else { 0 };
                                consider(
                                    &mut best,
                                    &mut floor,
                                    n,
                                    E::from_parts(key, r.first + i as u64, w),
                                );
                            }
                        }
                    }
                    at += len;
                }
            }
            None => {
                for &e in &self.buf {
                    if e.key() >= floor && keep(e.key()) {
                        consider(&mut best, &mut floor, n, e);
                    }
                }
                if keep(ZERO_KEY) && ZERO_KEY >= floor {
                    let mut zeros = Vec::new();
                    self.push_top_zeros(&mut zeros, n);
                    for e in zeros {
                        consider(&mut best, &mut floor, n, e);
                    }
                }
            }
        }
        if self.usable(offered) < self.len() {
            // Only the m largest are usable: those with fewer than m entries above them (never
            // dense: a dense store is all usable).
            while let Some(&last) = best.last() {
                let mut above = self.buf.iter().filter(|&&x| x > last).count();
                if last.key() <= ZERO_KEY {
                    self.for_each_zero_id(|id| {
                        if Self::zero_entry(id) > last {
                            above += 1;
                        }
                        true
                    });
                }
                if above < self.m {
                    break;
                }
                best.pop();
            }
        }
        best
    }

    /// Writes the usable entries ([`usable`](Self::usable)), largest first: their number
    /// (`u64`), then each entry.
    fn encode<W: Write + ?Sized>(&self, offered: u64, e: &mut Encoder<'_, W>) -> io::Result<()> {
        let entries = self.top_sorted(self.usable(offered));
        e.u64(entries.len() as u64)?;
        let mut out = Vec::with_capacity(BLOCK * E::BYTES);
        for block in entries.chunks(BLOCK) {
            out.clear();
            for &x in block {
                x.encode(&mut out);
            }
            e.bytes(&out)?;
        }
        Ok(())
    }

    /// Reads what [`encode`](Self::encode) wrote for an accumulator of capacity `m` and
    /// `offered` paths, checking the count (all the paths while fewer than 2m, else m) and the
    /// order. The threshold becomes the smallest entry once values were dropped (every later
    /// entry at or below it would never be among the m largest), so the kept set, and every
    /// result, is the one of the accumulator written. The result holds entries (it is not
    /// dense).
    fn decode<R: Read + ?Sized>(
        d: &mut Decoder<'_, R>,
        m: usize,
        offered: u64,
    ) -> Result<Self, ReportError> {
        const FIELD: &str = "the tail entries";
        let count = d.u64(FIELD)?;
        let expected = if (offered as u128) < 2 * m as u128 {
            offered
        } else {
            m as u64
        };
        if count != expected {
            return Err(d.corrupt(format!(
                "{count} tail entries for {offered} paths and capacity {m} (expected {expected})"
            )));
        }
        let mut t = TopM::of_entries(m);
        let mut bytes = vec![0u8; BLOCK * E::BYTES];
        let mut left = count;
        while left > 0 {
            let k = left.min(BLOCK as u64) as usize;
            let b = &mut bytes[..k * E::BYTES];
            d.fill(b, FIELD)?;
            for raw in b.chunks_exact(E::BYTES) {
                let Some(e) = E::decode(raw) else {
                    return Err(d.corrupt("a tail entry has an invalid key or weight"));
                };
                if t.buf.last().is_some_and(|&prev| e > prev) {
                    return Err(d.corrupt("tail entries out of order"));
                }
                t.buf.push(e);
            }
            left -= k as u64;
        }
        t.buf.shrink_to_fit();
        if count < offered {
            t.thr = t.buf.last().copied().unwrap_or(E::FLOOR);
        }
        Ok(t)
    }
}

/// The kept tail: values with their path ids, and with their weights when weighted.
#[derive(Clone, Debug)]
enum Tail {
    Plain(TopM<PlainEntry>),
    Weighted(TopM<WeightedEntry>),
}

/// The exact weight sums of a weighted accumulator.
#[derive(Clone, Debug, Default)]
struct WeightSums {
    /// Σ w.
    sum_w: SuperAcc,
    /// Σ w².
    sum_w2: SuperAcc,
    /// Σ w · 1{L > 0}.
    sum_w_pos: SuperAcc,
    /// Σ w²·L: with Σ (w·L)² and Σ w², the standard error of the self-normalized mean.
    sum_w2_l: SuperAcc,
    /// Bits of the largest weight (positive floats order like their bits).
    max_w_bits: u64,
}

/// The likelihood-ratio weights of a weighted accumulator, for
/// [`ImportanceInfo`](crate::ImportanceInfo).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightSummary {
    /// Kish's effective sample size (Σw)² / Σw².
    pub effective_sample_size: f64,
    /// Σw / n: estimates 1 when the weights are correct likelihood ratios.
    pub mean_weight: f64,
    /// Standard error of `mean_weight`: sample standard deviation (n − 1) of w over √n.
    pub mean_weight_se: f64,
    /// The largest weight.
    pub max_weight: f64,
}

/// Widens [lo, hi] (total-order keys) to `key` unless it is a NaN's.
#[inline(always)]
fn extend(lo: &mut i64, hi: &mut i64, key: i64) {
    let number = (NEG_INF_KEY..=POS_INF_KEY).contains(&key);
    *lo = if number { (*lo).min(key) } else { *lo };
    *hi = if number { (*hi).max(key) } else { *hi };
}

/// Streaming, mergeable statistics of one metric (one value per path, larger = worse), in memory
/// that does not grow with the number of paths.
///
/// What it keeps:
///
/// * the number of paths, the extremes, and the exact sums Σ w·L and Σ (w·L)² (with weights
///   also Σ w, Σ w², Σ w·1{L > 0}): each chunk's partial sums are computed in four interleaved
///   lanes (value i of the chunk in lane i mod 4) — Σ w·L and Σ (w·L)² each as a compensated
///   TwoSum with about twice the precision of `f64`, the squares split exactly into hi + lo
///   (Dekker's product), the weight sums in plain `f64` — and then added to superaccumulators,
///   exact sums of `f64`s rounded once at the end;
/// * the m largest values (`tail_capacity`, see [`tail_capacity`]) with their path ids and
///   weights, in a buffer of at most 2m entries (16 bytes each, 24 with weights) — while it
///   holds every value added (fewer than 2m, the common case of m ≥ the run's path count), as
///   the values' keys (and weights) alone, 8 bytes each (16 with weights), plus the path ids'
///   ranges, one per chunk; unweighted, while +0 is three values in four or more, the zeros
///   as a count alone and every other value as an entry, for as long as fewer than 2m of those
///   arrive (every result is the one of the zeros held as entries);
/// * a log-linear histogram of all values: 2⁷ buckets per binary order of magnitude and sign
///   (relative width ≤ 2⁻⁷), each with its count, the smallest and largest value it saw and, with
///   weights, the fixed-point sums of w and w² (units of 2⁻⁶⁴, saturating at 2⁶⁴ per bucket).
///   Not kept while the tail holds every value (so never when m = `usize::MAX`): it is built
///   from the values held when the tail first compacts, and written as it would be.
///
/// # Order independence
///
/// Every part merges exactly: integer sums, minima and maxima, exact sums, and the m largest
/// entries under a total order (value by [`f64::total_cmp`], ties by path id — the smaller id
/// ranking higher — then by weight bits; path ids are unique, so the kept set is too). So
/// [`stats`](Self::stats) and [`histogram`](Self::histogram) are bit-identical whatever order the
/// chunks arrive in and however accumulators are merged, provided each chunk (the simulator's
/// 1,024 paths) is added whole, in path order: its partial sums are the only thing computed in
/// floating point before the exact addition.
///
/// # Shards
///
/// [`write_to`](Self::write_to) serializes an accumulator exactly and
/// [`read_from`](Self::read_from) reads it back, so a run split over machines merges to the
/// same bits as on one machine: each shard adds its chunks (with their global path ids) to
/// accumulators of the same capacity and weighting and writes them; reading every shard's and
/// merging them, in any order, gives the [`stats`](Self::stats), [`histogram`](Self::histogram),
/// [`weight_summary`](Self::weight_summary) and [`paths`](Self::paths) of one accumulator that
/// took all the chunks.
///
/// # Example
///
/// ```
/// use lrtsim_report::*;
///
/// let levels = DEFAULT_LEVELS;
/// // Keep the 1,200 largest of 10,000 values: enough for every level down to 0.9.
/// let (mut a, mut b) = (MetricAccumulator::new(1200, false), MetricAccumulator::new(1200, false));
/// let values: Vec<f64> = (0..10_000).map(|i| ((i * 7919) % 10_000) as f64 / 10_000.0).collect();
/// for (c, chunk) in values.chunks(1024).enumerate().rev() {
///     // Chunks may go to any accumulator, in any order.
///     if c % 3 == 0 { &mut a } else { &mut b }.add_chunk(1024 * c as u64, chunk, None);
/// }
/// a.merge(&b);
/// assert_eq!(a.paths(), 10_000);
/// let s = a.stats("x", &levels);
/// assert_eq!(s.level(0.99).unwrap().var, 0.9899);
/// assert!(s.levels.iter().all(|l| l.exact));
/// assert_eq!(s.levels, metric_stats("x", &values, &levels).levels);
///
/// // Keeping only 100, the levels below 0.999 are read from the histogram, within 2^-7.
/// let mut small = MetricAccumulator::new(100, false);
/// for (c, chunk) in values.chunks(1024).enumerate() {
///     small.add_chunk(1024 * c as u64, chunk, None);
/// }
/// let l = small.stats("x", &levels).levels[0].clone();
/// assert!(!l.exact && (l.var - 0.8999).abs() <= 0.8999 / 128.0);
/// ```
#[derive(Clone, Debug)]
pub struct MetricAccumulator {
    /// m (`usize::MAX`: keep everything).
    capacity: usize,
    paths: u64,
    /// Paths with L > 0.
    positive: u64,
    /// Total-order keys of the smallest and largest non-NaN value (MAX / MIN when none).
    min_key: i64,
    max_key: i64,
    /// Σ w·L.
    sum: SuperAcc,
    /// Σ (w·L)².
    sum_sq: SuperAcc,
    /// Present iff weighted.
    weights: Option<Box<WeightSums>>,
    tail: Tail,
    /// Absent while the tail holds every value offered (always when everything is kept);
    /// built from the held values when it first stops ([`Self::ensure_hist`]).
    hist: Option<LogHist>,
}

impl MetricAccumulator {
    /// An empty accumulator keeping the `tail_capacity` largest values exactly (`usize::MAX`:
    /// keep every value; 0 counts as 1), for paths with likelihood-ratio weights if `weighted`.
    pub fn new(tail_capacity: usize, weighted: bool) -> Self {
        let m = if tail_capacity > usize::MAX / 4 {
            usize::MAX
        } else {
            tail_capacity.max(1)
        };
        MetricAccumulator {
            capacity: m,
            paths: 0,
            positive: 0,
            min_key: i64::MAX,
            max_key: i64::MIN,
            sum: SuperAcc::default(),
            sum_sq: SuperAcc::default(),
            weights: weighted.then(Box::default),
            tail: if weighted {
                Tail::Weighted(TopM::new(m))
            } else {
                Tail::Plain(TopM::implicit(m))
            },
            // Built when the tail first stops holding every value (see `ensure_hist`).
            hist: None,
        }
    }

    /// An unweighted accumulator that never holds zeros implicitly: the representation the
    /// implicit one must agree with, bit for bit.
    #[cfg(test)]
    fn new_explicit(tail_capacity: usize) -> Self {
        let mut acc = MetricAccumulator::new(tail_capacity, false);
        acc.tail = Tail::Plain(TopM::new(acc.capacity));
        acc
    }

    /// Builds the histogram from the values held, if it is missing and the accumulator does
    /// not keep everything. It is left out while the tail holds every value offered (the
    /// dense state, the only one without it): the statistics and the loss distribution then
    /// come from the values themselves, and a run that never compacts never pays for it. The
    /// histogram is a function of the multiset of values (counts and fixed-point sums per
    /// bucket), so building it late gives the state that adding each value to it would have.
    fn ensure_hist(&mut self) {
        if self.hist.is_none() && self.capacity != usize::MAX {
            self.hist = Some(self.held_hist());
        }
    }

    /// The histogram of the values held (every value, when called without one).
    fn held_hist(&self) -> LogHist {
        let mut h = LogHist::new(self.is_weighted());
        match &self.tail {
            Tail::Plain(t) => {
                let mut zeros = t.implicit_zero_count();
                let add = |e: PlainEntry| {
                    if e.key() == ZERO_KEY {
                        zeros += 1;
                    } else {
                        h.add(e.key());
                    }
                };
                if t.is_implicit() {
                    t.buf.iter().copied().for_each(add);
                } else {
                    t.for_each_entry(add);
                }
                if zeros > 0 {
                    h.add_n(ZERO_KEY, zeros);
                }
            }
            Tail::Weighted(t) => t.for_each_entry(|e| {
                let w = f64::from_bits(e.weight_bits());
                h.add_weighted(e.key(), to_fixed(w), to_fixed(w * w));
            }),
        }
        h
    }

    /// The tail capacity m it was created with (`usize::MAX` when it keeps everything).
    pub fn tail_capacity(&self) -> usize {
        self.capacity
    }

    /// Whether its paths carry likelihood-ratio weights.
    pub fn is_weighted(&self) -> bool {
        self.weights.is_some()
    }

    /// Adds the values of one chunk of paths, in path order, with their likelihood-ratio weights
    /// for a weighted accumulator: value i is path `first_path + i`, the id its kept tail entry
    /// carries (see [`MetricStats::worst_paths`](crate::MetricStats::worst_paths)). Ids should
    /// be unique across all the chunks of a run (and its shards), such as the global path index;
    /// they are payload — no statistic depends on them, only which of several paths tied at the
    /// m-th largest value are kept.
    ///
    /// For bit-identical results across runs, add each of the simulator's chunks whole, in one
    /// call (any chunk size works; the chunking must simply be the same).
    ///
    /// Cost, once the tail buffer's threshold filters most values out: about 4.8 ns per value,
    /// 10.3 ns with weights (measured on a 2.6 GHz Xeon virtual machine, chunks of 1,024 in
    /// cache); while the buffer fills, each stored value adds its share of the compactions.
    ///
    /// # Panics
    ///
    /// If `weights` is `Some` for an unweighted accumulator or `None` for a weighted one, if its
    /// length differs from `values`', if a weight is not positive and finite, or if the path ids
    /// would pass `u64::MAX` (all programmer errors).
    pub fn add_chunk(&mut self, first_path: u64, values: &[f64], weights: Option<&[f64]>) {
        assert!(
            first_path.checked_add(values.len() as u64).is_some(),
            "path ids from {first_path} for {} values overflow u64",
            values.len()
        );
        match (weights, self.weights.is_some()) {
            (None, false) => self.add_plain(first_path, values),
            (Some(w), true) => {
                assert_eq!(w.len(), values.len(), "a chunk needs one weight per value");
                self.add_weighted(first_path, values, w);
            }
            (Some(_), false) => panic!("weights given to an unweighted MetricAccumulator"),
            (None, true) => panic!("a weighted MetricAccumulator needs the chunk's weights"),
        }
    }

    fn add_plain(&mut self, first_path: u64, values: &[f64]) {
        // Pass 1: the chunk's sums, in lanes (value i of the chunk to lane i mod LANES), so the
        // processor can overlap and vectorize them. A zero (of either sign) changes no lane —
        // a lane never holds −0 —, so zeros, most values of sparse metrics, are skipped.
        // When a quarter of the chunk or more is not zero, the zeros are added too rather than
        // branched over (a branch taken at random mispredicts; below a quarter, the additions
        // would cost more than the mispredictions): adding ±0 leaves a lane's bits as they are,
        // since its parts are never −0 (x + y is −0 only when both are).
        let (mut s1, mut s2) = (Lanes::default(), Lanes::default());
        let mut positive = [0u64; LANES];
        if self.add_implicit(first_path, values) {
            return;
        }
        let dense = 4 * values.iter().filter(|&&x| x != 0.0).count() >= values.len();
        let mut lane = |i: usize, x: f64| {
            if dense || x != 0.0 {
                s1.add(i, x);
                s2.add_square(i, x);
                positive[i] += u64::from(x > 0.0);
            }
        };
        let mut blocks = values.chunks_exact(LANES);
        for b in &mut blocks {
            for (i, &x) in b.iter().enumerate() {
                lane(i, x);
            }
        }
        for (i, &x) in blocks.remainder().iter().enumerate() {
            lane(i, x);
        }

        // Pass 2: extremes, histogram and tail, by total-order key.
        let Tail::Plain(tail) = &mut self.tail else {
            unreachable!("an unweighted accumulator keeps plain values")
        };
        let (mut lo, mut hi) = (self.min_key, self.max_key);
        if let Some(d) = tail.dense_chunk(first_path, values.len()) {
            // Every value kept so far: append the keys, then the extremes and the histogram.
            let start = d.keys.len();
            match &mut self.hist {
                None => {
                    // The keys and the extremes in one pass, without a branch.
                    d.keys.extend(values.iter().map(|&x| {
                        let key = value_key(x);
                        extend(&mut lo, &mut hi, key);
                        key
                    }));
                }
                Some(h) => {
                    d.keys.extend(values.iter().map(|&x| value_key(x)));
                    // Zeros (+0) are counted in a register and added to the histogram and the
                    // extremes once: the same counts, bounds and extremes, in any order.
                    let mut zeros = 0u64;
                    for &key in &d.keys[start..] {
                        if key == ZERO_KEY {
                            zeros += 1;
                        } else {
                            extend(&mut lo, &mut hi, key);
                            h.add(key);
                        }
                    }
                    if zeros > 0 {
                        h.add_n(ZERO_KEY, zeros);
                        extend(&mut lo, &mut hi, ZERO_KEY);
                    }
                }
            }
            self.finish_chunk(values.len(), &s1, &s2, positive.iter().sum(), lo, hi);
            return;
        }
        self.ensure_hist();
        let Tail::Plain(tail) = &mut self.tail else {
            unreachable!("an unweighted accumulator keeps plain values")
        };
        if tail.keeps_all() {
            tail.buf.reserve(values.len());
        }
        // Ids descend in the entries' order: path first_path + i has !first_path − i.
        let rid = !first_path;
        let mut thr = tail.thr.key;
        match &mut self.hist {
            Some(h) => {
                // Zeros (+0) as in the dense case: counted, then added once.
                let mut zeros = 0u64;
                for (i, &x) in values.iter().enumerate() {
                    let key = value_key(x);
                    if key == ZERO_KEY {
                        zeros += 1;
                    } else {
                        extend(&mut lo, &mut hi, key);
                        h.add(key);
                    }
                    tail.offer_with(&mut thr, key, || PlainEntry {
                        key,
                        rid: rid - i as u64,
                    });
                }
                if zeros > 0 {
                    extend(&mut lo, &mut hi, ZERO_KEY);
                    h.add_n(ZERO_KEY, zeros);
                }
            }
            None => {
                for (i, &x) in values.iter().enumerate() {
                    let key = value_key(x);
                    extend(&mut lo, &mut hi, key);
                    tail.offer_with(&mut thr, key, || PlainEntry {
                        key,
                        rid: rid - i as u64,
                    });
                }
            }
        }
        self.finish_chunk(values.len(), &s1, &s2, positive.iter().sum(), lo, hi);
    }

    /// Before a chunk of `extra` values: what [`TopM::implicit_plan`] says for a tail holding
    /// its zeros implicitly (nothing otherwise) — the histogram built first when it leaves.
    fn follow_implicit_plan(&mut self, extra: usize) {
        let Tail::Plain(tail) = &mut self.tail else {
            return;
        };
        match tail.implicit_plan(extra) {
            ImplicitPlan::Keep => {}
            ImplicitPlan::ToDense => tail.implicit_to_dense(extra),
            ImplicitPlan::Leave => {
                // The histogram first, from every value held.
                self.ensure_hist();
                if let Tail::Plain(t) = &mut self.tail {
                    t.leave_implicit();
                }
            }
        }
    }

    /// [`add_plain`](Self::add_plain) of a chunk into a tail that holds its zeros implicitly
    /// (after [`TopM::implicit_plan`]), in one pass: a +0 is counted and costs nothing else;
    /// every other value goes to the same sum lane (i mod [`LANES`]), in the same order, as in
    /// the two passes (which, for a chunk a quarter or more non-zero, also add its zeros: ±0
    /// leaves a lane's bits unchanged), and becomes an entry. Returns false, having done
    /// nothing but the plan, when the tail does not hold its zeros implicitly after it.
    fn add_implicit(&mut self, first_path: u64, values: &[f64]) -> bool {
        self.follow_implicit_plan(values.len());
        let Tail::Plain(tail) = &mut self.tail else {
            return false;
        };
        if !tail.is_implicit() {
            return false;
        }
        debug_assert!(
            self.hist.is_none(),
            "no histogram while every value is held"
        );
        let (mut s1, mut s2) = (Lanes::default(), Lanes::default());
        let mut positive = [0u64; LANES];
        let (mut lo, mut hi) = (self.min_key, self.max_key);
        let (buf, zeros) = tail.implicit_chunk(first_path, values.len());
        let mut count = 0u64;
        // Blocks of +0s (one test of their bits together) are counted whole.
        const BLOCK: usize = 16;
        for (b, block) in values.chunks(BLOCK).enumerate() {
            if block.iter().fold(0, |a, x| a | x.to_bits()) == 0 {
                count += block.len() as u64;
                continue;
            }
            for (j, &x) in block.iter().enumerate() {
                if x.to_bits() == 0 {
                    count += 1;
                    continue;
                }
                let i = b * BLOCK + j;
                // −0 adds to no lane (as in the two passes) but is an entry: its key is not
                // +0's.
                if x != 0.0 {
                    s1.add(i % LANES, x);
                    s2.add_square(i % LANES, x);
                    positive[i % LANES] += u64::from(x > 0.0);
                }
                let key = value_key(x);
                extend(&mut lo, &mut hi, key);
                buf.push(PlainEntry::from_parts(key, first_path + i as u64, 0));
            }
        }
        if count > 0 {
            zeros.count += count;
            extend(&mut lo, &mut hi, ZERO_KEY);
        }
        self.finish_chunk(values.len(), &s1, &s2, positive.iter().sum(), lo, hi);
        true
    }

    fn add_weighted(&mut self, first_path: u64, values: &[f64], weights: &[f64]) {
        // Pass 1: the sums, in lanes: Σ w·L and Σ (w·L)² compensated, with exact squares, as
        // for unweighted values; Σ w, Σ w², Σ w·1{L > 0} and Σ w²·L (the weights' summary,
        // `prob_loss` and the mean's standard error) in plain f64 lanes, which keep 15 digits.
        let (mut s1, mut s2) = (Lanes::default(), Lanes::default());
        let mut plain = [[0.0f64; LANES]; 4];
        let mut valid = true;
        let mut lane = |i: usize, x: f64, w: f64| {
            valid &= w > 0.0 && w < f64::INFINITY;
            let v = w * x;
            s1.add(i, v);
            s2.add_square(i, v);
            plain[0][i] += w;
            plain[1][i] += w * w;
            plain[2][i] += if x > 0.0 { w } else { 0.0 };
            plain[3][i] += w * v;
        };
        let mut blocks = values.chunks_exact(LANES).zip(weights.chunks_exact(LANES));
        for (b, bw) in &mut blocks {
            for (i, (&x, &w)) in b.iter().zip(bw).enumerate() {
                lane(i, x, w);
            }
        }
        let done = values.len() / LANES * LANES;
        for (i, (&x, &w)) in values[done..].iter().zip(&weights[done..]).enumerate() {
            lane(i, x, w);
        }
        if !valid {
            let w = weights
                .iter()
                .find(|&&w| !(w > 0.0 && w < f64::INFINITY))
                .expect("an invalid weight");
            panic!("likelihood-ratio weight {w} is not positive and finite");
        }

        // Pass 2: extremes, histogram and tail.
        let Tail::Weighted(tail) = &mut self.tail else {
            unreachable!("a weighted accumulator keeps weighted entries")
        };
        let (mut lo, mut hi) = (self.min_key, self.max_key);
        // Positive finite weights order like their bits.
        let mut max_w = 0u64;
        let mut positive = 0u64;
        if let Some(d) = tail.dense_chunk(first_path, values.len()) {
            // Every value kept so far: append the keys and weight bits, then the extremes, the
            // largest weight and the histogram.
            let start = d.keys.len();
            d.keys.extend(values.iter().map(|&x| value_key(x)));
            d.w.extend(weights.iter().map(|&w| w.to_bits()));
            let keys = &d.keys[start..];
            match &mut self.hist {
                Some(h) => {
                    for ((&x, &w), &key) in values.iter().zip(weights).zip(keys) {
                        extend(&mut lo, &mut hi, key);
                        max_w = max_w.max(w.to_bits());
                        positive += u64::from(x > 0.0);
                        h.add_weighted(key, to_fixed(w), to_fixed(w * w));
                    }
                }
                None => {
                    for ((&x, &w), &key) in values.iter().zip(weights).zip(keys) {
                        extend(&mut lo, &mut hi, key);
                        max_w = max_w.max(w.to_bits());
                        positive += u64::from(x > 0.0);
                    }
                }
            }
        } else {
            self.ensure_hist();
            let Tail::Weighted(tail) = &mut self.tail else {
                unreachable!("a weighted accumulator keeps weighted entries")
            };
            if tail.keeps_all() {
                tail.buf.reserve(values.len());
            }
            // Ids descend in the entries' order: path first_path + i has !first_path − i.
            let rid = !first_path;
            let mut thr = tail.thr.key;
            match &mut self.hist {
                Some(h) => {
                    for (i, (&x, &w)) in values.iter().zip(weights).enumerate() {
                        let key = value_key(x);
                        extend(&mut lo, &mut hi, key);
                        max_w = max_w.max(w.to_bits());
                        positive += u64::from(x > 0.0);
                        h.add_weighted(key, to_fixed(w), to_fixed(w * w));
                        tail.offer_with(&mut thr, key, || WeightedEntry {
                            key,
                            rid: rid - i as u64,
                            w: w.to_bits(),
                        });
                    }
                }
                None => {
                    for (i, (&x, &w)) in values.iter().zip(weights).enumerate() {
                        let key = value_key(x);
                        extend(&mut lo, &mut hi, key);
                        max_w = max_w.max(w.to_bits());
                        positive += u64::from(x > 0.0);
                        tail.offer_with(&mut thr, key, || WeightedEntry {
                            key,
                            rid: rid - i as u64,
                            w: w.to_bits(),
                        });
                    }
                }
            }
        }
        let ws = self.weights.as_mut().expect("a weighted accumulator");
        let sums = [
            &mut ws.sum_w,
            &mut ws.sum_w2,
            &mut ws.sum_w_pos,
            &mut ws.sum_w2_l,
        ];
        for (acc, lanes) in sums.into_iter().zip(plain) {
            // Lane order: the same bits whatever the chunk's neighbours.
            acc.add(lanes.iter().sum());
        }
        ws.max_w_bits = ws.max_w_bits.max(max_w);
        self.finish_chunk(values.len(), &s1, &s2, positive, lo, hi);
    }

    fn finish_chunk(
        &mut self,
        len: usize,
        s1: &Lanes,
        s2: &Lanes,
        positive: u64,
        lo: i64,
        hi: i64,
    ) {
        self.paths += len as u64;
        self.positive += positive;
        self.min_key = lo;
        self.max_key = hi;
        self.sum.add_dd(s1.finish());
        self.sum_sq.add_dd(s2.finish());
    }

    /// Adds everything `other` accumulated. Exact: merging in any grouping and order gives the
    /// same statistics as adding all chunks to one accumulator.
    ///
    /// # Panics
    ///
    /// If the two differ in tail capacity or in being weighted.
    pub fn merge(&mut self, other: &MetricAccumulator) {
        assert!(
            self.capacity == other.capacity && self.is_weighted() == other.is_weighted(),
            "merging MetricAccumulators of different tail capacity or weighting \
             ({}, weighted {}) and ({}, weighted {})",
            self.capacity,
            self.is_weighted(),
            other.capacity,
            other.is_weighted()
        );
        self.paths += other.paths;
        self.positive += other.positive;
        self.min_key = self.min_key.min(other.min_key);
        self.max_key = self.max_key.max(other.max_key);
        self.sum.merge(&other.sum);
        self.sum_sq.merge(&other.sum_sq);
        if let (Some(a), Some(b)) = (&mut self.weights, &other.weights) {
            a.sum_w.merge(&b.sum_w);
            a.sum_w2.merge(&b.sum_w2);
            a.sum_w_pos.merge(&b.sum_w_pos);
            a.sum_w2_l.merge(&b.sum_w2_l);
            a.max_w_bits = a.max_w_bits.max(b.max_w_bits);
        }
        // The histograms (built from the values held where missing), unless both were left
        // out and the merged tail will still hold every value.
        let stays_dense = match (&self.tail, &other.tail) {
            (Tail::Plain(a), Tail::Plain(b)) => a.merge_stays_dense(b),
            (Tail::Weighted(a), Tail::Weighted(b)) => a.merge_stays_dense(b),
            _ => unreachable!("same weighting checked above"),
        };
        let other_hist = if self.hist.is_none() && other.hist.is_none() && stays_dense {
            None
        } else {
            self.ensure_hist();
            other
                .hist
                .as_ref()
                .map(std::borrow::Cow::Borrowed)
                .or_else(|| {
                    (other.capacity != usize::MAX)
                        .then(|| std::borrow::Cow::Owned(other.held_hist()))
                })
        };
        match (&mut self.tail, &other.tail) {
            (Tail::Plain(a), Tail::Plain(b)) => a.merge(b),
            (Tail::Weighted(a), Tail::Weighted(b)) => a.merge(b),
            _ => unreachable!("same weighting checked above"),
        }
        if let (Some(a), Some(b)) = (&mut self.hist, &other_hist) {
            a.merge(b);
        }
    }

    /// Number of paths added.
    pub fn paths(&self) -> u64 {
        self.paths
    }

    /// Writes the accumulator to `w` exactly, for [`read_from`](Self::read_from): the partial
    /// result of one shard of a run (see [Shards](#shards)).
    ///
    /// A compact little-endian binary stream:
    ///
    /// * the tag `LRMA`, the format version (`u16`, 1) and a flags byte (1: weighted, 2: keeps
    ///   every value);
    /// * the capacity m (`u64`, `u64::MAX` when keeping every value), the number of paths and of
    ///   values above 0 (`u64`), the total-order keys of the extremes (`i64`);
    /// * the exact sums Σ w·L and Σ (w·L)² and, weighted, Σ w, Σ w², Σ w·1{L > 0} (285 bytes
    ///   each, carry-normalised) and the largest weight's bits (`u64`);
    /// * the kept tail entries that the statistics use (all of them while fewer than 2m paths
    ///   were added, else the m largest), largest first, after their number (`u64`): value key
    ///   (`i64`), path id (`u64`) and, weighted, weight bits (`u64`);
    /// * unless every value is kept, the histogram's non-empty buckets, page by page;
    /// * a checksum (FNV-1a, 64 bits) of everything before it.
    ///
    /// So about 16 bytes per kept entry (24 weighted) plus a few kB. The bytes depend only on
    /// the accumulator's content (not on the order its chunks arrived in). Writes in blocks of
    /// up to 64 kB, so `w` need not be buffered; sorts a copy of the kept entries.
    ///
    /// # Errors
    ///
    /// Those of `w`.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let mut e = Encoder::new(w, METRIC_TAG, METRIC_FORMAT);
        let keeps_all = self.capacity == usize::MAX;
        let flags = if self.is_weighted() { FLAG_WEIGHTED } else { 0 }
            | if keeps_all { FLAG_KEEPS_ALL } else { 0 };
        e.u8(flags)?;
        e.u64(if keeps_all {
            u64::MAX
        } else {
            self.capacity as u64
        })?;
        e.u64(self.paths)?;
        e.u64(self.positive)?;
        e.i64(self.min_key)?;
        e.i64(self.max_key)?;
        self.sum.encode(&mut e)?;
        self.sum_sq.encode(&mut e)?;
        if let Some(ws) = &self.weights {
            ws.sum_w.encode(&mut e)?;
            ws.sum_w2.encode(&mut e)?;
            ws.sum_w_pos.encode(&mut e)?;
            ws.sum_w2_l.encode(&mut e)?;
            e.u64(ws.max_w_bits)?;
        }
        match &self.tail {
            Tail::Plain(t) => t.encode(self.paths, &mut e)?,
            Tail::Weighted(t) => t.encode(self.paths, &mut e)?,
        }
        if let Some(h) = &self.hist {
            h.encode(&mut e)?;
        } else if !keeps_all {
            // Left out while the tail holds every value: the histogram it would have.
            self.held_hist().encode(&mut e)?;
        }
        e.finish()
    }

    /// Reads an accumulator written by [`write_to`](Self::write_to), consuming exactly its
    /// bytes (so several may follow each other in one stream). Merging it gives the same bits
    /// as merging the accumulator that was written. Wrap a file in a `BufReader`: the fixed
    /// fields are read a few bytes at a time.
    ///
    /// # Errors
    ///
    /// [`ReportError::Corrupt`] if the stream ends early, is not a `MetricAccumulator` stream of
    /// this format version, fails its checksum, claims more than 2⁵³ paths, or is inconsistent
    /// where the statistics rely on it (capacity, entry count and order, weights, extremes,
    /// histogram buckets and totals), so that an accumulator read without error never makes
    /// them panic; [`ReportError::Read`] (path `<stream>`) if reading fails otherwise. Memory is
    /// allocated only as the data arrives, so a corrupted length cannot make it allocate much
    /// beyond the stream's own size (the histogram: at most 32 MB).
    pub fn read_from<R: Read>(r: &mut R) -> Result<Self, ReportError> {
        let mut d = Decoder::new(r, "MetricAccumulator", METRIC_TAG, METRIC_FORMAT)?;
        let flags = d.u8("the flags")?;
        if flags & !(FLAG_WEIGHTED | FLAG_KEEPS_ALL) != 0 {
            return Err(d.corrupt(format!("unknown flags {flags:#04x}")));
        }
        let (weighted, keeps_all) = (flags & FLAG_WEIGHTED != 0, flags & FLAG_KEEPS_ALL != 0);
        let m = d.u64("the tail capacity")?;
        let capacity = match usize::try_from(m) {
            _ if keeps_all && m == u64::MAX => usize::MAX,
            Ok(m) if !keeps_all && (1..=usize::MAX / 4).contains(&m) => m,
            _ => return Err(d.corrupt(format!("invalid tail capacity {m}"))),
        };
        let paths = d.u64("the number of paths")?;
        let positive = d.u64("the number of positive values")?;
        let min_key = d.i64("the minimum")?;
        let max_key = d.i64("the maximum")?;
        let no_extremes = (min_key, max_key) == (i64::MAX, i64::MIN);
        let extremes_ok = (NEG_INF_KEY..=POS_INF_KEY).contains(&min_key)
            && (min_key..=POS_INF_KEY).contains(&max_key);
        // 2⁵³: beyond, n itself is no longer exact as the `f64` the statistics divide by.
        if paths > 1 << 53 || positive > paths || !(no_extremes || extremes_ok && paths > 0) {
            return Err(d.corrupt(format!(
                "{paths} paths, {positive} positive, extreme keys {min_key} and {max_key}"
            )));
        }
        let sum = SuperAcc::decode(&mut d, "the sum")?;
        let sum_sq = SuperAcc::decode(&mut d, "the sum of squares")?;
        let weights = if weighted {
            let sum_w = SuperAcc::decode(&mut d, "the sum of weights")?;
            let sum_w2 = SuperAcc::decode(&mut d, "the sum of squared weights")?;
            let sum_w_pos = SuperAcc::decode(&mut d, "the weight of positive values")?;
            let sum_w2_l = SuperAcc::decode(&mut d, "the sum of squared weights times values")?;
            let max_w_bits = d.u64("the largest weight")?;
            if max_w_bits >= INF_BITS || (max_w_bits == 0) != (paths == 0) {
                return Err(d.corrupt(format!("largest weight bits {max_w_bits:#x}")));
            }
            Some(Box::new(WeightSums {
                sum_w,
                sum_w2,
                sum_w_pos,
                sum_w2_l,
                max_w_bits,
            }))
        } else {
            None
        };
        let tail = if weighted {
            Tail::Weighted(TopM::decode(&mut d, capacity, paths)?)
        } else {
            Tail::Plain(TopM::decode(&mut d, capacity, paths)?)
        };
        let hist = if keeps_all {
            None
        } else {
            Some(LogHist::decode(&mut d, weighted)?)
        };
        d.finish()?;
        let acc = MetricAccumulator {
            capacity,
            paths,
            positive,
            min_key,
            max_key,
            sum,
            sum_sq,
            weights,
            tail,
            hist,
        };
        match &acc.tail {
            Tail::Plain(t) => acc.check_kept(t.key_weights().map(|(k, _)| k)),
            Tail::Weighted(t) => acc.check_kept(t.key_weights().map(|(k, _)| k)),
        }
        .map_err(|what| ReportError::Corrupt {
            what: format!("MetricAccumulator: {what}"),
        })?;
        Ok(acc)
    }

    /// Checks a state just read against what the statistics rely on: the kept entries' keys
    /// (descending) and the histogram's buckets lie within the extremes (NaNs aside), the
    /// histogram counts every path, and each kept entry is counted in its bucket.
    fn check_kept(&self, keys: impl Iterator<Item = i64>) -> Result<(), String> {
        let number = |k: i64| (NEG_INF_KEY..=POS_INF_KEY).contains(&k);
        let within = |k: i64| !number(k) || (self.min_key..=self.max_key).contains(&k);
        // Runs of kept keys in one bucket: (largest, smallest, how many).
        let mut group: Option<(i64, i64, u64)> = None;
        let check_group = |(hi, lo, kept): (i64, i64, u64)| -> Result<(), String> {
            let h = self.hist.as_ref().expect("checked with a histogram");
            match h.bucket_of(lo) {
                Some(b) if b.count >= kept && b.lo <= lo && hi <= b.hi => Ok(()),
                b => Err(format!(
                    "{kept} kept entries with keys {lo} to {hi} but their histogram bucket is \
                     {b:?}"
                )),
            }
        };
        for key in keys {
            if !within(key) {
                return Err(format!("kept key {key} outside the extremes"));
            }
            if self.hist.is_none() {
                continue;
            }
            group = match group {
                Some((hi, lo, n)) if bucket_id(lo) == bucket_id(key) => Some((hi, key, n + 1)),
                g => {
                    if let Some(g) = g {
                        check_group(g)?;
                    }
                    Some((key, key, 1))
                }
            };
        }
        if let Some(g) = group {
            check_group(g)?;
        }
        if let Some(h) = &self.hist {
            let mut total = 0u64;
            for (b, _) in h.descending() {
                if !within(b.lo) || !within(b.hi) {
                    return Err(format!("histogram bucket {b:?} outside the extremes"));
                }
                total = total
                    .checked_add(b.count)
                    .ok_or("histogram counts overflow")?;
            }
            if total != self.paths {
                return Err(format!(
                    "the histogram counts {total} paths, not {}",
                    self.paths
                ));
            }
        }
        Ok(())
    }

    /// Bytes of heap and struct in use now: the tail buffer's capacity, the histogram and the
    /// exact sums. Up to 2m × 16 bytes (× 24 weighted) + a few kB per binary order of magnitude
    /// the values span + about 1.2 kB (2.9 kB weighted); while every value added is kept (fewer
    /// than 2m), half that for the tail. The one chunk or merge that first makes the buffer
    /// compact briefly holds both forms.
    ///
    /// [`stats`](Self::stats) and [`histogram`](Self::histogram) temporarily copy the buffer
    /// (and, for weighted statistics, make three `f64` arrays of m entries) while they sort it.
    pub fn memory_bytes(&self) -> usize {
        size_of::<Self>()
            + match &self.tail {
                Tail::Plain(t) => t.memory_bytes(),
                Tail::Weighted(t) => t.memory_bytes(),
            }
            + self.hist.as_ref().map_or(0, LogHist::memory_bytes)
            + self.weights.as_ref().map_or(0, |_| size_of::<WeightSums>())
    }

    /// Summary of the likelihood-ratio weights (None for an unweighted accumulator or without
    /// paths). Every metric of a run sees the same weights, so any of its accumulators will do.
    pub fn weight_summary(&self) -> Option<WeightSummary> {
        let ws = self.weights.as_ref()?;
        if self.paths == 0 {
            return None;
        }
        let nf = self.paths as f64;
        let (s, s2) = (ws.sum_w.to_dd(), ws.sum_w2.to_dd());
        Some(WeightSummary {
            effective_sample_size: s.0 * s.0 / s2.0,
            mean_weight: s.0 / nf,
            mean_weight_se: sample_sd(s, s2, nf) / nf.sqrt(),
            max_weight: f64::from_bits(ws.max_w_bits),
        })
    }

    /// Smallest and largest non-NaN value (NaN without any).
    fn extremes(&self) -> (f64, f64) {
        if self.min_key > self.max_key {
            (f64::NAN, f64::NAN)
        } else {
            (from_key(self.min_key), from_key(self.max_key))
        }
    }

    /// The statistics of the metric: mean, standard error, loss probability, extremes, and per
    /// level VaR and expected shortfall with [`CI_CONFIDENCE`] intervals.
    ///
    /// # Definitions
    ///
    /// n paths with values L₁ … Lₙ and likelihood-ratio weights w₁ … wₙ (all 1 for an
    /// unweighted accumulator); sorted ascending L₍₁₎ ≤ … ≤ L₍ₙ₎ by [`f64::total_cmp`].
    ///
    /// * `mean` = Σ wᵢLᵢ / Σ wᵢ (self-normalized; unweighted Σ Lᵢ / n): the exact sums (see the
    ///   type's documentation), correctly rounded, divided. A weighted average of the values,
    ///   so within [min, max] however far Σw/n strays from 1.
    /// * `std_error`, unweighted: s/√n with s² = (Σ Lᵢ² − (Σ Lᵢ)²/n)/(n − 1) from the exact
    ///   sums in double-double arithmetic; 0 when n < 2, and when the values are all equal.
    ///   Weighted (delta method): √(Σ wᵢ²(Lᵢ − mean)²) / Σ wᵢ, from the exact sums of wᵢLᵢ,
    ///   (wᵢLᵢ)², wᵢ²Lᵢ and wᵢ²; 0 when n < 2.
    /// * `prob_loss` = Σ wᵢ·1{Lᵢ > 0} / Σ wᵢ (self-normalized, so a probability);
    ///   `min`, `max` over the non-NaN values.
    /// * `var` (VaR_α), the likelihood-ratio tail estimator (Glynn 1996): with
    ///   G(x) = (1/n) Σ wᵢ·1{Lᵢ > x}, VaR_α = inf{x : G(x) ≤ 1 − α}, found by walking the sorted
    ///   values from the top until the running weight exceeds n·(1 − α). Unweighted this is
    ///   L₍ₖ₎ with k = ⌈n·α⌉ (clamped to [1, n]), n·α being snapped to the nearest integer when
    ///   it is within a few ulps of one (n = 1000, α = 0.9 gives k = 900).
    /// * `es` (ES_α) = VaR_α + Σ wᵢ(Lᵢ − VaR_α)⁺ / (n·(1 − α)), with n·(1 − α) = n − n·α
    ///   snapped as above. Unweighted this is the Acerbi–Tasche expected shortfall
    ///   (Σ_{i>k} L₍ᵢ₎ + (k − n·α)·L₍ₖ₎)/(n·(1 − α)), the mean of the n − k largest values when
    ///   n·α is whole; it is never below VaR and a flat tail gives exactly its value.
    /// * `es_lo`, `es_hi` = ES_α ∓ z·σ with z = Φ⁻¹(0.975) and
    ///   σ = sd(wᵢ(Lᵢ − VaR_α)⁺)/((1 − α)·√n), the sample standard deviation (n − 1) over all n
    ///   paths, zeros included (the asymptotic normal interval).
    /// * `var_lo`, `var_hi`, unweighted: the distribution-free interval from order statistics.
    ///   With B ~ Binomial(n, α) and p = (1 − [`CI_CONFIDENCE`])/2 = 0.025: `var_lo` = L₍ₗ₎
    ///   where l is the largest j ≥ 1 with P(B ≥ j) ≥ 1 − p, and `var_hi` = L₍ᵤ₎ where u is the
    ///   smallest j ≤ n with P(B ≤ j − 1) ≥ 1 − p; both clamped to [1, n] (so for tiny n, or α
    ///   so close to 1 that the interval would reach past the sample, an end falls back to the
    ///   extreme value and covers less than its nominal confidence). The binomial CDF is summed
    ///   exactly from its pmf, for any n.
    /// * `var_lo`, `var_hi`, weighted (Woodruff's interval): with
    ///   se = sd(wᵢ·1{Lᵢ > VaR_α})/√n, `var_lo` = the tail quantile inf{x : G(x) ≤ (1 − α) + z·se}
    ///   and `var_hi` the one at (1 − α) − z·se (the maximum when that is ≤ 0).
    /// * `worst_paths`: the largest of the kept values above 0 with their path ids, at most
    ///   [`WORST_PATHS`], descending, ties by ascending path id. Exact (the worst paths of all
    ///   the values) unless m < [`WORST_PATHS`] — then only m are listed — or NaNs fill the
    ///   kept entries.
    ///
    /// # Exact and approximate levels
    ///
    /// A level is `exact` ([`LevelStats::exact`]) when its VaR and both ends of its interval
    /// fall among the values the accumulator kept: the m largest, or all of them while fewer
    /// than 2m paths were added. Its VaR, interval ends and ES are then exactly the above, and
    /// with m ≥ n (or n < 2m) the unweighted results equal those of [`metric_stats`](crate::metric_stats) on the
    /// same values.
    ///
    /// Otherwise the distribution below the kept values is read from the log-linear histogram
    /// (with the kept values' own counts and weights subtracted, exactly): each bucket's paths
    /// (weight) are taken as spread evenly over the range of values the bucket saw, an atom when
    /// they were all equal. VaR is interpolated linearly within its bucket, which also holds the
    /// exact VaR: the error is at most the bucket's width, 2⁻⁷ (0.8 %) of the magnitude — and
    /// none when the bucket holds a single value, as for the atoms of slashing losses. An
    /// interval end read from the histogram stands for its whole bucket: `var_lo` is the smallest
    /// value its bucket saw and `var_hi` the largest, so for an unweighted metric the interval
    /// contains the one the exact values would give. Buckets wholly above VaR enter the ES at
    /// their midpoint (each value off by at most half a bucket, 2⁻⁸ relative); the ES is an
    /// average of the tail's values each off by at most one bucket, so within 2⁻⁷ of the average
    /// magnitude of the tail's values. The ES interval and the weighted VaR interval use the
    /// same spread (with the buckets' Σw², and a uniform spread's variance within a bucket) and
    /// are approximations of the same order.
    ///
    /// With no paths every statistic is NaN (and every level "exact").
    ///
    /// # Panics
    ///
    /// If a level is not strictly between 0 and 1 (check user input with
    /// [`validate_levels`](crate::validate_levels)).
    pub fn stats(&self, name: &str, levels: &[f64]) -> MetricStats {
        check_levels(levels);
        if self.paths == 0 {
            return empty_stats(name, levels);
        }
        let nf = self.paths as f64;
        let (min, max) = self.extremes();
        let s1 = self.sum.to_dd();
        let s2 = self.sum_sq.to_dd();
        let (mean, std_error, prob_loss) = match &self.weights {
            None => (
                s1.0 / nf,
                if min == max {
                    0.0
                } else {
                    sample_sd(s1, s2, nf) / nf.sqrt()
                },
                self.positive as f64 / nf,
            ),
            Some(ws) => {
                // Self-normalized: divided by Σw rather than n, so that they stay a
                // probability and a mean within [min, max] however far Σw/n strays from 1.
                let w = ws.sum_w.to_dd();
                // As the unweighted mean: the correctly rounded sum over the (exact) total, so
                // unit weights give the unweighted mean's bits.
                let mean = s1.0 / w.0;
                // Delta method: se² = Σ wᵢ²(Lᵢ − mean)² / (Σw)², from the exact sums.
                let spread = dd::add(
                    dd::add(s2, dd::mul((-2.0 * mean, 0.0), ws.sum_w2_l.to_dd())),
                    dd::mul((mean * mean, 0.0), ws.sum_w2.to_dd()),
                );
                let std_error = if nf < 2.0 {
                    0.0
                } else {
                    spread.0.max(0.0).sqrt() / w.0
                };
                let prob_loss = (ws.sum_w_pos.to_f64() / w.0).min(1.0);
                // A weighted average of the values: within [min, max] up to rounding.
                let mean = if min <= max {
                    mean.max(min).min(max)
                } else {
                    mean
                };
                (mean, std_error, prob_loss)
            }
        };
        MetricStats {
            name: name.to_owned(),
            mean,
            std_error,
            prob_loss,
            min,
            max,
            levels: if levels.is_empty() {
                Vec::new()
            } else {
                self.tail_levels(levels, min)
            },
            worst_paths: self.worst_paths(),
        }
    }

    /// [`tail_at_least`](Self::tail_at_least)'s entries in ascending path id instead: the
    /// order risk contributions re-simulate them in. Found from the values held at or above
    /// `floor` alone: the usable entries among them are all of them, or their `usable`
    /// largest (the usable entries being the largest of all).
    pub fn tail_at_least_by_path(&self, floor: f64) -> (Vec<TailPath>, bool) {
        fn collect<E: Entry>(t: &TopM<E>, offered: u64, floor: i64) -> (Vec<TailPath>, bool) {
            let usable = t.usable(offered);
            let mut v: Vec<E> = Vec::new();
            match &t.dense {
                Some(d) => d.for_each(|e: E| {
                    if e.key() >= floor {
                        v.push(e);
                    }
                }),
                None => {
                    v.extend(t.buf.iter().filter(|e| e.key() >= floor));
                    if ZERO_KEY >= floor {
                        // Only the `usable` highest-ranking zeros can be usable.
                        t.push_top_zeros(&mut v, usable);
                    }
                }
            }
            if v.len() > usable {
                // Some of them are not among the usable entries, the `usable` largest of all
                // — which are all among them.
                if usable == 0 {
                    v.clear();
                } else {
                    v.select_nth_unstable_by(usable - 1, |a, b| b.cmp(a));
                    v.truncate(usable);
                }
            }
            // Of the `usable` largest, those at or above the floor: all of them unless some
            // paths were not kept and the floor cut into the usable entries.
            let complete = usable as u64 == offered || v.len() < usable;
            v.sort_unstable_by_key(|e| e.path());
            (v.into_iter().map(TailPath::of).collect(), complete)
        }
        let floor = value_key(floor);
        match &self.tail {
            Tail::Plain(t) => collect(t, self.paths, floor),
            Tail::Weighted(t) => collect(t, self.paths, floor),
        }
    }

    /// The kept tail entries whose value is at least `floor` (in [`f64::total_cmp`]'s order),
    /// largest value first, ties by ascending path id; and whether they are *every* path whose
    /// value is at least `floor`. They are unless the kept entries end exactly at `floor` and
    /// some paths were not kept: the accumulator then kept, of the paths tied there, those of
    /// the smallest ids. Weights are 1 for an unweighted accumulator. Risk contributions
    /// re-simulate these paths ([`EulerEstimator`](crate::EulerEstimator)).
    pub fn tail_at_least(&self, floor: f64) -> (Vec<TailPath>, bool) {
        fn collect<E: Entry>(t: &TopM<E>, offered: u64, floor: i64) -> (Vec<TailPath>, bool) {
            let usable = t.usable(offered);
            let mut v = t.top(usable);
            let all = v.len();
            v.retain(|e| e.key() >= floor);
            let complete = usable as u64 == offered || v.len() < all;
            // Descending entries: by value, then by ascending path id.
            v.sort_unstable_by(|a, b| b.cmp(a));
            (v.into_iter().map(TailPath::of).collect(), complete)
        }
        let floor = value_key(floor);
        match &self.tail {
            Tail::Plain(t) => collect(t, self.paths, floor),
            Tail::Weighted(t) => collect(t, self.paths, floor),
        }
    }

    /// [`MetricStats::worst_paths`] from the kept entries.
    fn worst_paths(&self) -> Vec<WorstPath> {
        // Keys of the values above 0, NaN excluded.
        let positive = |key: i64| key > 0 && key <= POS_INF_KEY;
        let worst = |path: u64, key: i64| WorstPath {
            path,
            value: from_key(key),
        };
        match &self.tail {
            Tail::Plain(t) => t
                .largest_where(self.paths, WORST_PATHS, positive)
                .into_iter()
                .map(|e| worst(e.path(), e.key))
                .collect(),
            Tail::Weighted(t) => t
                .largest_where(self.paths, WORST_PATHS, positive)
                .into_iter()
                .map(|e| worst(e.path(), e.key))
                .collect(),
        }
    }

    fn tail_levels(&self, levels: &[f64], min: f64) -> Vec<LevelStats> {
        let n = self.paths;
        let z = ci_z();
        match &self.tail {
            Tail::Plain(t) => {
                let usable = t.usable(n);
                // Entries the deepest level needs, counted from the top.
                let need = levels
                    .iter()
                    .map(|&a| {
                        let (l, _) = var_ci_ranks(n as usize, a, CI_CONFIDENCE);
                        n as usize - l.min(var_rank(n as usize, a)) + 1
                    })
                    .max()
                    .unwrap_or(0);
                let depth = need.min(usable);
                let values: Vec<f64> = t.top_keys_sorted(depth).into_iter().map(from_key).collect();
                let rest = || self.rest_segments(&values, None);
                let view = TailView {
                    n,
                    values: &values,
                    weights: None,
                    cum: None,
                    covers_all: values.len() as u64 == n,
                    min,
                    rest: &rest,
                    rest_cache: OnceCell::new(),
                };
                levels.iter().map(|&a| view.level(a, z)).collect()
            }
            Tail::Weighted(t) => {
                let mut entries = t.top_key_weights(t.usable(n));
                // By value, then weight: the order of the sums below, and so their bits, does
                // not depend on the path ids.
                entries.sort_unstable_by_key(|&e| std::cmp::Reverse(e));
                let values: Vec<f64> = entries.iter().map(|e| from_key(e.0)).collect();
                let weights: Vec<f64> = entries.iter().map(|e| f64::from_bits(e.1)).collect();
                drop(entries);
                let mut running = 0.0;
                let cum: Vec<f64> = weights
                    .iter()
                    .map(|&w| {
                        running += w;
                        running
                    })
                    .collect();
                let rest = || self.rest_segments(&values, Some(&weights));
                let view = TailView {
                    n,
                    values: &values,
                    weights: Some(&weights),
                    cum: Some(&cum),
                    covers_all: values.len() as u64 == n,
                    min,
                    rest: &rest,
                    rest_cache: OnceCell::new(),
                };
                levels.iter().map(|&a| view.level(a, z)).collect()
            }
        }
    }

    /// The histogram without the kept entries (`kept`: all of them, descending), as segments
    /// from the top down.
    fn rest_segments(&self, kept: &[f64], weights: Option<&[f64]>) -> Vec<Segment> {
        let mut h = self.rest_histogram(kept, weights);
        let last = kept.last().map_or(i64::MAX, |&x| value_key(x));
        h.retain(|b| b.count > 0);
        h.into_iter()
            .map(|b| Segment {
                lo: from_key(b.lo),
                hi: from_key(b.hi.min(last)),
                w: b.w,
                w2: b.w2,
            })
            .collect()
    }

    /// The buckets (descending) minus the kept entries (in any order); for each its count,
    /// observed range and mass (Σw or the count) and Σw².
    fn rest_histogram(&self, kept: &[f64], weights: Option<&[f64]>) -> Vec<RestBucket> {
        // Without one, the tail holds every value (see `ensure_hist`): the histogram it would
        // have.
        let mut h = self.hist.clone().unwrap_or_else(|| self.held_hist());
        for (j, &x) in kept.iter().enumerate() {
            let (fw, fw2) = weights.map_or((0, 0), |w| (to_fixed(w[j]), to_fixed(w[j] * w[j])));
            h.remove(value_key(x), fw, fw2);
        }
        h.descending()
            .map(|(b, wb)| {
                let (w, w2, fw) = match wb {
                    Some(wb) => (from_fixed(wb.w), from_fixed(wb.w2), wb.w),
                    None => (b.count as f64, b.count as f64, 0),
                };
                RestBucket {
                    count: b.count,
                    lo: b.lo,
                    hi: b.hi,
                    w,
                    w2,
                    fixed_w: fw,
                }
            })
            .collect()
    }

    /// Equal-width histogram of the metric for `loss_distribution.csv`: `bins` bins over
    /// [min, max] of the finite values, as [`histogram`](crate::histogram) describes.
    ///
    /// * While the accumulator holds every value (m ≥ n, or fewer than 2m paths), the bins are
    ///   computed from the values themselves: unweighted, exactly [`histogram`](crate::histogram)
    ///   of them.
    /// * Otherwise the m kept values are binned exactly, and every log-linear bucket of the rest
    ///   goes whole into the bin holding the midpoint of the range of values it saw. A path can
    ///   so land in a neighbouring bin only when its bucket straddles a bin edge, within one
    ///   bucket width (2⁻⁷ relative) of that edge.
    ///
    /// `count` is the number of paths in the bin; with weights, `pdf`, `cdf` and `exceedance`
    /// use the bins' Σw instead of their counts, over the total Σw (self-normalized: the last
    /// `cdf` is 1).
    ///
    /// # Panics
    ///
    /// If `bins` is 0.
    pub fn histogram(&self, bins: usize) -> Vec<Bin> {
        assert!(bins > 0, "a histogram needs at least one bin");
        match &self.tail {
            Tail::Plain(t) if t.usable(self.paths) as u64 == self.paths => {
                // Every value is kept: binned straight from the keys, over the extremes (the
                // finite range `histogram` would find, when they are finite).
                let (min, max) = self.extremes();
                let zeros = t.implicit_zero_count();
                if !(min.is_finite() && max.is_finite()) {
                    let mut values: Vec<f64> = match &t.dense {
                        Some(d) => d.keys.iter().map(|&k| from_key(k)).collect(),
                        None => t.buf.iter().map(|e| from_key(e.key)).collect(),
                    };
                    values.resize(values.len() + zeros as usize, 0.0);
                    return histogram(&values, bins);
                }
                let binner = Binner::new(min, max, bins);
                let (mut counts, mut n) = match &t.dense {
                    Some(d) => binner.count_keys(&d.keys),
                    None => binner.count(t.buf.iter().map(|e| from_key(e.key))),
                };
                if zeros > 0 {
                    counts[binner.index(0.0)] += zeros;
                    n += zeros;
                }
                if n == 0 {
                    return Vec::new();
                }
                binner.finish(&counts, None, n)
            }
            Tail::Weighted(t) if t.usable(self.paths) as u64 == self.paths => {
                let Some((min, max, n)) = finite_range(t.key_weights().map(|(k, _)| from_key(k)))
                else {
                    return Vec::new();
                };
                let binner = Binner::new(min, max, bins);
                let mut counts = vec![0u64; binner.len()];
                let mut weights = vec![0u128; binner.len()];
                for (k, w) in t.key_weights() {
                    let x = from_key(k);
                    if x.is_finite() {
                        let i = binner.index(x);
                        counts[i] += 1;
                        weights[i] = weights[i].saturating_add(to_fixed(f64::from_bits(w)));
                    }
                }
                binner.finish(&counts, Some(&weights), n)
            }
            _ => self.histogram_from_buckets(bins),
        }
    }

    fn histogram_from_buckets(&self, bins: usize) -> Vec<Bin> {
        let (kept, weights): (Vec<f64>, Option<Vec<f64>>) = match &self.tail {
            Tail::Plain(t) => (
                t.top(t.usable(self.paths))
                    .into_iter()
                    .map(|e| from_key(e.key))
                    .collect(),
                None,
            ),
            Tail::Weighted(t) => {
                let e = t.top(t.usable(self.paths));
                (
                    e.iter().map(|e| from_key(e.key)).collect(),
                    Some(e.iter().map(|e| f64::from_bits(e.w)).collect()),
                )
            }
        };
        let rest = self.rest_histogram(&kept, weights.as_deref());
        let last = kept.iter().map(|&x| value_key(x)).min().unwrap_or(i64::MAX);
        // Each remaining bucket's observed range, below the kept values.
        let ranges = rest
            .iter()
            .map(|b| (from_key(b.lo), from_key(b.hi.min(last)), b));
        // The finite range: the extremes, unless infinities are among them.
        let (min, max) = match self.extremes() {
            (lo, hi) if lo.is_finite() && hi.is_finite() => (lo, hi),
            _ => {
                let ends = kept
                    .iter()
                    .copied()
                    .chain(ranges.clone().flat_map(|(lo, hi, _)| [lo, hi]));
                match finite_range(ends) {
                    Some((lo, hi, _)) => (lo, hi),
                    None => return Vec::new(),
                }
            }
        };
        let binner = Binner::new(min, max, bins);
        let mut counts = vec![0u64; binner.len()];
        let mut fixed = vec![0u128; binner.len()];
        let mut n = 0;
        for (j, &x) in kept.iter().enumerate().filter(|(_, x)| x.is_finite()) {
            let i = binner.index(x);
            counts[i] += 1;
            if let Some(w) = &weights {
                fixed[i] = fixed[i].saturating_add(to_fixed(w[j]));
            }
            n += 1;
        }
        for (lo, hi, b) in ranges {
            let mid = 0.5 * lo + 0.5 * hi;
            if mid.is_finite() {
                let i = binner.index(mid.clamp(min, max));
                counts[i] += b.count;
                fixed[i] = fixed[i].saturating_add(b.fixed_w);
                n += b.count;
            }
        }
        binner.finish(&counts, self.is_weighted().then_some(fixed.as_slice()), n)
    }
}

/// A histogram bucket after the kept entries were taken out.
struct RestBucket {
    count: u64,
    /// Total-order keys of the smallest and largest value the bucket saw.
    lo: i64,
    hi: i64,
    /// Mass: Σw, or the count when unweighted.
    w: f64,
    /// Σw², or the count when unweighted.
    w2: f64,
    /// Σw in fixed point (0 when unweighted).
    fixed_w: u128,
}

#[cfg(test)]
#[path = "accumulator_tests.rs"]
pub(crate) mod tests;

//! A universal log-linear histogram of `f64` values (in the manner of HdrHistogram and DDSketch):
//! the bucket of a value is given by its sign, its binary exponent and the top
//! [`SUB_BITS`] bits of its mantissa, so every bucket of a normal number spans a relative width of
//! at most 2⁻⁷ and no range has to be chosen in advance. Negative values mirror the positive
//! ones; 0 has a bucket of its own (shared only with the subnormal numbers below 2⁻¹⁰²⁹, about
//! 1.7e-310, of its sign).
//!
//! Storage is paged per (sign, exponent): a page of 2⁷ buckets (3 kB, 8 kB weighted) is allocated
//! the first time a value with that exponent arrives, so a metric whose values span a few orders
//! of magnitude uses a few dozen pages, and an increment is O(1). Each bucket holds its count, the
//! smallest and largest value it has seen and, for weighted accumulators, the sums of the
//! weights and of their squares as fixed-point integers ([`to_fixed`](crate::exact::to_fixed)):
//! all merge exactly, in any order.

use std::fmt;
use std::io::{self, Read, Write};

use crate::codec::{Decoder, Encoder, le_i64, le_u64, le_u128};
use crate::error::ReportError;

/// Mantissa bits that select the bucket within an exponent: relative bucket width 2⁻⁷.
pub(crate) const SUB_BITS: u32 = 7;
const SLOTS: usize = 1 << SUB_BITS;
/// Pages: 2 signs × 2048 exponents.
const PAGES: usize = 4096;
/// The bucket id of a total-order key is `key >> BUCKET_SHIFT` (52 mantissa bits − 7).
const BUCKET_SHIFT: u32 = 52 - SUB_BITS;

/// One bucket: how many values, and the total-order keys of the smallest and largest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub(crate) count: u64,
    pub(crate) lo: i64,
    pub(crate) hi: i64,
}

const EMPTY: Bucket = Bucket {
    count: 0,
    lo: i64::MAX,
    hi: i64::MIN,
};

/// Fixed-point sums (units of 2⁻⁶⁴) of the weights and squared weights of a bucket's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WeightBucket {
    pub(crate) w: u128,
    pub(crate) w2: u128,
}

/// A bucket of a weighted histogram: one cache line for everything an increment touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(align(64))]
struct WeightedBucket {
    w: WeightBucket,
    b: Bucket,
}

const EMPTY_WEIGHTED: WeightedBucket = WeightedBucket {
    w: WeightBucket { w: 0, w2: 0 },
    b: EMPTY,
};

/// The buckets of all allocated pages, `SLOTS` per page.
#[derive(Clone, PartialEq, Eq)]
enum Store {
    Plain(Vec<Bucket>),
    Weighted(Vec<WeightedBucket>),
}

/// The histogram; see the module documentation.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct LogHist {
    /// Page number + 1 for every (sign, exponent) page, 0 when not allocated. Indexed by the
    /// bucket id's high bits + 2048, so ascending index = ascending values.
    table: Box<[u32; PAGES]>,
    /// The table index of every allocated page, in allocation order.
    page_ids: Vec<u16>,
    store: Store,
}

impl fmt::Debug for LogHist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogHist")
            .field("pages", &self.page_ids.len())
            .field("weighted", &matches!(self.store, Store::Weighted(_)))
            .finish()
    }
}

/// The bucket of a total-order key, as one number: keys of one bucket are contiguous, so
/// sorted keys are grouped by bucket.
pub(crate) fn bucket_id(key: i64) -> i64 {
    key >> BUCKET_SHIFT
}

/// (table index, slot) of a total-order key.
#[inline(always)]
fn locate(key: i64) -> (usize, usize) {
    let b = key >> BUCKET_SHIFT;
    (
        (((b >> SUB_BITS) + 2048) as usize) & (PAGES - 1),
        (b as usize) & (SLOTS - 1),
    )
}

impl LogHist {
    /// An empty histogram.
    pub(crate) fn new(weighted: bool) -> Self {
        LogHist {
            table: vec![0u32; PAGES]
                .into_boxed_slice()
                .try_into()
                .expect("PAGES entries"),
            page_ids: Vec::new(),
            store: if weighted {
                Store::Weighted(Vec::new())
            } else {
                Store::Plain(Vec::new())
            },
        }
    }

    #[cold]
    #[inline(never)]
    fn alloc(&mut self, page: usize) -> u32 {
        self.page_ids.reserve_exact(1);
        self.page_ids.push(page as u16);
        match &mut self.store {
            Store::Plain(b) => {
                b.reserve_exact(SLOTS);
                b.extend([EMPTY; SLOTS]);
            }
            Store::Weighted(b) => {
                b.reserve_exact(SLOTS);
                b.extend([EMPTY_WEIGHTED; SLOTS]);
            }
        }
        let number = self.page_ids.len() as u32;
        self.table[page] = number;
        number
    }

    /// Index into `buckets` of the bucket of `key`, allocating its page if needed.
    #[inline(always)]
    fn index(&mut self, key: i64) -> usize {
        let (page, slot) = locate(key);
        let mut p = self.table[page];
        if p == 0 {
            p = self.alloc(page);
        }
        (p as usize - 1) * SLOTS + slot
    }

    /// Counts a value (by its total-order key).
    #[inline(always)]
    pub(crate) fn add(&mut self, key: i64) {
        let i = self.index(key);
        let Store::Plain(buckets) = &mut self.store else {
            unreachable!("add on a weighted histogram")
        };
        let b = &mut buckets[i];
        b.count += 1;
        b.lo = b.lo.min(key);
        b.hi = b.hi.max(key);
    }

    /// Counts `n` ≥ 1 values of key `key`: the state of `n` calls of [`add`](Self::add).
    #[inline]
    pub(crate) fn add_n(&mut self, key: i64, n: u64) {
        let i = self.index(key);
        let Store::Plain(buckets) = &mut self.store else {
            unreachable!("add_n on a weighted histogram")
        };
        let b = &mut buckets[i];
        b.count += n;
        b.lo = b.lo.min(key);
        b.hi = b.hi.max(key);
    }

    /// Counts a value with its fixed-point weight and squared weight.
    #[inline(always)]
    pub(crate) fn add_weighted(&mut self, key: i64, w: u128, w2: u128) {
        let i = self.index(key);
        let Store::Weighted(buckets) = &mut self.store else {
            unreachable!("add_weighted on an unweighted histogram")
        };
        let wb = &mut buckets[i];
        wb.b.count += 1;
        wb.b.lo = wb.b.lo.min(key);
        wb.b.hi = wb.b.hi.max(key);
        wb.w.w = wb.w.w.saturating_add(w);
        wb.w.w2 = wb.w.w2.saturating_add(w2);
    }

    /// Takes one counted value back out (its count and weights; the observed range stays, a
    /// valid bound of what remains). The value must have been added.
    pub(crate) fn remove(&mut self, key: i64, w: u128, w2: u128) {
        let (page, slot) = locate(key);
        let p = self.table[page];
        assert!(p != 0, "removing a value that was never added");
        let i = (p as usize - 1) * SLOTS + slot;
        match &mut self.store {
            Store::Plain(b) => b[i].count -= 1,
            Store::Weighted(b) => {
                b[i].b.count -= 1;
                b[i].w.w = b[i].w.w.saturating_sub(w);
                b[i].w.w2 = b[i].w.w2.saturating_sub(w2);
            }
        }
    }

    /// Adds every bucket of `other` (exact: integer sums, min and max).
    pub(crate) fn merge(&mut self, other: &LogHist) {
        fn add(a: &mut Bucket, b: &Bucket) {
            a.count += b.count;
            a.lo = a.lo.min(b.lo);
            a.hi = a.hi.max(b.hi);
        }
        for (k, &page) in other.page_ids.iter().enumerate() {
            let mine = match self.table[page as usize] {
                0 => self.alloc(page as usize),
                p => p,
            } as usize
                - 1;
            let (dst, src) = (mine * SLOTS..(mine + 1) * SLOTS, k * SLOTS..(k + 1) * SLOTS);
            match (&mut self.store, &other.store) {
                (Store::Plain(a), Store::Plain(b)) => {
                    for (a, b) in a[dst].iter_mut().zip(&b[src]) {
                        add(a, b);
                    }
                }
                (Store::Weighted(a), Store::Weighted(b)) => {
                    for (a, b) in a[dst].iter_mut().zip(&b[src]) {
                        add(&mut a.b, &b.b);
                        a.w.w = a.w.w.saturating_add(b.w.w);
                        a.w.w2 = a.w.w2.saturating_add(b.w.w2);
                    }
                }
                _ => unreachable!("merging histograms of different weighting"),
            }
        }
    }

    /// The bucket at index i, with its weights if weighted.
    fn get(&self, i: usize) -> (Bucket, Option<WeightBucket>) {
        match &self.store {
            Store::Plain(b) => (b[i], None),
            Store::Weighted(b) => (b[i].b, Some(b[i].w)),
        }
    }

    /// The non-empty buckets from the largest values down, with their weights if weighted.
    pub(crate) fn descending(&self) -> impl Iterator<Item = (Bucket, Option<WeightBucket>)> + '_ {
        (0..PAGES)
            .rev()
            .filter(|&t| self.table[t] != 0)
            .flat_map(move |t| {
                let p = self.table[t] as usize - 1;
                (0..SLOTS).rev().map(move |s| p * SLOTS + s)
            })
            .map(|i| self.get(i))
            .filter(|(b, _)| b.count > 0)
    }

    /// The bucket of `key` (None while its page was never allocated).
    pub(crate) fn bucket_of(&self, key: i64) -> Option<Bucket> {
        let (page, slot) = locate(key);
        match self.table[page] {
            0 => None,
            p => Some(self.get((p as usize - 1) * SLOTS + slot).0),
        }
    }

    /// Writes the non-empty buckets: the number of pages holding any (`u16`), then per page in
    /// ascending order its table index (`u16`), a `u128` mask of its non-empty slots and, per
    /// slot in the mask, ascending: count (`u64`), smallest and largest key (`i64`) and, when
    /// weighted, the fixed-point Σw and Σw² (`u128`).
    pub(crate) fn encode<W: Write + ?Sized>(&self, e: &mut Encoder<'_, W>) -> io::Result<()> {
        let pages: Vec<(usize, u128)> = (0..PAGES)
            .filter(|&t| self.table[t] != 0)
            .map(|t| {
                let p = self.table[t] as usize - 1;
                let mask = (0..SLOTS)
                    .filter(|&s| self.get(p * SLOTS + s).0.count > 0)
                    .fold(0u128, |m, s| m | 1 << s);
                (t, mask)
            })
            .filter(|&(_, mask)| mask != 0)
            .collect();
        e.u16(pages.len() as u16)?;
        let mut out = Vec::with_capacity(SLOTS * 56);
        for (t, mask) in pages {
            e.u16(t as u16)?;
            e.u128(mask)?;
            out.clear();
            let p = self.table[t] as usize - 1;
            for s in (0..SLOTS).filter(|&s| mask >> s & 1 == 1) {
                let (b, w) = self.get(p * SLOTS + s);
                out.extend_from_slice(&b.count.to_le_bytes());
                out.extend_from_slice(&b.lo.to_le_bytes());
                out.extend_from_slice(&b.hi.to_le_bytes());
                if let Some(w) = w {
                    out.extend_from_slice(&w.w.to_le_bytes());
                    out.extend_from_slice(&w.w2.to_le_bytes());
                }
            }
            e.bytes(&out)?;
        }
        Ok(())
    }

    /// Reads what [`encode`](Self::encode) wrote, checking that pages are in ascending order
    /// and that every bucket is non-empty and saw only keys of its own bucket.
    pub(crate) fn decode<R: Read + ?Sized>(
        d: &mut Decoder<'_, R>,
        weighted: bool,
    ) -> Result<Self, ReportError> {
        const FIELD: &str = "the histogram";
        let pages = usize::from(d.u16(FIELD)?);
        if pages > PAGES {
            return Err(d.corrupt(format!("{pages} histogram pages, at most {PAGES} exist")));
        }
        let bucket_bytes = if weighted { 56 } else { 24 };
        let mut h = LogHist::new(weighted);
        let mut previous = None;
        let mut buf = Vec::new();
        for _ in 0..pages {
            let t = usize::from(d.u16(FIELD)?);
            if t >= PAGES || previous.is_some_and(|p| t <= p) {
                return Err(d.corrupt(format!("histogram page {t} out of range or out of order")));
            }
            previous = Some(t);
            let mask = u128::from_le_bytes(d.array(FIELD)?);
            if mask == 0 {
                return Err(d.corrupt(format!("histogram page {t} has no buckets")));
            }
            buf.resize(mask.count_ones() as usize * bucket_bytes, 0);
            d.fill(&mut buf, FIELD)?;
            let p = h.alloc(t) as usize - 1;
            let slots = (0..SLOTS).filter(|&s| mask >> s & 1 == 1);
            for (s, b) in slots.zip(buf.chunks_exact(bucket_bytes)) {
                let bucket = Bucket {
                    count: le_u64(b, 0),
                    lo: le_i64(b, 8),
                    hi: le_i64(b, 16),
                };
                let inside = |key: i64| key != i64::MIN && locate(key) == (t, s);
                if bucket.count == 0
                    || bucket.lo > bucket.hi
                    || !inside(bucket.lo)
                    || !inside(bucket.hi)
                {
                    return Err(d.corrupt(format!(
                        "histogram bucket {s} of page {t} is inconsistent: {bucket:?}"
                    )));
                }
                match &mut h.store {
                    Store::Plain(v) => v[p * SLOTS + s] = bucket,
                    Store::Weighted(v) => {
                        v[p * SLOTS + s] = WeightedBucket {
                            w: WeightBucket {
                                w: le_u128(b, 24),
                                w2: le_u128(b, 40),
                            },
                            b: bucket,
                        }
                    }
                }
            }
        }
        Ok(h)
    }

    /// Heap bytes in use.
    pub(crate) fn memory_bytes(&self) -> usize {
        PAGES * size_of::<u32>()
            + self.page_ids.capacity() * size_of::<u16>()
            + match &self.store {
                Store::Plain(b) => b.capacity() * size_of::<Bucket>(),
                Store::Weighted(b) => b.capacity() * size_of::<WeightedBucket>(),
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact::{from_key, total_key};

    fn key(x: f64) -> i64 {
        total_key(x.to_bits())
    }

    #[test]
    fn buckets_are_ordered_and_at_most_2_to_minus_7_wide() {
        let values: Vec<f64> = (0..20_000)
            .map(|i| {
                let x = 1.0001f64.powi(i - 10_000);
                if i % 2 == 0 { x } else { -x * 3.0 }
            })
            .chain([0.0, -0.0, 1e-310, f64::MAX, f64::MIN_POSITIVE])
            .collect();
        let mut h = LogHist::new(false);
        for &x in &values {
            h.add(key(x));
        }
        let buckets: Vec<Bucket> = h.descending().map(|(b, _)| b).collect();
        assert_eq!(
            buckets.iter().map(|b| b.count).sum::<u64>(),
            values.len() as u64
        );
        for w in buckets.windows(2) {
            assert!(w[0].lo > w[1].hi, "descending and disjoint");
        }
        for b in &buckets {
            let (lo, hi) = (from_key(b.lo), from_key(b.hi));
            if lo.abs().min(hi.abs()) >= f64::MIN_POSITIVE {
                assert!(
                    (hi - lo).abs() <= lo.abs().min(hi.abs()) * 2f64.powi(-7),
                    "[{lo}, {hi}]"
                );
            }
        }
    }

    #[test]
    fn merge_is_exact_and_remove_undoes_add() {
        let mut a = LogHist::new(true);
        let mut b = LogHist::new(true);
        let mut all = LogHist::new(true);
        for i in 0..1000 {
            let x = (f64::from(i) - 300.0) * 0.37;
            let w = 1u128 << (i % 70);
            all.add_weighted(key(x), w, w / 3);
            if i % 3 == 0 { &mut a } else { &mut b }.add_weighted(key(x), w, w / 3);
        }
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        let dump = |h: &LogHist| h.descending().collect::<Vec<_>>();
        assert_eq!(dump(&ab), dump(&all));
        assert_eq!(dump(&ba), dump(&all));
        let counts = |h: &LogHist| {
            h.descending()
                .map(|(b, w)| (b.count, w))
                .collect::<Vec<_>>()
        };
        let before = counts(&all);
        all.add_weighted(key(5.5), 77, 7);
        all.add_weighted(key(1e200), 77, 7);
        all.remove(key(5.5), 77, 7);
        all.remove(key(1e200), 77, 7);
        assert_eq!(counts(&all), before);
    }
}

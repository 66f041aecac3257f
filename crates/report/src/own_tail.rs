//! [`OwnTail`]: the upper tail of one non-negative quantity that most paths leave at 0 — a
//! component of a decomposed loss (one operator's slashed ETH, one attribute value's) — for
//! its standalone ES. A child module of `accumulator`: it keeps its entries in the same
//! [`TopM`] buffer, so it merges in any order to the same bits and writes the same way.

use super::*;

/// Tag and format version of [`OwnTail::write_to`]'s stream.
const OWN_TAG: [u8; 4] = *b"LROT";
const OWN_FORMAT: u16 = 2;

/// The m largest positive values of one non-negative quantity over the paths of a run (under
/// importance sampling with their weights and path ids, which order the entries of equal
/// value): enough for its expected shortfall at every level whose tail lies among them. Zeros
/// are not offered, so a quantity that is positive on few paths costs memory for those alone;
/// the buffer grows by doubling up to 2m entries (8 bytes each: the values alone, all the ES
/// needs; 24 weighted). Merges are exact and order-independent, like
/// [`MetricAccumulator::merge`].
#[derive(Clone, Debug)]
pub struct OwnTail {
    tail: Store,
    /// Positive values offered.
    offered: u64,
}

/// An [`OwnTail`]'s entries: values alone, or with their weights and path ids.
#[derive(Clone, Debug)]
enum Store {
    Plain(TopM<KeyEntry>),
    Weighted(TopM<WeightedEntry>),
}

/// The capacity m of each of `components` [`OwnTail`]s of a run of `paths` paths, with a
/// memory budget of `budget_bytes` for all of them together: every path (nothing is ever
/// dropped) when `paths` entries each fit; else the entries the `levels` need, as in
/// [`tail_capacity`] (their tail, six binomial standard deviations and 16, four times that
/// weighted), capped so that `components` buffers of up to 2m entries fit the budget. At
/// least 1.
pub fn own_tail_capacity(
    paths: u64,
    levels: &[f64],
    components: usize,
    weighted: bool,
    budget_bytes: u64,
) -> usize {
    // As for a metric's entries (16 bytes, 24 weighted), though plain ones take 8 here: the
    // capacity, and what is kept, do not depend on it, and the budget is kept with room.
    let entry = entry_bytes(weighted);
    let per = budget_bytes / components.max(1) as u64;
    if paths.saturating_mul(entry) <= per {
        return usize::try_from(paths).unwrap_or(usize::MAX).max(1);
    }
    let need = levels_need(paths, levels, weighted);
    let cap = (per / (2 * entry)) as f64;
    (need.min(cap) as usize).max(1)
}

impl OwnTail {
    /// An empty tail of capacity `capacity` (at least 1; see [`own_tail_capacity`]), weighted
    /// or not.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 or above `usize::MAX / 4`.
    pub fn new(capacity: usize, weighted: bool) -> Self {
        assert!(
            (1..=usize::MAX / 4).contains(&capacity),
            "an OwnTail needs a capacity of 1 to usize::MAX / 4, not {capacity}"
        );
        let tail = if weighted {
            let mut t = TopM::of_entries(capacity);
            t.sparse = true;
            Store::Weighted(t)
        } else {
            let mut t = TopM::of_entries(capacity);
            t.sparse = true;
            Store::Plain(t)
        };
        OwnTail { tail, offered: 0 }
    }

    /// The capacity m.
    pub fn capacity(&self) -> usize {
        match &self.tail {
            Store::Plain(t) => t.m,
            Store::Weighted(t) => t.m,
        }
    }

    /// Whether it keeps weights.
    pub fn is_weighted(&self) -> bool {
        matches!(self.tail, Store::Weighted(_))
    }

    /// Offers path `path`'s value `value` with its likelihood-ratio weight `weight` (ignored
    /// unweighted; a positive finite number weighted). Values that are not positive are not
    /// kept: the quantity is 0 there.
    #[inline]
    pub fn offer(&mut self, path: u64, value: f64, weight: f64) {
        if value.is_nan() || value <= 0.0 {
            return;
        }
        self.offered += 1;
        let key = value_key(value);
        match &mut self.tail {
            Store::Plain(t) => t.offer(KeyEntry::from_parts(key, path, 0)),
            Store::Weighted(t) => t.offer(WeightedEntry::from_parts(key, path, weight.to_bits())),
        }
    }

    /// Adds `other`'s values (of other paths).
    ///
    /// # Panics
    ///
    /// If the two differ in capacity or weighting.
    pub fn merge(&mut self, other: &OwnTail) {
        assert!(
            self.capacity() == other.capacity() && self.is_weighted() == other.is_weighted(),
            "merging OwnTails of different capacity or weighting"
        );
        self.offered += other.offered;
        match (&mut self.tail, &other.tail) {
            (Store::Plain(a), Store::Plain(b)) => a.merge(b),
            (Store::Weighted(a), Store::Weighted(b)) => a.merge(b),
            _ => unreachable!("checked above"),
        }
    }

    /// The usable entries as (value, weight), and the floor below which values may have been
    /// dropped (0 when none was).
    fn usable(&self) -> (Vec<(f64, f64)>, f64) {
        fn collect<E: Entry>(t: &TopM<E>, offered: u64) -> (Vec<(f64, f64)>, f64) {
            let usable = t.usable(offered);
            let v: Vec<(f64, f64)> = t
                .top(usable)
                .into_iter()
                .map(|e| {
                    let w = if E::WEIGHTED {
                        f64::from_bits(e.weight_bits())
                    } else {
                        1.0
                    };
                    (from_key(e.key()), w)
                })
                .collect();
            let floor = if usable as u64 == offered {
                0.0
            } else {
                v.iter().map(|e| e.0).fold(f64::INFINITY, f64::min)
            };
            (v, floor)
        }
        match &self.tail {
            Store::Plain(t) => collect(t, self.offered),
            Store::Weighted(t) => collect(t, self.offered),
        }
    }

    /// The quantity's expected shortfall at level `alpha` over a run of `paths` paths (the
    /// paths it was not offered, or offered 0, count as 0), by
    /// [`tail_es`](crate::tail_es) — None when values it would need were dropped (the
    /// capacity is too small for that level).
    pub fn es(&self, paths: u64, alpha: f64) -> Option<f64> {
        self.es_levels(paths, &[alpha])[0]
    }

    /// [`es`](Self::es) at each of `levels`, reading the entries once.
    pub fn es_levels(&self, paths: u64, levels: &[f64]) -> Vec<Option<f64>> {
        let (mut entries, floor) = match &self.tail {
            // Unweighted, `tail_es` reads the sorted values down to the deepest level's VaR
            // rank, ⌊n(1 − α)⌋ + 1 at most: only the largest that many (and two more) are
            // selected and sorted, as integer keys, descending — the values `tail_es` would
            // sort them into. Fewer than that: all of them, with the floor of `usable`.
            Store::Plain(t) => {
                let usable = t.usable(self.offered);
                let lowest = levels.iter().copied().fold(1.0f64, f64::min);
                let depth = ((paths as f64 * (1.0 - lowest)).ceil() as usize).saturating_add(2);
                if usable > depth {
                    let top = t.top_keys_sorted(depth);
                    (top.into_iter().map(|k| (from_key(k), 1.0)).collect(), 0.0)
                } else {
                    self.usable()
                }
            }
            Store::Weighted(_) => self.usable(),
        };
        levels
            .iter()
            .map(|&a| crate::contributions::tail_es(&mut entries, paths, a, floor))
            .collect()
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        match &self.tail {
            Store::Plain(t) => t.memory_bytes(),
            Store::Weighted(t) => t.memory_bytes(),
        }
    }

    /// Writes the tail as a self-checking stream: capacity, weighting, the count offered and
    /// the usable entries, largest first. The bytes depend only on the content.
    ///
    /// # Errors
    ///
    /// Those of `w`.
    pub fn write_to<W: Write>(&self, w: &mut W) -> io::Result<()> {
        let mut e = Encoder::new(w, OWN_TAG, OWN_FORMAT);
        e.u8(if self.is_weighted() { FLAG_WEIGHTED } else { 0 })?;
        e.u64(self.capacity() as u64)?;
        e.u64(self.offered)?;
        match &self.tail {
            Store::Plain(t) => t.encode(self.offered, &mut e)?,
            Store::Weighted(t) => t.encode(self.offered, &mut e)?,
        }
        e.finish()
    }

    /// Reads a tail written by [`write_to`](Self::write_to), consuming exactly its bytes.
    /// Merging it gives the same bits as merging the tail written.
    ///
    /// # Errors
    ///
    /// [`ReportError::Corrupt`] if the stream ends early, is not an `OwnTail` stream of this
    /// format, fails its checksum or holds inconsistent entries (not positive, out of order,
    /// a count that does not fit the capacity); [`ReportError::Read`] if reading fails.
    pub fn read_from<R: Read>(r: &mut R) -> Result<Self, ReportError> {
        let mut d = Decoder::new(r, "OwnTail", OWN_TAG, OWN_FORMAT)?;
        let flags = d.u8("the flags")?;
        if flags & !FLAG_WEIGHTED != 0 {
            return Err(d.corrupt(format!("unknown flags {flags:#04x}")));
        }
        let m = d.u64("the capacity")?;
        let capacity = match usize::try_from(m) {
            Ok(m) if (1..=usize::MAX / 4).contains(&m) => m,
            _ => return Err(d.corrupt(format!("invalid capacity {m}"))),
        };
        let offered = d.u64("the number of values")?;
        if offered > 1 << 53 {
            return Err(d.corrupt(format!("{offered} values")));
        }
        let tail = if flags & FLAG_WEIGHTED != 0 {
            let mut t: TopM<WeightedEntry> = TopM::decode(&mut d, capacity, offered)?;
            t.sparse = true;
            Store::Weighted(t)
        } else {
            let mut t: TopM<KeyEntry> = TopM::decode(&mut d, capacity, offered)?;
            t.sparse = true;
            Store::Plain(t)
        };
        d.finish()?;
        let own = OwnTail { tail, offered };
        let positive = match &own.tail {
            Store::Plain(t) => t.key_weights().all(|(k, _)| from_key(k) > 0.0),
            Store::Weighted(t) => t.key_weights().all(|(k, _)| from_key(k) > 0.0),
        };
        if !positive {
            return Err(ReportError::Corrupt {
                what: "OwnTail: a kept value is not positive".into(),
            });
        }
        Ok(own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sparse quantity of `n` paths: positive (a lattice value, so that ties occur) on about
    /// a fifth of them, with weights when `weighted`.
    fn sample(n: u64, weighted: bool) -> Vec<(u64, f64, f64)> {
        let mut s = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        (0..n)
            .map(|p| {
                let r = next();
                let v = if r % 5 == 0 {
                    ((r >> 8) % 40) as f64 * 0.25
                } else {
                    0.0
                };
                let w = if weighted {
                    0.5 + ((r >> 20) % 100) as f64 / 100.0
                } else {
                    1.0
                };
                (p, v, w)
            })
            .collect()
    }

    fn tail_of(values: &[(u64, f64, f64)], m: usize, weighted: bool) -> OwnTail {
        let mut t = OwnTail::new(m, weighted);
        for &(p, v, w) in values {
            t.offer(p, v, w);
        }
        t
    }

    #[test]
    fn es_is_the_es_of_every_path_and_merges_and_codec_keep_the_bits() {
        let levels = [0.9, 0.95, 0.99];
        for weighted in [false, true] {
            let n = 20_000;
            let values = sample(n, weighted);
            // Reference: every path's value, zeros included.
            let mut all: Vec<(f64, f64)> = values.iter().map(|&(_, v, w)| (v, w)).collect();
            for m in [n as usize, levels_need(n, &levels, weighted) as usize] {
                let whole = tail_of(&values, m, weighted);
                for &a in &levels {
                    let want = crate::tail_es(&mut all, n, a, f64::NEG_INFINITY).unwrap();
                    let got = whole.es(n, a).expect("the level's tail is kept");
                    assert!(
                        (got - want).abs() <= 1e-12 * want.abs(),
                        "{a}: {got} vs {want}"
                    );
                }
                // Any split of the paths, merged in any order, gives the same bits.
                let mut parts: Vec<OwnTail> = values
                    .chunks(1_234)
                    .map(|c| tail_of(c, m, weighted))
                    .collect();
                parts.reverse();
                let mut merged = OwnTail::new(m, weighted);
                for p in &parts {
                    merged.merge(p);
                }
                let bytes = |t: &OwnTail| {
                    let mut b = Vec::new();
                    t.write_to(&mut b).unwrap();
                    b
                };
                assert_eq!(bytes(&merged), bytes(&whole));
                let read = OwnTail::read_from(&mut bytes(&whole).as_slice()).unwrap();
                assert_eq!(bytes(&read), bytes(&whole));
                for &a in &levels {
                    assert_eq!(
                        merged.es(n, a).map(f64::to_bits),
                        whole.es(n, a).map(f64::to_bits)
                    );
                    assert_eq!(
                        read.es(n, a).map(f64::to_bits),
                        whole.es(n, a).map(f64::to_bits)
                    );
                }
            }
        }
    }

    #[test]
    fn a_level_beyond_the_capacity_has_no_es() {
        let n = 20_000;
        let values = sample(n, false);
        // Room for the 0.99 tail (200 paths) and more, not for the 0.9 tail (2,000 paths).
        let t = tail_of(&values, 600, false);
        assert!(t.es(n, 0.99).is_some());
        assert!(t.es(n, 0.9).is_none());
        // A quantity positive on fewer paths than the tail: VaR 0, ES its mean over the tail.
        let mut few = OwnTail::new(10, false);
        few.offer(3, 2.0, 1.0);
        few.offer(9, 4.0, 1.0);
        assert_eq!(few.es(1000, 0.99), Some(0.6));
        assert_eq!(OwnTail::new(10, false).es(1000, 0.99), Some(0.0));
    }

    #[test]
    fn corrupt_streams_are_refused() {
        let t = tail_of(&sample(500, true), 50, true);
        let mut b = Vec::new();
        t.write_to(&mut b).unwrap();
        for at in [0, 5, b.len() / 2, b.len() - 1] {
            let mut bad = b.clone();
            bad[at] ^= 0x40;
            assert!(
                OwnTail::read_from(&mut bad.as_slice()).is_err(),
                "byte {at}"
            );
        }
        assert!(OwnTail::read_from(&mut &b[..b.len() - 3]).is_err());
    }
}

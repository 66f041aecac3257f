//! Equal-width histograms of a loss column, with density, CDF and exceedance per bin.

use serde::Serialize;

use crate::exact::{from_fixed, from_key, total_key};

/// One histogram bin; see [`histogram`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    /// Lower edge (inclusive).
    pub lo: f64,
    /// Upper edge (exclusive, except for the last bin, which includes the maximum).
    pub hi: f64,
    /// Number of values (paths) in the bin.
    pub count: u64,
    /// Density estimate `count / (n · (hi − lo))`; 0 for a zero-width bin (or one too narrow
    /// for its density to be a float). With likelihood-ratio weights (see
    /// [`MetricAccumulator::histogram`](crate::MetricAccumulator::histogram)), the bin's weight
    /// Σw replaces `count` and the total Σw replaces n, here and in `cdf` and `exceedance`.
    pub pdf: f64,
    /// Share of values below `hi` (for the last bin: all of them, so 1).
    pub cdf: f64,
    /// Share of values at or above `hi`, i.e. 1 − `cdf` (exactly 0 for the last bin).
    pub exceedance: f64,
}

/// Equal-width histogram of `losses` with `bins` bins spanning their minimum to their maximum.
///
/// Bin i covers [lo, hi) with lo = min + i·w, w = (max − min)/bins, except that the last bin ends
/// exactly at max and includes it. Membership is decided against these same edges (not only by
/// the rounded quotient (x − min)/w), so every value lies within the edges of its bin as written.
/// n is the number of finite values: non-finite values are skipped, as they have no place on a
/// finite axis. `pdf` = count/(n·(hi − lo)), `cdf` = (values in this and earlier bins)/n,
/// `exceedance` = (values in later bins)/n.
///
/// Special cases: no finite values gives no bins; if all values are equal (min = max) there is a
/// single bin [min, max] holding all of them, with `pdf` 0 (a point mass has no finite density)
/// and `cdf` 1; so there is when the bins would be narrower than the smallest normal float
/// (`f64::MIN_POSITIVE`, about 2.2e-308), where densities overflow. If the range is so small
/// relative to the values that rounding makes two edges coincide, that bin is empty with `pdf`
/// 0. A `pdf` that is not a finite float is written as 0.
///
/// Runs in O(n + bins).
///
/// # Panics
///
/// If `bins` is 0.
pub fn histogram(losses: &[f64], bins: usize) -> Vec<Bin> {
    assert!(bins > 0, "a histogram needs at least one bin");
    let Some((min, max, n)) = finite_range(losses.iter().copied()) else {
        return Vec::new();
    };
    let binner = Binner::new(min, max, bins);
    let (counts, counted) = binner.count(losses.iter().copied());
    debug_assert_eq!(counted, n);
    binner.finish(&counts, None, n)
}

/// Smallest and largest finite value (by [`f64::total_cmp`], so the result does not depend on
/// the order of the values even with both signed zeros) and the number of finite values; `None`
/// without finite values.
pub(crate) fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64, u64)> {
    let (mut min, mut max, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0u64);
    for x in values.filter(|x| x.is_finite()) {
        if x.total_cmp(&min).is_lt() {
            min = x;
        }
        if x.total_cmp(&max).is_gt() {
            max = x;
        }
        n += 1;
    }
    (n > 0).then_some((min, max, n))
}

/// Counts per bin in four interleaved lanes (value j to lane j mod 4), so that a run of values
/// in one bin does not wait on one counter.
struct Lanes(Vec<u64>);

impl Lanes {
    const N: usize = 4;

    fn new(bins: usize) -> Self {
        Lanes(vec![0; Self::N * bins])
    }

    #[inline(always)]
    fn add(&mut self, j: usize, bin: usize) {
        self.0[bin * Self::N + (j & (Self::N - 1))] += 1;
    }

    fn add_n(&mut self, bin: usize, n: u64) {
        self.0[bin * Self::N] += n;
    }

    /// The counts per bin.
    fn sum(&self) -> Vec<u64> {
        self.0
            .chunks_exact(Self::N)
            .map(|c| c.iter().sum())
            .collect()
    }
}

/// The equal-width bins of [`histogram`] over [min, max], and the placement of a value in them.
pub(crate) struct Binner {
    edges: Vec<f64>,
    min: f64,
    inv_width: f64,
}

impl Binner {
    /// `bins` bins over [min, max] (one bin [min, max] when they are equal, or when the bins
    /// would be narrower than the smallest normal float).
    pub(crate) fn new(min: f64, max: f64, bins: usize) -> Self {
        assert!(bins > 0, "a histogram needs at least one bin");
        let width = (max - min) / bins as f64;
        // NaN (a non-finite range) counts as too narrow.
        if min == max || width.is_nan() || width < f64::MIN_POSITIVE {
            return Binner {
                edges: vec![min, max],
                min,
                inv_width: 0.0,
            };
        }
        // Capped at max so rounding cannot make the last bin's lower edge exceed its upper one.
        let edge = |i: usize| {
            if i == bins {
                max
            } else {
                (min + width * i as f64).min(max)
            }
        };
        Binner {
            edges: (0..=bins).map(edge).collect(),
            min,
            inv_width: 1.0 / width,
        }
    }

    /// Number of bins.
    pub(crate) fn len(&self) -> usize {
        self.edges.len() - 1
    }

    /// The number of finite `values` in each bin ([`index`](Self::index)), and of finite values
    /// in all. Counted in four interleaved lanes (value j to lane j mod 4), so that a run of
    /// values in one bin — the zeros of a sparse metric — does not wait on one counter.
    pub(crate) fn count(&self, values: impl Iterator<Item = f64>) -> (Vec<u64>, u64) {
        let mut lanes = Lanes::new(self.len());
        for (j, x) in values.enumerate() {
            if x.is_finite() {
                lanes.add(j, self.index(x));
            }
        }
        let counts = lanes.sum();
        let n = counts.iter().sum();
        (counts, n)
    }

    /// [`count`](Self::count) of the values of total-order keys `keys` (see [`total_key`]),
    /// every finite one within [min, max] (the finite extremes the binner was made from);
    /// NaNs are not counted.
    /// Zeros, when a quarter of the keys or more, are counted apart (one comparison each) and
    /// the other keys packed without a branch before they are placed; each key is placed by
    /// [`place`](Self::place), branch-free.
    pub(crate) fn count_keys(&self, keys: &[i64]) -> (Vec<u64>, u64) {
        let zero = total_key(0);
        let zeros = keys.iter().map(|&k| u64::from(k == zero)).sum::<u64>();
        let mut lanes = Lanes::new(self.len());
        if zeros == 0 || zeros < keys.len() as u64 / 4 {
            for (j, &k) in keys.iter().enumerate() {
                let x = from_key(k);
                if x.is_finite() {
                    lanes.add(j, self.place(x));
                }
            }
        } else {
            // The non-zero keys, a block at a time: written at `n`, which moves on past a
            // non-zero key only.
            const BLOCK: usize = 512;
            let mut packed = [0i64; BLOCK];
            for block in keys.chunks(BLOCK) {
                let mut n = 0;
                for &k in block {
                    packed[n] = k;
                    n += usize::from(k != zero);
                }
                for (j, &k) in packed[..n].iter().enumerate() {
                    let x = from_key(k);
                    if x.is_finite() {
                        lanes.add(j, self.place(x));
                    }
                }
            }
            lanes.add_n(self.place(0.0), zeros);
        }
        let counts = lanes.sum();
        let n = counts.iter().sum();
        (counts, n)
    }

    /// [`index`](Self::index) of a finite `x` within [min, max], with one correction each way
    /// made without a branch; the rare quotient that is off by more (checked against the
    /// edges) settles by `index`'s loops.
    #[inline(always)]
    fn place(&self, x: f64) -> usize {
        let last = self.len() - 1;
        if last == 0 {
            return 0;
        }
        let mut i = (((x - self.min) * self.inv_width) as i64).clamp(0, last as i64) as usize;
        // x ≥ min = edges[0], so at i = 0 the first step does not move.
        i -= usize::from(x < self.edges[i]);
        i += usize::from(i < last && x >= self.edges[i + 1]);
        if x < self.edges[i] || (i < last && x >= self.edges[i + 1]) {
            return self.index(x);
        }
        i
    }

    /// The bin of a finite value in [min, max] (values outside go to the first or last bin).
    #[inline]
    pub(crate) fn index(&self, x: f64) -> usize {
        let bins = self.len();
        if bins == 1 {
            return 0;
        }
        // The signed conversion is one instruction (the unsigned one several); the quotient is
        // ≥ 0 for x ≥ min, and a negative one (x outside [min, max]) clamps to 0.
        let mut i = (((x - self.min) * self.inv_width) as i64).clamp(0, bins as i64 - 1) as usize;
        // The quotient can be off by one near an edge; settle against the edges themselves.
        while i > 0 && x < self.edges[i] {
            i -= 1;
        }
        while i + 1 < bins && x >= self.edges[i + 1] {
            i += 1;
        }
        i
    }

    /// The bins from their path counts and, for weighted data, their fixed-point weights
    /// (units of 2⁻⁶⁴); `n` is the number of paths (finite values).
    pub(crate) fn finish(&self, counts: &[u64], weights: Option<&[u128]>, n: u64) -> Vec<Bin> {
        let nf = n as f64;
        // A point mass, or a bin too narrow for its density to be a float, has pdf 0.
        let density = |mass: f64, total: f64, lo: f64, hi: f64| {
            let d = mass / (total * (hi - lo));
            if hi > lo && d.is_finite() { d } else { 0.0 }
        };
        match weights {
            None => {
                let mut below = 0u64;
                counts
                    .iter()
                    .enumerate()
                    .map(|(i, &count)| {
                        let (lo, hi) = (self.edges[i], self.edges[i + 1]);
                        below += count;
                        Bin {
                            lo,
                            hi,
                            count,
                            pdf: density(count as f64, nf, lo, hi),
                            cdf: below as f64 / nf,
                            // From counts rather than 1 − cdf, which would lose digits in the
                            // far tail.
                            exceedance: (n - below) as f64 / nf,
                        }
                    })
                    .collect()
            }
            Some(weights) => {
                let total: u128 = weights.iter().fold(0, |a, &w| a.saturating_add(w));
                // Self-normalized by Σw: a distribution whatever Σw/n.
                let total_w = from_fixed(total).max(f64::MIN_POSITIVE);
                let mut below = 0u128;
                counts
                    .iter()
                    .zip(weights)
                    .enumerate()
                    .map(|(i, (&count, &w))| {
                        let (lo, hi) = (self.edges[i], self.edges[i + 1]);
                        below = below.saturating_add(w);
                        Bin {
                            lo,
                            hi,
                            count,
                            pdf: density(from_fixed(w), total_w, lo, hi),
                            cdf: from_fixed(below) / total_w,
                            exceedance: from_fixed(total - below) / total_w,
                        }
                    })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_values_fall_in_their_bins() {
        let v: Vec<f64> = (0..=10).map(f64::from).collect();
        let h = histogram(&v, 10);
        assert_eq!(h.len(), 10);
        for (i, b) in h.iter().enumerate() {
            assert_eq!((b.lo, b.hi), (i as f64, i as f64 + 1.0));
            // The last bin includes the maximum.
            assert_eq!(b.count, if i == 9 { 2 } else { 1 });
            assert!((b.pdf - b.count as f64 / 11.0).abs() < 1e-15);
        }
        assert_eq!(h[4].cdf, 5.0 / 11.0);
        assert_eq!(h[4].exceedance, 6.0 / 11.0);
    }

    #[test]
    fn counts_sum_to_n_and_cdf_ends_at_one() {
        // Values on awkward decimal edges, and a bin count that does not divide the range.
        let v: Vec<f64> = (0..10_000).map(|i| (i % 1000) as f64 * 0.1 - 3.3).collect();
        for bins in [1, 3, 7, 50, 999] {
            let h = histogram(&v, bins);
            assert_eq!(h.len(), bins);
            assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), v.len() as u64);
            let last = h.last().unwrap();
            assert_eq!((last.cdf, last.exceedance), (1.0, 0.0));
            assert_eq!(h[0].lo, -3.3);
            assert_eq!(last.hi, v.iter().copied().fold(f64::MIN, f64::max));
            // Each value is within the edges of the bin that counted it.
            let mut recount = vec![0u64; bins];
            for &x in &v {
                let i = h
                    .iter()
                    .position(|b| b.lo <= x && x < b.hi)
                    .unwrap_or(bins - 1);
                recount[i] += 1;
            }
            assert_eq!(
                recount,
                h.iter().map(|b| b.count).collect::<Vec<_>>(),
                "bins = {bins}"
            );
            // The density integrates to one.
            let mass: f64 = h.iter().map(|b| b.pdf * (b.hi - b.lo)).sum();
            assert!((mass - 1.0).abs() < 1e-9, "{mass}");
            assert!(
                h.windows(2)
                    .all(|w| w[0].cdf <= w[1].cdf && w[0].hi == w[1].lo)
            );
        }
    }

    /// The branch-free placement of keys counts every value in the bin [`Binner::index`]
    /// finds, for values on and one ulp either side of every edge, on ranges whose quotient
    /// rounds badly, with zeros from none to most of the values (packed apart from a quarter)
    /// and two NaNs (not counted).
    #[test]
    fn keys_are_counted_in_the_bins_index_finds() {
        use rand::seq::SliceRandom;
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(20_261_206);
        for (min, max, bins) in [
            (0.0, 1.0, 10),
            (-3.3, 96.6, 7),
            (0.0, 0.0617, 100),
            (-1e-300, 1e-300, 999),
            (0.1, 0.7, 3),
            (2.0, 2.0, 5),
        ] {
            let binner = Binner::new(min, max, bins);
            let mut values = vec![min, max];
            for &e in &binner.edges {
                for x in [e.next_down(), e, e.next_up()] {
                    if (min..=max).contains(&x) {
                        values.push(x);
                    }
                }
            }
            for _ in 0..2_000 {
                values.push(min + (max - min) * rng.random::<f64>());
            }
            for zero_share in [0.0, 0.2, 0.3, 0.9, 0.999] {
                let mut v = values.clone();
                v.extend([f64::NAN, -f64::NAN]);
                if (min..=max).contains(&0.0) {
                    let zeros = (zero_share * v.len() as f64 / (1.0 - zero_share)) as usize;
                    v.extend(std::iter::repeat_n(0.0, zeros));
                    v.shuffle(&mut rng);
                }
                let keys: Vec<i64> = v.iter().map(|x| total_key(x.to_bits())).collect();
                let mut expected = vec![0u64; binner.len()];
                for &x in v.iter().filter(|x| x.is_finite()) {
                    expected[binner.index(x)] += 1;
                }
                let (counts, n) = binner.count_keys(&keys);
                assert_eq!(
                    counts, expected,
                    "[{min}, {max}] in {bins}, zeros {zero_share}"
                );
                assert_eq!(n, v.len() as u64 - 2, "NaNs are not counted");
            }
        }
    }

    #[test]
    fn constant_input_is_one_bin() {
        let h = histogram(&[0.25; 17], 20);
        assert_eq!(
            h,
            vec![Bin {
                lo: 0.25,
                hi: 0.25,
                count: 17,
                pdf: 0.0,
                cdf: 1.0,
                exceedance: 0.0
            }]
        );
    }

    #[test]
    fn empty_and_non_finite_input() {
        assert!(histogram(&[], 10).is_empty());
        assert!(histogram(&[f64::NAN], 10).is_empty());
        let h = histogram(&[0.0, f64::NAN, 1.0, f64::INFINITY], 2);
        assert_eq!(h.iter().map(|b| b.count).collect::<Vec<_>>(), [1, 1]);
        assert_eq!(h[0].cdf, 0.5);
    }
}

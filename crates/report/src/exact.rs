//! Exact and nearly exact floating-point arithmetic: a superaccumulator (the exact sum of any
//! number of `f64`s), compensated chunk sums, double-double helpers and the fixed-point weights
//! of the histograms.
//!
//! Everything here exists so that merging accumulators is *exactly* associative and
//! commutative: integers (limbs, counts, fixed-point weights) add exactly, and the result is
//! rounded to `f64` only once, from a canonical form.

use std::fmt;
use std::io::{self, Read, Write};

use crate::codec::{Decoder, Encoder, le_i64, le_u32};
use crate::error::ReportError;

/// Number of 32-bit limbs: bit 0 of limb 0 is 2⁻¹⁰⁷⁴ (the smallest subnormal), a finite `f64`
/// reaches bit 2097 (limb 65), and the four limbs above leave 2¹²⁸ of headroom for carries.
const LIMBS: usize = 70;
/// Carry-normalise once this many values have been added since the last normalisation: every
/// limb then stays below 2³⁰ · 2³² = 2⁶² in absolute value, also across a merge of two
/// accumulators.
const NORMALIZE_AT: u32 = 1 << 29;

const SPECIAL_NAN: u8 = 1;
const SPECIAL_POS_INF: u8 = 2;
const SPECIAL_NEG_INF: u8 = 4;

/// The exact sum of `f64` values (a "superaccumulator").
///
/// The sum is held as Σ limbᵢ · 2^(32·i − 1074) with signed 64-bit limbs, so every finite `f64`
/// (an integer below 2⁵³ times a power of two between 2⁻¹⁰⁷⁴ and 2⁹⁷¹) adds into at most three
/// limbs without rounding. Limbs are carry-normalised (each brought back to [0, 2³²), the sign
/// in the top limb) every 2²⁹ additions and before rounding, so the rounded result depends only
/// on the exact sum — never on the order of the additions or on how accumulators were merged.
/// Infinities and NaNs are tracked apart and give the IEEE result (NaN, or ±∞).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SuperAcc {
    limbs: [i64; LIMBS],
    pending: u32,
    special: u8,
}

impl Default for SuperAcc {
    fn default() -> Self {
        SuperAcc {
            limbs: [0; LIMBS],
            pending: 0,
            special: 0,
        }
    }
}

impl fmt::Debug for SuperAcc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SuperAcc({:e})", self.to_f64())
    }
}

impl SuperAcc {
    /// Adds `x` exactly.
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        if x == 0.0 {
            return;
        }
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as u32;
        if exp == 0x7ff {
            self.special |= if x.is_nan() {
                SPECIAL_NAN
            } else if x > 0.0 {
                SPECIAL_POS_INF
            } else {
                SPECIAL_NEG_INF
            };
            return;
        }
        let mut mant = bits & ((1u64 << 52) - 1);
        // x = mant · 2^(max(exp, 1) − 1075); bit 0 of limb 0 is 2^−1074.
        let pos = if exp == 0 {
            0
        } else {
            mant |= 1 << 52;
            exp - 1
        };
        let (limb, shift) = ((pos / 32) as usize, pos % 32);
        let v = u128::from(mant) << shift;
        let pieces = [
            (v & 0xffff_ffff) as i64,
            ((v >> 32) & 0xffff_ffff) as i64,
            (v >> 64) as i64,
        ];
        if bits >> 63 == 0 {
            for (l, p) in self.limbs[limb..limb + 3].iter_mut().zip(pieces) {
                *l += p;
            }
        } else {
            for (l, p) in self.limbs[limb..limb + 3].iter_mut().zip(pieces) {
                *l -= p;
            }
        }
        self.pending += 1;
        if self.pending >= NORMALIZE_AT {
            self.normalize();
        }
    }

    /// Adds both parts of a compensated sum.
    #[inline]
    pub(crate) fn add_dd(&mut self, s: CompSum) {
        self.add(s.hi);
        // A non-finite running sum leaves a NaN compensation behind: the sum alone is the
        // IEEE answer then.
        if s.hi.is_finite() {
            self.add(s.lo);
        }
    }

    /// Adds another accumulator exactly.
    pub(crate) fn merge(&mut self, other: &SuperAcc) {
        for (a, b) in self.limbs.iter_mut().zip(&other.limbs) {
            *a += b;
        }
        self.special |= other.special;
        self.pending += other.pending.max(1);
        if self.pending >= NORMALIZE_AT {
            self.normalize();
        }
    }

    /// Brings every limb but the top one to [0, 2³²); the top one keeps the sign.
    fn normalize(&mut self) {
        let mut carry = 0i64;
        for l in &mut self.limbs[..LIMBS - 1] {
            let v = *l + carry;
            *l = v & 0xffff_ffff;
            carry = v >> 32;
        }
        self.limbs[LIMBS - 1] += carry;
        self.pending = 1;
    }

    /// The exact sum, correctly rounded to the nearest `f64` (ties to even); ±∞ beyond the
    /// `f64` range, and the IEEE result when infinities or NaNs were added.
    pub(crate) fn to_f64(&self) -> f64 {
        if self.special != 0 {
            let s = self.special;
            return if s & SPECIAL_NAN != 0 || s & (SPECIAL_POS_INF | SPECIAL_NEG_INF) == 6 {
                f64::NAN
            } else if s & SPECIAL_POS_INF != 0 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
        }
        let mut c = self.clone();
        c.normalize();
        let negative = c.limbs[LIMBS - 1] < 0;
        if negative {
            for l in &mut c.limbs {
                *l = -*l;
            }
            c.normalize();
        }
        let Some(h) = c.limbs.iter().rposition(|&l| l != 0) else {
            return 0.0;
        };
        let lo = h.saturating_sub(2);
        let mut m: u128 = 0;
        for i in (lo..=h).rev() {
            m = (m << 32) | c.limbs[i] as u128;
        }
        let sticky = c.limbs[..lo].iter().any(|&l| l != 0);
        let magnitude = round_to_f64(m, sticky, 32 * lo as i32 - 1074);
        if negative { -magnitude } else { magnitude }
    }

    /// Bytes of [`encode`](Self::encode)'s output.
    const ENCODED_BYTES: usize = 1 + 4 * (LIMBS - 1) + 8;

    /// Writes the sum in its canonical, carry-normalised form: the special flags (`u8`), the
    /// limbs below the top one (each in [0, 2³²), as `u32`) and the top limb (`i64`, with the
    /// sign). Equal sums give equal bytes, whatever way they were accumulated.
    pub(crate) fn encode<W: Write + ?Sized>(&self, e: &mut Encoder<'_, W>) -> io::Result<()> {
        let mut c = self.clone();
        c.normalize();
        let mut b = [0u8; Self::ENCODED_BYTES];
        b[0] = c.special;
        for (i, &l) in c.limbs[..LIMBS - 1].iter().enumerate() {
            b[1 + 4 * i..5 + 4 * i].copy_from_slice(&(l as u32).to_le_bytes());
        }
        b[Self::ENCODED_BYTES - 8..].copy_from_slice(&c.limbs[LIMBS - 1].to_le_bytes());
        e.bytes(&b)
    }

    /// Reads what [`encode`](Self::encode) wrote. The top limb must lie in [−2³¹, 2³¹) (a sum of
    /// 2⁶⁴ finite `f64`s needs 0 or −1 there), so later additions and merges cannot overflow.
    pub(crate) fn decode<R: Read + ?Sized>(
        d: &mut Decoder<'_, R>,
        field: &str,
    ) -> Result<Self, ReportError> {
        let mut b = [0u8; Self::ENCODED_BYTES];
        d.fill(&mut b, field)?;
        let special = b[0];
        if special > SPECIAL_NAN | SPECIAL_POS_INF | SPECIAL_NEG_INF {
            return Err(d.corrupt(format!("{field}: invalid special flags {special}")));
        }
        let mut limbs = [0i64; LIMBS];
        for (i, l) in limbs[..LIMBS - 1].iter_mut().enumerate() {
            *l = i64::from(le_u32(&b, 1 + 4 * i));
        }
        let top = le_i64(&b, Self::ENCODED_BYTES - 8);
        if !(-(1i64 << 31)..(1i64 << 31)).contains(&top) {
            return Err(d.corrupt(format!("{field}: top limb {top} out of range")));
        }
        limbs[LIMBS - 1] = top;
        Ok(SuperAcc {
            limbs,
            pending: 1,
            special,
        })
    }

    /// The exact sum as an unevaluated pair hi + lo: hi correctly rounded, lo the correctly
    /// rounded remainder.
    pub(crate) fn to_dd(&self) -> (f64, f64) {
        let hi = self.to_f64();
        if !hi.is_finite() {
            return (hi, 0.0);
        }
        let mut rest = self.clone();
        rest.add(-hi);
        (hi, rest.to_f64())
    }
}

/// m · 2^e (m < 2⁹⁶, plus a sticky bit for non-zero bits below m) correctly rounded to an `f64`,
/// ties to even. e ≥ −1074, and m · 2^e is a multiple of 2⁻¹⁰⁷⁴, so subnormal results are exact.
fn round_to_f64(m: u128, sticky: bool, e: i32) -> f64 {
    debug_assert!(m != 0);
    let bitlen = 128 - m.leading_zeros() as i32;
    let (mut mant, mut e) = if bitlen > 53 {
        let shift = bitlen - 53;
        let mant = (m >> shift) as u64;
        let rem = m & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        let up = rem > half || (rem == half && (sticky || mant & 1 == 1));
        (mant + u64::from(up), e + shift)
    } else {
        // Only reachable with no bits below m (the top limbs hold everything), so exact.
        (m as u64, e)
    };
    if mant == 1 << 53 {
        mant >>= 1;
        e += 1;
    }
    compose(mant, e)
}

/// The `f64` mant · 2^e for mant < 2⁵³, exactly representable unless it overflows (then ∞).
fn compose(mant: u64, e: i32) -> f64 {
    if mant == 0 {
        return 0.0;
    }
    let lz = mant.leading_zeros() as i32 - 11;
    let (m, e) = (mant << lz, e - lz); // m in [2⁵², 2⁵³)
    let unbiased = e + 52;
    if unbiased > 1023 {
        f64::INFINITY
    } else if unbiased >= -1022 {
        f64::from_bits(((unbiased + 1023) as u64) << 52 | (m & ((1 << 52) - 1)))
    } else {
        // Subnormal: exact because the value is a multiple of 2^−1074.
        let shift = -1074 - e;
        debug_assert!(shift > 0 && m & ((1 << shift) - 1) == 0);
        f64::from_bits(m >> shift)
    }
}

/// A compensated (Kahan–Babuška–Neumaier) running sum: `hi + lo` carries about twice the
/// precision of `f64`. Used for a chunk's partial sums, which are then added exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct CompSum {
    /// The running sum.
    pub(crate) hi: f64,
    /// The accumulated rounding errors.
    pub(crate) lo: f64,
}

impl CompSum {
    /// Adds `x`: the rounding error of `hi + x` goes to `lo` (TwoSum).
    #[inline(always)]
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.hi + x;
        let bp = t - self.hi;
        self.lo += (self.hi - (t - bp)) + (x - bp);
        self.hi = t;
    }

    /// Adds x² exactly up to the compensation: the rounded square to the sum, its exact
    /// rounding error to `lo`.
    #[inline(always)]
    pub(crate) fn add_square(&mut self, x: f64) {
        let (p, e) = square(x);
        self.add(p);
        self.lo += e;
    }

    /// hi + lo as one `f64`.
    pub(crate) fn value(self) -> f64 {
        self.hi + self.lo
    }
}

/// x² as p + e with p = fl(x²) and e its exact rounding error (Dekker's product with Veltkamp
/// splitting: plain IEEE operations, so the same bits on every machine, and no slow software
/// `fma` where the CPU has none). Exact while x² neither overflows nor underflows
/// (1e-146 < |x| < 1e154); beyond, e is inexact (it underflows) or p is infinite anyway.
#[inline(always)]
pub(crate) fn square(x: f64) -> (f64, f64) {
    let p = x * x;
    let c = 134_217_729.0 * x; // 2²⁷ + 1
    let hi = c - (c - x);
    let lo = x - hi;
    (p, ((hi * hi - p) + 2.0 * hi * lo) + lo * lo)
}

/// Lanes of [`Lanes`]: independent running sums, so that the processor can overlap them (and
/// vectorize them); value i of a chunk always goes to lane i mod `LANES`.
pub(crate) const LANES: usize = 4;

/// `LANES` interleaved compensated sums: a chunk's partial sum with twice the precision of
/// `f64`, at the speed of independent additions. Deterministic: the result depends only on the
/// values and their order in the chunk.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Lanes {
    hi: [f64; LANES],
    lo: [f64; LANES],
}

impl Lanes {
    /// Adds x to lane i (TwoSum).
    #[inline(always)]
    pub(crate) fn add(&mut self, i: usize, x: f64) {
        let h = self.hi[i];
        let t = h + x;
        let bp = t - h;
        self.lo[i] += (h - (t - bp)) + (x - bp);
        self.hi[i] = t;
    }

    /// Adds x² to lane i: the rounded square to the sum, its exact error to the compensation.
    #[inline(always)]
    pub(crate) fn add_square(&mut self, i: usize, x: f64) {
        let (p, e) = square(x);
        self.add(i, p);
        self.lo[i] += e;
    }

    /// The lanes combined, in lane order, into one compensated sum.
    pub(crate) fn finish(&self) -> CompSum {
        let mut c = CompSum::default();
        for i in 0..LANES {
            c.add(self.hi[i]);
        }
        for i in 0..LANES {
            c.lo += self.lo[i];
        }
        c
    }
}

/// Double-double (hi, lo) arithmetic for the final moments; exact error terms with `mul_add`.
pub(crate) mod dd {
    /// a + b as (s, e) with s = fl(a + b) and e the exact error.
    fn two_sum(a: f64, b: f64) -> (f64, f64) {
        let s = a + b;
        let bp = s - a;
        (s, (a - (s - bp)) + (b - bp))
    }

    /// (hi, lo) renormalised.
    fn renorm(hi: f64, lo: f64) -> (f64, f64) {
        two_sum(hi, lo)
    }

    /// x + y.
    pub(crate) fn add(x: (f64, f64), y: (f64, f64)) -> (f64, f64) {
        let (s, e) = two_sum(x.0, y.0);
        renorm(s, e + x.1 + y.1)
    }

    /// −x.
    pub(crate) fn neg(x: (f64, f64)) -> (f64, f64) {
        (-x.0, -x.1)
    }

    /// x · y.
    pub(crate) fn mul(x: (f64, f64), y: (f64, f64)) -> (f64, f64) {
        let p = x.0 * y.0;
        let e = x.0.mul_add(y.0, -p);
        renorm(p, e + x.0 * y.1 + x.1 * y.0)
    }

    /// x / d.
    pub(crate) fn div(x: (f64, f64), d: f64) -> (f64, f64) {
        let q1 = x.0 / d;
        let p = q1 * d;
        let e = q1.mul_add(d, -p);
        let r = ((x.0 - p) - e) + x.1;
        renorm(q1, r / d)
    }
}

/// Units of the fixed-point weights: a weight w is stored as round(w · 2⁶⁴).
pub(crate) const FIXED_SCALE: f64 = 18_446_744_073_709_551_616.0; // 2⁶⁴

/// round(x · 2⁶⁴) for finite x ≥ 0, ties to even, saturating at `u128::MAX` (x ≥ 2⁶⁴, +∞,
/// NaN); 0 for x < 2⁻⁶⁵ and for negative x.
///
/// Every weight is rounded once, here; sums of the results are exact integers, hence
/// independent of the order of addition.
#[inline]
pub(crate) fn to_fixed(x: f64) -> u128 {
    let bits = x.to_bits();
    // With the sign bit in `e`, negative values take the out-of-range branch.
    let e = (bits >> 52) as i64;
    let m = (bits & ((1u64 << 52) - 1)) | (1 << 52);
    // x = m · 2^(e − 1075) for normal x, so x · 2⁶⁴ = m · 2^s.
    let s = e - 1011;
    if (0..=75).contains(&s) {
        u128::from(m) << s
    } else if (-53..0).contains(&s) {
        // Shift right by −s with rounding: m · 2^(s + 64) holds the result above bit 64.
        let v = u128::from(m) << (s + 64);
        let (q, rem) = ((v >> 64) as u64, v as u64);
        let half = 1u64 << 63;
        let up = rem > half || (rem == half && q & 1 == 1);
        u128::from(q + u64::from(up))
    } else if s < 0 || bits >> 63 != 0 {
        // Below 2⁻⁶⁵ (subnormals and zero included), or negative.
        0
    } else {
        u128::MAX
    }
}

/// A fixed-point weight sum back in weight units (rounded once).
pub(crate) fn from_fixed(x: u128) -> f64 {
    x as f64 / FIXED_SCALE
}

/// The key that orders `f64`s like [`f64::total_cmp`] as plain `i64`s. Its inverse is itself.
#[inline(always)]
pub(crate) const fn total_key(bits: u64) -> i64 {
    let b = bits as i64;
    b ^ (((b >> 63) as u64) >> 1) as i64
}

/// The `f64` of a [`total_key`].
#[inline(always)]
pub(crate) fn from_key(key: i64) -> f64 {
    f64::from_bits(total_key(key as u64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn sum(values: &[f64]) -> f64 {
        let mut a = SuperAcc::default();
        for &x in values {
            a.add(x);
        }
        a.to_f64()
    }

    #[test]
    fn integers_match_i128() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        for len in [1, 2, 10, 1000, 100_000] {
            let ints: Vec<i64> = (0..len)
                .map(|_| rng.random_range(-(1i64 << 53)..(1i64 << 53)))
                .collect();
            let exact: i128 = ints.iter().map(|&i| i128::from(i)).sum();
            let values: Vec<f64> = ints.iter().map(|&i| i as f64).collect();
            // i128 → f64 casts round to nearest, ties to even.
            assert_eq!(
                sum(&values).to_bits(),
                (exact as f64).to_bits(),
                "len {len}"
            );
        }
    }

    /// Values from 1e-300 to 1e300 that cancel in pairs, plus small values with a known sum.
    fn wide_values(rng: &mut Xoshiro256PlusPlus, pairs: usize) -> (Vec<f64>, f64) {
        let mut values = Vec::new();
        for _ in 0..pairs {
            let x = rng.random::<f64>() * 10f64.powi(rng.random_range(-300..=300));
            values.push(x);
            values.push(-x);
        }
        // Multiples of 2^-40 below 2^12: their exact sum is an integer times 2^-40.
        let mut exact: i128 = 0;
        for _ in 0..pairs {
            let k = rng.random_range(-(1i64 << 52)..(1i64 << 52));
            exact += i128::from(k);
            values.push(k as f64 * 2f64.powi(-40));
        }
        values.shuffle(rng);
        (values, exact as f64 * 2f64.powi(-40))
    }

    #[test]
    fn wide_range_with_cancellation_is_exact() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(12);
        for pairs in [1, 5, 100, 5000] {
            let (values, exact) = wide_values(&mut rng, pairs);
            assert_eq!(sum(&values).to_bits(), exact.to_bits(), "pairs {pairs}");
            // A naive f64 sum is far off: the big values swallow the small ones.
            if pairs >= 100 {
                let naive: f64 = values.iter().sum();
                assert_ne!(naive.to_bits(), exact.to_bits());
            }
        }
        // Tiny survivors under huge cancelling values.
        assert_eq!(sum(&[1e300, 1e-300, -1e300]), 1e-300);
        assert_eq!(sum(&[f64::MAX, f64::MAX, -f64::MAX]), f64::MAX);
        assert_eq!(sum(&[f64::MAX, f64::MAX]), f64::INFINITY);
        assert_eq!(sum(&[5e-324, 5e-324, 5e-324]), 1.5e-323);
        assert_eq!(sum(&[-2.5, 2.5, -0.0]).to_bits(), 0f64.to_bits());
        assert_eq!(sum(&[]), 0.0);
    }

    #[test]
    fn rounds_to_nearest_even_with_sticky_bits() {
        let half_ulp = 2f64.powi(-53);
        // 1 + 2^-53 is a tie: to even (1).
        assert_eq!(sum(&[1.0, half_ulp]), 1.0);
        // 1 + 2^-52 + 2^-53: tie between odd and even mantissa → up to 1 + 2^-51.
        assert_eq!(sum(&[1.0, 2.0 * half_ulp, half_ulp]), 1.0 + 4.0 * half_ulp);
        // A bit far below breaks the tie upwards, also through two empty limbs.
        assert_eq!(sum(&[1.0, half_ulp, 1e-200]), 1.0 + 2.0 * half_ulp);
        assert_eq!(sum(&[1.0, half_ulp, -1e-200]), 1.0);
        assert_eq!(sum(&[-1.0, -half_ulp, -1e-200]), -1.0 - 2.0 * half_ulp);
        // Subnormal results.
        assert_eq!(
            sum(&[2.2250738585072014e-308, -5e-324]),
            2.225073858507201e-308
        );
    }

    #[test]
    fn special_values() {
        assert!(sum(&[1.0, f64::NAN]).is_nan());
        assert_eq!(sum(&[1.0, f64::INFINITY]), f64::INFINITY);
        assert_eq!(sum(&[f64::NEG_INFINITY, 1.0]), f64::NEG_INFINITY);
        assert!(sum(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
    }

    #[test]
    fn permutations_and_groupings_give_identical_bits() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(13);
        let (mut values, _) = wide_values(&mut rng, 300);
        values.extend((0..300).map(|_| rng.random::<f64>() * 1e10 - 5e9));
        let reference = sum(&values);
        for _ in 0..50 {
            values.shuffle(&mut rng);
            // Random groups summed apart, merged in a random order.
            let mut parts: Vec<SuperAcc> = Vec::new();
            let mut rest = &values[..];
            while !rest.is_empty() {
                let take = rng.random_range(1..=rest.len().min(97));
                let mut a = SuperAcc::default();
                for &x in &rest[..take] {
                    a.add(x);
                }
                parts.push(a);
                rest = &rest[take..];
            }
            while parts.len() > 1 {
                let i = rng.random_range(0..parts.len());
                let b = parts.swap_remove(i);
                let j = rng.random_range(0..parts.len());
                parts[j].merge(&b);
            }
            assert_eq!(parts[0].to_f64().to_bits(), reference.to_bits());
            let (hi, lo) = parts[0].to_dd();
            assert_eq!(hi.to_bits(), reference.to_bits());
            assert!(lo.abs() <= hi.abs() * f64::EPSILON);
        }
    }

    #[test]
    fn many_additions_trigger_normalisation() {
        let mut a = SuperAcc {
            pending: NORMALIZE_AT - 10,
            ..SuperAcc::default()
        };
        for _ in 0..100 {
            a.add(f64::MAX / 4.0);
            a.add(-f64::MAX / 8.0);
        }
        assert!(a.pending <= 200, "normalised along the way");
        assert_eq!(a.to_f64(), 100.0 * (f64::MAX / 8.0));
    }

    #[test]
    fn dd_remainder_is_exact() {
        let mut a = SuperAcc::default();
        for x in [1.0, 1e-20, 3e-40] {
            a.add(x);
        }
        let (hi, lo) = a.to_dd();
        assert_eq!(hi, 1.0);
        assert_eq!(lo, 1e-20 + 3e-40);
    }

    #[test]
    fn squares_are_exact_two_products() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(14);
        for _ in 0..10_000 {
            let x = (rng.random::<f64>() - 0.5) * 10f64.powi(rng.random_range(-100..100));
            let (p, e) = square(x);
            assert_eq!(p, x * x);
            assert_eq!(e, x.mul_add(x, -p), "{x}");
        }
        for x in [1.2e153, -3.3e150, 7e-140, -1e-100] {
            let (p, e) = square(x);
            assert_eq!((p, e), (x * x, x.mul_add(x, -(x * x))), "{x}");
        }
    }

    #[test]
    fn fixed_point_weights() {
        assert_eq!(to_fixed(1.0), 1u128 << 64);
        assert_eq!(to_fixed(0.5), 1u128 << 63);
        assert_eq!(to_fixed(3.0 * 2f64.powi(40)), 3u128 << 104);
        assert_eq!(to_fixed(2f64.powi(-64)), 1);
        // 2^-65 is a tie between 0 and 1 → even (0); 3·2^-66 rounds up to 1.
        assert_eq!(to_fixed(2f64.powi(-65)), 0);
        assert_eq!(to_fixed(3.0 * 2f64.powi(-66)), 1);
        assert_eq!(to_fixed(3.0 * 2f64.powi(-65)), 2);
        assert_eq!(to_fixed(1e-30), 0);
        assert_eq!(to_fixed(1e30), u128::MAX);
        assert_eq!(to_fixed(f64::INFINITY), u128::MAX);
        assert_eq!(to_fixed(0.0), 0);
        assert_eq!(to_fixed(-0.0), 0);
        assert_eq!(to_fixed(-1.0), 0);
        assert_eq!(to_fixed(5e-324), 0);
        // The largest exact value, and just below 2^-64 · 1.5 (rounds to 1).
        assert_eq!(to_fixed(2f64.powi(63) * 1.5), 3u128 << 126);
        assert_eq!(to_fixed(2f64.powi(64)), u128::MAX);
        assert_eq!(to_fixed(1.4 * 2f64.powi(-64)), 1);
        // Against exact rounding of random values: m · 2^s with s from −53 to 11.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(15);
        for _ in 0..100_000 {
            let x = rng.random::<f64>() * 2f64.powi(rng.random_range(-62..12));
            let (m, e) = {
                let b = x.to_bits();
                ((b & ((1 << 52) - 1)) | (1 << 52), ((b >> 52) as i32) - 1075)
            };
            let s = e + 64;
            let expected = if s >= 0 {
                u128::from(m) << s
            } else if s < -63 {
                0
            } else {
                let r = -s;
                let q = u128::from(m >> r);
                let rem = m & ((1 << r) - 1);
                let half = 1u64 << (r - 1);
                q + u128::from(rem > half || (rem == half && q & 1 == 1))
            };
            assert_eq!(to_fixed(x), expected, "{x:e}");
        }
        for w in [0.1, 0.7, 1.3, 1234.5678, 1e-9] {
            let f = to_fixed(w);
            // Rounded once to a multiple of 2^-64.
            assert!(
                (from_fixed(f) - w).abs() <= 2f64.powi(-65) + w * 1e-16,
                "{w}"
            );
        }
    }

    /// Adding ±0 to a lane leaves its bits as they are (its parts are never −0), so a chunk's
    /// sums are the same whether its zeros are added or skipped: values of both signs, exact
    /// cancellations (a lane back at +0) and signed zeros, half the values zero.
    #[test]
    fn adding_zeros_leaves_lanes_unchanged() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(20_261_206);
        for _ in 0..200 {
            let mut values: Vec<f64> = (0..256)
                .map(|_| match rng.random_range(0..6) {
                    0 => 0.0,
                    1 => -0.0,
                    2 => rng.random::<f64>() * 1e3,
                    3 => -rng.random::<f64>() * 1e-3,
                    _ => 0.0,
                })
                .collect();
            // An exact cancellation in lane 0: x then −x.
            values[0] = 1.5;
            values[4] = -1.5;
            let (mut all1, mut all2) = (Lanes::default(), Lanes::default());
            let (mut some1, mut some2) = (Lanes::default(), Lanes::default());
            for (j, &x) in values.iter().enumerate() {
                let i = j % LANES;
                all1.add(i, x);
                all2.add_square(i, x);
                if x != 0.0 {
                    some1.add(i, x);
                    some2.add_square(i, x);
                }
            }
            let bits =
                |l: &Lanes| -> Vec<u64> { l.hi.iter().chain(&l.lo).map(|x| x.to_bits()).collect() };
            assert_eq!(bits(&all1), bits(&some1));
            assert_eq!(bits(&all2), bits(&some2));
        }
    }

    #[test]
    fn total_keys_order_like_total_cmp() {
        let v = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -5e-324,
            -0.0,
            0.0,
            5e-324,
            1.0,
            f64::INFINITY,
            f64::NAN,
        ];
        for w in v.windows(2) {
            assert!(total_key(w[0].to_bits()) < total_key(w[1].to_bits()));
        }
        for x in v {
            assert_eq!(from_key(total_key(x.to_bits())).to_bits(), x.to_bits());
        }
    }
}

//! The two-sample Kolmogorov–Smirnov test at α = 0.001 (asymptotic critical value).

/// c(α) of the two-sample Kolmogorov–Smirnov test at α = 0.001: √(−½·ln(0.0005)).
pub const KS_C_ALPHA_0_001: f64 = 1.9495;

/// The two-sample Kolmogorov–Smirnov statistic sup |F_n − G_m|, with values within `tie` of
/// each other tied (the empirical CDFs are compared only after every tied value is counted).
pub fn ks_statistic(a: &[f64], b: &[f64], tie: f64) -> f64 {
    let sorted = |x: &[f64]| {
        let mut v = x.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    let (a, b) = (sorted(a), sorted(b));
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let v = a[i].min(b[j]);
        while i < a.len() && a[i] <= v + tie {
            i += 1;
        }
        while j < b.len() && b[j] <= v + tie {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    d
}

/// Critical value of the two-sample KS test at α = 0.001 for samples of `n` and `m`: reject
/// equal laws when the statistic exceeds it (for laws with atoms the test is conservative).
pub fn ks_critical(n: usize, m: usize) -> f64 {
    let (n, m) = (n as f64, m as f64);
    KS_C_ALPHA_0_001 * ((n + m) / (n * m)).sqrt()
}

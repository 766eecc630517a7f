//! Floats written with a fixed number of decimals, as `{:.N}` writes them,
//! for a fraction of the cost: reports and consoles write thousands.

/// `{:.N}` of a float (`Fixed(x, N)`), as the formatter writes it, but
/// written from an integer where a double's product tells the digits for
/// certain: the formatter's exact float path (Grisu, then Dragon4 where
/// Grisu cannot decide, as for most durations under half the last digit)
/// costs thousands of instructions, and reports write thousands of figures.
#[derive(Clone, Copy)]
pub struct Fixed(pub f64, pub usize);

impl std::fmt::Display for Fixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Fixed(x, digits) = *self;
        match scaled_round(x, digits) {
            Some(n) if digits == 0 => write!(f, "{n}"),
            Some(n) => {
                let unit = POW10[digits];
                write!(f, "{}.{:0digits$}", n / unit, n % unit)
            }
            None => write!(f, "{x:.digits$}"),
        }
    }
}

const POW10: [u64; 7] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

/// `x × 10^digits` rounded as `{:.digits$}` rounds `x` (half to even on the
/// exact value), or None where the double product cannot tell: the product
/// is rounded to the nearest double, and below 1e9 every integer and every
/// half is a double, so the rounded product is on the same side of a half as
/// the exact one, or on it — only a product that is exactly a half is left
/// to the formatter. Negative values, huge values and more than 6 digits
/// take the formatter's path too.
fn scaled_round(x: f64, digits: usize) -> Option<u64> {
    let unit = *POW10.get(digits)?;
    if !x.is_finite() || x.is_sign_negative() {
        return None;
    }
    #[expect(clippy::cast_precision_loss, reason = "powers of ten up to 10^6 are exact")]
    let scaled = x * unit as f64;
    if scaled >= 1e9 {
        return None;
    }
    let floor = scaled.floor();
    let frac = scaled - floor;
    #[expect(clippy::float_cmp, reason = "exactly a half is the one case the product cannot decide")]
    if frac == 0.5 {
        return None;
    }
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "0 <= floor < 1e9")]
    let whole = floor as u64;
    Some(whole + u64::from(frac > 0.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Fixed` writes what `{:.N}` writes, ties and near-ties included.
    #[test]
    fn fixed_figures_are_written_as_the_formatter_writes_them() {
        let mut values = vec![0.0, -0.0, -1.0, -0.04, 0.4999, 0.5, 0.500_000_1, 1.5, 2.5, 0.05, 0.15, 0.25];
        values.extend([0.0005, 0.0015, 999.5, 1000.5, 123_456.789, 1e9, 1e12, 1e15]);
        values.extend([f64::MAX, f64::MIN_POSITIVE, f64::EPSILON, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
        // A pseudo-random spread over the figures reports write (durations in
        // seconds and milliseconds, SVG coordinates, percentages), and values
        // a hair each side of every tie of every precision below 10,000.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            #[expect(clippy::cast_precision_loss, reason = "any spread of values will do")]
            values.push((x % 100_000_000) as f64 / 9_973.0);
        }
        for k in 0..10_000 {
            for unit in [1.0, 10.0, 1000.0] {
                let tie = (f64::from(k) + 0.5) / unit;
                values.extend([tie, tie.next_up(), tie.next_down(), tie + 1e-9, tie - 1e-9]);
            }
        }
        // Large figures near a tie: where doubles are furthest apart.
        for k in (0..1_000_000_000u32).step_by(9_973_331) {
            let mut tie = (f64::from(k) + 0.5) / 1000.0;
            for _ in 0..4 {
                tie = tie.next_down();
            }
            for _ in 0..8 {
                values.push(tie);
                tie = tie.next_up();
            }
        }
        for v in values {
            for digits in [0, 1, 2, 3, 7] {
                assert_eq!(Fixed(v, digits).to_string(), format!("{v:.digits$}"), "{v:?} to {digits}");
            }
        }
    }
}

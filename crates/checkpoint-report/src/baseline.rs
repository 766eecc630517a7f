//! Comparing with a baseline (`--baseline previous.json`): when a check counts
//! as "slower" (`--slower-than`).
//!
//! A check is slower when it took more than `percent` longer than in the
//! baseline **and** at least `at_least` longer: the relative bound catches real
//! regressions, the absolute floor keeps jitter on millisecond checks out of
//! the report. Default `50%,100ms`. Written `PCT`, `DURATION` or both,
//! comma-separated (`25%`, `500ms`, `25%,1s`); a part left out is zero.

use std::fmt;
use std::str::FromStr;

use checkpoint_model::duration::human;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SlowerThan {
    /// Relative increase, in percent (50.0 = 1.5× the baseline).
    pub percent: f64,
    /// Absolute increase, in milliseconds.
    pub at_least_ms: f64,
}

impl Default for SlowerThan {
    fn default() -> Self {
        Self { percent: 50.0, at_least_ms: 100.0 }
    }
}

impl SlowerThan {
    /// Did a check that took `before_ms` in the baseline slow down to `now_ms`?
    pub fn is_slower(&self, before_ms: f64, now_ms: f64) -> bool {
        before_ms > 0.0 && now_ms > before_ms * (1.0 + self.percent / 100.0) && now_ms - before_ms >= self.at_least_ms
    }
}

impl fmt::Display for SlowerThan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.percent > 0.0, self.at_least_ms > 0.0) {
            (true, true) => write!(f, "> {}% and ≥ +{}", self.percent, human(self.at_least_ms)),
            (true, false) => write!(f, "> {}%", self.percent),
            (false, true) => write!(f, "≥ +{}", human(self.at_least_ms)),
            (false, false) => write!(f, "any increase"),
        }
    }
}

impl FromStr for SlowerThan {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut out = Self { percent: 0.0, at_least_ms: 0.0 };
        let bad = |why: String| {
            format!(
                "`{s}` is not a slowdown threshold: {why}; write a percentage, a duration or both: `50%`, `200ms`, `50%,100ms`"
            )
        };
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        if parts.is_empty() || parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad("expected one or two parts".into()));
        }
        let (mut got_pct, mut got_dur) = (false, false);
        for p in parts {
            if let Some(num) = p.strip_suffix('%') {
                let v: f64 = num.trim().parse().map_err(|_| bad(format!("`{p}` is not a percentage")))?;
                if got_pct || !v.is_finite() || v < 0.0 {
                    return Err(bad(format!("`{p}`: one percentage, zero or more")));
                }
                out.percent = v;
                got_pct = true;
            } else {
                let d = checkpoint_model::duration::parse(p).map_err(|e| bad(format!("`{p}`: {e}")))?;
                if got_dur {
                    return Err(bad("one duration only".into()));
                }
                out.at_least_ms = checkpoint_model::duration::millis(d);
                got_dur = true;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_percent_duration_or_both() {
        assert_eq!("50%,100ms".parse::<SlowerThan>(), Ok(SlowerThan::default()));
        assert_eq!("25%".parse::<SlowerThan>(), Ok(SlowerThan { percent: 25.0, at_least_ms: 0.0 }));
        assert_eq!("2s".parse::<SlowerThan>(), Ok(SlowerThan { percent: 0.0, at_least_ms: 2000.0 }));
        assert_eq!("1s, 10%".parse::<SlowerThan>(), Ok(SlowerThan { percent: 10.0, at_least_ms: 1000.0 }));
        for bad in ["", "fast", "10%,20%", "-5%", "1s,2s", "50%,", "x%"] {
            let e = bad.parse::<SlowerThan>().unwrap_err();
            assert!(e.contains("not a slowdown threshold"), "{bad}: {e}");
        }
    }

    #[test]
    fn both_bounds_must_be_exceeded() {
        let d = SlowerThan::default();
        assert!(d.is_slower(200.0, 400.0));
        assert!(!d.is_slower(200.0, 290.0), "45% slower");
        assert!(!d.is_slower(10.0, 90.0), "9× but only +80ms");
        assert!(!d.is_slower(0.0, 500.0), "no baseline time");
        let pct: SlowerThan = "10%".parse().unwrap();
        assert!(pct.is_slower(10.0, 12.0));
        let abs: SlowerThan = "1s".parse().unwrap();
        assert!(abs.is_slower(10_000.0, 11_000.0) && !abs.is_slower(10_000.0, 10_900.0));
        assert_eq!(d.to_string(), "> 50% and ≥ +100ms");
    }
}

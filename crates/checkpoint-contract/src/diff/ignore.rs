//! Ignore files: changes a team has accepted, by fingerprint, with the
//! reason and, optionally, the date after which they count again.
//!
//! ```yaml
//! - fingerprint: 9f0c1d2e3a4b5c6d
//!   reason: the mobile app stopped reading `legacy_code` in 4.2
//!   expires: 2027-01-31
//! ```

use serde::Deserialize;

use super::Change;

/// One accepted change.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The change's [`Change::fingerprint`].
    pub fingerprint: String,
    /// Why it is accepted: required, shown with the change.
    pub reason: String,
    /// `YYYY-MM-DD`: from the day after, the change counts again.
    #[serde(default)]
    pub expires: Option<String>,
}

/// What an ignore file did to a list of changes.
#[derive(Debug, Default)]
pub struct Applied {
    /// The changes no entry silences, in order.
    pub kept: Vec<Change>,
    /// The silenced changes, each with its entry.
    pub ignored: Vec<(Change, Entry)>,
    /// Entries past their date whose change is still there (it counts again).
    pub expired: Vec<Entry>,
    /// Entries that match no change (fixed, or written for another diff).
    pub unused: Vec<Entry>,
}

/// The entries of an ignore file's text; `origin` names it in errors, with
/// the entry's number and what to write.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Entry>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let entries: Vec<Entry> = serde_saphyr::from_str(text).map_err(|e| {
        format!("{origin}: {e} (an ignore file is a YAML list of `fingerprint`, `reason` and optional `expires: YYYY-MM-DD`)")
    })?;
    for (i, e) in entries.iter().enumerate() {
        let n = i + 1;
        if e.fingerprint.len() != 16 || !e.fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "{origin}: entry {n}: fingerprint `{}` is not 16 hex digits (copy it from `contract diff` output)",
                e.fingerprint
            ));
        }
        if e.reason.trim().is_empty() {
            return Err(format!("{origin}: entry {n}: `reason` is empty: say why the change is accepted"));
        }
        if let Some(d) = &e.expires
            && !is_date(d)
        {
            return Err(format!("{origin}: entry {n}: expires `{d}` is not a date: write YYYY-MM-DD"));
        }
    }
    Ok(entries)
}

fn is_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&d[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&d[8..10].parse::<u8>().unwrap_or(0))
}

/// Splits `changes` by `entries` as of `today` (`YYYY-MM-DD`): an entry
/// silences its change through its `expires` day, not after.
pub fn apply(changes: Vec<Change>, entries: &[Entry], today: &str) -> Applied {
    let mut out = Applied::default();
    let mut used = vec![false; entries.len()];
    for c in changes {
        let hit = entries.iter().position(|e| e.fingerprint.eq_ignore_ascii_case(&c.fingerprint));
        match hit {
            Some(i) => {
                used[i] = true;
                let e = &entries[i];
                if e.expires.as_deref().is_some_and(|d| d < today) {
                    out.expired.push(e.clone());
                    out.kept.push(c);
                } else {
                    out.ignored.push((c, e.clone()));
                }
            }
            None => out.kept.push(c),
        }
    }
    out.unused = entries.iter().zip(used).filter(|(_, u)| !u).map(|(e, _)| e.clone()).collect();
    out
}

/// Today in UTC, `YYYY-MM-DD` (the civil date of the system clock).
pub fn today() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    civil(i64::try_from(secs / 86_400).unwrap_or(0))
}

/// The date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::civil;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), "1970-01-01");
        assert_eq!(civil(11_016), "2000-02-29");
        assert_eq!(civil(20_819), "2027-01-01");
    }
}

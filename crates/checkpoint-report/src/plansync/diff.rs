//! A unified diff of a plan before and after a sync, for `--dry-run`. A sync
//! only ever rewrites bytes inside lines, so both sides have the same lines
//! and a hunk is the changed lines with three lines of context around them.
//! Lines are printed with their `\r` (a CRLF file's diff applies with `patch`).

use std::fmt::Write as _;

const CONTEXT: usize = 3;

/// `None` when the two texts do not have the same line structure (never the
/// case for a sync) or are equal.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> Option<String> {
    let a = lines(old);
    let b = lines(new);
    if a.len() != b.len() || old == new {
        return None;
    }
    let changed: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    if changed.is_empty() {
        return None;
    }
    // Group changed lines whose contexts touch into one hunk.
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &i in &changed {
        let start = i.saturating_sub(CONTEXT);
        let end = (i + CONTEXT + 1).min(a.len());
        match hunks.last_mut() {
            Some(h) if start <= h.1 => h.1 = end,
            _ => hunks.push((start, end)),
        }
    }
    let mut o = String::new();
    let _ = writeln!(o, "--- {old_name}");
    let _ = writeln!(o, "+++ {new_name}");
    let last = a.len() - 1;
    let no_eol = !old.ends_with('\n');
    for (start, end) in hunks {
        let n = end - start;
        let _ = writeln!(o, "@@ -{} +{} @@", range(start, n), range(start, n));
        let mut i = start;
        while i < end {
            if a[i] == b[i] {
                line(&mut o, ' ', a[i], i == last && no_eol);
                i += 1;
                continue;
            }
            // A run of changed lines: all removals, then all additions.
            let run_end = (i..end).find(|&j| a[j] == b[j]).unwrap_or(end);
            for (j, l) in a.iter().enumerate().take(run_end).skip(i) {
                line(&mut o, '-', l, j == last && no_eol);
            }
            for (j, l) in b.iter().enumerate().take(run_end).skip(i) {
                line(&mut o, '+', l, j == last && no_eol);
            }
            i = run_end;
        }
    }
    Some(o)
}

fn range(start: usize, n: usize) -> String {
    if n == 1 { format!("{}", start + 1) } else { format!("{},{n}", start + 1) }
}

fn line(o: &mut String, sign: char, l: &str, no_eol: bool) {
    o.push(sign);
    o.push_str(l);
    o.push('\n');
    if no_eol {
        o.push_str("\\ No newline at end of file\n");
    }
}

/// Lines without their `\n` (a `\r` stays: it is part of the line for `patch`).
fn lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.split_inclusive('\n').map(|l| l.strip_suffix('\n').unwrap_or(l)).collect();
    if s.is_empty() {
        v.clear();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_merge_when_contexts_touch_and_keep_no_eol() {
        let old = "1\n2\n3\n- [ ] a\n5\n6\n7\n8\n9\n10\n11\n- [ ] b";
        let new = "1\n2\n3\n- [x] a\n5\n6\n7\n8\n9\n10\n11\n- [x] b";
        let d = unified_diff(old, new, "a/p.md", "b/p.md").unwrap();
        assert_eq!(
            d,
            "--- a/p.md\n+++ b/p.md\n@@ -1,7 +1,7 @@\n 1\n 2\n 3\n-- [ ] a\n+- [x] a\n 5\n 6\n 7\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-- [ ] b\n\\ No newline at end of file\n+- [x] b\n\\ No newline at end of file\n"
        );
        assert_eq!(unified_diff(old, old, "a", "b"), None);
    }
}

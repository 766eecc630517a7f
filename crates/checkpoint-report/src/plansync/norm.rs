//! The second matching tier: the same words, written differently. Only
//! whitespace, case and Markdown decoration are forgiven — `↔`, emoji and
//! punctuation are part of a promise's wording and stay significant.

/// Lower-case, whitespace collapsed, `**`/`*`/`` ` ``/`~~`/`__` removed, `_`
/// removed where it opens or closes a word (`snake_case` keeps its `_`),
/// `[text](url)` reduced to `text`.
pub(crate) fn normalize(s: &str) -> String {
    let s = unlink(s);
    let chars: Vec<char> = s.chars().collect();
    let mut kept = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let drop = match c {
            '*' | '`' => true,
            '~' => chars.get(i + 1) == Some(&'~') || (i > 0 && chars[i - 1] == '~'),
            '_' => {
                let word = |o: Option<&char>| o.is_some_and(|c| c.is_alphanumeric());
                !(word(i.checked_sub(1).and_then(|j| chars.get(j))) && word(chars.get(i + 1)))
            }
            _ => false,
        };
        if !drop {
            kept.push(c);
        }
    }
    kept.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// `[text](url)` → `text`; anything else as it is.
fn unlink(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let link = after.find("](").and_then(|close| {
            let text = &after[..close];
            let tail = &after[close + 2..];
            (!text.contains('[')).then_some(())?;
            tail.find(')').map(|end| (text, &tail[end + 1..]))
        });
        if let Some((text, tail)) = link {
            out.push_str(&rest[..open]);
            out.push_str(text);
            rest = tail;
        } else {
            out.push_str(&rest[..=open]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Whether `needle` occurs in `hay` as whole words.
pub(crate) fn contains_words(hay: &str, needle: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    hay.match_indices(needle)
        .any(|(i, _)| !word(hay[..i].chars().next_back()) && !word(hay[i + needle.len()..].chars().next()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgives_case_space_and_decoration_only() {
        assert_eq!(normalize("  **Backend ↔ Database**   queries `working` "), "backend ↔ database queries working");
        assert_eq!(normalize("_Redis_ ~~old~~ user_id __bold__"), "redis old user_id bold");
        assert_eq!(normalize("[API contract](docs/api.md) finalised ✅"), "api contract finalised ✅");
        assert_ne!(normalize("Backend <-> Database"), normalize("Backend ↔ Database"));
        assert_ne!(normalize("Redis connectivity."), normalize("Redis connectivity"));
        assert_eq!(normalize("[ ] not a link (x)"), "[ ] not a link (x)");
    }

    #[test]
    fn whole_words() {
        assert!(contains_words("checkpoint 1 — day 1 🚀", "checkpoint 1"));
        assert!(!contains_words("checkpoint 10", "checkpoint 1"));
        assert!(contains_words("✅ checkpoint 1", "checkpoint 1"));
    }
}

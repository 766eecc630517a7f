//! The [`Node`] tree built straight from the YAML parser's events
//! (`granit-parser`, the parser serde-saphyr is built on), without going
//! through serde: the same nodes, spans and values for the files it takes.
//!
//! It takes only what it is sure to read exactly as serde-saphyr does: no
//! anchors, aliases, tags or merge keys, plain scalars only when plainly text,
//! `true`/`false`, `null`/`~`/empty or a small decimal integer. Anything else,
//! every syntax error and every budget breach answer `None`, and
//! [`super::parse`] then takes serde-saphyr's path — an odd file costs the old
//! time, never a different tree or a different message.

use granit_parser::{Event, Parser, ScalarStyle, Span};

use super::{MAX_NODES, Mark, Node, Value};

/// The same deepest nesting as the budget in [`super::options`].
pub(super) const MAX_DEPTH: usize = 48;

/// The tree of `text`, or `None` when serde-saphyr should build it.
pub(crate) fn parse(text: &str) -> Option<Node> {
    if text.starts_with('\u{feff}') {
        return None;
    }
    let budget = super::options(true).budget?;
    let opts = granit_parser::options! {
        simple_key_max_lookahead: budget.simple_key_max_lookahead,
        flow_nesting_limit: budget.flow_nesting_limit,
        block_nesting_limit: granit_parser::Options::default().block_nesting_limit.max(MAX_DEPTH + 1),
        emit_comments: true,
        max_buffered_comment_events: budget.max_buffered_comment_events,
    };
    let mut parser = Parser::new_from_str_with_options(text, opts);
    // Open collections: the node being built and, for a mapping, a pending key.
    let mut stack: Vec<(Node, Option<Node>)> = Vec::new();
    let mut root: Option<Node> = None;
    let mut nodes = 0usize;
    let mut documents = 0usize;
    // The budget's other totals, kept well inside: near one, serde-saphyr decides.
    let (mut events, mut scalar_bytes, mut comment_bytes) = (0usize, 0usize, 0usize);
    for item in &mut parser {
        let (event, span) = item.ok()?;
        events += 1;
        if events > MAX_NODES {
            return None;
        }
        let done = match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => None,
            Event::Comment(c, _) => {
                comment_bytes += c.len() + 1;
                if comment_bytes >= budget.max_total_comment_bytes / 2 {
                    return None;
                }
                None
            }
            Event::DocumentStart(..) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
                None
            }
            Event::Scalar(value, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                nodes += 1;
                scalar_bytes += value.len();
                if scalar_bytes >= budget.max_total_scalar_bytes / 2 {
                    return None;
                }
                Some(node(scalar(value.into_owned(), style)?, &span))
            }
            Event::SequenceStart(_, anchor, ref tag) | Event::MappingStart(_, anchor, ref tag) => {
                if anchor != 0 || tag.is_some() || stack.len() >= MAX_DEPTH {
                    return None;
                }
                nodes += 1;
                let value = match event {
                    Event::MappingStart(..) => Value::Map(Vec::new()),
                    _ => Value::Seq(Vec::new()),
                };
                stack.push((node(value, &span), None));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (n, key) = stack.pop()?;
                if key.is_some() {
                    return None;
                }
                Some(n)
            }
            _ => return None,
        };
        if nodes > MAX_NODES {
            return None;
        }
        let Some(n) = done else { continue };
        match stack.last_mut() {
            None => {
                if root.is_some() {
                    return None;
                }
                root = Some(n);
            }
            Some((parent, key)) => match &mut parent.value {
                Value::Seq(items) => items.push(n),
                Value::Map(entries) => match key.take() {
                    None => {
                        // `<<` is a merge key to serde-saphyr.
                        if matches!(&n.value, Value::Str(s) if s == "<<") {
                            return None;
                        }
                        *key = Some(n);
                    }
                    Some(k) => entries.push((k, n)),
                },
                _ => return None,
            },
        }
    }
    if !stack.is_empty() {
        return None;
    }
    root
}

/// A node at the parser's span, as serde-saphyr's `location_from_span` has it.
fn node(value: Value, span: &Span) -> Node {
    let start = span.start.index() as u64;
    let chars = span.len() as u64;
    let bytes = match (span.start.byte_offset(), span.end.byte_offset()) {
        (Some(s), Some(e)) if u32::try_from(s).is_ok() && u32::try_from(e.saturating_sub(s)).is_ok() => {
            Some((s as u64, e.saturating_sub(s) as u64))
        }
        _ => None,
    };
    let mark = Mark {
        line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        column: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
        offset: start,
        len: chars,
        bytes,
    };
    Node::new(value, mark, mark)
}

/// A scalar's value as serde-saphyr's untyped reading gives it, or `None`
/// when not sure.
pub(super) fn scalar(v: String, style: ScalarStyle) -> Option<Value> {
    if !matches!(style, ScalarStyle::Plain) {
        return Some(Value::Str(v));
    }
    match v.as_str() {
        "" | "~" | "null" => return Some(Value::Null),
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    let b = v.as_bytes();
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
        if digits.len() > 1 && digits[0] == b'0' {
            return None;
        }
        return v.parse::<i64>().ok().map(|i| Value::Int(i.into()));
    }
    let first = v.chars().next()?;
    if first.is_ascii_digit() {
        // Text to every number reading there is: durations and sizes
        // (`5s`, `250ms`, `1m30s`, `10MB`: digits then letters, no leading
        // zero), anything holding a character no number does (`70%`,
        // `0002_init`, `1.5s`), and versions and addresses (`3.1.0`,
        // `127.0.0.1`). Left to the old path: whatever is only digits, `.`,
        // `_`, `:`, signs, hex digits and radix letters (`1e5`, `0x1f`,
        // `0o7`, `1_000`, `1:30`, `007`).
        let unit = |c: char| c.is_ascii_alphabetic() && !c.eq_ignore_ascii_case(&'e');
        let leading_zero = v.len() > 1 && v.starts_with('0');
        let shaped = v.chars().all(|c| c.is_ascii_digit() || unit(c)) && v.chars().any(unit);
        let numeric =
            |c: char| c.is_ascii_hexdigit() || matches!(c, 'x' | 'X' | 'o' | 'O' | '.' | '_' | '+' | '-' | ':');
        let dotted = v.bytes().all(|b| b.is_ascii_digit() || b == b'.') && v.matches('.').count() >= 2;
        let text = (shaped && !leading_zero) || v.chars().any(|c| !numeric(c)) || dotted;
        return (text && !v.contains(['\r', '\n', '\t']) && !v.ends_with(' ')).then_some(Value::Str(v));
    }
    // A flag (`-c`, `--verbose` is left) reads as its word would.
    let word = v.strip_prefix('-').filter(|w| w.starts_with(|c: char| c.is_ascii_alphabetic())).unwrap_or(&v);
    let first = word.chars().next()?;
    if !(first.is_alphabetic() || matches!(first, '/' | '$' | '_')) {
        return None;
    }
    if yaml11_word(word) {
        return None;
    }
    if v.contains(['\r', '\n', '\t']) || v.ends_with(' ') {
        return None;
    }
    Some(Value::Str(v))
}

/// A word serde-saphyr reads as a boolean, a null or a non-finite number
/// (`y`, `No`, `ON`, `null`, `.inf` aside): any case, compared as lowercase
/// bytes so a plain word costs a length test and a match.
fn yaml11_word(word: &str) -> bool {
    let b = word.as_bytes();
    if b.len() > 8 {
        return false;
    }
    let mut lower = [0u8; 8];
    for (l, c) in lower.iter_mut().zip(b) {
        *l = c.to_ascii_lowercase();
    }
    matches!(
        &lower[..b.len()],
        b"y" | b"n" | b"yes" | b"no" | b"on" | b"off" | b"true" | b"false" | b"null" | b"nan" | b"inf" | b"infinity"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn yaml11_words_in_any_case_and_nothing_else() {
        for w in ["y", "N", "Yes", "no", "ON", "off", "True", "FALSE", "Null", "NaN", "inf", "Infinity"] {
            assert!(super::yaml11_word(w), "{w}");
        }
        for w in ["", "ye", "yess", "nul", "infinit", "infinityy", "o", "of", "onn", "é", "yés"] {
            assert!(!super::yaml11_word(w), "{w}");
        }
    }

    fn same(text: &str) -> bool {
        crate::yaml::same_as_serde("the events", super::parse(text), text)
    }

    #[test]
    fn plain_files_take_the_events_path_and_match() {
        for text in [
            "checkpoint: 1\ntitle: Benchmark\ngates:\n  - id: g0\n    checks:\n      - name: c0\n        http: { url: \"http://x/\" }\n        expect: { status: 200, json: { $.status: ok } }\n",
            "a: 1\nb:\n  - { c: \"x y\" }\na: 2\n",
            "# comment\na: 'it''s' # trailing\nb: \"tab\\there \\u00e9 \\\"q\\\"\"\n",
            "é: ünïcödé text\nzé: \"€€\"\nk: [a, b, {c: d}]\n",
            "a: 1\r\nb:\r\n  - x\r\n  - y z\r\n",
            "lit: |\n  one\n  two\n\nfold: >-\n  a\n  b\nkeep: |+\n  k\n\nafter: 1\n",
            "multi: this is\n  a plain\n  multi-line scalar\nq: \"double\n  folded\"\n",
            "empty:\nnull_: null\ntilde: ~\nt: true\nf: false\nneg: -12\nzero: 0\n",
            "- a\n- - b\n  - c\n- {}\n- []\n",
            "? complex\n: value\n",
            "top",
            "timeout: 5s\nwithin: 250ms\nwait: 1m30s\nmax_body: 10MB\nretry: { attempts: 3, every: 2s }\n",
            "a: 70%\nb: 0002_items\nc: 1.5s\nd: -c\ne: 3.1.0\nf: 127.0.0.1\ng: 0s\nh: 1 2\ni: 2001-12-14 21:59:43.10 -5\n",
        ] {
            assert!(same(text), "the events should build this one:\n{text}");
        }
    }

    #[test]
    fn odd_files_fall_back_or_match() {
        for text in crate::yaml::ODD_FILES {
            same(text);
        }
        // And each refused one still is, by the path that words the error.
        assert!(super::parse("a: [1, 2\n").is_none());
    }

    #[test]
    fn every_yaml_file_of_the_repo_gives_the_same_tree() {
        let files = crate::yaml::repo_yaml_files(&["checkpoints", "fixtures", "crates"]);
        let mut fast = 0;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            if crate::yaml::parse_serde(&text).is_ok() && same(&text) {
                fast += 1;
            }
        }
        assert!(fast * 2 > files.len(), "most files should take the events path ({fast} of {})", files.len());
    }
}

//! The [`Node`] tree of the plain YAML most checkpoint files are, read line
//! by line without a general YAML parser: block mappings and sequences
//! (compact `- key: value` items and sequences at their key's indentation
//! included), one-line flow collections, one-line plain, single- and
//! double-quoted scalars, comments and blank lines.
//!
//! It answers `None` for everything else — multi-line scalars, block
//! scalars, anchors, aliases, tags, explicit keys, document markers, tabs,
//! carriage returns, empty values, any syntax error, anything near a budget
//! — and [`super::parse`] then asks [`super::events`], then serde-saphyr.
//! What it does build is the tree serde-saphyr builds, to the last span and
//! value: the tests compare the two on every YAML file of the repository, on
//! hand-picked edge cases and on thousands of generated and mutated files.
//!
//! Why it exists: on a file of a thousand checks the general parser was more
//! than half of `checkpoint validate` (docs/benchmarks.md).

use granit_parser::ScalarStyle;

use super::events::{MAX_DEPTH, scalar};
use super::{MAX_NODES, Mark, Node, Value};

/// Longest implicit key read here (the parser's own limit is 1,024).
const MAX_KEY: u32 = 512;
/// Largest file read here: far inside the scalar and comment budgets and
/// [`Node`]'s `u32` positions.
const MAX_TEXT: usize = 16 << 20;

/// The tree of `text`, or `None` when the general parser should build it.
pub(crate) fn parse(text: &str) -> Option<Node> {
    if text.len() > MAX_TEXT || !printable(text) {
        return None;
    }
    let mut r = Reader::new(text);
    r.seek(0)?;
    r.ind?;
    let root = r.node(0, Place::Line)?;
    (r.ind.is_none() && r.events <= MAX_NODES).then_some(root)
}

/// Only characters this reader is sure the parser takes as ordinary text:
/// no tab, carriage return, control character, byte order mark, Unicode
/// line separator or noncharacter.
fn printable(text: &str) -> bool {
    let plain = |b: u8| b == b'\n' || (0x20..0x7f).contains(&b) || b >= 0x80;
    if !text.bytes().all(plain) {
        return false;
    }
    text.is_ascii()
        || !text.chars().any(|c| {
            ('\u{80}'..='\u{9f}').contains(&c)
                || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}')
        })
}

/// Where a node starts, which decides what it may be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// First on its line (or the document): anything.
    Line,
    /// After `- `: anything, a compact mapping or a nested sequence too.
    Item,
    /// After `key: `: a scalar or a flow collection.
    Value,
}

struct Reader<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    /// The current line: 1-based number, byte range, offset in characters
    /// of its start, and whether it is all ASCII (columns are then bytes).
    line: u32,
    start: usize,
    end: usize,
    chars: u64,
    ascii: bool,
    /// Indentation of the content line `pos` is on, `None` at the end.
    ind: Option<usize>,
    /// What the parser would count against its event budget.
    events: usize,
    /// The entries and items of the open collections, one after the other:
    /// each collection is moved out at its end into a vector of its exact
    /// size (growing one vector per mapping wasted three quarters of it).
    pairs: Vec<(Node, Node)>,
    items: Vec<Node>,
}

impl<'a> Reader<'a> {
    fn new(s: &'a str) -> Self {
        Reader {
            s,
            b: s.as_bytes(),
            pos: 0,
            line: 0,
            start: 0,
            end: 0,
            chars: 0,
            ascii: true,
            ind: None,
            events: 4,
            pairs: Vec::new(),
            items: Vec::new(),
        }
    }

    fn enter(&mut self, at: usize) {
        if self.line > 0 {
            let line = &self.s[self.start..at];
            self.chars += if self.ascii { line.len() } else { line.chars().count() } as u64;
        }
        self.line += 1;
        self.start = at;
        self.end = self.b[at..].iter().position(|&c| c == b'\n').map_or(self.b.len(), |i| at + i);
        self.ascii = self.b[at..self.end].is_ascii();
    }

    /// From the line starting at `at`, the next line with content: `pos` at
    /// its first character and `ind` its indentation (`None` at the end).
    /// `None` for a document marker.
    fn seek(&mut self, mut at: usize) -> Option<()> {
        loop {
            if at > self.b.len() || (at == self.b.len() && self.line > 0) {
                self.pos = self.b.len();
                self.ind = None;
                return Some(());
            }
            self.enter(at);
            let ind = self.b[self.start..self.end].iter().take_while(|&&c| c == b' ').count();
            let p = self.start + ind;
            if p == self.end {
                at = self.end + 1;
                continue;
            }
            if self.b[p] == b'#' {
                self.events += 1;
                at = self.end + 1;
                continue;
            }
            let rest = &self.b[p..self.end];
            if ind == 0 && (rest.starts_with(b"---") || rest.starts_with(b"...")) {
                return None;
            }
            self.pos = p;
            self.ind = Some(ind);
            return Some(());
        }
    }

    fn skip_spaces(&mut self) {
        while self.pos < self.end && self.b[self.pos] == b' ' {
            self.pos += 1;
        }
    }

    /// Only spaces and a comment left on the line.
    fn rest_blank(&self) -> bool {
        let mut p = self.pos;
        while p < self.end && self.b[p] == b' ' {
            p += 1;
        }
        p == self.end || (self.b[p] == b'#' && p > self.start && self.b[p - 1] == b' ')
    }

    /// Leaves a line that holds nothing more, for the next content line.
    fn end_line(&mut self) -> Option<()> {
        if !self.rest_blank() {
            return None;
        }
        self.skip_spaces();
        if self.pos < self.end {
            self.events += 1;
        }
        self.seek(self.end + 1)
    }

    /// `-` as a block sequence entry.
    fn at_dash(&self) -> bool {
        self.b.get(self.pos) == Some(&b'-') && matches!(self.b.get(self.pos + 1), None | Some(b' ' | b'\n'))
    }

    /// `:` as a block mapping's value indicator.
    fn at_colon(&self) -> bool {
        self.b.get(self.pos) == Some(&b':') && matches!(self.b.get(self.pos + 1), None | Some(b' ' | b'\n'))
    }

    /// Where the bytes `from..to` of the current line are.
    fn mark(&self, from: usize, to: usize) -> Mark {
        let (col, len) = if self.ascii {
            (from - self.start, to - from)
        } else {
            (self.s[self.start..from].chars().count(), self.s[from..to].chars().count())
        };
        Mark {
            line: self.line,
            column: u32::try_from(col + 1).unwrap_or(u32::MAX),
            offset: self.chars + col as u64,
            len: len as u64,
            bytes: Some((from as u64, (to - from) as u64)),
        }
    }

    fn at(&self, value: Value, from: usize, to: usize) -> Node {
        let m = self.mark(from, to);
        Node::new(value, m, m)
    }

    /// The node at `pos`. Each block reads the lines that belong to it and
    /// stops at the first that does not; a line that belongs to no block
    /// stops them all before the end of the file, and [`parse`] then leaves
    /// the file to the parser.
    fn node(&mut self, depth: usize, place: Place) -> Option<Node> {
        let col = self.pos - self.start;
        if self.at_dash() {
            return if place == Place::Value { None } else { self.seq(col, depth, false) };
        }
        let n = match self.b[self.pos] {
            b'{' | b'[' => self.flow(depth)?,
            _ => {
                let s = self.scalar(false)?;
                if self.at_colon() {
                    return if place == Place::Value { None } else { self.map(col, depth, s) };
                }
                s
            }
        };
        // A deeper line next continues a plain scalar (or is an error):
        // no block takes it, and the file is left to the parser.
        self.end_line()?;
        Some(n)
    }

    fn map(&mut self, n: usize, depth: usize, mut key: Node) -> Option<Node> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.events += 2;
        let mut mark = key.referenced();
        mark.len = 0;
        mark.bytes = mark.bytes.map(|(o, _)| (o, 0));
        let base = self.pairs.len();
        loop {
            // `<<` merges to serde-saphyr.
            if key.chars > MAX_KEY || matches!(&key.value, Value::Str(s) if s == "<<") {
                return None;
            }
            self.pos += 1;
            let value = if self.rest_blank() {
                self.end_line()?;
                match self.ind {
                    Some(i) if i > n => self.node(depth + 1, Place::Line)?,
                    Some(i) if i == n && self.at_dash() => self.seq(n, depth + 1, true)?,
                    _ => return None,
                }
            } else {
                self.skip_spaces();
                self.node(depth + 1, Place::Value)?
            };
            self.pairs.push((key, value));
            match self.ind {
                Some(i) if i == n && !self.at_dash() => {
                    key = self.scalar(false)?;
                    if !self.at_colon() {
                        return None;
                    }
                }
                _ => break,
            }
        }
        let entries = self.pairs.drain(base..).collect();
        Some(Node::new(Value::Map(entries), mark, mark))
    }

    /// A block sequence at column `n`; `indentless` when it is a mapping's
    /// value at the mapping's own indentation (the parser then puts it
    /// where its first entry's content starts).
    fn seq(&mut self, n: usize, depth: usize, indentless: bool) -> Option<Node> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.events += 2;
        let mut mark = self.mark(self.pos, self.pos);
        let base = self.items.len();
        loop {
            self.pos += 1;
            let item = if self.rest_blank() {
                if indentless && self.items.len() == base {
                    return None;
                }
                self.end_line()?;
                match self.ind {
                    Some(i) if i > n => self.node(depth + 1, Place::Line)?,
                    _ => return None,
                }
            } else {
                self.skip_spaces();
                if indentless && self.items.len() == base {
                    mark = self.mark(self.pos, self.pos);
                }
                self.node(depth + 1, Place::Item)?
            };
            self.items.push(item);
            match self.ind {
                Some(i) if i == n && self.at_dash() => {}
                _ => break,
            }
        }
        let items = self.items.drain(base..).collect();
        Some(Node::new(Value::Seq(items), mark, mark))
    }

    /// A flow collection that opens and closes on this line.
    fn flow(&mut self, depth: usize) -> Option<Node> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.events += 2;
        let open = self.pos;
        let mapping = self.b[open] == b'{';
        let close = if mapping { b'}' } else { b']' };
        self.pos += 1;
        let (pairs, items) = (self.pairs.len(), self.items.len());
        self.skip_spaces();
        if self.b.get(self.pos) == Some(&close) {
            self.pos += 1;
        } else {
            loop {
                if mapping {
                    let key = self.scalar(true)?;
                    if key.chars > MAX_KEY || !self.at_colon() {
                        return None;
                    }
                    self.pos += 1;
                    self.skip_spaces();
                    let value = self.flow_node(depth + 1)?;
                    self.pairs.push((key, value));
                } else {
                    let item = self.flow_node(depth + 1)?;
                    self.items.push(item);
                    self.skip_spaces();
                    if self.b.get(self.pos) == Some(&b':') {
                        return None;
                    }
                }
                self.skip_spaces();
                match self.b.get(self.pos) {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_spaces();
                        if self.b.get(self.pos) == Some(&close) {
                            return None;
                        }
                    }
                    Some(&c) if c == close => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let value = if mapping {
            Value::Map(self.pairs.drain(pairs..).collect())
        } else {
            Value::Seq(self.items.drain(items..).collect())
        };
        Some(self.at(value, open, open + 1))
    }

    fn flow_node(&mut self, depth: usize) -> Option<Node> {
        match self.b.get(self.pos)? {
            b'{' | b'[' => self.flow(depth),
            _ => self.scalar(true),
        }
    }

    /// A one-line scalar at `pos`; `flow` inside a flow collection.
    fn scalar(&mut self, flow: bool) -> Option<Node> {
        self.events += 1;
        match self.b.get(self.pos)? {
            &q @ (b'"' | b'\'') => self.quoted(q),
            _ => self.plain(flow),
        }
    }

    fn plain(&mut self, flow: bool) -> Option<Node> {
        let b = self.b;
        let from = self.pos;
        let indicator = |c: u8| matches!(c, b',' | b'[' | b']' | b'{' | b'}');
        let first = b[from];
        if indicator(first)
            || matches!(first, b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b' ' | b'\n')
        {
            return None;
        }
        if matches!(first, b'-' | b'?' | b':') {
            match b.get(from + 1) {
                None | Some(b' ' | b'\n') => return None,
                Some(&c) if flow && indicator(c) => return None,
                _ => {}
            }
        }
        let mut to = from;
        let mut i = from;
        while i < self.end {
            let c = b[i];
            if c == b':' {
                match b.get(i + 1) {
                    None | Some(b' ' | b'\n') => break,
                    Some(&n) if flow && indicator(n) => break,
                    _ => {}
                }
            } else if (c == b'#' && b[i - 1] == b' ') || (flow && indicator(c)) {
                break;
            }
            i += 1;
            if c != b' ' {
                to = i;
            }
        }
        self.pos = to;
        let value = scalar(self.s[from..to].to_string(), ScalarStyle::Plain)?;
        Some(self.at(value, from, to))
    }

    /// A one-line quoted scalar: `'…'` (a quote doubled is one) or `"…"`
    /// (with escapes).
    fn quoted(&mut self, quote: u8) -> Option<Node> {
        let from = self.pos;
        let mut out = String::new();
        let mut seg = from + 1;
        let mut i = seg;
        loop {
            let c = *self.b.get(i)?;
            if c == b'\n' {
                return None;
            } else if c == quote && quote == b'\'' && self.b.get(i + 1) == Some(&b'\'') {
                out.push_str(&self.s[seg..=i]);
                i += 2;
                seg = i;
            } else if c == quote {
                break;
            } else if c == b'\\' && quote == b'"' {
                out.push_str(&self.s[seg..i]);
                let (c, len) = self.escape(i + 1)?;
                out.push(c);
                i += 1 + len;
                seg = i;
            } else {
                i += 1;
            }
        }
        out.push_str(&self.s[seg..i]);
        self.pos = i + 1;
        Some(self.at(Value::Str(out), from, i + 1))
    }

    /// The character an escape after `\` stands for, and its length.
    fn escape(&self, at: usize) -> Option<(char, usize)> {
        let c = match *self.b.get(at)? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b' ' => ' ',
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'0' => '\0',
            b'a' => '\u{7}',
            b'b' => '\u{8}',
            b'e' => '\u{1b}',
            b'f' => '\u{c}',
            b'v' => '\u{b}',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            x @ (b'x' | b'u' | b'U') => {
                let n = match x {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let hex = self.s.get(at + 1..at + 1 + n)?;
                if !hex.bytes().all(|d| d.is_ascii_hexdigit()) {
                    return None;
                }
                return Some((char::from_u32(u32::from_str_radix(hex, 16).ok()?)?, 1 + n));
            }
            _ => return None,
        };
        Some((c, 1))
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    fn same(text: &str) -> bool {
        crate::yaml::same_as_serde("the lean reader", super::parse(text), text)
    }

    #[test]
    fn the_plain_files_most_checkpoints_are_read_here_and_match() {
        for text in [
            "checkpoint: 1\ntitle: Benchmark\ngates:\n  - id: g0\n    title: Gate 0\n    checks:\n      - name: c0\n        http: { url: \"http://127.0.0.1:8080/health\" }\n        expect: { status: 200, json: { $.status: ok } }\n",
            "a: 1\nb:\n  - { c: \"x y\" }\na: 2\n",
            "# comment\na: 'it''s' # trailing\nb: \"tab\\there \\u00e9 \\\"q\\\" \\\\ \\/\"\n",
            "é: ünïcödé text — ok\nzé: \"€€\"\nk: [a, b, {c: d}]\nnext: après\n",
            "empty_flow: {}\nempty_seq: []\nnull_: null\ntilde: ~\nt: true\nf: false\nneg: -12\nzero: 0\n",
            "- a\n- - b\n  - c\n- {}\n- []\n-   spaced: 1\n    more: 2\n",
            "top",
            "  indented: root\n  second: 2\n",
            "timeout: 5s\nwithin: 250ms\nwait: 1m30s\nmax_body: 10MB\nretry: { attempts: 3, every: 2s }\n",
            "d:\n- x\n- z\ne:\n- k: v\n  l: w\n- - m\nf: 1\n",
            "a:\n    - x\n    -\n      w: 1\nb:\n  c:\n    d: [1, [2, [3]], {e: f}]\n",
            "url: http://a:8000/x?y=z#frag\nhash: a#b\nc: x # comment\n'quoted key': 1\n\"dq key\": 2\n",
            "a: b\n\n\n   # indented comment\n\nc: d\n# last",
            "k: {url: http://x:1/y, num: -1, m: [a:b, c]}\n",
            "s: \"\\x41\\u263A\\U0001F600 \\0\\a\\b\\e\\f\\v\\N\\_\\L\\P\\ \"\n",
            "key:\n  plain value on its own line\nnext: 1\n",
        ] {
            assert!(same(text), "the lean reader should read this one:\n{text}");
        }
    }

    #[test]
    fn everything_else_falls_back_or_matches() {
        let lean_only = [
            "a: [1, 2,]\n",
            "a: {b: 1,}\n",
            "a: {b}\n",
            "a: {b: }\n",
            "a: {\"b\":1}\n",
            "a: [b: 1]\n",
            "a:\n  - b\n   c: d\n",
            "a: 1\n- b\n",
            "- a\nb: 1\n",
            "a: 1\n b: 2\n",
            "a: x\n  continued\n",
            "a: x\n  # comment\n  continued\n",
            "- x\n  continued\n",
            "a:\nb: 1\n",
            "a:\n",
            "-\n- x\n",
            "d:\n-\n  x\n",
            "---\na: 1\n",
            "a: 1\n...\n",
            "\n\n",
            "a: \"double\n  folded\"\n",
            "a: \"bad \\q escape\"\n",
            "a: \"\\ud800\"\n",
            "a: |\n  lit\n",
            "a: >\n  folded\n",
            "? complex\n: value\n",
            "a:\tb\n",
            "a: 1\r\nb: 2\r\n",
            "a: \"x\"#c\n",
            "a: \"x\" y\n",
            "a: 'x' #c\n",
            "a : b\n",
            "a:b\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: @x\n",
            "a: `x`\n",
            "a: -\n",
            "a: - b\n",
            "- - - - x\n",
            "a:\n  b:\n    c:\n      d: {e: [f, {g: h}]}\n",
            "\u{85}: 1\n",
            "a: \u{2028}\n",
            "[a, b]\n",
            "{a: 1}\n",
            "[a, b]: c\n",
            "- [a, b]\n  - c\n",
            "a: [x] y\n",
            "a: {b: c} # ok\n",
        ];
        for text in crate::yaml::ODD_FILES.iter().chain(&lean_only) {
            same(text);
        }
        assert!(super::parse("a: [1, 2\n").is_none());
    }

    #[test]
    fn deep_or_large_files_are_left_to_the_budgeted_parser() {
        let deep = "- ".repeat(60) + "x\n";
        assert!(super::parse(&deep).is_none());
        same(&deep);
        let deep_flow = "[".repeat(60) + &"]".repeat(60);
        assert!(super::parse(&deep_flow).is_none());
        let long_key = format!("{}: 1\n", "k".repeat(600));
        assert!(super::parse(&long_key).is_none());
        let many = "- x\n".repeat(crate::yaml::MAX_NODES);
        assert!(super::parse(&many).is_none());
    }

    #[test]
    fn every_yaml_file_of_the_repo_gives_the_same_tree() {
        let files = crate::yaml::repo_yaml_files(&["checkpoints", "fixtures", "crates", ".github"]);
        let mut lean = 0;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            if crate::yaml::parse_serde(&text).is_ok() && same(&text) {
                lean += 1;
            }
        }
        assert!(lean * 3 > files.len() * 2, "most files should be read here ({lean} of {})", files.len());
    }

    /// A small deterministic generator (xorshift): the same files every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
            from[self.below(from.len())]
        }
    }

    const SCALARS: &[&str] = &[
        "word",
        "two words",
        "5s",
        "250ms",
        "200",
        "-3",
        "0",
        "007",
        "true",
        "False",
        "null",
        "~",
        "yes",
        "1.5",
        "http://x:8000/a?b=c",
        "$.status",
        "${VAR:-d}",
        "é ü",
        "—dash",
        "\"quoted \\\" x\"",
        "'it''s'",
        "\"\\u00e9\\n\"",
        "a#b",
        "x # note",
        "-x",
        ":x",
        "?x",
        "a:b",
        "''",
        "\"\"",
        "[a, b]",
        "{a: b, c: [d]}",
        "[]",
        "{}",
        "[a, {b: 1}]",
        "{u: http://h:1/p}",
        "\"€\"",
        "1e3",
        "0x1F",
        "~x",
        "a,b",
        "ok]",
    ];
    const KEYS: &[&str] = &["a", "b", "name", "id", "http", "$.x", "\"q k\"", "'s k'", "200", "true", "é", "k-1"];

    fn block(rng: &mut Rng, out: &mut String, indent: usize, depth: usize) {
        let pad = " ".repeat(indent);
        if depth > 3 || rng.below(3) == 0 {
            let _ = writeln!(out, "{pad}{}", rng.pick(SCALARS));
            return;
        }
        let seq = rng.below(2) == 0;
        for _ in 0..=rng.below(3) {
            match rng.below(8) {
                0 => out.push('\n'),
                1 => {
                    let _ = writeln!(out, "{}# note", " ".repeat(rng.below(6)));
                }
                _ => {}
            }
            if seq {
                match rng.below(5) {
                    0 => {
                        let _ = writeln!(out, "{pad}-");
                        block(rng, out, indent + 2, depth + 1);
                    }
                    1 => {
                        // A compact mapping: `- key: value` and its siblings below.
                        let _ = write!(out, "{pad}- ");
                        let mut inner = String::new();
                        block_map(rng, &mut inner, indent + 2, depth + 1);
                        out.push_str(inner.trim_start_matches(' '));
                    }
                    2 => {
                        let _ = write!(out, "{pad}- ");
                        let mut inner = String::new();
                        block(rng, &mut inner, indent + 2, depth + 1);
                        out.push_str(inner.trim_start_matches(' '));
                    }
                    _ => {
                        let _ = writeln!(out, "{pad}- {}", rng.pick(SCALARS));
                    }
                }
            } else {
                block_map_entry(rng, out, indent, depth);
            }
        }
    }

    fn block_map(rng: &mut Rng, out: &mut String, indent: usize, depth: usize) {
        for _ in 0..=rng.below(3) {
            block_map_entry(rng, out, indent, depth);
        }
    }

    fn block_map_entry(rng: &mut Rng, out: &mut String, indent: usize, depth: usize) {
        let pad = " ".repeat(indent);
        let key = rng.pick(KEYS);
        match rng.below(4) {
            0 => {
                let _ = writeln!(out, "{pad}{key}:");
                let deeper = [indent + 2, indent + 4, indent][rng.below(3)];
                if deeper == indent {
                    // A sequence at its key's indentation.
                    let _ = writeln!(out, "{pad}- {}", rng.pick(SCALARS));
                    let _ = writeln!(out, "{pad}- {}", rng.pick(SCALARS));
                } else {
                    block(rng, out, deeper, depth + 1);
                }
            }
            1 => {
                let _ = writeln!(out, "{pad}{key}: {}  # why", rng.pick(SCALARS));
            }
            _ => {
                let _ = writeln!(out, "{pad}{key}: {}", rng.pick(SCALARS));
            }
        }
    }

    /// One small edit: a byte dropped or added, a line moved or re-indented.
    fn mutate(rng: &mut Rng, text: &str) -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.is_empty() {
            return text.to_string();
        }
        let l = rng.below(lines.len());
        match rng.below(5) {
            0 => {
                let line = &mut lines[l];
                let cuts: Vec<usize> = line.char_indices().map(|(i, _)| i).collect();
                if !cuts.is_empty() {
                    line.remove(cuts[rng.below(cuts.len())]);
                }
            }
            1 => {
                let line = &mut lines[l];
                let at: Vec<usize> = line.char_indices().map(|(i, _)| i).chain([line.len()]).collect();
                let c =
                    [':', ' ', '-', '#', '"', '\'', '{', '}', '[', ']', ',', '&', '*', '|', '\\', 'é'][rng.below(16)];
                line.insert(at[rng.below(at.len())], c);
            }
            2 => {
                let m = rng.below(lines.len());
                lines.swap(l, m);
            }
            3 => lines[l].insert_str(0, [" ", "  ", "   "][rng.below(3)]),
            _ => {
                let trimmed = lines[l].trim_start_matches(' ').len();
                let cut = (lines[l].len() - trimmed).min(1 + rng.below(2));
                lines[l].drain(..cut);
            }
        }
        lines.join("\n") + "\n"
    }

    #[test]
    fn generated_and_mutated_files_fall_back_or_match() {
        let mut rng = Rng(0x5eed_cafe_f00d_d00d);
        let (mut files, mut read, mut mutants, mut mutants_read) = (0, 0, 0, 0);
        for _ in 0..4000 {
            let mut text = String::new();
            block(&mut rng, &mut text, 0, 0);
            files += 1;
            read += usize::from(same(&text));
            for _ in 0..4 {
                let m = mutate(&mut rng, &text);
                mutants += 1;
                mutants_read += usize::from(same(&m));
            }
        }
        assert!(read * 2 > files, "most generated files should be read here ({read} of {files})");
        assert!(mutants_read > 0 && mutants_read < mutants, "{mutants_read} of {mutants} mutants read here");
    }
}

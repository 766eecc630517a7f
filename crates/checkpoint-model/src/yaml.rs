//! The YAML of a checkpoint file as a tree of spanned nodes, kept next to the
//! typed mirror ([`crate::raw`]) for two jobs serde cannot do:
//!
//! - finding *every* shape problem of a file in one pass ([`crate::shape`]):
//!   serde stops at the first unknown key or wrong type;
//! - pointing diagnostics at the exact key or value they are about (a `needs`
//!   entry, a URL, the `${VAR}` inside a string), with carets as wide as it.
//!
//! Both parses use [`options`]: an explicit budget, so a "billion laughs"
//! alias bomb or a deeply nested document is refused early instead of
//! exhausting memory.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Budget, DuplicateKeyPolicy, Options, Spanned};

use crate::diag::Location;

mod events;
mod lean;
pub(crate) mod typed;

/// Most YAML nodes (scalars, lists, mappings) a checkpoint file may expand to,
/// aliases included. The largest shipped checkpoint has about two thousand.
pub(crate) const MAX_NODES: usize = 100_000;

/// Parser options for checkpoint files. `duplicate_keys` differs between the
/// two parses: the tree keeps duplicates so [`crate::shape`] can report each
/// with both places; the typed parse refuses them.
pub(crate) fn options(keep_duplicates: bool) -> Options {
    let mut budget = Budget::default();
    budget.max_nodes = MAX_NODES;
    budget.max_events = 4 * MAX_NODES;
    budget.max_aliases = 10_000;
    budget.max_anchors = 10_000;
    budget.max_depth = 48;
    budget.max_documents = 1;
    let mut o = Options::default();
    o.budget = Some(budget);
    o.alias_limits.max_total_replayed_events = 4 * MAX_NODES;
    o.duplicate_keys = if keep_duplicates { DuplicateKeyPolicy::PassThrough } else { DuplicateKeyPolicy::Error };
    o.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::PassThrough;
    o
}

/// Parses a whole file into a tree: read by hand when the file is as plain
/// as most are ([`lean`]), else straight from the parser's events when it is
/// plain enough ([`events`]), else through serde-saphyr, whose errors the
/// loader words. The three give the same tree wherever they all take a file.
pub(crate) fn parse(text: &str) -> Result<Node, serde_saphyr::Error> {
    match lean::parse(text).or_else(|| events::parse(text)) {
        Some(n) => Ok(n),
        None => parse_serde(text),
    }
}

/// The tree through serde-saphyr's deserializer (the reference [`events`] is
/// compared with).
pub(crate) fn parse_serde(text: &str) -> Result<Node, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, options(true))
}

/// One YAML node and where it is. Kept small (64 bytes): a file of a
/// thousand checks is tens of thousands of nodes, moved as the tree is built,
/// and their pages are a good part of loading it. Positions are `u32`: a
/// checkpoint file is at most [`crate::load::MAX_FILE_BYTES`].
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) value: Value,
    /// 1-based line and column (in characters).
    pub(crate) line: u32,
    pub(crate) col: u32,
    /// Length in characters, as the caret should be drawn.
    pub(crate) chars: u32,
    /// Offset in characters, and the byte range in the source (start and
    /// length; start [`NO_BYTES`] when unknown; collections have length 0
    /// or 1): with the fields above, the [`Mark`] the parser put the node at.
    offset: u32,
    bytes: (u32, u32),
    /// Where it is defined, when that is elsewhere (through an alias).
    defined_elsewhere: Option<Box<Mark>>,
}

/// [`Node::bytes`]' start when the parser gave no byte range.
const NO_BYTES: u32 = u32::MAX;

/// A position as the `u32` nodes and serde-saphyr keep, `u32::MAX` when
/// it does not fit (files are far smaller: [`crate::load::MAX_FILE_BYTES`]).
pub(crate) fn saturating_u32(x: u64) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

/// A [`serde_saphyr::Location`]'s contents (which only serde-saphyr can
/// make): 1-based line and column, the span in characters, and in bytes
/// when known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) line: u32,
    pub(crate) column: u32,
    pub(crate) offset: u64,
    pub(crate) len: u64,
    pub(crate) bytes: Option<(u64, u64)>,
}

impl From<serde_saphyr::Location> for Mark {
    fn from(l: serde_saphyr::Location) -> Self {
        let span = l.span();
        Mark {
            line: saturating_u32(l.line()),
            column: saturating_u32(l.column()),
            offset: span.offset(),
            len: span.len(),
            bytes: span.byte_offset().zip(span.byte_len()),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// A node at `referenced` (its own place) and `defined`.
    pub(crate) fn new(value: Value, referenced: Mark, defined: Mark) -> Node {
        let bytes = match referenced.bytes {
            Some((o, n)) if o < u64::from(NO_BYTES) => (saturating_u32(o), saturating_u32(n)),
            _ => (NO_BYTES, 0),
        };
        Node {
            value,
            line: referenced.line,
            col: referenced.column,
            chars: saturating_u32(referenced.len),
            offset: saturating_u32(referenced.offset),
            bytes,
            defined_elsewhere: (defined != referenced).then(|| Box::new(defined)),
        }
    }

    /// The node's bytes in the source, when known.
    pub(crate) fn byte_range(&self) -> Option<std::ops::Range<usize>> {
        let (o, n) = self.bytes;
        if o == NO_BYTES {
            return None;
        }
        let start = usize::try_from(o).ok()?;
        Some(start..start.checked_add(usize::try_from(n).ok()?)?)
    }

    /// Where the parser put it.
    pub(crate) fn referenced(&self) -> Mark {
        let (o, n) = self.bytes;
        Mark {
            line: self.line,
            column: self.col,
            offset: u64::from(self.offset),
            len: u64::from(self.chars),
            bytes: (o != NO_BYTES).then_some((u64::from(o), u64::from(n))),
        }
    }

    /// Where it is defined (through an alias, the anchor's place).
    pub(crate) fn defined(&self) -> Mark {
        self.defined_elsewhere.as_deref().copied().unwrap_or_else(|| self.referenced())
    }

    pub(crate) fn location(&self, file: &str) -> Location {
        Location::new(file, self.line.max(1), self.col.max(1))
    }

    /// Caret width: the scalar's length, or `None` for a collection (the
    /// renderer then underlines the token at the position).
    pub(crate) fn width(&self) -> Option<usize> {
        match self.value {
            Value::Seq(_) | Value::Map(_) => None,
            _ if self.chars == 0 => None,
            _ => usize::try_from(self.chars).ok(),
        }
    }

    pub(crate) fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub(crate) fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar as the text a key comparison or a message should use.
    pub(crate) fn key_text(&self) -> String {
        match &self.value {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Str(s) => s.clone(),
            Value::Seq(_) => "[…]".into(),
            Value::Map(_) => "{…}".into(),
        }
    }

    /// [`Node::key_text`], borrowed when the key is a string (most are).
    pub(crate) fn key_str(&self) -> std::borrow::Cow<'_, str> {
        match &self.value {
            Value::Str(s) => std::borrow::Cow::Borrowed(s),
            _ => std::borrow::Cow::Owned(self.key_text()),
        }
    }

    /// The key node and value node of `key` in a mapping.
    pub(crate) fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?.iter().find(|(k, _)| k.key_str() == key).map(|(k, v)| (k, v))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    pub(crate) fn key(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(k, _)| k)
    }

    pub(crate) fn at(&self, i: usize) -> Option<&Node> {
        self.as_seq()?.get(i)
    }

    /// What this node is, for messages: "a list", "a string (`foo`)".
    pub(crate) fn describe(&self) -> String {
        fn cut(s: &str) -> String {
            if s.chars().count() > 40 {
                format!("{}…", s.chars().take(39).collect::<String>())
            } else {
                s.to_string()
            }
        }
        match &self.value {
            Value::Null => "nothing".into(),
            Value::Bool(b) => format!("`{b}`"),
            Value::Int(i) => format!("the number `{i}`"),
            Value::Float(f) => format!("the number `{f}`"),
            Value::Str(s) => format!("the text `{}`", cut(s)),
            Value::Seq(_) => "a list".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }

    /// Every string scalar under this node, depth first.
    pub(crate) fn strings<'a>(&'a self, out: &mut Vec<&'a Node>) {
        match &self.value {
            Value::Str(_) => out.push(self),
            Value::Seq(s) => s.iter().for_each(|n| n.strings(out)),
            Value::Map(m) => m.iter().for_each(|(_, v)| v.strings(out)),
            _ => {}
        }
    }
}

/// The 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let mut cut = offset;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let before = &text[..cut];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(col).unwrap_or(u32::MAX))
}

/// Every `${NAME…}` in a string scalar's source text: the name, its location
/// and the width of the reference (up to its closing brace when on the line).
pub(crate) fn var_refs(text: &str, node: &Node, file: &str) -> Vec<(String, Location, usize)> {
    let Some(range) = node.byte_range() else { return Vec::new() };
    let start = range.start;
    let Some(src) = text.get(range) else { return Vec::new() };
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = src[from..].find("${") {
        let at = from + i;
        let rest = &src[at + 2..];
        let name: String =
            rest.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')).collect();
        let after = &rest[name.len()..];
        let tail = match after.chars().next() {
            Some('}') => 1,
            // `${A:-…}`: underline the name and its operator only.
            _ => after.chars().take_while(|c| matches!(c, ':' | '-' | '?')).count(),
        };
        let width = 2 + name.chars().count() + tail;
        let (line, col) = line_col(text, start + at);
        out.push((name, Location::new(file, line, col), width));
        from = at + 2;
    }
    out
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Value>::deserialize(d)?;
        Ok(Node::new(s.value, s.referenced.into(), s.defined.into()))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(i128::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = a.next_element::<Node>()? {
            v.push(x);
        }
        Ok(Value::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(k) = a.next_key::<Node>()? {
            let x = a.next_value::<Node>()?;
            v.push((k, x));
        }
        Ok(Value::Map(v))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _a: A) -> Result<Value, A::Error> {
        Err(de::Error::custom("YAML tags (`!name`) are not part of the checkpoint format"))
    }
}

/// Near misses for the fast readers ([`events`], [`lean`]): each must fall
/// back, or give serde-saphyr's tree.
#[cfg(test)]
pub(crate) const ODD_FILES: &[&str] = &[
    "a: &x {b: 1}\nc: *x\n",
    "a: !tag x\n",
    "<<: {a: 1}\n",
    "a: 1.5\nb: .inf\nc: NaN\nd: yes\ne: 0x10\nf: 007\ng: 1e3\nh: True\ni: 5s\n",
    "a: 0b101\nb: 0o17\nc: 1_000\nd: 1:30\ne: 1E5\nf: 2e\ng: 0s\nh: 3X\ni: 1.5s\nj: +5s\n",
    "a: 123456789012345678901234567890\n",
    "a: -inf\n",
    "a: -.inf\n",
    "a: -Infinity\n",
    "a: -nan\n",
    "a: 2002-12-14\n",
    "a: +c\n",
    "a: 1.2.\n",
    "a: .1.2\n",
    "a: 1..2\n",
    "a: -y\n",
    "a: -True\n",
    "a: 12:30:00\n",
    "a: 1e3s\n",
    "a: 0x1Fg\n",
    "a: [1, 2\n",
    "a: b: c\n",
    "a:\n  - b\n c: d\n",
    "\u{feff}a: 1\n",
    "a: 1\n---\nb: 2\n",
    "k: v\n---\n",
    "",
    "# only a comment\n",
    "\"key with\\nnewline\": 1\n",
    "a: 'single\n\n  quoted'\n",
];

/// A fast reader's tree of `text`, when it gave one, is serde-saphyr's to
/// the last span and value (else the test fails, naming `reader`); returns
/// whether it gave one.
#[cfg(test)]
pub(crate) fn same_as_serde(reader: &str, tree: Option<Node>, text: &str) -> bool {
    let Some(fast) = tree else { return false };
    let reference =
        parse_serde(text).unwrap_or_else(|e| panic!("{reader} took what serde-saphyr refuses ({e}):\n{text}"));
    assert_eq!(format!("{fast:#?}"), format!("{reference:#?}"), "{reader}: the trees differ for:\n{text}");
    true
}

/// Every `.yaml`/`.yml` file under these folders of the repository (tests
/// that compare the two ways of reading a file run over all of them).
#[cfg(test)]
pub(crate) fn repo_yaml_files(dirs: &[&str]) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")) {
                out.push(p);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for d in dirs {
        walk(&root.join(d), &mut files);
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_widths_and_duplicates() {
        let text = "a: 1\nb:\n  - { c: \"x y\" }\na: 2\n";
        let n = parse(text).unwrap();
        let m = n.as_map().unwrap();
        assert_eq!(m.len(), 3, "duplicates are kept for the shape pass");
        let c = n.get("b").unwrap().at(0).unwrap().get("c").unwrap();
        assert_eq!((c.line, c.col, c.width()), (3, 10, Some(5)));
        assert_eq!(&text[c.byte_range().unwrap()], "\"x y\"");
    }

    #[test]
    fn a_node_stays_small_and_keeps_both_marks() {
        // Tens of thousands of nodes are moved while a large file is read.
        assert!(std::mem::size_of::<Node>() <= 64, "Node is {} bytes", std::mem::size_of::<Node>());
        let at = |line| Mark { line, column: 3, offset: 40, len: 5, bytes: Some((41, 5)) };
        let same = Node::new(Value::Null, at(2), at(2));
        assert_eq!((same.referenced(), same.defined()), (at(2), at(2)));
        let alias = Node::new(Value::Null, at(7), at(2));
        assert_eq!((alias.referenced(), alias.defined()), (at(7), at(2)));
    }

    #[test]
    fn finds_var_refs_in_source() {
        let text = "url: \"http://${service.api.8000}/x?${Q:-1}\"\n";
        let n = parse(text).unwrap();
        let refs = var_refs(text, n.get("url").unwrap(), "f");
        assert_eq!(refs[0].0, "service.api.8000");
        assert_eq!((refs[0].1.line, refs[0].1.col, refs[0].2), (1, 14, 19));
        assert_eq!((refs[1].0.as_str(), refs[1].1.col, refs[1].2), ("Q", 36, 5));
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\n€x", 6), (2, 2));
        assert_eq!(line_col("", 10), (1, 1));
    }
}

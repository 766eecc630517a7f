//! The typed mirror ([`crate::raw`]) read from the [`Node`] tree instead of
//! from the text a second time: a [`serde::Deserializer`] over the tree that
//! speaks serde-saphyr's protocol for [`serde_saphyr::Spanned`] (a marked
//! map of `value`, `referenced`, `defined`), so every span is the one the
//! text parse would give.
//!
//! It is strict on purpose: whatever it is not sure to read exactly as
//! serde-saphyr does (a number or `null` where text is expected, a key that
//! is not text, a key written twice) is an error, and the loader then parses
//! the text as before — so an odd file costs a second parse, never a
//! different result or a different message.

use std::fmt;

use super::{Mark, Node, Value, saturating_u32};
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};

/// Not read from the tree: the loader falls back to parsing the text.
#[derive(Debug)]
pub(crate) struct Fallback(String);

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Fallback {}

impl de::Error for Fallback {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// The rest of a `Deserializer` whose `deserialize_any` knows the value's
/// type: every other `deserialize_*` forwards to it.
macro_rules! forward_all_to_any {
    () => {
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map struct enum identifier ignored_any
        }
    };
}

/// `T` from the tree, or why not.
pub(crate) fn from_node<'de, T: de::Deserialize<'de>>(node: &Node) -> Result<T, Fallback> {
    T::deserialize(NodeDe(node))
}

/// serde-saphyr's name for the newtype a `Spanned<T>` asks for, and the
/// first key of the map it then expects.
const SPANNED: &str = "__yaml_spanned";
const SPANNED_MARKER: &str = "__serde_saphyr_private_spanned";

#[derive(Clone, Copy)]
struct NodeDe<'a>(&'a Node);

impl NodeDe<'_> {
    fn unsure(self, what: &str) -> Fallback {
        Fallback(format!("{what} at {}:{}", self.0.line, self.0.col))
    }
}

fn visit_int<'de, V: Visitor<'de>>(i: i128, v: V) -> Result<V::Value, Fallback> {
    if let Ok(u) = u64::try_from(i) {
        v.visit_u64(u)
    } else if let Ok(s) = i64::try_from(i) {
        v.visit_i64(s)
    } else {
        v.visit_i128(i)
    }
}

macro_rules! numbers {
    ($($name:ident),* $(,)?) => {
        $(fn $name<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
            match &self.0.value {
                Value::Int(i) => visit_int(*i, v),
                Value::Float(f) => v.visit_f64(*f),
                _ => Err(self.unsure("not a number")),
            }
        })*
    };
}

impl<'de> Deserializer<'de> for NodeDe<'_> {
    type Error = Fallback;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        match &self.0.value {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Int(i) => visit_int(*i, v),
            Value::Float(f) => v.visit_f64(*f),
            Value::Str(s) => v.visit_str(s),
            Value::Seq(items) => v.visit_seq(Seq(items.iter())),
            Value::Map(entries) => v.visit_map(Map::new(entries)?),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        match &self.0.value {
            Value::Bool(b) => v.visit_bool(*b),
            _ => Err(self.unsure("not a boolean")),
        }
    }

    numbers!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
    );

    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        match &self.0.value {
            Value::Str(s) => v.visit_str(s),
            _ => Err(self.unsure("not text")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        self.deserialize_str(v)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        self.deserialize_str(v)
    }

    fn deserialize_char<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, Fallback> {
        Err(self.unsure("a character"))
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, Fallback> {
        Err(self.unsure("bytes"))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, Fallback> {
        Err(self.unsure("bytes"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        match &self.0.value {
            Value::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        match &self.0.value {
            Value::Null => v.visit_unit(),
            _ => Err(self.unsure("not null")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _n: &'static str, v: V) -> Result<V::Value, Fallback> {
        self.deserialize_unit(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, v: V) -> Result<V::Value, Fallback> {
        if name == SPANNED { v.visit_newtype_struct(SpannedDe(self.0)) } else { v.visit_newtype_struct(self) }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        match &self.0.value {
            Value::Seq(items) => v.visit_seq(Seq(items.iter())),
            _ => Err(self.unsure("not a list")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, v: V) -> Result<V::Value, Fallback> {
        self.deserialize_seq(v)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _n: &'static str,
        _len: usize,
        v: V,
    ) -> Result<V::Value, Fallback> {
        self.deserialize_seq(v)
    }

    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        match &self.0.value {
            Value::Map(entries) => v.visit_map(Map::new(entries)?),
            _ => Err(self.unsure("not a mapping")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _n: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Fallback> {
        self.deserialize_map(v)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _n: &'static str,
        _variants: &'static [&'static str],
        _v: V,
    ) -> Result<V::Value, Fallback> {
        Err(self.unsure("an enum"))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        v.visit_unit()
    }
}

struct Seq<'a>(std::slice::Iter<'a, Node>);

impl<'de> SeqAccess<'de> for Seq<'_> {
    type Error = Fallback;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Fallback> {
        self.0.next().map(|n| seed.deserialize(NodeDe(n))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Map<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
}

impl<'a> Map<'a> {
    /// Keys must be text and written once: anything else is the text parse's to judge.
    fn new(entries: &'a [(Node, Node)]) -> Result<Self, Fallback> {
        for (i, (k, _)) in entries.iter().enumerate() {
            let Value::Str(key) = &k.value else { return Err(NodeDe(k).unsure("a key that is not text")) };
            if entries[..i].iter().any(|(p, _)| matches!(&p.value, Value::Str(x) if x == key)) {
                return Err(NodeDe(k).unsure("a key written twice"));
            }
        }
        Ok(Self { entries: entries.iter(), value: None })
    }
}

impl<'de> MapAccess<'de> for Map<'_> {
    type Error = Fallback;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Fallback> {
        let Some((k, v)) = self.entries.next() else { return Ok(None) };
        self.value = Some(v);
        seed.deserialize(NodeDe(k)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Fallback> {
        let v = self.value.take().ok_or_else(|| Fallback("a value without a key".into()))?;
        seed.deserialize(NodeDe(v))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A `Spanned<T>`: the marked map serde-saphyr's own deserializer makes.
struct SpannedDe<'a>(&'a Node);

impl<'de> Deserializer<'de> for SpannedDe<'_> {
    type Error = Fallback;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        v.visit_map(SpannedMap { node: self.0, step: 0 })
    }

    forward_all_to_any!();
}

struct SpannedMap<'a> {
    node: &'a Node,
    step: u8,
}

impl<'de> MapAccess<'de> for SpannedMap<'_> {
    type Error = Fallback;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Fallback> {
        let key = match self.step {
            0 => SPANNED_MARKER,
            1 => "value",
            2 => "referenced",
            3 => "defined",
            _ => return Ok(None),
        };
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Fallback> {
        let step = self.step;
        self.step += 1;
        match step {
            0 => seed.deserialize(().into_deserializer()),
            1 => seed.deserialize(NodeDe(self.node)),
            2 => seed.deserialize(LocationDe(self.node.referenced())),
            _ => seed.deserialize(LocationDe(self.node.defined())),
        }
    }
}

/// A [`Mark`] as `serde_saphyr::Location`'s own `Deserialize` reads it.
struct LocationDe(Mark);

impl<'de> Deserializer<'de> for LocationDe {
    type Error = Fallback;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        let l = self.0;
        // serde-saphyr's mark for "no byte offsets" (u32::MAX twice).
        let bytes = l.bytes.map_or((u32::MAX, u32::MAX), |(o, n)| (saturating_u32(o), saturating_u32(n)));
        let fields = [
            ("line", Field::U32(l.line)),
            ("column", Field::U32(l.column)),
            ("span", Field::Span { offset: saturating_u32(l.offset), len: saturating_u32(l.len), bytes }),
            // One source per parse: serde-saphyr numbers it 0.
            ("source_id", Field::U32(0)),
        ];
        v.visit_map(MapDeserializer::new(fields.into_iter()))
    }

    forward_all_to_any!();
}

#[derive(Clone)]
enum Field {
    U32(u32),
    Pair(u32, u32),
    /// A `Span`'s map (built where it is read: no allocation per location).
    Span {
        offset: u32,
        len: u32,
        bytes: (u32, u32),
    },
}

impl IntoDeserializer<'_, Fallback> for Field {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Field {
    type Error = Fallback;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Fallback> {
        match self {
            Self::U32(x) => v.visit_u32(x),
            Self::Pair(a, b) => v.visit_seq(SeqDeserializer::new([a, b].into_iter())),
            Self::Span { offset, len, bytes } => v.visit_map(MapDeserializer::new(
                [("offset", Self::U32(offset)), ("len", Self::U32(len)), ("byte_info", Self::Pair(bytes.0, bytes.1))]
                    .into_iter(),
            )),
        }
    }

    forward_all_to_any!();
}

#[cfg(test)]
mod tests {
    use super::from_node;
    use crate::raw::RawCheckpoint;

    /// The tree's reading, when it has one, is the text parse's to the last
    /// span; `None` when the tree declines (the loader then parses the text).
    fn both(text: &str) -> Option<String> {
        let tree = crate::yaml::parse(text).ok()?;
        let from_tree = from_node::<RawCheckpoint>(&tree).ok()?;
        let from_text = serde_saphyr::from_str_with_options::<RawCheckpoint>(text, crate::yaml::options(false));
        let from_text =
            from_text.unwrap_or_else(|e| panic!("the tree read what the text parse refuses ({e}):\n{text}"));
        let (a, b) = (format!("{from_tree:#?}"), format!("{from_text:#?}"));
        assert_eq!(a, b, "the tree and the text differ for:\n{text}");
        Some(a)
    }

    #[test]
    fn every_checkpoint_file_of_the_repo_reads_the_same_from_the_tree() {
        let files = crate::yaml::repo_yaml_files(&["checkpoints", "fixtures/checkpoints", "fixtures/demo"]);
        let mut read = 0;
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else { continue };
            if text.contains("gates:") && both(&text).is_some() {
                read += 1;
            }
        }
        assert!(read >= 30, "the tree read only {read} of {} files", files.len());
    }

    /// Mutated copies of the repository's checkpoint files (a fixed seed):
    /// wherever the tree reads one, the text parse reads the same.
    #[test]
    fn mutated_files_read_the_same_from_the_tree_or_fall_back() {
        const TOKENS: &[&str] = &[
            "{",
            "}",
            "[",
            "]",
            ": ",
            "- ",
            ",",
            "\n",
            "  ",
            "&a ",
            "*a",
            "<<: *a",
            "!tag ",
            "~",
            "null",
            "yes",
            "no",
            "1",
            "-1",
            "1.5",
            ".nan",
            "0x1F",
            "\"",
            "'",
            "#",
            "${X}",
            "é",
            "title: x\n",
            "name: y\n",
        ];
        let files = crate::yaml::repo_yaml_files(&["fixtures/checkpoints/valid", "checkpoints"]);
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            usize::try_from(state.wrapping_mul(0x2545_F491_4F6C_DD1D) % (n.max(1) as u64)).unwrap_or(0)
        };
        let (mut tried, mut read) = (0, 0);
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else { continue };
            if !text.contains("gates:") {
                continue;
            }
            for _ in 0..100 {
                let mut t = text.clone();
                for _ in 0..=next(3) {
                    let mut at = next(t.len() + 1);
                    while !t.is_char_boundary(at) {
                        at -= 1;
                    }
                    let token = TOKENS[next(TOKENS.len())];
                    if next(2) == 0 {
                        t.insert_str(at, token);
                    } else {
                        let mut end = (at + token.len()).min(t.len());
                        while !t.is_char_boundary(end) {
                            end += 1;
                        }
                        t.replace_range(at..end, token);
                    }
                }
                tried += 1;
                if both(&t).is_some() {
                    read += 1;
                }
            }
        }
        assert!(tried >= 1000 && read >= tried / 10, "tried {tried}, the tree read {read}");
    }

    #[test]
    fn odd_values_read_the_same_or_fall_back() {
        let cases = [
            // Aliases: a spanned value through `*a` keeps where it is defined.
            "checkpoint: 1\ntitle: t\nvars: { A: &a \"x\", B: *a }\ngates: []\n",
            // Numbers and booleans where text is expected: the text parse decides.
            "checkpoint: 1\ntitle: 123\ngates: []\n",
            "checkpoint: 1\ntitle: yes\ngates: []\n",
            "checkpoint: final\ntitle: \"quoted: text\"\ngates: []\n",
            // Block scalars, null, empty collections.
            "checkpoint: 1\ntitle: |\n  two\n  lines\ndescription: ~\nincludes: []\ngates: []\n",
            // A check with every spanned place.
            "checkpoint: 1\ntitle: t\ngates:\n  - id: g\n    title: G\n    severity: should\n    needs: [a, b]\n    checks:\n      - name: c\n        http: { url: \"http://x\", form: { a: 1, b: [1] }, json: { k: [1.5, null, true] } }\n        expect: { status: 200, json: { $.a: { gte: 1 } }, headers: { X: y } }\n        capture: { T: $.t, L: { header: location } }\n        timeout: 5s\n        retry: { until: 30s, every: 1s }\n",
            "checkpoint: 1\ntitle: t\ngates:\n  - id: g\n    title: G\n    checks:\n      - name: l\n        latency: { url: \"http://x\", requests: 10, rate: 2.5, concurrency: 2 }\n      - name: f\n        fault: { service: db, action: stop, during: [ { name: d, tcp: { address: \"a:1\" } } ] }\n",
            // Written twice: only the text parse words that.
            "checkpoint: 1\ntitle: t\ntitle: u\ngates: []\n",
            // A key that is not text.
            "checkpoint: 1\ntitle: t\nvars: { 1: x }\ngates: []\n",
            // A large number.
            "checkpoint: 1\ntitle: t\ngates:\n  - id: g\n    title: G\n    checks:\n      - name: c\n        reach: { from: a, to: b, port: 70000 }\n",
        ];
        let read: Vec<bool> = cases.iter().map(|c| both(c).is_some()).collect();
        assert_eq!(read, [true, false, false, true, true, true, true, false, false, false]);
    }
}

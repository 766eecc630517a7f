//! The strings of any serializable value, with where they are: a
//! [`serde::Serializer`] that writes nothing and calls back for every string.
//! One generic walk serves every check kind's spec, so a field added to a
//! spec is covered (interpolated, checked for `${…}`) without a line of code.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

/// One step of the way to a string: a struct field, a map key, a list index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Field(&'static str),
    Key(String),
    Index(usize),
}

/// `http.headers.Authorization`, `redis.commands[0][1]`: `prefix` then the steps.
pub fn path_text(prefix: &str, path: &[Seg]) -> String {
    let mut out = prefix.to_string();
    for seg in path {
        match seg {
            Seg::Field(k) => push_key(&mut out, k),
            Seg::Key(k) => push_key(&mut out, k),
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn push_key(out: &mut String, k: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    out.push_str(k);
}

/// Calls `f` with every string in `value` and its path, in serialization order.
pub fn each_string<T: Serialize + ?Sized>(value: &T, f: &mut dyn FnMut(&[Seg], &str)) {
    let mut w = Walker { path: Vec::new(), f };
    // The walker itself never fails; a value's own `Serialize` may, and then
    // what was walked so far is all there is.
    let _ = value.serialize(&mut w);
}

struct Walker<'f> {
    path: Vec<Seg>,
    f: &'f mut dyn FnMut(&[Seg], &str),
}

#[derive(Debug)]
pub struct Never(String);

impl fmt::Display for Never {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Never {}

impl ser::Error for Never {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

macro_rules! ignore {
    ($($name:ident: $t:ty),* $(,)?) => {
        $(fn $name(self, _v: $t) -> Result<(), Never> { Ok(()) })*
    };
}

impl<'a, 'f> ser::Serializer for &'a mut Walker<'f> {
    type Ok = ();
    type Error = Never;
    type SerializeSeq = Seq<'a, 'f>;
    type SerializeTuple = Seq<'a, 'f>;
    type SerializeTupleStruct = Seq<'a, 'f>;
    type SerializeTupleVariant = Seq<'a, 'f>;
    type SerializeMap = Map<'a, 'f>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    ignore!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_bytes: &[u8],
    );

    fn serialize_str(self, v: &str) -> Result<(), Never> {
        (self.f)(&self.path, v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Never> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_unit_variant(self, _n: &'static str, _i: u32, _v: &'static str) -> Result<(), Never> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _n: &'static str, v: &T) -> Result<(), Never> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _n: &'static str,
        _i: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Never> {
        self.path.push(Seg::Field(variant));
        let r = v.serialize(&mut *self);
        self.path.pop();
        r
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Seq<'a, 'f>, Never> {
        Ok(Seq { w: self, i: 0 })
    }
    fn serialize_tuple(self, _len: usize) -> Result<Seq<'a, 'f>, Never> {
        Ok(Seq { w: self, i: 0 })
    }
    fn serialize_tuple_struct(self, _n: &'static str, _len: usize) -> Result<Seq<'a, 'f>, Never> {
        Ok(Seq { w: self, i: 0 })
    }
    fn serialize_tuple_variant(
        self,
        _n: &'static str,
        _i: u32,
        _v: &'static str,
        _len: usize,
    ) -> Result<Seq<'a, 'f>, Never> {
        Ok(Seq { w: self, i: 0 })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Map<'a, 'f>, Never> {
        Ok(Map { w: self, key: None })
    }
    fn serialize_struct(self, _n: &'static str, _len: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_struct_variant(self, _n: &'static str, _i: u32, _v: &'static str, _len: usize) -> Result<Self, Never> {
        Ok(self)
    }
}

pub struct Seq<'a, 'f> {
    w: &'a mut Walker<'f>,
    i: usize,
}

impl Seq<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.w.path.push(Seg::Index(self.i));
        self.i += 1;
        let r = v.serialize(&mut *self.w);
        self.w.path.pop();
        r
    }
}

/// A sequence's four serde faces: every element walks the same way.
macro_rules! seq_like {
    ($($trait:ident :: $method:ident),* $(,)?) => {
        $(impl ser::$trait for Seq<'_, '_> {
            type Ok = ();
            type Error = Never;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
                self.element(v)
            }
            fn end(self) -> Result<(), Never> {
                Ok(())
            }
        })*
    };
}

seq_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

pub struct Map<'a, 'f> {
    w: &'a mut Walker<'f>,
    key: Option<String>,
}

impl ser::SerializeMap for Map<'_, '_> {
    type Ok = ();
    type Error = Never;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Never> {
        self.key = Some(k.serialize(KeyText).unwrap_or_default());
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Never> {
        self.w.path.push(Seg::Key(self.key.take().unwrap_or_default()));
        let r = v.serialize(&mut *self.w);
        self.w.path.pop();
        r
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

impl ser::SerializeStruct for &mut Walker<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Never> {
        self.path.push(Seg::Field(key));
        let r = v.serialize(&mut **self);
        self.path.pop();
        r
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

impl ser::SerializeStructVariant for &mut Walker<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Never> {
        ser::SerializeStruct::serialize_field(self, key, v)
    }
    fn end(self) -> Result<(), Never> {
        Ok(())
    }
}

/// A map key as text: strings as they are, numbers and booleans written out.
struct KeyText;

macro_rules! key_display {
    ($($name:ident: $t:ty),* $(,)?) => {
        $(fn $name(self, v: $t) -> Result<String, Never> { Ok(v.to_string()) })*
    };
}

/// What a key cannot be (bytes, lists, maps, structs): an error each, with
/// the argument types of the `Serializer` method and what it returns.
macro_rules! not_a_key {
    ($($name:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<$ret, Never> { Err(ser::Error::custom("a key is text")) })*
    };
}

impl ser::Serializer for KeyText {
    type Ok = String;
    type Error = Never;
    type SerializeSeq = Impossible<String, Never>;
    type SerializeTuple = Impossible<String, Never>;
    type SerializeTupleStruct = Impossible<String, Never>;
    type SerializeTupleVariant = Impossible<String, Never>;
    type SerializeMap = Impossible<String, Never>;
    type SerializeStruct = Impossible<String, Never>;
    type SerializeStructVariant = Impossible<String, Never>;

    key_display!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_str: &str,
    );

    not_a_key!(
        serialize_bytes(&[u8]) -> String;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    );

    fn serialize_none(self) -> Result<String, Never> {
        Ok(String::new())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<String, Never> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, Never> {
        Ok(String::new())
    }
    fn serialize_unit_struct(self, _n: &'static str) -> Result<String, Never> {
        Ok(String::new())
    }
    fn serialize_unit_variant(self, _n: &'static str, _i: u32, v: &'static str) -> Result<String, Never> {
        Ok(v.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _n: &'static str, v: &T) -> Result<String, Never> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _n: &'static str,
        _i: u32,
        _v: &'static str,
        _value: &T,
    ) -> Result<String, Never> {
        Err(ser::Error::custom("a key is text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Spec {
        url: String,
        none: Option<String>,
        headers: indexmap::IndexMap<String, String>,
        commands: Vec<Vec<String>>,
        body: Option<serde_json::Value>,
        port: u16,
    }

    #[test]
    fn every_string_with_its_path_in_order() {
        let spec = Spec {
            url: "http://${service.api.8000}/x".into(),
            none: None,
            headers: [("Authorization".to_string(), "Bearer ${T}".to_string())].into_iter().collect(),
            commands: vec![vec!["GET".into(), "k".into()]],
            body: Some(serde_json::json!({ "a": [1, "${B}"] })),
            port: 80,
        };
        let mut seen = Vec::new();
        each_string(&spec, &mut |p, s| seen.push((path_text("http", p), s.to_string())));
        let want = [
            ("http.url", "http://${service.api.8000}/x"),
            ("http.headers.Authorization", "Bearer ${T}"),
            ("http.commands[0][0]", "GET"),
            ("http.commands[0][1]", "k"),
            ("http.body.a[1]", "${B}"),
        ];
        let want: Vec<(String, String)> = want.iter().map(|(a, b)| ((*a).to_string(), (*b).to_string())).collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn a_key_is_its_text_and_a_list_map_or_struct_is_no_key() {
        #[derive(Serialize)]
        struct Point {
            x: u8,
        }
        assert_eq!(7u16.serialize(KeyText).unwrap(), "7");
        assert_eq!(Some("k").serialize(KeyText).unwrap(), "k");
        assert_eq!(().serialize(KeyText).unwrap(), "");
        for no in [
            vec![1].serialize(KeyText),
            (1, 2).serialize(KeyText),
            indexmap::IndexMap::from([(1, 2)]).serialize(KeyText),
            Point { x: 1 }.serialize(KeyText),
        ] {
            assert_eq!(no.unwrap_err().to_string(), "a key is text");
        }
    }
}

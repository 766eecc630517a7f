//! JSON pointers (RFC 6901), as written in `$ref` fragments (percent-encoded).

use serde_json::Value;

/// One reference token, escaped: `~` → `~0`, `/` → `~1`.
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// One reference token, unescaped (and percent-decoded, as in a URI fragment).
pub fn unescape(token: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(token).decode_utf8_lossy();
    decoded.replace("~1", "/").replace("~0", "~")
}

/// The value at a pointer (`""` is the whole document), written plainly or
/// percent-encoded as in a `$ref` fragment (RFC 6901 §6: decode, then parse).
pub fn get<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    doc.pointer(&from_fragment(pointer))
}

/// The mutable value at a pointer.
pub fn get_mut<'a>(doc: &'a mut Value, pointer: &str) -> Option<&'a mut Value> {
    doc.pointer_mut(&from_fragment(pointer))
}

/// Characters a URI fragment cannot hold as they are.
const FRAGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// A pointer as a URI fragment (`{id}` → `%7Bid%7D`).
pub fn to_fragment(pointer: &str) -> String {
    percent_encoding::utf8_percent_encode(pointer, FRAGMENT).to_string()
}

/// A fragment as a person reads it (percent-decoded).
pub fn from_fragment(fragment: &str) -> String {
    percent_encoding::percent_decode_str(fragment).decode_utf8_lossy().into_owned()
}

/// `parent` + one more token.
pub fn push(parent: &str, token: &str) -> String {
    format!("{parent}/{}", escape(token))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn tokens_round_trip_and_fragments_decode() {
        assert_eq!(super::escape("/items/{id}"), "~1items~1{id}");
        assert_eq!(super::unescape("~1items~1%7Bid%7D"), "/items/{id}");
        let doc = json!({"paths": {"/items/{id}": {"get": [1, 2]}}});
        assert_eq!(super::get(&doc, "/paths/~1items~1%7Bid%7D/get/1"), Some(&json!(2)));
        assert_eq!(super::get(&doc, "/paths/nope"), None);
        assert_eq!(super::get(&doc, ""), Some(&doc));
    }
}

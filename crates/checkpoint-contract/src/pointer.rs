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

/// The 1-based line of the text (YAML in block style, or JSON written one key
/// a line) where the value at `pointer` is written: each token is looked for
/// as a key, more indented than its parent's, before the parent's block
/// ends. Where a token is not found (flow style, one-line JSON) the line of
/// the deepest key found; `None` when not even the first is.
pub fn line_of(text: &str, pointer: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut found: Option<usize> = None;
    let (mut from, mut parent) = (0usize, None::<usize>);
    for token in pointer.split('/').skip(1).map(unescape) {
        let forms = [format!("{token}:"), format!("\"{token}\":"), format!("'{token}':"), format!("\"{token}\" :")];
        let mut hit = None;
        for (i, l) in lines.iter().enumerate().skip(from) {
            let body = l.trim_start();
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            if i > from.saturating_sub(1) && found.is_some() && parent.is_some_and(|p| indent(l) <= p) && i != from {
                break;
            }
            let body = body.strip_prefix("- ").unwrap_or(body);
            if forms.iter().any(|f| body.starts_with(f.as_str())) && parent.is_none_or(|p| indent(l) > p) {
                hit = Some(i);
                break;
            }
        }
        let Some(i) = hit else { break };
        found = Some(i);
        parent = Some(indent(lines[i]));
        from = i + 1;
    }
    found.map(|i| i + 1)
}

#[cfg(test)]
mod line_tests {
    use super::line_of;

    #[test]
    fn finds_the_key_of_each_token_in_yaml_and_json() {
        let yaml = "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n  /items/{id}:\n    get:\n      responses:\n        \"200\":\n          description: ok\n";
        assert_eq!(line_of(yaml, "/paths/~1items~1{id}/get/responses/200"), Some(11));
        assert_eq!(line_of(yaml, "/paths/~1a/get"), Some(4));
        // Not under `/a`: the search stops at the end of its block.
        assert_eq!(line_of(yaml, "/paths/~1a/post"), Some(3));
        let json = "{\n  \"paths\": {\n    \"/x\": {\n      \"put\": {}\n    }\n  }\n}\n";
        assert_eq!(line_of(json, "/paths/~1x/put"), Some(4));
        assert_eq!(line_of(json, "/webhooks"), None);
    }
}

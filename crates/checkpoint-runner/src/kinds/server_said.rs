//! What a server said with a status nobody expected: the message of an error
//! response, or where a redirect leads. An `http` check leaves it as a note on
//! its `status` field, so a failed status expectation reads
//! `status: expected 201, got 403 — the server said "CSRF Failed: …"` and a
//! Django `@login_required` page `status: expected 200, got 302 — redirected
//! to /accounts/login/?next=/me/`: the cause on the one line, not three
//! clicks away in the evidence.
//!
//! Error bodies are read in the shapes the frameworks our users run write
//! them: FastAPI/Starlette and Django REST framework (`detail`, a list of
//! `{loc, msg}`, field errors `{"name": ["This field is required."]}`),
//! Express and NestJS (`error`, `message`, a list of messages), RFC 9457
//! problem details (`detail`, else `title`), OAuth2 (`error_description`),
//! GraphQL (`errors[].message`); a plain-text body's first line; an HTML
//! page's `<title>` (Django's debug page: `OperationalError at /items/`) or
//! first `<pre>` (Express: `Cannot GET /nope`). A page that only restates the
//! status (`<title>Not Found</title>`, `Internal Server Error`) says nothing.

use serde_json::{Map, Value};

/// The most of a message kept: the reason is one line.
const MOST: usize = 160;

/// The note for a response's status, if it has one: `redirected to …` for a
/// 3xx with a `location`, `the server said "…"` for a 4xx/5xx whose body
/// carries a message. `headers` are the response's, names lower-case.
pub(crate) fn note(status: u16, headers: &Map<String, Value>, document: Option<&Value>, text: &str) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(Value::as_str);
    if is_redirect(status) {
        return header("location").map(|to| format!("redirected to {}", one_line(to)));
    }
    if status < 400 {
        return None;
    }
    let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    let said = document.map_or_else(|| from_text(header("content-type"), text), message_of);
    let said = one_line(&said?);
    (!restates(&said, reason)).then(|| format!("the server said \"{said}\""))
}

/// A body that is not JSON: an HTML page's title or `<pre>`, a text's first line.
fn from_text(content_type: Option<&str>, text: &str) -> Option<String> {
    let kind = content_type.unwrap_or("").to_ascii_lowercase();
    if kind.starts_with("text/html") || (kind.is_empty() && text.trim_start().starts_with('<')) {
        from_html(text)
    } else if kind.starts_with("text/") || kind.is_empty() {
        text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_string)
    } else {
        None
    }
}

/// A 3xx that sends the client elsewhere: every one but `304 Not Modified`,
/// which answers the request itself.
pub(crate) fn is_redirect(status: u16) -> bool {
    (300..400).contains(&status) && status != 304
}

/// The message of a JSON error body, in the frameworks' shapes.
fn message_of(v: &Value) -> Option<String> {
    let obj = match v {
        Value::Object(o) => o,
        // A list of errors at the top (DRF's `ValidationError(["…"])`).
        Value::Array(_) => return said_in(v),
        _ => return None,
    };
    if let Some(d) = obj.get("error_description").and_then(Value::as_str).filter(|d| !d.trim().is_empty()) {
        return Some(d.to_string());
    }
    for key in ["detail", "message", "errors", "error", "title", "msg"] {
        if let Some(m) = obj.get(key).and_then(said_in) {
            return Some(m);
        }
    }
    // Django REST framework's field errors: `{"name": ["This field is required."]}`.
    obj.iter().find_map(|(field, v)| {
        let first = v.as_array()?.first()?.as_str()?;
        Some(if field == "non_field_errors" { first.to_string() } else { format!("{field}: {first}") })
    })
}

/// A message where one is kept: a string, the first of a list (with how many
/// more), pydantic's `{loc, msg}`, or an object holding one.
fn said_in(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Array(items) => {
            let first = items.first()?;
            let msg = match first {
                Value::Object(o) if o.contains_key("msg") => {
                    let msg = o.get("msg").and_then(Value::as_str)?;
                    let loc: Vec<String> = o
                        .get("loc")
                        .and_then(Value::as_array)
                        .map(|l| l.iter().map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string)).collect())
                        .unwrap_or_default();
                    if loc.is_empty() { msg.to_string() } else { format!("{}: {msg}", loc.join(".")) }
                }
                other => said_in(other)?,
            };
            Some(match items.len() - 1 {
                0 => msg,
                more => format!("{msg} (and {more} more)"),
            })
        }
        Value::Object(_) => message_of(v),
        _ => None,
    }
}

/// An HTML error page's title, else its first `<pre>`'s first line.
fn from_html(html: &str) -> Option<String> {
    let inner = |tag: &str| {
        let lower = html.to_ascii_lowercase();
        let open = lower.find(&format!("<{tag}"))?;
        let start = open + lower[open..].find('>')? + 1;
        let end = start + lower[start..].find(&format!("</{tag}>"))?;
        let first = html[start..end].split("<br").next().unwrap_or_default();
        let text = entities(&strip_tags(first));
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        (!text.is_empty()).then_some(text)
    };
    let title = inner("title");
    match title {
        Some(t) if !restates(&t, "") => Some(t),
        _ => inner("pre").or(title),
    }
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn entities(s: &str) -> String {
    [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#x27;", "'"), ("&#39;", "'"), ("&nbsp;", " "), ("&amp;", "&")]
        .iter()
        .fold(s.to_string(), |acc, (from, to)| acc.replace(from, to))
}

/// True when a message only restates the status (`403 Forbidden`, `Server
/// Error (500)`, `Error`): its words are the status phrase's, or error words.
fn restates(message: &str, reason: &str) -> bool {
    let reason = reason.to_ascii_lowercase();
    let known: Vec<&str> = reason.split_whitespace().collect();
    message
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !w.chars().all(|c| c.is_ascii_digit()))
        .all(|w| known.contains(&w) || ["error", "http", "status", "server", "internal", "not", "found"].contains(&w))
}

/// One line of at most [`MOST`] characters.
fn one_line(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= MOST {
        return s;
    }
    let mut cut: String = s.chars().take(MOST - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn said(status: u16, body: &Value) -> Option<String> {
        note(status, &Map::new(), Some(body), &body.to_string())
    }

    fn said_text(status: u16, content_type: &str, text: &str) -> Option<String> {
        let mut headers = Map::new();
        headers.insert("content-type".into(), content_type.into());
        note(status, &headers, None, text)
    }

    #[test]
    fn framework_error_bodies() {
        // FastAPI's HTTPException and DRF's exceptions.
        assert_eq!(
            said(401, &json!({"detail": "Not authenticated"})).unwrap(),
            "the server said \"Not authenticated\""
        );
        // FastAPI's 422: the first error's location and message; the input it echoes is not shown.
        let fastapi = json!({"detail": [
            {"type": "missing", "loc": ["body", "email"], "msg": "Field required", "input": {"password": "hunter2"}},
            {"type": "missing", "loc": ["body", "name"], "msg": "Field required", "input": {}}
        ]});
        assert_eq!(said(422, &fastapi).unwrap(), "the server said \"body.email: Field required (and 1 more)\"");
        // DRF field errors and non-field errors.
        assert_eq!(
            said(400, &json!({"name": ["This field is required."]})).unwrap(),
            "the server said \"name: This field is required.\""
        );
        assert_eq!(
            said(400, &json!({"non_field_errors": ["Unable to log in."]})).unwrap(),
            "the server said \"Unable to log in.\""
        );
        // NestJS validation, Express, OAuth2, problem details, GraphQL.
        let nest = json!({"statusCode": 400, "message": ["name should not be empty"], "error": "Bad Request"});
        assert_eq!(said(400, &nest).unwrap(), "the server said \"name should not be empty\"");
        assert_eq!(
            said(409, &json!({"error": {"message": "email taken"}})).unwrap(),
            "the server said \"email taken\""
        );
        let oauth = json!({"error": "invalid_grant", "error_description": "Bad credentials"});
        assert_eq!(said(400, &oauth).unwrap(), "the server said \"Bad credentials\"");
        let problem = json!({"type": "about:blank", "title": "Out of credit", "status": 403});
        assert_eq!(said(403, &problem).unwrap(), "the server said \"Out of credit\"");
        let graphql = json!({"errors": [{"message": "Cannot query field \"x\""}]});
        assert_eq!(said(400, &graphql).unwrap(), "the server said \"Cannot query field \"x\"\"");
    }

    #[test]
    fn bodies_that_only_restate_the_status_or_say_nothing() {
        assert_eq!(said(404, &json!({"detail": "Not Found"})), None);
        assert_eq!(said(500, &json!({"error": "Internal Server Error"})), None);
        assert_eq!(said(503, &json!({"status": "degraded", "database": "down"})), None);
        assert_eq!(said_text(500, "text/plain; charset=utf-8", "Internal Server Error"), None);
        // Django's pages with DEBUG off.
        assert_eq!(said_text(404, "text/html", "<!doctype html><title>Not Found</title><h1>Not Found</h1>"), None);
        assert_eq!(said_text(500, "text/html", "<html><head><title>Server Error (500)</title></head></html>"), None);
        // A status the check may well expect otherwise is not annotated.
        assert_eq!(said(200, &json!({"detail": "fine"})), None);
    }

    #[test]
    fn text_and_html_pages() {
        assert_eq!(
            said_text(503, "text/plain", "\n  database is locked\nmore\n").unwrap(),
            "the server said \"database is locked\""
        );
        // Django's debug page.
        let django = "<html><head><title>OperationalError\n          at /api/items/</title></head></html>";
        assert_eq!(said_text(500, "text/html", django).unwrap(), "the server said \"OperationalError at /api/items/\"");
        // Express: a bare title, the message in the first <pre>, the stack after <br>.
        let express = "<!DOCTYPE html><html><head><title>Error</title></head><body>\
                       <pre>Error: connect ECONNREFUSED 127.0.0.1:5432<br> &nbsp; &nbsp;at TCPConnectWrap</pre></body></html>";
        assert_eq!(
            said_text(500, "text/html; charset=utf-8", express).unwrap(),
            "the server said \"Error: connect ECONNREFUSED 127.0.0.1:5432\""
        );
        assert_eq!(
            said_text(404, "text/html", "<pre>Cannot GET /nope</pre>").unwrap(),
            "the server said \"Cannot GET /nope\""
        );
    }

    #[test]
    fn redirects_say_where() {
        let mut headers = Map::new();
        headers.insert("location".into(), "/accounts/login/?next=/me/".into());
        assert_eq!(note(302, &headers, None, "").unwrap(), "redirected to /accounts/login/?next=/me/");
        assert_eq!(note(304, &Map::new(), None, ""), None);
    }

    #[test]
    fn a_long_message_is_cut_to_one_line() {
        let long = format!("first line\n{}", "x".repeat(300));
        let n = said(400, &json!({ "detail": long })).unwrap();
        assert!(!n.contains('\n'), "{n}");
        assert_eq!(n.chars().count(), "the server said \"\"".len() + MOST, "{n}");
        assert!(n.ends_with("…\""), "{n}");
    }
}

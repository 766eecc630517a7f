//! Secrets never appear in any output. A value is secret when its variable is
//! declared in `secrets:` or is named like `*_PASSWORD`, `*_TOKEN`,
//! `*_SECRET`, `*_KEY` (or exactly `PASSWORD`, `TOKEN`, …); passwords inside
//! URLs and DSNs (`postgres://user:pw@host`) are masked wherever they appear,
//! and so are the values of credential-looking cookies (`session`,
//! `refresh_token`, …) in the `cookie:` / `set-cookie:` lines of evidence,
//! and the value of an HTML form's credential-looking field (Django's
//! `csrfmiddlewaretoken`, Rails' `authenticity_token`, Laravel's `_token`,
//! a `<meta name="csrf-token">`) in a page shown as evidence.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

pub const MASK: &str = "****";

const SUFFIXES: &[&str] = &["PASSWORD", "PASSWD", "TOKEN", "SECRET", "KEY", "PASS", "CREDENTIALS", "APIKEY"];

/// Whether a variable's name marks its value as secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SUFFIXES.iter().any(|s| upper == *s || upper.ends_with(&format!("_{s}")))
}

static URL_PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@/\s]+)@").expect("valid regex"));
/// `"password": "…"`, `"access_token": "…"` in JSON evidence (request and response bodies).
static JSON_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)("[a-z0-9_-]*(?:password|passwd|token|secret|api_?key)[a-z0-9_-]*"\s*:\s*")((?:[^"\\]|\\.)+)""#)
        .expect("valid regex")
});
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}").expect("valid regex"));
/// Header lines whose value is a credential, as evidence writes them
/// (`name: value`): `Authorization`, `Proxy-Authorization`, `Cookie`, and
/// `X-…-Key`/`-Token`/`-Secret` style API keys.
static CREDENTIAL_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^(\s*(?:proxy-)?authorization:\s*(?:[a-z]+\s+)?|\s*x-[a-z0-9-]*(?:api-?key|token|secret|auth)[a-z0-9-]*:\s*)([^\s].*?)\s*$")
        .expect("valid regex")
});
/// `Cookie: a=1; b=2`: every value.
static COOKIE_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?im)^(\s*cookie:\s*)(.+)$").expect("valid regex"));
/// `Set-Cookie: name=value; Path=/; HttpOnly`: the value (the attributes stay readable).
static SET_COOKIE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?im)^(\s*set-cookie:\s*[^=;\s]+=)([^;\r\n]+)").expect("valid regex"));
/// `<input type="hidden" name="csrfmiddlewaretoken" value="…">`, `<meta
/// name="csrf-token" content="…">`: the value of a credential-looking field
/// of a page (name before value, as frameworks write them).
static HTML_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(<(?:input|meta)\b[^>]*?\bname\s*=\s*["']?[^"'\s>]*(?:csrf|token|secret|pass)[^"'\s>]*["']?[^>]*?\b(?:value|content)\s*=\s*["'])([^"']+)"#,
    )
    .expect("valid regex")
});
/// One `name=value` pair of a `Cookie` header.
static COOKIE_PAIR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"([^=;\s]+=)([^;]+)").expect("valid regex"));

/// Whether a capture's source (a JSONPath, a header or cookie name) names a
/// credential: `$.access_token`, `$.data.refresh_token`, `cookie refresh_token`.
pub fn is_secret_source(source: &str) -> bool {
    let lower = source.to_ascii_lowercase();
    ["token", "password", "passwd", "secret", "api_key", "apikey", "api-key", "session", "cookie", "credential"]
        .iter()
        .any(|w| lower.contains(w))
}

/// Whether a value is worth masking: short or common values (`true`, a
/// number, under 6 characters) would destroy the reports and protect nothing.
fn maskable(value: &str) -> bool {
    let v = value.trim();
    v.chars().count() >= 6 && !matches!(v, "true" | "false" | "null" | "None") && v.parse::<f64>().is_err()
}

/// `text` with `re`'s matches replaced, still borrowed when there was none.
fn replace<'a>(text: Cow<'a, str>, re: &Regex, with: impl Fn(&regex::Captures<'_>) -> String) -> Cow<'a, str> {
    match re.replace_all(&text, |c: &regex::Captures<'_>| with(c)) {
        Cow::Borrowed(_) => text,
        Cow::Owned(s) => Cow::Owned(s),
    }
}

/// The words a pattern cannot match without, in any case and folded as the
/// patterns fold them (`(?i)`: the Kelvin sign is a `k`, the long s `ſ` an
/// `s`). Regexes for their vectorised literal search: a byte loop per word
/// over every evidence text cost more than the patterns they spared.
static BEARER_WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)bearer").expect("valid regex"));
static HEADER_WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)authorization|x-").expect("valid regex"));
static COOKIE_WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)cookie").expect("valid regex"));
/// The stems of the field names [`HTML_SECRET`] matches.
static HTML_WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)csrf|token|secret|pass").expect("valid regex"));
/// The stems of the keys [`JSON_SECRET`] matches.
static SECRET_STEM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)pass|token|secret|key").expect("valid regex"));

/// Starts compiling the words every text is searched for (~5M instructions,
/// more than searching a thousand checks' evidence) on a thread of its own,
/// once per process, so that a run's first redaction does not wait for them
/// on its critical path. A redaction that comes first waits for, or does,
/// the compiling itself.
pub fn prepare() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    crate::load::build_aside(&STARTED, "checkpoint-redact", || {
        for word in [&BEARER_WORD, &HEADER_WORD, &COOKIE_WORD, &SECRET_STEM, &HTML_WORD] {
            LazyLock::force(word);
        }
    });
}

/// Replaces secret values with [`MASK`].
#[derive(Clone, Debug, Default)]
pub struct Redactor {
    values: Vec<String>,
}

impl Redactor {
    /// Adds a secret value. Very short values are ignored: masking every `a`
    /// would destroy the reports and protect nothing.
    pub fn add(&mut self, value: &str) {
        if maskable(value) && !self.values.iter().any(|v| v == value) {
            self.values.push(value.to_string());
            // Longest first, so a secret containing another is masked whole.
            self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    pub fn add_if_secret(&mut self, name: &str, value: &str, declared: &[String]) {
        if is_secret_name(name) || declared.iter().any(|d| d == name) {
            self.add(value);
        }
    }

    pub fn redact(&self, text: &str) -> String {
        self.redact_cow(text).into_owned()
    }

    /// [`Self::redact`], borrowing the text when there is nothing to mask —
    /// which is almost every string of a report. Each pattern runs only on a
    /// text that holds the literal it cannot match without.
    pub fn redact_cow<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.redact_filtered(text, true)
    }

    /// [`Self::redact_cow`]; without `prefilter`, every pattern runs on
    /// every text (what the tests compare the prefilters with).
    fn redact_filtered<'a>(&self, text: &'a str, prefilter: bool) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        let colon = !prefilter || text.contains(':');
        if colon && (!prefilter || (text.contains('@') && text.contains("://"))) {
            out = replace(out, &URL_PASSWORD, |c| format!("{}{MASK}@", &c[1]));
        }
        if colon && (!prefilter || (text.contains('"') && SECRET_STEM.is_match(text))) {
            out = replace(out, &JSON_SECRET, |c| format!("{}{MASK}\"", &c[1]));
        }
        if !prefilter || BEARER_WORD.is_match(&out) {
            out = replace(out, &BEARER, |c| format!("{}{MASK}", &c[1]));
        }
        if colon && (!prefilter || HEADER_WORD.is_match(&out)) {
            out = replace(out, &CREDENTIAL_HEADER, |c| format!("{}{MASK}", &c[1]));
        }
        if colon && (!prefilter || COOKIE_WORD.is_match(&out)) {
            out = replace(out, &COOKIE_HEADER, |c| {
                let pairs = COOKIE_PAIR.replace_all(&c[2], |p: &regex::Captures<'_>| format!("{}{MASK}", &p[1]));
                format!("{}{pairs}", &c[1])
            });
            out = replace(out, &SET_COOKIE, |c| format!("{}{MASK}", &c[1]));
        }
        if !prefilter || (text.contains('<') && HTML_WORD.is_match(&out)) {
            out = replace(out, &HTML_SECRET, |c| format!("{}{MASK}", &c[1]));
        }
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = Cow::Owned(out.replace(v.as_str(), MASK));
            }
        }
        out
    }

    /// Whether `text` holds anything to mask.
    fn masks(&self, text: &str) -> bool {
        matches!(self.redact_cow(text), Cow::Owned(_))
    }

    /// Masks `text` where it stands, untouched (no copy) when it holds nothing to mask.
    pub fn redact_in_place(&self, text: &mut String) {
        if let Cow::Owned(masked) = self.redact_cow(text) {
            *text = masked;
        }
    }

    /// Redacts every string in a JSON tree (values and keys).
    pub fn redact_value(&self, v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::String(s) => self.redact_in_place(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.redact_value(x)),
            Value::Object(o) => {
                o.values_mut().for_each(|x| self.redact_value(x));
                // Keys are masked too (a captured map's keys are data), in place when none changes.
                if o.keys().any(|k| self.masks(k)) {
                    let taken = std::mem::take(o);
                    for (k, x) in taken {
                        o.insert(self.redact(&k), x);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A [`Redactor`] the whole run shares and that grows while it runs: a token
/// captured by a check, a cookie a response set, a credential a request sent
/// are masked from the moment they are seen, in every output.
#[derive(Clone, Debug, Default)]
pub struct SharedRedactor(std::sync::Arc<std::sync::RwLock<Redactor>>);

impl SharedRedactor {
    pub fn new(r: Redactor) -> Self {
        Self(std::sync::Arc::new(std::sync::RwLock::new(r)))
    }

    pub fn add(&self, value: &str) {
        if let Ok(mut r) = self.0.write() {
            r.add(value);
        }
    }

    pub fn redact(&self, text: &str) -> String {
        match self.0.read() {
            Ok(r) => r.redact(text),
            Err(_) => text.to_string(),
        }
    }

    /// The redactor as it is now (for the reports, written at the end).
    pub fn snapshot(&self) -> Redactor {
        self.0.read().map(|r| r.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pattern is skipped on texts without its literal: what it would
    /// have masked is masked all the same, and clean texts stay borrowed.
    #[test]
    fn the_literal_prefilters_never_skip_a_match() {
        let mut r = Redactor::default();
        r.add("s3cr3t-value");
        let masked = [
            ("db postgres://app:pw123456@db:5432/app", "db postgres://app:****@db:5432/app"),
            (r#"{"access_token": "abc.def.ghi"}"#, r#"{"access_token": "****"}"#),
            ("sent BEARER abcdefgh1234", "sent BEARER ****"),
            ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ****"),
            ("X-Api-Key: 0123456789", "X-Api-Key: ****"),
            ("COOKIE: sid=abcdef; theme=dark", "COOKIE: sid=****; theme=****"),
            ("Set-Cookie: sid=abcdef; Path=/", "Set-Cookie: sid=****; Path=/"),
            // The regexes fold case by Unicode rules: the Kelvin sign is a `k`.
            ("coo\u{212A}ie: sid=abcdef", "coo\u{212A}ie: sid=****"),
            ("no colon but s3cr3t-value", "no colon but ****"),
            (
                r#"<input type="hidden" name="csrfmiddlewaretoken" value="fElXHo49X1">"#,
                r#"<input type="hidden" name="csrfmiddlewaretoken" value="****">"#,
            ),
        ];
        for (text, want) in masked {
            assert_eq!(r.redact_cow(text), want, "{text}");
        }
        for clean in ["GET /health → 200 OK", "checkpoints/1.yaml:12:9", "status: 200", "x-request-id: 42"] {
            assert!(matches!(r.redact_cow(clean), Cow::Borrowed(_)), "{clean}");
        }
    }

    /// The prefilters only skip patterns that cannot match: on texts built
    /// around every pattern (near misses, case and Unicode folding, several
    /// lines), the result is the one every pattern gives.
    #[test]
    fn prefiltered_redaction_is_unfiltered_redaction() {
        let mut r = Redactor::default();
        r.add("s3cr3t-value");
        let pieces = [
            "postgres://app:pw123456@db:5432/app",
            "https://user@host/x",
            "mailto:someone@example.com",
            "http://127.0.0.1:8080/health",
            "{\"access_token\": \"abc.def.ghi\"}",
            "{\"pa\u{17F}\u{17F}word\": \"hunter22\"}",
            "{\"api\u{212A}ey\": \"0123456789\"}",
            "{\"PassWD\": \"x\\\"y\"}",
            "{\"API_KEY\": \"k-123\"}",
            "{\"status\": \"ok\"}",
            "{\"monkey\":\"banana\"}",
            "Authorization: Bearer abcdefgh12345",
            "X-Auth-Token: zzzzzzzz",
            "x-request-id: 42",
            "Cookie: a=1; b=2",
            "Set-Cookie: sid=abc; Path=/; HttpOnly",
            "content-type: application/json",
            "HTTP/1.1 200 OK",
            "s3cr3t-value",
            "<input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"fElXHo49X1\">",
            "<META NAME='csrf-token' CONTENT='abc123def'>",
            "<input name=\"username\" value=\"alice\">",
            "<p>the token is not in a field</p>",
            "",
        ];
        let mut texts = Vec::new();
        for a in pieces {
            texts.push(a.to_string());
            for b in pieces {
                texts.push(format!("{a}\n{b}"));
                texts.push(format!("{a} {b}"));
            }
        }
        for t in &texts {
            assert_eq!(r.redact_filtered(t, true), r.redact_filtered(t, false), "{t:?}");
        }
        // The folded spellings are masked (the prefilter lets them through).
        assert_eq!(r.redact_cow(pieces[5]), "{\"pa\u{17F}\u{17F}word\": \"****\"}");
        assert_eq!(r.redact_cow(pieces[6]), "{\"api\u{212A}ey\": \"****\"}");
    }

    #[test]
    fn names_mark_secrets() {
        assert!(is_secret_name("POSTGRES_PASSWORD"));
        assert!(is_secret_name("api_token"));
        assert!(is_secret_name("TOKEN"));
        assert!(!is_secret_name("TOKENIZER_URL"));
        assert!(!is_secret_name("MONKEY"));
    }

    #[test]
    fn masks_values_dsn_passwords_and_bearer_tokens() {
        let mut r = Redactor::default();
        r.add("s3cr3t-value");
        let text = "dsn postgres://app:hunter22@db:5432/x, key s3cr3t-value, Authorization: Bearer abcdef123456";
        let out = r.redact(text);
        assert_eq!(out, "dsn postgres://app:****@db:5432/x, key ****, Authorization: Bearer ****");
    }

    #[test]
    fn masks_every_cookie_value_in_cookie_lines_but_not_a_deletion() {
        let r = Redactor::default();
        let text = "POST http://api/auth/refresh\ncookie: refresh_token=r1.abc; theme=dark; sessionid=42\n\n\
                    → 200 OK\nset-cookie: refresh_token=r2.def; HttpOnly; Path=/auth\nset-cookie: theme=dark; Path=/\n\
                    set-cookie: refresh_token=; Max-Age=0\nthe body says refresh_token=visible";
        assert_eq!(
            r.redact(text),
            "POST http://api/auth/refresh\ncookie: refresh_token=****; theme=****; sessionid=****\n\n\
             → 200 OK\nset-cookie: refresh_token=****; HttpOnly; Path=/auth\nset-cookie: theme=****; Path=/\n\
             set-cookie: refresh_token=; Max-Age=0\nthe body says refresh_token=visible"
        );
    }

    #[test]
    fn masks_secret_looking_json_fields() {
        let r = Redactor::default();
        let out =
            r.redact(r#"{"email": "a@b.c", "password": "pw-123", "access_token":"tok-xyz", "token_type": "bearer"}"#);
        assert_eq!(out, r#"{"email": "a@b.c", "password": "****", "access_token":"****", "token_type": "****"}"#);
    }

    #[test]
    fn masks_credential_headers_and_cookies_in_evidence() {
        let r = Redactor::default();
        let evidence = "POST http://127.0.0.1:8000/auth/refresh\n\
                        authorization: Basic dXNlcjpwYXNzd29yZA==\n\
                        cookie: refresh_token=eyJhbGciOi.payload.sig; theme=dark\n\
                        x-api-key: k-1234567890\n\
                        \n→ 200 OK (3ms)\n\
                        set-cookie: refresh_token=eyJnew.payload.sig; HttpOnly; Path=/auth; SameSite=lax\n\
                        content-type: application/json\n";
        let out = r.redact(evidence);
        for leaked in ["dXNlcjpwYXNzd29yZA", "eyJhbGciOi", "k-1234567890", "eyJnew", "dark"] {
            assert!(!out.contains(leaked), "{leaked} leaked:\n{out}");
        }
        assert!(out.contains("set-cookie: refresh_token=****; HttpOnly; Path=/auth"), "{out}");
        assert!(out.contains("cookie: refresh_token=****; theme=****"), "{out}");
        assert!(out.contains("content-type: application/json"), "{out}");
    }

    #[test]
    fn masks_credential_fields_of_html_forms() {
        let r = Redactor::default();
        let page = r#"<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="fElXHo49X1DTgbwU">
<input type=hidden name=authenticity_token value="rails+tok/en==" autocomplete="off">
<input type="hidden" name="_token" value="laravel-tok-1">
<meta name="csrf-token" content="meta-tok-22">
<input type="password" name="password" value="prefilled-pw">
<input type="text" name="username" value="alice" maxlength="150"></form>"#;
        let out = r.redact(page);
        for leaked in ["fElXHo49X1DTgbwU", "rails+tok/en==", "laravel-tok-1", "meta-tok-22", "prefilled-pw"] {
            assert!(!out.contains(leaked), "{leaked} leaked:\n{out}");
        }
        assert!(out.contains(r#"name="csrfmiddlewaretoken" value="****">"#), "{out}");
        assert!(out.contains(r#"name="username" value="alice""#), "{out}");
    }

    #[test]
    fn short_and_common_values_are_never_masks() {
        let mut r = Redactor::default();
        for v in ["abc12", "true", "12345678", "3.14159"] {
            r.add(v);
        }
        assert_eq!(r.redact("abc12 true 12345678 3.14159"), "abc12 true 12345678 3.14159");
        let shared = SharedRedactor::default();
        shared.add("tok-canary-7731");
        assert_eq!(shared.redact("GET /x?t=tok-canary-7731"), "GET /x?t=****");
        assert!(is_secret_source("$.access_token") && is_secret_source("cookie refresh_token"));
        assert!(!is_secret_source("$.id"));
    }
}

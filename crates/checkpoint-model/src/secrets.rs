//! Secrets never appear in any output. A value is secret when its variable is
//! declared in `secrets:` or is named like `*_PASSWORD`, `*_TOKEN`,
//! `*_SECRET`, `*_KEY` (or exactly `PASSWORD`, `TOKEN`, …); passwords inside
//! URLs and DSNs (`postgres://user:pw@host`) are masked wherever they appear,
//! and so are the values of credential-looking cookies (`session`,
//! `refresh_token`, …) in the `cookie:` / `set-cookie:` lines of evidence.

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

/// A `cookie:` or `set-cookie:` line of HTTP evidence.
static COOKIE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?im)^((set-)?cookie:[ \t]*)([^\r\n]*)$").expect("valid regex"));
/// Cookie names that carry credentials: sessions, tokens, CSRF and remember-me keys.
static COOKIE_SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)token|sess|sid|auth|secret|pass|jwt|key|csrf|xsrf|remember|identity").expect("valid regex")
});

/// `refresh_token=abc; theme=dark` → `refresh_token=****; theme=dark`; of a
/// `set-cookie` line only the cookie itself (its attributes are not secret).
fn mask_cookie_line(c: &regex::Captures<'_>) -> String {
    let set = c.get(2).is_some();
    let pairs: Vec<String> = c[3]
        .split("; ")
        .enumerate()
        .map(|(i, pair)| match pair.split_once('=') {
            Some((name, value)) if (!set || i == 0) && !value.is_empty() && COOKIE_SECRET_NAME.is_match(name) => {
                format!("{name}={MASK}")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{}{}", &c[1], pairs.join("; "))
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
        if value.chars().count() >= 4 && !self.values.iter().any(|v| v == value) {
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
        let mut out =
            URL_PASSWORD.replace_all(text, |c: &regex::Captures<'_>| format!("{}{MASK}@", &c[1])).into_owned();
        out = JSON_SECRET.replace_all(&out, |c: &regex::Captures<'_>| format!("{}{MASK}\"", &c[1])).into_owned();
        out = BEARER.replace_all(&out, |c: &regex::Captures<'_>| format!("{}{MASK}", &c[1])).into_owned();
        out = COOKIE_LINE.replace_all(&out, mask_cookie_line).into_owned();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        out
    }

    /// Redacts every string in a JSON tree (values and keys).
    pub fn redact_value(&self, v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::String(s) => *s = self.redact(s),
            Value::Array(a) => a.iter_mut().for_each(|x| self.redact_value(x)),
            Value::Object(o) => {
                let taken = std::mem::take(o);
                for (k, mut x) in taken {
                    self.redact_value(&mut x);
                    o.insert(self.redact(&k), x);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn masks_credential_cookies_in_cookie_lines() {
        let r = Redactor::default();
        let text = "POST http://api/auth/refresh\ncookie: refresh_token=r1.abc; theme=dark; sessionid=42\n\n\
                    → 200 OK\nset-cookie: refresh_token=r2.def; HttpOnly; Path=/auth\nset-cookie: theme=dark; Path=/\n\
                    set-cookie: refresh_token=; Max-Age=0\nthe body says refresh_token=visible";
        assert_eq!(
            r.redact(text),
            "POST http://api/auth/refresh\ncookie: refresh_token=****; theme=dark; sessionid=****\n\n\
             → 200 OK\nset-cookie: refresh_token=****; HttpOnly; Path=/auth\nset-cookie: theme=dark; Path=/\n\
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
}

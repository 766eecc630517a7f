//! A gate's cookie jar: what `Set-Cookie` headers of its `http` checks' responses
//! stored, sent back with its later `http` checks as a browser would (RFC 6265:
//! domain and path matching, `Secure`, expiry, deletion by `Max-Age=0` or a past
//! `Expires`), through the [`cookie_store`] crate.
//!
//! One jar per gate, not per run: gates run concurrently, and a login in one
//! gate must not change what another sends. A gate that `needs` others starts
//! with a copy of their jars (as it inherits their captures), farthest first,
//! so the nearest gate's cookie wins.

use std::sync::RwLock;

use cookie_store::CookieStore;
use reqwest::header::{HeaderMap, HeaderValue, SET_COOKIE};
use serde_json::{Map, Value};
use url::Url;

#[derive(Default)]
pub struct Jar {
    store: RwLock<CookieStore>,
}

impl Jar {
    /// A jar holding the unexpired cookies of `from`, later jars winning.
    pub fn inherit<'a>(from: impl IntoIterator<Item = &'a Jar>) -> Self {
        let mut all = Vec::new();
        for jar in from {
            if let Ok(s) = jar.store.read() {
                all.extend(s.iter_unexpired().cloned().map(Ok::<_, ()>));
            }
        }
        let store = CookieStore::from_cookies(all, false).unwrap_or_default();
        Self { store: RwLock::new(store) }
    }

    /// The `Cookie` header a request to `url` carries, if any: cookies with
    /// longer paths first (RFC 6265 §5.4), then by name — the store keeps no
    /// order, and evidence that lists the same cookies differently from one
    /// run to the next cannot be compared.
    pub fn header_for(&self, url: &Url) -> Option<String> {
        let store = self.store.read().ok()?;
        let mut cookies = store.matches(url);
        if cookies.is_empty() {
            return None;
        }
        cookies.sort_by(|a, b| {
            let path = |c: &cookie_store::Cookie<'_>| c.path.as_ref().len();
            path(b).cmp(&path(a)).then_with(|| a.name().cmp(b.name()))
        });
        let pairs: Vec<String> = cookies.iter().map(|c| format!("{}={}", c.name(), c.value())).collect();
        Some(pairs.join("; "))
    }

    /// How many unexpired cookies the jar holds.
    pub fn len(&self) -> usize {
        self.store.read().map_or(0, |s| s.iter_unexpired().count())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl reqwest::cookie::CookieStore for Jar {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url) {
        if let Ok(mut store) = self.store.write() {
            for h in headers {
                if let Ok(text) = std::str::from_utf8(h.as_bytes()) {
                    // A cookie the store refuses (another domain, …) is simply not kept, as in a browser.
                    let _ = store.parse(text, url);
                }
            }
        }
    }

    fn cookies(&self, url: &Url) -> Option<HeaderValue> {
        self.header_for(url).and_then(|h| HeaderValue::from_str(&h).ok())
    }
}

/// The cookies a response from `url` set, name → value, in header order. A
/// cookie the response deletes (`Max-Age=0`, an `Expires` in the past) is not
/// in it: `exists: true` means the response gave the cookie a live value.
/// A header the jar would refuse (a malformed one, another site's domain) is
/// left out too.
pub fn set_by(headers: &HeaderMap, url: &Url) -> Map<String, Value> {
    let mut out = Map::new();
    for h in headers.get_all(SET_COOKIE) {
        let Ok(text) = std::str::from_utf8(h.as_bytes()) else { continue };
        let Ok(c) = cookie_store::Cookie::parse(text, url) else { continue };
        if c.is_expired() {
            out.remove(c.name());
        } else {
            out.insert(c.name().to_string(), Value::String(c.value().to_string()));
        }
    }
    out
}

/// The raw `Set-Cookie` lines of a response, for the evidence.
pub fn set_cookie_lines(headers: &HeaderMap) -> Vec<String> {
    headers.get_all(SET_COOKIE).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect()
}

/// The names of the cookies of a `Cookie` header value: `a=1; b=2` → `a`, `b`.
pub fn names(header: &str) -> Vec<String> {
    pairs(header).map(|p| name(p).to_string()).collect()
}

/// `Cookie` header values joined into one (a request carries one, RFC 6265
/// §5.4), the first to name a cookie winning: `a=1; b=2` and `b=3; c=4`
/// make `a=1; b=2; c=4`.
pub fn merge<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut kept: Vec<&str> = Vec::new();
    for pair in headers.into_iter().flat_map(pairs) {
        if !kept.iter().any(|k| name(k) == name(pair)) {
            kept.push(pair);
        }
    }
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// The `name=value` pairs of a `Cookie` header value, trimmed, empty ones left out.
fn pairs(header: &str) -> impl Iterator<Item = &str> {
    header.split(';').map(str::trim).filter(|p| !p.is_empty())
}

fn name(pair: &str) -> &str {
    pair.split('=').next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use reqwest::cookie::CookieStore as _;

    use super::*;

    #[test]
    fn the_cookie_header_is_ordered_by_path_then_name_every_time() {
        let url = Url::parse("http://127.0.0.1:8000/api/items/").unwrap();
        // Each jar's store hashes with its own seed: twenty jars would show any
        // order the store happened to keep.
        for _ in 0..20 {
            let jar = Jar::default();
            let set = [
                "sessionid=s1; Path=/; HttpOnly",
                "csrftoken=c1; Path=/",
                "scoped=p1; Path=/api",
                "another=a1; Path=/",
                "elsewhere=e1; Path=/admin",
            ]
            .map(HeaderValue::from_static);
            jar.set_cookies(&mut set.iter(), &url);
            assert_eq!(jar.header_for(&url).as_deref(), Some("scoped=p1; another=a1; csrftoken=c1; sessionid=s1"));
        }
        assert_eq!(Jar::default().header_for(&url), None);
    }

    #[test]
    fn one_cookie_header_the_first_to_name_a_cookie_wins() {
        assert_eq!(merge([]), None);
        assert_eq!(merge(["", " ; "]), None);
        // The request's api_key cookie, then the gate's jar: its session is not sent twice.
        assert_eq!(
            merge(["sessionid=given", "csrftoken=c1; sessionid=jar"]).as_deref(),
            Some("sessionid=given; csrftoken=c1")
        );
        assert_eq!(merge(["a=1; b=2", "b=3; c=4"]).as_deref(), Some("a=1; b=2; c=4"));
        assert_eq!(names(" csrftoken=c1; sessionid=s1;"), ["csrftoken", "sessionid"]);
    }
}

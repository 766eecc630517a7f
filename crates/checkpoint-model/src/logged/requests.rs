//! Whose error is it: when two checks get a 500 from one service at the same
//! moment, the service's log of that time holds both tracebacks, and the last
//! one is not always this check's. A web framework names the request next to
//! the traceback it logs for it; those names tie each traceback to its
//! request:
//!
//! - uvicorn's access line, written as the 500 is sent, right before its
//!   `ERROR: Exception in ASGI application` and the traceback:
//!   `INFO: 172.18.0.1:48878 - "GET /debug/boom HTTP/1.1" 500 Internal Server Error`;
//! - Django's `django.request` record, whose first line names the path:
//!   `Internal Server Error: /api/items/` (also `Bad Gateway: …`, `Service Unavailable: …`);
//! - Flask's `Exception on /items [GET]`.
//!
//! A traceback that follows one of these belongs to that request. [`error_of`]
//! quotes the traceback of the check's own request; failing that, the last
//! error no other failed request claims (an error a handler logged before it
//! answered 500, a lost database connection). An access line written after
//! the response (gunicorn's, nginx's, Express's morgan) claims nothing: what
//! follows it is not its traceback.

use super::{last_error_in, single_line_error, strip_ansi};

/// The request a check sent, as a server's log names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path and query sent: `/items?page=2`.
    pub target: String,
}

impl Request {
    /// The request for `method` and an absolute `url` (`http://host:port/items?page=2`).
    #[must_use]
    pub fn new(method: &str, url: &str) -> Self {
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let target = after_scheme.find(['/', '?']).map_or("/", |at| &after_scheme[at..]);
        let target = target.split('#').next().unwrap_or(target);
        let target = if target.starts_with('?') { format!("/{target}") } else { target.to_string() };
        Self { method: method.to_ascii_uppercase(), target }
    }
}

/// The error `log` ties to `request`, else the last one it ties to no other
/// failed request; `None` when there is neither. Without a request (a check
/// that sent none, or whose request is unknown), the last error no failed
/// request claims.
pub fn error_of(log: &str, request: Option<&Request>) -> Option<String> {
    let (own, rest) = sort(log, request);
    own.or_else(|| last_error_in(&rest))
}

/// Only the error `log` ties to `request`: what a service the request went
/// on to (the app behind a reverse proxy) logged for it.
pub fn error_for(log: &str, request: &Request) -> Option<String> {
    sort(log, Some(request)).0
}

/// The error tied to `request`, and the lines no failed request claims.
fn sort(log: &str, request: Option<&Request>) -> (Option<String>, Vec<String>) {
    let lines: Vec<String> = log.lines().map(strip_ansi).collect();
    let mut claimed = vec![false; lines.len()];
    // A log that ties errors to requests and begins inside a traceback: the
    // request it was logged for is cut off above, so it is nobody's here.
    if lines.iter().any(|l| failed_request(l).is_some()) {
        let orphan = (0..lines.len()).take_while(|&i| in_traceback(&lines, i)).count();
        claimed[..orphan].iter_mut().for_each(|c| *c = true);
    }
    let mut own = None;
    for (at, named) in lines.iter().enumerate().filter_map(|(i, l)| failed_request(l).map(|n| (i, n))) {
        let record = record_after(&lines, at);
        claimed[at..record.end].iter_mut().for_each(|c| *c = true);
        if request.is_some_and(|r| named.is(r))
            && let Some(quote) = last_error_in(&lines[record])
        {
            own = Some(quote);
        }
    }
    let rest = lines.into_iter().zip(claimed).filter(|(_, c)| !c).map(|(l, _)| l).collect();
    (own, rest)
}

/// A failed request a log line names.
#[derive(Debug, PartialEq, Eq)]
struct Named<'a> {
    method: Option<&'a str>,
    target: &'a str,
}

impl Named<'_> {
    fn is(&self, r: &Request) -> bool {
        self.method.is_none_or(|m| m.eq_ignore_ascii_case(&r.method)) && same_target(self.target, &r.target)
    }
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// The reason phrases Django's `django.request` logs a 5xx response with.
const SERVER_ERRORS: [&str; 6] = [
    "Internal Server Error",
    "Not Implemented",
    "Bad Gateway",
    "Service Unavailable",
    "Gateway Timeout",
    "HTTP Version Not Supported",
];

/// The failed (5xx) request a line names, in the ways the module doc lists.
fn failed_request(line: &str) -> Option<Named<'_>> {
    // `"GET /debug/boom HTTP/1.1" 500`: a request line in quotes, then a 5xx status.
    for (at, _) in line.match_indices('"') {
        let rest = &line[at + 1..];
        let Some((method, rest)) = rest.split_once(' ') else { continue };
        let Some((target, rest)) = rest.split_once(' ') else { continue };
        if !METHODS.contains(&method) || !rest.starts_with("HTTP/") {
            continue;
        }
        let Some((_, after)) = rest.split_once('"') else { continue };
        let status = after.trim_start().get(..3).unwrap_or("");
        if status.starts_with('5') && status.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Named { method: Some(method), target });
        }
    }
    // Django: `Internal Server Error: /api/items/`.
    for phrase in SERVER_ERRORS {
        if let Some(at) = line.find(&format!("{phrase}: /")) {
            let target = line[at + phrase.len() + 2..].split_whitespace().next()?;
            return Some(Named { method: None, target });
        }
    }
    // Flask: `Exception on /items [GET]`.
    let at = line.find("Exception on /")?;
    let (target, rest) = line[at + "Exception on ".len()..].split_once(" [")?;
    let method = rest.split(']').next()?;
    METHODS.contains(&method).then_some(Named { method: Some(method), target })
}

/// The traceback logged for the request named on line `at`: the lines after
/// it, when a Python traceback starts there (after at most one error-level
/// line, uvicorn's `ERROR: Exception in ASGI application`), up to where the
/// traceback ends. Empty when no traceback follows.
fn record_after(lines: &[String], at: usize) -> std::ops::Range<usize> {
    let start = at + 1;
    let mut i = start;
    if lines
        .get(i)
        .is_some_and(|l| !opens_traceback(l) && single_line_error(l).is_some() && failed_request(l).is_none())
    {
        i += 1;
    }
    if !lines.get(i).is_some_and(|l| opens_traceback(l)) {
        return start..start;
    }
    i += 1;
    while i < lines.len() && in_traceback(lines, i) {
        i += 1;
    }
    start..i
}

fn opens_traceback(line: &str) -> bool {
    let l = line.trim_start_matches([' ', '+', '|']);
    l.starts_with("Traceback (most recent call last):") || l.starts_with("Exception Group Traceback")
}

/// Whether line `i` still belongs to the traceback above it: a frame, a
/// group's box, a caret line, a blank, the chaining words, another
/// `Traceback`, or the exception line right after the frames.
fn in_traceback(lines: &[String], i: usize) -> bool {
    let line = &lines[i];
    if line.trim().is_empty() || line.starts_with([' ', '\t', '|', '+', '^', '~']) || opens_traceback(line) {
        return true;
    }
    if line.starts_with("During handling of the above exception") || line.starts_with("The above exception was") {
        return true;
    }
    // The exception line: right after an indented line (the last frame, a caret line).
    let previous = lines[..i].iter().rev().find(|l| !l.trim().is_empty());
    previous.is_some_and(|p| p.starts_with([' ', '\t', '|', '+']) && failed_request(line).is_none())
}

/// Whether a target a log names is the one sent: the same path (percent
/// decoded: uvicorn re-encodes it, Django logs it decoded), and the same
/// query where the log names one (Django logs the path alone).
fn same_target(logged: &str, sent: &str) -> bool {
    let (logged_path, logged_query) = logged.split_once('?').map_or((logged, None), |(p, q)| (p, Some(q)));
    let (sent_path, sent_query) = sent.split_once('?').map_or((sent, ""), |(p, q)| (p, q));
    decode(logged_path) == decode(sent_path) && logged_query.is_none_or(|q| decode(q) == decode(sent_query))
}

fn decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Named, Request, error_for, error_of, failed_request};

    fn captured(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/logs/{name}", env!("CARGO_MANIFEST_DIR"))).expect("captured log")
    }

    fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    /// What a failed `GET url` quotes from `log`.
    fn quoted(log: &str, url: &str) -> Option<String> {
        error_of(log, Some(&get(url)))
    }

    #[test]
    fn the_request_as_a_log_names_it() {
        assert_eq!(get("http://127.0.0.1:8000/items?page=2#top").target, "/items?page=2");
        assert_eq!(get("http://127.0.0.1:8000").target, "/");
        assert_eq!(get("http://127.0.0.1:8000?x=1").target, "/?x=1");
        assert_eq!(Request::new("post", "https://api/a").method, "POST");
        let uvicorn = "INFO:     172.18.0.1:48878 - \"GET /debug/boom?after=0.3 HTTP/1.1\" 500 Internal Server Error";
        assert_eq!(failed_request(uvicorn), Some(Named { method: Some("GET"), target: "/debug/boom?after=0.3" }));
        let gunicorn = "127.0.0.1 - - [07/Dec/2026:10:00:00 +0000] \"POST /api/items/ HTTP/1.1\" 503 12 \"-\" \"curl\"";
        assert_eq!(failed_request(gunicorn), Some(Named { method: Some("POST"), target: "/api/items/" }));
        assert_eq!(failed_request("INFO:     1.2.3.4:5 - \"GET /health HTTP/1.1\" 200 OK"), None, "not a failure");
        assert_eq!(
            failed_request("ERROR 2026-12-07 django.request Internal Server Error: /api/items/9/"),
            Some(Named { method: None, target: "/api/items/9/" })
        );
        assert_eq!(
            failed_request("[2026-12-07 10:00:00,000] ERROR in app: Exception on /items [POST]"),
            Some(Named { method: Some("POST"), target: "/items" })
        );
        // nginx's error line names the request, but no status: not a failed request of its own.
        assert_eq!(
            failed_request(
                "2026/12/07 10:00:00 [error] 7#7: *1 upstream prematurely closed, request: \"GET /a HTTP/1.1\", upstream: \"http://api/a\""
            ),
            None
        );
    }

    #[test]
    fn a_path_is_the_same_encoded_or_not() {
        let r = get("http://h/items/a%20b?q=%C3%A9");
        assert!(Named { method: Some("GET"), target: "/items/a%20b?q=%C3%A9" }.is(&r));
        assert!(Named { method: None, target: "/items/a b" }.is(&r), "Django logs the path alone, decoded");
        assert!(!Named { method: Some("POST"), target: "/items/a%20b?q=%C3%A9" }.is(&r), "another method");
        assert!(!Named { method: Some("GET"), target: "/items/a%20b?q=other" }.is(&r), "another query");
        assert!(!Named { method: Some("GET"), target: "/items/a" }.is(&r));
    }

    /// uvicorn, one process: each traceback right after its request's access
    /// line. The log of one window holds both; each check quotes its own.
    #[test]
    fn two_tracebacks_at_once_each_to_its_request() {
        let log = captured("uvicorn-concurrent-500s.log");
        assert_eq!(
            quoted(&log, "http://api:8000/debug/boom").as_deref(),
            Some("RuntimeError: boom: a deliberate unhandled error")
        );
        assert_eq!(
            quoted(&log, "http://api:8000/debug/boom?after=0.3").as_deref(),
            Some("RuntimeError: boom: a deliberate unhandled error after 0.3s")
        );
        // A 500 its handler answered itself, logged with no traceback: the others' are not its cause.
        assert_eq!(quoted(&log, "http://api:8000/debug/fail"), None);
        // Neither a request nor an unclaimed error: nothing to say.
        assert_eq!(error_of(&log, None), None);
        // What each quoted before: the last traceback in the window, whosever it was.
        assert_eq!(
            super::super::last_error(&log).as_deref(),
            Some("RuntimeError: boom: a deliberate unhandled error after 0.3s")
        );
    }

    #[test]
    fn distinct_errors_are_kept_apart() {
        let record = |path: &str, error: &str| {
            format!(
                "INFO:     172.18.0.1:1 - \"GET {path} HTTP/1.1\" 500 Internal Server Error\n\
                 ERROR:    Exception in ASGI application\n\
                 Traceback (most recent call last):\n  File \"/app/main.py\", line 9, in handler\n    raise\n{error}\n"
            )
        };
        let log = format!(
            "{}INFO:     172.18.0.1:3 - \"GET /health HTTP/1.1\" 200 OK\n{}",
            record("/items", "KeyError: 'owner'"),
            record(
                "/users/me",
                "sqlalchemy.exc.ProgrammingError: (psycopg2.errors.UndefinedColumn) column \"email\" does not exist"
            )
        );
        assert_eq!(quoted(&log, "http://api/items").as_deref(), Some("KeyError: 'owner'"));
        assert_eq!(
            quoted(&log, "http://api/users/me").as_deref(),
            Some("sqlalchemy.exc.ProgrammingError: (psycopg2.errors.UndefinedColumn) column \"email\" does not exist")
        );
        // What a handler logged before it answered 500 is claimed by no request: quoted.
        let handled = format!("ERROR:    upstream payments timed out\n{log}");
        assert_eq!(quoted(&handled, "http://api/pay").as_deref(), Some("ERROR: upstream payments timed out"));
        // A log that ties nothing to requests: the last error, as before.
        let plain = "ERROR: first\nERROR: second\n";
        assert_eq!(error_of(plain, Some(&get("http://api/x"))).as_deref(), Some("ERROR: second"));
    }

    /// Django under gunicorn: `django.request` names the path on the
    /// traceback's first line; gunicorn's access line, written after the
    /// response, claims nothing that follows it.
    #[test]
    fn django_names_the_path_on_the_tracebacks_first_line() {
        let log = captured("django-gunicorn-concurrent-500s.log");
        assert_eq!(quoted(&log, "http://web:8000/boom/alpha/").as_deref(), Some("RuntimeError: alpha went wrong"));
        assert_eq!(quoted(&log, "http://web:8000/boom/beta/").as_deref(), Some("KeyError: 'beta'"));
    }

    /// Behind nginx: the proxy logs the 500 after the response, and no error;
    /// the app behind it ties its traceback to the same request (passed on
    /// as HTTP/1.0).
    #[test]
    fn the_app_behind_a_proxy_names_the_request_too() {
        let api = captured("uvicorn-behind-nginx.log");
        let boom = get("http://127.0.0.1:32789/debug/boom");
        assert_eq!(error_of(&captured("nginx-proxy-500.log"), Some(&boom)), None, "the proxy logged no error");
        assert_eq!(error_for(&api, &boom).as_deref(), Some("RuntimeError: boom: a deliberate unhandled error"));
        assert_eq!(error_for(&api, &get("http://127.0.0.1:32789/health")), None);
        // Only what the log ties to the request: another service's other errors are not its cause.
        assert_eq!(error_for("ERROR: unrelated\n", &boom), None);
    }

    /// The window's first lines can be the end of a traceback whose request
    /// line is above it (logged before the check began, or cut by the line
    /// budget): nobody's, here. Captured from the pystack end-to-end test.
    #[test]
    fn a_window_that_begins_inside_a_traceback() {
        let log = captured("uvicorn-window-begins-in-a-traceback.log");
        assert!(log.starts_with("\nDuring handling"));
        assert_eq!(quoted(&log, "http://api:8000/debug/fail"), None);
        assert_eq!(
            quoted(&log, "http://api:8000/debug/boom?after=0.1").as_deref(),
            Some("RuntimeError: boom: a deliberate unhandled error after 0.1s")
        );
        // Without request lines it reads as before: the tail of a traceback names its error.
        let bare = log.lines().take(76).collect::<Vec<_>>().join("\n");
        assert_eq!(
            quoted(&bare, "http://api:8000/debug/fail").as_deref(),
            Some("RuntimeError: boom: a deliberate unhandled error")
        );
    }
}

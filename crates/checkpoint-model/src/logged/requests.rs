//! Whose error is it: when two checks get a 500 from one service at the same
//! moment, the service's log of that time holds both tracebacks, and the last
//! one is not always this check's. A web framework names the request next to
//! the traceback it logs for it; those names tie each traceback to its
//! request:
//!
//! - Django's `django.request` record, whose first line names the path:
//!   `Internal Server Error: /api/items/` (also `Bad Gateway: …`, `Service Unavailable: …`),
//!   and Flask's `Exception on /items [GET]`: the traceback below is that request's;
//! - an access line with a 5xx status: uvicorn's, written as the 500 is sent,
//!   before its `ERROR: Exception in ASGI application` and the traceback
//!   (`INFO: 172.18.0.1:48878 - "GET /debug/boom HTTP/1.1" 500 Internal Server Error`);
//!   gunicorn's, after it; morgan's (Express, `combined` or `dev`:
//!   `GET /users/7 500 0.440 ms - 1035`), a millisecond either side of the
//!   error Express logs with its `at …` stack.
//!
//! An access line is near its traceback, not always next to it: other
//! requests' lines come between, and uvicorn writes access lines to stdout
//! and tracebacks to stderr, which the engine reads apart — an access line
//! can land after its traceback or in the middle of another's. With the
//! engine's timestamps (`Target::logs_since` gives them), a traceback is the
//! request's whose failure was logged within 60 ms of it, when there is only
//! one; with two or more it is nobody's: a quote that could be another
//! request's cause is not given — unless those tracebacks, as many as the
//! requests near them, all name the same error (a database gone): then each
//! of those requests quotes it. A traceback follows its own access line by a
//! few ms at most, but a loaded host can take longer to format it: the one
//! line near it, logged well after it while a request that failed before it
//! is untied, is likelier the next request's — nobody's. With no line near,
//! the failed request's line right before it; without timestamps, the line
//! right before it, else right after it. An access line found inside a
//! traceback is moved after it.
//!
//! [`error_of`] quotes the traceback of the check's own request; failing
//! that, the last error no failed request claims (an error a handler logged
//! before it answered 500, a lost database connection). A traceback tied to
//! none is that fallback for a request the log names as failed only when no
//! other failed request is left untied: it could be theirs.

use super::{js_error, json, last_error_in, opens_traceback, single_line_error, strip_ansi};

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

    /// The request as an app behind a path-rewriting proxy logs it: without
    /// its first one or two path segments (nginx's `location /api/ {
    /// proxy_pass http://api:8000/; }` turns `/api/items/5` into `/items/5`),
    /// the nearest first. Never down to the bare `/`, which any app serves.
    #[must_use]
    pub fn rewritten(&self) -> Vec<Self> {
        let (path, query) = self.target.split_once('?').map_or((self.target.as_str(), None), |(p, q)| (p, Some(q)));
        let mut out = Vec::new();
        let mut rest = path;
        for _ in 0..2 {
            let Some(at) = rest[1..].find('/') else { break };
            rest = &rest[at + 1..];
            if rest == "/" {
                break;
            }
            let target = query.map_or_else(|| rest.to_string(), |q| format!("{rest}?{q}"));
            out.push(Self { method: self.method.clone(), target });
        }
        out
    }
}

/// The error `log` ties to `request`, else the last one it ties to no other
/// failed request; `None` when there is neither. Without a request (a check
/// that sent none, or whose request is unknown), the last error no failed
/// request claims.
pub fn error_of(log: &str, request: Option<&Request>) -> Option<String> {
    said_of(log, request).map(|s| s.quote)
}

/// Only the error `log` ties to `request`: what a service the request went
/// on to (the app behind a reverse proxy) logged for it.
pub fn error_for(log: &str, request: &Request) -> Option<String> {
    said_for(log, request).map(|s| s.quote)
}

/// What a log says went wrong for a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Said {
    /// The error, in one line ([`error_of`]).
    pub quote: String,
    /// The request's own traceback, with the line that names the request,
    /// when the log ties one to it: the evidence behind the quote, whatever
    /// other requests logged around it.
    pub traceback: Option<String>,
}

/// [`error_of`], with the request's own traceback.
pub fn said_of(log: &str, request: Option<&Request>) -> Option<Said> {
    let (own, rest) = sort(log, request);
    own.or_else(|| last_error_in(&rest).map(|quote| Said { quote, traceback: None }))
}

/// [`error_for`], with the request's own traceback.
pub fn said_for(log: &str, request: &Request) -> Option<Said> {
    sort(log, Some(request)).0
}

/// The error tied to `request`, and the lines no failed request claims.
fn sort(log: &str, request: Option<&Request>) -> (Option<Said>, Vec<String>) {
    let Lifted { lines, mut stamps, moved, mut claimed } = lift(log.lines().map(stamped).collect());
    // A JSON record's own time, where the engine's stamp agrees (the engine
    // read it at most a minute later; containers share the host's clock,
    // and a zone `asctime` does not name is 15 minutes off or more): when
    // the error was logged, before a first traceback took its time to be
    // formatted (90 ms measured, over a second on a loaded host). To the
    // end of its millisecond (Python's `asctime` is cut to it), so that its
    // request's line logged just before it is not after it.
    let mut own_time = vec![false; lines.len()];
    for ((line, stamp), own_time) in lines.iter().zip(&mut stamps).zip(&mut own_time) {
        if let Some(read) = *stamp
            && let Some(own) = json::error(line).filter(|e| e.exception).and_then(|e| e.time)
            && own <= read + OWN_CLOCK_NS
            && read - own.min(read) <= 60_000_000_000
        {
            *stamp = Some((own + 1_000_000).min(read));
            *own_time = true;
        }
    }
    // A log that ties errors to requests and begins inside a traceback: the
    // request it was logged for is cut off above, so it is nobody's here.
    if lines.iter().any(|l| failed_request(l).is_some()) {
        let orphan =
            (0..lines.len()).take_while(|&i| in_traceback(&lines, i) && own_record(&lines, i).is_none()).count();
        claim(&mut claimed, 0..orphan);
    }
    let named: Vec<Option<Named>> = lines.iter().map(|l| failed_request(l)).collect();
    let mut used = vec![false; lines.len()];
    let mut own = None;
    let mut tie = |record: std::ops::Range<usize>, by: usize, claimed: &mut [bool], used: &mut [bool]| {
        used[by] = true;
        claim(claimed, record.clone());
        if request.is_some_and(|r| named[by].as_ref().is_some_and(|n| n.is(r)))
            && let Some(quote) = last_error_in(&lines[record.clone()])
        {
            // In log order: uvicorn's line before its traceback, gunicorn's after.
            let (first, then) = if by < record.start { (by..by + 1, record) } else { (record, by..by + 1) };
            // A JSON record's exception, escaped in one line, follows it as the text log would show it.
            let traceback = lines[first]
                .iter()
                .chain(&lines[then])
                .flat_map(|l| std::iter::once(l.clone()).chain(json::exception_text(l)))
                .collect::<Vec<_>>()
                .join("\n");
            own = Some(Said { quote, traceback: Some(traceback) });
        }
    };
    // A line that heads its request's traceback (Django, Flask) ties it.
    for at in (0..lines.len()).filter(|&i| named[i].as_ref().is_some_and(|n| n.header)) {
        let record = record_after(&lines, at);
        if !record.is_empty() && unclaimed(&claimed, &record) {
            tie(record, at, &mut claimed, &mut used);
        }
    }
    // An access line (uvicorn's before the traceback, gunicorn's after the
    // response) is near its request's traceback, but other requests' access
    // lines can come between. With the engine's timestamps: the one failed
    // request logged within NEAR of the traceback's first line; two or more
    // and it is nobody's. Without (or with none that near): the access line
    // right before it, else right after it.
    let access = |i: usize, used: &[bool]| named[i].as_ref().is_some_and(|n| !n.header) && !used[i];
    let mut unsure = Vec::new();
    for record in records(&lines) {
        if !unclaimed(&claimed, &record) {
            continue;
        }
        let near: Vec<usize> = match stamps[record.start] {
            Some(t) => (0..lines.len())
                .filter(|&i| access(i, &used) && stamps[i].is_some_and(|s| s.abs_diff(t) <= NEAR_NS))
                .collect(),
            None => Vec::new(),
        };
        // A Python traceback's request line may be above the window (read
        // from the check's start, which fell between the two): when the only
        // ones near come after it and it is near the window's first line, it
        // is nobody's. (Express's line comes either side of its stack, within
        // a millisecond: the one after it is its own.)
        let first = stamps.iter().flatten().next();
        // A record's own time and the engine's stamps are two clocks: a line
        // is after it only when it is later by more than they can differ.
        let slack = if own_time[record.start] { OWN_CLOCK_NS } else { 0 };
        let cut_off = match (stamps[record.start], first) {
            (Some(t), Some(&first)) => {
                t.saturating_sub(first) <= NEAR_NS
                    && near.iter().all(|&i| stamps[i].is_some_and(|s| s >= t + slack))
                    && js_stack(&lines, record.start).is_none()
            }
            _ => false,
        };
        // A traceback is written after its own request's access line (a pipe
        // apart: LATE_NS at most). The only line near it coming well after
        // it, while a request that failed before it is still untied, is
        // likelier the next request's (the traceback was formatted late).
        let overtaken = match (stamps[record.start], &near[..]) {
            (Some(t), &[one]) => {
                stamps[one].is_some_and(|s| s > t + LATE_NS)
                    && (0..lines.len()).any(|i| i != one && access(i, &used) && stamps[i].is_some_and(|s| s < t))
            }
            _ => false,
        };
        let by = match near[..] {
            [_] if cut_off || overtaken => {
                claim(&mut claimed, record.clone());
                continue;
            }
            [one] => Some(one),
            [_, _, ..] => {
                claim(&mut claimed, record.clone());
                unsure.push((record, near));
                continue;
            }
            [] => {
                // With timestamps, a line after it and not near is a later request's.
                // The line before it is not its own while an earlier failed request
                // is untied too: its traceback, formatted late, came after the next
                // request's line.
                let before = record.start.checked_sub(1).filter(|&i| {
                    access(i, &used)
                        && !moved[i]
                        && !(stamps[record.start].is_some() && (0..i).any(|j| access(j, &used)))
                });
                let after = Some(record.end)
                    .filter(|&i| i < lines.len() && access(i, &used) && !moved[i] && stamps[record.start].is_none());
                let next_opens = record.end + 1 < lines.len()
                    && (opens_record(&lines, record.end + 1) || own_record(&lines, record.end + 1).is_some());
                before.or(after.filter(|_| !next_opens))
            }
        };
        if let Some(by) = by {
            tie(record, by, &mut claimed, &mut used);
        }
    }
    // Several failed requests near several tracebacks that all name the same
    // error (a database gone: every request fails alike), as many requests
    // as tracebacks: whichever is whose, each request's says that.
    for (requests, quote) in agreeing(&unsure, &used, |r| last_error_in(&lines[r])) {
        if requests.iter().any(|&i| request.is_some_and(|r| named[i].as_ref().is_some_and(|n| n.is(r)))) {
            own = Some(Said { quote, traceback: None });
        }
    }
    // A traceback tied to no request is the fallback's only where it can be
    // this request's alone: when the log names this request as failed, not
    // if another failed request is untied too (its unhandled error formatted
    // late, or its handler's, logged before it answered).
    if own.is_none()
        && let Some(r) = request
    {
        let mine = |i: usize| named[i].as_ref().is_some_and(|n| n.is(r));
        if (0..lines.len()).any(mine) {
            let untied = |i: usize| named[i].is_some() && !used[i];
            let others = (0..lines.len()).any(|i| !mine(i) && untied(i));
            if others || !(0..lines.len()).any(|i| mine(i) && untied(i)) {
                for record in records(&lines) {
                    if unclaimed(&claimed, &record) {
                        claim(&mut claimed, record);
                    }
                }
            }
        }
    }
    claimed.iter_mut().zip(&named).for_each(|(c, n)| *c |= n.is_some());
    let rest = lines.into_iter().zip(claimed).filter(|(_, c)| !c).map(|(l, _)| l).collect();
    (own, rest)
}

/// The groups of tracebacks that could each be one of several failed
/// requests' (joined by the requests they share), with as many requests not
/// tied elsewhere as tracebacks, all naming the same error: the requests and
/// that error.
fn agreeing(
    unsure: &[(std::ops::Range<usize>, Vec<usize>)],
    used: &[bool],
    quote: impl Fn(std::ops::Range<usize>) -> Option<String>,
) -> Vec<(Vec<usize>, String)> {
    let mut groups: Vec<(Vec<usize>, Vec<usize>)> = Vec::new(); // (records, requests)
    for (at, (_, near)) in unsure.iter().enumerate() {
        let near: Vec<usize> = near.iter().copied().filter(|&i| !used[i]).collect();
        let (joined, mut rest): (Vec<_>, Vec<_>) =
            groups.drain(..).partition(|(_, requests)| requests.iter().any(|i| near.contains(i)));
        let mut group = (vec![at], near);
        for (records, requests) in joined {
            group.0.extend(records);
            group.1.extend(requests);
        }
        group.1.sort_unstable();
        group.1.dedup();
        rest.push(group);
        groups = rest;
    }
    groups
        .into_iter()
        .filter(|(records, requests)| records.len() == requests.len())
        .filter_map(|(records, requests)| {
            let quotes: Vec<Option<String>> = records.iter().map(|&r| quote(unsure[r].0.clone())).collect();
            let first = quotes.first().cloned().flatten()?;
            quotes.iter().all(|q| q.as_deref() == Some(first.as_str())).then_some((requests, first))
        })
        .collect()
}

/// How near (in the engine's timestamps) an access line is to its
/// request's traceback: uvicorn writes them microseconds apart, but to two
/// pipes the engine reads apart — 0.2 to 18 ms apart measured on a busy
/// 2-core machine — and formatting a first traceback took 18 ms.
const NEAR_NS: u128 = 60_000_000;

/// How much later than the engine read it a JSON record can say it was
/// made: its time is the container's clock, to the millisecond, the
/// engine's stamp the host's.
const OWN_CLOCK_NS: u128 = 5_000_000;

/// How much later than a traceback its own request's access line can be
/// stamped when uvicorn logged it (the line first, to the other pipe; 0.2 ms
/// measured).
const LATE_NS: u128 = 20_000_000;

/// A line as the engine gives it with its timestamp
/// (`2026-12-07T14:08:31.237869093Z text`): the time in nanoseconds since
/// the epoch, and the text. Lines without one are kept whole.
fn stamped(line: &str) -> (Option<u128>, String) {
    if let Some((stamp, text)) = line.split_once(' ')
        && stamp.len() >= 20
        && stamp.as_bytes()[10] == b'T'
        && stamp.ends_with('Z')
        && let Ok(t) = humantime::parse_rfc3339(stamp)
        && let Ok(since) = t.duration_since(std::time::UNIX_EPOCH)
    {
        return (Some(since.as_nanos()), strip_ansi(text));
    }
    (None, strip_ansi(line))
}

/// The tracebacks of a log, each with the error-level line that heads it
/// (uvicorn's `ERROR: Exception in ASGI application`), in order; the
/// JavaScript errors with their stacks; the JSON records of an exception.
fn records(lines: &[String]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(end) = own_record(lines, i) {
            out.push(i..end);
            i = end;
            continue;
        }
        if !opens_record(lines, i) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        if !opens_traceback(&lines[i]) {
            end += 1; // the header, then the `Traceback` line
        }
        while end < lines.len() && in_traceback(lines, end) {
            end += 1;
        }
        out.push(start..end);
        i = end;
    }
    out
}

/// Whether line `i` opens a traceback of its own: a `Traceback` line that
/// does not continue a chain (`During handling of the above exception…`)
/// and has no header, or an error-level line right before one.
fn opens_record(lines: &[String], i: usize) -> bool {
    if opens_traceback(&lines[i]) {
        let chained = lines[..i].iter().rev().find(|l| !l.trim().is_empty()).is_some_and(|l| chains(l));
        let headed = i > 0 && header_of_traceback(lines, i - 1);
        return !(chained || headed);
    }
    header_of_traceback(lines, i)
}

/// Where the record that starts on line `i` ends, when it is not a Python
/// traceback: a JSON record of an exception (one line), or a JavaScript
/// error with its stack ([`js_stack`]).
fn own_record(lines: &[String], i: usize) -> Option<usize> {
    if json::error(&lines[i]).is_some_and(|e| e.exception) {
        return Some(i + 1);
    }
    js_stack(lines, i)
}

/// Where the JavaScript error on line `i` ends: its error line (Express logs
/// a route's `err.stack`: `TypeError: …`), the error-level line right before
/// it if there is one (a logger's own line for it), and its indented `at …`
/// frames. `None` when no such error starts there.
fn js_stack(lines: &[String], i: usize) -> Option<usize> {
    let headed = || {
        failed_request(&lines[i]).is_none()
            && single_line_error(&lines[i]).is_some()
            && i + 1 < lines.len()
            && js_error(lines, i + 1).is_some()
    };
    let error = if js_error(lines, i).is_some() {
        i
    } else if headed() {
        i + 1
    } else {
        return None;
    };
    let frames = lines[error + 1..].iter().take_while(|l| l.starts_with([' ', '\t']) && !l.trim().is_empty()).count();
    Some(error + 1 + frames)
}

/// An error-level line right before a traceback's first line.
fn header_of_traceback(lines: &[String], i: usize) -> bool {
    failed_request(&lines[i]).is_none()
        && single_line_error(&lines[i]).is_some()
        && lines.get(i + 1).is_some_and(|l| opens_traceback(l))
}

/// A log's lines with the access lines found inside a traceback moved to
/// right after it.
struct Lifted {
    lines: Vec<String>,
    /// The engine's timestamp of each line, if it has one.
    stamps: Vec<Option<u128>>,
    /// The lines moved: out of place, they are nobody's neighbour.
    moved: Vec<bool>,
    /// The lines that are nobody's: a traceback another failed request's
    /// access line was found inside.
    claimed: Vec<bool>,
}

impl Lifted {
    fn push(&mut self, (stamp, line): (Option<u128>, String), moved: bool) {
        self.lines.push(line);
        self.stamps.push(stamp);
        self.moved.push(moved);
        self.claimed.push(false);
    }
}

/// uvicorn writes its access lines to stdout and its tracebacks to stderr;
/// the engine reads the two pipes apart and stamps each line as it reads it,
/// so an access line written before or after a traceback can land in the
/// middle of it (seen 1 run in 10 on the pystack). Such a line is moved
/// after the traceback, which it does not cut short. When it names a failed
/// request and the log has no timestamps to tell, whose traceback this is
/// cannot be told: nobody's.
fn lift(raw: Vec<(Option<u128>, String)>) -> Lifted {
    let mut out =
        Lifted { lines: Vec::with_capacity(raw.len()), stamps: Vec::new(), moved: Vec::new(), claimed: Vec::new() };
    let mut held: Vec<(Option<u128>, String)> = Vec::new();
    let mut block: Option<usize> = None;
    let flush = |out: &mut Lifted, block: usize, held: &mut Vec<(Option<u128>, String)>| {
        if held.iter().any(|(stamp, l)| stamp.is_none() && failed_request(l).is_some()) {
            // The error-level line that heads the traceback with it.
            let from = block.saturating_sub(usize::from(block > 0 && header_of_traceback(&out.lines, block - 1)));
            let to = out.claimed.len();
            claim(&mut out.claimed, from..to);
        }
        for l in held.drain(..) {
            out.push(l, true);
        }
    };
    for line in raw {
        if let Some(start) = block
            && quoted_request(&line.1).is_some()
        {
            // Inside while the traceback is still open (its last line a frame,
            // a box, a blank); after its exception line, it is after it.
            if out.lines.last().is_some_and(|l| still_open(l)) {
                held.push(line);
                continue;
            }
            flush(&mut out, start, &mut held);
            block = None;
        }
        out.push(line, false);
        let i = out.lines.len() - 1;
        if let Some(start) = block
            && !in_traceback(&out.lines, i)
        {
            let last = (out.stamps.pop().flatten(), out.lines.pop().unwrap_or_default());
            out.moved.pop();
            out.claimed.pop();
            flush(&mut out, start, &mut held);
            out.push(last, false);
            block = None;
        }
        let i = out.lines.len() - 1;
        if block.is_none() && opens_traceback(&out.lines[i]) {
            block = Some(i);
        }
    }
    if let Some(start) = block {
        flush(&mut out, start, &mut held);
    }
    out
}

/// A failed request a log line names.
#[derive(Debug, PartialEq, Eq)]
struct Named<'a> {
    method: Option<&'a str>,
    target: &'a str,
    /// The line heads the traceback logged for the request and names its
    /// path alone, whatever the query was (Django, Flask); else it is an
    /// access line that names the whole target.
    header: bool,
}

impl Named<'_> {
    fn is(&self, r: &Request) -> bool {
        self.method.is_none_or(|m| m.eq_ignore_ascii_case(&r.method)) && same_target(self, &r.target)
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

/// The request line in quotes and the status after it, as access logs write
/// them: `"GET /debug/boom HTTP/1.1" 500`.
fn quoted_request(line: &str) -> Option<(&str, &str, &str)> {
    for (at, _) in line.match_indices('"') {
        let rest = &line[at + 1..];
        let Some((method, rest)) = rest.split_once(' ') else { continue };
        let Some((target, rest)) = rest.split_once(' ') else { continue };
        if !METHODS.contains(&method) || !rest.starts_with("HTTP/") {
            continue;
        }
        let Some((_, after)) = rest.split_once('"') else { continue };
        let status = after.trim_start().get(..3).unwrap_or("");
        if status.bytes().all(|b| b.is_ascii_digit()) && status.len() == 3 {
            return Some((method, target, status));
        }
    }
    None
}

/// The request line unquoted at the start of the line and the status after
/// it, as morgan's `dev` and `tiny` formats write them (Express):
/// `GET /users/7 500 0.440 ms - 1035`.
fn bare_request(line: &str) -> Option<(&str, &str, &str)> {
    let mut words = line.split(' ');
    let (method, target, status) = (words.next()?, words.next()?, words.next()?);
    let status_like = status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit());
    (METHODS.contains(&method) && target.starts_with('/') && status_like).then_some((method, target, status))
}

/// The failed (5xx) request a line names, in the ways the module doc lists.
fn failed_request(line: &str) -> Option<Named<'_>> {
    if let Some((method, target, status)) = quoted_request(line).or_else(|| bare_request(line)) {
        return status.starts_with('5').then_some(Named { method: Some(method), target, header: false });
    }
    // Django: `Internal Server Error: /api/items/`.
    for phrase in SERVER_ERRORS {
        if let Some(at) = line.find(&format!("{phrase}: /")) {
            let target = line[at + phrase.len() + 2..].split_whitespace().next()?;
            return Some(Named { method: None, target, header: true });
        }
    }
    // Flask: `Exception on /items [GET]`.
    let at = line.find("Exception on /")?;
    let (target, rest) = line[at + "Exception on ".len()..].split_once(" [")?;
    let method = rest.split(']').next()?;
    METHODS.contains(&method).then_some(Named { method: Some(method), target, header: true })
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

/// Whether a traceback whose last line so far is `line` goes on: a frame,
/// a group's box, a caret line, a blank, a `Traceback` line or the chaining
/// words — not its exception line.
fn still_open(line: &str) -> bool {
    line.trim().is_empty() || line.starts_with([' ', '\t', '|', '+', '^', '~']) || opens_traceback(line) || chains(line)
}

/// The words between the tracebacks of a chain of exceptions.
fn chains(line: &str) -> bool {
    line.starts_with("During handling of the above exception") || line.starts_with("The above exception was")
}

/// Marks lines `range` as claimed.
fn claim(claimed: &mut [bool], range: std::ops::Range<usize>) {
    claimed[range].iter_mut().for_each(|c| *c = true);
}

/// Whether no line of `range` is claimed yet.
fn unclaimed(claimed: &[bool], range: &std::ops::Range<usize>) -> bool {
    !claimed[range.clone()].iter().any(|&c| c)
}

/// Whether line `i` still belongs to the traceback above it: a frame, a
/// group's box, a caret line, a blank, the chaining words, another
/// `Traceback`, or the exception line right after the frames.
fn in_traceback(lines: &[String], i: usize) -> bool {
    let line = &lines[i];
    if still_open(line) {
        return true;
    }
    // The exception line: right after an indented line (the last frame, a caret line).
    let previous = lines[..i].iter().rev().find(|l| !l.trim().is_empty());
    previous.is_some_and(|p| p.starts_with([' ', '\t', '|', '+']) && failed_request(line).is_none())
}

/// Whether the target a log names is the one sent: the same path (percent
/// decoded: uvicorn re-encodes it, Django logs it decoded), and the same
/// query, unless the log names the path alone.
fn same_target(logged: &Named, sent: &str) -> bool {
    let (logged_path, logged_query) = logged.target.split_once('?').unwrap_or((logged.target, ""));
    let (sent_path, sent_query) = sent.split_once('?').unwrap_or((sent, ""));
    decode(logged_path) == decode(sent_path) && (logged.header || decode(logged_query) == decode(sent_query))
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
        assert_eq!(
            failed_request(uvicorn),
            Some(Named { method: Some("GET"), target: "/debug/boom?after=0.3", header: false })
        );
        let gunicorn = "127.0.0.1 - - [07/Dec/2026:10:00:00 +0000] \"POST /api/items/ HTTP/1.1\" 503 12 \"-\" \"curl\"";
        assert_eq!(
            failed_request(gunicorn),
            Some(Named { method: Some("POST"), target: "/api/items/", header: false })
        );
        assert_eq!(failed_request("INFO:     1.2.3.4:5 - \"GET /health HTTP/1.1\" 200 OK"), None, "not a failure");
        assert_eq!(
            failed_request("ERROR 2026-12-07 django.request Internal Server Error: /api/items/9/"),
            Some(Named { method: None, target: "/api/items/9/", header: true })
        );
        assert_eq!(
            failed_request("[2026-12-07 10:00:00,000] ERROR in app: Exception on /items [POST]"),
            Some(Named { method: Some("POST"), target: "/items", header: true })
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
        let named = |method, target, header| Named { method, target, header };
        assert!(named(Some("GET"), "/items/a%20b?q=%C3%A9", false).is(&r));
        assert!(named(None, "/items/a b", true).is(&r), "Django logs the path alone, decoded");
        assert!(!named(Some("POST"), "/items/a%20b?q=%C3%A9", false).is(&r), "another method");
        assert!(!named(Some("GET"), "/items/a%20b?q=other", false).is(&r), "another query");
        assert!(!named(Some("GET"), "/items/a%20b", false).is(&r), "an access line names the query when there is one");
        assert!(!named(Some("GET"), "/items/a", false).is(&r));
        assert!(named(Some("GET"), "/items/a", false).is(&get("http://h/items/a")));
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

    /// The evidence behind each quote is that request's own traceback, from
    /// its access line to its error, not the other's next to it.
    #[test]
    fn each_quote_comes_with_its_own_traceback() {
        let log = captured("uvicorn-concurrent-500s.log");
        let said = |url: &str| super::said_of(&log, Some(&get(url))).expect("a quote");
        for (url, other) in
            [("http://api:8000/debug/boom?after=0.3", "error\n"), ("http://api:8000/debug/boom", "0.3s")]
        {
            let said = said(url);
            let traceback = said.traceback.expect("its traceback");
            let target = &url["http://api:8000".len()..];
            assert!(
                traceback.lines().next().is_some_and(|l| l.contains(&format!("\"GET {target} HTTP/1.1\" 500"))),
                "{traceback}"
            );
            assert_eq!(traceback.lines().filter(|l| l.starts_with("Traceback")).count(), 1, "{traceback}");
            assert_eq!(traceback.lines().last(), Some(said.quote.as_str()), "{traceback}");
            assert!(!format!("{traceback}\n").contains(other), "not the other's: {traceback}");
        }
        // Django: its `Internal Server Error: /path` line heads it.
        let django = captured("django-gunicorn-concurrent-500s.log");
        let said = super::said_of(&django, Some(&get("http://web:8000/boom/beta/"))).expect("a quote");
        let traceback = said.traceback.expect("its traceback");
        assert!(
            traceback.lines().next().is_some_and(|l| l.contains("Internal Server Error: /boom/beta/")),
            "{traceback}"
        );
        assert!(!traceback.contains("alpha"), "{traceback}");
        // An error no request claims is quoted without one.
        let handled = super::said_of("ERROR:    upstream payments timed out\n", Some(&get("http://api/pay")));
        assert_eq!(handled.map(|s| s.traceback), Some(None));
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

    #[test]
    fn a_rewriting_proxy_strips_one_or_two_leading_segments_but_never_all() {
        let targets =
            |url: &str| Request::new("GET", url).rewritten().into_iter().map(|r| r.target).collect::<Vec<_>>();
        assert_eq!(targets("http://proxy/api/items/5?x=1"), ["/items/5?x=1", "/5?x=1"]);
        assert_eq!(targets("http://proxy/api/v1/health"), ["/v1/health", "/health"]);
        assert_eq!(targets("http://proxy/api/health/"), ["/health/"]);
        assert!(targets("http://proxy/api/").is_empty());
        assert!(targets("http://proxy/health").is_empty());
        assert!(targets("http://proxy/").is_empty());
    }

    /// What a failed request to the api for `path` quotes from `log`.
    fn api(log: &str, path: &str) -> Option<String> {
        quoted(log, &format!("http://api:8000{path}"))
    }

    /// What the api's `log` ties to the request for `?after=0.1` sent through the proxy.
    fn proxied(log: &str) -> Option<String> {
        error_for(log, &get("http://proxy/debug/boom?after=0.1"))
    }

    /// The log without the engine's timestamps, as another reader gives it.
    fn unstamped(log: &str) -> String {
        log.lines().map(|l| l.split_once(' ').map_or(l, |(_, text)| text)).collect::<Vec<_>>().join("\n")
    }

    /// The quote of `GET /debug/boom?after=…`'s traceback.
    #[allow(clippy::unnecessary_wraps)] // compared with what `quoted` returns
    fn boom(after: &str) -> Option<String> {
        Some(format!("RuntimeError: boom: a deliberate unhandled error after {after}s"))
    }

    /// The engine reads uvicorn's stdout (access lines) and stderr
    /// (tracebacks) apart and stamps each line as it reads it. Captured from
    /// the pystack end-to-end test, a request at 0, 0.1, 0.2 (then a
    /// handled 500) and 0.3 s, and a handled 500 at 0: `GET /debug/fail`'s
    /// access line landed in the middle of `GET /debug/boom`'s traceback.
    #[test]
    fn an_access_line_inside_a_traceback() {
        // Two failed requests near it (18 ms before, and inside): nobody's
        // (`two_500s_near_one_traceback`); the one after 0.1 s is not cut short.
        let log = captured("uvicorn-access-line-inside-a-traceback.log");
        // The handled 500 the contract check sent right after the 0.2 s one's
        // answer is logged 0.6 ms after its traceback: either could be its.
        assert_eq!(api(&log, "/debug/boom?after=0.2"), None);
        assert_eq!(api(&log, "/debug/boom?after=0.3"), boom("0.3"));
        // Without timestamps: the line found inside makes that one nobody's too.
        let bare = unstamped(&log);
        assert_eq!(api(&bare, "/debug/fail"), None);
        assert_eq!(api(&bare, "/debug/boom"), None);
        for after in ["0.1", "0.2", "0.3"] {
            assert_eq!(api(&bare, &format!("/debug/boom?after={after}")), boom(after));
        }
    }

    /// `GET /debug/boom?after=0.1`'s access line (through nginx) came 0.2 ms
    /// after its traceback; a handled 500 2 ms before `GET /debug/boom`'s.
    #[test]
    fn an_access_line_after_its_traceback() {
        let log = captured("uvicorn-access-line-after-its-traceback.log");
        assert_eq!(proxied(&log), boom("0.1"));
        assert_eq!(api(&log, "/debug/boom"), None, "a handled 500 2 ms before it: either's");
        assert_eq!(api(&log, "/debug/fail"), None);
        assert_eq!(api(&log, "/debug/boom?after=0.3"), boom("0.3"));
        // Without timestamps, the line right before a traceback, else right after it.
        let bare = unstamped(&log);
        assert_eq!(api(&bare, "/debug/boom").as_deref(), Some("RuntimeError: boom: a deliberate unhandled error"));
        assert_eq!(proxied(&bare), boom("0.1"));
        assert_eq!(api(&bare, "/debug/fail"), None);
    }

    /// Two 500s at once, one traceback: the handled one's access line came
    /// between the other's and its traceback (17 ms after it), or inside the
    /// traceback. Taking the line right before the traceback quoted it for
    /// the handled 500 (2 runs in 10); with timestamps neither is sure. The
    /// next traceback, 0.1 s later, is its own request's.
    #[test]
    fn two_500s_near_one_traceback() {
        for name in ["uvicorn-two-500s-before-one-traceback.log", "uvicorn-access-line-inside-a-traceback.log"] {
            let log = captured(name);
            assert_eq!(api(&log, "/debug/fail"), None, "{name}");
            assert_eq!(api(&log, "/debug/boom"), None, "{name}");
            assert_eq!(proxied(&log), boom("0.1"), "{name}");
            assert_eq!(api(&log, "/debug/boom?after=0.3"), boom("0.3"), "{name}");
        }
    }

    /// The window of a check that began between a request's access line and
    /// its traceback (the `openapi` check reads from after it fetched the
    /// spec): the handled 500 right after that traceback is the only failed
    /// request left near it, but the traceback is not its.
    #[test]
    fn a_window_that_begins_between_an_access_line_and_its_traceback() {
        let log = captured("uvicorn-a-handled-500-between-two-tracebacks.log");
        let from =
            log.lines().position(|l| l.contains("ERROR:    Exception in ASGI application")).expect("a traceback");
        let window = log.lines().skip(from).collect::<Vec<_>>().join("\n");
        assert_eq!(error_for(&window, &get("http://api:8000/debug/fail")), None);
        assert_eq!(proxied(&window), boom("0.1"));
    }

    /// A handled 500 logged 1 ms after `GET /debug/boom`'s traceback (sent
    /// at the same moment; the engine may have read its line late) and 87 ms
    /// before the next one's access line: the first traceback could be
    /// either's, the next is not the handled 500's.
    #[test]
    fn a_handled_500_between_two_tracebacks() {
        let log = captured("uvicorn-a-handled-500-between-two-tracebacks.log");
        assert_eq!(api(&log, "/debug/boom"), None);
        assert_eq!(proxied(&log), boom("0.1"));
        // The contract check's handled 500, sent as the 0.2 s one's answer came, 2 ms after its traceback.
        assert_eq!(api(&log, "/debug/boom?after=0.2"), None);
        assert_eq!(api(&log, "/debug/boom?after=0.3"), boom("0.3"));
        assert_eq!(api(&log, "/debug/fail"), None);
    }

    /// The engine's timestamp `ms` milliseconds into a minute.
    fn stamp(ms: u32) -> String {
        format!("2026-12-07T14:00:00.{ms:03}000000Z")
    }

    /// uvicorn's access line for a `GET path` answered 500, stamped at `ms`.
    fn stamped_access(ms: u32, path: &str) -> String {
        format!("{} INFO:     1.2.3.4:5 - \"GET {path} HTTP/1.1\" 500 Internal Server Error\n", stamp(ms))
    }

    /// uvicorn's traceback ending in `error`, every line stamped at `ms`.
    fn stamped_traceback(ms: u32, error: &str) -> String {
        let lines = [
            "ERROR:    Exception in ASGI application",
            "Traceback (most recent call last):",
            "  File \"/app/db.py\", line 9, in connect",
            "    raise",
            error,
        ];
        lines.iter().map(|l| format!("{} {l}\n", stamp(ms))).collect::<Vec<_>>().concat()
    }

    /// On a loaded host a traceback was formatted 900 ms after its request's
    /// line, after the next failed request's: near neither, it is not the
    /// next one's (before: `/b` quoted `/a`'s `KeyError`). Nobody's.
    #[test]
    fn a_traceback_far_after_two_failed_requests_is_nobodys() {
        let log =
            [stamped_access(0, "/a"), stamped_access(300, "/b"), stamped_traceback(900, "KeyError: 'x'")].concat();
        assert_eq!(quoted(&log, "http://api/b"), None);
        assert_eq!(quoted(&log, "http://api/a"), None);
        // Alone, the line before it is still its request's.
        let alone = [stamped_access(0, "/a"), stamped_traceback(900, "KeyError: 'x'")].concat();
        assert_eq!(quoted(&alone, "http://api/a").as_deref(), Some("KeyError: 'x'"));
    }

    /// A database gone: three requests fail at once, alike, their access
    /// lines and tracebacks interleaved. Whose is whose cannot be told, but
    /// each is one of them, and they all name the same error.
    #[test]
    fn requests_failing_alike_at_once_each_quote_the_error() {
        let (access, traceback) = (stamped_access, stamped_traceback);
        let gone = "sqlalchemy.exc.OperationalError: connection to server at \"db\" failed";
        let log = [access(100, "/a"), access(101, "/b"), traceback(102, gone), access(103, "/c"), traceback(104, gone)]
            .concat()
            + &traceback(106, gone);
        for path in ["/a", "/b", "/c"] {
            assert_eq!(quoted(&log, &format!("http://api{path}")).as_deref(), Some(gone), "{path}");
        }
        // One of them answered 500 itself (two tracebacks, three requests): not sure for any.
        let handled = [access(100, "/a"), access(101, "/b"), traceback(102, gone), access(103, "/c")].concat()
            + &traceback(104, gone);
        assert_eq!(quoted(&handled, "http://api/a"), None);
        // Different errors: not sure either.
        let mixed =
            [access(100, "/a"), access(101, "/b"), traceback(102, gone)].concat() + &traceback(104, "KeyError: 'x'");
        assert_eq!(quoted(&mixed, "http://api/a"), None);
    }

    /// On a loaded host uvicorn formatted `GET /a`'s traceback 70 ms after
    /// its access line, 30 ms before `GET /b`'s: near `/b`'s line alone, but
    /// a traceback is written after its own request's access line (a pipe
    /// apart, a few ms at most), and `/a` failed before it. It is nobody's,
    /// and `/b`'s own traceback, right after its line, is `/b`'s — before,
    /// `/b` quoted `/a`'s error and `/a`, by the fallback, `/b`'s.
    #[test]
    fn a_late_traceback_is_not_the_next_requests() {
        let (access, traceback) = (stamped_access, stamped_traceback);
        let log =
            [access(100, "/a"), traceback(170, "KeyError: 'a'"), access(200, "/b"), traceback(205, "ValueError: b")]
                .concat();
        assert_eq!(quoted(&log, "http://api/b").as_deref(), Some("ValueError: b"));
        assert_eq!(quoted(&log, "http://api/a"), None, "its own line is there, its traceback not told apart");
        // The same, the traceback 20 ms after its line: each its own, as before.
        let log =
            [access(100, "/a"), traceback(120, "KeyError: 'a'"), access(200, "/b"), traceback(205, "ValueError: b")]
                .concat();
        assert_eq!(quoted(&log, "http://api/a").as_deref(), Some("KeyError: 'a'"));
        assert_eq!(quoted(&log, "http://api/b").as_deref(), Some("ValueError: b"));
        // A traceback 100 ms after `/a`'s line, a passing request between:
        // near no failed request, so tied to none. `/a`'s unhandled error
        // formatted late, or what `/c`'s handler logged before it answered
        // 500 100 ms later: either's. Before, the line after it took it.
        let health = format!("{} INFO:     1.2.3.4:5 - \"GET /health HTTP/1.1\" 200 OK\n", stamp(110));
        let log = [access(100, "/a"), health.clone(), traceback(200, "KeyError: 'a'"), access(300, "/c")].concat();
        assert_eq!(quoted(&log, "http://api/c"), None, "either's");
        assert_eq!(quoted(&log, "http://api/a"), None, "either's");
        // Only `/c` failed: what its handler logged before it answered is its.
        let log = [health.clone(), traceback(200, "KeyError: 'c'"), access(300, "/c")].concat();
        assert_eq!(quoted(&log, "http://api/c").as_deref(), Some("KeyError: 'c'"));
        // A handled 500 logged before `/a`'s: the traceback could be either's.
        let log = [access(50, "/c"), access(100, "/a"), health, traceback(200, "KeyError: 'a'")].concat();
        assert_eq!(quoted(&log, "http://api/c"), None, "either's");
        assert_eq!(quoted(&log, "http://api/a"), None, "either's");
    }

    /// Captured on the pystack: three gates' `GET /debug/boom?x=…` at once;
    /// two access lines came after all three tracebacks.
    #[test]
    fn three_alike_500s_at_once() {
        let log = captured("uvicorn-three-alike-500s-at-once.log");
        for x in ["a", "b", "c"] {
            assert_eq!(
                api(&log, &format!("/debug/boom?x={x}")).as_deref(),
                Some("RuntimeError: boom: a deliberate unhandled error"),
                "{x}"
            );
        }
    }

    /// Without timestamps, an access line between two tracebacks is the
    /// next one's (uvicorn writes it first), not the one before it.
    #[test]
    fn an_access_line_between_two_tracebacks_is_the_next_ones() {
        let traceback = |error: &str| {
            format!(
                "ERROR:    Exception in ASGI application\nTraceback (most recent call last):\n  \
                 File \"/app/main.py\", line 9, in handler\n    raise\n{error}\n"
            )
        };
        let log = format!(
            "{}INFO:     1.2.3.4:5 - \"GET /b HTTP/1.1\" 500 Internal Server Error\n{}",
            traceback("KeyError: 'a'"),
            traceback("ValueError: b")
        );
        assert_eq!(quoted(&log, "http://api/b").as_deref(), Some("ValueError: b"));
    }

    /// A health check's access line in the middle of a traceback neither ends
    /// it nor is quoted as its error.
    #[test]
    fn a_passing_request_inside_a_traceback_is_moved_after_it() {
        let log = "INFO:     1.2.3.4:5 - \"GET /a HTTP/1.1\" 500 Internal Server Error\n\
                   ERROR:    Exception in ASGI application\n\
                   Traceback (most recent call last):\n  File \"/app/main.py\", line 9, in a\n\
                   INFO:     127.0.0.1:6 - \"GET /health HTTP/1.1\" 200 OK\n    raise KeyError('x')\nKeyError: 'x'\n";
        assert_eq!(quoted(log, "http://api/a").as_deref(), Some("KeyError: 'x'"));
        assert_eq!(quoted(log, "http://api/health"), None);
    }

    /// Express (4.18, Debian's node-express) logs a route's error as its
    /// `err.stack` on stderr, morgan the request on stdout as the 500 is sent
    /// — either first, a millisecond apart. Requests 100 ms apart: each quotes
    /// its own error, and the 500 the app answered itself quotes none (it
    /// quoted the last stack in its window before, another request's).
    #[test]
    fn express_ties_each_stack_to_its_request() {
        for log in ["express-500s-apart.log", "express-dev-500s-apart.log"] {
            let log = captured(log);
            let q = |url: &str| quoted(&log, &format!("http://api:3000{url}"));
            assert_eq!(
                q("/users/7").as_deref(),
                Some("TypeError: Cannot read properties of undefined (reading 'name')"),
                "{log}"
            );
            assert_eq!(
                q("/debug/boom?after=0.1").as_deref(),
                Some("Error: boom: a deliberate unhandled error after 0.1s")
            );
            assert_eq!(
                q("/debug/boom?after=0.3").as_deref(),
                Some("Error: boom: a deliberate unhandled error after 0.3s")
            );
            assert_eq!(q("/debug/fail?after=0.2"), None, "{log}");
            // The evidence: its access line and its whole stack, nobody else's.
            let said = super::said_of(&log, Some(&get("http://api:3000/users/7"))).expect("a quote");
            let traceback = said.traceback.expect("its stack");
            assert_eq!(traceback.lines().filter(|l| l.contains("GET /")).count(), 1, "{traceback}");
            assert_eq!(traceback.lines().filter(|l| l.starts_with("    at ")).count(), 10, "{traceback}");
            assert!(!traceback.contains("boom"), "{traceback}");
        }
        // A route that fails at once: the window (from the check's start)
        // opens with its stack, its own line right after.
        let log = captured("express-dev-500s-apart.log");
        let window = log.lines().skip(1).take(12).collect::<Vec<_>>().join("\n");
        assert!(window.starts_with("2026-12-07T23:57:11.846211331Z TypeError"), "{window}");
        assert_eq!(
            quoted(&window, "http://api:3000/users/7").as_deref(),
            Some("TypeError: Cannot read properties of undefined (reading 'name')")
        );
    }

    /// Failed at once, within a few ms: a stack near two failed requests is
    /// nobody's, so none quotes the other's error (before, each quoted the
    /// last stack of the window: the handled 500 and `/debug/boom` another
    /// request's `TypeError`).
    #[test]
    fn express_stacks_at_once_are_nobodys() {
        for log in ["express-concurrent-500s.log", "express-dev-concurrent-500s.log"] {
            let log = captured(log);
            for url in ["/users/7", "/debug/boom", "/debug/fail"] {
                assert_eq!(quoted(&log, &format!("http://api:3000{url}")), None, "{url}\n{log}");
            }
        }
    }

    /// uvicorn with python-json-logger (`--log-config`, the JSON formatter on
    /// both loggers) and a handler that logs through structlog's JSON before
    /// it answers 502 (`tests/logs/capture/uvicorn-json/`): each error is one
    /// JSON record, and each request quotes its own exception, not the
    /// record as text (before: `{"asctime": "2026-12-08 …`, cut at 200
    /// characters).
    #[test]
    fn json_records_each_to_its_request() {
        let log = captured("uvicorn-json-500s-apart.log");
        assert_eq!(api(&log, "/users/7").as_deref(), Some("KeyError: 7"));
        assert_eq!(api(&log, "/debug/boom?after=0.15"), boom("0.15"));
        assert_eq!(
            api(&log, "/pay?after=0.3").as_deref(),
            Some("TimeoutError: upstream payments timed out after 3.0s")
        );
        assert_eq!(api(&log, "/debug/boom?after=0.45"), boom("0.45"));
        let said = super::said_of(&log, Some(&get("http://api:8000/users/7"))).expect("a quote");
        let lines: Vec<&str> = said.traceback.as_deref().unwrap_or_default().lines().collect();
        // Its access line, its record, and the record's traceback as the text log would show it.
        assert!(lines[0].contains(r#"\"GET /users/7 HTTP/1.1\" 500"#), "{lines:?}");
        assert!(lines[1].contains(r#""exc_info": "Traceback"#) && lines[1].ends_with(r#"KeyError: 7"}"#), "{lines:?}");
        assert_eq!((lines[2], lines.last().copied()), ("Traceback (most recent call last):", Some("KeyError: 7")));
        assert!(lines.contains(&"    return {\"id\": uid, \"name\": {}[uid]}"), "{lines:?}");
        let said = super::said_of(&log, Some(&get("http://api:8000/pay?after=0.3"))).expect("a quote");
        let text = said.traceback.unwrap_or_default();
        assert!(
            text.contains("\nTraceback (most recent call last):\n  File \"/jl/japp.py\", line 56, in pay\nTimeoutError: upstream payments timed out after 3.0s\n")
                && text.lines().last().is_some_and(|l| l.contains(r#"\"GET /pay?after=0.3 HTTP/1.1\" 502"#)),
            "structlog's record, its frames as Python prints them, then the access line:\n{text}"
        );
        // At once, within 5 ms: each record is near three failed requests, and nobody's.
        let log = captured("uvicorn-json-concurrent-500s.log");
        for url in ["/users/7", "/debug/boom", "/pay"] {
            assert_eq!(api(&log, url), None, "{url}");
        }
    }

    /// The first 500 of a check, whose window opens with its access line:
    /// the record's own time (`,922`: to the millisecond) is before the
    /// engine read that line (`.923156`), which is still its own, not a
    /// request cut off above the window (before: nobody's, 2 runs in 6 of
    /// `pystack_json_logs_name_the_exception_too`).
    #[test]
    fn a_json_record_at_the_window_start_is_its_requests() {
        let log = captured("uvicorn-json-a-first-500-at-the-window-start.log");
        assert_eq!(api(&log, "/debug/boom").as_deref(), Some("RuntimeError: boom: a deliberate unhandled error"));
        assert_eq!(api(&log, "/debug/fail?after=0.3"), None);
    }

    /// The process's first traceback took 90 ms to format: the engine read it
    /// 9 ms before the next failed request's line, 90 ms after its own. Its
    /// `asctime` says when it was logged, right after its request's line:
    /// `/users/7` quotes it, and `/debug/boom?after=0.1` does not (before, the
    /// traceback was tied to it, the only failed request near its read).
    /// That one and `/pay?after=0.2`, 16 ms apart, are each near both
    /// records: nobody's.
    #[test]
    fn a_json_record_is_as_late_as_it_says() {
        let log = captured("uvicorn-json-a-late-first-traceback.log");
        assert_eq!(api(&log, "/users/7").as_deref(), Some("KeyError: 7"));
        assert_eq!(api(&log, "/debug/boom?after=0.1"), None);
        assert_eq!(api(&log, "/pay?after=0.2"), None);
        assert_eq!(api(&log, "/debug/boom?after=0.3"), boom("0.3"));
    }
}

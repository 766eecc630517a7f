//! What a service's log says went wrong, in one line: the error a person
//! reading the log would point at.
//!
//! A red gate's reason names the cause; when the cause is in a service's log
//! (an API that answers a bare `Internal Server Error` and prints the
//! traceback, a migration that exits 1 after an SQL error) the reason quotes
//! the line that names it. [`last_error`] finds it in the frameworks' shapes:
//!
//! - a Python traceback (uvicorn, gunicorn, Celery, Alembic, Django): its
//!   exception line, `sqlalchemy.exc.ProgrammingError: (psycopg.errors.UndefinedColumn) column "title" does not exist`;
//!   inside an exception group, the sub-exception's;
//! - a Node/JavaScript error with its `    at …` stack: `TypeError: Cannot read properties of undefined (reading 'id')`;
//! - Java's `Exception in thread …` or last `Caused by: …`; Go's `panic: …`;
//! - a JSON record at an error level (python-json-logger, structlog,
//!   winston, pino): the exception its fields carry, else its message
//!   (see [`json`]);
//! - otherwise the last line logged at an error level (`ERROR`, `FATAL`,
//!   `CRITICAL`, `[error]`, `level=error`, `"level":"error"`), as Postgres,
//!   Celery, nginx and logfmt/JSON loggers write it.
//!
//! The latest of these wins. It is evidence for the reason, never a verdict.
//!
//! When several requests fail at once, [`error_of`] keeps to the error the
//! log ties to one request (see [`requests`]).

mod json;
mod requests;

pub use requests::{Request, Said, error_for, error_of, said_for, said_of};

/// The longest quote kept (characters); a longer line ends with `…`.
const MAX: usize = 200;

/// How many of a service's last log lines are searched for its error (a
/// Python traceback through a framework's middleware is 60–120 lines).
pub const LINES: usize = 400;

/// How many lines of one check's time are read for its error: several
/// requests' tracebacks at once, each up to 160 lines under uvicorn.
pub const WINDOW_LINES: usize = 2_000;

/// The words every reason uses for a quote: `` `api` logged "RuntimeError: boom" ``.
pub fn note(service: &str, quote: &str) -> String {
    format!("`{service}` logged \"{quote}\"")
}

/// The error the log names last, cleaned for one line, or `None` when the
/// log shows none.
pub fn last_error(log: &str) -> Option<String> {
    let lines: Vec<String> = log.lines().map(strip_ansi).collect();
    last_error_in(&lines)
}

/// [`last_error`] of lines already split and cleaned of colour codes.
fn last_error_in(lines: &[String]) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    let mut consider = |at: usize, line: &str| {
        if best.as_ref().is_none_or(|(b, _)| at >= *b) {
            best = Some((at, line.to_string()));
        }
    };
    for (i, line) in lines.iter().enumerate() {
        if let Some(at) = python_exception(lines, i) {
            consider(at, lines[at].trim());
        } else if let Some(e) = json::error(line) {
            consider(i, &e.quote);
        } else if frames_end_here(lines, i) {
            consider(i, line.trim());
        } else if let Some(text) = stack_header(lines, i) {
            consider(i, text);
        } else if let Some(text) = single_line_error(line) {
            consider(i, text);
        }
    }
    best.map(|(_, line)| one_line(&line)).filter(|l| !l.is_empty())
}

/// Whether a line opens a Python traceback (also one inside an exception
/// group's box: `    | Traceback …`, `  + Exception Group Traceback …`).
fn opens_traceback(line: &str) -> bool {
    let l = line.trim_start().trim_start_matches(['|', '+', ' ']);
    l.starts_with("Traceback (most recent call last):") || l.starts_with("Exception Group Traceback")
}

/// Where line `i` opens a Python traceback: the index of its exception line
/// (the first line after the frames that is not indented), or of the
/// sub-exception inside an exception group.
fn python_exception(lines: &[String], i: usize) -> Option<usize> {
    // Only the outermost line of a traceback opens one; group members do too but are indented.
    if !opens_traceback(&lines[i]) || lines[i].starts_with([' ', '\t', '|']) {
        return None;
    }
    let mut inner: Option<usize> = None;
    for (j, l) in lines.iter().enumerate().skip(i + 1) {
        if l.trim().is_empty() {
            continue;
        }
        if l.starts_with([' ', '\t', '|', '+']) {
            // A sub-exception of a group: `    | RuntimeError: boom`.
            let member = l.trim_start().trim_start_matches(['|', ' ']);
            if looks_like_exception(member) {
                inner = Some(j);
            }
            continue;
        }
        if l.starts_with('^') || l.starts_with('~') {
            continue;
        }
        let group = l.starts_with("ExceptionGroup:") || l.starts_with("BaseExceptionGroup:");
        return Some(if group { inner.unwrap_or(j) } else { j });
    }
    None
}

/// Whether `reason` already says what `quote` says: the whole quote, or the
/// start of what follows its name or level (`ERROR: relation "nope" does not
/// exist at character 15` is said by `relation "nope" does not exist
/// (SQLSTATE 42P01)`). A database returns its error to the client; the
/// quote would only repeat it.
pub fn already_said(reason: &str, quote: &str) -> bool {
    if reason.contains(quote) {
        return true;
    }
    let Some((_, core)) = quote.split_once(": ") else { return false };
    let core = core.trim();
    let start: String = core.chars().take(30).collect();
    start.chars().count() >= 12 && reason.contains(&start)
}

/// An exception line right after a traceback's frames, for a log tail that
/// begins inside the traceback (its `Traceback …` line cut off).
fn frames_end_here(lines: &[String], i: usize) -> bool {
    let line = &lines[i];
    !line.starts_with([' ', '\t'])
        && looks_like_exception(line)
        && i > 0
        && lines[i - 1].starts_with([' ', '\t'])
        && lines[..i]
            .iter()
            .rev()
            .take_while(|l| l.starts_with([' ', '\t']))
            .any(|l| l.trim_start().starts_with("File \""))
}

/// `RuntimeError: boom`, `sqlalchemy.exc.OperationalError: …`,
/// `KeyError: 'id'`, `SystemExit: 1`: a dotted name ending in a word that
/// names an error, then `:` (or nothing).
fn looks_like_exception(line: &str) -> bool {
    let name = line.split(':').next().unwrap_or("");
    !name.is_empty()
        && !name.contains(' ')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        && ["Error", "Exception", "Exit", "Interrupt", "Failure", "Timeout", "Refused", "Denied", "Invalid"]
            .iter()
            .any(|w| name.ends_with(w))
}

/// A JavaScript error whose stack follows (`TypeError: …` then `    at …`),
/// Java's `Exception in thread "main" …`/`Caused by: …`, Go's `panic: …`.
fn stack_header(lines: &[String], i: usize) -> Option<&str> {
    let line = lines[i].trim_end();
    if let Some(rest) = line.strip_prefix("Caused by: ") {
        return Some(rest);
    }
    if line.starts_with("Exception in thread ") || line.starts_with("panic: ") || line.starts_with("fatal error: ") {
        return Some(line);
    }
    js_error(lines, i)
}

/// A JavaScript error whose stack follows, `TypeError: …` then `    at …`
/// (`Uncaught ` in front, as Node prints an uncaught one): its text.
fn js_error(lines: &[String], i: usize) -> Option<&str> {
    let line = lines[i].trim_end();
    let next_is_frame =
        lines.get(i + 1).is_some_and(|n| n.trim_start().starts_with("at ") && n.starts_with([' ', '\t']));
    let text = line.trim_start().trim_start_matches("Uncaught ");
    (next_is_frame && !line.starts_with([' ', '\t']) && looks_like_exception(text)).then_some(text)
}

/// A line logged at an error level, by the usual ways of writing one.
fn single_line_error(line: &str) -> Option<&str> {
    const WORDS: [&str; 5] = ["ERROR", "FATAL", "CRITICAL", "PANIC", "EMERG"];
    let has_word = line.split(|c: char| !c.is_ascii_alphabetic()).any(|w| WORDS.contains(&w));
    let lower = line.to_ascii_lowercase();
    let tagged = ["[error]", "[crit]", "[emerg]", "[alert]", "level=error", "level=fatal", "\"level\":\"error\""]
        .iter()
        .any(|t| lower.contains(t));
    // A request log that only mentions a status (`"GET / HTTP/1.1" 500 Internal Server Error`) is not it.
    let access_log = lower.contains("http/1.") || lower.contains("http/2");
    ((has_word || tagged) && !access_log).then_some(line)
}

/// One line: timestamps and process brackets in front dropped, spaces
/// folded, at most [`MAX`] characters.
fn one_line(line: &str) -> String {
    let mut words = line.split_whitespace().peekable();
    // `2026-12-07 04:00:00.123 UTC [74] FATAL: …` (Postgres), `[2026-12-07 04:00:00,123:
    // ERROR/MainProcess] consumer: …` (Celery): the words after the time and process.
    let mut bracket = false;
    while let Some(w) = words.peek() {
        let stamp =
            w.chars().any(|c| c.is_ascii_digit()) && w.chars().all(|c| c.is_ascii_digit() || "-:.,TZ+[]".contains(c));
        let logfmt_time = w.starts_with("time=") || w.starts_with("ts=");
        if bracket || stamp || logfmt_time || matches!(*w, "UTC" | "GMT") {
            bracket = (bracket || w.starts_with('[')) && !w.ends_with(']');
            words.next();
        } else if w.starts_with('[') && w[1..].starts_with(|c: char| c.is_ascii_digit()) {
            bracket = !w.ends_with(']');
            words.next();
        } else {
            break;
        }
    }
    let folded: String = words.collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= MAX {
        return folded;
    }
    let mut cut: String = folded.chars().take(MAX).collect();
    cut.push('…');
    cut
}

/// Colour codes out: `\x1b[31mERROR\x1b[0m` → `ERROR`.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{already_said, last_error};

    /// Logs captured from the real programs (`docker logs` of the pystack
    /// fixture's containers and its Postgres, `node -e`, Django's test client
    /// in the fixtures/django venv), unedited.
    fn real(name: &str) -> Option<String> {
        let path = format!("{}/tests/logs/{name}", env!("CARGO_MANIFEST_DIR"));
        last_error(&std::fs::read_to_string(&path).expect("captured log"))
    }

    #[test]
    fn a_python_traceback_is_named_by_its_exception() {
        // uvicorn 0.32 + Starlette: an exception group, then the traceback it was raised from.
        assert_eq!(real("uvicorn-unhandled.log").as_deref(), Some("RuntimeError: boom: a deliberate unhandled error"));
        // Alembic: psycopg2's error, then SQLAlchemy's that wraps it, then `[SQL: …]` lines.
        assert_eq!(
            real("alembic-failed-revision.log").as_deref(),
            Some("sqlalchemy.exc.ProgrammingError: (psycopg2.errors.UndefinedColumn) column \"title\" does not exist")
        );
        // Django 5.1, DEBUG off, `django.request` sent to the console (README).
        assert_eq!(real("django-request-error.log").as_deref(), Some("RuntimeError: boom from a view"));
        // uvicorn --reload: the worker process dies at import, the reloader lives on.
        assert_eq!(
            real("uvicorn-reload-import-error.log").as_deref(),
            Some("RuntimeError: SECRET_KEY is not set: the app cannot sign tokens (set SECRET_KEY)")
        );
    }

    #[test]
    fn an_exception_named_without_error_in_its_name() {
        // Django's `Model.DoesNotExist`: known as the exception by its place after `Traceback`.
        let log = "Internal Server Error: /api/items/9/\nTraceback (most recent call last):\n  \
                   File \"/app/shop/views.py\", line 30, in item\n    return Item.objects.get(pk=pk)\n\
                   shop.models.Item.DoesNotExist: Item matching query does not exist.\n";
        assert_eq!(
            last_error(log).as_deref(),
            Some("shop.models.Item.DoesNotExist: Item matching query does not exist.")
        );
    }

    /// An incident's headline (the reason of a stack gate turned red after
    /// the fact) ends with the error in the log tail taken when it happened.
    #[test]
    fn an_incident_headline_quotes_its_log_tail() {
        let log_tail =
            std::fs::read_to_string(format!("{}/tests/logs/celery-broker-unreachable.log", env!("CARGO_MANIFEST_DIR")))
                .expect("captured log");
        let i = crate::result::Incident {
            service: "worker".into(),
            what: "exited with code 1".into(),
            after_ready_ms: 5200.0,
            log_tail,
            ..Default::default()
        };
        assert_eq!(
            i.headline(),
            "`worker` exited with code 1 5.2s after the stack was ready — it logged \"consumer: Cannot connect to \
             redis://redis:6379/0: Error -2 connecting to redis:6379. Name or service not known..\""
        );
        let quiet = crate::result::Incident { log_tail: String::new(), ..i };
        assert_eq!(quiet.headline(), "`worker` exited with code 1 5.2s after the stack was ready");
    }

    #[test]
    fn a_tail_that_begins_inside_a_traceback() {
        let log = std::fs::read_to_string(format!(
            "{}/tests/logs/uvicorn-reload-import-error.log",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("captured log");
        let tail: Vec<&str> = log.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect();
        assert!(!tail.iter().any(|l| l.starts_with("Traceback")), "the tail is cut inside the traceback");
        assert_eq!(
            last_error(&tail.join("\n")).as_deref(),
            Some("RuntimeError: SECRET_KEY is not set: the app cannot sign tokens (set SECRET_KEY)")
        );
    }

    #[test]
    fn an_error_level_line_and_a_javascript_stack() {
        // Celery retrying its broker: the last ERROR line, without its time and process.
        assert_eq!(
            real("celery-broker-unreachable.log").as_deref(),
            Some(
                "consumer: Cannot connect to redis://redis:6379/0: Error -2 connecting to redis:6379. Name or service not known.."
            )
        );
        assert_eq!(
            real("node-uncaught.log").as_deref(),
            Some("TypeError: Cannot read properties of null (reading 'x')")
        );
        // A worker that started well says nothing.
        assert_eq!(real("celery-healthy-start.log"), None);
        // Postgres's own log line, and logfmt.
        assert_eq!(
            last_error("2026-12-07 04:06:16.708 UTC [74] FATAL:  password authentication failed for user \"app\"\n")
                .as_deref(),
            Some("FATAL: password authentication failed for user \"app\"")
        );
        assert_eq!(
            last_error("time=2026-12-07T04:00:00Z level=error msg=\"dial tcp: lookup db\"\n").as_deref(),
            Some("level=error msg=\"dial tcp: lookup db\"")
        );
    }

    #[test]
    fn a_databases_own_error_is_not_quoted_again() {
        // Postgres 16's log of a wrong password, then a query on a missing table.
        let quote = real("postgres-errors.log").expect("an error");
        assert_eq!(quote, "ERROR: relation \"nope\" does not exist at character 15");
        // What the postgres check's reason already says (the database's own message, as sqlx returns it).
        assert!(already_said("relation \"nope\" does not exist (SQLSTATE 42P01)", &quote));
        assert!(!already_said("status: expected 200, got 500", &quote));
        assert!(
            !already_said("status: expected 200, got 500", "RuntimeError: boom"),
            "too short to judge by its start"
        );
        assert!(already_said("… — the server said \"RuntimeError: boom\"", "RuntimeError: boom"));
    }

    #[test]
    fn the_latest_error_wins_and_is_cut_to_one_line() {
        let log =
            "Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'id'\nERROR: later, and plain\n";
        assert_eq!(last_error(log).as_deref(), Some("ERROR: later, and plain"));
        let long = format!("ERROR {}\n", "x".repeat(300));
        let quote = last_error(&long).expect("quote");
        assert_eq!(quote.chars().count(), 201);
        assert!(quote.ends_with('…'));
        assert_eq!(last_error("\u{1b}[31mERROR\u{1b}[0m: coloured\n").as_deref(), Some("ERROR: coloured"));
    }

    #[test]
    fn nothing_to_say() {
        assert_eq!(last_error(""), None);
        assert_eq!(last_error("INFO:     Started server process [1]\nINFO:     Application startup complete.\n"), None);
        assert_eq!(
            last_error("INFO:     172.18.0.1:40000 - \"GET /debug/boom HTTP/1.1\" 500 Internal Server Error\n"),
            None,
            "an access log line is not the error"
        );
    }
}

//! What a command may touch outside its arguments: where it writes, whether
//! it may colour, the environment it reads, and the token that cancels it.
//!
//! `main` builds one from the process ([`Context::from_process`]); tests
//! build one that captures both streams ([`Context::capture`]) and run the
//! very same [`crate::main_with`] in their own process.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{IsTerminal as _, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

use crate::cli::ColorChoice;

/// One output stream, shared by everything that prints during a command.
/// Writes never fail the caller: a closed pipe (`checkpoint run 1 | head`)
/// must not abort a run before it tears its stack down.
#[derive(Clone)]
pub struct Writer(Arc<Mutex<Box<dyn Write + Send>>>);

impl Writer {
    pub fn new(w: impl Write + Send + 'static) -> Self {
        Self(Arc::new(Mutex::new(Box::new(w))))
    }

    /// What `write!` calls: formats into the stream, ignoring errors.
    pub fn write_fmt(&self, args: std::fmt::Arguments<'_>) {
        let mut w = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = w.write_fmt(args);
    }

    pub fn flush(&self) {
        let _ = self.0.lock().unwrap_or_else(PoisonError::into_inner).flush();
    }
}

/// Bytes written to a captured stream, readable while the writer lives.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The environment a command reads for itself (`CI`, `NO_COLOR`, GitHub's
/// variables, secrets to mask). The libraries and the compose tool read the
/// process environment, which is this one in every real run.
#[derive(Clone, Debug, Default)]
pub struct Env(BTreeMap<OsString, OsString>);

impl Env {
    pub fn from_process() -> Self {
        Self(std::env::vars_os().collect())
    }

    pub fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) {
        self.0.insert(name.into(), value.into());
    }

    pub fn remove(&mut self, name: impl AsRef<std::ffi::OsStr>) {
        self.0.remove(name.as_ref());
    }

    /// Set and not empty.
    pub fn get(&self, name: &str) -> Option<&OsString> {
        self.0.get(std::ffi::OsStr::new(name)).filter(|v| !v.is_empty())
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.0.contains_key(std::ffi::OsStr::new(name))
    }

    /// Every variable that is valid UTF-8, as variables for `${NAME}`.
    pub fn vars(&self) -> indexmap::IndexMap<String, String> {
        self.pairs().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Every variable that is valid UTF-8, name and value.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().filter_map(|(k, v)| Some((k.to_str()?, v.to_str()?)))
    }
}

/// The outside world of one command.
#[derive(Clone)]
pub struct Context {
    pub out: Writer,
    pub err: Writer,
    /// Whether each stream is a terminal (colour and the live spinner).
    pub out_terminal: bool,
    pub err_terminal: bool,
    /// `--color`; set from the parsed flags by [`crate::run`].
    pub color: ColorChoice,
    pub env: Env,
    /// Cancelled by Ctrl-C / SIGTERM (or by whoever embeds the library).
    pub cancel: CancellationToken,
    /// A second interrupt: tear down without waiting for containers to stop.
    pub force: Arc<AtomicBool>,
    /// Whether [`crate::main_with`] installs the signal handlers: a process's
    /// `main` does, a test running commands inside its own process does not.
    pub signals: bool,
    /// `--compose-tool`; set from the parsed flags by [`crate::run`].
    pub compose_tool: checkpoint_stack::ToolChoice,
}

impl Context {
    /// The process's own streams and environment.
    pub fn from_process() -> Self {
        Self {
            // Whether to colour is decided once, by `--color` and
            // `color_for`: the streams pass what they are given (translated
            // for a legacy Windows console). An auto-detecting stream here
            // stripped the colour `--color always` asked for from a pipe.
            out: Writer::new(anstream::AutoStream::always(std::io::stdout())),
            err: Writer::new(anstream::AutoStream::always(std::io::stderr())),
            out_terminal: std::io::stdout().is_terminal(),
            err_terminal: std::io::stderr().is_terminal(),
            color: ColorChoice::Auto,
            env: Env::from_process(),
            cancel: CancellationToken::new(),
            force: Arc::new(AtomicBool::new(false)),
            signals: true,
            compose_tool: checkpoint_stack::ToolChoice::default(),
        }
    }

    /// Streams captured in memory (never terminals), the process's
    /// environment as it is now, no signal handlers.
    pub fn capture() -> (Self, Captured, Captured) {
        let (out, err) = (Captured::default(), Captured::default());
        let ctx = Self {
            out: Writer::new(out.clone()),
            err: Writer::new(err.clone()),
            out_terminal: false,
            err_terminal: false,
            signals: false,
            ..Self::from_process()
        };
        (ctx, out, err)
    }

    /// Whether to colour a stream, from `--color`, `NO_COLOR` and the terminal.
    pub fn color_for(&self, terminal: bool) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && self.env.get("NO_COLOR").is_none(),
        }
    }

    /// Colour on stderr, where diagnostics and the live view go.
    pub fn err_color(&self) -> bool {
        self.color_for(self.err_terminal)
    }

    /// A live terminal (not CI, not a pipe): the spinner.
    pub fn interactive(&self) -> bool {
        self.err_terminal && !self.env.is_set("CI")
    }

    pub fn forced(&self) -> bool {
        self.force.load(Ordering::SeqCst)
    }

    pub fn flush(&self) {
        self.out.flush();
        self.err.flush();
    }
}

/// A line (or text) on the command's stdout / stderr: `outln!(ctx, "…")`.
#[macro_export]
macro_rules! outln {
    ($ctx:expr) => {{ $ctx.out.write_fmt(format_args!("\n")); }};
    ($ctx:expr, $($t:tt)*) => {{ $ctx.out.write_fmt(format_args!("{}\n", format_args!($($t)*))); }};
}
#[macro_export]
macro_rules! out {
    ($ctx:expr, $($t:tt)*) => {{ $ctx.out.write_fmt(format_args!($($t)*)); }};
}
#[macro_export]
macro_rules! errln {
    ($ctx:expr, $($t:tt)*) => {{ $ctx.err.write_fmt(format_args!("{}\n", format_args!($($t)*))); }};
}
#[macro_export]
macro_rules! err {
    ($ctx:expr, $($t:tt)*) => {{ $ctx.err.write_fmt(format_args!($($t)*)); }};
}

//! The live console view: one line per finished gate (like nextest's), and on
//! a terminal a spinner naming what is running or being waited on. Plain lines
//! when stderr is not a terminal or `CI` is set. Colour only where allowed.

use std::collections::BTreeMap;
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use checkpoint_model::duration::human;
use checkpoint_model::result::{GateResult, Status};
use checkpoint_runner::Event;
use indicatif::{ProgressBar, ProgressStyle};

use crate::Context;

pub(crate) struct Console {
    pub color: bool,
    /// Where lines go when there is no spinner.
    ctx: Context,
    bar: Option<ProgressBar>,
    running: BTreeMap<String, String>,
    width: usize,
    /// Every line goes through it: the live console is an output like the reports.
    secrets: checkpoint_model::secrets::SharedRedactor,
}

impl Console {
    pub(crate) fn new(ctx: &Context) -> Self {
        let live = ctx.interactive();
        let color = ctx.err_color();
        let bar = live.then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Self {
            color,
            ctx: ctx.clone(),
            bar,
            running: BTreeMap::new(),
            width: 18,
            secrets: checkpoint_model::secrets::SharedRedactor::default(),
        }
    }

    /// Masks the run's secrets (they grow as checks run) in every line from now on.
    pub(crate) fn set_secrets(&mut self, secrets: checkpoint_model::secrets::SharedRedactor) {
        self.secrets = secrets;
    }

    pub(crate) fn set_id_width(&mut self, w: usize) {
        self.width = w.clamp(8, 32);
    }

    pub(crate) fn paint(&self, text: &str, style: Style) -> String {
        if self.color { format!("{}{text}{}", style.render(), style.render_reset()) } else { text.to_string() }
    }

    /// A line above the spinner (or plain on stderr).
    pub(crate) fn line(&self, text: &str) {
        let text = self.secrets.redact(text);
        if let Some(b) = &self.bar { b.println(text) } else { crate::errln!(self.ctx, "{text}") }
    }

    /// What is being waited on: the spinner on a terminal; otherwise a line.
    pub(crate) fn status(&self, text: &str) {
        let text = self.secrets.redact(text);
        if let Some(b) = &self.bar { b.set_message(text) } else { crate::errln!(self.ctx, "{text}") }
    }

    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    pub(crate) fn event(&mut self, e: &Event) {
        match e {
            Event::GateStarted { gate, .. } => {
                self.running.insert(gate.clone(), String::new());
            }
            Event::CheckStarted { gate, check } => {
                self.running.insert(gate.clone(), check.clone());
            }
            Event::CheckRetrying { gate, check, attempt, message } => {
                if self.bar.is_none() {
                    self.line(&format!("       retry  {gate} / {check} (attempt {attempt}): {message}"));
                }
                self.running.insert(gate.clone(), format!("{check} (retrying: {message})"));
            }
            Event::CheckFinished { .. } => {}
            Event::GateFinished { result } => {
                self.running.remove(&result.id);
                self.gate_line(result);
            }
        }
        if self.bar.is_some() {
            let now: Vec<String> =
                self.running.iter().map(|(g, c)| if c.is_empty() { g.clone() } else { format!("{g} › {c}") }).collect();
            self.status(&if now.is_empty() { String::new() } else { format!("running: {}", now.join(", ")) });
        }
    }

    fn gate_line(&self, g: &GateResult) {
        let (word, style) = match g.status {
            Status::Passed => ("PASS", Style::new().fg_color(Some(AnsiColor::Green.into())).bold()),
            Status::Failed => ("FAIL", Style::new().fg_color(Some(AnsiColor::Red.into())).bold()),
            Status::Errored => ("ERROR", Style::new().fg_color(Some(AnsiColor::Red.into())).bold()),
            Status::TimedOut => ("TIMEOUT", Style::new().fg_color(Some(AnsiColor::Red.into())).bold()),
            Status::Skipped => ("SKIP", Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold()),
            Status::Cancelled => ("CANCEL", Style::new().fg_color(Some(AnsiColor::Yellow.into()))),
        };
        let time = if g.duration_ms > 0.0 { format!("[{:>7}]", human(g.duration_ms)) } else { " ".repeat(9) };
        let sev = if g.severity == checkpoint_model::Severity::Must {
            String::new()
        } else {
            format!(" ({})", g.severity.as_str())
        };
        let w = self.width;
        self.line(&format!("{} {time} {:<w$} {}{sev}", self.paint(&format!("{word:>8}"), style), g.id, g.title));
        if let Some(reason) = &g.reason
            && g.status != Status::Passed
        {
            let dim = Style::new().dimmed();
            self.line(&self.paint(&format!("{:>18} └ {reason}", ""), dim));
        }
    }
}

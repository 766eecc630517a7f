//! `command`: a program on the host (`argv`, no shell) or a shell line
//! (`shell`); exit code, stdout and stderr are the observation.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Cx, Kind};
use crate::diag::Diagnostic;

/// A command on the host.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// Program and arguments, no shell: `[pg_isready, -h, localhost]`.
    #[serde(default)]
    pub argv: Vec<String>,
    /// A shell line run with `sh -c` (when pipes are needed).
    pub shell: Option<String>,
    #[serde(default)]
    pub env: IndexMap<String, String>,
    /// Working directory, relative to the project root.
    pub cwd: Option<String>,
    pub stdin: Option<String>,
}

/// What a command-like check observes (`command` and `exec`).
pub(crate) const EXPECT: &[&str] = &["exit_code", "stdout", "stderr", "json", "duration"];

impl Kind for CommandSpec {
    const NAME: &'static str = "command";
    const EXPECT: &'static [&'static str] = EXPECT;

    /// Exactly one of `argv` (not empty) and `shell`.
    fn validate(&self, cx: &mut Cx<'_>) {
        let argv = !self.argv.is_empty();
        let shell = self.shell.is_some();
        if argv == shell {
            let at = if argv { cx.key_at("shell") } else { cx.whole.clone() };
            cx.err_at(
                at,
                Diagnostic::new(format!("command check `{}` needs exactly one of `argv` or `shell`", cx.name))
                    .label(if argv { "both `argv` and `shell`" } else { "nothing to run" })
                    .hint("`argv: [pg_isready, -h, localhost]`, or `shell: \"curl -s … | grep ok\"`"),
            );
        }
    }
}

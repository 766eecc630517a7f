//! `exec`: a command inside a service's container, through the target;
//! exit code, stdout and stderr are the observation.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Cx, Kind};
use crate::diag::Diagnostic;

/// A command inside a service's container.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    pub service: String,
    pub argv: Vec<String>,
    pub user: Option<String>,
    #[serde(default)]
    pub env: IndexMap<String, String>,
}

impl Kind for ExecSpec {
    const NAME: &'static str = "exec";
    const EXPECT: &'static [&'static str] = super::command::EXPECT;

    fn validate(&self, cx: &mut Cx<'_>) {
        if self.argv.is_empty() {
            cx.err_at(
                cx.value_at("argv"),
                Diagnostic::new("an exec check needs a non-empty `argv`")
                    .label("empty")
                    .hint("the program and its arguments: `argv: [alembic, current]`"),
            );
        }
    }

    fn services_named(&self) -> Vec<&str> {
        vec![&self.service]
    }

    fn service(&self) -> Option<&str> {
        Some(&self.service)
    }
}

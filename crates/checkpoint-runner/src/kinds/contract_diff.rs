//! `contract-diff`: the committed contract (`base`) against the one the
//! running service serves (`live`), through `checkpoint_contract::diff`.
//! Fields: `breaking` (how many changes break clients; expected `0` unless
//! the check says otherwise), `changes` (all of them), `ignored` (silenced
//! by the `ignore` file, which a change leaves after its `expires` date),
//! `duration`. The
//! document is the list of changes (`[{ breaking, rule, operation, path,
//! location, message }]`), the evidence the list as `checkpoint contract
//! diff` prints it. A failed `breaking` names the first breaking change.
//!
//! A contract that cannot be had is the stack's fault when it is the live one
//! fetched from a URL (the service does not answer, or serves no valid
//! OpenAPI: the check *fails*), the harness's otherwise (a file that cannot
//! be read, a committed contract that does not parse: it *errors*).
//!
//! Contracts are loaded by [`crate::contract_source`], as for `openapi` and
//! `checkpoint contract diff`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_contract::{Contract, diff};
use checkpoint_model::kinds::ContractDiffSpec;
use checkpoint_model::matcher::Matcher;
use serde_json::Value;

use crate::contract_source::{Fetch, SourceError, describe, load};
use crate::observe::{CheckKind, Ctx, Observation, ObserveError};

pub struct ContractDiff;

#[async_trait]
impl CheckKind for ContractDiff {
    type Spec = ContractDiffSpec;

    async fn observe(
        &self,
        spec: &ContractDiffSpec,
        ctx: &Ctx,
        _timeout: Duration,
    ) -> Result<Observation, ObserveError> {
        let client = ctx.http.get(true, spec.insecure).map_err(ObserveError::Errored)?;
        let started = Instant::now();
        let fetch = Fetch { client: &client, headers: &spec.headers, jar: ctx.gate_jar(spec.cookies) };
        let base = load(&spec.base, &ctx.root, fetch)
            .await
            .map_err(|e| ObserveError::Errored(format!("base contract {e}")))?;
        let live = load(&spec.live, &ctx.root, fetch).await.map_err(|e| {
            let message = format!("live contract {e}");
            match e {
                SourceError::Unreadable(_) => ObserveError::Errored(message),
                SourceError::Unreachable(_) | SourceError::Invalid(_) => {
                    ObserveError::failed(message.clone(), format!("{message}\n({})", e.hint()))
                }
            }
        })?;
        let entries = match &spec.ignore {
            None => Vec::new(),
            Some(file) => {
                let path = ctx.root.join(file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ObserveError::Errored(format!("ignore file {}: {e}", path.display())))?;
                diff::ignore::parse(&text, &path.display().to_string()).map_err(ObserveError::Errored)?
            }
        };
        let applied = diff::ignore::apply(diff::diff(&base, &live), &entries, &diff::ignore::today());
        let mut obs = observation(spec, &base, &live, &applied.kept);
        ignored_evidence(&mut obs, &applied);
        Ok(obs.duration(started.elapsed()))
    }
}

/// What the ignore file silenced (field `ignored`, and in the evidence with
/// the reasons), which entries expired, which match nothing.
fn ignored_evidence(obs: &mut Observation, a: &diff::ignore::Applied) {
    obs.fields.insert("ignored".into(), Value::from(a.ignored.len()));
    let mut text = String::new();
    if !a.ignored.is_empty() {
        let _ = writeln!(text, "\nIgnored ({}):", a.ignored.len());
        for (c, e) in &a.ignored {
            let until = e.expires.as_deref().map(|d| format!(" (until {d})")).unwrap_or_default();
            let _ = writeln!(text, "  {}  [{}] {}: {}{until}", c.line(), c.rule, c.fingerprint, e.reason);
        }
    }
    for e in &a.expired {
        let _ = writeln!(
            text,
            "ignore entry {} expired on {}: its change counts again",
            e.fingerprint,
            e.expires.as_deref().unwrap_or("?")
        );
    }
    for e in &a.unused {
        let _ = writeln!(text, "ignore entry {} matches no change", e.fingerprint);
    }
    obs.evidence.push_str(&text);
}

/// The observation of a diff: fields, the list as the document, the printed list.
pub fn observation(spec: &ContractDiffSpec, base: &Contract, live: &Contract, changes: &[diff::Change]) -> Observation {
    let breaking: Vec<&diff::Change> = changes.iter().filter(|c| c.breaking).collect();
    let mut evidence = String::new();
    let _ = writeln!(evidence, "base: {} ({})", spec.base, describe(base));
    let _ = writeln!(evidence, "live: {} ({})\n", spec.live, describe(live));
    evidence.push_str(&diff::render_plain(changes, false));
    let mut obs = Observation {
        document: Some(serde_json::to_value(changes).unwrap_or(Value::Null)),
        evidence,
        ..Observation::default()
    }
    .field("breaking", breaking.len())
    .field("changes", changes.len());
    obs.defaults.push(("breaking", Matcher::equals(Value::from(0))));
    if let Some(first) = breaking.first() {
        let more = match breaking.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        obs.notes.insert("breaking".into(), Value::from(format!("{}{more}", first.line())));
    }
    obs
}

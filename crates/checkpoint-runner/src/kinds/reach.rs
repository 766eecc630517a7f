//! `reach`: from inside service A, resolve service B's name and connect to its
//! port (optionally an HTTP request). Uses the tools A's image has; when it
//! has none, a probe container joined to A's network namespace. The evidence
//! says which was used.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::kinds::ReachSpec;
use serde_json::json;

use crate::observe::{CheckKind, Ctx, Observation, ObserveError};
use crate::target::{ExecRequest, TargetError};

/// POSIX sh, prints `dns=…`, `tcp=…`, `http=…` lines; `notools` when the
/// image lacks what it needs.
const SCRIPT: &str = r#"to="$1"; port="$2"; path="$3"
if command -v getent >/dev/null 2>&1; then
  set -- $(getent hosts "$to" 2>/dev/null); if [ -n "$1" ]; then echo "dns=$1"; else echo "dns=fail"; exit 0; fi
else echo "dns=notools"; exit 0; fi
if command -v nc >/dev/null 2>&1; then
  if nc -z -w 3 "$to" "$port" >/dev/null 2>&1; then echo tcp=ok; else echo tcp=fail; fi
elif command -v bash >/dev/null 2>&1; then
  if timeout 3 bash -c "exec 3<>/dev/tcp/$to/$port" >/dev/null 2>&1; then echo tcp=ok; else echo tcp=fail; fi
else echo tcp=notools; fi
if [ -n "$path" ]; then
  if command -v curl >/dev/null 2>&1; then echo "http=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$to:$port$path")";
  else echo http=notools; fi
fi
"#;

pub struct Reach;

#[async_trait]
impl CheckKind for Reach {
    type Spec = ReachSpec;

    async fn observe(&self, spec: &ReachSpec, ctx: &Ctx, timeout: Duration) -> Result<Observation, ObserveError> {
        let argv: Vec<String> = vec![
            "sh".into(),
            "-c".into(),
            SCRIPT.into(),
            "reach".into(),
            spec.to.clone(),
            spec.port.to_string(),
            spec.http.clone().unwrap_or_default(),
        ];
        let started = Instant::now();
        let mut via = format!("exec in `{}`", spec.from);
        let mut out = match ctx.target.exec(&spec.from, ExecRequest::new(&argv, timeout)).await {
            Ok(o) => Some(o),
            Err(TargetError::Unsupported(m)) => return Err(ObserveError::Unsupported(m)),
            Err(TargetError::Failed(m)) => {
                // No shell in the image (or the container is not running): try a probe.
                via = format!("probe container in `{}`'s network namespace (exec failed: {m})", spec.from);
                None
            }
        };
        if out.as_ref().is_some_and(|o| o.exit_code == 127 || o.stdout.contains("notools")) {
            via = format!("probe container in `{}`'s network namespace (its image lacks the tools)", spec.from);
            out = None;
        }
        let out = match out {
            Some(o) => o,
            None => ctx.target.probe(&spec.from, &argv, timeout).await?,
        };
        let elapsed = started.elapsed();
        let get = |k: &str| out.stdout.lines().find_map(|l| l.strip_prefix(&format!("{k}="))).map(str::to_string);
        let dns = get("dns").filter(|d| d != "fail" && d != "notools");
        let tcp = get("tcp").is_some_and(|t| t == "ok");
        let http = get("http").and_then(|h| h.parse::<u16>().ok()).filter(|c| *c != 0);
        let mut problems = Vec::new();
        if dns.is_none() {
            problems.push(format!("`{}` cannot resolve `{}`", spec.from, spec.to));
        } else if !tcp {
            problems.push(format!("`{}` cannot connect to {}:{}", spec.from, spec.to, spec.port));
        } else if let Some(path) = &spec.http {
            match http {
                Some(code) if code < 400 => {}
                Some(code) => {
                    problems.push(format!("`{}` → http://{}:{}{path} answered {code}", spec.from, spec.to, spec.port));
                }
                None => problems
                    .push(format!("`{}` got no HTTP answer from http://{}:{}{path}", spec.from, spec.to, spec.port)),
            }
        }
        let mut evidence = format!("from {} to {}:{} via {via}\n", spec.from, spec.to, spec.port);
        let _ = writeln!(evidence, "dns: {}", dns.clone().unwrap_or_else(|| "no address".into()));
        let _ = writeln!(evidence, "tcp: {}", if tcp { "connected" } else { "failed" });
        if spec.http.is_some() {
            let _ = writeln!(evidence, "http: {}", http.map_or_else(|| "no answer".to_string(), |c| c.to_string()));
        }
        if !out.stderr.trim().is_empty() {
            let _ = writeln!(evidence, "--- stderr\n{}", out.stderr.trim_end());
        }
        Ok(Observation {
            document: Some(json!({ "from": spec.from, "to": spec.to, "port": spec.port, "dns": dns, "tcp": tcp, "http_status": http, "via": via })),
            evidence,
            problems,
            ..Observation::default()
        }
        .duration(elapsed))
    }
}

//! `checkpoint init`: a starting checkpoint for an existing compose file.
//!
//! What the compose file itself promises becomes a gate:
//!
//! - "Docker stack running all services": a `compose` check; services that
//!   others wait for with `condition: service_completed_successfully` (a
//!   migration, a seeder) are one-shot and listed in `completed:`;
//! - "<svc> port <p> reachable": a `tcp` check per published container port;
//! - "<svc> health endpoint answers 200": an `http` check for each healthcheck
//!   that probes a local HTTP URL (`curl -f http://localhost:8000/health`,
//!   `wget -q -O- http://…/healthz`, a Python one-liner…), when that port is
//!   published — from the host, that is the only way in.
//!
//! The file is generated as text (comments are the point of it), then loaded
//! and validated like any checkpoint before the command reports success.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use checkpoint_model::exit;
use checkpoint_model::load::{self, LoadOptions};
use indexmap::IndexMap;
use serde_json::Value;

use crate::cli::InitArgs;

/// A service of the compose file, as far as the generated gates need it.
#[derive(Debug, Default, PartialEq)]
pub struct Service {
    pub name: String,
    /// Published container ports (TCP), in file order.
    pub ports: Vec<u16>,
    /// Published entries that get no gate (UDP, ranges, variables), with why.
    pub skipped: Vec<String>,
    /// The HTTP endpoint its healthcheck probes, if it probes one.
    pub health: Option<HealthUrl>,
    /// Others wait for it to exit 0 (`service_completed_successfully`).
    pub one_shot: bool,
}

/// A local HTTP URL found in a healthcheck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthUrl {
    pub scheme: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// The URL as written in the healthcheck.
    pub raw: String,
}

pub async fn command(dir: &Path, args: &InitArgs) -> u8 {
    let out = args.out.clone().unwrap_or_else(|| dir.join("0.yaml"));
    if out.exists() && !args.force {
        crate::errln!("error: {} exists; pass --force to overwrite it (or --out to write elsewhere)", out.display());
        return exit::USAGE;
    }
    let Some(id) = out.file_stem().and_then(|s| s.to_str()).filter(|s| !s.is_empty()).map(str::to_string) else {
        crate::errln!("error: --out {}: not a file name (write e.g. checkpoints/0.yaml)", out.display());
        return exit::USAGE;
    };
    let shown = args.compose.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" + ");
    let text = match read_compose(&args.compose).await {
        Ok(t) => t,
        Err((code, e)) => {
            crate::errln!("error: {e}");
            return code;
        }
    };
    let services = match parse_compose(&text, &shown) {
        Ok(s) => s,
        Err(e) => {
            crate::errln!("error: {e}");
            return exit::USAGE;
        }
    };
    // Paths in a checkpoint are relative to the project root: the parent of the checkpoints directory.
    let out_abs = std::path::absolute(&out).unwrap_or_else(|_| out.clone());
    let cp_dir = out_abs.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let root = cp_dir.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let compose_refs: Vec<String> = args
        .compose
        .iter()
        .map(|c| relative_to(&std::path::absolute(c).unwrap_or_else(|_| c.clone()), &root))
        .collect();
    let yaml = render(&services, &id, &compose_refs);
    if let Err(e) = checkpoint_report::write_atomic(&out, &yaml) {
        crate::errln!("error: cannot write {}: {e}", out.display());
        return exit::INFRA;
    }
    // The generated file must load like any other; if it does not, say so loudly.
    let opts = LoadOptions {
        dir: cp_dir.clone(),
        cli_vars: IndexMap::new(),
        env_file_vars: IndexMap::new(),
        use_env: true,
        extra_compose: Vec::new(),
    };
    match load::load_checkpoints(&opts, std::slice::from_ref(&id)) {
        Ok(loaded) => {
            let gates: usize = loaded.checkpoints.iter().map(|c| c.gates.len()).sum();
            crate::outln!("wrote {}: {gates} gates from {shown} ({} services)", out.display(), services.len());
            let dir_flag = if cp_dir == std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()) {
                String::new()
            } else {
                format!("--dir {} ", cp_dir.display())
            };
            crate::outln!("next: edit the titles to your plan's wording, then `checkpoint {dir_flag}run {id}`");
            exit::PASSED
        }
        Err(d) => {
            crate::errln!("{}", d.render(false));
            crate::errln!(
                "error: the generated {} does not validate (a bug in `checkpoint init`); fix the lines above by hand",
                out.display()
            );
            exit::USAGE
        }
    }
}

/// One compose file as written; several merged by the compose tool's `config`
/// (which also resolves `extends`, interpolation and overrides).
async fn read_compose(files: &[PathBuf]) -> Result<String, (u8, String)> {
    if let [one] = files {
        return std::fs::read_to_string(one).map_err(|e| {
            (
                exit::USAGE,
                format!(
                    "cannot read the compose file {}: {e}; point --compose at your stack's compose file",
                    one.display()
                ),
            )
        });
    }
    if let Some(missing) = files.iter().find(|f| !f.is_file()) {
        return Err((exit::USAGE, format!("compose file {} does not exist", missing.display())));
    }
    let tool = checkpoint_stack::ComposeTool::detect(crate::cli::compose_tool()).await.map_err(|e| {
        (exit::INFRA, format!("merging several compose files needs the compose tool: {e}; or pass one --compose"))
    })?;
    let words = tool.command();
    let mut words = words.split_whitespace();
    let mut cmd = tokio::process::Command::new(words.next().unwrap_or("docker-compose"));
    cmd.args(words);
    for f in files {
        cmd.arg("-f").arg(f);
    }
    cmd.arg("config").stdin(std::process::Stdio::null()).kill_on_drop(true);
    let shown = format!(
        "{} {} config",
        tool.command(),
        files.iter().map(|f| format!("-f {}", f.display())).collect::<Vec<_>>().join(" ")
    );
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .map_err(|_| (exit::INFRA, format!("`{shown}` did not answer within 60s")))?
        .map_err(|e| (exit::INFRA, format!("cannot run `{shown}`: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        // The reason is often on the line after "… is invalid because:".
        let why: String = err.lines().map(str::trim).filter(|l| !l.is_empty()).take(3).collect::<Vec<_>>().join(" ");
        return Err((exit::USAGE, format!("`{shown}` failed: {}", why.chars().take(400).collect::<String>())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `to` relative to `base` when it lies under it, else absolute.
fn relative_to(to: &Path, base: &Path) -> String {
    let normal = |p: &Path| -> PathBuf {
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    };
    let (to, base) = (normal(to), normal(base));
    to.strip_prefix(&base).map_or_else(|_| to.display().to_string(), |r| r.display().to_string())
}

/// The services of a compose file, in file order.
pub fn parse_compose(text: &str, file: &str) -> Result<Vec<Service>, String> {
    let doc: Value =
        serde_saphyr::from_str(text).map_err(|e| format!("{file} is not valid YAML: {}", e.without_snippet()))?;
    let services = doc
        .get("services")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{file} has no `services:` mapping; is it a compose file?"))?;
    let mut completed: Vec<String> = Vec::new();
    for svc in services.values() {
        if let Some(deps) = svc.get("depends_on").and_then(Value::as_object) {
            for (dep, cond) in deps {
                if cond.get("condition").and_then(Value::as_str) == Some("service_completed_successfully") {
                    completed.push(dep.clone());
                }
            }
        }
    }
    let mut out = Vec::new();
    for (name, svc) in services {
        let mut s = Service { name: name.clone(), one_shot: completed.contains(name), ..Service::default() };
        for p in svc.get("ports").and_then(Value::as_array).into_iter().flatten() {
            match container_port(p) {
                Ok(port) if !s.ports.contains(&port) => s.ports.push(port),
                Ok(_) => {}
                Err(why) => s.skipped.push(why),
            }
        }
        let hc = svc.get("healthcheck");
        let disabled = hc.and_then(|h| h.get("disable")).and_then(Value::as_bool) == Some(true);
        if !disabled && let Some(test) = hc.and_then(|h| h.get("test")) {
            s.health = health_url(test);
        }
        out.push(s);
    }
    Ok(out)
}

/// The container port of one `ports:` entry (short or long syntax).
fn container_port(p: &Value) -> Result<u16, String> {
    let shown = p.as_str().map_or_else(|| p.to_string(), str::to_string);
    let (port, proto) = match p {
        Value::Number(n) => (n.to_string(), "tcp".to_string()),
        Value::String(s) => {
            let (spec, proto) = s.split_once('/').unwrap_or((s.as_str(), "tcp"));
            (spec.rsplit(':').next().unwrap_or(spec).to_string(), proto.to_string())
        }
        Value::Object(m) => (
            m.get("target").map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_string)).unwrap_or_default(),
            m.get("protocol").and_then(Value::as_str).unwrap_or("tcp").to_string(),
        ),
        _ => return Err(format!("`{shown}`: not a port entry")),
    };
    if proto != "tcp" {
        return Err(format!("`{shown}`: {proto}, not TCP"));
    }
    port.trim().parse::<u16>().map_err(|_| format!("`{shown}`: not one fixed container port (a range or a variable)"))
}

/// The local HTTP URL a healthcheck `test:` probes, if any: `["CMD", …]`,
/// `["CMD-SHELL", "…"]` or a plain string (a shell line).
pub fn health_url(test: &Value) -> Option<HealthUrl> {
    let words: Vec<String> = match test {
        Value::String(line) => vec![line.clone()],
        Value::Array(items) => {
            let items: Vec<String> = items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
            match items.first().map(String::as_str) {
                Some("NONE") | None => return None,
                Some("CMD" | "CMD-SHELL") => items[1..].to_vec(),
                Some(_) => items,
            }
        }
        _ => return None,
    };
    words.iter().find_map(|w| find_url(w))
}

/// The first `http://` / `https://` URL in `text` whose host is this container.
fn find_url(text: &str) -> Option<HealthUrl> {
    let mut rest = text;
    while let Some(at) = rest.find("http") {
        let candidate = &rest[at..];
        let end = candidate.find(|c: char| c.is_whitespace() || "\"'`;|&<>(),".contains(c)).unwrap_or(candidate.len());
        if let Some(u) = parse_url(&candidate[..end]) {
            return Some(u);
        }
        rest = &candidate[4..];
    }
    None
}

fn parse_url(url: &str) -> Option<HealthUrl> {
    let (scheme, after) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let (authority, path) = after.find(['/', '?']).map_or((after, "/"), |i| (&after[..i], &after[i..]));
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, rest) = v6.split_once(']')?;
        (h, rest.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let local = matches!(host, "localhost" | "0.0.0.0" | "::1" | "::") || host.starts_with("127.");
    if !local {
        return None;
    }
    let port = match port {
        Some(p) => p.parse().ok()?,
        None if scheme == "https" => 443,
        None => 80,
    };
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_string() };
    Some(HealthUrl { scheme: scheme.to_string(), port, path, raw: url.to_string() })
}

/// A gate id from a service name: letters, digits, `-`, `_`, `.`.
fn id_part(name: &str) -> String {
    let s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect();
    if s.is_empty() { "service".into() } else { s }
}

/// A YAML double-quoted scalar (JSON's escapes are YAML's).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// The checkpoint file, comments included.
pub fn render(services: &[Service], id: &str, compose_files: &[String]) -> String {
    let compose = compose_files.join(", ");
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\
# yaml-language-server: $schema=./checkpoint.schema.json
# (editor completion: `checkpoint schema > checkpoints/checkpoint.schema.json`)
#
# Checkpoint {id}, generated by `checkpoint init` from {compose}.
# A starting point: each gate below is a promise the compose file already makes.
# Edit it into your integration plan:
#   - give `title:` and each gate's `title:` your plan's wording (the reports show them);
#   - `severity:` is `must` by default; `should` / `nice` gates count against thresholds
#     (`criteria: {{ should: 70% }}`); `wave:` groups gates for `--waves`;
#   - add checks: http (status, json, body), postgres, redis, exec, reach, latency, …
#     (`checkpoint schema` prints the JSON Schema; editors complete from it);
#   - `${{service.NAME.PORT}}` is the host:port the harness finds for container port PORT
#     of service NAME in the running stack, so ports can stay ephemeral;
#   - check it with `checkpoint validate`, run it with `checkpoint run {id}`.
checkpoint: {}
title: {}

stack:
  # Relative to the project root (the parent of the checkpoints directory).
  compose: [{}]
  # How long services get to become running / healthy (one-shot services: to exit 0).
  ready_timeout: 180s

gates:",
        q(id),
        q(&format!("Stack up: services running, ports reachable{}", health_note(services))),
        compose_files.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ")
    );
    let completed: Vec<String> = services.iter().filter(|s| s.one_shot).map(|s| q(&s.name)).collect();
    let _ = writeln!(
        o,
        "  # Every service running, and healthy where it has a healthcheck. One-shot services (others
  # wait for them with `condition: service_completed_successfully`) must have exited 0 instead.
  - id: stack-running
    title: Docker stack running all services
    checks:
      - name: every service is running and healthy{}
        compose: {{ {}}}",
        if completed.is_empty() { "" } else { ", one-shot services completed" },
        if completed.is_empty() { String::new() } else { format!("completed: [{}] ", completed.join(", ")) }
    );
    for s in services {
        let svc = id_part(&s.name);
        for why in &s.skipped {
            let _ = writeln!(o, "\n  # {}: no gate for the published port {why}.", s.name);
        }
        for p in &s.ports {
            let _ = writeln!(
                o,
                "
  # {name}: container port {p} is published; the harness resolves the host side.
  - id: {svc}-port-{p}
    title: {title}
    checks:
      - name: {check}
        tcp: {{ address: {addr} }}",
                name = s.name,
                title = q(&format!("{} port {p} reachable", s.name)),
                check = q(&format!("port {p} accepts TCP")),
                addr = q(&format!("${{service.{}.{p}}}", s.name)),
            );
        }
        let Some(h) = &s.health else { continue };
        if !s.ports.contains(&h.port) {
            let _ = writeln!(
                o,
                "\n  # {}: the healthcheck probes {} but port {} is not published, so the host cannot reach it.\n  # Publish it (`ports: [\"{}\"]`) or check it from inside the stack with a `reach` check.",
                s.name, h.raw, h.port, h.port
            );
            continue;
        }
        let _ = writeln!(
            o,
            "
  # {name}: its healthcheck probes {raw}; the same endpoint, from the host.
  # Add `json:` / `body:` expectations for what a healthy answer contains.
  - id: {svc}-health
    title: {title}
    needs: [{svc}-port-{port}]
    checks:
      - name: {check}
        http: {{ url: {url} }}
        expect: {{ status: 200 }}",
            name = s.name,
            raw = h.raw,
            port = h.port,
            title = q(&format!("{} health endpoint answers 200", s.name)),
            check = q(&format!("GET {}", h.path)),
            url = q(&format!("{}://${{service.{}.{}}}{}", h.scheme, s.name, h.port, h.path)),
        );
    }
    o
}

fn health_note(services: &[Service]) -> &'static str {
    if services.iter().any(|s| s.health.as_ref().is_some_and(|h| s.ports.contains(&h.port))) {
        ", health endpoints green"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn url(test: Value) -> Option<(String, u16, String)> {
        health_url(&test).map(|h| (h.scheme, h.port, h.path))
    }

    fn some(scheme: &str, port: u16, path: &str) -> Option<(String, u16, String)> {
        Some((scheme.into(), port, path.into()))
    }

    #[test]
    fn healthcheck_shapes_that_show_an_http_endpoint() {
        // CMD array (the demo's api).
        assert_eq!(
            url(json!(["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8000/health"])),
            some("http", 8000, "/health")
        );
        // CMD-SHELL with a fallback.
        assert_eq!(
            url(json!(["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"])),
            some("http", 8000, "/health")
        );
        // A plain string is a shell line; wget; a query string kept.
        assert_eq!(
            url(json!("wget -q -O- http://localhost:9000/healthz?full=1")),
            some("http", 9000, "/healthz?full=1")
        );
        // Quoted inside a shell line; no port means 80; no path means /.
        assert_eq!(url(json!(["CMD-SHELL", "wget --spider 'http://localhost'"])), some("http", 80, "/"));
        // https without a port is 443.
        assert_eq!(url(json!(["CMD", "curl", "-kf", "https://localhost/ready"])), some("https", 443, "/ready"));
        // Any tool: a Python one-liner.
        assert_eq!(
            url(json!([
                "CMD",
                "python",
                "-c",
                "import urllib.request; urllib.request.urlopen('http://0.0.0.0:5000/api/health')"
            ])),
            some("http", 5000, "/api/health")
        );
        // IPv6 loopback.
        assert_eq!(url(json!("curl -f http://[::1]:8080/live")), some("http", 8080, "/live"));
    }

    #[test]
    fn healthchecks_without_a_local_http_endpoint() {
        assert_eq!(url(json!(["CMD", "pg_isready", "-h", "127.0.0.1"])), None);
        assert_eq!(url(json!(["CMD", "redis-cli", "ping"])), None);
        assert_eq!(url(json!(["NONE"])), None);
        // Another host: that probes a dependency, not this service.
        assert_eq!(url(json!("curl -f http://db:8000/health")), None);
        // A variable port cannot be resolved here.
        assert_eq!(url(json!("curl -f http://localhost:$${PORT}/health")), None);
        assert_eq!(url(json!(42)), None);
    }

    #[test]
    fn compose_services_ports_and_one_shots() {
        let text = r#"
x-app: &app
  image: app
services:
  db:
    image: postgres
    ports: ["5432"]
    healthcheck: { test: ["CMD", "pg_isready"] }
  migrate:
    <<: *app
    restart: "no"
    depends_on: { db: { condition: service_healthy } }
  api:
    <<: *app
    ports:
      - "127.0.0.1:8080:8000/tcp"
      - 9090
      - target: 9100
        published: "9100"
      - "5353:53/udp"
      - "7000-7002:7000-7002"
    healthcheck:
      test: curl -f http://localhost:8000/health
    depends_on:
      migrate: { condition: service_completed_successfully }
  worker:
    <<: *app
    healthcheck: { test: ["CMD", "curl", "-f", "http://localhost:8000/health"], disable: true }
    depends_on: [db]
"#;
        let s = parse_compose(text, "c.yml").unwrap();
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["db", "migrate", "api", "worker"]);
        assert_eq!(s[0].ports, [5432]);
        assert!(s[1].one_shot && !s[0].one_shot && !s[2].one_shot);
        assert_eq!(s[2].ports, [8000, 9090, 9100]);
        assert_eq!(s[2].skipped.len(), 2, "{:?}", s[2].skipped);
        assert_eq!(s[2].health.as_ref().map(|h| h.port), Some(8000));
        assert_eq!(s[3].health, None, "disabled healthcheck");
        let yaml = render(&s, "0", &["docker-compose.yml".to_string()]);
        assert!(yaml.contains("compose: { completed: [\"migrate\"] }"), "{yaml}");
        assert!(yaml.contains("tcp: { address: \"${service.api.8000}\" }"), "{yaml}");
        assert!(yaml.contains("http: { url: \"http://${service.api.8000}/health\" }"), "{yaml}");
        assert!(yaml.contains("needs: [api-port-8000]"), "{yaml}");
        assert!(yaml.contains("no gate for the published port `5353:53/udp`: udp, not TCP"), "{yaml}");
        assert!(parse_compose("services: [a]", "c.yml").unwrap_err().contains("no `services:` mapping"));
        assert!(parse_compose("a: [", "c.yml").unwrap_err().contains("c.yml is not valid YAML"));
    }

    #[test]
    fn paths_relative_to_the_root_when_under_it() {
        assert_eq!(relative_to(Path::new("/p/docker-compose.yml"), Path::new("/p")), "docker-compose.yml");
        assert_eq!(relative_to(Path::new("/p/./ops/../c.yml"), Path::new("/p")), "c.yml");
        assert_eq!(relative_to(Path::new("/elsewhere/c.yml"), Path::new("/p")), "/elsewhere/c.yml");
    }
}

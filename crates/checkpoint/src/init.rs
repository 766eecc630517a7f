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
//!   published — from the host, that is the only way in;
//! - "<svc> answers a Celery ping through its broker": an `exec` of `celery
//!   inspect ping` in each service whose `entrypoint`/`command` runs a Celery
//!   worker ([`celery`]).
//!
//! The file is generated as text (comments are the point of it), then loaded
//! and validated like any checkpoint before the command reports success.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use checkpoint_model::exit;
use checkpoint_model::load::{self, LoadOptions};
use indexmap::IndexMap;
use serde_json::Value;

use crate::Context;
use crate::cli::InitArgs;

mod celery;

/// A service of the compose file, as far as the generated gates need it.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Service {
    pub name: String,
    /// Published container ports (TCP), in file order.
    pub ports: Vec<u16>,
    /// Published entries that get no gate (UDP, ranges, variables), with why.
    pub skipped: Vec<String>,
    /// The HTTP endpoint its healthcheck probes, if it probes one.
    pub health: Option<HealthUrl>,
    /// Others wait for it to exit 0 (`service_completed_successfully`).
    pub one_shot: bool,
    /// What it is, from its image, ports and environment.
    pub role: Role,
    /// Its `environment:` (mapping or list form), values as written.
    pub env: IndexMap<String, String>,
    /// Ports it `expose`s to the other services only.
    pub expose: Vec<u16>,
    /// Its networks (`default` when it names none).
    pub networks: Vec<String>,
    /// The Celery worker its `entrypoint` and `command` run, if they run one.
    pub celery: Option<celery::CeleryWorker>,
}

/// What a service is, as far as a real probe of it goes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// PostgreSQL (`postgres`, `postgis`, `timescale` images, port 5432, `POSTGRES_*`).
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    /// Redis or a compatible cache (`valkey`, `keydb`).
    Redis,
    /// RabbitMQ.
    Rabbit,
    /// An application: its published ports that speak HTTP get an HTTP probe.
    #[default]
    App,
}

impl Role {
    fn of(image: &str, ports: &[u16], env: &IndexMap<String, String>) -> Self {
        let image = image.rsplit('/').next().unwrap_or(image).to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| image.starts_with(w) || image.contains(&format!("{w}:")));
        let env_prefix = |p: &str| env.keys().any(|k| k.starts_with(p));
        if has(&["postgres", "postgis", "timescale"]) || ports.contains(&5432) || env_prefix("POSTGRES_") {
            Self::Postgres
        } else if has(&["mysql", "mariadb", "percona"])
            || ports.contains(&3306)
            || env_prefix("MYSQL_")
            || env_prefix("MARIADB_")
        {
            Self::Mysql
        } else if has(&["redis", "valkey", "keydb"]) || ports.contains(&6379) {
            Self::Redis
        } else if has(&["rabbitmq"]) || ports.contains(&5672) {
            Self::Rabbit
        } else {
            Self::App
        }
    }

    /// The port other services reach it on when it publishes none.
    fn default_port(self) -> Option<u16> {
        match self {
            Self::Postgres => Some(5432),
            Self::Mysql => Some(3306),
            Self::Redis => Some(6379),
            Self::Rabbit => Some(5672),
            Self::App => None,
        }
    }
}

/// Container ports that are HTTP by convention (frameworks' and servers' defaults).
const HTTP_PORTS: &[u16] = &[80, 443, 3000, 4000, 5000, 5173, 8000, 8001, 8008, 8080, 8081, 8443, 8888, 9000];

/// A local HTTP URL found in a healthcheck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HealthUrl {
    pub scheme: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// The URL as written in the healthcheck.
    pub raw: String,
}

pub(crate) async fn command(ctx: &Context, dir: &Path, args: &InitArgs) -> u8 {
    let out = args.out.clone().unwrap_or_else(|| dir.join("0.yaml"));
    if out.exists() && !args.force {
        crate::errln!(
            ctx,
            "error: {} exists; pass --force to overwrite it (or --out to write elsewhere)",
            out.display()
        );
        return exit::USAGE;
    }
    let Some(id) = out.file_stem().and_then(|s| s.to_str()).filter(|s| !s.is_empty()).map(str::to_string) else {
        crate::errln!(ctx, "error: --out {}: not a file name (write e.g. checkpoints/0.yaml)", out.display());
        return exit::USAGE;
    };
    let shown = args.compose.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" + ");
    let text = match read_compose(ctx, &args.compose).await {
        Ok(t) => t,
        Err((code, e)) => {
            crate::errln!(ctx, "error: {e}");
            return code;
        }
    };
    let services = match parse_compose(&text, &shown) {
        Ok(s) => s,
        Err(e) => {
            crate::errln!(ctx, "error: {e}");
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
        crate::errln!(ctx, "error: cannot write {}: {e}", out.display());
        return exit::INFRA;
    }
    // The generated file must load like any other; if it does not, say so loudly.
    let opts = LoadOptions {
        dir: cp_dir.clone(),
        cli_vars: IndexMap::new(),
        env_file_vars: IndexMap::new(),
        env: ctx.env.vars(),
        extra_compose: Vec::new(),
    };
    match load::load_checkpoints(&opts, std::slice::from_ref(&id)) {
        Ok(loaded) => {
            let gates: usize = loaded.checkpoints.iter().map(|c| c.gates.len()).sum();
            crate::outln!(ctx, "wrote {}: {gates} gates from {shown} ({} services)", out.display(), services.len());
            let dir_flag = if cp_dir == std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()) {
                String::new()
            } else {
                format!("--dir {} ", cp_dir.display())
            };
            crate::outln!(ctx, "next: edit the titles to your plan's wording, then `checkpoint {dir_flag}run {id}`");
            exit::PASSED
        }
        Err(d) => {
            crate::errln!(ctx, "{}", d.render(false));
            crate::errln!(
                ctx,
                "error: the generated {} does not validate (a bug in `checkpoint init`); fix the lines above by hand",
                out.display()
            );
            exit::USAGE
        }
    }
}

/// One compose file as written; several merged by the compose tool's `config`
/// (which also resolves `extends`, interpolation and overrides).
async fn read_compose(ctx: &Context, files: &[PathBuf]) -> Result<String, (u8, String)> {
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
    let tool = checkpoint_stack::ComposeTool::detect(ctx.compose_tool).await.map_err(|e| {
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
    let out = tokio::time::timeout(std::time::Duration::from_mins(1), cmd.output())
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
pub(crate) fn parse_compose(text: &str, file: &str) -> Result<Vec<Service>, String> {
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
        s.env = environment(svc.get("environment"));
        s.celery = celery::worker(svc.get("entrypoint"), svc.get("command"));
        s.expose = svc
            .get("expose")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| container_port(p).ok())
            .collect();
        s.networks = match svc.get("networks") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(String::from).collect(),
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            _ => vec!["default".into()],
        };
        let image = svc.get("image").and_then(Value::as_str).unwrap_or("");
        let known: Vec<u16> = s.ports.iter().chain(&s.expose).copied().collect();
        s.role = Role::of(image, &known, &s.env);
        out.push(s);
    }
    Ok(out)
}

/// `environment:` as a mapping or a `KEY=VALUE` list; values as written.
fn environment(v: Option<&Value>) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    match v {
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                out.insert(k.clone(), v);
            }
        }
        Some(Value::Array(a)) => {
            for item in a.iter().filter_map(Value::as_str) {
                let (k, v) = item.split_once('=').unwrap_or((item, ""));
                out.insert(k.to_string(), v.to_string());
            }
        }
        _ => {}
    }
    out
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
pub(crate) fn health_url(test: &Value) -> Option<HealthUrl> {
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
pub(crate) fn render(services: &[Service], id: &str, compose_files: &[String]) -> String {
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
{}
gates:",
        q(id),
        q(&format!("Stack up: services running, ports reachable{}", health_note(services))),
        compose_files.iter().map(|c| q(c)).collect::<Vec<_>>().join(", "),
        vars_block(services)
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
    for s in services.iter().filter(|s| !s.one_shot) {
        for why in &s.skipped {
            let _ = writeln!(o, "\n  # {}: no gate for the published port {why}.", s.name);
        }
        match s.role {
            Role::App => app_gates(&mut o, s),
            role => store_gate(&mut o, s, role, services),
        }
        if let Some(w) = &s.celery {
            celery::gate(&mut o, &s.name, w);
        }
    }
    o
}

/// Variables the generated checks use: passwords a database's own
/// environment sets, under names the reports mask (`*_PASSWORD`).
fn vars_block(services: &[Service]) -> String {
    let mut o = String::new();
    for s in services.iter().filter(|s| s.role == Role::Postgres && s.ports.contains(&5432) && !s.one_shot) {
        let pw = s.env.get("POSTGRES_PASSWORD").cloned().unwrap_or_default();
        let _ = writeln!(
            o,
            "  # {name}'s password, as its compose environment sets it (the environment can override it).\n  {var}: {value}",
            name = s.name,
            var = password_var(&s.name),
            value = q(&if pw.contains("${") { pw } else { format!("${{{}:-{pw}}}", password_var(&s.name)) }),
        );
    }
    if o.is_empty() { o } else { format!("\nvars:\n{o}") }
}

fn password_var(service: &str) -> String {
    let up: String =
        service.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("{up}_PASSWORD")
}

/// An application: every published port that speaks HTTP (by convention or
/// because its healthcheck probes it) gets an HTTP request that a dead app
/// cannot answer; other ports a TCP check. Its health endpoint, when it has one.
fn app_gates(o: &mut String, s: &Service) {
    let svc = id_part(&s.name);
    for p in &s.ports {
        let health_here = s.health.as_ref().is_some_and(|h| h.port == *p);
        if HTTP_PORTS.contains(p) || health_here {
            let scheme = if *p == 443 || *p == 8443 { "https" } else { "http" };
            let _ = writeln!(
                o,
                "
  # {name}: container port {p} is published and speaks HTTP (by convention{by_health}). A
  # TCP connect proves little: Docker accepts on a published port even when the app behind it
  # has crashed. An HTTP answer below 500 (even a 404) proves the app is up.
  - id: {svc}-http-{p}
    title: {title}
    checks:
      - name: {check}
        http: {{ url: {url}{insecure} }}
        expect: {{ status: {{ lt: 500 }} }}",
                name = s.name,
                by_health = if health_here { "; its healthcheck probes it" } else { "" },
                title = q(&format!("{} answers HTTP on port {p}", s.name)),
                check = q("GET /"),
                url = q(&format!("{scheme}://${{service.{}.{p}}}/", s.name)),
                insecure = if scheme == "https" { ", insecure: true" } else { "" },
            );
        } else {
            let _ = writeln!(
                o,
                "
  # {name}: container port {p} is published; not a port known to speak HTTP, so a TCP check
  # (one that Docker's proxy alone cannot pass: it must stay open). Replace it with a real
  # request if you know the protocol.
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
    }
    let Some(h) = &s.health else { return };
    if !s.ports.contains(&h.port) {
        let _ = writeln!(
            o,
            "\n  # {}: the healthcheck probes {} but port {} is not published, so the host cannot reach it.\n  # Publish it (`ports: [\"{}\"]`) or check it from inside the stack with a `reach` check.",
            s.name, h.raw, h.port, h.port
        );
        return;
    }
    let _ = writeln!(
        o,
        "
  # {name}: its healthcheck probes {raw}; the same endpoint, from the host.
  # Add `json:` / `body:` expectations for what a healthy answer contains.
  - id: {svc}-health
    title: {title}
    needs: [{svc}-http-{port}]
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

/// A database, cache or broker: a real query or PING — through its published
/// port when it has one, else inside its container — and, when it publishes
/// nothing, a reach check from a service that shares a network with it.
fn store_gate(o: &mut String, s: &Service, role: Role, services: &[Service]) {
    let svc = id_part(&s.name);
    let name = &s.name;
    let published = role.default_port().filter(|p| s.ports.contains(p));
    let (title, check, body) = match (role, published) {
        (Role::Postgres, Some(p)) => {
            let user = s.env.get("POSTGRES_USER").cloned().unwrap_or_else(|| "postgres".into());
            let db = s.env.get("POSTGRES_DB").cloned().unwrap_or_else(|| user.clone());
            (
                format!("{name} answers a query"),
                "SELECT 1 through the published port".to_string(),
                format!(
                    "postgres: {{ dsn: {}, query: \"SELECT 1 AS ok\" }}\n        expect: {{ json: {{ \"$[0].ok\": 1 }} }}",
                    q(&format!("postgres://{user}:${{{}}}@${{service.{name}.{p}}}/{db}", password_var(name)))
                ),
            )
        }
        (Role::Postgres, None) => (
            format!("{name} answers a query"),
            "SELECT 1 inside the container".to_string(),
            "exec: { service: SVC, argv: [sh, -c, \"psql -U \\\"$${POSTGRES_USER:-postgres}\\\" -d \\\"$${POSTGRES_DB:-$${POSTGRES_USER:-postgres}}\\\" -tAc 'SELECT 1'\"] }\n        expect: { stdout: { contains: \"1\" } }".replace("SVC", &q(name)),
        ),
        (Role::Redis, Some(p)) => (
            format!("{name} answers PING"),
            "PING through the published port".to_string(),
            format!("redis: {{ url: {}, command: [PING] }}\n        expect: {{ reply: PONG }}", q(&format!("redis://${{service.{name}.{p}}}/0"))),
        ),
        (Role::Redis, None) => (
            format!("{name} answers PING"),
            "PING inside the container".to_string(),
            format!("exec: {{ service: {}, argv: [redis-cli, ping] }}\n        expect: {{ stdout: {{ contains: PONG }} }}", q(name)),
        ),
        (Role::Mysql, _) => (
            format!("{name} answers a query"),
            "SELECT 1 inside the container".to_string(),
            format!(
                "exec: {{ service: {}, argv: [sh, -c, \"mysql -uroot -p\\\"$${{MYSQL_ROOT_PASSWORD:-$$MARIADB_ROOT_PASSWORD}}\\\" -e 'SELECT 1'\"] }}",
                q(name)
            ),
        ),
        (Role::Rabbit, _) => (
            format!("{name} answers a ping"),
            "rabbitmq-diagnostics ping inside the container".to_string(),
            format!("exec: {{ service: {}, argv: [rabbitmq-diagnostics, -q, ping] }}", q(name)),
        ),
        (Role::App, _) => return,
    };
    let _ = writeln!(
        o,
        "
  # {name}: recognised as a {what}; a real {how}, not just an open port.
  - id: {svc}-answers
    title: {title}
    checks:
      - name: {check}
        {body}",
        what = match role {
            Role::Postgres => "PostgreSQL database",
            Role::Mysql => "MySQL/MariaDB database",
            Role::Redis => "Redis-compatible cache",
            Role::Rabbit => "RabbitMQ broker",
            Role::App => "service",
        },
        how = if matches!(role, Role::Redis | Role::Rabbit) { "PING" } else { "query" },
        title = q(&title),
        check = q(&check),
    );
    if published.is_some() {
        return;
    }
    // Not published: prove the others can reach it, from one that shares a network.
    let port = s.expose.first().copied().or(role.default_port());
    let peer = services.iter().find(|p| {
        p.name != s.name && !p.one_shot && p.role == Role::App && p.networks.iter().any(|n| s.networks.contains(n))
    });
    if let (Some(port), Some(peer)) = (port, peer) {
        let _ = writeln!(
            o,
            "
  # {name}: not published; {peer} shares a network with it and must reach it there.
  - id: {svc}-reachable
    title: {title}
    checks:
      - name: {check}
        reach: {{ from: {from}, to: {to}, port: {port} }}",
            peer = peer.name,
            title = q(&format!("{} reaches {name}", peer.name)),
            check = q(&format!("{} → {name}:{port}", peer.name)),
            from = q(&peer.name),
            to = q(name),
        );
    }
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

    #[allow(clippy::needless_pass_by_value, reason = "called with json!(…) temporaries")]
    fn url(test: Value) -> Option<(String, u16, String)> {
        health_url(&test).map(|h| (h.scheme, h.port, h.path))
    }

    #[allow(clippy::unnecessary_wraps, reason = "compared with `url`'s Option")]
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
        // 8000 speaks HTTP (its healthcheck probes it): a request a dead app cannot answer.
        assert!(yaml.contains("http: { url: \"http://${service.api.8000}/\" }"), "{yaml}");
        assert!(yaml.contains("expect: { status: { lt: 500 } }"), "{yaml}");
        assert!(yaml.contains("http: { url: \"http://${service.api.8000}/health\" }"), "{yaml}");
        assert!(yaml.contains("needs: [api-http-8000]"), "{yaml}");
        // 9090 and 9100 are not known HTTP ports: TCP.
        assert!(yaml.contains("tcp: { address: \"${service.api.9100}\" }"), "{yaml}");
        // The database: a real query through its published port, its password a masked variable.
        assert_eq!(s[0].role, Role::Postgres);
        assert!(
            yaml.contains("postgres: { dsn: \"postgres://postgres:${DB_PASSWORD}@${service.db.5432}/postgres\""),
            "{yaml}"
        );
        assert!(yaml.contains("DB_PASSWORD: \"${DB_PASSWORD:-}\""), "{yaml}");
        assert!(yaml.contains("no gate for the published port `5353:53/udp`: udp, not TCP"), "{yaml}");
        assert!(parse_compose("services: [a]", "c.yml").unwrap_err().contains("no `services:` mapping"));
        assert!(parse_compose("a: [", "c.yml").unwrap_err().contains("c.yml is not valid YAML"));
    }

    #[test]
    fn databases_and_caches_are_recognised_and_reached_when_not_published() {
        let text = r#"
services:
  db:
    image: docker.io/library/postgres:16-alpine
    environment: [POSTGRES_USER=app, "POSTGRES_PASSWORD=${PG_PW:-s3cret}"]
    expose: ["5432"]
    networks: [backend]
  cache:
    image: valkey/valkey:8
    networks: [backend]
  queue:
    image: rabbitmq:3-management
  mysql:
    image: mariadb:11
  api:
    image: app
    ports: ["3000"]
    networks: [backend, front]
"#;
        let s = parse_compose(text, "c.yml").unwrap();
        let roles: Vec<Role> = s.iter().map(|s| s.role).collect();
        assert_eq!(roles, [Role::Postgres, Role::Redis, Role::Rabbit, Role::Mysql, Role::App]);
        let yaml = render(&s, "0", &["docker-compose.yml".to_string()]);
        // Not published: a query inside the container, and the app reaches it on their network.
        assert!(yaml.contains("exec: { service: \"db\", argv: [sh, -c, \"psql"), "{yaml}");
        assert!(yaml.contains("reach: { from: \"api\", to: \"db\", port: 5432 }"), "{yaml}");
        assert!(yaml.contains("exec: { service: \"cache\", argv: [redis-cli, ping] }"), "{yaml}");
        assert!(yaml.contains("reach: { from: \"api\", to: \"cache\", port: 6379 }"), "{yaml}");
        assert!(yaml.contains("rabbitmq-diagnostics"), "{yaml}");
        // queue and mysql share no network with api (default vs backend): no reach gate.
        assert!(!yaml.contains("to: \"queue\""), "{yaml}");
        // 3000 is an HTTP port by convention.
        assert!(yaml.contains("http: { url: \"http://${service.api.3000}/\" }"), "{yaml}");
        // No password is written into the file for an exec'd database.
        assert!(!yaml.contains("s3cret"), "{yaml}");
    }

    #[test]
    fn paths_relative_to_the_root_when_under_it() {
        assert_eq!(relative_to(Path::new("/p/docker-compose.yml"), Path::new("/p")), "docker-compose.yml");
        assert_eq!(relative_to(Path::new("/p/./ops/../c.yml"), Path::new("/p")), "c.yml");
        assert_eq!(relative_to(Path::new("/elsewhere/c.yml"), Path::new("/p")), "/elsewhere/c.yml");
    }
}

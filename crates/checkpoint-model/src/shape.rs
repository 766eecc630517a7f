//! The shape pass: every unknown key, wrong type, missing key and duplicate
//! key of a file, found in one walk of its [`crate::yaml`] tree against the
//! JSON Schema generated from [`crate::raw`] — the same schema editors use, so
//! what the editor underlines and what `checkpoint validate` says agree.
//!
//! serde alone would stop at the first of these; a user fixing a file should
//! see them all at once. The typed parse still runs afterwards (and reports
//! anything this pass is too lenient to notice); the semantic checks of
//! [`crate::load`] run only on files whose shape is right, so a misspelt key
//! never cascades into confusing follow-up errors.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value as Json;

use crate::diag::{Diagnostic, did_you_mean};
use crate::raw::KINDS;
use crate::yaml::{Node, Value};

/// The schema, read from the committed copy rather than generated from the
/// types at every start (generating it was a fifth of validating a small
/// file). `schema_drift` fails when the copy is stale, and a test below when
/// it is not the generated one to the last value.
static SCHEMA: LazyLock<Json> =
    LazyLock::new(|| serde_json::from_str(crate::schema::COMMITTED).unwrap_or(Json::Bool(true)));

/// The schema compiled once for the walk: every subschema's `$ref` followed
/// and its keywords looked up ahead, so a node costs no map lookups (the
/// walk visits every node of every file; the JSON stays for the messages).
static SHAPES: LazyLock<Shapes> = LazyLock::new(|| {
    let mut compiler = Compiler { all: Vec::new(), seen: HashMap::new() };
    let root = compiler.compile(&SCHEMA);
    Shapes { all: compiler.all, root }
});

/// Starts compiling the schema on a thread of its own (once per process),
/// so that it is ready by the time the first file has been read and parsed
/// (parsing its JSON and compiling it is ~7M instructions, as much as the
/// shape pass of a thousand checks). The shape pass waits for it if it is
/// not; with no thread to be had, the shape pass compiles it itself.
pub(crate) fn prepare() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    crate::load::build_aside(&STARTED, "checkpoint-schema", || {
        LazyLock::force(&SHAPES);
    });
}

/// Any value: what an array without `items` holds.
static ANY: Json = Json::Bool(true);

struct Shapes {
    all: Vec<Shape>,
    /// The checkpoint file's shape.
    root: usize,
}

/// Builds [`Shapes`], each subschema once.
struct Compiler {
    all: Vec<Shape>,
    /// Subschema (by address, before `$ref`) → its index in `all`.
    seen: HashMap<usize, usize>,
}

/// One subschema, as the walk reads it.
struct Shape {
    /// After following `$ref`: what the messages read.
    json: &'static Json,
    /// The definition the `$ref` names.
    def: Option<&'static str>,
    /// `anyOf`: the first branch that is not `null`.
    any_of: AnyOf,
    /// The first of `type`, and whether `null` is one of them (no type: any value).
    first_type: Option<&'static str>,
    nullable: bool,
    properties: Vec<(&'static str, usize)>,
    /// `additionalProperties` unless absent or `false`.
    additional: Option<usize>,
    required: Vec<&'static str>,
    items: usize,
    minimum: Option<i128>,
    maximum: Option<i128>,
}

#[derive(Clone, Copy)]
enum AnyOf {
    /// No `anyOf` here.
    No,
    /// Every branch is `null`: any value goes.
    OnlyNull,
    Branch(Branch),
}

#[derive(Clone, Copy)]
struct Branch {
    shape: usize,
    def: Option<&'static str>,
    /// The first key the branch requires (a `null` value is reported as missing it).
    required_first: Option<&'static str>,
}

impl Compiler {
    fn compile(&mut self, json: &'static Json) -> usize {
        let address = std::ptr::from_ref(json) as usize;
        if let Some(&i) = self.seen.get(&address) {
            return i;
        }
        let (schema, def) = resolve(json);
        let index = self.all.len();
        self.seen.insert(address, index);
        let ts = types(schema);
        let strs = |key: &str| -> Vec<&'static str> {
            schema
                .get(key)
                .and_then(Json::as_array)
                .map(|a| a.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default()
        };
        self.all.push(Shape {
            json: schema,
            def,
            any_of: AnyOf::No,
            first_type: ts.first().copied(),
            nullable: ts.contains(&"null"),
            properties: Vec::new(),
            additional: None,
            required: strs("required"),
            items: 0,
            minimum: schema.get("minimum").and_then(Json::as_i64).map(i128::from),
            maximum: schema.get("maximum").and_then(Json::as_i64).map(i128::from),
        });
        // Children after the push: a definition may hold itself (a fault's checks).
        if let Some(branches) = schema.get("anyOf").and_then(Json::as_array) {
            let branch = branches.iter().find(|b| !types(b).contains(&"null")).map(|inner| {
                let (inner_schema, inner_def) = resolve(inner);
                let required_first = inner_schema
                    .get("required")
                    .and_then(Json::as_array)
                    .and_then(|r| r.first())
                    .map(|r| r.as_str().unwrap_or_default());
                Branch { shape: self.compile(inner), def: inner_def, required_first }
            });
            self.all[index].any_of = branch.map_or(AnyOf::OnlyNull, AnyOf::Branch);
        }
        if let Some(props) = schema.get("properties").and_then(Json::as_object) {
            let compiled = props.iter().map(|(k, v)| (k.as_str(), self.compile(v))).collect();
            self.all[index].properties = compiled;
        }
        if let Some(a) = schema.get("additionalProperties").filter(|a| !matches!(a, Json::Bool(false))) {
            self.all[index].additional = Some(self.compile(a));
        }
        let items = self.compile(schema.get("items").unwrap_or(&ANY));
        self.all[index].items = items;
        index
    }
}

/// Every shape problem of a file, in document order.
pub(crate) fn check(tree: &Node, file: &str, stem: &str) -> Vec<Diagnostic> {
    let mut w = Walker { file, stem, out: Vec::new() };
    if tree.as_map().is_none() {
        let found = if matches!(tree.value, Value::Str(_)) { "plain text".to_string() } else { tree.describe() };
        w.out.push(
            Diagnostic::new(format!("a checkpoint file is a mapping of keys, but this one is {found}"))
                .span(tree.location(file), tree.width().or(Some(1)))
                .label("expected `checkpoint:`, `title:`, `gates:` …")
                .hint(format!(
                    "start the file with `checkpoint: {stem}` and `title: …`, then `gates:`; `checkpoint schema` prints the format"
                )),
        );
        return w.out;
    }
    w.walk(SHAPES.root, tree, &Ctx { what: What::Root, key: None, def: Some("RawCheckpoint") });
    duplicates(tree, file, &mut w.out);
    w.out.sort_by_key(|d| d.location.as_ref().map(|l| (l.line, l.col)));
    w.out
}

/// Where a node sits, for messages.
struct Ctx<'a> {
    /// "the checkpoint", "gate `api-up`", "`http`".
    what: What<'a>,
    /// The key this node is the value of (None for list items and the root).
    key: Option<&'a Node>,
    /// The schema definition the node is checked against, when it is one.
    def: Option<&'a str>,
}

struct Walker<'f> {
    file: &'f str,
    stem: &'f str,
    out: Vec<Diagnostic>,
}

fn defs() -> Option<&'static serde_json::Map<String, Json>> {
    SCHEMA.get("$defs").and_then(Json::as_object)
}

/// Follows a `$ref`, returning the schema and its definition's name.
fn resolve(schema: &Json) -> (&Json, Option<&str>) {
    if let Some(name) = schema.get("$ref").and_then(Json::as_str).and_then(|r| r.strip_prefix("#/$defs/"))
        && let Some((k, s)) = defs().and_then(|d| d.get_key_value(name))
    {
        return (s, Some(k.as_str()));
    }
    (schema, None)
}

fn types(schema: &Json) -> Vec<&str> {
    match schema.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

fn properties(schema: &Json) -> Vec<&str> {
    schema
        .get("properties")
        .and_then(Json::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// How the items of a definition are named in messages.
fn noun(def: &str) -> (&'static str, &'static str) {
    match def {
        "RawGate" => ("a gate", "gates"),
        "RawCheck" => ("a check", "checks"),
        "RawReady" => ("a readiness probe", "readiness probes"),
        _ => ("an entry", "entries"),
    }
}

impl Walker<'_> {
    fn walk(&mut self, at: usize, node: &Node, ctx: &Ctx<'_>) {
        let shape = &SHAPES.all[at];
        let schema = shape.json;
        let def = shape.def.or(ctx.def);
        match shape.any_of {
            AnyOf::No => {}
            AnyOf::OnlyNull => return,
            AnyOf::Branch(inner) => {
                if matches!(node.value, Value::Null) {
                    // `http:` with nothing under it: as if it were an empty mapping,
                    // so the user hears what it needs rather than "no kind".
                    if let Some(req) = inner.required_first {
                        self.missing(node, ctx, inner.def, req);
                    }
                    return;
                }
                self.walk(inner.shape, node, &Ctx { what: ctx.what, key: ctx.key, def: inner.def });
                return;
            }
        }
        let Some(first_type) = shape.first_type else {
            return; // any value
        };
        if shape.nullable && matches!(node.value, Value::Null) {
            return;
        }
        match first_type {
            "object" => match node.value {
                Value::Map(_) => self.object(shape, def, node, ctx),
                _ => self.wrong_type(node, ctx, "a mapping", &Self::mapping_hint(schema, ctx)),
            },
            "array" => {
                let item_def = SHAPES.all[shape.items].def;
                if let Value::Seq(items) = &node.value {
                    for item in items {
                        let what = What::Item(item, item_def);
                        self.walk(shape.items, item, &Ctx { what, key: None, def: item_def });
                    }
                } else {
                    let (expected, hint) = match item_def {
                        Some("RawGate") => (
                            "a list of gates".to_string(),
                            "write each gate as an entry starting with `- id: …` under `gates:`".to_string(),
                        ),
                        Some("RawCheck") => (
                            "a list of checks".to_string(),
                            "write each check as an entry starting with `- name: …`".to_string(),
                        ),
                        _ => ("a list".to_string(), "write `[a, b]`, or one `- item` line per item".to_string()),
                    };
                    self.wrong_type(node, ctx, &expected, &hint);
                }
            }
            "string" => match node.value {
                Value::Null => self.no_value(node, ctx, def),
                Value::Seq(_) | Value::Map(_) => self.wrong_type(
                    node,
                    ctx,
                    "text",
                    "give one value; quote it (`\"…\"`) if it contains `: `, `#` or starts with `{` or `[`",
                ),
                _ => {}
            },
            "integer" => self.integer(shape, node, ctx, def),
            "boolean" => match node.value {
                Value::Null => self.no_value(node, ctx, def),
                Value::Seq(_) | Value::Map(_) => {
                    self.wrong_type(node, ctx, "`true` or `false`", "write `true` or `false`");
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn integer(&mut self, shape: &Shape, node: &Node, ctx: &Ctx<'_>, def: Option<&str>) {
        let n = match &node.value {
            Value::Null => return self.no_value(node, ctx, def),
            Value::Int(i) => Some(*i),
            Value::Str(s) => s.trim().parse::<i128>().ok(),
            _ => None,
        };
        let (min, max) = (shape.minimum, shape.maximum);
        let range = match (min, max) {
            (Some(a), Some(b)) => format!(" between {a} and {b}"),
            (Some(a), None) => format!(" of at least {a}"),
            _ => String::new(),
        };
        let ok = n.is_some_and(|n| min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m));
        if !ok {
            self.wrong_type(node, ctx, &format!("a whole number{range}"), "write a plain number, e.g. `8000`");
        }
    }

    fn object(&mut self, shape: &Shape, def: Option<&str>, node: &Node, ctx: &Ctx<'_>) {
        let Some(map) = node.as_map() else { return };
        // A misspelt required key is reported once, as the misspelling.
        let mut suggested: Vec<&str> = Vec::new();
        for (k, v) in map {
            let name = k.key_str();
            let child = Ctx { what: What::Key(k), key: Some(k), def: None };
            if let Some(&(_, ps)) = shape.properties.iter().find(|(p, _)| *p == name) {
                self.walk(ps, v, &child);
            } else if let Some(a) = shape.additional {
                self.walk(a, v, &child);
            } else {
                if let Some(m) = did_you_mean(&name, properties(shape.json)) {
                    suggested.push(m);
                }
                self.unknown_key(k, &name, shape.json, def, ctx);
            }
        }
        for &req in &shape.required {
            if node.entry(req).is_none() && !suggested.contains(&req) {
                self.missing(node, ctx, def, req);
            }
        }
    }

    fn unknown_key(&mut self, key: &Node, name: &str, schema: &Json, def: Option<&str>, ctx: &Ctx<'_>) {
        let props = properties(schema);
        let elsewhere = defs().and_then(|d| {
            d.iter()
                .filter(|(n, _)| {
                    Some(n.as_str()) != def && matches!(n.as_str(), "RawGate" | "RawCheck" | "RawCheckpoint")
                })
                .find(|(_, s)| properties(s).contains(&name))
                .map(|(n, _)| n.as_str())
        });
        let hint = if let Some(m) = did_you_mean(name, props.iter().copied()) {
            format!("did you mean `{m}`?")
        } else if let Some(other) = elsewhere {
            let owner = if other == "RawCheckpoint" { "the checkpoint (top level)" } else { noun(other).0 };
            format!("`{name}` is a key of {owner}, not of {}: check its indentation", ctx.what)
        } else if def == Some("RawCheck") {
            format!(
                "a check has `name`, one kind ({}), and optionally `expect`, `capture`, `timeout`, `retry`, `service`",
                KINDS.join(", ")
            )
        } else {
            format!("{} takes: {}", ctx.what, props.join(", "))
        };
        self.out.push(
            Diagnostic::new(format!("unknown key `{name}` in {}", ctx.what))
                .span(key.location(self.file), key.width())
                .label("not allowed here")
                .hint(hint),
        );
    }

    /// A required key is absent: point at the key that holds the mapping
    /// (`http:`), or at the mapping's first key (a list item, the file).
    fn missing(&mut self, node: &Node, ctx: &Ctx<'_>, def: Option<&str>, req: &str) {
        let anchor = ctx.key.or_else(|| node.as_map().and_then(|m| m.first()).map(|(k, _)| k)).unwrap_or(node);
        let label = match def {
            Some("RawCheckpoint") => format!("this file has no `{req}`"),
            Some(d @ ("RawGate" | "RawCheck")) => format!("{} without `{req}`", noun(d).0),
            _ => match ctx.key {
                Some(k) => format!("`{}` without `{req}`", k.key_text()),
                None => format!("`{req}` missing"),
            },
        };
        self.out.push(
            Diagnostic::new(format!("missing key `{req}` in {}", ctx.what))
                .span(anchor.location(self.file), anchor.width())
                .label(label)
                .hint(required_hint(def.unwrap_or_default(), req, self.stem)),
        );
    }

    fn no_value(&mut self, node: &Node, ctx: &Ctx<'_>, def: Option<&str>) {
        let anchor = ctx.key.unwrap_or(node);
        let key = ctx.key.map(Node::key_text).unwrap_or_default();
        self.out.push(
            Diagnostic::new(format!("{} has no value", ctx.what))
                .span(anchor.location(self.file), anchor.width())
                .label("empty")
                .hint(if key.is_empty() {
                    "give it a value, or remove the line".to_string()
                } else {
                    required_hint(def.unwrap_or_default(), &key, self.stem)
                }),
        );
    }

    fn wrong_type(&mut self, node: &Node, ctx: &Ctx<'_>, expected: &str, hint: &str) {
        let width = node.width().or(if node.chars == 1 { Some(1) } else { None });
        self.out.push(
            Diagnostic::new(format!("{} must be {expected}, not {}", ctx.what, node.describe()))
                .span(node.location(self.file), width)
                .label(format!("expected {expected}"))
                .hint(hint),
        );
    }

    fn mapping_hint(schema: &Json, ctx: &Ctx<'_>) -> String {
        let (schema, _) = resolve(schema);
        let props = properties(schema);
        if props.is_empty() {
            format!("write `key: value` lines indented under {}, or `{{ key: value }}`", ctx.what)
        } else {
            format!("write `key: value` lines indented under {}; its keys: {}", ctx.what, props.join(", "))
        }
    }
}

/// How a node is named in messages, worded only when a message needs it
/// (the walk passes over thousands of nodes that have nothing to say).
#[derive(Clone, Copy)]
enum What<'a> {
    /// "the checkpoint"
    Root,
    /// "`http`": the value of this key.
    Key(&'a Node),
    /// "gate `api-up`": a list item of this definition.
    Item(&'a Node, Option<&'a str>),
}

impl std::fmt::Display for What<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::Root => f.write_str("the checkpoint"),
            What::Key(k) => write!(f, "`{}`", k.key_str()),
            What::Item(item, def) => f.write_str(&item_name(item, *def)),
        }
    }
}

/// "gate `api-up`", "check `health`", or the plain noun when the item has no id yet.
fn item_name(item: &Node, def: Option<&str>) -> String {
    let named = |key: &str, noun: &str| match item.get(key).map(|n| &n.value) {
        Some(Value::Str(s)) if !s.trim().is_empty() => format!("{noun} `{}`", s.trim()),
        Some(Value::Int(i)) => format!("{noun} `{i}`"),
        _ => format!("a {noun}"),
    };
    match def {
        Some("RawGate") => named("id", "gate"),
        Some("RawCheck") => named("name", "check"),
        Some(d) => noun(d).0.to_string(),
        None => "an entry".to_string(),
    }
}

/// What to write for a required key.
fn required_hint(def: &str, key: &str, stem: &str) -> String {
    match (def, key) {
        ("RawCheckpoint", "checkpoint") => {
            format!("every checkpoint file starts with its id, the file name without `.yaml`: `checkpoint: {stem}`")
        }
        ("RawCheckpoint", "title") => {
            "add `title:` with the plan's wording, e.g. `title: \"Day 1 — backend and database\"`".into()
        }
        ("RawGate", "id") => "every gate needs `id:`, a stable identifier like `db-migrations`".into(),
        ("RawGate", "title") => "add `title:` with the plan's wording for this gate".into(),
        ("RawCheck", "name") => "every check needs `name:`, a short description shown in the reports".into(),
        ("HttpSpec", "url") => "an http check needs `url:`, e.g. `url: \"http://${service.api.8000}/health\"`".into(),
        ("TcpSpec", "address") => "a tcp check needs `address:`, e.g. `address: \"${service.db.5432}\"`".into(),
        ("PostgresSpec", "dsn") => {
            "a postgres check needs `dsn:`, e.g. `dsn: \"postgres://app:${DB_PASSWORD}@${service.db.5432}/app\"`".into()
        }
        ("RedisSpec", "url") => "a redis check needs `url:`, e.g. `url: \"redis://${service.redis.6379}/0\"`".into(),
        ("ExecSpec", "service") => "an exec check needs `service:`, the compose service to run the command in".into(),
        ("ExecSpec", "argv") => "an exec check needs `argv:`, e.g. `argv: [alembic, current]`".into(),
        ("ReachSpec", "from" | "to") => "a reach check needs `from:` and `to:` (compose services) and `port:`".into(),
        ("ReachSpec", "port") => "a reach check needs `port:`, the container port of `to`".into(),
        ("RawFault", "service") => "a fault needs `service:`, the compose service to break".into(),
        ("RawFault", "action") => "a fault needs `action:`: stop, kill, pause or disconnect".into(),
        ("RawRetry", "until") => "`retry` needs `until:`, how long to keep trying, e.g. `retry: { until: 30s }`".into(),
        ("MetricsSpec", "url") => {
            "a metrics check needs `url:`, the Prometheus endpoint, e.g. `url: \"http://${service.api.8000}/metrics\"`"
                .into()
        }
        ("LatencySpec", "url") => {
            "a latency check needs `url:`, the endpoint to measure, e.g. `url: \"http://${service.api.8000}/health\"`"
                .into()
        }
        ("MetricsSpec", "metric") => {
            "a metrics check needs `metric:`, the series name, e.g. `metric: http_requests_total`".into()
        }
        _ => {
            let desc = defs()
                .and_then(|d| d.get(def))
                .and_then(|s| s.get("properties"))
                .and_then(|p| p.get(key))
                .and_then(|p| p.get("description"))
                .and_then(Json::as_str)
                .map(|d| d.lines().next().unwrap_or_default().trim_end_matches('.').to_string());
            match desc {
                Some(d) if !d.is_empty() => format!("add `{key}:` ({})", lowercase_first(&d)),
                _ => format!("add `{key}:`"),
            }
        }
    }
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_lowercase().chain(c).collect())
}

/// A key written twice in one mapping: YAML would silently keep one of them.
fn duplicates(node: &Node, file: &str, out: &mut Vec<Diagnostic>) {
    match &node.value {
        Value::Map(m) => {
            // Mappings are small: compare each key with the ones before it,
            // borrowing string keys (no hashing, no copies: this runs on
            // every mapping of every file).
            // A big mapping (a long `vars:`) gets an index instead.
            let mut index: HashMap<std::borrow::Cow<'_, str>, usize> = HashMap::new();
            for (i, (k, v)) in m.iter().enumerate() {
                let key = k.key_str();
                let earlier = if m.len() <= 32 {
                    m[..i].iter().position(|(e, _)| e.key_str() == key)
                } else {
                    let found = index.get(key.as_ref()).copied();
                    index.entry(key.clone()).or_insert(i);
                    found
                };
                if let Some(j) = earlier {
                    let name = &key;
                    out.push(
                        Diagnostic::new(format!("key `{name}` appears twice in one mapping"))
                            .span(k.location(file), k.width())
                            .label("second time")
                            .hint(format!(
                                "the first `{name}` is on line {}; keep one of them (YAML would silently drop the other)",
                                m[j].0.line
                            )),
                    );
                }
                duplicates(v, file, out);
            }
        }
        Value::Seq(s) => s.iter().for_each(|n| duplicates(n, file, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_walked_is_the_one_generated_from_the_types() {
        let generated = serde_json::to_value(schemars::schema_for!(crate::raw::RawCheckpoint)).unwrap();
        assert!(
            *SCHEMA == generated,
            "checkpoints/checkpoint.schema.json is stale: run `CHECKPOINT_UPDATE_SCHEMA=1 cargo test -p checkpoint-model --test schema_drift`"
        );
    }

    fn problems(text: &str) -> Vec<String> {
        let tree = crate::yaml::parse(text).unwrap();
        check(&tree, "f.yaml", "1").into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn a_valid_file_has_no_shape_problems() {
        let text = "checkpoint: 1\ntitle: t\nvars: { PORT: 8000 }\ngates:\n  - id: a\n    title: A\n    checks:\n      - name: n\n        http: { url: \"http://x\", insecure: true }\n        expect: { status: 200, json: { $.a: { gte: 1 } } }\n        timeout: 5s\n      - name: r\n        reach: { from: api, to: db, port: \"5432\" }\n";
        assert!(problems(text).is_empty(), "{:?}", problems(text));
    }

    #[test]
    fn reports_every_problem_of_a_file() {
        let text = "checkpoint: 1\ntitel: t\ngates:\n  - id: a\n    sevrity: must\n    checks: foo\n  - title: B\n    checks:\n      - name: n\n        http:\n        retry: 3\n";
        let p = problems(text);
        assert_eq!(
            p,
            [
                "unknown key `titel` in the checkpoint",
                "missing key `title` in gate `a`",
                "unknown key `sevrity` in gate `a`",
                "`checks` must be a list of checks, not the text `foo`",
                "missing key `id` in a gate",
                "missing key `url` in `http`",
                "`retry` must be a mapping, not the number `3`",
            ]
        );
    }

    #[test]
    fn whole_numbers_out_of_their_range_are_reported() {
        let text = "checkpoint: 1\ntitle: t\ngates:\n  - id: a\n    title: A\n    checks:\n      - name: r\n        reach: { from: api, to: db, port: 70000 }\n      - name: q\n        postgres: { dsn: x, query: q, repeat: -1 }\n      - name: ok\n        reach: { from: api, to: db, port: 5432 }\n";
        assert_eq!(
            problems(text),
            [
                "`port` must be a whole number between 0 and 65535, not the number `70000`",
                "`repeat` must be a whole number of at least 0, not the number `-1`",
            ]
        );
    }

    #[test]
    fn misplaced_keys_are_explained() {
        let text =
            "checkpoint: 1\ntitle: t\ngates:\n  - id: a\n    title: A\n    expect: { status: 200 }\n    checks: []\n";
        let tree = crate::yaml::parse(text).unwrap();
        let d = check(&tree, "f.yaml", "1");
        assert_eq!(d[0].hint.as_deref(), Some("`expect` is a key of a check, not of gate `a`: check its indentation"));
    }
}

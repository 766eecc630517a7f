//! Two schemas, old and new, compared in one direction.
//!
//! A schema is first flattened into a [`View`]: `$ref`s followed, `allOf`
//! merged, `null` pulled out of `type` lists and out of `anyOf`/`oneOf`
//! (FastAPI writes `Optional[str]` as `anyOf: [{type: string}, {type: null}]`,
//! 3.0's `nullable` was rewritten to `type: [T, "null"]` on load), a single
//! remaining alternative folded in, and the type inferred where it is implied
//! (`properties` → object). Views are then compared keyword by keyword, and
//! recursively through properties, `items`, `additionalProperties`, the
//! alternatives of `anyOf`/`oneOf` and the JSON Schema 2020-12 sub-schemas
//! (`contains`, `prefixItems`, `patternProperties`, `dependentSchemas`,
//! `propertyNames`, `unevaluated*`, `contentSchema`, `then`, `else`; `not`
//! and `if` are compared whole, as a change either way).
//!
//! **Direction**: in a request a change is breaking when it *narrows* what
//! the API accepts (a client's valid request may be refused); in a response
//! when it *widens* what the API may return (a client may get what it cannot
//! read). The same keyword change is therefore breaking on one side and not
//! on the other.
//!
//! **Shared and recursive schemas**: a pair of schemas (by identity: pure
//! `$ref`s followed) is compared once per diff into a [`Node`] — its own
//! changes, named relative to it, and the pairs inside it — because what
//! changed does not depend on where the pair is used, only how it is named.
//! Which pairs lead to a change is computed once over the pair graph
//! (strongly connected components, so cycles are exact). Each body,
//! parameter or header is then walked breadth first through the pairs that
//! lead somewhere, each pair once: a schema met twice in one body, or again
//! through a cycle (`Node.children: [Node]`), is reported where it is met
//! nearest the root. The cost is linear in the pairs however much the
//! contracts reuse schemas; a budget per body guards the rest (a breaking
//! `diff-incomplete` change says when it ran out).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::rc::Rc;

use serde_json::Value;

use super::Emit;
use super::rules::{self, Rule};
use crate::Contract;

/// Which side of the exchange a schema describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Dir {
    Request,
    Response,
}

/// One step from a schema to a value inside it.
#[derive(Clone, Debug)]
pub(crate) enum Seg {
    Prop(String),
    Items,
    Additional,
    /// Into a JSON Schema 2020-12 applicator: `contains`, `prefixItems/0`,
    /// `patternProperties/^x-`, `then`.
    Word(String),
}

/// How changes at a schema are named.
#[derive(Clone, Debug)]
pub(crate) struct Subject {
    /// Before `property …`: `request`, `response 200`, ``parameter `limit` (query)``.
    pub prefix: String,
    /// The schema itself: `request body`, `response 200 body`, ``parameter `limit` (query)``.
    pub root: String,
    /// The location of the schema itself; a pointer into the instance follows.
    pub at: String,
}

/// How many schema pairs one body, parameter or header compares at most.
pub(crate) const BUDGET: usize = 100_000;
/// Most `$ref`/`allOf` hops followed to flatten one schema.
const MAX_ABSORB: usize = 32;

/// A pair of schemas by identity (see [`identity`]).
type Key = (usize, usize);

/// What the walks of one diff share.
#[derive(Debug)]
pub(crate) struct Walks<'a> {
    /// How many pairs each body, parameter or header may compare.
    pub budget: usize,
    pub left: usize,
    /// Whether a walk ran out of budget.
    pub exhausted: bool,
    /// Each pair's node, by direction: a pair's changes do not depend on
    /// where it is met, only how they are named.
    nodes: Map<(Key, Dir), Rc<Node<'a>>>,
    /// Whether a changed pair can be reached from a pair (itself included):
    /// walks only enter pairs that lead somewhere.
    leads: Map<(Key, Dir), bool>,
}

/// A hash map for integer keys (pointers): std's SipHash resists collision
/// attacks these keys cannot mount, and costs most of a large diff's time.
type Map<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fx>>;
type Set<K> = HashSet<K, std::hash::BuildHasherDefault<Fx>>;

/// The multiply-rotate hash of rustc (`FxHasher`), for words.
#[derive(Default)]
struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn finish(&self) -> u64 {
        // Pointers are aligned, so the product's low bits are zero; hashbrown
        // picks buckets with the low bits (rustc-hash 2 rotates for the same reason).
        self.0.rotate_left(26)
    }
}

impl Walks<'_> {
    pub(crate) fn new(budget: usize) -> Self {
        Self { budget, left: budget, exhausted: false, nodes: Map::default(), leads: Map::default() }
    }
}

/// Keywords compared as constraints (and `default`, `readOnly`, `writeOnly`).
const WORDS: &[&str] = &[
    "maxLength",
    "maximum",
    "exclusiveMaximum",
    "maxItems",
    "maxProperties",
    "minLength",
    "minimum",
    "exclusiveMinimum",
    "minItems",
    "minProperties",
    "minContains",
    "maxContains",
    "pattern",
    "format",
    "multipleOf",
    "uniqueItems",
    "default",
    "readOnly",
    "writeOnly",
];
/// Upper bounds: lowering one tightens.
const UPPER: &[&str] = &["maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties", "maxContains"];
/// Lower bounds: raising one tightens.
const LOWER: &[&str] = &["minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties", "minContains"];
/// JSON Schema 2020-12 applicators holding one schema, compared like
/// `items`: added tightens, removed relaxes, both there are walked.
const SUBSCHEMAS: &[&str] =
    &["contains", "propertyNames", "unevaluatedProperties", "unevaluatedItems", "contentSchema", "then", "else"];
/// Applicators whose change can move the accepted values either way
/// (`not` inverts, `if` selects `then` or `else`): any change is a change.
const OPAQUE: &[&str] = &["not", "if"];
/// Applicators holding a schema per name or pattern.
const SCHEMA_MAPS: &[&str] = &["patternProperties", "dependentSchemas"];
/// Every 2020-12 keyword [`View`] keeps for [`Pair::keywords`].
const KEYWORDS: &[&str] = &[
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentSchema",
    "then",
    "else",
    "not",
    "if",
    "patternProperties",
    "dependentSchemas",
    "dependentRequired",
    "prefixItems",
    "contentMediaType",
    "contentEncoding",
];
/// Patterns that match every string (ECMA-262 patterns are not anchored):
/// the same as no pattern.
const MATCH_ALL: &[&str] = &["", ".*", "^.*", "(.*)"];
/// Format changes that only widen the values (old → new).
const WIDER_FORMATS: &[(&str, &str)] = &[("int32", "int64"), ("float", "double")];

static ANY: Value = Value::Bool(true);

/// A schema flattened for comparison.
#[derive(Debug, Default)]
struct View<'a> {
    /// JSON types without `null`; `None` is any type.
    types: Option<BTreeSet<String>>,
    /// Whether `null` is allowed; `None` when any type is (nothing to compare).
    nullable: Option<bool>,
    null_branch: bool,
    enumv: Option<Vec<&'a Value>>,
    props: BTreeMap<String, &'a Value>,
    required: BTreeSet<String>,
    additional: Option<&'a Value>,
    items: Option<&'a Value>,
    /// `anyOf`/`oneOf` with more than one non-null alternative.
    variants: Option<(&'static str, Vec<&'a Value>)>,
    words: BTreeMap<&'static str, &'a Value>,
    /// The 2020-12 keywords of [`KEYWORDS`].
    keywords: BTreeMap<&'static str, &'a Value>,
    /// The members of the schema's own `allOf`: the schema a `$ref` names, or `None` inline.
    all_of: Vec<Option<String>>,
    /// The `$ref`s followed while flattening, so a `$ref` cycle through `allOf` ends.
    ids: Vec<String>,
    never: bool,
}

impl<'a> View<'a> {
    fn of(c: &'a Contract, s: &'a Value) -> Self {
        let mut v = View::default();
        v.absorb(c, s, 0);
        v.finish();
        v
    }

    fn absorb(&mut self, c: &'a Contract, s: &'a Value, depth: usize) {
        if depth > MAX_ABSORB {
            return;
        }
        let m = match s {
            Value::Bool(false) => {
                self.never = true;
                return;
            }
            Value::Object(m) => m,
            _ => return,
        };
        if let Some(Value::String(r)) = m.get("$ref")
            && !self.ids.contains(r)
        {
            self.ids.push(r.clone());
            if let Some(target) = c.get(r) {
                self.absorb(c, target, depth + 1);
            }
        }
        if let Some(t) = m.get("type") {
            let set = type_set(t);
            self.types = Some(match self.types.take() {
                None => set,
                Some(old) => intersect(&old, &set),
            });
        }
        if self.enumv.is_none() {
            if let Some(Value::Array(e)) = m.get("enum") {
                self.enumv = Some(e.iter().collect());
            } else if let Some(k) = m.get("const") {
                self.enumv = Some(vec![k]);
            }
        }
        if let Some(Value::Object(p)) = m.get("properties") {
            for (k, x) in p {
                self.props.entry(k.clone()).or_insert(x);
            }
        }
        if let Some(Value::Array(r)) = m.get("required") {
            self.required.extend(r.iter().filter_map(Value::as_str).map(str::to_string));
        }
        if self.additional.is_none() {
            self.additional = m.get("additionalProperties").filter(|a| a.is_object() || a.is_boolean());
        }
        if self.items.is_none() {
            self.items = m.get("items").filter(|i| i.is_object() || i.is_boolean());
        }
        for w in WORDS {
            if let Some(x) = m.get(*w) {
                self.words.entry(w).or_insert(x);
            }
        }
        for w in KEYWORDS {
            if let Some(x) = m.get(*w) {
                self.keywords.entry(w).or_insert(x);
            }
        }
        if let Some(Value::Array(all)) = m.get("allOf") {
            if depth == 0 || self.all_of.is_empty() {
                // A member of only annotations constrains nothing.
                let constrains = |x: &&Value| match x {
                    Value::Object(m) => m.keys().any(|k| !k.starts_with("x-") && !ANNOTATIONS.contains(&k.as_str())),
                    _ => true,
                };
                self.all_of.extend(all.iter().filter(constrains).map(|x| label(c, x).0));
            }
            for x in all {
                self.absorb(c, x, depth + 1);
            }
        }
        for kind in ["anyOf", "oneOf"] {
            let Some(Value::Array(alternatives)) = m.get(kind) else { continue };
            let mut rest = Vec::new();
            for b in alternatives {
                if is_null(c, b) {
                    self.null_branch = true;
                } else {
                    rest.push(b);
                }
            }
            match rest.as_slice() {
                [] => {}
                [one] => self.absorb(c, one, depth + 1),
                _ if self.variants.is_none() => self.variants = Some((kind, rest)),
                _ => {}
            }
        }
    }

    fn finish(&mut self) {
        if self.never {
            self.types = Some(BTreeSet::new());
        }
        if self.types.is_none() && self.variants.is_none() {
            if !self.props.is_empty() || self.additional.is_some() || !self.required.is_empty() {
                self.types = Some(BTreeSet::from(["object".to_string()]));
            } else if self.items.is_some() || self.keywords.contains_key("prefixItems") {
                self.types = Some(BTreeSet::from(["array".to_string()]));
            } else if let Some(e) = self.enumv.as_ref().filter(|e| !e.is_empty()) {
                self.types = Some(e.iter().map(|v| json_type(v).to_string()).collect());
            }
        }
        if let Some(e) = &mut self.enumv
            && e.iter().any(|v| v.is_null())
        {
            e.retain(|v| !v.is_null());
            self.null_branch = true;
        }
        if self.null_branch
            && let Some(t) = &mut self.types
        {
            t.insert("null".into());
        }
        self.nullable = match &mut self.types {
            Some(t) => Some(t.remove("null")),
            None if self.variants.is_some() => Some(self.null_branch),
            None => None,
        };
    }

    fn flag(&self, word: &str) -> bool {
        self.words.get(word).and_then(|v| v.as_bool()).unwrap_or(false)
    }
}

fn type_set(t: &Value) -> BTreeSet<String> {
    match t {
        Value::String(s) => BTreeSet::from([s.clone()]),
        Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => BTreeSet::new(),
    }
}

/// Types both allow; an integer is a number.
fn intersect(a: &BTreeSet<String>, b: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in a {
        if b.contains(t) {
            out.insert(t.clone());
        } else if (t == "number" && b.contains("integer")) || (t == "integer" && b.contains("number")) {
            out.insert("integer".to_string());
        }
    }
    out
}

fn accepts(set: &BTreeSet<String>, t: &str) -> bool {
    set.contains(t) || (t == "integer" && set.contains("number"))
}

fn allows(types: Option<&BTreeSet<String>>, t: &str) -> bool {
    types.is_none_or(|s| s.contains(t))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `readOnly: true` (or `writeOnly`) on the schema, through `$ref`s and `allOf`.
fn has_flag(c: &Contract, s: &Value, word: &str, depth: usize) -> bool {
    let Value::Object(m) = s else { return false };
    if depth > MAX_ABSORB {
        return false;
    }
    m.get(word) == Some(&Value::Bool(true))
        || m.get("$ref").and_then(Value::as_str).and_then(|r| c.get(r)).is_some_and(|t| has_flag(c, t, word, depth + 1))
        || m.get("allOf").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| has_flag(c, x, word, depth + 1)))
}

/// Keywords that say nothing about the values: a `$ref` beside only these is the schema it names.
const ANNOTATIONS: &[&str] = &["description", "title", "summary", "example", "examples", "$comment", "deprecated"];

/// Which schema `s` is: the object a chain of pure `$ref`s ends at.
fn identity<'a>(c: &'a Contract, mut s: &'a Value) -> usize {
    for _ in 0..MAX_ABSORB {
        let Value::Object(m) = s else { break };
        let Some(Value::String(r)) = m.get("$ref") else { break };
        if m.keys().any(|k| k != "$ref" && !k.starts_with("x-") && !ANNOTATIONS.contains(&k.as_str())) {
            break;
        }
        match c.get(r) {
            Some(target) => s = target,
            None => break,
        }
    }
    std::ptr::from_ref(s) as usize
}

/// `{type: null}` (FastAPI's `Optional`), after `$ref`s.
fn is_null(c: &Contract, s: &Value) -> bool {
    let s = c.resolve(s);
    match s.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(a)) => !a.is_empty() && a.iter().all(|t| t == "null"),
        _ => s.get("enum").and_then(Value::as_array).is_some_and(|e| e.len() == 1 && e[0].is_null()),
    }
}

fn show_types(t: Option<&BTreeSet<String>>) -> String {
    match t {
        None => "any".into(),
        Some(s) if s.is_empty() => "nothing".into(),
        Some(s) => s.iter().map(String::as_str).collect::<Vec<_>>().join(" | "),
    }
}

/// A value as written in a message: strings bare, the rest as JSON.
pub(crate) fn show_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Is a change looser or tighter than before, or neither?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Tighter,
    Looser,
    Different,
}

/// Where the walk is: the last step and the path to it, shared by every
/// pair queued from the same place (`None` is the root).
type Path = Option<Rc<Step>>;

#[derive(Debug)]
struct Step {
    up: Path,
    seg: Seg,
}

fn segments(mut p: Option<&Rc<Step>>) -> Vec<Seg> {
    let mut out = Vec::new();
    while let Some(step) = p {
        out.push(step.seg.clone());
        p = step.up.as_ref();
    }
    out.reverse();
    out
}

/// What a pair of schemas shows wherever it is met: its own changes, named
/// relative to it, and the pairs inside it. Computed once per diff.
#[derive(Debug, Default)]
pub(crate) struct Node<'a> {
    /// (rule, the property it is about — `None` for the schema itself, the
    /// message after the name of what changed).
    changes: Vec<(&'static Rule, Option<Seg>, String)>,
    inside: Vec<(Key, &'a Value, &'a Value, Option<Seg>)>,
    /// Which of `inside` lead to a change, once known.
    leading: std::cell::OnceCell<Vec<usize>>,
}

/// Compares the schemas of one place (a body, a parameter, a header).
pub(crate) struct Cmp<'a, 'o> {
    pub old: &'a Contract,
    pub new: &'a Contract,
    pub dir: Dir,
    pub subject: Subject,
    pub out: &'o mut Vec<Emit>,
    pub walks: &'o mut Walks<'a>,
}

impl<'a, 'o> Cmp<'a, 'o> {
    pub(crate) fn new(
        old: &'a Contract,
        new: &'a Contract,
        dir: Dir,
        subject: Subject,
        out: &'o mut Vec<Emit>,
        walks: &'o mut Walks<'a>,
    ) -> Self {
        walks.left = walks.budget;
        Self { old, new, dir, subject, out, walks }
    }

    /// Compares the schemas at the root of the subject and everything in
    /// them, breadth first: a schema met again is met farther from the root.
    pub(crate) fn root(&mut self, o: &'a Value, n: &'a Value) {
        let key = (identity(self.old, o), identity(self.new, n));
        if !self.leads(key, o, n) {
            return;
        }
        let mut queue: VecDeque<(Key, &'a Value, &'a Value, Path)> = VecDeque::new();
        queue.push_back((key, o, n, None));
        let mut seen: Set<Key> = Set::default();
        while let Some((key, o, n, path)) = queue.pop_front() {
            if !seen.insert(key) {
                continue;
            }
            if self.walks.left == 0 {
                self.walks.exhausted = true;
                return;
            }
            self.walks.left -= 1;
            let node = self.node(key, o, n);
            if !node.changes.is_empty() {
                let segs = segments(path.as_ref());
                for (rule, seg, text) in &node.changes {
                    let mut p = segs.clone();
                    p.extend(seg.clone());
                    let message = format!("{}{text}", self.name(&p));
                    self.out.push(Emit { rule, location: self.location(&p), message });
                }
            }
            // `leads` knows every pair reachable from the root by now.
            let leading = node.leading.get_or_init(|| {
                let leads = |k: &Key| self.walks.leads.get(&(*k, self.dir)) == Some(&true);
                (0..node.inside.len()).filter(|i| leads(&node.inside[*i].0)).collect()
            });
            for (k, co, cn, seg) in leading.iter().map(|i| &node.inside[*i]) {
                if seen.contains(k) {
                    continue;
                }
                let p = match seg {
                    Some(s) => Some(Rc::new(Step { up: path.clone(), seg: s.clone() })),
                    None => path.clone(),
                };
                queue.push_back((*k, co, cn, p));
            }
        }
    }

    /// Whether a changed pair can be reached from this one, for it and every
    /// pair reachable from it: the strongly connected components of the pair
    /// graph (Tarjan's algorithm, without recursion), each changed when one
    /// of its pairs changed or leads to a changed component.
    fn leads(&mut self, root: Key, o: &'a Value, n: &'a Value) -> bool {
        let dir = self.dir;
        if let Some(known) = self.walks.leads.get(&(root, dir)) {
            return *known;
        }
        struct Frame<'a> {
            key: Key,
            node: Rc<Node<'a>>,
            next: usize,
        }
        // Per pair of this search: (order of discovery, lowest order reachable, leads).
        let mut marks: Map<Key, (usize, usize, bool)> = Map::default();
        let mut stack: Vec<Key> = Vec::new();
        let mut on_stack: Set<Key> = Set::default();
        let node = self.node(root, o, n);
        marks.insert(root, (0, 0, !node.changes.is_empty()));
        stack.push(root);
        on_stack.insert(root);
        let mut frames = vec![Frame { key: root, node, next: 0 }];
        while let Some(f) = frames.last_mut() {
            if let Some(&(ck, co, cn, _)) = f.node.inside.get(f.next) {
                f.next += 1;
                let at = f.key;
                if let Some(&known) = self.walks.leads.get(&(ck, dir)) {
                    marks.entry(at).and_modify(|m| m.2 |= known);
                } else if let Some(&(order, _, _)) = marks.get(&ck) {
                    if on_stack.contains(&ck) {
                        marks.entry(at).and_modify(|m| m.1 = m.1.min(order));
                    }
                } else {
                    let node = self.node(ck, co, cn);
                    let order = marks.len();
                    marks.insert(ck, (order, order, !node.changes.is_empty()));
                    stack.push(ck);
                    on_stack.insert(ck);
                    frames.push(Frame { key: ck, node, next: 0 });
                }
                continue;
            }
            let done = frames.pop().map_or(root, |f| f.key);
            let (order, low, leads) = marks[&done];
            if order == low {
                // `done` roots a component: its pairs are everything above it on the stack.
                let mut members = Vec::new();
                let mut any = false;
                while let Some(m) = stack.pop() {
                    on_stack.remove(&m);
                    any |= marks[&m].2;
                    members.push(m);
                    if m == done {
                        break;
                    }
                }
                for m in members {
                    self.walks.leads.insert((m, dir), any);
                }
            }
            if let Some(parent) = frames.last() {
                let child_leads = self.walks.leads.get(&(done, dir)).copied().unwrap_or(leads);
                marks.entry(parent.key).and_modify(|m| {
                    m.1 = m.1.min(low);
                    m.2 |= child_leads;
                });
            }
        }
        self.walks.leads.get(&(root, dir)).copied().unwrap_or(false)
    }

    /// The pair's node, computed the first time the diff meets the pair.
    fn node(&mut self, key: Key, o: &'a Value, n: &'a Value) -> Rc<Node<'a>> {
        if let Some(node) = self.walks.nodes.get(&(key, self.dir)) {
            return Rc::clone(node);
        }
        let mut node = Node::default();
        Pair { old: self.old, new: self.new, dir: self.dir, node: &mut node }.compare(o, n);
        let node = Rc::new(node);
        self.walks.nodes.insert((key, self.dir), Rc::clone(&node));
        node
    }

    /// `response 200 property a.b`, or the root's name.
    fn name(&self, path: &[Seg]) -> String {
        if !path.iter().any(|s| matches!(s, Seg::Prop(_))) {
            let mut name = self.subject.root.clone();
            for s in path {
                match s {
                    Seg::Word(w) => name.push_str(&format!(" ({w})")),
                    Seg::Items => name.push_str(" items"),
                    _ => {}
                }
            }
            return name;
        }
        let mut dotted = String::new();
        for s in path {
            match s {
                Seg::Prop(p) => {
                    if !dotted.is_empty() {
                        dotted.push('.');
                    }
                    dotted.push_str(p);
                }
                Seg::Items => dotted.push_str("[]"),
                Seg::Additional => dotted.push_str(if dotted.is_empty() { "*" } else { ".*" }),
                Seg::Word(w) => {
                    dotted.push_str(if dotted.is_empty() { "" } else { " " });
                    dotted.push_str(&format!("({w})"));
                }
            }
        }
        format!("{} property `{dotted}`", self.subject.prefix)
    }

    /// `response 200 body /a/b[]`.
    fn location(&self, path: &[Seg]) -> String {
        if path.is_empty() {
            return self.subject.at.clone();
        }
        let mut p = String::new();
        for s in path {
            match s {
                Seg::Prop(x) => {
                    p.push('/');
                    p.push_str(&crate::pointer::escape(x));
                }
                Seg::Items => p.push_str("[]"),
                Seg::Additional => p.push_str("/*"),
                Seg::Word(w) => {
                    p.push_str("/$");
                    p.push_str(w);
                }
            }
        }
        format!("{} {p}", self.subject.at)
    }
}

/// Comparing one pair of schemas into its [`Node`].
struct Pair<'a, 'n> {
    old: &'a Contract,
    new: &'a Contract,
    dir: Dir,
    node: &'n mut Node<'a>,
}

impl<'a> Pair<'a, '_> {
    /// A change of the schema (`seg: None`) or of one of its properties; the
    /// text follows the name of what changed.
    fn emit(&mut self, rule: &'static Rule, seg: Option<Seg>, text: String) {
        self.node.changes.push((rule, seg, text));
    }

    /// A pair inside this one, compared when the walk gets there.
    fn then(&mut self, o: &'a Value, n: &'a Value, seg: Option<Seg>) {
        let key = (identity(self.old, o), identity(self.new, n));
        self.node.inside.push((key, o, n, seg));
    }

    /// The rule for a change by its effect, in this direction.
    fn effect(&mut self, e: Effect, detail: &str) {
        let rule = match (self.dir, e) {
            (Dir::Request, Effect::Tighter) => &rules::REQUEST_CONSTRAINT_TIGHTENED,
            (Dir::Request, Effect::Looser) => &rules::REQUEST_CONSTRAINT_RELAXED,
            (Dir::Request, Effect::Different) => &rules::REQUEST_CONSTRAINT_CHANGED,
            (Dir::Response, Effect::Tighter) => &rules::RESPONSE_CONSTRAINT_TIGHTENED,
            (Dir::Response, Effect::Looser) => &rules::RESPONSE_CONSTRAINT_RELAXED,
            (Dir::Response, Effect::Different) => &rules::RESPONSE_CONSTRAINT_CHANGED,
        };
        self.emit(rule, None, format!(": {detail}"));
    }

    fn compare(&mut self, o: &'a Value, n: &'a Value) {
        let ov = View::of(self.old, o);
        let nv = View::of(self.new, n);
        if ov.variants.is_some() || nv.variants.is_some() {
            self.variants(&ov, o, &nv, n);
            self.nullable(&ov, &nv);
            return;
        }
        self.types(&ov, &nv);
        self.nullable(&ov, &nv);
        self.enums(&ov, &nv);
        self.constraints(&ov, &nv);
        self.keywords(&ov, &nv);
        self.all_of(&ov, &nv);
        // Properties under another type (`type: array` with `required`) are
        // still compared while the type stays: validators apply them.
        let declares = |v: &View<'_>| !v.props.is_empty() || !v.required.is_empty();
        let same_type = ov.types == nv.types && (declares(&ov) || declares(&nv));
        if (allows(ov.types.as_ref(), "object") && allows(nv.types.as_ref(), "object")) || same_type {
            self.object(&ov, &nv);
        }
        if allows(ov.types.as_ref(), "array")
            && allows(nv.types.as_ref(), "array")
            && (ov.items.is_some() || nv.items.is_some())
        {
            self.then(ov.items.unwrap_or(&ANY), nv.items.unwrap_or(&ANY), Some(Seg::Items));
        }
    }

    fn types(&mut self, ov: &View<'_>, nv: &View<'_>) {
        let (o, n) = (ov.types.as_ref(), nv.types.as_ref());
        // Types the old side had that the new does not accept, and the reverse.
        let lost = match (o, n) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(o), Some(n)) => o.iter().any(|t| !accepts(n, t)),
        };
        let gained = match (o, n) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(o), Some(n)) => n.iter().any(|t| !accepts(o, t)),
        };
        if !lost && !gained {
            return;
        }
        let rule = match self.dir {
            Dir::Request if lost => &rules::REQUEST_TYPE_NARROWED,
            Dir::Request => &rules::REQUEST_TYPE_WIDENED,
            Dir::Response if gained => &rules::RESPONSE_TYPE_CHANGED,
            Dir::Response => &rules::RESPONSE_TYPE_NARROWED,
        };
        self.emit(rule, None, format!(" type changed from {} to {}", show_types(o), show_types(n)));
    }

    fn nullable(&mut self, ov: &View<'_>, nv: &View<'_>) {
        let (Some(o), Some(n)) = (ov.nullable, nv.nullable) else { return };
        if o == n {
            return;
        }
        let (rule, text) = match (self.dir, o) {
            (Dir::Request, true) => (&rules::REQUEST_NULLABLE_REMOVED, " no longer accepts null"),
            (Dir::Request, false) => (&rules::REQUEST_NULLABLE_ADDED, " now accepts null"),
            (Dir::Response, false) => (&rules::RESPONSE_NULLABLE_ADDED, " may now be null"),
            (Dir::Response, true) => (&rules::RESPONSE_NULLABLE_REMOVED, " is no longer null"),
        };
        self.emit(rule, None, text.to_string());
    }

    fn enums(&mut self, ov: &View<'_>, nv: &View<'_>) {
        let list = |e: &[&Value]| e.iter().map(|v| format!("`{}`", show_value(v))).collect::<Vec<_>>().join(", ");
        match (&ov.enumv, &nv.enumv) {
            (Some(o), Some(n)) => {
                for v in o.iter().filter(|v| !n.contains(v)) {
                    let rule = match self.dir {
                        Dir::Request => &rules::REQUEST_ENUM_VALUE_REMOVED,
                        Dir::Response => &rules::RESPONSE_ENUM_VALUE_REMOVED,
                    };
                    self.emit(rule, None, format!(": enum value `{}` removed", show_value(v)));
                }
                for v in n.iter().filter(|v| !o.contains(v)) {
                    let rule = match self.dir {
                        Dir::Request => &rules::REQUEST_ENUM_VALUE_ADDED,
                        Dir::Response => &rules::RESPONSE_ENUM_VALUE_ADDED,
                    };
                    self.emit(rule, None, format!(": enum value `{}` added", show_value(v)));
                }
            }
            (None, Some(n)) => self.effect(Effect::Tighter, &format!("enum added (only {})", list(n))),
            (Some(o), None) => self.effect(Effect::Looser, &format!("enum removed (was {})", list(o))),
            (None, None) => {}
        }
    }

    fn constraints(&mut self, ov: &View<'_>, nv: &View<'_>) {
        fn num<'v>(v: &View<'v>, w: &str) -> Option<(f64, &'v Value)> {
            v.words.get(w).and_then(|x| x.as_f64().map(|f| (f, *x)))
        }
        for w in UPPER.iter().chain(LOWER) {
            let upper = UPPER.contains(w);
            match (num(ov, w), num(nv, w)) {
                (None, Some((_, n))) => self.effect(Effect::Tighter, &format!("{w} {n} added")),
                (Some((_, o)), None) => self.effect(Effect::Looser, &format!("{w} {o} removed")),
                (Some((of, o)), Some((nf, n))) if of != nf => {
                    let (e, how) = match (upper, nf < of) {
                        (true, true) => (Effect::Tighter, "lowered"),
                        (true, false) => (Effect::Looser, "raised"),
                        (false, true) => (Effect::Looser, "lowered"),
                        (false, false) => (Effect::Tighter, "raised"),
                    };
                    self.effect(e, &format!("{w} {how} from {o} to {n}"));
                }
                _ => {}
            }
        }
        let text = |v: &View<'_>, w: &str| v.words.get(w).and_then(|x| x.as_str()).map(str::to_string);
        let pattern = |v: &View<'_>| text(v, "pattern").filter(|p| !MATCH_ALL.contains(&p.as_str()));
        // A response pattern dropped or replaced troubles only clients that validate it.
        let relaxed = |this: &mut Self, e: Effect, detail: String| match this.dir {
            Dir::Response => this.emit(&rules::RESPONSE_PATTERN_RELAXED, None, format!(": {detail}")),
            Dir::Request => this.effect(e, &detail),
        };
        match (pattern(ov), pattern(nv)) {
            (None, Some(n)) => self.effect(Effect::Tighter, &format!("pattern `{n}` added")),
            (Some(o), None) => relaxed(self, Effect::Looser, format!("pattern `{o}` removed")),
            (Some(o), Some(n)) if o != n => {
                relaxed(self, Effect::Different, format!("pattern changed from `{o}` to `{n}`"));
            }
            _ => {}
        }
        match (text(ov, "format"), text(nv, "format")) {
            (None, Some(n)) => self.effect(Effect::Tighter, &format!("format `{n}` added")),
            (Some(o), None) => self.effect(Effect::Looser, &format!("format `{o}` removed")),
            (Some(o), Some(n)) if o != n => {
                let e = if WIDER_FORMATS.contains(&(o.as_str(), n.as_str())) {
                    Effect::Looser
                } else if WIDER_FORMATS.contains(&(n.as_str(), o.as_str())) {
                    Effect::Tighter
                } else {
                    Effect::Different
                };
                self.effect(e, &format!("format changed from `{o}` to `{n}`"));
            }
            _ => {}
        }
        match (num(ov, "multipleOf"), num(nv, "multipleOf")) {
            (None, Some((_, n))) => self.effect(Effect::Tighter, &format!("multipleOf {n} added")),
            (Some((_, o)), None) => self.effect(Effect::Looser, &format!("multipleOf {o} removed")),
            (Some((of, o)), Some((nf, n))) if of != nf && of != 0.0 && nf != 0.0 => {
                let e = if (nf / of).fract() == 0.0 {
                    Effect::Tighter
                } else if (of / nf).fract() == 0.0 {
                    Effect::Looser
                } else {
                    Effect::Different
                };
                self.effect(e, &format!("multipleOf changed from {o} to {n}"));
            }
            _ => {}
        }
        match (ov.flag("uniqueItems"), nv.flag("uniqueItems")) {
            (false, true) => self.effect(Effect::Tighter, "uniqueItems added"),
            (true, false) => self.effect(Effect::Looser, "uniqueItems removed"),
            _ => {}
        }
        if self.dir == Dir::Request {
            let (o, n) = (ov.words.get("default"), nv.words.get("default"));
            let detail = match (o, n) {
                (Some(o), Some(n)) if o != n => {
                    Some(format!("default changed from `{}` to `{}`", show_value(o), show_value(n)))
                }
                (None, Some(n)) => Some(format!("default `{}` added", show_value(n))),
                (Some(o), None) => Some(format!("default `{}` removed", show_value(o))),
                _ => None,
            };
            if let Some(d) = detail {
                self.emit(&rules::REQUEST_DEFAULT_CHANGED, None, format!(": {d}"));
            }
        }
    }

    /// `allOf` members added or removed. Their properties are merged and
    /// compared like any others; a member added is also a constraint added
    /// (every value must now satisfy it too), one removed a constraint removed.
    /// In responses the merged properties say all there is to say.
    fn all_of(&mut self, ov: &View<'a>, nv: &View<'a>) {
        if self.dir == Dir::Response || (ov.all_of.is_empty() && nv.all_of.is_empty()) {
            return;
        }
        let named = |v: &View<'_>| v.all_of.iter().flatten().cloned().collect::<BTreeSet<String>>();
        let inline = |v: &View<'_>| v.all_of.iter().filter(|x| x.is_none()).count();
        let (on, nn) = (named(ov), named(nv));
        for x in nn.difference(&on) {
            self.effect(Effect::Tighter, &format!("allOf member `{x}` added"));
        }
        for x in on.difference(&nn) {
            self.effect(Effect::Looser, &format!("allOf member `{x}` removed"));
        }
        let (oi, ni) = (inline(ov), inline(nv));
        if ni > oi {
            self.effect(Effect::Tighter, &format!("{} inline allOf member(s) added", ni - oi));
        } else if oi > ni {
            self.effect(Effect::Looser, &format!("{} inline allOf member(s) removed", oi - ni));
        }
    }

    /// The JSON Schema 2020-12 keywords (OpenAPI 3.1), in the style of the
    /// others: a keyword added constrains more, removed constrains less, and
    /// the schemas inside are walked in the same direction.
    fn keywords(&mut self, ov: &View<'a>, nv: &View<'a>) {
        let (ok, nk) = (&ov.keywords, &nv.keywords);
        for w in SUBSCHEMAS {
            match (ok.get(w), nk.get(w)) {
                (None, Some(_)) => self.effect(Effect::Tighter, &format!("`{w}` added")),
                (Some(_), None) => self.effect(Effect::Looser, &format!("`{w}` removed")),
                (Some(o), Some(n)) => self.then(o, n, Some(Seg::Word((*w).to_string()))),
                (None, None) => {}
            }
        }
        for w in OPAQUE {
            match (ok.get(w), nk.get(w)) {
                (None, Some(_)) => self.effect(Effect::Different, &format!("`{w}` added")),
                (Some(_), None) => self.effect(Effect::Different, &format!("`{w}` removed")),
                (Some(o), Some(n)) if !same(self.old, o, self.new, n, 0) => {
                    self.effect(Effect::Different, &format!("`{w}` schema changed"));
                }
                _ => {}
            }
        }
        for w in SCHEMA_MAPS {
            let (om, nm) = (object_of(ok.get(w)), object_of(nk.get(w)));
            for (k, o) in om {
                match nm.get(k) {
                    None => self.effect(Effect::Looser, &format!("`{w}` `{k}` removed")),
                    Some(n) => self.then(o, n, Some(Seg::Word(format!("{w}/{k}")))),
                }
            }
            for k in nm.keys().filter(|k| !om.contains_key(*k)) {
                self.effect(Effect::Tighter, &format!("`{w}` `{k}` added"));
            }
        }
        let (od, nd) = (object_of(ok.get("dependentRequired")), object_of(nk.get("dependentRequired")));
        let names = |v: Option<&Value>| -> BTreeSet<String> {
            v.and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default()
        };
        for k in od.keys().chain(nd.keys().filter(|k| !od.contains_key(*k))) {
            let (o, n) = (names(od.get(k)), names(nd.get(k)));
            for x in n.difference(&o) {
                self.effect(Effect::Tighter, &format!("`dependentRequired`: `{x}` now required with `{k}`"));
            }
            for x in o.difference(&n) {
                self.effect(Effect::Looser, &format!("`dependentRequired`: `{x}` no longer required with `{k}`"));
            }
        }
        // `prefixItems` position by position; past its end `items` applies.
        let (op, np) =
            (ok.get("prefixItems").and_then(|v| v.as_array()), nk.get("prefixItems").and_then(|v| v.as_array()));
        if op.is_some() || np.is_some() {
            let at = |p: Option<&'a Vec<Value>>, items: Option<&'a Value>, i: usize| -> &'a Value {
                p.and_then(|p| p.get(i)).or(items).unwrap_or(&ANY)
            };
            let len = op.map_or(0, Vec::len).max(np.map_or(0, Vec::len));
            for i in 0..len {
                self.then(at(op, ov.items, i), at(np, nv.items, i), Some(Seg::Word(format!("prefixItems/{i}"))));
            }
        }
        for w in ["contentMediaType", "contentEncoding"] {
            let show = |v: Option<&&Value>| v.map_or_else(|| "none".to_string(), |v| format!("`{}`", show_value(v)));
            if ok.get(w) != nk.get(w) {
                self.effect(
                    Effect::Different,
                    &format!("`{w}` changed from {} to {}", show(ok.get(w)), show(nk.get(w))),
                );
            }
        }
    }

    fn object(&mut self, ov: &View<'a>, nv: &View<'a>) {
        // A read-only property is never sent, a write-only one never returned.
        let hidden = match self.dir {
            Dir::Request => "readOnly",
            Dir::Response => "writeOnly",
        };
        let visible = |c: &'a Contract, v: &View<'a>| -> BTreeMap<String, &'a Value> {
            v.props.iter().filter(|(_, s)| !has_flag(c, s, hidden, 0)).map(|(k, s)| (k.clone(), *s)).collect()
        };
        let op = visible(self.old, ov);
        let np = visible(self.new, nv);
        let names: BTreeSet<&String> = op.keys().chain(np.keys()).collect();
        for name in names {
            let seg = || Some(Seg::Prop(name.clone()));
            let (o_req, n_req) = (ov.required.contains(name), nv.required.contains(name));
            match (op.get(name), np.get(name)) {
                (Some(_), None) => {
                    let why = match (nv.props.contains_key(name), self.dir) {
                        (false, _) => "",
                        (true, Dir::Request) => " (now read-only)",
                        (true, Dir::Response) => " (now write-only)",
                    };
                    let rule = match self.dir {
                        Dir::Request => &rules::REQUEST_PROPERTY_REMOVED,
                        Dir::Response if o_req => &rules::RESPONSE_PROPERTY_REMOVED,
                        Dir::Response => &rules::RESPONSE_OPTIONAL_PROPERTY_REMOVED,
                    };
                    self.emit(rule, seg(), format!(" removed{why}"));
                }
                (None, Some(_)) => {
                    let (rule, text) = match self.dir {
                        Dir::Request if n_req => (&rules::REQUEST_REQUIRED_PROPERTY_ADDED, " added (required)"),
                        Dir::Request => (&rules::REQUEST_PROPERTY_ADDED, " added"),
                        Dir::Response => (&rules::RESPONSE_PROPERTY_ADDED, " added"),
                    };
                    self.emit(rule, seg(), text.to_string());
                }
                (Some(o), Some(n)) => {
                    let change = match (self.dir, o_req, n_req) {
                        (Dir::Request, false, true) => Some((&rules::REQUEST_PROPERTY_BECAME_REQUIRED, "required")),
                        (Dir::Request, true, false) => Some((&rules::REQUEST_PROPERTY_BECAME_OPTIONAL, "optional")),
                        (Dir::Response, true, false) => Some((&rules::RESPONSE_PROPERTY_BECAME_OPTIONAL, "optional")),
                        (Dir::Response, false, true) => Some((&rules::RESPONSE_PROPERTY_BECAME_REQUIRED, "required")),
                        _ => None,
                    };
                    if let Some((rule, now)) = change {
                        self.emit(rule, seg(), format!(" became {now}"));
                    }
                    self.then(o, n, seg());
                }
                (None, None) => {}
            }
        }
        if self.dir == Dir::Request {
            // Read-only on both sides: not a request property, but a client
            // that sends back what it read (GET, then PUT the same object)
            // sends it, so its values are still compared.
            for (name, o) in ov.props.iter().filter(|(k, _)| !op.contains_key(*k)) {
                if let (Some(n), false) = (nv.props.get(name), np.contains_key(name)) {
                    self.then(o, n, Some(Seg::Prop(name.clone())));
                }
            }
        }
        let closed = |a: Option<&Value>| matches!(a, Some(Value::Bool(false)));
        let change = match (closed(ov.additional), closed(nv.additional), self.dir) {
            (false, true, Dir::Request) => {
                Some((&rules::REQUEST_CONSTRAINT_TIGHTENED, ": additional properties no longer accepted"))
            }
            (true, false, Dir::Request) => {
                Some((&rules::REQUEST_CONSTRAINT_RELAXED, ": additional properties now accepted"))
            }
            (false, true, Dir::Response) => {
                Some((&rules::RESPONSE_CONSTRAINT_TIGHTENED, ": no longer has undeclared properties"))
            }
            (true, false, Dir::Response) => {
                Some((&rules::RESPONSE_ADDITIONAL_PROPERTIES_ALLOWED, ": may now have undeclared properties"))
            }
            (false, false, _)
                if ov.additional.is_some_and(Value::is_object) || nv.additional.is_some_and(Value::is_object) =>
            {
                self.then(ov.additional.unwrap_or(&ANY), nv.additional.unwrap_or(&ANY), Some(Seg::Additional));
                None
            }
            _ => None,
        };
        if let Some((rule, text)) = change {
            self.emit(rule, None, text.to_string());
        }
    }

    /// `anyOf`/`oneOf` on either side: alternatives matched by the schema
    /// they name (`$ref`), then by type; a plain schema is one alternative.
    fn variants(&mut self, ov: &View<'a>, o: &'a Value, nv: &View<'a>, n: &'a Value) {
        let (o_kind, ob) = ov.variants.clone().unwrap_or(("", vec![o]));
        let (n_kind, nb) = nv.variants.clone().unwrap_or(("", vec![n]));
        let kind = if n_kind.is_empty() { o_kind } else { n_kind };
        if self.dir == Dir::Request && n_kind == "oneOf" && o_kind != "oneOf" && overlap(self.new, &nb) {
            // A value valid against two alternatives of a `oneOf` is invalid.
            self.effect(Effect::Tighter, "now oneOf: a value that matches more than one alternative is refused");
        }
        let ol: Vec<(Option<String>, String)> = ob.iter().map(|b| label(self.old, b)).collect();
        let nl: Vec<(Option<String>, String)> = nb.iter().map(|b| label(self.new, b)).collect();
        let mut used = vec![false; nb.len()];
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        let mut unmatched = Vec::new();
        for (i, (oref, _)) in ol.iter().enumerate() {
            let hit = oref.as_ref().and_then(|r| (0..nb.len()).find(|j| !used[*j] && nl[*j].0.as_ref() == Some(r)));
            match hit {
                Some(j) => {
                    used[j] = true;
                    pairs.push((i, j));
                }
                None => unmatched.push(i),
            }
        }
        // Then by type, unless both are named: `Fish` replaced by `Bird` is
        // one alternative gone and another new, not a changed fish.
        let mut removed = Vec::new();
        for i in unmatched {
            let both_named = |j: usize| ol[i].0.is_some() && nl[j].0.is_some();
            match (0..nb.len()).find(|j| !used[*j] && !both_named(*j) && nl[*j].1 == ol[i].1) {
                Some(j) => {
                    used[j] = true;
                    pairs.push((i, j));
                }
                None => removed.push(i),
            }
        }
        let word = |l: &(Option<String>, String)| l.0.clone().unwrap_or_else(|| l.1.clone());
        for i in removed {
            let rule = match self.dir {
                Dir::Request => &rules::REQUEST_VARIANT_REMOVED,
                Dir::Response => &rules::RESPONSE_VARIANT_REMOVED,
            };
            self.emit(rule, None, format!(": {kind} alternative `{}` removed", word(&ol[i])));
        }
        for j in (0..nb.len()).filter(|j| !used[*j]) {
            let rule = match self.dir {
                Dir::Request => &rules::REQUEST_VARIANT_ADDED,
                Dir::Response if kind == "anyOf" => &rules::RESPONSE_ANY_OF_VARIANT_ADDED,
                Dir::Response => &rules::RESPONSE_VARIANT_ADDED,
            };
            self.emit(rule, None, format!(": {kind} alternative `{}` added", word(&nl[j])));
        }
        pairs.sort_unstable();
        for (i, j) in pairs {
            self.then(ob[i], nb[j], None);
        }
    }
}

/// The object a keyword holds (empty when absent or not an object).
fn object_of<'v>(v: Option<&&'v Value>) -> &'v serde_json::Map<String, Value> {
    static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> = std::sync::OnceLock::new();
    match v.copied() {
        Some(Value::Object(m)) => m,
        _ => EMPTY.get_or_init(serde_json::Map::new),
    }
}

/// Whether two schemas say the same, `$ref`s followed (in each its own contract).
fn same(oc: &Contract, o: &Value, nc: &Contract, n: &Value, depth: usize) -> bool {
    if depth > MAX_ABSORB {
        return true;
    }
    let (o, n) = (oc.resolve(o), nc.resolve(n));
    match (o, n) {
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, x)| b.get(k).is_some_and(|y| same(oc, x, nc, y, depth + 1)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(oc, x, nc, y, depth + 1))
        }
        _ => o == n,
    }
}

/// Whether two alternatives may accept the same value: their types overlap
/// (any type overlaps every type).
fn overlap(c: &Contract, alternatives: &[&Value]) -> bool {
    let types: Vec<Option<BTreeSet<String>>> = alternatives.iter().map(|b| View::of(c, b).types).collect();
    types.iter().enumerate().any(|(i, a)| {
        types[i + 1..].iter().any(|b| match (a, b) {
            (Some(a), Some(b)) => !intersect(a, b).is_empty(),
            _ => true,
        })
    })
}

/// An alternative's name: the schema its `$ref` names, and its types.
fn label(c: &Contract, b: &Value) -> (Option<String>, String) {
    let r = b.get("$ref").and_then(Value::as_str).map(|r| {
        let last = r.rsplit('/').next().unwrap_or(r);
        crate::pointer::unescape(last)
    });
    (r, show_types(View::of(c, b).types.as_ref()))
}

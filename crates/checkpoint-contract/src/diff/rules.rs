//! Every rule the differ applies: a stable id, whether a change under it
//! breaks clients, and what it means. `docs/contract.md` has the same table
//! with examples; a test keeps the two in step, and the diff corpus has a
//! case for every rule.

/// How likely a change under a rule breaks a client of the old contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Nothing a client of the old contract relies on changes.
    NonBreaking,
    /// Breaks clients that rely on something the contract did not promise
    /// firmly (that an extra parameter has an effect, a response pattern):
    /// `--fail-on may-break` fails on these too.
    MayBreak,
    /// A client of the old contract can fail.
    Breaking,
}

impl Level {
    /// `breaking`, `may-break`, `non-breaking`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Breaking => "breaking",
            Level::MayBreak => "may-break",
            Level::NonBreaking => "non-breaking",
        }
    }
}

/// One kind of change.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable, for filters and dashboards: `response-property-removed`.
    pub id: &'static str,
    /// Whether a client built against the old contract can break (`level` is `Breaking`).
    pub breaking: bool,
    /// Breaking, may break, or not.
    pub level: Level,
    /// One line: what the rule detects.
    pub what: &'static str,
}

macro_rules! rules {
    ($($name:ident = $id:literal, $level:ident, $what:literal;)*) => {
        $(pub const $name: Rule = Rule {
            id: $id,
            breaking: matches!(Level::$level, Level::Breaking),
            level: Level::$level,
            what: $what,
        };)*
        /// Every rule, in the order the documentation lists them.
        pub const RULES: &[&Rule] = &[$(&$name),*];
    };
}

rules! {
    PATH_REMOVED = "path-removed", Breaking, "a path (with every operation on it) is gone";
    PATH_ADDED = "path-added", NonBreaking, "a new path";
    OPERATION_REMOVED = "operation-removed", Breaking, "a method on a path that remains is gone";
    OPERATION_ADDED = "operation-added", NonBreaking, "a new method on an existing path";
    OPERATION_ID_CHANGED = "operation-id-changed", NonBreaking, "the operationId changed (generated client method names change; the wire does not)";
    OPERATION_DEPRECATED = "operation-deprecated", NonBreaking, "the operation is now marked deprecated";

    PARAMETER_REMOVED = "parameter-removed", MayBreak, "a parameter is no longer declared: clients that send it lose its effect (servers mostly ignore what they do not declare)";
    REQUIRED_PARAMETER_ADDED = "required-parameter-added", Breaking, "a new parameter that must be sent";
    PARAMETER_ADDED = "parameter-added", NonBreaking, "a new optional parameter";
    PARAMETER_BECAME_REQUIRED = "parameter-became-required", Breaking, "an optional parameter is now required";
    PARAMETER_BECAME_OPTIONAL = "parameter-became-optional", NonBreaking, "a required parameter is now optional";
    PARAMETER_DEFAULT_CHANGED = "parameter-default-changed", Breaking, "the default of a parameter changed: a client that omits it gets other behaviour";
    PARAMETER_TYPE_GENERALIZED = "parameter-type-generalized", NonBreaking, "a query, header, path or cookie parameter that took one value now takes a list (one value is a list of one on the wire)";
    PARAMETER_STYLE_CHANGED = "parameter-style-changed", Breaking, "a parameter is serialized differently (`style`, `explode`)";

    REQUEST_BODY_REMOVED = "request-body-removed", Breaking, "the operation no longer takes a request body";
    REQUEST_BODY_BECAME_REQUIRED = "request-body-became-required", Breaking, "a request body is now required (or a required one was added)";
    REQUEST_BODY_ADDED = "request-body-added", NonBreaking, "an optional request body was added";
    REQUEST_BODY_BECAME_OPTIONAL = "request-body-became-optional", NonBreaking, "the request body is now optional";
    REQUEST_MEDIA_TYPE_REMOVED = "request-media-type-removed", Breaking, "a request content type is no longer accepted";
    REQUEST_MEDIA_TYPE_ADDED = "request-media-type-added", NonBreaking, "a request content type is now also accepted";

    REQUEST_PROPERTY_REMOVED = "request-property-removed", MayBreak, "a request property is no longer declared (or became read-only): clients that send it lose its effect";
    REQUEST_REQUIRED_PROPERTY_ADDED = "request-required-property-added", Breaking, "a new request property that must be sent";
    REQUEST_PROPERTY_ADDED = "request-property-added", NonBreaking, "a new optional request property";
    REQUEST_PROPERTY_BECAME_REQUIRED = "request-property-became-required", Breaking, "an optional request property is now required";
    REQUEST_PROPERTY_BECAME_OPTIONAL = "request-property-became-optional", NonBreaking, "a required request property is now optional";
    REQUEST_TYPE_NARROWED = "request-type-narrowed", Breaking, "a request value no longer accepts a type it accepted";
    REQUEST_TYPE_WIDENED = "request-type-widened", NonBreaking, "a request value accepts more types";
    REQUEST_NULLABLE_REMOVED = "request-nullable-removed", Breaking, "a request value no longer accepts null";
    REQUEST_NULLABLE_ADDED = "request-nullable-added", NonBreaking, "a request value now accepts null";
    REQUEST_ENUM_VALUE_REMOVED = "request-enum-value-removed", Breaking, "a value the API accepted is no longer in the enum";
    REQUEST_ENUM_VALUE_ADDED = "request-enum-value-added", NonBreaking, "the API accepts a new enum value";
    REQUEST_CONSTRAINT_TIGHTENED = "request-constraint-tightened", Breaking, "a request value is constrained more: maxLength/maximum/maxItems lowered, minLength/minimum/minItems raised, pattern/format/enum/multipleOf/uniqueItems added, additional properties forbidden";
    REQUEST_CONSTRAINT_RELAXED = "request-constraint-relaxed", NonBreaking, "a request value is constrained less";
    REQUEST_CONSTRAINT_CHANGED = "request-constraint-changed", Breaking, "a request constraint changed to one neither looser nor tighter (another pattern, format or multipleOf)";
    REQUEST_VARIANT_REMOVED = "request-variant-removed", Breaking, "a oneOf/anyOf alternative the API accepted is gone";
    REQUEST_VARIANT_ADDED = "request-variant-added", NonBreaking, "the API accepts a new oneOf/anyOf alternative";
    NON_JSON_TYPE_CHANGED = "non-json-type-changed", MayBreak, "the JSON type of a body that is not JSON (XML, form) changed: its schema does not fix the wire format, so the effect depends on the server's mapping";
    REQUEST_DEFAULT_CHANGED = "request-default-changed", NonBreaking, "the default of a request value changed (clients that omit it get other behaviour)";

    RESPONSE_STATUS_REMOVED = "response-status-removed", Breaking, "a response status (or `2XX` range, or `default`) is no longer documented";
    RESPONSE_STATUS_ADDED = "response-status-added", NonBreaking, "a new response status";
    RESPONSE_MEDIA_TYPE_REMOVED = "response-media-type-removed", Breaking, "a response content type is no longer returned";
    RESPONSE_MEDIA_TYPE_RENAMED = "response-media-type-renamed", MayBreak, "a response content type is replaced by one of the same syntax (`application/json` → `application/problem+json`): the body reads the same, clients that check the name may not";
    RESPONSE_MEDIA_TYPE_ADDED = "response-media-type-added", NonBreaking, "a new response content type";
    RESPONSE_HEADER_REMOVED = "response-header-removed", Breaking, "a response header is no longer returned";
    RESPONSE_HEADER_BECAME_OPTIONAL = "response-header-became-optional", Breaking, "a required response header is now optional";
    RESPONSE_HEADER_ADDED = "response-header-added", NonBreaking, "a new response header";

    RESPONSE_PROPERTY_REMOVED = "response-property-removed", Breaking, "a response property that was always there is gone (or became write-only)";
    RESPONSE_OPTIONAL_PROPERTY_REMOVED = "response-optional-property-removed", MayBreak, "a response property that could be missing is gone: clients had to cope with its absence, those that use it when present lose it";
    RESPONSE_PROPERTY_BECAME_OPTIONAL = "response-property-became-optional", Breaking, "a response property that was always there may now be missing";
    RESPONSE_PROPERTY_ADDED = "response-property-added", NonBreaking, "a new response property";
    RESPONSE_PROPERTY_BECAME_REQUIRED = "response-property-became-required", NonBreaking, "a response property is now always there";
    RESPONSE_TYPE_CHANGED = "response-type-changed", Breaking, "a response value may have a type it did not have";
    RESPONSE_TYPE_NARROWED = "response-type-narrowed", NonBreaking, "a response value has fewer possible types";
    RESPONSE_NULLABLE_ADDED = "response-nullable-added", Breaking, "a response value may now be null";
    RESPONSE_NULLABLE_REMOVED = "response-nullable-removed", NonBreaking, "a response value is no longer null";
    RESPONSE_ENUM_VALUE_ADDED = "response-enum-value-added", Breaking, "the API may return a new enum value";
    RESPONSE_ENUM_VALUE_REMOVED = "response-enum-value-removed", NonBreaking, "the API no longer returns an enum value";
    RESPONSE_CONSTRAINT_RELAXED = "response-constraint-relaxed", Breaking, "a response value is constrained less: longer, larger, more items, pattern/format/enum dropped";
    RESPONSE_CONSTRAINT_TIGHTENED = "response-constraint-tightened", NonBreaking, "a response value is constrained more";
    RESPONSE_PATTERN_RELAXED = "response-pattern-relaxed", MayBreak, "a response value's `pattern` was dropped or replaced: clients that validate it may refuse values, others read them as before";
    RESPONSE_CONSTRAINT_CHANGED = "response-constraint-changed", Breaking, "a response constraint changed to one neither looser nor tighter (another pattern, format or multipleOf)";
    RESPONSE_VARIANT_ADDED = "response-variant-added", Breaking, "the API may return a new oneOf alternative (or type): clients that dispatch on the alternatives they know meet one they do not";
    RESPONSE_ANY_OF_VARIANT_ADDED = "response-any-of-variant-added", MayBreak, "the API may return a new anyOf alternative: a value may now match it instead of one a client knows, or as well";
    RESPONSE_VARIANT_REMOVED = "response-variant-removed", NonBreaking, "a oneOf/anyOf alternative is no longer returned";
    RESPONSE_ADDITIONAL_PROPERTIES_ALLOWED = "response-additional-properties-allowed", NonBreaking, "a response object may have properties it does not declare (like adding properties)";

    WEBHOOK_REMOVED = "webhook-removed", Breaking, "a webhook the API called is gone: subscribers no longer receive it";
    WEBHOOK_ADDED = "webhook-added", NonBreaking, "a new webhook";

    SECURITY_ADDED = "security-added", Breaking, "an operation that needed no credentials now needs some";
    SECURITY_REMOVED = "security-removed", NonBreaking, "an operation no longer needs credentials";
    SECURITY_SCOPE_ADDED = "security-scope-added", Breaking, "a security requirement needs another scope";
    SECURITY_SCOPE_REMOVED = "security-scope-removed", NonBreaking, "a security requirement needs fewer scopes";
    SECURITY_REQUIREMENT_REMOVED = "security-requirement-removed", Breaking, "credentials that were accepted no longer are";
    SECURITY_REQUIREMENT_ADDED = "security-requirement-added", NonBreaking, "other credentials are now also accepted";
    SECURITY_SCHEME_CHANGED = "security-scheme-changed", Breaking, "a security scheme sends credentials differently (type, `in`, name, HTTP scheme)";

    DIFF_INCOMPLETE = "diff-incomplete", Breaking, "a body, parameter or header is too large to compare completely: what was not compared cannot be vouched for";
}

/// The rule with this id.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut ids: Vec<&str> = super::RULES.iter().map(|r| r.id).collect();
        assert!(ids.iter().all(|i| i.chars().all(|c| c.is_ascii_lowercase() || c == '-')), "{ids:?}");
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate rule ids");
    }
}

//! Every rule the differ applies: a stable id, whether a change under it
//! breaks clients, and what it means. `docs/contract.md` has the same table
//! with examples; a test keeps the two in step, and the diff corpus has a
//! case for every rule.

/// One kind of change.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable, for filters and dashboards: `response-property-removed`.
    pub id: &'static str,
    /// Whether a client built against the old contract can break.
    pub breaking: bool,
    /// One line: what the rule detects.
    pub what: &'static str,
}

macro_rules! rules {
    ($($name:ident = $id:literal, $breaking:literal, $what:literal;)*) => {
        $(pub const $name: Rule = Rule { id: $id, breaking: $breaking, what: $what };)*
        /// Every rule, in the order the documentation lists them.
        pub const RULES: &[&Rule] = &[$(&$name),*];
    };
}

rules! {
    PATH_REMOVED = "path-removed", true, "a path (with every operation on it) is gone";
    PATH_ADDED = "path-added", false, "a new path";
    OPERATION_REMOVED = "operation-removed", true, "a method on a path that remains is gone";
    OPERATION_ADDED = "operation-added", false, "a new method on an existing path";
    OPERATION_ID_CHANGED = "operation-id-changed", false, "the operationId changed (generated client method names change; the wire does not)";
    OPERATION_DEPRECATED = "operation-deprecated", false, "the operation is now marked deprecated";

    PARAMETER_REMOVED = "parameter-removed", true, "a parameter is no longer declared: clients that send it lose its effect";
    REQUIRED_PARAMETER_ADDED = "required-parameter-added", true, "a new parameter that must be sent";
    PARAMETER_ADDED = "parameter-added", false, "a new optional parameter";
    PARAMETER_BECAME_REQUIRED = "parameter-became-required", true, "an optional parameter is now required";
    PARAMETER_BECAME_OPTIONAL = "parameter-became-optional", false, "a required parameter is now optional";
    PARAMETER_STYLE_CHANGED = "parameter-style-changed", true, "a parameter is serialized differently (`style`, `explode`)";

    REQUEST_BODY_REMOVED = "request-body-removed", true, "the operation no longer takes a request body";
    REQUEST_BODY_BECAME_REQUIRED = "request-body-became-required", true, "a request body is now required (or a required one was added)";
    REQUEST_BODY_ADDED = "request-body-added", false, "an optional request body was added";
    REQUEST_BODY_BECAME_OPTIONAL = "request-body-became-optional", false, "the request body is now optional";
    REQUEST_MEDIA_TYPE_REMOVED = "request-media-type-removed", true, "a request content type is no longer accepted";
    REQUEST_MEDIA_TYPE_ADDED = "request-media-type-added", false, "a request content type is now also accepted";

    REQUEST_PROPERTY_REMOVED = "request-property-removed", true, "a request property is no longer declared (or became read-only)";
    REQUEST_REQUIRED_PROPERTY_ADDED = "request-required-property-added", true, "a new request property that must be sent";
    REQUEST_PROPERTY_ADDED = "request-property-added", false, "a new optional request property";
    REQUEST_PROPERTY_BECAME_REQUIRED = "request-property-became-required", true, "an optional request property is now required";
    REQUEST_PROPERTY_BECAME_OPTIONAL = "request-property-became-optional", false, "a required request property is now optional";
    REQUEST_TYPE_NARROWED = "request-type-narrowed", true, "a request value no longer accepts a type it accepted";
    REQUEST_TYPE_WIDENED = "request-type-widened", false, "a request value accepts more types";
    REQUEST_NULLABLE_REMOVED = "request-nullable-removed", true, "a request value no longer accepts null";
    REQUEST_NULLABLE_ADDED = "request-nullable-added", false, "a request value now accepts null";
    REQUEST_ENUM_VALUE_REMOVED = "request-enum-value-removed", true, "a value the API accepted is no longer in the enum";
    REQUEST_ENUM_VALUE_ADDED = "request-enum-value-added", false, "the API accepts a new enum value";
    REQUEST_CONSTRAINT_TIGHTENED = "request-constraint-tightened", true, "a request value is constrained more: maxLength/maximum/maxItems lowered, minLength/minimum/minItems raised, pattern/format/enum/multipleOf/uniqueItems added, additional properties forbidden";
    REQUEST_CONSTRAINT_RELAXED = "request-constraint-relaxed", false, "a request value is constrained less";
    REQUEST_CONSTRAINT_CHANGED = "request-constraint-changed", true, "a request constraint changed to one neither looser nor tighter (another pattern, format or multipleOf)";
    REQUEST_VARIANT_REMOVED = "request-variant-removed", true, "a oneOf/anyOf alternative the API accepted is gone";
    REQUEST_VARIANT_ADDED = "request-variant-added", false, "the API accepts a new oneOf/anyOf alternative";
    REQUEST_DEFAULT_CHANGED = "request-default-changed", false, "the default of a request value changed (clients that omit it get other behaviour)";

    RESPONSE_STATUS_REMOVED = "response-status-removed", true, "a response status (or `2XX` range, or `default`) is no longer documented";
    RESPONSE_STATUS_ADDED = "response-status-added", false, "a new response status";
    RESPONSE_MEDIA_TYPE_REMOVED = "response-media-type-removed", true, "a response content type is no longer returned";
    RESPONSE_MEDIA_TYPE_ADDED = "response-media-type-added", false, "a new response content type";
    RESPONSE_HEADER_REMOVED = "response-header-removed", true, "a response header is no longer returned";
    RESPONSE_HEADER_BECAME_OPTIONAL = "response-header-became-optional", true, "a required response header is now optional";
    RESPONSE_HEADER_ADDED = "response-header-added", false, "a new response header";

    RESPONSE_PROPERTY_REMOVED = "response-property-removed", true, "a response property is gone (or became write-only)";
    RESPONSE_PROPERTY_BECAME_OPTIONAL = "response-property-became-optional", true, "a response property that was always there may now be missing";
    RESPONSE_PROPERTY_ADDED = "response-property-added", false, "a new response property";
    RESPONSE_PROPERTY_BECAME_REQUIRED = "response-property-became-required", false, "a response property is now always there";
    RESPONSE_TYPE_CHANGED = "response-type-changed", true, "a response value may have a type it did not have";
    RESPONSE_TYPE_NARROWED = "response-type-narrowed", false, "a response value has fewer possible types";
    RESPONSE_NULLABLE_ADDED = "response-nullable-added", true, "a response value may now be null";
    RESPONSE_NULLABLE_REMOVED = "response-nullable-removed", false, "a response value is no longer null";
    RESPONSE_ENUM_VALUE_ADDED = "response-enum-value-added", true, "the API may return a new enum value";
    RESPONSE_ENUM_VALUE_REMOVED = "response-enum-value-removed", false, "the API no longer returns an enum value";
    RESPONSE_CONSTRAINT_RELAXED = "response-constraint-relaxed", true, "a response value is constrained less: longer, larger, more items, pattern/format/enum dropped";
    RESPONSE_CONSTRAINT_TIGHTENED = "response-constraint-tightened", false, "a response value is constrained more";
    RESPONSE_CONSTRAINT_CHANGED = "response-constraint-changed", true, "a response constraint changed to one neither looser nor tighter (another pattern, format or multipleOf)";
    RESPONSE_VARIANT_ADDED = "response-variant-added", true, "the API may return a new oneOf/anyOf alternative";
    RESPONSE_VARIANT_REMOVED = "response-variant-removed", false, "a oneOf/anyOf alternative is no longer returned";
    RESPONSE_ADDITIONAL_PROPERTIES_ALLOWED = "response-additional-properties-allowed", false, "a response object may have properties it does not declare (like adding properties)";

    SECURITY_ADDED = "security-added", true, "an operation that needed no credentials now needs some";
    SECURITY_REMOVED = "security-removed", false, "an operation no longer needs credentials";
    SECURITY_SCOPE_ADDED = "security-scope-added", true, "a security requirement needs another scope";
    SECURITY_SCOPE_REMOVED = "security-scope-removed", false, "a security requirement needs fewer scopes";
    SECURITY_REQUIREMENT_REMOVED = "security-requirement-removed", true, "credentials that were accepted no longer are";
    SECURITY_REQUIREMENT_ADDED = "security-requirement-added", false, "other credentials are now also accepted";
    SECURITY_SCHEME_CHANGED = "security-scheme-changed", true, "a security scheme sends credentials differently (type, `in`, name, HTTP scheme)";

    DIFF_INCOMPLETE = "diff-incomplete", true, "a body, parameter or header is too large to compare completely: what was not compared cannot be vouched for";
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

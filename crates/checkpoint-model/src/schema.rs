//! The JSON Schema of the checkpoint file format, generated from the raw
//! types so it cannot drift from what the loader accepts. Committed as
//! `checkpoints/checkpoint.schema.json` (editors: `# yaml-language-server:
//! $schema=./checkpoint.schema.json`); a test fails when the committed copy is stale.

/// The committed schema, as `checkpoint schema` prints it and the shape
/// pass walks it. The binary carries this text, not the generator: the
/// `schema_drift` test keeps it equal to [`json_schema`] byte for byte.
pub const COMMITTED: &str = include_str!("../../../checkpoints/checkpoint.schema.json");

/// The schema generated from the types, as pretty JSON with a trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(crate::raw::RawCheckpoint);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

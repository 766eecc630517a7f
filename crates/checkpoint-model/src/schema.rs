//! The JSON Schema of the checkpoint file format, generated from the raw
//! types so it cannot drift from what the loader accepts. Committed as
//! `checkpoints/checkpoint.schema.json` (editors: `# yaml-language-server:
//! $schema=./checkpoint.schema.json`); a test fails when the committed copy is stale.

/// The schema as pretty JSON with a trailing newline.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(crate::raw::RawCheckpoint);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

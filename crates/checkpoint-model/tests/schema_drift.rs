//! The committed JSON Schema must match the one generated from the types.
//! `checkpoint schema` prints the committed copy, so regenerate it with
//! `CHECKPOINT_UPDATE_SCHEMA=1 cargo test -p checkpoint-model --test schema_drift`.

#[test]
fn committed_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../checkpoints/checkpoint.schema.json");
    let generated = checkpoint_model::schema::json_schema();
    if std::env::var_os("CHECKPOINT_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "checkpoints/checkpoint.schema.json is stale: run `CHECKPOINT_UPDATE_SCHEMA=1 cargo test -p checkpoint-model --test schema_drift` and commit it"
    );
}

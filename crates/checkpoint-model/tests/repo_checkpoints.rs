//! The checkpoints shipped in `checkpoints/` (the demo's) always load cleanly.

use checkpoint_model::load::{LoadOptions, load_checkpoints};

#[test]
fn shipped_checkpoints_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../checkpoints");
    let opts = LoadOptions { dir, ..LoadOptions::default() };
    match load_checkpoints(&opts, &[]) {
        Ok(l) => {
            let ids: Vec<&str> = l.checkpoints.iter().map(|c| c.id.as_str()).collect();
            assert!(ids.starts_with(&["0", "1"]), "{ids:?}");
            let one = l.checkpoints.iter().find(|c| c.id == "1").unwrap();
            // Checkpoint 1 re-checks checkpoint 0's gates first.
            assert_eq!(one.gates[0].id, "stack-running");
            assert!(one.vars.contains_key("DB_DSN"), "inherits checkpoint 0's vars");
        }
        Err(d) => panic!("{}", d.render(false)),
    }
}

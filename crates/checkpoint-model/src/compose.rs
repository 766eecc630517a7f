//! Just enough of a compose file to validate a checkpoint against it: the
//! service names. The stack itself is driven by the real compose tool.

use std::path::Path;

/// Service names of a compose file, in file order.
pub fn service_names(path: &Path) -> Result<Vec<String>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read compose file {}: {e}", path.display()))?;
    let doc: serde_json::Value = serde_saphyr::from_str(&text)
        .map_err(|e| format!("{} is not valid YAML: {}", path.display(), e.without_snippet()))?;
    let services = doc
        .get("services")
        .and_then(|s| s.as_object())
        .ok_or_else(|| format!("{} has no `services:` mapping", path.display()))?;
    Ok(services.keys().cloned().collect())
}

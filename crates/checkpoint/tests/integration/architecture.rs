//! `ARCHITECTURE.md` stays true: every crate it names exists, every module a
//! crate's row lists exists in that crate, and every `crate::module::item`
//! path it names resolves to a module file (and the item appears in it),
//! and every file or folder it names from the workspace root exists; the
//! hot crates the release profile lists are still built.
//! Renaming or removing one without updating the document fails here.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn doc() -> String {
    std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md at the workspace root")
}

/// Every `checkpoint-<name>` word of the text.
fn crate_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("checkpoint-") {
        let tail = &rest[i + "checkpoint-".len()..];
        let end = tail.find(|c: char| !(c.is_ascii_lowercase() || c == '-')).unwrap_or(tail.len());
        let name = tail[..end].trim_end_matches('-');
        if !name.is_empty() {
            out.push(format!("checkpoint-{name}"));
        }
        rest = &tail[end..];
    }
    out.sort();
    out.dedup();
    out
}

/// Words between backticks.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// The file of module `path` (components after `src/`) in `krate`, if any.
fn module_file(krate: &Path, path: &[&str]) -> Option<PathBuf> {
    let src = krate.join("src");
    let base = path.iter().fold(src.clone(), |p, c| p.join(c));
    [base.with_extension("rs"), base.join("mod.rs")].into_iter().find(|p| p.is_file())
}

#[test]
fn every_crate_named_exists() {
    let text = doc();
    let mut names = crate_names(&text);
    // The binary's crate is the row named just `checkpoint`.
    if text.lines().any(|l| l.starts_with("| `checkpoint` |")) {
        names.push("checkpoint".into());
    }
    assert!(names.len() >= 8, "expected the crates to be named, found {names:?}");
    let missing: Vec<_> =
        names.iter().filter(|n| !root().join("crates").join(n).join("Cargo.toml").is_file()).collect();
    assert!(missing.is_empty(), "ARCHITECTURE.md names crates that do not exist: {missing:?}");
    // And the other way round: every crate of the workspace is described.
    let mut undocumented = Vec::new();
    for e in std::fs::read_dir(root().join("crates")).expect("crates/") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        if !names.contains(&name) {
            undocumented.push(name);
        }
    }
    assert!(undocumented.is_empty(), "crates missing from ARCHITECTURE.md: {undocumented:?}");
}

#[test]
fn every_module_a_crate_row_lists_exists() {
    let text = doc();
    let mut checked = 0;
    let mut missing = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("| `checkpoint")) {
        let cells: Vec<&str> = line.split('|').collect();
        let krate = cells[1].trim().trim_matches('`');
        let dir = root().join("crates").join(krate);
        // Modules are the code spans in parentheses: `(`load`, `plan`)`.
        for part in cells[2].split('(').skip(1) {
            let inside = part.split(')').next().unwrap_or("");
            for span in code_spans(&format!("x{inside}")) {
                let path: Vec<&str> = span.split("::").collect();
                if !path.iter().all(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_')) {
                    continue; // a type or a flag, not a module
                }
                checked += 1;
                if module_file(&dir, &path).is_none() {
                    missing.push(format!("{krate}: {span}"));
                }
            }
        }
    }
    assert!(checked >= 20, "expected the crate rows to list their modules, checked {checked}");
    assert!(missing.is_empty(), "ARCHITECTURE.md lists modules that do not exist: {missing:?}");
}

#[test]
fn every_module_path_resolves() {
    let text = doc();
    let short = [
        ("model", "checkpoint-model"),
        ("runner", "checkpoint-runner"),
        ("stack", "checkpoint-stack"),
        ("report", "checkpoint-report"),
        ("contract", "checkpoint-contract"),
        ("checkpoint_contract", "checkpoint-contract"),
        ("kinds", "checkpoint-runner"),
    ];
    let mut checked = 0;
    let mut missing = Vec::new();
    for span in code_spans(&text) {
        let parts: Vec<&str> = span.split("::").collect();
        let Some((_, krate)) = short.iter().find(|(s, _)| parts.len() > 1 && *s == parts[0]) else { continue };
        let dir = root().join("crates").join(krate);
        // `kinds::http::Client` is runner's `kinds` module, named from inside the crate.
        let from = usize::from(parts[0] != "kinds");
        let mut module: Vec<&str> = Vec::new();
        let mut file = dir.join("src/lib.rs");
        for c in parts.iter().skip(from) {
            let mut next = module.clone();
            next.push(c);
            if let Some(f) = module_file(&dir, &next) {
                module = next;
                file = f;
                continue;
            }
            // Not a module: the item must be named in the last module found.
            let source = std::fs::read_to_string(&file).unwrap_or_default();
            if !source.contains(c) {
                missing.push(format!("{span} (no `{c}` in {})", file.display()));
            }
            break;
        }
        checked += 1;
    }
    assert!(checked >= 8, "expected module paths in ARCHITECTURE.md, checked {checked}");
    assert!(missing.is_empty(), "ARCHITECTURE.md names paths that do not resolve: {missing:?}");
}

#[test]
fn every_file_it_names_from_the_root_exists() {
    let text = doc();
    let roots = ["crates/", "scripts/", "fixtures/", "docs/", "checkpoints/", ".github/", ".ci/"];
    let mut checked = 0;
    let mut missing = Vec::new();
    for span in code_spans(&text) {
        // `file.rs::item` names the file; `<kind>` is a placeholder, not a file.
        let path = span.split("::").next().unwrap_or(span);
        if !roots.iter().any(|r| path.starts_with(r)) || path.contains('<') || path.contains(' ') {
            continue;
        }
        checked += 1;
        if !root().join(path).exists() {
            missing.push(path.to_string());
        }
    }
    assert!(checked >= 5, "expected file paths in ARCHITECTURE.md, checked {checked}");
    assert!(missing.is_empty(), "ARCHITECTURE.md names files that do not exist: {missing:?}");
}

/// The crates `[profile.release.package]` keeps at `opt-level = 3` (the hot
/// path, see "The release binary is optimised for size where no time is
/// spent"): each must still be in the build. A renamed or dropped crate only
/// draws a cargo warning, and its successor would silently be built at `z`.
#[test]
fn every_hot_crate_of_the_release_profile_is_in_the_lock_file() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let locked: std::collections::BTreeSet<&str> =
        lock.lines().filter_map(|l| l.strip_prefix("name = \"")?.strip_suffix('"')).collect();
    let section = manifest
        .split("\n[profile.release.package]\n")
        .nth(1)
        .expect("Cargo.toml has a [profile.release.package] section");
    let hot: Vec<&str> = section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
        .filter(|k| !k.starts_with('#'))
        .collect();
    assert!(hot.len() >= 20, "expected the hot crates, found {hot:?}");
    let gone: Vec<&&str> = hot.iter().filter(|k| !locked.contains(**k)).collect();
    assert!(gone.is_empty(), "[profile.release.package] names crates no longer built: {gone:?}");
}

//! A large checkpoint file (tens of KiB) is read with its shape pass and its
//! typed read on two threads, and its tree freed on a third: the plan and the
//! diagnostics must be what a small file of the same checks gives.

use checkpoint_model::load::{LoadOptions, load_checkpoints};

/// A checkpoint of `gates` gates of ten checks each; check `(g, c)` may be
/// written differently by `edit`.
fn file(gates: usize, edit: impl Fn(usize, usize, String) -> String) -> String {
    let mut y = String::from("checkpoint: 1\ntitle: Large\ngates:\n");
    for g in 0..gates {
        y.push_str(&format!("  - id: g{g}\n    title: Gate {g}\n    checks:\n"));
        for c in 0..10 {
            let check = format!(
                "      - name: c{c}\n        http: {{ url: \"http://127.0.0.1:8080/health/{g}/{c}\" }}\n        expect: {{ status: 200, json: {{ $.status: ok }} }}\n"
            );
            y.push_str(&edit(g, c, check));
        }
    }
    y
}

fn load(text: &str) -> Result<checkpoint_model::load::Loaded, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("checkpoints")).unwrap();
    std::fs::write(dir.path().join("checkpoints/1.yaml"), text).unwrap();
    let opts = LoadOptions { dir: dir.path().join("checkpoints"), ..LoadOptions::default() };
    load_checkpoints(&opts, &[]).map_err(|d| d.render(false).replace(&format!("{}/", dir.path().display()), ""))
}

#[test]
fn a_large_file_gives_the_plan_a_small_one_does() {
    let text = file(100, |_, _, c| c);
    assert!(text.len() > 64 * 1024, "large enough for the threads: {} bytes", text.len());
    let loaded = load(&text).unwrap_or_else(|e| panic!("{e}"));
    let cp = &loaded.checkpoints[0];
    assert_eq!(cp.gates.len(), 100);
    assert!(cp.gates.iter().all(|g| g.checks.len() == 10));
    let last = &cp.gates[99].checks[9];
    assert_eq!((last.name.as_str(), last.location.line), ("c9", 3 + 99 * 33 + 3 + 9 * 3 + 1));
    // The same gate in a small file reads the same, its place aside.
    let small = load(&file(1, |_, _, c| c).replace("/health/0/", "/health/99/").replace("id: g0", "id: g99"))
        .unwrap_or_else(|e| panic!("{e}"));
    let same = &small.checkpoints[0].gates[0].checks[9];
    let read = |c: &checkpoint_model::plan::Check| {
        let expect: Vec<String> = c
            .expect
            .iter()
            .map(|e| format!("{} {:?} {:?} col {}", e.field, e.key, e.matcher, e.location.col))
            .collect();
        format!("{:?} {expect:?} {:?} {:?}", c.spec, c.timeout, c.retry)
    };
    assert_eq!(read(same), read(last), "a check does not depend on the size of its file");
}

#[test]
fn a_large_file_names_every_shape_problem_at_its_line() {
    let text = file(100, |g, c, check| match (g, c) {
        (3, 4) => check.replace("expect:", "exepct:"),
        (97, 9) => check.replace("http:", "htp:"),
        _ => check,
    });
    let rendered = load(&text).map(|_| "loaded").unwrap_err();
    // Gate g: 3 lines + 10 checks of 3 lines, after 3 lines of header.
    let line = |g: usize, c: usize, k: usize| 3 + g * 33 + 3 + c * 3 + k + 1;
    assert!(rendered.contains(&format!("1.yaml:{}:9", line(3, 4, 2))), "{rendered}");
    assert!(rendered.contains("exepct"), "{rendered}");
    assert!(rendered.contains(&format!("1.yaml:{}:9", line(97, 9, 1))), "{rendered}");
    assert!(rendered.contains("htp"), "{rendered}");
}

/// A large file's validation problems (not its shape's): a gate id written
/// twice far apart, a `needs` entry and a `${…}` deep in the file, each named
/// at its line and column, in the file's order.
#[test]
fn a_large_file_names_every_validation_problem_in_order() {
    let mut text = file(100, |g, c, check| match (g, c) {
        (90, 2) => check.replace("/health/90/2", "/health/${NOPE}"),
        _ => check,
    });
    text = text
        .replace("  - id: g3\n    title: Gate 3\n", "  - id: g3\n    title: \"\"\n")
        .replace("  - id: g70\n    title: Gate 70\n", "  - id: g3\n    title: \"\"\n")
        .replace("  - id: g80\n    title: Gate 80\n", "  - id: g80\n    title: Gate 80\n    needs: [nope]\n");
    let rendered = load(&text).map(|_| "loaded").unwrap_err();
    let at = |what: &str| rendered.find(what).unwrap_or_else(|| panic!("no {what:?} in:\n{rendered}"));
    let first_title = at("gate `g3` has an empty title");
    let second_title = first_title + 1 + rendered[first_title + 1..].find("gate `g3` has an empty title").unwrap();
    let twice = at("gate id `g3` is used twice");
    let needs = at("gate `g80` needs `nope`");
    let nope = at("undefined variable `${NOPE}`");
    assert!(
        first_title < twice && twice < second_title && second_title < needs && needs < nope,
        "in the file's order:\n{rendered}"
    );
    // Gate g starts at line 4 + 33 g (one more line after g80's `needs`).
    assert!(rendered.contains(&format!("1.yaml:{}:9", 4 + 70 * 33)), "the second `g3`:\n{rendered}");
    assert!(rendered.contains(&format!("1.yaml:{}:13", 4 + 80 * 33 + 2)), "the `needs` entry:\n{rendered}");
    assert!(
        rendered.contains(&format!("1.yaml:{}:", 4 + 90 * 33 + 1 + 3 + 2 * 3 + 1)) && rendered.contains("NOPE"),
        "the `${{NOPE}}`:\n{rendered}"
    );
    assert!(rendered.contains("5 problems found"), "{rendered}");
}

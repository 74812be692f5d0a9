//! The layers of src/: the command line (`lib.rs`, `main.rs`, `cli.rs`) on top, the jobs (one per command) under
//! it, shared mechanisms below. No job reaches into another job: a job uses mechanisms (YAML, Helm releases, locks,
//! pinning, images, secrets, product data, findings, output, the cluster, ...), and what two jobs share is a
//! mechanism. No mechanism reaches up into a job. This reads every `crate::<module>` path of src/ (in `use` lines,
//! groups `crate::{a, b}` included, and inline) and names each path that goes the wrong way.

use crate::common;
use std::collections::BTreeSet;
use std::path::Path;

/// The job modules: the top-level modules that run a command (src/NAME.rs or src/NAME/).
const JOBS: &[&str] = &[
    "diff",
    "flux", // lock flux
    "install",
    "lint", // also `opsta-lint rules`
    "lock",
    "postrender",
    "preflight",
    "registry", // mirror-check, lock resolve, lock verify
    "release",
    "upgrade",
    "verify",
    "versions",
];

/// Paths from a job into another that remain, each with what removes it: (job, item): the item and what is
/// inside it (`crate::diff::Format` also allows `crate::diff::Format::Text`). An entry that no longer matches
/// anything fails the test, so the list only shrinks.
const NOT_YET: &[(&str, &str)] = &[];

/// The modules above the jobs: they parse the command line and call a job.
const TOP: &[&str] = &["cli", "lib", "main"];

/// Paths from a mechanism up into a job that remain, each with what removes it (as NOT_YET: only shrinks).
const MECHANISM_NOT_YET: &[(&str, &str)] = &[];

/// A `crate::` path in src/: the file, its line, the top-level module the file belongs to, and the path.
struct Use {
    file: String,
    line: usize,
    from: String,
    path: String,
}

#[test]
fn no_job_reaches_into_another_job() {
    let uses = uses();
    let wrong_way = |from: &str, to: &str| JOBS.contains(&from) && JOBS.contains(&to) && to != from;
    check(
        &uses,
        NOT_YET,
        wrong_way,
        "move what both jobs need into a shared module below them",
    );
}

#[test]
fn no_mechanism_reaches_up_into_a_job() {
    let uses = uses();
    let wrong_way =
        |from: &str, to: &str| !JOBS.contains(&from) && !TOP.contains(&from) && JOBS.contains(&to);
    check(
        &uses,
        MECHANISM_NOT_YET,
        wrong_way,
        "move what the mechanism needs from the job down into the mechanism (or into another one)",
    );
}

/// Every `crate::` path of src/.
fn uses() -> Vec<Use> {
    let mut uses = Vec::new();
    collect(&common::root().join("src"), &mut uses);
    assert!(uses.len() > 200, "read only {} crate:: paths", uses.len());
    uses
}

/// Fails naming each path that `wrong_way` (from module, to module) refuses and `allowed` does not hold, and each
/// entry of `allowed` that no path needs any more.
fn check(
    uses: &[Use],
    allowed: &[(&'static str, &'static str)],
    wrong_way: impl Fn(&str, &str) -> bool,
    advice: &str,
) {
    let mut allowed_seen = BTreeSet::new();
    let mut crossings = Vec::new();
    for found in uses {
        let to = top_module(&found.path);
        if !wrong_way(&found.from, to) {
            continue;
        }
        match allowed
            .iter()
            .find(|(from, path)| *from == found.from && within(&found.path, path))
        {
            Some(entry) => {
                allowed_seen.insert(*entry);
            }
            None => crossings.push(format!(
                "{}:{}: {} reaches into job {to}: {}",
                found.file, found.line, found.from, found.path
            )),
        }
    }
    assert!(crossings.is_empty(), "{advice}:\n{}", crossings.join("\n"));
    let stale: Vec<_> = allowed
        .iter()
        .filter(|e| !allowed_seen.contains(*e))
        .collect();
    assert!(
        stale.is_empty(),
        "these paths are gone: delete them from the list in tests/it/layers.rs: {stale:?}"
    );
}

/// The checker sees grouped, nested and inline paths, and ignores comments.
#[test]
fn paths_are_read_from_use_groups_and_inline_code() {
    let text = "use crate::{exit, lint::rules::{Rule, Severity}};\n\
                // crate::diff::show in a comment\n\
                let x = crate::diff::show(&a, &b); /* */ crate::yaml::parse(t)\n";
    let found: Vec<String> = paths_in(text).into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        found,
        [
            "crate::exit",
            "crate::lint::rules::{Rule, Severity}",
            "crate::diff::show",
            "crate::yaml::parse"
        ]
    );
    assert_eq!(top_module("crate::lint::rules::{Rule, Severity}"), "lint");
    assert!(within("crate::diff::Format::Text", "crate::diff::Format"));
    assert!(!within("crate::diff::FormatX", "crate::diff::Format"));
}

/// Whether `path` is `item` or a path inside it.
fn within(path: &str, item: &str) -> bool {
    path.strip_prefix(item)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

fn collect(dir: &Path, uses: &mut Vec<Use>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, uses);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let file = path
            .strip_prefix(common::root())
            .unwrap()
            .display()
            .to_string();
        let from = owner(&file);
        let text = std::fs::read_to_string(&path).unwrap();
        for (line, path) in paths_in(&text) {
            uses.push(Use {
                file: file.clone(),
                line,
                from: from.clone(),
                path,
            });
        }
    }
}

/// The top-level module a file of src/ belongs to (`src/diff/render.rs`: diff); the crate root for lib.rs and
/// main.rs.
fn owner(file: &str) -> String {
    let rest = file.strip_prefix("src/").unwrap();
    let first = rest.split('/').next().unwrap();
    first.strip_suffix(".rs").unwrap_or(first).to_string()
}

/// The module a `crate::` path starts with; each member of a group `crate::{a, b}` is its own path.
fn top_module(path: &str) -> &str {
    let rest = path.strip_prefix("crate::").unwrap();
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    &rest[..end.unwrap_or(rest.len())]
}

/// Every `crate::` path of a source text with its line, comments left out; a group `crate::{a, b::c}` gives
/// `crate::a` and `crate::b::c`.
fn paths_in(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let (paths, used) = read_path(after);
            for path in paths {
                found.push((i + 1, format!("crate::{path}")));
            }
            rest = &after[used..];
        }
    }
    found
}

/// The path at the start of `text` (after `crate::`), split at a top-level group; and how many bytes it took.
fn read_path(text: &str) -> (Vec<String>, usize) {
    if let Some(group) = text.strip_prefix('{') {
        let mut depth = 1;
        let mut end = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = i;
                break;
            }
        }
        let members = split_top_level(&group[..end]);
        return (members, end + 2);
    }
    let mut end = 0;
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            c if depth > 0 || c.is_ascii_alphanumeric() || c == '_' || c == ':' => {}
            _ => break,
        }
        end = i + c.len_utf8();
    }
    let path = text[..end].trim_end_matches(':').to_string();
    (vec![path], end)
}

/// The members of a `use` group, split at commas outside nested braces.
fn split_top_level(group: &str) -> Vec<String> {
    let mut members = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                members.push(group[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    members.push(group[start..].trim().to_string());
    members.retain(|m| !m.is_empty());
    members
}

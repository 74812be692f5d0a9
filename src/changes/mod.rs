//! What changes between two manifests, resource by resource, compared by meaning (key order, quoting and styles
//! do not show), with secrets hidden: the engine of `opsta-lint diff`, also used by the post-renderer's
//! `--diff-against` and by `upgrade`.
//!
//! The pipeline: cut both streams into documents and set aside the byte-identical ones (`manifest`), match the
//! rest by API group, kind, namespace and name, drop `--ignore`d paths and find the changed paths (`compare`),
//! hide secrets on both sides together (`mask`), write each side as canonical YAML (`order`, then
//! `yaml::write`) and diff those texts (`render`).

mod compare;
mod locate;
mod manifest;
mod mask;
mod order;
mod path;
mod render;
mod scope;
mod splice;

use crate::source::Source;
use anyhow::{Context, Result};

pub use path::Pattern;

/// How the changes are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A summary, then a unified diff per changed resource.
    Text,
    /// The changes per resource and per path, for programs.
    Json,
}

/// What to compare and how to show it (for callers inside opsta-lint: the post-renderer, the release reader).
#[derive(Debug, Clone)]
pub struct Options {
    pub context: usize,
    pub ignore: Vec<Pattern>,
    pub format: Format,
    pub full: bool,
    pub show_secrets: bool,
    pub color: bool,
    /// The namespace Helm installs into (`-n NS`): given to namespaced objects that name none, on both sides.
    pub namespace: Option<String>,
    /// `--find-renames`: how alike a removed and an added resource must be to be paired (0 to 1).
    pub find_renames: Option<f64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            context: 3,
            ignore: Vec::new(),
            format: Format::Text,
            full: false,
            show_secrets: false,
            color: false,
            namespace: None,
            find_renames: None,
        }
    }
}

/// A finished comparison: the report to show and whether anything changed.
#[derive(Debug, Clone)]
pub struct Shown {
    pub text: String,
    pub changed: bool,
    pub counts: Counts,
}

/// How many resources changed, were added, removed (or kept by Helm), and stayed the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub changed: usize,
    pub added: usize,
    pub removed: usize,
    pub kept: usize,
    pub unchanged: usize,
}

/// Changed documents at least this big on both sides are read in part (`splice`): a Deployment of a few
/// hundred lines already parses in more time than cutting it takes.
const CUT_ABOVE: usize = 8 * 1024;

/// Compares two manifests and writes the report. Errors name the file, line and column.
pub fn show(old: &Source, new: &Source, opts: &Options) -> Result<Shown> {
    match show_reading(old, new, opts, Some(CUT_ABOVE))? {
        Some(shown) => Ok(shown),
        None => show_whole(old, new, opts),
    }
}

/// The report with every changed document read whole, however big. `show` must say the same.
pub fn show_whole(old: &Source, new: &Source, opts: &Options) -> Result<Shown> {
    show_reading(old, new, opts, None)?
        .context("documents read whole could not be shown (a bug: please report it)")
}

/// The report with every changed document read in part where it can be, however small (`show` does so only
/// from 8 KiB); None when a hunk strays out of the blocks read. Where it is Some, it must say exactly what
/// `show_whole` says: the unit tests check that on real renders, the `diff` fuzz target on anything.
pub fn show_in_part(old: &Source, new: &Source, opts: &Options) -> Result<Option<Shown>> {
    show_reading(old, new, opts, Some(0))
}

/// The report, reading changed documents of `cut_above` bytes or more in part; None when a hunk of such a
/// document strays out of the blocks read (the caller then reads them whole).
fn show_reading(
    old: &Source,
    new: &Source,
    opts: &Options,
    cut_above: Option<usize>,
) -> Result<Option<Shown>> {
    let cutting = cut_above.map(|above| manifest::Cutting {
        above,
        context: opts.context,
    });
    let pair = manifest::load(old, new, cutting)?;
    let comparison = compare::compare(pair, opts);
    let text = match opts.format {
        Format::Text => match render::text(&comparison, opts, (&old.name, &new.name)) {
            Some(text) => text,
            None => return Ok(None),
        },
        Format::Json => render::json(&comparison, opts),
    };
    use compare::Status;
    Ok(Some(Shown {
        text,
        changed: comparison.has_changes(),
        counts: Counts {
            changed: comparison.count(Status::Changed),
            added: comparison.count(Status::Added),
            removed: comparison.count(Status::Removed),
            kept: comparison.count(Status::Kept),
            unchanged: comparison.unchanged,
        },
    }))
}

/// Shows a person what a manifest changes against a deployed one (`postrender --diff-against`), never on
/// stdout: into `file` when given (no colors), else on the terminal device when there is one, else on stderr
/// (Helm 3 shows a post-renderer's stderr; Helm 4 discards it, so use a terminal or a file there).
pub fn show_to_person(old: &Source, new: &Source, file: Option<&str>) -> Result<()> {
    use std::io::Write;
    let tty = match file {
        Some(_) => None,
        None => std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/tty")
            .ok(),
    };
    let color = match &tty {
        Some(tty) => crate::output::colored_terminal(tty),
        None => false,
    };
    let opts = Options {
        color,
        ..Options::default()
    };
    let text = show(old, new, &opts)?.text;
    match (file, tty) {
        (Some(path), _) => {
            std::fs::write(path, &text).with_context(|| format!("{path}: cannot write the diff"))
        }
        (None, Some(mut tty)) => tty
            .write_all(text.as_bytes())
            .context("cannot write the diff to the terminal"),
        (None, None) => std::io::stderr()
            .write_all(text.as_bytes())
            .context("cannot write the diff to stderr"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of a manifest with `-edited` appended to every `step`-th line holding a plain `key: value`,
    /// starting at `first`.
    fn edited(text: &str, first: usize, step: usize) -> String {
        let mut seen = 0;
        let mut out = String::with_capacity(text.len() + 1000);
        for line in text.split_inclusive('\n') {
            let body = line.trim_end_matches('\n');
            let plain = body.trim_start().split_once(": ").is_some_and(|(k, v)| {
                !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
                    && v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "./_-".contains(c))
            });
            if plain {
                seen += 1;
                if seen >= first && (seen - first).is_multiple_of(step) {
                    out.push_str(body);
                    out.push_str("-edited\n");
                    continue;
                }
            }
            out.push_str(line);
        }
        out
    }

    /// Reading big documents in part gives byte for byte the report reading them whole gives, in every
    /// format and context (or strays out of its blocks and is read whole); returns how many resources were
    /// read in part.
    fn same_either_way(old: &Source, new: &Source) -> usize {
        let mut cut = 0;
        for (format, context, ignore) in [
            (Format::Text, 3, vec![]),
            (Format::Text, 0, vec![]),
            (
                Format::Text,
                8,
                vec!["metadata.labels.helm.sh/chart".parse().unwrap()],
            ),
            (Format::Json, 3, vec!["*.*.description".parse().unwrap()]),
        ] {
            let opts = Options {
                format,
                context,
                ignore,
                ..Options::default()
            };
            let whole = show_whole(old, new, &opts).unwrap();
            if let Some(part) = show_in_part(old, new, &opts).unwrap() {
                assert_eq!(part.text, whole.text, "{format:?} -C {context}");
                assert_eq!(part.changed, whole.changed);
                let cutting = manifest::Cutting { above: 0, context };
                let pair = manifest::load(old, new, Some(cutting)).unwrap();
                cut += pair.new.iter().filter(|r| !r.blocks.is_empty()).count();
            }
        }
        cut
    }

    fn read(path: &std::path::Path) -> Source {
        Source::read(path.to_str().unwrap()).unwrap()
    }

    #[test]
    fn changed_documents_from_8_kib_are_read_in_part() {
        let config_map = |entries: usize, edited: bool| {
            let mut text =
                String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n");
            for i in 0..entries {
                let edit = if edited && i == entries / 2 {
                    "-edited"
                } else {
                    ""
                };
                text.push_str(&format!("  key{i:04}: value-{i}{edit}\n"));
            }
            text
        };
        for (entries, read_in_part) in [(300, false), (500, true)] {
            let old = Source::new("old", config_map(entries, false));
            let new = Source::new("new", config_map(entries, true));
            assert_eq!(old.text.len() >= CUT_ABOVE, read_in_part);
            let cutting = manifest::Cutting {
                above: CUT_ABOVE,
                context: 3,
            };
            let pair = manifest::load(&old, &new, Some(cutting)).unwrap();
            assert_eq!(!pair.new[0].blocks.is_empty(), read_in_part, "{entries}");
        }
    }

    /// A renamed `key:` removes its whole value and adds it again: read in part, the report still holds all of
    /// it (the fuzzer found `-o json` showing the first lines of such a value only).
    #[test]
    fn a_renamed_key_shows_its_whole_value() {
        let doc = |scalar_key: &str, map_key: &str| {
            let entries = |prefix: &str| -> String {
                (0..30).map(|i| format!("  {prefix}{i}: {i}\n")).collect()
            };
            let mut text =
                String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n");
            text.push_str(&entries("before"));
            text.push_str(&format!("  {scalar_key}: |\n"));
            text.extend((0..30).map(|i| format!("    line {i}\n")));
            text.push_str(&format!("  {map_key}:\n"));
            text.extend((0..30).map(|i| format!("    k{i}: v{i}\n")));
            text.push_str(&entries("after"));
            text
        };
        let old = Source::new("old", doc("config.yaml", "outer"));
        for new in [doc("config.yml", "outer"), doc("config.yaml", "renamed")] {
            let new = Source::new("new", new);
            assert!(same_either_way(&old, &new) > 0, "never read in part");
        }
    }

    /// A piece of one side that does not parse alone (here a directive before its `---`) makes both sides read
    /// whole, alike: the fuzzer found documents equal on both sides reported removed, and in part a side read
    /// whole against a side read in part.
    #[test]
    fn a_directive_before_the_first_marker_changes_nothing() {
        let doc = |name: &str, value: &str| {
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  x: \"{value}\"\n")
        };
        let old = Source::new(
            "old",
            format!("%YAML 1.1\n---\n{}---\n{}", doc("a", "1"), doc("b", "1")),
        );
        let new = Source::new(
            "new",
            format!("---\n{}---\n{}", doc("a", "1"), doc("b", "2")),
        );
        let shown = show_whole(&old, &new, &Options::default()).unwrap();
        assert!(
            shown
                .text
                .starts_with("1 changed, 0 added, 0 removed (1 unchanged)\n"),
            "{}",
            shown.text
        );
        same_either_way(&old, &new);
    }

    #[test]
    fn documents_read_in_part_show_as_read_whole() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let every = vec![(1, 7), (5, 40), (3, 500), (100, 1000)];
        let mut files = vec![(
            root.join("testdata/diff/catalyst-1.75.0.yaml"),
            every.clone(),
        )];
        let shared = root.join("../shared/corpus");
        if shared.is_dir() {
            files.push((shared.join("real-charts/argo-cd.yaml"), vec![(3, 400)]));
            files.push((shared.join("catalyst/rendered/v1.90.0.yaml"), every));
        } else {
            assert!(
                std::env::var_os("CI").is_none(),
                "../shared/corpus is missing under CI"
            );
            eprintln!("SKIPPED: ../shared not found; only testdata read in part");
        }
        let mut cut = 0;
        for (file, edits) in &files {
            let old = read(file);
            for &(first, step) in edits {
                let new = Source::new("new", edited(&old.text, first, step));
                cut += same_either_way(&old, &new);
            }
        }
        let pairs = [
            ("catalyst-1.75.0.yaml", "catalyst-1.76.0.yaml"),
            ("catalyst-1.90.0.yaml", "catalyst-1.90.0-tunnel.yaml"),
        ];
        for (a, b) in pairs {
            let dir = root.join("testdata/diff");
            cut += same_either_way(&read(&dir.join(a)), &read(&dir.join(b)));
        }
        eprintln!("{cut} resources read in part");
        assert!(cut > 20, "only {cut} resources read in part");
    }
}

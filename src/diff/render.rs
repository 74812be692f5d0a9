//! Writing a comparison for people (a summary, then a unified diff per changed resource with the changed
//! words highlighted) or for programs (JSON, per resource and per path).

use super::canon;
use super::compare::{lookup, Comparison, Entry, PathChange, Status};
use super::path::{self, Step};
use super::Options;
use anstyle::{AnsiColor, Color, Style};
use serde_json::{json, Value as Json};
use similar::udiff::UnifiedHunkHeader;
use similar::{Algorithm, ChangeTag, DiffOp, InlineChangeMode, InlineChangeOptions, TextDiff};
use std::fmt::Write;
use std::time::Duration;

const fn fg(c: AnsiColor) -> Style {
    Style::new().fg_color(Some(Color::Ansi(c)))
}

const TITLE: Style = Style::new().bold();
const HUNK: Style = fg(AnsiColor::Cyan);
const DELETE: Style = fg(AnsiColor::Red);
const INSERT: Style = fg(AnsiColor::Green);
const DELETE_WORD: Style = fg(AnsiColor::Red).bold().underline();
const INSERT_WORD: Style = fg(AnsiColor::Green).bold().underline();

/// Myers gives up on finding the shortest diff after this long (the diff stays correct, only less tidy).
const DIFF_TIMEOUT: Duration = Duration::from_secs(2);

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

/// The summary line: `3 changed, 1 added, 0 removed (29 unchanged)`.
pub fn summary(c: &Comparison) -> String {
    format!(
        "{} changed, {} added, {} removed ({} unchanged)",
        c.count(Status::Changed),
        c.count(Status::Added),
        c.count(Status::Removed),
        c.unchanged
    )
}

/// The text report: the summary, then each resource.
pub fn text(c: &Comparison, opts: &Options, names: (&str, &str)) -> String {
    let painter = Painter { color: opts.color };
    let mut out = painter.paint(TITLE, &summary(c));
    out.push('\n');
    for entry in &c.entries {
        out.push('\n');
        write_entry(&mut out, entry, opts, names, &painter);
    }
    out
}

fn write_entry(out: &mut String, entry: &Entry, opts: &Options, names: (&str, &str), p: &Painter) {
    let r = entry.resource();
    let version = match (&entry.old, &entry.new) {
        (Some(o), Some(n)) if o.api_version != n.api_version => {
            format!("{} -> {}", o.api_version, n.api_version)
        }
        _ => r.api_version.clone(),
    };
    let title = format!("{} {} ({version})", entry.status.word(), r.title());
    out.push_str(&p.paint(TITLE, &title));
    out.push('\n');
    match (&entry.old, &entry.new) {
        (Some(old), Some(new)) => {
            let _ = writeln!(out, "--- {}:{}", names.0, old.line);
            let _ = writeln!(out, "+++ {}:{}", names.1, new.line);
            let (a, b) = (canon::render(&old.body), canon::render(&new.body));
            if !write_unified(out, &a, &b, opts.context, p) {
                out.push_str("  (only hidden secret values differ)\n");
            }
        }
        (None, Some(new)) if opts.full => write_body(out, &new.body, "+", INSERT, p),
        (Some(old), None) if opts.full => write_body(out, &old.body, "-", DELETE, p),
        _ => {}
    }
}

fn write_body(out: &mut String, body: &Json, sign: &str, style: Style, p: &Painter) {
    for line in canon::render(body).lines() {
        out.push_str(&p.paint(style, &format!("{sign}{line}")));
        out.push('\n');
    }
}

/// Writes the hunks of a unified diff of two texts; false when they have none.
fn write_unified(out: &mut String, old: &str, new: &str, context: usize, p: &Painter) -> bool {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old, new);
    let groups = diff.grouped_ops(context);
    let mut inline = InlineChangeOptions::new();
    inline
        .algorithm(Algorithm::Myers)
        .mode(InlineChangeMode::Words);
    let crumbs = breadcrumbs(&diff, &groups);
    for (group, crumb) in groups.iter().zip(crumbs) {
        let header = UnifiedHunkHeader::new(group);
        let line = match crumb.is_empty() {
            true => header.to_string(),
            false => format!("{header} {crumb}"),
        };
        out.push_str(&p.paint(HUNK, &line));
        out.push('\n');
        for op in group {
            for change in diff.iter_inline_changes_with_options(op, inline) {
                let (sign, style, word) = match change.tag() {
                    ChangeTag::Equal => (" ", Style::new(), Style::new()),
                    ChangeTag::Delete => ("-", DELETE, DELETE_WORD),
                    ChangeTag::Insert => ("+", INSERT, INSERT_WORD),
                };
                out.push_str(&p.paint(style, sign));
                for (emphasized, piece) in change.iter_strings_lossy() {
                    let piece = piece.trim_end_matches('\n');
                    out.push_str(&p.paint(if emphasized { word } else { style }, piece));
                }
                out.push('\n');
            }
        }
    }
    !groups.is_empty()
}

/// Where each hunk's first change sits in the object (`spec.template.spec.containers`), like the function name
/// git shows after a hunk header: the keys of the nearest less-indented lines above it. One pass per side.
fn breadcrumbs(diff: &TextDiff<'_, '_, str>, groups: &[Vec<DiffOp>]) -> Vec<String> {
    // For each hunk: which side its first change is on (true: old) and the line.
    let targets: Vec<Option<(bool, usize)>> = groups
        .iter()
        .map(|group| {
            group.iter().find_map(|op| match op {
                DiffOp::Equal { .. } => None,
                DiffOp::Delete { old_index, .. } => Some((true, *old_index)),
                other => Some((false, other.new_range().start)),
            })
        })
        .collect();
    let mut crumbs = vec![String::new(); groups.len()];
    for old_side in [true, false] {
        let mut wanted: Vec<(usize, usize)> = targets
            .iter()
            .enumerate()
            .filter_map(|(hunk, t)| {
                t.filter(|(side, _)| *side == old_side)
                    .map(|(_, line)| (line, hunk))
            })
            .collect();
        wanted.sort_unstable();
        let lines: Box<dyn Iterator<Item = &str>> = match old_side {
            true => Box::new(diff.iter_old_slices()),
            false => Box::new(diff.iter_new_slices()),
        };
        let mut stack: Vec<(usize, Option<&str>)> = Vec::new();
        let mut next = wanted.iter().peekable();
        for (i, text) in lines.enumerate() {
            let Some(&&(line, _)) = next.peek() else {
                break;
            };
            let blank = text.trim().is_empty();
            let indent = if blank { 0 } else { indentation(text) };
            if !blank || i == line {
                while stack.last().is_some_and(|(at, _)| *at >= indent) {
                    stack.pop();
                }
            }
            while let Some(&&(_, hunk)) = next.peek().filter(|(l, _)| *l == i) {
                let keys: Vec<Step> = stack
                    .iter()
                    .filter_map(|(_, key)| key.map(|k| Step::Key(k.trim_matches('"').to_string())))
                    .collect();
                crumbs[hunk] = path::show(&keys);
                next.next();
            }
            if !blank {
                let body = text.trim();
                let body = body.strip_prefix("- ").unwrap_or(body);
                stack.push((indent, body.strip_suffix(':').or_else(|| block_key(body))));
            }
        }
    }
    crumbs
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The key of a `key: |` line (a literal block starts below it).
fn block_key(line: &str) -> Option<&str> {
    let (key, rest) = line.split_once(": ")?;
    rest.starts_with('|').then_some(key)
}

/// The JSON report, for programs: the same resources and, for changed ones, every changed path with its
/// old and new values (secrets hidden).
pub fn json(c: &Comparison, opts: &Options) -> String {
    let resources: Vec<Json> = c.entries.iter().map(|e| entry_json(e, opts)).collect();
    let report = json!({
        "summary": {
            "changed": c.count(Status::Changed),
            "added": c.count(Status::Added),
            "removed": c.count(Status::Removed),
            "unchanged": c.unchanged,
        },
        "resources": resources,
    });
    let mut text = serde_json::to_string_pretty(&report).expect("JSON values always serialize");
    text.push('\n');
    text
}

fn entry_json(entry: &Entry, opts: &Options) -> Json {
    let r = entry.resource();
    let mut out = json!({
        "status": entry.status.word(),
        "apiVersion": r.api_version,
        "kind": r.key.kind,
        "namespace": r.key.namespace,
        "name": r.key.name,
    });
    let fields = out.as_object_mut().expect("an object");
    match (&entry.old, &entry.new) {
        (Some(old), Some(new)) => {
            let paths = entry
                .paths
                .iter()
                .map(|p| path_json(p, &old.body, &new.body));
            fields.insert("paths".into(), Json::Array(paths.collect()));
        }
        (None, Some(new)) if opts.full => {
            fields.insert("body".into(), new.body.clone());
        }
        (Some(old), None) if opts.full => {
            fields.insert("body".into(), old.body.clone());
        }
        _ => {}
    }
    out
}

fn path_json(change: &PathChange, old: &Json, new: &Json) -> Json {
    let mut out = json!({"path": path::show(&change.path), "change": change.status.word()});
    let fields = out.as_object_mut().expect("an object");
    if let Some(v) = lookup(old, &change.path) {
        fields.insert("old".into(), v);
    }
    if let Some(v) = lookup(new, &change.path) {
        fields.insert("new".into(), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breadcrumbs_name_the_enclosing_keys() {
        let crumb = |old: &str, new: &str, context: usize| {
            let diff = TextDiff::from_lines(old, new);
            breadcrumbs(&diff, &diff.grouped_ops(context)).remove(0)
        };
        let old = "metadata:\n  name: x\nspec:\n  containers:\n    - name: a\n      image: one\n";
        assert_eq!(crumb(old, &old.replace("one", "two"), 1), "spec.containers");
        let cfg = "data:\n  config.yaml: |\n    host:\n      port: 1\n";
        assert_eq!(
            crumb(cfg, &cfg.replace('1', "2"), 0),
            r"data.config\.yaml.host"
        );
    }
}

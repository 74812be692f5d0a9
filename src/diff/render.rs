//! Writing a comparison for people (a summary, then a unified diff per changed resource with the changed
//! words highlighted) or for programs (JSON, per resource and per path).

use super::canon;
use super::compare::{lookup, Comparison, Entry, PathChange, Status};
use super::locate;
use super::manifest::Resource;
use super::path;
use super::Options;
use anstyle::{AnsiColor, Color, Style};
use serde_json::{json, Value as Json};
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

/// The text report: the summary, then each resource. None when a hunk of a document read in part strays
/// out of the blocks that were read (see `splice`).
pub fn text(c: &Comparison, opts: &Options, names: (&str, &str)) -> Option<String> {
    let painter = Painter { color: opts.color };
    let mut out = painter.paint(TITLE, &summary(c));
    out.push('\n');
    for entry in &c.entries {
        out.push('\n');
        write_entry(&mut out, entry, opts, names, &painter)?;
    }
    Some(out)
}

fn write_entry(
    out: &mut String,
    entry: &Entry,
    opts: &Options,
    names: (&str, &str),
    p: &Painter,
) -> Option<()> {
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
            if !write_unified(out, (old, new), opts.context, p)? {
                out.push_str("  (only hidden secret values differ)\n");
            }
        }
        (None, Some(new)) if opts.full => write_body(out, &new.body, "+", INSERT, p),
        (Some(old), None) if opts.full => write_body(out, &old.body, "-", DELETE, p),
        _ => {}
    }
    Some(())
}

fn write_body(out: &mut String, body: &Json, sign: &str, style: Style, p: &Painter) {
    for line in canon::render(body).lines() {
        out.push_str(&p.paint(style, &format!("{sign}{line}")));
        out.push('\n');
    }
}

/// Writes the hunks of a unified diff of two resources' canonical texts; false when they have none. Each
/// header gives the lines of the OLD and NEW files where the hunk starts, then the path it sits in. None when
/// the resources were read in part and a hunk strays out of the blocks read.
fn write_unified(
    out: &mut String,
    sides: (&Resource, &Resource),
    context: usize,
    p: &Painter,
) -> Option<bool> {
    let (old, new) = (canon::render(&sides.0.body), canon::render(&sides.1.body));
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(DIFF_TIMEOUT)
        .diff_lines(&old, &new);
    let groups = diff.grouped_ops(context);
    if !within_blocks(&groups, (&old, &new), sides) {
        return None;
    }
    let mut inline = InlineChangeOptions::new();
    inline
        .algorithm(Algorithm::Myers)
        .mode(InlineChangeMode::Words);
    for (group, header) in groups.iter().zip(headers(&groups, (&old, &new), sides)) {
        out.push_str(&p.paint(HUNK, &header));
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
    Some(!groups.is_empty())
}

/// The index of a text's last line.
fn last_line(text: &str) -> usize {
    text.lines().count().saturating_sub(1)
}

/// For resources read in part: every hunk, context included, comes from one block on each side (the same
/// block), so it reads exactly as it would from the whole documents. Always true for resources read whole.
fn within_blocks(
    groups: &[Vec<DiffOp>],
    texts: (&str, &str),
    sides: (&Resource, &Resource),
) -> bool {
    let (old, new) = sides;
    if old.blocks.is_empty() && new.blocks.is_empty() {
        return true;
    }
    let lines_of = |text: &str, r: &Resource, ranges: Vec<std::ops::Range<usize>>| {
        let wanted: Vec<usize> = ranges.iter().flat_map(|r| r.clone()).collect();
        let paths = locate::paths(text, &wanted);
        let mut at = wanted
            .iter()
            .zip(&paths)
            .map(|(&l, p)| locate::file_line(&r.node, r.offset, p, l));
        ranges
            .iter()
            .map(|range| at.by_ref().take(range.len()).collect::<Vec<usize>>())
            .collect::<Vec<_>>()
    };
    let old_lines = lines_of(
        texts.0,
        old,
        groups
            .iter()
            .map(|g| g[0].old_range().start..g[g.len() - 1].old_range().end)
            .collect(),
    );
    let new_lines = lines_of(
        texts.1,
        new,
        groups
            .iter()
            .map(|g| g[0].new_range().start..g[g.len() - 1].new_range().end)
            .collect(),
    );
    old_lines.iter().zip(&new_lines).all(|(a, b)| {
        (0..old.blocks.len().min(new.blocks.len())).any(|k| {
            a.iter().all(|l| old.blocks[k].contains(l))
                && b.iter().all(|l| new.blocks[k].contains(l))
        })
    })
}

/// The `@@ -12,7 +12,8 @@ spec.template.spec.containers[name=app]` line of each hunk: where it starts in each
/// file (found through the parsed objects) and the path enclosing its first change.
fn headers(
    groups: &[Vec<DiffOp>],
    texts: (&str, &str),
    sides: (&Resource, &Resource),
) -> Vec<String> {
    let ranges: Vec<_> = groups
        .iter()
        .map(|g| {
            let (first, last) = (&g[0], &g[g.len() - 1]);
            (
                first.old_range().start..last.old_range().end,
                first.new_range().start..last.new_range().end,
            )
        })
        .collect();
    // The first change of each hunk: on the old side when it deletes, else on the new side.
    let firsts: Vec<(bool, usize)> = groups
        .iter()
        .map(|g| {
            g.iter()
                .find_map(|op| match op {
                    DiffOp::Equal { .. } => None,
                    DiffOp::Delete { old_index, .. } => Some((true, *old_index)),
                    other => Some((false, other.new_range().start)),
                })
                .unwrap_or((false, 0))
        })
        .collect();
    let (old_last, new_last) = (last_line(texts.0), last_line(texts.1));
    let old_wanted: Vec<usize> = ranges.iter().map(|r| r.0.start.min(old_last)).collect();
    let new_wanted: Vec<usize> = ranges.iter().map(|r| r.1.start.min(new_last)).collect();
    let crumb_lines = |old_side: bool| {
        firsts
            .iter()
            .map(move |&(side, l)| if side == old_side { l } else { 0 })
    };
    let old_paths = locate::paths(
        texts.0,
        &[old_wanted.clone(), crumb_lines(true).collect()].concat(),
    );
    let new_paths = locate::paths(
        texts.1,
        &[new_wanted.clone(), crumb_lines(false).collect()].concat(),
    );
    let n = groups.len();
    (0..n)
        .map(|h| {
            let (o, nw) = (sides.0, sides.1);
            let a = locate::file_line(&o.node, o.offset, &old_paths[h], old_wanted[h]);
            let b = locate::file_line(&nw.node, nw.offset, &new_paths[h], new_wanted[h]);
            let (side, line) = firsts[h];
            let crumb = match side {
                true => locate::enclosing(&old_paths[n + h], line),
                false => locate::enclosing(&new_paths[n + h], line),
            };
            let mut header = format!(
                "@@ -{a},{} +{b},{} @@",
                ranges[h].0.len(),
                ranges[h].1.len()
            );
            if !crumb.is_empty() {
                header.push(' ');
                header.push_str(&path::show(&crumb));
            }
            header
        })
        .collect()
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

//! Writing a comparison for people (a summary, then a unified diff per changed resource with the changed
//! words highlighted) or for programs (JSON, per resource and per path).

use super::compare::{lookup, Comparison, Entry, Parsed, PathChange, Status};
use super::locate;
use super::manifest::Resource;
use super::path;
use super::Options;
use crate::yaml::write as canon;
use anstyle::{AnsiColor, Color, Style};
use serde_json::{json, Value as Json};
use similar::{Algorithm, ChangeTag, DiffOp, InlineChangeMode, InlineChangeOptions, TextDiff};
use std::fmt::Write;
use std::ops::Range;
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
/// Resources Helm keeps although the release drops them are counted after the removed ones, when there are any.
pub fn summary(c: &Comparison) -> String {
    let kept = match c.count(Status::Kept) {
        0 => String::new(),
        n => format!(", {n} kept"),
    };
    format!(
        "{} changed, {} added, {} removed{kept} ({} unchanged)",
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
    let renamed = match &entry.renamed_from {
        Some(from) => format!(" (renamed from {from})"),
        None => String::new(),
    };
    let title = format!("{} {}{renamed} ({version})", entry.status.word(), r.title());
    out.push_str(&p.paint(TITLE, &title));
    out.push('\n');
    if entry.status == Status::Kept {
        out.push_str("  (helm.sh/resource-policy: keep: Helm leaves it in the cluster)\n");
    }
    match (&entry.old, &entry.new) {
        (Some(old), Some(new)) => {
            let _ = writeln!(out, "--- {}:{}", names.0, old.line);
            let _ = writeln!(out, "+++ {}:{}", names.1, new.line);
            let hunks = write_unified(out, (old, new), opts.context, p)?;
            let moved = write_moves(out, &entry.paths, p);
            if !hunks && !moved {
                out.push_str("  (only hidden secret values differ)\n");
            }
        }
        (None, Some(new)) if opts.full => write_body(out, &new.body, "+", INSERT, p),
        (Some(old), None) if opts.full => write_body(out, &old.body, "-", DELETE, p),
        _ => {}
    }
    Some(())
}

/// Writes a `~ moved PATH from [I] to [J]` line per item moved in a list whose order matters; false when none.
fn write_moves(out: &mut String, paths: &[PathChange], p: &Painter) -> bool {
    let mut any = false;
    for change in paths {
        if let Some((from, to)) = change.moved {
            let line = format!(
                "~ moved {} from [{from}] to [{to}]",
                path::show(&change.path)
            );
            out.push_str(&p.paint(HUNK, &line));
            out.push('\n');
            any = true;
        }
    }
    any
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
    let lasts = (last_line(&old), last_line(&new));
    let hunks: Vec<Hunk> = groups.iter().map(|g| Hunk::of(g, lasts)).collect();
    let read_in_part = !sides.0.blocks.is_empty() || !sides.1.blocks.is_empty();
    let old_side = Side::new(
        &old,
        sides.0,
        hunks.iter().map(|h| h.old_lines(read_in_part)),
    );
    let new_side = Side::new(
        &new,
        sides.1,
        hunks.iter().map(|h| h.new_lines(read_in_part)),
    );
    if read_in_part && !within_blocks(&hunks, (&old_side, &new_side)) {
        return None;
    }
    let mut inline = InlineChangeOptions::new();
    inline
        .algorithm(Algorithm::Myers)
        .mode(InlineChangeMode::Words);
    for (group, hunk) in groups.iter().zip(&hunks) {
        out.push_str(&p.paint(HUNK, &header(hunk, (&old_side, &new_side))));
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

/// The lines of the canonical texts one hunk shows, and where it starts and first changes.
struct Hunk {
    old: Range<usize>,
    new: Range<usize>,
    /// The line the header starts at on each side (the last line for a hunk past the end of an empty side).
    starts: (usize, usize),
    /// The first change: on the old side when it deletes, else on the new side.
    first: (bool, usize),
}

impl Hunk {
    /// A group of diff ops; `lasts`: the last line of each text.
    fn of(group: &[DiffOp], lasts: (usize, usize)) -> Hunk {
        let (first_op, last_op) = (&group[0], &group[group.len() - 1]);
        let old = first_op.old_range().start..last_op.old_range().end;
        let new = first_op.new_range().start..last_op.new_range().end;
        let first = group
            .iter()
            .find_map(|op| match op {
                DiffOp::Equal { .. } => None,
                DiffOp::Delete { old_index, .. } => Some((true, *old_index)),
                other => Some((false, other.new_range().start)),
            })
            .unwrap_or((false, 0));
        let starts = (old.start.min(lasts.0), new.start.min(lasts.1));
        Hunk {
            old,
            new,
            starts,
            first,
        }
    }

    /// The old lines whose paths the report needs: the start, the first change when on this side, and
    /// every line when checking blocks.
    fn old_lines(&self, every: bool) -> Vec<usize> {
        let all = self.old.clone().filter(|_| every);
        let first = Some(self.first.1).filter(|_| self.first.0);
        [self.starts.0]
            .into_iter()
            .chain(first)
            .chain(all)
            .collect()
    }

    fn new_lines(&self, every: bool) -> Vec<usize> {
        let all = self.new.clone().filter(|_| every);
        let first = Some(self.first.1).filter(|_| !self.first.0);
        [self.starts.1]
            .into_iter()
            .chain(first)
            .chain(all)
            .collect()
    }
}

/// One side of a changed resource with the paths of the canonical lines its hunks need, found in one pass.
struct Side<'a> {
    resource: &'a Resource,
    lines: Vec<usize>,
    paths: Vec<locate::Located>,
}

impl<'a> Side<'a> {
    fn new(
        text: &str,
        resource: &'a Resource,
        wanted: impl Iterator<Item = Vec<usize>>,
    ) -> Side<'a> {
        let mut lines: Vec<usize> = wanted.flatten().collect();
        lines.sort_unstable();
        lines.dedup();
        let paths = locate::paths(text, &lines);
        Side {
            resource,
            lines,
            paths,
        }
    }

    fn path(&self, line: usize) -> &locate::Located {
        &self.paths[self.lines.binary_search(&line).expect("a line asked for")]
    }

    /// The line of the input file a canonical line came from.
    fn file_line(&self, line: usize) -> usize {
        let r = self.resource;
        locate::file_line(&r.node, r.offset, self.path(line), line)
    }
}

/// The index of a text's last line.
fn last_line(text: &str) -> usize {
    text.lines().count().saturating_sub(1)
}

/// For resources read in part: every hunk, context included, comes from one block on each side (the same
/// block), so it reads exactly as it would from the whole documents.
fn within_blocks(hunks: &[Hunk], (old, new): (&Side, &Side)) -> bool {
    let (old_blocks, new_blocks) = (&old.resource.blocks, &new.resource.blocks);
    hunks.iter().all(|h| {
        let a: Vec<usize> = h.old.clone().map(|l| old.file_line(l)).collect();
        let b: Vec<usize> = h.new.clone().map(|l| new.file_line(l)).collect();
        (0..old_blocks.len().min(new_blocks.len())).any(|k| {
            a.iter().all(|l| old_blocks[k].contains(l))
                && b.iter().all(|l| new_blocks[k].contains(l))
        })
    })
}

/// The `@@ -12,7 +12,8 @@ spec.template.spec.containers[name=app]` line of a hunk: where it starts in each
/// file (found through the parsed objects) and the path enclosing its first change.
fn header(hunk: &Hunk, (old, new): (&Side, &Side)) -> String {
    let a = old.file_line(hunk.starts.0);
    let b = new.file_line(hunk.starts.1);
    let (deletes, line) = hunk.first;
    let crumb = match deletes {
        true => locate::enclosing(old.path(line), line),
        false => locate::enclosing(new.path(line), line),
    };
    let mut header = format!("@@ -{a},{} +{b},{} @@", hunk.old.len(), hunk.new.len());
    if !crumb.is_empty() {
        header.push(' ');
        header.push_str(&path::show(&crumb));
    }
    header
}

/// The JSON report, for programs: the same resources and, for changed ones, every changed path with its
/// old and new values (secrets hidden).
pub fn json(c: &Comparison, opts: &Options) -> String {
    let mut parsed = Parsed::default();
    let resources: Vec<Json> = c
        .entries
        .iter()
        .map(|e| entry_json(e, opts, &mut parsed))
        .collect();
    let report = json!({
        "summary": {
            "changed": c.count(Status::Changed),
            "added": c.count(Status::Added),
            "removed": c.count(Status::Removed),
            "kept": c.count(Status::Kept),
            "unchanged": c.unchanged,
        },
        "resources": resources,
    });
    crate::printable::json(&report).expect("JSON values always serialize")
}

fn entry_json(entry: &Entry, opts: &Options, parsed: &mut Parsed) -> Json {
    let r = entry.resource();
    let mut out = json!({
        "status": entry.status.word(),
        "apiVersion": r.api_version,
        "kind": r.key.kind,
        "namespace": r.key.namespace,
        "name": r.key.name,
    });
    let fields = out.as_object_mut().expect("an object");
    if let Some(from) = &entry.renamed_from {
        fields.insert("renamedFrom".into(), Json::String(from.clone()));
    }
    match (&entry.old, &entry.new) {
        (Some(old), Some(new)) => {
            let paths = entry
                .paths
                .iter()
                .map(|p| path_json(p, &old.body, &new.body, parsed));
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

fn path_json(change: &PathChange, old: &Json, new: &Json, parsed: &mut Parsed) -> Json {
    let mut out = json!({"path": path::show(&change.path), "change": change.status.word()});
    let fields = out.as_object_mut().expect("an object");
    if let Some((from, to)) = change.moved {
        fields.insert("moved".into(), json!({"from": from, "to": to}));
        return out;
    }
    if let Some(v) = lookup(old, &change.path, parsed) {
        fields.insert("old".into(), v);
    }
    if let Some(v) = lookup(new, &change.path, parsed) {
        fields.insert("new".into(), v);
    }
    out
}

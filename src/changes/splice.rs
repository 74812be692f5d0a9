//! Reading only the changed parts of a big document. A 1.4 MB CustomResourceDefinition with three edited lines should
//! not be parsed whole on both sides: the two texts are diffed line by line, each change is widened to the smallest
//! block around it (a `key:` line and everything indented below it) that holds it on both sides, all of the values of
//! its changed lines (a renamed `key:` changes its whole value) and some lines to spare, and everything else is blanked
//! out, lines kept in place. What is left, the skeleton, parses to the same object as the whole document along the
//! paths to the changes, with the blocks complete: the same paths, the same values there, and spans on the same file
//! lines. A block is the whole value of a `key:` line when that value is a list (items keep their positions), else a
//! run of the entries of that mapping (the other entries are left out on both sides alike).
//!
//! Kept besides the blocks: the top-level scalars (`apiVersion`, `kind`), all of `metadata`, the `key:` lines enclosing
//! each block, and, for each list on the way, every item as `-` with its `name:` line, so items keep their positions
//! and names. Only plain block-style YAML is cut: a document with anchors, aliases, tags, multi-line flow collections,
//! complex keys, tabs or CRs is read whole. The caller checks that every hunk shown stays inside one block
//! (`Cut::blocks`), and reads the document whole when one does not.

use crate::lines::{indent, lines, unindented};
use similar::{Algorithm, DiffOp};
use std::ops::Range;
use std::time::{Duration, Instant};

/// Structural lines of margin kept around the changes inside a block, beyond the diff context.
const MARGIN: usize = 4;

/// More changed stretches than this: the document changed too much for cutting to pay.
const MAX_CHANGES: usize = 500;

/// How long the line diff may take before the document is read whole instead.
const DIFF_TIME: Duration = Duration::from_millis(500);

/// The skeletons of a changed document pair and the line ranges (0-based, in the document) of their blocks;
/// `old_blocks[k]` and `new_blocks[k]` are the same block on each side.
#[derive(Debug)]
pub struct Cut {
    pub old: String,
    pub new: String,
    pub old_blocks: Vec<Range<usize>>,
    pub new_blocks: Vec<Range<usize>>,
}

/// What a line of the document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Empty or a comment.
    Blank,
    /// `key:` with its value on the lines below.
    Key,
    /// `key: value` (the value may go on over content lines).
    KeyValue,
    /// `- ...`, a list item.
    Item,
    /// Inside a scalar that started on an earlier line.
    Content,
}

#[derive(Debug, Clone)]
struct Line<'a> {
    kind: Kind,
    /// Twice the indentation, plus one for a list item: an item sits below a key at its own indentation.
    depth: usize,
    /// The enclosing structural line.
    parent: Option<usize>,
    /// Where its block ends (exclusive): the next structural line at its depth or shallower.
    end: usize,
    /// The key of a `Key`/`KeyValue` line, or of an item's first entry.
    key: Option<&'a str>,
    /// Where that key starts on the line.
    column: usize,
    /// The line's value is empty (its value, if any, is on the lines below).
    open: bool,
    /// A `key:` line whose value is a list.
    list: bool,
}

/// What the skeleton keeps of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Nothing: an empty line in its place.
    Blank,
    Line,
    /// Only the dash of a list item (`-`), keeping the item's place in its list.
    Dash,
}

/// One document read line by line.
struct Doc<'a> {
    lines: Vec<&'a str>,
    info: Vec<Line<'a>>,
    /// How many structural lines come before each line.
    structural_before: Vec<usize>,
}

/// Cuts a changed document pair, or None when it must be read whole.
pub fn cut(old: &str, new: &str, context: usize) -> Option<Cut> {
    let (a, b) = std::thread::scope(|scope| {
        let other = scope.spawn(|| Doc::read(old));
        let b = Doc::read(new);
        (
            other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            b,
        )
    });
    let (a, b) = (a?, b?);
    let deadline = Instant::now() + DIFF_TIME;
    let ops =
        similar::capture_diff_slices_deadline(Algorithm::Myers, &a.lines, &b.lines, Some(deadline));
    let changes: Vec<(Range<usize>, Range<usize>)> = ops
        .iter()
        .filter(|op| !matches!(op, DiffOp::Equal { .. }))
        .map(|op| (op.old_range(), op.new_range()))
        .collect();
    if changes.len() > MAX_CHANGES || Instant::now() > deadline {
        return None;
    }
    let to_old = equal_lines(&ops, b.lines.len());
    let margin = context + MARGIN;
    let mut new_blocks: Vec<Range<usize>> = Vec::new();
    let mut old_blocks: Vec<Range<usize>> = Vec::new();
    for (old_range, new_range) in &changes {
        let (new, old) = window(&a, &b, &to_old, (old_range, new_range), margin)?;
        match (new_blocks.last_mut(), old_blocks.last_mut()) {
            (Some(last), Some(last_old)) if new.start <= last.end => {
                if old.start < last_old.start {
                    return None;
                }
                last.end = last.end.max(new.end);
                last_old.end = last_old.end.max(old.end);
            }
            (_, last_old) => {
                if last_old.is_some_and(|l| old.start < l.end) {
                    return None;
                }
                new_blocks.push(new);
                old_blocks.push(old);
            }
        }
    }
    if !a.lists_inside(&old_blocks) || !b.lists_inside(&new_blocks) {
        return None;
    }
    Some(Cut {
        old: a.skeleton(&old_blocks)?,
        new: b.skeleton(&new_blocks)?,
        // A block's first line may read differently alone (`- key:` when its item's first keys are left out).
        old_blocks: old_blocks.iter().map(|r| r.start + 1..r.end).collect(),
        new_blocks: new_blocks.iter().map(|r| r.start + 1..r.end).collect(),
    })
}

/// For each new line that the diff keeps equal, the old line it equals.
fn equal_lines(ops: &[DiffOp], new_len: usize) -> Vec<Option<usize>> {
    let mut to_old = vec![None; new_len];
    for op in ops {
        if let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = *op
        {
            for k in 0..len {
                to_old[new_index + k] = Some(old_index + k);
            }
        }
    }
    to_old
}

/// The lines to read around one change on each side: from the `margin`-th structural line before it to the
/// `margin`-th after it, both lines the diff keeps equal, widened so that no list starting inside ends outside
/// (its items would lose their places). Returns the new and old line ranges.
fn window(
    a: &Doc,
    b: &Doc,
    to_old: &[Option<usize>],
    (old, new): (&Range<usize>, &Range<usize>),
    margin: usize,
) -> Option<(Range<usize>, Range<usize>)> {
    let mut start = new.start;
    let mut before = 0;
    let (s, s_old) = loop {
        if start == 0 {
            break (0, 0);
        }
        start -= 1;
        if !b.is_structural(start) {
            continue;
        }
        before += 1;
        if let Some(s_old) = to_old[start].filter(|&o| o < old.start) {
            if before >= margin && a.structural(s_old..old.start) >= margin {
                break (start, s_old);
            }
        }
    };
    // A changed line changes all of its value (a renamed `key:` removes one whole block and adds another).
    let old_end = a.value_end(old);
    let mut end = b.value_end(new);
    let mut after = 0;
    let (e, e_old) = loop {
        if end >= b.lines.len() {
            break (b.lines.len(), a.lines.len());
        }
        if b.is_structural(end) {
            if let Some(e_old) = to_old[end].filter(|&o| o >= old_end) {
                let unfinished = b.list_past(s..end, end);
                if after >= margin && a.structural(old_end..e_old) >= margin && !unfinished {
                    break (end, e_old);
                }
            }
            after += 1;
        }
        end += 1;
    };
    Some((s..e, s_old..e_old))
}

impl<'a> Doc<'a> {
    /// Reads a document's lines, or None when it uses YAML this module does not cut.
    fn read(text: &'a str) -> Option<Doc<'a>> {
        if memchr::memchr(b'\r', text.as_bytes()).is_some() {
            return None;
        }
        let lines: Vec<&str> = lines(text).collect();
        let mut info = Vec::with_capacity(lines.len());
        let mut scanner = Scanner::default();
        for line in &lines {
            info.push(scanner.line(line.strip_suffix('\n').unwrap_or(line))?);
        }
        if scanner.quote.is_some() {
            return None;
        }
        let n = lines.len();
        let mut open: Vec<usize> = Vec::new();
        for i in 0..n {
            if matches!(info[i].kind, Kind::Blank | Kind::Content) {
                continue;
            }
            while let Some(&top) = open.last().filter(|&&t| info[t].depth >= info[i].depth) {
                info[top].end = i;
                open.pop();
            }
            info[i].parent = open.last().copied();
            if let Some(&p) = open.last() {
                // The first line below a `key:` line tells whether its value is a list.
                if info[p].kind == Kind::Key && i == first_below(&info, p) {
                    info[p].list = info[i].kind == Kind::Item;
                }
            }
            open.push(i);
        }
        for top in open {
            info[top].end = n;
        }
        let mut structural_before = Vec::with_capacity(n + 1);
        let mut count = 0;
        for line in &info {
            structural_before.push(count);
            count += usize::from(!matches!(line.kind, Kind::Blank | Kind::Content));
        }
        structural_before.push(count);
        Some(Doc {
            lines,
            info,
            structural_before,
        })
    }

    fn is_structural(&self, line: usize) -> bool {
        !matches!(self.info[line].kind, Kind::Blank | Kind::Content)
    }

    /// Where the values of the structural lines in `lines` end (a `key:` line's value is every line indented
    /// below it), or the end of `lines` when that is later.
    fn value_end(&self, lines: &Range<usize>) -> usize {
        lines
            .clone()
            .filter(|&l| self.is_structural(l))
            .map(|l| self.info[l].end)
            .fold(lines.end, usize::max)
    }

    /// True when a list whose `key:` line is in `lines` goes on at or past line `at`.
    fn list_past(&self, lines: Range<usize>, at: usize) -> bool {
        lines
            .into_iter()
            .any(|l| self.info[l].list && self.info[l].end > at)
    }

    /// No list starts inside a block and ends past it.
    fn lists_inside(&self, blocks: &[Range<usize>]) -> bool {
        blocks.iter().all(|b| !self.list_past(b.clone(), b.end))
    }

    fn structural(&self, range: Range<usize>) -> usize {
        if range.is_empty() {
            return 0;
        }
        self.structural_before[range.end] - self.structural_before[range.start]
    }

    /// The document with only the blocks, what encloses them, and the top-level scalars and metadata left.
    fn skeleton(&self, blocks: &[Range<usize>]) -> Option<String> {
        let mut keep = vec![Keep::Blank; self.lines.len()];
        for (i, line) in self.info.iter().enumerate() {
            let top_scalar = line.kind == Kind::KeyValue && line.depth == 0 && !self.continues(i);
            let marker = i == 0 && self.lines[0].starts_with("---");
            if top_scalar || marker {
                keep[i] = Keep::Line;
            }
            if line.depth == 0 && line.kind == Kind::Key && line.key == Some("metadata") {
                keep[i..line.end].fill(Keep::Line);
            }
        }
        let mut lists_done = std::collections::HashSet::new();
        for block in blocks {
            keep[block.clone()].fill(Keep::Line);
            let (mut child, mut at) = (block.start, self.info[block.start].parent);
            while let Some(a) = at {
                let line = &self.info[a];
                match line.kind {
                    Kind::Key => keep[a] = Keep::Line,
                    Kind::Item => {
                        // The path goes on under the item's first key (`- schema:`): keep that line as it is.
                        if line.key.is_some() && self.info[child].depth > 2 * line.column {
                            if !line.open {
                                return None;
                            }
                            keep[a] = Keep::Line;
                        }
                        let list = line.parent?;
                        if lists_done.insert(list) {
                            self.keep_items(list, &mut keep)?;
                        }
                    }
                    _ => return None,
                }
                (child, at) = (a, line.parent);
            }
        }
        let mut out = String::with_capacity(self.lines.len() * 2);
        for (line, kept) in self.lines.iter().zip(keep) {
            match kept {
                Keep::Line => out.push_str(line),
                Keep::Dash => {
                    out.push_str(&line[..indent(line)]);
                    out.push_str("-\n");
                }
                Keep::Blank => out.push('\n'),
            }
        }
        Some(out)
    }

    /// Keeps every item of a list as `-` and its `name:` line, so items keep their positions and names.
    fn keep_items(&self, list: usize, keep: &mut [Keep]) -> Option<()> {
        let end = self.info[list].end;
        for i in list + 1..end {
            if self.info[i].parent != Some(list) {
                continue;
            }
            if self.info[i].kind != Kind::Item {
                return None;
            }
            if keep[i] == Keep::Blank {
                keep[i] = match self.info[i].key {
                    Some("name") if !self.continues(i) => Keep::Line,
                    _ => Keep::Dash,
                };
            }
            let below = i + 1..self.info[i].end;
            for (j, child) in self.info[below.clone()]
                .iter()
                .enumerate()
                .map(|(k, c)| (below.start + k, c))
            {
                if child.parent == Some(i) && child.key == Some("name") {
                    if child.kind != Kind::KeyValue || self.continues(j) {
                        return None;
                    }
                    if keep[j] == Keep::Blank {
                        keep[j] = Keep::Line;
                    }
                }
            }
        }
        Some(())
    }

    /// True when a line's scalar goes on over the next lines.
    fn continues(&self, line: usize) -> bool {
        self.info
            .get(line + 1)
            .is_some_and(|next| next.kind == Kind::Content)
    }
}

/// The first structural line after line `p`.
fn first_below(info: &[Line<'_>], p: usize) -> usize {
    (p + 1..info.len())
        .find(|&i| !matches!(info[i].kind, Kind::Blank | Kind::Content))
        .unwrap_or(info.len())
}

/// Reads lines one after another, knowing when a scalar spans lines.
#[derive(Default)]
struct Scanner {
    /// Inside a block scalar or a multi-line plain scalar: lines indented more than this belong to it.
    scalar_above: Option<usize>,
    /// Inside a quoted scalar that has not closed yet: its quote.
    quote: Option<char>,
}

impl Scanner {
    fn line<'a>(&mut self, line: &'a str) -> Option<Line<'a>> {
        let indent = indent(line);
        let body = &line[indent..];
        let content = |kind| Line {
            kind,
            depth: 0,
            parent: None,
            end: 0,
            key: None,
            column: 0,
            open: false,
            list: false,
        };
        if let Some(q) = self.quote {
            let close = closing_quote(line, q)?;
            if let Some(at) = close {
                self.quote = None;
                if !rest_is_empty(&line[at + 1..]) {
                    return None;
                }
            }
            return Some(content(Kind::Content));
        }
        if let Some(above) = self.scalar_above {
            if body.is_empty() || indent > above {
                return Some(content(Kind::Content));
            }
            self.scalar_above = None;
        }
        if body.is_empty() || body.starts_with('#') || (indent == 0 && body.starts_with("---")) {
            return Some(content(Kind::Blank));
        }
        if body.starts_with(['[', '{']) && flow_closes(body) {
            // A value written on the line below its key (`key:` then `  {}`).
            return Some(content(Kind::Content));
        }
        if body.starts_with('\t')
            || body.starts_with("...")
            || (indent == 0 && body.starts_with('%'))
        {
            return None;
        }
        let (kind, depth, key, value, column) = if body == "-" || body.starts_with("- ") {
            let rest = unindented(&body[1..]);
            let column = line.len() - rest.len();
            if rest.starts_with("- ") || rest == "-" {
                return None;
            }
            match split_key(rest)? {
                Some((key, value)) => (Kind::Item, 2 * indent + 1, Some(key), value, column),
                None => (Kind::Item, 2 * indent + 1, None, rest, indent),
            }
        } else {
            let (key, value) = split_key(body)??;
            let kind = if rest_is_empty(value) {
                Kind::Key
            } else {
                Kind::KeyValue
            };
            (kind, 2 * indent, Some(key), value, indent)
        };
        self.value(value, column)?;
        Some(Line {
            kind,
            depth,
            parent: None,
            end: 0,
            key,
            column,
            open: rest_is_empty(value),
            list: false,
        })
    }

    /// Notes how a value that starts on this line goes on; None for values this module does not cut.
    fn value(&mut self, value: &str, column: usize) -> Option<()> {
        let v = unindented(value);
        match v.chars().next() {
            None | Some('#') => {}
            Some('|' | '>') => self.scalar_above = Some(column),
            Some(q @ ('"' | '\'')) => match closing_quote(&v[1..], q)? {
                Some(at) if rest_is_empty(&v[at + 2..]) => {}
                Some(_) => return None,
                None => self.quote = Some(q),
            },
            Some('&' | '*' | '!' | '?' | '@' | '`' | '%') => return None,
            Some('[' | '{') if !flow_closes(v) => return None,
            Some('[' | '{') => {}
            Some(_) => self.scalar_above = Some(column),
        }
        Some(())
    }
}

/// The key and the value text of `key: value` / `key:`, Some(None) for a line that holds no key (a plain
/// scalar item), None for keys this module does not read (quoted, complex, merge keys).
#[allow(clippy::option_option)]
fn split_key(text: &str) -> Option<Option<(&str, &str)>> {
    if let Some(q @ ('"' | '\'')) = text.chars().next() {
        let end = closing_quote(&text[1..], q)?? + 2;
        return match text[end..].strip_prefix(':') {
            Some(value) if value.is_empty() || value.starts_with(' ') => {
                Some(Some((&text[..end], unindented(value))))
            }
            Some(_) => None,
            None => Some(None),
        };
    }
    if text.starts_with(['?', '[', '{', '&', '*', '!', '|', '>']) {
        let is_value = !text.contains(": ") && !text.ends_with(':');
        return is_value.then_some(None);
    }
    let Some((key, value)) = key_colon(text) else {
        return Some(None);
    };
    let key_bytes = key.as_bytes();
    if key_bytes.windows(2).any(|w| w == b" #") || key == "<<" || key_bytes.contains(&b'\t') {
        return None;
    }
    Some(Some((key, value)))
}

/// Splits at the first `: ` (or a final `:`): the key and what follows.
fn key_colon(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = bytes[from..].iter().position(|&b| b == b':') {
        let at = from + at;
        match bytes.get(at + 1) {
            None => return Some((&text[..at], "")),
            Some(b' ') => return Some((&text[..at], &text[at + 2..])),
            _ => from = at + 1,
        }
    }
    None
}

/// Where the closing quote of a quoted scalar is in `text` (Some(None) when it does not close on this line).
#[allow(clippy::option_option)]
fn closing_quote(text: &str, quote: char) -> Option<Option<usize>> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i] as char, quote) {
            ('\\', '"') => i += 1,
            ('\'', '\'') if bytes.get(i + 1) == Some(&b'\'') => i += 1,
            (c, q) if c == q => return Some(Some(i)),
            _ => {}
        }
        i += 1;
    }
    Some(None)
}

/// True when a flow collection closes on its own line (nothing but a comment after it).
fn flow_closes(text: &str) -> bool {
    let (mut depth, mut quote) = (0usize, None);
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return rest_is_empty(&text[i + 1..]);
                }
            }
            _ => {}
        }
    }
    false
}

/// Nothing but spaces and maybe a comment.
fn rest_is_empty(text: &str) -> bool {
    let t = unindented(text);
    t.is_empty() || t.starts_with('#')
}

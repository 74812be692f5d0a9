//! The invariants the fuzz targets check, one function per target. Each takes the raw input bytes and panics
//! when opsta-lint breaks a promise on them. The same functions run the saved crash inputs in the normal test
//! suite (`tests/fuzz_regressions.rs` includes this file), so every past crash stays fixed on stable Rust.

use opsta_lint::yaml::{self, Limits, Node, Style, Value};

/// The values reader: never panics; spans are real positions of the source; a plain one-line scalar's span is
/// its own text; quoted spans include their quotes; the JSON it yields reads back to the same JSON; being
/// lenient about duplicate keys only ever accepts more.
pub fn yaml(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let strict = yaml::parse(src);
    let lenient = yaml::parse_with(
        src,
        Limits {
            allow_duplicate_keys: true,
            ..Limits::default()
        },
    );
    let docs = match strict {
        Ok(docs) => docs,
        Err(e) => {
            assert!(e.line >= 1 || e.message.contains("end of YAML"), "{e:?}");
            return;
        }
    };
    let lenient = lenient.expect("lenient parsing refused what strict parsing accepted");
    // Compared as text: NaN is never equal to itself.
    assert_eq!(
        format!("{docs:?}"),
        format!("{lenient:?}"),
        "duplicate-key leniency changed a stream without duplicates"
    );
    for doc in &docs {
        doc.walk(&mut |node| check_span(src, node));
        let json = doc.to_json();
        let text = serde_json::to_string(&json).unwrap();
        let again = yaml::parse(&text)
            .unwrap_or_else(|e| panic!("its own JSON {text:?} does not parse: {e}"));
        assert_eq!(again.len(), 1, "{text}");
        assert_eq!(
            again[0].to_json(),
            json,
            "JSON {text} reads back differently"
        );
    }
}

fn check_span(src: &str, node: &Node) {
    let range = node.span.bytes();
    assert!(
        range.start <= range.end && range.end <= src.len(),
        "span {range:?} outside the source"
    );
    assert!(
        src.is_char_boundary(range.start) && src.is_char_boundary(range.end),
        "span {range:?} splits a character"
    );
    let (line, col) = line_col(&src[..range.start]);
    assert_eq!(
        (node.span.start.line, node.span.start.col),
        (line, col),
        "start of {range:?}"
    );
    if node.aliased {
        return;
    }
    let text = &src[range];
    match (&node.style, &node.value) {
        (Style::Plain, Value::Str(s)) if !text.contains(['\n', '\r']) => assert_eq!(text, s),
        (Style::SingleQuoted, _) => assert!(
            text.len() >= 2 && text.starts_with('\'') && text.ends_with('\''),
            "{text:?}"
        ),
        (Style::DoubleQuoted, _) => assert!(
            text.len() >= 2 && text.starts_with('"') && text.ends_with('"'),
            "{text:?}"
        ),
        _ => {}
    }
}

/// 1-based line and column (in characters) of the end of `before`; CRLF, CR and LF each end a line, and
/// byte-order marks at the start of a line take no column (the parser skips them there).
pub fn line_col(before: &str) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    let mut chars = before.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\u{feff}' if col == 1 => {}
            '\r' | '\n' => {
                line += 1;
                col = 1;
            }
            _ => col += 1,
        }
    }
    (line, col)
}

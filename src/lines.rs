//! Line helpers for the scans over whole files (cutting a stream into documents, reading a big document line
//! by line): the same results as `split_inclusive('\n')` and `trim_start_matches(' ')`, found with SIMD byte
//! search and eight bytes at a time, because those scans see every byte of a render of a few MB.

/// The lines of `text`, each with its `\n` (the last one without, when the text does not end with one).
pub fn lines(text: &str) -> Lines<'_> {
    Lines { text, at: 0 }
}

pub struct Lines<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = &self.text.as_bytes()[self.at..];
        if rest.is_empty() {
            return None;
        }
        let len = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let line = &self.text[self.at..self.at + len];
        self.at += len;
        Some(line)
    }
}

/// Where the lines of `text` that start with a character other than ASCII whitespace start (a document's root
/// keys, comments and markers), the first line included. The line breaks are found in one pass over the text (a
/// CRD has tens of thousands of short indented lines, where a search started anew per line costs more).
pub fn flush_left_lines(text: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    let first = flush_left(bytes, 0).then_some(0);
    let mut from = 0;
    first.into_iter().chain(std::iter::from_fn(move || {
        from = next_flush_left(bytes, from)?;
        Some(from)
    }))
}

fn flush_left(bytes: &[u8], at: usize) -> bool {
    bytes.get(at).is_some_and(|b| !b.is_ascii_whitespace())
}

/// The start of the first line after `from` that starts with a character other than ASCII whitespace.
fn next_flush_left(bytes: &[u8], from: usize) -> Option<usize> {
    let mut starts = memchr::memchr_iter(b'\n', bytes.get(from..)?).map(|i| from + i + 1);
    starts.find(|&start| flush_left(bytes, start))
}

/// How many spaces a line starts with (the lines of a CRD's schema are indented 20 to 40 deep).
pub fn indent(line: &str) -> usize {
    let bytes = line.as_bytes();
    let mut n = 0;
    while let Some(chunk) = bytes.get(n..n + 8) {
        let other =
            u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ u64::from_le_bytes([b' '; 8]);
        if other != 0 {
            return n + other.trailing_zeros() as usize / 8;
        }
        n += 8;
    }
    n + bytes[n..].iter().take_while(|&&b| b == b' ').count()
}

/// The line without its leading spaces.
pub fn unindented(line: &str) -> &str {
    &line[indent(line)..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_as_the_standard_library() {
        for text in [
            "",
            "a",
            "a\n",
            "\n\n",
            "a\nb",
            " x\n  y\n\n",
            "é\n            deep: é\n",
        ] {
            let ours: Vec<&str> = lines(text).collect();
            let std: Vec<&str> = text.split_inclusive('\n').collect();
            assert_eq!(ours, std, "{text:?}");
        }
        for text in [
            "",
            "a",
            "\n",
            "a\n",
            "\n\n",
            "a\nb",
            "1234567\n",
            "12345678\n",
            "1234567\nb",
            "12345678\nb",
            "123456789abcdef\nb",
            "123456789abcdef\n b\nc",
            "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\nx",
            " \n\tx\n\r\nx:\n\u{c}\n#\n",
            "é\n            deep: é\nkind: x\r\n\n  - y\n#c\n  \u{1}\n\u{1}",
        ] {
            let ours: Vec<usize> = flush_left_lines(text).collect();
            let std: Vec<usize> = text
                .split_inclusive('\n')
                .scan(0, |at, line| Some(std::mem::replace(at, *at + line.len())))
                .filter(|&at| !text.as_bytes()[at].is_ascii_whitespace())
                .collect();
            assert_eq!(ours, std, "{text:?}");
        }
        for n in 0..20 {
            for tail in ["", "x", "\u{a0}", " ", "\n"] {
                let line = format!("{}{tail}", " ".repeat(n));
                assert_eq!(unindented(&line), line.trim_start_matches(' '), "{line:?}");
            }
        }
    }
}

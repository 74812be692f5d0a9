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
        for n in 0..20 {
            for tail in ["", "x", "\u{a0}", " ", "\n"] {
                let line = format!("{}{tail}", " ".repeat(n));
                assert_eq!(unindented(&line), line.trim_start_matches(' '), "{line:?}");
            }
        }
    }
}

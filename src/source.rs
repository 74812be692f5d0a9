//! Reading input files (or stdin) into text, with errors that say which file and why.

use crate::printable::shown;
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// One input's text and the name findings and errors call it by.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    /// Reads a file, or stdin when the path is `-`.
    pub fn read(path: &str) -> Result<Source> {
        let (name, bytes) = read_bytes(path)?;
        Source::from_bytes(&name, bytes)
    }

    /// Text from raw bytes, checked as `read` checks them (a leading BOM dropped).
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<Source> {
        Ok(Source::new(name, decode(name, bytes)?))
    }

    /// Parses the text as a YAML stream; errors name this source's file, line and column.
    pub fn yaml(&self) -> Result<Vec<crate::yaml::Node>> {
        self.yaml_with(crate::yaml::Limits::default())
    }

    pub fn yaml_with(&self, limits: crate::yaml::Limits) -> Result<Vec<crate::yaml::Node>> {
        crate::yaml::parse_with(&self.text, limits)
            .map_err(|e| anyhow::anyhow!("{}:{}:{}: {}", self.name, e.line, e.col, e.message))
    }
}

/// The raw bytes of a file, or of stdin when the path is `-`, with the name errors call it by (the path as
/// `printable::shown` writes it: a file name with a line break cannot forge a line of output).
pub fn read_bytes(path: &str) -> Result<(String, Vec<u8>)> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        return Ok(("<stdin>".into(), buf));
    }
    Ok((shown(path).into_owned(), read_file(Path::new(path))?))
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let shown = shown(&path.to_string_lossy()).into_owned();
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("{shown}: no such file"),
        Err(e) => bail!("{shown}: cannot read: {e}"),
        Ok(meta) if meta.is_dir() => bail!("{shown}: is a directory, not a file"),
        Ok(_) => std::fs::read(path).with_context(|| format!("{shown}: cannot read")),
    }
}

/// Text from bytes: UTF-8 (a leading BOM dropped), with the position of the first bad byte otherwise.
fn decode(name: &str, mut bytes: Vec<u8>) -> Result<String> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    if let Some(at) = memchr::memchr(0, &bytes) {
        let (line, col) = line_col(&bytes[..at]);
        bail!("{name}:{line}:{col}: contains a NUL byte; this looks like a binary file, not YAML");
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let (line, col) = line_col(&e.as_bytes()[..valid]);
        anyhow::anyhow!("{name}:{line}:{col}: is not valid UTF-8 text")
    })
}

fn line_col(before: &[u8]) -> (usize, usize) {
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_bad_bytes() {
        let e = decode("f.yaml", b"a: 1\nbb: \xff\n".to_vec()).unwrap_err();
        assert_eq!(e.to_string(), "f.yaml:2:5: is not valid UTF-8 text");
        let e = decode("f.yaml", b"a\0".to_vec()).unwrap_err();
        assert!(e.to_string().starts_with("f.yaml:1:2: contains a NUL byte"));
        assert_eq!(decode("f", b"\xEF\xBB\xBFa: 1".to_vec()).unwrap(), "a: 1");
    }

    #[test]
    fn names_missing_files_and_directories() {
        let e = Source::read("/nonexistent/values.yaml").unwrap_err();
        assert_eq!(e.to_string(), "/nonexistent/values.yaml: no such file");
        let dir = std::env::temp_dir();
        let e = Source::read(dir.to_str().unwrap()).unwrap_err();
        assert!(e.to_string().ends_with("is a directory, not a file"));
    }
}

//! Writing findings: `human` (rustc/ruff-like, colored only on a terminal), `json` (documented in docs/lint.md) and
//! `sarif` (SARIF 2.1.0 for GitHub code scanning). All three are rendered to text first, so the caller can pass
//! the text through the final secret redaction before anything is written.

use super::rules::{Finding, Location, Severity};
pub use crate::output::Format;
use crate::output::{Place, SarifResult};
use crate::printable::{message, one_line, shown};
use anstyle::{AnsiColor, Style};
use serde::Serialize;
use std::fmt::Write as _;

/// One lint run: the files merged together and what was checked against.
#[derive(Debug, Clone)]
pub struct Run {
    pub files: Vec<String>,
    pub product: Option<String>,
    /// The fingerprint keys the product was inferred from (empty when given with --product, or generic).
    pub inferred_from: Vec<String>,
    pub chart: Option<String>,
    /// True when no --chart-version was given and the newest known chart was assumed.
    pub chart_assumed: bool,
    pub schema: Option<String>,
    /// The chart's default values file validated beneath the values (generic mode), if one was found.
    pub chart_defaults: Option<String>,
    pub findings: Vec<Finding>,
}

pub fn count(runs: &[Run], severity: Severity) -> usize {
    runs.iter()
        .flat_map(|r| &r.findings)
        .filter(|f| f.severity == severity)
        .count()
}

pub fn render(runs: &[Run], format: Format) -> String {
    match format {
        Format::Human => human(runs),
        Format::Json => json(runs),
        Format::Sarif => sarif(runs),
    }
}

// ---- human ----

const ERROR: Style = AnsiColor::Red.on_default().bold();
const WARNING: Style = AnsiColor::Yellow.on_default().bold();
const BOLD: Style = Style::new().bold();
const GUTTER: Style = AnsiColor::Blue.on_default().bold();
const NOTE: Style = AnsiColor::Cyan.on_default().bold();

fn human(runs: &[Run]) -> String {
    let mut out = String::new();
    for run in runs {
        if let Some(note) = context_note(run) {
            let _ = writeln!(out, "{NOTE}note{NOTE:#}: {note}");
        }
        for finding in &run.findings {
            human_finding(&mut out, finding);
        }
    }
    let (errors, warnings) = (count(runs, Severity::Error), count(runs, Severity::Warning));
    if errors + warnings == 0 {
        let _ = writeln!(out, "All checks passed.");
    } else {
        let _ = writeln!(
            out,
            "Found {} and {}.",
            plural(errors, "error"),
            plural(warnings, "warning")
        );
    }
    out
}

fn context_note(run: &Run) -> Option<String> {
    let mut parts = Vec::new();
    if let (Some(product), false) = (&run.product, run.inferred_from.is_empty()) {
        let keys: Vec<_> = run.inferred_from.iter().map(|k| shown(k)).collect();
        let keys = keys.join(", ");
        let s = if run.inferred_from.len() == 1 {
            ""
        } else {
            "s"
        };
        parts.push(format!(
            "product {product} inferred from the key{s} {keys} (pass --product to choose)"
        ));
    }
    if let Some(defaults) = &run.chart_defaults {
        parts.push(format!(
            "chart defaults {defaults} merged beneath the values before validation, as Helm does"
        ));
    }
    if let (true, Some(chart)) = (run.chart_assumed, &run.chart) {
        parts.push(format!(
            "chart {chart} assumed, the newest known (pass --chart-version)"
        ));
    }
    let files: Vec<String> = run.files.iter().map(|f| shown(f).into_owned()).collect();
    (!parts.is_empty()).then(|| format!("{}: {}", files.join(", "), parts.join("; ")))
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn human_finding(out: &mut String, f: &Finding) {
    let style = match f.severity {
        Severity::Error => ERROR,
        Severity::Warning => WARNING,
    };
    let place = match &f.location {
        Location::File {
            file, line, col, ..
        } => format!("{}:{line}:{col}", one_line(file)),
        Location::WholeFile { file } => one_line(file).into_owned(),
        Location::CommandLine { arg: Some(arg) } => format!("--set {}", shown(arg)),
        _ => "<command line>".to_string(),
    };
    let _ = writeln!(
        out,
        "{BOLD}{place}{BOLD:#}: {style}{} {}{style:#}: {}",
        f.code,
        f.severity.as_str(),
        one_line(&f.message)
    );
    if let Location::File {
        line,
        col,
        len,
        text,
        ..
    } = &f.location
    {
        if *len > 0 {
            let number = line.to_string();
            let pad = " ".repeat(number.len());
            let indent: String = text
                .chars()
                .take(col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{GUTTER}{pad} |{GUTTER:#}");
            let _ = writeln!(out, "{GUTTER}{number} |{GUTTER:#} {}", message(text));
            let _ = writeln!(
                out,
                "{GUTTER}{pad} |{GUTTER:#} {indent}{style}{}{style:#}",
                "^".repeat(*len)
            );
        }
    }
}

// ---- json ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    version: u32,
    runs: Vec<JsonRun<'a>>,
    summary: JsonSummary,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonRun<'a> {
    files: &'a [String],
    product: Option<&'a str>,
    product_inferred_from: Option<&'a [String]>,
    chart_version: Option<&'a str>,
    chart_version_assumed: bool,
    schema: Option<&'a str>,
    chart_defaults: Option<&'a str>,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonFinding<'a> {
    code: &'static str,
    name: &'static str,
    severity: &'static str,
    message: &'a str,
    path: Option<String>,
    pointer: Option<String>,
    location: JsonLocation<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
enum JsonLocation<'a> {
    #[serde(rename_all = "camelCase")]
    File {
        file: &'a str,
        line: usize,
        column: usize,
        end_column: usize,
    },
    WholeFile {
        file: &'a str,
    },
    Set {
        arg: &'a str,
    },
    Args,
}

#[derive(Serialize)]
struct JsonSummary {
    errors: usize,
    warnings: usize,
}

fn json(runs: &[Run]) -> String {
    let report = JsonReport {
        version: 1,
        runs: runs.iter().map(json_run).collect(),
        summary: JsonSummary {
            errors: count(runs, Severity::Error),
            warnings: count(runs, Severity::Warning),
        },
    };
    crate::printable::json(&report).expect("plain data serializes")
}

fn json_run(run: &Run) -> JsonRun<'_> {
    JsonRun {
        files: &run.files,
        product: run.product.as_deref(),
        product_inferred_from: (!run.inferred_from.is_empty())
            .then_some(run.inferred_from.as_slice()),
        chart_version: run.chart.as_deref(),
        chart_version_assumed: run.chart_assumed,
        schema: run.schema.as_deref(),
        chart_defaults: run.chart_defaults.as_deref(),
        findings: run
            .findings
            .iter()
            .map(|f| JsonFinding {
                code: f.code.as_str(),
                name: f.code.name(),
                severity: f.severity.as_str(),
                message: &f.message,
                path: f.path.as_ref().map(ToString::to_string),
                pointer: f.path.as_ref().map(|p| p.pointer()),
                location: match &f.location {
                    Location::File {
                        file,
                        line,
                        col,
                        len,
                        ..
                    } => JsonLocation::File {
                        file,
                        line: *line,
                        column: *col,
                        end_column: col + len,
                    },
                    Location::WholeFile { file } => JsonLocation::WholeFile { file },
                    Location::CommandLine { arg: Some(arg) } => JsonLocation::Set { arg },
                    _ => JsonLocation::Args,
                },
            })
            .collect(),
    }
}

// ---- sarif ----

fn sarif(runs: &[Run]) -> String {
    let results: Vec<SarifResult> = runs
        .iter()
        .flat_map(|run| run.findings.iter().map(move |f| sarif_result(run, f)))
        .collect();
    crate::output::sarif("OL", &results)
}

/// Findings from `--set` or the command line have no line of their own: code scanning needs a location, so they
/// point at the top of the run's last values file, and the message says where they come from.
fn sarif_result(run: &Run, f: &Finding) -> SarifResult {
    let fallback = run
        .files
        .last()
        .map(String::as_str)
        .unwrap_or("values.yaml");
    let at_top = |prefix: String| {
        let place = Place::File {
            file: fallback.to_string(),
            line: 1,
            col: 1,
            len: 0,
        };
        (place, prefix)
    };
    let (place, prefix) = match &f.location {
        Location::CommandLine { arg: Some(arg) } => at_top(format!("--set {arg}: ")),
        Location::CommandLine { arg: None } => at_top("command line: ".to_string()),
        _ => (crate::output::place_of(f), String::new()),
    };
    SarifResult {
        code: f.code,
        severity: f.severity,
        message: format!("{prefix}{}", f.message),
        place,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_from_the_values_never_reach_the_terminal() {
        let hostile = "bad\u{1b}[2J\u{9b}key";
        let finding = Finding {
            code: crate::findings::Code::OL001,
            severity: Severity::Error,
            message: format!("unknown key {hostile}"),
            path: None,
            location: Location::File {
                file: format!("v{hostile}.yaml"),
                line: 2,
                col: 1,
                len: 3,
                text: format!("{hostile}: 1"),
            },
        };
        let run = Run {
            files: vec![],
            product: Some("catalyst".into()),
            inferred_from: vec![hostile.into()],
            chart: None,
            chart_assumed: false,
            schema: None,
            chart_defaults: None,
            findings: vec![finding],
        };
        let text = human(&[run]);
        assert!(
            !text.contains("\u{1b}[2J") && !text.contains('\u{9b}'),
            "{text:?}"
        );
        assert_eq!(text.matches(r"bad\u001b[2J\u009bkey").count(), 4, "{text}");
    }
}

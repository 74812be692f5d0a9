//! The output layer every job writes through: one `Format` (`-o human|json|sarif`, `text` another name for
//! `human`), one colour policy (`--color auto|always|never`; auto colours a terminal unless NO_COLOR is set), SARIF
//! 2.1.0 from findings, and the one printer of errors (secrets masked, control characters escaped).

use crate::findings::{Code, Finding, Location, Severity, RULES};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: one finding a line (lint: with the source line under it).
    #[value(alias = "text")]
    Human,
    /// For programs: one JSON object.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

/// `--color`: when to colour what people read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it).
    #[default]
    Auto,
    Always,
    Never,
}

/// Whether text written to standard output is coloured.
pub fn colored_stdout(when: ColorWhen) -> bool {
    choice(when, &std::io::stdout()) != anstream::ColorChoice::Never
}

/// Whether text written to standard error is coloured.
pub fn colored_stderr(when: ColorWhen) -> bool {
    choice(when, &std::io::stderr()) != anstream::ColorChoice::Never
}

/// Whether text written to the terminal device (`/dev/tty`, where a post-renderer talks to the person) is
/// coloured: unless NO_COLOR is set.
pub fn colored_terminal(tty: &std::fs::File) -> bool {
    anstream::AutoStream::choice(tty) != anstream::ColorChoice::Never
}

fn choice<S: anstream::stream::RawStream>(when: ColorWhen, stream: &S) -> anstream::ColorChoice {
    match when {
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
        ColorWhen::Auto => anstream::AutoStream::choice(stream),
    }
}

/// Writes `text` (which may hold ANSI styles) to standard output, styles kept or stripped as `when` says.
pub fn write_stdout(text: &str, when: ColorWhen) -> anyhow::Result<()> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = anstream::AutoStream::new(stdout.lock(), choice(when, &stdout));
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Writes plain text (JSON, SARIF) to standard output as it is.
pub fn write_plain(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// An error as the binary prints it: `opsta-lint: error: ` and its causes on one line, secrets masked and
/// control characters escaped.
pub fn error_line(err: &anyhow::Error) -> String {
    let message = crate::secrets::mask_message(&format!("{err:#}"));
    format!(
        "opsta-lint: error: {}",
        crate::printable::one_line(&message)
    )
}

/// Prints an error on standard error (the one place errors are printed).
pub fn print_error(err: &anyhow::Error) {
    eprintln!("{}", error_line(err));
}

/// Prints a warning about the run itself (not a finding) on standard error: `opsta-lint: warning: `, secrets
/// masked and control characters escaped.
pub fn print_warning(message: &str) {
    let message = crate::secrets::mask_message(message);
    eprintln!(
        "opsta-lint: warning: {}",
        crate::printable::one_line(&message)
    );
}

/// Findings as people read them on one line each (`file:line:col: severity[CODE]: message`), secrets masked and
/// control characters escaped.
pub fn finding_lines(findings: &[Finding]) -> String {
    let mut text = String::new();
    for finding in findings {
        let line = crate::secrets::mask_text(&finding.to_string());
        text.push_str(&crate::printable::one_line(&line));
        text.push('\n');
    }
    text
}

/// Prints findings on standard error, one line each.
pub fn print_findings(findings: &[Finding]) {
    eprint!("{}", finding_lines(findings));
}

/// A finding as one JSON object: its code, rule name, severity, message and where it points.
pub fn finding_json(finding: &Finding) -> serde_json::Value {
    let location = match &finding.location {
        Location::File {
            file,
            line,
            col,
            len,
            ..
        } => serde_json::json!({"kind": "file", "file": file, "line": line, "column": col,
            "endColumn": col + len}),
        Location::WholeFile { file } => serde_json::json!({"kind": "wholeFile", "file": file}),
        Location::Resource {
            kind,
            namespace,
            name,
            path,
        } => serde_json::json!({"kind": "resource", "resourceKind": kind, "namespace": namespace,
            "name": name, "path": path}),
        Location::Cluster {
            kind,
            namespace,
            name,
            container,
        } => serde_json::json!({"kind": "cluster", "resourceKind": kind, "namespace": namespace,
            "name": name, "container": container}),
        Location::CommandLine { arg } => serde_json::json!({"kind": "commandLine", "arg": arg}),
    };
    serde_json::json!({
        "code": finding.code,
        "name": finding.code.name(),
        "severity": finding.severity.as_str(),
        "message": finding.message,
        "location": location,
    })
}

// ---- SARIF ----

/// Where a SARIF result points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A file (a relative path or an absolute one) and a region in it (none when the line is 0).
    File {
        file: String,
        line: usize,
        col: usize,
        len: usize,
    },
    /// A resource or cluster object: its kind and its fully qualified name (`Pod/ns/name/container`).
    Logical { kind: String, name: String },
    /// Nowhere in particular (the command line).
    Nowhere,
}

/// One SARIF result: a finding, where it points, and its message as SARIF shows it.
pub struct SarifResult {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub place: Place,
}

/// The place a finding's own location gives: files as they are, resources and cluster objects as logical
/// locations, the command line nowhere.
pub fn place_of(finding: &Finding) -> Place {
    match &finding.location {
        Location::File {
            file,
            line,
            col,
            len,
            ..
        } => Place::File {
            file: file.clone(),
            line: *line,
            col: *col,
            len: *len,
        },
        Location::WholeFile { file } => Place::File {
            file: file.clone(),
            line: 0,
            col: 0,
            len: 0,
        },
        Location::Resource {
            kind,
            namespace,
            name,
            path,
        } => Place::Logical {
            kind: "resource".into(),
            name: [kind.as_str(), namespace, name, path]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("/"),
        },
        Location::Cluster {
            kind,
            namespace,
            name,
            container,
        } => Place::Logical {
            kind: "resource".into(),
            name: [
                Some(kind.as_str()),
                Some(namespace),
                Some(name),
                container.as_deref(),
            ]
            .into_iter()
            .flatten()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("/"),
        },
        Location::CommandLine { .. } => Place::Nowhere,
    }
}

/// The result of a finding at its own place.
pub fn result_of(finding: &Finding) -> SarifResult {
    SarifResult {
        code: finding.code,
        severity: finding.severity,
        message: finding.message.clone(),
        place: place_of(finding),
    }
}

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    column_kind: &'static str,
    results: Vec<ResultOut>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    rules: Vec<RuleOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleOut {
    id: &'static str,
    name: &'static str,
    short_description: Text<&'static str>,
    full_description: Text<&'static str>,
    help: Text<&'static str>,
    default_configuration: Configuration,
}

#[derive(Serialize)]
struct Text<T> {
    text: T,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultOut {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<LocationOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LocationOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    physical_location: Option<Physical>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    logical_locations: Vec<Logical>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical {
    artifact_location: Artifact,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize)]
struct Artifact {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Logical {
    fully_qualified_name: String,
    kind: String,
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A SARIF 2.1.0 log of one run: the rules of the job (those whose codes start with `prefix`) and every other rule
/// a result uses, in registry order, and the results, each pointing at its rule by index.
pub fn sarif(prefix: &str, results: &[SarifResult]) -> String {
    let listed: Vec<_> = RULES
        .iter()
        .filter(|r| r.code.as_str().starts_with(prefix) || results.iter().any(|x| x.code == r.code))
        .collect();
    let rules = listed
        .iter()
        .map(|r| RuleOut {
            id: r.code.as_str(),
            name: r.name,
            short_description: Text { text: r.summary },
            full_description: Text { text: r.doc },
            help: Text { text: r.doc },
            default_configuration: Configuration {
                level: level(r.severity),
            },
        })
        .collect();
    let results = results
        .iter()
        .map(|r| ResultOut {
            rule_id: r.code.as_str(),
            rule_index: listed
                .iter()
                .position(|l| l.code == r.code)
                .expect("every rule a result uses is listed"),
            level: level(r.severity),
            message: Text {
                text: r.message.clone(),
            },
            locations: location(&r.place).into_iter().collect(),
        })
        .collect();
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "opsta-lint",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules,
                },
            },
            column_kind: "unicodeCodePoints",
            results,
        }],
    };
    crate::printable::json(&log).expect("plain data serializes")
}

fn location(place: &Place) -> Option<LocationOut> {
    match place {
        Place::File {
            file,
            line,
            col,
            len,
        } => Some(LocationOut {
            physical_location: Some(Physical {
                artifact_location: Artifact { uri: uri(file) },
                region: (*line > 0).then(|| Region {
                    start_line: *line,
                    start_column: (*col).max(1),
                    end_line: *line,
                    end_column: (*col).max(1) + (*len).max(1),
                }),
            }),
            logical_locations: Vec::new(),
        }),
        Place::Logical { kind, name } => Some(LocationOut {
            physical_location: None,
            logical_locations: vec![Logical {
                fully_qualified_name: name.clone(),
                kind: kind.clone(),
            }],
        }),
        Place::Nowhere => None,
    }
}

/// What a URI path keeps as it is: the unreserved characters and `/`.
const URI_PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// A relative path as a URI reference (what code scanning resolves against the repository root), an absolute
/// one as a file URI.
pub fn uri(file: &str) -> String {
    let file = file.replace('\\', "/");
    let file = file.strip_prefix("./").unwrap_or(&file);
    let encoded = percent_encoding::utf8_percent_encode(file, URI_PATH).to_string();
    if file.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_references_or_file_uris() {
        assert_eq!(uri("./charts/my values.yaml"), "charts/my%20values.yaml");
        assert_eq!(uri("/abs/v.yaml"), "file:///abs/v.yaml");
        assert_eq!(uri("dir\\ü#.yaml"), "dir/%C3%BC%23.yaml");
    }

    #[test]
    fn errors_are_one_line_with_control_characters_escaped() {
        let err = anyhow::anyhow!("bad\u{1b}[2J\nline").context("reading x");
        let line = error_line(&err);
        assert!(
            line.starts_with("opsta-lint: error: reading x: bad")
                && !line.contains('\u{1b}')
                && !line.contains('\n'),
            "{line}"
        );
    }

    #[test]
    fn cluster_objects_become_logical_locations() {
        let finding = Finding::new(
            Code::VF001,
            Location::Cluster {
                kind: "Pod".into(),
                namespace: "ns".into(),
                name: "p".into(),
                container: Some("c".into()),
            },
            "not Ready".into(),
        );
        let log = sarif("VF", &[result_of(&finding)]);
        let value: serde_json::Value = serde_json::from_str(&log).unwrap();
        let result = &value["runs"][0]["results"][0];
        assert_eq!(result["ruleId"], "VF001");
        assert_eq!(
            result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "Pod/ns/p/c"
        );
        let rules = value["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(
            rules[result["ruleIndex"].as_u64().unwrap() as usize]["id"],
            "VF001"
        );
    }

    #[test]
    fn finding_lines_are_one_line_each_with_control_characters_escaped() {
        let finding = Finding::new(
            Code::PR008,
            Location::at("r.yaml", 2, 3),
            "bad\u{1b}[2J\nvalue".into(),
        );
        let text = finding_lines(&[finding.clone(), finding]);
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(
            text.starts_with("r.yaml:2:3: warning[PR008]: bad") && !text.contains('\u{1b}'),
            "{text}"
        );
    }

    #[test]
    fn a_finding_on_a_whole_file_names_the_file_without_a_region() {
        let finding = Finding::new(
            Code::PR022,
            Location::file("flux/hr.yaml"),
            "not pinned".into(),
        );
        assert_eq!(
            finding.to_string(),
            "flux/hr.yaml: error[PR022]: not pinned"
        );
        let log = sarif("PR", &[result_of(&finding)]);
        let value: serde_json::Value = serde_json::from_str(&log).unwrap();
        let location = &value["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "flux/hr.yaml");
        assert!(location.get("region").is_none(), "{location:#}");
    }

    #[test]
    fn a_rule_of_another_job_that_a_result_uses_is_listed_too() {
        let finding = Finding::new(Code::PR008, Location::at("r.yaml", 3, 5), "maybe".into());
        let log = sarif("OL", &[result_of(&finding)]);
        let value: serde_json::Value = serde_json::from_str(&log).unwrap();
        let rules = value["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        let index = value["runs"][0]["results"][0]["ruleIndex"]
            .as_u64()
            .unwrap();
        assert_eq!(rules[index as usize]["id"], "PR008");
        assert!(rules.iter().any(|r| r["id"] == "OL101"));
    }
}

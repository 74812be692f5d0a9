//! `opsta-lint postrender`: a Helm post-renderer that pins every image to the digest the release was tested with.
//!
//! Rendered manifests come in on stdin; the same bytes go out, except each image reference, which becomes
//! `name:tag@sha256:<digest>` in the quoting style it was written in (and moves under a mirror when asked).
//! Nothing else changes: comments, key order, `# Source:` lines, separators, CRLF, Helm 4's
//! `postrenderer.helm.sh/postrender-filename` annotations. The output depends only on the input and the lock,
//! so a second run changes nothing and Helm 4.2 may call it per file set.
//!
//! Fail closed: an image the lock does not hold, or a digest that differs from the lock's, exits 1 with nothing
//! on stdout. Helm 4 throws a post-renderer's stderr away, so findings also go to `--report FILE` and to the
//! controlling terminal.

use crate::findings::{Code, Finding, Location, Severity};
use crate::images_in;
use crate::lockfile::Lock;
use crate::mirror::Mirror;
use crate::pinning::{strict, Outcome, Pinning, HELM4_FILENAME_ANNOTATION};
use crate::product::Product;
use crate::source::Source;
use crate::{exit, secrets};
use anyhow::{Context, Result};
use std::io::{IsTerminal, Write};

// Arguments of `opsta-lint postrender`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The image lock: an opsta-lint ReleaseLock or a carvel imgpkg ImagesLock.
    #[arg(long, value_name = "FILE")]
    pub lock: String,
    /// After pinning, move images under a mirror: FROM is a registry (`docker.io`) or repository prefix
    /// (`public.ecr.aws/diagrid`), TO its copy. With any mirror, every image must end up under one.
    #[arg(long, value_name = "FROM=TO", value_parser = Mirror::parse)]
    pub mirror: Vec<Mirror>,
    /// The chart version for the product checks (default: the `helm.sh/chart` labels of the render).
    #[arg(long, value_name = "SEMVER")]
    pub chart_version: Option<String>,
    /// Let images missing from the lock through unpinned, with a warning, instead of failing.
    #[arg(long)]
    pub allow_unlocked: bool,
    /// Also look for images at PATH in resources of KIND (`Runner:spec.runner.image`; `[]` steps into each
    /// list item); repeatable. The lock's `fields:` list does the same.
    #[arg(long, value_name = "KIND:PATH", value_parser = images_in::Location::parse)]
    pub image_field: Vec<images_in::Location>,
    /// Make values that may be images (PR008, PR009) errors instead of warnings.
    #[arg(long)]
    pub strict: bool,
    /// Also write the findings to FILE, in the --output format (Helm 4 discards a post-renderer's stderr).
    #[arg(long, value_name = "FILE")]
    pub report: Option<String>,
    /// Format of the findings report: human lines, JSON or SARIF 2.1.0. It goes to --report FILE (else stderr),
    /// never to stdout, which carries the manifests.
    #[arg(short = 'o', long, value_enum, default_value = "human")]
    pub output: crate::output::Format,
    /// Rule codes (or names) whose warnings are not reported (comma-separated or repeated), e.g. PR007. Errors
    /// cannot be ignored: they stop the render.
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// The product whose checks apply (default: the lock's `product`, else the chart named by the
    /// `helm.sh/chart` labels). `opsta-lint versions` lists the products the data knows.
    #[arg(long, value_name = "NAME")]
    pub product: Option<String>,
    /// Read the manifests from FILE instead of stdin.
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub input: String,
    /// Show what the pinned output changes against the deployed manifest FILE (`helm get manifest`): on the
    /// terminal, in --diff-file, or on stderr; never on stdout. Secrets hidden.
    #[arg(long, value_name = "FILE")]
    pub diff_against: Option<String>,
    /// Write the --diff-against (or --release) report to FILE instead of the terminal.
    #[arg(long, value_name = "FILE")]
    pub diff_file: Option<String>,
    /// `--release NAME`: --diff-against the deployed release's manifest, read from the cluster.
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
}

pub fn run(args: &Args) -> Result<u8> {
    let ignored = Code::parse_list("PR", &args.ignore)?;
    let mut lock = Lock::read(&args.lock)?;
    lock.fields.extend(args.image_field.iter().cloned());
    crate::image_fields::Known::get()?;
    let products = Product::all()?;
    if let Some(name) = &args.product {
        Product::load(name)?;
    }
    let deployed = deployed_manifest(args)?;
    let (bom, source) = read_input(&args.input)?;
    let pinning = Pinning {
        lock: &lock,
        mirrors: &args.mirror,
        allow_unlocked: args.allow_unlocked,
        input_name: &source.name,
        products: &products,
        product: args.product.as_deref(),
        chart_version: args.chart_version.as_deref(),
    };
    let mut outcome = pinning.pin(&source.text)?;
    if args.strict {
        strict(&mut outcome.findings);
    }
    // Fail closed: an error stops the render whatever --ignore says.
    outcome
        .findings
        .retain(|f| f.severity == Severity::Error || !ignored.contains(&f.code));
    outcome
        .findings
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
    let summary = summary(&outcome, &lock);
    let report_to = Report {
        file: args.report.as_deref(),
        format: args.output,
        render: (args.input == "-").then_some(source.text.as_str()),
    };
    report(&outcome.findings, &summary, &report_to)?;
    if outcome.failed() {
        return Ok(exit::FINDINGS);
    }
    if let Some(deployed) = deployed {
        let pinned = Source::new(&source.name, outcome.pieces(&source.text).concat());
        crate::changes::show_to_person(&deployed, &pinned, args.diff_file.as_deref())?;
    }
    let mut out = std::io::stdout().lock();
    let write = |out: &mut std::io::StdoutLock| -> std::io::Result<()> {
        out.write_all(bom)?;
        for piece in outcome.pieces(&source.text) {
            out.write_all(piece.as_bytes())?;
        }
        out.flush()
    };
    write(&mut out).context("cannot write the pinned manifests to standard output")?;
    Ok(exit::OK)
}

/// The old side of the diff report: --diff-against FILE, else the deployed release's manifest (--release).
fn deployed_manifest(args: &Args) -> Result<Option<Source>> {
    match (&args.diff_against, &args.cluster.release) {
        (Some(file), _) => Source::read(file).map(Some),
        (None, Some(name)) => {
            let release = crate::helm_release::read_deployed(&args.cluster, name)?;
            Ok(Some(Source::new(release.source_name(), release.manifest)))
        }
        (None, None) if args.diff_file.is_some() => {
            anyhow::bail!("--diff-file needs --diff-against FILE or --release NAME")
        }
        (None, None) => Ok(None),
    }
}

/// The input text, and the byte-order mark it started with (kept for the output).
fn read_input(path: &str) -> Result<(&'static [u8], Source)> {
    const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];
    let (name, bytes) = crate::source::read_bytes(path)?;
    let bom = if bytes.starts_with(BOM) { BOM } else { &[][..] };
    Ok((bom, Source::from_bytes(&name, bytes)?))
}

fn summary(outcome: &Outcome, lock: &Lock) -> String {
    let errors = outcome
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if errors > 0 {
        format!(
            "opsta-lint postrender: {errors} error(s); nothing was written to standard output, so Helm stops here"
        )
    } else {
        format!(
            "opsta-lint postrender: {} image reference(s) checked against {} ({} image(s) locked), {} rewritten",
            outcome.references,
            lock.name,
            lock.len(),
            outcome.edits.len()
        )
    }
}

/// Where and how the findings are reported.
struct Report<'a> {
    file: Option<&'a str>,
    format: crate::output::Format,
    /// The render, when it came on stdin: SARIF names each result's file by its document's template.
    render: Option<&'a str>,
}

/// Findings go to stderr, to the report file, and to the terminal when stderr is not one (Helm 4 swallows it).
/// As JSON or SARIF they go to the report file (else stderr); people still get the lines on the terminal.
fn report(findings: &[Finding], summary: &str, to: &Report) -> Result<()> {
    use crate::output::Format;
    let human = format!("{}{summary}\n", crate::output::finding_lines(findings));
    let document = match to.format {
        Format::Human => human.clone(),
        Format::Json => secrets::mask_text(&json_report(findings, summary)),
        Format::Sarif => secrets::mask_text(&sarif_report(findings, to.render)),
    };
    let stderr_text = match (to.format, to.file) {
        (Format::Human, _) | (_, Some(_)) => &human,
        (_, None) => &document,
    };
    let _ = std::io::stderr().write_all(stderr_text.as_bytes());
    if let Some(path) = to.file {
        std::fs::write(path, &document)
            .with_context(|| format!("cannot write the report to {path}"))?;
    }
    if !findings.is_empty() && !std::io::stderr().is_terminal() {
        if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
            let _ = tty.write_all(human.as_bytes());
        }
    }
    Ok(())
}

/// The findings as JSON: code, name, severity, file, line, column and message of each, and the summary.
fn json_report(findings: &[Finding], summary: &str) -> String {
    let findings: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let (file, line, col) = match &f.location {
                Location::File {
                    file, line, col, ..
                } => (Some(file.as_str()), Some(*line), Some(*col)),
                Location::WholeFile { file } => (Some(file.as_str()), None, None),
                _ => (None, None, None),
            };
            serde_json::json!({
                "code": f.code, "name": f.code.name(), "severity": f.severity.as_str(),
                "file": file, "line": line, "column": col, "message": f.message,
            })
        })
        .collect();
    let value = serde_json::json!({ "findings": findings, "summary": summary });
    crate::printable::json(&value).unwrap_or_default()
}

/// The findings as SARIF. A render read from stdin has no file of its own: each result names the template its
/// document came from (the `# Source:` comment, or Helm 4's filename annotation), and the message keeps the
/// line of the render.
fn sarif_report(findings: &[Finding], render: Option<&str>) -> String {
    let documents = render.map(templates).unwrap_or_default();
    let results: Vec<crate::output::SarifResult> = findings
        .iter()
        .map(|f| {
            let mut result = crate::output::result_of(f);
            if let (Some(_), Location::File { line, col, .. }) = (render, &f.location) {
                let template = documents
                    .iter()
                    .rev()
                    .find(|(start, _)| start <= line)
                    .and_then(|(_, name)| name.clone());
                result.message = format!("rendered line {line}, column {col}: {}", f.message);
                result.place = match template {
                    Some(file) => crate::output::Place::File {
                        file,
                        line: 0,
                        col: 0,
                        len: 0,
                    },
                    None => crate::output::Place::Nowhere,
                };
            }
            result
        })
        .collect();
    crate::output::sarif("PR", &results)
}

/// The documents of a render: the line each starts on, and the template it came from, when it says.
fn templates(render: &str) -> Vec<(usize, Option<String>)> {
    let mut documents = vec![(1, None)];
    for (i, line) in render.lines().enumerate() {
        let line_number = i + 1;
        let trimmed = line.trim_end_matches('\r');
        if trimmed == "---" || trimmed.starts_with("--- ") {
            documents.push((line_number + 1, None));
            continue;
        }
        let named = trimmed
            .strip_prefix("# Source: ")
            .or_else(|| {
                let rest = trimmed
                    .trim_start()
                    .strip_prefix(HELM4_FILENAME_ANNOTATION)?;
                rest.strip_prefix(':')
            })
            .map(|name| name.trim().trim_matches(['"', '\'']).to_string())
            .filter(|name| !name.is_empty());
        if let (Some(name), Some(last)) = (named, documents.last_mut()) {
            if last.1.is_none() {
                last.1 = Some(name);
            }
        }
    }
    documents
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_the_file_of_a_whole_file_finding() {
        let finding = Finding::new(Code::PR023, Location::file("hr.yaml"), "opaque".into());
        let value: serde_json::Value =
            serde_json::from_str(&json_report(&[finding], "done")).unwrap();
        let found = &value["findings"][0];
        assert_eq!(
            (&found["file"], &found["line"]),
            (&serde_json::json!("hr.yaml"), &serde_json::Value::Null)
        );
    }

    #[test]
    fn names_each_document_by_its_template() {
        let render = format!(
            "---\n# Source: c/templates/a.yaml\nkind: Pod\n---\nkind: Job\nmetadata:\n  annotations:\n    \
             {HELM4_FILENAME_ANNOTATION}: 'c/templates/hooks/b.yaml'\n---\nkind: X\n"
        );
        assert_eq!(
            templates(&render),
            [
                (1, None),
                (2, Some("c/templates/a.yaml".to_string())),
                (5, Some("c/templates/hooks/b.yaml".to_string())),
                (10, None)
            ]
        );
    }
}

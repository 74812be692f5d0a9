//! The registry jobs: `lock resolve` writes a lock from the registries, `mirror-check` proves a mirror holds every
//! locked digest, `lock verify` catches tags moved to another digest. The asking is `crate::oci`'s.
//!
//! Could-not-run problems (an unreachable registry, a TLS failure, refused credentials, 429 after the retries)
//! are errors: one line, exit 2. A missing or moved image is a finding with an RG code: exit 1.

#[cfg(feature = "registry")]
mod commands;

use crate::mirror::Mirror;
use crate::oci::Finding;
use anyhow::Result;

pub use crate::output::Format;

pub use crate::registry_args::{Options, RegistryArgs};

/// Arguments of `opsta-lint lock resolve`.
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// The rendered release (`helm template ...` output); `-` reads standard input.
    #[arg(long, value_name = "FILE", default_value = "-")]
    pub from_manifest: String,
    /// The product written into the lock (default: the chart the render's helm.sh/chart labels name).
    #[arg(long, value_name = "NAME")]
    pub product: Option<String>,
    /// The chart version written into the lock as `version` (default: from the helm.sh/chart labels).
    #[arg(long, value_name = "SEMVER")]
    pub chart_version: Option<String>,
    /// A platform every image must provide, os/arch[/variant] (repeatable): a finding for each image without it.
    #[arg(long, value_name = "OS/ARCH", value_parser = parse_platform)]
    pub platform: Vec<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `opsta-lint lock verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The lock: an opsta-lint ReleaseLock or a carvel imgpkg ImagesLock.
    #[arg(value_name = "FILE")]
    pub lock: String,
    /// Check the tags in the mirror instead of upstream: FROM is a registry or repository prefix, TO its copy.
    #[arg(long, value_name = "FROM=TO", value_parser = Mirror::parse)]
    pub mirror: Vec<Mirror>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "human")]
    pub output: Format,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

// Arguments of `opsta-lint mirror-check`.
#[derive(Debug, clap::Args)]
pub struct MirrorCheckArgs {
    /// The lock: an opsta-lint ReleaseLock or a carvel imgpkg ImagesLock.
    #[arg(long, value_name = "FILE")]
    pub lock: String,
    /// A mirror: FROM is a registry (`docker.io`) or repository prefix (`ghcr.io/dapr`), TO its copy
    /// (`registry.corp/dapr`), as in `postrender --mirror`. Every locked image must be under one.
    #[arg(long, value_name = "FROM=TO", value_parser = Mirror::parse, required = true)]
    pub mirror: Vec<Mirror>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "human")]
    pub output: Format,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

fn parse_platform(text: &str) -> Result<String, String> {
    crate::lockfile::check_platform(text).map(|()| text.to_string())
}

/// `opsta-lint lock resolve`.
pub fn run_resolve(args: &ResolveArgs) -> Result<u8> {
    #[cfg(feature = "registry")]
    return commands::resolve(args);
    #[cfg(not(feature = "registry"))]
    without_registry(&args.registry)
}

/// `opsta-lint lock verify`.
pub fn run_verify(args: &VerifyArgs) -> Result<u8> {
    #[cfg(feature = "registry")]
    return commands::verify(args);
    #[cfg(not(feature = "registry"))]
    without_registry(&args.registry)
}

/// `opsta-lint mirror-check`.
pub fn run_mirror_check(args: &MirrorCheckArgs) -> Result<u8> {
    #[cfg(feature = "registry")]
    return commands::mirror_check(args);
    #[cfg(not(feature = "registry"))]
    without_registry(&args.registry)
}

#[cfg(not(feature = "registry"))]
fn without_registry(_: &RegistryArgs) -> Result<u8> {
    anyhow::bail!(
        "this opsta-lint was built without the `registry` feature, so it cannot ask registries"
    )
}

/// Findings as people read them (one line each, a fix line under it) or as JSON, and the summary line.
pub fn render(findings: &[Finding], summary: &str, format: Format) -> String {
    use crate::printable::one_line;
    match format {
        Format::Human => {
            let mut out = String::new();
            for f in findings {
                out.push_str(&format!(
                    "{}[{}]: {}\n",
                    f.severity,
                    f.code,
                    one_line(&f.message)
                ));
                if let Some(fix) = &f.fix {
                    out.push_str(&format!("  fix: {}\n", one_line(fix)));
                }
            }
            out.push_str(summary);
            out.push('\n');
            out
        }
        Format::Json => {
            let value = serde_json::json!({ "findings": findings, "summary": summary });
            crate::printable::json(&value).unwrap_or_default()
        }
        Format::Sarif => {
            let results: Vec<crate::output::SarifResult> = findings
                .iter()
                .map(|f| crate::output::SarifResult {
                    code: f.code,
                    severity: f.code.severity(),
                    message: f.message.clone(),
                    place: crate::output::Place::Logical {
                        kind: "object".into(),
                        name: f.image.clone(),
                    },
                })
                .collect();
            crate::output::sarif("RG", &results)
        }
    }
}

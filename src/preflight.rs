//! `opsta-lint preflight --release NAME -n NS --chart-version V`: what must hold before an upgrade is applied,
//! each check a rule with a PF code (`src/preflight_checks/`, which `upgrade` runs too).

use crate::preflight_checks::{self as checks, Plan};
use anyhow::{bail, Result};

/// The end of `--help`: one example and the exit codes.
pub const HELP_FOOTER: &str = "\
Example:
  opsta-lint preflight --release cat -n cra-agent --chart-version 1.76.0 --lock lock.yaml

Exit codes:
  0  every check passed (warnings are listed to confirm)
  1  a check failed (the findings say which and why)
  2  could not run: bad arguments, the cluster or a registry failed";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
    /// The chart version the upgrade goes to.
    #[arg(long, value_name = "SEMVER")]
    pub chart_version: String,
    /// The image lock the upgrade will pin with: it must be for --chart-version.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<String>,
    /// The values files the upgrade applies, in order (default: the deployed release's values).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<String>,
    /// Accept an upgrade across chart majors (after following the vendor's upgrade guide).
    #[arg(long)]
    pub allow_major: bool,
    /// Opsta AI Gateway: how old the control-plane PostgreSQL's newest completed backup may be (s, m, h, d).
    #[arg(long, value_name = "AGE", default_value = "24h", value_parser = crate::duration::parse_age)]
    pub backup_max_age: u64,
    /// A mirror the cluster pulls from (FROM=TO): it must hold every digest of --lock.
    #[arg(long, value_name = "FROM=TO", value_parser = mirror)]
    pub mirror: Vec<String>,
    #[command(flatten)]
    pub registry: crate::registry_args::RegistryArgs,
}

fn mirror(text: &str) -> Result<String, String> {
    crate::mirror::Mirror::parse(text).map(|_| text.to_string())
}

/// `opsta-lint preflight`.
pub fn run(args: &Args) -> Result<u8> {
    let Some(name) = &args.cluster.release else {
        bail!("preflight needs the release: --release NAME -n NAMESPACE");
    };
    let deployed = crate::helm_release::read_deployed(&args.cluster, name)?;
    let values = if args.values.is_empty() {
        deployed.config.clone()
    } else {
        checks::merged_values(&args.values)?
    };
    let findings = checks::check(&Plan {
        cluster: &args.cluster,
        deployed: &deployed,
        target: &args.chart_version,
        lock: args.lock.as_deref(),
        allow_major: args.allow_major,
        backup_max_age: args.backup_max_age,
        values: Some(&values),
        mirrors: &args.mirror,
        registry: &args.registry,
    })?;
    for finding in &findings {
        print!("{}", finding.printed());
    }
    if findings.iter().any(checks::Finding::is_error) {
        return Ok(crate::exit::FINDINGS);
    }
    println!(
        "preflight: release {name} (chart {} {}, revision {}) can go to {}",
        deployed.chart_name, deployed.chart_version, deployed.revision, args.chart_version
    );
    Ok(crate::exit::OK)
}

//! `opsta-lint preflight --release NAME -n NS --chart-version V`: what must hold before an upgrade is applied,
//! each check a rule with a PF code. `upgrade` runs the same checks.

use crate::findings::Code;
use crate::helm_release::Release;
use anyhow::{bail, Context, Result};
use semver::Version;
use std::process::Command;

/// The end of `--help`: one example and the exit codes.
pub const HELP_FOOTER: &str = "\
Example:
  opsta-lint preflight --release cat -n cra-agent --chart-version 1.76.0 --lock lock.yaml

Exit codes:
  0  every check passed
  1  a check failed (the findings say which and why)
  2  could not run: bad arguments, helm or the cluster failed";

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
    /// Accept an upgrade across chart majors (after following the vendor's upgrade guide).
    #[arg(long)]
    pub allow_major: bool,
    /// The helm binary (default: HELM_BIN, which helm sets for plugins, then `helm` on PATH).
    #[arg(long, value_name = "PATH", env = "HELM_BIN")]
    pub helm: Option<String>,
}

/// What the checks look at.
pub struct Plan<'a> {
    pub helm: &'a str,
    /// helm's --namespace, --kube-context, --kubeconfig flags.
    pub helm_flags: &'a [String],
    pub deployed: &'a Release,
    pub target: &'a str,
    pub lock: Option<&'a str>,
    pub allow_major: bool,
}

/// Every failed check as `error[PFnnn]: sentence`.
pub fn check(plan: &Plan) -> Result<Vec<String>> {
    let mut findings = Vec::new();
    findings.extend(pending(plan)?);
    findings.extend(lock_version(plan)?);
    findings.extend(versions(plan)?);
    Ok(findings)
}

fn finding(code: Code, text: String) -> String {
    format!("error[{code}]: {text}")
}

/// PF001: helm status (the latest revision, whatever its state).
fn pending(plan: &Plan) -> Result<Option<String>> {
    let name = &plan.deployed.name;
    let out = Command::new(plan.helm)
        .args(plan.helm_flags)
        .args(["status", name, "-o", "json"])
        .output()
        .with_context(|| format!("cannot run helm ({})", plan.helm))?;
    if !out.status.success() {
        let stderr = crate::secrets::mask_message(&String::from_utf8_lossy(&out.stderr));
        bail!(
            "helm status failed (helm exit {}): {}",
            out.status.code().unwrap_or(-1),
            stderr.trim()
        );
    }
    let status: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("helm status -o json printed no JSON")?;
    let state = status["info"]["status"].as_str().unwrap_or_default();
    Ok(state.starts_with("pending").then(|| {
        finding(
            Code::PF001,
            format!(
                "release {name} is {state} (revision {}): another helm operation is running or died midway; wait \
                 for it, or roll back to the last deployed revision (`helm rollback {name} {}`)",
                status["version"], plan.deployed.revision
            ),
        )
    }))
}

/// PF003: the lock names the target version.
fn lock_version(plan: &Plan) -> Result<Option<String>> {
    let Some(path) = plan.lock else {
        return Ok(None);
    };
    let lock = crate::lockfile::Lock::read(path)?;
    let Some(version) = lock.version.as_deref() else {
        return Ok(None);
    };
    let same = version.trim_start_matches('v') == plan.target.trim_start_matches('v');
    Ok((!same).then(|| {
        finding(
            Code::PF003,
            format!(
                "{path} is the lock of version {version}, not of chart {}: use the lock of the version you install",
                plan.target
            ),
        )
    }))
}

/// PF004 and PF005: the move from the deployed chart version to the target.
fn versions(plan: &Plan) -> Result<Option<String>> {
    let from = crate::product::parse_version(&plan.deployed.chart_version)?;
    let to = crate::product::parse_version(plan.target)?;
    Ok(version_move(
        &from,
        &to,
        plan.allow_major,
        &plan.deployed.chart_name,
    ))
}

fn version_move(from: &Version, to: &Version, allow_major: bool, chart: &str) -> Option<String> {
    if to < from {
        let mut text = format!(
            "chart {to} is older than the deployed {from}: a downgrade is refused (database migrations are \
             forward-only; `helm rollback` does not undo them)"
        );
        if chart == "opsta-ai-gateway" {
            text.push_str(
                "; to go back, restore the pre-upgrade backup of the control-plane PostgreSQL",
            );
        }
        return Some(finding(Code::PF005, text));
    }
    if to.major != from.major && !allow_major {
        return Some(finding(
            Code::PF004,
            format!(
                "the upgrade from {from} to {to} crosses chart major {}: follow the vendor's upgrade guide for the \
                 major, then pass --allow-major",
                to.major
            ),
        ));
    }
    None
}

/// `opsta-lint preflight`.
pub fn run(args: &Args) -> Result<u8> {
    let Some(name) = &args.cluster.release else {
        bail!("preflight needs the release: --release NAME -n NAMESPACE");
    };
    let deployed = crate::helm_release::read_deployed(&args.cluster, name)?;
    let helm = args.helm.clone().unwrap_or_else(|| "helm".into());
    let flags = crate::cluster::helm_flags(&args.cluster);
    let findings = check(&Plan {
        helm: &helm,
        helm_flags: &flags,
        deployed: &deployed,
        target: &args.chart_version,
        lock: args.lock.as_deref(),
        allow_major: args.allow_major,
    })?;
    for line in &findings {
        println!("{}", crate::printable::one_line(line));
    }
    if findings.is_empty() {
        println!(
            "preflight: release {name} (chart {} {}, revision {}) can go to {}",
            deployed.chart_name, deployed.chart_version, deployed.revision, args.chart_version
        );
        return Ok(crate::exit::OK);
    }
    Ok(crate::exit::FINDINGS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn downgrades_are_refused_and_majors_need_the_flag() {
        assert!(version_move(&v("1.75.0"), &v("1.76.0"), false, "catalyst").is_none());
        let down = version_move(&v("1.76.0"), &v("1.75.0"), true, "opsta-ai-gateway").unwrap();
        assert!(
            down.starts_with("error[PF005]") && down.contains("restore the pre-upgrade backup")
        );
        let major = version_move(&v("0.9.0"), &v("1.0.0"), false, "catalyst").unwrap();
        assert!(major.starts_with("error[PF004]"), "{major}");
        assert!(version_move(&v("0.9.0"), &v("1.0.0"), true, "catalyst").is_none());
    }
}

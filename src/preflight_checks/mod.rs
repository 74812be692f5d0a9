//! The checks that must pass before an upgrade is applied, each a rule with a PF code (RG for the mirror). The
//! `preflight` and `upgrade` jobs both run them; they sit below the jobs.

mod backup;
mod dapr;
mod stores;
mod time;

pub use time::rfc3339;

use crate::cluster::ClusterArgs;
use crate::findings::{Code, Severity};
use crate::helm_release::Release;
use crate::product::Product;
use anyhow::{bail, Context, Result};
use semver::Version;
use serde_json::Value as Json;

/// What the checks look at.
pub struct Plan<'a> {
    pub cluster: &'a ClusterArgs,
    pub deployed: &'a Release,
    pub target: &'a str,
    pub lock: Option<&'a str>,
    pub allow_major: bool,
    /// Seconds a backup may be old (Opsta AI Gateway's control-plane PostgreSQL).
    pub backup_max_age: u64,
    /// The values the upgrade applies (Catalyst: the external stores to back up). None: `values_checks` runs
    /// later (upgrade: on the values as helm merged them for the render).
    pub values: Option<&'a Json>,
    /// `--mirror FROM=TO`: the mirrors must hold every locked digest.
    pub mirrors: &'a [String],
    pub registry: &'a crate::registry_args::RegistryArgs,
}

/// One check that did not pass; its severity is the rule's (an error stops the upgrade, a warning is shown for
/// the person to confirm).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub code: Code,
    pub text: String,
    /// What to run to fix it (lines of shell or YAML), printed under the finding as it is.
    pub fix: Option<String>,
}

impl Finding {
    fn new(code: Code, text: String) -> Finding {
        Finding {
            code,
            text,
            fix: None,
        }
    }

    /// The finding for a terminal: one line (text from the cluster cannot start a line of its own), then the fix.
    pub fn printed(&self) -> String {
        let mut out = format!("{}\n", crate::printable::one_line(&self.to_string()));
        if let Some(fix) = &self.fix {
            out.push_str(&crate::printable::message(fix));
            if !fix.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }

    pub fn is_error(&self) -> bool {
        self.code.rule().severity == Severity::Error
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}[{}]: {}",
            self.code.rule().severity,
            self.code,
            self.text
        )
    }
}

/// Every check that did not pass, errors and warnings, in the order they ran.
pub fn check(plan: &Plan) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    findings.extend(pending(plan)?);
    findings.extend(lock_version(plan)?);
    findings.extend(versions(plan)?);
    let product = product_of(plan.deployed)?;
    match product.as_ref().map(|p| p.name.as_str()) {
        Some("opsta-ai-gateway") => findings.extend(backup::check(plan)?),
        Some("catalyst") => {
            if let Some(values) = plan.values {
                findings.extend(values_checks(plan.deployed, values)?);
            }
            let product = product.as_ref().expect("matched above");
            findings.extend(dapr::check(plan, product)?);
        }
        _ => {}
    }
    findings.extend(mirrors(plan)?);
    Ok(findings)
}

/// The checks on the values the upgrade applies (PF007, Catalyst: the external stores to back up).
pub fn values_checks(deployed: &Release, values: &Json) -> Result<Vec<Finding>> {
    let product = product_of(deployed)?;
    Ok(match product.map(|p| p.name) {
        Some(name) if name == "catalyst" => stores::check(values).into_iter().collect(),
        _ => Vec::new(),
    })
}

fn product_of(deployed: &Release) -> Result<Option<Product>> {
    Ok(Product::all()?
        .into_iter()
        .find(|p| p.chart == deployed.chart_name))
}

/// The values files merged in order as Helm merges them (maps key by key, anything else replaced).
pub fn merged_values(files: &[String]) -> Result<Json> {
    let mut merged = Json::Object(Default::default());
    for file in files {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
        let docs = crate::yaml::parse(&text)
            .map_err(|e| anyhow::anyhow!("{file}:{}:{}: {}", e.line, e.col, e.message))?;
        if let Some(doc) = docs.first() {
            merge(&mut merged, doc.to_json());
        }
    }
    Ok(merged)
}

fn merge(into: &mut Json, from: Json) {
    match (into, from) {
        (Json::Object(into), Json::Object(from)) => {
            for (key, value) in from {
                match into.get_mut(&key) {
                    Some(slot) => merge(slot, value),
                    None => {
                        into.insert(key, value);
                    }
                }
            }
        }
        (slot, value) => *slot = value,
    }
}

/// PF001: the latest revision's status, as `helm status` gives it (the stored revisions' labels).
fn pending(plan: &Plan) -> Result<Option<Finding>> {
    let name = &plan.deployed.name;
    let Some((revision, state)) = latest_revision(plan.cluster, name)? else {
        return Ok(None);
    };
    Ok(state.starts_with("pending").then(|| {
        Finding::new(
            Code::PF001,
            format!(
                "release {name} is {state} (revision {revision}): another helm operation is running or died \
                 midway; wait for it, or roll back to the last deployed revision (`helm rollback {name} {}`)",
                plan.deployed.revision
            ),
        )
    }))
}

#[cfg(feature = "cluster")]
fn latest_revision(cluster: &ClusterArgs, name: &str) -> Result<Option<(u64, String)>> {
    crate::cluster::Cluster::connect(cluster)?.latest_revision(name)
}

#[cfg(not(feature = "cluster"))]
fn latest_revision(_cluster: &ClusterArgs, name: &str) -> Result<Option<(u64, String)>> {
    bail!("cannot read release {name}: this opsta-lint was built without the `cluster` feature")
}

/// PF003: the lock names the target version.
fn lock_version(plan: &Plan) -> Result<Option<Finding>> {
    let Some(path) = plan.lock else {
        return Ok(None);
    };
    let lock = crate::lockfile::Lock::read(path)?;
    let Some(version) = lock.version.as_deref() else {
        return Ok(None);
    };
    let same = version.trim_start_matches('v') == plan.target.trim_start_matches('v');
    Ok((!same).then(|| {
        Finding::new(
            Code::PF003,
            format!(
                "{path} is the lock of version {version}, not of chart {}: use the lock of the version you install",
                plan.target
            ),
        )
    }))
}

/// PF004 and PF005: the move from the deployed chart version to the target.
fn versions(plan: &Plan) -> Result<Option<Finding>> {
    let from = crate::product::parse_version(&plan.deployed.chart_version)?;
    let to = crate::product::parse_version(plan.target)?;
    Ok(version_move(
        &from,
        &to,
        plan.allow_major,
        &plan.deployed.chart_name,
    ))
}

fn version_move(from: &Version, to: &Version, allow_major: bool, chart: &str) -> Option<Finding> {
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
        return Some(Finding::new(Code::PF005, text));
    }
    if to.major != from.major && !allow_major {
        return Some(Finding::new(
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

/// RG001, RG005 (the mirror-check): with `--mirror`, every locked digest must be in its mirror before anything
/// is applied.
fn mirrors(plan: &Plan) -> Result<Vec<Finding>> {
    if plan.mirrors.is_empty() {
        return Ok(Vec::new());
    }
    let Some(path) = plan.lock else {
        bail!("--mirror needs --lock: the mirror is checked for the digests the lock holds");
    };
    let mirrors = plan
        .mirrors
        .iter()
        .map(|m| crate::mirror::Mirror::parse(m).map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;
    let lock = crate::lockfile::Lock::read(path)?;
    mirror_findings(&lock, &mirrors, plan.registry)
}

#[cfg(feature = "registry")]
fn mirror_findings(
    lock: &crate::lockfile::Lock,
    mirrors: &[crate::mirror::Mirror],
    registry: &crate::registry_args::RegistryArgs,
) -> Result<Vec<Finding>> {
    let found = crate::oci::mirror_findings(lock, mirrors, &registry.options())?;
    Ok(found
        .into_iter()
        .map(|f| {
            let mut finding = Finding::new(f.code, format!("{} ({})", f.message, f.image));
            finding.fix = f.fix;
            finding
        })
        .collect())
}

#[cfg(not(feature = "registry"))]
fn mirror_findings(
    _lock: &crate::lockfile::Lock,
    _mirrors: &[crate::mirror::Mirror],
    _registry: &crate::registry_args::RegistryArgs,
) -> Result<Vec<Finding>> {
    bail!("--mirror needs the `registry` feature, and this opsta-lint was built without it")
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
        let down = down.to_string();
        assert!(
            down.starts_with("error[PF005]") && down.contains("restore the pre-upgrade backup"),
            "{down}"
        );
        let major = version_move(&v("0.9.0"), &v("1.0.0"), false, "catalyst").unwrap();
        assert!(major.to_string().starts_with("error[PF004]"), "{major}");
        assert!(version_move(&v("0.9.0"), &v("1.0.0"), true, "catalyst").is_none());
    }
}

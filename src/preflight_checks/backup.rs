//! PF006 (Opsta AI Gateway): the control-plane PostgreSQL, a CloudNativePG `Cluster` (postgresql.cnpg.io/v1) in
//! the release namespace, has a backup taken within `--backup-max-age` (every `Cluster` of the namespace is
//! checked: Keycloak's database too, where the product runs one). A `Backup` counts when its `status.phase`
//! is `completed`, at `status.stoppedAt` (else `status.startedAt`); a `ScheduledBackup` counts through the
//! `Backup` objects it creates, so a failed scheduled run does not count. The vendor's migrations are
//! forward-only: the backup is the only way back.

use super::time::{now, parse_rfc3339, shown};
use super::{Finding, Plan};
use crate::findings::Code;
use anyhow::Result;
use serde_json::Value as Json;

/// What the cluster holds in the release namespace: each list `None` when the kind is not served (no CRD).
pub struct Objects {
    pub clusters: Option<Vec<Json>>,
    pub backups: Vec<Json>,
    pub scheduled: Vec<Json>,
}

pub fn check(plan: &Plan) -> Result<Vec<Finding>> {
    let namespace = &plan.deployed.namespace;
    let objects = read(plan, namespace)?;
    Ok(judge(
        namespace,
        &objects,
        now(),
        plan.backup_max_age as i64,
        plan.target,
    ))
}

#[cfg(feature = "cluster")]
fn read(plan: &Plan, namespace: &str) -> Result<Objects> {
    use crate::cluster::{Cluster, CustomKind};
    let kind = |kind, plural| CustomKind {
        group: "postgresql.cnpg.io",
        version: "v1",
        kind,
        plural,
    };
    let cluster = Cluster::connect(plan.cluster)?;
    let list = |k: CustomKind| cluster.custom_objects(namespace, &k);
    Ok(Objects {
        clusters: list(kind("Cluster", "clusters"))?,
        backups: list(kind("Backup", "backups"))?.unwrap_or_default(),
        scheduled: list(kind("ScheduledBackup", "scheduledbackups"))?.unwrap_or_default(),
    })
}

#[cfg(not(feature = "cluster"))]
fn read(_plan: &Plan, _namespace: &str) -> Result<Objects> {
    anyhow::bail!(
        "cannot check the PostgreSQL backup: this opsta-lint was built without the `cluster` feature"
    )
}

fn name(object: &Json) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

fn of_cluster<'a>(objects: &'a [Json], cluster: &'a str) -> impl Iterator<Item = &'a Json> {
    objects
        .iter()
        .filter(move |o| o["spec"]["cluster"]["name"].as_str() == Some(cluster))
}

/// When a backup ended (else started), in seconds since the epoch.
fn backup_time(backup: &Json) -> Option<i64> {
    let status = &backup["status"];
    let at = status["stoppedAt"]
        .as_str()
        .or_else(|| status["startedAt"].as_str())?;
    parse_rfc3339(at)
}

fn phase(backup: &Json) -> &str {
    backup["status"]["phase"].as_str().unwrap_or("")
}

/// The findings for every CloudNativePG Cluster of the namespace at time `now`.
pub fn judge(
    namespace: &str,
    objects: &Objects,
    now: i64,
    max_age: i64,
    target: &str,
) -> Vec<Finding> {
    let clusters = objects.clusters.as_deref().unwrap_or_default();
    if clusters.is_empty() {
        let why = if objects.clusters.is_none() {
            "the cluster does not serve postgresql.cnpg.io/v1 (CloudNativePG is not installed)"
        } else {
            "there is none"
        };
        return vec![Finding::new(
            Code::PF006,
            format!(
                "no CloudNativePG Cluster found in namespace {namespace} ({why}): the control-plane PostgreSQL \
                 cannot be checked for a backup; its migrations are forward-only, so back it up before the upgrade"
            ),
        )];
    }
    let mut findings = Vec::new();
    for cluster in clusters {
        let cluster_name = name(cluster);
        let fresh = of_cluster(&objects.backups, cluster_name)
            .any(|b| phase(b) == "completed" && backup_time(b).is_some_and(|t| now - t <= max_age));
        if fresh {
            continue;
        }
        let found = history(objects, cluster_name, now);
        let mut finding = Finding::new(
            Code::PF006,
            format!(
                "Opsta AI Gateway's PostgreSQL (CloudNativePG Cluster {cluster_name} in {namespace}) has no \
                 completed backup from the last {} (--backup-max-age): {found}. Its database migrations are \
                 forward-only and `helm rollback` does not undo them: take a backup (below), wait until `kubectl \
                 get backup -n {namespace}` shows it completed, then run the upgrade again",
                shown(max_age)
            ),
        );
        finding.fix = Some(backup_manifest(cluster, namespace, target));
        findings.push(finding);
    }
    findings
}

/// What the namespace says about the cluster's backups: the newest completed one, failed ones, the schedules.
fn history(objects: &Objects, cluster: &str, now: i64) -> String {
    if of_cluster(&objects.backups, cluster).next().is_none()
        && of_cluster(&objects.scheduled, cluster).next().is_none()
    {
        return "there is no Backup or ScheduledBackup of it".to_string();
    }
    let mut said = Vec::new();
    let newest = |wanted: &dyn Fn(&str) -> bool| {
        of_cluster(&objects.backups, cluster)
            .filter(|b| wanted(phase(b)))
            .max_by_key(|b| backup_time(b).unwrap_or(i64::MIN))
    };
    match newest(&|p| p == "completed") {
        Some(b) => said.push(match backup_time(b) {
            Some(t) => format!(
                "the newest completed Backup, {}, is {} old",
                name(b),
                shown(now - t)
            ),
            None => format!("the completed Backup {} says no time", name(b)),
        }),
        None => said.push("no Backup of it has completed".to_string()),
    }
    if let Some(b) = newest(&|p| p == "failed") {
        let error = b["status"]["error"].as_str().unwrap_or("no error given");
        said.push(format!("Backup {} failed ({error})", name(b)));
    }
    if let Some(b) = newest(&|p| p != "completed" && p != "failed") {
        let state = if phase(b).is_empty() { "new" } else { phase(b) };
        said.push(format!("Backup {} is {state}, not completed", name(b)));
    }
    for schedule in of_cluster(&objects.scheduled, cluster) {
        let mut text = format!("ScheduledBackup {}", name(schedule));
        if schedule["spec"]["suspend"].as_bool() == Some(true) {
            text.push_str(" is suspended");
        }
        match schedule["status"]["lastScheduleTime"]
            .as_str()
            .and_then(parse_rfc3339)
        {
            Some(t) => text.push_str(&format!(" last ran {} ago", shown(now - t))),
            None => text.push_str(" has not run yet"),
        }
        said.push(text);
    }
    said.join("; ")
}

/// A kubectl-ready command that takes an on-demand backup of `cluster` by the method the cluster is set up for.
fn backup_manifest(cluster: &Json, namespace: &str, target: &str) -> String {
    use crate::printable::shown;
    let cluster_name = name(cluster);
    let spec = &cluster["spec"];
    let method = if spec["backup"]["barmanObjectStore"].is_object() {
        "  method: barmanObjectStore\n".to_string()
    } else if spec["backup"]["volumeSnapshot"].is_object() {
        "  method: volumeSnapshot\n".to_string()
    } else {
        // The vendor's backup-and-dr.md: the Barman Cloud plugin (the default when backup.enabled is true).
        "  method: plugin\n  pluginConfiguration:\n    name: barman-cloud.cloudnative-pg.io\n"
            .to_string()
    };
    let backup_name = format!(
        "{cluster_name}-pre-upgrade-{}",
        target.replace(['.', '+'], "-")
    );
    format!(
        "kubectl apply -f - <<'EOF'\napiVersion: postgresql.cnpg.io/v1\nkind: Backup\nmetadata:\n  name: {}\n  \
         namespace: {}\nspec:\n  cluster:\n    name: {}\n{method}EOF\n",
        shown(&backup_name.to_ascii_lowercase()),
        shown(namespace),
        shown(cluster_name)
    )
}

#[cfg(test)]
mod tests {
    use super::super::time::rfc3339;
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_767_225_600;
    const DAY: i64 = 86400;

    fn backup(name: &str, phase: &str, age: i64) -> Json {
        json!({"metadata": {"name": name}, "spec": {"cluster": {"name": "opsta-pg"}},
            "status": {"phase": phase, "startedAt": rfc3339(NOW - age - 60), "stoppedAt": rfc3339(NOW - age),
                "error": if phase == "failed" { "can't upload WAL" } else { "" }}})
    }

    fn objects(backups: Vec<Json>, scheduled: Vec<Json>) -> Objects {
        Objects {
            clusters: Some(vec![json!({"metadata": {"name": "opsta-pg"}, "spec": {}})]),
            backups,
            scheduled,
        }
    }

    #[test]
    fn a_completed_backup_within_the_age_passes() {
        let fresh = objects(vec![backup("b1", "completed", 3600)], vec![]);
        assert!(judge("ns", &fresh, NOW, DAY, "1.25.0").is_empty());
    }

    #[test]
    fn stale_failed_running_and_missing_backups_stop_with_a_manifest() {
        let schedule = json!({"metadata": {"name": "nightly"}, "spec": {"cluster": {"name": "opsta-pg"}},
            "status": {"lastScheduleTime": rfc3339(NOW - 2 * 3600)}});
        let cases = [
            (vec![backup("old", "completed", 3 * DAY)], vec![], "the newest completed Backup, old, is 3d old"),
            (
                vec![backup("old", "completed", 3 * DAY), backup("nightly-1", "failed", 2 * 3600)],
                vec![schedule],
                "Backup nightly-1 failed (can't upload WAL); ScheduledBackup nightly last ran 2h ago",
            ),
            (vec![backup("now", "running", 60)], vec![], "Backup now is running, not completed"),
            (vec![], vec![], "there is no Backup or ScheduledBackup of it"),
        ];
        for (backups, scheduled, said) in cases {
            let found = judge("ns", &objects(backups, scheduled), NOW, DAY, "1.25.0");
            assert_eq!(found.len(), 1);
            let printed = found[0].printed();
            assert!(printed.starts_with("error[PF006]: "), "{printed}");
            assert!(printed.contains(said), "{said}: {printed}");
            assert!(
                printed.contains(
                    "kubectl apply -f - <<'EOF'\napiVersion: postgresql.cnpg.io/v1\nkind: Backup\nmetadata:\n  \
                     name: opsta-pg-pre-upgrade-1-25-0\n  namespace: ns\nspec:\n  cluster:\n    name: opsta-pg\n  \
                     method: plugin\n"
                ),
                "{printed}"
            );
        }
    }

    #[test]
    fn the_manifest_uses_the_clusters_backup_method() {
        let mut set_up = objects(vec![], vec![]);
        set_up.clusters = Some(vec![
            json!({"metadata": {"name": "opsta-pg"}, "spec": {"backup": {"barmanObjectStore": {}}}}),
            json!({"metadata": {"name": "keycloak-pg"}, "spec": {"backup": {"volumeSnapshot": {}}}}),
        ]);
        set_up.backups = vec![backup("b1", "completed", 3600)];
        let found = judge("ns", &set_up, NOW, DAY, "1.25.0");
        assert_eq!(found.len(), 1, "opsta-pg has a fresh backup: {found:?}");
        let fix = found[0].fix.as_deref().unwrap();
        assert!(
            fix.contains("name: keycloak-pg-pre-upgrade-1-25-0\n")
                && fix.contains("  method: volumeSnapshot\nEOF\n"),
            "{fix}"
        );
        set_up.clusters.as_mut().unwrap().remove(1);
        set_up.backups.clear();
        let fix = judge("ns", &set_up, NOW, DAY, "1.25.0")[0]
            .fix
            .clone()
            .unwrap();
        assert!(fix.contains("  method: barmanObjectStore\nEOF\n"), "{fix}");
    }

    #[test]
    fn without_a_cnpg_cluster_the_backup_cannot_be_checked() {
        let none = Objects {
            clusters: None,
            backups: vec![],
            scheduled: vec![],
        };
        let found = judge("ns", &none, NOW, DAY, "1.25.0");
        assert!(
            found[0].text.contains("CloudNativePG is not installed"),
            "{found:?}"
        );
    }
}

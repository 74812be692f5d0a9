//! What runs in the cluster for a release: its pods and their containers' images, as `verify` checks them after an
//! upgrade and `preflight` reads them before one (the Dapr versions running in a Catalyst region).

use crate::cluster::ClusterArgs;
use anyhow::{anyhow, Result};
use serde_json::Value as Json;

/// What a pod runs, and whether it is Ready.
#[derive(Debug, Clone, PartialEq)]
pub struct PodState {
    pub namespace: String,
    pub name: String,
    /// Pending, Running, Succeeded, Failed, Unknown.
    pub phase: String,
    pub ready: bool,
    /// Why the pod is not Ready, as the Ready condition says.
    pub not_ready: String,
    pub containers: Vec<ContainerState>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerState {
    pub name: String,
    /// The image reference of the pod spec.
    pub image: String,
    /// The image the runtime reports (`repo@sha256:...` once pulled), empty before.
    pub image_id: String,
}

/// Label selectors (`k=v,...`) for the pods of each workload in a release manifest, with the namespace (the
/// release namespace when the manifest leaves it out).
pub fn workload_selectors(
    manifest: &str,
    release_namespace: &str,
) -> Result<Vec<(String, String)>> {
    let docs = crate::yaml::parse(manifest).map_err(|e| {
        anyhow!(
            "the release manifest is not YAML ({}:{}: {})",
            e.line,
            e.col,
            e.message
        )
    })?;
    let mut selectors = Vec::new();
    for doc in docs.iter().map(crate::yaml::Node::to_json) {
        let labels = match doc["kind"].as_str().unwrap_or("") {
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
                template_labels(&doc["spec"])
            }
            "CronJob" => template_labels(&doc["spec"]["jobTemplate"]["spec"]),
            _ => continue,
        };
        let Some(selector) = labels else { continue };
        let namespace = doc["metadata"]["namespace"]
            .as_str()
            .unwrap_or(release_namespace);
        let entry = (namespace.to_string(), selector);
        if !selectors.contains(&entry) {
            selectors.push(entry);
        }
    }
    Ok(selectors)
}

/// `k=v,...` from the pod template's labels, else the selector's matchLabels.
fn template_labels(spec: &Json) -> Option<String> {
    let labels = spec["template"]["metadata"]["labels"].as_object();
    let labels = labels
        .filter(|l| !l.is_empty())
        .or_else(|| spec["selector"]["matchLabels"].as_object())?;
    let pairs: Vec<String> = labels
        .iter()
        .filter_map(|(k, v)| Some(format!("{k}={}", v.as_str()?)))
        .collect();
    (!pairs.is_empty()).then(|| pairs.join(","))
}

/// True when `name` matches `pattern`, where `*` stands for any run of characters.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| glob_matches(rest, &tail[i..]))
        }
    }
}

/// What the cluster says about a release: its chart and the pods that run it.
pub struct Found {
    pub release: String,
    pub namespace: String,
    pub revision: u64,
    pub chart_name: String,
    pub chart_version: String,
    pub pods: Vec<PodState>,
}

/// The deployed release `name` and its pods: those of its workloads (by their pod template labels) and, when the
/// product data names `regionNamespaces`, every pod of those namespaces.
#[cfg(feature = "cluster")]
pub fn gather(args: &ClusterArgs, name: &str) -> Result<Found> {
    let cluster = crate::cluster::Cluster::connect(args)?;
    let release = cluster.deployed_release(name)?;
    let namespace = cluster.namespace().to_string();
    let product = crate::product::Product::all()?
        .into_iter()
        .find(|p| p.chart == release.chart_name);
    let mut pods = Vec::new();
    for (pod_namespace, selector) in workload_selectors(&release.manifest, &namespace)? {
        pods.extend(cluster.pods(&pod_namespace, &selector)?);
    }
    let patterns = product.map(|p| p.region_namespaces).unwrap_or_default();
    if !patterns.is_empty() {
        for other in cluster.namespaces()? {
            if other != namespace && patterns.iter().any(|p| glob_matches(p, &other)) {
                pods.extend(cluster.pods(&other, "")?);
            }
        }
    }
    let mut states: Vec<PodState> = pods.iter().map(pod_state).collect();
    states.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    states.dedup_by(|a, b| a.namespace == b.namespace && a.name == b.name);
    Ok(Found {
        release: release.name,
        namespace,
        revision: release.revision,
        chart_name: release.chart_name,
        chart_version: release.chart_version,
        pods: states,
    })
}

#[cfg(not(feature = "cluster"))]
pub fn gather(_args: &ClusterArgs, name: &str) -> Result<Found> {
    anyhow::bail!(
        "cannot read the pods of release {name}: this opsta-lint was built without the `cluster` feature"
    )
}

#[cfg(feature = "cluster")]
fn pod_state(pod: &k8s_openapi::api::core::v1::Pod) -> PodState {
    let status = pod.status.clone().unwrap_or_default();
    let ready_condition = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Ready");
    let ready = ready_condition.is_some_and(|c| c.status == "True");
    let not_ready = match ready_condition {
        Some(c) => [c.reason.as_deref(), c.message.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": "),
        None => "no Ready condition yet".to_string(),
    };
    let statuses: Vec<_> = status
        .container_statuses
        .iter()
        .flatten()
        .chain(status.init_container_statuses.iter().flatten())
        .collect();
    let spec = pod.spec.clone().unwrap_or_default();
    let containers = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter())
        .map(|c| ContainerState {
            name: c.name.clone(),
            image: c.image.clone().unwrap_or_default(),
            image_id: statuses
                .iter()
                .find(|s| s.name == c.name)
                .map(|s| s.image_id.clone())
                .unwrap_or_default(),
        })
        .collect();
    PodState {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        phase: status.phase.unwrap_or_else(|| "Unknown".into()),
        ready,
        not_ready: if not_ready.is_empty() {
            "Ready is False".into()
        } else {
            not_ready
        },
        containers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_pods_by_workload_template_labels() {
        let manifest = "---\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: apps/v1\nkind: Deployment\n\
                        metadata: {name: d}\nspec:\n  template:\n    metadata:\n      labels: {app: a, tier: x}\n\
                        ---\nkind: StatefulSet\nmetadata: {name: s, namespace: other}\nspec:\n  selector:\n    \
                        matchLabels: {app: s}\n  template: {}\n";
        let selectors = workload_selectors(manifest, "rel").unwrap();
        assert_eq!(
            selectors,
            [
                ("rel".into(), "app=a,tier=x".into()),
                ("other".into(), "app=s".into())
            ]
        );
    }

    #[test]
    fn globs_match_namespaces() {
        assert!(glob_matches("prj-*", "prj-payments"));
        assert!(glob_matches("prj-*", "prj-"));
        assert!(!glob_matches("prj-*", "default"));
        assert!(glob_matches("root-dapr-system", "root-dapr-system"));
        assert!(glob_matches("*-dapr-*", "root-dapr-system"));
    }
}

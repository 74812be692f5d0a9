//! PF008 (Catalyst): the versions of each pinned component (Dapr) running in the region now, against the version
//! the target chart pins. One Catalyst release runs one Dapr version and the upgrade rolls every Dapr of the region
//! to the new pin, so the person sees what moves before saying yes.

use super::{Finding, Plan};
use crate::findings::Code;
use crate::image::ImageRef;
use crate::policy::{pinned_images, tag_is, Pin};
use crate::product::{parse_version, Product};
use crate::running::PodState;
use anyhow::Result;
use semver::Version;
use std::collections::BTreeMap;

pub fn check(plan: &Plan, product: &Product) -> Result<Vec<Finding>> {
    let found = crate::running::gather(plan.cluster, &plan.deployed.name)?;
    let deployed = parse_version(&plan.deployed.chart_version)?;
    let target = parse_version(plan.target)?;
    judge(product, &deployed, &target, &found.pods)
}

/// For each pinned component whose running versions are not just the target's pin: what runs, where.
pub fn judge(
    product: &Product,
    deployed: &Version,
    target: &Version,
    pods: &[PodState],
) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    for component in pinned_images(product, Some(target))? {
        let name = component.name().to_string();
        let now_pin = Pin::new(product, component.pin.component, Some(deployed)).version;
        // version -> namespaces it runs in
        let mut running: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for pod in pods {
            for container in &pod.containers {
                let Ok(image) = ImageRef::parse(&container.image) else {
                    continue;
                };
                let Some(tag) = component.tag_of(&image) else {
                    continue;
                };
                // A tag equal to the chart version is the vendor's build of the deployed chart's pin.
                let version = match now_pin {
                    Some(pin) if tag_is(tag, &deployed.to_string()) => pin.to_string(),
                    _ => tag.trim_start_matches('v').to_string(),
                };
                let namespaces = running.entry(version).or_default();
                if !namespaces.contains(&pod.namespace.as_str()) {
                    namespaces.push(&pod.namespace);
                }
            }
        }
        let want = component.pin.version;
        let only_target = running.len() == 1 && want.is_some_and(|w| running.contains_key(w));
        if running.is_empty() || only_target {
            continue;
        }
        let now: Vec<String> = running
            .iter()
            .map(|(version, namespaces)| format!("{version} (in {})", namespaces.join(", ")))
            .collect();
        let mixed = if running.len() > 1 {
            " (several versions: one region should run one)"
        } else {
            ""
        };
        let then = match want {
            Some(want) => format!(
                "chart {target} pins {name} {want}: the upgrade rolls every {name} of the region to it"
            ),
            None => format!("the product data knows no {name} pin for chart {target}: read its release notes"),
        };
        findings.push(Finding::new(
            Code::PF008,
            format!("{name} running now{mixed}: {}; {then}", now.join(", ")),
        ));
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::running::ContainerState;

    const REG: &str =
        "us-central1-docker.pkg.dev/prj-common-p-shared-79896/reg-p-common-docker-public";

    fn pod(namespace: &str, image: &str) -> PodState {
        PodState {
            namespace: namespace.into(),
            name: "p".into(),
            phase: "Running".into(),
            ready: true,
            not_ready: String::new(),
            containers: vec![ContainerState {
                name: "c".into(),
                image: image.into(),
                image_id: String::new(),
            }],
        }
    }

    #[test]
    fn shows_the_dapr_versions_running_against_the_target_pin() {
        let product = Product::load("catalyst").unwrap();
        let v = |s: &str| Version::parse(s).unwrap();
        let pods = [
            pod(
                "root-dapr-system",
                &format!("{REG}/dapr:1.19.0-20260727-catalyst.1"),
            ),
            pod("prj-a", &format!("{REG}/daprd:1.83.0")),
            pod("prj-b", &format!("{REG}/dapr:1.17.3-catalyst.1")),
            pod("cra-agent", &format!("{REG}/catalyst-agent:1.83.0")),
        ];
        let found = judge(&product, &v("1.83.0"), &v("1.90.0"), &pods).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].to_string(),
            "warning[PF008]: dapr running now (several versions: one region should run one): 1.17.3-catalyst.1 \
             (in prj-b), 1.19.0-20260727-catalyst.1 (in root-dapr-system, prj-a); chart 1.90.0 pins dapr \
             1.19.0-20260806-catalyst.2: the upgrade rolls every dapr of the region to it"
        );
        let on_target = [pod(
            "root-dapr-system",
            &format!("{REG}/dapr:1.19.0-20260806-catalyst.2"),
        )];
        assert!(judge(&product, &v("1.90.0"), &v("1.90.0"), &on_target)
            .unwrap()
            .is_empty());
        assert!(judge(&product, &v("1.83.0"), &v("1.90.0"), &[])
            .unwrap()
            .is_empty());
    }
}

//! opsta-lint against releases written by the real Helm 3 and Helm 4 into a fake Kubernetes API server.
mod common;

use common::fakekube::FakeKube;
use serde_json::Value;

const NS: &str = "cra-agent";
const TUNNEL_ON: &str = "management.config.tunnel.enabled=true";

fn chart() -> String {
    common::root()
        .join("testdata/charts/catalyst-mini")
        .display()
        .to_string()
}

/// Runs the real helm `major` against `kube` with `driver`; panics with helm's output when it fails.
fn helm(kube: &FakeKube, major: u8, driver: &str, args: &[&str]) -> String {
    let output = kube
        .helm(&common::helm(major))
        .env("HELM_DRIVER", driver)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "helm {major} {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

/// `helm install` then `helm upgrade` of the test chart as release `cat` in `cra-agent`.
fn install_and_upgrade(kube: &FakeKube, major: u8, driver: &str) {
    let chart = chart();
    helm(
        kube,
        major,
        driver,
        &[
            "install",
            "cat",
            &chart,
            "-n",
            NS,
            "--set",
            "join_token=jt-SECRET-1",
            "--set",
            TUNNEL_ON,
        ],
    );
    helm(
        kube,
        major,
        driver,
        &[
            "upgrade",
            "cat",
            &chart,
            "-n",
            NS,
            "--reuse-values",
            "--set",
            "join_token=jt-SECRET-2",
        ],
    );
}

fn release_objects(kube: &FakeKube, driver: &str) -> Vec<Value> {
    let plural = if driver == "configmap" {
        "configmaps"
    } else {
        "secrets"
    };
    let objects = kube.list(plural, NS).into_iter();
    objects
        .filter(|o| o["metadata"]["labels"]["owner"] == "helm")
        .collect()
}

#[test]
fn releases_written_by_real_helm_3_and_4_read_the_same() {
    let mut read: Vec<opsta_lint::release::Release> = Vec::new();
    for major in [3, 4] {
        for driver in ["secret", "configmap"] {
            let kube = FakeKube::start();
            install_and_upgrade(&kube, major, driver);
            let history = helm(
                &kube,
                major,
                driver,
                &["history", "cat", "-n", NS, "-o", "json"],
            );
            let history: Value = serde_json::from_str(&history).unwrap();
            let statuses: Vec<&str> = history
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["status"].as_str().unwrap())
                .collect();
            assert_eq!(
                statuses,
                ["superseded", "deployed"],
                "helm {major}, {driver} driver"
            );

            let releases = release_objects(&kube, driver);
            let names: Vec<&str> = releases
                .iter()
                .map(|r| r["metadata"]["name"].as_str().unwrap())
                .collect();
            assert_eq!(
                names,
                ["sh.helm.release.v1.cat.v1", "sh.helm.release.v1.cat.v2"],
                "helm {major}, {driver}"
            );
            assert_eq!(releases[1]["metadata"]["labels"]["status"], "deployed");
            assert!(
                releases[1]["data"]["release"].is_string(),
                "helm {major}, {driver}: {}",
                releases[1]
            );
            if driver == "secret" {
                assert_eq!(releases[1]["type"], "helm.sh/release.v1");
            }
            let agent = kube
                .get("configmaps", NS, "catalyst-agent-config")
                .expect("the chart's ConfigMap");
            assert!(
                agent["data"]["config.yaml"]
                    .as_str()
                    .unwrap()
                    .contains("jt-SECRET-2"),
                "upgrade applied"
            );
            assert!(
                kube.get("deployments", NS, "catalyst-management").is_some(),
                "helm {major}: Deployment created"
            );
            assert!(
                kube.get("configmaps", NS, "catalyst-upgrade-check")
                    .is_some(),
                "helm {major}: hook created"
            );
        }
    }
    assert!(
        read.windows(2).all(|pair| pair[0] == pair[1]),
        "all four read the same"
    );
}

/// The deployed release as opsta-lint's decoder reads it straight from the stored object.
fn stored_release(kube: &FakeKube, driver: &str, revision: u32) -> opsta_lint::release::Release {
    use base64::Engine;
    let name = format!("sh.helm.release.v1.cat.v{revision}");
    let object = match driver {
        "configmap" => kube.get("configmaps", NS, &name),
        _ => kube.get("secrets", NS, &name),
    };
    let payload = object.expect("release object")["data"]["release"]
        .as_str()
        .unwrap()
        .to_string();
    let payload = match driver {
        "configmap" => payload.into_bytes(),
        _ => base64::engine::general_purpose::STANDARD
            .decode(payload)
            .unwrap(),
    };
    opsta_lint::release::decode(&payload).unwrap()
}

//! opsta-lint against releases written by the real Helm 3 and Helm 4 into a fake Kubernetes API server.
use crate::common;

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
    let mut read: Vec<opsta_lint::helm_release::Release> = Vec::new();
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

            let release = stored_release(&kube, driver, 2);
            let what = format!("helm {major}, {driver} driver");
            assert_eq!(
                (release.name.as_str(), release.namespace.as_str()),
                ("cat", NS),
                "{what}"
            );
            assert_eq!(
                (release.revision, release.status.as_str()),
                (2, "deployed"),
                "{what}"
            );
            let chart = (release.chart_name.as_str(), release.chart_version.as_str());
            assert_eq!(chart, ("catalyst", "1.89.0"), "{what}");
            assert_eq!(release.app_version, "1.89.0", "{what}");
            let user_values = serde_json::json!({"join_token": "jt-SECRET-2",
                "management": {"config": {"tunnel": {"enabled": true}}}});
            assert_eq!(
                release.config, user_values,
                "{what}: only the user-supplied values"
            );
            assert!(
                release.manifest.contains("name: catalyst-agent-config"),
                "{what}"
            );
            assert_eq!(release.hooks.len(), 1, "{what}: {:?}", release.hooks);
            assert_eq!(release.hooks[0].0, "catalyst-upgrade-check", "{what}");
            assert!(release.hooks[0]
                .1
                .contains("helm.sh/hook: pre-install,pre-upgrade"));
            assert_eq!(
                stored_release(&kube, driver, 1).status,
                "superseded",
                "{what}"
            );
            read.push(release);
        }
    }
    assert!(
        read.windows(2).all(|pair| pair[0] == pair[1]),
        "all four read the same"
    );
}

/// The deployed release as opsta-lint's decoder reads it straight from the stored object.
fn stored_release(
    kube: &FakeKube,
    driver: &str,
    revision: u32,
) -> opsta_lint::helm_release::Release {
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
    opsta_lint::helm_release::decode(&payload).unwrap()
}

/// Runs opsta-lint with `kubeconfig` and no inherited Helm settings; returns (exit code, stdout, stderr).
fn opsta(kubeconfig: &std::path::Path, driver: &str, args: &[&str]) -> (i32, String, String) {
    let mut command = common::bin();
    for var in ["HELM_NAMESPACE", "HELM_KUBECONTEXT", "HELM_DRIVER"] {
        command.env_remove(var);
    }
    let output = command
        .env("KUBECONFIG", kubeconfig)
        .env("HELM_DRIVER", driver)
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// A fake server holding release `cat` (two revisions) written by the real Helm 3.
fn installed(driver: &str) -> FakeKube {
    let kube = FakeKube::start();
    install_and_upgrade(&kube, 3, driver);
    kube.clear_requests();
    kube
}

#[test]
fn release_shows_the_deployed_revision_with_secrets_masked_reading_only_its_namespace() {
    for driver in ["secret", "configmap"] {
        let kube = installed(driver);
        let (code, stdout, stderr) =
            opsta(&kube.kubeconfig(), driver, &["release", "cat", "-n", NS]);
        assert_eq!(code, 0, "{stderr}");
        for line in [
            "revision   2",
            "status     deployed",
            "chart      catalyst 1.89.0",
            "  join_token: <redacted>",
        ] {
            assert!(
                stdout.contains(line),
                "{driver}: {line:?} missing from\n{stdout}"
            );
        }
        assert!(
            !stdout.contains("jt-SECRET") && !stderr.contains("jt-SECRET"),
            "{stdout}"
        );
        let resource = if driver == "configmap" {
            "configmaps"
        } else {
            "secrets"
        };
        let expected =
            format!("GET /api/v1/namespaces/{NS}/{resource}?labelSelector=owner=helm,name=cat");
        assert_eq!(
            kube.requests(),
            [expected],
            "one read-only list in the release namespace"
        );

        let (code, stdout, _) = opsta(
            &kube.kubeconfig(),
            driver,
            &["release", "cat", "-n", NS, "-o", "json"],
        );
        assert_eq!(code, 0);
        let summary: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(summary["revision"], 2);
        assert_eq!(summary["chart"]["version"], "1.89.0");
        assert_eq!(summary["values"]["join_token"], "<redacted>");
        assert_eq!(
            summary["values"]["management"]["config"]["tunnel"]["enabled"],
            true
        );
    }
}

/// Asserts opsta-lint could not run (exit 2) and said each of `expected`, plus the offline way out.
fn assert_fails(result: (i32, String, String), expected: &[&str]) {
    let (code, stdout, stderr) = result;
    if std::env::var_os("SHOW_ERRORS").is_some() {
        eprintln!("{stderr}");
    }
    assert_eq!(code, 2, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    for text in expected.iter().chain(&["--previous-values"]) {
        assert!(stderr.contains(text), "{text:?} missing from: {stderr}");
    }
    assert!(!stderr.contains("jt-SECRET"), "{stderr}");
}

#[test]
fn cluster_failures_are_clear_errors_that_suggest_the_offline_flag() {
    let kube = installed("secret");
    let kubeconfig = kube.kubeconfig();
    let release = |name: &str| opsta(&kubeconfig, "secret", &["release", name, "-n", NS]);

    assert_fails(
        release("nope"),
        &["release nope not found in namespace cra-agent"],
    );

    kube.edit("secrets", NS, "sh.helm.release.v1.cat.v2", |secret| {
        secret["data"]["release"] = "bm90IGhlbG0=".into(); // base64("not helm")
    });
    assert_fails(
        release("cat"),
        &["Secret sh.helm.release.v1.cat.v2", "not in Helm's format"],
    );

    kube.refuse("list", "secrets", 403);
    assert_fails(
        release("cat"),
        &[
            "refused to list secrets in namespace cra-agent",
            "403 Forbidden",
        ],
    );

    let other = FakeKube::start();
    other.refuse("*", "*", 401);
    let (code, stdout, stderr) =
        opsta(&other.kubeconfig(), "secret", &["release", "cat", "-n", NS]);
    assert_fails(
        (code, stdout, stderr),
        &["401 Unauthorized", "list secrets"],
    );
}

#[test]
fn unreachable_servers_and_missing_kubeconfigs_fail_fast() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = dir.path().join("refused");
    std::fs::write(
        &refused,
        kubeconfig_for(&format!("http://127.0.0.1:{port}")),
    )
    .unwrap();
    assert_fails(
        opsta(&refused, "secret", &["release", "cat", "-n", NS]),
        &["cannot reach the Kubernetes API server at http://127.0.0.1"],
    );

    // A server that accepts connections and never answers: the deadline ends the wait.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hangs = dir.path().join("hangs");
    std::fs::write(
        &hangs,
        kubeconfig_for(&format!("http://{}", silent.local_addr().unwrap())),
    )
    .unwrap();
    let args = ["release", "cat", "-n", NS, "--request-timeout", "1"];
    assert_fails(opsta(&hangs, "secret", &args), &["http://127.0.0.1"]);

    let missing = dir.path().join("no-such-kubeconfig");
    assert_fails(
        opsta(&missing, "secret", &["release", "cat"]),
        &["kubeconfig", "no-such-kubeconfig"],
    );

    // No --kubeconfig, no KUBECONFIG, no ~/.kube/config, not in a pod.
    let output = common::bin()
        .env("HOME", dir.path())
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args(["release", "cat", "-n", NS])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let result = (output.status.code().unwrap_or(-1), String::new(), stderr);
    assert_fails(
        result,
        &["no usable kubeconfig", "--kubeconfig FILE, set KUBECONFIG"],
    );

    let kube = FakeKube::start();
    assert_fails(
        opsta(&kube.kubeconfig(), "sql", &["release", "cat"]),
        &["HELM_DRIVER=sql is not supported"],
    );
}

fn kubeconfig_for(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: c\n  \
         context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: t\n"
    )
}

const REGISTRY: &str =
    "us-central1-docker.pkg.dev/prj-common-p-shared-79896/reg-p-common-docker-public";

/// A running pod as the kubelet reports it: one container, Ready or not.
fn pod(
    namespace: &str,
    name: &str,
    labels: Value,
    container: &str,
    image: &str,
    ready: bool,
) -> Value {
    let digest = format!("sha256:{}", "0".repeat(64));
    let image_id = format!("{}@{digest}", image.split(':').next().unwrap());
    let ready_text = if ready { "True" } else { "False" };
    let mut condition = serde_json::json!({"type": "Ready", "status": ready_text});
    if !ready {
        condition["reason"] = "ContainersNotReady".into();
        condition["message"] = format!("containers with unready status: [{container}]").into();
    }
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": container, "image": image}]},
        "status": {"phase": "Running", "conditions": [condition], "containerStatuses": [{
            "name": container, "image": image, "imageID": image_id, "ready": ready, "restartCount": 0}]}
    })
}

fn namespace(name: &str) -> Value {
    serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

#[test]
fn verify_reports_unready_pods_and_dapr_off_the_pinned_version() {
    let kube = installed("secret");
    let release_pod = |component: &str, ready: bool| {
        let labels = serde_json::json!({"app.kubernetes.io/name": component, "app.kubernetes.io/instance": "cat"});
        let image = format!("{REGISTRY}/catalyst-{component}:1.89.0");
        pod(
            NS,
            &format!("catalyst-{component}-7d9f"),
            labels,
            component,
            &image,
            ready,
        )
    };
    let dapr = |version: &str| format!("{REGISTRY}/dapr:{version}");
    kube.insert(release_pod("agent", true));
    kube.insert(release_pod("management", true));
    for ns in [
        "root-dapr-system",
        "prj-orders",
        "prj-payments",
        "unrelated",
    ] {
        kube.insert(namespace(ns));
    }
    // Chart 1.89.0 pins Dapr 1.19.0-20260806-catalyst.1 (schema/catalyst/product.yaml).
    let pinned = dapr("1.19.0-20260806-catalyst.1");
    kube.insert(pod(
        "root-dapr-system",
        "dapr-operator-0",
        Value::Null,
        "operator",
        &pinned,
        true,
    ));
    kube.insert(pod(
        "prj-orders",
        "orders-5c8d",
        Value::Null,
        "daprd",
        &pinned,
        true,
    ));
    kube.insert(pod(
        "unrelated",
        "broken",
        Value::Null,
        "app",
        "nginx:1.27",
        false,
    ));

    let verify = ["verify", "--release", "cat", "-n", NS];
    let (code, stdout, stderr) = opsta(&kube.kubeconfig(), "secret", &verify);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("4 pods in 3 namespaces"),
        "unrelated namespaces are not checked: {stdout}"
    );
    assert!(
        stdout.contains("dapr pinned by the chart: 1.19.0-20260806-catalyst.1"),
        "{stdout}"
    );
    let json_verify: Vec<&str> = verify.iter().copied().chain(["-o", "json"]).collect();
    let (code, stdout, stderr) = opsta(&kube.kubeconfig(), "secret", &json_verify);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("verify -o json is JSON");
    assert_eq!(
        report["pinned"]["dapr"], "1.19.0-20260806-catalyst.1",
        "{stdout}"
    );
    assert_eq!(
        (report["ok"].clone(), report["pods"].clone()),
        (Value::Bool(true), Value::from(4)),
        "{stdout}"
    );
    assert_eq!(report["problems"], serde_json::json!([]), "{stdout}");

    kube.insert(release_pod("management", false));
    let old = dapr("1.18.2-rc.2-catalyst.1");
    kube.insert(pod(
        "prj-payments",
        "payments-9b1a",
        Value::Null,
        "daprd",
        &old,
        true,
    ));
    let (code, stdout, stderr) = opsta(&kube.kubeconfig(), "secret", &verify);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    if std::env::var_os("SHOW_ERRORS").is_some() {
        eprintln!("{stdout}");
    }
    let rows: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("NAMESPACE"))
        .skip(1)
        .collect();
    assert_eq!(rows.len(), 3, "{stdout}");
    assert!(
        rows[0].starts_with("cra-agent") && rows[0].contains("catalyst-management-7d9f"),
        "{stdout}"
    );
    assert!(
        rows[0].contains("not Ready (Running): ContainersNotReady"),
        "{stdout}"
    );
    assert!(
        rows[1].starts_with("prj-payments") && rows[1].contains("daprd"),
        "{stdout}"
    );
    assert!(rows[1].contains("dapr is version 1.18.2-rc.2-catalyst.1, but the deployed chart 1.89.0 pins dapr 1.19.0-20260806-catalyst.1"));
    assert_eq!(rows[2], "2 problem(s)");
    let sarif_verify: Vec<&str> = verify.iter().copied().chain(["-o", "sarif"]).collect();
    let (code, stdout, stderr) = opsta(&kube.kubeconfig(), "secret", &sarif_verify);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let log: Value = serde_json::from_str(&stdout).expect("verify -o sarif is JSON");
    let results = log["runs"][0]["results"].as_array().unwrap();
    let at: Vec<(&str, &str)> = results
        .iter()
        .map(|r| {
            let name = &r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"];
            (r["ruleId"].as_str().unwrap(), name.as_str().unwrap())
        })
        .collect();
    assert_eq!(
        at,
        [
            ("VF001", "Pod/cra-agent/catalyst-management-7d9f"),
            ("VF006", "Pod/prj-payments/payments-9b1a/daprd")
        ],
        "{stdout}"
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &stdout).unwrap();
    let valid = std::process::Command::new(common::tool("venv/bin/check-jsonschema"))
        .args(["--regex-variant", "python", "--schemafile"])
        .arg(common::root().join("testdata/sarif/sarif-2.1.0-rtm.5.json"))
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        valid.status.success(),
        "verify -o sarif is valid SARIF 2.1.0: {valid:?}"
    );
    let reads_only = kube.requests().iter().all(|r| r.starts_with("GET "));
    assert!(reads_only, "{:?}", kube.requests());
}

/// Installs the repository's Helm CLI plugin (plugin.yaml) into the Helm home `kube.helm` uses.
fn install_plugin(kube: &FakeKube, major: u8, work: &std::path::Path) {
    let plugin = work.join("opsta-lint-plugin");
    std::fs::create_dir_all(plugin.join("scripts")).unwrap();
    for file in ["plugin.yaml", "scripts/helm-plugin-install.sh"] {
        std::fs::copy(common::root().join(file), plugin.join(file)).unwrap();
    }
    let output = kube
        .helm(&common::helm(major))
        .env("OPSTA_LINT_BIN", env!("CARGO_BIN_EXE_opsta-lint"))
        .args(["plugin", "install", plugin.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "helm {major} plugin install: {stderr}"
    );
}

/// The finding codes of a `lint -o json` report.
fn codes(report: &str) -> Vec<String> {
    let report: Value = serde_json::from_str(report).unwrap_or_else(|e| panic!("{e}: {report}"));
    let findings = report["runs"][0]["findings"].as_array().unwrap();
    findings
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn lint_release_holds_new_values_to_what_helm_3_and_4_deployed_directly_and_as_a_plugin() {
    let work = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = work.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let no_tunnel = file("no-tunnel.yaml", "join_token: jt-SECRET-3\n");
    let no_token = file(
        "no-token.yaml",
        "management:\n  config:\n    tunnel:\n      enabled: true\n",
    );
    let both = file(
        "both.yaml",
        "join_token: jt-SECRET-3\nmanagement:\n  config:\n    tunnel:\n      enabled: true\n",
    );
    let tunnel_off = file("previous.yaml", "join_token: jt-SECRET-1\n");
    let lint = |kube: &FakeKube, extra: &[&str], values: &str| {
        let args = [
            &["lint", "-o", "json", "--release", "cat", "-n", NS],
            extra,
            &[values],
        ]
        .concat();
        let (code, stdout, stderr) = opsta(&kube.kubeconfig(), "secret", &args);
        assert!(
            !stdout.contains("jt-SECRET") && !stderr.contains("jt-SECRET"),
            "{stdout}{stderr}"
        );
        (code, codes(&stdout), stderr)
    };
    for major in [3, 4] {
        let kube = FakeKube::start();
        install_and_upgrade(&kube, major, "secret");
        let (code, found, stderr) = lint(&kube, &[], &no_tunnel);
        assert_eq!(
            (code, found),
            (1, vec!["OL201".to_string()]),
            "helm {major}: {stderr}"
        );
        let (code, found, stderr) = lint(&kube, &[], &no_token);
        assert_eq!(
            (code, found),
            (1, vec!["OL101".to_string()]),
            "helm {major}: {stderr}"
        );
        let (code, found, stderr) = lint(&kube, &[], &both);
        assert_eq!((code, found), (0, vec![]), "helm {major}: {stderr}");

        // Explicit flags win over the cluster; with both given, the cluster is not even asked.
        kube.clear_requests();
        let explicit = [
            "--previous-values",
            &tunnel_off,
            "--previous-chart-version",
            "1.89.0",
        ];
        let (code, found, stderr) = lint(&kube, &explicit, &no_tunnel);
        assert_eq!((code, found), (0, vec![]), "helm {major}: {stderr}");
        assert_eq!(kube.requests(), Vec::<String>::new());
        // The explicit chart version wins over the deployed 1.89.0: a downgrade (a warning for Catalyst).
        let (code, found, _) = lint(&kube, &["--previous-chart-version", "1.95.0"], &both);
        assert_eq!(
            (code, found),
            (0, vec!["OL402".to_string()]),
            "helm {major}"
        );

        // As a Helm plugin: helm takes -n and passes it on as HELM_NAMESPACE, with KUBECONFIG.
        install_plugin(&kube, major, work.path());
        for (values, expected, code) in [(&no_tunnel, "OL201", 1), (&no_token, "OL101", 1)] {
            let args = [
                "opsta-lint",
                "lint",
                "--release",
                "cat",
                "-o",
                "json",
                "-n",
                NS,
                values.as_str(),
            ];
            let output = kube.helm(&common::helm(major)).args(args).output().unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(code),
                "helm {major} opsta-lint: {stdout}{stderr}"
            );
            assert_eq!(codes(&stdout), [expected], "helm {major} opsta-lint");
        }
    }
}

#[test]
fn diff_release_compares_the_deployed_manifest_and_hooks_with_a_new_render() {
    let work = tempfile::tempdir().unwrap();
    let chart = chart();
    for major in [3, 4] {
        let kube = FakeKube::start();
        install_and_upgrade(&kube, major, "secret");
        let render = |name: &str, sets: &[&str]| {
            let sets: Vec<&str> = sets.iter().flat_map(|s| ["--set", *s]).collect();
            let args = [&["template", "cat", &chart, "-n", NS][..], &sets].concat();
            let path = work.path().join(name);
            std::fs::write(&path, helm(&kube, major, "secret", &args)).unwrap();
            path.display().to_string()
        };
        let same = render("same.yaml", &["join_token=jt-SECRET-2", TUNNEL_ON]);
        let changed = render("changed.yaml", &["join_token=jt-SECRET-9"]);
        let diff = |new: &str| {
            let args = [
                "diff",
                "--release",
                "cat",
                "-n",
                NS,
                "--detailed-exitcode",
                "--color",
                "never",
                new,
            ];
            opsta(&kube.kubeconfig(), "secret", &args)
        };
        let (code, stdout, stderr) = diff(&same);
        assert_eq!(
            code, 0,
            "helm {major}: the deployed release is what this render gives\n{stdout}{stderr}"
        );

        let (code, stdout, stderr) = diff(&changed);
        if std::env::var_os("SHOW_ERRORS").is_some() {
            eprintln!("{stdout}");
        }
        assert_eq!(code, 2, "helm {major}: {stdout}{stderr}");
        assert!(
            stdout.contains("catalyst-management-config"),
            "helm {major}: {stdout}"
        );
        assert!(
            stdout.contains("enabled: true") && stdout.contains("enabled: false"),
            "{stdout}"
        );
        assert!(
            !stdout.contains("catalyst-upgrade-check"),
            "hooks are compared too: {stdout}"
        );
        assert!(
            !stdout.contains("jt-SECRET"),
            "the join token stays hidden: {stdout}"
        );
    }
}

#[test]
fn verify_compares_running_digests_with_the_lock_and_names_a_refused_list() {
    let kube = installed("secret");
    let labels = |name: &str| serde_json::json!({"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "cat"});
    let image = |name: &str| format!("{REGISTRY}/catalyst-{name}:1.89.0");
    // The pod helper reports every container as running sha256:000…0.
    kube.insert(pod(
        NS,
        "agent-1",
        labels("agent"),
        "agent",
        &image("agent"),
        true,
    ));
    kube.insert(pod(
        NS,
        "management-1",
        labels("management"),
        "management",
        &image("management"),
        true,
    ));
    let lock = format!(
        "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n  - image: {}\n    digest: sha256:{}\n  - image: {}\n    digest: {}\n",
        image("agent"),
        "0".repeat(64),
        image("management"),
        common::fake_digest(7)
    );
    let dir = tempfile::tempdir().unwrap();
    let lock_file = dir.path().join("lock.yaml");
    std::fs::write(&lock_file, lock).unwrap();
    let args = [
        "verify",
        "--release",
        "cat",
        "-n",
        NS,
        "--lock",
        lock_file.to_str().unwrap(),
    ];
    let (code, stdout, stderr) = opsta(&kube.kubeconfig(), "secret", &args);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with(NS)).collect();
    assert_eq!(rows.len(), 1, "only the management pod is off: {stdout}");
    assert!(
        rows[0].contains("management-1") && rows[0].contains(&common::fake_digest(7)),
        "{stdout}"
    );

    let json_args: Vec<&str> = args.iter().copied().chain(["-o", "json"]).collect();
    let (code, stdout, stderr) = opsta(&kube.kubeconfig(), "secret", &json_args);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("verify -o json is JSON");
    assert_eq!(report["release"], "cat", "{stdout}");
    assert_eq!(report["ok"], false, "{stdout}");
    assert_eq!(report["lock"], true, "{stdout}");
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{stdout}");
    assert_eq!(problems[0]["pod"], "management-1", "{stdout}");
    assert_eq!(problems[0]["container"], "management", "{stdout}");
    assert!(
        problems[0]["problem"]
            .as_str()
            .unwrap()
            .contains(&common::fake_digest(7)),
        "{stdout}"
    );

    kube.refuse("list", "namespaces", 403);
    let (code, stdout, stderr) = opsta(&kube.kubeconfig(), "secret", &args);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("refused to list namespaces cluster-wide (403 Forbidden"),
        "{stderr}"
    );
}

#[test]
fn kube_context_and_merged_kubeconfig_lists_are_honoured() {
    let kube = installed("secret");
    let dir = tempfile::tempdir().unwrap();
    // First file: a dead cluster as the current context. Second: the fake server under the context "fake".
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = dir.path().join("dead");
    std::fs::write(&dead, kubeconfig_for(&format!("http://127.0.0.1:{port}"))).unwrap();
    let merged = format!("{}:{}", dead.display(), kube.kubeconfig().display());
    let merged = std::path::Path::new(&merged);
    assert_fails(
        opsta(merged, "secret", &["release", "cat", "-n", NS]),
        &["cannot reach"],
    );
    let (code, stdout, stderr) = opsta(
        merged,
        "secret",
        &["release", "cat", "-n", NS, "--kube-context", "fake"],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let output = common::bin()
        .env("KUBECONFIG", merged)
        .env("HELM_KUBECONTEXT", "fake")
        .env("HELM_NAMESPACE", NS)
        .env_remove("HELM_DRIVER")
        .args(["release", "cat"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("revision   2"),
        "what helm passes plugins: {stdout}"
    );
}

#[test]
fn postrender_release_diffs_the_pinned_render_against_the_deployed_manifest() {
    let kube = installed("secret");
    let work = tempfile::tempdir().unwrap();
    let args = [
        "template",
        "cat",
        &chart(),
        "-n",
        NS,
        "--set",
        "join_token=jt-SECRET-2",
    ];
    let render = work.path().join("render.yaml");
    std::fs::write(&render, helm(&kube, 3, "secret", &args)).unwrap();
    let lock = work.path().join("lock.yaml");
    std::fs::write(&lock, common::lock_for(&render)).unwrap();
    let report = work.path().join("diff.txt");
    let (code, stdout, stderr) = opsta(
        &kube.kubeconfig(),
        "secret",
        &[
            "postrender",
            "--lock",
            lock.to_str().unwrap(),
            "--input",
            render.to_str().unwrap(),
            "--release",
            "cat",
            "-n",
            NS,
            "--diff-file",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("image: ") && stdout.contains("@sha256:"),
        "pinned manifests on stdout: {stdout}"
    );
    let report = std::fs::read_to_string(report).unwrap();
    assert!(report.contains("--- release cat revision 2"), "{report}");
    assert!(
        report.contains("catalyst-management-config") && report.contains("-      enabled: true"),
        "{report}"
    );
    assert!(
        report.contains("@sha256:"),
        "the pinned images show as changes: {report}"
    );
    assert!(
        !report.contains("jt-SECRET"),
        "the join token stays hidden: {report}"
    );

    kube.refuse("list", "secrets", 403);
    let (code, stdout, stderr) = opsta(
        &kube.kubeconfig(),
        "secret",
        &[
            "postrender",
            "--lock",
            lock.to_str().unwrap(),
            "--input",
            render.to_str().unwrap(),
            "--release",
            "cat",
            "-n",
            NS,
        ],
    );
    assert_eq!(
        (code, stdout.as_str()),
        (2, ""),
        "a post-renderer that fails prints nothing: {stderr}"
    );
    assert!(stderr.contains("403 Forbidden"), "{stderr}");
}

/// A document without an image key is copied by the post-renderer unparsed, so one that is not YAML passes it
/// unchanged with exit 0 (docs/postrender.md says so). Both real Helms parse what a post-renderer returns and refuse
/// such a document: the install fails and nothing of the render is applied.
#[test]
fn helm_3_and_4_refuse_a_broken_document_the_post_renderer_passes_unparsed() {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    const BROKEN: &str =
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: broken\ndata: {a: b}\n";
    let lock = common::root().join("testdata/locks/edge-cases.yaml");
    let lock_arg = format!("--lock={}", lock.display());

    let mut alone = common::bin()
        .args(["postrender", &lock_arg])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    alone
        .stdin
        .take()
        .unwrap()
        .write_all(BROKEN.as_bytes())
        .unwrap();
    let alone = alone.wait_with_output().unwrap();
    assert_eq!(alone.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&alone.stdout), BROKEN);

    // A post-renderer that adds the broken document to Helm's render, then runs opsta-lint on the whole.
    let work = tempfile::tempdir().unwrap();
    let wrapper = work.path().join("add-broken-then-opsta-lint");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n{{ cat; printf '%s' '{BROKEN}'; }} | exec '{}' \"$@\"\n",
            env!("CARGO_BIN_EXE_opsta-lint")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let chart = chart();
    let install = [
        "install",
        "cat",
        &chart,
        "-n",
        NS,
        "--set",
        "join_token=jt-1",
    ];

    let kube = FakeKube::start();
    let helm3 = kube
        .helm(&common::helm(3))
        .args(install)
        .arg("--post-renderer")
        .arg(&wrapper)
        .args(["--post-renderer-args", "postrender"])
        .args(["--post-renderer-args", &lock_arg])
        .args(["--post-renderer-args", "--allow-unlocked"])
        .output()
        .unwrap();

    let kube4 = FakeKube::start();
    let plugin = work.path().join("opsta-lint-postrender");
    std::fs::create_dir_all(plugin.join("bin")).unwrap();
    for file in ["plugin.yaml", "postrender.sh"] {
        let from = common::root().join("plugins/postrender").join(file);
        std::fs::copy(from, plugin.join(file)).unwrap();
    }
    std::fs::copy(&wrapper, plugin.join("bin/opsta-lint")).unwrap();
    let installed = kube4
        .helm(&common::helm(4))
        .args(["plugin", "install"])
        .arg(&plugin)
        .output()
        .unwrap();
    assert!(installed.status.success(), "{installed:?}");
    let helm4 = kube4
        .helm(&common::helm(4))
        .args(install)
        .args(["--post-renderer", "opsta-lint-postrender"])
        .args(["--post-renderer-args", &lock_arg])
        .args(["--post-renderer-args", "--allow-unlocked"])
        .output()
        .unwrap();

    for (major, output, kube) in [(3, helm3, &kube), (4, helm4, &kube4)] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains("did not find expected ',' or '}'"),
            "helm {major} did not refuse the broken document as YAML: {stderr}"
        );
        assert!(
            kube.get("configmaps", NS, "broken").is_none()
                && kube.list("configmaps", NS).is_empty(),
            "helm {major} applied part of the render"
        );
    }
}

/// Runs `opsta-lint lint -o json` on `values` (product and chart version given); the finding codes.
fn lint_codes(work: &std::path::Path, product: &str, chart: &str, values: &str) -> Vec<String> {
    let file = work.join("values.yaml");
    std::fs::write(&file, values).unwrap();
    let args = [
        "lint",
        "--product",
        product,
        "--chart-version",
        chart,
        "-o",
        "json",
    ];
    let output = common::bin().args(args).arg(&file).output().unwrap();
    codes(&String::from_utf8_lossy(&output.stdout))
}

/// Post-renders one Deployment of chart `product`-`chart` running `image`, with a lock holding it; the stderr
/// report.
fn postrender_report(work: &std::path::Path, product: &str, chart: &str, image: &str) -> String {
    let digest = format!("sha256:{}", "1".repeat(64));
    let lock = work.join("lock.yaml");
    let lock_text = format!(
        "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nproduct: {product}\nversion: {chart}\nimages:\n\
         - {{image: \"{image}\", digest: {digest}}}\n"
    );
    std::fs::write(&lock, lock_text).unwrap();
    let render = work.join("render.yaml");
    let render_text = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: ns\n  labels:\n    \
         helm.sh/chart: {product}-{chart}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        \
         image: \"{image}\"\n"
    );
    std::fs::write(&render, render_text).unwrap();
    let output = common::bin()
        .arg("postrender")
        .arg("--lock")
        .arg(&lock)
        .arg("--input")
        .arg(&render)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// One policy (src/policy.rs) decides whether a tag runs the Dapr version chart 1.89.0 pins: lint (OL404, the
/// tag a values file sets), the post-renderer (PR005, an image of the render) and verify (an image a pod runs)
/// agree on every case. The chart version itself is the vendor's own build, which moves with the chart.
#[test]
fn lint_postrender_and_verify_agree_on_the_pinned_dapr_version() {
    // (tag, runs the version the chart pins)
    let cases = [
        ("1.89.0", true),
        ("v1.89.0", true),
        ("1.19.0-20260806-catalyst.1", true),
        ("1.18.2-rc.2-catalyst.1", false),
        ("1.17.3", false),
    ];
    let work = tempfile::tempdir().unwrap();
    let kube = installed("secret");
    for (i, (tag, _)) in cases.iter().enumerate() {
        let ns = format!("prj-{i}");
        kube.insert(namespace(&ns));
        let image = format!("{REGISTRY}/dapr:{tag}");
        kube.insert(pod(&ns, "app", Value::Null, "daprd", &image, true));
    }
    let verify = ["verify", "--release", "cat", "-n", NS, "-o", "json"];
    let (_, stdout, stderr) = opsta(&kube.kubeconfig(), "secret", &verify);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(report["pinned"]["dapr"], "1.19.0-20260806-catalyst.1");
    let flagged_by_verify: Vec<String> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["namespace"].as_str().unwrap().to_string())
        .collect();
    for (i, (tag, keeps_pin)) in cases.into_iter().enumerate() {
        let values = format!(
            "join_token: jt-1\nagent:\n  config:\n    internal_dapr:\n      sentry:\n        image:\n          \
             tag: \"{tag}\"\n"
        );
        let lint = lint_codes(work.path(), "catalyst", "1.89.0", &values);
        let image = format!("{REGISTRY}/dapr:{tag}");
        let postrender = postrender_report(work.path(), "catalyst", "1.89.0", &image);
        let verdicts = (
            !lint.iter().any(|c| c == "OL404"),
            !postrender.contains("PR005"),
            !flagged_by_verify.contains(&format!("prj-{i}")),
        );
        assert_eq!(
            verdicts,
            (keeps_pin, keeps_pin, keeps_pin),
            "tag {tag}: (lint, postrender, verify) keep the pin?\nlint: {lint:?}\npostrender: {postrender}\nverify: \
             {stdout}"
        );
    }
}

/// Lint (OL501, the tag a values file sets) and the post-renderer (PR006, a product image of the render) agree on
/// which tags carry the Opsta AI Gateway product version 1.25.0.
#[test]
fn lint_and_postrender_agree_on_the_product_version_tag() {
    let work = tempfile::tempdir().unwrap();
    for (tag, carries_version) in [
        ("v1.25.0", true),
        ("1.25.0", false),
        ("v1.24.0", false),
        ("dev", false),
        ("latest", false),
    ] {
        let values = format!("images:\n  builtTag: \"{tag}\"\n");
        let lint = lint_codes(work.path(), "opsta-ai-gateway", "1.25.0", &values);
        let image = format!("ghcr.io/opsta/opsta-ai-gateway/gateway:{tag}");
        let postrender = postrender_report(work.path(), "opsta-ai-gateway", "1.25.0", &image);
        assert_eq!(
            (
                !lint.iter().any(|c| c == "OL501"),
                !postrender.contains("PR006")
            ),
            (carries_version, carries_version),
            "tag {tag}: (lint, postrender) accept it?\nlint: {lint:?}\npostrender: {postrender}"
        );
    }
}

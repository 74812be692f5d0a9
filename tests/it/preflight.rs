//! Preflight against the fake API server: Opsta AI Gateway's backup check (CloudNativePG Backup and
//! ScheduledBackup objects, fresh, stale, failed, none), Catalyst's stores and Dapr versions, and `--mirror` against a
//! real docker-registry. `upgrade` runs end to end with the real Helm 3.17 and 4.1 for a stopping and a passing
//! case: stopped means the release stays at revision 1.
use crate::common;

use common::fakekube::FakeKube;
use common::output_text as text;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Output;

const NS: &str = "opsta-ai-gateway";
const IMAGE: &str = "ghcr.io/opsta/opsta-ai-gateway/control-plane";

/// The Opsta-shaped test chart (a control plane and its CloudNativePG Cluster) at `version`.
fn chart(dir: &Path, version: &str) -> PathBuf {
    let chart = dir.join(format!("opsta-ai-gateway-{version}"));
    let source = common::root().join("testdata/charts/opsta-mini");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    for name in [
        "values.yaml",
        "templates/control-plane.yaml",
        "templates/postgres.yaml",
    ] {
        std::fs::copy(source.join(name), chart.join(name)).unwrap();
    }
    let meta = std::fs::read_to_string(source.join("Chart.yaml")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), meta.replace("1.25.0", version)).unwrap();
    chart
}

fn values(dir: &Path, version: &str) -> PathBuf {
    let path = dir.join(format!("values-{version}.yaml"));
    let text = format!(
        "global:\n  registry: ghcr.io/opsta/opsta-ai-gateway\nimages:\n  builtTag: v{version}\nbackup:\n  enabled: true\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn lock(dir: &Path, digest: &str) -> PathBuf {
    let path = dir.join("lock.yaml");
    let text = format!(
        "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nproduct: opsta-ai-gateway\nversion: 1.25.0\nimages:\n  \
         - image: {IMAGE}:v1.25.0\n    digest: {digest}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

struct Opsta {
    kube: FakeKube,
    major: u8,
    dir: tempfile::TempDir,
    chart: PathBuf,
    values: PathBuf,
}

/// Release `agw` at chart 1.24.0, installed by the real helm `major` (its CloudNativePG Cluster with it).
fn installed(major: u8) -> Opsta {
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let out = kube
        .helm(&common::helm(major))
        .args(["install", "agw"])
        .arg(chart(dir.path(), "1.24.0"))
        .args(["-n", NS, "-f"])
        .arg(values(dir.path(), "1.24.0"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "helm {major} install: {:?}",
        text(&out)
    );
    assert!(
        kube.get("clusters", NS, "opsta-pg").is_some(),
        "the chart's Cluster is stored"
    );
    if major == 4 {
        common::install_helm4_postrenderer(dir.path(), || kube.helm(&common::helm(4)));
    }
    Opsta {
        chart: chart(dir.path(), "1.25.0"),
        values: values(dir.path(), "1.25.0"),
        kube,
        major,
        dir,
    }
}

/// A time `seconds` ago, as Kubernetes writes it.
fn ago(seconds: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    opsta_lint::preflight_checks::rfc3339(now - seconds)
}

const HOUR: i64 = 3600;

impl Opsta {
    fn opsta(&self, args: &[String]) -> Output {
        self.kube
            .helm(Path::new(env!("CARGO_BIN_EXE_opsta-lint")))
            .env("HELM_BIN", common::helm(self.major))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    fn preflight(&self, extra: &[&str]) -> (i32, String, String) {
        let mut args: Vec<String> = ["preflight", "--release", "agw", "-n", NS]
            .map(String::from)
            .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = self.opsta(&args);
        let (stdout, stderr) = text(&out);
        (out.status.code().unwrap(), stdout, stderr)
    }

    fn upgrade(&self, lock: &Path, extra: &[&str]) -> (i32, String, String) {
        let mut args: Vec<String> = ["upgrade", "agw"].map(String::from).to_vec();
        args.push(self.chart.display().to_string());
        args.extend(["-n", NS, "-f"].map(String::from));
        args.push(self.values.display().to_string());
        args.extend(["--lock".into(), lock.display().to_string()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = self.opsta(&args);
        let (stdout, stderr) = text(&out);
        (out.status.code().unwrap(), stdout, stderr)
    }

    /// A Backup of opsta-pg in `phase`, stopped `age` seconds ago; `schedule` names the ScheduledBackup that
    /// made it (its label and owner, as CloudNativePG sets them).
    fn backup(&self, name: &str, phase: &str, age: i64, schedule: Option<&str>) {
        let mut backup = json!({
            "apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"cluster": {"name": "opsta-pg"}, "method": "plugin"},
            "status": {"phase": phase, "startedAt": ago(age + 120), "stoppedAt": ago(age)}
        });
        if phase == "failed" {
            backup["status"]["error"] = "cannot reach the object store".into();
        }
        if let Some(schedule) = schedule {
            backup["metadata"]["labels"] = json!({"cnpg.io/scheduled-backup": schedule});
            backup["metadata"]["ownerReferences"] = json!([{"apiVersion": "postgresql.cnpg.io/v1",
                "kind": "ScheduledBackup", "name": schedule, "uid": "u1"}]);
        }
        self.kube.insert(backup);
    }

    fn schedule(&self, name: &str, last: i64) {
        self.kube.insert(json!({
            "apiVersion": "postgresql.cnpg.io/v1", "kind": "ScheduledBackup",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"cluster": {"name": "opsta-pg"}, "schedule": "0 0 */12 * * *", "method": "plugin"},
            "status": {"lastScheduleTime": ago(last), "lastCheckTime": ago(60)}
        }));
    }

    fn revisions(&self) -> usize {
        self.kube
            .list("secrets", NS)
            .into_iter()
            .filter(|o| o["metadata"]["labels"]["owner"] == "helm")
            .count()
    }
}

/// The backup manifest the finding shows, as kubectl reads it.
const MANIFEST: &str = "kubectl apply -f - <<'EOF'\napiVersion: postgresql.cnpg.io/v1\nkind: Backup\nmetadata:\n  \
                        name: opsta-pg-pre-upgrade-1-25-0\n  namespace: opsta-ai-gateway\nspec:\n  cluster:\n    \
                        name: opsta-pg\n  method: plugin\n  pluginConfiguration:\n    name: \
                        barman-cloud.cloudnative-pg.io\nEOF\n";

/// The ```text block under the preflight command in docs/upgrade.md's Opsta AI Gateway section.
fn documented_output() -> String {
    let doc = std::fs::read_to_string(common::root().join("docs/upgrade.md")).unwrap();
    let command = doc
        .find("opsta-lint preflight --release agw -n opsta-ai-gateway --chart-version 1.25.0 --backup-max-age 4d\n")
        .unwrap();
    let start = command + doc[command..].find("```text\n").unwrap() + "```text\n".len();
    let end = start + doc[start..].find("\n```\n").unwrap() + 1;
    doc[start..end].to_string()
}

#[test]
fn opsta_preflight_needs_a_fresh_completed_backup() {
    let setup = installed(3);
    let to = ["--chart-version", "1.25.0"];
    // As docs/upgrade.md shows it.
    let (code, stdout, stderr) =
        setup.preflight(&["--chart-version", "1.25.0", "--backup-max-age", "4d"]);
    assert_eq!(code, 1, "none: {stdout}{stderr}");
    assert_eq!(
        stdout,
        documented_output(),
        "docs/upgrade.md shows what preflight prints"
    );
    assert!(stdout.contains(MANIFEST), "{stdout}");
    let (code, stdout, _) = setup.preflight(&to);
    assert_eq!(code, 1, "none: {stdout}");
    assert!(
        stdout.contains("has no completed backup from the last 24h"),
        "{stdout}"
    );

    // The schedule's last run failed: it does not count.
    setup.schedule("nightly", 2 * HOUR);
    setup.backup("nightly-1", "failed", 2 * HOUR, Some("nightly"));
    let (code, stdout, _) = setup.preflight(&to);
    assert_eq!(code, 1, "failed: {stdout}");
    assert!(
        stdout.contains("no Backup of it has completed; Backup nightly-1 failed (cannot reach the object store); ScheduledBackup nightly last ran 2h ago"),
        "{stdout}"
    );

    // Stale: completed three days ago.
    setup.backup("manual-1", "completed", 72 * HOUR, None);
    let (code, stdout, _) = setup.preflight(&to);
    assert_eq!(code, 1, "stale: {stdout}");
    assert!(
        stdout.contains("the newest completed Backup, manual-1, is 3d old"),
        "{stdout}"
    );
    let (code, stdout, _) =
        setup.preflight(&["--chart-version", "1.25.0", "--backup-max-age", "4d"]);
    assert_eq!(code, 0, "within --backup-max-age 4d: {stdout}");
    assert!(stdout.contains("can go to 1.25.0"), "{stdout}");

    // Fresh: the schedule's next run completed an hour ago.
    setup.backup("nightly-2", "completed", HOUR, Some("nightly"));
    let (code, stdout, _) = setup.preflight(&to);
    assert_eq!(code, 0, "fresh: {stdout}");
    let (code, stdout, _) =
        setup.preflight(&["--chart-version", "1.25.0", "--backup-max-age", "30m"]);
    assert_eq!(code, 1, "older than 30m: {stdout}");

    let (code, stdout, _) = setup.preflight(&["--chart-version", "1.23.0"]);
    assert_eq!(code, 1, "downgrade: {stdout}");
    assert!(
        stdout.contains(
            "error[PF005]: chart 1.23.0 is older than the deployed 1.24.0: a downgrade is refused"
        ) && stdout.contains("restore the pre-upgrade backup"),
        "{stdout}"
    );
    let (code, _, stderr) =
        setup.preflight(&["--chart-version", "1.25.0", "--backup-max-age", "1w"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not an age"), "{stderr}");
}

/// `upgrade` stops at preflight without a fresh backup (nothing applied), then applies once there is one.
fn opsta_upgrade_waits_for_the_backup(major: u8) {
    let setup = installed(major);
    let digest = common::fake_digest(7);
    let lock = lock(setup.dir.path(), &digest);
    setup.backup("manual-1", "completed", 30 * HOUR, None);
    let (code, stdout, stderr) = setup.upgrade(&lock, &["--yes"]);
    assert_eq!(code, 1, "helm {major}: {stdout}{stderr}");
    assert!(
        stderr.contains("error[PF006]") && stderr.contains(MANIFEST),
        "{stderr}"
    );
    assert!(
        stderr.contains("stopped at preflight: nothing was applied"),
        "{stderr}"
    );
    assert_eq!(setup.revisions(), 1, "nothing applied");

    setup.backup("opsta-pg-pre-upgrade-1-25-0", "completed", 60, None);
    setup.kube.insert(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "control-plane-1", "namespace": NS,
            "labels": {"app.kubernetes.io/name": "control-plane", "app.kubernetes.io/instance": "agw"}},
        "spec": {"containers": [{"name": "control-plane", "image": format!("{IMAGE}:v1.25.0@{digest}")}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "control-plane", "image": format!("{IMAGE}:v1.25.0"),
                "imageID": format!("{IMAGE}@{digest}"), "ready": true, "restartCount": 0}]}
    }));
    let (code, stdout, stderr) = setup.upgrade(&lock, &["--yes"]);
    assert_eq!(code, 0, "helm {major}: {stdout}{stderr}");
    assert!(!stderr.contains("PF006"), "{stderr}");
    assert_eq!(setup.revisions(), 2, "applied: {stderr}");
}

#[test]
fn helm3_opsta_upgrade_waits_for_the_backup() {
    opsta_upgrade_waits_for_the_backup(3);
}

#[test]
fn helm4_opsta_upgrade_waits_for_the_backup() {
    opsta_upgrade_waits_for_the_backup(4);
}

/// `--mirror FROM=TO`: the mirror (a real docker-registry) must hold every locked digest before anything is
/// applied.
#[test]
fn a_mirror_without_the_new_images_stops_at_preflight() {
    use crate::registry::{make_image, push, Registry};
    let setup = installed(3);
    let mirror = Registry::plain();
    let image = make_image(
        setup.dir.path(),
        "v1.25.0",
        "control-plane",
        &["linux/amd64"],
    );
    let lock = lock(setup.dir.path(), &image.digest);
    setup.backup("opsta-pg-pre-upgrade-1-25-0", "completed", 60, None);
    let mapping = format!("ghcr.io/opsta={}/opsta", mirror.host);
    let lock_arg = lock.display().to_string();
    let flags = [
        "--mirror",
        &mapping,
        "--insecure-registry",
        &mirror.host,
        "--lock",
        &lock_arg,
    ];
    let mut preflight = vec!["--chart-version", "1.25.0"];
    preflight.extend(flags);
    let (code, stdout, stderr) = setup.preflight(&preflight);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let missing = format!(
        "error[RG001]: {}/opsta/opsta-ai-gateway/control-plane@{} is not in the mirror",
        mirror.host, image.digest
    );
    assert!(stdout.contains(&missing), "{stdout}");
    assert!(
        stdout.contains("skopeo copy --all"),
        "the fix line: {stdout}"
    );

    let (code, stdout, stderr) =
        setup.upgrade(&lock, &[flags[0], flags[1], flags[2], flags[3], "--yes"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains(&missing) && stderr.contains("stopped at preflight"),
        "{stderr}"
    );
    assert_eq!(setup.revisions(), 1, "nothing applied");

    push(
        &image,
        &mirror,
        "opsta/opsta-ai-gateway/control-plane:v1.25.0",
    );
    let (code, stdout, stderr) = setup.preflight(&preflight);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

/// Catalyst: the stores the values use and the Dapr versions the region runs are listed (warnings: the
/// preflight passes), with the target chart's pin.
#[test]
fn catalyst_preflight_lists_the_stores_and_the_dapr_versions() {
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values.yaml");
    std::fs::write(
        &values,
        "join_token: jt-SECRET-0001\nglobal:\n  postgresql:\n    create: false\n    external:\n      \
         existing_secret_name: catalyst-postgres\n      existing_secret_namespace: catalyst\n  kafka:\n    \
         disabled: false\n    external:\n      brokers: kafka-1.example:9092\nagent:\n  config:\n    internal_dapr:\n      \
         scheduler:\n        postgresql:\n          use_global: false\n          connections:\n            - host: \
         sched.example\n              port: 5432\n              database: sched\n              password: hunter2-SECRET\n",
    )
    .unwrap();
    let out = kube
        .helm(&common::helm(3))
        .args(["install", "cat"])
        .arg(common::root().join("testdata/charts/catalyst-mini"))
        .args(["-n", "cra-agent", "-f"])
        .arg(&values)
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
    let registry =
        "us-central1-docker.pkg.dev/prj-common-p-shared-79896/reg-p-common-docker-public";
    for (namespace, image) in [
        (
            "root-dapr-system",
            format!("{registry}/dapr:1.19.0-20260806-catalyst.1"),
        ),
        ("prj-a", format!("{registry}/daprd:1.17.3-catalyst.1")),
    ] {
        kube.insert(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
        );
        kube.insert(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "dapr-1", "namespace": namespace},
            "spec": {"containers": [{"name": "dapr", "image": image}]},
            "status": {"phase": "Running"}}));
    }
    let out = kube
        .helm(Path::new(env!("CARGO_BIN_EXE_opsta-lint")))
        .args([
            "preflight",
            "--release",
            "cat",
            "-n",
            "cra-agent",
            "--chart-version",
            "1.90.0",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let stores = "warning[PF007]: back up the stores this region keeps its state in before you apply (Catalyst's \
                  upgrade guide; the chart does not back them up): workflow PostgreSQL: external, the connection in \
                  Secret catalyst-postgres (catalyst) (global.postgresql.external); Dapr scheduler PostgreSQL: \
                  separate, sched.example:5432/sched (agent.config.internal_dapr.scheduler.postgresql.connections); \
                  Kafka topics of managed pub/sub: external, brokers kafka-1.example:9092 (global.kafka.external)\n";
    assert!(
        stdout.contains(stores),
        "read from the deployed values: {stdout}"
    );
    let dapr = "warning[PF008]: dapr running now (several versions: one region should run one): 1.17.3-catalyst.1 \
                (in prj-a), 1.19.0-20260806-catalyst.1 (in root-dapr-system); chart 1.90.0 pins dapr \
                1.19.0-20260806-catalyst.2: the upgrade rolls every dapr of the region to it\n";
    assert!(stdout.contains(dapr), "{stdout}");
    assert!(stdout.contains("can go to 1.90.0"), "{stdout}");
    assert!(!stdout.contains("SECRET"), "{stdout}");
}

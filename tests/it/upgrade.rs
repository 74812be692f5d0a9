//! `opsta-lint upgrade` end to end: the real Helm 3.17 and 4.1 install chart 1.75.0 of a Catalyst-shaped chart
//! into the fake API server, then `opsta-lint upgrade` to 1.76.0 shows the diff and asks on a real terminal (tmux).
use crate::common;

use common::fakekube::FakeKube;
use common::output_text as text;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub(crate) const NS: &str = "cra-agent";
const REGISTRY: &str =
    "us-central1-docker.pkg.dev/prj-common-p-shared-79896/reg-p-common-docker-public";

/// The Catalyst-shaped test chart at `version`, with a pre-upgrade hook Job that runs an image, as Catalyst's
/// cleanup hook does (its digest can be given through `cleanup.image.digest`: how Helm 3 users pin hook images).
pub(crate) fn chart(dir: &Path, version: &str) -> PathBuf {
    let chart = dir.join(format!("catalyst-{version}"));
    let source = common::root().join("testdata/charts/catalyst-mini");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    for entry in std::fs::read_dir(source.join("templates")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            chart.join("templates").join(entry.file_name()),
        )
        .unwrap();
    }
    std::fs::copy(source.join("values.yaml"), chart.join("values.yaml")).unwrap();
    let meta = std::fs::read_to_string(source.join("Chart.yaml")).unwrap();
    let meta = meta.replace("1.89.0", version);
    std::fs::write(chart.join("Chart.yaml"), meta).unwrap();
    let job = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: catalyst-cleanup
  namespace: {{ .Release.Namespace }}
  annotations:
    helm.sh/hook: pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: cleanup
          image: {{ .Values.global.image.registry }}/catalyst-cleanup:{{ .Chart.Version }}{{ with (.Values.cleanup).image }}{{ with .digest }}@{{ . }}{{ end }}{{ end }}
"#;
    std::fs::write(chart.join("templates/cleanup-hook.yaml"), job).unwrap();
    chart
}

pub(crate) fn digest(component: &str) -> String {
    let n = match component {
        "agent" => 1,
        "management" => 2,
        _ => 3,
    };
    common::fake_digest(n)
}

/// The lock of 1.76.0: the three images of the chart, or all but `leave_out`.
pub(crate) fn lock(dir: &Path, leave_out: Option<&str>) -> PathBuf {
    let mut text = "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nproduct: catalyst\nversion: 1.76.0\nimages:\n".to_string();
    for component in ["agent", "management", "cleanup"] {
        if Some(component) != leave_out {
            text.push_str(&format!(
                "  - image: {REGISTRY}/catalyst-{component}:1.76.0\n    digest: {}\n",
                digest(component)
            ));
        }
    }
    let path = dir.join(format!("lock-{}.yaml", leave_out.unwrap_or("all")));
    std::fs::write(&path, text).unwrap();
    path
}

pub(crate) fn values(dir: &Path, token: bool) -> PathBuf {
    let token = if token {
        "join_token: jt-SECRET-0001\n"
    } else {
        ""
    };
    let text = format!(
        "{token}management:\n  config:\n    tunnel:\n      enabled: true\n      piko:\n        upstream_url: https://tunnel-upstream.r1.diagrid.io\n"
    );
    let path = dir.join(format!("values-{}.yaml", !token.is_empty()));
    std::fs::write(&path, text).unwrap();
    path
}

struct Setup {
    kube: FakeKube,
    major: u8,
    dir: tempfile::TempDir,
    chart: PathBuf,
    values: PathBuf,
}

/// The fake server with release `cat` at chart 1.75.0 installed by the real helm `major` (Helm 4: the
/// post-renderer plugin installed too, as README says).
fn installed(major: u8) -> Setup {
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let old = chart(dir.path(), "1.75.0");
    let values = values(dir.path(), true);
    let out = kube
        .helm(&common::helm(major))
        .args(["install", "cat"])
        .arg(&old)
        .args(["-n", NS, "-f"])
        .arg(&values)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "helm {major} install: {:?}",
        text(&out)
    );
    if major == 4 {
        common::install_helm4_postrenderer(dir.path(), || kube.helm(&common::helm(4)));
    }
    let chart = chart(dir.path(), "1.76.0");
    Setup {
        kube,
        major,
        dir,
        chart,
        values,
    }
}

impl Setup {
    /// `opsta-lint upgrade cat CHART -n cra-agent --chart-version 1.76.0 -f VALUES --lock LOCK --helm HELM ...`
    fn upgrade_args(&self, lock: &Path, values: &Path, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = ["upgrade", "cat"].map(String::from).to_vec();
        args.push(self.chart.display().to_string());
        args.extend(["-n", NS, "--chart-version", "1.76.0", "-f"].map(String::from));
        args.push(values.display().to_string());
        args.push("--lock".into());
        args.push(lock.display().to_string());
        args.push("--helm".into());
        args.push(common::helm(self.major).display().to_string());
        if self.major == 3 {
            // Helm 3 never post-renders hooks: the hook image is pinned through the values.
            args.push("--set".into());
            args.push(format!("cleanup.image.digest={}", digest("cleanup")));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// opsta-lint with the fake server's kubeconfig and Helm home (no terminal: stdin is /dev/null).
    fn opsta(&self, args: &[String]) -> Output {
        self.kube
            .helm(Path::new(env!("CARGO_BIN_EXE_opsta-lint")))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    fn revisions(&self) -> Vec<opsta_lint::helm_release::Release> {
        revisions(&self.kube)
    }

    /// Pods of the 1.76.0 workloads running the locked digests, as the kubelet would report them.
    fn pods_on_locked_digests(&self) {
        self.pods(true);
    }

    fn pods(&self, ready: bool) {
        insert_pods(&self.kube, ready);
    }

    /// The TMPDIR opsta-lint runs with in the terminal.
    fn terminal_tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// What is in `terminal_tmp`.
    fn temporary_folders(&self) -> Vec<String> {
        std::fs::read_dir(self.terminal_tmp())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Runs opsta-lint in a real terminal (tmux), waits for the prompt, types `answer` and Enter, and returns
    /// the exit code (as the shell reports it) and what the terminal showed.
    fn upgrade_in_terminal(&self, args: &[String], answer: &str) -> (i32, String) {
        self.keys_in_terminal(args, &[answer, "Enter"])
    }

    /// As `upgrade_in_terminal`, with the keys given (tmux send-keys names: `C-c` is Ctrl-C).
    fn keys_in_terminal(&self, args: &[String], keys: &[&str]) -> (i32, String) {
        // A server of its own each time: a new one on the socket of one just killed can find it still exiting.
        static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let socket = self.dir.path().join(format!("tmux-{n}.sock"));
        let script = self.dir.path().join("run.sh");
        let done = self.dir.path().join("exit-code");
        let _ = std::fs::remove_file(&done);
        let probe = self.kube.helm(Path::new(env!("CARGO_BIN_EXE_opsta-lint")));
        // The shell survives a Ctrl-C that ends opsta-lint (a trap, unlike an ignored signal, is not inherited),
        // so it can write the exit code.
        let mut lines = String::from("#!/bin/bash\ntrap : INT\n");
        for (key, value) in probe.get_envs() {
            let key = key.to_str().unwrap();
            match value {
                Some(v) => {
                    lines.push_str(&format!("export {key}={}\n", quote(v.to_str().unwrap())))
                }
                None => lines.push_str(&format!("unset {key}\n")),
            }
        }
        let mut command = quote(env!("CARGO_BIN_EXE_opsta-lint"));
        for arg in args {
            command.push(' ');
            command.push_str(&quote(arg));
        }
        // A TMPDIR of its own, to see the upgrade's temporary folder come and go.
        let tmp = self.terminal_tmp();
        std::fs::create_dir_all(&tmp).unwrap();
        lines.push_str(&format!(
            "export NO_COLOR=1 TMPDIR={}\n{command}\necho $? > {}\nsleep 30\n",
            quote(tmp.to_str().unwrap()),
            quote(done.to_str().unwrap())
        ));
        std::fs::write(&script, lines).unwrap();
        let tmux = |extra: &[&str]| {
            Command::new("tmux")
                .arg("-S")
                .arg(&socket)
                .args(extra)
                .output()
                .expect("runs tmux (scripts/install-tools.sh installs it)")
        };
        let started = tmux(&[
            "new-session",
            "-d",
            "-x",
            "200",
            "-y",
            "50",
            "bash",
            script.to_str().unwrap(),
        ]);
        assert!(started.status.success(), "tmux: {:?}", text(&started));
        let screen = || {
            let out = tmux(&["capture-pane", "-p", "-S", "-1000"]);
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !screen().contains("[y/N]") && !done.exists() {
            assert!(Instant::now() < deadline, "no prompt:\n{}", screen());
            std::thread::sleep(Duration::from_millis(100));
        }
        if !done.exists() {
            assert!(
                self.temporary_folders()
                    .iter()
                    .any(|f| f.starts_with("opsta-lint-upgrade-")),
                "at the prompt, the chart archive's folder is in TMPDIR"
            );
        }
        let mut send = vec!["send-keys"];
        send.extend(keys);
        tmux(&send);
        let deadline = Instant::now() + Duration::from_secs(120);
        while !done.exists() {
            assert!(Instant::now() < deadline, "did not finish:\n{}", screen());
            std::thread::sleep(Duration::from_millis(100));
        }
        let shown = screen();
        tmux(&["kill-server"]);
        let code = std::fs::read_to_string(&done)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        (code, shown)
    }
}

/// The release `cat`'s revisions as Helm stored them, oldest first.
pub(crate) fn revisions(kube: &FakeKube) -> Vec<opsta_lint::helm_release::Release> {
    use base64::Engine;
    let mut found: Vec<_> = kube
        .list("secrets", NS)
        .into_iter()
        .filter(|o| o["metadata"]["labels"]["owner"] == "helm")
        .map(|o| {
            let payload = base64::engine::general_purpose::STANDARD
                .decode(o["data"]["release"].as_str().unwrap())
                .unwrap();
            opsta_lint::helm_release::decode(&payload).unwrap()
        })
        .collect();
    found.sort_by_key(|r| r.revision);
    found
}

/// Pods of the 1.76.0 workloads on the locked digests, Ready or not, as the kubelet would report them.
pub(crate) fn insert_pods(kube: &FakeKube, ready: bool) {
    for component in ["agent", "management"] {
        let image = format!(
            "{REGISTRY}/catalyst-{component}:1.76.0@{}",
            digest(component)
        );
        let image_id = format!("{REGISTRY}/catalyst-{component}@{}", digest(component));
        kube.insert(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{component}-1"), "namespace": NS,
                "labels": {"app.kubernetes.io/name": component, "app.kubernetes.io/instance": "cat"}},
            "spec": {"containers": [{"name": component, "image": image}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                "containerStatuses": [{"name": component, "image": image, "imageID": image_id,
                    "ready": ready, "restartCount": 0}]}
        }));
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Declined on the terminal: revision 1 stays; accepted: revision 2 carries only locked digests.
fn declined_then_applied(major: u8) {
    let setup = installed(major);
    let lock = lock(setup.dir.path(), None);
    let args = setup.upgrade_args(&lock, &setup.values, &[]);

    let (code, shown) = setup.upgrade_in_terminal(&args, "n");
    assert_eq!(code, 3, "helm {major}, declined:\n{shown}");
    assert!(
        shown.contains("Apply this upgrade to cat in cra-agent? [y/N]"),
        "{shown}"
    );
    assert!(
        shown.contains("catalyst-agent:1.76.0@"),
        "the diff shows the pinned image:\n{shown}"
    );
    let stores = shown
        .find("warning[PF007]: back up the stores")
        .expect(&shown);
    assert!(
        stores < shown.find("[y/N]").unwrap(),
        "the stores to back up are listed before the prompt:\n{shown}"
    );
    assert!(
        !shown.contains("jt-SECRET-0001"),
        "the token never shows:\n{shown}"
    );
    assert_eq!(setup.revisions().len(), 1, "declined: nothing applied");
    assert_eq!(setup.temporary_folders(), Vec::<String>::new(), "declined");

    // Ctrl-C at the prompt: opsta-lint ends by the signal (the shell says 130), nothing applied.
    let (code, shown) = setup.keys_in_terminal(&args, &["C-c"]);
    assert_eq!(code, 130, "helm {major}, Ctrl-C:\n{shown}");
    assert!(!shown.contains("applied as revision"), "{shown}");
    assert_eq!(setup.revisions().len(), 1, "Ctrl-C: nothing applied");
    assert_eq!(
        setup.temporary_folders(),
        Vec::<String>::new(),
        "Ctrl-C removes the temporary folder"
    );

    // No terminal and no --yes: refused before anything is applied.
    let out = setup.opsta(&args);
    assert_eq!(out.status.code(), Some(2), "{:?}", text(&out));
    assert!(
        text(&out).1.contains("no terminal to confirm"),
        "{:?}",
        text(&out)
    );
    assert_eq!(setup.revisions().len(), 1);

    setup.pods_on_locked_digests();
    let (code, shown) = setup.upgrade_in_terminal(&args, "y");
    assert_eq!(code, 0, "helm {major}, accepted:\n{shown}");
    let revisions = setup.revisions();
    assert_eq!(revisions.len(), 2, "{shown}");
    let applied = &revisions[1];
    assert_eq!(applied.chart_version, "1.76.0");
    assert_eq!(applied.status, "deployed");
    let stored = applied.rendered_source().text;
    let images: Vec<&str> = stored
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("image:"))
        .map(|i| i.trim().trim_matches(|c| c == '"' || c == '\''))
        .collect();
    assert_eq!(images.len(), 3, "agent, management and the hook: {stored}");
    for image in images {
        let component = image
            .split("catalyst-")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .unwrap();
        assert!(
            image.ends_with(&format!(":1.76.0@{}", digest(component))),
            "helm {major}: {image} is not on its locked digest"
        );
    }
    assert!(shown.contains("ok: every pod Ready"), "{shown}");
}

#[test]
fn helm3_upgrade_asks_then_applies_only_locked_digests() {
    declined_then_applied(3);
}

#[test]
fn helm4_upgrade_asks_then_applies_only_locked_digests() {
    declined_then_applied(4);
}

/// A missing token stops at lint, an unlocked image at render, a pending release at preflight: each before
/// anything is applied.
fn stops_before_apply(major: u8) {
    let setup = installed(major);
    let full = lock(setup.dir.path(), None);

    // PF007 lists the stores from the values as the upgrade passes them to helm: the -f files, then --set,
    // --set-string and --set-json.
    let sets = [
        "--set",
        "global.postgresql.create=false",
        "--set-string",
        "global.postgresql.external.host=pg.example",
        "--set-json",
        "global.postgresql.external.port=5432",
        "--set-string",
        "global.postgresql.external.database=wf",
        "--dry-run",
    ];
    let out = setup.opsta(&setup.upgrade_args(&full, &setup.values, &sets));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "warning[PF007]: back up the stores this region keeps its state in before you apply (Catalyst's \
             upgrade guide; the chart does not back them up): workflow PostgreSQL: external, pg.example:5432/wf \
             (global.postgresql.external)\n"
        ),
        "{stderr}"
    );
    if major == 4 {
        // Without the post-renderer plugin the render fails, and the error says how to install it.
        let out = setup
            .kube
            .helm(Path::new(env!("CARGO_BIN_EXE_opsta-lint")))
            .args(setup.upgrade_args(&full, &setup.values, &["--dry-run"]))
            .env("HELM_PLUGINS", setup.dir.path().join("no-plugins"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
        assert!(
            stderr.contains(
                "opsta-lint-postrender is not installed: install it with `helm opsta-lint install-postrenderer`"
            ),
            "{stderr}"
        );
    }
    let no_token = values(setup.dir.path(), false);
    let out = setup.opsta(&setup.upgrade_args(&full, &no_token, &["--yes", "-o", "json"]));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(report["exit"], 1, "{report:#}");
    assert_eq!(report["findings"][0]["code"], "OL101", "{report:#}");
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["step"], "lint", "{report:#}");
    assert_eq!(steps.last().unwrap()["result"], "stopped", "{report:#}");
    assert_eq!(report["revision"]["to"], serde_json::Value::Null);
    assert!(stderr.contains("stopped at lint"), "{stderr}");
    assert_eq!(setup.revisions().len(), 1);

    let unlocked = lock(setup.dir.path(), Some("management"));
    let out = setup.opsta(&setup.upgrade_args(&unlocked, &setup.values, &["--yes"]));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("catalyst-management:1.76.0"), "{stderr}");
    assert!(stderr.contains("stopped at render"), "{stderr}");
    assert!(
        stdout.contains("  render     stopped\n") && stdout.ends_with("exit 1\n"),
        "the closing report: {stdout}"
    );
    assert_eq!(setup.revisions().len(), 1);

    if major == 3 {
        // The hook image, which Helm 3 never post-renders, not pinned through the values.
        let mut args = setup.upgrade_args(&full, &setup.values, &["--yes"]);
        let at = args
            .iter()
            .position(|a| a.starts_with("cleanup.image.digest="))
            .unwrap();
        args.drain(at - 1..=at);
        let out = setup.opsta(&args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
        assert!(
            stderr.contains("PF002") && stderr.contains("catalyst-cleanup"),
            "{stderr}"
        );
        assert_eq!(setup.revisions().len(), 1);
    }

    let out = setup.opsta(&setup.upgrade_args(
        &full,
        &setup.values,
        &["--dry-run", "--detailed-exitcode"],
    ));
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--dry-run with changes: {stdout}{stderr}"
    );
    assert!(stdout.contains("catalyst-agent:1.76.0@"), "{stdout}");
    assert_eq!(setup.revisions().len(), 1);

    let out = setup.opsta(&setup.upgrade_args(&full, &setup.values, &["--reuse-values"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("re-apply the full values"),
        "{:?}",
        text(&out)
    );

    // Another operation left the release pending-upgrade.
    let name = "sh.helm.release.v1.cat.v1";
    let secret = setup.kube.get("secrets", NS, name).unwrap();
    let mut pending = secret.clone();
    {
        use base64::Engine;
        let engine = base64::engine::general_purpose::STANDARD;
        let payload = engine
            .decode(secret["data"]["release"].as_str().unwrap())
            .unwrap();
        let inner = engine.decode(&payload).unwrap();
        let mut json = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&inner[..]), &mut json)
            .unwrap();
        let mut release: serde_json::Value = serde_json::from_slice(&json).unwrap();
        release["version"] = 2.into();
        release["info"]["status"] = "pending-upgrade".into();
        let payload = engine.encode(engine.encode(serde_json::to_vec(&release).unwrap()));
        pending["metadata"] = serde_json::json!({"name": "sh.helm.release.v1.cat.v2", "namespace": NS,
            "labels": {"owner": "helm", "name": "cat", "status": "pending-upgrade", "version": "2"}});
        pending["data"]["release"] = payload.into();
    }
    setup.kube.insert(pending);
    let out = setup.opsta(&setup.upgrade_args(&full, &setup.values, &["--yes"]));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("PF001") && stderr.contains("pending-upgrade"),
        "{stderr}"
    );
    assert_eq!(
        setup.revisions().len(),
        2,
        "only the pending one added by the test"
    );
}

#[test]
fn helm3_upgrade_stops_before_apply() {
    stops_before_apply(3);
}

#[test]
fn helm4_upgrade_stops_before_apply() {
    stops_before_apply(4);
}

/// `opsta-lint preflight` on its own: the lock must be the target's, no downgrade, a major needs --allow-major.
#[test]
fn preflight_checks_the_lock_the_direction_and_the_major() {
    let setup = installed(3);
    let lock = lock(setup.dir.path(), None);
    let run = |version: &str, extra: &[&str]| {
        let mut args: Vec<String> = ["preflight", "--release", "cat", "-n", NS]
            .map(String::from)
            .to_vec();
        args.extend(["--chart-version".into(), version.into(), "--lock".into()]);
        args.push(lock.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = setup.opsta(&args);
        (out.status.code().unwrap(), text(&out).0 + &text(&out).1)
    };
    let (code, said) = run("1.76.0", &[]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("can go to 1.76.0"), "{said}");
    let (code, said) = run("1.77.0", &[]);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("error[PF003]") && said.contains("version 1.76.0"),
        "{said}"
    );
    let (code, said) = run("1.74.0", &[]);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("error[PF005]") && said.contains("downgrade"),
        "{said}"
    );
    let (code, said) = run("2.0.0", &[]);
    assert!(code == 1 && said.contains("error[PF004]"), "{said}");
    let (_, said) = run("2.0.0", &["--allow-major"]);
    assert!(!said.contains("PF004"), "{said}");
}

/// A chart opsta-lint does not know: `upgrade` lints the values against the chart's own schemas (the parent's
/// and its subchart's, over their values.yaml) and stops there, located in the user's file, before helm runs.
#[test]
fn generic_chart_upgrade_lints_against_the_charts_own_schemas() {
    let kube = FakeKube::start();
    let dir = tempfile::tempdir().unwrap();
    let source = common::root().join("testdata/generic-chart/parent");
    let helm = common::helm(4);
    let out = kube
        .helm(&helm)
        .args(["install", "gen"])
        .arg(&source)
        .args(["-n", NS])
        .output()
        .unwrap();
    assert!(out.status.success(), "helm install: {:?}", text(&out));
    common::install_helm4_postrenderer(dir.path(), || kube.helm(&helm));
    let lock = dir.path().join("lock.yaml");
    std::fs::write(
        &lock,
        "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nversion: 1.2.0\nimages: []\n",
    )
    .unwrap();
    let run = |values: &str, extra: &[&str]| {
        let file = dir.path().join("values.yaml");
        std::fs::write(&file, values).unwrap();
        let out = kube
            .helm(Path::new(env!("CARGO_BIN_EXE_opsta-lint")))
            .args(["upgrade", "gen"])
            .arg(&source)
            .args(["-n", NS, "-f"])
            .arg(&file)
            .arg("--lock")
            .arg(&lock)
            .arg("--helm")
            .arg(&helm)
            .args(extra)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        (out.status.code(), stdout, stderr)
    };
    let (code, stdout, stderr) = run("replicas: 2\nsub:\n  workers: 9\n", &["--yes"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("linting against the chart's own schemas"),
        "{stderr}"
    );
    assert!(stdout.contains("values.yaml:3:3: OL001"), "{stdout}");
    assert!(stderr.contains("stopped at lint"), "{stderr}");
    let (code, stdout, stderr) = run("replicas: 2\nsub:\n  workers: 3\n", &["--dry-run"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("replicas"), "the diff is shown: {stdout}");
    let stored = kube
        .list("secrets", NS)
        .into_iter()
        .filter(|o| o["metadata"]["labels"]["name"] == "gen")
        .count();
    assert_eq!(stored, 1, "nothing was applied");
}

/// How many times the pods of the release's namespace were listed.
fn pod_lists(kube: &FakeKube) -> usize {
    let list = format!("GET /api/v1/namespaces/{NS}/pods?");
    kube.requests()
        .iter()
        .filter(|r| r.starts_with(&list))
        .count()
}

/// After the apply, upgrade waits for the pods: not Ready at first, Ready once the test sees it check them again.
#[test]
fn upgrade_waits_until_the_pods_are_ready() {
    let setup = installed(3);
    let lock = lock(setup.dir.path(), None);
    setup.pods(false);
    let args = setup.upgrade_args(
        &lock,
        &setup.values,
        &["--yes", "--timeout", "10m", "-o", "json"],
    );
    let child = setup
        .kube
        .helm(Path::new(env!("CARGO_BIN_EXE_opsta-lint")))
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Revision 2 is stored, then the pods are checked at least once more: they were not Ready then.
    let deadline = Instant::now() + Duration::from_secs(120);
    while setup.revisions().len() < 2 {
        assert!(Instant::now() < deadline, "the upgrade was not applied");
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = pod_lists(&setup.kube);
    while pod_lists(&setup.kube) <= seen {
        assert!(Instant::now() < deadline, "the pods were not checked again");
        std::thread::sleep(Duration::from_millis(50));
    }
    setup.pods(true);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("waiting up to 10m0s") && stderr.contains("not Ready"),
        "{stderr}"
    );
    // -o json: one JSON document on stdout, the diff on the terminal (stderr).
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(report["exit"], 0, "{report:#}");
    assert_eq!(
        report["chart"],
        serde_json::json!({"name": "catalyst", "from": "1.75.0", "to": "1.76.0"})
    );
    assert_eq!(report["revision"], serde_json::json!({"from": 1, "to": 2}));
    assert!(
        report["diff"]["changed"].as_u64().unwrap() >= 2,
        "{report:#}"
    );
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "pull",
            "lint",
            "preflight",
            "render",
            "diff",
            "confirm",
            "apply",
            "stored",
            "verify"
        ]
    );
    assert_eq!(
        report["verify"]["ok"], true,
        "verify's own document: {report:#}"
    );
    let findings: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(
        findings,
        [
            ("OL403", "warning"),
            ("OL403", "warning"),
            ("PF007", "warning")
        ],
        "lint's warnings on the crossing of 1.76.0, then preflight's list of stores to back up: {report:#}"
    );
    let stores = &report["findings"][2];
    assert_eq!(stores["location"]["resourceKind"], "Release", "{stores:#}");
    assert!(
        stores["message"].as_str().unwrap().contains("PostgreSQL"),
        "{stores:#}"
    );
    assert!(
        stderr.contains("catalyst-agent:1.76.0@"),
        "the diff: {stderr}"
    );
}

/// Pods that never become Ready: the wait ends at --timeout with VF008, the remaining problems and the
/// `helm rollback` command for the revision before.
#[test]
fn upgrade_reports_pods_not_ready_within_the_timeout() {
    let setup = installed(3);
    let lock = lock(setup.dir.path(), None);
    setup.pods(false);
    let out = setup.opsta(&setup.upgrade_args(&lock, &setup.values, &["--yes", "--timeout", "3s"]));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("VF008") && stdout.contains("within --timeout 3s"),
        "{stdout}"
    );
    assert!(
        stdout.contains("VF001"),
        "the problems that remained: {stdout}"
    );
    assert!(
        stderr.contains("helm rollback cat 1 -n cra-agent"),
        "{stderr}"
    );
    assert_eq!(setup.revisions().len(), 2, "applied, not rolled back");
    assert!(
        stdout.contains(
            "upgrade of cat in cra-agent: chart catalyst 1.75.0 -> 1.76.0, revision 1 -> 2\n"
        ) && stdout.contains("  verify     stopped\n")
            && stdout.ends_with("exit 1\n"),
        "the closing report: {stdout}"
    );

    let out = setup.opsta(&[
        "upgrade".into(),
        "cat".into(),
        "x".into(),
        "--timeout".into(),
        "10".into(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("write it as helm does"),
        "{:?}",
        text(&out)
    );
}

//! The post-renderer under the real Helm 3 and Helm 4 binaries: `helm template` of testdata/charts/pin-demo through
//! `opsta-lint postrender` (Helm 3: the binary's path; Helm 4: the `opsta-lint-postrender` plugin installed by
//! `helm opsta-lint install-postrenderer` into a temporary Helm home).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WEB: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const INIT: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const SIDECAR: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
const HOOK: &str = "sha256:4444444444444444444444444444444444444444444444444444444444444444";

fn chart() -> PathBuf {
    common::root().join("testdata/charts/pin-demo")
}

fn write_lock(dir: &Path) -> PathBuf {
    let text = format!(
        "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nproduct: pin-demo\nversion: 0.3.0\nimages:\n\
         - {{image: nginx:1.27, digest: {WEB}}}\n- {{image: busybox:1.36, digest: {INIT}}}\n\
         - {{image: ghcr.io/dapr/daprd:1.17.3, digest: {SIDECAR}}}\n- {{image: alpine:3.20, digest: {HOOK}}}\n"
    );
    let path = dir.join("lock.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A helm command with a fresh, private Helm home. Helm 4.1's `plugin install` writes into
/// $HELM_DATA_HOME/plugins whatever HELM_PLUGINS says, so for Helm 4 the plugins folder is that one.
fn helm(major: u8, home: &Path) -> Command {
    let mut cmd = Command::new(common::helm(major));
    cmd.envs(common::helm_env(home));
    if major == 4 {
        let data = common::helm_env(home)
            .into_iter()
            .find(|(k, _)| k == "HELM_DATA_HOME")
            .unwrap()
            .1;
        cmd.env("HELM_PLUGINS", data.join("plugins"));
    }
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn helm3_template(home: &Path, lock: &Path, extra: &[&str]) -> Output {
    helm(3, home)
        .args(["template", "rel"])
        .arg(chart())
        .args(["-n", "demo", "--post-renderer"])
        .arg(env!("CARGO_BIN_EXE_opsta-lint"))
        .args(["--post-renderer-args", "postrender", "--post-renderer-args"])
        .arg(format!("--lock={}", lock.display()))
        .args(extra)
        .output()
        .expect("runs helm 3")
}

/// Installs the Helm 4 post-renderer plugin into the temporary Helm home as docs/install.md says.
fn install_helm4_plugin(home: &Path) {
    common::install_helm4_postrenderer(home, || helm(4, home));
}

fn helm4_template(home: &Path, args: &[String], extra: &[&str]) -> Output {
    let mut cmd = helm(4, home);
    cmd.args(["template", "rel"]).arg(chart());
    cmd.args(["-n", "demo", "--post-renderer", "opsta-lint-postrender"]);
    for arg in args {
        cmd.args(["--post-renderer-args", arg]);
    }
    cmd.args(extra).output().expect("runs helm 4")
}

#[test]
fn helm3_pins_workload_images_but_never_sees_hooks() {
    let home = tempfile::tempdir().unwrap();
    let lock = write_lock(home.path());
    let report = home.path().join("report.txt");
    let report_arg = format!("--report={}", report.display());
    let out = helm3_template(home.path(), &lock, &["--post-renderer-args", &report_arg]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let written = std::fs::read_to_string(&report).unwrap();
    assert!(
        written.contains("warning[PR007]") && written.contains("hook images"),
        "{written}"
    );
    assert!(
        stdout.contains(&format!("image: 'busybox:1.36@{INIT}'")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "image: \"nginx:1.27@{WEB}\"   # pinned by the post-renderer"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("value: ghcr.io/dapr/daprd:1.17.3@{SIDECAR}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("  run.sh: |\n    image: not-an-image:1\n  flag: \"on\"\n"),
        "{stdout}"
    );
    // Helm 3 never gives hooks to a post-renderer: the hook's image stays as the chart wrote it.
    assert!(stdout.contains("image: alpine:3.20\n"), "{stdout}");
}

#[test]
fn helm3_fails_on_an_unlocked_image_and_shows_why() {
    let home = tempfile::tempdir().unwrap();
    let lock = write_lock(home.path());
    let out = helm3_template(home.path(), &lock, &["--set", "image=redis:7"]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "helm must fail: {stdout}");
    assert!(
        stderr.contains(
            "error[PR001]: Deployment demo/rel-web, container \"web\": image \"redis:7\""
        ),
        "{stderr}"
    );
    assert!(
        !stdout.contains("kind: Deployment"),
        "nothing rendered reaches helm's output: {stdout}"
    );
}

#[test]
fn helm4_plugin_pins_workloads_and_hooks() {
    let home = tempfile::tempdir().unwrap();
    install_helm4_plugin(home.path());
    let lock = write_lock(home.path());
    let report = home.path().join("report.txt");
    let args = [
        format!("--lock={}", lock.display()),
        format!("--report={}", report.display()),
    ];
    let out = helm4_template(home.path(), &args, &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    // Helm 4 re-serializes what the post-renderer returns (list indentation, comment spacing): match the scalars.
    assert!(
        stdout.contains(&format!("image: 'busybox:1.36@{INIT}'")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("image: \"nginx:1.27@{WEB}\"")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("value: ghcr.io/dapr/daprd:1.17.3@{SIDECAR}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("image: alpine:3.20@{HOOK}\n")),
        "Helm 4 post-renders hooks: {stdout}"
    );
    assert!(
        stdout.contains("  run.sh: |\n    image: not-an-image:1\n  flag: \"on\"\n"),
        "{stdout}"
    );
    let written = std::fs::read_to_string(&report).unwrap();
    assert!(
        written.contains("4 image reference(s) checked"),
        "{written}"
    );
    assert!(
        !written.contains("PR007"),
        "Helm 4 input carries the filename annotation: {written}"
    );
}

#[test]
fn helm4_fails_on_an_unlocked_hook_image_and_the_report_says_why() {
    let home = tempfile::tempdir().unwrap();
    install_helm4_plugin(home.path());
    let lock = write_lock(home.path());
    let report = home.path().join("report.txt");
    let args = [
        format!("--lock={}", lock.display()),
        format!("--report={}", report.display()),
    ];
    let out = helm4_template(home.path(), &args, &["--set", "hookImage=alpine:3.21"]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "helm must fail: {stdout}");
    assert!(!stdout.contains("kind: Deployment"), "{stdout}");
    assert!(
        stderr.contains("opsta-lint-postrender"),
        "helm names the failing plugin: {stderr}"
    );
    let written = std::fs::read_to_string(&report).expect("the report file is written");
    assert!(
        written.contains(
            "error[PR001]: Job rel-migrate, container \"migrate\": image \"alpine:3.21\""
        ),
        "{written}"
    );
}

#[test]
fn a_post_renderer_that_cannot_run_fails_helm() {
    let home = tempfile::tempdir().unwrap();
    let bad_lock = home.path().join("bad.yaml");
    std::fs::write(
        &bad_lock,
        "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n- {image: nginx, digest: x}\n",
    )
    .unwrap();
    let out = helm3_template(home.path(), &bad_lock, &[]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stderr.contains("bad.yaml:4:26: digest \"x\" must start with sha256:"),
        "{stderr}"
    );
    install_helm4_plugin(home.path());
    let out = helm4_template(
        home.path(),
        &[format!("--lock={}", bad_lock.display())],
        &[],
    );
    assert!(!out.status.success(), "{:?}", text(&out));
    let missing = home.path().join("missing.yaml");
    let out = helm4_template(home.path(), &[format!("--lock={}", missing.display())], &[]);
    assert!(!out.status.success(), "{:?}", text(&out));
}

/// The shared plugins folder hazard (docs/postrender.md): a Helm 4 `apiVersion: v1` plugin in the folder Helm 3
/// reads makes Helm 3 drop every plugin, `helm opsta-lint` included; with Helm 4's plugin in a folder of its own,
/// both work.
#[test]
fn helm3_loses_every_plugin_beside_the_helm4_plugin_and_the_readme_setup_avoids_it() {
    let shared = tempfile::tempdir().unwrap();
    let source = common::cli_plugin_source(shared.path());
    let helm3 = |args: &[&str]| {
        helm(3, shared.path())
            .args(args)
            .env("OPSTA_LINT_BIN", env!("CARGO_BIN_EXE_opsta-lint"))
            .output()
            .unwrap()
    };
    let installed = helm3(&["plugin", "install", source.to_str().unwrap()]);
    assert!(installed.status.success(), "{:?}", text(&installed));
    let version = |out: &Output| (out.status.code(), text(out).0);
    let ok = version(&helm3(&["opsta-lint", "--version"]));
    assert_eq!(
        ok,
        (
            Some(0),
            format!("opsta-lint {}\n", env!("CARGO_PKG_VERSION"))
        )
    );

    // What an install into the shared folder would do (install-postrenderer chooses another folder beside a Helm 3).
    let shared_plugins = shared.path().join("data/plugins");
    let forced = common::bin()
        .args(["install-postrenderer", "--plugins-dir"])
        .arg(&shared_plugins)
        .output()
        .unwrap();
    assert!(forced.status.success(), "{:?}", text(&forced));
    let broken = helm3(&["opsta-lint", "--version"]);
    let (_, stderr) = text(&broken);
    assert_ne!(broken.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("unknown command \"opsta-lint\"") && stderr.contains("apiVersion"),
        "Helm 3 no longer drops its plugins beside a v1 plugin: update the hazard note of docs/postrender.md\n{stderr}"
    );

    std::fs::remove_dir_all(shared_plugins.join("opsta-lint-postrender")).unwrap();
    let own = tempfile::tempdir().unwrap();
    install_helm4_plugin(own.path());
    assert_eq!(version(&helm3(&["opsta-lint", "--version"])), ok);
    let lock = write_lock(own.path());
    let pinned = helm4_template(own.path(), &[format!("--lock={}", lock.display())], &[]);
    let (stdout, stderr) = text(&pinned);
    assert!(pinned.status.success() && stdout.contains(WEB), "{stderr}");
}

/// Helm 4 gives the post-renderer every resource with its `postrenderer.helm.sh/postrender-filename` annotation
/// and strips it before it prints or stores the release: `--diff-against` what Helm printed shows no change.
#[test]
fn helm4_bookkeeping_annotation_is_no_change_in_the_diff() {
    let home = tempfile::tempdir().unwrap();
    install_helm4_plugin(home.path());
    let lock = write_lock(home.path());
    let first = helm4_template(home.path(), &[format!("--lock={}", lock.display())], &[]);
    let (deployed, stderr) = text(&first);
    assert!(first.status.success(), "{stderr}");
    assert!(
        !deployed.contains("postrenderer.helm.sh/postrender-filename"),
        "Helm 4 strips its annotation from what it prints: {deployed}"
    );
    let deployed_file = home.path().join("deployed.yaml");
    std::fs::write(&deployed_file, &deployed).unwrap();
    let report = home.path().join("diff.txt");
    let args = [
        format!("--lock={}", lock.display()),
        format!("--diff-against={}", deployed_file.display()),
        format!("--diff-file={}", report.display()),
    ];
    let out = helm4_template(home.path(), &args, &[]);
    assert!(out.status.success(), "{:?}", text(&out));
    let shown = std::fs::read_to_string(&report).unwrap();
    assert!(
        shown.starts_with("0 changed, 0 added, 0 removed ("),
        "the bookkeeping annotation shows as a change: {shown}"
    );
}

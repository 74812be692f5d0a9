//! Installing opsta-lint exactly as docs/install.md says, with the real Helm 3.17 and 4.1, and never failing open.
//!
//! Each documented ```sh block names the test here that runs it (`# tested by:`); the tests take the block's text
//! from docs/install.md and run it with bash, unchanged. What differs from a user's machine is only where things
//! come from: the release files (made by `scripts/release.sh --binary` from this test build's binary) are served by
//! a loopback HTTP server named by OPSTA_LINT_DOWNLOAD_URL; Helm's git clone of github.com/opsta/opsta-lint is
//! mapped by git's `url.<base>.insteadOf` (GIT_CONFIG_* variables) to a local repository holding the plugin's
//! files at tag v<version>; Helm, HOME and the cluster (a fake API server) are private to each test.

use crate::common;

use common::fakekube::FakeKube;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const BIN: &str = env!("CARGO_BIN_EXE_opsta-lint");
const PINNED: [&str; 2] = [
    "catalyst-agent:1.89.0@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
    "catalyst-management:1.89.0@sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
];

/// The project's repository address, from scripts/project.env.
fn repository_url() -> String {
    let env = std::fs::read_to_string(common::root().join("scripts/project.env")).unwrap();
    let repo = env
        .lines()
        .find_map(|l| l.strip_prefix("OPSTA_LINT_REPOSITORY="))
        .expect("OPSTA_LINT_REPOSITORY in scripts/project.env");
    format!("https://github.com/{repo}")
}

fn platform() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "linux_x86_64",
        "aarch64" => "linux_aarch64",
        other => panic!("no release platform for {other}"),
    }
}

fn tarball() -> String {
    format!("opsta-lint_{VERSION}_{}.tar.gz", platform())
}

/// The ```sh blocks of docs/install.md whose first line is `# tested by: tests/it/install.rs::<test>`.
fn blocks(test: &str) -> Vec<String> {
    let docs = std::fs::read_to_string(common::root().join("docs/install.md")).unwrap();
    let marker = format!("# tested by: tests/it/install.rs::{test}\n");
    let found: Vec<String> = docs
        .split("```sh\n")
        .skip(1)
        .filter_map(|rest| rest.split("\n```").next())
        .filter(|block| block.starts_with(&marker))
        .map(|block| format!("{block}\n"))
        .collect();
    assert!(
        !found.is_empty(),
        "docs/install.md has no block tested by {test}"
    );
    found
}

/// The single block a test runs.
fn block(test: &str) -> String {
    let mut found = blocks(test);
    assert_eq!(found.len(), 1, "{test}");
    found.remove(0)
}

/// The release files of VERSION for this platform, made once by `scripts/release.sh --binary` from this test
/// build's binary, in `<dir>/v<VERSION>/` as the release URL has them.
fn release() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-release");
        let _ = std::fs::remove_dir_all(&dir);
        let out = Command::new("bash")
            .arg(common::root().join("scripts/release.sh"))
            .args([VERSION, "--binary", BIN, "--out"])
            .arg(dir.join(format!("v{VERSION}")))
            .output()
            .unwrap();
        assert!(out.status.success(), "release.sh: {}", text(&out).1);
        dir
    })
}

fn release_files() -> PathBuf {
    release().join(format!("v{VERSION}"))
}

/// The repository Helm clones: the plugin's files from this checkout, committed and tagged v<VERSION>.
fn git_repo() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-git");
        let _ = std::fs::remove_dir_all(&dir);
        for file in [
            "plugin.yaml",
            "scripts/helm-plugin-install.sh",
            "scripts/project.env",
            "plugins/postrender/plugin.yaml",
            "plugins/postrender/postrender.sh",
            ".pre-commit-hooks.yaml",
            "LICENSE",
        ] {
            std::fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
            std::fs::copy(common::root().join(file), dir.join(file)).unwrap();
        }
        let tag = format!("v{VERSION}");
        for args in [
            &["init", "-q"][..],
            &["add", "-A"],
            &["commit", "-q", "-m", "plugin under test"],
            &["tag", &tag],
        ] {
            let out = Command::new("git")
                .current_dir(&dir)
                .args(["-c", "user.name=t", "-c", "user.email=t@t.invalid"])
                .args(args)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {}", text(&out).1);
        }
        dir
    })
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A loopback HTTP server for the files under one folder (GET only), stopped when dropped.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn serve(root: PathBuf) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            // Bounded: ends when the server is dropped, or after ten minutes at most.
            let deadline = Instant::now() + Duration::from_secs(600);
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) || Instant::now() > deadline {
                    break;
                }
                if let Ok(stream) = stream {
                    answer(stream, &root);
                }
            }
        });
        Server { port, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn answer(mut stream: TcpStream, root: &Path) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16384 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&request);
    let path = line.split_whitespace().nth(1).unwrap_or("/");
    let file = root.join(path.trim_start_matches('/'));
    let body = (!path.contains(".."))
        .then(|| std::fs::read(&file).ok())
        .flatten();
    let (status, body) = match body {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"not found\n".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

/// An address nothing listens on.
fn unreachable_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A user's machine: its own HOME and Helm homes, the given Helm binaries on PATH under the given names, no
/// opsta-lint on PATH, github.com/opsta/opsta-lint cloned from the local repository.
struct Machine {
    dir: tempfile::TempDir,
    env: Vec<(String, OsString)>,
}

impl Machine {
    fn new(helms: &[(&str, u8)]) -> Machine {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("path");
        std::fs::create_dir_all(&bin).unwrap();
        for (name, major) in helms {
            std::os::unix::fs::symlink(common::helm(*major), bin.join(name)).unwrap();
        }
        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let kept = std::env::split_paths(&inherited).filter(|dir| {
            ["opsta-lint", "helm", "helm3", "helm4"]
                .iter()
                .all(|name| !dir.join(name).exists())
        });
        let path = std::env::join_paths(std::iter::once(bin).chain(kept)).unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let url = format!("url.file://{}.insteadOf", git_repo().display());
        let env = vec![
            ("PATH".to_string(), path),
            ("HOME".to_string(), home.into()),
            (
                "HELM_CACHE_HOME".to_string(),
                dir.path().join("helm/cache").into(),
            ),
            (
                "HELM_CONFIG_HOME".to_string(),
                dir.path().join("helm/config").into(),
            ),
            (
                "HELM_DATA_HOME".to_string(),
                dir.path().join("helm/data").into(),
            ),
            ("GIT_CONFIG_COUNT".to_string(), "1".into()),
            ("GIT_CONFIG_KEY_0".to_string(), url.into()),
            ("GIT_CONFIG_VALUE_0".to_string(), repository_url().into()),
        ];
        Machine { dir, env }
    }

    fn with(mut self, key: &str, value: impl Into<OsString>) -> Machine {
        self.env.push((key.to_string(), value.into()));
        self
    }

    /// Helm's default plugins folder here.
    fn plugins(&self) -> PathBuf {
        self.dir.path().join("helm/data/plugins")
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// Runs a script with bash (stop at the first failing command) in `cwd`.
    fn run_in(&self, script: &str, cwd: &Path) -> Output {
        let mut cmd = Command::new("bash");
        cmd.args(["-eo", "pipefail", "-c", script]).current_dir(cwd);
        for var in [
            "HELM_PLUGINS",
            "HELM_DRIVER",
            "HELM_NAMESPACE",
            "HELM_KUBECONTEXT",
            "KUBECONFIG",
            "OPSTA_LINT_BIN",
            "OPSTA_LINT_TARBALL",
            "OPSTA_LINT_BUILD",
            "OPSTA_LINT_DOWNLOAD_URL",
            "GIT_CONFIG_GLOBAL",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.output().unwrap()
    }

    fn run(&self, script: &str) -> Output {
        self.run_in(script, &common::root())
    }

    fn run_ok(&self, script: &str) -> (String, String) {
        let out = self.run(script);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{script}\n{stdout}\n{stderr}");
        (stdout, stderr)
    }
}

/// The images of the Deployments the fake cluster holds.
fn deployed_images(kube: &FakeKube) -> Vec<String> {
    let mut images: Vec<String> = kube
        .list("deployments", "cra-agent")
        .iter()
        .flat_map(|d| {
            d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| {
            c["image"]
                .as_str()
                .map(|i| i.rsplit('/').next().unwrap().to_string())
        })
        .collect();
    images.sort();
    images
}

fn assert_pinned(kube: &FakeKube) {
    assert_eq!(deployed_images(kube), PINNED.map(String::from).to_vec());
}

/// Installs the CLI plugin with the documented command of Helm `major` (served from `server`).
fn install_plugin(machine: &Machine, major: u8) {
    let (stdout, _) = machine.run_ok(&block(&format!(
        "the_plugin_installs_from_the_release_on_helm{major}"
    )));
    assert!(
        stdout.contains(&format!("opsta-lint {VERSION}\n")),
        "{stdout}"
    );
}

fn installs_from_the_release(major: u8) {
    let server = Server::serve(release().to_path_buf());
    let machine = Machine::new(&[("helm", major)]).with("OPSTA_LINT_DOWNLOAD_URL", server.url());
    let (stdout, _) = machine.run_ok(&block(&format!(
        "the_plugin_installs_from_the_release_on_helm{major}"
    )));
    assert_eq!(
        stdout.matches(&format!("opsta-lint {VERSION}\n")).count(),
        2,
        "the hook's check and `helm opsta-lint --version`: {stdout}"
    );
    let installed = machine.plugins().join("opsta-lint/bin/opsta-lint");
    assert!(installed.is_file(), "{}", installed.display());

    // A binary of another version than the plugin's is reported.
    let manifest = machine.plugins().join("opsta-lint/plugin.yaml");
    let yaml = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        yaml.replace(&format!("version: {VERSION}"), "version: 9.9.9"),
    )
    .unwrap();
    let (_, stderr) = machine.run_ok("helm opsta-lint versions catalyst 1.90.0");
    assert!(
        stderr.contains(&format!(
            "warning: this binary is version {VERSION} but the opsta-lint plugin is 9.9.9"
        )),
        "{stderr}"
    );
}

#[test]
fn the_plugin_installs_from_the_release_on_helm3() {
    installs_from_the_release(3);
}

#[test]
fn the_plugin_installs_from_the_release_on_helm4() {
    installs_from_the_release(4);
}

#[test]
fn helm3_post_renderer_pins_as_documented() {
    let server = Server::serve(release().to_path_buf());
    let kube = FakeKube::start();
    let machine = Machine::new(&[("helm", 3)])
        .with("OPSTA_LINT_DOWNLOAD_URL", server.url())
        .with("KUBECONFIG", kube.kubeconfig());
    install_plugin(&machine, 3);
    machine.run_ok(&block("helm3_post_renderer_pins_as_documented"));
    assert_pinned(&kube);
}

#[test]
fn helm4_post_renderer_pins_as_documented() {
    let server = Server::serve(release().to_path_buf());
    let kube = FakeKube::start();
    let machine = Machine::new(&[("helm", 4)])
        .with("OPSTA_LINT_DOWNLOAD_URL", server.url())
        .with("KUBECONFIG", kube.kubeconfig());
    install_plugin(&machine, 4);
    let [install, upgrade] =
        <[String; 2]>::try_from(blocks("helm4_post_renderer_pins_as_documented")).unwrap();
    let (stdout, _) = machine.run_ok(&install);
    let folder = machine.plugins().join("opsta-lint-postrender");
    assert!(stdout.contains(&folder.display().to_string()), "{stdout}");
    assert!(
        !stdout.contains("HELM_PLUGINS="),
        "no Helm 3 here, so no setting: {stdout}"
    );
    // The plugin runs the binary the CLI plugin's hook installed.
    assert_eq!(
        std::fs::canonicalize(folder.join("bin/opsta-lint")).unwrap(),
        std::fs::canonicalize(machine.plugins().join("opsta-lint/bin/opsta-lint")).unwrap()
    );
    let (list, _) = machine.run_ok("helm plugin list");
    assert!(
        list.contains("opsta-lint-postrender") && list.contains("postrenderer/v1"),
        "{list}"
    );
    machine.run_ok(&upgrade);
    assert_pinned(&kube);
}

#[test]
fn beside_helm3_the_post_renderer_goes_to_a_helm4_only_folder() {
    let server = Server::serve(release().to_path_buf());
    let kube = FakeKube::start();
    let machine = Machine::new(&[("helm", 3), ("helm4", 4)])
        .with("OPSTA_LINT_DOWNLOAD_URL", server.url())
        .with("KUBECONFIG", kube.kubeconfig());
    install_plugin(&machine, 3);
    let (stdout, _) = machine.run_ok(&block(
        "beside_helm3_the_post_renderer_goes_to_a_helm4_only_folder",
    ));
    let own = machine.dir.path().join("helm/data/helm4-plugins");
    assert!(
        own.join("opsta-lint-postrender/plugin.yaml").is_file(),
        "{stdout}"
    );
    assert!(!machine.plugins().join("opsta-lint-postrender").exists());
    let setting = format!(
        "HELM_PLUGINS=\"{}:{}\"",
        machine.plugins().display(),
        own.display()
    );
    assert!(stdout.contains(&setting), "the printed setting: {stdout}");
    assert!(
        stdout.ends_with(&format!("opsta-lint {VERSION}\n")),
        "Helm 3 still runs its plugins: {stdout}"
    );
    assert_pinned(&kube);
}

/// The post-renderer commands of a documented block (continuation lines joined).
fn post_renderer_commands(block: &str) -> Vec<String> {
    block
        .replace("\\\n", " ")
        .lines()
        .filter(|l| l.contains("--post-renderer "))
        .map(String::from)
        .collect()
}

/// Runs `command` and asserts helm failed and nothing reached the cluster.
fn assert_fails_closed(machine: &Machine, kube: &FakeKube, command: &str) {
    let out = machine.run(command);
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "must fail: {command}\n{stdout}\n{stderr}"
    );
    assert!(
        kube.list("deployments", "cra-agent").is_empty(),
        "nothing may be deployed: {command}\n{stderr}"
    );
}

type Case = (&'static str, &'static [(&'static str, u8)], u8);

#[test]
fn documented_post_renderers_fail_closed_without_opsta_lint() {
    let server = Server::serve(release().to_path_buf());
    // (the test whose blocks hold the invocation, the Helm binaries on PATH, the Helm that installs the CLI plugin)
    let cases: [Case; 3] = [
        ("helm3_post_renderer_pins_as_documented", &[("helm", 3)], 3),
        ("helm4_post_renderer_pins_as_documented", &[("helm", 4)], 4),
        (
            "beside_helm3_the_post_renderer_goes_to_a_helm4_only_folder",
            &[("helm", 3), ("helm4", 4)],
            3,
        ),
    ];
    for (test, helms, cli_plugin_helm) in cases {
        let commands: Vec<String> = blocks(test)
            .iter()
            .flat_map(|b| post_renderer_commands(b))
            .collect();
        assert!(!commands.is_empty(), "{test}");
        for command in &commands {
            // Nothing installed: no plugin, no opsta-lint on PATH.
            let kube = FakeKube::start();
            let machine = Machine::new(helms).with("KUBECONFIG", kube.kubeconfig());
            assert_fails_closed(&machine, &kube, command);

            // Installed as documented, then the binary removed.
            let machine = Machine::new(helms)
                .with("OPSTA_LINT_DOWNLOAD_URL", server.url())
                .with("KUBECONFIG", kube.kubeconfig());
            install_plugin(&machine, cli_plugin_helm);
            if command.contains("opsta-lint-postrender") {
                let helm4 = if helms.len() == 2 { "helm4" } else { "helm" };
                machine.run_ok(&format!("{helm4} opsta-lint install-postrenderer"));
            }
            std::fs::remove_file(machine.plugins().join("opsta-lint/bin/opsta-lint")).unwrap();
            assert_fails_closed(&machine, &kube, command);
        }
    }
}

/// Serves the release with the tarball or checksums.txt changed by `tamper`.
fn tampered(tamper: impl Fn(&Path)) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join(format!("v{VERSION}"));
    std::fs::create_dir_all(&files).unwrap();
    for name in [tarball(), "checksums.txt".to_string()] {
        std::fs::copy(release_files().join(&name), files.join(&name)).unwrap();
    }
    tamper(&files);
    let server = Server::serve(dir.path().to_path_buf());
    (dir, server)
}

#[test]
fn a_tampered_release_or_an_unreachable_url_installs_nothing() {
    let (_a, bad_tarball) = tampered(|files| {
        let path = files.join(tarball());
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    });
    let (_b, bad_checksum) = tampered(|files| {
        let path = files.join("checksums.txt");
        let sums = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{}{}", "0".repeat(64), &sums[64..])).unwrap();
    });
    let unreachable = unreachable_url();
    let expected = [
        (bad_tarball.url(), "does not match its sha256".to_string()),
        (bad_checksum.url(), "does not match its sha256".to_string()),
        (
            unreachable.clone(),
            format!("could not download {unreachable}/v{VERSION}/{}", tarball()),
        ),
    ];
    for major in [3, 4] {
        for (url, why) in &expected {
            let machine = Machine::new(&[("helm", major)]).with("OPSTA_LINT_DOWNLOAD_URL", url);
            let out = machine.run(&block(&format!(
                "the_plugin_installs_from_the_release_on_helm{major}"
            )));
            let (stdout, stderr) = text(&out);
            assert!(!out.status.success(), "{stdout}{stderr}");
            let ours: Vec<&str> = stderr
                .lines()
                .filter(|l| l.starts_with("opsta-lint:"))
                .collect();
            assert_eq!(ours.len(), 1, "one line from the hook: {stderr}");
            assert!(ours[0].contains(why.as_str()), "{stderr}");
            assert!(
                ours[0].contains("OPSTA_LINT_TARBALL=")
                    && ours[0].ends_with("helm plugin uninstall opsta-lint"),
                "{stderr}"
            );
            let bin = machine.plugins().join("opsta-lint/bin");
            assert!(!bin.join("opsta-lint").exists() && !bin.join("opsta-lint.tmp").exists());
            machine.run_ok("helm plugin uninstall opsta-lint");
        }
    }
}

#[test]
fn the_binary_installs_by_hand() {
    let server = Server::serve(release().to_path_buf());
    let machine = Machine::new(&[]).with("OPSTA_LINT_DOWNLOAD_URL", server.url());
    let work = tempfile::tempdir().unwrap();
    let out = machine.run_in(&block("the_binary_installs_by_hand"), work.path());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains(&format!("{}: OK", tarball())), "{stdout}");
    assert!(
        stdout.ends_with(&format!("opsta-lint {VERSION}\n")),
        "{stdout}"
    );
    assert!(machine.home().join(".local/bin/opsta-lint").is_file());
}

#[test]
fn offline_the_unpacked_tarball_is_the_plugin() {
    for major in [3, 4] {
        // No network: the download address answers nothing.
        let machine =
            Machine::new(&[("helm", major)]).with("OPSTA_LINT_DOWNLOAD_URL", unreachable_url());
        let out = machine.run_in(
            &block("offline_the_unpacked_tarball_is_the_plugin"),
            &release_files(),
        );
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "helm {major}: {stdout}{stderr}");
        assert!(
            stdout.ends_with(&format!("opsta-lint {VERSION}\n")),
            "{stdout}"
        );
    }
}

#[test]
fn offline_the_hook_takes_a_local_tarball() {
    let machine = Machine::new(&[("helm", 3)]).with("OPSTA_LINT_DOWNLOAD_URL", unreachable_url());
    let out = machine.run_in(
        &block("offline_the_hook_takes_a_local_tarball"),
        &release_files(),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(machine
        .plugins()
        .join("opsta-lint/bin/opsta-lint")
        .is_file());
    assert!(
        !stderr.contains("not checked"),
        "checksums.txt sits beside it: {stderr}"
    );

    // A tarball that does not match the checksums.txt beside it is refused.
    let (dir, _server) = tampered(|files| {
        let path = files.join(tarball());
        let mut bytes = std::fs::read(&path).unwrap();
        let end = bytes.len() - 100;
        bytes[end] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    });
    let machine = Machine::new(&[("helm", 3)]).with("OPSTA_LINT_DOWNLOAD_URL", unreachable_url());
    let out = machine.run_in(
        &block("offline_the_hook_takes_a_local_tarball"),
        &dir.path().join(format!("v{VERSION}")),
    );
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("does not match its sha256"), "{stderr}");
    assert!(!machine.plugins().join("opsta-lint/bin/opsta-lint").exists());
}

#[test]
fn the_release_holds_the_plugins_and_refuses_another_version() {
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(release_files().join(tarball()))
        .output()
        .unwrap();
    let listing = text(&listing).0;
    let folder = tarball().trim_end_matches(".tar.gz").to_string();
    for file in [
        "bin/opsta-lint",
        "plugin.yaml",
        "scripts/helm-plugin-install.sh",
        "scripts/project.env",
        "plugins/postrender/plugin.yaml",
        "plugins/postrender/postrender.sh",
        "LICENSE",
        "README.md",
        "docs/install.md",
    ] {
        assert!(
            listing.lines().any(|l| l == format!("{folder}/{file}")),
            "{file}: {listing}"
        );
    }
    let sums = Command::new("sha256sum")
        .args(["-c", "checksums.txt"])
        .current_dir(release_files())
        .output()
        .unwrap();
    assert!(sums.status.success(), "{:?}", text(&sums));

    let out = tempfile::tempdir().unwrap();
    let refused = Command::new("bash")
        .arg(common::root().join("scripts/release.sh"))
        .args(["9.9.9", "--binary", BIN, "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let (_, stderr) = text(&refused);
    assert!(!refused.status.success());
    assert!(
        stderr.contains(&format!(
            "version 9.9.9 differs from Cargo.toml's ({VERSION})"
        )),
        "{stderr}"
    );
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[test]
fn the_release_workflow_passes_actionlint() {
    let out = Command::new(common::tool("venv/bin/actionlint"))
        .arg(".github/workflows/release.yml")
        .current_dir(common::root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", text(&out));
}

/// Off macOS, a darwin target needs Apple's SDK (the TLS certificate store links its Security and CoreFoundation
/// frameworks, which zig lacks): without SDKROOT the script says so before building anything.
#[test]
#[cfg(target_os = "linux")]
fn release_refuses_a_darwin_target_off_macos_without_apples_sdk() {
    let out = tempfile::tempdir().unwrap();
    let refused = Command::new("scripts/release.sh")
        .args([VERSION, "--target", "aarch64-apple-darwin", "--out"])
        .arg(out.path())
        .env_remove("SDKROOT")
        .current_dir(common::root())
        .output()
        .unwrap();
    let (_, stderr) = text(&refused);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("needs Apple's SDK for the Security and CoreFoundation frameworks"),
        "{stderr}"
    );
    assert!(
        std::fs::read_dir(out.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

/// The everyday `release` profile optimizes some crates less (Cargo.toml); the `dist` profile inherits those
/// overrides, so each one must be put back to opt-level 3 there, or the release artefacts get slower unnoticed.
#[test]
fn dist_profile_restores_every_crate_the_release_profile_optimizes_less() {
    let manifest = std::fs::read_to_string(common::root().join("Cargo.toml")).unwrap();
    let overrides = |profile: &str| -> Vec<(String, String)> {
        let header = format!("[profile.{profile}.package.");
        let lines: Vec<&str> = manifest.lines().collect();
        lines
            .iter()
            .enumerate()
            .filter_map(|(i, line)| {
                let name = line.strip_prefix(&header)?.strip_suffix(']')?;
                let level = lines[i + 1].strip_prefix("opt-level = ")?;
                Some((name.to_string(), level.to_string()))
            })
            .collect()
    };
    let release = overrides("release");
    assert!(!release.is_empty(), "no release overrides found");
    let dist = overrides("dist");
    for (name, _) in &release {
        assert!(
            dist.contains(&(name.clone(), "3".to_string())),
            "[profile.dist.package.{name}] opt-level = 3 is missing"
        );
    }
}

#[test]
fn install_docs_name_the_project_and_only_tests_that_exist() {
    let docs = std::fs::read_to_string(common::root().join("docs/install.md")).unwrap();
    let source = include_str!("install.rs");
    let url = repository_url();
    for address in docs.split("https://github.com/").skip(1) {
        assert!(
            format!("https://github.com/{address}").starts_with(&url),
            "docs/install.md names another repository than scripts/project.env: {}",
            &address[..address.len().min(40)]
        );
    }
    for version in docs
        .split("--version ")
        .skip(1)
        .filter(|v| v.starts_with(char::is_numeric))
    {
        assert!(
            version.starts_with(VERSION),
            "docs/install.md installs another version: {version:.20}"
        );
    }
    for block in docs.split("```sh\n").skip(1) {
        let first = block.lines().next().unwrap();
        let test = first
            .strip_prefix("# tested by: tests/it/install.rs::")
            .unwrap_or_else(|| panic!("every block of docs/install.md names its test: {first}"));
        assert!(
            source.contains(&format!("fn {test}()")),
            "no test {test} in tests/it/install.rs"
        );
    }
    for file in ["plugin.yaml", "plugins/postrender/plugin.yaml"] {
        let yaml = std::fs::read_to_string(common::root().join(file)).unwrap();
        assert!(
            yaml.contains(&format!("\nversion: {VERSION}\n")),
            "{file} is not version {VERSION}"
        );
    }
}

#[test]
fn the_system_pre_commit_hook_runs_the_binary_on_path() {
    let pre_commit = common::tool("venv/bin/pre-commit");
    let docs = std::fs::read_to_string(common::root().join("docs/install.md")).unwrap();
    let config = docs
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the pre-commit block of docs/install.md")
        .replace(
            &repository_url(),
            &format!("file://{}", git_repo().display()),
        );
    let project = tempfile::tempdir().unwrap();
    let dir = project.path();
    std::fs::write(dir.join(".pre-commit-config.yaml"), config).unwrap();
    let tools = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(BIN, tools.path().join("opsta-lint")).unwrap();
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(tools.path().to_path_buf()).chain(std::env::split_paths(&inherited)),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(args[0])
            .args(&args[1..])
            .current_dir(dir)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", dir.join(".cache"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@t.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@t.invalid")
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        (out.status.success(), format!("{stdout}{stderr}"))
    };
    let pre_commit = pre_commit.to_str().unwrap();
    assert!(run(&["git", "init", "-q"]).0);
    std::fs::write(dir.join(".gitignore"), ".cache/\n").unwrap();
    std::fs::create_dir_all(dir.join("catalyst")).unwrap();
    std::fs::write(
        dir.join("catalyst/values.yaml"),
        "join_token: jt-hook-0001\nglobal:\n  imagee:\n    registry: mirror.example\n",
    )
    .unwrap();
    assert!(run(&["git", "add", "-A"]).0);
    let started = Instant::now();
    let (ok, shown) = run(&[pre_commit, "run", "--all-files"]);
    eprintln!(
        "first run of opsta-lint-system: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(!ok, "the bad values file fails the hook: {shown}");
    assert!(
        shown.contains("OL002") && shown.contains("imagee"),
        "{shown}"
    );
    assert!(!shown.contains("jt-hook-0001"), "{shown}");
    std::fs::write(
        dir.join("catalyst/values.yaml"),
        "join_token: jt-hook-0001\n",
    )
    .unwrap();
    assert!(run(&["git", "add", "-A"]).0);
    let (ok, shown) = run(&[pre_commit, "run", "--all-files"]);
    assert!(ok, "{shown}");
    assert!(
        shown.contains("opsta-lint (Helm values, opsta-lint on PATH)"),
        "{shown}"
    );
}

/// The ```sh block of docs/upgrade.md that names `test` (`# tested by: tests/it/install.rs::<test>`).
fn upgrade_block(test: &str) -> String {
    let docs = std::fs::read_to_string(common::root().join("docs/upgrade.md")).unwrap();
    let marker = format!("# tested by: tests/it/install.rs::{test}\n");
    let found = docs
        .split("```sh\n")
        .filter_map(|rest| rest.split("\n```").next())
        .find(|block| block.starts_with(&marker));
    format!("{}\n", found.expect("a block in docs/upgrade.md"))
}

/// `helm opsta-lint upgrade` as docs/upgrade.md writes it, with the plugin installed as docs/install.md says.
/// `helm` there is a shell function running the Helm under test by its full path, and no helm is on PATH: the
/// upgrade can only have found helm through HELM_BIN, which helm sets for its plugins.
fn plugin_upgrade(major: u8) {
    use crate::upgrade::{chart, digest, insert_pods, lock, revisions, values, NS};
    let server = Server::serve(release().to_path_buf());
    let kube = FakeKube::start();
    let machine = Machine::new(&[("helm", major)])
        .with("OPSTA_LINT_DOWNLOAD_URL", server.url())
        .with("KUBECONFIG", kube.kubeconfig());
    install_plugin(&machine, major);
    if major == 4 {
        machine.run_ok(&blocks("helm4_post_renderer_pins_as_documented")[0]);
    }
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    chart(dir, "1.75.0");
    chart(dir, "1.76.0");
    let values_file = values(dir, true);
    // Helm 3 never post-renders hooks: the hook image is pinned through the values, as Helm 3 users do.
    let mut pinned = std::fs::read_to_string(&values_file).unwrap();
    pinned.push_str(&format!(
        "cleanup:\n  image:\n    digest: {}\n",
        digest("cleanup")
    ));
    std::fs::write(dir.join("values.yaml"), pinned).unwrap();
    std::fs::rename(lock(dir, None), dir.join("lock.yaml")).unwrap();
    let install = format!("helm install cat ./catalyst-1.75.0 -n {NS} -f values.yaml");
    let out = machine.run_in(&install, dir);
    assert!(out.status.success(), "{:?}", text(&out));
    insert_pods(&kube, true);

    let helm = common::helm(major);
    let script = format!(
        "PATH=\"${{PATH#*:}}\"\nif command -v helm; then exit 9; fi\nhelm() {{ '{}' \"$@\"; }}\n{}",
        helm.display(),
        upgrade_block(&format!(
            "helm{major}_opsta_lint_upgrade_uses_the_plugins_helm"
        ))
    );
    let out = machine.run_in(&script, dir);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "helm {major}:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("revision 1 -> 2") && stdout.ends_with("exit 0\n"),
        "{stdout}"
    );
    let stored = revisions(&kube);
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].chart_version, "1.76.0");
    let manifest = stored[1].rendered_source().text;
    for component in ["agent", "management", "cleanup"] {
        assert!(
            manifest.contains(&format!(
                "catalyst-{component}:1.76.0@{}",
                digest(component)
            )),
            "helm {major}: {component} not on its locked digest:\n{manifest}"
        );
    }
}

#[test]
fn helm3_opsta_lint_upgrade_uses_the_plugins_helm() {
    plugin_upgrade(3);
}

#[test]
fn helm4_opsta_lint_upgrade_uses_the_plugins_helm() {
    plugin_upgrade(4);
}

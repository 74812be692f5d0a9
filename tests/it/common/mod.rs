//! Helpers shared by the integration tests: where the binary, the real tools and the shared corpus are.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A command running the opsta-lint binary built for these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_opsta-lint"))
}

/// The folder of installed tools (`scripts/install-tools.sh`), or OPSTA_TOOLS.
/// A path under testdata/.
pub fn testdata(relative: &str) -> PathBuf {
    root().join("testdata").join(relative)
}

pub fn tools() -> PathBuf {
    std::env::var_os("OPSTA_TOOLS").map_or_else(|| root().join(".tools"), PathBuf::from)
}

/// A real tool from `.tools/`; panics with the fix when it is missing (tests never skip a missing tool).
pub fn tool(relative: &str) -> PathBuf {
    let path = tools().join(relative);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-tools.sh (the test command does)",
        path.display()
    );
    path
}

/// The real Helm binary of major version 3 or 4 (OPSTA_HELM3 / OPSTA_HELM4 override).
pub fn helm(major: u8) -> PathBuf {
    if let Some(path) = std::env::var_os(format!("OPSTA_HELM{major}")) {
        return PathBuf::from(path);
    }
    tool(&format!("helm{major}/helm"))
}

/// `../shared` beside the repository, for a test that reads nothing else: such a test is named
/// `..._on_the_shared_corpus` and marked `#[ignore = "needs ../shared/corpus"]`, so the summary counts it as
/// ignored where the corpus is missing; `scripts/test.sh` runs the ignored tests when the corpus is there.
pub fn shared_corpus() -> PathBuf {
    let dir = root().join("../shared");
    assert!(
        dir.join("corpus").is_dir(),
        "this test reads ../shared/corpus, which is missing beside {}",
        root().display()
    );
    dir
}

/// `../shared` beside the repository, when present, for a test that checks its test data and also the corpus. When it is missing this prints a clear SKIPPED line and
/// returns None, except under CI (env CI set), where a missing corpus is a failure.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = root().join("../shared");
    if dir.join("corpus").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "../shared/corpus is missing, and CI must run the corpus tests"
    );
    eprintln!("SKIPPED: ../shared not found; the corpus part of this test did not run");
    None
}

/// A fresh Helm home (cache, config, data, plugins) in a temporary folder, as env pairs for a Command.
/// The plugins folder is the default one inside the data home: Helm 4.1's `plugin install` writes to
/// $HELM_DATA_HOME/plugins whatever HELM_PLUGINS says, while both versions load from HELM_PLUGINS.
pub fn helm_env(home: &std::path::Path) -> Vec<(String, PathBuf)> {
    ["CACHE", "CONFIG", "DATA"]
        .iter()
        .map(|k| (format!("HELM_{k}_HOME"), home.join(k.to_lowercase())))
        .chain([("HELM_PLUGINS".to_string(), home.join("data/plugins"))])
        .collect()
}

/// The CLI plugin (plugin.yaml and its install hook) copied into `dir/opsta-lint-plugin`, ready for
/// `helm plugin install`; the hook copies OPSTA_LINT_BIN when that is set.
pub fn cli_plugin_source(dir: &std::path::Path) -> PathBuf {
    let plugin = dir.join("opsta-lint-plugin");
    std::fs::create_dir_all(plugin.join("scripts")).unwrap();
    for file in [
        "plugin.yaml",
        "scripts/helm-plugin-install.sh",
        "scripts/project.env",
    ] {
        std::fs::copy(root().join(file), plugin.join(file)).unwrap();
    }
    plugin
}

/// Installs Helm 4's post-renderer plugin as docs/install.md says: the CLI plugin from `dir` (its install hook copies
/// the test binary, OPSTA_LINT_BIN), then `helm opsta-lint install-postrenderer`. `helm` makes a command of the
/// Helm 4 binary with the test's Helm home; the plugin list must then show the post-renderer.
pub fn install_helm4_postrenderer(dir: &std::path::Path, helm: impl Fn() -> std::process::Command) {
    let source = cli_plugin_source(dir);
    let run = |mut cmd: std::process::Command, what: &str| {
        let out = cmd.output().unwrap();
        let shown = format!(
            "{what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{shown}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut install = helm();
    install
        .args(["plugin", "install"])
        .arg(&source)
        .env("OPSTA_LINT_BIN", env!("CARGO_BIN_EXE_opsta-lint"));
    run(install, "helm 4 plugin install");
    let mut postrenderer = helm();
    postrenderer.args(["opsta-lint", "install-postrenderer"]);
    run(postrenderer, "install-postrenderer");
    let mut list = helm();
    list.args(["plugin", "list"]);
    let listed = run(list, "helm plugin list");
    assert!(
        listed.contains("opsta-lint-postrender") && listed.contains("postrenderer/v1"),
        "{listed}"
    );
}

pub mod fakekube;
pub mod hidden;

/// A fake but well-formed digest, different for each `n`.
pub fn fake_digest(n: usize) -> String {
    format!("sha256:{n:064x}")
}

/// A lock for every image a rendered manifest uses: `opsta-lint lock --from-manifest` with each empty digest
/// filled by a distinct fake one (digests the render already carries are kept).
pub fn lock_for(manifest: &std::path::Path) -> String {
    let out = bin()
        .args(["lock", "--from-manifest"])
        .arg(manifest)
        .output()
        .expect("runs opsta-lint lock");
    assert!(
        out.status.success(),
        "lock --from-manifest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut n = 0;
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| {
            if line.trim() == "digest: \"\"" {
                n += 1;
                line.replace("\"\"", &fake_digest(n))
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// How a child process ended, what it printed, and its peak resident memory.
#[derive(Debug)]
pub struct Measured {
    /// The exit code, or None when a signal ended it.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// Peak resident set size in KiB (getrusage's ru_maxrss of this one child, through wait4).
    pub peak_rss_kib: u64,
}

/// Runs `command` to the end, stdin from `stdin` (else empty), stdout and stderr captured, and measures the
/// child's own peak memory (other tests' children do not count, as they would with RUSAGE_CHILDREN).
pub fn run_measured(mut command: Command, stdin: Option<&std::path::Path>) -> Measured {
    use std::process::Stdio;
    let input = match stdin {
        Some(path) => Stdio::from(std::fs::File::open(path).expect("stdin file")),
        None => Stdio::null(),
    };
    command
        .stdin(input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wait_measured(command.spawn().expect("spawn"))
}

/// Waits for a spawned child as `run_measured` does; stdout and stderr are read when they were piped.
pub fn wait_measured(mut child: std::process::Child) -> Measured {
    use std::io::Read;
    let out = child.stdout.take();
    let err = child.stderr.take();
    let stdout = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut out) = out {
            out.read_to_end(&mut bytes).expect("read stdout");
        }
        bytes
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut err) = err {
            let _ = err.read_to_string(&mut text);
        }
        text
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 writes only into the two out-parameters, which live until it returns.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(
        waited,
        pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else {
        (None, Some(libc::WTERMSIG(status)))
    };
    Measured {
        code,
        signal,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        peak_rss_kib: usage.ru_maxrss as u64,
    }
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The `.EXTENSION` files directly in `dir`, sorted.
pub fn files_ending(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

/// What a finished run printed, as text.
pub fn output_text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// How a command fed on stdin ended: its exit code (-1 for a signal), stdout (which must be UTF-8) and stderr.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` with `input` on stdin (written from another thread, so a large input cannot dead-lock the pipes).
pub fn run_with_stdin(mut cmd: Command, input: &str) -> Run {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs opsta-lint");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().ok();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs opsta-lint in `dir` with no inherited Helm settings (KUBECONFIG only when given), NO_COLOR set; returns
/// (exit code, stdout + stderr).
pub fn run_without_helm_settings(
    dir: &Path,
    args: &[&str],
    kubeconfig: Option<&Path>,
) -> (i32, String) {
    let mut command = bin();
    for var in [
        "HELM_NAMESPACE",
        "HELM_KUBECONTEXT",
        "HELM_DRIVER",
        "KUBECONFIG",
    ] {
        command.env_remove(var);
    }
    if let Some(path) = kubeconfig {
        command.env("KUBECONFIG", path);
    }
    let out = command
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = output_text(&out);
    (out.status.code().unwrap_or(-1), stdout + &stderr)
}

/// PATH with the folder of the opsta-lint binary built for these tests first, for running documented commands.
pub fn path_with_bin() -> String {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_opsta-lint"));
    format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The bodies of the ```sh blocks of a Markdown text, in order.
pub fn sh_blocks(doc: &str) -> Vec<&str> {
    doc.split("```sh\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .collect()
}

/// Base64 with the standard alphabet, as a Secret's `data` and Helm's release payload hold it.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A release as Helm's secret driver encodes it before the API's own base64: gzip of the JSON, then base64.
pub fn helm_encoded(release: &serde_json::Value) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(release.to_string().as_bytes()).unwrap();
    b64(gz.finish().unwrap()).into_bytes()
}

/// Revision 1 of release `name` as the Secret Helm stores, with `payload` (Helm-encoded) as its `data.release`.
pub fn release_secret(name: &str, namespace: &str, payload: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "helm.sh/release.v1",
        "metadata": {
            "name": format!("sh.helm.release.v1.{name}.v1"),
            "namespace": namespace,
            "labels": {"owner": "helm", "name": name, "status": "deployed", "version": "1"},
        },
        "data": {"release": b64(payload)},
    })
}

/// Every command that reads the stored release `name` in `namespace`, in each output format: `release`, `lint
/// --release` (values.yaml against chart 1.90.0) and `diff --release` (new.yaml), for tests that check their output.
pub fn commands_reading_release(name: &str, namespace: &str) -> Vec<Vec<String>> {
    let release = ["--release", name, "-n", namespace];
    let lint = [
        &["lint", "--product", "catalyst", "--chart-version", "1.90.0"][..],
        &release,
    ]
    .concat();
    let diff = [&["diff"][..], &release].concat();
    let runs: [Vec<&str>; 7] = [
        vec!["release", name, "-n", namespace],
        vec!["release", name, "-n", namespace, "-o", "json"],
        [&lint[..], &["values.yaml"]].concat(),
        [&lint[..], &["-o", "json", "values.yaml"]].concat(),
        [&lint[..], &["-o", "sarif", "values.yaml"]].concat(),
        [&diff[..], &["new.yaml"]].concat(),
        [&diff[..], &["-o", "json", "--full", "new.yaml"]].concat(),
    ];
    runs.iter()
        .map(|args| args.iter().map(|a| a.to_string()).collect())
        .collect()
}

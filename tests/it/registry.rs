//! `lock resolve`, `mirror-check` and `lock verify` against real registries on loopback: Debian's
//! `docker-registry` (distribution 2.8), one plain-HTTP instance and one with TLS from a CA made here and htpasswd
//! basic auth, each started and stopped by its test. Images are OCI layouts written by tests/registry/oci-image.sh
//! and pushed with Debian's `skopeo` (both installed by scripts/install-tools.sh).

use crate::common;

use common::{bin, output_text as text, root};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const USER: &str = "ci-robot";
/// The test's password: no output of any run may contain it (or its base64 form).
const PASSWORD: &str = "Pa55-w0rd-never-printed";

/// A registry process on 127.0.0.1, stopped when dropped.
pub(crate) struct Registry {
    child: Child,
    pub(crate) host: String,
    /// With TLS: the CA file and a skopeo cert dir holding it.
    ca: Option<(PathBuf, PathBuf)>,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub(crate) fn plain() -> Registry {
        Registry::start(false)
    }

    fn tls_with_auth() -> Registry {
        Registry::start(true)
    }

    fn start(secure: bool) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog: {{level: error, accesslog: {{disabled: true}}}}\nstorage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\nhttp:\n  addr: {host}\n",
            dir.path().join("store").display()
        );
        let mut ca = None;
        if secure {
            let (ca_file, cert_dir) = make_certificates(dir.path());
            config.push_str(&format!(
                "  tls: {{certificate: {}, key: {}}}\nauth: {{htpasswd: {{realm: test, path: {}}}}}\n",
                dir.path().join("server.crt").display(),
                dir.path().join("server.key").display(),
                make_htpasswd(dir.path()).display()
            ));
            ca = Some((ca_file, cert_dir));
        }
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "docker-registry is missing: run scripts/install-tools.sh (the test command does)",
            );
        let registry = Registry {
            child,
            host,
            ca,
            _dir: dir,
        };
        for _ in 0..200 {
            if TcpStream::connect(&registry.host).is_ok() {
                return registry;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "docker-registry did not listen on {} within 5 s",
            registry.host
        );
    }

    /// skopeo's flags to write to this registry.
    fn dest_flags(&self) -> Vec<String> {
        match &self.ca {
            None => vec!["--dest-tls-verify=false".into()],
            Some((_, cert_dir)) => vec![
                format!("--dest-cert-dir={}", cert_dir.display()),
                format!("--dest-creds={USER}:{PASSWORD}"),
            ],
        }
    }

    fn ca_file(&self) -> String {
        self.ca.as_ref().unwrap().0.display().to_string()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A CA, and a server certificate for 127.0.0.1 it signs; returns the CA file and a skopeo cert dir.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    run_ok(
        Command::new("openssl")
            .current_dir(dir)
            .args(["req", "-x509"])
            .args(ec)
            .args([
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=opsta-lint test CA",
            ]),
    );
    run_ok(
        Command::new("openssl")
            .current_dir(dir)
            .arg("req")
            .args(ec)
            .args([
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ]),
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run_ok(Command::new("openssl").current_dir(dir).args([
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]));
    let cert_dir = dir.join("certs");
    std::fs::create_dir_all(&cert_dir).unwrap();
    std::fs::copy(dir.join("ca.crt"), cert_dir.join("ca.crt")).unwrap();
    (dir.join("ca.crt"), cert_dir)
}

fn make_htpasswd(dir: &Path) -> PathBuf {
    let line = run_ok(Command::new("htpasswd").args(["-Bbn", "-C", "4", USER, PASSWORD]));
    let path = dir.join("htpasswd");
    std::fs::write(&path, line.trim()).unwrap();
    path
}

/// A Docker config.json with the test's credential (or `password`) for `host`.
fn docker_config(dir: &Path, host: &str, password: &str) -> PathBuf {
    use std::fmt::Write as _;
    let pair = format!("{USER}:{password}");
    let mut auth = String::new();
    // base64 by hand: the test must not lean on the code under test.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in pair.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                auth.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                auth.push('=');
            }
        }
    }
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("config.json");
    let mut text = String::new();
    write!(text, r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}}}}}"#).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// An image made by tests/registry/oci-image.sh: the digest its tag names, and each platform's manifest digest.
pub(crate) struct Image {
    layout: PathBuf,
    tag: String,
    pub(crate) digest: String,
    platforms: Vec<(String, String)>,
}

pub(crate) fn make_image(dir: &Path, tag: &str, text: &str, platforms: &[&str]) -> Image {
    let layout = dir.join(format!("layout-{text}"));
    let out = run_ok(
        Command::new("bash")
            .arg(root().join("tests/registry/oci-image.sh"))
            .arg(&layout)
            .args([tag, text])
            .args(platforms),
    );
    let mut lines = out.lines();
    let digest = lines.next().unwrap().to_string();
    let platforms = lines
        .map(|l| {
            let (p, d) = l.split_once(' ').unwrap();
            (p.to_string(), d.to_string())
        })
        .collect();
    Image {
        layout,
        tag: tag.to_string(),
        digest,
        platforms,
    }
}

/// `skopeo copy --all` of a layout to `host/repo:tag`.
pub(crate) fn push(image: &Image, registry: &Registry, repo_and_tag: &str) {
    run_ok(
        Command::new("skopeo")
            .args(["copy", "-q", "--all"])
            .args(registry.dest_flags())
            .arg(format!("oci:{}:{}", image.layout.display(), image.tag))
            .arg(format!("docker://{}/{repo_and_tag}", registry.host)),
    );
}

/// Fails when the test's password, or the base64 of `user:password`, shows anywhere in a run's output.
fn assert_no_secret(out: &Output) {
    let (stdout, stderr) = text(out);
    for s in [&stdout, &stderr] {
        assert!(!s.contains(PASSWORD) && !s.contains("UGE1NS13MHJk"), "{s}");
        assert!(
            !s.contains("Y2ktcm9ib3Q6"),
            "the base64 credential leaked: {s}"
        );
    }
}

fn render(images: &[&str]) -> String {
    let containers: String = images
        .iter()
        .enumerate()
        .map(|(i, image)| format!("        - name: c{i}\n          image: \"{image}\"\n"))
        .collect();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: ns\n  labels:\n    helm.sh/chart: catalyst-1.90.0\nspec:\n  template:\n    spec:\n      containers:\n{containers}"
    )
}

/// The lock's images as `image -> (digest, platforms)`.
fn lock_images(text: &str) -> BTreeMap<String, (String, Vec<(String, String)>)> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut platform: Option<String> = None;
    for line in text.lines() {
        let t = line.trim_start().trim_start_matches("- ");
        if let Some(image) = t.strip_prefix("image: ") {
            current = Some(image.trim_matches('"').to_string());
            out.insert(current.clone().unwrap(), (String::new(), Vec::new()));
        } else if let Some(p) = t.strip_prefix("platform: ") {
            platform = Some(p.to_string());
        } else if let Some(d) = t.strip_prefix("digest: ") {
            let entry = out.get_mut(current.as_ref().unwrap()).unwrap();
            match platform.take() {
                Some(p) => entry.1.push((p, d.to_string())),
                None => entry.0 = d.to_string(),
            }
        }
    }
    out
}

#[test]
fn resolve_writes_a_stable_lock_for_a_render_of_ten_images_with_tags_digests_and_an_index() {
    let reg = Registry::plain();
    let work = tempfile::tempdir().unwrap();
    let h = reg.host.clone();
    let a = make_image(work.path(), "1", "a", &["linux/amd64"]);
    let b = make_image(work.path(), "2", "b", &["linux/amd64"]);
    let c = make_image(work.path(), "latest", "c", &["linux/amd64"]);
    let multi = make_image(work.path(), "1", "multi", &["linux/amd64", "linux/arm64"]);
    push(&a, &reg, "app-a:1");
    push(&b, &reg, "app-b:2");
    push(&c, &reg, "app-c:latest");
    push(&c, &reg, "team/app-d:3.1");
    push(&multi, &reg, "multi:1");
    let images = [
        format!("{h}/app-a:1"),
        format!("{h}/app-b:2@{}", b.digest),
        format!("{h}/app-a@{}", a.digest),
        format!("{h}/multi:1"),
        format!("{h}/team/app-d:3.1"),
        format!("{h}/app-c"),
        format!("{h}/app-a:1"),
        format!("{h}/multi:1"),
        format!("{h}/app-c:latest"),
        format!("{h}/team/app-d:3.1"),
    ];
    let refs: Vec<&str> = images.iter().map(String::as_str).collect();
    let render_file = work.path().join("render.yaml");
    std::fs::write(&render_file, render(&refs)).unwrap();
    let resolve = |file: &Path, extra: &[&str]| {
        let mut args = vec!["lock", "resolve", "--insecure-registry", &h];
        args.extend_from_slice(extra);
        let file = file.to_str().unwrap().to_string();
        bin()
            .args(&args)
            .arg("--from-manifest")
            .arg(file)
            .output()
            .unwrap()
    };
    let out = resolve(&render_file, &[]);
    let (lock, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let expected: BTreeMap<String, (String, Vec<(String, String)>)> = [
        (format!("{h}/app-a:1"), (a.digest.clone(), vec![])),
        (format!("{h}/app-b:2"), (b.digest.clone(), vec![])),
        (
            format!("{h}/app-a@{}", a.digest),
            (a.digest.clone(), vec![]),
        ),
        (
            format!("{h}/multi:1"),
            (multi.digest.clone(), multi.platforms.clone()),
        ),
        (format!("{h}/team/app-d:3.1"), (c.digest.clone(), vec![])),
        (format!("{h}/app-c"), (c.digest.clone(), vec![])),
    ]
    .into_iter()
    .collect();
    assert_eq!(lock_images(&lock), expected, "{lock}");
    assert!(
        lock.starts_with(
            "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nproduct: catalyst\nversion: 1.90.0\n"
        ),
        "{lock}"
    );
    // The digests agree with what skopeo reads from the registry.
    let raw = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{h}/multi:1"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&raw.stdout).contains(&multi.platforms[1].1));

    // Stable: the same lock again. And it is a lock the post-renderer pins this render with.
    assert_eq!(text(&resolve(&render_file, &[])).0, lock);
    let lock_file = work.path().join("lock.yaml");
    std::fs::write(&lock_file, &lock).unwrap();
    let pinned = bin()
        .args(["postrender", "--lock"])
        .arg(&lock_file)
        .arg("--input")
        .arg(&render_file)
        .output()
        .unwrap();
    assert_eq!(pinned.status.code(), Some(0), "{}", text(&pinned).1);
    let pinned = String::from_utf8(pinned.stdout).unwrap();
    assert!(
        pinned.contains(&format!("image: \"{h}/multi:1@{}\"", multi.digest)),
        "{pinned}"
    );
    // --product and --chart-version are written into the lock.
    let named = text(&resolve(
        &render_file,
        &["--product", "opsta-ai-gateway", "--chart-version", "2.0.1"],
    ))
    .0;
    assert!(
        named.contains("product: opsta-ai-gateway\nversion: 2.0.1\n"),
        "{named}"
    );

    // --platform: the index has linux/arm64, the single-platform images do not: findings, no lock.
    let out = resolve(&render_file, &["--platform", "linux/arm64"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        (out.status.code(), stdout.as_str()),
        (Some(1), ""),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error[RG004]").count(), 5, "{stderr}");
    assert!(!stderr.contains("multi:1 does not"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "image {h}/app-c does not provide platform linux/arm64 (it has: linux/amd64)"
        )),
        "{stderr}"
    );
    assert_eq!(
        resolve(&render_file, &["--platform", "linux/amd64"])
            .status
            .code(),
        Some(0)
    );

    // An image the registry does not have: a finding naming it, nothing on stdout.
    let missing = work.path().join("missing.yaml");
    std::fs::write(
        &missing,
        render(&[&format!("{h}/app-a:1"), &format!("{h}/app-z:9")]),
    )
    .unwrap();
    let out = resolve(&missing, &[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        (out.status.code(), stdout.as_str()),
        (Some(1), ""),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "error[RG003]: registry {h} does not have {h}/app-z:9 (manifest unknown)"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("no lock was written"), "{stderr}");
}

#[test]
fn mirror_check_finds_each_missing_digest_and_platform_and_its_fix_line_copies_them() {
    let upstream = Registry::plain();
    let mirror = Registry::tls_with_auth();
    let work = tempfile::tempdir().unwrap();
    let (up, mh) = (upstream.host.clone(), mirror.host.clone());
    let a = make_image(work.path(), "1", "a", &["linux/amd64"]);
    let b = make_image(work.path(), "2", "b", &["linux/amd64"]);
    let multi = make_image(work.path(), "1", "multi", &["linux/amd64", "linux/arm64"]);
    push(&a, &upstream, "app-a:1");
    push(&b, &upstream, "app-b:2");
    push(&multi, &upstream, "multi:1");
    // The mirror got app-a and the index, not app-b.
    push(&a, &mirror, "corp/app-a:1");
    push(&multi, &mirror, "corp/multi:1");
    let lock = format!(
        "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n  - image: {up}/app-a:1\n    digest: {}\n  - image: {up}/app-b:2\n    digest: {}\n  - image: {up}/multi:1\n    digest: {}\n",
        a.digest, b.digest, multi.digest
    );
    let lock_file = work.path().join("lock.yaml");
    std::fs::write(&lock_file, lock).unwrap();
    let config = docker_config(&work.path().join("docker"), &mh, PASSWORD);
    let mapping = format!("{up}={mh}/corp");
    let ca = mirror.ca_file();
    let no_config = work.path().join("no-docker-config");
    let check = |extra: &[&str]| {
        let mut cmd = bin();
        cmd.env("DOCKER_CONFIG", &no_config);
        cmd.args([
            "mirror-check",
            "--lock",
            lock_file.to_str().unwrap(),
            "--mirror",
            &mapping,
        ]);
        cmd.args(["--insecure-registry", &up, "--ca-file", &ca])
            .args(extra);
        let out = cmd.output().unwrap();
        assert_no_secret(&out);
        out
    };
    let config_arg = ["--registry-config", config.to_str().unwrap()];
    let out = check(&config_arg);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stdout.matches("error[RG").count(), 1, "{stdout}");
    assert!(stdout.contains(&format!("error[RG001]: {mh}/corp/app-b@{} is not in the mirror (locked for {up}/app-b:2, lock line 6)", b.digest)), "{stdout}");
    let fix = stdout
        .lines()
        .find_map(|l| l.strip_prefix("  fix: "))
        .unwrap()
        .to_string();
    assert_eq!(
        fix,
        format!("skopeo copy --all --preserve-digests --src-tls-verify=false docker://{up}/app-b@{} docker://{mh}/corp/app-b:2", b.digest)
    );
    // The same through DOCKER_CONFIG, and as JSON.
    let out = check(&["-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "without credentials the mirror refuses: {}",
        text(&out).1
    );
    let out = bin()
        .env("DOCKER_CONFIG", config.parent().unwrap())
        .args([
            "mirror-check",
            "--lock",
            lock_file.to_str().unwrap(),
            "--mirror",
            &mapping,
        ])
        .args(["--insecure-registry", &up, "--ca-file", &ca, "-o", "json"])
        .output()
        .unwrap();
    assert_no_secret(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json["findings"][0]["code"], "RG001");

    // The fix line, run as printed (plus where skopeo finds the mirror's credentials and CA), repairs the mirror.
    let words: Vec<&str> = fix.split(' ').collect();
    run_ok(
        Command::new(words[0])
            .args(&words[1..])
            .arg(format!("--dest-authfile={}", config.display()))
            .arg(format!(
                "--dest-cert-dir={}",
                mirror.ca.as_ref().unwrap().1.display()
            )),
    );
    let out = check(&config_arg);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("the mirror holds every locked digest"),
        "{stdout}"
    );

    // One platform's manifest gone from the mirror: the index alone is not enough.
    let arm64 = &multi.platforms[1];
    run_ok(
        Command::new("skopeo")
            .args(["delete", &format!("--creds={USER}:{PASSWORD}")])
            .arg(format!(
                "--cert-dir={}",
                mirror.ca.as_ref().unwrap().1.display()
            ))
            .arg(format!("docker://{mh}/corp/multi@{}", arm64.1)),
    );
    let out = check(&config_arg);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "but not the manifest of platform linux/arm64 ({})",
            arm64.1
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "docker://{up}/multi@{} docker://{mh}/corp/multi:1",
            multi.digest
        )),
        "{stdout}"
    );
}

#[test]
fn lock_verify_catches_a_retagged_image_upstream_and_checks_the_mirrors_tags() {
    let reg = Registry::plain();
    let work = tempfile::tempdir().unwrap();
    let h = reg.host.clone();
    let tested = make_image(work.path(), "1", "tested", &["linux/amd64", "linux/arm64"]);
    let other = make_image(work.path(), "1", "other", &["linux/amd64"]);
    push(&tested, &reg, "app:1");
    push(&tested, &reg, "mirror/app:1");
    let render_file = work.path().join("render.yaml");
    std::fs::write(&render_file, render(&[&format!("{h}/app:1")])).unwrap();
    let lock = bin()
        .args([
            "lock",
            "resolve",
            "--insecure-registry",
            &h,
            "--from-manifest",
        ])
        .arg(&render_file)
        .output()
        .unwrap();
    let lock_file = work.path().join("lock.yaml");
    std::fs::write(&lock_file, &lock.stdout).unwrap();
    let verify = |extra: &[&str]| {
        bin()
            .args(["lock", "verify"])
            .arg(&lock_file)
            .args(["--insecure-registry", &h])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = verify(&[]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(text(&out)
        .0
        .contains("still points upstream at its locked digest"));

    // Upstream promotes another build under the same tag.
    push(&other, &reg, "app:1");
    let out = verify(&[]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "error[RG002]: tag {h}/app:1 now points at {}, not at the locked {} (lock line 6): the image was retagged",
            other.digest, tested.digest
        )),
        "{stdout}"
    );
    // The mirror still serves the tested digest under the tag.
    let mapping = format!("{h}/app={h}/mirror/app");
    let out = verify(&["--mirror", &mapping]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(text(&out).0.contains("still points in the mirror"));
}

/// A loopback server answering every request with 429; counts the requests.
fn always_429() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = stream.write_all(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (host, count)
}

#[test]
fn could_not_run_errors_are_one_line_exit_2_and_never_show_the_credential() {
    let reg = Registry::tls_with_auth();
    let work = tempfile::tempdir().unwrap();
    let h = reg.host.clone();
    let a = make_image(work.path(), "1", "a", &["linux/amd64"]);
    push(&a, &reg, "app:1");
    let render_file = work.path().join("render.yaml");
    std::fs::write(&render_file, render(&[&format!("{h}/app:1")])).unwrap();
    let ca = reg.ca_file();
    let resolve = |extra: &[&str]| {
        let out = bin()
            .args(["lock", "resolve", "--retries", "1", "--from-manifest"])
            .arg(&render_file)
            .args(extra)
            .output()
            .unwrap();
        assert_no_secret(&out);
        out
    };
    let one_error = |out: &Output| {
        let (stdout, stderr) = text(out);
        assert_eq!(
            (out.status.code(), stdout.as_str()),
            (Some(2), ""),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        stderr
    };
    // The right password works: TLS from the test's CA, basic auth from the config file.
    let good = docker_config(&work.path().join("good"), &h, PASSWORD);
    let out = resolve(&[
        "--ca-file",
        &ca,
        "--registry-config",
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert!(text(&out).0.contains(&a.digest));

    // A wrong password: says which credential source was tried, never its content.
    let wrong_password = format!("{PASSWORD}-wrong");
    let bad = docker_config(&work.path().join("bad"), &h, &wrong_password);
    let out = resolve(&["--ca-file", &ca, "--registry-config", bad.to_str().unwrap()]);
    let stderr = one_error(&out);
    assert!(
        stderr.starts_with(&format!(
            "opsta-lint: error: registry {h} refused access to {h}/app (401 Unauthorized); credentials tried: the `auths` entry for {h} in {}",
            bad.display()
        )),
        "{stderr}"
    );
    // No credentials at all.
    let none = work.path().join("empty.json");
    std::fs::write(&none, "{}").unwrap();
    let stderr = one_error(&resolve(&[
        "--ca-file",
        &ca,
        "--registry-config",
        none.to_str().unwrap(),
    ]));
    assert!(
        stderr.contains("credentials tried: no credentials (none for"),
        "{stderr}"
    );
    // TLS without the CA.
    let stderr = one_error(&resolve(&["--registry-config", good.to_str().unwrap()]));
    assert!(
        stderr.starts_with(&format!(
            "opsta-lint: error: TLS failure talking to registry {h}: invalid peer certificate"
        )),
        "{stderr}"
    );
    // A registry that is down.
    let down = format!("127.0.0.1:{}", free_port());
    std::fs::write(&render_file, render(&[&format!("{down}/app:1")])).unwrap();
    let stderr = one_error(&resolve(&["--insecure-registry", &down]));
    assert!(
        stderr.starts_with(&format!(
            "opsta-lint: error: cannot reach registry {down}: "
        )) && stderr.contains("(2 attempts)"),
        "{stderr}"
    );
    // 429 on every try: retried, then one line.
    let (busy, count) = always_429();
    std::fs::write(&render_file, render(&[&format!("{busy}/app:1")])).unwrap();
    let stderr = one_error(&resolve(&["--insecure-registry", &busy]));
    assert!(
        stderr.contains(&format!(
            "registry {busy} answered 429 Too Many Requests 2 times"
        )),
        "{stderr}"
    );
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// The `sh` blocks of docs/registry.md tagged with this test, in order.
fn documented_blocks(test: &str) -> Vec<String> {
    let doc = std::fs::read_to_string(root().join("docs/registry.md")).unwrap();
    let tag = format!("# tested by: tests/it/registry.rs::{test}\n");
    common::sh_blocks(&doc)
        .into_iter()
        .filter(|block| block.starts_with(&tag))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_documented_workflow_runs_as_written() {
    let blocks = documented_blocks("the_documented_workflow_runs_as_written");
    assert_eq!(blocks.len(), 3, "resolve, mirror-check, verify");
    // One registry with TLS from a private CA and basic auth; the vendor's images under vendor/, the mirror's under
    // mirror/. Credentials come from $DOCKER_CONFIG as in a CI job.
    let reg = Registry::tls_with_auth();
    let work = tempfile::tempdir().unwrap();
    let h = reg.host.clone();
    let gateway = make_image(
        work.path(),
        "2.4.1",
        "gateway",
        &["linux/amd64", "linux/arm64"],
    );
    let worker = make_image(work.path(), "2.4.1", "worker", &["linux/amd64"]);
    for (image, repo) in [(&gateway, "gateway:2.4.1"), (&worker, "worker:2.4.1")] {
        push(image, &reg, &format!("vendor/{repo}"));
        push(image, &reg, &format!("mirror/{repo}"));
    }
    let dir = work.path().join("release");
    std::fs::create_dir_all(&dir).unwrap();
    let render_text = render(&[
        &format!("{h}/vendor/gateway:2.4.1"),
        &format!("{h}/vendor/worker:2.4.1"),
    ]);
    std::fs::write(dir.join("render.yaml"), render_text).unwrap();
    std::fs::copy(reg.ca_file(), dir.join("corp-ca.pem")).unwrap();
    let config = docker_config(&work.path().join("docker"), &h, PASSWORD);
    let path = common::path_with_bin();
    for block in &blocks {
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", block])
            .current_dir(&dir)
            .env("PATH", &path)
            .env("DOCKER_CONFIG", config.parent().unwrap())
            .env("UPSTREAM", format!("{h}/vendor"))
            .env("MIRROR", format!("{h}/mirror"))
            .output()
            .unwrap();
        assert_no_secret(&out);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{block}\n{stdout}{stderr}");
    }
    let lock = std::fs::read_to_string(dir.join("release.lock.yaml")).unwrap();
    let images = lock_images(&lock);
    assert_eq!(
        images[&format!("{h}/vendor/gateway:2.4.1")].0,
        gateway.digest,
        "{lock}"
    );
    assert_eq!(
        images[&format!("{h}/vendor/gateway:2.4.1")].1,
        gateway.platforms,
        "{lock}"
    );
    assert_eq!(
        images[&format!("{h}/vendor/worker:2.4.1")].0,
        worker.digest,
        "{lock}"
    );
}

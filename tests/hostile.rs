//! The catalog of broken and hostile inputs: for each, the command, the exit code it must end with, and what its
//! message must name (file:line:col, or the resource). Every case also checks that nothing panicked, that a
//! failure left stdout empty (nothing half-written), and that the child's peak memory stayed under 512 MiB
//! (measured with wait4's rusage, never a time limit). Big inputs are generated in a temp dir at test time.

// A test binary of its own, not a module of tests/it: Linux counts a child's peak memory (ru_maxrss) from the
// memory of the process that started it, so children measured from the one big test binary all report that
// binary's size. Started from this small binary, a child's peak is its own.
#[path = "it/common/mod.rs"]
mod common;

use common::{run_measured, Measured};
use std::path::Path;

const DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const OTHER_DIGEST: &str =
    "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const MEMORY_BOUND_KIB: u64 = 512 * 1024;

/// One hostile input: the arguments (file names relative to the fixture folder), the exit code, and the texts
/// stderr must contain.
struct Case {
    what: &'static str,
    args: &'static [&'static str],
    code: i32,
    says: &'static [&'static str],
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    // lint: values files.
    Case { what: "truncated YAML", args: &["lint", "--product", "catalyst", "truncated.yaml"], code: 2, says: &["truncated.yaml:2:6:", "unclosed bracket"] },
    Case { what: "a values file that is a list", args: &["lint", "--product", "catalyst", "list.yaml"], code: 2, says: &["list.yaml:1:1:", "the top level is a list"] },
    Case { what: "a values file that is a scalar", args: &["lint", "--product", "catalyst", "scalar.yaml"], code: 2, says: &["scalar.yaml:1:1:", "the top level is a string"] },
    Case { what: "a null key", args: &["lint", "--product", "catalyst", "null-key.yaml"], code: 2, says: &["null-key.yaml:2:1: a null key"] },
    Case { what: "an infinite number", args: &["lint", "--product", "catalyst", "inf.yaml"], code: 2, says: &["inf.yaml:1:11: Helm cannot turn .inf into JSON"] },
    Case { what: "an alias bomb", args: &["lint", "--product", "catalyst", "bomb.yaml"], code: 2, says: &["bomb.yaml:", "alias bomb"] },
    // Helm reads values up to 10,000 levels deep (deep_values_within_helms_limit_are_read: up to it).
    Case { what: "deep flow nesting", args: &["lint", "--product", "catalyst", "deep-flow.yaml"], code: 2, says: &["deep-flow.yaml:2:10004: nesting deeper than 10000 levels"] },
    Case { what: "invalid UTF-8", args: &["lint", "--product", "catalyst", "bad-utf8.yaml"], code: 2, says: &["bad-utf8.yaml:2:4: is not valid UTF-8"] },
    Case { what: "a NUL byte", args: &["lint", "--product", "catalyst", "nul.yaml"], code: 2, says: &["nul.yaml:2:4: contains a NUL byte"] },
    Case { what: "a values file that is a directory", args: &["lint", "--product", "catalyst", "dir.yaml"], code: 2, says: &["dir.yaml: is a directory"] },
    Case { what: "a missing values file", args: &["lint", "--product", "catalyst", "missing.yaml"], code: 2, says: &["missing.yaml: no such file"] },
    Case { what: "an unreadable values file", args: &["lint", "--product", "catalyst", "UNREADABLE"], code: 2, says: &["cannot read"] },
    Case { what: "an unreadable previous values file", args: &["lint", "--product", "catalyst", "--previous-values", "UNREADABLE", "values.yaml"], code: 2, says: &["cannot read"] },
    Case { what: "a schema that is not JSON", args: &["lint", "--schema", "truncated.yaml", "values.yaml"], code: 2, says: &["truncated.yaml:"] },
    // postrender: manifests on stdin (here --input) and the lock.
    Case { what: "a lock with a bad digest", args: &["postrender", "--lock", "bad-digest.lock", "--input", "pod.yaml"], code: 2, says: &["bad-digest.lock:5:13:", "sha256:abc"] },
    Case { what: "a lock with two digests for one image", args: &["postrender", "--lock", "two-digests.lock", "--input", "pod.yaml"], code: 2, says: &["two-digests.lock:6:12:", "locked twice"] },
    Case { what: "a lock that is a list", args: &["postrender", "--lock", "list.yaml", "--input", "pod.yaml"], code: 2, says: &["list.yaml:1:1:"] },
    Case { what: "a lock that is a directory", args: &["postrender", "--lock", "dir.yaml", "--input", "pod.yaml"], code: 2, says: &["dir.yaml: is a directory"] },
    Case { what: "an unreadable lock", args: &["postrender", "--lock", "UNREADABLE", "--input", "pod.yaml"], code: 2, says: &["cannot read"] },
    Case { what: "a truncated lock", args: &["postrender", "--lock", "truncated.yaml", "--input", "pod.yaml"], code: 2, says: &["truncated.yaml:2:6:"] },
    Case { what: "an image missing from the lock", args: &["postrender", "--lock", "lock.yaml", "--input", "unlocked.yaml"], code: 1, says: &["unlocked.yaml:9:12:", "Pod prod/web", "container \"web\"", "redis:7"] },
    Case { what: "an image key spelled in escapes", args: &["postrender", "--lock", "lock.yaml", "--input", "escaped-key.yaml"], code: 1, says: &["escaped-key.yaml:11:17:", "container \"miner\"", "evil.example/miner:1"] },
    Case { what: "a Pod posing as a CRD with a second kind", args: &["postrender", "--lock", "lock.yaml", "--input", "crd-two-kinds.yaml"], code: 2, says: &["crd-two-kinds.yaml:3:1:", "duplicate key \"kind\""] },
    Case { what: "an image aliased from metadata.name", args: &["postrender", "--lock", "lock.yaml", "--input", "alias-of-name.yaml"], code: 1, says: &["alias-of-name.yaml:4:15:", "PR003", "container \"web\"", "not an image"] },
    Case { what: "a truncated manifest with an image", args: &["postrender", "--lock", "lock.yaml", "--input", "truncated-pod.yaml"], code: 2, says: &["truncated-pod.yaml:"] },
    Case { what: "an alias bomb in a manifest", args: &["postrender", "--lock", "lock.yaml", "--input", "bomb.yaml"], code: 2, says: &["bomb.yaml:", "alias bomb"] },
    Case { what: "deep nesting in a manifest", args: &["postrender", "--lock", "lock.yaml", "--input", "deep-flow.yaml"], code: 2, says: &["deep-flow.yaml:2:260: nesting deeper than 256 levels"] },
    Case { what: "invalid UTF-8 in a manifest", args: &["postrender", "--lock", "lock.yaml", "--input", "bad-utf8.yaml"], code: 2, says: &["bad-utf8.yaml:2:4:"] },
    Case { what: "a NUL byte in a manifest", args: &["postrender", "--lock", "lock.yaml", "--input", "nul.yaml"], code: 2, says: &["nul.yaml:2:4:"] },
    Case { what: "a report path that is a directory", args: &["postrender", "--lock", "lock.yaml", "--input", "pod.yaml", "--report", "dir.yaml"], code: 2, says: &["dir.yaml"] },
    // lock --from-manifest.
    Case { what: "a truncated manifest for a lock skeleton", args: &["lock", "--from-manifest", "truncated-pod.yaml"], code: 2, says: &["truncated-pod.yaml:"] },
    Case { what: "an alias bomb for a lock skeleton", args: &["lock", "--from-manifest", "bomb.yaml"], code: 2, says: &["bomb.yaml:", "alias bomb"] },
    // diff.
    Case { what: "a truncated new manifest", args: &["diff", "pod.yaml", "truncated-pod.yaml"], code: 2, says: &["truncated-pod.yaml:"] },
    Case { what: "a truncated manifest with --detailed-exitcode", args: &["diff", "--detailed-exitcode", "truncated-pod.yaml", "pod.yaml"], code: 1, says: &["truncated-pod.yaml:"] },
    Case { what: "an alias bomb in a diff", args: &["diff", "bomb.yaml", "pod.yaml"], code: 2, says: &["bomb.yaml:", "alias bomb"] },
    Case { what: "deep nesting in a diff", args: &["diff", "pod.yaml", "deep-flow.yaml"], code: 2, says: &["deep-flow.yaml:2:260: nesting deeper than 256 levels"] },
    Case { what: "duplicate keys in a diff", args: &["diff", "duplicate.yaml", "pod.yaml"], code: 2, says: &["duplicate.yaml:3:1:"] },
    Case { what: "invalid UTF-8 in a diff", args: &["diff", "pod.yaml", "bad-utf8.yaml"], code: 2, says: &["bad-utf8.yaml:2:4:"] },
    Case { what: "a directory in a diff", args: &["diff", "dir.yaml", "pod.yaml"], code: 2, says: &["dir.yaml: is a directory"] },
    Case { what: "an unreadable file in a diff", args: &["diff", "pod.yaml", "UNREADABLE"], code: 2, says: &["cannot read"] },
];

fn pod(image: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  containers:\n  - name: web\n    image: {image}\n"
    )
}

fn lock(entries: &[(&str, &str)]) -> String {
    let images: String = entries
        .iter()
        .map(|(image, digest)| format!("  - image: {image}\n    digest: {digest}\n"))
        .collect();
    format!("apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n{images}")
}

/// Billion laughs: ten levels of ten aliases each (10^10 nodes if expanded), behind an image so the
/// post-renderer parses it.
fn alias_bomb() -> String {
    let mut text = pod("nginx:1.27") + "bomb:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for level in 1..=10 {
        let refs = vec![format!("*a{}", level - 1); 10].join(", ");
        text.push_str(&format!("  a{level}: &a{level} [{refs}]\n"));
    }
    text
}

/// Writes every fixture the cases name into `dir`.
fn fixtures(dir: &Path) {
    let deep_block: String = (0..2000)
        .map(|depth| format!("{}k{depth}:\n", " ".repeat(depth)))
        .collect();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("empty.yaml", Vec::new()),
        ("values.yaml", b"a: 1\n".to_vec()),
        ("truncated.yaml", b"a:\n  b: [1, 2\n".to_vec()),
        ("list.yaml", b"- a\n- b\n".to_vec()),
        ("scalar.yaml", b"hello\n".to_vec()),
        ("null-key.yaml", b"a: 1\n~: 2\n".to_vec()),
        ("inf.yaml", b"a: [1, 2, .inf]\n".to_vec()),
        ("duplicate.yaml", b"a: 1\nb: 2\na: 3\n".to_vec()),
        ("bomb.yaml", alias_bomb().into_bytes()),
        ("deep-flow.yaml", format!("image: x\nv: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)).into_bytes()),
        ("deep-block.yaml", format!("image: x\n{deep_block}").into_bytes()),
        ("nul.yaml", b"a: 1\nb: \0\n".to_vec()),
        ("bad-utf8.yaml", b"a: 1\nb: \xff\n".to_vec()),
        ("pod.yaml", pod("nginx:1.27").into_bytes()),
        ("unlocked.yaml", pod("redis:7").into_bytes()),
        ("alias-of-name.yaml", pod("*name").replace("name: web\n  namespace", "name: &name nginx:1.27\n  namespace").into_bytes()),
        ("escaped-key.yaml", pod("nginx:1.27").replace("    image: nginx:1.27\n", "    image: nginx:1.27\n  - name: miner\n    \"\\x69mage\": evil.example/miner:1\n").into_bytes()),
        ("crd-two-kinds.yaml", format!("apiVersion: v1\nkind: CustomResourceDefinition\n\"kind\": Pod\n{}", &pod("redis:7")[24..]).into_bytes()),
        ("truncated-pod.yaml", (pod("nginx:1.27") + "    args: [a\n").into_bytes()),
        ("lock.yaml", lock(&[("nginx:1.27", DIGEST)]).into_bytes()),
        ("bad-digest.lock", lock(&[("nginx:1.27", "sha256:abc")]).into_bytes()),
        ("two-digests.lock", lock(&[("nginx:1.27", DIGEST), ("docker.io/library/nginx:1.27", OTHER_DIGEST)]).into_bytes()),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    std::fs::create_dir(dir.join("dir.yaml")).unwrap();
}

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

/// A file this process cannot read. Root ignores permission bits, so as root it is /proc/self/mem, whose
/// read at offset 0 fails for everyone (EIO); otherwise a real file with mode 000.
fn unreadable(dir: &Path) -> String {
    if is_root() {
        return "/proc/self/mem".into();
    }
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("unreadable.yaml");
    std::fs::write(&path, "a: 1\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    "unreadable.yaml".into()
}

fn run_in(dir: &Path, args: &[&str], unreadable: &str) -> Measured {
    let mut command = common::bin();
    command
        .current_dir(dir)
        .args(
            args.iter()
                .map(|a| if *a == "UNREADABLE" { unreadable } else { a }),
        )
        .env("NO_COLOR", "1");
    run_measured(command, None)
}

/// The checks every failing run must pass, whatever the command.
fn assert_failed_cleanly(what: &str, run: &Measured, code: i32) {
    assert_eq!(
        run.code,
        Some(code),
        "{what}: exit {:?}, stderr: {}",
        run.code,
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "{what}: a failed run printed to stdout: {}",
        String::from_utf8_lossy(&run.stdout)
    );
    assert!(
        run.peak_rss_kib < MEMORY_BOUND_KIB,
        "{what}: peak memory {} KiB",
        run.peak_rss_kib
    );
}

#[test]
fn every_hostile_input_fails_cleanly_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    fixtures(dir.path());
    let unreadable = unreadable(dir.path());
    let mut failures = Vec::new();
    for case in CASES {
        let run = run_in(dir.path(), case.args, &unreadable);
        let outcome = std::panic::catch_unwind(|| {
            assert_failed_cleanly(case.what, &run, case.code);
            for text in case.says {
                assert!(
                    run.stderr.contains(text),
                    "{}: {text:?} missing from: {}",
                    case.what,
                    run.stderr
                );
            }
        });
        if outcome.is_err() {
            failures.push(case.what);
        }
    }
    assert!(failures.is_empty(), "cases that failed: {failures:?}");
}

#[test]
fn deep_values_within_helms_limit_are_read() {
    let dir = tempfile::tempdir().unwrap();
    fixtures(dir.path());
    let deepest = format!("v: {}{}\n", "[".repeat(9_999), "]".repeat(9_999));
    std::fs::write(dir.path().join("deepest.yaml"), deepest).unwrap();
    std::fs::write(
        dir.path().join("open.schema.json"),
        "{\"type\": \"object\"}",
    )
    .unwrap();
    for (args, code) in [
        (&["lint", "--product", "catalyst", "deep-block.yaml"][..], 1),
        (
            &["lint", "--schema", "open.schema.json", "deepest.yaml"][..],
            0,
        ),
    ] {
        let run = run_in(dir.path(), args, "");
        assert_eq!(run.code, Some(code), "{args:?}: {}", run.stderr);
        assert!(run.stderr.is_empty(), "{args:?}: {}", run.stderr);
        assert!(
            run.peak_rss_kib < MEMORY_BOUND_KIB,
            "{args:?}: {} KiB",
            run.peak_rss_kib
        );
    }
}

/// Runs with stdout a pipe whose reading end is already closed, as in `opsta-lint ... | head -0`.
fn run_with_closed_stdout(dir: &Path, args: &[&str]) -> Measured {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut command = common::bin();
    command
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(writer)
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    drop(command);
    common::wait_measured(child)
}

const SIGPIPE: i32 = 13;

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    fixtures(dir.path());
    let bad_values = common::root().join("testdata/catalyst/bad.values.yaml");
    let bad_values = bad_values.to_str().unwrap();
    let commands: &[&[&str]] = &[
        &["rules"],
        &["lint", "--product", "catalyst", bad_values],
        &["lint", "-o", "json", "--product", "catalyst", bad_values],
        &["lint", "-o", "sarif", "--product", "catalyst", bad_values],
        &["postrender", "--lock", "lock.yaml", "--input", "pod.yaml"],
        &["diff", "pod.yaml", "unlocked.yaml"],
        &["diff", "-o", "json", "pod.yaml", "unlocked.yaml"],
        &["lock", "--from-manifest", "pod.yaml"],
        &["versions", "catalyst", "1.90.0"],
    ];
    for args in commands {
        let run = run_with_closed_stdout(dir.path(), args);
        assert!(
            !run.stderr.contains("panicked") && !run.stderr.contains("error"),
            "{args:?} said: {}",
            run.stderr
        );
        assert_eq!(
            (run.code, run.signal),
            (None, Some(SIGPIPE)),
            "{args:?}: ends as `cat | head` does"
        );
    }
}

/// About `size` bytes of rendered manifests: a Deployment (one image) and a ConfigMap with a script per step.
fn big_render(size: usize) -> (String, usize) {
    let script: String = (0..40)
        .map(|k| format!("    echo line {k} of a long script\n"))
        .collect();
    let mut text = String::with_capacity(size + 4096);
    let mut images = 0;
    while text.len() < size {
        let i = images;
        text.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: ns\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        args: [\"--port\", \"{i}\"]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-{i}\ndata:\n  key: value-{i}\n  script: |\n{script}"
        ));
        images += 1;
    }
    (text, images)
}

const HUNDRED_MB: usize = 100_000_000;

/// src/memory.rs sets two of mimalloc's options by their place in `mi_option_e`, the list in the mimalloc.h that
/// libmimalloc-sys builds (build.rs passes its path); an alias (`name = other`) takes no place of its own.
#[test]
fn the_allocator_sets_the_options_it_names() {
    let header = std::fs::read_to_string(env!("OPSTA_MIMALLOC_HEADER")).unwrap();
    let list = header
        .split("typedef enum mi_option_e {")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .expect("mimalloc.h declares mi_option_e");
    let options: Vec<&str> = list
        .lines()
        .map(|l| l.split("//").next().unwrap().trim())
        .filter(|l| l.starts_with("mi_option_") && !l.contains('='))
        .map(|l| l.trim_end_matches(',').trim())
        .collect();
    let name = |at: i32| options.get(at as usize).copied();
    use opsta_lint::memory::{ARENA_EAGER_COMMIT, ARENA_RESERVE};
    assert_eq!(
        name(ARENA_EAGER_COMMIT),
        Some("mi_option_arena_eager_commit"),
        "{options:?}"
    );
    assert_eq!(
        name(ARENA_RESERVE),
        Some("mi_option_arena_reserve"),
        "{options:?}"
    );
}

#[test]
fn a_100_mb_render_is_pinned_and_diffed_within_a_bounded_multiple_of_its_size() {
    let dir = tempfile::tempdir().unwrap();
    fixtures(dir.path());
    let (render, images) = big_render(HUNDRED_MB);
    let input = dir.path().join("big.yaml");
    std::fs::write(&input, &render).unwrap();
    let size_kib = render.len() as u64 / 1024;

    // As Helm runs it: the render on stdin, the pinned render on stdout.
    let mut command = common::bin();
    command
        .current_dir(dir.path())
        .args(["postrender", "--lock", "lock.yaml"]);
    let run = run_measured(command, Some(&input));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let pin = format!("@{DIGEST}");
    assert_eq!(run.stdout.len(), render.len() + images * pin.len());
    assert!(
        String::from_utf8(run.stdout).unwrap()
            == render.replace("nginx:1.27\n", &format!("nginx:1.27{pin}\n"))
    );
    assert!(
        run.peak_rss_kib < 4 * size_kib,
        "postrender peaked at {} KiB for {size_kib} KiB of input",
        run.peak_rss_kib
    );

    // One changed value among 100 MB on each side.
    let changed = dir.path().join("big-changed.yaml");
    std::fs::write(&changed, render.replacen("value-7\n", "value-seven\n", 1)).unwrap();
    drop(render);
    let mut command = common::bin();
    command
        .current_dir(dir.path())
        .args(["diff", "big.yaml", "big-changed.yaml"])
        .env("NO_COLOR", "1");
    let run = run_measured(command, None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let shown = String::from_utf8(run.stdout).unwrap();
    assert!(
        shown.starts_with("1 changed, 0 added, 0 removed"),
        "{shown}"
    );
    assert!(
        shown.contains("ConfigMap config-7") && shown.contains("+  key: value-seven"),
        "{shown}"
    );
    assert!(
        run.peak_rss_kib < 4 * 2 * size_kib,
        "diff peaked at {} KiB for two inputs of {size_kib} KiB",
        run.peak_rss_kib
    );

    // Values files are small by nature (Helm stores them in a 1 MiB Secret): a huge one is refused at once.
    let mut command = common::bin();
    command
        .current_dir(dir.path())
        .args(["lint", "--product", "catalyst", "big.yaml"]);
    let run = run_measured(command, None);
    assert_failed_cleanly("a 100 MB values file", &run, 2);
    assert!(
        run.stderr
            .contains("big.yaml: is 95.4 MiB; values files larger than 16 MiB are refused"),
        "{}",
        run.stderr
    );
}

fn helm_base64(bytes: &[u8]) -> Vec<u8> {
    common::b64(bytes).into_bytes()
}

fn gzip_of(parts: &[&[u8]], repeat_middle: usize) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(parts[0]).unwrap();
    for _ in 0..repeat_middle {
        encoder.write_all(parts[1]).unwrap();
    }
    encoder.write_all(parts[2]).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn hostile_release_payloads_fail_cleanly_naming_the_secret() {
    let kube = common::fakekube::FakeKube::start();
    let head: &[u8] = br#"{"name":"x","version":1,"info":{"status":"deployed"},"chart":{"metadata":{"name":"c"}},"manifest":""#;
    let megabyte = vec![b'a'; 1 << 20];
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not-base64",
            b"%%% not base64 %%%".to_vec(),
            "it is not base64",
        ),
        (
            "bad-gzip",
            helm_base64(&gzip_of(&[head, b"", b"\"}"], 0)[..20]),
            "its gzip data is corrupt",
        ),
        (
            "not-a-release",
            helm_base64(b"{\"hello\": \"world\"}"),
            "its JSON lacks a Helm release's fields",
        ),
        (
            "deep-json",
            helm_base64(format!("{{\"name\":\"x\",\"config\":{deep}}}").as_bytes()),
            "not in Helm's format",
        ),
        (
            "gzip-bomb",
            helm_base64(&gzip_of(&[head, &megabyte, b"\"}"], 300)),
            "inflates past",
        ),
        (
            "big-json",
            helm_base64(&gzip_of(&[head, &megabyte, b"\"}"], 250)),
            "inflates past 64 MiB",
        ),
    ];
    for (name, payload, says) in &cases {
        kube.insert(common::release_secret(name, "ns", payload));
        let mut command = common::bin();
        for var in ["HELM_NAMESPACE", "HELM_KUBECONTEXT", "HELM_DRIVER"] {
            command.env_remove(var);
        }
        command
            .env("KUBECONFIG", kube.kubeconfig())
            .args(["release", name, "-n", "ns"]);
        let run = run_measured(command, None);
        eprintln!("release payload {name}: peak {} KiB", run.peak_rss_kib);
        assert_failed_cleanly(name, &run, 2);
        let secret = format!("Secret sh.helm.release.v1.{name}.v1");
        assert!(
            run.stderr.contains(&secret) && run.stderr.contains(says),
            "{name}: {}",
            run.stderr
        );
    }
}

/// Helm 3 takes an empty post-renderer output as an empty release: for any non-empty input that passes, the
/// output is never empty (here, with nothing to pin, it is the input itself). A failing run prints nothing.
#[test]
fn the_post_renderer_never_answers_non_empty_input_with_nothing() {
    let dir = tempfile::tempdir().unwrap();
    fixtures(dir.path());
    let inputs = [
        "\n",
        "   \n\t\n",
        "# Source: chart/templates/empty.yaml\n",
        "---\n",
        "---\n---\n...\n",
        "---\n# Source: chart/templates/a.yaml\n# only a comment\n",
        "apiVersion: v1\nkind: List\nitems: []\n",
        "just a scalar\n",
        "- a list\n",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  image: {type: string}\n",
        "\u{feff}apiVersion: v1\r\nkind: ConfigMap\r\ndata:\r\n  image: not-a-container\r\n",
    ];
    for (n, text) in inputs.iter().enumerate() {
        let input = dir.path().join(format!("input-{n}.yaml"));
        std::fs::write(&input, text).unwrap();
        let mut command = common::bin();
        command
            .current_dir(dir.path())
            .args(["postrender", "--lock", "lock.yaml"]);
        let run = run_measured(command, Some(&input));
        assert_eq!(run.code, Some(0), "{text:?}: {}", run.stderr);
        assert_eq!(
            String::from_utf8(run.stdout).unwrap(),
            *text,
            "{text:?} came back changed or empty"
        );
    }
    for failing in [
        "unlocked.yaml",
        "truncated-pod.yaml",
        "bomb.yaml",
        "nul.yaml",
    ] {
        let mut command = common::bin();
        command
            .current_dir(dir.path())
            .args(["postrender", "--lock", "lock.yaml"]);
        let run = run_measured(command, Some(&dir.path().join(failing)));
        assert!(matches!(run.code, Some(1 | 2)), "{failing}: {:?}", run.code);
        assert!(
            run.stdout.is_empty(),
            "{failing}: a failing post-renderer printed {} bytes",
            run.stdout.len()
        );
    }
}

/// Names from the input (file names, resource and container names, values keys, chart labels) holding line
/// breaks and escape sequences: every command writes them escaped, so none forges a line of output, a line of
/// the lock skeleton, or drives the terminal.
#[test]
fn hostile_names_neither_forge_lines_nor_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    fixtures(dir.path());
    const FORGED: &str = "FORGED";
    // NEL (`\N`) is a line break to some readers and CSI (`\x9b`) a terminal escape: JSON writers leave both raw.
    let render = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: \"web\\e[2J\\nFORGED: []\\n#\\N\\x9b\"\n  \
        namespace: \"prod\\a\"\n  labels:\n    helm.sh/chart: \"evil: a #-1.0\\nFORGED: y\"\nspec:\n  template:\n    \
        spec:\n      containers:\n      - name: \"c\\e]0;title\\a\\nFORGED\"\n        image: redis:7\n";
    let odd_file = "render\nFORGED\u{1b}[2J.yaml";
    std::fs::write(dir.path().join(odd_file), render).unwrap();
    let values = "global:\n  \"reg\\e[31mion\\N\": x\n\"a\\nFORGED\\x9b\": 1\n";
    let odd_values = "values\nFORGED.yaml";
    std::fs::write(dir.path().join(odd_values), values).unwrap();
    let report = dir.path().join("report.txt");
    let report = report.to_str().unwrap();
    let runs: &[(&[&str], i32)] = &[
        (
            &[
                "postrender",
                "--lock",
                "lock.yaml",
                "--input",
                odd_file,
                "--report",
                report,
            ],
            1,
        ),
        (&["diff", "pod.yaml", odd_file], 0),
        (&["diff", "-o", "json", "pod.yaml", odd_file], 0),
        (&["lock", "--from-manifest", odd_file], 0),
        (&["lint", "--product", "catalyst", odd_values], 1),
        (
            &["lint", "-o", "json", "--product", "catalyst", odd_values],
            1,
        ),
        (
            &["lint", "-o", "sarif", "--product", "catalyst", odd_values],
            1,
        ),
        (
            &[
                "lint",
                "--product",
                "catalyst",
                "--previous-values",
                odd_values,
                "values.yaml",
            ],
            1,
        ),
        (
            &["lint", "--product", "catalyst", "missing\nFORGED.yaml"],
            2,
        ),
    ];
    for (args, code) in runs {
        let run = run_in(dir.path(), args, "");
        assert_eq!(run.code, Some(*code), "{args:?}: {}", run.stderr);
        let stdout = String::from_utf8(run.stdout).unwrap();
        let mut outputs = vec![("stdout", stdout.clone()), ("stderr", run.stderr)];
        if args[0] == "postrender" {
            outputs.push(("report", std::fs::read_to_string(report).unwrap()));
        }
        let all: String = outputs.iter().map(|(_, text)| text.as_str()).collect();
        assert!(
            all.contains("\\nFORGED"),
            "{args:?} never showed the hostile name: {all}"
        );
        for (stream, text) in &outputs {
            for line in text.lines() {
                assert!(
                    !line.chars().any(|c| c.is_control() && c != '\t'),
                    "{args:?}: a control character on {stream}: {line:?}"
                );
                assert!(
                    !line.starts_with(FORGED),
                    "{args:?}: a forged line on {stream}: {text}"
                );
            }
        }
        if args[0] == "lock" {
            let docs = opsta_lint::yaml::parse(&stdout).unwrap();
            let lock = docs[0].to_json();
            let keys: Vec<_> = lock.as_object().unwrap().keys().cloned().collect();
            assert_eq!(
                keys,
                ["apiVersion", "kind", "product", "version", "images"],
                "{stdout}"
            );
            assert_eq!(lock["images"].as_array().unwrap().len(), 1, "{stdout}");
        }
    }
}

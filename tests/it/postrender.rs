//! `opsta-lint postrender` and `opsta-lint lock` as a user runs them: pinned output faithful to the input byte for
//! byte, failures that print nothing on stdout, and the proof on real rendered charts.

use crate::common;
use common::testdata;
use common::{run_with_stdin, write, Run};

use opsta_lint::yaml;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

fn postrender(lock: &Path, args: &[&str], input: &str) -> Run {
    let mut cmd = common::bin();
    cmd.arg("postrender").arg("--lock").arg(lock).args(args);
    run_with_stdin(cmd, input)
}

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn edge_lock(dir: &Path) -> PathBuf {
    let images = [
        ("busybox:1.36", D1),
        ("docker.io/library/nginx:1.27", D2),
        ("ghcr.io/dapr/daprd:1.17.3", D1),
        ("registry.k8s.io/pause:3.10", D2),
        ("localhost:5000/team/app:v1", D1),
    ];
    let entries: String = images
        .iter()
        .map(|(image, digest)| format!("  - image: {image}\n    digest: {digest}\n"))
        .collect();
    write(
        dir,
        "lock.yaml",
        &format!("apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n{entries}"),
    )
}

fn edge_expected(input: &str) -> String {
    [
        ("'busybox:1.36'", format!("'busybox:1.36@{D1}'")),
        ("&web \"nginx:1.27\"", format!("&web \"nginx:1.27@{D2}\"")),
        (
            "value: ghcr.io/dapr/daprd:1.17.3",
            format!("value: ghcr.io/dapr/daprd:1.17.3@{D1}"),
        ),
        (
            "\"registry.k8s.io/pause:3.10\"",
            format!("\"registry.k8s.io/pause:3.10@{D2}\""),
        ),
        (
            "image: localhost:5000/team/app:v1",
            format!("image: localhost:5000/team/app:v1@{D1}"),
        ),
    ]
    .iter()
    .fold(input.to_string(), |text, (from, to)| {
        assert_eq!(
            text.matches(from).count(),
            1,
            "{from} occurs once in the sample"
        );
        text.replace(from, to)
    })
}

#[test]
fn pins_exactly_the_image_scalars_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let lock = edge_lock(dir.path());
    let input = std::fs::read_to_string(testdata("postrender/edge-cases.yaml")).unwrap();
    for text in [input.clone(), input.replace('\n', "\r\n")] {
        let run = postrender(&lock, &[], &text);
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout, edge_expected(&text));
        let again = postrender(&lock, &[], &run.stdout);
        assert_eq!(again.stdout, run.stdout, "a second run changes nothing");
        assert!(
            run.stderr.contains("5 image reference(s) checked"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("5 rewritten"), "{}", run.stderr);
    }
}

#[test]
fn keeps_helm4_filename_annotations_and_warns_about_helm3_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let lock = edge_lock(dir.path());
    let helm4 = "---\n# Source: c/templates/p.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    postrenderer.helm.sh/postrender-filename: c/templates/p.yaml\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n";
    let run = postrender(&lock, &[], helm4);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        helm4.replace("busybox:1.36", &format!("busybox:1.36@{D1}"))
    );
    assert!(!run.stderr.contains("PR007"), "{}", run.stderr);
    let helm3 = helm4.replace(
        "  annotations:\n    postrenderer.helm.sh/postrender-filename: c/templates/p.yaml\n",
        "",
    );
    let run = postrender(&lock, &[], &helm3);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("warning[PR007]") && run.stderr.contains("hook images"),
        "{}",
        run.stderr
    );
}

#[test]
fn fails_closed_with_nothing_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let lock = edge_lock(dir.path());
    let report = dir.path().join("report.txt");
    let pod = |image: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: web\nspec:\n  containers:\n  - name: app\n    image: {image}\n")
    };
    let report_arg = format!("--report={}", report.display());
    let run = postrender(&lock, &[&report_arg], &pod("redis:7"));
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout, "",
        "a failing post-renderer prints nothing on stdout"
    );
    let message = "<stdin>:9:12: error[PR001]: Pod web/p, container \"app\": image \"redis:7\" (docker.io/library/redis:7) is not in the lock";
    assert!(run.stderr.contains(message), "{}", run.stderr);
    let written = std::fs::read_to_string(&report).unwrap();
    assert!(
        written.contains(message),
        "the report file holds the finding: {written}"
    );

    let run = postrender(&lock, &[], &pod(&format!("nginx:1.27@{D1}")));
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
    assert!(
        run.stderr.contains("error[PR002]") && run.stderr.contains(D2),
        "{}",
        run.stderr
    );

    let run = postrender(&lock, &["--allow-unlocked"], &pod("redis:7"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, pod("redis:7"));
    assert!(run.stderr.contains("warning[PR001]"), "{}", run.stderr);

    // Written as the runtime reads it: the normalized form is not repeated.
    let run = postrender(&lock, &[], &pod("docker.io/library/redis:7"));
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
    assert!(
        run.stderr
            .contains("image \"docker.io/library/redis:7\" is not in the lock"),
        "{}",
        run.stderr
    );

    let run = postrender(&lock, &["--allow-unlocked"], &pod("\"\""));
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
    assert!(run.stderr.contains("error[PR003]"), "{}", run.stderr);
}

#[test]
fn mirrors_every_image_or_names_the_one_left_outside() {
    let dir = tempfile::tempdir().unwrap();
    let lock = edge_lock(dir.path());
    let input = std::fs::read_to_string(testdata("postrender/edge-cases.yaml")).unwrap();
    let mirrors = [
        "--mirror=docker.io=mirror.corp/hub",
        "--mirror=ghcr.io=mirror.corp/ghcr",
        "--mirror",
        "registry.k8s.io=mirror.corp/k8s",
    ];
    let run = postrender(&lock, &mirrors, &input);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
    assert!(
        run.stderr.contains(
            "error[PR004]: Pod edge/listed, container \"c\": image \"localhost:5000/team/app:v1@"
        ),
        "{}",
        run.stderr
    );
    let all = [&mirrors[..], &["--mirror=localhost:5000=mirror.corp/local"]].concat();
    let run = postrender(&lock, &all, &input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for pinned in [
        format!("'mirror.corp/hub/library/busybox:1.36@{D1}'"),
        format!("\"mirror.corp/hub/library/nginx:1.27@{D2}\""),
        format!("value: mirror.corp/ghcr/dapr/daprd:1.17.3@{D1}"),
        format!("\"mirror.corp/k8s/pause:3.10@{D2}\""),
        format!("image: mirror.corp/local/team/app:v1@{D1}"),
    ] {
        assert!(run.stdout.contains(&pinned), "{pinned} in\n{}", run.stdout);
    }
    assert_eq!(
        postrender(&lock, &all, &run.stdout).stdout,
        run.stdout,
        "idempotent under mirrors"
    );
}

#[test]
fn bad_locks_and_bad_input_exit_2_with_a_location() {
    let dir = tempfile::tempdir().unwrap();
    let pod = "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx}]}\n";
    let bad = write(
        dir.path(),
        "bad.yaml",
        "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n  - image: nginx\n    digest: sha256:123\n",
    );
    let run = postrender(&bad, &[], pod);
    assert_eq!((run.code, run.stdout.as_str()), (2, ""));
    assert!(
        run.stderr.contains("bad.yaml:5:13: digest \"sha256:123\""),
        "{}",
        run.stderr
    );
    let twice = write(
        dir.path(),
        "twice.yaml",
        &format!("apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n- {{image: nginx, digest: {D1}}}\n- {{image: 'nginx:latest', digest: {D2}}}\n"),
    );
    let run = postrender(&twice, &[], pod);
    assert_eq!((run.code, run.stdout.as_str()), (2, ""));
    assert!(
        run.stderr
            .contains("twice.yaml:5:11: docker.io/library/nginx:latest is locked twice"),
        "{}",
        run.stderr
    );
    let missing = postrender(&dir.path().join("nope.yaml"), &[], pod);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("nope.yaml: no such file"),
        "{}",
        missing.stderr
    );

    let lock = edge_lock(dir.path());
    let broken = "kind: Pod\nspec:\n  containers: [{name: c, image: nginx\n";
    let run = postrender(&lock, &[], &format!("a: 1\n---\n{broken}"));
    assert_eq!((run.code, run.stdout.as_str()), (2, ""));
    assert!(run.stderr.contains("<stdin>:"), "{}", run.stderr);
    let run = postrender(&lock, &["--mirror", "nowhere"], pod);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn keeps_a_byte_order_mark() {
    let dir = tempfile::tempdir().unwrap();
    let lock = edge_lock(dir.path());
    let pod = "\u{feff}kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: busybox:1.36}]}\n";
    let run = postrender(&lock, &[], pod);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        pod.replace("busybox:1.36", &format!("busybox:1.36@{D1}"))
    );
}

#[test]
fn empty_and_image_free_input_passes_through() {
    let dir = tempfile::tempdir().unwrap();
    let lock = edge_lock(dir.path());
    for input in [
        "",
        "# only a comment\n",
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    ] {
        let run = postrender(&lock, &[], input);
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, input),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn reads_imgpkg_images_locks() {
    let dir = tempfile::tempdir().unwrap();
    let lock = write(
        dir.path(),
        "images.yml",
        &format!("apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\nimages:\n- image: index.docker.io/library/nginx@{D2}\n  annotations:\n    kbld.carvel.dev/id: nginx:1.27\n"),
    );
    let pod =
        "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: 'nginx:1.27'}]}\n";
    let run = postrender(&lock, &[], pod);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        pod.replace("nginx:1.27", &format!("nginx:1.27@{D2}"))
    );
}

#[test]
fn lock_from_manifest_lists_each_image_once_with_its_users() {
    let run = {
        let mut cmd = common::bin();
        cmd.args(["lock", "--from-manifest", "-"]);
        run_with_stdin(
            cmd,
            &std::fs::read_to_string(testdata("postrender/edge-cases.yaml")).unwrap(),
        )
    };
    assert_eq!(run.code, 0, "{}", run.stderr);
    let images: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- image: "))
        .collect();
    assert_eq!(
        images,
        [
            "busybox:1.36",
            "nginx:1.27",
            "ghcr.io/dapr/daprd:1.17.3",
            "registry.k8s.io/pause:3.10",
            "localhost:5000/team/app:v1"
        ]
    );
    assert!(run.stdout.contains("  # Deployment edge/web, container \"web\"\n  # Deployment edge/web, container \"twin\"\n"), "{}", run.stdout);
    // The skeleton is a lock once its digests are filled in.
    let dir = tempfile::tempdir().unwrap();
    let skeleton = write(dir.path(), "skeleton.yaml", &run.stdout);
    let unfilled = postrender(&skeleton, &[], "");
    assert_eq!(unfilled.code, 2, "an unfilled skeleton is refused");
    assert!(
        unfilled.stderr.contains(
            "skeleton.yaml:6:13: the digest of busybox:1.36 is empty: fill in the digest the release was tested with"
        ),
        "the error says what to do with a skeleton: {}",
        unfilled.stderr
    );
    let filled = write(
        dir.path(),
        "lock.yaml",
        &common::lock_for(&testdata("postrender/edge-cases.yaml")),
    );
    assert_eq!(postrender(&filled, &[], "").code, 0);
}

#[test]
fn catalyst_renders_get_their_product_checks() {
    let dir = tempfile::tempdir().unwrap();
    let render = testdata("postrender/catalyst-1.90.0.yaml");
    let lock_text = common::lock_for(&render);
    assert!(
        lock_text.contains("product: catalyst\nversion: 1.90.0\n"),
        "{lock_text}"
    );
    let lock = write(dir.path(), "lock.yaml", &lock_text);
    let input = std::fs::read_to_string(&render).unwrap();
    let run = postrender(&lock, &[], &input);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let old = write(
        dir.path(),
        "old.yaml",
        &lock_text.replace("version: 1.90.0", "version: 1.89.0"),
    );
    let run = postrender(&old, &[], &input);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
    assert!(
        run.stderr
            .contains("error[PR006]: the lock is for catalyst 1.89.0"),
        "{}",
        run.stderr
    );
}

// ---- The proof on real charts ----

/// Checks one render: output differs only inside image scalars, reparses to the same documents but for the
/// digests, every container image is pinned, and a second run changes nothing.
fn prove(path: &Path) {
    let name = path.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let lock = write(dir.path(), "lock.yaml", &common::lock_for(path));
    let input = std::fs::read_to_string(path).unwrap();
    let run = postrender(&lock, &["--allow-unlocked"], &input);
    assert_eq!(run.code, 0, "{name}: {}", run.stderr);
    assert!(
        !run.stderr.contains("PR001"),
        "{name}: every image is locked: {}",
        run.stderr
    );
    let output = run.stdout;
    only_image_scalars_changed(&name, &input, &output);
    same_documents_but_digests(&name, &input, &output);
    let again = postrender(&lock, &[], &output);
    assert!(
        again.stdout == output,
        "{name}: a second run changes nothing"
    );
}

/// Line by line: unchanged lines are identical; a changed line is `<key>: <q><ref><q><rest>` in both, with the
/// same key, quotes and rest, and the new reference is the old one (without digest) plus `@sha256:<hex>`.
fn only_image_scalars_changed(name: &str, input: &str, output: &str) {
    let before: Vec<&str> = input.split_inclusive('\n').collect();
    let after: Vec<&str> = output.split_inclusive('\n').collect();
    assert_eq!(before.len(), after.len(), "{name}: same number of lines");
    let mut changed = 0;
    for (i, (a, b)) in before.iter().zip(&after).enumerate() {
        if a == b {
            continue;
        }
        changed += 1;
        let (key_a, ref_a, rest_a) = split_scalar_line(a)
            .unwrap_or_else(|| panic!("{name}:{}: changed line is not `key: image`: {a:?}", i + 1));
        let (key_b, ref_b, rest_b) = split_scalar_line(b).unwrap();
        assert_eq!(
            (&key_a, &rest_a),
            (&key_b, &rest_b),
            "{name}:{}: only the scalar changes",
            i + 1
        );
        let unpinned = ref_a.split('@').next().unwrap();
        let digest = ref_b
            .strip_prefix(unpinned)
            .and_then(|r| r.strip_prefix("@sha256:"));
        assert!(
            digest.is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|c| c.is_ascii_hexdigit())),
            "{name}:{}: {ref_a} became {ref_b}",
            i + 1
        );
    }
    let already_pinned = input.matches("@sha256:").count();
    assert!(
        changed > 0 || already_pinned > 0,
        "{name}: some image was pinned"
    );
}

/// `  image: &a "x"  # c\n` → (`  image: &a "`, `x`, `"  # c\n`): key, anchor and opening quote; the reference;
/// the rest. The key names an image (`image`, `imageName`, `natsImage`, `SIDECAR_IMAGE`) or is an env `value`.
fn split_scalar_line(line: &str) -> Option<(String, String, String)> {
    let names_an_image = |colon: usize| {
        let word = line[..colon]
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .next()
            .unwrap_or_default();
        ["image", "Image", "IMAGE", "imageName", "value"]
            .iter()
            .any(|k| word.ends_with(k))
    };
    let colon = line
        .match_indices(": ")
        .map(|(i, _)| i)
        .find(|&i| names_an_image(i))?;
    let anchor = line[colon + 2..]
        .starts_with('&')
        .then(|| line[colon + 2..].find(' ').map(|i| i + 1))
        .flatten()
        .unwrap_or(0);
    let (key, value) = line.split_at(colon + 2 + anchor);
    let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'');
    let body = &value[quote.map_or(0, |_| 1)..];
    let end = body.find(|c: char| quote.map_or(c.is_whitespace(), |q| c == q))?;
    let key = format!("{key}{}", quote.map(String::from).unwrap_or_default());
    Some((key, body[..end].to_string(), body[end..].to_string()))
}

/// Parsed, the documents are the same once digests are taken off every string; every container image of the
/// output carries a digest (found by walking the parsed documents, independently of the post-renderer).
fn same_documents_but_digests(name: &str, input: &str, output: &str) {
    let a: Vec<Json> = yaml::parse(input)
        .expect("input parses")
        .iter()
        .map(|d| d.to_json())
        .collect();
    let b: Vec<Json> = yaml::parse(output)
        .expect("output parses")
        .iter()
        .map(|d| d.to_json())
        .collect();
    assert_eq!(a.len(), b.len(), "{name}: same number of documents");
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(
            undigested(x),
            undigested(y),
            "{name}: document {i} differs beyond digests"
        );
        if y["kind"] != "CustomResourceDefinition" {
            every_container_pinned(name, y);
        }
    }
}

fn undigested(v: &Json) -> Json {
    match v {
        Json::String(s) => Json::String(without_digests(s)),
        Json::Array(items) => Json::Array(items.iter().map(undigested).collect()),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), undigested(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The text with every `@sha256:<64 hex>` taken out (images pinned inside a ConfigMap's YAML document included).
fn without_digests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("@sha256:") {
        out.push_str(&rest[..at]);
        let hex = rest[at + 8..]
            .bytes()
            .take_while(u8::is_ascii_hexdigit)
            .count();
        rest = &rest[at + 8 + hex..];
    }
    out.push_str(rest);
    out
}

fn every_container_pinned(name: &str, v: &Json) {
    match v {
        Json::Object(map) => {
            for (key, value) in map {
                if matches!(
                    key.as_str(),
                    "containers" | "initContainers" | "ephemeralContainers"
                ) {
                    for c in value.as_array().into_iter().flatten() {
                        let image = c["image"].as_str().unwrap_or("@sha256:");
                        assert!(
                            image.contains("@sha256:"),
                            "{name}: container image {image} is not pinned"
                        );
                    }
                }
                every_container_pinned(name, value);
            }
        }
        Json::Array(items) => items.iter().for_each(|i| every_container_pinned(name, i)),
        _ => {}
    }
}

#[test]
fn proof_on_the_testdata_renders() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::root().join("testdata/postrender"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5);
    files.iter().for_each(|f| prove(f));
}

#[test]
#[ignore = "needs ../shared/corpus"]
fn proof_on_the_shared_corpus() {
    let shared = common::shared_corpus();
    let mut files = Vec::new();
    for dir in ["corpus/real-charts", "corpus/catalyst/rendered"] {
        for entry in std::fs::read_dir(shared.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 19, "the corpus has its renders: {files:?}");
    files.iter().for_each(|f| prove(f));
}

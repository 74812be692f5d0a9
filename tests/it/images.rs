//! Images wherever they sit (docs/images.md): operator fields (CloudNativePG `Cluster.spec.imageName`), images an
//! operator reads from a ConfigMap, Tekton and Argo Workflows specs, composite images in Catalyst's agent config,
//! values the scan is unsure about, and fields a user adds. The census at the end proves, over every rendered
//! manifest of testdata/ and ../shared/corpus, that every string under an image-like key is locked or classified.

use crate::common;
use common::testdata;
use common::Run;

use opsta_lint::image::ImageRef;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

fn run(args: &[&str], input: &str) -> Run {
    let mut cmd = common::bin();
    cmd.args(args);
    common::run_with_stdin(cmd, input)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The `- image:` entries of a lock skeleton.
fn skeleton_images(skeleton: &str) -> Vec<String> {
    let doc = &opsta_lint::yaml::parse(skeleton).expect("the skeleton is YAML")[0];
    doc.to_json()["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["image"].as_str().unwrap().to_string())
        .collect()
}

/// A lock (from `lock --from-manifest` with fake digests) without the entries whose image contains `leave_out`.
fn lock_without(manifest: &Path, leave_out: &str, dir: &Path) -> PathBuf {
    let full = common::lock_for(manifest);
    let mut kept = Vec::new();
    let mut lines = full.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("- image: ") && line.contains(leave_out) {
            lines.next();
            continue;
        }
        kept.push(line);
    }
    let path = dir.join("lock.yaml");
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    path
}

#[test]
fn cloudnative_pg_and_operator_configmap_images_are_locked_and_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = testdata("postrender/cnpg-cluster.yaml");
    let skeleton = run(&["lock", "--from-manifest", "-"], &read(&cluster));
    assert_eq!(skeleton.code, 0, "{}", skeleton.stderr);
    assert!(
        skeleton_images(&skeleton.stdout)
            .contains(&"ghcr.io/cloudnative-pg/postgresql:16".to_string()),
        "{}",
        skeleton.stdout
    );
    let lock = lock_without(&cluster, "postgresql", dir.path());
    let lock_arg = lock.to_str().unwrap();
    let failed = run(&["postrender", "--lock", lock_arg], &read(&cluster));
    assert_eq!((failed.code, failed.stdout.as_str()), (1, ""));
    assert!(
        failed.stderr.contains(
            "error[PR001]: Cluster db/pg-cluster, spec.imageName: image \"ghcr.io/cloudnative-pg/postgresql:16\""
        ),
        "{}",
        failed.stderr
    );

    let operator = testdata("postrender/operator-config.yaml");
    let skeleton = run(&["lock", "--from-manifest", "-"], &read(&operator));
    let images = skeleton_images(&skeleton.stdout);
    assert_eq!(
        images,
        [
            "ghcr.io/cloudnative-pg/plugin-barman-cloud-sidecar:v0.13.0",
            "ghcr.io/cloudnative-pg/plugin-barman-cloud:v0.13.0",
            "postgres"
        ],
        "a bare name in a known field is an image as the runtime reads it"
    );
    let lock = lock_without(&operator, "sidecar", dir.path());
    let failed = run(
        &["postrender", "--lock", lock.to_str().unwrap()],
        &read(&operator),
    );
    assert_eq!((failed.code, failed.stdout.as_str()), (1, ""));
    assert!(
        failed.stderr.contains(
            "error[PR001]: ConfigMap cnpg-system/pg-backup-config, data.SIDECAR_IMAGE: image \"ghcr.io/cloudnative-pg/plugin-barman-cloud-sidecar:v0.13.0\""
        ),
        "{}",
        failed.stderr
    );
    let full = dir.path().join("full.yaml");
    std::fs::write(&full, common::lock_for(&operator)).unwrap();
    let pinned = run(
        &["postrender", "--lock", full.to_str().unwrap()],
        &read(&operator),
    );
    assert_eq!(pinned.code, 0, "{}", pinned.stderr);
    assert!(
        pinned.stdout.contains(
            "  SIDECAR_IMAGE: \"ghcr.io/cloudnative-pg/plugin-barman-cloud-sidecar:v0.13.0@sha256:"
        ) && pinned.stdout.contains("  imageName: postgres@sha256:"),
        "{}",
        pinned.stdout
    );
}

#[test]
fn the_shared_barman_and_cnpg_renders_lock_their_operator_images_needs_shared() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let charts = shared.join("corpus/real-charts");
    for (file, image, used_by) in [
        (
            "cnpg-cluster.yaml",
            "ghcr.io/cloudnative-pg/postgresql:16",
            "Cluster db/pg-cluster, spec.imageName",
        ),
        (
            "cnpg.yaml",
            "ghcr.io/cloudnative-pg/postgresql:16",
            "Cluster cnpg-system/cnpg-cluster, spec.imageName",
        ),
        (
            "barman.yaml",
            "ghcr.io/cloudnative-pg/plugin-barman-cloud-sidecar:v0.13.0",
            "ConfigMap cnpg-system/plugin-barman-cloud-config, data.SIDECAR_IMAGE",
        ),
    ] {
        let path = charts.join(file);
        let out = run(&["lock", "--from-manifest", path.to_str().unwrap()], "");
        assert_eq!(out.code, 0, "{file}: {}", out.stderr);
        assert!(
            skeleton_images(&out.stdout).contains(&image.to_string()),
            "{file}: {image} in\n{}",
            out.stdout
        );
        let dir = tempfile::tempdir().unwrap();
        let name = image.split(':').next().unwrap();
        let lock = lock_without(&path, &format!("{name}:"), dir.path());
        let failed = run(
            &[
                "postrender",
                "--lock",
                lock.to_str().unwrap(),
                "--input",
                path.to_str().unwrap(),
            ],
            "",
        );
        assert_eq!((failed.code, failed.stdout.as_str()), (1, ""), "{file}");
        let named = format!("error[PR001]: {used_by}: image \"{image}\" is not in the lock");
        assert!(
            failed.stderr.contains(&named),
            "{file}: {named} in\n{}",
            failed.stderr
        );
    }
}

#[test]
fn tekton_and_argo_workflow_images_are_pinned_by_their_known_fields() {
    let dir = tempfile::tempdir().unwrap();
    for (file, expected) in [
        (
            "tekton.yaml",
            &[
                "docker.io/library/alpine:3.20",
                "gcr.io/tekton-releases/github.com/tektoncd/pipeline/cmd/git-init:v0.40.2",
                "golang:1.22",
                "ghcr.io/golangci/golangci-lint:v1.59.1",
                "docker.io/library/docker:27-dind",
                "aquasec/trivy:0.50.1",
                "registry:2",
                "curlimages/curl:8.7.1",
            ][..],
        ),
        (
            "argo-workflows-templates.yaml",
            &[
                "bitnami/kubectl:1.30",
                "python:3.12-slim",
                "ghcr.io/example/etl-helper:2.1.0",
                "envoyproxy/envoy:v1.30.1",
                "postgres:16-alpine",
                "alpine:3.20",
            ][..],
        ),
    ] {
        let input = read(&testdata(&format!("postrender/{file}")));
        let skeleton = run(&["lock", "--from-manifest", "-"], &input);
        assert_eq!(skeleton.code, 0, "{file}: {}", skeleton.stderr);
        assert_eq!(skeleton_images(&skeleton.stdout), expected, "{file}");
        let lock = dir.path().join(format!("{file}.lock"));
        std::fs::write(
            &lock,
            common::lock_for(&testdata(&format!("postrender/{file}"))),
        )
        .unwrap();
        let out = run(&["postrender", "--lock", lock.to_str().unwrap()], &input);
        assert_eq!(out.code, 0, "{file}: {}", out.stderr);
        assert_eq!(
            out.stdout.matches("@sha256:").count(),
            expected.len(),
            "{file}: every image pinned once:\n{}",
            out.stdout
        );
    }
    let unlocked = run(
        &[
            "postrender",
            "--lock",
            dir.path().join("tekton.yaml.lock").to_str().unwrap(),
        ],
        &read(&testdata("postrender/tekton.yaml")).replace("golang:1.22", "golang:1.23"),
    );
    assert_eq!((unlocked.code, unlocked.stdout.as_str()), (1, ""));
    assert!(
        unlocked
            .stderr
            .contains("Task ci/build-and-test, spec.steps[1].image: image \"golang:1.23\""),
        "{}",
        unlocked.stderr
    );
}

const AGENT: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: agent-config
data:
  config.yaml: |
    sidecar:
      image_name: 'agent'
      image_registry: reg.example/pub
      image_tag: 1.90.0
    db:
      image: {repository: reg.example/pub/db, tag: '16', digest: \"\"}
";

fn agent_lock(dir: &Path, entries: &[(&str, usize)]) -> String {
    let images: String = entries
        .iter()
        .map(|(image, n)| {
            format!(
                "  - image: {image}\n    digest: {}\n",
                common::fake_digest(*n)
            )
        })
        .collect();
    let path = dir.join("agent-lock.yaml");
    std::fs::write(
        &path,
        format!("apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n{images}"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn composite_images_are_locked_by_their_composed_reference() {
    let dir = tempfile::tempdir().unwrap();
    let lock = agent_lock(dir.path(), &[("reg.example/pub/db:16", 2)]);
    let out = run(&["postrender", "--lock", &lock], AGENT);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert!(
        out.stderr.contains(
            "<stdin>:8:19: error[PR001]: ConfigMap agent-config, data.config.yaml.sidecar (image_registry, image_name, image_tag): image \"reg.example/pub/agent:1.90.0\""
        ),
        "{}",
        out.stderr
    );
    let lock = agent_lock(
        dir.path(),
        &[
            ("reg.example/pub/db:16", 2),
            ("reg.example/pub/agent:1.90.0", 1),
        ],
    );
    let out = run(&["postrender", "--lock", &lock], AGENT);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let digest = common::fake_digest(2);
    assert_eq!(
        out.stdout,
        AGENT.replace("digest: \"\"", &format!("digest: \"{digest}\"")),
        "the digest key is pinned in place, inside the ConfigMap's document; nothing else changes"
    );
    assert!(
        out.stderr.contains("warning[PR010]")
            && out.stderr.contains("reg.example/pub/agent:1.90.0")
            && out.stderr.contains(&common::fake_digest(1)),
        "an image without a digest key is reported for verify: {}",
        out.stderr
    );
    let again = run(&["postrender", "--lock", &lock], &out.stdout);
    assert_eq!(again.stdout, out.stdout, "a second run changes nothing");
    let mirrored = run(
        &[
            "postrender",
            "--lock",
            &lock,
            "--mirror",
            "reg.example=mirror.corp",
        ],
        AGENT,
    );
    assert_eq!((mirrored.code, mirrored.stdout.as_str()), (1, ""));
    assert!(
        mirrored.stderr.contains("error[PR004]")
            && mirrored
                .stderr
                .contains("point its registry key at the mirror"),
        "{}",
        mirrored.stderr
    );
}

/// Argo Events' controller reads the images it starts from its ConfigMap: the same exporter image there (a YAML
/// document beginning with a blank line, and a JSON one) as in a container.
const EVENTS: &str = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: events-controller, namespace: argo-events}
data:
  controller-config.yaml: |

    eventBus:
      nats:
        versions:
        - version: 0.22.1
          metricsExporterImage: natsio/prometheus-nats-exporter:0.8.0
      jetstream:
        versions: [{version: 2.10.10, reloaderImage: 'natsio/nats-server-config-reloader:0.14.0'}]
  exporter.json: |
    {\"exporterImage\": \"natsio/prometheus-nats-exporter:0.8.0\"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: exporter, namespace: argo-events}
spec:
  template:
    spec:
      containers:
      - name: exporter
        image: natsio/prometheus-nats-exporter:0.8.0
";

#[test]
fn images_in_a_configmap_document_are_pinned_and_mirrored_like_a_containers_image() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = "natsio/prometheus-nats-exporter:0.8.0";
    let reloader = "natsio/nats-server-config-reloader:0.14.0";
    let lock = agent_lock(dir.path(), &[(exporter, 1), (reloader, 2)]);
    let (d1, d2) = (common::fake_digest(1), common::fake_digest(2));
    let mirror = ["--mirror", "docker.io=mirror.corp/hub"];
    let out = run(
        &[&["postrender", "--lock", &lock][..], &mirror].concat(),
        EVENTS,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = EVENTS
        .replace(exporter, &format!("mirror.corp/hub/{exporter}@{d1}"))
        .replace(reloader, &format!("mirror.corp/hub/{reloader}@{d2}"));
    assert_eq!(
        out.stdout, expected,
        "each image becomes the reference a container's image becomes, in its quoting; nothing else changes"
    );
    let again = run(
        &[&["postrender", "--lock", &lock][..], &mirror].concat(),
        &out.stdout,
    );
    assert_eq!(
        (again.code, again.stdout),
        (0, expected),
        "{}",
        again.stderr
    );
    let pinned = run(&["postrender", "--lock", &lock], EVENTS);
    assert_eq!(pinned.code, 0, "{}", pinned.stderr);
    assert_eq!(
        pinned.stdout,
        EVENTS
            .replace(exporter, &format!("{exporter}@{d1}"))
            .replace(reloader, &format!("{reloader}@{d2}")),
        "without a mirror, only the digests are added"
    );

    let unlocked = agent_lock(dir.path(), &[(exporter, 1)]);
    let out = run(&["postrender", "--lock", &unlocked], EVENTS);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert!(
        out.stderr.contains(
            "<stdin>:13:54: error[PR001]: ConfigMap argo-events/events-controller, data.controller-config.yaml.eventBus.jetstream.versions[0].reloaderImage: image \"natsio/nats-server-config-reloader:0.14.0\""
        ),
        "{}",
        out.stderr
    );

    let quoted = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  config.yaml: \"exporterImage: natsio/prometheus-nats-exporter:0.8.0\\n\"\n";
    let out = run(
        &[&["postrender", "--lock", &lock][..], &mirror].concat(),
        quoted,
    );
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert!(
        out.stderr
            .contains("<stdin>:5:16: error[PR004]: ConfigMap c, data.config.yaml.exporterImage")
            && out
                .stderr
                .contains("would move under a mirror, but it is not written as one reference"),
        "a quoted string cannot be rewritten in place, so an image in it cannot move: {}",
        out.stderr
    );
}

const RUNNER: &str = "\
apiVersion: ci.example.com/v1
kind: Runner
metadata: {name: r1, namespace: ci}
spec:
  runner:
    image: alpine:3.20
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ci}
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1.27
        args: [--helper, ghcr.io/example/helper:1.0]
";

#[test]
fn unsure_values_are_warnings_and_strict_makes_them_errors() {
    let dir = tempfile::tempdir().unwrap();
    let lock = agent_lock(dir.path(), &[("nginx:1.27", 1)]);
    let out = run(&["postrender", "--lock", &lock], RUNNER);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "<stdin>:6:12: warning[PR008]: Runner ci/r1, spec.runner.image: \"alpine:3.20\" is under a key that names an image but is not reference-shaped"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "<stdin>:17:26: warning[PR009]: Deployment ci/web, spec.template.spec.containers[0].args[1]: \"ghcr.io/example/helper:1.0\" reads as an image reference"
        ),
        "{}",
        out.stderr
    );
    let strict = run(&["postrender", "--lock", &lock, "--strict"], RUNNER);
    assert_eq!((strict.code, strict.stdout.as_str()), (1, ""));
    assert!(
        strict.stderr.contains("error[PR008]") && strict.stderr.contains("error[PR009]"),
        "{}",
        strict.stderr
    );
    let lock_strict = run(&["lock", "--from-manifest", "-", "--strict"], RUNNER);
    assert_eq!((lock_strict.code, lock_strict.stdout.as_str()), (1, ""));
    assert!(
        lock_strict.stderr.contains("error[PR008]"),
        "{}",
        lock_strict.stderr
    );
    let lock_plain = run(&["lock", "--from-manifest", "-"], RUNNER);
    assert_eq!(lock_plain.code, 0);
    assert!(
        lock_plain.stderr.contains("warning[PR008]"),
        "{}",
        lock_plain.stderr
    );
}

#[test]
fn fields_from_the_flag_and_the_lock_make_a_value_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let skeleton = run(
        &[
            "lock",
            "--from-manifest",
            "-",
            "--image-field",
            "Runner:spec.runner.image",
            "--strict",
        ],
        &RUNNER.replace(
            "args: [--helper, ghcr.io/example/helper:1.0]",
            "args: [--serve]",
        ),
    );
    assert_eq!(skeleton.code, 0, "{}", skeleton.stderr);
    assert_eq!(
        skeleton_images(&skeleton.stdout),
        ["alpine:3.20", "nginx:1.27"]
    );
    assert!(
        skeleton
            .stdout
            .ends_with("fields:\n  - kind: Runner\n    path: spec.runner.image\n"),
        "{}",
        skeleton.stdout
    );
    let mut n = 0;
    let filled: String = skeleton
        .stdout
        .lines()
        .map(|l| {
            if l.trim() == "digest: \"\"" {
                n += 1;
                format!("    digest: {}\n", common::fake_digest(n))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let lock = dir.path().join("lock.yaml");
    std::fs::write(&lock, &filled).unwrap();
    let lock_arg = lock.to_str().unwrap();
    let input = RUNNER.replace(
        "args: [--helper, ghcr.io/example/helper:1.0]",
        "args: [--serve]",
    );
    let out = run(&["postrender", "--lock", lock_arg, "--strict"], &input);
    assert_eq!(
        out.code, 0,
        "the lock's fields make the runner image known: {}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains(&format!("image: alpine:3.20@{}", common::fake_digest(1))),
        "{}",
        out.stdout
    );

    let without_fields = dir.path().join("plain.yaml");
    std::fs::write(&without_fields, filled.split("fields:").next().unwrap()).unwrap();
    let plain = without_fields.to_str().unwrap();
    let out = run(&["postrender", "--lock", plain, "--strict"], &input);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{}", out.stderr);
    let flag = run(
        &[
            "postrender",
            "--lock",
            plain,
            "--strict",
            "--image-field",
            "Runner:spec.runner.image",
        ],
        &input,
    );
    assert_eq!(
        flag.code, 0,
        "the flag does what the lock's fields do: {}",
        flag.stderr
    );

    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        filled.replace("path: spec.runner.image", "path: spec..image"),
    )
    .unwrap();
    let out = run(&["postrender", "--lock", bad.to_str().unwrap()], &input);
    assert_eq!((out.code, out.stdout.as_str()), (2, ""));
    assert!(
        out.stderr.contains("bad.yaml:") && out.stderr.contains("empty step"),
        "{}",
        out.stderr
    );
    let out = run(
        &["postrender", "--lock", plain, "--image-field", "Runner:"],
        &input,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
}

// ---- The census ----

/// One string under an image-like key: where, and what.
#[derive(Debug)]
struct Found {
    file: String,
    place: String,
    key: String,
    value: String,
}

/// Why a value that is not in the lock skeleton is still accounted for. Each reason is checked against what
/// opsta-lint reports, not only named.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reason {
    /// An empty string: unset, the program's own default applies.
    Empty,
    /// Not reference-shaped outside a known field: `lock` warns PR008 naming it.
    Unsure,
    /// The repository part of a composite image: the skeleton holds `<registry>/<value>:<tag>`.
    CompositePart,
    /// Inside a ConfigMap value named as a script (`run.sh`), which is not read as a YAML document.
    Script,
}

/// The expectations: (key, value) of every string under an image-like key that is not itself in the skeleton,
/// with the reason. A value met that is neither locked nor listed here fails the census.
const CLASSIFIED: &[(&str, &str, Reason)] = &[
    (
        "natsStreamingImage",
        "nats-streaming:latest",
        Reason::Unsure,
    ),
    (
        "natsStreamingImage",
        "nats-streaming:0.22.1",
        Reason::Unsure,
    ),
    ("natsImage", "nats:2.10.10", Reason::Unsure),
    ("natsImage", "nats:2.8.1", Reason::Unsure),
    ("natsImage", "nats:2.8.1-alpine", Reason::Unsure),
    ("natsImage", "nats:2.8.2", Reason::Unsure),
    ("natsImage", "nats:2.8.2-alpine", Reason::Unsure),
    ("natsImage", "nats:2.9.1", Reason::Unsure),
    ("natsImage", "nats:2.9.12", Reason::Unsure),
    ("natsImage", "nats:2.9.16", Reason::Unsure),
    ("image_name", "catalyst-all", Reason::CompositePart),
    ("image_name", "catalyst", Reason::CompositePart),
    ("image", "inside-a-block-scalar:1", Reason::Script),
];

/// The census's own idea of an image-like key (written apart from opsta-lint's, from the issue's wording).
fn image_like(key: &str) -> bool {
    let lower = key.to_ascii_lowercase().replace(['_', '-'], "");
    let base = lower.strip_suffix("name").unwrap_or(&lower);
    base.ends_with("image")
}

fn census_of(file: &Path, found: &mut Vec<Found>) {
    let text = read(file);
    let docs = opsta_lint::yaml::parse(&text).expect("a render parses");
    for doc in docs {
        let json = doc.to_json();
        if json["kind"] == "CustomResourceDefinition" {
            continue;
        }
        let file = file.display().to_string();
        walk(&json, "", &file, found);
        if json["kind"] == "ConfigMap" {
            for (key, value) in json["data"].as_object().into_iter().flatten() {
                let Some(text) = value.as_str().filter(|t| t.contains('\n')) else {
                    continue;
                };
                let Ok(inner) = opsta_lint::yaml::parse(text) else {
                    continue;
                };
                for node in inner {
                    walk(&node.to_json(), &format!("data.{key}"), &file, found);
                }
            }
        }
    }
}

fn walk(value: &Json, place: &str, file: &str, found: &mut Vec<Found>) {
    match value {
        Json::Object(map) => {
            if let (Some(Json::String(name)), Some(Json::String(v))) =
                (map.get("name"), map.get("value"))
            {
                if image_like(name) {
                    found.push(Found {
                        file: file.into(),
                        place: place.into(),
                        key: name.clone(),
                        value: v.clone(),
                    });
                }
            }
            for (key, v) in map {
                let here = format!("{place}.{key}");
                match v {
                    Json::String(s) if image_like(key) => found.push(Found {
                        file: file.into(),
                        place: here,
                        key: key.clone(),
                        value: s.clone(),
                    }),
                    _ => walk(v, &here, file, found),
                }
            }
        }
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{place}[{i}]"), file, found);
            }
        }
        _ => {}
    }
}

/// Runs the census over `files`: every value is in the skeleton of its file or classified, and each
/// classification holds.
fn census(files: &[PathBuf]) {
    let mut unaccounted = Vec::new();
    let mut counted = 0;
    for file in files {
        let out = run(&["lock", "--from-manifest", file.to_str().unwrap()], "");
        assert_eq!(out.code, 0, "{}: {}", file.display(), out.stderr);
        let locked: Vec<ImageRef> = skeleton_images(&out.stdout)
            .iter()
            .map(|i| ImageRef::parse(i).unwrap())
            .collect();
        let mut found = Vec::new();
        census_of(file, &mut found);
        for f in found {
            counted += 1;
            let in_lock = ImageRef::parse(&f.value)
                .is_ok_and(|i| locked.iter().any(|l| l.name_and_tag() == i.name_and_tag()));
            if in_lock {
                continue;
            }
            let reason = if f.value.is_empty() {
                Some(Reason::Empty)
            } else {
                CLASSIFIED
                    .iter()
                    .find(|(k, v, _)| *k == f.key && *v == f.value)
                    .map(|(_, _, r)| *r)
            };
            let holds = match reason {
                None => false,
                Some(Reason::Empty) => true,
                Some(Reason::Unsure) => out.stderr.lines().any(|l| {
                    l.contains("warning[PR008]: ")
                        && l.contains(&format!("{}: \"{}\"", f.key, f.value))
                }),
                Some(Reason::Script) => f.place.contains(".sh."),
                Some(Reason::CompositePart) => locked
                    .iter()
                    .any(|l| l.repository.ends_with(&format!("/{}", f.value)) && l.tag.is_some()),
            };
            if !holds {
                unaccounted.push(format!(
                    "{}: {} = {:?} ({reason:?})",
                    f.file, f.place, f.value
                ));
            }
        }
    }
    assert!(counted > 0, "the census found values to account for");
    assert!(
        unaccounted.is_empty(),
        "values under image-like keys neither locked nor classified (or whose classification does not hold):\n{}",
        unaccounted.join("\n")
    );
}

#[test]
fn census_of_image_values_in_testdata() {
    let mut files = common::files_ending(&common::root().join("testdata/postrender"), "yaml");
    files.extend(common::files_ending(
        &common::root().join("testdata/diff"),
        "yaml",
    ));
    assert!(files.len() >= 12, "{files:?}");
    census(&files);
}

#[test]
fn census_of_image_values_in_the_shared_corpus_needs_shared() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let mut files = common::files_ending(&shared.join("corpus/real-charts"), "yaml");
    files.extend(common::files_ending(
        &shared.join("corpus/catalyst/rendered"),
        "yaml",
    ));
    assert!(files.len() >= 19, "{files:?}");
    census(&files);
}

/// Every ```sh block of docs/images.md, run with bash from the repository root with this build's opsta-lint first
/// on PATH: it exits 0, or the code its `# exit: N` first line says.
#[test]
fn the_commands_of_docs_images_md_run_as_written() {
    let doc = read(&common::root().join("docs/images.md"));
    let path = common::path_with_bin();
    let blocks = common::sh_blocks(&doc);
    assert!(blocks.len() >= 4, "{blocks:?}");
    for block in blocks {
        let expected: i32 = block
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# exit: "))
            .map_or(0, |n| n.trim().parse().unwrap());
        let out = std::process::Command::new("bash")
            .args(["-c", block])
            .current_dir(common::root())
            .env("PATH", &path)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(expected),
            "{block}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

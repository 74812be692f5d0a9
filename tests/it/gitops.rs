//! GitOps (docs/gitops.md): Flux's postRenderers written by `opsta-lint lock flux` applied with the real kustomize
//! (`kubectl kustomize`, the kustomize API helm-controller uses) give every image what `opsta-lint postrender`
//! gives; `lock flux --check` fails on an image they do not pin; the Argo CD plugin's generate command
//! (gitops/argocd/plugin.yaml) runs the real Helm in a checkout laid out as Argo CD lays it out.

use crate::common;

use opsta_lint::yaml;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(mut cmd: Command) -> Run {
    let out = cmd.output().expect("runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn opsta(args: &[&str], paths: &[&Path]) -> Run {
    let mut cmd = common::bin();
    cmd.args(args);
    for path in paths {
        cmd.arg(path);
    }
    run(cmd)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `opsta-lint lock flux --from-manifest RENDER --lock LOCK [extra]`.
fn lock_flux(render: &Path, lock: &Path, extra: &[&str]) -> Run {
    let mut cmd = common::bin();
    cmd.args(["lock", "flux", "--from-manifest"]).arg(render);
    cmd.arg("--lock").arg(lock).args(extra);
    run(cmd)
}

/// `opsta-lint postrender --lock LOCK --input RENDER [extra]`.
fn postrender(render: &Path, lock: &Path, extra: &[&str]) -> Run {
    let mut cmd = common::bin();
    cmd.args(["postrender", "--lock"]).arg(lock);
    cmd.arg("--input").arg(render).args(extra);
    run(cmd)
}

fn documents(text: &str) -> Vec<Json> {
    yaml::parse(text)
        .expect("parses")
        .iter()
        .map(|d| d.to_json())
        .filter(|d| !d.is_null())
        .collect()
}

/// The value without null mapping entries (kustomize drops them; they mean nothing to Kubernetes).
fn without_nulls(v: Json) -> Json {
    match v {
        Json::Object(map) => Json::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Objects by apiVersion, kind, namespace and name.
fn by_id(docs: Vec<Json>) -> BTreeMap<String, Json> {
    let mut out = BTreeMap::new();
    // kustomize puts a List's items in its place.
    let flat = docs
        .into_iter()
        .flat_map(|doc| match doc["items"].as_array() {
            Some(items) if doc["kind"] == "List" => items.clone(),
            _ => vec![doc],
        });
    for doc in flat.map(without_nulls) {
        let meta = &doc["metadata"];
        let id = format!(
            "{} {} {} {}",
            doc["apiVersion"], doc["kind"], meta["namespace"], meta["name"]
        );
        assert!(out.insert(id.clone(), doc).is_none(), "{id} twice");
    }
    out
}

/// The render with `lock flux`'s postRenderers applied as helm-controller applies them: a kustomization holding
/// the render as its one resource and the `kustomize` fields of the post-renderer, built by the real kustomize.
fn kustomize(dir: &Path, render: &Path, post_renderers: &str) -> Vec<Json> {
    let work = dir.join("kustomize");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::copy(render, work.join("render.yaml")).unwrap();
    let fragment = &documents(post_renderers)[0];
    let mut kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["render.yaml"],
    });
    for (key, value) in fragment["postRenderers"][0]["kustomize"]
        .as_object()
        .unwrap()
    {
        kustomization[key] = value.clone();
    }
    write(&work, "kustomization.yaml", &kustomization.to_string());
    let mut cmd = Command::new(common::tool("kubectl"));
    cmd.arg("kustomize").arg(&work);
    let out = run(cmd);
    assert_eq!(out.code, 0, "kubectl kustomize: {}", out.stderr);
    documents(&out.stdout)
}

/// Every string of a value with its JSON pointer, sorted.
fn strings(v: &Json, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Json::Object(map) => map.iter().for_each(|(k, v)| {
            strings(
                v,
                &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            )
        }),
        Json::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| strings(v, &format!("{at}/{i}"), out)),
        Json::String(s) => out.push((at.to_string(), s.clone())),
        _ => {}
    }
    out.sort();
}

/// Every container image of the objects, by object and place, for the failure message.
fn container_images(docs: &BTreeMap<String, Json>) -> Vec<String> {
    fn walk(v: &Json, at: &str, out: &mut Vec<String>) {
        match v {
            Json::Object(map) => map
                .iter()
                .for_each(|(k, v)| walk(v, &format!("{at}/{k}"), out)),
            Json::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, v)| walk(v, &format!("{at}/{i}"), out)),
            Json::String(s) if at.ends_with("/image") => out.push(format!("{at}={s}")),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (id, doc) in docs {
        walk(doc, id, &mut out);
    }
    out
}

/// The core proof on one render: kustomize with `lock flux`'s output gives the same objects as postrender.
fn same_as_postrender(render: &Path, lock: &Path, extra: &[&str]) -> String {
    let name = render.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let flux = lock_flux(render, lock, extra);
    assert_eq!(flux.code, 0, "{name}: {}", flux.stderr);
    let pinned = postrender(render, lock, extra);
    assert_eq!(pinned.code, 0, "{name}: {}", pinned.stderr);
    let expected = by_id(documents(&pinned.stdout));
    let got = by_id(kustomize(dir.path(), render, &flux.stdout));
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "{name}"
    );
    for (id, object) in &expected {
        let (mut want, mut have) = (Vec::new(), Vec::new());
        strings(object, "", &mut want);
        strings(&got[id], "", &mut have);
        // Strings only: kustomize reads YAML 1.1 (`on` is a boolean to it), which is no image's business.
        want.retain(|(p, _)| have.iter().any(|(q, _)| q == p) || got[id].pointer(p).is_none());
        have.retain(|(p, _)| want.iter().any(|(q, _)| q == p) || object.pointer(p).is_none());
        assert_eq!(want, have, "{name}: {id} differs after kustomize");
    }
    let images = container_images(&got);
    assert!(
        images.iter().all(|i| i.contains("@sha256:")),
        "{name}: {images:#?}"
    );
    flux.stdout
}

fn lock_of(dir: &Path, render: &Path) -> PathBuf {
    write(dir, "lock.yaml", &common::lock_for(render))
}

#[test]
fn flux_post_renderers_pin_like_postrender_under_the_real_kustomize() {
    let mut renders: Vec<PathBuf> = std::fs::read_dir(common::root().join("testdata/postrender"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    // The CloudNativePG operator's render without its 1.2 MB of CRDs (../shared/corpus/real-charts/cnpg.yaml).
    renders.push(common::root().join("testdata/gitops/cnpg.yaml"));
    renders.sort();
    let names: Vec<String> = renders
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"catalyst-1.90.0.yaml".into()) && names.contains(&"cnpg.yaml".into()),
        "{names:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    for render in &renders {
        let lock = lock_of(dir.path(), render);
        if render.ends_with("argo-events.yaml") {
            // Its images sit inside a ConfigMap's config file: refused (flux_refuses_... covers it).
            assert_eq!(lock_flux(render, &lock, &[]).code, 1);
            continue;
        }
        same_as_postrender(render, &lock, &[]);
    }
}

#[test]
#[ignore = "needs ../shared/corpus"]
fn flux_post_renderers_pin_like_postrender_on_the_shared_corpus() {
    let shared = common::shared_corpus();
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for folder in ["corpus/real-charts", "corpus/catalyst/rendered"] {
        for entry in std::fs::read_dir(shared.join(folder)).unwrap() {
            let render = entry.unwrap().path();
            if render.extension().is_none_or(|e| e != "yaml") {
                continue;
            }
            let lock = lock_of(dir.path(), &render);
            let flux = lock_flux(&render, &lock, &[]);
            if flux.code == 1 && flux.stderr.contains("error[PR020]") {
                continue;
            }
            same_as_postrender(&render, &lock, &[]);
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked} renders checked");
}

const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const C: &str = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
const E: &str = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
const D: &str = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

fn deployment(name: &str, image: &str, env_image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: app\nspec:\n  template:\n    spec:\n      \
         containers:\n        - name: main\n          image: {image}\n          env:\n            - name: SIDECAR_IMAGE\n              \
         value: {env_image}\n"
    )
}

/// Two tags of one repository, a custom resource's image, an env value and a mirror: what kustomize's `images`
/// cannot say goes to precise patches, and the result is still postrender's.
fn mixed_render(dir: &Path) -> (PathBuf, PathBuf) {
    let render = [
        deployment("old", "nginx:1.27", "ghcr.io/dapr/daprd:1.17.3"),
        deployment("new", "nginx:1.28", "ghcr.io/dapr/daprd:1.17.3"),
        deployment("one", "ghcr.io/dapr/daprd:1.17.3", "ghcr.io/dapr/daprd:1.17.3"),
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: pg\n  namespace: db\nspec:\n  \
         imageName: ghcr.io/cloudnative-pg/postgresql:16\n  instances: 1\n"
            .to_string(),
    ]
    .join("---\n");
    let lock = format!(
        "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n- {{image: nginx:1.27, digest: {A}}}\n\
         - {{image: nginx:1.28, digest: {B}}}\n- {{image: ghcr.io/dapr/daprd:1.17.3, digest: {C}}}\n\
         - {{image: ghcr.io/cloudnative-pg/postgresql:16, digest: {E}}}\n"
    );
    (
        write(dir, "render.yaml", &render),
        write(dir, "lock.yaml", &lock),
    )
}

#[test]
fn two_tags_custom_resources_env_values_and_mirrors_go_to_precise_patches() {
    let dir = tempfile::tempdir().unwrap();
    let (render, lock) = mixed_render(dir.path());
    let out = same_as_postrender(&render, &lock, &[]);
    let fragment = &documents(&out)[0]["postRenderers"][0]["kustomize"];
    let names: Vec<&str> = fragment["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ghcr.io/dapr/daprd"], "{out}");
    let targets: Vec<String> = fragment["patches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{} {}", p["target"]["kind"], p["target"]["name"]))
        .collect();
    assert_eq!(
        targets,
        [
            r#""Deployment" "old""#,
            r#""Deployment" "new""#,
            r#""Deployment" "one""#,
            r#""Cluster" "pg""#
        ],
        "{out}"
    );
    assert!(out.contains("group: postgresql.cnpg.io") && out.contains("namespace: db"));
    let mirrored = same_as_postrender(
        &render,
        &lock,
        &[
            "--mirror",
            "docker.io=registry.corp/hub",
            "--mirror",
            "ghcr.io=registry.corp/ghcr",
        ],
    );
    assert!(
        mirrored.contains("newName: \"registry.corp/ghcr/dapr/daprd\""),
        "{mirrored}"
    );
}

#[test]
fn flux_refuses_text_in_a_config_map_and_images_it_cannot_target() {
    let dir = tempfile::tempdir().unwrap();
    let lock = write(
        dir.path(),
        "lock.yaml",
        &format!("apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n- {{image: ghcr.io/x/agent:1, digest: {A}}}\n"),
    );
    let config =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: agent\ndata:\n  config.yaml: |\n    \
                  join_token: s3cr3t-join-token\n    image: ghcr.io/x/agent:1\n";
    let render = write(dir.path(), "config.yaml", config);
    assert_eq!(
        postrender(&render, &lock, &[]).code,
        0,
        "postrender pins it"
    );
    let out = lock_flux(&render, &lock, &[]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "{}: error[PR020]: ConfigMap agent, /data/config.yaml",
            render.display()
        )) && !out.stderr.contains("s3cr3t"),
        "{}",
        out.stderr
    );
    let cluster = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: pg\nspec:\n  imageName: ghcr.io/x/agent:1\n";
    let render = write(
        dir.path(),
        "twice.yaml",
        &format!("{cluster}---\n{cluster}"),
    );
    let out = lock_flux(&render, &lock, &[]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "{}: error[PR021]: Cluster pg is in the render 2 times",
            render.display()
        )),
        "{}",
        out.stderr
    );
    let unlocked = write(
        dir.path(),
        "unlocked.yaml",
        &deployment("web", "ghcr.io/x/other:2", "\"\""),
    );
    let out = lock_flux(&unlocked, &lock, &[]);
    assert_eq!((out.code, out.stdout.as_str()), (1, ""));
    assert!(out.stderr.contains("error[PR001]"), "{}", out.stderr);
}

/// The HelmRelease a team commits: `lock flux`'s output under its spec.
fn helm_release(post_renderers: &str) -> String {
    let indented: String = post_renderers
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("  {l}\n"))
        .collect();
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: app\nspec:\n  \
         interval: 10m\n  chart:\n    spec:\n      chart: app\n{indented}"
    )
}

#[test]
fn flux_check_fails_on_an_image_the_post_renderers_do_not_pin() {
    let dir = tempfile::tempdir().unwrap();
    let (render, lock) = mixed_render(dir.path());
    let out = lock_flux(&render, &lock, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let release = write(dir.path(), "helmrelease.yaml", &helm_release(&out.stdout));
    let check = |render: &Path, lock: Option<&Path>| {
        let mut cmd = common::bin();
        cmd.args(["lock", "flux", "--check"]).arg(&release);
        cmd.arg("--from-manifest").arg(render);
        if let Some(lock) = lock {
            cmd.arg("--lock").arg(lock);
        }
        run(cmd)
    };
    for lock in [None, Some(lock.as_path())] {
        let ok = check(&render, lock);
        assert_eq!((ok.code, ok.stdout.as_str()), (0, ""), "{}", ok.stderr);
        assert!(ok.stderr.contains("every image of"), "{}", ok.stderr);
    }
    // The next chart version adds a container: kustomize would leave it alone.
    let text = std::fs::read_to_string(&render).unwrap();
    let grown = text.replacen(
        "          env:\n",
        "        - name: new\n          image: quay.io/x/new:1\n          env:\n",
        1,
    );
    let grown = write(dir.path(), "grown.yaml", &grown);
    let failed = check(&grown, None);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed.stderr.contains(&format!(
            "{}: error[PR022]: Deployment app/old, container \"new\": image \"quay.io/x/new:1\" is not pinned",
            release.display()
        )),
        "{}",
        failed.stderr
    );
    // The lock moved nginx:1.28 to another digest: without --lock the check cannot know, with it it fails.
    let moved = write(
        dir.path(),
        "moved.lock.yaml",
        &std::fs::read_to_string(&lock).unwrap().replace(B, D),
    );
    assert_eq!(check(&render, None).code, 0);
    let failed = check(&render, Some(&moved));
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let on_release = format!("{}: error[PR002]", release.display());
    assert!(failed.stderr.contains(&on_release), "{}", failed.stderr);
    // The chart moved the custom resource's image: the patch's test fails.
    let changed = write(
        dir.path(),
        "changed.yaml",
        &text.replace("postgresql:16", "postgresql:17"),
    );
    let failed = check(&changed, None);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed.stderr.contains(&format!(
            "{}: error[PR024]: Cluster db/pg",
            release.display()
        )),
        "{}",
        failed.stderr
    );
    // A strategic-merge patch cannot be evaluated: fail closed.
    let smp = helm_release(&out.stdout).replace(
        "        patches:\n",
        "        patches:\n          - patch: |\n              kind: Deployment\n              metadata: {name: old}\n",
    );
    let smp_release = write(dir.path(), "smp.yaml", &smp);
    let mut cmd = common::bin();
    cmd.args(["lock", "flux", "--check"]).arg(&smp_release);
    cmd.arg("--from-manifest").arg(&render);
    let failed = run(cmd);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    let on_release = format!("{}: error[PR023]", smp_release.display());
    assert!(failed.stderr.contains(&on_release), "{}", failed.stderr);
}

// ---- Argo CD ----

/// The plugin's `init` or `generate` command line, read from gitops/argocd/plugin.yaml as the sidecar reads it.
fn plugin_command(step: &str) -> Vec<String> {
    let text = std::fs::read_to_string(common::root().join("gitops/argocd/plugin.yaml")).unwrap();
    let plugin = &documents(&text)[0];
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    let step = &plugin["spec"][step];
    let words = |v: &Json| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect()
    };
    let mut command = words(&step["command"]);
    command.extend(words(&step["args"]));
    command
}

/// A checkout as Argo CD lays it out for a plugin: the repository cloned into a folder of its own, the command run
/// in the Application's path (here `apps/demo`, a chart with its lock and values beside it).
fn argocd_checkout(dir: &Path, image: &str) -> PathBuf {
    let app = dir.join("_argocd-repo/8c1f3a/apps/demo");
    let chart = common::root().join("testdata/charts/pin-demo");
    std::fs::create_dir_all(app.join("templates")).unwrap();
    for file in ["Chart.yaml", "values.yaml"] {
        std::fs::copy(chart.join(file), app.join(file)).unwrap();
    }
    for entry in std::fs::read_dir(chart.join("templates")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, app.join("templates").join(path.file_name().unwrap())).unwrap();
    }
    write(&app, "prod.values.yaml", &format!("image: {image}\n"));
    let lock = format!(
        "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n- {{image: nginx:1.27, digest: {A}}}\n\
         - {{image: busybox:1.36, digest: {B}}}\n- {{image: ghcr.io/dapr/daprd:1.17.3, digest: {C}}}\n\
         - {{image: alpine:3.20, digest: {E}}}\n"
    );
    write(&app, "release.lock.yaml", &lock);
    app
}

/// Runs one step of the plugin in `app` with the environment Argo CD gives a plugin, helm (major 3 or 4) and
/// opsta-lint on PATH.
fn argocd_step(dir: &Path, app: &Path, step: &str, helm_major: u8) -> Run {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (name, target) in [
        ("helm", common::helm(helm_major)),
        (
            "opsta-lint",
            PathBuf::from(env!("CARGO_BIN_EXE_opsta-lint")),
        ),
    ] {
        let link = bin.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(target, link).unwrap();
    }
    let command = plugin_command(step);
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]).current_dir(app).env_clear();
    cmd.envs(common::helm_env(&dir.join("helm-home")));
    cmd.env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", dir)
        .env("ARGOCD_APP_NAME", "demo")
        .env("ARGOCD_APP_NAMESPACE", "shop")
        .env(
            "ARGOCD_APP_REVISION",
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
        )
        .env("ARGOCD_APP_SOURCE_PATH", "apps/demo")
        .env(
            "ARGOCD_APP_SOURCE_REPO_URL",
            "https://git.example.com/platform/deploy.git",
        )
        .env("ARGOCD_APP_SOURCE_TARGET_REVISION", "main")
        .env("KUBE_VERSION", "1.33.1")
        .env("KUBE_API_VERSIONS", "v1,apps/v1,batch/v1,policy/v1")
        .env("ARGOCD_ENV_LOCK", "release.lock.yaml")
        .env("ARGOCD_ENV_VALUES", "prod.values.yaml")
        .env("ARGOCD_ENV_CHART_VERSION", "0.3.0")
        .env(
            "ARGOCD_ENV_MIRRORS",
            "docker.io=registry.corp/hub ghcr.io=registry.corp/ghcr",
        );
    run(cmd)
}

#[test]
fn argocd_plugin_generates_pinned_manifests_and_fails_with_empty_stdout() {
    for major in [3, 4] {
        let dir = tempfile::tempdir().unwrap();
        let app = argocd_checkout(dir.path(), "nginx:1.27");
        let init = argocd_step(dir.path(), &app, "init", major);
        assert_eq!(init.code, 0, "helm {major} init: {}", init.stderr);
        let out = argocd_step(dir.path(), &app, "generate", major);
        assert_eq!(out.code, 0, "helm {major}: {}", out.stderr);
        let docs = by_id(documents(&out.stdout));
        let web = &docs[r#""apps/v1" "Deployment" "shop" "demo-web""#];
        let spec = &web["spec"]["template"]["spec"];
        assert_eq!(
            spec["containers"][0]["image"],
            format!("registry.corp/hub/library/nginx:1.27@{A}")
        );
        assert_eq!(
            spec["initContainers"][0]["image"],
            format!("registry.corp/hub/library/busybox:1.36@{B}")
        );
        assert_eq!(
            spec["containers"][0]["env"][0]["value"],
            format!("registry.corp/ghcr/dapr/daprd:1.17.3@{C}")
        );
        let images = container_images(&docs);
        assert!(
            images.len() >= 3 && images.iter().all(|i| i.contains("@sha256:")),
            "helm {major}: {images:#?}"
        );

        let unlocked = argocd_checkout(dir.path(), "nginx:1.29");
        let out = argocd_step(dir.path(), &unlocked, "generate", major);
        assert_ne!(out.code, 0, "helm {major}");
        assert_eq!(out.stdout, "", "helm {major}: nothing on stdout");
        assert!(
            out.stderr.contains("error[PR001]") && out.stderr.contains("nginx:1.29"),
            "helm {major}: {}",
            out.stderr
        );
    }
}

#[test]
fn lock_flux_help_ends_with_an_example_that_runs_and_the_exit_codes() {
    let help = opsta(&["lock", "flux", "--help"], &[]);
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("\nExit codes:\n  0  "),
        "{}",
        help.stdout
    );
    let example = help
        .stdout
        .split_once("\nExample:\n  ")
        .map(|(_, rest)| rest.lines().next().unwrap().to_string())
        .expect("lock flux --help has an Example");
    let words: Vec<&str> = example.split_whitespace().collect();
    assert_eq!(&words[..3], ["opsta-lint", "lock", "flux"], "{example}");
    let mut cmd = common::bin();
    cmd.args(&words[1..]).current_dir(common::root());
    let out = run(cmd);
    assert_eq!(out.code, 0, "{example}: {}", out.stderr);
    assert!(out.stdout.contains("postRenderers:"), "{}", out.stdout);
}

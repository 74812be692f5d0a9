//! Linting for the exact chart version (docs/versions.md): the vendor's default values of every known Catalyst
//! release lint clean against that release and give exactly the listed findings against the next one; every
//! rename's new key is an error on the release before it and its old key on the release that renamed it; the
//! surface data agrees with the renames and is what scripts/derive-surface.py derives from the vendor's files.
use crate::common;

use opsta_lint::product::Product;
use opsta_lint::surface::{Known, Surface};
use semver::Version;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// Lints with the bundled data and `-o json`; returns the findings as "CODE path" (or "CODE -" for a finding
/// about the command line), in report order.
fn lint(dir: &Path, args: &[&str]) -> Vec<String> {
    lint_product(dir, "catalyst", args)
}

fn lint_product(dir: &Path, product: &str, args: &[&str]) -> Vec<String> {
    let o = common::bin()
        .current_dir(dir)
        .env_remove("OPSTA_LINT_DATA")
        .args(["lint", "-o", "json", "--product", product])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{args:?}: {stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report: Json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    report["runs"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", text(&f["code"]), f["path"].as_str().unwrap_or("-")))
        .collect()
}

fn text(value: &Json) -> &str {
    value.as_str().unwrap_or_default()
}

fn catalyst() -> (Product, Surface) {
    let product = Product::load("catalyst").unwrap();
    let surface = product
        .surface()
        .unwrap()
        .expect("catalyst has surface data");
    (product, surface)
}

/// The default values files of a folder, by release, oldest first.
fn defaults_in(dir: &Path) -> Vec<(Version, PathBuf)> {
    let mut files: Vec<(Version, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            let release = name.strip_prefix('v')?.strip_suffix(".values.yaml")?;
            Some((Version::parse(release).ok()?, p))
        })
        .collect();
    files.sort();
    files
}

/// The one finding a release's own defaults give: the empty join token. (Its path is not compared: the output
/// masks every secret value of the input, and 1.90.0's defaults carry `credential_secret_key: token`.)
fn only_the_token(found: &[String]) -> bool {
    found.len() == 1 && found[0].starts_with("OL101 ")
}

fn assert_clean_against_own_release(files: &[(Version, PathBuf)]) {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (release, file) in files {
        let release_text = release.to_string();
        let found = lint(
            dir.path(),
            &["--chart-version", &release_text, file.to_str().unwrap()],
        );
        if !only_the_token(&found) {
            failures.push(format!("{}: {found:?}", file.display()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn vendor_defaults_in_testdata_lint_clean_against_their_own_release() {
    let (_, surface) = catalyst();
    let files = defaults_in(&common::root().join("testdata/catalyst/values"));
    let releases: Vec<&Version> = files.iter().map(|(r, _)| r).collect();
    assert_eq!(
        releases,
        surface.releases.iter().collect::<Vec<_>>(),
        "testdata/catalyst/values holds the defaults of every release of the surface data"
    );
    assert_clean_against_own_release(&files);
    // The vendor's production example of 1.90.0 too.
    let production = common::root().join("testdata/catalyst/values/v1.90.0.values-production.yaml");
    let dir = tempfile::tempdir().unwrap();
    let found = lint(
        dir.path(),
        &["--chart-version", "1.90.0", production.to_str().unwrap()],
    );
    assert!(only_the_token(&found), "{found:?}");
}

#[test]
fn vendor_defaults_in_the_shared_corpus_lint_clean_against_their_own_release_needs_shared() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let files = defaults_in(&shared.join("corpus/catalyst/values"));
    assert!(files.len() >= 14, "{files:?}");
    for (_, file) in &files {
        let copy = common::root()
            .join("testdata/catalyst/values")
            .join(file.file_name().unwrap());
        assert!(
            std::fs::read(&copy).ok() == std::fs::read(file).ok(),
            "{} differs from (or is missing in) testdata/catalyst/values",
            file.display()
        );
    }
    assert_clean_against_own_release(&files);
}

/// What each release's defaults give against the next known release (with the previous chart version given):
/// the renames and removals between them (OL301), a Dapr tag the defaults carry that the next release sets
/// differently (OL404), the major crossing (OL401) and the default changes crossed (OL403), besides the token.
const NEXT_RELEASE: &[(&str, &str, &[&str])] = &[
    (
        "0.1.0",
        "0.2.0",
        &[
            "OL301 shared.resources",
            "OL301 agent.config.host.join_token",
            "OL301 agent.config.inspection",
            "OL301 agent.config.project.dns_top_level_domain",
            "OL301 agent.config.project.enable_scheduler_service",
            "OL301 agent.config.project.dapr_hot_reloading",
            "OL301 agent.config.project.sidecar_capture_init_errors",
            "OL301 agent.config.project.redis_kafka_cache",
            "OL404 agent.config.sidecar.image_tag",
            "OL301 agent.config.sentry",
            "OL301 agent.config.nats",
            "OL301 agent.secrets",
            "OL301 gateway.namespace",
            "OL301 management.config.nats",
            "OL301 management.config.sentry",
            "OL301 management.secrets",
            "OL301 metricsServer",
        ],
    ),
    (
        "0.2.0",
        "0.27.0",
        &[
            "OL301 agent.config.control_plane_url",
            "OL301 agent.config.control_plane_http_url",
            "OL404 agent.config.sidecar.image_tag",
            "OL301 agent.config.otel.image_repository",
            "OL301 agent.config.artifacts.vcluster_k0s_chart_version",
            "OL301 agent.config.artifacts.vcluster_k0s_container_image",
            "OL301 agent.config.artifacts.core_dns_container_image",
            "OL301 agent.image.name",
            "OL301 agent.image.fullName",
            "OL301 gateway.tls.volumes",
            "OL301 gateway.identityInjector.image.name",
            "OL301 gateway.envoy.image.name",
            "OL301 gateway.controlplane.image.name",
            "OL301 management.image.name",
            "OL403 -",
        ],
    ),
    (
        "0.27.0",
        "0.109.0",
        &[
            "OL301 global.sentry.diagrid_trust_anchors_endpoint",
            "OL301 global.sentry.diagrid_trust_anchors_endpoint_insecure",
            "OL301 global.consolidated_image.tag",
            "OL404 agent.config.sidecar.image_tag",
            "OL301 agent.config.artifacts.internal_registry_username",
            "OL301 agent.config.artifacts.internal_registry_password",
            "OL301 agent.config.artifacts.internal_repo_url",
            "OL301 management.config.http_server_auth.domain",
            "OL301 management.config.http_server_auth.audience",
        ],
    ),
    (
        "0.109.0",
        "1.12.0",
        &["OL404 agent.config.sidecar.image_tag", "OL401 -"],
    ),
    (
        "1.12.0",
        "1.28.0",
        &["OL404 agent.config.sidecar.image_tag"],
    ),
    (
        "1.28.0",
        "1.38.0",
        &["OL404 agent.config.sidecar.image_tag"],
    ),
    // The Dapr sentry tag `edge` is the default of 1.38.0 and 1.39.0 alike: carried over, it is no override.
    (
        "1.38.0",
        "1.39.0",
        &["OL404 agent.config.sidecar.image_tag"],
    ),
    (
        "1.39.0",
        "1.41.0",
        &[
            "OL404 agent.config.sidecar.image_tag",
            "OL404 agent.config.internal_dapr.sentry.image.tag",
        ],
    ),
    (
        "1.41.0",
        "1.48.0",
        &[
            "OL301 global.nats",
            "OL301 agent.config.host.ingress_ip_addr",
            "OL301 agent.config.project.ingress_tls_secret_name",
            "OL404 agent.config.sidecar.image_tag",
            "OL301 agent.config.api_token_error",
            "OL301 agent.config.upstream_dapr",
            "OL301 agent.config.internal_dapr.ca",
            "OL404 agent.config.internal_dapr.sentry.image.tag",
        ],
    ),
    (
        "1.48.0",
        "1.51.0",
        &[
            "OL301 shared.nodeSelector",
            "OL301 shared.tolerations",
            "OL301 shared.affinity",
            "OL404 agent.config.sidecar.image_tag",
            "OL404 agent.config.internal_dapr.sentry.image.tag",
        ],
    ),
    (
        "1.51.0",
        "1.75.0",
        &[
            "OL404 agent.config.sidecar.image_tag",
            "OL404 agent.config.internal_dapr.sentry.image.tag",
        ],
    ),
    (
        "1.75.0",
        "1.76.0",
        &[
            "OL404 agent.config.sidecar.image_tag",
            "OL404 agent.config.internal_dapr.sentry.image.tag",
            "OL403 -",
        ],
    ),
    (
        "1.76.0",
        "1.90.0",
        &[
            "OL404 agent.config.sidecar.image_tag",
            "OL404 agent.config.internal_dapr.sentry.image.tag",
        ],
    ),
];

#[test]
fn vendor_defaults_against_the_next_release_give_exactly_the_listed_findings() {
    let (_, surface) = catalyst();
    let pairs: Vec<(String, String)> = NEXT_RELEASE
        .iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    let known: Vec<(String, String)> = surface
        .releases
        .windows(2)
        .map(|w| (w[0].to_string(), w[1].to_string()))
        .collect();
    assert_eq!(
        pairs, known,
        "one expectation per pair of consecutive known releases"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (before, next, expected) in NEXT_RELEASE {
        let file = common::root().join(format!("testdata/catalyst/values/v{before}.values.yaml"));
        let mut found = lint(
            dir.path(),
            &[
                "--chart-version",
                next,
                "--previous-chart-version",
                before,
                file.to_str().unwrap(),
            ],
        );
        found.retain(|f| !f.starts_with("OL101 "));
        let (mut found_sorted, mut expected_sorted) = (found.clone(), expected.to_vec());
        found_sorted.sort();
        expected_sorted.sort();
        if found_sorted != expected_sorted {
            failures.push(format!("{before} -> {next}: {found:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A values file setting one dotted key to `value`.
fn values_with(key: &str, value: &Json) -> String {
    let mut out = String::new();
    let keys: Vec<&str> = key.split('.').collect();
    for (depth, k) in keys.iter().enumerate() {
        let indent = "  ".repeat(depth);
        match depth + 1 == keys.len() {
            true => out.push_str(&format!("{indent}{k}: {value}\n")),
            false => out.push_str(&format!("{indent}{k}:\n")),
        }
    }
    out
}

/// The default of a key at a release (testdata), or a string when the defaults do not set it.
fn default_of(release: &Version, key: &str) -> Json {
    let file = common::root().join(format!("testdata/catalyst/values/v{release}.values.yaml"));
    let text = std::fs::read_to_string(file).unwrap();
    let doc = opsta_lint::yaml::parse(&text).unwrap().remove(0).to_json();
    let found = key.split('.').try_fold(&doc, |node, k| node.get(k));
    match found {
        Some(value) if !value.is_null() => value.clone(),
        _ => Json::from("x"),
    }
}

#[test]
fn every_rename_errs_with_the_new_key_before_it_and_the_old_key_after_it() {
    let (product, surface) = catalyst();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for rename in &product.renames {
        let at = &rename.version;
        let index = surface.releases.iter().position(|r| r == at).unwrap();
        let before = &surface.releases[index - 1];
        // The old key on the release that renamed (or removed) it: OL301.
        let old = values_with(&rename.from, &default_of(before, &rename.from));
        std::fs::write(dir.path().join("old.yaml"), old).unwrap();
        let found = lint(
            dir.path(),
            &[
                "--chart-version",
                &at.to_string(),
                "--ignore",
                "OL101",
                "old.yaml",
            ],
        );
        if found != [format!("OL301 {}", rename.from)] {
            failures.push(format!("{} on {at}: {found:?}", rename.from));
        }
        // The old key on the release before: nothing.
        let found = lint(
            dir.path(),
            &[
                "--chart-version",
                &before.to_string(),
                "--ignore",
                "OL101",
                "old.yaml",
            ],
        );
        if !found.is_empty() {
            failures.push(format!("{} on {before}: {found:?}", rename.from));
        }
        let Some(to) = &rename.to else { continue };
        // The new key on the release before: OL302 at it (or at the map above it that came with it), naming
        // the release that added it; on the release itself: nothing.
        let new = values_with(to, &default_of(at, to));
        std::fs::write(dir.path().join("new.yaml"), new).unwrap();
        let found = lint(
            dir.path(),
            &[
                "--chart-version",
                &before.to_string(),
                "--ignore",
                "OL101",
                "new.yaml",
            ],
        );
        let added = found.len() == 1
            && found[0].starts_with("OL302 ")
            && (to == &found[0][6..] || to.starts_with(&format!("{}.", &found[0][6..])));
        let first = surface.known(&[index - 1], found.first().map_or("", |f| &f[6..]));
        if !added || first != Known::AddedIn(at.clone()) {
            failures.push(format!("{to} on {before}: {found:?} ({first:?})"));
        }
        let found = lint(
            dir.path(),
            &[
                "--chart-version",
                &at.to_string(),
                "--ignore",
                "OL101",
                "new.yaml",
            ],
        );
        if !found.is_empty() {
            failures.push(format!("{to} on {at}: {found:?}"));
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} renames checked");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn between_two_known_releases_the_keys_of_both_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let both = "shared:\n  nodeSelector: {disktype: ssd}\n  scheduling:\n    nodeSelector: {disktype: ssd}\n";
    std::fs::write(dir.path().join("v.yaml"), both).unwrap();
    let at = |chart: &str| {
        lint(
            dir.path(),
            &["--chart-version", chart, "--ignore", "OL101", "v.yaml"],
        )
    };
    assert_eq!(at("1.49.0"), Vec::<String>::new());
    assert_eq!(at("1.48.0"), ["OL302 shared.scheduling"]);
    assert_eq!(at("1.51.0"), ["OL301 shared.nodeSelector"]);
    // A typo stays unknown whatever the release.
    std::fs::write(
        dir.path().join("typo.yaml"),
        "shared:\n  nodeSelecter: {}\n",
    )
    .unwrap();
    let found = lint(
        dir.path(),
        &[
            "--chart-version",
            "1.48.0",
            "--ignore",
            "OL101",
            "typo.yaml",
        ],
    );
    assert_eq!(found, ["OL002 shared.nodeSelecter"]);
}

#[test]
fn the_surface_lists_no_key_below_a_map_whose_keys_are_the_users() {
    // Kubernetes maps (annotations, resources, affinity...) carry example keys in the defaults that are no keys
    // of the chart: a key the user adds there must never be "added in a later release".
    let (_, surface) = catalyst();
    let below = |map: &str| {
        surface
            .key_names()
            .any(|k| k.starts_with(&format!("{map}.")))
    };
    assert!(
        surface.key_names().any(|k| k == "agent.podAnnotations") && !below("agent.podAnnotations")
    );
    assert!(surface.key_names().any(|k| k == "agent.resources") && !below("agent.resources"));
    assert!(
        below("agent.config.sidecar"),
        "the agent's config is the chart's own keys"
    );
    let dir = tempfile::tempdir().unwrap();
    let values = "agent:\n  resources:\n    requests:\n      ephemeral-storage: 1Gi\n";
    std::fs::write(dir.path().join("v.yaml"), values).unwrap();
    let found = lint(
        dir.path(),
        &["--chart-version", "0.1.0", "--ignore", "OL101", "v.yaml"],
    );
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn opsta_backup_keys_are_errors_before_1_25_0() {
    let dir = tempfile::tempdir().unwrap();
    let values = "images:\n  builtTag: v1.24.0\nbackup:\n  enabled: true\n";
    std::fs::write(dir.path().join("v.yaml"), values).unwrap();
    let at = |chart: &str| {
        let mut found = lint_product(
            dir.path(),
            "opsta-ai-gateway",
            &["--chart-version", chart, "v.yaml"],
        );
        found.retain(|f| !f.starts_with("OL501 "));
        found
    };
    assert_eq!(at("1.24.0"), ["OL302 backup"]);
    assert_eq!(at("1.20.0"), ["OL302 backup"]);
    assert_eq!(at("1.25.0"), Vec::<String>::new());
}

#[test]
fn the_surface_agrees_with_the_renames() {
    let (product, surface) = catalyst();
    let mut failures = Vec::new();
    for rename in &product.renames {
        for (i, release) in surface.releases.iter().enumerate() {
            let read = surface.known(&[i], &rename.from) == Known::Read;
            if *release >= rename.version && read {
                failures.push(format!(
                    "{} is read at {release}, after its rename",
                    rename.from
                ));
            }
        }
        let index = surface.releases.iter().position(|r| *r == rename.version);
        let read_at = |key: &str, i: usize| surface.known(&[i], key) == Known::Read;
        match index {
            None => failures.push(format!("{} is not a known release", rename.version)),
            Some(i) if i == 0 || !read_at(&rename.from, i - 1) => failures.push(format!(
                "{} is not read the release before {}",
                rename.from, rename.version
            )),
            Some(i) => {
                if let Some(to) = rename.to.as_deref().filter(|to| !read_at(to, i)) {
                    failures.push(format!("{to} is not read at {}", rename.version));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_surface_data_is_what_the_script_derives_from_the_vendor_files_needs_shared() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let python = common::tool("venv/bin/python3");
    let o = std::process::Command::new(python)
        .current_dir(common::root())
        .args([
            "scripts/derive-surface.py",
            "catalyst",
            shared.join("corpus/catalyst/values").to_str().unwrap(),
            shared
                .join("reference/catalyst-chart-README-v1.90.0.md")
                .to_str()
                .unwrap(),
            "--check",
        ])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn versions_keys_lists_what_a_release_adds_removes_and_renames() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let o = common::bin()
            .current_dir(dir.path())
            .env_remove("OPSTA_LINT_DATA")
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["versions", "catalyst", "1.51.0", "--keys"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("catalyst 1.51.0 against 1.48.0:\n"),
        "{out}"
    );
    assert!(
        out.contains("  shared.nodeSelector -> shared.scheduling.nodeSelector\n")
            && out.contains("\nadded:\n  agent.config.internal_dapr.affinity\n")
            && out.contains("\nremoved: none\n"),
        "{out}"
    );
    let (code, out, err) = run(&["versions", "catalyst", "1.48.0", "--keys"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("catalyst 1.48.0 against 1.41.0:\n")
            && out.contains("  agent.existingJoinTokenSecret\n")
            && out
                .contains("  global.nats (removed together with the nats_enabled feature flag)\n")
            && out.contains(
                "  agent.config.host.ingress_ip_addr -> agent.config.host.ingress.ip_addr\n"
            ),
        "{out}"
    );
    let (code, out, _) = run(&["versions", "catalyst", "1.49.0", "--keys"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(
            "catalyst 1.49.0 is not a known release: it is taken to read the keys of both 1.48.0 and 1.51.0"
        ),
        "{out}"
    );
    // The plain output is unchanged.
    let (code, out, _) = run(&["versions", "catalyst", "1.48.0"]);
    assert_eq!((code, out.as_str()), (0, "dapr 1.17.3-catalyst.1\n"));
    // Opsta AI Gateway: only the backup keys of 1.25.0 are dated.
    let (code, out, err) = run(&["versions", "opsta-ai-gateway", "1.25.0", "--keys"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "opsta-ai-gateway 1.25.0 against 1.24.0:\nadded:\n  backup\nremoved: none\nrenamed or removed by the renames data: none\n"
    );
}

#[test]
fn the_shell_blocks_of_docs_versions_md_run_as_written() {
    let doc = std::fs::read_to_string(common::root().join("docs/versions.md")).unwrap();
    let path = common::path_with_bin();
    let blocks = common::sh_blocks(&doc);
    assert_eq!(blocks.len(), 3, "{blocks:?}");
    for block in blocks {
        let expected = block
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# exit: "))
            .map_or(0, |n| n.trim().parse::<i32>().unwrap());
        let o = std::process::Command::new("bash")
            .args(["-c", block])
            .current_dir(common::root())
            .env("PATH", &path)
            .env_remove("OPSTA_LINT_DATA")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(expected),
            "{block}{stdout}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        if expected == 1 {
            assert!(
                stdout.contains("OL302 error: shared.scheduling was added in chart 1.51.0; chart 1.48.0 ignores it"),
                "{stdout}"
            );
        }
    }
}

//! The product knowledge under schema/: every schema compiles, the vendors' own default values pass it once the
//! renames of product.yaml are applied, typos and wrong types fail it, real Helm 3 and 4 agree with it, and the
//! product files hold together (schemas exist, Dapr ranges ordered, renames true to the corpus).
use crate::common;
use common::testdata;

use opsta_lint::yaml;
use semver::{Version, VersionReq};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const PRODUCTS: [&str; 2] = ["catalyst", "opsta-ai-gateway"];

/// The first document of a YAML file as JSON, with null-valued keys dropped the way Helm drops them.
fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let docs = yaml::parse(&text).unwrap_or_else(|e| panic!("{}:{e}", path.display()));
    docs.first()
        .map_or(Value::Null, |doc| without_nulls(doc.to_json()))
}

fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

fn lookup<'a>(value: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(value, |node, key| node.get(key))
}

fn remove(value: &mut Value, dotted: &str) {
    let (parent, last) = dotted.rsplit_once('.').unwrap_or(("", dotted));
    let node = if parent.is_empty() {
        Some(value)
    } else {
        parent
            .split('.')
            .try_fold(value, |node, key| node.get_mut(key))
    };
    if let Some(Value::Object(map)) = node {
        map.remove(last);
    }
}

/// Sets `dotted` to `new`, creating the maps on the way.
fn set(value: &mut Value, dotted: &str, new: Value) {
    let mut node = value;
    let keys: Vec<&str> = dotted.split('.').collect();
    for key in &keys[..keys.len() - 1] {
        node = node
            .as_object_mut()
            .expect("a map on the way")
            .entry(key.to_string())
            .or_insert_with(|| json!({}));
    }
    node.as_object_mut()
        .expect("a map at the end")
        .insert(keys[keys.len() - 1].to_string(), new);
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn version(value: &Value) -> Version {
    Version::parse(&text(value)).unwrap_or_else(|e| panic!("{value} is not a version: {e}"))
}

struct Data {
    dir: PathBuf,
    data: Value,
}

impl Data {
    fn load(name: &str) -> Data {
        let dir = common::root().join("schema").join(name);
        let data = read_yaml(&dir.join("product.yaml"));
        Data { dir, data }
    }

    fn list(&self, field: &str) -> Vec<Value> {
        lookup(&self.data, field)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    fn schema_file(&self, major: u64) -> PathBuf {
        let entry = self
            .list("majors")
            .into_iter()
            .find(|m| m["major"].as_u64() == Some(major))
            .unwrap_or_else(|| panic!("no major {major} in {}", self.dir.display()));
        self.dir.join(text(&entry["schema"]))
    }

    fn validator(&self, major: u64) -> jsonschema::Validator {
        let path = self.schema_file(major);
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The `from` paths of `renames`.
    fn renamed_paths(&self) -> Vec<String> {
        self.list("renames")
            .iter()
            .map(|r| text(&r["from"]))
            .collect()
    }
}

/// Schema errors as "instance path: message", sorted.
fn errors(validator: &jsonschema::Validator, values: &Value) -> Vec<String> {
    let mut found: Vec<String> = validator
        .iter_errors(values)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    found.sort();
    found
}

/// A default values file of the corpus checked against its major's schema, renamed paths removed first.
fn defaults_errors(catalyst: &Data, file: &Path) -> Vec<String> {
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    let release = Version::parse(
        name.trim_start_matches('v')
            .split(".values")
            .next()
            .unwrap(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut values = read_yaml(file);
    for path in catalyst.renamed_paths() {
        remove(&mut values, &path);
    }
    errors(&catalyst.validator(release.major), &values)
        .into_iter()
        .map(|e| format!("{name}: {e}"))
        .collect()
}

fn values_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_schema_is_valid_json_schema_2020_12() {
    for name in PRODUCTS {
        let product = Data::load(name);
        for major in product.list("majors") {
            let path = product.schema_file(major["major"].as_u64().unwrap());
            let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                schema["$schema"],
                "https://json-schema.org/draft/2020-12/schema",
                "{}",
                path.display()
            );
            jsonschema::meta::validate(&schema)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            jsonschema::validator_for(&schema)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
}

#[test]
fn default_values_in_testdata_pass_their_major_schema() {
    let catalyst = Data::load("catalyst");
    let files = values_files(&testdata("catalyst/values"));
    assert!(
        files.len() >= 5,
        "testdata/catalyst/values holds the core sample"
    );
    let failures: Vec<String> = files
        .iter()
        .flat_map(|f| defaults_errors(&catalyst, f))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
#[ignore = "needs ../shared/corpus"]
fn default_values_of_every_release_pass_their_major_schema_on_the_shared_corpus() {
    let shared = common::shared_corpus();
    let catalyst = Data::load("catalyst");
    let files = values_files(&shared.join("corpus/catalyst/values"));
    assert!(
        files.len() >= 15,
        "the corpus has the default values of 15 releases"
    );
    let failures: Vec<String> = files
        .iter()
        .flat_map(|f| defaults_errors(&catalyst, f))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn old_releases_fail_the_schema_without_the_renames() {
    // The renames are what make old defaults pass: without them the moved keys are unknown keys.
    let catalyst = Data::load("catalyst");
    let v1 = catalyst.validator(1);
    let found = errors(
        &v1,
        &read_yaml(&testdata("catalyst/values/v1.41.0.values.yaml")),
    );
    assert_eq!(
        found,
        [
            "/global: Additional properties are not allowed ('nats' was unexpected)",
            "/shared: Additional properties are not allowed ('nodeSelector', 'tolerations', 'affinity' were unexpected)",
        ]
    );
    let v0 = catalyst.validator(0);
    let found = errors(
        &v0,
        &read_yaml(&testdata("catalyst/values/v0.1.0.values.yaml")),
    );
    assert!(
        found
            .iter()
            .any(|e| e.starts_with("/agent/image:") && e.contains("'name'")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|e| e.starts_with("/management:") && e.contains("'secrets'")),
        "{found:#?}"
    );
}

/// Each mutation of the 1.90.0 defaults with the instance path its error must point at.
#[test]
fn catalyst_schema_rejects_typos_and_wrong_types_at_the_right_place() {
    let v1 = Data::load("catalyst").validator(1);
    let defaults = read_yaml(&testdata("catalyst/values/v1.90.0.values.yaml"));
    let cases = [
        ("glbal", json!({}), "", "glbal"),
        ("agnet", json!({"replicaCount": 2}), "", "agnet"),
        ("gateway.tsl", json!({"enabled": true}), "/gateway", "tsl"),
        ("agent.imgae", json!({"tag": "1.90.0"}), "/agent", "imgae"),
        ("agent.image.tga", json!("1.90.0"), "/agent/image", "tga"),
        (
            "piko.server.proxyPrt",
            json!(8000),
            "/piko/server",
            "proxyPrt",
        ),
        (
            "agent.service.port",
            json!("9090"),
            "/agent/service/port",
            "integer",
        ),
        ("mcp.httpPort", json!(70000), "/mcp/httpPort", "65535"),
        (
            "management.replicaCount",
            json!("2"),
            "/management/replicaCount",
            "integer",
        ),
        (
            "agent.image.pullPolicy",
            json!("Sometimes"),
            "/agent/image/pullPolicy",
            "Sometimes",
        ),
        (
            "global.image.pullPolicy",
            json!(""),
            "/global/image/pullPolicy",
            "\"\"",
        ),
        ("agent.image.tag", json!(1.9), "/agent/image/tag", "string"),
        (
            "agent.image.digest",
            json!("sha256:abc"),
            "/agent/image/digest",
            "sha256",
        ),
        ("piko.enabled", json!("true"), "/piko/enabled", "boolean"),
        (
            "mcp.httpAuthMode",
            json!("server"),
            "/mcp/httpAuthMode",
            "server",
        ),
        (
            "agent.goSoftLimit.percnt",
            json!(80),
            "/agent/goSoftLimit",
            "percnt",
        ),
        (
            "networkPolicies.extraEgress",
            json!([{"cidr": "10.0.0.0/8", "ports": [{"port": "5432"}]}]),
            "/networkPolicies/extraEgress/0/ports/0/port",
            "integer",
        ),
    ];
    for (path, value, at, mention) in cases {
        let mut values = defaults.clone();
        set(&mut values, path, value);
        let found = errors(&v1, &values);
        assert!(
            found.len() == 1
                && found[0].starts_with(&format!("{at}: "))
                && found[0].contains(mention),
            "{path}: expected one error at '{at}' mentioning {mention}, got {found:#?}"
        );
    }
}

#[test]
fn catalyst_schema_stays_open_where_the_chart_is_open() {
    let v1 = Data::load("catalyst").validator(1);
    let mut values = read_yaml(&testdata("catalyst/values/v1.90.0.values.yaml"));
    let open = [
        (
            "agent.config.brand_new_section.any_key",
            json!({"nested": [1, 2]}),
        ),
        (
            "agent.config.internal_dapr.pki.issuer.secret.name",
            json!("dapr-trust-bundle"),
        ),
        ("management.config.tunnel.piko.audience", json!("piko")),
        ("management.config.region_postgresql", json!({"host": "db"})),
        ("agent.resources.limits.cpu", json!("2")),
        ("agent.podSecurityContext.fsGroup", json!(2000)),
        ("gateway.envoy.affinity.podAntiAffinity", json!({})),
        (
            "global.postgresql.selfhosted.persistence_storage_size",
            json!("10Gi"),
        ),
        ("global.redis.external.host", json!("redis.example.com")),
        ("opentelemetry-deployment.image.tag", json!("0.112.0")),
        ("metrics-server.args", json!(["--kubelet-insecure-tls"])),
        (
            "agent.image.digest",
            json!(format!("sha256:{}", "ab".repeat(32))),
        ),
        ("agent.goSoftLimit.override", json!("600MiB")),
        ("mcp.readinessProbe", Value::Null),
        ("gateway.tls.secretName", json!("gateway-tls")),
        ("global.control_plane_http_insecure", json!(true)),
    ];
    for (path, value) in open {
        set(&mut values, path, value);
    }
    remove(&mut values, "join_token");
    assert_eq!(errors(&v1, &values), Vec::<String>::new());
}

#[test]
fn major_0_schema_knows_no_image_digest() {
    // Digests arrived with chart 1.96; in a 0.x chart the key would silently do nothing.
    let v0 = Data::load("catalyst").validator(0);
    let mut values = read_yaml(&testdata("catalyst/values/v0.109.0.values.yaml"));
    set(
        &mut values,
        "agent.image.digest",
        json!(format!("sha256:{}", "ab".repeat(32))),
    );
    let found = errors(&v0, &values);
    assert!(
        found.len() == 1 && found[0].starts_with("/agent/image: ") && found[0].contains("digest"),
        "{found:#?}"
    );
}

#[test]
fn example_values_in_testdata_match_their_story() {
    let catalyst = Data::load("catalyst").validator(1);
    for good in ["good.values.yaml", "previous.values.yaml"] {
        let found = errors(
            &catalyst,
            &read_yaml(&testdata(&format!("catalyst/{good}"))),
        );
        assert_eq!(found, Vec::<String>::new(), "{good}");
    }
    let bad = read_yaml(&testdata("catalyst/bad.values.yaml"));
    assert!(
        bad.get("join_token").is_none(),
        "bad.values.yaml leaves the join token out"
    );
    assert_eq!(
        errors(&catalyst, &bad),
        [
            "/gateway: Additional properties are not allowed ('tsl' was unexpected)",
            "/shared: Additional properties are not allowed ('nodeSelector' was unexpected)",
        ]
    );
    let renamed = Data::load("catalyst").renamed_paths();
    for path in ["shared.nodeSelector", "agent.config.host.ingress_ip_addr"] {
        assert!(
            lookup(&bad, path).is_some() && renamed.contains(&path.to_string()),
            "{path}"
        );
    }

    let opsta = Data::load("opsta-ai-gateway").validator(1);
    for file in ["good.values.yaml", "secrets-values.yaml", "bad.values.yaml"] {
        let found = errors(
            &opsta,
            &read_yaml(&testdata(&format!("opsta-ai-gateway/{file}"))),
        );
        assert_eq!(found, Vec::<String>::new(), "{file}");
    }
    let bad = read_yaml(&testdata("opsta-ai-gateway/bad.values.yaml"));
    assert_eq!(lookup(&bad, "images.builtTag"), Some(&json!("dev")));
    assert!(lookup(&bad, "secrets.values").is_some());
}

#[test]
fn opsta_schema_rejects_typos_and_wrong_types() {
    let v1 = Data::load("opsta-ai-gateway").validator(1);
    let good = read_yaml(&testdata("opsta-ai-gateway/good.values.yaml"));
    let cases = [
        ("globl", json!({}), "", "globl"),
        (
            "global.highAvailabilty",
            json!(true),
            "/global",
            "highAvailabilty",
        ),
        (
            "tls.mode",
            json!("lets-encrypt"),
            "/tls/mode",
            "lets-encrypt",
        ),
        ("redis.replicas", json!("3"), "/redis/replicas", "integer"),
        (
            "global.imageMirrorFlatten",
            json!("yes"),
            "/global/imageMirrorFlatten",
            "boolean",
        ),
        ("images.builtTag", json!(1.25), "/images/builtTag", "string"),
        (
            "keycloak.realm.nmae",
            json!("opsta"),
            "/keycloak/realm",
            "nmae",
        ),
    ];
    for (path, value, at, mention) in cases {
        let mut values = good.clone();
        set(&mut values, path, value);
        let found = errors(&v1, &values);
        assert!(
            found.len() == 1
                && found[0].starts_with(&format!("{at}: "))
                && found[0].contains(mention),
            "{path}: expected one error at '{at}' mentioning {mention}, got {found:#?}"
        );
    }
    let mut values = good;
    set(&mut values, "controlPlane.replicas", Value::Null);
    set(
        &mut values,
        "images.external.redis",
        json!({"repository": "redis", "tag": "7.4"}),
    );
    set(&mut values, "certManager.installCRDs", json!(true));
    assert_eq!(errors(&v1, &values), Vec::<String>::new());
}

#[test]
fn product_files_hold_together() {
    for name in PRODUCTS {
        opsta_lint::product::Product::load(name).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let product = Data::load(name);
        assert_eq!(product.data["apiVersion"], "opsta-lint/v1", "{name}");
        assert_eq!(product.data["kind"], "Product", "{name}");
        assert_eq!(product.data["name"], name);
        for major in product.list("majors") {
            let number = major["major"].as_u64().expect("major is a number");
            assert!(product.schema_file(number).is_file(), "{name}: {major}");
            assert_eq!(version(&major["latest"]).major, number, "{name}: {major}");
        }
        for rename in product.list("renames") {
            version(&rename["version"]);
            assert!(
                rename.get("to").is_some() || rename.get("note").is_some(),
                "{name}: {rename}"
            );
            assert_ne!(rename.get("to"), Some(&rename["from"]), "{name}: {rename}");
        }
        for entry in product.list("requiredSecrets") {
            if let Some(req) = entry.get("versions") {
                VersionReq::parse(&text(req)).unwrap_or_else(|e| panic!("{name}: {req}: {e}"));
            }
        }
        for change in product.list("defaultChanges") {
            version(&change["version"]);
            assert!(!text(&change["message"]).is_empty());
        }
        for component in product.list("pinnedComponents") {
            check_ranges(name, &component);
        }
    }
    let fingerprints: Vec<Vec<Value>> = PRODUCTS
        .iter()
        .map(|n| Data::load(n).list("fingerprint"))
        .collect();
    assert!(fingerprints.iter().all(|f| !f.is_empty()));
    assert!(
        fingerprints[0]
            .iter()
            .all(|key| !fingerprints[1].contains(key)),
        "fingerprints overlap"
    );
}

/// The chart-version ranges of a pinned component: each `from <= to`, in order, no overlap.
fn check_ranges(product: &str, component: &Value) {
    let mut previous_end: Option<VersionReq> = None;
    let mut previous_from: Option<Version> = None;
    for row in component["versions"].as_array().into_iter().flatten() {
        let from = version(&row["from"]);
        let to = VersionReq::parse(&format!("<={}", text(&row["to"])))
            .unwrap_or_else(|e| panic!("{product}: {row}: {e}"));
        assert!(to.matches(&from), "{product}: from after to in {row}");
        if let (Some(end), Some(start)) = (&previous_end, &previous_from) {
            assert!(&from > start, "{product}: ranges out of order at {row}");
            assert!(!end.matches(&from), "{product}: ranges overlap at {row}");
        }
        assert!(!text(&row["version"]).is_empty());
        previous_end = Some(to);
        previous_from = Some(from);
    }
}

#[test]
fn the_dapr_table_answers_for_chart_versions() {
    let catalyst = opsta_lint::product::Product::load("catalyst").unwrap();
    let dapr = |chart: &str| catalyst.pinned_version("dapr", &Version::parse(chart).unwrap());
    assert_eq!(dapr("1.28.0"), Some("1.17.2-catalyst.1"));
    assert_eq!(dapr("1.45.0"), Some("1.17.3-catalyst.1"));
    assert_eq!(dapr("1.51.4"), Some("1.17.3-catalyst.1"));
    assert_eq!(dapr("1.57.0"), Some("1.18.0-rc.5-catalyst.2"));
    assert_eq!(dapr("1.76.0"), Some("1.18.2-rc.2-catalyst.1"));
    assert_eq!(dapr("1.90.0"), Some("1.19.0-20260806-catalyst.2"));
    assert_eq!(dapr("1.27.0"), None);
    assert_eq!(dapr("1.91.0"), None);
}

/// The Dapr image pattern picks the images whose tag is the Dapr version, and no other Catalyst image.
#[test]
fn the_dapr_image_pattern_picks_dapr_images_only() {
    let catalyst = opsta_lint::product::Product::load("catalyst").unwrap();
    let dapr = catalyst
        .pinned_components
        .iter()
        .find(|c| c.name == "dapr")
        .unwrap();
    let pattern = regex::Regex::new(dapr.image_pattern.as_deref().unwrap()).unwrap();
    let registry =
        "us-central1-docker.pkg.dev/prj-common-p-shared-79896/reg-p-common-docker-public";
    for image in [
        format!("{registry}/dapr:1.19.0-20260806-catalyst.2"),
        "ghcr.io/dapr/daprd:1.17.3".to_string(),
        "ghcr.io/dapr/operator:1.17.3".to_string(),
        "docker.io/daprio/dapr:1.17.3".to_string(),
    ] {
        assert!(pattern.is_match(&image), "{image} is a Dapr image");
    }
    for image in [
        format!("{registry}/sidecar:1.90.0"),
        format!("{registry}/private-sentry:1.90.0"),
        format!("{registry}/catalyst-all:1.90.0"),
        "ghcr.io/opsta/opsta-ai-gateway/control-plane:v1.25.0".to_string(),
    ] {
        assert!(!pattern.is_match(&image), "{image} is not a Dapr image");
    }
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let images_of = |file: &Path| -> Vec<String> {
        let text = std::fs::read_to_string(file).unwrap();
        let image = regex::Regex::new(r#"(?m)^\s*(?:- )?image: "?([^"\s]+)"?\s*$"#).unwrap();
        image
            .captures_iter(&text)
            .map(|c| c[1].to_string())
            .filter(|i| i.contains(':'))
            .collect()
    };
    for file in values_files(&shared.join("corpus/catalyst/rendered")) {
        let images = images_of(&file);
        assert!(!images.is_empty(), "{}", file.display());
        let picked: Vec<&String> = images.iter().filter(|i| pattern.is_match(i)).collect();
        assert!(picked.is_empty(), "{}: {picked:?}", file.display());
    }
    let upstream = images_of(&shared.join("corpus/real-charts/dapr.yaml"));
    assert!(
        upstream.len() >= 5 && upstream.iter().all(|i| pattern.is_match(i)),
        "{upstream:?}"
    );
}

/// Every rename is true to the corpus: the old key is in the last release before `version` and in none from
/// `version` on; the new key is in the release at `version` when the corpus has it.
#[test]
#[ignore = "needs ../shared/corpus"]
fn renames_hold_on_the_shared_corpus() {
    let shared = common::shared_corpus();
    let releases = corpus_releases(&shared);
    for rename in Data::load("catalyst").list("renames") {
        let (from, at) = (text(&rename["from"]), version(&rename["version"]));
        let before = releases
            .iter()
            .rev()
            .find(|(v, _)| v < &at)
            .expect("a release before");
        assert!(
            lookup(&before.1, &from).is_some(),
            "{from} is not in {}",
            before.0
        );
        for (v, values) in releases.iter().filter(|(v, _)| v >= &at) {
            assert!(lookup(values, &from).is_none(), "{from} is still in {v}");
        }
        if let (Some(to), Some((_, values))) =
            (rename.get("to"), releases.iter().find(|(v, _)| v == &at))
        {
            assert!(
                lookup(values, &text(to)).is_some(),
                "{} is not in {at}",
                text(to)
            );
        }
    }
}

/// Each default change names keys that really changed at its release: at least one is in that release's values,
/// and each one there is new or has another value than in the release before.
#[test]
#[ignore = "needs ../shared/corpus"]
fn default_changes_name_keys_that_changed_at_their_release_on_the_shared_corpus() {
    let shared = common::shared_corpus();
    let releases = corpus_releases(&shared);
    for change in Data::load("catalyst").list("defaultChanges") {
        let at = version(&change["version"]);
        let index = releases
            .iter()
            .position(|(v, _)| v == &at)
            .expect("the release is in the corpus");
        let (now, before) = (&releases[index].1, &releases[index - 1].1);
        let paths: Vec<String> = change["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        assert!(
            paths.iter().any(|p| lookup(now, p).is_some()),
            "none of {paths:?} is in {at}"
        );
        for path in paths.iter().filter(|p| lookup(now, p).is_some()) {
            assert_ne!(
                lookup(now, path),
                lookup(before, path),
                "{path} did not change at {at}"
            );
        }
    }
}

/// Keys that leave the default values without leaving the chart.
const NOT_RENAMES: [&str; 3] = [
    // Feature flags are a free map: a flag leaving the defaults is no key change.
    ".featureflags.",
    // Both are still documented, commented out, in the 1.90.0 values.
    "agent.config.internal_dapr.scheduler.storage_class",
    "gateway.tls.secretName",
];

/// The renames are complete: every key that disappears between two consecutive releases of the corpus is
/// renamed or removed by an entry (itself, a map above it, or every key below it), or is listed in NOT_RENAMES.
#[test]
#[ignore = "needs ../shared/corpus"]
fn every_key_that_leaves_the_defaults_is_in_renames_on_the_shared_corpus() {
    let shared = common::shared_corpus();
    let renamed = Data::load("catalyst").renamed_paths();
    let covered = |path: &str| {
        renamed.iter().any(|from| {
            path == from
                || path.starts_with(&format!("{from}."))
                || from.starts_with(&format!("{path}."))
        }) || NOT_RENAMES
            .iter()
            .any(|known| path == *known || path.contains(known))
    };
    let releases = corpus_releases(&shared);
    let mut missing = Vec::new();
    for pair in releases.windows(2) {
        let (now, before) = (key_paths(&pair[1].1, ""), key_paths(&pair[0].1, ""));
        for gone in before.difference(&now).filter(|p| !covered(p)) {
            missing.push(format!("{gone} ({} -> {})", pair[0].0, pair[1].0));
        }
    }
    assert!(
        missing.is_empty(),
        "keys that left the defaults without a rename: {missing:#?}"
    );
}

/// Every key path of a values tree (maps only), dotted.
fn key_paths(value: &Value, prefix: &str) -> std::collections::BTreeSet<String> {
    let mut paths = std::collections::BTreeSet::new();
    for (key, child) in value.as_object().into_iter().flatten() {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        paths.extend(key_paths(child, &path));
        paths.insert(path);
    }
    paths
}

/// The default values of each release of the corpus, oldest first.
fn corpus_releases(shared: &Path) -> Vec<(Version, Value)> {
    let mut releases: Vec<(Version, Value)> = values_files(&shared.join("corpus/catalyst/values"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".values.yaml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let v = Version::parse(
                name.trim_start_matches('v')
                    .trim_end_matches(".values.yaml"),
            )
            .unwrap();
            (v, read_yaml(&p))
        })
        .collect();
    releases.sort_by(|a, b| a.0.cmp(&b.0));
    releases
}

/// A chart that carries one of the schemas: real Helm validates values against it on `helm template`.
fn helm_verdict(
    helm: u8,
    schema: &Path,
    defaults: Option<&Path>,
    values: &Path,
) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: sample\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::copy(schema, chart.join("values.schema.json")).unwrap();
    match defaults {
        Some(file) => std::fs::copy(file, chart.join("values.yaml"))
            .map(drop)
            .unwrap(),
        None => std::fs::write(chart.join("values.yaml"), "{}\n").unwrap(),
    }
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sample\n",
    )
    .unwrap();
    let output = Command::new(common::helm(helm))
        .envs(common::helm_env(&dir.path().join("home")))
        .args(["template", "sample"])
        .arg(&chart)
        .arg("-f")
        .arg(values)
        .output()
        .expect("helm runs");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn real_helm_3_and_4_accept_the_schemas_and_agree_on_the_examples() {
    let catalyst = Data::load("catalyst").schema_file(1);
    let defaults = testdata("catalyst/values/v1.90.0.values.yaml");
    let opsta = Data::load("opsta-ai-gateway").schema_file(1);
    for helm in [3, 4] {
        for good in [
            "good.values.yaml",
            "previous.values.yaml",
            "values/v1.90.0.values-production.yaml",
        ] {
            let verdict = helm_verdict(
                helm,
                &catalyst,
                Some(&defaults),
                &testdata(&format!("catalyst/{good}")),
            );
            assert_eq!(verdict, Ok(()), "helm {helm}, {good}");
        }
        let bad = helm_verdict(
            helm,
            &catalyst,
            Some(&defaults),
            &testdata("catalyst/bad.values.yaml"),
        )
        .expect_err("helm rejects bad.values.yaml");
        assert!(
            bad.contains("tsl") && bad.contains("nodeSelector"),
            "helm {helm}: {bad}"
        );
        for good in ["good.values.yaml", "secrets-values.yaml"] {
            let verdict = helm_verdict(
                helm,
                &opsta,
                None,
                &testdata(&format!("opsta-ai-gateway/{good}")),
            );
            assert_eq!(verdict, Ok(()), "helm {helm}, {good}");
        }
    }
    let v0 = Data::load("catalyst").schema_file(0);
    let defaults0 = testdata("catalyst/values/v0.109.0.values.yaml");
    assert_eq!(helm_verdict(4, &v0, Some(&defaults0), &defaults0), Ok(()));
}

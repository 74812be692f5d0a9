//! `lint --chart` against the real Helm 4: the chart in testdata/generic-chart/parent (its own schema, values.yaml
//! defaults, a subchart `sub` switched by a condition and the same subchart again as `sub2`, switched off by a tag)
//! goes through `helm template` with each values variant below, and through `opsta-lint lint --chart` on the chart
//! folder and on its packaged archive. The verdicts (accepted or refused) must be equal on every variant; where
//! Helm refuses for its schemas, opsta-lint must say so with the schema rules (OL001/OL002).

use crate::common;

use std::path::Path;
use std::process::Command;

/// Values variants: nulls for keys with and without defaults, top level and nested, in the parent and in the
/// subchart, globals, conditions and tags, values for the subchart.
const VARIANTS: &[(&str, &str)] = &[
    ("empty", "{}\n"),
    ("replicas-3", "replicas: 3\n"),
    ("replicas-0", "replicas: 0\n"),
    (
        "replicas-null-deletes-a-required-default",
        "replicas: null\n",
    ),
    ("replicas-string", "replicas: \"3\"\n"),
    (
        "image-tag-null-deletes-the-default",
        "image:\n  tag: null\n",
    ),
    (
        "image-digest-null-no-default-kept",
        "image:\n  digest: null\n",
    ),
    (
        "image-repository-null-required",
        "image:\n  repository: null\n",
    ),
    ("image-null", "image: null\n"),
    (
        "pull-policy-outside-enum",
        "image:\n  pullPolicy: Sometimes\n",
    ),
    ("top-level-typo", "imag:\n  tag: \"2\"\n"),
    ("null-over-a-null-default", "nodeSelector: null\n"),
    ("node-selector-map", "nodeSelector:\n  disk: ssd\n"),
    ("node-selector-list", "nodeSelector: [ssd]\n"),
    ("extra-null-no-default-kept", "extra: null\n"),
    ("extra-string", "extra: hello\n"),
    ("extra-number", "extra: 5\n"),
    ("nested-null-with-default", "service:\n  port: null\n"),
    ("nested-null-without-default", "service:\n  type: null\n"),
    ("service-null", "service: null\n"),
    ("global-region-bad", "global:\n  region: mars\n"),
    ("global-region-us", "global:\n  region: us\n"),
    ("global-region-null", "global:\n  region: null\n"),
    (
        "global-labels-for-the-subchart-schema",
        "global:\n  labels:\n    team: 5\n",
    ),
    (
        "global-labels-strings",
        "global:\n  labels:\n    team: core\n",
    ),
    ("global-null", "global: null\n"),
    ("global-number", "global: 5\n"),
    ("sub-mode-bad", "sub:\n  mode: slow\n"),
    ("sub-mode-safe", "sub:\n  mode: safe\n"),
    (
        "sub-mode-null-deleted-in-the-subchart",
        "sub:\n  mode: null\n",
    ),
    ("sub-workers-too-many", "sub:\n  workers: 9\n"),
    ("sub-workers-null-deleted", "sub:\n  workers: null\n"),
    (
        "sub-nested-null-with-default",
        "sub:\n  limits:\n    cpu: null\n",
    ),
    (
        "sub-nested-null-without-default",
        "sub:\n  limits:\n    memory: null\n",
    ),
    ("sub-limits-null", "sub:\n  limits: null\n"),
    ("sub-unknown-key", "sub:\n  unknown: 1\n"),
    (
        "sub-disabled-not-validated",
        "sub:\n  enabled: false\n  mode: slow\n",
    ),
    (
        "sub-disabled-bad-workers",
        "sub:\n  enabled: false\n  workers: x\n",
    ),
    ("sub-not-a-map", "sub: 5\n"),
    ("sub-null", "sub: null\n"),
    (
        "sub-global-overridden-by-parent",
        "sub:\n  global:\n    region: mars\n",
    ),
    ("sub2-off-by-tag", "sub2:\n  workers: 10\n"),
    (
        "sub2-on-by-tag",
        "tags:\n  extras: true\nsub2:\n  workers: 10\n",
    ),
    (
        "sub2-on-by-condition",
        "sub2:\n  enabled: true\n  mode: slow\n",
    ),
    (
        "sub2-on-and-valid",
        "sub2:\n  enabled: true\n  workers: 3\n",
    ),
    ("tags-not-a-map", "tags: 5\n"),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Accepted,
    /// Refused by a values.schema.json.
    Schema,
    /// Refused before validation (values of a subchart that are not a map).
    Other,
}

fn helm_verdict(helm: &Path, home: &Path, chart: &Path, file: &Path) -> (Verdict, String) {
    let o = Command::new(helm)
        .args(["template", "parity"])
        .arg(chart)
        .arg("-f")
        .arg(file)
        .envs(common::helm_env(home))
        .output()
        .expect("helm runs");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let verdict = match (
        o.status.success(),
        stderr.contains("don't meet the specifications of the schema"),
    ) {
        (true, _) => Verdict::Accepted,
        (false, true) => Verdict::Schema,
        (false, false) => Verdict::Other,
    };
    (verdict, stderr)
}

fn our_verdict(chart: &Path, file: &Path) -> (Verdict, String) {
    let o = common::bin()
        .args(["lint", "-o", "json", "--chart"])
        .arg(chart)
        .arg(file)
        .env_remove("HELM_BIN")
        .output()
        .expect("opsta-lint runs");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr);
    let verdict = match o.status.code() {
        Some(0) => Verdict::Accepted,
        Some(1) if stdout.contains("must be a map") => Verdict::Other,
        Some(1) => Verdict::Schema,
        other => panic!("{}: exit {other:?}: {stderr}", file.display()),
    };
    (verdict, stdout)
}

#[test]
fn verdicts_equal_helm_4_on_every_variant() {
    let started = std::time::Instant::now();
    assert!(VARIANTS.len() >= 30);
    let chart = common::root().join("testdata/generic-chart/parent");
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let helm = common::helm(4);
    let packaged = Command::new(&helm)
        .arg("package")
        .arg(&chart)
        .arg("-d")
        .arg(work.path())
        .envs(common::helm_env(&home))
        .output()
        .unwrap();
    assert!(packaged.status.success(), "{packaged:?}");
    let archive = work.path().join("parent-1.2.0.tgz");
    let mut wrong = Vec::new();
    let mut seen = Vec::new();
    for (name, text) in VARIANTS {
        let file = work.path().join(format!("{name}.yaml"));
        std::fs::write(&file, text).unwrap();
        let (helm_says, helm_stderr) = helm_verdict(&helm, &home, &chart, &file);
        let (ours, report) = our_verdict(&chart, &file);
        let (from_archive, _) = our_verdict(&archive, &file);
        seen.push(helm_says);
        if ours != helm_says || from_archive != helm_says {
            wrong.push(format!(
                "{name}: Helm 4 {helm_says:?}, opsta-lint {ours:?} (archive: {from_archive:?})\n  helm: {}\n  ours: {}",
                helm_stderr.trim(),
                report.trim()
            ));
        }
    }
    let count = |v: Verdict| seen.iter().filter(|&&s| s == v).count();
    println!(
        "lint --chart: {} variants against Helm 4 ({} accepted, {} refused by a schema, {} refused before) ({:.0} s)",
        VARIANTS.len(),
        count(Verdict::Accepted),
        count(Verdict::Schema),
        count(Verdict::Other),
        started.elapsed().as_secs_f64()
    );
    // The variants exercise each verdict, so that agreeing is not agreeing on one answer.
    for verdict in [Verdict::Accepted, Verdict::Schema, Verdict::Other] {
        assert!(
            seen.contains(&verdict),
            "no variant where Helm says {verdict:?}"
        );
    }
    assert!(
        wrong.is_empty(),
        "opsta-lint differs from Helm 4:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn findings_name_the_key_in_the_users_file_and_the_subchart() {
    let chart = common::root().join("testdata/generic-chart/parent");
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("values.yaml");
    std::fs::write(&file, "replicas: 2\nsub:\n  workers: 9\n  unknwn: 1\n").unwrap();
    let o = common::bin()
        .args(["lint", "--chart"])
        .arg(&chart)
        .arg(&file)
        .env_remove("HELM_BIN")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("values.yaml:3:3: OL001"), "{out}");
    assert!(out.contains("values.yaml:4:3: OL002"), "{out}");
    assert!(out.contains("unknown key unknwn in sub"), "{out}");
    assert!(
        out.contains("charts/sub/values.yaml merged beneath"),
        "{out}"
    );
    let o = common::bin()
        .args(["lint", "--chart", "no-such-chart", "--product", "catalyst"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

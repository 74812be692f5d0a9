//! `opsta-lint lint`, `rules` and `versions` end to end: every rule firing and not firing, where findings point,
//! the three output formats, bad input, secrets, and generic mode against the real Helm 4.

use crate::common;

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "jt-SECRET-7f3a9c";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs opsta-lint in `dir` with the test product data (testdata/lint/data: products `demo` and `forward`).
fn run_in(dir: &Path, args: &[&str]) -> Out {
    run_with(dir, args, Some(common::root().join("testdata/lint/data")))
}

fn run_with(dir: &Path, args: &[&str], data: Option<PathBuf>) -> Out {
    let mut cmd = common::bin();
    cmd.current_dir(dir)
        .args(args)
        .env_remove("OPSTA_LINT_DATA");
    if let Some(data) = data {
        cmd.env("OPSTA_LINT_DATA", data);
    }
    out(cmd)
}

fn out(mut cmd: Command) -> Out {
    let o = cmd.output().expect("runs");
    let out = Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    assert!(!out.stderr.contains("panicked"), "panic: {}", out.stderr);
    out
}

/// A temporary folder holding the given files.
fn files(list: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in list {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

/// Lints with `-o json` and returns (exit code, findings of the first run).
fn findings(dir: &Path, args: &[&str]) -> (i32, Vec<Json>) {
    let mut all = vec!["lint", "-o", "json"];
    all.extend_from_slice(args);
    let o = run_in(dir, &all);
    assert!(
        o.code == 0 || o.code == 1,
        "exit {}: {}{}",
        o.code,
        o.stdout,
        o.stderr
    );
    let report: Json =
        serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", o.stdout));
    (
        o.code,
        report["runs"][0]["findings"].as_array().unwrap().clone(),
    )
}

fn codes(found: &[Json]) -> Vec<String> {
    found
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts a run's exit code and findings' codes, in order, and that the first finding's message contains `text`;
/// returns the findings.
fn expect_findings(run: (i32, Vec<Json>), expected: (i32, &[&str]), text: &str) -> Vec<Json> {
    let (code, found) = run;
    assert_eq!(
        (code, codes(&found)),
        (
            expected.0,
            expected.1.iter().map(|c| c.to_string()).collect()
        ),
        "{found:?}"
    );
    assert!(
        found[0]["message"].as_str().unwrap().contains(text),
        "{found:?}"
    );
    found
}

fn with_code<'a>(found: &'a [Json], code: &str) -> Vec<&'a Json> {
    found.iter().filter(|f| f["code"] == code).collect()
}

/// (file, line, column) of a finding.
fn place(f: &Json) -> (String, u64, u64) {
    let l = &f["location"];
    (
        l["file"].as_str().unwrap_or("").to_string(),
        l["line"].as_u64().unwrap_or(0),
        l["column"].as_u64().unwrap_or(0),
    )
}

const GOOD: &str = "join_token: jt-good-1\nagent:\n  replicas: 2\n  logLevel: info\nimages:\n  builtTag: v1.90.0\ngateway:\n  host: example.com\n";
const DEMO: [&str; 4] = ["--product", "demo", "--chart-version", "1.90.0"];

fn demo<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = DEMO.to_vec();
    v.extend_from_slice(extra);
    v
}

#[test]
fn good_values_pass_every_rule() {
    let dir = files(&[("values.yaml", GOOD)]);
    let (code, found) = findings(dir.path(), &demo(&["values.yaml"]));
    assert_eq!((code, found.len()), (0, 0), "{found:?}");
    let o = run_in(
        dir.path(),
        &[
            "lint",
            "--product",
            "demo",
            "--chart-version",
            "1.90.0",
            "values.yaml",
        ],
    );
    assert_eq!(o.code, 0);
    assert_eq!(o.stdout, "All checks passed.\n");
}

#[test]
fn schema_findings_are_located_sorted_and_suggest_keys() {
    let values = "agnet:\n  replicas: 1\nagent:\n  replicas: zero\n  logLevel: loud\n  replica: 3\nmanagement:\n  tunnel:\n    url: http://x\nports: [80, http]\ngateway: {}\njoin_token: jt-1\nimages: {builtTag: v1.90.0}\n";
    let dir = files(&[("values.yaml", values)]);
    let (code, found) = findings(dir.path(), &demo(&["values.yaml"]));
    assert_eq!(code, 1);
    let shown: Vec<(String, u64, u64, String)> = found
        .iter()
        .map(|f| {
            let (_, line, col) = place(f);
            (
                f["code"].as_str().unwrap().into(),
                line,
                col,
                f["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        (
            "OL002",
            1,
            1,
            "unknown key agnet at the top level; did you mean agent?",
        ),
        (
            "OL001",
            4,
            3,
            "agent.replicas: expected integer, found a string",
        ),
        (
            "OL001",
            5,
            3,
            "agent.logLevel: \"loud\" is not one of \"debug\", \"info\", \"warn\"",
        ),
        (
            "OL002",
            6,
            3,
            "unknown key replica in agent; did you mean replicas?",
        ),
        (
            "OL001",
            9,
            5,
            "management.tunnel.url: \"http://x\" does not match the pattern ^https://",
        ),
        (
            "OL001",
            10,
            13,
            "ports[1]: expected integer, found a string",
        ),
        ("OL001", 11, 1, "required key host is missing in gateway"),
    ];
    let expected: Vec<(String, u64, u64, String)> = expected
        .iter()
        .map(|(c, l, k, m)| (c.to_string(), *l, *k, m.to_string()))
        .collect();
    assert_eq!(shown, expected);
    let second = findings(dir.path(), &demo(&["values.yaml"])).1;
    assert_eq!(second, found, "output is stable");
}

#[test]
fn merged_files_and_set_point_at_the_key_that_set_the_value() {
    let dir = files(&[
        ("base.yaml", "join_token: jt-1\nagent:\n  replicas: 2\n  logLevel: info\ngateway: {host: a}\nimages: {builtTag: v1.90.0}\n"),
        ("prod.yaml", "agent:\n  logLevel: loud\n"),
    ]);
    let (_, found) = findings(
        dir.path(),
        &demo(&["base.yaml", "prod.yaml", "--set", "agent.replicas=many"]),
    );
    assert_eq!(codes(&found), ["OL001", "OL001"], "{found:?}");
    assert_eq!(place(&found[0]), ("prod.yaml".into(), 2, 3));
    assert_eq!(
        found[1]["location"],
        serde_json::json!({"kind": "set", "arg": "agent.replicas=many"})
    );
    let (_, found) = findings(dir.path(), &demo(&["prod.yaml", "base.yaml"]));
    assert!(found.is_empty(), "base.yaml, given last, wins: {found:?}");
    let mut args = vec!["lint"];
    args.extend(demo(&["base.yaml", "--set", "agent.replicas=many"]));
    let o = run_in(dir.path(), &args);
    assert!(
        o.stdout
            .contains("--set agent.replicas=many: OL001 error: agent.replicas: expected integer"),
        "{}",
        o.stdout
    );
}

#[test]
fn null_deletes_a_key_set_by_an_earlier_file() {
    let dir = files(&[
        ("a.yaml", GOOD),
        ("b.yaml", "agent:\n  logLevel: null\n  replicas: ~\n"),
    ]);
    let (code, found) = findings(dir.path(), &demo(&["a.yaml", "b.yaml"]));
    assert_eq!((code, found.len()), (0, 0), "{found:?}");
}

#[test]
fn join_token_missing_empty_or_placeholder_is_an_error() {
    for (values, what) in [
        ("agent: {replicas: 1}\n", "is missing"),
        ("join_token: ''\n", "is empty or a placeholder"),
        ("join_token: '   '\n", "is empty or a placeholder"),
        ("join_token: CHANGEME\n", "is empty or a placeholder"),
        ("join_token: <join-token>\n", "is empty or a placeholder"),
        (
            "join_token: ${CATALYST_JOIN_TOKEN}\n",
            "is empty or a placeholder",
        ),
        ("join_token: null\n", "is missing"),
    ] {
        let text = format!("{values}gateway: {{host: a}}\nimages: {{builtTag: v1.90.0}}\n");
        let dir = files(&[("values.yaml", &text)]);
        let found = expect_findings(
            findings(dir.path(), &demo(&["values.yaml"])),
            (1, &["OL101"]),
            what,
        );
        assert!(found[0]["message"]
            .as_str()
            .unwrap()
            .contains("agent.existingJoinTokenSecret.name"));
    }
    let dir = files(&[("values.yaml", "agent:\n  existingJoinTokenSecret: {name: jt}\ngateway: {host: a}\nimages: {builtTag: v1.90.0}\n")]);
    assert_eq!(findings(dir.path(), &demo(&["values.yaml"])), (0, vec![]));
}

#[test]
fn join_token_only_from_set_is_a_warning() {
    let dir = files(&[(
        "values.yaml",
        "agent: {replicas: 1}\ngateway: {host: a}\nimages: {builtTag: v1.90.0}\n",
    )]);
    let set = format!("join_token={TOKEN}");
    let found = expect_findings(
        findings(dir.path(), &demo(&["values.yaml", "--set", &set])),
        (0, &["OL102"]),
        "",
    );
    assert_eq!(found[0]["severity"], "warning");
    assert_eq!(found[0]["location"]["arg"], "join_token=<redacted>");
}

#[test]
fn the_join_token_never_appears_in_any_output() {
    let values = format!("join_token: {TOKEN}\nagent: {{replicas: nope}}\nextra: 1\ngateway: {{host: a}}\nimages: {{builtTag: dev}}\n");
    let flow = format!("{{join_token: {TOKEN}, agent: {{replicas: 1}}, gateway: {{host: a}}}}\n");
    let dir = files(&[
        ("values.yaml", &values),
        ("flow.yaml", &flow),
        ("broken.yaml", &format!("join_token: {TOKEN}\n  bad: [\n")),
    ]);
    let set = format!("join_token={TOKEN}x");
    let schema = common::root().join("testdata/lint/data/demo/values.v1.schema.json");
    let schema = schema.to_str().unwrap();
    let mut seen = 0;
    for format in ["human", "json", "sarif"] {
        for args in [
            demo(&["values.yaml"]),
            demo(&["flow.yaml"]),
            demo(&["values.yaml", "--previous-values", "flow.yaml"]),
            demo(&["--set", &set, "values.yaml"]),
            demo(&["broken.yaml"]),
            vec!["--schema", schema, "values.yaml"],
            vec!["--schema", schema, "--set", "join_token=5", "values.yaml"],
        ] {
            let mut all = vec!["lint", "-o", format];
            all.extend_from_slice(&args);
            let o = run_in(dir.path(), &all);
            assert!(
                !o.stdout.contains(TOKEN) && !o.stderr.contains(TOKEN),
                "{args:?} {format}:\n{}{}",
                o.stdout,
                o.stderr
            );
            seen += o.stdout.len();
        }
    }
    assert!(seen > 0);
}

#[test]
fn sticky_flag_dropped_is_an_error_and_dropped_keys_warn() {
    let previous = "join_token: jt-1\nmanagement:\n  tunnel:\n    enabled: true\nagent:\n  replicas: 2\n  logLevel: info\ngateway: {host: a}\nimages: {builtTag: v1.90.0}\n";
    let dir = files(&[
        ("previous.yaml", previous),
        ("off.yaml", "join_token: jt-1\nmanagement:\n  tunnel:\n    enabled: false\nagent:\n  replicas: 2\ngateway: {host: a}\nimages: {builtTag: v1.90.0}\n"),
        ("absent.yaml", GOOD),
        ("same.yaml", previous),
    ]);
    let (code, found) = findings(
        dir.path(),
        &demo(&["off.yaml", "--previous-values", "previous.yaml"]),
    );
    assert_eq!(code, 1);
    assert_eq!(codes(&found), ["OL201", "OL202"], "{found:?}");
    assert_eq!(place(&found[0]), ("off.yaml".into(), 4, 5));
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.contains("is now off") && message.contains("--enable-public-management-api"),
        "{message}"
    );
    assert_eq!(found[1]["path"], "agent.logLevel");
    assert_eq!(
        place(&found[1]),
        ("previous.yaml".into(), 7, 3),
        "a dropped key points where it was set"
    );
    let (_, found) = findings(
        dir.path(),
        &demo(&["absent.yaml", "--previous-values", "previous.yaml"]),
    );
    assert_eq!(
        codes(&found),
        ["OL201"],
        "the sticky error replaces the dropped-key warning for its key: {found:?}"
    );
    assert!(found[0]["message"]
        .as_str()
        .unwrap()
        .contains("is now absent"));
    assert_eq!(
        findings(
            dir.path(),
            &demo(&["same.yaml", "--previous-values", "previous.yaml"])
        ),
        (0, vec![])
    );
    let (code, found) = findings(
        dir.path(),
        &demo(&["previous.yaml", "--previous-values", "off.yaml"]),
    );
    assert_eq!(
        (code, found.len()),
        (0, 0),
        "turning it on is fine: {found:?}"
    );
}

#[test]
fn renamed_and_removed_keys_name_the_new_path_and_version() {
    let values = "join_token: jt-1\ngateway: {host: a}\nimages: {builtTag: v1.90.0}\nshared:\n  nodeSelector: {disk: ssd}\nmanagement:\n  image:\n    name: mgmt\nold:\n  feature: true\n";
    let dir = files(&[("values.yaml", values)]);
    let (code, found) = findings(dir.path(), &demo(&["values.yaml"]));
    assert_eq!(code, 1);
    let renames = with_code(&found, "OL301");
    let messages: Vec<&str> = renames
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "shared.nodeSelector was renamed to shared.scheduling.nodeSelector in chart 1.51.0; chart 1.90.0 ignores the old key",
            "management.image.name was renamed to management.image.repository in chart 1.10.0; chart 1.90.0 ignores the old key",
            "old.feature was removed in chart 1.60.0 (removed; use feature instead); chart 1.90.0 ignores it",
        ]
    );
    assert_eq!(place(renames[0]), ("values.yaml".into(), 5, 3));
    let unknown: Vec<&Json> = with_code(&found, "OL002");
    let unknown_paths: Vec<&str> = unknown
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        unknown_paths,
        ["old"],
        "schema findings at renamed keys are dropped: {found:?}"
    );
    let (_, found) = findings(
        dir.path(),
        &[
            "--product",
            "demo",
            "--chart-version",
            "1.50.0",
            "values.yaml",
        ],
    );
    assert_eq!(
        with_code(&found, "OL301").len(),
        1,
        "before 1.51 and 1.60 only the 1.10 rename applies: {found:?}"
    );
}

#[test]
fn version_moves_follow_product_policy() {
    let dir = files(&[("values.yaml", GOOD), ("forward.yaml", "forward: {}\n")]);
    let (code, found) = findings(
        dir.path(),
        &demo(&["values.yaml", "--previous-chart-version", "1.80.0"]),
    );
    assert_eq!((code, found.len()), (0, 0), "{found:?}");
    let found = expect_findings(
        findings(
            dir.path(),
            &demo(&["values.yaml", "--previous-chart-version", "0.9.0"]),
        ),
        (1, &["OL401", "OL403"]),
        "--allow-major",
    );
    assert_eq!(found[0]["location"]["kind"], "args");
    expect_findings(
        findings(
            dir.path(),
            &demo(&[
                "values.yaml",
                "--previous-chart-version",
                "0.9.0",
                "--allow-major",
            ]),
        ),
        (0, &["OL403"]),
        "",
    );
    let found = expect_findings(
        findings(
            dir.path(),
            &demo(&["values.yaml", "--previous-chart-version", "1.90.1"]),
        ),
        (0, &["OL402"]),
        "",
    );
    assert_eq!(found[0]["severity"], "warning");
    let fwd = [
        "--product",
        "forward",
        "--chart-version",
        "1.0.0",
        "forward.yaml",
    ];
    expect_findings(
        findings(
            dir.path(),
            &[&fwd[..], &["--previous-chart-version", "1.1.0"]].concat(),
        ),
        (1, &["OL402"]),
        "forward-only",
    );
    let (code, found) = findings(
        dir.path(),
        &[&fwd[..], &["--previous-chart-version", "0.5.0"]].concat(),
    );
    assert_eq!(
        (code, codes(&found), found[0]["severity"].as_str()),
        (0, vec!["OL401".to_string()], Some("warning"))
    );
    let o = run_in(
        dir.path(),
        &[
            "lint",
            "--product",
            "demo",
            "--chart-version",
            "one",
            "values.yaml",
        ],
    );
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("\"one\" is not a chart version"),
        "{}",
        o.stderr
    );
}

#[test]
fn crossing_a_default_change_warns_unless_the_values_decided() {
    let dir = files(&[
        ("values.yaml", GOOD),
        ("decided.yaml", "postgresql: {enabled: false}\n"),
    ]);
    let cross = demo(&["values.yaml", "--previous-chart-version", "1.75.0"]);
    expect_findings(
        findings(dir.path(), &cross),
        (0, &["OL403"]),
        "crosses chart 1.76.0: chart 1.76 creates a PostgreSQL",
    );
    let (_, found) = findings(
        dir.path(),
        &demo(&[
            "values.yaml",
            "decided.yaml",
            "--previous-chart-version",
            "1.75.0",
        ]),
    );
    assert!(found.is_empty(), "{found:?}");
    let (_, found) = findings(
        dir.path(),
        &demo(&["values.yaml", "--previous-chart-version", "1.76.0"]),
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn values_must_not_move_a_pinned_component() {
    let dir = files(&[
        ("values.yaml", GOOD),
        ("dapr.yaml", "agent:\n  dapr:\n    version: 1.16.0\n"),
        ("same.yaml", "agent:\n  dapr:\n    version: \"1.90.0\"\n"),
    ]);
    let found = expect_findings(
        findings(dir.path(), &demo(&["values.yaml", "dapr.yaml"])),
        (1, &["OL404"]),
        "chart 1.90.0 pins dapr 1.19.0",
    );
    assert_eq!(place(&found[0]), ("dapr.yaml".into(), 3, 5));
    assert_eq!(
        findings(dir.path(), &demo(&["values.yaml", "same.yaml"])),
        (0, vec![])
    );
}

#[test]
fn the_product_version_tag_must_be_the_version_installed() {
    for (tag, problem) in [
        ("", "is not set (the chart default, dev, is a mutable tag)"),
        ("images: {builtTag: dev}\n", "is dev, a mutable tag"),
        ("images: {builtTag: latest}\n", "is latest, a mutable tag"),
        (
            "images: {builtTag: v1.89.0}\n",
            "is v1.89.0 but the product version being installed is 1.90.0",
        ),
    ] {
        let dir = files(&[(
            "values.yaml",
            &format!("join_token: jt-1\ngateway: {{host: a}}\n{tag}"),
        )]);
        expect_findings(
            findings(dir.path(), &demo(&["values.yaml"])),
            (1, &["OL501"]),
            problem,
        );
    }
}

#[test]
fn secrets_belong_in_the_secrets_file() {
    let secrets = "secrets:\n  values:\n    db: {password: pw-1234567}\n";
    let dir = files(&[
        ("values.yaml", GOOD),
        ("inline.yaml", secrets),
        ("secrets-values.yaml", secrets),
    ]);
    let found = expect_findings(
        findings(dir.path(), &demo(&["values.yaml", "inline.yaml"])),
        (0, &["OL502"]),
        "move it to secrets-values.yaml",
    );
    assert_eq!(place(&found[0]), ("inline.yaml".into(), 3, 10));
    assert_eq!(
        findings(dir.path(), &demo(&["values.yaml", "secrets-values.yaml"])),
        (0, vec![])
    );
}

#[test]
fn product_is_inferred_from_its_fingerprint_and_said_so() {
    let dir = files(&[
        ("values.yaml", GOOD),
        ("shared-key.yaml", "agent: {}\n"),
        ("anon.yaml", "x: 1\n"),
    ]);
    let o = run_in(
        dir.path(),
        &["lint", "--chart-version", "1.90.0", "values.yaml"],
    );
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(
        o.stdout.starts_with(
            "note: values.yaml: product demo inferred from the keys join_token, agent"
        ),
        "{}",
        o.stdout
    );
    let o = run_in(dir.path(), &["lint", "-o", "json", "values.yaml"]);
    let report: Json = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(
        report["runs"][0]["productInferredFrom"],
        serde_json::json!(["join_token", "agent"])
    );
    assert_eq!(report["runs"][0]["chartVersion"], "2.1.0");
    assert_eq!(report["runs"][0]["chartVersionAssumed"], true);
    let o = run_in(dir.path(), &["lint", "shared-key.yaml"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("as much like demo (agent) as like forward (agent)"),
        "{}",
        o.stderr
    );
    let o = run_in(dir.path(), &["lint", "anon.yaml"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("cannot tell which product"),
        "{}",
        o.stderr
    );
}

#[test]
fn each_lints_files_separately() {
    let dir = files(&[("a.yaml", GOOD), ("b.yaml", "agent: {replicas: x}\n")]);
    let o = run_in(
        dir.path(),
        &[
            "lint",
            "--each",
            "-o",
            "json",
            "--product",
            "demo",
            "--chart-version",
            "1.90.0",
            "a.yaml",
            "b.yaml",
        ],
    );
    assert_eq!(o.code, 1);
    let report: Json = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(report["runs"].as_array().unwrap().len(), 2);
    assert_eq!(report["runs"][0]["findings"], serde_json::json!([]));
    let b = codes(report["runs"][1]["findings"].as_array().unwrap());
    assert!(b.contains(&"OL101".to_string()) && b.contains(&"OL001".to_string()));
    let o = run_in(
        dir.path(),
        &[
            "lint",
            "--each",
            "--ignore",
            "OL101,product-version-tag",
            "--product",
            "demo",
            "a.yaml",
            "b.yaml",
        ],
    );
    assert!(
        !o.stdout.contains("OL101") && !o.stdout.contains("OL501") && o.stdout.contains("OL001"),
        "{}",
        o.stdout
    );
    let o = run_in(dir.path(), &["lint", "--ignore", "OL999", "a.yaml"]);
    assert_eq!(o.code, 2);
}

/// `--each` as the pre-commit hook runs it: a file of no known product is named in its error and the other files
/// are still linted, their findings and notes reported, each note naming its file; the exit code is the worst.
#[test]
fn each_names_the_file_it_cannot_lint_and_goes_on() {
    let dir = files(&[
        ("a.yaml", GOOD),
        ("anon.yaml", "x: 1\n"),
        ("b.yaml", "join_token: jt-1\nagent: {replicas: x}\n"),
    ]);
    let o = run_in(
        dir.path(),
        &[
            "lint",
            "--each",
            "--chart-version",
            "1.90.0",
            "a.yaml",
            "anon.yaml",
            "b.yaml",
        ],
    );
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("opsta-lint: error: anon.yaml: cannot tell which product"),
        "{}",
        o.stderr
    );
    assert!(
        o.stdout.contains("note: a.yaml: product demo inferred")
            && o.stdout.contains("note: b.yaml: product demo inferred"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("b.yaml:2:"),
        "b.yaml's findings: {}",
        o.stdout
    );
}

#[test]
fn human_output_shows_the_line_and_marks_the_key() {
    let dir = files(&[("values.yaml", "join_token: jt-1\ngateway: {host: a}\nimages: {builtTag: v1.90.0}\nagent:\n  loglevel: info\n")]);
    let mut args = vec!["lint"];
    args.extend(demo(&["values.yaml"]));
    let o = run_in(dir.path(), &args);
    assert_eq!(o.code, 1);
    let expected = "values.yaml:5:3: OL002 error: unknown key loglevel in agent; did you mean logLevel?\n  |\n5 |   loglevel: info\n  |   ^^^^^^^^\nFound 1 error and 0 warnings.\n";
    assert_eq!(o.stdout, expected);
    assert!(
        !o.stdout.contains('\u{1b}'),
        "no colors when stdout is not a terminal"
    );
}

#[test]
fn json_output_follows_the_documented_shape() {
    let dir = files(&[("values.yaml", "join_token: jt-1\ngateway: {host: a}\nimages: {builtTag: v1.90.0}\nagent:\n  loglevel: info\n")]);
    let o = run_in(
        dir.path(),
        &[
            "lint",
            "-o",
            "json",
            "--product",
            "demo",
            "--chart-version",
            "1.90.0",
            "values.yaml",
        ],
    );
    let report: Json = serde_json::from_str(&o.stdout).unwrap();
    let expected = serde_json::json!({
        "version": 1,
        "runs": [{
            "files": ["values.yaml"],
            "product": "demo",
            "productInferredFrom": null,
            "chartVersion": "1.90.0",
            "chartVersionAssumed": false,
            "schema": "values.v1.schema.json",
            "chartDefaults": null,
            "findings": [{
                "code": "OL002",
                "name": "unknown-key",
                "severity": "error",
                "message": "unknown key loglevel in agent; did you mean logLevel?",
                "path": "agent.loglevel",
                "pointer": "/agent/loglevel",
                "location": {"kind": "file", "file": "values.yaml", "line": 5, "column": 3, "endColumn": 11}
            }]
        }],
        "summary": {"errors": 1, "warnings": 0}
    });
    assert_eq!(report, expected);
}

#[test]
fn sarif_output_has_what_code_scanning_requires() {
    let dir = files(&[("sub dir/values.yaml", "agent:\n  loglevel: info\n")]);
    let o = run_in(
        dir.path(),
        &[
            "lint",
            "-o",
            "sarif",
            "--product",
            "demo",
            "--chart-version",
            "1.90.0",
            "--previous-chart-version",
            "0.1.0",
            "sub dir/values.yaml",
        ],
    );
    assert_eq!(o.code, 1);
    let sarif: Json = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &sarif["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "opsta-lint");
    let rules = driver["rules"].as_array().unwrap();
    let listed = run_in(dir.path(), &["rules"]).stdout;
    // SARIF describes the lint rules; `rules` also lists the post-renderer's (PR codes).
    assert_eq!(
        rules.len(),
        listed.lines().filter(|l| l.starts_with("OL")).count()
    );
    for rule in rules {
        for key in ["id", "name"] {
            assert!(rule[key].is_string(), "{rule}");
        }
        assert!(
            rule["shortDescription"]["text"].is_string()
                && rule["fullDescription"]["text"].is_string(),
            "{rule}"
        );
        assert!(
            ["error", "warning"].contains(&rule["defaultConfiguration"]["level"].as_str().unwrap())
        );
    }
    let results = run["results"].as_array().unwrap();
    assert!(results.len() >= 3, "{results:?}");
    for result in results {
        let id = result["ruleId"].as_str().unwrap();
        assert_eq!(
            rules[result["ruleIndex"].as_u64().unwrap() as usize]["id"],
            id
        );
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        assert!(result["message"]["text"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        let physical = &result["locations"][0]["physicalLocation"];
        assert_eq!(physical["artifactLocation"]["uri"], "sub%20dir/values.yaml");
        assert!(physical["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(physical["region"]["startColumn"].as_u64().unwrap() >= 1);
    }
    let unknown = results.iter().find(|r| r["ruleId"] == "OL002").unwrap();
    assert_eq!(
        unknown["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    let crossing = results.iter().find(|r| r["ruleId"] == "OL401").unwrap();
    assert!(crossing["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with("command line: "));
}

/// A chart folder with a typed schema and a comments-only values.yaml (many charts ship one), and values files.
fn typed_chart(values: &[(&str, &str)]) -> tempfile::TempDir {
    let schema = r#"{"type": "object", "properties": {"mode": {"type": "integer"}, "name": {"type": "string"}}}"#;
    let mut list = vec![
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: typed\nversion: 0.1.0\n",
        ),
        ("chart/values.schema.json", schema),
        ("chart/values.yaml", "# no defaults\n"),
    ];
    list.extend_from_slice(values);
    files(&list)
}

#[test]
fn values_are_read_as_helm_reads_them_empty_files_documents_and_duplicates() {
    let dir = typed_chart(&[
        ("empty.yaml", ""),
        ("comments.yaml", "# nothing set\n"),
        ("docs.yaml", "mode: 1\n---\nname: a\n---\nmode: x\n"),
        ("dup.yaml", "mode: x\nname: a\nmode: 1\n"),
        ("anchor.yaml", "base: &b\n  mode: x\n<<: *b\n"),
        ("octal.yaml", "mode: 0o644\n"),
    ]);
    let schema = ["--schema", "chart/values.schema.json"];
    let lint = |extra: &[&str]| run_in(dir.path(), &[&["lint"], &schema[..], extra].concat());
    for file in ["empty.yaml", "comments.yaml", "octal.yaml"] {
        let o = lint(&[file]);
        assert_eq!(o.code, 0, "{file}: {}{}", o.stdout, o.stderr);
    }
    // Helm 4 merges the documents in order: the third one's mode is the one validated, and pointed at.
    let (code, found) = findings(dir.path(), &[&schema[..], &["docs.yaml"]].concat());
    assert_eq!(code, 1);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["location"]["line"], 5, "{found:?}");
    // The last of duplicate keys wins, with a warning at the later key.
    let o = lint(&["dup.yaml"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains(
            "dup.yaml:3:1: OL003 warning: \"mode\" is written again here (first on line 1)"
        ),
        "{}",
        o.stdout
    );
    // A value merged in from an anchor is pointed at where the anchor wrote it.
    let (code, found) = findings(dir.path(), &[&schema[..], &["anchor.yaml"]].concat());
    assert_eq!(code, 1);
    assert_eq!(found[0]["location"]["line"], 2, "{found:?}");
}

#[test]
fn where_helm_3_and_4_differ_the_helm_in_use_decides() {
    let dir = typed_chart(&[
        ("docs.yaml", "mode: 1\n---\nmode: x\n"),
        ("quoted-merge.yaml", "\"<<\": {mode: x}\n"),
        ("plain.yaml", "mode: 1\n"),
    ]);
    let helm3 = common::helm(3);
    let helm4 = common::helm(4);
    let lint = |helm: Option<&Path>, env: Option<&Path>, file: &str| {
        let mut args = vec!["lint", "--schema", "chart/values.schema.json"];
        let flag = helm.map(|h| h.to_string_lossy().into_owned());
        if let Some(flag) = &flag {
            args.extend(["--helm", flag.as_str()]);
        }
        args.push(file);
        let mut cmd = common::bin();
        cmd.current_dir(dir.path())
            .args(&args)
            .env_remove("HELM_BIN");
        if let Some(env) = env {
            cmd.env("HELM_BIN", env);
        }
        out(cmd).code
    };
    // Helm 4 (the default) reads every document; Helm 3 the first only.
    assert_eq!(lint(None, None, "docs.yaml"), 1);
    assert_eq!(lint(Some(&helm4), None, "docs.yaml"), 1);
    assert_eq!(lint(Some(&helm3), None, "docs.yaml"), 0);
    assert_eq!(lint(None, Some(&helm3), "docs.yaml"), 0);
    assert_eq!(lint(Some(&helm4), Some(&helm3), "docs.yaml"), 1);
    // Helm 3 validates values written out and read back as YAML, where a key named << merges.
    assert_eq!(lint(None, None, "quoted-merge.yaml"), 0);
    assert_eq!(lint(Some(&helm3), None, "quoted-merge.yaml"), 1);
    // Both Helms agree on these verdicts (the parity suite compares many more with the real binaries).
    for (helm, file, code) in [
        (&helm4, "docs.yaml", 1),
        (&helm3, "docs.yaml", 0),
        (&helm3, "quoted-merge.yaml", 1),
    ] {
        let o = Command::new(helm)
            .current_dir(dir.path())
            .args(["template", "x", "chart", "-f", file])
            .output()
            .unwrap();
        assert_eq!(
            o.status.success(),
            code == 0,
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // As docs/values-reading.md shows it, from the repository root.
    let doc = "lint --helm .tools/helm3/helm --schema testdata/values-parity/chart/values.schema.json testdata/values-parity/cases/multidoc-second-bad-type.yaml";
    let o = out({
        let mut cmd = common::bin();
        cmd.current_dir(common::root())
            .args(doc.split(' '))
            .env_remove("HELM_BIN");
        cmd
    });
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    // A --helm that is not a Helm is an error, asked only when the file needs it.
    let bogus = dir.path().join("chart/values.yaml");
    assert_eq!(lint(Some(&bogus), None, "plain.yaml"), 0);
    assert_eq!(lint(Some(&bogus), None, "docs.yaml"), 2);
}

#[test]
fn bad_input_is_a_clear_error_with_exit_2() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    let dir = files(&[
        ("null-key.yaml", "a: 1\nb:\n  ~: 1\n"),
        ("list.yaml", "- a\n- b\n"),
        ("separator.yaml", "a: 1\n--- {b: 2}\n"),
        ("tabs.yaml", "a:\n\tb: 1\n"),
        ("bomb.yaml", &bomb),
        ("unclosed.yaml", "a: [1, 2\nb: 3\n"),
        ("ok.yaml", "a: 1\n"),
    ]);
    std::fs::write(dir.path().join("binary.yaml"), b"\x7fELF\x02\x01\x01\0\0\0").unwrap();
    let big = dir.path().join("big.yaml");
    let line = "key_with_some_length: value with some length\n";
    std::fs::write(&big, line.repeat(50 * 1024 * 1024 / line.len() + 1)).unwrap();
    for (file, wanted) in [
        ("null-key.yaml", "null-key.yaml:3:3: a null key"),
        ("list.yaml", "list.yaml:1:1: the top level is a list"),
        (
            "separator.yaml",
            "separator.yaml:2:4: invalid YAML document separator: {b: 2}",
        ),
        ("tabs.yaml", "tabs.yaml:2:"),
        ("bomb.yaml", "alias bomb"),
        ("unclosed.yaml", "unclosed.yaml:"),
        ("binary.yaml", "binary.yaml:1:8: contains a NUL byte"),
        (
            "big.yaml",
            "big.yaml: is 50.0 MiB; values files larger than 16 MiB are refused",
        ),
        ("missing.yaml", "missing.yaml: no such file"),
        (".", ".: is a directory"),
    ] {
        let o = run_in(dir.path(), &["lint", "--product", "demo", file]);
        assert_eq!(o.code, 2, "{file}: {}{}", o.stdout, o.stderr);
        assert!(o.stdout.is_empty(), "{file}: {}", o.stdout);
        assert!(
            o.stderr.starts_with("opsta-lint: error: ") && o.stderr.contains(wanted),
            "{file}: {}",
            o.stderr
        );
    }
    for (args, wanted) in [
        (
            vec!["lint", "--product", "nope", "ok.yaml"],
            "unknown product \"nope\"; known products: demo, forward",
        ),
        (
            vec![
                "lint",
                "--product",
                "demo",
                "--chart-version",
                "7.0.0",
                "ok.yaml",
            ],
            "demo has no schema for chart major 7 (known majors: 1, 2)",
        ),
        (
            vec!["lint", "--schema", "missing.json", "ok.yaml"],
            "missing.json: cannot read the schema",
        ),
        (
            vec!["lint", "--schema", "list.yaml", "ok.yaml"],
            "list.yaml:1:2: not valid JSON: invalid number\n",
        ),
        (
            vec!["lint", "--product", "demo", "--set", "a[=1", "ok.yaml"],
            "invalid --set argument \"a[=1\" (key \"a[\" has an unclosed [)",
        ),
        (
            vec!["lint", "--product", "demo", "--set", "a[x]=1", "ok.yaml"],
            "invalid --set argument \"a[x]=1\" (key \"a[x]\": \"x\" is not a list index)",
        ),
        (
            vec![
                "lint",
                "--product",
                "demo",
                "--set",
                "join_token",
                "ok.yaml",
            ],
            "invalid --set argument \"join_token\" (\"join_token\" has no value",
        ),
    ] {
        let o = run_in(dir.path(), &args);
        assert_eq!(o.code, 2, "{args:?}: {}{}", o.stdout, o.stderr);
        assert!(o.stderr.contains(wanted), "{}", o.stderr);
    }
}

#[test]
fn rules_lists_every_rule_and_shows_one() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["rules"]);
    assert_eq!(o.code, 0);
    let listed: Vec<&str> = o
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let lint_rules = listed.iter().filter(|c| c.starts_with("OL")).count();
    let postrender_rules = listed.iter().filter(|c| c.starts_with("PR")).count();
    let other_jobs = ["VF", "PF", "RG"]
        .iter()
        .map(|p| listed.iter().filter(|c| c.starts_with(p)).count())
        .collect::<Vec<_>>();
    assert!(
        lint_rules >= 13
            && postrender_rules == 15
            && other_jobs.iter().all(|n| *n > 0)
            && lint_rules + postrender_rules + other_jobs.iter().sum::<usize>() == listed.len(),
        "{listed:?}"
    );
    let o = run_in(dir.path(), &["rules", "OL101"]);
    assert!(
        o.stdout.starts_with("OL101 join-token-missing (error)")
            && o.stdout.contains("never printed"),
        "{}",
        o.stdout
    );
    assert_eq!(run_in(dir.path(), &["rules", "unknown-key"]).code, 0);
    assert_eq!(run_in(dir.path(), &["rules", "OL999"]).code, 2);
}

#[test]
fn versions_prints_the_pinned_component_version() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(dir.path(), &["versions", "demo", "1.40.0"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "dapr 1.19.0\n"));
    let o = run_in(
        dir.path(),
        &["versions", "demo", "1.90.7", "--component", "dapr"],
    );
    assert_eq!((o.code, o.stdout.as_str()), (0, "1.19.0\n"));
    let o = run_in(dir.path(), &["versions", "demo", "1.91.0"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr
            .contains("no known dapr version (the data covers chart 1.28.0 to 1.90.x)"),
        "{}",
        o.stderr
    );
    let bundled = run_with(dir.path(), &["versions", "catalyst", "1.45.0"], None);
    assert_eq!(
        (bundled.code, bundled.stdout.as_str()),
        (0, "dapr 1.17.3-catalyst.1\n"),
        "{}",
        bundled.stderr
    );
}

// ---- generic mode (--schema) against the real Helm 4 ----

/// The three real charts' schemas: the testdata copies, checked against ../shared when it is there.
fn real_schemas() -> Vec<PathBuf> {
    let copies = common::root().join("testdata/real-schemas");
    let names = ["cloudnative-pg", "cluster", "plugin-barman-cloud"];
    if let Some(shared) = common::shared_dir() {
        for name in names {
            for file in ["values.schema.json", "values.yaml"] {
                let ours = std::fs::read(copies.join(name).join(file)).unwrap();
                let theirs =
                    std::fs::read(shared.join("corpus/real-schemas").join(name).join(file))
                        .unwrap();
                assert!(
                    ours == theirs,
                    "testdata/real-schemas/{name}/{file} differs from the corpus"
                );
            }
        }
    }
    names.iter().map(|n| copies.join(n)).collect()
}

/// A chart folder carrying the schema (and the real defaults) whose template renders nothing of interest.
fn parity_chart(dir: &Path, schema: &Json, defaults: &str) -> PathBuf {
    let chart = dir.join("chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: parity\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), defaults).unwrap();
    std::fs::write(
        chart.join("values.schema.json"),
        serde_json::to_string_pretty(schema).unwrap(),
    )
    .unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: parity\n",
    )
    .unwrap();
    chart
}

/// Values that set one path to one value (maps built along the path).
fn at_path(path: &[String], value: Json) -> Json {
    path.iter()
        .rev()
        .fold(value, |inner, key| serde_json::json!({ key: inner }))
}

/// Invalid-looking variants read from the schema: wrong types, values outside an enum, required keys deleted
/// with null, unknown keys where the schema closes a map. (label, values) pairs, a bounded number of each.
fn variants(schema: &Json) -> Vec<(String, Json)> {
    let mut found: Vec<(String, String, Json)> = Vec::new();
    collect_variants(schema, &mut Vec::new(), &mut found);
    let mut out = Vec::new();
    for kind in ["type", "enum", "required", "extra"] {
        let of_kind: Vec<&(String, String, Json)> =
            found.iter().filter(|(k, _, _)| k == kind).collect();
        let step = (of_kind.len() / 10).max(1);
        out.extend(
            of_kind
                .iter()
                .step_by(step)
                .map(|(k, label, v)| (format!("{k} {label}"), v.clone())),
        );
    }
    out
}

fn collect_variants(node: &Json, path: &mut Vec<String>, out: &mut Vec<(String, String, Json)>) {
    if path.len() > 4 {
        return;
    }
    let label = path.join(".");
    let wrong = match node["type"].as_str().or_else(|| node["type"][0].as_str()) {
        Some("string") => Some(serde_json::json!(12345)),
        Some("integer" | "number") => Some(serde_json::json!("not-a-number")),
        Some("boolean") => Some(serde_json::json!("not-a-boolean")),
        Some("object") => Some(serde_json::json!("not-a-map")),
        Some("array") => Some(serde_json::json!("not-a-list")),
        _ => None,
    };
    if let (Some(wrong), false) = (wrong, path.is_empty()) {
        out.push(("type".into(), label.clone(), at_path(path, wrong)));
    }
    if node.get("enum").is_some() && !path.is_empty() {
        out.push((
            "enum".into(),
            label.clone(),
            at_path(path, serde_json::json!("not-in-the-enum")),
        ));
    }
    for name in node["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
    {
        let mut p = path.clone();
        p.push(name.to_string());
        out.push(("required".into(), p.join("."), at_path(&p, Json::Null)));
    }
    if node["additionalProperties"] == Json::Bool(false) {
        let mut p = path.clone();
        p.push("unexpectedKey".into());
        out.push((
            "extra".into(),
            p.join("."),
            at_path(&p, serde_json::json!("x")),
        ));
    }
    for (key, child) in node["properties"].as_object().into_iter().flatten() {
        path.push(key.clone());
        collect_variants(child, path, out);
        path.pop();
    }
}

/// The schema with its top-level map closed: the real schemas forbid no extra keys, this one does.
fn closed(schema: &Json) -> Json {
    let mut closed = schema.clone();
    closed["additionalProperties"] = Json::Bool(false);
    closed
}

#[test]
fn generic_mode_gives_helm_4_verdicts_on_real_schemas() {
    let helm = common::helm(4);
    let (mut accepted, mut rejected) = (0, 0);
    for folder in real_schemas() {
        let schema: Json = serde_json::from_str(
            &std::fs::read_to_string(folder.join("values.schema.json")).unwrap(),
        )
        .unwrap();
        let defaults = std::fs::read_to_string(folder.join("values.yaml")).unwrap();
        for (variant_of, schema) in [("as shipped", schema.clone()), ("closed", closed(&schema))] {
            let home = tempfile::tempdir().unwrap();
            let chart = parity_chart(home.path(), &schema, &defaults);
            let mut cases: Vec<(String, String)> = variants(&schema)
                .into_iter()
                .map(|(label, v)| (label, serde_json::to_string_pretty(&v).unwrap()))
                .collect();
            cases.push(("the chart's own values".into(), defaults.clone()));
            cases.push(("no values".into(), "{}\n".into()));
            cases.push((
                "extra top-level key".into(),
                "unexpectedTopLevelKey: 1\n".into(),
            ));
            let examples = folder.join("examples");
            for entry in std::fs::read_dir(&examples).into_iter().flatten() {
                let path = entry.unwrap().path();
                cases.push((
                    format!("example {}", path.display()),
                    std::fs::read_to_string(&path).unwrap(),
                ));
            }
            for (i, (label, text)) in cases.iter().enumerate() {
                let file = home.path().join(format!("variant-{i}.yaml"));
                std::fs::write(&file, text).unwrap();
                let mut cmd = Command::new(&helm);
                cmd.args(["template", "parity"])
                    .arg(&chart)
                    .arg("-f")
                    .arg(&file)
                    .envs(common::helm_env(home.path()));
                let h = cmd.output().unwrap();
                let helm_rejects = !h.status.success();
                let helm_err = String::from_utf8_lossy(&h.stderr);
                if helm_rejects {
                    assert!(
                        helm_err.contains("don't meet the specifications of the schema"),
                        "helm failed otherwise: {helm_err}"
                    );
                }
                let schema_file = chart.join("values.schema.json");
                let o = run_with(
                    home.path(),
                    &[
                        "lint",
                        "--schema",
                        schema_file.to_str().unwrap(),
                        file.to_str().unwrap(),
                    ],
                    None,
                );
                assert!(
                    o.code == 0 || o.code == 1,
                    "{label}: {}{}",
                    o.stdout,
                    o.stderr
                );
                let name = folder.file_name().unwrap().to_string_lossy();
                assert_eq!(
                    o.code == 1,
                    helm_rejects,
                    "{name} ({variant_of}), {label}:\n{text}\nhelm: {helm_err}\nopsta-lint: {}",
                    o.stdout
                );
                if helm_rejects {
                    rejected += 1;
                } else {
                    accepted += 1;
                }
            }
        }
    }
    eprintln!(
        "generic mode agreed with Helm 4 on {accepted} accepted and {rejected} rejected variants"
    );
    assert!(
        accepted >= 20 && rejected >= 40,
        "too few of each verdict: {accepted} accepted, {rejected} rejected"
    );
}

// ---- the Helm plugin ----

#[test]
fn helm_plugin_runs_lint_on_helm_3_and_4_with_exit_codes_passed_through() {
    let work = files(&[
        ("good.yaml", "join_token: jt-plugin-0001\n"),
        ("bad.yaml", "join_token: jt-plugin-0001\njoinToken: x\n"),
    ]);
    let plugin = common::cli_plugin_source(work.path());
    for major in [3, 4] {
        let home = tempfile::tempdir().unwrap();
        let helm = |args: &[&str]| {
            let mut cmd = Command::new(common::helm(major));
            cmd.current_dir(work.path())
                .args(args)
                .envs(common::helm_env(home.path()))
                .env("OPSTA_LINT_BIN", env!("CARGO_BIN_EXE_opsta-lint"))
                .env_remove("OPSTA_LINT_DATA");
            out(cmd)
        };
        let installed = helm(&["plugin", "install", plugin.to_str().unwrap()]);
        assert_eq!(
            installed.code, 0,
            "helm {major} plugin install: {}{}",
            installed.stdout, installed.stderr
        );
        let listed = helm(&["plugin", "list"]);
        assert!(
            listed.stdout.contains("opsta-lint") && listed.stdout.contains("0.1.0"),
            "helm {major}: {}",
            listed.stdout
        );
        let lint = [
            "opsta-lint",
            "lint",
            "--product",
            "catalyst",
            "--chart-version",
            "1.90.0",
        ];
        let good = helm(&[&lint[..], &["good.yaml"]].concat());
        assert_eq!(
            (good.code, good.stdout.as_str()),
            (0, "All checks passed.\n"),
            "helm {major}: {}",
            good.stderr
        );
        let bad = helm(&[&lint[..], &["bad.yaml"]].concat());
        assert_eq!(bad.code, 1, "helm {major}: {}{}", bad.stdout, bad.stderr);
        assert!(
            bad.stdout
                .contains("bad.yaml:2:1: OL002 error: unknown key joinToken"),
            "helm {major}: {}",
            bad.stdout
        );
        let missing = helm(&[&lint[..], &["missing.yaml"]].concat());
        assert_eq!(
            missing.code, 2,
            "helm {major}: {}{}",
            missing.stdout, missing.stderr
        );
        assert!(
            missing.stderr.contains("missing.yaml: no such file"),
            "helm {major}: {}",
            missing.stderr
        );
        let versions = helm(&["opsta-lint", "versions", "catalyst", "1.45.0"]);
        assert_eq!(
            (versions.code, versions.stdout.as_str()),
            (0, "dapr 1.17.3-catalyst.1\n"),
            "helm {major}"
        );
    }
}

// ---- the pre-commit hook ----

fn git(dir: &Path, args: &[&str]) -> Out {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "opsta-lint test")
        .env("GIT_AUTHOR_EMAIL", "test@opsta-lint.invalid")
        .env("GIT_COMMITTER_NAME", "opsta-lint test")
        .env("GIT_COMMITTER_EMAIL", "test@opsta-lint.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    out(cmd)
}

/// A git repository holding this checkout's files (as they are on disk) in one commit. The commit is
/// deterministic, so unchanged sources give the same revision and pre-commit reuses the hook it built.
/// Environment for `cargo install` that builds quickly: the release profile without optimization or LTO.
fn cheap_release(target: &Path) -> Vec<(&'static str, std::ffi::OsString)> {
    vec![
        ("CARGO_TARGET_DIR", target.join("build").into()),
        ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0".into()),
        ("CARGO_PROFILE_RELEASE_LTO", "false".into()),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256".into()),
        ("CARGO_PROFILE_RELEASE_INCREMENTAL", "true".into()),
    ]
}

fn hook_repo(at: &Path) -> String {
    let _ = std::fs::remove_dir_all(at);
    std::fs::create_dir_all(at).unwrap();
    let listed = git(
        &common::root(),
        &["ls-files", "--cached", "--others", "--exclude-standard"],
    );
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    for file in listed.stdout.lines().filter(|f| {
        !["testdata/", "tests/", "fuzz/"]
            .iter()
            .any(|d| f.starts_with(d))
    }) {
        let from = common::root().join(file);
        if !from.is_file() {
            continue;
        }
        let to = at.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&from, &to).unwrap();
    }
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["commit", "-q", "-m", "opsta-lint hook under test"],
    ] {
        let o = git(at, args);
        assert_eq!(o.code, 0, "git {args:?}: {}", o.stderr);
    }
    git(at, &["rev-parse", "HEAD"]).stdout.trim().to_string()
}

#[test]
fn pre_commit_hook_blocks_a_bad_values_file_and_passes_a_good_one() {
    let pre_commit = common::tool("venv/bin/pre-commit");
    // pre-commit builds the hook with `cargo install` (release profile). Here the build goes to a folder of its own
    // inside this test build's target folder, with the release profile made cheap (no optimization, no LTO) through
    // CARGO_PROFILE_RELEASE_* variables: dependencies are built once, and later runs rebuild only changed sources.
    // pre-commit's cache lives beside it and the hook repository's commit is deterministic, so unchanged sources
    // reuse the installed hook. Real users get the optimized build.
    let target = Path::new(env!("CARGO_BIN_EXE_opsta-lint"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("pre-commit");
    let rev = hook_repo(&target.join("pre-commit-hook-repo"));
    let project = tempfile::tempdir().unwrap();
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: opsta-lint\n",
        target.join("pre-commit-hook-repo").display()
    );
    let dir = project.path();
    std::fs::write(dir.join(".pre-commit-config.yaml"), config).unwrap();
    std::fs::write(dir.join("README.md"), "not a values file\n").unwrap();
    assert_eq!(git(dir, &["init", "-q"]).code, 0);
    let pre_commit_run = |args: &[&str]| {
        let mut cmd = Command::new(&pre_commit);
        cmd.current_dir(dir)
            .args(args)
            .env("PRE_COMMIT_HOME", target.join("pre-commit-home"))
            .envs(cheap_release(&target))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("OPSTA_LINT_DATA");
        out(cmd)
    };
    let installed = pre_commit_run(&["install"]);
    assert_eq!(
        installed.code, 0,
        "{}{}",
        installed.stdout, installed.stderr
    );
    let started = std::time::Instant::now();
    let built = pre_commit_run(&["install-hooks"]);
    assert_eq!(built.code, 0, "{}{}", built.stdout, built.stderr);
    eprintln!(
        "pre-commit built or reused the hook in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let commit = |file: &str, text: &str| {
        std::fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
        std::fs::write(dir.join(file), text).unwrap();
        assert_eq!(git(dir, &["add", "-A"]).code, 0);
        let mut cmd = Command::new("git");
        cmd.current_dir(dir)
            .args(["commit", "-q", "-m", file])
            .env("PRE_COMMIT_HOME", target.join("pre-commit-home"))
            .envs(cheap_release(&target))
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@t.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@t.invalid")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("OPSTA_LINT_DATA");
        out(cmd)
    };
    let bad = commit(
        "catalyst/values.yaml",
        "join_token: jt-hook-0001\nglobal:\n  imagee:\n    registry: mirror.example\n",
    );
    assert_ne!(
        bad.code, 0,
        "the bad file must block the commit: {}{}",
        bad.stdout, bad.stderr
    );
    let shown = format!("{}{}", bad.stdout, bad.stderr);
    assert!(shown.contains("catalyst/values.yaml:3:3: OL002 error: unknown key imagee in global; did you mean image?"), "{shown}");
    assert!(shown.contains("  |   ^^^^^^"), "{shown}");
    assert!(!shown.contains("jt-hook-0001"), "{shown}");
    let log = git(dir, &["log", "--oneline"]);
    assert!(
        log.stdout.is_empty(),
        "nothing was committed: {}",
        log.stdout
    );
    let good = commit(
        "catalyst/values.yaml",
        "global:\n  image:\n    registry: mirror.example\nagent:\n  config: {}\n",
    );
    assert_eq!(
        good.code, 0,
        "the good file passes (the token lives in a secrets file): {}{}",
        good.stdout, good.stderr
    );
    assert_eq!(git(dir, &["log", "--oneline"]).stdout.lines().count(), 1);
}

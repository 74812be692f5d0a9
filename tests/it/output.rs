//! The output layer as users meet it: SARIF 2.1.0 from postrender and verify, valid against the SARIF schema
//! (checked with check-jsonschema, not by hand); `--ignore` for postrender; `opsta-lint rules` listing every job.

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

const SCHEMA: &str = "testdata/sarif/sarif-2.1.0-rtm.5.json";

/// Validates a SARIF file against the SARIF 2.1.0 schema; returns check-jsonschema's verdict and output.
fn sarif_is_valid(file: &Path) -> (bool, String) {
    let out = Command::new(common::tool("venv/bin/check-jsonschema"))
        .args(["--regex-variant", "python", "--schemafile"])
        .arg(common::root().join(SCHEMA))
        .arg(file)
        .output()
        .expect("check-jsonschema runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A Helm 3 render (one `# Source:` comment per document) on stdin: an unlocked image in the second document.
const RENDER: &str = "---\n# Source: app/templates/web.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  \
                      namespace: edge\nspec:\n  containers:\n  - name: web\n    image: nginx:1.27\n---\n\
                      # Source: app/templates/cache.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: cache\n  \
                      namespace: edge\nspec:\n  containers:\n  - name: redis\n    image: redis:7\n";

fn postrender(render: &str, args: &[&str]) -> Output {
    let mut child = common::bin()
        .args(["postrender", "--lock", "testdata/locks/edge-cases.yaml"])
        .args(args)
        .current_dir(common::root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(render.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn postrender_writes_valid_sarif_naming_each_template() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.sarif");
    let out = postrender(
        RENDER,
        &["-o", "sarif", "--report", report.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        out.stdout.is_empty(),
        "a failing post-renderer prints nothing on stdout"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("<stdin>:22:12: error[PR001]"),
        "people still read lines: {stderr}"
    );
    let (valid, verdict) = sarif_is_valid(&report);
    assert!(valid, "{verdict}");
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let codes: Vec<&str> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["PR001", "PR007"], "{log:#}");
    let unlocked = &results[0];
    assert_eq!(
        unlocked["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app/templates/cache.yaml",
        "the result names the template of its document, not <stdin>"
    );
    assert!(
        unlocked["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("rendered line 22, column 12: Pod edge/cache, container \"redis\""),
        "{unlocked:#}"
    );
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let index = unlocked["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], "PR001");

    // The check can fail: a log without its version is refused.
    let mut broken = log.clone();
    broken.as_object_mut().unwrap().remove("version");
    let broken_file = dir.path().join("broken.sarif");
    std::fs::write(&broken_file, broken.to_string()).unwrap();
    assert!(
        !sarif_is_valid(&broken_file).0,
        "the schema check rejects a broken log"
    );
}

#[test]
fn postrender_json_report_goes_to_the_file_and_stdout_keeps_the_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let locked = RENDER
        .split("---\n# Source: app/templates/cache.yaml")
        .next()
        .unwrap();
    let out = postrender(
        locked,
        &["-o", "json", "--report", report.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("image: nginx:1.27@sha256:cd4495bb"),
        "{stdout}"
    );
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(value["findings"][0]["code"], "PR007", "{value:#}");
    assert_eq!(value["findings"][0]["severity"], "warning", "{value:#}");
    assert!(
        value["summary"].as_str().unwrap().contains("1 rewritten"),
        "{value:#}"
    );
}

#[test]
fn ignore_silences_a_warning_but_never_an_error() {
    let locked = RENDER
        .split("---\n# Source: app/templates/cache.yaml")
        .next()
        .unwrap();
    let out = postrender(locked, &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning[PR007]"));
    let out = postrender(locked, &["--ignore", "PR007"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("PR007"), "{stderr}");
    let out = postrender(locked, &["--ignore", "helm3-hooks-unpinned"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("PR007"));

    let out = postrender(RENDER, &["--ignore", "PR001,PR007"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unlocked image still stops the render"
    );
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[PR001]"));

    let out = postrender(locked, &["--ignore", "PR099"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "opsta-lint: error: --ignore PR099: no such rule (see `opsta-lint rules`)\n"
    );
}

#[test]
fn verify_sarif_points_at_pods_and_is_valid() {
    use opsta_lint::findings::Code;
    use opsta_lint::verify::Problem;
    let problem = |code, pod: &str, container: &str, text: &str| Problem {
        code,
        namespace: "cra-agent".into(),
        pod: pod.into(),
        container: container.into(),
        problem: text.into(),
    };
    let problems = [
        problem(
            Code::VF001,
            "agent-1",
            "-",
            "not Ready (Running): ContainersNotReady",
        ),
        problem(
            Code::VF003,
            "agent-1",
            "agent",
            "runs x sha256:b, the lock says sha256:a",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v.sarif");
    std::fs::write(&file, opsta_lint::verify::sarif(&problems)).unwrap();
    let (valid, verdict) = sarif_is_valid(&file);
    assert!(valid, "{verdict}");
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let names: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        names,
        ["Pod/cra-agent/agent-1", "Pod/cra-agent/agent-1/agent"]
    );
}

#[test]
fn rules_lists_every_job_and_shows_each_doc() {
    let out = common::bin().arg("rules").output().unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    for prefix in ["OL", "PR", "VF", "PF", "RG"] {
        assert!(
            listed.lines().any(|l| l.starts_with(prefix)),
            "{prefix} missing:\n{listed}"
        );
    }
    let out = common::bin().args(["rules", "VF001"]).output().unwrap();
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.starts_with("VF001 pod-not-ready (error)\n\n"),
        "{page}"
    );
}

/// Every result of a SARIF log names a rule of the log by `ruleIndex`, and that rule has the result's `ruleId`;
/// returns the rule ids of the results.
fn rule_references_resolve(log: &str) -> Vec<String> {
    let log: serde_json::Value = serde_json::from_str(log).unwrap();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let mut ids = Vec::new();
    for result in run["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            rules.get(index).map(|r| &r["id"]),
            Some(&result["ruleId"]),
            "ruleIndex {index} of {result:#} names another rule"
        );
        ids.push(result["ruleId"].as_str().unwrap().to_string());
    }
    ids
}

/// SARIF from every job that writes it describes each rule its results use, at the index they give (lint's:
/// `lint::sarif_output_has_what_code_scanning_requires`).
#[test]
fn every_jobs_sarif_describes_the_rules_its_results_use() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.sarif");
    postrender(
        RENDER,
        &["-o", "sarif", "--report", report.to_str().unwrap()],
    );
    let postrender_ids = rule_references_resolve(&std::fs::read_to_string(&report).unwrap());
    assert_eq!(postrender_ids, ["PR001", "PR007"]);

    let problem = opsta_lint::verify::Problem {
        code: opsta_lint::findings::Code::VF003,
        namespace: "ns".into(),
        pod: "p".into(),
        container: "c".into(),
        problem: "runs another digest".into(),
    };
    let verify_ids = rule_references_resolve(&opsta_lint::verify::sarif(&[problem]));
    assert_eq!(verify_ids, ["VF003"]);

    let code = opsta_lint::findings::Code::RG002;
    let finding = opsta_lint::oci::Finding::new(code, "nginx:1.27", "the tag moved".into());
    let log = opsta_lint::registry::render(&[finding], "", opsta_lint::output::Format::Sarif);
    assert_eq!(rule_references_resolve(&log), ["RG002"]);
}

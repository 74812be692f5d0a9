//! `opsta-lint diff` on real Catalyst renders (a cut in testdata/diff, the full renders from ../shared when
//! present), and on small hand-written manifests for the edges.
use crate::common;
use common::write;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

const TOKEN: &str = "jt-EXAMPLE-0001";

fn testdata(name: &str) -> PathBuf {
    common::root().join("testdata/diff").join(name)
}

/// The full renders from the shared corpus, or None (SKIPPED printed) when it is absent.
fn rendered(version: &str) -> Option<PathBuf> {
    let dir = common::shared_dir()?.join("corpus/catalyst/rendered");
    Some(dir.join(format!("v{version}.yaml")))
}

fn diff(args: &[&str]) -> Output {
    common::bin()
        .arg("diff")
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn diff_files(old: &Path, new: &Path, extra: &[&str]) -> Output {
    let mut args = vec![old.to_str().unwrap(), new.to_str().unwrap()];
    args.extend_from_slice(extra);
    diff(&args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// The changed paths of a JSON report, as `Kind name: path` strings.
fn changed_paths(report: &str) -> BTreeSet<String> {
    let v: Value = serde_json::from_str(report).unwrap();
    let mut out = BTreeSet::new();
    for r in v["resources"].as_array().unwrap() {
        for p in r["paths"].as_array().into_iter().flatten() {
            out.insert(format!(
                "{} {}: {}",
                r["kind"].as_str().unwrap(),
                r["name"].as_str().unwrap(),
                p["path"].as_str().unwrap()
            ));
        }
    }
    out
}

fn check_tunnel_change(old: &Path, new: &Path) {
    let text = diff_files(old, new, &[]);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    let out = stdout(&text);
    assert!(out.starts_with("2 changed, 0 added, 0 removed ("), "{out}");
    assert!(
        out.contains("-      enabled: false\n+      enabled: true\n"),
        "{out}"
    );
    let json = diff_files(old, new, &["-o", "json"]);
    let paths = changed_paths(&stdout(&json));
    let want: BTreeSet<String> = [
        r"ConfigMap management-config: data.config\.yaml.tunnel.enabled",
        "Deployment management: spec.template.metadata.annotations.checksum/management-config",
    ]
    .map(String::from)
    .into();
    assert_eq!(paths, want);
    let v: Value = serde_json::from_str(&stdout(&json)).unwrap();
    let tunnel = &v["resources"][0]["paths"][0];
    assert_eq!(
        (&tunnel["old"], &tunnel["new"]),
        (&Value::Bool(false), &Value::Bool(true))
    );
}

#[test]
fn tunnel_render_shows_exactly_the_tunnel_change() {
    check_tunnel_change(
        &testdata("catalyst-1.90.0.yaml"),
        &testdata("catalyst-1.90.0-tunnel.yaml"),
    );
    if let (Some(old), Some(new)) = (rendered("1.90.0"), rendered("1.90.0-tunnel")) {
        check_tunnel_change(&old, &new);
    }
}

fn check_postgresql_and_scheduler(old: &Path, new: &Path) {
    let ignore = ["--ignore", "metadata.labels.helm.sh/chart"];
    let out = stdout(&diff_files(old, new, &ignore));
    assert!(
        out.contains("+        backend_type: managed-postgresql\n+        managed_postgresql:\n"),
        "{out}"
    );
    assert!(
        out.contains("+    region_postgresql:\n+      enabled: true\n"),
        "{out}"
    );
    assert!(
        out.contains("-      default_managed_state_store_type: postgresql-shared-disabled\n"),
        "{out}"
    );
    let paths = changed_paths(&stdout(&diff_files(
        old,
        new,
        &["-o", "json", ignore[0], ignore[1]],
    )));
    for want in [
        r"ConfigMap agent-config: data.config\.yaml.internal_dapr.scheduler.backend_type",
        r"ConfigMap agent-config: data.config\.yaml.internal_dapr.scheduler.managed_postgresql",
        r"ConfigMap agent-config: data.config\.yaml.project.default_managed_state_store_type",
        r"ConfigMap management-config: data.config\.yaml.region_postgresql",
    ] {
        assert!(paths.contains(want), "{want} missing from {paths:#?}");
    }
    assert!(
        !paths.iter().any(|p| p.contains("helm.sh/chart")),
        "{paths:#?}"
    );
}

#[test]
fn upgrade_to_1_76_shows_the_new_postgresql_and_scheduler() {
    check_postgresql_and_scheduler(
        &testdata("catalyst-1.75.0.yaml"),
        &testdata("catalyst-1.76.0.yaml"),
    );
    if let (Some(old), Some(new)) = (rendered("1.75.0"), rendered("1.76.0")) {
        check_postgresql_and_scheduler(&old, &new);
    }
}

#[test]
fn the_join_token_never_shows_unless_asked() {
    let mut files: Vec<PathBuf> = ["catalyst-1.75.0.yaml", "catalyst-1.90.0.yaml"]
        .map(testdata)
        .into();
    if let Some(dir) = common::shared_dir() {
        let rendered = dir.join("corpus/catalyst/rendered");
        files.extend(
            std::fs::read_dir(rendered)
                .unwrap()
                .map(|e| e.unwrap().path()),
        );
    }
    files.sort();
    let tmp = tempfile::tempdir().unwrap();
    let empty = write(tmp.path(), "empty.yaml", "");
    let changed_token = write(
        tmp.path(),
        "other-token.yaml",
        &std::fs::read_to_string(&files[0])
            .unwrap()
            .replace(TOKEN, "jt-OTHER-0002"),
    );
    for file in &files {
        for (old, new) in [(&empty, file), (file, &empty), (&changed_token, file)] {
            for format in [["-o", "text"], ["-o", "json"]] {
                for color in ["--color=always", "--color=never"] {
                    let o = diff_files(old, new, &[format[0], format[1], color, "--full"]);
                    let all = stdout(&o) + &stderr(&o);
                    assert!(
                        !all.contains(TOKEN) && !all.contains("jt-OTHER"),
                        "{old:?} {new:?} {format:?}"
                    );
                    assert!(o.status.success(), "{}", stderr(&o));
                }
            }
        }
    }
    let shown = stdout(&diff_files(
        &empty,
        &files[0],
        &["--full", "--show-secrets"],
    ));
    assert!(shown.contains(TOKEN));
}

#[test]
fn a_changed_join_token_shows_as_changed_without_its_value() {
    let tmp = tempfile::tempdir().unwrap();
    let old = testdata("catalyst-1.90.0.yaml");
    let text = std::fs::read_to_string(&old)
        .unwrap()
        .replace(TOKEN, "jt-NEW-0003");
    let new = write(tmp.path(), "new.yaml", &text);
    let o = diff_files(&old, &new, &["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    assert!(out.starts_with("2 changed, 0 added, 0 removed"), "{out}");
    assert!(
        out.contains("-      join_token: <redacted>\n+      join_token: <redacted (changed)>\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "-              value: <redacted>\n+              value: <redacted (changed)>\n"
        ),
        "{out}"
    );
    assert!(!out.contains("jt-"), "{out}");
    let json = stdout(&diff_files(&old, &new, &["-o", "json"]));
    assert!(!json.contains("jt-"), "{json}");
    let paths = changed_paths(&json);
    assert!(
        paths.contains(r"ConfigMap agent-config: data.config\.yaml.host.join_token"),
        "{paths:#?}"
    );
    assert!(
        paths.contains("Deployment agent: spec.template.spec.containers[name=catalyst].env[name=CRA_HOST_JOIN_TOKEN].value"),
        "{paths:#?}"
    );
}

fn check_ignore_inside_config_text(old: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(old).unwrap();
    let new = write(tmp.path(), "new.yaml", &text.replace(TOKEN, "jt-NEW-0003"));
    let in_text = r"data.config\.yaml.host.join_token";
    let env = "spec.template.spec.containers[name=catalyst].env[name=CRA_HOST_JOIN_TOKEN].value";
    let both = diff_files(
        old,
        &new,
        &["--detailed-exitcode", "--ignore", in_text, "--ignore", env],
    );
    assert_eq!(both.status.code(), Some(0), "{}", stdout(&both));
    let one = stdout(&diff_files(old, &new, &["--ignore", in_text]));
    assert!(one.starts_with("1 changed, 0 added, 0 removed"), "{one}");
    assert!(!one.contains("ConfigMap agent-config"), "{one}");
    // Ignoring another key of the text keeps the token hidden, and its change visible.
    let other = stdout(&diff_files(
        old,
        &new,
        &["--ignore", r"data.config\.yaml.host.private_region"],
    ));
    assert!(
        other.contains("-      join_token: <redacted>\n+      join_token: <redacted (changed)>\n"),
        "{other}"
    );
    assert!(
        !other.contains("private_region") && !other.contains("jt-"),
        "{other}"
    );
}

#[test]
fn ignore_reaches_inside_config_text() {
    check_ignore_inside_config_text(&testdata("catalyst-1.90.0.yaml"));
    if let Some(old) = rendered("1.90.0") {
        check_ignore_inside_config_text(&old);
    }
}

/// A sidecar container inserted before the agent's container, and an env var at the top of its env.
fn insert_sidecar_and_env(text: &str) -> String {
    let containers = "      containers:\n        - name: catalyst\n";
    let env = "          env:\n          - name: NAMESPACE\n";
    assert!(text.contains(containers) && text.contains(env));
    text.replacen(
        containers,
        "      containers:\n        - name: sidecar\n          image: busybox:1.36\n        - name: catalyst\n",
        1,
    )
    .replacen(env, "          env:\n          - name: EXTRA\n            value: x\n          - name: NAMESPACE\n", 1)
}

fn check_named_items(old: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let new = write(
        tmp.path(),
        "new.yaml",
        &insert_sidecar_and_env(&std::fs::read_to_string(old).unwrap()),
    );
    let out = stdout(&diff_files(old, &new, &[]));
    assert!(out.starts_with("1 changed, 0 added, 0 removed"), "{out}");
    assert!(
        out.contains("+        - name: sidecar\n+          image: busybox:1.36\n"),
        "{out}"
    );
    assert!(
        out.contains("+            - name: EXTRA\n+              value: x\n"),
        "{out}"
    );
    let removed: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect();
    assert!(
        removed.is_empty(),
        "an insertion removes nothing: {removed:?}\n{out}"
    );
    let json = stdout(&diff_files(old, &new, &["-o", "json"]));
    let want: BTreeSet<String> = [
        "Deployment agent: spec.template.spec.containers[name=sidecar]",
        "Deployment agent: spec.template.spec.containers[name=catalyst].env[name=EXTRA]",
    ]
    .map(String::from)
    .into();
    assert_eq!(changed_paths(&json), want);
    let v: Value = serde_json::from_str(&json).unwrap();
    let sidecar = &v["resources"][0]["paths"][0];
    assert_eq!(sidecar["change"], "added");
    assert_eq!(sidecar["new"]["image"], "busybox:1.36");
    let ignored = diff_files(
        old,
        &new,
        &[
            "--detailed-exitcode",
            "--ignore",
            "spec.template.spec.containers[name=sidecar]",
            "--ignore",
            "spec.template.spec.containers[name=catalyst].env[name=EXTRA]",
        ],
    );
    assert_eq!(ignored.status.code(), Some(0), "{}", stdout(&ignored));
}

#[test]
fn named_list_items_match_by_name() {
    check_named_items(&testdata("catalyst-1.90.0.yaml"));
    if let Some(old) = rendered("1.90.0") {
        check_named_items(&old);
    }
}

#[test]
fn usage_errors_under_detailed_exitcode_exit_1() {
    let a = testdata("catalyst-1.75.0.yaml");
    let a = a.to_str().unwrap();
    for args in [
        vec!["--detailed-exitcode", "--no-such-flag", a, a],
        vec!["--detailed-exitcode", a],
        vec!["--detailed-exitcode", a, a, a],
        vec!["--detailed-exitcode", "-C", "x", a, a],
        vec!["--detailed-exitcode", a, "no-such-file.yaml"],
    ] {
        let o = diff(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty() && !stderr(&o).is_empty(), "{args:?}");
    }
    assert_eq!(diff(&["--no-such-flag", a, a]).status.code(), Some(2));
    assert_eq!(diff(&["--help"]).status.code(), Some(0));
}

const SECRET_OLD: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: app\ntype: Opaque\ndata:\n  password: aHVudGVyMg==\n  user: YWRtaW4=\n  gone: eA==\nstringData:\n  dsn: postgres://admin:hunter2@db/app\n";
const SECRET_NEW: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: app\ntype: Opaque\ndata:\n  password: bmV3cGFzcw==\n  user: YWRtaW4=\n  added: eQ==\nstringData:\n  dsn: postgres://admin:newpass@db/app\n";

#[test]
fn secret_data_shows_only_which_keys_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let old = write(tmp.path(), "old.yaml", SECRET_OLD);
    let new = write(tmp.path(), "new.yaml", SECRET_NEW);
    for format in ["text", "json"] {
        let out = stdout(&diff_files(&old, &new, &["-o", format]));
        for value in [
            "aHVudGVy", "bmV3cGFz", "YWRtaW4", "eA==", "eQ==", "hunter2", "newpass",
        ] {
            assert!(!out.contains(value), "{value} in {out}");
        }
    }
    let out = stdout(&diff_files(&old, &new, &[]));
    assert!(out.contains("changed Secret app/db (v1)"), "{out}");
    assert!(
        out.contains("-  password: <redacted>\n+  password: <redacted (changed)>\n"),
        "{out}"
    );
    assert!(out.contains("   user: <redacted>\n"), "{out}");
    assert!(
        out.contains("-  gone: <redacted>\n") && out.contains("+  added: <redacted>\n"),
        "{out}"
    );
    let paths = changed_paths(&stdout(&diff_files(&old, &new, &["-o", "json"])));
    // stringData is folded into data (as base64) before comparing, as the API server stores it.
    let want: BTreeSet<String> = ["data.password", "data.dsn", "data.added", "data.gone"]
        .map(|p| format!("Secret db: {p}"))
        .into();
    assert_eq!(paths, want);
    let shown = stdout(&diff_files(&old, &new, &["--show-secrets"]));
    assert!(shown.contains("+  password: bmV3cGFzcw==\n"), "{shown}");
}

const ORDERED: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: \"1\"}}\ndata: {k: 'v', num: \"10\", b: \"yes\"}\n";
const REORDERED: &str = "# the same meaning, written differently\nkind: ConfigMap\napiVersion: \"v1\"\ndata:\n  num: '10'\n  b: 'yes'\n  k: v\nmetadata:\n  labels:\n    a: '1'\n  name: c\n";

#[test]
fn key_order_quoting_and_style_do_not_show() {
    let tmp = tempfile::tempdir().unwrap();
    let old = write(tmp.path(), "old.yaml", ORDERED);
    let new = write(tmp.path(), "new.yaml", REORDERED);
    let o = diff_files(&old, &new, &["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(stdout(&o), "0 changed, 0 added, 0 removed (1 unchanged)\n");
}

#[test]
fn yaml_11_meaning_stays_visible() {
    let tmp = tempfile::tempdir().unwrap();
    let old = write(tmp.path(), "old.yaml", ORDERED);
    let changed = ORDERED
        .replace("b: \"yes\"", "b: yes")
        .replace("num: \"10\"", "num: 10");
    let new = write(tmp.path(), "new.yaml", &changed);
    let out = stdout(&diff_files(&old, &new, &["-C", "0"]));
    assert!(
        out.contains("-  num: \"10\"\n-  b: \"yes\"\n+  num: 10\n+  b: true\n"),
        "{out}"
    );
    // A plain `n` key is the boolean false in YAML 1.1, as Helm reads it: the canonical text says so.
    let key = write(tmp.path(), "key.yaml", &ORDERED.replace("k: 'v'", "n: 'v'"));
    let out = stdout(&diff_files(&old, &key, &["-C", "0"]));
    assert!(out.contains("+  \"false\": v\n"), "{out}");
}

#[test]
fn ignored_paths_decide_the_exit_code() {
    let old = testdata("catalyst-1.90.0.yaml");
    let new = testdata("catalyst-1.90.0-tunnel.yaml");
    let checksum = "spec.template.metadata.annotations.checksum/management-config";
    let o = diff_files(&old, &new, &["--detailed-exitcode", "--ignore", checksum]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).starts_with("1 changed, 0 added, 0 removed (11 unchanged)"),
        "{}",
        stdout(&o)
    );
    let o = diff_files(
        &old,
        &new,
        &[
            "--detailed-exitcode",
            "--ignore",
            checksum,
            "--ignore",
            r"data.config\.yaml",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).starts_with("0 changed, 0 added, 0 removed (12 unchanged)"));
    let o = diff_files(&old, &new, &["--ignore", r"a.b\"]);
    assert_eq!(o.status.code(), Some(2), "a bad pattern is a usage error");
}

#[test]
fn detailed_exit_codes() {
    let a = testdata("catalyst-1.75.0.yaml");
    let b = testdata("catalyst-1.76.0.yaml");
    let missing = testdata("no-such-file.yaml");
    let code = |o: Output| o.status.code();
    assert_eq!(code(diff_files(&a, &a, &["--detailed-exitcode"])), Some(0));
    assert_eq!(code(diff_files(&a, &b, &["--detailed-exitcode"])), Some(2));
    assert_eq!(
        code(diff_files(&a, &missing, &["--detailed-exitcode"])),
        Some(1)
    );
    assert_eq!(code(diff_files(&a, &b, &[])), Some(0));
    assert_eq!(code(diff_files(&a, &missing, &[])), Some(2));
}

#[test]
fn malformed_input_is_located() {
    let tmp = tempfile::tempdir().unwrap();
    let good = testdata("catalyst-1.90.0.yaml");
    let text = std::fs::read_to_string(&good).unwrap();
    let broken = text.replacen("  name: agent-config\n", "  name: [agent-config\n", 1);
    let line = broken
        .lines()
        .position(|l| l.contains("[agent-config"))
        .unwrap()
        + 1;
    let bad = write(tmp.path(), "bad.yaml", &broken);
    for (flag, want) in [("--detailed-exitcode", 1), ("--full", 2)] {
        let o = diff_files(&good, &bad, &[flag]);
        assert_eq!(o.status.code(), Some(want));
        assert!(o.stdout.is_empty(), "nothing half-written on stdout");
        let err = stderr(&o);
        let place = format!("{}:", bad.display());
        assert!(
            err.starts_with(&format!("opsta-lint: error: {place}")),
            "{err}"
        );
        let at: Vec<usize> = err[err.find(&place).unwrap() + place.len()..]
            .split(':')
            .take(2)
            .map(|n| n.trim().parse().unwrap())
            .collect();
        assert!(
            at[0] >= line && at[0] <= line + 1 && at[1] >= 1,
            "{err} (broken line {line})"
        );
        assert!(!err.contains(TOKEN), "{err}");
    }
}

#[test]
fn same_inputs_give_the_same_bytes() {
    let a = testdata("catalyst-1.75.0.yaml");
    let b = testdata("catalyst-1.76.0.yaml");
    for args in [
        vec!["--color=always", "--full"],
        vec!["-o", "json", "--full"],
    ] {
        let first = diff_files(&a, &b, &args).stdout;
        let second = diff_files(&a, &b, &args).stdout;
        assert!(!first.is_empty());
        assert_eq!(first, second);
    }
}

#[test]
fn colors_only_when_asked_or_on_a_terminal() {
    let a = testdata("catalyst-1.90.0.yaml");
    let b = testdata("catalyst-1.90.0-tunnel.yaml");
    let plain = stdout(&diff_files(&a, &b, &[]));
    assert!(!plain.contains('\u{1b}'), "not a terminal: no colors");
    let colored = stdout(&diff_files(&a, &b, &["--color=always"]));
    assert!(colored.contains("\u{1b}[32m+"), "{colored}");
    // The changed word is emphasized, the rest of the line is not.
    assert!(
        colored.contains("\u{1b}[1m\u{1b}[4m\u{1b}[32mtrue"),
        "{colored:?}"
    );
    let no_color = common::bin()
        .args(["diff", a.to_str().unwrap(), b.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&no_color).contains('\u{1b}'));
}

#[test]
fn context_lines_stdin_and_full_bodies() {
    let a = testdata("catalyst-1.90.0.yaml");
    let b = testdata("catalyst-1.90.0-tunnel.yaml");
    let hunk_lines = |ctx: &str| {
        let out = stdout(&diff_files(&a, &b, &["-C", ctx]));
        out.lines().filter(|l| l.starts_with(' ')).count()
    };
    assert_eq!(hunk_lines("0"), 0);
    assert_eq!(hunk_lines("1"), 4);
    // The tunnel change sits two lines from the end of its ConfigMap: 3 + 2 + 3 + 3.
    assert_eq!(hunk_lines("3"), 11);
    let text = std::fs::read(&b).unwrap();
    let mut child = common::bin()
        .args(["diff", a.to_str().unwrap(), "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(stdout(&out).contains("+++ <stdin>:"), "{}", stdout(&out));
    let tmp = tempfile::tempdir().unwrap();
    let empty = write(tmp.path(), "empty.yaml", "---\n# Source: nothing\n");
    let listed = stdout(&diff_files(&empty, &a, &[]));
    assert!(
        listed.starts_with("0 changed, 12 added, 0 removed (0 unchanged)"),
        "{listed}"
    );
    assert!(
        listed.contains("\nadded ConfigMap agent-config (v1)\n"),
        "{listed}"
    );
    assert!(!listed.contains("+kind: ConfigMap"));
    let full = stdout(&diff_files(&empty, &a, &["--full"]));
    assert!(
        full.contains("added ConfigMap agent-config (v1)\n+apiVersion: v1\n+kind: ConfigMap\n"),
        "{full}"
    );
    let removed = stdout(&diff_files(&a, &empty, &["--full"]));
    assert!(
        removed.contains("removed ConfigMap agent-config (v1)\n-apiVersion: v1\n"),
        "{removed}"
    );
}

/// A lock pinning every image of a render to one made-up digest.
fn lock_for(render: &Path, dir: &Path) -> PathBuf {
    let skeleton = common::bin()
        .args(["lock", "--from-manifest", render.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(skeleton.status.success(), "{}", stderr(&skeleton));
    let digest = format!("sha256:{}", "ab".repeat(32));
    let lock = stdout(&skeleton).replace("digest: \"\"", &format!("digest: {digest}"));
    write(dir, "lock.yaml", &lock)
}

#[test]
fn postrender_shows_the_diff_to_the_person_never_on_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let deployed = testdata("catalyst-1.90.0.yaml");
    let render = testdata("catalyst-1.90.0-tunnel.yaml");
    let lock = lock_for(&render, tmp.path());
    let report = tmp.path().join("diff.txt");
    let run = |against: &Path| {
        let mut cmd = common::bin();
        cmd.args([
            "postrender",
            "--lock",
            lock.to_str().unwrap(),
            "--input",
            render.to_str().unwrap(),
        ]);
        cmd.args([
            "--diff-against",
            against.to_str().unwrap(),
            "--diff-file",
            report.to_str().unwrap(),
        ]);
        cmd.output().unwrap()
    };
    let o = run(&deployed);
    assert!(o.status.success(), "{}", stderr(&o));
    let pinned = stdout(&o);
    assert!(
        pinned.contains("@sha256:abab") && !pinned.contains("changed ConfigMap"),
        "{pinned}"
    );
    let shown = std::fs::read_to_string(&report).unwrap();
    assert!(
        shown.starts_with("3 changed, 0 added, 0 removed"),
        "{shown}"
    );
    for title in [
        "ConfigMap management-config",
        "Deployment agent",
        "Deployment management",
    ] {
        assert!(
            shown.contains(&format!("\nchanged {title} (")),
            "{title}: {shown}"
        );
    }
    assert!(shown.contains("+      enabled: true\n"), "{shown}");
    assert!(shown.contains("catalyst-all:1.90.0@sha256:abab"), "{shown}");
    assert!(
        !shown.contains(TOKEN) && !shown.contains('\u{1b}'),
        "{shown}"
    );
    // Without a terminal (a new session has none) and without --diff-file, the diff goes to stderr.
    let detached = std::process::Command::new("setsid")
        .arg(env!("CARGO_BIN_EXE_opsta-lint"))
        .args([
            "postrender",
            "--lock",
            lock.to_str().unwrap(),
            "--input",
            render.to_str().unwrap(),
        ])
        .args(["--diff-against", deployed.to_str().unwrap()])
        .output()
        .expect("setsid (util-linux) runs the post-renderer without a terminal");
    assert!(detached.status.success(), "{}", stderr(&detached));
    assert_eq!(detached.stdout, o.stdout);
    assert!(stderr(&detached).contains("changed ConfigMap management-config (v1)"));
    // An unreadable deployed manifest fails the run with nothing on stdout.
    let o = run(Path::new("/nonexistent.yaml"));
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

/// A Pod with the given init containers, env vars (`NAME=value`) and volumes, in that order.
fn pod(init: &[&str], env: &[&str], volumes: &[&str]) -> String {
    let mut text = String::from("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n");
    text.push_str("  initContainers:\n");
    for name in init {
        text.push_str(&format!("  - name: {name}\n    image: busybox\n"));
    }
    text.push_str("  containers:\n  - name: app\n    image: nginx\n    env:\n");
    for var in env {
        let (name, value) = var.split_once('=').unwrap();
        text.push_str(&format!("    - name: {name}\n      value: \"{value}\"\n"));
    }
    text.push_str("  volumes:\n");
    for name in volumes {
        text.push_str(&format!("  - name: {name}\n    emptyDir: {{}}\n"));
    }
    text
}

#[test]
fn a_pure_reorder_of_named_items_is_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let old = write(
        tmp.path(),
        "old.yaml",
        &pod(&["i"], &["A=1", "B=2"], &["a", "b"]),
    );
    let new = write(
        tmp.path(),
        "new.yaml",
        &pod(&["i"], &["B=2", "A=1"], &["b", "a"]),
    );
    for extra in [&[][..], &["--show-secrets"]] {
        let args = [&["--detailed-exitcode"][..], extra].concat();
        let o = diff_files(&old, &new, &args);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
        assert!(
            stdout(&o).starts_with("0 changed, 0 added, 0 removed (1 unchanged)"),
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn moves_show_where_kubernetes_gives_order_meaning() {
    let tmp = tempfile::tempdir().unwrap();
    let old = write(
        tmp.path(),
        "old.yaml",
        &pod(
            &["migrate", "seed"],
            &["HOST=db", "URL=$(HOST):5432"],
            &["a"],
        ),
    );
    let new = write(
        tmp.path(),
        "new.yaml",
        &pod(
            &["seed", "migrate"],
            &["URL=$(HOST):5432", "HOST=db"],
            &["a"],
        ),
    );
    let o = diff_files(&old, &new, &["--detailed-exitcode"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(out.starts_with("1 changed, 0 added, 0 removed"), "{out}");
    assert!(
        out.contains("~ moved spec.initContainers[name=migrate] from [0] to [1]\n"),
        "{out}"
    );
    assert!(
        out.contains("~ moved spec.containers[name=app].env[name=HOST] from [0] to [1]\n"),
        "{out}"
    );
    assert!(!out.contains("only hidden secret values"), "{out}");
    let json: Value =
        serde_json::from_str(&stdout(&diff_files(&old, &new, &["-o", "json"]))).unwrap();
    let paths = &json["resources"][0]["paths"];
    assert_eq!(paths[0]["path"], "spec.initContainers[name=migrate]");
    assert_eq!(paths[0]["moved"], serde_json::json!({"from": 0, "to": 1}));
    assert_eq!(paths.as_array().unwrap().len(), 2, "{paths}");
}

#[test]
fn an_object_twice_is_an_error_on_either_side() {
    let tmp = tempfile::tempdir().unwrap();
    let once = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\ndata:\n  a: \"1\"\n";
    let twice = format!(
        "{once}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: twice\ndata:\n  a: \"2\"\n"
    );
    let once = write(tmp.path(), "once.yaml", once);
    let twice = write(tmp.path(), "twice.yaml", &twice);
    for (old, new) in [(&once, &twice), (&twice, &once), (&twice, &twice)] {
        let o = diff_files(old, new, &["--detailed-exitcode"]);
        assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
        assert!(o.stdout.is_empty());
        assert!(
            stderr(&o).contains(
                "twice.yaml:8: ConfigMap twice appears twice (first on line 1); each object may appear once"
            ),
            "{}",
            stderr(&o)
        );
    }
}

#[test]
fn hunks_point_into_the_file_after_a_masked_block() {
    let tmp = tempfile::tempdir().unwrap();
    let config = |g: u8| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  app.yaml: |\n    password: |\n{}    \
             a: 1\n    b: 2\n    c: 3\n    d: 4\n    e: 5\n    f: 6\n    g: {g}\n",
            (1..=5).map(|i| format!("      line-{i}\n")).collect::<String>()
        )
    };
    let old = write(tmp.path(), "old.yaml", &config(7));
    let new = write(tmp.path(), "new.yaml", &config(8));
    for extra in [&[][..], &["--show-secrets"]] {
        let out = stdout(&diff_files(&old, &new, extra));
        assert!(out.contains("@@ -16,4 +16,4 @@ data.app\\.yaml\n"), "{out}");
        assert!(out.contains("-    g: 7\n+    g: 8\n"), "{out}");
    }
    let hidden = stdout(&diff_files(&old, &new, &["-C", "12"]));
    assert!(!hidden.contains("line-3"), "{hidden}");
}

#[test]
fn what_helm_does_on_its_own_is_no_change() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let config = |meta: &str, data: &str| {
        format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n{meta}data:\n  a: \"{data}\"\n")
    };
    let role = |verb: &str| {
        format!("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\nrules:\n- verbs: [{verb}]\n")
    };
    let secret =
        |data: &str| format!("---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n{data}");
    let kept = "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  annotations:\n    helm.sh/resource-policy: keep\n";
    // Old: what Helm stored (namespace written, stringData as data). New: the render, with Helm 4's bookkeeping
    // annotation, no namespace, stringData; the PVC kept by policy is gone from it.
    let old = write(
        d,
        "old.yaml",
        &[
            config("  namespace: default\n", "1"),
            role("get"),
            secret("data:\n  pw: aHVudGVyMg==\n"),
            kept.to_string(),
        ]
        .concat(),
    );
    let new = write(
        d,
        "new.yaml",
        &[
            config(
                "  annotations:\n    postrenderer.helm.sh/postrender-filename: c.yaml\n",
                "1",
            ),
            role("list"),
            secret("stringData:\n  pw: hunter2\n"),
        ]
        .concat(),
    );
    let o = diff_files(&old, &new, &["--detailed-exitcode", "-n", "default"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.starts_with("1 changed, 0 added, 0 removed, 1 kept (2 unchanged)\n"),
        "{out}"
    );
    // A cluster-scoped kind is never given the namespace.
    assert!(
        out.contains("\nchanged ClusterRole r (rbac.authorization.k8s.io/v1)\n"),
        "{out}"
    );
    assert!(
        out.contains("\nkept PersistentVolumeClaim default/data (v1)\n"),
        "{out}"
    );
    let json: Value = serde_json::from_str(&stdout(&diff_files(
        &old,
        &new,
        &["-o", "json", "-n", "default"],
    )))
    .unwrap();
    assert_eq!(json["summary"]["kept"], 1);
    assert_eq!(json["resources"][1]["status"], "kept");
    // Without -n, a missing namespace is not `default`.
    let out = stdout(&diff_files(&old, &new, &[]));
    assert!(
        out.contains("\nremoved ConfigMap default/c (v1)\n"),
        "{out}"
    );
    // Only the kept resource left out: nothing changes, exit 0.
    let old = write(
        d,
        "old2.yaml",
        &[config("", "1"), kept.to_string()].concat(),
    );
    let new = write(d, "new2.yaml", &config("", "1"));
    let o = diff_files(&old, &new, &["--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn find_renames_pairs_alike_resources() {
    let tmp = tempfile::tempdir().unwrap();
    let config = |name: &str, last: &str| {
        let mut text =
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n");
        for i in 0..8 {
            text.push_str(&format!("  k{i}: v{i}\n"));
        }
        text.push_str(&format!("  last: {last}\n"));
        text
    };
    let old = write(tmp.path(), "old.yaml", &config("app-v1", "a"));
    let new = write(tmp.path(), "new.yaml", &config("app-v2", "b"));
    let out = stdout(&diff_files(&old, &new, &[]));
    assert!(out.starts_with("0 changed, 1 added, 1 removed"), "{out}");
    let out = stdout(&diff_files(&old, &new, &["--find-renames=0.5"]));
    assert!(out.starts_with("1 changed, 0 added, 0 removed"), "{out}");
    assert!(
        out.contains("changed ConfigMap app-v2 (renamed from app-v1) (v1)\n"),
        "{out}"
    );
    assert!(out.contains("-  name: app-v1\n+  name: app-v2\n"), "{out}");
    let out = stdout(&diff_files(&old, &new, &["--find-renames=0.99"]));
    assert!(out.starts_with("0 changed, 1 added, 1 removed"), "{out}");
    let o = diff_files(&old, &new, &["--find-renames=2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a fraction from 0 to 1"),
        "{}",
        stderr(&o)
    );
}

//! Known secrets pushed through every command and output format: values (a join token, a password), Secret
//! data (plain and base64), a join token inside a ConfigMap's embedded config, a stored release's values. None
//! of them may appear on stdout, stderr or in a report file, whatever the command, format, or failure.
//! (The post-renderer's stdout is the manifest itself, secrets included, as Helm must apply it: it is the one
//! output not checked.)

use crate::common;

use common::fakekube::FakeKube;
use common::{b64, run_without_helm_settings as run, write};

const TOKEN: &str = "jt-SECRET-0d1f2e3c4b5a";
const OLD_TOKEN: &str = "jt-SECRET-previous-77aa";
const PASSWORD: &str = "hunter2-SECRET-9f8e";
const SECRET_DATA: &str = "s3cr3t-SECRET-data-41";
const NEW_SECRET_DATA: &str = "s3cr3t-SECRET-data-42";

/// Every form a secret could leak in: as written, and as the base64 a Secret's `data` holds.
fn forbidden() -> Vec<String> {
    let plain = [TOKEN, OLD_TOKEN, PASSWORD, SECRET_DATA, NEW_SECRET_DATA];
    plain.iter().flat_map(|s| [s.to_string(), b64(s)]).collect()
}

fn assert_hidden(what: &str, text: &str) {
    for secret in forbidden() {
        assert!(!text.contains(&secret), "{what} shows {secret}:\n{text}");
    }
}

fn values(token: &str) -> String {
    format!(
        "join_token: {token}\nglobal:\n  postgresql:\n    external:\n      password: {PASSWORD}\n      connectionString: \"postgres://u:{PASSWORD}@db/x\"\n"
    )
}

/// A render with the secrets where real renders have them: a Secret's data and stringData, and the
/// Catalyst agent ConfigMap whose embedded config carries the join token; plus one unlocked image.
fn manifest(token: &str, data: &str, image: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: cra-agent\ntype: Opaque\ndata:\n  \
         password: {}\nstringData:\n  token: {token}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \
         agent-config\n  namespace: cra-agent\ndata:\n  config.yaml: |\n    host:\n      join_token: {token}\n      \
         url: https://example\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: cra-agent\n  \
         annotations:\n    password: {data}\nspec:\n  containers:\n  - name: web\n    image: {image}\n    env:\n    \
         - name: PASSWORD\n      value: {data}\n",
        b64(data)
    )
}

/// A stored release (Helm's secret driver) whose user values hold the old token and the password, and whose
/// manifest holds the Secret and ConfigMap.
fn release_secret() -> serde_json::Value {
    let release = serde_json::json!({
        "name": "cat", "namespace": "cra-agent", "version": 1,
        "info": {"status": "deployed"},
        "chart": {"metadata": {"name": "catalyst", "version": "1.89.0", "appVersion": "1.89.0"}},
        "config": serde_json::from_str::<serde_json::Value>(&format!(
            "{{\"join_token\": \"{OLD_TOKEN}\", \"global\": {{\"postgresql\": {{\"external\": {{\"password\": \"{PASSWORD}\"}}}}}}}}"
        )).unwrap(),
        "manifest": manifest(OLD_TOKEN, SECRET_DATA, "nginx:1.27"),
    });
    common::release_secret("cat", "cra-agent", &common::helm_encoded(&release))
}

#[test]
fn no_command_output_format_or_error_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "values.yaml", &values(TOKEN));
    write(d, "previous.yaml", &values(OLD_TOKEN));
    write(
        d,
        "duplicate.yaml",
        &format!("{}join_token: {TOKEN}\n", values(TOKEN)),
    );
    write(
        d,
        "old.yaml",
        &manifest(OLD_TOKEN, SECRET_DATA, "nginx:1.27"),
    );
    write(d, "new.yaml", &manifest(TOKEN, NEW_SECRET_DATA, "redis:7"));
    write(d, "lock.yaml", &format!("apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n  - image: nginx:1.27\n    digest: {}\n", common::fake_digest(1)));
    let set_token = format!("join_token={TOKEN}");
    let bad_set = format!("join_token[={TOKEN}");
    let bad_index = format!("join_token[x]={TOKEN}");

    let lint = ["lint", "--product", "catalyst", "--chart-version", "1.90.0"];
    let mut runs: Vec<Vec<&str>> = Vec::new();
    for format in ["human", "json", "sarif"] {
        runs.push(
            [
                &lint[..],
                &[
                    "-o",
                    format,
                    "--previous-values",
                    "previous.yaml",
                    "values.yaml",
                ],
            ]
            .concat(),
        );
        runs.push(
            [
                &lint[..],
                &["-o", format, "--each", "values.yaml", "previous.yaml"],
            ]
            .concat(),
        );
        runs.push(
            [
                &lint[..],
                &["-o", format, "--set", &set_token, "previous.yaml"],
            ]
            .concat(),
        );
    }
    runs.push([&lint[..], &["duplicate.yaml"]].concat());
    runs.push([&lint[..], &["--set", &bad_set, "values.yaml"]].concat());
    runs.push([&lint[..], &["--set", &bad_index, "values.yaml"]].concat());
    for format in ["text", "json"] {
        runs.push(vec!["diff", "-o", format, "old.yaml", "new.yaml"]);
        runs.push(vec![
            "diff",
            "-o",
            format,
            "--full",
            "values.yaml",
            "new.yaml",
        ]);
        runs.push(vec![
            "diff",
            "-o",
            format,
            "--full",
            "new.yaml",
            "lock.yaml",
        ]);
        runs.push(vec![
            "diff",
            "-o",
            format,
            "--detailed-exitcode",
            "-C",
            "50",
            "old.yaml",
            "new.yaml",
        ]);
    }
    runs.push(vec!["lock", "--from-manifest", "new.yaml"]);
    // A secret given as its own argument, read as a file name or refused by the argument parser.
    runs.push([&lint[..], &["--set", "join_token", TOKEN, "values.yaml"]].concat());
    runs.push([&lint[..], &["--password", PASSWORD, "values.yaml"]].concat());
    runs.push(vec![
        "diff",
        "--detailed-exitcode",
        "--join-token",
        TOKEN,
        "old.yaml",
    ]);
    runs.push(vec!["diff", "--password", PASSWORD, "old.yaml", "new.yaml"]);
    runs.push(vec!["diff", "old.yaml", "--token", TOKEN]);
    let mut ran = 0;
    for args in &runs {
        let (code, text) = run(d, args, None);
        assert!(code >= 0 && !text.contains("panicked"), "{args:?}: {text}");
        assert_hidden(&format!("{args:?}"), &text);
        ran += 1;
    }

    // The check can see a leak: asked to, the diff shows the secrets.
    let (_, shown) = run(d, &["diff", "--show-secrets", "old.yaml", "new.yaml"], None);
    assert!(
        shown.contains(TOKEN) && shown.contains(NEW_SECRET_DATA),
        "{shown}"
    );

    // The post-renderer failing on the unlocked image: stderr and the --report file.
    let (code, text) = run(
        d,
        &[
            "postrender",
            "--lock",
            "lock.yaml",
            "--input",
            "new.yaml",
            "--report",
            "report.txt",
        ],
        None,
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("redis:7"), "the finding is there: {text}");
    assert_hidden("postrender's stderr", &text);
    let report = std::fs::read_to_string(d.join("report.txt")).unwrap();
    assert!(report.contains("redis:7"), "{report}");
    assert_hidden("postrender's --report", &report);
    assert!(ran > 20);
}

#[test]
fn release_reading_shows_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kube = FakeKube::start();
    kube.insert(release_secret());
    let config = kube.kubeconfig();
    write(d, "values.yaml", &values(TOKEN));
    write(
        d,
        "new.yaml",
        &manifest(TOKEN, NEW_SECRET_DATA, "nginx:1.27"),
    );
    for args in common::commands_reading_release("cat", "cra-agent") {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, text) = run(d, &args, Some(&config));
        assert!(matches!(code, 0 | 1), "{args:?} could not run: {text}");
        assert_hidden(&format!("{args:?}"), &text);
    }
    let (_, shown) = run(d, &["release", "cat", "-n", "cra-agent"], Some(&config));
    assert!(
        shown.contains("join_token: <redacted>"),
        "the key is shown, its value hidden: {shown}"
    );
}

//! Known secrets pushed through every command and output format: values (a join token, a password), Secret
//! data (plain and base64), a join token inside a ConfigMap's embedded config, a stored release's values. None
//! of them may appear on stdout, stderr or in a report file, whatever the command, format, or failure.
//! (The post-renderer's stdout is the manifest itself, secrets included, as Helm must apply it: it is the one
//! output not checked.)

use crate::common;

use common::fakekube::FakeKube;
use common::hidden::{lint_in_every_format, Forbidden};
use common::{b64, run_without_helm_settings as run, write};

const TOKEN: &str = "jt-SECRET-0d1f2e3c4b5a";
const OLD_TOKEN: &str = "jt-SECRET-previous-77aa";
const PASSWORD: &str = "hunter2-SECRET-9f8e";
const SECRET_DATA: &str = "s3cr3t-SECRET-data-41";
const NEW_SECRET_DATA: &str = "s3cr3t-SECRET-data-42";

/// The secrets of these tests, each named by its constant.
fn forbidden() -> Forbidden {
    let named = [
        ("TOKEN", TOKEN),
        ("OLD_TOKEN", OLD_TOKEN),
        ("PASSWORD", PASSWORD),
        ("SECRET_DATA", SECRET_DATA),
        ("NEW_SECRET_DATA", NEW_SECRET_DATA),
    ];
    Forbidden::new(named.map(|(name, value)| (name.to_string(), value.to_string())))
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
    let mut runs = lint_in_every_format(
        &lint,
        &["--previous-values", "previous.yaml", "values.yaml"],
    );
    runs.extend(lint_in_every_format(
        &lint,
        &["--each", "values.yaml", "previous.yaml"],
    ));
    runs.extend(lint_in_every_format(
        &lint,
        &["--set", &set_token, "previous.yaml"],
    ));
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
    let ran = forbidden().assert_runs_hide(d, &runs, None);

    // The check can see a leak: asked to, the diff shows the secrets.
    let (_, shown) = run(d, &["diff", "--show-secrets", "old.yaml", "new.yaml"], None);
    assert!(
        shown.contains(TOKEN) && shown.contains(NEW_SECRET_DATA),
        "{shown}"
    );

    // The post-renderer failing on the unlocked image: stderr and the --report file.
    forbidden().assert_postrender_report_hides(d, "new.yaml", "redis:7");
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
    forbidden().assert_release_readers_hide(d, "cat", "cra-agent", &config);
    let (_, shown) = run(d, &["release", "cat", "-n", "cra-agent"], Some(&config));
    assert!(
        shown.contains("join_token: <redacted>"),
        "the key is shown, its value hidden: {shown}"
    );
}

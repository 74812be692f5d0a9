//! `opsta-lint [LINT FLAGS] FILE...` without a subcommand runs `lint`, directly and as the Helm CLI plugin
//! (`helm opsta-lint values.yaml`) under the real Helm 3.17 and 4.1 binaries.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;

const GOOD: &str = "testdata/catalyst/good.values.yaml";
const BAD: &str = "testdata/catalyst/bad.values.yaml";

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn opsta(args: &[&str]) -> Output {
    common::bin()
        .current_dir(common::root())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_values_file_without_a_subcommand_is_linted() {
    let plain = opsta(&["--product", "catalyst", "--chart-version", "1.90.0", BAD]);
    let explicit = opsta(&[
        "lint",
        "--product",
        "catalyst",
        "--chart-version",
        "1.90.0",
        BAD,
    ]);
    assert_eq!(plain.status.code(), Some(1), "{:?}", text(&plain));
    assert_eq!(text(&plain), text(&explicit));
    assert!(text(&plain).0.contains("OL101"), "{:?}", text(&plain));
    let json = opsta(&["-o", "json", GOOD]);
    assert_eq!(json.status.code(), Some(0), "{:?}", text(&json));
    assert!(text(&json).0.starts_with('{'), "{:?}", text(&json));
}

#[test]
fn stdin_as_dash_is_linted() {
    use std::io::Write;
    let mut child = common::bin()
        .args(["--product", "catalyst", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let values = std::fs::read(common::root().join(BAD)).unwrap();
    child.stdin.take().unwrap().write_all(&values).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(text(&out).0.contains("OL101"), "{:?}", text(&out));
}

#[test]
fn subcommand_names_win_and_typos_keep_their_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    // A values file named like a subcommand: the subcommand runs (here `rules`, which takes no file).
    std::fs::copy(common::root().join(GOOD), dir.path().join("rules")).unwrap();
    let rules = common::bin()
        .current_dir(dir.path())
        .arg("rules")
        .output()
        .unwrap();
    assert_eq!(rules.status.code(), Some(0), "{:?}", text(&rules));
    assert!(text(&rules).0.contains("OL101"), "{:?}", text(&rules));
    let linted = common::bin()
        .current_dir(dir.path())
        .args(["lint", "--product", "catalyst", "rules"])
        .output()
        .unwrap();
    assert_eq!(linted.status.code(), Some(0), "{:?}", text(&linted));
    assert!(
        text(&linted).0.contains("All checks passed"),
        "{:?}",
        text(&linted)
    );
    let typo = opsta(&["lnt", GOOD]);
    assert_eq!(typo.status.code(), Some(2));
    let (_, stderr) = text(&typo);
    assert!(
        stderr.contains("unrecognized subcommand 'lnt'")
            && stderr.contains("a similar subcommand exists: 'lint'"),
        "{stderr}"
    );
    let missing = opsta(&["no-such-values.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing).1.contains("no-such-values.yaml"),
        "{:?}",
        text(&missing)
    );
}

/// The CLI plugin copied into a fresh HELM_PLUGINS folder, with the test binary as its bin/opsta-lint.
/// (The simplest install that works on both Helm versions; `helm plugin install` runs the install hook.)
fn install_cli_plugin(home: &Path) {
    let plugin = home.join("data/plugins/opsta-lint");
    std::fs::create_dir_all(plugin.join("bin")).unwrap();
    std::fs::copy(
        common::root().join("plugin.yaml"),
        plugin.join("plugin.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_opsta-lint"),
        plugin.join("bin/opsta-lint"),
    )
    .unwrap();
}

fn helm_plugin(major: u8, home: &Path, args: &[&str]) -> Output {
    std::process::Command::new(common::helm(major))
        .envs(common::helm_env(home))
        .current_dir(common::root())
        .arg("opsta-lint")
        .args(args)
        .output()
        .unwrap()
}

fn helm_opsta_lint_values_yaml(major: u8) {
    let home = tempfile::tempdir().unwrap();
    install_cli_plugin(home.path());
    let values: PathBuf = common::root().join(GOOD);
    let values = values.to_str().unwrap();
    let good = helm_plugin(major, home.path(), &[values]);
    assert_eq!(
        good.status.code(),
        Some(0),
        "helm {major}: {:?}",
        text(&good)
    );
    assert!(
        text(&good).0.contains("All checks passed"),
        "{:?}",
        text(&good)
    );
    let bad = helm_plugin(major, home.path(), &["--product", "catalyst", BAD]);
    assert_eq!(bad.status.code(), Some(1), "helm {major}: {:?}", text(&bad));
    assert!(text(&bad).0.contains("OL101"), "{:?}", text(&bad));
}

#[test]
fn helm3_opsta_lint_values_yaml() {
    helm_opsta_lint_values_yaml(3);
}

#[test]
fn helm4_opsta_lint_values_yaml() {
    helm_opsta_lint_values_yaml(4);
}

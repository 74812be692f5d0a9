//! Parity with Helm's reading of values files: every file in testdata/values-parity/cases (written by
//! scripts/values-parity-cases.py) goes through the real Helm 4.1 and Helm 3.17 (`helm template` of the small
//! chart in testdata/values-parity/chart, whose values.schema.json is typed) and through `opsta-lint lint
//! --schema` (Helm 4's reading by default, Helm 3's with `--helm` naming Helm 3). The verdicts: 0 accepted,
//! 1 the schema rejects the values, 2 the file cannot be read. The test fails on any case where the two Helms
//! agree and opsta-lint says otherwise, and prints the agreement figures.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, Default)]
struct Verdicts {
    helm4: u8,
    helm3: u8,
    ours: u8,
    ours_as_helm3: u8,
}

/// Helm's verdict: accepted, refused by the schema (Helm 3 and 4 both say "don't meet the specifications of
/// the schema"), or any other failure, which is reading the file.
fn helm_verdict(helm: &Path, home: &Path, chart: &Path, file: &Path) -> u8 {
    let mut cmd = Command::new(helm);
    cmd.args(["template", "parity"])
        .arg(chart)
        .arg("-f")
        .arg(file)
        .envs(common::helm_env(home));
    let o = cmd.output().expect("helm runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    match (
        o.status.success(),
        stderr.contains("don't meet the specifications of the schema"),
    ) {
        (true, _) => 0,
        (false, true) => 1,
        (false, false) => 2,
    }
}

fn our_verdict(schema: &Path, file: &Path, helm: Option<&Path>) -> u8 {
    let mut cmd = common::bin();
    cmd.arg("lint")
        .arg("--schema")
        .arg(schema)
        .env_remove("HELM_BIN");
    if let Some(helm) = helm {
        cmd.arg("--helm").arg(helm);
    }
    let o = cmd.arg(file).output().expect("opsta-lint runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "{}: {stderr}", file.display());
    match o.status.code() {
        Some(code @ 0..=2) => code as u8,
        other => panic!("{}: exit {other:?}: {stderr}", file.display()),
    }
}

fn cases() -> Vec<PathBuf> {
    common::files_ending(&common::root().join("testdata/values-parity/cases"), "yaml")
}

fn percent(part: usize, whole: usize) -> String {
    format!(
        "{part}/{whole} ({:.1}%)",
        100.0 * part as f64 / whole.max(1) as f64
    )
}

#[test]
fn verdicts_equal_helms_on_every_case_where_helm_3_and_4_agree() {
    let started = std::time::Instant::now();
    let files = cases();
    assert!(files.len() >= 250, "only {} cases", files.len());
    let chart = common::root().join("testdata/values-parity/chart");
    let schema = chart.join("values.schema.json");
    let (helm4, helm3) = (common::helm(4), common::helm(3));
    let home = tempfile::tempdir().unwrap();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(vec![Verdicts::default(); files.len()]);
    // Two workers: the machine (and CI) has two cores, and each case runs four short processes.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(file) = files.get(i) else { break };
                let v = Verdicts {
                    helm4: helm_verdict(&helm4, home.path(), &chart, file),
                    helm3: helm_verdict(&helm3, home.path(), &chart, file),
                    ours: our_verdict(&schema, file, None),
                    ours_as_helm3: our_verdict(&schema, file, Some(&helm3)),
                };
                results.lock().unwrap()[i] = v;
            });
        }
    });
    let results = results.into_inner().unwrap();
    let name = |i: usize| files[i].file_stem().unwrap().to_string_lossy().into_owned();
    let n = files.len();
    let agree: Vec<usize> = (0..n)
        .filter(|&i| results[i].helm4 == results[i].helm3)
        .collect();
    let with4 = (0..n)
        .filter(|&i| results[i].ours == results[i].helm4)
        .count();
    let with3 = (0..n)
        .filter(|&i| results[i].ours_as_helm3 == results[i].helm3)
        .count();
    let both = agree
        .iter()
        .filter(|&&i| {
            results[i].ours == results[i].helm4 && results[i].ours_as_helm3 == results[i].helm3
        })
        .count();
    println!(
        "values parity over {n} files ({:.0} s):",
        started.elapsed().as_secs_f64()
    );
    println!(
        "  Helm 4.1 and Helm 3.17 agree on {}",
        percent(agree.len(), n)
    );
    println!(
        "  opsta-lint (default) equals Helm 4.1 on {}",
        percent(with4, n)
    );
    println!(
        "  opsta-lint --helm <Helm 3> equals Helm 3.17 on {}",
        percent(with3, n)
    );
    println!(
        "  where the two Helms agree, opsta-lint equals them on {}",
        percent(both, agree.len())
    );
    let mut wrong = Vec::new();
    for (i, &v) in results.iter().enumerate() {
        let line = format!(
            "{}: Helm 4 {}, Helm 3 {}, opsta-lint {} (as Helm 3: {})",
            name(i),
            v.helm4,
            v.helm3,
            v.ours,
            v.ours_as_helm3
        );
        if v.ours != v.helm4 || v.ours_as_helm3 != v.helm3 {
            println!("  differs: {line}");
        }
        if v.helm4 == v.helm3 && (v.ours != v.helm4 || v.ours_as_helm3 != v.helm3) {
            wrong.push(line);
        }
    }
    assert!(
        wrong.is_empty(),
        "opsta-lint differs from Helm 3 and 4 where they agree:\n{}",
        wrong.join("\n")
    );
}

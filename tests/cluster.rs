//! opsta-lint against releases written by the real Helm 3 and Helm 4 into a fake API server.
mod common;

use common::fakekube::FakeKube;
use std::path::PathBuf;

fn chart() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/charts/catalyst-mini")
}

fn run(kube: &FakeKube, major: u8, driver: &str, args: &[&str]) {
    let out = kube.helm(&common::helm(major)).env("HELM_DRIVER", driver).args(args).output().unwrap();
    eprintln!("helm{major} {driver}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn probe_helm_install() {
    for major in [3, 4] {
      for driver in ["secret", "configmap"] {
        let kube = FakeKube::start();
        let c = chart();
        let c = c.to_str().unwrap();
        run(&kube, major, driver, &["install", "cat", c, "-n", "cra-agent", "--set", "join_token=jt-1"]);
        kube.clear_requests();
        run(&kube, major, driver, &["upgrade", "cat", c, "-n", "cra-agent", "--set", "join_token=jt-2", "--set", "management.config.tunnel.enabled=true"]);
        for r in kube.requests() { eprintln!("  {r}"); }
        run(&kube, major, driver, &["history", "cat", "-n", "cra-agent"]);
        for s in kube.list(if driver == "secret" {"secrets"} else {"configmaps"}, "cra-agent") { eprintln!("  {} {}", s["metadata"]["name"], s["metadata"]["labels"]); }
      }
    }
}

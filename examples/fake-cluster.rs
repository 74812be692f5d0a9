//! The tests' fake Kubernetes API server (tests/it/common/fakekube.rs) on its own, for scripts/bench-upgrade.sh:
//! `cargo run --release --example fake-cluster -- DIR` writes DIR/kubeconfig and serves until it is killed.

use std::path::{Path, PathBuf};

#[path = "../tests/it/common/fakekube.rs"]
mod fakekube;

/// Helm's homes under `home` (the fake server's `helm()` command sets them; the benchmark sets its own).
fn helm_env(home: &Path) -> Vec<(String, PathBuf)> {
    ["CACHE", "CONFIG", "DATA"]
        .iter()
        .map(|k| (format!("HELM_{k}_HOME"), home.join(k.to_lowercase())))
        .collect()
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: fake-cluster DIR");
    let kube = fakekube::FakeKube::start();
    let kubeconfig = Path::new(&dir).join("kubeconfig");
    std::fs::copy(kube.kubeconfig(), &kubeconfig).expect("write DIR/kubeconfig");
    println!("{}", kube.url());
    loop {
        std::thread::park();
    }
}

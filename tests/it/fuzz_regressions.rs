//! Every input the fuzzers ever broke opsta-lint with (fuzz/regressions/<target>/), and every hand-written seed
//! (fuzz/seeds/<target>/), runs through the same invariant checks as the fuzz targets, on stable Rust. The working
//! corpora (fuzz/corpus/, not in git) are the fuzzers' own.

use crate::checks;

use std::path::Path;

fn replay(target: &'static str, check: fn(&[u8])) {
    // The inputs go up to the YAML reader's nesting limit (256 levels). A test thread has 2 MiB of stack and
    // unoptimized frames are several times larger, so the replay gets the room the debug build needs, the way the
    // binary gets its own (src/stack.rs).
    opsta_lint::stack::with_room(64 << 20, move || replay_here(target, check)).unwrap();
}

fn replay_here(target: &str, check: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let dir = fuzz.join("regressions").join(target);
    // The hand-written seeds (fuzz/seeds/<target>/) hold the same invariants.
    let seeds = std::fs::read_dir(fuzz.join("seeds").join(target))
        .into_iter()
        .flatten();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap().chain(seeds) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "fuzz input {} breaks an invariant",
            path.display()
        );
        seen += 1;
    }
    assert!(seen > 0, "no regression inputs in {}", dir.display());
}

#[test]
fn yaml_reader() {
    replay("yaml", checks::yaml);
}

#[test]
fn manifest_rewriter() {
    replay("postrender", checks::postrender);
}

#[test]
fn image_references() {
    replay("image", checks::image);
}

#[test]
fn lock_reader() {
    replay("lock", checks::lock);
}

#[test]
fn release_decoder() {
    replay("release", checks::release);
}

#[test]
fn manifest_diff() {
    replay("diff", checks::diff);
}

#[test]
fn free_text_masking() {
    replay("mask", checks::mask);
}

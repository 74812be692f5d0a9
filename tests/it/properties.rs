//! A property test of the post-renderer's rewriter: for generated manifests (random nesting, quoting styles,
//! anchors and aliases, flow and block styles, comments, block scalars holding `image:` and `---`, CRLF, a BOM,
//! unicode), the output differs from the input only inside image scalars, every locked image is pinned, and the
//! output reads back as the same documents except those images (the fuzz target's checks, `check_pinning`).
//! A small seeded generator keeps it reproducible: a failure names its seed.

use crate::checks;

/// xorshift64*: enough randomness for test inputs, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Images of the fuzz lock (pinned) and others (let through unchanged).
const LOCKED: &[&str] = &[
    "nginx",
    "nginx:1.27",
    "ghcr.io/dapr/daprd:1.17.3",
    "alpine:3.17",
];
const UNLOCKED: &[&str] = &["redis:7", "quay.io/x/y:v1", "localhost:5000/team/app:v2"];
const NAMES: &[&str] = &["web", "wéb-ü", "日本", "a-b", "x"];
const COMMENTS: &[&str] = &["", " # a comment", " # image: nginx", " #---"];

/// One generated render and how many locked image scalars it holds (aliases not counted).
struct Render {
    text: String,
    locked: usize,
}

struct Gen {
    rng: Rng,
    locked: usize,
    anchors: Vec<String>,
}

impl Gen {
    fn image(&mut self) -> String {
        self.image_of(LOCKED, UNLOCKED)
    }

    /// An env value naming an image counts only when reference-shaped (docs/images.md): these all are.
    fn env_image(&mut self) -> String {
        self.image_of(&LOCKED[2..3], &UNLOCKED[1..])
    }

    fn image_of(
        &mut self,
        locked_images: &[&'static str],
        unlocked_images: &[&'static str],
    ) -> String {
        if let Some(anchor) = self.anchors.last().filter(|_| self.rng.chance(20)) {
            return format!("*{anchor}");
        }
        let locked = self.rng.chance(60);
        let image = if locked {
            self.rng.pick(locked_images)
        } else {
            self.rng.pick(unlocked_images)
        };
        self.locked += usize::from(locked);
        let written = match self.rng.below(3) {
            0 => image.to_string(),
            1 => format!("'{image}'"),
            _ => format!("\"{image}\""),
        };
        if self.rng.chance(20) {
            let anchor = format!("img{}", self.anchors.len());
            self.anchors.push(anchor.clone());
            return format!("&{anchor} {written}");
        }
        written
    }

    fn comment(&mut self) -> &'static str {
        self.rng.pick(COMMENTS)
    }

    /// A script in a block scalar that looks like YAML with images and markers: never touched.
    fn script(&mut self, indent: &str) -> String {
        let style = self.rng.pick(&["|", "|-", ">", "|+"]);
        format!(
            "{style}\n{indent}  image: nginx:1.27\n{indent}  ---\n{indent}  containers: [{{image: alpine:3.17}}]\n{indent}  echo ok\n"
        )
    }

    fn container(&mut self, indent: &str) -> String {
        let name = self.rng.pick(NAMES);
        if self.rng.chance(25) {
            let image = self.image();
            return format!(
                "{indent}- {{name: \"{name}\", image: {image}}}{}\n",
                self.comment()
            );
        }
        let image = self.image();
        let mut text = format!(
            "{indent}- name: \"{name}\"\n{indent}  image: {image}{}\n",
            self.comment()
        );
        if self.rng.chance(50) {
            let env_image = self.env_image();
            text.push_str(&format!(
                "{indent}  env:\n{indent}  - name: SIDECAR_IMAGE\n{indent}    value: {env_image}\n{indent}  - name: NOT_AN_IMAGE_EITHER\n{indent}    value: nginx:1.27\n"
            ));
        }
        if self.rng.chance(40) {
            let script = self.script(&format!("{indent}  "));
            text.push_str(&format!("{indent}  args:\n{indent}  - {script}"));
        }
        text
    }

    /// A pod spec at `indent` spaces, with containers and maybe init containers.
    fn pod_spec(&mut self, depth: usize) -> String {
        let indent = " ".repeat(depth);
        let mut text = format!("{indent}containers:{}\n", self.comment());
        for _ in 0..1 + self.rng.below(3) {
            text.push_str(&self.container(&indent));
        }
        if self.rng.chance(40) {
            text.push_str(&format!("{indent}initContainers:\n"));
            text.push_str(&self.container(&indent));
        }
        text
    }

    /// Wraps a pod spec in random intermediate mappings (as templates of Deployments, CronJobs, CRs do).
    fn nested_pod(&mut self, depth: usize) -> String {
        let mut path = Vec::new();
        for _ in 0..self.rng.below(4) {
            path.push(
                self.rng
                    .pick(&["template", "spec", "jobTemplate", "wrapper", "ü"]),
            );
        }
        path.push("spec");
        let mut text = String::new();
        for (level, key) in path.iter().enumerate() {
            text.push_str(&format!("{}{key}:\n", " ".repeat(depth + 2 * level)));
        }
        text + &self.pod_spec(depth + 2 * path.len())
    }

    fn document(&mut self) -> String {
        self.anchors.clear();
        let name = self.rng.pick(NAMES);
        let mut text = String::new();
        if self.rng.chance(50) {
            text.push_str("# Source: chart/templates/thing.yaml\n");
        }
        match self.rng.below(5) {
            0 => {
                let script = self.script("  ");
                text.push_str(&format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: \"{name}\"}}\ndata:\n  image: nginx:1.27\n  run.sh: {script}"
                ));
            }
            1 => text.push_str(
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: crd\nspec:\n  containers:\n  - image: nginx:1.27\n  image: {type: string}\n",
            ),
            kind => {
                let kind = ["Pod", "Deployment", "CronJob"][kind - 2];
                let quoted_name = match self.rng.below(3) {
                    0 => name.to_string(),
                    1 => format!("'{name}'"),
                    _ => format!("\"{name}\""),
                };
                text.push_str(&format!(
                    "apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {quoted_name}\n  labels: {{app: \"{name}\", 'k': v}}\n"
                ));
                text.push_str(&self.nested_pod(0));
            }
        }
        text
    }

    fn render(&mut self) -> Render {
        let mut text = String::new();
        if self.rng.chance(15) {
            text.push('\u{feff}');
        }
        for n in 0..1 + self.rng.below(4) {
            if n > 0 || self.rng.chance(50) {
                text.push_str(self.rng.pick(&["---\n", "--- # next\n"]));
            }
            text.push_str(&self.document());
        }
        if self.rng.chance(25) {
            text = text.replace('\n', "\r\n");
        }
        Render {
            text,
            locked: std::mem::take(&mut self.locked),
        }
    }
}

fn why_failed(input: &str) -> String {
    let pinning = opsta_lint::pinning::Pinning {
        lock: checks::fuzz_lock(),
        mirrors: &[],
        allow_unlocked: true,
        input_name: "in.yaml",
        products: &[],
        product: None,
        chart_version: None,
    };
    match pinning.pin(input) {
        Err(e) => format!("{e:#}"),
        Ok(outcome) => format!("{:?}", outcome.findings),
    }
}

#[test]
fn rewriting_changes_only_image_scalars_and_pins_every_locked_image() {
    let mut pinned = 0;
    for seed in 1..=300u64 {
        let mut generator = Gen {
            rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            locked: 0,
            anchors: Vec::new(),
        };
        let render = generator.render();
        let input = render.text.strip_prefix('\u{feff}').unwrap_or(&render.text);
        let outcome = std::panic::catch_unwind(|| checks::check_pinning(input, &[], &[]))
            .unwrap_or_else(|_| panic!("seed {seed} breaks an invariant on:\n{input}"));
        let outcome = outcome.unwrap_or_else(|| {
            panic!(
                "seed {seed}: pinning failed ({}) on:\n{input}",
                why_failed(input)
            )
        });
        assert_eq!(
            outcome.edits.len(),
            render.locked,
            "seed {seed}: every locked image scalar is pinned once, nothing else:\n{input}\n{:?}",
            outcome.edits
        );
        for (&start, (end, _)) in &outcome.edits {
            let before = &input[..start];
            let written = input[start..*end].trim_matches(['\'', '"']);
            assert!(LOCKED.contains(&written), "seed {seed}: edited {written:?}");
            assert!(
                before.ends_with("image: ")
                    || before.ends_with("value: ")
                    || before.ends_with(' ')
                        && before
                            .trim_end()
                            .rsplit(' ')
                            .next()
                            .is_some_and(|a| a.starts_with('&')),
                "seed {seed}: an edit at byte {start} is not an image scalar"
            );
        }
        pinned += outcome.edits.len();
    }
    assert!(
        pinned > 300,
        "the generator produced too few locked images: {pinned}"
    );
}

//! The secrets tests' one checker: secret values that no output may show, the command lines run over them, and
//! the post-renderer's report on a failing render.

use super::{b64, run_without_helm_settings as run};
use std::path::Path;

/// Secret values, each with what it is (a class of secret, or a name), in every form one could leak in: as
/// written and as the base64 a Secret's `data` holds.
pub struct Forbidden(Vec<(String, String)>);

impl Forbidden {
    /// `secrets`: (what it is, the value).
    pub fn new(secrets: impl IntoIterator<Item = (String, String)>) -> Forbidden {
        let forms = secrets
            .into_iter()
            .flat_map(|(what, value)| [(what.clone(), b64(&value)), (what, value)]);
        Forbidden(forms.collect())
    }

    /// Fails when `text` (what `what` printed) shows a secret.
    pub fn assert_hidden(&self, what: &str, text: &str) {
        for (class, value) in &self.0 {
            assert!(
                !text.contains(value),
                "{what} shows the secret of {class} ({value}):\n{text}"
            );
        }
    }

    /// Runs each command line in `dir` (against the cluster of `kubeconfig`, if given) and fails when one panics
    /// or shows a secret; returns how many ran.
    pub fn assert_runs_hide(
        &self,
        dir: &Path,
        runs: &[Vec<&str>],
        kubeconfig: Option<&Path>,
    ) -> usize {
        for args in runs {
            let (code, text) = run(dir, args, kubeconfig);
            assert!(code >= 0 && !text.contains("panicked"), "{args:?}: {text}");
            self.assert_hidden(&format!("{args:?}"), &text);
        }
        runs.len()
    }

    /// Every command that reads release `name` in `namespace` from the cluster runs, and shows no secret.
    pub fn assert_release_readers_hide(
        &self,
        dir: &Path,
        name: &str,
        namespace: &str,
        kubeconfig: &Path,
    ) {
        for args in super::commands_reading_release(name, namespace) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, text) = run(dir, &args, Some(kubeconfig));
            assert!(matches!(code, 0 | 1), "{args:?} could not run: {text}");
            self.assert_hidden(&format!("{args:?}"), &text);
        }
    }

    /// The post-renderer fails on `input` (in `dir`, with `lock.yaml`): its finding on `image` is on stderr and
    /// in `--report report.txt`, and neither shows a secret.
    pub fn assert_postrender_report_hides(&self, dir: &Path, input: &str, image: &str) {
        let args = [
            "postrender",
            "--lock",
            "lock.yaml",
            "--input",
            input,
            "--report",
            "report.txt",
        ];
        let (code, text) = run(dir, &args, None);
        assert_eq!(code, 1, "{text}");
        assert!(text.contains(image), "the finding is there: {text}");
        self.assert_hidden("postrender's stderr", &text);
        let report = std::fs::read_to_string(dir.join("report.txt")).unwrap();
        assert!(report.contains(image), "{report}");
        self.assert_hidden("postrender's --report", &report);
    }
}

/// `lint` with `common` then `-o FORMAT` and `rest`, once for each output format.
pub fn lint_in_every_format<'a>(common: &[&'a str], rest: &[&'a str]) -> Vec<Vec<&'a str>> {
    ["human", "json", "sarif"]
        .into_iter()
        .map(|format| [common, &["-o", format], rest].concat())
        .collect()
}

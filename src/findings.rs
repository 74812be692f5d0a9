//! Findings: every rule of every job in one registry (`Code`: OL lint, PR post-render, VF verify, PF preflight,
//! RG registry), and one `Finding` that every job reports, whatever it points at. The output layer
//! (`crate::output`) writes findings as people or programs read them.

use crate::paths::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule's identity and documentation.
#[derive(Debug)]
pub struct Rule {
    pub code: Code,
    pub name: &'static str,
    /// The severity it reports with unless product policy (or `--strict`) says otherwise.
    pub severity: Severity,
    pub summary: &'static str,
    pub doc: &'static str,
    /// A generic finding gives way to a specific rule's finding at the same key (or above it).
    pub generic: bool,
}

/// Declares `Code` and `RULES` from one list, so the two cannot disagree: `RULES[code as usize]` is the code's
/// rule.
macro_rules! registry {
    ($($code:ident $name:literal $severity:ident $generic:literal $summary:literal, $doc:literal;)*) => {
        /// Every rule of every job, by its stable code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($code,)*
        }

        /// The rules, in the order of `Code` (OL, PR, VF, PF, RG).
        pub static RULES: &[Rule] = &[
            $(Rule {
                code: Code::$code,
                name: $name,
                severity: Severity::$severity,
                summary: $summary,
                doc: $doc,
                generic: $generic,
            },)*
        ];

        impl Code {
            /// The code as written: OL101, PR007, ...
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$code => stringify!($code),)*
                }
            }
        }
    };
}

registry! {
    OL001 "schema-violation" Error true
        "A value does not match the chart major's values schema.",
        "The merged values (files and --set) are validated against the JSON Schema of the target chart major \
              (bundled for --product, or the file given with --schema). Every violation is reported at the key \
              that set the value: wrong types, values outside an enum, patterns, missing required keys. \
              Helm 4 refuses to render such values, so the upgrade would fail.";
    OL002 "unknown-key" Error true
        "A key the schema does not allow: a typo, or a key of another chart version.",
        "The schema closes this map (additionalProperties or unevaluatedProperties is false), so the key is \
              either misspelled or belongs to another chart version; a key the chart never reads silently does \
              nothing. The message suggests the closest key the schema knows.";
    OL003 "duplicate-key" Warning false
        "A key is written twice in the same mapping of a values file; the later one wins.",
        "Helm reads such a file without a word and keeps the value written last, so the earlier one silently \
              does nothing: almost always a mistake (two edits of one setting, a paste in the wrong place). \
              Reported at the later key, naming the line of the earlier one.";
    OL101 "join-token-missing" Error false
        "A required secret (Catalyst's join_token) is missing, empty or a placeholder.",
        "The chart needs the secret on install and on every upgrade, unless the alternative key named by the \
              product data is set (Catalyst: agent.existingJoinTokenSecret.name). Empty strings and placeholders \
              such as ${JOIN_TOKEN}, <join-token> or changeme count as missing, and so does any whole value written \
              as ${...} or <...>. The value is never printed.";
    OL102 "join-token-set-only" Warning false
        "A required secret is given only with --set; keep it in a values (secrets) file.",
        "A secret given only on the command line is easily forgotten on the next upgrade, which then fails or \
              reconnects with nothing. Keep it in a git-ignored secrets values file passed with -f on every upgrade.";
    OL201 "sticky-flag-dropped" Error false
        "A sticky setting that was on in the previous values is now off or absent.",
        "Some settings mirror how the product was created and must stay on across upgrades (Catalyst: \
              management.config.tunnel.enabled mirrors the region's --enable-public-management-api). Needs \
              --previous-values. The message says what the product was created with and what to pass again.";
    OL202 "key-dropped" Warning true
        "A key set in the previous values is absent now; Helm resets it to the chart default.",
        "With --previous-values, every key set before but absent now is reported, where it was set before. \
              Helm does not keep values that are not passed again: the upgrade silently returns them to the \
              chart's defaults.";
    OL301 "renamed-key" Error false
        "A key the target chart version renamed or removed.",
        "The chart no longer reads this key from the named version on, so its setting would silently be \
              lost. The message names the new key and the version that renamed it, or says it was removed.";
    OL302 "key-added-later" Error false
        "A key that only a later chart version reads: the target chart version ignores it.",
        "The values surface of every known release (schema/<product>/surface.json, derived from the chart's \
              own default values, schema and README) says which keys each release reads. A key that the target \
              chart version does not read but a later release does was added after it: the setting would silently \
              do nothing (e.g. shared.scheduling.nodeSelector on Catalyst 1.48.0, added in 1.51.0). Between two \
              known releases the keys of both count as read. See docs/versions.md.";
    OL401 "major-crossing" Error false
        "The upgrade crosses a chart major version without --allow-major.",
        "Vendors reserve breaking value changes for major versions. With --previous-chart-version, an upgrade \
              from one major to another is an error (or a warning, by product policy) unless --allow-major says \
              the major's upgrade guide was followed.";
    OL402 "downgrade" Error false
        "The target chart version is older than the previous one.",
        "With --previous-chart-version. Product policy decides: Opsta AI Gateway refuses downgrades (database \
              migrations are forward-only); Catalyst warns (rollback is safe only between adjacent versions).";
    OL403 "default-changed" Warning false
        "The upgrade crosses a release that changed a default these values rely on.",
        "With --previous-chart-version. A release changed a default in a way that alters behaviour (Catalyst \
              1.76: a self-hosted PostgreSQL by default, Dapr scheduler moved from etcd to PostgreSQL without \
              migration). Reported when the values leave every key of that decision unset.";
    OL404 "pinned-component" Error false
        "Values set the version or image of a component the chart version pins (Catalyst: Dapr).",
        "The chart version pins the component, and it moves only with the chart: mixing versions is \
              unsupported. Values must not set the keys the product data lists as the component's version or \
              image tag; a value equal to the chart version being installed is what the chart itself writes \
              there (vendor image tags follow the chart version) and is accepted.";
    OL501 "product-version-tag" Error false
        "The shared image tag is mutable (dev, latest) or differs from the product version installed.",
        "Opsta AI Gateway pins every image with one tag, images.builtTag, which must equal the product \
              version being installed (e.g. v1.25.0). Its default, dev, is a mutable tag that is never right in \
              production.";
    OL502 "inline-secret" Warning false
        "A secret is written in a values file that is not the secrets file.",
        "Secrets belong in the separate, git-ignored secrets values file (Opsta AI Gateway: \
              secrets-values.yaml, applied with -f values.yaml -f secrets-values.yaml), never in the values file \
              that is committed.";
    PR001 "image-unlocked" Error false
        "An image of the render is not in the lock (a warning with --allow-unlocked).",
        "Every image the render uses must be in the release lock with its tested digest. Add it with its digest, or \
         fix the values that changed it. The run exits 1 with nothing on stdout.";
    PR002 "digest-mismatch" Error false
        "An image carries a digest the lock does not hold for it.",
        "The reference already names a digest, and it is not the tested one: a drifted or hand-edited image.";
    PR003 "invalid-reference" Error false
        "An image value is not a reference the container runtime accepts.",
        "The value cannot be parsed as an image reference, is written as a block scalar, or is an alias of a value \
         that is not an image.";
    PR004 "not-mirrored" Error false
        "--mirror was given but no mirror covers the image.",
        "With any --mirror, every image must end up under a mirror: an air-gapped cluster cannot pull the rest.";
    PR005 "pinned-version" Error false
        "A component the chart version pins (Catalyst: Dapr) runs another version.",
        "Every image of a pinned component (control plane, sidecars, env values such as SIDECAR_IMAGE) must carry \
         the one version the product data pins for the chart version.";
    PR006 "product-version" Error false
        "A product image does not carry the product version, or the lock is for another release.",
        "Products shipped as one version (Opsta AI Gateway) tag every image with the product version; mutable tags \
         (dev, latest) and a lock whose version differs from the rendered chart version are refused.";
    PR007 "helm3-hooks-unpinned" Warning false
        "Helm 3 does not post-render hooks: hook images are not covered.",
        "Helm 3 input (# Source: comments, no postrender-filename annotation) never contains hooks; pin hook images \
         through the chart's values instead, or use Helm 4.";
    PR008 "image-unsure-value" Warning false
        "A value under a key that names an image is not a reference opsta-lint can be sure of (an error with --strict).",
        "Outside known image fields (containers, schema/images.yaml, --image-field, the lock's fields), a value under a \
         key such as `fooImage` or `IMAGE_NAME` counts as an image only when reference-shaped: a registry host, or a \
         `/` and a tag or digest. A bare word (`catalyst-all`, `nats:2.10`) is reported, never read as a docker.io \
         image. Declare the field if it is one, or write the full reference.";
    PR009 "image-unrecognised-key" Warning false
        "A reference-shaped value sits under a key that names no image, in a kind that runs containers (an error with --strict).",
        "In a workload or a custom resource with known image fields, a value such as `ghcr.io/x/y:1` under an \
         unrecognised key may be an image the operator runs. Declare the field (--image-field KIND:PATH or the \
         lock's fields) so it is pinned.";
    PR010 "image-not-pinned-in-place" Warning false
        "A locked image cannot be pinned in place: it runs by tag, and `opsta-lint verify` checks its digest.",
        "An image written in separate keys without one for a digest (Catalyst's agent config image_registry, \
         image_name, image_tag), or inside a string that is not a literal block, is checked against the lock by its \
         reference but left as written. After the upgrade, `opsta-lint verify` compares the digests the pods run \
         with the lock.";
    PR020 "flux-embedded-text" Error false
        "`lock flux`: an image inside a text value (a ConfigMap's config file) would need the whole value in a patch.",
        "Flux postRenderers can only replace whole values. Pinning an image written inside a ConfigMap's or a \
         Secret's text would put all of that text, join tokens and keys included, into a patch in git, so `lock \
         flux` refuses. Pin the image through the chart's values (a tag@digest in the image value).";
    PR021 "flux-no-target" Error false
        "`lock flux`: an image to pin sits in an object a kustomize patch cannot target alone.",
        "A patch targets one object by group, version, kind, name and namespace. An object without kind or \
         metadata.name, or one that is in the render twice, cannot be targeted alone (kustomize refuses such a \
         render too).";
    PR022 "flux-not-pinned" Error false
        "`lock flux --check`: an image of the render is not pinned by the HelmRelease's postRenderers.",
        "Kustomize leaves alone every image it is not told about, so a new image in the next chart version runs \
         by tag under Flux. The check applies the postRenderers to the render as kustomize does and fails on every \
         image left without a digest (with --lock: without the locked digest). Run `opsta-lint lock flux` again \
         and commit its output.";
    PR023 "flux-unevaluable" Error false
        "`lock flux --check`: a postRenderer the check cannot evaluate.",
        "Strategic-merge patches, patchesStrategicMerge, patchesJson6902, targets by label or annotation and JSON \
         6902 ops other than test, replace, add and remove are not evaluated, so the check cannot say every image \
         is pinned. Write the pins as `lock flux` does.";
    PR024 "flux-patch-fails" Error false
        "`lock flux --check`: a patch of the postRenderers fails on the render.",
        "Every patch `lock flux` writes tests the value as rendered before replacing it. A failing test means the \
         chart moved or changed the value: helm-controller would refuse the release. Run `lock flux` again on the \
         new render.";
    VF001 "pod-not-ready" Error false
        "A pod of the release is not Ready after the upgrade.",
        "Every pod of the release's workloads (and, when the product data names region namespaces, every pod of \
         those namespaces) must be Ready, unless it has Succeeded. The finding gives the pod's phase and what its \
         Ready condition says.";
    VF002 "image-unreadable" Error false
        "A container's image is not a reference opsta-lint can read.",
        "The image of the pod spec cannot be parsed as an image reference, so neither the lock nor the pinned \
         component versions can be checked for that container.";
    VF003 "digest-drift" Error false
        "A container runs another digest than the lock holds for its image.",
        "With --lock, the digest the runtime reports (its image ID, else the digest in the pod spec) must be the \
         one the lock holds: another digest means the tag moved, or the image was not pinned by the post-renderer.";
    VF004 "digest-unknown" Error false
        "The digest a container runs is not known yet (the image is not pulled).",
        "With --lock, the runtime has not reported the image ID yet (the pull is pending or failing) and the pod \
         spec names no digest, so the digest the container will run cannot be compared with the lock.";
    VF005 "image-unlocked" Error false
        "A container runs an image the lock does not hold.",
        "With --lock, every container's image must be in the lock: an image outside it was not tested with the \
         release (a value changed it, or something other than the chart started the pod).";
    VF006 "pinned-component" Error false
        "A container runs another version of a component the chart version pins (Catalyst: Dapr).",
        "Every container of a pinned component (found by the product data's image pattern) must run the version \
         the deployed chart version pins; when the data does not know the pin, every such container must run the \
         same version as the first one seen.";
    VF007 "no-pods" Error false
        "No pods were found for the release's workloads.",
        "The release's workloads select no pods in the cluster: nothing runs, or the workloads were deleted or \
         scaled to zero, so there is nothing to verify.";
    VF008 "not-ready-in-time" Error false
        "The release's pods did not settle (Ready, on the locked digests) within --timeout.",
        "verify --timeout (and upgrade, which waits after the apply) checks the pods again every 2 seconds while a \
         problem a rollout settles remains: a pod not Ready (VF001), a container not yet on the locked digest \
         (VF003, VF004: old pods still running, images still pulling), no pods yet (VF007). When the time is up \
         with one of those left, this finding is reported with them. Problems waiting cannot fix (an unlocked \
         image, a pinned component's version) end the wait at once.";
    PF001 "release-pending" Error false
        "The release's latest revision is pending: another helm operation runs, or one died midway.",
        "helm status shows the latest revision as pending-install, pending-upgrade or pending-rollback. Helm \
         refuses a new operation then: wait for the running one, or roll back to the last deployed revision.";
    PF002 "hook-image-unpinned" Error false
        "Helm 3 does not post-render hooks: a hook image must be pinned through the values.",
        "Under Helm 3 the post-renderer never sees hook resources (jobs annotated helm.sh/hook), so their images \
         run by tag. Pin them through the chart's values (a digest in the image value), or upgrade with Helm 4.";
    PF003 "lock-version" Error false
        "The lock is for another chart version than the one being installed.",
        "The lock's version must equal --chart-version: the digests of another release were not tested with this \
         one.";
    PF004 "major-crossing" Error false
        "The upgrade crosses a chart major: follow the vendor's upgrade guide, then pass --allow-major.",
        "Vendors reserve breaking changes for major versions. An upgrade from one major to another is refused \
         until --allow-major says the major's upgrade guide was followed.";
    PF005 "downgrade" Error false
        "The target chart version is older than the deployed one.",
        "Database migrations are forward-only: going back to an older chart version needs the backup taken \
         before the upgrade, not a helm upgrade.";
    PF006 "backup-missing" Error false
        "Opsta AI Gateway: the control-plane PostgreSQL has no completed backup within --backup-max-age.",
        "The vendor says to back up the control-plane PostgreSQL (a CloudNativePG Cluster) before every upgrade: \
         its migrations are forward-only and `helm rollback` does not undo them. A Backup (postgresql.cnpg.io/v1) \
         of the cluster counts when its phase is completed and it stopped within --backup-max-age (default 24h); \
         a ScheduledBackup counts through the Backups it creates, so a failed run does not. The finding shows the \
         Backup manifest to apply.";
    PF007 "external-stores" Warning false
        "Catalyst: the stores the region keeps its state in, to back up before the apply.",
        "Catalyst's upgrade guide says to back up the workflow PostgreSQL, the Dapr scheduler PostgreSQL when it \
         runs separately, and the Kafka topics of managed pub/sub. Read from the values the upgrade applies \
         (global.postgresql, agent.config.internal_dapr.scheduler, global.kafka) and listed before the prompt; \
         the chart does not back them up.";
    PF008 "dapr-versions" Warning false
        "Catalyst: the Dapr versions running in the region now differ from the target chart's pin.",
        "One Catalyst release runs one Dapr version, and the upgrade rolls the Dapr control plane and every Dapr \
         server of the region to the version the target chart pins. The versions the region's pods run now are \
         listed against that pin (several versions running means the region is already mixed).";
    RG001 "mirror-missing" Error false
        "The mirror does not hold a locked digest (or one platform's manifest of a locked index).",
        "mirror-check asks the mirror for every locked image by digest, and for a multi-platform image for the \
         index and each platform's manifest. A missing one would stop the upgrade half-way in ImagePullBackOff; \
         the finding carries the `skopeo copy --all` line that copies it.";
    RG002 "tag-moved" Error false
        "A locked tag now points at another digest than the one tested.",
        "lock verify asks the registry (or with --mirror, the mirror) where each locked tag points. A tag moved \
         since the lock was written means the image was retagged: the finding names both digests.";
    RG003 "image-not-found" Error false
        "The registry does not have an image (tag or digest) the render or the lock names.",
        "The registry answered 404 (manifest unknown) for the tag or digest: a typo in the values, an image not \
         yet pushed or mirrored, or a tag deleted upstream.";
    RG004 "platform-missing" Error false
        "An image does not provide a platform given with --platform.",
        "lock resolve --platform os/arch checks each image's index (or, for a single-platform image, its config) \
         for the platform the cluster's nodes run.";
    RG005 "not-mirrored" Error false
        "No --mirror covers a locked image.",
        "With mirrors, every locked image must have one: an air-gapped cluster cannot pull the rest.";
}

impl Code {
    pub fn rule(self) -> &'static Rule {
        &RULES[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.rule().name
    }

    pub fn severity(self) -> Severity {
        self.rule().severity
    }

    /// Every code, in registry order.
    pub fn all() -> impl Iterator<Item = Code> {
        RULES.iter().map(|r| r.code)
    }

    /// The code named by its code (any case) or its rule name (the first in registry order: a name two jobs
    /// share, such as `downgrade`, names the lint rule).
    pub fn find(text: &str) -> Option<Code> {
        Code::find_in("", text)
    }

    /// The code named by its code, or by the name of a rule whose code starts with `prefix` (one job's rules).
    fn find_in(prefix: &str, text: &str) -> Option<Code> {
        let by_code = Code::all().find(|c| c.as_str().eq_ignore_ascii_case(text));
        by_code.or_else(|| Code::all().find(|c| c.as_str().starts_with(prefix) && c.name() == text))
    }

    /// `--ignore` values of one job (its codes' `prefix`, e.g. PR) as codes: an unknown one is an error naming it.
    pub fn parse_list(prefix: &str, texts: &[String]) -> anyhow::Result<Vec<Code>> {
        texts
            .iter()
            .map(|t| {
                Code::find_in(prefix, t.trim()).ok_or_else(|| {
                    anyhow::anyhow!("--ignore {t}: no such rule (see `opsta-lint rules`)")
                })
            })
            .collect()
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Where a finding points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A place in an input file.
    File {
        file: String,
        line: usize,
        col: usize,
        /// How many characters the finding covers (0: a point).
        len: usize,
        /// The source line, with secrets masked (empty when not shown).
        text: String,
    },
    /// An input file as a whole (what it says or lacks has no one line).
    WholeFile { file: String },
    /// A resource of a manifest, and the path inside it.
    Resource {
        kind: String,
        namespace: String,
        name: String,
        path: String,
    },
    /// An object in the cluster (a pod, and one of its containers).
    Cluster {
        kind: String,
        namespace: String,
        name: String,
        container: Option<String>,
    },
    /// The command line: a `--set` argument (secrets masked), or the flags as a whole.
    CommandLine { arg: Option<String> },
}

impl Location {
    /// A place in an input file, without its source line.
    pub fn at(file: &str, line: usize, col: usize) -> Location {
        Location::File {
            file: file.to_string(),
            line,
            col,
            len: 0,
            text: String::new(),
        }
    }

    /// An input file as a whole.
    pub fn file(file: &str) -> Location {
        Location::WholeFile {
            file: file.to_string(),
        }
    }

    pub fn command_line() -> Location {
        Location::CommandLine { arg: None }
    }
}

/// One finding of any job.
#[derive(Debug, Clone)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub location: Location,
    /// The values path the finding is about (lint).
    pub path: Option<Path>,
}

impl Finding {
    /// A finding at its rule's own severity.
    pub fn new(code: Code, location: Location, message: String) -> Finding {
        Finding {
            code,
            severity: code.severity(),
            message,
            location,
            path: None,
        }
    }

    pub fn with_severity(self, severity: Severity) -> Finding {
        Finding { severity, ..self }
    }
}

/// `file:line:col: severity[CODE]: message` (`file: ` for a whole file; the place left out when it is not a file), as the post-renderer and
/// `lock init` print a finding on one line.
impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Location::File {
                file, line, col, ..
            } => write!(f, "{file}:{line}:{col}: ")?,
            Location::WholeFile { file } => write!(f, "{file}: ")?,
            Location::Resource {
                kind,
                namespace,
                name,
                ..
            }
            | Location::Cluster {
                kind,
                namespace,
                name,
                ..
            } => write!(f, "{kind} {namespace}/{name}: ")?,
            Location::CommandLine { .. } => {}
        }
        write!(f, "{}[{}]: {}", self.severity, self.code, self.message)
    }
}

/// Drops the findings of the ignored codes.
pub fn ignore(findings: &mut Vec<Finding>, ignored: &[Code]) {
    findings.retain(|f| !ignored.contains(&f.code));
}

pub fn count(findings: &[Finding], severity: Severity) -> usize {
    findings.iter().filter(|f| f.severity == severity).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_in_code_order_with_unique_codes_and_full_docs() {
        for (i, rule) in RULES.iter().enumerate() {
            assert_eq!(rule.code as usize, i, "{}", rule.code);
            assert!(
                rule.summary.ends_with('.')
                    && !rule.doc.is_empty()
                    && rule
                        .name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                rule.code
            );
        }
        let mut codes: Vec<&str> = Code::all().map(Code::as_str).collect();
        codes.dedup();
        assert_eq!(codes.len(), RULES.len());
        for prefix in ["OL", "PR", "VF", "PF", "RG"] {
            assert!(codes.iter().any(|c| c.starts_with(prefix)), "{prefix}");
        }
    }

    #[test]
    fn codes_are_found_by_code_or_unique_name() {
        assert_eq!(Code::find("ol101"), Some(Code::OL101));
        assert_eq!(Code::find("join-token-missing"), Some(Code::OL101));
        assert_eq!(Code::find("helm3-hooks-unpinned"), Some(Code::PR007));
        assert_eq!(Code::find("downgrade"), Some(Code::OL402));
        assert_eq!(Code::find("OL999"), None);
        let ignored = Code::parse_list("PR", &["PR007".into(), "not-mirrored".into()]).unwrap();
        assert_eq!(ignored, [Code::PR007, Code::PR004]);
        assert_eq!(
            Code::parse_list("RG", &["not-mirrored".into()]).unwrap(),
            [Code::RG005]
        );
        let err = Code::parse_list("PR", &["PR999".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--ignore PR999: no such rule (see `opsta-lint rules`)"
        );
    }
}

//! Installing into Helm: `install-postrenderer` writes Helm 4's post-renderer plugin `opsta-lint-postrender`
//! (plugins/postrender/, bundled in the binary) into a plugins folder, with `bin/opsta-lint` linking to this very
//! binary, so the plugin runs the binary the CLI plugin installed however that was installed. Helm 3 and Helm 4 read
//! the same plugins folder by default, and a Helm 4 (`apiVersion: v1`) plugin there makes Helm 3 drop every plugin;
//! so when a Helm 3 on PATH reads the folder, the plugin goes into a Helm-4-only folder instead and the command
//! prints the HELM_PLUGINS setting Helm 4 then needs (docs/install.md, "Helm 4 post-renderer").
//!
//! Also the warning `helm opsta-lint` prints when the binary's version differs from the CLI plugin's.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Helm 4 post-renderer plugin's name (`--post-renderer opsta-lint-postrender`).
pub const PLUGIN: &str = "opsta-lint-postrender";
const PLUGIN_YAML: &str = include_str!("../plugins/postrender/plugin.yaml");
const POSTRENDER_SH: &str = include_str!("../plugins/postrender/postrender.sh");
/// The folder, inside HELM_DATA_HOME, for Helm 4 plugins that Helm 3 must not see.
const HELM4_ONLY: &str = "helm4-plugins";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Install into this plugins folder instead of choosing one (Helm 4's own, or a Helm-4-only folder when a
    /// Helm 3 on PATH reads Helm 4's).
    #[arg(long, value_name = "DIR")]
    pub plugins_dir: Option<PathBuf>,
}

/// Where the plugin goes, and the folder a Helm 3 shares (when that is why it goes elsewhere).
struct Destination {
    folder: PathBuf,
    shared: Option<(PathBuf, PathBuf)>,
}

pub fn run(args: &Args) -> Result<u8> {
    let destination = match &args.plugins_dir {
        Some(folder) => Destination {
            folder: folder.clone(),
            shared: None,
        },
        None => choose_destination()?,
    };
    let binary = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .context("cannot tell where this opsta-lint binary is")?;
    let installed = write_plugin(&destination.folder, &binary)?;
    println!(
        "Installed the Helm 4 post-renderer plugin {PLUGIN} into {} (it runs {}).",
        installed.display(),
        binary.display()
    );
    match &destination.shared {
        None => println!("Use it with: helm upgrade ... --post-renderer {PLUGIN} --post-renderer-args --lock=FILE"),
        Some((helm3, shared)) => {
            let list = std::env::join_paths([shared.as_path(), destination.folder.as_path()])
                .context("the plugins folders cannot be joined into one HELM_PLUGINS value")?;
            println!(
                "It is not in {}, because Helm 3 ({}) reads that folder too and would drop every plugin beside a Helm 4 \
                 one. Start every Helm 4 command that uses it with this setting (do not export it: Helm 3 must not see it):\n  \
                 HELM_PLUGINS=\"{}\" helm upgrade ... --post-renderer {PLUGIN} --post-renderer-args --lock=FILE",
                shared.display(),
                helm3.display(),
                list.to_string_lossy()
            );
        }
    }
    Ok(crate::exit::OK)
}

/// Helm 4's plugins folder (the first of HELM_PLUGINS, which Helm gives every plugin it runs), or a Helm-4-only
/// folder when a Helm 3 on PATH reads that one.
fn choose_destination() -> Result<Destination> {
    let (Some(helm), Some(plugins)) = (
        std::env::var_os("HELM_BIN"),
        std::env::var_os("HELM_PLUGINS"),
    ) else {
        bail!("run this through Helm 4 (`helm opsta-lint install-postrenderer`), or pass --plugins-dir DIR");
    };
    if helm_version(Path::new(&helm)).starts_with("v3.") {
        bail!(
            "Helm 3 cannot load post-renderer plugins; it runs the binary by path: \
             --post-renderer \"$(helm env HELM_PLUGINS)/opsta-lint/bin/opsta-lint\" --post-renderer-args postrender \
             (docs/install.md)"
        );
    }
    let folder = std::env::split_paths(&plugins)
        .next()
        .filter(|p| !p.as_os_str().is_empty())
        .context("HELM_PLUGINS is empty")?;
    let Some(helm3) = helm3_reading(&folder, Path::new(&helm)) else {
        return Ok(Destination {
            folder,
            shared: None,
        });
    };
    let data = std::env::var_os("HELM_DATA_HOME").context("HELM_DATA_HOME is not set")?;
    Ok(Destination {
        folder: PathBuf::from(data).join(HELM4_ONLY),
        shared: Some((helm3, folder)),
    })
}

/// A Helm 3 on PATH (named `helm` or `helm3`, other than `running`) whose plugins folders include `folder`.
fn helm3_reading(folder: &Path, running: &Path) -> Option<PathBuf> {
    let running = std::fs::canonicalize(running).ok();
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["helm", "helm3"].map(|name| dir.join(name)))
        .filter(|candidate| candidate.is_file() && std::fs::canonicalize(candidate).ok() != running)
        .find(|candidate| {
            helm_version(candidate).starts_with("v3.")
                && helm_plugins(candidate)
                    .iter()
                    .any(|dir| same_folder(dir, folder))
        })
}

/// `helm version --short`, or "" when it does not run.
fn helm_version(helm: &Path) -> String {
    output(Command::new(helm).args(["version", "--short"]))
}

/// The plugins folders a helm binary reads (`helm env HELM_PLUGINS`), in this environment.
fn helm_plugins(helm: &Path) -> Vec<PathBuf> {
    let list = OsString::from(output(Command::new(helm).args(["env", "HELM_PLUGINS"])));
    std::env::split_paths(&list).collect()
}

fn output(command: &mut Command) -> String {
    command
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_default()
}

fn same_folder(a: &Path, b: &Path) -> bool {
    a == b
        || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

/// Writes the plugin into `folder/opsta-lint-postrender` (replacing one there, linked or copied) in one rename,
/// with bin/opsta-lint linking to `binary`. Returns the plugin's folder.
fn write_plugin(folder: &Path, binary: &Path) -> Result<PathBuf> {
    let target = folder.join(PLUGIN);
    let staging = folder.join(format!(".{PLUGIN}.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(staging.join("bin"))?;
        std::fs::write(staging.join("plugin.yaml"), PLUGIN_YAML)?;
        std::fs::write(staging.join("postrender.sh"), POSTRENDER_SH)?;
        set_executable(&staging.join("postrender.sh"))?;
        std::os::unix::fs::symlink(binary, staging.join("bin/opsta-lint"))?;
        match std::fs::symlink_metadata(&target) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&target)?,
            Ok(_) => std::fs::remove_file(&target)?,
            Err(_) => {}
        }
        std::fs::rename(&staging, &target)
    };
    write().map_err(|err| {
        let _ = std::fs::remove_dir_all(&staging);
        anyhow::anyhow!("cannot write the plugin into {}: {err}", target.display())
    })?;
    Ok(target)
}

fn set_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

/// Run as the `opsta-lint` Helm CLI plugin (HELM_PLUGIN_NAME), warns on stderr when this binary's version differs
/// from the plugin's (plugin.yaml in HELM_PLUGIN_DIR): the binary was replaced by hand, or an update failed.
pub fn warn_if_plugin_differs() {
    if std::env::var_os("HELM_PLUGIN_NAME").is_none_or(|name| name != "opsta-lint") {
        return;
    }
    let Some(dir) = std::env::var_os("HELM_PLUGIN_DIR") else {
        return;
    };
    let manifest = Path::new(&dir).join("plugin.yaml");
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        return;
    };
    let plugin = text
        .lines()
        .find_map(|line| line.strip_prefix("version:"))
        .map(|v| v.trim().trim_matches('"'));
    let binary = env!("CARGO_PKG_VERSION");
    if let Some(plugin) = plugin.filter(|p| *p != binary) {
        crate::output::print_warning(&format!(
            "this binary is version {binary} but the opsta-lint plugin is {plugin} ({}): run `helm plugin update \
             opsta-lint`",
            manifest.display()
        ));
    }
}

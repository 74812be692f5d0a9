//! The helm that `upgrade` drives, and the one way it runs helm: as a child whose output is read while it runs,
//! so several helm runs (the version and the chart archive; the read-only render while lint and preflight run)
//! can go at once. Each helm start costs 50 to 150 ms, and the upgrade's time is mostly helm's.

use anyhow::{anyhow, bail, Context, Result};
use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

/// One helm child. Its stdout and stderr are read as it runs. Dropped before `finish`, it is killed: the render
/// of an upgrade that stopped at lint or preflight has nothing left to say.
pub struct Running {
    what: String,
    child: Child,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    ended: bool,
}

/// What a helm run printed, and how it ended.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// helm's exit code and its stderr (secrets masked), as an error names them.
    pub fn failure(&self) -> String {
        let stderr = crate::secrets::mask_message(&String::from_utf8_lossy(&self.stderr));
        format!(
            "helm exit {}: {}",
            self.status.code().unwrap_or(-1),
            stderr.trim()
        )
    }
}

impl Running {
    /// Starts `cmd` (`what` names it in errors, e.g. `helm package`). helm reads nothing from the terminal.
    pub fn start(mut cmd: Command, what: &str) -> Result<Running> {
        let program = cmd.get_program().to_string_lossy().into_owned();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| {
                format!("cannot run helm ({program}): pass --helm PATH or set HELM_BIN")
            })?;
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        Ok(Running {
            what: what.to_string(),
            child,
            stdout,
            stderr,
            ended: false,
        })
    }

    /// Waits for the end and returns what helm printed, whatever its exit code.
    pub fn finish(mut self) -> Result<Output> {
        let status = self
            .child
            .wait()
            .with_context(|| format!("cannot wait for {}", self.what))?;
        self.ended = true;
        let joined = |handle: Option<JoinHandle<Vec<u8>>>| {
            handle
                .map(|h| h.join().unwrap_or_default())
                .unwrap_or_default()
        };
        Ok(Output {
            status,
            stdout: joined(self.stdout.take()),
            stderr: joined(self.stderr.take()),
        })
    }

    /// As `finish`, and an error naming the step, helm's exit code and its stderr when helm failed.
    pub fn succeed(self) -> Result<Output> {
        let what = self.what.clone();
        let out = self.finish()?;
        if !out.status.success() {
            bail!("{what} failed ({})", out.failure());
        }
        Ok(out)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.ended {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn drain(mut from: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        bytes
    })
}

/// `helm version`, started: `major` reads the answer.
pub fn version(path: &str) -> Result<Running> {
    let mut cmd = Command::new(path);
    cmd.args(["version", "--template", "{{.Version}}"]);
    Running::start(cmd, "helm version")
}

/// The major version (3 or 4) of the helm `version` asked.
pub fn major(path: &str, version: Running) -> Result<u8> {
    let out = version.succeed()?;
    let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
    match said.split('.').next() {
        Some("v3") => Ok(3),
        Some("v4") => Ok(4),
        _ => Err(anyhow!(
            "{path} is not Helm 3 or 4 (`helm version` says {said:?})"
        )),
    }
}

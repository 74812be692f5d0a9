//! A private temporary folder, removed when dropped and also when the process is interrupted (Ctrl-C, SIGTERM,
//! SIGHUP): a watcher thread removes every live folder, then the process ends by that same signal, as it would
//! have without the watcher (a shell reports 130 after Ctrl-C).

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The folders to remove when a signal ends the process.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A temporary folder (mode 0700: it may hold values with secrets) removed when dropped or on a signal.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new folder `$TMPDIR/PREFIX-PID-N`.
    pub fn new(prefix: &str) -> Result<TempDir> {
        watch_signals();
        let base = std::env::temp_dir();
        for n in 0..100u32 {
            let path = base.join(format!("{prefix}-{}-{n}", std::process::id()));
            if create_private(&path).is_ok() {
                lock_live().push(path.clone());
                return Ok(TempDir(path));
            }
        }
        bail!("cannot create a temporary folder in {}", base.display())
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        lock_live().retain(|p| p != &self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn lock_live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn remove_live() {
    for path in lock_live().iter() {
        let _ = std::fs::remove_dir_all(path);
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir(path)
}

#[cfg(unix)]
mod signals {
    use std::sync::atomic::{AtomicI32, Ordering};

    /// The write end of the pipe the signal handler wakes the watcher through.
    static WAKE: AtomicI32 = AtomicI32::new(-1);

    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    /// Only writes the signal's number to the pipe (async-signal-safe); the watcher thread does the rest.
    extern "C" fn on_signal(signal: libc::c_int) {
        let byte = signal as u8;
        // SAFETY: write(2) on a pipe is async-signal-safe; the buffer is one byte on this stack.
        unsafe {
            libc::write(WAKE.load(Ordering::Relaxed), (&byte as *const u8).cast(), 1);
        }
    }

    pub fn watch() {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 fills the two descriptors; close-on-exec keeps them out of helm and other children.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return; // without the pipe, signals keep their default action: the folder may stay behind
        }
        WAKE.store(fds[1], Ordering::Relaxed);
        let read = fds[0];
        std::thread::spawn(move || {
            let mut byte = 0u8;
            loop {
                // SAFETY: reads one byte into a byte on this stack.
                let n = unsafe { libc::read(read, (&mut byte as *mut u8).cast(), 1) };
                if n == 1 {
                    break;
                }
                if n < 0
                    && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                {
                    continue;
                }
                return;
            }
            super::remove_live();
            let signal = libc::c_int::from(byte);
            // SAFETY: restores the signal's default action, then sends it to this process, which ends by it.
            unsafe {
                libc::signal(signal, libc::SIG_DFL);
                libc::kill(libc::getpid(), signal);
            }
        });
        for signal in SIGNALS {
            // SAFETY: reads the signal's action, and unless it is ignored (nohup), installs a handler that only
            // writes to the pipe made above.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(signal, std::ptr::null(), &mut old);
                if old.sa_sigaction == libc::SIG_IGN {
                    continue;
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    }
}

/// Starts the watcher once per process.
fn watch_signals() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    #[cfg(unix)]
    ONCE.call_once(signals::watch);
    #[cfg(not(unix))]
    ONCE.call_once(|| {});
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_is_private_and_gone_when_dropped() {
        let dir = TempDir::new("opsta-lint-test").unwrap();
        let path = dir.path().to_path_buf();
        assert!(lock_live().contains(&path));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        }
        std::fs::write(path.join("chart.tgz"), "x").unwrap();
        drop(dir);
        assert!(!path.exists());
        assert!(!lock_live().contains(&path));
    }
}

//! Room for Helm's deepest values on the thread that runs the command.
//!
//! Every reader, merger and validator walks values recursively, and Helm reads values up to 10,000 levels deep; a
//! lint of such a file needs about 30 MB of stack, far more than the 8 MB a main thread usually gets. The command
//! therefore runs on a stack of its own: a mapping reserved (not committed) here, switched to on the same thread.
//! Starting a thread with a big stack instead cost a short run about 0.2 ms (the thread's start and join, and its
//! own malloc heap), a tenth of a lint (docs/performance.md, "A deep stack without a thread").

/// Runs `job` on a fresh stack of `size` bytes on this thread, and returns what it returns. A panic in `job` goes on
/// from here, after the stack is back.
#[cfg(unix)]
pub fn with_room<R>(size: usize, job: impl FnOnce() -> R) -> std::io::Result<R> {
    let stack = Mapping::reserve(size)?;
    // SAFETY: `stack` is a readable and writable mapping of `size` bytes (a multiple of the page size, so of the
    // stack alignment) above a guard page, and it outlives the call. The callback cannot unwind out of
    // `on_stack`: a panic is caught on the new stack and resumed below, on the old one.
    let outcome = unsafe {
        psm::on_stack(stack.base, stack.size, || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
        })
    };
    drop(stack);
    match outcome {
        Ok(value) => Ok(value),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Elsewhere, a thread of its own with that stack.
#[cfg(not(unix))]
pub fn with_room<R: Send + 'static>(
    size: usize,
    job: impl FnOnce() -> R + Send + 'static,
) -> std::io::Result<R> {
    let worker = std::thread::Builder::new().stack_size(size).spawn(job)?;
    match worker.join() {
        Ok(value) => Ok(value),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// A stack mapping: `size` usable bytes from `base` up, and one inaccessible page below them, so that running off
/// the end faults instead of writing into whatever lies below.
#[cfg(unix)]
struct Mapping {
    base: *mut u8,
    size: usize,
    guard: usize,
}

#[cfg(unix)]
impl Mapping {
    fn reserve(size: usize) -> std::io::Result<Mapping> {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let size = size.div_ceil(page) * page;
        #[cfg(target_os = "linux")]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK;
        #[cfg(not(target_os = "linux"))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANON;
        // SAFETY: a new anonymous mapping at an address of the kernel's choosing; nothing else is touched.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size + page,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let mapping = Mapping {
            base: start.cast::<u8>().wrapping_add(page),
            size,
            guard: page,
        };
        // SAFETY: the first page of the mapping just made.
        if unsafe { libc::mprotect(start, page, libc::PROT_NONE) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(mapping)
    }
}

#[cfg(unix)]
impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the whole mapping made in `reserve`, no longer in use as a stack.
        unsafe {
            libc::munmap(
                self.base.wrapping_sub(self.guard).cast(),
                self.size + self.guard,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(n: u32) -> u32 {
        let pad = std::hint::black_box([n as u8; 1024]);
        if n == 0 {
            u32::from(pad[0])
        } else {
            1 + depth(n - 1) + u32::from(pad[1]) - u32::from(pad[2])
        }
    }

    #[test]
    fn a_recursion_too_deep_for_a_test_thread_runs_with_room() {
        // 100,000 frames of over 1 KiB: about 100 MB, far beyond a test thread's 2 MiB.
        assert_eq!(with_room(256 << 20, || depth(100_000)).unwrap(), 100_000);
    }

    #[test]
    fn a_panic_goes_on_after_the_stack_is_back() {
        let caught = std::panic::catch_unwind(|| with_room(1 << 20, || panic!("inside")));
        let message = caught.unwrap_err();
        assert_eq!(message.downcast_ref::<&str>(), Some(&"inside"));
        assert_eq!(with_room(1 << 20, || 7).unwrap(), 7);
    }
}

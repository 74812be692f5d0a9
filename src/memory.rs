//! The program's allocator: the C library's for everyday blocks (mimalloc on musl), and the kernel's own mappings
//! for big ones.
//!
//! A lint run makes a few thousand small allocations and a post-render many more. musl's own malloc serves them
//! far slower than glibc's, so the static release binaries (musl) use mimalloc. glibc builds keep glibc's malloc:
//! mimalloc takes fewer instructions there too, but a short run pays for it in wall time (its start-up, fresh
//! pages and commit calls: `--version` 1.9 against 2.2 ms, a lint 2.7 against 2.9 ms; docs/performance.md,
//! "Allocator").
//!
//! On musl, two of mimalloc's options are set before its first allocation: memory is committed as blocks need it rather
//! than a whole arena at once (`arena_eager_commit` 0), and address space is reserved 64 MiB at a time rather than
//! 1 GiB (`arena_reserve`), whose bitmaps alone cost a short run about 40 page faults.
//!
//! Blocks of 1 MiB or more (a render read into memory, its copy on the way out) get mappings of their own on
//! Linux, as glibc's malloc gives them: freed at once, and grown by moving the mapping (`mremap`) instead of
//! copying, so that reading a render from a pipe peaks at about the size it ends with. mimalloc copies a growing
//! block and keeps the pages it left for a while: a 5 MB render on stdin peaked at 4.4 times its size that way.
//! Each big mapping is marked for transparent huge pages (`madvise(MADV_HUGEPAGE)`), which a kernel with THP in
//! `madvise` mode (the common default) backs with 2 MiB pages where the mapping covers them: one page fault each
//! instead of 512. The advice covers the whole mapping, which keeps it one mapping that `mremap` can move.

#[cfg(target_env = "musl")]
use mimalloc::MiMalloc as Inner;
#[cfg(not(target_env = "musl"))]
use std::alloc::System as Inner;
use std::alloc::{GlobalAlloc, Layout};
#[cfg(target_env = "musl")]
use std::sync::atomic::{AtomicBool, Ordering};

/// mimalloc, with blocks from [`BIG`] on in mappings of their own (Linux), advised for huge pages.
pub struct BigOnHugePages;

/// Blocks from this size on get a mapping of their own.
const BIG: usize = 1 << 20;

/// mimalloc's `mi_option_arena_eager_commit` and `mi_option_arena_reserve` (their places in `mi_option_e` of the
/// mimalloc.h that libmimalloc-sys builds; the crate names only some options). A test checks both against the
/// option list mimalloc prints (tests/hostile.rs).
pub const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
pub const ARENA_RESERVE: libmimalloc_sys::mi_option_t = 23;

/// The address space mimalloc reserves at a time, in KiB (a bigger input simply gets more arenas).
#[cfg(target_env = "musl")]
const ARENA_KIB: std::ffi::c_long = 64 << 10;

/// True once mimalloc's options are set.
#[cfg(target_env = "musl")]
static CONFIGURED: AtomicBool = AtomicBool::new(false);

/// glibc's malloc has nothing to set.
#[cfg(not(target_env = "musl"))]
fn configure() {}

/// Sets mimalloc's options before its first allocation, which reserves its first arena. The Rust runtime
/// allocates before `main`, so this cannot wait for `main`; a second thread racing here sets the same values.
#[cfg(target_env = "musl")]
fn configure() {
    if !CONFIGURED.load(Ordering::Relaxed) {
        // SAFETY: sets two options to values mimalloc documents; it allocates nothing.
        unsafe {
            libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
            libmimalloc_sys::mi_option_set(ARENA_RESERVE, ARENA_KIB);
        }
        CONFIGURED.store(true, Ordering::Relaxed);
    }
}

/// True for a block that gets a mapping of its own: big, aligned no more than a page (a mapping starts on one),
/// and on Linux. The layout alone decides, so `dealloc` and `realloc` find the block where `alloc` put it.
fn is_big(layout: Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= BIG && layout.align() <= 4096
}

// SAFETY: small blocks are mimalloc's, passed on unchanged; big blocks are whole mappings made, moved and removed
// only here, chosen by the layout the caller gives back with each block.
unsafe impl GlobalAlloc for BigOnHugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_big(layout) {
            return map::new(layout.size());
        }
        configure();
        Inner.alloc(layout)
    }

    /// A new mapping is zeroed already.
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_big(layout) {
            return map::new(layout.size());
        }
        configure();
        Inner.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if is_big(layout) {
            map::free(block, layout.size());
        } else {
            Inner.dealloc(block, layout);
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = Layout::from_size_align_unchecked(new_size, layout.align());
        match (is_big(layout), is_big(new)) {
            (false, false) => Inner.realloc(block, layout, new_size),
            (true, true) => match map::grow(block, layout.size(), new_size) {
                moved if !moved.is_null() => moved,
                _ => self.moved(block, layout, new),
            },
            _ => self.moved(block, layout, new),
        }
    }
}

impl BigOnHugePages {
    /// `block` copied into a new block of layout `new`, and freed; null (and `block` kept) when there is no room.
    unsafe fn moved(&self, block: *mut u8, layout: Layout, new: Layout) -> *mut u8 {
        let fresh = self.alloc(new);
        if !fresh.is_null() {
            std::ptr::copy_nonoverlapping(block, fresh, layout.size().min(new.size()));
            self.dealloc(block, layout);
        }
        fresh
    }
}

/// Big blocks as mappings of their own.
#[cfg(target_os = "linux")]
mod map {
    use libc::{c_void, MAP_ANONYMOUS, MAP_FAILED, MAP_PRIVATE, PROT_READ, PROT_WRITE};

    /// A new zeroed mapping of `size` bytes, advised for huge pages; null when there is no room.
    pub unsafe fn new(size: usize) -> *mut u8 {
        let block = libc::mmap(
            std::ptr::null_mut(),
            size,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS,
            -1,
            0,
        );
        if block == MAP_FAILED {
            return std::ptr::null_mut();
        }
        // The advice is a hint: an error (THP not built in) leaves the pages as they were.
        libc::madvise(block, size, libc::MADV_HUGEPAGE);
        block.cast()
    }

    pub unsafe fn free(block: *mut u8, size: usize) {
        libc::munmap(block.cast::<c_void>(), size);
    }

    /// The mapping moved or resized to `new_size` bytes, its advice with it; null when the kernel cannot.
    pub unsafe fn grow(block: *mut u8, size: usize, new_size: usize) -> *mut u8 {
        let moved = libc::mremap(block.cast::<c_void>(), size, new_size, libc::MREMAP_MAYMOVE);
        if moved == MAP_FAILED {
            return std::ptr::null_mut();
        }
        moved.cast()
    }
}

/// Elsewhere no block is big (`is_big`), and these are never called.
#[cfg(not(target_os = "linux"))]
mod map {
    pub unsafe fn new(_: usize) -> *mut u8 {
        std::ptr::null_mut()
    }
    pub unsafe fn free(_: *mut u8, _: usize) {}
    pub unsafe fn grow(_: *mut u8, _: usize, _: usize) -> *mut u8 {
        std::ptr::null_mut()
    }
}

#[cfg(test)]
mod tests {
    /// Big blocks made, grown past a huge page, shrunk back under the threshold and freed keep their bytes.
    #[test]
    fn big_blocks_keep_their_bytes_through_every_move() {
        use std::alloc::{GlobalAlloc, Layout};
        let a = super::BigOnHugePages;
        let small = Layout::from_size_align(1000, 8).unwrap();
        let big = Layout::from_size_align(3 << 20, 8).unwrap();
        // SAFETY: each block is used within its size and given back with the layout it has.
        unsafe {
            let block = a.alloc(small);
            block.write_bytes(7, small.size());
            let block = a.realloc(block, small, big.size());
            assert_eq!(*block.add(small.size() - 1), 7);
            block.add(big.size() - 1).write(9);
            let block = a.realloc(block, big, 9 << 20);
            assert_eq!((*block.add(999), *block.add(big.size() - 1)), (7, 9));
            let bigger = Layout::from_size_align(9 << 20, 8).unwrap();
            let block = a.realloc(block, bigger, 500);
            assert_eq!(*block.add(499), 7);
            a.dealloc(block, Layout::from_size_align(500, 8).unwrap());
            let zeroed = a.alloc_zeroed(big);
            assert!(std::slice::from_raw_parts(zeroed, big.size())
                .iter()
                .all(|&b| b == 0));
            a.dealloc(zeroed, big);
        }
    }
}

//! The program's allocator: the system's, with big buffers on huge pages.
//!
//! Each 4 KiB page the kernel hands a process costs a page fault, and page faults are a large part of reading a
//! big render into memory (docs/performance.md). An allocation of 4 MiB or more is therefore marked for
//! transparent huge pages (`madvise(MADV_HUGEPAGE)`), which a kernel with THP in `madvise` mode (the common
//! default) backs with 2 MiB pages: one fault each instead of 512. Where THP is off, or off Linux, nothing changes.
//!
//! The static release binaries link musl, whose own malloc is much slower than glibc's on this tool's many small
//! allocations; there the allocator underneath is mimalloc instead (docs/performance.md, "Allocator of the static binaries").

use std::alloc::{GlobalAlloc, Layout};

#[cfg(target_env = "musl")]
use mimalloc::MiMalloc as Inner;
#[cfg(not(target_env = "musl"))]
use std::alloc::System as Inner;

/// The system allocator (mimalloc on musl), advising huge pages for big blocks.
pub struct BigOnHugePages;

/// Blocks from this size on are advised: smaller ones would rarely cover a whole aligned 2 MiB page.
const BIG: usize = 4 << 20;

// SAFETY: every call is passed to the system allocator unchanged; the advice only touches address ranges
// inside a block the system allocator has just returned, and does not change their contents.
unsafe impl GlobalAlloc for BigOnHugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        advise(Inner.alloc(layout), layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        advise(Inner.alloc_zeroed(layout), layout.size())
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        Inner.dealloc(block, layout);
    }

    /// Not advised: advice on part of a mapping splits it, and the system allocator grows a big block by
    /// moving its mapping (`mremap`), which fails on a split one and falls back to copying the block, with many
    /// more page faults (docs/performance.md).
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Inner.realloc(block, layout, new_size)
    }
}

/// Advises huge pages for the whole 2 MiB pages inside a big block; returns the block.
fn advise(block: *mut u8, size: usize) -> *mut u8 {
    #[cfg(target_os = "linux")]
    if size >= BIG && !block.is_null() {
        const HUGE_PAGE: usize = 2 << 20;
        let start = (block as usize).next_multiple_of(HUGE_PAGE);
        let end = (block as usize + size) & !(HUGE_PAGE - 1);
        if end > start {
            // SAFETY: [start, end) lies inside the block; the advice is a hint that cannot fail harmfully
            // (an error, e.g. THP not built in, leaves the pages as they were).
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    let _ = size;
    block
}

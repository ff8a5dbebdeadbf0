//! Measures the scheduler's memory per host and per instance with a
//! counting global allocator (live heap bytes, slack of growing tables
//! included): `cargo run --release -p trimline-bench --bin memory -- [HOSTS] [INSTANCES_PER_HOST]`.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use trimline::Timestamp;
use trimline_bench::{SplitMix, region};

/// The system allocator, counting live bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)]
// SAFETY: forwards to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap_or(0))
        .collect();
    let hosts = args.first().copied().unwrap_or(100_000) as usize;
    let per_host = args.get(1).copied().unwrap_or(2) as usize;
    let before = live();
    let (empty, _) = region(0, 60, 7);
    let base = live() - before;
    drop(empty);
    let before = live();
    let (mut s, apps) = region(hosts, 60, 7);
    let with_hosts = live() - before;
    let per_host_bytes = (with_hosts - base) as f64 / hosts as f64;
    let mut rng = SplitMix::new(11);
    let mut placed = 0usize;
    let start = live();
    for _ in 0..hosts * per_host {
        let a = rng.below(apps.len() as u64) as usize;
        placed += s.place(&apps[a], Timestamp(1)).unwrap().placements.len();
    }
    let per_instance = (live() - start) as f64 / placed.max(1) as f64;
    println!("{hosts} hosts: {per_host_bytes:.0} B per host");
    println!("{placed} instances placed: {per_instance:.0} B per instance");
}

//! The C ABI against the Rust API, on the same work in one run: the
//! scale-out of one app by 10,000 instances and a stream of single
//! placements, at 10,000 hosts, each reading back every placement.
//!
//! The C path calls the `extern "C"` functions of `ffi/src` (compiled into
//! this bench from the same sources as `libtrimline`), exactly as a C
//! caller does: names as pointer and length, a `tl_decisions` object per
//! call, one `tl_decisions_placement` per record, `tl_decisions_free`.
//! Both paths start from the same snapshot. Target: the C path costs at
//! most 1.2 times the Rust path.
//!
//! `TRIMLINE_BENCH_HOSTS` sets the region size (default 10,000), for a
//! quick check at a tiny size.
// The ffi modules below are the C layer's own sources: they need `unsafe`,
// and their C-style names and signatures.
#![allow(
    missing_docs,
    unsafe_code,
    unreachable_pub,
    dead_code,
    unused_imports, // the sources' unit-test modules
    clippy::unwrap_used,
    clippy::too_many_arguments,
    clippy::not_unsafe_ptr_arg_deref
)]

#[path = "../../ffi/src/args.rs"]
mod args;
#[path = "../../ffi/src/buffer.rs"]
mod buffer;
#[path = "../../ffi/src/decisions.rs"]
mod decisions;
#[path = "../../ffi/src/error.rs"]
mod error;
#[path = "../../ffi/src/meter.rs"]
mod meter;
#[path = "../../ffi/src/panic.rs"]
mod panic;
#[path = "../../ffi/src/scheduler.rs"]
mod scheduler;
#[path = "../../ffi/src/standby.rs"]
mod standby;

use std::ptr::null_mut;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use trimline::{AppId, AppSpec, Resources, Scheduler, Timestamp};
use trimline_bench::{SplitMix, region};

use decisions::{tl_decisions, tl_placement};
use error::tl_status;
use scheduler::{tl_mode, tl_scheduler};

fn hosts() -> usize {
    std::env::var("TRIMLINE_BENCH_HOSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// The region a third full, with a 1 vCPU / 2 GiB web app of 100
/// instances spread over the zones (as the placement bench's scale-out),
/// and the stream of app indices that fills it.
fn setup(hosts: usize) -> (Vec<u8>, Vec<AppId>, AppId, Vec<usize>) {
    let (mut s, apps) = region(hosts, 60, 7);
    let mut rng = SplitMix::new(11);
    let stream: Vec<usize> = (0..hosts * 2)
        .map(|_| rng.below(apps.len() as u64) as usize)
        .collect();
    for &a in &stream {
        let _ = s.place(&apps[a], Timestamp(1)).unwrap();
    }
    let mut web = AppSpec::new(
        "web".parse().unwrap(),
        "shop".parse().unwrap(),
        Resources::cpu_mem(1_000, 2_048).unwrap(),
    );
    web.spread.max_skew = Some(1);
    let id = web.id.clone();
    s.add_app(web, s.now()).unwrap();
    let _ = s.scale(&id, 100, Timestamp(1)).unwrap();
    let snapshot = serde_json::to_vec(&s.snapshot()).unwrap();
    (snapshot, apps, id, stream)
}

fn rust_scheduler(snapshot: &[u8]) -> Scheduler {
    Scheduler::restore(serde_json::from_slice(snapshot).unwrap()).unwrap()
}

/// A C handle, freed when dropped (outside the timed part).
struct Handle(*mut tl_scheduler);

impl Drop for Handle {
    fn drop(&mut self) {
        let _ = scheduler::tl_scheduler_free(self.0);
    }
}

fn c_scheduler(snapshot: &[u8]) -> Handle {
    let mut s = null_mut();
    let st = scheduler::tl_scheduler_restore(snapshot.as_ptr(), snapshot.len(), &mut s, null_mut());
    assert_eq!(st, tl_status::Ok);
    Handle(s)
}

/// Reads every placement of `d` as a C caller does; returns a checksum.
fn read_placements(d: *const tl_decisions) -> u64 {
    let n = decisions::tl_decisions_placements_len(d);
    let mut sum = 0u64;
    let mut p = std::mem::MaybeUninit::<tl_placement>::uninit();
    for i in 0..n {
        let st = decisions::tl_decisions_placement(d, i, p.as_mut_ptr(), null_mut());
        assert_eq!(st, tl_status::Ok);
        // SAFETY: written by the successful call above.
        let p = unsafe { p.assume_init_ref() };
        sum = sum.wrapping_add(p.instance ^ p.host);
    }
    sum
}

fn scale_out(c: &mut Criterion) {
    let hosts = hosts();
    let (snapshot, _, web, _) = setup(hosts);
    let mut group = c.benchmark_group("ffi_scale_out_10k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(10_000));
    group.bench_function(format!("rust/{hosts}_hosts"), |b| {
        b.iter_batched(
            || rust_scheduler(&snapshot),
            |mut s| {
                let d = s.scale(&web, 10_100, Timestamp(2)).unwrap();
                let sum = d
                    .placements
                    .iter()
                    .fold(0u64, |a, p| a.wrapping_add(p.instance.0 ^ p.host.0));
                assert_eq!(d.placements.len() + d.tentative.len(), 10_000);
                // Dropped inside the timed part, as the C path frees its
                // decisions there: both measure the same work.
                drop(d);
                (s, sum)
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function(format!("c_abi/{hosts}_hosts"), |b| {
        b.iter_batched(
            || c_scheduler(&snapshot),
            |s| {
                let mut d = null_mut();
                let st = scheduler::tl_scheduler_scale(
                    s.0,
                    "web".as_ptr().cast(),
                    3,
                    10_100,
                    2,
                    tl_mode::Commit as u32,
                    &mut d,
                    null_mut(),
                );
                assert_eq!(st, tl_status::Ok);
                let sum = read_placements(d);
                assert_eq!(
                    decisions::tl_decisions_placements_len(d)
                        + decisions::tl_decisions_tentative_len(d),
                    10_000
                );
                decisions::tl_decisions_free(d);
                (s, sum)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn place_stream(c: &mut Criterion) {
    let hosts = hosts();
    let (snapshot, apps, _, stream) = setup(hosts);
    // The same stream again, on the region a third full: another third.
    let names: Vec<&str> = apps.iter().map(AppId::as_str).collect();
    let mut group = c.benchmark_group("ffi_place_stream");
    group.sample_size(10);
    group.throughput(Throughput::Elements(stream.len() as u64));
    group.bench_function(format!("rust/{hosts}_hosts"), |b| {
        b.iter_batched(
            || rust_scheduler(&snapshot),
            |mut s| {
                let mut sum = 0u64;
                for &a in &stream {
                    let d = s.place(&apps[a], Timestamp(3)).unwrap();
                    for p in &d.placements {
                        sum = sum.wrapping_add(p.instance.0 ^ p.host.0);
                    }
                }
                (s, sum)
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function(format!("c_abi/{hosts}_hosts"), |b| {
        b.iter_batched(
            || c_scheduler(&snapshot),
            |s| {
                let mut sum = 0u64;
                for &a in &stream {
                    let name = names[a];
                    let mut d = null_mut();
                    let st = scheduler::tl_scheduler_place(
                        s.0,
                        name.as_ptr().cast(),
                        name.len(),
                        3,
                        tl_mode::Commit as u32,
                        &mut d,
                        null_mut(),
                    );
                    assert_eq!(st, tl_status::Ok);
                    sum = sum.wrapping_add(read_placements(d));
                    decisions::tl_decisions_free(d);
                }
                (s, sum)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, scale_out, place_stream);
criterion_main!(benches);

//! What observability costs placement: the placement stream of the
//! `placement` bench (two placements per host, which fills a third of the
//! region) with the audit log off (counters only), on, and on with a
//! latency passed in per placement and the metrics rendered at the end,
//! in one run; and the audit log's memory under a stream of 1,000,000
//! decisions, measured with a counting allocator before the timings and
//! printed.
//!
//! The check: the mean time of a stream with the log on, and with the log
//! on plus latencies and a scrape, over its mean with the log off, taken
//! from the very samples criterion measured, must be at most
//! [`MAX_RATIO`] (1.10: observability costs at most 10% of placement
//! throughput). The ratios are printed; the bench fails above the bound.
//!
//! `TRIMLINE_BENCH_HOSTS` sets the region's size (default 10,000).
#![allow(missing_docs, clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use trimline::{Scheduler, Timestamp};
use trimline_bench::{SplitMix, region};

/// The system allocator, counting the bytes in use.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        IN_USE.fetch_add(new_size, Ordering::Relaxed);
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn hosts() -> usize {
    std::env::var("TRIMLINE_BENCH_HOSTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn stream(hosts: usize, apps: usize) -> Vec<usize> {
    let mut rng = SplitMix::new(11);
    (0..hosts * 2)
        .map(|_| rng.below(apps as u64) as usize)
        .collect()
}

/// How observability is set for a run.
#[derive(Clone, Copy)]
enum Mode {
    /// Audit log off (counters only).
    Off,
    /// Audit log on, at its default bound.
    On,
    /// Audit log on, a latency recorded per placement, and the metrics
    /// rendered once at the end of the stream.
    OnWithMetrics,
}

/// Most a stream with observability on may take, over the same stream
/// with the audit log off.
const MAX_RATIO: f64 = 1.10;

/// Per mode (off, on, on with metrics): time measured and streams run,
/// over every sample criterion took.
static MEASURED: Mutex<[(Duration, u64); 3]> = Mutex::new([(Duration::ZERO, 0); 3]);

fn throughput(c: &mut Criterion) {
    let hosts = hosts();
    let (base, apps) = region(hosts, 60, 7);
    let stream = stream(hosts, apps.len());
    let mut group = c.benchmark_group(format!("observe_place_stream_{hosts}_hosts"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(stream.len() as u64));
    for (ix, name, mode) in [
        (0, "audit_off", Mode::Off),
        (1, "audit_on", Mode::On),
        (2, "audit_on_latency_and_scrape", Mode::OnWithMetrics),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // The copy and its drop are outside the timed part.
                    let mut s = base.clone();
                    if let Mode::Off = mode {
                        s.set_audit_capacity(0);
                    }
                    let start = Instant::now();
                    for &a in &stream {
                        let _ = s.place(&apps[a], Timestamp(1)).unwrap();
                        if let Mode::OnWithMetrics = mode {
                            s.record_placement_latency(1_500);
                        }
                    }
                    if let Mode::OnWithMetrics = mode {
                        std::hint::black_box(s.metrics_text());
                    }
                    total += start.elapsed();
                    keep(s);
                }
                let mut m = MEASURED.lock().unwrap();
                m[ix].0 += total;
                m[ix].1 += iters;
                total
            })
        });
    }
    group.finish();
    check_ratio();
}

/// Print the on/off ratios and fail above [`MAX_RATIO`].
fn check_ratio() {
    let m = *MEASURED.lock().unwrap();
    let mean = |(t, n): (Duration, u64)| t.as_secs_f64() / n.max(1) as f64;
    let off = mean(m[0]);
    for (ix, name) in [(1, "audit on"), (2, "audit on, latencies and a scrape")] {
        let ratio = mean(m[ix]) / off;
        println!(
            "observe: {name} / audit off = {ratio:.3} (mean of {} streams against {}; checked at most {MAX_RATIO})",
            m[ix].1, m[0].1
        );
        assert!(
            ratio <= MAX_RATIO,
            "{name} costs {:.1}% of placement throughput, more than {:.0}%",
            (ratio - 1.0) * 100.0,
            (MAX_RATIO - 1.0) * 100.0
        );
    }
}

/// A million decisions (placements and removals in turn) through a small
/// region with the log at its default bound: the bytes in use after the
/// first 100,000 and after all of them, printed; the log must not grow.
fn memory_bound() {
    let (mut s, apps) = region(100, 10, 3);
    let before = IN_USE.load(Ordering::Relaxed);
    let mut decisions = 0u64;
    let mut at_100k = None;
    let mut now = 1;
    while decisions < 1_000_000 {
        let d = s
            .place(&apps[(decisions % 10) as usize], Timestamp(now))
            .unwrap();
        decisions += (d.placements.len() + d.pending.len()) as u64;
        for p in &d.placements {
            let r = s.remove_instance(p.instance, Timestamp(now)).unwrap();
            decisions += r.removals.len() as u64;
        }
        for p in &d.pending {
            let _ = s.remove_instance(p.instance, Timestamp(now)).unwrap();
            decisions += 1;
        }
        now += 1;
        if at_100k.is_none() && decisions >= 100_000 {
            at_100k = Some(IN_USE.load(Ordering::Relaxed));
        }
    }
    let after = IN_USE.load(Ordering::Relaxed);
    let at_100k = at_100k.unwrap();
    let mib = |b: usize| b.saturating_sub(before) as f64 / (1024.0 * 1024.0);
    println!(
        "audit memory: {} records held (bound {}), {} dropped; {:.1} MiB in use after 100,000 decisions, {:.1} MiB after {decisions}",
        s.audit_len(),
        s.audit_capacity(),
        s.drain_audit().dropped,
        mib(at_100k),
        mib(after),
    );
    assert!(
        after <= at_100k + at_100k / 10,
        "the audit log grew: {at_100k} bytes after 100,000 decisions, {after} after {decisions}"
    );
    keep(s);
}

fn keep(s: Scheduler) {
    std::hint::black_box(s);
}

fn main() {
    memory_bound();
    let mut c = Criterion::default().configure_from_args();
    throughput(&mut c);
    c.final_summary();
}

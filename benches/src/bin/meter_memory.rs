//! The Meter's memory, measured: a counting global allocator tracks the
//! bytes live on the heap, and the harness reports the bytes per tracked
//! instance and per retained event for seeded workloads.
//!
//! `cargo run --release -p trimline-bench --bin meter_memory -- [INSTANCES]`
//! (default: 250,000, 900,000 and 1,000,000 in turn). The maps grow in
//! powers of two, so the bytes per instance move with the count: the
//! figures at several counts show the range.
//!
//! `meter_memory run warm|cold|mixed|close` instead runs one workload of
//! `benches/metering.rs` once one by one and once in batches, for
//! instruction counts under
//! `valgrind --tool=callgrind --toggle-collect='*Meter*ingest*'` (or
//! `'*close_period*'`), and prints its wall time.
#![allow(
    unsafe_code,
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use trimline::Timestamp;
use trimline::metering::Meter;
use trimline_bench::metering::{HOUR_MS, MeterLoad, Mix};

/// The system allocator, counting the bytes live and the allocations made.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; the counters are
// only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Relaxed);
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            LIVE.fetch_add(new_size, Relaxed);
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> usize {
    LIVE.load(Relaxed)
}

fn allocations() -> usize {
    ALLOCATIONS.load(Relaxed)
}

/// Bytes a closure adds to the heap (and allocations it makes), net.
fn measure<T>(f: impl FnOnce() -> T) -> (T, isize, usize) {
    let (b, a) = (live(), allocations());
    let out = f();
    (
        out,
        live() as isize - b as isize,
        allocations().saturating_sub(a),
    )
}

fn per(bytes: isize, n: usize) -> f64 {
    bytes as f64 / n.max(1) as f64
}

fn memory(n: usize) {
    // N brand-new instances, one start each, into an empty meter.
    let starts = MeterLoad::generate(
        &Mix {
            steady: 0,
            steady_events: 0,
            churn: n,
            churn_events: 0,
            churn_stop_percent: 0,
            ..Mix::cold()
        },
        3,
    );
    let mut m = starts.empty_meter();
    let empty = live();
    let (_, grown, allocs) = measure(|| starts.ingest(&mut m));
    println!(
        "{n:>9} instances, each with its start buffered and its id remembered: {:>6.1} bytes/instance ({:.2} allocations/instance)",
        per(grown, n),
        allocs as f64 / n as f64,
    );
    // Fold the starts into the state, then forget the ids: close a period
    // whose horizon is past every event.
    let _ = m.close_period(starts.end, starts.end).unwrap();
    let later = Timestamp(starts.end.0 + 2 * HOUR_MS);
    let _ = m.close_period(later, later).unwrap();
    assert_eq!((m.remembered_events(), m.tracked_instances()), (0, n));
    println!(
        "{n:>9} running instances, no events or ids held (the id map keeps its capacity): {:>6.1} bytes/instance",
        per(live() as isize - empty as isize, n)
    );
    drop(m);

    // Retained events: a warm meter, then k events per instance.
    for k in [2usize, 5] {
        let load = MeterLoad::generate(
            &Mix {
                steady: n,
                steady_events: k,
                ..Mix::warm()
            },
            4,
        );
        let mut m = load.meter();
        let (_, grown, allocs) = measure(|| load.ingest(&mut m));
        println!(
            "{:>9} events over {n} running instances ({k} each), buffered and ids remembered: {:>6.1} bytes/event ({:.2} allocations/event)",
            load.stream.len(),
            per(grown, load.stream.len()),
            allocs as f64 / load.stream.len() as f64,
        );
    }
}

/// Events per `ingest_batch` call, as in `benches/metering.rs`.
const BATCH: usize = trimline_bench::metering::BATCH;

fn run(which: &str) {
    let mix = match which {
        "warm" => Mix::warm(),
        "cold" => Mix::cold(),
        "mixed" => Mix::mixed(),
        "close" => Mix::close_million(),
        _ => {
            eprintln!("usage: meter_memory run warm|cold|mixed|close");
            std::process::exit(2);
        }
    };
    let load = MeterLoad::generate(&mix, if which == "close" { 9 } else { 5 });
    let base: Meter = load.meter();
    let mut m = base.clone();
    let start = std::time::Instant::now();
    let applied = load.ingest(&mut m);
    let ingest = start.elapsed().as_secs_f64();
    println!(
        "{which}: {applied} events one by one in {:.3} s: {:.0} events/s",
        ingest,
        applied as f64 / ingest
    );
    let mut batched = base;
    let start = std::time::Instant::now();
    let applied = load.ingest_batches(&mut batched, BATCH);
    let ingest = start.elapsed().as_secs_f64();
    println!(
        "{which}: {applied} events in batches of {BATCH} in {:.3} s: {:.0} events/s",
        ingest,
        applied as f64 / ingest
    );
    if which == "close" {
        let instances = m.tracked_instances();
        let start = std::time::Instant::now();
        let report = m.close_period(load.end, load.end).unwrap();
        println!(
            "close: {instances} instance-periods in {:.3} s ({} usage records, {} invoices)",
            start.elapsed().as_secs_f64(),
            report.usage.len(),
            report.invoices.len()
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => run(args.get(1).map_or("cold", String::as_str)),
        Some(n) => match n.parse() {
            Ok(n) => {
                println!("trimline Meter, live heap bytes (counting allocator)");
                memory(n)
            }
            Err(e) => {
                eprintln!("usage: meter_memory [INSTANCES] | meter_memory run MIX: {e}");
                std::process::exit(2);
            }
        },
        None => {
            println!("trimline Meter, live heap bytes (counting allocator)");
            for n in [250_000, 900_000, 1_000_000] {
                memory(n);
            }
        }
    }
}

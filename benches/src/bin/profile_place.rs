//! Places a seeded stream of mixed instances into a region, for profiling
//! and quick comparisons:
//! `cargo run --release -p trimline-bench --bin profile_place -- [HOSTS] [PLACEMENTS] [CANDIDATES_PER_CLASS] [IMAGES]`.
//! Prints the best of five runs on copies of the same region. With
//! `IMAGES` 1, every app names an image per architecture and every third
//! host holds all of them, so image locality is in play.
//! `TRIMLINE_AUDIT_CAPACITY` bounds the audit log (0 turns it off; by
//! default it stays at the scheduler's default bound).
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use trimline::{Scheduler, Snapshot, Timestamp};
use trimline_bench::{SplitMix, region};

fn main() {
    let args: Vec<u64> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(v) => v,
        Err(e) => {
            eprintln!(
                "usage: profile_place [HOSTS] [PLACEMENTS] [CANDIDATES_PER_CLASS] (whole numbers): {e}"
            );
            std::process::exit(2);
        }
    };
    let hosts = args.first().copied().unwrap_or(10_000) as usize;
    let n = args.get(1).copied().unwrap_or(20_000) as usize;
    let (s, apps) = region(hosts, 60, 7);
    let mut config = s.config().clone();
    if let Some(k) = args.get(2) {
        config.candidates_per_class = *k as u32;
    }
    let mut snap = Snapshot {
        config,
        ..s.snapshot()
    };
    if args.get(3).is_some_and(|i| *i != 0) {
        with_images(&mut snap);
    }
    let mut base = Scheduler::restore(snap).unwrap();
    if let Some(cap) = std::env::var("TRIMLINE_AUDIT_CAPACITY")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        base.set_audit_capacity(cap);
    }
    let mut rng = SplitMix::new(11);
    let stream: Vec<usize> = (0..n)
        .map(|_| rng.below(apps.len() as u64) as usize)
        .collect();
    let mut best = f64::INFINITY;
    let mut placed = 0usize;
    for _ in 0..5 {
        let mut s = base.clone();
        let start = std::time::Instant::now();
        placed = 0;
        for &a in &stream {
            placed += s.place(&apps[a], Timestamp(1)).unwrap().placements.len();
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{hosts} hosts: {n} calls, {placed} placed, {:.0} placements/s (best of 5)",
        n as f64 / best
    );
}

/// Give every app an image per architecture (1 GB) and every third host
/// all of them.
fn with_images(snap: &mut Snapshot) {
    let mut digests = Vec::new();
    for app in &mut snap.apps {
        for arch in app.arches.clone() {
            let digest: trimline::ImageDigest =
                format!("sha256:{}-{arch}", app.id).parse().unwrap();
            digests.push(digest.clone());
            let image = trimline::ImageRef {
                digest,
                size_bytes: 1_000_000_000,
            };
            app.images.insert(arch, image);
        }
    }
    digests.sort();
    let mut hosts: Vec<trimline::HostId> = snap.hosts.iter().map(|h| h.id).collect();
    hosts.sort();
    snap.cold_start.host_images = hosts
        .into_iter()
        .step_by(3)
        .map(|host| trimline::HostImages {
            host,
            images: digests.clone(),
        })
        .collect();
}

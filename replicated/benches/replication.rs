//! What replication costs: three replicas on loopback TCP (one process),
//! and the snapshot of a large region.
//!
//! 1. Proposal to applied `Decisions`, per proposal, p50/p99, and committed
//!    commands per second, for: one `place` per proposal from one client;
//!    the same from 16 clients at once (the engine batches their entries);
//!    proposals of 100 `place` commands; proposals of one
//!    `place_batch(100)`.
//! 2. A snapshot of a region of 100,000 hosts: the time to take the state
//!    snapshot and to serialize it, its size, the peak memory allocated
//!    meanwhile (a counting allocator), and the time to restore it.
//!
//! Arguments (after `--`): proposals per case (default 2,000), hosts of the
//! snapshot region (default 100,000), instances in it (default 300,000).
//! A harness binary, not criterion: it prints percentiles and memory.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use trimline::metering::MeterConfig;
use trimline::{
    AppId, AppSpec, Arch, BatchMode, Config, HostId, HostSpec, Resources, SkuSpec, Timestamp,
    ZoneState,
};
use trimline_replicated::{
    Client, Command, Outcome, Proposal, Replica, State, StateSnapshot, Storage, encode,
};

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn count_up(n: usize) {
    let now = IN_USE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: forwards to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_up(layout.size());
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_up(new_size);
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const MIB: f64 = 1024.0 * 1024.0;

fn app() -> AppId {
    "web".parse().unwrap()
}

/// A region of `hosts` hosts (16 vCPU, 64 GiB) spread over four zones, and
/// an app of 1 vCPU and 4 GiB per instance.
fn region(hosts: u64) -> Vec<Command> {
    let zones = ["zone-a", "zone-b", "zone-c", "zone-d"];
    let mut commands: Vec<Command> = zones
        .iter()
        .map(|z| Command::AddZone {
            zone: z.parse().unwrap(),
            state: ZoneState::Up,
        })
        .collect();
    commands.push(Command::AddSku {
        spec: SkuSpec {
            id: "g7.4xlarge".parse().unwrap(),
            family: "g7".parse().unwrap(),
            generation: 7,
            arch: Arch::X86_64,
            cpu_vendor: "intel".parse().unwrap(),
            allocatable: Resources::cpu_mem(16_000, 65_536).unwrap(),
            perf_score: 100,
            numa_nodes: vec![Resources::cpu_mem(8_000, 32_768).unwrap(); 2],
            features: Default::default(),
            accelerator_model: None,
            local_disk: None,
            price_nanos_per_second: 180_000,
        },
    });
    for id in 1..=hosts {
        commands.push(Command::AddHost {
            spec: HostSpec {
                id: HostId(id),
                sku: "g7.4xlarge".parse().unwrap(),
                zone: zones[(id % 4) as usize].parse().unwrap(),
            },
        });
    }
    commands.push(Command::AddApp {
        spec: AppSpec::new(
            app(),
            "acme".parse().unwrap(),
            Resources::cpu_mem(1_000, 4_096).unwrap(),
        ),
    });
    commands
}

fn engine_config() -> Arc<openraft::Config> {
    Arc::new(
        openraft::Config {
            cluster_name: "trimline-bench".into(),
            heartbeat_interval: 50,
            election_timeout_min: 300,
            election_timeout_max: 600,
            // Snapshot chunks travel as JSON: small chunks, and time to
            // send and restore the last one.
            snapshot_max_chunk_size: 1 << 20,
            install_snapshot_timeout: 5_000,
            ..Default::default()
        }
        .validate()
        .unwrap(),
    )
}

async fn cluster() -> Arc<Vec<Replica>> {
    let mut replicas = Vec::new();
    let mut members = BTreeMap::new();
    for id in 1..=3 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let storage = Storage::new(Config::default(), MeterConfig::default()).unwrap();
        let r = Replica::start(id, listener, storage, engine_config())
            .await
            .unwrap();
        members.insert(id, r.addr());
        replicas.push(r);
    }
    replicas[0].initialize(&members).await.unwrap();
    for _ in 0..200 {
        if replicas.iter().any(|r| r.leader() == Some(r.id())) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Arc::new(replicas)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn report(
    name: &str,
    mut latencies: Vec<Duration>,
    commands: usize,
    placements: usize,
    wall: Duration,
) {
    latencies.sort();
    println!(
        "{name:<34} {:>6} proposals  {:>9.0} commands/s  {:>9.0} placements/s  p50 {:>8.3} ms  p99 {:>8.3} ms",
        latencies.len(),
        commands as f64 / wall.as_secs_f64(),
        placements as f64 / wall.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );
}

/// Sends `rounds` proposals of `commands()` from one client, one at a
/// time, each at the clock's time, which then moves on by `tick`; returns
/// each proposal's latency.
async fn closed_loop(
    replicas: Arc<Vec<Replica>>,
    client: u64,
    clock: Arc<AtomicUsize>,
    tick: usize,
    rounds: usize,
    commands: impl Fn() -> Vec<Command>,
) -> Vec<Duration> {
    let refs: Vec<&Replica> = replicas.iter().collect();
    let mut c = Client::new(client, Duration::from_secs(30));
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let now = Timestamp(clock.fetch_add(tick, Ordering::Relaxed) as u64);
        let p: Proposal = c.request(now, commands());
        let start = Instant::now();
        let reply = c.submit(&refs, &p).await.unwrap();
        out.push(start.elapsed());
        let placed: usize = reply
            .outcomes()
            .iter()
            .map(|o| {
                assert!(!matches!(o, Outcome::Refused(_)), "{o:?}");
                o.decisions().map_or(0, |d| d.placements.len())
            })
            .sum();
        assert!(placed > 0);
    }
    out
}

async fn replication(rounds: usize) {
    let replicas = cluster().await;
    // Room for every instance placed below (22 per round), 16 per host.
    let hosts = (rounds * 22 / 16 + 1_000) as u64;
    let refs: Vec<&Replica> = replicas.iter().collect();
    let mut setup = Client::new(0, Duration::from_secs(60));
    setup
        .propose(&refs, Timestamp(1), region(hosts))
        .await
        .unwrap();
    // The clock: `now` must not go backwards in the log. One client takes
    // the next millisecond per proposal; concurrent clients all propose at
    // one millisecond, since their proposals may reach the log in any order.
    let clock = Arc::new(AtomicUsize::new(2));
    println!("three replicas on loopback, a region of {hosts} hosts");

    let place = || vec![Command::Place { app: app() }];
    let start = Instant::now();
    let l = closed_loop(replicas.clone(), 1, clock.clone(), 1, rounds, place).await;
    report("place, 1 client", l, rounds, rounds, start.elapsed());

    let clients = 16;
    let start = Instant::now();
    let mut tasks = Vec::new();
    let frozen = clock.fetch_add(1, Ordering::Relaxed);
    for c in 0..clients {
        tasks.push(tokio::spawn(closed_loop(
            replicas.clone(),
            100 + c,
            Arc::new(AtomicUsize::new(frozen)),
            0,
            rounds / clients as usize,
            place,
        )));
    }
    let mut l = Vec::new();
    for t in tasks {
        l.extend(t.await.unwrap());
    }
    let n = l.len();
    report("place, 16 clients", l, n, n, start.elapsed());

    let batches = (rounds / 10).max(1);
    let start = Instant::now();
    let l = closed_loop(replicas.clone(), 2, clock.clone(), 1, batches, || {
        vec![Command::Place { app: app() }; 100]
    })
    .await;
    report(
        "100 place commands per proposal",
        l,
        batches * 100,
        batches * 100,
        start.elapsed(),
    );

    let start = Instant::now();
    let l = closed_loop(replicas.clone(), 3, clock.clone(), 1, batches, || {
        vec![Command::PlaceBatch {
            app: app(),
            count: 100,
            mode: BatchMode::Partial,
        }]
    })
    .await;
    report(
        "place_batch(100) per proposal",
        l,
        batches,
        batches * 100,
        start.elapsed(),
    );

    for r in replicas.iter() {
        r.stop().await;
    }
}

fn snapshot(hosts: u64, instances: u32) {
    let mut state = State::new(Config::default(), MeterConfig::default()).unwrap();
    let region = Proposal {
        id: trimline_replicated::RequestId {
            client: 0,
            request: 1,
        },
        now: Timestamp(1),
        commands: region(hosts),
    };
    state.apply(&region);
    let mut request = 2;
    let mut left = instances;
    while left > 0 {
        let count = left.min(10_000);
        state.apply(&Proposal {
            id: trimline_replicated::RequestId { client: 0, request },
            now: Timestamp(2),
            commands: vec![Command::PlaceBatch {
                app: app(),
                count,
                mode: BatchMode::Partial,
            }],
        });
        request += 1;
        left -= count;
    }
    // The last reply (10,000 placements) is the session's: drop it from
    // the measure by one more small request.
    state.apply(&Proposal {
        id: trimline_replicated::RequestId { client: 0, request },
        now: Timestamp(3),
        commands: vec![Command::Reconcile],
    });
    assert_eq!(state.scheduler().instance_count(), instances as usize);

    let base = IN_USE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let snap: StateSnapshot = state.snapshot();
    let taken = start.elapsed();
    let start = Instant::now();
    let bytes = encode(&snap).unwrap();
    let encoded = start.elapsed();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    drop(snap);
    let start = Instant::now();
    let decoded: StateSnapshot = serde_json::from_slice(&bytes).unwrap();
    let restored = State::restore(decoded).unwrap();
    let restore = start.elapsed();
    assert_eq!(restored.scheduler().instance_count(), instances as usize);
    println!(
        "snapshot of {hosts} hosts, {instances} instances: take {:.1} ms, serialize {:.1} ms, \
         {:.1} MiB of JSON, peak {:.1} MiB allocated while taking and serializing; \
         decode and restore {:.1} ms",
        taken.as_secs_f64() * 1e3,
        encoded.as_secs_f64() * 1e3,
        bytes.len() as f64 / MIB,
        peak as f64 / MIB,
        restore.as_secs_f64() * 1e3,
    );
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .filter_map(|a| a.parse().ok())
        .collect();
    let rounds = args.first().copied().unwrap_or(2_000) as usize;
    let hosts = args.get(1).copied().unwrap_or(100_000);
    let instances = args.get(2).copied().unwrap_or(300_000) as u32;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(replication(rounds));
    snapshot(hosts, instances);
}

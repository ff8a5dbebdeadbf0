//! Three replicas of a trimline control plane on loopback TCP: a region
//! and a scale-out proposed through the leader, the leader stopped, a new
//! leader elected that finishes the scale-out, the old leader restarted
//! and caught up. Prints what happened.
//!
//! `cargo run --release -p trimline-replicated --example cluster`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use trimline::metering::MeterConfig;
use trimline::{
    AppSpec, Arch, BatchMode, Config, HostId, HostSpec, Resources, SkuSpec, Timestamp, ZoneState,
};
use trimline_replicated::{Client, Command, Replica, Reply, Storage, encode};

fn engine_config() -> Arc<openraft::Config> {
    Arc::new(
        openraft::Config {
            cluster_name: "trimline-example".into(),
            heartbeat_interval: 100,
            election_timeout_min: 400,
            election_timeout_max: 800,
            // Snapshot chunks travel as JSON: small chunks, and time to
            // send and restore the last one.
            snapshot_max_chunk_size: 1 << 20,
            install_snapshot_timeout: 5_000,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(10),
            max_in_snapshot_log_to_keep: 2,
            ..Default::default()
        }
        .validate()
        .unwrap(),
    )
}

fn region() -> Vec<Command> {
    let mut commands = vec![
        Command::AddZone {
            zone: "zone-a".parse().unwrap(),
            state: ZoneState::Up,
        },
        Command::AddSku {
            spec: SkuSpec {
                id: "g7.4xlarge".parse().unwrap(),
                family: "g7".parse().unwrap(),
                generation: 7,
                arch: Arch::X86_64,
                cpu_vendor: "intel".parse().unwrap(),
                allocatable: Resources::cpu_mem(16_000, 65_536).unwrap(),
                perf_score: 100,
                numa_nodes: vec![Resources::cpu_mem(16_000, 65_536).unwrap()],
                features: Default::default(),
                accelerator_model: None,
                local_disk: None,
                price_nanos_per_second: 180_000,
            },
        },
    ];
    for id in 1..=100 {
        commands.push(Command::AddHost {
            spec: HostSpec {
                id: HostId(id),
                sku: "g7.4xlarge".parse().unwrap(),
                zone: "zone-a".parse().unwrap(),
            },
        });
    }
    commands.push(Command::AddApp {
        spec: AppSpec::new(
            "web".parse().unwrap(),
            "acme".parse().unwrap(),
            Resources::cpu_mem(1_000, 4_096).unwrap(),
        ),
    });
    commands
}

fn scale_out(count: u32) -> Vec<Command> {
    vec![Command::PlaceBatch {
        app: "web".parse().unwrap(),
        count,
        mode: BatchMode::Partial,
    }]
}

async fn leader(replicas: &[&Replica]) -> usize {
    loop {
        if let Some(i) = replicas.iter().position(|r| r.leader() == Some(r.id())) {
            return i;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn placed(reply: &Reply) -> usize {
    reply
        .outcomes()
        .iter()
        .filter_map(|o| o.decisions())
        .map(|d| d.placements.len())
        .sum()
}

#[tokio::main]
async fn main() {
    let mut replicas = Vec::new();
    let mut members = BTreeMap::new();
    for id in 1..=3 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let storage = Storage::new(Config::default(), MeterConfig::default()).unwrap();
        let r = Replica::start(id, listener, storage, engine_config())
            .await
            .unwrap();
        println!("replica {id} listening on {}", r.addr());
        members.insert(id, r.addr());
        replicas.push(r);
    }
    replicas[0].initialize(&members).await.unwrap();
    let all: Vec<&Replica> = replicas.iter().collect();
    let first = leader(&all).await;
    println!(
        "replica {} elected leader (term {})",
        all[first].id(),
        all[first].term()
    );

    let mut client = Client::new(1, Duration::from_secs(30));
    let reply = client.propose(&all, Timestamp(1), region()).await.unwrap();
    println!(
        "region: {} commands applied in one log entry (100 hosts)",
        reply.outcomes().len()
    );
    let mut total = 0;
    for step in 0..10 {
        let reply = client
            .propose(&all, Timestamp(10 + step), scale_out(50))
            .await
            .unwrap();
        total += placed(&reply);
    }
    println!(
        "scale-out through replica {}: {total} instances placed",
        all[first].id()
    );

    let old = all[first];
    let killed_at = old.applied_index();
    let storage = old.stop().await;
    println!("replica {} stopped at log index {killed_at:?}", old.id());
    let live: Vec<&Replica> = replicas.iter().filter(|r| r.id() != old.id()).collect();
    let next = leader(&live).await;
    println!(
        "replica {} elected leader (term {})",
        live[next].id(),
        live[next].term()
    );
    for step in 10..30 {
        let reply = client
            .propose(&live, Timestamp(10 + step), scale_out(50))
            .await
            .unwrap();
        total += placed(&reply);
    }
    let count = live[next]
        .read(|s| s.scheduler().instance_count())
        .await
        .unwrap();
    println!(
        "scale-out finished through replica {}: {total} placed, the leader's read says {count}",
        live[next].id()
    );
    // Snapshot now, and let the engine compact the log behind it (it keeps
    // entries that a replication in flight still reads).
    for _ in 0..20 {
        live[next].raft().trigger().snapshot().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let purged = live[next].raft().metrics().borrow().purged.map(|l| l.index);
        if purged > killed_at {
            break;
        }
    }
    let purged = live[next].raft().metrics().borrow().purged.map(|l| l.index);
    println!(
        "the leader compacted its log up to index {purged:?}: replica {} {}",
        old.id(),
        if purged > killed_at {
            "must catch up from a snapshot"
        } else {
            "can catch up from the log"
        }
    );

    let listener = TcpListener::bind(old.addr()).await.unwrap();
    let restarted = Replica::start(old.id(), listener, storage, engine_config())
        .await
        .unwrap();
    println!(
        "replica {} restarted on {}",
        restarted.id(),
        restarted.addr()
    );
    let everyone: Vec<&Replica> = live.iter().copied().chain([&restarted]).collect();
    let reply = client
        .propose(&everyone, Timestamp(100), vec![Command::Reconcile])
        .await
        .unwrap();
    drop(reply);
    let target = live[next].applied_index();
    while restarted.applied_index() < target {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let snapshot = restarted
        .raft()
        .metrics()
        .borrow()
        .snapshot
        .map(|l| l.index);
    println!(
        "replica {} caught up to log index {:?} (its snapshot: index {snapshot:?})",
        restarted.id(),
        restarted.applied_index()
    );
    // Let the followers apply the last entry, then compare.
    loop {
        let idx: Vec<_> = everyone.iter().map(|r| r.applied_index()).collect();
        if idx.iter().all(|i| *i == idx[0]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let states: Vec<Vec<u8>> = everyone
        .iter()
        .map(|r| encode(&r.local_state().unwrap().0).unwrap())
        .collect();
    let same = states.iter().all(|s| *s == states[0]);
    println!(
        "state of every replica byte-identical: {same} ({} bytes of JSON)",
        states[0].len()
    );
    for r in &everyone {
        r.stop().await;
    }
    assert!(same);
}

//! Helpers shared by the cluster tests: three replicas on loopback and a
//! region built with one proposal.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use trimline::metering::MeterConfig;
use trimline::{AppSpec, Arch, Config, HostId, HostSpec, Resources, SkuSpec, Timestamp, ZoneState};
use trimline_replicated::{Command, NodeId, Outcome, Replica, Storage};

/// Engine timings for a loaded test machine, and frequent snapshots so
/// that the log is compacted during the test.
pub(crate) fn engine_config() -> Arc<openraft::Config> {
    Arc::new(
        openraft::Config {
            cluster_name: "trimline-test".into(),
            heartbeat_interval: 100,
            election_timeout_min: 500,
            election_timeout_max: 1_000,
            // Snapshot chunks travel as JSON: small chunks, and time to
            // send and restore the last one.
            snapshot_max_chunk_size: 1 << 20,
            install_snapshot_timeout: 10_000,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(20),
            max_in_snapshot_log_to_keep: 5,
            purge_batch_size: 1,
            ..Default::default()
        }
        .validate()
        .expect("valid engine config"),
    )
}

pub(crate) fn storage() -> Storage {
    Storage::new(Config::default(), MeterConfig::default()).expect("meter config")
}

/// Starts replicas 1, 2, 3 on ephemeral loopback ports and forms the
/// cluster.
pub(crate) async fn three_replicas() -> Vec<Replica> {
    let mut replicas = Vec::new();
    let mut members = BTreeMap::new();
    for id in 1..=3 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let replica = Replica::start(id, listener, storage(), engine_config())
            .await
            .unwrap();
        members.insert(id, replica.addr());
        replicas.push(replica);
    }
    replicas[0].initialize(&members).await.unwrap();
    replicas
}

/// Restarts a stopped replica on its old address, from its storage.
pub(crate) async fn restart(id: NodeId, addr: SocketAddr, storage: Storage) -> Replica {
    let mut tries = 0;
    let listener = loop {
        match TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(e) if tries < 50 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("rebinding {addr}: {e}"),
        }
    };
    Replica::start(id, listener, storage, engine_config())
        .await
        .unwrap()
}

/// Waits until one of `replicas` leads, and returns its index.
pub(crate) async fn leader(replicas: &[&Replica]) -> usize {
    for _ in 0..200 {
        for (i, r) in replicas.iter().enumerate() {
            if r.leader() == Some(r.id()) {
                return i;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no leader elected");
}

/// Waits until every replica has applied the same last entry, and returns
/// that index.
pub(crate) async fn converge(replicas: &[&Replica]) -> u64 {
    for _ in 0..600 {
        let applied: Vec<Option<u64>> = replicas.iter().map(|r| r.applied_index()).collect();
        let last = replicas.iter().find_map(|r| {
            (r.leader() == Some(r.id())).then(|| r.raft().metrics().borrow().last_log_index)
        });
        if let Some(Some(last)) = last {
            if applied.iter().all(|a| *a == Some(last)) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen: Vec<_> = replicas
        .iter()
        .map(|r| {
            let m = r.raft().metrics().borrow().clone();
            (
                r.id(),
                m.state,
                m.current_leader,
                m.last_log_index,
                m.last_applied,
                m.snapshot,
                m.purged,
            )
        })
        .collect();
    panic!("replicas did not converge: {seen:#?}");
}

pub(crate) fn app_id() -> trimline::AppId {
    "web".parse().unwrap()
}

/// A region of `hosts` hosts (16 vCPU, 64 GiB) in one zone and an app of
/// 1 vCPU and 4 GiB per instance, as one proposal's commands.
pub(crate) fn region(hosts: u64) -> Vec<Command> {
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
    for id in 1..=hosts {
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
            app_id(),
            "acme".parse().unwrap(),
            Resources::cpu_mem(1_000, 4_096).unwrap(),
        ),
    });
    commands
}

/// Asserts that no command was refused.
pub(crate) fn all_applied(outcomes: &[Outcome]) {
    for (i, o) in outcomes.iter().enumerate() {
        assert!(
            !matches!(o, Outcome::Refused(_)),
            "command {i} refused: {o:?}"
        );
    }
}

pub(crate) fn at(ms: u64) -> Timestamp {
    Timestamp(ms)
}

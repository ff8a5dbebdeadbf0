//! Three replicas over loopback TCP: a 10,000-instance scale-out with the
//! leader stopped in the middle, finished by the new leader; the old
//! leader restarts and catches up from a snapshot plus the log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use trimline::{BatchMode, HostId, InstanceId, InstanceStatus};
use trimline_replicated::{Client, Command, Reply, encode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_out_survives_the_leader_and_the_old_leader_catches_up() {
    let replicas = three_replicas().await;
    let all: Vec<_> = replicas.iter().collect();
    let first = leader(&all).await;
    let mut client = Client::new(1, Duration::from_secs(30));

    // The region: 1,000 hosts in one proposal.
    let reply = client.propose(&all, at(1), region(1_000)).await.unwrap();
    assert!(matches!(reply, Reply::Applied(_)));
    all_applied(reply.outcomes());

    // The scale-out: 100 proposals of 100 instances each. The leader stops
    // while the 50th is in flight; the client retries it, with the same
    // request id, on the new leader.
    let mut seen: BTreeMap<InstanceId, HostId> = BTreeMap::new();
    let mut killed = None;
    for step in 0..100u64 {
        let proposal = client.request(
            at(10 + step),
            vec![Command::PlaceBatch {
                app: app_id(),
                count: 100,
                mode: BatchMode::Partial,
            }],
        );
        let reply = if step == 50 {
            let old = &replicas[first];
            let (reply, (storage, index)) = tokio::join!(client.submit(&all, &proposal), async {
                tokio::time::sleep(Duration::from_millis(2)).await;
                let index = old.applied_index();
                (old.stop().await, index)
            });
            killed = Some((old.id(), old.addr(), storage, index));
            reply.unwrap()
        } else {
            client.submit(&all, &proposal).await.unwrap()
        };
        assert!(!matches!(reply, Reply::Stale { .. }), "{reply:?}");
        all_applied(reply.outcomes());
        let decisions = reply.outcomes()[0].decisions().unwrap();
        assert!(decisions.pending.is_empty(), "step {step}: pending");
        assert_eq!(decisions.placements.len(), 100, "step {step}");
        for p in &decisions.placements {
            assert!(
                seen.insert(p.instance, p.host).is_none(),
                "{:?} placed twice",
                p.instance
            );
        }
    }
    assert_eq!(seen.len(), 10_000);

    // The two live replicas: identical, and holding exactly what the client
    // saw, each decision once.
    let (old_id, old_addr, storage, killed_at) = killed.unwrap();
    let live: Vec<_> = replicas.iter().filter(|r| r.id() != old_id).collect();
    let new_leader = live[leader(&live).await];
    assert_ne!(new_leader.id(), old_id);
    let index = converge(&live).await;
    let states: Vec<Vec<u8>> = live
        .iter()
        .map(|r| encode(&r.local_state().unwrap().0).unwrap())
        .collect();
    assert_eq!(states[0], states[1], "live replicas differ");
    new_leader
        .read(|s| {
            let s = s.scheduler();
            assert_eq!(s.instance_count(), 10_000);
            assert!(s.pending().is_empty());
            for (instance, host) in &seen {
                let view = s
                    .instance(*instance)
                    .expect("a decision the client saw is applied");
                assert!(
                    matches!(view.status, InstanceStatus::Placed { host: h, .. } if h == *host),
                    "{instance:?} is not on {host:?}"
                );
            }
            s.check_invariants().unwrap();
        })
        .await
        .unwrap();

    // The leader compacted its log past where the old leader stopped, so
    // the old leader can only catch up from a snapshot, then the log.
    let purged = new_leader.raft().metrics().borrow().purged.map(|l| l.index);
    assert!(
        purged > killed_at,
        "purged {purged:?}, old leader stopped at {killed_at:?}"
    );
    let restarted = restart(old_id, old_addr, storage).await;
    let everyone: Vec<_> = live.iter().copied().chain([&restarted]).collect();
    // One more proposal after the restart, so that the log moves on.
    let reply = client
        .propose(&everyone, at(500), vec![Command::Reconcile])
        .await
        .unwrap();
    all_applied(reply.outcomes());
    let after = converge(&everyone).await;
    assert!(after > index);
    let snapshot = restarted
        .raft()
        .metrics()
        .borrow()
        .snapshot
        .map(|l| l.index);
    assert!(snapshot > killed_at, "no snapshot installed: {snapshot:?}");
    let states: Vec<Vec<u8>> = everyone
        .iter()
        .map(|r| encode(&r.local_state().unwrap().0).unwrap())
        .collect();
    assert_eq!(states[0], states[1]);
    assert_eq!(states[0], states[2], "the restarted replica differs");

    for r in &everyone {
        r.stop().await;
    }
}

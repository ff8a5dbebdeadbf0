//! Client retries: a request repeated after a leader change is answered
//! from the client's session, not applied again; reads go to the leader;
//! a refused call returns the core's typed error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use trimline::{Error, HostId, HostSpec};
use trimline_replicated::{Client, Command, CoreError, Outcome, ProposeError, RefusalKind, Reply};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_leader_change_is_not_applied_twice() {
    let replicas = three_replicas().await;
    let all: Vec<_> = replicas.iter().collect();
    let first = leader(&all).await;
    let mut client = Client::new(7, Duration::from_secs(30));
    all_applied(
        client
            .propose(&all, at(1), region(10))
            .await
            .unwrap()
            .outcomes(),
    );

    // Applied once: the reply carries one placement.
    let place = client.request(at(2), vec![Command::Place { app: app_id() }]);
    let applied = replicas[first].propose(place.clone()).await.unwrap();
    let Reply::Applied(outcomes) = &applied else {
        panic!("{applied:?}")
    };
    assert_eq!(outcomes[0].decisions().unwrap().placements.len(), 1);

    // A follower refuses and names the leader.
    let follower = (first + 1) % 3;
    match replicas[follower].propose(place.clone()).await {
        Err(ProposeError::NotLeader { leader, .. }) => {
            assert_eq!(leader, Some(replicas[first].id()))
        }
        other => panic!("{other:?}"),
    }

    // The leader stops before the client hears back; the client retries
    // the same request on the new leader: the same answer, applied once.
    replicas[first].stop().await;
    let live: Vec<_> = replicas
        .iter()
        .filter(|r| r.id() != replicas[first].id())
        .collect();
    let repeated = client.submit(&live, &place).await.unwrap();
    assert_eq!(repeated, Reply::Repeated(outcomes.clone()));
    let new_leader = live[leader(&live).await];
    let count = new_leader
        .read(|s| s.scheduler().instance_count())
        .await
        .unwrap();
    assert_eq!(count, 1, "the retry was applied again");

    // The next request is applied; the first, sent again, is stale.
    let reply = client
        .propose(&live, at(3), vec![Command::Place { app: app_id() }])
        .await
        .unwrap();
    assert!(matches!(reply, Reply::Applied(_)));
    assert_eq!(
        client.submit(&live, &place).await.unwrap(),
        Reply::Stale { last: 3 }
    );
    let count = new_leader
        .read(|s| s.scheduler().instance_count())
        .await
        .unwrap();
    assert_eq!(count, 2);

    // A refused call: the typed error on the proposer, kind and message in
    // the log's record of it; the other commands of the entry still apply.
    let reply = client
        .propose(
            &live,
            at(4),
            vec![
                Command::AddHost {
                    spec: HostSpec {
                        id: HostId(1),
                        sku: "g7.4xlarge".parse().unwrap(),
                        zone: "zone-a".parse().unwrap(),
                    },
                },
                Command::Place { app: app_id() },
            ],
        )
        .await
        .unwrap();
    let Outcome::Refused(refusal) = &reply.outcomes()[0] else {
        panic!("{reply:?}")
    };
    assert_eq!(refusal.kind, RefusalKind::AlreadyExists);
    assert_eq!(
        refusal.error,
        Some(CoreError::Scheduler(Error::DuplicateHost(HostId(1))))
    );
    assert!(refusal.message.contains('1'), "{}", refusal.message);
    assert_eq!(reply.outcomes()[1].decisions().unwrap().placements.len(), 1);

    // A read on a follower is refused: reads go to the leader.
    let follower = live.iter().find(|r| r.id() != new_leader.id()).unwrap();
    assert!(matches!(
        follower.read(|s| s.scheduler().instance_count()).await,
        Err(ProposeError::NotLeader { .. })
    ));
    let index = converge(&live).await;
    assert!(index > 0);
    for r in &live {
        r.stop().await;
    }
}

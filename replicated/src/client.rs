//! A client: numbers its requests and retries one, with the same number,
//! until a leader answers.

use std::time::Duration;

use trimline::Timestamp;

use crate::NodeId;
use crate::command::{Command, Proposal, Reply, RequestId};
use crate::replica::{ProposeError, Replica};

/// No replica answered a request in time.
#[derive(Debug, thiserror::Error)]
#[error("request {request:?} got no answer in {waited:?}; last error: {last:?}")]
pub struct NoAnswer {
    /// The request.
    pub request: RequestId,
    /// How long the client tried.
    pub waited: Duration,
    /// The last replica's error, if any replica was asked.
    pub last: Option<ProposeError>,
}

/// A client of the replicated control plane. It sends one request at a
/// time; [`Client::submit`] retries a request with the same [`RequestId`]
/// on whichever replica leads, so a request is applied at most once even
/// when an answer is lost to a leader change.
#[derive(Debug)]
pub struct Client {
    id: u64,
    last: u64,
    patience: Duration,
}

impl Client {
    /// A client with id `id`, unique among the cluster's clients, that
    /// retries a request for up to `patience`.
    pub fn new(id: u64, patience: Duration) -> Client {
        Client {
            id,
            last: 0,
            patience,
        }
    }

    /// The next request: its number is one more than the last.
    pub fn request(&mut self, now: Timestamp, commands: Vec<Command>) -> Proposal {
        self.last += 1;
        Proposal {
            id: RequestId {
                client: self.id,
                request: self.last,
            },
            now,
            commands,
        }
    }

    /// Sends a new request and waits for its reply.
    pub async fn propose(
        &mut self,
        replicas: &[&Replica],
        now: Timestamp,
        commands: Vec<Command>,
    ) -> Result<Reply, NoAnswer> {
        let proposal = self.request(now, commands);
        self.submit(replicas, &proposal).await
    }

    /// Sends `proposal` to the leader among `replicas`, and again after
    /// each failure (to the leader named in a refusal, or the next
    /// replica), until one answers or patience runs out.
    pub async fn submit(
        &self,
        replicas: &[&Replica],
        proposal: &Proposal,
    ) -> Result<Reply, NoAnswer> {
        let start = tokio::time::Instant::now();
        let mut last = None;
        // Replicas found stopped: not asked again for this request.
        let mut stopped: Vec<NodeId> = Vec::new();
        let mut named: Option<NodeId> = None;
        let mut next = 0usize;
        while start.elapsed() < self.patience {
            let alive: Vec<&Replica> = replicas
                .iter()
                .copied()
                .filter(|r| !stopped.contains(&r.id()))
                .collect();
            if alive.is_empty() {
                break;
            }
            let find = |id: NodeId| alive.iter().copied().find(|r| r.id() == id);
            let known = named
                .take()
                .and_then(find)
                .or_else(|| alive.iter().find_map(|r| r.leader()).and_then(find));
            let replica = match known {
                Some(r) => r,
                None => {
                    next = (next + 1) % alive.len();
                    alive[next]
                }
            };
            match replica.propose(proposal.clone()).await {
                Ok(reply) => return Ok(reply),
                Err(e) => {
                    match &e {
                        ProposeError::NotLeader { leader, .. } => named = *leader,
                        ProposeError::Stopped { replica } => stopped.push(*replica),
                        _ => {}
                    }
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        Err(NoAnswer {
            request: proposal.id,
            waited: start.elapsed(),
            last,
        })
    }
}

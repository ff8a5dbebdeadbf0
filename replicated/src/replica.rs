//! A replica: the engine, its storage and its RPC server on one TCP port.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use openraft::error::{CheckIsLeaderError, ClientWriteError, Fatal, InitializeError, RaftError};
use openraft::{BasicNode, Raft};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use trimline::Config;
use trimline::metering::{MeterConfig, MeterError};

use crate::command::{Proposal, Reply};
use crate::net::{Network, serve};
use crate::state::{State, StateSnapshot};
use crate::store::{LogStore, Poisoned, StateMachineStore};
use crate::{NodeId, TypeConfig};

/// What a replica keeps across a restart: its log, its vote and its state
/// machine (in memory here, standing for a disk).
#[derive(Clone, Debug)]
pub struct Storage {
    /// The log and the vote.
    pub log: LogStore,
    /// The state machine.
    pub state: StateMachineStore,
}

impl Storage {
    /// Empty storage. Every replica of a cluster starts from the same
    /// configurations.
    pub fn new(config: Config, meter: MeterConfig) -> Result<Storage, MeterError> {
        Ok(Storage {
            log: LogStore::default(),
            state: StateMachineStore::new(config, meter)?,
        })
    }
}

/// Why a replica could not start or form a cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplicaError {
    /// The listener has no local address.
    #[error("replica {replica}: listener: {source}")]
    Listener {
        /// The replica.
        replica: NodeId,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The engine refused to start.
    #[error("replica {replica}: {source}")]
    Start {
        /// The replica.
        replica: NodeId,
        /// The engine's error.
        source: Box<Fatal<NodeId>>,
    },
    /// The engine refused to form the cluster.
    #[error("replica {replica}: initialize: {source}")]
    Initialize {
        /// The replica.
        replica: NodeId,
        /// The engine's error.
        source: Box<RaftError<NodeId, InitializeError<NodeId, BasicNode>>>,
    },
}

/// Why a proposal or a read got no answer from this replica. Whether a
/// proposal that got no answer was applied is unknown: retry it with the
/// same [`crate::RequestId`] (see [`crate::Client`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProposeError {
    /// This replica is not the leader.
    #[error("replica {replica} is not the leader (leader: {leader:?})")]
    NotLeader {
        /// The replica asked.
        replica: NodeId,
        /// The leader it knows of, if any.
        leader: Option<NodeId>,
    },
    /// The replica has stopped.
    #[error("replica {replica} has stopped")]
    Stopped {
        /// The replica.
        replica: NodeId,
    },
    /// The engine refused the write for another reason (a membership
    /// change in progress, say).
    #[error("replica {replica}: {source}")]
    Write {
        /// The replica.
        replica: NodeId,
        /// The engine's error.
        source: Box<RaftError<NodeId, ClientWriteError<NodeId, BasicNode>>>,
    },
    /// The leader could not confirm its leadership with a quorum for a
    /// read.
    #[error("replica {replica}: {source}")]
    Read {
        /// The replica.
        replica: NodeId,
        /// The engine's error.
        source: Box<RaftError<NodeId, CheckIsLeaderError<NodeId, BasicNode>>>,
    },
    /// The state machine's lock was poisoned by a panic.
    #[error("replica {replica}: {source}")]
    Poisoned {
        /// The replica.
        replica: NodeId,
        /// The poisoned lock.
        source: Poisoned,
    },
}

/// One replica: the engine, its storage and its RPC server.
pub struct Replica {
    id: NodeId,
    addr: SocketAddr,
    raft: Raft<TypeConfig>,
    storage: Storage,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for Replica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replica")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Replica {
    /// Starts replica `id` serving the engine's RPCs on `listener`, from
    /// `storage` (empty, or handed back by [`Replica::stop`]).
    pub async fn start(
        id: NodeId,
        listener: TcpListener,
        storage: Storage,
        config: Arc<openraft::Config>,
    ) -> Result<Replica, ReplicaError> {
        let addr = listener
            .local_addr()
            .map_err(|source| ReplicaError::Listener {
                replica: id,
                source,
            })?;
        let raft = Raft::new(
            id,
            config,
            Network,
            storage.log.clone(),
            storage.state.clone(),
        )
        .await
        .map_err(|source| ReplicaError::Start {
            replica: id,
            source: Box::new(source),
        })?;
        let server = tokio::spawn(serve(listener, raft.clone()));
        Ok(Replica {
            id,
            addr,
            raft,
            storage,
            server,
        })
    }

    /// Forms a cluster of `members` (this replica among them). Called once,
    /// on one replica, when the cluster is new.
    pub async fn initialize(
        &self,
        members: &BTreeMap<NodeId, SocketAddr>,
    ) -> Result<(), ReplicaError> {
        let nodes: BTreeMap<NodeId, BasicNode> = members
            .iter()
            .map(|(id, addr)| (*id, BasicNode::new(addr.to_string())))
            .collect();
        self.raft
            .initialize(nodes)
            .await
            .map_err(|source| ReplicaError::Initialize {
                replica: self.id,
                source: Box::new(source),
            })
    }

    /// The replica's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The address it serves RPCs on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The engine, for what this type does not wrap (metrics, membership
    /// changes).
    pub fn raft(&self) -> &Raft<TypeConfig> {
        &self.raft
    }

    /// The storage, shared with the engine.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The leader this replica knows of.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// The current term.
    pub fn term(&self) -> u64 {
        self.raft.metrics().borrow().current_term
    }

    /// The index of the last log entry this replica applied.
    pub fn applied_index(&self) -> Option<u64> {
        self.raft.metrics().borrow().last_applied.map(|l| l.index)
    }

    /// Proposes a log entry; once a quorum holds it and this replica (the
    /// leader) applied it, returns what applying it returned.
    pub async fn propose(&self, proposal: Proposal) -> Result<Reply, ProposeError> {
        match self.raft.client_write(proposal).await {
            Ok(response) => Ok(response.data),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                Err(ProposeError::NotLeader {
                    replica: self.id,
                    leader: f.leader_id,
                })
            }
            Err(RaftError::Fatal(_)) => Err(ProposeError::Stopped { replica: self.id }),
            Err(source) => Err(ProposeError::Write {
                replica: self.id,
                source: Box::new(source),
            }),
        }
    }

    /// A linearizable read on the leader: confirms leadership with a
    /// quorum, waits until everything committed before the read is applied
    /// here, then runs `f` on the state.
    pub async fn read<T>(&self, f: impl FnOnce(&State) -> T) -> Result<T, ProposeError> {
        match self.raft.ensure_linearizable().await {
            Ok(_) => {}
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f))) => {
                return Err(ProposeError::NotLeader {
                    replica: self.id,
                    leader: f.leader_id,
                });
            }
            Err(RaftError::Fatal(_)) => return Err(ProposeError::Stopped { replica: self.id }),
            Err(source) => {
                return Err(ProposeError::Read {
                    replica: self.id,
                    source: Box::new(source),
                });
            }
        }
        self.storage
            .state
            .with_state(|s, _| f(s))
            .map_err(|source| ProposeError::Poisoned {
                replica: self.id,
                source,
            })
    }

    /// This replica's state as applied so far (no leadership check), with
    /// the index of the last entry applied.
    pub fn local_state(&self) -> Result<(StateSnapshot, Option<u64>), Poisoned> {
        self.storage.state.with_state(|s, i| (s.snapshot(), i))
    }

    /// Stops the replica as a crash would, except that its storage
    /// survives: the engine stops, the RPC server and every connection it
    /// accepted close; proposals and reads then fail with
    /// [`ProposeError::Stopped`]. Returns the storage for a restart
    /// ([`Replica::start`] on the same address).
    pub async fn stop(&self) -> Storage {
        self.server.abort();
        // An error here means the engine's task had already ended (it
        // panicked or stopped): stopped either way.
        let _ = self.raft.shutdown().await;
        self.storage.clone()
    }
}

//! # trimline-replicated: trimline as a replicated state machine
//!
//! A control plane that outgrows one process runs the scheduler and the
//! meter on three (or five) replicas that apply the same command log, kept
//! by [openraft](https://docs.rs/openraft) (Raft). Any replica can take
//! over; a new leader finds what is in flight in the state.
//!
//! **What it adds to the core, and what it does not.** This crate owns the
//! I/O the core refuses: tokio tasks, TCP sockets, the engine's timers. The
//! core stays pure: every replica applies the same [`Proposal`] with the
//! same `now` (chosen once, by the proposer) to the same state, and gets
//! the same [`Reply`] and the same [`StateSnapshot`], byte for byte. The
//! storage here is in memory (standing for a disk that survives a
//! restart); consensus is openraft's, not ours.
//!
//! ```text
//!   Client ── Proposal { id, now, commands } ──▶ leader Replica
//!                                                  │ openraft: append, replicate
//!                                                  │ over TCP (JSON frames)
//!                                                  ▼ to a quorum, commit
//!   every replica: State::apply(proposal) ─▶ Reply (Decisions, or the error)
//!   snapshots: StateSnapshot { scheduler, meter, sessions } ─▶ log compaction
//! ```
//!
//! * [`Command`]: every mutating [`trimline::Scheduler`] call and every
//!   [`trimline::metering::Meter`] call, as serde data.
//! * [`State`]: the state machine (scheduler, meter, the client sessions
//!   that make retries idempotent), pure and synchronous.
//! * [`Replica`]: the engine, its storage and its RPC server;
//!   [`Replica::propose`] and [`Replica::read`] (a linearizable read on
//!   the leader).
//! * [`Client`]: numbers requests and retries one, with the same number,
//!   on whichever replica leads.
//!
//! The example `cargo run --release -p trimline-replicated --example
//! cluster` runs three replicas on loopback, stops the leader, and prints
//! what happened.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod command;
mod net;
mod replica;
mod state;
mod store;

use std::io::Cursor;

pub use client::{Client, NoAnswer};
pub use command::{
    BatchRefusal, Command, CoreError, Outcome, Proposal, Refusal, RefusalKind, Reply, RequestId,
};
pub use net::{Connection, Network};
pub use replica::{ProposeError, Replica, ReplicaError, Storage};
pub use state::{Session, State, StateRestoreError, StateSnapshot};
pub use store::{LogStore, Poisoned, StateMachineStore, encode};

/// A replica's id in the cluster.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// The engine's types: log entries are [`Proposal`]s, applying one
    /// returns a [`Reply`], snapshots travel as JSON bytes.
    pub TypeConfig:
        D = Proposal,
        R = Reply,
        NodeId = NodeId,
        Node = openraft::BasicNode,
        SnapshotData = Cursor<Vec<u8>>,
);

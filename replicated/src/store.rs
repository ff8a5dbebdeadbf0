//! The engine's storage: an in-memory log store and the state machine.
//!
//! Both are shared handles (`Arc`): a replica that stops hands them back
//! ([`crate::Replica::stop`]) and a restarted replica starts from them, as
//! from a disk that survived the process. Neither writes to disk.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Cursor;
use std::ops::RangeBounds;
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, RaftLogStorage, RaftStateMachine};
use openraft::{
    AnyError, BasicNode, Entry, EntryPayload, LogId, LogState, OptionalSend, RaftLogReader,
    RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError, StorageIOError, StoredMembership,
    Vote,
};
use trimline::Config;
use trimline::metering::{MeterConfig, MeterError};

use crate::command::Reply;
use crate::state::{State, StateSnapshot};
use crate::{NodeId, TypeConfig};

/// A lock was poisoned: a thread panicked while holding it, so the data
/// behind it may be half-changed.
#[derive(Debug, thiserror::Error)]
#[error("a replica's storage lock was poisoned by a panic")]
pub struct Poisoned;

// The error type is the engine's storage traits' own.
#[allow(clippy::result_large_err)]
fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, StorageError<NodeId>> {
    m.lock()
        .map_err(|_| StorageIOError::read(AnyError::new(&Poisoned)).into())
}

#[derive(Debug, Default)]
struct Log {
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId<NodeId>>,
    last_purged: Option<LogId<NodeId>>,
    entries: BTreeMap<u64, Entry<TypeConfig>>,
}

/// The log and the vote, in memory.
#[derive(Clone, Debug, Default)]
pub struct LogStore {
    inner: Arc<Mutex<Log>>,
}

impl LogStore {
    /// The number of entries held (those not yet purged by a snapshot).
    pub fn len(&self) -> usize {
        self.inner.lock().map(|l| l.entries.len()).unwrap_or(0)
    }

    /// Whether no entries are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        let log = lock(&self.inner)?;
        Ok(log.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let log = lock(&self.inner)?;
        let last = log
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(log.last_purged);
        Ok(LogState {
            last_purged_log_id: log.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        lock(&self.inner)?.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(lock(&self.inner)?.vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        lock(&self.inner)?.committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(lock(&self.inner)?.committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        {
            let mut log = lock(&self.inner)?;
            for entry in entries {
                log.entries.insert(entry.log_id.index, entry);
            }
        }
        // In memory, the entries are "flushed" once inserted.
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut log = lock(&self.inner)?;
        log.entries.split_off(&log_id.index);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut log = lock(&self.inner)?;
        log.last_purged = Some(log_id);
        match log_id.index.checked_add(1) {
            Some(next) => {
                let keep = log.entries.split_off(&next);
                log.entries = keep;
            }
            None => log.entries.clear(),
        }
        Ok(())
    }
}

/// A snapshot as the engine keeps and ships it: its metadata and the
/// [`StateSnapshot`] serialized as JSON.
#[derive(Clone, Debug)]
struct Stored {
    meta: SnapshotMeta<NodeId, BasicNode>,
    data: Vec<u8>,
}

#[derive(Debug)]
struct Machine {
    state: State,
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
    current: Option<Stored>,
    built: u64,
}

/// The state machine: a [`State`] applied entry by entry, its snapshots,
/// and the last entry and membership applied.
#[derive(Clone, Debug)]
pub struct StateMachineStore {
    inner: Arc<Mutex<Machine>>,
}

/// Serializes a state snapshot as the engine ships it.
pub fn encode(snapshot: &StateSnapshot) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(snapshot)
}

impl StateMachineStore {
    /// An empty state machine. Every replica of a cluster starts from the
    /// same configurations.
    pub fn new(config: Config, meter: MeterConfig) -> Result<StateMachineStore, MeterError> {
        Ok(StateMachineStore {
            inner: Arc::new(Mutex::new(Machine {
                state: State::new(config, meter)?,
                last_applied: None,
                membership: StoredMembership::default(),
                current: None,
                built: 0,
            })),
        })
    }

    /// Runs `f` on the state as applied so far, with the index of the last
    /// entry applied.
    pub fn with_state<T>(&self, f: impl FnOnce(&State, Option<u64>) -> T) -> Result<T, Poisoned> {
        let m = self.inner.lock().map_err(|_| Poisoned)?;
        Ok(f(&m.state, m.last_applied.map(|l| l.index)))
    }

    /// The log index of the snapshot held, if any.
    pub fn snapshot_index(&self) -> Result<Option<u64>, Poisoned> {
        let m = self.inner.lock().map_err(|_| Poisoned)?;
        Ok(m.current
            .as_ref()
            .and_then(|s| s.meta.last_log_id.map(|l| l.index)))
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        // Take the state under the lock, serialize it after: applying waits
        // only for the copy, not for the JSON.
        let (state, meta) = {
            let mut m = lock(&self.inner)?;
            m.built += 1;
            let snapshot_id = match m.last_applied {
                Some(l) => format!("{}-{}-{}", l.leader_id, l.index, m.built),
                None => format!("--{}", m.built),
            };
            let meta = SnapshotMeta {
                last_log_id: m.last_applied,
                last_membership: m.membership.clone(),
                snapshot_id,
            };
            (m.state.snapshot(), meta)
        };
        let data =
            encode(&state).map_err(|e| StorageIOError::read_state_machine(AnyError::new(&e)))?;
        drop(state);
        let mut m = lock(&self.inner)?;
        // A snapshot installed meanwhile may be newer: keep the newest.
        let newer = m
            .current
            .as_ref()
            .is_none_or(|c| c.meta.last_log_id <= meta.last_log_id);
        if newer {
            m.current = Some(Stored {
                meta: meta.clone(),
                data: data.clone(),
            });
        }
        drop(m);
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = StateMachineStore;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>>
    {
        let m = lock(&self.inner)?;
        Ok((m.last_applied, m.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Reply>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut m = lock(&self.inner)?;
        let mut replies = Vec::new();
        for entry in entries {
            m.last_applied = Some(entry.log_id);
            let reply = match entry.payload {
                EntryPayload::Blank => Reply::Applied(Vec::new()),
                EntryPayload::Normal(proposal) => m.state.apply(&proposal),
                EntryPayload::Membership(members) => {
                    m.membership = StoredMembership::new(Some(entry.log_id), members);
                    Reply::Applied(Vec::new())
                }
            };
            replies.push(reply);
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> StateMachineStore {
        self.clone()
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let data = snapshot.into_inner();
        let signature = Some(meta.signature());
        let decoded: StateSnapshot = serde_json::from_slice(&data)
            .map_err(|e| StorageIOError::read_snapshot(signature.clone(), AnyError::new(&e)))?;
        let state = State::restore(decoded)
            .map_err(|e| StorageIOError::read_snapshot(signature, AnyError::new(&e)))?;
        let mut m = lock(&self.inner)?;
        m.state = state;
        m.last_applied = meta.last_log_id;
        m.membership = meta.last_membership.clone();
        m.current = Some(Stored {
            meta: meta.clone(),
            data,
        });
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let m = lock(&self.inner)?;
        Ok(m.current.as_ref().map(|s| Snapshot {
            meta: s.meta.clone(),
            snapshot: Box::new(Cursor::new(s.data.clone())),
        }))
    }
}

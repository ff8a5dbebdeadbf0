//! The replicated state: a scheduler, a meter and each client's last
//! request. Pure and synchronous: it applies proposals and makes and
//! restores snapshots; the consensus engine decides the order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use trimline::metering::{Meter, MeterConfig, MeterError, MeterRestoreError, MeterSnapshot};
use trimline::{Config, RestoreError, Scheduler, Snapshot, Timestamp};

use crate::command::{
    BatchRefusal, Command, CoreError, Outcome, Proposal, Refusal, Reply, RequestId,
};

/// A client's last request and what it returned, kept to answer a retry
/// without applying it again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// The last request number applied.
    pub last: u64,
    /// Its outcomes.
    pub outcomes: Vec<Outcome>,
}

/// The whole replicated state as serde data: what a snapshot holds, and
/// what the replicas compare byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSnapshot {
    /// The scheduler's snapshot.
    pub scheduler: Snapshot,
    /// The meter's snapshot.
    pub meter: MeterSnapshot,
    /// Each client's last request, by client id.
    pub sessions: BTreeMap<u64, Session>,
}

/// Why a snapshot could not be restored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateRestoreError {
    /// The scheduler's snapshot was refused.
    #[error("scheduler snapshot: {0}")]
    Scheduler(#[from] RestoreError),
    /// The meter's snapshot was refused.
    #[error("meter snapshot: {0}")]
    Meter(#[from] MeterRestoreError),
}

/// The state machine's state: a [`Scheduler`], a [`Meter`] and the client
/// sessions.
#[derive(Debug)]
pub struct State {
    scheduler: Scheduler,
    meter: Meter,
    sessions: BTreeMap<u64, Session>,
}

impl State {
    /// An empty state. Every replica must start from the same
    /// configurations (or from the same snapshot).
    pub fn new(config: Config, meter: MeterConfig) -> Result<State, MeterError> {
        Ok(State {
            scheduler: Scheduler::new(config),
            meter: Meter::new(meter)?,
            sessions: BTreeMap::new(),
        })
    }

    /// The scheduler, for queries.
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// The meter, for queries.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// The last request number applied for `client`, if any.
    pub fn last_request(&self, client: u64) -> Option<u64> {
        self.sessions.get(&client).map(|s| s.last)
    }

    /// Applies one proposal: each command in order, unless the client's
    /// session shows it was applied already.
    pub fn apply(&mut self, proposal: &Proposal) -> Reply {
        let RequestId { client, request } = proposal.id;
        if let Some(session) = self.sessions.get(&client) {
            if request == session.last {
                return Reply::Repeated(session.outcomes.clone());
            }
            if request < session.last {
                return Reply::Stale { last: session.last };
            }
        }
        let outcomes: Vec<Outcome> = proposal
            .commands
            .iter()
            .map(|c| self.apply_command(c, proposal.now))
            .collect();
        self.sessions.insert(
            client,
            Session {
                last: request,
                outcomes: outcomes.clone(),
            },
        );
        Reply::Applied(outcomes)
    }

    fn apply_command(&mut self, command: &Command, now: Timestamp) -> Outcome {
        let s = &mut self.scheduler;
        let decided = |r: Result<trimline::Decisions, trimline::Error>| match r {
            Ok(d) => Outcome::Decisions(d),
            Err(e) => Outcome::Refused(CoreError::Scheduler(e).into()),
        };
        let done = |r: Result<(), trimline::Error>| match r {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Refused(CoreError::Scheduler(e).into()),
        };
        match command {
            Command::AddSku { spec } => done(s.add_sku(spec.clone(), now)),
            Command::AddZone { zone, state } => done(s.add_zone(zone.clone(), *state, now)),
            Command::SetZoneState { zone, state } => decided(s.set_zone_state(zone, *state, now)),
            Command::AddHost { spec } => decided(s.add_host(spec.clone(), now)),
            Command::RemoveHost { host } => decided(s.remove_host(*host, now)),
            Command::SetHostState { host, state } => decided(s.set_host_state(*host, *state, now)),
            Command::AddApp { spec } => done(s.add_app(spec.clone(), now)),
            Command::RemoveApp { app } => done(s.remove_app(app, now)),
            Command::Place { app } => decided(s.place(app, now)),
            Command::PlaceBatch { app, count, mode } => {
                decided(s.place_batch(app, *count, *mode, now))
            }
            Command::Scale { app, target } => decided(s.scale(app, *target, now)),
            Command::RemoveInstance { instance } => decided(s.remove_instance(*instance, now)),
            Command::Reconcile => decided(s.reconcile(now)),
            Command::SetStock { sku, zone, stock } => decided(s.set_stock(sku, zone, *stock, now)),
            Command::ProvisionFailed { sku, zone, failure } => {
                decided(s.provision_failed(sku, zone, *failure, now))
            }
            Command::HostReady { planned, host } => decided(s.host_ready(*planned, *host, now)),
            Command::PlanReturn => decided(s.plan_return(now)),
            Command::CompleteMove { to } => decided(s.complete_move(*to, now)),
            Command::AbortMove { to } => decided(s.abort_move(*to, now)),
            Command::ZoneDown { zone } => decided(s.zone_down(zone, now)),
            Command::HostFailed { host } => decided(s.host_failed(*host, now)),
            Command::ZoneUp { zone } => decided(s.zone_up(zone, now)),
            Command::Rebalance => decided(s.rebalance(now)),
            Command::StartConsolidation { plan } => match s.start_consolidation(plan, now) {
                Ok(step) => Outcome::Consolidation(Box::new(step)),
                Err(e) => Outcome::Refused(CoreError::Scheduler(e).into()),
            },
            Command::AddPriceTable { table } => match self.meter.add_price_table(table.clone()) {
                Ok(()) => Outcome::Done,
                Err(e) => Outcome::Refused(CoreError::Meter(e).into()),
            },
            Command::Ingest { event } => match self.meter.ingest(event, now) {
                Ok(i) => Outcome::Ingested(i),
                Err(e) => Outcome::Refused(CoreError::Meter(e).into()),
            },
            Command::IngestBatch { events } => {
                let batch = self.meter.ingest_batch(events, now);
                Outcome::IngestedBatch {
                    results: batch.results,
                    refused: batch.refused.map(|(index, e)| BatchRefusal {
                        index,
                        refusal: Refusal::from(CoreError::Meter(e)),
                    }),
                }
            }
            Command::ClosePeriod { end } => match self.meter.close_period(*end, now) {
                Ok(report) => Outcome::Period(report),
                Err(e) => Outcome::Refused(CoreError::Meter(e).into()),
            },
        }
    }

    /// The state as serde data.
    pub fn snapshot(&self) -> StateSnapshot {
        StateSnapshot {
            scheduler: self.scheduler.snapshot(),
            meter: self.meter.snapshot(),
            sessions: self.sessions.clone(),
        }
    }

    /// Rebuilds a state from a snapshot; the restored state serializes to
    /// the same snapshot and applies the next proposals like the original.
    pub fn restore(snapshot: StateSnapshot) -> Result<State, StateRestoreError> {
        Ok(State {
            scheduler: Scheduler::restore(snapshot.scheduler)?,
            meter: Meter::restore(snapshot.meter)?,
            sessions: snapshot.sessions,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use trimline::{AppSpec, Arch, BatchMode, HostId, HostSpec, Resources, SkuSpec, ZoneState};

    use super::*;

    fn proposal(request: u64, now: u64, commands: Vec<Command>) -> Proposal {
        Proposal {
            id: RequestId { client: 1, request },
            now: Timestamp(now),
            commands,
        }
    }

    fn region() -> Vec<Command> {
        let mut commands = vec![
            Command::AddZone {
                zone: "z".parse().unwrap(),
                state: ZoneState::Up,
            },
            Command::AddSku {
                spec: SkuSpec {
                    id: "s".parse().unwrap(),
                    family: "f".parse().unwrap(),
                    generation: 1,
                    arch: Arch::X86_64,
                    cpu_vendor: "intel".parse().unwrap(),
                    allocatable: Resources::cpu_mem(4_000, 8_192).unwrap(),
                    perf_score: 100,
                    numa_nodes: vec![Resources::cpu_mem(4_000, 8_192).unwrap()],
                    features: Default::default(),
                    accelerator_model: None,
                    local_disk: None,
                    price_nanos_per_second: 1,
                },
            },
        ];
        for id in 1..=4 {
            commands.push(Command::AddHost {
                spec: HostSpec {
                    id: HostId(id),
                    sku: "s".parse().unwrap(),
                    zone: "z".parse().unwrap(),
                },
            });
        }
        commands.push(Command::AddApp {
            spec: AppSpec::new(
                "a".parse().unwrap(),
                "t".parse().unwrap(),
                Resources::cpu_mem(1_000, 1_024).unwrap(),
            ),
        });
        commands
    }

    fn place(count: u32) -> Vec<Command> {
        vec![Command::PlaceBatch {
            app: "a".parse().unwrap(),
            count,
            mode: BatchMode::Partial,
        }]
    }

    #[test]
    fn a_restored_state_writes_the_same_snapshot_and_applies_alike() {
        let mut a = State::new(Config::default(), MeterConfig::default()).unwrap();
        a.apply(&proposal(1, 1, region()));
        a.apply(&proposal(2, 2, place(5)));
        let bytes = serde_json::to_vec(&a.snapshot()).unwrap();
        let decoded: StateSnapshot = serde_json::from_slice(&bytes).unwrap();
        let mut b = State::restore(decoded).unwrap();
        assert!(
            serde_json::to_vec(&b.snapshot()).unwrap() == bytes,
            "the restored state writes another snapshot"
        );
        // The session survives: a retry is answered, not applied.
        let retry = b.apply(&proposal(2, 2, place(5)));
        assert!(matches!(retry, Reply::Repeated(ref o) if o.len() == 1));
        assert_eq!(b.scheduler().instance_count(), 5);
        // The next proposal decides alike on both.
        let next = proposal(3, 3, place(20));
        assert_eq!(a.apply(&next), b.apply(&next));
        assert_eq!(a.snapshot(), b.snapshot());
        // 16 fit on the four hosts; the other 9 wait.
        assert_eq!(a.scheduler().instance_count(), 25);
        assert_eq!(a.scheduler().pending().len(), 9);
    }

    #[test]
    fn a_refused_command_changes_nothing_and_the_next_one_applies() {
        let mut s = State::new(Config::default(), MeterConfig::default()).unwrap();
        s.apply(&proposal(1, 5, region()));
        let before = s.snapshot().scheduler;
        // `now` went backwards: refused.
        let reply = s.apply(&proposal(2, 4, place(1)));
        let Outcome::Refused(r) = &reply.outcomes()[0] else {
            panic!("{reply:?}")
        };
        assert_eq!(r.kind, crate::command::RefusalKind::TimeWentBackwards);
        assert!(matches!(
            r.error,
            Some(CoreError::Scheduler(
                trimline::Error::TimeWentBackwards { .. }
            ))
        ));
        assert_eq!(s.snapshot().scheduler, before);
        assert_eq!(s.last_request(1), Some(2));
        // The next request applies.
        let reply = s.apply(&proposal(3, 6, place(1)));
        assert_eq!(reply.outcomes()[0].decisions().unwrap().placements.len(), 1);
    }
}

//! The runner: plays a scenario's timeline against the scheduler, acting as
//! the embedder (it provisions planned hosts, starts move replacements and
//! meters every decision), and records what happened as a [`Report`].
//!
//! Every scheduler and meter call gets its own millisecond (a call made
//! when the scenario clock has not moved since the last one is made 1 ms
//! later), so the metering events derived from different calls never share
//! a time and an id.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use trimline::metering::{
    Event as MeterEvent, EventId, EventKind as MeterKind, Ingested, Meter, MeterConfig,
    decision_events,
};
use trimline::*;

use crate::report::*;
use crate::scenario::{Scenario, ScenarioError, Step};

/// Instances listed one by one, per kind, at most.
const EXAMPLES: usize = 3;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The scenario file itself is wrong (found before anything ran).
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A call of the run failed: the core refused it given the state the
    /// timeline led to.
    #[error("{path}: {message}")]
    Call {
        /// The JSON path of the timeline event (`timeline[7].zone_up`).
        path: String,
        /// What was refused.
        message: String,
    },
}

/// One scheduler call the runner made, right after it returned: for
/// checking the report against the state ([`run_observed`]).
#[derive(Debug)]
pub struct Call<'a> {
    /// The timeline event that made it (`timeline[3].scale`).
    pub path: &'a str,
    /// The call's time.
    pub now: Timestamp,
    /// The scheduler right after the call (for a dry run, the copy the
    /// call ran on).
    pub scheduler: &'a Scheduler,
    /// What it decided.
    pub decisions: &'a Decisions,
    /// Whether the runner carried the decisions out (false for dry runs).
    pub carried_out: bool,
}

/// Something the embedder does later.
#[derive(Debug)]
enum Job {
    /// The planned host is up.
    HostReady(HostId),
    /// The replacement of a move is running.
    CompleteMove(InstanceId),
}

type Res<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Play the scenario and return its report. The file is checked first
/// ([`Scenario::validate`]): a problem in it is a [`RunError::Scenario`],
/// before anything runs.
pub fn run(sc: &Scenario) -> Result<Report, RunError> {
    run_observed(sc, &mut |_| {})
}

/// [`run`], calling `observe` right after every scheduler call that
/// returns decisions, with the scheduler's state then.
pub fn run_observed(sc: &Scenario, observe: &mut dyn FnMut(&Call<'_>)) -> Result<Report, RunError> {
    let s = sc.build()?;
    let mut runner = Runner::new(sc, s, observe).map_err(|message| RunError::Call {
        path: "prices".into(),
        message,
    })?;
    for (i, step) in sc.timeline.iter().enumerate() {
        runner.path = format!("timeline[{i}].{}", step.name());
        runner.step(step).map_err(|message| RunError::Call {
            path: runner.path.clone(),
            message,
        })?;
    }
    Ok(runner.finish())
}

/// An open story.
struct OpenStory {
    title: String,
    text: String,
    events: Vec<Event>,
}

struct Runner<'a> {
    sc: &'a Scenario,
    s: Scheduler,
    meter: Meter,
    observe: &'a mut dyn FnMut(&Call<'_>),
    /// The current event's path.
    path: String,
    /// Scenario time, ms.
    clock: u64,
    /// Time of the last call, ms (calls get distinct times).
    last_call: u64,
    queue: BTreeMap<(u64, u64), Job>,
    seq: u64,
    next_host: u64,
    region: Region,
    stories: Vec<Story>,
    story: Option<OpenStory>,
    substitutions: Vec<Substitution>,
    /// The state behind each substitution note of the calls made since the
    /// last outcome was recorded, by group key.
    facts: BTreeMap<String, Vec<NoteFacts>>,
    invoices: Vec<Invoice>,
    /// When each app last went to zero instances.
    zero_since: BTreeMap<AppId, u64>,
}

/// A substitution a call decided, as its note says.
struct NoteRow<'d> {
    kind: SubstitutionKind,
    app: &'d AppId,
    zone: &'d ZoneId,
    note: Arc<SubstitutionNote>,
    instances: u64,
    hosts: u64,
}

/// The substitutions of `d`: one per placement, tentative placement or
/// provision that carries a note.
fn notes(d: &Decisions) -> Vec<NoteRow<'_>> {
    fn placed(kind: SubstitutionKind, list: &[Placement]) -> Vec<NoteRow<'_>> {
        list.iter()
            .filter_map(|p| {
                Some(NoteRow {
                    kind,
                    app: &p.app,
                    zone: &p.zone,
                    note: p.substitution.clone()?,
                    instances: 1,
                    hosts: 0,
                })
            })
            .collect()
    }
    let mut rows = placed(SubstitutionKind::Placed, &d.placements);
    rows.extend(placed(SubstitutionKind::Tentative, &d.tentative));
    rows.extend(d.provisions.iter().filter_map(|p| {
        Some(NoteRow {
            kind: SubstitutionKind::Provision,
            // A warm pool's provision is for no app (and no substitution).
            app: p.app.as_ref()?,
            zone: &p.zone,
            note: p.substitution.clone()?,
            instances: u64::from(p.instances),
            hosts: u64::from(p.count),
        })
    }));
    rows
}

/// Whether a note is that of a placement on a planned host that came up:
/// its substitution was reported when the host was planned.
fn is_earlier(row: &NoteRow<'_>) -> bool {
    row.kind == SubstitutionKind::Placed && row.note.planned_host.is_some()
}

/// The key grouping substitutions (and their facts).
fn sub_key(row: &NoteRow<'_>) -> String {
    format!(
        "{}\t{}\t{}\t{:?}\t{}",
        row.app, row.zone, row.note.sku, row.kind, row.note
    )
}

/// Append `d` to `into`.
fn merge(into: &mut Decisions, d: Decisions) {
    into.placements.extend(d.placements);
    into.tentative.extend(d.tentative);
    into.provisions.extend(d.provisions);
    into.evictions.extend(d.evictions);
    into.pending.extend(d.pending);
    into.removals.extend(d.removals);
    into.shortfalls.extend(d.shortfalls);
    into.moves.extend(d.moves);
    into.skew_violations.extend(d.skew_violations);
    into.unplaced.extend(d.unplaced);
    into.cancellations.extend(d.cancellations);
}

fn usage_of(h: &HostView) -> Usage {
    let cpu = u64::from(h.capacity.cpu_millis());
    let mem = u64::from(h.capacity.memory_mib());
    Usage {
        hosts: 1,
        cpu_used_millis: cpu - u64::from(h.free.cpu_millis()),
        cpu_millis: cpu,
        memory_used_mib: mem - u64::from(h.free.memory_mib()),
        memory_mib: mem,
    }
}

fn add(into: &mut Usage, u: Usage) {
    into.hosts += u.hosts;
    into.cpu_used_millis += u.cpu_used_millis;
    into.cpu_millis += u.cpu_millis;
    into.memory_used_mib += u.memory_used_mib;
    into.memory_mib += u.memory_mib;
}

impl<'a> Runner<'a> {
    fn new(
        sc: &'a Scenario,
        s: Scheduler,
        observe: &'a mut dyn FnMut(&Call<'_>),
    ) -> Res<Runner<'a>> {
        let mut meter = Meter::new(MeterConfig::default()).map_err(err)?;
        meter.add_price_table(sc.prices.table()).map_err(err)?;
        let next_host = s.host_ids().map(|h| h.0).max().unwrap_or(0) + 1;
        let arches: BTreeSet<Arch> = s.skus().map(|k| k.arch).collect();
        let mut runner = Runner {
            sc,
            meter,
            observe,
            path: String::new(),
            clock: 0,
            last_call: 0,
            queue: BTreeMap::new(),
            seq: 0,
            next_host,
            region: Region {
                zones: sc.zones.len(),
                arches: arches.into_iter().collect(),
                hosts: s.host_count(),
                apps: s.apps().count(),
                skus: Vec::new(),
            },
            s,
            stories: Vec::new(),
            story: None,
            substitutions: Vec::new(),
            facts: BTreeMap::new(),
            invoices: Vec::new(),
            zero_since: BTreeMap::new(),
        };
        runner.region.skus = runner.sku_rows();
        Ok(runner)
    }

    /// The time of the next call.
    fn next_now(&self) -> u64 {
        self.clock.max(self.last_call.saturating_add(1))
    }

    fn tick(&mut self) -> Timestamp {
        self.last_call = self.next_now();
        Timestamp(self.last_call)
    }

    /// Make a scheduler call as the embedder: meter what it decided and
    /// queue the provisioning and moves it asks for.
    fn call(
        &mut self,
        f: impl FnOnce(&mut Scheduler, Timestamp) -> Result<Decisions, trimline::Error>,
    ) -> Result<Decisions, trimline::Error> {
        let now = self.tick();
        let d = f(&mut self.s, now)?;
        (self.observe)(&Call {
            path: &self.path,
            now,
            scheduler: &self.s,
            decisions: &d,
            carried_out: true,
        });
        self.note_facts(&d, now);
        Ok(d)
    }

    /// Carry out what `d` asks: meter it, queue provisions and moves.
    fn carry_out(&mut self, d: &Decisions) -> Res<()> {
        let now = Timestamp(self.last_call);
        for e in decision_events(d, &self.s, now).map_err(err)? {
            let r = self.meter.ingest(&e, now).map_err(err)?;
            if r != Ingested::Applied {
                return Err(format!(
                    "meter: event {} of {} not applied: {r:?}",
                    e.id, e.instance
                ));
            }
        }
        // Cancelled planned hosts: stop waiting for them.
        let cancelled: BTreeSet<HostId> = d
            .cancellations
            .iter()
            .flat_map(|c| c.hosts.iter().copied())
            .collect();
        if !cancelled.is_empty() {
            self.queue
                .retain(|_, job| !matches!(job, Job::HostReady(h) if cancelled.contains(h)));
        }
        let ready_at = self
            .clock
            .saturating_add(self.sc.provision_seconds.saturating_mul(1000));
        for p in &d.provisions {
            for h in &p.hosts {
                self.enqueue(ready_at, Job::HostReady(*h));
            }
        }
        let moved_at = self
            .clock
            .saturating_add(self.sc.move_seconds.saturating_mul(1000));
        for m in &d.moves {
            self.enqueue(moved_at, Job::CompleteMove(m.to));
        }
        Ok(())
    }

    /// [`call`](Self::call), then carry the decisions out.
    fn act(
        &mut self,
        f: impl FnOnce(&mut Scheduler, Timestamp) -> Result<Decisions, trimline::Error>,
    ) -> Res<Decisions> {
        let d = self.call(f).map_err(err)?;
        self.carry_out(&d)?;
        Ok(d)
    }

    /// A dry run of scaling, observed like a call.
    fn dry_scale(&mut self, app: &AppId, to: u32) -> Res<Decisions> {
        let now = Timestamp(self.next_now());
        let path = self.path.clone();
        let observe = &mut *self.observe;
        let d = self
            .s
            .dry_run(|s| {
                let d = s.scale(app, to, now)?;
                observe(&Call {
                    path: &path,
                    now,
                    scheduler: s,
                    decisions: &d,
                    carried_out: false,
                });
                Ok::<_, trimline::Error>(d)
            })
            .map_err(err)?;
        Ok(d)
    }

    fn enqueue(&mut self, at: u64, job: Job) {
        self.seq += 1;
        self.queue.insert((at, self.seq), job);
    }

    fn push(&mut self, what: EventKind) {
        let ev = Event {
            at_ms: self.clock,
            what,
        };
        self.story
            .get_or_insert_with(|| OpenStory {
                title: String::new(),
                text: String::new(),
                events: Vec::new(),
            })
            .events
            .push(ev);
    }

    fn finish(mut self) -> Report {
        self.end_story();
        let zones = self.zone_rows();
        let skus = self.sku_rows();
        Report {
            scenario: self.sc.name.clone(),
            description: self.sc.description.clone(),
            region: self.region,
            stories: self.stories,
            substitutions: self.substitutions,
            invoices: self.invoices,
            final_state: FinalState {
                time_ms: self.clock,
                hosts: self.s.host_count(),
                instances: self.s.instance_count(),
                pending: self.s.pending().len(),
                in_flight: self.queue.len(),
                zones,
                skus,
                invariants_ok: self.s.check_invariants().is_ok(),
            },
        }
    }

    fn step(&mut self, step: &Step) -> Res<()> {
        match step {
            Step::Story { title, text } => {
                self.end_story();
                self.story = Some(OpenStory {
                    title: title.clone(),
                    text: text.clone(),
                    events: Vec::new(),
                });
                Ok(())
            }
            Step::Scale {
                app,
                to,
                dry_run_first,
            } => self.scale(app, *to, *dry_run_first),
            Step::DryRun { app, to } => {
                let from = self.count(app);
                let plan = self.dry_scale(app, *to)?;
                let outcome = self.outcome(&plan, Some(app), false, &BTreeMap::new());
                self.push(EventKind::DryRun(ScaleStep {
                    app: app.clone(),
                    from,
                    to: *to,
                    dry_run: None,
                    same_as_dry_run: None,
                    outcome,
                }));
                Ok(())
            }
            Step::Explain { app, zone } => {
                let verdicts = self.s.explain_substitution(app, zone).map_err(err)?;
                let requested = self.s.app(app).and_then(|a| a.sku.clone());
                self.push(EventKind::Explain(ExplainStep {
                    app: app.clone(),
                    zone: zone.clone(),
                    requested,
                    verdicts,
                }));
                Ok(())
            }
            Step::Stock { sku, zones, stock } => {
                let mut agg = Decisions::default();
                let zones = self.sc.zones_or_all(zones).to_vec();
                for z in &zones {
                    let d = self.act(|s, now| s.set_stock(sku, z, stock.0, now))?;
                    merge(&mut agg, d);
                }
                let outcome = self.outcome(&agg, None, true, &BTreeMap::new());
                self.push(EventKind::Stock(StockStep {
                    sku: sku.clone(),
                    zones,
                    stock: stock.0,
                    outcome,
                }));
                Ok(())
            }
            Step::WarmPool { sku, zones, target } => {
                let mut agg = Decisions::default();
                let zones = self.sc.zones_or_all(zones).to_vec();
                for z in &zones {
                    let d = self.act(|s, now| s.set_warm_pool(sku, z, *target, now))?;
                    merge(&mut agg, d);
                }
                let outcome = self.outcome(&agg, None, true, &BTreeMap::new());
                self.push(EventKind::WarmPool(WarmPoolStep {
                    sku: sku.clone(),
                    zones,
                    target: *target,
                    outcome,
                }));
                Ok(())
            }
            Step::Wait { seconds } => self.wait(*seconds),
            Step::ZoneDown { zone } => {
                let before = self.zone_instances(zone);
                let d = self.act(|s, now| s.zone_down(zone, now))?;
                let outcome = self.outcome(&d, None, true, &BTreeMap::new());
                self.push(EventKind::ZoneDown(ZoneStep {
                    zone: zone.clone(),
                    instances_before: before,
                    outcome,
                }));
                Ok(())
            }
            Step::ZoneUp { zone } => {
                let before = self.zone_instances(zone);
                let d = self.act(|s, now| s.zone_up(zone, now))?;
                let outcome = self.outcome(&d, None, true, &BTreeMap::new());
                self.push(EventKind::ZoneUp(ZoneStep {
                    zone: zone.clone(),
                    instances_before: before,
                    outcome,
                }));
                Ok(())
            }
            Step::Idle { app } => {
                let n = self.activity(app, MeterKind::Idle)?;
                self.push(EventKind::Idle(n));
                Ok(())
            }
            Step::Active { app } => {
                let n = self.activity(app, MeterKind::Active)?;
                self.push(EventKind::Active(n));
                Ok(())
            }
            Step::Survive {} => {
                let zones = self.s.survive_zone_loss();
                self.push(EventKind::Survive(SurviveStep { zones }));
                Ok(())
            }
            Step::Utilisation {} => {
                let zones = self.zone_rows();
                let skus = self.sku_rows();
                self.push(EventKind::Utilisation(UtilisationStep { zones, skus }));
                Ok(())
            }
            Step::NumaMemory {} => {
                let skus = self.numa_memory();
                self.push(EventKind::NumaMemory(NumaMemoryStep { skus }));
                Ok(())
            }
            Step::Bill {} => self.bill(),
            Step::Consolidate {
                max_hosts,
                max_moves,
            } => self.consolidate(*max_hosts, *max_moves),
            Step::Metrics {} => {
                let text = self.s.metrics_text();
                self.push(EventKind::Metrics(MetricsStep { text }));
                Ok(())
            }
            Step::Delivery {} => {
                let now = Timestamp(self.clock.max(self.s.now().0));
                let apps = self.s.deliveries(now);
                self.push(EventKind::Delivery(DeliveryStep { apps }));
                Ok(())
            }
        }
    }

    /// Plan a consolidation and carry it out: start what each call allows,
    /// confirm every move started, until the plan is done; a stale plan is
    /// followed by its re-plan.
    fn consolidate(&mut self, max_hosts: Option<u32>, max_moves: Option<u32>) -> Res<()> {
        let options = trimline::repack::ConsolidationOptions::new(max_hosts, max_moves);
        let mut plan = self.s.plan_consolidation(&options);
        let hosts_before = plan.hosts_before;
        let (mut plans, mut rounds, mut moves_made) = (1usize, 0usize, 0usize);
        let mut freed: Vec<HostId> = Vec::new();
        // Every round completes at least one move or re-plans; the bound
        // only guards against a plan that never ends.
        let limit = 4 * (plan.moves.len() + 2);
        loop {
            if rounds > limit {
                return Err(format!("consolidation did not end after {limit} rounds"));
            }
            let mut step = None;
            let d = self.act(|s, now| {
                let st = s.start_consolidation(&plan, now)?;
                let d = st.decisions.clone();
                step = Some(st);
                Ok(d)
            })?;
            let Some(step) = step else {
                return Err("consolidation: no step".to_string());
            };
            rounds += 1;
            for m in &d.moves {
                let to = m.to;
                let _ = self.act(|s, now| s.complete_move(to, now))?;
                moves_made += 1;
            }
            if let Some(next) = step.replan {
                freed.extend(
                    plan.freed
                        .iter()
                        .filter(|h| self.s.host(**h).is_some_and(|v| v.instances.is_empty())),
                );
                plan = next;
                plans += 1;
                continue;
            }
            if step.is_finished() {
                break;
            }
        }
        freed.extend(plan.freed.iter().copied());
        freed.dedup();
        let cost_saved_nanos_per_second = freed
            .iter()
            .filter_map(|h| self.s.host(*h))
            .filter_map(|v| self.s.sku(&v.sku).map(|k| k.price_nanos_per_second))
            .fold(0u64, u64::saturating_add);
        let hosts_after = self
            .s
            .host_ids()
            .filter_map(|h| self.s.host(h))
            .filter(|v| v.state == trimline::HostState::Ready && !v.instances.is_empty())
            .count();
        self.push(EventKind::Consolidate(ConsolidateStep {
            hosts_before,
            hosts_after,
            freed,
            moves_made,
            rounds,
            plans,
            cost_saved_nanos_per_second,
        }));
        Ok(())
    }

    /// Close the current story: audit the guarantees, record the zones.
    fn end_story(&mut self) {
        let Some(st) = self.story.take() else {
            return;
        };
        let audit = self.audit();
        let zones = self.zone_rows();
        self.stories.push(Story {
            title: st.title,
            text: st.text,
            events: st.events,
            audit,
            zones,
        });
    }

    /// The guarantees, checked from the outside.
    fn audit(&self) -> Audit {
        let mut over = 0u64;
        for h in self.s.host_ids() {
            let Some(v) = self.s.host(h) else { continue };
            for n in &v.nodes {
                let held = n.rigid.checked_add(&n.best_effort);
                if held.is_none_or(|r| !r.fits_in(&n.capacity)) {
                    over += 1;
                }
            }
        }
        let mut short = 0u64;
        let mut skew = Vec::new();
        for app in self.s.apps() {
            let instances = self.s.app_instances(&app.id);
            if app.qos == QosTier::Rigid {
                for i in &instances {
                    if let Some(InstanceView {
                        status:
                            InstanceStatus::Placed { parts, .. }
                            | InstanceStatus::Tentative { parts, .. },
                        ..
                    }) = self.s.instance(*i)
                    {
                        let held = Resources::sum(parts.iter().map(|(_, r)| r));
                        short += u64::from(held != app.resources);
                    }
                }
            }
            if let Some(max) = app.spread.max_skew {
                let pending = instances
                    .iter()
                    .filter(|i| {
                        matches!(
                            self.s.instance(**i).map(|v| v.status),
                            Some(InstanceStatus::Pending { .. })
                        )
                    })
                    .count();
                skew.push(SkewCheck {
                    app: app.id.clone(),
                    skew: self.s.skew(&app.id).unwrap_or(u32::MAX),
                    max_skew: max,
                    instances: instances.len(),
                    pending,
                });
            }
        }
        Audit {
            invariants_ok: self.s.check_invariants().is_ok(),
            overcommitted_nodes: over,
            rigid_short: short,
            skew,
        }
    }

    // ----- steps ---------------------------------------------------------------

    fn count(&self, app: &AppId) -> usize {
        self.s.app_instances(app).len()
    }

    fn scale(&mut self, app: &AppId, to: u32, dry_run_first: bool) -> Res<()> {
        let from = self.count(app);
        let plan = if dry_run_first {
            let plan = self.dry_scale(app, to)?;
            let outcome = self.outcome(&plan, Some(app), false, &BTreeMap::new());
            Some((plan, outcome))
        } else {
            None
        };
        let d = self.act(|s, now| s.scale(app, to, now))?;
        let same = plan.as_ref().map(|(p, _)| *p == d);
        let outcome = self.outcome(&d, Some(app), true, &BTreeMap::new());
        if to == 0 {
            self.zero_since.insert(app.clone(), self.clock);
        } else {
            self.zero_since.remove(app);
        }
        self.push(EventKind::Scale(ScaleStep {
            app: app.clone(),
            from,
            to,
            dry_run: plan.map(|(_, o)| Box::new(o)),
            same_as_dry_run: same,
            outcome,
        }));
        Ok(())
    }

    fn wait(&mut self, seconds: u64) -> Res<()> {
        let target = self.clock.saturating_add(seconds.saturating_mul(1000));
        let mut agg = Decisions::default();
        let (mut ready, mut dropped, mut completed, mut rounds) = (0u32, 0u32, 0u32, 0u32);
        let mut completed_by_app: BTreeMap<AppId, u64> = BTreeMap::new();
        while let Some((&(t, seq), _)) = self.queue.first_key_value() {
            if t > target {
                break;
            }
            let Some(job) = self.queue.remove(&(t, seq)) else {
                break;
            };
            self.clock = self.clock.max(t);
            match job {
                Job::HostReady(planned) => {
                    if self.s.host(planned).is_none() {
                        // Cancelled meanwhile (the call that cancelled it
                        // said so): nothing comes up.
                        dropped += 1;
                        continue;
                    }
                    let id = HostId(self.next_host);
                    let d = self.act(|s, now| s.host_ready(planned, id, now))?;
                    self.next_host += 1;
                    ready += 1;
                    merge(&mut agg, d);
                }
                Job::CompleteMove(to) => {
                    if !self.s.moves_in_flight().iter().any(|m| m.to == to) {
                        continue; // aborted meanwhile
                    }
                    let (running, app) = match self.s.instance(to) {
                        Some(v) => (
                            matches!(v.status, InstanceStatus::Placed { .. }),
                            Some(v.app),
                        ),
                        None => (false, None),
                    };
                    if running {
                        let d = self.act(|s, now| s.complete_move(to, now))?;
                        completed += 1;
                        if let Some(app) = app {
                            *completed_by_app.entry(app).or_default() += 1;
                        }
                        merge(&mut agg, d);
                    } else {
                        // Its host is not up yet: look again later.
                        let later = t.saturating_add(self.sc.move_seconds.saturating_mul(1000));
                        self.enqueue(later, Job::CompleteMove(to));
                    }
                    // After the last move completed at this time, plan the
                    // next rebalance steps.
                    let more_now = self
                        .queue
                        .first_key_value()
                        .is_some_and(|(&(t2, _), j)| t2 == t && matches!(j, Job::CompleteMove(_)));
                    if !more_now {
                        let d = self.act(|s, now| s.rebalance(now))?;
                        if !d.moves.is_empty() {
                            rounds += 1;
                        }
                        merge(&mut agg, d);
                    }
                }
            }
        }
        self.clock = target;
        let outcome = self.outcome(&agg, None, true, &completed_by_app);
        self.push(EventKind::Wait(WaitStep {
            seconds,
            hosts_ready: ready,
            hosts_dropped: dropped,
            moves_completed: completed,
            rebalance_rounds: rounds,
            outcome,
        }));
        Ok(())
    }

    fn zone_instances(&self, zone: &ZoneId) -> usize {
        self.s
            .host_ids()
            .filter_map(|h| self.s.host(h))
            .filter(|h| &h.zone == zone)
            .map(|h| h.instances.len())
            .sum()
    }

    fn activity(&mut self, app: &AppId, kind: MeterKind) -> Res<ActivityStep> {
        let tenant = self
            .s
            .app(app)
            .map(|a| a.tenant.clone())
            .ok_or_else(|| trimline::Error::UnknownApp(app.clone()).to_string())?;
        let now = self.tick();
        let mut n = 0;
        for i in self.s.app_instances(app) {
            let running = matches!(
                self.s.instance(i).map(|v| v.status),
                Some(InstanceStatus::Placed { .. })
            );
            if !running {
                continue;
            }
            let e = MeterEvent {
                id: EventId::derived(i, &kind, now, 0).map_err(err)?,
                tenant: tenant.clone(),
                app: app.clone(),
                instance: i,
                at: now,
                kind: kind.clone(),
                source: None,
            };
            let _ = self.meter.ingest(&e, now).map_err(err)?;
            n += 1;
        }
        Ok(ActivityStep {
            app: app.clone(),
            instances: n,
        })
    }

    fn bill(&mut self) -> Res<()> {
        let end = self.tick();
        let report = self.meter.close_period(end, end).map_err(err)?;
        let invoices: Vec<Invoice> = report
            .invoices
            .iter()
            .map(|inv| Invoice {
                tenant: inv.tenant.clone(),
                total_nanos: inv.total_nanos,
                lines: inv
                    .lines
                    .iter()
                    .map(|l| InvoiceLine {
                        app: l.app.clone(),
                        component: l.component,
                        quantity: l.quantity,
                        unit: l.component.unit(),
                        rate_nanos: l.rate_nanos,
                        amount_nanos: l.amount_nanos,
                    })
                    .collect(),
            })
            .collect();
        let scaled_to_zero = self
            .zero_since
            .iter()
            .filter(|(app, _)| self.count(app) == 0 && self.s.app(app).is_some())
            .map(|(app, since)| ScaledToZero {
                app: app.clone(),
                since_ms: *since,
            })
            .collect();
        self.invoices.extend(invoices.iter().cloned());
        self.push(EventKind::Bill(BillStep {
            start_ms: report.period.start.0,
            end_ms: report.period.end.0,
            invoices,
            scaled_to_zero,
        }));
        Ok(())
    }

    // ----- what the calls decided --------------------------------------------

    /// What `d` decided, for the report. `app`: the app the call was about.
    /// `real`: the decisions were carried out (substitutions are recorded
    /// with their facts). `completed`: moves completed per app.
    fn outcome(
        &mut self,
        d: &Decisions,
        app: Option<&AppId>,
        real: bool,
        completed: &BTreeMap<AppId, u64>,
    ) -> Outcome {
        let mut o = Outcome {
            placed: d.placements.len(),
            tentative: d.tentative.len(),
            new_hosts: d.provisions.iter().map(|p| u64::from(p.count)).sum(),
            removed: d.removals.len(),
            pending: d.pending.len(),
            provisions: d.provisions.clone(),
            shortfalls: d.shortfalls.clone(),
            unplaced: d.unplaced.clone(),
            cancellations: d.cancellations.clone(),
            skew_violations: d.skew_violations.clone(),
            ..Outcome::default()
        };
        // The cold-start mix of a scale step, when the scenario plans for
        // cold starts (the app names images, or offerings have figures).
        let cold = app
            .and_then(|a| self.s.app(a))
            .is_some_and(|a| !a.images.is_empty())
            || !self.s.offering_figures().is_empty();
        if cold && app.is_some() && d.placements.len() + d.tentative.len() > 0 {
            o.cold_start = Some(self.s.cold_start_mix(d));
        }

        // Substitutions, grouped by app, zone, SKU, kind and note; the
        // placements on planned hosts that came up apart.
        let mut groups: BTreeMap<String, Substitution> = BTreeMap::new();
        let mut ready: BTreeMap<(AppId, ZoneId, SkuId), (HostsReady, BTreeSet<HostId>)> =
            BTreeMap::new();
        for row in notes(d) {
            if is_earlier(&row) {
                let key = (row.app.clone(), row.zone.clone(), row.note.sku.clone());
                let e = ready.entry(key).or_insert_with(|| {
                    (
                        HostsReady {
                            app: row.app.clone(),
                            zone: row.zone.clone(),
                            sku: row.note.sku.clone(),
                            substitutes_for: row.note.requested.clone(),
                            hosts: 0,
                            instances: 0,
                        },
                        BTreeSet::new(),
                    )
                });
                e.0.instances += row.instances;
                if let Some(h) = row.note.planned_host {
                    e.1.insert(h);
                }
                continue;
            }
            let key = sub_key(&row);
            let g = groups.entry(key).or_insert_with(|| Substitution {
                at_ms: self.clock,
                app: row.app.clone(),
                zone: row.zone.clone(),
                kind: row.kind,
                sku: row.note.sku.clone(),
                substitutes_for: row.note.requested.clone(),
                tier: row.note.tier,
                instances: 0,
                new_hosts: 0,
                reason: row.note.to_string(),
                note: (*row.note).clone(),
                facts: Vec::new(),
            });
            g.instances += row.instances;
            g.new_hosts += row.hosts;
        }
        for (key, mut g) in groups {
            if real {
                g.facts = self.facts.remove(&key).unwrap_or_default();
                self.substitutions.push(g.clone());
            }
            o.substitutions.push(g);
        }
        if real {
            self.facts.clear();
        }
        o.earlier_substitutions = ready
            .into_values()
            .map(|(mut r, hosts)| {
                r.hosts = hosts.len() as u64;
                r
            })
            .collect();

        // Evictions, by app and cause, with examples under their own group.
        let kind = |c: &EvictionCause| std::mem::discriminant(c);
        for e in &d.evictions {
            match o
                .evictions
                .iter_mut()
                .find(|g| g.app == e.app && kind(&g.cause) == kind(&e.cause))
            {
                Some(g) => {
                    g.instances += 1;
                    if g.examples.len() < EXAMPLES
                        && matches!(e.cause, EvictionCause::Preempted { .. })
                    {
                        g.examples.push(e.clone());
                    }
                }
                None => o.evictions.push(EvictionGroup {
                    app: e.app.clone(),
                    cause: e.cause.clone(),
                    instances: 1,
                    examples: if matches!(e.cause, EvictionCause::Preempted { .. }) {
                        vec![e.clone()]
                    } else {
                        Vec::new()
                    },
                }),
            }
        }
        o.evictions.sort_by(|a, b| {
            (&a.app, format!("{:?}", kind(&a.cause)))
                .cmp(&(&b.app, format!("{:?}", kind(&b.cause))))
        });

        // Moves, by app, reason and zones; per app, started, completed and
        // in flight.
        let zone_of = |h: HostId| self.s.host(h).map(|v| v.zone);
        for m in &d.moves {
            let (from, to) = (zone_of(m.from_host), zone_of(m.to_host));
            match o.moves.iter_mut().find(|g| {
                g.app == m.app && g.reason == m.reason && g.from_zone == from && g.to_zone == to
            }) {
                Some(g) => g.moves += 1,
                None => o.moves.push(MoveGroup {
                    app: m.app.clone(),
                    reason: m.reason,
                    from_zone: from,
                    to_zone: to,
                    moves: 1,
                }),
            }
        }
        let in_flight = self.s.moves_in_flight();
        let mut move_apps: Vec<AppId> = Vec::new();
        for a in d.moves.iter().map(|m| &m.app).chain(completed.keys()) {
            if !move_apps.contains(a) {
                move_apps.push(a.clone());
            }
        }
        for a in move_apps {
            let spec = self.s.app(&a);
            let reason = d.moves.iter().find(|m| m.app == a).map(|m| m.reason);
            let budget = spec.map_or(0, |s| match reason {
                Some(MoveReason::ReturnToPreferred) => s.substitution.disruption_budget,
                _ => s.spread.disruption_budget,
            });
            let flying = in_flight
                .iter()
                .filter(|m| self.s.instance(m.to).is_some_and(|v| v.app == a))
                .count() as u64;
            o.move_totals.push(MoveTotals {
                started: d.moves.iter().filter(|m| m.app == a).count() as u64,
                completed: completed.get(&a).copied().unwrap_or(0),
                in_flight: flying,
                budget,
                app: a,
            });
        }

        // Why instances wait: the first pending instance per app.
        let mut seen = BTreeSet::new();
        for p in &d.pending {
            if seen.insert(p.app.clone()) {
                o.waiting.push(p.clone());
            }
        }

        // NUMA placement, for apps that ask for one node.
        for p in d
            .placements
            .iter()
            .filter(|p| {
                self.s
                    .app(&p.app)
                    .is_some_and(|a| a.numa == NumaPolicy::SingleNode)
            })
            .take(EXAMPLES * 2)
        {
            let nodes = self.s.host(p.host).map_or_else(Vec::new, |v| {
                v.nodes
                    .iter()
                    .map(|n| NodeUse {
                        rigid_cpu_millis: n.rigid.cpu_millis().into(),
                        cpu_millis: n.capacity.cpu_millis().into(),
                        rigid_memory_mib: n.rigid.memory_mib().into(),
                        memory_mib: n.capacity.memory_mib().into(),
                    })
                    .collect()
            });
            o.numa_placements.push(NumaPlacement {
                placement: p.clone(),
                nodes,
            });
        }

        // Where the apps involved are now.
        if real {
            let apps: Vec<AppId> = match app {
                Some(a) => vec![a.clone()],
                None => {
                    let mut apps: Vec<AppId> = Vec::new();
                    for a in d
                        .moves
                        .iter()
                        .map(|m| &m.app)
                        .chain(d.evictions.iter().map(|e| &e.app))
                    {
                        if !apps.contains(a) {
                            apps.push(a.clone());
                        }
                    }
                    apps
                }
            };
            for a in apps {
                let zones = self
                    .s
                    .app_zone_counts(&a)
                    .into_iter()
                    .map(|(zone, instances)| ZoneCount { zone, instances })
                    .collect();
                o.per_zone.push(AppZones { app: a, zones });
            }
        }
        o
    }

    /// Record, right after a call, the state behind each substitution note
    /// it returned, through the public views only: per SKU and zone the
    /// note names, its running and planned hosts and how many of them have
    /// room for one more instance of the app, its offering, and its
    /// verdict; and the chosen SKU's verdict.
    fn note_facts(&mut self, d: &Decisions, now: Timestamp) {
        let mut seen = BTreeSet::new();
        for row in notes(d) {
            if is_earlier(&row) {
                continue;
            }
            let key = sub_key(&row);
            if !seen.insert(key.clone()) {
                continue;
            }
            let Some(spec) = self.s.app(row.app) else {
                continue;
            };
            let fits = |free: &Resources| spec.resources.fits_in(free);
            let verdicts = self
                .s
                .explain_substitution(row.app, row.zone)
                .unwrap_or_default();
            let verdict = |sku: &SkuId| {
                verdicts
                    .iter()
                    .find(|v| &v.sku == sku)
                    .map(|v| v.verdict.clone())
            };
            let offerings = self.s.offerings();
            // Hosts the call ordered for warm pools come after its
            // placements: they were not there when the note was made.
            let pool: BTreeSet<HostId> = d
                .provisions
                .iter()
                .filter(|p| p.reason == ProvisionReason::WarmPool)
                .flat_map(|p| p.hosts.iter().copied())
                .collect();
            let mut entries = Vec::new();
            for p in &row.note.passed_over {
                let hosts = p.zone.as_ref().map(|z| {
                    let mut f = HostFacts {
                        running_hosts: 0,
                        running_with_room: 0,
                        planned_hosts: 0,
                        planned_with_room: 0,
                        offering: offerings
                            .iter()
                            .find(|o| o.sku == p.sku && &o.zone == z)
                            .map(|o| OfferingFacts {
                                stock: o.stock,
                                planned: o.planned,
                                backoff_until: o.backoff_until,
                            }),
                    };
                    for h in self.s.host_ids() {
                        let Some(v) = self.s.host(h) else { continue };
                        if v.sku != p.sku || &v.zone != z || pool.contains(&h) {
                            continue;
                        }
                        let room = v.state != HostState::Cordoned
                            && match spec.numa {
                                NumaPolicy::SingleNode => v.nodes.iter().any(|n| fits(&n.free)),
                                _ => fits(&v.free),
                            };
                        if v.state == HostState::Planned {
                            f.planned_hosts += 1;
                            f.planned_with_room += u32::from(room);
                        } else {
                            f.running_hosts += 1;
                            f.running_with_room += u32::from(room);
                        }
                    }
                    f
                });
                entries.push(PassedOverFacts {
                    sku: p.sku.clone(),
                    zone: p.zone.clone(),
                    verdict: verdict(&p.sku),
                    hosts,
                });
            }
            let fact = NoteFacts {
                at_ms: now.as_millis(),
                chosen_verdict: verdict(&row.note.sku),
                passed_over: entries,
            };
            self.facts.entry(key).or_default().push(fact);
        }
    }

    // ----- utilisation ---------------------------------------------------------

    fn zone_rows(&self) -> Vec<ZoneRow> {
        let mut by_zone: BTreeMap<&ZoneId, Usage> = BTreeMap::new();
        let views: Vec<HostView> = self.s.host_ids().filter_map(|h| self.s.host(h)).collect();
        for v in &views {
            add(by_zone.entry(&v.zone).or_default(), usage_of(v));
        }
        self.s
            .zones()
            .map(|(z, state)| ZoneRow {
                zone: z.clone(),
                state,
                usage: by_zone.get(z).copied().unwrap_or_default(),
            })
            .collect()
    }

    fn sku_rows(&self) -> Vec<SkuRow> {
        let mut by_sku: BTreeMap<SkuId, Usage> = BTreeMap::new();
        for v in self.s.host_ids().filter_map(|h| self.s.host(h)) {
            add(by_sku.entry(v.sku.clone()).or_default(), usage_of(&v));
        }
        self.s
            .skus()
            .map(|k| SkuRow {
                sku: k.id.clone(),
                arch: k.arch,
                usage: by_sku.get(&k.id).copied().unwrap_or_default(),
            })
            .collect()
    }

    fn numa_memory(&self) -> Vec<NumaMemoryRow> {
        let mut rows: Vec<NumaMemoryRow> = Vec::new();
        for k in self.s.skus() {
            let mut row = NumaMemoryRow {
                sku: k.id.clone(),
                hosts: 0,
                nodes_per_host: 0,
                node_memory_mib: 0,
                fullest_node_mib: 0,
                full_nodes: 0,
                over_nodes: 0,
                nodes: 0,
            };
            for v in self.s.host_ids().filter_map(|h| self.s.host(h)) {
                if v.sku != k.id {
                    continue;
                }
                row.hosts += 1;
                row.nodes_per_host = v.nodes.len();
                for n in &v.nodes {
                    let cap = u64::from(n.capacity.memory_mib());
                    let held =
                        u64::from(n.rigid.memory_mib()) + u64::from(n.best_effort.memory_mib());
                    row.node_memory_mib = cap;
                    row.nodes += 1;
                    row.fullest_node_mib = row.fullest_node_mib.max(held);
                    row.full_nodes += u64::from(held >= cap);
                    row.over_nodes += u64::from(held > cap);
                }
            }
            if row.hosts > 0 {
                rows.push(row);
            }
        }
        rows
    }
}

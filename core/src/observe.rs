//! Observability: the audit log, counters, the metrics exposition and
//! promise versus delivery.
//!
//! The core does no I/O, so it keeps the data and the embedder serves it:
//!
//! * **Audit log.** Every call that decides something appends one
//!   [`AuditRecord`] per decision, in the order of the call's
//!   [`Decisions`] display (evictions and preemptions, cancellations,
//!   removals, placements, tentative placements, provisions, moves,
//!   pending, not re-placed, shortfalls, skew violations), plus a
//!   [`BackOff`] when a failed provisioning backs its offering off. Each
//!   record carries the call's `now` and a sequence number that grows by
//!   one per record, from 1. The log is bounded
//!   ([`Scheduler::set_audit_capacity`], default [`DEFAULT_AUDIT_CAPACITY`]
//!   records; 0 turns it off): when it is full, the oldest record is
//!   dropped and counted ([`AuditBatch::dropped`]), so the log never grows
//!   without limit and a reader sees the gap in the sequence numbers.
//!   [`Scheduler::drain_audit`] hands the records over; when to drain is
//!   the embedder's call. The records' serde shape is versioned by
//!   [`AUDIT_FORMAT`] and described by `core/schema/audit.schema.json`.
//!   The log keeps a placement compact (ids, zone and SKU indices, NUMA
//!   nodes as a mask, the decision's shared substitution note) in a ring
//!   of fixed-size slots that never moves a record and, at its bound,
//!   overwrites the oldest; the full record is rendered when drained. So
//!   logging a placement copies a few words, allocates nothing past the
//!   ring's chunks and formats nothing.
//! * **Copies.** A copy of the scheduler ([`Scheduler::dry_run`]'s, an
//!   all-or-nothing [`Scheduler::place_batch`]'s trial, `Clone`) does not
//!   copy the log's records: it starts with an empty log with the same
//!   bound, whose sequence numbers go on from the original's. A dry run's
//!   records are thrown away with its copy, so it never appends to the
//!   real log; a trial that succeeds appends its records to the real log
//!   as if they had been made there.
//! * **Counters** ([`Counters`]), kept whether or not the log is on:
//!   [`Counters::apply`] folds records into counters, so replaying a
//!   drained log from the start rebuilds [`Scheduler::counters`] exactly.
//! * **Metrics** ([`Scheduler::metrics_text`]): the counters and gauges of
//!   the current state (utilisation and stranded capacity per zone, SKU and
//!   dimension, pending instances by reason, moves in flight) as
//!   OpenMetrics text, each family with `# HELP` and `# TYPE`, rendered by
//!   the `prometheus-client` crate into a `String`. Placement latency is
//!   measured by the embedder and passed in
//!   ([`Scheduler::record_placement_latency`]).
//! * **Promise versus delivery** ([`Scheduler::delivery`]): per app, what
//!   it asked for against what it got.
//!
//! None of this is in snapshots: a restored scheduler starts with an empty
//! log and zero counters.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::decision::{
    Cancellation, Decisions, Eviction, EvictionCause, PendingInstance, Placement, Provision,
    Shortfall, SkewViolation, Unplaced,
};
use crate::error::Error;
use crate::explain::{Constraint, PendingReason};
use crate::ids::{AppId, HostId, InstanceId, SkuId, ZoneId};
use crate::migration::{Move, MoveReason};
use crate::resources::{DIMENSIONS, Dimension, Resources};
use crate::scheduler::{HostState, InstanceState, Scheduler};
use crate::time::Timestamp;

/// The version of the audit records' serde shape, in every
/// [`AuditBatch`]. It changes when a field is removed or changes meaning;
/// new record kinds and new optional fields keep it.
pub const AUDIT_FORMAT: u32 = 1;

/// Records the audit log holds unless [`Scheduler::set_audit_capacity`]
/// says otherwise.
pub const DEFAULT_AUDIT_CAPACITY: usize = 65_536;

/// One decision, when it was made and its place in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AuditRecord {
    /// Sequence number: 1 for the scheduler's first record, one more for
    /// each next one (dropped records keep theirs, so a gap shows a drop).
    pub seq: u64,
    /// The `now` of the call that made the decision.
    pub at: Timestamp,
    /// The decision.
    pub event: AuditEvent,
}

/// A decision in the audit log. The payloads are the decisions' own types,
/// so a record says exactly what the call returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditEvent {
    /// An instance placed on a running host. A substitution carries its
    /// rule trail in `substitution`.
    Placement(Placement),
    /// An instance placed tentatively on a planned host.
    Tentative(Placement),
    /// Best-effort instances evicted for one rigid instance.
    Preemption(Preemption),
    /// An instance taken off its host for another cause than preemption:
    /// an evacuation (`zone_down`, `host_failed`), a removed host or a
    /// failed provisioning.
    Eviction(Eviction),
    /// An instance that could not be placed, with the counts of its
    /// explanation.
    Pending(PendingInstance),
    /// An instance deleted.
    Removal(crate::decision::Removal),
    /// Hosts to provision.
    Provision(Provision),
    /// Planned hosts dropped.
    Cancellation(Cancellation),
    /// A move planned (back to a preferred SKU, or rebalancing zones).
    Move(Move),
    /// Evacuated instances that could not be re-placed.
    Unplaced(Unplaced),
    /// Instances that neither fit nor could be provisioned for.
    Shortfall(Shortfall),
    /// Instances placed against their app's spread policy.
    SkewViolation(SkewViolation),
    /// An offering backed off after a failed provisioning.
    BackOff(BackOff),
}

/// Best-effort instances evicted to make room for one rigid instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Preemption {
    /// The rigid instance that needed the room.
    pub by: InstanceId,
    /// The host the room was made on.
    pub host: HostId,
    /// The evicted instances, in eviction order.
    pub victims: Vec<Eviction>,
}

/// A failed provisioning backed its offering off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BackOff {
    /// The offering's zone.
    pub zone: ZoneId,
    /// The offering's SKU.
    pub sku: SkuId,
    /// Consecutive failures, this one included.
    pub failures: u32,
    /// The offering is not tried again before this time.
    pub until: Timestamp,
}

/// Drained audit records with what the log lost.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AuditBatch {
    /// [`AUDIT_FORMAT`] of the records.
    pub format: u32,
    /// Records dropped at the bound since the scheduler was created or
    /// restored, in total.
    pub dropped: u64,
    /// The records, oldest first.
    pub records: Vec<AuditRecord>,
}

/// The bounded audit log (see the [module docs](self)): a ring of compact
/// records, rendered into [`AuditRecord`]s when drained.
///
/// A placement is kept as ids and indices (instance, host, app, zone and
/// SKU index, NUMA nodes as a mask, the shared substitution note), so
/// appending one copies a few words and frees nothing; other decisions,
/// which are rare on the hot path, are kept boxed as their full event.
/// The ring is stored in chunks of [`CHUNK`] slots allocated as it fills
/// (growing copies no record beyond the first chunk's); once at its bound
/// it overwrites its oldest slot.
///
/// Cloning a log gives an empty log with the same bound, sequence number
/// and dropped count: a copy of a scheduler (a dry run, a trial batch)
/// does not copy the records, and its own records go where it puts them
/// ([`AuditLog::append`]) or nowhere.
#[derive(Debug)]
pub(crate) struct AuditLog {
    /// The slots, [`CHUNK`] to a chunk; every chunk but the last is full.
    /// In the order records were made, starting at `head`.
    chunks: Vec<Vec<Slot>>,
    /// Slots held.
    len: usize,
    /// The oldest record's slot (0 until the ring wraps; then `len` is
    /// `capacity`).
    head: usize,
    capacity: usize,
    next_seq: u64,
    dropped: u64,
}

/// Slots per chunk of the ring.
const CHUNK: usize = 4096;

/// One record as the log keeps it.
#[derive(Debug)]
struct Slot {
    at: Timestamp,
    entry: Entry,
}

#[derive(Debug)]
enum Entry {
    /// A placement (running or tentative), compact.
    Placed(Placed),
    /// Any other decision, as its event.
    Other(Box<AuditEvent>),
}

/// A [`Placement`] as ids and indices.
#[derive(Debug)]
struct Placed {
    instance: InstanceId,
    host: HostId,
    app: AppId,
    /// Shared with the decision (a reference count, and only for a
    /// substitution).
    substitution: Option<std::sync::Arc<crate::substitution::SubstitutionNote>>,
    /// Zone index (zones are never removed, so it stays valid).
    zone: u32,
    /// SKU index (SKUs are never removed).
    sku: u32,
    /// Bit `n` set: NUMA node `n` (nodes are below 16, listed ascending).
    numa: u16,
    /// Image bytes the placement expects to pull.
    pull_bytes: u64,
    /// On a planned host.
    tentative: bool,
}

impl Default for AuditLog {
    fn default() -> Self {
        AuditLog {
            chunks: Vec::new(),
            len: 0,
            head: 0,
            capacity: DEFAULT_AUDIT_CAPACITY,
            next_seq: 1,
            dropped: 0,
        }
    }
}

impl Clone for AuditLog {
    /// An empty log that goes on from this one (see [`AuditLog`]).
    fn clone(&self) -> Self {
        AuditLog {
            chunks: Vec::new(),
            len: 0,
            head: 0,
            capacity: self.capacity,
            next_seq: self.next_seq,
            dropped: self.dropped,
        }
    }
}

/// NUMA nodes as a mask, when they are below 16 and ascending (as
/// placement lists them), so that the mask renders them back unchanged.
fn numa_mask(nodes: &[u8]) -> Option<u16> {
    let mut mask = 0u16;
    for &n in nodes {
        if n >= 16 || (mask >> n) != 0 {
            return None;
        }
        mask |= 1 << n;
    }
    Some(mask)
}

fn numa_nodes(mask: u16) -> smallvec::SmallVec<[u8; 2]> {
    (0..16u8).filter(|n| mask & (1 << n) != 0).collect()
}

impl AuditLog {
    /// Whether records are kept (the bound is above 0).
    #[inline]
    fn on(&self) -> bool {
        self.capacity > 0
    }

    /// Records held.
    fn len(&self) -> usize {
        self.len
    }

    /// Append a record; with the log off (capacity 0), nothing happens.
    /// At the bound the oldest slot is overwritten and counted as dropped.
    #[inline]
    fn push(&mut self, at: Timestamp, entry: Entry) {
        if self.capacity == 0 {
            return;
        }
        self.next_seq = self.next_seq.saturating_add(1);
        let slot = Slot { at, entry };
        if self.len < self.capacity {
            self.put(slot);
        } else {
            if let Some(old) = self
                .chunks
                .get_mut(self.head / CHUNK)
                .and_then(|c| c.get_mut(self.head % CHUNK))
            {
                *old = slot;
            }
            self.head += 1;
            if self.head >= self.len {
                self.head = 0;
            }
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// Add a slot at the end of a ring that has not wrapped.
    #[inline]
    fn put(&mut self, slot: Slot) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(slot),
            _ => {
                // The first chunk starts small and doubles up to CHUNK
                // (a small log reserves little); the next are whole.
                let want = if self.chunks.is_empty() { 64 } else { CHUNK };
                let mut c = Vec::with_capacity(want.min(self.capacity - self.len));
                c.push(slot);
                self.chunks.push(c);
            }
        }
        self.len += 1;
    }

    /// Take every slot out, oldest first, leaving the ring empty.
    fn take(&mut self) -> Vec<Slot> {
        let mut slots: Vec<Slot> = Vec::with_capacity(self.len);
        for c in std::mem::take(&mut self.chunks) {
            slots.extend(c);
        }
        slots.rotate_left(self.head);
        self.len = 0;
        self.head = 0;
        slots
    }

    fn set_capacity(&mut self, capacity: usize) {
        let slots = self.take();
        let over = slots.len().saturating_sub(capacity);
        self.dropped = self.dropped.saturating_add(over as u64);
        self.capacity = capacity;
        for slot in slots.into_iter().skip(over) {
            self.put(slot);
        }
    }

    /// Take the records of `other`, a clone of this log that went on from
    /// it (a trial whose state is kept), as if they had been appended
    /// here: what `other` dropped is dropped here too, and the sequence
    /// numbers go on from `other`'s.
    pub(crate) fn append(&mut self, other: &mut AuditLog) {
        let lost = other.dropped.saturating_sub(self.dropped);
        self.dropped = self.dropped.saturating_add(lost);
        self.next_seq = self.next_seq.saturating_add(lost);
        for slot in other.take() {
            self.push(slot.at, slot.entry);
        }
    }
}

/// A count under a label (a pending reason, a move reason).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LabelCount {
    /// The label.
    pub label: String,
    /// How many.
    pub count: u64,
}

/// Placements on one SKU that stand in for another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubstitutionCount {
    /// The SKU the app asked for, or the first more preferred SKU passed
    /// over; `""` when the decision names neither.
    pub from: String,
    /// The SKU chosen.
    pub to: SkuId,
    /// Placements (running or tentative).
    pub count: u64,
}

/// Failed provisionings of one offering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OfferingCount {
    /// The offering's zone.
    pub zone: ZoneId,
    /// The offering's SKU.
    pub sku: SkuId,
    /// How many.
    pub count: u64,
}

/// Totals of the decisions made since the scheduler was created or
/// restored. Lists are sorted by their labels.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counters {
    /// Instances placed on running hosts.
    pub placements: u64,
    /// Instances placed tentatively on planned hosts.
    pub tentative_placements: u64,
    /// Pending decisions by reason: for "no host fits", the constraint
    /// that ruled out the most hosts (`capacity_cpu`, `zone_spread`, ...;
    /// `no_hosts` when there were none); otherwise the event that made
    /// the instance pending (`preempted`, `zone_down`, ...).
    pub pending: Vec<LabelCount>,
    /// Placements on a substitute SKU (not counting a planned host's
    /// instances becoming placements: their choice was counted when they
    /// were placed tentatively).
    pub substitutions: Vec<SubstitutionCount>,
    /// Best-effort instances preempted.
    pub preemptions: u64,
    /// Instances evacuated from a lost zone or a failed host.
    pub evacuations: u64,
    /// Instances evicted because their host was removed or their planned
    /// host could not be provisioned.
    pub other_evictions: u64,
    /// Instances deleted.
    pub removals: u64,
    /// Hosts requested by provisions.
    pub provisioned_hosts: u64,
    /// Planned hosts cancelled.
    pub cancelled_hosts: u64,
    /// Moves planned, by reason (`return_to_preferred`, `rebalance`).
    pub moves: Vec<LabelCount>,
    /// Evacuated instances that could not be re-placed.
    pub unplaced: u64,
    /// Instances short (neither placed nor provisioned for).
    pub shortfall_instances: u64,
    /// Instances placed against their app's spread policy.
    pub skew_violations: u64,
    /// Failed provisionings (stock-outs) per offering, each backing the
    /// offering off.
    pub stock_outs: Vec<OfferingCount>,
}

fn bump_label(list: &mut Vec<LabelCount>, label: &str, by: u64) {
    match list.binary_search_by(|c| c.label.as_str().cmp(label)) {
        Ok(i) => list[i].count = list[i].count.saturating_add(by),
        Err(i) => list.insert(
            i,
            LabelCount {
                label: label.to_owned(),
                count: by,
            },
        ),
    }
}

impl Counters {
    /// Fold one record in. Replaying every record of a scheduler's log
    /// from the start into [`Counters::default`] gives its
    /// [`Scheduler::counters`].
    pub fn apply(&mut self, record: &AuditRecord) {
        self.apply_event(&record.event);
    }

    pub(crate) fn apply_event(&mut self, event: &AuditEvent) {
        match event {
            AuditEvent::Placement(p) => self.placement(p, true),
            AuditEvent::Tentative(p) => self.placement(p, false),
            AuditEvent::Preemption(p) => {
                self.preemptions = self.preemptions.saturating_add(p.victims.len() as u64)
            }
            AuditEvent::Eviction(e) => self.eviction(e),
            AuditEvent::Pending(p) => bump_label(&mut self.pending, pending_label(&p.reason), 1),
            AuditEvent::Removal(_) => self.removals = self.removals.saturating_add(1),
            AuditEvent::Provision(p) => {
                self.provisioned_hosts = self.provisioned_hosts.saturating_add(p.hosts.len() as u64)
            }
            AuditEvent::Cancellation(c) => {
                self.cancelled_hosts = self.cancelled_hosts.saturating_add(c.hosts.len() as u64)
            }
            AuditEvent::Move(m) => bump_label(&mut self.moves, move_label(m.reason), 1),
            AuditEvent::Unplaced(u) => {
                self.unplaced = self.unplaced.saturating_add(u64::from(u.instances))
            }
            AuditEvent::Shortfall(s) => {
                self.shortfall_instances = self
                    .shortfall_instances
                    .saturating_add(u64::from(s.instances))
            }
            AuditEvent::SkewViolation(v) => {
                self.skew_violations = self.skew_violations.saturating_add(u64::from(v.instances))
            }
            AuditEvent::BackOff(b) => {
                let list = &mut self.stock_outs;
                match list.binary_search_by(|c| (&c.zone, &c.sku).cmp(&(&b.zone, &b.sku))) {
                    Ok(i) => list[i].count = list[i].count.saturating_add(1),
                    Err(i) => list.insert(
                        i,
                        OfferingCount {
                            zone: b.zone.clone(),
                            sku: b.sku.clone(),
                            count: 1,
                        },
                    ),
                }
            }
        }
    }

    /// One placement (running or tentative): an increment, and a lookup
    /// only for a substitution.
    fn placement(&mut self, p: &Placement, running: bool) {
        if running {
            self.placements = self.placements.saturating_add(1);
        } else {
            self.tentative_placements = self.tentative_placements.saturating_add(1);
        }
        if let Some(note) = &p.substitution {
            self.substitution(note);
        }
    }

    /// A placement on a substitute SKU. Kept out of line: rare.
    #[cold]
    #[inline(never)]
    fn substitution(&mut self, note: &crate::substitution::SubstitutionNote) {
        if note.planned_host.is_some() {
            return;
        }
        let from = note
            .requested
            .as_ref()
            .or_else(|| note.passed_over.first().map(|o| &o.sku))
            .map_or("", |s| s.as_str());
        let list = &mut self.substitutions;
        match list.binary_search_by(|c| (c.from.as_str(), &c.to).cmp(&(from, &note.sku))) {
            Ok(i) => list[i].count = list[i].count.saturating_add(1),
            Err(i) => list.insert(
                i,
                SubstitutionCount {
                    from: from.to_owned(),
                    to: note.sku.clone(),
                    count: 1,
                },
            ),
        }
    }

    fn eviction(&mut self, e: &Eviction) {
        let n = match e.cause {
            EvictionCause::Preempted { .. } => &mut self.preemptions,
            EvictionCause::ZoneDown | EvictionCause::HostFailed => &mut self.evacuations,
            EvictionCause::HostRemoved | EvictionCause::ProvisionFailed => {
                &mut self.other_evictions
            }
        };
        *n = n.saturating_add(1);
    }
}

/// The label of a pending reason (see [`Counters::pending`]).
pub fn pending_label(reason: &PendingReason) -> &'static str {
    match reason {
        PendingReason::NoFit(e) => {
            // The constraint that ruled out the most hosts; the first in
            // constraint order on a tie.
            let mut best: Option<(u32, Constraint)> = None;
            for r in &e.ruled_out {
                if best.is_none_or(|(n, _)| r.hosts > n) {
                    best = Some((r.hosts, r.constraint));
                }
            }
            best.map_or("no_hosts", |(_, c)| constraint_label(c))
        }
        PendingReason::Preempted { .. } => "preempted",
        PendingReason::HostRemoved { .. } => "host_removed",
        PendingReason::ProvisionFailed { .. } => "provision_failed",
        PendingReason::ZoneDown { .. } => "zone_down",
        PendingReason::HostFailed { .. } => "host_failed",
    }
}

/// A constraint's snake_case name; a capacity constraint names its
/// dimension (`capacity_cpu`).
fn constraint_label(c: Constraint) -> &'static str {
    match c {
        Constraint::ZoneNotAllowed => "zone_not_allowed",
        Constraint::ZoneDown => "zone_down",
        Constraint::ZoneDraining => "zone_draining",
        Constraint::Arch => "arch",
        Constraint::Features => "features",
        Constraint::PerfScore => "perf_score",
        Constraint::AcceleratorModel => "accelerator_model",
        Constraint::LocalDisk => "local_disk",
        Constraint::Price => "price",
        Constraint::MemoryRatio => "memory_ratio",
        Constraint::Oversize => "oversize",
        Constraint::NotInTiers => "not_in_tiers",
        Constraint::ZoneSpread => "zone_spread",
        Constraint::HostCordoned => "host_cordoned",
        Constraint::Capacity(Dimension::Cpu) => "capacity_cpu",
        Constraint::Capacity(Dimension::Memory) => "capacity_memory",
        Constraint::Capacity(Dimension::Network) => "capacity_network",
        Constraint::Capacity(Dimension::Accelerators) => "capacity_accelerators",
        Constraint::NumaNode => "numa_node",
        Constraint::Isolation => "isolation",
    }
}

fn move_label(r: MoveReason) -> &'static str {
    match r {
        MoveReason::ReturnToPreferred => "return_to_preferred",
        MoveReason::Rebalance => "rebalance",
        MoveReason::Consolidate => "consolidate",
    }
}

// ----- waiting times --------------------------------------------------------

/// Sub-buckets per doubling of the wait histograms: a percentile is
/// reported as its bucket's upper bound, within 1/8 (12.5%) of the value.
const SUB_BUCKETS: u64 = 8;

/// How long an app's instances waited between becoming pending and being
/// placed, as a log-linear histogram in milliseconds (bounded: at most
/// 8 buckets per doubling of 64 bits).
#[derive(Clone, Debug, Default)]
pub(crate) struct Waits {
    buckets: Vec<u32>,
}

fn wait_bucket(ms: u64) -> usize {
    if ms < SUB_BUCKETS {
        return ms as usize;
    }
    let e = 63 - u64::from(ms.leading_zeros()); // ms >= 8, so e >= 3
    let sub = (ms >> (e - 3)) & (SUB_BUCKETS - 1);
    ((e - 2) * SUB_BUCKETS + sub) as usize
}

/// The largest value of a bucket.
fn wait_bucket_max(ix: usize) -> u64 {
    let ix = ix as u64;
    if ix < SUB_BUCKETS {
        return ix;
    }
    let e = ix / SUB_BUCKETS + 2;
    let sub = ix % SUB_BUCKETS;
    let lo = (SUB_BUCKETS + sub) << (e - 3);
    lo.saturating_add((1u64 << (e - 3)) - 1)
}

impl Waits {
    /// One instance placed after waiting `ms`.
    pub(crate) fn record(&mut self, ms: u64) {
        let ix = wait_bucket(ms);
        if self.buckets.len() <= ix {
            self.buckets.resize(ix + 1, 0);
        }
        self.buckets[ix] = self.buckets[ix].saturating_add(1);
    }

    /// One instance placed in the call that created it.
    #[inline]
    pub(crate) fn record_zero(&mut self) {
        match self.buckets.first_mut() {
            Some(b) => *b = b.saturating_add(1),
            None => self.buckets.push(1),
        }
    }
}

// ----- the scheduler's part --------------------------------------------------

/// What the scheduler keeps for observability (not in snapshots).
#[derive(Clone, Debug, Default)]
pub(crate) struct Observer {
    pub(crate) log: AuditLog,
    pub(crate) counters: Counters,
    /// When each instance on a planned host began to wait (its wait ends
    /// when the host is ready).
    pub(crate) tentative_since: std::collections::BTreeMap<InstanceId, Timestamp>,
    latency: LatencyHistogram,
}

/// Upper bounds of the placement latency buckets, in seconds.
const LATENCY_BOUNDS: [f64; 16] = [
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2,
    5e-2, 1e-1,
];

#[derive(Clone, Debug, Default)]
struct LatencyHistogram {
    /// Per bucket of [`LATENCY_BOUNDS`], then +Inf (not cumulative).
    counts: [u64; LATENCY_BOUNDS.len() + 1],
    sum_nanos: u128,
}

/// Preemptions (one record per rigid instance and host, with its
/// victims) and other evictions, counted and logged.
fn audit_evictions(obs: &mut Observer, at: Timestamp, logging: bool, evictions: &[Eviction]) {
    let mut i = 0;
    while i < evictions.len() {
        let e = &evictions[i];
        if let EvictionCause::Preempted { by } = e.cause {
            let mut j = i + 1;
            while j < evictions.len()
                && evictions[j].host == e.host
                && evictions[j].cause == e.cause
            {
                j += 1;
            }
            let event = AuditEvent::Preemption(Preemption {
                by,
                host: e.host,
                victims: evictions[i..j].to_vec(),
            });
            obs.counters.apply_event(&event);
            obs.log.push(at, Entry::Other(Box::new(event)));
            i = j;
        } else {
            obs.counters.eviction(e);
            if logging {
                obs.log
                    .push(at, Entry::Other(Box::new(AuditEvent::Eviction(e.clone()))));
            }
            i += 1;
        }
    }
}

/// Count and log the decisions of a kind that is rare on the hot path.
#[inline]
fn each<T: Clone>(
    obs: &mut Observer,
    at: Timestamp,
    logging: bool,
    items: &[T],
    wrap: impl Fn(T) -> AuditEvent,
) {
    if items.is_empty() {
        return;
    }
    for item in items {
        let event = wrap(item.clone());
        obs.counters.apply_event(&event);
        if logging {
            obs.log.push(at, Entry::Other(Box::new(event)));
        }
    }
}

impl Scheduler {
    /// Record one decision outside [`Decisions`] (a back-off).
    pub(crate) fn audit_event(&mut self, event: AuditEvent) {
        self.observe.counters.apply_event(&event);
        let at = self.now;
        self.observe.log.push(at, Entry::Other(Box::new(event)));
    }

    /// Count a call's decisions and append them to the audit log. Called
    /// once at the end of every call that returns [`Decisions`].
    pub(crate) fn audit_decisions(&mut self, out: &Decisions) {
        let at = self.now;
        let obs = &mut self.observe;
        let logging = obs.log.on();
        if !out.evictions.is_empty() {
            audit_evictions(obs, at, logging, &out.evictions);
        }
        each(
            obs,
            at,
            logging,
            &out.cancellations,
            AuditEvent::Cancellation,
        );
        each(obs, at, logging, &out.removals, AuditEvent::Removal);
        // Placements, the hot path: count them by list, and log ids and
        // indices.
        let c = &mut obs.counters;
        c.placements = c.placements.saturating_add(out.placements.len() as u64);
        c.tentative_placements = c
            .tentative_placements
            .saturating_add(out.tentative.len() as u64);
        for (list, tentative) in [(&out.placements, false), (&out.tentative, true)] {
            for p in list {
                if let Some(note) = &p.substitution {
                    obs.counters.substitution(note);
                }
                if logging {
                    let entry = match (self.hosts.get(&p.host), numa_mask(&p.numa_nodes)) {
                        // Placements name their host's zone and SKU; a
                        // standby's is kept whole, with its mark.
                        (Some(h), Some(numa)) if p.standby.is_none() => Entry::Placed(Placed {
                            instance: p.instance,
                            host: p.host,
                            app: p.app.clone(),
                            substitution: p.substitution.clone(),
                            // Indices fit in u32: the limits bound the
                            // zones and SKUs far below.
                            zone: h.zone() as u32,
                            sku: h.sku() as u32,
                            numa,
                            pull_bytes: p.pull_bytes,
                            tentative,
                        }),
                        _ => Entry::Other(Box::new(if tentative {
                            AuditEvent::Tentative(p.clone())
                        } else {
                            AuditEvent::Placement(p.clone())
                        })),
                    };
                    obs.log.push(at, entry);
                }
            }
        }
        each(obs, at, logging, &out.provisions, AuditEvent::Provision);
        each(obs, at, logging, &out.moves, AuditEvent::Move);
        each(obs, at, logging, &out.pending, AuditEvent::Pending);
        each(obs, at, logging, &out.unplaced, AuditEvent::Unplaced);
        each(obs, at, logging, &out.shortfalls, AuditEvent::Shortfall);
        each(
            obs,
            at,
            logging,
            &out.skew_violations,
            AuditEvent::SkewViolation,
        );
    }

    /// Keep the state of `trial`, a copy of this scheduler that went on
    /// from it (an all-or-nothing batch that succeeded), with this
    /// scheduler's audit log followed by the copy's records.
    pub(crate) fn adopt(&mut self, mut trial: Scheduler) {
        let mut log = std::mem::take(&mut self.observe.log);
        log.append(&mut trial.observe.log);
        trial.observe.log = log;
        *self = trial;
    }

    /// The full event of a kept record.
    fn render(&self, entry: Entry) -> AuditEvent {
        match entry {
            Entry::Other(event) => *event,
            Entry::Placed(p) => {
                #[allow(clippy::expect_used)]
                // Invariant: the index was read from a host's SKU, and
                // SKUs are never removed.
                let sku = self
                    .skus
                    .get_index(p.sku as usize)
                    .map(|(id, _)| id.clone())
                    .expect("SKU indices are valid: SKUs are never removed");
                let placement = Placement {
                    instance: p.instance,
                    app: p.app,
                    host: p.host,
                    zone: self.zone_id(p.zone as usize).clone(),
                    sku,
                    numa_nodes: numa_nodes(p.numa),
                    substitution: p.substitution,
                    pull_bytes: p.pull_bytes,
                    standby: None,
                };
                if p.tentative {
                    AuditEvent::Tentative(placement)
                } else {
                    AuditEvent::Placement(placement)
                }
            }
        }
    }

    /// Hand over the audit log's records, oldest first, leaving it empty.
    /// The records are rendered here, from the compact form the log keeps.
    ///
    /// ```
    /// # use trimline::*;
    /// let mut s = Scheduler::default();
    /// let batch = s.drain_audit();
    /// assert_eq!((batch.format, batch.records.len()), (observe::AUDIT_FORMAT, 0));
    /// ```
    pub fn drain_audit(&mut self) -> AuditBatch {
        let log = &mut self.observe.log;
        let slots = log.take();
        let first = log.next_seq.saturating_sub(slots.len() as u64);
        let dropped = log.dropped;
        let records = slots
            .into_iter()
            .zip(first..)
            .map(|(slot, seq)| AuditRecord {
                seq,
                at: slot.at,
                event: self.render(slot.entry),
            })
            .collect();
        AuditBatch {
            format: AUDIT_FORMAT,
            dropped,
            records,
        }
    }

    /// Records in the audit log now.
    pub fn audit_len(&self) -> usize {
        self.observe.log.len()
    }

    /// Most records the audit log holds (0: the log is off).
    pub fn audit_capacity(&self) -> usize {
        self.observe.log.capacity
    }

    /// Bound the audit log to `capacity` records. Records beyond a smaller
    /// bound are dropped, oldest first, and counted in
    /// [`AuditBatch::dropped`]. 0 turns the log off: decisions are then
    /// neither recorded nor counted as dropped, and sequence numbers go on
    /// from where they were when it is turned on again; the
    /// [`Counters`] are kept either way.
    pub fn set_audit_capacity(&mut self, capacity: usize) {
        self.observe.log.set_capacity(capacity);
    }

    /// The decision totals since the scheduler was created or restored.
    pub fn counters(&self) -> &Counters {
        &self.observe.counters
    }

    /// Count one placement call's latency, measured by the embedder, in
    /// the `trimline_placement_latency_seconds` histogram.
    pub fn record_placement_latency(&mut self, nanos: u64) {
        let h = &mut self.observe.latency;
        let secs = nanos as f64 / 1e9;
        let ix = LATENCY_BOUNDS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BOUNDS.len());
        h.counts[ix] = h.counts[ix].saturating_add(1);
        h.sum_nanos = h.sum_nanos.saturating_add(u128::from(nanos));
    }
}

// ----- metrics -----------------------------------------------------------------

mod exposition {
    //! The metric families, as data, encoded by `prometheus-client`.

    use prometheus_client::collector::Collector;
    use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
    use prometheus_client::metrics::MetricType;

    pub(super) type Labels = Vec<(&'static str, String)>;

    #[derive(Debug)]
    pub(super) enum Samples {
        Counter(Vec<(Labels, u64)>),
        Gauge(Vec<(Labels, f64)>),
        Histogram {
            sum: f64,
            count: u64,
            buckets: Vec<(f64, u64)>,
        },
    }

    #[derive(Debug)]
    pub(super) struct Family {
        pub(super) name: &'static str,
        pub(super) help: &'static str,
        pub(super) samples: Samples,
    }

    #[derive(Debug)]
    pub(super) struct Families(pub(super) Vec<Family>);

    impl Collector for Families {
        fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
            for f in &self.0 {
                match &f.samples {
                    Samples::Counter(s) => {
                        let mut m =
                            encoder.encode_descriptor(f.name, f.help, None, MetricType::Counter)?;
                        for (labels, v) in s {
                            m.encode_family(labels)?
                                .encode_counter::<NoLabelSet, _, u64>(v, None)?;
                        }
                    }
                    Samples::Gauge(s) => {
                        let mut m =
                            encoder.encode_descriptor(f.name, f.help, None, MetricType::Gauge)?;
                        for (labels, v) in s {
                            m.encode_family(labels)?.encode_gauge(v)?;
                        }
                    }
                    Samples::Histogram {
                        sum,
                        count,
                        buckets,
                    } => {
                        let mut m = encoder.encode_descriptor(
                            f.name,
                            f.help,
                            None,
                            MetricType::Histogram,
                        )?;
                        m.encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)?;
                    }
                }
            }
            Ok(())
        }
    }
}

use exposition::{Families, Family, Labels, Samples};

fn counter(name: &'static str, help: &'static str, samples: Vec<(Labels, u64)>) -> Family {
    Family {
        name,
        help,
        samples: Samples::Counter(samples),
    }
}

fn gauge(name: &'static str, help: &'static str, samples: Vec<(Labels, f64)>) -> Family {
    Family {
        name,
        help,
        samples: Samples::Gauge(samples),
    }
}

impl Scheduler {
    /// The metrics as OpenMetrics text exposition (which Prometheus
    /// scrapes), every family with `# HELP` and `# TYPE`, ending in
    /// `# EOF`. Counters are the [`Scheduler::counters`]; gauges are read
    /// from the state now. Capacity gauges count running hosts (ready or
    /// cordoned), per zone, SKU and dimension, in the dimension's unit;
    /// *stranded* capacity is free capacity on hosts where another
    /// dimension has less room than the smallest request of any app.
    /// The cost is one pass over hosts and pending instances.
    ///
    /// ```
    /// # use trimline::*;
    /// let text = Scheduler::default().metrics_text();
    /// assert!(text.contains("# TYPE trimline_placements counter"));
    /// assert!(text.contains("trimline_placements_total 0"));
    /// assert!(text.ends_with("# EOF\n"));
    /// ```
    pub fn metrics_text(&self) -> String {
        let c = &self.observe.counters;
        let none = || Vec::new();
        let one = |v: u64| vec![(none(), v)];
        let mut fams = vec![
            counter(
                "trimline_placements",
                "Instances placed on running hosts.",
                one(c.placements),
            ),
            counter(
                "trimline_tentative_placements",
                "Instances placed tentatively on planned hosts.",
                one(c.tentative_placements),
            ),
            counter(
                "trimline_pending_decisions",
                "Pending decisions, by reason (the constraint that ruled out the most hosts, or the event).",
                c.pending
                    .iter()
                    .map(|l| (vec![("reason", l.label.clone())], l.count))
                    .collect(),
            ),
            counter(
                "trimline_substitutions",
                "Placements on a substitute SKU, by the SKU stood in for and the SKU chosen.",
                c.substitutions
                    .iter()
                    .map(|s| {
                        (
                            vec![("from", s.from.clone()), ("to", s.to.to_string())],
                            s.count,
                        )
                    })
                    .collect(),
            ),
            counter(
                "trimline_preemptions",
                "Best-effort instances preempted by rigid ones.",
                one(c.preemptions),
            ),
            counter(
                "trimline_evacuations",
                "Instances evacuated from a lost zone or a failed host.",
                one(c.evacuations),
            ),
            counter("trimline_removals", "Instances deleted.", one(c.removals)),
            counter(
                "trimline_provisioned_hosts",
                "Hosts requested by provisions.",
                one(c.provisioned_hosts),
            ),
            counter(
                "trimline_cancelled_hosts",
                "Planned hosts cancelled.",
                one(c.cancelled_hosts),
            ),
            counter(
                "trimline_moves",
                "Moves planned, by reason.",
                c.moves
                    .iter()
                    .map(|l| (vec![("reason", l.label.clone())], l.count))
                    .collect(),
            ),
            counter(
                "trimline_stock_outs",
                "Failed provisionings, by offering.",
                c.stock_outs
                    .iter()
                    .map(|o| {
                        (
                            vec![("zone", o.zone.to_string()), ("sku", o.sku.to_string())],
                            o.count,
                        )
                    })
                    .collect(),
            ),
            counter(
                "trimline_audit_dropped",
                "Audit records dropped at the log's bound.",
                one(self.observe.log.dropped),
            ),
            gauge(
                "trimline_audit_records",
                "Audit records waiting to be drained.",
                vec![(none(), self.observe.log.len() as f64)],
            ),
            gauge(
                "trimline_moves_in_flight",
                "Moves whose replacement runs beside the original.",
                vec![(none(), self.moves.len() as f64)],
            ),
        ];
        fams.push(gauge(
            "trimline_pending_instances",
            "Instances pending now, by reason.",
            self.pending_by_reason(),
        ));
        fams.extend(self.capacity_families());
        let h = &self.observe.latency;
        let mut buckets: Vec<(f64, u64)> = LATENCY_BOUNDS
            .iter()
            .zip(h.counts.iter())
            .map(|(b, n)| (*b, *n))
            .collect();
        buckets.push((f64::INFINITY, h.counts[LATENCY_BOUNDS.len()]));
        fams.push(Family {
            name: "trimline_placement_latency_seconds",
            help: "Placement call latency, as measured and passed in by the embedder.",
            samples: Samples::Histogram {
                sum: h.sum_nanos as f64 / 1e9,
                count: h.counts.iter().sum(),
                buckets,
            },
        });
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(Families(fams)));
        let mut text = String::new();
        // Writing to a String cannot fail, and every family is encodable
        // (the histogram has buckets); on an error the text written so far
        // is returned.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }

    fn pending_by_reason(&self) -> Vec<(Labels, f64)> {
        let mut counts: Vec<LabelCount> = Vec::new();
        for (_, _, id) in &self.pending {
            if let Some(InstanceState::Pending {
                reason: Some(r), ..
            }) = self.instances.get(id).map(|i| &i.state)
            {
                bump_label(&mut counts, pending_label(r), 1);
            }
        }
        counts
            .into_iter()
            .map(|l| (vec![("reason", l.label)], l.count as f64))
            .collect()
    }

    /// Capacity, allocated, utilisation and stranded gauges per zone, SKU
    /// and dimension.
    fn capacity_families(&self) -> Vec<Family> {
        // The smallest request of any app per dimension (0: none asks).
        let mut smallest = [0u32; DIMENSIONS];
        for a in self.apps.values() {
            for d in Dimension::ALL {
                let r = a.spec.resources.get(d);
                let s = &mut smallest[d as usize];
                if r > 0 && (*s == 0 || r < *s) {
                    *s = r;
                }
            }
        }
        // (zone, sku) -> per dimension [capacity, allocated, stranded]
        let mut pools: std::collections::BTreeMap<(usize, usize), [[u64; 3]; DIMENSIONS]> =
            Default::default();
        for h in self.hosts.values() {
            if h.state == HostState::Planned {
                continue;
            }
            let Some((_, sku)) = self.skus.get_index(h.sku()) else {
                continue;
            };
            let cap = sku.allocatable;
            let used = h.used.iter().fold(Resources::ZERO, |acc, u| {
                // Within the node's capacity (the rigid invariant).
                let node = u.rigid.checked_add(&u.best_effort).unwrap_or(u.rigid);
                acc.checked_add(&node).unwrap_or(acc)
            });
            let free = cap.saturating_sub(&used);
            let starved = |d: Dimension| {
                Dimension::ALL.iter().any(|&e| {
                    e != d && smallest[e as usize] > 0 && free.get(e) < smallest[e as usize]
                })
            };
            let pool = pools.entry((h.zone(), h.sku())).or_default();
            for d in Dimension::ALL {
                let p = &mut pool[d as usize];
                p[0] += u64::from(cap.get(d));
                p[1] += u64::from(used.get(d).min(cap.get(d)));
                if starved(d) {
                    p[2] += u64::from(free.get(d));
                }
            }
        }
        let mut capacity = Vec::new();
        let mut allocated = Vec::new();
        let mut utilisation = Vec::new();
        let mut stranded = Vec::new();
        for ((zone, sku), dims) in &pools {
            let zone = self.zone_id(*zone).to_string();
            let sku = self
                .skus
                .get_index(*sku)
                .map_or_else(String::new, |(id, _)| id.to_string());
            for d in Dimension::ALL {
                let [cap, used, strand] = dims[d as usize];
                if cap == 0 {
                    continue;
                }
                let labels = vec![
                    ("zone", zone.clone()),
                    ("sku", sku.clone()),
                    ("dimension", d.name().to_owned()),
                ];
                capacity.push((labels.clone(), cap as f64));
                allocated.push((labels.clone(), used as f64));
                utilisation.push((labels.clone(), used as f64 / cap as f64));
                stranded.push((labels, strand as f64));
            }
        }
        vec![
            gauge(
                "trimline_capacity",
                "Allocatable capacity of running hosts (cpu in millicores, memory in MiB, network in Mbit/s, accelerators).",
                capacity,
            ),
            gauge(
                "trimline_allocated",
                "Capacity allocated to instances on running hosts, in the dimension's unit.",
                allocated,
            ),
            gauge(
                "trimline_utilisation_ratio",
                "Allocated over allocatable capacity of running hosts.",
                utilisation,
            ),
            gauge(
                "trimline_stranded",
                "Free capacity on running hosts where another dimension lacks room for the smallest request of any app.",
                stranded,
            ),
        ]
    }
}

// ----- promise versus delivery ---------------------------------------------------

/// Instances of an app on one SKU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SkuDelivery {
    /// The SKU.
    pub sku: SkuId,
    /// Placed instances on it (tentative ones included).
    pub instances: u32,
    /// Its per-vCPU performance score relative to the request, in percent
    /// (the requested SKU's score, or else the app's `min_perf_score`);
    /// `None` when the app names neither.
    pub perf_percent: Option<u32>,
    /// Whether the SKU stands in for the one requested (or for the app's
    /// more preferred tiers).
    pub substitute: bool,
}

/// Promise versus delivery for one app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AppDelivery {
    /// The app.
    pub app: AppId,
    /// What each instance was promised.
    pub requested: Resources,
    /// The SKU asked for, if any.
    pub requested_sku: Option<SkuId>,
    /// Placed instances (tentative ones included).
    pub placed: u32,
    /// Instances on planned hosts, waiting for them.
    pub tentative: u32,
    /// Pending instances.
    pub pending: u32,
    /// Placed instances per SKU, in catalog order.
    pub skus: Vec<SkuDelivery>,
    /// Placed instances on one NUMA node.
    pub numa_local: u32,
    /// Placed instances spanning NUMA nodes.
    pub numa_split: u32,
    /// Placed instances on a substitute SKU.
    pub substitutions: u32,
    /// Median time spent waiting, in milliseconds: from when an instance
    /// was created or evicted to when it was placed on a running host (a
    /// tentative placement on a planned host waits until the host is
    /// ready), over the instances placed since the scheduler was created
    /// or restored and those still waiting (their wait so far); a
    /// bucket's upper bound, within 12.5%. `None` with no instance.
    pub pending_p50_ms: Option<u64>,
    /// 99th percentile of the same.
    pub pending_p99_ms: Option<u64>,
    /// The app's skew now (see [`Scheduler::skew`]).
    pub skew: u32,
    /// Its limit.
    pub max_skew: Option<u32>,
}

impl Scheduler {
    /// Promise versus delivery for `app` at `now` (for the waits of
    /// pending instances).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownApp`].
    pub fn delivery(&self, app: &AppId, now: Timestamp) -> Result<AppDelivery, Error> {
        let ix = self
            .apps
            .get_index_of(app)
            .ok_or_else(|| Error::UnknownApp(app.clone()))?;
        Ok(self.delivery_of(ix, now))
    }

    /// [`Scheduler::delivery`] for every app, in declaration order.
    pub fn deliveries(&self, now: Timestamp) -> Vec<AppDelivery> {
        (0..self.apps.len())
            .map(|ix| self.delivery_of(ix, now))
            .collect()
    }

    fn delivery_of(&self, ix: usize, now: Timestamp) -> AppDelivery {
        let a = &self.apps[ix];
        let spec = &a.spec;
        let reference = spec
            .sku
            .as_ref()
            .and_then(|s| self.skus.get(s))
            .map(|s| s.perf_score)
            .or((spec.min_perf_score > 0).then_some(spec.min_perf_score));
        let mut per_sku: Vec<u32> = vec![0; self.skus.len()];
        let mut d = AppDelivery {
            app: spec.id.clone(),
            requested: spec.resources,
            requested_sku: spec.sku.clone(),
            placed: 0,
            tentative: 0,
            pending: 0,
            skus: Vec::new(),
            numa_local: 0,
            numa_split: 0,
            substitutions: 0,
            pending_p50_ms: None,
            pending_p99_ms: None,
            skew: self.skew_of(ix),
            max_skew: spec.spread.max_skew,
        };
        let mut waits = a.waits.clone();
        for id in &a.instances {
            let Some(inst) = self.instances.get(id) else {
                continue;
            };
            match &inst.state {
                InstanceState::Placed { host, parts } => {
                    d.placed += 1;
                    if host.is_planned() {
                        d.tentative += 1;
                        if let Some(since) = self.observe.tentative_since.get(id) {
                            waits.record(now.0.saturating_sub(since.0));
                        }
                    }
                    if parts.len() > 1 {
                        d.numa_split += 1;
                    } else {
                        d.numa_local += 1;
                    }
                    if let Some(h) = self.hosts.get(host) {
                        per_sku[h.sku()] += 1;
                    }
                }
                InstanceState::Pending { since, .. } => {
                    d.pending += 1;
                    waits.record(now.0.saturating_sub(since.0));
                }
            }
        }
        for (sku_ix, n) in per_sku.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let Some((id, sku)) = self.skus.get_index(sku_ix) else {
                continue;
            };
            // As placement decides it: a tier above 0, or not the SKU
            // requested.
            let requested = spec.sku.as_ref().and_then(|r| self.skus.get(r));
            let substitute = spec.sku.as_ref().is_some_and(|r| r != id)
                || crate::substitution::tier_of(spec, requested, sku) != Ok(0);
            if substitute {
                d.substitutions += n;
            }
            d.skus.push(SkuDelivery {
                sku: id.clone(),
                instances: *n,
                perf_percent: reference
                    .map(|r| (u64::from(sku.perf_score) * 100 / u64::from(r.max(1))) as u32),
                substitute,
            });
        }
        d.pending_p50_ms = waits.percentile(50);
        d.pending_p99_ms = waits.percentile(99);
        d
    }
}

impl Waits {
    /// The `p`th percentile (nearest rank), as its bucket's upper bound.
    fn percentile(&self, p: u64) -> Option<u64> {
        let total: u64 = self.buckets.iter().map(|b| u64::from(*b)).sum();
        if total == 0 {
            return None;
        }
        let rank = (total * p).div_ceil(100).max(1);
        let mut seen = 0u64;
        for (ix, b) in self.buckets.iter().enumerate() {
            seen += u64::from(*b);
            if seen >= rank {
                return Some(wait_bucket_max(ix));
            }
        }
        None
    }
}

impl fmt::Display for AppDelivery {
    /// `web: promised cpu 4000m, memory 8192 MiB; 3 placed (…), 1 pending`
    /// and so on, on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: promised {}", self.app, self.requested)?;
        if let Some(s) = &self.requested_sku {
            write!(f, " like {s}")?;
        }
        write!(f, "; {} placed", self.placed)?;
        for s in &self.skus {
            write!(f, ", {} on {}", s.instances, s.sku)?;
            if let Some(p) = s.perf_percent {
                write!(f, " at {p}% per vCPU")?;
            }
            if s.substitute {
                f.write_str(" (substitute)")?;
            }
        }
        write!(
            f,
            "; {} pending; NUMA-local {}/{}",
            self.pending, self.numa_local, self.placed
        )?;
        if let (Some(p50), Some(p99)) = (self.pending_p50_ms, self.pending_p99_ms) {
            write!(f, "; pending p50 {p50} ms, p99 {p99} ms")?;
        }
        write!(f, "; skew {}", self.skew)?;
        if let Some(m) = self.max_skew {
            write!(f, " of {m}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_buckets_bound_their_values_within_an_eighth() {
        for ms in [
            0u64,
            1,
            7,
            8,
            9,
            15,
            16,
            17,
            100,
            1_000,
            65_535,
            180_000,
            u64::MAX,
        ] {
            let ix = wait_bucket(ms);
            let max = wait_bucket_max(ix);
            assert!(max >= ms, "{ms}: bucket {ix} tops at {max}");
            assert!(max - ms <= ms / 8, "{ms}: bucket {ix} tops at {max}");
            if ix > 0 {
                assert!(wait_bucket_max(ix - 1) < ms, "{ms}");
            }
        }
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let mut w = Waits::default();
        assert_eq!(w.percentile(50), None);
        for _ in 0..98 {
            w.record_zero();
        }
        w.record(1_000);
        w.record(60_000);
        assert_eq!(w.percentile(50), Some(0));
        assert_eq!(w.percentile(99), Some(wait_bucket_max(wait_bucket(1_000))));
        assert_eq!(
            w.percentile(100),
            Some(wait_bucket_max(wait_bucket(60_000)))
        );
    }

    #[test]
    fn the_log_drops_the_oldest_at_its_bound_and_counts_them() {
        let mut log = AuditLog::default();
        log.set_capacity(2);
        for t in 0..5 {
            log.push(Timestamp(t), other());
        }
        // Seq 4 and 5 (at 3 and 4) are kept, in the ring's order.
        let ats = times(&log);
        assert_eq!((ats, log.dropped, log.next_seq), (vec![3, 4], 3, 6));
        log.set_capacity(0);
        log.push(Timestamp(9), other());
        assert_eq!((log.len(), log.dropped, log.next_seq), (0, 5, 6));
    }

    #[test]
    fn a_clone_starts_empty_and_appending_it_continues_the_log() {
        let mut log = AuditLog::default();
        log.set_capacity(3);
        log.push(Timestamp(1), other());
        log.push(Timestamp(2), other());
        let mut trial = log.clone();
        assert_eq!((trial.len(), trial.next_seq, trial.capacity), (0, 3, 3));
        for t in 3..6 {
            trial.push(Timestamp(t), other());
        }
        log.append(&mut trial);
        // As if the five had been pushed here: the last three kept.
        let ats = times(&log);
        assert_eq!((ats, log.dropped, log.next_seq), (vec![3, 4, 5], 2, 6));
        // A trial that overflowed its own ring: its drops count here too.
        let mut trial = log.clone();
        for t in 6..10 {
            trial.push(Timestamp(t), other());
        }
        log.append(&mut trial);
        let ats = times(&log);
        assert_eq!((ats, log.dropped, log.next_seq), (vec![7, 8, 9], 6, 10));
    }

    #[test]
    fn numa_masks_render_back_only_ascending_nodes() {
        for nodes in [vec![], vec![0], vec![3], vec![0, 1], vec![2, 7, 15]] {
            let mask = numa_mask(&nodes);
            assert_eq!(mask.map(|m| numa_nodes(m).to_vec()), Some(nodes));
        }
        assert_eq!(numa_mask(&[1, 0]), None);
        assert_eq!(numa_mask(&[1, 1]), None);
        assert_eq!(numa_mask(&[16]), None);
    }

    /// The times of the records held, oldest first.
    fn times(log: &AuditLog) -> Vec<u64> {
        let mut ats: Vec<u64> = log.chunks.iter().flatten().map(|s| s.at.0).collect();
        ats.rotate_left(log.head);
        ats
    }

    #[test]
    fn the_ring_spans_chunks_and_wraps_across_them() {
        let mut log = AuditLog::default();
        log.set_capacity(CHUNK + 3);
        for t in 0..(2 * CHUNK as u64 + 10) {
            log.push(Timestamp(t), other());
        }
        let kept: Vec<u64> = (CHUNK as u64 + 7..2 * CHUNK as u64 + 10).collect();
        assert_eq!(log.chunks.len(), 2);
        assert_eq!((times(&log), log.dropped), (kept.clone(), CHUNK as u64 + 7));
        // Shrinking keeps the newest.
        log.set_capacity(2);
        assert_eq!(times(&log), kept[kept.len() - 2..].to_vec());
    }

    fn other() -> Entry {
        Entry::Other(Box::new(AuditEvent::Unplaced(unplaced())))
    }

    fn unplaced() -> Unplaced {
        Unplaced {
            app: "a".parse().unwrap_or_else(|_| unreachable!()),
            instances: 1,
            resources: Default::default(),
        }
    }
}

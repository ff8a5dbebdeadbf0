//! # trimline: a scheduling core for rigid capacity delivery
//!
//! trimline decides where instances run so that every instance gets exactly
//! the CPU, memory, network bandwidth and accelerators it was promised: on no
//! host and no NUMA node does the sum of allocations ever exceed the
//! allocatable capacity, in any dimension.
//!
//! **What it does not do.** No I/O: it reads no clock, opens no file or
//! socket, reads no environment, starts no thread and draws no OS
//! randomness. Time is an argument ([`Timestamp`]); decisions are returned
//! as data ([`Decisions`]) for the embedder to carry out. The same calls
//! give the same decisions and the same [`Snapshot`], byte for byte.
//!
//! ```text
//!   embedder                               trimline::Scheduler
//!   ────────                               ───────────────────
//!   add_sku / add_zone / add_host ───────▶ catalog, topology, host index
//!   add_app, place / place_batch / scale ─▶ ┐
//!   reconcile(now), set_*_state, remove_* ─▶ ┘─▶ Decisions { placements,
//!                                               evictions, pending, removals }
//!   snapshot() / restore() ◀─────────────▶ Snapshot (serde)
//! ```
//!
//! ## A guided tour
//!
//! Six steps, each one call: (1) declare the region (zones, the SKU
//! catalog, hosts), (2) declare an app and what each instance needs,
//! (3) ask with a dry run whether a scale-out fits, (4) scale for real and
//! read why what does not fit waits, (5) let capacity appear and see the
//! waiting instance placed, (6) audit the invariants and snapshot the state.
//! Every call that changes something takes `now` and returns
//! [`Decisions`] for the embedder to carry out.
//!
//! ```
//! use trimline::*;
//!
//! // 1. The region: a zone, a SKU with two NUMA nodes, two hosts.
//! let mut s = Scheduler::new(Config::default());
//! s.add_zone("zone-a".parse()?, ZoneState::Up, Timestamp(0))?;
//! s.add_sku(SkuSpec {
//!     id: "ecs.g7.4xlarge".parse()?,
//!     family: "g7".parse()?,
//!     generation: 7,
//!     arch: Arch::X86_64,
//!     cpu_vendor: "intel".parse()?,
//!     allocatable: Resources::cpu_mem(16_000, 65_536)?.with_network(10_000)?,
//!     perf_score: 100,
//!     // Two NUMA nodes, half of everything on each.
//!     numa_nodes: vec![Resources::cpu_mem(8_000, 32_768)?.with_network(5_000)?; 2],
//!     features: Default::default(),
//!     accelerator_model: None,
//!     local_disk: None,
//!     price_nanos_per_second: 180_000,
//! }, Timestamp(0))?;
//! for id in 1..=2 {
//!     let d = s.add_host(
//!         HostSpec { id: HostId(id), sku: "ecs.g7.4xlarge".parse()?, zone: "zone-a".parse()? },
//!         Timestamp(0),
//!     )?;
//!     assert!(d.is_empty());
//! }
//!
//! // 2. An app: 8 vCPU and 32 GiB per instance, all on one NUMA node.
//! let erp_id: AppId = "erp".parse()?;
//! let mut erp = AppSpec::new(erp_id.clone(), "acme".parse()?, Resources::cpu_mem(8_000, 32_768)?);
//! erp.numa = NumaPolicy::SingleNode; // the whole instance on one NUMA node
//! s.add_app(erp, Timestamp(0))?;
//!
//! // 3. Will four instances fit? Ask without changing anything.
//! let plan = s.dry_run(|s| s.scale(&erp_id, 4, Timestamp(10)))?;
//! assert_eq!(plan.placements.len(), 4);
//! assert_eq!(s.instance_count(), 0);
//!
//! // 4. A fifth does not: it stays pending, and the reason counts the hosts.
//! let d = s.scale(&erp_id, 5, Timestamp(10))?;
//! assert_eq!(d.placements.len(), 4);
//! assert_eq!(d.pending[0].reason.to_string(), "0/2 hosts fit: cpu: 2 hosts");
//!
//! // 5. Capacity appears: the pending instance lands on the new host.
//! let d = s.add_host(
//!     HostSpec { id: HostId(3), sku: "ecs.g7.4xlarge".parse()?, zone: "zone-a".parse()? },
//!     Timestamp(20),
//! )?;
//! assert_eq!(d.placements[0].host, HostId(3));
//!
//! // 6. Nothing is overcommitted, and snapshots restore exactly.
//! s.check_invariants()?;
//! let restored = Scheduler::restore(s.snapshot())?;
//! assert_eq!(restored.snapshot(), s.snapshot());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Where to read on
//!
//! * The demo (`cargo run --release -p trimline-sim -- demo`) plays the
//!   four failures on a region of close to two thousand hosts, and
//!   `cargo run --release -p trimline-sim -- simulate FILE.json` plays your
//!   own scenario; the README documents the format. The runner behind both
//!   is the `trimline-sim` library, a reference embedder of this crate.
//! * [`Scheduler`]: every call, with what it retries and when.
//! * [`placement`]: the score, the candidate search and preemption.
//! * [`index`](crate#the-host-index): the host index (below).
//! * [`Explanation`]: how a "no" counts the hosts each constraint ruled out.
//! * [`metering`]: per-second metering with exact integer money: lifecycle
//!   events in (the scheduler's [`Decisions`] among them), usage records and
//!   invoices out, each rounded once.
//! * [`zones`]: spreading with a skew limit, one evacuation plan per lost
//!   zone or failed host, rebalance when a zone returns, and the "survive
//!   any one zone" check.
//!
//! ## The host index
//!
//! Hosts are grouped by (SKU, zone) class; class-level constraints (zone,
//! architecture, features, performance) are decided once per class. Inside
//! a class a tree of fan-out 16 keeps per-dimension maxima of free and
//! reclaimable capacity, compared with a request 16 children at a time in
//! vector instructions, so finding hosts that fit and updating a host after
//! a placement cost O(log hosts), not a scan.
//!
//! ## Guarantees
//!
//! * **Rigid.** No node's allocations exceed its capacity in any dimension;
//!   [`Scheduler::check_invariants`] audits it.
//! * **Transactional.** A call that returns an error changes nothing.
//! * **Deterministic.** Ties are broken by ids; maps keep insertion order.
//! * **Explainable.** Every pending instance carries an [`Explanation`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod app;
mod catalog;
pub mod coldstart;
mod decision;
mod error;
mod error_kind;
mod explain;
mod hash;
mod ids;
mod index;
mod instances;
pub mod isolation;
pub mod limits;
pub mod metering;
pub mod migration;
pub mod observe;
pub mod pack;
pub mod placement;
pub mod provision;
mod query;
pub mod repack;
mod resources;
mod scheduler;
mod snapshot;
pub mod standby;
pub mod substitution;
mod time;
pub mod warmpool;
pub mod zones;

pub use app::{AppError, AppSpec, Isolation, NumaPolicy, QosTier, SpreadPolicy, WhenUnsatisfiable};
pub use catalog::{Arch, MAX_NUMA_NODES, SkuError, SkuSpec};
pub use coldstart::{
    ColdStartError, ColdStartMix, ColdStartRecord, HostImages, ImageRef, OfferingFigures,
    StartBucket,
};
pub use decision::{
    Cancellation, CancellationCause, Decisions, Eviction, EvictionCause, PendingInstance,
    Placement, Provision, ProvisionId, ProvisionReason, Removal, ResourceTotals, Shortfall,
    SkewViolation, Unplaced,
};
pub use error::{Error, RestoreError};
pub use error_kind::ErrorKind;
pub use explain::{Constraint, Explanation, OfferingBlock, PendingReason, RuledOut, SkuRuledOut};
pub use ids::{
    AppId, HostId, ImageDigest, InstanceId, Label, MAX_NAME_LEN, NameError, PLANNED_HOST_BIT,
    SkuId, SourceId, TenantId, ZoneId,
};
pub use index::MAX_CLASS_SLOTS;
pub use limits::{
    Limit, MAX_APPS, MAX_BATCH, MAX_HOSTS, MAX_INSTANCES, MAX_PRICE_TABLES, MAX_SKUS, MAX_TIERS,
    MAX_ZONES,
};
pub use migration::{Move, MoveInFlight, MoveReason};
pub use observe::{AppDelivery, AuditBatch, AuditEvent, AuditRecord, Counters};
pub use provision::{Availability, OfferingView, ProvisionFailure, SkuVerdict, Stock, Verdict};
pub use query::{HostView, InstanceStatus, InstanceView, InvariantViolation, NodeView};
pub use resources::{DIMENSIONS, Dimension, ResourceError, ResourceSpec, Resources};
pub use scheduler::{BatchMode, Config, HostSpec, HostState, Scheduler, ZoneState};
pub use snapshot::{
    HostRecord, InstanceStops, ReplacementHostRecord, SNAPSHOT_FORMAT, Snapshot, ZoneRecord,
};
pub use standby::{StandbyMark, StandbyRecord};
pub use substitution::{
    Admission, MemoryRatio, OnExhaustion, PassReason, PassedOver, PriceCheck, Rejection,
    SubstitutionNote, SubstitutionPolicy,
};
pub use time::Timestamp;
pub use warmpool::{WarmPool, WarmPoolDraw, WarmPoolRecord, WarmPoolView};
pub use zones::ZoneLossReport;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

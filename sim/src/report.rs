//! The report of a run, as typed data ([`Report`], serde-serializable: the
//! JSON report is `serde_json::to_string_pretty(&report)`) and as text for
//! people ([`Report::to_text`], or `Display`), 80 columns wide.
//!
//! Everything in it is either what the core returned (decisions, their
//! substitution notes, pending reasons, shortfalls, verdicts, invoices) or
//! the state read through the core's public views (utilisation, NUMA
//! nodes, skew, the audit). The runner infers no reason and no count.

use std::fmt::{self, Write as _};

use serde::{Serialize, Serializer};
use trimline::metering::Component;
use trimline::*;

/// A whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Its description.
    pub description: String,
    /// The region at the start.
    pub region: Region,
    /// The stories (sections), in order.
    pub stories: Vec<Story>,
    /// Every substitution the run carried out (dry runs excluded), with the
    /// state behind each reason.
    pub substitutions: Vec<Substitution>,
    /// Every invoice of every bill.
    pub invoices: Vec<Invoice>,
    /// The state at the end.
    #[serde(rename = "final")]
    pub final_state: FinalState,
}

/// The region at the start.
#[derive(Clone, Debug, Serialize)]
pub struct Region {
    /// Zones declared.
    pub zones: usize,
    /// Architectures of the catalog.
    pub arches: Vec<Arch>,
    /// Hosts.
    pub hosts: usize,
    /// Apps.
    pub apps: usize,
    /// Per SKU.
    pub skus: Vec<SkuRow>,
}

/// Hosts and how much of their CPU and memory is held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Hosts (running and planned).
    pub hosts: u64,
    /// CPU held, millicores.
    pub cpu_used_millis: u64,
    /// CPU capacity, millicores.
    pub cpu_millis: u64,
    /// Memory held, MiB.
    pub memory_used_mib: u64,
    /// Memory capacity, MiB.
    pub memory_mib: u64,
}

/// A zone's utilisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ZoneRow {
    /// The zone.
    pub zone: ZoneId,
    /// Its state.
    pub state: ZoneState,
    /// Its hosts.
    #[serde(flatten)]
    pub usage: Usage,
}

/// A SKU's utilisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkuRow {
    /// The SKU.
    pub sku: SkuId,
    /// Its architecture.
    pub arch: Arch,
    /// Its hosts.
    #[serde(flatten)]
    pub usage: Usage,
}

/// A section of the report: its events, then an audit of the guarantees.
#[derive(Clone, Debug, Serialize)]
pub struct Story {
    /// Its title (empty for events before the first story).
    pub title: String,
    /// Its paragraph.
    pub text: String,
    /// What happened.
    pub events: Vec<Event>,
    /// The guarantees at its end.
    pub audit: Audit,
    /// Zone utilisation at its end.
    pub zones: Vec<ZoneRow>,
}

/// The guarantees, checked through the public views.
#[derive(Clone, Debug, Serialize)]
pub struct Audit {
    /// `Scheduler::check_invariants` passed.
    pub invariants_ok: bool,
    /// NUMA nodes holding more than their capacity on some dimension.
    pub overcommitted_nodes: u64,
    /// Rigid instances holding other than their app's resources.
    pub rigid_short: u64,
    /// Each app with a skew limit.
    pub skew: Vec<SkewCheck>,
}

impl Audit {
    /// The apps whose skew is over their limit.
    pub fn skew_over_limit(&self) -> impl Iterator<Item = &SkewCheck> {
        self.skew.iter().filter(|k| k.skew > k.max_skew)
    }

    /// Whether every guarantee holds and every app is within its skew limit.
    pub fn all_hold(&self) -> bool {
        self.invariants_ok
            && self.overcommitted_nodes == 0
            && self.rigid_short == 0
            && self.skew_over_limit().next().is_none()
    }
}

/// An app's skew against its limit.
#[derive(Clone, Debug, Serialize)]
pub struct SkewCheck {
    /// The app.
    pub app: AppId,
    /// Its skew (the core's `Scheduler::skew`).
    pub skew: u32,
    /// Its limit.
    pub max_skew: u32,
    /// Its instances.
    pub instances: usize,
    /// Of which pending.
    pub pending: usize,
}

/// One event of the timeline, at a scenario time.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// Scenario time, ms.
    pub at_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub what: EventKind,
}

/// What an event did.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// An app was scaled.
    Scale(ScaleStep),
    /// A dry run of scaling an app.
    DryRun(ScaleStep),
    /// Every SKU's substitution verdict for an app in a zone.
    Explain(ExplainStep),
    /// The cloud's stock changed.
    Stock(StockStep),
    /// Time passed.
    Wait(WaitStep),
    /// A zone was lost.
    ZoneDown(ZoneStep),
    /// A zone came back.
    ZoneUp(ZoneStep),
    /// An app's running instances went idle.
    Idle(ActivityStep),
    /// An app's running instances went active.
    Active(ActivityStep),
    /// What losing each zone now would leave short.
    Survive(SurviveStep),
    /// Utilisation per zone and per SKU.
    Utilisation(UtilisationStep),
    /// Memory held per NUMA node, per SKU.
    NumaMemory(NumaMemoryStep),
    /// A billing period closed.
    Bill(BillStep),
    /// Hosts were freed by a consolidation plan carried out.
    Consolidate(ConsolidateStep),
    /// The metrics exposition.
    Metrics(MetricsStep),
    /// Promise versus delivery, per app.
    Delivery(DeliveryStep),
    /// A warm pool's target was set.
    WarmPool(WarmPoolStep),
}

/// A warm pool's target set in some zones.
#[derive(Clone, Debug, Serialize)]
pub struct WarmPoolStep {
    /// The SKU.
    pub sku: SkuId,
    /// The zones.
    pub zones: Vec<ZoneId>,
    /// Idle hosts to keep in each.
    pub target: u32,
    /// What the calls decided (the hosts ordered for the pool).
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The scheduler's metrics at a point of the timeline.
#[derive(Clone, Debug, Serialize)]
pub struct MetricsStep {
    /// OpenMetrics text exposition ([`Scheduler::metrics_text`]), printed
    /// as it is.
    pub text: String,
}

/// Promise versus delivery at a point of the timeline.
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryStep {
    /// Per app, in declaration order ([`Scheduler::deliveries`]).
    pub apps: Vec<AppDelivery>,
}

/// A scale step or a dry run.
#[derive(Clone, Debug, Serialize)]
pub struct ScaleStep {
    /// The app.
    pub app: AppId,
    /// Its instances before.
    pub from: usize,
    /// The target.
    pub to: u32,
    /// The dry run shown before the real call, if asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<Box<Outcome>>,
    /// Whether the real call decided exactly the dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_as_dry_run: Option<bool>,
    /// What the call decided.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// An explain step.
#[derive(Clone, Debug, Serialize)]
pub struct ExplainStep {
    /// The app.
    pub app: AppId,
    /// The zone.
    pub zone: ZoneId,
    /// The SKU it asks for.
    pub requested: Option<SkuId>,
    /// The core's verdicts, SKU by SKU.
    pub verdicts: Vec<SkuVerdict>,
}

/// A stock change.
#[derive(Clone, Debug, Serialize)]
pub struct StockStep {
    /// The SKU.
    pub sku: SkuId,
    /// The zones.
    pub zones: Vec<ZoneId>,
    /// The new stock.
    pub stock: Stock,
    /// What the calls decided.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Time passing: the runner carried out what was due.
#[derive(Clone, Debug, Serialize)]
pub struct WaitStep {
    /// How long.
    pub seconds: u64,
    /// Planned hosts reported ready (`host_ready`).
    pub hosts_ready: u32,
    /// Planned hosts the core had cancelled before they were due.
    pub hosts_dropped: u32,
    /// Moves completed (`complete_move`).
    pub moves_completed: u32,
    /// `rebalance` calls that planned moves.
    pub rebalance_rounds: u32,
    /// What the calls decided.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// A zone going down or coming back.
#[derive(Clone, Debug, Serialize)]
pub struct ZoneStep {
    /// The zone.
    pub zone: ZoneId,
    /// Instances on its hosts before the call.
    pub instances_before: usize,
    /// What the call decided.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Instances going idle or active.
#[derive(Clone, Debug, Serialize)]
pub struct ActivityStep {
    /// The app.
    pub app: AppId,
    /// Running instances metered.
    pub instances: u32,
}

/// A consolidation plan, carried out.
#[derive(Clone, Debug, Serialize)]
pub struct ConsolidateStep {
    /// Ready hosts carrying instances before.
    pub hosts_before: usize,
    /// Ready hosts carrying instances after.
    pub hosts_after: usize,
    /// Hosts the plans emptied, in the order freed.
    pub freed: Vec<HostId>,
    /// Moves completed.
    pub moves_made: usize,
    /// Calls that started moves (each within the apps' disruption budgets).
    pub rounds: usize,
    /// Plans made (1, plus one per re-plan after a stale move).
    pub plans: usize,
    /// The price of the freed hosts, in nanos per second.
    pub cost_saved_nanos_per_second: u64,
}

/// The core's answer to "could each zone be lost now?".
#[derive(Clone, Debug, Serialize)]
pub struct SurviveStep {
    /// Per zone (`Scheduler::survive_zone_loss`).
    pub zones: Vec<ZoneLossReport>,
}

/// Utilisation tables.
#[derive(Clone, Debug, Serialize)]
pub struct UtilisationStep {
    /// Per zone.
    pub zones: Vec<ZoneRow>,
    /// Per SKU.
    pub skus: Vec<SkuRow>,
}

/// Memory per NUMA node.
#[derive(Clone, Debug, Serialize)]
pub struct NumaMemoryStep {
    /// Per SKU with hosts.
    pub skus: Vec<NumaMemoryRow>,
}

/// Memory held on the NUMA nodes of one SKU's hosts.
#[derive(Clone, Debug, Serialize)]
pub struct NumaMemoryRow {
    /// The SKU.
    pub sku: SkuId,
    /// Its hosts.
    pub hosts: u64,
    /// NUMA nodes per host.
    pub nodes_per_host: usize,
    /// Memory of one node, MiB.
    pub node_memory_mib: u64,
    /// Memory held on the fullest node, MiB.
    pub fullest_node_mib: u64,
    /// Nodes whose memory is fully held.
    pub full_nodes: u64,
    /// Nodes holding more memory than they have (0 is the guarantee).
    pub over_nodes: u64,
    /// Nodes in all.
    pub nodes: u64,
}

/// A closed billing period.
#[derive(Clone, Debug, Serialize)]
pub struct BillStep {
    /// Period start, ms.
    pub start_ms: u64,
    /// Period end, ms.
    pub end_ms: u64,
    /// One invoice per tenant.
    pub invoices: Vec<Invoice>,
    /// Apps scaled to zero, and since when.
    pub scaled_to_zero: Vec<ScaledToZero>,
}

/// An app with no instances since a time.
#[derive(Clone, Debug, Serialize)]
pub struct ScaledToZero {
    /// The app.
    pub app: AppId,
    /// Since, ms.
    pub since_ms: u64,
}

/// A tenant's invoice, as the meter wrote it.
#[derive(Clone, Debug, Serialize)]
pub struct Invoice {
    /// The tenant.
    pub tenant: TenantId,
    /// Its total, nano-units.
    #[serde(serialize_with = "exact")]
    pub total_nanos: i128,
    /// Its lines.
    pub lines: Vec<InvoiceLine>,
}

/// One line of an invoice.
#[derive(Clone, Debug, Serialize)]
pub struct InvoiceLine {
    /// The app.
    pub app: AppId,
    /// What is billed.
    pub component: Component,
    /// Quantity in the component's unit.
    #[serde(serialize_with = "exact")]
    pub quantity: i128,
    /// The unit (`millicore_ms`, ...).
    pub unit: &'static str,
    /// Rate, nano-units per unit.
    #[serde(serialize_with = "exact")]
    pub rate_nanos: i128,
    /// Amount, nano-units.
    #[serde(serialize_with = "exact")]
    pub amount_nanos: i128,
}

/// An exact integer as JSON: a number when it fits an i64, else a string.
fn exact<S: Serializer>(x: &i128, s: S) -> Result<S::Ok, S::Error> {
    match i64::try_from(*x) {
        Ok(v) => s.serialize_i64(v),
        Err(_) => s.serialize_str(&x.to_string()),
    }
}

/// The state at the end of the run.
#[derive(Clone, Debug, Serialize)]
pub struct FinalState {
    /// Scenario time, ms.
    pub time_ms: u64,
    /// Hosts.
    pub hosts: usize,
    /// Instances.
    pub instances: usize,
    /// Pending instances.
    pub pending: usize,
    /// Provisionings and moves the runner still waits for.
    pub in_flight: usize,
    /// Per zone.
    pub zones: Vec<ZoneRow>,
    /// Per SKU.
    pub skus: Vec<SkuRow>,
    /// `Scheduler::check_invariants` passed.
    pub invariants_ok: bool,
}

/// What one or more calls decided, as the report shows it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    /// Instances placed on running hosts.
    pub placed: usize,
    /// Instances placed on planned hosts.
    pub tentative: usize,
    /// Planned hosts in the provisions.
    pub new_hosts: u64,
    /// Instances removed.
    pub removed: usize,
    /// Instances left pending.
    pub pending: usize,
    /// The provisions, as the core returned them.
    pub provisions: Vec<Provision>,
    /// New substitutions, grouped by app, zone, SKU, kind and note.
    pub substitutions: Vec<Substitution>,
    /// Planned hosts of earlier substitutions that came up (their
    /// substitution was reported when they were planned).
    pub earlier_substitutions: Vec<HostsReady>,
    /// Evictions, grouped by app and cause.
    pub evictions: Vec<EvictionGroup>,
    /// The core's shortfalls.
    pub shortfalls: Vec<Shortfall>,
    /// The core's unplaced instances of an evacuation.
    pub unplaced: Vec<Unplaced>,
    /// The core's cancellations.
    pub cancellations: Vec<Cancellation>,
    /// The core's skew violations.
    pub skew_violations: Vec<SkewViolation>,
    /// Moves started, grouped by app, reason and zones.
    pub moves: Vec<MoveGroup>,
    /// Moves per app: started, completed and in flight.
    pub move_totals: Vec<MoveTotals>,
    /// The first pending instance of each app, with the core's reason.
    pub waiting: Vec<PendingInstance>,
    /// Placements of apps that ask for one NUMA node, with the nodes of
    /// their host after the call.
    pub numa_placements: Vec<NumaPlacement>,
    /// Instances per zone of the apps the calls were about.
    pub per_zone: Vec<AppZones>,
    /// How the instances placed start (warm with the image, warm without,
    /// new hosts) and when they are expected ready: in scale steps of
    /// scenarios that declare images or a pull rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_start: Option<ColdStartMix>,
}

/// What kind of decision a substitution note came with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SubstitutionKind {
    /// Placements on running hosts.
    Placed,
    /// Placements on planned hosts.
    Tentative,
    /// New hosts.
    Provision,
}

/// A substitution: instances or new hosts of a SKU other than the app's
/// tier-0 choice, with the core's note.
#[derive(Clone, Debug, Serialize)]
pub struct Substitution {
    /// Scenario time, ms.
    pub at_ms: u64,
    /// The app.
    pub app: AppId,
    /// The zone.
    pub zone: ZoneId,
    /// The kind of decision.
    pub kind: SubstitutionKind,
    /// The SKU chosen.
    pub sku: SkuId,
    /// The SKU the app asks for.
    pub substitutes_for: Option<SkuId>,
    /// The chosen SKU's tier.
    pub tier: u32,
    /// Instances.
    pub instances: u64,
    /// New hosts (provisions).
    pub new_hosts: u64,
    /// The note as text (its `Display`).
    pub reason: String,
    /// The core's note.
    pub note: SubstitutionNote,
    /// The state behind each reason, read through the public views right
    /// after each call that returned the note (empty for dry runs).
    pub facts: Vec<NoteFacts>,
}

/// The state behind a substitution note, right after the call.
#[derive(Clone, Debug, Serialize)]
pub struct NoteFacts {
    /// When, ms.
    pub at_ms: u64,
    /// `explain_substitution`'s verdict of the chosen SKU.
    pub chosen_verdict: Option<Verdict>,
    /// Per SKU the note passed over, in the note's order.
    pub passed_over: Vec<PassedOverFacts>,
}

/// The state of a SKU a note passed over.
#[derive(Clone, Debug, Serialize)]
pub struct PassedOverFacts {
    /// The SKU.
    pub sku: SkuId,
    /// The zone (`None`: the reason holds in every zone).
    pub zone: Option<ZoneId>,
    /// `explain_substitution`'s verdict of it in the chosen zone.
    pub verdict: Option<Verdict>,
    /// Its hosts in the zone.
    #[serde(flatten)]
    pub hosts: Option<HostFacts>,
}

/// A SKU's hosts and offering in one zone.
#[derive(Clone, Debug, Serialize)]
pub struct HostFacts {
    /// Running hosts.
    pub running_hosts: u32,
    /// Of which with room for one more instance of the app.
    pub running_with_room: u32,
    /// Planned hosts.
    pub planned_hosts: u32,
    /// Of which with room.
    pub planned_with_room: u32,
    /// Its offering, if declared.
    pub offering: Option<OfferingFacts>,
}

/// An offering as `Scheduler::offerings` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct OfferingFacts {
    /// Stock left to order.
    pub stock: Stock,
    /// Planned hosts.
    pub planned: u32,
    /// Backed off until.
    pub backoff_until: Option<Timestamp>,
}

/// Planned hosts of an earlier substitution that came up.
#[derive(Clone, Debug, Serialize)]
pub struct HostsReady {
    /// The app.
    pub app: AppId,
    /// The zone.
    pub zone: ZoneId,
    /// The SKU.
    pub sku: SkuId,
    /// The SKU it stands in for.
    pub substitutes_for: Option<SkuId>,
    /// Hosts that came up.
    pub hosts: u64,
    /// Instances started on them.
    pub instances: u64,
}

/// Evictions of one app for one cause.
#[derive(Clone, Debug, Serialize)]
pub struct EvictionGroup {
    /// The app.
    pub app: AppId,
    /// The cause (of the first; the others have the same kind).
    pub cause: EvictionCause,
    /// Instances evicted.
    pub instances: u64,
    /// A few of them, as the core returned them.
    pub examples: Vec<Eviction>,
}

/// Moves started of one app, for one reason, between two zones.
#[derive(Clone, Debug, Serialize)]
pub struct MoveGroup {
    /// The app.
    pub app: AppId,
    /// Why.
    pub reason: MoveReason,
    /// The zone moved from.
    pub from_zone: Option<ZoneId>,
    /// The zone moved to.
    pub to_zone: Option<ZoneId>,
    /// Moves started.
    pub moves: u64,
}

/// One app's moves in an event.
#[derive(Clone, Debug, Serialize)]
pub struct MoveTotals {
    /// The app.
    pub app: AppId,
    /// Moves started (returned by the calls).
    pub started: u64,
    /// Moves completed (`complete_move` calls).
    pub completed: u64,
    /// Moves in flight after the event (`Scheduler::moves_in_flight`).
    pub in_flight: u64,
    /// Its disruption budget: moves in flight at once.
    pub budget: u32,
}

/// A placement on one NUMA node, and the host's nodes after the call.
#[derive(Clone, Debug, Serialize)]
pub struct NumaPlacement {
    /// The placement as the core returned it.
    pub placement: Placement,
    /// The host's NUMA nodes.
    pub nodes: Vec<NodeUse>,
}

/// What rigid instances hold on one NUMA node.
#[derive(Clone, Debug, Serialize)]
pub struct NodeUse {
    /// CPU held by rigid instances, millicores.
    pub rigid_cpu_millis: u64,
    /// CPU of the node, millicores.
    pub cpu_millis: u64,
    /// Memory held by rigid instances, MiB.
    pub rigid_memory_mib: u64,
    /// Memory of the node, MiB.
    pub memory_mib: u64,
}

/// An app's instances per zone.
#[derive(Clone, Debug, Serialize)]
pub struct AppZones {
    /// The app.
    pub app: AppId,
    /// Per zone (`Scheduler::app_zone_counts`).
    pub zones: Vec<ZoneCount>,
}

/// Instances in one zone.
#[derive(Clone, Debug, Serialize)]
pub struct ZoneCount {
    /// The zone.
    pub zone: ZoneId,
    /// Instances.
    pub instances: u32,
}

// ----- text ------------------------------------------------------------------

/// Report width (an 80-column terminal).
const WIDTH: usize = 78;

/// `h:mm:ss`, with milliseconds when there are any.
pub(crate) fn clock_text(ms: u64) -> String {
    let s = ms / 1000;
    let base = format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    if ms % 1000 == 0 {
        base
    } else {
        format!("{base}.{:03}", ms % 1000)
    }
}

/// A duration for people: `45 s`, `2 min`, `1 h 30 min`.
fn duration_text(ms: u64) -> String {
    let s = ms / 1000;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec} s"),
        (0, m, 0) => format!("{m} min"),
        (0, m, sec) => format!("{m} min {sec} s"),
        (h, 0, 0) => format!("{h} h"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// A bar of `width` cells, `used` of `cap` filled (rounded up).
fn bar(used: u64, cap: u64, width: u64) -> String {
    let filled = if cap == 0 {
        0
    } else {
        (used.saturating_mul(width)).div_ceil(cap).min(width)
    };
    format!(
        "[{}{}]",
        "#".repeat(filled as usize),
        ".".repeat((width - filled) as usize)
    )
}

fn percent(used: u64, cap: u64) -> u64 {
    used.saturating_mul(100) / cap.max(1)
}

/// Nano-units as currency units with nine decimals.
fn money(nanos: i128) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    format!("{sign}{}.{:09}", n / 1_000_000_000, n % 1_000_000_000)
}

/// An invoice quantity in the units people read.
fn quantity(c: Component, q: i128) -> String {
    match c {
        // millicore-ms -> vCPU-s
        Component::Cpu | Component::IdleCpu => format!("{:.1} vCPU-s", q as f64 / 1e6),
        // MiB-ms -> GiB-s
        Component::Memory | Component::IdleMemory => {
            format!("{:.1} GiB-s", q as f64 / 1024.0 / 1000.0)
        }
        _ => format!("{:.1} GPU-s", q as f64 / 1000.0),
    }
}

/// `1 host`, `2 hosts`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The text being written: lines wrapped at 80 columns, continuation
/// lines indented four more.
struct Text {
    out: String,
    /// The zone table printed last, if no event was printed since.
    last_zones: Option<Vec<ZoneRow>>,
}

impl Text {
    fn say(&mut self, line: impl AsRef<str>) {
        let line = line.as_ref();
        if line.len() <= 80 {
            self.out.push_str(line);
            self.out.push('\n');
            return;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        let mut out = indent.to_string();
        let mut fresh = true;
        for word in line.split_whitespace() {
            if !fresh && out.len() + 1 + word.len() > 80 {
                self.out.push_str(&out);
                self.out.push('\n');
                out = format!("{indent}    ");
                fresh = true;
            }
            if !fresh {
                out.push(' ');
            }
            out.push_str(word);
            fresh = false;
        }
        self.out.push_str(&out);
        self.out.push('\n');
    }

    /// A paragraph wrapped at the report width, each line indented.
    fn paragraph(&mut self, text: &str, indent: &str) {
        let mut line = String::new();
        for word in text.split_whitespace() {
            if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > WIDTH {
                self.say(format!("{indent}{line}"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            self.say(format!("{indent}{line}"));
        }
    }

    /// An item: the first line starts with `first`, the wrapped lines are
    /// indented to `indent`.
    fn item(&mut self, first: &str, indent: &str, text: &str) {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let lead = if lines.is_empty() { first } else { indent };
            if !line.is_empty() && lead.len() + line.len() + 1 + word.len() > WIDTH {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            lines.push(line);
        }
        for (i, l) in lines.into_iter().enumerate() {
            let lead = if i == 0 { first } else { indent };
            self.say(format!("{lead}{l}"));
        }
    }

    fn event(&mut self, at_ms: u64, text: impl AsRef<str>) {
        self.say(format!("  [{}] {}", clock_text(at_ms), text.as_ref()));
    }

    fn usage_header(&mut self, first: &str) {
        self.say(format!(
            "  {:<21} {:>5}  {:<21} {}",
            first, "hosts", "cpu", "memory"
        ));
    }

    fn usage_row(&mut self, name: &str, u: &Usage) {
        self.say(format!(
            "  {:<21} {:>5}  {} {:>3}% {} {:>3}%",
            name,
            u.hosts,
            bar(u.cpu_used_millis, u.cpu_millis, 14),
            percent(u.cpu_used_millis, u.cpu_millis),
            bar(u.memory_used_mib, u.memory_mib, 14),
            percent(u.memory_used_mib, u.memory_mib),
        ));
    }

    /// The zone table; a table equal to the last one printed is named, not
    /// repeated.
    fn zones(&mut self, rows: &[ZoneRow]) {
        if self.last_zones.as_deref() == Some(rows) {
            self.say("  (zones as in the last table above)");
            return;
        }
        self.usage_header("zone");
        for r in rows {
            let name = match r.state {
                ZoneState::Up => r.zone.to_string(),
                ZoneState::Down => format!("{} (down)", r.zone),
                _ => format!("{} (draining)", r.zone),
            };
            self.usage_row(&name, &r.usage);
        }
        self.last_zones = Some(rows.to_vec());
    }

    fn skus(&mut self, rows: &[SkuRow]) {
        self.usage_header("sku");
        for r in rows {
            let arch = match r.arch {
                Arch::Aarch64 => "arm",
                _ => "x86",
            };
            self.usage_row(&format!("{} {arch}", r.sku), &r.usage);
        }
    }
}

impl Report {
    /// The report for people: 80 columns, a section per story.
    pub fn to_text(&self) -> String {
        let mut t = Text {
            out: String::new(),
            last_zones: None,
        };
        self.write(&mut t);
        t.out
    }

    fn write(&self, t: &mut Text) {
        let r = &self.region;
        t.say(format!("trimline: {}", self.scenario));
        t.paragraph(&self.description, "");
        let arches: Vec<String> = r.arches.iter().map(|a| a.to_string()).collect();
        t.say(format!(
            "Region: {} zones, {} SKUs ({}), {} hosts, {} apps.",
            r.zones,
            r.skus.len(),
            arches.join(" and "),
            r.hosts,
            r.apps
        ));
        t.say("");
        t.skus(&r.skus);
        let mut number = 0;
        for story in &self.stories {
            if !story.title.is_empty() {
                number += 1;
                t.say("");
                t.say(format!("{number}. {}", story.title));
                t.say("-".repeat(WIDTH));
                t.paragraph(&story.text, "  ");
            }
            for ev in &story.events {
                write_event(t, ev);
            }
            t.say("");
            t.zones(&story.zones);
            write_audit(t, &story.audit);
        }
        let f = &self.final_state;
        t.say("");
        t.say("Final state");
        t.say("-".repeat(WIDTH));
        t.zones(&f.zones);
        t.say("");
        t.skus(&f.skus);
        t.say("");
        t.say(if f.invariants_ok {
            "Invariant audit: every host and NUMA node within capacity on every dimension."
        } else {
            "Invariant audit FAILED."
        });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

fn write_audit(t: &mut Text, a: &Audit) {
    let over: Vec<&SkewCheck> = a.skew_over_limit().collect();
    let hold = if a.invariants_ok { "hold" } else { "BROKEN" };
    let lead = if over.is_empty() {
        "  guarantees:"
    } else {
        "  guarantees (WARNING: skew over its limit, see below):"
    };
    t.say(format!(
        "{lead} invariants {hold}, overcommitted NUMA nodes {}, rigid instances \
         holding less than promised {}",
        a.overcommitted_nodes, a.rigid_short,
    ));
    let parts: Vec<String> = a
        .skew
        .iter()
        .map(|k| format!("{} {} (max {})", k.app, k.skew, k.max_skew))
        .collect();
    if !parts.is_empty() {
        t.paragraph(&format!("zone skew: {}", parts.join(", ")), "  ");
    }
    for k in over {
        t.say(format!(
            "  WARNING: {} has skew {}, over its limit {} ({} instances, {} pending)",
            k.app, k.skew, k.max_skew, k.instances, k.pending
        ));
    }
}

fn write_event(t: &mut Text, ev: &Event) {
    let at = ev.at_ms;
    match &ev.what {
        EventKind::Scale(s) => {
            if let Some(plan) = &s.dry_run {
                t.event(
                    at,
                    format!(
                        "dry run before acting: scale {} {} -> {} (nothing changes)",
                        s.app, s.from, s.to
                    ),
                );
                write_outcome(t, plan);
            }
            t.event(at, format!("scale {} {} -> {}", s.app, s.from, s.to));
            match s.same_as_dry_run {
                Some(true) => {
                    t.say("    the real call decided exactly the dry run above");
                    write_cold_start(t, &s.outcome);
                    write_per_zone(t, &s.outcome);
                }
                Some(false) => {
                    t.say("    the real call decided otherwise than the dry run:");
                    write_outcome(t, &s.outcome);
                }
                None => write_outcome(t, &s.outcome),
            }
        }
        EventKind::DryRun(s) => {
            t.event(
                at,
                format!(
                    "dry run: scale {} {} -> {} (nothing changes)",
                    s.app, s.from, s.to
                ),
            );
            write_outcome(t, &s.outcome);
        }
        EventKind::Explain(e) => {
            let req = e
                .requested
                .as_ref()
                .map_or_else(|| "its shape".to_string(), |k| k.to_string());
            t.event(
                at,
                format!(
                    "which SKUs may stand in for {req} ({}) in {}:",
                    e.app, e.zone
                ),
            );
            for v in &e.verdicts {
                t.item(
                    &format!("    {:<18} ", v.sku.as_str()),
                    &" ".repeat(23),
                    &v.verdict.to_string(),
                );
            }
        }
        EventKind::Stock(s) => {
            let what = s.stock.to_string();
            let zones: Vec<&str> = s.zones.iter().map(|z| z.as_str()).collect();
            t.event(
                at,
                format!("stock of {} in {}: {what}", s.sku, zones.join(", ")),
            );
            write_outcome(t, &s.outcome);
        }
        EventKind::WarmPool(w) => {
            let zones: Vec<&str> = w.zones.iter().map(|z| z.as_str()).collect();
            t.event(
                at,
                format!(
                    "warm pool of {} in {}: {} kept",
                    w.sku,
                    zones.join(", "),
                    count(w.target.into(), "idle host", "idle hosts")
                ),
            );
            write_outcome(t, &w.outcome);
        }
        EventKind::Wait(w) => {
            let mut text = format!("{} later", duration_text(w.seconds.saturating_mul(1000)));
            let mut parts = Vec::new();
            if w.hosts_ready > 0 {
                parts.push(format!(
                    "{} ready",
                    count(w.hosts_ready.into(), "new host", "new hosts")
                ));
            }
            if w.hosts_dropped > 0 {
                parts.push(format!(
                    "{} cancelled before they came up",
                    count(w.hosts_dropped.into(), "planned host", "planned hosts")
                ));
            }
            if w.moves_completed > 0 {
                parts.push(format!(
                    "{} completed",
                    count(w.moves_completed.into(), "move", "moves")
                ));
            }
            if w.rebalance_rounds > 0 {
                parts.push(format!(
                    "{} planned more moves",
                    count(
                        w.rebalance_rounds.into(),
                        "rebalance round",
                        "rebalance rounds"
                    )
                ));
            }
            if !parts.is_empty() {
                let _ = write!(text, ": {}", parts.join(", "));
            }
            t.event(at, text);
            write_outcome(t, &w.outcome);
        }
        EventKind::ZoneDown(z) => {
            t.event(
                at,
                format!(
                    "zone {} is lost with {} instances: one evacuation plan",
                    z.zone, z.instances_before
                ),
            );
            write_outcome(t, &z.outcome);
            if z.outcome.unplaced.is_empty() {
                t.say(
                    "    the plan re-places every lost instance (the core reports none unplaced)",
                );
            }
        }
        EventKind::ZoneUp(z) => {
            t.event(
                at,
                format!(
                    "zone {} is back (empty): pending instances retried, rebalance starts",
                    z.zone
                ),
            );
            write_outcome(t, &z.outcome);
        }
        EventKind::Idle(a) => t.event(
            at,
            format!(
                "{} of {} are idle (billed at the idle rate from now on)",
                count(a.instances.into(), "instance", "instances"),
                a.app
            ),
        ),
        EventKind::Active(a) => t.event(
            at,
            format!(
                "{} of {} are active",
                count(a.instances.into(), "instance", "instances"),
                a.app
            ),
        ),
        EventKind::Consolidate(c) => {
            t.event(
                at,
                format!(
                    "consolidation: {} freed by {} in {} ({}); {} carried instances, {} now",
                    count(c.freed.len() as u64, "host", "hosts"),
                    count(c.moves_made as u64, "move", "moves"),
                    count(c.rounds as u64, "round", "rounds"),
                    count(c.plans as u64, "plan", "plans"),
                    count(c.hosts_before as u64, "host", "hosts"),
                    c.hosts_after
                ),
            );
            // Nanos per second to currency units per hour: × 3600 / 1e9.
            let per_hour = u128::from(c.cost_saved_nanos_per_second) * 3_600;
            t.item(
                "    ",
                "        ",
                &format!(
                    "cost saved: {} nanos per second ({}.{:04} per hour)",
                    c.cost_saved_nanos_per_second,
                    per_hour / 1_000_000_000,
                    per_hour % 1_000_000_000 / 100_000
                ),
            );
            if !c.freed.is_empty() {
                let ids: Vec<String> = c.freed.iter().map(|h| h.to_string()).collect();
                t.item("    ", "        ", &format!("freed: {}", ids.join(", ")));
            }
        }
        EventKind::Survive(s) => {
            t.event(at, "if one zone were lost now (a dry run of each loss):");
            for r in &s.zones {
                t.item("    ", "        ", &r.to_string());
            }
        }
        EventKind::Utilisation(u) => {
            t.event(at, "utilisation");
            t.zones(&u.zones);
            t.say("");
            t.skus(&u.skus);
        }
        EventKind::NumaMemory(n) => {
            t.event(
                at,
                "memory per NUMA node (held by instances, against the node's own memory):",
            );
            for r in &n.skus {
                let gib = |mib: u64| mib / 1024;
                let over = if r.over_nodes == 0 {
                    "none holds more than it has".to_string()
                } else {
                    format!("{} hold MORE than they have", r.over_nodes)
                };
                t.item(
                    &format!("    {:<18} ", r.sku.as_str()),
                    &" ".repeat(23),
                    &format!(
                        "{} of {} GiB on {} hosts: the fullest holds {} GiB, {} of {} are full, {over}",
                        count(r.nodes_per_host as u64, "node", "nodes"),
                        gib(r.node_memory_mib),
                        r.hosts,
                        gib(r.fullest_node_mib),
                        r.full_nodes,
                        r.nodes,
                    ),
                );
            }
        }
        EventKind::Bill(b) => write_bill(t, at, b),
        EventKind::Metrics(m) => {
            t.event(
                at,
                "metrics (OpenMetrics text exposition, as a scrape reads it):",
            );
            // Verbatim: a wrapped or indented exposition would not parse.
            t.out.push_str(&m.text);
        }
        EventKind::Delivery(d) => write_delivery(t, at, d),
    }
}

/// The promise-versus-delivery table: one row per app, then what it got
/// on which SKU.
fn write_delivery(t: &mut Text, at: u64, d: &DeliveryStep) {
    t.event(at, "promise versus delivery, per app:");
    t.say(format!(
        "    {:<12} {:<15} {:>6} {:>7} {:>8} {:>14} {:>5}",
        "app", "promised", "placed", "pending", "NUMA-loc", "waited p50/p99", "skew"
    ));
    for a in &d.apps {
        let promised = format!(
            "{} vCPU {} GiB",
            fmt_vcpus(a.requested.get(Dimension::Cpu)),
            a.requested.get(Dimension::Memory) / 1024
        );
        let waited = match (a.pending_p50_ms, a.pending_p99_ms) {
            (Some(p50), Some(p99)) => format!("{}/{}", short_wait(p50), short_wait(p99)),
            _ => "-".to_string(),
        };
        let skew = match a.max_skew {
            Some(m) => format!("{}/{m}", a.skew),
            None => a.skew.to_string(),
        };
        let numa = if a.placed == 0 {
            "-".to_string()
        } else {
            format!("{}%", percent(a.numa_local.into(), a.placed.into()))
        };
        t.say(format!(
            "    {:<12} {:<15} {:>6} {:>7} {:>8} {:>14} {:>5}",
            a.app.as_str(),
            promised,
            a.placed,
            a.pending,
            numa,
            waited,
            skew
        ));
        if a.skus.is_empty() {
            continue;
        }
        let on: Vec<String> = a
            .skus
            .iter()
            .map(|k| {
                let mut s = format!("{} on {}", k.instances, k.sku);
                match (k.perf_percent, k.substitute) {
                    (Some(p), true) => write!(s, " ({p}% per vCPU, substitute)"),
                    (Some(p), false) => write!(s, " ({p}% per vCPU)"),
                    (None, true) => write!(s, " (substitute)"),
                    (None, false) => Ok(()),
                }
                .unwrap_or(());
                s
            })
            .collect();
        let asked = match &a.requested_sku {
            Some(sku) => format!(" (asked for {sku})"),
            None => String::new(),
        };
        t.item(
            "      ",
            "        ",
            &format!("delivered{asked}: {}", on.join(", ")),
        );
    }
}

/// vCPUs from millicores: `16`, or `0.5`.
fn fmt_vcpus(millis: u32) -> String {
    if millis % 1000 == 0 {
        (millis / 1000).to_string()
    } else {
        format!("{}", f64::from(millis) / 1000.0)
    }
}

/// A wait in a few characters: `0s`, `45s`, `12m`, `3h`.
fn short_wait(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        _ => format!("{}h", s / 3600),
    }
}

fn write_bill(t: &mut Text, at: u64, b: &BillStep) {
    t.event(
        at,
        format!(
            "the bill for {} .. {}, per second",
            clock_text(b.start_ms),
            clock_text(b.end_ms)
        ),
    );
    for inv in &b.invoices {
        t.say(format!("    invoice for tenant {}", inv.tenant));
        t.say(format!(
            "    {:<14} {:<12} {:>20} {:>8} {:>17}",
            "app", "line", "quantity", "rate", "amount"
        ));
        for l in &inv.lines {
            t.say(format!(
                "    {:<14} {:<12} {:>20} {:>8} {:>17}",
                l.app.as_str(),
                l.component.name(),
                quantity(l.component, l.quantity),
                l.rate_nanos,
                money(l.amount_nanos),
            ));
        }
        t.say(format!(
            "    {:<14} {:<12} {:>20} {:>8} {:>17}",
            "total",
            "",
            "",
            "",
            money(inv.total_nanos)
        ));
        let sum: i128 = inv.lines.iter().map(|l| l.amount_nanos).sum();
        t.say(format!(
            "    the lines sum to the total exactly: {}",
            sum == inv.total_nanos
        ));
    }
    t.say("    (amounts in currency units; rates in nano-units per vCPU-, GiB- or GPU-second)");
    for z in &b.scaled_to_zero {
        t.say(format!(
            "    {} is scaled to zero since {}: only its metadata is kept, \
             and it has cost nothing since",
            z.app,
            clock_text(z.since_ms)
        ));
    }
}

/// The cold-start mix of a scale step, when the scenario has one.
fn write_cold_start(t: &mut Text, o: &Outcome) {
    if let Some(mix) = &o.cold_start {
        t.say(format!("    cold start: {mix}"));
    }
}

fn write_per_zone(t: &mut Text, o: &Outcome) {
    for a in &o.per_zone {
        let parts: Vec<String> = a
            .zones
            .iter()
            .map(|z| format!("{} {}", z.zone, z.instances))
            .collect();
        t.say(format!("    {} per zone: {}", a.app, parts.join(", ")));
    }
}

/// What the calls decided: counts, then each kind of decision as the
/// core returned it.
fn write_outcome(t: &mut Text, o: &Outcome) {
    let mut counts = Vec::new();
    if o.placed > 0 {
        counts.push(format!("{} placed on running hosts", o.placed));
    }
    if o.tentative > 0 {
        counts.push(format!(
            "{} on {}",
            o.tentative,
            count(o.new_hosts, "new host", "new hosts")
        ));
    }
    if o.removed > 0 {
        counts.push(format!("{} removed", o.removed));
    }
    if o.pending > 0 {
        counts.push(format!("{} pending", o.pending));
    }
    if !counts.is_empty() {
        t.say(format!("    {}", counts.join(", ")));
    }
    write_cold_start(t, o);
    for p in &o.provisions {
        // The note is printed once, with the substitution below.
        let mut p = p.clone();
        p.substitution = None;
        t.item("    ", "        ", &p.to_string());
    }
    for s in &o.substitutions {
        write_substitution(t, s);
    }
    for r in &o.earlier_substitutions {
        let instead = r
            .substitutes_for
            .as_ref()
            .map_or_else(String::new, |k| format!(", standing in for {k}"));
        t.item(
            "    ",
            "        ",
            &format!(
                "{} came up for earlier substitutions ({} in {} for {}{instead}, reported when they were planned): {} started there",
                count(r.hosts, "more host", "more hosts"),
                r.sku,
                r.zone,
                r.app,
                count(r.instances, "instance", "instances"),
            ),
        );
    }
    for g in &o.evictions {
        t.item(
            "    ",
            "        ",
            &format!(
                "evicted: {} of {}: {}",
                count(g.instances, "instance", "instances"),
                g.app,
                eviction_heading(&g.cause)
            ),
        );
        for e in &g.examples {
            t.item("      e.g. ", "          ", &e.to_string());
        }
    }
    for f in &o.shortfalls {
        t.item("    ", "        ", &f.to_string());
    }
    for u in &o.unplaced {
        t.item("    ", "        ", &u.to_string());
    }
    for c in &o.cancellations {
        t.item("    ", "        ", &c.to_string());
    }
    for v in &o.skew_violations {
        t.item("    ", "        ", &v.to_string());
    }
    for m in &o.move_totals {
        let mine: Vec<&MoveGroup> = o.moves.iter().filter(|g| g.app == m.app).collect();
        let zone = |z: &Option<ZoneId>| {
            z.as_ref()
                .map_or_else(|| "a new host".to_string(), |z| z.to_string())
        };
        let mut reasons: Vec<String> = mine.iter().map(|g| g.reason.to_string()).collect();
        reasons.dedup();
        let groups: Vec<String> = mine
            .iter()
            .map(|g| format!("{} {} -> {}", g.moves, zone(&g.from_zone), zone(&g.to_zone)))
            .collect();
        let mut text = format!("moves of {}", m.app);
        if !reasons.is_empty() {
            let _ = write!(text, " ({})", reasons.join(", "));
        }
        if m.completed == 0 {
            let _ = write!(text, ": {} start now", m.started);
        } else {
            let _ = write!(
                text,
                ": {} completed, {} started as earlier ones completed",
                m.completed, m.started
            );
        }
        if !groups.is_empty() {
            let _ = write!(text, " ({})", groups.join(", "));
        }
        if m.in_flight == 0 {
            text.push_str("; none in flight now");
        } else if m.in_flight >= u64::from(m.budget) {
            let _ = write!(
                text,
                "; {} in flight now, the most its disruption budget allows at once",
                m.in_flight
            );
        } else {
            let _ = write!(
                text,
                "; {} in flight now (its disruption budget: {} at once)",
                m.in_flight, m.budget
            );
        }
        t.item("    ", "        ", &text);
    }
    for p in &o.waiting {
        t.item("    ", "        ", &format!("why {} waits: {p}", p.app));
    }
    for n in &o.numa_placements {
        t.item("    ", "        ", &n.placement.to_string());
        let nodes: Vec<String> = n
            .nodes
            .iter()
            .enumerate()
            .map(|(i, u)| {
                format!(
                    "node {i} {} of {} vCPU and {} of {} GiB",
                    u.rigid_cpu_millis / 1000,
                    u.cpu_millis / 1000,
                    u.rigid_memory_mib / 1024,
                    u.memory_mib / 1024
                )
            })
            .collect();
        t.item(
            "      ",
            "        ",
            &format!(
                "held by rigid instances on {} now: {}",
                n.placement.host,
                nodes.join("; ")
            ),
        );
    }
    write_per_zone(t, o);
}

fn write_substitution(t: &mut Text, s: &Substitution) {
    let note = &s.note;
    let what = match s.kind {
        SubstitutionKind::Provision => format!(
            "{} of {}",
            count(s.new_hosts, "new host", "new hosts"),
            note.sku
        ),
        SubstitutionKind::Tentative => format!(
            "{} on planned {}",
            count(s.instances, "instance", "instances"),
            note.sku
        ),
        _ => format!(
            "{} on {}",
            count(s.instances, "instance", "instances"),
            note.sku
        ),
    };
    t.item(
        "    substitution: ",
        "        ",
        &format!("{} in {}: {what}", s.app, s.zone),
    );
    let mut head = format!("{} (tier {}", note.sku, note.tier);
    if note.admitted.any_equivalent {
        head.push_str(", any equivalent");
    }
    match &note.requested {
        Some(r) => {
            let _ = write!(head, ") instead of {r}");
        }
        None => head.push_str(") instead of the app's tier 0"),
    }
    t.item("      ", "          ", &head);
    for p in &note.passed_over {
        t.item("      - ", "        ", &p.to_string());
    }
    t.item(
        "      ",
        "        ",
        &format!("admitted: {}", note.admitted),
    );
}

// How an eviction group reads.

fn eviction_heading(c: &EvictionCause) -> String {
    match c {
        // The group's instances were preempted by different rigid ones;
        // the examples name them.
        EvictionCause::Preempted { .. } => "preempted by rigid instances".into(),
        other => other.to_string(),
    }
}

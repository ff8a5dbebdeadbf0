//! The runner: plays a scenario's timeline against the scheduler, acting as
//! the embedder (it provisions planned hosts, starts move replacements and
//! meters every decision), and writes the report, as text for people or as
//! one JSON document for machines.
//!
//! Every scheduler and meter call gets its own millisecond (a call made
//! when the scenario clock has not moved since the last one is made 1 ms
//! later), so the metering events derived from different calls never share
//! a time and an id.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Value, json};
use trimline::metering::{
    Component, Event, EventId, EventKind, Ingested, Meter, MeterConfig, decision_events,
};
use trimline::*;

use super::scenario::{Scenario, Step};

pub(crate) type Res<T> = Result<T, Box<dyn Error>>;

/// Report width (an 80-column terminal).
const WIDTH: usize = 78;
/// Lines listing individual instances, per kind, at most.
const EXAMPLES: usize = 3;

/// Something the embedder does later.
#[derive(Debug)]
enum Job {
    /// The planned host is up.
    HostReady(HostId),
    /// The replacement of a move is running.
    CompleteMove(InstanceId),
}

/// One section of the report.
struct Story {
    title: String,
    text: String,
    events: Vec<Value>,
}

pub(crate) struct Runner<'a> {
    sc: &'a Scenario,
    s: Scheduler,
    meter: Meter,
    /// Scenario time, ms.
    clock: u64,
    /// Time of the last call, ms (calls get distinct times).
    last_call: u64,
    queue: BTreeMap<(u64, u64), Job>,
    seq: u64,
    next_host: u64,
    json: bool,
    stories: Vec<Value>,
    story: Option<Story>,
    story_number: usize,
    substitutions: Vec<Value>,
    /// The state behind each substitution note of the calls made since the
    /// last report of decisions, read through the public views right after
    /// the call (see `note_facts`), by row key.
    facts: BTreeMap<String, Vec<Value>>,
    invoices: Vec<Value>,
    /// When each app last went to zero instances.
    zero_since: BTreeMap<AppId, u64>,
}

/// `h:mm:ss`, with milliseconds when there are any.
fn clock_text(ms: u64) -> String {
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
pub(crate) fn bar(used: u64, cap: u64, width: u64) -> String {
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

/// Wrap `text` at `width` columns, each line indented by `indent`.
fn wrap(text: &str, indent: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > width {
            lines.push(format!("{indent}{line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(format!("{indent}{line}"));
    }
    lines
}

/// An exact integer as JSON (a string if it does not fit an i64).
fn int(x: i128) -> Value {
    i64::try_from(x).map_or_else(|_| Value::String(x.to_string()), Value::from)
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

fn cause_text(c: &EvictionCause) -> &'static str {
    match c {
        EvictionCause::Preempted { .. } => "preempted by a rigid instance",
        EvictionCause::HostRemoved => "host removed",
        EvictionCause::ProvisionFailed => "provisioning failed",
        EvictionCause::ZoneDown => "lost with its zone",
        EvictionCause::HostFailed => "host failed",
        _ => "evicted",
    }
}

/// The substitutions a call decided, as its notes say: (kind, app, zone,
/// note, instances, new hosts), one per placement, tentative placement or
/// provision that carries a note.
fn substitutions(
    d: &Decisions,
) -> impl Iterator<
    Item = (
        &'static str,
        &AppId,
        &ZoneId,
        Arc<SubstitutionNote>,
        u64,
        u64,
    ),
> {
    type Row<'a> = (
        &'static str,
        &'a AppId,
        &'a ZoneId,
        Arc<SubstitutionNote>,
        u64,
        u64,
    );
    fn placed<'a>(kind: &'static str, list: &'a [Placement]) -> impl Iterator<Item = Row<'a>> {
        list.iter().filter_map(move |p| {
            let note = p.substitution.clone()?;
            Some((kind, &p.app, &p.zone, note, 1, 0))
        })
    }
    placed("placed", &d.placements)
        .chain(placed("tentative", &d.tentative))
        .chain(d.provisions.iter().filter_map(|p| {
            let note = p.substitution.clone()?;
            Some((
                "provision",
                &p.app,
                &p.zone,
                note,
                u64::from(p.instances),
                u64::from(p.count),
            ))
        }))
}

/// The key grouping substitutions (and their facts) in the report.
fn sub_key(kind: &str, app: &AppId, zone: &ZoneId, note: &SubstitutionNote) -> String {
    let kind = if note.planned_host.is_some() {
        "ready"
    } else {
        kind
    };
    let mut note = note.clone();
    note.planned_host = None;
    format!("{app}\t{zone}\t{}\t{kind}\t{note}", note.sku)
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

impl<'a> Runner<'a> {
    pub(crate) fn new(sc: &'a Scenario, json: bool) -> Res<Runner<'a>> {
        let s = sc.build()?;
        let mut meter = Meter::new(MeterConfig::default())?;
        meter.add_price_table(sc.prices.table())?;
        let next_host = s.host_ids().map(|h| h.0).max().unwrap_or(0) + 1;
        Ok(Runner {
            sc,
            s,
            meter,
            clock: 0,
            last_call: 0,
            queue: BTreeMap::new(),
            seq: 0,
            next_host,
            json,
            stories: Vec::new(),
            story: None,
            story_number: 0,
            substitutions: Vec::new(),
            facts: BTreeMap::new(),
            invoices: Vec::new(),
            zero_since: BTreeMap::new(),
        })
    }

    /// Print a line of the text report (not in JSON mode), wrapped at 80
    /// columns with continuation lines indented two more.
    fn say(&self, line: impl AsRef<str>) {
        if self.json {
            return;
        }
        let line = line.as_ref();
        if line.len() <= 80 {
            println!("{line}");
            return;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        let mut out = indent.to_string();
        let mut fresh = true;
        for word in line.split_whitespace() {
            if !fresh && out.len() + 1 + word.len() > 80 {
                println!("{out}");
                out = format!("{indent}    ");
                fresh = true;
            }
            if !fresh {
                out.push(' ');
            }
            out.push_str(word);
            fresh = false;
        }
        println!("{out}");
    }

    /// A line stamped with the scenario clock.
    fn event_line(&self, text: impl AsRef<str>) {
        self.say(format!("  [{}] {}", clock_text(self.clock), text.as_ref()));
    }

    /// The time of the next call.
    fn next_now(&self) -> u64 {
        self.clock.max(self.last_call + 1)
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
    ) -> Res<Decisions> {
        let now = self.tick();
        let d = f(&mut self.s, now)?;
        self.note_facts(&d, now)?;
        for e in decision_events(&d, &self.s, now)? {
            let r = self.meter.ingest(&e, now)?;
            if r != Ingested::Applied {
                return Err(
                    format!("meter: event {} of {} not applied: {r:?}", e.id, e.instance).into(),
                );
            }
        }
        // Cancelled planned hosts: stop waiting for them.
        let cancelled: Vec<HostId> = d
            .cancellations
            .iter()
            .flat_map(|c| c.hosts.iter().copied())
            .collect();
        if !cancelled.is_empty() {
            self.queue
                .retain(|_, job| !matches!(job, Job::HostReady(h) if cancelled.contains(h)));
        }
        let ready_at = self.clock + self.sc.provision_seconds * 1000;
        for p in &d.provisions {
            for h in &p.hosts {
                self.enqueue(ready_at, Job::HostReady(*h));
            }
        }
        let moved_at = self.clock + self.sc.move_seconds * 1000;
        for m in &d.moves {
            self.enqueue(moved_at, Job::CompleteMove(m.to));
        }
        Ok(d)
    }

    fn enqueue(&mut self, at: u64, job: Job) {
        self.seq += 1;
        self.queue.insert((at, self.seq), job);
    }

    // ----- the run -----------------------------------------------------------

    /// Play the whole timeline; print the text report as it goes, or return
    /// the JSON report at the end.
    pub(crate) fn run(mut self) -> Res<Value> {
        self.header();
        for (i, step) in self.sc.timeline.iter().enumerate() {
            self.step(step)
                .map_err(|e| format!("timeline[{i}] ({}): {e}", step.name()))?;
        }
        self.end_story()?;
        let zones = self.zone_rows();
        let skus = self.sku_rows();
        self.say("");
        self.say("Final state");
        self.say("-".repeat(WIDTH));
        self.print_zone_rows(&zones);
        self.say("");
        self.print_sku_rows(&skus);
        let ok = self.s.check_invariants().is_ok();
        self.say("");
        self.say(if ok {
            "Invariant audit: every host and NUMA node within capacity on every dimension."
        } else {
            "Invariant audit FAILED."
        });
        Ok(json!({
            "scenario": self.sc.name,
            "description": self.sc.description,
            "stories": self.stories,
            "substitutions": self.substitutions,
            "invoices": self.invoices,
            "final": {
                "time_ms": self.clock,
                "hosts": self.s.host_count(),
                "instances": self.s.instance_count(),
                "pending": self.s.pending().len(),
                "in_flight": self.queue.len(),
                "zones": zones,
                "skus": skus,
                "invariants_ok": ok,
            },
        }))
    }

    fn header(&self) {
        let hosts = self.s.host_count();
        let arches: std::collections::BTreeSet<String> =
            self.s.skus().map(|k| k.arch.to_string()).collect();
        self.say(format!("trimline: {}", self.sc.name));
        for l in wrap(&self.sc.description, "", WIDTH) {
            self.say(l);
        }
        self.say(format!(
            "Region: {} zones, {} SKUs ({}), {} hosts, {} apps.",
            self.sc.zones.len(),
            self.s.skus().count(),
            arches.into_iter().collect::<Vec<_>>().join(" and "),
            hosts,
            self.s.apps().count()
        ));
        self.say("");
        self.print_sku_rows(&self.sku_rows());
    }

    fn step(&mut self, step: &Step) -> Res<()> {
        match step {
            Step::Story { title, text } => {
                self.end_story()?;
                self.story_number += 1;
                self.say("");
                self.say(format!("{}. {title}", self.story_number));
                self.say("-".repeat(WIDTH));
                for l in wrap(text, "  ", WIDTH) {
                    self.say(l);
                }
                self.story = Some(Story {
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
            Step::DryRun { app, to } => self.dry_run(app, *to),
            Step::Explain { app, zone } => self.explain(app, zone),
            Step::Stock { sku, zones, stock } => {
                let mut agg = Decisions::default();
                for z in self.sc.zones_or_all(zones) {
                    let d = self.call(|s, now| s.set_stock(sku, z, stock.0, now))?;
                    merge(&mut agg, d);
                }
                let what = match stock.0 {
                    Stock::Known(n) => format!("{n} hosts"),
                    Stock::Unknown => "unknown (try it)".into(),
                    Stock::Exhausted => "exhausted".into(),
                };
                let names: Vec<&str> = self
                    .sc
                    .zones_or_all(zones)
                    .iter()
                    .map(|z| z.as_str())
                    .collect();
                self.event_line(format!("stock of {sku} in {}: {what}", names.join(", ")));
                let mut ev = json!({"step": "stock", "sku": sku, "zones": names, "stock": what});
                self.describe(&agg, None, true, &mut ev)?;
                self.push(ev);
                Ok(())
            }
            Step::Wait { seconds } => self.wait(*seconds),
            Step::ZoneDown { zone } => self.zone_down(zone),
            Step::ZoneUp { zone } => self.zone_up(zone),
            Step::Idle { app } => self.activity(app, EventKind::Idle),
            Step::Active { app } => self.activity(app, EventKind::Active),
            Step::Survive {} => self.survive(),
            Step::Utilisation {} => {
                let zones = self.zone_rows();
                let skus = self.sku_rows();
                self.event_line("utilisation");
                self.print_zone_rows(&zones);
                self.say("");
                self.print_sku_rows(&skus);
                self.push(json!({"step": "utilisation", "zones": zones, "skus": skus}));
                Ok(())
            }
            Step::Bill {} => self.bill(),
        }
    }

    fn push(&mut self, mut ev: Value) {
        ev["at_ms"] = json!(self.clock);
        if self.story.is_none() {
            self.story = Some(Story {
                title: String::new(),
                text: String::new(),
                events: Vec::new(),
            });
        }
        if let Some(st) = &mut self.story {
            st.events.push(ev);
        }
    }

    /// Close the current story: audit the guarantees and show the zones.
    fn end_story(&mut self) -> Res<()> {
        let Some(st) = self.story.take() else {
            return Ok(());
        };
        let audit = self.audit();
        let zones = self.zone_rows();
        self.say("");
        self.print_zone_rows(&zones);
        let a = &audit;
        self.say(format!(
            "  guarantees: invariants {}, overcommitted NUMA nodes {}, rigid instances \
             holding less than promised {}",
            if a["invariants_ok"] == json!(true) {
                "hold"
            } else {
                "BROKEN"
            },
            a["overcommitted_nodes"],
            a["rigid_short"],
        ));
        if let Some(skews) = a["skew"].as_array() {
            let parts: Vec<String> = skews
                .iter()
                .map(|k| {
                    format!(
                        "{} {} (max {})",
                        k["app"].as_str().unwrap_or(""),
                        k["skew"],
                        k["max_skew"]
                    )
                })
                .collect();
            if !parts.is_empty() {
                for l in wrap(&format!("zone skew: {}", parts.join(", ")), "  ", WIDTH) {
                    self.say(l);
                }
            }
        }
        self.stories.push(json!({
            "title": st.title,
            "text": st.text,
            "events": st.events,
            "audit": audit,
            "zones": zones,
        }));
        Ok(())
    }

    /// The guarantees, checked from the outside.
    fn audit(&self) -> Value {
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
            if app.qos == QosTier::Rigid {
                for i in self.s.app_instances(&app.id) {
                    if let Some(InstanceView {
                        status:
                            InstanceStatus::Placed { parts, .. }
                            | InstanceStatus::Tentative { parts, .. },
                        ..
                    }) = self.s.instance(i)
                    {
                        let held = Resources::sum(parts.iter().map(|(_, r)| r));
                        short += u64::from(held != app.resources);
                    }
                }
            }
            if let Some(max) = app.spread.max_skew {
                let pending = self
                    .s
                    .app_instances(&app.id)
                    .into_iter()
                    .filter(|i| {
                        matches!(
                            self.s.instance(*i).map(|v| v.status),
                            Some(InstanceStatus::Pending { .. })
                        )
                    })
                    .count();
                skew.push(json!({
                    "app": app.id,
                    "skew": self.s.skew(&app.id).unwrap_or(u32::MAX),
                    "max_skew": max,
                    "instances": self.s.app_instances(&app.id).len(),
                    "pending": pending,
                }));
            }
        }
        json!({
            "invariants_ok": self.s.check_invariants().is_ok(),
            "overcommitted_nodes": over,
            "rigid_short": short,
            "skew": skew,
        })
    }

    // ----- steps ---------------------------------------------------------------

    fn count(&self, app: &AppId) -> usize {
        self.s.app_instances(app).len()
    }

    fn scale(&mut self, app: &AppId, to: u32, dry_run_first: bool) -> Res<()> {
        let from = self.count(app);
        let mut ev = json!({"step": "scale", "app": app, "from": from, "to": to});
        let plan = if dry_run_first {
            let now = Timestamp(self.next_now());
            let plan = self.s.dry_run(|s| s.scale(app, to, now))?;
            self.event_line(format!(
                "dry run before acting: scale {app} {from} -> {to} (nothing changes)"
            ));
            let mut dry = json!({});
            self.describe(&plan, Some(app), false, &mut dry)?;
            ev["dry_run"] = dry;
            Some(plan)
        } else {
            None
        };
        let d = self.call(|s, now| s.scale(app, to, now))?;
        self.event_line(format!("scale {app} {from} -> {to}"));
        if let Some(plan) = plan {
            let same = plan == d;
            self.say(format!(
                "    the real call decided exactly the dry run: {same}"
            ));
            ev["same_as_dry_run"] = json!(same);
        }
        self.describe(&d, Some(app), true, &mut ev)?;
        if to == 0 {
            self.zero_since.insert(app.clone(), self.clock);
        } else {
            self.zero_since.remove(app);
        }
        self.push(ev);
        Ok(())
    }

    fn dry_run(&mut self, app: &AppId, to: u32) -> Res<()> {
        let from = self.count(app);
        let now = Timestamp(self.next_now());
        let plan = self.s.dry_run(|s| s.scale(app, to, now))?;
        self.event_line(format!(
            "dry run: scale {app} {from} -> {to} (nothing changes)"
        ));
        let mut ev = json!({"step": "dry_run", "app": app, "from": from, "to": to});
        self.describe(&plan, Some(app), false, &mut ev)?;
        self.push(ev);
        Ok(())
    }

    fn explain(&mut self, app: &AppId, zone: &ZoneId) -> Res<()> {
        let req = self
            .s
            .app(app)
            .and_then(|a| a.sku.clone())
            .map_or_else(|| "its shape".to_string(), |k| k.to_string());
        self.event_line(format!(
            "which SKUs may stand in for {req} ({app}) in {zone}:"
        ));
        let mut rows = Vec::new();
        for v in self.s.explain_substitution(app, zone)? {
            let verdict = match &v.verdict {
                Verdict::Accepted {
                    tier,
                    rank,
                    offering,
                } => format!(
                    "accepted, tier {tier}, rank {rank}{}",
                    match offering {
                        Availability::Blocked(block) => format!(" (offering {block})"),
                        _ => String::new(),
                    }
                ),
                Verdict::Rejected(r) => format!("rejected: {r}"),
            };
            self.say(format!("    {:<18} {verdict}", v.sku.as_str()));
            rows.push(json!({"sku": v.sku, "verdict": verdict}));
        }
        self.push(json!({"step": "explain", "app": app, "zone": zone, "verdicts": rows}));
        Ok(())
    }

    fn wait(&mut self, seconds: u64) -> Res<()> {
        let start = self.clock;
        let target = self.clock + seconds * 1000;
        let mut agg = Decisions::default();
        let (mut ready, mut dropped, mut completed, mut rounds) = (0u32, 0u32, 0u32, 0u32);
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
                    let id = HostId(self.next_host);
                    match self.call(|s, now| s.host_ready(planned, id, now)) {
                        Ok(d) => {
                            self.next_host += 1;
                            ready += 1;
                            merge(&mut agg, d);
                        }
                        // Dropped with its zone: nothing to start.
                        Err(e)
                            if e.downcast_ref::<trimline::Error>()
                                .is_some_and(|e| matches!(e, trimline::Error::UnknownHost(_))) =>
                        {
                            dropped += 1
                        }
                        Err(e) => return Err(e),
                    }
                }
                Job::CompleteMove(to) => {
                    if !self.s.moves_in_flight().iter().any(|m| m.to == to) {
                        continue; // aborted meanwhile
                    }
                    let running = matches!(
                        self.s.instance(to).map(|v| v.status),
                        Some(InstanceStatus::Placed { .. })
                    );
                    if running {
                        let d = self.call(|s, now| s.complete_move(to, now))?;
                        completed += 1;
                        merge(&mut agg, d);
                    } else {
                        // Its host is not up yet: look again later.
                        let later = t + self.sc.move_seconds * 1000;
                        self.enqueue(later, Job::CompleteMove(to));
                    }
                    // After the last move completed at this time, plan the
                    // next rebalance steps.
                    let more_now = self
                        .queue
                        .first_key_value()
                        .is_some_and(|(&(t2, _), j)| t2 == t && matches!(j, Job::CompleteMove(_)));
                    if !more_now {
                        let d = self.call(|s, now| s.rebalance(now))?;
                        if !d.moves.is_empty() {
                            rounds += 1;
                        }
                        merge(&mut agg, d);
                    }
                }
            }
        }
        self.clock = target;
        let mut text = format!("{} later", duration_text(target - start));
        let mut parts = Vec::new();
        if ready > 0 {
            parts.push(format!("{ready} new hosts ready"));
        }
        if dropped > 0 {
            parts.push(format!("{dropped} planned hosts dropped with their zone"));
        }
        if completed > 0 {
            parts.push(format!("{completed} moves completed"));
        }
        if rounds > 0 {
            parts.push(format!("{rounds} more rebalance rounds planned"));
        }
        if !parts.is_empty() {
            let _ = write!(text, ": {}", parts.join(", "));
        }
        self.event_line(text);
        let mut ev = json!({
            "step": "wait", "seconds": seconds, "hosts_ready": ready,
            "hosts_dropped": dropped, "moves_completed": completed,
            "rebalance_rounds": rounds,
        });
        self.describe(&agg, None, true, &mut ev)?;
        self.push(ev);
        Ok(())
    }

    fn zone_down(&mut self, zone: &ZoneId) -> Res<()> {
        let lost = self.zone_instances(zone);
        let d = self.call(|s, now| s.zone_down(zone, now))?;
        self.event_line(format!(
            "zone {zone} is lost with {lost} instances: one evacuation plan"
        ));
        let mut ev = json!({"step": "zone_down", "zone": zone, "instances_lost": lost});
        self.describe(&d, None, true, &mut ev)?;
        if d.unplaced.is_empty() {
            self.say("    every lost instance is re-placed");
        }
        self.push(ev);
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

    fn zone_up(&mut self, zone: &ZoneId) -> Res<()> {
        let d = self.call(|s, now| s.zone_up(zone, now))?;
        self.event_line(format!(
            "zone {zone} is back (empty): pending instances retried, rebalance starts"
        ));
        let mut ev = json!({"step": "zone_up", "zone": zone});
        self.describe(&d, None, true, &mut ev)?;
        self.push(ev);
        Ok(())
    }

    fn activity(&mut self, app: &AppId, kind: EventKind) -> Res<()> {
        let tenant = self
            .s
            .app(app)
            .map(|a| a.tenant.clone())
            .ok_or_else(|| trimline::Error::UnknownApp(app.clone()))?;
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
            let e = Event {
                id: EventId::derived(i, &kind, now, 0)?,
                tenant: tenant.clone(),
                app: app.clone(),
                instance: i,
                at: now,
                kind: kind.clone(),
            };
            let _ = self.meter.ingest(&e, now)?;
            n += 1;
        }
        let what = kind.name();
        let rate = if matches!(kind, EventKind::Idle) {
            " (billed at the idle rate from now on)"
        } else {
            ""
        };
        self.event_line(format!("{n} instances of {app} are {what}{rate}"));
        self.push(json!({"step": what, "app": app, "instances": n}));
        Ok(())
    }

    fn survive(&mut self) -> Res<()> {
        self.event_line("if one zone were lost now (a dry run of each loss):");
        let mut rows = Vec::new();
        for r in self.s.survive_zone_loss() {
            if r.survivable() {
                self.say(format!(
                    "    {:<15} survivable: every instance re-placed",
                    r.zone.as_str()
                ));
            } else {
                let parts: Vec<String> = r
                    .unplaced
                    .iter()
                    .map(|u| format!("{} short {}", u.app, u.instances))
                    .collect();
                self.say(format!("    {:<15} {}", r.zone.as_str(), parts.join(", ")));
            }
            rows.push(
                json!({"zone": r.zone, "survivable": r.survivable(), "unplaced": r.unplaced}),
            );
        }
        self.push(json!({"step": "survive", "zones": rows}));
        Ok(())
    }

    fn bill(&mut self) -> Res<()> {
        let end = self.tick();
        let report = self.meter.close_period(end, end)?;
        self.event_line(format!(
            "the bill for {} .. {}, per second",
            clock_text(report.period.start.0),
            clock_text(report.period.end.0)
        ));
        let mut invoices = Vec::new();
        for inv in &report.invoices {
            self.say(format!("    invoice for tenant {}", inv.tenant));
            self.say(format!(
                "    {:<14} {:<12} {:>20} {:>8} {:>17}",
                "app", "line", "quantity", "rate", "amount"
            ));
            let mut lines = Vec::new();
            for l in &inv.lines {
                self.say(format!(
                    "    {:<14} {:<12} {:>20} {:>8} {:>17}",
                    l.app.as_str(),
                    l.component.name(),
                    quantity(l.component, l.quantity),
                    l.rate_nanos,
                    money(l.amount_nanos),
                ));
                lines.push(json!({
                    "app": l.app, "component": l.component.name(),
                    "quantity": int(l.quantity), "unit": l.component.unit(),
                    "rate_nanos": int(l.rate_nanos), "amount_nanos": int(l.amount_nanos),
                }));
            }
            let sum: i128 = inv.lines.iter().map(|l| l.amount_nanos).sum();
            self.say(format!(
                "    {:<14} {:<12} {:>20} {:>8} {:>17}",
                "total",
                "",
                "",
                "",
                money(inv.total_nanos)
            ));
            self.say(format!(
                "    the lines sum to the total exactly: {}",
                sum == inv.total_nanos
            ));
            invoices.push(json!({
                "tenant": inv.tenant, "total_nanos": int(inv.total_nanos),
                "lines": lines,
            }));
        }
        self.say(
            "    (amounts in currency units; rates in nano-units per vCPU-, GiB- or GPU-second)",
        );
        let mut zeros = Vec::new();
        for (app, since) in &self.zero_since {
            if self.count(app) == 0 && self.s.app(app).is_some() {
                self.say(format!(
                    "    {app} is scaled to zero since {}: only its metadata is kept, \
                     and it has cost nothing since",
                    clock_text(*since)
                ));
                zeros.push(json!({"app": app, "since_ms": since}));
            }
        }
        self.invoices.extend(invoices.iter().cloned());
        self.push(json!({
            "step": "bill",
            "period": {"start_ms": report.period.start.0, "end_ms": report.period.end.0},
            "invoices": invoices,
            "scaled_to_zero": zeros,
        }));
        Ok(())
    }

    // ----- describing decisions --------------------------------------------

    /// Print what `d` decided and record it in `ev`. `app`: the app the call
    /// was about (its zone counts and NUMA nodes are shown). `real`: the
    /// decisions were carried out (substitutions count as facts).
    fn describe(
        &mut self,
        d: &Decisions,
        app: Option<&AppId>,
        real: bool,
        ev: &mut Value,
    ) -> Res<()> {
        let was_json = self.json;
        if ev["same_as_dry_run"] == json!(true) {
            // Shown once already, as the dry run: keep the facts, skip the text.
            self.json = true;
        }
        let r = self.describe_inner(d, app, real, ev);
        self.json = was_json;
        r?;
        if let Some(app) = app.filter(|_| real) {
            let per_zone: Vec<String> = self
                .s
                .app_zone_counts(app)
                .iter()
                .map(|(z, c)| format!("{z} {c}"))
                .collect();
            self.say(format!("    {app} per zone: {}", per_zone.join(", ")));
            ev["per_zone"] = json!(self.s.app_zone_counts(app));
        } else if real {
            // After a zone change or rebalance: where the apps involved are.
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
            let mut rows = Vec::new();
            for a in apps {
                let per_zone: Vec<String> = self
                    .s
                    .app_zone_counts(&a)
                    .iter()
                    .map(|(z, c)| format!("{z} {c}"))
                    .collect();
                self.say(format!("    {a} per zone: {}", per_zone.join(", ")));
                rows.push(json!({"app": a, "per_zone": self.s.app_zone_counts(&a)}));
            }
            ev["per_zone"] = json!(rows);
        }
        Ok(())
    }

    fn describe_inner(
        &mut self,
        d: &Decisions,
        app: Option<&AppId>,
        real: bool,
        ev: &mut Value,
    ) -> Res<()> {
        let planned_hosts: u32 = d.provisions.iter().map(|p| p.count).sum();
        let mut counts = Vec::new();
        if !d.placements.is_empty() {
            counts.push(format!("{} placed on running hosts", d.placements.len()));
        }
        if !d.tentative.is_empty() {
            counts.push(format!(
                "{} on {} new hosts",
                d.tentative.len(),
                planned_hosts
            ));
        }
        if !d.removals.is_empty() {
            counts.push(format!("{} removed", d.removals.len()));
        }
        if !d.pending.is_empty() {
            counts.push(format!("{} pending", d.pending.len()));
        }
        if !counts.is_empty() {
            self.say(format!("    {}", counts.join(", ")));
        }
        ev["placed"] = json!(d.placements.len());
        ev["tentative"] = json!(d.tentative.len());
        ev["removed"] = json!(d.removals.len());
        ev["pending"] = json!(d.pending.len());

        // Provisioning.
        let mut provisions = Vec::new();
        for p in &d.provisions {
            let why = match &p.substitutes_for {
                Some(sku) => format!(", stands in for {sku} (tier {})", p.tier),
                None => String::new(),
            };
            self.say(format!(
                "    provision {:>3} x {:<17} in {} for {}{why}",
                p.count,
                p.sku.as_str(),
                p.zone,
                p.app
            ));
            provisions.push(json!({
                "app": p.app, "zone": p.zone, "sku": p.sku, "hosts": p.count,
                "instances": p.instances, "substitutes_for": p.substitutes_for, "tier": p.tier,
            }));
        }
        ev["provisions"] = json!(provisions);

        // Substitutions: what the core's notes say, grouped by app, zone,
        // SKU, kind of decision and note.
        let mut subs: BTreeMap<String, (Arc<SubstitutionNote>, Value, u64, u64)> = BTreeMap::new();
        for (kind, app, zone, note, instances, hosts) in substitutions(d) {
            let key = sub_key(kind, app, zone, &note);
            let row = json!({"app": app, "zone": zone, "kind": kind});
            // Placements on planned hosts that became ready: one group for
            // all the hosts.
            let planned = note.planned_host;
            let e = subs.entry(key).or_insert_with(|| {
                let mut note = (*note).clone();
                note.planned_host = None;
                (Arc::new(note), row, 0, 0)
            });
            e.2 += instances;
            e.3 += hosts;
            if let Some(h) = planned {
                match e.1["planned_hosts"].as_array_mut() {
                    Some(list) if list.contains(&json!(h)) => {}
                    Some(list) => list.push(json!(h)),
                    None => e.1["planned_hosts"] = json!([h]),
                }
            }
        }
        let mut sub_rows = Vec::new();
        for (key, (note, mut row, instances, hosts)) in subs {
            let what = match row["kind"].as_str() {
                Some("provision") => format!("{hosts} new hosts of {}", note.sku),
                Some("tentative") => format!("{instances} instances on planned {}", note.sku),
                _ => format!("{instances} instances on {}", note.sku),
            };
            self.say(format!(
                "    substitution: {} in {}: {what}",
                row["app"].as_str().unwrap_or_default(),
                row["zone"].as_str().unwrap_or_default()
            ));
            // The note, a part a line.
            let mut head = format!("{} (tier {}", note.sku, note.tier);
            if note.admitted.any_equivalent {
                head.push_str(", any equivalent");
            }
            match &note.requested {
                Some(r) => write!(head, ") instead of {r}")?,
                None => head.push_str(") instead of the app's tier 0"),
            }
            if let Some(hosts) = row["planned_hosts"].as_array() {
                write!(
                    head,
                    ", as planned for the {} hosts now ready (see their provision)",
                    hosts.len()
                )?;
            }
            self.say(format!("      {head}"));
            let item = |first: &str, text: String| {
                for (i, l) in wrap(&text, "        ", WIDTH).into_iter().enumerate() {
                    let l = if i == 0 {
                        l.replacen("        ", first, 1)
                    } else {
                        l
                    };
                    self.say(l);
                }
            };
            for p in &note.passed_over {
                item("      - ", p.to_string());
            }
            item("      ", format!("admitted: {}", note.admitted));
            let reason = note.to_string();
            row["at_ms"] = json!(self.clock);
            row["sku"] = json!(note.sku);
            row["substitutes_for"] = json!(note.requested);
            row["tier"] = json!(note.tier);
            row["instances"] = json!(instances);
            row["new_hosts"] = json!(hosts);
            row["reason"] = json!(reason);
            row["note"] = json!(note);
            if real {
                row["facts"] = json!(self.facts.remove(&key).unwrap_or_default());
                self.substitutions.push(row.clone());
            }
            sub_rows.push(row);
        }
        if real {
            self.facts.clear();
        }
        ev["substitutions"] = json!(sub_rows);

        // Evictions, by app and cause.
        let mut evicted: BTreeMap<(AppId, &'static str), u64> = BTreeMap::new();
        for e in &d.evictions {
            *evicted
                .entry((e.app.clone(), cause_text(&e.cause)))
                .or_default() += 1;
        }
        let mut ev_rows = Vec::new();
        for ((a, cause), n) in &evicted {
            self.say(format!("    evicted: {n} instances of {a} ({cause})"));
            ev_rows.push(json!({"app": a, "cause": cause, "instances": n}));
        }
        let preempted: Vec<&Eviction> = d
            .evictions
            .iter()
            .filter(|e| matches!(e.cause, EvictionCause::Preempted { .. }))
            .collect();
        let mut examples = Vec::new();
        for e in preempted.iter().take(EXAMPLES) {
            if let EvictionCause::Preempted { by } = e.cause {
                self.say(format!(
                    "      e.g. {} ({}) left {} for rigid {by}",
                    e.instance, e.app, e.host
                ));
                examples
                    .push(json!({"instance": e.instance, "app": e.app, "host": e.host, "by": by}));
            }
        }
        ev["evictions"] = json!(ev_rows);
        if !examples.is_empty() {
            ev["preempted_examples"] = json!(examples);
        }

        // Shortfalls and unplaced instances.
        let mut short = Vec::new();
        for f in &d.shortfalls {
            self.say(format!(
                "    short: {} in {}: {} instances ({} vCPU, {} GiB) neither fit nor can be provisioned",
                f.app,
                f.zone,
                f.instances,
                f.resources.cpu_millis / 1000,
                f.resources.memory_mib / 1024
            ));
            short.push(json!(f));
        }
        ev["shortfalls"] = json!(short);
        let mut unplaced = Vec::new();
        for u in &d.unplaced {
            self.say(format!(
                "    not re-placed: {} instances of {} ({} vCPU, {} GiB): they wait, pending",
                u.instances,
                u.app,
                u.resources.cpu_millis / 1000,
                u.resources.memory_mib / 1024
            ));
            unplaced.push(json!(u));
        }
        ev["unplaced"] = json!(unplaced);
        let mut cancelled = Vec::new();
        for c in &d.cancellations {
            self.say(format!(
                "    cancel: {} planned {} hosts in {} of provision {} ({})",
                c.hosts.len(),
                c.sku.as_str(),
                c.zone,
                c.provision.0,
                json!(c.cause).as_str().unwrap_or("-")
            ));
            cancelled.push(json!(c));
        }
        ev["cancellations"] = json!(cancelled);
        for v in &d.skew_violations {
            self.say(format!(
                "    placed against its spread (schedules anyway): {} x{} (skew {})",
                v.app, v.instances, v.skew
            ));
        }

        // Moves, by app, reason and direction.
        let mut moves: BTreeMap<(AppId, String, String), u64> = BTreeMap::new();
        for m in &d.moves {
            let zone_of = |h: HostId| {
                self.s
                    .host(h)
                    .map_or_else(|| "a new host".to_string(), |v| v.zone.to_string())
            };
            let reason = match m.reason {
                MoveReason::Rebalance => "rebalance",
                _ => "back to preferred SKU",
            };
            *moves
                .entry((
                    m.app.clone(),
                    reason.to_string(),
                    format!("{} -> {}", zone_of(m.from_host), zone_of(m.to_host)),
                ))
                .or_default() += 1;
        }
        let mut move_rows = Vec::new();
        for ((a, reason, dir), n) in &moves {
            let budget = self.s.app(a).map_or(0, |x| x.spread.disruption_budget);
            self.say(format!(
                "    moves planned: {n} of {a} ({reason}, {dir}; at most {budget} in flight)"
            ));
            move_rows.push(json!({"app": a, "reason": reason, "direction": dir, "moves": n}));
        }
        ev["moves"] = json!(move_rows);

        // Why instances wait: the first reason per app.
        let mut seen = std::collections::BTreeSet::new();
        for p in &d.pending {
            if seen.insert(p.app.clone()) {
                for l in wrap(&format!("why {} waits: {}", p.app, p.reason), "    ", WIDTH) {
                    self.say(l);
                }
            }
        }

        // NUMA placement, for apps that ask for one node.
        let _ = app;
        let numa: Vec<&Placement> = d
            .placements
            .iter()
            .filter(|p| {
                self.s
                    .app(&p.app)
                    .is_some_and(|a| a.numa == NumaPolicy::SingleNode)
            })
            .collect();
        let mut numa_rows = Vec::new();
        for p in numa.iter().take(EXAMPLES * 2) {
            let nodes = self.s.host(p.host).map(|v| {
                v.nodes
                    .iter()
                    .map(|n| format!("{}", n.rigid.cpu_millis() / 1000))
                    .collect::<Vec<_>>()
                    .join("/")
            });
            self.say(format!(
                "    {} ({}) -> {} ({}, {}), whole on NUMA node {:?}; rigid vCPU per node {}",
                p.instance,
                p.app,
                p.host,
                p.sku,
                p.zone,
                p.numa_nodes.as_slice(),
                nodes.unwrap_or_default()
            ));
            numa_rows.push(json!(p));
        }
        if !numa_rows.is_empty() {
            ev["numa_placements"] = json!(numa_rows);
        }
        Ok(())
    }

    /// Why `sku` serves `app` in `zone` instead of the SKU it asks for.
    /// Record, right after a call, the state behind each substitution note
    /// it returned, through the public views only: per SKU and zone the
    /// note names, its running and planned hosts and how many of them have
    /// room for one more instance of the app, its offering, and its
    /// verdict; and the chosen SKU's verdict. `tests/check_report.py`
    /// checks every reason against these facts.
    fn note_facts(&mut self, d: &Decisions, now: Timestamp) -> Res<()> {
        let mut seen = BTreeSet::new();
        for (kind, app, zone, note, _, _) in substitutions(d) {
            let key = sub_key(kind, app, zone, &note);
            if !seen.insert(key.clone()) {
                continue;
            }
            let spec = self
                .s
                .app(app)
                .ok_or_else(|| trimline::Error::UnknownApp(app.clone()))?
                .clone();
            let fits = |free: &Resources| spec.resources.fits_in(free);
            let verdicts = self.s.explain_substitution(app, zone)?;
            let verdict = |sku: &SkuId| {
                verdicts
                    .iter()
                    .find(|v| &v.sku == sku)
                    .map(|v| json!(v.verdict))
            };
            let offerings = self.s.offerings();
            let mut entries = Vec::new();
            for p in &note.passed_over {
                let mut e = json!({"sku": p.sku, "zone": p.zone, "verdict": verdict(&p.sku)});
                if let Some(z) = &p.zone {
                    let (mut running, mut running_room, mut planned, mut planned_room) =
                        (0u32, 0u32, 0u32, 0u32);
                    for h in self.s.host_ids() {
                        let Some(v) = self.s.host(h) else { continue };
                        if v.sku != p.sku || &v.zone != z {
                            continue;
                        }
                        let room = v.state != HostState::Cordoned
                            && match spec.numa {
                                NumaPolicy::SingleNode => v.nodes.iter().any(|n| fits(&n.free)),
                                _ => fits(&v.free),
                            };
                        if v.state == HostState::Planned {
                            planned += 1;
                            planned_room += u32::from(room);
                        } else {
                            running += 1;
                            running_room += u32::from(room);
                        }
                    }
                    e["running_hosts"] = json!(running);
                    e["running_with_room"] = json!(running_room);
                    e["planned_hosts"] = json!(planned);
                    e["planned_with_room"] = json!(planned_room);
                    e["offering"] = json!(
                        offerings
                            .iter()
                            .find(|o| o.sku == p.sku && &o.zone == z)
                            .map(|o| json!({
                                "stock": o.stock, "planned": o.planned,
                                "backoff_until": o.backoff_until,
                            }))
                    );
                }
                entries.push(e);
            }
            let fact = json!({
                "at_ms": now.as_millis(),
                "chosen_verdict": verdict(&note.sku),
                "passed_over": entries,
            });
            self.facts.entry(key).or_default().push(fact);
        }
        Ok(())
    }

    // ----- utilisation tables ------------------------------------------------

    fn zone_rows(&self) -> Vec<Value> {
        let mut rows = Vec::new();
        for (z, state) in self.s.zones() {
            let (mut n, mut cu, mut cc, mut mu, mut mc) = (0u64, 0u64, 0u64, 0u64, 0u64);
            for h in self.s.host_ids() {
                let Some(v) = self.s.host(h) else { continue };
                if &v.zone != z {
                    continue;
                }
                n += 1;
                cc += u64::from(v.capacity.cpu_millis());
                cu += u64::from(v.capacity.cpu_millis() - v.free.cpu_millis());
                mc += u64::from(v.capacity.memory_mib());
                mu += u64::from(v.capacity.memory_mib() - v.free.memory_mib());
            }
            let state = match state {
                ZoneState::Up => "up",
                ZoneState::Down => "down",
                _ => "draining",
            };
            rows.push(json!({
                "zone": z, "state": state, "hosts": n,
                "cpu_used_millis": cu, "cpu_millis": cc,
                "memory_used_mib": mu, "memory_mib": mc,
            }));
        }
        rows
    }

    fn sku_rows(&self) -> Vec<Value> {
        let mut rows = Vec::new();
        for k in self.s.skus() {
            let (mut n, mut cu, mut cc, mut mu, mut mc) = (0u64, 0u64, 0u64, 0u64, 0u64);
            for h in self.s.host_ids() {
                let Some(v) = self.s.host(h) else { continue };
                if v.sku != k.id {
                    continue;
                }
                n += 1;
                cc += u64::from(v.capacity.cpu_millis());
                cu += u64::from(v.capacity.cpu_millis() - v.free.cpu_millis());
                mc += u64::from(v.capacity.memory_mib());
                mu += u64::from(v.capacity.memory_mib() - v.free.memory_mib());
            }
            rows.push(json!({
                "sku": k.id, "arch": k.arch.to_string(), "hosts": n,
                "cpu_used_millis": cu, "cpu_millis": cc,
                "memory_used_mib": mu, "memory_mib": mc,
            }));
        }
        rows
    }

    fn print_rows(&self, first: &str, rows: &[Value], key: &str, tag: &str) {
        self.say(format!(
            "  {:<21} {:>5}  {:<21} {}",
            first, "hosts", "cpu", "memory"
        ));
        for r in rows {
            let g = |k: &str| r[k].as_u64().unwrap_or(0);
            let name = format!(
                "{}{}",
                r[key].as_str().unwrap_or(""),
                match r[tag].as_str() {
                    Some("up") | None => String::new(),
                    Some(t) if tag == "arch" =>
                        format!(" {}", if t == "aarch64" { "arm" } else { "x86" }),
                    Some(t) => format!(" ({t})"),
                }
            );
            self.say(format!(
                "  {:<21} {:>5}  {} {:>3}% {} {:>3}%",
                name,
                g("hosts"),
                bar(g("cpu_used_millis"), g("cpu_millis"), 14),
                percent(g("cpu_used_millis"), g("cpu_millis")),
                bar(g("memory_used_mib"), g("memory_mib"), 14),
                percent(g("memory_used_mib"), g("memory_mib")),
            ));
        }
    }

    fn print_zone_rows(&self, rows: &[Value]) {
        self.print_rows("zone", rows, "zone", "state");
    }

    fn print_sku_rows(&self, rows: &[Value]) {
        self.print_rows("sku", rows, "sku", "arch");
    }
}

/// Parse the command line shared by the demo and the scenario runner:
/// `[--json]` plus, for the runner, one file.
pub(crate) fn play(sc: &Scenario, json: bool) -> Res<()> {
    let report = Runner::new(sc, json)?.run()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

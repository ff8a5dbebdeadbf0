//! The JSON Schema of every serde shape embedders read or write is
//! generated from the types and checked in under `core/schema/`. These
//! tests fail when a type changed and its checked-in schema did not, and
//! write values serialized from a live run for `tests/check_schema.py`,
//! which validates them against the checked-in schemas.
//!
//! Regenerate the schemas with
//! `TRIMLINE_BLESS=1 cargo test -p trimline --test schema`.
// A test reads and writes files and its environment, which the core never
// does.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use std::path::PathBuf;

use common::*;
use schemars::{JsonSchema, generate::SchemaSettings};
use trimline::metering::{
    Event, Meter, MeterConfig, MeterSnapshot, PeriodReport, PriceTable, decision_events,
};
use trimline::pack::{PackSpec, PartialPacking, pack_partial};
use trimline::repack::{
    ConsolidationOptions, ConsolidationPlan, ConsolidationStep, ReplaceOptions,
};
use trimline::*;

fn schema_of<T: JsonSchema>() -> String {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<T>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap();
    text.push('\n');
    text
}

/// The schemas, by file name.
fn schemas() -> Vec<(&'static str, String)> {
    vec![
        ("decisions", schema_of::<Decisions>()),
        ("snapshot", schema_of::<Snapshot>()),
        ("sku-verdicts", schema_of::<Vec<SkuVerdict>>()),
        ("meter-event", schema_of::<Event>()),
        ("meter-snapshot", schema_of::<MeterSnapshot>()),
        ("period-report", schema_of::<PeriodReport>()),
        ("audit", schema_of::<AuditBatch>()),
        ("counters", schema_of::<Counters>()),
        ("delivery", schema_of::<Vec<AppDelivery>>()),
        ("pack-spec", schema_of::<PackSpec>()),
        ("partial-packing", schema_of::<PartialPacking>()),
        ("consolidation-options", schema_of::<ConsolidationOptions>()),
        ("consolidation-plan", schema_of::<ConsolidationPlan>()),
        ("consolidation-step", schema_of::<ConsolidationStep>()),
        (
            "meter-usage",
            schema_of::<Vec<trimline::metering::UsageExportRecord>>(),
        ),
    ]
}

#[test]
fn checked_in_schemas_match_the_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema");
    let bless = std::env::var_os("TRIMLINE_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, fresh) in schemas() {
        let path = dir.join(format!("{name}.schema.json"));
        if bless {
            std::fs::write(&path, &fresh).unwrap();
        } else if std::fs::read_to_string(&path).unwrap_or_default() != fresh {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale schemas (regenerate them with `TRIMLINE_BLESS=1 cargo test -p trimline --test schema`): {stale:?}"
    );
}

/// snake_case names, and no Rust `Result` tags.
#[test]
fn schemas_use_snake_case_and_no_result_tags() {
    for (name, text) in schemas() {
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut keys = Vec::new();
        collect_names(&value, &mut keys);
        for key in keys {
            assert!(
                key.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name}: {key} is not snake_case"
            );
        }
    }
}

/// Property names and enum values a schema lets a document use.
fn collect_names(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(props)) = map.get("properties") {
                out.extend(props.keys().cloned());
            }
            if let Some(serde_json::Value::Array(required)) = map.get("required") {
                out.extend(required.iter().filter_map(|r| r.as_str().map(String::from)));
            }
            if let Some(serde_json::Value::Array(values)) = map.get("enum") {
                out.extend(values.iter().filter_map(|r| r.as_str().map(String::from)));
            }
            if let Some(serde_json::Value::String(c)) = map.get("const") {
                out.push(c.clone());
            }
            map.values().for_each(|v| collect_names(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_names(v, out)),
        _ => {}
    }
}

/// Values serialized from a run in which every kind of decision happens,
/// written to `target/tmp/schema-samples/NAME.json` (a list of values of
/// the type of `core/schema/NAME.schema.json`) for `tests/check_schema.py`.
#[test]
fn live_values_cover_every_decision_and_are_written_for_the_schema_check() {
    let g7: SkuId = id("g7.4xlarge");
    let g8i: SkuId = id("g8i.4xlarge");
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    sim.sku(sku("g7.4xlarge", 16_000, 65_536));
    sim.sku(sku("g8i.4xlarge", 16_000, 65_536));
    sim.hosts("g7.4xlarge", "a", 1);
    sim.hosts("g7.4xlarge", "b", 1);
    let mut web = app("web", 4_000, 8_192);
    web.sku = Some(g7.clone());
    web.substitution.tiers = vec![vec![id("g7")], vec![id("g8i")]];
    web.spread.max_skew = Some(1);
    sim.app(web);
    sim.app(best_effort(app("batch", 4_000, 8_192)));

    let mut meter = Meter::new(MeterConfig::default()).unwrap();
    meter
        .add_price_table(PriceTable::new(1, Timestamp(0), 10_000, 1_000, 0))
        .unwrap();
    let mut all: Vec<Decisions> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    let mut record = |s: &Scheduler, d: Decisions, now: Timestamp, meter: &mut Meter| {
        for e in decision_events(&d, s, now).unwrap() {
            let _ = meter.ingest(&e, now).unwrap();
            events.push(e);
        }
        all.push(d);
    };

    for (sku, zone, stock) in [
        (&g7, "a", Stock::Exhausted),
        (&g8i, "a", Stock::Known(2)),
        (&g7, "b", Stock::Known(1)),
        (&g8i, "b", Stock::Exhausted),
    ] {
        let t = sim.tick(1);
        let d = sim.s.set_stock(sku, &id(zone), stock, t).unwrap();
        record(&sim.s, d, t, &mut meter);
    }
    // Best-effort work fills the slack; the rigid app preempts it, runs on
    // g7, then provisions g8i in a (a substitution) and g7 in b.
    let t = sim.tick(1_000);
    let d = sim.s.scale(&id("batch"), 8, t).unwrap();
    record(&sim.s, d, t, &mut meter);
    let t = sim.tick(1_000);
    let d = sim.s.scale(&id("web"), 24, t).unwrap();
    let provisions = d.provisions.clone();
    record(&sim.s, d, t, &mut meter);
    // The g8i offering comes up, the other fails.
    for p in &provisions {
        let t = sim.tick(60_000);
        let d = if p.sku == g8i {
            sim.s.host_ready(p.hosts[0], HostId(100), t).unwrap()
        } else {
            sim.s
                .provision_failed(&p.sku, &p.zone, ProvisionFailure::InsufficientStock, t)
                .unwrap()
        };
        record(&sim.s, d, t, &mut meter);
    }
    // Scale down, lose a zone, get it back.
    let t = sim.tick(1_000);
    let d = sim.s.scale(&id("web"), 6, t).unwrap();
    record(&sim.s, d, t, &mut meter);
    let t = sim.tick(1_000);
    let d = sim.s.zone_down(&id("b"), t).unwrap();
    record(&sim.s, d, t, &mut meter);
    let t = sim.tick(1_000);
    let d = sim.s.zone_up(&id("b"), t).unwrap();
    record(&sim.s, d, t, &mut meter);
    sim.s.check_invariants().unwrap();

    let seen = |f: &dyn Fn(&Decisions) -> bool| all.iter().any(f);
    let kinds: [(&str, bool); 8] = [
        ("placements", seen(&|d| !d.placements.is_empty())),
        ("tentative", seen(&|d| !d.tentative.is_empty())),
        ("provisions", seen(&|d| !d.provisions.is_empty())),
        (
            "substitution notes",
            seen(&|d| d.provisions.iter().any(|p| p.substitution.is_some())),
        ),
        ("evictions", seen(&|d| !d.evictions.is_empty())),
        ("pending", seen(&|d| !d.pending.is_empty())),
        ("removals", seen(&|d| !d.removals.is_empty())),
        ("cancellations", seen(&|d| !d.cancellations.is_empty())),
    ];
    let missing: Vec<&str> = kinds.iter().filter(|(_, s)| !s).map(|(k, _)| *k).collect();
    assert!(missing.is_empty(), "no {missing:?} in {all:#?}");

    let end = sim.tick(3_600_000);
    let by_sku = trimline::metering::UsageGroupBy {
        tenant: true,
        sku: true,
        ..Default::default()
    };
    let usage = [
        meter.usage(Timestamp(0), end, by_sku).unwrap(),
        meter
            .usage(Timestamp(0), end, trimline::metering::UsageGroupBy::ALL)
            .unwrap(),
    ];
    assert!(usage.iter().all(|u| !u.is_empty()));
    let report = meter.close_period(end, end).unwrap();
    let verdicts = sim.s.explain_substitution(&id("web"), &id("a")).unwrap();
    let deliveries = sim.s.deliveries(end);
    let audit = sim.s.drain_audit();
    assert!(audit.records.len() > 50 && audit.dropped == 0);
    let (pack_spec, packing, options, plans, steps) = pack_and_consolidation_samples();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schema-samples");
    std::fs::create_dir_all(&dir).unwrap();
    // Serialized as text: 128-bit event ids do not fit a `serde_json::Value`.
    fn list<T: serde::Serialize>(values: &[T]) -> String {
        let items: Vec<String> = values
            .iter()
            .map(|v| serde_json::to_string(v).unwrap())
            .collect();
        format!("[{}]", items.join(",\n"))
    }
    for (name, text) in [
        ("decisions", list(&all)),
        ("snapshot", list(&[sim.s.snapshot()])),
        ("sku-verdicts", list(&[verdicts])),
        ("meter-event", list(&events)),
        ("meter-snapshot", list(&[meter.snapshot()])),
        ("period-report", list(&[report])),
        ("audit", list(&[audit])),
        ("counters", list(&[sim.s.counters()])),
        ("delivery", list(&[deliveries])),
        ("pack-spec", list(&[pack_spec])),
        ("partial-packing", list(&[packing])),
        ("consolidation-options", list(&options)),
        ("consolidation-plan", list(&plans)),
        ("consolidation-step", list(&steps)),
        ("meter-usage", list(&usage)),
    ] {
        std::fs::write(dir.join(format!("{name}.json")), text).unwrap();
    }
}

/// Samples of the packing and consolidation shapes: a partial packing that
/// leaves an item over, and a replacing consolidation (a new host and moves
/// onto it) carried out step by step.
#[allow(clippy::type_complexity)]
fn pack_and_consolidation_samples() -> (
    PackSpec,
    PartialPacking,
    Vec<ConsolidationOptions>,
    Vec<ConsolidationPlan>,
    Vec<ConsolidationStep>,
) {
    let spec = PackSpec {
        bins: vec![vec![8, 16], vec![8, 16]],
        items: vec![vec![6, 4], vec![5, 4], vec![3, 8], vec![9, 1]],
        budget: Some(1_000),
        seed: 1,
    };
    let packing = pack_partial(&spec.bins, &spec.items, &spec.options()).unwrap();
    assert!(!packing.unplaced.is_empty());

    let mut sim = Sim::new();
    sim.zones(&["a"]);
    let mut old = sku("old", 16_000, 32_768);
    old.price_nanos_per_second = 1_000;
    let mut new = sku("new", 32_000, 65_536);
    new.price_nanos_per_second = 2_000;
    sim.sku(old);
    sim.sku(new);
    sim.hosts("old", "a", 3);
    sim.app(app("web", 9_000, 16_384));
    let _ = sim.scale("web", 3);
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id("new"), &id("a"), Stock::Known(2), t)
        .unwrap();
    let options = vec![
        ConsolidationOptions::default(),
        ConsolidationOptions::new(None, Some(4))
            .with_replace(ReplaceOptions::new(vec![id("new")], Some(1))),
    ];
    let plans: Vec<ConsolidationPlan> = options
        .iter()
        .map(|o| sim.s.plan_consolidation(o))
        .collect();
    let plan = plans[1].clone();
    assert_eq!(plan.provisions.len(), 1);
    let mut steps = Vec::new();
    loop {
        let t = sim.tick(1);
        let step = sim.s.start_consolidation(&plan, t).unwrap();
        let finished = step.is_finished();
        for p in &step.decisions.provisions {
            let _ = sim.s.host_ready(p.hosts[0], HostId(100), t).unwrap();
        }
        for m in &step.decisions.moves {
            let _ = sim.s.complete_move(m.to, t).unwrap();
        }
        steps.push(step);
        if finished {
            break;
        }
    }
    (spec, packing, options, plans, steps)
}

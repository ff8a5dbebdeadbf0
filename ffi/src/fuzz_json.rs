//! Fuzzing the JSON documents the C API parses: configurations, SKU and
//! app specs, snapshots, price tables, events, SKU descriptions, pack
//! specs, consolidation options and plans, usage groupings, image lists
//! and offering figures.
//!
//! Each case builds a small region through the C API, then makes a
//! sequence of calls, each with a document that is either arbitrary bytes
//! or a valid sample mutated: bytes flipped, inserted or cut, a scalar
//! replaced by an edge value (0, -1, 2^64, 2^128, 1e400, an empty or odd
//! string), a container replaced or spliced in from elsewhere. After every
//! call:
//! - the status is never `TL_STATUS_PANIC` or `TL_STATUS_POISONED`;
//! - a refused call wrote no out-parameter and left the scheduler's and the
//!   meter's snapshots byte-identical;
//! - the scheduler passes `tl_scheduler_check_invariants`, and a handle a
//!   call created passes it too and keeps working;
//! - the region keeps working: a scale-out, metered, still succeeds or is
//!   refused with a status.
//!
//! arbtest runs it for `TRIMLINE_FUZZ_MS` (default 3,000 ms) and prints a
//! seed on failure; `TRIMLINE_FUZZ_SEED=0x...` replays one case. The C
//! crate is not an rlib (see its Cargo.toml), so this harness lives in its
//! unit tests rather than in the cargo-fuzz crate; the snapshot, meter
//! snapshot and event decoders behind some of these documents are
//! cargo-fuzz targets there too.
// Test code: failures are assertions, and the budget comes from the
// environment.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::undocumented_unsafe_blocks
)]

use std::ffi::c_char;
use std::ptr::null_mut;

use arbtest::arbitrary::{Result as ArbResult, Unstructured};

#[path = "../../core/tests/common/arb.rs"]
mod arb;

use crate::buffer::{tl_buffer, tl_buffer_data, tl_buffer_free, tl_buffer_len};
use crate::coldstart::{tl_scheduler_set_host_images, tl_scheduler_set_offering_figures};
use crate::consolidation::{tl_scheduler_plan_consolidation, tl_scheduler_start_consolidation};
use crate::decisions::{tl_decisions, tl_decisions_free};
use crate::error::{tl_error, tl_error_free, tl_status};
use crate::history::tl_meter_usage_json;
use crate::meter::{
    tl_meter, tl_meter_add_price_table_json, tl_meter_close_period, tl_meter_describe_skus_json,
    tl_meter_free, tl_meter_ingest_decisions, tl_meter_ingest_json, tl_meter_new, tl_meter_restore,
    tl_meter_snapshot, tl_report_free,
};
use crate::pack::tl_pack_partial;
use crate::scheduler::{
    tl_mode, tl_scheduler, tl_scheduler_add_app_json, tl_scheduler_add_host,
    tl_scheduler_add_sku_json, tl_scheduler_add_zone, tl_scheduler_check_invariants,
    tl_scheduler_free, tl_scheduler_new, tl_scheduler_reconcile, tl_scheduler_restore,
    tl_scheduler_scale, tl_scheduler_snapshot, tl_zone_state,
};

const SKU: &str = r#"{"id": "g7", "family": "g7", "generation": 7, "arch": "x86_64",
    "cpu_vendor": "intel", "allocatable": {"cpu_millis": 16000, "memory_mib": 65536,
    "accelerators": 2}, "numa_nodes": [{"cpu_millis": 8000, "memory_mib": 32768,
    "accelerators": 1}, {"cpu_millis": 8000, "memory_mib": 32768, "accelerators": 1}],
    "accelerator_model": "t4", "perf_score": 100, "price_nanos_per_second": 1000}"#;
const APP: &str = r#"{"id": "web", "tenant": "t", "resources": {"cpu_millis": 4000,
    "memory_mib": 8192}, "arches": ["x86_64"], "spread": {"max_skew": 1},
    "images": {"x86_64": {"digest": "sha256:web", "size_bytes": 3000000}}}"#;
const PRICES: &str = r#"{"version": 1, "effective": 0, "cpu_nanos_per_vcpu_second": 10000,
    "idle_cpu_nanos_per_vcpu_second": 2000, "memory_nanos_per_gib_second": 1500,
    "accelerator_nanos_per_second": 200000}"#;
const EVENTS: &str = r#"[{"id": 7001, "tenant": "t", "app": "web", "instance": 1,
    "at": 2500, "kind": "idle"}, {"id": 7002, "tenant": "t", "app": "web", "instance": 1,
    "at": 2800, "kind": {"resized": {"resources": {"cpu_millis": 2000, "memory_mib": 4096},
    "delivered": "g7", "zone": "a"}}}]"#;
const PACK: &str = r#"{"bins": [[8, 16], [8, 16]], "items": [[6, 4], [5, 4], [3, 8], [9, 1]],
    "budget": 1000, "seed": 1}"#;

/// The index of the events document among the samples.
const EVENTS_DOC: usize = 10;

/// A region built through the C API: a scheduler and a meter that has
/// metered its decisions.
struct World {
    s: *mut tl_scheduler,
    m: *mut tl_meter,
    now: u64,
}

fn ok(status: tl_status, what: &str) {
    assert_eq!(status, tl_status::Ok, "{what}");
}

/// An error's message ("" for none).
fn message(err: *const tl_error) -> String {
    let mut text = vec![0u8; 4096];
    let mut len = 0;
    let status =
        crate::error::tl_error_message(err, text.as_mut_ptr().cast(), text.len(), &mut len);
    text.truncate(if status == tl_status::Ok { len } else { 0 });
    String::from_utf8_lossy(&text).into_owned()
}

/// Runs a call that must succeed; a failure names its error message.
fn must(what: &str, call: impl FnOnce(*mut *mut tl_error) -> tl_status) {
    let mut err: *mut tl_error = null_mut();
    let status = call(&mut err);
    let text = message(err);
    tl_error_free(err);
    assert_eq!(status, tl_status::Ok, "{what}: {text}");
}

fn bytes(buffer: *mut tl_buffer) -> Vec<u8> {
    assert!(!buffer.is_null());
    let data = tl_buffer_data(buffer);
    let len = tl_buffer_len(buffer);
    // SAFETY: a live buffer's data is valid for its length.
    let out = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
    tl_buffer_free(buffer);
    out
}

/// Undoes a spec's JSON through the core type, so the sample spells out
/// every field (defaults included) for the mutator to reach.
fn spelled_out<T: serde::de::DeserializeOwned + serde::Serialize>(json: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::from_str::<T>(json).unwrap()).unwrap()
}

impl World {
    fn new() -> World {
        let mut s = null_mut();
        ok(
            tl_scheduler_new(std::ptr::null(), 0, &mut s, null_mut()),
            "new",
        );
        for zone in ["a", "b"] {
            ok(
                tl_scheduler_add_zone(
                    s,
                    zone.as_ptr().cast(),
                    1,
                    tl_zone_state::Up as u32,
                    0,
                    null_mut(),
                ),
                "zone",
            );
        }
        must("sku", |e| {
            tl_scheduler_add_sku_json(s, SKU.as_ptr().cast(), SKU.len(), 0, e)
        });
        for host in 1..=4u64 {
            let zone = if host % 2 == 0 { "a" } else { "b" };
            let mut d = null_mut();
            ok(
                tl_scheduler_add_host(
                    s,
                    host,
                    "g7".as_ptr().cast(),
                    2,
                    zone.as_ptr().cast(),
                    1,
                    0,
                    tl_mode::Commit as u32,
                    &mut d,
                    null_mut(),
                ),
                "host",
            );
            tl_decisions_free(d);
        }
        must("app", |e| {
            tl_scheduler_add_app_json(s, APP.as_ptr().cast(), APP.len(), 0, e)
        });
        let mut m = null_mut();
        ok(
            tl_meter_new(std::ptr::null(), 0, &mut m, null_mut()),
            "meter",
        );
        must("prices", |e| {
            tl_meter_add_price_table_json(m, PRICES.as_ptr().cast(), PRICES.len(), e)
        });
        let mut world = World { s, m, now: 1_000 };
        let _ = world.scale("web", 3);
        world.now += 1_000;
        world
    }

    /// Scales `app` to `target` and meters the decisions; returns the
    /// scale call's status.
    fn scale(&mut self, app: &str, target: u32) -> tl_status {
        self.now += 1_000;
        let mut d: *mut tl_decisions = null_mut();
        let status = tl_scheduler_scale(
            self.s,
            app.as_ptr().cast(),
            app.len(),
            target,
            self.now,
            tl_mode::Commit as u32,
            &mut d,
            null_mut(),
        );
        assert_ne!(status, tl_status::Panic, "scale");
        if status == tl_status::Ok {
            let mut n = 0;
            let metered =
                tl_meter_ingest_decisions(self.m, self.s, d, self.now, &mut n, null_mut());
            assert_ne!(metered, tl_status::Panic, "ingest");
            tl_decisions_free(d);
        }
        status
    }

    fn snapshots(&self) -> (Vec<u8>, Vec<u8>) {
        let mut a = null_mut();
        ok(
            tl_scheduler_snapshot(self.s, &mut a, null_mut()),
            "snapshot",
        );
        let mut b = null_mut();
        ok(
            tl_meter_snapshot(self.m, &mut b, null_mut()),
            "meter snapshot",
        );
        (bytes(a), bytes(b))
    }

    /// The valid sample of each document, from this region.
    fn samples(&self) -> Vec<Vec<u8>> {
        let (snapshot, meter_snapshot) = self.snapshots();
        let options = br#"{"max_moves": 4, "replace": {"skus": ["g7"], "max_new_hosts": 1}}"#;
        let mut plan = null_mut();
        must("plan", |e| {
            tl_scheduler_plan_consolidation(
                self.s,
                options.as_ptr().cast(),
                options.len(),
                &mut plan,
                e,
            )
        });
        vec![
            serde_json::to_vec(&trimline::Config::default()).unwrap(),
            snapshot,
            // New ids, so that the samples add a SKU and an app.
            spelled_out::<trimline::SkuSpec>(&SKU.replacen("\"g7\"", "\"g8\"", 1)),
            spelled_out::<trimline::AppSpec>(&APP.replacen("\"web\"", "\"api\"", 1)),
            br#"["sha256:web", "sha256:other"]"#.to_vec(),
            br#"{"sku": "g7", "zone": "a", "provision_seconds": 90, "pull_mb_per_second": 200}"#
                .to_vec(),
            options.to_vec(),
            bytes(plan),
            serde_json::to_vec(&trimline::metering::MeterConfig::default()).unwrap(),
            spelled_out::<trimline::metering::PriceTable>(&PRICES.replacen(
                "\"version\": 1, \"effective\": 0",
                "\"version\": 2, \"effective\": 5000",
                1,
            )),
            EVENTS.as_bytes().to_vec(),
            meter_snapshot,
            br#"[{"sku": "g7", "zone": "a", "arch": "x86_64"}]"#.to_vec(),
            PACK.as_bytes().to_vec(),
            br#"{"tenant": true, "sku": true, "zone": true}"#.to_vec(),
        ]
    }

    /// Calls the entry point of document `target` with `doc`; checks what
    /// a handle it created promises, then frees it.
    fn call(
        &mut self,
        target: usize,
        doc: &[u8],
        u: &mut Unstructured<'_>,
        err: *mut *mut tl_error,
    ) -> ArbResult<tl_status> {
        let p: *const c_char = doc.as_ptr().cast();
        let n = doc.len();
        let now = self.now;
        let status = match target {
            0 => {
                let mut s = null_mut();
                let status = tl_scheduler_new(p, n, &mut s, err);
                created_scheduler(status, s);
                status
            }
            1 => {
                let mut s = null_mut();
                let status = tl_scheduler_restore(doc.as_ptr(), n, &mut s, err);
                created_scheduler(status, s);
                status
            }
            2 => tl_scheduler_add_sku_json(self.s, p, n, now, err),
            3 => tl_scheduler_add_app_json(self.s, p, n, now, err),
            4 => {
                let host = u.int_in_range(1..=5)?;
                tl_scheduler_set_host_images(self.s, host, p, n, now, err)
            }
            5 => tl_scheduler_set_offering_figures(self.s, p, n, now, err),
            6 => {
                let mut plan = null_mut();
                let status = tl_scheduler_plan_consolidation(self.s, p, n, &mut plan, err);
                if status == tl_status::Ok {
                    let plan = bytes(plan);
                    let _ = self.start(&plan, tl_mode::Commit as u32, null_mut());
                } else {
                    assert!(plan.is_null());
                }
                status
            }
            7 => {
                let mode = u.int_in_range(0..=2)?;
                self.start(doc, mode, err)
            }
            8 => {
                let mut m = null_mut();
                let status = tl_meter_new(p, n, &mut m, err);
                created_meter(status, m, now);
                status
            }
            9 => tl_meter_add_price_table_json(self.m, p, n, err),
            EVENTS_DOC => {
                let mut count = usize::MAX;
                let status = tl_meter_ingest_json(self.m, p, n, now, &mut count, err);
                assert!(status == tl_status::Ok || count == usize::MAX);
                status
            }
            11 => {
                let mut m = null_mut();
                let status = tl_meter_restore(doc.as_ptr(), n, &mut m, err);
                created_meter(status, m, now);
                status
            }
            12 => tl_meter_describe_skus_json(self.m, p, n, err),
            13 => {
                // A larger budget only makes the search run longer.
                match serde_json::from_slice::<trimline::pack::PackSpec>(doc) {
                    Ok(spec) if spec.budget.is_none_or(|b| b > 100_000) => {
                        return Ok(tl_status::Ok);
                    }
                    _ => {}
                }
                let mut packing = null_mut();
                let status = tl_pack_partial(p, n, &mut packing, err);
                if status == tl_status::Ok {
                    let packing = bytes(packing);
                    assert!(serde_json::from_slice::<serde_json::Value>(&packing).is_ok());
                } else {
                    assert!(packing.is_null());
                }
                status
            }
            _ => {
                let from = u.int_in_range(0..=now)?;
                let to = now + 1_000 - u.int_in_range(0..=now + 1_000)?;
                let mut usage = null_mut();
                let status = tl_meter_usage_json(self.m, from, to, p, n, &mut usage, err);
                if status == tl_status::Ok {
                    let _ = bytes(usage);
                } else {
                    assert!(usage.is_null());
                }
                status
            }
        };
        Ok(status)
    }

    /// Starts a consolidation plan; on success carries out nothing more
    /// (the moves stay in progress, as an embedder may leave them).
    fn start(&mut self, plan: &[u8], mode: u32, err: *mut *mut tl_error) -> tl_status {
        let mut step = null_mut();
        let status = tl_scheduler_start_consolidation(
            self.s,
            plan.as_ptr().cast(),
            plan.len(),
            self.now,
            mode,
            &mut step,
            err,
        );
        if status == tl_status::Ok {
            let _ = bytes(step);
        } else {
            assert!(step.is_null());
        }
        status
    }
}

impl World {
    /// The meter snapshot of `before` after the first `n` events of `doc`,
    /// sent alone.
    fn meter_after(&self, before: &[u8], doc: &[u8], n: usize) -> Vec<u8> {
        let mut m = null_mut();
        must("restore", |e| {
            tl_meter_restore(before.as_ptr(), before.len(), &mut m, e)
        });
        let events = serde_json::from_slice::<Vec<trimline::metering::Event>>(doc).unwrap();
        let prefix = serde_json::to_vec(&events[..n]).unwrap();
        let mut count = 0;
        must("prefix", |e| {
            tl_meter_ingest_json(
                m,
                prefix.as_ptr().cast(),
                prefix.len(),
                self.now,
                &mut count,
                e,
            )
        });
        assert_eq!(count, n);
        let mut snapshot = null_mut();
        must("snapshot", |e| tl_meter_snapshot(m, &mut snapshot, e));
        tl_meter_free(m);
        bytes(snapshot)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        tl_scheduler_free(self.s);
        tl_meter_free(self.m);
    }
}

/// A scheduler a call created: none on failure; on success it passes the
/// invariants and keeps working.
fn created_scheduler(status: tl_status, s: *mut tl_scheduler) {
    if status != tl_status::Ok {
        assert!(s.is_null(), "a refused call wrote its out-parameter");
        return;
    }
    ok(
        tl_scheduler_check_invariants(s, null_mut()),
        "created scheduler's invariants",
    );
    let mut d = null_mut();
    let status =
        tl_scheduler_reconcile(s, u64::MAX / 2, tl_mode::Commit as u32, &mut d, null_mut());
    assert_ne!(status, tl_status::Panic, "reconcile");
    tl_decisions_free(d);
    ok(
        tl_scheduler_check_invariants(s, null_mut()),
        "invariants after reconcile",
    );
    ok(tl_scheduler_free(s), "free");
}

/// A meter a call created: none on failure; on success it closes a period.
fn created_meter(status: tl_status, m: *mut tl_meter, now: u64) {
    if status != tl_status::Ok {
        assert!(m.is_null(), "a refused call wrote its out-parameter");
        return;
    }
    let mut report = null_mut();
    let closed = tl_meter_close_period(m, now, now, &mut report, null_mut());
    assert_ne!(closed, tl_status::Panic, "close_period");
    tl_report_free(report);
    ok(tl_meter_free(m), "free");
}

/// A byte range of a JSON text.
type Span = (usize, usize);

/// The spans of a JSON text's values: scalars (strings, numbers,
/// literals; not keys) and containers.
fn spans(doc: &[u8]) -> (Vec<Span>, Vec<Span>) {
    let (mut scalars, mut containers, mut open) = (Vec::new(), Vec::new(), Vec::new());
    let mut i = 0;
    while i < doc.len() {
        match doc[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < doc.len() && doc[i] != b'"' {
                    i += if doc[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(doc.len());
                // Keys are left alone: a new key is only an unknown field.
                let rest = doc[i..].iter().find(|c| !c.is_ascii_whitespace());
                if rest != Some(&b':') {
                    scalars.push((start, i));
                }
                continue;
            }
            b'{' | b'[' => open.push(i),
            b'}' | b']' => {
                if let Some(start) = open.pop() {
                    containers.push((start, i + 1));
                }
            }
            c if c == b'-' || c.is_ascii_alphanumeric() => {
                let start = i;
                while i < doc.len() && (doc[i].is_ascii_alphanumeric() || b"+-.".contains(&doc[i]))
                {
                    i += 1;
                }
                scalars.push((start, i));
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    (scalars, containers)
}

const EDGES: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "255",
    "65536",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "170141183460469231731687303715884105727",
    "340282366920938463463374607431768211455",
    "340282366920938463463374607431768211456",
    "1e400",
    "-0",
    "0.5",
    "null",
    "true",
    "false",
    "\"\"",
    "\"a\"",
    "\"b\"",
    "\"g7\"",
    "\"web\"",
    "\"x86_64\"",
    "\"arm64\"",
    "\"\\u0000\"",
    "[]",
    "{}",
];

/// One mutation of a JSON text.
fn mutate(u: &mut Unstructured<'_>, doc: &mut Vec<u8>) -> ArbResult<()> {
    let (scalars, containers) = spans(doc);
    match u.int_in_range(0..=5)? {
        0..=3 if !scalars.is_empty() => {
            let (a, b) = *u.choose(&scalars)?;
            let value = match u.int_in_range(0..=3)? {
                0 => u.arbitrary::<u64>()?.to_string(),
                1 => serde_json::to_string(&u.arbitrary::<String>()?).unwrap(),
                2 => {
                    let (c, d) = *u.choose(&scalars)?;
                    String::from_utf8_lossy(&doc[c..d]).into_owned()
                }
                _ => (*u.choose(EDGES)?).to_owned(),
            };
            doc.splice(a..b, value.into_bytes());
        }
        4 if !containers.is_empty() => {
            let (a, b) = *u.choose(&containers)?;
            let value = if u.ratio(1, 2)? {
                u.choose(EDGES)?.as_bytes().to_vec()
            } else {
                let (c, d) = *u.choose(&containers)?;
                doc[c..d].to_vec()
            };
            doc.splice(a..b, value);
        }
        _ if !doc.is_empty() => {
            let at = u.choose_index(doc.len())?;
            match u.int_in_range(0..=2)? {
                0 => doc[at] = u.arbitrary()?,
                1 => doc.insert(at, u.arbitrary()?),
                _ => doc.truncate(at),
            }
        }
        _ => {}
    }
    Ok(())
}

fn run(u: &mut Unstructured<'_>) -> ArbResult<()> {
    let mut world = World::new();
    let samples = world.samples();
    for _ in 0..u.int_in_range(1..=12)? {
        let target = u.choose_index(samples.len())?;
        let doc = if u.ratio(1, 8)? {
            u.arbitrary::<Vec<u8>>()?
        } else {
            let mut doc = samples[target].clone();
            for _ in 0..u.int_in_range(0..=4)? {
                mutate(u, &mut doc)?;
            }
            doc
        };
        let before = world.snapshots();
        let mut err = null_mut();
        let status = world.call(target, &doc, u, &mut err)?;
        assert_eq!(
            status == tl_status::Ok,
            err.is_null(),
            "an error is written exactly on failure"
        );
        let text = message(err);
        tl_error_free(err);
        assert!(
            !matches!(status, tl_status::Panic | tl_status::Poisoned),
            "document {target} gave {status:?}: {}",
            String::from_utf8_lossy(&doc)
        );
        if status != tl_status::Ok {
            // A batch of events stops at the first one refused, and keeps
            // those before it (documented): the meter is then as if just
            // those had been sent.
            let expected = match text.strip_prefix("event ").and_then(|t| t.split_once(' ')) {
                Some((index, _)) if target == EVENTS_DOC => {
                    let index = index.parse().unwrap();
                    (before.0.clone(), world.meter_after(&before.1, &doc, index))
                }
                _ => before,
            };
            assert!(
                world.snapshots() == expected,
                "a refused call changed the state ({text}): document {target}: {}",
                String::from_utf8_lossy(&doc)
            );
        }
        ok(
            tl_scheduler_check_invariants(world.s, null_mut()),
            "invariants",
        );
        let app = *u.choose(&["web", "api"])?;
        let target = u.int_in_range(0..=8)?;
        let _ = world.scale(app, target);
        ok(
            tl_scheduler_check_invariants(world.s, null_mut()),
            "invariants after scale",
        );
    }
    Ok(())
}

#[test]
fn json_documents_never_panic_and_refusals_change_nothing() {
    arb::fuzz(3_000, run);
}

/// Every sample is valid as it stands, so mutations start from documents
/// the calls accept.
#[test]
fn the_samples_are_accepted() {
    let mut world = World::new();
    let samples = world.samples();
    let mut u = Unstructured::new(&[]);
    for (target, doc) in samples.iter().enumerate() {
        must(&format!("sample {target}"), |e| {
            world.call(target, doc, &mut u, e).unwrap()
        });
    }
}

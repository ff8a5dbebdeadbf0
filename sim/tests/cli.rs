//! The `trimline` binary's exit codes and error messages: a problem of the
//! scenario file is found before anything runs (exit 2, naming the JSON
//! path, nothing on stdout); a call the core refuses during the run exits
//! 1 naming the timeline event.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::path::PathBuf;
use std::process::{Command, Output};

const SKU: &str = r#"{"id": "g7", "family": "g7", "generation": 7, "arch": "x86_64",
    "cpu_vendor": "intel", "vcpus": 16, "memory_gib": 64, "perf_score": 100,
    "price_nanos_per_second": 1000}"#;

/// A small scenario: one zone, two hosts of `sku`, one app, the timeline
/// and the extra top-level fields given.
fn scenario(sku: &str, extra: &str, timeline: &str) -> String {
    format!(
        r#"{{"name": "t", "zones": ["zone-a"], "catalog": [{sku}],
            "hosts": [{{"sku": "g7", "count": 2}}],
            "apps": [{{"id": "web", "tenant": "acme", "cpu_millis": 4000, "memory_mib": 8192}}],
            {extra}
            "timeline": {timeline}}}"#
    )
}

fn simulate(name: &str, text: &str) -> (Output, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.join(format!("cli-{name}.json"));
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trimline"))
        .arg("simulate")
        .arg(&file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, err.replace(&format!("{}: ", file.display()), ""))
}

/// The file is refused before anything runs: exit 2, the message names
/// `path`, and no report was printed.
fn refused(name: &str, text: &str, path: &str) -> String {
    let (out, err) = simulate(name, text);
    assert_eq!(out.status.code(), Some(2), "{name}: {err}");
    assert!(err.starts_with(&format!("{path}: ")), "{name}: {err}");
    assert!(
        out.stdout.is_empty(),
        "{name}: printed before refusing: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    err
}

#[test]
fn a_bad_type_exits_2_naming_its_path() {
    let text = scenario(SKU, "", "[]").replace(r#""cpu_millis": 4000"#, r#""cpu_millis": "x""#);
    let err = refused("type", &text, "apps[0].cpu_millis");
    assert!(err.contains("invalid type"), "{err}");
}

#[test]
fn a_scale_above_the_batch_limit_is_refused_before_the_report_starts() {
    let text = scenario(
        SKU,
        "",
        r#"[{"scale": {"app": "web", "to": 2}}, {"scale": {"app": "web", "to": 1000001}}]"#,
    );
    let err = refused("batch", &text, "timeline[1].scale.to");
    assert!(err.contains("1000001") && err.contains("1000000"), "{err}");
    let text = scenario(
        SKU,
        "",
        r#"[{"dry_run": {"app": "web", "to": 4000000000}}]"#,
    );
    refused("batch-dry", &text, "timeline[0].dry_run.to");
}

#[test]
fn a_wait_that_overflows_the_clock_is_refused_at_its_own_path() {
    let text = scenario(
        SKU,
        "",
        r#"[{"scale": {"app": "web", "to": 2}}, {"wait": {"seconds": 18446744073709551615}},
            {"scale": {"app": "web", "to": 3}}, {"wait": {"seconds": 60}}]"#,
    );
    let err = refused("wait", &text, "timeline[1].wait.seconds");
    assert!(err.contains("18446744073709551615"), "{err}");
    // Two waits that overflow only together: the second is named.
    let text = scenario(
        SKU,
        "",
        r#"[{"wait": {"seconds": 3000000000000000}}, {"wait": {"seconds": 3000000000000000}}]"#,
    );
    refused("wait-sum", &text, "timeline[1].wait.seconds");
}

#[test]
fn zero_numa_nodes_are_refused() {
    let sku = SKU.replace(
        r#""perf_score": 100"#,
        r#""perf_score": 100, "numa_nodes": 0"#,
    );
    let err = refused("numa", &scenario(&sku, "", "[]"), "catalog[0].numa_nodes");
    assert!(err.contains("at least 1"), "{err}");
}

#[test]
fn unknown_names_in_the_timeline_are_refused_at_their_field() {
    let cases = [
        (
            r#"[{"zone_down": {"zone": "zone-x"}}]"#,
            "timeline[0].zone_down.zone",
        ),
        (
            r#"[{"story": {"title": "s"}}, {"stock": {"sku": "g7", "zones": ["zone-a", "zone-x"], "stock": 3}}]"#,
            "timeline[1].stock.zones[1]",
        ),
        (
            r#"[{"explain": {"app": "web", "zone": "zone-x"}}]"#,
            "timeline[0].explain.zone",
        ),
        (r#"[{"idle": {"app": "api"}}]"#, "timeline[0].idle.app"),
        (
            r#"[{"stock": {"sku": "g9", "stock": "exhausted"}}]"#,
            "timeline[0].stock.sku",
        ),
    ];
    for (i, (timeline, path)) in cases.into_iter().enumerate() {
        refused(&format!("name-{i}"), &scenario(SKU, "", timeline), path);
    }
}

#[test]
fn a_call_refused_during_the_run_exits_1_naming_its_event() {
    // Valid on its own; the bill of instances running for 10^15 s at the
    // largest price overflows the meter's arithmetic.
    let text = scenario(
        SKU,
        r#""prices": {"cpu_per_vcpu_second": 18446744073709551615, "idle_cpu_per_vcpu_second": 0},"#,
        r#"[{"scale": {"app": "web", "to": 2}}, {"wait": {"seconds": 1000000000000000}}, {"bill": {}}]"#,
    );
    let (out, err) = simulate("run", &text);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("timeline[2].bill: "), "{err}");
    assert!(err.contains("overflow"), "{err}");
}

#[test]
fn demo_runs_and_schema_matches_the_checked_in_file() {
    let bin = env!("CARGO_BIN_EXE_trimline");
    let out = Command::new(bin).arg("demo").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("trimline: the region and its stories\n"),
        "{text}"
    );
    assert!(!text.to_lowercase().contains("seed"));
    let out = Command::new(bin).arg("schema").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let schema = String::from_utf8(out.stdout).unwrap();
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/schema/scenario.schema.json"
    );
    let checked_in = std::fs::read_to_string(file).unwrap();
    assert!(
        schema == checked_in,
        "core/schema/scenario.schema.json is stale: regenerate it with \
         `cargo run -p trimline-sim -- schema > core/schema/scenario.schema.json`"
    );
    let out = Command::new(bin).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

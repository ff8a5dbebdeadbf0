//! The text report reads plainly: each finding of a review of the demo's
//! output, checked on the demo and the example scenarios.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use trimline_sim::{Scenario, demo_scenario, run};

fn scenario_text(name: &str) -> String {
    let path = format!("{}/scenarios/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let sc = Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    run(&sc).unwrap().to_text()
}

fn demo_text() -> String {
    run(&demo_scenario()).unwrap().to_text()
}

/// The lines of a text, with the wrapped continuation lines joined.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let prev = out.last().map(|l| l.len() - l.trim_start().len());
        match prev {
            Some(p) if indent >= p + 4 && !line.trim_start().starts_with('[') => {
                let last = out.last_mut().unwrap();
                last.push(' ');
                last.push_str(line.trim_start());
            }
            _ => out.push(line.to_string()),
        }
    }
    out
}

#[test]
fn preempted_examples_are_under_their_own_heading() {
    for text in [demo_text(), scenario_text("zone-failure")] {
        let lines = logical_lines(&text);
        let mut heading = None;
        let mut examples = 0;
        for l in &lines {
            if l.trim_start().starts_with("evicted:") {
                heading = Some(l.clone());
            } else if l.trim_start().starts_with("e.g.") {
                let h = heading.as_deref().unwrap_or("");
                assert!(h.contains("preempted"), "{l}\n  under: {h}");
                examples += 1;
            } else {
                heading = None;
            }
        }
        assert!(examples > 0);
    }
}

#[test]
fn moves_say_how_many_start_and_how_many_are_in_flight() {
    let text = scenario_text("zone-failure") + &demo_text();
    let lines = logical_lines(&text);
    let moves: Vec<&String> = lines.iter().filter(|l| l.contains("moves of")).collect();
    assert!(!moves.is_empty());
    for l in moves {
        assert!(!l.contains("moves planned"), "{l}");
        assert!(l.contains("start") || l.contains("started"), "{l}");
        assert!(l.contains("in flight now"), "{l}");
    }
}

#[test]
fn hosts_of_earlier_substitutions_are_not_counted_again() {
    let text = logical_lines(&demo_text()).join("\n");
    assert!(
        text.contains("more hosts came up for earlier substitutions"),
        "{text}"
    );
    assert!(!text.contains("as planned for"), "{text}");
}

#[test]
fn numa_nodes_and_offerings_read_plainly() {
    let text = demo_text().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(!text.contains("rigid vCPU per node"));
    assert!(!text.contains("(offering not offered)"));
    assert!(!text.contains("(offering exhausted)"));
    assert!(text.contains("held by rigid instances on"), "{text}");
    assert!(
        text.contains("node 0 64 of 64 vCPU and 256 of 256 GiB"),
        "{text}"
    );
}

#[test]
fn a_zone_table_is_not_repeated_with_no_event_between() {
    for text in [demo_text(), scenario_text("zone-failure")] {
        let lines: Vec<&str> = text.lines().collect();
        let mut last_table: Option<Vec<&str>> = None;
        let mut i = 0;
        while i < lines.len() {
            let l = lines[i];
            if l.trim_start().starts_with('[') {
                last_table = None;
            }
            if l.trim_start().starts_with("zone ") && l.contains("hosts") {
                let rows: Vec<&str> = lines[i + 1..]
                    .iter()
                    .take_while(|r| r.starts_with("  ") && r.contains('['))
                    .copied()
                    .collect();
                assert_ne!(
                    last_table.as_ref(),
                    Some(&rows),
                    "repeated at line {i}:\n{l}"
                );
                last_table = Some(rows);
            }
            i += 1;
        }
    }
}

#[test]
fn the_demo_speaks_of_the_region_and_its_stories() {
    let text = demo_text();
    assert!(text.starts_with("trimline: the region and its stories\n"));
    assert!(!text.to_lowercase().contains("seed"));
}

#[test]
fn market_open_shows_memory_per_numa_node() {
    let text = demo_text();
    let story = text
        .split("\n3. Market open")
        .nth(1)
        .and_then(|s| s.split("\n4. ").next())
        .unwrap();
    assert!(story.contains("memory per NUMA node"), "{story}");
    assert!(
        story.contains("ecs.g8i.32xlarge   2 nodes of 256 GiB"),
        "{story}"
    );
}

#[test]
fn planned_hosts_print_readably() {
    let text = demo_text();
    assert!(text.contains("(planned-1 to planned-300)"), "{text}");
    assert!(!text.contains("host-92233"), "{text}");
}

#[test]
fn a_skew_over_its_limit_is_a_warning_in_the_audit() {
    // Hosts in one zone only; the app schedules anyway with max skew 1.
    let sc = Scenario::from_json(
        r#"{"name": "lopsided", "zones": ["zone-a", "zone-b"],
            "catalog": [{"id": "g7", "family": "g7", "generation": 7, "arch": "x86_64",
                         "cpu_vendor": "intel", "vcpus": 16, "memory_gib": 64,
                         "perf_score": 100, "price_nanos_per_second": 1000}],
            "hosts": [{"sku": "g7", "count": 2, "zones": ["zone-a"]}],
            "apps": [{"id": "web", "tenant": "acme", "cpu_millis": 2000, "memory_mib": 2048,
                      "spread": {"max_skew": 1, "when_unsatisfiable": "schedule_anyway"}}],
            "timeline": [{"story": {"title": "lopsided"}}, {"scale": {"app": "web", "to": 4}}]}"#,
    )
    .unwrap();
    let report = run(&sc).unwrap();
    assert!(!report.stories[0].audit.all_hold());
    let text = logical_lines(&report.to_text()).join("\n");
    let audit = text.lines().find(|l| l.contains("guarantees")).unwrap();
    assert!(audit.contains("WARNING"), "{audit}");
    assert!(
        text.contains("WARNING: web has skew 4, over its limit 1"),
        "{text}"
    );
}

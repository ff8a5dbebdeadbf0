//! The consolidation scenario: a fragmented region after a scale-down is
//! consolidated, and the report says how many hosts were freed, by how
//! many moves, and what that saves.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use trimline_sim::{Scenario, run};

#[test]
fn the_report_shows_hosts_freed_moves_made_and_cost_saved() {
    let path = format!(
        "{}/scenarios/consolidation.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let sc = Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let report = run(&sc).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    let step = json["stories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["events"].as_array().unwrap())
        .find(|e| e["step"] == "consolidate")
        .expect("a consolidate event")
        .clone();
    let freed = step["freed"].as_array().unwrap().len() as u64;
    assert!(freed >= 8, "{step}");
    assert_eq!(
        step["hosts_before"].as_u64().unwrap() - freed,
        step["hosts_after"].as_u64().unwrap()
    );
    let moves = step["moves_made"].as_u64().unwrap();
    assert!(moves > 0 && moves <= 2 * freed * 4, "{step}");
    assert_eq!(
        step["cost_saved_nanos_per_second"].as_u64().unwrap(),
        freed * 180_000
    );
    let text = report.to_text();
    assert!(
        text.contains(&format!(
            "consolidation: {freed} hosts freed by {moves} moves"
        )),
        "{text}"
    );
    assert!(text.contains(&format!("cost saved: {} nanos per second", freed * 180_000)));
}

//! The `metrics` and `delivery` events: the exposition printed verbatim,
//! and the demo's last story ending on promise versus delivery.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use trimline_sim::report::{EventKind, SubstitutionKind};
use trimline_sim::{Scenario, demo_scenario, run};

#[test]
fn a_metrics_event_prints_the_exposition_verbatim() {
    let path = format!("{}/scenarios/launch-day.json", env!("CARGO_MANIFEST_DIR"));
    let sc = Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let report = run(&sc).unwrap();
    let text = report.to_text();
    let exposition = report
        .stories
        .iter()
        .flat_map(|s| &s.events)
        .find_map(|e| match &e.what {
            EventKind::Metrics(m) => Some(m.text.clone()),
            _ => None,
        })
        .expect("a metrics event");
    assert!(exposition.ends_with("# EOF\n"));
    assert!(text.contains(&exposition), "not verbatim in\n{text}");
    // Its numbers are the run's: 300 game servers placed, 60 of them on
    // the g8i that stands in for g7 (as the report's substitutions say).
    let placed: u64 = [
        "trimline_placements_total ",
        "trimline_tentative_placements_total ",
    ]
    .iter()
    .map(|k| {
        let line = exposition.lines().find(|l| l.starts_with(k)).unwrap();
        line[k.len()..].parse::<u64>().unwrap()
    })
    .sum();
    assert_eq!(placed, 300);
    let substituted: u64 = report
        .substitutions
        .iter()
        .filter(|s| s.kind != SubstitutionKind::Provision)
        .map(|s| s.instances)
        .sum();
    assert_eq!(substituted, 60);
    assert!(exposition.contains(&format!(
        "trimline_substitutions_total{{from=\"ecs.g7.4xlarge\",to=\"ecs.g8i.8xlarge\"}} {substituted}\n"
    )));
}

#[test]
fn the_demo_ends_on_promise_versus_delivery_for_every_app() {
    let sc = demo_scenario();
    let report = run(&sc).unwrap();
    let last = report.stories.last().unwrap();
    let Some(EventKind::Delivery(d)) = last.events.last().map(|e| &e.what) else {
        panic!("the last story does not end on the delivery table");
    };
    let apps: Vec<&str> = d.apps.iter().map(|a| a.app.as_str()).collect();
    let declared: Vec<&str> = sc.apps.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(apps, declared);
    let game = &d.apps[0];
    assert!(game.substitutions > 0 && game.skus.iter().any(|k| k.substitute));
    let text = report.to_text();
    let table = text
        .split("promise versus delivery, per app:")
        .nth(1)
        .unwrap();
    for app in declared {
        assert!(table.contains(&format!("\n    {app} ")), "no row for {app}");
    }
    assert!(table.contains("delivered (asked for ecs.g7.4xlarge): "));
}

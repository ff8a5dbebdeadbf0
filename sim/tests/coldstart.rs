//! The launch-day story's cold-start mix: the dry run before launch equals
//! the real step, in the JSON and in the text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use trimline_sim::report::EventKind;
use trimline_sim::{Scenario, run};

#[test]
fn launch_day_shows_the_cold_start_mix_before_and_after() {
    let path = format!("{}/scenarios/launch-day.json", env!("CARGO_MANIFEST_DIR"));
    let sc = Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let report = run(&sc).unwrap();
    let mut dry = None;
    let mut real = None;
    for e in report.stories.iter().flat_map(|s| &s.events) {
        match &e.what {
            EventKind::DryRun(s) if s.to == 300 => dry = s.outcome.cold_start,
            EventKind::Scale(s) if s.to == 300 => real = s.outcome.cold_start,
            _ => {}
        }
    }
    let (dry, real) = (dry.expect("a dry-run mix"), real.expect("a real mix"));
    assert_eq!(dry, real);
    // 12 of each zone's 20 g7 hosts hold the image; the launch also pulls
    // on the other warm hosts and lands 180 servers on new hosts.
    assert!(dry.warm_with_image.instances > 0);
    assert!(dry.warm_without_image.instances > 0);
    assert_eq!(dry.new_hosts.instances, 180);
    assert_eq!(dry.instances(), 270);
    // 90 s provisioning, then 4 GB at 250 MB/s.
    assert_eq!(dry.new_hosts.ready_ms, 90_000 + 16_000);
    let text = report.to_text();
    let line = format!(
        "cold start: {} warm with image",
        dry.warm_with_image.instances
    );
    assert_eq!(text.matches(&line).count(), 2, "{text}");
    let json = serde_json::to_value(&report).unwrap();
    assert!(json.to_string().contains("\"warm_without_image\""));
}

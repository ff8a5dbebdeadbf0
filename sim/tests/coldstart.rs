//! The launch-day story's cold-start mix before and after a warm pool: the
//! dry run once the pool is up equals the real step, in the JSON and in
//! the text.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use trimline_sim::report::EventKind;
use trimline_sim::{Scenario, run};

#[test]
fn launch_day_shows_the_cold_start_mix_before_and_after() {
    let path = format!("{}/scenarios/launch-day.json", env!("CARGO_MANIFEST_DIR"));
    let sc = Scenario::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let report = run(&sc).unwrap();
    let mut dry = Vec::new();
    let mut real = None;
    let mut pool_ordered = 0;
    let mut refilled = 0;
    for e in report.stories.iter().flat_map(|s| &s.events) {
        match &e.what {
            EventKind::DryRun(s) if s.to == 300 => dry.extend(s.outcome.cold_start),
            EventKind::Scale(s) if s.to == 300 => {
                real = s.outcome.cold_start;
                refilled = warm_pool_hosts(&s.outcome.provisions);
            }
            EventKind::WarmPool(w) => pool_ordered += warm_pool_hosts(&w.outcome.provisions),
            _ => {}
        }
    }
    let [before, after] = dry[..] else {
        panic!("two dry runs of the launch: {dry:?}")
    };
    let real = real.expect("a real mix");
    // The dry run once the pool is up is what the launch does.
    assert_eq!(after, real);
    // 12 of each zone's 20 g7 hosts hold the image; the launch also pulls
    // on the other warm hosts and, before the pool, lands 180 servers on
    // new hosts.
    assert!(before.warm_with_image.instances > 0);
    assert!(before.warm_without_image.instances > 0);
    assert_eq!(before.new_hosts.instances, 180);
    assert_eq!(before.instances(), 270);
    // 90 s provisioning, then 4 GB at 250 MB/s.
    assert_eq!(before.new_hosts.ready_ms, 90_000 + 16_000);
    // The pools: 25 idle g7 hosts in zone-a and zone-c, of which 15 each
    // are idle already, and 5 g8i in zone-b. The 25 hosts ordered take 60
    // servers at once instead of new hosts; the launch draws every pool
    // host and orders the 55 back.
    assert_eq!(pool_ordered, 25);
    assert_eq!(refilled, 55);
    assert_eq!(after.instances(), 270);
    let warm =
        |m: &trimline::ColdStartMix| m.warm_with_image.instances + m.warm_without_image.instances;
    assert_eq!(warm(&after), warm(&before) + 60);
    assert_eq!(after.new_hosts.instances, 120);
    let text = report.to_text();
    let line = |m: &trimline::ColdStartMix| {
        format!(
            "cold start: {} warm with image, {} warm without, {} on new hosts",
            m.warm_with_image.instances, m.warm_without_image.instances, m.new_hosts.instances
        )
    };
    assert_eq!(text.matches(&line(&before)).count(), 1, "{text}");
    assert_eq!(text.matches(&line(&after)).count(), 2, "{text}");
    assert!(text.contains("for the warm pool"), "{text}");
    let json = serde_json::to_value(&report).unwrap();
    assert!(json.to_string().contains("\"warm_without_image\""));
    assert!(json.to_string().contains("\"step\":\"warm_pool\""));
}

/// Hosts the provisions order for warm pools.
fn warm_pool_hosts(provisions: &[trimline::Provision]) -> u32 {
    provisions
        .iter()
        .filter(|p| p.reason == trimline::ProvisionReason::WarmPool)
        .map(|p| p.count)
        .sum()
}

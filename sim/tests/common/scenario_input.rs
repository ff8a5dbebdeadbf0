//! Scenario files from arbitrary input: bytes that start with `{` are read
//! as a scenario as they are; other bytes pick a small example scenario
//! and change numbers and names in its text. Reading gives an error or a
//! scenario; a scenario small enough to run quickly (bounded hosts,
//! instances and steps) runs to a report or a typed error, never a panic,
//! and every scheduler call it makes leaves a state that passes
//! `check_invariants`. `tests/fuzz_scenario.rs` runs it under `cargo test`
//! (arbtest); the fuzz crate runs the same file as a cargo-fuzz target.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use arbitrary::{Result, Unstructured};
use trimline_sim::scenario::Step;
use trimline_sim::{Scenario, run_observed};

/// Small examples to change.
const BASES: [&str; 2] = [
    include_str!("../../scenarios/scale-to-zero.json"),
    include_str!("../../scenarios/zone-failure.json"),
];

/// Most hosts, instances of one scale step, and timeline steps of a
/// scenario that is run (a larger one is only read).
const MAX_HOSTS: u64 = 400;
const MAX_SCALE: u32 = 400;
const MAX_STEPS: usize = 64;

/// Replace one to four runs of digits, or quoted names, in `text`.
fn mutate(u: &mut Unstructured<'_>, text: &str) -> Result<String> {
    let mut text = text.as_bytes().to_vec();
    for _ in 0..u.int_in_range(1..=4)? {
        let digits = u.arbitrary::<bool>()?;
        let mut spans = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if digits && text[i].is_ascii_digit() {
                let start = i;
                while i < text.len() && text[i].is_ascii_digit() {
                    i += 1;
                }
                spans.push((start, i));
            } else if !digits && text[i] == b'"' {
                let start = i + 1;
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += 1;
                }
                spans.push((start, i));
                i += 1;
            } else {
                i += 1;
            }
        }
        if spans.is_empty() {
            break;
        }
        let (start, end) = spans[u.choose_index(spans.len())?];
        let new: Vec<u8> = if digits {
            match u.int_in_range(0..=4)? {
                0 => b"0".to_vec(),
                1 => u64::MAX.to_string().into_bytes(),
                2 => u32::MAX.to_string().into_bytes(),
                3 => "1e400".into(),
                _ => u.arbitrary::<u16>()?.to_string().into_bytes(),
            }
        } else {
            // Another name of the file (a zone for a SKU, say), or nothing.
            let (s, e) = spans[u.choose_index(spans.len())?];
            if u.ratio(1, 8)? {
                Vec::new()
            } else {
                text[s..e].to_vec()
            }
        };
        text.splice(start..end, new);
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// Small enough to run quickly.
fn small(sc: &Scenario) -> bool {
    let zones = sc.zones.len().max(1) as u64;
    let hosts: u64 = sc.hosts.iter().map(|g| u64::from(g.count) * zones).sum();
    hosts <= MAX_HOSTS
        && sc.timeline.len() <= MAX_STEPS
        && sc.timeline.iter().all(|s| match s {
            Step::Scale { to, .. } | Step::DryRun { to, .. } => *to <= MAX_SCALE,
            _ => true,
        })
}

/// One case.
pub fn check(data: &[u8]) -> Result<()> {
    let mut u = Unstructured::new(data);
    let text = if data.first() == Some(&b'{') {
        String::from_utf8_lossy(data).into_owned()
    } else {
        let base = BASES[u.choose_index(BASES.len())?];
        mutate(&mut u, base)?
    };
    let Ok(sc) = Scenario::from_json(&text) else {
        return Ok(());
    };
    if !small(&sc) {
        return Ok(());
    }
    // A report, or a typed error naming the step; every call leaves a
    // sound state.
    let _ = run_observed(&sc, &mut |call| {
        if let Err(v) = call.scheduler.check_invariants() {
            panic!("{}: the state breaks an invariant: {v}", call.path);
        }
    });
    Ok(())
}

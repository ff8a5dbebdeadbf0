//! Metering under arbitrary input (`common/meter_ops.rs`) under `cargo
//! test`: arbtest feeds event streams and meter snapshot bytes for a fixed
//! time budget (`TRIMLINE_FUZZ_MS`, default 1,000 ms each) and, on a
//! failure, prints the seed; `TRIMLINE_FUZZ_SEED=0x...` replays that case.
//! The same code is the `meter_events` and `meter_snapshot` targets of the
//! fuzz crate (`fuzz/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/meter_ops.rs"]
mod meter_ops;

// The test harness reads its budget and seed from the environment; the
// core under test reads none.
#[allow(clippy::disallowed_methods)]
fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

fn arbtest(prop: impl FnMut(&mut arbitrary::Unstructured<'_>) -> arbitrary::Result<()>) {
    let test = arbtest::arbtest(prop);
    match env_u64("TRIMLINE_FUZZ_SEED") {
        Some(seed) => test.seed(seed).run(),
        None => test
            .budget_ms(env_u64("TRIMLINE_FUZZ_MS").unwrap_or(1_000))
            .run(),
    }
}

#[test]
fn event_streams_never_break_the_meter() {
    arbtest(meter_ops::events);
}

#[test]
fn meter_snapshot_bytes_are_refused_or_work() {
    arbtest(|u| {
        let data: &[u8] = u.arbitrary()?;
        meter_ops::snapshot(data);
        Ok(())
    });
}

//! Metering under arbitrary input (`common/meter_ops.rs`) under `cargo
//! test`: arbtest feeds event streams and meter snapshot bytes for a fixed
//! time budget (`TRIMLINE_FUZZ_MS`, default 1,000 ms each) and, on a
//! failure, prints the seed; `TRIMLINE_FUZZ_SEED=0x...` replays that case.
//! The same code is the `meter_events` and `meter_snapshot` targets of the
//! fuzz crate (`fuzz/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/arb.rs"]
mod arb;
#[path = "common/meter_ops.rs"]
mod meter_ops;

fn arbtest(prop: impl FnMut(&mut arbitrary::Unstructured<'_>) -> arbitrary::Result<()>) {
    arb::fuzz(1_000, prop);
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

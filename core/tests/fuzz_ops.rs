//! The operation-sequence harness (`common/ops.rs`) under `cargo test`:
//! arbtest feeds it random bytes for a fixed time budget
//! (`TRIMLINE_FUZZ_MS`, default 3,000 ms) and, on a failure, prints the
//! seed; `TRIMLINE_FUZZ_SEED=0x...` replays that one case. The same
//! harness is the `ops` target of the fuzz crate (`fuzz/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/arb.rs"]
mod arb;
#[path = "common/ops.rs"]
mod ops;

#[test]
fn operation_sequences_keep_every_promise() {
    arb::fuzz(3_000, ops::run);
}

/// A seed that once failed, replayed on every run.
#[test]
fn a_seed_that_failed_once_passes() {
    // After a corrupted snapshot was accepted, the meter refused an event
    // of the decisions; replaying the call's events then expected that
    // refused event to be a duplicate. Only applied events are replayed.
    arbtest::arbtest(ops::run).seed(0xc9db_d351_0000_106a).run();
}

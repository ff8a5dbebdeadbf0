//! Scenario files from arbitrary input (`common/scenario_input.rs`) under
//! `cargo test`: arbtest feeds it bytes for a fixed time budget
//! (`TRIMLINE_FUZZ_MS`, default 1,000 ms) and, on a failure, prints the
//! seed; `TRIMLINE_FUZZ_SEED=0x...` replays that case. The same code is
//! the `scenario` target of the fuzz crate (`fuzz/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../core/tests/common/arb.rs"]
mod arb;
#[path = "common/scenario_input.rs"]
mod scenario_input;

#[test]
fn scenario_input_is_refused_or_runs() {
    arb::fuzz(1_000, |u| {
        let data: &[u8] = u.arbitrary()?;
        scenario_input::check(data)
    });
}

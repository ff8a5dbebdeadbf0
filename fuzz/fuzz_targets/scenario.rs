//! Scenario files (`sim/tests/common/scenario_input.rs`): an error, or a
//! scenario that runs to a report or a typed error, with every call's
//! state passing `check_invariants`.
#![no_main]

#[path = "../../sim/tests/common/scenario_input.rs"]
mod scenario_input;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = scenario_input::check(data);
});

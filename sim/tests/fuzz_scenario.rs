//! Scenario files from arbitrary input (`common/scenario_input.rs`) under
//! `cargo test`: arbtest feeds it bytes for a fixed time budget
//! (`TRIMLINE_FUZZ_MS`, default 1,000 ms) and, on a failure, prints the
//! seed; `TRIMLINE_FUZZ_SEED=0x...` replays that case. The same code is
//! the `scenario` target of the fuzz crate (`fuzz/`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/scenario_input.rs"]
mod scenario_input;

// The test harness reads its budget and seed from the environment.
#[allow(clippy::disallowed_methods)]
fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

#[test]
fn scenario_input_is_refused_or_runs() {
    let test = arbtest::arbtest(|u| {
        let data: &[u8] = u.arbitrary()?;
        scenario_input::check(data)
    });
    match env_u64("TRIMLINE_FUZZ_SEED") {
        Some(seed) => test.seed(seed).run(),
        None => test
            .budget_ms(env_u64("TRIMLINE_FUZZ_MS").unwrap_or(1_000))
            .run(),
    }
}

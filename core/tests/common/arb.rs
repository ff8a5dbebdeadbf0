//! Runs a fuzz harness under `cargo test` with arbtest: for a time budget
//! (`TRIMLINE_FUZZ_MS`, else the harness's default) or, with
//! `TRIMLINE_FUZZ_SEED=0x...`, for the one case a failure printed the seed
//! of. Shared by the fuzz tests of every crate (included with `#[path]`).

use arbtest::arbitrary::{Result, Unstructured};

// The test harness reads its budget and seed from the environment; the
// code under test reads none.
#[allow(clippy::disallowed_methods)]
fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// Runs `prop` for `default_ms` (or as the environment says, above).
pub(crate) fn fuzz(default_ms: u64, prop: impl FnMut(&mut Unstructured<'_>) -> Result<()>) {
    let test = arbtest::arbtest(prop);
    match env_u64("TRIMLINE_FUZZ_SEED") {
        Some(seed) => test.seed(seed).run(),
        None => test
            .budget_ms(env_u64("TRIMLINE_FUZZ_MS").unwrap_or(default_ms))
            .run(),
    }
}

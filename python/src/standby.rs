//! Standby conversions: a placement's standby mark as a string.

use trimline::StandbyMark;

/// `"started"`, `"stopped"` or `None` (a newer mark reads as `"other"`).
pub(crate) fn mark(m: Option<StandbyMark>) -> Option<&'static str> {
    m.map(|m| match m {
        StandbyMark::Started => "started",
        StandbyMark::Stopped => "stopped",
        _ => "other",
    })
}

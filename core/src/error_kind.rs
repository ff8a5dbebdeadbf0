//! One classification of every error the core returns, for embedders and
//! bindings that map errors to status codes or exception classes.
//!
//! The error enums are `#[non_exhaustive]`, so code outside this crate cannot
//! match them without a catch-all arm. [`ErrorKind`] is the stable part:
//! each error enum has a `kind()` method written here as an exhaustive
//! `match`, so a new variant does not compile until it is classified, and
//! [`ErrorKind`] itself is exhaustive, so a binding's `match` on it needs no
//! catch-all arm either. A new kind is a breaking change, on purpose.

use crate::error::{Error, RestoreError};
use crate::ids::NameError;
use crate::metering::{MeterError, MeterRestoreError, PriceError};
use crate::pack::PackError;
use crate::resources::ResourceError;

/// What kind of failure an error is.
///
/// ```
/// use trimline::{AppId, Error, ErrorKind};
///
/// let err = Error::UnknownApp(AppId::new("web")?);
/// assert_eq!(err.kind(), ErrorKind::UnknownId);
/// assert_eq!(err.kind().name(), "unknown_id");
/// # Ok::<(), trimline::NameError>(())
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// A spec, name, amount, price or argument is malformed: fix the input.
    InvalidInput,
    /// The call names a SKU, zone, host, app, instance or offering that does
    /// not exist.
    UnknownId,
    /// The call creates something whose id is taken.
    AlreadyExists,
    /// The call contradicts the current state: an app that still has
    /// instances, a planned host used as a running one, a move that is not in
    /// flight, a metering event that disagrees with what is on record.
    Conflict,
    /// `now` is earlier than the time of an earlier call.
    TimeWentBackwards,
    /// A metering event or period arrives out of order: in a closed period,
    /// before the horizon, ahead of the watermark, or a period that has not
    /// ended yet.
    OutOfOrder,
    /// A limit of the library is reached: a batch above the maximum, a full
    /// class of hosts, an integer that would overflow, an id out of range.
    LimitExceeded,
    /// An all-or-nothing batch does not fit, so nothing was placed. (An
    /// instance that does not fit is not an error: it is pending, with its
    /// explanation.)
    Unschedulable,
    /// A snapshot could not be restored: unsupported format, or a state no
    /// sequence of calls could produce.
    Restore,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::InvalidInput,
        ErrorKind::UnknownId,
        ErrorKind::AlreadyExists,
        ErrorKind::Conflict,
        ErrorKind::TimeWentBackwards,
        ErrorKind::OutOfOrder,
        ErrorKind::LimitExceeded,
        ErrorKind::Unschedulable,
        ErrorKind::Restore,
    ];

    /// The kind's stable snake_case name (`"unknown_id"`).
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::UnknownId => "unknown_id",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::Conflict => "conflict",
            ErrorKind::TimeWentBackwards => "time_went_backwards",
            ErrorKind::OutOfOrder => "out_of_order",
            ErrorKind::LimitExceeded => "limit_exceeded",
            ErrorKind::Unschedulable => "unschedulable",
            ErrorKind::Restore => "restore",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Error {
    /// The kind of failure.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            Error::TimeWentBackwards { .. } => ErrorKind::TimeWentBackwards,
            Error::UnknownSku(_)
            | Error::UnknownZone(_)
            | Error::UnknownHost(_)
            | Error::UnknownApp(_)
            | Error::UnknownInstance(_)
            | Error::UnknownOffering { .. } => ErrorKind::UnknownId,
            Error::ReservedHostId(_)
            | Error::InvalidSku { .. }
            | Error::InvalidApp { .. }
            | Error::ColdStart(_) => ErrorKind::InvalidInput,
            Error::PlannedHost(_)
            | Error::NotPlanned(_)
            | Error::NoMove(_)
            | Error::MoveNotReady(_)
            | Error::AppHasInstances { .. } => ErrorKind::Conflict,
            Error::DuplicateSku(_)
            | Error::DuplicateZone(_)
            | Error::DuplicateHost(_)
            | Error::DuplicateApp(_) => ErrorKind::AlreadyExists,
            Error::BatchTooLarge { .. }
            | Error::TooManyInstances { .. }
            | Error::InstanceIdsExhausted { .. }
            | Error::ClassFull { .. }
            | Error::LimitReached { .. } => ErrorKind::LimitExceeded,
            Error::GangUnschedulable { .. } => ErrorKind::Unschedulable,
        }
    }
}

impl RestoreError {
    /// The kind of failure: always [`ErrorKind::Restore`].
    pub const fn kind(&self) -> ErrorKind {
        match self {
            RestoreError::Format { .. }
            | RestoreError::Invalid(_)
            | RestoreError::Config(_)
            | RestoreError::Counter(_)
            | RestoreError::SlotOutOfRange { .. }
            | RestoreError::PendingInFuture { .. }
            | RestoreError::SlotTaken { .. }
            | RestoreError::InstanceId { .. }
            | RestoreError::DuplicateInstance(_)
            | RestoreError::PlannedHost { .. }
            | RestoreError::BadPlacement { .. }
            | RestoreError::StopsAtNow { .. }
            | RestoreError::Offering { .. }
            | RestoreError::BackoffTooLong { .. }
            | RestoreError::SkuCannotServe { .. }
            | RestoreError::ZoneNotAllowed { .. }
            | RestoreError::ProvisionMixed { .. }
            | RestoreError::TooMany { .. } => ErrorKind::Restore,
        }
    }
}

impl MeterError {
    /// The kind of failure.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            MeterError::Conflict { .. }
            | MeterError::OwnerMismatch { .. }
            | MeterError::AlreadyRunning { .. }
            | MeterError::NotRunning { .. }
            | MeterError::DecisionsMismatch { .. }
            | MeterError::SkuConflict { .. } => ErrorKind::Conflict,
            MeterError::OutOfOrder { .. }
            | MeterError::BeforeHorizon { .. }
            | MeterError::AheadOfWatermark { .. }
            | MeterError::StaleVersion { .. }
            | MeterError::PriceInClosedPeriod { .. }
            | MeterError::PeriodNotOver { .. } => ErrorKind::OutOfOrder,
            MeterError::NoPrice { .. }
            | MeterError::InvalidPrice { .. }
            | MeterError::EmptyPeriod { .. }
            | MeterError::UsageInterval { .. }
            | MeterError::InvoiceUnit { .. } => ErrorKind::InvalidInput,
            MeterError::UnknownApp(_) => ErrorKind::UnknownId,
            MeterError::Overflow { .. }
            | MeterError::IdOutOfRange { .. }
            | MeterError::TooManyPriceTables
            | MeterError::TooManySkus => ErrorKind::LimitExceeded,
        }
    }
}

impl MeterRestoreError {
    /// The kind of failure: always [`ErrorKind::Restore`].
    pub const fn kind(&self) -> ErrorKind {
        match self {
            MeterRestoreError::Format { .. }
            | MeterRestoreError::Rejected(_)
            | MeterRestoreError::Period { .. }
            | MeterRestoreError::InstanceOrder { .. }
            | MeterRestoreError::Event { .. }
            | MeterRestoreError::DuplicateId { .. }
            | MeterRestoreError::Instance { .. }
            | MeterRestoreError::Adjustment { .. }
            | MeterRestoreError::SkuOrder { .. }
            | MeterRestoreError::History { .. } => ErrorKind::Restore,
        }
    }
}

impl PriceError {
    /// The kind of failure: always [`ErrorKind::InvalidInput`].
    pub const fn kind(&self) -> ErrorKind {
        match self {
            PriceError::NegativeRate { .. }
            | PriceError::IdleAboveActive { .. }
            | PriceError::BillingIncrement { .. }
            | PriceError::DiscountAboveFull { .. }
            | PriceError::InexactDiscount { .. }
            | PriceError::DuplicatePlan { .. }
            | PriceError::EmptySkuSelector
            | PriceError::DuplicateSkuRate { .. }
            | PriceError::InSkuRate { .. }
            | PriceError::TierOrder { .. }
            | PriceError::FreeQuota { .. } => ErrorKind::InvalidInput,
        }
    }
}

impl NameError {
    /// The kind of failure: always [`ErrorKind::InvalidInput`].
    pub const fn kind(&self) -> ErrorKind {
        match self {
            NameError::Empty { .. } | NameError::TooLong { .. } | NameError::BadChar { .. } => {
                ErrorKind::InvalidInput
            }
        }
    }
}

impl ResourceError {
    /// The kind of failure: always [`ErrorKind::InvalidInput`].
    pub const fn kind(&self) -> ErrorKind {
        match self {
            ResourceError::Zero { .. } | ResourceError::TooLarge { .. } => ErrorKind::InvalidInput,
        }
    }
}

impl PackError {
    /// The kind of failure: [`ErrorKind::Unschedulable`] when the listed
    /// bins cannot hold the items, else [`ErrorKind::InvalidInput`].
    pub const fn kind(&self) -> ErrorKind {
        match self {
            PackError::Dimensions { .. }
            | PackError::NoBins
            | PackError::RaggedBin { .. }
            | PackError::RaggedItem { .. }
            | PackError::ItemFitsNoBin { .. }
            | PackError::WarmStartLength { .. }
            | PackError::WarmStartUnknownBin { .. }
            | PackError::WarmStartOverfull { .. } => ErrorKind::InvalidInput,
            PackError::NotEnoughBins { .. } => ErrorKind::Unschedulable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AppId, HostId, SkuId};

    #[test]
    fn names_are_distinct_snake_case() {
        let mut names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorKind::ALL.len());
    }

    #[test]
    fn errors_are_classified() -> Result<(), NameError> {
        assert_eq!(
            Error::UnknownSku(SkuId::new("s")?).kind(),
            ErrorKind::UnknownId
        );
        assert_eq!(
            Error::DuplicateApp(AppId::new("a")?).kind(),
            ErrorKind::AlreadyExists
        );
        assert_eq!(Error::PlannedHost(HostId(1)).kind(), ErrorKind::Conflict);
        let late = Error::TimeWentBackwards {
            last: crate::Timestamp::from_millis(2),
            now: crate::Timestamp::from_millis(1),
        };
        assert_eq!(late.kind(), ErrorKind::TimeWentBackwards);
        assert_eq!(RestoreError::Invalid(late).kind(), ErrorKind::Restore);
        assert_eq!(
            NameError::Empty { kind: "app" }.kind(),
            ErrorKind::InvalidInput
        );
        Ok(())
    }

    #[test]
    fn pack_errors_are_invalid_input_or_unschedulable() {
        let short = PackError::NotEnoughBins {
            bins: 1,
            lower_bound: 2,
            unplaced: 0,
        };
        assert_eq!(short.kind(), ErrorKind::Unschedulable);
        assert_eq!(PackError::NoBins.kind(), ErrorKind::InvalidInput);
    }
}

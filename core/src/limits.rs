//! The library's limits, each refused with an error that names its number.
//!
//! | What | Limit | Refused with |
//! |---|---|---|
//! | hosts, running and planned | [`MAX_HOSTS`] (4,194,304) | [`Error::LimitReached`] |
//! | SKUs | [`MAX_SKUS`] (4,096) | [`Error::LimitReached`] |
//! | zones | [`MAX_ZONES`] (1,024) | [`Error::LimitReached`] |
//! | apps | [`MAX_APPS`] (1,048,576) | [`Error::LimitReached`] |
//! | instances, placed and pending | [`MAX_INSTANCES`] (4,294,967,295) | [`Error::TooManyInstances`] |
//! | instances created by one call | [`Config::max_batch`](crate::Config::max_batch), at most [`MAX_BATCH`] (16,777,216) | [`Error::BatchTooLarge`] |
//! | hosts of one (SKU, zone) class | [`MAX_CLASS_SLOTS`](crate::MAX_CLASS_SLOTS) (1,048,576) | [`Error::ClassFull`] |
//! | name length | [`MAX_NAME_LEN`](crate::MAX_NAME_LEN) (128 bytes) | [`NameError::TooLong`](crate::NameError::TooLong) |
//! | NUMA nodes of a SKU | [`MAX_NUMA_NODES`](crate::MAX_NUMA_NODES) (16) | [`SkuError::TooManyNumaNodes`](crate::SkuError::TooManyNumaNodes) |
//! | preference tiers of an app | [`MAX_TIERS`] (64) | [`AppError::TooManyTiers`](crate::AppError::TooManyTiers) |
//! | price tables (versions) of a meter | [`MAX_PRICE_TABLES`] (4,096) | [`MeterError::TooManyPriceTables`](crate::metering::MeterError::TooManyPriceTables) |
//!
//! Why these numbers: each is well above what one region holds (the
//! largest public clouds list a few hundred instance types and a few
//! dozen zones per region), and low enough that a scheduler at the limit
//! still fits in memory: at [`MAX_HOSTS`], hosts take about 1 GiB. A
//! restored snapshot is held to the same limits, its lists measured before
//! anything is rebuilt, and a batch is checked before a single instance is
//! created, so an absurd request is refused at once instead of allocating
//! until the process dies.

use std::fmt;

use crate::error::{Error, Grouped};

/// Most hosts a scheduler holds, running and planned.
pub const MAX_HOSTS: usize = 1 << 22;
/// Most SKUs in the catalog.
pub const MAX_SKUS: usize = 4_096;
/// Most zones.
pub const MAX_ZONES: usize = 1_024;
/// Most apps.
pub const MAX_APPS: usize = 1 << 20;
/// Most instances a scheduler holds, placed and pending (instance
/// positions are `u32`).
pub const MAX_INSTANCES: usize = u32::MAX as usize;
/// Largest [`Config::max_batch`](crate::Config::max_batch): no call creates
/// more instances than this, whatever the configuration says.
pub const MAX_BATCH: u32 = 1 << 24;
/// Most preference tiers in an app's
/// [`SubstitutionPolicy::tiers`](crate::SubstitutionPolicy::tiers).
pub const MAX_TIERS: usize = 64;
/// Most price tables (versions) a meter holds.
pub const MAX_PRICE_TABLES: usize = 4_096;

/// A count the scheduler bounds: see the [module](self) table.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Limit {
    /// [`MAX_HOSTS`].
    Hosts,
    /// [`MAX_SKUS`].
    Skus,
    /// [`MAX_ZONES`].
    Zones,
    /// [`MAX_APPS`].
    Apps,
}

impl Limit {
    /// The limit's number.
    pub const fn maximum(self) -> usize {
        match self {
            Limit::Hosts => MAX_HOSTS,
            Limit::Skus => MAX_SKUS,
            Limit::Zones => MAX_ZONES,
            Limit::Apps => MAX_APPS,
        }
    }

    /// What it counts, plural (`"hosts"`).
    pub const fn name(self) -> &'static str {
        match self {
            Limit::Hosts => "hosts",
            Limit::Skus => "SKUs",
            Limit::Zones => "zones",
            Limit::Apps => "apps",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", Grouped(self.maximum() as u64), self.name())
    }
}

/// The limits a scheduler enforces: the constants, lowered in unit tests
/// so that reaching them takes a handful of calls.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub(crate) hosts: usize,
    pub(crate) skus: usize,
    pub(crate) zones: usize,
    pub(crate) apps: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            hosts: MAX_HOSTS,
            skus: MAX_SKUS,
            zones: MAX_ZONES,
            apps: MAX_APPS,
        }
    }
}

impl Limits {
    fn of(&self, limit: Limit) -> usize {
        match limit {
            Limit::Hosts => self.hosts,
            Limit::Skus => self.skus,
            Limit::Zones => self.zones,
            Limit::Apps => self.apps,
        }
    }

    /// `Ok` if `held` is below the limit, so one more fits.
    pub(crate) fn room(&self, limit: Limit, held: usize) -> Result<(), Error> {
        self.fits(limit, held.saturating_add(1))
    }

    /// `Ok` if `count` is within the limit.
    pub(crate) fn fits(&self, limit: Limit, count: usize) -> Result<(), Error> {
        if count > self.of(limit) {
            return Err(Error::LimitReached { limit });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        AppId, AppSpec, Arch, HostId, HostSpec, Resources, Scheduler, SkuSpec, Stock, Timestamp,
        ZoneState,
    };

    fn sku() -> SkuSpec {
        SkuSpec {
            id: "g7".parse().unwrap_or_else(|_| unreachable!()),
            family: "g7".parse().unwrap_or_else(|_| unreachable!()),
            generation: 7,
            arch: Arch::X86_64,
            cpu_vendor: "intel".parse().unwrap_or_else(|_| unreachable!()),
            allocatable: Resources::cpu_mem(4_000, 8_192).unwrap_or_else(|_| unreachable!()),
            perf_score: 100,
            numa_nodes: vec![],
            features: Default::default(),
            accelerator_model: None,
            local_disk: None,
            price_nanos_per_second: 1_000,
        }
    }

    fn app(name: &str) -> AppSpec {
        AppSpec::new(
            name.parse().unwrap_or_else(|_| unreachable!()),
            "t".parse().unwrap_or_else(|_| unreachable!()),
            Resources::cpu_mem(4_000, 8_192).unwrap_or_else(|_| unreachable!()),
        )
    }

    /// A scheduler whose host and app limits are 2, with one zone and SKU.
    fn small() -> Result<Scheduler, Error> {
        let mut s = Scheduler::default();
        s.limits.hosts = 2;
        s.limits.apps = 2;
        let t = Timestamp(0);
        s.add_zone(
            "a".parse().unwrap_or_else(|_| unreachable!()),
            ZoneState::Up,
            t,
        )?;
        s.add_sku(sku(), t)?;
        Ok(s)
    }

    fn host(id: u64) -> HostSpec {
        HostSpec {
            id: HostId(id),
            sku: "g7".parse().unwrap_or_else(|_| unreachable!()),
            zone: "a".parse().unwrap_or_else(|_| unreachable!()),
        }
    }

    #[test]
    fn the_host_past_the_limit_is_refused() -> Result<(), Error> {
        let mut s = small()?;
        let _ = s.add_host(host(1), Timestamp(0))?;
        let _ = s.add_host(host(2), Timestamp(0))?;
        let before = s.snapshot();
        let e = s.add_host(host(3), Timestamp(1));
        assert_eq!(
            e,
            Err(Error::LimitReached {
                limit: Limit::Hosts
            })
        );
        assert_eq!(s.snapshot(), before);
        Ok(())
    }

    /// Provisioning plans no host past the limit: what does not fit waits.
    #[test]
    fn planning_stops_at_the_host_limit() -> Result<(), Error> {
        let mut s = small()?;
        let _ = s.add_host(host(1), Timestamp(0))?;
        let web: AppId = "web".parse().unwrap_or_else(|_| unreachable!());
        s.add_app(app("web"), Timestamp(0))?;
        let (g7, a) = (
            "g7".parse().unwrap_or_else(|_| unreachable!()),
            "a".parse().unwrap_or_else(|_| unreachable!()),
        );
        let _ = s.set_stock(&g7, &a, Stock::Known(10), Timestamp(0))?;
        let d = s.scale(&web, 4, Timestamp(1))?;
        assert_eq!(d.placements.len(), 1);
        assert_eq!(d.tentative.len(), 1, "{d:?}");
        assert_eq!(d.pending.len(), 2);
        assert_eq!(s.host_count(), 2);
        assert!(s.check_invariants().is_ok());
        Ok(())
    }

    #[test]
    fn the_app_past_the_limit_is_refused() -> Result<(), Error> {
        let mut s = small()?;
        s.add_app(app("a1"), Timestamp(0))?;
        s.add_app(app("a2"), Timestamp(0))?;
        let e = s.add_app(app("a3"), Timestamp(0));
        assert_eq!(e, Err(Error::LimitReached { limit: Limit::Apps }));
        assert_eq!(
            Error::LimitReached { limit: Limit::Apps }.to_string(),
            "the scheduler already holds 1,048,576 apps, the most it can hold"
        );
        Ok(())
    }
}

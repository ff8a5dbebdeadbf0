//! The scenario format: a region (catalog, zones, hosts, stock), apps, prices
//! and a timeline of events. The README documents it field by field.
//!
//! Loading checks the JSON against the format (a bad field is reported with
//! its JSON path and what was expected) and then builds the scheduler (a
//! value the scheduler refuses is reported with the path of the entry that
//! carried it).

use std::collections::BTreeSet;
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use trimline::metering::{PriceTable, SubSecond};
use trimline::*;

/// A scenario, as read from JSON.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Scenario {
    /// Shown at the top of the report.
    pub(crate) name: String,
    /// One paragraph, shown under the name.
    #[serde(default)]
    pub(crate) description: String,
    /// Seconds from a provisioning request to the host being ready.
    #[serde(default = "default_provision_seconds")]
    pub(crate) provision_seconds: u64,
    /// Seconds from a move being planned to its replacement running.
    #[serde(default = "default_move_seconds")]
    pub(crate) move_seconds: u64,
    /// Zone names, in declaration order (all up at the start).
    pub(crate) zones: Vec<ZoneId>,
    /// Host types.
    pub(crate) catalog: Vec<SkuDef>,
    /// Hosts running at the start.
    pub(crate) hosts: Vec<HostGroup>,
    /// What the cloud can provision at the start.
    #[serde(default)]
    pub(crate) stock: Vec<StockDef>,
    /// Applications (declared with no instances; the timeline scales them).
    pub(crate) apps: Vec<AppDef>,
    /// Metering prices.
    #[serde(default)]
    pub(crate) prices: Prices,
    /// What happens, in order.
    pub(crate) timeline: Vec<Step>,
}

fn default_provision_seconds() -> u64 {
    120
}

fn default_move_seconds() -> u64 {
    30
}

/// A host type.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SkuDef {
    pub(crate) id: SkuId,
    pub(crate) family: Label,
    pub(crate) generation: u32,
    pub(crate) arch: Arch,
    pub(crate) cpu_vendor: Label,
    pub(crate) vcpus: u64,
    pub(crate) memory_gib: u64,
    #[serde(default = "default_host_network")]
    pub(crate) network_mbps: u64,
    #[serde(default)]
    pub(crate) gpus: u64,
    /// NUMA nodes, each an equal share of everything.
    #[serde(default = "one")]
    pub(crate) numa_nodes: u64,
    pub(crate) perf_score: u32,
    #[serde(default)]
    pub(crate) features: BTreeSet<Label>,
    #[serde(default)]
    pub(crate) accelerator_model: Option<Label>,
    #[serde(default)]
    pub(crate) local_disk: Option<Label>,
    pub(crate) price_nanos_per_second: u64,
}

fn default_host_network() -> u64 {
    32_000
}

fn one() -> u64 {
    1
}

/// `count` hosts of a SKU in each of `zones` (every zone when empty).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostGroup {
    pub(crate) sku: SkuId,
    #[serde(default)]
    pub(crate) zones: Vec<ZoneId>,
    pub(crate) count: u32,
}

/// The stock of a SKU in each of `zones` (every zone when empty).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StockDef {
    pub(crate) sku: SkuId,
    #[serde(default)]
    pub(crate) zones: Vec<ZoneId>,
    pub(crate) stock: StockValue,
}

/// A host count, `"unknown"` or `"exhausted"`.
#[derive(Copy, Clone, Debug)]
pub(crate) struct StockValue(pub(crate) Stock);

impl JsonSchema for StockValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StockValue".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A host count, \"unknown\" or \"exhausted\".",
            "oneOf": [
                { "type": "integer", "minimum": 0, "maximum": u32::MAX },
                { "enum": ["unknown", "exhausted"] }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for StockValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StockValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a host count, "unknown" or "exhausted""#)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<StockValue, E> {
                u32::try_from(n)
                    .map(|n| StockValue(Stock::Known(n)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(n), &self))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<StockValue, E> {
                match s {
                    "unknown" => Ok(StockValue(Stock::Unknown)),
                    "exhausted" => Ok(StockValue(Stock::Exhausted)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// An application.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppDef {
    pub(crate) id: AppId,
    pub(crate) tenant: TenantId,
    pub(crate) cpu_millis: u64,
    pub(crate) memory_mib: u64,
    #[serde(default = "default_app_network")]
    pub(crate) network_mbps: u64,
    #[serde(default)]
    pub(crate) gpus: u64,
    #[serde(default = "default_arches")]
    pub(crate) arches: BTreeSet<Arch>,
    #[serde(default)]
    pub(crate) features: BTreeSet<Label>,
    #[serde(default)]
    pub(crate) min_perf_score: u32,
    #[serde(default)]
    pub(crate) qos: QosTier,
    #[serde(default)]
    pub(crate) numa: NumaPolicy,
    #[serde(default)]
    pub(crate) priority: i32,
    #[serde(default)]
    pub(crate) sku: Option<SkuId>,
    #[serde(default)]
    pub(crate) accelerator_model: Option<Label>,
    #[serde(default)]
    pub(crate) local_disk: Option<Label>,
    #[serde(default)]
    pub(crate) spread: SpreadPolicy,
    #[serde(default)]
    pub(crate) substitution: SubstitutionPolicy,
}

fn default_app_network() -> u64 {
    100
}

fn default_arches() -> BTreeSet<Arch> {
    BTreeSet::from([Arch::X86_64])
}

/// Metering prices, in nano-units.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Prices {
    pub(crate) cpu_per_vcpu_second: u64,
    pub(crate) idle_cpu_per_vcpu_second: u64,
    pub(crate) memory_per_gib_second: u64,
    pub(crate) idle_memory_per_gib_second: Option<u64>,
    pub(crate) accelerator_per_second: u64,
    pub(crate) minimum_run_seconds: u64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            cpu_per_vcpu_second: 10_000,
            idle_cpu_per_vcpu_second: 2_000,
            memory_per_gib_second: 1_500,
            idle_memory_per_gib_second: None,
            accelerator_per_second: 200_000,
            minimum_run_seconds: 0,
        }
    }
}

impl Prices {
    pub(crate) fn table(&self) -> PriceTable {
        let mut t = PriceTable::new(
            1,
            Timestamp(0),
            i128::from(self.cpu_per_vcpu_second),
            i128::from(self.memory_per_gib_second),
            i128::from(self.accelerator_per_second),
        );
        t.idle_cpu_nanos_per_vcpu_second = i128::from(self.idle_cpu_per_vcpu_second);
        t.idle_memory_nanos_per_gib_second = self.idle_memory_per_gib_second.map(i128::from);
        t.minimum_run_seconds = self.minimum_run_seconds;
        t.sub_second = SubSecond::RoundUp;
        t
    }
}

/// One event of the timeline.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Step {
    /// A new section of the report.
    Story {
        title: String,
        #[serde(default)]
        text: String,
    },
    /// Scale an app to `to` instances (optionally showing the dry run first).
    Scale {
        app: AppId,
        to: u32,
        #[serde(default)]
        dry_run_first: bool,
    },
    /// What scaling would do, changing nothing.
    DryRun { app: AppId, to: u32 },
    /// Every SKU's verdict for the app in the zone.
    Explain { app: AppId, zone: ZoneId },
    /// The cloud's stock changes (`"exhausted"`: a stock-out).
    Stock {
        sku: SkuId,
        #[serde(default)]
        zones: Vec<ZoneId>,
        stock: StockValue,
    },
    /// Time passes: hosts become ready, moves complete, rebalance goes on.
    Wait { seconds: u64 },
    /// A zone is lost.
    ZoneDown { zone: ZoneId },
    /// A zone returns.
    ZoneUp { zone: ZoneId },
    /// Every instance of the app goes idle (billed at the idle rate).
    Idle { app: AppId },
    /// Every instance of the app is active again.
    Active { app: AppId },
    /// Which apps losing each zone now would leave short.
    Survive {},
    /// Utilisation per zone and per SKU.
    Utilisation {},
    /// Close the billing period now and print the invoices.
    Bill {},
}

impl Step {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Step::Story { .. } => "story",
            Step::Scale { .. } => "scale",
            Step::DryRun { .. } => "dry_run",
            Step::Explain { .. } => "explain",
            Step::Stock { .. } => "stock",
            Step::Wait { .. } => "wait",
            Step::ZoneDown { .. } => "zone_down",
            Step::ZoneUp { .. } => "zone_up",
            Step::Idle { .. } => "idle",
            Step::Active { .. } => "active",
            Step::Survive {} => "survive",
            Step::Utilisation {} => "utilisation",
            Step::Bill {} => "bill",
        }
    }
}

/// A scenario that could not be loaded: where, and what is wrong.
#[derive(Debug)]
pub(crate) struct LoadError {
    pub(crate) path: String,
    pub(crate) message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for LoadError {}

fn at(path: impl Into<String>, e: impl fmt::Display) -> LoadError {
    LoadError {
        path: path.into(),
        message: e.to_string(),
    }
}

impl Scenario {
    /// Parse JSON; a bad value is reported with its JSON path.
    pub(crate) fn from_json(text: &str) -> Result<Scenario, LoadError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            // serde_json appends " at line L column C": keep it, it helps.
            at(path, inner)
        })
    }

    /// Build the region: zones, catalog, hosts, stock, apps. Host ids are
    /// 1, 2, ... in the order listed.
    pub(crate) fn build(&self) -> Result<Scheduler, LoadError> {
        let mut s = Scheduler::default();
        for (i, z) in self.zones.iter().enumerate() {
            s.add_zone(z.clone(), ZoneState::Up, s.now())
                .map_err(|e| at(format!("zones[{i}]"), e))?;
        }
        for (i, k) in self.catalog.iter().enumerate() {
            s.add_sku(
                k.spec().map_err(|e| at(format!("catalog[{i}]"), e))?,
                s.now(),
            )
            .map_err(|e| at(format!("catalog[{i}]"), e))?;
        }
        let mut next = 1;
        for (i, g) in self.hosts.iter().enumerate() {
            for zone in self.zones_or_all(&g.zones) {
                for _ in 0..g.count {
                    let spec = HostSpec {
                        id: HostId(next),
                        sku: g.sku.clone(),
                        zone: zone.clone(),
                    };
                    let _ = s
                        .add_host(spec, Timestamp(0))
                        .map_err(|e| at(format!("hosts[{i}]"), e))?;
                    next += 1;
                }
            }
        }
        for (i, st) in self.stock.iter().enumerate() {
            for zone in self.zones_or_all(&st.zones) {
                let _ = s
                    .set_stock(&st.sku, zone, st.stock.0, Timestamp(0))
                    .map_err(|e| at(format!("stock[{i}]"), e))?;
            }
        }
        for (i, a) in self.apps.iter().enumerate() {
            s.add_app(a.spec().map_err(|e| at(format!("apps[{i}]"), e))?, s.now())
                .map_err(|e| at(format!("apps[{i}]"), e))?;
        }
        self.prices
            .table()
            .validate()
            .map_err(|e| at("prices", e))?;
        // Names in the timeline must exist before anything runs.
        for (i, step) in self.timeline.iter().enumerate() {
            let path = format!("timeline[{i}].{}", step.name());
            let (app, zones, sku): (Option<&AppId>, &[ZoneId], Option<&SkuId>) = match step {
                Step::Scale { app, .. }
                | Step::DryRun { app, .. }
                | Step::Idle { app }
                | Step::Active { app } => (Some(app), &[], None),
                Step::Explain { app, zone } => (Some(app), std::slice::from_ref(zone), None),
                Step::Stock { sku, zones, .. } => (None, zones.as_slice(), Some(sku)),
                Step::ZoneDown { zone } | Step::ZoneUp { zone } => {
                    (None, std::slice::from_ref(zone), None)
                }
                _ => (None, &[], None),
            };
            if let Some(app) = app.filter(|a| s.app(a).is_none()) {
                return Err(at(format!("{path}.app"), format!("no app {app} in apps")));
            }
            if let Some(z) = zones.iter().find(|z| s.zone_state(z).is_none()) {
                return Err(at(path, format!("no zone {z} in zones")));
            }
            if let Some(k) = sku.filter(|k| s.sku(k).is_none()) {
                return Err(at(format!("{path}.sku"), format!("no SKU {k} in catalog")));
            }
        }
        Ok(s)
    }

    /// `zones`, or every declared zone when it is empty.
    pub(crate) fn zones_or_all<'a>(&'a self, zones: &'a [ZoneId]) -> &'a [ZoneId] {
        if zones.is_empty() { &self.zones } else { zones }
    }
}

impl SkuDef {
    fn spec(&self) -> Result<SkuSpec, ResourceError> {
        let n = self.numa_nodes.max(1);
        let node = Resources::new(
            self.vcpus * 1000 / n,
            self.memory_gib * 1024 / n,
            self.network_mbps / n,
            self.gpus / n,
        )?;
        Ok(SkuSpec {
            id: self.id.clone(),
            family: self.family.clone(),
            generation: self.generation,
            arch: self.arch,
            cpu_vendor: self.cpu_vendor.clone(),
            allocatable: Resources::new(
                self.vcpus * 1000,
                self.memory_gib * 1024,
                self.network_mbps,
                self.gpus,
            )?,
            perf_score: self.perf_score,
            numa_nodes: if n == 1 {
                vec![]
            } else {
                vec![node; n as usize]
            },
            features: self.features.clone(),
            accelerator_model: self.accelerator_model.clone(),
            local_disk: self.local_disk.clone(),
            price_nanos_per_second: self.price_nanos_per_second,
        })
    }
}

impl AppDef {
    fn spec(&self) -> Result<AppSpec, ResourceError> {
        let mut a = AppSpec::new(
            self.id.clone(),
            self.tenant.clone(),
            Resources::new(
                self.cpu_millis,
                self.memory_mib,
                self.network_mbps,
                self.gpus,
            )?,
        );
        a.arches = self.arches.clone();
        a.features = self.features.clone();
        a.min_perf_score = self.min_perf_score;
        a.qos = self.qos;
        a.numa = self.numa;
        a.priority = self.priority;
        a.sku = self.sku.clone();
        a.accelerator_model = self.accelerator_model.clone();
        a.local_disk = self.local_disk.clone();
        a.spread = self.spread.clone();
        a.substitution = self.substitution.clone();
        Ok(a)
    }
}

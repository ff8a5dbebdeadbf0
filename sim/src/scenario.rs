//! The scenario format: a region (catalog, zones, hosts, stock), apps, prices
//! and a timeline of events. The README documents it field by field.
//!
//! Loading checks the JSON against the format (a bad field is reported with
//! its JSON path and what was expected) and then builds the scheduler (a
//! value the scheduler refuses is reported with the path of the entry that
//! carried it).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use trimline::metering::{PriceTable, SubSecond};
use trimline::*;

/// A scenario, as read from JSON.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Shown at the top of the report.
    pub name: String,
    /// One paragraph, shown under the name.
    #[serde(default)]
    pub description: String,
    /// Seconds from a provisioning request to the host being ready.
    #[serde(default = "default_provision_seconds")]
    pub provision_seconds: u64,
    /// Seconds from a move being planned to its replacement running.
    #[serde(default = "default_move_seconds")]
    pub move_seconds: u64,
    /// Image pull rate of every host, MB (10^6 bytes) per second. When
    /// set, every SKU in every zone gets it and `provision_seconds` as its
    /// cold-start figures, and scale steps report their cold-start mix.
    #[serde(default)]
    pub pull_mb_per_second: Option<u32>,
    /// Zone names, in declaration order (all up at the start).
    pub zones: Vec<ZoneId>,
    /// Host types.
    pub catalog: Vec<SkuDef>,
    /// Hosts running at the start.
    pub hosts: Vec<HostGroup>,
    /// What the cloud can provision at the start.
    #[serde(default)]
    pub stock: Vec<StockDef>,
    /// Applications (declared with no instances; the timeline scales them).
    pub apps: Vec<AppDef>,
    /// Metering prices.
    #[serde(default)]
    pub prices: Prices,
    /// What happens, in order.
    pub timeline: Vec<Step>,
}

fn default_provision_seconds() -> u64 {
    120
}

fn default_move_seconds() -> u64 {
    30
}

/// A host type.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkuDef {
    /// Its name (`ecs.g7.4xlarge`).
    pub id: SkuId,
    /// Its family (`g7`).
    pub family: Label,
    /// Its generation.
    pub generation: u32,
    /// CPU architecture.
    pub arch: Arch,
    /// CPU vendor.
    pub cpu_vendor: Label,
    /// Allocatable vCPUs per host.
    pub vcpus: u64,
    /// Allocatable memory per host, GiB.
    pub memory_gib: u64,
    /// Network bandwidth per host, Mbit/s.
    #[serde(default = "default_host_network")]
    pub network_mbps: u64,
    /// Accelerators per host.
    #[serde(default)]
    pub gpus: u64,
    /// NUMA nodes (at least 1), each an equal share of everything.
    #[serde(default = "one")]
    pub numa_nodes: u64,
    /// Per-vCPU performance score.
    pub perf_score: u32,
    /// Feature tags.
    #[serde(default)]
    pub features: BTreeSet<Label>,
    /// Accelerator model, if it has accelerators.
    #[serde(default)]
    pub accelerator_model: Option<Label>,
    /// Local disk class.
    #[serde(default)]
    pub local_disk: Option<Label>,
    /// Host price, nano-units per second.
    pub price_nanos_per_second: u64,
}

fn default_host_network() -> u64 {
    32_000
}

fn one() -> u64 {
    1
}

/// `count` hosts of a SKU in each of `zones` (every zone when empty).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostGroup {
    /// Their SKU.
    pub sku: SkuId,
    /// Their zones (every zone when empty).
    #[serde(default)]
    pub zones: Vec<ZoneId>,
    /// Hosts per zone.
    pub count: u32,
    /// Image digests each of them holds.
    #[serde(default)]
    pub images: Vec<ImageDigest>,
}

/// The stock of a SKU in each of `zones` (every zone when empty).
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StockDef {
    /// The SKU.
    pub sku: SkuId,
    /// The zones (every zone when empty).
    #[serde(default)]
    pub zones: Vec<ZoneId>,
    /// The stock in each.
    pub stock: StockValue,
}

/// A host count, `"unknown"` or `"exhausted"`.
#[derive(Copy, Clone, Debug)]
pub struct StockValue(
    /// The stock.
    pub Stock,
);

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
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppDef {
    /// Its name.
    pub id: AppId,
    /// The tenant billed for it.
    pub tenant: TenantId,
    /// CPU per instance, millicores.
    pub cpu_millis: u64,
    /// Memory per instance, MiB.
    pub memory_mib: u64,
    /// Network per instance, Mbit/s.
    #[serde(default = "default_app_network")]
    pub network_mbps: u64,
    /// Accelerators per instance.
    #[serde(default)]
    pub gpus: u64,
    /// Architectures it has images for.
    #[serde(default = "default_arches")]
    pub arches: BTreeSet<Arch>,
    /// Features it requires.
    #[serde(default)]
    pub features: BTreeSet<Label>,
    /// Least per-vCPU performance score.
    #[serde(default)]
    pub min_perf_score: u32,
    /// Rigid or best effort.
    #[serde(default)]
    pub qos: QosTier,
    /// Whether an instance must sit on one NUMA node.
    #[serde(default)]
    pub numa: NumaPolicy,
    /// Evacuation and preemption priority.
    #[serde(default)]
    pub priority: i32,
    /// The SKU it asks for ("like ecs.g7.4xlarge").
    #[serde(default)]
    pub sku: Option<SkuId>,
    /// Accelerator model it requires.
    #[serde(default)]
    pub accelerator_model: Option<Label>,
    /// Local disk class it requires.
    #[serde(default)]
    pub local_disk: Option<Label>,
    /// Its spread over zones.
    #[serde(default)]
    pub spread: SpreadPolicy,
    /// Which SKUs may stand in for the one it asks for.
    #[serde(default)]
    pub substitution: SubstitutionPolicy,
    /// Its image per architecture (digest and size in bytes).
    #[serde(default)]
    pub images: BTreeMap<Arch, ImageRef>,
    /// Whether its instances may share hosts with other tenants'
    /// (`"shared_hosts"`, the default) or only run on hosts that hold no
    /// other tenant's instance (`"dedicated_hosts"`).
    #[serde(default)]
    pub isolation: Isolation,
}

fn default_app_network() -> u64 {
    100
}

fn default_arches() -> BTreeSet<Arch> {
    BTreeSet::from([Arch::X86_64])
}

/// Metering prices, in nano-units.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Prices {
    /// Per vCPU-second of an active instance.
    pub cpu_per_vcpu_second: u64,
    /// Per vCPU-second of an idle instance.
    pub idle_cpu_per_vcpu_second: u64,
    /// Per GiB-second.
    pub memory_per_gib_second: u64,
    /// Per GiB-second of an idle instance (`null`: the active rate).
    pub idle_memory_per_gib_second: Option<u64>,
    /// Per accelerator-second.
    pub accelerator_per_second: u64,
    /// Shortest billed run of an instance, seconds.
    pub minimum_run_seconds: u64,
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
    /// The metering price table (version 1, in force from time 0).
    pub fn table(&self) -> PriceTable {
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
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// A new section of the report.
    Story {
        /// Its title.
        title: String,
        /// The paragraph under it.
        #[serde(default)]
        text: String,
    },
    /// Scale an app to `to` instances (optionally showing the dry run first).
    Scale {
        /// The app.
        app: AppId,
        /// Its instance count after the step (at most the batch limit).
        to: u32,
        /// Show the dry run first, then whether the real call decided the same.
        #[serde(default)]
        dry_run_first: bool,
    },
    /// What scaling would do, changing nothing.
    DryRun {
        /// The app.
        app: AppId,
        /// The instance count to try (at most the batch limit).
        to: u32,
    },
    /// Every SKU's verdict for the app in the zone.
    Explain {
        /// The app.
        app: AppId,
        /// The zone.
        zone: ZoneId,
    },
    /// The cloud's stock changes (`"exhausted"`: a stock-out).
    Stock {
        /// The SKU.
        sku: SkuId,
        /// The zones (every zone when empty).
        #[serde(default)]
        zones: Vec<ZoneId>,
        /// The new stock in each.
        stock: StockValue,
    },
    /// Time passes: hosts become ready, moves complete, rebalance goes on.
    Wait {
        /// How long.
        seconds: u64,
    },
    /// A zone is lost.
    ZoneDown {
        /// The zone.
        zone: ZoneId,
    },
    /// A zone returns.
    ZoneUp {
        /// The zone.
        zone: ZoneId,
    },
    /// Every instance of the app goes idle (billed at the idle rate).
    Idle {
        /// The app.
        app: AppId,
    },
    /// Every instance of the app is active again.
    Active {
        /// The app.
        app: AppId,
    },
    /// Which apps losing each zone now would leave short.
    Survive {},
    /// Utilisation per zone and per SKU.
    Utilisation {},
    /// Memory held per NUMA node, per SKU: the fullest node and the
    /// nodes that are full.
    NumaMemory {},
    /// Close the billing period now and print the invoices.
    Bill {},
    /// Free hosts: plan which hosts to empty and the ordered moves
    /// (`Scheduler::plan_consolidation`), then carry the plan out, each
    /// move confirmed as soon as its replacement runs, within every app's
    /// disruption budget; a stale plan is re-planned.
    Consolidate {
        /// Most hosts to free (none: every host that can be freed).
        #[serde(default)]
        max_hosts: Option<u32>,
        /// Most instances to move (none: no limit).
        #[serde(default)]
        max_moves: Option<u32>,
    },
    /// The scheduler's metrics, as OpenMetrics text exposition.
    Metrics {},
    /// Promise versus delivery: per app, what it asked for against what it
    /// got.
    Delivery {},
    /// Keep `target` idle hosts of a SKU in each zone (0 removes the
    /// pool): the hosts are ordered, come up after `provision_seconds`,
    /// and a scale-out draws on them first.
    WarmPool {
        /// The SKU (its offering must be in `stock`).
        sku: SkuId,
        /// The zones (every zone when empty).
        #[serde(default)]
        zones: Vec<ZoneId>,
        /// Idle hosts to keep in each.
        target: u32,
    },
}

impl Step {
    /// The step's key in the file (`scale`, `wait`, ...).
    pub fn name(&self) -> &'static str {
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
            Step::NumaMemory {} => "numa_memory",
            Step::Bill {} => "bill",
            Step::Consolidate { .. } => "consolidate",
            Step::Metrics {} => "metrics",
            Step::Delivery {} => "delivery",
            Step::WarmPool { .. } => "warm_pool",
        }
    }
}

/// A scenario file that cannot run: the JSON path of the bad value and
/// what is wrong with it. Every such problem is found before anything
/// runs ([`Scenario::from_json`], [`Scenario::validate`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ScenarioError {
    path: String,
    message: String,
}

impl ScenarioError {
    /// An error at `path` (`apps[0].cpu_millis`; empty for the whole file).
    pub fn new(path: impl Into<String>, message: impl fmt::Display) -> ScenarioError {
        ScenarioError {
            path: path.into(),
            message: message.to_string(),
        }
    }

    /// The JSON path of the bad value (`timeline[3].scale.to`); empty when
    /// the file as a whole is wrong (not JSON, say).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong with it.
    pub fn message(&self) -> &str {
        &self.message
    }

    fn render(&self) -> String {
        if self.path.is_empty() || self.path == "." {
            self.message.clone()
        } else {
            format!("{}: {}", self.path, self.message)
        }
    }
}

fn at(path: impl Into<String>, e: impl fmt::Display) -> ScenarioError {
    ScenarioError::new(path, e)
}

/// The scenario clock's limit, in milliseconds (2^62, about 146 million
/// years): the waits of a timeline, and the provisioning and move delays
/// after them, must stay below it.
pub const MAX_CLOCK_MS: u64 = 1 << 62;

/// The configuration the runner's scheduler uses.
pub fn scheduler_config() -> Config {
    Config::default()
}

impl Scenario {
    /// Parse JSON; a value that does not match the format is reported with
    /// its JSON path and what was expected. This checks the shape only:
    /// [`validate`](Self::validate) checks the values.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            // serde_json appends " at line L column C": keep it, it helps.
            at(path, inner)
        })
    }

    /// Check every value before anything runs: each SKU, host group,
    /// stock entry, app and the prices as the core takes them, names in
    /// the timeline (apps, zones, SKUs), scale steps within the core's
    /// batch limit, and the clock within [`MAX_CLOCK_MS`] at every wait.
    /// What is left for the run to find is what the core refuses given
    /// the state the timeline leads to.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        self.build().map(|_| ())
    }

    /// Build the region (zones, catalog, hosts, stock, apps) after checking
    /// the whole file (see [`validate`](Self::validate)). Host ids are 1,
    /// 2, ... in the order listed.
    pub fn build(&self) -> Result<Scheduler, ScenarioError> {
        let config = scheduler_config();
        let max_batch = config.max_batch;
        let mut s = Scheduler::new(config);
        for (i, z) in self.zones.iter().enumerate() {
            s.add_zone(z.clone(), ZoneState::Up, s.now())
                .map_err(|e| at(format!("zones[{i}]"), e))?;
        }
        for (i, k) in self.catalog.iter().enumerate() {
            let spec = k
                .spec()
                .map_err(|(field, e)| at(format!("catalog[{i}]{field}"), e))?;
            s.add_sku(spec, s.now())
                .map_err(|e| at(format!("catalog[{i}]"), e))?;
        }
        let mut next: u64 = 1;
        for (i, g) in self.hosts.iter().enumerate() {
            for (j, zone) in self.zones_or_all(&g.zones).iter().enumerate() {
                if s.zone_state(zone).is_none() {
                    return Err(at(
                        format!("hosts[{i}].zones[{j}]"),
                        format!("no zone {zone} in zones"),
                    ));
                }
                for _ in 0..g.count {
                    let spec = HostSpec {
                        id: HostId(next),
                        sku: g.sku.clone(),
                        zone: zone.clone(),
                    };
                    let _ = s
                        .add_host(spec, Timestamp(0))
                        .map_err(|e| at(format!("hosts[{i}]"), e))?;
                    if !g.images.is_empty() {
                        s.set_host_images(HostId(next), g.images.clone(), Timestamp(0))
                            .map_err(|e| at(format!("hosts[{i}].images"), e))?;
                    }
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
        if let Some(rate) = self.pull_mb_per_second {
            let seconds = u32::try_from(self.provision_seconds).map_err(|_| {
                at(
                    "provision_seconds",
                    "above 4,294,967,295 s: too long for cold-start figures",
                )
            })?;
            for k in &self.catalog {
                for zone in &self.zones {
                    let figures = OfferingFigures {
                        sku: k.id.clone(),
                        zone: zone.clone(),
                        provision_seconds: seconds,
                        pull_mb_per_second: rate,
                    };
                    s.set_offering_figures(figures, Timestamp(0))
                        .map_err(|e| at("pull_mb_per_second", e))?;
                }
            }
        }
        for (i, a) in self.apps.iter().enumerate() {
            let spec = a.spec().map_err(|e| at(format!("apps[{i}]"), e))?;
            s.add_app(spec, s.now())
                .map_err(|e| at(format!("apps[{i}]"), e))?;
        }
        self.prices
            .table()
            .validate()
            .map_err(|e| at("prices", e))?;
        let ms = |seconds: u64, path: &str| {
            seconds
                .checked_mul(1000)
                .filter(|&ms| ms < MAX_CLOCK_MS)
                .ok_or_else(|| {
                    at(
                        path,
                        format!("{seconds} s is past the clock's limit ({MAX_CLOCK_MS} ms)"),
                    )
                })
        };
        let provision_ms = ms(self.provision_seconds, "provision_seconds")?;
        let move_ms = ms(self.move_seconds, "move_seconds")?;
        // Names and limits in the timeline, before anything runs.
        let mut clock: u64 = 0;
        for (i, step) in self.timeline.iter().enumerate() {
            let path = format!("timeline[{i}].{}", step.name());
            let no_app = |app: &AppId| {
                s.app(app)
                    .is_none()
                    .then(|| at(format!("{path}.app"), format!("no app {app} in apps")))
            };
            let no_zone = |zone: &ZoneId, field: String| {
                s.zone_state(zone).is_none().then(|| {
                    at(
                        format!("{path}.{field}"),
                        format!("no zone {zone} in zones"),
                    )
                })
            };
            let problem = match step {
                Step::Scale { app, to, .. } | Step::DryRun { app, to } => {
                    no_app(app).or_else(|| {
                        (*to > max_batch).then(|| {
                            at(
                                format!("{path}.to"),
                                format!(
                                    "{to} instances is above the batch limit: one call creates at most {max_batch}"
                                ),
                            )
                        })
                    })
                }
                Step::Idle { app } | Step::Active { app } => no_app(app),
                Step::Explain { app, zone } => {
                    no_app(app).or_else(|| no_zone(zone, "zone".into()))
                }
                Step::Stock { sku, zones, .. } | Step::WarmPool { sku, zones, .. } => s
                    .sku(sku)
                    .is_none()
                    .then(|| at(format!("{path}.sku"), format!("no SKU {sku} in catalog")))
                    .or_else(|| {
                        zones
                            .iter()
                            .enumerate()
                            .find_map(|(j, z)| no_zone(z, format!("zones[{j}]")))
                    }),
                Step::ZoneDown { zone } | Step::ZoneUp { zone } => no_zone(zone, "zone".into()),
                Step::Wait { seconds } => {
                    // The clock after the wait, with a provisioning or a
                    // move started then, stays below the limit.
                    let end = seconds
                        .checked_mul(1000)
                        .and_then(|w| clock.checked_add(w))
                        .filter(|&c| {
                            c.checked_add(provision_ms.max(move_ms))
                                .is_some_and(|t| t < MAX_CLOCK_MS)
                        });
                    match end {
                        Some(c) => {
                            clock = c;
                            None
                        }
                        None => Some(at(
                            format!("{path}.seconds"),
                            format!(
                                "a wait of {seconds} s takes the clock past its limit \
                                 ({MAX_CLOCK_MS} ms) after {clock} ms"
                            ),
                        )),
                    }
                }
                Step::Story { .. }
                | Step::Survive {}
                | Step::Utilisation {}
                | Step::NumaMemory {}
                | Step::Consolidate { .. }
                | Step::Bill {}
                | Step::Metrics {}
                | Step::Delivery {} => None,
            };
            if let Some(e) = problem {
                return Err(e);
            }
        }
        Ok(s)
    }

    /// `zones`, or every declared zone when it is empty.
    pub fn zones_or_all<'a>(&'a self, zones: &'a [ZoneId]) -> &'a [ZoneId] {
        if zones.is_empty() { &self.zones } else { zones }
    }
}

impl SkuDef {
    /// The core's SKU, or the field (`.numa_nodes`, empty for the whole
    /// entry) and what is wrong with it.
    fn spec(&self) -> Result<SkuSpec, (&'static str, String)> {
        let n = self.numa_nodes;
        if n == 0 {
            return Err((
                ".numa_nodes",
                "a host has at least 1 NUMA node, not 0".into(),
            ));
        }
        if n > MAX_NUMA_NODES as u64 {
            return Err((
                ".numa_nodes",
                format!("{n} NUMA nodes; the maximum is {MAX_NUMA_NODES}"),
            ));
        }
        let cpu = self
            .vcpus
            .checked_mul(1000)
            .ok_or((".vcpus", format!("{} vCPUs is too large", self.vcpus)))?;
        let mem = self.memory_gib.checked_mul(1024).ok_or((
            ".memory_gib",
            format!("{} GiB is too large", self.memory_gib),
        ))?;
        let bad = |e: ResourceError| ("", e.to_string());
        let node =
            Resources::new(cpu / n, mem / n, self.network_mbps / n, self.gpus / n).map_err(bad)?;
        Ok(SkuSpec {
            id: self.id.clone(),
            family: self.family.clone(),
            generation: self.generation,
            arch: self.arch,
            cpu_vendor: self.cpu_vendor.clone(),
            allocatable: Resources::new(cpu, mem, self.network_mbps, self.gpus).map_err(bad)?,
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
        a.images = self.images.clone();
        a.isolation = self.isolation;
        Ok(a)
    }
}

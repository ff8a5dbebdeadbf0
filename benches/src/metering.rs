//! Seeded metering workloads, shared by `benches/metering.rs` and the
//! `meter_memory` harness.
//!
//! A fleet of apps owned by a handful of tenants, each app with one shape
//! (a slice of one of the region's [`SKUS`]), runs instances of two kinds
//! through a window of time:
//!
//! * *steady* instances were started before the window (their starts are
//!   the [`MeterLoad::warmup`], ingested and closed into a period before the
//!   window opens) and, inside it, go idle and active, are now and then
//!   resized, and about one in ten stops;
//! * *churn* instances are brand new: started inside the window, they may
//!   go idle and active, and most stop again before it ends.
//!
//! Event ids are [`EventId::derived`], as [`decision_events`] makes them;
//! instance ids are sequential, as the scheduler hands them out (steady
//! instances first, then new ones in the order they start). The stream
//! is in time order, each instance's events strictly increasing in time.
//!
//! [`decision_events`]: trimline::metering::decision_events

use trimline::metering::{Event, EventId, EventKind, Meter, MeterConfig, PriceTable};
use trimline::{AppId, InstanceId, Resources, SkuId, TenantId, Timestamp};

use crate::{SKUS, SplitMix, name};

/// Events per [`Meter::ingest_batch`] call in the ingest benchmarks.
pub const BATCH: usize = 1_024;

/// One hour in milliseconds.
pub const HOUR_MS: u64 = 3_600_000;

/// One metered app: its owner, its requested shape and the SKU it runs on.
#[derive(Clone, Debug)]
pub struct MeteredApp {
    /// The tenant billed.
    pub tenant: TenantId,
    /// The app.
    pub app: AppId,
    /// The requested shape of its instances.
    pub shape: Resources,
    /// The SKU its instances are delivered on.
    pub sku: SkuId,
}

/// `apps` apps over `tenants` tenants, shapes of 0.5 to 16 vCPU with 2 to
/// 8 GiB per vCPU on the region's SKUs, one in ten with an accelerator.
/// Seeded.
pub fn fleet(tenants: usize, apps: usize, seed: u64) -> Vec<MeteredApp> {
    let mut rng = SplitMix::new(seed);
    let tenant_ids: Vec<TenantId> = (0..tenants.max(1))
        .map(|t| name(&format!("tenant-{t}")))
        .collect();
    let vcpu_millis = [500u64, 1_000, 2_000, 4_000, 8_000, 16_000];
    (0..apps.max(1))
        .map(|a| {
            let gpu = a % 10 == 9;
            let (sku, shape) = if gpu {
                // Accelerator apps: one A10, 8 vCPU, 32 GiB.
                (
                    SKUS[4].0,
                    Resources::new(8_000, 32_768, 1_000, 1).unwrap_or_default(),
                )
            } else {
                // Mostly small instances.
                let cpu = vcpu_millis[(rng.below(6) * rng.below(6) / 5) as usize];
                let gib_per_vcpu = [2u64, 4, 8][rng.below(3) as usize];
                let sku = [SKUS[1].0, SKUS[0].0, SKUS[2].0][rng.below(3) as usize];
                (
                    sku,
                    Resources::new(cpu, cpu * gib_per_vcpu * 1024 / 1000, 100, 0)
                        .unwrap_or_default(),
                )
            };
            MeteredApp {
                tenant: tenant_ids[a % tenant_ids.len()].clone(),
                app: name(&format!("app-{a}")),
                shape,
                sku: name(sku),
            }
        })
        .collect()
}

/// The region's price book: version 1 from the origin (idle vCPU at 0.2x,
/// 60 s minimum, sub-second rounded up), version 2, 5% dearer CPU, from
/// `change` on.
pub fn price_tables(change: Timestamp) -> Vec<PriceTable> {
    let mut v1 = PriceTable::new(1, Timestamp::ZERO, 12_000, 1_500, 250_000);
    v1.idle_cpu_nanos_per_vcpu_second = 2_400;
    v1.minimum_run_seconds = 60;
    let mut v2 = v1.clone();
    v2.version = 2;
    v2.effective = change;
    v2.cpu_nanos_per_vcpu_second = 12_600;
    v2.idle_cpu_nanos_per_vcpu_second = 2_520;
    vec![v1, v2]
}

/// The shape of a metering workload.
#[derive(Clone, Debug)]
pub struct Mix {
    /// Tenants.
    pub tenants: usize,
    /// Apps, spread over the tenants.
    pub apps: usize,
    /// Instances running since before the window.
    pub steady: usize,
    /// Events of each steady instance inside the window (idle and active
    /// in turn, one in ten a resize; about one in ten instances ends with
    /// a stop).
    pub steady_events: usize,
    /// Brand-new instances started inside the window.
    pub churn: usize,
    /// Idle or active events of each churn instance between its start and
    /// its stop.
    pub churn_events: usize,
    /// Share of churn instances that stop inside the window, in percent.
    pub churn_stop_percent: u64,
    /// Length of the window.
    pub window_ms: u64,
}

impl Mix {
    /// Steady state: 200,000 running instances, 5 events each in an hour
    /// (1,000,000 events), no new instances.
    pub fn warm() -> Mix {
        Mix {
            tenants: 40,
            apps: 400,
            steady: 200_000,
            steady_events: 5,
            churn: 0,
            churn_events: 0,
            churn_stop_percent: 0,
            window_ms: HOUR_MS,
        }
    }

    /// All churn: 1,000,000 brand-new instances started and stopped in an
    /// hour (2,000,000 events), into an empty meter.
    pub fn cold() -> Mix {
        Mix {
            tenants: 40,
            apps: 400,
            steady: 0,
            steady_events: 0,
            churn: 1_000_000,
            churn_events: 0,
            churn_stop_percent: 100,
            window_ms: HOUR_MS,
        }
    }

    /// A busy hour: 150,000 running instances with 4 events each, and
    /// 300,000 new ones, each with 2 idle/active events, 70% of them
    /// stopped again (about 1.4 million events).
    pub fn mixed() -> Mix {
        Mix {
            tenants: 40,
            apps: 400,
            steady: 150_000,
            steady_events: 4,
            churn: 300_000,
            churn_events: 2,
            churn_stop_percent: 70,
            window_ms: HOUR_MS,
        }
    }

    /// One period of 1,000,000 instances to close: each ran before the
    /// window and has 2 events in it (4 in 10 a stop or resize among
    /// them), so closing the window bills 1,000,000 instance-periods.
    pub fn close_million() -> Mix {
        Mix {
            tenants: 200,
            apps: 2_000,
            steady: 1_000_000,
            steady_events: 2,
            churn: 0,
            churn_events: 0,
            churn_stop_percent: 0,
            window_ms: HOUR_MS,
        }
    }
}

/// A generated workload.
#[derive(Clone, Debug)]
pub struct MeterLoad {
    /// The meter's configuration (defaults: strictly in order, one hour of
    /// adjustment window).
    pub config: MeterConfig,
    /// The price book.
    pub prices: Vec<PriceTable>,
    /// The steady instances' starts, before the window.
    pub warmup: Vec<Event>,
    /// Start of the window; the warm-up period is closed here.
    pub start: Timestamp,
    /// The window's events, in time order.
    pub stream: Vec<Event>,
    /// End of the window: the `now` of every ingest, and where the window's
    /// period closes.
    pub end: Timestamp,
}

/// Times strictly increasing, `n` of them, in `[from, to)` (or later if the
/// window is too short for `n` distinct milliseconds).
/// Flip an instance between idle and active; the event that says so.
fn toggle_idle(idle: &mut bool) -> EventKind {
    *idle = !*idle;
    if *idle {
        EventKind::Idle
    } else {
        EventKind::Active
    }
}

fn times(rng: &mut SplitMix, n: usize, from: u64, to: u64) -> Vec<u64> {
    let span = to.saturating_sub(from).max(1);
    let mut t: Vec<u64> = (0..n).map(|_| from + rng.below(span)).collect();
    t.sort_unstable();
    for i in 1..t.len() {
        if t[i] <= t[i - 1] {
            t[i] = t[i - 1] + 1;
        }
    }
    t
}

fn event(app: &MeteredApp, instance: u64, at: u64, kind: EventKind) -> Event {
    let instance = InstanceId(instance);
    // Times stay far below the derived-id limit and occurrence 0 is in
    // range: `derived` cannot fail here.
    let id = EventId::derived(instance, &kind, Timestamp(at), 0).unwrap_or_default();
    Event {
        id,
        tenant: app.tenant.clone(),
        app: app.app.clone(),
        instance,
        at: Timestamp(at),
        kind,
        source: None,
    }
}

/// Half or double the shape's CPU and memory, within bounds.
fn resized(shape: &Resources, rng: &mut SplitMix) -> Resources {
    let (c, m) = (u64::from(shape.cpu_millis()), u64::from(shape.memory_mib()));
    let (c, m) = if rng.below(2) == 0 && c >= 1_000 {
        (c / 2, m / 2)
    } else {
        (c * 2, m * 2)
    };
    Resources::new(
        c,
        m,
        u64::from(shape.network_mbps()),
        u64::from(shape.accelerators()),
    )
    .unwrap_or(*shape)
}

impl MeterLoad {
    /// The workload `mix`, seeded. The window is `[1 h, 1 h + window)`;
    /// steady instances start in the hour before it; the price changes
    /// half-way through the window's following hour (so closing the window
    /// splits nothing, and later windows do).
    pub fn generate(mix: &Mix, seed: u64) -> MeterLoad {
        let fleet = fleet(mix.tenants, mix.apps, seed);
        let mut rng = SplitMix::new(seed ^ 0x006d_6574_6572);
        let start = HOUR_MS;
        let end = start + mix.window_ms.max(1);
        let pick = |rng: &mut SplitMix| &fleet[rng.below(fleet.len() as u64) as usize];
        let mut warmup = Vec::with_capacity(mix.steady);
        let mut stream =
            Vec::with_capacity(mix.steady * mix.steady_events + mix.churn * (2 + mix.churn_events));
        let mut steady_starts: Vec<u64> = (0..mix.steady).map(|_| rng.below(start)).collect();
        steady_starts.sort_unstable();
        for (i, &started) in steady_starts.iter().enumerate() {
            let instance = i as u64 + 1;
            let app = pick(&mut rng);
            warmup.push(event(
                app,
                instance,
                started,
                EventKind::Started {
                    resources: app.shape,
                    delivered: Some(app.sku.clone()),
                    zone: None,
                },
            ));
            let stops = rng.below(10) == 0;
            let mut shape = app.shape;
            // Half of them start the window idle-side, half active-side.
            let mut idle = rng.below(2) == 0;
            let ts = times(&mut rng, mix.steady_events, start, end);
            for (k, &at) in ts.iter().enumerate() {
                let kind = if stops && k + 1 == ts.len() {
                    EventKind::Stopped
                } else if rng.below(10) == 0 {
                    shape = resized(&shape, &mut rng);
                    EventKind::Resized {
                        resources: shape,
                        delivered: None,
                        zone: None,
                    }
                } else {
                    toggle_idle(&mut idle)
                };
                stream.push(event(app, instance, at, kind));
            }
        }
        // New instances get their ids in the order they start, as the
        // scheduler hands them out when it places them.
        let mut churn: Vec<(&MeteredApp, bool, Vec<u64>)> = (0..mix.churn)
            .map(|_| {
                let app = pick(&mut rng);
                let stops = rng.below(100) < mix.churn_stop_percent;
                let n = 1 + mix.churn_events + usize::from(stops);
                (app, stops, times(&mut rng, n, start, end))
            })
            .collect();
        churn.sort_by_key(|(_, _, ts)| ts[0]);
        for (i, (app, stops, ts)) in churn.into_iter().enumerate() {
            let instance = (mix.steady + i) as u64 + 1;
            let n = ts.len();
            let mut idle = false;
            for (k, &at) in ts.iter().enumerate() {
                let kind = if k == 0 {
                    EventKind::Started {
                        resources: app.shape,
                        delivered: Some(app.sku.clone()),
                        zone: None,
                    }
                } else if stops && k + 1 == n {
                    EventKind::Stopped
                } else {
                    toggle_idle(&mut idle)
                };
                stream.push(event(app, instance, at, kind));
            }
        }
        // Stable: an instance's events keep their (increasing) order.
        warmup.sort_by_key(|e| e.at);
        stream.sort_by_key(|e| e.at);
        MeterLoad {
            config: MeterConfig::default(),
            prices: price_tables(Timestamp(end + HOUR_MS / 2)),
            warmup,
            start: Timestamp(start),
            stream,
            end: Timestamp(end),
        }
    }

    /// A meter with the prices, before any event.
    pub fn empty_meter(&self) -> Meter {
        // The default config and the generated price book are valid.
        #[allow(clippy::unwrap_used)]
        let mut m = Meter::new(self.config.clone()).unwrap();
        for p in &self.prices {
            #[allow(clippy::unwrap_used)]
            m.add_price_table(p.clone()).unwrap();
        }
        m
    }

    /// A meter ready for the window: the prices added, the warm-up
    /// ingested and its period closed at [`MeterLoad::start`].
    pub fn meter(&self) -> Meter {
        let mut m = self.empty_meter();
        for e in &self.warmup {
            // Generated in order, within the clock: always applied.
            #[allow(clippy::unwrap_used)]
            let _ = m.ingest(e, self.start).unwrap();
        }
        #[allow(clippy::unwrap_used)]
        let _ = m.close_period(self.start, self.start).unwrap();
        m
    }

    /// Ingest the window's events with [`Meter::ingest_batch`], `batch`
    /// events a call, as an embedder reading its event log would; returns
    /// how many were applied.
    pub fn ingest_batches(&self, m: &mut Meter, batch: usize) -> usize {
        let mut applied = 0;
        for events in self.stream.chunks(batch.max(1)) {
            let b = m.ingest_batch(events, self.end);
            // The stream is valid for the meter from [`MeterLoad::meter`].
            assert!(b.refused.is_none(), "{:?}", b.refused);
            applied += b
                .results
                .iter()
                .filter(|&&r| r == trimline::metering::Ingested::Applied)
                .count();
        }
        applied
    }

    /// Ingest the window's events one by one; returns how many were
    /// applied.
    pub fn ingest(&self, m: &mut Meter) -> usize {
        let mut applied = 0;
        for e in &self.stream {
            // The stream is valid for the meter from [`MeterLoad::meter`].
            #[allow(clippy::unwrap_used)]
            let r = m.ingest(e, self.end).unwrap();
            applied += usize::from(r == trimline::metering::Ingested::Applied);
        }
        applied
    }
}

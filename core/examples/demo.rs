//! The trimline demo: the seed's stories on a built-in region.
//!
//! `cargo run --release --example demo`
//!
//! A region of three zones and about two thousand hosts of six SKUs (x86 and
//! ARM, one with GPUs, one with two large NUMA nodes). Each story drives the
//! scheduler through its public API and prints what it decided and why.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeSet;
use std::error::Error;

use trimline::*;

type Res<T> = Result<T, Box<dyn Error>>;

const ZONES: [&str; 3] = ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"];

/// (name, arch, vendor, vCPU, GiB, NUMA nodes, GPUs, perf score, hosts per zone)
type SkuRow = (
    &'static str,
    Arch,
    &'static str,
    u64,
    u64,
    u64,
    u64,
    u32,
    u64,
);

const SKUS: [SkuRow; 6] = [
    (
        "ecs.g7.4xlarge",
        Arch::X86_64,
        "intel",
        16,
        64,
        1,
        0,
        100,
        260,
    ),
    (
        "ecs.c7.8xlarge",
        Arch::X86_64,
        "intel",
        32,
        64,
        1,
        0,
        100,
        150,
    ),
    (
        "ecs.r7.8xlarge",
        Arch::X86_64,
        "intel",
        32,
        256,
        1,
        0,
        100,
        80,
    ),
    (
        "ecs.g8i.32xlarge",
        Arch::X86_64,
        "intel",
        128,
        512,
        2,
        0,
        125,
        40,
    ),
    (
        "ecs.g8y.8xlarge",
        Arch::Aarch64,
        "yitian",
        32,
        128,
        1,
        0,
        110,
        60,
    ),
    (
        "ecs.gn7i.8xlarge",
        Arch::X86_64,
        "intel",
        32,
        128,
        1,
        4,
        100,
        20,
    ),
];

fn region() -> Res<Scheduler> {
    let mut s = Scheduler::default();
    for z in ZONES {
        s.add_zone(z.parse()?, ZoneState::Up)?;
    }
    let mut next = 1;
    for (name, arch, vendor, vcpu, gib, numa, gpus, perf, per_zone) in SKUS {
        let node = Resources::new(
            vcpu * 1000 / numa,
            gib * 1024 / numa,
            32_000 / numa,
            gpus / numa,
        )?;
        s.add_sku(SkuSpec {
            id: name.parse()?,
            family: name.split('.').nth(1).unwrap_or("x").parse()?,
            generation: if name.contains("8") { 8 } else { 7 },
            arch,
            cpu_vendor: vendor.parse()?,
            allocatable: Resources::new(vcpu * 1000, gib * 1024, 32_000, gpus)?,
            perf_score: perf,
            numa_nodes: vec![node; numa as usize],
            features: if gpus > 0 {
                BTreeSet::from(["gpu:a10".parse()?])
            } else {
                BTreeSet::new()
            },
            accelerator_model: if gpus > 0 { Some("a10".parse()?) } else { None },
            local_disk: None,
            // Per second: vCPU, memory and GPUs priced separately.
            price_nanos_per_second: vcpu * 12_000 + gib * 1_000 + gpus * 200_000,
        })?;
        for z in ZONES {
            for _ in 0..per_zone {
                let _ = s.add_host(
                    HostSpec {
                        id: HostId(next),
                        sku: name.parse()?,
                        zone: z.parse()?,
                    },
                    Timestamp(0),
                )?;
                next += 1;
            }
        }
    }
    Ok(s)
}

fn bar(used: u64, cap: u64) -> String {
    let width = 20;
    let filled = if cap == 0 {
        0
    } else {
        (used * width).div_ceil(cap)
    } as usize;
    format!(
        "[{}{}]",
        "#".repeat(filled),
        ".".repeat(width as usize - filled)
    )
}

fn zone_table(s: &Scheduler) {
    println!(
        "  {:<15} {:>6}  {:<22} {:<22}",
        "zone", "hosts", "cpu", "memory"
    );
    for (z, state) in s.zones() {
        let (mut n, mut cu, mut cc, mut mu, mut mc) = (0, 0u64, 0u64, 0u64, 0u64);
        for h in s.host_ids() {
            let v = s.host(h).unwrap();
            if &v.zone != z {
                continue;
            }
            n += 1;
            cc += u64::from(v.capacity.cpu_millis());
            cu += u64::from(v.capacity.cpu_millis() - v.free.cpu_millis());
            mc += u64::from(v.capacity.memory_mib());
            mu += u64::from(v.capacity.memory_mib() - v.free.memory_mib());
        }
        let label = format!(
            "{z}{}",
            if state == ZoneState::Up {
                ""
            } else {
                " (down)"
            }
        );
        println!(
            "  {:<15} {:>6}  {} {:>3}% {} {:>3}%",
            label,
            n,
            bar(cu, cc),
            cu * 100 / cc.max(1),
            bar(mu, mc),
            mu * 100 / mc.max(1)
        );
    }
}

fn heading(n: u32, title: &str) {
    println!("\n{n}. {title}\n{}", "-".repeat(78));
}

fn app(
    name: &str,
    tenant: &str,
    cpu_millis: u64,
    memory_mib: u64,
    f: impl FnOnce(&mut AppSpec),
) -> Res<AppSpec> {
    let mut a = AppSpec::new(
        name.parse()?,
        tenant.parse()?,
        Resources::new(cpu_millis, memory_mib, 100, 0)?,
    );
    f(&mut a);
    Ok(a)
}

fn main() -> Res<()> {
    let mut s = region()?;
    let mut now = 1_000;
    println!(
        "trimline demo: {} hosts in {} zones, {} SKUs (x86_64 and aarch64)",
        s.host_count(),
        ZONES.len(),
        SKUS.len()
    );
    zone_table(&s);

    // 1. Launch day: will the 10x step fit? Ask before the launch.
    heading(1, "Launch day: a 10x scale-out, answered before launch");
    let game: AppId = "game-server".parse()?;
    s.add_app(app("game-server", "games", 16_000, 32_768, |a| {
        a.min_perf_score = 100;
        a.arches = BTreeSet::from([Arch::X86_64]);
        a.sku = Some("ecs.g7.4xlarge".parse().unwrap());
        // g7 first, then the newer g8i, then any equivalent.
        a.substitution.tiers = vec![vec!["g7".parse().unwrap()], vec!["g8i".parse().unwrap()]];
    })?)?;
    let _ = s.scale(&game, 300, Timestamp(now))?;
    now += 1_000;
    // What the cloud can provide: g7 is out of stock in the middle zone.
    for (i, z) in ZONES.iter().enumerate() {
        let g7 = if i == 1 {
            Stock::Exhausted
        } else {
            Stock::Known(300)
        };
        let _ = s.set_stock(&"ecs.g7.4xlarge".parse()?, &z.parse()?, g7, Timestamp(now))?;
        for other in [
            "ecs.g8i.32xlarge",
            "ecs.c7.8xlarge",
            "ecs.r7.8xlarge",
            "ecs.g8y.8xlarge",
        ] {
            let _ = s.set_stock(&other.parse()?, &z.parse()?, Stock::Unknown, Timestamp(now))?;
        }
    }
    println!(
        "  which SKUs may stand in for ecs.g7.4xlarge in {}:",
        ZONES[1]
    );
    for v in s.explain_substitution(&game, &ZONES[1].parse()?)? {
        let verdict = match &v.verdict {
            Verdict::Accepted {
                tier,
                rank,
                offering,
            } => format!(
                "accepted, tier {tier}, rank {rank}{}",
                match offering {
                    Ok(_) => String::new(),
                    Err(block) => format!(" ({block})"),
                }
            ),
            Verdict::Rejected(r) => format!("rejected: {r}"),
        };
        println!("    {:<18} {verdict}", v.sku.as_str());
    }
    let plan = s.dry_run(|s| s.scale(&game, 4_000, Timestamp(now)))?;
    println!(
        "  dry run of 300 -> 4000 (16 vCPU each): {} on running hosts, {} on new hosts, {} short",
        plan.placements.len(),
        plan.tentative.len(),
        plan.pending.len()
    );
    for p in &plan.provisions {
        let why = match &p.substitutes_for {
            Some(sku) => format!(", substitutes for {sku} (tier {})", p.tier),
            None => String::new(),
        };
        println!(
            "    provision {:>3} x {:<18} in {}{why}",
            p.count,
            p.sku.as_str(),
            p.zone
        );
    }
    for f in &plan.shortfalls {
        println!("    short in {}: {} instances", f.zone, f.instances);
    }
    let real = s.scale(&game, 4_000, Timestamp(now))?;
    println!(
        "  real scale-out identical to the dry run: {}",
        real == plan
    );
    // The embedder provisions the hosts and reports each one ready.
    now += 120_000;
    let mut started = 0;
    let mut next_host = 100_000;
    for p in &real.provisions {
        for planned in &p.hosts {
            started += s
                .host_ready(*planned, HostId(next_host), Timestamp(now))?
                .placements
                .len();
            next_host += 1;
        }
    }
    println!("  hosts ready: {started} instances started on them");
    for (z, c) in s.app_zone_counts(&game) {
        println!("    {z:<15} {c:>5} instances");
    }
    println!("  after launch the game settles at 1000 instances");
    let _ = s.scale(&game, 1_000, Timestamp(now))?;

    // 2. Peak sale: rigid trading preempts best-effort analytics.
    heading(2, "Peak sale: rigid trading never loses CPU to analytics");
    now += 1_000;
    let trading: AppId = "trading".parse()?;
    let analytics: AppId = "analytics".parse()?;
    s.add_app(app("trading", "shop", 4_000, 8_192, |a| a.priority = 10)?)?;
    s.add_app(app("analytics", "shop", 2_000, 4_096, |a| {
        a.qos = QosTier::BestEffort
    })?)?;
    let _ = s.scale(&trading, 800, Timestamp(now))?;
    let d = s.scale(&analytics, 40_000, Timestamp(now))?;
    println!(
        "  analytics (best effort) soaks up the slack: {} placed, {} waiting",
        d.placements.len(),
        d.pending.len()
    );
    zone_table(&s);
    now += 1_000;
    let d = s.scale(&trading, 4_000, Timestamp(now))?;
    println!(
        "  peak: trading 800 -> 4000: {} placed, {} pending, {} analytics instances preempted",
        d.placements.len(),
        d.pending.len(),
        d.evictions.len()
    );
    if let Some(e) = d.evictions.first() {
        println!(
            "    e.g. {} evicted from {} ({:?})",
            e.instance, e.host, e.cause
        );
    }
    let mut short = 0;
    for i in s.app_instances(&trading) {
        if let InstanceStatus::Placed { parts, .. } = s.instance(i).unwrap().status {
            let cpu: u32 = parts.iter().map(|(_, r)| r.cpu_millis()).sum();
            short += u32::from(cpu != 4_000);
        }
    }
    println!("  trading instances holding less than their 4 vCPU: {short}");

    // 3. Market open: memory is a hard dimension.
    heading(3, "Market open: memory is never overcommitted");
    now += 1_000;
    let md: AppId = "market-data".parse()?;
    s.add_app(app("market-data", "fintech", 2_000, 60 * 1024, |_| {})?)?;
    let d = s.scale(&md, 1_500, Timestamp(now))?;
    println!(
        "  market-data (2 vCPU, 60 GiB each) x1500: {} placed, {} pending",
        d.placements.len(),
        d.pending.len()
    );
    if let Some(p) = d.pending.first() {
        println!("  why: {}", p.reason);
    }
    let mut over = 0;
    for h in s.host_ids() {
        for n in s.host(h).unwrap().nodes {
            let held = u64::from(n.rigid.memory_mib()) + u64::from(n.best_effort.memory_mib());
            over += u32::from(held > u64::from(n.capacity.memory_mib()));
        }
    }
    println!("  NUMA nodes holding more memory than they have: {over}");
    zone_table(&s);

    // 4. Month-end ERP: whole on one NUMA node, or not at all.
    heading(
        4,
        "Month-end ERP: a 64-vCPU instance placed whole on one NUMA node",
    );
    now += 1_000;
    let erp: AppId = "erp".parse()?;
    s.add_app(app("erp", "corp", 64_000, 256 * 1024, |a| {
        a.numa = NumaPolicy::SingleNode;
        a.min_perf_score = 120;
    })?)?;
    let d = s.scale(&erp, 2, Timestamp(now))?;
    for p in &d.pending {
        println!("  {} pending: {}", p.instance, p.reason);
    }
    for p in &d.provisions {
        println!(
            "  no NUMA node of a fast host is free: provision {} x {} in {}",
            p.count, p.sku, p.zone
        );
    }
    let mut placed: Vec<Placement> = d.placements.clone();
    now += 120_000;
    for (k, p) in d.provisions.iter().enumerate() {
        for (n, planned) in p.hosts.iter().enumerate() {
            let ready = s.host_ready(
                *planned,
                HostId(200_000 + (k * 100 + n) as u64),
                Timestamp(now),
            )?;
            placed.extend(ready.placements.into_iter().filter(|p| p.app == erp));
        }
    }
    for p in &placed {
        let v = s.host(p.host).unwrap();
        let on_node: Vec<String> = v
            .nodes
            .iter()
            .map(|n| format!("{} vCPU", n.rigid.cpu_millis() / 1000))
            .collect();
        println!(
            "  {} -> {} ({}), NUMA node {:?}; rigid vCPU per node now {}",
            p.instance,
            p.host,
            p.zone,
            p.numa_nodes,
            on_node.join(" / ")
        );
    }

    // 6. The bill: per-second metering of what the scheduler decided.
    heading(
        6,
        "The bill: per second, idle at a discount, zero when scaled to zero",
    );
    bill(&mut s, now + 60_000)?;

    s.check_invariants()?;
    println!("\nInvariant audit: every host and NUMA node within capacity on every dimension.");
    Ok(())
}

/// Meter a shop API through a day's shape: 4 instances, idle for a while,
/// scaled to zero, two again, then zero.
fn bill(s: &mut Scheduler, start: u64) -> Res<()> {
    use trimline::metering::{
        Event, EventId, EventKind, Ingested, Meter, MeterConfig, PriceTable, decision_events,
    };
    const MIN: u64 = 60_000;
    let shop: AppId = "shop-api".parse()?;
    s.add_app(app("shop-api", "shop", 2_000, 4_096, |_| {})?)?;
    let mut meter = Meter::new(MeterConfig::default())?;
    // Per vCPU-second, idle vCPU-second (0.2x) and GiB-second, in nano-units.
    let mut prices = PriceTable::new(1, Timestamp(0), 10_000, 1_500, 0);
    prices.idle_cpu_nanos_per_vcpu_second = 2_000;
    meter.add_price_table(prices)?;
    let feed = |meter: &mut Meter, events: Vec<Event>, at: u64| -> Res<()> {
        for e in events {
            let applied = meter.ingest(&e, Timestamp(at))?;
            debug_assert_eq!(applied, Ingested::Applied);
        }
        Ok(())
    };
    let scale = |s: &mut Scheduler, meter: &mut Meter, n: u32, at: u64| -> Res<()> {
        let d = s.scale(&shop, n, Timestamp(at))?;
        // This meter bills the shop only (a scale-up may also preempt
        // best-effort instances of other tenants).
        let events = decision_events(&d, s, Timestamp(at))?
            .into_iter()
            .filter(|e| e.app == shop)
            .collect();
        feed(meter, events, at)
    };
    scale(s, &mut meter, 4, start)?;
    let idle_at = start + 20 * MIN;
    for i in s.app_instances(&shop) {
        let e = Event {
            id: EventId::derived(i, &EventKind::Idle, Timestamp(idle_at), 0)?,
            tenant: "shop".parse()?,
            app: shop.clone(),
            instance: i,
            at: Timestamp(idle_at),
            kind: EventKind::Idle,
        };
        let applied = meter.ingest(&e, Timestamp(idle_at))?;
        debug_assert_eq!(applied, Ingested::Applied);
    }
    scale(s, &mut meter, 0, start + 30 * MIN)?;
    scale(s, &mut meter, 2, start + 40 * MIN)?;
    scale(s, &mut meter, 0, start + 55 * MIN + 500)?;
    let end = Timestamp(start + 60 * MIN);
    let report = meter.close_period(end, end)?;
    println!(
        "  shop-api: 4 x (2 vCPU, 4 GiB) for 30 min (idle after 20), zero for 10,\n  \
         2 for 15 min 0.5 s (billed 15 min 1 s: rounded up once per run), then zero"
    );
    for inv in &report.invoices {
        println!(
            "  {:<14} {:>16} {:>10} {:>14}",
            "line", "quantity", "rate", "amount"
        );
        for l in &inv.lines {
            println!(
                "  {:<14} {:>16} {:>10} {:>14}",
                l.component.name(),
                l.quantity,
                l.rate_nanos,
                l.amount_nanos
            );
        }
        let sum: i128 = inv.lines.iter().map(|l| l.amount_nanos).sum();
        println!(
            "  total {} nano-units = sum of lines {}: {}",
            inv.total_nanos,
            sum,
            sum == inv.total_nanos
        );
    }
    let next = meter.close_period(Timestamp(end.0 + 60 * MIN), Timestamp(end.0 + 60 * MIN))?;
    println!(
        "  the next hour, scaled to zero: {} invoices, {} nano-units",
        next.invoices.len(),
        next.invoices.iter().map(|i| i.total_nanos).sum::<i128>()
    );
    Ok(())
}

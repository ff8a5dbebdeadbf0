//! Preference tiers on running and planned hosts, and the substitution
//! notes that explain every decision serving an app on another SKU than
//! its first choice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Sim, app, best_effort, id, sku};
use trimline::*;

const G7: &str = "ecs.g7.4xlarge";
const C7: &str = "ecs.c7.8xlarge";
const R7: &str = "ecs.r7.8xlarge";
const G8I: &str = "ecs.g8i.16xlarge";

/// The demo's catalog in small: g7 (16 vCPU, 64 GiB) is what the game
/// asks for; c7 (32 vCPU, 64 GiB) matches its 1:2 shape better and is
/// cheaper per instance (0.875x), r7 is over the price band (1.25x), g8i
/// is faster and as dear per instance.
fn catalog(sim: &mut Sim) {
    for (name, family, cpu, mem, price, perf) in [
        (G7, "g7", 16_000, 65_536, 256_000, 100),
        (C7, "c7", 32_000, 65_536, 448_000, 100),
        (R7, "r7", 32_000, 262_144, 640_000, 100),
        (G8I, "g8i", 64_000, 262_144, 1_024_000, 125),
    ] {
        let mut s = sku(name, cpu, mem);
        s.family = id(family);
        s.price_nanos_per_second = price;
        s.perf_score = perf;
        sim.sku(s);
    }
}

/// The game server of the demo: 16 vCPU, 32 GiB, "like g7", tiers
/// `[["g7"], ["g8i"]]`, any equivalent after them (the default).
fn game(cpu: u64, mem: u64) -> AppSpec {
    let mut a = app("game", cpu, mem);
    a.sku = Some(id(G7));
    a.min_perf_score = 100;
    a.substitution.tiers = vec![vec![id("g7")], vec![id("g8i")]];
    a
}

fn reasons(note: &SubstitutionNote) -> Vec<String> {
    note.passed_over.iter().map(|p| p.to_string()).collect()
}

fn skus_of(placements: &[Placement]) -> Vec<&str> {
    placements.iter().map(|p| p.sku.as_str()).collect()
}

/// The demo's first `scale game-server 0 -> 300` in small: empty g7 hosts
/// and better-aligned c7 hosts in one zone. The game lands on its own tier
/// 0, with no substitution; only once g7 is full does it go to c7 (tier 2,
/// any equivalent), with a note saying why.
#[test]
fn tier_zero_hosts_win_over_a_better_aligned_substitute() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    catalog(&mut sim);
    sim.hosts(G7, "a", 2);
    sim.hosts(C7, "a", 2);
    sim.app(game(16_000, 32_768));

    let d = sim.scale("game", 2);
    assert_eq!(skus_of(&d.placements), [G7, G7]);
    assert!(d.placements.iter().all(|p| p.substitution.is_none()));

    // g7 is full (one game per host): the next two go to c7, tier 2.
    let d = sim.scale("game", 4);
    assert_eq!(skus_of(&d.placements), [C7, C7]);
    let note = d.placements[0].substitution.clone().unwrap();
    // Placed alike in one call: one shared note.
    let second = d.placements[1].substitution.as_ref().unwrap();
    assert!(std::sync::Arc::ptr_eq(&note, second));
    assert_eq!(note.requested, Some(id(G7)));
    assert_eq!((note.sku.as_str(), note.tier), (C7, 2));
    let passed: Vec<(&str, Option<u32>, Option<&str>, &PassReason)> = note
        .passed_over
        .iter()
        .map(|p| {
            (
                p.sku.as_str(),
                p.tier,
                p.zone.as_ref().map(|z| z.as_str()),
                &p.reason,
            )
        })
        .collect();
    assert_eq!(
        passed,
        [
            (
                G7,
                Some(0),
                Some("a"),
                &PassReason::RunningHostsFull { hosts: 2 }
            ),
            (
                G8I,
                Some(1),
                Some("a"),
                &PassReason::RunningHostsFull { hosts: 0 }
            ),
        ]
    );
    let a = &note.admitted;
    assert_eq!(
        (a.arch, a.perf_score, a.min_perf_score),
        (Arch::X86_64, 100, 100)
    );
    assert_eq!(a.instances_per_host, 2);
    assert!(a.any_equivalent);
    assert_eq!(a.outside_band, None);
    assert_eq!(
        a.price,
        Some(PriceCheck {
            reference: id(G7),
            ratio_permille: 875,
            cap_permille: 1200
        })
    );
    assert_eq!(
        note.to_string(),
        "ecs.c7.8xlarge (tier 2, any equivalent) instead of ecs.g7.4xlarge: \
         ecs.g7.4xlarge in a: running hosts full (2 hosts); \
         ecs.g8i.16xlarge in a: no running hosts; \
         admitted: x86_64, perf 100 >= 100, no feature required, 2 per host, \
         price 0.87x of ecs.g7.4xlarge <= cap 1.20x"
    );
}

/// An app with neither a requested SKU nor tiers is placed as before: its
/// best-aligned class first, and nothing is a substitution.
#[test]
fn without_tiers_or_requested_sku_alignment_alone_orders_classes() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    catalog(&mut sim);
    sim.hosts(G7, "a", 2);
    sim.hosts(C7, "a", 2);
    sim.app(app("shape", 16_000, 32_768));
    let d = sim.scale("shape", 4);
    assert_eq!(skus_of(&d.placements), [C7, C7, C7, C7]);
    assert!(d.placements.iter().all(|p| p.substitution.is_none()));
}

/// Across zones, the spread order picks the zone (the one holding fewest
/// of the app's instances first) and the tiers pick the hosts within it,
/// as provisioning splits a batch over zones first and takes tiers within
/// each: a tier-2 host in the first zone is used before a tier-0 host in
/// a later one, and the note says so.
#[test]
fn the_spread_order_picks_the_zone_and_the_tiers_pick_within_it() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b"]);
    catalog(&mut sim);
    sim.hosts(C7, "a", 2);
    sim.hosts(G7, "b", 4);
    sim.app(game(16_000, 32_768));

    let d = sim.scale("game", 1);
    assert_eq!(skus_of(&d.placements), [C7]);
    let note = d.placements[0].substitution.clone().unwrap();
    assert_eq!(
        reasons(&note),
        [
            "ecs.g7.4xlarge in a: no running hosts",
            "ecs.g7.4xlarge in b: has room, in a zone later in the spread order",
            "ecs.g8i.16xlarge in a: no running hosts",
            "ecs.g8i.16xlarge in b: no running hosts",
        ]
    );
    // Zone b holds fewer now: its g7.
    let d = sim.scale("game", 2);
    assert_eq!(skus_of(&d.placements), [G7]);
    assert!(d.placements[0].substitution.is_none());
    let d = sim.scale("game", 6);
    assert_eq!(skus_of(&d.placements), [C7, G7, C7, G7]);
    assert_eq!(
        sim.per_zone("game"),
        [("a".to_string(), 3), ("b".to_string(), 3)]
    );
}

/// Zones the app's spread policy rules out are skipped, and the note of a
/// substitution elsewhere names them.
#[test]
fn zones_the_spread_policy_rules_out_are_named_in_the_note() {
    let mut sim = Sim::new();
    sim.zones(&["a", "b", "c"]);
    catalog(&mut sim);
    let c7 = sim.hosts(C7, "a", 1)[0];
    sim.hosts(G7, "b", 4);
    sim.hosts(G7, "c", 4);
    let mut g = game(16_000, 32_768);
    g.spread.max_skew = Some(2);
    sim.app(g);
    // a's only host is cordoned: two each in b and c (skew 2).
    let t = sim.tick(1);
    let _ = sim.s.set_host_state(c7, HostState::Cordoned, t).unwrap();
    let d = sim.scale("game", 4);
    assert_eq!(skus_of(&d.placements), [G7, G7, G7, G7]);
    let t = sim.tick(1);
    let _ = sim.s.set_host_state(c7, HostState::Ready, t).unwrap();
    // A third in b or c would make the skew 3: c7 in a.
    let d = sim.scale("game", 5);
    assert_eq!(skus_of(&d.placements), [C7]);
    let note = d.placements[0].substitution.clone().unwrap();
    assert_eq!(
        reasons(&note)[..3],
        [
            "ecs.g7.4xlarge in a: no running hosts",
            "ecs.g7.4xlarge in b: one more instance there breaks the spread policy",
            "ecs.g7.4xlarge in c: one more instance there breaks the spread policy",
        ]
    );
}

/// A better tier is used whenever one of its hosts in the zone fits, even
/// where the index's loose bounds make the budgeted search run out before
/// reaching it: that class is searched again at once without a budget,
/// before any worse tier.
#[test]
fn a_budgeted_search_that_runs_out_does_not_skip_a_tier() {
    let mut sim = Sim::new();
    sim.s = Scheduler::new(Config {
        search_budget: 1,
        ..Config::default()
    });
    sim.zones(&["a"]);
    // g7 of 20 vCPU and 96 GiB here: hosts that hold one of `m` keep 16
    // vCPU and 24 GiB free, those that hold one of `c` 15 vCPU and 46 GiB
    // (neither takes a second of either). The index's bounds cover the
    // game (16 vCPU, 32 GiB) everywhere; no host of either kind does.
    for (name, family, cpu, mem, price) in [
        (G7, "g7", 20_000, 98_304, 256_000),
        (C7, "c7", 32_000, 65_536, 448_000),
    ] {
        let mut s = sku(name, cpu, mem);
        s.family = id(family);
        s.price_nanos_per_second = price;
        sim.sku(s);
    }
    sim.app(app("m", 4_000, 73_728));
    sim.app(app("c", 5_000, 51_200));
    for i in 1..=64 {
        sim.hosts(G7, "a", 1);
        let which = if i % 2 == 0 { "m" } else { "c" };
        let n = sim.s.app_instances(&id(which)).len() as u32 + 1;
        assert_eq!(sim.scale(which, n).placements.len(), 1);
    }
    let empty = sim.hosts(G7, "a", 1)[0];
    sim.hosts(C7, "a", 1);
    let mut g = game(16_000, 32_768);
    g.substitution.tiers = vec![vec![id("g7")]];
    sim.app(g);
    let d = sim.scale("game", 1);
    assert_eq!(d.placements[0].host, empty);
}

/// Preemption follows the tiers too: a rigid game that fits nowhere evicts
/// best-effort instances on its own tier 0 (g7), although the victim on c7
/// would be smaller.
#[test]
fn preemption_takes_the_best_tier_first() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    catalog(&mut sim);
    let g7 = sim.hosts(G7, "a", 1);
    sim.hosts(C7, "a", 1);
    sim.app(best_effort(app("batch", 16_000, 16_384)));
    let d = sim.scale("batch", 3);
    assert_eq!(d.placements.len(), 3);
    sim.app(game(16_000, 32_768));
    let d = sim.scale("game", 1);
    assert_eq!(d.evictions.len(), 1);
    assert_eq!(d.placements.len(), 1);
    assert_eq!(d.placements[0].host, g7[0]);
    assert!(d.placements[0].substitution.is_none());
}

/// Planned hosts too: with no running host, the game goes on the planned
/// g7 host with room (tier 0) rather than the better-aligned planned c7
/// host.
#[test]
fn planned_hosts_are_used_in_tier_order() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    catalog(&mut sim);
    let t = sim.tick(1);
    for s in [G7, C7] {
        let _ = sim
            .s
            .set_stock(&id(s), &id("a"), Stock::Unknown, t)
            .unwrap();
    }
    // Two other apps leave room on one planned host of each (the second
    // does not fit in what the first leaves).
    let mut f2 = app("f2", 8_000, 8_192);
    f2.sku = Some(id(G7));
    sim.app(f2);
    let mut f1 = app("f1", 16_000, 16_384);
    f1.sku = Some(id(C7));
    sim.app(f1);
    let d2 = sim.scale("f2", 1);
    let d1 = sim.scale("f1", 1);
    assert_eq!(
        (d1.provisions[0].sku.as_str(), d2.provisions[0].sku.as_str()),
        (C7, G7)
    );
    // 8 vCPU, 16 GiB: better aligned with c7 (1:2) than with g7 (1:4).
    sim.app(game(8_000, 16_384));
    let d = sim.scale("game", 1);
    assert!(d.provisions.is_empty());
    assert_eq!(skus_of(&d.tentative), [G7]);
    assert_eq!(d.tentative[0].host, d2.provisions[0].hosts[0]);
    assert!(d.tentative[0].substitution.is_none());
}

/// A world for provisioning notes: one zone, no hosts; tier 0 names g7 and
/// r7 (over the band), tier 1 g8i; c7 is any equivalent.
fn provisioning_world() -> Sim {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    catalog(&mut sim);
    let mut g = game(16_000, 32_768);
    g.substitution.tiers = vec![vec![id("g7"), id("r7")], vec![id("g8i")]];
    sim.app(g);
    sim
}

/// Provisions, their tentative placements and the placements made when
/// the hosts are ready carry the core's reasons: exhausted, backed off,
/// rejected by a rule, hosts full; the ready placements point back to
/// the planned host whose decision explained them.
#[test]
fn provisions_and_their_placements_carry_the_reasons() {
    let mut sim = provisioning_world();
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id(G7), &id("a"), Stock::Exhausted, t)
        .unwrap();
    let _ = sim
        .s
        .set_stock(&id(G8I), &id("a"), Stock::Unknown, t)
        .unwrap();
    let _ = sim
        .s
        .set_stock(&id(C7), &id("a"), Stock::Unknown, t)
        .unwrap();

    let d = sim.scale("game", 4);
    assert_eq!(d.provisions.len(), 1);
    let p = &d.provisions[0];
    assert_eq!((p.sku.as_str(), p.tier, p.count), (G8I, 1, 1));
    let note = p.substitution.clone().unwrap();
    assert_eq!(
        reasons(&note),
        [
            "ecs.g7.4xlarge in a: stock exhausted",
            "ecs.r7.8xlarge: rejected (price 1.25x > cap 1.20x)",
        ]
    );
    assert_eq!(d.tentative.len(), 4);
    let tentative = d.tentative[0].substitution.clone().unwrap();
    assert_eq!(
        reasons(&tentative),
        [
            "ecs.g7.4xlarge in a: hosts full (0 running, 0 planned)",
            "ecs.r7.8xlarge: rejected (price 1.25x > cap 1.20x)",
        ]
    );

    // g8i cannot be provisioned: it backs off, and c7 (any equivalent)
    // takes its place.
    let t = sim.tick(1);
    let d = sim
        .s
        .provision_failed(&id(G8I), &id("a"), ProvisionFailure::InsufficientStock, t)
        .unwrap();
    let until = Timestamp(t.0 + Config::default().backoff_initial_ms);
    let p = &d.provisions[0];
    assert_eq!((p.sku.as_str(), p.tier, p.count), (C7, 2, 2));
    let note = p.substitution.clone().unwrap();
    assert_eq!(
        note.passed_over[2],
        PassedOver {
            sku: id(G8I),
            tier: Some(1),
            zone: Some(id("a")),
            reason: PassReason::BackedOff { until },
        }
    );
    assert_eq!(reasons(&note)[0], "ecs.g7.4xlarge in a: stock exhausted");

    // The hosts come up: the placements name the planned host whose
    // decision carried the reasons.
    let planned = p.hosts[0];
    let t = sim.tick(1);
    let r = sim.s.host_ready(planned, HostId(500), t).unwrap();
    assert_eq!(r.placements.len(), 2);
    let note = r.placements[0].substitution.clone().unwrap();
    assert_eq!((note.sku.as_str(), note.tier), (C7, 2));
    assert_eq!(note.planned_host, Some(planned));
    assert!(note.passed_over.is_empty());
    assert!(note.to_string().starts_with(&format!(
        "ecs.c7.8xlarge (tier 2, any equivalent) instead of ecs.g7.4xlarge, as planned for {planned}; admitted:"
    )));
}

/// An offering never declared is "not offered"; a provision of the
/// requested SKU itself carries no note.
#[test]
fn an_undeclared_offering_is_not_offered() {
    let mut sim = provisioning_world();
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id(G8I), &id("a"), Stock::Unknown, t)
        .unwrap();
    let d = sim.scale("game", 1);
    let note = d.provisions[0].substitution.clone().unwrap();
    assert_eq!(reasons(&note)[0], "ecs.g7.4xlarge in a: not offered");
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id(G7), &id("a"), Stock::Known(1), t)
        .unwrap();
    let d = sim.scale("game", 2);
    // The g8i planned host has room for three more: no provision.
    assert!(d.provisions.is_empty());
    let mut sim = provisioning_world();
    let t = sim.tick(1);
    let _ = sim
        .s
        .set_stock(&id(G7), &id("a"), Stock::Known(1), t)
        .unwrap();
    let d = sim.scale("game", 1);
    assert_eq!(d.provisions[0].sku.as_str(), G7);
    assert_eq!(d.provisions[0].substitution, None);
    assert_eq!(d.tentative[0].substitution, None);
}

/// `explain_substitution`'s rank is the order provisioning tries the SKUs
/// in for a share that fills whole hosts: whatever offerings are blocked,
/// the first-ranked accepted SKU whose offering can provide hosts is the
/// one bought.
#[test]
fn the_first_ranked_available_sku_is_the_one_bought() {
    // Tier 1 holds two SKUs at the same price per instance: the cheaper
    // host wins (g9: 2 per host at 512,000 against g8i: 4 per host at
    // 1,024,000), then c7 (any equivalent, tier 2).
    let world = || {
        let mut sim = Sim::new();
        sim.zones(&["a"]);
        catalog(&mut sim);
        let mut g9 = sku("ecs.g9.8xlarge", 32_000, 131_072);
        g9.family = id("g9");
        g9.price_nanos_per_second = 512_000;
        g9.perf_score = 125;
        sim.sku(g9);
        let mut g = game(16_000, 32_768);
        g.substitution.tiers = vec![vec![id("g7")], vec![id("g8i"), id("g9")]];
        sim.app(g);
        sim
    };
    let skus = [G7, G8I, "ecs.g9.8xlarge", C7];
    for blocked in 0..(1u32 << skus.len()) {
        let mut sim = world();
        let t = sim.tick(1);
        for (i, s) in skus.iter().enumerate() {
            let stock = if blocked & (1 << i) != 0 {
                Stock::Exhausted
            } else {
                Stock::Unknown
            };
            let _ = sim.s.set_stock(&id(s), &id("a"), stock, t).unwrap();
        }
        let verdicts = sim.s.explain_substitution(&id("game"), &id("a")).unwrap();
        let first = verdicts
            .iter()
            .filter_map(|v| match &v.verdict {
                Verdict::Accepted { rank, offering, .. } if offering.can_provide() => {
                    Some((*rank, v.sku.as_str()))
                }
                _ => None,
            })
            .min()
            .map(|(_, s)| s.to_string());
        // Four instances fill whole hosts of every SKU.
        let d = sim.scale("game", 4);
        let bought = d.provisions.first().map(|p| p.sku.to_string());
        assert_eq!(
            bought, first,
            "blocked {blocked:04b}: {:?} {verdicts:?}",
            d.provisions
        );
    }
}

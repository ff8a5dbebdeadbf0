//! Cold start: image locality as a tie-break that never breaks a rule,
//! pull bytes, the cold-start mix of a dry run, and cold-start state in
//! snapshots.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Sim, app, assert_no_overcommit, cases, id, refused, sku};
use proptest::prelude::*;
use trimline::*;

const GB: u64 = 1_000_000_000;

fn image(digest: &str, size_bytes: u64) -> ImageRef {
    ImageRef {
        digest: id(digest),
        size_bytes,
    }
}

/// `spec` with an x86_64 image.
fn with_image(mut spec: AppSpec, digest: &str, size_bytes: u64) -> AppSpec {
    spec.images.insert(Arch::X86_64, image(digest, size_bytes));
    spec
}

/// One zone of `n` equal 16-vCPU hosts.
fn one_zone(n: usize) -> Sim {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("g7.4x", 16_000, 65_536));
    sim.hosts("g7.4x", "a", n);
    sim
}

#[test]
fn of_equal_hosts_the_one_holding_the_image_wins() {
    let mut sim = one_zone(3);
    sim.app(with_image(app("web", 4_000, 8_192), "sha256:web1", 2 * GB));
    sim.s
        .set_host_images(HostId(2), vec![id("sha256:web1")], sim.s.now())
        .unwrap();
    let d = sim.scale("web", 1);
    assert_eq!(d.placements[0].host, HostId(2));
    assert_eq!(d.placements[0].pull_bytes, 0);
}

#[test]
fn only_the_candidates_found_are_compared() {
    // The search gathers `candidates_per_class` (2) hosts in slot order:
    // host 3 is not among them, so its image does not count. Image
    // locality never widens the search.
    let mut sim = one_zone(3);
    sim.app(with_image(app("web", 4_000, 8_192), "sha256:web1", 2 * GB));
    sim.s
        .set_host_images(HostId(3), vec![id("sha256:web1")], sim.s.now())
        .unwrap();
    let d = sim.scale("web", 1);
    assert_eq!(
        (d.placements[0].host, d.placements[0].pull_bytes),
        (HostId(1), 2 * GB)
    );
}

#[test]
fn weight_zero_turns_image_locality_off() {
    let mut sim = Sim::new();
    sim.s = Scheduler::new(Config {
        image_locality_weight: 0,
        ..Config::default()
    });
    sim.zones(&["a"]);
    sim.sku(sku("g7.4x", 16_000, 65_536));
    sim.hosts("g7.4x", "a", 3);
    sim.app(with_image(app("web", 4_000, 8_192), "sha256:web1", 2 * GB));
    sim.s
        .set_host_images(HostId(3), vec![id("sha256:web1")], sim.s.now())
        .unwrap();
    let d = sim.scale("web", 1);
    // The lowest host id wins the tie, and pulls the image.
    assert_eq!(
        (d.placements[0].host, d.placements[0].pull_bytes),
        (HostId(1), 2 * GB)
    );
}

#[test]
fn a_held_image_does_not_outweigh_packing_at_the_default_weight() {
    let mut sim = one_zone(2);
    sim.app(app("filler", 4_000, 8_192));
    sim.app(with_image(app("web", 4_000, 8_192), "sha256:web1", GB));
    // Host 1 is partly full: packing prefers it over the empty host 2,
    // which holds the image.
    let d = sim.scale("filler", 1);
    assert_eq!(d.placements[0].host, HostId(1));
    sim.s
        .set_host_images(HostId(2), vec![id("sha256:web1")], sim.s.now())
        .unwrap();
    let d = sim.scale("web", 1);
    assert_eq!(
        (d.placements[0].host, d.placements[0].pull_bytes),
        (HostId(1), GB)
    );
}

#[test]
fn a_large_weight_prefers_the_holder_over_a_fuller_host() {
    let mut sim = Sim::new();
    sim.s = Scheduler::new(Config {
        image_locality_weight: u32::MAX,
        ..Config::default()
    });
    sim.zones(&["a"]);
    sim.sku(sku("g7.4x", 16_000, 65_536));
    sim.hosts("g7.4x", "a", 2);
    sim.app(app("filler", 4_000, 8_192));
    sim.app(with_image(app("web", 4_000, 8_192), "sha256:web1", GB));
    let _ = sim.scale("filler", 1);
    sim.s
        .set_host_images(HostId(2), vec![id("sha256:web1")], sim.s.now())
        .unwrap();
    let d = sim.scale("web", 1);
    assert_eq!(
        (d.placements[0].host, d.placements[0].pull_bytes),
        (HostId(2), 0)
    );
}

#[test]
fn a_pull_is_reported_once_per_host() {
    let mut sim = one_zone(1);
    sim.app(with_image(app("web", 4_000, 8_192), "sha256:web1", GB));
    sim.app(app("plain", 1_000, 1_024));
    let d = sim.scale("web", 2);
    let pulls: Vec<u64> = d.placements.iter().map(|p| p.pull_bytes).collect();
    assert_eq!(pulls, vec![GB, 0]);
    assert_eq!(
        sim.s.host_images(HostId(1)),
        vec![id::<ImageDigest>("sha256:web1")]
    );
    // An app without an image pulls nothing.
    assert_eq!(sim.scale("plain", 1).placements[0].pull_bytes, 0);
}

#[test]
fn an_image_for_an_architecture_without_hosts_pulls_nothing() {
    let mut sim = one_zone(1);
    let mut spec = app("web", 4_000, 8_192);
    spec.arches.insert(Arch::Aarch64);
    spec.images.insert(Arch::Aarch64, image("sha256:arm", GB));
    sim.app(spec);
    assert_eq!(sim.scale("web", 1).placements[0].pull_bytes, 0);
}

#[test]
fn bad_cold_start_input_is_refused_and_changes_nothing() {
    let mut sim = one_zone(1);
    let t = sim.s.now();
    let err = refused(&mut sim.s, |s| s.set_host_images(HostId(9), vec![], t));
    assert_eq!(err, Error::UnknownHost(HostId(9)));
    let many: Vec<ImageDigest> = (0..=coldstart::MAX_HOST_IMAGES)
        .map(|i| id(&format!("sha256:{i}")))
        .collect();
    let err = refused(&mut sim.s, |s| s.set_host_images(HostId(1), many, t));
    assert!(
        matches!(
            err,
            Error::ColdStart(ColdStartError::TooManyImages { host: HostId(1), count }) if count == 4_097
        ),
        "{err}"
    );
    let figures = OfferingFigures {
        sku: id("g7.4x"),
        zone: id("a"),
        provision_seconds: 60,
        pull_mb_per_second: 0,
    };
    let err = refused(&mut sim.s, |s| s.set_offering_figures(figures.clone(), t));
    assert_eq!(
        err.to_string(),
        "offering g7.4x in zone a: pull_mb_per_second must be at least 1"
    );
    let err = refused(&mut sim.s, |s| {
        s.set_offering_figures(
            OfferingFigures {
                zone: id("z"),
                pull_mb_per_second: 1,
                ..figures
            },
            t,
        )
    });
    assert_eq!(err, Error::UnknownZone(id("z")));
    // An image for an architecture the app does not list.
    let mut spec = app("web", 1_000, 1_024);
    spec.images.insert(Arch::Aarch64, image("sha256:arm", GB));
    let err = refused(&mut sim.s, |s| s.add_app(spec, t));
    assert_eq!(
        err.to_string(),
        "app web: images names an image for aarch64, which is not in arches"
    );
}

#[test]
fn a_planned_host_cannot_be_given_images() {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("g7.4x", 16_000, 65_536));
    sim.app(with_image(app("web", 4_000, 8_192), "sha256:web1", GB));
    let _ = sim
        .s
        .set_stock(&id("g7.4x"), &id("a"), Stock::Unknown, sim.s.now())
        .unwrap();
    let d = sim.scale("web", 1);
    let planned = d.provisions[0].hosts[0];
    let t = sim.s.now();
    // The planned host pulls the image.
    assert_eq!(d.tentative[0].pull_bytes, GB);
    let err = refused(&mut sim.s, |s| s.set_host_images(planned, vec![], t));
    assert_eq!(err, Error::PlannedHost(planned));
    // Once ready, the host holds the image under its own id.
    let t = sim.tick(10);
    let d = sim.s.host_ready(planned, HostId(50), t).unwrap();
    assert_eq!(d.placements[0].pull_bytes, 0);
    assert_eq!(
        sim.s.host_images(HostId(50)),
        vec![id::<ImageDigest>("sha256:web1")]
    );
    assert!(sim.s.host_images(planned).is_empty());
}

/// Three warm hosts of which one holds the image; an offering with
/// figures; the app's scale-out spills onto a new host.
fn launch() -> (Sim, AppId) {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(sku("g7.4x", 16_000, 65_536));
    sim.hosts("g7.4x", "a", 3);
    let game: AppId = id("game");
    sim.app(with_image(
        app("game", 8_000, 16_384),
        "sha256:game",
        3 * GB,
    ));
    let _ = sim
        .s
        .set_stock(&id("g7.4x"), &id("a"), Stock::Unknown, sim.s.now())
        .unwrap();
    sim.s
        .set_host_images(HostId(1), vec![id("sha256:game")], sim.s.now())
        .unwrap();
    sim.s
        .set_offering_figures(
            OfferingFigures {
                sku: id("g7.4x"),
                zone: id("a"),
                provision_seconds: 90,
                pull_mb_per_second: 200,
            },
            sim.s.now(),
        )
        .unwrap();
    (sim, game)
}

#[test]
fn the_dry_run_mix_is_what_the_real_scale_out_does() {
    let (mut sim, game) = launch();
    let t = sim.tick(1_000);
    let plan = sim.s.dry_run(|s| s.scale(&game, 8, t)).unwrap();
    let planned_mix = sim.s.cold_start_mix(&plan);
    let real = sim.s.scale(&game, 8, t).unwrap();
    assert_eq!(real, plan);
    let mix = sim.s.cold_start_mix(&real);
    assert_eq!(mix, planned_mix);
    // Host 1 holds the image (its 2 instances pull nothing); hosts 2 and
    // 3 pull it for their first instance only; one new host takes the
    // last 2, pulling once, after 90 s of provisioning.
    let pull_ms = 3 * GB / 200_000;
    assert_eq!(
        mix,
        ColdStartMix {
            standby: StartBucket::default(),
            warm_with_image: StartBucket {
                instances: 4,
                pull_bytes: 0,
                ready_ms: 0,
                without_figures: 0,
            },
            warm_without_image: StartBucket {
                instances: 2,
                pull_bytes: 6 * GB,
                ready_ms: pull_ms,
                without_figures: 0,
            },
            new_hosts: StartBucket {
                instances: 2,
                pull_bytes: 3 * GB,
                ready_ms: 90_000 + pull_ms,
                without_figures: 0,
            },
        }
    );
    assert_eq!(mix.instances(), 8);
    assert_no_overcommit(&sim.s);
}

/// The launch with a warm pool and standbys: the standbys start first,
/// pool hosts are drawn down before anything is ordered, both are refilled
/// in the same decisions, the dry run's mix and draw are the real call's,
/// and a snapshot keeps images, pools and standbys so that a restored
/// scheduler decides the next call exactly as the original.
#[test]
fn a_launch_with_a_warm_pool_and_standbys() {
    let (mut sim, game) = launch();
    let (g7, a) = (id::<SkuId>("g7.4x"), id::<ZoneId>("a"));
    let mut next_host = 10;
    // Reports every provision of `d` ready; returns the pool's idle hosts.
    let mut ready = |sim: &mut Sim, d: &Decisions| {
        let t = sim.tick(90_000);
        for p in &d.provisions {
            for h in &p.hosts {
                let _ = sim.s.host_ready(*h, HostId(next_host), t).unwrap();
                next_host += 1;
            }
        }
        sim.s.warm_pools()[0].idle_ready
    };
    // Four servers fill two hosts; the third is idle and counts toward a
    // pool of two, so one host is ordered for it.
    let _ = sim.scale("game", 4);
    let t = sim.tick(1_000);
    let d = sim.s.set_warm_pool(&g7, &a, 2, t).unwrap();
    assert_eq!(
        d.provisions
            .iter()
            .map(|p| (p.reason, p.count))
            .collect::<Vec<_>>(),
        [(ProvisionReason::WarmPool, 1)]
    );
    assert_eq!(ready(&mut sim, &d), 2);
    // Two standbys take an idle host; the pool is ordered back at once.
    let t = sim.tick(1_000);
    let d = sim.s.set_standby(&game, 2, t).unwrap();
    assert_eq!(d.placements.len(), 2);
    assert!(
        d.provisions
            .iter()
            .all(|p| p.reason == ProvisionReason::WarmPool)
    );
    assert_eq!(ready(&mut sim, &d), 2);
    let standbys = sim.s.standby_instances(&game);
    assert_eq!(standbys.len(), 2);

    // Seven servers: the two standbys start where they are, one is
    // created on a pool host, and two new standbys refill the target.
    let t = sim.tick(1_000);
    let plan = sim.s.dry_run(|s| s.scale(&game, 7, t)).unwrap();
    let (planned_mix, planned_draw) = (sim.s.cold_start_mix(&plan), sim.s.warm_pool_draw(&plan));
    let d = sim.s.scale(&game, 7, t).unwrap();
    assert_eq!(d, plan);
    assert_eq!(sim.s.cold_start_mix(&d), planned_mix);
    sim.s.check_invariants().unwrap();
    let first: Vec<(InstanceId, Option<StandbyMark>)> = d
        .placements
        .iter()
        .take(2)
        .map(|p| (p.instance, p.standby))
        .collect();
    let started = Some(StandbyMark::Started);
    assert_eq!(first, [(standbys[0], started), (standbys[1], started)]);
    assert_eq!(
        (planned_mix.standby.instances, planned_mix.instances()),
        (2, 3),
        "{planned_mix:?}"
    );
    // The new server and the two new standbys land on the two pool hosts,
    // and both are ordered back.
    assert_eq!(
        planned_draw,
        WarmPoolDraw {
            hosts_used: 2,
            instances: 3,
            refill_hosts: 2
        }
    );
    let refills = d
        .provisions
        .iter()
        .filter(|p| p.reason == ProvisionReason::WarmPool)
        .map(|p| p.count)
        .sum::<u32>();
    assert_eq!(refills, 2);
    let new_standbys = sim.s.standby_instances(&game);
    assert_eq!(new_standbys.len(), 2);
    assert!(new_standbys.iter().all(|i| !standbys.contains(i)));
    assert_no_overcommit(&sim.s);

    // The refill comes up; a snapshot keeps it all.
    assert_eq!(ready(&mut sim, &d), 2);
    let snap = sim.s.snapshot();
    let mut restored = Scheduler::restore(snap.clone()).unwrap();
    assert_eq!(restored.snapshot(), snap);
    assert_eq!(
        restored.host_images(HostId(1)),
        [id::<ImageDigest>("sha256:game")]
    );
    assert_eq!(restored.warm_pools(), sim.s.warm_pools());
    assert_eq!(restored.standby_instances(&game), new_standbys);
    let t = sim.tick(1_000);
    let next = sim.s.scale(&game, 9, t).unwrap();
    assert_eq!(restored.scale(&game, 9, t).unwrap(), next);
    assert_eq!(restored.snapshot(), sim.s.snapshot());
}

#[test]
fn the_mix_reads_as_a_sentence() {
    let (mut sim, game) = launch();
    let t = sim.tick(1_000);
    let plan = sim.s.dry_run(|s| s.scale(&game, 8, t)).unwrap();
    assert_eq!(
        sim.s.cold_start_mix(&plan).to_string(),
        "4 warm with image, 2 warm without, 2 on new hosts; pull 9.0 GB; ready within 105.0 s"
    );
}

#[test]
fn offerings_without_figures_are_counted_apart() {
    let mut sim = one_zone(1);
    sim.app(with_image(app("web", 4_000, 8_192), "sha256:web1", GB));
    let d = sim.scale("web", 1);
    let mix = sim.s.cold_start_mix(&d);
    assert_eq!(mix.warm_without_image.without_figures, 1);
    assert_eq!(mix.ready_ms(), 0);
    assert!(mix.to_string().ends_with("(1 without figures)"), "{mix}");
}

#[test]
fn snapshots_round_trip_images_and_figures() {
    let (mut sim, game) = launch();
    let t = sim.tick(1_000);
    let _ = sim.s.scale(&game, 8, t).unwrap();
    let snap = sim.s.snapshot();
    assert_eq!(snap.format, SNAPSHOT_FORMAT);
    assert_eq!(snap.cold_start.figures.len(), 1);
    // Hosts 1 to 3 and the planned host hold the image.
    assert_eq!(snap.cold_start.host_images.len(), 4);
    let json = serde_json::to_string(&snap).unwrap();
    let mut restored = Scheduler::restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(restored.snapshot(), snap);
    // The restored scheduler decides the same.
    let t = sim.tick(1_000);
    assert_eq!(
        restored.scale(&game, 12, t).unwrap(),
        sim.s.scale(&game, 12, t).unwrap()
    );
}

#[test]
fn format_2_snapshots_still_restore() {
    let mut sim = one_zone(2);
    sim.app(app("web", 4_000, 8_192));
    let _ = sim.scale("web", 3);
    let mut snap = sim.s.snapshot();
    snap.format = 2;
    let json = serde_json::to_string(&snap).unwrap();
    assert!(!json.contains("cold_start") && !json.contains("images"));
    let restored = Scheduler::restore(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(restored.snapshot().instances, sim.s.snapshot().instances);
}

#[test]
fn impossible_cold_start_state_is_refused() {
    let (sim, _) = launch();
    let good = sim.s.snapshot();
    let mut old = good.clone();
    old.format = 2;
    assert!(matches!(
        Scheduler::restore(old),
        Err(RestoreError::Counter(_))
    ));
    let mut unknown = good.clone();
    unknown.cold_start.host_images[0].host = HostId(77);
    assert_eq!(
        Scheduler::restore(unknown).unwrap_err(),
        RestoreError::Invalid(Error::UnknownHost(HostId(77)))
    );
    let mut twice = good.clone();
    let first = twice.cold_start.host_images[0].clone();
    twice.cold_start.host_images.push(first);
    assert!(matches!(
        Scheduler::restore(twice),
        Err(RestoreError::Counter(_))
    ));
    let mut figures = good.clone();
    figures.cold_start.figures[0].pull_mb_per_second = 0;
    assert!(matches!(
        Scheduler::restore(figures),
        Err(RestoreError::Invalid(Error::ColdStart(
            ColdStartError::ZeroPullRate { .. }
        )))
    ));
    let mut figures_twice = good;
    let f = figures_twice.cold_start.figures[0].clone();
    figures_twice.cold_start.figures.push(f);
    assert!(matches!(
        Scheduler::restore(figures_twice),
        Err(RestoreError::Counter(_))
    ));
}

/// Removing a host forgets its images.
#[test]
fn removed_hosts_forget_their_images() {
    let mut sim = one_zone(2);
    sim.s
        .set_host_images(HostId(2), vec![id("sha256:x")], sim.s.now())
        .unwrap();
    let _ = sim.s.remove_host(HostId(2), sim.s.now()).unwrap();
    assert!(sim.s.snapshot().cold_start.is_empty());
    let _ = sim
        .s
        .add_host(common::host_spec(2, "g7.4x", "a"), sim.s.now())
        .unwrap();
    assert!(sim.s.host_images(HostId(2)).is_empty());
}

// The property: image locality only chooses among the hosts the search
// found without it. From the same state, one placement with images on
// lands in the same zone and on the same SKU (so the same tier) as with
// them off; nothing is ever overcommitted and the skew limit holds.

#[derive(Clone, Debug)]
enum Op {
    /// Place one instance of app `0 % apps`.
    Place(usize),
    /// Host `0 % hosts` now holds the images of the apps in the mask.
    Images(usize, u8),
    /// Remove the oldest instance of an app.
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..4).prop_map(Op::Place),
        2 => (0usize..64, any::<u8>()).prop_map(|(h, m)| Op::Images(h, m)),
        1 => (0usize..4).prop_map(Op::Remove),
    ]
}

const APPS: [(&str, u64, u64); 4] = [
    ("a0", 2_000, 4_096),
    ("a1", 4_000, 16_384),
    ("a2", 1_000, 8_192),
    ("a3", 6_000, 8_192),
];

/// Two zones; two SKU families in two tiers; apps with skew limit 1, some
/// rigid and some best effort, all naming images.
fn region(hosts_per_class: usize, weight: u32) -> Scheduler {
    let mut s = Scheduler::new(Config {
        image_locality_weight: weight,
        ..Config::default()
    });
    let t = Timestamp(0);
    for z in ["a", "b"] {
        s.add_zone(id(z), ZoneState::Up, t).unwrap();
    }
    s.add_sku(sku("g7.4x", 16_000, 65_536), t).unwrap();
    s.add_sku(sku("g8.4x", 16_000, 65_536), t).unwrap();
    let mut next = 1;
    for z in ["a", "b"] {
        for k in ["g7.4x", "g8.4x"] {
            for _ in 0..hosts_per_class {
                let _ = s.add_host(common::host_spec(next, k, z), t).unwrap();
                next += 1;
            }
        }
    }
    for (i, (name, cpu, mem)) in APPS.iter().enumerate() {
        let mut spec = with_image(app(name, *cpu, *mem), &format!("sha256:{name}"), GB);
        spec.spread.max_skew = Some(1);
        spec.sku = Some(id("g7.4x"));
        spec.substitution.tiers = vec![vec![id("g7")], vec![id("g8")]];
        if i == 2 {
            spec.qos = QosTier::BestEffort;
        }
        s.add_app(spec, t).unwrap();
    }
    s
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn image_locality_never_breaks_a_rule(
        hosts in 1usize..5,
        weight in prop_oneof![Just(1u32), Just(1u32 << 30), Just(u32::MAX)],
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let mut s = region(hosts, weight);
        let host_ids: Vec<HostId> = s.host_ids().collect();
        let mut t = 1;
        for op in ops {
            t += 1;
            let now = Timestamp(t);
            match op {
                Op::Place(a) => {
                    let app: AppId = id(APPS[a % APPS.len()].0);
                    let mut off = s.snapshot();
                    off.config.image_locality_weight = 0;
                    let mut off = Scheduler::restore(off).unwrap();
                    let skew_before = s.skew(&app).unwrap();
                    let with = s.place(&app, now).unwrap();
                    let without = off.place(&app, now).unwrap();
                    let on_host = |d: &Decisions| {
                        d.placements.iter().chain(&d.tentative)
                            .find(|p| p.app == app)
                            .map(|p| (p.zone.clone(), p.sku.clone(), p.host))
                    };
                    let (w, wo) = (on_host(&with), on_host(&without));
                    prop_assert_eq!(w.is_some(), wo.is_some());
                    if let (Some(w), Some(wo)) = (w.clone(), wo) {
                        // Same zone, same SKU (so the same tier).
                        prop_assert_eq!((&w.0, &w.1), (&wo.0, &wo.1));
                        if w.2 != wo.2 {
                            // A different host only for the image.
                            let digest: ImageDigest = id(&format!("sha256:{}", app));
                            prop_assert!(off.host_images(w.2).contains(&digest));
                        }
                    }
                    if w.is_some() {
                        prop_assert!(s.skew(&app).unwrap() <= skew_before.max(1));
                    }
                    prop_assert_eq!(with.evictions.len(), without.evictions.len());
                }
                Op::Images(h, mask) => {
                    let host = host_ids[h % host_ids.len()];
                    let digests = (0..APPS.len())
                        .filter(|i| mask & (1 << i) != 0)
                        .map(|i| id(&format!("sha256:{}", APPS[i].0)))
                        .collect();
                    s.set_host_images(host, digests, now).unwrap();
                }
                Op::Remove(a) => {
                    let app: AppId = id(APPS[a % APPS.len()].0);
                    if let Some(i) = s.app_instances(&app).into_iter().min() {
                        let _ = s.remove_instance(i, now).unwrap();
                    }
                }
            }
            assert_no_overcommit(&s);
        }
    }
}

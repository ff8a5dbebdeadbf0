//! Partial packing: as many items as fit into a list of bins, and the
//! items left over, where `pack` refuses the whole problem.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use proptest::prelude::*;
use trimline::pack::{Bins, PackError, PackOptions, PackSpec, pack, pack_partial};

/// Items placed by best fit in the order given (the count `pack_partial`
/// must reach at least).
fn online_count(bins: &[Vec<u64>], items: &[Vec<u64>]) -> usize {
    let mut load: Vec<Vec<u64>> = bins.iter().map(|c| vec![0; c.len()]).collect();
    let mut placed = 0;
    for it in items {
        let best = (0..bins.len())
            .filter(|&b| (0..it.len()).all(|k| it[k] <= bins[b][k] - load[b][k]))
            .min_by_key(|&b| {
                (0..it.len())
                    .filter(|&k| bins[b][k] > 0)
                    .map(|k| {
                        (u128::from(bins[b][k] - load[b][k] - it[k]) << 20) / u128::from(bins[b][k])
                    })
                    .sum::<u128>()
            });
        if let Some(b) = best {
            for k in 0..it.len() {
                load[b][k] += it[k];
            }
            placed += 1;
        }
    }
    placed
}

/// Every item placed once or left over, no bin over capacity.
fn check(bins: &[Vec<u64>], items: &[Vec<u64>], p: &trimline::pack::PartialPacking) {
    assert_eq!(p.bins.len(), bins.len());
    assert_eq!(p.bin_of.len(), items.len());
    let mut seen = vec![0; items.len()];
    for (b, its) in p.bins.iter().enumerate() {
        for k in 0..bins[b].len() {
            let load: u64 = its.iter().map(|&i| items[i][k]).sum();
            assert!(
                load <= bins[b][k],
                "bin {b} dimension {k}: {load} > {}",
                bins[b][k]
            );
        }
        for &i in its {
            assert_eq!(p.bin_of[i], Some(b));
            seen[i] += 1;
        }
    }
    for &i in &p.unplaced {
        assert_eq!(p.bin_of[i], None);
        seen[i] += 1;
    }
    assert!(seen.iter().all(|&s| s == 1), "{seen:?}");
    assert!(p.unplaced.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(p.bins_used, p.bins.iter().filter(|b| !b.is_empty()).count());
}

#[test]
fn too_many_items_are_packed_in_part_with_the_rest_named() {
    // Three GPU hosts (vCPU, GiB, GPUs); twelve 1-GPU pods and one
    // 16-GPU job that fits no host.
    let bins = vec![vec![96, 384, 8]; 3];
    let mut items = vec![vec![12, 48, 1]; 30];
    items.push(vec![8, 32, 16]);
    let err = pack(&Bins::List(bins.clone()), &items, &PackOptions::default()).unwrap_err();
    assert!(
        matches!(err, PackError::ItemFitsNoBin { item: 30, .. }),
        "{err:?}"
    );
    let p = pack_partial(&bins, &items, &PackOptions::default()).unwrap();
    check(&bins, &items, &p);
    // 24 accelerators hold 24 pods; 6 pods and the big job are left.
    assert_eq!(p.unplaced.len(), 7);
    assert!(p.unplaced.contains(&30));
    assert_eq!(p.bins_used, 3);
}

#[test]
fn when_everything_fits_it_is_packs_packing() {
    let bins = vec![vec![16, 64]; 4];
    let items = vec![
        vec![8, 16],
        vec![8, 16],
        vec![4, 32],
        vec![4, 32],
        vec![12, 8],
    ];
    let full = pack(&Bins::List(bins.clone()), &items, &PackOptions::default()).unwrap();
    let p = pack_partial(&bins, &items, &PackOptions::default()).unwrap();
    assert!(p.unplaced.is_empty());
    assert_eq!(p.bins, full.bins);
    assert_eq!(p.bins_used, full.bins_used);
}

#[test]
fn invalid_problems_are_still_refused() {
    let items = vec![vec![1, 2]];
    assert_eq!(
        pack_partial(&[], &items, &PackOptions::default()).unwrap_err(),
        PackError::NoBins
    );
    assert!(matches!(
        pack_partial(&[vec![4]], &items, &PackOptions::default()).unwrap_err(),
        PackError::RaggedItem { item: 0, .. }
    ));
}

#[test]
fn the_spec_reads_from_json() {
    let spec: PackSpec =
        serde_json::from_str(r#"{"bins": [[8], [8]], "items": [[6], [5], [9]], "seed": 3}"#)
            .unwrap();
    let p = pack_partial(&spec.bins, &spec.items, &spec.options()).unwrap();
    assert_eq!(p.unplaced, vec![2]);
    assert_eq!(spec.options().budget, trimline::pack::DEFAULT_BUDGET);
    assert!(serde_json::from_str::<PackSpec>(r#"{"bins": [], "items": [], "extra": 1}"#).is_err());
}

proptest! {
    #![proptest_config(common::cases(64))]

    #[test]
    fn partial_packing_is_feasible_and_places_at_least_as_many_as_best_fit(
        hosts in 1usize..6,
        items in prop::collection::vec((1u64..40, 1u64..40, 0u64..9), 0..60),
        budget in 0u64..5_000,
    ) {
        let bins = vec![vec![32, 32, 8]; hosts];
        let items: Vec<Vec<u64>> = items.into_iter().map(|(a, b, c)| vec![a, b, c]).collect();
        let opts = PackOptions { budget, seed: 0, warm_start: None };
        let p = pack_partial(&bins, &items, &opts).unwrap();
        check(&bins, &items, &p);
        let placed = items.len() - p.unplaced.len();
        prop_assert!(placed >= online_count(&bins, &items), "{placed} placed");
        match pack(&Bins::List(bins.clone()), &items, &opts) {
            Ok(full) => {
                prop_assert!(p.unplaced.is_empty());
                prop_assert_eq!(p.bins_used, full.bins_used);
            }
            Err(PackError::NotEnoughBins { .. } | PackError::ItemFitsNoBin { .. }) => {
                prop_assert!(!p.unplaced.is_empty());
            }
            Err(e) => prop_assert!(false, "{e:?}"),
        }
    }
}

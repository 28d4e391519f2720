//! Seed 003's two-tier duplicate groups: exact duplicates (same content digest) and
//! near-duplicates (perceptual hashes within a Hamming radius), each near-duplicate group
//! with a type — `burst`, `panorama` or `similar` — and each member with a confidence.
//!
//! 1. **Exact groups.** Items with the same digest are one *unit*: byte-identical files are
//!    an exact group, not a similar one. Only the first item of a unit (in input order) is
//!    looked at from here on; the others follow it.
//! 2. **Panoramas** (when capture times are known). Units sorted by time; a *run* continues
//!    while the next shot is within `panorama_gap_seconds` of the previous one and within the
//!    radius of it. A run of at least `panorama_min_shots` whose first and last shots are
//!    *farther* apart than the radius is a panorama: a sequence of overlapping views that
//!    drifts across a scene. Here the chain is the point, so it stays one group.
//! 3. **Near-duplicate groups.** Everywhere else chains are the problem: linking every pair
//!    within the radius (connected components) joins A to C through B even when A and C look
//!    nothing alike, and a dense library collapses into a few giant groups. So groups are
//!    *stars* instead: every unit's number of neighbours within the radius is counted, then,
//!    most-connected first (ties to the earlier item), each unit not yet grouped becomes a
//!    leader and takes every ungrouped unit within the radius of it. Every member is within
//!    the radius of its leader, so no group is wider than twice the radius. Units with
//!    identical hashes are one point of the search, so a thousand copies cost one.
//! 4. **Types and confidence.** A star group whose shots all have capture times within
//!    `burst_seconds` of each other is a `burst`; any other is `similar`. A member's
//!    confidence comes from its distance to the leader (for a panorama, to the nearest shot
//!    next to it in time): `high` up to `high_distance`, `medium` up to `medium_distance`,
//!    `low` beyond. The leader takes the confidence of its nearest member.

use super::radius::Code;
use crate::{Exec, Step};

/// How groups are formed; see the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub radius: u32,
    pub high_distance: u32,
    pub medium_distance: u32,
    pub burst_seconds: f64,
    pub panorama_gap_seconds: f64,
    pub panorama_min_shots: usize,
}

/// One input item: its hash is a 64-bit `u64` or a longer [`super::radius::Bits`].
#[derive(Debug, Clone, PartialEq)]
pub struct Item<H = u64> {
    pub hash: H,
    /// A digest of the content (SHA-256), when known.
    pub digest: Option<Vec<u8>>,
    /// Capture time in seconds, when known.
    pub taken_at: Option<f64>,
    /// The hashes of the item's other orientations (PDQ's rotations and flips), when known:
    /// an item is then also near every item within the radius of one of them, so a rotated
    /// or mirrored copy joins its original's group. Empty: the hash alone.
    pub variants: Vec<H>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    High,
    Medium,
    Low,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Burst,
    Panorama,
    Similar,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Burst => "burst",
            Kind::Panorama => "panorama",
            Kind::Similar => "similar",
        }
    }
}

/// A near-duplicate group: its leader (an item index; for a panorama, the first shot), its
/// type, and how many items it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub leader: usize,
    pub kind: Kind,
    pub items: usize,
}

/// An item's place in a near-duplicate group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Membership {
    /// Index into [`Grouping::groups`].
    pub group: usize,
    pub confidence: Confidence,
    /// The distance the confidence comes from.
    pub distance: u32,
}

/// The result, per item: the first item of its exact group (when that group has two or
/// more), and its near-duplicate group (an index into `groups`) with its confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    pub exact: Vec<Option<usize>>,
    pub similar: Vec<Option<Membership>>,
    pub groups: Vec<Group>,
    pub exact_groups: usize,
}

impl Params {
    fn confidence(&self, d: u32) -> Confidence {
        if d <= self.high_distance {
            Confidence::High
        } else if d <= self.medium_distance {
            Confidence::Medium
        } else {
            Confidence::Low
        }
    }
}

/// Groups `items`. The neighbour count runs on `exec`'s threads; the result does not depend
/// on their number.
pub fn group<H: Code>(items: &[Item<H>], params: &Params, exec: &mut Exec) -> Grouping {
    let n = items.len();
    // 1. Units: items with one digest; `unit_of[i]` is the unit's first item.
    let mut unit_of: Vec<usize> = (0..n).collect();
    let mut by_digest: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
    for (i, it) in items.iter().enumerate() {
        if let Some(d) = &it.digest {
            unit_of[i] = *by_digest.entry(d.as_slice()).or_insert(i);
        }
    }
    let mut unit_size = vec![0usize; n];
    for &u in &unit_of {
        unit_size[u] += 1;
    }
    let exact: Vec<Option<usize>> = unit_of.iter().map(|&u| (unit_size[u] > 1).then_some(u)).collect();
    let exact_groups = (0..n).filter(|&u| unit_of[u] == u && unit_size[u] > 1).count();
    let units: Vec<usize> = (0..n).filter(|&i| unit_of[i] == i).collect();

    // Per unit (by item index): its group and confidence.
    let mut unit_group: Vec<Option<Membership>> = vec![None; n];
    let mut groups = vec![];

    // 2. Panoramas.
    // (capture time, unit) of the units with a finite time, in time order.
    let mut timed: Vec<(f64, usize)> = units.iter().filter_map(|&u| items[u].taken_at.filter(|t| t.is_finite()).map(|t| (t, u))).collect();
    timed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut start = 0;
    while start < timed.len() {
        let mut end = start + 1;
        while end < timed.len() {
            let ((t_prev, prev), (t_next, next)) = (timed[end - 1], timed[end]);
            if t_next - t_prev > params.panorama_gap_seconds || items[prev].hash.distance(&items[next].hash) > params.radius {
                break;
            }
            end += 1;
        }
        let run: Vec<usize> = timed[start..end].iter().map(|&(_, u)| u).collect();
        let run = &run[..];
        if run.len() >= params.panorama_min_shots.max(2) && items[run[0]].hash.distance(&items[run[run.len() - 1]].hash) > params.radius {
            let g = groups.len();
            let step = |a: usize, b: usize| items[run[a]].hash.distance(&items[run[b]].hash);
            for k in 0..run.len() {
                let before = (k > 0).then(|| step(k - 1, k));
                let after = (k + 1 < run.len()).then(|| step(k, k + 1));
                let d = before.into_iter().chain(after).min().expect("a run has two shots");
                unit_group[run[k]] = Some(Membership { group: g, confidence: params.confidence(d), distance: d });
            }
            groups.push(Group { leader: run[0], kind: Kind::Panorama, items: run.iter().map(|&u| unit_size[u]).sum() });
        }
        start = end;
    }
    exec.step(Step::Pass { what: "panoramas", done: n, total: n });

    // 3. Stars over the remaining units; units with one hash are one point.
    let rest: Vec<usize> = units.iter().copied().filter(|&u| unit_group[u].is_none()).collect();
    let mut order: Vec<usize> = (0..rest.len()).collect();
    order.sort_by(|&a, &b| items[rest[a]].hash.cmp(&items[rest[b]].hash).then(rest[a].cmp(&rest[b])));
    let mut point_hash: Vec<H> = vec![];
    let mut point_units: Vec<Vec<usize>> = vec![];
    for &k in &order {
        let u = rest[k];
        if point_hash.last() != Some(&items[u].hash) {
            point_hash.push(items[u].hash.clone());
            point_units.push(vec![]);
        }
        point_units.last_mut().expect("pushed above").push(u);
    }
    let points = point_hash.len();
    let index = H::index(&point_hash, params.radius);
    let sizes: Vec<usize> = point_units.iter().map(Vec::len).collect();
    // A point's neighbours: those of its hash, and of its first unit's other orientations
    // (each neighbour once, at its least distance).
    let variants: Vec<&[H]> = point_units.iter().map(|u| items[u[0]].variants.as_slice()).collect();
    let neighbours = |p: usize, f: &mut dyn FnMut(usize, u32)| {
        if variants[p].is_empty() {
            return H::search(&index, &point_hash[p], f);
        }
        let mut found: Vec<(usize, u32)> = vec![];
        for h in std::iter::once(&point_hash[p]).chain(variants[p]) {
            H::search(&index, h, |q, d| found.push((q, d)));
        }
        found.sort_unstable();
        found.dedup_by_key(|e| e.0);
        for (q, d) in found {
            f(q, d);
        }
    };
    let mut degree = vec![0usize; points];
    exec.for_chunks_mut(
        "counting neighbours",
        points,
        H::SEARCHES_PER_CHUNK,
        &mut degree,
        1,
        |range, out| {
            for (p, o) in range.zip(out.iter_mut()) {
                let mut d = sizes[p] - 1;
                neighbours(p, &mut |q, _| {
                    if q != p {
                        d += sizes[q];
                    }
                });
                *o = d;
            }
        },
        |_| {},
    );
    let first_item = |p: usize| point_units[p][0];
    let mut by_degree: Vec<usize> = (0..points).collect();
    by_degree.sort_by_key(|&p| (std::cmp::Reverse(degree[p]), first_item(p)));
    let mut taken = vec![false; points];
    let mut members: Vec<(usize, u32)> = vec![];
    for (done, &p) in by_degree.iter().enumerate() {
        if done % (4 * H::SEARCHES_PER_CHUNK) == 0 {
            exec.step(Step::Pass { what: "forming groups", done, total: points });
        }
        if taken[p] {
            continue;
        }
        members.clear();
        neighbours(p, &mut |q, d| {
            if !taken[q] {
                members.push((q, d));
            }
        });
        let size: usize = members.iter().map(|&(q, _)| point_units[q].len()).sum();
        if size < 2 {
            taken[p] = true;
            continue;
        }
        members.sort_unstable();
        let g = groups.len();
        let nearest = members.iter().filter(|&&(q, _)| q != p).map(|&(_, d)| d).min();
        let lead_d = if point_units[p].len() > 1 { 0 } else { nearest.unwrap_or(0) };
        let mut times = vec![];
        let mut item_count = 0;
        for &(q, d) in &members {
            taken[q] = true;
            let d = if q == p { lead_d } else { d };
            for &u in &point_units[q] {
                unit_group[u] = Some(Membership { group: g, confidence: params.confidence(d), distance: d });
                times.push(items[u].taken_at.filter(|t| t.is_finite()));
                item_count += unit_size[u];
            }
        }
        let kind = match times.iter().copied().collect::<Option<Vec<f64>>>() {
            Some(t) if t.iter().copied().fold(f64::MIN, f64::max) - t.iter().copied().fold(f64::MAX, f64::min) <= params.burst_seconds => {
                Kind::Burst
            }
            _ => Kind::Similar,
        };
        groups.push(Group { leader: first_item(p), kind, items: item_count });
    }
    let similar = unit_of.iter().map(|&u| unit_group[u]).collect();
    Grouping { exact, similar, groups, exact_groups }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::hamming::distance_u64;
    use crate::hash::radius::Bits;

    fn params() -> Params {
        Params { radius: 4, high_distance: 1, medium_distance: 3, burst_seconds: 5.0, panorama_gap_seconds: 10.0, panorama_min_shots: 3 }
    }

    fn item(hash: u64, digest: Option<u8>, t: Option<f64>) -> Item {
        Item { hash, digest: digest.map(|d| vec![d]), taken_at: t, variants: vec![] }
    }

    #[test]
    fn exact_copies_are_an_exact_group_and_not_a_similar_one() {
        let items = [item(0xff, Some(1), None), item(0xff, Some(1), None), item(0xff00_0000_0000_0000, None, None)];
        let g = group(&items, &params(), &mut Exec::new(2, &mut |_| {}));
        assert_eq!(g.exact, vec![Some(0), Some(0), None]);
        assert_eq!(g.exact_groups, 1);
        assert!(g.groups.is_empty(), "{g:?}");
        assert_eq!(g.similar, vec![None, None, None]);
    }

    #[test]
    fn a_rotated_copy_joins_its_original_through_the_originals_variants() {
        // b is a's picture turned: far from a's hash, one bit from a's rotated hash.
        let a = Item { variants: vec![0xffff_0000_0000_0000, 0x00ff_ff00_0000_0000], ..item(0xffff, None, None) };
        let b = item(0xffff_0000_0000_0001, None, None);
        let far = item(0x5555_5555_5555_5555, None, None);
        let g = group(&[a.clone(), b.clone(), far.clone()], &params(), &mut Exec::new(2, &mut |_| {}));
        assert_eq!(g.groups.len(), 1, "{g:?}");
        assert_eq!(g.similar[0].map(|m| m.group), Some(0));
        assert_eq!(g.similar[1].map(|m| (m.group, m.distance)), Some((0, 1)));
        assert_eq!(g.similar[2], None);
        // Without the variants they are strangers.
        let plain = Item { variants: vec![], ..a };
        assert!(group(&[plain, b, far], &params(), &mut Exec::new(2, &mut |_| {})).groups.is_empty());
    }

    #[test]
    fn a_chain_is_split_around_its_most_connected_member() {
        // 0 - 1 - 2 - 3 - 4, each 3 bits from the next: components would make one group.
        let chain: Vec<u64> = (0..5).map(|k| (1u64 << (3 * k)) - 1).collect();
        let items: Vec<Item> = chain.iter().map(|&h| item(h, None, None)).collect();
        let g = group(&items, &params(), &mut Exec::new(2, &mut |_| {}));
        for grp in &g.groups {
            let members: Vec<usize> = (0..5).filter(|&i| g.similar[i].map(|s| s.group) == g.groups.iter().position(|x| x == grp)).collect();
            for &i in &members {
                assert!(distance_u64(chain[i], chain[grp.leader]) <= 4, "{g:?}");
            }
        }
        assert!(g.groups.len() >= 2, "{g:?}");
    }

    #[test]
    fn bit_strings_group_as_their_64_bit_hashes_do_and_longer_ones_group_too() {
        // The burst/panorama/similar case again, as 64-bit Bits: the same grouping.
        let hashes = [1u64, 3, 0xff, 0xf0f0, 0xf0f1, 0xf0f3, u64::MAX, u64::MAX - 1, 0x5555, 0x5557];
        let times = [Some(1.0), Some(2.0), None, Some(10.0), Some(14.0), Some(18.0), None, None, Some(0.0), Some(9e4)];
        let as_u64: Vec<Item> = hashes.iter().zip(times).map(|(&h, t)| item(h, None, t)).collect();
        let as_bits: Vec<Item<Bits>> = as_u64
            .iter()
            .map(|i| Item {
                hash: Bits::from_bytes(&i.hash.to_be_bytes(), 64).unwrap(),
                digest: None,
                taken_at: i.taken_at,
                variants: vec![],
            })
            .collect();
        let (mut quiet_a, mut quiet_b) = (|_| {}, |_| {});
        assert_eq!(group(&as_bits, &params(), &mut Exec::new(2, &mut quiet_a)), group(&as_u64, &params(), &mut Exec::new(1, &mut quiet_b)));
        // 256-bit codes: two families of near copies of two random codes, and a loner.
        let mut state = 7u64;
        let mut rnd = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as u8
        };
        let a: Vec<u8> = (0..32).map(|_| rnd()).collect();
        let b: Vec<u8> = (0..32).map(|_| rnd()).collect();
        let lone: Vec<u8> = (0..32).map(|_| rnd()).collect();
        let flip = |v: &[u8], bits: &[usize]| {
            let mut w = v.to_vec();
            bits.iter().for_each(|&i| w[i / 8] ^= 0x80 >> (i % 8));
            Bits::from_bytes(&w, 256).unwrap()
        };
        let codes = [flip(&a, &[]), flip(&a, &[3]), flip(&a, &[100, 200]), flip(&b, &[]), flip(&b, &[255]), flip(&lone, &[])];
        let items: Vec<Item<Bits>> =
            codes.iter().map(|c| Item { hash: c.clone(), digest: None, taken_at: None, variants: vec![] }).collect();
        let g = group(&items, &params(), &mut Exec::new(2, &mut |_| {}));
        let grp = |i: usize| g.similar[i].map(|m| m.group);
        assert!(grp(0).is_some() && grp(0) == grp(1) && grp(1) == grp(2), "{g:?}");
        assert!(grp(3).is_some() && grp(3) == grp(4) && grp(3) != grp(0), "{g:?}");
        assert_eq!(grp(5), None);
        assert_eq!(g.similar[2].unwrap().confidence, Confidence::Medium);
    }

    #[test]
    fn bursts_panoramas_and_plain_similars() {
        let base = 0x0123_4567_89ab_cdefu64;
        let items = vec![
            // A burst: three near-identical shots within two seconds.
            item(base, None, Some(100.0)),
            item(base ^ 1, None, Some(101.0)),
            item(base ^ 2, None, Some(102.0)),
            // A panorama: each shot 3 bits from the next, the ends 9 apart, 4 s between shots.
            item(!base, None, Some(500.0)),
            item(!base ^ 0b111, None, Some(504.0)),
            item(!base ^ 0b111_111, None, Some(508.0)),
            item(!base ^ 0b111_111_111, None, Some(512.0)),
            // Two similar pictures taken a day apart, and one with no time.
            item(0x5555, None, Some(0.0)),
            item(0x5557, None, Some(86_400.0)),
            item(0x5575, None, None),
        ];
        let g = group(&items, &params(), &mut Exec::new(2, &mut |_| {}));
        let kind = |i: usize| g.similar[i].map(|m| g.groups[m.group].kind);
        assert_eq!((kind(0), kind(1), kind(2)), (Some(Kind::Burst), Some(Kind::Burst), Some(Kind::Burst)));
        assert!((3..7).all(|i| kind(i) == Some(Kind::Panorama)), "{g:?}");
        assert!((7..10).all(|i| kind(i) == Some(Kind::Similar)), "{g:?}");
        assert_eq!(g.similar[1].unwrap().confidence, Confidence::High);
        assert_eq!(g.similar[4].unwrap().confidence, Confidence::Medium);
        assert_eq!(g.groups.iter().map(|x| x.items).sum::<usize>(), 10);
    }
}

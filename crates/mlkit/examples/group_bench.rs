//! Times `hash::groups::group` on clustered random hashes: `group_bench N RADIUS`;
//! `group_bench N RADIUS bands` times single searches with each band count instead.
use mlkit::hash::groups::{group, Item, Params};
use mlkit::Exec;

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let (n, radius) = (args.first().copied().unwrap_or(1_000_000), args.get(1).copied().unwrap_or(10) as u32);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let centres: Vec<u64> = (0..n / 20).map(|_| rnd()).collect();
    let items: Vec<Item> = (0..n)
        .map(|_| {
            let mut h = centres[(rnd() % centres.len() as u64) as usize];
            for _ in 0..(rnd() % 7) {
                h ^= 1 << (rnd() % 64);
            }
            Item { hash: h, digest: None, taken_at: None, variants: vec![] }
        })
        .collect();
    if args.get(2).is_some() {
        let hashes: Vec<u64> = items.iter().map(|i| i.hash).collect();
        for m in 3..=8 {
            let index = mlkit::hash::radius::MultiIndex::with_bands(&hashes, radius, m);
            let t = std::time::Instant::now();
            let mut found = 0usize;
            for &h in hashes.iter().take(100_000) {
                index.search(h, |_, _| found += 1);
            }
            println!("{m} bands: {:.2} µs a search, {found} found", t.elapsed().as_secs_f64() * 10.0);
        }
        return;
    }
    let params =
        Params { radius, high_distance: 2, medium_distance: 6, burst_seconds: 10.0, panorama_gap_seconds: 30.0, panorama_min_shots: 3 };
    let t = std::time::Instant::now();
    let g = group(&items, &params, &mut Exec::new(2, &mut |_| {}));
    println!("{n} hashes, radius {radius}: {:.2} s, {} groups", t.elapsed().as_secs_f64(), g.groups.len());
}

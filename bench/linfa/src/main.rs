//! `linfa-bench FILE ROWS COLS dbscan EPS MIN_POINTS` or `... kmeans K SEED`: runs linfa on a
//! raw little-endian f32 file and prints the seconds, then one label per line (-1 = noise).
//! `... tsne PERPLEXITY ITERATIONS`: linfa-tsne (bhtsne, θ = 0.5), then one `x y` line a point.
use linfa::traits::{Fit, Predict, Transformer};
use linfa::DatasetBase;
use linfa_clustering::{Dbscan, KMeans};
use ndarray::Array2;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&a[1]).expect("readable file");
    let (rows, cols): (usize, usize) = (a[2].parse().unwrap(), a[3].parse().unwrap());
    let data: Vec<f64> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64).collect();
    let x = Array2::from_shape_vec((rows, cols), data).expect("ROWS × COLS");
    let t = std::time::Instant::now();
    if a[4] == "tsne" {
        let perplexity: f64 = a[5].parse().unwrap();
        let iterations: usize = a[6].parse().unwrap();
        let y = linfa_tsne::TSneParams::embedding_size(2)
            .perplexity(perplexity)
            .approx_threshold(0.5)
            .max_iter(iterations)
            .transform(x)
            .expect("tsne");
        println!("{:.3}", t.elapsed().as_secs_f64());
        let mut out = String::new();
        for r in y.rows() {
            out.push_str(&format!("{} {}\n", r[0], r[1]));
        }
        print!("{out}");
        return;
    }
    let labels: Vec<i64> = match a[4].as_str() {
        "dbscan" => {
            let eps: f64 = a[5].parse().unwrap();
            let min_points: usize = a[6].parse().unwrap();
            let out = Dbscan::params(min_points).tolerance(eps).transform(&x).expect("dbscan");
            out.iter().map(|l| l.map_or(-1, |v| v as i64)).collect()
        }
        _ => {
            let k: usize = a[5].parse().unwrap();
            let seed: u64 = a[6].parse().unwrap();
            let ds = DatasetBase::from(x.clone());
            let model = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(seed))
                .n_runs(1)
                .fit(&ds)
                .expect("kmeans");
            model.predict(&x).iter().map(|&l| l as i64).collect()
        }
    };
    println!("{:.3}", t.elapsed().as_secs_f64());
    let mut out = String::new();
    for l in labels {
        out.push_str(&format!("{l}\n"));
    }
    print!("{out}");
}

//! Clusters a raw little-endian f32 file with DBSCAN or HDBSCAN, without PostgreSQL:
//! `cluster_file FILE ROWS COLS dbscan EPS MIN_SAMPLES [METRIC]` or
//! `cluster_file FILE ROWS COLS hdbscan MIN_CLUSTER_SIZE [MIN_SAMPLES] [METHOD]`.
//! Prints `label probability` per row, then the seconds on stderr. For bench/ and debugging.
use mlkit::{dbscan, hdbscan, neighbors::Metric, Exec, Matrix};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 6 {
        eprintln!("usage: cluster_file FILE ROWS COLS dbscan|hdbscan ARGS...");
        std::process::exit(2);
    }
    let bytes = std::fs::read(&a[1]).expect("readable file");
    let data: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let (rows, cols): (usize, usize) = (a[2].parse().unwrap(), a[3].parse().unwrap());
    let x = Matrix::new(&data, rows, cols).expect("file holds ROWS × COLS floats");
    let threads = std::env::var("THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut hook = |_| {};
    let mut exec = Exec::new(threads, &mut hook);
    let t = std::time::Instant::now();
    let fit = match a[4].as_str() {
        "dbscan" => {
            let p = dbscan::Params {
                eps: a[5].parse().unwrap(),
                min_samples: a.get(6).map_or(5, |v| v.parse().unwrap()),
                metric: a.get(7).and_then(|m| Metric::parse(m)).unwrap_or(Metric::Euclidean),
            };
            dbscan::fit(&x, &p, &mut exec).expect("valid input")
        }
        _ => {
            let p = hdbscan::Params {
                min_cluster_size: a[5].parse().unwrap(),
                min_samples: a.get(6).map(|v| v.parse().unwrap()),
                cluster_selection_method: if a.get(7).map(String::as_str) == Some("leaf") {
                    hdbscan::Selection::Leaf
                } else {
                    hdbscan::Selection::Eom
                },
                ..Default::default()
            };
            hdbscan::fit(&x, &p, &mut exec).expect("valid input")
        }
    };
    eprintln!("{:.3}", t.elapsed().as_secs_f64());
    let probs = fit.probabilities.unwrap_or_else(|| vec![1.0; rows]);
    let mut out = String::new();
    for (l, p) in fit.labels.iter().zip(probs) {
        out.push_str(&format!("{l} {p}\n"));
    }
    print!("{out}");
}

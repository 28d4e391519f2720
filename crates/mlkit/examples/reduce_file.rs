//! Reduces a raw little-endian f32 file without PostgreSQL, for checks against the Python
//! references and for benchmarks: `reduce_file METHOD FILE ROWS COLS [OUT] [key=value ...]`,
//! METHOD `pca`, `tsne` or `umap`. Writes the coordinates to OUT as little-endian f64
//! (`rows × n_components`), and prints the time and the method's own figures.
use mlkit::neighbors::Metric;
use mlkit::reduce::{pca, tsne, umap};
use mlkit::{Exec, Matrix};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        eprintln!("usage: reduce_file METHOD FILE ROWS COLS [OUT] [key=value ...]");
        std::process::exit(2);
    }
    let bytes = std::fs::read(&a[2]).expect("readable file");
    let data: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let (rows, cols): (usize, usize) = (a[3].parse().expect("ROWS"), a[4].parse().expect("COLS"));
    let x = Matrix::new(&data, rows, cols).expect("file holds ROWS × COLS floats");
    let kv: Vec<(String, String)> = a[5..].iter().filter_map(|s| s.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect();
    let get = |k: &str| kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let threads: usize = get("threads").map_or(2, |v| v.parse().expect("threads"));
    let seed: u64 = get("seed").map_or(0, |v| v.parse().expect("seed"));
    let metric = get("metric").map_or(Metric::Euclidean, |v| Metric::parse(&v).expect("metric"));
    let mut none = |_| {};
    let mut exec = Exec::new(threads, &mut none);
    let t = std::time::Instant::now();
    let (coords, c) = match a[1].as_str() {
        "pca" => {
            let k: usize = get("k").map_or(2, |v| v.parse().expect("k"));
            let solver = get("solver").map_or(pca::Solver::Auto, |v| pca::Solver::parse(&v).expect("solver"));
            let p = pca::fit(&x, &pca::Params { solver, seed, ..pca::Params::count(k) }, &mut exec).expect("valid input");
            println!("solver {} ratio {:?}", p.solver.name(), &p.explained_variance_ratio[..k.min(5)]);
            (p.transform(&x, &exec), k)
        }
        "tsne" => {
            let method = get("method").map_or(tsne::Method::Auto, |v| tsne::Method::parse(&v).expect("method"));
            let mut tp = tsne::Params { seed, metric, method, ..Default::default() };
            if let Some(v) = get("iters") {
                tp.n_iter = v.parse().expect("iters");
                tp.early_exaggeration_iter = 0;
            }
            let r = tsne::fit(&x, &tp, &mut exec).expect("valid input");
            println!("method {} kl {}", r.method.name(), r.kl_divergence);
            (r.embedding, 2)
        }
        "umap" => {
            let r = umap::fit(&x, &umap::Params { seed, metric, ..Default::default() }, &mut exec).expect("valid input");
            println!("a {} b {} epochs {} components {}", r.a, r.b, r.n_epochs, r.graph_components);
            (r.embedding, 2)
        }
        m => panic!("unknown method {m}"),
    };
    println!("seconds {:.3}", t.elapsed().as_secs_f64());
    let rows_t = mlkit::reduce::quality::sample_rows(rows, seed);
    println!("trustworthiness {:.5}", mlkit::reduce::quality::trustworthiness(&x, &coords, c, &rows_t, 10, metric, &mut exec));
    if let Some(out) = a.get(5).filter(|s| !s.contains('=')) {
        let b: Vec<u8> = coords.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(out, b).expect("writable OUT");
    }
}

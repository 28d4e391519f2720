//! Fits K-Means to a raw little-endian f32 file: `kmeans_file FILE ROWS COLS K [N_INIT] [SEED] [THREADS] [MAX_ITER]`.
//! Prints `inertia seconds n_iter`. Used by bench/ to time the algorithm without PostgreSQL.
use mlkit::{kmeans, Exec, Matrix};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        eprintln!("usage: kmeans_file FILE ROWS COLS K [N_INIT] [SEED] [THREADS] [MAX_ITER]");
        std::process::exit(2);
    }
    let arg = |i: usize, default: usize| a.get(i).map_or(default, |v| v.parse().expect("a whole number"));
    let bytes = std::fs::read(&a[1]).expect("readable file");
    let data: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let (rows, cols) = (arg(2, 0), arg(3, 0));
    let x = Matrix::new(&data, rows, cols).expect("file holds ROWS × COLS floats");
    let p =
        kmeans::Params { n_clusters: arg(4, 8), n_init: arg(5, 1), seed: arg(6, 0) as u64, max_iter: arg(8, 300), ..Default::default() };
    let t = std::time::Instant::now();
    let threads = arg(7, std::thread::available_parallelism().map_or(1, |n| n.get()));
    let fit = kmeans::fit(&x, &p, &mut Exec::new(threads, &mut |_| {})).expect("valid input");
    println!("{} {:.3} {}", fit.inertia, t.elapsed().as_secs_f64(), fit.n_iter);
}

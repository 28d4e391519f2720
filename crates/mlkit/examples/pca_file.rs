//! Fits a PCA to a raw little-endian f32 file, without PostgreSQL: `pca_file FILE ROWS COLS K`.
//! Prints the explained variance ratios, then the first row's coordinates. For checks against
//! scikit-learn and debugging.
use mlkit::reduce::pca::{fit, Components};
use mlkit::Matrix;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        eprintln!("usage: pca_file FILE ROWS COLS K");
        std::process::exit(2);
    }
    let bytes = std::fs::read(&a[1]).expect("readable file");
    let data: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let (rows, cols, k): (usize, usize, usize) = (a[2].parse().unwrap(), a[3].parse().unwrap(), a[4].parse().unwrap());
    let x = Matrix::new(&data, rows, cols).expect("file holds ROWS × COLS floats");
    let p = fit(&x, Components::Count(k), false).expect("valid input");
    println!("{:?}", p.explained_variance_ratio);
    println!("{:?}", &p.transform(&x)[..k]);
}

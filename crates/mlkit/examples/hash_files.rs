//! Prints `file phash dhash ahash` (imagehash's hex) for each image named on the command line.
use mlkit::hash::{image::decode_grey, perceptual};

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).expect("readable file");
        match decode_grey(&bytes, &mlkit::hash::image::Limits::pixels(1 << 30)) {
            Ok(g) if std::env::var("RESIZE").is_ok() => {
                let v: Vec<usize> = std::env::var("RESIZE").unwrap().split('x').map(|s| s.parse().unwrap()).collect();
                println!("{:?}", mlkit::hash::resample::lanczos_resize(&g.pixels, g.width, g.height, v[0], v[1]));
            }
            Ok(g) => println!("{path} {:016x} {:016x} {:016x}", perceptual::phash(&g), perceptual::dhash(&g), perceptual::ahash(&g)),
            Err(e) => println!("{path} error {e}"),
        }
    }
}

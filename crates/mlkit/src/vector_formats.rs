//! pgvector's value layouts, decoded from their bytes: what a `vector`, `halfvec` or
//! `sparsevec` datum holds after its 4-byte length word, read without going through a cast to
//! `real[]` (pgvector 0.8's `src/vector.h`, `halfvec.h`, `sparsevec.h`; native byte order, as
//! PostgreSQL stores them):
//!
//! | type | layout after the length word |
//! |---|---|
//! | `vector` | `int16 dim`, `int16 unused`, `float4 x[dim]` |
//! | `halfvec` | `int16 dim`, `int16 unused`, IEEE half `x[dim]` |
//! | `sparsevec` | `int32 dim`, `int32 nnz`, `int32 unused`, `int32 indices[nnz]` (0-based, increasing), `float4 values[nnz]` |
//!
//! A half converts to `f32` exactly (every half is a float), as pgvector's `HalfToFloat4` does;
//! a sparse vector is densified into `dim` floats with zeros elsewhere, which is what its cast
//! to `real[]` gives. So every decoder returns exactly the values of the `real[]` path.

/// Which of pgvector's dense-able types a datum is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorType {
    Vector,
    HalfVec,
    SparseVec,
}

impl VectorType {
    /// The SQL name of the type.
    pub fn name(self) -> &'static str {
        match self {
            VectorType::Vector => "vector",
            VectorType::HalfVec => "halfvec",
            VectorType::SparseVec => "sparsevec",
        }
    }

    /// The type whose input function pgvector's library names `input` (`vector_in`, ...).
    pub fn from_input_function(input: &str) -> Option<Self> {
        match input {
            "vector_in" => Some(VectorType::Vector),
            "halfvec_in" => Some(VectorType::HalfVec),
            "sparsevec_in" => Some(VectorType::SparseVec),
            _ => None,
        }
    }
}

/// Why bytes are not a value of the type they claim to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn i16_at(b: &[u8], at: usize) -> Option<i16> {
    b.get(at..at + 2).map(|w| i16::from_ne_bytes([w[0], w[1]]))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    b.get(at..at + 4).map(|w| i32::from_ne_bytes([w[0], w[1], w[2], w[3]]))
}

/// The number of dimensions a value of type `t` declares (its bytes after the length word).
pub fn dims(t: VectorType, b: &[u8]) -> Result<usize, Invalid> {
    let d = match t {
        VectorType::Vector | VectorType::HalfVec => i16_at(b, 0).map(i32::from),
        VectorType::SparseVec => i32_at(b, 0),
    };
    match d {
        Some(d) if d >= 1 => Ok(d as usize),
        Some(d) => Err(Invalid(format!("a {} of {d} dimensions", t.name()))),
        None => Err(Invalid(format!("a {} of {} bytes", t.name(), b.len()))),
    }
}

/// Appends the dense values of a value of type `t` (its bytes after the length word) to `out`
/// and returns its number of dimensions. `reserve` is called with `out` and that number before
/// anything is appended, so the caller can make room fallibly (or refuse a size) first.
pub fn append_dense(t: VectorType, b: &[u8], out: &mut Vec<f32>, reserve: impl FnOnce(&mut Vec<f32>, usize)) -> Result<usize, Invalid> {
    let dim = dims(t, b)?;
    let short = || Invalid(format!("a {} of {dim} dimensions in {} bytes", t.name(), b.len()));
    match t {
        VectorType::Vector => {
            let x = b.get(4..4 + 4 * dim).ok_or_else(short)?;
            reserve(out, dim);
            out.extend(x.chunks_exact(4).map(|w| f32::from_ne_bytes([w[0], w[1], w[2], w[3]])));
        }
        VectorType::HalfVec => {
            let x = b.get(4..4 + 2 * dim).ok_or_else(short)?;
            reserve(out, dim);
            out.extend(x.chunks_exact(2).map(|w| half_to_f32(u16::from_ne_bytes([w[0], w[1]]))));
        }
        VectorType::SparseVec => {
            let nnz = i32_at(b, 4).filter(|&n| n >= 0 && n as usize <= dim).ok_or_else(short)? as usize;
            let indices = b.get(12..12 + 4 * nnz).ok_or_else(short)?;
            let values = b.get(12 + 4 * nnz..12 + 8 * nnz).ok_or_else(short)?;
            reserve(out, dim);
            let start = out.len();
            out.resize(start + dim, 0.0);
            let mut last = -1i64;
            for (i, v) in indices.chunks_exact(4).zip(values.chunks_exact(4)) {
                let i = i64::from(i32::from_ne_bytes([i[0], i[1], i[2], i[3]]));
                if i <= last || i >= dim as i64 {
                    out.truncate(start);
                    return Err(Invalid(format!("a sparsevec of {dim} dimensions with index {} out of order", i + 1)));
                }
                last = i;
                out[start + i as usize] = f32::from_ne_bytes([v[0], v[1], v[2], v[3]]);
            }
        }
    }
    Ok(dim)
}

/// An IEEE 754 half-precision value as `f32`, exactly (subnormals, infinities and NaN too).
pub fn half_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x03ff);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: m · 2⁻²⁴, normalised.
            let shift = m.leading_zeros() - 21; // bits to move the leading one to bit 10
            sign | ((127 - 15 + 1 - shift) << 23) | (((m << shift) & 0x03ff) << 13)
        }
        (31, 0) => sign | 0x7f80_0000,
        (31, m) => sign | 0x7fc0_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(x: &[f32]) -> Vec<u8> {
        let mut b = (x.len() as i16).to_ne_bytes().to_vec();
        b.extend([0, 0]);
        x.iter().for_each(|v| b.extend(v.to_ne_bytes()));
        b
    }

    #[test]
    fn halves_convert_exactly() {
        assert_eq!(half_to_f32(0x3c00), 1.0);
        assert_eq!(half_to_f32(0xc000), -2.0);
        assert_eq!(half_to_f32(0x7bff), 65504.0);
        assert_eq!(half_to_f32(0x0001), 2f32.powi(-24), "smallest subnormal");
        assert_eq!(half_to_f32(0x03ff), 1023.0 * 2f32.powi(-24), "largest subnormal");
        assert_eq!(half_to_f32(0x0400), 2f32.powi(-14), "smallest normal");
        assert_eq!(half_to_f32(0x3555).to_bits(), 0.333_251_95f32.to_bits());
        assert!(half_to_f32(0x8000).is_sign_negative() && half_to_f32(0x8000) == 0.0);
        assert_eq!(half_to_f32(0x7c00), f32::INFINITY);
        assert!(half_to_f32(0x7e00).is_nan());
        // Every finite half round-trips through f32 to itself (an f32 → half of an exact half).
        for h in 0..=0xffffu16 {
            let f = half_to_f32(h);
            if f.is_finite() {
                let e = (h >> 10) & 0x1f;
                let expect = if e == 0 {
                    f64::from(h & 0x3ff) * 2f64.powi(-24)
                } else {
                    (1.0 + f64::from(h & 0x3ff) / 1024.0) * 2f64.powi(i32::from(e) - 15)
                };
                let expect = if h & 0x8000 != 0 { -expect } else { expect };
                assert_eq!(f64::from(f), expect, "half {h:#06x}");
            }
        }
    }

    #[test]
    fn a_vector_is_its_floats() {
        let mut out = vec![9.0];
        let mut asked = 0;
        assert_eq!(append_dense(VectorType::Vector, &vector(&[1.5, -0.0, 3.25]), &mut out, |_, d| asked = d), Ok(3));
        assert_eq!((out, asked), (vec![9.0, 1.5, -0.0, 3.25], 3));
        assert!(append_dense(VectorType::Vector, &vector(&[1.0, 2.0])[..10], &mut Vec::new(), |_, _| ()).is_err());
        assert!(append_dense(VectorType::Vector, &vector(&[]), &mut Vec::new(), |_, _| ()).is_err(), "no dimensions");
    }

    #[test]
    fn a_halfvec_is_its_halves() {
        let mut b = 2i16.to_ne_bytes().to_vec();
        b.extend([0, 0]);
        b.extend(0x3c00u16.to_ne_bytes());
        b.extend(0xb800u16.to_ne_bytes());
        let mut out = Vec::new();
        assert_eq!(append_dense(VectorType::HalfVec, &b, &mut out, |_, _| ()), Ok(2));
        assert_eq!(out, vec![1.0, -0.5]);
    }

    #[test]
    fn a_sparsevec_is_densified() {
        let sparse = |dim: i32, idx: &[i32], val: &[f32]| {
            let mut b = Vec::new();
            for v in [dim, idx.len() as i32, 0].iter().chain(idx) {
                b.extend(v.to_ne_bytes());
            }
            val.iter().for_each(|v| b.extend(v.to_ne_bytes()));
            b
        };
        let mut out = Vec::new();
        assert_eq!(append_dense(VectorType::SparseVec, &sparse(5, &[0, 3], &[2.0, -1.0]), &mut out, |_, _| ()), Ok(5));
        assert_eq!(out, vec![2.0, 0.0, 0.0, -1.0, 0.0]);
        assert_eq!(append_dense(VectorType::SparseVec, &sparse(3, &[], &[]), &mut out, |_, _| ()), Ok(3));
        assert_eq!(&out[5..], &[0.0; 3]);
        for bad in [sparse(3, &[2, 1], &[1.0, 1.0]), sparse(3, &[3], &[1.0]), sparse(2, &[0, 1, 1], &[1.0; 3])] {
            let before = out.clone();
            assert!(append_dense(VectorType::SparseVec, &bad, &mut out, |_, _| ()).is_err());
            assert_eq!(out, before, "nothing appended from a damaged value");
        }
        assert!(append_dense(VectorType::SparseVec, &sparse(4, &[1], &[1.0])[..14], &mut out, |_, _| ()).is_err());
    }
}

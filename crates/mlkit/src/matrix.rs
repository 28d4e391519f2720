//! A borrowed, row-major, dense `f32` matrix: the one input shape every algorithm takes.

/// `rows × cols` values stored row after row in `data`.
#[derive(Debug, Clone, Copy)]
pub struct Matrix<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

impl<'a> Matrix<'a> {
    /// Wraps `data` as a `rows × cols` matrix.
    ///
    /// Returns `None` when `data.len() != rows * cols` or `cols == 0`.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Option<Self> {
        (cols > 0 && rows.checked_mul(cols) == Some(data.len())).then_some(Self { data, rows, cols })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The whole buffer, row-major.
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }

    /// Row `i` as a slice of `cols` values.
    #[inline]
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Rows `start..end` as a matrix of their own.
    pub fn row_range(&self, start: usize, end: usize) -> Matrix<'a> {
        Matrix { data: &self.data[start * self.cols..end * self.cols], rows: end - start, cols: self.cols }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_checked() {
        let v = [1.0f32; 6];
        assert!(Matrix::new(&v, 2, 3).is_some());
        assert!(Matrix::new(&v, 3, 3).is_none());
        assert!(Matrix::new(&v, 6, 0).is_none());
        let m = Matrix::new(&v, 3, 2).unwrap();
        assert_eq!(m.row(2).len(), 2);
        assert_eq!(m.row_range(1, 3).rows(), 2);
    }
}

//! Dimensionality reduction.
//!
//! | module | what |
//! |---|---|
//! | [`pca`] | principal component analysis as scikit-learn's `PCA` (exact, from the covariance) |
//! | [`eigen`] | symmetric eigen-decomposition by Jacobi rotations |

pub mod eigen;
pub mod pca;

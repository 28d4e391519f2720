//! Dimensionality reduction.
//!
//! | module | what |
//! |---|---|
//! | [`pca`] | principal component analysis as scikit-learn's `PCA` (covariance or randomized) |
//! | [`tsne`] | t-SNE as openTSNE: Barnes–Hut or FFT-interpolated repulsion |
//! | [`umap`] | UMAP as umap-learn |
//! | [`quality`] | trustworthiness of an embedding |
//! | [`eigen`] | symmetric eigen-decompositions: Jacobi, and subspace iteration |

pub mod eigen;
pub mod pca;
pub mod quality;
pub mod tsne;
pub mod umap;

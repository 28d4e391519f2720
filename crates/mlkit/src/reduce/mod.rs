//! Dimensionality reduction.
//!
//! | module | what |
//! |---|---|
//! | [`pca`] | principal component analysis as scikit-learn's `PCA` (covariance or randomized) |
//! | [`tsne`] | t-SNE as openTSNE: Barnes–Hut or FFT-interpolated repulsion |
//! | [`umap`] | UMAP as umap-learn |
//! | [`map`] | a fitted t-SNE or UMAP map, and the neighbours of new points in it |
//! | [`quality`] | trustworthiness of an embedding |
//! | [`eigen`] | symmetric eigen-decompositions: Jacobi, and subspace iteration |

pub mod eigen;
pub mod map;
pub mod pca;
pub mod quality;
pub mod tsne;
pub mod umap;

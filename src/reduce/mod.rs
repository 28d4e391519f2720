//! `ml.reduce_embeddings` ([`reduce_embeddings`]): PCA, t-SNE and UMAP, also the reduction
//! stage of `ml.cluster_embeddings`.

pub mod reduce_embeddings;
pub mod transform;

//! `ml.cluster_embeddings` ([`cluster_embeddings`]) and its scan engine ([`scan`]), which
//! runs K-Means as one aggregate query per step instead of holding the table; a stored
//! model's centroids as rows, `ml.centroids` ([`centroids`]).

pub mod centroids;
pub mod cluster_embeddings;
pub mod scan;
pub mod suggest_eps;

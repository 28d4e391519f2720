//! Monitoring: `ml.predict_cluster` and `ml.predict_clusters` ([`predict_cluster`]), the drift
//! statistics ([`drift_statistics`]: `ml.ks_2samp`, `ml.wasserstein_distance`, `ml.psi`, ...)
//! and `ml.score_drift` ([`score_drift`]) with its sketch engine ([`score_drift_sketch`]).

pub mod drift_statistics;
pub mod predict_cluster;
pub mod score_drift;
pub mod score_drift_sketch;

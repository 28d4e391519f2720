//! Monitoring: `ml.predict_cluster` and `ml.predict_clusters` ([`predict_cluster`]), the drift
//! statistics and `ml.score_drift` ([`drift`]) with its sketch engine ([`drift_sketch`]).

pub mod drift;
pub mod drift_sketch;
pub mod predict_cluster;

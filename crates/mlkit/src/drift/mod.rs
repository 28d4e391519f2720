//! Drift statistics: how far apart two samples of one column are, equal to SciPy's and,
//! where Evidently bins or smooths first, to Evidently's.
//!
//! | module | what |
//! |---|---|
//! | [`auto`] | Evidently's choice of test per column, and running it |
//! | [`embedding`] | embedding drift: a domain classifier, mean distance, share of drifted components |
//! | [`special`] | erfc, the normal CDF, the χ² survival function |
//! | [`binning`] | Evidently's bins: Sturges' rule over both samples, or one bin per value; its empty-bin rule |
//! | [`wasserstein`] | SciPy's `wasserstein_distance` |
//! | [`divergence`] | PSI and Jensen–Shannon distance on Evidently's bins |
//! | [`categorical`] | Evidently's χ² test and two-proportion z-test |
//! | [`ks`] | SciPy's two-sample Kolmogorov–Smirnov test, exact and asymptotic |
//! | [`sketch`] | a mergeable quantile sketch carrying its rank-error bound; KS and Wasserstein from two sketches |
//! | [`kolmogorov`] | the Kolmogorov and Smirnov distributions behind its large-sample p-values |
//!
//! Samples are slices of finite `f64`s or of category keys; callers check for NaN and empty
//! samples first (the functions here assume neither).

pub mod auto;
pub mod binning;
pub mod categorical;
pub mod divergence;
pub mod embedding;
pub mod kolmogorov;
pub mod ks;
pub mod sketch;
pub mod special;
pub mod wasserstein;

//! Help an analyst asks the database for: `ml.options` ([`options`]).

pub mod options;

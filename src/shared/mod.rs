//! What every SQL area shares: errors and their SQLSTATEs, the settings, progress and
//! interrupts, jsonb options, the one way SQL is built, reading a source relation or one embedding argument, the model
//! registry and its stage audit, and the session's tenant.

pub mod citus;
pub mod embedding_arg;
pub mod errors;
pub mod guc;
pub mod params;
pub mod pgvector;
pub mod progress;
pub mod registry;
pub mod source;
pub mod sql;
pub mod stage_audit;
pub mod stored_reduction;
pub mod tenancy;

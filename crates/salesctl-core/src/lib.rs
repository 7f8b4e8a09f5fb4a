//! salesctl's pure core: the data model (orders, change records, the flat row) and the logic
//! on it, shared by the CLI, the Lambda and the local pipeline; no AWS client, no CLI, no I/O.

pub mod backfill;
pub mod change;
pub mod forecast;
pub mod lake_schema;
pub mod order;
pub mod pacing;
pub mod rank;
pub mod rates;
pub mod reconcile;
pub mod transform;

//! The lake: its layout (`orders/dt=…/hour=…/`, `errors/<type>/…`, names), its objects in S3
//! (every S3 object call outside the stack goes here), their encoding, and the engine's store.

pub mod arrow;
pub mod layout;
pub mod objects;
pub mod parquet;
pub mod store;

pub use layout::{DATA_PREFIX, ERROR_ROOT, PROCESSING_FAILED};
pub use objects::{Lake, LakeObject, ListError, ObjectEntry, Pages};

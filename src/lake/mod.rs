//! The lake: its layout (`orders/dt=…/hour=…/`, `errors/<type>/…`, the objects' names) and
//! its objects in S3 (listed, read, written). Every S3 object call outside the stack goes here.

pub mod layout;
pub mod objects;

pub use layout::{DATA_PREFIX, ERROR_ROOT, PROCESSING_FAILED};
pub use objects::{Lake, LakeObject, ListError, ObjectEntry, Pages};

//! The lake schema in Arrow types, for the embedded engine: one copy, in the lake module
//! ([`crate::lake::arrow`]), which the Parquet writer shares.

pub use crate::lake::arrow::{arrow_schema, arrow_type};

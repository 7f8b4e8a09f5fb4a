//! DynamoDB change records: decode both wire formats (a Streams record from a Pipe, a native
//! Kinesis Data Streams record) and flatten DynamoDB-typed JSON into plain JSON, numbers exact.
//
// One pass over the input does all of it, so the grammars share one cursor (`json::Parser`)
// and each file adds its own methods to it; only the items re-exported here are public.

mod error;
mod json;
mod record;
mod row;
mod time;
mod typed;
mod types;

pub use error::{AttributeLocation, AttributeProblem, DecodeError};
pub use json::{MAX_NESTING, write_json_string, write_json_string_body};
pub use record::{CreationTimeSource, decode, decode_into, decode_into_with_arrival};
pub use time::{format_creation_datetime, write_creation_datetime};
pub use typed::{flatten_item, flatten_value};
pub use types::{
    AttributeChange, CDC_COLUMNS, ChangeRecord, EventType, FlatImage, SourceFormat, TimePrecision,
    UnknownEventType, changed_attributes,
};

//! salesctl: operate a DynamoDB -> Kinesis -> Firehose -> S3 -> Athena sales CDC pipeline.
//! This is the module map; the pure core (order, change, transform, pacing) needs no AWS client.

pub mod change;
pub mod forecast;
pub mod lake_schema;
pub mod order;
pub mod pacing;
pub mod transform;

#[cfg(feature = "cli")]
pub mod aws;
#[cfg(feature = "cli")]
pub mod cdc_view;
#[cfg(feature = "cli")]
pub mod checkpoint;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod commands;
#[cfg(feature = "cli")]
pub mod context;
#[cfg(feature = "cli")]
pub mod kinesis_reader;
#[cfg(feature = "cli")]
pub mod lambda_build;
#[cfg(feature = "cli")]
pub mod relay;
#[cfg(feature = "cli")]
pub mod render;
#[cfg(feature = "cli")]
pub mod settings;
#[cfg(feature = "cli")]
pub mod sql;
#[cfg(feature = "cli")]
pub mod stack;
#[cfg(feature = "cli")]
pub mod stream_source;
#[cfg(feature = "cli")]
pub mod table_writer;

//! Every integration test in one binary (one link of the AWS SDK and DataFusion, not eight):
//! each module drives the real salesctl binary or SDK clients against one moto emulator.

mod aws_rules;
mod cli_conventions;
mod common;
mod generate;
mod health;
mod lake;
mod pipeline_e2e;
mod query_athena;
mod query_local;
mod reconcile;
mod relay;
mod report_forecast;
mod sdk_calls;
mod stack;
mod tail_cdc;
mod tutorial_table;

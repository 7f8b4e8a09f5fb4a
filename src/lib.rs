//! salesctl, the CLI crate: AWS plumbing, the stream layer, the local relay, SQL engines and
//! the verbs on top. The pure data model and transform live in `salesctl-core`.
//!
//! Layers, bottom to top (a module imports only from layers below it; `scripts/check-layers`
//! holds the rules CI checks):
//! `error`, `diag` -> `endpoint`, `settings`, `aws`, `render`, `output`, `spill` -> `lake` ->
//! `stream`, `table_writer`, `sql`, `stack`, `relay`, `cdc_view`, `lambda_build`, `chart`,
//! `html_report`, `stage_reads` -> `context` (the only reader of the environment) ->
//! `commands` (the verbs and their shared helpers `values`, `engine`, `activity`,
//! `stack_progress`; no verb imports another) -> `demo` (a script of verbs) -> `cli`.

pub mod aws;
pub mod cdc_view;
pub mod chart;
pub mod cli;
pub mod commands;
pub mod context;
pub mod demo;
pub mod diag;
pub mod endpoint;
pub mod error;
pub mod html_report;
pub mod lake;
pub mod lambda_build;
pub mod output;
pub mod relay;
pub mod render;
pub mod settings;
pub mod spill;
pub mod sql;
pub mod stack;
pub mod stage_reads;
pub mod stream;
pub mod table_writer;

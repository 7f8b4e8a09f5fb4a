//! SQL over the lake behind one small interface: Athena on AWS, or an embedded DataFusion
//! engine over the same files; plus the report's SQL, written once for both engines.
//!
//! Exit statuses (the AWS CLI's codes): SQL the engine rejects (syntax, unknown column,
//! unsupported construct, an Athena query failed by a user error) exits 2 like any other
//! invalid input; an Athena query that failed for another reason or was cancelled by someone
//! else exits 254; a lake the local engine cannot read exits 255; Ctrl-C exits 130.

pub mod athena;
pub mod current_state;
pub mod lake_arrow;
pub mod lake_table;
pub mod local;
pub mod report;
pub mod shape;

pub use report::{
    OWN_TABLE_HINT, REPORT_SECTIONS, REVENUE_DEFINITION, ReportQuery, ReportSection, day_rows_sql,
    report_sections, report_sql, sections_of,
};

use std::path::PathBuf;

use crate::error::usage_error;
use crate::render::{Cell, Table};

/// A finished query: its rows and a one-line account of what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    pub table: Table,
    pub stats: String,
}

/// Which engine runs the SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Athena,
    Local,
}

pub enum QueryEngine {
    Athena(athena::AthenaEngine),
    Local(local::LocalEngine),
}

impl QueryEngine {
    pub async fn run(&self, sql: &str) -> anyhow::Result<QueryOutput> {
        let mut rows = Vec::new();
        let (headers, stats) = self.execute(sql, &mut |row| rows.push(row)).await?;
        Ok(QueryOutput {
            table: Table { headers, rows },
            stats,
        })
    }

    /// [`QueryEngine::run`] with the rows handed to `each` as they arrive (a page or a batch
    /// at a time) instead of collected; returns the statistics line.
    pub async fn run_each(
        &self,
        sql: &str,
        each: &mut dyn FnMut(Vec<Cell>),
    ) -> anyhow::Result<String> {
        Ok(self.execute(sql, each).await?.1)
    }

    async fn execute(
        &self,
        sql: &str,
        each: &mut dyn FnMut(Vec<Cell>),
    ) -> anyhow::Result<(Vec<String>, String)> {
        shape::check_nesting(sql)?;
        match self {
            QueryEngine::Athena(engine) => engine.execute(sql, each).await,
            QueryEngine::Local(engine) => engine.execute(sql, each).await,
        }
    }

    /// The report's sections from one pass over the lake, and the statistics line. Athena
    /// runs the report's one statement; the local engine reads the lake a day at a time and
    /// keeps each order's current change ([`current_state`]), so its memory holds the
    /// orders, not a sort of every change and the scan state of every object.
    pub async fn report(&self) -> anyhow::Result<(Vec<ReportSection>, String)> {
        match self {
            QueryEngine::Athena(_) => {
                let output = self.run(&report_sql()).await?;
                Ok((report_sections(&output.table)?, output.stats))
            }
            QueryEngine::Local(engine) => {
                let mut state = current_state::CurrentState::default();
                let stats = engine
                    .execute_per_day(&day_rows_sql, "changes", &mut |batch| {
                        state.add_batch(batch)
                    })
                    .await?;
                let stats = format!("{stats}; {} orders", state.orders());
                Ok((sections_of(state.finish()), stats))
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            QueryEngine::Athena(_) => "athena",
            QueryEngine::Local(_) => "local",
        }
    }

    /// When `error` is a local query's failure on unreadable lake objects: leaves them out
    /// of this engine's later queries and returns them, for a caller that goes on without
    /// them (reconcile counts them). `None` for any other error, and on Athena.
    pub fn skip_unreadable(&self, error: &anyhow::Error) -> Option<Vec<local::Unreadable>> {
        let QueryEngine::Local(engine) = self else {
            return None;
        };
        let unreadable = error.downcast_ref::<local::UnreadableObjects>()?;
        // Objects skipped already and failing again: going on would loop.
        (engine.skip(&unreadable.objects) > 0).then(|| unreadable.objects.clone())
    }

    /// Why the result is empty, when the engine knows (the local lake holds no files).
    pub fn empty_lake_note(&self) -> Option<String> {
        match self {
            QueryEngine::Athena(_) => None,
            QueryEngine::Local(engine) => engine.empty_lake_note(),
        }
    }
}

/// Where the local engine finds the lake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeLocation {
    Dir(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl LakeLocation {
    pub fn parse(url: &str) -> anyhow::Result<LakeLocation> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(usage_error(format!(
                    "--data {url} names no bucket: use s3://bucket/prefix/"
                )));
            }
            let mut prefix = prefix.to_string();
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            return Ok(LakeLocation::S3 {
                bucket: bucket.to_string(),
                prefix,
            });
        }
        if url.contains("://") {
            return Err(usage_error(format!(
                "--data {url}: only local directories and s3:// URLs are supported"
            )));
        }
        Ok(LakeLocation::Dir(PathBuf::from(url)))
    }
}

/// The longest Firehose holds a record before it writes the record's object: its largest
/// buffering interval, 900 s (the relay's is the stack's own, never longer).
pub const LONGEST_BUFFER: chrono::TimeDelta = chrono::TimeDelta::seconds(900);

/// A predicate on the partition columns that keeps every `dt`/`hour` partition that can hold
/// a change made at or after `from`, and no older one. Firehose dates an object by the
/// arrival of its oldest record, and a change arrives after it was made, so a change made at
/// `from` sits in an object dated no earlier than `from` minus one buffer interval. Both
/// engines prune on it: Athena's partition projection and DataFusion's listing read only
/// those prefixes.
pub fn partitions_since(from: chrono::DateTime<chrono::Utc>) -> String {
    let first = from - LONGEST_BUFFER;
    let day = first.format("%Y-%m-%d");
    let hour = first.format("%H");
    format!("(dt > '{day}' OR (dt = '{day}' AND hour >= '{hour}'))")
}

/// Keeps an engine's error to at most three short lines, without internals.
pub(crate) fn short_message(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    let mut joined = lines.join("; ");
    if joined.chars().count() > 400 {
        joined = joined.chars().take(400).collect::<String>() + "…";
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls_parse() {
        assert_eq!(
            LakeLocation::parse("s3://lake/orders").unwrap(),
            LakeLocation::S3 {
                bucket: "lake".into(),
                prefix: "orders/".into()
            }
        );
        assert_eq!(
            LakeLocation::parse("s3://lake").unwrap(),
            LakeLocation::S3 {
                bucket: "lake".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            LakeLocation::parse("./lake").unwrap(),
            LakeLocation::Dir(PathBuf::from("./lake"))
        );
        assert!(LakeLocation::parse("s3:///x").is_err());
        assert!(LakeLocation::parse("gs://b/p").is_err());
    }

    #[test]
    fn partition_predicates_reach_back_one_buffer_interval() {
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc();
        assert_eq!(
            partitions_since(at("2026-11-20T08:10:00Z")),
            "(dt > '2026-11-20' OR (dt = '2026-11-20' AND hour >= '07'))"
        );
        assert_eq!(
            partitions_since(at("2026-11-20T08:20:00Z")),
            "(dt > '2026-11-20' OR (dt = '2026-11-20' AND hour >= '08'))"
        );
        // Just after midnight the window starts the day before.
        assert_eq!(
            partitions_since(at("2026-11-21T00:05:00Z")),
            "(dt > '2026-11-20' OR (dt = '2026-11-20' AND hour >= '23'))"
        );
    }

    #[test]
    fn short_messages_stay_short() {
        assert_eq!(short_message("a\n\n b \nc\nd"), "a; b; c");
        assert!(short_message(&"x".repeat(1000)).chars().count() <= 401);
    }
}

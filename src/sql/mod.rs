//! SQL over the lake behind one small interface: Athena on AWS, or an embedded DataFusion
//! engine over the same files; plus the report's SQL, written once for both engines.
//!
//! Exit statuses (the AWS CLI's codes): SQL the engine rejects (syntax, unknown column,
//! unsupported construct, an Athena query failed by a user error) exits 2 like any other
//! invalid input; an Athena query that failed for another reason or was cancelled by someone
//! else exits 254; a lake the local engine cannot read exits 255; Ctrl-C exits 130.

pub mod athena;
pub mod lake_arrow;
pub mod local;
pub mod shape;

use std::path::PathBuf;

use crate::error::usage_error;
use crate::render::{Cell, Table};
use salesctl_core::lake_schema::{CURRENT_VIEW, TABLE, orders_current_sql};

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

    pub fn name(&self) -> &'static str {
        match self {
            QueryEngine::Athena(_) => "athena",
            QueryEngine::Local(_) => "local",
        }
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

/// One canned analysis of `salesctl report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportQuery {
    pub name: &'static str,
    pub title: &'static str,
    pub sql: &'static str,
}

/// What "revenue" means in the report, shown with it.
pub const REVENUE_DEFINITION: &str = "revenue = sum of `total` over the current state of each order \
(orders_current: latest change per order_id, deleted orders left out), excluding CANCELLED orders; \
per currency, never converted";

/// The report's queries, in the order they are shown. They read `orders_current` through a
/// CTE built from `orders_cdc`, so they need no view on Athena, and they stick to SQL both
/// Trino and DataFusion accept (no ROUND: the local engine is built without math functions).
/// `day` is the order's creation day (UTC), from `created_at`.
pub fn report_queries() -> Vec<(ReportQuery, String)> {
    let cte = format!("WITH {CURRENT_VIEW} AS ({}) ", orders_current_sql(TABLE));
    REPORT_QUERIES
        .iter()
        .map(|q| {
            let sql = if q.sql.contains(CURRENT_VIEW) {
                format!("{cte}{}", q.sql)
            } else {
                q.sql.to_string()
            };
            (*q, sql)
        })
        .collect()
}

const REPORT_QUERIES: [ReportQuery; 5] = [
    ReportQuery {
        name: "revenue_by_product",
        title: "Revenue and units by product",
        sql: "SELECT product_name, currency, count(*) AS orders, sum(quantity) AS units, \
              sum(total) AS revenue FROM orders_current WHERE status <> 'CANCELLED' \
              GROUP BY product_name, currency ORDER BY revenue DESC, product_name, currency",
    },
    ReportQuery {
        name: "revenue_by_day",
        title: "Revenue by day (order creation day, UTC)",
        sql: "SELECT substr(created_at, 1, 10) AS day, currency, count(*) AS orders, \
              sum(total) AS revenue FROM orders_current WHERE status <> 'CANCELLED' \
              GROUP BY substr(created_at, 1, 10), currency ORDER BY day, currency",
    },
    ReportQuery {
        name: "top_products",
        title: "Top 5 products by units sold",
        sql: "SELECT product_name, sum(quantity) AS units, count(*) AS orders \
              FROM orders_current WHERE status <> 'CANCELLED' \
              GROUP BY product_name ORDER BY units DESC, product_name LIMIT 5",
    },
    ReportQuery {
        name: "average_order_value",
        title: "Average order value",
        sql: "SELECT currency, count(*) AS orders, sum(total) AS revenue, \
              CAST(avg(total) AS DECIMAL(14, 2)) AS average_order_value \
              FROM orders_current WHERE status <> 'CANCELLED' GROUP BY currency ORDER BY currency",
    },
    ReportQuery {
        name: "cdc_mix",
        title: "CDC events by type",
        sql: "SELECT cdc_event_type, count(*) AS events FROM orders_cdc \
              GROUP BY cdc_event_type ORDER BY cdc_event_type",
    },
];

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

/// A predicate keeping the partitions dated from `from`'s hour to `to`'s hour, both included.
pub fn partitions_between(
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> String {
    let (first_day, first_hour) = (from.format("%Y-%m-%d"), from.format("%H"));
    let (last_day, last_hour) = (to.format("%Y-%m-%d"), to.format("%H"));
    format!(
        "((dt > '{first_day}' OR (dt = '{first_day}' AND hour >= '{first_hour}')) \
         AND (dt < '{last_day}' OR (dt = '{last_day}' AND hour <= '{last_hour}')))"
    )
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
    fn report_queries_read_current_state_through_a_cte() {
        let queries = report_queries();
        assert_eq!(queries.len(), 5);
        for (q, sql) in &queries {
            if q.name == "cdc_mix" {
                assert!(sql.starts_with("SELECT"));
            } else {
                assert!(sql.starts_with("WITH orders_current AS (SELECT"), "{sql}");
            }
        }
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
        assert_eq!(
            partitions_between(at("2026-11-20T23:50:00Z"), at("2026-11-21T01:00:00Z")),
            "((dt > '2026-11-20' OR (dt = '2026-11-20' AND hour >= '23')) AND (dt < '2026-11-21' OR (dt = '2026-11-21' AND hour <= '01')))"
        );
    }

    #[test]
    fn short_messages_stay_short() {
        assert_eq!(short_message("a\n\n b \nc\nd"), "a; b; c");
        assert!(short_message(&"x".repeat(1000)).chars().count() <= 401);
    }
}

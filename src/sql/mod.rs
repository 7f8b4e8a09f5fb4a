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
    fn short_messages_stay_short() {
        assert_eq!(short_message("a\n\n b \nc\nd"), "a; b; c");
        assert!(short_message(&"x".repeat(1000)).chars().count() <= 401);
    }
}

//! The Athena engine: start a query, poll it with backoff, page through its results (the
//! header row of a SELECT dropped, types from the column info) and account for its cost.
//!
//! Ctrl-C stops the paid query with StopQueryExecution before exiting 130. The cost line is
//! approximate: Athena bills bytes scanned rounded up to a whole MB with a 10 MB minimum per
//! query, at the configured price per TB (2^40 bytes); DDL and failed queries are not billed.

use std::time::Duration;

use aws_sdk_athena::types::{
    QueryExecution, QueryExecutionContext, QueryExecutionState, ResultConfiguration, StatementType,
};
use rust_decimal::Decimal;
use tokio::sync::watch;

use super::short_message;
use crate::aws::ServiceResultExt;
use crate::error::interrupted_error;
use crate::error::{CliError, ExitStatus};
use crate::render::{Cell, Table};
use crate::sql::local::is_json_number;

/// GetQueryResults returns at most this many rows per call.
pub const MAX_PAGE_SIZE: i32 = 1000;
const FIRST_POLL: Duration = Duration::from_millis(200);
const MAX_POLL: Duration = Duration::from_secs(2);
const MIB: u64 = 1 << 20;
const TIB: u64 = 1 << 40;
const MIN_BILLED_BYTES: u64 = 10 * MIB;

#[derive(Debug, Clone)]
pub struct AthenaOptions {
    pub workgroup: String,
    pub database: String,
    pub output_location: Option<String>,
    pub price_per_tb: Decimal,
    pub page_size: i32,
}

pub struct AthenaEngine {
    client: aws_sdk_athena::Client,
    options: AthenaOptions,
    shutdown: watch::Receiver<bool>,
}

impl AthenaEngine {
    pub fn new(
        client: aws_sdk_athena::Client,
        options: AthenaOptions,
        shutdown: watch::Receiver<bool>,
    ) -> AthenaEngine {
        AthenaEngine {
            client,
            options,
            shutdown,
        }
    }

    /// Starts the statement; returns its execution id.
    async fn start(&self, sql: &str) -> anyhow::Result<String> {
        let o = &self.options;
        let mut start = self
            .client
            .start_query_execution()
            .query_string(sql)
            .work_group(&o.workgroup)
            .query_execution_context(
                QueryExecutionContext::builder()
                    .database(&o.database)
                    .build(),
            );
        if let Some(location) = &o.output_location {
            start = start.result_configuration(
                ResultConfiguration::builder()
                    .output_location(location)
                    .build(),
            );
        }
        let started = start.send().await.service_context(|| {
            format!(
                "cannot start the Athena query in workgroup '{}'",
                o.workgroup
            )
        })?;
        let id = started.query_execution_id().unwrap_or_default().to_string();
        tracing::info!(query_execution_id = %id, "athena query started");
        Ok(id)
    }

    /// Starts the statement, waits for it, then hands every row to `each` a page at a time;
    /// returns the column names and the statistics line.
    pub async fn execute(
        &self,
        sql: &str,
        each: &mut dyn FnMut(Vec<Cell>),
    ) -> anyhow::Result<(Vec<String>, String)> {
        let id = self.start(sql).await?;
        let execution = self.wait(&id).await?;
        let is_select = execution.statement_type() == Some(&StatementType::Dml);
        let headers = self.fetch(&id, is_select, each).await?;
        Ok((headers, self.stats_line(&id, &execution)))
    }

    /// Polls until the query ends; a Ctrl-C stops it on Athena first.
    async fn wait(&self, id: &str) -> anyhow::Result<QueryExecution> {
        let mut delay = FIRST_POLL;
        let mut shutdown = self.shutdown.clone();
        loop {
            if *shutdown.borrow() {
                return Err(self.cancel(id).await);
            }
            let answer = self
                .client
                .get_query_execution()
                .query_execution_id(id)
                .send()
                .await
                .service_context(|| format!("cannot read the state of Athena query {id}"))?;
            let execution = answer
                .query_execution
                .unwrap_or_else(|| QueryExecution::builder().build());
            let status = execution.status();
            let state = status.and_then(|s| s.state());
            tracing::info!(query_execution_id = %id, state = state.map_or("unknown", |s| s.as_str()), "athena query state");
            match state {
                Some(QueryExecutionState::Succeeded) => return Ok(execution),
                Some(QueryExecutionState::Failed) => {
                    let error = status.and_then(|s| s.athena_error());
                    let reason = status
                        .and_then(|s| s.state_change_reason())
                        .or_else(|| error.and_then(|e| e.error_message()))
                        .unwrap_or("no reason given");
                    // Category 2 is a user error: bad SQL, a missing table or column.
                    let user_error = error.and_then(|e| e.error_category()) == Some(2);
                    return Err(CliError::new(
                        if user_error {
                            ExitStatus::USAGE
                        } else {
                            ExitStatus::SERVICE
                        },
                        format!("Athena query {id} FAILED: {}", short_message(reason)),
                    )
                    .into());
                }
                Some(QueryExecutionState::Cancelled) => {
                    let reason = status
                        .and_then(|s| s.state_change_reason())
                        .unwrap_or("stopped by StopQueryExecution or the workgroup's data limit");
                    return Err(CliError::new(
                        ExitStatus::SERVICE,
                        format!("Athena query {id} was CANCELLED: {}", short_message(reason)),
                    )
                    .into());
                }
                _ => {}
            }
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.wait_for(|stop| *stop) => return Err(self.cancel(id).await),
            }
            delay = (delay.mul_f64(1.5)).min(MAX_POLL);
        }
    }

    /// Stops the query so it stops costing money, and says so.
    async fn cancel(&self, id: &str) -> anyhow::Error {
        match self
            .client
            .stop_query_execution()
            .query_execution_id(id)
            .send()
            .await
        {
            Ok(_) => interrupted_error(format!(
                "interrupted: Athena query {id} stopped (StopQueryExecution)"
            )),
            Err(e) => interrupted_error(format!(
                "interrupted, but stopping Athena query {id} failed ({}): stop it with 'aws athena stop-query-execution'",
                crate::aws::describe(&e)
            )),
        }
    }

    /// Reads the result page by page, handing each row to `each`; returns the column names.
    async fn fetch(
        &self,
        id: &str,
        is_select: bool,
        each: &mut dyn FnMut(Vec<Cell>),
    ) -> anyhow::Result<Vec<String>> {
        let mut assembler = ResultAssembler::new(is_select);
        let mut token: Option<String> = None;
        loop {
            if *self.shutdown.borrow() {
                return Err(interrupted_error(format!(
                    "interrupted while reading the results of Athena query {id}"
                )));
            }
            let page = self
                .client
                .get_query_results()
                .query_execution_id(id)
                .max_results(self.options.page_size)
                .set_next_token(token.take())
                .send()
                .await
                .service_context(|| format!("cannot read the results of Athena query {id}"))?;
            if let Some(set) = page.result_set() {
                if let Some(meta) = set.result_set_metadata() {
                    assembler.columns(meta.column_info().iter().map(|c| (c.name(), c.r#type())));
                }
                assembler.push_rows(set.rows().iter().map(|row| {
                    row.data()
                        .iter()
                        .map(|d| d.var_char_value().map(str::to_string))
                        .collect()
                }));
                for row in assembler.take_rows() {
                    each(row);
                }
            }
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(assembler.finish().headers)
    }

    fn stats_line(&self, id: &str, execution: &QueryExecution) -> String {
        let stats = execution.statistics();
        let engine_ms = stats
            .and_then(|s| s.engine_execution_time_in_millis())
            .unwrap_or(0);
        let scanned = stats
            .and_then(|s| s.data_scanned_in_bytes())
            .unwrap_or(0)
            .max(0) as u64;
        let billed = execution.statement_type() != Some(&StatementType::Ddl);
        let cost = if billed {
            approximate_cost(scanned, self.options.price_per_tb)
        } else {
            Decimal::ZERO
        };
        format!(
            "athena: SUCCEEDED, query {id}, engine time {:.3} s, {} scanned, approximate cost ${} (at ${}/TB, 10 MB minimum)",
            engine_ms as f64 / 1000.0,
            human_bytes(scanned),
            cost,
            self.options.price_per_tb.normalize()
        )
    }
}

/// The approximate charge for `scanned` bytes: rounded up to whole MB, at least 10 MB, at
/// `price_per_tb`, shown to six decimals (rounded up, as a bill would be).
pub fn approximate_cost(scanned: u64, price_per_tb: Decimal) -> Decimal {
    let billed = scanned
        .div_ceil(MIB)
        .saturating_mul(MIB)
        .max(MIN_BILLED_BYTES);
    let cost = Decimal::from(billed) * price_per_tb / Decimal::from(TIB);
    cost.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::AwayFromZero)
}

fn human_bytes(bytes: u64) -> String {
    if bytes < MIB {
        format!("{bytes} bytes")
    } else {
        format!("{:.2} MiB", bytes as f64 / MIB as f64)
    }
}

/// Builds a table from GetQueryResults pages: column names and types from the first page's
/// metadata, the header row that Athena puts first in a SELECT's first page left out.
#[derive(Debug, Default)]
pub struct ResultAssembler {
    skip_header: bool,
    seen_first_row: bool,
    headers: Vec<String>,
    types: Vec<String>,
    rows: Vec<Vec<Cell>>,
}

impl ResultAssembler {
    /// `is_select`: the statement was DML, whose first result row repeats the column names.
    pub fn new(is_select: bool) -> ResultAssembler {
        ResultAssembler {
            skip_header: is_select,
            ..ResultAssembler::default()
        }
    }

    pub fn columns<'a>(&mut self, columns: impl IntoIterator<Item = (&'a str, &'a str)>) {
        if self.headers.is_empty() {
            for (name, kind) in columns {
                self.headers.push(name.to_string());
                self.types.push(kind.to_ascii_lowercase());
            }
        }
    }

    pub fn push_rows(&mut self, rows: impl IntoIterator<Item = Vec<Option<String>>>) {
        for row in rows {
            if !self.seen_first_row {
                self.seen_first_row = true;
                let is_header = row.len() == self.headers.len()
                    && row
                        .iter()
                        .zip(&self.headers)
                        .all(|(v, h)| v.as_deref() == Some(h.as_str()));
                if self.skip_header && is_header {
                    continue;
                }
            }
            let cells = row
                .into_iter()
                .enumerate()
                .map(|(i, value)| {
                    athena_cell(self.types.get(i).map_or("varchar", String::as_str), value)
                })
                .collect();
            self.rows.push(cells);
        }
    }

    /// The rows assembled so far, handed over (the header row stays dropped).
    pub fn take_rows(&mut self) -> Vec<Vec<Cell>> {
        std::mem::take(&mut self.rows)
    }

    pub fn finish(self) -> Table {
        Table {
            headers: self.headers,
            rows: self.rows,
        }
    }
}

/// A value in Athena's text form, typed by its column: numbers stay exact text.
pub fn athena_cell(kind: &str, value: Option<String>) -> Cell {
    let Some(value) = value else {
        return Cell::Null;
    };
    let numeric = matches!(
        kind,
        "tinyint" | "smallint" | "integer" | "int" | "bigint" | "double" | "real" | "float"
    ) || kind.starts_with("decimal");
    match kind {
        "boolean" if value == "true" => Cell::Bool(true),
        "boolean" if value == "false" => Cell::Bool(false),
        _ if numeric && is_json_number(&value) => Cell::Number(value),
        _ => Cell::Text(value),
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn row(values: &[&str]) -> Vec<Option<String>> {
        values
            .iter()
            .map(|v| {
                if *v == "NULL" {
                    None
                } else {
                    Some(v.to_string())
                }
            })
            .collect()
    }

    #[test]
    fn pages_join_and_only_the_first_header_row_is_dropped() {
        let mut a = ResultAssembler::new(true);
        a.columns([("product_name", "varchar"), ("revenue", "decimal")]);
        a.push_rows([
            row(&["product_name", "revenue"]),
            row(&["Laptop", "1249.90"]),
        ]);
        // Later pages repeat the metadata but carry no header row.
        a.columns([("ignored", "varchar"), ("ignored", "varchar")]);
        a.push_rows([row(&["product_name", "revenue"]), row(&["Mouse", "NULL"])]);
        let t = a.finish();
        assert_eq!(t.headers, ["product_name", "revenue"]);
        assert_eq!(
            t.rows,
            vec![
                vec![Cell::text("Laptop"), Cell::Number("1249.90".into())],
                vec![Cell::text("product_name"), Cell::text("revenue")],
                vec![Cell::text("Mouse"), Cell::Null],
            ]
        );
    }

    #[test]
    fn utility_statements_keep_their_first_row() {
        let mut a = ResultAssembler::new(false);
        a.columns([("tab_name", "string")]);
        a.push_rows([row(&["tab_name"]), row(&["orders_cdc"])]);
        assert_eq!(a.finish().rows.len(), 2);
    }

    #[test]
    fn cells_follow_column_types() {
        assert_eq!(
            athena_cell("bigint", Some("42".into())),
            Cell::Number("42".into())
        );
        assert_eq!(athena_cell("double", Some("NaN".into())), Cell::text("NaN"));
        assert_eq!(
            athena_cell("boolean", Some("true".into())),
            Cell::Bool(true)
        );
        assert_eq!(athena_cell("varchar", Some("12".into())), Cell::text("12"));
        assert_eq!(athena_cell("decimal", None), Cell::Null);
    }

    #[test]
    fn cost_rounds_up_to_whole_megabytes_with_a_ten_megabyte_minimum() {
        let five = Decimal::from(5);
        assert_eq!(approximate_cost(0, five), approximate_cost(10 * MIB, five));
        assert_eq!(approximate_cost(TIB, five), Decimal::from(5));
        assert_eq!(approximate_cost(TIB - 1, five), Decimal::from(5));
        assert_eq!(
            approximate_cost(10 * MIB, five),
            Decimal::from_str("0.000048").unwrap()
        );
    }
}

//! Reading every stage of the pipeline for `reconcile` and `trace`: the table and its stream,
//! Kinesis, the lake (through either SQL engine) and `errors/` lines (objects: `crate::lake`).

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use chrono::{DateTime, Utc};

use crate::aws::{Clients, ServiceResultExt};
use crate::render::Cell;
use crate::settings::Settings;
use crate::sql::QueryEngine;
use crate::stream::dynamodb::DynamoDbStream;
use crate::stream::kinesis::KinesisStream;
use crate::stream::reader::{ReaderEvent, ReaderOptions, ShardReader};
use crate::stream::{RawRecord, StartPosition, StreamSource};
use salesctl_core::change::{ChangeRecord, decode_into};
use salesctl_core::lake_schema::{KEY_COLUMN, write_key_from_item_keys};
use salesctl_core::reconcile::OrderState;

/// What one record of a stream says about the change it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    pub event_id: String,
    pub event: Option<String>,
    /// The item's key value (the order id), when the record names it.
    pub order: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// Reads a change record fully, or, when it does not decode (a corrupted record), at least
/// its `eventID` and key, so a record that failed is still matched to its change.
pub fn carried(data: &[u8], change: &mut ChangeRecord) -> Option<Carried> {
    if decode_into(data, change).is_ok() {
        // The lake's own mapping: `order_id`, else the item's key (the tutorial's `orderid`).
        let order = change.order_id();
        return Some(Carried {
            event_id: change.event_id.clone(),
            event: Some(change.event_type.as_str().to_string()),
            order,
            created_at: Some(change.created_at),
        });
    }
    let value: serde_json::Value = serde_json::from_slice(data).ok()?;
    let event_id = value.get("eventID")?.as_str()?.to_string();
    let keys = value.pointer("/dynamodb/Keys").and_then(|k| k.as_object());
    let order = keys.and_then(|k| k.values().next()).and_then(|typed| {
        typed
            .as_object()?
            .values()
            .next()?
            .as_str()
            .map(str::to_string)
    });
    let created_at = value
        .pointer("/dynamodb/ApproximateCreationDateTime")
        .and_then(serde_json::Value::as_f64)
        .and_then(|s| DateTime::from_timestamp(s as i64, 0));
    Some(Carried {
        event_id,
        event: value
            .get("eventName")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        order,
        created_at,
    })
}

/// Every record of a stream from its trim horizon to its tip, page by page.
pub async fn read_all<S: StreamSource>(
    source: S,
    mut each: impl FnMut(&str, &RawRecord),
) -> anyhow::Result<()> {
    let options = ReaderOptions {
        start: StartPosition::TrimHorizon,
        follow: false,
        ..ReaderOptions::default()
    };
    let mut reader = ShardReader::new(source, options, None);
    loop {
        match reader.next().await? {
            ReaderEvent::Records { shard_id, records } => {
                for record in &records {
                    each(&shard_id, record);
                }
            }
            ReaderEvent::ShardFinished(_) => {}
            ReaderEvent::CaughtUp => return Ok(()),
        }
    }
}

/// The table's own stream.
pub async fn table_stream(
    clients: &Clients,
    settings: &Settings,
) -> anyhow::Result<DynamoDbStream> {
    DynamoDbStream::for_table(
        &clients.dynamodb,
        clients.dynamodb_streams.clone(),
        &settings.table,
    )
    .await
}

/// The Kinesis stream the Pipe writes to.
pub fn kinesis_stream(clients: &Clients, settings: &Settings) -> KinesisStream {
    KinesisStream::new(clients.kinesis.clone(), &settings.stream)
}

/// The stream record inside a line of `errors/` (Firehose's failed-record format: the
/// record's bytes in `rawData`, base64).
pub fn failed_record_data(line: &[u8]) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let raw = value.get("rawData")?.as_str()?;
    base64::engine::general_purpose::STANDARD.decode(raw).ok()
}

/// The SQL of [`lake_change_ids`]: with a window, a partition predicate first, so both
/// engines read only the hours that can hold the window's changes, then the exact cut on
/// the change's creation time (ISO-8601 text: its first 19 characters order like the times).
pub fn lake_change_ids_sql(since: Option<DateTime<Utc>>) -> String {
    format!(
        "SELECT cdc_event_id FROM orders_cdc{}",
        window_filter(since)
    )
}

/// The `WHERE` of a windowed lake read: the hours that can hold the window's changes, then
/// the changes made since its start; empty without a window.
fn window_filter(since: Option<DateTime<Utc>>) -> String {
    since.map_or(String::new(), |t| {
        format!(
            " WHERE {} AND substr(creation_datetime, 1, 19) >= '{}'",
            crate::sql::partitions_since(t),
            t.format("%Y-%m-%dT%H:%M:%S")
        )
    })
}

/// Every lake row's change id in the window, one call per row (copies are separate rows),
/// streamed from the engine so millions of rows never sit in memory together.
pub async fn lake_change_ids(
    engine: &QueryEngine,
    since: Option<DateTime<Utc>>,
    each: &mut dyn FnMut(&str),
) -> anyhow::Result<()> {
    let sql = lake_change_ids_sql(since);
    let stats = engine
        .run_each(&sql, &mut |row| {
            if let Some(id) = row.first() {
                each(&id.display());
            }
        })
        .await?;
    tracing::info!(%stats, "lake change ids read");
    Ok(())
}

/// The SQL of [`lake_state_rows`].
pub fn lake_state_rows_sql(since: Option<DateTime<Utc>>) -> String {
    format!(
        "SELECT order_id, updated_at, status, creation_datetime, cdc_sequence_number, is_deleted FROM orders_cdc{}",
        window_filter(since)
    )
}

/// One lake row with what `orders_current` ranks it by.
pub struct LakeStateRow {
    pub order: String,
    pub state: OrderState,
    pub creation_datetime: Option<String>,
    pub sequence_number: String,
    pub deleted: bool,
}

/// Every lake row's order state, streamed row by row, for a caller that keeps the latest per
/// order itself ([`salesctl_core::lake_schema::current_rank_key`]): the same rows
/// `orders_current` ranks, without the engine sorting the whole lake in memory.
/// With `since`, only rows of changes made since then, from the hours that can hold them
/// (see [`crate::sql::partitions_since`]).
pub async fn lake_state_rows(
    engine: &QueryEngine,
    since: Option<DateTime<Utc>>,
    each: &mut dyn FnMut(LakeStateRow),
) -> anyhow::Result<()> {
    let stats = engine
        .run_each(&lake_state_rows_sql(since), &mut |row| {
            let cell = |i: usize| row.get(i).filter(|c| !matches!(c, Cell::Null));
            let text = |i: usize| cell(i).map(Cell::display);
            if let Some(order) = text(0) {
                each(LakeStateRow {
                    order,
                    state: OrderState {
                        updated_at: text(1).unwrap_or_default(),
                        status: text(2).unwrap_or_default(),
                    },
                    creation_datetime: text(3),
                    sequence_number: text(4).unwrap_or_default(),
                    deleted: text(5).is_some_and(|d| d == "true"),
                });
            }
        })
        .await?;
    tracing::info!(%stats, "lake state rows read");
    Ok(())
}

/// An item's order id from its key attributes, as the transform makes it from a stream
/// record's `Keys` ([`write_key_from_item_keys`]).
fn order_from_key(
    item: &std::collections::HashMap<String, AttributeValue>,
    key_names: &[String],
) -> Option<String> {
    let values: Vec<(&str, String)> = key_names
        .iter()
        .filter_map(|name| {
            let json = match item.get(name)? {
                AttributeValue::S(s) => serde_json::to_string(s).ok()?,
                AttributeValue::N(n) => n.clone(),
                AttributeValue::B(b) => serde_json::to_string(
                    &base64::engine::general_purpose::STANDARD.encode(b.as_ref()),
                )
                .ok()?,
                _ => return None,
            };
            Some((name.as_str(), json))
        })
        .collect();
    let mut out = Vec::new();
    if !write_key_from_item_keys(values.iter().map(|(n, v)| (*n, v.as_str())), &mut out) {
        return None;
    }
    serde_json::from_slice::<String>(&out).ok()
}

/// The table's description (its key schema and attribute types among it).
pub async fn describe_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> anyhow::Result<Option<aws_sdk_dynamodb::types::TableDescription>> {
    let described = dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .service_context(|| format!("describing table '{table}'"))?;
    Ok(described.table)
}

/// The table's items per order (`updated_at` and `status`), a Scan page at a time.
pub async fn table_current(
    clients: &Clients,
    table: &str,
    each: &mut dyn FnMut(String, OrderState),
) -> anyhow::Result<()> {
    // The order id as the lake writes it: the `order_id` attribute, else the item's key
    // (see salesctl_core::lake_schema::KEY_COLUMN), so a table keyed otherwise compares too.
    let described = describe_table(&clients.dynamodb, table).await?;
    let key_names: Vec<String> = described
        .as_ref()
        .map(|t| {
            t.key_schema()
                .iter()
                .map(|k| k.attribute_name().to_string())
                .collect()
        })
        .unwrap_or_default();
    let mut wanted = vec![KEY_COLUMN.to_string(), "updated_at".into(), "status".into()];
    for name in &key_names {
        if !wanted.contains(name) {
            wanted.push(name.clone());
        }
    }
    let placeholders: Vec<String> = (0..wanted.len()).map(|i| format!("#a{i}")).collect();
    let mut scan = clients
        .dynamodb
        .scan()
        .table_name(table)
        .projection_expression(placeholders.join(", "));
    for (placeholder, name) in placeholders.iter().zip(&wanted) {
        scan = scan.expression_attribute_names(placeholder, name);
    }
    let mut pages = scan.into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.service_context(|| format!("scanning table '{table}'"))?;
        for item in page.items() {
            let text = |name: &str| match item.get(name) {
                Some(AttributeValue::S(s)) => Some(s.clone()),
                _ => None,
            };
            let order = text(KEY_COLUMN).or_else(|| order_from_key(item, &key_names));
            if let Some(order) = order {
                each(
                    order,
                    OrderState {
                        updated_at: text("updated_at").unwrap_or_default(),
                        status: text("status").unwrap_or_default(),
                    },
                );
            }
        }
    }
    Ok(())
}

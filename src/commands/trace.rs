//! `salesctl trace ORDER_ID`: one order's journey: each change in the table's stream, in
//! Kinesis, in the lake and in `errors/`, where and when, the latency of each hop, what is missing.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};

use crate::audit;
use crate::context::Context;
use crate::error::{ExitStatus, interrupted_error, service_error};
use crate::lake::{DATA_PREFIX, ERROR_ROOT, Lake};
use crate::output::to_stdout;
use crate::render::{Cell, OutputFormat, Table};
use salesctl_core::change::ChangeRecord;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The order to follow (its key value).
    #[arg(value_name = "ORDER_ID")]
    pub order_id: String,
}

/// One sighting of one change at one stage.
struct Sighting {
    stage: &'static str,
    event_id: String,
    event: String,
    location: String,
    at: Option<DateTime<Utc>>,
}

const STAGES: [&str; 4] = ["table stream", "kinesis", "lake", "errors/"];

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    // Ctrl-C stops the reading at once, whichever stage it is in.
    tokio::select! {
        traced = trace(ctx, args) => traced,
        () = ctx.shutdown_requested() => Err(interrupted_error("interrupted: nothing was traced")),
    }
}

async fn trace(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let aws = ctx.aws().await?;
    let order = args.order_id.as_str();
    let mut sightings: Vec<Sighting> = Vec::new();
    let mut change = ChangeRecord::default();

    let stream = audit::table_stream(aws, &ctx.settings).await?;
    audit::read_all(stream, |shard, record| {
        if let Some(c) = audit::carried(&record.data, &mut change)
            && c.order.as_deref() == Some(order)
        {
            sightings.push(Sighting {
                stage: STAGES[0],
                event_id: c.event_id,
                event: c.event.unwrap_or_default(),
                location: format!("{shard} #{}", record.sequence_number),
                at: c.created_at.or(record.arrival),
            });
        }
    })
    .await?;
    audit::read_all(
        audit::kinesis_stream(aws, &ctx.settings),
        |shard, record| {
            if let Some(c) = audit::carried(&record.data, &mut change)
                && c.order.as_deref() == Some(order)
            {
                sightings.push(Sighting {
                    stage: STAGES[1],
                    event_id: c.event_id,
                    event: c.event.unwrap_or_default(),
                    location: format!("{shard} #{}", record.sequence_number),
                    at: record.arrival,
                });
            }
        },
    )
    .await?;
    let lake = Lake::new(&aws.s3, aws.bucket(&ctx.settings).await?);
    let needle = format!("\"order_id\":{}", serde_json::to_string(order)?);
    lake.each_object(DATA_PREFIX, |object| {
        for line in object.body.split(|b| *b == b'\n') {
            if !line.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                continue;
            }
            let Ok(row) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            let text = |name: &str| {
                row.get(name)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string()
            };
            sightings.push(Sighting {
                stage: STAGES[2],
                event_id: text("cdc_event_id"),
                event: text("cdc_event_type"),
                location: lake.url(&object.key),
                at: object.written,
            });
        }
    })
    .await?;
    lake.each_object(ERROR_ROOT, |object| {
        for line in object.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let Some(c) =
                audit::failed_record_data(line).and_then(|data| audit::carried(&data, &mut change))
            else {
                continue;
            };
            if c.order.as_deref() == Some(order) {
                sightings.push(Sighting {
                    stage: STAGES[3],
                    event_id: c.event_id,
                    event: c.event.unwrap_or_default(),
                    location: lake.url(&object.key),
                    at: object.written,
                });
            }
        }
    })
    .await?;
    if sightings.is_empty() {
        return Err(service_error(format!(
            "order '{order}' is in no stage (stream, Kinesis, lake or errors/): check the id, or whether its changes are older than the stream's 24 h retention"
        )));
    }
    let (table, missing) = journey(&sightings);
    let output = ctx.out();
    if output.format == OutputFormat::Table {
        // For a person the verdict follows the journey on stdout; pipes get rows only.
        to_stdout(|out| {
            table.write(out, output.format, output.color)?;
            if missing.is_empty() {
                writeln!(out, "every change of {order} reached the lake")
            } else {
                missing
                    .iter()
                    .try_for_each(|line| writeln!(out, "missing: {line}"))
            }
        })?;
    } else {
        output.table(&table)?;
        for line in &missing {
            crate::say!("salesctl: missing: {line}");
        }
    }
    Ok(if missing.is_empty() {
        ExitStatus::SUCCESS
    } else {
        ExitStatus::FAILURE
    })
}

/// The sightings per change, in stream order, each with the latency from the stage before;
/// and a line for each change that is missing at a stage.
fn journey(sightings: &[Sighting]) -> (Table, Vec<String>) {
    // Changes in the order the stream (else the first stage) saw them.
    let mut order: Vec<&str> = Vec::new();
    let mut by_change: BTreeMap<&str, Vec<&Sighting>> = BTreeMap::new();
    for stage in STAGES {
        for s in sightings.iter().filter(|s| s.stage == stage) {
            if !by_change.contains_key(s.event_id.as_str()) {
                order.push(&s.event_id);
            }
            by_change.entry(&s.event_id).or_default().push(s);
        }
    }
    let mut table = Table::new(["change", "event", "stage", "where", "at", "hop_ms"]);
    let mut missing = Vec::new();
    for id in order {
        let seen = &by_change[id];
        let event = seen
            .iter()
            .find_map(|s| (!s.event.is_empty()).then_some(s.event.as_str()))
            .unwrap_or("");
        let mut previous: Option<DateTime<Utc>> = None;
        for stage in STAGES {
            for s in seen.iter().filter(|s| s.stage == stage) {
                let hop = match (previous, s.at) {
                    (Some(before), Some(at)) => Cell::number((at - before).num_milliseconds()),
                    _ => Cell::Null,
                };
                table.push(vec![
                    Cell::text(id),
                    Cell::text(event),
                    Cell::text(stage),
                    Cell::text(&s.location),
                    s.at.map_or(Cell::Null, |t| {
                        Cell::text(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                    }),
                    hop,
                ]);
                previous = s.at.or(previous);
            }
        }
        let at = |stage: &str| seen.iter().any(|s| s.stage == stage);
        if at("errors/") {
            missing.push(format!(
                "{id} ({event}) failed the transform: it is under errors/"
            ));
        } else if !at("lake") {
            let last = STAGES.iter().rev().find(|s| at(s)).unwrap_or(&"nowhere");
            missing.push(format!(
                "{id} ({event}) is not in the lake; last seen in {last}"
            ));
        }
    }
    (table, missing)
}

//! `salesctl trace ORDER_ID`: one order's journey: each change in the table's stream, in
//! Kinesis, in the lake and in `errors/`, where and when, the latency of each hop, what is missing.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};

use crate::context::Context;
use crate::error::{ExitStatus, interrupted_error, service_error};
use crate::lake::{DATA_PREFIX, ERROR_ROOT, Lake};
use crate::output::to_stdout;
use crate::render::{self, Cell, OutputFormat, Table};
use crate::stage_reads;
use salesctl_core::change::ChangeRecord;
use salesctl_core::lake_schema::KEY_COLUMN;

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
    /// `at` is known to the second only (an S3 object's write time, a stream record's
    /// approximate creation time): the event happened within the second that follows.
    to_second: bool,
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

    let stream = stage_reads::table_stream(aws, &ctx.settings).await?;
    stage_reads::read_all(stream, |shard, record| {
        if let Some(c) = stage_reads::carried(&record.data, &mut change)
            && c.order.as_deref() == Some(order)
        {
            sightings.push(Sighting {
                stage: STAGES[0],
                event_id: c.event_id,
                event: c.event.unwrap_or_default(),
                location: format!("{shard} #{}", record.sequence_number),
                at: c.created_at.or(record.arrival),
                // DynamoDB Streams' approximate creation time is whole seconds; a record
                // that carries milliseconds shows them.
                to_second: c
                    .created_at
                    .or(record.arrival)
                    .is_some_and(|t| t.timestamp_subsec_nanos() == 0),
            });
        }
    })
    .await?;
    stage_reads::read_all(
        stage_reads::kinesis_stream(aws, &ctx.settings),
        |shard, record| {
            if let Some(c) = stage_reads::carried(&record.data, &mut change)
                && c.order.as_deref() == Some(order)
            {
                sightings.push(Sighting {
                    stage: STAGES[1],
                    event_id: c.event_id,
                    event: c.event.unwrap_or_default(),
                    location: format!("{shard} #{}", record.sequence_number),
                    at: record.arrival,
                    to_second: false,
                });
            }
        },
    )
    .await?;
    let lake = Lake::new(&aws.s3, aws.bucket(&ctx.settings).await?);
    let needle = format!("\"order_id\":{}", serde_json::to_string(order)?);
    let table = ItemLookup {
        dynamodb: &aws.dynamodb,
        table: &ctx.settings.table,
        order,
    };
    let (objects, searched) = lake_objects_for(&lake, &sightings, &table).await?;
    tracing::info!(objects = objects.len(), %searched, "lake objects read for the trace");
    for listed in objects {
        let body = lake.read(&listed.key).await?;
        let rows = crate::lake::parquet::flat_rows(&listed.key, &body)?;
        for line in rows.split(|b| *b == b'\n') {
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
                location: lake.url(&listed.key),
                at: listed.written,
                to_second: true,
            });
        }
    }
    let lake_searched = searched;
    lake.each_object(ERROR_ROOT, |object| {
        for line in object.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let Some(c) = stage_reads::failed_record_data(line)
                .and_then(|data| stage_reads::carried(&data, &mut change))
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
                    to_second: true,
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
    let steps = journey(&sightings);
    let missing = missing(&steps);
    let output = ctx.out();
    if output.format == OutputFormat::Table {
        // For a person: each change under its id, then the verdict; pipes get rows only.
        let width = crate::render::output_width();
        to_stdout(|out| {
            for (n, change) in steps.chunk_by(|a, b| a.id == b.id).enumerate() {
                if n > 0 {
                    writeln!(out)?;
                }
                writeln!(out, "{} {}", change[0].event, change[0].id)?;
                change_table(change, width).write_keeping_whole(
                    out,
                    output.format,
                    output.color,
                    &["stage", "at (UTC)", "hop_ms"],
                )?;
            }
            if missing.is_empty() {
                wrap_to(
                    &format!("every change of {order} reached the lake ({lake_searched})"),
                    width,
                )
                .iter()
                .try_for_each(|l| writeln!(out, "{l}"))
            } else {
                missing.iter().try_for_each(|line| {
                    wrap_to(&format!("missing: {line}"), width)
                        .iter()
                        .try_for_each(|l| writeln!(out, "{l}"))
                })
            }
        })?;
    } else {
        output.table(&rows(&steps))?;
        for line in &missing {
            crate::say!("salesctl: missing: {line} ({lake_searched})");
        }
    }
    Ok(if missing.is_empty() {
        ExitStatus::SUCCESS
    } else {
        ExitStatus::FAILURE
    })
}

/// The lake objects that can hold the order's changes, and a note of what was searched.
/// Firehose dates an object by its oldest record's arrival and writes it within one buffer
/// interval, so a change that reached Kinesis at A is in an object dated from A minus the
/// longest buffer to A: only those hours are listed and read. A change seen only in the
/// table's stream (made at C) is looked for from C minus a buffer to C plus an hour. Changes
/// older than the streams' retention are dated by the table's item (see [`change_window`]);
/// only when no stream holds a change and the item cannot date them (a deleted order, an
/// item without times) is the whole lake read.
async fn lake_objects_for(
    lake: &Lake,
    sightings: &[Sighting],
    table: &ItemLookup<'_>,
) -> anyhow::Result<(Vec<crate::lake::ObjectEntry>, String)> {
    use std::collections::BTreeSet;
    let buffer = crate::sql::LONGEST_BUFFER;
    let mut in_kinesis = BTreeSet::new();
    let mut windows = Vec::new();
    for s in sightings.iter().filter(|s| s.stage == STAGES[1]) {
        if let Some(at) = s.at {
            windows.push((at - buffer, at));
            in_kinesis.insert(s.event_id.as_str());
        }
    }
    for s in sightings.iter().filter(|s| s.stage == STAGES[0]) {
        if let Some(at) = s.at
            && !in_kinesis.contains(s.event_id.as_str())
        {
            windows.push(change_window(at, at));
        }
    }
    // The streams hold 24 hours: the item dates what is older. An order whose INSERT has
    // aged out while a later change is still in a stream has its earlier changes from its
    // `created_at` up to the oldest change a stream still holds. With its INSERT in a stream,
    // every change is there (and a backfilled order's `created_at` is not when it was
    // written, so it is not asked).
    let in_streams = || {
        sightings
            .iter()
            .filter(|s| s.stage == STAGES[0] || s.stage == STAGES[1])
    };
    let span = if in_streams().any(|s| s.event == "INSERT") {
        None
    } else {
        Some(table.item_span().await?)
    };
    let oldest_in_streams = in_streams().filter_map(|s| s.at).min();
    let mut dated_by_item = None;
    match (span, oldest_in_streams) {
        (None, _) => {}
        (Some(Ok((first, last))), None) => {
            windows.push(change_window(first, last));
            dated_by_item = Some((first, last));
        }
        (Some(Ok((first, _))), Some(oldest)) if first < oldest - buffer => {
            windows.push(change_window(first, oldest));
            dated_by_item = Some((first, oldest));
        }
        (Some(Err(why)), None) => {
            let all = lake.list(DATA_PREFIX).await?;
            let note = format!(
                "no stream holds its changes and {why}: searched the whole lake, {} objects",
                all.len()
            );
            return Ok((all, note));
        }
        // Every change is still in a stream, or the item cannot date older ones.
        _ => {}
    }
    let hours: BTreeSet<(chrono::NaiveDate, u32)> = windows
        .iter()
        .flat_map(|(from, to)| crate::lake::layout::partition_hours(*from, *to))
        .collect();
    let mut objects = Vec::new();
    for (day, hour) in &hours {
        objects.extend(
            lake.list(&crate::lake::layout::hour_prefix(*day, *hour))
                .await?,
        );
    }
    let read = format!(
        "{} object{} in the {} hour{}",
        objects.len(),
        if objects.len() == 1 { "" } else { "s" },
        hours.len(),
        if hours.len() == 1 { "" } else { "s" },
    );
    let note = match (dated_by_item, oldest_in_streams) {
        (Some((first, last)), None) => format!(
            "no stream holds its changes any more; the table's item dates them from {} to {} UTC: {read} they can be in",
            first.format("%Y-%m-%d %H:%M:%S"),
            last.format("%Y-%m-%d %H:%M:%S"),
        ),
        (Some((first, _)), Some(_)) => format!(
            "lake searched: {read} its changes can be in (those older than the streams dated from the item's created_at, {} UTC)",
            first.format("%Y-%m-%d %H:%M:%S"),
        ),
        _ => format!("lake searched: {read} its changes can be in"),
    };
    Ok((objects, note))
}

/// Where the order's item is: the table, and the order id as its key value.
struct ItemLookup<'a> {
    dynamodb: &'a aws_sdk_dynamodb::Client,
    table: &'a str,
    order: &'a str,
}

impl ItemLookup<'_> {
    /// The first and the last change the order's item records (`created_at`, its INSERT,
    /// and `updated_at`), or why the table cannot tell, as a clause for the note.
    async fn item_span(
        &self,
    ) -> anyhow::Result<Result<(DateTime<Utc>, DateTime<Utc>), &'static str>> {
        use crate::aws::ServiceResultExt;
        use aws_sdk_dynamodb::types::AttributeValue;
        let (table, order) = (self.table, self.order);
        // DynamoDB refuses an empty key value: no item can have it.
        if order.is_empty() {
            return Ok(Err("the table has no item for it"));
        }
        let described = stage_reads::describe_table(self.dynamodb, table).await?;
        let Some(key) = described.as_ref().and_then(single_string_key) else {
            return Ok(Err("the table's key is not one string attribute"));
        };
        // The key is projected so that a found item is never empty; a projection naming one
        // attribute twice is refused, so `order_id` is named once when it is the key.
        let mut wanted = vec![key.as_str(), "created_at", "updated_at"];
        if key != KEY_COLUMN {
            wanted.push(KEY_COLUMN);
        }
        let placeholders: Vec<String> = (0..wanted.len()).map(|i| format!("#a{i}")).collect();
        let mut get = self
            .dynamodb
            .get_item()
            .table_name(table)
            .key(&key, AttributeValue::S(order.to_string()))
            .consistent_read(true)
            .projection_expression(placeholders.join(", "));
        for (placeholder, name) in placeholders.iter().zip(wanted) {
            get = get.expression_attribute_names(placeholder, name);
        }
        let got = get
            .send()
            .await
            .service_context(|| format!("reading order '{order}' from table '{table}'"))?;
        let text = |name: &str| match got.item().and_then(|item| item.get(name)) {
            Some(AttributeValue::S(s)) => Some(s.as_str()),
            _ => None,
        };
        // The lake's order id is the item's `order_id` attribute when it has one: an item
        // found by key whose `order_id` is another order's is not this order's.
        if got.item().is_none() || text(KEY_COLUMN).is_some_and(|id| id != order) {
            return Ok(Err("the table has no item for it"));
        }
        Ok(item_span(text("created_at"), text("updated_at"))
            .ok_or("its item has no created_at nor updated_at"))
    }
}

/// The attribute a GetItem can name the order by: the table's key when it is one string
/// attribute (a composite key's lake id joins its values, and cannot be split back).
fn single_string_key(table: &aws_sdk_dynamodb::types::TableDescription) -> Option<String> {
    let [key] = table.key_schema() else {
        return None;
    };
    let is_string = table.attribute_definitions().iter().any(|a| {
        a.attribute_name() == key.attribute_name()
            && *a.attribute_type() == aws_sdk_dynamodb::types::ScalarAttributeType::S
    });
    (*key.key_type() == aws_sdk_dynamodb::types::KeyType::Hash && is_string)
        .then(|| key.attribute_name().to_string())
}

/// The first and last change of an item from its `created_at` and `updated_at` (ISO 8601);
/// one of them alone stands for both.
fn item_span(
    created_at: Option<&str>,
    updated_at: Option<&str>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let parse = |text: Option<&str>| {
        text.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    match (parse(created_at), parse(updated_at)) {
        // An item written by hand may have them the wrong way round.
        (Some(a), Some(b)) => Some((a.min(b), a.max(b))),
        (Some(t), None) | (None, Some(t)) => Some((t, t)),
        (None, None) => None,
    }
}

/// The times of the lake objects that can hold changes made from `first` to `last`: an
/// object is dated by its oldest record's arrival, at most one buffer interval before a
/// change reaches it, and a change reaches Firehose within the hour after it was made.
fn change_window(first: DateTime<Utc>, last: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        first - crate::sql::LONGEST_BUFFER,
        last + chrono::TimeDelta::hours(1),
    )
}

/// One sighting in the journey: which change, which stage (and which copy there), when, and
/// the hop from the stage before.
struct Step<'a> {
    id: &'a str,
    event: &'a str,
    stage: &'static str,
    /// 1 for the first copy at this stage, 2 for a duplicate, …
    copy: usize,
    location: &'a str,
    at: Option<DateTime<Utc>>,
    to_second: bool,
    /// The least and the most the hop from the stage before can have taken, in
    /// milliseconds (equal when both times are known to the millisecond).
    hop: Option<(i64, i64)>,
}

/// The stages a stage's changes come from, nearest first: errors/ is the lake's sibling
/// (both are written from Kinesis), and a stage that was skipped (a stream trimmed past a
/// change) hands over to the one before it.
fn sources(stage: &str) -> &'static [&'static str] {
    match stage {
        "kinesis" => &["table stream"],
        "lake" | "errors/" => &["kinesis", "table stream"],
        _ => &[],
    }
}

/// The sightings per change, in stream order (then stage, then time), each with the hop from
/// the stage it came from. A time known to the second only counts as the whole second, so a
/// hop is a range and never negative; a copy is measured from the sighting at the stage
/// before that it can have come from (the latest not after it), never from its twin.
fn journey(sightings: &[Sighting]) -> Vec<Step<'_>> {
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
    let millis = |s: &Sighting| if s.to_second { 1000 } else { 0 };
    let mut steps = Vec::new();
    for id in order {
        let seen = &by_change[id];
        let event = seen
            .iter()
            .find_map(|s| (!s.event.is_empty()).then_some(s.event.as_str()))
            .unwrap_or("");
        for stage in STAGES {
            let mut here: Vec<&Sighting> =
                seen.iter().copied().filter(|s| s.stage == stage).collect();
            here.sort_by_key(|s| s.at);
            // The sightings this stage's copies came from, in time order.
            let mut before: Vec<&Sighting> = sources(stage)
                .iter()
                .map(|source| {
                    seen.iter()
                        .copied()
                        .filter(|s| s.stage == *source && s.at.is_some())
                        .collect::<Vec<_>>()
                })
                .find(|found| !found.is_empty())
                .unwrap_or_default();
            before.sort_by_key(|s| s.at);
            for (copy, s) in here.into_iter().enumerate() {
                let hop = s.at.and_then(|at| {
                    let latest = at + chrono::Duration::milliseconds(millis(s));
                    let from = before
                        .iter()
                        .rev()
                        .find(|b| b.at.is_some_and(|t| t <= latest))?;
                    let start = from.at?;
                    let most = (latest - start).num_milliseconds();
                    let least = (at - start).num_milliseconds() - millis(from);
                    Some((least.max(0), most))
                });
                steps.push(Step {
                    id,
                    event,
                    stage,
                    copy: copy + 1,
                    location: &s.location,
                    at: s.at,
                    to_second: s.to_second,
                    hop,
                });
            }
        }
    }
    steps
}

/// A line for each change that failed or is missing at a stage.
fn missing(steps: &[Step]) -> Vec<String> {
    let mut missing = Vec::new();
    for change in steps.chunk_by(|a, b| a.id == b.id) {
        let (id, event) = (change[0].id, change[0].event);
        let at = |stage: &str| change.iter().any(|s| s.stage == stage);
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
    missing
}

/// The journey for pipes: one row per sighting, its time in full, the hop as the least
/// (`hop_ms`) and the most (`hop_ms_max`) it can have taken.
fn rows(steps: &[Step]) -> Table {
    let mut table = Table::new([
        "change",
        "event",
        "stage",
        "where",
        "at",
        "hop_ms",
        "hop_ms_max",
    ]);
    for s in steps {
        let (least, most) = match s.hop {
            Some((least, most)) => (Cell::number(least), Cell::number(most)),
            None => (Cell::Null, Cell::Null),
        };
        table.push(vec![
            Cell::text(s.id),
            Cell::text(s.event),
            Cell::text(s.stage),
            Cell::text(s.location),
            s.at.map_or(Cell::Null, |t| {
                Cell::text(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            }),
            least,
            most,
        ]);
    }
    table
}

/// One change's journey for a person: stage, time (seconds, and milliseconds where they
/// are known), hop and where, the time and hop whole, `where` shortened in its middle to
/// what the width leaves.
fn change_table(change: &[Step], width: Option<usize>) -> Table {
    let headers = ["stage", "at (UTC)", "hop_ms", "where"];
    let cells: Vec<[String; 3]> = change
        .iter()
        .map(|s| {
            let stage = if s.copy > 1 {
                format!("{} copy {}", s.stage, s.copy)
            } else {
                s.stage.to_string()
            };
            let at = s.at.map_or(String::new(), |t| {
                t.format(if s.to_second {
                    "%m-%d %H:%M:%S"
                } else {
                    "%m-%d %H:%M:%S%.3f"
                })
                .to_string()
            });
            [stage, at, s.hop.map_or(String::new(), hop_text)]
        })
        .collect();
    // Borders and padding of four columns, and the three columns that stay whole.
    let fixed: usize = 13
        + (0..3)
            .map(|i| {
                cells
                    .iter()
                    .map(|c| console::measure_text_width(&c[i]))
                    .chain([headers[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .sum::<usize>();
    let room = width.map(|w| w.saturating_sub(fixed).max(12));
    let mut table = Table::new(headers);
    for (s, [stage, at, hop]) in change.iter().zip(cells) {
        let place = short_location(s.location);
        let place = match room {
            Some(room) => cut_middle(&place, room),
            None => place,
        };
        table.push(vec![
            Cell::text(stage),
            Cell::text(at),
            Cell::text(hop),
            Cell::text(place),
        ]);
    }
    table
}

/// A hop for a person: exact, at most, or between.
fn hop_text((least, most): (i64, i64)) -> String {
    if least == most {
        least.to_string()
    } else if least == 0 {
        format!("≤ {most}")
    } else {
        format!("{least}–{most}")
    }
}

/// Where, for a person: an object by its name (its bucket and partition are the stage's
/// and the time's), a record by its shard and sequence number.
fn short_location(location: &str) -> String {
    match location.strip_prefix("s3://") {
        Some(path) => path.rsplit('/').next().unwrap_or(path).to_string(),
        None => location.to_string(),
    }
}

/// `text` in at most `width` columns, its middle replaced by an ellipsis (both ends of a name
/// tell it apart: a time at the start, a copy's suffix at the end).
fn cut_middle(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width || width < 3 {
        return text.to_string();
    }
    let head = (width - 1) / 2;
    let tail = width - 1 - head;
    let mut cut: String = chars[..head].iter().collect();
    cut.push('…');
    cut.extend(&chars[chars.len() - tail..]);
    cut
}

/// Wraps `text` to the width at spaces only (see [`render::wrap_words`]); no width, one line.
fn wrap_to(text: &str, width: Option<usize>) -> Vec<String> {
    width.map_or_else(|| vec![text.to_string()], |w| render::wrap_words(text, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    fn seen(stage: &'static str, location: &str, time: &str, to_second: bool) -> Sighting {
        Sighting {
            stage,
            event_id: "c1".into(),
            event: "INSERT".into(),
            location: location.into(),
            at: at(time),
            to_second,
        }
    }

    #[test]
    fn hops_are_ranges_never_negative_and_copies_pair_with_their_own_source() {
        let sightings = [
            seen("table stream", "shard #1", "2026-12-05T04:31:07Z", true),
            seen("kinesis", "shard-0 #1", "2026-12-05T04:31:07.523Z", false),
            // The relay put the record again 782 s later: a duplicate in Kinesis.
            seen("kinesis", "shard-0 #9", "2026-12-05T04:44:09.523Z", false),
            // S3 times are whole seconds: the first copy was written in the same second.
            seen("lake", "s3://b/orders/x", "2026-12-05T04:31:07Z", true),
            seen("lake", "s3://b/orders/y", "2026-12-05T04:44:10Z", true),
        ];
        let steps = journey(&sightings);
        let hops: Vec<Option<(i64, i64)>> = steps.iter().map(|s| s.hop).collect();
        assert_eq!(
            hops,
            [
                None,
                Some((0, 523)),
                Some((781_523, 782_523)),
                Some((0, 477)),
                Some((477, 1477)),
            ]
        );
        assert_eq!(
            steps.iter().map(|s| s.copy).collect::<Vec<_>>(),
            [1, 1, 2, 1, 2]
        );
        assert!(missing(&steps).is_empty());
        let table = change_table(&steps, Some(80));
        assert_eq!(table.rows[2][0].display(), "kinesis copy 2");
        assert_eq!(table.rows[1][1].display(), "12-05 04:31:07.523");
        assert_eq!(table.rows[3][1].display(), "12-05 04:31:07");
        assert_eq!(table.rows[1][2].display(), "≤ 523");
        let text = table.people_text(80, &["stage", "at (UTC)", "hop_ms"]);
        assert!(
            text.lines().all(|l| console::measure_text_width(l) <= 80),
            "{text}"
        );
        assert!(text.contains("12-05 04:44:09.523"), "{text}");
    }

    #[test]
    fn an_items_times_date_the_hours_its_changes_can_be_in() {
        let span = item_span(
            Some("2026-11-10T08:10:00.000Z"),
            Some("2026-11-10T09:20:00.000Z"),
        );
        assert_eq!(
            span,
            Some((
                at("2026-11-10T08:10:00Z").unwrap(),
                at("2026-11-10T09:20:00Z").unwrap()
            ))
        );
        let (first, last) = span.unwrap();
        let (from, to) = change_window(first, last);
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 10).unwrap();
        assert_eq!(
            crate::lake::layout::partition_hours(from, to),
            [(day, 7), (day, 8), (day, 9), (day, 10)]
        );
        // An INSERT just after midnight can be in the previous day's last hour.
        let (from, _) = change_window(at("2026-11-10T00:05:00Z").unwrap(), last);
        assert_eq!(from, at("2026-11-09T23:50:00Z").unwrap());
        // One time stands for both; reversed times are put in order; neither is no span.
        let only = at("2026-11-21T17:55:02.391Z").unwrap();
        assert_eq!(
            item_span(None, Some("2026-11-21T17:55:02.391Z")),
            Some((only, only))
        );
        assert_eq!(
            item_span(Some("2026-11-21T17:55:02.391Z"), Some("not a time")),
            Some((only, only))
        );
        assert_eq!(
            item_span(Some("2026-11-10T09:20:00Z"), Some("2026-11-10T08:10:00Z")),
            span
        );
        assert_eq!(item_span(None, None), None);
    }

    #[test]
    fn only_a_single_string_hash_key_can_name_an_order() {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, KeySchemaElement, KeyType, ScalarAttributeType, TableDescription,
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .unwrap()
        };
        let attribute = |name: &str, kind: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(kind)
                .build()
                .unwrap()
        };
        let single = TableDescription::builder()
            .key_schema(key("orderid", KeyType::Hash))
            .attribute_definitions(attribute("orderid", ScalarAttributeType::S))
            .build();
        assert_eq!(single_string_key(&single).as_deref(), Some("orderid"));
        let numeric = TableDescription::builder()
            .key_schema(key("orderid", KeyType::Hash))
            .attribute_definitions(attribute("orderid", ScalarAttributeType::N))
            .build();
        assert_eq!(single_string_key(&numeric), None);
        let composite = TableDescription::builder()
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .attribute_definitions(attribute("pk", ScalarAttributeType::S))
            .attribute_definitions(attribute("sk", ScalarAttributeType::S))
            .build();
        assert_eq!(single_string_key(&composite), None);
    }

    #[test]
    fn a_hop_reads_as_exact_at_most_or_between_and_names_keep_both_ends() {
        assert_eq!(hop_text((960, 960)), "960");
        assert_eq!(hop_text((0, 960)), "≤ 960");
        assert_eq!(hop_text((40, 1040)), "40–1040");
        assert_eq!(
            short_location("s3://bucket/orders/dt=x/name-copy"),
            "name-copy"
        );
        assert_eq!(cut_middle("abcdefghij", 7), "abc…hij");
        assert_eq!(cut_middle("abc", 7), "abc");
        let wrapped = wrap_to(
            "missing: 03d1d1dd78cf4c5d91e5318d92d5b1bf (INSERT) is not in the lake; last seen in kinesis",
            Some(40),
        );
        assert!(
            wrapped
                .iter()
                .any(|l| l.contains("03d1d1dd78cf4c5d91e5318d92d5b1bf"))
        );
    }
}

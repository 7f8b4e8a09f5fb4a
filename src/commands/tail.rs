//! `salesctl tail-cdc`: follow the CDC stream (Kinesis, or the table's DynamoDB stream) and
//! show every change once, decoded: a diff view for people, JSON lines for pipes.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::cdc_view::{
    EventFilter, KeyFilter, TableLine, raw_table_line, table_line, write_json_line,
    write_raw_json_line,
};
use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::render::OutputFormat;
use crate::stream::dynamodb::DynamoDbStream;
use crate::stream::kinesis::KinesisStream;
use crate::stream::positions::Checkpoint;
use crate::stream::reader::{ReaderEvent, ReaderOptions, ShardReader};
use crate::stream::{RawRecord, StartPosition, StreamSource, sleep_until_or_forever};
use salesctl_core::change::{ChangeRecord, decode_into};

/// Warnings about non-change records printed one by one before only counting them.
const RAW_WARNINGS_SHOWN: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// The Kinesis stream the Pipe writes to (--stream).
    Kinesis,
    /// The table's DynamoDB stream, read directly (--table).
    DynamodbStream,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to start in shards without a checkpointed position: trim-horizon, latest, an
    /// ISO-8601 time (2026-11-20T08:00:00Z) or an age (10m, 2h). Default: latest with
    /// --follow, trim-horizon without.
    #[arg(long, value_parser = parse_from, value_name = "POSITION")]
    pub from: Option<StartPosition>,
    /// Keep reading new changes (Ctrl-C to stop); without it, read what is there and exit.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Stop after showing this many changes.
    #[arg(long, value_name = "N")]
    pub max: Option<u64>,
    /// Stop after this long, e.g. 30s, 5m (exit 0).
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Show only these event types: a comma-separated list of insert, modify, remove.
    #[arg(long, value_parser = parse_events, value_name = "TYPES")]
    pub event: Option<EventFilter>,
    /// Show only the changes of the item with this key value (NAME=VALUE for one attribute
    /// of a composite key).
    #[arg(long, value_name = "VALUE")]
    pub key: Option<String>,
    /// Store per-shard positions in FILE and resume after them (no gap, no repeat).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// What to read: the Kinesis stream, or the table's DynamoDB stream directly.
    #[arg(long, value_enum, default_value = "kinesis")]
    pub source: SourceKind,
}

fn parse_events(text: &str) -> Result<EventFilter, String> {
    EventFilter::parse(text)
}

/// `trim-horizon`, `latest`, an ISO-8601 time, or an age before now.
pub fn parse_from(text: &str) -> Result<StartPosition, String> {
    parse_from_at(text, Utc::now())
}

fn parse_from_at(text: &str, now: DateTime<Utc>) -> Result<StartPosition, String> {
    let lower = text.trim().to_ascii_lowercase();
    match lower.as_str() {
        "trim-horizon" | "trim_horizon" | "earliest" | "beginning" => {
            return Ok(StartPosition::TrimHorizon);
        }
        "latest" | "now" => return Ok(StartPosition::Latest),
        _ => {}
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(StartPosition::AtTimestamp(at.with_timezone(&Utc)));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text.trim(), format) {
            return Ok(StartPosition::AtTimestamp(naive.and_utc()));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(StartPosition::AtTimestamp(
            date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
        ));
    }
    if let Ok(age) = humantime::parse_duration(text.trim()) {
        let age =
            chrono::Duration::from_std(age).map_err(|_| format!("age {text:?} is too large"))?;
        return Ok(StartPosition::AtTimestamp(
            now.checked_sub_signed(age).unwrap_or(DateTime::UNIX_EPOCH),
        ));
    }
    Err(format!(
        "{text:?} is not a start position: use trim-horizon, latest, an ISO-8601 time such as 2026-11-20T08:00:00Z, or an age such as 10m"
    ))
}

/// Counts for the summary.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    read: u64,
    shown: u64,
    raw: u64,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    if args.max == Some(0) {
        return Err(usage_error("--max must be at least 1"));
    }
    let aws = ctx.aws().await?;
    match args.source {
        SourceKind::Kinesis => {
            let source = KinesisStream::new(aws.kinesis.clone(), &ctx.settings.stream);
            tail(ctx, &args, source).await
        }
        SourceKind::DynamodbStream => {
            let source = DynamoDbStream::for_table(
                &aws.dynamodb,
                aws.dynamodb_streams.clone(),
                &ctx.settings.table,
            )
            .await?;
            tail(ctx, &args, source).await
        }
    }
}

/// Shows the changes of `source` until caught up (or, following, until Ctrl-C), keeping the
/// checkpoint in step with what was shown.
async fn tail<S: StreamSource>(
    ctx: &Context,
    args: &Args,
    source: S,
) -> anyhow::Result<ExitStatus> {
    let start = args.from.unwrap_or(if args.follow {
        StartPosition::Latest
    } else {
        StartPosition::TrimHorizon
    });
    let mut checkpoint = match &args.checkpoint {
        Some(path) => Some(Checkpoint::open(
            path,
            &source.checkpoint_key(),
            start.origin(Utc::now()),
        )?),
        None => None,
    };
    let options = ReaderOptions {
        start,
        follow: args.follow,
        ..ReaderOptions::default()
    };
    let resumed = checkpoint.as_ref().and_then(Checkpoint::resumed_positions);
    let mut reader = ShardReader::new(source, options, resumed);
    let mut view = View::new(ctx, args);
    let deadline = args.timeout.map(|t| tokio::time::Instant::now() + t);
    let mut status = ExitStatus::SUCCESS;

    loop {
        let event = tokio::select! {
            event = reader.next() => event,
            () = ctx.shutdown_requested() => {
                status = ExitStatus::INTERRUPTED;
                break;
            }
            () = sleep_until_or_forever(deadline) => break,
        };
        match event {
            Ok(ReaderEvent::Records { shard_id, records }) => {
                let done = view.page(&shard_id, &records, checkpoint.as_mut())?;
                if let Some(checkpoint) = checkpoint.as_mut() {
                    checkpoint.save()?;
                }
                if done {
                    break;
                }
            }
            Ok(ReaderEvent::ShardFinished(shard_id)) => {
                if let Some(checkpoint) = checkpoint.as_mut() {
                    checkpoint.finish(&shard_id);
                    checkpoint.save()?;
                }
            }
            Ok(ReaderEvent::CaughtUp) => break,
            Err(error) => {
                // Keep what was shown resumable even when the stream fails under us.
                if let Some(checkpoint) = checkpoint.as_mut() {
                    checkpoint.save()?;
                }
                return Err(error);
            }
        }
    }
    if let Some(checkpoint) = checkpoint.as_mut() {
        checkpoint.save()?;
    }
    view.finish(reader.shard_counts().0);
    Ok(status)
}

/// Appends one RFC 4180 CSV row, after the header row when none was written yet.
fn write_csv_fields(out: &mut Vec<u8>, header_written: &mut bool, fields: &[&str]) {
    if !*header_written {
        *header_written = true;
        out.extend_from_slice(
            b"cdc_event_type,cdc_event_id,creation_datetime,keys,new_image,old_image,shard_id,sequence_number,raw\n",
        );
    }
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        if field.contains(['"', ',', '\n', '\r']) {
            out.push(b'"');
            out.extend_from_slice(field.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(field.as_bytes());
        }
    }
    out.push(b'\n');
}

/// Renders records as they arrive and applies the filters and --max.
struct View {
    format: OutputFormat,
    color: bool,
    events: EventFilter,
    key: Option<KeyFilter>,
    max: Option<u64>,
    counts: Counts,
    change: ChangeRecord,
    buffer: Vec<u8>,
    header_written: bool,
}

impl View {
    fn new(ctx: &Context, args: &Args) -> View {
        View {
            format: ctx.output(),
            color: ctx.color,
            events: args.event.unwrap_or_default(),
            key: args.key.as_deref().map(KeyFilter::parse),
            max: args.max,
            counts: Counts::default(),
            change: ChangeRecord::default(),
            buffer: Vec::with_capacity(1 << 20),
            header_written: false,
        }
    }

    /// Shows one page; returns true once --max is reached. The checkpoint advances only over
    /// records handled here, so a stop mid-page resumes right after the last one shown.
    fn page(
        &mut self,
        shard_id: &str,
        records: &[RawRecord],
        checkpoint: Option<&mut Checkpoint>,
    ) -> anyhow::Result<bool> {
        self.buffer.clear();
        let mut done = false;
        let mut last_handled = None;
        for record in records {
            self.counts.read += 1;
            self.record(shard_id, record);
            last_handled = Some(&record.sequence_number);
            if self.max.is_some_and(|max| self.counts.shown >= max) {
                done = true;
                break;
            }
        }
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = stdout.write_all(&self.buffer).and_then(|()| stdout.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                // `| head`: the reader left, which is a normal way to stop.
                return Ok(true);
            }
            return Err(anyhow::anyhow!("cannot write to stdout: {e}"));
        }
        if let (Some(checkpoint), Some(sequence)) = (checkpoint, last_handled) {
            checkpoint.advance(shard_id, sequence);
        }
        Ok(done)
    }

    fn record(&mut self, shard_id: &str, record: &RawRecord) {
        match decode_into(&record.data, &mut self.change) {
            Ok(()) => {
                if !self.events.matches(self.change.event_type)
                    || self
                        .key
                        .as_ref()
                        .is_some_and(|key| !key.matches(&self.change.keys))
                {
                    return;
                }
                self.counts.shown += 1;
                match self.format {
                    OutputFormat::Json => {
                        write_json_line(
                            &mut self.buffer,
                            &self.change,
                            shard_id,
                            &record.sequence_number,
                        );
                    }
                    OutputFormat::Table => {
                        let line = table_line(&self.change);
                        self.write_table_line(&line);
                    }
                    OutputFormat::Csv => self.write_csv_change(shard_id, &record.sequence_number),
                }
            }
            Err(error) => {
                // Never dropped silently: shown raw, with a warning on stderr.
                self.counts.raw += 1;
                let reason = error.to_string();
                if self.counts.raw <= RAW_WARNINGS_SHOWN {
                    eprintln!(
                        "salesctl: warning: record {} of {shard_id} is not a DynamoDB change ({reason}); shown raw",
                        record.sequence_number
                    );
                }
                match self.format {
                    OutputFormat::Json => {
                        write_raw_json_line(
                            &mut self.buffer,
                            &record.data,
                            shard_id,
                            &record.sequence_number,
                            &reason,
                        );
                    }
                    OutputFormat::Table => {
                        let line = raw_table_line(&record.data, &reason);
                        self.write_table_line(&line);
                    }
                    OutputFormat::Csv => {
                        let (_, text) = crate::cdc_view::raw_text(&record.data);
                        let fields = [
                            "RAW",
                            "",
                            "",
                            "",
                            "",
                            "",
                            shard_id,
                            &record.sequence_number,
                            &text,
                        ];
                        self.write_csv_fields(&fields);
                    }
                }
            }
        }
    }

    fn write_table_line(&mut self, line: &TableLine) {
        if !self.header_written {
            self.header_written = true;
            let [time, event, key, changes] = TableLine::HEADERS;
            let header = format!("{time:<20} {event:<6} {key:<18} {changes}\n");
            self.buffer.extend_from_slice(header.as_bytes());
        }
        let event = if self.color {
            let code = match line.event.as_str() {
                "INSERT" => "32",
                "MODIFY" => "33",
                "REMOVE" => "31",
                _ => "35",
            };
            format!("\x1b[{code}m{:<6}\x1b[0m", line.event)
        } else {
            format!("{:<6}", line.event)
        };
        let text = format!(
            "{:<20} {event} {:<18} {}\n",
            line.time, line.key, line.detail
        );
        self.buffer.extend_from_slice(text.as_bytes());
    }

    fn write_csv_change(&mut self, shard_id: &str, sequence_number: &str) {
        let change = &self.change;
        let created = change.creation_datetime();
        fn image(image: &Option<salesctl_core::change::FlatImage>) -> &str {
            image.as_ref().map_or("", |i| i.as_json())
        }
        let fields = [
            change.event_type.as_str(),
            change.event_id.as_str(),
            created.as_str(),
            change.keys.as_json(),
            image(&change.new_image),
            image(&change.old_image),
            shard_id,
            sequence_number,
            "",
        ];
        write_csv_fields(&mut self.buffer, &mut self.header_written, &fields);
    }

    fn write_csv_fields(&mut self, fields: &[&str]) {
        write_csv_fields(&mut self.buffer, &mut self.header_written, fields);
    }

    fn finish(&self, shards: usize) {
        if self.counts.raw > RAW_WARNINGS_SHOWN {
            eprintln!(
                "salesctl: warning: {} records in all were not DynamoDB changes and were shown raw",
                self.counts.raw
            );
        }
        if self.format == OutputFormat::Table || std::io::stderr().is_terminal() {
            eprintln!(
                "{} changes shown ({} records read from {shards} shards{})",
                self.counts.shown,
                self.counts.read,
                if self.counts.raw > 0 {
                    format!(", {} not changes", self.counts.raw)
                } else {
                    String::new()
                }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_positions() {
        let now = DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_from_at("trim-horizon", now),
            Ok(StartPosition::TrimHorizon)
        );
        assert_eq!(parse_from_at("LATEST", now), Ok(StartPosition::Latest));
        let at = |s: &str| {
            StartPosition::AtTimestamp(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
        };
        assert_eq!(parse_from_at("10m", now), Ok(at("2026-11-20T09:50:00Z")));
        assert_eq!(parse_from_at("2h", now), Ok(at("2026-11-20T08:00:00Z")));
        assert_eq!(
            parse_from_at("2026-11-20T08:15:02+01:00", now),
            Ok(at("2026-11-20T07:15:02Z"))
        );
        assert_eq!(
            parse_from_at("2026-11-20T08:15:02", now),
            Ok(at("2026-11-20T08:15:02Z"))
        );
        assert_eq!(
            parse_from_at("2026-11-19", now),
            Ok(at("2026-11-19T00:00:00Z"))
        );
        assert!(
            parse_from_at("yesterday-ish", now)
                .unwrap_err()
                .contains("trim-horizon, latest")
        );
    }
}

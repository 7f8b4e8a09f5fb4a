//! `salesctl tail-cdc`: follow the CDC stream (Kinesis, or the table's DynamoDB stream) and
//! show every change once, decoded: a diff view for people, JSON lines for pipes.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;

use crate::cdc_view::{
    EventFilter, KeyFilter, TableLine, raw_table_line, table_line, write_json_line,
    write_raw_json_line,
};
use crate::commands::activity::Activity;
use crate::commands::values;
use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::output::{is_closed_pipe, to_stdout};
use crate::render::{OutputFormat, output_width, truncate};
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
    #[arg(long, value_parser = values::start_position, value_name = "POSITION")]
    pub from: Option<StartPosition>,
    /// Keep reading new changes (Ctrl-C to stop); without it, read what is there and exit.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Stop after showing this many changes.
    #[arg(long, value_name = "N", value_parser = values::positive_count, allow_negative_numbers = true)]
    pub max: Option<u64>,
    /// Stop after this long, e.g. 30s, 5m (exit 0).
    #[arg(long, value_parser = values::positive_duration, value_name = "DURATION", allow_negative_numbers = true)]
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
    /// Table view: show every change whole, however long, instead of one line per change
    /// cut to the terminal's width.
    #[arg(long, short = 'w')]
    pub wide: bool,
}

fn parse_events(text: &str) -> Result<EventFilter, String> {
    EventFilter::parse(text)
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
    let what = match args.source {
        SourceKind::Kinesis => format!("Kinesis stream '{}'", ctx.settings.stream),
        SourceKind::DynamodbStream => format!("the stream of table '{}'", ctx.settings.table),
    };
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
    let mut heartbeat = Heartbeat::new(args.follow, &what);

    loop {
        let event = tokio::select! {
            event = reader.next() => event,
            () = ctx.shutdown_requested() => {
                status = ExitStatus::INTERRUPTED;
                break;
            }
            () = sleep_until_or_forever(deadline) => break,
            () = heartbeat.tick() => {
                heartbeat.beat(view.counts.shown, reader.shard_counts().0);
                continue;
            }
        };
        match event {
            Ok(ReaderEvent::Records { shard_id, records }) => {
                let done =
                    heartbeat.suspend(|| view.page(&shard_id, &records, checkpoint.as_mut()))?;
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
    heartbeat.clear();
    view.finish(reader.shard_counts().0)?;
    if view.counts.read == 0 {
        let emulator = ctx.targets_emulator().await.unwrap_or(false);
        crate::say!("salesctl: hint: {}", empty_stream_hint(ctx, args, emulator));
    }
    Ok(status)
}

/// What fills the stream that was empty, and the command to run.
fn empty_stream_hint(ctx: &Context, args: &Args, emulator: bool) -> String {
    let local = if ctx.settings.local { "--local " } else { "" };
    match (args.source, emulator) {
        (SourceKind::Kinesis, true) => format!(
            "on the emulator no Pipe fills the Kinesis stream '{}': run 'salesctl {local}relay' beside 'salesctl {local}generate', or read the table's own stream with 'salesctl {local}tail-cdc --source dynamodb-stream'",
            ctx.settings.stream
        ),
        (SourceKind::Kinesis, false) => format!(
            "the stream '{}' holds no changes{}: write some with 'salesctl generate', and check 'salesctl status' shows the pipe RUNNING",
            ctx.settings.stream,
            if args.follow {
                " yet"
            } else {
                " in its retention window"
            }
        ),
        (SourceKind::DynamodbStream, _) => format!(
            "the table '{}' has no changes in its stream (24 h retention): write some with 'salesctl {local}generate'",
            ctx.settings.table
        ),
    }
}

/// While following: a spinner on a terminal, else a line every half minute, so silence
/// never looks like a hang.
struct Heartbeat {
    interval: Option<tokio::time::Interval>,
    activity: Option<Activity>,
    what: String,
}

impl Heartbeat {
    fn new(follow: bool, what: &str) -> Heartbeat {
        let interval = follow.then(|| {
            let period = Duration::from_secs(1);
            let mut interval =
                tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            interval
        });
        Heartbeat {
            interval,
            activity: follow.then(|| Activity::new("tail-cdc")),
            what: what.to_string(),
        }
    }

    async fn tick(&mut self) {
        match self.interval.as_mut() {
            Some(interval) => {
                interval.tick().await;
            }
            None => std::future::pending().await,
        }
    }

    fn beat(&mut self, shown: u64, shards: usize) {
        if let Some(activity) = self.activity.as_mut() {
            let message = format!(
                "following {} ({shards} shards): {shown} changes shown in {}; Ctrl-C to stop",
                self.what,
                activity.elapsed_text()
            );
            activity.update(&message);
        }
    }

    fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.activity {
            Some(activity) => activity.suspend(f),
            None => f(),
        }
    }

    fn clear(&self) {
        if let Some(activity) = &self.activity {
            activity.finish();
        }
    }
}

/// The CSV columns: those of the JSON lines, plus `raw` for records that are not changes.
const CSV_HEADER: [&str; 9] = [
    "cdc_event_type",
    "cdc_event_id",
    "creation_datetime",
    "keys",
    "new_image",
    "old_image",
    "shard_id",
    "sequence_number",
    "raw",
];

/// One CSV row, after the header row when none was written yet.
fn write_csv_row(csv: &mut csv::Writer<Vec<u8>>, header_written: &mut bool, fields: &[&str]) {
    if !*header_written {
        *header_written = true;
        // A Vec never fails to take bytes; an error would only be a csv bug.
        let _ = csv.write_record(CSV_HEADER);
    }
    let _ = csv.write_record(fields);
}

/// The TIME, EVENT and KEY columns of the terminal view; KEY grows to the longest key seen.
const TIME_WIDTH: usize = 24;
const EVENT_WIDTH: usize = 6;
const MIN_KEY_WIDTH: usize = 21;

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
    csv: csv::Writer<Vec<u8>>,
    header_written: bool,
    /// Terminal columns a line may take; `None` shows every line whole (--wide, a pipe).
    width: Option<usize>,
    key_width: usize,
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
            csv: csv::Writer::from_writer(Vec::new()),
            header_written: false,
            width: if args.wide { None } else { output_width() },
            key_width: MIN_KEY_WIDTH,
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
        self.take_csv()?;
        if let Err(e) = to_stdout(|stdout| stdout.write_all(&self.buffer)) {
            if is_closed_pipe(&e) {
                // `| head`: the reader left, which is a normal way to stop.
                return Ok(true);
            }
            return Err(e);
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
                    crate::say!(
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
        let key_length = console::measure_text_width(&line.key);
        if key_length > self.key_width && key_length <= 40 {
            self.key_width = key_length;
        }
        if !self.header_written {
            self.header_written = true;
            let [time, event, key, changes] = TableLine::HEADERS;
            let header = format!(
                "{time:<TIME_WIDTH$} {event:<EVENT_WIDTH$} {key:<width$} {changes}",
                width = self.key_width
            );
            self.push_line(&header);
        }
        let style = match line.event.as_str() {
            "INSERT" => console::Style::new().green(),
            "MODIFY" => console::Style::new().yellow(),
            "REMOVE" => console::Style::new().red(),
            _ => console::Style::new().magenta(),
        }
        .force_styling(self.color);
        let event = style.apply_to(format!("{:<EVENT_WIDTH$}", line.event));
        let key = console::pad_str(
            &line.key,
            self.key_width,
            console::Alignment::Left,
            Some("…"),
        );
        let text = format!(
            "{:<TIME_WIDTH$} {event} {key} {}",
            line.time,
            line.detail.replace(['\n', '\r'], " ")
        );
        self.push_line(&text);
    }

    /// One line of the terminal view, cut to the width with an ellipsis.
    fn push_line(&mut self, text: &str) {
        let line = match self.width {
            Some(width) => truncate(text, width),
            None => text.into(),
        };
        self.buffer.extend_from_slice(line.as_bytes());
        self.buffer.push(b'\n');
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
        write_csv_row(&mut self.csv, &mut self.header_written, &fields);
    }

    fn write_csv_fields(&mut self, fields: &[&str]) {
        write_csv_row(&mut self.csv, &mut self.header_written, fields);
    }

    /// Moves the CSV rows written so far into the page's buffer.
    fn take_csv(&mut self) -> anyhow::Result<()> {
        let writer = std::mem::replace(&mut self.csv, csv::Writer::from_writer(Vec::new()));
        let rows = writer
            .into_inner()
            .map_err(|e| anyhow::anyhow!("cannot write CSV: {}", e.error()))?;
        self.buffer.extend_from_slice(&rows);
        Ok(())
    }

    fn finish(&mut self, shards: usize) -> anyhow::Result<()> {
        if self.counts.raw > RAW_WARNINGS_SHOWN {
            crate::say!(
                "salesctl: warning: {} records in all were not DynamoDB changes and were shown raw",
                self.counts.raw
            );
        }
        if self.format == OutputFormat::Table || std::io::stderr().is_terminal() {
            crate::say!(
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
        Ok(())
    }
}

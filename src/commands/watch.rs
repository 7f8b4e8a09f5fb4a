//! `salesctl watch`: a live full-screen view of the pipeline for an operator (changes per
//! second per stage, freshness, lag, in-flight, errors, newest rows, and the health `status`
//! judges: pipe state, dead-letter messages, Firehose's and the transform's last 15 minutes),
//! or JSON lines with `-o json`.

use std::collections::{HashSet, VecDeque};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Sparkline};

use crate::aws::ServiceResultExt;
use crate::commands::values;
use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::lake::{Lake, ObjectEntry};
use crate::render::{Cell, OutputFormat, json_object};
use crate::stack::health::{self, Fact, Health, HealthFacts, Targets};
use crate::stage_reads;
use crate::stream::reader::{ReaderEvent, ReaderOptions, ShardReader};
use crate::stream::{StartPosition, StreamSource};
use salesctl_core::rates::{LatencyWindow, RateHistory};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Time between samples, e.g. 2s, 500ms.
    #[arg(long, default_value = "2s", value_parser = values::positive_duration)]
    pub interval: Duration,
    /// Stop after this many samples (default: until q or Ctrl-C).
    #[arg(long, value_name = "N", value_parser = values::positive_count)]
    pub samples: Option<u64>,
}

/// Ticks the sparklines remember.
const HISTORY_TICKS: usize = 120;
/// The freshness percentiles cover this much recent time.
const FRESHNESS_WINDOW: Duration = Duration::from_secs(300);
/// Newest lake rows shown.
const NEWEST_ROWS: usize = 8;
/// How often the health facts are read again: CloudWatch's metrics move once a minute, and
/// each read costs a GetMetricData.
const HEALTH_EVERY: Duration = Duration::from_secs(30);

/// What the followers and the lake poll have counted since the start.
#[derive(Default)]
struct Counters {
    stream: u64,
    kinesis: u64,
    /// Now minus the arrival time of the newest Kinesis record, when last read.
    kinesis_lag_millis: Option<i64>,
    lake_rows: u64,
    error_objects: u64,
}

/// One sample's figures: what the screen shows and what `-o json` prints.
struct Figures {
    at: DateTime<Utc>,
    stream_per_second: f64,
    kinesis_per_second: f64,
    lake_per_second: f64,
    freshness_p50: Option<u64>,
    freshness_p99: Option<u64>,
    kinesis_lag_millis: Option<i64>,
    in_flight: i64,
    error_objects: u64,
    health: HealthSample,
}

/// The last health reading, as `status` judges it.
#[derive(Clone)]
enum HealthSample {
    /// Not read yet.
    Pending,
    /// The stack's resources could not be listed: one line why.
    Unknown(String),
    Read(Box<(HealthFacts, Health)>),
}

impl HealthSample {
    /// The JSON fields: the verdict, then the figures behind it.
    fn fields(&self) -> Vec<(&'static str, Cell)> {
        let (facts, health) = match self {
            HealthSample::Read(read) => (&read.0, &read.1),
            HealthSample::Pending => return vec![("healthy", Cell::Null)],
            HealthSample::Unknown(why) => {
                return vec![
                    ("healthy", Cell::Null),
                    ("health_reason", Cell::text(why.clone())),
                ];
            }
        };
        let state = |name: &str| {
            health
                .checks
                .iter()
                .find(|c| c.name == name)
                .map_or(Cell::Null, |c| Cell::text(c.state.clone()))
        };
        let num = |v: Option<f64>| {
            v.map_or(Cell::Null, |v| {
                Cell::number(
                    format!("{v:.3}")
                        .trim_end_matches('0')
                        .trim_end_matches('.'),
                )
            })
        };
        let (firehose, function) = (
            match &facts.firehose {
                Fact::Read(f) => Some(f),
                _ => None,
            },
            match &facts.function {
                Fact::Read(f) => Some(f),
                _ => None,
            },
        );
        vec![
            ("healthy", Cell::Bool(health.is_healthy())),
            (
                "health_reason",
                health.reason().map_or(Cell::Null, Cell::text),
            ),
            ("pipe_state", state("pipe state")),
            (
                "pipe_state_reason",
                match &facts.pipe {
                    Fact::Read(p) => p.reason.clone().map_or(Cell::Null, Cell::text),
                    _ => Cell::Null,
                },
            ),
            (
                "dead_letter_messages",
                match facts.dlq_messages {
                    Fact::Read(n) => Cell::number(n),
                    _ => Cell::Null,
                },
            ),
            ("firehose_15m", state("firehose last 15 min")),
            (
                "firehose_records_read_15m",
                num(firehose.and_then(|f| f.records_read)),
            ),
            (
                "firehose_records_delivered_15m",
                num(firehose.and_then(|f| f.records_delivered)),
            ),
            (
                "firehose_s3_success",
                num(firehose.and_then(|f| f.s3_success)),
            ),
            (
                "firehose_processing_success",
                num(firehose.and_then(|f| f.processing_success)),
            ),
            (
                "firehose_oldest_record_seconds",
                num(firehose.and_then(|f| f.freshness_seconds)),
            ),
            ("transform_15m", state("transform last 15 min")),
            (
                "transform_invocations_15m",
                num(function.and_then(|f| f.invocations)),
            ),
            ("transform_errors_15m", num(function.and_then(|f| f.errors))),
            (
                "transform_throttles_15m",
                num(function.and_then(|f| f.throttles)),
            ),
        ]
    }

    /// The screen's health items (laid out to its width), and the problem when there is one.
    fn items(&self) -> (Vec<String>, Option<String>) {
        let (facts, health) = match self {
            HealthSample::Read(read) => (&read.0, &read.1),
            HealthSample::Pending => return (vec!["health: reading…".into()], None),
            HealthSample::Unknown(why) => {
                return (vec![format!("health: unknown ({why})")], None);
            }
        };
        let state = |name: &str| {
            health
                .checks
                .iter()
                .find(|c| c.name == name)
                .map_or(String::from("-"), |c| c.state.clone())
        };
        let mut firehose = format!("Firehose 15 min {}", state("firehose last 15 min"));
        if let Fact::Read(f) = &facts.firehose {
            firehose.push_str(&format!(
                " ({:.0} to S3)",
                f.records_delivered.unwrap_or(0.0)
            ));
        }
        let mut transform = format!("transform {}", state("transform last 15 min"));
        if let Fact::Read(f) = &facts.function {
            transform.push_str(&format!(
                " ({:.0} errors, {:.0} throttles)",
                f.errors.unwrap_or(0.0),
                f.throttles.unwrap_or(0.0)
            ));
        }
        let items = vec![
            format!("pipe {}", state("pipe state")),
            format!("dead letters {}", state("dead-letter messages")),
            firehose,
            transform,
        ];
        (items, health.reason().map(|r| format!("NOT HEALTHY: {r}")))
    }
}

impl Figures {
    fn json(&self) -> String {
        let opt = |v: Option<u64>| v.map_or(Cell::Null, Cell::number);
        let fields = [
            (
                "at",
                Cell::text(self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            ),
            (
                "stream_changes_per_second",
                Cell::number(format!("{:.1}", self.stream_per_second)),
            ),
            (
                "kinesis_records_per_second",
                Cell::number(format!("{:.1}", self.kinesis_per_second)),
            ),
            (
                "lake_rows_per_second",
                Cell::number(format!("{:.1}", self.lake_per_second)),
            ),
            ("freshness_p50_millis", opt(self.freshness_p50)),
            ("freshness_p99_millis", opt(self.freshness_p99)),
            (
                "kinesis_read_lag_millis",
                self.kinesis_lag_millis.map_or(Cell::Null, Cell::number),
            ),
            ("in_flight", Cell::number(self.in_flight)),
            ("new_error_objects", Cell::number(self.error_objects)),
        ];
        let health = self.health.fields();
        json_object(
            fields
                .iter()
                .map(|(n, c)| (*n, c))
                .chain(health.iter().map(|(n, c)| (*n, c))),
        )
    }
}

/// Follows `source` from now on, counting records (and, for Kinesis, the read lag).
fn follow<S: StreamSource + 'static>(source: S, counters: Arc<Mutex<Counters>>, kinesis: bool) {
    tokio::spawn(async move {
        let options = ReaderOptions {
            start: StartPosition::Latest,
            follow: true,
            ..ReaderOptions::default()
        };
        let mut reader = ShardReader::new(source, options, None);
        while let Ok(event) = reader.next().await {
            if let ReaderEvent::Records { records, .. } = event {
                let mut c = counters.lock().unwrap_or_else(|p| p.into_inner());
                if kinesis {
                    c.kinesis += records.len() as u64;
                    if let Some(newest) = records.iter().filter_map(|r| r.arrival).max() {
                        c.kinesis_lag_millis = Some((Utc::now() - newest).num_milliseconds());
                    }
                } else {
                    c.stream += records.len() as u64;
                }
            }
        }
    });
}

/// Watch's start as the lake's write times are compared to it: to the second. S3 keeps
/// LastModified in whole seconds, so an object written in watch's first second would read
/// as a moment before a start with its fraction kept, and be skipped.
fn to_the_second(start: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    start.trunc_subsecs(0)
}

/// Whether an object written at `written` (its LastModified) was written since `started`
/// (a start [`to_the_second`]).
fn written_since(written: Option<DateTime<Utc>>, started: DateTime<Utc>) -> bool {
    written.is_some_and(|w| w >= started)
}

/// The lake's new objects since the last poll: rows counted, freshness sampled (the object's
/// write time minus each row's change time), newest rows kept.
struct LakePoll {
    seen: HashSet<String>,
    started: DateTime<Utc>,
    latencies: LatencyWindow,
    newest: VecDeque<NewestRow>,
}

/// A lake row as the screen lists it. Fields in sort order: the change time first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct NewestRow {
    created: String,
    event: String,
    order: String,
    /// The total as the lake wrote it (JSON number text), unformatted.
    total: String,
    currency: String,
    status: String,
}

impl NewestRow {
    fn from_lake(row: &serde_json::Value) -> NewestRow {
        let text = |name: &str| row[name].as_str().unwrap_or("").to_string();
        NewestRow {
            created: text("creation_datetime"),
            event: text("cdc_event_type"),
            order: text("order_id"),
            total: match &row["total"] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            },
            currency: text("currency"),
            status: text("status"),
        }
    }
}

/// An amount with at least two decimals, from its exact text (never through f64): `1612.0`
/// is shown as `1612.00` beside `86.58`.
fn amount(text: &str) -> String {
    let Some((whole, fraction)) = text.split_once('.') else {
        return if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            format!("{text}.00")
        } else {
            text.to_string()
        };
    };
    if fraction.len() < 2 && fraction.bytes().all(|b| b.is_ascii_digit()) {
        format!("{whole}.{fraction:0<2}")
    } else {
        text.to_string()
    }
}

/// A lake row's change time for the screen: `MM-DD HH:MM:SS` (UTC), or its text when it is not
/// RFC 3339.
fn short_time(text: &str) -> String {
    DateTime::parse_from_rfc3339(text).map_or_else(
        |_| text.to_string(),
        |t| {
            let t = t.with_timezone(&Utc);
            let format = if t.timestamp_subsec_millis() == 0 {
                "%m-%d %H:%M:%S"
            } else {
                "%m-%d %H:%M:%S%.3f"
            };
            t.format(format).to_string()
        },
    )
}

/// The newest rows as screen lines, newest first: time, event, order id and the amount
/// (right-aligned, two decimals) first, so a narrow screen clips only the status at the end.
fn newest_lines(rows: &VecDeque<NewestRow>) -> Vec<String> {
    let shown: Vec<(String, String)> = rows
        .iter()
        .rev()
        .map(|r| (short_time(&r.created), amount(&r.total)))
        .collect();
    let width = |f: &dyn Fn(&NewestRow) -> usize| rows.iter().map(f).max().unwrap_or(0);
    let time_width = shown
        .iter()
        .map(|(t, _)| t.chars().count())
        .max()
        .unwrap_or(0);
    let total_width = shown
        .iter()
        .map(|(_, a)| a.chars().count())
        .max()
        .unwrap_or(0);
    let event_width = width(&|r| r.event.chars().count());
    let order_width = width(&|r| r.order.chars().count());
    rows.iter()
        .rev()
        .zip(shown)
        .map(|(r, (time, total))| {
            format!(
                "{time:<time_width$} {:<event_width$} {:<order_width$} {total:>total_width$} {} {}",
                r.event, r.order, r.currency, r.status
            )
            .trim_end()
            .to_string()
        })
        .collect()
}

/// Items laid out in lines of at most `width` columns, joined by ` · `: an item is never
/// split (one wider than the screen is clipped at its end, alone on its line).
fn flow(items: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for item in items {
        match lines.last_mut() {
            Some(line)
                if console::measure_text_width(line) + 3 + console::measure_text_width(item)
                    <= width =>
            {
                line.push_str(" · ");
                line.push_str(item);
            }
            _ => lines.push(item.clone()),
        }
    }
    lines
}

impl LakePoll {
    async fn poll(
        &mut self,
        ctx: &Context,
        bucket: &str,
        counters: &Arc<Mutex<Counters>>,
    ) -> anyhow::Result<()> {
        let aws = ctx.aws().await?;
        let lake = Lake::new(&aws.s3, bucket);
        let mut rows = 0;
        let mut fresh: Vec<(i64, i64)> = Vec::new();
        let mut newest: Vec<NewestRow> = Vec::new();
        // Only the newest partitions: an object written since watch started is dated by its
        // oldest record's arrival, at most one buffer interval before that (see
        // sql::partitions_since), so those hours up to now hold every one of them. (A relay
        // catching up on a backlog dates its objects by the backlog's old arrivals: those
        // rows land in older hours and are left to reconcile, not shown live.)
        let from = self.started - crate::sql::LONGEST_BUFFER;
        // A listing that fails this tick is tried again on the next one.
        if let Ok(listed) = lake.list_between(from, Utc::now()).await {
            for ObjectEntry { key, written, .. } in listed {
                if !written_since(written, self.started) || !self.seen.insert(key.clone()) {
                    continue;
                }
                let body = lake.read(&key).await?;
                let body = crate::lake::parquet::flat_rows(&key, &body)?;
                for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                    rows += 1;
                    let Ok(row) = serde_json::from_slice::<serde_json::Value>(line) else {
                        continue;
                    };
                    let created = row["creation_datetime"]
                        .as_str()
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
                    if let (Some(created), Some(written)) = (created, written) {
                        fresh.push((
                            written.timestamp_millis(),
                            (written - created.with_timezone(&Utc)).num_milliseconds(),
                        ));
                    }
                    newest.push(NewestRow::from_lake(&row));
                }
            }
        }
        let errors = lake
            .errors_written_since(self.started)
            .await
            .ok()
            .map(|found| found.len() as u64);
        for (at, latency) in fresh {
            self.latencies.add(at, latency);
        }
        self.latencies.prune(Utc::now().timestamp_millis());
        newest.sort();
        for row in newest {
            if self.newest.len() == NEWEST_ROWS {
                self.newest.pop_front();
            }
            self.newest.push_back(row);
        }
        let mut c = counters.lock().unwrap_or_else(|p| p.into_inner());
        c.lake_rows += rows;
        if let Some(errors) = errors {
            c.error_objects = errors;
        }
        Ok(())
    }
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let format = ctx.output();
    if format == OutputFormat::Csv {
        return Err(usage_error(
            "watch prints a live screen or JSON lines (-o json); CSV does not fit a stream of samples",
        ));
    }
    if format == OutputFormat::Table && !std::io::stdout().is_terminal() {
        return Err(usage_error(
            "watch -o table draws a live screen and needs a terminal, but stdout is not one: use -o json (one sample per line) for a pipe or a log",
        ));
    }
    let aws = ctx.aws().await?;
    let bucket = aws.bucket(&ctx.settings).await?;
    // The followers below only count what they read, so a stream that is not there must be
    // named now, not shown as zero changes a second.
    aws.kinesis
        .describe_stream_summary()
        .stream_name(&ctx.settings.stream)
        .send()
        .await
        .or_missing(
            || format!("Kinesis stream '{}'", ctx.settings.stream),
            "--stream",
        )?;
    // What the health checks look at, from the stack (watch works without one: then the
    // health fields say why they are unknown).
    let targets = match ctx.stack().await {
        Ok(stack) => Targets::load(
            aws,
            &stack.names,
            stack.emulator,
            ctx.settings.buffer_seconds,
        )
        .await
        .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let mut health_sample = HealthSample::Pending;
    let mut health_read: Option<std::time::Instant> = None;
    let counters = Arc::new(Mutex::new(Counters::default()));
    follow(
        stage_reads::table_stream(aws, &ctx.settings).await?,
        counters.clone(),
        false,
    );
    follow(
        stage_reads::kinesis_stream(aws, &ctx.settings),
        counters.clone(),
        true,
    );
    let mut lake = LakePoll {
        seen: HashSet::new(),
        started: to_the_second(Utc::now()),
        latencies: LatencyWindow::new(FRESHNESS_WINDOW.as_millis() as i64, 100_000),
        newest: VecDeque::new(),
    };
    let mut histories = [
        RateHistory::new(HISTORY_TICKS),
        RateHistory::new(HISTORY_TICKS),
        RateHistory::new(HISTORY_TICKS),
    ];
    let mut last = [0u64; 3];
    let tick = args.interval.as_secs_f64();
    let mut interval = tokio::time::interval(args.interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut screen = (format == OutputFormat::Table)
        .then(Screen::open)
        .transpose()?;
    let mut taken = 0u64;
    let status = loop {
        tokio::select! {
            _ = interval.tick() => {}
            () = ctx.shutdown_requested() => break ExitStatus::SUCCESS,
            quit = async {
                match screen.as_mut() {
                    Some(s) => s.quit_pressed().await,
                    None => std::future::pending().await,
                }
            } => if quit { break ExitStatus::SUCCESS } else { continue },
        }
        lake.poll(ctx, &bucket, &counters).await?;
        if health_read.is_none_or(|at| at.elapsed() >= HEALTH_EVERY) {
            health_sample = match &targets {
                Ok(targets) => {
                    let facts = health::gather(aws, targets, Utc::now()).await;
                    let judged = health::judge(&facts);
                    HealthSample::Read(Box::new((facts, judged)))
                }
                Err(why) => HealthSample::Unknown(why.clone()),
            };
            health_read = Some(std::time::Instant::now());
        }
        let (now_counts, lag, errors) = {
            let c = counters.lock().unwrap_or_else(|p| p.into_inner());
            (
                [c.stream, c.kinesis, c.lake_rows],
                c.kinesis_lag_millis,
                c.error_objects,
            )
        };
        for i in 0..3 {
            histories[i].push(now_counts[i] - last[i]);
        }
        let figures = Figures {
            at: Utc::now(),
            stream_per_second: histories[0].latest_per_second(tick),
            kinesis_per_second: histories[1].latest_per_second(tick),
            lake_per_second: histories[2].latest_per_second(tick),
            freshness_p50: lake.latencies.percentile(50.0),
            freshness_p99: lake.latencies.percentile(99.0),
            kinesis_lag_millis: lag,
            in_flight: now_counts[1] as i64 - now_counts[2] as i64,
            error_objects: errors,
            health: health_sample.clone(),
        };
        last = now_counts;
        match screen.as_mut() {
            Some(s) => s.draw(&ctx.settings.table, &figures, &histories, &lake.newest)?,
            None => ctx.out().text(&figures.json())?,
        }
        taken += 1;
        if args.samples.is_some_and(|n| taken >= n) {
            break ExitStatus::SUCCESS;
        }
    };
    if let Some(s) = screen {
        s.close();
    }
    Ok(status)
}

/// A duration in milliseconds as the screen shows it: seconds with one decimal under a
/// minute, then whole minutes and seconds (`26m 52s`), then hours and minutes.
fn seconds(millis: Option<i64>) -> String {
    let Some(millis) = millis else {
        return "-".to_string();
    };
    let sign = if millis < 0 { "-" } else { "" };
    let millis = millis.unsigned_abs();
    let whole = millis / 1000;
    if whole < 60 {
        format!("{sign}{:.1}s", millis as f64 / 1000.0)
    } else if whole < 3600 {
        format!("{sign}{}m {:02}s", whole / 60, whole % 60)
    } else {
        format!("{sign}{}h {:02}m", whole / 3600, whole % 3600 / 60)
    }
}

/// The lines above the sparklines at `width` columns: the title, the figures and the
/// health, each figure whole with its label (laid out in as many lines as the width needs),
/// then the problem, wrapped at spaces.
fn header_lines(table: &str, f: &Figures, width: usize) -> Vec<String> {
    let ms = |v: Option<u64>| seconds(v.map(|v| i64::try_from(v).unwrap_or(i64::MAX)));
    let mut lines = flow(
        &[
            "salesctl watch".to_string(),
            table.to_string(),
            f.at.format("%H:%M:%S").to_string(),
            "q quits".to_string(),
        ],
        width,
    );
    lines.extend(flow(
        &[
            format!(
                "freshness change → lake row (5 min): p50 {}  p99 {}",
                ms(f.freshness_p50),
                ms(f.freshness_p99)
            ),
            format!("Kinesis read lag {}", seconds(f.kinesis_lag_millis)),
            format!("in flight Kinesis → lake {}", f.in_flight),
            format!("new objects under errors/ {}", f.error_objects),
        ],
        width,
    ));
    let (health, problem) = f.health.items();
    lines.extend(flow(&health, width));
    if let Some(problem) = problem {
        let options = textwrap::Options::new(width)
            .break_words(false)
            .word_splitter(textwrap::WordSplitter::NoHyphenation);
        lines.extend(
            textwrap::wrap(&problem, options)
                .into_iter()
                .map(|l| l.into_owned()),
        );
    }
    lines
}

/// The full-screen view: the alternate screen in raw mode, restored on every way out.
struct Screen {
    terminal: ratatui::DefaultTerminal,
    keys: tokio::sync::mpsc::UnboundedReceiver<bool>,
}

impl Screen {
    fn open() -> anyhow::Result<Screen> {
        let terminal = ratatui::try_init()?;
        let (tx, keys) = tokio::sync::mpsc::unbounded_channel();
        // Keys are read on their own thread: reading blocks, and the sampling must not.
        std::thread::spawn(move || {
            loop {
                let Ok(Event::Key(key)) = event::read() else {
                    continue;
                };
                if key.kind != KeyEventKind::Press {
                    continue;
                }
                let quit = matches!(key.code, KeyCode::Char('q') | KeyCode::Esc)
                    || (key.code == KeyCode::Char('c')
                        && key.modifiers.contains(KeyModifiers::CONTROL));
                if tx.send(quit).is_err() || quit {
                    return;
                }
            }
        });
        Ok(Screen { terminal, keys })
    }

    async fn quit_pressed(&mut self) -> bool {
        self.keys.recv().await.unwrap_or(true)
    }

    fn draw(
        &mut self,
        table: &str,
        f: &Figures,
        histories: &[RateHistory; 3],
        newest: &VecDeque<NewestRow>,
    ) -> anyhow::Result<()> {
        let width = usize::from(self.terminal.size()?.width).max(20);
        let lines: Vec<Line> = header_lines(table, f, width)
            .into_iter()
            .map(Line::from)
            .collect();
        let counts: Vec<Vec<u64>> = histories.iter().map(RateHistory::counts).collect();
        let titles = [
            format!("table stream: {:.1} changes/s", f.stream_per_second),
            format!("Kinesis: {:.1} records/s", f.kinesis_per_second),
            format!("lake: {:.1} rows/s", f.lake_per_second),
        ];
        let newest_lines: Vec<Line> = newest_lines(newest).into_iter().map(Line::from).collect();
        let header_height = u16::try_from(lines.len()).unwrap_or(u16::MAX);
        self.terminal.draw(|frame| {
            let areas = Layout::vertical([
                Constraint::Length(header_height),
                Constraint::Length(4),
                Constraint::Length(4),
                Constraint::Length(4),
                Constraint::Min(3),
            ])
            .split(frame.area());
            frame.render_widget(Paragraph::new(lines), areas[0]);
            for i in 0..3 {
                let spark = Sparkline::default()
                    .block(Block::bordered().title(titles[i].clone()))
                    .data(&counts[i]);
                frame.render_widget(spark, areas[i + 1]);
            }
            frame.render_widget(
                Paragraph::new(newest_lines).block(Block::bordered().title("newest lake rows")),
                areas[4],
            );
        })?;
        Ok(())
    }

    fn close(self) {
        drop(self.terminal);
        ratatui::restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(total: serde_json::Value, status: &str) -> NewestRow {
        NewestRow::from_lake(&serde_json::json!({
            "creation_datetime": "2026-12-05T04:31:07Z",
            "cdc_event_type": "INSERT",
            "order_id": "o-mxa1zgx2nl-00000026",
            "total": total,
            "currency": "USD",
            "status": status,
        }))
    }

    #[test]
    fn amounts_show_two_decimals_from_their_exact_text() {
        assert_eq!(amount("1612.0"), "1612.00");
        assert_eq!(amount("86.58"), "86.58");
        assert_eq!(amount("12"), "12.00");
        assert_eq!(amount("0.125"), "0.125");
        assert_eq!(amount(""), "");
        let rows = VecDeque::from([
            row(serde_json::json!(1612.0), "CANCELLED"),
            row(serde_json::json!(86.58), "PAID"),
        ]);
        let lines = newest_lines(&rows);
        assert_eq!(
            lines[0],
            "12-05 04:31:07 INSERT o-mxa1zgx2nl-00000026   86.58 USD PAID"
        );
        assert_eq!(
            lines[1],
            "12-05 04:31:07 INSERT o-mxa1zgx2nl-00000026 1612.00 USD CANCELLED"
        );
    }

    #[test]
    fn the_figures_fit_80_columns_each_whole_with_its_label() {
        let figures = Figures {
            at: DateTime::UNIX_EPOCH,
            stream_per_second: 12.5,
            kinesis_per_second: 12.5,
            lake_per_second: 3.0,
            freshness_p50: Some(61_250),
            freshness_p99: Some(1_612_000),
            kinesis_lag_millis: Some(86_580),
            in_flight: 1234,
            error_objects: 0,
            health: HealthSample::Unknown("no stack 'salesctl': run salesctl up".into()),
        };
        let lines = header_lines("salesctl-orders", &figures, 80);
        assert!(
            lines.iter().all(|l| console::measure_text_width(l) <= 80),
            "{lines:#?}"
        );
        let text = lines.join("\n");
        for whole in [
            "p50 1m 01s",
            "p99 26m 52s",
            "Kinesis read lag 1m 26s",
            "in flight Kinesis → lake 1234",
            "new objects under errors/ 0",
        ] {
            assert!(lines.iter().any(|l| l.contains(whole)), "{whole}:\n{text}");
        }
        assert_eq!(seconds(Some(8_650)), "8.7s");
        assert_eq!(seconds(Some(3_725_000)), "1h 02m");
        assert_eq!(seconds(None), "-");
        assert_eq!(
            flow(&["a".repeat(50), "b".repeat(26), "c".repeat(10)], 80),
            [
                format!("{} · {}", "a".repeat(50), "b".repeat(26)),
                "c".repeat(10)
            ]
        );
    }

    #[test]
    fn an_object_written_in_the_first_second_counts_though_s3_keeps_whole_seconds() {
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().to_utc();
        let started = to_the_second(at("2026-12-05T13:14:26.400Z"));
        assert!(written_since(Some(at("2026-12-05T13:14:26Z")), started));
        assert!(written_since(Some(at("2026-12-05T13:14:27Z")), started));
        assert!(!written_since(Some(at("2026-12-05T13:14:25Z")), started));
        assert!(!written_since(None, started));
    }
}

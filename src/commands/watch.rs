//! `salesctl watch`: a live full-screen view of the pipeline for an operator (changes per
//! second per stage, freshness, lag, in-flight, errors, newest rows, and the health `status`
//! judges: pipe state, dead-letter messages, Firehose's and the transform's last 15 minutes),
//! or JSON lines with `-o json`.

use std::collections::{HashSet, VecDeque};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Sparkline};

use crate::audit;
use crate::aws::ServiceResultExt;
use crate::commands::values;
use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::lake::{ERROR_ROOT, Lake, ObjectEntry};
use crate::render::{Cell, OutputFormat, json_object};
use crate::stack::health::{self, Fact, Health, HealthFacts, Targets};
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

    /// One line for the screen, and the problem line when there is one.
    fn lines(&self) -> (String, Option<String>) {
        let (facts, health) = match self {
            HealthSample::Read(read) => (&read.0, &read.1),
            HealthSample::Pending => return ("health: reading…".into(), None),
            HealthSample::Unknown(why) => return (format!("health: unknown ({why})"), None),
        };
        let state = |name: &str| {
            health
                .checks
                .iter()
                .find(|c| c.name == name)
                .map_or(String::from("-"), |c| c.state.clone())
        };
        let mut line = format!(
            "pipe {} · dead letters {} · Firehose 15 min {}",
            state("pipe state"),
            state("dead-letter messages"),
            state("firehose last 15 min")
        );
        if let Fact::Read(f) = &facts.firehose {
            line.push_str(&format!(
                " ({:.0} to S3)",
                f.records_delivered.unwrap_or(0.0)
            ));
        }
        line.push_str(&format!(" · transform {}", state("transform last 15 min")));
        if let Fact::Read(f) = &facts.function {
            line.push_str(&format!(
                " ({:.0} errors, {:.0} throttles)",
                f.errors.unwrap_or(0.0),
                f.throttles.unwrap_or(0.0)
            ));
        }
        (line, health.reason().map(|r| format!("NOT HEALTHY: {r}")))
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

/// The lake's new objects since the last poll: rows counted, freshness sampled (the object's
/// write time minus each row's change time), newest rows kept.
struct LakePoll {
    seen: HashSet<String>,
    started: DateTime<Utc>,
    latencies: LatencyWindow,
    newest: VecDeque<String>,
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
        let today = Utc::now().date_naive();
        let mut rows = 0;
        let mut fresh: Vec<(i64, i64)> = Vec::new();
        let mut newest: Vec<String> = Vec::new();
        // Every hour of yesterday and today (two day prefixes), so rows written just after
        // midnight for changes made just before it are seen too.
        let from = today.pred_opt().unwrap_or(today).and_time(NaiveTime::MIN);
        let to = today.and_time(NaiveTime::MIN) + chrono::Duration::hours(23);
        // A listing that fails this tick is tried again on the next one.
        if let Ok(listed) = lake.list_between(from.and_utc(), to.and_utc()).await {
            for ObjectEntry { key, written, .. } in listed {
                if written.is_none_or(|w| w < self.started) || !self.seen.insert(key.clone()) {
                    continue;
                }
                let body = lake.read(&key).await?;
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
                    newest.push(format!(
                        "{} {:<6} {} {} {} {}",
                        row["creation_datetime"].as_str().unwrap_or(""),
                        row["cdc_event_type"].as_str().unwrap_or(""),
                        row["order_id"].as_str().unwrap_or(""),
                        row["status"].as_str().unwrap_or(""),
                        row["total"],
                        row["currency"].as_str().unwrap_or(""),
                    ));
                }
            }
        }
        let errors = error_objects_since(&lake, self.started).await;
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

/// Objects under errors/ written since `since`.
async fn error_objects_since(lake: &Lake, since: DateTime<Utc>) -> Option<u64> {
    let listed = lake.list(ERROR_ROOT).await.ok()?;
    Some(
        listed
            .iter()
            .filter(|o| o.written.is_some_and(|w| w >= since))
            .count() as u64,
    )
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
        audit::table_stream(aws, &ctx.settings).await?,
        counters.clone(),
        false,
    );
    follow(
        audit::kinesis_stream(aws, &ctx.settings),
        counters.clone(),
        true,
    );
    let mut lake = LakePoll {
        seen: HashSet::new(),
        started: Utc::now(),
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
        newest: &VecDeque<String>,
    ) -> anyhow::Result<()> {
        let ms =
            |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{:.1}s", v as f64 / 1000.0));
        let (health, problem) = f.health.lines();
        let mut lines = vec![
            Line::from(format!(
                "salesctl watch · {table} · {} · q quits",
                f.at.format("%H:%M:%S")
            )),
            Line::from(format!(
                "freshness change → lake row: p50 {}  p99 {} (last 5 min)   Kinesis read lag {}",
                ms(f.freshness_p50),
                ms(f.freshness_p99),
                f.kinesis_lag_millis
                    .map_or("-".to_string(), |v| format!("{:.1}s", v as f64 / 1000.0)),
            )),
            Line::from(format!(
                "in flight Kinesis → lake {}   new objects under errors/ {}",
                f.in_flight, f.error_objects
            )),
            Line::from(health),
        ];
        if let Some(problem) = problem {
            lines.push(Line::from(problem));
        }
        let counts: Vec<Vec<u64>> = histories.iter().map(RateHistory::counts).collect();
        let titles = [
            format!("table stream: {:.1} changes/s", f.stream_per_second),
            format!("Kinesis: {:.1} records/s", f.kinesis_per_second),
            format!("lake: {:.1} rows/s", f.lake_per_second),
        ];
        let newest_lines: Vec<Line> = newest.iter().rev().map(|r| Line::from(r.clone())).collect();
        self.terminal.draw(|frame| {
            let areas = Layout::vertical([
                Constraint::Length(5),
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

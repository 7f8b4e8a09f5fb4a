//! `salesctl generate`: write realistic orders into DynamoDB and move some along or delete
//! them, paced without drift or as fast as the table takes, with an exact summary.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::builder::TypedValueParser as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinSet;

use crate::commands::values;
use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::output::RowStream;
use crate::render::{Cell, OutputFormat, Table, json_object};
use crate::table_writer::{BatchReport, MAX_BATCH, TableWriter};
use salesctl_core::backfill::{self, ArrivalPlanner, Backfill, DemandProfile};
use salesctl_core::order::{
    AttrValue, GeneratorConfig, OpKind, OrderGenerator, PlannedOp, Schema, new_run_tag,
};
use salesctl_core::pacing::Pacer;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Time between new orders, e.g. 3s, 250ms; 0s writes as fast as the table takes.
    #[arg(long, value_parser = values::duration, default_value = "3s", conflicts_with = "rate", allow_negative_numbers = true)]
    pub interval: Duration,
    /// New orders per second (instead of --interval).
    #[arg(long, value_parser = values::rate, allow_negative_numbers = true)]
    pub rate: Option<f64>,
    /// Stop after this many new orders (default: run until Ctrl-C).
    #[arg(long, short = 'n', value_parser = values::positive_count, allow_negative_numbers = true)]
    pub count: Option<u64>,
    /// Seed for a reproducible sequence of orders and operations.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Share of operations that move an existing order along (a MODIFY).
    #[arg(long, value_parser = values::ratio, default_value = "0.2", allow_negative_numbers = true)]
    pub update_ratio: f64,
    /// Share of operations that delete an existing order (a REMOVE).
    #[arg(long, value_parser = values::ratio, default_value = "0.05", allow_negative_numbers = true)]
    pub delete_ratio: f64,
    /// Item layout: the full order, or the tutorial's orderid/product_name/quantity/price.
    #[arg(
        long,
        default_value = "orders",
        value_parser = clap::builder::PossibleValuesParser::new(["orders", "tutorial"]).map(schema_named)
    )]
    pub schema: Schema,
    /// Batches in flight at once when unpaced.
    #[arg(long, default_value = "8", value_parser = values::bounded_u32(1, 64), allow_negative_numbers = true)]
    pub concurrency: u32,
    /// Write history instead of live orders: orders dated over this window up to now (e.g.
    /// 90d, 12w), as fast as the table takes, with trend, weekly and daily seasonality,
    /// promotion days and noise, so `report` has a series to forecast from.
    #[arg(long, value_name = "WINDOW", value_parser = backfill::parse_backfill,
          conflicts_with_all = ["interval", "rate", "count"])]
    pub backfill: Option<chrono::TimeDelta>,
    /// Backfill: new orders on an average day at the end of the window (e.g. 2000, 10k).
    #[arg(long, value_name = "N", default_value = "2000", value_parser = backfill::parse_orders_per_day,
          requires = "backfill", allow_negative_numbers = true)]
    pub orders_per_day: f64,
    /// Backfill: growth of daily orders, e.g. +2%/week, -1%/week, 0.5%/day.
    #[arg(long, value_name = "RATE", default_value = "+2%/week", value_parser = backfill::parse_trend,
          requires = "backfill", allow_negative_numbers = true)]
    pub trend: f64,
    /// Backfill: day-to-day noise as a share, e.g. 0.1 or 10%.
    #[arg(long, value_name = "SHARE", default_value = "0.1", value_parser = backfill::parse_noise,
          requires = "backfill")]
    pub noise: f64,
}

/// The core's `Schema` by its flag name (the core knows nothing of clap).
fn schema_named(name: String) -> Schema {
    match name.as_str() {
        "tutorial" => Schema::Tutorial,
        _ => Schema::Orders,
    }
}

/// Counts for the final summary. Only acknowledged writes are counted, so on the stream
/// INSERT events = inserted, and the table holds inserted - deleted of this run's orders.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    pub retried: u64,
    pub failed: u64,
}

impl Summary {
    fn record(&mut self, op: &PlannedOp) {
        match op.kind {
            OpKind::Insert => self.inserted += 1,
            OpKind::Update => self.updated += 1,
            OpKind::Delete => self.deleted += 1,
        }
    }
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    if args.update_ratio + args.delete_ratio >= 1.0 {
        return Err(usage_error(format!(
            "--update-ratio {} plus --delete-ratio {} must be below 1 to leave room for new orders",
            args.update_ratio, args.delete_ratio
        )));
    }
    let aws = ctx.aws().await?;
    let writer = TableWriter::open(aws.dynamodb.clone(), &ctx.settings.table, args.schema).await?;
    if !writer.has_stream() {
        // Said before the first write: the orders still go in, but none reaches the pipeline.
        crate::say!(
            "salesctl: warning: table '{}' has no stream, so these changes reach no pipe, Kinesis or lake: enable one with '{}' first",
            ctx.settings.table,
            writer.enable_stream_command()
        );
    }
    let generator = OrderGenerator::new(GeneratorConfig {
        seed: args.seed,
        update_ratio: args.update_ratio,
        delete_ratio: args.delete_ratio,
        run_tag: new_run_tag(),
    })
    .for_schema(args.schema);
    let (plan, pacer, expected) = match args.backfill {
        None => {
            let pacer = match args.rate {
                Some(rate) => Pacer::per_second(rate),
                None => Pacer::new(args.interval),
            };
            (Plan::Live(generator), pacer, args.count)
        }
        Some(window) => {
            let profile = DemandProfile {
                orders_per_day: args.orders_per_day,
                weekly_growth: args.trend,
                noise_sd: args.noise,
                ..DemandProfile::default()
            };
            let end = Utc::now();
            let seed = args.seed.unwrap_or_else(rand::random);
            let planner =
                ArrivalPlanner::new(&profile, end - window, end, seed).map_err(usage_error)?;
            let backfill = Backfill::new(planner, generator);
            let expected = backfill.expected_total().round() as u64;
            (
                Plan::Backfill(backfill),
                Pacer::new(Duration::ZERO),
                Some(expected),
            )
        }
    };
    let output = ctx.output();
    let progress = Progress::new(expected);
    let started = Instant::now();
    let (summary, interrupted, first_error) =
        drive(ctx, &args, writer, plan, pacer, output, &progress).await;
    progress.finish();
    print_summary(ctx, output, &summary, started.elapsed())?;
    if let Some(error) = first_error {
        return Err(error.context(format!("{} writes failed", summary.failed)));
    }
    Ok(if interrupted {
        ExitStatus::INTERRUPTED
    } else {
        ExitStatus::SUCCESS
    })
}

type BatchResult = (Vec<PlannedOp>, anyhow::Result<BatchReport>);

/// Where new orders come from: live ones dated now, or a backfill's history dated at its
/// arrival times (which ends when the window is written).
// One Plan per run, moved once: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Plan {
    Live(OrderGenerator),
    Backfill(Backfill),
}

impl Plan {
    fn next(&mut self, now: chrono::DateTime<Utc>) -> Option<Vec<PlannedOp>> {
        match self {
            Plan::Live(generator) => Some(generator.plan_new_order(now)),
            Plan::Backfill(backfill) => backfill.next_ops(),
        }
    }

    fn acknowledge(&mut self, op: PlannedOp) {
        match self {
            Plan::Live(generator) => generator.acknowledge(op),
            Plan::Backfill(backfill) => backfill.acknowledge(op),
        }
    }

    fn forget(&mut self, op: PlannedOp) {
        match self {
            Plan::Live(generator) => generator.forget(op),
            Plan::Backfill(backfill) => backfill.forget(op),
        }
    }
}

/// The write loop: plan what is due, send batches (several in flight when unpaced), and
/// acknowledge completed ones back to the generator. Returns the summary, whether Ctrl-C
/// stopped it, and the first write error.
async fn drive(
    ctx: &Context,
    args: &Args,
    writer: TableWriter,
    mut generator: Plan,
    mut pacer: Pacer,
    output: OutputFormat,
    progress: &Progress,
) -> (Summary, bool, Option<anyhow::Error>) {
    let started = Instant::now();
    let limit = args.count.unwrap_or(u64::MAX);
    let max_in_flight = if pacer.is_unpaced() {
        args.concurrency as usize
    } else {
        4
    };
    let mut summary = Summary::default();
    let mut first_error = None;
    let mut pending: Vec<PlannedOp> = Vec::new();
    let mut in_flight: JoinSet<BatchResult> = JoinSet::new();
    let mut interrupted = false;
    let mut lines = WrittenLines::new(output, args.schema);
    let mut exhausted = false;
    loop {
        if !interrupted && first_error.is_none() {
            // Unpaced, plan just enough to keep every in-flight slot fed.
            let room = if pacer.is_unpaced() {
                ((max_in_flight - in_flight.len()) * MAX_BATCH).saturating_sub(pending.len()) as u64
            } else {
                u64::MAX
            };
            let wanted = (limit - pacer.issued()).min(room);
            let due = pacer.take_due(started.elapsed(), wanted);
            for _ in 0..due {
                match generator.next(Utc::now()) {
                    Some(ops) => pending.extend(ops),
                    None => {
                        exhausted = true;
                        break;
                    }
                }
            }
            while in_flight.len() < max_in_flight && !pending.is_empty() {
                let batch = take_batch(&mut pending);
                let writer = writer.clone();
                in_flight.spawn(async move {
                    let result = writer.write(&batch).await;
                    (batch, result)
                });
            }
        }
        let all_planned =
            exhausted || pacer.issued() >= limit || interrupted || first_error.is_some();
        if all_planned
            && in_flight.is_empty()
            && (pending.is_empty() || interrupted || first_error.is_some())
        {
            break;
        }
        let next_due = started + pacer.next_due();
        tokio::select! {
            Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => {
                let (batch, result) = match joined {
                    Ok(done) => done,
                    Err(e) => {
                        first_error.get_or_insert_with(|| anyhow::anyhow!("a write task failed: {e}"));
                        continue;
                    }
                };
                match result {
                    Ok(report) => {
                        summary.retried += report.retried;
                        for op in batch {
                            summary.record(&op);
                            // A closed stdout (`| head`) stops the printing, never the
                            // writing: what is written to the table is still counted.
                            lines.write(&op);
                            generator.acknowledge(op);
                        }
                        lines.flush();
                    }
                    Err(e) => {
                        summary.failed += batch.len() as u64;
                        batch.into_iter().for_each(|op| generator.forget(op));
                        first_error.get_or_insert(e);
                    }
                }
                progress.update(&summary, started.elapsed());
            }
            _ = tokio::time::sleep_until(next_due.into()), if !all_planned && !pacer.is_unpaced() => {}
            _ = ctx.shutdown_requested(), if !interrupted => {
                // Let in-flight batches finish; drop what was only planned.
                interrupted = true;
                pending.clear();
            }
        }
    }
    (summary, interrupted, first_error)
}

/// Takes up to one batch's worth of operations, oldest first.
fn take_batch(pending: &mut Vec<PlannedOp>) -> Vec<PlannedOp> {
    let n = pending.len().min(MAX_BATCH);
    pending.drain(..n).collect()
}

/// One line per acknowledged write on stdout: a JSON object (`operation` then the order's
/// attributes) or a CSV row under a header; nothing in table mode, where the summary is the
/// output.
struct WrittenLines {
    schema: Schema,
    rows: RowStream,
}

impl WrittenLines {
    fn new(output: OutputFormat, schema: Schema) -> WrittenLines {
        WrittenLines {
            schema,
            rows: RowStream::new(output),
        }
    }

    fn write(&mut self, op: &PlannedOp) {
        let operation = match op.kind {
            OpKind::Insert => "insert",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
        };
        let attributes = op.order.attributes(self.schema);
        let names: Vec<&str> = std::iter::once("operation")
            .chain(attributes.iter().map(|(name, _)| *name))
            .collect();
        let cells: Vec<Cell> = std::iter::once(Cell::text(operation))
            .chain(attributes.into_iter().map(|(_, value)| match value {
                AttrValue::S(text) => Cell::Text(text),
                AttrValue::N(number) => Cell::Number(number),
            }))
            .collect();
        self.rows.row(&names, &cells);
    }

    fn flush(&mut self) {
        self.rows.flush();
    }
}

fn print_summary(
    ctx: &Context,
    output: OutputFormat,
    s: &Summary,
    elapsed: Duration,
) -> anyhow::Result<()> {
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        s.inserted as f64 / seconds
    } else {
        0.0
    };
    let fields = [
        ("inserted", Cell::number(s.inserted)),
        ("updated", Cell::number(s.updated)),
        ("deleted", Cell::number(s.deleted)),
        ("retried", Cell::number(s.retried)),
        ("failed", Cell::number(s.failed)),
        ("elapsed_seconds", Cell::number(format!("{seconds:.3}"))),
        ("orders_per_second", Cell::number(format!("{rate:.1}"))),
    ];
    match output {
        OutputFormat::Table => {
            let mut row = Table::new(fields.iter().map(|(name, _)| *name));
            row.push(fields.into_iter().map(|(_, value)| value).collect());
            ctx.out().record("summary", &row)?;
        }
        // Stdout carries one line per written order; the summary goes beside it, in the
        // same form.
        OutputFormat::Json => crate::say!("{}", json_object(fields.iter().map(|(n, v)| (*n, v)))),
        OutputFormat::Csv => {
            let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
            let values: Vec<String> = fields.iter().map(|(_, v)| v.display()).collect();
            crate::say!("{}\n{}", names.join(","), values.join(","));
        }
    }
    Ok(())
}

/// A progress line on a terminal, a plain status line every few seconds otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    last_plain: std::cell::Cell<Instant>,
}

impl Progress {
    fn new(count: Option<u64>) -> Progress {
        let on_terminal = std::io::stderr().is_terminal();
        // On stderr, so it never mixes with the lines a pipe reads from stdout.
        let bar = on_terminal.then(|| {
            let bar = match count {
                Some(n) => ProgressBar::new(n),
                None => ProgressBar::new_spinner(),
            };
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(8));
            // `wide_msg` is cut to what is left of the line, so at 80 columns the bar stays
            // on one line instead of wrapping.
            let template = if count.is_some() {
                "{spinner} {elapsed_precise} {bar:24} {pos}/{len} {wide_msg}"
            } else {
                "{spinner} {elapsed_precise} {wide_msg}"
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            bar,
            last_plain: std::cell::Cell::new(Instant::now()),
        }
    }

    fn update(&self, s: &Summary, elapsed: Duration) {
        let rate = s.inserted as f64 / elapsed.as_secs_f64().max(1e-9);
        let message = format!(
            "{rate:.1}/s · ins {} upd {} del {} retry {} fail {}",
            s.inserted, s.updated, s.deleted, s.retried, s.failed
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(s.inserted);
                bar.set_message(message);
            }
            None if !std::io::stderr().is_terminal()
                && self.last_plain.get().elapsed() >= Duration::from_secs(5) =>
            {
                self.last_plain.set(Instant::now());
                crate::say!("salesctl generate: {message}");
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

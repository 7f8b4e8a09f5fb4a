//! `salesctl generate`: write realistic orders into DynamoDB and move some along or delete
//! them, paced without drift or as fast as the table takes, with an exact summary.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::builder::TypedValueParser as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinSet;

use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::render::{Cell, OutputFormat, Table, json_object};
use crate::table_writer::{BatchReport, MAX_BATCH, TableWriter};
use salesctl_core::order::{
    GeneratorConfig, OpKind, OrderGenerator, PlannedOp, Schema, new_run_tag,
};
use salesctl_core::pacing::Pacer;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Time between new orders, e.g. 3s, 250ms; 0s writes as fast as the table takes.
    #[arg(long, value_parser = parse_duration, default_value = "3s", conflicts_with = "rate")]
    pub interval: Duration,
    /// New orders per second (instead of --interval).
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Stop after this many new orders (default: run until Ctrl-C).
    #[arg(long, short = 'n')]
    pub count: Option<u64>,
    /// Seed for a reproducible sequence of orders and operations.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Share of operations that move an existing order along (a MODIFY).
    #[arg(long, value_parser = parse_ratio, default_value = "0.2")]
    pub update_ratio: f64,
    /// Share of operations that delete an existing order (a REMOVE).
    #[arg(long, value_parser = parse_ratio, default_value = "0.05")]
    pub delete_ratio: f64,
    /// Item layout: the full order, or the tutorial's orderid/product_name/quantity/price.
    #[arg(
        long,
        default_value = "orders",
        value_parser = clap::builder::PossibleValuesParser::new(["orders", "tutorial"]).map(schema_named)
    )]
    pub schema: Schema,
    /// Batches in flight at once when unpaced.
    #[arg(long, default_value = "8", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
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
    let generator = OrderGenerator::new(GeneratorConfig {
        seed: args.seed,
        update_ratio: args.update_ratio,
        delete_ratio: args.delete_ratio,
        run_tag: new_run_tag(),
    });
    let pacer = match args.rate {
        Some(rate) => Pacer::per_second(rate),
        None => Pacer::new(args.interval),
    };
    let output = ctx.output();
    let progress = Progress::new(output, args.count);
    let started = Instant::now();
    let (summary, interrupted, first_error) =
        drive(ctx, &args, writer, generator, pacer, output, &progress).await;
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

/// The write loop: plan what is due, send batches (several in flight when unpaced), and
/// acknowledge completed ones back to the generator. Returns the summary, whether Ctrl-C
/// stopped it, and the first write error.
async fn drive(
    ctx: &Context,
    args: &Args,
    writer: TableWriter,
    mut generator: OrderGenerator,
    mut pacer: Pacer,
    output: OutputFormat,
    progress: &Progress,
) -> (Summary, bool, Option<anyhow::Error>) {
    let started = Instant::now();
    let limit = args.count.unwrap_or(u64::MAX);
    let max_in_flight = if pacer.is_unpaced() {
        usize::from(args.concurrency)
    } else {
        4
    };
    let mut summary = Summary::default();
    let mut first_error = None;
    let mut pending: Vec<PlannedOp> = Vec::new();
    let mut in_flight: JoinSet<BatchResult> = JoinSet::new();
    let mut interrupted = false;
    let stdout = std::io::stdout();
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
                pending.extend(generator.plan_new_order(Utc::now()));
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
        let all_planned = pacer.issued() >= limit || interrupted || first_error.is_some();
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
                        let mut out = stdout.lock();
                        for op in batch {
                            summary.record(&op);
                            if output != OutputFormat::Table {
                                let _ = writeln!(out, "{}", written_line(&op, args.schema));
                            }
                            generator.acknowledge(op);
                        }
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

fn written_line(op: &PlannedOp, schema: Schema) -> String {
    let operation = match op.kind {
        OpKind::Insert => "insert",
        OpKind::Update => "update",
        OpKind::Delete => "delete",
    };
    let order = op.order.to_json(schema);
    // {"operation":"insert", <the order's attributes>}
    format!("{{\"operation\":\"{operation}\",{}", &order[1..])
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
    if output == OutputFormat::Table {
        let mut table = Table::new(["summary", "value"]);
        for (name, value) in fields {
            table.push(vec![Cell::text(name), value]);
        }
        table.write(&mut std::io::stdout().lock(), output, ctx.color)?;
    } else {
        // Stdout carries one line per written order; the summary goes beside it.
        eprintln!("{}", json_object(fields.iter().map(|(n, v)| (*n, v))));
    }
    Ok(())
}

/// A progress line on a terminal, a plain status line every few seconds otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    last_plain: std::cell::Cell<Instant>,
}

impl Progress {
    fn new(output: OutputFormat, count: Option<u64>) -> Progress {
        let on_terminal = std::io::stderr().is_terminal();
        let bar = (on_terminal && output == OutputFormat::Table).then(|| {
            let bar = match count {
                Some(n) => ProgressBar::new(n),
                None => ProgressBar::new_spinner(),
            };
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(8));
            let template = if count.is_some() {
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}"
            } else {
                "{spinner} [{elapsed_precise}] {msg}"
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
            "inserted {} updated {} deleted {} retried {} failed {} ({rate:.1} orders/s)",
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
                eprintln!("salesctl generate: {message}");
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

/// Durations like `3s`, `250ms`, `1m30s`, `0s`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("'{text}' is not a duration ({e}); use e.g. 3s, 250ms or 0s"))
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 && rate <= 100_000.0 => Ok(rate),
        _ => Err(format!(
            "'{text}' is not a rate; use a number of orders per second above 0, e.g. 50"
        )),
    }
}

fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if (0.0..1.0).contains(&r) => Ok(r),
        _ => Err(format!(
            "'{text}' is not a ratio; use a share between 0 and 1, e.g. 0.2"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_ratios_parse_or_explain() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(
            parse_duration("3 parsecs")
                .unwrap_err()
                .contains("not a duration")
        );
        assert_eq!(parse_ratio("0.2"), Ok(0.2));
        assert!(parse_ratio("1.5").is_err());
        assert!(parse_ratio("-0.1").is_err());
        assert!(parse_rate("0").is_err());
        assert_eq!(parse_rate("50"), Ok(50.0));
    }
}

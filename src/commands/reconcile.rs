//! `salesctl reconcile`: did every change make it, once? Counts each stage over one window
//! and compares them by change id; exit 1 when something is missing or failed.

use std::io::Write;

use chrono::{DateTime, Utc};

use crate::audit;
use crate::commands::engine::EngineArgs;
use crate::commands::tail::parse_from;
use crate::commands::values;
use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::render::{Cell, OutputFormat, Table};
use crate::stream::StartPosition;
use salesctl_core::change::ChangeRecord;
use salesctl_core::reconcile::{Disagreement, Findings, Ledger, Named, compare_current};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only changes created since: an age (30m, 2h) or an ISO-8601 time (default: everything
    /// the table's stream still holds, 24 h on AWS).
    #[arg(long, value_parser = parse_from, value_name = "DURATION|TIME")]
    pub since: Option<StartPosition>,
    /// Exit 1 on duplicates too (they are normal with at-least-once delivery: see
    /// orders_current, which keeps one row per change).
    #[arg(long)]
    pub strict: bool,
    /// Ids named per finding.
    #[arg(long, value_name = "N", default_value = "5", value_parser = values::bounded_u32(0, 1000))]
    pub show: u32,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let since: Option<DateTime<Utc>> = match args.since {
        None | Some(StartPosition::TrimHorizon) => None,
        Some(StartPosition::AtTimestamp(at)) => Some(at),
        Some(StartPosition::Latest) => {
            return Err(usage_error(
                "--since latest would reconcile nothing: use an age such as 1h or a time",
            ));
        }
    };
    let aws = ctx.aws().await?;
    let engine = args.engine.open(ctx).await?;
    let mut ledger = Ledger::new(since);
    let mut change = ChangeRecord::default();

    let stream = audit::table_stream(aws, &ctx.settings).await?;
    audit::read_all(stream, |_, record| {
        if let Some(c) = audit::carried(&record.data, &mut change) {
            let at = c
                .created_at
                .or(record.arrival)
                .unwrap_or(DateTime::UNIX_EPOCH);
            ledger.saw_in_stream(&c.event_id, c.order.as_deref().unwrap_or("?"), at);
        }
    })
    .await?;
    audit::read_all(audit::kinesis_stream(aws, &ctx.settings), |_, record| {
        if let Some(c) = audit::carried(&record.data, &mut change) {
            let at = c
                .created_at
                .or(record.arrival)
                .unwrap_or(DateTime::UNIX_EPOCH);
            ledger.saw_in_kinesis(&c.event_id, at);
        }
    })
    .await?;
    audit::lake_copies(&engine, since, |id, copies| ledger.saw_in_lake(id, copies)).await?;
    let bucket = aws.bucket(&ctx.settings).await?;
    audit::objects(aws, &bucket, "errors/", |object| {
        for line in object.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let carried =
                audit::failed_record_data(line).and_then(|data| audit::carried(&data, &mut change));
            ledger.saw_failed(
                carried.as_ref().map(|c| c.event_id.as_str()),
                carried.as_ref().and_then(|c| c.created_at),
            );
        }
    })
    .await?;
    let findings = ledger.findings(args.show as usize);
    let table_state = audit::table_current(aws, &ctx.settings.table).await?;
    let lake_state = audit::lake_current(&engine).await?;
    let (disagreeing, named) = compare_current(&table_state, &lake_state, args.show as usize);

    render(ctx, &findings, disagreeing, &named)?;
    Ok(
        if findings.has_losses() || (args.strict && findings.has_duplicates()) {
            ExitStatus::FAILURE
        } else {
            ExitStatus::SUCCESS
        },
    )
}

fn ids(named: &[Named]) -> String {
    named
        .iter()
        .map(|n| {
            if n.copies > 1 {
                format!("{} ({}, {}×)", n.id, n.order, n.copies)
            } else {
                format!("{} ({})", n.id, n.order)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row per stage: its counts, and with `with_ids` the first ids of each finding.
fn stage_table(findings: &Findings, with_ids: bool) -> Table {
    let mut headers = vec![
        "stage",
        "seen",
        "distinct",
        if with_ids {
            "missing_downstream"
        } else {
            "missing after"
        },
        "duplicated",
        "failed",
    ];
    if with_ids {
        headers.extend(["first_missing", "first_duplicated", "first_failed"]);
    }
    let mut table = Table::new(headers);
    for s in &findings.stages {
        let mut row = vec![
            Cell::text(s.stage),
            Cell::number(s.seen),
            Cell::number(s.distinct),
            Cell::number(s.missing_downstream),
            Cell::number(s.duplicated),
            Cell::number(s.failed),
        ];
        if with_ids {
            row.extend([
                Cell::text(ids(&s.missing_ids)),
                Cell::text(ids(&s.duplicated_ids)),
                Cell::text(ids(&s.failed_ids)),
            ]);
        }
        table.push(row);
    }
    table
}

fn render(
    ctx: &Context,
    findings: &Findings,
    disagreeing: u64,
    named: &[Disagreement],
) -> anyhow::Result<()> {
    let mut current = Table::new([
        "order_id",
        "table_status",
        "table_updated_at",
        "lake_status",
        "lake_updated_at",
    ]);
    for d in named {
        let side = |s: &Option<salesctl_core::reconcile::OrderState>| match s {
            Some(s) => (Cell::text(&s.status), Cell::text(&s.updated_at)),
            None => (Cell::text("(none)"), Cell::Null),
        };
        let (ts, tu) = side(&d.table);
        let (ls, lu) = side(&d.lake);
        current.push(vec![Cell::text(&d.order), ts, tu, ls, lu]);
    }
    let format = ctx.output();
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Table => {
            // For a person: the counts as a narrow table, the ids as wrapped lines under it.
            writeln!(out, "Changes per stage")?;
            stage_table(findings, false).write(&mut out, format, ctx.color)?;
            let width = crate::render::output_width().unwrap_or(usize::MAX);
            for s in &findings.stages {
                for (what, named) in [
                    ("missing after", &s.missing_ids),
                    ("duplicated in", &s.duplicated_ids),
                    ("failed, in", &s.failed_ids),
                ] {
                    if !named.is_empty() {
                        let text = format!("{what} {}: {}", s.stage, ids(named));
                        for line in textwrap::wrap(&text, width) {
                            writeln!(out, "{line}")?;
                        }
                    }
                }
            }
            let u = findings.unmatched;
            if u.kinesis + u.lake + u.failed > 0 {
                writeln!(
                    out,
                    "Not in the table's stream (older than its retention or the window): {} in Kinesis, {} lake rows, {} failed",
                    u.kinesis, u.lake, u.failed
                )?;
            }
            if findings.failed_without_id > 0 {
                writeln!(
                    out,
                    "{} records under errors/ carry no change id",
                    findings.failed_without_id
                )?;
            }
            writeln!(
                out,
                "\nOrders whose current lake row disagrees with the table: {disagreeing}"
            )?;
            if !named.is_empty() {
                current.write(&mut out, format, ctx.color)?;
            }
            let verdict = if findings.has_losses() {
                "NOT RECONCILED: changes are missing or failed (first ids above; 'salesctl trace ORDER_ID' follows one)"
            } else if findings.has_duplicates() {
                "reconciled, with duplicates (at-least-once delivery; orders_current keeps one row per change)"
            } else {
                "reconciled: every change reached the lake exactly once"
            };
            writeln!(out, "\n{verdict}")?;
        }
        OutputFormat::Json | OutputFormat::Csv => {
            // One table per output: the stages (the current-state check in JSON lines too).
            stage_table(findings, true).write(&mut out, format, ctx.color)?;
            if format == OutputFormat::Json {
                let summary = [
                    ("stage", Cell::text("current_state")),
                    ("disagreeing_orders", Cell::number(disagreeing)),
                    (
                        "unmatched_kinesis",
                        Cell::number(findings.unmatched.kinesis),
                    ),
                    ("unmatched_lake_rows", Cell::number(findings.unmatched.lake)),
                    (
                        "failed_without_id",
                        Cell::number(findings.failed_without_id),
                    ),
                    ("reconciled", Cell::Bool(!findings.has_losses())),
                ];
                writeln!(
                    out,
                    "{}",
                    crate::render::json_object(summary.iter().map(|(n, c)| (*n, c)))
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

//! `salesctl reconcile`: did every change make it, once? Counts each stage over one window
//! and compares them by change id; exit 1 when something is missing or failed.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};

use crate::commands::engine::EngineArgs;
use crate::commands::values;
use crate::context::Context;
use crate::error::{ExitStatus, interrupted_error, usage_error};
use crate::lake::{ERROR_ROOT, Lake};
use crate::output::to_stdout;
use crate::render::{Cell, OutputFormat, Table, wrap_words};
use crate::spill::Buckets;
use crate::sql::QueryEngine;
use crate::sql::local::Unreadable;
use crate::stage_reads;
use crate::stream::StartPosition;
use salesctl_core::change::ChangeRecord;
use salesctl_core::lake_schema::current_rank_key;
use salesctl_core::reconcile::{
    Disagreement, Findings, Ledger, Named, OrderState, Verdict, compare_current,
    merge_disagreements,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only changes created since: an age (30m, 2h) or an ISO-8601 time, `all` for the whole
    /// lake (default: 24h, what the table's stream holds on AWS). The window becomes `dt`/`hour`
    /// predicates, so both engines read only the lake's hours that can hold its changes.
    #[arg(long, value_parser = values::start_position, value_name = "DURATION|TIME")]
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
        None => Some(Utc::now() - STREAM_RETENTION),
        Some(StartPosition::TrimHorizon) => None,
        Some(StartPosition::AtTimestamp(at)) => Some(at),
        Some(StartPosition::Latest) => {
            return Err(usage_error(
                "--since latest would reconcile nothing: use an age such as 1h or a time",
            ));
        }
    };
    let show = args.show as usize;
    let engine = args.engine.open(ctx).await?;
    // A lake object the engine cannot read is set aside and the stages are read again
    // without it: its changes then count as missing from the lake, and it is named.
    let mut unreadable: Vec<Unreadable> = Vec::new();
    let (findings, (disagreeing, named), compared) = loop {
        // Ctrl-C stops every phase at once; the spilled files go with the dropped work.
        let gathered = tokio::select! {
            gathered = gather(ctx, &engine, since, show) => gathered,
            () = ctx.shutdown_requested() => {
                return Err(interrupted_error("interrupted: nothing was reconciled"));
            }
        };
        match gathered {
            Ok(gathered) => break gathered,
            Err(error) => match engine.skip_unreadable(&error) {
                Some(found) if !found.is_empty() => unreadable.extend(found),
                _ => return Err(error),
            },
        }
    };

    let state = StateCheck {
        disagreeing,
        compared,
        since,
    };
    render(ctx, &findings, &state, &named, &unreadable)?;
    // The stages and the current state together: a window with nothing missing (an empty
    // one, `--since` in the future) does not reconcile orders whose lake row is out of date.
    Ok(
        if findings.verdict(disagreeing).fails(args.strict) || !unreadable.is_empty() {
            ExitStatus::FAILURE
        } else {
            ExitStatus::SUCCESS
        },
    )
}

/// The verdict line of the table view: what failed, the stages' losses and the orders whose
/// current lake row disagrees with the table alike.
fn verdict_text(findings: &Findings, disagreeing: u64) -> String {
    match findings.verdict(disagreeing) {
        Verdict::Reconciled => "reconciled: every change reached the lake exactly once, and every order's current lake row is the table's".to_string(),
        Verdict::Duplicates => "reconciled, with duplicates (at-least-once delivery; orders_current keeps one row per change)".to_string(),
        Verdict::NotReconciled => {
            let mut what = Vec::new();
            if findings.has_losses() {
                what.push("changes are missing or failed (first ids above)".to_string());
            }
            match disagreeing {
                0 => {}
                1 => what.push("1 order's current lake row disagrees with the table (above)".to_string()),
                n => what.push(format!(
                    "{n} orders' current lake rows disagree with the table (the first above)"
                )),
            }
            let mut text = format!("NOT RECONCILED: {}", what.join(", and "));
            if disagreeing > 0 && !findings.has_losses() {
                // Nothing is lost in the window: the lake is behind the table, or lost changes
                // made before the window.
                text.push_str("; changes still on their way count until they land (run it again after the relay or Firehose's buffer interval), older losses show with --since all");
            }
            text.push_str("; 'salesctl trace ORDER_ID' follows one");
            text
        }
    }
}

/// Reads every stage and matches them: the findings per stage, then the orders whose current
/// lake row disagrees with the table (their count and the first `show`).
async fn gather(
    ctx: &Context,
    engine: &QueryEngine,
    since: Option<DateTime<Utc>>,
    show: usize,
) -> anyhow::Result<(Findings, (u64, Vec<Disagreement>), u64)> {
    let aws = ctx.aws().await?;
    // Memory stays bounded however many changes there are: every stage's ids go to disk in
    // buckets by id, then one bucket at a time is matched (a grace hash join); the current
    // state is compared the same way, in buckets by order id.
    let mut changes = Spill::new()?;
    let mut states = Spill::new()?;
    let mut change = ChangeRecord::default();

    let stream = stage_reads::table_stream(aws, &ctx.settings).await?;
    stage_reads::read_all(stream, |_, record| {
        if let Some(c) = stage_reads::carried(&record.data, &mut change) {
            let at = time_text(c.created_at.or(record.arrival));
            let order = c.order.as_deref().unwrap_or("?");
            changes.push(&c.event_id, &[STREAM, &c.event_id, order, &at]);
        }
    })
    .await?;
    stage_reads::read_all(
        stage_reads::kinesis_stream(aws, &ctx.settings),
        |_, record| {
            if let Some(c) = stage_reads::carried(&record.data, &mut change) {
                let at = time_text(c.created_at.or(record.arrival));
                changes.push(&c.event_id, &[KINESIS, &c.event_id, &at]);
            }
        },
    )
    .await?;
    stage_reads::lake_change_ids(engine, since, &mut |id| changes.push(id, &[LAKE, id])).await?;
    let lake = Lake::new(&aws.s3, aws.bucket(&ctx.settings).await?);
    lake.each_object(ERROR_ROOT, |object| {
        for line in object.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let carried = stage_reads::failed_record_data(line)
                .and_then(|data| stage_reads::carried(&data, &mut change));
            match carried {
                Some(c) => {
                    let at = c.created_at.map(|t| time_text(Some(t))).unwrap_or_default();
                    changes.push(&c.event_id, &[FAILED, &c.event_id, &at]);
                }
                None => changes.push("", &[FAILED]),
            }
        }
    })
    .await?;
    // Start from the empty reconciliation (every stage, all zero) and add each bucket to it.
    let mut findings = Ledger::new(since).findings(show);
    changes.finish()?.for_each_bucket(|records| {
        let mut ledger = Ledger::new(since);
        // A bucket holds its records in the order they were read: the stream's first.
        for record in &records {
            let field = |i: usize| record.get(i).map(String::as_str);
            match (field(0), field(1)) {
                (Some(STREAM), Some(id)) => {
                    ledger.saw_in_stream(id, field(2).unwrap_or("?"), parse_time(field(3)));
                }
                (Some(KINESIS), Some(id)) => ledger.saw_in_kinesis(id, parse_time(field(2))),
                (Some(LAKE), Some(id)) => ledger.saw_in_lake(id, 1),
                (Some(FAILED), id) => {
                    let at = field(2)
                        .filter(|t| !t.is_empty())
                        .map(|t| parse_time(Some(t)));
                    ledger.saw_failed(id, at);
                }
                _ => {}
            }
        }
        findings.absorb(ledger.findings(show), show);
        Ok(())
    })?;

    stage_reads::table_current(aws, &ctx.settings.table, &mut |order, state| {
        states.push(
            &order,
            &[TABLE_STATE, &order, &state.updated_at, &state.status],
        );
    })
    .await?;
    // With a window, the current state is compared for the orders changed in it: those
    // with a lake row of a change made since then, or a table item updated since then. Their
    // latest change is in the window, so the window's hours hold their latest lake row.
    stage_reads::lake_state_rows(engine, since, &mut |row| {
        states.push(
            &row.order,
            &[
                LAKE_STATE,
                &row.order,
                &row.state.updated_at,
                &row.state.status,
                row.creation_datetime.as_deref().unwrap_or(NO_TIME),
                &row.sequence_number,
                if row.deleted { "deleted" } else { "" },
            ],
        );
    })
    .await?;
    let mut current = (0, Vec::new());
    let mut compared = 0u64;
    states.finish()?.for_each_bucket(|records| {
        let mut table = BTreeMap::new();
        // Each order's latest lake row, ranked as orders_current ranks them.
        let mut latest: BTreeMap<String, (RankKey, OrderState, bool)> = BTreeMap::new();
        for record in records {
            let field = |i: usize| record.get(i).map_or("", String::as_str);
            let order = field(1).to_string();
            let state = OrderState {
                updated_at: field(2).to_string(),
                status: field(3).to_string(),
            };
            if field(0) == TABLE_STATE {
                table.insert(order, state);
                continue;
            }
            let time = Some(field(4)).filter(|t| *t != NO_TIME);
            let (time, length, sequence) = current_rank_key(time, field(5));
            let rank = (time, length, sequence.to_string());
            let deleted = !field(6).is_empty();
            if latest.get(&order).is_none_or(|(best, _, _)| rank > *best) {
                latest.insert(order, (rank, state, deleted));
            }
        }
        if let Some(since) = since {
            let from = since.format("%Y-%m-%dT%H:%M:%S").to_string();
            table.retain(|order, state| {
                latest.contains_key(order)
                    || state.updated_at.get(..19).unwrap_or("") >= from.as_str()
            });
        }
        let lake: BTreeMap<String, OrderState> = latest
            .into_iter()
            .filter(|(_, (_, _, deleted))| !deleted)
            .map(|(order, (_, state, _))| (order, state))
            .collect();
        compared += (table.len() + lake.keys().filter(|o| !table.contains_key(*o)).count()) as u64;
        let part = compare_current(&table, &lake, show);
        current = merge_disagreements([std::mem::take(&mut current), part], show);
        Ok(())
    })?;
    Ok((findings, current, compared))
}

/// The current-state check's result and its scope.
struct StateCheck {
    disagreeing: u64,
    /// Orders compared: every order of the table and the lake, or, with a window, those
    /// changed in it.
    compared: u64,
    since: Option<DateTime<Utc>>,
}

impl StateCheck {
    fn scope(&self) -> String {
        match self.since {
            Some(t) => format!("changed since {}", t.format("%Y-%m-%d %H:%M:%S UTC")),
            None => "in the table or the lake".to_string(),
        }
    }
}

/// What a DynamoDB stream holds: reconcile's default window, so the stream, Kinesis and the
/// lake are compared over the same 24 hours and the lake is read for those hours only.
const STREAM_RETENTION: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Buckets the ids of a run are spilled to: at a million changes, about 8,000 a bucket.
const SPILL_BUCKETS: usize = 128;

/// The tags of spilled records: which stage saw the change, or which side holds the state.
const STREAM: &str = "S";
const KINESIS: &str = "K";
const LAKE: &str = "L";
const FAILED: &str = "F";
const TABLE_STATE: &str = "T";
const LAKE_STATE: &str = "C";
/// A lake row without a creation time, as spilled (it ranks below every time).
const NO_TIME: &str = "-";

/// [`current_rank_key`], owned, as kept per order while a bucket is read.
type RankKey = (Option<String>, usize, String);

/// Spilled records, written from inside the readers' callbacks, which cannot return an
/// error: the first write error is kept and reported by [`Spill::finish`].
struct Spill {
    buckets: Buckets,
    error: Option<std::io::Error>,
}

impl Spill {
    fn new() -> anyhow::Result<Spill> {
        let buckets = Buckets::new(SPILL_BUCKETS).map_err(|e| {
            anyhow::anyhow!(
                "cannot create reconcile's temporary files ({e}): set TMPDIR to a writable directory"
            )
        })?;
        Ok(Spill {
            buckets,
            error: None,
        })
    }

    fn push(&mut self, key: &str, fields: &[&str]) {
        if self.error.is_none()
            && let Err(e) = self.buckets.push(key, fields)
        {
            self.error = Some(e);
        }
    }

    fn finish(self) -> anyhow::Result<Buckets> {
        match self.error {
            Some(e) => Err(anyhow::anyhow!(
                "cannot write reconcile's temporary files ({e}): free space in TMPDIR or point it elsewhere"
            )),
            None => Ok(self.buckets),
        }
    }
}

/// A change's time as spilled: RFC 3339, the epoch when unknown (as the ledger counts it).
fn time_text(at: Option<DateTime<Utc>>) -> String {
    at.unwrap_or(DateTime::UNIX_EPOCH).to_rfc3339()
}

fn parse_time(text: Option<&str>) -> DateTime<Utc> {
    text.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or(DateTime::UNIX_EPOCH, |t| t.with_timezone(&Utc))
}

/// A finding's first ids for a person: a heading, then one change a line (its id, its order
/// and the copies seen), ids never cut nor wrapped; an order that does not fit beside its
/// change goes on the line below.
fn id_lines(heading: &str, total: u64, named: &[Named], width: usize) -> Vec<String> {
    let mut lines = vec![if total > named.len() as u64 {
        format!("{heading} ({total}, the first {}):", named.len())
    } else {
        format!("{heading} ({total}):")
    }];
    let id_width = named
        .iter()
        .map(|n| console::measure_text_width(&n.id))
        .max()
        .unwrap_or(0);
    for n in named {
        let copies = if n.copies > 1 {
            format!("  {}×", n.copies)
        } else {
            String::new()
        };
        let pad = id_width - console::measure_text_width(&n.id);
        let line = format!("  {}{}  order {}{copies}", n.id, " ".repeat(pad), n.order);
        if console::measure_text_width(&line) <= width {
            lines.push(line);
        } else {
            lines.push(format!("  {}", n.id));
            lines.push(format!("    order {}{copies}", n.order));
        }
    }
    lines
}

/// A time of an order's state for a person: `MM-DD HH:MM:SS.mmm` when it is RFC 3339 (the
/// year and the zone, UTC, left out), else the text as it is.
fn short_time(text: &str) -> String {
    DateTime::parse_from_rfc3339(text).map_or_else(
        |_| text.to_string(),
        |t| {
            t.with_timezone(&Utc)
                .format("%m-%d %H:%M:%S%.3f")
                .to_string()
        },
    )
}

/// The orders whose current lake row disagrees with the table, for a person: the order id
/// and each side's status over its update time (UTC), so no id or time is ever cut.
fn disagreement_table(named: &[Disagreement]) -> Table {
    let mut table = Table::new([ORDER_ID, TABLE_SIDE, LAKE_SIDE]);
    let side = |state: &Option<OrderState>| match state {
        Some(s) => Cell::text(format!("{}\n{}", s.status, short_time(&s.updated_at))),
        None => Cell::text("(none)"),
    };
    for d in named {
        table.push(vec![Cell::text(&d.order), side(&d.table), side(&d.lake)]);
    }
    table
}

const ORDER_ID: &str = "order_id";
const TABLE_SIDE: &str = "table";
const LAKE_SIDE: &str = "lake (current row)";

/// Findings as a JSON list for pipes: `[{"change_id", "order_id", "copies"}, …]`.
fn id_list(named: &[Named]) -> Cell {
    let list: Vec<serde_json::Value> = named
        .iter()
        .map(|n| serde_json::json!({"change_id": n.id, "order_id": n.order, "copies": n.copies}))
        .collect();
    Cell::Json(serde_json::Value::Array(list).to_string())
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
                id_list(&s.missing_ids),
                id_list(&s.duplicated_ids),
                id_list(&s.failed_ids),
            ]);
        }
        table.push(row);
    }
    table
}

fn render(
    ctx: &Context,
    findings: &Findings,
    state: &StateCheck,
    named: &[Disagreement],
    unreadable: &[Unreadable],
) -> anyhow::Result<()> {
    let disagreeing = state.disagreeing;
    let format = ctx.output();
    to_stdout(|out| {
        match format {
            OutputFormat::Table => {
                // For a person: the counts as a narrow table, the ids as wrapped lines under it.
                writeln!(out, "Changes per stage")?;
                stage_table(findings, false).write(out, format, ctx.color)?;
                let width = crate::render::output_width().unwrap_or(usize::MAX);
                for s in &findings.stages {
                    for (what, total, named) in [
                        ("missing after", s.missing_downstream, &s.missing_ids),
                        ("duplicated in", s.duplicated, &s.duplicated_ids),
                        ("failed, in", s.failed, &s.failed_ids),
                    ] {
                        if !named.is_empty() {
                            let heading = format!("{what} {}", s.stage);
                            for line in id_lines(&heading, total, named, width) {
                                writeln!(out, "{line}")?;
                            }
                        }
                    }
                }
                let u = findings.unmatched;
                if u.kinesis + u.lake + u.failed > 0 {
                    let text = format!(
                        "Not in the table's stream (older than its retention or the window): {} in Kinesis, {} lake rows, {} failed",
                        u.kinesis, u.lake, u.failed
                    );
                    for line in wrap_words(&text, width) {
                        writeln!(out, "{line}")?;
                    }
                }
                if findings.failed_without_id > 0 {
                    writeln!(
                        out,
                        "{} records under errors/ carry no change id",
                        findings.failed_without_id
                    )?;
                }
                writeln!(out)?;
                let compared = format!(
                    "Orders whose current lake row disagrees with the table: {disagreeing} of {} {}",
                    state.compared,
                    state.scope()
                );
                for line in wrap_words(&compared, width) {
                    writeln!(out, "{line}")?;
                }
                if !named.is_empty() {
                    writeln!(out, "(each side's status over its update time, UTC)")?;
                }
                if !named.is_empty() {
                    disagreement_table(named).write_keeping_whole(
                        out,
                        format,
                        ctx.color,
                        &[ORDER_ID, TABLE_SIDE, LAKE_SIDE],
                    )?;
                }
                if let Some(first) = unreadable.first() {
                    let text = format!(
                        "\nUnreadable lake objects, left out (their changes count as missing from the lake): {}; the first, {}, is unreadable {}: {}",
                        unreadable.len(),
                        first.location,
                        first.at(),
                        first.problem
                    );
                    for line in wrap_words(&text, width) {
                        writeln!(out, "{line}")?;
                    }
                }
                writeln!(out)?;
                if findings.stages.iter().all(|s| s.seen == 0) && state.compared == 0 {
                    let empty = format!(
                        "nothing changed in the window (no change and no order {}): widen it, e.g. --since 24h or --since all",
                        state.scope()
                    );
                    for line in wrap_words(&empty, width) {
                        writeln!(out, "{line}")?;
                    }
                }
                let mut verdict = verdict_text(findings, disagreeing);
                if !unreadable.is_empty() {
                    verdict = format!(
                        "NOT RECONCILED: {} lake object{} cannot be read (above): move {} aside and run reconcile again; {verdict}",
                        unreadable.len(),
                        if unreadable.len() == 1 { "" } else { "s" },
                        if unreadable.len() == 1 { "it" } else { "them" },
                    );
                }
                for line in wrap_words(&verdict, width) {
                    writeln!(out, "{line}")?;
                }
            }
            OutputFormat::Json | OutputFormat::Csv => {
                // One table per output: the stages (the current-state check in JSON lines too).
                stage_table(findings, true).write(out, format, ctx.color)?;
                if format == OutputFormat::Json {
                    let summary = [
                        ("stage", Cell::text("current_state")),
                        ("disagreeing_orders", Cell::number(disagreeing)),
                        ("orders_compared", Cell::number(state.compared)),
                        (
                            "since",
                            state
                                .since
                                .map_or(Cell::Null, |t| Cell::text(t.to_rfc3339())),
                        ),
                        (
                            "unmatched_kinesis",
                            Cell::number(findings.unmatched.kinesis),
                        ),
                        ("unmatched_lake_rows", Cell::number(findings.unmatched.lake)),
                        (
                            "failed_without_id",
                            Cell::number(findings.failed_without_id),
                        ),
                        ("unreadable_objects", Cell::number(unreadable.len())),
                        (
                            "first_unreadable",
                            unreadable
                                .first()
                                .map_or(Cell::Null, |u| Cell::text(u.location.as_str())),
                        ),
                        (
                            "reconciled",
                            Cell::Bool(
                                findings.verdict(disagreeing).is_reconciled()
                                    && unreadable.is_empty(),
                            ),
                        ),
                    ];
                    writeln!(
                        out,
                        "{}",
                        crate::render::json_object(summary.iter().map(|(n, c)| (*n, c)))
                    )?;
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_a_line_and_never_cut_nor_wrapped() {
        let named: Vec<Named> = (1..=5)
            .map(|n| Named {
                id: format!("{n}3d1d1dd78cf4c5d91e5318d92d5b1bf"),
                order: format!("o-mxa1zhsc39-0000000{n}"),
                copies: if n == 5 { 2 } else { 1 },
            })
            .collect();
        let lines = id_lines("missing after kinesis", 30, &named, 80);
        assert_eq!(lines[0], "missing after kinesis (30, the first 5):");
        assert_eq!(
            lines[1],
            "  13d1d1dd78cf4c5d91e5318d92d5b1bf  order o-mxa1zhsc39-00000001"
        );
        assert!(lines[5].ends_with("o-mxa1zhsc39-00000005  2×"), "{lines:?}");
        // Too narrow for both: the order goes under its change, still whole.
        let lines = id_lines("duplicated in lake", 5, &named, 50);
        assert_eq!(lines[0], "duplicated in lake (5):");
        assert_eq!(lines[1], "  13d1d1dd78cf4c5d91e5318d92d5b1bf");
        assert_eq!(lines[2], "    order o-mxa1zhsc39-00000001");
        let wrapped = wrap_words(
            "NOT RECONCILED: 33 orders' current lake rows disagree with the table; 'salesctl trace o-mxa1zhsc39-00000001' follows one",
            30,
        );
        assert!(
            wrapped.iter().any(|l| l.contains("o-mxa1zhsc39-00000001")),
            "{wrapped:?}"
        );
    }

    #[test]
    fn disagreeing_orders_keep_their_ids_and_times_at_80_columns() {
        let state = |status: &str, at: &str| {
            Some(OrderState {
                status: status.into(),
                updated_at: at.into(),
            })
        };
        let named: Vec<Disagreement> = (1..=5)
            .map(|n| Disagreement {
                order: format!("o-mxa1zgx2nl-0000000{n}"),
                table: if n % 2 == 0 {
                    None
                } else {
                    state("DELIVERED", "2026-12-05T04:31:07.123Z")
                },
                lake: state("CANCELLED", "2026-12-05T04:30:59.001Z"),
            })
            .collect();
        let text = disagreement_table(&named).people_text(80, &[ORDER_ID, TABLE_SIDE, LAKE_SIDE]);
        assert!(
            text.lines().all(|l| console::measure_text_width(l) <= 80),
            "{text}"
        );
        for n in 1..=5 {
            assert!(text.contains(&format!("o-mxa1zgx2nl-0000000{n}")), "{text}");
        }
        assert!(text.contains("12-05 04:31:07.123"), "{text}");
        assert!(text.contains("12-05 04:30:59.001"), "{text}");
        assert!(!text.contains('…'), "{text}");
        assert_eq!(short_time("not a time"), "not a time");
    }
}

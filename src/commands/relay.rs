//! `salesctl relay`: run the Pipe and Firehose stages in-process against the local emulator,
//! until drained (`--drain`) or Ctrl-C; one relay per stack, resumable from anywhere.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::commands::activity::Activity;
use crate::commands::values;
use crate::context::Context;
use crate::error::{ExitStatus, config_error, usage_error};
use crate::relay::{Relay, RelayOptions, RelayReport, Stages};
use crate::render::{Cell, Table};
use crate::stack::template::CONVERSION_MIN_BUFFER_MB;
use salesctl_core::lake_schema::LakeFormat;

/// The stack parameter that says how Firehose writes the lake (`parquet` or `json`).
const LAKE_FORMAT_PARAMETER: &str = "LakeFormat";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Process everything available now, flush, print counts and exit.
    #[arg(long)]
    pub drain: bool,
    /// The stack's relay state (lock, positions, flush spool). Default: per stack under
    /// $SALESCTL_STATE_DIR, $XDG_STATE_HOME/salesctl or ~/.local/state/salesctl.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Flush after this long (Firehose's interval hint; default: the settings', 60s).
    #[arg(long, value_parser = values::positive_duration, allow_negative_numbers = true)]
    pub buffer_interval: Option<Duration>,
    /// Flush at this many MiB (Firehose's size hint; default: the settings', 5, and for a
    /// Parquet lake at least 64, Firehose's floor for record format conversion).
    #[arg(long, value_parser = values::bounded_u32(1, 128), allow_negative_numbers = true)]
    pub buffer_mb: Option<u32>,
    /// Poll interval when nothing is new.
    #[arg(long, value_parser = values::positive_duration, default_value = "200ms", allow_negative_numbers = true)]
    pub poll: Duration,
    /// Run against real AWS too (where the real Pipe and Firehose already do this work).
    #[arg(long)]
    pub force: bool,
    /// Run one stage alone: pipe (DynamoDB stream -> Kinesis) or firehose (Kinesis -> S3).
    #[arg(long, value_enum, default_value = "both")]
    pub stage: StageArg,
    /// Write the lake's data objects as Parquet (`*.parquet`) or JSON lines (default: the
    /// deployed stack's LakeFormat, else the lake_format setting, parquet).
    #[arg(long, value_name = "parquet|json", value_parser = values::lake_format())]
    pub lake_format: Option<LakeFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StageArg {
    Both,
    Pipe,
    Firehose,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let (report, elapsed) = relay(ctx, &args).await?;
    render_report(ctx, &report, elapsed)?;
    if let Some(line) = undelivered_line(&report) {
        crate::say!("salesctl: {line}");
    }
    Ok(exit_status(&report))
}

/// Interrupted wins; then records that could not be transformed, or piped records that
/// reached neither the lake nor `errors/`, are a partial failure.
pub fn exit_status(report: &RelayReport) -> ExitStatus {
    if report.interrupted {
        ExitStatus::INTERRUPTED
    } else if report.failed > 0 || report.undelivered > 0 {
        ExitStatus::FAILURE
    } else {
        ExitStatus::SUCCESS
    }
}

/// The one line that says a drain's piped records did not all land, with the counts, where
/// they are and what to do; `None` when they all did.
pub fn undelivered_line(report: &RelayReport) -> Option<String> {
    if report.undelivered == 0 {
        return None;
    }
    let shards = match report.undelivered_shards.as_slice() {
        [one] => format!("Kinesis shard {one}"),
        many => format!("Kinesis shards {}", many.join(", ")),
    };
    Some(format!(
        "{} of the {} records piped this run reached neither the lake nor errors/ (rows_written {}, processing_failed {}, duplicates_dropped {}): they are still in {shards}, unread by the firehose stage (likely a shard closed by a reshard that the emulator kept writing to); run 'salesctl relay --drain' again to deliver them, then 'salesctl reconcile' to check",
        report.undelivered, report.piped, report.rows, report.failed, report.duplicates_dropped
    ))
}

/// Runs the relay as the flags say; returns its report and how long it took.
pub async fn relay(ctx: &Context, args: &Args) -> anyhow::Result<(RelayReport, Duration)> {
    // No AWS settings to load is no emulator either: the refusal comes first.
    if !args.force && !ctx.targets_emulator().await.unwrap_or(false) {
        return Err(usage_error(
            "relay runs the Pipe and Firehose stages locally; on AWS the real services do it: use --local, or --force to run it anyway",
        ));
    }
    let settings = &ctx.settings;
    let lake_format = lake_format(ctx, args).await?;
    let buffer_mb = args.buffer_mb.unwrap_or(match lake_format {
        LakeFormat::Parquet => settings.buffer_mb.max(CONVERSION_MIN_BUFFER_MB),
        LakeFormat::Json => settings.buffer_mb,
    });
    let options = RelayOptions {
        drain: args.drain,
        state_dir: args.state_dir.clone(),
        state_root: ctx.dirs.state.clone(),
        buffer_bytes: buffer_mb as usize * 1024 * 1024,
        buffer_age: args
            .buffer_interval
            .unwrap_or(Duration::from_secs(settings.buffer_seconds.into())),
        poll: args.poll,
        stages: match args.stage {
            StageArg::Both => Stages::Both,
            StageArg::Pipe => Stages::Pipe,
            StageArg::Firehose => Stages::Firehose,
        },
        lake_format,
    };
    let aws = ctx.aws().await?;
    let started = Instant::now();
    let mut relay = Relay::open(aws, settings, options).await?;
    let mut activity = Activity::new("relay");
    let mode = if args.drain { "draining" } else { "relaying" };
    relay.on_progress(move |r| {
        activity.update(&format!(
            "{mode}: {} piped, {} rows in {} objects, {} failed",
            r.piped, r.rows, r.objects, r.failed
        ));
    });
    let report = relay.run(ctx.shutdown_signal()).await?;
    drop(relay);
    Ok((report, started.elapsed()))
}

/// How the firehose stage writes the lake: `--lake-format`, else the deployed stack's
/// `LakeFormat` (the relay stands in for that stack's Firehose), else the settings'. A flag
/// that differs from the stack's format is warned about: the stack's Glue table is declared
/// for its own format.
async fn lake_format(ctx: &Context, args: &Args) -> anyhow::Result<LakeFormat> {
    if args.stage == StageArg::Pipe {
        // Writes no object.
        return Ok(ctx.settings.lake_format);
    }
    let flag = args.lake_format;
    let deployed = deployed_lake_format(ctx).await;
    Ok(match (flag, deployed) {
        (Some(flag), Ok(Some(stack))) if flag != stack => {
            crate::say!(
                "salesctl: warning: --lake-format {flag} differs from the stack's LakeFormat ({stack}), for which its Glue table is declared"
            );
            flag
        }
        (Some(flag), _) => flag,
        (None, deployed) => deployed?.unwrap_or(ctx.settings.lake_format),
    })
}

/// The deployed stack's `LakeFormat` parameter: how its Firehose writes the lake, which the
/// relay stands in for (json for a stack from a template without the parameter). `None`
/// without a stack, or for a stack CloudFormation does not describe to us (the settings
/// decide then).
async fn deployed_lake_format(ctx: &Context) -> anyhow::Result<Option<LakeFormat>> {
    let state = match ctx.stack().await {
        Ok(stack) => stack.state().await,
        Err(error) => Err(error),
    };
    let state = match state {
        Ok(state) => state,
        Err(error) => {
            tracing::info!("the stack's LakeFormat is unknown ({error:#}); the settings decide");
            return Ok(None);
        }
    };
    let Some(state) = state else {
        return Ok(None);
    };
    let Some(value) = state.parameter(LAKE_FORMAT_PARAMETER) else {
        // A stack from before the parameter: its Firehose writes NDJSON, as `up` reads it.
        return Ok(Some(LakeFormat::Json));
    };
    LakeFormat::parse(value).map(Some).ok_or_else(|| {
        config_error(format!(
            "the stack's {LAKE_FORMAT_PARAMETER} is '{value}', which this salesctl does not know: update salesctl, or pass --lake-format parquet|json"
        ))
    })
}

pub fn render_report(ctx: &Context, report: &RelayReport, elapsed: Duration) -> anyhow::Result<()> {
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        report.piped.max(report.rows) as f64 / seconds
    } else {
        0.0
    };
    let fields = [
        ("piped", Cell::number(report.piped)),
        ("rows_written", Cell::number(report.rows)),
        ("processing_failed", Cell::number(report.failed)),
        ("piped_not_delivered", Cell::number(report.undelivered)),
        (
            "duplicates_dropped",
            Cell::number(report.duplicates_dropped),
        ),
        ("objects", Cell::number(report.objects)),
        ("elapsed_seconds", Cell::number(format!("{seconds:.3}"))),
        ("records_per_second", Cell::number(format!("{rate:.0}"))),
        ("total_piped", Cell::number(report.total_piped)),
        ("total_rows_written", Cell::number(report.totals.rows)),
        (
            "total_processing_failed",
            Cell::number(report.totals.failed),
        ),
    ];
    let mut row = Table::new(fields.iter().map(|(name, _)| *name));
    row.push(fields.into_iter().map(|(_, value)| value).collect());
    ctx.out().record("relay", &row)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undelivered_drain_fails_in_one_line_naming_counts_and_shards() {
        let report = RelayReport {
            piped: 100,
            undelivered: 100,
            undelivered_shards: vec!["shardId-000000000000".into()],
            ..RelayReport::default()
        };
        assert_eq!(exit_status(&report), ExitStatus::FAILURE);
        let line = undelivered_line(&report).unwrap();
        assert!(!line.contains('\n'), "{line}");
        for part in [
            "100 of the 100 records piped",
            "rows_written 0",
            "shardId-000000000000",
            "relay --drain",
        ] {
            assert!(line.contains(part), "{part}: {line}");
        }
        let delivered = RelayReport {
            piped: 100,
            rows: 100,
            ..RelayReport::default()
        };
        assert_eq!(undelivered_line(&delivered), None);
        assert_eq!(exit_status(&delivered), ExitStatus::SUCCESS);
    }
}

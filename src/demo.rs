//! `salesctl demo`: the whole pipeline on the local emulator in one go — provision, write
//! orders, relay them into the lake, then report and query — each step headed and timed.
//!
//! A script of verbs, not a verb: it sits above `commands` and runs the real verbs with
//! their real flags, so no verb has to import another.

use std::future::Future;
use std::time::Instant;

use crate::commands::{args_from, generate, query, relay, report, up, values};
use crate::context::Context;
use crate::error::{ExitStatus, interrupted_error, usage_error};
use crate::render::OutputFormat;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// New orders to write (updates and deletes come on top).
    #[arg(long, default_value = "300", value_parser = values::positive_count, allow_negative_numbers = true)]
    pub orders: u64,
    /// How far back the first demo writes past orders (a forecast needs 14 full days for its
    /// weekly model; 4 weeks give it a backtest too).
    #[arg(long, value_name = "WINDOW", default_value = "28d")]
    pub history: String,
    /// Past orders on an average day of that history.
    #[arg(long, value_name = "N", default_value = "60", value_parser = values::positive_count, allow_negative_numbers = true)]
    pub history_orders_per_day: u64,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    if !ctx.targets_emulator().await.unwrap_or(false) {
        return Err(usage_error(
            "demo runs against the local emulator: start it with 'scripts/local-aws start' and pass --local",
        ));
    }
    // Refused before anything runs, so a demo never stops half-way on a format it cannot print.
    if ctx.requested_output == Some(OutputFormat::Csv) {
        return Err(usage_error(
            "demo prints several different results (orders, relay counts, the report, a query) and -o csv fits one table: use -o json or -o table, or run the verbs one by one",
        ));
    }
    // The demo is read by a person even when its output is logged: tables unless -o says.
    let ctx = &ctx.with_default_output(OutputFormat::Table);
    let started = Instant::now();
    let count = args.orders.to_string();
    // History only into a new stack: a second demo adds today's orders to the same series.
    let new_stack = ctx.stack().await?.state().await?.is_none();
    step(
        ctx,
        "1/6 provision the stack",
        "salesctl up",
        up::run(ctx, args_from(&[])?),
    )
    .await?;
    if new_stack {
        let window = args.history.as_str();
        let per_day = args.history_orders_per_day.to_string();
        step(
            ctx,
            "2/6 write past orders, so the report has a series to forecast",
            &format!("salesctl generate --backfill {window} --orders-per-day {per_day}"),
            generate::run(
                ctx,
                args_from(&["--backfill", window, "--orders-per-day", &per_day])?,
            ),
        )
        .await?;
    } else {
        crate::say!("\n== 2/6 history: already written by an earlier demo");
    }
    step(
        ctx,
        "3/6 write today's orders, then update and delete some",
        &format!("salesctl generate --interval 0s --count {count}"),
        generate::run(ctx, args_from(&["--interval", "0s", "--count", &count])?),
    )
    .await?;
    step(
        ctx,
        "4/6 move the changes through the pipe and firehose stages into S3",
        "salesctl relay --drain --buffer-interval 1s",
        relay::run(ctx, args_from(&["--drain", "--buffer-interval", "1s"])?),
    )
    .await?;
    step(
        ctx,
        "5/6 reports on the lake",
        "salesctl report",
        report::run(ctx, args_from(&[])?),
    )
    .await?;
    let sql = "SELECT status, count(*) AS orders, sum(total) AS value FROM orders_current GROUP BY status ORDER BY orders DESC";
    step(
        ctx,
        "6/6 ask your own question",
        &format!("salesctl query \"{sql}\""),
        query::run(ctx, args_from(&[sql])?),
    )
    .await?;
    crate::say!(
        "\ndemo finished in {:.1}s; run it again to add more orders",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitStatus::SUCCESS)
}

async fn step(
    ctx: &Context,
    heading: &str,
    command: &str,
    work: impl Future<Output = anyhow::Result<ExitStatus>>,
) -> anyhow::Result<()> {
    crate::say!("\n== {heading}\n$ {command}");
    let started = Instant::now();
    let status = work.await?;
    crate::say!("({:.2}s)", started.elapsed().as_secs_f64());
    if ctx.is_shutting_down() {
        return Err(interrupted_error(
            "demo interrupted by Ctrl-C after this step; run it again to continue",
        ));
    }
    if status != ExitStatus::SUCCESS {
        return Err(anyhow::anyhow!(
            "step '{command}' ended with exit status {}",
            status.0
        ));
    }
    Ok(())
}

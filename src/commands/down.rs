//! `salesctl down`: delete everything `up` made, in reverse order, after a confirmation;
//! `--keep-data` keeps the bucket; what is already gone is reported "absent", not an error.

use std::io::{BufRead, IsTerminal, Write};

use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::stack::teardown::{self, DownOptions};
use crate::stack::{Outcome, Progress, StackNames};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Delete without asking (required when no terminal can ask).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Keep the S3 bucket and the lake's objects.
    #[arg(long)]
    pub keep_data: bool,
    /// Print what would be deleted and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let aws = ctx.aws().await?;
    let names = StackNames::resolve(aws, &ctx.settings).await?;
    if !args.yes && !args.dry_run {
        confirm(&names, args.keep_data)?;
    }
    let opts = DownOptions {
        dry_run: args.dry_run,
        keep_data: args.keep_data,
        emulator: ctx.settings.targets_emulator(),
    };
    let mut progress = Progress::new(ctx.output());
    tokio::select! {
        done = teardown::down(aws, &names, opts, &mut progress) => done?,
        () = ctx.shutdown_requested() => {
            eprintln!("salesctl: interrupted; run 'salesctl down' again to finish (what is gone is skipped)");
            return Ok(ExitStatus::INTERRUPTED);
        }
    }
    let tail = if args.dry_run {
        " (dry run: nothing changed)"
    } else {
        ""
    };
    eprintln!(
        "salesctl: stack '{}': {} deleted, {} absent, {} kept, {} would delete{tail}",
        names.prefix,
        progress.count(Outcome::Deleted),
        progress.count(Outcome::Absent),
        progress.count(Outcome::Kept),
        progress.count(Outcome::WouldDelete)
    );
    Ok(ExitStatus::SUCCESS)
}

fn confirm(names: &StackNames, keep_data: bool) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(usage_error(
            "down deletes the stack and its data and there is no terminal to confirm on: pass --yes",
        ));
    }
    let data = if keep_data {
        "the bucket is kept".to_string()
    } else {
        format!("bucket '{}' and every object in it", names.bucket)
    };
    eprint!(
        "Delete stack '{}': table '{}' with its items, stream '{}', {data}, roles, function, pipe, firehose, Glue and Athena? Type 'yes': ",
        names.prefix, names.table, names.stream
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        return Err(usage_error("not confirmed: nothing was deleted"));
    }
    Ok(())
}

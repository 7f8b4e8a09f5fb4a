//! `salesctl down`: delete the stack through CloudFormation after a confirmation, then empty
//! and remove the lake bucket (which the stack retains) unless `--keep-data`; says what is left.

use std::io::{BufRead, IsTerminal, Write};

use crate::commands::stack_progress;
use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::stack::{StackNames, bucket};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Delete without asking (required when no terminal can ask).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Keep the S3 bucket and the lake's objects.
    #[arg(long)]
    pub keep_data: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let stack = ctx.stack().await?;
    let (aws, names) = (stack.clients(), &stack.names);
    if !args.yes {
        confirm(names, args.keep_data)?;
    }
    let deleted = stack_progress::delete(ctx, &stack).await?;
    let stack = if deleted { "deleted" } else { "was not there" };
    let data = if !bucket::exists(aws, &names.bucket).await {
        "no bucket left".to_string()
    } else if args.keep_data {
        format!(
            "bucket '{}' kept with its data (--keep-data): the next 'salesctl up' brings it back into the stack; to delete it and its data instead, 'salesctl down --yes'",
            names.bucket
        )
    } else {
        let removed = bucket::remove(aws, &names.bucket).await?;
        format!(
            "bucket '{}' emptied ({removed} objects) and deleted",
            names.bucket
        )
    };
    crate::say!("salesctl: stack '{}' {stack}; {data}", names.stack_name());
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
        "Delete stack '{}' (table '{}' with its items, stream '{}', function, pipe, Firehose, Glue, Athena) and {data}? [y/N] ",
        names.stack_name(),
        names.table,
        names.stream
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        return Err(usage_error("not confirmed: nothing was deleted"));
    }
    Ok(())
}

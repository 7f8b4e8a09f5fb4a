//! `salesctl status`: every resource of the stack with its state, the stream's shards, the
//! Lambda's version and what the lake holds; non-zero exit when anything is missing or failed.

use crate::context::Context;
use crate::error::ExitStatus;
use crate::render::{Cell, Table};
use crate::stack::StackNames;
use crate::stack::health;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(ctx: &Context, _args: Args) -> anyhow::Result<ExitStatus> {
    let aws = ctx.aws().await?;
    let names = StackNames::resolve(aws, &ctx.settings).await?;
    let rows = health::status(aws, &names).await?;
    let mut table = Table::new(["resource", "name", "state", "detail"]);
    for r in &rows {
        table.push(vec![
            Cell::text(&r.resource),
            Cell::text(&r.name),
            Cell::text(&r.state),
            if r.detail.is_empty() {
                Cell::Null
            } else {
                Cell::text(&r.detail)
            },
        ]);
    }
    let mut out = std::io::stdout().lock();
    table.write(&mut out, ctx.output(), ctx.color)?;
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| !r.healthy)
        .map(|r| format!("{} {} ({})", r.resource, r.name, r.state))
        .collect();
    if bad.is_empty() {
        return Ok(ExitStatus::SUCCESS);
    }
    eprintln!(
        "salesctl: {} of {} resources missing or failed: {}; run 'salesctl up' to create what is missing",
        bad.len(),
        rows.iter().filter(|r| r.resource != "s3 prefix").count(),
        bad.join(", ")
    );
    Ok(ExitStatus::SERVICE)
}

//! `salesctl status`: the stack's state and each resource's from CloudFormation (drift with
//! `--drift`), then the live facts: open shards, function version, lake objects and age.
//! Non-zero exit when the stack or a resource is missing or failed.

use crate::context::Context;
use crate::error::{ExitStatus, service_error};
use crate::render::{Cell, Table};
use crate::stack::StackNames;
use crate::stack::facts::{live_facts, resource_facts};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also ask CloudFormation whether any resource drifted from the template (slower).
    #[arg(long)]
    pub drift: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let aws = ctx.aws().await?;
    let names = StackNames::resolve(aws, &ctx.settings).await?;
    let emulator = ctx.settings.targets_emulator();
    let deployer = super::up::deployer(aws, &names, emulator);
    let Some(state) = deployer.state().await? else {
        return Err(service_error(format!(
            "stack '{}' not found: run 'salesctl up' (or pass --stack-prefix NAME)",
            names.stack_name()
        )));
    };
    let resources = resource_facts(aws, &names, emulator, args.drift).await?;
    let version_arn = resources
        .iter()
        .find(|r| r.logical_id == "TransformVersion" && !r.physical_id.is_empty())
        .map(|r| r.physical_id.clone());
    let live = live_facts(aws, &names, version_arn.as_deref()).await;

    let mut table = Table::new(["resource", "type", "state", "detail"]);
    table.push(vec![
        Cell::text(names.stack_name()),
        Cell::text("AWS::CloudFormation::Stack"),
        Cell::text(&state.status),
        state.reason.as_deref().map_or(Cell::Null, Cell::text),
    ]);
    for r in &resources {
        let detail = match (&r.drift, r.physical_id.is_empty()) {
            (Some(drift), _) => format!("drift {drift}"),
            (None, false) => r.physical_id.clone(),
            (None, true) => String::new(),
        };
        table.push(vec![
            Cell::text(&r.logical_id),
            Cell::text(&r.resource_type),
            Cell::text(&r.state),
            if detail.is_empty() {
                Cell::Null
            } else {
                Cell::text(detail)
            },
        ]);
    }
    let fact = |name: &str, value: Option<String>| {
        vec![
            Cell::text(name),
            Cell::text("live"),
            value.map_or(Cell::Null, Cell::text),
            Cell::Null,
        ]
    };
    table.push(fact("open shards", live.open_shards.map(|n| n.to_string())));
    table.push(fact("function version", live.function_version.clone()));
    table.push(fact(
        "lake objects",
        live.lake_objects.map(|n| n.to_string()),
    ));
    table.push(fact(
        "newest object age",
        live.newest_object_age.map(|age| {
            humantime::format_duration(std::time::Duration::from_secs(age.as_secs())).to_string()
        }),
    ));
    table.push(fact(
        "error objects",
        live.error_objects.map(|n| n.to_string()),
    ));
    table.write(&mut std::io::stdout().lock(), ctx.output(), ctx.color)?;

    let stack_ok = state.status.ends_with("_COMPLETE") && !state.status.contains("ROLLBACK");
    let bad: Vec<String> = resources
        .iter()
        .filter(|r| !r.healthy)
        .map(|r| format!("{} ({})", r.logical_id, r.state))
        .collect();
    if stack_ok && bad.is_empty() {
        return Ok(ExitStatus::SUCCESS);
    }
    eprintln!(
        "salesctl: stack '{}' is {}{}: run 'salesctl up' to converge it",
        names.stack_name(),
        state.status,
        if bad.is_empty() {
            String::new()
        } else {
            format!("; not healthy: {}", bad.join(", "))
        }
    );
    Ok(ExitStatus::SERVICE)
}

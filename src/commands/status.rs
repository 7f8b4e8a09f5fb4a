//! `salesctl status`: the stack's state and each resource's from CloudFormation (drift with
//! `--drift`), then the live facts: open shards, function version, lake objects and age, and
//! whether data flows: the pipe's state, dead-letter messages, Firehose's and the
//! transform's last 15 minutes. Exit 254 when the stack or a resource is missing or failed,
//! 1 when it is built but data does not flow (or its health cannot be read).

use crate::context::Context;
use crate::error::ExitStatus;
use std::time::Duration;

use crate::render::{Cell, OutputFormat, Table};
use crate::stack::facts::{live_facts, resource_facts};
use crate::stack::health::{self, Targets};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also ask CloudFormation whether any resource drifted from the template (slower).
    #[arg(long)]
    pub drift: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let stack = ctx.stack().await?;
    let (aws, names, emulator) = (stack.clients(), &stack.names, stack.emulator);
    let state = stack
        .existing("run 'salesctl up' (or pass --stack-prefix NAME)")
        .await?;
    let resources = resource_facts(aws, names, emulator, args.drift).await?;
    let version_arn = resources
        .iter()
        .find(|r| r.logical_id == "TransformVersion" && !r.physical_id.is_empty())
        .map(|r| r.physical_id.clone());
    let buffer_seconds = state
        .parameter("BufferSeconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(ctx.settings.buffer_seconds);
    let targets = Targets::from_resources(names, &resources, emulator, buffer_seconds);
    let (live, facts) = tokio::join!(
        live_facts(aws, names, version_arn.as_deref()),
        health::gather(aws, &targets, chrono::Utc::now())
    );
    let health = health::judge(&facts);

    // For people, the logical ids say what each resource is; the type goes to pipes only.
    let people = ctx.output() == OutputFormat::Table;
    let mut table = if people {
        Table::new(["resource", "state", "detail"])
    } else {
        Table::new(["resource", "type", "state", "detail"])
    };
    let mut push = |resource: &str, kind: &str, state: Cell, detail: Option<String>| {
        let detail = detail
            .filter(|d| !d.is_empty())
            .map_or(Cell::Null, Cell::text);
        let mut row = vec![Cell::text(resource)];
        if !people {
            row.push(Cell::text(kind));
        }
        row.extend([state, detail]);
        table.push(row);
    };
    push(
        names.stack_name(),
        "AWS::CloudFormation::Stack",
        Cell::text(&state.status),
        state.reason.clone(),
    );
    for r in &resources {
        let detail = match &r.drift {
            Some(drift) => format!("drift {drift}"),
            // A queue's id is its URL; its name is what a person looks for.
            None if r.resource_type == "AWS::SQS::Queue" => r
                .physical_id
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string(),
            None => r.physical_id.clone(),
        };
        push(
            &r.logical_id,
            &r.resource_type,
            Cell::text(&r.state),
            Some(detail),
        );
    }
    let age = live
        .newest_object_age
        .map(|age| humantime::format_duration(Duration::from_secs(age.as_secs())).to_string());
    for (name, value) in [
        ("open shards", live.open_shards.map(|n| n.to_string())),
        ("function version", live.function_version.clone()),
        (
            "lake objects, 24 h",
            live.lake_objects.map(|n| n.to_string()),
        ),
        ("newest object age", age),
        (
            "error objects, 24 h",
            live.error_objects.map(|n| n.to_string()),
        ),
    ] {
        push(name, "live", value.map_or(Cell::Null, Cell::text), None);
    }
    for check in &health.checks {
        push(
            check.name,
            "health",
            Cell::text(&check.state),
            Some(check.detail.clone()),
        );
    }
    ctx.out().table(&table)?;

    let stack_ok = state.status.ends_with("_COMPLETE") && !state.status.contains("ROLLBACK");
    let bad: Vec<String> = resources
        .iter()
        .filter(|r| !r.healthy)
        .map(|r| format!("{} ({})", r.logical_id, r.state))
        .collect();
    let flow = health.reason();
    if stack_ok && bad.is_empty() {
        let Some(flow) = flow else {
            return Ok(ExitStatus::SUCCESS);
        };
        crate::say!(
            "salesctl: stack '{}' is built but not healthy: {flow}",
            names.stack_name()
        );
        return Ok(ExitStatus::FAILURE);
    }
    crate::say!(
        "salesctl: stack '{}' is {}{}: run 'salesctl up' to converge it{}",
        names.stack_name(),
        state.status,
        if bad.is_empty() {
            String::new()
        } else {
            format!("; not healthy: {}", bad.join(", "))
        },
        flow.map_or(String::new(), |f| format!("; also: {f}"))
    );
    Ok(ExitStatus::SERVICE)
}

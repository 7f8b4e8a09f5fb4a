//! `salesctl template`: the stack's CloudFormation template as deployed, or (`--parameters`)
//! the parameters for the current settings, so a user can deploy it with their own tooling.

use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::render::{Cell, OutputFormat, Table};
use crate::stack::template::TEMPLATE;
use crate::stack::{DeployOptions, StackNames};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the parameters for the current settings instead of the template: JSON
    /// (ParameterKey/ParameterValue, for `aws cloudformation deploy`), or a table or CSV
    /// with `-o`.
    #[arg(long)]
    pub parameters: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    if !args.parameters {
        // The template is the YAML `up` deploys, intrinsic-function tags and all; another
        // rendering would be a second template to keep true.
        if let Some(format) = ctx.requested_output {
            return Err(usage_error(format!(
                "the template is printed as the YAML 'up' deploys, so -o {} does not apply: drop -o (it applies to 'template --parameters')",
                format.name()
            )));
        }
        ctx.out().text(TEMPLATE)?;
        return Ok(ExitStatus::SUCCESS);
    }
    // No AWS call: an unset bucket is left empty and the template derives its name.
    let bucket = ctx.settings.bucket.clone().unwrap_or_default();
    let names = StackNames::new(&ctx.settings, "", "", &bucket);
    let options = DeployOptions::initial(chrono::Utc::now());
    let parameters = names.parameters(&ctx.settings, &options);
    parameters.validate()?;
    match ctx.requested_output {
        // CloudFormation's own parameter file, which `aws cloudformation deploy` takes.
        None | Some(OutputFormat::Json) => ctx
            .out()
            .text(&serde_json::to_string_pretty(&parameters.to_json())?)?,
        Some(_) => {
            let mut table = Table::new(["parameter", "value"]);
            for (key, value) in parameters.iter() {
                table.push(vec![Cell::text(key), Cell::text(value)]);
            }
            ctx.out().table(&table)?;
        }
    }
    Ok(ExitStatus::SUCCESS)
}

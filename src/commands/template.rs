//! `salesctl template`: the stack's CloudFormation template as deployed, or (`--parameters`)
//! the parameters for the current settings, so a user can deploy it with their own tooling.

use std::io::Write as _;

use crate::context::Context;
use crate::error::ExitStatus;
use crate::stack::template::TEMPLATE;
use crate::stack::{DeployOptions, StackNames};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the parameters for the current settings as JSON (ParameterKey/ParameterValue),
    /// instead of the template.
    #[arg(long)]
    pub parameters: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    if !args.parameters {
        write!(std::io::stdout().lock(), "{TEMPLATE}")?;
        return Ok(ExitStatus::SUCCESS);
    }
    // No AWS call: an unset bucket is left empty and the template derives its name.
    let bucket = ctx.settings.bucket.clone().unwrap_or_default();
    let names = StackNames::new(&ctx.settings, "", "", &bucket);
    let options = DeployOptions::initial(chrono::Utc::now());
    let parameters = names.parameters(&ctx.settings, &options);
    parameters.validate()?;
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&parameters.to_json())?
    )?;
    Ok(ExitStatus::SUCCESS)
}

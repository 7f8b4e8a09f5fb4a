//! `salesctl policy`: the least-privilege IAM policy an operator needs for this stack (its
//! account, region and names filled in), ready for `aws iam put-role-policy`.

use std::io::Write as _;

use crate::context::Context;
use crate::error::ExitStatus;
use crate::stack::StackNames;
use crate::stack::policy::operator_policy;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(ctx: &Context, _args: Args) -> anyhow::Result<ExitStatus> {
    let aws = ctx.aws().await?;
    let names = StackNames::resolve(aws, &ctx.settings).await?;
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&operator_policy(&names)?)?
    )?;
    Ok(ExitStatus::SUCCESS)
}

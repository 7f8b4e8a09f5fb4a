//! `salesctl deploy-lambda`: build the transform for provided.al2023 (or take a zip), upload
//! it by content hash and point the stack's code parameter at it; CloudFormation publishes a
//! new version and repoints Firehose's processor.

use std::path::PathBuf;

use crate::context::Context;
use crate::error::{ExitStatus, service_error};
use crate::lambda_build;
use crate::render::{Cell, Table};
use crate::stack::deploy::Deployed;
use crate::stack::facts::resource_facts;
use crate::stack::{StackNames, bucket};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Upload this zip (with a `bootstrap` at its root) instead of building.
    #[arg(long, value_name = "PATH")]
    pub zip: Option<PathBuf>,
    #[command(flatten)]
    pub function: super::FunctionArgs,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let aws = ctx.aws().await?;
    let names = StackNames::resolve(aws, &ctx.settings).await?;
    let emulator = ctx.settings.targets_emulator();
    let deployer = super::up::deployer(aws, &names, emulator);
    let Some(existing) = deployer.state().await? else {
        return Err(service_error(format!(
            "stack '{}' not found: run 'salesctl up' first (it creates the bucket the code goes to)",
            names.stack_name()
        )));
    };
    let mut options = super::up::deploy_options(Some(&existing), None, &args.function);
    names.parameters(&ctx.settings, &options).validate()?;
    let arch = args.function.arch;
    let artifact = match &args.zip {
        Some(path) => lambda_build::load_zip(path, arch)?,
        None => {
            let installs = args.function.installs();
            tokio::task::spawn_blocking(move || lambda_build::build(arch, installs)).await??
        }
    };
    crate::say!("salesctl: lambda artifact: {}", artifact.summary());
    options.code_key = bucket::upload_code(aws, &names.bucket, artifact.zip.clone()).await?;
    let deployed = super::up::deploy(ctx, &deployer, &names, &options, false).await?;
    let version = resource_facts(aws, &names, emulator, false)
        .await?
        .into_iter()
        .find(|r| r.logical_id == "TransformVersion")
        .map(|r| r.physical_id)
        .filter(|id| !id.is_empty());
    let mut table = Table::new([
        "function",
        "code",
        "version",
        "arch",
        "zip_bytes",
        "glibc",
        "stack",
    ]);
    table.push(vec![
        Cell::text(&names.lambda),
        Cell::text(format!("s3://{}/{}", names.bucket, options.code_key)),
        version.map_or(Cell::Null, Cell::text),
        Cell::text(arch.lambda_name()),
        Cell::number(artifact.zip.len()),
        artifact
            .newest_glibc
            .map_or(Cell::Null, |v| Cell::text(v.to_string())),
        Cell::text(match &deployed {
            Deployed::NoChanges => "no changes (this code is deployed)".to_string(),
            Deployed::Planned(_) => "planned".to_string(),
            Deployed::Done { status, .. } => status.clone(),
        }),
    ]);
    table.write(&mut std::io::stdout().lock(), ctx.output(), ctx.color)?;
    Ok(ExitStatus::SUCCESS)
}

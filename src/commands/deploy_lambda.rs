//! `salesctl deploy-lambda`: build the transform for provided.al2023 (or take a zip), upload
//! it by content hash and point the stack's code parameter at it; CloudFormation publishes a
//! new version and repoints Firehose's processor.

use std::path::PathBuf;

use crate::commands::stack_progress;
use crate::context::Context;
use crate::error::ExitStatus;
use crate::lambda_build::{self, Arch};
use crate::render::Table;
use crate::stack::DeployOptions;
use crate::stack::deploy::Deployed;
use crate::stack::workflow::StackChoice;

/// What `deploy-lambda` did.
#[derive(serde::Serialize)]
struct Deployment<'a> {
    function: &'a str,
    code: String,
    version: Option<String>,
    arch: &'static str,
    zip_bytes: usize,
    glibc: Option<String>,
    stack: String,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Upload this zip (with a `bootstrap` at its root) instead of building.
    #[arg(long, value_name = "PATH")]
    pub zip: Option<PathBuf>,
    #[command(flatten)]
    pub function: super::FunctionArgs,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let stack = ctx.stack().await?;
    let existing = stack
        .existing("run 'salesctl up' first (it creates the bucket the code goes to)")
        .await?;
    let mut options = DeployOptions::chosen(
        Some(&existing),
        StackChoice::default(),
        args.function.choice(),
    );
    stack.validate(&options)?;
    // New code is what this verb deploys, so any architecture may come with it.
    stack.check_update(Some(&existing), &options, true)?;
    // Built for the stack's architecture unless --arch names another.
    let arch = Arch::named(&options.architecture).unwrap_or(Arch::X86_64);
    let artifact = match &args.zip {
        Some(path) => lambda_build::load_zip(path, arch)?,
        None => {
            let installs = args.function.installs();
            let build_env = ctx.build_env();
            tokio::task::spawn_blocking(move || lambda_build::build(arch, installs, &build_env))
                .await??
        }
    };
    crate::say!("salesctl: lambda artifact: {}", artifact.summary());
    options.code_key = stack.upload_code(artifact.zip.clone()).await?;
    let deployed = stack_progress::apply(ctx, &stack, &options, false).await?;
    let version = stack.transform_version().await?;
    let names = &stack.names;
    let deployment = Table::from_records(&[Deployment {
        function: &names.lambda,
        code: format!("s3://{}/{}", names.bucket, options.code_key),
        version,
        arch: arch.lambda_name(),
        zip_bytes: artifact.zip.len(),
        glibc: artifact.newest_glibc.map(|v| v.to_string()),
        stack: match &deployed {
            Deployed::NoChanges => "no changes (this code is deployed)".to_string(),
            Deployed::Planned(_) => "planned".to_string(),
            Deployed::Done { status, .. } => status.clone(),
        },
    }])?;
    ctx.out().record("deployment", &deployment)?;
    Ok(ExitStatus::SUCCESS)
}

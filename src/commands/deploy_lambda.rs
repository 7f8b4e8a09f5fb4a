//! `salesctl deploy-lambda`: build the transform for provided.al2023 (or take a zip), create
//! or update the function, publish a version and point Firehose's processor at it.

use std::path::PathBuf;

use crate::context::Context;
use crate::error::ExitStatus;
use crate::lambda_build::{self, Arch};
use crate::render::{Cell, Table};
use crate::stack::StackNames;
use crate::stack::function;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Upload this zip (with a `bootstrap` at its root) instead of building.
    #[arg(long, value_name = "PATH")]
    pub zip: Option<PathBuf>,
    /// Lambda architecture (and Rust target) to build and run on.
    #[arg(long, default_value = "x86_64", value_parser = super::arch_parser())]
    pub arch: Arch,
    /// Memory in MB (default: keep the function's; 256 for a new one).
    #[arg(long, value_parser = clap::value_parser!(i32).range(128..=10240))]
    pub memory: Option<i32>,
    /// Timeout in seconds (default: keep the function's; 60 for a new one).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=900))]
    pub timeout: Option<i32>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let aws = ctx.aws().await?;
    let names = StackNames::resolve(aws, &ctx.settings).await?;
    let arch = args.arch;
    let artifact = match &args.zip {
        Some(path) => lambda_build::load_zip(path, arch)?,
        None => tokio::task::spawn_blocking(move || lambda_build::build(arch)).await??,
    };
    eprintln!("salesctl: lambda artifact: {}", artifact.summary());
    let zip_bytes = artifact.zip.len();
    let (created, version) = function::deploy_function(
        aws,
        &names,
        artifact.zip.clone(),
        arch,
        args.memory,
        args.timeout,
    )
    .await?;
    let version_arn = names.function_version_arn(&version);
    let firehose = if function::point_firehose_at(aws, &names, &version_arn).await? {
        format!("processor -> {version_arn}")
    } else {
        format!(
            "no firehose stream '{}' yet: 'salesctl up' will use this version",
            names.firehose
        )
    };
    let mut table = Table::new([
        "function",
        "action",
        "version",
        "arch",
        "zip_bytes",
        "glibc",
        "firehose",
    ]);
    table.push(vec![
        Cell::text(&names.lambda),
        Cell::text(if created { "created" } else { "updated" }),
        Cell::text(&version),
        Cell::text(arch.lambda_name()),
        Cell::number(zip_bytes),
        artifact
            .newest_glibc
            .map_or(Cell::Null, |v| Cell::text(v.to_string())),
        Cell::text(firehose),
    ]);
    table.write(&mut std::io::stdout().lock(), ctx.output(), ctx.color)?;
    Ok(ExitStatus::SUCCESS)
}

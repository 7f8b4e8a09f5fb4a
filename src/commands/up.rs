//! `salesctl up`: create or update the whole stack through a CloudFormation change set,
//! events shown as AWS works; `--dry-run` prints the change set and changes nothing.
//!
//! A new stack is deployed in two steps: first without transform code (so no function,
//! Firehose or pipe yet: nothing untransformed can reach the lake), then, once the zip is in
//! the bucket by its content hash, with it.

use std::path::PathBuf;

use crate::commands::stack_progress;
use crate::context::Context;
use crate::error::ExitStatus;
use crate::lambda_build;
use crate::stack::deploy::{Deployed, PlannedChange};
use crate::stack::{DeployOptions, StackNames};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the change set (add / modify / replace per resource) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Provisioned Kinesis shards (default: on-demand capacity, or what the stack has).
    #[arg(long, value_parser = super::values::bounded_u32(1, 500), allow_negative_numbers = true)]
    pub shards: Option<u32>,
    /// The zipped bootstrap to deploy (default: the last 'salesctl deploy-lambda' build,
    /// else build it now; on the emulator only with this flag).
    #[arg(long, value_name = "PATH", conflicts_with = "skip_lambda")]
    pub lambda_zip: Option<PathBuf>,
    /// Deploy no transform code: a new stack then has no function, Firehose or pipe until
    /// 'salesctl deploy-lambda'.
    #[arg(long)]
    pub skip_lambda: bool,
    #[command(flatten)]
    pub function: super::FunctionArgs,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let stack = ctx.stack().await?;
    let existing = stack.state().await?;
    let mut options = DeployOptions::chosen(existing.as_ref(), args.shards, args.function.choice());
    // Checked here too, not only in `apply`: a bad setting must fail before a zip is
    // built, which takes minutes.
    stack.validate(&options)?;
    let zip = lambda_zip(
        &args,
        stack.emulator,
        !options.code_key.is_empty(),
        ctx.build_env(),
    )
    .await?;

    let mut applied = stack_progress::apply(ctx, &stack, &options, args.dry_run).await?;
    if let Some(zip) = zip {
        if args.dry_run {
            crate::say!(
                "salesctl: then the transform zip goes to s3://{}/lambda/<sha256>.zip and a second change set adds the function, its version, Firehose and the pipe",
                stack.names.bucket
            );
        } else {
            let key = stack.upload_code(zip).await?;
            if key != options.code_key {
                options.code_key = key;
                let second = stack_progress::apply(ctx, &stack, &options, false).await?;
                applied = applied.then(second);
            }
        }
    }
    report(ctx, &stack.names, &applied, args.dry_run)?;
    Ok(ExitStatus::SUCCESS)
}

/// One planned or applied change, as `up` shows it.
#[derive(serde::Serialize)]
struct ChangeRow<'a> {
    action: String,
    resource: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// The change set on stdout (a table, JSON lines or CSV), the outcome in one line on stderr.
fn report(
    ctx: &Context,
    names: &StackNames,
    deployed: &Deployed,
    dry_run: bool,
) -> anyhow::Result<()> {
    let (changes, outcome): (&[PlannedChange], String) = match deployed {
        Deployed::NoChanges => {
            crate::say!(
                "salesctl: stack '{}': no changes (it matches the template and settings)",
                names.stack_name()
            );
            return Ok(());
        }
        Deployed::Planned(changes) => (changes, "dry run: nothing changed".to_string()),
        Deployed::Done { changes, status } => (changes, status.clone()),
    };
    let rows: Vec<ChangeRow> = changes
        .iter()
        .map(|change| ChangeRow {
            action: change.verb(),
            resource: &change.logical_id,
            kind: change.resource_type.trim_start_matches("AWS::"),
        })
        .collect();
    ctx.out().rows(&rows)?;
    let verb = if dry_run { "would change" } else { "changed" };
    crate::say!(
        "salesctl: stack '{}': {outcome}; {verb} {} resources",
        names.stack_name(),
        changes.len()
    );
    Ok(())
}

/// The zip to deploy, if any: `--lambda-zip`, else (when the stack has no code yet) the last
/// build or a new one. On the emulator nothing is built: the relay runs the transform
/// in-process there.
async fn lambda_zip(
    args: &Args,
    emulator: bool,
    has_code: bool,
    build_env: lambda_build::BuildEnv,
) -> anyhow::Result<Option<Vec<u8>>> {
    if args.skip_lambda {
        return Ok(None);
    }
    if let Some(path) = &args.lambda_zip {
        let artifact = lambda_build::load_zip(path, args.function.arch)?;
        crate::say!(
            "salesctl: lambda {}: {}",
            path.display(),
            artifact.summary()
        );
        return Ok(Some(artifact.zip));
    }
    if has_code {
        // 'salesctl deploy-lambda' changes the code; up keeps what is deployed.
        return Ok(None);
    }
    if emulator {
        crate::say!(
            "salesctl: local mode: the relay runs the transform in-process, so no function, Firehose or pipe is deployed (pass --lambda-zip to deploy one anyway)"
        );
        return Ok(None);
    }
    if let Some(path) = lambda_build::project_root()
        .map(|root| lambda_build::artifact_path(&root, args.function.arch, &build_env))
        && path.is_file()
    {
        let artifact = lambda_build::load_zip(&path, args.function.arch)?;
        crate::say!(
            "salesctl: lambda: reusing {} ({})",
            path.display(),
            artifact.summary()
        );
        return Ok(Some(artifact.zip));
    }
    if args.dry_run {
        crate::say!(
            "salesctl: the transform would be built for {}",
            args.function.arch.lambda_name()
        );
        return Ok(Some(Vec::new()));
    }
    let arch = args.function.arch;
    let artifact = {
        let installs = args.function.installs();
        tokio::task::spawn_blocking(move || lambda_build::build(arch, installs, &build_env))
            .await??
    };
    crate::say!("salesctl: lambda built: {}", artifact.summary());
    Ok(Some(artifact.zip))
}

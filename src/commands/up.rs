//! `salesctl up`: create or update the whole stack through a CloudFormation change set,
//! events shown as AWS works; `--dry-run` prints the change set and changes nothing.
//!
//! A new stack is deployed in two steps: first without transform code (so no function,
//! Firehose or pipe yet: nothing untransformed can reach the lake), then, once the zip is in
//! the bucket by its content hash, with it.

use std::path::PathBuf;

use crate::commands::stack_progress::StackProgress;
use crate::context::Context;
use crate::error::ExitStatus;
use crate::lambda_build;
use crate::render::{Cell, Table};
use crate::stack::deploy::{Deployed, Deployer, PlannedChange, StackState};
use crate::stack::template::TEMPLATE;
use crate::stack::{DeployOptions, StackNames, bucket};

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
    let aws = ctx.aws().await?;
    let names = StackNames::resolve(aws, &ctx.settings).await?;
    let emulator = ctx.settings.targets_emulator();
    let deployer = deployer(aws, &names, emulator);
    let existing = deployer.state().await?;
    let mut options = deploy_options(existing.as_ref(), args.shards, &args.function);
    // Checked here too, not only in `deploy`: a bad setting must fail before a zip is
    // built, which takes minutes.
    names.parameters(&ctx.settings, &options).validate()?;
    let zip = lambda_zip(&args, emulator, !options.code_key.is_empty()).await?;

    let mut applied = deploy(ctx, &deployer, &names, &options, args.dry_run).await?;
    if let Some(zip) = zip {
        if args.dry_run {
            crate::say!(
                "salesctl: then the transform zip goes to s3://{}/lambda/<sha256>.zip and a second change set adds the function, its version, Firehose and the pipe",
                names.bucket
            );
        } else {
            let key = bucket::upload_code(aws, &names.bucket, zip).await?;
            if key != options.code_key {
                options.code_key = key;
                let second = deploy(ctx, &deployer, &names, &options, false).await?;
                applied = merge(applied, second);
            }
        }
    }
    report(ctx, &names, &applied, args.dry_run)?;
    Ok(ExitStatus::SUCCESS)
}

/// The stack's deployer: polls quickly on the emulator, every few seconds on AWS.
pub fn deployer<'a>(
    aws: &'a crate::aws::Clients,
    names: &'a StackNames,
    emulator: bool,
) -> Deployer<'a> {
    Deployer {
        client: &aws.cloudformation,
        stack: names.stack_name(),
        poll: std::time::Duration::from_millis(if emulator { 200 } else { 3000 }),
    }
}

/// The deployment's options: flags first, then what the stack has, then the defaults. The
/// projection start stays the stack's creation date (changing it rewrites the Glue table).
pub fn deploy_options(
    existing: Option<&StackState>,
    shards: Option<u32>,
    function: &super::FunctionArgs,
) -> DeployOptions {
    let previous = |name: &str| existing.and_then(|s| s.parameter(name)).map(str::to_string);
    let previous_number = |name: &str| previous(name).and_then(|v| v.parse::<u32>().ok());
    let initial = DeployOptions::initial(chrono::Utc::now());
    DeployOptions {
        shards: shards
            .or(previous_number("ShardCount"))
            .unwrap_or(initial.shards),
        code_key: previous("CodeKey").unwrap_or(initial.code_key),
        architecture: function.arch.lambda_name().to_string(),
        memory_mb: function
            .memory
            .or(previous_number("FunctionMemory"))
            .unwrap_or(initial.memory_mb),
        timeout_seconds: function
            .timeout
            .or(previous_number("FunctionTimeout"))
            .unwrap_or(initial.timeout_seconds),
        projection_start: previous("ProjectionStart").unwrap_or(initial.projection_start),
    }
}

/// One change set, shown live; returns what it did.
pub async fn deploy(
    ctx: &Context,
    deployer: &Deployer<'_>,
    names: &StackNames,
    options: &DeployOptions,
    dry_run: bool,
) -> anyhow::Result<Deployed> {
    let parameters = names.parameters(&ctx.settings, options);
    parameters.validate()?;
    let progress = StackProgress::new(&format!("stack '{}'", deployer.stack));
    let mut stop = ctx.shutdown_signal();
    let outcome = deployer
        .deploy(TEMPLATE, &parameters, dry_run, &mut stop, &mut |event| {
            progress.event(event)
        })
        .await;
    progress.finish();
    outcome
}

fn merge(first: Deployed, second: Deployed) -> Deployed {
    match (first, second) {
        (
            Deployed::Done { mut changes, .. },
            Deployed::Done {
                changes: more,
                status,
            },
        ) => {
            changes.extend(more);
            Deployed::Done { changes, status }
        }
        (Deployed::NoChanges, second) => second,
        (first, Deployed::NoChanges) => first,
        (_, second) => second,
    }
}

/// The change set on stdout (a table, JSON lines or CSV), the outcome in one line on stderr.
pub fn report(
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
    let mut table = Table::new(["action", "resource", "type"]);
    for change in changes {
        table.push(vec![
            Cell::text(change.verb()),
            Cell::text(&change.logical_id),
            Cell::text(change.resource_type.trim_start_matches("AWS::")),
        ]);
    }
    table.write(&mut std::io::stdout().lock(), ctx.output(), ctx.color)?;
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
        .map(|root| lambda_build::artifact_path(&root, args.function.arch))
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
        tokio::task::spawn_blocking(move || lambda_build::build(arch, installs)).await??
    };
    crate::say!("salesctl: lambda built: {}", artifact.summary());
    Ok(Some(artifact.zip))
}

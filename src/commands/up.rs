//! `salesctl up`: create every missing resource of the stack in dependency order, leave the
//! existing ones as they are, one progress line each; `--dry-run` only shows the plan.

use clap::builder::TypedValueParser as _;
use std::path::PathBuf;

use crate::context::Context;
use crate::error::ExitStatus;
use crate::lambda_build::{self, Arch};
use crate::stack::function;
use crate::stack::resources::{self, StartingPosition, UpOptions};
use crate::stack::{Outcome, Progress, StackNames};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print what would be created and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Provisioned Kinesis shards (default: on-demand capacity).
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=500))]
    pub shards: Option<i32>,
    /// Where a new pipe starts reading the table's stream.
    #[arg(
        long,
        default_value = "latest",
        value_parser = clap::builder::PossibleValuesParser::new(["latest", "trim-horizon"])
            .map(|name| if name == "trim-horizon" { StartingPosition::TrimHorizon } else { StartingPosition::Latest })
    )]
    pub starting_position: StartingPosition,
    /// The zipped bootstrap to create the function from (default: the last build of
    /// 'salesctl deploy-lambda', else build it now).
    #[arg(long, value_name = "PATH", conflicts_with = "skip_lambda")]
    pub lambda_zip: Option<PathBuf>,
    /// Create no function; Firehose then delivers untransformed until 'salesctl deploy-lambda'.
    #[arg(long)]
    pub skip_lambda: bool,
    /// Architecture of a function built or uploaded here.
    #[arg(long, default_value = "x86_64", value_parser = super::arch_parser())]
    pub arch: Arch,
    /// The deny-unless-TLS bucket policy: auto = on, except against a local emulator (moto
    /// enforces the Deny without its condition, which would refuse every object request).
    #[arg(long, value_enum, default_value = "auto")]
    pub tls_policy: TlsPolicy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsPolicy {
    Auto,
    On,
    Off,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let aws = ctx.aws().await?;
    let names = StackNames::resolve(aws, &ctx.settings).await?;
    let emulator = ctx.settings.targets_emulator();
    let lambda = if args.skip_lambda {
        Err("--skip-lambda: Firehose gets no processor until 'salesctl deploy-lambda'".to_string())
    } else if function::get_function(aws, &names).await?.is_some() {
        // Exists: up leaves it alone, so there is nothing to build.
        Err("exists".to_string())
    } else {
        lambda_zip(&args, emulator).await?
    };
    let tls_policy = match args.tls_policy {
        TlsPolicy::Auto => !emulator,
        TlsPolicy::On => true,
        TlsPolicy::Off => false,
    };
    let opts = UpOptions {
        dry_run: args.dry_run,
        shards: args.shards,
        starting_position: args.starting_position,
        lambda,
        tls_policy,
    };
    let mut progress = Progress::new(ctx.output());
    // Every step is idempotent, so stopping between (or inside) calls is safe: the next
    // run picks up where this one stopped.
    tokio::select! {
        done = resources::up(aws, &names, &opts, &mut progress) => done?,
        () = ctx.shutdown_requested() => {
            eprintln!("salesctl: interrupted; run 'salesctl up' again to finish (it skips what exists)");
            return Ok(ExitStatus::INTERRUPTED);
        }
    }
    let counts = [
        Outcome::Created,
        Outcome::Updated,
        Outcome::Exists,
        Outcome::Skipped,
        Outcome::WouldCreate,
        Outcome::WouldUpdate,
    ]
    .iter()
    .filter(|o| progress.count(**o) > 0)
    .map(|o| format!("{} {}", progress.count(*o), o.as_str()))
    .collect::<Vec<_>>()
    .join(", ");
    let tail = if args.dry_run {
        " (dry run: nothing changed)"
    } else {
        ""
    };
    eprintln!("salesctl: stack '{}': {counts}{tail}", names.prefix);
    Ok(ExitStatus::SUCCESS)
}

/// The zip to create the function from, or why there is none. In a dry run nothing is
/// built: an empty zip stands for "would be built".
async fn lambda_zip(
    args: &Args,
    emulator: bool,
) -> anyhow::Result<Result<(Vec<u8>, Arch), String>> {
    if let Some(path) = &args.lambda_zip {
        let artifact = lambda_build::load_zip(path, args.arch)?;
        eprintln!(
            "salesctl: lambda {}: {}",
            path.display(),
            artifact.summary()
        );
        return Ok(Ok((artifact.zip, args.arch)));
    }
    if let Some(path) =
        lambda_build::project_root().map(|root| lambda_build::artifact_path(&root, args.arch))
        && path.is_file()
    {
        let artifact = lambda_build::load_zip(&path, args.arch)?;
        eprintln!(
            "salesctl: lambda: reusing {} ({})",
            path.display(),
            artifact.summary()
        );
        return Ok(Ok((artifact.zip, args.arch)));
    }
    if emulator {
        return Ok(Err(
            "no zip built: the emulator cannot run it; pass --lambda-zip or run 'salesctl deploy-lambda'".to_string()
        ));
    }
    if args.dry_run {
        return Ok(Ok((Vec::new(), args.arch)));
    }
    let arch = args.arch;
    let artifact = tokio::task::spawn_blocking(move || lambda_build::build(arch)).await??;
    eprintln!("salesctl: lambda built: {}", artifact.summary());
    Ok(Ok((artifact.zip, arch)))
}

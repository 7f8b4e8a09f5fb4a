//! `salesctl up`: create or update the whole stack through a CloudFormation change set,
//! events shown as AWS works; `--dry-run` prints the change set and changes nothing.
//!
//! A new stack is deployed in two steps: first without transform code (so no function,
//! Firehose or pipe yet: nothing untransformed can reach the lake), then, once the zip is in
//! the bucket by its content hash, with it. Where the bucket exists already (an existing
//! stack, or a bucket kept by `down --keep-data`, which comes back by import) the zip goes
//! first and one change set carries it, so no version is published with the old code.

use std::path::PathBuf;

use crate::commands::stack_progress;
use crate::context::Context;
use crate::error::ExitStatus;
use crate::lambda_build::{self, Arch};
use crate::stack::deploy::{Deployed, PlannedChange};
use crate::stack::template;
use crate::stack::workflow::{
    ParameterChange, StackChoice, conversion_buffer_note, lake_format_change, parameter_changes,
};
use crate::stack::{DeployOptions, StackNames, bucket};
use salesctl_core::lake_schema::LakeFormat;

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
    /// Point-in-time recovery (continuous backups, 35 days) of the orders table: on or off
    /// (default: the stack's, else on; about $0.20 per GB-month of table size).
    #[arg(long, value_name = "on|off", value_parser = on_off())]
    pub point_in_time_recovery: Option<bool>,
    /// How Firehose writes the lake: parquet (converted against the Glue table's schema) or
    /// json (default: the stack's, else the lake_format setting, parquet). Changing it keeps
    /// the objects already written in the old format.
    #[arg(long, value_name = "parquet|json", value_parser = super::values::lake_format())]
    pub lake_format: Option<LakeFormat>,
    #[command(flatten)]
    pub function: super::FunctionArgs,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let stack = ctx.stack().await?;
    let existing = stack.state().await?;
    let choice = StackChoice {
        shards: args.shards,
        point_in_time_recovery: args.point_in_time_recovery,
        lake_format: args.lake_format,
    };
    let mut options = DeployOptions::chosen(existing.as_ref(), choice, args.function.choice());
    // Checked here too, not only in `apply`: a bad setting, a stack that needs a hand, a
    // rename or an architecture without its code must fail before a zip is built, which
    // takes minutes.
    stack.validate(&options)?;
    stack.check_update(existing.as_ref(), &options, args.lambda_zip.is_some())?;
    let planned = stack.parameters(&options);
    let notes = [
        lake_format_change(
            stack.name(),
            &stack.names.bucket,
            existing.as_ref(),
            &planned,
        ),
        conversion_buffer_note(existing.as_ref(), &planned, ctx.settings.buffer_mb),
    ];
    for note in notes.into_iter().flatten() {
        crate::say!("{note}");
    }
    let kept = existing.as_ref().is_none_or(|s| s.is_under_review()) && stack.kept_bucket().await?;
    if kept {
        crate::say!(
            "salesctl: bucket '{}' is still there with its data (kept by 'down --keep-data'): {} it back into the new stack with an IMPORT change set",
            stack.names.bucket,
            if args.dry_run {
                "would bring"
            } else {
                "bringing"
            }
        );
    }
    let arch = Arch::named(&options.architecture).unwrap_or(Arch::X86_64);
    let mut zip = lambda_zip(
        &args,
        arch,
        stack.emulator,
        !options.code_key.is_empty(),
        ctx.build_env(),
    )
    .await?;
    let bucket_ready = kept || existing.as_ref().is_some_and(|s| !s.is_under_review());
    if bucket_ready && let Some(code) = zip.take_if(|code| !code.is_empty()) {
        // A dry run names the key the zip would get, uploading nothing.
        options.code_key = if args.dry_run {
            bucket::code_key(&code)
        } else {
            stack.upload_code(code).await?
        };
    }

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
    // What the parameters change, also when no resource changes with them (a change set
    // lists resources only).
    let parameters = existing
        .as_ref()
        .filter(|s| !s.is_under_review())
        .map(|s| parameter_changes(s, &stack.parameters(&options)))
        .unwrap_or_default();
    let built = (stack.emulator, !options.code_key.is_empty());
    report(
        ctx,
        &stack.names,
        &applied,
        &parameters,
        args.dry_run,
        built,
    )?;
    Ok(ExitStatus::SUCCESS)
}

/// `on` or `off`, as a bool.
fn on_off() -> impl clap::builder::TypedValueParser<Value = bool> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["on", "off"]).map(|v| v == "on")
}

/// One planned or applied change, as `up` shows it: a resource, or a parameter with its
/// old and new value.
#[derive(serde::Serialize)]
struct ChangeRow<'a> {
    action: String,
    resource: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    /// For a parameter, "old -> new".
    change: String,
}

/// The change set and the parameters it changes on stdout (a table, JSON lines or CSV), the
/// outcome in one line on stderr.
/// On the emulator each row says what is really built there (`emulator`, with whether the
/// stack has transform code).
fn report(
    ctx: &Context,
    names: &StackNames,
    deployed: &Deployed,
    parameters: &[ParameterChange],
    dry_run: bool,
    (emulator, has_code): (bool, bool),
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
    let mut rows: Vec<ChangeRow> = changes
        .iter()
        .map(|change| {
            let emulated = emulator
                .then(|| template::on_emulator(&change.logical_id, &change.resource_type, has_code))
                .flatten();
            ChangeRow {
                action: if emulated.is_some() {
                    "skip".to_string()
                } else {
                    change.verb()
                },
                resource: &change.logical_id,
                kind: change.resource_type.trim_start_matches("AWS::"),
                change: emulated.unwrap_or_default().to_string(),
            }
        })
        .collect();
    rows.extend(parameters.iter().map(|p| ChangeRow {
        action: "set".to_string(),
        resource: &p.name,
        kind: "Parameter",
        change: format!("{} -> {}", p.old.as_deref().unwrap_or("(unset)"), p.new),
    }));
    ctx.out().rows(&rows)?;
    let verb = if dry_run { "would change" } else { "changed" };
    let skipped = rows.iter().filter(|row| row.action == "skip").count();
    let skipped = if skipped > 0 {
        format!(" ({skipped} more skipped by the emulator)")
    } else {
        String::new()
    };
    crate::say!(
        "salesctl: stack '{}': {outcome}; {verb} {} resources{skipped} and {} parameters",
        names.stack_name(),
        changes.len() - rows.iter().filter(|row| row.action == "skip").count(),
        parameters.len()
    );
    Ok(())
}

/// The zip to deploy, if any: `--lambda-zip`, else (when the stack has no code yet) the last
/// build or a new one. On the emulator nothing is built: the relay runs the transform
/// in-process there.
async fn lambda_zip(
    args: &Args,
    arch: Arch,
    emulator: bool,
    has_code: bool,
    build_env: lambda_build::BuildEnv,
) -> anyhow::Result<Option<Vec<u8>>> {
    if args.skip_lambda {
        return Ok(None);
    }
    if let Some(path) = &args.lambda_zip {
        let artifact = lambda_build::load_zip(path, arch)?;
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
        .map(|root| lambda_build::artifact_path(&root, arch, &build_env))
        && path.is_file()
    {
        let artifact = lambda_build::load_zip(&path, arch)?;
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
            arch.lambda_name()
        );
        return Ok(Some(Vec::new()));
    }
    let artifact = {
        let installs = args.function.installs();
        tokio::task::spawn_blocking(move || lambda_build::build(arch, installs, &build_env))
            .await??
    };
    crate::say!("salesctl: lambda built: {}", artifact.summary());
    Ok(Some(artifact.zip))
}

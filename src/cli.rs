//! The command line: global AWS-CLI-style options shared by every verb, and the verb list.
//! Each verb's own flags live beside its code in `commands::<verb>::Args`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands;
use crate::render::OutputFormat;
use crate::settings::Overrides;

#[derive(Debug, Parser)]
#[command(
    name = "salesctl",
    version,
    about = "Operate a DynamoDB -> Kinesis -> Firehose -> S3 -> Athena sales CDC pipeline",
    long_about = None,
    propagate_version = true,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after any verb, as in the AWS CLI. The AWS_* variables keep
/// their usual meaning through aws-config's own resolution. In a verb's `--help` they come
/// under their own heading, after the verb's options, as the AWS CLI's help does.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Named profile from ~/.aws/config (default: AWS_PROFILE, then "default").
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (default: AWS_REGION, then the profile's region).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Send every request to this URL (default: AWS_ENDPOINT_URL, then AWS).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Use the local emulator (http://127.0.0.1:4566, us-east-1, dummy credentials).
    #[arg(long, global = true, env = "SALESCTL_LOCAL", value_parser = clap::builder::FalseyValueParser::new())]
    pub local: bool,
    /// Output format (default: table on a terminal, json lines otherwise).
    #[arg(long, short = 'o', global = true, value_parser = output_parser())]
    pub output: Option<OutputFormat>,
    /// More log detail on stderr (-v info, -vv debug, -vvv trace).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Prefix of every resource name, so two stacks can live side by side.
    #[arg(
        long,
        global = true,
        env = "SALESCTL_STACK_PREFIX",
        value_name = "PREFIX"
    )]
    pub stack_prefix: Option<String>,
    /// DynamoDB table (default: <prefix>-orders).
    #[arg(long, global = true, env = "SALESCTL_TABLE", value_name = "NAME")]
    pub table: Option<String>,
    /// Kinesis stream (default: <prefix>-cdc).
    #[arg(long, global = true, env = "SALESCTL_STREAM", value_name = "NAME")]
    pub stream: Option<String>,
    /// S3 bucket of the lake (default: <prefix>-lake-<account>-<region>).
    #[arg(long, global = true, env = "SALESCTL_BUCKET", value_name = "NAME")]
    pub bucket: Option<String>,
    /// Settings file (default: ./salesctl.toml when present, over the user's
    /// $XDG_CONFIG_HOME/salesctl/config.toml).
    #[arg(long, global = true, env = "SALESCTL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl GlobalArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            stack_prefix: self.stack_prefix.clone(),
            table: self.table.clone(),
            stream: self.stream.clone(),
            bucket: self.bucket.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            local: self.local,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write realistic orders into DynamoDB, updating and deleting some.
    Generate(commands::generate::Args),
    /// Run the Pipe and Firehose stages locally (DynamoDB stream -> Kinesis -> S3).
    Relay(commands::relay::Args),
    /// Run SQL on Athena or on the embedded engine over the lake.
    Query(commands::query::Args),
    /// Sales report: revenue, units, top products, CDC mix and a 7-day forecast.
    Report(commands::report::Args),
    /// Create or update the whole stack through a CloudFormation change set (--dry-run shows it).
    Up(commands::up::Args),
    /// The stack's and each resource's state (--drift too), shards, Lambda version, lake freshness.
    Status(commands::status::Args),
    /// Delete the stack, then empty and remove the lake bucket unless --keep-data (asks first).
    Down(commands::down::Args),
    /// Build the transform Lambda, upload it by content hash and update the stack to use it.
    DeployLambda(commands::deploy_lambda::Args),
    /// Print the stack's CloudFormation template (or, --parameters, its parameters as JSON).
    Template(commands::template::Args),
    /// Print the least-privilege IAM policy an operator needs for this stack.
    Policy(commands::policy::Args),
    /// Follow the CDC stream and show every change once, decoded (MODIFY as old -> new).
    TailCdc(commands::tail::Args),
    /// Apply the Firehose transform to a transformation event or to stream records (FILE or stdin).
    Transform(commands::transform::Args),
    /// The whole pipeline on the local emulator: up, generate, relay, report and a query.
    Demo(crate::demo::Args),
    /// Did every change reach the lake, once? Each stage counted and compared by change id.
    Reconcile(commands::reconcile::Args),
    /// One order's journey through every stage, with each hop's latency and what is missing.
    Trace(commands::trace::Args),
    /// A live view of the pipeline: changes/s per stage, freshness, lag, errors (q quits).
    Watch(commands::watch::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff): salesctl man | man -l -.
    Man,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Writes the completion script for `shell`, generated from the same definition clap parses
/// with, so it never lists a flag the binary lacks.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    use clap::CommandFactory as _;
    clap_complete::generate(shell, &mut Cli::command(), "salesctl", out);
}

/// Writes the man page (section 1) of the whole command line.
pub fn write_man_page(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use clap::CommandFactory as _;
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// `--output`: the library's `OutputFormat` knows nothing of clap; its names are checked and
/// listed here.
fn output_parser() -> impl clap::builder::TypedValueParser<Value = OutputFormat> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(OutputFormat::NAMES)
        .map(|name| OutputFormat::named(&name).unwrap_or(OutputFormat::Json))
}

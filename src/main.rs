//! The `salesctl` binary: parse the command line, run one verb, map errors to one line on
//! stderr and an AWS-CLI-compatible exit code.

use std::process::ExitCode;

use clap::Parser;
use salesctl::cli::{Cli, Command};
use salesctl::commands;
use salesctl::context::Context;
use salesctl::error::{self, ExitStatus};
use salesctl::settings::{self, FileSettings};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's first line names the flag, the value and why; the usage block that
            // follows it is noise in a script's log.
            let rendered = e.render().to_string();
            let line = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            eprintln!(
                "salesctl: error: {} (see --help)",
                line.trim_start_matches("error: ").trim()
            );
            return ExitCode::from(ExitStatus::USAGE.0);
        }
    };
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                &anyhow::anyhow!("cannot start the async runtime: {e}"),
                true,
            );
        }
    };
    let verbose = cli.global.verbose > 0;
    match runtime.block_on(run(cli)) {
        Ok(status) => ExitCode::from(status.0),
        Err(e) => fail(&e, verbose),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let file = FileSettings::load(cli.global.config.as_deref())?;
    let settings = settings::resolve(file, cli.global.overrides());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        // First Ctrl-C: ask verbs to finish in-flight work and print their summary.
        // Second: the user means it.
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("salesctl: interrupted again, exiting now");
                std::process::exit(ExitStatus::INTERRUPTED.0.into());
            }
        }
    });
    let ctx = Context::new(settings, cli.global.output, stop_rx);
    match cli.command {
        Command::Generate(args) => commands::generate::run(&ctx, args).await,
        Command::Relay(args) => commands::relay::run(&ctx, args).await,
        Command::Query(args) => commands::query::run(&ctx, args).await,
        Command::Report(args) => commands::report::run(&ctx, args).await,
        Command::Up(args) => commands::up::run(&ctx, args).await,
        Command::Status(args) => commands::status::run(&ctx, args).await,
        Command::Down(args) => commands::down::run(&ctx, args).await,
        Command::DeployLambda(args) => commands::deploy_lambda::run(&ctx, args).await,
        Command::Template(args) => commands::template::run(&ctx, args).await,
        Command::Policy(args) => commands::policy::run(&ctx, args).await,
        Command::TailCdc(args) => commands::tail::run(&ctx, args).await,
        Command::Transform(args) => commands::transform::run(&ctx, args).await,
        Command::Demo(args) => commands::demo::run(&ctx, args).await,
    }
}

fn fail(error: &anyhow::Error, verbose: bool) -> ExitCode {
    // One line: the cause chain joined, never a multi-line dump of internals; with -v, a
    // second line with the SDK's whole account and the request id.
    let message = format!("{error:#}").replace('\n', " ");
    eprintln!("salesctl: error: {message}");
    if verbose && let Some(detail) = error::detail_of(error) {
        eprintln!("salesctl: detail: {detail}");
    }
    ExitCode::from(error::exit_status_of(error).0)
}

fn init_tracing(verbosity: u8) {
    let default = match verbosity {
        0 => "warn",
        1 => "salesctl=info",
        2 => "salesctl=debug,aws_config=info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SALESCTL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .init();
}

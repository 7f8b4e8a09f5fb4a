//! The `salesctl` binary: parse the command line, run one verb, map errors to one line on
//! stderr and an AWS-CLI-compatible exit code.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};
use salesctl::cli::{self, Cli, Command};
use salesctl::commands;
use salesctl::context::{self, Context};
use salesctl::error::{self, ExitStatus};
use salesctl::output;
use salesctl::settings::{self, Dirs, FileSettings};

/// `--version`: the release, then with `--version` (not `-V`) the commit, target, profile and
/// engines, so a bug report names exactly what ran.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("SALESCTL_GIT_COMMIT"),
    "\ntarget: ",
    env!("SALESCTL_TARGET"),
    "\nprofile: ",
    env!("SALESCTL_PROFILE"),
    "\nengines: athena, local (DataFusion)",
    "\nemulator: moto (scripts/local-aws)"
);

/// The stack of the threads verbs run on.
const VERB_STACK_BYTES: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    let command = Cli::command().long_version(LONG_VERSION);
    let cli = match command
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(e) => {
            // clap's own message, untouched: the offending word, "did you mean", the allowed
            // values, the missing argument's name and a usage line. Help and --version go to
            // stdout and succeed; errors exit 2, as clap and most CLIs do.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(ExitStatus::USAGE.0)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_tracing(cli.global.verbose);
    match cli.command {
        // Generated into memory, then written like every result: clap_complete panics on a
        // failed write, and `completions bash | head -1` closes the pipe early.
        Command::Completions(args) => {
            let mut script = Vec::new();
            cli::write_completions(args.shell, &mut script);
            let written = output::to_stdout(|out| out.write_all(&script));
            return written.map_or_else(|e| fail(&e, false), |()| ExitCode::SUCCESS);
        }
        Command::Man => {
            let mut page = Vec::new();
            let written = cli::write_man_page(&mut page)
                .map_err(anyhow::Error::from)
                .and_then(|()| output::to_stdout(|out| out.write_all(&page)));
            return written.map_or_else(|e| fail(&e, false), |()| ExitCode::SUCCESS);
        }
        _ => {}
    }
    // Verbs run on a thread with a large stack (and the runtime's workers too): SQL planning
    // and deep JSON recurse, and a query at the nesting bound must not find 8 MiB too small.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(VERB_STACK_BYTES)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                &anyhow::anyhow!("cannot start the async runtime: {e}"),
                true,
            );
        }
    };
    let verbose = cli.global.verbose > 0;
    let verb = std::thread::Builder::new()
        .name("salesctl-verb".into())
        .stack_size(VERB_STACK_BYTES)
        .spawn(move || {
            let result = runtime.block_on(run(cli));
            // Background SDK tasks must not hold the process after the verb is done.
            runtime.shutdown_timeout(std::time::Duration::from_millis(200));
            result
        });
    let result = match verb.map(std::thread::JoinHandle::join) {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(anyhow::anyhow!(
            "salesctl stopped on an internal error (a bug): run with -v and report it"
        )),
        Err(e) => Err(anyhow::anyhow!("cannot start a thread for the verb: {e}")),
    };
    match result {
        Ok(status) => ExitCode::from(status.0),
        Err(e) => fail(&e, verbose),
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let env = context::read_environment();
    let dirs = Dirs::from_environment(&env);
    let file = FileSettings::load(cli.global.config.as_deref(), dirs.user_config.as_deref())?;
    let settings = settings::resolve(file, cli.global.overrides(), &env)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        // First Ctrl-C: ask verbs to finish in-flight work and print their summary.
        // Second: the user means it.
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                salesctl::say!("salesctl: interrupted again, exiting now");
                std::process::exit(ExitStatus::INTERRUPTED.0.into());
            }
        }
    });
    let ctx = Context::new(settings, env, cli.global.output, stop_rx);
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
        Command::Demo(args) => salesctl::demo::run(&ctx, args).await,
        Command::Reconcile(args) => commands::reconcile::run(&ctx, args).await,
        Command::Trace(args) => commands::trace::run(&ctx, args).await,
        Command::Watch(args) => commands::watch::run(&ctx, args).await,
        Command::Completions(_) | Command::Man => Ok(ExitStatus::SUCCESS),
    }
}

fn fail(error: &anyhow::Error, verbose: bool) -> ExitCode {
    // A reader that went away (`| head`) got what it wanted: end quietly, successfully.
    if output::is_closed_pipe(error) {
        return ExitCode::SUCCESS;
    }
    // One line: the cause chain joined, never a multi-line dump of internals; with -v, a
    // second line with the SDK's whole account and the request id.
    let message = format!("{error:#}").replace('\n', " ");
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "salesctl: error: {message}");
    if verbose && let Some(detail) = error::detail_of(error) {
        let _ = writeln!(stderr, "salesctl: detail: {detail}");
    }
    ExitCode::from(error::exit_status_of(error).0)
}

fn init_tracing(verbosity: u8) {
    use std::io::IsTerminal as _;
    // Without -v only salesctl's own warnings: the SDK's (IMDS probes, profile parsing) would
    // come before the one-line error that already says what to fix.
    let default = match verbosity {
        0 => "salesctl=warn",
        1 => "salesctl=info,aws_config=warn",
        2 => "salesctl=debug,aws_config=info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SALESCTL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
}

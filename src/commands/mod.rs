//! One module per verb: each parses nothing itself (clap does), calls the library, renders.
//! Also the exit statuses and error kinds every verb shares, following the AWS CLI's codes.

use std::fmt;

pub mod demo;
pub mod deploy_lambda;
pub mod down;
pub mod generate;
pub mod query;
pub mod relay;
pub mod report;
pub mod status;
pub mod tail;
pub mod transform;
pub mod up;

/// The process exit status a verb asks for. The values follow the AWS CLI v2 return codes
/// so scripts written against `aws` keep working against `salesctl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus(pub u8);

impl ExitStatus {
    pub const SUCCESS: ExitStatus = ExitStatus(0);
    /// Some of the work failed while the rest succeeded (the AWS CLI's partial-failure code).
    pub const FAILURE: ExitStatus = ExitStatus(1);
    /// Stopped by Ctrl-C (SIGINT), after a clean stop.
    pub const INTERRUPTED: ExitStatus = ExitStatus(130);
    /// The command line could not be parsed or a value is invalid.
    pub const USAGE: ExitStatus = ExitStatus(252);
    /// The environment is not usable: no region, no credentials, bad config file.
    pub const CONFIG: ExitStatus = ExitStatus(253);
    /// AWS (or the emulator) answered with an error, e.g. a resource that does not exist.
    pub const SERVICE: ExitStatus = ExitStatus(254);
    /// Anything else.
    pub const GENERAL: ExitStatus = ExitStatus(255);
}

/// An error that carries the exit status it should end the process with. Build it with
/// [`usage_error`], [`config_error`] or [`service_error`]; other errors exit with 255.
#[derive(Debug)]
pub struct CliError {
    pub status: ExitStatus,
    pub message: String,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

pub fn usage_error(message: impl Into<String>) -> anyhow::Error {
    CliError {
        status: ExitStatus::USAGE,
        message: message.into(),
    }
    .into()
}

pub fn config_error(message: impl Into<String>) -> anyhow::Error {
    CliError {
        status: ExitStatus::CONFIG,
        message: message.into(),
    }
    .into()
}

pub fn interrupted_error(message: impl Into<String>) -> anyhow::Error {
    CliError {
        status: ExitStatus::INTERRUPTED,
        message: message.into(),
    }
    .into()
}

pub fn service_error(message: impl Into<String>) -> anyhow::Error {
    CliError {
        status: ExitStatus::SERVICE,
        message: message.into(),
    }
    .into()
}

/// The exit status an error should end the process with.
pub fn exit_status_of(error: &anyhow::Error) -> ExitStatus {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<CliError>())
        .map_or(ExitStatus::GENERAL, |e| e.status)
}

/// Parses a verb's flags from words, so a verb that runs other verbs (demo) uses their real
/// flags and defaults instead of building their structs by hand.
pub fn args_from<A: clap::Args + clap::FromArgMatches>(words: &[&str]) -> anyhow::Result<A> {
    let command = A::augment_args(clap::Command::new("salesctl").no_binary_name(true));
    let matches = command
        .try_get_matches_from(words)
        .map_err(|e| usage_error(e.to_string()))?;
    Ok(A::from_arg_matches(&matches)?)
}

//! The bottom of the CLI: exit statuses (the AWS CLI's codes) and the error kinds every layer
//! returns, so an error raised deep in the stream reader still ends the process correctly.

use std::fmt;

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

//! The bottom of the CLI: exit statuses (the AWS CLI's codes) and the error kinds every layer
//! returns, so an error raised deep in the stream reader still ends the process correctly.

use std::fmt;

/// The process exit status a verb asks for. The values follow the AWS CLI v2 return codes
/// (so scripts written against `aws` keep working against `salesctl`), except usage errors:
/// 2, as clap, POSIX utilities and most CLIs use, everywhere (clap's and our own checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus(pub u8);

impl ExitStatus {
    pub const SUCCESS: ExitStatus = ExitStatus(0);
    /// Some of the work failed while the rest succeeded (the AWS CLI's partial-failure code).
    pub const FAILURE: ExitStatus = ExitStatus(1);
    /// Stopped by Ctrl-C (SIGINT), after a clean stop.
    pub const INTERRUPTED: ExitStatus = ExitStatus(130);
    /// The command line could not be parsed or a value is invalid.
    pub const USAGE: ExitStatus = ExitStatus(2);
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
    /// What the one line leaves out, shown with `-v`: the SDK's full error chain and the
    /// request id to quote to AWS support.
    pub detail: Option<String>,
}

impl CliError {
    pub fn new(status: ExitStatus, message: impl Into<String>) -> CliError {
        CliError {
            status,
            message: message.into(),
            detail: None,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

pub fn usage_error(message: impl Into<String>) -> anyhow::Error {
    CliError::new(ExitStatus::USAGE, message).into()
}

pub fn config_error(message: impl Into<String>) -> anyhow::Error {
    CliError::new(ExitStatus::CONFIG, message).into()
}

pub fn interrupted_error(message: impl Into<String>) -> anyhow::Error {
    CliError::new(ExitStatus::INTERRUPTED, message).into()
}

pub fn service_error(message: impl Into<String>) -> anyhow::Error {
    CliError::new(ExitStatus::SERVICE, message).into()
}

/// A service error (exit 254) that keeps the SDK's own account of it for `-v`.
pub fn service_error_with_detail(message: impl Into<String>, detail: String) -> anyhow::Error {
    CliError {
        detail: Some(detail),
        ..CliError::new(ExitStatus::SERVICE, message)
    }
    .into()
}

/// The `-v` detail of an error, if one of its causes carries it.
pub fn detail_of(error: &anyhow::Error) -> Option<&str> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<CliError>())
        .and_then(|e| e.detail.as_deref())
}

/// The exit status an error should end the process with.
pub fn exit_status_of(error: &anyhow::Error) -> ExitStatus {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<CliError>())
        .map_or(ExitStatus::GENERAL, |e| e.status)
}

//! One module per verb: each parses nothing itself (clap does), calls the library, renders.
//! Verbs sit at the top: nothing below `commands` imports it.

use clap::builder::{PossibleValuesParser, TypedValueParser};

use crate::error::usage_error;
use crate::lambda_build::{Arch, Installs};
use crate::stack::workflow::FunctionChoice;

pub mod activity;
pub mod deploy_lambda;
pub mod down;
pub mod engine;
pub mod generate;
pub mod policy;
pub mod query;
pub mod reconcile;
pub mod relay;
pub mod report;
pub mod stack_progress;
pub mod status;
pub mod tail;
pub mod template;
pub mod trace;
pub mod transform;
pub mod up;
pub mod values;
pub mod watch;

/// Parses a verb's flags from words, so a verb that runs other verbs (demo) uses their real
/// flags and defaults instead of building their structs by hand.
pub fn args_from<A: clap::Args + clap::FromArgMatches>(words: &[&str]) -> anyhow::Result<A> {
    let command = A::augment_args(clap::Command::new("salesctl").no_binary_name(true));
    let matches = command
        .try_get_matches_from(words)
        .map_err(|e| usage_error(e.to_string()))?;
    Ok(A::from_arg_matches(&matches)?)
}

/// `--arch`: Lambda's architecture names, checked and listed by clap (the library's `Arch`
/// knows nothing of clap).
pub fn arch_parser() -> impl TypedValueParser<Value = Arch> {
    PossibleValuesParser::new(Arch::NAMES).map(|name| Arch::named(&name).unwrap_or(Arch::X86_64))
}

/// The function's flags `up` and `deploy-lambda` share.
#[derive(Debug, Clone, clap::Args)]
pub struct FunctionArgs {
    /// Lambda architecture (and Rust target) to build and run on (default: the stack's,
    /// else x86_64). A change needs code for it in the same run.
    #[arg(long, value_parser = arch_parser())]
    pub arch: Option<Arch>,
    /// Function memory in MB (default: the stack's, else 256).
    #[arg(long, value_parser = values::bounded_u32(128, 10240), allow_negative_numbers = true)]
    pub memory: Option<u32>,
    /// Let a build install the tools it lacks (zig from PyPI into the checkout's
    /// .local/zig-venv, cargo-zigbuild with cargo install) instead of stopping to ask.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Function timeout in seconds, at most Firehose's 300 (default: the stack's, else 60).
    #[arg(long, value_parser = values::bounded_u32(1, 300), allow_negative_numbers = true)]
    pub timeout: Option<u32>,
}

impl FunctionArgs {
    /// The function settings these flags choose for the stack workflow.
    pub fn choice(&self) -> FunctionChoice<'static> {
        FunctionChoice {
            architecture: self.arch.map(Arch::lambda_name),
            memory_mb: self.memory,
            timeout_seconds: self.timeout,
        }
    }

    /// What a Lambda build may install (`--yes`).
    pub fn installs(&self) -> Installs {
        if self.yes {
            Installs::Allowed
        } else {
            Installs::Refused
        }
    }
}

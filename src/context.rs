//! What every verb receives: resolved settings, the output format, AWS clients built once,
//! and the Ctrl-C signal, so verbs stay thin and behave alike.
//!
//! The only module (with the binary's `main`) that reads the process environment: it is
//! captured once by [`read_environment`], and every lower module gets values from here.

use std::io::IsTerminal;

use tokio::sync::{OnceCell, watch};

use crate::aws::Clients;
use crate::render::OutputFormat;
use crate::settings::{Dirs, Environment, Settings};
use crate::stack::workflow::Stack;

/// Every variable salesctl reads, read once.
pub fn read_environment() -> Environment {
    let path = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    };
    let text = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Environment {
        home: path("HOME"),
        xdg_config_home: path("XDG_CONFIG_HOME"),
        xdg_state_home: path("XDG_STATE_HOME"),
        state_dir: path("SALESCTL_STATE_DIR"),
        local_endpoint: text("SALESCTL_LOCAL_ENDPOINT"),
        aws_endpoint_url: text("AWS_ENDPOINT_URL"),
        no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        columns: text("COLUMNS").and_then(|c| c.trim().parse().ok()),
        path: std::env::var_os("PATH"),
        cargo_target_dir: path("CARGO_TARGET_DIR"),
    }
}

pub struct Context {
    pub settings: Settings,
    /// The environment as read at start.
    pub env: Environment,
    /// Config and state directories.
    pub dirs: Dirs,
    /// The format the user asked for; `None` means "pick per verb" (see [`Context::output`]).
    pub requested_output: Option<OutputFormat>,
    /// Colours and styling allowed (NO_COLOR unset and stdout is a terminal).
    pub color: bool,
    /// Shared with contexts derived by [`Context::with_default_output`], so the demo's
    /// steps reuse the clients (and the endpoint probe) of the context they came from.
    clients: std::sync::Arc<OnceCell<Clients>>,
    shutdown: watch::Receiver<bool>,
}

impl Context {
    pub fn new(
        settings: Settings,
        env: Environment,
        requested_output: Option<OutputFormat>,
        shutdown: watch::Receiver<bool>,
    ) -> Context {
        let color = !env.no_color && std::io::stdout().is_terminal();
        crate::render::set_columns_hint(env.columns);
        Context {
            dirs: Dirs::from_environment(&env),
            env,
            settings,
            requested_output,
            color,
            clients: std::sync::Arc::new(OnceCell::new()),
            shutdown,
        }
    }

    /// This context with `format` as the output when the user asked for none: for verbs that
    /// are a show for a person (demo) whatever stdout is.
    pub fn with_default_output(&self, format: OutputFormat) -> Context {
        Context {
            settings: self.settings.clone(),
            env: self.env.clone(),
            dirs: self.dirs.clone(),
            requested_output: Some(self.requested_output.unwrap_or(format)),
            color: self.color,
            clients: self.clients.clone(),
            shutdown: self.shutdown.clone(),
        }
    }

    /// The output format: what the user asked for, else a table for a person at a terminal
    /// and JSON lines for a pipe.
    pub fn output(&self) -> OutputFormat {
        self.requested_output.unwrap_or_else(|| {
            if std::io::stdout().is_terminal() {
                OutputFormat::Table
            } else {
                OutputFormat::Json
            }
        })
    }

    /// Where results go: stdout in the chosen format, a closed pipe ending quietly.
    pub fn out(&self) -> crate::output::Output {
        crate::output::Output {
            format: self.output(),
            color: self.color,
        }
    }

    /// AWS clients, resolved on first use so verbs that need no AWS never look for
    /// credentials.
    pub async fn aws(&self) -> anyhow::Result<&Clients> {
        self.clients
            .get_or_try_init(|| Clients::load(&self.settings))
            .await
    }

    /// What a Lambda build takes from the environment.
    pub fn build_env(&self) -> crate::lambda_build::BuildEnv {
        crate::lambda_build::BuildEnv {
            path: self.env.path.clone(),
            cargo_target_dir: self.env.cargo_target_dir.clone(),
        }
    }

    /// True when the SDK talks to an emulator on this machine (however the endpoint was
    /// given: flag, `--local`, `AWS_ENDPOINT_URL` or a profile's `endpoint_url`).
    /// An endpoint named by a flag, `--local` or `AWS_ENDPOINT_URL` beats a profile's, so
    /// only without one are the SDK's settings loaded to ask.
    pub async fn targets_emulator(&self) -> anyhow::Result<bool> {
        if let Some(endpoint) = self.settings.known_endpoint()? {
            return Ok(endpoint.emulator);
        }
        Ok(self.aws().await?.targets_emulator())
    }

    /// The stack these settings name, its names resolved (one STS call).
    pub async fn stack(&self) -> anyhow::Result<Stack<'_>> {
        let aws = self.aws().await?;
        Stack::open(aws, &self.settings, aws.targets_emulator()).await
    }

    /// True once Ctrl-C was pressed.
    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Resolves when Ctrl-C is pressed; use it in `tokio::select!` to stop cleanly.
    pub async fn shutdown_requested(&self) {
        let mut rx = self.shutdown.clone();
        // An error means the sender is gone, which only happens at process exit.
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// A receiver for tasks that outlive a borrow of the context.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }
}

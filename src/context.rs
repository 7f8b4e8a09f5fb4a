//! What every verb receives: resolved settings, the output format, AWS clients built once,
//! and the Ctrl-C signal, so verbs stay thin and behave alike.

use std::io::IsTerminal;

use tokio::sync::{OnceCell, watch};

use crate::aws::Clients;
use crate::render::OutputFormat;
use crate::settings::Settings;

pub struct Context {
    pub settings: Settings,
    /// The format the user asked for; `None` means "pick per verb" (see [`Context::output`]).
    pub requested_output: Option<OutputFormat>,
    /// Colours and styling allowed (NO_COLOR unset and stdout is a terminal).
    pub color: bool,
    clients: OnceCell<Clients>,
    shutdown: watch::Receiver<bool>,
}

impl Context {
    pub fn new(
        settings: Settings,
        requested_output: Option<OutputFormat>,
        shutdown: watch::Receiver<bool>,
    ) -> Context {
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stdout().is_terminal();
        Context {
            settings,
            requested_output,
            color,
            clients: OnceCell::new(),
            shutdown,
        }
    }

    /// This context with `format` as the output when the user asked for none: for verbs that
    /// are a show for a person (demo) whatever stdout is.
    pub fn with_default_output(&self, format: OutputFormat) -> Context {
        Context {
            settings: self.settings.clone(),
            requested_output: Some(self.requested_output.unwrap_or(format)),
            color: self.color,
            clients: OnceCell::new(),
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

    /// AWS clients, resolved on first use so verbs that need no AWS never look for
    /// credentials.
    pub async fn aws(&self) -> anyhow::Result<&Clients> {
        self.clients
            .get_or_try_init(|| Clients::load(&self.settings))
            .await
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

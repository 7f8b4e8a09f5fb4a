//! What `up`, `deploy-lambda` and `down` show while CloudFormation works: a spinner with the
//! latest event on a terminal, and one line per resource event (plain lines in a log).
//! [`apply`] and [`delete`] run the stack workflow with that display and Ctrl-C wired in.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::context::Context;
use crate::stack::DeployOptions;
use crate::stack::deploy::{Deployed, Event};
use crate::stack::workflow::Stack;

/// One change set, shown live; returns what it did.
pub async fn apply(
    ctx: &Context,
    stack: &Stack<'_>,
    options: &DeployOptions,
    dry_run: bool,
) -> anyhow::Result<Deployed> {
    let progress = StackProgress::new(&format!("stack '{}'", stack.name()));
    let mut stop = ctx.shutdown_signal();
    let outcome = stack
        .apply(options, dry_run, &mut stop, &mut |event| {
            progress.event(event)
        })
        .await;
    progress.finish();
    outcome
}

/// Deletes the stack, shown live; false when there was none.
pub async fn delete(ctx: &Context, stack: &Stack<'_>) -> anyhow::Result<bool> {
    let progress = StackProgress::new(&format!("deleting stack '{}'", stack.name()));
    let mut stop = ctx.shutdown_signal();
    let deleted = stack
        .delete(&mut stop, &mut |event| progress.event(event))
        .await;
    progress.finish();
    deleted
}

pub struct StackProgress {
    bar: Option<ProgressBar>,
}

impl StackProgress {
    pub fn new(what: &str) -> StackProgress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(what.to_string());
            bar
        });
        StackProgress { bar }
    }

    pub fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => crate::say!("{text}"),
        }
    }

    pub fn event(&self, event: &Event) {
        let reason = event
            .reason
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        let text = format!(
            "  {:<20} {} ({}){reason}",
            event.status, event.logical_id, event.resource_type
        );
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{} {}", event.status, event.logical_id));
        }
        self.line(&text);
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

//! Signs of life on stderr for long or waiting work: a spinner on a terminal, else a plain
//! line every half minute, so neither a person nor a log ever mistakes silence for a hang.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a plain line is written when stderr is a log, not a terminal.
pub const LOG_EVERY: Duration = Duration::from_secs(30);

pub struct Activity {
    bar: Option<ProgressBar>,
    label: &'static str,
    started: Instant,
    last_line: Option<Instant>,
}

impl Activity {
    /// `label` starts each plain line (`salesctl relay: ...`).
    pub fn new(label: &'static str) -> Activity {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(8));
            // `wide_msg` is cut to the line's width, so the spinner never wraps.
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed_precise} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Activity {
            bar,
            label,
            started: Instant::now(),
            last_line: None,
        }
    }

    /// Shows `message` now on a terminal; in a log, at most every [`LOG_EVERY`].
    pub fn update(&mut self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => {
                let due = self
                    .last_line
                    .map_or(self.started.elapsed() >= LOG_EVERY, |at| {
                        at.elapsed() >= LOG_EVERY
                    });
                if due {
                    self.last_line = Some(Instant::now());
                    crate::say!("salesctl {}: {message}", self.label);
                }
            }
        }
    }

    /// How long since the work started, rounded to seconds, for messages.
    pub fn elapsed_text(&self) -> String {
        humantime::format_duration(Duration::from_secs(self.started.elapsed().as_secs()))
            .to_string()
    }

    /// Runs `f` (which writes to the terminal) with the spinner hidden, so lines on stdout
    /// never collide with it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the spinner before the summary is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Activity {
    fn drop(&mut self) {
        self.finish();
    }
}

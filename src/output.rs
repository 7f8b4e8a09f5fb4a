//! Where a verb's results go: stdout, in the format the user chose (a table for people, JSON
//! lines or CSV for pipes), through one writer that ends quietly when the reader goes away.
//!
//! Verbs hand over plain data (a [`Table`], or any `Serialize` rows) and never match on the
//! format to write a result; a closed pipe (`| head -1`) becomes [`ClosedPipe`], which the
//! binary turns into exit 0 with nothing printed, for every format and writer alike.

use std::io::{self, Write};

use serde::Serialize;

use crate::render::{Cell, Layout, OutputFormat, Table};

/// The reader of stdout went away: the user got what they wanted.
#[derive(Debug)]
pub struct ClosedPipe;

impl std::fmt::Display for ClosedPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the reader of stdout closed the pipe")
    }
}

impl std::error::Error for ClosedPipe {}

/// True when `error` says stdout's reader went away, however the writer wrapped it.
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<ClosedPipe>()
            || cause.downcast_ref::<io::Error>().is_some_and(is_broken_pipe_io)
            || cause.downcast_ref::<csv::Error>().is_some_and(
                |e| matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe),
            )
    })
}

/// True when a write failed because the reader went away, also when the csv writer wrapped
/// that in an error of its own (its `io::Error` then has kind `Other`).
fn is_broken_pipe_io(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::BrokenPipe
        || error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<csv::Error>())
            .is_some_and(|e| matches!(e.kind(), csv::ErrorKind::Io(io) if is_broken_pipe_io(io)))
}

/// Writes to stdout with `write`, then flushes; a broken pipe becomes [`ClosedPipe`].
pub fn to_stdout(
    write: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<()>,
) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if is_broken_pipe_io(&e) => Err(ClosedPipe.into()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to stdout")),
    }
}

/// The chosen format and styling, bound to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    pub format: OutputFormat,
    pub color: bool,
}

impl Output {
    /// A result set, fitted to the terminal for people.
    pub fn table(&self, table: &Table) -> anyhow::Result<()> {
        to_stdout(|out| table.write(out, self.format, self.color))
    }

    /// A result set with an explicit width (`None`: no limit) and layout.
    pub fn table_fitted(
        &self,
        table: &Table,
        width: Option<usize>,
        layout: Layout,
    ) -> anyhow::Result<()> {
        to_stdout(|out| table.write_fitted(out, self.format, self.color, width, layout))
    }

    /// Plain data, one row per item: the fields are the columns, in declaration order;
    /// lists stay arrays in JSON.
    pub fn rows<T: Serialize>(&self, rows: &[T]) -> anyhow::Result<()> {
        self.table(&Table::from_records(rows)?)
    }

    /// One result: for a person a two-column table (`title`, value) that reads down, for a
    /// pipe one row (a JSON line, or a CSV header and row).
    pub fn record(&self, title: &str, record: &Table) -> anyhow::Result<()> {
        if self.format != OutputFormat::Table {
            return self.table(record);
        }
        let mut pairs = Table::new([title, "value"]);
        for row in &record.rows {
            for (name, value) in record.headers.iter().zip(row) {
                pairs.push(vec![Cell::text(name), value.clone()]);
            }
        }
        self.table(&pairs)
    }

    /// Text as it is (a document such as the template or a policy).
    pub fn text(&self, text: &str) -> anyhow::Result<()> {
        to_stdout(|out| writeln!(out, "{}", text.trim_end_matches('\n')))
    }
}

/// Rows written as they come (orders as `generate` writes them, changes as `tail-cdc` reads
/// them): one JSON line each, or CSV with the header before the first row. Once the reader
/// is gone every later row is dropped and [`RowStream::closed`] says so, so a verb can stop.
pub struct RowStream {
    format: OutputFormat,
    csv: Option<csv::Writer<io::Stdout>>,
    header_written: bool,
    closed: bool,
}

impl RowStream {
    pub fn new(format: OutputFormat) -> RowStream {
        RowStream {
            format,
            csv: (format == OutputFormat::Csv).then(|| csv::Writer::from_writer(io::stdout())),
            header_written: false,
            closed: false,
        }
    }

    /// True once a write found the pipe closed (or failed otherwise).
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// Writes one row of `names` and `cells` (pipes only: a table is the verb's own view).
    pub fn row(&mut self, names: &[&str], cells: &[Cell]) {
        if self.closed {
            return;
        }
        let result = match self.format {
            OutputFormat::Table => Ok(()),
            OutputFormat::Json => {
                let line = crate::render::json_object(names.iter().copied().zip(cells));
                writeln!(io::stdout().lock(), "{line}")
            }
            OutputFormat::Csv => match self.csv.as_mut() {
                None => Ok(()),
                Some(csv) => {
                    let header = if self.header_written {
                        Ok(())
                    } else {
                        self.header_written = true;
                        csv.write_record(names)
                    };
                    header
                        .and_then(|()| csv.write_record(cells.iter().map(Cell::display)))
                        .map_err(io::Error::other)
                }
            },
        };
        if result.is_err() {
            self.closed = true;
        }
    }

    /// Pushes buffered CSV out (JSON lines go out as written).
    pub fn flush(&mut self) {
        if let Some(csv) = self.csv.as_mut()
            && csv.flush().is_err()
        {
            self.closed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_is_known_however_it_is_wrapped() {
        let io = || io::Error::from(io::ErrorKind::BrokenPipe);
        assert!(is_closed_pipe(&ClosedPipe.into()));
        assert!(is_closed_pipe(&anyhow::Error::new(io()).context("writing")));
        let mut writer = csv::Writer::from_writer(BrokenPipeWriter);
        let csv_error = writer
            .write_record(["a"])
            .and_then(|()| writer.flush().map_err(csv::Error::from))
            .expect_err("the pipe is closed");
        let wrapped = io::Error::from(csv::Error::from(io()));
        assert_eq!(wrapped.kind(), io::ErrorKind::Other, "csv hides the kind");
        assert!(is_closed_pipe(&anyhow::Error::new(wrapped)));
        assert!(is_closed_pipe(&anyhow::Error::new(csv_error)));
        assert!(!is_closed_pipe(&anyhow::anyhow!(
            "broken pipe, in words only"
        )));
    }

    struct BrokenPipeWriter;

    impl Write for BrokenPipeWriter {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }
}

//! `salesctl transform [FILE]`: run the Firehose transform locally, to see what the Lambda would
//! answer for an event, or which flat rows a set of stream records becomes.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::cdc_view::flat_row_from_change_line;
use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::render::OutputFormat;
use salesctl_core::lake_schema;
use salesctl_core::transform::{RecordTransformer, TransformOptions, transform_event_with};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A Firehose transformation event, or stream records (DynamoDB's formats, or
    /// `tail-cdc -o json` lines) one JSON object per line
    /// (default: stdin).
    pub file: Option<PathBuf>,
    /// Add metadata.partitionKeys {dt, hour} to Ok answers, as the Lambda does with
    /// SALESCTL_PARTITION_KEYS=1.
    #[arg(long)]
    pub partition_keys: bool,
}

/// Reads FILE, or stdin when FILE is absent or `-`, as one of:
/// - Firehose transformation events (an object with `records`; pretty-printed, or one per
///   line): each is answered with the exact response JSON the Lambda returns, on one line;
/// - stream records in either DynamoDB format, one JSON object per line (or a single
///   pretty-printed record): one flat row per record, in input order.
///
/// Bad input never hides good rows: a line that fails is reported on stderr as
/// `line N: reason` and every other row is still printed; so is each record a Firehose answer
/// marks ProcessingFailed. A row the lake table cannot hold (`quantity: "many"`) fails like
/// an undecodable record, naming the order and the column, as the Lambda and the relay fail it.
/// The exit status is 1 when anything failed. Blank lines are skipped; a closed stdout
/// (`| head`) ends the run quietly. Events whose records lack
/// `dynamodb.ApproximateCreationDateTime` are answered with the Kinesis arrival time, and a
/// last stderr line counts those rows.
pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    // The output is the lake's own format (or the Lambda's answer): JSON, nothing else.
    if let Some(format) = ctx.requested_output
        && format != OutputFormat::Json
    {
        return Err(usage_error(
            "transform prints JSON only (the flat rows Firehose writes to S3, or the Lambda's answers): drop -o or use -o json; for a table of rows, write them to the lake and use 'salesctl query'",
        ));
    }
    let options = TransformOptions {
        partition_keys: args.partition_keys,
        ..TransformOptions::default()
    };
    let input: Box<dyn BufRead> = match &args.file {
        Some(path) if path.as_os_str() != "-" => {
            if path.is_dir() {
                return Err(usage_error(format!(
                    "{} is a directory: pass a file of change records (one per line, or a Firehose event), or - for stdin",
                    path.display()
                )));
            }
            let file = File::open(path).map_err(|e| {
                usage_error(format!(
                    "cannot read {}: {e}: pass a readable file of change records, or - for stdin",
                    path.display()
                ))
            })?;
            Box::new(BufReader::with_capacity(1 << 16, file))
        }
        _ => Box::new(io::stdin().lock()),
    };
    let stdout = io::stdout().lock();
    let stderr = io::stderr().lock();
    // A closed stdout comes back as BrokenPipe, which the binary ends quietly (exit 0), as
    // for every verb.
    let report = transform_input(input, stdout, stderr, &options, &|| ctx.is_shutting_down())
        .context("cannot transform the input")?;
    Ok(if report.interrupted {
        ExitStatus::INTERRUPTED
    } else if report.failed > 0 {
        ExitStatus::FAILURE
    } else {
        ExitStatus::SUCCESS
    })
}

/// What a run of [`transform_input`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Report {
    /// Rows printed, or records answered Ok.
    pub ok: usize,
    /// Lines that failed, plus records answered ProcessingFailed.
    pub failed: usize,
    /// Ok rows of events timed by the Kinesis arrival time (no ApproximateCreationDateTime).
    pub arrival_fallbacks: usize,
    pub interrupted: bool,
}

/// The whole verb without the terminal: reads `input`, writes rows or responses to `out` and
/// failures to `errors`. A broken pipe on `out` comes back as an error of that kind; write
/// errors on `errors` are ignored (there is nowhere left to report them).
pub fn transform_input(
    mut input: impl BufRead,
    out: impl Write,
    errors: impl Write,
    options: &TransformOptions,
    stop: &dyn Fn() -> bool,
) -> io::Result<Report> {
    let mut session = Session {
        out: BufWriter::with_capacity(1 << 16, out),
        errors,
        options,
        report: Report::default(),
        transformer: RecordTransformer::new(),
        row: Vec::with_capacity(4096),
    };
    let mut line = Vec::new();
    let mut line_number = 0;
    // The first non-blank line decides how the input is read.
    let first_line_number = loop {
        if !next_line(&mut input, &mut line)? {
            return session.finish();
        }
        line_number += 1;
        if line_number == 1 && line.starts_with(b"\xEF\xBB\xBF") {
            line.drain(..3);
        }
        if !is_blank(&line) {
            break line_number;
        }
    };

    if serde_json::from_slice::<IgnoredAny>(&line).is_err() {
        // Not a complete document on one line: a pretty-printed event or record, or a bad
        // first line of a line-per-record input. Only the whole input can tell.
        let mut all = line.clone();
        all.push(b'\n');
        input.read_to_end(&mut all)?;
        if serde_json::from_slice::<IgnoredAny>(&all).is_ok() {
            session.document(first_line_number, &all, is_firehose_event(&all))?;
            return session.finish();
        }
        for (number, text) in (first_line_number..).zip(all.split(|&b| b == b'\n')) {
            if stop() {
                session.report.interrupted = true;
                break;
            }
            if !is_blank(text) {
                session.document(number, text, false)?;
            }
        }
        return session.finish();
    }

    let events = is_firehose_event(&line);
    session.document(first_line_number, &line, events)?;
    while !stop() {
        if !next_line(&mut input, &mut line)? {
            return session.finish();
        }
        line_number += 1;
        if !is_blank(&line) {
            session.document(line_number, &line, events)?;
        }
    }
    session.report.interrupted = true;
    session.finish()
}

struct Session<'o, W: Write, E: Write> {
    out: BufWriter<W>,
    errors: E,
    options: &'o TransformOptions,
    report: Report,
    transformer: RecordTransformer,
    row: Vec<u8>,
}

impl<W: Write, E: Write> Session<'_, W, E> {
    /// One stream record or one Firehose event, starting at `line_number`.
    fn document(
        &mut self,
        line_number: usize,
        text: &[u8],
        firehose_event: bool,
    ) -> io::Result<()> {
        if firehose_event {
            return self.event(line_number, text);
        }
        if let Some(row) = flat_row_from_change_line(text) {
            return match row.and_then(|row| fits_the_lake(&row).map(|()| row)) {
                Ok(row) => {
                    self.report.ok += 1;
                    self.out.write_all(row.as_bytes())
                }
                Err(reason) => {
                    self.fail(format_args!("line {line_number}: {reason}"));
                    Ok(())
                }
            };
        }
        self.row.clear();
        match self.transformer.transform_into(text, &mut self.row) {
            Ok(_) => {
                self.report.ok += 1;
                self.out.write_all(&self.row)
            }
            Err(reason) => {
                self.fail(format_args!("line {line_number}: {reason}"));
                Ok(())
            }
        }
    }

    fn event(&mut self, line_number: usize, text: &[u8]) -> io::Result<()> {
        match transform_event_with(text, self.options) {
            Ok(done) => {
                self.report.ok += done.ok;
                self.report.arrival_fallbacks += done.arrival_fallbacks;
                for failure in &done.failures {
                    self.fail(format_args!(
                        "line {line_number}: record {} ({}): {}",
                        failure.index, failure.record_id, failure.reason
                    ));
                }
                self.out.write_all(&done.response)?;
                self.out.write_all(b"\n")
            }
            Err(reason) => {
                self.fail(format_args!("line {line_number}: {reason}"));
                Ok(())
            }
        }
    }

    fn fail(&mut self, message: std::fmt::Arguments<'_>) {
        self.report.failed += 1;
        let _ = writeln!(self.errors, "{message}");
    }

    fn finish(mut self) -> io::Result<Report> {
        self.out.flush()?;
        let fallbacks = self.report.arrival_fallbacks;
        if fallbacks > 0 {
            let _ = writeln!(
                self.errors,
                "{fallbacks} row{} had no dynamodb.ApproximateCreationDateTime: their creation_datetime is the Kinesis arrival time (approximateArrivalTimestamp)",
                if fallbacks == 1 { "" } else { "s" }
            );
        }
        Ok(self.report)
    }
}

/// A flat row built from a `tail-cdc -o json` line, checked against the lake schema as the
/// transform checks the rows it writes.
fn fits_the_lake(row: &str) -> Result<(), String> {
    let members = raw_members(row).map_err(|e| format!("the row is not a JSON object: {e}"))?;
    lake_schema::check_row(
        members
            .iter()
            .map(|(name, value)| (name.as_str(), value.get())),
    )
    .map_err(|misfit| {
        let key = members
            .iter()
            .find(|(name, _)| name == lake_schema::KEY_COLUMN)
            .map_or_else(
                || "a row without order_id".to_string(),
                |(name, value)| format!("{name} {}", value.get()),
            );
        format!(
            "the row of {key} does not fit the lake table {}: {misfit}",
            lake_schema::TABLE
        )
    })
}

/// The row's members in order, each value as its exact JSON text.
fn raw_members(row: &str) -> serde_json::Result<Vec<(String, &serde_json::value::RawValue)>> {
    struct Members<'a>(Vec<(String, &'a serde_json::value::RawValue)>);
    impl<'de> Deserialize<'de> for Members<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = Members<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Self::Value, A::Error> {
                    let mut members = Vec::new();
                    while let Some(entry) = map.next_entry()? {
                        members.push(entry);
                    }
                    Ok(Members(members))
                }
            }
            deserializer.deserialize_map(Visitor)
        }
    }
    serde_json::from_str::<Members<'_>>(row).map(|m| m.0)
}

/// Reads one line without its `\n` / `\r\n`; false at the end of the input.
fn next_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<bool> {
    line.clear();
    if input.read_until(b'\n', line)? == 0 {
        return Ok(false);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    Ok(true)
}

fn is_blank(text: &[u8]) -> bool {
    text.iter().all(u8::is_ascii_whitespace)
}

/// A Firehose transformation event is an object with `records`; a change record never has one.
fn is_firehose_event(document: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        records: Option<IgnoredAny>,
    }
    matches!(
        serde_json::from_slice::<Probe>(document),
        Ok(Probe { records: Some(_) })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSERT: &str = r#"{"eventID":"a","eventName":"INSERT","eventVersion":"1.1","dynamodb":{"ApproximateCreationDateTime":1795162502,"Keys":{"k":{"S":"1"}},"NewImage":{"k":{"S":"1"},"n":{"N":"2.50"}},"SequenceNumber":"9"}}"#;
    /// The table is keyed `k`, not `order_id`: the lake's `order_id` is the key's value.
    const INSERT_ROW: &str = r#"{"k":"1","n":2.50,"order_id":"1","cdc_event_type":"INSERT","cdc_event_id":"a","cdc_sequence_number":"9","creation_datetime":"2026-11-20T08:15:02Z","is_deleted":false}"#;

    fn run_on(input: &str) -> (String, String, Report) {
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        let report = transform_input(
            input.as_bytes(),
            &mut out,
            &mut errors,
            &TransformOptions::default(),
            &|| false,
        )
        .expect("in-memory I/O");
        (
            String::from_utf8(out).expect("UTF-8"),
            String::from_utf8(errors).expect("UTF-8"),
            report,
        )
    }

    #[test]
    fn lines_become_rows_and_bad_lines_are_reported_by_number() {
        let input = format!("{INSERT}\n\nnot json\r\n{{\"eventID\":\"x\"}}\n{INSERT}\r\n");
        let (out, errors, report) = run_on(&input);
        assert_eq!(out, format!("{INSERT_ROW}\n{INSERT_ROW}\n"));
        assert_eq!(
            errors,
            "line 3: not JSON at byte 0: expected a value\nline 4: missing field eventName\n"
        );
        assert_eq!(
            report,
            Report {
                ok: 2,
                failed: 2,
                ..Report::default()
            }
        );
    }

    #[test]
    fn a_bad_first_line_does_not_hide_the_rest() {
        let input = format!("{{\"eventID\":\n{INSERT}\n");
        let (out, errors, report) = run_on(&input);
        assert_eq!(out, format!("{INSERT_ROW}\n"));
        assert_eq!(errors, "line 1: truncated JSON: input ends at byte 11\n");
        assert_eq!((report.ok, report.failed), (1, 1));
    }

    #[test]
    fn a_pretty_printed_record_is_one_document() {
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(INSERT).expect("JSON"),
        )
        .expect("serializes");
        let (out, errors, report) = run_on(&format!("\n{pretty}\n"));
        assert_eq!(errors, "");
        let row: serde_json::Value = serde_json::from_str(&out).expect("row");
        assert_eq!(row["cdc_event_id"], "a");
        assert_eq!(
            report,
            Report {
                ok: 1,
                ..Report::default()
            }
        );
    }

    #[test]
    fn firehose_events_are_answered_and_failures_reported() {
        let event = format!(
            r#"{{"records":[{{"recordId":"r1","data":"{}"}},{{"recordId":"r2","data":"bm9wZQ=="}}]}}"#,
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, INSERT)
        );
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(&event).expect("JSON"),
        )
        .expect("serializes");
        for input in [event.clone(), pretty, format!("{event}\n{event}")] {
            let (out, errors, report) = run_on(&input);
            let expected = String::from_utf8(
                transform_event_with(event.as_bytes(), &TransformOptions::default())
                    .expect("answers")
                    .response,
            )
            .expect("UTF-8");
            assert_eq!(out.lines().next(), Some(expected.as_str()));
            assert!(
                errors.starts_with("line 1: record 1 (r2): not JSON at byte 0: expected a value\n"),
                "{errors}"
            );
            // Each event holds one good and one bad record.
            let events = out.lines().count();
            assert_eq!((report.ok, report.failed), (events, events));
        }
    }

    #[test]
    fn a_row_the_lake_cannot_hold_is_reported_by_line() {
        let many = INSERT.replace(r#""n":{"N":"2.50"}"#, r#""quantity":{"S":"many"}"#);
        let tail_line = r#"{"cdc_event_type":"INSERT","cdc_event_id":"a","creation_datetime":"2026-11-20T08:15:02Z","keys":{"order_id":"o-7"},"new_image":{"order_id":"o-7","price":"abc"}}"#;
        let (out, errors, report) = run_on(&format!("{INSERT}\n{many}\n{tail_line}\n"));
        assert_eq!(out, format!("{INSERT_ROW}\n"));
        assert_eq!(
            errors,
            "line 2: the row of k \"1\" does not fit the lake table orders_cdc: column quantity (int) cannot hold \"many\": not a whole number in digits\n\
             line 3: the row of order_id \"o-7\" does not fit the lake table orders_cdc: column price (decimal(12,2)) cannot hold \"abc\": not a number\n"
        );
        assert_eq!((report.ok, report.failed), (1, 2));
    }

    #[test]
    fn rows_timed_by_the_kinesis_arrival_are_counted() {
        let untimed = INSERT.replace(r#""ApproximateCreationDateTime":1795162502,"#, "");
        let data = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &untimed);
        let event = format!(
            r#"{{"records":[{{"recordId":"r1","approximateArrivalTimestamp":1795162502114,"data":"{data}"}}]}}"#
        );
        let (out, errors, report) = run_on(&event);
        assert!(out.contains(r#""result":"Ok""#), "{out}");
        assert_eq!(
            errors,
            "1 row had no dynamodb.ApproximateCreationDateTime: their creation_datetime is the Kinesis arrival time (approximateArrivalTimestamp)\n"
        );
        assert_eq!(
            (report.ok, report.failed, report.arrival_fallbacks),
            (1, 0, 1)
        );
        // A stream record on its own line has no arrival time to fall back on.
        let (_, errors, report) = run_on(&format!("{untimed}\n"));
        assert_eq!(
            errors,
            "line 1: missing field dynamodb.ApproximateCreationDateTime\n"
        );
        assert_eq!(report.failed, 1);
    }

    #[test]
    fn empty_input_prints_nothing() {
        assert_eq!(
            run_on(""),
            (String::new(), String::new(), Report::default())
        );
        assert_eq!(
            run_on("\n  \n"),
            (String::new(), String::new(), Report::default())
        );
    }

    #[test]
    fn stopping_is_reported() {
        let (mut out, mut errors) = (Vec::new(), Vec::new());
        let input = format!("{INSERT}\n{INSERT}\n");
        let report = transform_input(
            input.as_bytes(),
            &mut out,
            &mut errors,
            &TransformOptions::default(),
            &|| true,
        )
        .expect("in-memory I/O");
        assert_eq!(
            report,
            Report {
                ok: 1,
                interrupted: true,
                ..Report::default()
            }
        );
    }

    #[test]
    fn a_closed_pipe_stops_the_run() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
        }
        let input = format!("{INSERT}\n").repeat(100_000);
        let result = transform_input(
            input.as_bytes(),
            Closed,
            io::sink(),
            &TransformOptions::default(),
            &|| false,
        );
        assert_eq!(result.map_err(|e| e.kind()), Err(io::ErrorKind::BrokenPipe));
    }
}

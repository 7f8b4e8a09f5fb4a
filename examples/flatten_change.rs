//! Turns one DynamoDB change record (as the EventBridge Pipe writes it into Kinesis) into the
//! flat JSON row the lake stores, with no AWS client: the transform is a pure library call.
//!
//! Run: `cargo run --example flatten_change -- tests/fixtures/pipe-modify.json`
//! (or pipe a record on stdin).

use std::io::Read;

use salesctl_core::transform::{RecordOutcome, transform_record};

fn main() -> anyhow::Result<()> {
    let mut data = Vec::new();
    match std::env::args_os().nth(1) {
        Some(path) => data = std::fs::read(&path)?,
        None => {
            std::io::stdin().read_to_end(&mut data)?;
        }
    }
    match transform_record(&data) {
        RecordOutcome::Ok { row, partition } => {
            eprintln!("partition: {partition}");
            print!("{}", String::from_utf8_lossy(&row));
            Ok(())
        }
        RecordOutcome::Failed { reason } => anyhow::bail!("not a DynamoDB change record: {reason}"),
    }
}

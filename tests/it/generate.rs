//! `salesctl generate` against the emulator: exact counts on the table and on its stream,
//! and clear errors for a missing table and bad flags.

use std::collections::HashMap;

use crate::common::{Session, create_table, run, session, session_with, unpaced_generate};
use aws_sdk_dynamodb::types::Select;
use salesctl::aws::Clients;

async fn count_items(clients: &Clients, table: &str) -> i64 {
    let mut total = 0i64;
    let mut start = None;
    loop {
        let page = clients
            .dynamodb
            .scan()
            .table_name(table)
            .select(Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        total += i64::from(page.count);
        start = page.last_evaluated_key;
        if start.is_none() {
            return total;
        }
    }
}

/// Every event on the table's stream, counted by event name.
async fn stream_event_counts(clients: &Clients, stream_arn: &str) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for r in crate::common::stream_records(clients, stream_arn).await {
        *counts
            .entry(r.event_name.unwrap().as_str().to_string())
            .or_insert(0) += 1;
    }
    counts
}

fn summary_of(stderr: &str) -> serde_json::Value {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    serde_json::from_str(line).unwrap()
}

fn generate(s: &Session, args: &[&str]) -> (i32, String, String) {
    run(s.salesctl().arg("generate").args(args))
}

/// A fresh session whose emulator has the table `name` keyed by `key`, its clients, and the
/// table's stream ARN.
async fn table_session(name: &str, key: &str) -> (Session, Clients, String) {
    session_with(async |_, clients| create_table(clients, name, key).await).await
}

#[tokio::test(flavor = "multi_thread")]
async fn unpaced_run_counts_match_the_table_and_the_stream_exactly() {
    let (s, clients, stream) = table_session("salesctl-orders", "order_id").await;
    let (code, stdout, stderr) = run(s
        .salesctl()
        .args(unpaced_generate("300"))
        .args(["--seed", "42"]));
    assert_eq!(code, 0, "{stderr}");
    let summary = summary_of(&stderr);
    let n = |k: &str| summary[k].as_u64().unwrap();
    assert_eq!(n("inserted"), 300);
    assert!(n("updated") > 30, "{summary}");
    assert!(n("deleted") > 5, "{summary}");
    assert_eq!(n("failed"), 0);
    // One JSON line per written operation, each naming what it did.
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len() as u64,
        n("inserted") + n("updated") + n("deleted")
    );
    assert_eq!(
        lines.iter().filter(|l| l["operation"] == "insert").count(),
        300
    );
    assert!(
        lines
            .iter()
            .all(|l| l["order_id"].as_str().unwrap().starts_with("o-"))
    );

    assert_eq!(
        count_items(&clients, "salesctl-orders").await,
        (n("inserted") - n("deleted")) as i64
    );
    let events = stream_event_counts(&clients, &stream).await;
    assert_eq!(
        events.get("INSERT").copied().unwrap_or(0),
        n("inserted"),
        "{events:?}"
    );
    assert_eq!(
        events.get("MODIFY").copied().unwrap_or(0),
        n("updated"),
        "{events:?}"
    );
    assert_eq!(
        events.get("REMOVE").copied().unwrap_or(0),
        n("deleted"),
        "{events:?}"
    );
}

/// The tutorial's own table has no stream: generate says so before it writes, with the
/// command that enables one, and still writes.
#[tokio::test(flavor = "multi_thread")]
async fn a_table_without_a_stream_is_said_at_once_with_the_command_that_enables_one() {
    let s = crate::common::session();
    let clients = s.clients().await;
    crate::common::create_table_streaming(&clients, "OrderTable", "orderid", false).await;
    let (code, _, stderr) = generate(
        &s,
        &[
            "--table",
            "OrderTable",
            "--schema",
            "tutorial",
            "--count",
            "3",
            "--interval",
            "0s",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let warning = stderr.lines().next().unwrap_or_default();
    assert!(
        warning.contains("table 'OrderTable' has no stream"),
        "{stderr}"
    );
    assert!(
        warning.contains(
            "aws dynamodb update-table --table-name OrderTable --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES"
        ),
        "{stderr}"
    );
    assert!(count_items(&clients, "OrderTable").await > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn paced_run_and_tutorial_schema() {
    let (s, clients, _) = table_session("tutorial", "orderid").await;
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = generate(
        &s,
        &[
            "--table", "tutorial", "--schema", "tutorial", "--rate", "40", "--count", "40",
            "--output", "json",
        ],
    );
    let elapsed = started.elapsed();
    assert_eq!(code, 0, "{stderr}");
    // 40 orders at 40/s: the last is due at 975 ms, so the run cannot finish much sooner.
    assert!(elapsed.as_millis() >= 975, "finished too fast: {elapsed:?}");
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["operation", "orderid", "price", "product_name", "quantity"]
    );
    let summary = summary_of(&stderr);
    assert_eq!(summary["inserted"], 40);
    assert_eq!(
        count_items(&clients, "tutorial").await,
        40 - summary["deleted"].as_i64().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_table_is_one_clear_line_and_nothing_is_written() {
    let s = session();
    let (code, stdout, stderr) = generate(&s, &["--count", "5", "--interval", "0s"]);
    assert_eq!(code, 254, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("table 'salesctl-orders' not found: run 'salesctl up' or pass --table"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_key_for_the_schema_is_refused_before_writing() {
    let (s, clients, _) = table_session("salesctl-orders", "order_id").await;
    let (code, _, stderr) = generate(
        &s,
        &["--schema", "tutorial", "--count", "3", "--interval", "0s"],
    );
    assert_eq!(code, 254, "{stderr}");
    assert!(stderr.contains("keyed on 'order_id'"), "{stderr}");
    assert_eq!(count_items(&clients, "salesctl-orders").await, 0);
}

#[test]
fn bad_flags_are_usage_errors_naming_the_value() {
    let s = session();
    for (args, needle) in [
        (
            vec!["--interval", "3parsecs"],
            "'3parsecs' is not a duration",
        ),
        (vec!["--update-ratio", "1.5"], "'1.5' is not a ratio"),
        (vec!["--rate=-4"], "'-4' is not positive"),
        (
            vec!["--rate", "5", "--interval", "1s"],
            "cannot be used with",
        ),
        (
            vec!["--update-ratio", "0.7", "--delete-ratio", "0.4"],
            "must be below 1",
        ),
    ] {
        let (code, stdout, stderr) = generate(&s, &args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

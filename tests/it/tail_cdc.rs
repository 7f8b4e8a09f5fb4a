//! `salesctl tail-cdc` against the emulator: a split in the middle of the data, every change
//! once and in key order, checkpoint resume, filters, raw records, the DynamoDB stream source.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common::{Session, delete_item, put_item, run, session, session_with, spawn};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use salesctl::aws::Clients;
use serde_json::{Value, json};

/// The lower half of shard 0's hash range on a two-shard stream (0 .. 2^127-1).
const SPLIT_AT: &str = "85070591730234615865843651857942052864";

/// One change in the Pipe's format, with its order id (the partition key) and event id.
struct Change {
    order_id: String,
    event_id: String,
    json: Vec<u8>,
}

fn typed(status: &str, order_id: &str, quantity: u32) -> Value {
    json!({
        "order_id": {"S": order_id},
        "status": {"S": status},
        "quantity": {"N": quantity.to_string()},
        "price": {"N": "1249.90"},
    })
}

/// For each order: INSERT (PENDING), MODIFY to PAID, MODIFY to SHIPPED, and for every third
/// order a REMOVE; interleaved across orders the way a busy table writes them.
fn changes(orders: usize) -> Vec<Change> {
    let mut out = Vec::new();
    let statuses = ["PENDING", "PAID", "SHIPPED"];
    for step in 0..4 {
        for order in 0..orders {
            let order_id = format!("o-{order:04}");
            let keys = json!({"order_id": {"S": order_id}});
            let (name, new, old) = match step {
                0 => ("INSERT", Some(typed(statuses[0], &order_id, 1)), None),
                1 | 2 => (
                    "MODIFY",
                    Some(typed(statuses[step], &order_id, 1)),
                    Some(typed(statuses[step - 1], &order_id, 1)),
                ),
                _ if order % 3 == 0 => ("REMOVE", None, Some(typed(statuses[2], &order_id, 1))),
                _ => continue,
            };
            let event_id = format!("ev-{order_id}-{step}");
            let mut dynamodb = json!({
                "ApproximateCreationDateTime": 1_795_162_561 + step,
                "Keys": keys,
                "SequenceNumber": format!("{}", 1000 + step * 10_000 + order),
                "SizeBytes": 100,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            });
            if let Some(new) = new {
                dynamodb["NewImage"] = new;
            }
            if let Some(old) = old {
                dynamodb["OldImage"] = old;
            }
            let record = json!({
                "eventID": event_id,
                "eventName": name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": dynamodb,
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/salesctl-orders/stream/2026-11-20T08:00:00.000",
            });
            out.push(Change {
                order_id,
                event_id,
                json: serde_json::to_vec(&record).unwrap(),
            });
        }
    }
    out
}

/// A fresh session whose emulator has the settings' Kinesis stream with `shards` shards, its
/// clients, and the stream's name.
async fn stream_session(shards: i32) -> (Session, Clients, String) {
    session_with(async |s, clients| {
        let stream = s.settings().stream;
        clients
            .kinesis
            .create_stream()
            .stream_name(&stream)
            .shard_count(shards)
            .send()
            .await
            .unwrap();
        stream
    })
    .await
}

/// Splits shard 0 of `stream` in two at [`SPLIT_AT`].
async fn split_first_shard(clients: &Clients, stream: &str) {
    clients
        .kinesis
        .split_shard()
        .stream_name(stream)
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key(SPLIT_AT)
        .send()
        .await
        .unwrap();
}

async fn put(clients: &Clients, stream: &str, records: &[(String, Vec<u8>)]) {
    for chunk in records.chunks(500) {
        let entries = chunk
            .iter()
            .map(|(key, data)| {
                PutRecordsRequestEntry::builder()
                    .partition_key(key)
                    .data(Blob::new(data.clone()))
                    .build()
                    .unwrap()
            })
            .collect::<Vec<_>>();
        let out = clients
            .kinesis
            .put_records()
            .stream_name(stream)
            .set_records(Some(entries))
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_record_count, Some(0));
    }
}

async fn put_changes(clients: &Clients, stream: &str, changes: &[Change]) {
    let records: Vec<_> = changes
        .iter()
        .map(|c| (c.order_id.clone(), c.json.clone()))
        .collect();
    put(clients, stream, &records).await;
}

fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn event_ids(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["cdc_event_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts that `lines` hold every change exactly once and each order's changes in the order
/// they were written.
fn assert_once_in_key_order(lines: &[Value], expected: &[Change]) {
    let ids = event_ids(lines);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a change was shown twice");
    let want: HashSet<&String> = expected.iter().map(|c| &c.event_id).collect();
    assert_eq!(unique, want);
    let mut shown: HashMap<String, Vec<String>> = HashMap::new();
    for line in lines {
        let order = line["keys"]["order_id"].as_str().unwrap().to_owned();
        shown
            .entry(order)
            .or_default()
            .push(line["cdc_event_id"].as_str().unwrap().to_owned());
    }
    let mut written: HashMap<String, Vec<String>> = HashMap::new();
    for change in expected {
        written
            .entry(change.order_id.clone())
            .or_default()
            .push(change.event_id.clone());
    }
    assert_eq!(shown, written, "per-order order differs");
}

/// Asserts that the log `text` says shard 0 (the parent) finished, and only after that that
/// each of `children` (shard numbers) was read.
fn assert_children_read_after_parent(text: &str, children: [u32; 2]) {
    let at = |said: &str| {
        text.find(said)
            .unwrap_or_else(|| panic!("{said:?} missing from\n{text}"))
    };
    let parent_finished = at("finished shard shardId-000000000000");
    for child in children {
        let child_read = at(&format!("reading shard shardId-{child:012}"));
        assert!(
            parent_finished < child_read,
            "child {child} read before its parent finished:\n{text}"
        );
    }
}

fn tail(s: &Session, args: &[&str]) -> (i32, String, String) {
    let mut cmd = s.salesctl();
    cmd.args(["tail-cdc", "--output", "json"]).args(args);
    run(&mut cmd)
}

/// The JSON lines of a `tail-cdc` run that must succeed, and its stdout and stderr.
fn tail_lines(s: &Session, args: &[&str]) -> (Vec<Value>, String, String) {
    let (code, stdout, stderr) = tail(s, args);
    assert_eq!(code, 0, "{stderr}");
    (json_lines(&stdout), stdout, stderr)
}

#[tokio::test]
async fn split_in_the_middle_every_change_read_once_in_key_order() {
    let (s, clients, stream) = stream_session(2).await;
    let all = changes(60);
    let (first, rest) = all.split_at(all.len() / 2);
    put_changes(&clients, &stream, first).await;
    split_first_shard(&clients, &stream).await;
    put_changes(&clients, &stream, rest).await;

    let (lines, stdout, stderr) = tail_lines(&s, &["-v"]);
    assert_eq!(lines.len(), all.len());
    assert_once_in_key_order(&lines, &all);
    // The parent is read to its EndingSequenceNumber (the emulator never ends its iterator),
    // and only then its children. The emulator keeps routing puts to the closed parent, so
    // here the children hold nothing; on AWS the second half would come from them.
    assert_children_read_after_parent(&stderr, [2, 3]);
    // Exact images, numbers untouched.
    let first_line = lines
        .iter()
        .find(|l| l["cdc_event_id"] == "ev-o-0000-1")
        .unwrap();
    assert_eq!(first_line["cdc_event_type"], "MODIFY");
    assert_eq!(first_line["creation_datetime"], "2026-11-20T08:16:02Z");
    assert!(
        stdout.contains(
            r#""new_image":{"order_id":"o-0000","price":1249.90,"quantity":1,"status":"PAID"}"#
        ),
        "exact image text, decimals untouched"
    );
    let remove = lines
        .iter()
        .find(|l| l["cdc_event_id"] == "ev-o-0000-3")
        .unwrap();
    assert!(remove["new_image"].is_null());
    assert_eq!(remove["old_image"]["status"], "SHIPPED");
}

#[tokio::test]
async fn checkpoint_resumes_with_no_gap_and_no_repeat() {
    let (s, clients, stream) = stream_session(2).await;
    let all = changes(40);
    let (first, later) = all.split_at(100);
    put_changes(&clients, &stream, first).await;
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("tail.json");
    let cp = checkpoint.to_str().unwrap();

    let (mut lines, ..) = tail_lines(&s, &["--checkpoint", cp, "--max", "37"]);
    let (rest, ..) = tail_lines(&s, &["--checkpoint", cp]);
    let (_, nothing, _) = tail_lines(&s, &["--checkpoint", cp]);
    assert_eq!(lines.len(), 37);
    assert_eq!(rest.len(), 63);
    assert_eq!(nothing, "", "nothing new, nothing shown");

    put_changes(&clients, &stream, later).await;
    let (fresh, ..) = tail_lines(&s, &["--checkpoint", cp]);
    lines.extend(rest);
    assert_once_in_key_order(&lines, first);
    assert_once_in_key_order(&fresh, later);

    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&checkpoint).unwrap()).unwrap();
    assert_eq!(saved["source"], format!("kinesis:{stream}"));
    assert_eq!(saved["shards"].as_object().unwrap().len(), 2);
}

#[tokio::test]
async fn filters_and_the_table_view() {
    let (s, clients, stream) = stream_session(2).await;
    let all = changes(9);
    put_changes(&clients, &stream, &all).await;

    let (lines, ..) = tail_lines(&s, &["--event", "modify"]);
    assert_eq!(lines.len(), 18);
    assert!(lines.iter().all(|l| l["cdc_event_type"] == "MODIFY"));

    let (lines, ..) = tail_lines(&s, &["--event", "insert,remove", "--key", "o-0003"]);
    assert_eq!(event_ids(&lines), ["ev-o-0003-0", "ev-o-0003-3"]);

    let mut table = s.salesctl();
    table.args(["tail-cdc", "--key", "o-0004", "--output", "table"]);
    let (code, stdout, _) = run(&mut table);
    assert_eq!(code, 0);
    let rows: Vec<&str> = stdout.lines().collect();
    assert_eq!(rows.len(), 4, "header and three changes:\n{stdout}");
    assert!(rows[0].starts_with("TIME"));
    assert!(rows[1].contains("INSERT") && rows[1].contains("o-0004"));
    assert!(
        rows[2].ends_with("status: \"PENDING\" -> \"PAID\""),
        "{}",
        rows[2]
    );
    assert!(
        rows[3].ends_with("status: \"PAID\" -> \"SHIPPED\""),
        "{}",
        rows[3]
    );

    let (code, _, stderr) = tail(&s, &["--event", "update"]);
    assert_eq!(code, 2, "{stderr}");
}

#[tokio::test]
async fn records_that_are_not_changes_are_shown_raw() {
    let (s, clients, stream) = stream_session(1).await;
    let good = changes(1);
    put(
        &clients,
        &stream,
        &[
            ("k".into(), b"hello, not json".to_vec()),
            ("k".into(), vec![0xff, 0xfe, 0x00]),
            ("k".into(), br#"{"eventName":"INSERT"}"#.to_vec()),
            (good[0].order_id.clone(), good[0].json.clone()),
        ],
    )
    .await;
    let (lines, _, stderr) = tail_lines(&s, &[]);
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["raw"], "hello, not json");
    assert_eq!(lines[0]["raw_encoding"], "utf-8");
    assert_eq!(lines[1]["raw"], "//4A");
    assert_eq!(lines[1]["raw_encoding"], "base64");
    assert!(lines[2]["cdc_event_type"].is_null());
    assert_eq!(lines[3]["cdc_event_type"], "INSERT");
    assert_eq!(
        stderr.matches("is not a DynamoDB change").count(),
        3,
        "{stderr}"
    );
}

#[tokio::test]
async fn missing_stream_or_table_is_one_line_naming_it() {
    let s = session();
    let (code, stdout, stderr) = tail(&s, &["--stream", "no-such-stream"]);
    assert_eq!(code, 254);
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("'no-such-stream' not found") && stderr.contains("salesctl up"),
        "{stderr}"
    );

    let (code, _, stderr) = tail(
        &s,
        &["--source", "dynamodb-stream", "--table", "no-such-table"],
    );
    assert_eq!(code, 254);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("'no-such-table' not found"), "{stderr}");
}

#[tokio::test]
async fn follow_reads_the_parent_to_its_end_then_its_children() {
    let (s, clients, stream) = stream_session(1).await;
    let mut child = spawn(
        s.salesctl().args([
            "-v",
            "tail-cdc",
            "--output",
            "json",
            "--follow",
            "--from",
            "trim-horizon",
            "--timeout",
            "12s",
        ]),
        Stdio::null(),
        Stdio::piped,
    );
    // Write and split only once the tail reads the parent, so the split happens under it.
    let stderr = child.stderr.take().unwrap();
    let mut stderr_lines = BufReader::new(stderr).lines();
    let mut log = String::new();
    loop {
        let line = stderr_lines.next().expect("tail-cdc exited early").unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("reading shard shardId-000000000000") {
            break;
        }
    }
    let rest = std::thread::spawn(move || {
        stderr_lines
            .map_while(Result::ok)
            .fold(String::new(), |mut all, line| {
                all.push_str(&line);
                all.push('\n');
                all
            })
    });
    let all = changes(10);
    put_changes(&clients, &stream, &all).await;
    split_first_shard(&clients, &stream).await;
    let output = child.wait_with_output().unwrap();
    log.push_str(&rest.join().unwrap());
    assert_eq!(output.status.code(), Some(0), "{log}");
    let lines = json_lines(&String::from_utf8(output.stdout).unwrap());
    assert_eq!(lines.len(), all.len());
    assert_once_in_key_order(&lines, &all);
    // The split was noticed while following: the parent finished at its ending sequence
    // number and both children (shards 1 and 2 of a one-shard stream) were picked up after it.
    assert_children_read_after_parent(&log, [2, 1]);
}

#[tokio::test]
async fn dynamodb_stream_source_shows_the_same_changes() {
    let (s, clients, table) = session_with(async |s, clients| {
        let table = s.settings().table;
        crate::common::create_table(clients, &table, "order_id").await;
        table
    })
    .await;
    let item = |status: &str| {
        [
            ("order_id", AttributeValue::S("o-1".into())),
            ("status", AttributeValue::S(status.into())),
            ("price", AttributeValue::N("12345678901234567890.10".into())),
        ]
    };
    put_item(&clients, &table, &item("PENDING")).await;
    put_item(&clients, &table, &item("PAID")).await;
    delete_item(&clients, &table, "order_id", "o-1").await;

    let (lines, stdout, _) = tail_lines(&s, &["--source", "dynamodb-stream"]);
    let kinds: Vec<&str> = lines
        .iter()
        .map(|l| l["cdc_event_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["INSERT", "MODIFY", "REMOVE"]);
    assert!(
        stdout.contains(r#""price":12345678901234567890.10"#),
        "{stdout}"
    );
    assert_eq!(lines[1]["old_image"]["status"], "PENDING");
    assert_eq!(lines[1]["new_image"]["status"], "PAID");
    assert!(lines[2]["new_image"].is_null());
    assert_eq!(lines[0]["keys"], json!({"order_id": "o-1"}));
}

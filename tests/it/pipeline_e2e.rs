//! The whole local pipeline against the emulator: up, generate with updates and deletes,
//! relay into S3, then the local SQL engine must agree exactly with the table and its stream,
//! including after the relay is killed mid-run and restarted.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{DRAIN_JSON, FAST_FOLLOW, Session, generate_changes, run, session, spawn};
use aws_sdk_dynamodb::types::AttributeValue;

fn salesctl(s: &Session, args: &[&str]) -> (i32, String, String) {
    run(s.salesctl().args(args))
}

fn ok(s: &Session, args: &[&str]) -> String {
    let (code, stdout, stderr) = salesctl(s, args);
    assert_eq!(code, 0, "salesctl {args:?} failed: {stderr}");
    stdout
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn query(s: &Session, sql: &str) -> Vec<serde_json::Value> {
    json_lines(&ok(
        s,
        &["query", "--engine", "local", "--output", "json", sql],
    ))
}

async fn table_ids(s: &Session) -> BTreeSet<String> {
    let clients = s.clients().await;
    let mut ids = BTreeSet::new();
    let mut start = None;
    loop {
        let page = clients
            .dynamodb
            .scan()
            .table_name("salesctl-orders")
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items.unwrap_or_default() {
            if let Some(AttributeValue::S(id)) = item.get("order_id") {
                ids.insert(id.clone());
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return ids;
        }
    }
}

/// Asserts the lake holds every change exactly once and its current view equals the table.
async fn assert_lake_matches(s: &Session, inserted: u64, updated: u64, deleted: u64) {
    let mix = query(
        s,
        "SELECT cdc_event_type, count(*) AS n, count(DISTINCT cdc_event_id) AS ids FROM orders_cdc GROUP BY cdc_event_type ORDER BY cdc_event_type",
    );
    let count = |kind: &str| {
        mix.iter()
            .find(|r| r["cdc_event_type"] == kind)
            .map_or(0, |r| {
                assert_eq!(r["n"], r["ids"], "duplicated {kind} rows: {r}");
                r["n"].as_u64().unwrap()
            })
    };
    assert_eq!(
        (count("INSERT"), count("MODIFY"), count("REMOVE")),
        (inserted, updated, deleted),
        "{mix:?}"
    );
    let current: BTreeSet<String> = query(s, "SELECT order_id FROM orders_current")
        .into_iter()
        .map(|r| r["order_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(current, table_ids(s).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn up_generate_relay_query_agree_exactly_even_after_a_killed_relay() {
    let s = session();
    ok(&s, &["up"]);

    let first = generate_changes(&s, "400");
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap();
    let report = json_lines(&ok(&s, &DRAIN_JSON));
    let piped = n(&report[0], "piped");
    assert_eq!(
        piped,
        n(&first, "inserted") + n(&first, "updated") + n(&first, "deleted")
    );
    assert_lake_matches(
        &s,
        n(&first, "inserted"),
        n(&first, "updated"),
        n(&first, "deleted"),
    )
    .await;

    // More changes, a relay killed without warning mid-run, then a restart.
    let second = generate_changes(&s, "1500");
    // Same state directory and environment as the restart below, so the restart must
    // resume from whatever the killed run committed or spooled.
    let mut relay = spawn(
        s.salesctl().arg("relay").args(FAST_FOLLOW),
        Stdio::null(),
        Stdio::null,
    );
    std::thread::sleep(Duration::from_millis(1500));
    relay.kill().unwrap();
    relay.wait().unwrap();
    ok(&s, &["relay", "--drain", "--buffer-interval", "1s"]);
    assert_lake_matches(
        &s,
        n(&first, "inserted") + n(&second, "inserted"),
        n(&first, "updated") + n(&second, "updated"),
        n(&first, "deleted") + n(&second, "deleted"),
    )
    .await;

    // Nothing new: a further drain changes nothing.
    let report = json_lines(&ok(&s, &["relay", "--drain", "--output", "json"]));
    assert_eq!(report[0]["rows_written"], 0);
}

#[test]
fn relay_refuses_real_aws_without_force() {
    let s = session();
    let (code, _, stderr) = run(Command::new(env!("CARGO_BIN_EXE_salesctl"))
        .args(["--region", "us-east-1", "relay", "--drain"])
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("SALESCTL_LOCAL"));
    drop(s);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
}

//! `reconcile` and `trace` proven by injected faults on a local pipeline: a dropped object, a
//! duplicated object, a corrupted record that lands in errors/, an item deleted behind the
//! relay's back; each must be named exactly, by change id.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::Blob;
use serde_json::Value;

use crate::common::{
    Capture, READY_WITHIN, Session, generate_changes, run, session, stream_records,
    table_stream_arn, wait_until,
};

fn ok(s: &Session, args: &[&str]) -> String {
    let (code, stdout, stderr) = run(s.salesctl().args(args));
    assert_eq!(code, 0, "{args:?}: {stderr}");
    stdout
}

/// `reconcile -o json --show 1000`: exit code and the stage lines by stage name.
fn reconcile(s: &Session, extra: &[&str]) -> (i32, Vec<Value>) {
    let mut args = vec!["reconcile", "-o", "json", "--show", "1000"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(s.salesctl().args(&args));
    assert!(code == 0 || code == 1, "{stderr}");
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (code, lines)
}

fn stage<'a>(lines: &'a [Value], name: &str) -> &'a Value {
    lines.iter().find(|l| l["stage"] == name).unwrap()
}

/// The ids in a `first_*` cell: "id (order), id (order, 2×)".
/// The change ids of a JSON list of findings (`[{"change_id": …, "order_id": …}, …]`).
fn ids(cell: &Value) -> BTreeSet<String> {
    cell.as_array()
        .unwrap_or_else(|| panic!("a list of findings, not {cell}"))
        .iter()
        .map(|finding| finding["change_id"].as_str().unwrap().to_string())
        .collect()
}

async fn object_ids(clients: &salesctl::aws::Clients, bucket: &str, key: &str) -> BTreeSet<String> {
    let body = clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let bytes = body.body.collect().await.unwrap().into_bytes();
    let rows = salesctl::lake::parquet::flat_rows(key, &bytes).unwrap();
    String::from_utf8_lossy(&rows)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["cdc_event_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_object_is_named_and_a_duplicated_one_only_warns() {
    let s = session();
    let (clients, bucket, keys) = crate::common::relayed_lake(&s).await;
    let (code, lines) = reconcile(&s, &[]);
    assert_eq!(code, 0, "a clean pipeline reconciles: {lines:?}");
    assert_eq!(stage(&lines, "table stream")["missing_downstream"], 0);
    assert!(keys.len() >= 2, "{keys:?}");

    // Duplicate one object: duplicates are reported, exit 0; --strict makes them fail.
    let copied = object_ids(&clients, &bucket, &keys[0]).await;
    crate::common::copy_object_beside(&clients, &bucket, &keys[0]).await;
    let (code, lines) = reconcile(&s, &[]);
    assert_eq!(code, 0);
    assert_eq!(ids(&stage(&lines, "lake")["first_duplicated"]), copied);
    let (code, _) = reconcile(&s, &["--strict"]);
    assert_eq!(code, 1);

    // Drop another object: exactly its changes are missing after Kinesis.
    let dropped = object_ids(&clients, &bucket, &keys[1]).await;
    crate::common::delete_object(&clients, &bucket, &keys[1]).await;
    let (code, lines) = reconcile(&s, &[]);
    assert_eq!(code, 1);
    let kinesis = stage(&lines, "kinesis");
    assert_eq!(kinesis["missing_downstream"], dropped.len() as u64);
    assert_eq!(ids(&kinesis["first_missing"]), dropped);
}

/// Issue 21.2: a corrupt lake object does not stop reconcile: it is named, left out, and
/// its changes count as missing from the lake; the verdict says to move it aside.
#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_lake_object_is_named_and_counted_and_reconcile_goes_on() {
    let s = session();
    let (clients, bucket, keys) = crate::common::relayed_lake(&s).await;
    let spoiled = object_ids(&clients, &bucket, &keys[0]).await;
    // The object's bytes replaced by garbage (a truncated upload, a wrong tool).
    clients
        .s3
        .put_object()
        .bucket(&bucket)
        .key(&keys[0])
        .body(b"\x00\xffgarbage, not rows"[..].to_vec().into())
        .send()
        .await
        .unwrap();
    let (code, lines) = reconcile(&s, &[]);
    assert_eq!(code, 1, "{lines:?}");
    let summary = stage(&lines, "current_state");
    assert_eq!(summary["unreadable_objects"], 1, "{summary}");
    assert_eq!(
        summary["first_unreadable"],
        format!("s3://{bucket}/{}", keys[0]),
        "{summary}"
    );
    assert_eq!(summary["reconciled"], false, "{summary}");
    // Its changes are counted, as missing after Kinesis, and the rest of the lake is read.
    let kinesis = stage(&lines, "kinesis");
    assert_eq!(
        kinesis["missing_downstream"],
        spoiled.len() as u64,
        "{kinesis}"
    );
    assert!(stage(&lines, "lake")["seen"].as_u64().unwrap() > 0);
    // For a person: the object and what to do, in the verdict.
    let (code, text, _) = run(s.salesctl().args(["reconcile", "-o", "table"]));
    assert_eq!(code, 1, "{text}");
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains(&format!("s3://{bucket}/{}", keys[0])),
        "{text}"
    );
    assert!(
        words.contains("cannot be read (above): move it aside"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupted_record_is_named_in_errors_and_a_deleted_item_as_missing() {
    let s = session();
    ok(&s, &["up", "-o", "json"]);
    generate_changes(&s, "20");
    ok(&s, &["relay", "--drain", "--stage", "pipe", "-o", "json"]);
    let clients = s.clients().await;
    let settings = s.settings();

    // One more change, carried to Kinesis by hand with its eventName corrupted: the
    // transform rejects it, so it lands in errors/.
    let (code, _, stderr) = run(s.salesctl().args([
        "generate",
        "--interval",
        "0s",
        "--count",
        "1",
        "--update-ratio",
        "0",
        "--delete-ratio",
        "0",
        "-o",
        "json",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let arn = table_stream_arn(&clients, &settings.table).await;
    let records = stream_records(&clients, &arn).await;
    let newest = records.last().unwrap();
    let corrupted_id = newest.event_id.clone().unwrap();
    let json = salesctl::stream::pipe_format::pipe_json(newest, &arn);
    let mut value: Value = serde_json::from_slice(&json).unwrap();
    value["eventName"] = Value::from("UPSERT");
    clients
        .kinesis
        .put_record()
        .stream_name(&settings.stream)
        .partition_key("corrupt")
        .data(Blob::new(serde_json::to_vec(&value).unwrap()))
        .send()
        .await
        .unwrap();
    let (code, _, stderr) = run(s.salesctl().args([
        "relay",
        "--drain",
        "--stage",
        "firehose",
        "--buffer-interval",
        "1s",
        "-o",
        "json",
    ]));
    assert_eq!(code, 1, "one record failed the transform: {stderr}");
    let (code, lines) = reconcile(&s, &[]);
    assert_eq!(code, 1);
    let errors = stage(&lines, "errors/");
    assert_eq!(
        ids(&errors["first_failed"]),
        BTreeSet::from([corrupted_id.clone()])
    );
    assert_eq!(stage(&lines, "kinesis")["missing_downstream"], 0);
    assert_eq!(stage(&lines, "table stream")["missing_downstream"], 0);

    // An item deleted after the relay ran: its REMOVE never left the table's stream, and
    // the lake still shows the order as current.
    let corrupted_order = value["dynamodb"]["Keys"]["order_id"]["S"]
        .as_str()
        .unwrap()
        .to_string();
    let items = clients
        .dynamodb
        .scan()
        .table_name(&settings.table)
        .send()
        .await
        .unwrap();
    let victim = items
        .items()
        .iter()
        .filter_map(|i| i.get("order_id").and_then(|v| v.as_s().ok()).cloned())
        .find(|o| *o != corrupted_order)
        .unwrap();
    let (_, before) = reconcile(&s, &[]);
    let before_missing = ids(&stage(&before, "table stream")["first_missing"]);
    clients
        .dynamodb
        .delete_item()
        .table_name(&settings.table)
        .key("order_id", AttributeValue::S(victim.clone()))
        .send()
        .await
        .unwrap();
    let records = stream_records(&clients, &arn).await;
    let remove_id = records.last().unwrap().event_id.clone().unwrap();
    let (code, lines) = reconcile(&s, &[]);
    assert_eq!(code, 1);
    let missing = ids(&stage(&lines, "table stream")["first_missing"]);
    let new: BTreeSet<String> = missing.difference(&before_missing).cloned().collect();
    assert_eq!(new, BTreeSet::from([remove_id]));
    let (_, text, _) = run(s.salesctl().args(["reconcile", "-o", "table"]));
    assert!(text.contains("NOT RECONCILED"), "{text}");
    assert!(
        text.contains(&victim),
        "the disagreeing order is named:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_follows_an_insert_a_modify_and_a_remove_through_every_stage() {
    let s = session();
    ok(&s, &["up", "-o", "json"]);
    let clients = s.clients().await;
    let table = s.settings().table;
    let order = "o-trace-000001";
    let item = |status: &str| {
        [
            ("order_id", AttributeValue::S(order.into())),
            ("status", AttributeValue::S(status.into())),
            ("total", AttributeValue::N("12.50".into())),
            ("currency", AttributeValue::S("USD".into())),
            (
                "created_at",
                AttributeValue::S("2026-12-01T10:00:00.000Z".into()),
            ),
            (
                "updated_at",
                AttributeValue::S("2026-12-01T10:05:00.000Z".into()),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect::<std::collections::HashMap<_, _>>()
    };
    for status in ["PENDING", "PAID"] {
        clients
            .dynamodb
            .put_item()
            .table_name(&table)
            .set_item(Some(item(status)))
            .send()
            .await
            .unwrap();
    }
    clients
        .dynamodb
        .delete_item()
        .table_name(&table)
        .key("order_id", AttributeValue::S(order.into()))
        .send()
        .await
        .unwrap();
    ok(
        &s,
        &["relay", "--drain", "--buffer-interval", "1s", "-o", "json"],
    );
    let (code, stdout, stderr) = run(s.salesctl().args(["trace", order, "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 9, "3 changes x 3 stages: {stdout}");
    let events: Vec<&str> = rows
        .iter()
        .step_by(3)
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["INSERT", "MODIFY", "REMOVE"]);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(
            row["stage"],
            ["table stream", "kinesis", "lake"][i % 3],
            "{row}"
        );
    }
    assert!(rows[2]["where"].as_str().unwrap().starts_with("s3://"));
    assert!(rows[1]["hop_ms"].is_number());

    let (code, _, stderr) = run(s.salesctl().args(["trace", "o-nowhere"]));
    assert_eq!(code, 254);
    assert!(stderr.contains("in no stage"), "{stderr}");
}

/// An order older than both streams' 24 h: `trace` reads only the lake hours its table item
/// dates (created_at less a buffer interval to updated_at plus an hour), never the decoys
/// elsewhere that carry its id; a deleted order (no item) is looked for in the whole lake.
#[tokio::test(flavor = "multi_thread")]
async fn trace_of_an_order_older_than_the_streams_reads_the_hours_its_item_dates() {
    const TABLE: &str = "OldOrders";
    let (kept, deleted) = ("o-old-000001", "o-old-000002");
    let s = session();
    ok(&s, &["up", "-o", "json"]);
    let clients = s.clients().await;
    // The items are written before the table has a stream, which is then turned on: its
    // stream holds none of their changes, as when they aged out of the 24 h retention (moto
    // cannot age a stream). Kinesis holds nothing either: no relay ran.
    crate::common::create_table_streaming(&clients, TABLE, "order_id", false).await;
    let times = [
        ("created_at", "2026-11-10T08:10:00.000Z"),
        ("updated_at", "2026-11-10T09:20:00.000Z"),
    ];
    for order in [kept, deleted] {
        let mut item = vec![("order_id", AttributeValue::S(order.into()))];
        item.extend(times.map(|(name, at)| (name, AttributeValue::S(at.into()))));
        crate::common::put_item(&clients, TABLE, &item).await;
    }
    crate::common::delete_item(&clients, TABLE, "order_id", deleted).await;
    clients
        .dynamodb
        .update_table()
        .table_name(TABLE)
        .stream_specification(crate::common::change_stream())
        .send()
        .await
        .unwrap();

    let bucket = clients.bucket(&s.settings()).await.unwrap();
    let objects = [
        // In the item's window (07:55 to 10:20): read.
        ("dt=2026-11-10/hour=08", kept, "c-insert", "INSERT"),
        ("dt=2026-11-10/hour=09", kept, "c-modify", "MODIFY"),
        ("dt=2026-11-10/hour=10", "o-other", "c-other", "INSERT"),
        // Outside it, with the order's id in them: never read for the kept order.
        ("dt=2026-11-10/hour=06", kept, "c-decoy-06", "MODIFY"),
        ("dt=2026-11-12/hour=03", kept, "c-decoy-12", "MODIFY"),
        // The deleted order's changes, found only by reading the whole lake.
        ("dt=2026-11-11/hour=15", deleted, "c-removed", "REMOVE"),
    ];
    for (n, (partition, order, change, event)) in objects.iter().enumerate() {
        let row = serde_json::json!({
            "order_id": order,
            "cdc_event_id": change,
            "cdc_event_type": event,
        });
        clients
            .s3
            .put_object()
            .bucket(&bucket)
            .key(format!("orders/{partition}/sales-cdc-1-{n}"))
            .body(format!("{row}\n").into_bytes().into())
            .send()
            .await
            .unwrap();
    }
    let trace = |order: &str, format: &str| {
        let (code, stdout, stderr) = run(s
            .salesctl()
            .args(["--table", TABLE, "trace", order, "-o", format]));
        assert_eq!(code, 0, "trace {order}: {stderr}");
        stdout
    };
    let sightings = |order: &str| -> BTreeSet<(String, String)> {
        trace(order, "json")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|r| {
                assert_eq!(r["stage"], "lake", "{r}");
                let at = r["where"].as_str().unwrap();
                let at = at.strip_prefix(&format!("s3://{bucket}/orders/")).unwrap();
                let partition = at.rsplit_once('/').unwrap().0.to_string();
                (r["change"].as_str().unwrap().to_string(), partition)
            })
            .collect()
    };
    let words = |text: String| text.split_whitespace().collect::<Vec<_>>().join(" ");

    assert_eq!(
        sightings(kept),
        BTreeSet::from([
            ("c-insert".into(), "dt=2026-11-10/hour=08".into()),
            ("c-modify".into(), "dt=2026-11-10/hour=09".into()),
        ])
    );
    let said = words(trace(kept, "table"));
    assert!(
        said.contains(
            "no stream holds its changes any more; the table's item dates them from \
             2026-11-10 08:10:00 to 2026-11-10 09:20:00 UTC: 3 objects in the 4 hours they \
             can be in"
        ),
        "{said}"
    );

    assert_eq!(
        sightings(deleted),
        BTreeSet::from([("c-removed".into(), "dt=2026-11-11/hour=15".into())])
    );
    let said = words(trace(deleted, "table"));
    assert!(
        said.contains(
            "no stream holds its changes and the table has no item for it: searched the \
             whole lake, 6 objects"
        ),
        "{said}"
    );

    // A change made now is in the stream, its INSERT long gone from it: the hours from the
    // item's created_at (less a buffer) to that change are read too, so the older changes
    // are still shown, the one of 2026-11-12 included; hour 06 of 2026-11-10 is still out.
    let mut item = vec![("order_id", AttributeValue::S(kept.into()))];
    item.push(("created_at", AttributeValue::S(times[0].1.into())));
    item.push((
        "updated_at",
        AttributeValue::S(chrono::Utc::now().to_rfc3339()),
    ));
    crate::common::put_item(&clients, TABLE, &item).await;
    let (_, stdout, stderr) = run(s
        .salesctl()
        .args(["--table", TABLE, "trace", kept, "-o", "json"]));
    let lake_changes: BTreeSet<String> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["stage"] == "lake")
        .map(|r| r["change"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        lake_changes,
        BTreeSet::from(["c-insert", "c-modify", "c-decoy-12"].map(String::from)),
        "{stdout}{stderr}"
    );
    assert!(
        words(stderr.clone()).contains("dated from the item's created_at, 2026-11-10 08:10:00 UTC"),
        "{stderr}"
    );
}

#[test]
fn watch_prints_json_samples_and_draws_then_quits_on_q_in_a_terminal() {
    let s = session();
    ok(&s, &["up", "-o", "json"]);
    let (code, stdout, stderr) = run(s.salesctl().args([
        "watch",
        "-o",
        "json",
        "--interval",
        "300ms",
        "--samples",
        "3",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let samples: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(samples.len(), 3);
    assert!(
        samples[0]["stream_changes_per_second"].is_number(),
        "{stdout}"
    );

    // The full screen in a pseudo-terminal (util-linux `script`): it draws, updates, and
    // quits on q with the terminal restored (the alternate screen left).
    let mut script = crate::common::in_pty(&s, 100, 30, "watch --interval 300ms");
    let mut child = script
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux script");
    let output = Capture::start(child.stdout.take().unwrap());
    // Press q once the first screen is drawn: the terminal is in raw mode by then, so the
    // key reaches watch at once instead of waiting in the line buffer.
    wait_until(
        "the first watch screen ('changes/s' and 'newest' in the pseudo-terminal)",
        READY_WITHIN,
        || {
            let text = output.so_far();
            if text.contains("changes/s") && text.contains("newest") {
                Ok(())
            } else {
                Err(format!("{text:?}"))
            }
        },
    );
    use std::io::Write as _;
    child.stdin.as_mut().unwrap().write_all(b"q").unwrap();
    let started = std::time::Instant::now();
    let out = loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "watch did not quit on q"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let screen = output.finish();
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("\u{1b}[?1049h"),
        "entered the alternate screen"
    );
    assert!(screen.contains("\u{1b}[?1049l"), "left it again");
    assert!(screen.contains("changes/s"), "drew the sparklines");
    // Unchanged (blank) cells are skipped, so words arrive one by one.
    assert!(screen.contains("newest"), "drew the rows pane");
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_whose_lake_row_disagrees_are_not_reconciled_whatever_the_window() {
    let s = session();
    ok(&s, &["up", "-o", "json"]);
    generate_changes(&s, "20");
    ok(
        &s,
        &["relay", "--drain", "--buffer-interval", "1s", "-o", "json"],
    );
    // More changes the relay has not carried: the table is ahead of the lake.
    generate_changes(&s, "10");
    // The state check covers the orders changed in the window: an hour (which holds the
    // changes the relay has not carried) and the whole lake find them alike.
    for since in ["1h", "all"] {
        let (code, lines) = reconcile(&s, &["--since", since]);
        let summary = stage(&lines, "current_state");
        let disagreeing = summary["disagreeing_orders"].as_u64().unwrap();
        assert!(disagreeing >= 10, "--since {since}: {summary}");
        assert_eq!(summary["reconciled"], false, "--since {since}: {summary}");
        assert_eq!(code, 1, "--since {since}: {lines:?}");
        let (code, text, _) =
            run(s
                .salesctl()
                .args(["reconcile", "--since", since, "-o", "table"]));
        assert_eq!(code, 1, "{text}");
        let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words.contains("NOT RECONCILED") && words.contains(&format!("{disagreeing} orders")),
            "--since {since}: the verdict names the disagreeing orders:\n{text}"
        );
    }

    // Once the relay has carried them, the same windows reconcile.
    ok(
        &s,
        &["relay", "--drain", "--buffer-interval", "1s", "-o", "json"],
    );
    for since in ["1h", "all"] {
        let (code, lines) = reconcile(&s, &["--since", since]);
        let summary = stage(&lines, "current_state");
        assert_eq!(
            (
                code,
                summary["disagreeing_orders"].as_u64(),
                &summary["reconciled"]
            ),
            (0, Some(0), &Value::Bool(true)),
            "{lines:?}"
        );
        assert!(
            summary["orders_compared"].as_u64().unwrap() >= 20,
            "{summary}"
        );
    }
    // A window in which nothing changed says so instead of a bare "reconciled".
    let (code, text, _) = run(s.salesctl().args([
        "reconcile",
        "--since",
        "2099-01-01T00:00:00Z",
        "-o",
        "table",
    ]));
    assert_eq!(code, 0, "{text}");
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("nothing changed in the window"), "{text}");
}

//! The relay's promise, tried as a user would break it: killed with SIGKILL mid-run and
//! restarted, a second relay started meanwhile, another working directory, Ctrl-C. After
//! all of it, lake rows == distinct change events == the changes on the table's stream.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    DRAIN_JSON, FAST_FOLLOW, READY_WITHIN, Session, generate_changes, run, session_up, state_dir,
    table_stream_arn, wait_until,
};

fn relay_command(s: &Session, dir: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = s.salesctl();
    cmd.current_dir(dir).arg("relay").args(args);
    cmd
}

fn spawn_follow(s: &Session, dir: &std::path::Path) -> Child {
    relay_command(s, dir, &FAST_FOLLOW)
        .args(["--output", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start relay")
}

/// The text of every `relay.lock` below `dir` (each names its holder: "pid N since ...").
fn lock_texts(dir: &std::path::Path) -> Vec<String> {
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            texts.extend(lock_texts(&path));
        } else if path.file_name().is_some_and(|n| n == "relay.lock") {
            texts.push(std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    texts
}

/// Every change the table's stream holds, by event id, read with the SDK.
async fn stream_changes(s: &Session) -> HashSet<String> {
    let clients = s.clients().await;
    let arn = table_stream_arn(&clients, "salesctl-orders").await;
    crate::common::stream_records(&clients, &arn)
        .await
        .into_iter()
        .filter_map(|r| r.event_id)
        .collect()
}

fn lake_counts(s: &Session) -> (u64, u64) {
    let (code, stdout, stderr) = run(s.salesctl().args([
        "query",
        "--engine",
        "local",
        "--output",
        "json",
        "SELECT count(*) AS n, count(DISTINCT cdc_event_id) AS ids FROM orders_cdc",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let row: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    (row["n"].as_u64().unwrap(), row["ids"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn lake_rows_equal_distinct_events_equal_stream_changes_whatever_happens_to_the_relay() {
    let s = session_up(&["up"]);
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    generate_changes(&s, "1500");

    // A follows from one directory; a second relay, from another directory, is refused at
    // once, naming the first.
    let mut first = spawn_follow(&s, dir_a.path());
    wait_for_lock(&mut first);
    assert_refused(&s, dir_b.path(), &["--drain"], &first, "another directory");

    // Killed without warning mid-run; its lock dies with it.
    std::thread::sleep(Duration::from_millis(500));
    first.kill().unwrap();
    first.wait().unwrap();

    // More changes; a relay from the other directory resumes, then Ctrl-C stops it cleanly.
    generate_changes(&s, "500");
    let second = spawn_follow(&s, dir_b.path());
    std::thread::sleep(Duration::from_millis(1200));
    let interrupted = Instant::now();
    let status = Command::new("kill")
        .args(["-INT", &second.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = second.wait_with_output().unwrap();
    let stop_took = interrupted.elapsed();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stop_took < Duration::from_secs(2),
        "Ctrl-C took {stop_took:?}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&output.stdout).trim()).expect("a summary");
    assert!(summary["piped"].is_u64(), "{summary}");

    // The rest, drained from the first directory.
    let (code, stdout, stderr) = run(&mut relay_command(&s, dir_a.path(), &DRAIN_JSON[1..]));
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["total_processing_failed"], 0, "{report}");

    let changes = stream_changes(&s).await;
    let (rows, distinct) = lake_counts(&s);
    eprintln!(
        "relay promise: {rows} lake rows, {distinct} distinct change events, {} stream changes; Ctrl-C stopped in {stop_took:?}",
        changes.len()
    );
    assert_eq!(
        (rows, distinct),
        (changes.len() as u64, changes.len() as u64),
        "lake rows, distinct events, stream changes"
    );
    assert_eq!(
        report["total_piped"].as_u64().unwrap(),
        changes.len() as u64,
        "every stream change was piped once, as the summary says"
    );
    assert!(
        !dir_a.path().join(".salesctl").exists() && !dir_b.path().join(".salesctl").exists(),
        "nothing is written into the working directory"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn drain_exits_1_when_records_cannot_be_transformed() {
    let s = session_up(&["up"]);
    generate_changes(&s, "20");
    // A record on the Kinesis stream that is not a DynamoDB change.
    let clients = s.clients().await;
    clients
        .kinesis
        .put_record()
        .stream_name("salesctl-cdc")
        .partition_key("junk")
        .data(aws_sdk_kinesis::primitives::Blob::new("not json"))
        .send()
        .await
        .unwrap();
    let (code, report, stderr) = drain(&s);
    assert_eq!(code, 1, "{report} {stderr}");
    assert_eq!(report["processing_failed"], 1, "{report}");
}

/// Asserts that a relay run from `dir` with `args` while `first` holds the lock is refused at
/// once, in one line naming `first`; `what` says which attempt it was.
fn assert_refused(s: &Session, dir: &std::path::Path, args: &[&str], first: &Child, what: &str) {
    let started = Instant::now();
    let (code, stdout, stderr) = run(&mut relay_command(s, dir, args));
    assert_eq!(
        code, 253,
        "{what}: a second relay is refused: {stdout} {stderr}"
    );
    assert!(
        stderr.contains("already running") && stderr.contains(&format!("pid {}", first.id())),
        "{what}: names the running relay: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{what}: one line: {stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{what}: refused at once"
    );
}

/// Waits until `relay` holds a `relay.lock` under the test's state root, naming its pid.
fn wait_for_lock(relay: &mut Child) {
    let holder = format!("pid {} ", relay.id());
    wait_until(
        "the relay to hold the stack's relay.lock",
        READY_WITHIN,
        || {
            if let Some(status) = relay.try_wait().unwrap() {
                panic!("the relay exited ({status}) before taking the lock");
            }
            let locks = lock_texts(state_dir());
            if locks.iter().any(|text| text.starts_with(&holder)) {
                Ok(())
            } else {
                Err(format!("lock texts {locks:?}, none starting {holder:?}"))
            }
        },
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_relay_is_refused_however_its_endpoint_is_spelled_or_its_state_dir_given() {
    let s = session_up(&["up"]);
    generate_changes(&s, "200");
    let dir = tempfile::tempdir().unwrap();
    let mut first = spawn_follow(&s, dir.path());
    wait_for_lock(&mut first);

    let port = s.emulator.port;
    let fresh = tempfile::tempdir().unwrap();
    let fresh_state = fresh.path().join("state").display().to_string();
    let localhost = format!("http://localhost:{port}");
    let slash = format!("http://127.0.0.1:{port}/");
    let attempts: [(&str, Vec<&str>); 3] = [
        ("localhost", vec!["--endpoint-url", &localhost]),
        ("a trailing slash", vec!["--endpoint-url", &slash]),
        ("a fresh --state-dir", vec!["--state-dir", &fresh_state]),
    ];
    for (what, extra) in attempts {
        let mut args = vec!["--drain", "--buffer-interval", "1s"];
        args.extend(extra);
        assert_refused(&s, dir.path(), &args, &first, what);
    }
    first.kill().unwrap();
    first.wait().unwrap();

    // The first relay's work, finished from its own state: every change once in the lake.
    let (code, _, stderr) = run(&mut relay_command(&s, dir.path(), &DRAIN_JSON[1..]));
    assert_eq!(code, 0, "{stderr}");
    let changes = stream_changes(&s).await;
    assert_eq!(
        lake_counts(&s),
        (changes.len() as u64, changes.len() as u64),
        "lake rows, distinct events = stream changes: no refused relay wrote anything"
    );
}

/// Splits the stream's first shard in two at the middle of its hash range.
async fn split_first_shard(s: &Session) {
    let clients = s.clients().await;
    let shards = clients
        .kinesis
        .list_shards()
        .stream_name("salesctl-cdc")
        .send()
        .await
        .unwrap()
        .shards
        .unwrap_or_default();
    let shard = shards
        .iter()
        .find(|shard| {
            shard
                .sequence_number_range
                .as_ref()
                .is_some_and(|r| r.ending_sequence_number.is_none())
        })
        .expect("an open shard");
    let range = shard.hash_key_range.as_ref().unwrap();
    let low: u128 = range.starting_hash_key.parse().unwrap();
    let high: u128 = range.ending_hash_key.parse().unwrap();
    clients
        .kinesis
        .split_shard()
        .stream_name("salesctl-cdc")
        .shard_to_split(&shard.shard_id)
        .new_starting_hash_key((low / 2 + high / 2).to_string())
        .send()
        .await
        .unwrap();
}

/// `relay --drain -o json`: exit code and the summary.
fn drain(s: &Session) -> (i32, serde_json::Value, String) {
    let (code, stdout, stderr) = run(s.salesctl().args(DRAIN_JSON));
    let report = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("a JSON summary ({e}): {stdout} {stderr}"));
    (code, report, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_reshard_every_piped_record_reaches_the_lake_and_the_counts_say_so() {
    let s = session_up(&["up", "--shards", "1"]);
    generate_changes(&s, "30");
    let (code, _, stderr) = drain(&s);
    assert_eq!(code, 0, "{stderr}");
    // The emulator closes the parent but keeps routing PutRecords to it (DESIGN.md §6); a
    // drain with nothing new reads the closed parent to its end and its children (empty).
    split_first_shard(&s).await;
    let (code, _, stderr) = drain(&s);
    assert_eq!(code, 0, "{stderr}");

    generate_changes(&s, "100");
    let (code, report, stderr) = drain(&s);
    let piped = report["piped"].as_u64().unwrap();
    let reached = ["rows_written", "processing_failed", "duplicates_dropped"]
        .iter()
        .map(|field| report[field].as_u64().unwrap())
        .sum::<u64>();
    eprintln!("after the split: {report}");
    assert!(piped >= 100, "{report}");
    assert_eq!(
        (code, reached),
        (0, piped),
        "every record piped this run reached the lake: {report} {stderr}"
    );
    let changes = stream_changes(&s).await;
    assert_eq!(
        lake_counts(&s),
        (changes.len() as u64, changes.len() as u64),
        "lake rows, distinct events, stream changes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_following_relay_keeps_delivering_after_a_reshard() {
    let s = session_up(&["up", "--shards", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let mut relay = relay_command(
        &s,
        dir.path(),
        &[
            "--buffer-interval",
            "100ms",
            "--poll",
            "20ms",
            "--output",
            "json",
        ],
    )
    // The reader's log says when it has read a closed shard to its end.
    .env("SALESCTL_LOG", "salesctl=info")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start relay");
    let log = crate::common::Capture::start(relay.stderr.take().unwrap());
    let landed = |what: &str, changes: u64| {
        wait_until(what, READY_WITHIN, || match lake_counts(&s) {
            (rows, distinct) if rows == changes && distinct == changes => Ok(()),
            seen => Err(format!("lake rows, distinct {seen:?}; {changes} changes")),
        })
    };
    generate_changes(&s, "30");
    wait_for_a_data_object(&s).await;
    landed(
        "the first changes in the lake",
        stream_changes(&s).await.len() as u64,
    );
    // Split while it follows; once it has read the closed parent to its end, the emulator
    // keeps writing to that parent (DESIGN.md §6).
    split_first_shard(&s).await;
    wait_until("the relay to finish the split parent", READY_WITHIN, || {
        let text = log.so_far();
        if text.contains("finished shard shardId-000000000000") {
            Ok(())
        } else {
            Err(text)
        }
    });
    generate_changes(&s, "50");
    landed(
        "the changes made after the split in the lake",
        stream_changes(&s).await.len() as u64,
    );
    relay.kill().unwrap();
    relay.wait().unwrap();
}

async fn lake(s: &Session) -> salesctl::lake::Lake {
    let clients = s.clients().await;
    let bucket = clients.bucket(&s.settings()).await.unwrap();
    salesctl::lake::Lake::new(&clients.s3, bucket)
}

/// Waits until the lake holds a data object. The local engine takes the lake's format from
/// its newest object, so a query of an empty lake while the relay writes its first (Parquet)
/// object may read it as JSON lines; that race is the engine's, not what these tests try.
async fn wait_for_a_data_object(s: &Session) {
    let lake = lake(s).await;
    let deadline = Instant::now() + READY_WITHIN;
    while lake.list("orders/").await.unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "no data object in the lake within {READY_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The data objects under `orders/`, each with its flat rows (decoded by its suffix).
async fn data_objects(s: &Session) -> Vec<(String, Vec<serde_json::Value>)> {
    let lake = lake(s).await;
    let mut objects = Vec::new();
    for entry in lake.list("orders/").await.unwrap() {
        let body = lake.read(&entry.key).await.unwrap();
        let rows = salesctl::lake::parquet::flat_rows(&entry.key, &body)
            .unwrap()
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_slice(line).unwrap())
            .collect();
        objects.push((entry.key, rows));
    }
    objects
}

/// Asserts a data object lies in the partition of its name's time (the flush's first arrival,
/// with no failed or repeated records the oldest row's): `orders/dt=D/hour=H/…-1-D-H-…`.
fn assert_in_its_arrival_partition(key: &str) {
    let rest = key.strip_prefix("orders/dt=").unwrap();
    let (day, rest) = rest.split_once("/hour=").unwrap();
    let (hour, name) = rest.split_once('/').unwrap();
    let stamp = name.strip_prefix("salesctl-orders-1-").unwrap();
    assert_eq!(&stamp[..13], format!("{day}-{hour}"), "{key}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_relay_writes_the_stacks_lake_format_and_a_flag_overrides_it() {
    // The stack says parquet; the settings say json: the stack's Firehose is what the relay
    // stands in for, so its format wins.
    let s = session_up(&["up", "--lake-format", "parquet"]);
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "lake_format = \"json\"\n").unwrap();
    generate_changes(&s, "60");
    let (code, stdout, stderr) = run(s
        .salesctl()
        .arg("--config")
        .arg(config.path())
        .args(DRAIN_JSON));
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let parquet = data_objects(&s).await;
    assert_eq!(parquet.len() as u64, report["objects"].as_u64().unwrap());
    let mut rows = 0;
    for (key, object_rows) in &parquet {
        assert!(key.ends_with(".parquet"), "{key}");
        assert_in_its_arrival_partition(key.trim_end_matches(".parquet"));
        rows += object_rows.len() as u64;
    }
    assert_eq!(rows, report["rows_written"].as_u64().unwrap(), "{report}");
    let changes = stream_changes(&s).await;
    assert_eq!(
        lake_counts(&s),
        (changes.len() as u64, changes.len() as u64),
        "the local engine reads the relay's Parquet: every change once"
    );

    // --lake-format wins over the stack, with a warning.
    generate_changes(&s, "10");
    let (code, stdout, stderr) = run(s
        .salesctl()
        .args(DRAIN_JSON)
        .args(["--lake-format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("--lake-format json differs from the stack's LakeFormat (parquet)"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let json: Vec<_> = data_objects(&s)
        .await
        .into_iter()
        .filter(|(key, _)| !parquet.iter().any(|(old, _)| old == key))
        .collect();
    assert_eq!(json.len() as u64, report["objects"].as_u64().unwrap());
    for (key, _) in &json {
        assert!(!key.ends_with(".parquet"), "{key}");
        assert_in_its_arrival_partition(key);
    }
    let rows: usize = json.iter().map(|(_, rows)| rows.len()).sum();
    assert_eq!(rows as u64, report["rows_written"].as_u64().unwrap());
}

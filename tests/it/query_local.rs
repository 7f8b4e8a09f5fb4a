//! The embedded SQL engine end to end through the binary: NDJSON flat rows in a local directory
//! and in the emulator's S3, exact decimal sums, orders_current after updates and deletes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{assert_has_lines, lake_session, report_of_directory, run, spawn};

/// An order of these tests, as every change of it repeats it: id, product, quantity, price,
/// total and the day it was created.
type Order = [&'static str; 6];

const ORDERS: [Order; 4] = [
    ["o1", "Laptop", "1", "1249.90", "1249.90", "2026-11-20"],
    ["o2", "Mouse", "2", "19.99", "39.98", "2026-11-20"],
    ["o3", "Cable", "1", "0.10", "0.10", "2026-11-20"],
    ["o4", "Cable", "2", "0.10", "0.20", "2026-11-21"],
];

/// The flat rows of `changes`, as the transform writes them: one change a line, its order id,
/// status, event, sequence number and creation time.
fn rows(changes: &str) -> String {
    let mut rows = String::new();
    for change in changes.lines().filter(|line| !line.trim().is_empty()) {
        let [id, status, event, sequence, creation_datetime] = change
            .split_whitespace()
            .collect::<Vec<_>>()
            .try_into()
            .unwrap_or_else(|_| panic!("not a change: {change:?}"));
        let &[order, product, quantity, price, total, created_day] = ORDERS
            .iter()
            .find(|order| order[0] == id)
            .unwrap_or_else(|| panic!("no order {id}"));
        rows.push_str(&format!(
            "{{\"order_id\":\"{order}\",\"customer_id\":\"c-{order}\",\"product_name\":\"{product}\",\
             \"category\":\"misc\",\"quantity\":{quantity},\"price\":{price},\"total\":{total},\
             \"currency\":\"USD\",\"region\":\"us\",\"status\":\"{status}\",\
             \"created_at\":\"{created_day}T08:00:00.000Z\",\"updated_at\":\"{created_day}T08:00:00.000Z\",\
             \"cdc_event_type\":\"{event}\",\"cdc_event_id\":\"ev-{order}-{sequence}\",\
             \"cdc_sequence_number\":\"{sequence}\",\"creation_datetime\":\"{creation_datetime}\",\
             \"is_deleted\":{}}}\n",
            event == "REMOVE"
        ));
    }
    rows
}

/// The lake of these tests, as (relative path, NDJSON text). Four orders:
/// - o1 Laptop: INSERT, then MODIFY to PAID in the same second with a longer (numerically
///   larger) sequence number, so string order alone would pick the wrong row;
/// - o2 Mouse: INSERT then REMOVE (deleted: not current);
/// - o3 Cable 0.10 + o4 Cable 0.20: an exact 0.30, which f64 would print as 0.30000000000000004;
/// - o4 also changes at millisecond precision after a whole-second change.
fn lake_files() -> Vec<(&'static str, String)> {
    let first = rows(
        "
        o1 PENDING INSERT 990000000000000000001 2026-11-20T08:15:02Z
        o2 PENDING INSERT 990000000000000000002 2026-11-20T08:15:03Z
        o3 PAID    INSERT 990000000000000000003 2026-11-20T08:15:04Z",
    );
    let second = rows(
        "
        o1 PAID    MODIFY 1000000000000000000004 2026-11-20T08:15:02Z
        o2 PENDING REMOVE 1000000000000000000005 2026-11-21T09:00:00Z
        o4 PENDING INSERT 1000000000000000000006 2026-11-21T09:00:01Z
        o4 SHIPPED MODIFY 1000000000000000000007 2026-11-21T09:00:01.250Z",
    );
    vec![
        // Firehose object names have no extension; the relay's may end in .json.
        (
            "dt=2026-11-20/hour=08/salesctl-orders-1-2026-11-20-08-15-02-0b6c2a",
            first,
        ),
        ("dt=2026-11-21/hour=09/part-0001.json", second),
    ]
}

fn write_lake(dir: &Path) {
    for (relative, text) in lake_files() {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    // Not data: outside the dt=/hour= layout, and empty.
    std::fs::write(dir.join("README"), "not a row").unwrap();
    std::fs::write(dir.join("dt=2026-11-21/hour=09/empty"), "").unwrap();
}

/// The binary with no AWS settings at all: a local directory needs none.
fn salesctl() -> Command {
    crate::common::salesctl_without_ambient_settings()
}

/// `salesctl VERB --data DIR ARGS…`.
fn on_directory(verb: &str, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = salesctl();
    cmd.args([verb, "--data", dir.to_str().unwrap()]).args(args);
    cmd
}

fn query(dir: &Path, format: &str, sql: &str) -> String {
    let (code, stdout, stderr) = run(&mut on_directory("query", dir, &["--output", format, sql]));
    assert_eq!(code, 0, "query failed: {stderr}");
    stdout
}

#[test]
fn exact_sums_partitions_and_current_state_from_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    write_lake(dir.path());
    assert_eq!(
        query(
            dir.path(),
            "json",
            "SELECT count(*) AS n, sum(price) AS prices, sum(total) AS totals FROM orders_cdc"
        ),
        "{\"n\":7,\"prices\":2540.08,\"totals\":2580.26}\n"
    );
    assert_eq!(
        query(
            dir.path(),
            "json",
            "SELECT sum(total) AS cables FROM orders_current WHERE product_name = 'Cable'"
        ),
        "{\"cables\":0.30}\n"
    );
    assert_eq!(
        query(
            dir.path(),
            "json",
            "SELECT dt, hour, count(*) AS n FROM orders_cdc GROUP BY dt, hour ORDER BY dt, hour"
        ),
        "{\"dt\":\"2026-11-20\",\"hour\":\"08\",\"n\":3}\n{\"dt\":\"2026-11-21\",\"hour\":\"09\",\"n\":4}\n"
    );
    assert_eq!(
        query(
            dir.path(),
            "json",
            "SELECT order_id, status, total, cdc_event_type, is_deleted FROM orders_current ORDER BY order_id"
        ),
        "{\"order_id\":\"o1\",\"status\":\"PAID\",\"total\":1249.90,\"cdc_event_type\":\"MODIFY\",\"is_deleted\":false}\n\
         {\"order_id\":\"o3\",\"status\":\"PAID\",\"total\":0.10,\"cdc_event_type\":\"INSERT\",\"is_deleted\":false}\n\
         {\"order_id\":\"o4\",\"status\":\"SHIPPED\",\"total\":0.20,\"cdc_event_type\":\"MODIFY\",\"is_deleted\":false}\n"
    );
}

#[test]
fn all_three_output_formats_print_decimals_exactly() {
    let dir = tempfile::tempdir().unwrap();
    write_lake(dir.path());
    let sql = "SELECT product_name, sum(total) AS revenue, sum(quantity) AS units FROM orders_current \
               GROUP BY product_name ORDER BY product_name";
    assert_eq!(
        query(dir.path(), "csv", sql),
        "product_name,revenue,units\nCable,0.30,3\nLaptop,1249.90,1\n"
    );
    assert_eq!(
        query(dir.path(), "json", sql),
        "{\"product_name\":\"Cable\",\"revenue\":0.30,\"units\":3}\n\
         {\"product_name\":\"Laptop\",\"revenue\":1249.90,\"units\":1}\n"
    );
    let table = query(dir.path(), "table", sql);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Cable") && l.contains("0.30") && l.contains('3')),
        "{table}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Laptop") && l.contains("1249.90")),
        "{table}"
    );
    let stats = lines.last().unwrap();
    assert!(
        stats.starts_with("local engine (DataFusion): 2 rows in "),
        "{stats}"
    );
    assert!(stats.contains(", 2 json objects ("), "{stats}");
}

#[test]
fn sql_comes_from_a_file_or_stdin() {
    let dir = tempfile::tempdir().unwrap();
    write_lake(dir.path());
    let file = dir.path().join("q.sql");
    std::fs::write(&file, "SELECT count(*) AS n FROM orders_current;\n").unwrap();
    let file = file.to_str().unwrap();
    let (code, stdout, stderr) = run(&mut on_directory(
        "query",
        dir.path(),
        &["-o", "csv", "--file", file],
    ));
    assert_eq!((code, stdout.as_str()), (0, "n\n3\n"), "{stderr}");

    let mut from_stdin = on_directory("query", dir.path(), &["-o", "csv", "-"]);
    let mut child = spawn(&mut from_stdin, Stdio::piped(), Stdio::piped);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT count(DISTINCT order_id) AS n FROM orders_cdc")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\n4\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn an_empty_result_still_has_its_header() {
    let dir = tempfile::tempdir().unwrap();
    write_lake(dir.path());
    let sql = "SELECT order_id, total FROM orders_cdc WHERE order_id = 'no such order'";
    assert_eq!(query(dir.path(), "csv", sql), "order_id,total\n");
    assert_eq!(query(dir.path(), "json", sql), "");
}

#[test]
fn bad_sql_is_a_short_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    write_lake(dir.path());
    for sql in [
        "SELEC 1",
        "SELECT no_such_column FROM orders_cdc",
        "SELECT * FROM no_such_table",
        "DROP TABLE orders_cdc",
    ] {
        let (code, stdout, stderr) = run(&mut on_directory("query", dir.path(), &[sql]));
        assert_eq!(code, 2, "{sql}: {stderr}");
        assert_eq!(stdout, "");
        assert_eq!(stderr.lines().count(), 1, "{sql}: {stderr}");
        assert!(
            stderr.starts_with("salesctl: error: the query was rejected: "),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (code, _, stderr) = run(&mut on_directory("query", dir.path(), &["  ; "]));
    assert_eq!(code, 2);
    assert!(stderr.contains("no SQL to run"), "{stderr}");
}

#[test]
fn an_empty_or_missing_lake_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let sql = "SELECT count(*) AS n FROM orders_cdc";
    let (code, stdout, stderr) = run(&mut on_directory("query", dir.path(), &["-o", "csv", sql]));
    assert_eq!((code, stdout.as_str()), (0, "n\n0\n"), "{stderr}");
    assert!(stderr.contains("holds no data files"), "{stderr}");

    let missing = dir.path().join("nope");
    let (code, _, stderr) = run(&mut on_directory("query", &missing, &["SELECT 1"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot be read") && stderr.contains("--data"),
        "{stderr}"
    );
}

#[test]
fn report_on_the_local_engine_as_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    write_lake(dir.path());
    let stdout = report_of_directory(salesctl(), dir.path());
    // JSON lines: an `about` line, then one line per row with its section first; exact
    // decimal text on the wire (serde_json here parses into f64, so check the text).
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["section"], "about");
    assert_eq!(lines[0]["engine"], "local");
    let expected = [
        "{\"section\":\"revenue_by_product\",\"product_name\":\"Laptop\",\"currency\":\"USD\",\"orders\":1,\"units\":1,\"revenue\":1249.90}",
        "{\"section\":\"revenue_by_product\",\"product_name\":\"Cable\",\"currency\":\"USD\",\"orders\":2,\"units\":3,\"revenue\":0.30}",
        "{\"section\":\"revenue_by_day\",\"day\":\"2026-11-20\",\"currency\":\"USD\",\"orders\":2,\"revenue\":1250.00}",
        "{\"section\":\"revenue_by_day\",\"day\":\"2026-11-21\",\"currency\":\"USD\",\"orders\":1,\"revenue\":0.20}",
        "{\"section\":\"average_order_value\",\"currency\":\"USD\",\"orders\":3,\"revenue\":1250.20,\"average_order_value\":416.73}",
        "{\"section\":\"cdc_mix\",\"cdc_event_type\":\"INSERT\",\"events\":4}",
        "{\"section\":\"cdc_mix\",\"cdc_event_type\":\"REMOVE\",\"events\":1}",
    ];
    assert_has_lines(&stdout, &expected);
    // Two days of history: too little for any forecast, and the report says why.
    assert!(
        !lines.iter().any(|l| l["section"] == "forecast"),
        "{stdout}"
    );
    let model = lines
        .iter()
        .find(|l| l["section"] == "forecast_model")
        .unwrap();
    assert_eq!(model["full_days"], 2);
    assert!(model["reason"].as_str().unwrap().contains('2'), "{model}");

    let top_products = ["-o", "csv", "--section", "top_products"];
    let (code, csv, stderr) = run(&mut on_directory("report", dir.path(), &top_products));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(csv, "product_name,units,orders\nCable,3,2\nLaptop,1,1\n");
}

/// The local report reads the lake a day at a time: every day it holds is read once, days
/// named with a quote or a percent-escape included, and an order changed on two days
/// counts once, by its latest change.
#[test]
fn the_local_report_reads_every_day_of_the_lake_once() {
    let dir = tempfile::tempdir().unwrap();
    let change = |id: &str, event: &str, sequence: u32, quantity: u32| {
        format!(
            "{{\"order_id\":\"{id}\",\"product_name\":\"Cable\",\"quantity\":{quantity},\"price\":1.00,\
             \"total\":{quantity}.00,\"currency\":\"EUR\",\"status\":\"PAID\",\"created_at\":\"2026-11-20T10:00:00.000Z\",\
             \"cdc_event_type\":\"{event}\",\"cdc_sequence_number\":\"{sequence}\",\
             \"creation_datetime\":\"2026-11-20T10:00:{:02}Z\",\"is_deleted\":false}}\n",
            sequence % 60
        )
    };
    let write = |days: &[(&str, String)]| {
        for (day, text) in days {
            let hour = dir.path().join(day).join("hour=08");
            std::fs::create_dir_all(&hour).unwrap();
            std::fs::write(hour.join("part"), text).unwrap();
        }
    };
    let report = |section: &str| {
        let args = ["-o", "csv", "--section", section];
        let (code, csv, stderr) = run(&mut on_directory("report", dir.path(), &args));
        assert_eq!(code, 0, "{stderr}");
        (csv, stderr)
    };
    write(&[
        ("dt=2026-11-20", change("o1", "INSERT", 101, 1)),
        ("dt=2026-11-21", change("o1", "MODIFY", 102, 3)),
        ("dt=2026-11-2'2", change("o2", "INSERT", 103, 1)),
    ]);
    let (csv, stderr) = report("cdc_mix");
    assert_eq!(csv, "cdc_event_type,events\nINSERT,2\nMODIFY,1\n");
    assert!(
        stderr.contains("3 changes read a day at a time over 3 days"),
        "{stderr}"
    );

    // A folder DataFusion reads as `2026-11-23'x` in a full scan, but which a predicate on
    // that value misses (it is percent-encoded), beside the folder of that very name: the
    // report reads the lake in one pass rather than leave a change out.
    write(&[
        ("dt=2026-11-23%27x", change("o3", "INSERT", 104, 1)),
        ("dt=2026-11-23'x", change("o4", "INSERT", 105, 1)),
    ]);
    let counted = query(dir.path(), "csv", "SELECT count(*) AS n FROM orders_cdc");
    assert_eq!(counted, "n\n5\n");
    let (csv, stderr) = report("cdc_mix");
    assert_eq!(csv, "cdc_event_type,events\nINSERT,4\nMODIFY,1\n");
    assert!(stderr.contains("5 changes read in one pass"), "{stderr}");
    let (csv, _) = report("revenue_by_product");
    assert_eq!(
        csv,
        "product_name,currency,orders,units,revenue\nCable,EUR,4,6,6.00\n"
    );
}

#[tokio::test]
async fn an_s3_lake_in_the_emulator_is_read_in_place_and_pruned_to_the_hours_asked() {
    let bucket = "lake-query-test";
    let (s, clients, lake) = lake_session(bucket).await;
    let put = async |key: &str, text: String| lake.write(key, text.into_bytes()).await.unwrap();
    for (relative, text) in lake_files() {
        put(&format!("orders/{relative}"), text).await;
    }
    // Failed records live under errors/, outside the table.
    put(
        "errors/processing-failed/dt=2026-11-20/hour=08/x",
        "junk\n".into(),
    )
    .await;
    let run_query = |sql: &str, extra: &[&str]| {
        let mut cmd = s.salesctl();
        cmd.args(["query", "-o", "json"]).args(extra).arg(sql);
        run(&mut cmd)
    };
    let sql = "SELECT count(*) AS n, sum(total) AS totals FROM orders_cdc";
    let (code, stdout, stderr) = run_query(sql, &["--data", "s3://lake-query-test/orders/"]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "{\"n\":7,\"totals\":2580.26}\n"),
        "{stderr}"
    );
    assert!(stderr.contains(", 2 json objects ("), "{stderr}");
    // One day asked, one day's objects read: the other partition is neither listed nor read.
    let one_day = "SELECT count(*) AS n FROM orders_cdc WHERE dt = '2026-11-21'";
    let (code, stdout, stderr) = run_query(one_day, &["--data", "s3://lake-query-test/orders/"]);
    assert_eq!((code, stdout.as_str()), (0, "{\"n\":4}\n"), "{stderr}");
    assert!(stderr.contains(", 1 json object ("), "{stderr}");
    // The default lake is s3://<bucket>/orders/, and the engine defaults to local on an emulator.
    let current = "SELECT order_id, status FROM orders_current ORDER BY order_id";
    let (code, stdout, stderr) = run_query(current, &["--bucket", bucket]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "{\"order_id\":\"o1\",\"status\":\"PAID\"}\n{\"order_id\":\"o3\",\"status\":\"PAID\"}\n\
         {\"order_id\":\"o4\",\"status\":\"SHIPPED\"}\n"
    );

    // A new object, a rewritten one and a deleted one: the next query sees exactly the bucket.
    put(
        "orders/dt=2026-11-22/hour=10/salesctl-orders-1-2026-11-22-10-00-00-ffff",
        rows("o3 PAID REMOVE 1000000000000000000008 2026-11-22T10:00:00Z"),
    )
    .await;
    let (first_key, first_text) = &lake_files()[0];
    put(
        &format!("orders/{first_key}"),
        first_text
            .lines()
            .take(2)
            .map(|l| format!("{l}\n"))
            .collect(),
    )
    .await;
    crate::common::delete_object(&clients, bucket, &format!("orders/{}", lake_files()[1].0)).await;
    let (code, stdout, stderr) = run_query(current, &["--bucket", bucket]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "{\"order_id\":\"o1\",\"status\":\"PENDING\"}\n{\"order_id\":\"o2\",\"status\":\"PENDING\"}\n"
    );

    // A bucket that does not exist is a service error naming the fix.
    let (code, _, stderr) = run_query("SELECT 1", &["--data", "s3://no-such-bucket-here/orders/"]);
    assert_eq!(code, 254, "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
}

/// Issue 21.2: garbage bytes, a truncated object or a cut line name the object, the line and
/// the fix in one line, for query and report alike, instead of failing the whole lake by prefix.
#[test]
fn a_corrupt_object_names_itself_its_line_and_the_fix() {
    let good = rows("o1 PENDING INSERT 990000000000000000001 2026-11-20T08:15:02Z");
    let name = "dt=2026-11-21/hour=09/salesctl-orders-1-2026-11-21-09-00-00-bad";
    let cases = [
        (
            "garbage",
            [&[0x00u8, 0xff, 0xfe, 0x13][..], b"\x89PNG garbage"].concat(),
            "at line 1: it holds bytes that are not text",
        ),
        (
            "truncated",
            format!("{good}{}", &good[..good.len() / 2]).into_bytes(),
            "at line 2: the object ends inside this row (a truncated object)",
        ),
        (
            "cut line",
            format!("{good}{}\n{good}", &good[..good.len() / 2]).into_bytes(),
            "at line 2: the row is cut short: its line ends before its JSON does",
        ),
    ];
    for (what, bytes, problem) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_lake(dir.path());
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let path = dir.path().canonicalize().unwrap().join(name);
        let aside = dir
            .path()
            .canonicalize()
            .unwrap()
            .parent()
            .unwrap()
            .join("errors/unreadable/dt=2026-11-21/hour=09/");
        for cmd in [
            &mut on_directory("query", dir.path(), &["SELECT count(*) FROM orders_cdc"]),
            &mut on_directory("report", dir.path(), &["-o", "json"]),
        ] {
            let (code, _, stderr) = run(cmd);
            assert_eq!(code, 255, "{what}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{what}: one line: {stderr}");
            let expected = format!("{} is unreadable {problem}", path.display());
            assert!(stderr.contains(&expected), "{what}: {stderr}");
            let fix = format!(
                "move it out of {} (e.g. into {}) or delete it, then run the query again",
                dir.path().canonicalize().unwrap().display(),
                aside.display()
            );
            assert!(stderr.contains(&fix), "{what}: {stderr}");
        }
        // Moved aside, the lake reads again.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            query(dir.path(), "csv", "SELECT count(*) AS n FROM orders_cdc"),
            "n\n7\n"
        );
    }
    // A row that fits no column type (written before the transform checked rows) is named too.
    let dir = tempfile::tempdir().unwrap();
    write_lake(dir.path());
    let many = good.replace("\"quantity\":1", "\"quantity\":\"many\"");
    std::fs::write(dir.path().join(name), format!("{good}{many}")).unwrap();
    let (code, _, stderr) = run(&mut on_directory(
        "query",
        dir.path(),
        &["SELECT sum(quantity) FROM orders_cdc"],
    ));
    assert_eq!(code, 255, "{stderr}");
    assert!(
        stderr.contains(
            "at line 2: the row of order_id \"o1\" does not fit the lake table: column quantity (int) cannot hold \"many\""
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_corrupt_object_in_s3_is_named_by_its_key() {
    let bucket = "lake-corrupt-test";
    let (s, clients, lake) = lake_session(bucket).await;
    for (relative, text) in lake_files() {
        lake.write(&format!("orders/{relative}"), text.into_bytes())
            .await
            .unwrap();
    }
    let good = rows("o1 PENDING INSERT 990000000000000000001 2026-11-20T08:15:02Z");
    let key = "orders/dt=2026-11-21/hour=09/salesctl-orders-1-2026-11-21-09-00-00-cut";
    lake.write(key, format!("{good}{}", &good[..40]).into_bytes())
        .await
        .unwrap();
    let run_query = || {
        let mut cmd = s.salesctl();
        cmd.args([
            "query",
            "--bucket",
            bucket,
            "SELECT count(*) AS n FROM orders_cdc",
        ]);
        run(&mut cmd)
    };
    let (code, _, stderr) = run_query();
    assert_eq!(code, 255, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "s3://{bucket}/{key} is unreadable at line 2: the object ends inside this row (a truncated object): \
             move it out of the table with 'aws s3 mv s3://{bucket}/{key} s3://{bucket}/errors/unreadable/dt=2026-11-21/hour=09/salesctl-orders-1-2026-11-21-09-00-00-cut' or delete it"
        )),
        "{stderr}"
    );
    crate::common::delete_object(&clients, bucket, key).await;
    let (code, stdout, stderr) = run_query();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains('7'), "{stdout}");
}

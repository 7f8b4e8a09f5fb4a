//! The Athena engine through the binary against the emulator, which runs no SQL: canned results
//! are queued through its /moto-api, and its state manager walks queries through QUEUED and
//! RUNNING. Covers the header row, column types, big results, the cost line, Ctrl-C and
//! cancellation by someone else.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Capture, READY_WITHIN, Session, report_of_directory, run, spawn, wait_until};

const WORKGROUP: &str = "salesctl";

async fn create_workgroup(s: &Session) -> salesctl::aws::Clients {
    let clients = s.clients().await;
    clients
        .athena
        .create_work_group()
        .name(WORKGROUP)
        .send()
        .await
        .unwrap();
    clients
}

/// A fresh session whose emulator has the workgroup, each query staying `times`
/// GetQueryExecution calls in QUEUED, then as many in RUNNING; with its clients.
async fn athena_session(times: u32) -> (Session, salesctl::aws::Clients) {
    let s = crate::common::session();
    let clients = create_workgroup(&s).await;
    set_transition(&s, times);
    (s, clients)
}

/// The SQL of every query the emulator's Athena was sent.
async fn sent_sql(clients: &salesctl::aws::Clients) -> Vec<String> {
    let ids = clients.athena.list_query_executions().send().await.unwrap();
    let mut sent = Vec::new();
    for id in ids.query_execution_ids() {
        let execution = clients
            .athena
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .unwrap();
        sent.extend(
            execution
                .query_execution()
                .and_then(|q| q.query())
                .map(str::to_string),
        );
    }
    sent
}

/// `salesctl VERB --engine athena ARGS…` on the session's emulator.
fn on_athena(s: &Session, verb: &str, args: &[&str]) -> Command {
    let mut cmd = s.salesctl();
    cmd.args([verb, "--engine", "athena"]).args(args);
    cmd
}

/// Each query stays `times` GetQueryExecution calls in QUEUED, then as many in RUNNING.
fn set_transition(s: &Session, times: u32) {
    crate::common::post(
        s.emulator.port,
        "/moto-api/state-manager/set-transition",
        &format!(
            "{{\"model_name\":\"athena::execution\",\"transition\":{{\"progression\":\"manual\",\"times\":{times}}}}}"
        ),
    );
}

/// Queues one canned result: Athena's shape, header row first as a SELECT returns it.
fn queue_result(s: &Session, columns: &[(&str, &str)], rows: &[Vec<Option<String>>]) {
    let datum = |v: &Option<String>| match v {
        Some(text) => serde_json::json!({ "VarCharValue": text }),
        None => serde_json::json!({}),
    };
    let header: Vec<serde_json::Value> = columns
        .iter()
        .map(|(n, _)| serde_json::json!({ "VarCharValue": n }))
        .collect();
    let mut all_rows = vec![serde_json::json!({ "Data": header })];
    all_rows.extend(
        rows.iter()
            .map(|r| serde_json::json!({ "Data": r.iter().map(datum).collect::<Vec<_>>() })),
    );
    let column_info: Vec<serde_json::Value> = columns
        .iter()
        .map(|(n, t)| serde_json::json!({ "Name": n, "Label": n, "Type": t, "Nullable": "UNKNOWN", "CaseSensitive": false }))
        .collect();
    let body = serde_json::json!({
        "account_id": "123456789012",
        "region": "us-east-1",
        "results": [{ "rows": all_rows, "column_info": column_info }],
    });
    crate::common::post(
        s.emulator.port,
        "/moto-api/static/athena/query-results",
        &body.to_string(),
    );
}

/// A result row of `values`, `NULL` for a null.
fn some(values: &[&str]) -> Vec<Option<String>> {
    values
        .iter()
        .map(|v| (*v != "NULL").then(|| v.to_string()))
        .collect()
}

const COLUMNS: [(&str, &str); 4] = [
    ("product_name", "varchar"),
    ("revenue", "decimal"),
    ("units", "bigint"),
    ("paid", "boolean"),
];

fn sample_rows() -> Vec<Vec<Option<String>>> {
    vec![
        some(&["Laptop", "1249.90", "1", "true"]),
        some(&["Cable", "0.30", "3", "false"]),
        some(&["Mouse", "NULL", "0", "NULL"]),
    ]
}

#[tokio::test]
async fn a_select_passes_queued_and_running_and_prints_typed_rows_without_the_header() {
    let (s, _) = athena_session(2).await;
    queue_result(&s, &COLUMNS, &sample_rows());
    let sql = "SELECT product_name, sum(total) AS revenue FROM orders_current GROUP BY 1";
    let mut query = on_athena(&s, "query", &["-v", "-o", "json", sql]);
    let (code, stdout, stderr) = run(query.env("NO_COLOR", "1"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "{\"product_name\":\"Laptop\",\"revenue\":1249.90,\"units\":1,\"paid\":true}\n\
         {\"product_name\":\"Cable\",\"revenue\":0.30,\"units\":3,\"paid\":false}\n\
         {\"product_name\":\"Mouse\",\"revenue\":null,\"units\":0,\"paid\":null}\n"
    );
    for state in [
        "state=\"QUEUED\"",
        "state=\"RUNNING\"",
        "state=\"SUCCEEDED\"",
    ] {
        assert!(stderr.contains(state), "{state} not seen in {stderr}");
    }
    let stats = stderr.lines().last().unwrap();
    assert!(stats.starts_with("athena: SUCCEEDED, query "), "{stats}");
    assert!(
        stats.ends_with("engine time 0.000 s, 0 bytes scanned, approximate cost $0.000048 (at $5/TB, 10 MB minimum)"),
        "{stats}"
    );

    // The other two formats, and a configured price.
    queue_result(&s, &COLUMNS, &sample_rows());
    let priced = ["-o", "csv", "--price-per-tb", "6.25", "SELECT 1"];
    let (code, stdout, stderr) = run(&mut on_athena(&s, "query", &priced));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "product_name,revenue,units,paid\nLaptop,1249.90,1,true\nCable,0.30,3,false\nMouse,,0,\n"
    );
    assert!(
        stderr.contains("approximate cost $0.000060 (at $6.25/TB"),
        "{stderr}"
    );
    queue_result(&s, &COLUMNS, &sample_rows());
    let (code, stdout, stderr) = run(&mut on_athena(&s, "query", &["-o", "table", "SELECT 1"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("Laptop") && l.contains("1249.90")),
        "{stdout}"
    );
    assert!(
        !stdout.lines().skip(3).any(|l| l.contains("product_name")),
        "header row printed as data: {stdout}"
    );
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("athena: SUCCEEDED"),
        "{stdout}"
    );
}

#[tokio::test]
async fn more_than_a_thousand_rows_come_back_complete() {
    let (s, _) = athena_session(1).await;
    let rows: Vec<Vec<Option<String>>> = (0..2500)
        .map(|i| some(&[&format!("o{i}"), &format!("{i}.05")]))
        .collect();
    queue_result(&s, &[("order_id", "varchar"), ("total", "decimal")], &rows);
    let sql = "SELECT order_id, total FROM orders_cdc";
    let (code, stdout, stderr) = run(&mut on_athena(&s, "query", &["-o", "csv", sql]));
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2501);
    assert_eq!(lines[0], "order_id,total");
    assert_eq!(lines[1], "o0,0.05");
    assert_eq!(lines[2500], "o2499,2499.05");
}

fn query_command(s: &Session) -> Command {
    on_athena(
        s,
        "query",
        &["-o", "json", "SELECT count(*) FROM orders_cdc"],
    )
}

fn spawn_query(s: &Session) -> Child {
    spawn(&mut query_command(s), Stdio::null(), Stdio::piped)
}

/// The id of the one query the emulator knows, once the binary has started it.
async fn started_query(clients: &salesctl::aws::Clients) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed = clients.athena.list_query_executions().send().await.unwrap();
        if let Some(id) = listed.query_execution_ids().first() {
            return id.clone();
        }
        assert!(Instant::now() < deadline, "the query was never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn finish(child: Child) -> (i32, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn ctrl_c_stops_the_query_on_athena_and_exits_130() {
    let (s, clients) = athena_session(100_000).await;
    // Its log says each time it has polled the query's state.
    let mut child = spawn(
        query_command(&s).env("SALESCTL_LOG", "salesctl::sql::athena=info"),
        Stdio::null(),
        Stdio::piped,
    );
    let log = Capture::start(child.stderr.take().unwrap());
    let id = started_query(&clients).await;
    // Once it has polled at least once, press Ctrl-C.
    let polled = format!("query_execution_id={id}");
    wait_until(
        "a first poll of the query ('athena query state' on stderr)",
        READY_WITHIN,
        || {
            let text = log.so_far();
            if text
                .lines()
                .any(|l| l.contains("athena query state") && l.contains(&polled))
            {
                Ok(())
            } else {
                Err(format!("stderr {text:?}"))
            }
        },
    );
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (code, stdout, _) = finish(child);
    let stderr = log.finish();
    assert_eq!(code, 130, "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(&format!("Athena query {id} stopped (StopQueryExecution)")),
        "{stderr}"
    );
    let execution = clients
        .athena
        .get_query_execution()
        .query_execution_id(&id)
        .send()
        .await
        .unwrap();
    let state = execution
        .query_execution()
        .and_then(|q| q.status())
        .and_then(|s| s.state())
        .cloned();
    assert_eq!(
        state,
        Some(aws_sdk_athena::types::QueryExecutionState::Cancelled)
    );
}

#[tokio::test]
async fn a_query_cancelled_elsewhere_is_reported_with_a_non_zero_exit() {
    let (s, clients) = athena_session(100_000).await;
    let child = spawn_query(&s);
    let id = started_query(&clients).await;
    clients
        .athena
        .stop_query_execution()
        .query_execution_id(&id)
        .send()
        .await
        .unwrap();
    let (code, stdout, stderr) = finish(child);
    assert_eq!(code, 254, "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "salesctl: error: Athena query {id} was CANCELLED: "
        )),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_missing_workgroup_on_the_emulator_says_the_local_engine_runs_there() {
    let s = crate::common::session();
    let elsewhere = ["--workgroup", "nope", "SELECT 1"];
    let (code, _, stderr) = run(&mut on_athena(&s, "query", &elsewhere));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no Athena workgroup 'nope'") && stderr.contains("drop --engine athena"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// The report on Athena prints what the same rows print on the local engine: canned results
/// equal to the local engine's answers for a small lake give an identical report.
#[tokio::test]
async fn the_report_on_athena_matches_the_local_engine_for_the_same_answers() {
    let (s, _) = athena_session(1).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("dt=2026-11-20/hour=08");
    std::fs::create_dir_all(&lake).unwrap();
    let rows = [
        ("o1", "Laptop", 1, "1249.90", "INSERT", "2026-11-19"),
        ("o2", "Cable", 3, "0.30", "INSERT", "2026-11-20"),
        ("o2", "Cable", 3, "0.30", "MODIFY", "2026-11-20"),
    ];
    let text: String = rows
        .iter()
        .enumerate()
        .map(|(i, (id, product, q, total, event, day))| {
            format!(
                "{{\"order_id\":\"{id}\",\"product_name\":\"{product}\",\"quantity\":{q},\"price\":{total},\"total\":{total},\
                 \"currency\":\"EUR\",\"status\":\"PAID\",\"created_at\":\"{day}T10:00:00.000Z\",\"cdc_event_type\":\"{event}\",\
                 \"cdc_sequence_number\":\"10{i}\",\"creation_datetime\":\"2026-11-20T08:00:0{i}Z\",\"is_deleted\":false}}\n"
            )
        })
        .collect();
    std::fs::write(lake.join("part"), text).unwrap();
    let local = report_of_directory(s.salesctl(), dir.path());

    // The same answers, as Athena would return them for the report's one statement: the
    // changes per CDC type (sales_row 0) and the sales per product, currency and day (1).
    let row = |cells: [&str; 10]| -> Vec<Option<String>> {
        cells
            .iter()
            .map(|c| (!c.is_empty()).then(|| c.to_string()))
            .collect()
    };
    queue_result(
        &s,
        &[
            ("sales_row", "integer"),
            ("cdc_event_type", "varchar"),
            ("product_name", "varchar"),
            ("currency", "varchar"),
            ("day", "varchar"),
            ("events", "bigint"),
            ("orders", "bigint"),
            ("units", "bigint"),
            ("revenue", "decimal"),
            ("priced", "bigint"),
        ],
        &[
            row(["0", "INSERT", "", "", "", "2", "1", "1", "1249.90", "1"]),
            row(["0", "MODIFY", "", "", "", "1", "1", "3", "0.30", "1"]),
            row([
                "1",
                "",
                "Laptop",
                "EUR",
                "2026-11-19",
                "1",
                "1",
                "1",
                "1249.90",
                "1",
            ]),
            row([
                "1",
                "",
                "Cable",
                "EUR",
                "2026-11-20",
                "2",
                "1",
                "3",
                "0.30",
                "1",
            ]),
        ],
    );
    let (code, athena, stderr) = run(&mut on_athena(&s, "report", &["-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        athena.replacen("\"engine\":\"athena\"", "\"engine\":\"local\"", 1),
        local
    );
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("athena: SUCCEEDED"))
            .count(),
        1,
        "one statement, one scan: {stderr}"
    );
    // What Athena was sent: the one statement, reading the table once.
    let clients = s.clients().await;
    let sent = sent_sql(&clients).await;
    assert_eq!(sent, [salesctl::sql::report_sql()]);
}

/// Issue 19: `reconcile --since 1h` on Athena sends the window's hours as `dt`/`hour`
/// predicates (partition projection then reads only those prefixes), never a whole-lake scan.
#[tokio::test]
async fn reconcile_on_athena_sends_its_window_as_partition_predicates() {
    // moto's CloudFormation does not make the workgroup: made here, as on AWS.
    let (s, clients) = athena_session(1).await;
    let (code, _, stderr) = run(s.salesctl().args(["up", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    queue_result(&s, &[("cdc_event_id", "varchar")], &[]);
    queue_result(
        &s,
        &[
            ("order_id", "varchar"),
            ("updated_at", "varchar"),
            ("status", "varchar"),
            ("creation_datetime", "varchar"),
            ("cdc_sequence_number", "varchar"),
            ("is_deleted", "boolean"),
        ],
        &[],
    );
    let (code, _, stderr) = run(s.salesctl().args([
        "reconcile",
        "--engine",
        "athena",
        "--since",
        "1h",
        "-o",
        "json",
    ]));
    assert!(code == 0 || code == 1, "{stderr}");
    let sent = sent_sql(&clients).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    let hour_ago = chrono::Utc::now() - chrono::TimeDelta::hours(1) - salesctl::sql::LONGEST_BUFFER;
    let first_partition = format!(
        "(dt > '{day}' OR (dt = '{day}' AND hour >= '{hour}'))",
        day = hour_ago.format("%Y-%m-%d"),
        hour = hour_ago.format("%H")
    );
    for sql in &sent {
        assert!(sql.contains(" FROM orders_cdc WHERE "), "{sql}");
        assert!(sql.contains(&first_partition), "{first_partition} in {sql}");
    }
}

//! The AWS tutorial's own table, end to end (issue 21, item 8): `OrderTable`, keyed `orderid`,
//! items with `orderid`, `product_name`, `quantity` and `price` and nothing else. The lake's
//! `order_id` is the item's key there (README "Your own table"), so every order keeps its own
//! row in `orders_current`; each verb must then work on that table, or say in one line what
//! cannot apply and why, never answer with an empty table or a vacuous verdict.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::common::{DRAIN_JSON, Session, run, session, unpaced_generate};
use salesctl::aws::Clients;

const TABLE: &str = "OrderTable";
const KEY: &str = "orderid";
/// New orders generated (the 60): enough for updates and deletes, few enough to stay
/// quick.
const ORDERS: &str = "60";

/// What `generate` acknowledged, and the table's items afterwards.
struct Generated {
    inserted: u64,
    updated: u64,
    deleted: u64,
    /// `orderid` of every item left in the table.
    items: BTreeSet<String>,
}

impl Generated {
    fn changes(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }
}

/// `salesctl --table OrderTable ARGS`.
fn on_table<'a>(s: &Session, args: impl IntoIterator<Item = &'a str>) -> (i32, String, String) {
    run(s.salesctl().args(["--table", TABLE]).args(args))
}

fn ok<'a>(s: &Session, args: impl IntoIterator<Item = &'a str> + Clone) -> String {
    let shown: Vec<&str> = args.clone().into_iter().collect();
    let (code, stdout, stderr) = on_table(s, args);
    assert_eq!(code, 0, "salesctl --table {TABLE} {shown:?}: {stderr}");
    stdout
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn query(s: &Session, sql: &str) -> Vec<Value> {
    json_lines(&ok(s, ["query", "--engine", "local", "-o", "json", sql]))
}

fn number(value: &Value) -> u64 {
    value
        .as_u64()
        .or_else(|| value.as_str().and_then(|t| t.parse().ok()))
        .unwrap_or_else(|| panic!("a count, not {value}"))
}

/// The `orderid` of every item of the table.
async fn table_keys(clients: &Clients) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut start = None;
    loop {
        let page = clients
            .dynamodb
            .scan()
            .table_name(TABLE)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        for item in page.items.unwrap_or_default() {
            assert!(
                !item.contains_key("order_id"),
                "the tutorial's items have no order_id"
            );
            if let Some(AttributeValue::S(id)) = item.get(KEY) {
                keys.insert(id.clone());
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return keys;
        }
    }
}

/// The stack (for its Kinesis stream and lake bucket), the tutorial's `OrderTable` with a
/// NEW_AND_OLD_IMAGES stream, orders written by `generate --schema tutorial` (with updates
/// and deletes), and `relay --drain` from that table into the lake, in the relay's default
/// format or the one given (`--lake-format`).
async fn tutorial_lake(lake_format: Option<&str>) -> (Session, Clients, Generated) {
    let s = session();
    let (code, _, stderr) = run(s.salesctl().args(["up", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let clients = s.clients().await;
    crate::common::create_table_streaming(&clients, TABLE, KEY, true).await;

    let mut args = unpaced_generate(ORDERS);
    // One batch in flight: orders are acknowledged while later ones are planned, so some of
    // them are updated and deleted.
    args.extend(["--schema", "tutorial", "--seed", "21", "--concurrency", "1"]);
    let (code, _, stderr) = on_table(&s, args);
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON summary"))
        .unwrap_or_else(|| panic!("no generate summary: {stderr}"));
    let count = |name: &str| number(&summary[name]);
    let mut relay = DRAIN_JSON.to_vec();
    if let Some(format) = lake_format {
        relay.extend(["--lake-format", format]);
    }
    let (code, stdout, stderr) = on_table(&s, relay);
    assert_eq!(code, 0, "relay: {stdout} {stderr}");

    let items = table_keys(&clients).await;
    let generated = Generated {
        inserted: count("inserted"),
        updated: count("updated"),
        deleted: count("deleted"),
        items,
    };
    assert!(
        generated.items.len() > 1 && generated.updated > 0 && generated.deleted > 0,
        "the run must carry several orders, updates and deletes: {summary}"
    );
    assert_eq!(
        generated.items.len() as u64,
        generated.inserted - generated.deleted,
        "{summary}"
    );
    (s, clients, generated)
}

/// An order of the lake with the most changes (an update, when there is one).
fn busiest_order(s: &Session) -> (String, u64) {
    let rows = query(
        s,
        "SELECT order_id, count(*) AS changes FROM orders_cdc GROUP BY order_id ORDER BY count(*) DESC, order_id LIMIT 1",
    );
    let row = rows.first().expect("an order in the lake");
    (
        row["order_id"].as_str().expect("an order id").to_string(),
        number(&row["changes"]),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn every_tutorial_order_keeps_its_own_row_and_tail_cdc_and_transform_show_its_key() {
    let (s, _clients, generated) = tutorial_lake(None).await;

    // Every lake row has the order's key as order_id; every order is one row of orders_current.
    let nulls = query(
        &s,
        "SELECT count(*) AS n FROM orders_cdc WHERE order_id IS NULL",
    );
    assert_eq!(number(&nulls[0]["n"]), 0, "rows without order_id");
    let current = query(
        &s,
        "SELECT count(DISTINCT order_id) AS orders, count(*) AS \"rows\" FROM orders_current",
    );
    let orders = generated.items.len() as u64;
    assert_eq!(
        (number(&current[0]["orders"]), number(&current[0]["rows"])),
        (orders, orders),
        "one orders_current row per order of the table, not one in all"
    );
    let ids: BTreeSet<String> = query(&s, "SELECT order_id FROM orders_current")
        .iter()
        .map(|r| r["order_id"].as_str().expect("an id").to_string())
        .collect();
    assert_eq!(ids, generated.items, "orders_current is the table");
    // The tutorial's attributes land in their columns; what the table lacks is null.
    let filled = query(
        &s,
        "SELECT count(product_name) AS products, count(quantity) AS quantities, count(price) AS prices, \
         count(total) AS totals, count(status) AS statuses FROM orders_current",
    );
    assert_eq!(
        ["products", "quantities", "prices", "totals", "statuses"].map(|c| number(&filled[0][c])),
        [orders, orders, orders, 0, 0],
        "{filled:?}"
    );
    let mix: BTreeMap<String, u64> = query(
        &s,
        "SELECT cdc_event_type, count(DISTINCT cdc_event_id) AS n FROM orders_cdc GROUP BY cdc_event_type",
    )
    .iter()
    .map(|r| (r["cdc_event_type"].as_str().unwrap().to_string(), number(&r["n"])))
    .collect();
    assert_eq!(
        [
            mix.get("INSERT").copied(),
            mix.get("MODIFY").copied(),
            mix.get("REMOVE").copied()
        ],
        [
            Some(generated.inserted),
            Some(generated.updated),
            Some(generated.deleted)
        ]
    );

    // tail-cdc shows each change with the table's key, as JSON and for a person.
    let tail = ok(&s, ["tail-cdc", "--from", "trim-horizon", "-o", "json"]);
    let lines = json_lines(&tail);
    assert_eq!(lines.len() as u64, generated.changes(), "{tail}");
    for line in &lines {
        assert!(line["keys"][KEY].is_string(), "{line}");
    }
    let (order, changes) = busiest_order(&s);
    let shown = ok(
        &s,
        [
            "tail-cdc",
            "--from",
            "trim-horizon",
            "--key",
            order.as_str(),
            "-o",
            "table",
        ],
    );
    let rows = shown.lines().filter(|l| l.contains(order.as_str())).count() as u64;
    assert_eq!(rows, changes, "tail-cdc --key {order}:\n{shown}");

    // transform of those lines gives the lake's rows: order_id is the key.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tail.jsonl");
    std::fs::write(&file, &tail).unwrap();
    let rows = json_lines(&ok(&s, ["transform", file.to_str().unwrap()]));
    assert_eq!(rows.len(), lines.len());
    for (row, line) in rows.iter().zip(&lines) {
        assert_eq!(row["order_id"], line["keys"][KEY], "{row}");
        assert_eq!(row[KEY], line["keys"][KEY], "{row}");
    }
}

/// `report -o json` on the tutorial table: every section has rows, or one line
/// `{"section": NAME, "note": WHY}` naming the attribute the table lacks and pointing at the
/// README's "Your own table". Sections that can apply do: top products (product_name and
/// quantity are there), the CDC mix.
#[tokio::test(flavor = "multi_thread")]
async fn report_on_the_tutorial_table_shows_rows_or_says_why_for_every_section() {
    let (s, _clients, generated) = tutorial_lake(None).await;
    let (code, stdout, stderr) = on_table(&s, ["report", "-o", "json"]);
    eprintln!("report -o json (exit {code}):\n{stdout}\nstderr:\n{stderr}");
    let (_, people, people_err) = on_table(&s, ["report", "-o", "table", "--no-chart"]);
    eprintln!("report -o table --no-chart:\n{people}\nstderr:\n{people_err}");
    assert_eq!(code, 0, "{stderr}");
    let lines = json_lines(&stdout);
    let of = |section: &str| -> Vec<&Value> {
        lines.iter().filter(|l| l["section"] == section).collect()
    };
    for section in [
        "revenue_by_product",
        "revenue_by_day",
        "top_products",
        "average_order_value",
        "cdc_mix",
        "forecast",
        "forecast_model",
        "backtest",
    ] {
        let lines = of(section);
        let notes: Vec<&str> = lines.iter().filter_map(|l| l["note"].as_str()).collect();
        match notes.as_slice() {
            [] => assert!(
                !lines.is_empty(),
                "section {section}: no rows and no line saying why\n{stdout}"
            ),
            [note] => {
                assert_eq!(
                    lines.len(),
                    1,
                    "section {section}: a note and rows\n{stdout}"
                );
                assert!(
                    ["total", "currency", "created_at", "status"]
                        .iter()
                        .any(|attribute| note.contains(attribute))
                        && note.contains("Your own table"),
                    "section {section}: the note names what the table lacks and where to read more: {note}"
                );
            }
            _ => panic!("section {section}: one note at most\n{stdout}"),
        }
    }
    // What the table has is reported: units per product, every change in the CDC mix.
    let units: u64 = of("top_products")
        .iter()
        .map(|row| number(&row["units"]))
        .sum();
    let all_units = query(&s, "SELECT sum(quantity) AS units FROM orders_current");
    let top = of("top_products").len();
    if top < 5 {
        assert_eq!(units, number(&all_units[0]["units"]), "{stdout}");
    }
    assert!(top > 0, "top products has rows: {stdout}");
    let mix: BTreeMap<String, u64> = of("cdc_mix")
        .iter()
        .map(|row| {
            (
                row["cdc_event_type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                number(&row["events"]),
            )
        })
        .collect();
    assert_eq!(
        [mix.get("INSERT"), mix.get("MODIFY"), mix.get("REMOVE")],
        [
            Some(&generated.inserted),
            Some(&generated.updated),
            Some(&generated.deleted)
        ],
        "{stdout}"
    );
    // For a person too: the reason is there, not an empty table.
    assert!(people.contains("Your own table"), "{people}");
}

/// `reconcile` on the tutorial table: every change counted at each stage, and the current
/// state compared order by order against the table's items (keyed `orderid`): it agrees, and
/// says how many orders it compared, so "reconciled" is never vacuous.
#[tokio::test(flavor = "multi_thread")]
async fn reconcile_counts_the_tutorial_orders_and_agrees_with_the_table() {
    let (s, _clients, generated) = tutorial_lake(None).await;
    let (code, stdout, stderr) = on_table(&s, ["reconcile", "-o", "json", "--show", "1000"]);
    eprintln!("reconcile -o json (exit {code}):\n{stdout}\nstderr:\n{stderr}");
    let (people_code, people, people_err) = on_table(&s, ["reconcile", "-o", "table"]);
    eprintln!("reconcile -o table (exit {people_code}):\n{people}\nstderr:\n{people_err}");
    let lines = json_lines(&stdout);
    let stage = |name: &str| {
        lines
            .iter()
            .find(|l| l["stage"] == name)
            .unwrap_or_else(|| panic!("no stage {name}: {stdout}"))
    };
    for name in ["table stream", "kinesis", "lake"] {
        assert_eq!(
            number(&stage(name)["distinct"]),
            generated.changes(),
            "stage {name}: {stdout}"
        );
        assert_eq!(number(&stage(name)["missing_downstream"]), 0, "{stdout}");
    }
    let current = stage("current_state");
    assert_eq!(number(&current["disagreeing_orders"]), 0, "{stdout}");
    let compared = number(&current["orders_compared"]);
    assert!(
        compared >= generated.items.len() as u64 && compared <= generated.inserted,
        "the current state compares every order of the table ({} items), {compared} compared: {stdout}",
        generated.items.len()
    );
    assert_eq!(current["reconciled"], true, "{stdout}");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(people_code, 0, "{people_err}");
}

/// `trace ORDERID` on the tutorial table, its lake in the relay's default format (Parquet):
/// each change of an updated order and of a deleted one is found in the table's stream, in
/// Kinesis and in the lake (by the `order_id` the transform gave it).
#[tokio::test(flavor = "multi_thread")]
async fn trace_finds_a_tutorial_order_in_every_stage() {
    trace_finds_a_tutorial_order_in(None).await;
}

/// The same on a JSON lake.
#[tokio::test(flavor = "multi_thread")]
async fn trace_finds_a_tutorial_order_in_every_stage_of_a_json_lake() {
    trace_finds_a_tutorial_order_in(Some("json")).await;
}

async fn trace_finds_a_tutorial_order_in(lake_format: Option<&str>) {
    let (s, _clients, _) = tutorial_lake(lake_format).await;
    let (busiest, changes) = busiest_order(&s);
    // A deleted order too: its REMOVE carries only the key, and lands with it.
    let deleted = query(
        &s,
        "SELECT order_id FROM orders_cdc WHERE cdc_event_type = 'REMOVE' ORDER BY order_id LIMIT 1",
    );
    let deleted = deleted[0]["order_id"]
        .as_str()
        .expect("a deleted order")
        .to_string();
    for order in [busiest.as_str(), deleted.as_str()] {
        let (code, stdout, stderr) = on_table(&s, ["trace", order, "-o", "json"]);
        eprintln!("trace {order} -o json (exit {code}):\n{stdout}\nstderr:\n{stderr}");
        let (people_code, people, people_err) = on_table(&s, ["trace", order, "-o", "table"]);
        eprintln!("trace {order} -o table (exit {people_code}):\n{people}\nstderr:\n{people_err}");
        assert_eq!(code, 0, "{stderr}");
        let rows = json_lines(&stdout);
        let at = |stage: &str| -> BTreeSet<String> {
            rows.iter()
                .filter(|r| r["stage"] == stage)
                .map(|r| r["change"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        let lake: BTreeSet<String> = query(
            &s,
            &format!("SELECT cdc_event_id FROM orders_cdc WHERE order_id = '{order}'"),
        )
        .iter()
        .map(|r| r["cdc_event_id"].as_str().unwrap().to_string())
        .collect();
        if order == busiest {
            assert_eq!(lake.len() as u64, changes);
        }
        for stage in ["table stream", "kinesis", "lake"] {
            assert_eq!(at(stage), lake, "{order} at stage {stage}: {stdout}");
        }
        if order == deleted {
            assert!(
                rows.iter()
                    .any(|r| r["stage"] == "lake" && r["event"] == "REMOVE"),
                "{stdout}"
            );
        }
        assert_eq!(people_code, 0, "{people_err}");
        assert!(
            people.contains(&format!("every change of {order} reached the lake")),
            "{people}"
        );
    }
}

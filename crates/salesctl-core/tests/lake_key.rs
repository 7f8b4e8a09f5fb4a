//! The lake's `order_id` for any table (see `lake_schema::KEY_COLUMN`): the item's own
//! `order_id` when it has one (its rows unchanged), else the item's key from the record's
//! `Keys`. The AWS tutorial's `OrderTable`, keyed `orderid`, is the case that matters: without
//! this every one of its rows had a null `order_id` and `orders_current` kept one row in all.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use salesctl_core::change::{CDC_COLUMNS, ChangeRecord, decode};
use salesctl_core::lake_schema::{self, KEY_COLUMN};
use salesctl_core::order::{AttrValue, GeneratorConfig, OpKind, OrderGenerator, Schema};
use salesctl_core::transform::{RecordOutcome, transform_event, transform_record};

/// A Streams record as the Pipe writes it, with `dynamodb` members given as typed JSON.
fn streams(event: &str, dynamodb: &str) -> String {
    format!(
        r#"{{"eventID":"e1","eventName":"{event}","eventVersion":"1.1","dynamodb":{{"ApproximateCreationDateTime":1795162502,{dynamodb},"SequenceNumber":"42","StreamViewType":"NEW_AND_OLD_IMAGES"}},"eventSourceARN":"arn:aws:dynamodb:us-east-1:1:table/OrderTable/stream/x"}}"#
    )
}

fn record(input: &str) -> ChangeRecord {
    decode(input.as_bytes()).unwrap_or_else(|e| panic!("{e}: {input}"))
}

/// The row's members in order, duplicates kept (a map would hide a second `order_id`).
fn members(row: &str) -> Vec<(String, serde_json::Value)> {
    struct Members(Vec<(String, serde_json::Value)>);
    impl<'de> serde::Deserialize<'de> for Members {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = Members;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Members, A::Error> {
                    let mut out = Vec::new();
                    while let Some(entry) = map.next_entry()? {
                        out.push(entry);
                    }
                    Ok(Members(out))
                }
            }
            d.deserialize_map(Visitor)
        }
    }
    let Members(out) = serde_json::from_str(row).unwrap_or_else(|e| panic!("{e}: {row}"));
    out
}

/// The values of every member called `order_id`, in order.
fn order_ids(row: &str) -> Vec<serde_json::Value> {
    members(row)
        .into_iter()
        .filter(|(name, _)| name == KEY_COLUMN)
        .map(|(_, value)| value)
        .collect()
}

const TUTORIAL_INSERT: &str = r#""Keys":{"orderid":{"S":"o-mx12-00000042"}},"NewImage":{"orderid":{"S":"o-mx12-00000042"},"product_name":{"S":"Monitor"},"quantity":{"N":"5"},"price":{"N":"329.00"}}"#;

#[test]
fn a_tutorial_record_gets_its_orderid_as_order_id_after_the_item_attributes() {
    let input = streams("INSERT", TUTORIAL_INSERT);
    let expected = concat!(
        r#"{"orderid":"o-mx12-00000042","product_name":"Monitor","quantity":5,"price":329.00,"#,
        r#""order_id":"o-mx12-00000042","#,
        r#""cdc_event_type":"INSERT","cdc_event_id":"e1","cdc_sequence_number":"42","#,
        r#""creation_datetime":"2026-11-20T08:15:02Z","is_deleted":false}"#,
        "\n"
    );
    let change = record(&input);
    assert_eq!(change.flat_row(), expected);
    assert_eq!(change.order_id().as_deref(), Some("o-mx12-00000042"));
    assert_eq!(
        change.order_id_json().as_deref(),
        Some(r#""o-mx12-00000042""#)
    );
    // The transform (relay and Lambda alike) writes that row, and the lake can hold it.
    match transform_record(input.as_bytes()) {
        RecordOutcome::Ok { row, .. } => assert_eq!(String::from_utf8_lossy(&row), expected),
        RecordOutcome::Failed { reason } => panic!("{reason}"),
    }
    let row = members(expected);
    let texts: Vec<(String, String)> = row
        .iter()
        .map(|(name, value)| (name.clone(), value.to_string()))
        .collect();
    assert_eq!(
        lake_schema::check_row(texts.iter().map(|(n, v)| (n.as_str(), v.as_str()))),
        Ok(())
    );
    // A Firehose event answers the same row.
    let event = format!(
        r#"{{"records":[{{"recordId":"r1","approximateArrivalTimestamp":1795162502114,"data":"{}"}}]}}"#,
        STANDARD.encode(&input)
    );
    let response: serde_json::Value =
        serde_json::from_slice(&transform_event(event.as_bytes()).expect("answers")).expect("JSON");
    let data = response["records"][0]["data"].as_str().expect("data");
    assert_eq!(response["records"][0]["result"], "Ok");
    assert_eq!(
        String::from_utf8(STANDARD.decode(data).expect("base64")).expect("UTF-8"),
        expected
    );
}

#[test]
fn an_order_id_of_the_item_wins_over_its_key() {
    // A table keyed `orderid` whose items also carry `order_id`: the item's attribute fills
    // the column, nothing is added.
    let input = streams(
        "INSERT",
        r#""Keys":{"orderid":{"S":"k-1"}},"NewImage":{"orderid":{"S":"k-1"},"order_id":{"S":"o-1"}}"#,
    );
    let change = record(&input);
    assert_eq!(order_ids(&change.flat_row()), ["o-1"]);
    assert_eq!(change.order_id().as_deref(), Some("o-1"));
    // In any letter case, as Athena matches it: a second member would be a second value for
    // one column.
    let input = streams(
        "INSERT",
        r#""Keys":{"orderid":{"S":"k-1"}},"NewImage":{"orderid":{"S":"k-1"},"Order_ID":{"S":"o-1"}}"#,
    );
    let row = record(&input).flat_row();
    assert!(order_ids(&row).is_empty(), "{row}");
    assert!(row.contains(r#""Order_ID":"o-1""#), "{row}");
    // Even a null `order_id` is the item's own (the key does not overwrite it).
    let input = streams(
        "MODIFY",
        r#""Keys":{"orderid":{"S":"k-1"}},"NewImage":{"orderid":{"S":"k-1"},"order_id":{"NULL":true}}"#,
    );
    assert_eq!(
        order_ids(&record(&input).flat_row()),
        [serde_json::Value::Null]
    );
}

#[test]
fn a_remove_with_only_keys_still_gets_its_order_id() {
    let input = streams("REMOVE", r#""Keys":{"orderid":{"S":"o-7"}}"#);
    assert_eq!(
        record(&input).flat_row(),
        concat!(
            r#"{"orderid":"o-7","order_id":"o-7","cdc_event_type":"REMOVE","cdc_event_id":"e1","#,
            r#""cdc_sequence_number":"42","creation_datetime":"2026-11-20T08:15:02Z","is_deleted":true}"#,
            "\n"
        )
    );
    // With its old image, the order id comes from the keys all the same.
    let input = streams(
        "REMOVE",
        r#""Keys":{"orderid":{"S":"o-7"}},"OldImage":{"orderid":{"S":"o-7"},"quantity":{"N":"1"}}"#,
    );
    assert_eq!(order_ids(&record(&input).flat_row()), ["o-7"]);
}

#[test]
fn number_binary_composite_and_escaped_keys_become_one_string() {
    let of = |keys: &str| {
        let row = record(&streams("REMOVE", &format!(r#""Keys":{keys}"#))).flat_row();
        let ids = order_ids(&row);
        assert_eq!(ids.len(), 1, "{row}");
        ids[0]
            .as_str()
            .unwrap_or_else(|| panic!("a string: {row}"))
            .to_owned()
    };
    assert_eq!(of(r#"{"id":{"N":"7"}}"#), "7");
    assert_eq!(
        of(r#"{"id":{"N":"12345678901234567890.5"}}"#),
        "12345678901234567890.5"
    );
    assert_eq!(of(r#"{"id":{"B":"AAEC"}}"#), "AAEC");
    // Composite: the values in the order of their attribute names, whatever the record's order.
    assert_eq!(of(r#"{"pk":{"S":"a"},"sk":{"N":"7"}}"#), "a#7");
    assert_eq!(of(r#"{"sk":{"N":"7"},"pk":{"S":"a"}}"#), "a#7");
    assert_eq!(
        of(r#"{"customer":{"S":"c-1"},"order_ts":{"S":"2026-11-20"}}"#),
        "c-1#2026-11-20"
    );
    // Escapes are kept, so the row stays valid JSON and the value exact.
    assert_eq!(of(r#"{"k":{"S":"say \"hi\" \u00e9\n"}}"#), "say \"hi\" é\n");
    // No keys, no order id (the row is still written).
    let row = record(&streams("REMOVE", r#""Keys":{}"#)).flat_row();
    assert!(order_ids(&row).is_empty(), "{row}");
    assert!(row.starts_with(r#"{"cdc_event_type":"REMOVE","#), "{row}");
}

#[test]
fn rows_of_tables_with_order_id_do_not_change() {
    // The fixtures are the generator's table (keyed order_id): their rows carry exactly the
    // image's attributes and the cdc columns, nothing else.
    for name in [
        "pipe-insert.json",
        "pipe-modify.json",
        "pipe-remove.json",
        "kds-insert.json",
    ] {
        let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let change = decode(&bytes).expect("decodes");
        let image = change.row_image();
        let mut expected = String::from("{");
        expected.push_str(&image.as_json()[1..image.as_json().len() - 1]);
        let row = change.flat_row();
        let tail = &row[expected.len()..];
        assert!(row.starts_with(&expected), "{name}: {row}");
        assert!(tail.starts_with(r#","cdc_event_type":"#), "{name}: {row}");
        assert_eq!(order_ids(&row).len(), 1, "{name}: {row}");
    }
}

/// An attribute name that is neither `order_id` (in any case) nor a cdc column.
fn attribute_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,10}".prop_filter("not the lake key or a cdc column", |name| {
        !lake_schema::fills_key_column(name) && !CDC_COLUMNS.contains(&name.as_str())
    })
}

/// A key value as typed JSON and the text `order_id` must hold for it.
fn key_value() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        any::<String>().prop_map(|s| (
            format!(
                r#"{{"S":{}}}"#,
                serde_json::to_string(&s).unwrap_or_default()
            ),
            s
        )),
        (1u64..u64::MAX).prop_map(|n| (format!(r#"{{"N":"{n}"}}"#), n.to_string())),
        "[A-Za-z0-9+/]{4}".prop_map(|b| (format!(r#"{{"B":"{b}"}}"#), b)),
    ]
}

fn typed_string(s: &str) -> String {
    format!(
        r#"{{"S":{}}}"#,
        serde_json::to_string(s).unwrap_or_default()
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// A single-key table without `order_id`: every event kind, with or without images, gets
    /// the key's value, once, and a row the lake holds.
    #[test]
    fn a_single_key_becomes_the_order_id(
        key in attribute_name(),
        (typed, text) in key_value(),
        others in proptest::collection::vec((attribute_name(), "[a-z]{0,8}"), 0..4),
        event in prop_oneof![Just("INSERT"), Just("MODIFY"), Just("REMOVE")],
        with_image in any::<bool>(),
    ) {
        let mut image = vec![format!(r#""{key}":{typed}"#)];
        for (name, value) in &others {
            if name != &key && !image.iter().any(|m| m.starts_with(&format!("\"{name}\":"))) {
                image.push(format!(r#""{name}":{}"#, typed_string(value)));
            }
        }
        let image_name = if event == "REMOVE" { "OldImage" } else { "NewImage" };
        let dynamodb = if with_image {
            format!(r#""Keys":{{"{key}":{typed}}},"{image_name}":{{{}}}"#, image.join(","))
        } else {
            format!(r#""Keys":{{"{key}":{typed}}}"#)
        };
        let change = record(&streams(event, &dynamodb));
        let row = change.flat_row();
        prop_assert_eq!(order_ids(&row), vec![serde_json::Value::String(text.clone())], "{}", row);
        prop_assert_eq!(change.order_id(), Some(text));
        let transformed = matches!(
            transform_record(streams(event, &dynamodb).as_bytes()),
            RecordOutcome::Ok { .. }
        );
        prop_assert!(transformed);
    }

    /// An item with its own `order_id`: the row is the image and the cdc columns, as before.
    #[test]
    fn an_own_order_id_leaves_the_row_as_it_was(
        own in "[a-z0-9-]{1,12}",
        (typed, _) in key_value(),
        key in attribute_name(),
        event in prop_oneof![Just("INSERT"), Just("MODIFY"), Just("REMOVE")],
    ) {
        let image_name = if event == "REMOVE" { "OldImage" } else { "NewImage" };
        let dynamodb = format!(
            r#""Keys":{{"{key}":{typed}}},"{image_name}":{{"{key}":{typed},"order_id":{}}}"#,
            typed_string(&own)
        );
        let change = record(&streams(event, &dynamodb));
        let row = change.flat_row();
        let image = change.row_image().as_json();
        prop_assert!(row.starts_with(&image[..image.len() - 1]), "{}", row);
        prop_assert!(row[image.len() - 1..].starts_with(r#","cdc_event_type":"#), "{}", row);
        prop_assert_eq!(order_ids(&row), vec![serde_json::Value::String(own)]);
    }

    /// A composite key: the values in name order joined with `#`, whatever order `Keys` has.
    #[test]
    fn a_composite_key_joins_its_values_in_name_order(
        a in attribute_name(),
        b in attribute_name(),
        (typed_a, text_a) in key_value(),
        (typed_b, text_b) in key_value(),
        swap in any::<bool>(),
    ) {
        prop_assume!(a != b);
        let (first, second) = (format!(r#""{a}":{typed_a}"#), format!(r#""{b}":{typed_b}"#));
        let keys = if swap { format!("{second},{first}") } else { format!("{first},{second}") };
        let change = record(&streams("REMOVE", &format!(r#""Keys":{{{keys}}}"#)));
        let expected = if a < b {
            format!("{text_a}#{text_b}")
        } else {
            format!("{text_b}#{text_a}")
        };
        prop_assert_eq!(change.order_id(), Some(expected.clone()));
        prop_assert_eq!(order_ids(&change.flat_row()), vec![serde_json::Value::String(expected)]);
    }

    /// What `generate --schema tutorial` writes: every change of every order lands with the
    /// order's id, and fits the lake.
    #[test]
    fn every_tutorial_change_lands_with_its_order_id(seed in any::<u64>()) {
        let mut generator = OrderGenerator::new(GeneratorConfig {
            seed: Some(seed),
            update_ratio: 0.3,
            delete_ratio: 0.2,
            run_tag: "t".into(),
        });
        let now = chrono::DateTime::from_timestamp(1_795_162_502, 0).unwrap_or_default();
        for _ in 0..10 {
            for op in generator.plan_new_order(now) {
                let item: Vec<String> = op
                    .order
                    .attributes(Schema::Tutorial)
                    .into_iter()
                    .map(|(name, value)| match value {
                        AttrValue::S(text) => format!(r#""{name}":{}"#, typed_string(&text)),
                        AttrValue::N(digits) => format!(r#""{name}":{{"N":"{digits}"}}"#),
                    })
                    .collect();
                let keys = format!(r#""Keys":{{"orderid":{}}}"#, typed_string(&op.order.order_id));
                let input = match op.kind {
                    OpKind::Insert => streams("INSERT", &format!(r#"{keys},"NewImage":{{{}}}"#, item.join(","))),
                    OpKind::Update => streams("MODIFY", &format!(r#"{keys},"NewImage":{{{}}}"#, item.join(","))),
                    OpKind::Delete => streams("REMOVE", &keys),
                };
                match transform_record(input.as_bytes()) {
                    RecordOutcome::Ok { row, .. } => {
                        let row = String::from_utf8_lossy(&row).into_owned();
                        prop_assert_eq!(
                            order_ids(&row),
                            vec![serde_json::Value::String(op.order.order_id.clone())]
                        );
                    }
                    RecordOutcome::Failed { reason } => prop_assert!(false, "{}", reason),
                }
                generator.acknowledge(op);
            }
        }
    }
}

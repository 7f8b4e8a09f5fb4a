//! Change-record decoding and flattening: the shared fixtures, every DynamoDB type, exact
//! numbers, format detection, flat rows, malformed input of every kind, and property tests.

use proptest::prelude::*;
use salesctl_core::change::{
    self, AttributeChange, AttributeProblem, ChangeRecord, DecodeError, EventType, SourceFormat,
    TimePrecision, changed_attributes, decode, flatten_item, flatten_value,
    format_creation_datetime,
};

/// The fixtures are copied into tests/fixtures so the repository is self-contained; this test
/// also checks the copies still match ../shared/fixtures whenever that directory is beside it.
fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn decoded(name: &str) -> ChangeRecord {
    decode(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn err(input: &str) -> String {
    match decode(input.as_bytes()) {
        Ok(record) => panic!("decoded {input:?} into {record:?}"),
        Err(error) => error.to_string(),
    }
}

/// A minimal Streams record around the given `dynamodb` members.
fn streams(event_name: &str, dynamodb_members: &str) -> String {
    format!(
        r#"{{"eventID":"e1","eventName":"{event_name}","eventVersion":"1.1","dynamodb":{{"ApproximateCreationDateTime":1795162502,{dynamodb_members},"SequenceNumber":"42"}},"eventSourceARN":"arn:aws:dynamodb:us-east-1:1:table/t/stream/x"}}"#
    )
}

fn row_of(input: &str) -> String {
    decode(input.as_bytes())
        .unwrap_or_else(|e| panic!("{input}: {e}"))
        .flat_row()
}

/// The fixtures in the repository are what their names say: each record decodes, in the
/// format and with the event its name gives, and the Firehose event holds three good records
/// and one that is not JSON. This runs everywhere; the comparison with the design's originals
/// below runs only where they are beside the checkout.
#[test]
fn the_repository_fixtures_are_what_their_names_say() {
    for (name, event, format) in [
        (
            "pipe-insert.json",
            EventType::Insert,
            SourceFormat::StreamsRecord,
        ),
        (
            "pipe-modify.json",
            EventType::Modify,
            SourceFormat::StreamsRecord,
        ),
        (
            "pipe-remove.json",
            EventType::Remove,
            SourceFormat::StreamsRecord,
        ),
        (
            "kds-insert.json",
            EventType::Insert,
            SourceFormat::KinesisDataStreams,
        ),
    ] {
        let record = decoded(name);
        assert_eq!(
            (record.event_type, record.format),
            (event, format),
            "{name}"
        );
    }
    let event: serde_json::Value = serde_json::from_slice(&fixture("firehose-event.json"))
        .expect("the Firehose event is JSON");
    let records = event["records"].as_array().expect("a records array");
    let decodable = records
        .iter()
        .filter(|r| {
            let data = r["data"].as_str().unwrap_or_default();
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
                .is_ok_and(|bytes| decode(&bytes).is_ok())
        })
        .count();
    assert_eq!((records.len(), decodable), (4, 3));
}

#[test]
#[ignore = "compares with ../shared/fixtures, which only a development checkout has beside it; run with --ignored there"]
fn fixture_copies_match_the_shared_ones() {
    let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures");
    for name in [
        "pipe-insert.json",
        "pipe-modify.json",
        "pipe-remove.json",
        "kds-insert.json",
        "firehose-event.json",
    ] {
        let original = std::fs::read(format!("{shared}/{name}"))
            .unwrap_or_else(|e| panic!("{shared}/{name}: {e}"));
        assert_eq!(
            fixture(name),
            original,
            "tests/fixtures/{name} differs from shared/fixtures"
        );
    }
}

const PIPE_INSERT_ROW: &str = concat!(
    r#"{"order_id":"o-000000000042","customer_id":"C-00417","product_name":"Laptop","category":"computers","#,
    r#""quantity":2,"price":1249.90,"status":"PENDING","region":"eu-west","#,
    r#""created_at":"2026-11-20T08:15:02.114Z","updated_at":"2026-11-20T08:15:02.114Z","#,
    r#""cdc_event_type":"INSERT","cdc_event_id":"7de3041dd709b024af6f29e4fa13d34c","#,
    r#""cdc_sequence_number":"111100000000012345678901","creation_datetime":"2026-11-20T08:15:02Z","is_deleted":false}"#,
    "\n"
);

#[test]
fn pipe_insert_decodes_to_the_exact_row() {
    let record = decoded("pipe-insert.json");
    assert_eq!(record.format, SourceFormat::StreamsRecord);
    assert_eq!(record.event_type, EventType::Insert);
    assert_eq!(record.event_id, "7de3041dd709b024af6f29e4fa13d34c");
    assert_eq!(
        record.sequence_number.as_deref(),
        Some("111100000000012345678901")
    );
    assert_eq!(record.created_at_millis(), 1_795_162_502_000);
    assert_eq!(record.created_at_precision, TimePrecision::Seconds);
    assert_eq!(record.table_name.as_deref(), Some("orders"));
    assert_eq!(record.keys.as_json(), r#"{"order_id":"o-000000000042"}"#);
    assert!(record.old_image.is_none());
    let new = record.new_image.as_ref().expect("NewImage");
    assert_eq!(new.len(), 10);
    assert_eq!(new.get("price"), Some("1249.90"));
    assert_eq!(new.get("quantity"), Some("2"));
    assert_eq!(new.get("status"), Some(r#""PENDING""#));
    assert_eq!(new.get("missing"), None);
    assert_eq!(record.flat_row(), PIPE_INSERT_ROW);
    let mut appended = b"prefix".to_vec();
    record.write_flat_row(&mut appended);
    assert_eq!(
        appended,
        [b"prefix".as_slice(), PIPE_INSERT_ROW.as_bytes()].concat()
    );
}

#[test]
fn pipe_modify_uses_the_new_image_and_diffs() {
    let record = decoded("pipe-modify.json");
    assert_eq!(record.event_type, EventType::Modify);
    let row = record.flat_row();
    assert!(row.starts_with(r#"{"order_id":"o-000000000042","#), "{row}");
    assert!(row.contains(r#""status":"PAID""#), "{row}");
    assert!(row.ends_with(
        r#""cdc_event_type":"MODIFY","cdc_event_id":"c4ca4238a0b923820dcc509a6f75849b","cdc_sequence_number":"111200000000012345678955","creation_datetime":"2026-11-20T08:16:01Z","is_deleted":false}
"#
    ));
    let (old, new) = (
        record.old_image.as_ref().expect("old"),
        record.new_image.as_ref().expect("new"),
    );
    assert_eq!(
        changed_attributes(old, new),
        vec![
            AttributeChange {
                name: "status".into(),
                old: Some(r#""PENDING""#),
                new: Some(r#""PAID""#)
            },
            AttributeChange {
                name: "updated_at".into(),
                old: Some(r#""2026-11-20T08:15:02.114Z""#),
                new: Some(r#""2026-11-20T08:16:01.009Z""#)
            },
        ]
    );
    assert_eq!(changed_attributes(new, new), vec![]);
}

#[test]
fn pipe_remove_becomes_a_deleted_row_from_the_old_image() {
    let record = decoded("pipe-remove.json");
    assert_eq!(record.event_type, EventType::Remove);
    assert!(record.new_image.is_none());
    assert!(record.is_deleted());
    let row = record.flat_row();
    assert!(
        row.starts_with(r#"{"order_id":"o-000000000042","customer_id":"C-00417","#),
        "{row}"
    );
    assert!(row.ends_with(
        r#""cdc_event_type":"REMOVE","cdc_event_id":"eccbc87e4b5ce2fe28308fd9f2a7baf3","cdc_sequence_number":"111300000000012345679012","creation_datetime":"2026-11-20T08:17:00Z","is_deleted":true}
"#
    ));
}

#[test]
fn native_kinesis_record_has_millisecond_time_and_no_sequence_number() {
    let record = decoded("kds-insert.json");
    assert_eq!(record.format, SourceFormat::KinesisDataStreams);
    assert_eq!(record.created_at_millis(), 1_795_162_502_114);
    assert_eq!(record.created_at_precision, TimePrecision::Milliseconds);
    assert_eq!(record.sequence_number, None);
    assert_eq!(record.table_name.as_deref(), Some("orders"));
    assert_eq!(record.creation_datetime(), "2026-11-20T08:15:02.114Z");
    assert!(record.flat_row().ends_with(
        r#""price":19.99,"status":"PENDING","region":"eu-west","created_at":"2026-11-20T08:15:02.114Z","updated_at":"2026-11-20T08:15:02.114Z","cdc_event_type":"INSERT","cdc_event_id":"2f5e1a5c-3a4b-4c61-9f0e-0d1c2b3a4f5e","cdc_sequence_number":null,"creation_datetime":"2026-11-20T08:15:02.114Z","is_deleted":false}
"#
    ));
}

#[test]
fn remove_without_images_becomes_a_row_from_the_keys() {
    let input = streams("REMOVE", r#""Keys":{"pk":{"S":"a"},"sk":{"N":"7"}}"#);
    assert_eq!(
        row_of(&input),
        concat!(
            r#"{"pk":"a","sk":7,"order_id":"a#7","cdc_event_type":"REMOVE","cdc_event_id":"e1","cdc_sequence_number":"42","#,
            r#""creation_datetime":"2026-11-20T08:15:02Z","is_deleted":true}"#,
            "\n"
        )
    );
}

#[test]
fn insert_on_a_keys_only_stream_becomes_a_row_from_the_keys() {
    let input = streams("insert", r#""Keys":{"pk":{"S":"a"}},"NewImage":null"#);
    let record = decode(input.as_bytes()).expect("decodes");
    assert_eq!(record.event_type, EventType::Insert);
    assert!(record.new_image.is_none());
    assert!(
        record
            .flat_row()
            .starts_with(r#"{"pk":"a","order_id":"a","cdc_event_type":"INSERT","#)
    );
}

#[test]
fn every_type_flattens_at_any_depth() {
    let typed = concat!(
        r#"{"M":{"s":{"S":"x"},"n":{"N":"-12.50"},"t":{"BOOL":true},"f":{"BOOL":false},"z":{"NULL":true},"#,
        r#""b":{"B":"AAEC"},"ss":{"SS":["a","b"]},"ns":{"NS":["1",".5","+2"]},"bs":{"BS":["AA==","AQ=="]},"#,
        r#""l":{"L":[{"S":"y"},{"L":[{"M":{"deep":{"L":[{"N":"1e3"}]}}}]},{"NULL":true}]},"#,
        r#""empty_m":{"M":{}},"empty_l":{"L":[]}}}"#
    );
    assert_eq!(
        flatten_value(typed).as_deref(),
        Ok(concat!(
            r#"{"s":"x","n":-12.50,"t":true,"f":false,"z":null,"b":"AAEC","ss":["a","b"],"ns":[1,0.5,2],"#,
            r#""bs":["AA==","AQ=="],"l":["y",[{"deep":[1e3]}],null],"empty_m":{},"empty_l":[]}"#
        ))
    );
}

#[test]
fn whitespace_and_member_order_do_not_matter() {
    let pretty = "{\n \"dynamodb\" : {\"Keys\" : { \"k\" : { \"S\" : \"v\" } } ,\n\t\"ApproximateCreationDateTime\" : 1795162502 } , \"eventName\":\"REMOVE\", \"eventID\":\"x\" }\n";
    let record = decode(pretty.as_bytes()).expect("decodes");
    assert_eq!(record.keys.as_json(), r#"{"k":"v"}"#);
    assert_eq!(record.event_type, EventType::Remove);
}

#[test]
fn numbers_keep_every_digit() {
    let item = flatten_item(concat!(
        r#"{"max":{"N":"99999999999999999999999999999999999999"},"tiny":{"N":"1E-130"},"#,
        r#""big":{"N":"9.9999999999999999999999999999999999999E+125"},"money":{"N":"0.10"},"#,
        r#""plus":{"N":"+5"},"lead":{"N":".25"},"trail":{"N":"5."},"zeros":{"N":"007.50"}}"#
    ))
    .expect("flattens");
    assert_eq!(
        item.as_json(),
        concat!(
            r#"{"max":99999999999999999999999999999999999999,"tiny":1E-130,"#,
            r#""big":9.9999999999999999999999999999999999999E+125,"money":0.10,"#,
            r#""plus":5,"lead":0.25,"trail":5,"zeros":7.50}"#
        )
    );
}

#[test]
fn strings_pass_through_with_their_escapes() {
    let item = flatten_item(r#"{"q":{"S":"say \"hi\"\\ \u00e9 \ud83d\ude00 \n"},"u":{"S":"é😀"}}"#)
        .expect("flattens");
    assert_eq!(
        item.get("q"),
        Some(r#""say \"hi\"\\ \u00e9 \ud83d\ude00 \n""#)
    );
    let reparsed: serde_json::Value = serde_json::from_str(item.as_json()).expect("valid JSON");
    assert_eq!(reparsed["q"], "say \"hi\"\\ é 😀 \n");
    assert_eq!(reparsed["u"], "é😀");
}

#[test]
fn escaped_attribute_names_are_found_by_their_text() {
    let item =
        flatten_item(r#"{"a\"b":{"S":"1"},"\u0063dc_event_id":{"S":"shadow"},"plain":{"N":"2"}}"#)
            .expect("flattens");
    assert_eq!(item.get("a\"b"), Some(r#""1""#));
    assert_eq!(item.get("cdc_event_id"), Some(r#""shadow""#));
    let names: Vec<String> = item.iter().map(|(name, _)| name.into_owned()).collect();
    assert_eq!(names, ["a\"b", "cdc_event_id", "plain"]);
}

#[test]
fn cdc_columns_win_over_attributes_of_the_same_name() {
    let input = streams(
        "INSERT",
        r#""Keys":{"id":{"S":"1"}},"NewImage":{"id":{"S":"1"},"is_deleted":{"BOOL":true},"cdc_event_type":{"S":"mine"},"\u0063reation_datetime":{"S":"x"},"keep":{"N":"3"}}"#,
    );
    assert_eq!(
        row_of(&input),
        concat!(
            r#"{"id":"1","keep":3,"order_id":"1","cdc_event_type":"INSERT","cdc_event_id":"e1","cdc_sequence_number":"42","#,
            r#""creation_datetime":"2026-11-20T08:15:02Z","is_deleted":false}"#,
            "\n"
        )
    );
}

#[test]
fn formats_are_told_apart_by_structure_then_by_magnitude() {
    let record = |members: &str, time: &str| {
        let input = format!(
            r#"{{"eventID":"e","eventName":"INSERT",{members}"dynamodb":{{"ApproximateCreationDateTime":{time},"Keys":{{"k":{{"S":"v"}}}}}}}}"#
        );
        let record = decode(input.as_bytes()).unwrap_or_else(|e| panic!("{input}: {e}"));
        (
            record.format,
            record.created_at_precision,
            record.creation_datetime(),
        )
    };
    use SourceFormat::{KinesisDataStreams as Kds, StreamsRecord as Streams};
    use TimePrecision::{Microseconds as Us, Milliseconds as Ms, Seconds as S};
    assert_eq!(
        record(r#""eventVersion":"1.1","#, "1795162502"),
        (Streams, S, "2026-11-20T08:15:02Z".into())
    );
    assert_eq!(
        record(r#""eventSourceARN":"arn","#, "1795162502"),
        (Streams, S, "2026-11-20T08:15:02Z".into())
    );
    // Structure beats magnitude: a tiny millisecond value in a native record stays milliseconds.
    assert_eq!(
        record(r#""tableName":"t","#, "1000"),
        (Kds, Ms, "1970-01-01T00:00:01.000Z".into())
    );
    assert_eq!(
        record(r#""userIdentity":null,"#, "1795162502114"),
        (Kds, Ms, "2026-11-20T08:15:02.114Z".into())
    );
    assert_eq!(
        record(r#""recordFormat":"application/json","#, "1795162502000"),
        (Kds, Ms, "2026-11-20T08:15:02.000Z".into())
    );
    // No markers: magnitude.
    assert_eq!(
        record("", "1795162502"),
        (Streams, S, "2026-11-20T08:15:02Z".into())
    );
    assert_eq!(
        record("", "1795162502114"),
        (Kds, Ms, "2026-11-20T08:15:02.114Z".into())
    );
    assert_eq!(
        record("", "1795162502114321"),
        (Kds, Us, "2026-11-20T08:15:02.114321Z".into())
    );
    // Both families: magnitude again.
    assert_eq!(
        record(r#""tableName":"t","eventVersion":"1.1","#, "1795162502"),
        (Streams, S, "2026-11-20T08:15:02Z".into())
    );
    // A fraction of a second keeps its precision.
    assert_eq!(
        record(r#""eventVersion":"1.1","#, "1795162502.25"),
        (Streams, Ms, "2026-11-20T08:15:02.250Z".into())
    );
    assert_eq!(
        record(r#""eventVersion":"1.1","#, "1.795162502E9"),
        (Streams, S, "2026-11-20T08:15:02Z".into())
    );
}

#[test]
fn explicit_precision_sets_the_unit() {
    let input = r#"{"eventID":"e","eventName":"MODIFY","dynamodb":{"ApproximateCreationDateTimePrecision":"MICROSECOND","ApproximateCreationDateTime":1795162502114321,"Keys":{"k":{"S":"v"}}}}"#;
    let record = decode(input.as_bytes()).expect("decodes");
    assert_eq!(record.format, SourceFormat::KinesisDataStreams);
    assert_eq!(record.created_at_precision, TimePrecision::Microseconds);
    assert_eq!(record.created_at.timestamp_micros(), 1_795_162_502_114_321);
    assert_eq!(record.creation_datetime(), "2026-11-20T08:15:02.114321Z");
}

#[test]
fn creation_datetime_formats() {
    let at = chrono::DateTime::from_timestamp_micros(1_795_162_502_114_321).expect("in range");
    assert_eq!(
        format_creation_datetime(&at, TimePrecision::Seconds),
        "2026-11-20T08:15:02Z"
    );
    assert_eq!(
        format_creation_datetime(&at, TimePrecision::Milliseconds),
        "2026-11-20T08:15:02.114Z"
    );
    assert_eq!(
        format_creation_datetime(&at, TimePrecision::Microseconds),
        "2026-11-20T08:15:02.114321Z"
    );
    let epoch = chrono::DateTime::UNIX_EPOCH;
    assert_eq!(
        format_creation_datetime(&epoch, TimePrecision::Milliseconds),
        "1970-01-01T00:00:00.000Z"
    );
}

#[test]
fn event_types_parse_in_any_case() {
    assert_eq!("insert".parse::<EventType>(), Ok(EventType::Insert));
    assert_eq!("Modify".parse::<EventType>(), Ok(EventType::Modify));
    assert_eq!("REMOVE".parse::<EventType>(), Ok(EventType::Remove));
    assert_eq!(EventType::Modify.as_str(), "MODIFY");
    assert_eq!(
        "UPSERT".parse::<EventType>().map_err(|e| e.to_string()),
        Err(r#"unknown event type "UPSERT" (expected INSERT, MODIFY or REMOVE)"#.to_owned())
    );
}

#[test]
fn decoding_reuses_a_record_without_leaking_old_fields() {
    let mut record = ChangeRecord::default();
    change::decode_into(&fixture("pipe-modify.json"), &mut record).expect("modify");
    change::decode_into(&fixture("kds-insert.json"), &mut record).expect("kds");
    assert_eq!(record, decoded("kds-insert.json"));
    change::decode_into(&fixture("pipe-remove.json"), &mut record).expect("remove");
    assert_eq!(record, decoded("pipe-remove.json"));
}

#[test]
fn malformed_input_gets_a_one_line_reason() {
    let cases: &[(&str, &str)] = &[
        ("", "empty input"),
        ("   \n", "empty input"),
        ("not json at all {", "not JSON at byte 0: expected a value"),
        (
            "[1,2]",
            "not a change record: the JSON value is an array, not an object",
        ),
        (
            "\"text\"",
            "not a change record: the JSON value is a string, not an object",
        ),
        (
            r#"{"eventID":"e","eventName":"INSERT""#,
            "truncated JSON: input ends at byte 35",
        ),
        (
            r#"{"eventID":"e" "eventName":1}"#,
            "not JSON at byte 15: expected ',' or '}'",
        ),
        (
            r#"{"eventID":"e",}"#,
            "not JSON at byte 15: expected a string key",
        ),
        (r#"{"a":tru}"#, "not JSON at byte 5: expected a value"),
        (r#"{"a":01}"#, "not JSON at byte 6: expected ',' or '}'"),
        (r#"{"a":"\x"}"#, "not JSON at byte 7: invalid escape"),
        (
            r#"{"a":"\ud800"}"#,
            "not JSON at byte 12: lone leading surrogate in \\u escape",
        ),
        (
            "{\"a\":\"tab\there\"}",
            "not JSON at byte 9: control character inside a string",
        ),
        (
            r#"{"eventID":"e"} x"#,
            "not JSON at byte 16: unexpected data after the value",
        ),
        (
            r#"{"eventName":"INSERT","dynamodb":{}}"#,
            "missing field eventID",
        ),
        (
            r#"{"eventID":"e","dynamodb":{}}"#,
            "missing field eventName",
        ),
        (
            r#"{"eventID":"e","eventName":"INSERT"}"#,
            "missing field dynamodb",
        ),
        (
            r#"{"eventID":"e","eventName":"INSERT","dynamodb":{"Keys":{}}}"#,
            "missing field dynamodb.ApproximateCreationDateTime",
        ),
        (
            r#"{"eventID":"e","eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":1}}"#,
            "missing field dynamodb.Keys",
        ),
        (
            r#"{"eventID":7}"#,
            "field eventID must be a string, found a number",
        ),
        (
            r#"{"eventID":"e","eventID":"f"}"#,
            "field eventID appears more than once",
        ),
        (
            r#"{"dynamodb":[]}"#,
            "field dynamodb must be an object, found an array",
        ),
        (
            r#"{"dynamodb":{"ApproximateCreationDateTime":"1795162502"}}"#,
            "field dynamodb.ApproximateCreationDateTime must be a number, found a string",
        ),
        (
            r#"{"eventName":"UPSERT"}"#,
            r#"unknown eventName "UPSERT" (expected INSERT, MODIFY or REMOVE)"#,
        ),
        (
            r#"{"dynamodb":{"ApproximateCreationDateTimePrecision":"NANOSECOND"}}"#,
            r#"unknown ApproximateCreationDateTimePrecision "NANOSECOND" (expected MILLISECOND or MICROSECOND)"#,
        ),
        (
            r#"{"eventID":"e","eventName":"INSERT","eventVersion":"1","dynamodb":{"ApproximateCreationDateTime":-5,"Keys":{}}}"#,
            "ApproximateCreationDateTime -5 is outside 1970-01-01..9999-12-31",
        ),
        (
            r#"{"eventID":"e","eventName":"INSERT","eventVersion":"1","dynamodb":{"ApproximateCreationDateTime":1e300,"Keys":{}}}"#,
            "ApproximateCreationDateTime 1e300 is outside 1970-01-01..9999-12-31",
        ),
        (
            r#"{"dynamodb":{"Keys":[]}}"#,
            "field dynamodb.Keys must be a map of attributes, found an array",
        ),
        (
            r#"{"dynamodb":{"Keys":{"a":{"Q":"x"}}}}"#,
            r#"unknown type tag "Q" in attribute "a" of Keys"#,
        ),
        (
            r#"{"dynamodb":{"NewImage":{"a":"plain"}}}"#,
            r#"a string where a type descriptor such as {"S":…} was expected in attribute "a" of NewImage"#,
        ),
        (
            r#"{"dynamodb":{"NewImage":{"a":{}}}}"#,
            r#"empty type descriptor {} in attribute "a" of NewImage"#,
        ),
        (
            r#"{"dynamodb":{"OldImage":{"a":{"S":"x","N":"1"}}}}"#,
            r#"more than one type tag ("S" and "N") in attribute "a" of OldImage"#,
        ),
        (
            r#"{"dynamodb":{"NewImage":{"a":{"N":"12abc"}}}}"#,
            r#"invalid number "12abc" in attribute "a" of NewImage"#,
        ),
        (
            r#"{"dynamodb":{"NewImage":{"a":{"N":5}}}}"#,
            r#""N" value must be a string, found a number in attribute "a" of NewImage"#,
        ),
        (
            r#"{"dynamodb":{"NewImage":{"a":{"BOOL":"yes"}}}}"#,
            r#""BOOL" value must be true or false, found a string in attribute "a" of NewImage"#,
        ),
        (
            r#"{"dynamodb":{"NewImage":{"a":{"SS":"x"}}}}"#,
            r#""SS" value must be an array, found a string in attribute "a" of NewImage"#,
        ),
        (
            r#"{"dynamodb":{"NewImage":{"a":{"NS":["1",2]}}}}"#,
            r#""NS" value must be an array of strings, found a number in attribute "a[1]" of NewImage"#,
        ),
        (
            r#"{"dynamodb":{"NewImage":{"items":{"L":[{"S":"ok"},{"M":{"sku":{"X":"1"}}}]}}}}"#,
            r#"unknown type tag "X" in attribute "items[1].sku" of NewImage"#,
        ),
        (
            r#"{"dynamodb":{"NewImage":{"a":{"S":"1"},"b":{"S":"2"},"a":{"N":"3"}}}}"#,
            r#"duplicate attribute name in attribute "a" of NewImage"#,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(&err(input), expected, "input: {input}");
    }
    assert_eq!(
        decode(b"{\"eventID\":\"\xff\"}").map_err(|e| e.to_string()),
        Err("not UTF-8 at byte 12".to_owned())
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let depth = 100_000;
    let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    assert_eq!(
        decode(format!(r#"{{"x":{deep}}}"#).as_bytes()),
        Err(DecodeError::TooDeep {
            offset: 132,
            limit: change::MAX_NESTING
        })
    );
    let mut typed = String::new();
    for _ in 0..depth {
        typed.push_str(r#"{"L":["#);
    }
    assert!(matches!(
        flatten_value(&typed),
        Err(DecodeError::TooDeep { .. })
    ));
    // DynamoDB's own limit, 32 levels of nested attributes, is comfortably inside.
    let mut typed = String::from(r#"{"S":"leaf"}"#);
    let mut plain = String::from(r#""leaf""#);
    for _ in 0..32 {
        typed = format!(r#"{{"M":{{"x":{typed}}}}}"#);
        plain = format!(r#"{{"x":{plain}}}"#);
    }
    assert_eq!(flatten_value(&typed), Ok(plain));
}

#[test]
fn huge_records_decode() {
    let attributes: Vec<String> = (0..10_000)
        .map(|i| format!(r#""a{i}":{{"S":"{}"}}"#, "v".repeat(40)))
        .collect();
    let input = streams(
        "INSERT",
        &format!(
            r#""Keys":{{"a0":{{"S":"x"}}}},"NewImage":{{{}}}"#,
            attributes.join(",")
        ),
    );
    let record = decode(input.as_bytes()).expect("decodes");
    assert_eq!(
        record.new_image.as_ref().map(|image| image.len()),
        Some(10_000)
    );
    assert_eq!(
        record
            .new_image
            .as_ref()
            .and_then(|image| image.get("a9999")),
        Some(&*format!(r#""{}""#, "v".repeat(40)))
    );
    let long_text = "é\\\"x".repeat(1 << 20);
    let long = flatten_item(&format!(r#"{{"text":{{"S":"{long_text}"}}}}"#)).expect("flattens");
    assert_eq!(long.get("text").map(str::len), Some(long_text.len() + 2));
    let duplicated = input.replace(r#""a9999":"#, r#""a17":"#);
    assert!(matches!(
        decode(duplicated.as_bytes()),
        Err(DecodeError::BadAttribute {
            problem: AttributeProblem::DuplicateName,
            ..
        })
    ));
}

/// A deterministic fuzz corpus: every prefix of every fixture, and every byte of each replaced
/// by characters that matter to JSON. Nothing panics, and a cut record never decodes unless
/// only trailing whitespace was cut.
#[test]
fn every_truncation_and_byte_swap_of_the_fixtures_is_handled() {
    for name in [
        "pipe-insert.json",
        "pipe-modify.json",
        "pipe-remove.json",
        "kds-insert.json",
    ] {
        let bytes = fixture(name);
        let whole = String::from_utf8_lossy(&bytes).trim_end().len();
        for cut in 0..bytes.len() {
            let result = decode(&bytes[..cut]);
            assert_eq!(
                result.is_ok(),
                cut >= whole,
                "{name} cut at {cut}: {result:?}"
            );
        }
        let mut swapped = bytes.clone();
        for index in 0..bytes.len() {
            for byte in [
                b'"', b'\\', b'{', b'}', b'[', b']', b':', b',', b'0', b'-', b'e', b'.', 0, 0x80,
                0xff,
            ] {
                swapped[index] = byte;
                if let Ok(record) = decode(&swapped) {
                    let row = record.flat_row();
                    serde_json::from_str::<serde_json::Value>(&row).unwrap_or_else(|e| {
                        panic!("{name}[{index}]={byte}: invalid row {row}: {e}")
                    });
                }
            }
            swapped[index] = bytes[index];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

/// A plain JSON value with numbers kept as text, so exactness can be checked digit for digit.
#[derive(Debug, Clone)]
enum Plain {
    Str(String),
    Num(String),
    Bool(bool),
    Null,
    Map(Vec<(String, Plain)>),
    List(Vec<Plain>),
}

fn json_str(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialize")
}

impl Plain {
    fn plain_json(&self) -> String {
        match self {
            Plain::Str(s) => json_str(s),
            Plain::Num(n) => n.clone(),
            Plain::Bool(b) => b.to_string(),
            Plain::Null => "null".into(),
            Plain::Map(members) => {
                let inner: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("{}:{}", json_str(k), v.plain_json()))
                    .collect();
                format!("{{{}}}", inner.join(","))
            }
            Plain::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Plain::plain_json)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    /// DynamoDB-typed JSON, with a little whitespace so the reader's skipping is exercised.
    fn typed_json(&self) -> String {
        match self {
            Plain::Str(s) => format!(r#"{{"S": {}}}"#, json_str(s)),
            Plain::Num(n) => format!(r#"{{"N":"{n}"}}"#),
            Plain::Bool(b) => format!(r#"{{"BOOL":{b}}}"#),
            Plain::Null => r#"{"NULL":true}"#.into(),
            Plain::Map(members) => {
                let inner: Vec<String> = members
                    .iter()
                    .map(|(k, v)| format!("{} : {}", json_str(k), v.typed_json()))
                    .collect();
                format!(r#"{{"M":{{ {} }}}}"#, inner.join(", "))
            }
            Plain::List(items) => {
                format!(
                    r#"{{"L":[{}]}}"#,
                    items
                        .iter()
                        .map(Plain::typed_json)
                        .collect::<Vec<_>>()
                        .join(" ,")
                )
            }
        }
    }
}

fn json_number() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop_oneof![Just("0".to_owned()), "[1-9][0-9]{0,37}"],
        proptest::option::of("[0-9]{1,20}"),
        proptest::option::of(("[eE]", "[+-]?", "[0-9]{1,2}")),
    )
        .prop_map(|(negative, int, frac, exp)| {
            let mut n = if negative {
                "-".to_owned()
            } else {
                String::new()
            };
            n.push_str(&int);
            if let Some(frac) = frac {
                n.push('.');
                n.push_str(&frac);
            }
            if let Some((e, sign, digits)) = exp {
                n.push_str(&format!("{e}{sign}{digits}"));
            }
            n
        })
}

fn unique_members(members: Vec<(String, Plain)>) -> Vec<(String, Plain)> {
    let mut seen = std::collections::HashSet::new();
    members
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect()
}

fn plain_value() -> impl Strategy<Value = Plain> {
    let leaf = prop_oneof![
        any::<String>().prop_map(Plain::Str),
        json_number().prop_map(Plain::Num),
        any::<bool>().prop_map(Plain::Bool),
        Just(Plain::Null),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec((any::<String>(), inner.clone()), 0..6)
                .prop_map(|members| Plain::Map(unique_members(members))),
            proptest::collection::vec(inner, 0..6).prop_map(Plain::List),
        ]
    })
}

fn plain_item() -> impl Strategy<Value = Vec<(String, Plain)>> {
    proptest::collection::vec((any::<String>(), plain_value()), 0..8).prop_map(unique_members)
}

fn item_typed(members: &[(String, Plain)]) -> String {
    let inner: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{}", json_str(k), v.typed_json()))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn valid_record_bytes() -> impl Strategy<Value = Vec<u8>> {
    (prop_oneof![Just("INSERT"), Just("MODIFY"), Just("REMOVE")], plain_item(), plain_item()).prop_map(
        |(event, new, old)| {
            format!(
                r#"{{"eventID":"id","eventName":"{event}","eventVersion":"1.1","dynamodb":{{"ApproximateCreationDateTime":1795162502,"Keys":{{"k":{{"S":"v"}}}},"NewImage":{},"OldImage":{},"SequenceNumber":"1"}}}}"#,
                item_typed(&new),
                item_typed(&old)
            )
            .into_bytes()
        },
    )
}

/// The member names of a JSON object in order, duplicates kept (a map would hide them).
struct TopLevelKeys(Vec<String>);

impl<'de> serde::Deserialize<'de> for TopLevelKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = TopLevelKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TopLevelKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some((key, serde::de::IgnoredAny)) =
                    map.next_entry::<String, serde::de::IgnoredAny>()?
                {
                    keys.push(key);
                }
                Ok(TopLevelKeys(keys))
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn flatten_round_trips_every_typed_value(value in plain_value()) {
        let flat = flatten_value(&value.typed_json());
        let expected = value.plain_json();
        prop_assert_eq!(flat.as_deref(), Ok(expected.as_str()));
    }

    #[test]
    fn flatten_round_trips_every_typed_item(members in plain_item()) {
        let image = flatten_item(&item_typed(&members)).expect("flattens");
        prop_assert_eq!(image.len(), members.len());
        for (name, value) in &members {
            let expected = value.plain_json();
            prop_assert_eq!(image.get(name), Some(expected.as_str()));
        }
        let expected: serde_json::Value =
            serde_json::from_str(&Plain::Map(members.clone()).plain_json()).expect("valid");
        let actual: serde_json::Value = serde_json::from_str(image.as_json()).expect("valid JSON");
        prop_assert_eq!(actual, expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[{}\\[\\]\":,a-zA-Z0-9 .+\\-eE\\\\]{0,200}") {
        let _ = decode(text.as_bytes());
        let _ = flatten_value(&text);
        let _ = flatten_item(&text);
    }

    /// Mutating a valid record (flip, cut, insert, delete) never panics, and whatever still
    /// decodes still yields a valid JSON row with the cdc columns exactly once.
    #[test]
    fn mutated_records_never_panic_and_good_rows_stay_valid(
        record in valid_record_bytes(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..6),
    ) {
        let mut bytes = record;
        for (at, kind, byte) in edits {
            if bytes.is_empty() { break; }
            let index = at.index(bytes.len());
            match kind {
                0 => bytes[index] = byte,
                1 => bytes.truncate(index),
                2 => bytes.insert(index, byte),
                _ => { bytes.remove(index); }
            }
        }
        if let Ok(record) = decode(&bytes) {
            let row = record.flat_row();
            prop_assert!(row.ends_with('\n'));
            let TopLevelKeys(keys) = serde_json::from_str(&row).expect("rows are valid JSON objects");
            let unique: std::collections::HashSet<&String> = keys.iter().collect();
            prop_assert_eq!(unique.len(), keys.len(), "duplicate keys in {}", row);
            for column in change::CDC_COLUMNS {
                prop_assert!(keys.iter().any(|key| key == column));
            }
        }
    }

    #[test]
    fn valid_records_always_decode(record in valid_record_bytes()) {
        let decoded = decode(&record).expect("decodes");
        let row: serde_json::Value = serde_json::from_str(&decoded.flat_row()).expect("valid JSON");
        prop_assert_eq!(&row["is_deleted"], &serde_json::Value::Bool(decoded.event_type == EventType::Remove));
    }
}

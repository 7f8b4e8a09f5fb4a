//! The Firehose transformation contract: every recordId answered once and in order, only the
//! three valid results, undecodable records and rows the lake cannot hold echoed as
//! ProcessingFailed, the Kinesis arrival time for records without a creation time, the 6 MB
//! budget.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use salesctl_core::transform::{
    FailureReason, MAX_RESPONSE_BYTES, RecordError, RecordOutcome, RecordResult, RecordTransformer,
    TransformError, TransformOptions, transform_event, transform_event_with, transform_record,
};
use serde::Deserialize;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Response {
    records: Vec<Answer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    #[serde(rename = "recordId")]
    record_id: String,
    result: String,
    data: String,
    metadata: Option<Metadata>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Metadata {
    #[serde(rename = "partitionKeys")]
    partition_keys: PartitionKeys,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct PartitionKeys {
    dt: String,
    hour: String,
}

fn parse(response: &[u8]) -> Response {
    serde_json::from_slice(response).unwrap_or_else(|e| panic!("response is not valid: {e}"))
}

fn decoded_data(answer: &Answer) -> String {
    String::from_utf8(STANDARD.decode(&answer.data).expect("base64")).expect("UTF-8")
}

fn event(records: &[(&str, &str)]) -> Vec<u8> {
    let records: Vec<serde_json::Value> = records
        .iter()
        .map(|(id, data)| serde_json::json!({"recordId": id, "approximateArrivalTimestamp": 1, "data": data}))
        .collect();
    serde_json::to_vec(&serde_json::json!({"invocationId": "i", "records": records}))
        .expect("serializes")
}

fn b64(text: &str) -> String {
    STANDARD.encode(text)
}

#[test]
fn the_fixture_event_is_answered_in_order() {
    let response = parse(&transform_event(&fixture("firehose-event.json")).expect("answers"));
    let ids: Vec<&str> = response
        .records
        .iter()
        .map(|a| a.record_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "49546986683135544286507457936321625675700192471156785154000",
            "49546986683135544286507457936321625675700192471156785154001",
            "49546986683135544286507457936321625675700192471156785154002",
            "49546986683135544286507457936321625675700192471156785154999",
        ]
    );
    let results: Vec<&str> = response.records.iter().map(|a| a.result.as_str()).collect();
    assert_eq!(results, ["Ok", "Ok", "Ok", "ProcessingFailed"]);
    let pipe_insert = salesctl_core::change::decode(&fixture("pipe-insert.json")).expect("decodes");
    assert_eq!(decoded_data(&response.records[0]), pipe_insert.flat_row());
    assert!(decoded_data(&response.records[1]).contains(r#""status":"PAID","#));
    assert!(decoded_data(&response.records[2]).ends_with(
        r#""creation_datetime":"2026-11-20T08:17:00Z","is_deleted":true}
"#
    ));
    // The record that is not JSON goes back untouched.
    assert_eq!(response.records[3].data, "bm90IGpzb24gYXQgYWxsIHs=");
    assert!(response.records.iter().all(|a| a.metadata.is_none()));
}

#[test]
fn failures_are_reported_with_reasons() {
    let done = transform_event_with(
        &fixture("firehose-event.json"),
        &TransformOptions::default(),
    )
    .expect("answers");
    assert_eq!((done.records, done.ok, done.failures.len()), (4, 3, 1));
    let failure = &done.failures[0];
    assert_eq!(failure.index, 3);
    assert_eq!(
        failure.record_id,
        "49546986683135544286507457936321625675700192471156785154999"
    );
    assert_eq!(
        failure.reason.to_string(),
        "not JSON at byte 0: expected a value"
    );
}

#[test]
fn partition_keys_come_from_creation_time_when_asked() {
    let options = TransformOptions {
        partition_keys: true,
        ..TransformOptions::default()
    };
    let done = transform_event_with(&fixture("firehose-event.json"), &options).expect("answers");
    let response = parse(&done.response);
    let keys = |index: usize| {
        response.records[index]
            .metadata
            .as_ref()
            .map(|m| &m.partition_keys)
    };
    let expected = PartitionKeys {
        dt: "2026-11-20".into(),
        hour: "08".into(),
    };
    assert_eq!(keys(0), Some(&expected));
    assert_eq!(keys(2), Some(&expected));
    assert_eq!(keys(3), None, "failed records carry no partition keys");
}

#[test]
fn partition_keys_turn_on_from_the_environment() {
    // The only test touching this variable, so no other test can observe it.
    unsafe { std::env::set_var("SALESCTL_PARTITION_KEYS", "1") };
    assert!(TransformOptions::from_env().partition_keys);
    unsafe { std::env::set_var("SALESCTL_PARTITION_KEYS", "0") };
    assert!(!TransformOptions::from_env().partition_keys);
    unsafe { std::env::remove_var("SALESCTL_PARTITION_KEYS") };
    assert!(!TransformOptions::from_env().partition_keys);
    assert_eq!(
        TransformOptions::from_env().max_response_bytes,
        MAX_RESPONSE_BYTES
    );
}

#[test]
fn every_kind_of_bad_record_is_processing_failed_with_its_data() {
    let kds = String::from_utf8(fixture("kds-insert.json")).expect("UTF-8");
    let input = event(&[
        ("not-base64", "***"),
        ("bad-padding", "eyJ"),
        ("not-json", &b64("hello")),
        ("truncated", &b64(&kds[..kds.len() / 2])),
        ("array", &b64("[1,2,3]")),
        (
            "unknown-tag",
            &b64(&kds
                .replace(r#""N": "1""#, r#""Q": "1""#)
                .replace("\"N\"", "\"Q\"")),
        ),
        ("not-utf8", &STANDARD.encode([0xff, 0xfe, b'{'])),
        ("empty", ""),
        ("good", &b64(&kds)),
    ]);
    let done = transform_event_with(&input, &TransformOptions::default()).expect("answers");
    let response = parse(&done.response);
    let summary: Vec<(&str, &str)> = response
        .records
        .iter()
        .map(|a| (a.record_id.as_str(), a.result.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("not-base64", "ProcessingFailed"),
            ("bad-padding", "ProcessingFailed"),
            ("not-json", "ProcessingFailed"),
            ("truncated", "ProcessingFailed"),
            ("array", "ProcessingFailed"),
            ("unknown-tag", "ProcessingFailed"),
            ("not-utf8", "ProcessingFailed"),
            ("empty", "ProcessingFailed"),
            ("good", "Ok"),
        ]
    );
    let original: serde_json::Value = serde_json::from_slice(&input).expect("JSON");
    for (index, answer) in response.records.iter().enumerate().take(8) {
        assert_eq!(
            answer.data, original["records"][index]["data"],
            "{}",
            answer.record_id
        );
    }
    let reasons: Vec<String> = done.failures.iter().map(|f| f.reason.to_string()).collect();
    assert_eq!(
        reasons[0],
        "data is not base64: Invalid symbol 42, offset 0."
    );
    assert_eq!(reasons[2], "not JSON at byte 0: expected a value");
    assert_eq!(reasons[3], "truncated JSON: input ends at byte 520");
    assert_eq!(
        reasons[4],
        "not a change record: the JSON value is an array, not an object"
    );
    assert_eq!(
        reasons[5],
        r#"unknown type tag "Q" in attribute "quantity" of NewImage"#
    );
    assert_eq!(reasons[6], "not UTF-8 at byte 0");
    assert_eq!(reasons[7], "empty input");
}

#[test]
fn records_without_data_are_answered_not_dropped() {
    let input = br#"{"records":[{"recordId":"a"},{"recordId":"b","data":null}]}"#;
    let response = parse(&transform_event(input).expect("answers"));
    let summary: Vec<(&str, &str, &str)> = response
        .records
        .iter()
        .map(|a| (a.record_id.as_str(), a.result.as_str(), a.data.as_str()))
        .collect();
    assert_eq!(
        summary,
        [("a", "ProcessingFailed", ""), ("b", "ProcessingFailed", "")]
    );
}

#[test]
fn escapes_in_the_event_are_honoured() {
    // A JSON writer may escape '/' in base64 as "\/"; ids may hold anything.
    // Five '?' (0x3f) hold an aligned 3-byte run, which base64 encodes as "Pz8/".
    let record = r#"{"eventID":"e","eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":1795162502,"Keys":{"k":{"S":"?????"}}}}"#;
    let data = b64(record);
    assert!(data.contains('/') && data.contains("ey"), "{data}");
    let escaped = data.replace('/', "\\/");
    let input = format!(
        r#"{{"records":[{{"recordId":"id \"1\"\n","data":"{escaped}"}},{{"recordId":"x","data":"{}"}}]}}"#,
        escaped.replace('A', "\\u0041").replacen("ey", "!!", 1)
    );
    let response = parse(&transform_event(input.as_bytes()).expect("answers"));
    assert_eq!(response.records[0].record_id, "id \"1\"\n");
    assert_eq!(response.records[0].result, "Ok");
    assert_eq!(response.records[1].result, "ProcessingFailed");
    assert_eq!(response.records[1].data, data.replacen("ey", "!!", 1));
}

#[test]
fn invalid_events_are_errors_not_empty_answers() {
    for input in [
        &b""[..],
        b"[]",
        b"{}",
        br#"{"records":{}}"#,
        br#"{"records":[{"data":"eA=="}]}"#,
        br#"{"records":[1]}"#,
        br#"{"records":[{"recordId":1,"data":"eA=="}]}"#,
        b"{\"records\":[",
    ] {
        let error = transform_event(input).expect_err("must not answer");
        assert!(matches!(error, TransformError::InvalidEvent(_)), "{error}");
        assert!(
            error
                .to_string()
                .starts_with("not a Firehose transformation event: "),
            "{error}"
        );
    }
    assert_eq!(
        transform_event(br#"{"records":[]}"#).expect("answers"),
        br#"{"records":[]}"#
    );
}

#[test]
fn the_response_stays_within_the_budget() {
    // Tiny records make rows larger than their sources, the case where the budget matters.
    let source = b64(
        r#"{"eventID":"e","eventName":"INSERT","dynamodb":{"ApproximateCreationDateTime":1795162502,"Keys":{"k":{"S":"v"}}}}"#,
    );
    let ids: Vec<String> = (0..50).map(|i| format!("r{i:02}")).collect();
    let records: Vec<(&str, &str)> = ids
        .iter()
        .map(|id| (id.as_str(), source.as_str()))
        .collect();
    let input = event(&records);
    let all_failed = |data: &str| {
        let answers: Vec<String> = ids
            .iter()
            .map(|id| {
                format!(r#"{{"recordId":"{id}","result":"ProcessingFailed","data":"{data}"}}"#)
            })
            .collect();
        format!(r#"{{"records":[{}]}}"#, answers.join(",")).len()
    };
    let (echo_total, empty_total) = (all_failed(&source), all_failed(""));
    let options = TransformOptions {
        partition_keys: true,
        ..TransformOptions::default()
    };
    let unlimited = transform_event_with(&input, &options).expect("answers");
    assert_eq!(unlimited.ok, 50);
    assert!(unlimited.response.len() > echo_total && echo_total > empty_total);

    for limit in [
        unlimited.response.len(),
        unlimited.response.len() - 1,
        echo_total,
        echo_total - 1,
        empty_total,
    ] {
        let options = TransformOptions {
            max_response_bytes: limit,
            ..options
        };
        let done = transform_event_with(&input, &options).expect("answers");
        assert!(
            done.response.len() <= limit,
            "{} > {limit}",
            done.response.len()
        );
        let response = parse(&done.response);
        let answered: Vec<&str> = response
            .records
            .iter()
            .map(|a| a.record_id.as_str())
            .collect();
        assert_eq!(answered, ids.iter().map(String::as_str).collect::<Vec<_>>());
        // Ok answers form a prefix; everything after it failed for lack of room.
        let ok = response
            .records
            .iter()
            .take_while(|a| a.result == "Ok")
            .count();
        assert_eq!(ok, done.ok);
        assert!(
            response.records[ok..]
                .iter()
                .all(|a| a.result == "ProcessingFailed")
        );
        assert!(
            done.failures
                .iter()
                .all(|f| matches!(f.reason, FailureReason::ResponseFull { .. }))
        );
        assert_eq!(
            done.ok == 50,
            limit == unlimited.response.len(),
            "limit {limit}"
        );
        // Failed answers echo the original data while all of that fits, else carry none.
        let failed_data = response.records[ok..].iter().map(|a| a.data.as_str());
        if limit == unlimited.response.len() - 1 {
            assert!(ok > 0, "limit {limit}");
        }
        if limit >= echo_total {
            assert!(
                failed_data.clone().all(|data| data == source),
                "limit {limit}"
            );
        } else {
            assert!(failed_data.clone().all(str::is_empty), "limit {limit}");
        }
    }

    let options = TransformOptions {
        max_response_bytes: empty_total - 1,
        ..options
    };
    match transform_event_with(&input, &options) {
        Err(TransformError::ResponseTooLarge {
            records: 50,
            needed,
            limit,
        }) => {
            assert_eq!((needed, limit), (empty_total, empty_total - 1));
        }
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
}

#[test]
fn single_records_transform_for_the_local_pipeline() {
    match transform_record(&fixture("kds-insert.json")) {
        RecordOutcome::Ok { row, partition } => {
            assert!(row.ends_with(b"\"is_deleted\":false}\n"));
            assert_eq!((partition.dt(), partition.hour()), ("2026-11-20", "08"));
            assert_eq!(partition.to_string(), "dt=2026-11-20/hour=08");
        }
        RecordOutcome::Failed { reason } => panic!("{reason}"),
    }
    assert_eq!(
        transform_record(b"{}"),
        RecordOutcome::Failed {
            reason: salesctl_core::change::DecodeError::MissingField("eventID").into()
        }
    );
    let mut transformer = RecordTransformer::new();
    let mut rows = Vec::new();
    for name in ["pipe-insert.json", "pipe-modify.json", "pipe-remove.json"] {
        transformer
            .transform_into(&fixture(name), &mut rows)
            .expect("transforms");
    }
    assert_eq!(rows.iter().filter(|&&b| b == b'\n').count(), 3);
    assert_eq!(
        transformer.last_record().event_id,
        "eccbc87e4b5ce2fe28308fd9f2a7baf3"
    );
    assert_eq!(RecordResult::ProcessingFailed.as_str(), "ProcessingFailed");
    assert_eq!(RecordResult::Dropped.to_string(), "Dropped");
}

/// `pipe-insert.json` with some attributes of its NewImage replaced (typed JSON values).
fn pipe_insert_with(attributes: &[(&str, &str)]) -> String {
    let mut record: serde_json::Value =
        serde_json::from_slice(&fixture("pipe-insert.json")).expect("JSON");
    for (name, typed) in attributes {
        record["dynamodb"]["NewImage"][*name] = serde_json::from_str(typed).expect("typed JSON");
    }
    record.to_string()
}

#[test]
fn a_row_that_does_not_fit_the_lake_is_processing_failed_with_the_order_and_the_reason() {
    let many = pipe_insert_with(&[("quantity", r#"{"S":"many"}"#)]);
    let abc = pipe_insert_with(&[("price", r#"{"S":"abc"}"#)]);
    let cents = pipe_insert_with(&[("price", r#"{"N":"12.345"}"#)]);
    let as_text = pipe_insert_with(&[("quantity", r#"{"S":"3"}"#)]);
    // Not lake columns: any shape passes as it is (the transform works for any table).
    let extra = pipe_insert_with(&[
        ("notes", r#"{"M":{"gift":{"BOOL":true}}}"#),
        ("Tags", r#"{"SS":["a","b"]}"#),
    ]);
    let input = event(&[
        ("many", &b64(&many)),
        ("abc", &b64(&abc)),
        ("cents", &b64(&cents)),
        ("as-text", &b64(&as_text)),
        ("extra", &b64(&extra)),
    ]);
    let done = transform_event_with(&input, &TransformOptions::default()).expect("answers");
    let response = parse(&done.response);
    let results: Vec<(&str, &str)> = response
        .records
        .iter()
        .map(|a| (a.record_id.as_str(), a.result.as_str()))
        .collect();
    assert_eq!(
        results,
        [
            ("many", "ProcessingFailed"),
            ("abc", "ProcessingFailed"),
            ("cents", "ProcessingFailed"),
            ("as-text", "Ok"),
            ("extra", "Ok"),
        ]
    );
    // Failed records go back with their original data, for errors/processing-failed/.
    assert_eq!(response.records[0].data, b64(&many));
    let reasons: Vec<String> = done.failures.iter().map(|f| f.reason.to_string()).collect();
    assert_eq!(
        reasons,
        [
            r#"the row of order_id "o-000000000042" does not fit the lake table orders_cdc: column quantity (int) cannot hold "many": not a whole number in digits"#,
            r#"the row of order_id "o-000000000042" does not fit the lake table orders_cdc: column price (decimal(12,2)) cannot hold "abc": not a number"#,
            r#"the row of order_id "o-000000000042" does not fit the lake table orders_cdc: column price (decimal(12,2)) cannot hold 12.345: more than 2 decimal places"#,
        ]
    );
    assert!(matches!(done.failures[0].reason, FailureReason::Misfit(_)));
    let extra_row = decoded_data(&response.records[4]);
    assert!(
        extra_row.contains(r#""notes":{"gift":true}"#) && extra_row.contains(r#""Tags":["a","b"]"#),
        "{extra_row}"
    );
    // The same check in the per-record path the relay uses.
    match transform_record(many.as_bytes()) {
        RecordOutcome::Failed {
            reason: RecordError::Misfit(misfit),
        } => {
            assert_eq!(misfit.key, r#"order_id "o-000000000042""#);
            assert_eq!(misfit.misfit.column, "quantity");
        }
        other => panic!("expected a misfit, got {other:?}"),
    }
}

/// The sample event of the Pipes documentation ("Amazon DynamoDB stream as a source"): no
/// `ApproximateCreationDateTime`.
const PIPES_DOC_SAMPLE: &str = r#"{"eventID":"1","eventVersion":"1.0","dynamodb":{"Keys":{"Id":{"N":"101"}},"NewImage":{"Message":{"S":"New item!"},"Id":{"N":"101"}},"StreamViewType":"NEW_AND_OLD_IMAGES","SequenceNumber":"111","SizeBytes":26},"awsRegion":"us-west-2","eventName":"INSERT","eventSourceARN":"arn:aws:dynamodb:us-east-1:111122223333:table/EventSourceTable","eventSource":"aws:dynamodb"}"#;

#[test]
fn a_record_without_a_creation_time_takes_the_kinesis_arrival_time_and_is_counted() {
    let data = b64(PIPES_DOC_SAMPLE);
    let with_timestamp = b64(&String::from_utf8(fixture("pipe-insert.json")).expect("UTF-8"));
    let input = serde_json::to_vec(&serde_json::json!({
        "invocationId": "i",
        "sourceKinesisStreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/salesctl-cdc",
        "records": [
            // A Kinesis source: the stream's arrival time wins over Firehose's.
            {"recordId": "kinesis", "approximateArrivalTimestamp": 1_795_170_000_000u64, "data": data,
             "kinesisRecordMetadata": {"shardId": "shardId-000000000000", "partitionKey": "101",
                "approximateArrivalTimestamp": 1_795_162_502_114u64,
                "sequenceNumber": "4954", "subsequenceNumber": 0}},
            // Direct PUT: the record's own arrival time.
            {"recordId": "direct", "approximateArrivalTimestamp": 1_795_166_102_000u64, "data": data},
            // The record's own time is used when it has one.
            {"recordId": "timed", "approximateArrivalTimestamp": 1_795_170_000_000u64, "data": with_timestamp},
            // No time anywhere, or one that is not a number: the record fails, not the batch.
            {"recordId": "none", "data": data},
            {"recordId": "odd", "approximateArrivalTimestamp": "soon", "data": data,
             "kinesisRecordMetadata": {"approximateArrivalTimestamp": [1]}},
        ]
    }))
    .expect("serializes");
    let options = TransformOptions {
        partition_keys: true,
        ..TransformOptions::default()
    };
    let done = transform_event_with(&input, &options).expect("answers");
    let response = parse(&done.response);
    let results: Vec<&str> = response.records.iter().map(|a| a.result.as_str()).collect();
    assert_eq!(
        results,
        ["Ok", "Ok", "Ok", "ProcessingFailed", "ProcessingFailed"]
    );
    assert_eq!(done.arrival_fallbacks, 2);
    let row = |index: usize| -> serde_json::Value {
        serde_json::from_str(&decoded_data(&response.records[index])).expect("row")
    };
    assert_eq!(row(0)["creation_datetime"], "2026-11-20T08:15:02.114Z");
    assert_eq!(row(0)["Message"], "New item!");
    assert_eq!(row(1)["creation_datetime"], "2026-11-20T09:15:02.000Z");
    assert_eq!(row(2)["creation_datetime"], "2026-11-20T08:15:02Z");
    let hour = |index: usize| {
        response.records[index]
            .metadata
            .as_ref()
            .map(|m| m.partition_keys.hour.clone())
    };
    assert_eq!((hour(0), hour(1)), (Some("08".into()), Some("09".into())));
    assert_eq!(
        done.failures[0].reason.to_string(),
        "missing field dynamodb.ApproximateCreationDateTime"
    );

    // The relay's path: the arrival time it read from Kinesis, counted by the transformer.
    let mut transformer = RecordTransformer::new();
    let mut rows = Vec::new();
    let arrival = chrono::DateTime::from_timestamp_millis(1_795_162_502_114);
    let partition = transformer
        .transform_with_arrival(PIPES_DOC_SAMPLE.as_bytes(), arrival, &mut rows)
        .expect("transforms");
    assert_eq!(partition.to_string(), "dt=2026-11-20/hour=08");
    transformer
        .transform_with_arrival(&fixture("pipe-insert.json"), arrival, &mut rows)
        .expect("transforms");
    assert_eq!(transformer.arrival_fallbacks(), 1);
    assert!(
        transformer
            .transform_into(PIPES_DOC_SAMPLE.as_bytes(), &mut rows)
            .is_err()
    );
}

/// A typed value for a lake column, and whether the lake can hold it.
fn lake_value(column: &'static str) -> BoxedStrategy<(String, bool)> {
    let fits = |typed: String| (typed, true);
    let misfits = |typed: String| (typed, false);
    match column {
        "quantity" => prop_oneof![
            any::<i32>().prop_map(move |n| fits(format!(r#"{{"N":"{n}"}}"#))),
            (0u32..1000).prop_map(move |n| fits(format!(r#"{{"S":"{n}"}}"#))),
            Just(fits(r#"{"NULL":true}"#.to_owned())),
            (i64::from(i32::MAX) + 1..i64::MAX)
                .prop_map(move |n| misfits(format!(r#"{{"N":"{n}"}}"#))),
            (0u32..1000).prop_map(move |n| misfits(format!(r#"{{"N":"{n}.5"}}"#))),
            "[a-z]{1,8}".prop_map(move |s| misfits(format!(r#"{{"S":"{s}"}}"#))),
            Just(misfits(r#"{"BOOL":true}"#.to_owned())),
        ]
        .boxed(),
        "price" => prop_oneof![
            (0u64..10_000_000_000, 0u32..100)
                .prop_map(move |(i, c)| fits(format!(r#"{{"N":"{i}.{c:02}"}}"#))),
            (0u64..10_000_000_000).prop_map(move |i| fits(format!(r#"{{"S":"{i}.5"}}"#))),
            (10_000_000_000u64..u64::MAX).prop_map(move |i| misfits(format!(r#"{{"N":"{i}"}}"#))),
            (0u64..1000, 1u32..10)
                .prop_map(move |(i, d)| misfits(format!(r#"{{"N":"{i}.12{d}"}}"#))),
            "[a-z]{1,8}".prop_map(move |s| misfits(format!(r#"{{"S":"{s}"}}"#))),
            Just(misfits(r#"{"L":[{"N":"1"}]}"#.to_owned())),
        ]
        .boxed(),
        _ => prop_oneof![
            ".{0,12}".prop_map(move |s| fits(serde_json::json!({ "S": s }).to_string())),
            Just(fits(r#"{"NULL":true}"#.to_owned())),
            (0u32..100).prop_map(move |n| misfits(format!(r#"{{"N":"{n}"}}"#))),
            Just(misfits(r#"{"M":{"a":{"S":"b"}}}"#.to_owned())),
        ]
        .boxed(),
    }
}

/// Anything at all under a name that is not a lake column.
fn other_value() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,12}".prop_map(|s| serde_json::json!({ "S": s }).to_string()),
        any::<i64>().prop_map(|n| format!(r#"{{"N":"{n}"}}"#)),
        any::<bool>().prop_map(|b| format!(r#"{{"BOOL":{b}}}"#)),
        Just(r#"{"M":{"a":{"L":[{"N":"1.5"}]}}}"#.to_owned()),
        Just(r#"{"SS":["x","y"]}"#.to_owned()),
    ]
}

fn record_data() -> impl Strategy<Value = String> {
    let good = prop_oneof![
        Just(fixture("pipe-insert.json")),
        Just(fixture("pipe-modify.json")),
        Just(fixture("pipe-remove.json")),
        Just(fixture("kds-insert.json")),
    ];
    prop_oneof![
        3 => good.clone().prop_map(|bytes| STANDARD.encode(bytes)),
        1 => (good, any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut bytes, at, byte)| {
            let index = at.index(bytes.len());
            bytes[index] = byte;
            STANDARD.encode(bytes)
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|bytes| STANDARD.encode(bytes)),
        1 => "[A-Za-z0-9+/=!*]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_record_id_is_answered_once_in_order(
        data in proptest::collection::vec(record_data(), 0..40),
        partition_keys in any::<bool>(),
    ) {
        let ids: Vec<String> = (0..data.len()).map(|i| format!("id-{i}")).collect();
        let records: Vec<(&str, &str)> = ids.iter().map(String::as_str).zip(data.iter().map(String::as_str)).collect();
        let options = TransformOptions { partition_keys, ..TransformOptions::default() };
        let done = transform_event_with(&event(&records), &options).expect("answers");
        let response = parse(&done.response);
        prop_assert_eq!(response.records.len(), data.len());
        prop_assert_eq!(done.ok + done.failures.len(), data.len());
        for (index, answer) in response.records.iter().enumerate() {
            prop_assert_eq!(&answer.record_id, &ids[index]);
            match answer.result.as_str() {
                "Ok" => {
                    let row = decoded_data(answer);
                    prop_assert!(row.ends_with('\n') && row.matches('\n').count() == 1);
                    let parsed: serde_json::Value = serde_json::from_str(&row).expect("row is JSON");
                    prop_assert!(parsed.is_object());
                    prop_assert_eq!(answer.metadata.is_some(), partition_keys);
                }
                "ProcessingFailed" => {
                    prop_assert_eq!(&answer.data, &data[index]);
                    prop_assert!(answer.metadata.is_none());
                }
                other => prop_assert!(false, "invalid result {}", other),
            }
        }
    }

    /// A row is answered Ok exactly when every lake column of it fits, and an Ok row holds
    /// values both engines read: quantity an i32, price at most 2 decimal places.
    #[test]
    fn a_row_is_ok_exactly_when_the_lake_can_hold_it(
        (quantity, quantity_fits) in lake_value("quantity"),
        (price, price_fits) in lake_value("price"),
        (product, product_fits) in lake_value("product_name"),
        notes in other_value(),
    ) {
        let record = pipe_insert_with(&[
            ("quantity", &quantity),
            ("price", &price),
            ("product_name", &product),
            ("notes", &notes),
        ]);
        let done = transform_event_with(&event(&[("r", &b64(&record))]), &TransformOptions::default())
            .expect("answers");
        let fits = quantity_fits && price_fits && product_fits;
        prop_assert_eq!(done.ok == 1, fits, "{:?}", done.failures);
        let response = parse(&done.response);
        if fits {
            let row: serde_json::Value = serde_json::from_str(&decoded_data(&response.records[0]))
                .expect("row is JSON");
            let number_text = |value: &serde_json::Value| match value {
                serde_json::Value::String(text) => Some(text.clone()),
                serde_json::Value::Number(number) => Some(number.to_string()),
                _ => None,
            };
            if let Some(text) = number_text(&row["quantity"]) {
                prop_assert!(text.parse::<i32>().is_ok(), "{}", text);
            }
            if let Some(text) = number_text(&row["price"]) {
                let price = rust_decimal::Decimal::from_str_exact(&text).expect("decimal");
                prop_assert!(price.normalize().scale() <= 2, "{}", text);
            }
        } else {
            prop_assert!(matches!(done.failures[0].reason, FailureReason::Misfit(_)));
            prop_assert_eq!(&response.records[0].data, &b64(&record));
        }
    }

    #[test]
    fn arbitrary_events_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = transform_event(&bytes);
        let _ = transform_record(&bytes);
    }
}

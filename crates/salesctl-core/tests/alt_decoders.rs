//! The transform bench's serde_json and simd-json decoders give what the hand parser gives, so
//! the bench races equal work: on the fixtures, on the whole bench batch, and on edge records.

// Each includer uses a different part of the bench's support code.
#[allow(dead_code)]
#[path = "../benches/support/alt_decoders.rs"]
mod alt_decoders;
#[allow(dead_code)]
#[path = "../benches/support/batch.rs"]
mod batch;

use alt_decoders::{AltRecord, SimdJson, decode_serde_json, summary_of};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use salesctl_core::change::decode;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The four record fixtures and every record inside the Firehose event fixture.
fn fixture_records() -> Vec<(String, Vec<u8>)> {
    let mut records: Vec<(String, Vec<u8>)> = [
        "pipe-insert.json",
        "pipe-modify.json",
        "pipe-remove.json",
        "kds-insert.json",
    ]
    .into_iter()
    .map(|name| (name.to_owned(), fixture(name)))
    .collect();
    let event: serde_json::Value =
        serde_json::from_slice(&fixture("firehose-event.json")).expect("valid event");
    for (index, record) in event["records"]
        .as_array()
        .expect("records")
        .iter()
        .enumerate()
    {
        let data = record["data"].as_str().expect("data");
        records.push((
            format!("firehose-event.json record {index}"),
            STANDARD.decode(data).expect("base64"),
        ));
    }
    records
}

/// Both alternatives decode `bytes` to the hand parser's record and flat row, or refuse it
/// when the hand parser does.
fn assert_same(name: &str, bytes: &[u8], simd: &mut SimdJson) {
    let Ok(hand) = decode(bytes) else {
        let mut record = AltRecord::default();
        assert!(
            decode_serde_json(bytes, &mut record).is_err(),
            "{name}: serde_json"
        );
        assert!(
            simd.decode(bytes, &mut record).is_err(),
            "{name}: simd-json"
        );
        return;
    };
    let mut hand_row = Vec::new();
    hand.write_flat_row(&mut hand_row);
    let mut by_serde = AltRecord::default();
    decode_serde_json(bytes, &mut by_serde).unwrap_or_else(|e| panic!("{name}: serde_json: {e}"));
    let mut by_simd = AltRecord::default();
    simd.decode(bytes, &mut by_simd)
        .unwrap_or_else(|e| panic!("{name}: simd-json: {e}"));
    for (decoder, record) in [("serde_json", &by_serde), ("simd-json", &by_simd)] {
        assert_eq!(record.summary(), summary_of(&hand), "{name}: {decoder}");
        let mut row = Vec::new();
        record.write_flat_row(&mut row);
        assert_eq!(
            String::from_utf8_lossy(&row),
            String::from_utf8_lossy(&hand_row),
            "{name}: {decoder}"
        );
    }
}

#[test]
fn the_fixtures_decode_alike() {
    let mut simd = SimdJson::default();
    let records = fixture_records();
    // The event fixture carries a record that is not JSON, which all must refuse.
    let refused = records
        .iter()
        .filter(|(_, bytes)| decode(bytes).is_err())
        .count();
    assert!(records.len() > 4 && refused > 0);
    for (name, bytes) in &records {
        assert_same(name, bytes, &mut simd);
    }
}

#[test]
fn the_whole_bench_batch_decodes_alike() {
    let (event, count) = batch::firehose_event(batch::EVENT_BYTES);
    let records = batch::records_of(&event);
    assert_eq!(records.len(), count);
    let mut simd = SimdJson::default();
    // Reused records, as the bench reuses them: no field may leak from one record to the next.
    let (mut by_serde, mut by_simd) = (AltRecord::default(), AltRecord::default());
    let (mut row, mut hand_row) = (Vec::new(), Vec::new());
    for (index, bytes) in records.iter().enumerate() {
        let hand = decode(bytes).unwrap_or_else(|e| panic!("record {index}: {e}"));
        hand_row.clear();
        hand.write_flat_row(&mut hand_row);
        decode_serde_json(bytes, &mut by_serde).expect("serde_json decodes");
        simd.decode(bytes, &mut by_simd).expect("simd-json decodes");
        for record in [&by_serde, &by_simd] {
            assert_eq!(record.summary(), summary_of(&hand), "record {index}");
            row.clear();
            record.write_flat_row(&mut row);
            assert_eq!(row, hand_row, "record {index}");
        }
    }
}

/// Records that exercise each rule the decoders must share: formats and units, fractional
/// time, every type, N normalisation, cdc-named attributes, null images, unknown fields.
#[test]
fn edge_records_decode_alike() {
    let streams = |event: &str, dynamodb: &str| {
        format!(
            r#"{{"eventID":"e1","eventName":"{event}","eventVersion":"1.1","dynamodb":{{"ApproximateCreationDateTime":1795162502,{dynamodb},"SequenceNumber":"42"}},"eventSourceARN":"arn:aws:dynamodb:us-east-1:1:table/t/stream/x"}}"#
        )
    };
    let bare = |members: &str, time: &str| {
        format!(
            r#"{{"eventID":"e","eventName":"INSERT",{members}"dynamodb":{{"ApproximateCreationDateTime":{time},"Keys":{{"k":{{"S":"v"}}}}}}}}"#
        )
    };
    let cases = [
        streams("REMOVE", r#""Keys":{"pk":{"S":"a"},"sk":{"N":"7"}}"#),
        streams("insert", r#""Keys":{"pk":{"S":"a"}},"NewImage":null"#),
        streams(
            "INSERT",
            concat!(
                r#""Keys":{"id":{"S":"1"}},"NewImage":{"id":{"S":"1"},"is_deleted":{"BOOL":true},"#,
                r#""cdc_event_type":{"S":"mine"},"keep":{"N":"3"}}"#
            ),
        ),
        streams(
            "MODIFY",
            concat!(
                r#""Keys":{"k":{"S":"v"}},"NewImage":{"m":{"M":{"s":{"S":"x"},"n":{"N":"-12.50"},"#,
                r#""t":{"BOOL":true},"z":{"NULL":true},"b":{"B":"AAEC"},"ss":{"SS":["a","b"]},"#,
                r#""ns":{"NS":["1",".5","+2"]},"bs":{"BS":["AA=="]},"#,
                r#""l":{"L":[{"S":"y"},{"L":[{"M":{"deep":{"L":[{"N":"1e3"}]}}}]},{"NULL":true}]},"#,
                r#""em":{"M":{}},"el":{"L":[]}}}},"OldImage":{"max":{"N":"99999999999999999999999999999999999999"},"#,
                r#""tiny":{"N":"1E-130"},"plus":{"N":"+5"},"lead":{"N":".25"},"trail":{"N":"5."},"zeros":{"N":"007.50"}}"#
            ),
        ),
        bare(r#""tableName":"t","#, "1000"),
        bare(r#""userIdentity":null,"#, "1795162502114"),
        bare("", "1795162502"),
        bare("", "1795162502114"),
        bare("", "1795162502114321"),
        bare(r#""tableName":"t","eventVersion":"1.1","#, "1795162502"),
        bare(r#""eventVersion":"1.1","#, "1795162502.25"),
        bare(r#""eventVersion":"1.1","#, "1.795162502E9"),
        bare(r#""unknown":{"a":[1,2,{"b":null}]},"#, "1795162502"),
        r#"{"eventID":"e","eventName":"MODIFY","dynamodb":{"ApproximateCreationDateTimePrecision":"MICROSECOND","ApproximateCreationDateTime":1795162502114321,"Keys":{"k":{"S":"v"}}}}"#.to_owned(),
    ];
    let mut simd = SimdJson::default();
    for case in &cases {
        assert_same(case, case.as_bytes(), &mut simd);
    }
}

/// Strings with escapes: serde_json keeps them verbatim, as the hand parser does; simd-json
/// re-escapes, so its row is the same JSON value in other bytes.
#[test]
fn escaped_strings_stay_verbatim_through_serde_json_only() {
    let input = concat!(
        r#"{"eventID":"e\u0031","eventName":"INSERT","eventVersion":"1.1","dynamodb":{"ApproximateCreationDateTime":1795162502,"#,
        r#""Keys":{"a\"b":{"S":"say \"hi\"\\ \u00e9 \ud83d\ude00 \n"}}}}"#
    );
    let hand = decode(input.as_bytes()).expect("decodes");
    let mut serde_record = AltRecord::default();
    decode_serde_json(input.as_bytes(), &mut serde_record).expect("serde_json decodes");
    assert_eq!(serde_record.summary(), summary_of(&hand));
    let mut simd_record = AltRecord::default();
    SimdJson::default()
        .decode(input.as_bytes(), &mut simd_record)
        .expect("simd-json decodes");
    let (mut hand_row, mut simd_row) = (Vec::new(), Vec::new());
    hand.write_flat_row(&mut hand_row);
    simd_record.write_flat_row(&mut simd_row);
    assert_ne!(hand_row, simd_row);
    let value = |row: &[u8]| serde_json::from_slice::<serde_json::Value>(row).expect("valid row");
    assert_eq!(value(&simd_row), value(&hand_row));
}

/// A record cut anywhere is refused by all three alike (trailing whitespace aside).
#[test]
fn truncated_fixtures_are_refused_alike() {
    let mut simd = SimdJson::default();
    let mut record = AltRecord::default();
    for name in ["pipe-modify.json", "kds-insert.json"] {
        let bytes = fixture(name);
        for cut in 0..bytes.len() {
            let cut_bytes = &bytes[..cut];
            let hand = decode(cut_bytes).is_ok();
            assert_eq!(
                decode_serde_json(cut_bytes, &mut record).is_ok(),
                hand,
                "{name} cut at {cut}: serde_json"
            );
            assert_eq!(
                simd.decode(cut_bytes, &mut record).is_ok(),
                hand,
                "{name} cut at {cut}: simd-json"
            );
        }
    }
}

/// One reason serde_json is no drop-in: a lone surrogate inside a string it only passes
/// through (`RawValue`, skipped fields) is not checked, so the row would carry an escape that
/// names no character; the hand parser refuses the record instead.
#[test]
fn serde_json_passes_lone_surrogates_the_hand_parser_refuses() {
    let input = concat!(
        r#"{"eventID":"e","eventName":"INSERT","eventVersion":"1.1","dynamodb":{"ApproximateCreationDateTime":1795162502,"#,
        r#""Keys":{"k":{"S":"\ud800"}}}}"#
    );
    assert!(decode(input.as_bytes()).is_err());
    assert!(decode_serde_json(input.as_bytes(), &mut AltRecord::default()).is_ok());
}

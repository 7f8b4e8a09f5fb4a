//! The Firehose data-transformation Lambda ("salesctl-transform"): answers each invocation with
//! `salesctl_core::transform`. Built alone (`cargo build -p salesctl-lambda`) for provided.al2023.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use salesctl_core::transform::{TransformOptions, transform_event_with};
use serde_json::value::RawValue;

/// Failed records logged one by one per invocation; the rest are only counted, so a batch of
/// garbage cannot flood CloudWatch.
const LOGGED_FAILURES: usize = 10;

/// The event is taken as raw JSON and the response handed back as raw JSON, so the runtime does
/// no second decode into a typed event and no re-encode of megabytes of base64.
/// `SALESCTL_PARTITION_KEYS=1` adds `metadata.partitionKeys` {dt, hour} for dynamic
/// partitioning. Logging follows the Lambda log settings (AWS_LAMBDA_LOG_LEVEL/FORMAT, RUST_LOG).
///
/// One invocation at a time on one thread: a current-thread runtime starts fastest.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let options = TransformOptions::from_env();
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move { answer(&event.payload, &options) },
    ))
    .await
}

/// Failed records (undecodable, or rows the lake table cannot hold, named by order id and
/// column) are logged, since Firehose's processing-failed documents carry only its own error
/// code; rows timed by the Kinesis arrival for want of `ApproximateCreationDateTime` are
/// counted in one line.
fn answer(event: &RawValue, options: &TransformOptions) -> Result<Box<RawValue>, Error> {
    let done = transform_event_with(event.get().as_bytes(), options)?;
    if done.arrival_fallbacks > 0 {
        tracing::info!(
            records = done.records,
            arrival_time_fallbacks = done.arrival_fallbacks,
            "records without dynamodb.ApproximateCreationDateTime: creation_datetime is the Kinesis arrival time"
        );
    }
    if !done.failures.is_empty() {
        tracing::warn!(
            records = done.records,
            ok = done.ok,
            failed = done.failures.len(),
            "records answered ProcessingFailed (they go to the error prefix with their data)"
        );
        for failure in done.failures.iter().take(LOGGED_FAILURES) {
            tracing::warn!(record_id = %failure.record_id, index = failure.index, reason = %failure.reason, "record failed");
        }
    }
    Ok(RawValue::from_string(String::from_utf8(done.response)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_the_lake_cannot_hold_is_answered_processing_failed() {
        use base64::Engine as _;
        let record = r#"{"eventID":"e","eventName":"INSERT","eventVersion":"1.1","dynamodb":{"Keys":{"order_id":{"S":"o-1"}},"NewImage":{"order_id":{"S":"o-1"},"quantity":{"S":"many"}}}}"#;
        let data = base64::engine::general_purpose::STANDARD.encode(record);
        let event = format!(
            r#"{{"records":[{{"recordId":"r","approximateArrivalTimestamp":1795162502114,"data":"{data}"}}]}}"#
        );
        let event = RawValue::from_string(event).expect("JSON");
        let response = answer(&event, &TransformOptions::default()).expect("answers");
        assert_eq!(
            response.get(),
            format!(
                r#"{{"records":[{{"recordId":"r","result":"ProcessingFailed","data":"{data}"}}]}}"#
            )
        );
    }

    /// The tutorial's table (key `orderid`, no `order_id` attribute): the Lambda shares the
    /// transform, so its rows carry the key as the lake's `order_id`, a REMOVE with only its
    /// keys too.
    #[test]
    fn a_tutorial_table_row_carries_its_key_as_order_id() {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let records = [
            r#"{"eventID":"e1","eventName":"INSERT","eventVersion":"1.1","dynamodb":{"ApproximateCreationDateTime":1795162502,"Keys":{"orderid":{"S":"o-42"}},"NewImage":{"orderid":{"S":"o-42"},"product_name":{"S":"Monitor"},"quantity":{"N":"5"},"price":{"N":"329.00"}},"SequenceNumber":"1"}}"#,
            r#"{"eventID":"e2","eventName":"REMOVE","eventVersion":"1.1","dynamodb":{"ApproximateCreationDateTime":1795162503,"Keys":{"orderid":{"S":"o-42"}},"SequenceNumber":"2"}}"#,
        ];
        let listed: Vec<String> = records
            .iter()
            .enumerate()
            .map(|(i, r)| format!(r#"{{"recordId":"r{i}","data":"{}"}}"#, engine.encode(r)))
            .collect();
        let event = RawValue::from_string(format!(r#"{{"records":[{}]}}"#, listed.join(",")))
            .expect("JSON");
        let response = answer(&event, &TransformOptions::default()).expect("answers");
        let response: serde_json::Value = serde_json::from_str(response.get()).expect("JSON");
        for answer in response["records"].as_array().expect("records") {
            assert_eq!(answer["result"], "Ok", "{answer}");
            let row = engine
                .decode(answer["data"].as_str().expect("data"))
                .expect("base64");
            let row: serde_json::Value = serde_json::from_slice(&row).expect("a JSON row");
            assert_eq!(row["order_id"], "o-42", "{row}");
            assert_eq!(row["orderid"], "o-42", "{row}");
        }
    }
}

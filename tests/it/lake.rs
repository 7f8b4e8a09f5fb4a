//! The lake module against the emulator's S3: a listing pages past 1,000 keys, a time range
//! lists only its partitions, and what is written reads back the same.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use salesctl::lake::layout::{PROCESSING_FAILED, data_key, error_key, object_name};
use salesctl::lake::{DATA_PREFIX, ERROR_ROOT};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

#[tokio::test]
async fn listings_page_past_a_thousand_keys_and_ranges_list_only_their_hours() {
    let (_session, _, lake) = crate::common::lake_session("lake-module-test").await;

    // 1,010 objects in 2026-11-20 hour 08, one each in hours 09 and 10 and the next day.
    let mut keys: Vec<String> = (0..1010)
        .map(|i| data_key("2026-11-20", "08", &format!("part-{i:04}")))
        .collect();
    for (dt, hour) in [
        ("2026-11-20", "09"),
        ("2026-11-20", "10"),
        ("2026-11-21", "00"),
    ] {
        keys.push(data_key(dt, hour, "part-0000"));
    }
    let name = object_name("salesctl-orders", at("2026-11-20T08:15:02Z"), "id");
    keys.push(error_key(PROCESSING_FAILED, "2026-11-20", &name));
    let written: Vec<anyhow::Result<()>> = futures::stream::iter(&keys)
        .map(|key| lake.write(key, format!("{{\"key\":\"{key}\"}}\n").into_bytes()))
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(written.iter().all(Result::is_ok), "{written:?}");

    let data = lake.list(DATA_PREFIX).await.unwrap();
    assert_eq!(data.len(), 1013);
    let mut pages = lake.pages(DATA_PREFIX);
    let mut sizes = Vec::new();
    while let Some(page) = pages.next().await {
        sizes.push(page.unwrap().len());
    }
    assert_eq!(sizes, [1000, 13]);

    let hours = lake
        .list_between(at("2026-11-20T09:30:00Z"), at("2026-11-21T00:10:00Z"))
        .await
        .unwrap();
    let mut listed: Vec<&str> = hours.iter().map(|o| o.key.as_str()).collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "orders/dt=2026-11-20/hour=09/part-0000",
            "orders/dt=2026-11-20/hour=10/part-0000",
            "orders/dt=2026-11-21/hour=00/part-0000",
        ]
    );
    assert!(hours.iter().all(|o| o.written.is_some() && o.size > 0));

    let key = &keys[1012];
    assert_eq!(
        lake.read(key).await.unwrap(),
        format!("{{\"key\":\"{key}\"}}\n").into_bytes()
    );
    let mut errors = Vec::new();
    lake.each_object(ERROR_ROOT, |o| errors.push((o.key, o.body)))
        .await
        .unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].0,
        "errors/processing-failed/dt=2026-11-20/salesctl-orders-1-2026-11-20-08-15-02-id"
    );
    let missing = lake.read("orders/nothing-here").await.unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("reading s3://lake-module-test/orders/nothing-here"),
        "{missing}"
    );
}

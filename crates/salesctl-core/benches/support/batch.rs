//! The transform bench's batch: a deterministic Firehose event of tutorial-shaped Streams
//! records, grown to Lambda's 6 MB limit; shared with the decoder equivalence test.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Where the event stops growing: Lambda's 6 MB request limit, in decimal megabytes.
pub const EVENT_BYTES: usize = 6_000_000;

const PRODUCTS: [(&str, &str); 8] = [
    ("Laptop", "1249.90"),
    ("Headphones", "89.99"),
    ("Monitor", "329.00"),
    ("Keyboard", "49.50"),
    ("Mouse", "19.99"),
    ("Webcam", "74.25"),
    ("Desk Lamp", "34.10"),
    ("USB-C Hub", "45.00"),
];

/// xorshift64*: deterministic and dependency-free.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// The shape of the tutorial's table (orderid, product_name, quantity, price) as an EventBridge
/// Pipe writes its Streams records: 85% INSERT, 10% MODIFY (with OldImage), 5% REMOVE.
pub fn stream_record(rng: &mut Rng, index: u64) -> String {
    let order_id = format!("{:08}", 10_000_000 + index);
    let (product, price) = PRODUCTS[rng.below(PRODUCTS.len() as u64) as usize];
    let quantity = 1 + rng.below(5);
    let image = |quantity: u64| {
        format!(
            r#"{{"orderid":{{"S":"{order_id}"}},"product_name":{{"S":"{product}"}},"quantity":{{"N":"{quantity}"}},"price":{{"N":"{price}"}}}}"#
        )
    };
    let roll = rng.below(100);
    let (event_name, images) = if roll < 85 {
        ("INSERT", format!(r#""NewImage":{},"#, image(quantity)))
    } else if roll < 95 {
        (
            "MODIFY",
            format!(
                r#""NewImage":{},"OldImage":{},"#,
                image(quantity + 1),
                image(quantity)
            ),
        )
    } else {
        ("REMOVE", format!(r#""OldImage":{},"#, image(quantity)))
    };
    let created = 1_795_162_502 + index / 4;
    format!(
        concat!(
            r#"{{"eventID":"{:016x}{:016x}","eventName":"{}","eventVersion":"1.1","eventSource":"aws:dynamodb","#,
            r#""awsRegion":"us-east-1","dynamodb":{{"ApproximateCreationDateTime":{},"Keys":{{"orderid":{{"S":"{}"}}}},"#,
            r#"{}"SequenceNumber":"{}","SizeBytes":{},"StreamViewType":"NEW_AND_OLD_IMAGES"}},"#,
            r#""eventSourceARN":"arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-20T08:00:00.000"}}"#
        ),
        rng.next(),
        rng.next(),
        event_name,
        created,
        order_id,
        images,
        100_000_000_000_000_000_000u128 + u128::from(index),
        60 + rng.below(200),
    )
}

/// A Firehose transformation event from a Kinesis source, grown until the next record would
/// pass `limit` bytes. Returns the event and its record count.
pub fn firehose_event(limit: usize) -> (Vec<u8>, usize) {
    let mut rng = Rng(0x5eed_5a1e_5c7d_0001);
    let mut event = String::from(concat!(
        r#"{"invocationId":"0e6a1f44-6bb0-4d22-b9a3-56d3b8f0f7a1","#,
        r#""deliveryStreamArn":"arn:aws:firehose:us-east-1:123456789012:deliverystream/salesctl-orders","#,
        r#""sourceKinesisStreamArn":"arn:aws:kinesis:us-east-1:123456789012:stream/salesctl-cdc","#,
        r#""region":"us-east-1","records":["#
    ));
    let mut count = 0u64;
    loop {
        let data = STANDARD.encode(stream_record(&mut rng, count));
        let arrival = 1_795_162_503_000 + count * 250;
        let entry = format!(
            concat!(
                r#"{}{{"recordId":"49546986683135544286507457936321625675700192471156{:09}","approximateArrivalTimestamp":{},"data":"{}","#,
                r#""kinesisRecordMetadata":{{"sequenceNumber":"4964580952434437651873240928645627917{:06}","subsequenceNumber":0,"#,
                r#""partitionKey":"{:08}","shardId":"shardId-000000000000","approximateArrivalTimestamp":{}}}}}"#
            ),
            if count == 0 { "" } else { "," },
            count,
            arrival,
            data,
            count,
            10_000_000 + count,
            arrival,
        );
        if event.len() + entry.len() + 2 > limit {
            break;
        }
        event.push_str(&entry);
        count += 1;
    }
    event.push_str("]}");
    (event.into_bytes(), count as usize)
}

/// The change records inside `event`, base64-decoded: the bytes every decoder is given.
pub fn records_of(event: &[u8]) -> Vec<Vec<u8>> {
    #[derive(serde::Deserialize)]
    struct Event {
        records: Vec<Record>,
    }
    #[derive(serde::Deserialize)]
    struct Record {
        data: String,
    }
    let event: Event = serde_json::from_slice(event).expect("the generated event is valid");
    event
        .records
        .iter()
        .map(|record| STANDARD.decode(&record.data).expect("valid base64"))
        .collect()
}

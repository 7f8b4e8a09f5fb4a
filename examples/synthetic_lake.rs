//! Writes a synthetic lake for benchmarks: N days of M objects an hour, each of K changes, in
//! the lake's own layout and schema, into a directory or an S3 bucket (the emulator's).
//!
//! Run:
//! `cargo run --release --example synthetic_lake -- --days 30 --dir /tmp/lake`
//! `cargo run --release --example synthetic_lake -- --days 30 --format parquet --s3 s3://bench/orders/`
//!
//! The rows are what a real relay writes: the core's order generator (`generate`'s default
//! shares of updates and deletes, so INSERT, MODIFY and REMOVE in its mix, and order ids that
//! recur across hours and days) plans the table's writes; each becomes a DynamoDB Streams
//! record in the EventBridge Pipe's format (`salesctl::stream::pipe_format::pipe_json`, the
//! relay's own serializer) and goes through the core's transform, as the relay's firehose
//! stage and the Lambda run it. Objects are named and placed as Firehose does
//! (`dt=YYYY-MM-DD/hour=HH/<stream>-1-YYYY-MM-DD-HH-MM-SS-<id>`, `.parquet` for Parquet), one
//! buffer interval (3600 / M seconds) of changes each.
//!
//! The target is the lake's data root, what `salesctl query --data` takes: `--dir DIR` writes
//! `DIR/dt=…/hour=…/…`; `--s3 s3://bucket/prefix/` writes `prefix/dt=…/…` (a bare bucket gets
//! `orders/`, the stack's data prefix). The output depends only on the flags: the same seed,
//! days and `--end` give the same bytes (`--end` defaults to yesterday, UTC).
//!
//! Prints one line: `synthetic_lake: objects=… changes=… insert=… modify=… remove=… bytes=…
//! format=… days=… first_day=… last_day=… seconds=… target=… trace_order=… trace_order_changes=…
//! trace_order_hours=… trace_order_deleted=…`, where `trace_order` is one of the orders with the
//! most changes over the most hours, not deleted if one of them is not: a case for
//! `salesctl trace`.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use aws_sdk_dynamodbstreams::types::{
    AttributeValue, OperationType, Record, StreamRecord, StreamViewType,
};
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use clap::Parser;
use futures::{StreamExt as _, TryStreamExt as _};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use salesctl::lake::layout;
use salesctl::relay::batch::uuid_shaped_id;
use salesctl::stream::pipe_format::pipe_json;
use salesctl_core::lake_schema::LakeFormat;
use salesctl_core::order::{
    AttrValue, GeneratorConfig, OpKind, Order, OrderGenerator, OrderStatus, PlannedOp, Schema,
};
use salesctl_core::transform::{PartitionKey, RecordTransformer};

/// The stack's names with the default prefix, and moto's account: only the object names and
/// the records' ARN carry them, never a row.
const TABLE: &str = "salesctl-orders";
const ACCOUNT: &str = "123456789012";
const SHARD: &str = "shardId-000000000000";
/// Kinesis + Pipe latency between a change and its arrival at Firehose, in milliseconds.
const ARRIVAL_LATENCY_MS: std::ops::RangeInclusive<i64> = 150..=1_200;

#[derive(Debug, Parser)]
#[command(
    about = "Write a synthetic N-day lake (rows in the lake's schema, Firehose's layout) for benchmarks"
)]
struct Args {
    /// Days of data, ending with --end.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3660))]
    days: u32,
    /// Objects per hour (Firehose's buffer interval is 3600 / M seconds).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=360))]
    objects_per_hour: u32,
    /// Changes per object (30 days x 12/hour x 116 = 1,002,240 changes).
    #[arg(long, default_value_t = 116, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    changes_per_object: u32,
    /// Encoding of the objects: json (NDJSON flat rows) or parquet.
    #[arg(long, default_value = "json", value_parser = parse_format)]
    format: LakeFormat,
    /// The last day of the lake, YYYY-MM-DD (default: yesterday, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    end: Option<NaiveDate>,
    /// Seed of the orders, their changes and ids.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of the table's writes that update an order (generate's default).
    #[arg(long, default_value_t = 0.2)]
    update_ratio: f64,
    /// Share of the table's writes that delete an order (generate's default).
    #[arg(long, default_value_t = 0.05)]
    delete_ratio: f64,
    /// Write into this directory (the lake's data root: dt=…/hour=… folders go in it).
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "s3",
        required_unless_present = "s3"
    )]
    dir: Option<PathBuf>,
    /// Write into this bucket and prefix (created if missing), e.g. s3://bench/orders/.
    #[arg(long, value_name = "s3://BUCKET/PREFIX/")]
    s3: Option<String>,
    /// The S3 endpoint for --s3 (the emulator). Credentials: AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY (default test/test), region AWS_REGION (default us-east-1).
    #[arg(long, default_value = "http://127.0.0.1:4566")]
    endpoint_url: String,
    /// Objects written at once (default: 32 to S3, twice the cores to a directory).
    #[arg(long)]
    concurrency: Option<usize>,
    /// The Firehose delivery stream named in the objects' names.
    #[arg(long, default_value = "salesctl-orders")]
    delivery_stream: String,
}

fn parse_format(text: &str) -> Result<LakeFormat, String> {
    LakeFormat::parse(text).ok_or_else(|| format!("{text:?} is neither json nor parquet"))
}

/// One change of the table, with everything its stream record needs.
struct Change {
    kind: OpKind,
    /// The new image (INSERT, MODIFY) or the removed item (REMOVE).
    order: Order,
    /// For a MODIFY: the status and update time before it (the old image's differences).
    before: Option<(OrderStatus, DateTime<Utc>)>,
    event_id: u128,
    sequence: u64,
    created: DateTime<Utc>,
    arrival: DateTime<Utc>,
}

/// One object to write: its key under the target and the changes it holds, in stream order.
struct ObjectPlan {
    key: String,
    changes: Vec<Change>,
}

/// What the planner knows of each order (index: its generator sequence number - 1): enough
/// for a MODIFY's old image and for picking a `trace` candidate.
#[derive(Clone, Copy)]
struct OrderState {
    updated_ms: i64,
    status: OrderStatus,
    changes: u8,
    hours: u8,
    last_hour: u32,
}

#[derive(Debug, Default)]
struct Totals {
    objects: u64,
    changes: u64,
    inserts: u64,
    modifies: u64,
    removes: u64,
    /// The order `trace` is best tried on; see [`Planner::trace_order`].
    trace: Option<Candidate>,
}

/// An order with many changes, and its last state.
#[derive(Debug, Clone)]
struct Candidate {
    index: usize,
    changes: u8,
    hours: u8,
    last: Order,
    deleted: bool,
}

impl Candidate {
    fn rank(&self) -> (u8, u8) {
        (self.changes, self.hours)
    }
}

/// Orders with the most changes kept as `trace` candidates: enough that some are not deleted.
const CANDIDATES: usize = 64;

/// Plans every object of the lake, in time order, and hands each to `emit`.
struct Planner {
    generator: OrderGenerator,
    rng: StdRng,
    pending: VecDeque<PlannedOp>,
    states: Vec<OrderState>,
    sequence: u64,
    previous_last_sequence: u64,
    tag: String,
    totals: Totals,
    candidates: Vec<Candidate>,
    /// Once `candidates` is full: the lowest rank among them.
    floor: (u8, u8),
}

impl Planner {
    fn new(args: &Args) -> Planner {
        let tag = format!("syn{}", args.seed);
        Planner {
            generator: OrderGenerator::new(GeneratorConfig {
                seed: Some(args.seed),
                update_ratio: args.update_ratio,
                delete_ratio: args.delete_ratio,
                run_tag: tag.clone(),
            }),
            // Timing and ids from their own stream, so the orders are generate's for a seed.
            rng: StdRng::seed_from_u64(args.seed ^ 0x5eed_1a4e),
            pending: VecDeque::new(),
            states: Vec::new(),
            sequence: 0,
            previous_last_sequence: 0,
            tag,
            totals: Totals::default(),
            candidates: Vec::with_capacity(CANDIDATES),
            floor: (0, 0),
        }
    }

    fn order_index(&self, order: &Order) -> usize {
        let digits = order.order_id.rsplit('-').next().unwrap_or_default();
        digits
            .parse::<usize>()
            .map_or(usize::MAX, |n| n.saturating_sub(1))
    }

    /// The next change of the table, at `at`.
    fn next_change(&mut self, at: DateTime<Utc>, hour_index: u32) -> Change {
        if self.pending.is_empty() {
            self.pending.extend(self.generator.plan_new_order(at));
        }
        let Some(mut op) = self.pending.pop_front() else {
            unreachable!("every plan ends with a new order")
        };
        // The write happens at its slot: the item's timestamps are the slot's.
        let index = self.order_index(&op.order);
        let mut before = None;
        match op.kind {
            OpKind::Insert => {
                op.order.created_at = at;
                op.order.updated_at = at;
                debug_assert_eq!(index, self.states.len());
                self.states.push(OrderState {
                    updated_ms: 0,
                    status: op.order.status,
                    changes: 0,
                    hours: 0,
                    last_hour: u32::MAX,
                });
                self.totals.inserts += 1;
            }
            OpKind::Update => {
                op.order.updated_at = at.max(op.order.updated_at);
                if let Some(state) = self.states.get(index) {
                    let updated = DateTime::from_timestamp_millis(state.updated_ms);
                    before = Some((state.status, updated.unwrap_or(op.order.created_at)));
                }
                self.totals.modifies += 1;
            }
            OpKind::Delete => self.totals.removes += 1,
        }
        if let Some(state) = self.states.get_mut(index) {
            state.updated_ms = op.order.updated_at.timestamp_millis();
            state.status = op.order.status;
            state.changes = state.changes.saturating_add(1);
            if state.last_hour != hour_index {
                state.hours = state.hours.saturating_add(1);
                state.last_hour = hour_index;
            }
            let state = *state;
            self.consider(index, state, &op);
        }
        self.sequence += 1 + self.rng.random_range(0..64u64);
        let change = Change {
            kind: op.kind,
            order: op.order.clone(),
            before,
            event_id: self.rng.random(),
            sequence: self.sequence,
            created: at,
            arrival: at + TimeDelta::milliseconds(self.rng.random_range(ARRIVAL_LATENCY_MS)),
        };
        self.generator.acknowledge(op);
        self.totals.changes += 1;
        change
    }

    /// Keeps `index` among the candidates while it is one of the orders with the most changes
    /// (a candidate's rank only grows, so an order at or below the floor is none).
    fn consider(&mut self, index: usize, state: OrderState, op: &PlannedOp) {
        let rank = (state.changes, state.hours);
        if self.candidates.len() == CANDIDATES && rank <= self.floor {
            return;
        }
        let candidate = Candidate {
            index,
            changes: state.changes,
            hours: state.hours,
            last: op.order.clone(),
            deleted: op.kind == OpKind::Delete,
        };
        if let Some(known) = self.candidates.iter_mut().find(|c| c.index == index) {
            *known = candidate;
        } else if self.candidates.len() < CANDIDATES {
            self.candidates.push(candidate);
        } else if let Some(lowest) = self.candidates.iter_mut().min_by_key(|c| c.rank()) {
            *lowest = candidate;
        }
        if self.candidates.len() == CANDIDATES {
            self.floor = self
                .candidates
                .iter()
                .map(Candidate::rank)
                .min()
                .unwrap_or_default();
        }
    }

    /// The order `trace` is best tried on: of those with the most changes over the most hours,
    /// one still in the table (not deleted), the earliest on ties.
    fn trace_order(&self) -> Option<Candidate> {
        let key = |c: &&Candidate| (!c.deleted, c.changes, c.hours, std::cmp::Reverse(c.index));
        self.candidates.iter().max_by_key(key).cloned()
    }

    /// Every object from the first day's 00:00 to the last day's 23:59, in time order.
    fn run(
        mut self,
        args: &Args,
        first_day: NaiveDate,
        format: LakeFormat,
        mut emit: impl FnMut(ObjectPlan) -> anyhow::Result<()>,
    ) -> anyhow::Result<Totals> {
        let start = first_day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let per_hour = i64::from(args.objects_per_hour);
        let per_object = i64::from(args.changes_per_object);
        let window_ms = 3_600_000 / per_hour;
        let step_ms = (window_ms / per_object).max(1);
        for hour_index in 0..args.days * 24 {
            let hour_start = start + TimeDelta::hours(i64::from(hour_index));
            for object in 0..per_hour {
                let window_start = hour_start + TimeDelta::milliseconds(object * window_ms);
                let mut changes = Vec::with_capacity(per_object as usize);
                for slot in 0..per_object {
                    let offset =
                        (slot * step_ms + self.rng.random_range(0..step_ms)).min(window_ms - 1);
                    let at = window_start + TimeDelta::milliseconds(offset);
                    changes.push(self.next_change(at, hour_index));
                }
                let first_arrival = changes
                    .iter()
                    .map(|c| c.arrival)
                    .min()
                    .unwrap_or(window_start);
                let first_sequence = self.previous_last_sequence;
                let last_sequence = self.sequence;
                self.previous_last_sequence = last_sequence;
                // Named as the relay names a flush: a UUID-shaped id from its stream range.
                let id = uuid_shaped_id(
                    format!("{SHARD}:{first_sequence}:{last_sequence};{}", self.tag).as_bytes(),
                );
                // Firehose dates an object by its oldest record's arrival, as the relay does.
                let partition = PartitionKey::from_datetime(&first_arrival);
                let name = layout::object_name(&args.delivery_stream, first_arrival, &id);
                let key = layout::data_key(partition.dt(), partition.hour(), &name);
                let key = key
                    .strip_prefix(layout::DATA_PREFIX)
                    .unwrap_or(&key)
                    .to_string()
                    + format.extension();
                self.totals.objects += 1;
                emit(ObjectPlan { key, changes })?;
            }
        }
        self.totals.trace = self.trace_order();
        Ok(self.totals)
    }
}

fn attribute(value: AttrValue) -> AttributeValue {
    match value {
        AttrValue::S(text) => AttributeValue::S(text),
        AttrValue::N(digits) => AttributeValue::N(digits),
    }
}

/// DynamoDB's item size: attribute names' and values' lengths.
fn image_size(image: &[(&'static str, AttrValue)]) -> i64 {
    image
        .iter()
        .map(|(name, value)| {
            let value = match value {
                AttrValue::S(text) | AttrValue::N(text) => text.len(),
            };
            (name.len() + value) as i64
        })
        .sum()
}

/// The change as the table's stream hands it to the relay's pipe stage.
fn stream_record(change: &Change, region: &str) -> Record {
    let new = change.order.attributes(Schema::Orders);
    let key = AttributeValue::S(change.order.order_id.clone());
    let mut stream = StreamRecord::builder()
        .approximate_creation_date_time(aws_smithy_types::DateTime::from_secs(
            change.created.timestamp(),
        ))
        .keys(Schema::Orders.key_attribute(), key)
        .sequence_number(format!("1{:020}", change.sequence))
        .stream_view_type(StreamViewType::NewAndOldImages);
    let mut size = image_size(&new);
    let name = match change.kind {
        OpKind::Insert => {
            for (name, value) in new {
                stream = stream.new_image(name, attribute(value));
            }
            OperationType::Insert
        }
        OpKind::Update => {
            let mut old = change.order.clone();
            if let Some((status, updated_at)) = change.before {
                old.status = status;
                old.updated_at = updated_at;
            }
            let old = old.attributes(Schema::Orders);
            size += image_size(&old);
            for (name, value) in new {
                stream = stream.new_image(name, attribute(value));
            }
            for (name, value) in old {
                stream = stream.old_image(name, attribute(value));
            }
            OperationType::Modify
        }
        OpKind::Delete => {
            for (name, value) in new {
                stream = stream.old_image(name, attribute(value));
            }
            OperationType::Remove
        }
    };
    Record::builder()
        .event_id(format!("{:032x}", change.event_id))
        .event_name(name)
        .event_version("1.1")
        .event_source("aws:dynamodb")
        .aws_region(region)
        .dynamodb(stream.size_bytes(size).build())
        .build()
}

/// The object's bytes: the flat rows the transform writes, encoded as `format`.
fn render(
    plan: &ObjectPlan,
    format: LakeFormat,
    region: &str,
    arn: &str,
) -> anyhow::Result<Vec<u8>> {
    let mut transformer = RecordTransformer::new();
    let mut rows = Vec::with_capacity(plan.changes.len() * 480);
    for change in &plan.changes {
        let data = pipe_json(&stream_record(change, region), arn);
        transformer
            .transform_with_arrival(&data, Some(change.arrival), &mut rows)
            .map_err(|e| anyhow::anyhow!("the transform rejected a generated record: {e}"))?;
    }
    match format {
        LakeFormat::Json => Ok(rows),
        LakeFormat::Parquet => salesctl::lake::parquet::encode(&rows),
    }
}

/// Where the objects go.
enum Sink {
    Dir(PathBuf),
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        prefix: String,
    },
}

impl Sink {
    async fn open(args: &Args) -> anyhow::Result<Sink> {
        if let Some(dir) = &args.dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            return Ok(Sink::Dir(dir.clone()));
        }
        let url = args.s3.as_deref().unwrap_or_default();
        let Some(rest) = url.strip_prefix("s3://") else {
            bail!("--s3 {url:?}: expected s3://bucket/prefix/");
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            bail!("--s3 {url:?}: no bucket");
        }
        let prefix = match prefix.trim_matches('/') {
            "" => layout::DATA_PREFIX.to_string(),
            prefix => format!("{prefix}/"),
        };
        let env = |name: &str, default: &str| std::env::var(name).unwrap_or(default.to_string());
        let credentials = aws_sdk_s3::config::Credentials::new(
            env("AWS_ACCESS_KEY_ID", "test"),
            env("AWS_SECRET_ACCESS_KEY", "test"),
            None,
            None,
            "synthetic-lake",
        );
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(&args.endpoint_url)
            .region(aws_sdk_s3::config::Region::new(region()))
            .credentials_provider(credentials)
            .force_path_style(true)
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        if client.head_bucket().bucket(bucket).send().await.is_err() {
            client
                .create_bucket()
                .bucket(bucket)
                .send()
                .await
                .with_context(|| {
                    format!(
                        "cannot create bucket {bucket} at {} (is the emulator running? scripts/local-aws start)",
                        args.endpoint_url
                    )
                })?;
        }
        Ok(Sink::S3 {
            client,
            bucket: bucket.to_string(),
            prefix,
        })
    }

    async fn put(&self, key: String, body: Vec<u8>) -> anyhow::Result<()> {
        match self {
            Sink::Dir(dir) => {
                let path = dir.join(&key);
                tokio::task::spawn_blocking(move || {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    std::fs::write(&path, body)
                        .with_context(|| format!("cannot write {}", path.display()))
                })
                .await?
            }
            Sink::S3 {
                client,
                bucket,
                prefix,
            } => {
                let key = format!("{prefix}{key}");
                client
                    .put_object()
                    .bucket(bucket)
                    .key(&key)
                    .body(body.into())
                    .send()
                    .await
                    .with_context(|| format!("cannot write s3://{bucket}/{key}"))?;
                Ok(())
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Sink::Dir(dir) => dir.display().to_string(),
            Sink::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

fn region() -> String {
    std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_string())
}

async fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    if args.update_ratio < 0.0
        || args.delete_ratio < 0.0
        || args.update_ratio + args.delete_ratio >= 1.0
    {
        bail!("--update-ratio and --delete-ratio must be at least 0 and add up to less than 1");
    }
    let end = args
        .end
        .unwrap_or_else(|| Utc::now().date_naive() - Days::new(1));
    let first_day = end - Days::new(u64::from(args.days - 1));
    let format = args.format;
    let sink = Arc::new(Sink::open(&args).await?);
    let concurrency = args.concurrency.unwrap_or(match *sink {
        Sink::Dir(_) => 2 * std::thread::available_parallelism().map_or(2, |n| n.get()),
        Sink::S3 { .. } => 32,
    });
    let region = Arc::new(region());
    let arn = Arc::new(format!(
        "arn:aws:dynamodb:{region}:{ACCOUNT}:table/{TABLE}/stream/{first_day}T00:00:00.000"
    ));

    // The planner runs on its own thread (it is sequential: one generator); the objects are
    // rendered, encoded and written concurrently.
    let (sender, receiver) = tokio::sync::mpsc::channel::<ObjectPlan>(4 * concurrency.max(1));
    let planner = std::thread::spawn(move || {
        Planner::new(&args).run(&args, first_day, format, |plan| {
            sender
                .blocking_send(plan)
                .map_err(|_| anyhow::anyhow!("the writers stopped"))
        })
    });
    let plans = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|plan| (plan, receiver))
    });
    let written = plans
        .map(|plan| {
            let (sink, region, arn) = (sink.clone(), region.clone(), arn.clone());
            async move {
                let key = plan.key.clone();
                let body =
                    tokio::task::spawn_blocking(move || render(&plan, format, &region, &arn))
                        .await??;
                let bytes = body.len() as u64;
                sink.put(key, body).await?;
                anyhow::Ok(bytes)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_fold(0u64, |total, bytes| async move { Ok(total + bytes) })
        .await;
    let planned = planner
        .join()
        .map_err(|_| anyhow::anyhow!("the planner panicked"))?;
    let bytes = written?;
    let totals = planned?;
    let trace = totals.trace.as_ref();
    println!(
        "synthetic_lake: objects={} changes={} insert={} modify={} remove={} bytes={bytes} format={format} \
         days={} first_day={first_day} last_day={end} seconds={:.2} target={} trace_order={} \
         trace_order_changes={} trace_order_hours={} trace_order_deleted={}",
        totals.objects,
        totals.changes,
        totals.inserts,
        totals.modifies,
        totals.removes,
        end.signed_duration_since(first_day).num_days() + 1,
        started.elapsed().as_secs_f64(),
        sink.describe(),
        trace.map_or("", |t| t.last.order_id.as_str()),
        trace.map_or(0, |t| t.changes),
        trace.map_or(0, |t| t.hours),
        trace.is_some_and(|t| t.deleted),
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

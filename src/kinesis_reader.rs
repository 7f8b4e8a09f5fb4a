//! A lineage-aware multi-shard reader for Kinesis (and, through `stream_source`, DynamoDB
//! Streams): every shard concurrently, parents before children, every record once.
//!
//! Each readable shard gets a task that follows its iterator chain and sends pages to one
//! coordinator ([`ShardReader::next`]). A shard is finished when the service returns no next
//! iterator (AWS) or when its `EndingSequenceNumber` has been reached (the emulator never
//! returns a null iterator for a closed shard). When a shard finishes the shard list is read
//! again, and any shard whose parents are all finished (or gone past retention) starts from
//! its trim horizon, which is what makes a split or merge lose and repeat nothing. While
//! following, the list is also re-read periodically, because an open shard that gets split
//! only shows its `EndingSequenceNumber` in a fresh listing.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::types::ShardIteratorType;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::aws::{describe, jittered_backoff};
use crate::checkpoint::Checkpoint;
use crate::error::service_error;
use crate::stream_source::DynamoDbStream;

/// Kinesis' maximum page; fewer calls means fewer round trips on a backlog.
const KINESIS_PAGE: i32 = 10_000;
/// Kinesis allows five GetRecords calls per second per shard.
const KINESIS_MIN_CALL_GAP: Duration = Duration::from_millis(200);
/// Pages buffered between the shard tasks and the output, per reader.
const CHANNEL_PAGES: usize = 8;

/// Where reading starts in shards that have no stored position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPosition {
    TrimHorizon,
    Latest,
    AtTimestamp(DateTime<Utc>),
}

/// Where one shard's iterator starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IteratorStart {
    TrimHorizon,
    Latest,
    AtTimestamp(DateTime<Utc>),
    AfterSequence(String),
}

/// A shard as the listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    pub id: String,
    pub parent: Option<String>,
    pub adjacent_parent: Option<String>,
    /// Set once the shard is closed (split, merged or its stream's DynamoDB shard rolled over).
    pub ending_sequence: Option<String>,
}

/// One record as read from a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub sequence_number: String,
    pub data: Vec<u8>,
    /// Arrival time in the stream (Kinesis) or the change's creation time (DynamoDB Streams).
    pub arrival: Option<DateTime<Utc>>,
}

/// One GetRecords answer.
#[derive(Debug, Default)]
pub struct Page {
    pub records: Vec<RawRecord>,
    pub next_iterator: Option<String>,
    pub millis_behind: Option<i64>,
}

/// Why a call failed, sorted by what the reader does about it.
#[derive(Debug)]
pub enum SourceError {
    /// Back off with jitter and try again.
    Throttled(String),
    /// Get a new iterator from the last sequence number read.
    ExpiredIterator,
    /// The shard or its data is gone (trimmed past retention, or deleted).
    Gone(String),
    /// The stream does not exist.
    StreamNotFound(String),
    Other(String),
}

impl SourceError {
    /// Sorts an SDK error by its error code.
    pub fn from_sdk<E>(error: &E) -> SourceError
    where
        E: ProvideErrorMetadata + std::error::Error,
    {
        let text = describe(error);
        match error.code().map(classify_code) {
            Some(ErrorKind::Throttled) => SourceError::Throttled(text),
            Some(ErrorKind::ExpiredIterator) => SourceError::ExpiredIterator,
            Some(ErrorKind::Gone) => SourceError::Gone(text),
            Some(ErrorKind::NotFound) => SourceError::StreamNotFound(text),
            _ => SourceError::Other(text),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Throttled,
    ExpiredIterator,
    Gone,
    NotFound,
    Other,
}

/// What an error code of Kinesis or DynamoDB Streams means for a reader.
pub fn classify_code(code: &str) -> ErrorKind {
    match code {
        "ProvisionedThroughputExceededException"
        | "LimitExceededException"
        | "ThrottlingException"
        | "Throttling"
        | "KMSThrottlingException"
        | "RequestLimitExceeded"
        | "SlowDown"
        | "ServiceUnavailable"
        | "InternalFailure"
        | "InternalServerError" => ErrorKind::Throttled,
        "ExpiredIteratorException" => ErrorKind::ExpiredIterator,
        "TrimmedDataAccessException" => ErrorKind::Gone,
        "ResourceNotFoundException" => ErrorKind::NotFound,
        _ => ErrorKind::Other,
    }
}

/// The iterator to ask for after an expired one: right after the last record read, or the
/// original start when nothing was read yet.
pub fn renewal_start(last_sequence: Option<&str>, original: &IteratorStart) -> IteratorStart {
    match last_sequence {
        Some(sequence) => IteratorStart::AfterSequence(sequence.to_owned()),
        None => original.clone(),
    }
}

/// Compares two sequence numbers (decimal strings of up to 128 bits) numerically.
pub fn sequence_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A full-jitter exponential backoff: random in [cap/2, cap], cap = 100 ms * 2^attempt, at
/// most 10 s, so throttled shards spread their retries instead of retrying in step.
pub fn backoff(attempt: u32) -> Duration {
    jittered_backoff(Duration::from_millis(100), Duration::from_secs(10), attempt)
}

/// The service a reader reads from.
#[derive(Clone)]
pub enum Source {
    Kinesis {
        client: aws_sdk_kinesis::Client,
        stream: String,
    },
    DynamoDbStream(DynamoDbStream),
}

impl Source {
    /// Names the stream in checkpoints: `kinesis:<name>` or `dynamodb-stream:<arn>`.
    pub fn checkpoint_key(&self) -> String {
        match self {
            Source::Kinesis { stream, .. } => format!("kinesis:{stream}"),
            Source::DynamoDbStream(stream) => format!("dynamodb-stream:{}", stream.arn()),
        }
    }

    fn min_call_gap(&self) -> Duration {
        match self {
            Source::Kinesis { .. } => KINESIS_MIN_CALL_GAP,
            Source::DynamoDbStream(_) => crate::stream_source::MIN_CALL_GAP,
        }
    }

    /// DynamoDB Streams has no AT_TIMESTAMP iterator: such reads start at the trim horizon
    /// and skip older records.
    fn supports_timestamps(&self) -> bool {
        matches!(self, Source::Kinesis { .. })
    }

    pub async fn list_shards(&self) -> Result<Vec<ShardInfo>, SourceError> {
        match self {
            Source::Kinesis { client, stream } => list_kinesis_shards(client, stream).await,
            Source::DynamoDbStream(source) => source.list_shards().await,
        }
    }

    pub async fn shard_iterator(
        &self,
        shard_id: &str,
        start: &IteratorStart,
    ) -> Result<Option<String>, SourceError> {
        match self {
            Source::Kinesis { client, stream } => {
                let mut request = client
                    .get_shard_iterator()
                    .stream_name(stream)
                    .shard_id(shard_id);
                request = match start {
                    IteratorStart::TrimHorizon => {
                        request.shard_iterator_type(ShardIteratorType::TrimHorizon)
                    }
                    IteratorStart::Latest => request.shard_iterator_type(ShardIteratorType::Latest),
                    IteratorStart::AtTimestamp(at) => request
                        .shard_iterator_type(ShardIteratorType::AtTimestamp)
                        .timestamp(aws_smithy_types::DateTime::from_millis(
                            at.timestamp_millis(),
                        )),
                    IteratorStart::AfterSequence(sequence) => request
                        .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                        .starting_sequence_number(sequence),
                };
                let output = request
                    .send()
                    .await
                    .map_err(|e| SourceError::from_sdk(&e))?;
                Ok(output.shard_iterator)
            }
            Source::DynamoDbStream(source) => source.shard_iterator(shard_id, start).await,
        }
    }

    pub async fn get_records(&self, iterator: &str) -> Result<Page, SourceError> {
        match self {
            Source::Kinesis { client, .. } => {
                let output = client
                    .get_records()
                    .shard_iterator(iterator)
                    .limit(KINESIS_PAGE)
                    .send()
                    .await
                    .map_err(|e| SourceError::from_sdk(&e))?;
                let records = output
                    .records
                    .into_iter()
                    .map(|record| RawRecord {
                        arrival: record
                            .approximate_arrival_timestamp
                            .and_then(|t| DateTime::from_timestamp_millis(t.to_millis().ok()?)),
                        sequence_number: record.sequence_number,
                        data: record.data.into_inner(),
                    })
                    .collect();
                Ok(Page {
                    records,
                    next_iterator: output.next_shard_iterator,
                    millis_behind: output.millis_behind_latest,
                })
            }
            Source::DynamoDbStream(source) => source.get_records(iterator).await,
        }
    }
}

async fn list_kinesis_shards(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
) -> Result<Vec<ShardInfo>, SourceError> {
    let mut shards = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        // With a next token the stream name must be left out.
        let request = match &next_token {
            Some(token) => client.list_shards().next_token(token),
            None => client.list_shards().stream_name(stream),
        };
        let output = request
            .send()
            .await
            .map_err(|e| SourceError::from_sdk(&e))?;
        for shard in output.shards.unwrap_or_default() {
            shards.push(ShardInfo {
                ending_sequence: shard
                    .sequence_number_range
                    .and_then(|r| r.ending_sequence_number),
                id: shard.shard_id,
                parent: shard.parent_shard_id,
                adjacent_parent: shard.adjacent_parent_shard_id,
            });
        }
        match output.next_token {
            Some(token) if !token.is_empty() => next_token = Some(token),
            _ => return Ok(shards),
        }
    }
}

/// How a [`ShardReader`] reads.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    pub start: StartPosition,
    /// Keep polling; without it every shard is read until caught up, then the reader ends.
    pub follow: bool,
    /// How long an idle shard waits before polling again.
    pub idle_poll: Duration,
    /// How often the shard list is re-read while following.
    pub relist_every: Duration,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            start: StartPosition::TrimHorizon,
            follow: false,
            idle_poll: Duration::from_secs(1),
            relist_every: Duration::from_secs(2),
        }
    }
}

/// What the reader hands out.
#[derive(Debug)]
pub enum ReaderEvent {
    /// Records of one shard, in shard order.
    Records {
        shard_id: Arc<str>,
        records: Vec<RawRecord>,
    },
    /// A closed shard was read to its end.
    ShardFinished(String),
    /// Not following, and every shard is finished or caught up.
    CaughtUp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShardState {
    /// Waiting for its parents to finish.
    Waiting,
    Reading,
    /// Read to the end of its open part (not following).
    CaughtUp,
    Finished,
}

struct ShardEntry {
    info: ShardInfo,
    state: ShardState,
    /// Where its iterator starts when its turn comes.
    start: IteratorStart,
}

enum TaskEvent {
    Records {
        shard_id: Arc<str>,
        records: Vec<RawRecord>,
    },
    Finished(String),
    CaughtUp(String),
    Failed(anyhow::Error),
}

/// The latest known `EndingSequenceNumber` of each shard, shared with the shard tasks.
type Endings = Arc<Mutex<HashMap<String, String>>>;

pub struct ShardReader {
    source: Source,
    options: ReaderOptions,
    shards: BTreeMap<String, ShardEntry>,
    /// Stored positions (checkpoint) and whether a checkpoint was resumed.
    stored: HashMap<String, String>,
    resumed: bool,
    endings: Endings,
    tx: mpsc::Sender<TaskEvent>,
    rx: mpsc::Receiver<TaskEvent>,
    tasks: JoinSet<()>,
    running: usize,
    next_relist: Instant,
    started: bool,
}

impl ShardReader {
    /// A reader of `source`; positions stored in `checkpoint` win over `options.start`.
    pub fn new(
        source: Source,
        options: ReaderOptions,
        checkpoint: Option<&Checkpoint>,
    ) -> ShardReader {
        let (tx, rx) = mpsc::channel(CHANNEL_PAGES);
        let mut stored = HashMap::new();
        let mut shards = BTreeMap::new();
        let resumed = checkpoint.is_some_and(Checkpoint::resumed);
        if let Some(checkpoint) = checkpoint {
            for (shard_id, position) in checkpoint.positions() {
                if position.finished {
                    let info = ShardInfo {
                        id: shard_id.to_owned(),
                        parent: None,
                        adjacent_parent: None,
                        ending_sequence: None,
                    };
                    let entry = ShardEntry {
                        info,
                        state: ShardState::Finished,
                        start: IteratorStart::TrimHorizon,
                    };
                    shards.insert(shard_id.to_owned(), entry);
                } else if let Some(sequence) = &position.sequence_number {
                    stored.insert(shard_id.to_owned(), sequence.clone());
                }
            }
        }
        ShardReader {
            source,
            next_relist: Instant::now() + options.relist_every,
            options,
            shards,
            stored,
            resumed,
            endings: Arc::new(Mutex::new(HashMap::new())),
            tx,
            rx,
            tasks: JoinSet::new(),
            running: 0,
            started: false,
        }
    }

    /// Shards known, and how many are being read now.
    pub fn shard_counts(&self) -> (usize, usize) {
        (self.shards.len(), self.running)
    }

    /// The next event. Errors are final (a stream that vanished, a call that keeps failing).
    pub async fn next(&mut self) -> anyhow::Result<ReaderEvent> {
        if !self.started {
            self.started = true;
            self.refresh(true).await?;
        }
        loop {
            if self.running == 0 && !self.options.follow {
                return Ok(ReaderEvent::CaughtUp);
            }
            let relist_at = self.next_relist;
            let event = tokio::select! {
                event = self.rx.recv() => event,
                () = tokio::time::sleep_until(relist_at), if self.options.follow => {
                    self.refresh(false).await?;
                    continue;
                }
            };
            // The reader holds a sender itself, so the channel never closes while it lives.
            let Some(event) = event else { continue };
            match event {
                TaskEvent::Records { shard_id, records } => {
                    return Ok(ReaderEvent::Records { shard_id, records });
                }
                TaskEvent::CaughtUp(shard_id) => {
                    self.running = self.running.saturating_sub(1);
                    self.set_state(&shard_id, ShardState::CaughtUp);
                }
                TaskEvent::Finished(shard_id) => {
                    tracing::info!("finished shard {shard_id}");
                    self.running = self.running.saturating_sub(1);
                    self.set_state(&shard_id, ShardState::Finished);
                    // Its children are in the listing now (and AWS may have just created them).
                    self.refresh(false).await?;
                    return Ok(ReaderEvent::ShardFinished(shard_id));
                }
                TaskEvent::Failed(error) => return Err(error),
            }
        }
    }

    fn set_state(&mut self, shard_id: &str, state: ShardState) {
        if let Some(entry) = self.shards.get_mut(shard_id) {
            entry.state = state;
        }
    }

    /// Re-reads the shard list, records endings, and starts every shard whose turn has come.
    async fn refresh(&mut self, initial: bool) -> anyhow::Result<()> {
        self.next_relist = Instant::now() + self.options.relist_every;
        let listed = match self.source.list_shards().await {
            Ok(listed) => listed,
            Err(SourceError::StreamNotFound(_)) => {
                return Err(service_error(self.not_found_message()));
            }
            Err(SourceError::Throttled(text)) if !initial => {
                tracing::debug!("listing shards throttled ({text}); trying again later");
                return Ok(());
            }
            Err(
                SourceError::Throttled(text) | SourceError::Gone(text) | SourceError::Other(text),
            ) => {
                return Err(service_error(format!(
                    "cannot list the shards of {}: {text}",
                    self.source_name()
                )));
            }
            Err(SourceError::ExpiredIterator) => return Ok(()),
        };
        {
            let mut endings = self.endings.lock().unwrap_or_else(|p| p.into_inner());
            for shard in &listed {
                if let Some(ending) = &shard.ending_sequence {
                    endings.insert(shard.id.clone(), ending.clone());
                }
            }
        }
        for shard in listed {
            match self.shards.get_mut(&shard.id) {
                Some(entry) => entry.info = shard,
                None => {
                    // A shard absent from the first listing was created by a split or merge
                    // during this run: all of it is new, so it is read from its start.
                    let start = if initial {
                        self.initial_start(&shard)
                    } else {
                        Some(
                            self.stored_start(&shard.id)
                                .unwrap_or(IteratorStart::TrimHorizon),
                        )
                    };
                    let state = if start.is_some() {
                        ShardState::Waiting
                    } else {
                        ShardState::Finished
                    };
                    let start = start.unwrap_or(IteratorStart::TrimHorizon);
                    self.shards.insert(
                        shard.id.clone(),
                        ShardEntry {
                            info: shard,
                            state,
                            start,
                        },
                    );
                }
            }
        }
        self.start_ready();
        Ok(())
    }

    fn stored_start(&self, shard_id: &str) -> Option<IteratorStart> {
        self.stored
            .get(shard_id)
            .map(|sequence| IteratorStart::AfterSequence(sequence.clone()))
    }

    /// Where a shard of the first listing starts, or `None` to skip it.
    fn initial_start(&self, shard: &ShardInfo) -> Option<IteratorStart> {
        if let Some(start) = self.stored_start(&shard.id) {
            return Some(start);
        }
        if self.resumed {
            // Not in the checkpoint: nothing of it was shown yet.
            return Some(IteratorStart::TrimHorizon);
        }
        match self.options.start {
            StartPosition::TrimHorizon => Some(IteratorStart::TrimHorizon),
            // "From now" means the open shards only: a closed shard has nothing new.
            StartPosition::Latest if shard.ending_sequence.is_some() => None,
            StartPosition::Latest => Some(IteratorStart::Latest),
            StartPosition::AtTimestamp(at) => Some(IteratorStart::AtTimestamp(at)),
        }
    }

    fn start_ready(&mut self) {
        let ready: Vec<(String, IteratorStart)> = self
            .shards
            .iter()
            .filter(|(_, entry)| {
                entry.state == ShardState::Waiting && self.parents_done(&entry.info)
            })
            .map(|(id, entry)| (id.clone(), entry.start.clone()))
            .collect();
        for (shard_id, start) in ready {
            self.spawn(shard_id, start);
        }
    }

    fn parents_done(&self, info: &ShardInfo) -> bool {
        [&info.parent, &info.adjacent_parent]
            .into_iter()
            .flatten()
            .all(|parent| {
                // A parent missing from the listing is past retention: nothing left to read first.
                self.shards
                    .get(parent)
                    .is_none_or(|entry| entry.state == ShardState::Finished)
            })
    }

    fn spawn(&mut self, shard_id: String, start: IteratorStart) {
        self.set_state(&shard_id, ShardState::Reading);
        self.running += 1;
        tracing::info!("reading shard {shard_id} from {start:?}");
        let task = ShardTask {
            source: self.source.clone(),
            shard_id: Arc::from(shard_id.as_str()),
            start,
            follow: self.options.follow,
            idle_poll: self.options.idle_poll,
            not_before: match self.options.start {
                StartPosition::AtTimestamp(at) if !self.source.supports_timestamps() => Some(at),
                _ => None,
            },
            endings: self.endings.clone(),
            tx: self.tx.clone(),
        };
        self.tasks.spawn(task.run());
    }

    fn source_name(&self) -> String {
        match &self.source {
            Source::Kinesis { stream, .. } => format!("Kinesis stream '{stream}'"),
            Source::DynamoDbStream(stream) => format!("DynamoDB stream {}", stream.arn()),
        }
    }

    fn not_found_message(&self) -> String {
        match &self.source {
            Source::Kinesis { stream, .. } => {
                format!(
                    "Kinesis stream '{stream}' not found: run 'salesctl up' or pass --stream NAME"
                )
            }
            Source::DynamoDbStream(stream) => format!(
                "DynamoDB stream {} not found: check that the table's stream is enabled, or pass --table NAME",
                stream.arn()
            ),
        }
    }
}

struct ShardTask {
    source: Source,
    shard_id: Arc<str>,
    start: IteratorStart,
    follow: bool,
    idle_poll: Duration,
    not_before: Option<DateTime<Utc>>,
    endings: Endings,
    tx: mpsc::Sender<TaskEvent>,
}

/// What a page means for the shard it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOutcome {
    /// More may come: poll again (after `idle` when nothing was new).
    Continue { idle: bool },
    /// A closed shard read to its end.
    Finished,
    /// An open shard read to its tip (matters only when not following).
    CaughtUp,
}

/// Decides what a page means: no next iterator, or a closed shard whose ending sequence
/// number was reached (or that has nothing more), is finished; an empty page that is not
/// behind is caught up.
pub fn page_outcome(
    has_next_iterator: bool,
    record_count: usize,
    millis_behind: Option<i64>,
    last_sequence: Option<&str>,
    ending_sequence: Option<&str>,
) -> PageOutcome {
    if !has_next_iterator {
        return PageOutcome::Finished;
    }
    let at_tip = record_count == 0 && millis_behind.unwrap_or(0) == 0;
    if let Some(ending) = ending_sequence {
        let reached = last_sequence
            .is_some_and(|last| sequence_cmp(last, ending) != std::cmp::Ordering::Less);
        if reached || at_tip {
            return PageOutcome::Finished;
        }
    }
    if at_tip {
        PageOutcome::CaughtUp
    } else {
        PageOutcome::Continue {
            idle: record_count == 0,
        }
    }
}

impl ShardTask {
    async fn run(self) {
        let event = match self.read().await {
            Ok(event) => event,
            Err(error) => TaskEvent::Failed(error),
        };
        let _ = self.tx.send(event).await;
    }

    async fn read(&self) -> anyhow::Result<TaskEvent> {
        let shard_id = self.shard_id.to_string();
        let mut last_sequence: Option<String> = match &self.start {
            IteratorStart::AfterSequence(sequence) => Some(sequence.clone()),
            _ => None,
        };
        let mut throttled = 0u32;
        let mut iterator = match self.iterator(&self.start).await? {
            Some(iterator) => iterator,
            None => return Ok(TaskEvent::Finished(shard_id)),
        };
        let gap = self.source.min_call_gap();
        let mut last_call = Instant::now() - gap;
        loop {
            tokio::time::sleep_until(last_call + gap).await;
            last_call = Instant::now();
            let page = match self.source.get_records(&iterator).await {
                Ok(page) => page,
                Err(SourceError::Throttled(text)) => {
                    tracing::debug!("{shard_id}: throttled ({text}), backing off");
                    tokio::time::sleep(backoff(throttled)).await;
                    throttled = throttled.saturating_add(1);
                    continue;
                }
                Err(SourceError::ExpiredIterator) => {
                    tracing::info!(
                        "{shard_id}: iterator expired, renewing after {last_sequence:?}"
                    );
                    let renewed = renewal_start(last_sequence.as_deref(), &self.start);
                    match self.iterator(&renewed).await? {
                        Some(fresh) => iterator = fresh,
                        None => return Ok(TaskEvent::Finished(shard_id)),
                    }
                    continue;
                }
                Err(SourceError::Gone(text)) => {
                    tracing::warn!("{shard_id}: {text}; treating the shard as finished");
                    return Ok(TaskEvent::Finished(shard_id));
                }
                Err(SourceError::StreamNotFound(text) | SourceError::Other(text)) => {
                    return Err(service_error(format!(
                        "cannot read shard {shard_id}: {text}"
                    )));
                }
            };
            throttled = 0;
            let count = page.records.len();
            if let Some(last) = page.records.last() {
                last_sequence = Some(last.sequence_number.clone());
            }
            let ending = self
                .endings
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&shard_id)
                .cloned();
            let outcome = page_outcome(
                page.next_iterator.is_some(),
                count,
                page.millis_behind,
                last_sequence.as_deref(),
                ending.as_deref(),
            );
            let mut records = page.records;
            if let Some(not_before) = self.not_before {
                records.retain(|r| r.arrival.is_none_or(|at| at >= not_before));
            }
            if !records.is_empty() {
                let event = TaskEvent::Records {
                    shard_id: self.shard_id.clone(),
                    records,
                };
                if self.tx.send(event).await.is_err() {
                    return Ok(TaskEvent::CaughtUp(shard_id));
                }
            }
            match outcome {
                PageOutcome::Finished => return Ok(TaskEvent::Finished(shard_id)),
                PageOutcome::CaughtUp if !self.follow => return Ok(TaskEvent::CaughtUp(shard_id)),
                PageOutcome::CaughtUp | PageOutcome::Continue { idle: true } => {
                    tokio::time::sleep(self.idle_poll).await;
                }
                PageOutcome::Continue { idle: false } => {}
            }
            if let Some(next) = page.next_iterator {
                iterator = next;
            }
        }
    }

    async fn iterator(&self, start: &IteratorStart) -> anyhow::Result<Option<String>> {
        let mut attempt = 0u32;
        loop {
            match self.source.shard_iterator(&self.shard_id, start).await {
                Ok(iterator) => return Ok(iterator),
                Err(SourceError::Throttled(_)) => {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt = attempt.saturating_add(1);
                }
                Err(SourceError::Gone(_)) => return Ok(None),
                Err(SourceError::ExpiredIterator) => return Ok(None),
                Err(SourceError::StreamNotFound(text) | SourceError::Other(text)) => {
                    return Err(service_error(format!(
                        "cannot read shard {}: {text}",
                        self.shard_id
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert_eq!(sequence_cmp("9", "10"), Ordering::Less);
        assert_eq!(sequence_cmp("0010", "10"), Ordering::Equal);
        assert_eq!(
            sequence_cmp(
                "49590338271490256608559692538361571095921575989136588898",
                "49590338271490256608559692538361571095921575989136588899"
            ),
            Ordering::Less
        );
        assert_eq!(sequence_cmp("0", "0"), Ordering::Equal);
    }

    #[test]
    fn closed_shard_ends_at_its_ending_sequence_number() {
        // The emulator: iterator never null, ending sequence number 5.
        assert_eq!(
            page_outcome(true, 5, Some(0), Some("5"), Some("5")),
            PageOutcome::Finished
        );
        assert_eq!(
            page_outcome(true, 3, Some(0), Some("3"), Some("5")),
            PageOutcome::Continue { idle: false }
        );
        // A closed shard with nothing (moto moves a split parent's records to its children).
        assert_eq!(
            page_outcome(true, 0, Some(0), None, Some("0")),
            PageOutcome::Finished
        );
        // AWS: no next iterator.
        assert_eq!(
            page_outcome(false, 2, Some(0), Some("7"), None),
            PageOutcome::Finished
        );
        // Open shards.
        assert_eq!(
            page_outcome(true, 0, Some(0), Some("7"), None),
            PageOutcome::CaughtUp
        );
        assert_eq!(
            page_outcome(true, 0, Some(1200), Some("7"), None),
            PageOutcome::Continue { idle: true }
        );
        assert_eq!(
            page_outcome(true, 10, Some(0), Some("7"), None),
            PageOutcome::Continue { idle: false }
        );
    }

    #[test]
    fn errors_sort_by_code() {
        assert_eq!(
            classify_code("ProvisionedThroughputExceededException"),
            ErrorKind::Throttled
        );
        assert_eq!(
            classify_code("LimitExceededException"),
            ErrorKind::Throttled
        );
        assert_eq!(
            classify_code("ExpiredIteratorException"),
            ErrorKind::ExpiredIterator
        );
        assert_eq!(classify_code("TrimmedDataAccessException"), ErrorKind::Gone);
        assert_eq!(
            classify_code("ResourceNotFoundException"),
            ErrorKind::NotFound
        );
        assert_eq!(classify_code("ValidationException"), ErrorKind::Other);
    }

    #[test]
    fn expired_iterator_resumes_after_the_last_record() {
        assert_eq!(
            renewal_start(Some("41"), &IteratorStart::TrimHorizon),
            IteratorStart::AfterSequence("41".into())
        );
        assert_eq!(
            renewal_start(None, &IteratorStart::Latest),
            IteratorStart::Latest
        );
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        for attempt in 0..20 {
            let wait = backoff(attempt);
            let cap = Duration::from_millis(100)
                .saturating_mul(1 << attempt.min(7))
                .min(Duration::from_secs(10));
            assert!(wait >= cap / 2 && wait <= cap, "{attempt}: {wait:?}");
        }
    }
}

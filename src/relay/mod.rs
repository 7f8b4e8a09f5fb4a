//! The two managed stages run in-process for local mode: the pipe stage (DynamoDB stream ->
//! Kinesis, Pipe format) and the firehose stage (Kinesis -> transform -> S3).
//!
//! Both read through the shared stream layer; what is the relay's own is putting records in
//! order, buffering like Firehose, and flushing so that every change reaches the lake once:
//! one relay per stack (a lock), pipe positions saved after each acknowledged PutRecords
//! (copies re-put after a crash are dropped by fingerprint), and every flush written ahead
//! to a spool, so a flush cut short is redone with the same objects.
//!
//! And it tells the truth about a run: a drain whose piped records did not all reach the
//! lake or `errors/` says so ([`RelayReport::undelivered`]). On the emulator, a shard the
//! firehose stage read to its end may still grow (moto keeps routing PutRecords to a split
//! shard's parent, DESIGN.md §6), so such a shard is read again past where it ended.

pub mod batch;
pub mod kinesis_put;
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::aws::{Clients, ServiceResultExt};
use crate::error::service_error;
use crate::lake::Lake;
use crate::relay::batch::{Batch, Incoming, Transformed};
use crate::relay::state::{
    FirehoseState, PendingFlush, PipeState, SpooledObject, StackIdentity, StateStore,
    default_state_dir, stack_lock_path,
};
use crate::settings::Settings;
use crate::stream::dynamodb::DynamoDbStream;
use crate::stream::kinesis::KinesisStream;
use crate::stream::reader::{ReaderEvent, ReaderOptions, ShardReader};
use crate::stream::{
    RawRecord, ShardInfo, SourceError, StartPosition, StreamSource, sequence_cmp,
    sleep_until_or_forever,
};
use salesctl_core::lake_schema::LakeFormat;
use salesctl_core::transform::RecordTransformer;

#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Process what is there now, flush, and return.
    pub drain: bool,
    /// The stack's state directory (default: [`state::default_state_dir`] under `state_root`).
    pub state_dir: Option<PathBuf>,
    /// The root of every stack's relay state, as the context resolved it; the stack's lock
    /// ([`state::stack_lock_path`]) is under it whatever `state_dir` says.
    pub state_root: Option<PathBuf>,
    pub buffer_bytes: usize,
    pub buffer_age: Duration,
    /// How long an idle shard waits before polling again.
    pub poll: Duration,
    /// Which stages run: both, or one alone (to see or test one stage in isolation).
    pub stages: Stages,
    /// How the firehose stage encodes the data objects it writes (error objects are always
    /// JSON lines, as Firehose writes them).
    pub lake_format: LakeFormat,
}

/// The relay's stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stages {
    #[default]
    Both,
    /// DynamoDB stream -> Kinesis only.
    Pipe,
    /// Kinesis -> transform -> S3 only.
    Firehose,
}

/// How often a following relay on the emulator looks for shards that grew past their end.
const GROWTH_CHECK_EVERY: Duration = Duration::from_secs(2);

/// What one run did (and, in the totals, all runs of this stack's relay).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RelayReport {
    pub piped: u64,
    pub rows: u64,
    pub failed: u64,
    pub duplicates_dropped: u64,
    pub objects: u64,
    pub flushes: u64,
    pub total_piped: u64,
    pub totals: state::Totals,
    /// Stopped by Ctrl-C before the work was done.
    pub interrupted: bool,
    /// Records piped this run that the firehose stage did not read, so they reached neither
    /// the lake nor `errors/` (checked when a drain ran both stages; 0 otherwise).
    pub undelivered: u64,
    /// The Kinesis shards those records are in.
    pub undelivered_shards: Vec<String>,
}

/// One Kinesis shard in this run: what the pipe stage put into it, what the firehose stage
/// read of it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct ShardTally {
    piped: u64,
    first_piped: Option<String>,
    last_piped: Option<String>,
    /// Records read at or after the first one piped (the piped ones, unless another writer
    /// put records in between).
    read_since_piped: u64,
    last_read: Option<String>,
}

impl ShardTally {
    fn piped(&mut self, sequence_number: &str) {
        self.piped += 1;
        self.first_piped
            .get_or_insert_with(|| sequence_number.to_string());
        if self
            .last_piped
            .as_deref()
            .is_none_or(|last| sequence_cmp(sequence_number, last).is_gt())
        {
            self.last_piped = Some(sequence_number.to_string());
        }
    }

    fn read(&mut self, sequence_number: &str) {
        if self
            .first_piped
            .as_deref()
            .is_some_and(|first| sequence_cmp(sequence_number, first).is_ge())
        {
            self.read_since_piped += 1;
        }
        if self
            .last_read
            .as_deref()
            .is_none_or(|last| sequence_cmp(sequence_number, last).is_gt())
        {
            self.last_read = Some(sequence_number.to_string());
        }
    }

    /// Piped records the firehose stage never read: none once it read past the last one
    /// piped; otherwise those not read (at least one).
    fn unread(&self) -> u64 {
        let Some(last_piped) = self.last_piped.as_deref() else {
            return 0;
        };
        let read_all = self
            .last_read
            .as_deref()
            .is_some_and(|read| sequence_cmp(read, last_piped).is_ge());
        if read_all {
            0
        } else {
            self.piped.saturating_sub(self.read_since_piped).max(1)
        }
    }
}

/// Told the run's counts after every step.
type ProgressHook<'a> = Box<dyn FnMut(&RelayReport) + 'a>;

pub struct Relay<'a> {
    clients: &'a Clients,
    options: RelayOptions,
    firehose_name: String,
    lake: Lake,
    table_stream: DynamoDbStream,
    kinesis: KinesisStream,
    store: StateStore,
    pipe: PipeState,
    firehose: FirehoseState,
    /// Closed Kinesis shards read to their end since the last flush.
    finished_since_flush: BTreeSet<String>,
    batch: Batch,
    report: RelayReport,
    /// Reused for every record: it keeps its decode buffers warm.
    transformer: RecordTransformer,
    /// Told the counts after each step, for a progress display.
    progress: Option<ProgressHook<'a>>,
    /// Per Kinesis shard: what this run piped into it and read of it.
    tallies: BTreeMap<String, ShardTally>,
    /// The endpoint is the emulator, whose closed shards can grow.
    emulator: bool,
    /// When a following relay next looks for shards that grew past their end.
    next_growth_check: Instant,
}

impl<'a> Relay<'a> {
    /// Finds the table's stream, the Kinesis stream and the bucket, takes the stack's lock,
    /// and finishes a flush a crashed relay left half done.
    pub async fn open(
        clients: &'a Clients,
        settings: &Settings,
        options: RelayOptions,
    ) -> anyhow::Result<Relay<'a>> {
        let table_stream = DynamoDbStream::for_table(
            &clients.dynamodb,
            clients.dynamodb_streams.clone(),
            &settings.table,
        )
        .await?;
        let summary = clients
            .kinesis
            .describe_stream_summary()
            .stream_name(&settings.stream)
            .send()
            .await
            .or_missing(|| format!("stream '{}'", settings.stream), "--stream")?
            .stream_description_summary
            .ok_or_else(|| {
                service_error(format!(
                    "stream '{}' has no description: is the endpoint a Kinesis endpoint?",
                    settings.stream
                ))
            })?;
        // The creation time tells a recreated stream (same ARN) from the one positions were
        // read from.
        let kinesis_id = format!(
            "{}@{}",
            summary.stream_arn,
            summary.stream_creation_timestamp.as_secs_f64()
        );
        let bucket = clients.bucket(settings).await?;
        clients
            .s3
            .head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .or_missing(|| format!("bucket '{bucket}'"), "--bucket")?;
        // The stack as the SDK really reaches it: the canonical endpoint, so every spelling of
        // one emulator is one stack.
        let stack = StackIdentity {
            endpoint: clients.endpoint.as_ref().map(|e| e.canonical.as_str()),
            region: clients.region(),
            table: &settings.table,
            stream: &settings.stream,
            bucket: &bucket,
        };
        let dir = match &options.state_dir {
            Some(dir) => dir.clone(),
            None => default_state_dir(options.state_root.as_deref(), &stack)?,
        };
        let stack_lock = options
            .state_root
            .as_deref()
            .map(|root| stack_lock_path(root, &stack));
        let store = StateStore::open(&dir, stack_lock.as_deref())?;
        tracing::info!("relay state in {}", store.dir().display());
        tracing::info!("lake data objects as {}", options.lake_format);
        let pipe = store.load_pipe(table_stream.arn(), &kinesis_id)?;
        let firehose = store.load_firehose(&kinesis_id)?;
        let mut relay = Relay {
            clients,
            options,
            firehose_name: settings.firehose.clone(),
            lake: Lake::new(&clients.s3, bucket),
            kinesis: KinesisStream::new(clients.kinesis.clone(), &settings.stream),
            table_stream,
            store,
            pipe,
            firehose,
            finished_since_flush: BTreeSet::new(),
            batch: Batch::default(),
            report: RelayReport::default(),
            transformer: RecordTransformer::new(),
            progress: None,
            tallies: BTreeMap::new(),
            emulator: clients.targets_emulator(),
            next_growth_check: Instant::now() + GROWTH_CHECK_EVERY,
        };
        relay.redo_pending_flush(&kinesis_id).await?;
        Ok(relay)
    }

    pub fn state_dir(&self) -> &std::path::Path {
        self.store.dir()
    }

    pub fn report(&self) -> RelayReport {
        RelayReport {
            total_piped: self.pipe.piped,
            totals: self.firehose.totals,
            ..self.report.clone()
        }
    }

    /// Runs until drained (with `drain`) or until `stop` turns true; always ends with a
    /// flush, so everything read is in S3 and committed. A drain of both stages then checks
    /// that every record it piped was read by the firehose stage.
    pub async fn run(&mut self, mut stop: watch::Receiver<bool>) -> anyhow::Result<RelayReport> {
        let outcome = self.run_stages(&mut stop).await;
        // Whatever happened, what was read and transformed goes to S3 and is committed.
        let flushed = self.flush().await;
        outcome?;
        flushed?;
        let fallbacks = self.transformer.arrival_fallbacks();
        if fallbacks > 0 {
            tracing::warn!(
                "{fallbacks} rows had no dynamodb.ApproximateCreationDateTime: their creation_datetime is the Kinesis arrival time"
            );
        }
        self.report.interrupted = *stop.borrow();
        if self.options.drain && self.options.stages == Stages::Both && !self.report.interrupted {
            for (shard, tally) in &self.tallies {
                let unread = tally.unread();
                if unread > 0 {
                    self.report.undelivered += unread;
                    self.report.undelivered_shards.push(shard.clone());
                }
            }
        }
        Ok(self.report())
    }

    async fn run_stages(&mut self, stop: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
        let follow = !self.options.drain;
        match (self.options.stages, follow) {
            (Stages::Pipe, _) => {
                let mut pipe = self.pipe_reader();
                self.pump(Some(&mut pipe), None, stop).await
            }
            (Stages::Firehose, _) => {
                let mut kinesis = self.kinesis_reader().await;
                self.pump(None, Some(&mut kinesis), stop).await
            }
            (Stages::Both, true) => {
                let mut pipe = self.pipe_reader();
                let mut kinesis = self.kinesis_reader().await;
                self.pump(Some(&mut pipe), Some(&mut kinesis), stop).await
            }
            // The table's stream to its tip, then Kinesis to its tip; the Kinesis reader is
            // made only then, so it sees everything the pipe stage just put.
            (Stages::Both, false) => {
                let mut pipe = self.pipe_reader();
                self.pump(Some(&mut pipe), None, stop).await?;
                if *stop.borrow() {
                    return Ok(());
                }
                let mut kinesis = self.kinesis_reader().await;
                self.pump(None, Some(&mut kinesis), stop).await
            }
        }
    }

    fn reader_options(&self) -> ReaderOptions {
        ReaderOptions {
            start: StartPosition::TrimHorizon,
            follow: !self.options.drain,
            idle_poll: self.options.poll,
            relist_every: Duration::from_secs(2),
        }
    }

    /// The pipe stage's reader: the table's stream, after the committed pipe positions.
    fn pipe_reader(&self) -> ShardReader<DynamoDbStream> {
        ShardReader::new(
            self.table_stream.clone(),
            self.reader_options(),
            Some(&self.pipe.positions),
        )
    }

    /// The firehose stage's reader: Kinesis, after the committed firehose positions, with
    /// the shards that grew past their end read again ([`Relay::reopen_grown_shards`]).
    async fn kinesis_reader(&mut self) -> ShardReader<KinesisStream> {
        self.reopen_grown_shards().await;
        ShardReader::new(
            self.kinesis.clone(),
            self.reader_options(),
            Some(&self.firehose.positions),
        )
    }

    /// Kinesis shards recorded as read to their end (committed, or since the last flush)
    /// whose listing now ends past the last record read: on the emulator, a split or merged
    /// shard's parents, to which moto keeps routing PutRecords (DESIGN.md §6). On AWS a
    /// closed shard never grows (and its EndingSequenceNumber lies past its last record), so
    /// this is only asked of the emulator.
    async fn grown_shards(&self) -> Vec<String> {
        if !self.emulator {
            return Vec::new();
        }
        let listed: Vec<ShardInfo> = match self.kinesis.list_shards().await {
            Ok(listed) => listed,
            Err(SourceError::Throttled(_)) => return Vec::new(),
            Err(error) => {
                tracing::warn!("cannot list the Kinesis shards to find grown ones: {error:?}");
                return Vec::new();
            }
        };
        listed
            .into_iter()
            .filter_map(|shard| {
                let ending = shard.ending_sequence?;
                let committed = self.firehose.positions.get(&shard.id);
                let finished = committed.is_some_and(|p| p.finished)
                    || self.finished_since_flush.contains(&shard.id);
                if !finished {
                    return None;
                }
                let read_to = self
                    .batch
                    .ranges()
                    .get(&shard.id)
                    .map(|range| range.last.as_str())
                    .or_else(|| committed.and_then(|p| p.sequence_number.as_deref()));
                // moto names an empty shard's end "0".
                let grown = match read_to {
                    Some(read_to) => sequence_cmp(&ending, read_to).is_gt(),
                    None => sequence_cmp(&ending, "0").is_gt(),
                };
                grown.then_some(shard.id)
            })
            .collect()
    }

    /// Marks the shards that grew past their recorded end as not finished, so the next
    /// Kinesis reader reads them on from their last record: nothing piped into them is left
    /// unread. Call it with nothing buffered (before reading, or after a flush).
    async fn reopen_grown_shards(&mut self) {
        for shard in self.grown_shards().await {
            tracing::info!(
                "Kinesis shard {shard} grew past its end (the emulator keeps writing to a closed shard); reading it again"
            );
            self.finished_since_flush.remove(&shard);
            if let Some(position) = self.firehose.positions.shards.get_mut(&shard) {
                position.finished = false;
            }
        }
    }

    /// A following relay on the emulator: when a shard the firehose stage finished grew,
    /// flush (committing what was read) and start the Kinesis reader again from there.
    async fn reread_grown_shards(
        &mut self,
        reader: &mut ShardReader<KinesisStream>,
    ) -> anyhow::Result<()> {
        self.next_growth_check = Instant::now() + GROWTH_CHECK_EVERY;
        if self.grown_shards().await.is_empty() {
            return Ok(());
        }
        self.flush().await?;
        *reader = self.kinesis_reader().await;
        Ok(())
    }

    /// Feeds the stages from their readers, flushing by size and age like Firehose, until
    /// Ctrl-C or until a reader that does not follow has caught up.
    async fn pump(
        &mut self,
        mut pipe_reader: Option<&mut ShardReader<DynamoDbStream>>,
        mut kinesis_reader: Option<&mut ShardReader<KinesisStream>>,
        stop: &mut watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        loop {
            let flush_at = self.flush_deadline();
            // Following on the emulator: now and then, shards that grew past their end.
            let growth_check_at =
                (self.emulator && !self.options.drain && kinesis_reader.is_some())
                    .then_some(self.next_growth_check);
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => return Ok(()),
                () = sleep_until_or_forever(flush_at) => self.flush().await?,
                () = sleep_until_or_forever(growth_check_at) => {
                    if let Some(reader) = kinesis_reader.as_deref_mut() {
                        self.reread_grown_shards(reader).await?;
                    }
                }
                event = next_event(pipe_reader.as_deref_mut()) => match event? {
                    ReaderEvent::CaughtUp => return Ok(()),
                    event => self.on_pipe_event(event).await?,
                },
                event = next_event(kinesis_reader.as_deref_mut()) => match event? {
                    ReaderEvent::CaughtUp => return Ok(()),
                    event => self.on_kinesis_event(event).await?,
                },
            }
            if let Some(progress) = self.progress.as_mut() {
                progress(&self.report);
            }
        }
    }

    /// Calls `progress` with the run's counts after every step (a page read, a put, a flush).
    pub fn on_progress(&mut self, progress: impl FnMut(&RelayReport) + 'a) {
        self.progress = Some(Box::new(progress));
    }

    fn flush_deadline(&self) -> Option<Instant> {
        self.batch
            .opened()
            .map(|opened| Instant::from_std(opened) + self.options.buffer_age)
    }

    /// Pipe stage: records into Kinesis in order, each acknowledged call saved at once.
    async fn on_pipe_event(&mut self, event: ReaderEvent) -> anyhow::Result<()> {
        match event {
            ReaderEvent::Records { shard_id, records } => {
                for call in kinesis_put::put_calls(&records) {
                    let records = &records[call];
                    let placed = kinesis_put::put_all(
                        &self.clients.kinesis,
                        self.kinesis.stream_name(),
                        records,
                    )
                    .await?;
                    for place in &placed {
                        self.tallies
                            .entry(place.shard_id.clone())
                            .or_default()
                            .piped(&place.sequence_number);
                    }
                    if let Some(last) = records.last() {
                        self.pipe
                            .positions
                            .advance(&shard_id, &last.sequence_number);
                    }
                    self.pipe.piped += records.len() as u64;
                    self.report.piped += records.len() as u64;
                    self.store.save_pipe(&self.pipe)?;
                }
            }
            ReaderEvent::ShardFinished(shard_id) => {
                if self.pipe.positions.finish(&shard_id) {
                    self.store.save_pipe(&self.pipe)?;
                }
            }
            ReaderEvent::CaughtUp => {}
        }
        Ok(())
    }

    /// Firehose stage: records into the buffer, flushed when a buffering hint is reached.
    async fn on_kinesis_event(&mut self, event: ReaderEvent) -> anyhow::Result<()> {
        match event {
            ReaderEvent::Records { shard_id, records } => {
                for record in &records {
                    self.buffer(&shard_id, record);
                }
                if self
                    .batch
                    .is_due(self.options.buffer_bytes, self.options.buffer_age)
                {
                    self.flush().await?;
                }
            }
            ReaderEvent::ShardFinished(shard_id) => {
                self.finished_since_flush.insert(shard_id);
            }
            ReaderEvent::CaughtUp => {}
        }
        Ok(())
    }

    fn buffer(&mut self, shard_id: &str, record: &RawRecord) {
        match self.tallies.get_mut(shard_id) {
            Some(tally) => tally.read(&record.sequence_number),
            None => {
                let mut tally = ShardTally::default();
                tally.read(&record.sequence_number);
                self.tallies.insert(shard_id.to_string(), tally);
            }
        }
        let committed = self
            .firehose
            .positions
            .get(shard_id)
            .and_then(|p| p.sequence_number.as_deref());
        let incoming = Incoming {
            shard_id,
            sequence_number: &record.sequence_number,
            arrival: record.arrival.unwrap_or_else(Utc::now),
            data: &record.data,
        };
        let transformer = &mut self.transformer;
        let arrival = record.arrival;
        self.batch
            .add(&incoming, committed, self.firehose.delivered(), |data| {
                transform(transformer, data, arrival)
            });
    }

    /// Writes the buffer's objects, then commits: the flush is spooled first, so a crash
    /// anywhere in between is redone with the same objects, never lost or doubled.
    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() && self.finished_since_flush.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let mut commit = self.firehose.clone();
        for (shard, range) in batch.ranges() {
            commit.positions.advance(shard, &range.last);
        }
        for shard in std::mem::take(&mut self.finished_since_flush) {
            commit.positions.finish(&shard);
        }
        commit.remember(batch.delivered_fingerprints());
        let objects: Vec<SpooledObject> = batch
            .objects(&self.firehose_name, self.options.lake_format)?
            .into_iter()
            .map(|object| SpooledObject {
                key: object.key,
                body: object.body,
            })
            .collect();
        commit.totals.rows += batch.row_count();
        commit.totals.failed += batch.failure_count();
        commit.totals.duplicates_dropped += batch.duplicates_dropped;
        let object_count = objects.len() as u64;
        commit.totals.objects += object_count;
        let pending = PendingFlush { objects, commit };
        self.store.begin_flush(&pending)?;
        self.write_and_commit(pending).await?;
        self.report.rows += batch.row_count();
        self.report.failed += batch.failure_count();
        self.report.duplicates_dropped += batch.duplicates_dropped;
        self.report.objects += object_count;
        self.report.flushes += 1;
        Ok(())
    }

    async fn write_and_commit(&mut self, pending: PendingFlush) -> anyhow::Result<()> {
        for object in &pending.objects {
            self.lake.write(&object.key, object.body.clone()).await?;
        }
        self.store.commit_flush(&pending.commit)?;
        self.firehose = pending.commit;
        Ok(())
    }

    /// A flush a crashed relay spooled but may not have finished: written again (same keys,
    /// same bodies) and committed, before anything new is read.
    async fn redo_pending_flush(&mut self, kinesis_id: &str) -> anyhow::Result<()> {
        let Some(pending) = self.store.pending_flush()? else {
            return Ok(());
        };
        if pending.commit.kinesis_stream_id != kinesis_id {
            tracing::warn!("dropping a spooled flush of another Kinesis stream");
            return self.store.commit_flush(&self.firehose);
        }
        tracing::info!(
            "redoing an interrupted flush of {} objects",
            pending.objects.len()
        );
        self.write_and_commit(pending).await
    }
}

/// The reader's next event, or never when there is no reader.
async fn next_event<S: StreamSource>(
    reader: Option<&mut ShardReader<S>>,
) -> anyhow::Result<ReaderEvent> {
    match reader {
        Some(reader) => reader.next().await,
        None => std::future::pending().await,
    }
}

/// The core's transform, as the Lambda runs it: rows the lake schema cannot hold fail (to
/// errors/processing-failed/), and a record without ApproximateCreationDateTime takes the
/// Kinesis arrival time. The row's own partition is not used: Firehose places an object by
/// its oldest record's arrival ([`Batch::objects`]).
fn transform(
    transformer: &mut RecordTransformer,
    data: &[u8],
    arrival: Option<chrono::DateTime<Utc>>,
) -> Transformed {
    let mut line = Vec::with_capacity(data.len());
    match transformer.transform_with_arrival(data, arrival, &mut line) {
        Ok(_partition) => Transformed::Row { line },
        Err(reason) => Transformed::Failed {
            reason: reason.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(piped: &[&str], read: &[&str]) -> ShardTally {
        let mut tally = ShardTally::default();
        // Records read before anything was piped (older ones) come first.
        for sequence in read.iter().filter(|s| s.len() < 2) {
            tally.read(sequence);
        }
        for sequence in piped {
            tally.piped(sequence);
        }
        for sequence in read.iter().filter(|s| s.len() >= 2) {
            tally.read(sequence);
        }
        tally
    }

    #[test]
    fn piped_records_the_firehose_stage_never_read_are_counted() {
        let piped = ["10", "11", "12", "13"];
        // Everything read: nothing undelivered, older records read before do not count.
        assert_eq!(tally(&piped, &["9", "10", "11", "12", "13"]).unread(), 0);
        // The moto reshard: the parent was finished before, nothing of it read this run.
        assert_eq!(tally(&piped, &[]).unread(), 4);
        assert_eq!(tally(&piped, &["5"]).unread(), 4);
        // Read part-way.
        assert_eq!(tally(&piped, &["10", "11"]).unread(), 2);
        // A shard only read, never piped into.
        assert_eq!(tally(&[], &["10", "11"]).unread(), 0);
        // Sequence numbers compare as numbers, not as text.
        assert_eq!(
            tally(&["98", "99", "100"], &["98", "99", "100"]).unread(),
            0
        );
    }
}

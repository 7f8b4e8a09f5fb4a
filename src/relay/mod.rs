//! The two managed stages run in-process for local mode: the pipe stage (DynamoDB stream ->
//! Kinesis, Pipe format) and the firehose stage (Kinesis -> transform -> S3).
//!
//! Both read through the shared stream layer; what is the relay's own is putting records in
//! order, buffering like Firehose, and flushing so that every change reaches the lake once:
//! one relay per stack (a lock), pipe positions saved after each acknowledged PutRecords
//! (copies re-put after a crash are dropped by fingerprint), and every flush written ahead
//! to a spool, so a flush cut short is redone with the same objects.

pub mod batch;
pub mod kinesis_put;
pub mod state;

use std::collections::BTreeSet;
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
    FirehoseState, PendingFlush, PipeState, SpooledObject, StateStore, default_state_dir,
};
use crate::settings::Settings;
use crate::stream::dynamodb::DynamoDbStream;
use crate::stream::kinesis::KinesisStream;
use crate::stream::reader::{ReaderEvent, ReaderOptions, ShardReader};
use crate::stream::{RawRecord, StartPosition, StreamSource, sleep_until_or_forever};
use salesctl_core::transform::RecordTransformer;

#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Process what is there now, flush, and return.
    pub drain: bool,
    /// The stack's state directory (default: [`state::default_state_dir`] under `state_root`).
    pub state_dir: Option<PathBuf>,
    /// The root of every stack's relay state, as the context resolved it.
    pub state_root: Option<PathBuf>,
    pub buffer_bytes: usize,
    pub buffer_age: Duration,
    /// How long an idle shard waits before polling again.
    pub poll: Duration,
    /// Which stages run: both, or one alone (to see or test one stage in isolation).
    pub stages: Stages,
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

/// What one run did (and, in the totals, all runs of this stack's relay).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
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
        let dir = match &options.state_dir {
            Some(dir) => dir.clone(),
            None => default_state_dir(
                options.state_root.as_deref(),
                clients.endpoint.as_ref().map(|e| e.canonical.as_str()),
                clients.region(),
                settings,
                &bucket,
            )?,
        };
        let store = StateStore::lock(&dir)?;
        tracing::info!("relay state in {}", store.dir().display());
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
            ..self.report
        }
    }

    /// Runs until drained (with `drain`) or until `stop` turns true; always ends with a
    /// flush, so everything read is in S3 and committed.
    pub async fn run(&mut self, mut stop: watch::Receiver<bool>) -> anyhow::Result<RelayReport> {
        let follow = !self.options.drain;
        let reader_options = ReaderOptions {
            start: StartPosition::TrimHorizon,
            follow,
            idle_poll: self.options.poll,
            relist_every: Duration::from_secs(2),
        };
        let outcome = match (self.options.stages, follow) {
            (Stages::Pipe, _) => {
                let mut pipe = self.pipe_reader(&reader_options);
                self.pump(Some(&mut pipe), None, &mut stop).await
            }
            (Stages::Firehose, _) => {
                let mut kinesis = self.kinesis_reader(&reader_options);
                self.pump(None, Some(&mut kinesis), &mut stop).await
            }
            (Stages::Both, true) => {
                let mut pipe = self.pipe_reader(&reader_options);
                let mut kinesis = self.kinesis_reader(&reader_options);
                self.pump(Some(&mut pipe), Some(&mut kinesis), &mut stop)
                    .await
            }
            // The table's stream to its tip, then Kinesis to its tip; the Kinesis reader is
            // made only then, so it sees everything the pipe stage just put.
            (Stages::Both, false) => {
                let mut pipe = self.pipe_reader(&reader_options);
                match self.pump(Some(&mut pipe), None, &mut stop).await {
                    Ok(()) if !*stop.borrow() => {
                        let mut kinesis = self.kinesis_reader(&reader_options);
                        self.pump(None, Some(&mut kinesis), &mut stop).await
                    }
                    outcome => outcome,
                }
            }
        };
        // Whatever happened, what was read and transformed goes to S3 and is committed.
        let flushed = self.flush().await;
        outcome?;
        flushed?;
        self.report.interrupted = *stop.borrow();
        Ok(self.report())
    }

    /// The pipe stage's reader: the table's stream, after the committed pipe positions.
    fn pipe_reader(&self, options: &ReaderOptions) -> ShardReader<DynamoDbStream> {
        ShardReader::new(
            self.table_stream.clone(),
            options.clone(),
            Some(&self.pipe.positions),
        )
    }

    /// The firehose stage's reader: Kinesis, after the committed firehose positions.
    fn kinesis_reader(&self, options: &ReaderOptions) -> ShardReader<KinesisStream> {
        ShardReader::new(
            self.kinesis.clone(),
            options.clone(),
            Some(&self.firehose.positions),
        )
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
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => return Ok(()),
                () = sleep_until_or_forever(flush_at) => self.flush().await?,
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
                    kinesis_put::put_all(
                        &self.clients.kinesis,
                        self.kinesis.stream_name(),
                        records,
                    )
                    .await?;
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
        self.batch
            .add(&incoming, committed, self.firehose.delivered(), |data| {
                transform(transformer, data)
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
        let objects = batch
            .objects(&self.firehose_name)
            .into_iter()
            .map(|object| {
                Ok(SpooledObject {
                    key: object.key,
                    body: String::from_utf8(object.body)?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
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
            self.lake
                .write(&object.key, object.body.clone().into_bytes())
                .await?;
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

fn transform(transformer: &mut RecordTransformer, data: &[u8]) -> Transformed {
    let mut line = Vec::with_capacity(data.len());
    match transformer.transform_into(data, &mut line) {
        Ok(partition) => Transformed::Row {
            line,
            dt: partition.dt().to_string(),
            hour: partition.hour().to_string(),
        },
        Err(reason) => Transformed::Failed {
            reason: reason.to_string(),
        },
    }
}

//! The two managed stages run in-process for local mode: the pipe stage (DynamoDB stream ->
//! Kinesis, Pipe format) and the firehose stage (Kinesis -> transform -> S3), checkpointed.

pub mod batch;
pub mod pipe_format;
pub mod state;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::ShardIteratorType as StreamIteratorType;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use chrono::{DateTime, Utc};

use crate::aws::{Clients, ServiceResultExt, describe, is_not_found};
use crate::error::service_error;
use crate::relay::batch::{Batch, Incoming, Transformed};
use crate::relay::state::{PendingFlush, RelayState, sequence_cmp};
use crate::settings::Settings;
use crate::table_writer::backoff;
use crate::transform::RecordTransformer;

/// Kinesis PutRecords takes at most 500 records a call.
const MAX_PUT: usize = 500;

#[derive(Debug, Clone)]
pub struct RelayOptions {
    /// Process what is there now, flush, and return.
    pub drain: bool,
    pub checkpoint: PathBuf,
    pub buffer_bytes: usize,
    pub buffer_age: Duration,
    /// How long to wait between polls when nothing is new.
    pub poll: Duration,
}

/// What one run did (and, in `totals`, all runs with this checkpoint).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RelayReport {
    pub piped: u64,
    pub rows: u64,
    pub failed: u64,
    pub duplicates_dropped: u64,
    pub objects: u64,
    pub flushes: u64,
    pub totals: state::Totals,
}

/// Where one stage has read to, per shard, beyond what is committed.
#[derive(Default)]
struct Cursor {
    read_to: HashMap<String, String>,
    finished: HashSet<String>,
}

pub struct Relay<'a> {
    clients: &'a Clients,
    settings: &'a Settings,
    options: RelayOptions,
    bucket: String,
    table_stream_arn: String,
    key_attribute: String,
    state: RelayState,
    report: RelayReport,
    batch: Batch,
    kinesis_cursor: Cursor,
    /// Reused for every record: it keeps its decode buffers warm.
    transformer: RecordTransformer,
}

impl<'a> Relay<'a> {
    /// Finds the table's stream, the Kinesis stream and the bucket, and loads the checkpoint.
    pub async fn open(
        clients: &'a Clients,
        settings: &'a Settings,
        options: RelayOptions,
    ) -> anyhow::Result<Relay<'a>> {
        let table = clients
            .dynamodb
            .describe_table()
            .table_name(&settings.table)
            .send()
            .await
            .or_missing(|| format!("table '{}'", settings.table), "--table")?
            .table
            .ok_or_else(|| {
                service_error(format!(
                    "table '{}' has no description: is the endpoint a DynamoDB endpoint?",
                    settings.table
                ))
            })?;
        let table_stream_arn = table.latest_stream_arn.clone().ok_or_else(|| {
            service_error(format!(
                "table '{}' has no stream: enable Streams (NEW_AND_OLD_IMAGES) or run 'salesctl up'",
                settings.table
            ))
        })?;
        let key_attribute = table
            .key_schema
            .unwrap_or_default()
            .into_iter()
            .find(|k| k.key_type.as_str() == "HASH")
            .map_or_else(|| "order_id".to_string(), |k| k.attribute_name);
        let summary = clients
            .kinesis
            .describe_stream_summary()
            .stream_name(&settings.stream)
            .send()
            .await
            .or_missing(|| format!("stream '{}'", settings.stream), "--stream")?
            .stream_description_summary;
        let kinesis_id = summary.map_or_else(String::new, |s| {
            format!(
                "{}@{}",
                s.stream_arn,
                s.stream_creation_timestamp.as_secs_f64()
            )
        });
        let bucket = clients.bucket(settings).await?;
        clients
            .s3
            .head_bucket()
            .bucket(&bucket)
            .send()
            .await
            .or_missing(|| format!("bucket '{bucket}'"), "--bucket")?;
        let mut state = RelayState::load(&options.checkpoint)?;
        if !state.bind_to(&table_stream_arn, &kinesis_id) {
            tracing::warn!(
                "checkpoint {} belonged to other streams; starting afresh",
                options.checkpoint.display()
            );
        }
        Ok(Relay {
            clients,
            settings,
            options,
            bucket,
            table_stream_arn,
            key_attribute,
            state,
            report: RelayReport::default(),
            batch: Batch::default(),
            kinesis_cursor: Cursor::default(),
            transformer: RecordTransformer::new(),
        })
    }

    pub fn report(&self) -> RelayReport {
        RelayReport {
            totals: self.state.totals,
            ..self.report
        }
    }

    /// Runs until drained (with `drain`) or until `stop` turns true; always ends with a flush
    /// so everything read is in S3 and committed.
    pub async fn run(
        &mut self,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<RelayReport> {
        self.replay_pending_flush().await?;
        loop {
            let piped = self.pipe_pass().await?;
            let read = self.firehose_pass().await?;
            if self
                .batch
                .is_due(self.options.buffer_bytes, self.options.buffer_age)
            {
                self.flush().await?;
            }
            if self.options.drain && piped == 0 && read == 0 {
                break;
            }
            if *stop.borrow() {
                break;
            }
            if piped == 0 && read == 0 {
                let wait = if self.batch.is_empty() {
                    self.options.poll
                } else {
                    self.options.poll.min(self.options.buffer_age)
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => {}
                }
            }
        }
        self.flush().await?;
        Ok(self.report())
    }

    /// Pipe stage: every DynamoDB stream record not yet put, into Kinesis, in order per shard.
    /// The position is saved after each acknowledged PutRecords; if the relay dies in
    /// between, the re-put copies are dropped by the firehose stage.
    async fn pipe_pass(&mut self) -> anyhow::Result<u64> {
        let streams = &self.clients.dynamodb_streams;
        let arn = self.table_stream_arn.clone();
        let mut shards = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let out = streams
                .describe_stream()
                .stream_arn(&arn)
                .set_exclusive_start_shard_id(start.clone())
                .send()
                .await
                .service_context(|| {
                    format!("describing the stream of table '{}'", self.settings.table)
                })?;
            let Some(description) = out.stream_description else {
                break;
            };
            shards.extend(description.shards.unwrap_or_default());
            start = description.last_evaluated_shard_id;
            if start.is_none() {
                break;
            }
        }
        // Parents first, so an item's changes keep their order across a shard split.
        let order = lineage_order(shards.iter().map(|s| {
            (
                s.shard_id.clone().unwrap_or_default(),
                s.parent_shard_id.clone(),
            )
        }));
        let mut moved = 0;
        for shard_id in order {
            let mut iterator = {
                let position = self.state.pipe_positions.get(&shard_id);
                let request = streams
                    .get_shard_iterator()
                    .stream_arn(&arn)
                    .shard_id(&shard_id);
                let request = match position {
                    Some(seq) => request
                        .shard_iterator_type(StreamIteratorType::AfterSequenceNumber)
                        .sequence_number(seq),
                    None => request.shard_iterator_type(StreamIteratorType::TrimHorizon),
                };
                match request.send().await {
                    Ok(out) => out.shard_iterator,
                    Err(e) if is_not_found(&e) => None, // trimmed away
                    Err(e) => {
                        return Err(service_error(format!(
                            "reading the table's stream: {}",
                            describe(&e)
                        )));
                    }
                }
            };
            while let Some(it) = iterator {
                let page = streams
                    .get_records()
                    .shard_iterator(it)
                    .limit(1000)
                    .send()
                    .await
                    .service_context(|| "reading the table's stream".to_string())?;
                let records = page.records.unwrap_or_default();
                if records.is_empty() {
                    break;
                }
                for chunk in records.chunks(MAX_PUT) {
                    let entries = chunk
                        .iter()
                        .map(|r| {
                            let data = pipe_format::pipe_record_json(r, &arn).to_string();
                            PutRecordsRequestEntry::builder()
                                .data(Blob::new(data))
                                .partition_key(pipe_format::partition_key(r, &self.key_attribute))
                                .build()
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    self.put_all(entries).await?;
                    let last = chunk
                        .iter()
                        .rev()
                        .find_map(|r| r.dynamodb.as_ref()?.sequence_number.clone());
                    if let Some(last) = last {
                        self.state.pipe_positions.insert(shard_id.clone(), last);
                    }
                    moved += chunk.len() as u64;
                    self.state.totals.piped += chunk.len() as u64;
                    self.state.save(&self.options.checkpoint)?;
                }
                iterator = page.next_shard_iterator;
            }
        }
        self.report.piped += moved;
        Ok(moved)
    }

    /// Puts records, re-sending the ones Kinesis rejected (throttling) with backoff.
    async fn put_all(&self, mut entries: Vec<PutRecordsRequestEntry>) -> anyhow::Result<()> {
        for attempt in 0..20 {
            let out = self
                .clients
                .kinesis
                .put_records()
                .stream_name(&self.settings.stream)
                .set_records(Some(entries.clone()))
                .send()
                .await
                .service_context(|| {
                    format!("putting records into stream '{}'", self.settings.stream)
                })?;
            if out.failed_record_count.unwrap_or(0) == 0 {
                return Ok(());
            }
            entries = entries
                .into_iter()
                .zip(out.records)
                .filter(|(_, result)| result.error_code.is_some())
                .map(|(entry, _)| entry)
                .collect();
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(service_error(format!(
            "stream '{}' kept rejecting {} records: add shards or slow the writers",
            self.settings.stream,
            entries.len()
        )))
    }

    /// Firehose stage: read what is new on every Kinesis shard into the buffer.
    async fn firehose_pass(&mut self) -> anyhow::Result<u64> {
        let shards = self.list_kinesis_shards().await?;
        let order = lineage_order(
            shards
                .iter()
                .map(|(id, parent, _)| (id.clone(), parent.clone())),
        );
        let parents: HashMap<String, Option<String>> = shards
            .iter()
            .map(|(id, parent, _)| (id.clone(), parent.clone()))
            .collect();
        let endings: HashMap<String, Option<String>> = shards
            .into_iter()
            .map(|(id, _, ending)| (id, ending))
            .collect();
        let mut read = 0;
        for shard_id in order {
            // A child waits until its parent is read to the end: one item's changes stay in
            // order across a split or merge.
            let parent = parents.get(&shard_id).cloned().flatten();
            let parent_pending = parent.is_some_and(|p| {
                parents.contains_key(&p) && !self.kinesis_cursor.finished.contains(&p)
            });
            if parent_pending || self.kinesis_cursor.finished.contains(&shard_id) {
                continue;
            }
            let ending = endings.get(&shard_id).cloned().flatten();
            read += self
                .read_kinesis_shard(&shard_id, None, ending.as_deref())
                .await?;
            if self
                .batch
                .is_due(self.options.buffer_bytes, self.options.buffer_age)
            {
                self.flush().await?;
            }
        }
        Ok(read)
    }

    async fn list_kinesis_shards(
        &self,
    ) -> anyhow::Result<Vec<(String, Option<String>, Option<String>)>> {
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = self.clients.kinesis.list_shards();
            let request = match &token {
                Some(t) => request.next_token(t),
                None => request.stream_name(&self.settings.stream),
            };
            let out = request.send().await.service_context(|| {
                format!("listing the shards of stream '{}'", self.settings.stream)
            })?;
            for shard in out.shards.unwrap_or_default() {
                let ending = shard
                    .sequence_number_range
                    .and_then(|r| r.ending_sequence_number);
                shards.push((shard.shard_id, shard.parent_shard_id, ending));
            }
            token = out.next_token;
            if token.is_none() {
                return Ok(shards);
            }
        }
    }

    /// Reads one shard from where this stage has read to (or committed), adding records to
    /// the buffer. With `until`, stops after that sequence number (replaying a flush).
    async fn read_kinesis_shard(
        &mut self,
        shard_id: &str,
        until: Option<&str>,
        ending: Option<&str>,
    ) -> anyhow::Result<u64> {
        let mut committed = self.state.firehose_positions.get(shard_id).cloned();
        let position = self
            .kinesis_cursor
            .read_to
            .get(shard_id)
            .cloned()
            .or_else(|| committed.clone());
        let request = self
            .clients
            .kinesis
            .get_shard_iterator()
            .stream_name(&self.settings.stream)
            .shard_id(shard_id);
        let request = match &position {
            Some(seq) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(seq),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let mut iterator = request
            .send()
            .await
            .service_context(|| {
                format!(
                    "reading shard {shard_id} of stream '{}'",
                    self.settings.stream
                )
            })?
            .shard_iterator;
        let mut read = 0;
        let mut at_end = iterator.is_none();
        'pages: while let Some(it) = iterator {
            let page = self
                .clients
                .kinesis
                .get_records()
                .shard_iterator(it)
                .limit(10_000)
                .send()
                .await
                .service_context(|| {
                    format!(
                        "reading shard {shard_id} of stream '{}'",
                        self.settings.stream
                    )
                })?;
            if page.records.is_empty() {
                if page.millis_behind_latest.unwrap_or(0) > 0 {
                    iterator = page.next_shard_iterator;
                    continue;
                }
                at_end = true;
                break;
            }
            for record in &page.records {
                if until.is_some_and(|u| sequence_cmp(&record.sequence_number, u).is_gt()) {
                    break 'pages;
                }
                let arrival = record
                    .approximate_arrival_timestamp
                    .and_then(|t| DateTime::<Utc>::from_timestamp_millis(t.to_millis().ok()?))
                    .unwrap_or_else(Utc::now);
                let incoming = Incoming {
                    shard_id,
                    sequence_number: &record.sequence_number,
                    arrival,
                    data: record.data.as_ref(),
                };
                self.batch.add(
                    &incoming,
                    committed.as_deref(),
                    self.state.delivered(),
                    |data| transform(&mut self.transformer, data),
                );
                self.kinesis_cursor
                    .read_to
                    .insert(shard_id.to_string(), record.sequence_number.clone());
                read += 1;
                if until.is_some_and(|u| sequence_cmp(&record.sequence_number, u).is_eq()) {
                    break 'pages;
                }
            }
            iterator = page.next_shard_iterator;
            at_end = iterator.is_none();
            if until.is_none()
                && self
                    .batch
                    .is_due(self.options.buffer_bytes, self.options.buffer_age)
            {
                self.flush().await?;
                // The rest of this shard goes into a new batch that starts after what was
                // just committed; a stale start would rename that batch's objects on replay.
                committed = self.state.firehose_positions.get(shard_id).cloned();
            }
        }
        // A closed shard (it has an ending number) gets no new records: caught up is done.
        // The emulator never ends a closed shard's iterator, so that is how its end shows.
        if ending.is_some() && at_end && until.is_none() {
            self.kinesis_cursor.finished.insert(shard_id.to_string());
        }
        Ok(read)
    }

    /// A flush interrupted by a crash is redone first, from exactly the same records, so it
    /// overwrites the same objects.
    async fn replay_pending_flush(&mut self) -> anyhow::Result<()> {
        let Some(pending) = self.state.pending_flush.clone() else {
            return Ok(());
        };
        tracing::info!(
            "replaying an interrupted flush over {} shards",
            pending.ranges.len()
        );
        for (shard_id, range) in &pending.ranges {
            self.kinesis_cursor.read_to.remove(shard_id);
            self.read_kinesis_shard(shard_id, Some(&range.last), None)
                .await?;
        }
        self.flush().await
    }

    /// Writes the buffer's objects, then commits the positions. The intent is saved first,
    /// so a crash in between is replayed, never lost or doubled.
    async fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.state.pending_flush = Some(PendingFlush {
            ranges: batch.ranges().clone(),
        });
        self.state.save(&self.options.checkpoint)?;
        let objects = batch.objects(&self.settings.firehose);
        for object in &objects {
            self.clients
                .s3
                .put_object()
                .bucket(&self.bucket)
                .key(&object.key)
                .content_type("application/x-ndjson")
                .body(object.body.clone().into())
                .send()
                .await
                .service_context(|| format!("writing s3://{}/{}", self.bucket, object.key))?;
        }
        for (shard, range) in batch.ranges() {
            self.state
                .firehose_positions
                .insert(shard.clone(), range.last.clone());
        }
        self.state.remember(batch.delivered_fingerprints());
        self.state.pending_flush = None;
        let totals = &mut self.state.totals;
        totals.rows += batch.row_count();
        totals.failed += batch.failure_count();
        totals.duplicates_dropped += batch.duplicates_dropped;
        totals.objects += objects.len() as u64;
        self.state.save(&self.options.checkpoint)?;
        self.report.rows += batch.row_count();
        self.report.failed += batch.failure_count();
        self.report.duplicates_dropped += batch.duplicates_dropped;
        self.report.objects += objects.len() as u64;
        self.report.flushes += 1;
        Ok(())
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

/// Shard ids ordered so every parent comes before its children.
pub fn lineage_order(shards: impl IntoIterator<Item = (String, Option<String>)>) -> Vec<String> {
    let shards: Vec<(String, Option<String>)> = shards.into_iter().collect();
    let known: HashSet<&str> = shards.iter().map(|(id, _)| id.as_str()).collect();
    let mut placed: HashSet<String> = HashSet::new();
    let mut order = Vec::with_capacity(shards.len());
    while order.len() < shards.len() {
        let before = order.len();
        for (id, parent) in &shards {
            if placed.contains(id) {
                continue;
            }
            let parent_ready = parent
                .as_deref()
                .is_none_or(|p| !known.contains(p) || placed.contains(p));
            if parent_ready {
                placed.insert(id.clone());
                order.push(id.clone());
            }
        }
        if order.len() == before {
            // A cycle cannot happen on AWS; never loop forever on bad data.
            order.extend(
                shards
                    .iter()
                    .filter(|(id, _)| !placed.contains(id))
                    .map(|(id, _)| id.clone()),
            );
            break;
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_before_children() {
        let order = lineage_order([
            ("c1".to_string(), Some("p".to_string())),
            ("c2".to_string(), Some("p".to_string())),
            ("g".to_string(), Some("c1".to_string())),
            ("p".to_string(), None),
            ("orphan".to_string(), Some("expired".to_string())),
        ]);
        let pos = |s: &str| order.iter().position(|x| x == s).unwrap();
        assert!(pos("p") < pos("c1") && pos("p") < pos("c2") && pos("c1") < pos("g"));
        assert_eq!(order.len(), 5);
    }
}

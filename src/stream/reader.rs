//! The lineage-aware multi-shard reader every stream consumer uses: every shard concurrently,
//! parents before children, every record once, resumable from [`Positions`].
//!
//! Each readable shard gets a task that follows its iterator chain and sends pages to one
//! coordinator ([`ShardReader::next`]). A shard is finished when the service returns no next
//! iterator (AWS) or when its `EndingSequenceNumber` has been reached (the emulator never
//! returns a null iterator for a closed shard). When a shard finishes the shard list is read
//! again, and a shard starts only once its parent, or both parents of a merge, are finished
//! (or gone past retention): that is what makes a split or merge lose and repeat nothing.
//! While following, the list is also re-read periodically, because an open shard that gets
//! split only shows its `EndingSequenceNumber` in a fresh listing.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::positions::Positions;
use super::repeats::RepeatFilter;
use super::{IteratorStart, RawRecord, ShardInfo, SourceError, StartPosition, StreamSource};
use super::{backoff, sequence_cmp};
use crate::error::service_error;

/// Pages buffered between the shard tasks and the output, per reader.
const CHANNEL_PAGES: usize = 8;

/// The iterator to ask for after an expired one: right after the last record read, or the
/// original start when nothing was read yet.
pub fn renewal_start(last_sequence: Option<&str>, original: &IteratorStart) -> IteratorStart {
    match last_sequence {
        Some(sequence) => IteratorStart::AfterSequence(sequence.to_owned()),
        None => original.clone(),
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

pub struct ShardReader<S: StreamSource> {
    source: S,
    options: ReaderOptions,
    shards: BTreeMap<String, ShardEntry>,
    /// Stored positions of a resumed read: last sequence number per shard, and where shards
    /// without one start (`None` when this read is not resumed).
    stored: HashMap<String, String>,
    resumed_from: Option<Option<DateTime<Utc>>>,
    /// Shards found finished without being read (closed before a `latest` start), to report.
    skipped: VecDeque<String>,
    /// A shard finished: list again before the next event (kept as a flag so a `next` that
    /// is cancelled in a `select!` loses no event).
    relist_now: bool,
    endings: Endings,
    tx: mpsc::Sender<TaskEvent>,
    rx: mpsc::Receiver<TaskEvent>,
    tasks: JoinSet<()>,
    running: usize,
    next_relist: Instant,
    started: bool,
}

impl<S: StreamSource> ShardReader<S> {
    /// A reader of `source`. With `resumed`, its positions win over `options.start`: a shard
    /// read before continues after its last record, a finished one is not read again, and one
    /// without a position starts at the positions' origin.
    pub fn new(source: S, options: ReaderOptions, resumed: Option<&Positions>) -> ShardReader<S> {
        let (tx, rx) = mpsc::channel(CHANNEL_PAGES);
        let mut stored = HashMap::new();
        let mut shards = BTreeMap::new();
        for (shard_id, position) in resumed.iter().flat_map(|p| p.shards.iter()) {
            if position.finished {
                let entry = ShardEntry {
                    info: ShardInfo {
                        id: shard_id.to_owned(),
                        parent: None,
                        adjacent_parent: None,
                        ending_sequence: None,
                    },
                    state: ShardState::Finished,
                    start: IteratorStart::TrimHorizon,
                };
                shards.insert(shard_id.to_owned(), entry);
            } else if let Some(sequence) = &position.sequence_number {
                stored.insert(shard_id.to_owned(), sequence.clone());
            }
        }
        ShardReader {
            source,
            next_relist: Instant::now() + options.relist_every,
            options,
            shards,
            stored,
            resumed_from: resumed.map(|p| p.origin),
            skipped: VecDeque::new(),
            relist_now: false,
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
    /// Cancel-safe: a `next` dropped in a `select!` loses no event.
    pub async fn next(&mut self) -> anyhow::Result<ReaderEvent> {
        if !self.started {
            self.refresh(true).await?;
            self.started = true;
        }
        loop {
            if self.relist_now {
                // Its children are in the listing now (and AWS may have just created them).
                self.refresh(false).await?;
                self.relist_now = false;
            }
            if let Some(shard_id) = self.skipped.pop_front() {
                return Ok(ReaderEvent::ShardFinished(shard_id));
            }
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
                    self.relist_now = true;
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
                return Err(service_error(self.source.not_found_message()));
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
                    self.source.name()
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
                        self.skipped.push_back(shard.id.clone());
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
        if let Some(origin) = self.resumed_from {
            // Nothing of it was handled yet: read what arrived since the first run started.
            return Some(origin.map_or(IteratorStart::TrimHorizon, IteratorStart::AtTimestamp));
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
        let not_before = match start {
            IteratorStart::AtTimestamp(at) if !self.source.supports_timestamps() => Some(at),
            _ => None,
        };
        let task = ShardTask {
            source: self.source.clone(),
            shard_id: Arc::from(shard_id.as_str()),
            start,
            follow: self.options.follow,
            idle_poll: self.options.idle_poll,
            not_before,
            endings: self.endings.clone(),
            tx: self.tx.clone(),
        };
        self.tasks.spawn(task.run());
    }
}

struct ShardTask<S> {
    source: S,
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

impl<S: StreamSource> ShardTask<S> {
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
        let mut repeats = RepeatFilter::default();
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
            if let Some(last) = page.records.last() {
                last_sequence = Some(last.sequence_number.clone());
            }
            let read = page.records.len();
            // A page of records read before is an empty page: the tip, not more to come.
            let mut records = repeats.fresh(page.records);
            let count = records.len();
            if count < read {
                tracing::debug!(
                    "{shard_id}: {} of {read} records were read before (the emulator repeats records written concurrently); dropped",
                    read - count
                );
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
    use std::sync::Mutex as StdMutex;

    use super::*;
    use crate::stream::Page;
    use crate::stream::positions::Positions;

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

    /// An in-memory stream with AWS's split semantics (a split closes the parent at its last
    /// record; new records go to the children only), which moto 5.2.5 gets wrong: it keeps
    /// writing to the closed parent. Sequence numbers are global and increasing, as on AWS.
    #[derive(Clone, Default)]
    struct FakeStream {
        inner: Arc<StdMutex<FakeShards>>,
    }

    #[derive(Default)]
    struct FakeShards {
        shards: Vec<FakeShard>,
        next_sequence: u64,
    }

    struct FakeShard {
        info: ShardInfo,
        records: Vec<RawRecord>,
    }

    impl FakeShards {
        fn shard(&self, shard_id: &str) -> Result<&FakeShard, SourceError> {
            self.shards
                .iter()
                .find(|s| s.info.id == shard_id)
                .ok_or_else(|| SourceError::Gone(shard_id.into()))
        }
    }

    impl FakeStream {
        fn with_shard() -> FakeStream {
            let stream = FakeStream::default();
            stream.inner.lock().unwrap().shards.push(FakeShard {
                info: ShardInfo {
                    id: "shard-0".into(),
                    parent: None,
                    adjacent_parent: None,
                    ending_sequence: None,
                },
                records: Vec::new(),
            });
            stream
        }

        /// Appends `count` records to the open shards, round robin by key, stamped now.
        fn put(&self, count: usize, tag: &str) {
            let mut inner = self.inner.lock().unwrap();
            let open: Vec<usize> = (0..inner.shards.len())
                .filter(|i| inner.shards[*i].info.ending_sequence.is_none())
                .collect();
            for n in 0..count {
                inner.next_sequence += 1;
                let sequence = inner.next_sequence.to_string();
                let shard = open[n % open.len()];
                inner.shards[shard].records.push(RawRecord {
                    sequence_number: sequence,
                    partition_key: format!("{tag}-{n}"),
                    data: format!("{tag}-{n}").into_bytes(),
                    arrival: Some(Utc::now()),
                });
            }
        }

        /// Splits an open shard into two children, as AWS does.
        fn split(&self, shard_id: &str) {
            let mut inner = self.inner.lock().unwrap();
            let ending = inner.next_sequence.to_string();
            let parent = inner
                .shards
                .iter_mut()
                .find(|s| s.info.id == shard_id)
                .expect("shard");
            parent.info.ending_sequence = Some(ending);
            for child in ["a", "b"] {
                let id = format!("{shard_id}{child}");
                inner.shards.push(FakeShard {
                    info: ShardInfo {
                        id,
                        parent: Some(shard_id.to_owned()),
                        adjacent_parent: None,
                        ending_sequence: None,
                    },
                    records: Vec::new(),
                });
            }
        }
    }

    impl FakeStream {
        /// Merges two open shards into one child, as AWS does (both parents close).
        fn merge(&self, first: &str, second: &str) {
            let mut inner = self.inner.lock().unwrap();
            let ending = inner.next_sequence.to_string();
            for shard in inner.shards.iter_mut() {
                if shard.info.id == first || shard.info.id == second {
                    shard.info.ending_sequence = Some(ending.clone());
                }
            }
            inner.shards.push(FakeShard {
                info: ShardInfo {
                    id: format!("{first}+{second}"),
                    parent: Some(first.to_owned()),
                    adjacent_parent: Some(second.to_owned()),
                    ending_sequence: None,
                },
                records: Vec::new(),
            });
        }
    }

    impl StreamSource for FakeStream {
        fn name(&self) -> String {
            "fake stream".into()
        }
        fn checkpoint_key(&self) -> String {
            "fake".into()
        }
        fn not_found_message(&self) -> String {
            "fake stream not found".into()
        }
        fn min_call_gap(&self) -> Duration {
            Duration::ZERO
        }
        fn supports_timestamps(&self) -> bool {
            true
        }
        async fn list_shards(&self) -> Result<Vec<ShardInfo>, SourceError> {
            let inner = self.inner.lock().unwrap();
            Ok(inner.shards.iter().map(|s| s.info.clone()).collect())
        }
        async fn shard_iterator(
            &self,
            shard_id: &str,
            start: &IteratorStart,
        ) -> Result<Option<String>, SourceError> {
            let inner = self.inner.lock().unwrap();
            let shard = inner.shard(shard_id)?;
            let index = match start {
                IteratorStart::TrimHorizon => 0,
                IteratorStart::Latest => shard.records.len(),
                IteratorStart::AtTimestamp(at) => shard
                    .records
                    .iter()
                    .position(|r| r.arrival.is_some_and(|t| t >= *at))
                    .unwrap_or(shard.records.len()),
                IteratorStart::AfterSequence(after) => shard
                    .records
                    .iter()
                    .position(|r| sequence_cmp(&r.sequence_number, after).is_gt())
                    .unwrap_or(shard.records.len()),
            };
            Ok(Some(format!("{shard_id}|{index}")))
        }
        async fn get_records(&self, iterator: &str) -> Result<Page, SourceError> {
            let (shard_id, index) = iterator.split_once('|').expect("iterator");
            let index: usize = index.parse().expect("index");
            let inner = self.inner.lock().unwrap();
            let shard = inner.shard(shard_id)?;
            let end = shard.records.len().min(index + 100);
            let records = shard.records[index..end].to_vec();
            let closed_and_done =
                shard.info.ending_sequence.is_some() && end == shard.records.len();
            Ok(Page {
                records,
                // AWS ends a closed shard's chain with no next iterator.
                next_iterator: (!closed_and_done).then(|| format!("{shard_id}|{end}")),
                millis_behind: Some(0),
            })
        }
    }

    /// A DynamoDB stream as moto 5.2.5 keeps one: a record's number is the shard's length
    /// when its write began, so writes that raced share numbers or come after higher ones;
    /// `AFTER_SEQUENCE_NUMBER n` starts at index n + 1, and a page's next iterator starts
    /// after the highest number in it (or where it was, for an empty page).
    #[derive(Clone)]
    struct MotoLikeStream {
        /// Each record's sequence number, in shard order.
        numbers: Arc<Vec<u64>>,
        page: usize,
    }

    impl MotoLikeStream {
        /// `lags[i]`: how many writes began before record i's and were appended after it.
        fn new(lags: &[usize], page: usize) -> MotoLikeStream {
            let numbers = lags
                .iter()
                .enumerate()
                .map(|(index, lag)| index.saturating_sub(*lag) as u64)
                .collect();
            MotoLikeStream {
                numbers: Arc::new(numbers),
                page,
            }
        }
    }

    impl StreamSource for MotoLikeStream {
        fn name(&self) -> String {
            "moto-like stream".into()
        }
        fn checkpoint_key(&self) -> String {
            "moto-like".into()
        }
        fn not_found_message(&self) -> String {
            "moto-like stream not found".into()
        }
        fn min_call_gap(&self) -> Duration {
            Duration::ZERO
        }
        fn supports_timestamps(&self) -> bool {
            false
        }
        async fn list_shards(&self) -> Result<Vec<ShardInfo>, SourceError> {
            Ok(vec![ShardInfo {
                id: "shard-0".into(),
                parent: None,
                adjacent_parent: None,
                ending_sequence: None,
            }])
        }
        async fn shard_iterator(
            &self,
            _shard_id: &str,
            start: &IteratorStart,
        ) -> Result<Option<String>, SourceError> {
            let index = match start {
                IteratorStart::AfterSequence(after) => after.parse::<usize>().unwrap() + 1,
                _ => 0,
            };
            Ok(Some(index.to_string()))
        }
        async fn get_records(&self, iterator: &str) -> Result<Page, SourceError> {
            let index: usize = iterator.parse().unwrap();
            let end = self.numbers.len().min(index + self.page);
            let records: Vec<RawRecord> = (index.min(end)..end)
                .map(|i| RawRecord {
                    sequence_number: self.numbers[i].to_string(),
                    partition_key: i.to_string(),
                    data: i.to_string().into_bytes(),
                    arrival: None,
                })
                .collect();
            let next = match self
                .numbers
                .get(index.min(end)..end)
                .and_then(|n| n.iter().max())
            {
                Some(highest) => highest + 1,
                None => index as u64,
            };
            Ok(Page {
                records,
                next_iterator: Some(next.to_string()),
                millis_behind: None,
            })
        }
    }

    /// Drains `stream` from `positions` (or its start), recording positions as `relay` does.
    async fn drain_moto_like(stream: &MotoLikeStream, positions: &mut Positions) -> Vec<usize> {
        let mut reader = ShardReader::new(
            stream.clone(),
            options(StartPosition::TrimHorizon, false),
            Some(&*positions),
        );
        let mut seen = Vec::new();
        loop {
            let event = tokio::time::timeout(Duration::from_secs(5), reader.next())
                .await
                .expect("the drain ends: records read before are not read forever")
                .expect("no error");
            match event {
                ReaderEvent::Records { shard_id, records } => {
                    if let Some(last) = records.last() {
                        positions.advance(&shard_id, &last.sequence_number);
                    }
                    seen.extend(
                        records
                            .iter()
                            .map(|r| String::from_utf8_lossy(&r.data).parse::<usize>().unwrap()),
                    );
                }
                ReaderEvent::ShardFinished(_) => {}
                ReaderEvent::CaughtUp => return seen,
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// The emulator's numbering under concurrent writes: a drain still ends, hands out
        /// every record once, and a drain resumed from its positions loses nothing.
        #[test]
        fn a_stream_that_repeats_records_is_drained_once_and_ends(
            lags in proptest::collection::vec(
                proptest::prop_oneof![6 => proptest::strategy::Just(0usize), 1 => 1usize..20],
                1..400,
            ),
            // Larger than any lag, as moto's pages (1,000) are larger than the writes that can
            // race (8 batches of 25).
            page in 20usize..80,
            split in 0usize..400,
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            let (first, rest) = runtime.block_on(async {
                // Part of the stream, drained; then all of it, resumed from there.
                let part = MotoLikeStream::new(&lags[..split.min(lags.len())], page);
                let whole = MotoLikeStream::new(&lags, page);
                let mut positions = Positions::default();
                let first = drain_moto_like(&part, &mut positions).await;
                let rest = drain_moto_like(&whole, &mut positions).await;
                (first, rest)
            });
            let mut once = first.clone();
            once.sort_unstable();
            let expected: Vec<usize> = (0..split.min(lags.len())).collect();
            proptest::prop_assert_eq!(&once, &expected, "the first drain: each record once");
            let mut all: Vec<usize> = first.iter().chain(&rest).copied().collect();
            all.sort_unstable();
            all.dedup();
            proptest::prop_assert_eq!(all.len(), lags.len(), "nothing lost across the resume");
        }
    }

    fn options(start: StartPosition, follow: bool) -> ReaderOptions {
        ReaderOptions {
            start,
            follow,
            idle_poll: Duration::from_millis(5),
            relist_every: Duration::from_millis(10),
        }
    }

    /// Reads like `tail-cdc --checkpoint`: every record handed out advances the positions,
    /// every finished shard is recorded. Stops at caught-up, or after `stop_after` records.
    async fn read_into(
        reader: &mut ShardReader<FakeStream>,
        positions: &mut Positions,
        stop_after: Option<usize>,
    ) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let event = tokio::time::timeout(Duration::from_secs(5), reader.next())
                .await
                .expect("the reader answers")
                .expect("no error");
            match event {
                ReaderEvent::Records { shard_id, records } => {
                    for record in records {
                        positions.advance(&shard_id, &record.sequence_number);
                        seen.push(String::from_utf8(record.data).unwrap());
                    }
                }
                ReaderEvent::ShardFinished(shard_id) => {
                    positions.finish(&shard_id);
                }
                ReaderEvent::CaughtUp => return seen,
            }
            if stop_after.is_some_and(|n| seen.len() >= n) {
                return seen;
            }
        }
    }

    /// Reads `stream` from the trim horizon without following, as [`read_into`] does; from
    /// where `positions` stand when `resume`.
    async fn read_from_trim_horizon(
        stream: &FakeStream,
        positions: &mut Positions,
        resume: bool,
        stop_after: Option<usize>,
    ) -> Vec<String> {
        let start = options(StartPosition::TrimHorizon, false);
        let mut reader = ShardReader::new(stream.clone(), start, resume.then_some(&*positions));
        read_into(&mut reader, positions, stop_after).await
    }

    #[tokio::test]
    async fn a_follow_checkpoint_resumes_after_a_split_with_no_replay() {
        // The repro: 1 shard, 1,000 puts, split, 1,000 puts; a following tail from
        // latest with a checkpoint sees 100 new puts and stops; the next tail (not following)
        // must show nothing again.
        let stream = FakeStream::with_shard();
        stream.put(1000, "before");
        stream.split("shard-0");
        stream.put(1000, "after");

        let mut positions = Positions {
            origin: StartPosition::Latest.origin(Utc::now()),
            ..Positions::default()
        };
        let mut first =
            ShardReader::new(stream.clone(), options(StartPosition::Latest, true), None);
        // Let the reader take its LATEST iterators before the new puts arrive.
        let warm = tokio::time::timeout(Duration::from_millis(100), first.next()).await;
        if let Ok(Ok(ReaderEvent::ShardFinished(shard))) = warm {
            positions.finish(&shard);
        }
        // The shard tasks take their LATEST iterators concurrently; let them.
        tokio::time::sleep(Duration::from_millis(50)).await;
        stream.put(100, "new");
        let shown = read_into(&mut first, &mut positions, Some(100)).await;
        assert_eq!(shown.len(), 100);
        assert!(shown.iter().all(|s| s.starts_with("new-")), "{shown:?}");
        drop(first);
        assert_eq!(
            positions.get("shard-0").map(|p| p.finished),
            Some(true),
            "the closed parent skipped by a latest start is recorded as finished"
        );

        let replayed = read_from_trim_horizon(&stream, &mut positions, true, None).await;
        assert_eq!(
            replayed,
            Vec::<String>::new(),
            "nothing shown before is shown again"
        );

        stream.put(10, "later");
        let mut later = read_from_trim_horizon(&stream, &mut positions, true, None).await;
        later.sort();
        let mut expected: Vec<String> = (0..10).map(|n| format!("later-{n}")).collect();
        expected.sort();
        assert_eq!(later, expected, "and everything new is shown once");
    }

    #[tokio::test]
    async fn a_resumed_read_continues_through_a_split_parent_before_children() {
        let stream = FakeStream::with_shard();
        stream.put(250, "old");
        let mut positions = Positions::default();
        // Stop part-way through the parent.
        let part = read_from_trim_horizon(&stream, &mut positions, false, Some(100)).await;
        assert_eq!(part.len(), 100);
        stream.split("shard-0");
        stream.put(300, "new");

        let rest = read_from_trim_horizon(&stream, &mut positions, true, None).await;
        assert_eq!(
            rest.len(),
            150 + 300,
            "the rest of the parent, then both children"
        );
        let first_new = rest.iter().position(|s| s.starts_with("new-")).unwrap();
        assert!(
            rest[..first_new].iter().all(|s| s.starts_with("old-")) && first_new == 150,
            "every parent record comes before any child record"
        );
        let mut all: Vec<&String> = part.iter().chain(rest.iter()).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 550, "no record twice");
    }

    #[tokio::test]
    async fn a_merged_child_waits_for_both_parents_and_a_resume_repeats_nothing() {
        let stream = FakeStream::with_shard();
        stream.split("shard-0");
        stream.put(300, "split");
        stream.merge("shard-0a", "shard-0b");
        stream.put(50, "merged");
        let mut positions = Positions::default();
        let part = read_from_trim_horizon(&stream, &mut positions, false, Some(120)).await;
        let rest = read_from_trim_horizon(&stream, &mut positions, true, None).await;
        let all: Vec<&String> = part.iter().chain(rest.iter()).collect();
        assert_eq!(all.len(), 350, "every record once");
        let first_merged = all.iter().position(|s| s.starts_with("merged-")).unwrap();
        assert_eq!(
            first_merged, 300,
            "both parents are read to their end first"
        );
        let distinct: std::collections::HashSet<&&String> = all.iter().collect();
        assert_eq!(distinct.len(), 350);
    }
}

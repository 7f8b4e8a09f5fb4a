//! The relay's durable state: per-shard positions of both stages, the flush in progress and
//! recent event ids, written atomically so a killed relay resumes with no loss and no repeat.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checkpoint::write_atomically;
use crate::error::config_error;
pub use crate::kinesis_reader::sequence_cmp;

/// How many delivered event ids are remembered to drop the copies a killed pipe stage may
/// re-put: far more than one put batch (500) per shard.
const RECENT_IDS: usize = 20_000;

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayState {
    /// Which streams these positions belong to; a recreated stream (or a wiped emulator)
    /// gets fresh state instead of positions that point nowhere.
    pub source_stream_arn: Option<String>,
    pub kinesis_stream_id: Option<String>,
    /// DynamoDB stream shard -> last sequence number put into Kinesis.
    pub pipe_positions: BTreeMap<String, String>,
    /// Kinesis shard -> last sequence number whose row is durably in S3.
    pub firehose_positions: BTreeMap<String, String>,
    /// A flush whose objects may be partly written: replayed exactly before anything else.
    pub pending_flush: Option<PendingFlush>,
    /// Event ids delivered lately, oldest first.
    pub recent_event_ids: VecDeque<String>,
    pub totals: Totals,
    /// `recent_event_ids` as a set for lookups: rebuilt on load, kept in step by `remember`.
    #[serde(skip)]
    recent_index: HashSet<String>,
}

/// The exact Kinesis range of one flush, per shard: after `start_after` (None = from the
/// shard's start) up to and including `last`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingFlush {
    pub ranges: BTreeMap<String, ShardRange>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRange {
    pub start_after: Option<String>,
    pub last: String,
}

/// Running totals across restarts, for the summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub piped: u64,
    pub rows: u64,
    pub failed: u64,
    pub duplicates_dropped: u64,
    pub objects: u64,
}

impl RelayState {
    /// Reads the state file; a missing file is a fresh start.
    pub fn load(path: &Path) -> anyhow::Result<RelayState> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let mut state: RelayState = serde_json::from_slice(&bytes).map_err(|e| {
                    config_error(format!(
                        "relay checkpoint {} is unreadable ({e}): delete it to start from the beginning of the streams",
                        path.display()
                    ))
                })?;
                state.recent_index = state.recent_event_ids.iter().cloned().collect();
                Ok(state)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RelayState::default()),
            Err(e) => Err(config_error(format!(
                "cannot read relay checkpoint {}: {e}",
                path.display()
            ))),
        }
    }

    /// Replaces the file atomically (see [`write_atomically`]).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        write_atomically(path, &serde_json::to_vec(self)?)?;
        Ok(())
    }

    /// Keeps positions only if they belong to these streams.
    pub fn bind_to(&mut self, source_stream_arn: &str, kinesis_stream_id: &str) -> bool {
        let same = self.source_stream_arn.as_deref() == Some(source_stream_arn)
            && self.kinesis_stream_id.as_deref() == Some(kinesis_stream_id);
        let fresh = self.source_stream_arn.is_none() && self.kinesis_stream_id.is_none();
        if !same {
            *self = RelayState {
                source_stream_arn: Some(source_stream_arn.to_string()),
                kinesis_stream_id: Some(kinesis_stream_id.to_string()),
                ..RelayState::default()
            };
        }
        same || fresh
    }

    /// Remembers delivered event ids, forgetting the oldest beyond the window.
    pub fn remember(&mut self, ids: impl IntoIterator<Item = String>) {
        for id in ids {
            // An id already in the window stays where it is, so the set and the queue agree.
            if self.recent_index.insert(id.clone()) {
                self.recent_event_ids.push_back(id);
            }
        }
        while self.recent_event_ids.len() > RECENT_IDS {
            if let Some(oldest) = self.recent_event_ids.pop_front() {
                self.recent_index.remove(&oldest);
            }
        }
    }

    /// The ids of `recent_event_ids`, for lookups.
    pub fn delivered(&self) -> &HashSet<String> {
        &self.recent_index
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn saves_and_loads_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/relay.json");
        assert_eq!(RelayState::load(&path).unwrap(), RelayState::default());
        let mut state = RelayState::default();
        state.bind_to("arn:stream", "kinesis@1");
        state
            .firehose_positions
            .insert("shardId-0".into(), "49".into());
        state.pending_flush = Some(PendingFlush {
            ranges: BTreeMap::from([(
                "shardId-0".into(),
                ShardRange {
                    start_after: None,
                    last: "49".into(),
                },
            )]),
        });
        state.save(&path).unwrap();
        assert_eq!(RelayState::load(&path).unwrap(), state);
        let files: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files, ["relay.json"], "no temporary file is left behind");
    }

    #[test]
    fn a_corrupt_checkpoint_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.json");
        std::fs::write(&path, b"{not json").unwrap();
        let message = RelayState::load(&path).unwrap_err().to_string();
        assert!(message.contains("delete it"), "{message}");
    }

    #[test]
    fn other_streams_reset_the_positions() {
        let mut state = RelayState::default();
        assert!(state.bind_to("a", "k"));
        state.pipe_positions.insert("s".into(), "1".into());
        assert!(state.bind_to("a", "k"));
        assert_eq!(state.pipe_positions.len(), 1);
        assert!(!state.bind_to("b", "k"));
        assert!(state.pipe_positions.is_empty());
        assert_eq!(state.source_stream_arn.as_deref(), Some("b"));
    }

    #[test]
    fn the_id_window_is_bounded() {
        let mut state = RelayState::default();
        state.remember((0..RECENT_IDS + 5).map(|i| i.to_string()));
        assert_eq!(state.recent_event_ids.len(), RECENT_IDS);
        assert_eq!(
            state.recent_event_ids.front().map(String::as_str),
            Some("5")
        );
    }

    proptest! {
        #[test]
        fn sequence_order_is_numeric(a in 0u128.., b in 0u128..) {
            prop_assert_eq!(sequence_cmp(&a.to_string(), &b.to_string()), a.cmp(&b));
            prop_assert_eq!(sequence_cmp(&format!("00{a}"), &a.to_string()), Ordering::Equal);
        }
    }
}

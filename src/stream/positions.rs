//! Read positions: where each shard of a stream was read to, which closed shards are done,
//! and where a reader that has no position for a shard starts; plus `tail-cdc`'s file of them.
//!
//! The relay keeps the same [`Positions`] in its own state; the file here is replaced
//! atomically, so a resumed tail starts right after the last change it printed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{config_error, usage_error};

const VERSION: u32 = 1;

/// Where one shard was read to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardPosition {
    /// The sequence number of the last record handled; resume AFTER it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// The shard is closed and was read to its end (or had nothing to read): never read it
    /// again. Its children may start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub finished: bool,
}

/// The positions of every shard of one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Positions {
    /// Where the first reader started in time (from `latest` or a time); a shard with no
    /// position is read from here on resume, since nothing of it was handled. `None`: from
    /// the shard's start.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339")]
    pub origin: Option<DateTime<Utc>>,
    #[serde(default)]
    pub shards: BTreeMap<String, ShardPosition>,
}

impl Positions {
    pub fn get(&self, shard_id: &str) -> Option<&ShardPosition> {
        self.shards.get(shard_id)
    }

    /// Records that `sequence_number` of `shard_id` was handled; true if that is news.
    pub fn advance(&mut self, shard_id: &str, sequence_number: &str) -> bool {
        let entry = self.shards.entry(shard_id.to_owned()).or_default();
        if entry.sequence_number.as_deref() == Some(sequence_number) {
            return false;
        }
        entry.sequence_number = Some(sequence_number.to_owned());
        true
    }

    /// Records that `shard_id` is closed and was read to its end; true if that is news.
    pub fn finish(&mut self, shard_id: &str) -> bool {
        let entry = self.shards.entry(shard_id.to_owned()).or_default();
        !std::mem::replace(&mut entry.finished, true)
    }
}

/// An optional time as RFC 3339 text (chrono's serde feature would rebuild DataFusion's
/// whole dependency tree for this one field).
mod rfc3339 {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|text| {
            DateTime::parse_from_rfc3339(&text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct FileBody {
    version: u32,
    /// `kinesis:<stream name>` or `dynamodb-stream:<stream ARN>`: a checkpoint of one stream
    /// must never steer the read of another.
    source: String,
    #[serde(flatten)]
    positions: Positions,
}

/// `tail-cdc --checkpoint FILE`: the positions of one stream, in memory; [`Checkpoint::save`]
/// writes them.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    path: PathBuf,
    body: FileBody,
    /// The file existed when opened: its positions steer the reader.
    resumed: bool,
    dirty: bool,
}

impl Checkpoint {
    /// Opens the checkpoint at `path` for `source`, or starts an empty one whose origin is
    /// `origin` (where this first reader starts in time) when the file does not exist yet.
    pub fn open(
        path: &Path,
        source: &str,
        origin: Option<DateTime<Utc>>,
    ) -> anyhow::Result<Checkpoint> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Checkpoint {
                    path: path.to_owned(),
                    body: FileBody {
                        version: VERSION,
                        source: source.to_owned(),
                        positions: Positions {
                            origin,
                            shards: BTreeMap::new(),
                        },
                    },
                    resumed: false,
                    // The origin alone is worth keeping: a run stopped before it showed
                    // anything must still resume from where it started.
                    dirty: true,
                });
            }
            Err(e) => {
                let fix = match e.kind() {
                    std::io::ErrorKind::PermissionDenied => {
                        "make it readable and writable, or pass another --checkpoint"
                    }
                    std::io::ErrorKind::InvalidData => {
                        "it is not a tail-cdc checkpoint (not text): delete it to start over, or pass another --checkpoint"
                    }
                    std::io::ErrorKind::IsADirectory => {
                        "it is a directory: pass a file path, e.g. --checkpoint tail.json"
                    }
                    _ => "pass another --checkpoint",
                };
                return Err(config_error(format!(
                    "cannot read checkpoint {}: {e}: {fix}",
                    path.display()
                )));
            }
        };
        let body: FileBody = serde_json::from_str(&text).map_err(|e| {
            config_error(format!(
                "checkpoint {} is not a tail-cdc checkpoint ({e}): delete it to start over or pass another --checkpoint",
                path.display()
            ))
        })?;
        if body.version != VERSION {
            return Err(config_error(format!(
                "checkpoint {} has version {}, this salesctl writes {VERSION}: delete it to start over",
                path.display(),
                body.version
            )));
        }
        if body.source != source {
            return Err(usage_error(format!(
                "checkpoint {} belongs to {}, not {source}: pass another --checkpoint",
                path.display(),
                body.source
            )));
        }
        Ok(Checkpoint {
            path: path.to_owned(),
            body,
            resumed: true,
            dirty: false,
        })
    }

    /// The stored positions when the file existed (they steer the reader), else `None`.
    pub fn resumed_positions(&self) -> Option<&Positions> {
        self.resumed.then_some(&self.body.positions)
    }

    pub fn positions(&self) -> &Positions {
        &self.body.positions
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records that `sequence_number` of `shard_id` was handed to the output.
    pub fn advance(&mut self, shard_id: &str, sequence_number: &str) {
        self.dirty |= self.body.positions.advance(shard_id, sequence_number);
    }

    /// Records that `shard_id` is closed and was read to its end.
    pub fn finish(&mut self, shard_id: &str) {
        self.dirty |= self.body.positions.finish(shard_id);
    }

    /// Writes the file if anything changed (see [`write_atomically`]).
    pub fn save(&mut self) -> anyhow::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut text = serde_json::to_vec_pretty(&self.body)?;
        text.push(b'\n');
        write_atomically(&self.path, &text).map_err(|e| {
            config_error(format!(
                "cannot write checkpoint {}: {e}: check the directory exists and is writable",
                self.path.display()
            ))
        })?;
        self.dirty = false;
        Ok(())
    }
}

/// Replaces `path` with `bytes` so that a reader (or a restart after a crash) sees the old
/// file or the new one, never half of one: write a per-process sibling, fsync, rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ExitStatus, exit_status_of};

    #[test]
    fn round_trips_positions_and_refuses_another_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        let origin = DateTime::parse_from_rfc3339("2026-11-20T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut cp = Checkpoint::open(&path, "kinesis:a", Some(origin)).unwrap();
        assert!(cp.resumed_positions().is_none());
        cp.advance("shardId-000000000000", "17");
        cp.finish("shardId-000000000001");
        cp.save().unwrap();

        let again = Checkpoint::open(&path, "kinesis:a", None).unwrap();
        let positions = again.resumed_positions().expect("resumed");
        assert_eq!(
            positions.origin,
            Some(origin),
            "the first run's origin is kept"
        );
        assert_eq!(
            positions.get("shardId-000000000000"),
            Some(&ShardPosition {
                sequence_number: Some("17".into()),
                finished: false
            })
        );
        assert_eq!(
            positions.get("shardId-000000000001"),
            Some(&ShardPosition {
                sequence_number: None,
                finished: true
            })
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "the temporary file was renamed away");

        let other = Checkpoint::open(&path, "kinesis:b", None).unwrap_err();
        assert!(
            other.to_string().contains("belongs to kinesis:a"),
            "{other}"
        );
    }

    #[test]
    fn a_run_that_showed_nothing_still_records_where_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        let origin = Utc::now();
        let mut cp = Checkpoint::open(&path, "kinesis:a", Some(origin)).unwrap();
        cp.save().unwrap();
        let again = Checkpoint::open(&path, "kinesis:a", None).unwrap();
        assert_eq!(again.resumed_positions().unwrap().origin, Some(origin));
    }

    #[test]
    fn garbage_is_a_config_error_naming_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        std::fs::write(&path, "not json").unwrap();
        let error = Checkpoint::open(&path, "kinesis:a", None).unwrap_err();
        assert!(
            error.to_string().contains("delete it to start over"),
            "{error}"
        );
        assert_eq!(exit_status_of(&error), ExitStatus::CONFIG);
    }
}

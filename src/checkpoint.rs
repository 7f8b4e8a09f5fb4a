//! Per-shard read positions of `tail-cdc` in a small JSON file, replaced atomically, so a
//! resumed tail starts right after the last change it printed: no gap and no repeat.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{config_error, usage_error};

const VERSION: u32 = 1;

/// Where one shard was read to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardPosition {
    /// The sequence number of the last record handed to the output; resume AFTER it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// The shard is closed and was read to its end: never read it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub finished: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct FileBody {
    version: u32,
    /// `kinesis:<stream name>` or `dynamodb-stream:<stream ARN>`: a checkpoint of one stream
    /// must never steer the read of another.
    source: String,
    shards: BTreeMap<String, ShardPosition>,
}

/// The checkpoint of one stream, in memory; [`Checkpoint::save`] writes it.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    path: PathBuf,
    body: FileBody,
    /// The file existed when opened, so shards missing from it are new since the last run.
    resumed: bool,
    dirty: bool,
}

impl Checkpoint {
    /// Opens the checkpoint at `path` for `source`, or starts an empty one when the file does
    /// not exist yet.
    pub fn open(path: &Path, source: &str) -> anyhow::Result<Checkpoint> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Checkpoint {
                    path: path.to_owned(),
                    body: FileBody {
                        version: VERSION,
                        source: source.to_owned(),
                        shards: BTreeMap::new(),
                    },
                    resumed: false,
                    dirty: false,
                });
            }
            Err(e) => {
                return Err(config_error(format!(
                    "cannot read checkpoint {}: {e}: fix its permissions or pass another --checkpoint",
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

    /// True when positions were loaded from an existing file.
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, shard_id: &str) -> Option<&ShardPosition> {
        self.body.shards.get(shard_id)
    }

    pub fn positions(&self) -> impl Iterator<Item = (&str, &ShardPosition)> {
        self.body.shards.iter().map(|(id, p)| (id.as_str(), p))
    }

    /// Records that `sequence_number` of `shard_id` was handed to the output.
    pub fn advance(&mut self, shard_id: &str, sequence_number: &str) {
        let entry = self.body.shards.entry(shard_id.to_owned()).or_default();
        if entry.sequence_number.as_deref() != Some(sequence_number) {
            entry.sequence_number = Some(sequence_number.to_owned());
            self.dirty = true;
        }
    }

    /// Records that `shard_id` is closed and was read to its end.
    pub fn finish(&mut self, shard_id: &str) {
        let entry = self.body.shards.entry(shard_id.to_owned()).or_default();
        if !entry.finished {
            entry.finished = true;
            self.dirty = true;
        }
    }

    /// Writes the file if anything changed: a temporary file in the same directory, flushed
    /// to disk, then renamed over the old one, so a crash leaves either the old or the new
    /// checkpoint, never half of one.
    pub fn save(&mut self) -> anyhow::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let fail = |e: std::io::Error| {
            config_error(format!(
                "cannot write checkpoint {}: {e}: check the directory exists and is writable",
                self.path.display()
            ))
        };
        let mut text = serde_json::to_vec_pretty(&self.body)?;
        text.push(b'\n');
        write_atomically(&self.path, &text).map_err(fail)?;
        self.dirty = false;
        self.resumed = true;
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

    #[test]
    fn round_trips_positions_and_refuses_another_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        let mut cp = Checkpoint::open(&path, "kinesis:a").unwrap();
        assert!(!cp.resumed());
        cp.advance("shardId-000000000000", "17");
        cp.finish("shardId-000000000001");
        cp.save().unwrap();

        let again = Checkpoint::open(&path, "kinesis:a").unwrap();
        assert!(again.resumed());
        assert_eq!(
            again.get("shardId-000000000000"),
            Some(&ShardPosition {
                sequence_number: Some("17".into()),
                finished: false
            })
        );
        assert_eq!(
            again.get("shardId-000000000001"),
            Some(&ShardPosition {
                sequence_number: None,
                finished: true
            })
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "the temporary file was renamed away");

        let other = Checkpoint::open(&path, "kinesis:b").unwrap_err();
        assert!(
            other.to_string().contains("belongs to kinesis:a"),
            "{other}"
        );
    }

    #[test]
    fn garbage_is_a_config_error_naming_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cp.json");
        std::fs::write(&path, "not json").unwrap();
        let error = Checkpoint::open(&path, "kinesis:a").unwrap_err();
        assert!(
            error.to_string().contains("delete it to start over"),
            "{error}"
        );
        assert_eq!(
            crate::error::exit_status_of(&error),
            crate::error::ExitStatus::CONFIG
        );
    }
}

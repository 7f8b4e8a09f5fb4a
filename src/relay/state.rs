//! The relay's durable state, kept per stack (not per working directory): a lock so only one
//! relay runs per stack, the read positions of both stages, and a flush's write-ahead spool.
//!
//! Layout of the state directory (see [`default_state_dir`]):
//! - `relay.lock`: held with an OS file lock while a relay runs (released when it dies, even
//!   by kill -9); its text names the holder.
//!
//! Besides, `<state root>/relay/locks/<stack>.lock` ([`stack_lock_path`]) is held the same
//! way, keyed by the stack's identity rather than by where its state is, so `--state-dir`
//! cannot start a second live relay for the stack.
//! - `pipe.json`: DynamoDB stream positions acknowledged by Kinesis; saved per PutRecords.
//! - `firehose.json`: Kinesis positions whose rows are in S3, recent record fingerprints
//!   (to drop copies a killed pipe stage re-put) and running totals; saved per flush.
//! - `flush.pending.json`: a flush's objects and the state it commits, written before the
//!   first object; a relay that finds it re-puts the same objects (same keys) and commits,
//!   so a crash mid-flush neither loses nor doubles a row.

use std::collections::{HashSet, VecDeque};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use sha2::{Digest, Sha256};

use crate::error::config_error;
use crate::stream::positions::{Positions, write_atomically};

/// How many delivered fingerprints are remembered to drop the copies a killed pipe stage may
/// re-put: far more than one put batch (500) per shard.
const RECENT_IDS: usize = 20_000;

const LOCK_FILE: &str = "relay.lock";
/// Under the state root: one lock file per stack, whatever state directory its relay uses.
const STACK_LOCKS: &str = "relay/locks";
/// File names stay well under the usual 255-byte limit; longer ones end in a hash.
const MAX_LOCK_NAME: usize = 200;
const PIPE_FILE: &str = "pipe.json";
const FIREHOSE_FILE: &str = "firehose.json";
const PENDING_FILE: &str = "flush.pending.json";

/// The stack a relay works on: what makes two relays the same relay, however they were
/// started. `endpoint` is the canonical spelling (`None` for AWS), so `localhost`,
/// `127.0.0.1` and a trailing slash are one stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackIdentity<'a> {
    pub endpoint: Option<&'a str>,
    pub region: &'a str,
    pub table: &'a str,
    pub stream: &'a str,
    pub bucket: &'a str,
}

impl StackIdentity<'_> {
    /// `<endpoint>-<region>`, readable in a path.
    fn place(&self) -> String {
        format!("{}-{}", slug(self.endpoint.unwrap_or("aws")), self.region)
    }

    /// `<table>+<stream>+<bucket>`, readable in a path (none of the three names can hold a
    /// `+`, so the parts cannot run into each other).
    fn names(&self) -> String {
        slug(&format!("{}+{}+{}", self.table, self.stream, self.bucket))
    }
}

/// Where a stack's relay keeps its state: `<root>/relay/<endpoint>-<region>/<table>+<stream>+<bucket>`
/// under the state root the context resolved (`$SALESCTL_STATE_DIR`, else
/// `$XDG_STATE_HOME/salesctl`, else `~/.local/state/salesctl`), so every directory a relay is
/// started from finds the same state, and two stacks never share one.
pub fn default_state_dir(
    root: Option<&Path>,
    stack: &StackIdentity<'_>,
) -> anyhow::Result<PathBuf> {
    let root = root.ok_or_else(|| {
        config_error("no place for the relay's state: set SALESCTL_STATE_DIR or HOME")
    })?;
    Ok(root.join("relay").join(stack.place()).join(stack.names()))
}

/// The stack's own lock file, `<root>/relay/locks/<endpoint>-<region>+<table>+<stream>+<bucket>.lock`:
/// the same for every relay of the stack whatever `--state-dir` it was given, so a second one
/// is refused even when it keeps its state elsewhere. A name too long for a file system ends
/// in a hash of the whole identity instead.
pub fn stack_lock_path(root: &Path, stack: &StackIdentity<'_>) -> PathBuf {
    let mut name = format!("{}+{}", stack.place(), stack.names());
    if name.len() > MAX_LOCK_NAME {
        let digest = Sha256::digest(name.as_bytes());
        let hash: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        let mut cut = MAX_LOCK_NAME - hash.len() - 1;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name = format!("{}-{hash}", &name[..cut]);
    }
    root.join(STACK_LOCKS).join(format!("{name}.lock"))
}

/// Keeps a name readable in a path: letters, digits, `.`, `_`, `+` and `-`; the rest `-`.
fn slug(text: &str) -> String {
    let text = text
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The pipe stage's positions, bound to the streams they were read from and written to.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipeState {
    pub source_stream_arn: String,
    pub kinesis_stream_id: String,
    pub positions: Positions,
    /// Records acknowledged by Kinesis, over every run.
    pub piped: u64,
}

/// Running totals of the firehose stage across restarts, for the summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub rows: u64,
    pub failed: u64,
    pub duplicates_dropped: u64,
    pub objects: u64,
}

/// The firehose stage's committed state: what is durably in S3.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirehoseState {
    pub kinesis_stream_id: String,
    pub positions: Positions,
    /// Fingerprints of records delivered lately, oldest first.
    pub recent: VecDeque<String>,
    pub totals: Totals,
    /// `recent` as a set for lookups: rebuilt on load, kept in step by `remember`.
    #[serde(skip)]
    recent_index: HashSet<String>,
}

impl FirehoseState {
    pub fn new(kinesis_stream_id: &str) -> FirehoseState {
        FirehoseState {
            kinesis_stream_id: kinesis_stream_id.to_string(),
            ..FirehoseState::default()
        }
    }

    /// Remembers delivered fingerprints, forgetting the oldest beyond the window.
    pub fn remember(&mut self, ids: impl IntoIterator<Item = String>) {
        for id in ids {
            // An id already in the window stays where it is, so the set and the queue agree.
            if self.recent_index.insert(id.clone()) {
                self.recent.push_back(id);
            }
        }
        while self.recent.len() > RECENT_IDS {
            if let Some(oldest) = self.recent.pop_front() {
                self.recent_index.remove(&oldest);
            }
        }
    }

    /// The fingerprints of `recent`, for lookups.
    pub fn delivered(&self) -> &HashSet<String> {
        &self.recent_index
    }

    /// This state with its lookup set rebuilt (serde skips it).
    pub fn reindexed(mut self) -> FirehoseState {
        self.recent_index = self.recent.iter().cloned().collect();
        self
    }
}

/// One object of a flush.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpooledObject {
    pub key: String,
    #[serde(with = "spooled_body")]
    pub body: Vec<u8>,
}

/// An object's body in the spool: JSON lines as their text (as spools always held them), any
/// other bytes (a Parquet object) as `{"base64": "…"}`.
mod spooled_body {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Body {
        Text(String),
        Bytes { base64: String },
    }

    pub fn serialize<S: Serializer>(body: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(body) {
            Ok(text) => Body::Text(text.to_string()),
            Err(_) => Body::Bytes {
                base64: STANDARD.encode(body),
            },
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        match Body::deserialize(deserializer)? {
            Body::Text(text) => Ok(text.into_bytes()),
            Body::Bytes { base64 } => STANDARD.decode(base64).map_err(serde::de::Error::custom),
        }
    }
}

/// A flush written ahead: its objects, and the firehose state once they are all in S3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingFlush {
    pub objects: Vec<SpooledObject>,
    pub commit: FirehoseState,
}

/// A stack's relay state directory, locked for this process.
pub struct StateStore {
    dir: PathBuf,
    /// Hold the OS locks (the stack's, then the state directory's) until dropped or the
    /// process dies.
    _locks: Vec<File>,
}

/// Which lock a refusal is about, for its message.
#[derive(Clone, Copy)]
enum LockKind {
    Stack,
    StateDir,
}

/// Takes the OS lock on `path` (created if needed) and writes the holder into it: this pid,
/// since when, and its state directory. A relay already holding it is a one-line error
/// naming that relay.
fn take_lock(path: &Path, kind: LockKind, state_dir: &Path) -> anyhow::Result<File> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| config_error(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "another relay".to_string(),
                text => text.to_string(),
            };
            let what = match kind {
                LockKind::Stack => "for this stack".to_string(),
                LockKind::StateDir => format!("with the state directory {}", state_dir.display()),
            };
            return Err(config_error(format!(
                "a relay is already running {what} ({holder}): stop it first, one relay per stack keeps the lake free of duplicates"
            )));
        }
        Err(TryLockError::Error(e)) => {
            return Err(config_error(format!(
                "cannot lock {}: {e}: pass --state-dir DIR on a local disk (and SALESCTL_STATE_DIR for the stack's lock)",
                path.display()
            )));
        }
    }
    let holder = format!(
        "pid {} since {}, state {}",
        std::process::id(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        state_dir.display()
    );
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(holder.as_bytes())?;
    Ok(file)
}

impl StateStore {
    /// Creates `dir` if needed and takes its lock alone (see [`StateStore::open`]).
    pub fn lock(dir: &Path) -> anyhow::Result<StateStore> {
        StateStore::open(dir, None)
    }

    /// Takes the stack's lock at `stack_lock` ([`stack_lock_path`]) when there is one, then
    /// creates `dir` if needed and takes its lock: a relay already holding either is a
    /// one-line error naming that relay. The stack's lock is what stops a second relay
    /// started with another `--state-dir`; without a state root (no HOME and no
    /// SALESCTL_STATE_DIR) there is no place for it, and the state directory's lock is all
    /// there is, so relays must then share one `--state-dir` to exclude each other.
    pub fn open(dir: &Path, stack_lock: Option<&Path>) -> anyhow::Result<StateStore> {
        let mut locks = Vec::new();
        if let Some(path) = stack_lock {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    config_error(format!(
                        "cannot create the relay lock directory {}: {e}: set SALESCTL_STATE_DIR to a writable directory",
                        parent.display()
                    ))
                })?;
            }
            locks.push(take_lock(path, LockKind::Stack, dir)?);
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            config_error(format!(
                "cannot create the relay state directory {}: {e}: pass --state-dir DIR",
                dir.display()
            ))
        })?;
        locks.push(take_lock(&dir.join(LOCK_FILE), LockKind::StateDir, dir)?);
        Ok(StateStore {
            dir: dir.to_path_buf(),
            _locks: locks,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The pipe stage's state, or a fresh one when there is none or it belongs to other
    /// streams (a recreated table or stream, a wiped emulator).
    pub fn load_pipe(
        &self,
        source_stream_arn: &str,
        kinesis_stream_id: &str,
    ) -> anyhow::Result<PipeState> {
        let fresh = PipeState {
            source_stream_arn: source_stream_arn.to_string(),
            kinesis_stream_id: kinesis_stream_id.to_string(),
            ..PipeState::default()
        };
        Ok(match self.read::<PipeState>(PIPE_FILE)? {
            Some(state)
                if state.source_stream_arn == source_stream_arn
                    && state.kinesis_stream_id == kinesis_stream_id =>
            {
                state
            }
            Some(_) => {
                tracing::warn!(
                    "relay state belonged to other streams; the pipe stage starts afresh"
                );
                fresh
            }
            None => fresh,
        })
    }

    pub fn save_pipe(&self, state: &PipeState) -> anyhow::Result<()> {
        self.write(PIPE_FILE, state)
    }

    /// The firehose stage's committed state (fresh for another Kinesis stream).
    pub fn load_firehose(&self, kinesis_stream_id: &str) -> anyhow::Result<FirehoseState> {
        Ok(match self.read::<FirehoseState>(FIREHOSE_FILE)? {
            Some(state) if state.kinesis_stream_id == kinesis_stream_id => state.reindexed(),
            Some(_) => {
                tracing::warn!(
                    "relay state belonged to another Kinesis stream; the firehose stage starts afresh"
                );
                FirehoseState::new(kinesis_stream_id)
            }
            None => FirehoseState::new(kinesis_stream_id),
        })
    }

    /// Records a flush before its first object is written.
    pub fn begin_flush(&self, pending: &PendingFlush) -> anyhow::Result<()> {
        self.write(PENDING_FILE, pending)
    }

    /// The flush a crashed relay left, if any.
    pub fn pending_flush(&self) -> anyhow::Result<Option<PendingFlush>> {
        Ok(self
            .read::<PendingFlush>(PENDING_FILE)?
            .map(|pending| PendingFlush {
                commit: pending.commit.reindexed(),
                ..pending
            }))
    }

    /// Makes a flush's state the committed one, then forgets the flush.
    pub fn commit_flush(&self, commit: &FirehoseState) -> anyhow::Result<()> {
        self.write(FIREHOSE_FILE, commit)?;
        match std::fs::remove_file(self.dir.join(PENDING_FILE)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(config_error(format!(
                "cannot remove {}: {e}",
                self.dir.join(PENDING_FILE).display()
            ))),
        }
    }

    fn read<T: DeserializeOwned>(&self, name: &str) -> anyhow::Result<Option<T>> {
        let path = self.dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                config_error(format!(
                    "relay state {} is unreadable ({e}): delete {} to start from the beginning of the streams",
                    path.display(),
                    self.dir.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(config_error(format!(
                "cannot read relay state {}: {e}",
                path.display()
            ))),
        }
    }

    fn write<T: Serialize>(&self, name: &str, value: &T) -> anyhow::Result<()> {
        let path = self.dir.join(name);
        write_atomically(&path, &serde_json::to_vec(value)?)
            .map_err(|e| config_error(format!("cannot write relay state {}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_stack_is_refused_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateStore::lock(dir.path()).unwrap();
        let second = StateStore::lock(dir.path()).err().expect("refused");
        let message = second.to_string();
        assert!(message.contains("already running"), "{message}");
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "names the holder: {message}"
        );
        drop(first);
        StateStore::lock(dir.path()).expect("free again once the holder is gone");
    }

    #[test]
    fn a_pending_flush_survives_until_committed() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::lock(dir.path()).unwrap();
        let mut commit = FirehoseState::new("k@1");
        commit.positions.advance("shard-0", "42");
        commit.remember(["ab".to_string()]);
        let pending = PendingFlush {
            objects: vec![
                SpooledObject {
                    key: "orders/dt=2026-11-20/hour=08/x".into(),
                    body: b"{}\n".to_vec(),
                },
                SpooledObject {
                    key: "orders/dt=2026-11-20/hour=08/y.parquet".into(),
                    body: b"PAR1\xff\x00\x80PAR1".to_vec(),
                },
            ],
            commit: commit.clone(),
        };
        store.begin_flush(&pending).unwrap();
        assert_eq!(store.pending_flush().unwrap(), Some(pending));
        store.commit_flush(&commit).unwrap();
        assert_eq!(store.pending_flush().unwrap(), None);
        let loaded = store.load_firehose("k@1").unwrap();
        assert_eq!(loaded.positions, commit.positions);
        assert!(
            loaded.delivered().contains("ab"),
            "the index is rebuilt on load"
        );
        assert_eq!(
            store.load_firehose("k@2").unwrap(),
            FirehoseState::new("k@2")
        );
    }

    #[test]
    fn pipe_state_of_other_streams_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::lock(dir.path()).unwrap();
        let mut state = store.load_pipe("arn:a", "k@1").unwrap();
        state.positions.advance("s", "1");
        store.save_pipe(&state).unwrap();
        assert_eq!(store.load_pipe("arn:a", "k@1").unwrap(), state);
        assert!(
            store
                .load_pipe("arn:b", "k@1")
                .unwrap()
                .positions
                .shards
                .is_empty()
        );
    }

    #[test]
    fn a_corrupt_state_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::lock(dir.path()).unwrap();
        std::fs::write(dir.path().join(FIREHOSE_FILE), b"{not json").unwrap();
        let message = store.load_firehose("k").unwrap_err().to_string();
        assert!(message.contains("delete"), "{message}");
    }

    #[test]
    fn the_id_window_is_bounded() {
        let mut state = FirehoseState::default();
        state.remember((0..RECENT_IDS + 5).map(|i| i.to_string()));
        assert_eq!(state.recent.len(), RECENT_IDS);
        assert_eq!(state.recent.front().map(String::as_str), Some("5"));
    }

    fn stack<'a>(endpoint: &'a str, table: &'a str) -> StackIdentity<'a> {
        StackIdentity {
            endpoint: Some(endpoint),
            region: "us-east-1",
            table,
            stream: "salesctl-cdc",
            bucket: "lake",
        }
    }

    #[test]
    fn the_stack_lock_refuses_a_second_relay_with_another_state_dir() {
        let root = tempfile::tempdir().unwrap();
        let lock = stack_lock_path(root.path(), &stack("http://127.0.0.1:4566", "orders"));
        let first = StateStore::open(&root.path().join("a"), Some(&lock)).unwrap();
        let message = StateStore::open(&root.path().join("b"), Some(&lock))
            .err()
            .expect("refused")
            .to_string();
        assert!(
            message.contains("already running for this stack")
                && message.contains(&format!("pid {}", std::process::id()))
                && message.contains(&root.path().join("a").display().to_string()),
            "names the holder and its state: {message}"
        );
        assert!(
            !root.path().join("b").exists(),
            "nothing is created for a refused relay"
        );
        // Another stack (another table) has its own lock.
        let other = stack_lock_path(root.path(), &stack("http://127.0.0.1:4566", "other"));
        assert_ne!(lock, other);
        StateStore::open(&root.path().join("c"), Some(&other)).unwrap();
        drop(first);
        StateStore::open(&root.path().join("b"), Some(&lock))
            .expect("free once the holder is gone");
    }

    #[test]
    fn stack_lock_names_are_readable_and_bounded() {
        let root = Path::new("/state");
        assert_eq!(
            stack_lock_path(root, &stack("http://127.0.0.1:4566", "orders")),
            Path::new("/state/relay/locks/127.0.0.1-4566-us-east-1+orders+salesctl-cdc+lake.lock")
        );
        let long = "t".repeat(255);
        let path = stack_lock_path(root, &stack("http://127.0.0.1:4566", &long));
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(name.len() <= MAX_LOCK_NAME + ".lock".len(), "{name}");
        let longer = format!("{long}x");
        assert_ne!(
            path,
            stack_lock_path(root, &stack("http://127.0.0.1:4566", &longer)),
            "the hash tells long names apart"
        );
    }

    #[test]
    fn state_dirs_are_per_stack_and_readable() {
        assert_eq!(slug("http://127.0.0.1:4566"), "127.0.0.1-4566");
        assert_eq!(
            slug("salesctl-orders+salesctl-cdc+b"),
            "salesctl-orders+salesctl-cdc+b"
        );
    }
}

//! The embedded engine: Apache DataFusion over the lake's NDJSON flat rows in a directory, with
//! `orders_cdc` (partitioned by dt/hour) and the `orders_current` view, exact decimals throughout.
//!
//! An S3 lake is mirrored into a cache directory first (DataFusion here has no S3 object store):
//! `$SALESCTL_CACHE_DIR`, else `$XDG_CACHE_HOME/salesctl`, else `~/.cache/salesctl`, then
//! `lake/<endpoint>/<bucket>/<prefix>/`. A manifest of ETags beside the files means a second
//! query downloads only objects that are new or changed, and deletes local copies of objects
//! that are gone, so the mirror always equals the prefix at the time of the query.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::{JsonReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;

use super::short_message;
use crate::error::interrupted_error;
use crate::error::{CliError, ExitStatus, service_error, usage_error};
use crate::lake::Lake;
use crate::render::{Cell, Table};
use crate::sql::lake_arrow::{arrow_schema, arrow_type};
use salesctl_core::lake_schema::{CURRENT_VIEW, PARTITION_KEYS, TABLE, orders_current_sql};

/// Objects downloaded at once when mirroring an S3 lake.
const DOWNLOAD_CONCURRENCY: usize = 16;
const MANIFEST: &str = ".salesctl-etags.json";

pub struct LocalEngine {
    session: SessionContext,
    /// What the user named (a directory or an s3:// URL), for messages.
    source: String,
    /// The directory the table reads (the mirror, for an S3 lake).
    root: PathBuf,
    /// For an S3 lake: the bucket and prefix the mirror copies, to name objects by key.
    s3: Option<(String, String)>,
    files: usize,
    bytes: u64,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

impl LocalEngine {
    /// Mirrors `s3://bucket/prefix` into a per-endpoint cache directory (only what changed),
    /// then opens it; `endpoint` names the service so two endpoints never share a cache.
    pub async fn open_s3(
        s3: &aws_sdk_s3::Client,
        cache_root: &Path,
        endpoint: &str,
        bucket: &str,
        prefix: &str,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<LocalEngine> {
        let dir = cache_dir(cache_root, endpoint, bucket, prefix);
        let sync = sync_s3_prefix(s3, bucket, prefix, &dir).await?;
        tracing::info!(
            objects = sync.objects,
            downloaded = sync.downloaded,
            removed = sync.removed,
            dir = %dir.display(),
            "lake mirrored"
        );
        let mut engine =
            LocalEngine::open_dir(&dir, format!("s3://{bucket}/{prefix}"), shutdown).await?;
        engine.s3 = Some((bucket.to_string(), prefix.to_string()));
        Ok(engine)
    }

    /// Registers `orders_cdc` over every file below `dir/dt=…/hour=…/` (any name, with or
    /// without `.json`) and the `orders_current` view.
    pub async fn open_dir(
        dir: &Path,
        source: String,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<LocalEngine> {
        let meta = std::fs::metadata(dir).map_err(|e| {
            usage_error(format!(
                "the lake directory {} cannot be read ({e}): pass --data DIR or s3://bucket/prefix/",
                dir.display()
            ))
        })?;
        if !meta.is_dir() {
            return Err(usage_error(format!(
                "--data {} is not a directory: pass the folder that holds the dt=YYYY-MM-DD folders",
                dir.display()
            )));
        }
        let root = std::fs::canonicalize(dir)?;
        let (files, bytes) = lake_files(&root);
        let config = SessionConfig::new().with_information_schema(true);
        let session = SessionContext::new_with_config(config);
        let schema = arrow_schema();
        let partitions: Vec<(String, DataType)> = PARTITION_KEYS
            .iter()
            .map(|c| (c.name.to_string(), arrow_type(c.column_type)))
            .collect();
        // Firehose names objects without an extension; the relay may add ".json". An empty
        // extension matches both; files outside dt=/hour= folders are skipped by the listing.
        let options = JsonReadOptions::default()
            .schema(&schema)
            .file_extension("")
            .table_partition_cols(partitions);
        let url = format!("{}/", root.display());
        session
            .register_json(TABLE, &url, options)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the lake at {source}: {}", e.find_root()))?;
        session
            .sql(&format!(
                "CREATE VIEW {CURRENT_VIEW} AS {}",
                orders_current_sql(TABLE)
            ))
            .await
            .map_err(|e| anyhow::anyhow!("cannot define {CURRENT_VIEW}: {}", e.find_root()))?;
        Ok(LocalEngine {
            session,
            source,
            root,
            s3: None,
            files,
            bytes,
            shutdown,
        })
    }

    /// Every data file of the lake the engine cannot read, with the first line at fault: not
    /// JSON, cut short, or a row the lake schema cannot hold
    /// ([`salesctl_core::lake_schema::check_row`], the transform's own check). Reads every
    /// file, so it is for after a failure, or for a caller such as reconcile that wants to
    /// count what it cannot read (each entry says how many rows before the fault are whole).
    pub fn unreadable_files(&self) -> Vec<Unreadable> {
        unreadable_files(&self.root)
    }

    /// Where `relative` (`dt=…/hour=…/name`) lives for the user: the object's URL for an S3
    /// lake, the file's path for a directory.
    pub fn location_of(&self, relative: &Path) -> String {
        let relative = relative.to_string_lossy();
        match &self.s3 {
            Some((bucket, prefix)) => format!("s3://{bucket}/{prefix}{relative}"),
            None => self.root.join(relative.as_ref()).display().to_string(),
        }
    }

    /// A read failure, named: the first unreadable object (key, line, problem) and the fix,
    /// in one line. Other failures (or none found) keep the engine's own message.
    async fn read_error(&self, error: DataFusionError) -> anyhow::Error {
        if !is_read_error(&error) {
            return execution_error(&self.source, error);
        }
        let root = self.root.clone();
        let found = tokio::task::spawn_blocking(move || unreadable_files(&root))
            .await
            .unwrap_or_default();
        let Some(first) = found.first() else {
            return execution_error(&self.source, error);
        };
        let location = self.location_of(&first.relative);
        let fix = match &self.s3 {
            Some((bucket, _)) => format!(
                "move it out of the table with 'aws s3 mv {location} s3://{bucket}/errors/unreadable/{}' or delete it",
                first.relative.to_string_lossy()
            ),
            None => {
                let aside = self
                    .root
                    .parent()
                    .unwrap_or(&self.root)
                    .join("errors/unreadable")
                    .join(first.relative.parent().unwrap_or(Path::new("")));
                format!(
                    "move it out of {} (e.g. into {}/) or delete it",
                    self.root.display(),
                    aside.display()
                )
            }
        };
        let others = match found.len() - 1 {
            0 => String::new(),
            1 => format!(
                "; 1 more object is unreadable too: {}",
                self.location_of(&found[1].relative)
            ),
            more => format!(
                "; {more} more objects are unreadable too, the next {}",
                self.location_of(&found[1].relative)
            ),
        };
        anyhow::anyhow!(
            "the query failed reading the lake: {location} is unreadable at line {}: {}: {fix}, then run the query again{others}",
            first.line,
            first.problem
        )
    }

    /// Set when the lake has no data file, so an empty answer is not mistaken for "no sales".
    pub fn empty_lake_note(&self) -> Option<String> {
        (self.files == 0).then(|| {
            format!(
                "the lake at {} holds no data files (none under dt=YYYY-MM-DD/hour=HH/): \
                 write orders with 'salesctl --local generate --count 100', then fill the lake with \
                 'salesctl --local relay --drain' (on the emulator the relay does the Pipe's and \
                 Firehose's work), or point --data at a lake",
                self.source
            )
        })
    }

    /// Runs one read-only statement (no DDL, no DML, no COPY), handing its rows to `each` a
    /// batch at a time; returns the column names and the statistics line.
    pub async fn execute(
        &self,
        sql: &str,
        each: &mut dyn FnMut(Vec<Cell>),
    ) -> anyhow::Result<(Vec<String>, String)> {
        let started = Instant::now();
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let frame = self
            .session
            .sql_with_options(sql, options)
            .await
            .map_err(sql_error)?;
        // The header comes from the plan, not from the first batch: an empty result has none.
        let columns: Vec<String> = frame
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut shutdown = self.shutdown.clone();
        let mut batches = match frame.execute_stream().await {
            Ok(batches) => batches,
            Err(e) => return Err(self.read_error(e).await),
        };
        let mut count = 0usize;
        loop {
            let batch = tokio::select! {
                batch = batches.next() => batch,
                _ = shutdown.wait_for(|stop| *stop) => {
                    return Err(interrupted_error("query interrupted"));
                }
            };
            let Some(batch) = batch else { break };
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => return Err(self.read_error(e).await),
            };
            for row in batches_to_table(Vec::new(), std::slice::from_ref(&batch))?.rows {
                count += 1;
                each(row);
            }
        }
        let stats = format!(
            "local engine (DataFusion): {count} row{} in {:.3} s over {} file{} ({}) from {}",
            if count == 1 { "" } else { "s" },
            started.elapsed().as_secs_f64(),
            self.files,
            if self.files == 1 { "" } else { "s" },
            human_bytes(self.bytes),
            self.source
        );
        Ok((columns, stats))
    }
}

/// SQL the engine cannot plan: the user's input is wrong (exit 2, a usage error).
fn sql_error(e: DataFusionError) -> anyhow::Error {
    let root = e.find_root();
    let status = match root {
        DataFusionError::SQL(..)
        | DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(_)
        | DataFusionError::Configuration(_) => ExitStatus::USAGE,
        _ => ExitStatus::GENERAL,
    };
    let message = short_message(&root.strip_backtrace());
    // What to do about it, by the kind of rejection.
    let fix = match root {
        DataFusionError::SQL(..) => "fix the SQL at the line and column named",
        DataFusionError::SchemaError(..) => {
            "use one of the valid names (the columns are listed by 'salesctl query \"SELECT * FROM orders_cdc LIMIT 1\"')"
        }
        DataFusionError::Plan(text) if text.contains("not supported") => {
            "the lake is read-only here: write a SELECT (or WITH … SELECT)"
        }
        DataFusionError::NotImplemented(_) => "rewrite it without that construct",
        _ => "check the query against the error above",
    };
    CliError::new(status, format!("the query was rejected: {message}: {fix}")).into()
}

/// A failure while reading data (a malformed row, an overflow): exit 255.
fn execution_error(source: &str, e: DataFusionError) -> anyhow::Error {
    let message = short_message(&e.find_root().strip_backtrace());
    anyhow::anyhow!("the query failed while reading the lake at {source}: {message}")
}

/// An error from reading the files (JSON the reader rejects, a value its column type cannot
/// hold, I/O), as opposed to one from the query itself (an overflow, a division by zero).
fn is_read_error(error: &DataFusionError) -> bool {
    use datafusion::arrow::error::ArrowError;
    let arrow = |e: &ArrowError| {
        matches!(
            e,
            ArrowError::JsonError(_)
                | ArrowError::ParseError(_)
                | ArrowError::IoError(..)
                | ArrowError::ExternalError(_)
        )
    };
    match error.find_root() {
        DataFusionError::ArrowError(e, _) => arrow(e),
        DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) => true,
        DataFusionError::External(e) => e.downcast_ref::<ArrowError>().is_none_or(arrow),
        _ => false,
    }
}

/// A lake data file the engine cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Below the lake root: `dt=…/hour=…/name`.
    pub relative: PathBuf,
    /// The line (1-based) of the first problem.
    pub line: usize,
    /// What is wrong there, e.g. `the object ends inside this row (truncated)`.
    pub problem: String,
    /// Whole rows before that line.
    pub rows_before: usize,
}

/// Every data file below `root` that [`check_lake_file`] rejects, in path order.
pub fn unreadable_files(root: &Path) -> Vec<Unreadable> {
    let mut files = partition_files(root);
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
        .into_iter()
        .filter_map(|(path, _)| {
            let relative = path.strip_prefix(root).ok()?.to_path_buf();
            let fault = match std::fs::read(&path) {
                Ok(bytes) => check_lake_file(&bytes).err()?,
                Err(e) => LakeFileFault {
                    line: 1,
                    problem: format!("cannot be read ({e})"),
                    rows_before: 0,
                },
            };
            Some(Unreadable {
                relative,
                line: fault.line,
                problem: fault.problem,
                rows_before: fault.rows_before,
            })
        })
        .collect()
}

/// Where and why a lake file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeFileFault {
    pub line: usize,
    pub problem: String,
    pub rows_before: usize,
}

/// Reads a lake object as the engine does (JSON objects one after another, each row's values
/// checked against the lake schema) and returns its row count, or the first fault.
pub fn check_lake_file(bytes: &[u8]) -> Result<usize, LakeFileFault> {
    use serde_json::value::RawValue;
    let fault = |line: usize, problem: String, rows_before: usize| LakeFileFault {
        line,
        problem,
        rows_before,
    };
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(fault(
            1,
            "it is gzip-compressed, but the table reads plain NDJSON (turn compression off in Firehose)"
                .into(),
            0,
        ));
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        let at = e.valid_up_to();
        let line_start = bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |n| n + 1);
        let line = 1 + bytes[..line_start].iter().filter(|&&b| b == b'\n').count();
        return Err(fault(
            line,
            format!(
                "it holds bytes that are not text (not UTF-8 at byte {at}): garbage, not NDJSON rows"
            ),
            check_lake_file(&bytes[..line_start]).unwrap_or(0),
        ));
    }
    let mut rows = 0;
    let mut line = 1;
    let mut counted = 0;
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<&RawValue>();
    loop {
        // The next row starts after the whitespace that ends the previous one.
        let start = bytes[stream.byte_offset()..]
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map_or(bytes.len(), |skip| stream.byte_offset() + skip);
        line += bytes[counted..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        counted = start;
        match stream.next() {
            None => return Ok(rows),
            Some(Ok(raw)) => {
                let text = raw.get();
                if !text.starts_with('{') {
                    return Err(fault(line, "the row is not a JSON object".into(), rows));
                }
                let members = ordered_members(text).map_err(|e| {
                    fault(line, format!("the row is not a JSON object ({e})"), rows)
                })?;
                if let Err(misfit) = salesctl_core::lake_schema::check_row(
                    members
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.get())),
                ) {
                    let key = salesctl_core::lake_schema::KEY_COLUMN;
                    let whose = members.iter().find(|(name, _)| name == key).map_or_else(
                        || "the row".to_string(),
                        |(name, value)| format!("the row of {name} {}", value.get()),
                    );
                    return Err(fault(
                        line,
                        format!("{whose} does not fit the lake table: {misfit}"),
                        rows,
                    ));
                }
                rows += 1;
            }
            Some(Err(e)) => {
                let text = e.to_string();
                let reason = text.split(" at line ").next().unwrap_or(&text);
                // Where the reader gave up: at a line's end, the line was cut before its row.
                let error_line_start = if e.line() <= 1 {
                    0
                } else {
                    bytes
                        .iter()
                        .enumerate()
                        .filter(|&(_, &b)| b == b'\n')
                        .nth(e.line() - 2)
                        .map_or(bytes.len(), |(at, _)| at + 1)
                };
                let at = error_line_start + e.column().saturating_sub(1);
                // (serde_json's column is 0- or 1-based depending on the error: look around.)
                let at_line_end = [at.saturating_sub(1), at, at + 1]
                    .iter()
                    .any(|&i| bytes.get(i) == Some(&b'\n'));
                let problem = if e.is_eof() {
                    "the object ends inside this row (a truncated object)".to_string()
                } else if e.line() > line || at_line_end {
                    format!(
                        "the row is cut short: its line ends before its JSON does ({reason} at line {}, column {})",
                        e.line(),
                        e.column()
                    )
                } else {
                    format!(
                        "the row is not whole JSON ({reason} at column {}): a cut or garbled line",
                        e.column()
                    )
                };
                return Err(fault(line, problem, rows));
            }
        }
    }
}

/// An object's members in order, values as exact JSON text.
fn ordered_members(text: &str) -> serde_json::Result<Vec<(String, &serde_json::value::RawValue)>> {
    use serde::de::{Deserializer as _, MapAccess, Visitor};
    use serde_json::value::RawValue;
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, &'de RawValue)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut members = Vec::new();
            while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                members.push(entry);
            }
            Ok(members)
        }
    }
    serde_json::Deserializer::from_str(text).deserialize_map(Members)
}

/// Every result column becomes cells with exact text: decimals keep their scale ("1249.90"),
/// integers their digits; non-finite floats become text since JSON has no NaN.
pub fn batches_to_table(columns: Vec<String>, batches: &[RecordBatch]) -> anyhow::Result<Table> {
    let mut table = Table::new(columns);
    let options = FormatOptions::default();
    for batch in batches {
        let columns: Vec<&ArrayRef> = batch.columns().iter().collect();
        let formatters = columns
            .iter()
            .map(|a| ArrayFormatter::try_new(a.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            let cells = columns
                .iter()
                .zip(&formatters)
                .map(|(array, formatter)| to_cell(array.as_ref(), formatter, row))
                .collect();
            table.push(cells);
        }
    }
    Ok(table)
}

fn to_cell(array: &dyn Array, formatter: &ArrayFormatter<'_>, row: usize) -> Cell {
    if array.is_null(row) {
        return Cell::Null;
    }
    let text = formatter.value(row).to_string();
    match array.data_type() {
        DataType::Boolean => Cell::Bool(text == "true"),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => Cell::Number(text),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            if is_json_number(&text) {
                Cell::Number(text)
            } else {
                Cell::Text(text)
            }
        }
        _ => Cell::Text(text),
    }
}

/// True when `text` is a number in JSON syntax (so it can be written into JSON as-is).
pub fn is_json_number(text: &str) -> bool {
    serde_json::from_str::<serde_json::Number>(text).is_ok()
}

/// Data files (non-empty, below `dt=…/hour=…/`) and their total size.
fn lake_files(root: &Path) -> (usize, u64) {
    let mut files = 0;
    let mut bytes = 0;
    for (_, meta) in partition_files(root) {
        files += 1;
        bytes += meta.len();
    }
    (files, bytes)
}

fn partition_files(root: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    let mut out = Vec::new();
    for dt in subdirs(root, "dt=") {
        for hour in subdirs(&dt, "hour=") {
            let Ok(entries) = std::fs::read_dir(&hour) else {
                continue;
            };
            for entry in entries.flatten() {
                if let Ok(meta) = entry.metadata()
                    && meta.is_file()
                    && meta.len() > 0
                {
                    out.push((entry.path(), meta));
                }
            }
        }
    }
    out
}

fn subdirs(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Where an S3 lake is mirrored (see the module docs).
pub fn cache_dir(root: &Path, endpoint: &str, bucket: &str, prefix: &str) -> PathBuf {
    let mut dir = root
        .join("lake")
        .join(sanitize(endpoint))
        .join(sanitize(bucket));
    for part in prefix.split('/').filter(|p| !p.is_empty()) {
        dir.push(sanitize(part));
    }
    dir
}

/// A path segment that cannot climb out of the cache or name a hidden file.
fn sanitize(part: &str) -> String {
    let cleaned: String = part
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_=.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.starts_with('.') {
        format!("_{cleaned}")
    } else {
        cleaned
    }
}

/// What a mirror run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SyncStats {
    pub objects: usize,
    pub downloaded: usize,
    pub removed: usize,
}

/// The relative path of a lake object below the prefix, when it is a data file:
/// exactly `dt=…/hour=…/<name>`, with no segment that could escape the directory.
pub fn lake_relative_path(relative_key: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = relative_key.split('/').collect();
    let [dt, hour, name] = parts.as_slice() else {
        return None;
    };
    let safe =
        |p: &str| !p.is_empty() && p != "." && p != ".." && !p.contains('\\') && !p.contains('\0');
    if !(dt.starts_with("dt=") && hour.starts_with("hour=") && safe(dt) && safe(hour) && safe(name))
    {
        return None;
    }
    if name.starts_with('.') {
        return None;
    }
    Some([*dt, *hour, *name].iter().collect())
}

/// Mirrors the data objects under `s3://bucket/prefix` into `dir`, downloading only what is
/// new or changed (by ETag) and removing local files whose object is gone.
pub async fn sync_s3_prefix(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    dir: &Path,
) -> anyhow::Result<SyncStats> {
    let lake = Lake::new(s3, bucket);
    let mut listed: BTreeMap<PathBuf, (String, String, i64)> = BTreeMap::new();
    let mut pages = lake.pages(prefix);
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            let what = format!("cannot list {}", lake.url(prefix));
            if crate::aws::is_not_found(&e) {
                service_error(format!(
                    "{what}: bucket '{bucket}' does not exist: run 'salesctl up', pass --bucket, or --data DIR"
                ))
            } else {
                service_error(format!("{what}: {}", crate::aws::describe(&e)))
            }
        })?;
        for object in page {
            let Some(relative) = object.key.strip_prefix(prefix).and_then(lake_relative_path)
            else {
                continue;
            };
            listed.insert(relative, (object.key, object.etag, object.size));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create the lake cache {}: {e} (set SALESCTL_CACHE_DIR)",
            dir.display()
        )
    })?;
    let manifest_path = dir.join(MANIFEST);
    let old: HashMap<String, String> = std::fs::read(&manifest_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut stats = SyncStats {
        objects: listed.len(),
        ..SyncStats::default()
    };

    // Local copies of objects that no longer exist would be stale rows.
    for (path, _) in partition_files(dir) {
        let relative = path
            .strip_prefix(dir)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        if !listed.contains_key(&relative) && std::fs::remove_file(&path).is_ok() {
            stats.removed += 1;
        }
    }

    let wanted: Vec<(PathBuf, String)> = listed
        .iter()
        .filter(|(relative, (_, etag, size))| {
            let path = dir.join(relative);
            let unchanged = old.get(&relative.to_string_lossy().to_string()) == Some(etag)
                && std::fs::metadata(&path)
                    .is_ok_and(|m| m.len() == u64::try_from(*size).unwrap_or(u64::MAX));
            !unchanged
        })
        .map(|(relative, (key, _, _))| (relative.clone(), key.clone()))
        .collect();
    stats.downloaded = wanted.len();
    let lake = &lake;
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(wanted)
        .map(|(relative, key)| {
            let path = dir.join(&relative);
            async move { download(lake, &key, &path).await }
        })
        .buffer_unordered(DOWNLOAD_CONCURRENCY)
        .collect()
        .await;
    // The manifest records only what is on disk, so a failed download is retried next time.
    let manifest: BTreeMap<String, String> = listed
        .iter()
        .filter(|(relative, _)| dir.join(relative).is_file())
        .map(|(relative, (_, etag, _))| (relative.to_string_lossy().to_string(), etag.clone()))
        .collect();
    let tmp = dir.join(format!("{MANIFEST}.{}", std::process::id()));
    if std::fs::write(&tmp, serde_json::to_vec(&manifest)?).is_ok() {
        let _ = std::fs::rename(&tmp, &manifest_path);
    }
    results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    Ok(stats)
}

async fn download(lake: &Lake, key: &str, path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    // Written beside the target and renamed, so a reader never sees half an object.
    let tmp = path.with_file_name(format!(
        ".{}.part{}",
        path.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut file = tokio::fs::File::create(&tmp).await?;
    if let Err(e) = lake.copy_to(key, &mut file).await {
        drop(file);
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    file.sync_all().await.ok();
    drop(file);
    tokio::fs::rename(&tmp, path).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_partitioned_data_keys_are_mirrored() {
        assert_eq!(
            lake_relative_path("dt=2026-11-20/hour=08/salesctl-orders-1-2026-11-20-08-15-02-abc"),
            Some(PathBuf::from(
                "dt=2026-11-20/hour=08/salesctl-orders-1-2026-11-20-08-15-02-abc"
            ))
        );
        assert!(lake_relative_path("dt=2026-11-20/hour=08/part.json").is_some());
        assert_eq!(lake_relative_path("dt=2026-11-20/hour=08/"), None);
        assert_eq!(lake_relative_path("dt=2026-11-20/x/f"), None);
        assert_eq!(lake_relative_path("../dt=x/hour=08/f"), None);
        assert_eq!(lake_relative_path("dt=x/hour=08/.."), None);
        assert_eq!(lake_relative_path("dt=x/hour=08/a/b"), None);
        assert_eq!(lake_relative_path("errors/dt=x/hour=08/f"), None);
    }

    #[test]
    fn cache_paths_stay_inside_the_cache() {
        let dir = cache_dir(
            Path::new("/cache"),
            "http://127.0.0.1:4566",
            "lake",
            "../../etc/",
        );
        assert!(
            dir.components().all(|c| c.as_os_str() != ".."),
            "{}",
            dir.display()
        );
        assert!(dir.ends_with("lake/_../_../etc"));
    }

    #[test]
    fn a_lake_file_is_read_as_the_engine_reads_it_or_its_first_fault_named() {
        let row = |quantity: &str| {
            format!(
                "{{\"order_id\":\"o1\",\"quantity\":{quantity},\"price\":1.50,\"is_deleted\":false}}\n"
            )
        };
        let good = row("1");
        assert_eq!(check_lake_file(format!("{good}{good}").as_bytes()), Ok(2));
        // Rows over several lines, or without the last newline, read as the engine reads them.
        assert_eq!(check_lake_file(b"\n{\"a\":\n1}\n\n{\"a\":2}"), Ok(2));
        assert_eq!(check_lake_file(b""), Ok(0));
        let fault = |bytes: &[u8]| check_lake_file(bytes).expect_err("a fault");
        let truncated = format!("{good}{}", &good[..30]);
        assert_eq!(
            fault(truncated.as_bytes()),
            LakeFileFault {
                line: 2,
                problem: "the object ends inside this row (a truncated object)".into(),
                rows_before: 1,
            }
        );
        let cut = format!("{good}{}\n{good}", &good[..30]);
        let found = fault(cut.as_bytes());
        assert_eq!((found.line, found.rows_before), (2, 1));
        assert!(
            found
                .problem
                .starts_with("the row is cut short: its line ends before its JSON does"),
            "{}",
            found.problem
        );
        let many = format!("{good}{good}{}", row("\"many\""));
        assert_eq!(
            fault(many.as_bytes()),
            LakeFileFault {
                line: 3,
                problem: "the row of order_id \"o1\" does not fit the lake table: column quantity (int) cannot hold \"many\": not a whole number in digits".into(),
                rows_before: 2,
            }
        );
        assert_eq!(fault(b"[1,2]\n").problem, "the row is not a JSON object");
        assert!(fault(b"\x1f\x8b\x08\x00").problem.contains("gzip"));
        let garbage = fault(b"{\"a\":1}\n\xff\xfe garbage");
        assert_eq!((garbage.line, garbage.rows_before), (2, 1));
        assert!(garbage.problem.contains("not UTF-8"), "{}", garbage.problem);
        assert!(
            fault(b"hello\n")
                .problem
                .starts_with("the row is not whole JSON")
        );
    }

    #[test]
    fn numbers_are_recognised_as_json() {
        assert!(is_json_number("1249.90"));
        assert!(is_json_number("-1e30"));
        assert!(!is_json_number("NaN"));
        assert!(!is_json_number("inf"));
    }
}

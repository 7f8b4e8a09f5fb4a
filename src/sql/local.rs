//! The embedded engine: Apache DataFusion over the lake's flat rows (Parquet or NDJSON) in a
//! directory or read in place from S3, as `orders_cdc` (partitioned by dt/hour) and `orders_current`.
//!
//! Nothing is downloaded ahead of a query: DataFusion lists only the `dt=`/`hour=` prefixes a
//! query's predicates leave (partition pruning) and reads only those objects, through the
//! `object_store` crate (S3 signed with the SDK's credential chain, see `lake::store`). So a
//! one-day query costs the same on a lake of a day or of a year. The lake's format is read
//! from its newest object's name (`.parquet` or none), so a lake written by Firehose's format
//! conversion and one of NDJSON objects open alike.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::file_format::options::ReadOptions;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{JsonReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectMeta, ObjectStoreExt};

use super::short_message;
use crate::error::interrupted_error;
use crate::error::{CliError, ExitStatus, service_error, usage_error};
use crate::lake::store::{SkippingStore, format_of, newest_data_object, partitions};
use crate::render::{Cell, Table};
use crate::sql::lake_arrow::{arrow_schema, arrow_type};
use crate::sql::lake_table::LakeTable;
use salesctl_core::lake_schema::{
    CURRENT_VIEW, LakeFormat, PARTITION_KEYS, TABLE, orders_current_sql,
};

/// Where the engine's lake lives, to name objects for the user and to say how to move one.
#[derive(Debug, Clone)]
enum Place {
    /// A directory (canonical path).
    Dir(PathBuf),
    /// `s3://bucket/prefix`.
    S3 { bucket: String, prefix: String },
}

pub struct LocalEngine {
    session: SessionContext,
    /// What the user named (a directory or an s3:// URL), for messages.
    source: String,
    place: Place,
    /// The lake's store, leaving out objects set aside as unreadable ([`Self::skip`]).
    store: Arc<SkippingStore>,
    /// The table's URL and the prefix its objects are listed under.
    table_url: String,
    prefix: StorePath,
    /// What the newest object said, or that there was none: then the table is registered
    /// again once an object appears (an empty lake has no format yet).
    found: std::sync::Mutex<Found>,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

#[derive(Debug, Clone, Copy)]
struct Found {
    format: LakeFormat,
    empty: bool,
}

/// Where the table reads: its URL, and the prefix its objects are listed under.
struct Listing {
    table_url: String,
    prefix: StorePath,
}

/// The objects a query's plan reads, after partition pruning: how many, how many bytes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub objects: Vec<ObjectMeta>,
}

impl Scanned {
    pub fn bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.size).sum()
    }
}

impl LocalEngine {
    /// Opens `s3://bucket/prefix` in place (nothing is downloaded until a query reads it).
    pub async fn open_s3(
        config: &aws_config::SdkConfig,
        bucket: &str,
        prefix: &str,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<LocalEngine> {
        let source = format!("s3://{bucket}/{prefix}");
        let store = Arc::new(SkippingStore::new(crate::lake::store::s3_store(
            config, bucket,
        )?));
        let place = Place::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        };
        let newest = newest_data_object(store.as_ref(), &StorePath::from(prefix))
            .await
            .map_err(|e| listing_error(&place, &source, &e))?;
        let session = new_session();
        let base = url::Url::parse(&format!("s3://{bucket}"))?;
        session.register_object_store(&base, store.clone());
        let table_url = if prefix.is_empty() {
            format!("s3://{bucket}/")
        } else {
            source.clone()
        };
        let listing = Listing {
            table_url,
            prefix: StorePath::from(prefix),
        };
        LocalEngine::register(session, listing, source, place, store, newest, shutdown).await
    }

    /// Registers `orders_cdc` over every object below `dir/dt=…/hour=…/` and the
    /// `orders_current` view.
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
        let store = Arc::new(SkippingStore::new(Arc::new(
            object_store::local::LocalFileSystem::new(),
        )));
        let place = Place::Dir(root.clone());
        let prefix = StorePath::from_filesystem_path(&root)
            .map_err(|e| anyhow::anyhow!("cannot open the lake at {source}: {e}"))?;
        let newest = newest_data_object(store.as_ref(), &prefix)
            .await
            .map_err(|e| listing_error(&place, &source, &e))?;
        let listing = Listing {
            table_url: format!("{}/", root.display()),
            prefix,
        };
        LocalEngine::register(
            new_session(),
            listing,
            source,
            place,
            store,
            newest,
            shutdown,
        )
        .await
    }

    async fn register(
        session: SessionContext,
        listing: Listing,
        source: String,
        place: Place,
        store: Arc<SkippingStore>,
        newest: Option<ObjectMeta>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<LocalEngine> {
        if matches!(place, Place::Dir(_)) {
            // Files are read through the same skipping store as S3 objects.
            let files = url::Url::parse("file://")?;
            session.register_object_store(&files, store.clone());
        }
        let found = Found {
            format: newest.as_ref().map_or(LakeFormat::Json, format_of),
            empty: newest.is_none(),
        };
        register_tables(&session, &listing.table_url, &source, found.format).await?;
        Ok(LocalEngine {
            session,
            source,
            place,
            store,
            table_url: listing.table_url,
            prefix: listing.prefix,
            found: std::sync::Mutex::new(found),
            shutdown,
        })
    }

    fn found(&self) -> Found {
        *self.found.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A lake that was empty when opened may have its first object now (a relay running
    /// beside the query): look again, and register the table in that object's format.
    async fn refresh_if_empty(&self) -> anyhow::Result<()> {
        if !self.found().empty {
            return Ok(());
        }
        let Ok(Some(newest)) = newest_data_object(self.store.as_ref(), &self.prefix).await else {
            return Ok(());
        };
        let format = format_of(&newest);
        if format != self.found().format {
            self.session.deregister_table(CURRENT_VIEW)?;
            self.session.deregister_table(TABLE)?;
            register_tables(&self.session, &self.table_url, &self.source, format).await?;
        }
        *self.found.lock().unwrap_or_else(|e| e.into_inner()) = Found {
            format,
            empty: false,
        };
        Ok(())
    }

    /// The lake's format, as its newest object says.
    pub fn format(&self) -> LakeFormat {
        self.found().format
    }

    /// Where an object lives for the user: its `s3://` URL, or its file's path.
    pub fn location_of(&self, object: &StorePath) -> String {
        match &self.place {
            Place::S3 { bucket, .. } => format!("s3://{bucket}/{object}"),
            Place::Dir(_) => format!("/{object}"),
        }
    }

    /// The objects among `objects` the engine cannot read, each with its first fault: not
    /// JSON or not Parquet, cut short, or a row the lake schema cannot hold (the transform's
    /// own check, [`salesctl_core::lake_schema::check_row`]). Reads each object once.
    pub async fn unreadable(&self, objects: &[ObjectMeta]) -> Vec<Unreadable> {
        let mut found = Vec::new();
        for object in objects {
            let fault = match self.store.get(&object.location).await {
                Ok(got) => match got.bytes().await {
                    Ok(bytes) => check_object(&bytes, self.format()).err(),
                    Err(e) => Some(unreadable_fault(&e)),
                },
                Err(e) => Some(unreadable_fault(&e)),
            };
            if let Some(fault) = fault {
                found.push(Unreadable {
                    location: self.location_of(&object.location),
                    key: object.location.clone(),
                    line: fault.line,
                    problem: fault.problem,
                    rows_before: fault.rows_before,
                });
            }
        }
        found
    }

    /// A read failure, named: the first unreadable object among those the query read (key,
    /// line, problem) and the fix, in one line. Other failures keep the engine's own message.
    async fn read_error(&self, error: DataFusionError, scanned: &Scanned) -> anyhow::Error {
        if !is_read_error(&error) {
            return execution_error(&self.source, error);
        }
        let found = self.unreadable(&scanned.objects).await;
        let Some(first) = found.first() else {
            return execution_error(&self.source, error);
        };
        let others = match found.len() - 1 {
            0 => String::new(),
            1 => format!("; 1 more object is unreadable too: {}", found[1].location),
            more => format!(
                "; {more} more objects are unreadable too, the next {}",
                found[1].location
            ),
        };
        let message = format!(
            "the query failed reading the lake: {} is unreadable {}: {}: {}, then run the query again{others}",
            first.location,
            first.at(),
            first.problem,
            self.move_aside(first),
        );
        UnreadableObjects {
            objects: found,
            message,
        }
        .into()
    }

    /// Leaves these objects out of every later query of this engine (reconcile counts
    /// them as unreadable and goes on); nothing in the lake is moved or deleted.
    /// Returns how many of them were not skipped before (0: skipping cannot help).
    pub fn skip(&self, objects: &[Unreadable]) -> usize {
        let mut new = 0;
        for object in objects {
            new += usize::from(self.store.skip(object.key.clone()));
        }
        new
    }

    /// How to take an unreadable object out of the table without losing it.
    pub fn move_aside(&self, object: &Unreadable) -> String {
        match &self.place {
            Place::S3 { bucket, prefix } => {
                let relative = object
                    .key
                    .as_ref()
                    .strip_prefix(prefix.as_str())
                    .unwrap_or(object.key.as_ref());
                format!(
                    "move it out of the table with 'aws s3 mv {} s3://{bucket}/errors/unreadable/{relative}' or delete it",
                    object.location
                )
            }
            Place::Dir(root) => {
                let within = Path::new(&object.location)
                    .strip_prefix(root)
                    .ok()
                    .and_then(Path::parent)
                    .unwrap_or(Path::new(""));
                let aside = root
                    .parent()
                    .unwrap_or(root)
                    .join("errors/unreadable")
                    .join(within);
                format!(
                    "move it out of {} (e.g. into {}/) or delete it",
                    root.display(),
                    aside.display()
                )
            }
        }
    }

    /// Set when the lake has no data object, so an empty answer is not mistaken for "no sales".
    pub fn empty_lake_note(&self) -> Option<String> {
        self.found().empty.then(|| {
            format!(
                "the lake at {} holds no data files (none under dt=YYYY-MM-DD/hour=HH/): \
                 write orders with 'salesctl --local generate --count 100', then fill the lake with \
                 'salesctl --local relay --drain' (on the emulator the relay does the Pipe's and \
                 Firehose's work), or point --data at a lake",
                self.source
            )
        })
    }

    /// The objects `sql` would read: its plan's file scans after partition pruning. For
    /// tests and benchmarks that check a query reads only the hours it names.
    pub async fn objects_read_by(&self, sql: &str) -> anyhow::Result<Scanned> {
        let plan = self.plan(sql).await?.0;
        Ok(scanned_objects(plan.as_ref()))
    }

    async fn plan(&self, sql: &str) -> anyhow::Result<(Arc<dyn ExecutionPlan>, Vec<String>)> {
        self.refresh_if_empty().await?;
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
        let plan = frame
            .create_physical_plan()
            .await
            .map_err(|e| match e.find_root() {
                // The lake could not be listed (the bucket went away, access was revoked).
                DataFusionError::ObjectStore(error) => {
                    listing_error(&self.place, &self.source, error)
                }
                _ => sql_error(e),
            })?;
        Ok((plan, columns))
    }

    /// Runs one read-only statement (no DDL, no DML, no COPY), handing its rows to `each` a
    /// batch at a time; returns the column names and the statistics line.
    pub async fn execute(
        &self,
        sql: &str,
        each: &mut dyn FnMut(Vec<Cell>),
    ) -> anyhow::Result<(Vec<String>, String)> {
        let started = Instant::now();
        let (columns, read) = self
            .execute_batches(sql, &mut |batch| {
                for row in batches_to_table(Vec::new(), std::slice::from_ref(batch))?.rows {
                    each(row);
                }
                Ok(())
            })
            .await?;
        let rows = format!("{} row{}", read.rows, if read.rows == 1 { "" } else { "s" });
        Ok((columns, self.stats_line(&rows, started, &read)))
    }

    /// Runs one read-only statement, handing its Arrow batches to `each` as they come;
    /// returns the column names and what the query read.
    pub async fn execute_batches(
        &self,
        sql: &str,
        each: &mut dyn FnMut(&RecordBatch) -> anyhow::Result<()>,
    ) -> anyhow::Result<(Vec<String>, Read)> {
        let (plan, columns) = self.plan(sql).await?;
        let scanned = scanned_objects(plan.as_ref());
        let mut shutdown = self.shutdown.clone();
        let mut batches = match execute_stream(plan.clone(), self.session.task_ctx()) {
            Ok(batches) => batches,
            Err(e) => return Err(self.read_error(e, &scanned).await),
        };
        let mut rows = 0u64;
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
                Err(e) => return Err(self.read_error(e, &scanned).await),
            };
            rows += batch.num_rows() as u64;
            each(&batch)?;
        }
        let size = scanned.bytes();
        Ok((
            columns,
            Read {
                rows,
                objects: scanned.objects.len() as u64,
                size,
                // Parquet is read by column: the bytes the readers fetched, not the objects'
                // sizes.
                read: bytes_scanned(plan.as_ref()).unwrap_or(size),
            },
        ))
    }

    /// The lake's days (its `dt=` values), oldest first; `None` when a predicate on some
    /// day would not select exactly its directory. DataFusion lists `dt = 'D'` under D
    /// percent-encoded (non-ASCII, controls, space, `%`, `/`, `?`, `#`) and decodes names it
    /// lists, so `dt=a%27b` reads as `a'b` in a full scan but is missed by `dt = 'a''b'`.
    pub async fn days(&self) -> anyhow::Result<Option<Vec<String>>> {
        self.refresh_if_empty().await?;
        let folders = partitions(self.store.as_ref(), &self.prefix, "dt=")
            .await
            .map_err(|e| listing_error(&self.place, &self.source, &e))?;
        let mut days = Vec::new();
        for folder in &folders {
            let Some(day) = folder.filename().and_then(|n| n.strip_prefix("dt=")) else {
                continue;
            };
            let selectable = day
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"%/?#".contains(&b));
            if !selectable {
                return Ok(None);
            }
            days.push(day.to_string());
        }
        days.sort();
        Ok(Some(days))
    }

    /// Runs `statement(Some(day))` for each of the lake's days in turn (`day` an SQL string
    /// literal of a `dt` value), handing every batch to `each`; returns one statistics line
    /// for all of them. For a pass over the whole lake that keeps its own state: the engine
    /// then holds the scan state of one day's objects at a time, not of the whole lake's.
    /// A lake with a day no predicate selects exactly ([`Self::days`]) is read in one pass,
    /// `statement(None)`, so no row is left out.
    pub async fn execute_per_day(
        &self,
        statement: &dyn Fn(Option<&str>) -> String,
        what: &str,
        each: &mut dyn FnMut(&RecordBatch) -> anyhow::Result<()>,
    ) -> anyhow::Result<String> {
        let started = Instant::now();
        let mut total = Read::default();
        let done = match self.days().await? {
            Some(days) => {
                for day in &days {
                    let sql = statement(Some(&sql_string(day)));
                    total.add(&self.execute_batches(&sql, each).await?.1);
                }
                let plural = if days.len() == 1 { "" } else { "s" };
                format!(
                    "{} {what} read a day at a time over {} day{plural}",
                    total.rows,
                    days.len()
                )
            }
            None => {
                tracing::info!(
                    "a dt= folder of the lake has a name a predicate cannot select: one pass"
                );
                total = self.execute_batches(&statement(None), each).await?.1;
                format!("{} {what} read in one pass", total.rows)
            }
        };
        Ok(self.stats_line(&done, started, &total))
    }

    fn stats_line(&self, done: &str, started: Instant, read: &Read) -> String {
        format!(
            "local engine (DataFusion): {done} in {:.3} s, {} {} object{} ({}), {} read, from {}",
            started.elapsed().as_secs_f64(),
            read.objects,
            self.format(),
            if read.objects == 1 { "" } else { "s" },
            human_bytes(read.size),
            human_bytes(read.read),
            self.source
        )
    }
}

/// What a query read: rows out, objects and their bytes, and the bytes fetched.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub rows: u64,
    pub objects: u64,
    pub size: u64,
    pub read: u64,
}

impl Read {
    fn add(&mut self, other: &Read) {
        self.rows += other.rows;
        self.objects += other.objects;
        self.size += other.size;
        self.read += other.read;
    }
}

/// `text` as an SQL string literal.
fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `orders_cdc` over the lake in `format` and the `orders_current` view over it.
async fn register_tables(
    session: &SessionContext,
    table_url: &str,
    source: &str,
    format: LakeFormat,
) -> anyhow::Result<()> {
    let schema = arrow_schema();
    let partitions: Vec<(String, DataType)> = PARTITION_KEYS
        .iter()
        .map(|c| (c.name.to_string(), arrow_type(c.column_type)))
        .collect();
    // The read options DataFusion's own registration would use, for the format's settings;
    // the table is ours (`LakeTable`: no statistics per object).
    let (config, table_options) = (session.copied_config(), session.copied_table_options());
    let options = match format {
        // Firehose names NDJSON objects without an extension; the relay may add ".json".
        // An empty extension matches both; objects outside dt=/hour= are not listed.
        LakeFormat::Json => JsonReadOptions::default()
            .schema(&schema)
            .file_extension("")
            .table_partition_cols(partitions)
            .to_listing_options(&config, table_options),
        LakeFormat::Parquet => ParquetReadOptions::default()
            .schema(&schema)
            .file_extension(LakeFormat::Parquet.extension())
            .table_partition_cols(partitions)
            .to_listing_options(&config, table_options),
    };
    let open_error =
        |e: DataFusionError| anyhow::anyhow!("cannot open the lake at {source}: {}", e.find_root());
    let url = ListingTableUrl::parse(table_url).map_err(open_error)?;
    let table = LakeTable::new(url, options, Arc::new(schema));
    session
        .register_table(TABLE, Arc::new(table))
        .map_err(open_error)?;
    session
        .sql(&format!(
            "CREATE VIEW {CURRENT_VIEW} AS {}",
            orders_current_sql(TABLE)
        ))
        .await
        .map_err(|e| anyhow::anyhow!("cannot define {CURRENT_VIEW}: {}", e.find_root()))?;
    Ok(())
}

/// The memory the engine's operators may hold (sorts, hash tables, the ranking window);
/// past it they spill to temporary files, so a query over a year of changes runs in bounded
/// memory. (`report` does not rank through the engine: see [`super::current_state`].)
const MEMORY_POOL_BYTES: usize = 128 * 1024 * 1024;

fn new_session() -> SessionContext {
    // No statistics at planning: they would read every Parquet footer of the table's
    // pruned objects before the query starts (a cost per object on S3), and a corrupt
    // footer would fail the plan instead of naming its object as a read does.
    let config = SessionConfig::new()
        .with_information_schema(true)
        .with_collect_statistics(false);
    let pool = Arc::new(datafusion::execution::memory_pool::FairSpillPool::new(
        MEMORY_POOL_BYTES,
    ));
    // No list-files cache: on a miss it lists the whole table (every day of the lake) to
    // serve later prefixes from memory, so a one-day query would list a year. Without it,
    // the listing starts at the query's `dt=`/`hour=` prefix. No footer cache either: one
    // run reads each object once, and the cache only held memory per object.
    match datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
        .with_memory_pool(pool)
        .with_object_list_cache_limit(0)
        .with_metadata_cache_limit(0)
        .build_arc()
    {
        Ok(runtime) => SessionContext::new_with_config_rt(config, runtime),
        Err(_) => SessionContext::new_with_config(config),
    }
}

/// The plan's file scans, wherever they sit in it.
fn file_scans(plan: &dyn ExecutionPlan) -> Vec<&DataSourceExec> {
    let mut scans = Vec::new();
    let mut stack = vec![plan];
    while let Some(node) = stack.pop() {
        if let Some(scan) = node.downcast_ref::<DataSourceExec>() {
            scans.push(scan);
        }
        stack.extend(node.children().into_iter().map(|c| c.as_ref()));
    }
    scans
}

/// The bytes the plan's Parquet readers fetched (footers and the columns' pages the query
/// needs), once it has run; `None` for a plan with no such count (NDJSON is read whole).
fn bytes_scanned(plan: &dyn ExecutionPlan) -> Option<u64> {
    file_scans(plan)
        .into_iter()
        .filter_map(|scan| scan.metrics()?.sum_by_name("bytes_scanned"))
        .map(|bytes| bytes.as_usize() as u64)
        .reduce(|a, b| a + b)
}

/// Every object the plan's file scans read, in key order.
fn scanned_objects(plan: &dyn ExecutionPlan) -> Scanned {
    let mut objects: Vec<ObjectMeta> = file_scans(plan)
        .into_iter()
        .filter_map(|scan| scan.data_source().downcast_ref::<FileScanConfig>())
        .flat_map(|config| config.file_groups.iter().flat_map(|group| group.iter()))
        .map(|file| file.object_meta.clone())
        .collect();
    objects.sort_by(|a, b| a.location.as_ref().cmp(b.location.as_ref()));
    objects.dedup_by(|a, b| a.location == b.location);
    Scanned { objects }
}

/// The lake cannot be listed: a missing bucket or directory, refused access, or no answer;
/// one line naming the bucket and the fix.
fn listing_error(place: &Place, source: &str, error: &object_store::Error) -> anyhow::Error {
    let text = error.to_string();
    match place {
        Place::S3 { bucket, .. } => {
            let lower = text.to_ascii_lowercase();
            if lower.contains("nosuchbucket") || lower.contains("specified bucket does not exist") {
                service_error(format!(
                    "cannot list {source}: bucket '{bucket}' does not exist: run 'salesctl up', pass --bucket, or --data DIR"
                ))
            } else if lower.contains("accessdenied") || lower.contains("forbidden") {
                service_error(format!(
                    "cannot list {source}: access denied to bucket '{bucket}': grant s3:ListBucket and s3:GetObject on it to these credentials (see 'salesctl policy'), or use another --profile"
                ))
            } else {
                service_error(format!(
                    "cannot list {source}: {}: check --endpoint-url, --region and the network, then try again",
                    short_message(&text)
                ))
            }
        }
        Place::Dir(root) => service_error(format!(
            "cannot list the lake directory {}: {}: check that it is readable",
            root.display(),
            short_message(&text)
        )),
    }
}

fn unreadable_fault(error: &object_store::Error) -> LakeFileFault {
    LakeFileFault {
        line: 0,
        problem: format!("cannot be read ({})", short_message(&error.to_string())),
        rows_before: 0,
    }
}

/// Checks one object as the engine reads it in `format`.
pub fn check_object(bytes: &[u8], format: LakeFormat) -> Result<usize, LakeFileFault> {
    match format {
        LakeFormat::Json => check_lake_file(bytes),
        LakeFormat::Parquet => check_parquet(bytes),
    }
}

/// Reads a Parquet object whole (footer, every row group, the lake's columns) and counts
/// its rows, or says why it cannot be read.
pub fn check_parquet(bytes: &[u8]) -> Result<usize, LakeFileFault> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let fault = |problem: String, rows_before: usize| LakeFileFault {
        line: 0,
        problem,
        rows_before,
    };
    if !(bytes.len() >= 8 && bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1")) {
        return Err(fault(
            "it is not a Parquet file (no PAR1 magic at both ends): garbage or a truncated object"
                .into(),
            0,
        ));
    }
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::copy_from_slice(bytes))
        .and_then(|b| b.build())
        .map_err(|e| fault(format!("its Parquet footer cannot be read ({e})"), 0))?;
    let mut rows = 0;
    for batch in reader {
        match batch {
            Ok(batch) => rows += batch.num_rows(),
            Err(e) => return Err(fault(format!("a row group cannot be read ({e})"), rows)),
        }
    }
    Ok(rows)
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
    if let DataFusionError::ResourcesExhausted(what) = e.find_root() {
        return anyhow::anyhow!(
            "the query needs more than the local engine's {} MiB of working memory on {source} ({}): narrow it with dt/hour predicates, or run it on Athena",
            MEMORY_POOL_BYTES / (1024 * 1024),
            short_message(what)
        );
    }
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
        DataFusionError::ParquetError(_) => true,
        DataFusionError::IoError(_) | DataFusionError::ObjectStore(_) => true,
        DataFusionError::External(e) => e.downcast_ref::<ArrowError>().is_none_or(arrow),
        _ => false,
    }
}

/// A query failed on objects it cannot read: their list (for a caller that goes on without
/// them) and the one-line message naming the first and the fix.
#[derive(Debug)]
pub struct UnreadableObjects {
    pub objects: Vec<Unreadable>,
    message: String,
}

impl std::fmt::Display for UnreadableObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UnreadableObjects {}

/// A lake object the engine cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Its `s3://` URL or file path, for the user.
    pub location: String,
    pub key: StorePath,
    /// The line (1-based) of the first problem in an NDJSON object; 0 where lines do not
    /// apply (a Parquet object, an object that cannot be fetched).
    pub line: usize,
    /// What is wrong there, e.g. `the object ends inside this row (truncated)`.
    pub problem: String,
    /// Whole rows before that line.
    pub rows_before: usize,
}

impl Unreadable {
    /// Where in the object: `at line 3`, or `as a whole`.
    pub fn at(&self) -> String {
        if self.line == 0 {
            "as a whole".to_string()
        } else {
            format!("at line {}", self.line)
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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

//! Test harness: one moto emulator per test binary on a free loopback port, wiped before each
//! test; tests in a binary take turns so one test's reset never wipes another's state.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use wait_timeout::ChildExt;

use salesctl::aws::Clients;
use salesctl::settings::{self, Environment, FileSettings, Overrides, Settings};

pub struct Emulator {
    pub port: u16,
    pub endpoint: String,
    /// What the server printed after it started; a hung command's failure shows its tail.
    pub log: PathBuf,
    _child: Child,
    /// Dropping (or the process dying) closes the pipe, which stops the server.
    _stdin: ChildStdin,
}

static EMULATOR: OnceLock<Result<Emulator, String>> = OnceLock::new();
/// Where the salesctl processes of this test binary keep relay state; wiped per session.
static STATE_DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
static TURN: Mutex<()> = Mutex::new(());

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn start() -> Result<Emulator, String> {
    let root = project_root();
    let install = Command::new(root.join("scripts/local-aws"))
        .arg("install")
        .output()
        .map_err(|e| format!("cannot run scripts/local-aws install: {e}"))?;
    if !install.status.success() {
        return Err(format!(
            "scripts/local-aws install failed: {}",
            String::from_utf8_lossy(&install.stderr)
        ));
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let python = root.join(".local/venv/bin/python");
    let log = std::env::temp_dir().join(format!("salesctl-test-moto-{port}.log"));
    let _ = std::fs::remove_file(&log);
    let mut child = Command::new(&python)
        .arg(root.join("scripts/moto_guard.py"))
        .arg(port.to_string())
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    let stdin = child.stdin.take().ok_or("no stdin pipe")?;
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    // Read on a thread so a server that never gets ready fails the run instead of hanging it.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = sender.send(read);
    });
    let line = match receiver.recv_timeout(Duration::from_secs(120)) {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => return Err(format!("emulator did not report ready: {e}")),
        Err(_) => {
            let _ = child.kill();
            return Err(format!("emulator on port {port} not ready after 120 s"));
        }
    };
    if line.trim() != "ready" {
        return Err(format!(
            "emulator failed to start on port {port} (said {line:?})"
        ));
    }
    Ok(Emulator {
        port,
        endpoint: format!("http://127.0.0.1:{port}"),
        log,
        _child: child,
        _stdin: stdin,
    })
}

/// The emulator for this test binary, started on first use. Fails the test (never skips)
/// when it cannot start.
pub fn emulator() -> &'static Emulator {
    match EMULATOR.get_or_init(start) {
        Ok(e) => e,
        Err(reason) => panic!("the AWS emulator could not start: {reason}"),
    }
}

/// A test's exclusive use of a freshly wiped emulator.
pub struct Session {
    pub emulator: &'static Emulator,
    _turn: MutexGuard<'static, ()>,
}

impl Session {
    pub fn endpoint(&self) -> &str {
        &self.emulator.endpoint
    }

    /// Settings as `salesctl --local --endpoint-url <this emulator>` resolves them.
    pub fn settings(&self) -> Settings {
        settings::resolve(
            FileSettings::default(),
            Overrides {
                local: true,
                endpoint_url: Some(self.emulator.endpoint.clone()),
                ..Overrides::default()
            },
            &Environment::default(),
        )
        .expect("the emulator's endpoint is a valid URL")
    }

    pub async fn clients(&self) -> Clients {
        Clients::load(&self.settings())
            .await
            .expect("clients for the emulator")
    }

    /// The salesctl binary, pointed at this emulator, with no ambient AWS settings.
    pub fn salesctl(&self) -> Command {
        let mut cmd = salesctl_without_ambient_settings();
        cmd.env("SALESCTL_LOCAL_ENDPOINT", &self.emulator.endpoint)
            .env("XDG_CONFIG_HOME", state_dir())
            .env("SALESCTL_STATE_DIR", state_dir())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .arg("--local");
        cmd
    }
}

/// The relay state root every salesctl of this binary uses (never the user's own).
pub fn state_dir() -> &'static Path {
    STATE_DIR
        .get_or_init(|| tempfile::tempdir().expect("a temporary state directory"))
        .path()
}

/// Waits for this binary's turn, then wipes the emulator's state and the relay state.
pub fn session() -> Session {
    let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let emulator = emulator();
    post(emulator.port, "/moto-api/reset", "");
    let state = state_dir();
    let _ = std::fs::remove_dir_all(state);
    std::fs::create_dir_all(state).expect("state directory");
    Session {
        emulator,
        _turn: turn,
    }
}

/// A bare HTTP POST to the emulator's control API (no client library needed); panics
/// unless it answers 2xx. Returns the response body.
pub fn post(port: u16, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut stream =
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to emulator");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("a read timeout");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send to emulator");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read from emulator");
    let status_ok = response
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.starts_with('2'));
    assert!(
        status_ok,
        "POST {path} failed: {}",
        response.lines().next().unwrap_or("")
    );
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// The longest any one salesctl run in these tests may take: a hung call fails its test
/// with what the process printed, instead of stalling the whole suite until CI gives up.
/// `SALESCTL_TEST_DEADLINE_SECS` overrides it (a slow machine, a debugger).
pub fn command_deadline() -> Duration {
    std::env::var("SALESCTL_TEST_DEADLINE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(300), Duration::from_secs)
}

/// The last lines the emulator printed, if this binary started one, for failure messages.
fn emulator_log_tail() -> String {
    let Some(Ok(emulator)) = EMULATOR.get() else {
        return String::new();
    };
    let text = std::fs::read_to_string(&emulator.log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    format!(
        "the emulator's last lines ({}):\n{tail}",
        emulator.log.display()
    )
}

/// Output of a finished command as (status code, stdout, stderr). Panics, after killing the
/// process, if it has not finished within [`command_deadline`].
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    run_within(cmd, command_deadline())
}

/// [`run`] with its own deadline.
pub fn run_within(cmd: &mut Command, deadline: Duration) -> (i32, String, String) {
    let mut child = spawn(cmd, Stdio::null(), Stdio::piped);
    // Readers on threads, so a chatty process never blocks on a full pipe; their results
    // come back on channels, so a killed process whose children still hold a pipe open
    // cannot stall the panic either.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            let _ = sender.send(String::from_utf8_lossy(&text).into_owned());
        });
        receiver
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = child.wait_timeout(deadline).expect("wait for salesctl");
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        let stderr = stderr
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| "(still held open by a child process)".into());
        panic!(
            "{cmd:?} did not finish within {deadline:?} and was killed; its stderr:\n{stderr}\n{}",
            emulator_log_tail()
        );
    };
    (
        status.code().unwrap_or(-1),
        stdout.recv().unwrap_or_default(),
        stderr.recv().unwrap_or_default(),
    )
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Creates an on-demand table keyed by `key` (a string) with a NEW_AND_OLD_IMAGES stream,
/// as `salesctl up` would; returns the stream's ARN.
pub async fn create_table(clients: &Clients, name: &str, key: &str) -> String {
    create_table_streaming(clients, name, key, true)
        .await
        .expect("a stream ARN")
}

/// A table stream as the pipeline reads it: every change with its old and new image.
pub fn change_stream() -> aws_sdk_dynamodb::types::StreamSpecification {
    aws_sdk_dynamodb::types::StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewAndOldImages)
        .build()
        .unwrap()
}

/// [`create_table`], with or without its stream (the AWS tutorial's table has none); returns
/// the stream's ARN when there is one.
pub async fn create_table_streaming(
    clients: &Clients,
    name: &str,
    key: &str,
    stream: bool,
) -> Option<String> {
    let out = clients
        .dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .set_stream_specification(stream.then(change_stream))
        .send()
        .await
        .unwrap();
    out.table_description.unwrap().latest_stream_arn
}

/// `salesctl generate` as fast as the table takes, with updates (30 %) and deletes (10 %);
/// returns its JSON summary (inserted, updated, deleted, ...).
pub fn generate_changes(s: &Session, count: &str) -> serde_json::Value {
    let (code, _, stderr) = run(s.salesctl().args(unpaced_generate(count)));
    assert_eq!(code, 0, "{stderr}");
    let summary = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("generate summary");
    serde_json::from_str(summary).expect("a JSON summary")
}

/// Every record the table's DynamoDB stream holds, once, read with the SDK from each shard's
/// trim horizon. The emulator never ends a shard's iterator, and repeats records that were
/// written concurrently (`stream::repeats`), so a page with nothing new is its end.
pub async fn stream_records(
    clients: &Clients,
    stream_arn: &str,
) -> Vec<aws_sdk_dynamodbstreams::types::Record> {
    use aws_sdk_dynamodbstreams::types::ShardIteratorType;
    let streams = &clients.dynamodb_streams;
    let shards = streams
        .describe_stream()
        .stream_arn(stream_arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap()
        .shards
        .unwrap_or_default();
    let mut all = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for shard in shards {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(shard.shard_id.unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        while let Some(it) = iterator {
            let page = streams
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .unwrap();
            let fresh: Vec<_> = page
                .records
                .unwrap_or_default()
                .into_iter()
                .filter(|r| seen.insert(r.event_id.clone().expect("an eventID")))
                .collect();
            if fresh.is_empty() {
                break;
            }
            all.extend(fresh);
            iterator = page.next_shard_iterator;
        }
    }
    all
}

/// How long a test waits for a process it started to get ready (a lock taken, a screen
/// drawn): far longer than it ever takes, so only a real hang fails. 60 s: on 2 cores with
/// the whole suite running against one emulator, a watch screen once took over 30 s to show
/// the lake's rows.
pub const READY_WITHIN: Duration = Duration::from_secs(60);

/// Polls `ready` every 50 ms until it answers `Ok`, and returns that value. `ready` answers
/// `Err(what it saw)`; after `deadline` the test fails naming `what` it waited for and the
/// last thing seen. Stands in for a sleep: as fast as the condition, never flaky.
pub fn wait_until<T>(
    what: &str,
    deadline: Duration,
    mut ready: impl FnMut() -> Result<T, String>,
) -> T {
    let started = std::time::Instant::now();
    loop {
        match ready() {
            Ok(value) => return value,
            Err(seen) if started.elapsed() >= deadline => {
                panic!("waited {deadline:?} for {what}; last saw: {seen}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A child's pipe read on a thread as it arrives: a test can wait for some text in it and
/// still assert on all of it once the pipe closes.
pub struct Capture {
    text: std::sync::Arc<Mutex<Vec<u8>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Capture {
    pub fn start(mut pipe: impl Read + Send + 'static) -> Capture {
        let text = std::sync::Arc::new(Mutex::new(Vec::new()));
        let sink = text.clone();
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(&chunk[..n]);
            }
        });
        Capture { text, reader }
    }

    /// What has arrived so far.
    pub fn so_far(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// All of it, once the writer has closed the pipe.
    pub fn finish(self) -> String {
        let Capture { text, reader } = self;
        let _ = reader.join();
        let text = text.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&text).into_owned()
    }
}

/// What a caught panic said.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_command_past_its_deadline_is_killed_and_fails_naming_itself() {
    let started = std::time::Instant::now();
    let outcome = std::panic::catch_unwind(|| {
        run_within(
            Command::new("sh").args(["-c", "echo waiting >&2; sleep 30"]),
            Duration::from_millis(500),
        )
    });
    let message = panic_text(outcome.expect_err("a hung command must fail its test"));
    assert!(
        message.contains("sleep 30") && message.contains("waiting"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_wait_past_its_deadline_fails_naming_what_it_waited_for_and_saw() {
    let mut polls = 0;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_until("the moon", Duration::from_millis(200), || {
            polls += 1;
            Err::<(), _>(format!("poll {polls}"))
        })
    }));
    let message = panic_text(outcome.expect_err("an unmet condition must fail its test"));
    assert!(
        message.contains("the moon") && message.contains("poll "),
        "{message}"
    );
    assert!((2..=10).contains(&polls), "polled {polls} times");
    assert_eq!(
        wait_until("at once", Duration::ZERO, || Ok::<_, String>(7)),
        7
    );
}

/// One order id from the session's lake (the local engine's answer), for verbs that take one.
pub fn any_lake_order_id(s: &Session) -> String {
    run(s.salesctl().args([
        "query",
        "-o",
        "csv",
        "SELECT order_id FROM orders_cdc LIMIT 1",
    ]))
    .1
    .lines()
    .nth(1)
    .expect("an order id in the lake")
    .to_string()
}

/// A new bucket in the session's emulator.
pub async fn create_bucket(clients: &Clients, bucket: &str) {
    clients
        .s3
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("creating bucket {bucket}: {e}"));
}

/// The salesctl binary with none of the ambient settings that would steer it (AWS profile,
/// region and endpoint, `--local`, colour, terminal width), run from the temporary directory.
pub fn salesctl_without_ambient_settings() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesctl"));
    for var in [
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "SALESCTL_LOCAL",
        "NO_COLOR",
        "COLUMNS",
    ] {
        cmd.env_remove(var);
    }
    cmd.current_dir(std::env::temp_dir());
    cmd
}

/// Starts `cmd` with `stdin`, its stdout and stderr each `output()`: `Stdio::piped` for a
/// test that reads them as the process runs, `Stdio::null` to drop them.
pub fn spawn(cmd: &mut Command, stdin: Stdio, output: fn() -> Stdio) -> Child {
    cmd.stdin(stdin)
        .stdout(output())
        .stderr(output())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// The arguments of `salesctl generate` as fast as the table takes, `count` new orders with
/// updates (30 %) and deletes (10 %), JSON output: what [`generate_changes`] runs.
pub fn unpaced_generate(count: &str) -> Vec<&str> {
    vec![
        "generate",
        "--interval",
        "0s",
        "--count",
        count,
        "--update-ratio",
        "0.3",
        "--delete-ratio",
        "0.1",
        "--output",
        "json",
    ]
}

/// A fresh session, clients for its emulator, and what `setup` first made in it with them (a
/// table, a bucket, a stream).
pub async fn session_with<T>(
    setup: impl AsyncFnOnce(&Session, &Clients) -> T,
) -> (Session, Clients, T) {
    let s = session();
    let clients = s.clients().await;
    let made = setup(&s, &clients).await;
    (s, clients, made)
}

/// A fresh session whose emulator holds the new bucket `bucket`, clients for it, and the
/// bucket as a lake.
pub async fn lake_session(bucket: &str) -> (Session, Clients, salesctl::lake::Lake) {
    session_with(async |_, clients| {
        create_bucket(clients, bucket).await;
        salesctl::lake::Lake::new(&clients.s3, bucket)
    })
    .await
}

/// `salesctl report -o json` of the lake in the directory `dir` (the local engine), which
/// must succeed; its stdout.
pub fn report_of_directory(mut cmd: Command, dir: &Path) -> String {
    let (code, stdout, stderr) =
        run(cmd.args(["report", "--data", dir.to_str().unwrap(), "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    stdout
}

/// Writes the item of `attributes` into `table`, as a user of the table would.
pub async fn put_item(
    clients: &Clients,
    table: &str,
    attributes: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
) {
    let put = clients.dynamodb.put_item().table_name(table);
    attributes
        .iter()
        .fold(put, |put, (name, value)| put.item(*name, value.clone()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("putting an item into {table}: {e}"));
}

/// Deletes the item whose `key` attribute is the string `value` from `table`.
pub async fn delete_item(clients: &Clients, table: &str, key: &str, value: &str) {
    clients
        .dynamodb
        .delete_item()
        .table_name(table)
        .key(
            key,
            aws_sdk_dynamodb::types::AttributeValue::S(value.into()),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("deleting {key} {value} from {table}: {e}"));
}

/// Asserts that each of `expected` is a whole line of `text`.
pub fn assert_has_lines(text: &str, expected: &[&str]) {
    let missing: Vec<&&str> = expected
        .iter()
        .filter(|line| !text.lines().any(|l| l == **line))
        .collect();
    assert!(missing.is_empty(), "{missing:?} missing from\n{text}");
}

/// A fresh session in which `salesctl` with `up_args` (`up` and its flags) has built the
/// stack.
pub fn session_up(up_args: &[&str]) -> Session {
    let s = session();
    let (code, _, stderr) = run(s.salesctl().args(up_args));
    assert_eq!(code, 0, "{stderr}");
    s
}

/// What DescribeTable says of `table`, which must exist.
pub async fn describe_table(
    clients: &Clients,
    table: &str,
) -> aws_sdk_dynamodb::types::TableDescription {
    clients
        .dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describing table {table}: {e}"))
        .table
        .unwrap_or_else(|| panic!("no description of table {table}"))
}

/// The ARN of `table`'s stream.
pub async fn table_stream_arn(clients: &Clients, table: &str) -> String {
    describe_table(clients, table)
        .await
        .latest_stream_arn
        .unwrap_or_else(|| panic!("table {table} has a stream"))
}

/// Whether DescribeTable finds `table`.
pub async fn table_exists(clients: &Clients, table: &str) -> bool {
    clients
        .dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok()
}

/// `salesctl relay --drain` with a one-second buffer and a JSON summary.
pub const DRAIN_JSON: [&str; 6] = [
    "relay",
    "--drain",
    "--buffer-interval",
    "1s",
    "--output",
    "json",
];

/// The flags of a following `salesctl relay` that flushes and polls quickly (small buffers).
pub const FAST_FOLLOW: [&str; 6] = [
    "--buffer-interval",
    "100ms",
    "--buffer-mb",
    "1",
    "--poll",
    "20ms",
];

/// A stack with changes relayed into the lake in two flushes (so at least two lake objects);
/// returns the clients, the lake bucket and its object keys under `orders/`.
pub async fn relayed_lake(s: &Session) -> (Clients, String, Vec<String>) {
    let (code, _, stderr) = run(s.salesctl().args(["up", "-o", "json"]));
    assert_eq!(code, 0, "{stderr}");
    for _ in 0..2 {
        generate_changes(s, "30");
        let (code, _, stderr) =
            run(s
                .salesctl()
                .args(["relay", "--drain", "--buffer-interval", "1s", "-o", "json"]));
        assert_eq!(code, 0, "{stderr}");
    }
    let clients = s.clients().await;
    let bucket = clients.bucket(&s.settings()).await.unwrap();
    let keys = clients
        .s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("orders/")
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    (clients, bucket, keys)
}

/// `salesctl --local ARGS` in a real pseudo-terminal of `columns` × `rows` (util-linux
/// `script`), with the environment `Session::salesctl()` gives (emulator, state, config).
pub fn in_pty(s: &Session, columns: u16, rows: u16, args: &str) -> Command {
    let bin = env!("CARGO_BIN_EXE_salesctl");
    let inner = format!("stty cols {columns} rows {rows}; exec {bin} --local {args}");
    let mut script = Command::new("script");
    script.args(["-q", "-e", "-c", &inner, "/dev/null"]);
    for (k, v) in s.salesctl().get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    script
}

/// A lake object delivered twice: a copy of `key` beside it, as `<key>-copy`.
pub async fn copy_object_beside(clients: &Clients, bucket: &str, key: &str) {
    clients
        .s3
        .copy_object()
        .bucket(bucket)
        .copy_source(format!("{bucket}/{key}"))
        .key(match key.strip_suffix(".parquet") {
            // A copy keeps the format's suffix, or the table would not list it.
            Some(stem) => format!("{stem}-copy.parquet"),
            None => format!("{key}-copy"),
        })
        .send()
        .await
        .unwrap();
}

/// A lake object lost: `key` deleted.
pub async fn delete_object(clients: &Clients, bucket: &str, key: &str) {
    clients
        .s3
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
}

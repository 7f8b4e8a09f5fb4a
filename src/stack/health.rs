//! Whether data flows, not only whether the stack is built: the pipe's state (Pipes stops a
//! pipe that keeps failing, with its reason), the dead-letter queue's depth, and Firehose's
//! and the transform's recent CloudWatch counts. Gathered read-only ([`gather`]) and judged
//! by one pure function ([`judge`]) that `status` and `watch` share.
//!
//! Metric names and namespaces are AWS's (the Firehose, Lambda and Pipes monitoring guides):
//! `AWS/Firehose` by `DeliveryStreamName`, `AWS/Lambda` by `FunctionName`,
//! `AWS/EventBridge/Pipes` by `PipeName`.

use std::time::Duration;

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, DurationRound, Utc};

use crate::aws::{Clients, describe, is_not_found};
use crate::stack::StackNames;
use crate::stack::facts::ResourceFact;

/// How far back the counts look: long enough for Firehose's once-a-minute metrics to have
/// arrived, short enough that a fixed fault stops showing soon after.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// CloudWatch's finest period for these metrics.
const PERIOD_SECONDS: i32 = 60;

/// What the checks look at: the names, and what the stack has built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    pub pipe: String,
    pub firehose: String,
    pub function: String,
    pub dlq_name: String,
    /// The dead-letter queue's URL (its CloudFormation physical id), when the stack has one.
    pub dlq_url: Option<String>,
    /// The transform is deployed, so the function, Firehose and the pipe exist on AWS.
    pub has_code: bool,
    /// On the emulator Pipes and Firehose are stored, not run: the relay does their work.
    pub emulator: bool,
    /// Firehose's buffering interval: the freshness limit follows it.
    pub buffer_seconds: u32,
}

impl Targets {
    /// From what `status` already listed (no further call).
    pub fn from_resources(
        names: &StackNames,
        resources: &[ResourceFact],
        emulator: bool,
        buffer_seconds: u32,
    ) -> Targets {
        let physical = |id: &str| {
            resources
                .iter()
                .find(|r| r.logical_id == id && !r.physical_id.is_empty())
                .map(|r| r.physical_id.clone())
        };
        Targets {
            pipe: names.pipe.clone(),
            firehose: names.firehose.clone(),
            function: names.lambda.clone(),
            dlq_name: format!("{}-dlq", names.pipe),
            dlq_url: physical("PipeDeadLetterQueue"),
            has_code: physical("TransformFunction").is_some(),
            emulator,
            buffer_seconds,
        }
    }

    /// From the stack's resource list (one CloudFormation call), for `watch`.
    pub async fn load(
        c: &Clients,
        names: &StackNames,
        emulator: bool,
        buffer_seconds: u32,
    ) -> anyhow::Result<Targets> {
        let listed = crate::stack::facts::stack_resources(c, names.stack_name()).await?;
        let resources: Vec<ResourceFact> = listed
            .into_iter()
            .map(|r| ResourceFact {
                logical_id: r.logical_resource_id.unwrap_or_default(),
                resource_type: r.resource_type.unwrap_or_default(),
                state: String::new(),
                physical_id: r.physical_resource_id.unwrap_or_default(),
                drift: None,
                healthy: true,
            })
            .collect();
        Ok(Targets::from_resources(
            names,
            &resources,
            emulator,
            buffer_seconds,
        ))
    }
}

/// One fact as far as it could be learnt.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact<T> {
    Read(T),
    /// Stored but not run on the emulator; what does its work in-process.
    InProcess(&'static str),
    /// Not deployed yet: no transform code, so no function, Firehose or pipe.
    NotYet,
    /// The service says it does not exist.
    Missing,
    /// The call failed: one line why.
    Unreadable(String),
}

/// What `DescribePipe` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipeState {
    /// `CurrentState`: RUNNING, STOPPED, CREATING, … CREATE_FAILED, START_FAILED, ….
    pub current: String,
    /// `DesiredState`: RUNNING or STOPPED.
    pub desired: Option<String>,
    /// `StateReason`: why it is in that state (e.g. why Pipes stopped it).
    pub reason: Option<String>,
}

/// Firehose's counts over the window (`None`: no data point, i.e. nothing happened).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FirehoseCounts {
    /// `DataReadFromKinesisStream.Records`, Sum.
    pub records_read: Option<f64>,
    /// `DeliveryToS3.Records`, Sum.
    pub records_delivered: Option<f64>,
    /// `DeliveryToS3.Success`, Average: successful S3 puts over all puts (0..1).
    pub s3_success: Option<f64>,
    /// `DeliveryToS3.DataFreshness`, Maximum: age in seconds of the oldest undelivered record.
    pub freshness_seconds: Option<f64>,
    /// `ExecuteProcessing.Success`, Average: successful transform invocations over all (0..1).
    pub processing_success: Option<f64>,
    /// `SucceedProcessing.Records`, Sum.
    pub records_processed: Option<f64>,
    /// `FailedConversion.Records`, Sum (only with record format conversion).
    pub conversion_failures: Option<f64>,
}

/// The transform function's counts over the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionCounts {
    /// `Invocations`, Sum.
    pub invocations: Option<f64>,
    /// `Errors`, Sum: crashes and timeouts (a batch the function could not answer).
    pub errors: Option<f64>,
    /// `Throttles`, Sum.
    pub throttles: Option<f64>,
}

/// The pipe's counts over the window (shown, not judged: Pipes retries a failed batch, and
/// one that keeps failing reaches the dead-letter queue, which is judged).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipeCounts {
    /// `EventCount`, Sum.
    pub events: Option<f64>,
    /// `ExecutionFailed`, Sum.
    pub failed: Option<f64>,
}

/// Everything the judge looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthFacts {
    pub targets: Targets,
    pub pipe: Fact<PipeState>,
    pub pipe_counts: Fact<PipeCounts>,
    /// Messages in the dead-letter queue (visible plus in flight).
    pub dlq_messages: Fact<u64>,
    pub firehose: Fact<FirehoseCounts>,
    pub function: Fact<FunctionCounts>,
}

/// One line of the health report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    /// A word or a number: RUNNING, ok, failing, idle, in-process: relay, 3, ….
    pub state: String,
    pub detail: String,
    /// What is wrong and what to do, when something is.
    pub problem: Option<String>,
}

/// The judge's answer: each check, and whether any found a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub checks: Vec<Check>,
}

impl Health {
    pub fn is_healthy(&self) -> bool {
        self.checks.iter().all(|c| c.problem.is_none())
    }

    /// Every problem, in one line; `None` when healthy.
    pub fn reason(&self) -> Option<String> {
        let problems: Vec<&str> = self
            .checks
            .iter()
            .filter_map(|c| c.problem.as_deref())
            .collect();
        (!problems.is_empty()).then(|| problems.join("; "))
    }
}

/// The oldest a record may wait in Firehose before it counts as stuck: three buffering
/// intervals (Firehose buffers for the transform, then for S3), and never under 15 minutes.
pub fn freshness_limit_seconds(buffer_seconds: u32) -> f64 {
    f64::from(buffer_seconds.saturating_mul(3).max(900))
}

/// Pipe states that pass: running, or on the way somewhere (`up` waits those out).
const SETTLING: [&str; 5] = ["CREATING", "UPDATING", "STARTING", "STOPPING", "DELETING"];

/// Judges the facts. Bad: a pipe not RUNNING (or settling), any message in the dead-letter
/// queue, any failed S3 put, transform invocation or format conversion in the window, data
/// older than [`freshness_limit_seconds`], any function error or throttle, and any fact that
/// could not be read (health unknown is not health).
pub fn judge(facts: &HealthFacts) -> Health {
    let t = &facts.targets;
    let checks = vec![
        judge_pipe(t, &facts.pipe, &facts.pipe_counts),
        judge_dlq(t, &facts.dlq_messages),
        judge_firehose(t, &facts.firehose),
        judge_function(t, &facts.function),
    ];
    Health { checks }
}

/// The shared shapes of a fact that was not read.
fn unread<T>(fact: &Fact<T>, what: &str, action: &str) -> Option<(String, Option<String>)> {
    match fact {
        Fact::Read(_) => None,
        Fact::InProcess(by) => Some((format!("in-process: {by}"), None)),
        Fact::NotYet => Some(("not yet: deploy-lambda".into(), None)),
        Fact::Missing => Some((
            "MISSING".into(),
            Some(format!("{what} not found: run 'salesctl up'")),
        )),
        Fact::Unreadable(why) => Some((
            "unknown".into(),
            Some(format!(
                "cannot read {what} ({why}): the operator needs {action} ('salesctl policy')"
            )),
        )),
    }
}

fn check(name: &'static str, state: String, detail: String, problem: Option<String>) -> Check {
    Check {
        name,
        state,
        detail,
        problem,
    }
}

fn count(v: Option<f64>) -> String {
    format!("{:.0}", v.unwrap_or(0.0))
}

fn percent(ratio: f64) -> String {
    let p = ratio * 100.0;
    if p > 99.95 && p < 100.0 {
        "99.9%".into()
    } else {
        format!("{p:.1}%").replace(".0%", "%")
    }
}

/// Under 1 by more than rounding: some puts or invocations failed.
fn below_one(ratio: Option<f64>) -> Option<f64> {
    ratio.filter(|r| *r < 1.0 - 1e-9)
}

fn positive(v: Option<f64>) -> Option<f64> {
    v.filter(|n| *n > 0.0)
}

fn judge_pipe(t: &Targets, fact: &Fact<PipeState>, counts: &Fact<PipeCounts>) -> Check {
    let what = format!("the state of pipe '{}'", t.pipe);
    if let Some((state, problem)) = unread(fact, &what, "pipes:DescribePipe") {
        return check("pipe state", state, String::new(), problem);
    }
    let Fact::Read(p) = fact else {
        unreachable!("unread() handled every other case")
    };
    let mut detail = p.reason.clone().unwrap_or_default();
    if let Fact::Read(c) = counts {
        let figures = format!(
            "last 15 min: {} events, {} failed executions (retried)",
            count(c.events),
            count(c.failed)
        );
        detail = if detail.is_empty() {
            figures
        } else {
            format!("{detail}; {figures}")
        };
    }
    let reason = p
        .reason
        .as_deref()
        .map(|r| r.replace('\n', " "))
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "no reason given".into());
    let name = &t.pipe;
    let current = p.current.as_str();
    let problem = match current {
        "RUNNING" => None,
        _ if SETTLING.contains(&current) => None,
        "STOPPED" => {
            let desired = p
                .desired
                .as_deref()
                .map_or(String::new(), |d| format!(", desired {d}"));
            Some(format!(
                "pipe '{name}' is STOPPED{desired} ({reason}): changes wait in the table's stream (24 h); fix the cause, then 'aws pipes start-pipe --name {name}'"
            ))
        }
        _ if current.ends_with("_FAILED") => Some(format!(
            "pipe '{name}' is {current} ({reason}): fix that cause, then run 'salesctl up'"
        )),
        _ => Some(format!(
            "pipe '{name}' is {current} ({reason}): run 'salesctl up'"
        )),
    };
    check("pipe state", p.current.clone(), detail, problem)
}

fn judge_dlq(t: &Targets, fact: &Fact<u64>) -> Check {
    let what = format!("dead-letter queue '{}'", t.dlq_name);
    if let Some((state, problem)) = unread(fact, &what, "sqs:GetQueueAttributes") {
        return check("dead-letter messages", state, t.dlq_name.clone(), problem);
    }
    let Fact::Read(n) = fact else {
        unreachable!("unread() handled every other case")
    };
    let problem = (*n > 0).then(|| {
        format!(
            "{n} failed batch{} in dead-letter queue '{}': the pipe gave up on {} after 10 retries; replay those changes from the table's stream within 24 h (each message names the shard and sequence numbers), then purge the queue",
            if *n == 1 { "" } else { "es" },
            t.dlq_name,
            if *n == 1 { "it" } else { "them" },
        )
    });
    check(
        "dead-letter messages",
        n.to_string(),
        t.dlq_name.clone(),
        problem,
    )
}

fn judge_firehose(t: &Targets, fact: &Fact<FirehoseCounts>) -> Check {
    let what = format!("the metrics of Firehose '{}'", t.firehose);
    if let Some((state, problem)) = unread(fact, &what, "cloudwatch:GetMetricData") {
        return check("firehose last 15 min", state, String::new(), problem);
    }
    let Fact::Read(f) = fact else {
        unreachable!("unread() handled every other case")
    };
    let limit = freshness_limit_seconds(t.buffer_seconds);
    let mut detail = format!(
        "{} read, {} to S3",
        count(f.records_read),
        count(f.records_delivered)
    );
    if let Some(ok) = f.s3_success {
        detail.push_str(&format!(" (puts {} ok)", percent(ok)));
    }
    detail.push_str(&format!(", {} transformed", count(f.records_processed)));
    if let Some(ok) = f.processing_success {
        detail.push_str(&format!(" (invocations {} ok)", percent(ok)));
    }
    if let Some(n) = positive(f.conversion_failures) {
        detail.push_str(&format!(", {n:.0} conversion failures"));
    }
    if let Some(age) = f.freshness_seconds {
        detail.push_str(&format!(", oldest record {age:.0} s (limit {limit:.0} s)"));
    }
    let name = &t.firehose;
    let logs = format!("/aws/kinesisfirehose/{name}");
    let mut problems = Vec::new();
    if let Some(ok) = below_one(f.s3_success) {
        problems.push(format!(
            "Firehose '{name}' failed {} of its S3 puts in the last 15 min: check the bucket and the Firehose role, and log group {logs}",
            percent(1.0 - ok)
        ));
    }
    if let Some(ok) = below_one(f.processing_success) {
        problems.push(format!(
            "Firehose '{name}' failed {} of its transform invocations in the last 15 min: those records are under errors/processing-failed/; see log group /aws/lambda/{}",
            percent(1.0 - ok),
            t.function
        ));
    }
    if let Some(n) = positive(f.conversion_failures) {
        problems.push(format!(
            "Firehose '{name}' could not convert {n:.0} records in the last 15 min: they are under errors/format-conversion-failed/"
        ));
    }
    if let Some(age) = f.freshness_seconds.filter(|a| *a > limit) {
        problems.push(format!(
            "Firehose '{name}' holds records {age:.0} s old (limit {limit:.0} s): deliveries are stuck; see log group {logs}"
        ));
    }
    let idle = f.records_read.unwrap_or(0.0) == 0.0 && f.records_delivered.unwrap_or(0.0) == 0.0;
    let state = match (problems.is_empty(), idle) {
        (false, _) => "failing",
        (true, true) => "idle",
        (true, false) => "ok",
    };
    let problem = (!problems.is_empty()).then(|| problems.join("; "));
    check("firehose last 15 min", state.into(), detail, problem)
}

fn judge_function(t: &Targets, fact: &Fact<FunctionCounts>) -> Check {
    let what = format!("the metrics of function '{}'", t.function);
    if let Some((state, problem)) = unread(fact, &what, "cloudwatch:GetMetricData") {
        return check("transform last 15 min", state, String::new(), problem);
    }
    let Fact::Read(f) = fact else {
        unreachable!("unread() handled every other case")
    };
    let detail = format!(
        "{} invocations, {} errors, {} throttles",
        count(f.invocations),
        count(f.errors),
        count(f.throttles)
    );
    let name = &t.function;
    let mut problems = Vec::new();
    if let Some(n) = positive(f.errors) {
        problems.push(format!(
            "transform '{name}' failed {n:.0} of {} invocations in the last 15 min (crashes or timeouts: Firehose retries, then writes the batch under errors/processing-failed/): see log group /aws/lambda/{name}",
            count(f.invocations)
        ));
    }
    if let Some(n) = positive(f.throttles) {
        problems.push(format!(
            "transform '{name}' was throttled {n:.0} times in the last 15 min: raise the account's Lambda concurrency or the function's reserved concurrency"
        ));
    }
    let state = if !problems.is_empty() {
        "failing"
    } else if f.invocations.unwrap_or(0.0) == 0.0 {
        "idle"
    } else {
        "ok"
    };
    let problem = (!problems.is_empty()).then(|| problems.join("; "));
    check("transform last 15 min", state.into(), detail, problem)
}

/// Reads every fact (read-only calls: DescribePipe, GetQueueAttributes, one GetMetricData);
/// never fails: what cannot be read says so in its fact.
pub async fn gather(c: &Clients, targets: &Targets, now: DateTime<Utc>) -> HealthFacts {
    let (pipe, dlq_messages, metrics) = tokio::join!(
        pipe_state(c, targets),
        dlq_depth(c, targets),
        metrics(c, targets, now)
    );
    let (pipe_counts, firehose, function) = metrics;
    HealthFacts {
        targets: targets.clone(),
        pipe,
        pipe_counts,
        dlq_messages,
        firehose,
        function,
    }
}

async fn pipe_state(c: &Clients, t: &Targets) -> Fact<PipeState> {
    if !t.emulator && !t.has_code {
        return Fact::NotYet;
    }
    match c.pipes.describe_pipe().name(&t.pipe).send().await {
        Ok(out) => Fact::Read(PipeState {
            current: out
                .current_state()
                .map_or_else(|| "UNKNOWN".to_string(), |s| s.as_str().to_string()),
            desired: out.desired_state().map(|s| s.as_str().to_string()),
            reason: out.state_reason().map(str::to_string),
        }),
        // moto stores a pipe only when asked directly (its CloudFormation skips Pipes): the
        // relay is the pipe there.
        Err(_) if t.emulator => Fact::InProcess("relay"),
        Err(e) if is_not_found(&e) => Fact::Missing,
        Err(e) => Fact::Unreadable(describe(&e)),
    }
}

async fn dlq_depth(c: &Clients, t: &Targets) -> Fact<u64> {
    let Some(url) = &t.dlq_url else {
        return Fact::Missing;
    };
    let answer = c
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await;
    match answer {
        Ok(out) => {
            let attributes = out.attributes.unwrap_or_default();
            let read = |name: QueueAttributeName| {
                attributes
                    .get(&name)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            Fact::Read(
                read(QueueAttributeName::ApproximateNumberOfMessages)
                    + read(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            )
        }
        Err(e)
            if is_not_found(&e)
                || matches!(
                    e.code(),
                    Some("QueueDoesNotExist" | "AWS.SimpleQueueService.NonExistentQueue")
                ) =>
        {
            Fact::Missing
        }
        Err(e) => Fact::Unreadable(describe(&e)),
    }
}

/// How a metric's per-minute values become one number for the window.
#[derive(Debug, Clone, Copy)]
enum Fold {
    Sum,
    Max,
    Mean,
}

/// (query id, namespace, metric, statistic, fold). Ids are CloudWatch's: a lowercase start.
const FIREHOSE_METRICS: [(&str, &str, &str, Fold); 7] = [
    (
        "fh_read",
        "DataReadFromKinesisStream.Records",
        "Sum",
        Fold::Sum,
    ),
    ("fh_delivered", "DeliveryToS3.Records", "Sum", Fold::Sum),
    ("fh_s3_ok", "DeliveryToS3.Success", "Average", Fold::Mean),
    (
        "fh_fresh",
        "DeliveryToS3.DataFreshness",
        "Maximum",
        Fold::Max,
    ),
    (
        "fh_proc_ok",
        "ExecuteProcessing.Success",
        "Average",
        Fold::Mean,
    ),
    (
        "fh_processed",
        "SucceedProcessing.Records",
        "Sum",
        Fold::Sum,
    ),
    (
        "fh_conv_failed",
        "FailedConversion.Records",
        "Sum",
        Fold::Sum,
    ),
];
const FUNCTION_METRICS: [(&str, &str, &str, Fold); 3] = [
    ("fn_invocations", "Invocations", "Sum", Fold::Sum),
    ("fn_errors", "Errors", "Sum", Fold::Sum),
    ("fn_throttles", "Throttles", "Sum", Fold::Sum),
];
const PIPE_METRICS: [(&str, &str, &str, Fold); 2] = [
    ("pipe_events", "EventCount", "Sum", Fold::Sum),
    ("pipe_failed", "ExecutionFailed", "Sum", Fold::Sum),
];

fn query(
    id: &str,
    namespace: &str,
    dimension: (&str, &str),
    metric: &str,
    stat: &str,
) -> MetricDataQuery {
    MetricDataQuery::builder()
        .id(id)
        .return_data(true)
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(namespace)
                        .metric_name(metric)
                        .dimensions(
                            Dimension::builder()
                                .name(dimension.0)
                                .value(dimension.1)
                                .build(),
                        )
                        .build(),
                )
                .period(PERIOD_SECONDS)
                .stat(stat)
                .build(),
        )
        .build()
}

fn fold(values: &[f64], how: Fold) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(match how {
        Fold::Sum => values.iter().sum(),
        Fold::Max => values.iter().copied().fold(f64::MIN, f64::max),
        Fold::Mean => values.iter().sum::<f64>() / values.len() as f64,
    })
}

type MetricFacts = (Fact<PipeCounts>, Fact<FirehoseCounts>, Fact<FunctionCounts>);

/// One GetMetricData call for the pipe's, Firehose's and the function's counts.
async fn metrics(c: &Clients, t: &Targets, now: DateTime<Utc>) -> MetricFacts {
    if t.emulator {
        // moto stores Pipes and Firehose without running them (and speaks no CBOR, which
        // the CloudWatch SDK now uses): the relay pipes, transforms and delivers here.
        return (
            Fact::InProcess("relay"),
            Fact::InProcess("relay"),
            Fact::InProcess("relay"),
        );
    }
    if !t.has_code {
        return (Fact::NotYet, Fact::NotYet, Fact::NotYet);
    }
    let end = now
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap_or(now);
    let start = end - chrono::Duration::from_std(WINDOW).unwrap_or_default();
    let mut request = c
        .cloudwatch
        .get_metric_data()
        .start_time(aws_smithy_types::DateTime::from_secs(start.timestamp()))
        .end_time(aws_smithy_types::DateTime::from_secs(end.timestamp()));
    let groups = [
        (
            &FIREHOSE_METRICS[..],
            "AWS/Firehose",
            "DeliveryStreamName",
            &t.firehose,
        ),
        (
            &FUNCTION_METRICS[..],
            "AWS/Lambda",
            "FunctionName",
            &t.function,
        ),
        (
            &PIPE_METRICS[..],
            "AWS/EventBridge/Pipes",
            "PipeName",
            &t.pipe,
        ),
    ];
    for (metrics, namespace, dimension, name) in groups {
        for (id, metric, stat, _) in metrics {
            request =
                request.metric_data_queries(query(id, namespace, (dimension, name), metric, stat));
        }
    }
    // 12 metrics × 15 minutes is far under one page (100,800 data points).
    let results = match request.send().await {
        Ok(out) => out.metric_data_results.unwrap_or_default(),
        Err(e) => {
            let why = describe(&e);
            return (
                Fact::Unreadable(why.clone()),
                Fact::Unreadable(why.clone()),
                Fact::Unreadable(why),
            );
        }
    };
    let value = |id: &str| -> Option<f64> {
        let how = FIREHOSE_METRICS
            .iter()
            .chain(FUNCTION_METRICS.iter())
            .chain(PIPE_METRICS.iter())
            .find(|(i, ..)| *i == id)
            .map_or(Fold::Sum, |(.., f)| *f);
        results
            .iter()
            .find(|r| r.id.as_deref() == Some(id))
            .and_then(|r| fold(r.values.as_deref().unwrap_or_default(), how))
    };
    (
        Fact::Read(PipeCounts {
            events: value("pipe_events"),
            failed: value("pipe_failed"),
        }),
        Fact::Read(FirehoseCounts {
            records_read: value("fh_read"),
            records_delivered: value("fh_delivered"),
            s3_success: value("fh_s3_ok"),
            freshness_seconds: value("fh_fresh"),
            processing_success: value("fh_proc_ok"),
            records_processed: value("fh_processed"),
            conversion_failures: value("fh_conv_failed"),
        }),
        Fact::Read(FunctionCounts {
            invocations: value("fn_invocations"),
            errors: value("fn_errors"),
            throttles: value("fn_throttles"),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets() -> Targets {
        Targets {
            pipe: "salesctl-cdc-pipe".into(),
            firehose: "salesctl-orders".into(),
            function: "salesctl-transform".into(),
            dlq_name: "salesctl-cdc-pipe-dlq".into(),
            dlq_url: Some(
                "https://sqs.us-east-1.amazonaws.com/123456789012/salesctl-cdc-pipe-dlq".into(),
            ),
            has_code: true,
            emulator: false,
            buffer_seconds: 60,
        }
    }

    fn running() -> Fact<PipeState> {
        Fact::Read(PipeState {
            current: "RUNNING".into(),
            desired: Some("RUNNING".into()),
            reason: None,
        })
    }

    fn flowing() -> FirehoseCounts {
        FirehoseCounts {
            records_read: Some(1200.0),
            records_delivered: Some(1200.0),
            s3_success: Some(1.0),
            freshness_seconds: Some(75.0),
            processing_success: Some(1.0),
            records_processed: Some(1200.0),
            conversion_failures: None,
        }
    }

    fn healthy() -> HealthFacts {
        HealthFacts {
            targets: targets(),
            pipe: running(),
            pipe_counts: Fact::Read(PipeCounts {
                events: Some(1200.0),
                failed: Some(0.0),
            }),
            dlq_messages: Fact::Read(0),
            firehose: Fact::Read(flowing()),
            function: Fact::Read(FunctionCounts {
                invocations: Some(40.0),
                errors: None,
                throttles: None,
            }),
        }
    }

    fn state_of<'a>(health: &'a Health, name: &str) -> &'a str {
        &health.checks.iter().find(|c| c.name == name).unwrap().state
    }

    #[test]
    fn a_flowing_pipeline_is_healthy_and_says_its_counts() {
        let health = judge(&healthy());
        assert!(health.is_healthy(), "{:?}", health.reason());
        assert_eq!(health.reason(), None);
        assert_eq!(state_of(&health, "pipe state"), "RUNNING");
        assert_eq!(state_of(&health, "dead-letter messages"), "0");
        assert_eq!(state_of(&health, "firehose last 15 min"), "ok");
        assert_eq!(state_of(&health, "transform last 15 min"), "ok");
        let firehose = &health.checks[2].detail;
        assert!(
            firehose.contains("1200 read, 1200 to S3 (puts 100% ok)"),
            "{firehose}"
        );
        assert!(
            firehose.contains("oldest record 75 s (limit 900 s)"),
            "{firehose}"
        );
    }

    #[test]
    fn a_pipe_that_pipes_stopped_is_bad_with_its_reason() {
        let mut facts = healthy();
        facts.pipe = Fact::Read(PipeState {
            current: "STOPPED".into(),
            desired: Some("RUNNING".into()),
            reason: Some(
                "Pipe stopped after continuous failures:\nAccessDenied on kinesis:PutRecords"
                    .into(),
            ),
        });
        let health = judge(&facts);
        let reason = health.reason().unwrap();
        assert!(!reason.contains('\n'), "one line: {reason}");
        assert!(
            reason.contains("pipe 'salesctl-cdc-pipe' is STOPPED, desired RUNNING"),
            "{reason}"
        );
        assert!(
            reason.contains("AccessDenied on kinesis:PutRecords"),
            "{reason}"
        );
        assert!(
            reason.contains("aws pipes start-pipe --name salesctl-cdc-pipe"),
            "{reason}"
        );
        for failed in [
            "CREATE_FAILED",
            "UPDATE_FAILED",
            "START_FAILED",
            "STOP_FAILED",
        ] {
            facts.pipe = Fact::Read(PipeState {
                current: failed.into(),
                desired: Some("RUNNING".into()),
                reason: None,
            });
            let reason = judge(&facts).reason().unwrap();
            assert!(
                reason.contains(&format!("is {failed} (no reason given)")),
                "{reason}"
            );
            assert!(reason.contains("salesctl up"), "{reason}");
        }
        for settling in ["CREATING", "UPDATING", "STARTING", "STOPPING"] {
            facts.pipe = Fact::Read(PipeState {
                current: settling.into(),
                desired: None,
                reason: None,
            });
            assert!(judge(&facts).is_healthy(), "{settling} passes");
        }
    }

    #[test]
    fn messages_in_the_dead_letter_queue_are_bad() {
        let mut facts = healthy();
        facts.dlq_messages = Fact::Read(3);
        let health = judge(&facts);
        assert_eq!(state_of(&health, "dead-letter messages"), "3");
        let reason = health.reason().unwrap();
        assert!(
            reason.starts_with("3 failed batches in dead-letter queue 'salesctl-cdc-pipe-dlq'"),
            "{reason}"
        );
        assert!(reason.contains("replay"), "{reason}");
        facts.dlq_messages = Fact::Read(1);
        assert!(
            judge(&facts)
                .reason()
                .unwrap()
                .starts_with("1 failed batch in")
        );
    }

    #[test]
    fn firehose_failures_and_stale_data_are_bad() {
        type Breaks = fn(&mut FirehoseCounts);
        let cases: [(Breaks, &str); 4] = [
            (|f| f.s3_success = Some(0.75), "failed 25% of its S3 puts"),
            (
                |f| f.processing_success = Some(0.5),
                "failed 50% of its transform invocations",
            ),
            (
                |f| f.conversion_failures = Some(7.0),
                "could not convert 7 records",
            ),
            (
                |f| f.freshness_seconds = Some(1800.0),
                "holds records 1800 s old (limit 900 s)",
            ),
        ];
        for (breaks, says) in cases {
            let mut counts = flowing();
            breaks(&mut counts);
            let mut facts = healthy();
            facts.firehose = Fact::Read(counts);
            let health = judge(&facts);
            assert_eq!(state_of(&health, "firehose last 15 min"), "failing");
            let reason = health.reason().unwrap();
            assert!(reason.contains(says), "{says}: {reason}");
            assert!(reason.contains("salesctl-orders"), "{reason}");
        }
        // The limit follows the buffering interval: 3 of them, at least 15 minutes.
        assert_eq!(freshness_limit_seconds(60), 900.0);
        assert_eq!(freshness_limit_seconds(900), 2700.0);
        let mut facts = healthy();
        facts.targets.buffer_seconds = 900;
        facts.firehose = Fact::Read(FirehoseCounts {
            freshness_seconds: Some(1800.0),
            ..flowing()
        });
        assert!(judge(&facts).is_healthy(), "30 min is within 3 × 900 s");
    }

    #[test]
    fn function_errors_and_throttles_are_bad() {
        let mut facts = healthy();
        facts.function = Fact::Read(FunctionCounts {
            invocations: Some(40.0),
            errors: Some(2.0),
            throttles: Some(5.0),
        });
        let reason = judge(&facts).reason().unwrap();
        assert!(
            reason.contains("transform 'salesctl-transform' failed 2 of 40 invocations"),
            "{reason}"
        );
        assert!(reason.contains("throttled 5 times"), "{reason}");
        assert!(
            reason.contains("/aws/lambda/salesctl-transform"),
            "{reason}"
        );
    }

    #[test]
    fn no_traffic_is_idle_not_bad() {
        let mut facts = healthy();
        facts.firehose = Fact::Read(FirehoseCounts::default());
        facts.function = Fact::Read(FunctionCounts::default());
        let health = judge(&facts);
        assert!(health.is_healthy());
        assert_eq!(state_of(&health, "firehose last 15 min"), "idle");
        assert_eq!(state_of(&health, "transform last 15 min"), "idle");
    }

    #[test]
    fn what_cannot_be_read_is_not_healthy_and_names_the_permission() {
        let mut facts = healthy();
        facts.firehose = Fact::Unreadable("AccessDenied: not authorized".into());
        facts.function = Fact::Unreadable("AccessDenied: not authorized".into());
        facts.pipe = Fact::Missing;
        let health = judge(&facts);
        assert_eq!(state_of(&health, "firehose last 15 min"), "unknown");
        assert_eq!(state_of(&health, "pipe state"), "MISSING");
        let reason = health.reason().unwrap();
        assert!(reason.contains("cloudwatch:GetMetricData"), "{reason}");
        assert!(
            reason.contains("pipe 'salesctl-cdc-pipe'") && reason.contains("not found"),
            "{reason}"
        );
    }

    #[test]
    fn in_process_and_not_yet_deployed_pass_and_say_so() {
        let mut facts = healthy();
        facts.pipe = Fact::InProcess("relay");
        facts.pipe_counts = Fact::InProcess("relay");
        facts.firehose = Fact::InProcess("relay");
        facts.function = Fact::NotYet;
        let health = judge(&facts);
        assert!(health.is_healthy());
        assert_eq!(state_of(&health, "pipe state"), "in-process: relay");
        assert_eq!(
            state_of(&health, "firehose last 15 min"),
            "in-process: relay"
        );
        assert_eq!(
            state_of(&health, "transform last 15 min"),
            "not yet: deploy-lambda"
        );
    }

    #[test]
    fn metric_values_fold_per_statistic() {
        assert_eq!(fold(&[], Fold::Sum), None);
        assert_eq!(fold(&[1.0, 2.0, 3.0], Fold::Sum), Some(6.0));
        assert_eq!(fold(&[60.0, 300.0, 75.0], Fold::Max), Some(300.0));
        assert_eq!(fold(&[1.0, 0.5], Fold::Mean), Some(0.75));
    }
}

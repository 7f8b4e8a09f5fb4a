//! The AWS stack of DESIGN.md §1 as data and steps: every name and ARN derived from the
//! settings, the dependency order, and the per-resource outcome lines of up/down/status.

pub mod calls;
pub mod function;
pub mod health;
pub mod iam;
pub mod resources;
pub mod teardown;

use std::io::Write;

use crate::render::{Cell, OutputFormat, json_object};
use crate::settings::Settings;

/// Where Firehose writes rows; the Glue table and the local engine read the same prefix.
pub const DATA_PREFIX: &str = "orders/";
/// Firehose's key layout: one folder per UTC day and hour, matching the Glue projection.
pub const FIREHOSE_PREFIX: &str = "orders/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/";
/// Failed records, by failure type, so a bad transform is visible at a glance.
pub const ERROR_PREFIX: &str = "errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/";
/// The folder the error prefix expands under.
pub const ERROR_ROOT: &str = "errors/";
/// Where the Athena workgroup writes query results.
pub const ATHENA_RESULTS_PREFIX: &str = "athena-results/";
/// The workgroup refuses queries that would scan more than this (1 GiB): a typo in a WHERE
/// clause costs cents, not dollars.
pub const BYTES_SCANNED_CUTOFF: i64 = 1 << 30;
/// The name of each role's one inline policy.
pub const INLINE_POLICY: &str = "salesctl-least-privilege";

/// Every resource name and ARN of one stack, resolved once (account, region, bucket) so
/// the pure parts (policies, plans) need no client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackNames {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub prefix: String,
    pub table: String,
    pub stream: String,
    pub bucket: String,
    pub pipe: String,
    pub firehose: String,
    pub lambda: String,
    pub glue_database: String,
    pub glue_table: String,
    pub workgroup: String,
    pub pipe_role: String,
    pub firehose_role: String,
    pub lambda_role: String,
    pub buffer_seconds: u32,
    pub buffer_mb: u32,
}

impl StackNames {
    pub fn new(settings: &Settings, account: &str, region: &str, bucket: &str) -> StackNames {
        let prefix = settings.stack_prefix.clone();
        StackNames {
            partition: partition_of(region).to_string(),
            region: region.to_string(),
            account: account.to_string(),
            table: settings.table.clone(),
            stream: settings.stream.clone(),
            bucket: bucket.to_string(),
            pipe: settings.pipe.clone(),
            firehose: settings.firehose.clone(),
            lambda: settings.lambda.clone(),
            glue_database: settings.glue_database.clone(),
            glue_table: settings.glue_table.clone(),
            workgroup: settings.workgroup.clone(),
            pipe_role: format!("{prefix}-pipe-role"),
            firehose_role: format!("{prefix}-firehose-role"),
            lambda_role: format!("{prefix}-lambda-role"),
            buffer_seconds: settings.buffer_seconds,
            buffer_mb: settings.buffer_mb,
            prefix,
        }
    }

    /// Resolves account, region and bucket through the clients (one STS call).
    pub async fn resolve(
        clients: &crate::aws::Clients,
        settings: &Settings,
    ) -> anyhow::Result<StackNames> {
        let account = clients.account_id().await?;
        let bucket = settings.lake_bucket(&account, clients.region());
        Ok(StackNames::new(
            settings,
            &account,
            clients.region(),
            &bucket,
        ))
    }

    fn arn(&self, service: &str, rest: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{rest}",
            self.partition, self.region, self.account
        )
    }

    pub fn table_arn(&self) -> String {
        self.arn("dynamodb", &format!("table/{}", self.table))
    }

    pub fn stream_arn(&self) -> String {
        self.arn("kinesis", &format!("stream/{}", self.stream))
    }

    pub fn bucket_arn(&self) -> String {
        format!("arn:{}:s3:::{}", self.partition, self.bucket)
    }

    pub fn function_arn(&self) -> String {
        self.arn("lambda", &format!("function:{}", self.lambda))
    }

    pub fn function_version_arn(&self, version: &str) -> String {
        format!("{}:{version}", self.function_arn())
    }

    pub fn role_arn(&self, role: &str) -> String {
        format!("arn:{}:iam::{}:role/{role}", self.partition, self.account)
    }

    pub fn log_group_arn(&self, group: &str) -> String {
        self.arn("logs", &format!("log-group:{group}"))
    }

    pub fn lambda_log_group(&self) -> String {
        format!("/aws/lambda/{}", self.lambda)
    }

    pub fn firehose_log_group(&self) -> String {
        format!("/aws/kinesisfirehose/{}", self.firehose)
    }

    pub fn data_location(&self) -> String {
        format!("s3://{}/{DATA_PREFIX}", self.bucket)
    }

    pub fn athena_output(&self) -> String {
        format!("s3://{}/{ATHENA_RESULTS_PREFIX}", self.bucket)
    }

    /// The name `kind` has in this stack.
    pub fn name_of(&self, kind: Kind) -> &str {
        match kind {
            Kind::Table => &self.table,
            Kind::Stream => &self.stream,
            Kind::Bucket => &self.bucket,
            Kind::PipeRole => &self.pipe_role,
            Kind::FirehoseRole => &self.firehose_role,
            Kind::LambdaRole => &self.lambda_role,
            Kind::Function => &self.lambda,
            Kind::Pipe => &self.pipe,
            Kind::DeliveryStream => &self.firehose,
            Kind::GlueDatabase => &self.glue_database,
            Kind::GlueTable => &self.glue_table,
            Kind::Workgroup => &self.workgroup,
        }
    }
}

/// The ARN partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// One resource of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Table,
    Stream,
    Bucket,
    PipeRole,
    FirehoseRole,
    LambdaRole,
    Function,
    Pipe,
    DeliveryStream,
    GlueDatabase,
    GlueTable,
    Workgroup,
}

/// Creation order: everything a resource refers to comes before it (the pipe needs the
/// table's stream, the Kinesis stream and its role; Firehose needs the stream, the bucket,
/// the function and its role; the Glue table needs its database). `down` runs it backwards.
pub const UP_ORDER: [Kind; 12] = [
    Kind::Table,
    Kind::Stream,
    Kind::Bucket,
    Kind::PipeRole,
    Kind::FirehoseRole,
    Kind::LambdaRole,
    Kind::Function,
    Kind::Pipe,
    Kind::DeliveryStream,
    Kind::GlueDatabase,
    Kind::GlueTable,
    Kind::Workgroup,
];

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Table => "dynamodb table",
            Kind::Stream => "kinesis stream",
            Kind::Bucket => "s3 bucket",
            Kind::PipeRole => "iam role (pipe)",
            Kind::FirehoseRole => "iam role (firehose)",
            Kind::LambdaRole => "iam role (lambda)",
            Kind::Function => "lambda function",
            Kind::Pipe => "eventbridge pipe",
            Kind::DeliveryStream => "firehose stream",
            Kind::GlueDatabase => "glue database",
            Kind::GlueTable => "glue table",
            Kind::Workgroup => "athena workgroup",
        }
    }

    /// What this resource needs to exist first.
    pub fn depends_on(self) -> &'static [Kind] {
        match self {
            Kind::Table | Kind::Stream | Kind::Bucket | Kind::GlueDatabase => &[],
            Kind::PipeRole => &[Kind::Table, Kind::Stream],
            Kind::FirehoseRole => &[Kind::Stream, Kind::Bucket],
            Kind::LambdaRole => &[],
            Kind::Function => &[Kind::LambdaRole],
            Kind::Pipe => &[Kind::Table, Kind::Stream, Kind::PipeRole],
            Kind::DeliveryStream => &[
                Kind::Stream,
                Kind::Bucket,
                Kind::FirehoseRole,
                Kind::Function,
            ],
            Kind::GlueTable => &[Kind::GlueDatabase, Kind::Bucket],
            Kind::Workgroup => &[Kind::Bucket],
        }
    }
}

/// What happened to (or would happen to) one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Exists,
    /// Existing and ours, but out of date (e.g. an inline policy naming an old stream ARN).
    Updated,
    WouldCreate,
    WouldUpdate,
    Skipped,
    Deleted,
    Absent,
    WouldDelete,
    Kept,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Exists => "exists",
            Outcome::Updated => "updated",
            Outcome::WouldCreate => "would create",
            Outcome::WouldUpdate => "would update",
            Outcome::Skipped => "skipped",
            Outcome::Deleted => "deleted",
            Outcome::Absent => "absent",
            Outcome::WouldDelete => "would delete",
            Outcome::Kept => "kept",
        }
    }
}

/// One progress line: printed as it happens, as aligned text for people or one JSON object
/// per line for machines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub kind: Kind,
    pub name: String,
    pub outcome: Outcome,
    pub detail: String,
}

impl Step {
    pub fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Json => {
                let cells = [
                    Cell::text(self.kind.label()),
                    Cell::text(&self.name),
                    Cell::text(self.outcome.as_str()),
                    if self.detail.is_empty() {
                        Cell::Null
                    } else {
                        Cell::text(&self.detail)
                    },
                ];
                json_object(
                    ["resource", "name", "action", "detail"]
                        .into_iter()
                        .zip(cells.iter()),
                )
            }
            OutputFormat::Table | OutputFormat::Csv => {
                let line = format!(
                    "{:<13}{:<21}{}",
                    self.outcome.as_str(),
                    self.kind.label(),
                    self.name
                );
                if self.detail.is_empty() {
                    line
                } else {
                    format!("{line}  ({})", self.detail)
                }
            }
        }
    }
}

/// Prints steps as they happen and keeps them for the caller.
pub struct Progress {
    format: OutputFormat,
    pub steps: Vec<Step>,
}

impl Progress {
    pub fn new(format: OutputFormat) -> Progress {
        Progress {
            format,
            steps: Vec::new(),
        }
    }

    pub fn record(&mut self, kind: Kind, name: &str, outcome: Outcome, detail: impl Into<String>) {
        let step = Step {
            kind,
            name: name.to_string(),
            outcome,
            detail: detail.into(),
        };
        let mut out = std::io::stdout().lock();
        // A closed stdout (e.g. `| head`) must not stop provisioning half-way.
        let _ = writeln!(out, "{}", step.render(self.format));
        let _ = out.flush();
        self.steps.push(step);
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.steps.iter().filter(|s| s.outcome == outcome).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_comes_after_what_it_needs() {
        for (i, kind) in UP_ORDER.iter().enumerate() {
            for dep in kind.depends_on() {
                let at = UP_ORDER.iter().position(|k| k == dep).unwrap();
                assert!(at < i, "{kind:?} needs {dep:?} first");
            }
        }
        let unique: std::collections::HashSet<Kind> = UP_ORDER.iter().copied().collect();
        assert_eq!(unique.len(), UP_ORDER.len(), "a resource is listed twice");
    }

    #[test]
    fn arns_follow_the_partition_and_names() {
        let n = StackNames::new(
            &Settings::with_prefix("blue"),
            "111122223333",
            "cn-north-1",
            "lake",
        );
        assert_eq!(
            n.stream_arn(),
            "arn:aws-cn:kinesis:cn-north-1:111122223333:stream/blue-cdc"
        );
        assert_eq!(n.bucket_arn(), "arn:aws-cn:s3:::lake");
        assert_eq!(
            n.role_arn(&n.pipe_role),
            "arn:aws-cn:iam::111122223333:role/blue-pipe-role"
        );
        assert_eq!(
            n.function_version_arn("3"),
            "arn:aws-cn:lambda:cn-north-1:111122223333:function:blue-transform:3"
        );
        assert_eq!(n.data_location(), "s3://lake/orders/");
        assert_eq!(n.athena_output(), "s3://lake/athena-results/");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("eu-west-1"), "aws");
    }

    #[test]
    fn steps_render_as_text_and_json() {
        let step = Step {
            kind: Kind::Table,
            name: "t".into(),
            outcome: Outcome::WouldCreate,
            detail: String::new(),
        };
        assert_eq!(
            step.render(OutputFormat::Table),
            "would create dynamodb table       t"
        );
        assert_eq!(
            step.render(OutputFormat::Json),
            r#"{"resource":"dynamodb table","name":"t","action":"would create","detail":null}"#
        );
        let step = Step {
            kind: Kind::Bucket,
            name: "b".into(),
            outcome: Outcome::Exists,
            detail: "x".into(),
        };
        assert_eq!(
            step.render(OutputFormat::Table),
            "exists       s3 bucket            b  (x)"
        );
    }

    #[test]
    fn the_firehose_layout_matches_the_glue_projection() {
        assert!(FIREHOSE_PREFIX.starts_with(DATA_PREFIX));
        assert!(FIREHOSE_PREFIX.contains("dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/"));
        assert!(ERROR_PREFIX.starts_with(ERROR_ROOT));
    }
}

//! The calls behind up/down/status/deploy-lambda: one describe-then-create (or delete) per
//! resource, each idempotent, with IAM propagation delays waited out by bounded retries.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TableStatus,
};
use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamType, ExtendedS3DestinationConfiguration,
    KinesisStreamSourceConfiguration,
};
use aws_sdk_kinesis::types::{StreamMode, StreamModeDetails, StreamStatus};
use aws_sdk_pipes::types::{
    DynamoDbStreamStartPosition, PipeSourceDynamoDbStreamParameters, PipeSourceParameters,
    PipeTargetKinesisStreamParameters, PipeTargetParameters,
};
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{Value, json};

use super::calls::{describe_firehose, not_found_or, retry_role, wait_for};
use super::function::{
    create_function, get_function, latest_version, point_firehose_at, processing, processor_arn,
};
use super::iam::{self, Service};
use super::{
    BYTES_SCANNED_CUTOFF, DATA_PREFIX, ERROR_PREFIX, FIREHOSE_PREFIX, INLINE_POLICY, Kind, Outcome,
    Progress, StackNames,
};
use crate::aws::{Clients, ServiceResultExt, describe, is_not_found};
use crate::error::service_error;
use crate::lambda_build::Arch;

/// Where the pipe starts reading the table's stream when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    /// Only changes made after the pipe starts.
    Latest,
    /// Everything the stream still holds (up to 24 hours).
    TrimHorizon,
}

/// What `up` may do beyond the defaults.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub dry_run: bool,
    /// Provisioned shards; `None` is on-demand.
    pub shards: Option<i32>,
    pub starting_position: StartingPosition,
    /// The zipped bootstrap to create the function from, or why the function is skipped
    /// (Firehose then gets no processor).
    pub lambda: Result<(Vec<u8>, Arch), String>,
    /// Attach the deny-unless-TLS bucket policy.
    pub tls_policy: bool,
}

// ---------------------------------------------------------------------------------------
// up

/// Creates what is missing, in dependency order, recording one step per resource.
pub async fn up(
    c: &Clients,
    n: &StackNames,
    opts: &UpOptions,
    p: &mut Progress,
) -> anyhow::Result<()> {
    let table_stream_arn = up_table(c, n, opts, p).await?;
    up_stream(c, n, opts, p).await?;
    up_bucket(c, n, opts, p).await?;
    let stream_for_policy = table_stream_arn
        .clone()
        .unwrap_or_else(|| format!("{}/stream/<created with the table>", n.table_arn()));
    up_role(
        c,
        n,
        Kind::PipeRole,
        Service::Pipes,
        &iam::pipe_policy(n, &stream_for_policy),
        opts,
        p,
    )
    .await?;
    up_role(
        c,
        n,
        Kind::FirehoseRole,
        Service::Firehose,
        &iam::firehose_policy(n),
        opts,
        p,
    )
    .await?;
    up_role(
        c,
        n,
        Kind::LambdaRole,
        Service::Lambda,
        &iam::lambda_policy(n),
        opts,
        p,
    )
    .await?;
    let processor = up_function(c, n, opts, p).await?;
    up_pipe(c, n, opts, table_stream_arn.as_deref(), p).await?;
    up_firehose(c, n, opts, processor.as_deref(), p).await?;
    up_glue(c, n, opts, p).await?;
    up_workgroup(c, n, opts, p).await?;
    Ok(())
}

/// Returns the table's stream ARN (None only in a dry run for a table not yet created).
async fn up_table(
    c: &Clients,
    n: &StackNames,
    opts: &UpOptions,
    p: &mut Progress,
) -> anyhow::Result<Option<String>> {
    let found = describe_table(c, n).await?;
    if let Some(table) = found {
        let view = table
            .stream_specification()
            .and_then(|s| s.stream_view_type())
            .map(|v| v.as_str().to_string());
        let Some(arn) = table.latest_stream_arn().filter(|_| view.is_some()) else {
            return Err(service_error(format!(
                "table '{}' exists without a stream: enable DynamoDB Streams (NEW_AND_OLD_IMAGES) on it or pass another --table",
                n.table
            )));
        };
        let view = view.unwrap_or_default();
        // Left as it is, but a narrower view type starves the transform of images.
        let detail = if view == StreamViewType::NewAndOldImages.as_str() {
            format!("stream {view}")
        } else {
            format!("stream {view}: rows need NEW_AND_OLD_IMAGES, change it on the table")
        };
        p.record(Kind::Table, &n.table, Outcome::Exists, detail);
        return Ok(Some(arn.to_string()));
    }
    if opts.dry_run {
        p.record(
            Kind::Table,
            &n.table,
            Outcome::WouldCreate,
            "on-demand, stream NEW_AND_OLD_IMAGES",
        );
        return Ok(None);
    }
    c.dynamodb
        .create_table()
        .table_name(&n.table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("order_id")
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("order_id")
                .key_type(KeyType::Hash)
                .build()?,
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()?,
        )
        .send()
        .await
        .service_context(|| format!("cannot create table '{}'", n.table))?;
    wait_for(&format!("table '{}'", n.table), || async {
        Ok(describe_table(c, n)
            .await?
            .is_some_and(|t| t.table_status() == Some(&TableStatus::Active)))
    })
    .await?;
    let arn = describe_table(c, n)
        .await?
        .and_then(|t| t.latest_stream_arn().map(str::to_string))
        .ok_or_else(|| {
            service_error(format!(
                "table '{}' was created without a stream ARN",
                n.table
            ))
        })?;
    p.record(
        Kind::Table,
        &n.table,
        Outcome::Created,
        "on-demand, stream NEW_AND_OLD_IMAGES",
    );
    Ok(Some(arn))
}

pub(crate) async fn describe_table(
    c: &Clients,
    n: &StackNames,
) -> anyhow::Result<Option<aws_sdk_dynamodb::types::TableDescription>> {
    let out = not_found_or(
        c.dynamodb
            .describe_table()
            .table_name(&n.table)
            .send()
            .await,
        || format!("cannot describe table '{}'", n.table),
    )?;
    Ok(out.and_then(|o| o.table))
}

pub(crate) async fn describe_stream(
    c: &Clients,
    n: &StackNames,
) -> anyhow::Result<Option<aws_sdk_kinesis::types::StreamDescriptionSummary>> {
    let out = not_found_or(
        c.kinesis
            .describe_stream_summary()
            .stream_name(&n.stream)
            .send()
            .await,
        || format!("cannot describe stream '{}'", n.stream),
    )?;
    Ok(out.and_then(|o| o.stream_description_summary))
}

async fn up_stream(
    c: &Clients,
    n: &StackNames,
    opts: &UpOptions,
    p: &mut Progress,
) -> anyhow::Result<()> {
    let mode = match opts.shards {
        Some(shards) => format!("provisioned, {shards} shards"),
        None => "on-demand".to_string(),
    };
    if let Some(s) = describe_stream(c, n).await? {
        let detail = format!("{}, {} open shards", mode_name(&s), s.open_shard_count());
        p.record(Kind::Stream, &n.stream, Outcome::Exists, detail);
        return Ok(());
    }
    if opts.dry_run {
        p.record(Kind::Stream, &n.stream, Outcome::WouldCreate, mode);
        return Ok(());
    }
    let mut create = c.kinesis.create_stream().stream_name(&n.stream);
    create = match opts.shards {
        Some(shards) => create.shard_count(shards).stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::Provisioned)
                .build()?,
        ),
        None => create.stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::OnDemand)
                .build()?,
        ),
    };
    create
        .send()
        .await
        .service_context(|| format!("cannot create stream '{}'", n.stream))?;
    wait_for(&format!("stream '{}'", n.stream), || async {
        Ok(describe_stream(c, n)
            .await?
            .is_some_and(|s| s.stream_status() == &StreamStatus::Active))
    })
    .await?;
    p.record(Kind::Stream, &n.stream, Outcome::Created, mode);
    Ok(())
}

pub(crate) fn mode_name(s: &aws_sdk_kinesis::types::StreamDescriptionSummary) -> &'static str {
    match s.stream_mode_details().map(|m| m.stream_mode()) {
        Some(StreamMode::OnDemand) => "on-demand",
        Some(StreamMode::Provisioned) => "provisioned",
        _ => "unknown mode",
    }
}

/// The bucket policy refusing any request not made over TLS.
pub fn tls_only_policy(n: &StackNames) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [n.bucket_arn(), format!("{}/*", n.bucket_arn())],
            "Condition": { "Bool": { "aws:SecureTransport": "false" } }
        }]
    })
}

pub(crate) async fn bucket_exists(c: &Clients, n: &StackNames) -> anyhow::Result<bool> {
    match c.s3.head_bucket().bucket(&n.bucket).send().await {
        Ok(_) => Ok(true),
        Err(e)
            if is_not_found(&e) || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
        {
            Ok(false)
        }
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
            Err(service_error(format!(
                "bucket '{}' belongs to another account or denies access: pass another name with --bucket",
                n.bucket
            )))
        }
        Err(e) => Err(service_error(format!(
            "cannot check bucket '{}': {}",
            n.bucket,
            describe(&e)
        ))),
    }
}

async fn up_bucket(
    c: &Clients,
    n: &StackNames,
    opts: &UpOptions,
    p: &mut Progress,
) -> anyhow::Result<()> {
    let exists = bucket_exists(c, n).await?;
    if !exists && opts.dry_run {
        let tls = if opts.tls_policy {
            ", TLS-only policy"
        } else {
            ""
        };
        p.record(
            Kind::Bucket,
            &n.bucket,
            Outcome::WouldCreate,
            format!("public access blocked, SSE-S3{tls}"),
        );
        return Ok(());
    }
    if !exists {
        let mut create = c.s3.create_bucket().bucket(&n.bucket);
        // us-east-1 is the one region that rejects an explicit location constraint.
        if n.region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(n.region.as_str()))
                    .build(),
            );
        }
        create
            .send()
            .await
            .service_context(|| format!("cannot create bucket '{}'", n.bucket))?;
    }
    // An existing bucket is checked too, so a run interrupted between the create and the
    // hardening calls is completed by the next one; nothing already set is overwritten.
    let mut applied = Vec::new();
    let block =
        c.s3.get_public_access_block()
            .bucket(&n.bucket)
            .send()
            .await;
    let blocked = block
        .ok()
        .and_then(|b| b.public_access_block_configuration)
        .is_some_and(|b| {
            b.block_public_acls() == Some(true)
                && b.ignore_public_acls() == Some(true)
                && b.block_public_policy() == Some(true)
                && b.restrict_public_buckets() == Some(true)
        });
    if !blocked {
        applied.push("public access blocked");
        if !opts.dry_run {
            c.s3.put_public_access_block()
                .bucket(&n.bucket)
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(true)
                        .ignore_public_acls(true)
                        .block_public_policy(true)
                        .restrict_public_buckets(true)
                        .build(),
                )
                .send()
                .await
                .service_context(|| {
                    format!("cannot block public access on bucket '{}'", n.bucket)
                })?;
        }
    }
    let encrypted =
        c.s3.get_bucket_encryption()
            .bucket(&n.bucket)
            .send()
            .await
            .ok()
            .and_then(|e| e.server_side_encryption_configuration)
            .is_some_and(|cfg| !cfg.rules().is_empty());
    if !encrypted {
        applied.push("SSE-S3");
        if !opts.dry_run {
            let rule = ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()?,
                )
                .build();
            c.s3.put_bucket_encryption()
                .bucket(&n.bucket)
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(rule)
                        .build()?,
                )
                .send()
                .await
                .service_context(|| {
                    format!("cannot set default encryption on bucket '{}'", n.bucket)
                })?;
        }
    }
    if opts.tls_policy {
        let has_policy =
            c.s3.get_bucket_policy()
                .bucket(&n.bucket)
                .send()
                .await
                .ok()
                .and_then(|r| r.policy)
                .is_some();
        if !has_policy {
            applied.push("TLS-only policy");
            if !opts.dry_run {
                c.s3.put_bucket_policy()
                    .bucket(&n.bucket)
                    .policy(tls_only_policy(n).to_string())
                    .send()
                    .await
                    .service_context(|| {
                        format!("cannot set the TLS-only policy on bucket '{}'", n.bucket)
                    })?;
            }
        }
    }
    let detail = if opts.tls_policy {
        applied.join(", ")
    } else {
        let mut d = applied.join(", ");
        if !d.is_empty() {
            d.push_str("; ");
        }
        d.push_str("TLS-only policy skipped on the emulator");
        d
    };
    let outcome = match (exists, applied.is_empty(), opts.dry_run) {
        (false, _, _) => Outcome::Created,
        (true, true, _) => Outcome::Exists,
        (true, false, false) => Outcome::Updated,
        (true, false, true) => Outcome::WouldUpdate,
    };
    p.record(Kind::Bucket, &n.bucket, outcome, detail);
    Ok(())
}

async fn up_role(
    c: &Clients,
    n: &StackNames,
    kind: Kind,
    service: Service,
    policy: &Value,
    opts: &UpOptions,
    p: &mut Progress,
) -> anyhow::Result<()> {
    let name = n.name_of(kind).to_string();
    let role = not_found_or(c.iam.get_role().role_name(&name).send().await, || {
        format!("cannot read role '{name}'")
    })?;
    if role.is_some() {
        let current = not_found_or(
            c.iam
                .get_role_policy()
                .role_name(&name)
                .policy_name(INLINE_POLICY)
                .send()
                .await,
            || format!("cannot read the inline policy of role '{name}'"),
        )?;
        let current: Option<Value> = current.and_then(|r| {
            serde_json::from_str(&iam::decode_policy_document(r.policy_document())).ok()
        });
        if current.as_ref() == Some(policy) {
            p.record(kind, &name, Outcome::Exists, "");
            return Ok(());
        }
        if opts.dry_run {
            p.record(kind, &name, Outcome::WouldUpdate, "inline policy differs");
            return Ok(());
        }
        put_policy(c, &name, policy).await?;
        p.record(kind, &name, Outcome::Updated, "inline policy rewritten");
        return Ok(());
    }
    if opts.dry_run {
        p.record(
            kind,
            &name,
            Outcome::WouldCreate,
            format!("trusts {}", service.principal()),
        );
        return Ok(());
    }
    c.iam
        .create_role()
        .role_name(&name)
        .description(format!("salesctl stack '{}': {}", n.prefix, kind.label()))
        .assume_role_policy_document(iam::trust_policy(service, &n.account).to_string())
        .send()
        .await
        .service_context(|| format!("cannot create role '{name}'"))?;
    put_policy(c, &name, policy).await?;
    p.record(
        kind,
        &name,
        Outcome::Created,
        format!("trusts {}", service.principal()),
    );
    Ok(())
}

async fn put_policy(c: &Clients, role: &str, policy: &Value) -> anyhow::Result<()> {
    c.iam
        .put_role_policy()
        .role_name(role)
        .policy_name(INLINE_POLICY)
        .policy_document(policy.to_string())
        .send()
        .await
        .service_context(|| format!("cannot write the inline policy of role '{role}'"))?;
    Ok(())
}

/// Returns the processor ARN Firehose should call (a published version), if there is one.
async fn up_function(
    c: &Clients,
    n: &StackNames,
    opts: &UpOptions,
    p: &mut Progress,
) -> anyhow::Result<Option<String>> {
    if get_function(c, n).await?.is_some() {
        let version = latest_version(c, n).await?;
        let detail = version
            .as_deref()
            .map_or("no published version".to_string(), |v| {
                format!("version {v}")
            });
        p.record(Kind::Function, &n.lambda, Outcome::Exists, detail);
        return Ok(Some(
            version.map_or_else(|| n.function_arn(), |v| n.function_version_arn(&v)),
        ));
    }
    let (zip, arch) = match &opts.lambda {
        Ok(found) => found,
        Err(reason) => {
            p.record(Kind::Function, &n.lambda, Outcome::Skipped, reason.clone());
            return Ok(None);
        }
    };
    if opts.dry_run {
        p.record(
            Kind::Function,
            &n.lambda,
            Outcome::WouldCreate,
            format!("provided.al2023 {}", arch.lambda_name()),
        );
        return Ok(Some(n.function_version_arn("1")));
    }
    let version = create_function(c, n, zip.clone(), *arch, None, None).await?;
    p.record(
        Kind::Function,
        &n.lambda,
        Outcome::Created,
        format!("provided.al2023 {}, version {version}", arch.lambda_name()),
    );
    Ok(Some(n.function_version_arn(&version)))
}

pub(crate) async fn describe_pipe(
    c: &Clients,
    n: &StackNames,
) -> anyhow::Result<Option<aws_sdk_pipes::operation::describe_pipe::DescribePipeOutput>> {
    not_found_or(c.pipes.describe_pipe().name(&n.pipe).send().await, || {
        format!("cannot describe pipe '{}'", n.pipe)
    })
}

/// The partition key the pipe gives Kinesis: the order key, so one order's changes stay in
/// one shard, in order.
pub const PIPE_PARTITION_KEY: &str = "$.dynamodb.Keys.order_id.S";

async fn up_pipe(
    c: &Clients,
    n: &StackNames,
    opts: &UpOptions,
    table_stream_arn: Option<&str>,
    p: &mut Progress,
) -> anyhow::Result<()> {
    if let Some(pipe) = describe_pipe(c, n).await? {
        let state = pipe
            .current_state()
            .map_or("unknown", |s| s.as_str())
            .to_string();
        p.record(Kind::Pipe, &n.pipe, Outcome::Exists, state);
        return Ok(());
    }
    let position = match opts.starting_position {
        StartingPosition::Latest => DynamoDbStreamStartPosition::Latest,
        StartingPosition::TrimHorizon => DynamoDbStreamStartPosition::TrimHorizon,
    };
    let detail = format!(
        "partition key {PIPE_PARTITION_KEY}, from {}",
        position.as_str()
    );
    let (false, Some(source)) = (opts.dry_run, table_stream_arn) else {
        p.record(Kind::Pipe, &n.pipe, Outcome::WouldCreate, detail);
        return Ok(());
    };
    let source_parameters = PipeSourceParameters::builder()
        .dynamo_db_stream_parameters(
            PipeSourceDynamoDbStreamParameters::builder()
                .starting_position(position)
                .batch_size(100)
                .build()?,
        )
        .build();
    let target_parameters = PipeTargetParameters::builder()
        .kinesis_stream_parameters(
            PipeTargetKinesisStreamParameters::builder()
                .partition_key(PIPE_PARTITION_KEY)
                .build()?,
        )
        .build();
    let role = n.role_arn(&n.pipe_role);
    let target = n.stream_arn();
    retry_role(&format!("cannot create pipe '{}'", n.pipe), || {
        c.pipes
            .create_pipe()
            .name(&n.pipe)
            .description("salesctl: DynamoDB stream -> Kinesis")
            .role_arn(&role)
            .source(source)
            .source_parameters(source_parameters.clone())
            .target(&target)
            .target_parameters(target_parameters.clone())
            .send()
    })
    .await?;
    p.record(Kind::Pipe, &n.pipe, Outcome::Created, detail);
    Ok(())
}

async fn up_firehose(
    c: &Clients,
    n: &StackNames,
    opts: &UpOptions,
    processor: Option<&str>,
    p: &mut Progress,
) -> anyhow::Result<()> {
    if let Some(d) = describe_firehose(c, n).await? {
        // A stream made by `up --skip-lambda` gets the function once there is one; a
        // processor already set (by deploy-lambda or by hand) is never changed here.
        if let (None, Some(arn)) = (processor_arn(&d), processor) {
            let detail = format!("processor {arn} added");
            if opts.dry_run {
                p.record(
                    Kind::DeliveryStream,
                    &n.firehose,
                    Outcome::WouldUpdate,
                    detail,
                );
            } else {
                point_firehose_at(c, n, arn).await?;
                p.record(Kind::DeliveryStream, &n.firehose, Outcome::Updated, detail);
            }
            return Ok(());
        }
        let processor =
            processor_arn(&d).map_or("no processor".to_string(), |a| format!("processor {a}"));
        p.record(
            Kind::DeliveryStream,
            &n.firehose,
            Outcome::Exists,
            format!("{}, {processor}", d.delivery_stream_status().as_str()),
        );
        return Ok(());
    }
    let detail = format!(
        "buffer {}s/{}MB, {}",
        n.buffer_seconds,
        n.buffer_mb,
        processor.map_or(
            "no processor yet: 'salesctl deploy-lambda' adds it".to_string(),
            |a| format!("processor {a}")
        )
    );
    if opts.dry_run {
        p.record(
            Kind::DeliveryStream,
            &n.firehose,
            Outcome::WouldCreate,
            detail,
        );
        return Ok(());
    }
    let role = n.role_arn(&n.firehose_role);
    let source = KinesisStreamSourceConfiguration::builder()
        .kinesis_stream_arn(n.stream_arn())
        .role_arn(&role)
        .build()?;
    let mut destination = ExtendedS3DestinationConfiguration::builder()
        .role_arn(&role)
        .bucket_arn(n.bucket_arn())
        .prefix(FIREHOSE_PREFIX)
        .error_output_prefix(ERROR_PREFIX)
        // Plain NDJSON: what the Glue SerDe, the local engine and `aws s3 cp -` read as is.
        .compression_format(CompressionFormat::Uncompressed)
        .buffering_hints(
            BufferingHints::builder()
                .interval_in_seconds(i32::try_from(n.buffer_seconds).unwrap_or(i32::MAX))
                .size_in_mbs(i32::try_from(n.buffer_mb).unwrap_or(i32::MAX))
                .build(),
        );
    if let Some(arn) = processor {
        destination = destination.processing_configuration(processing(arn)?);
    }
    let destination = destination.build()?;
    retry_role(
        &format!("cannot create firehose stream '{}'", n.firehose),
        || {
            c.firehose
                .create_delivery_stream()
                .delivery_stream_name(&n.firehose)
                .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
                .kinesis_stream_source_configuration(source.clone())
                .extended_s3_destination_configuration(destination.clone())
                .send()
        },
    )
    .await?;
    p.record(Kind::DeliveryStream, &n.firehose, Outcome::Created, detail);
    Ok(())
}

/// The Glue table's parameters: JSON classification and partition projection over the
/// Firehose key layout, so Athena needs neither a crawler nor MSCK REPAIR.
pub fn table_parameters(n: &StackNames) -> Vec<(&'static str, String)> {
    vec![
        ("EXTERNAL", "TRUE".to_string()),
        ("classification", "json".to_string()),
        ("projection.enabled", "true".to_string()),
        ("projection.dt.type", "date".to_string()),
        ("projection.dt.format", "yyyy-MM-dd".to_string()),
        ("projection.dt.range", "2024-01-01,NOW".to_string()),
        ("projection.dt.interval", "1".to_string()),
        ("projection.dt.interval.unit", "DAYS".to_string()),
        ("projection.hour.type", "integer".to_string()),
        ("projection.hour.range", "0,23".to_string()),
        ("projection.hour.digits", "2".to_string()),
        (
            "storage.location.template",
            format!("s3://{}/{DATA_PREFIX}dt=${{dt}}/hour=${{hour}}/", n.bucket),
        ),
    ]
}

fn glue_column(c: &crate::lake_schema::Column) -> anyhow::Result<aws_sdk_glue::types::Column> {
    Ok(aws_sdk_glue::types::Column::builder()
        .name(c.name)
        .r#type(c.column_type.glue_type())
        .comment(c.comment)
        .build()?)
}

fn table_input(n: &StackNames) -> anyhow::Result<aws_sdk_glue::types::TableInput> {
    use aws_sdk_glue::types::{SerDeInfo, StorageDescriptor, TableInput};
    let columns = crate::lake_schema::COLUMNS
        .iter()
        .map(glue_column)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let partitions = crate::lake_schema::PARTITION_KEYS
        .iter()
        .map(glue_column)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let storage = StorageDescriptor::builder()
        .set_columns(Some(columns))
        .location(n.data_location())
        .input_format("org.apache.hadoop.mapred.TextInputFormat")
        .output_format("org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat")
        .serde_info(
            SerDeInfo::builder()
                .serialization_library("org.openx.data.jsonserde.JsonSerDe")
                .parameters("ignore.malformed.json", "true")
                .build(),
        )
        .build();
    let parameters: HashMap<String, String> = table_parameters(n)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Ok(TableInput::builder()
        .name(&n.glue_table)
        .description(
            "salesctl CDC rows: one JSON object per change, partitioned by UTC day and hour",
        )
        .table_type("EXTERNAL_TABLE")
        .set_parameters(Some(parameters))
        .set_partition_keys(Some(partitions))
        .storage_descriptor(storage)
        .build()?)
}

pub(crate) async fn glue_database_exists(c: &Clients, n: &StackNames) -> anyhow::Result<bool> {
    Ok(not_found_or(
        c.glue.get_database().name(&n.glue_database).send().await,
        || format!("cannot read Glue database '{}'", n.glue_database),
    )?
    .is_some())
}

pub(crate) async fn glue_table_exists(c: &Clients, n: &StackNames) -> anyhow::Result<bool> {
    Ok(not_found_or(
        c.glue
            .get_table()
            .database_name(&n.glue_database)
            .name(&n.glue_table)
            .send()
            .await,
        || {
            format!(
                "cannot read Glue table '{}.{}'",
                n.glue_database, n.glue_table
            )
        },
    )?
    .and_then(|t| t.table)
    .is_some())
}

async fn up_glue(
    c: &Clients,
    n: &StackNames,
    opts: &UpOptions,
    p: &mut Progress,
) -> anyhow::Result<()> {
    let db_exists = glue_database_exists(c, n).await?;
    if db_exists {
        p.record(Kind::GlueDatabase, &n.glue_database, Outcome::Exists, "");
    } else if opts.dry_run {
        p.record(
            Kind::GlueDatabase,
            &n.glue_database,
            Outcome::WouldCreate,
            "",
        );
    } else {
        c.glue
            .create_database()
            .database_input(
                aws_sdk_glue::types::DatabaseInput::builder()
                    .name(&n.glue_database)
                    .description("salesctl sales CDC lake")
                    .build()?,
            )
            .send()
            .await
            .service_context(|| format!("cannot create Glue database '{}'", n.glue_database))?;
        p.record(Kind::GlueDatabase, &n.glue_database, Outcome::Created, "");
    }
    let detail = format!("JSON SerDe on {}, projection on dt/hour", n.data_location());
    if db_exists && glue_table_exists(c, n).await? {
        p.record(Kind::GlueTable, &n.glue_table, Outcome::Exists, "");
    } else if opts.dry_run {
        p.record(Kind::GlueTable, &n.glue_table, Outcome::WouldCreate, detail);
    } else {
        c.glue
            .create_table()
            .database_name(&n.glue_database)
            .table_input(table_input(n)?)
            .send()
            .await
            .service_context(|| {
                format!(
                    "cannot create Glue table '{}.{}'",
                    n.glue_database, n.glue_table
                )
            })?;
        p.record(Kind::GlueTable, &n.glue_table, Outcome::Created, detail);
    }
    Ok(())
}

/// The workgroup's state, or None when it does not exist. Athena answers a missing
/// workgroup with InvalidRequestException (and the emulator with an empty body).
pub(crate) async fn workgroup_state(c: &Clients, n: &StackNames) -> anyhow::Result<Option<String>> {
    match c
        .athena
        .get_work_group()
        .work_group(&n.workgroup)
        .send()
        .await
    {
        Ok(out) => Ok(out.work_group.map(|w| {
            w.state
                .map_or("ENABLED".to_string(), |s| s.as_str().to_string())
        })),
        Err(e)
            if e.code() == Some("InvalidRequestException")
                && e.message().is_some_and(|m| m.contains("not found")) =>
        {
            Ok(None)
        }
        Err(e) => Err(service_error(format!(
            "cannot read Athena workgroup '{}': {}",
            n.workgroup,
            describe(&e)
        ))),
    }
}

async fn up_workgroup(
    c: &Clients,
    n: &StackNames,
    opts: &UpOptions,
    p: &mut Progress,
) -> anyhow::Result<()> {
    use aws_sdk_athena::types::{ResultConfiguration, WorkGroupConfiguration};
    if let Some(state) = workgroup_state(c, n).await? {
        p.record(Kind::Workgroup, &n.workgroup, Outcome::Exists, state);
        return Ok(());
    }
    let detail = format!(
        "results in {}, cutoff {} bytes per query",
        n.athena_output(),
        BYTES_SCANNED_CUTOFF
    );
    if opts.dry_run {
        p.record(Kind::Workgroup, &n.workgroup, Outcome::WouldCreate, detail);
        return Ok(());
    }
    c.athena
        .create_work_group()
        .name(&n.workgroup)
        .description("salesctl: queries on the sales CDC lake")
        .configuration(
            WorkGroupConfiguration::builder()
                .result_configuration(
                    ResultConfiguration::builder()
                        .output_location(n.athena_output())
                        .build(),
                )
                .enforce_work_group_configuration(true)
                .publish_cloud_watch_metrics_enabled(true)
                .bytes_scanned_cutoff_per_query(BYTES_SCANNED_CUTOFF)
                .build(),
        )
        .send()
        .await
        .service_context(|| format!("cannot create Athena workgroup '{}'", n.workgroup))?;
    p.record(Kind::Workgroup, &n.workgroup, Outcome::Created, detail);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use crate::stack::calls::is_role_propagation_error;

    fn names() -> StackNames {
        StackNames::new(
            &Settings::with_prefix("salesctl"),
            "123456789012",
            "us-east-1",
            "lake",
        )
    }

    #[test]
    fn projection_covers_the_firehose_layout() {
        let params: HashMap<_, _> = table_parameters(&names()).into_iter().collect();
        assert_eq!(params["projection.enabled"], "true");
        assert_eq!(params["projection.dt.type"], "date");
        assert_eq!(params["projection.dt.format"], "yyyy-MM-dd");
        assert_eq!(params["projection.dt.range"], "2024-01-01,NOW");
        assert_eq!(params["projection.hour.type"], "integer");
        assert_eq!(params["projection.hour.range"], "0,23");
        assert_eq!(params["projection.hour.digits"], "2");
        assert_eq!(
            params["storage.location.template"],
            "s3://lake/orders/dt=${dt}/hour=${hour}/"
        );
    }

    #[test]
    fn role_propagation_errors_are_recognised() {
        assert!(is_role_propagation_error(
            Some("InvalidParameterValueException"),
            Some("The role defined for the function cannot be assumed by Lambda.")
        ));
        assert!(is_role_propagation_error(
            Some("InvalidArgumentException"),
            Some("Firehose is unable to assume role arn:...")
        ));
        assert!(!is_role_propagation_error(
            Some("InvalidParameterValueException"),
            Some("Unzipped size must be smaller")
        ));
        assert!(!is_role_propagation_error(
            Some("ResourceInUseException"),
            Some("role")
        ));
        assert!(!is_role_propagation_error(None, None));
    }

    #[test]
    fn the_tls_policy_denies_plain_http_on_bucket_and_objects() {
        let p = tls_only_policy(&names());
        assert_eq!(p["Statement"][0]["Effect"], "Deny");
        assert_eq!(
            p["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
        assert_eq!(
            p["Statement"][0]["Resource"],
            json!(["arn:aws:s3:::lake", "arn:aws:s3:::lake/*"])
        );
    }
}

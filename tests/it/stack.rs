//! `salesctl up/status/down/deploy-lambda` against the emulator, which stores Pipes, Firehose,
//! Glue, Athena and Lambda definitions without running them: the stored configuration is asserted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::common::{Session, run, session};
use salesctl::aws::Clients;
use salesctl::lake_schema::{COLUMNS, PARTITION_KEYS};
use salesctl::stack::iam;
use salesctl::stack::{INLINE_POLICY, StackNames};
use serde_json::Value;

const ACCOUNT: &str = "123456789012";
const BUCKET: &str = "salesctl-lake-123456789012-us-east-1";
const ROLES: [&str; 3] = [
    "salesctl-pipe-role",
    "salesctl-firehose-role",
    "salesctl-lambda-role",
];

fn salesctl(s: &Session, args: &[&str]) -> (i32, String, String) {
    run(s.salesctl().args(["--output", "json"]).args(args))
}

/// Parses JSON lines; panics (failing the test) on anything else.
fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// resource label -> action of each `up`/`down` progress line.
fn actions(stdout: &str) -> HashMap<String, String> {
    lines(stdout)
        .into_iter()
        .map(|v| {
            let key = format!(
                "{} {}",
                v["resource"].as_str().unwrap(),
                v["name"].as_str().unwrap()
            );
            (key, v["action"].as_str().unwrap().to_string())
        })
        .collect()
}

/// A small valid zip with an executable `bootstrap`; the emulator stores it, never runs it.
fn stub_zip(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let zip =
        salesctl::lambda_build::zip_bootstrap(format!("#!/bin/sh\n# {body}\n").as_bytes()).unwrap();
    std::fs::write(&path, zip).unwrap();
    path
}

fn names(s: &Session) -> StackNames {
    StackNames::new(&s.settings(), ACCOUNT, "us-east-1", BUCKET)
}

async fn processor_arn(clients: &Clients, firehose: &str) -> Option<String> {
    let d = clients
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(firehose)
        .send()
        .await
        .unwrap()
        .delivery_stream_description
        .unwrap();
    salesctl::stack::function::processor_arn(&d)
}

async fn assert_roles_are_least_privilege(clients: &Clients) {
    let principals = [
        "pipes.amazonaws.com",
        "firehose.amazonaws.com",
        "lambda.amazonaws.com",
    ];
    for (role, principal) in ROLES.iter().zip(principals) {
        let got = clients
            .iam
            .get_role()
            .role_name(*role)
            .send()
            .await
            .unwrap()
            .role
            .unwrap();
        let trust: Value = serde_json::from_str(&iam::decode_policy_document(
            got.assume_role_policy_document().unwrap(),
        ))
        .unwrap();
        let statements = trust["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1, "{trust}");
        assert_eq!(statements[0]["Principal"]["Service"], principal);
        assert_eq!(statements[0]["Action"], "sts:AssumeRole");
        let inline = clients
            .iam
            .list_role_policies()
            .role_name(*role)
            .send()
            .await
            .unwrap();
        assert_eq!(inline.policy_names(), [INLINE_POLICY]);
        let attached = clients
            .iam
            .list_attached_role_policies()
            .role_name(*role)
            .send()
            .await
            .unwrap();
        assert!(
            attached.attached_policies().is_empty(),
            "{role} has managed policies"
        );
        let doc = clients
            .iam
            .get_role_policy()
            .role_name(*role)
            .policy_name(INLINE_POLICY)
            .send()
            .await
            .unwrap();
        let policy: Value =
            serde_json::from_str(&iam::decode_policy_document(doc.policy_document())).unwrap();
        assert_eq!(iam::breadth_problem(&policy), None, "{role}: {policy}");
        for action in iam::actions(&policy) {
            assert!(!action.contains('*'), "{role}: {action}");
        }
        for resource in iam::resources(&policy) {
            assert!(resource.starts_with("arn:aws:"), "{role}: {resource}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn up_builds_the_configured_stack_then_status_and_down_round_trip() {
    let s = session();
    let clients = s.clients().await;
    let n = names(&s);
    let dir = tempfile::tempdir().unwrap();
    let zip = stub_zip(dir.path(), "bootstrap.zip", "v1");
    let zip_arg = zip.to_str().unwrap();

    let (code, stdout, stderr) = salesctl(&s, &["up", "--lambda-zip", zip_arg]);
    assert_eq!(code, 0, "{stderr}");
    let first = actions(&stdout);
    assert_eq!(first.len(), 12, "{stdout}");
    assert!(first.values().all(|a| a == "created"), "{stdout}");

    // DynamoDB: the order key, on-demand, both images on the stream.
    let table = clients
        .dynamodb
        .describe_table()
        .table_name(&n.table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(table.key_schema()[0].attribute_name(), "order_id");
    assert_eq!(
        table
            .billing_mode_summary()
            .unwrap()
            .billing_mode()
            .unwrap()
            .as_str(),
        "PAY_PER_REQUEST"
    );
    assert_eq!(
        table
            .stream_specification()
            .unwrap()
            .stream_view_type()
            .unwrap()
            .as_str(),
        "NEW_AND_OLD_IMAGES"
    );
    let table_stream = table.latest_stream_arn().unwrap().to_string();

    let kinesis = clients
        .kinesis
        .describe_stream_summary()
        .stream_name(&n.stream)
        .send()
        .await
        .unwrap();
    let summary = kinesis.stream_description_summary().unwrap();
    assert_eq!(
        summary
            .stream_mode_details()
            .unwrap()
            .stream_mode()
            .as_str(),
        "ON_DEMAND"
    );
    assert_eq!(summary.stream_arn(), n.stream_arn());

    // S3: every public-access block on, SSE-S3; on the emulator the TLS policy is off by
    // default (see the tls test below).
    let block = clients
        .s3
        .get_public_access_block()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let enc = clients
        .s3
        .get_bucket_encryption()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );

    assert_roles_are_least_privilege(&clients).await;
    let pipe_policy = clients
        .iam
        .get_role_policy()
        .role_name(ROLES[0])
        .policy_name(INLINE_POLICY)
        .send()
        .await
        .unwrap();
    let pipe_policy: Value =
        serde_json::from_str(&iam::decode_policy_document(pipe_policy.policy_document())).unwrap();
    assert_eq!(
        iam::resources(&pipe_policy),
        [table_stream.clone(), n.stream_arn()]
    );

    // Lambda: provided.al2023, bootstrap handler, the stack's role, version 1 published.
    let function = clients
        .lambda
        .get_function()
        .function_name(&n.lambda)
        .send()
        .await
        .unwrap();
    let cfg = function.configuration().unwrap();
    assert_eq!(cfg.runtime().unwrap().as_str(), "provided.al2023");
    assert_eq!(cfg.handler(), Some("bootstrap"));
    assert_eq!(cfg.role(), Some(n.role_arn(ROLES[2]).as_str()));

    // Pipe: table stream -> Kinesis, keyed by the order.
    let pipe = clients
        .pipes
        .describe_pipe()
        .name(&n.pipe)
        .send()
        .await
        .unwrap();
    assert_eq!(pipe.source(), Some(table_stream.as_str()));
    assert_eq!(pipe.target(), Some(n.stream_arn().as_str()));
    assert_eq!(pipe.role_arn(), Some(n.role_arn(ROLES[0]).as_str()));
    let key = pipe
        .target_parameters()
        .unwrap()
        .kinesis_stream_parameters()
        .unwrap()
        .partition_key();
    assert_eq!(key, "$.dynamodb.Keys.order_id.S");
    let start = pipe
        .source_parameters()
        .unwrap()
        .dynamo_db_stream_parameters()
        .unwrap()
        .starting_position();
    assert_eq!(start.as_str(), "LATEST");

    // Firehose: from Kinesis, through the Lambda version, into the date/hour layout.
    let d = clients
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(&n.firehose)
        .send()
        .await
        .unwrap()
        .delivery_stream_description
        .unwrap();
    assert_eq!(d.delivery_stream_type().as_str(), "KinesisStreamAsSource");
    let source = d
        .source()
        .unwrap()
        .kinesis_stream_source_description()
        .unwrap();
    assert_eq!(source.kinesis_stream_arn(), Some(n.stream_arn().as_str()));
    assert_eq!(source.role_arn(), Some(n.role_arn(ROLES[1]).as_str()));
    let s3 = d.destinations()[0]
        .extended_s3_destination_description()
        .unwrap();
    assert_eq!(s3.bucket_arn(), n.bucket_arn());
    assert_eq!(
        s3.prefix(),
        Some("orders/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/")
    );
    assert_eq!(
        s3.error_output_prefix(),
        Some("errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/")
    );
    let hints = s3.buffering_hints().unwrap();
    assert_eq!(
        (hints.interval_in_seconds(), hints.size_in_mbs()),
        (Some(60), Some(5))
    );
    assert_eq!(
        processor_arn(&clients, &n.firehose).await,
        Some(n.function_version_arn("1"))
    );

    // Glue: the shared schema, JSON SerDe, projection on dt/hour.
    let t = clients
        .glue
        .get_table()
        .database_name(&n.glue_database)
        .name(&n.glue_table)
        .send()
        .await
        .unwrap();
    let t = t.table().unwrap();
    assert_eq!(t.table_type(), Some("EXTERNAL_TABLE"));
    let sd = t.storage_descriptor().unwrap();
    let columns: Vec<(String, String)> = sd
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.r#type().unwrap_or("").to_string()))
        .collect();
    let expected: Vec<(String, String)> = COLUMNS
        .iter()
        .map(|c| (c.name.to_string(), c.column_type.glue_type()))
        .collect();
    assert_eq!(columns, expected);
    let partitions: Vec<(String, String)> = t
        .partition_keys()
        .iter()
        .map(|c| (c.name().to_string(), c.r#type().unwrap_or("").to_string()))
        .collect();
    let expected: Vec<(String, String)> = PARTITION_KEYS
        .iter()
        .map(|c| (c.name.to_string(), c.column_type.glue_type()))
        .collect();
    assert_eq!(partitions, expected);
    assert_eq!(
        sd.location(),
        Some(format!("s3://{BUCKET}/orders/").as_str())
    );
    assert_eq!(
        sd.serde_info().unwrap().serialization_library(),
        Some("org.openx.data.jsonserde.JsonSerDe")
    );
    let p = t.parameters().unwrap();
    for (k, v) in [
        ("projection.enabled", "true"),
        ("projection.dt.type", "date"),
        ("projection.dt.format", "yyyy-MM-dd"),
        ("projection.dt.range", "2024-01-01,NOW"),
        ("projection.hour.type", "integer"),
        ("projection.hour.range", "0,23"),
        ("projection.hour.digits", "2"),
    ] {
        assert_eq!(p.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert_eq!(
        p.get("storage.location.template").map(String::as_str),
        Some(format!("s3://{BUCKET}/orders/dt=${{dt}}/hour=${{hour}}/").as_str())
    );

    // Athena: results in the bucket, a scan cutoff, enforced.
    let wg = clients
        .athena
        .get_work_group()
        .work_group(&n.workgroup)
        .send()
        .await
        .unwrap()
        .work_group
        .unwrap();
    let wc = wg.configuration().unwrap();
    assert_eq!(
        wc.result_configuration().unwrap().output_location(),
        Some(format!("s3://{BUCKET}/athena-results/").as_str())
    );
    assert_eq!(wc.bytes_scanned_cutoff_per_query(), Some(1 << 30));
    assert_eq!(wc.enforce_work_group_configuration(), Some(true));

    // A second run changes nothing.
    let (code, stdout, stderr) = salesctl(&s, &["up", "--lambda-zip", zip_arg]);
    assert_eq!(code, 0, "{stderr}");
    let second = actions(&stdout);
    assert_eq!(second.len(), 12);
    assert!(second.values().all(|a| a == "exists"), "{stdout}");
    let versions = clients
        .lambda
        .list_versions_by_function()
        .function_name(&n.lambda)
        .send()
        .await
        .unwrap();
    assert_eq!(
        versions
            .versions()
            .iter()
            .filter(|v| v.version() != Some("$LATEST"))
            .count(),
        1
    );

    // status: every resource healthy, the lake prefixes listed.
    clients
        .s3
        .put_object()
        .bucket(BUCKET)
        .key("orders/dt=2026-01-01/hour=00/a.json")
        .body(b"{}\n".to_vec().into())
        .send()
        .await
        .unwrap();
    let (code, stdout, stderr) = salesctl(&s, &["status"]);
    assert_eq!(code, 0, "{stderr}\n{stdout}");
    let rows = lines(&stdout);
    assert_eq!(rows.len(), 14, "{stdout}");
    let state =
        |resource: &str| rows.iter().find(|r| r["resource"] == resource).unwrap()["state"].clone();
    assert_eq!(state("dynamodb table"), "ACTIVE");
    assert_eq!(state("kinesis stream"), "ACTIVE");
    assert_eq!(state("firehose stream"), "ACTIVE");
    let function_row = rows
        .iter()
        .find(|r| r["resource"] == "lambda function")
        .unwrap();
    assert_eq!(function_row["detail"], "version 1");
    let data = rows
        .iter()
        .find(|r| r["name"] == format!("s3://{BUCKET}/orders/"))
        .unwrap();
    assert_eq!(data["state"], "1");
    assert!(
        data["detail"]
            .as_str()
            .unwrap()
            .starts_with("1 objects, 3 bytes, newest "),
        "{data}"
    );

    // down: everything goes (objects too); a second down finds nothing.
    let (code, stdout, stderr) = salesctl(&s, &["down", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    let gone = actions(&stdout);
    assert_eq!(gone.len(), 12);
    assert!(gone.values().all(|a| a == "deleted"), "{stdout}");
    let (code, stdout, stderr) = salesctl(&s, &["status"]);
    assert_eq!(code, 254, "{stdout}");
    assert!(stderr.contains("12 of 12 resources missing"), "{stderr}");
    assert!(
        lines(&stdout).iter().all(|r| r["state"] == "missing"),
        "{stdout}"
    );
    assert!(
        clients
            .iam
            .list_roles()
            .send()
            .await
            .unwrap()
            .roles()
            .is_empty()
    );
    assert!(
        clients
            .dynamodb
            .list_tables()
            .send()
            .await
            .unwrap()
            .table_names()
            .is_empty()
    );
    let (code, stdout, stderr) = salesctl(&s, &["down", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(actions(&stdout).values().all(|a| a == "absent"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_prints_the_plan_and_changes_nothing() {
    let s = session();
    let clients = s.clients().await;
    let (code, stdout, stderr) =
        salesctl(&s, &["up", "--dry-run", "--skip-lambda", "--shards", "2"]);
    assert_eq!(code, 0, "{stderr}");
    let plan = lines(&stdout);
    let order: Vec<&str> = plan
        .iter()
        .map(|v| v["resource"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "dynamodb table",
            "kinesis stream",
            "s3 bucket",
            "iam role (pipe)",
            "iam role (firehose)",
            "iam role (lambda)",
            "lambda function",
            "eventbridge pipe",
            "firehose stream",
            "glue database",
            "glue table",
            "athena workgroup"
        ]
    );
    for v in &plan {
        let expected = if v["resource"] == "lambda function" {
            "skipped"
        } else {
            "would create"
        };
        assert_eq!(v["action"], expected, "{v}");
    }
    assert_eq!(plan[1]["detail"], "provisioned, 2 shards");
    assert!(stderr.contains("dry run: nothing changed"), "{stderr}");
    assert!(
        clients
            .dynamodb
            .list_tables()
            .send()
            .await
            .unwrap()
            .table_names()
            .is_empty()
    );
    assert!(
        clients
            .kinesis
            .list_streams()
            .send()
            .await
            .unwrap()
            .stream_names()
            .is_empty()
    );
    assert!(
        clients
            .s3
            .list_buckets()
            .send()
            .await
            .unwrap()
            .buckets()
            .is_empty()
    );
    assert!(
        clients
            .iam
            .list_roles()
            .send()
            .await
            .unwrap()
            .roles()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn skip_lambda_then_deploy_lambda_creates_updates_and_repoints_firehose() {
    let s = session();
    let clients = s.clients().await;
    let n = names(&s);
    let dir = tempfile::tempdir().unwrap();

    // No role yet: a clear error, nothing created.
    let v1 = stub_zip(dir.path(), "v1.zip", "v1");
    let (code, _, stderr) = salesctl(&s, &["deploy-lambda", "--zip", v1.to_str().unwrap()]);
    assert_eq!(code, 254, "{stderr}");
    assert!(
        stderr.contains("role 'salesctl-lambda-role' not found: run 'salesctl up'"),
        "{stderr}"
    );

    let (code, stdout, stderr) = salesctl(
        &s,
        &[
            "up",
            "--skip-lambda",
            "--shards",
            "2",
            "--starting-position",
            "trim-horizon",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        actions(&stdout)["lambda function salesctl-transform"],
        "skipped"
    );
    assert_eq!(processor_arn(&clients, &n.firehose).await, None);
    let shards = clients
        .kinesis
        .describe_stream_summary()
        .stream_name(&n.stream)
        .send()
        .await
        .unwrap();
    assert_eq!(
        shards
            .stream_description_summary()
            .unwrap()
            .open_shard_count(),
        2
    );
    let pipe = clients
        .pipes
        .describe_pipe()
        .name(&n.pipe)
        .send()
        .await
        .unwrap();
    let start = pipe
        .source_parameters()
        .unwrap()
        .dynamo_db_stream_parameters()
        .unwrap()
        .starting_position();
    assert_eq!(start.as_str(), "TRIM_HORIZON");
    let (code, _, _) = salesctl(&s, &["status"]);
    assert_eq!(code, 254, "a missing function is a missing resource");

    let (code, stdout, stderr) = salesctl(&s, &["deploy-lambda", "--zip", v1.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let row = &lines(&stdout)[0];
    assert_eq!(
        (row["action"].as_str(), row["version"].as_str()),
        (Some("created"), Some("1"))
    );
    assert_eq!(
        processor_arn(&clients, &n.firehose).await,
        Some(n.function_version_arn("1"))
    );
    let before = clients
        .lambda
        .get_function()
        .function_name(&n.lambda)
        .send()
        .await
        .unwrap();
    let before = before.configuration().unwrap().clone();
    assert_eq!(
        (before.memory_size(), before.timeout()),
        (Some(256), Some(60))
    );

    let v2 = stub_zip(dir.path(), "v2.zip", "v2");
    let (code, stdout, stderr) = salesctl(
        &s,
        &[
            "deploy-lambda",
            "--zip",
            v2.to_str().unwrap(),
            "--memory",
            "512",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let row = &lines(&stdout)[0];
    assert_eq!(
        (row["action"].as_str(), row["version"].as_str()),
        (Some("updated"), Some("2"))
    );
    let after = clients
        .lambda
        .get_function()
        .function_name(&n.lambda)
        .send()
        .await
        .unwrap();
    let after = after.configuration().unwrap();
    assert_ne!(
        after.code_sha256(),
        before.code_sha256(),
        "the code was replaced"
    );
    assert_eq!(
        (after.memory_size(), after.timeout()),
        (Some(512), Some(60)),
        "unset flags keep their values"
    );
    let versions = clients
        .lambda
        .list_versions_by_function()
        .function_name(&n.lambda)
        .send()
        .await
        .unwrap();
    let mut published: Vec<&str> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .filter(|v| *v != "$LATEST")
        .collect();
    published.sort_unstable();
    assert_eq!(published, ["1", "2"]);
    assert_eq!(
        processor_arn(&clients, &n.firehose).await,
        Some(n.function_version_arn("2"))
    );
    let (code, _, stderr) = salesctl(&s, &["status"]);
    assert_eq!(code, 0, "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_policy_on_stores_the_deny_and_down_still_empties_the_bucket() {
    let s = session();
    let clients = s.clients().await;
    let (code, _, stderr) = salesctl(&s, &["up", "--skip-lambda", "--tls-policy", "on"]);
    assert_eq!(code, 0, "{stderr}");
    let policy = clients
        .s3
        .get_bucket_policy()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Effect"], "Deny");
    assert_eq!(
        statement["Condition"]["Bool"]["aws:SecureTransport"],
        "false"
    );
    assert_eq!(
        statement["Resource"],
        serde_json::json!([
            format!("arn:aws:s3:::{BUCKET}"),
            format!("arn:aws:s3:::{BUCKET}/*")
        ])
    );
    // A versioned bucket with an old version and a delete marker still empties fully.
    clients
        .s3
        .put_bucket_versioning()
        .bucket(BUCKET)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // The emulator applies the Deny without its TLS condition, so write with it lifted.
    clients
        .s3
        .delete_bucket_policy()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    for body in ["one", "two"] {
        let body = aws_sdk_s3::primitives::ByteStream::from(body.as_bytes().to_vec());
        clients
            .s3
            .put_object()
            .bucket(BUCKET)
            .key("orders/x.json")
            .body(body)
            .send()
            .await
            .unwrap();
    }
    clients
        .s3
        .delete_object()
        .bucket(BUCKET)
        .key("orders/x.json")
        .send()
        .await
        .unwrap();
    let (code, stdout, stderr) = salesctl(&s, &["down", "--yes", "--keep-data"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(actions(&stdout)[&format!("s3 bucket {BUCKET}")], "kept");
    assert!(clients.s3.head_bucket().bucket(BUCKET).send().await.is_ok());
    let (code, stdout, stderr) = salesctl(&s, &["down", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(actions(&stdout)[&format!("s3 bucket {BUCKET}")], "deleted");
    let bucket_line = lines(&stdout)
        .into_iter()
        .find(|v| v["resource"] == "s3 bucket")
        .unwrap();
    assert_eq!(bucket_line["detail"], "3 object versions removed");
    assert!(
        clients
            .s3
            .list_buckets()
            .send()
            .await
            .unwrap()
            .buckets()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn down_without_yes_and_without_a_terminal_refuses() {
    let s = session();
    let (code, stdout, stderr) = salesctl(&s, &["down"]);
    assert_eq!(code, 252, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("pass --yes"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_later_up_with_a_zip_adds_the_function_and_the_processor() {
    let s = session();
    let clients = s.clients().await;
    let n = names(&s);
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = salesctl(&s, &["up", "--skip-lambda"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(processor_arn(&clients, &n.firehose).await, None);
    let zip = stub_zip(dir.path(), "bootstrap.zip", "later");
    let zip = zip.to_str().unwrap();
    let (code, stdout, stderr) = salesctl(&s, &["up", "--lambda-zip", zip, "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    let planned = actions(&stdout);
    assert_eq!(
        planned["lambda function salesctl-transform"],
        "would create"
    );
    assert_eq!(planned["firehose stream salesctl-orders"], "would update");
    assert_eq!(
        planned.values().filter(|a| *a == "exists").count(),
        10,
        "{stdout}"
    );
    assert_eq!(
        processor_arn(&clients, &n.firehose).await,
        None,
        "a dry run changes nothing"
    );
    let (code, stdout, stderr) = salesctl(&s, &["up", "--lambda-zip", zip]);
    assert_eq!(code, 0, "{stderr}");
    let done = actions(&stdout);
    assert_eq!(done["lambda function salesctl-transform"], "created");
    assert_eq!(done["firehose stream salesctl-orders"], "updated");
    assert_eq!(
        processor_arn(&clients, &n.firehose).await,
        Some(n.function_version_arn("1"))
    );
}

//! `status`: the state of every resource of the stack and what the lake holds, with a
//! healthy flag per row so the verb can exit non-zero when anything is missing or failed.

use std::time::Duration;

use super::calls::{describe_firehose, not_found_or};
use super::function::{get_function, latest_version, processor_arn};
use super::resources::{
    bucket_exists, describe_pipe, describe_stream, describe_table, glue_database_exists,
    glue_table_exists, mode_name, workgroup_state,
};
use super::{DATA_PREFIX, ERROR_ROOT, Kind, StackNames};
use crate::aws::{Clients, ServiceResultExt};

/// One row of `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub resource: String,
    pub name: String,
    pub state: String,
    pub detail: String,
    /// False when missing or in a failed state: `status` then exits non-zero.
    pub healthy: bool,
}

fn row(kind: &str, name: &str, state: Option<String>, detail: String) -> StatusRow {
    let healthy = state.as_deref().is_some_and(|s| !is_failed_state(s));
    StatusRow {
        resource: kind.to_string(),
        name: name.to_string(),
        state: state.unwrap_or_else(|| "missing".to_string()),
        detail,
        healthy,
    }
}

/// States that mean the resource exists but does not work.
pub fn is_failed_state(state: &str) -> bool {
    let s = state.to_ascii_uppercase();
    s.contains("FAILED") || s == "DISABLED" || s == "INACTIVE" || s == "STOPPED"
}

/// Objects, bytes and the newest modification time under one prefix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefixStats {
    pub objects: u64,
    pub bytes: u64,
    pub newest_epoch_s: Option<i64>,
}

pub async fn prefix_stats(c: &Clients, bucket: &str, prefix: &str) -> anyhow::Result<PrefixStats> {
    let mut stats = PrefixStats::default();
    let mut token = None;
    loop {
        let page =
            c.s3.list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .service_context(|| format!("cannot list s3://{bucket}/{prefix}"))?;
        for o in page.contents() {
            stats.objects += 1;
            stats.bytes += u64::try_from(o.size().unwrap_or(0)).unwrap_or(0);
            if let Some(t) = o.last_modified() {
                stats.newest_epoch_s = stats.newest_epoch_s.max(Some(t.secs()));
            }
        }
        token = page.next_continuation_token;
        if token.is_none() {
            return Ok(stats);
        }
    }
}

/// "3 objects, 1234 bytes, newest 5m 2s ago" (or "empty").
pub fn describe_prefix(stats: PrefixStats, now_epoch_s: i64) -> String {
    if stats.objects == 0 {
        return "empty".to_string();
    }
    let age = stats.newest_epoch_s.map_or("unknown age".to_string(), |t| {
        let secs = u64::try_from(now_epoch_s - t).unwrap_or(0);
        format!(
            "newest {} ago",
            humantime::format_duration(Duration::from_secs(secs))
        )
    });
    format!("{} objects, {} bytes, {age}", stats.objects, stats.bytes)
}

/// The state of every resource, in `up` order, then the lake prefixes.
pub async fn status(c: &Clients, n: &StackNames) -> anyhow::Result<Vec<StatusRow>> {
    let mut rows = Vec::new();
    let table = describe_table(c, n).await?;
    let view = table
        .as_ref()
        .and_then(|t| t.stream_specification())
        .and_then(|s| s.stream_view_type())
        .map_or("stream off".to_string(), |v| {
            format!("stream {}", v.as_str())
        });
    rows.push(row(
        Kind::Table.label(),
        &n.table,
        table.as_ref().map(|t| {
            t.table_status()
                .map_or("UNKNOWN", |s| s.as_str())
                .to_string()
        }),
        if table.is_some() { view } else { String::new() },
    ));
    let stream = describe_stream(c, n).await?;
    rows.push(row(
        Kind::Stream.label(),
        &n.stream,
        stream
            .as_ref()
            .map(|s| s.stream_status().as_str().to_string()),
        stream.as_ref().map_or(String::new(), |s| {
            format!("{}, {} open shards", mode_name(s), s.open_shard_count())
        }),
    ));
    let bucket = bucket_exists(c, n).await?;
    rows.push(row(
        Kind::Bucket.label(),
        &n.bucket,
        bucket.then(|| "exists".to_string()),
        String::new(),
    ));
    for kind in [Kind::PipeRole, Kind::FirehoseRole, Kind::LambdaRole] {
        let name = n.name_of(kind);
        let role = not_found_or(c.iam.get_role().role_name(name).send().await, || {
            format!("cannot read role '{name}'")
        })?;
        rows.push(row(
            kind.label(),
            name,
            role.map(|_| "exists".to_string()),
            String::new(),
        ));
    }
    let function = get_function(c, n).await?;
    let version = if function.is_some() {
        latest_version(c, n).await?
    } else {
        None
    };
    rows.push(row(
        Kind::Function.label(),
        &n.lambda,
        function
            .as_ref()
            .map(|f| f.state().map_or("Active", |s| s.as_str()).to_string()),
        function
            .as_ref()
            .map_or("run 'salesctl deploy-lambda'".to_string(), |_| {
                version.map_or("no published version".to_string(), |v| {
                    format!("version {v}")
                })
            }),
    ));
    let pipe = describe_pipe(c, n).await?;
    rows.push(row(
        Kind::Pipe.label(),
        &n.pipe,
        pipe.as_ref().map(|p| {
            p.current_state()
                .map_or("UNKNOWN", |s| s.as_str())
                .to_string()
        }),
        pipe.as_ref()
            .and_then(|p| p.state_reason().map(str::to_string))
            .unwrap_or_default(),
    ));
    let firehose = describe_firehose(c, n).await?;
    rows.push(row(
        Kind::DeliveryStream.label(),
        &n.firehose,
        firehose
            .as_ref()
            .map(|d| d.delivery_stream_status().as_str().to_string()),
        firehose.as_ref().map_or(String::new(), |d| {
            processor_arn(d).map_or("no processor".to_string(), |a| format!("processor {a}"))
        }),
    ));
    let db = glue_database_exists(c, n).await?;
    rows.push(row(
        Kind::GlueDatabase.label(),
        &n.glue_database,
        db.then(|| "exists".to_string()),
        String::new(),
    ));
    let table_exists = db && glue_table_exists(c, n).await?;
    rows.push(row(
        Kind::GlueTable.label(),
        &n.glue_table,
        table_exists.then(|| "exists".to_string()),
        String::new(),
    ));
    let wg = workgroup_state(c, n).await?;
    rows.push(row(
        Kind::Workgroup.label(),
        &n.workgroup,
        wg,
        String::new(),
    ));
    if bucket {
        let now = chrono::Utc::now().timestamp();
        for prefix in [DATA_PREFIX, ERROR_ROOT] {
            let stats = prefix_stats(c, &n.bucket, prefix).await?;
            rows.push(StatusRow {
                resource: "s3 prefix".to_string(),
                name: format!("s3://{}/{prefix}", n.bucket),
                state: stats.objects.to_string(),
                detail: describe_prefix(stats, now),
                healthy: true,
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_descriptions() {
        assert_eq!(describe_prefix(PrefixStats::default(), 100), "empty");
        let stats = PrefixStats {
            objects: 2,
            bytes: 300,
            newest_epoch_s: Some(1_000),
        };
        assert_eq!(
            describe_prefix(stats, 1_062),
            "2 objects, 300 bytes, newest 1m 2s ago"
        );
    }

    #[test]
    fn failed_states() {
        for s in [
            "CREATE_FAILED",
            "DELETING_FAILED",
            "STOPPED",
            "DISABLED",
            "Failed",
        ] {
            assert!(is_failed_state(s), "{s}");
        }
        for s in [
            "ACTIVE", "RUNNING", "exists", "Active", "CREATING", "ENABLED",
        ] {
            assert!(!is_failed_state(s), "{s}");
        }
    }
}

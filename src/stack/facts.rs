//! What `status` reports: the stack's state and each resource's from CloudFormation (with
//! drift when asked), plus the live facts no template shows: shards, version, lake freshness.

use std::time::Duration;

use aws_sdk_cloudformation::types::StackDriftDetectionStatus;

use crate::aws::{Clients, ServiceResultExt};
use crate::lake::{DATA_PREFIX, Lake};
use crate::stack::StackNames;
use crate::stack::template::{EMULATOR_SKIPS, resources};

/// One line of `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceFact {
    pub logical_id: String,
    pub resource_type: String,
    /// CloudFormation's status, or what stands in for it.
    pub state: String,
    pub physical_id: String,
    /// Drift status when detection ran.
    pub drift: Option<String>,
    pub healthy: bool,
}

/// The live facts beside the resources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveFacts {
    pub open_shards: Option<usize>,
    pub function_version: Option<String>,
    pub lake_objects: Option<u64>,
    pub newest_object_age: Option<Duration>,
    pub error_objects: Option<u64>,
}

/// What CloudFormation lists of the resources of `stack` (one call).
pub async fn stack_resources(
    c: &Clients,
    stack: &str,
) -> anyhow::Result<Vec<aws_sdk_cloudformation::types::StackResource>> {
    Ok(c.cloudformation
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .service_context(|| format!("listing the resources of stack '{stack}'"))?
        .stack_resources
        .unwrap_or_default())
}

/// Every resource of the template with its state. On the emulator, the types it stores
/// but does not build are shown as run in-process (by the relay or the embedded engine).
pub async fn resource_facts(
    c: &Clients,
    names: &StackNames,
    emulator: bool,
    drift: bool,
) -> anyhow::Result<Vec<ResourceFact>> {
    let stack = names.stack_name();
    let listed = stack_resources(c, stack).await?;
    let drifts = if drift && emulator {
        crate::say!(
            "salesctl: drift detection is not implemented by the emulator; on AWS 'status --drift' asks CloudFormation"
        );
        Vec::new()
    } else if drift {
        detect_drift(c, stack).await?
    } else {
        Vec::new()
    };
    let code = listed
        .iter()
        .any(|r| r.logical_resource_id.as_deref() == Some("TransformFunction"));
    let mut facts = Vec::new();
    for (logical_id, resource_type) in resources() {
        let found = listed
            .iter()
            .find(|r| r.logical_resource_id.as_deref() == Some(logical_id.as_str()));
        let needs_code = matches!(
            logical_id.as_str(),
            "TransformFunction" | "TransformVersion" | "DeliveryStream" | "CdcPipe"
        );
        let (state, physical_id, healthy) = match found {
            Some(r) => {
                let status = r
                    .resource_status
                    .as_ref()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                let ok = status.ends_with("_COMPLETE") && !status.contains("ROLLBACK");
                (
                    status,
                    r.physical_resource_id.clone().unwrap_or_default(),
                    ok,
                )
            }
            None if emulator && EMULATOR_SKIPS.contains(&resource_type.as_str()) => {
                let stand_in = match resource_type.as_str() {
                    "AWS::Pipes::Pipe" | "AWS::KinesisFirehose::DeliveryStream" => {
                        "in-process: relay"
                    }
                    "AWS::Glue::Database" | "AWS::Glue::Table" | "AWS::Athena::WorkGroup" => {
                        "in-process: SQL engine"
                    }
                    _ => "not on the emulator",
                };
                (stand_in.to_string(), String::new(), true)
            }
            None if needs_code && !code => (
                "not yet: deploy-lambda".to_string(),
                String::new(),
                emulator,
            ),
            None => ("MISSING".to_string(), String::new(), false),
        };
        let drift = drifts
            .iter()
            .find(|(id, _)| *id == logical_id)
            .map(|(_, d)| d.clone());
        let healthy = healthy && drift.as_deref().is_none_or(|d| d == "IN_SYNC");
        facts.push(ResourceFact {
            logical_id,
            resource_type,
            state,
            physical_id,
            drift,
            healthy,
        });
    }
    Ok(facts)
}

/// Runs drift detection and returns (logical id, drift status) per resource checked.
async fn detect_drift(c: &Clients, stack: &str) -> anyhow::Result<Vec<(String, String)>> {
    let id = c
        .cloudformation
        .detect_stack_drift()
        .stack_name(stack)
        .send()
        .await
        .service_context(|| format!("detecting drift of stack '{stack}'"))?
        .stack_drift_detection_id
        .unwrap_or_default();
    for _ in 0..120 {
        let status = c
            .cloudformation
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .service_context(|| format!("reading drift detection of stack '{stack}'"))?;
        if status.detection_status != Some(StackDriftDetectionStatus::DetectionInProgress) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let drifts = c
        .cloudformation
        .describe_stack_resource_drifts()
        .stack_name(stack)
        .send()
        .await
        .service_context(|| format!("reading resource drifts of stack '{stack}'"))?;
    Ok(drifts
        .stack_resource_drifts
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            (
                d.logical_resource_id.unwrap_or_default(),
                d.stack_resource_drift_status
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect())
}

/// Shards, the function's version and the lake's freshness; a fact that cannot be read is
/// left out, never guessed.
pub async fn live_facts(
    c: &Clients,
    names: &StackNames,
    function_version_arn: Option<&str>,
) -> LiveFacts {
    let open_shards = c
        .kinesis
        .list_shards()
        .stream_name(&names.stream)
        .send()
        .await
        .ok()
        .map(|out| {
            out.shards
                .unwrap_or_default()
                .iter()
                .filter(|s| {
                    s.sequence_number_range
                        .as_ref()
                        .is_none_or(|r| r.ending_sequence_number.is_none())
                })
                .count()
        });
    let function_version = function_version_arn
        .and_then(|arn| arn.rsplit(':').next())
        .filter(|v| v.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_string);
    let lake = Lake::new(&c.s3, &names.bucket);
    let (lake_objects, newest) = recent_objects(c, &lake).await;
    let error_objects = lake
        .errors_written_since(chrono::Utc::now() - RECENT)
        .await
        .ok()
        .map(|found| found.len() as u64);
    LiveFacts {
        open_shards,
        function_version,
        lake_objects,
        newest_object_age: newest
            .map(|at| (chrono::Utc::now() - at).to_std().unwrap_or(Duration::ZERO)),
        error_objects,
    }
}

/// The window `status` counts objects over: a day, so the cost follows a day's objects
/// (1,440 at a 60 s buffer), never the lake's age.
const RECENT: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// When the lake's newest data object was written, from its newest partition (the engine's
/// own lookup, [`crate::lake::store::newest_data_object`]); `None` when there is none or the
/// lookup fails.
async fn newest_object_written(c: &Clients, bucket: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let store = crate::lake::store::s3_store(&c.config, bucket).ok()?;
    let prefix = object_store::path::Path::from(DATA_PREFIX);
    let newest = crate::lake::store::newest_data_object(store.as_ref(), &prefix)
        .await
        .ok()??;
    Some(newest.last_modified)
}

/// Data objects written in the last 24 h, and when the newest object was written (looked up
/// in the newest partition when none is that recent); nothing when the listing fails.
async fn recent_objects(
    c: &Clients,
    lake: &Lake,
) -> (Option<u64>, Option<chrono::DateTime<chrono::Utc>>) {
    let Ok(recent) = lake
        .written_since(DATA_PREFIX, chrono::Utc::now() - RECENT)
        .await
    else {
        return (None, None);
    };
    let newest = match recent.iter().filter_map(|o| o.written).max() {
        Some(at) => Some(at),
        None => newest_object_written(c, lake.bucket()).await,
    };
    (Some(recent.len() as u64), newest)
}

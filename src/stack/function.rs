//! The transform Lambda and Firehose's processor: create or update the function, publish a
//! version, wait for Lambda to settle, and point the delivery stream at a version.

use std::time::Duration;

use aws_sdk_firehose::types::{
    DeliveryStreamStatus, ExtendedS3DestinationUpdate, ProcessingConfiguration, Processor,
    ProcessorParameter, ProcessorParameterName, ProcessorType,
};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, FunctionCode, LastUpdateStatus, Runtime, State};

use super::StackNames;
use super::calls::{
    ACTIVE_TIMEOUT, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, describe_firehose, not_found_or,
    retry_role, wait_for,
};
use crate::aws::{Clients, ServiceResultExt};
use crate::error::service_error;
use crate::lambda_build::Arch;

/// The highest published version of the function, if any.
pub async fn latest_version(c: &Clients, n: &StackNames) -> anyhow::Result<Option<String>> {
    let mut best: Option<u64> = None;
    let mut marker = None;
    loop {
        let page = c
            .lambda
            .list_versions_by_function()
            .function_name(&n.lambda)
            .set_marker(marker)
            .send()
            .await
            .service_context(|| format!("cannot list versions of function '{}'", n.lambda))?;
        for v in page.versions() {
            if let Some(num) = v.version().and_then(|s| s.parse::<u64>().ok()) {
                best = best.max(Some(num));
            }
        }
        marker = page.next_marker;
        if marker.is_none() {
            break;
        }
    }
    Ok(best.map(|v| v.to_string()))
}

pub async fn get_function(
    c: &Clients,
    n: &StackNames,
) -> anyhow::Result<Option<aws_sdk_lambda::types::FunctionConfiguration>> {
    let out = not_found_or(
        c.lambda
            .get_function()
            .function_name(&n.lambda)
            .send()
            .await,
        || format!("cannot read function '{}'", n.lambda),
    )?;
    Ok(out.and_then(|o| o.configuration))
}

fn lambda_arch(arch: Arch) -> Architecture {
    match arch {
        Arch::X86_64 => Architecture::X8664,
        Arch::Arm64 => Architecture::Arm64,
    }
}

/// Creates the function and publishes version 1 with it; returns that version.
pub async fn create_function(
    c: &Clients,
    n: &StackNames,
    zip: Vec<u8>,
    arch: Arch,
    memory: Option<i32>,
    timeout: Option<i32>,
) -> anyhow::Result<String> {
    let role = n.role_arn(&n.lambda_role);
    let code = FunctionCode::builder().zip_file(Blob::new(zip)).build();
    let created = retry_role(&format!("cannot create function '{}'", n.lambda), || {
        c.lambda
            .create_function()
            .function_name(&n.lambda)
            .description(
                "salesctl: DynamoDB change records -> flat lake rows (Firehose transformation)",
            )
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(&role)
            .architectures(lambda_arch(arch))
            .memory_size(memory.unwrap_or(DEFAULT_MEMORY_MB))
            .timeout(timeout.unwrap_or(DEFAULT_TIMEOUT_S))
            .code(code.clone())
            .publish(true)
            .send()
    })
    .await?;
    wait_function_ready(c, n).await?;
    match created.version().filter(|v| *v != "$LATEST") {
        Some(v) => Ok(v.to_string()),
        None => latest_version(c, n).await?.ok_or_else(|| {
            service_error(format!(
                "function '{}' was created without a published version",
                n.lambda
            ))
        }),
    }
}

/// Waits until the function accepts the next update (State Active, LastUpdateStatus not
/// InProgress); a failed update is reported with Lambda's reason.
pub async fn wait_function_ready(c: &Clients, n: &StackNames) -> anyhow::Result<()> {
    wait_for(&format!("function '{}'", n.lambda), || async {
        let Some(cfg) = get_function(c, n).await? else {
            return Ok(false);
        };
        if cfg.last_update_status() == Some(&LastUpdateStatus::Failed)
            || cfg.state() == Some(&State::Failed)
        {
            return Err(service_error(format!(
                "function '{}' update failed: {}",
                n.lambda,
                cfg.last_update_status_reason()
                    .or(cfg.state_reason())
                    .unwrap_or("no reason given")
            )));
        }
        Ok(cfg.state().is_none_or(|s| s == &State::Active)
            && cfg
                .last_update_status()
                .is_none_or(|s| s != &LastUpdateStatus::InProgress))
    })
    .await
}

/// Creates the function, or updates its code (and only the settings given), then
/// publishes a version. Returns (created, version).
pub async fn deploy_function(
    c: &Clients,
    n: &StackNames,
    zip: Vec<u8>,
    arch: Arch,
    memory: Option<i32>,
    timeout: Option<i32>,
) -> anyhow::Result<(bool, String)> {
    let role = not_found_or(
        c.iam.get_role().role_name(&n.lambda_role).send().await,
        || format!("cannot read role '{}'", n.lambda_role),
    )?;
    if role.is_none() {
        return Err(service_error(format!(
            "role '{}' not found: run 'salesctl up' first (it creates the function's role)",
            n.lambda_role
        )));
    }
    if get_function(c, n).await?.is_none() {
        return Ok((
            true,
            create_function(c, n, zip, arch, memory, timeout).await?,
        ));
    }
    wait_function_ready(c, n).await?;
    if memory.is_some() || timeout.is_some() {
        c.lambda
            .update_function_configuration()
            .function_name(&n.lambda)
            .set_memory_size(memory)
            .set_timeout(timeout)
            .send()
            .await
            .service_context(|| {
                format!("cannot update the configuration of function '{}'", n.lambda)
            })?;
        wait_function_ready(c, n).await?;
    }
    c.lambda
        .update_function_code()
        .function_name(&n.lambda)
        .zip_file(Blob::new(zip))
        .architectures(lambda_arch(arch))
        .send()
        .await
        .service_context(|| format!("cannot update the code of function '{}'", n.lambda))?;
    wait_function_ready(c, n).await?;
    let published = c
        .lambda
        .publish_version()
        .function_name(&n.lambda)
        .description(format!(
            "salesctl deploy-lambda {}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        ))
        .send()
        .await
        .service_context(|| format!("cannot publish a version of function '{}'", n.lambda))?;
    let version = published
        .version()
        .filter(|v| *v != "$LATEST")
        .ok_or_else(|| {
            service_error(format!(
                "publishing function '{}' returned no version",
                n.lambda
            ))
        })?;
    Ok((false, version.to_string()))
}

/// The transformation step: Firehose calls this function ARN with each batch.
pub fn processing(function_arn: &str) -> anyhow::Result<ProcessingConfiguration> {
    Ok(ProcessingConfiguration::builder()
        .enabled(true)
        .processors(
            Processor::builder()
                .r#type(ProcessorType::Lambda)
                .parameters(
                    ProcessorParameter::builder()
                        .parameter_name(ProcessorParameterName::LambdaArn)
                        .parameter_value(function_arn)
                        .build()?,
                )
                .build()?,
        )
        .build())
}

/// The Lambda ARN Firehose's processor calls, if one is configured.
pub fn processor_arn(d: &aws_sdk_firehose::types::DeliveryStreamDescription) -> Option<String> {
    d.destinations()
        .iter()
        .filter_map(|dest| dest.extended_s3_destination_description())
        .filter_map(|s3| s3.processing_configuration())
        .flat_map(|pc| pc.processors())
        .flat_map(|proc| proc.parameters())
        .find(|param| param.parameter_name() == &ProcessorParameterName::LambdaArn)
        .map(|param| param.parameter_value().to_string())
}

/// Points the Firehose processor at `function_arn`. Returns false when there is no
/// delivery stream. Waits for an ACTIVE stream first, since updates need one.
pub async fn point_firehose_at(
    c: &Clients,
    n: &StackNames,
    function_arn: &str,
) -> anyhow::Result<bool> {
    let deadline = tokio::time::Instant::now() + ACTIVE_TIMEOUT;
    let d = loop {
        let Some(d) = describe_firehose(c, n).await? else {
            return Ok(false);
        };
        if d.delivery_stream_status() == &DeliveryStreamStatus::Active {
            break d;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(service_error(format!(
                "firehose stream '{}' stayed {} for {}s: check it in the console, then run deploy-lambda again",
                n.firehose,
                d.delivery_stream_status().as_str(),
                ACTIVE_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let Some(destination) = d.destinations().first() else {
        return Err(service_error(format!(
            "firehose stream '{}' has no destination",
            n.firehose
        )));
    };
    c.firehose
        .update_destination()
        .delivery_stream_name(&n.firehose)
        .current_delivery_stream_version_id(d.version_id())
        .destination_id(destination.destination_id())
        .extended_s3_destination_update(destination_update(destination, function_arn)?)
        .send()
        .await
        .service_context(|| {
            format!(
                "cannot point firehose stream '{}' at {function_arn}",
                n.firehose
            )
        })?;
    Ok(true)
}

/// The processor change, restating the destination's current settings: harmless on AWS,
/// and the emulator rebuilds the destination's plain-S3 view from the update alone (an
/// update naming only the processor would leave that view empty and undescribable).
fn destination_update(
    destination: &aws_sdk_firehose::types::DestinationDescription,
    function_arn: &str,
) -> anyhow::Result<ExtendedS3DestinationUpdate> {
    let mut update =
        ExtendedS3DestinationUpdate::builder().processing_configuration(processing(function_arn)?);
    if let Some(current) = destination.extended_s3_destination_description() {
        update = update
            .role_arn(current.role_arn())
            .bucket_arn(current.bucket_arn())
            .set_prefix(current.prefix().map(str::to_string))
            .set_error_output_prefix(current.error_output_prefix().map(str::to_string))
            .set_buffering_hints(current.buffering_hints().cloned())
            .compression_format(current.compression_format().clone());
    }
    Ok(update.build())
}

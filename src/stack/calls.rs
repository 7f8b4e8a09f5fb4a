//! The call helpers every stack module shares: waiting for a resource to become ready,
//! retrying while IAM propagates a new role, and "not found" as an answer, not an error.

use std::future::Future;
use std::time::Duration;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::StackNames;
use crate::aws::{Clients, describe, is_not_found};
use crate::error::service_error;

/// How long `up` waits for a table, stream or delivery stream to become ACTIVE.
pub(crate) const ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);
/// New IAM roles take a few seconds (rarely up to a minute) to be assumable everywhere.
const ROLE_RETRY_DELAYS: [u64; 8] = [2, 3, 5, 8, 10, 10, 10, 15];
/// Defaults for a new function; `deploy-lambda --memory/--timeout` change them.
pub const DEFAULT_MEMORY_MB: i32 = 256;
/// Firehose allows a transformation up to 5 minutes; one minute is ample for a batch.
pub const DEFAULT_TIMEOUT_S: i32 = 60;

pub(crate) fn not_found_or<T, E>(
    result: Result<T, E>,
    what: impl FnOnce() -> String,
) -> anyhow::Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(service_error(format!("{}: {}", what(), describe(&e)))),
    }
}

/// True for the errors services give while a new role is not yet assumable.
pub fn is_role_propagation_error(code: Option<&str>, message: Option<&str>) -> bool {
    let message = message.unwrap_or("").to_ascii_lowercase();
    let about_role = message.contains("role") || message.contains("assume");
    matches!(
        code,
        Some(
            "InvalidParameterValueException"
                | "InvalidArgumentException"
                | "ValidationException"
                | "AccessDeniedException"
        )
    ) && about_role
}

/// Runs a create call, retrying with bounded backoff while IAM is still propagating a role.
pub(crate) async fn retry_role<T, E, F, Fut>(what: &str, mut call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: ProvideErrorMetadata + std::error::Error,
{
    let mut delays = ROLE_RETRY_DELAYS.iter();
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if is_role_propagation_error(e.code(), e.message()) => match delays.next() {
                Some(&secs) => {
                    tracing::info!(
                        "{what}: role not assumable yet ({}); retrying in {secs}s",
                        describe(&e)
                    );
                    tokio::time::sleep(Duration::from_secs(secs)).await;
                }
                None => {
                    return Err(service_error(format!(
                        "{what}: {} (the role was still not assumable after about 60s: check that the role exists and trusts the service)",
                        describe(&e)
                    )));
                }
            },
            Err(e) => return Err(service_error(format!("{what}: {}", describe(&e)))),
        }
    }
}

/// Polls `check` until it returns true, every two seconds, for at most `ACTIVE_TIMEOUT`.
pub(crate) async fn wait_for<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + ACTIVE_TIMEOUT;
    loop {
        if check().await? {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(service_error(format!(
                "{what} did not become ready within {}s: check it in the console, then run the command again",
                ACTIVE_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

pub async fn describe_firehose(
    c: &Clients,
    n: &StackNames,
) -> anyhow::Result<Option<aws_sdk_firehose::types::DeliveryStreamDescription>> {
    let out = not_found_or(
        c.firehose
            .describe_delivery_stream()
            .delivery_stream_name(&n.firehose)
            .send()
            .await,
        || format!("cannot describe firehose stream '{}'", n.firehose),
    )?;
    Ok(out.and_then(|o| o.delivery_stream_description))
}

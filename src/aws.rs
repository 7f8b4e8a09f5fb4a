//! AWS clients built once from the settings, with the AWS CLI's resolution rules intact
//! (profiles, AWS_* env, credential chain) plus the emulator's needs (path-style S3, dummy keys).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, ProvideCredentials};
use aws_sdk_dynamodb::operation::RequestId;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::{config_error, service_error, service_error_with_detail};
use crate::settings::Settings;

/// Throttling and transient errors are retried by the SDK's standard mode (exponential
/// backoff with jitter); ten attempts ride out an emulator or a table warming up.
const MAX_ATTEMPTS: u32 = 10;

pub struct Clients {
    pub config: SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub dynamodb_streams: aws_sdk_dynamodbstreams::Client,
    pub kinesis: aws_sdk_kinesis::Client,
    pub s3: aws_sdk_s3::Client,
    pub athena: aws_sdk_athena::Client,
    /// The stack itself: CloudFormation creates, updates and deletes every resource.
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub sts: aws_sdk_sts::Client,
}

impl Clients {
    /// Resolves region and credentials up front so a missing one is one clear error instead
    /// of a failure deep inside the first call.
    pub async fn load(settings: &Settings) -> anyhow::Result<Clients> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = settings.effective_endpoint() {
            loader = loader.endpoint_url(endpoint);
        }
        if settings.local {
            // The emulator checks that requests are SigV4-signed, not by whom.
            loader = loader.credentials_provider(Credentials::new(
                "test",
                "test",
                None,
                None,
                "salesctl-local",
            ));
        }
        let config = loader.load().await;
        if config.region().is_none() {
            return Err(config_error(
                "no AWS region configured: pass --region, set AWS_REGION, add one to your profile, or use --local",
            ));
        }
        let Some(provider) = config.credentials_provider() else {
            return Err(config_error(
                "no AWS credentials provider: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use --local",
            ));
        };
        if let Err(e) = provider.provide_credentials().await {
            return Err(config_error(format!(
                "no AWS credentials found ({}): run 'aws configure' or 'aws sso login', set AWS_PROFILE, or use --local",
                first_line(&DisplayErrorContext(&e).to_string())
            )));
        }
        Ok(Clients::from_config(config))
    }

    /// Builds every client from one loaded configuration.
    pub fn from_config(config: SdkConfig) -> Clients {
        // With a custom endpoint the SDK would address `bucket.localhost`, which does not
        // resolve; path-style works against emulators and S3-compatible stores alike.
        let path_style = config.endpoint_url().is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(path_style)
            .build();
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            dynamodb_streams: aws_sdk_dynamodbstreams::Client::new(&config),
            kinesis: aws_sdk_kinesis::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            athena: aws_sdk_athena::Client::new(&config),
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            config,
        }
    }

    pub fn region(&self) -> &str {
        self.config.region().map_or("us-east-1", |r| r.as_ref())
    }

    /// The account the credentials belong to.
    pub async fn account_id(&self) -> anyhow::Result<String> {
        let identity =
            self.sts.get_caller_identity().send().await.map_err(|e| {
                service_error(format!("cannot read the AWS account: {}", describe(&e)))
            })?;
        identity
            .account
            .ok_or_else(|| service_error("STS returned no account id"))
    }

    /// The lake bucket (see [`Settings::lake_bucket`]); asks STS for the account only when
    /// no bucket is configured.
    pub async fn bucket(&self, settings: &Settings) -> anyhow::Result<String> {
        if let Some(bucket) = &settings.bucket {
            return Ok(bucket.clone());
        }
        let account = self.account_id().await?;
        Ok(settings.lake_bucket(&account, self.region()))
    }
}

/// A one-line description of an SDK error: `Code: message` when the service sent one, the
/// full cause chain otherwise (timeouts, DNS, an emulator answering HTML).
pub fn describe<E>(error: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {}", first_line(message)),
        (Some(code), None) => code.to_string(),
        _ => {
            let context = DisplayErrorContext(error).to_string();
            salvage_unparsed(&context).unwrap_or_else(|| first_line(&context))
        }
    }
}

/// An answer the SDK could not parse (an emulator answering one service's call with another
/// service's JSON error) is rendered as a whole debug dump; its error type header and JSON
/// message are what a person needs, so they are taken out of it.
fn salvage_unparsed(context: &str) -> Option<String> {
    let between = |text: &str, start: &str, end: &str| -> Option<String> {
        let from = text.find(start)? + start.len();
        let to = text[from..].find(end)? + from;
        Some(text[from..to].to_string())
    };
    if context.contains("<!doctype html>") || context.contains("<html") {
        let status = between(context, "status: StatusCode(", ")").unwrap_or_else(|| "?".into());
        return Some(format!(
            "the endpoint answered HTTP {status} with an HTML page, not an AWS answer (an emulator's way of saying it does not implement this call)"
        ));
    }
    let kind = between(context, "\"x-amzn-errortype\": \"", "\"")?;
    let kind = kind.split(':').next().unwrap_or(&kind).to_string();
    Some(match between(context, "\\\"message\\\": \\\"", "\\\"") {
        Some(message) => format!("{kind}: {message}"),
        None => kind,
    })
}

/// Everything the SDK knows of an error, for `-v`: its whole cause chain and the request id.
pub fn detail<E>(error: &E) -> String
where
    E: RequestId + std::error::Error,
{
    let chain = DisplayErrorContext(error).to_string().replace('\n', " ");
    match error.request_id() {
        Some(id) => format!("{chain} (request id {id})"),
        None => chain,
    }
}

/// True when the error is the service saying "no such resource".
pub fn is_not_found<E: ProvideErrorMetadata>(error: &E) -> bool {
    matches!(
        error.code(),
        Some(
            "ResourceNotFoundException"
                | "NoSuchBucket"
                | "NoSuchKey"
                | "NoSuchEntity"
                | "EntityNotFoundException"
                | "NotFoundException"
                | "NotFound"
        )
    )
}

/// Adds "what we were doing" to an SDK error and marks it as a service error (exit 254).
pub trait ServiceResultExt<T> {
    fn service_context(self, what: impl FnOnce() -> String) -> anyhow::Result<T>;

    /// For the call that looks a resource up: "no such resource" becomes
    /// `<what> not found: run 'salesctl up' or pass <flag>`, any other error
    /// `cannot describe <what>: <error>`; both are service errors (exit 254).
    fn or_missing(self, what: impl FnOnce() -> String, flag: &str) -> anyhow::Result<T>;
}

impl<T, E> ServiceResultExt<T> for Result<T, E>
where
    E: ProvideErrorMetadata + RequestId + std::error::Error,
{
    fn service_context(self, what: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.map_err(|e| {
            service_error_with_detail(format!("{}: {}", what(), describe(&e)), detail(&e))
        })
    }

    fn or_missing(self, what: impl FnOnce() -> String, flag: &str) -> anyhow::Result<T> {
        self.map_err(|e| {
            if is_not_found(&e) {
                service_error(format!(
                    "{} not found: run 'salesctl up' or pass {flag}",
                    what()
                ))
            } else {
                service_error_with_detail(
                    format!("cannot describe {}: {}", what(), describe(&e)),
                    detail(&e),
                )
            }
        })
    }
}

/// Exponential backoff with jitter: a random wait in [cap/2, cap], where cap is `base`
/// doubled per attempt and at most `max`, so retrying callers spread out instead of
/// retrying in step.
pub fn jittered_backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let cap = base.saturating_mul(1 << attempt.min(16)).min(max);
    let jitter: f64 = rand::random();
    cap.mul_f64(0.5 + jitter / 2.0)
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unparsed_error_dump_becomes_its_type_and_message() {
        let dump = r#"service error: unhandled error: error parsing XML: no root element (ServiceError(ServiceError { raw: Response { status: StatusCode(400), headers: {"x-amzn-errortype": "ResourceInUseException", "content-type": "application/json"}, body: SdkBody { inner: Once(Some(b"{\"__type\": \"com.amazonaws.dynamodb.v20120810#ResourceInUseException\", \"message\": \"Table already exists: red-orders\"}")) } } }))"#;
        assert_eq!(
            salvage_unparsed(dump).as_deref(),
            Some("ResourceInUseException: Table already exists: red-orders")
        );
        assert_eq!(
            salvage_unparsed("dispatch failure: connection refused"),
            None
        );
    }
}

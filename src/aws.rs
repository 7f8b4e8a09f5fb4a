//! AWS clients built once from the settings, with the AWS CLI's resolution rules intact
//! (profiles, AWS_* env, credential chain) plus the emulator's needs (path-style S3, dummy keys).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, ProvideCredentials};
use aws_sdk_dynamodb::operation::RequestId;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::endpoint::Endpoint;
use crate::error::{config_error, service_error, service_error_with_detail};
use crate::settings::Settings;

/// Throttling and transient errors are retried by the SDK's standard mode (exponential
/// backoff with jitter); ten attempts ride out an emulator or a table warming up.
const MAX_ATTEMPTS: u32 = 10;
/// A host that does not accept a connection within this long is down or unreachable: fail
/// with a clear line instead of the SDK's default of waiting and retrying for a minute.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long one call may wait: the connect, the first byte of an answer (a service that
/// accepted a request and then says nothing is stuck, so the attempt is retried), and the
/// whole call with its retries, so a verb never waits forever on a silent server. On AWS the
/// first byte may wait for a 128 MB upload to finish on a slow link; an emulator on this
/// machine answers in milliseconds, so a request it dropped is given up on sooner.
fn timeouts(emulator: bool) -> TimeoutConfig {
    let (first_byte, whole_call) = if emulator {
        (Duration::from_secs(20), Duration::from_secs(60))
    } else {
        (Duration::from_secs(120), Duration::from_secs(300))
    };
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(first_byte)
        .operation_timeout(whole_call)
        .build()
}

pub struct Clients {
    pub config: SdkConfig,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub dynamodb_streams: aws_sdk_dynamodbstreams::Client,
    pub kinesis: aws_sdk_kinesis::Client,
    pub s3: aws_sdk_s3::Client,
    pub athena: aws_sdk_athena::Client,
    /// The stack itself: CloudFormation creates, updates and deletes every resource.
    pub cloudformation: aws_sdk_cloudformation::Client,
    /// Read-only health facts for `status` and `watch`: the pipe's state, the dead-letter
    /// queue's depth, Firehose's and the transform's metrics.
    pub pipes: aws_sdk_pipes::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sts: aws_sdk_sts::Client,
    /// The endpoint the SDK really talks to (a flag, `--local`, `AWS_ENDPOINT_URL` or the
    /// profile's `endpoint_url`); `None` is AWS's own.
    pub endpoint: Option<Endpoint>,
}

impl Clients {
    /// Resolves region and credentials up front so a missing one is one clear error instead
    /// of a failure deep inside the first call.
    pub async fn load(settings: &Settings) -> anyhow::Result<Clients> {
        if let Some(region) = &settings.region
            && settings.effective_endpoint().is_none()
        {
            check_region_name(region)?;
        }
        if let Some(region) = &settings.region
            && settings.effective_endpoint().is_some()
        {
            check_region_label(region)?;
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
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
        let loaded = loader.load().await;
        // The SDK's answer decides: a profile's `endpoint_url` points it at an emulator that
        // the flags never named, and salesctl must then behave as on the emulator too.
        let endpoint = loaded.endpoint_url().map(Endpoint::parse).transpose()?;
        let emulator = endpoint.as_ref().is_some_and(|e| e.emulator);
        if emulator && let Some(region) = loaded.region() {
            check_emulator_region(region.as_ref())?;
        }
        // On the emulator an HTTP 500 is an answer (a call it does not implement), not a
        // transient fault: three quick tries, not ten over a minute.
        let retries = if emulator {
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_max_backoff(Duration::from_millis(500))
        } else {
            RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
        };
        let config = loaded
            .to_builder()
            .timeout_config(timeouts(emulator))
            .retry_config(retries)
            .build();
        if config.region().is_none() {
            return Err(config_error(
                "no AWS region configured: pass --region, set AWS_REGION, add one to your profile, or use --local",
            ));
        }
        let endpoint = config.endpoint_url().map_or_else(
            || {
                let region = config.region().map_or("us-east-1", |r| r.as_ref());
                format!("https://sts.{region}.amazonaws.com")
            },
            str::to_string,
        );
        probe_endpoint(&endpoint, settings.local).await?;
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

    /// True when the SDK talks to an emulator on this machine: the pipe and Firehose stages
    /// then run in-process and the local SQL engine is the default.
    pub fn targets_emulator(&self) -> bool {
        self.endpoint.as_ref().is_some_and(|e| e.emulator)
    }

    /// Builds every client from one loaded configuration.
    pub fn from_config(config: SdkConfig) -> Clients {
        // With a custom endpoint the SDK would address `bucket.localhost`, which does not
        // resolve; path-style works against emulators and S3-compatible stores alike.
        let path_style = config.endpoint_url().is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(path_style)
            .build();
        let endpoint = config
            .endpoint_url()
            .and_then(|url| Endpoint::parse(url).ok());
        Clients {
            endpoint,
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            dynamodb_streams: aws_sdk_dynamodbstreams::Client::new(&config),
            kinesis: aws_sdk_kinesis::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            athena: aws_sdk_athena::Client::new(&config),
            cloudformation: aws_sdk_cloudformation::Client::new(&config),
            pipes: aws_sdk_pipes::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
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

/// The regions the pinned emulator (moto 5.2.5) serves: botocore's endpoint data. Another name
/// makes it answer every call with HTTP 500, which looked like a silent endpoint after retries.
const EMULATOR_REGIONS: [&str; 46] = [
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-isoe-west-1",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isob-west-1",
    "us-isof-east-1",
    "us-isof-south-1",
    "us-west-1",
    "us-west-2",
];

fn check_emulator_region(region: &str) -> anyhow::Result<()> {
    if EMULATOR_REGIONS.contains(&region) {
        return Ok(());
    }
    Err(config_error(format!(
        "region '{region}' is not one the emulator serves (it answers every call with HTTP 500): pass --region us-east-1, or another AWS region"
    )))
}

/// With a custom endpoint any region name is allowed, but the SDK puts it into host names,
/// so it must be a DNS label.
fn check_region_label(region: &str) -> anyhow::Result<()> {
    let label = regex::Regex::new(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
        .expect("the label pattern is valid");
    if label.is_match(region) {
        return Ok(());
    }
    Err(config_error(format!(
        "region '{region}' cannot be used in a host name (letters, digits and '-' only): pass --region like us-east-1"
    )))
}

/// Rejects what cannot be a region name (`mars-north-9`, `eu-west`) before any request: the
/// SDK would build a host name from it and fail a minute later with a DNS or HTML error.
fn check_region_name(region: &str) -> anyhow::Result<()> {
    let pattern = regex::Regex::new(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$")
        .expect("the region pattern is valid");
    if pattern.is_match(region) {
        return Ok(());
    }
    Err(config_error(format!(
        "'{region}' is not an AWS region name: pass --region like us-east-1 or eu-west-1 (see 'aws ec2 describe-regions'), or --endpoint-url for a private endpoint"
    )))
}

/// Connects once to the endpoint's host before any AWS call, so a stopped emulator or an
/// unreachable network is one line within seconds, not a minute of SDK retries.
async fn probe_endpoint(endpoint: &str, local: bool) -> anyhow::Result<()> {
    let Ok(url) = url::Url::parse(endpoint) else {
        return Ok(());
    };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return Ok(());
    };
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let fix = if local {
        "start the emulator with 'scripts/local-aws start' (or point SALESCTL_LOCAL_ENDPOINT at it)"
    } else if url
        .host_str()
        .is_some_and(|h| h.ends_with(".amazonaws.com"))
    {
        "check the network, a proxy (HTTPS_PROXY) and --region"
    } else {
        "check that the service runs there and --endpoint-url is right"
    };
    let addresses = match tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    {
        Ok(Ok(addresses)) => addresses.collect::<Vec<_>>(),
        Ok(Err(e)) => {
            return Err(config_error(format!(
                "cannot resolve {host} for endpoint {endpoint} ({e}): {fix}"
            )));
        }
        Err(_) => {
            return Err(config_error(format!(
                "resolving {host} for endpoint {endpoint} took over {}s: {fix}",
                CONNECT_TIMEOUT.as_secs()
            )));
        }
    };
    let mut last_error = String::from("no address");
    for address in addresses {
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(address)).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => last_error = e.to_string().to_lowercase(),
            Err(_) => {
                last_error = format!("no answer within {}s", CONNECT_TIMEOUT.as_secs());
            }
        }
    }
    Err(config_error(format!(
        "cannot connect to {endpoint} ({last_error}): {fix}"
    )))
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
            salvage_unparsed(&context)
                .or_else(|| connection_failure(&context))
                .or_else(|| call_timed_out(&context))
                .unwrap_or_else(|| first_line(&context))
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

/// A request that never reached the service (the endpoint went away mid-run) is a dispatch
/// failure with the socket error buried in a debug dump; a person needs the socket error.
fn connection_failure(context: &str) -> Option<String> {
    if !context.contains("dispatch failure") && !context.contains("DispatchFailure") {
        return None;
    }
    let lower = context.to_lowercase();
    let cause = [
        ("connection refused", "connection refused"),
        ("dns error", "the host name does not resolve"),
        ("failed to lookup address", "the host name does not resolve"),
        ("timed out", "the connection timed out"),
        ("timeout", "the connection timed out"),
        ("connection reset", "the connection was reset"),
        ("certificate", "the TLS certificate was rejected"),
    ]
    .iter()
    .find(|(needle, _)| lower.contains(needle))
    .map_or("the connection failed", |(_, said)| said);
    Some(format!(
        "could not reach the endpoint ({cause}): check the network, --endpoint-url, or that the emulator still runs"
    ))
}

/// A call that ran out of time (see [`timeouts`]) is reported by the SDK with a debug dump of
/// the timeout's kind; a person needs to know the endpoint went silent and what to check.
fn call_timed_out(context: &str) -> Option<String> {
    if !context.starts_with("request has timed out") {
        return None;
    }
    let limit = context
        .split("occurred after ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(|text| text.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()))
        .map_or_else(String::new, |limit| format!(" within {limit}"));
    Some(format!(
        "the endpoint accepted the call but never answered{limit}, retries included: check that the service is healthy (for the emulator: scripts/local-aws stop, then start) and the network"
    ))
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

/// Exponential backoff with equal jitter: a random wait in [cap/2, cap], where cap is `base`
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

    #[test]
    fn a_dispatch_failure_names_its_socket_error() {
        let dump = "dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111) (DispatchFailure(DispatchFailure { source: ConnectorError { kind: Io, source: hyper_util::client::legacy::Error(Connect, ConnectError(\"tcp connect error\", Os { code: 111 })) } }))";
        let line = connection_failure(dump).unwrap();
        assert!(line.contains("connection refused"), "{line}");
        assert!(!line.contains("ConnectorError"), "{line}");
    }

    #[test]
    fn a_call_that_ran_out_of_time_says_the_endpoint_went_silent() {
        let dump = "request has timed out: operation timeout (all attempts including retries) occurred after 60s (TimeoutError(TimeoutError { source: MaybeTimeoutError { kind: Operation, duration: 60s } }))";
        let line = call_timed_out(dump).unwrap();
        assert!(line.contains("never answered within 60s"), "{line}");
        assert!(!line.contains("MaybeTimeoutError"), "{line}");
        assert_eq!(call_timed_out("dispatch failure: timeout"), None);
    }

    #[test]
    fn region_names_are_checked_for_shape() {
        for good in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-5",
            "cn-north-1",
        ] {
            assert!(check_region_name(good).is_ok(), "{good}");
        }
        for bad in ["mars-north-9", "eu-west", "US-EAST-1", "us-east-1 ", ""] {
            assert!(check_region_name(bad).is_err(), "{bad:?}");
        }
        // The emulator knows real regions only; a custom endpoint needs a host label.
        assert!(check_emulator_region("eu-west-1").is_ok());
        let message = check_emulator_region("eu-west-9").unwrap_err().to_string();
        assert!(message.contains("'eu-west-9'") && message.contains("--region us-east-1"));
        assert!(check_region_label("minio-local").is_ok());
        for bad in ["bad_region", "", "-x", "a b"] {
            let message = check_region_label(bad).unwrap_err().to_string();
            assert!(message.contains(&format!("'{bad}'")), "{message}");
        }
    }
}

//! The stack workflow every stack verb shares: resolve the stack's names, read its state,
//! choose the deployment's options, apply one change set or delete it, and ship code.
//!
//! `up`, `deploy-lambda`, `status` and `down` open a [`Stack`] and call it; none of them
//! knows how another builds its options, so a rule (flags, then the stack, then defaults)
//! lives here once.

use std::time::Duration;

use tokio::sync::watch;

use crate::aws::Clients;
use crate::error::{service_error, usage_error};
use crate::settings::Settings;
use crate::stack::deploy::{self, Deployed, Deployer, Event, PlannedChange, StackState};
use crate::stack::facts::resource_facts;
use crate::stack::template::{
    BUCKET_RESOURCE, CONVERSION_MIN_BUFFER_MB, StackParameters, TEMPLATE, flag_of, import_template,
};
use crate::stack::{DeployOptions, StackNames, bucket};
use salesctl_core::lake_schema::LakeFormat;

/// What a verb asks of the function; `None` keeps what the stack has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionChoice<'a> {
    /// Lambda's architecture name (`x86_64`, `arm64`).
    pub architecture: Option<&'a str>,
    pub memory_mb: Option<u32>,
    pub timeout_seconds: Option<u32>,
}

/// What a verb asks of the stack beyond the function; `None` keeps what the stack has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StackChoice {
    pub shards: Option<u32>,
    pub point_in_time_recovery: Option<bool>,
    /// The lake's format; `None` keeps the stack's (a new stack takes the setting's).
    pub lake_format: Option<LakeFormat>,
}

/// The lake format `existing` was deployed with, or `None` for no stack yet. A stack from
/// before the `LakeFormat` parameter wrote JSON (the template had no other format), and it
/// keeps doing so unless asked.
pub fn deployed_lake_format(existing: Option<&StackState>) -> Option<LakeFormat> {
    let state = existing.filter(|state| !state.is_under_review())?;
    Some(
        state
            .parameter("LakeFormat")
            .and_then(LakeFormat::parse)
            .unwrap_or(LakeFormat::Json),
    )
}

/// The one line `up` says when `parameters` change the lake format of `existing`: allowed
/// (Firehose writes the new format from then on, nothing is rewritten), but the lake then
/// holds both formats, and Athena and the local engine read the table by its current one.
pub fn lake_format_change(
    stack: &str,
    bucket: &str,
    existing: Option<&StackState>,
    parameters: &StackParameters,
) -> Option<String> {
    let old = deployed_lake_format(existing)?;
    let new = parameters.get("LakeFormat").and_then(LakeFormat::parse)?;
    (old != new).then(|| {
        format!(
            "salesctl: stack '{stack}' changes its lake format from {old} to {new}: Firehose writes {new} objects from now on and the {old} objects already in s3://{bucket}/orders/ stay as they are, so the lake then holds both formats; Athena and the local engine read orders_cdc by its current format ({new}), so they cannot read the hours written in {old} (keep {old} with --lake-format {old}, or start the {new} lake in a stack of its own with --stack-prefix NAME)"
        )
    })
}

/// The one line `up` says when a Parquet lake buffers more than `buffer_mb` asks: Firehose
/// converts only with at least [`CONVERSION_MIN_BUFFER_MB`]. Said when the size is new to
/// the stack (a new stack, or a new size), not on every run.
pub fn conversion_buffer_note(
    existing: Option<&StackState>,
    parameters: &StackParameters,
    buffer_mb: u32,
) -> Option<String> {
    let parquet = parameters.get("LakeFormat") == Some(LakeFormat::Parquet.as_str());
    let size = parameters.get("ConversionBufferMB")?;
    let deployed = existing
        .filter(|state| !state.is_under_review())
        .and_then(|state| {
            (deployed_lake_format(Some(state)) == Some(LakeFormat::Parquet))
                .then(|| state.parameter("ConversionBufferMB"))
                .flatten()
        });
    (parquet && buffer_mb < CONVERSION_MIN_BUFFER_MB && deployed != Some(size)).then(|| {
        format!(
            "salesctl: the Parquet lake buffers {size} MiB, not buffer_mb {buffer_mb}: Firehose converts records only with a buffer of at least {CONVERSION_MIN_BUFFER_MB} MiB (the buffering interval still delivers what has arrived when it ends)"
        )
    })
}

/// The parameters that name resources: CloudFormation can change one only by replacing the
/// resource, which it refuses for a named resource that others depend on (the pipe, Firehose)
/// and which would leave the table's items or the lake behind.
const CUSTOM_NAMES: [&str; 8] = [
    "TableName",
    "StreamName",
    "BucketName",
    "PipeName",
    "DeliveryStreamName",
    "FunctionName",
    "GlueDatabaseName",
    "WorkgroupName",
];

/// One parameter a change set changes, as `up` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterChange {
    pub name: String,
    /// `None` for a parameter the stack does not have yet (a newer template's).
    pub old: Option<String>,
    pub new: String,
}

/// The parameters whose values `parameters` changes on the stack, in the template's order
/// of names.
pub fn parameter_changes(
    existing: &StackState,
    parameters: &StackParameters,
) -> Vec<ParameterChange> {
    parameters
        .iter()
        .filter(|(name, value)| existing.parameter(name) != Some(*value))
        .map(|(name, value)| ParameterChange {
            name: name.to_string(),
            old: existing.parameter(name).map(str::to_string),
            new: value.to_string(),
        })
        .collect()
}

/// Why `parameters` must not be applied to the existing stack, as the error to show; `None`
/// when they may. Checked before anything is built or asked of CloudFormation:
/// - a stack state that needs a hand first (a failed delete or rollback);
/// - a new name for a named resource (`--table`, `--stream`, `--bucket`, the other names):
///   CloudFormation would have to replace it;
/// - a new architecture while the deployed code stays: Lambda would run the old
///   architecture's `bootstrap` on the new one, so every record would fail the transform.
///   `new_code` says code is deployed in the same run (built or given for that architecture).
pub fn update_refusal(
    stack: &str,
    existing: &StackState,
    parameters: &StackParameters,
    new_code: bool,
) -> Option<anyhow::Error> {
    if let Some(problem) = deploy::refusal(stack, existing) {
        return Some(service_error(problem));
    }
    let renamed: Vec<String> = CUSTOM_NAMES
        .iter()
        .filter_map(|name| {
            let old = existing.parameter(name).filter(|v| !v.is_empty())?;
            let new = parameters.get(name)?;
            (old != new).then(|| format!("{} '{new}' (the stack has '{old}')", flag_of(name)))
        })
        .collect();
    if !renamed.is_empty() {
        return Some(usage_error(format!(
            "stack '{stack}' was deployed with other names: {}; renaming replaces those resources, which CloudFormation cannot do for named resources (and the old ones would take their data along): keep the stack's names, or deploy the new ones as a second stack with --stack-prefix NAME, or rebuild with 'salesctl down --yes --keep-data' (deletes the table's items, keeps the bucket) then 'salesctl up'",
            renamed.join(", ")
        )));
    }
    let has_code = existing.parameter("CodeKey").is_some_and(|k| !k.is_empty());
    // A stack without the parameter runs the template's default.
    let deployed = existing
        .parameter("FunctionArchitecture")
        .unwrap_or("x86_64");
    let asked = parameters.get("FunctionArchitecture").unwrap_or(deployed);
    if has_code && !new_code && asked != deployed {
        return Some(usage_error(format!(
            "--arch {asked}: the deployed transform of stack '{stack}' is built for {deployed}, and Lambda would run it on {asked} (every record would fail); deploy code for {asked} in the same run ('salesctl deploy-lambda --arch {asked}', or 'salesctl up --arch {asked} --lambda-zip PATH'), or leave out --arch to keep {deployed}"
        )));
    }
    None
}

/// One stack, opened once per verb.
pub struct Stack<'a> {
    aws: &'a Clients,
    settings: &'a Settings,
    pub names: StackNames,
    /// On the emulator CloudFormation answers in milliseconds, so it is polled quickly.
    pub emulator: bool,
}

impl<'a> Stack<'a> {
    /// Resolves account, region and bucket (one STS call) into the stack's names.
    pub async fn open(
        aws: &'a Clients,
        settings: &'a Settings,
        emulator: bool,
    ) -> anyhow::Result<Stack<'a>> {
        let names = StackNames::resolve(aws, settings).await?;
        Ok(Stack {
            aws,
            settings,
            names,
            emulator,
        })
    }

    pub fn name(&self) -> &str {
        self.names.stack_name()
    }

    pub fn clients(&self) -> &'a Clients {
        self.aws
    }

    fn deployer(&self) -> Deployer<'_> {
        Deployer {
            client: &self.aws.cloudformation,
            stack: self.names.stack_name(),
            poll: Duration::from_millis(if self.emulator { 200 } else { 3000 }),
        }
    }

    /// The stack as CloudFormation describes it, or `None` when there is none.
    pub async fn state(&self) -> anyhow::Result<Option<StackState>> {
        self.deployer().state().await
    }

    /// The stack's state, or an error that names the stack and `next` (what to run first).
    pub async fn existing(&self, next: &str) -> anyhow::Result<StackState> {
        self.state()
            .await?
            .ok_or_else(|| service_error(format!("stack '{}' not found: {next}", self.name())))
    }

    /// The template's parameters for `options` and this stack's names and settings.
    pub fn parameters(&self, options: &DeployOptions) -> StackParameters {
        self.names.parameters(self.settings, options)
    }

    /// Checks `options` against the template's own rules, before anything slow (a build)
    /// or remote (a change set) happens.
    pub fn validate(&self, options: &DeployOptions) -> anyhow::Result<()> {
        self.parameters(options).validate()
    }

    /// Refuses what an update of `existing` with `options` cannot do (see [`update_refusal`]);
    /// a new stack has nothing to refuse.
    pub fn check_update(
        &self,
        existing: Option<&StackState>,
        options: &DeployOptions,
        new_code: bool,
    ) -> anyhow::Result<()> {
        match existing.filter(|state| !state.is_under_review()) {
            Some(state) => update_refusal(self.name(), state, &self.parameters(options), new_code)
                .map_or(Ok(()), Err),
            None => Ok(()),
        }
    }

    /// True when there is no stack yet but its bucket exists: kept by `down --keep-data` (or
    /// by a failed create, since the stack retains it). [`Stack::apply`] imports it.
    pub async fn kept_bucket(&self) -> anyhow::Result<bool> {
        let no_stack = self
            .state()
            .await?
            .is_none_or(|state| state.is_under_review());
        Ok(no_stack && bucket::exists(self.aws, &self.names.bucket).await)
    }

    /// One change set: described only with `dry_run`, else executed and watched until the
    /// stack settles, each event handed to `on_event`. A new stack whose bucket was kept
    /// takes it back first, through an IMPORT change set, so nothing is created over it.
    pub async fn apply(
        &self,
        options: &DeployOptions,
        dry_run: bool,
        stop: &mut watch::Receiver<bool>,
        on_event: &mut dyn FnMut(&Event),
    ) -> anyhow::Result<Deployed> {
        let parameters = self.parameters(options);
        parameters.validate()?;
        let deployer = self.deployer();
        if !self.kept_bucket().await? {
            return deployer
                .deploy(TEMPLATE, &parameters, dry_run, stop, on_event)
                .await;
        }
        let imported = deployer
            .import_bucket(
                &import_template(),
                &parameters,
                BUCKET_RESOURCE,
                &self.names.bucket,
                dry_run,
                stop,
                on_event,
            )
            .await;
        let imported = match imported {
            Ok(imported) => imported,
            Err(error) => {
                deployer.forget_failed_import().await;
                return Err(self.import_failed(&error));
            }
        };
        // A dry run cannot update a stack that was not made: the rest is planned as a new
        // stack's, less the bucket, which the import brings.
        let rest = deployer
            .deploy(TEMPLATE, &parameters, dry_run, stop, on_event)
            .await?;
        let rest = match rest {
            Deployed::Planned(changes) => Deployed::Planned(
                changes
                    .into_iter()
                    .filter(|c: &PlannedChange| c.logical_id != BUCKET_RESOURCE)
                    .collect(),
            ),
            other => other,
        };
        Ok(imported.then(rest))
    }

    /// The one-line error for an import that did not happen: the bucket is untouched, and
    /// what to do never deletes it.
    fn import_failed(&self, error: &anyhow::Error) -> anyhow::Error {
        let beside = "deploy beside it with --bucket NAME or --stack-prefix NAME";
        let (cause, what_to_do) = if self.emulator {
            (
                format!("the emulator does not implement resource import ({error})"),
                format!("on the emulator, {beside}; on AWS 'salesctl up' imports it"),
            )
        } else {
            (
                error.to_string(),
                format!(
                    "fix that cause and run 'salesctl up' again, or leave the bucket be and {beside}"
                ),
            )
        };
        service_error(format!(
            "bucket '{}' (kept with its data) could not be imported into the new stack '{}': {cause}; the bucket and its objects are untouched and no stack was left behind: {what_to_do}",
            self.names.bucket,
            self.name()
        ))
    }

    /// Deletes the stack and waits; false when there was none.
    pub async fn delete(
        &self,
        stop: &mut watch::Receiver<bool>,
        on_event: &mut dyn FnMut(&Event),
    ) -> anyhow::Result<bool> {
        self.deployer().delete(stop, on_event).await
    }

    /// Uploads the transform zip under its content hash; returns the key.
    pub async fn upload_code(&self, zip: Vec<u8>) -> anyhow::Result<String> {
        bucket::upload_code(self.aws, &self.names.bucket, zip).await
    }

    /// The ARN of the function version the stack points Firehose at, if one is deployed.
    pub async fn transform_version(&self) -> anyhow::Result<Option<String>> {
        Ok(resource_facts(self.aws, &self.names, self.emulator, false)
            .await?
            .into_iter()
            .find(|r| r.logical_id == "TransformVersion")
            .map(|r| r.physical_id)
            .filter(|id| !id.is_empty()))
    }
}

impl DeployOptions {
    /// The deployment's options: the verb's choices first, then what the stack has, then
    /// the defaults. The projection start stays the stack's creation date (changing it
    /// rewrites the Glue table).
    pub fn chosen(
        existing: Option<&StackState>,
        stack: StackChoice,
        function: FunctionChoice<'_>,
    ) -> DeployOptions {
        let previous = |name: &str| existing.and_then(|s| s.parameter(name)).map(str::to_string);
        let previous_number = |name: &str| previous(name).and_then(|v| v.parse::<u32>().ok());
        let initial = DeployOptions::initial(chrono::Utc::now());
        DeployOptions {
            shards: stack
                .shards
                .or(previous_number("ShardCount"))
                .unwrap_or(initial.shards),
            code_key: previous("CodeKey").unwrap_or(initial.code_key),
            // The deployed code is built for the stack's architecture: never a default.
            architecture: function
                .architecture
                .map(str::to_string)
                .or(previous("FunctionArchitecture"))
                .unwrap_or(initial.architecture),
            memory_mb: function
                .memory_mb
                .or(previous_number("FunctionMemory"))
                .unwrap_or(initial.memory_mb),
            timeout_seconds: function
                .timeout_seconds
                .or(previous_number("FunctionTimeout"))
                .unwrap_or(initial.timeout_seconds),
            point_in_time_recovery: stack
                .point_in_time_recovery
                .or(previous("PointInTimeRecovery").map(|v| v == "true"))
                .unwrap_or(initial.point_in_time_recovery),
            projection_start: previous("ProjectionStart").unwrap_or(initial.projection_start),
            // The flag, else the stack's (a stack keeps its format), else the setting's.
            lake_format: stack.lake_format.or(deployed_lake_format(existing)),
        }
    }
}

impl Deployed {
    /// Two change sets applied in a row, as one outcome: the changes of both and the last
    /// status.
    pub fn then(self, second: Deployed) -> Deployed {
        match (self, second) {
            (
                Deployed::Done { mut changes, .. },
                Deployed::Done {
                    changes: more,
                    status,
                },
            ) => {
                changes.extend(more);
                Deployed::Done { changes, status }
            }
            (Deployed::Planned(mut changes), Deployed::Planned(more)) => {
                changes.extend(more);
                Deployed::Planned(changes)
            }
            (Deployed::NoChanges, second) => second,
            (first, Deployed::NoChanges) => first,
            (_, second) => second,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::deploy::PlannedChange;

    fn change(id: &str) -> PlannedChange {
        PlannedChange {
            action: "Add".into(),
            logical_id: id.into(),
            resource_type: "AWS::S3::Bucket".into(),
            replacement: None,
        }
    }

    #[test]
    fn options_come_from_the_verb_then_the_stack_then_the_defaults() {
        let stack = StackState {
            status: "UPDATE_COMPLETE".into(),
            reason: None,
            parameters: vec![
                ("ShardCount".into(), "4".into()),
                ("CodeKey".into(), "lambda/abc.zip".into()),
                ("FunctionMemory".into(), "512".into()),
                ("ProjectionStart".into(), "2026-01-02".into()),
            ],
        };
        let function = FunctionChoice {
            architecture: Some("arm64"),
            memory_mb: None,
            timeout_seconds: Some(90),
        };
        let options = DeployOptions::chosen(Some(&stack), StackChoice::default(), function);
        assert_eq!(options.shards, 4);
        assert_eq!(options.code_key, "lambda/abc.zip");
        assert_eq!(options.memory_mb, 512);
        assert_eq!(options.timeout_seconds, 90);
        assert_eq!(options.projection_start, "2026-01-02");
        assert_eq!(options.architecture, "arm64");
        let two = StackChoice {
            shards: Some(2),
            ..StackChoice::default()
        };
        let fresh = DeployOptions::chosen(None, two, function);
        assert_eq!((fresh.shards, fresh.memory_mb), (2, 256));
        assert!(fresh.code_key.is_empty());
        assert!(fresh.point_in_time_recovery, "on by default");
    }

    fn stack_with(parameters: &[(&str, &str)]) -> StackState {
        StackState {
            status: "UPDATE_COMPLETE".into(),
            reason: None,
            parameters: parameters
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn names() -> StackNames {
        StackNames::new(
            &Settings::with_prefix("salesctl"),
            "123456789012",
            "us-east-1",
            "salesctl-lake-123456789012-us-east-1",
        )
    }

    const NOTHING: FunctionChoice<'static> = FunctionChoice {
        architecture: None,
        memory_mb: None,
        timeout_seconds: None,
    };

    #[test]
    fn the_architecture_and_recovery_setting_are_the_stacks_unless_asked() {
        // deploy-lambda --arch arm64 once; a plain `up --shards 4` must keep arm64.
        let stack = stack_with(&[
            ("FunctionArchitecture", "arm64"),
            ("CodeKey", "lambda/abc.zip"),
            ("PointInTimeRecovery", "false"),
        ]);
        let shards = StackChoice {
            shards: Some(4),
            ..StackChoice::default()
        };
        let options = DeployOptions::chosen(Some(&stack), shards, NOTHING);
        assert_eq!(options.architecture, "arm64");
        assert!(
            !options.point_in_time_recovery,
            "the stack's choice is kept"
        );
        assert_eq!(
            DeployOptions::chosen(None, shards, NOTHING).architecture,
            "x86_64"
        );
        // A stack from before the parameter existed gets it, on.
        let older = stack_with(&[("CodeKey", "lambda/abc.zip")]);
        assert!(DeployOptions::chosen(Some(&older), shards, NOTHING).point_in_time_recovery);
    }

    #[test]
    fn the_lake_format_is_the_flags_then_the_stacks_then_the_settings() {
        let parquet = stack_with(&[("LakeFormat", "parquet"), ("CodeKey", "")]);
        let json = stack_with(&[("LakeFormat", "json")]);
        // A stack from before the parameter wrote JSON, and keeps doing so.
        let older = stack_with(&[("CodeKey", "lambda/abc.zip")]);
        let keep = StackChoice::default();
        let chosen = |stack: Option<&StackState>, choice| {
            DeployOptions::chosen(stack, choice, NOTHING).lake_format
        };
        assert_eq!(chosen(Some(&parquet), keep), Some(LakeFormat::Parquet));
        assert_eq!(chosen(Some(&json), keep), Some(LakeFormat::Json));
        assert_eq!(chosen(Some(&older), keep), Some(LakeFormat::Json));
        assert_eq!(chosen(None, keep), None, "a new stack takes the setting");
        let to_parquet = StackChoice {
            lake_format: Some(LakeFormat::Parquet),
            ..keep
        };
        assert_eq!(chosen(Some(&older), to_parquet), Some(LakeFormat::Parquet));
        // The setting fills in for a new stack only.
        let settings = Settings {
            lake_format: LakeFormat::Json,
            ..Settings::with_prefix("salesctl")
        };
        let new = DeployOptions::chosen(None, keep, NOTHING);
        assert_eq!(
            names().parameters(&settings, &new).get("LakeFormat"),
            Some("json")
        );
        let kept = DeployOptions::chosen(Some(&parquet), keep, NOTHING);
        assert_eq!(
            names().parameters(&settings, &kept).get("LakeFormat"),
            Some("parquet")
        );
    }

    #[test]
    fn a_new_lake_format_is_allowed_and_said_in_one_line() {
        let settings = Settings::with_prefix("salesctl");
        let older = stack_with(&[("CodeKey", "lambda/abc.zip"), ("BufferMB", "5")]);
        let bucket = "salesctl-lake-123456789012-us-east-1";
        let to = |format| {
            let choice = StackChoice {
                lake_format: Some(format),
                ..StackChoice::default()
            };
            names().parameters(
                &settings,
                &DeployOptions::chosen(Some(&older), choice, NOTHING),
            )
        };
        let parquet = to(LakeFormat::Parquet);
        let said = lake_format_change("salesctl", bucket, Some(&older), &parquet)
            .expect("json -> parquet is said");
        assert!(!said.contains('\n'), "{said}");
        for part in [
            "from json to parquet",
            "holds both formats",
            "Athena and the local engine read orders_cdc by its current format (parquet)",
            "--lake-format json",
            bucket,
        ] {
            assert!(said.contains(part), "{part}: {said}");
        }
        // No change, or a new stack: nothing to say.
        let same = to(LakeFormat::Json);
        assert_eq!(
            lake_format_change("salesctl", bucket, Some(&older), &same),
            None
        );
        assert_eq!(lake_format_change("salesctl", bucket, None, &parquet), None);
        // The buffer is raised to Firehose's floor once, when it is new to the stack.
        let raised = conversion_buffer_note(Some(&older), &parquet, 5).expect("5 -> 64");
        assert!(
            raised.contains("buffers 64 MiB, not buffer_mb 5"),
            "{raised}"
        );
        assert!(conversion_buffer_note(None, &parquet, 5).is_some());
        assert_eq!(conversion_buffer_note(Some(&older), &same, 5), None, "JSON");
        assert_eq!(conversion_buffer_note(None, &parquet, 64), None);
        let deployed = stack_with(&[("LakeFormat", "parquet"), ("ConversionBufferMB", "64")]);
        assert_eq!(conversion_buffer_note(Some(&deployed), &parquet, 5), None);
    }

    #[test]
    fn a_new_architecture_needs_its_code_in_the_same_run() {
        let stack = stack_with(&[
            ("FunctionArchitecture", "arm64"),
            ("CodeKey", "lambda/abc.zip"),
        ]);
        let settings = Settings::with_prefix("salesctl");
        let x86 = FunctionChoice {
            architecture: Some("x86_64"),
            ..NOTHING
        };
        let options = DeployOptions::chosen(Some(&stack), StackChoice::default(), x86);
        let parameters = names().parameters(&settings, &options);
        let refused = update_refusal("salesctl", &stack, &parameters, false)
            .expect("x86_64 over arm64 code is refused")
            .to_string();
        assert!(refused.contains("built for arm64"), "{refused}");
        assert!(
            refused.contains("salesctl deploy-lambda --arch x86_64"),
            "{refused}"
        );
        assert!(!refused.contains('\n'));
        assert!(
            update_refusal("salesctl", &stack, &parameters, true).is_none(),
            "with code for x86_64 in the same run it goes ahead"
        );
        // The stack's own architecture, or no code deployed yet: nothing to refuse.
        let same = DeployOptions::chosen(Some(&stack), StackChoice::default(), NOTHING);
        let same = names().parameters(&settings, &same);
        assert!(update_refusal("salesctl", &stack, &same, false).is_none());
        let no_code = stack_with(&[("FunctionArchitecture", "arm64"), ("CodeKey", "")]);
        assert!(update_refusal("salesctl", &no_code, &parameters, false).is_none());
    }

    #[test]
    fn renaming_a_named_resource_is_refused_with_what_to_do() {
        let settings = Settings::with_prefix("salesctl");
        let options = DeployOptions::chosen(None, StackChoice::default(), NOTHING);
        let parameters = names().parameters(&settings, &options);
        let mut deployed: Vec<(String, String)> = parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let stack = |deployed: &Vec<(String, String)>| StackState {
            status: "UPDATE_COMPLETE".into(),
            reason: None,
            parameters: deployed.clone(),
        };
        assert!(update_refusal("salesctl", &stack(&deployed), &parameters, false).is_none());
        for (name, old) in [
            ("TableName", "orders-v1"),
            ("StreamName", "cdc-v1"),
            ("BucketName", "lake-v1"),
            ("PipeName", "pipe-v1"),
        ] {
            for entry in deployed.iter_mut().filter(|(k, _)| k == name) {
                entry.1 = old.to_string();
            }
        }
        let refused = update_refusal("salesctl", &stack(&deployed), &parameters, false)
            .expect("renames are refused")
            .to_string();
        for named in [
            "--table 'salesctl-orders' (the stack has 'orders-v1')",
            "--stream 'salesctl-cdc'",
            "--bucket 'salesctl-lake-123456789012-us-east-1'",
            "pipe 'salesctl-cdc-pipe'",
            "--stack-prefix",
        ] {
            assert!(refused.contains(named), "{named}: {refused}");
        }
        assert!(!refused.contains("'salesctl down --yes'"), "{refused}");
    }

    #[test]
    fn parameter_only_changes_are_listed_old_to_new() {
        let stack = stack_with(&[("ShardCount", "0"), ("CodeKey", "lambda/a.zip")]);
        let mut parameters = StackParameters::default();
        parameters
            .set("ShardCount", 3)
            .set("CodeKey", "lambda/a.zip")
            .set("PointInTimeRecovery", true);
        assert_eq!(
            parameter_changes(&stack, &parameters),
            vec![
                ParameterChange {
                    name: "PointInTimeRecovery".into(),
                    old: None,
                    new: "true".into()
                },
                ParameterChange {
                    name: "ShardCount".into(),
                    old: Some("0".into()),
                    new: "3".into()
                },
            ]
        );
    }

    #[test]
    fn two_change_sets_add_up_and_keep_the_last_status() {
        let first = Deployed::Done {
            changes: vec![change("A")],
            status: "CREATE_COMPLETE".into(),
        };
        let second = Deployed::Done {
            changes: vec![change("B")],
            status: "UPDATE_COMPLETE".into(),
        };
        assert_eq!(
            first.clone().then(second),
            Deployed::Done {
                changes: vec![change("A"), change("B")],
                status: "UPDATE_COMPLETE".into()
            }
        );
        assert_eq!(first.clone().then(Deployed::NoChanges), first);
        assert_eq!(Deployed::NoChanges.then(first.clone()), first);
        assert_eq!(
            Deployed::Planned(vec![change("LakeBucket")])
                .then(Deployed::Planned(vec![change("OrdersTable")])),
            Deployed::Planned(vec![change("LakeBucket"), change("OrdersTable")]),
            "a dry run's import and the rest are listed together"
        );
    }
}

//! The stack workflow every stack verb shares: resolve the stack's names, read its state,
//! choose the deployment's options, apply one change set or delete it, and ship code.
//!
//! `up`, `deploy-lambda`, `status` and `down` open a [`Stack`] and call it; none of them
//! knows how another builds its options, so a rule (flags, then the stack, then defaults)
//! lives here once.

use std::time::Duration;

use tokio::sync::watch;

use crate::aws::Clients;
use crate::error::service_error;
use crate::settings::Settings;
use crate::stack::deploy::{Deployed, Deployer, Event, StackState};
use crate::stack::facts::resource_facts;
use crate::stack::template::TEMPLATE;
use crate::stack::{DeployOptions, StackNames, bucket};

/// What a verb asks of the function; `None` keeps what the stack has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionChoice<'a> {
    /// Lambda's architecture name (`x86_64`, `arm64`).
    pub architecture: &'a str,
    pub memory_mb: Option<u32>,
    pub timeout_seconds: Option<u32>,
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

    /// Checks `options` against the template's own rules, before anything slow (a build)
    /// or remote (a change set) happens.
    pub fn validate(&self, options: &DeployOptions) -> anyhow::Result<()> {
        self.names.parameters(self.settings, options).validate()
    }

    /// One change set: described only with `dry_run`, else executed and watched until the
    /// stack settles, each event handed to `on_event`.
    pub async fn apply(
        &self,
        options: &DeployOptions,
        dry_run: bool,
        stop: &mut watch::Receiver<bool>,
        on_event: &mut dyn FnMut(&Event),
    ) -> anyhow::Result<Deployed> {
        let parameters = self.names.parameters(self.settings, options);
        parameters.validate()?;
        self.deployer()
            .deploy(TEMPLATE, &parameters, dry_run, stop, on_event)
            .await
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
        shards: Option<u32>,
        function: FunctionChoice<'_>,
    ) -> DeployOptions {
        let previous = |name: &str| existing.and_then(|s| s.parameter(name)).map(str::to_string);
        let previous_number = |name: &str| previous(name).and_then(|v| v.parse::<u32>().ok());
        let initial = DeployOptions::initial(chrono::Utc::now());
        DeployOptions {
            shards: shards
                .or(previous_number("ShardCount"))
                .unwrap_or(initial.shards),
            code_key: previous("CodeKey").unwrap_or(initial.code_key),
            architecture: function.architecture.to_string(),
            memory_mb: function
                .memory_mb
                .or(previous_number("FunctionMemory"))
                .unwrap_or(initial.memory_mb),
            timeout_seconds: function
                .timeout_seconds
                .or(previous_number("FunctionTimeout"))
                .unwrap_or(initial.timeout_seconds),
            projection_start: previous("ProjectionStart").unwrap_or(initial.projection_start),
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
            architecture: "arm64",
            memory_mb: None,
            timeout_seconds: Some(90),
        };
        let options = DeployOptions::chosen(Some(&stack), None, function);
        assert_eq!(options.shards, 4);
        assert_eq!(options.code_key, "lambda/abc.zip");
        assert_eq!(options.memory_mb, 512);
        assert_eq!(options.timeout_seconds, 90);
        assert_eq!(options.projection_start, "2026-01-02");
        assert_eq!(options.architecture, "arm64");
        let fresh = DeployOptions::chosen(None, Some(2), function);
        assert_eq!((fresh.shards, fresh.memory_mb), (2, 256));
        assert!(fresh.code_key.is_empty());
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
    }
}

//! Deploying the template through CloudFormation: a change set (shown, then executed), the
//! stack's events while AWS works, the first failure in one line, and deletion.
//!
//! CloudFormation orders the resources, waits for each to stabilise and rolls a failed
//! change back; this module only asks and watches, so nothing here knows a resource type.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetStatus, ChangeSetType, Parameter, StackStatus,
};
use tokio::sync::watch;

use crate::aws::ServiceResultExt;
use crate::error::{interrupted_error, service_error};
use crate::stack::template::StackParameters;

/// How long to wait for a stack to settle (a Firehose or a pipe takes minutes on AWS).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// One planned change of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedChange {
    /// Add, Modify, Remove (or Import).
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// For a Modify: True, Conditional or False.
    pub replacement: Option<String>,
}

impl PlannedChange {
    /// add, modify, replace (or "modify (may replace)"), remove: what a person needs to know.
    pub fn verb(&self) -> String {
        match (self.action.as_str(), self.replacement.as_deref()) {
            ("Modify", Some("True")) => "replace".to_string(),
            ("Modify", Some("Conditional")) => "modify (may replace)".to_string(),
            (action, _) => action.to_ascii_lowercase(),
        }
    }
}

/// What a deployment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deployed {
    /// The stack already matches the template and parameters.
    NoChanges,
    /// `--dry-run`: the change set was shown and deleted.
    Planned(Vec<PlannedChange>),
    /// Executed and settled in this status.
    Done {
        changes: Vec<PlannedChange>,
        status: String,
    },
}

/// A stack event, for the live display.
#[derive(Debug, Clone)]
pub struct Event {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

/// The stack as CloudFormation describes it now.
#[derive(Debug, Clone)]
pub struct StackState {
    pub status: String,
    pub reason: Option<String>,
    pub parameters: Vec<(String, String)>,
}

impl StackState {
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Talks to CloudFormation about one stack.
pub struct Deployer<'a> {
    pub client: &'a aws_sdk_cloudformation::Client,
    pub stack: &'a str,
    /// Time between polls (shorter against the emulator).
    pub poll: Duration,
}

impl Deployer<'_> {
    /// The stack, or `None` when there is none (or only a deleted one).
    pub async fn state(&self) -> anyhow::Result<Option<StackState>> {
        let output = self
            .client
            .describe_stacks()
            .stack_name(self.stack)
            .send()
            .await;
        let output = match output {
            Ok(output) => output,
            Err(error) if does_not_exist(&error) => return Ok(None),
            Err(error) => {
                return Err(error).service_context(|| format!("describing stack '{}'", self.stack));
            }
        };
        let Some(stack) = output.stacks.unwrap_or_default().into_iter().next() else {
            return Ok(None);
        };
        let status = stack
            .stack_status
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        if status == StackStatus::DeleteComplete.as_str() {
            return Ok(None);
        }
        Ok(Some(StackState {
            status,
            reason: stack.stack_status_reason,
            parameters: stack
                .parameters
                .unwrap_or_default()
                .into_iter()
                .filter_map(|p| Some((p.parameter_key?, p.parameter_value.unwrap_or_default())))
                .collect(),
        }))
    }

    /// Creates or updates the stack through a change set. With `dry_run` the change set is
    /// only described (and deleted); otherwise it is executed and watched until the stack
    /// settles, each event handed to `on_event`.
    pub async fn deploy(
        &self,
        template: &str,
        parameters: &StackParameters,
        dry_run: bool,
        stop: &mut watch::Receiver<bool>,
        on_event: &mut dyn FnMut(&Event),
    ) -> anyhow::Result<Deployed> {
        let existing = self.state().await?;
        let change_set_type = match &existing {
            None => ChangeSetType::Create,
            Some(state) if state.status == StackStatus::ReviewInProgress.as_str() => {
                ChangeSetType::Create
            }
            Some(state) if state.status == StackStatus::RollbackComplete.as_str() => {
                return Err(service_error(format!(
                    "stack '{}' is ROLLBACK_COMPLETE after a failed create ({}): run 'salesctl down --yes', then 'salesctl up'",
                    self.stack,
                    state.reason.as_deref().unwrap_or("see 'salesctl status'")
                )));
            }
            Some(state) if state.status.ends_with("_IN_PROGRESS") => {
                return Err(service_error(format!(
                    "stack '{}' is busy ({}): wait for it ('salesctl status'), then run this again",
                    self.stack, state.status
                )));
            }
            Some(state) => {
                if self.matches(state, template, parameters).await? {
                    return Ok(Deployed::NoChanges);
                }
                ChangeSetType::Update
            }
        };
        let name = format!("salesctl-{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"));
        let created = self
            .client
            .create_change_set()
            .stack_name(self.stack)
            .change_set_name(&name)
            .change_set_type(change_set_type.clone())
            .template_body(template)
            .set_parameters(Some(
                parameters
                    .iter()
                    .map(|(key, value)| {
                        Parameter::builder()
                            .parameter_key(key)
                            .parameter_value(value)
                            .build()
                    })
                    .collect(),
            ))
            .capabilities(Capability::CapabilityNamedIam)
            .description("salesctl up")
            .send()
            .await
            .service_context(|| format!("creating a change set for stack '{}'", self.stack))?;
        let change_set = created.id.unwrap_or(name);
        let changes = match self.wait_for_change_set(&change_set).await? {
            Some(changes) => changes,
            None => {
                self.discard(&change_set, &change_set_type).await;
                return Ok(Deployed::NoChanges);
            }
        };
        if dry_run {
            self.discard(&change_set, &change_set_type).await;
            return Ok(Deployed::Planned(changes));
        }
        let since = chrono::Utc::now() - chrono::Duration::seconds(5);
        self.client
            .execute_change_set()
            .change_set_name(&change_set)
            .stack_name(self.stack)
            .send()
            .await
            .service_context(|| format!("executing the change set of stack '{}'", self.stack))?;
        let status = self.settle(since, stop, on_event).await?;
        Ok(Deployed::Done { changes, status })
    }

    /// True when the stack already runs this template with these parameters: then there is
    /// nothing to ask CloudFormation (which would say the same, more slowly).
    async fn matches(
        &self,
        state: &StackState,
        template: &str,
        parameters: &StackParameters,
    ) -> anyhow::Result<bool> {
        let same_parameters = parameters
            .iter()
            .all(|(key, value)| state.parameter(key) == Some(value));
        if !same_parameters || state.status.contains("ROLLBACK") {
            return Ok(false);
        }
        let deployed = self
            .client
            .get_template()
            .stack_name(self.stack)
            .send()
            .await
            .service_context(|| format!("reading the template of stack '{}'", self.stack))?
            .template_body
            .unwrap_or_default();
        Ok(deployed.trim() == template.trim())
    }

    /// Deletes the stack and waits until it is gone.
    pub async fn delete(
        &self,
        stop: &mut watch::Receiver<bool>,
        on_event: &mut dyn FnMut(&Event),
    ) -> anyhow::Result<bool> {
        if self.state().await?.is_none() {
            return Ok(false);
        }
        let since = chrono::Utc::now() - chrono::Duration::seconds(5);
        self.client
            .delete_stack()
            .stack_name(self.stack)
            .send()
            .await
            .service_context(|| format!("deleting stack '{}'", self.stack))?;
        self.settle(since, stop, on_event).await?;
        Ok(true)
    }

    /// The change set's changes once it is ready; `None` when it holds no changes.
    async fn wait_for_change_set(
        &self,
        change_set: &str,
    ) -> anyhow::Result<Option<Vec<PlannedChange>>> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        loop {
            let described = self
                .client
                .describe_change_set()
                .change_set_name(change_set)
                .stack_name(self.stack)
                .send()
                .await
                .service_context(|| {
                    format!("describing the change set of stack '{}'", self.stack)
                })?;
            match described.status {
                Some(ChangeSetStatus::CreateComplete) => {
                    let changes = described
                        .changes
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|change| change.resource_change)
                        .map(|rc| PlannedChange {
                            action: rc
                                .action
                                .as_ref()
                                .map_or("?", ChangeAction::as_str)
                                .to_string(),
                            logical_id: rc.logical_resource_id.unwrap_or_default(),
                            resource_type: rc.resource_type.unwrap_or_default(),
                            replacement: rc.replacement.map(|r| r.as_str().to_string()),
                        })
                        .collect();
                    return Ok(Some(changes));
                }
                Some(ChangeSetStatus::Failed) => {
                    let reason = described.status_reason.unwrap_or_default();
                    if is_no_change(&reason) {
                        return Ok(None);
                    }
                    return Err(service_error(format!(
                        "CloudFormation refused the change for stack '{}': {reason}",
                        self.stack
                    )));
                }
                _ => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(service_error(format!(
                    "the change set of stack '{}' was not ready in 10 minutes: see the CloudFormation console",
                    self.stack
                )));
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// Removes a change set that will not be executed; for a new stack the empty stack
    /// CloudFormation made for it (REVIEW_IN_PROGRESS) goes too.
    async fn discard(&self, change_set: &str, kind: &ChangeSetType) {
        let _ = self
            .client
            .delete_change_set()
            .change_set_name(change_set)
            .stack_name(self.stack)
            .send()
            .await;
        if *kind == ChangeSetType::Create
            && let Ok(Some(state)) = self.state().await
            && state.status == StackStatus::ReviewInProgress.as_str()
        {
            let _ = self
                .client
                .delete_stack()
                .stack_name(self.stack)
                .send()
                .await;
        }
    }

    /// Follows the stack's events until its status is final; a failed or rolled-back
    /// outcome is an error naming the first resource that failed and AWS's reason.
    async fn settle(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        stop: &mut watch::Receiver<bool>,
        on_event: &mut dyn FnMut(&Event),
    ) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
        let mut seen: HashSet<String> = HashSet::new();
        let mut first_failure: Option<Event> = None;
        loop {
            for event in self.new_events(since, &mut seen).await? {
                if event.status.ends_with("_FAILED") && first_failure.is_none() {
                    first_failure = Some(event.clone());
                }
                on_event(&event);
            }
            let status = match self.state().await? {
                Some(state) => state.status,
                None => return Ok(StackStatus::DeleteComplete.as_str().to_string()),
            };
            if !status.ends_with("_IN_PROGRESS") {
                let failed = status.contains("ROLLBACK") || status.ends_with("_FAILED");
                if !failed {
                    return Ok(status);
                }
                let cause = match first_failure {
                    Some(event) => format!(
                        "{} ({}) {}: {}",
                        event.logical_id,
                        event.resource_type,
                        event.status,
                        event.reason.as_deref().unwrap_or("no reason given")
                    ),
                    None => "no resource reported a failure".to_string(),
                };
                return Err(service_error(format!(
                    "stack '{}' ended {status}: {cause}",
                    self.stack
                )));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(service_error(format!(
                    "stack '{}' is still {status} after an hour: see 'salesctl status'",
                    self.stack
                )));
            }
            tokio::select! {
                () = tokio::time::sleep(self.poll) => {}
                _ = stop.wait_for(|s| *s) => {
                    return Err(interrupted_error(format!(
                        "stopped watching; CloudFormation carries on with stack '{}' ({status}): 'salesctl status' shows where it is",
                        self.stack
                    )));
                }
            }
        }
    }

    /// Events since `since` not seen before, oldest first.
    async fn new_events(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        seen: &mut HashSet<String>,
    ) -> anyhow::Result<Vec<Event>> {
        let output = self
            .client
            .describe_stack_events()
            .stack_name(self.stack)
            .send()
            .await;
        let output = match output {
            Ok(output) => output,
            Err(error) if does_not_exist(&error) => return Ok(Vec::new()),
            Err(error) => {
                return Err(error)
                    .service_context(|| format!("reading the events of stack '{}'", self.stack));
            }
        };
        let mut events = Vec::new();
        // Newest first on the wire.
        for event in output.stack_events.unwrap_or_default() {
            let recent = event
                .timestamp
                .and_then(|t| chrono::DateTime::from_timestamp_millis(t.to_millis().ok()?))
                .is_none_or(|at| at >= since);
            if !recent || !seen.insert(event.event_id.clone().unwrap_or_default()) {
                continue;
            }
            events.push(Event {
                logical_id: event.logical_resource_id.unwrap_or_default(),
                resource_type: event.resource_type.unwrap_or_default(),
                status: event
                    .resource_status
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                reason: event.resource_status_reason,
            });
        }
        events.reverse();
        Ok(events)
    }
}

/// CloudFormation's words for "nothing to change" (AWS and the emulator say it alike).
pub fn is_no_change(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

fn does_not_exist<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(error: &E) -> bool {
    error
        .message()
        .is_some_and(|m| m.contains("does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacement_says_so() {
        let change = |action: &str, replacement: Option<&str>| PlannedChange {
            action: action.into(),
            logical_id: "CdcPipe".into(),
            resource_type: "AWS::Pipes::Pipe".into(),
            replacement: replacement.map(str::to_string),
        };
        assert_eq!(change("Add", None).verb(), "add");
        assert_eq!(change("Modify", Some("True")).verb(), "replace");
        assert_eq!(change("Modify", Some("False")).verb(), "modify");
        assert_eq!(
            change("Modify", Some("Conditional")).verb(),
            "modify (may replace)"
        );
    }

    #[test]
    fn no_change_is_recognised_in_both_wordings() {
        assert!(is_no_change(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(is_no_change("No updates are to be performed."));
        assert!(!is_no_change("Parameter 'Prefix' must match pattern"));
    }
}

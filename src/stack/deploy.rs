//! Deploying the template through CloudFormation: a change set (shown, then executed), the
//! stack's events while AWS works, the first failure in one line, and deletion.
//!
//! CloudFormation orders the resources, waits for each to stabilise and rolls a failed
//! change back; this module only asks and watches, so nothing here knows a resource type.

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_cloudformation::types::{
    Capability, ChangeAction, ChangeSetStatus, ChangeSetType, Parameter, ResourceToImport,
    StackStatus,
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

    /// True for the empty stack CloudFormation makes for a new stack's first change set:
    /// nothing is built yet.
    pub fn is_under_review(&self) -> bool {
        self.status == StackStatus::ReviewInProgress.as_str()
    }
}

/// Why a stack in `state` cannot take a change set now, and what to do: one line, or `None`
/// when it can. The advice never deletes data: a stack that must go is removed with
/// `--keep-data`, and the next `up` brings the kept bucket back.
pub fn refusal(stack: &str, state: &StackState) -> Option<String> {
    let reason = state
        .reason
        .as_deref()
        .map(|r| r.replace('\n', " "))
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| "'salesctl status' shows the failed resource".to_string());
    let remove = "'salesctl down --yes --keep-data' (the bucket and its data stay)";
    let status = state.status.as_str();
    Some(match status {
        "ROLLBACK_COMPLETE" => format!(
            "stack '{stack}' is ROLLBACK_COMPLETE: its creation failed and was rolled back ({reason}); fix that cause, remove the empty stack with {remove}, then run 'salesctl up' again"
        ),
        "ROLLBACK_FAILED" => format!(
            "stack '{stack}' is ROLLBACK_FAILED: its creation failed and so did the rollback ({reason}); fix that cause, remove the stack with {remove}, then run 'salesctl up' again"
        ),
        "DELETE_FAILED" => format!(
            "stack '{stack}' is DELETE_FAILED: a delete did not finish and some resources are gone ({reason}); fix that cause and finish the delete with {remove}, then 'salesctl up' creates the stack again"
        ),
        "UPDATE_ROLLBACK_FAILED" => format!(
            "stack '{stack}' is UPDATE_ROLLBACK_FAILED: an update failed and so did its rollback ({reason}); fix that cause, run 'aws cloudformation continue-update-rollback --stack-name {stack}' (add '--resources-to-skip ID' for a resource that cannot be fixed), and once 'salesctl status' shows UPDATE_ROLLBACK_COMPLETE run 'salesctl up' again"
        ),
        _ if status.ends_with("_IN_PROGRESS")
            && status != StackStatus::ReviewInProgress.as_str() =>
        {
            format!(
                "stack '{stack}' is busy ({status}): wait for it ('salesctl status'), then run this again"
            )
        }
        _ => return None,
    })
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
        let described = self
            .client
            .describe_stacks()
            .stack_name(self.stack)
            .send()
            .await;
        let Some(output) = unless_gone(described, || format!("describing stack '{}'", self.stack))?
        else {
            return Ok(None);
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
            Some(state) if state.is_under_review() => ChangeSetType::Create,
            Some(state) => {
                if let Some(problem) = refusal(self.stack, state) {
                    return Err(service_error(problem));
                }
                if self.matches(state, template, parameters).await? {
                    return Ok(Deployed::NoChanges);
                }
                ChangeSetType::Update
            }
        };
        self.change_set(
            change_set_type,
            template,
            parameters,
            None,
            dry_run,
            stop,
            on_event,
        )
        .await
    }

    /// Creates a new stack holding only `resource`, an existing bucket named `bucket`, through
    /// an IMPORT change set (CloudFormation adopts it: nothing is created or changed). The
    /// template must declare that resource alone, with a DeletionPolicy.
    #[allow(clippy::too_many_arguments)]
    pub async fn import_bucket(
        &self,
        template: &str,
        parameters: &StackParameters,
        resource: &str,
        bucket: &str,
        dry_run: bool,
        stop: &mut watch::Receiver<bool>,
        on_event: &mut dyn FnMut(&Event),
    ) -> anyhow::Result<Deployed> {
        let import = ResourceToImport::builder()
            .resource_type("AWS::S3::Bucket")
            .logical_resource_id(resource)
            .resource_identifier("BucketName", bucket)
            .build();
        self.change_set(
            ChangeSetType::Import,
            template,
            parameters,
            Some(import),
            dry_run,
            stop,
            on_event,
        )
        .await
    }

    /// One change set of `kind`: described, then deleted (`dry_run`) or executed and watched.
    /// A change set that cannot be executed is deleted with the empty stack it made.
    #[allow(clippy::too_many_arguments)]
    async fn change_set(
        &self,
        change_set_type: ChangeSetType,
        template: &str,
        parameters: &StackParameters,
        import: Option<ResourceToImport>,
        dry_run: bool,
        stop: &mut watch::Receiver<bool>,
        on_event: &mut dyn FnMut(&Event),
    ) -> anyhow::Result<Deployed> {
        let name = format!("salesctl-{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"));
        let created = self
            .client
            .create_change_set()
            .stack_name(self.stack)
            .change_set_name(&name)
            .change_set_type(change_set_type.clone())
            .set_resources_to_import(import.map(|i| vec![i]))
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
        let changes = match self.wait_for_change_set(&change_set).await {
            Ok(Some(changes)) => changes,
            Ok(None) => {
                self.discard(&change_set, &change_set_type).await;
                return Ok(Deployed::NoChanges);
            }
            Err(error) => {
                self.discard(&change_set, &change_set_type).await;
                return Err(error);
            }
        };
        if dry_run {
            self.discard(&change_set, &change_set_type).await;
            return Ok(Deployed::Planned(changes));
        }
        let since = chrono::Utc::now() - chrono::Duration::seconds(5);
        let executed = self
            .client
            .execute_change_set()
            .change_set_name(&change_set)
            .stack_name(self.stack)
            .send()
            .await
            .service_context(|| format!("executing the change set of stack '{}'", self.stack));
        if let Err(error) = executed {
            self.discard(&change_set, &change_set_type).await;
            return Err(error);
        }
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
        self.request_deletion().await?;
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

    /// After a failed import into a new stack: that stack holds nothing (the import was rolled
    /// back, and the bucket's DeletionPolicy is Retain either way), so it is deleted and the
    /// next `up` starts over instead of meeting a stack without its bucket.
    pub async fn forget_failed_import(&self) {
        let empty = |status: &str| {
            status == StackStatus::ImportRollbackComplete.as_str()
                || status == StackStatus::ReviewInProgress.as_str()
        };
        if let Ok(Some(state)) = self.state().await
            && empty(&state.status)
        {
            let _ = self.request_deletion().await;
        }
    }

    /// Asks CloudFormation to delete the stack, without waiting.
    async fn request_deletion(&self) -> anyhow::Result<()> {
        self.client
            .delete_stack()
            .stack_name(self.stack)
            .send()
            .await
            .service_context(|| format!("deleting stack '{}'", self.stack))?;
        Ok(())
    }

    /// Removes a change set that will not be executed; for a new stack the empty stack
    /// CloudFormation made for it (REVIEW_IN_PROGRESS) goes too.
    async fn discard(&self, change_set: &str, kind: &ChangeSetType) {
        let new_stack = matches!(kind, ChangeSetType::Create | ChangeSetType::Import);
        let _ = self
            .client
            .delete_change_set()
            .change_set_name(change_set)
            .stack_name(self.stack)
            .send()
            .await;
        if new_stack
            && let Ok(Some(state)) = self.state().await
            && state.is_under_review()
        {
            let _ = self.request_deletion().await;
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
        let listed = self
            .client
            .describe_stack_events()
            .stack_name(self.stack)
            .send()
            .await;
        let Some(output) = unless_gone(listed, || {
            format!("reading the events of stack '{}'", self.stack)
        })?
        else {
            return Ok(Vec::new());
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

/// The output of a call about the stack; `None` when the stack does not exist, and any
/// other error as a service error saying `what` was being done.
fn unless_gone<T, E>(
    result: Result<T, E>,
    what: impl FnOnce() -> String,
) -> anyhow::Result<Option<T>>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + aws_sdk_cloudformation::operation::RequestId
        + std::error::Error,
{
    match result {
        Err(error) if does_not_exist(&error) => Ok(None),
        result => result.service_context(what).map(Some),
    }
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

    fn state(status: &str, reason: Option<&str>) -> StackState {
        StackState {
            status: status.into(),
            reason: reason.map(str::to_string),
            parameters: Vec::new(),
        }
    }

    #[test]
    fn a_stack_that_needs_a_hand_first_is_refused_with_what_to_do() {
        let delete_failed = refusal(
            "blue",
            &state(
                "DELETE_FAILED",
                Some("The following resource(s) failed to delete: [CdcStream]."),
            ),
        )
        .expect("DELETE_FAILED is not 'no changes'");
        assert!(delete_failed.contains("DELETE_FAILED"), "{delete_failed}");
        assert!(delete_failed.contains("[CdcStream]"), "{delete_failed}");
        assert!(
            delete_failed.contains("'salesctl down --yes --keep-data'"),
            "{delete_failed}"
        );
        let rolled_back = refusal("blue", &state("ROLLBACK_COMPLETE", None)).unwrap();
        assert!(
            rolled_back.contains("--keep-data") && rolled_back.contains("'salesctl status'"),
            "never advises deleting the bucket: {rolled_back}"
        );
        let stuck = refusal("blue", &state("UPDATE_ROLLBACK_FAILED", Some("a\nb"))).unwrap();
        assert!(
            stuck.contains("continue-update-rollback --stack-name blue"),
            "{stuck}"
        );
        assert!(!stuck.contains('\n'), "one line: {stuck}");
        for problem in [delete_failed, rolled_back, stuck] {
            assert!(
                !problem.contains("'salesctl down --yes'"),
                "never advises deleting kept data: {problem}"
            );
        }
        assert!(
            refusal("blue", &state("UPDATE_IN_PROGRESS", None))
                .unwrap()
                .contains("busy")
        );
        for fine in [
            "CREATE_COMPLETE",
            "UPDATE_COMPLETE",
            "UPDATE_ROLLBACK_COMPLETE",
            "IMPORT_COMPLETE",
            "REVIEW_IN_PROGRESS",
        ] {
            assert_eq!(refusal("blue", &state(fine, None)), None, "{fine}");
        }
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

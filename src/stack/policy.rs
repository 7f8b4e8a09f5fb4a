//! The IAM policy the operator needs to run salesctl against this stack (`salesctl policy`):
//! exact actions, resources named after the stack's own names, built as data.
//!
//! `operator-policy.json` holds the statements (checked offline by parliament, IAM's action
//! catalogue, in `scripts/check-aws-rules`), with `${Name}` placeholders only inside resource
//! ARNs. It is read into a [`PolicyDocument`]; every name first passes the rules `up` applies
//! (the template's AllowedPattern and lengths), each ARN is then filled one string at a time,
//! and the document is serialized, never spliced as text: a name can neither leave its string
//! nor widen an ARN with a wildcard.

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{config_error, service_error, usage_error};
use crate::stack::StackNames;
use crate::stack::template::StackParameters;

const POLICY: &str = include_str!("operator-policy.json");

/// IAM's limits on a policy document, in characters without whitespace (IAM and AWS STS
/// quotas): a customer managed policy, and the sum of a role's, a group's and a user's
/// inline policies.
pub const MANAGED_POLICY_LIMIT: usize = 6_144;
pub const ROLE_INLINE_LIMIT: usize = 10_240;
pub const GROUP_INLINE_LIMIT: usize = 5_120;
pub const USER_INLINE_LIMIT: usize = 2_048;
/// Managed policies one role, user or group takes by default (20 with a quota increase).
pub const MANAGED_POLICIES_PER_IDENTITY: usize = 10;

/// An identity policy: `Version` and its statements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PolicyDocument {
    pub version: String,
    pub statement: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// Condition operator (`StringEquals`) -> condition key -> value.
pub type Condition = BTreeMap<String, BTreeMap<String, String>>;

/// One statement; actions and resources are always lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Statement {
    pub sid: String,
    pub effect: Effect,
    pub action: Vec<String>,
    pub resource: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

impl PolicyDocument {
    /// The size IAM holds against its limits: characters, whitespace not counted.
    pub fn size(&self) -> usize {
        serde_json::to_string(self)
            .expect("a policy document serializes")
            .chars()
            .filter(|c| !c.is_whitespace())
            .count()
    }

    fn with_statements(&self, statement: Vec<Statement>) -> PolicyDocument {
        PolicyDocument {
            version: self.version.clone(),
            statement,
        }
    }

    /// The statements as documents of at most `limit` characters each, in order; a statement
    /// too big alone is cut into statements with fewer actions (`Sid1`, `Sid2`, ...).
    pub fn split(&self, limit: usize) -> anyhow::Result<Vec<PolicyDocument>> {
        let mut parts: Vec<PolicyDocument> = Vec::new();
        for statement in &self.statement {
            for piece in self.pieces(statement, limit)? {
                let fits_last = parts.last().is_some_and(|last| {
                    let mut grown = last.statement.clone();
                    grown.push(piece.clone());
                    self.with_statements(grown).size() <= limit
                });
                match parts.last_mut() {
                    Some(last) if fits_last => last.statement.push(piece),
                    _ => parts.push(self.with_statements(vec![piece])),
                }
            }
        }
        Ok(parts)
    }

    /// `statement` whole if it fits a document of `limit` alone, else its actions halved
    /// until each part does.
    fn pieces(&self, statement: &Statement, limit: usize) -> anyhow::Result<Vec<Statement>> {
        fn halves(
            doc: &PolicyDocument,
            s: Statement,
            limit: usize,
            out: &mut Vec<Statement>,
        ) -> anyhow::Result<()> {
            if doc.with_statements(vec![s.clone()]).size() <= limit {
                out.push(s);
                return Ok(());
            }
            if s.action.len() < 2 {
                return Err(service_error(format!(
                    "internal: statement {} is over {limit} characters with one action",
                    s.sid
                )));
            }
            let mut second = s.clone();
            let mut first = s;
            second.action = first.action.split_off(first.action.len() / 2);
            halves(doc, first, limit, out)?;
            halves(doc, second, limit, out)
        }
        let mut out = Vec::new();
        halves(self, statement.clone(), limit, &mut out)?;
        if out.len() > 1 {
            for (n, piece) in out.iter_mut().enumerate() {
                piece.sid = format!("{}{}", statement.sid, n + 1);
            }
        }
        Ok(out)
    }
}

/// The ARN partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The stack's names as the template's parameters, checked with the rules `up` applies (the
/// first violation is a usage error naming the flag to fix). Names only: the account and
/// region are checked by [`operator_policy`].
pub fn check_names(names: &StackNames) -> anyhow::Result<()> {
    let mut parameters = StackParameters::default();
    parameters
        .set("Prefix", &names.prefix)
        .set("TableName", &names.table)
        .set("StreamName", &names.stream)
        .set("BucketName", &names.bucket)
        .set("PipeName", &names.pipe)
        .set("DeliveryStreamName", &names.firehose)
        .set("FunctionName", &names.lambda)
        .set("GlueDatabaseName", &names.glue_database)
        .set("WorkgroupName", &names.workgroup);
    parameters.validate()
}

/// The account and region as they go into ARNs: twelve digits, and a region name (or an
/// emulator's region label) of lowercase letters, digits and '-'.
fn check_account_and_region(names: &StackNames) -> anyhow::Result<()> {
    let account = Regex::new(r"^[0-9]{12}$").expect("the account pattern is valid");
    if !account.is_match(&names.account) {
        return Err(service_error(format!(
            "the account id {:?} the credentials belong to is not 12 digits: the policy names it in every ARN",
            names.account
        )));
    }
    let region =
        Regex::new(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$").expect("the region pattern is valid");
    if !region.is_match(&names.region) {
        return Err(config_error(format!(
            "region {:?} cannot be named in an ARN (lowercase letters, digits and '-'): pass --region like us-east-1",
            names.region
        )));
    }
    Ok(())
}

/// `${Name}` in `template` replaced from `values`; an unknown or unclosed placeholder is an
/// internal error.
fn fill(template: &str, values: &[(&str, &str)]) -> anyhow::Result<String> {
    let mut filled = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find("${") {
        filled.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after.find('}').ok_or_else(|| {
            service_error(format!(
                "internal: an unclosed placeholder in the operator policy's {template:?}"
            ))
        })?;
        let name = &after[..end];
        let value = values
            .iter()
            .find_map(|(key, value)| (*key == name).then_some(*value))
            .ok_or_else(|| {
                service_error(format!(
                    "internal: the operator policy has an unknown placeholder ${{{name}}}"
                ))
            })?;
        filled.push_str(value);
        rest = &after[end + 1..];
    }
    filled.push_str(rest);
    Ok(filled)
}

/// The statements as `operator-policy.json` declares them, placeholders unfilled.
pub fn policy_template() -> anyhow::Result<PolicyDocument> {
    serde_json::from_str(POLICY)
        .map_err(|e| service_error(format!("internal: operator-policy.json: {e}")))
}

/// The operator policy for `names`, which are checked first (see [`check_names`]).
pub fn operator_policy(names: &StackNames) -> anyhow::Result<PolicyDocument> {
    check_names(names)?;
    check_account_and_region(names)?;
    if names.bucket.is_empty() {
        return Err(usage_error("the lake bucket has no name: pass --bucket"));
    }
    let values = [
        ("Partition", partition_of(&names.region)),
        ("Region", names.region.as_str()),
        ("Account", names.account.as_str()),
        ("Prefix", names.prefix.as_str()),
        ("TableName", names.table.as_str()),
        ("StreamName", names.stream.as_str()),
        ("BucketName", names.bucket.as_str()),
        ("PipeName", names.pipe.as_str()),
        ("DeliveryStreamName", names.firehose.as_str()),
        ("FunctionName", names.lambda.as_str()),
        ("GlueDatabaseName", names.glue_database.as_str()),
        ("WorkgroupName", names.workgroup.as_str()),
    ];
    let mut policy = policy_template()?;
    for statement in &mut policy.statement {
        for resource in &mut statement.resource {
            *resource = fill(resource, &values)?;
        }
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn names(prefix: &str) -> StackNames {
        StackNames::new(
            &Settings::with_prefix(prefix),
            "123456789012",
            "eu-west-1",
            &format!("{prefix}-lake-123456789012-eu-west-1"),
        )
    }

    #[test]
    fn every_placeholder_is_filled_and_no_action_is_a_wildcard() {
        let policy = operator_policy(&names("blue")).expect("fills");
        let text = serde_json::to_string(&policy).unwrap();
        assert!(text.contains("arn:aws:cloudformation:eu-west-1:123456789012:stack/blue/*"));
        assert!(text.contains("blue-orders"));
        assert!(!text.contains("${"), "{text}");
        for statement in &policy.statement {
            for action in &statement.action {
                assert!(!action.contains('*'), "{action}");
            }
        }
    }

    #[test]
    fn placeholders_are_only_in_resources_and_the_file_is_the_typed_shape() {
        // deny_unknown_fields: a NotAction, a misspelt key or a string where a list is
        // meant fails here, not in IAM.
        let template = policy_template().expect("operator-policy.json is a PolicyDocument");
        assert_eq!(template.version, "2012-10-17");
        let mut sids = std::collections::BTreeSet::new();
        for s in &template.statement {
            assert!(sids.insert(s.sid.clone()), "duplicate Sid {}", s.sid);
            assert!(
                s.sid.chars().all(|c| c.is_ascii_alphanumeric()),
                "{}",
                s.sid
            );
            assert_eq!(s.effect, Effect::Allow);
            let elsewhere = format!("{}{:?}{:?}", s.sid, s.action, s.condition);
            assert!(!elsewhere.contains("${"), "{elsewhere}");
            assert!(!s.action.is_empty() && !s.resource.is_empty(), "{}", s.sid);
        }
    }

    #[test]
    fn a_name_that_would_be_json_or_a_wildcard_is_refused_as_up_refuses_it() {
        for (field, bad) in [
            (
                "bucket",
                r#"x", "Action": "*", "Resource": "*", "Sid": "Admin"#,
            ),
            ("bucket", "b*"),
            ("table", "orders*"),
            ("table", "t\"x"),
            ("stream", "cdc/../*"),
            ("workgroup", "w?"),
            ("lambda", "f:*"),
            ("glue_database", "Db"),
            ("prefix", "Blue"),
        ] {
            let mut n = names("blue");
            match field {
                "bucket" => n.bucket = bad.to_string(),
                "table" => n.table = bad.to_string(),
                "stream" => n.stream = bad.to_string(),
                "workgroup" => n.workgroup = bad.to_string(),
                "lambda" => n.lambda = bad.to_string(),
                "glue_database" => n.glue_database = bad.to_string(),
                _ => n.prefix = bad.to_string(),
            }
            let error = operator_policy(&n).expect_err(bad);
            let text = error.to_string();
            assert!(!text.contains('\n'), "one line: {text}");
            assert!(text.contains("does not match"), "{text}");
            assert_eq!(crate::error::exit_status_of(&error).0, 2, "{text}");
        }
        let mut n = names("blue");
        n.account = "123\"".to_string();
        assert!(operator_policy(&n).is_err());
        let mut n = names("blue");
        n.region = "eu-west-1:*".to_string();
        assert!(operator_policy(&n).is_err());
    }

    #[test]
    fn a_hostile_value_stays_inside_its_string() {
        // Even past validation, filling is per string: the value cannot become structure.
        let filled = fill(
            "arn:aws:s3:::${BucketName}",
            &[("BucketName", r#"x", "Sid": "A"#)],
        )
        .unwrap();
        let statement = Statement {
            sid: "S".into(),
            effect: Effect::Allow,
            action: vec!["s3:ListBucket".into()],
            resource: vec![filled],
            condition: None,
        };
        let json: serde_json::Value = serde_json::to_value(&statement).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 4, "{json}");
        assert!(fill("${Nope}", &[]).is_err());
        assert!(fill("${Open", &[]).is_err());
    }

    #[test]
    fn the_policy_fits_a_role_and_splits_into_managed_policies_that_fit() {
        // The longest names the template allows for the names in the most ARNs.
        let mut settings = Settings::with_prefix(&"p".repeat(29));
        settings.table = "t".repeat(255);
        settings.lambda = "f".repeat(64);
        settings.firehose = "d".repeat(64);
        settings.pipe = "q".repeat(60);
        settings.glue_database = "g".repeat(255);
        settings.workgroup = "w".repeat(128);
        settings.stream = "s".repeat(128);
        let long = StackNames::new(&settings, "123456789012", "us-gov-west-1", &"b".repeat(63));
        for names in [names("salesctl"), long] {
            let policy = operator_policy(&names).unwrap();
            let parts = policy.split(MANAGED_POLICY_LIMIT).unwrap();
            assert!(parts.len() >= 2, "{} characters", policy.size());
            assert!(parts.len() <= MANAGED_POLICIES_PER_IDENTITY);
            for part in &parts {
                assert!(part.size() <= MANAGED_POLICY_LIMIT, "{}", part.size());
                assert_eq!(part.version, policy.version);
            }
            // Nothing lost, nothing added, order kept.
            let joined: Vec<Statement> = parts.into_iter().flat_map(|p| p.statement).collect();
            assert_eq!(joined, policy.statement);
        }
        let default = operator_policy(&names("salesctl")).unwrap();
        assert!(default.size() <= ROLE_INLINE_LIMIT, "{}", default.size());
        assert!(default.size() > GROUP_INLINE_LIMIT);
    }

    #[test]
    fn a_statement_too_big_alone_is_cut_by_actions() {
        let policy = operator_policy(&names("blue")).unwrap();
        let parts = policy.split(900).unwrap();
        let pieces: Vec<&Statement> = parts.iter().flat_map(|p| &p.statement).collect();
        assert!(pieces.iter().any(|s| s.sid == "LakeBucket1"), "{pieces:?}");
        for part in &parts {
            assert!(part.size() <= 900, "{}", part.size());
        }
        let actions = |sid: &str| -> Vec<String> {
            pieces
                .iter()
                .filter(|s| s.sid.starts_with(sid) && s.sid[sid.len()..].parse::<u32>().is_ok())
                .flat_map(|s| s.action.clone())
                .collect()
        };
        let whole = policy
            .statement
            .iter()
            .find(|s| s.sid == "LakeBucket")
            .unwrap();
        assert_eq!(actions("LakeBucket"), whole.action);
        assert!(policy.split(10).is_err(), "one action cannot be cut");
    }
}

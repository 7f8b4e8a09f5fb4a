//! The IAM policy the operator needs to run salesctl against this stack (`salesctl policy`),
//! from `operator-policy.json`: exact actions, resources named after the stack's own names.
//!
//! The file is checked offline by parliament (IAM's action catalogue) in `scripts/test`; here
//! it only gets the account, region and names filled in.

use crate::error::service_error;
use crate::stack::StackNames;

const POLICY: &str = include_str!("operator-policy.json");

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

/// The operator policy for `names`, as JSON.
pub fn operator_policy(names: &StackNames) -> anyhow::Result<serde_json::Value> {
    let filled = [
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
    ]
    .iter()
    .fold(POLICY.to_string(), |text, (name, value)| {
        text.replace(&format!("${{{name}}}"), value)
    });
    if let Some(at) = filled.find("${") {
        return Err(service_error(format!(
            "internal: the operator policy has an unknown placeholder near {:?}",
            &filled[at..filled.len().min(at + 30)]
        )));
    }
    Ok(serde_json::from_str(&filled)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    #[test]
    fn every_placeholder_is_filled_and_no_action_is_a_wildcard() {
        let names = StackNames::new(
            &Settings::with_prefix("blue"),
            "123456789012",
            "eu-west-1",
            "blue-lake-123456789012-eu-west-1",
        );
        let policy = operator_policy(&names).expect("fills");
        let text = policy.to_string();
        assert!(text.contains("arn:aws:cloudformation:eu-west-1:123456789012:stack/blue/*"));
        assert!(text.contains("blue-orders"));
        for statement in policy["Statement"].as_array().unwrap() {
            for action in statement["Action"].as_array().unwrap() {
                assert!(!action.as_str().unwrap().contains('*'), "{action}");
            }
        }
    }
}

//! The stack's IAM documents, pure: trust policies naming one service principal and inline
//! policies naming exact actions on exact resource ARNs, so nothing grants FullAccess.

use serde_json::{Value, json};

use super::StackNames;

/// The service a role is for; each gets the confused-deputy guard its documentation shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Pipes,
    Firehose,
    Lambda,
}

impl Service {
    pub fn principal(self) -> &'static str {
        match self {
            Service::Pipes => "pipes.amazonaws.com",
            Service::Firehose => "firehose.amazonaws.com",
            Service::Lambda => "lambda.amazonaws.com",
        }
    }
}

/// Trust policy letting one AWS service assume the role on behalf of this account only:
/// Pipes checks `aws:SourceAccount`, Firehose passes the account as external id; Lambda
/// documents neither for execution roles, so its trust names the principal alone.
pub fn trust_policy(service: Service, account: &str) -> Value {
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": { "Service": service.principal() },
        "Action": "sts:AssumeRole"
    });
    let condition = match service {
        Service::Pipes => Some(json!({ "StringEquals": { "aws:SourceAccount": account } })),
        Service::Firehose => Some(json!({ "StringEquals": { "sts:ExternalId": account } })),
        Service::Lambda => None,
    };
    if let (Some(condition), Some(map)) = (condition, statement.as_object_mut()) {
        map.insert("Condition".to_string(), condition);
    }
    json!({ "Version": "2012-10-17", "Statement": [statement] })
}

/// The pipe reads the table's stream and writes into the Kinesis stream. `stream_arn` is
/// the table's current stream ARN (it changes when the table is recreated).
pub fn pipe_policy(names: &StackNames, table_stream_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTableStream",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator"
                ],
                "Resource": [table_stream_arn]
            },
            {
                "Sid": "WriteKinesis",
                "Effect": "Allow",
                "Action": ["kinesis:PutRecord", "kinesis:PutRecords"],
                "Resource": [names.stream_arn()]
            }
        ]
    })
}

/// Firehose reads Kinesis, invokes the transform (any published version of it, since
/// `deploy-lambda` repoints it at each new one), writes the bucket and logs delivery errors.
pub fn firehose_policy(names: &StackNames) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadKinesis",
                "Effect": "Allow",
                "Action": [
                    "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary",
                    "kinesis:GetShardIterator",
                    "kinesis:GetRecords",
                    "kinesis:ListShards"
                ],
                "Resource": [names.stream_arn()]
            },
            {
                "Sid": "WriteLake",
                "Effect": "Allow",
                "Action": [
                    "s3:AbortMultipartUpload",
                    "s3:GetBucketLocation",
                    "s3:GetObject",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                    "s3:PutObject"
                ],
                "Resource": [names.bucket_arn(), format!("{}/*", names.bucket_arn())]
            },
            {
                "Sid": "InvokeTransform",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                "Resource": [names.function_arn(), format!("{}:*", names.function_arn())]
            },
            {
                "Sid": "DeliveryErrorLogs",
                "Effect": "Allow",
                "Action": ["logs:PutLogEvents"],
                "Resource": [format!("{}:log-stream:*", names.log_group_arn(&names.firehose_log_group()))]
            }
        ]
    })
}

/// The transform may only create and write its own log group.
pub fn lambda_policy(names: &StackNames) -> Value {
    let group = names.log_group_arn(&names.lambda_log_group());
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CreateOwnLogGroup",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup"],
                "Resource": [format!("{group}:*")]
            },
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [format!("{group}:log-stream:*")]
            }
        ]
    })
}

/// Every action named by a policy document (string or list form).
pub fn actions(policy: &Value) -> Vec<String> {
    field_strings(policy, "Action")
}

/// Every resource named by a policy document (string or list form).
pub fn resources(policy: &Value) -> Vec<String> {
    field_strings(policy, "Resource")
}

fn field_strings(policy: &Value, field: &str) -> Vec<String> {
    let statements = match policy.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(single) => vec![single.clone()],
        None => Vec::new(),
    };
    statements
        .iter()
        .filter_map(|s| s.get(field))
        .flat_map(|v| match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// Why a policy is broader than it should be, if it is: a wildcard in an action, or a
/// resource that is not an ARN or has a wildcard anywhere but the one trailing segment AWS
/// needs for objects (`bucket/*`), log streams (`…:log-stream:*`, `…:*`) and versions.
pub fn breadth_problem(policy: &Value) -> Option<String> {
    if let Some(action) = actions(policy).into_iter().find(|a| a.contains('*')) {
        return Some(format!("wildcard action '{action}'"));
    }
    resources(policy).into_iter().find_map(|resource| {
        let body = resource
            .strip_suffix(":*")
            .or_else(|| resource.strip_suffix("/*"))
            .unwrap_or(&resource);
        let scoped =
            resource.starts_with("arn:") && !body.contains('*') && body.split(':').count() >= 6;
        (!scoped).then(|| format!("unscoped resource '{resource}'"))
    })
}

/// IAM returns policy documents URL-encoded (RFC 3986); emulators often do not. Decoding
/// an already-plain document leaves it unchanged unless it contains '%', which JSON policy
/// documents written by this tool never do.
pub fn decode_policy_document(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits fit a byte.
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> StackNames {
        StackNames::new(
            &crate::settings::Settings::with_prefix("salesctl"),
            "123456789012",
            "eu-west-1",
            "lake-b",
        )
    }

    const STREAM: &str = "arn:aws:dynamodb:eu-west-1:123456789012:table/salesctl-orders/stream/2024-01-01T00:00:00.000";

    #[test]
    fn no_policy_has_a_wildcard_action_or_an_unscoped_resource() {
        let n = names();
        for policy in [
            pipe_policy(&n, STREAM),
            firehose_policy(&n),
            lambda_policy(&n),
        ] {
            assert_eq!(breadth_problem(&policy), None, "{policy}");
            assert!(!actions(&policy).is_empty());
            for resource in resources(&policy) {
                assert!(resource.starts_with("arn:aws:"), "{resource}");
                assert_ne!(resource, "*");
            }
        }
    }

    #[test]
    fn the_breadth_check_catches_broad_documents() {
        let broad = json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b"}]});
        assert_eq!(
            breadth_problem(&broad).as_deref(),
            Some("wildcard action 's3:*'")
        );
        let any =
            json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}});
        assert_eq!(
            breadth_problem(&any).as_deref(),
            Some("unscoped resource '*'")
        );
        let mid = json!({"Statement": [{"Action": ["logs:PutLogEvents"], "Resource": ["arn:aws:logs:*:1:log-group:x"]}]});
        assert!(breadth_problem(&mid).is_some());
    }

    #[test]
    fn policies_name_the_exact_arns() {
        let n = names();
        let pipe = pipe_policy(&n, STREAM);
        assert_eq!(
            resources(&pipe),
            vec![
                STREAM.to_string(),
                "arn:aws:kinesis:eu-west-1:123456789012:stream/salesctl-cdc".to_string()
            ]
        );
        assert_eq!(
            actions(&pipe),
            [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "kinesis:PutRecord",
                "kinesis:PutRecords"
            ]
        );
        let firehose = firehose_policy(&n);
        let res = resources(&firehose);
        assert!(res.contains(&"arn:aws:s3:::lake-b".to_string()));
        assert!(res.contains(&"arn:aws:s3:::lake-b/*".to_string()));
        assert!(res.contains(
            &"arn:aws:lambda:eu-west-1:123456789012:function:salesctl-transform".to_string()
        ));
        assert!(res.contains(
            &"arn:aws:lambda:eu-west-1:123456789012:function:salesctl-transform:*".to_string()
        ));
        let lambda = lambda_policy(&n);
        assert_eq!(
            resources(&lambda),
            [
                "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/salesctl-transform:*",
                "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/salesctl-transform:log-stream:*"
            ]
        );
    }

    #[test]
    fn trust_policies_name_one_service_and_the_account() {
        let t = trust_policy(Service::Pipes, "123456789012");
        assert_eq!(
            t["Statement"][0]["Principal"]["Service"],
            "pipes.amazonaws.com"
        );
        assert_eq!(t["Statement"][0]["Action"], "sts:AssumeRole");
        assert_eq!(
            t["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"],
            "123456789012"
        );
        let t = trust_policy(Service::Firehose, "123456789012");
        assert_eq!(
            t["Statement"][0]["Principal"]["Service"],
            "firehose.amazonaws.com"
        );
        assert_eq!(
            t["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"],
            "123456789012"
        );
        let t = trust_policy(Service::Lambda, "123456789012");
        assert_eq!(
            t["Statement"][0]["Principal"]["Service"],
            "lambda.amazonaws.com"
        );
        assert!(t["Statement"][0].get("Condition").is_none());
    }

    #[test]
    fn url_encoded_documents_decode() {
        assert_eq!(
            decode_policy_document("%7B%22a%22%3A%20%22b%22%7D"),
            "{\"a\": \"b\"}"
        );
        assert_eq!(decode_policy_document("{\"a\":1}"), "{\"a\":1}");
        assert_eq!(decode_policy_document("100%"), "100%");
    }
}

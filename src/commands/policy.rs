//! `salesctl policy`: the least-privilege IAM policy an operator needs for this stack (its
//! account, region and names filled in), ready for `aws iam put-role-policy`.

use serde_json::Value;

use crate::context::Context;
use crate::error::ExitStatus;
use crate::render::{Cell, OutputFormat, Table};
use crate::stack::StackNames;
use crate::stack::policy::operator_policy;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// The policy document as IAM takes it (JSON, the default and `-o json`), or, with
/// `-o table|csv`, one row per statement for reading what it grants.
pub async fn run(ctx: &Context, _args: Args) -> anyhow::Result<ExitStatus> {
    let aws = ctx.aws().await?;
    let names = StackNames::resolve(aws, &ctx.settings).await?;
    let policy = operator_policy(&names)?;
    match ctx.requested_output {
        // The document as IAM takes it.
        None | Some(OutputFormat::Json) => {
            ctx.out().text(&serde_json::to_string_pretty(&policy)?)?
        }
        Some(_) => ctx.out().table(&statements(&policy))?,
    }
    Ok(ExitStatus::SUCCESS)
}

/// One row per statement: its id, effect, actions, resources and condition keys.
fn statements(policy: &Value) -> Table {
    // IAM allows a string or a list wherever a list is meant.
    let list = |value: &Value| match value {
        Value::String(one) => one.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    let mut table = Table::new(["sid", "effect", "actions", "resources", "condition"]);
    for statement in policy["Statement"].as_array().into_iter().flatten() {
        let condition = statement
            .get("Condition")
            .map(|c| c.to_string())
            .unwrap_or_default();
        table.push(vec![
            Cell::text(statement["Sid"].as_str().unwrap_or_default()),
            Cell::text(statement["Effect"].as_str().unwrap_or_default()),
            Cell::text(list(&statement["Action"])),
            Cell::text(list(&statement["Resource"])),
            Cell::text(condition),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_statement_is_a_row_with_lists_joined() {
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": "arn:aws:s3:::b/*"},
            {"Sid": "B", "Effect": "Allow", "Action": "iam:PassRole", "Resource": ["r1", "r2"],
             "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}},
        ]});
        let table = statements(&policy);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[0][2].display(), "s3:GetObject s3:PutObject");
        assert_eq!(table.rows[1][3].display(), "r1 r2");
        assert!(table.rows[1][4].display().contains("iam:PassedToService"));
    }
}

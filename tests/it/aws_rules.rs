//! AWS's own rules, offline: the template through cfn-lint, every IAM policy (the template's
//! and the operator's as `salesctl policy` prints it) through parliament, and every SQL
//! statement salesctl sends to Athena through sqlglot's Athena dialect, qualified against
//! the Glue tables (scripts/check-aws-rules, pinned tools).

use std::process::Command;

use crate::common::{project_root, run, session};

/// The SQL salesctl sends to Athena: the report's queries and the README's examples.
fn athena_sql() -> Vec<String> {
    let mut statements: Vec<String> = salesctl::sql::report_queries()
        .into_iter()
        .map(|(_, sql)| sql)
        .collect();
    let readme = std::fs::read_to_string(project_root().join("README.md")).unwrap();
    for line in readme.lines() {
        if let Some(rest) = line.split("salesctl query \"").nth(1)
            && let Some(sql) = rest.split('"').next()
        {
            statements.push(sql.to_string());
        }
    }
    assert!(statements.len() >= 5, "{statements:?}");
    statements
}

#[test]
fn the_template_policies_and_athena_sql_pass_aws_rules() {
    let s = session();
    let dir = tempfile::tempdir().unwrap();
    let sql = dir.path().join("athena.sql");
    std::fs::write(&sql, athena_sql().join("\n;\n")).unwrap();
    let (code, policy, stderr) = run(s.salesctl().arg("policy"));
    assert_eq!(code, 0, "{stderr}");
    let policy_file = dir.path().join("operator-policy.json");
    std::fs::write(&policy_file, policy).unwrap();
    let (code, stdout, stderr) = run(Command::new(project_root().join("scripts/check-aws-rules"))
        .arg("--sql")
        .arg(&sql)
        .arg(&policy_file));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    eprintln!("{stdout}");
    for expected in [
        "cfn-lint: 0 errors, 0 warnings",
        ", 0 findings",
        "sqlglot: ",
    ] {
        assert!(stdout.contains(expected), "{stdout}");
    }
}

#[test]
fn an_unknown_column_fails_the_sql_check() {
    let dir = tempfile::tempdir().unwrap();
    let sql = dir.path().join("bad.sql");
    std::fs::write(&sql, "SELECT no_such_column FROM orders_cdc").unwrap();
    let (code, stdout, stderr) = run(Command::new(project_root().join("scripts/check-aws-rules"))
        .arg("--sql")
        .arg(&sql));
    assert_ne!(code, 0, "{stdout}\n{stderr}");
}

#[test]
fn the_readme_permission_table_is_the_operator_policy() {
    let s = session();
    let (code, policy, stderr) = run(s.salesctl().arg("policy"));
    assert_eq!(code, 0, "{stderr}");
    let policy: serde_json::Value = serde_json::from_str(&policy).unwrap();
    let readme = std::fs::read_to_string(project_root().join("README.md")).unwrap();
    let section = readme
        .split("### Permissions the operator needs")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README's permissions section");
    for statement in policy["Statement"].as_array().unwrap() {
        let sid = statement["Sid"].as_str().unwrap();
        let row = section
            .lines()
            .find(|l| l.starts_with(&format!("| {sid} |")))
            .unwrap_or_else(|| panic!("no README row for statement {sid}"));
        for action in statement["Action"].as_array().unwrap() {
            let action = action.as_str().unwrap();
            assert!(
                row.contains(&format!("`{action}`")),
                "README row {sid} lacks {action}"
            );
        }
        let actions_in_row = row.matches("`").count() / 2;
        assert!(actions_in_row >= statement["Action"].as_array().unwrap().len());
    }
    assert!(
        !section.contains("HeadBucket"),
        "s3:HeadBucket is not an IAM action"
    );
}

//! AWS's own rules, offline: the template through cfn-lint, every IAM policy (the template's
//! and the operator's as `salesctl policy` prints it) through parliament, and every SQL
//! statement salesctl sends to Athena through sqlglot's Athena dialect, qualified against
//! the Glue tables (scripts/check-aws-rules, pinned tools).

use std::process::Command;

use crate::common::{project_root, run, session};

/// The SQL salesctl sends to Athena: the report's statement, reconcile's windowed reads
/// and the README's examples.
fn athena_sql() -> Vec<String> {
    let window = Some(chrono::Utc::now() - chrono::TimeDelta::hours(1));
    let mut statements: Vec<String> = vec![
        salesctl::sql::report_sql(),
        salesctl::stage_reads::lake_change_ids_sql(window),
        salesctl::stage_reads::lake_state_rows_sql(window),
    ];
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
        // Both lake formats rendered and checked, the IAM policies of each included.
        "lake format: parquet and json rendered, 0 findings",
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

/// The lake-format checks catch a Parquet lake that Firehose would refuse or the readers
/// would not find: a buffer under conversion's 64 MiB floor, objects without `.parquet`, and
/// Glue reads beyond the table.
#[test]
fn a_parquet_lake_that_breaks_firehoses_rules_fails_the_check() {
    let template = std::fs::read_to_string(project_root().join("src/stack/template.yaml")).unwrap();
    let broken = template
        .replace("    MinValue: 64\n", "    MinValue: 1\n")
        .replace("    Default: 128\n", "    Default: 5\n")
        .replace(
            "FileExtension: !If [IsParquet, .parquet, !Ref AWS::NoValue]",
            "FileExtension: !If [IsParquet, .pq, !Ref AWS::NoValue]",
        )
        .replace(
            ":table/${GlueDatabaseName}/orders_cdc",
            ":table/${GlueDatabaseName}/*",
        );
    assert_ne!(
        broken, template,
        "the template still has what this test breaks"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("template.yaml");
    std::fs::write(&path, broken).unwrap();
    // The later --template is the one scripts/aws_rules.py checks.
    let (code, stdout, stderr) = run(Command::new(project_root().join("scripts/check-aws-rules"))
        .arg("--template")
        .arg(&path));
    assert_ne!(code, 0, "{stdout}\n{stderr}");
    for expected in [
        "LakeFormat parquet: Firehose buffers 5 MiB; record format conversion needs at least 64",
        "not '.parquet' as the readers expect",
        "the Firehose role's Glue reads are",
    ] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
    assert!(!stdout.contains("LakeFormat json:"), "{stdout}");
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

/// A name that would be JSON (or a wildcard) in the policy, from each place a name comes
/// from: refused in one line with `up`'s rule and exit 2, and nothing printed.
#[test]
fn policy_refuses_a_bucket_name_that_would_be_a_statement() {
    let s = session();
    let hostile = r#"x", "Action": "*", "Resource": "*", "Sid": "Admin"#;
    let project = tempfile::tempdir().unwrap();
    std::fs::write(
        project.path().join("salesctl.toml"),
        format!("bucket = {}\n", toml::Value::String(hostile.into())),
    )
    .unwrap();
    let mut from_flag = s.salesctl();
    from_flag.args(["policy", "--bucket", hostile]);
    let mut from_env = s.salesctl();
    from_env.arg("policy").env("SALESCTL_BUCKET", hostile);
    let mut from_file = s.salesctl();
    from_file.arg("policy").current_dir(project.path());
    let mut split = s.salesctl();
    split.args(["policy", "--split", "--bucket", "lake*"]);
    for (what, cmd) in [
        ("flag", &mut from_flag),
        ("SALESCTL_BUCKET", &mut from_env),
        ("salesctl.toml", &mut from_file),
        ("--split", &mut split),
    ] {
        let (code, stdout, stderr) = run(cmd);
        assert_eq!(code, 2, "{what}: {stdout}\n{stderr}");
        assert!(stdout.is_empty(), "{what}: {stdout}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{what}: {stderr}");
        assert!(
            stderr.contains("--bucket") && stderr.contains("does not match"),
            "{what}: {stderr}"
        );
    }
    // The same rule as `up`, which refuses it with the same line.
    let (code, _, up) = run(s.salesctl().args(["up", "--dry-run", "--bucket", hostile]));
    assert_eq!(code, 2, "{up}");
    let (_, _, policy) = run(s.salesctl().args(["policy", "--bucket", hostile]));
    assert_eq!(policy, up);
}

/// IAM's count: characters without whitespace.
fn iam_size(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

#[test]
fn policy_split_prints_managed_policies_that_fit_and_says_which_limit_applies() {
    use salesctl::stack::policy::{MANAGED_POLICY_LIMIT, PolicyDocument, ROLE_INLINE_LIMIT};
    let s = session();
    let (code, whole, stderr) = run(s.salesctl().arg("policy"));
    assert_eq!(code, 0, "{stderr}");
    let size = iam_size(&whole);
    assert!(
        size > MANAGED_POLICY_LIMIT && size <= ROLE_INLINE_LIMIT,
        "{size}"
    );
    assert!(
        stderr.contains("it fits a role's inline policies (10,240)")
            && stderr.contains("not a customer managed policy (6,144)")
            && stderr.contains("--split"),
        "{stderr}"
    );
    let whole: PolicyDocument = serde_json::from_str(&whole).unwrap();

    let (code, split, stderr) = run(s.salesctl().args(["policy", "--split"]));
    assert_eq!(code, 0, "{stderr}");
    let parts: Vec<&str> = split.lines().collect();
    assert!(parts.len() >= 2, "{split}");
    assert!(
        stderr.contains("customer managed policy's 6,144")
            && stderr.contains(&format!("printed as {} managed policies", parts.len())),
        "{stderr}"
    );
    let mut statements = Vec::new();
    for part in &parts {
        assert!(iam_size(part) <= MANAGED_POLICY_LIMIT, "{}", iam_size(part));
        let document: PolicyDocument = serde_json::from_str(part).unwrap();
        assert_eq!(document.version, whole.version);
        statements.extend(document.statement);
    }
    assert_eq!(
        statements, whole.statement,
        "the parts are the policy, in order"
    );

    // One row per statement, with the managed policy it is in.
    let (code, csv_text, stderr) = run(s.salesctl().args(["policy", "--split", "-o", "csv"]));
    assert_eq!(code, 0, "{stderr}");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(&reader.headers().unwrap()[0], "policy");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), whole.statement.len());
    assert_eq!(&rows.last().unwrap()[0], parts.len().to_string().as_str());
}

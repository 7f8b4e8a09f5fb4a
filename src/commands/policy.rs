//! `salesctl policy`: the least-privilege IAM policy an operator needs for this stack (its
//! account, region and names filled in), ready for `aws iam put-role-policy`, or with
//! `--split` as customer managed policies that each fit IAM's limit.

use crate::context::Context;
use crate::error::ExitStatus;
use crate::render::{Cell, OutputFormat, Table};
use crate::stack::StackNames;
use crate::stack::policy::{
    GROUP_INLINE_LIMIT, MANAGED_POLICIES_PER_IDENTITY, MANAGED_POLICY_LIMIT, PolicyDocument,
    ROLE_INLINE_LIMIT, USER_INLINE_LIMIT, check_names, operator_policy,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the policy as customer managed policies of at most 6,144 characters each (IAM's
    /// count, without whitespace), one JSON document a line, for a user, a group, or a role
    /// whose inline policies are full. Which limit applies is said on stderr.
    #[arg(long)]
    pub split: bool,
}

/// The policy document as IAM takes it (JSON, the default and `-o json`; with `--split` one
/// document a line), or, with `-o table|csv`, one row per statement for reading what it grants.
pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    // The names first, with the rules `up` applies, so a bad one is refused before any AWS
    // call (the default bucket, named after the account, is checked once it is known).
    let bucket = ctx.settings.bucket.clone().unwrap_or_default();
    check_names(&StackNames::new(&ctx.settings, "", "", &bucket))?;
    let aws = ctx.aws().await?;
    let names = StackNames::resolve(aws, &ctx.settings).await?;
    let policy = operator_policy(&names)?;
    if !args.split {
        crate::render::note_wrapped(&format!("salesctl: {}", whole_note(policy.size())));
        match ctx.requested_output {
            None | Some(OutputFormat::Json) => {
                ctx.out().text(&serde_json::to_string_pretty(&policy)?)?
            }
            Some(OutputFormat::Table) => ctx.out().text(&statement_blocks(
                std::slice::from_ref(&policy),
                crate::render::output_width(),
            ))?,
            Some(_) => ctx.out().table(&statements(&[policy]))?,
        }
        return Ok(ExitStatus::SUCCESS);
    }
    let parts = policy.split(MANAGED_POLICY_LIMIT)?;
    crate::render::note_wrapped(&format!("salesctl: {}", split_note(policy.size(), &parts)));
    match ctx.requested_output {
        // One document a line, each as `aws iam create-policy --policy-document` takes it.
        None | Some(OutputFormat::Json) => {
            let lines = parts
                .iter()
                .map(serde_json::to_string)
                .collect::<Result<Vec<_>, _>>()?;
            ctx.out().text(&lines.join("\n"))?
        }
        Some(OutputFormat::Table) => ctx
            .out()
            .text(&statement_blocks(&parts, crate::render::output_width()))?,
        Some(_) => ctx.out().table(&statements(&parts))?,
    }
    Ok(ExitStatus::SUCCESS)
}

/// Thousands separated, as IAM's documentation writes its limits.
fn chars(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Which of IAM's limits the whole policy fits, and what to do for the others.
fn whole_note(size: usize) -> String {
    let limits = [
        ("a customer managed policy", MANAGED_POLICY_LIMIT),
        ("a role's inline policies", ROLE_INLINE_LIMIT),
        ("a group's inline policies", GROUP_INLINE_LIMIT),
        ("a user's inline policies", USER_INLINE_LIMIT),
    ];
    let (fits, over): (Vec<_>, Vec<_>) = limits.iter().partition(|(_, limit)| size <= *limit);
    let list = |items: &[&(&str, usize)]| {
        items
            .iter()
            .map(|(what, limit)| format!("{what} ({})", chars(*limit)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut note = format!(
        "the policy is {} characters as IAM counts them (no whitespace)",
        chars(size)
    );
    if !fits.is_empty() {
        note.push_str(&format!("; it fits {}", list(&fits)));
    }
    if !over.is_empty() {
        note.push_str(&format!(
            "; not {}: 'salesctl policy --split' prints it as customer managed policies that fit",
            list(&over)
        ));
    }
    note
}

/// What `--split` printed and where it goes.
fn split_note(size: usize, parts: &[PolicyDocument]) -> String {
    let sizes = parts
        .iter()
        .map(|p| chars(p.size()))
        .collect::<Vec<_>>()
        .join(" + ");
    let how = if parts.len() == 1 {
        "create it ('aws iam create-policy --policy-document') and attach it".to_string()
    } else {
        format!(
            "create each ('aws iam create-policy --policy-document') and attach all {} (a role, group or user takes {} managed policies by default)",
            parts.len(),
            MANAGED_POLICIES_PER_IDENTITY
        )
    };
    format!(
        "the policy is {} characters as IAM counts them (no whitespace); the limit that applies is a customer managed policy's {}: printed as {} managed {} ({sizes} characters), one JSON document a line; {how}. Inline instead, a role's policies may total {}, a group's {}, a user's {}",
        chars(size),
        chars(MANAGED_POLICY_LIMIT),
        parts.len(),
        if parts.len() == 1 {
            "policy"
        } else {
            "policies"
        },
        chars(ROLE_INLINE_LIMIT),
        chars(GROUP_INLINE_LIMIT),
        chars(USER_INLINE_LIMIT),
    )
}

/// One row per statement: its id, effect, actions, resources and condition (and, for more
/// than one document, which one it is in).
fn statements(documents: &[PolicyDocument]) -> Table {
    let numbered = documents.len() > 1;
    let mut headers = vec!["sid", "effect", "actions", "resources", "condition"];
    if numbered {
        headers.insert(0, "policy");
    }
    let mut table = Table::new(headers);
    for (n, document) in documents.iter().enumerate() {
        for statement in &document.statement {
            let condition = statement
                .condition
                .as_ref()
                .map(|c| serde_json::to_string(c).unwrap_or_default())
                .unwrap_or_default();
            let mut row = vec![
                Cell::text(&statement.sid),
                Cell::text(format!("{:?}", statement.effect)),
                Cell::text(statement.action.join(" ")),
                Cell::text(statement.resource.join(" ")),
                Cell::text(condition),
            ];
            if numbered {
                row.insert(0, Cell::text((n + 1).to_string()));
            }
            table.push(row);
        }
    }
    table
}

/// The statements for a person (`-o table`), fitted to `width`: one block per statement,
/// its id and effect, then its actions in columns, its resources one a line and its
/// condition. No action, resource or key is ever cut: an ARN longer than the line is broken
/// after a `:` or `/`, its rest on the next line after `↳`.
fn statement_blocks(documents: &[PolicyDocument], width: Option<usize>) -> String {
    let width = width.unwrap_or(100).max(40);
    let mut lines: Vec<String> = Vec::new();
    for (n, document) in documents.iter().enumerate() {
        if documents.len() > 1 {
            if n > 0 {
                lines.push(String::new());
            }
            lines.push(format!(
                "Managed policy {} of {} ({} characters)",
                n + 1,
                documents.len(),
                chars(document.size())
            ));
            lines.push("=".repeat(width.min(60)));
        }
        for (i, statement) in document.statement.iter().enumerate() {
            if i > 0 {
                lines.push(String::new());
            }
            lines.push(format!("{} ({:?})", statement.sid, statement.effect));
            lines.push(format!("  actions ({}):", statement.action.len()));
            lines.extend(in_columns(&statement.action, width - 4, "    "));
            lines.push(format!("  resources ({}):", statement.resource.len()));
            for resource in &statement.resource {
                lines.extend(broken_at_separators(resource, width - 4, "    "));
            }
            for (operator, keys) in statement.condition.iter().flatten() {
                for (key, value) in keys {
                    let text = format!("  condition: {operator} {key} = {value}");
                    let options = textwrap::Options::new(width)
                        .subsequent_indent("    ")
                        .break_words(false)
                        .word_splitter(textwrap::WordSplitter::NoHyphenation);
                    lines.extend(
                        textwrap::wrap(&text, options)
                            .into_iter()
                            .map(|l| l.into_owned()),
                    );
                }
            }
        }
    }
    lines.join("\n")
}

/// Names in as many columns as fit `width` after `indent`, reading down each column (as
/// `ls` lays them out), each column as wide as its widest name.
fn in_columns(names: &[String], width: usize, indent: &str) -> Vec<String> {
    let widths: Vec<usize> = names
        .iter()
        .map(|n| console::measure_text_width(n))
        .collect();
    let layout = (1..=names.len().max(1))
        .rev()
        .map(|columns| {
            let rows = names.len().div_ceil(columns).max(1);
            let column_widths: Vec<usize> = widths
                .chunks(rows)
                .map(|column| column.iter().copied().max().unwrap_or(0))
                .collect();
            (rows, column_widths)
        })
        .find(|(_, column_widths)| {
            column_widths.len() == 1
                || column_widths.iter().sum::<usize>() + 2 * (column_widths.len() - 1) <= width
        });
    let Some((rows, column_widths)) = layout else {
        return Vec::new();
    };
    (0..rows)
        .map(|row| {
            let mut line = indent.to_string();
            for (column, column_width) in column_widths.iter().enumerate() {
                if let Some(name) = names.get(column * rows + row) {
                    if column > 0 {
                        line.push_str("  ");
                    }
                    line.push_str(&format!("{name:<column_width$}"));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// `text` after `indent` in lines of at most `width` columns after the indent: whole when it
/// fits, else broken after its last `:` or `/` that fits (anywhere, when none does), each
/// later part after `↳ `.
fn broken_at_separators(text: &str, width: usize, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    let mut first = true;
    loop {
        let lead = if first { "" } else { "↳ " };
        let room = width.saturating_sub(lead.chars().count()).max(8);
        if rest.len() <= room {
            lines.push(format!("{indent}{lead}{}", rest.iter().collect::<String>()));
            return lines;
        }
        let at = rest[..room]
            .iter()
            .rposition(|c| matches!(c, ':' | '/'))
            .filter(|at| *at > 0)
            .map_or(room, |at| at + 1);
        lines.push(format!(
            "{indent}{lead}{}",
            rest[..at].iter().collect::<String>()
        ));
        rest.drain(..at);
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::policy::{Effect, Statement};

    fn statement(sid: &str, actions: &[&str], resources: &[&str]) -> Statement {
        Statement {
            sid: sid.into(),
            effect: Effect::Allow,
            action: actions.iter().map(|a| a.to_string()).collect(),
            resource: resources.iter().map(|r| r.to_string()).collect(),
            condition: None,
        }
    }

    #[test]
    fn each_statement_is_a_row_with_lists_joined() {
        let mut pass = statement("B", &["iam:PassRole"], &["r1", "r2"]);
        pass.condition = Some(
            [(
                "StringEquals".to_string(),
                [(
                    "iam:PassedToService".to_string(),
                    "lambda.amazonaws.com".to_string(),
                )]
                .into(),
            )]
            .into(),
        );
        let policy = PolicyDocument {
            version: "2012-10-17".into(),
            statement: vec![
                statement(
                    "A",
                    &["s3:GetObject", "s3:PutObject"],
                    &["arn:aws:s3:::b/*"],
                ),
                pass,
            ],
        };
        let table = statements(std::slice::from_ref(&policy));
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[0][1].display(), "Allow");
        assert_eq!(table.rows[0][2].display(), "s3:GetObject s3:PutObject");
        assert_eq!(table.rows[1][3].display(), "r1 r2");
        assert!(table.rows[1][4].display().contains("iam:PassedToService"));
        // Split: a first column says which managed policy a statement is in.
        let table = statements(&[policy.clone(), policy]);
        assert_eq!(table.rows.len(), 4);
        assert_eq!(table.rows[3][0].display(), "2");
        assert_eq!(table.rows[3][1].display(), "B");
    }

    #[test]
    fn the_blocks_fit_the_width_and_keep_every_action_and_resource_whole() {
        let long = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/kinesisfirehose/salesctl-orders:log-stream:DestinationDelivery";
        let mut pass = statement(
            "PassFirehoseRole",
            &["iam:PassRole"],
            &["arn:aws:iam::123456789012:role/salesctl-us-east-1-firehose-role"],
        );
        pass.condition = Some(
            [(
                "StringEquals".to_string(),
                [(
                    "iam:PassedToService".to_string(),
                    "firehose.amazonaws.com".to_string(),
                )]
                .into(),
            )]
            .into(),
        );
        let actions: Vec<String> = (0..12)
            .map(|i| format!("cloudformation:DescribeStackResourceDrifts{i}"))
            .collect();
        let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
        let policy = PolicyDocument {
            version: "2012-10-17".into(),
            statement: vec![statement("LogStreams", &actions, &[long]), pass],
        };
        let text = statement_blocks(std::slice::from_ref(&policy), Some(80));
        assert!(
            text.lines().all(|l| console::measure_text_width(l) <= 80),
            "{text}"
        );
        let words: Vec<&str> = text.split_whitespace().collect();
        for action in actions.iter().chain(&["iam:PassRole"]) {
            assert!(words.contains(action), "{action}:\n{text}");
        }
        assert!(
            text.contains("condition: StringEquals iam:PassedToService = firehose.amazonaws.com")
        );
        // The ARN longer than a line: broken after a separator, whole once joined.
        let parts: Vec<&str> = text
            .lines()
            .map(str::trim)
            .skip_while(|l| !l.starts_with("arn:aws:logs"))
            .take_while(|l| l.starts_with("arn:aws:logs") || l.starts_with("↳ "))
            .map(|l| l.trim_start_matches("↳ "))
            .collect();
        assert!(parts.len() > 1, "{text}");
        assert!(parts[0].ends_with('/') || parts[0].ends_with(':'), "{text}");
        assert_eq!(parts.concat(), long);
        // Split: each managed policy under its own heading.
        let text = statement_blocks(&[policy.clone(), policy], Some(80));
        assert!(text.contains("Managed policy 2 of 2"), "{text}");
    }

    #[test]
    fn the_notes_name_the_limits() {
        assert_eq!(chars(10240), "10,240");
        assert_eq!(chars(987), "987");
        let note = whole_note(9_031);
        assert!(note.contains("9,031 characters"), "{note}");
        assert!(
            note.contains("it fits a role's inline policies (10,240)"),
            "{note}"
        );
        assert!(
            note.contains("not a customer managed policy (6,144)"),
            "{note}"
        );
        assert!(note.contains("--split"), "{note}");
        assert!(!whole_note(1_000).contains("--split"));
        assert!(!note.contains('\n'));
        let policy = PolicyDocument {
            version: "2012-10-17".into(),
            statement: vec![statement("A", &["s3:GetObject"], &["arn:aws:s3:::b/*"])],
        };
        let two = split_note(9_054, &[policy.clone(), policy.clone()]);
        assert!(two.contains("customer managed policy's 6,144"), "{two}");
        assert!(two.contains("printed as 2 managed policies"), "{two}");
        assert!(two.contains("attach all 2"), "{two}");
        let one = split_note(100, &[policy]);
        assert!(one.contains("printed as 1 managed policy ("), "{one}");
    }
}

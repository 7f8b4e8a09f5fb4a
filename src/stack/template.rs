//! The stack's CloudFormation template (`template.yaml`, the single source of truth), the
//! parameters salesctl passes it, and their checks against the template's own rules.
//!
//! The limits (name patterns, buffer and timeout ranges) are read from the template itself,
//! so `salesctl up` refuses a bad `--stack-prefix` or buffer before AWS is asked, with the
//! same rule AWS would apply, and the two can never disagree.

use std::collections::BTreeMap;

use regex::Regex;

use crate::error::usage_error;

/// The template, as deployed and as `salesctl template` prints it.
pub const TEMPLATE: &str = include_str!("template.yaml");

/// Where the transform zips go in the lake bucket, named by content.
pub const CODE_PREFIX: &str = "lambda/";

/// The lake bucket's logical id: the one resource `down --keep-data` leaves behind.
pub const BUCKET_RESOURCE: &str = "LakeBucket";

/// The smallest buffer Firehose converts records with (MiB): "you can't set SizeInMBs to a
/// value less than 64 if you enable record format conversion" (Firehose developer guide,
/// "Enable record format conversion", API section). The template's `ConversionBufferMB`
/// has it as its MinValue.
pub const CONVERSION_MIN_BUFFER_MB: u32 = 64;

/// The template for bringing a kept bucket back into a new stack: the same parameters and
/// conditions, and of the resources only the bucket, exactly as the full template declares
/// it. An IMPORT change set may only import (it creates nothing) and takes no Outputs.
pub fn import_template() -> String {
    let (head, rest) = TEMPLATE
        .split_once("\nResources:\n")
        .expect("the template has a Resources section");
    let start = rest
        .find(&format!("\n  {BUCKET_RESOURCE}:\n"))
        .map(|at| at + 1)
        .expect("the template declares the bucket");
    let mut block = String::new();
    for (n, line) in rest[start..].lines().enumerate() {
        // The block ends at the next line indented less than a property (the next resource,
        // a comment between resources, or the next section).
        if n > 0 && !line.is_empty() && !line.starts_with("    ") {
            break;
        }
        block.push_str(line);
        block.push('\n');
    }
    format!("{head}\nResources:\n{}\n", block.trim_end())
}

/// The parameters of one deployment, by the template's parameter names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackParameters {
    values: BTreeMap<&'static str, String>,
}

impl StackParameters {
    pub fn set(&mut self, name: &'static str, value: impl ToString) -> &mut Self {
        self.values.insert(name, value.to_string());
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.values.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// As `aws cloudformation deploy --parameter-overrides` and CI tools take them.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(
            self.iter()
                .map(|(key, value)| {
                    serde_json::json!({"ParameterKey": key, "ParameterValue": value})
                })
                .collect(),
        )
    }

    /// Checks every value against the template's AllowedPattern, AllowedValues, MinValue
    /// and MaxValue; the first violation is a usage error naming the flag to fix.
    pub fn validate(&self) -> anyhow::Result<()> {
        let rules = parameter_rules();
        // The prefix first: the other names are built from it, so it is the one to fix.
        let mut ordered: Vec<(&str, &str)> = self.iter().collect();
        ordered.sort_by_key(|(name, _)| *name != "Prefix");
        for (name, value) in ordered {
            let Some(rule) = rules.get(name) else {
                return Err(usage_error(format!(
                    "internal: the template has no parameter {name}"
                )));
            };
            if let Err(problem) = rule.check(value) {
                return Err(usage_error(format!(
                    "{} {value:?} {problem}: {}",
                    flag_of(name),
                    fix_of(name)
                )));
            }
        }
        Ok(())
    }
}

/// The salesctl flag (or setting) behind a template parameter, for error messages.
pub fn flag_of(name: &str) -> &'static str {
    match name {
        "Prefix" => "--stack-prefix",
        "TableName" => "--table",
        "StreamName" => "--stream",
        "BucketName" => "--bucket",
        "BufferSeconds" => "buffer_seconds",
        "BufferMB" | "ConversionBufferMB" => "buffer_mb",
        "LakeFormat" => "--lake-format",
        "ShardCount" => "--shards",
        "FunctionMemory" => "--memory",
        "FunctionTimeout" => "--timeout",
        "FunctionArchitecture" => "--arch",
        "PointInTimeRecovery" => "--point-in-time-recovery",
        "PipeName" => "pipe",
        "DeliveryStreamName" => "firehose",
        "FunctionName" => "lambda",
        "GlueDatabaseName" => "glue_database",
        "WorkgroupName" => "workgroup",
        _ => "setting",
    }
}

fn fix_of(name: &str) -> &'static str {
    match name {
        "Prefix" => {
            "use 1 to 29 lowercase letters, digits and '-', starting with a letter (the bucket and role names are built from it)"
        }
        "BufferSeconds" => "Firehose buffers 0 to 900 seconds",
        "BufferMB" => "Firehose buffers 1 to 128 MB",
        "ConversionBufferMB" => {
            "Firehose converts records to Parquet with a buffer of 64 to 128 MB"
        }
        "LakeFormat" => "use parquet or json",
        "FunctionTimeout" => "Firehose waits at most 300 s for a transform",
        "GlueDatabaseName" => {
            "use lowercase letters, digits and '_' (Athena needs no quoting then)"
        }
        "BucketName" => {
            "use 3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit (S3's rule)"
        }
        "TableName" => "use 3 to 255 letters, digits, '_', '-' and '.' (DynamoDB's rule)",
        "StreamName" | "DeliveryStreamName" | "PipeName" | "FunctionName" | "WorkgroupName" => {
            "use letters, digits, '_', '-' and '.' within the length the template gives"
        }
        _ => "check the rule with 'salesctl template'",
    }
}

/// One parameter's constraints as the template states them.
#[derive(Debug, Clone, Default)]
pub struct ParameterRule {
    pub pattern: Option<String>,
    pub allowed: Option<Vec<String>>,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl ParameterRule {
    fn check(&self, value: &str) -> Result<(), String> {
        if let Some(pattern) = &self.pattern {
            // The template's patterns are whole-value patterns: anchor them as AWS does.
            let anchored = format!("^(?:{pattern})$");
            let matches = Regex::new(&anchored)
                .map_err(|e| format!("cannot be checked ({e})"))?
                .is_match(value);
            if !matches {
                return Err(format!("does not match {pattern}"));
            }
        }
        if let Some(allowed) = &self.allowed
            && !allowed.iter().any(|a| a == value)
        {
            return Err(format!("is not one of {}", allowed.join(", ")));
        }
        if self.min.is_some() || self.max.is_some() {
            let number: i64 = value
                .parse()
                .map_err(|_| "is not a whole number".to_string())?;
            if self.min.is_some_and(|min| number < min) || self.max.is_some_and(|max| number > max)
            {
                return Err(format!(
                    "is outside {}..={}",
                    self.min.map_or("-".into(), |m| m.to_string()),
                    self.max.map_or("-".into(), |m| m.to_string())
                ));
            }
        }
        Ok(())
    }
}

/// The Parameters section of the template, read line by line (it is plain YAML: two-space
/// names, four-space properties).
pub fn parameter_rules() -> BTreeMap<String, ParameterRule> {
    let mut rules = BTreeMap::new();
    let mut in_parameters = false;
    let mut current: Option<String> = None;
    for line in TEMPLATE.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            in_parameters = line.trim_end() == "Parameters:";
            current = None;
            continue;
        }
        if !in_parameters {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
            && !name.starts_with('#')
        {
            current = Some(name.to_string());
            rules.insert(name.to_string(), ParameterRule::default());
            continue;
        }
        let (Some(name), Some(property)) = (&current, line.strip_prefix("    ")) else {
            continue;
        };
        let Some(rule) = rules.get_mut(name) else {
            continue;
        };
        let Some((key, value)) = property.split_once(": ") else {
            continue;
        };
        let value = value
            .trim()
            .trim_matches('"')
            .trim_matches('\'')
            .to_string();
        match key {
            "AllowedPattern" => rule.pattern = Some(value),
            "MinValue" => rule.min = value.parse().ok(),
            "MaxValue" => rule.max = value.parse().ok(),
            "AllowedValues" => {
                rule.allowed = Some(
                    value
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .split(',')
                        .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
                        .collect(),
                );
            }
            _ => {}
        }
    }
    rules
}

/// The resources of the template: logical id and type, in template order.
pub fn resources() -> Vec<(String, String)> {
    resources_of(TEMPLATE)
}

/// The resources built only once the transform's code is deployed (`Condition: HasCode`),
/// read from the template once.
pub fn needing_code() -> &'static [String] {
    static NEEDING_CODE: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        resource_lines(TEMPLATE)
            .filter(|(_, line)| line.trim() == "Condition: HasCode")
            .map(|(name, _)| name.to_string())
            .collect()
    });
    &NEEDING_CODE
}

/// What the emulator really does with a resource of a change set, when not what the change
/// set says: moto lists every resource as added (it evaluates no condition) and stores some
/// types without running them.
pub fn on_emulator(logical_id: &str, resource_type: &str, has_code: bool) -> Option<&'static str> {
    if !has_code && needing_code().iter().any(|id| id == logical_id) {
        return Some("not built: no code; the relay transforms");
    }
    if EMULATOR_SKIPS.contains(&resource_type) {
        return Some("stored only; relay or local SQL runs it");
    }
    None
}

/// The resources of a template in this one's layout.
fn resources_of(template: &str) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for (name, line) in resource_lines(template) {
        let named = found.last().is_some_and(|(last, _)| last == name);
        if let (false, Some(kind)) = (named, line.strip_prefix("    Type: ")) {
            found.push((name.to_string(), kind.trim().to_string()));
        }
    }
    found
}

/// Every line inside a resource of the `Resources:` section, with the resource's logical id.
fn resource_lines(template: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut in_resources = false;
    let mut current: Option<&str> = None;
    template.lines().filter_map(move |line| {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            in_resources = line.trim_end() == "Resources:";
            current = None;
            return None;
        }
        if !in_resources {
            return None;
        }
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
            && !name.starts_with('#')
        {
            current = Some(name);
            return None;
        }
        current.map(|name| (name, line))
    })
}

/// The resource types the local emulator (moto 5.2.5) stores but does not build; locally the
/// relay and the embedded SQL engine do their work.
pub const EMULATOR_SKIPS: [&str; 7] = [
    "AWS::Pipes::Pipe",
    "AWS::KinesisFirehose::DeliveryStream",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::Athena::WorkGroup",
    "AWS::S3::BucketPolicy",
    "AWS::Logs::LogStream",
];

#[cfg(test)]
mod tests {
    use super::*;
    use salesctl_core::lake_schema::LakeFormat;

    #[test]
    fn the_emulator_notes_say_what_is_really_built() {
        let needing = needing_code();
        for id in [
            "TransformFunction",
            "TransformVersion",
            "DeliveryStream",
            "CdcPipe",
        ] {
            assert!(
                needing.iter().any(|n| n == id),
                "{id} waits for code: {needing:?}"
            );
        }
        assert!(!needing.iter().any(|n| n == "OrdersTable"));
        assert!(on_emulator("TransformFunction", "AWS::Lambda::Function", false).is_some());
        assert_eq!(
            on_emulator("TransformFunction", "AWS::Lambda::Function", true),
            None
        );
        assert!(
            on_emulator("CdcPipe", "AWS::Pipes::Pipe", true).is_some(),
            "stored only"
        );
        assert_eq!(
            on_emulator("OrdersTable", "AWS::DynamoDB::Table", false),
            None
        );
    }

    #[test]
    fn rules_come_from_the_template() {
        let rules = parameter_rules();
        assert!(rules.contains_key("Prefix") && rules.contains_key("CodeKey"));
        let timeout = &rules["FunctionTimeout"];
        assert_eq!((timeout.min, timeout.max), (Some(1), Some(300)));
        assert_eq!(rules["BufferSeconds"].max, Some(900));
        assert_eq!(rules["BufferMB"].max, Some(128));
        assert_eq!(
            rules["FunctionArchitecture"].allowed.as_deref(),
            Some(&["x86_64".to_string(), "arm64".to_string()][..])
        );
    }

    #[test]
    fn bad_values_are_refused_before_aws_with_the_flag_to_fix() {
        let check = |name: &'static str, value: &str| {
            let mut p = StackParameters::default();
            p.set(name, value);
            p.validate().map_err(|e| e.to_string())
        };
        assert!(check("Prefix", "salesctl").is_ok());
        assert!(check("Prefix", "blue-2").is_ok());
        let upper = check("Prefix", "Blue").unwrap_err();
        assert!(upper.contains("--stack-prefix"), "{upper}");
        assert!(check("Prefix", "trailing-").is_err());
        assert!(
            check("Prefix", &"a".repeat(30)).is_err(),
            "30 chars break the bucket name"
        );
        assert!(check("Prefix", &"a".repeat(29)).is_ok());
        assert!(check("BufferSeconds", "901").is_err());
        assert!(check("BufferMB", "0").is_err());
        let timeout = check("FunctionTimeout", "301").unwrap_err();
        assert!(timeout.contains("300"), "{timeout}");
        assert!(check("CodeKey", "").is_ok());
        assert!(check("CodeKey", "lambda/abc.zip").is_ok());
        assert!(check("CodeKey", "lambda/abc.tar").is_err());
        assert!(check("GlueDatabaseName", "sales-db").is_err());
        assert!(check("NoSuchParameter", "x").is_err());
    }

    #[test]
    fn the_resources_are_listed_with_their_types() {
        let resources = resources();
        let type_of = |id: &str| {
            resources
                .iter()
                .find(|(logical, _)| logical == id)
                .map(|(_, kind)| kind.as_str())
        };
        assert_eq!(type_of("CdcPipe"), Some("AWS::Pipes::Pipe"));
        assert_eq!(type_of("OrdersTable"), Some("AWS::DynamoDB::Table"));
        assert_eq!(type_of("OrdersCurrentView"), Some("AWS::Glue::Table"));
        assert_eq!(resources.len(), 19, "{resources:?}");
    }

    /// The text of one resource (or section) of the template, up to the next one.
    fn section(start: &str, end: &str) -> &'static str {
        TEMPLATE
            .split(start)
            .nth(1)
            .and_then(|rest| rest.split(end).next())
            .unwrap_or_else(|| panic!("{start} section"))
    }

    #[test]
    fn a_kept_bucket_is_imported_alone_exactly_as_declared() {
        let import = import_template();
        assert_eq!(
            resources_of(&import),
            vec![("LakeBucket".to_string(), "AWS::S3::Bucket".to_string())],
            "an IMPORT change set creates nothing: {import}"
        );
        let declared = format!(
            "  LakeBucket:{}",
            section("\n  LakeBucket:", "\n  LakeBucketPolicy:")
        );
        assert!(
            import.contains(declared.trim_end()),
            "the same declaration: {import}"
        );
        assert!(
            declared.contains("DeletionPolicy: Retain"),
            "import needs one"
        );
        // The same parameters (salesctl passes them all) and the conditions the bucket uses;
        // no Outputs (an import may not add them).
        assert!(import.contains("\nParameters:\n") && import.contains("HasBucketName:"));
        assert!(!import.contains("Outputs:"), "{import}");
        assert!(import.starts_with("AWSTemplateFormatVersion"));
    }

    #[test]
    fn the_pipe_drops_no_change_for_its_age() {
        let pipe = section("  CdcPipe:", "\n  GlueDatabase:");
        let age: i64 = pipe
            .lines()
            .find_map(|l| l.trim().strip_prefix("MaximumRecordAgeInSeconds: "))
            .expect("the age limit is stated")
            .parse()
            .unwrap();
        // Pipes allows -1 (no limit) to 604800; -1 leaves it to the stream's retention.
        assert_eq!(age, -1, "{pipe}");
    }

    #[test]
    fn role_names_are_region_safe_and_fit_iam() {
        let names: Vec<&str> = TEMPLATE
            .lines()
            .filter_map(|l| l.trim().strip_prefix("RoleName: !Sub "))
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        let longest_region = "us-isof-south-1";
        for name in names {
            assert!(
                name.contains("${AWS::Region}"),
                "{name} is global to the account"
            );
            let longest = name
                .replace("${Prefix}", &"a".repeat(29))
                .replace("${AWS::Region}", longest_region);
            assert!(longest.len() <= 64, "{longest} is over IAM's 64");
        }
        // The operator policy names the same roles.
        let policy = include_str!("operator-policy.json");
        for role in ["lambda", "firehose", "pipe"] {
            assert!(
                policy.contains(&format!("role/${{Prefix}}-${{Region}}-{role}-role")),
                "{role}"
            );
            assert!(
                !policy.contains(&format!("role/${{Prefix}}-{role}-role")),
                "{role}"
            );
        }
        // A new role means a new version (a version keeps the role it was published with).
        let version = section("  TransformVersion:", "\n  DeliveryStream:");
        assert!(version.contains("role ${TransformRole}"), "{version}");
    }

    #[test]
    fn the_table_has_point_in_time_recovery_and_the_queue_says_its_encryption() {
        let rules = parameter_rules();
        assert_eq!(
            rules["PointInTimeRecovery"].allowed.as_deref(),
            Some(&["true".to_string(), "false".to_string()][..])
        );
        let parameter = section("  PointInTimeRecovery:", "\n  ProjectionStart:");
        assert!(parameter.contains("Default: \"true\""), "on by default");
        let table = section("  OrdersTable:", "\n  CdcStream:");
        assert!(
            table.contains("PointInTimeRecoveryEnabled: !If [HasPointInTimeRecovery, true, false]"),
            "{table}"
        );
        let queue = section("  PipeDeadLetterQueue:", "\n  # ----");
        assert!(queue.contains("SqsManagedSseEnabled: true"), "{queue}");
        assert!(!queue.contains("KmsMasterKeyId"), "one encryption, stated");
    }

    #[test]
    fn the_view_and_the_glue_columns_match_the_lake_schema() {
        use salesctl_core::lake_schema::{COLUMNS, TABLE, orders_current_sql};
        assert_eq!(
            include_str!("orders_current.sql").trim(),
            orders_current_sql(TABLE).trim()
        );
        // Every column of the lake schema is declared with its Glue type in OrdersCdcTable.
        let table = TEMPLATE
            .split("  OrdersCdcTable:")
            .nth(1)
            .and_then(|rest| rest.split("  OrdersCurrentView:").next())
            .expect("OrdersCdcTable section");
        for column in COLUMNS.iter() {
            let declared = format!("Name: {}", column.name);
            let at = table
                .find(&declared)
                .unwrap_or_else(|| panic!("{declared}"));
            let glue_type = column.column_type.glue_type();
            assert!(
                table[at..].lines().take(3).any(|l| l.contains(&glue_type)),
                "{} is not declared as {glue_type}",
                column.name
            );
        }
    }

    /// The template as CloudFormation renders it for `LakeFormat`: every `!If [IsParquet, A,
    /// B]`, inline or as a block list, replaced by its branch; a `!Ref AWS::NoValue` branch
    /// drops the key or list item. (Only IsParquet is rendered, and its branches hold no
    /// `!If` of their own.)
    fn rendered(format: LakeFormat) -> String {
        let parquet = format == LakeFormat::Parquet;
        let indent_of = |line: &str| line.len() - line.trim_start().len();
        let lines: Vec<&str> = TEMPLATE.lines().collect();
        let mut out: Vec<String> = Vec::new();
        let mut at = 0;
        while at < lines.len() {
            let line = lines[at];
            at += 1;
            if let Some((head, args)) = line.split_once("!If [IsParquet, ") {
                let args = args.strip_suffix(']').expect("an inline !If ends the line");
                let (yes, no) = args.split_once(", ").expect("two branches");
                let chosen = if parquet { yes } else { no };
                if chosen != "!Ref AWS::NoValue" {
                    out.push(format!("{head}{chosen}"));
                }
                continue;
            }
            let block = lines
                .get(at)
                .is_some_and(|next| next.trim() == "- IsParquet");
            let Some(head) = line.strip_suffix("!If").filter(|_| block) else {
                out.push(line.to_string());
                continue;
            };
            // A block: "- IsParquet", then each branch as a list item with its lines.
            let items = indent_of(line) + 2;
            let mut branches: Vec<Vec<String>> = Vec::new();
            while at < lines.len() && indent_of(lines[at]) >= items && !lines[at].trim().is_empty()
            {
                if indent_of(lines[at]) == items && lines[at].trim_start().starts_with("- ") {
                    branches.push(vec![lines[at].trim_start()[2..].to_string()]);
                } else {
                    branches
                        .last_mut()
                        .expect("a branch")
                        .push(lines[at].to_string());
                }
                at += 1;
            }
            assert_eq!(branches.len(), 3, "{line}: {branches:?}");
            assert_eq!(branches[0], ["IsParquet"], "{line}");
            let chosen = &branches[if parquet { 1 } else { 2 }];
            if chosen[0] == "!Ref AWS::NoValue" {
                continue;
            }
            if head.trim_start() == "- " || chosen.len() == 1 {
                out.push(format!("{head}{}", chosen[0]));
            } else {
                out.push(head.trim_end().to_string());
                out.push(format!("{}{}", " ".repeat(items + 2), chosen[0]));
            }
            out.extend(chosen[1..].iter().cloned());
        }
        out.join("\n")
    }

    /// The text of one resource of a rendered template: its header and every line up to
    /// the next one indented two spaces or less.
    fn resource<'t>(template: &'t str, id: &str) -> &'t str {
        let start = template
            .find(&format!("\n  {id}:\n"))
            .unwrap_or_else(|| panic!("{id}"))
            + 1;
        let body = start + id.len() + 4;
        let end = template[body..]
            .split_inclusive('\n')
            .scan(body, |at, line| {
                let here = *at;
                *at += line.len();
                Some((here, line))
            })
            .find(|(_, line)| !line.trim().is_empty() && !line.starts_with("   "))
            .map_or(template.len(), |(at, _)| at);
        &template[start..end]
    }

    /// The values of `key` in `text`, one per line it is set on.
    fn values_of<'t>(text: &'t str, key: &str) -> Vec<&'t str> {
        text.lines()
            .filter_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
            .collect()
    }

    const GLUE_READS: [&str; 3] = [
        "glue:GetTable",
        "glue:GetTableVersion",
        "glue:GetTableVersions",
    ];

    #[test]
    fn a_parquet_lake_converts_against_the_glue_table_and_names_its_objects() {
        let template = rendered(LakeFormat::Parquet);
        assert!(!template.contains("IsParquet,"), "all rendered");
        let firehose = resource(&template, "DeliveryStream");
        for needed in [
            "DataFormatConversionConfiguration:",
            "Enabled: true",
            "OpenXJsonSerDe: {}",
            "ParquetSerDe:",
            "Compression: SNAPPY",
            "CatalogId: !Ref AWS::AccountId",
            "DatabaseName: !Ref GlueDatabase",
            "TableName: !Ref OrdersCdcTable",
            "Region: !Ref AWS::Region",
            "VersionId: LATEST",
            // Required with conversion; the serializer compresses.
            "CompressionFormat: UNCOMPRESSED",
        ] {
            assert!(
                firehose.contains(needed),
                "Firehose lacks {needed}: {firehose}"
            );
        }
        // The schema is read with the delivery role, the one the template grants Glue reads.
        assert_eq!(
            values_of(firehose, "RoleARN"),
            ["!GetAtt FirehoseRole.Arn"; 3],
            "{firehose}"
        );
        // The readers know Parquet objects by their extension.
        assert_eq!(
            values_of(firehose, "FileExtension"),
            [LakeFormat::Parquet.extension()],
            "{firehose}"
        );
        // Conversion failures land under errors/format-conversion-failed/.
        let errors = values_of(firehose, "ErrorOutputPrefix");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with("errors/!{firehose:error-output-type}/"),
            "{errors:?}"
        );
        // At least Firehose's floor for conversion, whatever buffer_mb says.
        assert_eq!(
            values_of(firehose, "SizeInMBs"),
            ["!Ref ConversionBufferMB"],
            "{firehose}"
        );
        let rules = parameter_rules();
        let size = &rules["ConversionBufferMB"];
        assert_eq!(
            (size.min, size.max),
            (Some(i64::from(CONVERSION_MIN_BUFFER_MB)), Some(128))
        );
        assert_eq!(CONVERSION_MIN_BUFFER_MB, 64);
        let mut too_small = StackParameters::default();
        too_small.set("ConversionBufferMB", 63);
        let refused = too_small.validate().unwrap_err().to_string();
        assert!(
            refused.contains("buffer_mb") && refused.contains("64"),
            "{refused}"
        );

        // The delivery role reads exactly the table's schema: the three actions Firehose's
        // guide names, on the catalog, the database and the table.
        let role = resource(&template, "FirehoseRole");
        let glue: Vec<&str> = role
            .lines()
            .map(str::trim)
            .filter_map(|l| l.strip_prefix("- "))
            .filter(|l| l.starts_with("glue:") || l.contains(":glue:"))
            .collect();
        let arn = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}";
        assert_eq!(
            glue,
            [
                GLUE_READS[0].to_string(),
                GLUE_READS[1].to_string(),
                GLUE_READS[2].to_string(),
                format!("!Sub {arn}:catalog"),
                format!("!Sub {arn}:database/${{GlueDatabaseName}}"),
                format!(
                    "!Sub {arn}:table/${{GlueDatabaseName}}/{}",
                    salesctl_core::lake_schema::TABLE
                ),
            ],
            "{role}"
        );
        assert!(role.contains("Sid: ReadLakeSchema"), "{role}");

        // Athena reads the table with the Parquet SerDe.
        let table = resource(&template, "OrdersCdcTable");
        for needed in [
            "classification: parquet",
            "InputFormat: org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
            "OutputFormat: org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
            "SerializationLibrary: org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        ] {
            assert!(table.contains(needed), "the table lacks {needed}: {table}");
        }
        assert!(!table.contains("JsonSerDe"), "{table}");
    }

    #[test]
    fn a_json_lake_has_no_conversion_no_glue_reads_and_the_json_serde() {
        let template = rendered(LakeFormat::Json);
        // The resources without their comments (which speak of both formats).
        let code = |id: &str| -> String {
            resource(&template, id)
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let firehose = &code("DeliveryStream");
        for absent in [
            "DataFormatConversionConfiguration",
            "FileExtension",
            "Parquet",
            "Glue",
        ] {
            assert!(!firehose.contains(absent), "{absent}: {firehose}");
        }
        assert_eq!(values_of(firehose, "SizeInMBs"), ["!Ref BufferMB"]);
        assert_eq!(values_of(firehose, "CompressionFormat"), ["UNCOMPRESSED"]);
        let role = &code("FirehoseRole");
        assert!(!role.contains("glue:"), "{role}");
        assert!(!role.contains("ReadLakeSchema"), "{role}");
        let table = &code("OrdersCdcTable");
        for needed in [
            "classification: json",
            "InputFormat: org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat: org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerializationLibrary: org.openx.data.jsonserde.JsonSerDe",
            "ignore.malformed.json: \"true\"",
        ] {
            assert!(table.contains(needed), "the table lacks {needed}: {table}");
        }
        assert!(!table.contains("parquet"), "{table}");
        // Nothing else differs between the two formats.
        let parquet = rendered(LakeFormat::Parquet);
        let rest = |t: &str| {
            let mut t = t.to_string();
            for id in ["DeliveryStream", "FirehoseRole", "OrdersCdcTable"] {
                let block = resource(&t, id).to_string();
                t = t.replace(&block, "");
            }
            t
        };
        assert_eq!(rest(&template), rest(&parquet));
    }

    #[test]
    fn the_lake_format_is_a_parameter_with_parquet_by_default_and_an_output() {
        let rules = parameter_rules();
        assert_eq!(
            rules["LakeFormat"].allowed.as_deref(),
            Some(&["parquet".to_string(), "json".to_string()][..])
        );
        let parameter = section("  LakeFormat:", "\n  ConversionBufferMB:");
        assert!(parameter.contains("Default: parquet"), "{parameter}");
        assert!(
            TEMPLATE.contains("IsParquet: !Equals [!Ref LakeFormat, parquet]"),
            "the condition"
        );
        let outputs = TEMPLATE.split("\nOutputs:\n").nth(1).expect("Outputs");
        assert!(
            outputs.contains("  LakeFormat:\n    Value: !Ref LakeFormat"),
            "{outputs}"
        );
        let mut bad = StackParameters::default();
        bad.set("LakeFormat", "orc");
        let refused = bad.validate().unwrap_err().to_string();
        assert!(refused.contains("--lake-format"), "{refused}");
    }

    #[test]
    fn the_pipe_waits_for_firehose_and_has_limits_and_a_dead_letter_queue() {
        let pipe = TEMPLATE
            .split("  CdcPipe:")
            .nth(1)
            .and_then(|rest| rest.split("\n  GlueDatabase:").next())
            .expect("CdcPipe section");
        assert!(pipe.contains("DependsOn: DeliveryStream"), "{pipe}");
        for needed in [
            "MaximumRetryAttempts",
            "MaximumRecordAgeInSeconds",
            "DeadLetterConfig",
            "StartingPosition: TRIM_HORIZON",
            "$.dynamodb.Keys.order_id.S",
            "Condition: HasCode",
        ] {
            assert!(pipe.contains(needed), "the pipe lacks {needed}");
        }
        let firehose = TEMPLATE
            .split("  DeliveryStream:")
            .nth(1)
            .and_then(|rest| rest.split("  CdcPipe:").next())
            .expect("DeliveryStream section");
        for needed in [
            "CloudWatchLoggingOptions",
            "ProcessingConfiguration",
            "Condition: HasCode",
            "ErrorOutputPrefix",
        ] {
            assert!(firehose.contains(needed), "Firehose lacks {needed}");
        }
    }
}

//! The stack on CloudFormation: its names (resolved once from the settings), the template and
//! the parameters salesctl passes it, and the modules that deploy, inspect and remove it.

pub mod bucket;
pub mod deploy;
pub mod facts;
pub mod health;
pub mod policy;
pub mod template;
pub mod workflow;

use crate::settings::Settings;
use crate::stack::template::{CONVERSION_MIN_BUFFER_MB, StackParameters};
use salesctl_core::lake_schema::LakeFormat;

/// What `up` and `deploy-lambda` may set beyond the names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployOptions {
    /// Provisioned shards; 0 is on-demand capacity.
    pub shards: u32,
    /// The transform zip's key in the bucket; empty for none (no function, Firehose or pipe).
    pub code_key: String,
    pub architecture: String,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    /// Point-in-time recovery (continuous backups) of the orders table.
    pub point_in_time_recovery: bool,
    /// First day of the dt partition projection: the stack's creation date.
    pub projection_start: String,
    /// How Firehose writes the lake (the template's `LakeFormat`); `None` is the setting
    /// (`lake_format`), which a new stack takes.
    pub lake_format: Option<LakeFormat>,
}

impl DeployOptions {
    /// A new stack's options on day `today`: on-demand, no code yet, the template's defaults.
    pub fn initial(today: chrono::DateTime<chrono::Utc>) -> DeployOptions {
        DeployOptions {
            shards: 0,
            code_key: String::new(),
            architecture: "x86_64".into(),
            memory_mb: 256,
            timeout_seconds: 60,
            point_in_time_recovery: true,
            projection_start: today.format("%Y-%m-%d").to_string(),
            lake_format: None,
        }
    }
}

/// Every resource name and ARN of one stack, resolved once (account, region, bucket) so
/// the pure parts (policies, plans) need no client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackNames {
    pub region: String,
    pub account: String,
    pub prefix: String,
    pub table: String,
    pub stream: String,
    pub bucket: String,
    pub pipe: String,
    pub firehose: String,
    pub lambda: String,
    pub glue_database: String,
    pub workgroup: String,
}

impl StackNames {
    pub fn new(settings: &Settings, account: &str, region: &str, bucket: &str) -> StackNames {
        let prefix = settings.stack_prefix.clone();
        StackNames {
            region: region.to_string(),
            account: account.to_string(),
            table: settings.table.clone(),
            stream: settings.stream.clone(),
            bucket: bucket.to_string(),
            pipe: settings.pipe.clone(),
            firehose: settings.firehose.clone(),
            lambda: settings.lambda.clone(),
            glue_database: settings.glue_database.clone(),
            workgroup: settings.workgroup.clone(),
            prefix,
        }
    }

    /// Resolves account, region and bucket through the clients (one STS call).
    pub async fn resolve(
        clients: &crate::aws::Clients,
        settings: &Settings,
    ) -> anyhow::Result<StackNames> {
        let account = clients.account_id().await?;
        let bucket = settings.lake_bucket(&account, clients.region());
        Ok(StackNames::new(
            settings,
            &account,
            clients.region(),
            &bucket,
        ))
    }

    /// The CloudFormation stack's name: the prefix, so `--stack-prefix` stacks live apart.
    pub fn stack_name(&self) -> &str {
        &self.prefix
    }

    /// The template's parameters for these names, the settings' buffers and `options`.
    ///
    /// The lake format is the options' (the flag's or the stack's), else the setting's. A
    /// Parquet lake buffers `buffer_mb` but at least [`CONVERSION_MIN_BUFFER_MB`], Firehose's
    /// floor for record format conversion (`ConversionBufferMB`).
    pub fn parameters(&self, settings: &Settings, options: &DeployOptions) -> StackParameters {
        let lake_format = options.lake_format.unwrap_or(settings.lake_format);
        let mut p = StackParameters::default();
        p.set("Prefix", &self.prefix)
            .set("TableName", &self.table)
            .set("StreamName", &self.stream)
            .set("BucketName", &self.bucket)
            .set("PipeName", &self.pipe)
            .set("DeliveryStreamName", &self.firehose)
            .set("FunctionName", &self.lambda)
            .set("GlueDatabaseName", &self.glue_database)
            .set("WorkgroupName", &self.workgroup)
            .set("ShardCount", options.shards)
            .set("BufferSeconds", settings.buffer_seconds)
            .set("BufferMB", settings.buffer_mb)
            .set(
                "ConversionBufferMB",
                settings.buffer_mb.max(CONVERSION_MIN_BUFFER_MB),
            )
            .set("LakeFormat", lake_format.as_str())
            .set("CodeKey", &options.code_key)
            .set("FunctionArchitecture", &options.architecture)
            .set("FunctionMemory", options.memory_mb)
            .set("FunctionTimeout", options.timeout_seconds)
            .set("PointInTimeRecovery", options.point_in_time_recovery)
            .set("ProjectionStart", &options.projection_start);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix_and_make_valid_parameters() {
        let settings = Settings::with_prefix("blue");
        let names = StackNames::new(
            &settings,
            "123456789012",
            "eu-west-1",
            "blue-lake-123456789012-eu-west-1",
        );
        assert_eq!(names.stack_name(), "blue");
        let options = DeployOptions::initial(chrono::Utc::now());
        let parameters = names.parameters(&settings, &options);
        parameters.validate().expect("the defaults are valid");
        assert_eq!(parameters.get("TableName"), Some("blue-orders"));
        assert_eq!(
            parameters.get("PointInTimeRecovery"),
            Some("true"),
            "point-in-time recovery is on unless asked otherwise"
        );
        // A new stack writes Parquet (the setting's default), buffering at least 64 MiB.
        assert_eq!(parameters.get("LakeFormat"), Some("parquet"));
        assert_eq!(parameters.get("BufferMB"), Some("5"));
        assert_eq!(parameters.get("ConversionBufferMB"), Some("64"));
        let json = Settings {
            lake_format: LakeFormat::Json,
            buffer_mb: 100,
            ..settings.clone()
        };
        let chosen = names.parameters(&json, &options);
        chosen.validate().expect("a JSON lake is valid");
        assert_eq!(chosen.get("LakeFormat"), Some("json"));
        assert_eq!(chosen.get("ConversionBufferMB"), Some("100"));
        // The options' format (a flag, or the stack's) wins over the setting.
        let kept = names.parameters(
            &json,
            &DeployOptions {
                lake_format: Some(LakeFormat::Parquet),
                ..options.clone()
            },
        );
        assert_eq!(kept.get("LakeFormat"), Some("parquet"));
        let bad = names.parameters(
            &settings,
            &DeployOptions {
                timeout_seconds: 301,
                ..options
            },
        );
        assert!(bad.validate().is_err());
    }
}

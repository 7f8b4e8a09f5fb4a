//! The engine flags `query` and `report` share, and the choice they make: Athena on AWS, the
//! embedded engine on an emulator or over lake files.

use rust_decimal::Decimal;

use crate::context::Context;
use crate::error::usage_error;
use crate::sql::{EngineKind, LakeLocation, QueryEngine, athena, local};

/// `--engine`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineFlag {
    Athena,
    Local,
}

#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
    /// Where the SQL runs (default: athena; local with --local, an emulator endpoint or --data).
    #[arg(long, value_enum)]
    pub engine: Option<EngineFlag>,
    /// Lake for the local engine: a directory holding dt=…/hour=… folders, or
    /// s3://bucket/prefix/ (default: s3://<lake bucket>/orders/).
    #[arg(long, value_name = "URL")]
    pub data: Option<String>,
    /// Athena workgroup (default: the stack's workgroup).
    #[arg(long, value_name = "NAME")]
    pub workgroup: Option<String>,
    /// Athena/Glue database (default: the stack's Glue database).
    #[arg(long, value_name = "NAME")]
    pub database: Option<String>,
    /// Athena result location, s3://bucket/prefix/ (optional when the workgroup sets one).
    #[arg(long, value_name = "S3_URL")]
    pub output_location: Option<String>,
    /// Price per TB scanned for the approximate Athena cost line, in USD.
    #[arg(long, value_name = "USD", default_value = "5", value_parser = super::values::dollars, allow_negative_numbers = true)]
    pub price_per_tb: Decimal,
}

impl EngineArgs {
    /// Athena, unless the user asked otherwise or points at an emulator (which runs no SQL)
    /// or at lake files.
    pub async fn kind(&self, ctx: &Context) -> anyhow::Result<EngineKind> {
        Ok(match self.engine {
            Some(EngineFlag::Athena) => EngineKind::Athena,
            Some(EngineFlag::Local) => EngineKind::Local,
            None if self.data.is_some() => EngineKind::Local,
            None if ctx.targets_emulator().await? => EngineKind::Local,
            None => EngineKind::Athena,
        })
    }

    /// Opens the engine the flags and settings choose; a local engine over S3 reads the
    /// lake in place.
    pub async fn open(&self, ctx: &Context) -> anyhow::Result<QueryEngine> {
        match self.kind(ctx).await? {
            EngineKind::Athena => {
                if self.data.is_some() {
                    return Err(usage_error(
                        "--data is for the local engine: drop --engine athena or drop --data",
                    ));
                }
                let aws = ctx.aws().await?;
                if aws.targets_emulator() {
                    let workgroup = self.workgroup.as_deref().unwrap_or(&ctx.settings.workgroup);
                    let listed = aws.athena.list_work_groups().send().await;
                    let exists = listed
                        .is_ok_and(|l| l.work_groups().iter().any(|w| w.name() == Some(workgroup)));
                    if !exists {
                        return Err(usage_error(format!(
                            "the emulator has no Athena workgroup '{workgroup}' (it stores Athena resources but runs no SQL): drop --engine athena, the local engine is the one that runs here"
                        )));
                    }
                }
                let options = athena::AthenaOptions {
                    workgroup: self
                        .workgroup
                        .clone()
                        .unwrap_or_else(|| ctx.settings.workgroup.clone()),
                    database: self
                        .database
                        .clone()
                        .unwrap_or_else(|| ctx.settings.glue_database.clone()),
                    output_location: self.output_location.clone(),
                    price_per_tb: self.price_per_tb,
                    page_size: athena::MAX_PAGE_SIZE,
                };
                Ok(QueryEngine::Athena(athena::AthenaEngine::new(
                    aws.athena.clone(),
                    options,
                    ctx.shutdown_signal(),
                )))
            }
            EngineKind::Local => {
                let location = match &self.data {
                    Some(url) => LakeLocation::parse(url)?,
                    None => {
                        let aws = ctx.aws().await?;
                        LakeLocation::S3 {
                            bucket: aws.bucket(&ctx.settings).await?,
                            prefix: crate::lake::DATA_PREFIX.to_string(),
                        }
                    }
                };
                let engine = match &location {
                    LakeLocation::Dir(dir) => {
                        local::LocalEngine::open_dir(
                            dir,
                            dir.display().to_string(),
                            ctx.shutdown_signal(),
                        )
                        .await?
                    }
                    LakeLocation::S3 { bucket, prefix } => {
                        let aws = ctx.aws().await?;
                        local::LocalEngine::open_s3(
                            &aws.config,
                            bucket,
                            prefix,
                            ctx.shutdown_signal(),
                        )
                        .await?
                    }
                };
                Ok(QueryEngine::Local(engine))
            }
        }
    }
}

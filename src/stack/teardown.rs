//! `down`: delete what `up` made, in reverse dependency order; what is already gone is
//! "absent", so a second run (or one after a half-finished first) simply completes.

use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use super::calls::{describe_firehose, not_found_or};
use super::function::get_function;
use super::resources::{
    bucket_exists, describe_pipe, describe_stream, describe_table, glue_database_exists,
    glue_table_exists, workgroup_state,
};
use super::{Kind, Outcome, Progress, StackNames};
use crate::aws::{Clients, ServiceResultExt};
use crate::error::service_error;

#[derive(Debug, Clone, Copy)]
pub struct DownOptions {
    pub dry_run: bool,
    pub keep_data: bool,
    /// The emulator enforces a bucket's Deny statements without their conditions, so the
    /// TLS-only policy must go before the bucket can be emptied over plain HTTP.
    pub emulator: bool,
}

/// Deletes everything `up` made, in reverse order; what is already gone is "absent".
pub async fn down(
    c: &Clients,
    n: &StackNames,
    opts: DownOptions,
    p: &mut Progress,
) -> anyhow::Result<()> {
    for kind in super::UP_ORDER.iter().rev().copied() {
        let name = n.name_of(kind).to_string();
        let (outcome, detail) = down_one(c, n, kind, opts).await?;
        p.record(kind, &name, outcome, detail);
    }
    Ok(())
}

fn gone(existed: bool, dry_run: bool) -> Outcome {
    match (existed, dry_run) {
        (false, _) => Outcome::Absent,
        (true, true) => Outcome::WouldDelete,
        (true, false) => Outcome::Deleted,
    }
}

async fn down_one(
    c: &Clients,
    n: &StackNames,
    kind: Kind,
    opts: DownOptions,
) -> anyhow::Result<(Outcome, String)> {
    let dry = opts.dry_run;
    let mut detail = String::new();
    let existed = match kind {
        Kind::Workgroup => {
            let exists = workgroup_state(c, n).await?.is_some();
            if exists && !dry {
                c.athena
                    .delete_work_group()
                    .work_group(&n.workgroup)
                    .recursive_delete_option(true)
                    .send()
                    .await
                    .service_context(|| {
                        format!("cannot delete Athena workgroup '{}'", n.workgroup)
                    })?;
            }
            exists
        }
        Kind::GlueTable => {
            let exists = glue_table_exists(c, n).await?;
            if exists && !dry {
                c.glue
                    .delete_table()
                    .database_name(&n.glue_database)
                    .name(&n.glue_table)
                    .send()
                    .await
                    .service_context(|| format!("cannot delete Glue table '{}'", n.glue_table))?;
            }
            exists
        }
        Kind::GlueDatabase => {
            let exists = glue_database_exists(c, n).await?;
            if exists && !dry {
                c.glue
                    .delete_database()
                    .name(&n.glue_database)
                    .send()
                    .await
                    .service_context(|| {
                        format!("cannot delete Glue database '{}'", n.glue_database)
                    })?;
            }
            exists
        }
        Kind::DeliveryStream => {
            let exists = describe_firehose(c, n).await?.is_some();
            if exists && !dry {
                let r = c
                    .firehose
                    .delete_delivery_stream()
                    .delivery_stream_name(&n.firehose)
                    .send()
                    .await;
                not_found_or(r, || {
                    format!("cannot delete firehose stream '{}'", n.firehose)
                })?;
            }
            exists
        }
        Kind::Pipe => {
            let exists = describe_pipe(c, n).await?.is_some();
            if exists && !dry {
                let r = c.pipes.delete_pipe().name(&n.pipe).send().await;
                not_found_or(r, || format!("cannot delete pipe '{}'", n.pipe))?;
            }
            exists
        }
        Kind::Function => {
            let exists = get_function(c, n).await?.is_some();
            if exists && !dry {
                let r = c
                    .lambda
                    .delete_function()
                    .function_name(&n.lambda)
                    .send()
                    .await;
                not_found_or(r, || format!("cannot delete function '{}'", n.lambda))?;
            }
            exists
        }
        Kind::PipeRole | Kind::FirehoseRole | Kind::LambdaRole => {
            delete_role(c, n.name_of(kind), dry).await?
        }
        Kind::Bucket => {
            let exists = bucket_exists(c, n).await?;
            if exists && opts.keep_data {
                return Ok((Outcome::Kept, "--keep-data".to_string()));
            }
            if exists && !dry {
                if opts.emulator {
                    let _ = c.s3.delete_bucket_policy().bucket(&n.bucket).send().await;
                }
                let removed = empty_bucket(c, &n.bucket).await?;
                detail = format!("{removed} object versions removed");
                c.s3.delete_bucket()
                    .bucket(&n.bucket)
                    .send()
                    .await
                    .service_context(|| format!("cannot delete bucket '{}'", n.bucket))?;
            }
            exists
        }
        Kind::Stream => {
            let exists = describe_stream(c, n).await?.is_some();
            if exists && !dry {
                let r = c
                    .kinesis
                    .delete_stream()
                    .stream_name(&n.stream)
                    .enforce_consumer_deletion(true)
                    .send()
                    .await;
                not_found_or(r, || format!("cannot delete stream '{}'", n.stream))?;
            }
            exists
        }
        Kind::Table => {
            let exists = describe_table(c, n).await?.is_some();
            if exists && !dry {
                let r = c.dynamodb.delete_table().table_name(&n.table).send().await;
                not_found_or(r, || format!("cannot delete table '{}'", n.table))?;
            }
            exists
        }
    };
    Ok((gone(existed, dry), detail))
}

async fn delete_role(c: &Clients, role: &str, dry: bool) -> anyhow::Result<bool> {
    let exists = not_found_or(c.iam.get_role().role_name(role).send().await, || {
        format!("cannot read role '{role}'")
    })?
    .is_some();
    if !exists || dry {
        return Ok(exists);
    }
    // A role with policies cannot be deleted; remove ours and anything attached since.
    let inline = c
        .iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .service_context(|| format!("cannot list the policies of role '{role}'"))?;
    for policy in inline.policy_names() {
        c.iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(policy)
            .send()
            .await
            .service_context(|| format!("cannot delete policy '{policy}' of role '{role}'"))?;
    }
    let attached = c
        .iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .service_context(|| format!("cannot list the attached policies of role '{role}'"))?;
    for policy in attached.attached_policies() {
        if let Some(arn) = policy.policy_arn() {
            c.iam
                .detach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send()
                .await
                .service_context(|| format!("cannot detach '{arn}' from role '{role}'"))?;
        }
    }
    let r = c.iam.delete_role().role_name(role).send().await;
    not_found_or(r, || format!("cannot delete role '{role}'"))?;
    Ok(true)
}

/// Deletes every object version and delete marker (a versioned bucket cannot be deleted
/// otherwise), 1,000 per request. Returns how many were removed.
async fn empty_bucket(c: &Clients, bucket: &str) -> anyhow::Result<u64> {
    let mut removed = 0u64;
    loop {
        let page =
            c.s3.list_object_versions()
                .bucket(bucket)
                .send()
                .await
                .service_context(|| format!("cannot list the objects of bucket '{bucket}'"))?;
        let mut ids = Vec::new();
        for v in page.versions() {
            if let Some(key) = v.key() {
                ids.push(
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(v.version_id().map(str::to_string))
                        .build()?,
                );
            }
        }
        for m in page.delete_markers() {
            if let Some(key) = m.key() {
                ids.push(
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(m.version_id().map(str::to_string))
                        .build()?,
                );
            }
        }
        if ids.is_empty() {
            return Ok(removed);
        }
        // Each pass deletes what the first page listed, so the next listing starts over
        // on what is left; no markers to carry between passes.
        for chunk in ids.chunks(1000) {
            let out =
                c.s3.delete_objects()
                    .bucket(bucket)
                    .delete(
                        Delete::builder()
                            .set_objects(Some(chunk.to_vec()))
                            .quiet(true)
                            .build()?,
                    )
                    .send()
                    .await
                    .service_context(|| format!("cannot delete objects from bucket '{bucket}'"))?;
            if let Some(err) = out.errors().first() {
                return Err(service_error(format!(
                    "cannot delete '{}' from bucket '{bucket}': {}",
                    err.key().unwrap_or("?"),
                    err.message().unwrap_or("no reason given")
                )));
            }
            removed += chunk.len() as u64;
        }
    }
}

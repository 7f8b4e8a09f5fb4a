//! The lake bucket's part in the stack's life: the transform zip uploaded by content hash
//! before CloudFormation makes the function from it, and the bucket emptied and removed by
//! `down` (CloudFormation retains it, so the data never goes by accident).

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use sha2::{Digest, Sha256};

use crate::aws::{Clients, ServiceResultExt};
use crate::error::service_error;
use crate::stack::template::CODE_PREFIX;

/// The key a zip is stored under: its SHA-256, so the same build is uploaded once and a new
/// build is a new key, which is what makes CloudFormation update the function.
pub fn code_key(zip: &[u8]) -> String {
    let digest = Sha256::digest(zip);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{CODE_PREFIX}{hex}.zip")
}

/// Uploads `zip` under its content key unless it is there; returns the key.
pub async fn upload_code(c: &Clients, bucket: &str, zip: Vec<u8>) -> anyhow::Result<String> {
    let key = code_key(&zip);
    let present =
        c.s3.head_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .is_ok();
    if !present {
        c.s3.put_object()
            .bucket(bucket)
            .key(&key)
            .content_type("application/zip")
            .body(zip.into())
            .send()
            .await
            .service_context(|| format!("uploading s3://{bucket}/{key}"))?;
    }
    Ok(key)
}

/// True when the bucket exists (and is ours to see).
pub async fn exists(c: &Clients, bucket: &str) -> bool {
    c.s3.head_bucket().bucket(bucket).send().await.is_ok()
}

/// Empties and deletes the bucket; returns how many objects were removed.
pub async fn remove(c: &Clients, bucket: &str) -> anyhow::Result<u64> {
    let removed = empty_bucket(c, bucket).await?;
    c.s3.delete_bucket()
        .bucket(bucket)
        .send()
        .await
        .service_context(|| format!("deleting bucket '{bucket}'"))?;
    Ok(removed)
}

/// Deletes every object version and delete marker (a versioned bucket cannot be deleted
/// otherwise), 1,000 per request. Returns how many were removed.
pub async fn empty_bucket(c: &Clients, bucket: &str) -> anyhow::Result<u64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_keys_name_the_content() {
        let key = code_key(b"zip bytes");
        assert!(key.starts_with("lambda/") && key.ends_with(".zip"), "{key}");
        assert_eq!(key.len(), "lambda/".len() + 64 + ".zip".len());
        assert_eq!(key, code_key(b"zip bytes"));
        assert_ne!(key, code_key(b"other bytes"));
    }
}

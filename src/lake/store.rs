//! The lake as an `object_store` store, for the embedded SQL engine to read in place: S3 signed
//! with the SDK's own credential chain, or a local directory; and what the newest partition says.
//!
//! The S3 store is configured from what the AWS SDK resolved (region, endpoint, credentials
//! from profiles, SSO, the environment or an instance role), so the engine reads exactly what
//! every other verb reads, with no second configuration to drift.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_s3::config::{ProvideCredentials, SharedCredentialsProvider};
use object_store::aws::{AmazonS3Builder, AwsCredential};
use object_store::path::Path as StorePath;
use object_store::{ClientOptions, CredentialProvider, ObjectMeta, ObjectStore, RetryConfig};
use salesctl_core::lake_schema::LakeFormat;

/// Hands object_store the SDK's credentials, refreshed by the SDK's own provider chain (its
/// cache renews expiring session credentials), so SSO and role sessions work as for the SDK.
#[derive(Debug)]
struct SdkCredentials(SharedCredentialsProvider);

#[async_trait::async_trait]
impl CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let credentials =
            self.0
                .provide_credentials()
                .await
                .map_err(|e| object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(e),
                })?;
        Ok(Arc::new(AwsCredential {
            key_id: credentials.access_key_id().to_string(),
            secret_key: credentials.secret_access_key().to_string(),
            token: credentials.session_token().map(str::to_string),
        }))
    }
}

/// An S3 store for `bucket` from the SDK's resolved configuration. With a custom endpoint
/// (an emulator, an S3-compatible store) requests are path-style and may be plain HTTP, as
/// for the SDK's own S3 client.
pub fn s3_store(config: &SdkConfig, bucket: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let region = config.region().map_or("us-east-1", |r| r.as_ref());
    // Fail within a bounded time on a silent endpoint: a few retries with backoff for
    // throttling and transient errors, never the default three minutes.
    let retry = RetryConfig {
        max_retries: 4,
        retry_timeout: Duration::from_secs(30),
        ..RetryConfig::default()
    };
    let options = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(60));
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(region)
        .with_retry(retry)
        .with_client_options(options);
    if let Some(endpoint) = config.endpoint_url() {
        builder = builder
            .with_endpoint(endpoint.trim_end_matches('/'))
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    if let Some(provider) = config.credentials_provider() {
        builder = builder.with_credentials(Arc::new(SdkCredentials(provider)));
    }
    let store = builder
        .build()
        .map_err(|e| anyhow::anyhow!("cannot read s3://{bucket}/ in place: {e}"))?;
    Ok(Arc::new(store))
}

/// The newest data object below `prefix` (the last `dt=`, its last `hour=`, that hour's
/// object written last): three listings whatever the lake's age. `None` when the lake holds
/// no data object.
pub async fn newest_data_object(
    store: &dyn ObjectStore,
    prefix: &StorePath,
) -> object_store::Result<Option<ObjectMeta>> {
    let mut at = prefix.clone();
    for level in ["dt=", "hour="] {
        let newest = partitions(store, &at, level)
            .await?
            .into_iter()
            .max_by(|a, b| a.as_ref().cmp(b.as_ref()));
        match newest {
            Some(next) => at = next,
            None => return Ok(None),
        }
    }
    let listed = store.list_with_delimiter(Some(&at)).await?;
    Ok(listed
        .objects
        .into_iter()
        .filter(|o| o.size > 0)
        .max_by_key(|o| o.last_modified))
}

/// The partition folders right below `at` whose names start with `level` (`dt=`, `hour=`):
/// one listing.
pub async fn partitions(
    store: &dyn ObjectStore,
    at: &StorePath,
    level: &str,
) -> object_store::Result<Vec<StorePath>> {
    let listed = store.list_with_delimiter(Some(at)).await?;
    Ok(listed
        .common_prefixes
        .into_iter()
        .filter(|p| p.filename().is_some_and(|name| name.starts_with(level)))
        .collect())
}

/// The format of a lake, by its newest object's name: Parquet objects end in `.parquet`
/// (Firehose's `FileExtension` and the relay's writer), NDJSON objects have no suffix.
pub fn format_of(object: &ObjectMeta) -> LakeFormat {
    if object
        .location
        .filename()
        .is_some_and(|name| name.ends_with(LakeFormat::Parquet.extension()))
    {
        LakeFormat::Parquet
    } else {
        LakeFormat::Json
    }
}

/// A store that leaves some objects out of its listings: objects found unreadable are set
/// aside for the rest of a run (reconcile counts them and goes on), without moving or
/// deleting anything in the lake. Every other call goes to the store it wraps.
#[derive(Debug)]
pub struct SkippingStore {
    inner: Arc<dyn ObjectStore>,
    skipped: Arc<std::sync::RwLock<std::collections::HashSet<StorePath>>>,
}

impl SkippingStore {
    pub fn new(inner: Arc<dyn ObjectStore>) -> SkippingStore {
        SkippingStore {
            inner,
            skipped: Arc::default(),
        }
    }

    /// Leaves `object` out of every listing from now on; false when it already was.
    pub fn skip(&self, object: StorePath) -> bool {
        self.skipped
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(object)
    }

    fn is_skipped(&self, object: &StorePath) -> bool {
        self.skipped
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(object)
    }
}

impl std::fmt::Display for SkippingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for SkippingStore {
    async fn put_opts(
        &self,
        location: &StorePath,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &StorePath,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &StorePath,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<'static, object_store::Result<StorePath>>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<StorePath>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&StorePath>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<ObjectMeta>> {
        use futures::StreamExt;
        let skipped = self.skipped.clone();
        self.inner
            .list(prefix)
            .filter(move |meta| {
                let keep = match meta {
                    Ok(meta) => !skipped
                        .read()
                        .unwrap_or_else(|e| e.into_inner())
                        .contains(&meta.location),
                    Err(_) => true,
                };
                std::future::ready(keep)
            })
            .boxed()
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&StorePath>,
    ) -> object_store::Result<object_store::ListResult> {
        let mut listed = self.inner.list_with_delimiter(prefix).await?;
        listed
            .objects
            .retain(|meta| !self.is_skipped(&meta.location));
        Ok(listed)
    }

    async fn copy_opts(
        &self,
        from: &StorePath,
        to: &StorePath,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::local::LocalFileSystem;

    fn touch(root: &std::path::Path, relative: &str, body: &[u8]) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }

    #[tokio::test]
    async fn the_newest_partition_names_the_format() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        let prefix = StorePath::from("orders");
        assert!(newest_data_object(&store, &prefix).await.unwrap().is_none());
        touch(dir.path(), "orders/dt=2026-11-01/hour=23/a", b"{}\n");
        touch(
            dir.path(),
            "orders/dt=2026-11-02/hour=03/b.parquet",
            b"PAR1",
        );
        touch(
            dir.path(),
            "orders/dt=2026-11-02/hour=10/c.parquet",
            b"PAR1",
        );
        touch(dir.path(), "orders/dt=2026-11-02/hour=10/empty", b"");
        touch(dir.path(), "orders/notes/z", b"x");
        let newest = newest_data_object(&store, &prefix).await.unwrap().unwrap();
        assert_eq!(
            newest.location.as_ref(),
            "orders/dt=2026-11-02/hour=10/c.parquet"
        );
        assert_eq!(format_of(&newest), LakeFormat::Parquet);
        touch(dir.path(), "orders/dt=2026-11-03/hour=00/d", b"{}\n");
        let newest = newest_data_object(&store, &prefix).await.unwrap().unwrap();
        assert_eq!(format_of(&newest), LakeFormat::Json);
    }

    #[tokio::test]
    async fn a_skipped_object_is_left_out_of_every_listing_and_nothing_else() {
        use futures::TryStreamExt;
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "orders/dt=2026-11-01/hour=01/good", b"{}\n");
        touch(dir.path(), "orders/dt=2026-11-01/hour=01/bad", b"\xff");
        let store = SkippingStore::new(Arc::new(
            LocalFileSystem::new_with_prefix(dir.path()).unwrap(),
        ));
        let hour = StorePath::from("orders/dt=2026-11-01/hour=01");
        let names = |metas: Vec<ObjectMeta>| -> Vec<String> {
            let mut names: Vec<String> = metas.iter().map(|m| m.location.to_string()).collect();
            names.sort();
            names
        };
        let listed = store
            .list(Some(&hour))
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        assert_eq!(names(listed).len(), 2);
        store.skip(StorePath::from("orders/dt=2026-11-01/hour=01/bad"));
        let listed = store
            .list(Some(&hour))
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        assert_eq!(names(listed), ["orders/dt=2026-11-01/hour=01/good"]);
        let delimited = store.list_with_delimiter(Some(&hour)).await.unwrap();
        assert_eq!(
            names(delimited.objects),
            ["orders/dt=2026-11-01/hour=01/good"]
        );
        // Still readable by name: only listings leave it out.
        use object_store::ObjectStoreExt;
        assert!(
            store
                .get(&StorePath::from("orders/dt=2026-11-01/hour=01/bad"))
                .await
                .is_ok()
        );
    }
}

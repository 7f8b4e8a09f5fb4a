//! The lake's objects in S3: listing by prefix (page by page, past 1,000 keys) or by time range
//! (only the range's partitions), reading an object, and writing one (the relay's flush).

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::list_objects_v2::{ListObjectsV2Error, ListObjectsV2Output};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::io::AsyncWrite;

use crate::aws::ServiceResultExt;
use crate::error::service_error;
use crate::lake::layout::data_prefixes;

/// A failed listing call, as the SDK reports it (for [`crate::aws::is_not_found`] and
/// [`crate::aws::describe`]).
pub type ListError = SdkError<ListObjectsV2Error>;

/// What the lake's rows are written as: one JSON object per line.
const NDJSON: &str = "application/x-ndjson";

/// One bucket, for reading and writing lake objects. Cheap to clone (the client is shared).
#[derive(Clone, Debug)]
pub struct Lake {
    s3: aws_sdk_s3::Client,
    bucket: String,
}

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEntry {
    pub key: String,
    /// When it was last written.
    pub written: Option<DateTime<Utc>>,
    pub etag: String,
    pub size: i64,
}

/// One object with its body.
pub struct LakeObject {
    pub key: String,
    pub written: Option<DateTime<Utc>>,
    pub body: Vec<u8>,
}

/// A listing, one page (up to 1,000 keys) at a time; the SDK's paginator carries the
/// continuation token.
pub struct Pages {
    inner: BoxStream<'static, Result<ListObjectsV2Output, ListError>>,
}

impl Pages {
    /// The next page's objects, `None` after the last page.
    pub async fn next(&mut self) -> Option<Result<Vec<ObjectEntry>, ListError>> {
        let page = self.inner.next().await?;
        Some(page.map(|page| page.contents().iter().filter_map(entry).collect()))
    }
}

fn entry(object: &aws_sdk_s3::types::Object) -> Option<ObjectEntry> {
    Some(ObjectEntry {
        key: object.key()?.to_string(),
        written: object
            .last_modified()
            .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
        etag: object.e_tag().unwrap_or_default().to_string(),
        size: object.size().unwrap_or(0),
    })
}

impl Lake {
    pub fn new(s3: &aws_sdk_s3::Client, bucket: impl Into<String>) -> Lake {
        Lake {
            s3: s3.clone(),
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// `s3://bucket/key`, for messages.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// Every object under `prefix`, page by page.
    pub fn pages(&self, prefix: &str) -> Pages {
        let mut paginator = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        Pages {
            inner: futures::stream::poll_fn(move |cx| paginator.poll_next(cx)).boxed(),
        }
    }

    /// The "folders" directly under `prefix` (`orders/dt=2026-11-20/`, …), all pages: one
    /// call per thousand, whatever the objects below them.
    pub async fn child_prefixes(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.service_context(|| format!("listing {}", self.url(prefix)))?;
            found.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
        }
        Ok(found)
    }

    /// The objects below `root` (a prefix holding `dt=YYYY-MM-DD/` folders: `orders/`, or
    /// `errors/<type>/`) written since `since`: only the days from `since`'s to today are
    /// listed, so the cost follows the window, not the lake's age.
    pub async fn written_since(
        &self,
        root: &str,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Vec<ObjectEntry>> {
        let mut found = Vec::new();
        let mut day = since.date_naive();
        let today = Utc::now().date_naive();
        while day <= today {
            let prefix = crate::lake::layout::dated_prefix(root, day);
            found.extend(
                self.list(&prefix)
                    .await?
                    .into_iter()
                    .filter(|o| o.written.is_some_and(|w| w >= since)),
            );
            day = day.succ_opt().unwrap_or(today + chrono::Days::new(1));
        }
        Ok(found)
    }

    /// The objects under `errors/<type>/` written since `since`, over every failure type
    /// (each type's days since then only).
    pub async fn errors_written_since(
        &self,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Vec<ObjectEntry>> {
        let mut found = Vec::new();
        for root in self.child_prefixes(crate::lake::ERROR_ROOT).await? {
            found.extend(self.written_since(&root, since).await?);
        }
        Ok(found)
    }

    /// Every object under `prefix`, all pages.
    pub async fn list(&self, prefix: &str) -> anyhow::Result<Vec<ObjectEntry>> {
        let mut listed = Vec::new();
        let mut pages = self.pages(prefix);
        while let Some(page) = pages.next().await {
            listed.extend(page.service_context(|| format!("listing {}", self.url(prefix)))?);
        }
        Ok(listed)
    }

    /// Every data object in the partitions from `from`'s hour to `to`'s hour (see
    /// [`data_prefixes`]): only those partitions are listed, never the whole lake.
    pub async fn list_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> anyhow::Result<Vec<ObjectEntry>> {
        let mut listed = Vec::new();
        for prefix in data_prefixes(from, to) {
            listed.extend(self.list(&prefix).await?);
        }
        Ok(listed)
    }

    /// One object's bytes.
    pub async fn read(&self, key: &str) -> anyhow::Result<Vec<u8>> {
        let got = self.get(key, "reading").await?;
        Ok(got.body.collect().await?.into_bytes().to_vec())
    }

    /// One object, its body still to be read; a failure says `doing` and the object's URL.
    async fn get(&self, key: &str, doing: &str) -> anyhow::Result<GetObjectOutput> {
        self.s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .service_context(|| format!("{doing} {}", self.url(key)))
    }

    /// One object's bytes streamed into `out` (a download too large to hold); returns how
    /// many bytes were copied.
    pub async fn copy_to<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        key: &str,
        out: &mut W,
    ) -> anyhow::Result<u64> {
        let got = self.get(key, "cannot download").await?;
        let mut reader = got.body.into_async_read();
        tokio::io::copy(&mut reader, out)
            .await
            .map_err(|e| service_error(format!("cannot download {}: {e}", self.url(key))))
    }

    /// Every object under `prefix` with its body, read one at a time as the listing pages in.
    pub async fn each_object(
        &self,
        prefix: &str,
        mut each: impl FnMut(LakeObject),
    ) -> anyhow::Result<()> {
        let mut pages = self.pages(prefix);
        while let Some(page) = pages.next().await {
            for listed in page.service_context(|| format!("listing {}", self.url(prefix)))? {
                let body = self.read(&listed.key).await?;
                each(LakeObject {
                    key: listed.key,
                    written: listed.written,
                    body,
                });
            }
        }
        Ok(())
    }

    /// Writes one object of rows (NDJSON), replacing any object of that key.
    pub async fn write(&self, key: &str, body: Vec<u8>) -> anyhow::Result<()> {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(NDJSON)
            .body(body.into())
            .send()
            .await
            .service_context(|| format!("writing {}", self.url(key)))?;
        Ok(())
    }
}

//! Every resource name and connection choice in one struct, so two stacks can live side by
//! side. Precedence, lowest first: defaults, the user's config file, the project's
//! `salesctl.toml` (or `--config`), `SALESCTL_*` env, flags.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format as _, Toml};
use serde::Deserialize;

use crate::error::config_error;

/// The endpoint `--local` points at: the moto server started by `scripts/local-aws`.
pub const DEFAULT_LOCAL_ENDPOINT: &str = "http://127.0.0.1:4566";
/// The region `--local` uses; the emulator accepts any, the fixtures use this one.
pub const LOCAL_REGION: &str = "us-east-1";

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub stack_prefix: String,
    pub table: String,
    pub stream: String,
    pub pipe: String,
    pub firehose: String,
    pub lambda: String,
    /// `None` until resolved: on AWS bucket names are global, so the default carries the
    /// account and region (see `aws::Clients::bucket`).
    pub bucket: Option<String>,
    pub glue_database: String,
    pub glue_table: String,
    pub workgroup: String,
    /// Firehose buffering hints, also used by the local firehose stage.
    pub buffer_seconds: u32,
    pub buffer_mb: u32,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// Talk to the local emulator with dummy credentials.
    pub local: bool,
}

impl Settings {
    /// The lake bucket: the configured name, else `<prefix>-lake-<account>-<region>`, since
    /// bucket names are global and a bare default would clash between accounts.
    pub fn lake_bucket(&self, account: &str, region: &str) -> String {
        match &self.bucket {
            Some(bucket) => bucket.clone(),
            None => format!("{}-lake-{account}-{region}", self.stack_prefix),
        }
    }

    /// The default names of DESIGN.md §1, derived from one prefix.
    pub fn with_prefix(prefix: &str) -> Settings {
        Settings {
            stack_prefix: prefix.to_string(),
            table: format!("{prefix}-orders"),
            stream: format!("{prefix}-cdc"),
            pipe: format!("{prefix}-cdc-pipe"),
            firehose: format!("{prefix}-orders"),
            lambda: format!("{prefix}-transform"),
            bucket: None,
            // Glue and Athena names may not contain '-'.
            glue_database: prefix.replace('-', "_"),
            glue_table: "orders_cdc".to_string(),
            workgroup: prefix.to_string(),
            buffer_seconds: 60,
            buffer_mb: 5,
            region: None,
            profile: None,
            endpoint_url: None,
            local: false,
        }
    }

    /// The endpoint clients will use, if any (`--endpoint-url` wins over `--local`).
    pub fn effective_endpoint(&self) -> Option<String> {
        self.endpoint_url.clone().or_else(|| {
            self.local.then(|| {
                std::env::var("SALESCTL_LOCAL_ENDPOINT")
                    .unwrap_or_else(|_| DEFAULT_LOCAL_ENDPOINT.to_string())
            })
        })
    }

    /// True when the endpoint is an emulator on this machine rather than AWS: local stages
    /// run and the local SQL engine is the default.
    pub fn targets_emulator(&self) -> bool {
        let endpoint = self
            .effective_endpoint()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
        endpoint.is_some_and(|url| is_loopback_url(&url))
    }
}

fn is_loopback_url(text: &str) -> bool {
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks an endpoint URL before any client is built: the SDK would otherwise retry an
/// unsupported scheme or an empty host for a minute before giving up.
pub fn check_endpoint_url(text: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(text).map_err(|e| {
        config_error(format!(
            "endpoint URL '{text}' is invalid ({e}): use e.g. http://127.0.0.1:4566 or https://dynamodb.eu-west-1.amazonaws.com"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(config_error(format!(
            "endpoint URL '{text}' uses the scheme '{}', which AWS clients cannot speak: use http:// or https://",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(config_error(format!(
            "endpoint URL '{text}' names no host: use e.g. http://127.0.0.1:4566"
        )));
    }
    Ok(())
}

/// `salesctl.toml`: every key optional, same names as the flags with underscores.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub stack_prefix: Option<String>,
    pub table: Option<String>,
    pub stream: Option<String>,
    pub pipe: Option<String>,
    pub firehose: Option<String>,
    pub lambda: Option<String>,
    pub bucket: Option<String>,
    pub glue_database: Option<String>,
    pub glue_table: Option<String>,
    pub workgroup: Option<String>,
    pub buffer_seconds: Option<u32>,
    pub buffer_mb: Option<u32>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

impl FileSettings {
    /// The user's file, under the project's: `$XDG_CONFIG_HOME/salesctl/config.toml` (else
    /// `~/.config/salesctl/config.toml`), then `path` when given (it must exist), else
    /// `./salesctl.toml` when present. A key in a later file wins.
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileSettings> {
        let mut layers = Figment::new();
        if let Some(user) = user_config_path().filter(|p| p.is_file()) {
            layers = layers.merge(Toml::file_exact(user));
        }
        match path {
            Some(p) => {
                if let Err(e) = std::fs::metadata(p) {
                    return Err(config_error(format!(
                        "cannot read config file {}: {e}: fix the path given by --config or SALESCTL_CONFIG",
                        p.display()
                    )));
                }
                layers = layers.merge(Toml::file_exact(p));
            }
            None if Path::new("salesctl.toml").is_file() => {
                layers = layers.merge(Toml::file_exact("salesctl.toml"));
            }
            None => {}
        }
        layers.extract().map_err(|e| {
            let message = e.to_string().replace('\n', " ");
            config_error(format!(
                "config file is invalid: {message}: fix or remove that key"
            ))
        })
    }
}

/// Where the user-level config file lives (it need not exist).
pub fn user_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("salesctl").join("config.toml"))
}

/// Overrides from the command line or `SALESCTL_*` env (clap merges those two).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub stack_prefix: Option<String>,
    pub table: Option<String>,
    pub stream: Option<String>,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub local: bool,
}

/// Applies file settings then overrides on top of the defaults for the chosen prefix, and
/// checks the endpoint URL.
pub fn resolve(file: FileSettings, overrides: Overrides) -> anyhow::Result<Settings> {
    let prefix = overrides
        .stack_prefix
        .clone()
        .or(file.stack_prefix.clone())
        .unwrap_or_else(|| "salesctl".to_string());
    let mut s = Settings::with_prefix(&prefix);
    macro_rules! take {
        ($field:ident) => {
            if let Some(v) = file.$field {
                s.$field = v;
            }
        };
    }
    take!(table);
    take!(stream);
    take!(pipe);
    take!(firehose);
    take!(lambda);
    take!(glue_database);
    take!(glue_table);
    take!(workgroup);
    take!(buffer_seconds);
    take!(buffer_mb);
    s.bucket = overrides.bucket.or(file.bucket);
    s.region = overrides.region.or(file.region);
    s.profile = overrides.profile.or(file.profile);
    s.endpoint_url = overrides.endpoint_url.or(file.endpoint_url);
    if let Some(v) = overrides.table {
        s.table = v;
    }
    if let Some(v) = overrides.stream {
        s.stream = v;
    }
    s.local = overrides.local;
    if s.local && s.region.is_none() {
        s.region = Some(LOCAL_REGION.to_string());
    }
    if let Some(url) = &s.endpoint_url {
        check_endpoint_url(url)?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_design_names() {
        let s = Settings::with_prefix("salesctl");
        assert_eq!(s.table, "salesctl-orders");
        assert_eq!(s.stream, "salesctl-cdc");
        assert_eq!(s.pipe, "salesctl-cdc-pipe");
        assert_eq!(s.firehose, "salesctl-orders");
        assert_eq!(s.lambda, "salesctl-transform");
        assert_eq!(s.glue_database, "salesctl");
        assert_eq!(s.glue_table, "orders_cdc");
    }

    #[test]
    fn a_prefix_renames_every_resource_and_flags_beat_the_file() {
        let file: FileSettings = toml::from_str(
            "stack_prefix = \"blue\"\ntable = \"from-file\"\nstream = \"file-stream\"\nbuffer_seconds = 15",
        )
        .unwrap();
        let s = resolve(
            file,
            Overrides {
                table: Some("from-flag".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(s.table, "from-flag");
        assert_eq!(s.stream, "file-stream");
        assert_eq!(s.pipe, "blue-cdc-pipe");
        assert_eq!(s.buffer_seconds, 15);
        let s = resolve(
            FileSettings::default(),
            Overrides {
                stack_prefix: Some("green-2".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(s.glue_database, "green_2");
    }

    #[test]
    fn unknown_config_keys_are_rejected() {
        assert!(toml::from_str::<FileSettings>("tabel = \"x\"").is_err());
    }

    #[test]
    fn local_mode_points_at_loopback() {
        let s = resolve(
            FileSettings::default(),
            Overrides {
                local: true,
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(s.region.as_deref(), Some(LOCAL_REGION));
        assert!(s.targets_emulator());
        assert!(is_loopback_url("http://localhost:4566"));
        assert!(is_loopback_url("http://[::1]:4566/"));
        assert!(!is_loopback_url("https://dynamodb.us-east-1.amazonaws.com"));
    }

    #[test]
    fn endpoint_urls_need_a_scheme_the_sdk_speaks_and_a_host() {
        assert!(check_endpoint_url("http://127.0.0.1:4566").is_ok());
        assert!(check_endpoint_url("https://s3.eu-west-1.amazonaws.com").is_ok());
        for bad in [
            "ftp://127.0.0.1:4566",
            "127.0.0.1:4566",
            "http://",
            "not a url",
        ] {
            let message = check_endpoint_url(bad).unwrap_err().to_string();
            assert!(message.contains(bad), "{bad}: {message}");
        }
    }
}

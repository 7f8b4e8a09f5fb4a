//! Every resource name and connection choice in one struct, so two stacks can live side by
//! side. Precedence, lowest first: defaults, the user's config file, the project's
//! `salesctl.toml` (or `--config`), `SALESCTL_*` env, flags.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format as _, Toml};
use serde::Deserialize;

use crate::endpoint::Endpoint;
use crate::error::config_error;
use salesctl_core::lake_schema::LakeFormat;

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
    /// How new stacks and the relay encode the lake's objects (`lake_format` in the config).
    pub lake_format: LakeFormat,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// Talk to the local emulator with dummy credentials.
    pub local: bool,
    /// Where `--local` points: `SALESCTL_LOCAL_ENDPOINT`, else [`DEFAULT_LOCAL_ENDPOINT`].
    pub local_endpoint: String,
    /// `AWS_ENDPOINT_URL`, which the SDK honours too; kept so salesctl knows what it knows.
    pub env_endpoint: Option<String>,
}

/// The process environment salesctl reads, captured once at the top (`context`) so no lower
/// module looks a variable up itself and every part sees the same values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Environment {
    pub home: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    pub xdg_state_home: Option<PathBuf>,
    /// `SALESCTL_STATE_DIR`: the relay's state root.
    pub state_dir: Option<PathBuf>,
    /// `SALESCTL_LOCAL_ENDPOINT`.
    pub local_endpoint: Option<String>,
    /// `AWS_ENDPOINT_URL`.
    pub aws_endpoint_url: Option<String>,
    /// `NO_COLOR` set to anything but the empty string.
    pub no_color: bool,
    /// `COLUMNS`: the width a script asks for when stdout is not a terminal.
    pub columns: Option<usize>,
    /// `PATH`, for finding build tools.
    pub path: Option<std::ffi::OsString>,
    /// `CARGO_TARGET_DIR`, where a Lambda build's output is.
    pub cargo_target_dir: Option<PathBuf>,
}

/// The directories salesctl keeps files in, resolved once from the [`Environment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    /// The user's config file (it need not exist).
    pub user_config: Option<PathBuf>,
    /// Root of the relay's per-stack state; `None` when neither a variable nor HOME names one.
    pub state: Option<PathBuf>,
}

impl Dirs {
    /// XDG's rules: the explicit variable, then `$XDG_*_HOME/salesctl`, then under HOME.
    pub fn from_environment(env: &Environment) -> Dirs {
        let under_home = |rest: &str| env.home.as_ref().map(|h| h.join(rest));
        Dirs {
            user_config: env
                .xdg_config_home
                .clone()
                .or_else(|| under_home(".config"))
                .map(|base| base.join("salesctl").join("config.toml")),
            state: env
                .state_dir
                .clone()
                .or_else(|| env.xdg_state_home.as_ref().map(|d| d.join("salesctl")))
                .or_else(|| under_home(".local/state/salesctl")),
        }
    }
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

    /// The default names (table `<prefix>-orders`, stream `<prefix>-cdc`, …), derived from one prefix.
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
            lake_format: LakeFormat::default(),
            region: None,
            profile: None,
            endpoint_url: None,
            local: false,
            local_endpoint: DEFAULT_LOCAL_ENDPOINT.to_string(),
            env_endpoint: None,
        }
    }

    /// The endpoint clients will use, if any (`--endpoint-url` wins over `--local`).
    pub fn effective_endpoint(&self) -> Option<String> {
        self.endpoint_url
            .clone()
            .or_else(|| self.local.then(|| self.local_endpoint.clone()))
    }

    /// What salesctl knows of the endpoint before the SDK loads a profile: the flag,
    /// `--local`, then `AWS_ENDPOINT_URL`. The SDK's own answer (a profile's `endpoint_url`
    /// included) is in [`crate::aws::Clients::endpoint`], and that one decides.
    pub fn known_endpoint(&self) -> anyhow::Result<Option<Endpoint>> {
        self.effective_endpoint()
            .or_else(|| self.env_endpoint.clone())
            .map(|text| Endpoint::parse(&text))
            .transpose()
    }
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
    pub lake_format: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

impl FileSettings {
    /// The user's file, under the project's: `$XDG_CONFIG_HOME/salesctl/config.toml` (else
    /// `~/.config/salesctl/config.toml`), then `path` when given (it must exist), else
    /// `./salesctl.toml` when present. A key in a later file wins.
    pub fn load(path: Option<&Path>, user_config: Option<&Path>) -> anyhow::Result<FileSettings> {
        let mut layers = Figment::new();
        if let Some(user) = user_config.filter(|p| p.is_file()) {
            readable(user, "remove it or fix it")?;
            layers = layers.merge(Toml::file_exact(user));
        }
        match path {
            Some(p) => {
                readable(p, "fix the path given by --config or SALESCTL_CONFIG")?;
                layers = layers.merge(Toml::file_exact(p));
            }
            None if Path::new("salesctl.toml").is_file() => {
                readable(Path::new("salesctl.toml"), "fix or remove ./salesctl.toml")?;
                layers = layers.merge(Toml::file_exact("salesctl.toml"));
            }
            None => {}
        }
        layers.extract().map_err(|e| {
            let fix = match &e.kind {
                figment::error::Kind::UnknownField(..) => "rename or remove that key",
                figment::error::Kind::Message(text) if text.contains("parse error") => {
                    "fix the TOML at the line and column named"
                }
                _ => "fix the value of that key",
            };
            let message = e.to_string().replace('\n', " ");
            config_error(format!("config file is invalid: {message}: {fix}"))
        })
    }
}

/// A config file must be a readable UTF-8 file; each way it is not gets its own fix.
fn readable(path: &Path, fix: &str) -> anyhow::Result<()> {
    let shown = path.display();
    if path.is_dir() {
        return Err(config_error(format!(
            "config file {shown} is a directory: pass the path of a TOML file"
        )));
    }
    match std::fs::read(path) {
        Ok(bytes) if std::str::from_utf8(&bytes).is_err() => Err(config_error(format!(
            "config file {shown} is not text (not UTF-8): pass the path of a TOML file"
        ))),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(config_error(format!(
            "cannot read config file {shown}: permission denied: make it readable (chmod u+r) or {fix}"
        ))),
        Err(e) => Err(config_error(format!(
            "cannot read config file {shown}: {e}: {fix}"
        ))),
    }
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
/// checks the endpoint URLs.
pub fn resolve(
    file: FileSettings,
    overrides: Overrides,
    env: &Environment,
) -> anyhow::Result<Settings> {
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
    if let Some(text) = &file.lake_format {
        s.lake_format = LakeFormat::parse(text).ok_or_else(|| {
            config_error(format!(
                "config key lake_format = \"{text}\" is not a lake format: use \"parquet\" or \"json\""
            ))
        })?;
    }
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
    for (what, flag, value) in [
        ("stack prefix", "--stack-prefix", Some(&s.stack_prefix)),
        ("table", "--table", Some(&s.table)),
        ("stream", "--stream", Some(&s.stream)),
        ("bucket", "--bucket", s.bucket.as_ref()),
        ("pipe", "pipe", Some(&s.pipe)),
        ("firehose", "firehose", Some(&s.firehose)),
        ("lambda", "lambda", Some(&s.lambda)),
        ("glue_database", "glue_database", Some(&s.glue_database)),
        ("glue_table", "glue_table", Some(&s.glue_table)),
        ("workgroup", "workgroup", Some(&s.workgroup)),
    ] {
        if value.is_some_and(|v| v.trim().is_empty()) {
            return Err(config_error(format!(
                "the {what} name is empty (from {flag}, its SALESCTL_ variable or a config file): give a name, or leave it out for the default"
            )));
        }
    }
    if let Some(local) = &env.local_endpoint {
        s.local_endpoint = local.clone();
    }
    s.env_endpoint = env.aws_endpoint_url.clone().filter(|v| !v.is_empty());
    if let Some(url) = &s.endpoint_url {
        Endpoint::parse(url)?;
    }
    if s.local && s.endpoint_url.is_none() {
        Endpoint::parse(&s.local_endpoint).map_err(|e| {
            config_error(format!(
                "SALESCTL_LOCAL_ENDPOINT={:?}: {e}",
                s.local_endpoint
            ))
        })?;
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
            &Environment::default(),
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
            &Environment::default(),
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
            &Environment::default(),
        )
        .unwrap();
        assert_eq!(s.region.as_deref(), Some(LOCAL_REGION));
        assert!(s.known_endpoint().unwrap().is_some_and(|e| e.emulator));
    }

    #[test]
    fn the_environment_is_read_from_the_snapshot_given() {
        let env = Environment {
            local_endpoint: Some("http://localhost:4999/".into()),
            aws_endpoint_url: Some("http://127.0.0.1:5000".into()),
            ..Environment::default()
        };
        let local = Overrides {
            local: true,
            ..Overrides::default()
        };
        let s = resolve(FileSettings::default(), local.clone(), &env).unwrap();
        assert_eq!(
            s.known_endpoint().unwrap().unwrap().canonical,
            "http://127.0.0.1:4999"
        );
        let s = resolve(FileSettings::default(), Overrides::default(), &env).unwrap();
        assert_eq!(
            s.known_endpoint().unwrap().unwrap().canonical,
            "http://127.0.0.1:5000"
        );
        let garbage = Environment {
            local_endpoint: Some("garbage".into()),
            ..Environment::default()
        };
        let message = resolve(FileSettings::default(), local, &garbage)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("SALESCTL_LOCAL_ENDPOINT=\"garbage\""),
            "{message}"
        );
    }

    #[test]
    fn empty_names_are_refused_by_name() {
        let message = resolve(
            FileSettings::default(),
            Overrides {
                table: Some(String::new()),
                ..Overrides::default()
            },
            &Environment::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            message.contains("table name is empty") && message.contains("--table"),
            "{message}"
        );
    }

    #[test]
    fn directories_follow_xdg_then_home() {
        let home = Environment {
            home: Some("/home/u".into()),
            ..Environment::default()
        };
        let dirs = Dirs::from_environment(&home);
        assert_eq!(
            dirs.user_config.unwrap(),
            PathBuf::from("/home/u/.config/salesctl/config.toml")
        );
        assert_eq!(
            dirs.state.unwrap(),
            PathBuf::from("/home/u/.local/state/salesctl")
        );
        let xdg = Environment {
            xdg_state_home: Some("/x/state".into()),
            state_dir: None,
            ..home
        };
        let dirs = Dirs::from_environment(&xdg);
        assert_eq!(dirs.state.unwrap(), PathBuf::from("/x/state/salesctl"));
        assert!(
            Dirs::from_environment(&Environment::default())
                .state
                .is_none()
        );
    }
}

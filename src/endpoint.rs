//! What an endpoint URL is, once: its canonical spelling and whether it is an emulator on
//! this machine. The stack's identity (relay locks, state) is built on the canonical form.
//!
//! `http://localhost:4566`, `http://127.0.0.1:4566/` and `HTTP://[::1]:4566` reach the same
//! emulator, so they must name the same stack: otherwise a second relay started with another
//! spelling takes a second lock and writes every change into the lake again.

use crate::error::config_error;

/// An endpoint the SDK talks to instead of AWS's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// As the user gave it (the SDK gets this).
    pub url: String,
    /// Scheme, host and port always present, loopback hosts as `127.0.0.1`, no trailing `/`.
    pub canonical: String,
    /// A loopback host: the emulator, whose stages salesctl runs in-process.
    pub emulator: bool,
}

impl Endpoint {
    /// Parses and checks `text`; an unusable URL is a one-line error naming it and the fix
    /// (the SDK would otherwise retry an unsupported scheme or an empty host for a minute).
    pub fn parse(text: &str) -> anyhow::Result<Endpoint> {
        let url = url::Url::parse(text.trim()).map_err(|e| {
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
        let emulator = match url.host() {
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        let host = match url.host_str() {
            None | Some("") => {
                return Err(config_error(format!(
                    "endpoint URL '{text}' names no host: use e.g. http://127.0.0.1:4566"
                )));
            }
            Some(_) if emulator => "127.0.0.1".to_string(),
            Some(host) => host.to_ascii_lowercase(),
        };
        let port = url.port_or_known_default().unwrap_or(443);
        let path = url.path().trim_end_matches('/');
        Ok(Endpoint {
            url: text.trim().to_string(),
            canonical: format!("{}://{host}:{port}{path}", url.scheme()),
            emulator,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_emulator_are_one_endpoint() {
        let spellings = [
            "http://127.0.0.1:4566",
            "http://127.0.0.1:4566/",
            "http://localhost:4566",
            "http://LOCALHOST:4566//",
            "HTTP://[::1]:4566",
            " http://127.0.0.2:4566 ",
        ];
        for text in spellings {
            let endpoint = Endpoint::parse(text).unwrap();
            assert_eq!(endpoint.canonical, "http://127.0.0.1:4566", "{text}");
            assert!(endpoint.emulator, "{text}");
        }
        assert_ne!(
            Endpoint::parse("http://127.0.0.1:4567").unwrap().canonical,
            "http://127.0.0.1:4566"
        );
    }

    #[test]
    fn remote_endpoints_keep_host_and_gain_their_default_port() {
        let endpoint = Endpoint::parse("https://S3.eu-west-1.amazonaws.com/").unwrap();
        assert_eq!(endpoint.canonical, "https://s3.eu-west-1.amazonaws.com:443");
        assert!(!endpoint.emulator);
    }

    #[test]
    fn unusable_urls_are_named_with_a_fix() {
        for bad in [
            "ftp://127.0.0.1:4566",
            "127.0.0.1:4566",
            "http://",
            "not a url",
        ] {
            let message = Endpoint::parse(bad).unwrap_err().to_string();
            assert!(message.contains(bad.trim()), "{bad}: {message}");
            assert!(message.contains("use "), "{bad}: {message}");
        }
    }
}

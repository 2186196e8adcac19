//! Flags every broker command shares.

use clap::Args;

use super::CliError;
use crate::broker::{Settings, SettingsInput};

#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Management API URL [env: WARREN_HTTP_URL] [default: http://127.0.0.1:15672].
    /// Credentials may be given in it (https://user:pass@host:15671). For a
    /// cluster, give each node's (the flag repeated, or a comma-separated
    /// list): the first that answers is used.
    #[arg(long, value_name = "URL")]
    pub http_url: Vec<String>,
    /// AMQP URL [env: WARREN_AMQP_URL] [default: the management URL's host, port 5672 (amqps 5671 beside https)].
    /// Several (repeated, or comma-separated): connections fail over to the
    /// next node in order.
    #[arg(long, value_name = "URL")]
    pub amqp_url: Vec<String>,
    /// User name (default: from the URL, or guest on localhost).
    #[arg(long)]
    pub user: Option<String>,
    /// Environment variable holding the password [default: WARREN_PASSWORD].
    #[arg(long, value_name = "NAME")]
    pub password_env: Option<String>,
    /// Work on this vhost instead of the spec's (one spec, several environments).
    #[arg(long)]
    pub vhost: Option<String>,
    /// PEM file of CA certificates to trust for https:// and amqps://.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// How long to wait for a connection to the broker [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub connect_timeout: Option<std::time::Duration>,
    /// How long one management API request may take [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub timeout: Option<std::time::Duration>,
}

/// `250ms`, `5s`, `2m`, as in a spec.
pub(super) fn duration(text: &str) -> Result<std::time::Duration, String> {
    let d = crate::spec::Duration::parse(text).map_err(|e| e.to_string())?;
    if d.millis == 0 {
        return Err("a timeout of 0 would fail every request".into());
    }
    Ok(std::time::Duration::from_millis(d.millis))
}

impl ConnectionArgs {
    pub fn settings(&self) -> Result<Settings, CliError> {
        if self.vhost.as_deref() == Some("") {
            return Err(CliError::Usage(
                "--vhost needs a name; RabbitMQ's default vhost is \"/\"".into(),
            ));
        }
        let input = SettingsInput {
            http_url: (!self.http_url.is_empty()).then(|| self.http_url.join(",")),
            amqp_url: (!self.amqp_url.is_empty()).then(|| self.amqp_url.join(",")),
            user: self.user.clone(),
            password_env: self.password_env.clone(),
            ca_cert: self.ca_cert.clone(),
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
        };
        Ok(Settings::resolve(&input, |name| std::env::var(name).ok())?.on_answering_node())
    }
}

/// A runtime for one command; the CLI is otherwise synchronous.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

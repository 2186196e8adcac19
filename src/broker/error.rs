use rabbitmq_http_client::error::HttpClientError;

/// What went wrong talking to the broker, with what warren was doing.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("invalid {what} URL {url}: {reason}")]
    InvalidUrl {
        what: &'static str,
        /// Already stripped of credentials.
        url: String,
        reason: String,
    },
    #[error("cannot build the management API client for {url}: {reason}")]
    HttpClient { url: String, reason: String },
    #[error("{doing}: {reason}")]
    Http { doing: String, reason: String },
    /// The broker answered with an error status; `reason` is its own words.
    #[error("{doing}: HTTP {status}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Status {
        doing: String,
        status: u16,
        reason: Option<String>,
    },
    #[error(
        "{doing}: no complete answer within {}; raise the limit with --timeout if the broker is just slow",
        shown(*after)
    )]
    Timeout {
        doing: String,
        after: std::time::Duration,
    },
    #[error(
        "{doing}: could not connect within {}; raise the limit with --connect-timeout if the broker is just slow",
        shown(*after)
    )]
    ConnectTimeout {
        doing: String,
        after: std::time::Duration,
    },
    #[error(
        "{doing}: the answer is larger than {limit_shown}; if the vhost really is that large, raise the limit with {var} (for example {var}=2GiB)",
        limit_shown = crate::limits::show_size(*limit),
        var = crate::limits::BODY_SIZE_VAR
    )]
    TooLarge { doing: String, limit: u64 },
    #[error("{doing}: {source}")]
    Amqp {
        doing: String,
        #[source]
        source: lapin::Error,
    },
    #[error("cannot read CA certificates from {path}: {reason}")]
    CaCert {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("password environment variable {name} is not set")]
    MissingPassword { name: String },
    #[error(
        "no credentials for {host}: give them in the URL, with --user and --password-env, or in WARREN_PASSWORD (guest/guest is only assumed for localhost)"
    )]
    NoCredentials { host: String },
}

impl BrokerError {
    /// Wraps a management API error with what warren was doing and the
    /// broker's own reason when it gave one.
    pub fn http(doing: impl Into<String>, error: HttpClientError) -> BrokerError {
        let reason = match &error {
            HttpClientError::ClientErrorResponse {
                status_code,
                error_details,
                ..
            }
            | HttpClientError::ServerErrorResponse {
                status_code,
                error_details,
                ..
            } => match error_details.as_ref().and_then(|d| d.reason()) {
                Some(reason) => format!("HTTP {status_code}: {reason}"),
                None => format!("HTTP {status_code}"),
            },
            HttpClientError::RequestError { error, .. } => unreachable(error),
            other => other.to_string(),
        };
        BrokerError::Http {
            doing: doing.into(),
            reason,
        }
    }

    pub fn amqp(doing: impl Into<String>, source: lapin::Error) -> BrokerError {
        BrokerError::Amqp {
            doing: doing.into(),
            source,
        }
    }
}

/// A request that got no answer, with the likely cause.
pub(super) fn unreachable(error: &reqwest::Error) -> String {
    if error.is_connect() || error.is_timeout() {
        format!("{error} (is RabbitMQ running here, with the management plugin enabled?)")
    } else {
        error.to_string()
    }
}

/// `30s`, `250ms`: a timeout as a flag takes it.
fn shown(after: std::time::Duration) -> crate::vocabulary::Duration {
    crate::vocabulary::Duration::from_millis(u64::try_from(after.as_millis()).unwrap_or(u64::MAX))
}

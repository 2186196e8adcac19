use rabbitmq_http_client::error::HttpClientError;

/// What went wrong talking to the broker, with what warren was doing.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// A broker URL (flag or environment) does not parse, or has a scheme that
    /// does not fit.
    #[error("invalid {what} URL {url}: {reason}")]
    InvalidUrl {
        /// Which URL: `management` or `AMQP`.
        what: &'static str,
        /// Already stripped of credentials.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client for the management API could not be built (TLS
    /// setup, certificates).
    #[error("cannot build the management API client for {url}: {reason}")]
    HttpClient {
        /// The management API's URL, without credentials.
        url: String,
        /// Why the client could not be built.
        reason: String,
    },
    /// A management API request failed: no answer, or an error answer.
    #[error("{doing}: {reason}")]
    Http {
        /// What warren was doing.
        doing: String,
        /// The cause: the status and the broker's reason, or why no answer
        /// came.
        reason: String,
    },
    /// The broker answered with an error status; `reason` is its own words.
    #[error("{doing}: HTTP {status}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Status {
        /// What warren was doing, as a phrase ("read the definitions").
        doing: String,
        /// The HTTP status code.
        status: u16,
        /// The broker's own reason, when it gave one.
        reason: Option<String>,
    },
    /// A request (management API, or an AMQP step such as taking the apply
    /// lock) got no complete answer within the request timeout.
    #[error(
        "{doing}: no complete answer within {}; raise the limit with --timeout if the broker is just slow",
        shown(*after)
    )]
    Timeout {
        /// What warren was doing.
        doing: String,
        /// The timeout that ran out.
        after: std::time::Duration,
    },
    /// No connection to the broker within the connect timeout.
    #[error(
        "{doing}: could not connect within {}; raise the limit with --connect-timeout if the broker is just slow",
        shown(*after)
    )]
    ConnectTimeout {
        /// What warren was doing.
        doing: String,
        /// The connect timeout that ran out.
        after: std::time::Duration,
    },
    /// A management API answer is larger than the body size limit.
    #[error(
        "{doing}: the answer is larger than {limit_shown}; if the vhost really is that large, raise the limit with {var} (for example {var}=2GiB)",
        limit_shown = crate::limits::show_size(*limit),
        var = crate::limits::BODY_SIZE_VAR
    )]
    TooLarge {
        /// What warren was doing.
        doing: String,
        /// The largest answer read, in bytes.
        limit: u64,
    },
    /// An AMQP operation failed (connect, open a channel, declare, publish,
    /// ...).
    #[error("{doing}: {source}")]
    Amqp {
        /// What warren was doing.
        doing: String,
        /// lapin's error.
        #[source]
        source: lapin::Error,
    },
    /// The `--ca-cert` file cannot be read, or is not PEM text.
    #[error("cannot read CA certificates from {path}: {reason}")]
    CaCert {
        /// The file given.
        path: std::path::PathBuf,
        /// Why it could not be used.
        reason: String,
    },
    /// The variable `--password-env` names is not set.
    #[error("password environment variable {name} is not set")]
    MissingPassword {
        /// The environment variable's name.
        name: String,
    },
    /// A broker on another host than localhost, and no credentials given
    /// for it.
    #[error(
        "no credentials for {host}: give them in the URL, with --user and --password-env, or in WARREN_PASSWORD (guest/guest is only assumed for localhost)"
    )]
    NoCredentials {
        /// The management API's host.
        host: String,
    },
    /// The vhost a command reads does not exist on the broker.
    #[error("the broker has no vhost {vhost:?}; `warren apply` creates it")]
    NoVhost {
        /// The vhost's name.
        vhost: String,
    },
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

    /// Wraps an AMQP error with what warren was doing.
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

//! The management HTTP API client, built once per command.

use std::time::Duration;

use rabbitmq_http_client::api::{Client, ClientBuilder};

use super::{BrokerError, Settings};

pub type Http = Client<String, String, String>;

/// Builds the client. Retries stay at the library default (none): warren
/// decides what is worth retrying.
///
/// # Errors
/// The URL is not http(s) or the TLS stack cannot start.
pub fn http_client(settings: &Settings) -> Result<Http, BrokerError> {
    let endpoint = format!("{}/api", settings.http_url.as_str().trim_end_matches('/'));
    ClientBuilder::new()
        .with_endpoint(endpoint.clone())
        .with_basic_auth_credentials(
            settings.user.clone(),
            settings.password.expose().to_string(),
        )
        .with_connect_timeout(Duration::from_secs(5))
        .with_request_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| BrokerError::HttpClient {
            url: endpoint,
            reason: e.to_string(),
        })
}

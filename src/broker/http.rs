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
    let failed = |reason: String| BrokerError::HttpClient {
        url: endpoint.clone(),
        reason,
    };
    let mut builder = ClientBuilder::new();
    if let Some(pem) = &settings.ca_pem {
        let mut http = reqwest::Client::builder();
        let certificates = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| failed(format!("CA certificates: {e}")))?;
        if certificates.is_empty() {
            return Err(failed("the CA file holds no PEM certificate".into()));
        }
        for certificate in certificates {
            http = http.add_root_certificate(certificate);
        }
        builder = builder.with_client(http.build().map_err(|e| failed(e.to_string()))?);
    }
    builder
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

//! The management HTTP API: one client per command, with timeouts on
//! every request and a size limit on every response read.
//!
//! warren's own requests go through [`Http::get_json`], [`Http::put_json`]
//! and [`Http::delete`]: they stream the body and stop at the size limit
//! (the client library reads whole bodies into memory, so a broker, or
//! anything else on that port, that never ends its response would
//! otherwise exhaust memory), and they fail over between a cluster's
//! nodes. [`Http::api`], the RabbitMQ team's client for the node in use,
//! is there for programs and tests that want its typed calls.

use std::time::Duration;

use rabbitmq_http_client::api::{Client, ClientBuilder};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{BrokerError, Settings};

/// The management API of one broker: one node, or a cluster's nodes in
/// order. A request that the node in use does not answer properly
/// (refused, closed, timed out, a 5xx, something that is not JSON) is sent
/// to the next node, which is then used (`Http::on_a_node`).
pub struct Http {
    nodes: Vec<Node>,
    /// The node in use: the last that answered.
    current: std::sync::atomic::AtomicUsize,
    /// One connection pool for every node, for bounded reads.
    raw: reqwest::Client,
    timeout: Duration,
    connect_timeout: Duration,
    /// Bytes of answers being read right now, across concurrent requests:
    /// the size limit holds for all of them together, so five parallel
    /// endless answers cannot take five times the memory.
    reading: std::sync::atomic::AtomicU64,
}

/// One node's management API, with the credentials that belong to it.
struct Node {
    api: Client<String, String, String>,
    /// `http://host:15672/api`, without credentials.
    endpoint: String,
    user: String,
    password: super::Password,
}

/// Builds the client. Retries stay at the library default (none): warren
/// decides what is worth retrying.
///
/// # Errors
/// The CA file holds no certificate or the TLS stack cannot start.
pub fn http_client(settings: &Settings) -> Result<Http, BrokerError> {
    let endpoint_of = |url: &url::Url| format!("{}/api", url.as_str().trim_end_matches('/'));
    let endpoint = endpoint_of(&settings.http_url);
    let failed = |reason: String| BrokerError::HttpClient {
        url: endpoint.clone(),
        reason,
    };
    // Our own reqwest client, so that the timeouts hold with a CA file too
    // (the library ignores its timeout settings for a client passed in).
    let mut http = reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.timeout);
    if let Some(pem) = &settings.ca_pem {
        let certificates = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
            .map_err(|e| failed(format!("CA certificates: {e}")))?;
        if certificates.is_empty() {
            return Err(failed("the CA file holds no PEM certificate".into()));
        }
        for certificate in certificates {
            http = http.add_root_certificate(certificate);
        }
    }
    let raw = http.build().map_err(|e| failed(e.to_string()))?;
    let nodes = settings
        .http_urls()
        .map(|url| {
            let (user, password) = settings.credentials_at(url);
            let endpoint = endpoint_of(url);
            let api = ClientBuilder::new()
                .with_client(raw.clone())
                .with_endpoint(endpoint.clone())
                .with_basic_auth_credentials(user.to_string(), password.expose().to_string())
                .build()
                .map_err(|e| failed(e.to_string()))?;
            Ok(Node {
                api,
                endpoint,
                user: user.to_string(),
                password: password.clone(),
            })
        })
        .collect::<Result<Vec<_>, BrokerError>>()?;
    Ok(Http {
        nodes,
        current: std::sync::atomic::AtomicUsize::new(0),
        raw,
        timeout: settings.timeout,
        connect_timeout: settings.connect_timeout,
        reading: std::sync::atomic::AtomicU64::new(0),
    })
}

impl Http {
    /// The RabbitMQ team's client for the node in use, for requests whose
    /// answers are small.
    pub fn api(&self) -> &Client<String, String, String> {
        &self.node().api
    }

    /// The management API in use: the node that answered last, without
    /// credentials (`http://host:15672/api`).
    pub fn endpoint(&self) -> &str {
        &self.node().endpoint
    }

    fn node(&self) -> &Node {
        &self.nodes[self.current.load(std::sync::atomic::Ordering::Relaxed) % self.nodes.len()]
    }

    /// `GET /api/{path}` as `T`, reading at most the response size limit.
    /// `path` holds already-encoded segments (see [`segment`]); `doing` says
    /// what warren was doing, for the error.
    ///
    /// # Errors
    /// The request fails or times out, the broker answers with an error
    /// status (kept, with its reason), the body is over the limit, or it is
    /// not JSON of the expected shape.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        doing: &str,
    ) -> Result<T, BrokerError> {
        self.on_a_node(doing, |node| async move {
            let body = self
                .send_to(node, reqwest::Method::GET, path, None, doing)
                .await?;
            serde_json::from_slice(&body).map_err(|e| BrokerError::Http {
                doing: doing.to_string(),
                reason: format!(
                    "the answer to GET /api/{path} is not what the management API sends ({e}); is {} a RabbitMQ management endpoint?",
                    node.endpoint
                ),
            })
        })
        .await
    }

    /// Runs `request` on the node in use and, when that node does not
    /// answer properly (refused, closed, timed out, a 5xx, not JSON), on
    /// the next, which is then used. A node that answered and said no (a
    /// 4xx) ends it: another node of the cluster would say the same.
    /// Writes fail over too: every write warren sends is a PUT or DELETE of
    /// one object, which the management API makes idempotent, so sending it
    /// again to another node after a timeout cannot apply it twice.
    async fn on_a_node<'h, T, F, Fut>(&'h self, doing: &str, request: F) -> Result<T, BrokerError>
    where
        F: Fn(&'h Node) -> Fut,
        Fut: std::future::Future<Output = Result<T, BrokerError>>,
    {
        use std::sync::atomic::Ordering;
        let start = self.current.load(Ordering::Relaxed);
        let mut tried = Vec::new();
        for step in 0..self.nodes.len() {
            let at = (start + step) % self.nodes.len();
            let node = &self.nodes[at];
            match request(node).await {
                Ok(value) => {
                    if step > 0 {
                        self.current.store(at, Ordering::Relaxed);
                        tracing::info!(node = %node.endpoint, "using this management node: {}", tried.join("; "));
                    }
                    return Ok(value);
                }
                Err(e @ BrokerError::Status { status, .. }) if status < 500 => return Err(e),
                Err(e) if self.nodes.len() == 1 => return Err(e),
                Err(e) => tried.push(format!("{} did not answer properly ({e})", node.endpoint)),
            }
        }
        Err(BrokerError::Http {
            doing: doing.to_string(),
            reason: format!("no management node answered: {}", tried.join("; ")),
        })
    }

    /// `PUT /api/{path}` with a JSON body: how `apply` declares objects.
    ///
    /// # Errors
    /// As [`Http::get_json`]; an error status keeps the broker's reason
    /// (the "inequivalent arg" text of a refused redeclaration, say).
    pub async fn put_json(&self, path: &str, body: &Value, doing: &str) -> Result<(), BrokerError> {
        self.send(reqwest::Method::PUT, path, Some(body), doing)
            .await
            .map(drop)
    }

    /// `DELETE /api/{path}`; an object already gone (404) is not an error,
    /// so that an interrupted apply can run again.
    ///
    /// # Errors
    /// As [`Http::put_json`].
    pub async fn delete(&self, path: &str, doing: &str) -> Result<(), BrokerError> {
        match self.send(reqwest::Method::DELETE, path, None, doing).await {
            Err(BrokerError::Status { status: 404, .. }) => Ok(()),
            other => other.map(drop),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        json: Option<&Value>,
        doing: &str,
    ) -> Result<Vec<u8>, BrokerError> {
        self.on_a_node(doing, |node| {
            self.send_to(node, method.clone(), path, json, doing)
        })
        .await
    }

    async fn send_to(
        &self,
        node: &Node,
        method: reqwest::Method,
        path: &str,
        json: Option<&Value>,
        doing: &str,
    ) -> Result<Vec<u8>, BrokerError> {
        let mut held = Held {
            counter: &self.reading,
            bytes: 0,
        };
        let url = format!("{}/{path}", node.endpoint);
        let request_error = |e: reqwest::Error| self.request_error(doing, e);
        let mut request = self
            .raw
            .request(method, &url)
            .basic_auth(&node.user, Some(node.password.expose()));
        if let Some(json) = json {
            request = request.json(json);
        }
        let mut response = request.send().await.map_err(request_error)?;
        let status = response.status();
        let limit = if status.is_success() {
            crate::limits::get().body_bytes
        } else {
            // An error answer is a short JSON reason; keep its start.
            64 * 1024
        };
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(request_error)? {
            // What all requests hold, this one's body included.
            if held.add(chunk.len() as u64) > limit {
                if !status.is_success() {
                    break;
                }
                return Err(BrokerError::TooLarge {
                    doing: doing.to_string(),
                    limit,
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let mut reason = error_reason(&body);
            // Whose login was refused where: with several nodes and
            // credentials per URL, not obvious.
            if status.as_u16() == 401 {
                reason = Some(format!(
                    "{} (user {:?} at {})",
                    reason.as_deref().unwrap_or("not authorised"),
                    node.user,
                    node.endpoint
                ));
            }
            return Err(BrokerError::Status {
                doing: doing.to_string(),
                status: status.as_u16(),
                reason,
            });
        }
        Ok(body)
    }

    fn request_error(&self, doing: &str, e: reqwest::Error) -> BrokerError {
        if e.is_connect() && e.is_timeout() {
            BrokerError::ConnectTimeout {
                doing: doing.to_string(),
                after: self.connect_timeout,
            }
        } else if e.is_timeout() {
            BrokerError::Timeout {
                doing: doing.to_string(),
                after: self.timeout,
            }
        } else {
            BrokerError::Http {
                doing: doing.to_string(),
                reason: super::error::unreachable(&e),
            }
        }
    }
}

/// Bytes one request counts in [`Http::reading`], given back when it ends.
struct Held<'a> {
    counter: &'a std::sync::atomic::AtomicU64,
    bytes: u64,
}

impl Held<'_> {
    /// Counts `more` bytes; returns what all requests now hold.
    fn add(&mut self, more: u64) -> u64 {
        self.bytes += more;
        self.counter
            .fetch_add(more, std::sync::atomic::Ordering::SeqCst)
            + more
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.counter
            .fetch_sub(self.bytes, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The management API's `{"error": ..., "reason": ...}`, or the start of
/// whatever else came back.
fn error_reason(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_string);
    text("reason").or_else(|| text("error"))
}

/// One path segment, percent-encoded (a vhost may be `/` or hold spaces).
pub fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

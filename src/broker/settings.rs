//! Where the broker is and who warren is there.

use std::fmt;

use url::Url;

use super::BrokerError;
use crate::printable::redact;

/// A password that never prints: `Debug` and `Display` show `[REDACTED]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Password {
        Password(secret.into())
    }
    /// The secret itself, for the one place that sends it to the broker.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Connection settings shared by every broker command. URLs are kept
/// without credentials, so printing them is always safe.
///
/// A cluster is given as several URLs of each kind (a flag repeated, or a
/// comma-separated list): the first is used, the others are the nodes to
/// fail over to, in order.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Management API base, e.g. `http://127.0.0.1:15672`.
    pub http_url: Url,
    /// Other nodes' management APIs, tried when `http_url` does not answer.
    pub http_fallbacks: Vec<Url>,
    /// AMQP endpoint without vhost, e.g. `amqp://127.0.0.1:5672`.
    pub amqp_url: Url,
    /// Other nodes' AMQP endpoints, tried in order when a connection to
    /// `amqp_url` fails.
    pub amqp_fallbacks: Vec<Url>,
    /// Who connects where a URL names no credentials of its own.
    pub user: String,
    /// The password of `user`.
    pub password: Password,
    /// Credentials written in a URL: they serve that URL's host only (and
    /// one written for TLS is never sent in the clear), so a cluster list
    /// does not hand one node's password to another.
    pub url_credentials: Vec<UrlCredentials>,
    /// PEM certificates to trust for https/amqps, besides the system's.
    pub ca_pem: Option<String>,
    /// How long to wait for a connection to the broker.
    pub connect_timeout: std::time::Duration,
    /// How long one management API request may take, answer included.
    pub timeout: std::time::Duration,
}

/// Credentials written in a URL, and where they may go.
#[derive(Clone, Debug)]
pub struct UrlCredentials {
    pub host: String,
    /// Written in an `https://` or `amqps://` URL.
    pub tls: bool,
    pub user: String,
    pub password: Password,
}

impl UrlCredentials {
    fn serve(&self, url: &Url) -> bool {
        url.host_str() == Some(self.host.as_str()) && (!self.tls || is_tls(url))
    }
}

fn is_tls(url: &Url) -> bool {
    matches!(url.scheme(), "https" | "amqps")
}

/// The raw inputs, before defaults: flags first, then the environment.
#[derive(Clone, Debug, Default)]
pub struct SettingsInput {
    /// `--http-url`: management API URLs, comma-separated.
    pub http_url: Option<String>,
    /// `--amqp-url`: AMQP URLs, comma-separated.
    pub amqp_url: Option<String>,
    /// `--user`: who connects where a URL names no credentials.
    pub user: Option<String>,
    /// Name of the environment variable that holds the password.
    pub password_env: Option<String>,
    /// A PEM file of CA certificates for TLS.
    pub ca_cert: Option<std::path::PathBuf>,
    /// `--connect-timeout`; `None` takes `DEFAULT_CONNECT_TIMEOUT` (5 s).
    pub connect_timeout: Option<std::time::Duration>,
    /// `--timeout`, per management API request; `None` takes
    /// `DEFAULT_TIMEOUT` (30 s).
    pub timeout: Option<std::time::Duration>,
}

/// A broker that has not accepted a connection in 5 s is not coming.
pub const DEFAULT_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Long enough for the definitions of a 100,000-queue vhost; short enough
/// that a silent endpoint does not hold a CI job.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub const DEFAULT_HTTP_URL: &str = "http://127.0.0.1:15672";

impl Settings {
    /// Resolves settings: a flag wins over `WARREN_HTTP_URL` /
    /// `WARREN_AMQP_URL`; credentials come from `--user`/`--password-env`
    /// for every URL, else from a URL's userinfo for the URLs of that host,
    /// else `--user` with `WARREN_PASSWORD`; guest/guest is assumed only
    /// for a broker on localhost.
    ///
    /// # Errors
    /// An unparsable URL, a named password variable that is unset, or no
    /// credentials for a remote broker.
    pub fn resolve(
        input: &SettingsInput,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, BrokerError> {
        let http = input
            .http_url
            .clone()
            .or_else(|| env("WARREN_HTTP_URL"))
            .unwrap_or_else(|| DEFAULT_HTTP_URL.to_string());
        let (http_url, http_fallbacks, mut url_credentials) =
            parse_list("management", &http, &["http", "https"])?;
        // No AMQP endpoint given: the management API's hosts, on AMQP's
        // standard ports, so that both reach the same broker.
        let amqp = input
            .amqp_url
            .clone()
            .or_else(|| env("WARREN_AMQP_URL"))
            .unwrap_or_else(|| {
                std::iter::once(&http_url)
                    .chain(&http_fallbacks)
                    .map(amqp_beside)
                    .collect::<Vec<_>>()
                    .join(",")
            });
        let (amqp_url, amqp_fallbacks, amqp_credentials) =
            parse_list("AMQP", &amqp, &["amqp", "amqps"])?;
        url_credentials.extend(amqp_credentials);
        let password = match &input.password_env {
            Some(name) => {
                // Named on the command line: it serves every URL.
                url_credentials.clear();
                Some(env(name).ok_or_else(|| BrokerError::MissingPassword { name: name.clone() })?)
            }
            None => env("WARREN_PASSWORD"),
        };
        let user = input.user.clone();
        let has_own = url_credentials.iter().any(|c| c.serve(&http_url));
        let (user, password) = match (user, password) {
            (user, Some(password)) => (user.unwrap_or_else(|| "guest".into()), password),
            (user, None) if has_own || is_local(&http_url) => {
                (user.unwrap_or_else(|| "guest".into()), "guest".into())
            }
            (Some(user), None) if user == "guest" => (user, "guest".into()),
            _ => {
                return Err(BrokerError::NoCredentials {
                    host: http_url.host_str().unwrap_or_default().to_string(),
                });
            }
        };
        let ca_pem = match &input.ca_cert {
            Some(path) => {
                let failed = |reason: String| BrokerError::CaCert {
                    path: path.clone(),
                    reason,
                };
                let bytes = crate::limits::read_file(path).map_err(|e| {
                    failed(match e {
                        crate::limits::ReadError::Io(e) => e.to_string(),
                        crate::limits::ReadError::TooLarge { limit } => format!(
                            "larger than {}, far more than a CA bundle",
                            crate::limits::show_size(limit)
                        ),
                        crate::limits::ReadError::NoWriter => {
                            "a FIFO that nothing writes to".into()
                        }
                    })
                })?;
                Some(String::from_utf8(bytes).map_err(|_| failed("not PEM text".into()))?)
            }
            None => None,
        };
        Ok(Settings {
            http_url,
            http_fallbacks,
            amqp_url,
            amqp_fallbacks,
            user,
            password: Password::new(password),
            url_credentials,
            ca_pem,
            connect_timeout: input.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            timeout: input.timeout.unwrap_or(DEFAULT_TIMEOUT),
        })
    }

    /// Who connects to `url`, and with what password: the credentials
    /// written for its host, or the defaults.
    pub fn credentials_at(&self, url: &Url) -> (&str, &Password) {
        self.url_credentials
            .iter()
            .find(|c| c.serve(url))
            .map_or((self.user.as_str(), &self.password), |c| {
                (c.user.as_str(), &c.password)
            })
    }

    /// These settings with `user` and `password` for every URL.
    pub fn as_user(mut self, user: String, password: Password) -> Settings {
        self.user = user;
        self.password = password;
        self.url_credentials.clear();
        self
    }

    /// Every management API, the one in use first.
    pub fn http_urls(&self) -> impl Iterator<Item = &Url> {
        std::iter::once(&self.http_url).chain(&self.http_fallbacks)
    }

    /// Every AMQP endpoint, the one in use first.
    pub fn amqp_urls(&self) -> impl Iterator<Item = &Url> {
        std::iter::once(&self.amqp_url).chain(&self.amqp_fallbacks)
    }

    /// These settings on the first management API, in order, that accepts
    /// a TCP connection within the connect timeout (the rest become its
    /// fallbacks); unchanged when none does, so the error names the first.
    /// A node that is stopped, or whose application is, closes its ports.
    pub fn on_answering_node(self) -> Settings {
        if self.http_fallbacks.is_empty() {
            return self;
        }
        let all: Vec<Url> = std::iter::once(self.http_url.clone())
            .chain(self.http_fallbacks.iter().cloned())
            .collect();
        let answers = |url: &Url| {
            let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
                return false;
            };
            std::net::ToSocketAddrs::to_socket_addrs(&(host.trim_matches(['[', ']']), port))
                .ok()
                .into_iter()
                .flatten()
                .any(|addr| {
                    std::net::TcpStream::connect_timeout(&addr, self.connect_timeout).is_ok()
                })
        };
        match all.iter().position(answers) {
            Some(i) if i > 0 => {
                let mut rest = all.clone();
                let chosen = rest.remove(i);
                Settings {
                    http_url: chosen,
                    http_fallbacks: rest,
                    ..self
                }
            }
            _ => self,
        }
    }

    /// The AMQP URI for `vhost` on the endpoint in use, credentials
    /// included: pass it to the client, never print it.
    pub fn amqp_uri(&self, vhost: &str) -> String {
        self.amqp_uri_at(&self.amqp_url, vhost)
    }

    /// The AMQP URI for `vhost` at `url`, credentials included.
    pub fn amqp_uri_at(&self, url: &Url, vhost: &str) -> String {
        let (user, password) = self.credentials_at(url);
        let mut url = url.clone();
        // Setting userinfo on an amqp URL with a host cannot fail.
        let _ = url.set_username(user);
        let _ = url.set_password(Some(password.expose()));
        let encoded: String = url::form_urlencoded::byte_serialize(vhost.as_bytes()).collect();
        url.set_path(&format!("/{}", encoded.replace('+', "%20")));
        // RabbitMQ's default frame size, asked for explicitly: lapin then
        // allocates its frame buffers at that size up front, untouched
        // until used, instead of growing them (and touching every page)
        // after the handshake; an idle worker keeps 6 MB less.
        if !url.query_pairs().any(|(k, _)| k == "frame_max") {
            url.query_pairs_mut().append_pair("frame_max", "131072");
        }
        url.to_string()
    }
}

/// A list of URLs parsed: the first, the rest, and the credentials they
/// carry.
type UrlList = (Url, Vec<Url>, Vec<UrlCredentials>);

/// A comma-separated list of URLs.
fn parse_list(what: &'static str, text: &str, schemes: &[&str]) -> Result<UrlList, BrokerError> {
    let mut urls = Vec::new();
    let mut credentials = Vec::new();
    for part in split_urls(text) {
        let (url, user, password) = parse(what, &part, schemes)?;
        if user.is_some() || password.is_some() {
            credentials.push(UrlCredentials {
                host: url.host_str().unwrap_or_default().to_string(),
                tls: is_tls(&url),
                user: user.unwrap_or_else(|| "guest".into()),
                password: Password::new(password.unwrap_or_default()),
            });
        }
        urls.push(url);
    }
    if urls.is_empty() {
        return Err(BrokerError::InvalidUrl {
            what,
            url: redact(text),
            reason: "no URL given".into(),
        });
    }
    let first = urls.remove(0);
    Ok((first, urls, credentials))
}

/// The AMQP endpoint on the host of management API `http`, on AMQP's
/// standard port (AMQPS beside HTTPS).
fn amqp_beside(http: &Url) -> String {
    let host = http.host_str().unwrap_or("127.0.0.1");
    if is_tls(http) {
        format!("amqps://{host}:5671")
    } else {
        format!("amqp://{host}:5672")
    }
}

/// The URLs of a comma-separated list. A comma inside a URL (in its
/// password, say) stays there: a new URL starts only where a part begins
/// with a scheme.
fn split_urls(text: &str) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for part in text.split(',') {
        let starts_url = part
            .trim_start()
            .split_once("://")
            .is_some_and(|(scheme, _)| {
                !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            });
        match urls.last_mut() {
            Some(last) if !starts_url => {
                last.push(',');
                last.push_str(part);
            }
            _ => urls.push(part.to_string()),
        }
    }
    urls.into_iter()
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .collect()
}

/// Splits credentials off a URL; the URL in errors is the stripped one.
fn parse(
    what: &'static str,
    text: &str,
    schemes: &[&str],
) -> Result<(Url, Option<String>, Option<String>), BrokerError> {
    let invalid = |reason: String| BrokerError::InvalidUrl {
        what,
        url: redact(text),
        reason,
    };
    let mut url = Url::parse(text).map_err(|e| invalid(e.to_string()))?;
    if !schemes.contains(&url.scheme()) || !url.has_host() {
        return Err(invalid(format!(
            "expected {}://HOST:PORT",
            schemes.join(":// or ")
        )));
    }
    // warren appends the API's paths to the management URL; a query or a
    // fragment would end up in the middle of every request.
    if schemes.contains(&"http") && (url.query().is_some() || url.fragment().is_some()) {
        return Err(invalid(
            "a management URL takes no query (?...) or fragment (#...)".into(),
        ));
    }
    let decode = |s: &str| percent_decode(s);
    let user = (!url.username().is_empty()).then(|| decode(url.username()));
    let password = url.password().map(decode);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok((url, user, password))
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A parsed URL as messages show it: without its query (an AMQP URL may
/// carry options there).
pub fn shown(url: &Url) -> String {
    redact(url.as_str())
}

fn is_local(url: &Url) -> bool {
    matches!(
        url.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_to_guest_on_localhost() {
        let s = Settings::resolve(&SettingsInput::default(), no_env).unwrap();
        assert_eq!(s.user, "guest");
        assert_eq!(s.password.expose(), "guest");
        assert_eq!(s.http_url.as_str(), "http://127.0.0.1:15672/");
    }

    #[test]
    fn a_list_of_urls_is_a_cluster_tried_in_order() {
        let input = SettingsInput {
            http_url: Some(
                "http://ops:pw@10.0.0.1:15672, http://10.0.0.2:15672,http://10.0.0.3:15672".into(),
            ),
            amqp_url: Some("amqp://10.0.0.1:5672,amqp://10.0.0.2:5672".into()),
            ..SettingsInput::default()
        };
        let s = Settings::resolve(&input, no_env).unwrap();
        assert_eq!(s.http_url.as_str(), "http://10.0.0.1:15672/");
        assert_eq!(s.http_fallbacks.len(), 2);
        let amqp: Vec<&str> = s.amqp_urls().map(Url::as_str).collect();
        assert_eq!(amqp, ["amqp://10.0.0.1:5672", "amqp://10.0.0.2:5672"]);
        // The credentials of the first URL serve its host, never another
        // node's.
        let (user, password) = s.credentials_at(&s.http_url);
        assert_eq!((user, password.expose()), ("ops", "pw"));
        assert!(s.amqp_uri_at(&s.amqp_url, "/").contains("ops:pw@10.0.0.1"));
        let elsewhere = s.amqp_uri_at(&s.amqp_fallbacks[0], "/");
        assert!(!elsewhere.contains("pw"), "{elsewhere}");
        assert_eq!(s.credentials_at(&s.http_fallbacks[0]).0, "guest");
        let empty = SettingsInput {
            http_url: Some(" , ".into()),
            ..SettingsInput::default()
        };
        assert!(Settings::resolve(&empty, no_env).is_err());
    }

    #[test]
    fn the_first_node_that_answers_is_used() {
        let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listening.local_addr().unwrap().port();
        let input = SettingsInput {
            // Port 1 refuses at once; the second answers.
            http_url: Some(format!("http://127.0.0.1:1,http://127.0.0.1:{port}")),
            ..SettingsInput::default()
        };
        let s = Settings::resolve(&input, no_env)
            .unwrap()
            .on_answering_node();
        assert_eq!(s.http_url.port(), Some(port));
        assert_eq!(s.http_fallbacks[0].port(), Some(1));
    }

    #[test]
    fn without_an_amqp_url_the_management_hosts_are_used() {
        let input = SettingsInput {
            http_url: Some("https://ops:pw@rabbit-1.example:15671,https://rabbit-2.example".into()),
            ..SettingsInput::default()
        };
        let s = Settings::resolve(&input, no_env).unwrap();
        let amqp: Vec<&str> = s.amqp_urls().map(Url::as_str).collect();
        assert_eq!(
            amqp,
            [
                "amqps://rabbit-1.example:5671",
                "amqps://rabbit-2.example:5671"
            ]
        );
        assert!(s.amqp_uri("v").contains("ops:pw@rabbit-1.example:5671"));
        let given = SettingsInput {
            amqp_url: Some("amqp://10.0.0.9:5673".into()),
            ..input
        };
        let s = Settings::resolve(&given, no_env).unwrap();
        assert_eq!(s.amqp_url.as_str(), "amqp://10.0.0.9:5673");
    }

    #[test]
    fn a_comma_in_a_password_stays_in_its_url() {
        let input = SettingsInput {
            http_url: Some("http://ops:p,w@10.0.0.1:15672,http://10.0.0.2:15672".into()),
            ..SettingsInput::default()
        };
        let s = Settings::resolve(&input, no_env).unwrap();
        assert_eq!(s.credentials_at(&s.http_url).1.expose(), "p,w");
        assert_eq!(s.http_fallbacks.len(), 1);
    }

    #[test]
    fn remote_broker_needs_credentials() {
        let input = SettingsInput {
            http_url: Some("https://rabbit.example.com".into()),
            ..SettingsInput::default()
        };
        assert!(matches!(
            Settings::resolve(&input, no_env),
            Err(BrokerError::NoCredentials { .. })
        ));
    }

    #[test]
    fn credentials_come_out_of_urls_and_never_print() {
        let input = SettingsInput {
            http_url: Some("https://ops:s%40cret@rabbit.example.com:15671".into()),
            ..SettingsInput::default()
        };
        let s = Settings::resolve(&input, no_env).unwrap();
        let (user, password) = s.credentials_at(&s.http_url);
        assert_eq!((user, password.expose()), ("ops", "s@cret"));
        let shown = format!("{s:?} {}", s.http_url);
        assert!(!shown.contains("cret"), "{shown}");
    }

    #[test]
    fn password_env_is_read_and_missing_is_an_error() {
        let input = SettingsInput {
            user: Some("deployer".into()),
            password_env: Some("DEPLOY_PW".into()),
            ..SettingsInput::default()
        };
        let s =
            Settings::resolve(&input, |k| (k == "DEPLOY_PW").then(|| "pw".to_string())).unwrap();
        assert_eq!(s.password.expose(), "pw");
        assert!(matches!(
            Settings::resolve(&input, no_env),
            Err(BrokerError::MissingPassword { .. })
        ));
    }

    #[test]
    fn invalid_urls_are_reported_without_secrets() {
        let input = SettingsInput {
            http_url: Some("ftp://u:hunter2@host".into()),
            ..SettingsInput::default()
        };
        let error = Settings::resolve(&input, no_env).unwrap_err().to_string();
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn no_url_error_prints_a_secret() {
        let secret = "S3cr3t";
        let bad = [
            "guest:S3cr3t@127.0.0.1:15672",
            "//guest:S3cr3t@127.0.0.1:15672",
            "http//guest:S3cr3t@127.0.0.1:15672",
            "gopher://guest:S3cr3t@127.0.0.1:15672",
            "http://guest:S3cr3t@127.0.0.1:15672/?password=S3cr3t",
            "http://127.0.0.1:15672/?password=S3cr3t",
            "http://127.0.0.1:15672/#S3cr3t",
            "http://guest:S3cr3t@:15672",
            "http://gu@est:S3c/r3t@[::1",
            "http://guest:S3c?r3t@host",
            "http://guest:S3cr3t",
            "guest:S3cr3t",
            "S3cr3t",
        ];
        for text in bad {
            for field in ["http", "amqp"] {
                let mut input = SettingsInput::default();
                let value = Some(text.replace("http", field));
                match field {
                    "http" => input.http_url = value,
                    _ => input.amqp_url = value,
                }
                let Err(error) = Settings::resolve(&input, no_env) else {
                    continue;
                };
                let error = error.to_string();
                // The bare word is the password only when it is not the
                // whole input, which cannot be told apart from a host.
                if text != secret {
                    assert!(!error.contains(secret), "{text}: {error}");
                }
            }
        }
        assert_eq!(
            redact("amqp://u:pw@host/vh?heartbeat=5"),
            "amqp://host/vh?…"
        );
        assert_eq!(redact("u:pw@host"), "host");
        assert_eq!(
            redact("http://127.0.0.1:15672/x"),
            "http://127.0.0.1:15672/x"
        );
        assert_eq!(redact("http://[::1]:15672"), "http://[::1]:15672");
        assert_eq!(redact("http://guest:S3cr3t"), "http://guest:…");
    }

    #[test]
    fn a_management_url_with_a_query_is_refused() {
        let input = SettingsInput {
            http_url: Some("http://127.0.0.1:15672/?x=1".into()),
            ..SettingsInput::default()
        };
        let error = Settings::resolve(&input, no_env).unwrap_err().to_string();
        assert!(error.contains("no query"), "{error}");
        // AMQP options live in the query and are kept.
        let input = SettingsInput {
            amqp_url: Some("amqp://127.0.0.1:5672/?heartbeat=5".into()),
            ..SettingsInput::default()
        };
        let settings = Settings::resolve(&input, no_env).unwrap();
        assert!(
            settings
                .amqp_uri("v")
                .ends_with("/v?heartbeat=5&frame_max=131072"),
            "{}",
            settings.amqp_uri("v")
        );
        assert_eq!(shown(&settings.amqp_url), "amqp://127.0.0.1:5672/?…");
    }

    #[test]
    fn unreadable_ca_file_is_an_error() {
        let input = SettingsInput {
            ca_cert: Some("/nonexistent/ca.pem".into()),
            ..SettingsInput::default()
        };
        let error = Settings::resolve(&input, no_env).unwrap_err();
        assert!(matches!(error, BrokerError::CaCert { .. }), "{error}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_the_client() {
        let mut settings = Settings::resolve(&SettingsInput::default(), no_env).unwrap();
        settings.ca_pem = Some("not a certificate".into());
        let error = crate::broker::http_client(&settings)
            .err()
            .expect("refused");
        assert!(error.to_string().contains("no PEM certificate"), "{error}");
    }

    #[test]
    fn amqp_uri_encodes_the_vhost() {
        let s = Settings::resolve(&SettingsInput::default(), no_env).unwrap();
        assert_eq!(
            s.amqp_uri("/"),
            "amqp://guest:guest@127.0.0.1:5672/%2F?frame_max=131072"
        );
        assert_eq!(
            s.amqp_uri("warren-test.a b"),
            "amqp://guest:guest@127.0.0.1:5672/warren-test.a%20b?frame_max=131072"
        );
        // A frame size the user chose is kept.
        let input = SettingsInput {
            amqp_url: Some("amqp://127.0.0.1:5672/?frame_max=8192".into()),
            ..SettingsInput::default()
        };
        let s = Settings::resolve(&input, no_env).unwrap();
        assert!(
            s.amqp_uri("v").ends_with("/v?frame_max=8192"),
            "{}",
            s.amqp_uri("v")
        );
    }
}

//! A vhost of its own for each broker test.

use std::sync::atomic::{AtomicUsize, Ordering};

use rabbitmq_http_client::requests::VirtualHostParams;
use warren::broker::{Http, Settings, SettingsInput, http_client};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The variable that turns a missing broker into a failure (CI sets it).
pub const REQUIRE_VAR: &str = "WARREN_REQUIRE_BROKER";

/// Whether a broker answers; broker tests return early when not. Without a
/// broker a plain `cargo test` passes the offline tests and says, once per
/// test, that the broker tests were skipped; with `WARREN_REQUIRE_BROKER=1`
/// (as CI runs) a missing broker fails them.
pub fn available() -> bool {
    static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let up = *AVAILABLE.get_or_init(|| {
        let settings = settings();
        [&settings.http_url, &settings.amqp_url].iter().all(|url| {
            let port = url.port_or_known_default().unwrap_or(0);
            let host = url
                .host_str()
                .unwrap_or("127.0.0.1")
                .trim_matches(['[', ']']);
            std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
                .ok()
                .and_then(|mut addrs| addrs.next())
                .is_some_and(|addr| {
                    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2))
                        .is_ok()
                })
        })
    });
    if !up {
        let settings = settings();
        let message = format!(
            "no RabbitMQ at {} and {} (bash scripts/broker.sh starts one)",
            settings.http_url, settings.amqp_url
        );
        if std::env::var_os(REQUIRE_VAR).is_some() {
            panic!("{message}; {REQUIRE_VAR} is set, so broker tests fail without it");
        }
        eprintln!("skipped: {message}; set {REQUIRE_VAR}=1 to fail instead");
    }
    up
}

/// The release of the test broker (asked through a vhost of its own).
pub async fn release() -> warren::vocabulary::Version {
    let probe = TestVhost::new("release").await;
    let live = warren::broker::live(&probe.http).await.unwrap();
    live.version.expect("the broker names its version")
}

/// Whether a broker answers and runs `min` or later; says on stderr why
/// `test` is skipped when it runs an older release.
pub async fn release_at_least(min: warren::vocabulary::Version, test: &str) -> bool {
    if !available() {
        return false;
    }
    let version = release().await;
    if version < min {
        eprintln!("{test}: skipped on RabbitMQ {version}: it needs {min}");
        return false;
    }
    true
}

/// Settings for the local test broker (guest on localhost, or the
/// WARREN_* variables when set).
pub fn settings() -> Settings {
    Settings::resolve(&SettingsInput::default(), |k| std::env::var(k).ok())
        .expect("broker settings")
}

/// The test broker's management URL, as `--http-url` takes it; with
/// `user:password@` in it when `credentials` are given.
pub fn http_url(credentials: Option<(&str, &str)>) -> String {
    let mut url = settings().http_url.clone();
    if let Some((user, password)) = credentials {
        url.set_username(user).expect("a URL with a host");
        url.set_password(Some(password)).expect("a URL with a host");
    }
    url.as_str().trim_end_matches('/').to_string()
}

/// `warren-test.<name>.<pid>-<n>`: created empty with guest's full
/// permissions, deleted on drop (also when the test panics), so tests run
/// in parallel and never see what another run left.
pub struct TestVhost {
    pub name: String,
    pub http: Http,
    pub settings: Settings,
}

impl TestVhost {
    pub async fn new(name: &str) -> TestVhost {
        TestVhost::on(name, settings()).await
    }

    /// A vhost on the broker `settings` reach (a cluster, a node of the
    /// test's own).
    pub async fn on(name: &str, settings: Settings) -> TestVhost {
        let settings = settings.on_answering_node();
        let name = format!(
            "warren-test.{name}.{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let http = http_client(&settings).expect("http client");
        let _ = http.api().delete_vhost(&name, true).await;
        http.api()
            .create_vhost(&VirtualHostParams::named(&name))
            .await
            .unwrap_or_else(|e| {
                panic!("create vhost {name}: {e} (is the broker up? run scripts/broker.sh)")
            });
        http.api()
            .grant_full_permissions(&settings.user, &name)
            .await
            .expect("grant permissions");
        TestVhost {
            name,
            http,
            settings,
        }
    }

    /// Queue `name` of this vhost as the management API lists it.
    pub async fn queue(&self, name: &str) -> serde_json::Value {
        self.http
            .get_json(
                &format!(
                    "queues/{}/{}",
                    warren::broker::segment(&self.name),
                    warren::broker::segment(name)
                ),
                "read a queue",
            )
            .await
            .unwrap_or_else(|e| panic!("read queue {name} of {}: {e}", self.name))
    }

    /// Loads a definitions document into this vhost.
    pub async fn import(&self, definitions: serde_json::Value) {
        self.http
            .api()
            .import_vhost_definitions(&self.name, definitions)
            .await
            .unwrap_or_else(|e| panic!("import definitions into {}: {e:?}", self.name));
    }
}

impl Drop for TestVhost {
    fn drop(&mut self) {
        let name = self.name.clone();
        let settings = self.settings.clone();
        // Drop cannot await; a short-lived runtime on its own thread can.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(http) = http_client(&settings) {
                    let _ = http.api().delete_vhost(&name, true).await;
                }
            });
        })
        .join();
    }
}

/// Closes every client connection of `vhost` through the management API,
/// as `rabbitmqctl close_all_connections` does (on any release, without
/// its command line); waits until there is one. Returns how many.
pub async fn close_connections(http: &Http, vhost: &str) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let connections = http.api().list_connections_in(vhost).await.unwrap();
        if !connections.is_empty() {
            for c in &connections {
                let _ = http
                    .api()
                    .close_connection(&c.name, Some("test: connection cut"), true)
                    .await;
            }
            return connections.len();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no connection to close in {vhost}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Management stats lag behind the queues: poll until they show `count`.
pub async fn await_messages(vhost: &TestVhost, queue: &str, count: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let counts = warren::broker::queue_usage(&vhost.http, &vhost.name)
            .await
            .unwrap();
        if counts.get(queue).map(|(m, _)| *m) == Some(count) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{queue} never showed {count} messages: {counts:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Publishes each `(body, properties)` to `exchange` with `key`, persistent
/// and `mandatory`, each confirmed; panics unless the broker took it.
pub async fn publish_confirmed(
    vhost: &TestVhost,
    exchange: &str,
    key: &str,
    messages: Vec<(Vec<u8>, lapin::BasicProperties)>,
) {
    publish_confirmed_to(&vhost.settings, &vhost.name, exchange, key, messages).await;
}

/// As [`publish_confirmed`], to `vhost` through `settings`.
pub async fn publish_confirmed_to(
    settings: &Settings,
    vhost: &str,
    exchange: &str,
    key: &str,
    messages: Vec<(Vec<u8>, lapin::BasicProperties)>,
) {
    use lapin::Confirmation;
    use lapin::options::BasicPublishOptions;
    let connection = warren::broker::connect(settings, vhost).await.unwrap();
    let channel = warren::broker::confirm_channel(&connection).await.unwrap();
    for (body, properties) in messages {
        let confirm = channel
            .basic_publish(
                exchange.into(),
                key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &body,
                properties.with_delivery_mode(2),
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(
            confirm,
            Confirmation::Ack(None),
            "published to {exchange} {key}"
        );
    }
    let _ = connection.close(200, "published".into()).await;
}

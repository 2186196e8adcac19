//! The order flow of topologies/ecommerce.yaml end to end: the shop's
//! services (examples/ecommerce) run by `warren run` and as processes of
//! their own, against the real broker and PostgreSQL, each test in a vhost
//! and a database schema of its own. `shop load` places the orders and
//! reads back where each one ended; the tests check that it all adds up,
//! also while processes are killed and connections cut.

pub mod faults;
mod flow;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::broker::TestVhost;
use crate::support::node::Node;

/// A batch of orders and what each share must come to: `shop load`'s
/// defaults, 20% with a card that times out once, 2% declined, 5% with a
/// sold-out item.
#[derive(Clone, Copy, Debug)]
pub struct Batch {
    pub orders: usize,
}

impl Batch {
    /// The fault-free flow: 2,000 orders.
    pub const FLOW: Batch = Batch { orders: 2000 };

    /// The batch a test that breaks things runs: `WARREN_SHOP_ORDERS`, or
    /// 800, enough for every fault to land mid-run with hundreds of orders
    /// in flight each time. `scripts/soak.sh` runs them at 2,000 and more.
    pub fn under_faults() -> Batch {
        let orders = std::env::var("WARREN_SHOP_ORDERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n >= 100)
            .unwrap_or(800);
        Batch { orders }
    }

    fn share(self, rate: f64) -> u64 {
        (self.orders as f64 * rate).round() as u64
    }

    pub fn sold_out(self) -> u64 {
        self.share(0.05)
    }

    pub fn declined(self) -> u64 {
        self.share(0.02)
    }

    /// Orders whose card times out on the first try.
    pub fn flaky(self) -> u64 {
        self.share(0.2)
    }

    pub fn shipped(self) -> u64 {
        self.orders as u64 - self.sold_out() - self.declined()
    }

    /// Every order is created and confirmed (3 s later); a shipped one is
    /// checked, paid and shipped; a declined one checked; a sold-out one
    /// failed. What notification records.
    pub fn events(self) -> u64 {
        self.orders as u64 * 2 + self.shipped() * 3 + self.declined() + self.sold_out()
    }

    /// Audit also records each order's regional copy.
    pub fn audited(self) -> u64 {
        self.events() + self.orders as u64
    }
}

/// The spec's service users.
const USERS: [&str; 9] = [
    "order_api",
    "orders",
    "inventory",
    "payment",
    "cod",
    "india_desk",
    "notification",
    "shipping",
    "audit",
];

/// Where the shop's broker is: a vhost on the shared broker (or on the
/// local cluster), or a node of the test's own (for the tests that stop it).
pub enum Broker {
    Shared(Box<TestVhost>),
    Own(Node, String),
}

impl Broker {
    pub fn vhost(&self) -> &str {
        match self {
            Broker::Shared(v) => &v.name,
            Broker::Own(_, name) => name,
        }
    }

    pub fn settings(&self) -> warren::broker::Settings {
        match self {
            Broker::Shared(v) => v.settings.clone(),
            Broker::Own(node, _) => node.settings(),
        }
    }
}

/// URLs as a comma-separated list, as WARREN_*_URL take them.
fn joined<'u>(urls: impl Iterator<Item = &'u url::Url>) -> String {
    urls.map(url::Url::as_str).collect::<Vec<_>>().join(",")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The built `shop` example, beside the test binary.
pub fn shop_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples/shop"))
        .unwrap();
    assert!(
        bin.exists(),
        "{} is not built; `cargo build --example shop` (cargo test builds it)",
        bin.display()
    );
    bin
}

/// One running shop: its spec, environment and processes. Stops them,
/// and drops the schema, on drop.
/// topologies/ecommerce.yaml for `vhost`, with the inventory handler at
/// `inventory_port` and the users named for `tag` (users are
/// broker-wide, so each test has its own); and those user names.
pub fn own_spec(vhost: &str, tag: &str, inventory_port: u16) -> (String, Vec<String>) {
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/topologies/ecommerce.yaml"
    ))
    .unwrap();
    let replaced = |text: String, from: &str, to: &str| {
        assert!(
            text.contains(from),
            "topologies/ecommerce.yaml no longer has {from:?}"
        );
        text.replace(from, to)
    };
    let mut spec = replaced(spec, "vhost: shop\n", &format!("vhost: {vhost:?}\n"));
    spec = replaced(
        spec,
        "http://127.0.0.1:8081/inventory",
        &format!("http://127.0.0.1:{inventory_port}/inventory"),
    );
    let mut users = Vec::new();
    for user in USERS {
        let name = format!("warren-test.{user}.{tag}");
        spec = replaced(
            spec,
            &format!("    user: {user}\n"),
            &format!("    user: {name:?}\n"),
        );
        spec = replaced(
            spec,
            &format!("  {user}:\n    password_env:"),
            &format!("  {name:?}:\n    password_env:"),
        );
        users.push(name);
    }
    (spec, users)
}

/// A fresh password for each of the spec's users, as the variables its
/// `password_env` names.
pub fn passwords() -> Vec<(String, String)> {
    USERS
        .iter()
        .map(|user| {
            (
                format!("WARREN_PASSWORD_{}", user.to_uppercase()),
                format!("{user}-{}", uuid::Uuid::new_v4()),
            )
        })
        .collect()
}

pub struct Shop {
    pub broker: Broker,
    pub schema: String,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    pub api_port: u16,
    inventory_port: u16,
    pub metrics_port: u16,
    users: Vec<String>,
    children: HashMap<&'static str, Child>,
}

impl Shop {
    /// Applies the order flow to `broker` (with `extra` environment for
    /// every process: fault rates), migrates a new schema.
    pub fn new(tag: &str, broker: Broker, extra: &[(&str, &str)]) -> Shop {
        let schema = format!("shop_{tag}_{}", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        let inventory_port = free_port();
        let (spec, users) = own_spec(
            broker.vhost(),
            &format!("{}-{tag}", std::process::id()),
            inventory_port,
        );
        std::fs::write(dir.path().join("spec.yaml"), spec).unwrap();

        let settings = broker.settings();
        let mut env: Vec<(String, String)> = vec![
            ("SHOP_SCHEMA".into(), schema.clone()),
            ("SHOP_BIN".into(), shop_bin().display().to_string()),
            (
                "SHOP_SPEC".into(),
                dir.path().join("spec.yaml").display().to_string(),
            ),
            // Every node, for a shop on a cluster.
            ("WARREN_HTTP_URL".into(), joined(settings.http_urls())),
            ("WARREN_AMQP_URL".into(), joined(settings.amqp_urls())),
            ("RUST_LOG".into(), "warn".into()),
        ];
        env.extend(passwords());
        for (k, v) in extra {
            env.push((k.to_string(), v.to_string()));
        }
        let shop = Shop {
            broker,
            schema,
            dir,
            env,
            api_port: free_port(),
            inventory_port,
            metrics_port: free_port(),
            users,
            children: HashMap::new(),
        };
        let mut apply = crate::support::Warren::new()
            .args(["apply", "--yes"])
            .arg_path(&shop.spec());
        for (k, v) in &shop.env {
            apply = apply.env(k, v);
        }
        apply.success();
        let migrated = shop.command(shop_bin()).arg("migrate").output().unwrap();
        assert!(
            migrated.status.success(),
            "shop migrate: {}",
            String::from_utf8_lossy(&migrated.stderr)
        );
        shop
    }

    /// A shop on a vhost of its own on the shared broker, its processes
    /// started.
    pub async fn started(tag: &str, extra: &[(&str, &str)]) -> Shop {
        let vhost = TestVhost::new(&format!("shop-{tag}")).await;
        let mut shop = Shop::new(tag, Broker::Shared(Box::new(vhost)), extra);
        shop.start_all();
        shop
    }

    pub fn spec(&self) -> PathBuf {
        self.dir.path().join("spec.yaml")
    }

    /// The environment every process of the shop runs with (broker URLs,
    /// the services' passwords, fault rates).
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.current_dir(env!("CARGO_MANIFEST_DIR"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env_remove("WARREN_PASSWORD");
        c
    }

    /// Starts (or restarts) one of the shop's processes: `inventory`,
    /// `api`, `audit`, or `run` (`warren run` for the process handlers).
    pub fn start(&mut self, name: &'static str) {
        let mut command = if name == "run" {
            let mut c = self.command(assert_cmd::cargo::cargo_bin("warren"));
            c.arg("run").arg(self.spec()).args([
                "--metrics-addr",
                &format!("127.0.0.1:{}", self.metrics_port),
            ]);
            c
        } else {
            let mut c = self.command(shop_bin());
            c.arg(name);
            match name {
                "api" => c.args(["--addr", &format!("127.0.0.1:{}", self.api_port)]),
                "inventory" => c.args(["--addr", &format!("127.0.0.1:{}", self.inventory_port)]),
                _ => &mut c,
            };
            c
        };
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children.insert(name, child);
    }

    pub fn start_all(&mut self) {
        for name in ["inventory", "api", "audit", "run"] {
            self.start(name);
        }
        self.wait_for(&format!("http://127.0.0.1:{}/healthz", self.metrics_port));
        self.wait_for(&format!("http://127.0.0.1:{}/orders/none", self.api_port));
    }

    /// Waits until `url` answers at all (a 404 is an answer).
    fn wait_for(&self, url: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "{url} did not answer; logs:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL, as the kernel's OOM killer would: no shutdown at all.
    pub fn kill(&mut self, name: &'static str) {
        if let Some(mut child) = self.children.remove(name) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts `shop load` for the test's batch; [`Shop::summary`] reads
    /// what it printed. The test may break things meanwhile.
    pub fn spawn_load(&self, batch: Batch) -> tokio::task::JoinHandle<std::process::Output> {
        let mut command = self.command(shop_bin());
        command
            .args(["load", "--json", "--batch", "t", "--timeout", "400"])
            .args(["--orders", &batch.orders.to_string()])
            .args(["--api", &format!("http://127.0.0.1:{}", self.api_port)])
            .args([
                "--metrics",
                &format!("http://127.0.0.1:{}/metrics", self.metrics_port),
            ]);
        tokio::spawn(async move {
            tokio::process::Command::from(command)
                .output()
                .await
                .expect("shop load runs")
        })
    }

    pub fn summary(&self, output: std::process::Output) -> Value {
        let stdout = String::from_utf8_lossy(&output.stdout);
        serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "shop load printed no summary ({e}): {stdout}\n{}\nlogs:\n{}",
                String::from_utf8_lossy(&output.stderr),
                self.logs()
            )
        })
    }

    /// A connection to the test's schema.
    pub async fn db(&self) -> tokio_postgres::Client {
        let url = std::env::var("SHOP_DATABASE_URL")
            .unwrap_or_else(|_| "host=127.0.0.1 user=shop password=shop dbname=shop".into());
        let (client, connection) = tokio_postgres::connect(
            &format!("{url} options='-c search_path={}'", self.schema),
            tokio_postgres::NoTls,
        )
        .await
        .expect("PostgreSQL (bash scripts/postgres.sh)");
        tokio::spawn(connection);
        client
    }

    /// The last lines each process wrote, for a failure's message.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for name in ["inventory", "api", "audit", "run"] {
            let text = std::fs::read_to_string(self.dir.path().join(format!("{name}.log")))
                .unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n");
            all.push_str(&format!("--- {name}\n{tail}\n"));
        }
        all
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        let mut children: Vec<Child> = self.children.drain().map(|(_, c)| c).collect();
        // SIGTERM first: warren run stops its handler processes.
        for child in &children {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for child in &mut children {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.command(shop_bin()).arg("drop").output();
        if let Broker::Shared(vhost) = &self.broker {
            // Drop may run inside the test's runtime: a thread of its own.
            let settings = vhost.settings.clone();
            let users = self.users.clone();
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let http = warren::broker::http_client(&settings).unwrap();
                    for user in &users {
                        let _ = http.api().delete_user(user, true).await;
                    }
                });
            })
            .join();
        }
    }
}

/// The checks every run must pass, faults or not: each order in exactly
/// one final state, the shares as placed, every event recorded once, no
/// double charge or double shipment.
pub async fn assert_adds_up(shop: &Shop, batch: Batch, summary: &Value) {
    let context = || format!("summary: {summary:#}\nlogs:\n{}", shop.logs());
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    assert_eq!(n(&summary["unfinished"]), 0, "{}", context());
    assert_eq!(
        n(&summary["states"]["shipped"]),
        batch.shipped(),
        "{}",
        context()
    );
    assert_eq!(
        n(&summary["states"]["failed"]),
        batch.sold_out(),
        "{}",
        context()
    );
    assert_eq!(
        n(&summary["states"]["dead-lettered"]),
        batch.declined(),
        "{}",
        context()
    );
    assert_eq!(
        n(&summary["failed"]["out of stock: sku-sold-out"]),
        batch.sold_out(),
        "{}",
        context()
    );
    assert_eq!(
        n(&summary["dead_letter_reasons"]["card declined"]),
        batch.declined(),
        "{}",
        context()
    );
    // Cash-on-delivery orders ship without a charge.
    let cod = n(&summary["cod_orders"]);
    assert!(cod > 0, "{}", context());
    assert_eq!(
        n(&summary["charges"]),
        batch.shipped() - cod,
        "{}",
        context()
    );
    assert_eq!(n(&summary["charged_twice"]), 0, "{}", context());
    assert_eq!(n(&summary["shipments"]), batch.shipped(), "{}", context());
    assert_eq!(
        n(&summary["notifications"]),
        batch.events(),
        "{}",
        context()
    );
    assert_eq!(
        n(&summary["audit_records"]),
        batch.audited(),
        "{}",
        context()
    );
    // The India desk took India's orders, all of them.
    assert!(n(&summary["india_orders"]) > 0, "{}", context());
    assert_eq!(
        n(&summary["india_desk"]),
        n(&summary["india_orders"]),
        "{}",
        context()
    );
    assert_eq!(
        n(&summary["confirmations"]),
        batch.orders as u64,
        "{}",
        context()
    );
    assert!(
        summary["earliest_confirmation_seconds"]
            .as_f64()
            .unwrap_or(0.0)
            >= 3.0,
        "a confirmation came before its 3 s delay: {}",
        context()
    );

    // The same from the tables, one order at a time.
    let db = shop.db().await;
    let count = |sql: &'static str| {
        let db = &db;
        async move { db.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(
        count("SELECT count(*) FROM orders").await,
        batch.orders as i64
    );
    assert_eq!(
        count("SELECT count(*) FROM orders WHERE payment = 'cod'").await,
        cod as i64
    );
    // Every order's confirmation came after its delay, none before.
    assert_eq!(
        count("SELECT count(*) FROM notifications n JOIN orders o ON o.id = n.order_id WHERE n.event = 'order.confirmation' AND n.sent_at < o.created_at + interval '3 seconds'").await,
        0
    );
    // The India desk saw India's orders only, in every category.
    assert_eq!(
        count("SELECT count(*) FROM regional_desk r JOIN orders o ON o.id = r.order_id WHERE o.country <> 'india' OR r.country <> 'india'").await,
        0
    );
    assert_eq!(
        count("SELECT count(DISTINCT category) FROM regional_desk").await,
        3
    );
    // No order is both shipped and failed, nor shipped without a charge.
    assert_eq!(
        count("SELECT count(*) FROM orders o JOIN shipments s ON s.order_id = o.id WHERE o.state <> 'shipped'").await,
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM shipments s LEFT JOIN payments p ON p.order_id = s.order_id AND p.status IN ('charged', 'cod') WHERE p.order_id IS NULL").await,
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM (SELECT order_id FROM provider_calls WHERE outcome = 'charged' GROUP BY order_id HAVING count(*) > 1) t").await,
        0
    );
    // A sold-out order reserved nothing and was never charged.
    assert_eq!(
        count("SELECT count(*) FROM orders o JOIN provider_calls c ON c.order_id = o.id WHERE o.state = 'failed'").await,
        0
    );
    // Notifications and audit name the same events.
    assert_eq!(
        count("SELECT count(*) FROM notifications n FULL JOIN (SELECT * FROM audit_records WHERE event NOT LIKE 'order.%.%') a USING (order_id, event) WHERE n.order_id IS NULL OR a.order_id IS NULL").await,
        0
    );
    // Every flaky card timed out at least once before its charge.
    assert!(
        count("SELECT count(DISTINCT order_id) FROM provider_calls WHERE outcome = 'timeout'")
            .await
            == batch.flaky() as i64
    );
}

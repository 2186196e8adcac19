//! A RabbitMQ node of a test's own, beside the shared broker: its own node
//! name, ports, data directory and config file. A test that stops or
//! restarts the broker does it to this node, never to the one every other
//! test uses. The node is stopped and its files removed on drop.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use warren::broker::{Settings, SettingsInput};

pub struct Node {
    pub name: String,
    pub amqp_port: u16,
    pub http_port: u16,
    dist_port: u16,
    dir: tempfile::TempDir,
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Node {
    /// Starts a node with the management plugin and waits until it
    /// answers; `None` when RabbitMQ is not installed on this machine.
    pub fn start(tag: &str) -> Option<Node> {
        if Command::new("rabbitmq-server")
            .arg("--help")
            .output()
            .is_err()
            && !std::path::Path::new("/usr/sbin/rabbitmq-server").exists()
        {
            return None;
        }
        let name = format!("warren-test-{tag}-{}@localhost", std::process::id());
        let (amqp_port, http_port, dist_port) = (free_port(), free_port(), free_port());
        let dir = tempfile::Builder::new()
            .prefix("warren-node-")
            .tempdir()
            .unwrap();
        let path = dir.path();
        std::fs::write(
            path.join("rabbitmq.conf"),
            format!(
                "listeners.tcp.default = {amqp_port}\nmanagement.tcp.port = {http_port}\nmanagement.tcp.ip = 127.0.0.1\n"
            ),
        )
        .unwrap();
        std::fs::write(path.join("enabled_plugins"), "[rabbitmq_management].\n").unwrap();
        // The packaged scripts run the node as the rabbitmq user.
        let _ = Command::new("chmod").arg("755").arg(path).status();
        let _ = Command::new("chown")
            .args(["-R", "rabbitmq:rabbitmq"])
            .arg(path)
            .status();
        let node = Node {
            name,
            amqp_port,
            http_port,
            dist_port,
            dir,
        };
        let started = node
            .env(&mut Command::new("rabbitmq-server"))
            .arg("-detached")
            .status()
            .expect("run rabbitmq-server");
        assert!(started.success(), "rabbitmq-server -detached failed");
        node.await_up();
        Some(node)
    }

    /// `command` with the environment that points RabbitMQ at this node.
    fn env<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        let path = self.dir.path();
        command
            .env("RABBITMQ_NODENAME", &self.name)
            .env("RABBITMQ_NODE_PORT", self.amqp_port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_CONFIG_FILE", path.join("rabbitmq.conf"))
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                path.join("enabled_plugins"),
            )
            .env("RABBITMQ_MNESIA_BASE", path.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", path.join("log"))
            .env("RABBITMQ_PID_FILE", path.join("pid"))
    }

    /// `rabbitmqctl -n NODE ARGS...`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        self.env(&mut Command::new("rabbitmqctl"))
            .arg("-n")
            .arg(&self.name)
            .args(args)
            .output()
            .expect("run rabbitmqctl")
    }

    /// Waits until the node's AMQP port and management API answer.
    pub fn await_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let up = self
                .ctl(&["await_startup", "--timeout", "5"])
                .status
                .success()
                && std::net::TcpStream::connect(("127.0.0.1", self.amqp_port)).is_ok()
                && std::net::TcpStream::connect(("127.0.0.1", self.http_port)).is_ok();
            if up {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {} did not start",
                self.name
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Settings that reach this node as guest.
    pub fn settings(&self) -> Settings {
        let input = SettingsInput {
            http_url: Some(format!("http://127.0.0.1:{}", self.http_port)),
            amqp_url: Some(format!("amqp://127.0.0.1:{}", self.amqp_port)),
            ..SettingsInput::default()
        };
        Settings::resolve(&input, |_| None).expect("node settings")
    }

    /// The connection flags of warren's broker commands for this node.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--http-url".into(),
            format!("http://127.0.0.1:{}", self.http_port),
            "--amqp-url".into(),
            format!("amqp://127.0.0.1:{}", self.amqp_port),
        ]
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.ctl(&["stop"]);
    }
}

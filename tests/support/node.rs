//! A RabbitMQ node of a test's own, beside the shared broker
//! (`scripts/node.sh`): its own node name, ports, data directory and config
//! file, of the release under test (WARREN_BROKER_RELEASE, as
//! `scripts/broker.sh env` sets it). A test that stops or restarts the
//! broker does it to this node, never to the one every other test uses.
//! Stopped and removed on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

use warren::broker::{Settings, SettingsInput};

pub struct Node {
    pub amqp_port: u16,
    pub http_port: u16,
    dir: PathBuf,
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn script() -> Command {
    let mut c = Command::new("bash");
    c.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/node.sh"));
    c
}

impl Node {
    /// Starts a node with the management plugin and waits until it
    /// answers; `None` when the release is not installed on this machine
    /// (`scripts/broker.sh RELEASE` installs it).
    pub fn start(tag: &str) -> Option<Node> {
        let installed = script()
            .arg("available")
            .output()
            .is_ok_and(|o| o.status.success());
        if !installed {
            return None;
        }
        let name = format!("warren-test-{tag}-{}", std::process::id());
        let dir = std::env::temp_dir().join(&name);
        let (amqp_port, http_port, dist_port) = (free_port(), free_port(), free_port());
        let started = script()
            .arg("start")
            .arg(&dir)
            .arg(&name)
            .args([amqp_port, http_port, dist_port].map(|p| p.to_string()))
            .output()
            .expect("run scripts/node.sh");
        let node = Node {
            amqp_port,
            http_port,
            dir,
        };
        assert!(
            started.status.success(),
            "scripts/node.sh start failed: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        Some(node)
    }

    /// `rabbitmqctl` for this node.
    pub fn ctl(&self, args: &[&str]) -> Output {
        script()
            .arg("ctl")
            .arg(&self.dir)
            .args(args)
            .output()
            .expect("run scripts/node.sh ctl")
    }

    /// Waits until the node's AMQP port and management API answer again
    /// (after `start_app`).
    pub fn await_up(&self) {
        assert!(
            self.ctl(&["await_startup", "--timeout", "120"])
                .status
                .success(),
            "the node did not come back"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.amqp_port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "AMQP port closed");
            std::thread::sleep(std::time::Duration::from_millis(200));
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
        let _ = script().arg("stop").arg(&self.dir).output();
    }
}

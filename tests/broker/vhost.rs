//! A vhost's metadata and default queue type against the broker: apply
//! keeps what the spec states, a queue's type is decided in a fixed order
//! and declared explicitly, plan says where an unstated type came from, and
//! no default ever replaces a live queue. Run on every release: 3.10 keeps
//! no default queue type.

use serde_json::Value;
use warren::vocabulary::Version;

use crate::support::Warren;
use crate::support::broker::TestVhost;

/// `spec` (without `version`) in a file of its own.
fn spec(dir: &tempfile::TempDir, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, format!("version: 1\n{body}")).unwrap();
    path
}

fn warren(args: &[&str], vhost: &TestVhost, path: &std::path::Path) -> Warren {
    Warren::new()
        .args(args)
        .arg_path(path)
        .args(["--vhost", &vhost.name])
}

async fn release(vhost: &TestVhost) -> Version {
    warren::broker::live(&vhost.http)
        .await
        .unwrap()
        .version
        .unwrap()
}

async fn vhost_json(vhost: &TestVhost) -> Value {
    vhost
        .http
        .get_json(
            &format!("vhosts/{}", warren::broker::segment(&vhost.name)),
            "read the vhost",
        )
        .await
        .unwrap()
}

async fn queue_type(vhost: &TestVhost, queue: &str) -> String {
    vhost.queue(queue).await["type"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The plan's change for `queue`, as JSON.
fn planned(vhost: &TestVhost, path: &std::path::Path, queue: &str) -> Value {
    let ran = warren(&["plan", "--json"], vhost, path).success();
    let plan: Value = serde_json::from_str(&ran.stdout).unwrap();
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "queue" && c["name"] == queue)
        .cloned()
        .unwrap_or(Value::Null)
}

fn type_attr(change: &Value) -> Value {
    change["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "type")
        .cloned()
        .unwrap()
}

const QUEUES: &str = "exchanges: { ev: { type: topic } }\nqueues:\n  plain: { external: true, bindings: [{ exchange: ev, key: a }] }\n  typed: { type: classic, external: true, bindings: [{ exchange: ev, key: b }] }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_keeps_the_vhost_metadata_and_declares_the_type_it_decided() {
    needs_broker!();
    let vhost = TestVhost::new("vhost-meta").await;
    let keeps_type = release(&vhost).await >= Version::new(3, 11);
    let dir = tempfile::tempdir().unwrap();
    let path = spec(
        &dir,
        "spec.yaml",
        &format!(
            "vhost:\n  name: {:?}\n  description: The order flow\n  tags: [prod, eu]\n  default_queue_type: quorum\n{QUEUES}",
            vhost.name
        ),
    );
    // The untyped queue takes the vhost's default, and plan says so.
    let change = planned(&vhost, &path, "plain");
    let attr = type_attr(&change);
    assert_eq!(attr["after"], "quorum", "{change:#}");
    assert_eq!(
        attr["from"], "the vhost's default_queue_type in the spec",
        "{change:#}"
    );
    let text = warren(&["plan"], &vhost, &path).success().stdout;
    assert!(
        text.contains("type: \"quorum\" (from the vhost's default_queue_type in the spec)"),
        "{text}"
    );
    assert!(text.contains("~ vhost"), "{text}");
    warren(&["apply", "--yes"], &vhost, &path).success();
    warren(&["plan", "--detailed-exitcode"], &vhost, &path).status(0);

    let v = vhost_json(&vhost).await;
    assert_eq!(v["description"], "The order flow", "{v:#}");
    let mut tags: Vec<String> = serde_json::from_value(v["tags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, ["eu", "prod"]);
    if keeps_type {
        assert_eq!(v["default_queue_type"], "quorum", "{v:#}");
    }
    // warren declared the type it decided, whatever the vhost keeps.
    assert_eq!(queue_type(&vhost, "plain").await, "quorum");
    assert_eq!(queue_type(&vhost, "typed").await, "classic");

    // A field changes in place; one the spec leaves out stays.
    let changed = spec(
        &dir,
        "changed.yaml",
        &format!(
            "vhost:\n  name: {:?}\n  description: Orders and payments\n{QUEUES}",
            vhost.name
        ),
    );
    let text = warren(&["apply", "--yes"], &vhost, &changed)
        .success()
        .stdout;
    assert!(
        text.contains("description: \"The order flow\" -> \"Orders and payments\""),
        "{text}"
    );
    let v = vhost_json(&vhost).await;
    assert_eq!(v["description"], "Orders and payments");
    assert_eq!(v["tags"].as_array().map(Vec::len), Some(2), "{v:#}");
    if keeps_type {
        assert_eq!(v["default_queue_type"], "quorum", "{v:#}");
    }
    // `plain` states no type: the file has no default now and the vhost
    // keeps quorum (3.10 keeps none): it stays as it is either way.
    warren(&["plan", "--detailed-exitcode"], &vhost, &changed).status(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_untyped_queue_takes_the_live_vhost_default_and_a_live_queue_is_never_flipped() {
    needs_broker!();
    let vhost = TestVhost::new("vhost-live").await;
    let dir = tempfile::tempdir().unwrap();
    let plain = spec(&dir, "plain.yaml", QUEUES);
    // Applied where nothing says a type: classic.
    warren(&["apply", "--yes"], &vhost, &plain).success();
    assert_eq!(queue_type(&vhost, "plain").await, "classic");

    // A default in the file would make it quorum: plan leaves it, and says
    // why; a new untyped queue takes the default.
    let quorum = spec(
        &dir,
        "quorum.yaml",
        &format!(
            "defaults: {{ queue_type: quorum }}\n{QUEUES}  fresh: {{ external: true, bindings: [{{ exchange: ev, key: c }}] }}\n"
        ),
    );
    let ran = warren(&["plan", "--json"], &vhost, &quorum).success();
    let plan: Value = serde_json::from_str(&ran.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap(), c["name"].as_str().unwrap()))
        .collect();
    assert!(
        kinds.iter().all(|(_, name)| !name.contains("plain")),
        "{kinds:?}"
    );
    assert!(kinds.contains(&("create", "fresh")), "{kinds:?}");
    let notes = plan["notes"].to_string();
    assert!(
        notes.contains("queue \\\"plain\\\" stays classic"),
        "{notes}"
    );
    let text = warren(&["apply", "--yes"], &vhost, &quorum)
        .success()
        .stdout;
    assert!(text.contains("Notes:"), "{text}");
    assert_eq!(queue_type(&vhost, "plain").await, "classic");
    assert_eq!(queue_type(&vhost, "fresh").await, "quorum");
    warren(&["plan", "--detailed-exitcode"], &vhost, &quorum).status(0);

    // Its own type does replace it (the data at stake is checked as ever).
    let own = spec(
        &dir,
        "own.yaml",
        &QUEUES.replace("plain: { external", "plain: { type: quorum, external"),
    );
    let change = planned(&vhost, &own, "plain");
    assert_eq!(change["action"], "replace", "{change:#}");

    // On a broker that keeps a vhost's default queue type, a new untyped
    // queue takes the live vhost's default when the spec gives none.
    if release(&vhost).await < Version::new(3, 11) {
        return;
    }
    let other = TestVhost::new("vhost-live-default").await;
    other
        .http
        .put_json(
            &format!("vhosts/{}", warren::broker::segment(&other.name)),
            &serde_json::json!({ "default_queue_type": "quorum" }),
            "set the default queue type",
        )
        .await
        .unwrap();
    let change = planned(&other, &plain, "plain");
    let attr = type_attr(&change);
    assert_eq!(attr["after"], "quorum", "{change:#}");
    assert_eq!(
        attr["from"], "the vhost's default queue type on the broker",
        "{change:#}"
    );
    // The typed queue stays what it says.
    assert_eq!(
        type_attr(&planned(&other, &plain, "typed"))["after"],
        "classic"
    );
    warren(&["apply", "--yes"], &other, &plain).success();
    assert_eq!(queue_type(&other, "plain").await, "quorum");
    warren(&["plan", "--detailed-exitcode"], &other, &plain).status(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_creates_a_missing_vhost_with_its_metadata() {
    needs_broker!();
    let vhost = TestVhost::new("vhost-new").await;
    // Gone before apply: apply creates it (and the drop deletes it).
    vhost
        .http
        .api()
        .delete_vhost(&vhost.name, false)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = spec(
        &dir,
        "spec.yaml",
        &format!(
            "vhost: {{ name: {:?}, description: Fresh, default_queue_type: quorum }}\n{QUEUES}",
            vhost.name
        ),
    );
    let text = warren(&["apply", "--yes"], &vhost, &path).success().stdout;
    assert!(text.contains("does not exist on the broker"), "{text}");
    let v = vhost_json(&vhost).await;
    assert_eq!(v["description"], "Fresh", "{v:#}");
    if release(&vhost).await >= Version::new(3, 11) {
        assert_eq!(v["default_queue_type"], "quorum", "{v:#}");
    }
    warren(&["plan", "--detailed-exitcode"], &vhost, &path).status(0);
}

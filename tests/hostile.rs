//! Hostile input: what a careless script or a broken server hands warren.
//! Each test is a class of input, not one example: warren must not panic,
//! hang, leak a secret, use memory without bound, or mislead.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use crate::support::Warren;

fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `file:line:column` from a human diagnostic's header.
fn human_position(stderr: &str) -> (usize, usize) {
    let start = stderr.find("╭─[").expect("a snippet header") + "╭─[".len();
    let end = start + stderr[start..].find(']').unwrap();
    let mut parts = stderr[start..end].rsplitn(3, ':');
    let column = parts.next().unwrap().parse().unwrap();
    let line = parts.next().unwrap().parse().unwrap();
    (line, column)
}

fn json_position(stdout: &str) -> (usize, usize) {
    let items: serde_json::Value = serde_json::from_str(stdout).unwrap();
    let first = &items[0];
    (
        first["line"].as_u64().unwrap() as usize,
        first["column"].as_u64().unwrap() as usize,
    )
}

#[test]
fn a_diagnostic_far_along_one_line_renders_an_excerpt() {
    let dir = tempfile::tempdir().unwrap();
    for width in [65_600, 70_000, 300_000] {
        let spec = write(
            dir.path(),
            "wide.yaml",
            format!(
                "version: 1\nqueues: {{{}q: {{external: true}}}}\n",
                " ".repeat(width)
            ),
        );
        // Valid, but warns: the renderer must draw a warning past column 65,535.
        let ran = Warren::new().args(["validate"]).arg_path(&spec).success();
        ran.stderr_has("W321");
        assert!(ran.stderr.len() < 4_000, "{} bytes", ran.stderr.len());
        let json = Warren::new()
            .args(["validate", "--format", "json"])
            .arg_path(&spec)
            .success();
        assert_eq!(human_position(&ran.stderr), json_position(&json.stdout));
        assert_eq!(json_position(&json.stdout), (2, width + 10));
    }
}

#[test]
fn every_format_gives_the_same_position() {
    let dir = tempfile::tempdir().unwrap();
    let texts = [
        // Lone CR line breaks.
        "version: 1\rqueues:\r  q: { exchange_typo: 1 }\r",
        // CRLF.
        "version: 1\r\nqueues:\r\n  q: { exchange_typo: 1 }\r\n",
        // Non-ASCII before the error on its line.
        "version: 1\nqueues:\n  ünïcødé: { external: true, bindings: [{ exchange: nope }] }\n",
        "version: 1\nqueues:\n  \"日本語\": { external: true, bindings: [{ exchange: nope }] }\n",
    ];
    for text in texts {
        let spec = write(dir.path(), "pos.yaml", text);
        let human = Warren::new().args(["validate"]).arg_path(&spec).status(1);
        let json = Warren::new()
            .args(["validate", "--format", "json"])
            .arg_path(&spec)
            .status(1);
        let github = Warren::new()
            .args(["validate", "--format", "github"])
            .arg_path(&spec)
            .status(1);
        let (line, column) = json_position(&json.stdout);
        assert_eq!(human_position(&human.stderr), (line, column), "{text:?}");
        assert!(
            github.stdout.contains(&format!("line={line},col={column}")),
            "{text:?}: {}",
            github.stdout
        );
        assert!(line >= 3, "{text:?}: line {line}");
    }
}

#[test]
fn control_characters_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write(
        dir.path(),
        "ctl.yaml",
        "version: 1\nqueues:\n  \"evil\\e[2J\\a\\r\": { external: true, bindings: [{ exchange: \"x\\e]0;pwned\\a\" }] }\n",
    );
    for format in ["human", "github"] {
        let ran = Warren::new()
            .args(["validate", "--format", format])
            .arg_path(&spec)
            .status(1);
        for output in [&ran.stdout, &ran.stderr] {
            assert!(
                !output.contains(['\u{1b}', '\u{7}', '\r']),
                "{format}: {output:?}"
            );
        }
        assert!(
            ran.stdout.contains("\\u{1b}") || ran.stderr.contains("\\u{1b}"),
            "{format}: escaped form shown"
        );
    }
    let ran = Warren::new()
        .args(["route", "--exchange", "x\u{1b}", "--key", "k"])
        .arg_path(&spec)
        .status(1);
    assert!(!ran.stderr.contains('\u{1b}'), "{:?}", ran.stderr);
}

#[test]
fn a_huge_value_is_never_echoed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "x".repeat(5_000_000);
    let cases = [
        // A huge name in a finding.
        format!(
            "version: 1\nqueues:\n  q: {{ external: true, bindings: [{{ exchange: {huge} }}] }}\n"
        ),
        // A huge value in a parse error.
        format!("version: 1\nqueues:\n  q: {{ max_length: {huge} }}\n"),
        // A huge unknown field.
        format!("version: 1\n{huge}: 1\n"),
    ];
    for text in cases {
        let spec = write(dir.path(), "huge.yaml", &text);
        for format in ["human", "json", "github"] {
            let ran = Warren::new()
                .args(["validate", "--format", format])
                .arg_path(&spec)
                .status(1);
            let printed = ran.stdout.len() + ran.stderr.len();
            assert!(printed < 20_000, "{format}: {printed} bytes");
        }
    }
}

#[test]
fn a_directory_that_links_to_itself_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.yaml",
        "version: 1\nexchanges:\n  x: { type: fanout }\nqueues:\n  q: { external: true, bindings: [{ exchange: x }] }\n",
    );
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink("..", dir.path().join("sub/up")).unwrap();
    std::os::unix::fs::symlink(".", dir.path().join("self")).unwrap();
    std::os::unix::fs::symlink("a.yaml", dir.path().join("again.yaml")).unwrap();
    let ran = Warren::new()
        .args(["validate", "--deny-warnings"])
        .arg_path(dir.path())
        .arg_path(&dir.path().join("a.yaml"))
        .arg_path(&dir.path().join("sub/../a.yaml"))
        .success();
    ran.stderr_lacks("E103");
    ran.stderr_has("it leads to a directory already read");
    ran.stderr_has("1 queues");
}

#[test]
fn files_that_are_not_regular_are_skipped_in_directories() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.yaml",
        "version: 1\nexchanges:\n  x: { type: fanout }\nqueues:\n  q: { external: true, bindings: [{ exchange: x }] }\n",
    );
    let fifo = dir.path().join("x.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let socket = std::os::unix::net::UnixListener::bind(dir.path().join("s.yml")).unwrap();
    let ran = Warren::new()
        .args(["validate"])
        .arg_path(dir.path())
        .success();
    ran.stderr_has("not a regular file");
    assert!(ran.stderr.contains("x.yaml") && ran.stderr.contains("s.yml"));
    drop(socket);
}

#[test]
fn input_files_have_a_size_limit() {
    // An endless file is refused at the limit, not read until memory runs out.
    let ran = Warren::new()
        .env("WARREN_MAX_FILE_SIZE", "1MiB")
        .args(["validate", "/dev/zero"])
        .status(1);
    ran.stderr_has("larger than 1 MiB");
    ran.stderr_has("WARREN_MAX_FILE_SIZE");
    let ran = Warren::new()
        .env("WARREN_MAX_FILE_SIZE", "1KiB")
        .args([
            "import",
            "tests/corpus/definitions/01-yoko-reporting-large-export.json",
        ])
        .status(1);
    ran.stderr_has("larger than 1024 bytes");
    let ran = Warren::new()
        .env("WARREN_MAX_FILE_SIZE", "lots")
        .args(["validate", "topologies/"])
        .status(64);
    ran.stderr_has("is not a size");
}

#[test]
fn a_file_that_is_not_utf8_is_located_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write(dir.path(), "latin1.yaml", b"version: 1\nvhost: caf\xe9\n");
    for format in ["human", "json", "github"] {
        let ran = Warren::new()
            .args(["validate", "--format", format])
            .arg_path(&spec)
            .status(1);
        let all = format!("{}{}", ran.stdout, ran.stderr);
        assert!(all.contains("not UTF-8"), "{format}: {all}");
        assert!(
            all.contains("2:11") || all.contains("\"column\": 11") || all.contains("col=11"),
            "{format}: {all}"
        );
    }
}

#[test]
fn parser_limits_fit_large_specs_and_say_what_they_refuse() {
    // 50,000 queues in one file, half of them through one merge-key anchor.
    let mut spec = String::from(
        "version: 1\nexchanges:\n  x: { type: direct }\nqueues:\n  q0: &q { external: true, durable: true, bindings: [{ exchange: x, key: k }] }\n",
    );
    for i in 1..50_000 {
        if i % 2 == 0 {
            spec.push_str(&format!("  q{i}: {{ <<: *q, max_length: {i} }}\n"));
        } else {
            spec.push_str(&format!(
                "  q{i}: {{ external: true, bindings: [{{ exchange: x, key: k{i} }}] }}\n"
            ));
        }
    }
    let loaded = warren::spec::load_str("big.yaml", &spec);
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics[0]);
    // Nesting that runs away is refused in plain words.
    let deep = format!(
        "version: 1\nqueues:\n  q:\n    arguments: {}1{}\n",
        "{a: ".repeat(100),
        "}".repeat(100)
    );
    let loaded = warren::spec::load_str("deep.yaml", &deep);
    let message = &loaded.diagnostics[0].message;
    assert!(message.contains("nests more than 64 levels"), "{message}");
    // An alias bomb is refused before it expands.
    let mut bomb = String::from("version: 1\nvhost: v\nx0: &a0 [z, z, z, z, z, z, z, z, z, z]\n");
    for i in 1..12 {
        let prev = i - 1;
        bomb.push_str(&format!(
            "x{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    let loaded = warren::spec::load_str("bomb.yaml", &bomb);
    assert!(!loaded.diagnostics.is_empty());
}

#[test]
fn parser_messages_name_no_library_internals() {
    let cases = [
        "version: 1\nqueues:\n  q: {}\n  q: {}\n",
        "version: 1\n---\nversion: 1\n",
        "version: 1\nqueues:\n  q: { max_length: -3 }\n",
        "version: 1\nqueues:\n  q: { durable: 3 }\n",
        "version: 1\nexchanges: {ex: {type: null}}\n",
        "version: 1\nservices:\n  s: { handler: [] }\n",
        "version: 1\nservices:\n  s: { handler: {} }\n",
        "version: 1\nservices:\n  s: { consumes: null }\n",
        "version: 1\nqueues: {q: &x {arguments: {a: *x}}}\n",
        &format!(
            "version: 1\nqueues:\n  q:\n    arguments: {}1{}\n",
            "{a: ".repeat(100),
            "}".repeat(100)
        ),
    ];
    for text in cases {
        let loaded = warren::spec::load_str("s.yaml", text);
        let d = &loaded.diagnostics[0];
        let shown = format!("{} {}", d.message, d.help.clone().unwrap_or_default());
        for internal in [
            "Option<",
            "unit value",
            "externally tagged",
            "weak recursion",
            "DuplicateKeyPolicy",
            "from_str_multiple",
            "Options",
            "u64",
            "u32",
            "i64",
            "budget breached",
            "Depth {",
        ] {
            assert!(!shown.contains(internal), "{text:?}: {shown}");
        }
    }
}

#[test]
fn urls_never_print_their_password() {
    for flag in ["--http-url", "--amqp-url"] {
        for url in [
            "guest:S3cr3t@127.0.0.1:15672",
            "//guest:S3cr3t@127.0.0.1:15672",
            "amqp:/guest:S3cr3t@host",
            "http://127.0.0.1:15672/?password=S3cr3t",
            "gopher://u:S3cr3t@host",
            "http://guest:S3cr3t",
            "guest:S3cr3t",
        ] {
            let ran = Warren::new()
                .args(["export", "--vhost", "v", flag, url])
                .status(1);
            assert!(
                !ran.stdout.contains("S3cr3t") && !ran.stderr.contains("S3cr3t"),
                "{flag} {url}: {}",
                ran.stderr
            );
        }
    }
}

/// A server on a local port that answers every request the same way.
struct FakeServer {
    url: String,
    /// The start of every request it was sent.
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

enum Answer {
    /// A complete response with this status and body.
    Json(u16, &'static str),
    /// A 200 whose chunked body never ends.
    Endless,
    /// Accepts the connection and never answers.
    Silent,
}

impl FakeServer {
    fn start(answer: Answer) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let answer = std::sync::Arc::new(answer);
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let (answer, log) = (answer.clone(), log.clone());
                std::thread::spawn(move || {
                    let mut request = [0u8; 8192];
                    let n = stream.read(&mut request).unwrap_or(0);
                    log.lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&request[..n]).into_owned());
                    match &*answer {
                        Answer::Json(status, body) => {
                            let _ = write!(
                                stream,
                                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            );
                        }
                        Answer::Endless => {
                            let _ = write!(
                                stream,
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                            );
                            let chunk = format!("10000\r\n{}\r\n", "[".repeat(0x10000));
                            // Bounded: stops after 64 MiB, long past the limit the test sets.
                            for _ in 0..1024 {
                                if stream.write_all(chunk.as_bytes()).is_err() {
                                    return;
                                }
                            }
                        }
                        Answer::Silent => std::thread::sleep(std::time::Duration::from_secs(30)),
                    }
                });
            }
        });
        FakeServer { url, seen }
    }
}

#[test]
fn credentials_written_in_one_url_are_never_sent_to_another_node() {
    let first = FakeServer::start(Answer::Json(500, r#"{"error":"boom"}"#));
    // The second node has the credentials; it is not running.
    let urls = format!("{},http://ops:S3cr3t@127.0.0.2:9", first.url);
    let ran = Warren::new()
        .args(["export", "--vhost", "v", "--http-url", &urls])
        .args(["--connect-timeout", "1s"])
        .status(1);
    let seen = first.seen.lock().unwrap().join("\n");
    assert!(!seen.is_empty(), "the first node was not asked");
    // guest:guest, the default for a local node; never ops:S3cr3t.
    let (ours, theirs) = ("Z3Vlc3Q6Z3Vlc3Q=", "b3BzOlMzY3IzdA==");
    assert!(seen.contains(ours), "{seen}");
    assert!(!seen.contains(theirs), "{seen}");
    ran.stderr_lacks("S3cr3t");
    // Both nodes are named, each with why it was passed over.
    ran.stderr_has(&first.url).stderr_has("127.0.0.2:9");
}

#[test]
fn a_sick_first_node_is_passed_over_for_the_next() {
    needs_broker!();
    let real = crate::support::broker::http_url(None);
    for answer in [
        Answer::Json(500, r#"{"error":"internal"}"#),
        Answer::Json(200, "<html>a proxy's page</html>"),
        Answer::Json(503, "Service Unavailable"),
        Answer::Silent,
    ] {
        let sick = FakeServer::start(answer);
        let ran = Warren::new()
            .args(["export", "--vhost", "/", "--timeout", "2s"])
            .args(["--http-url", &format!("{},{real}", sick.url)])
            .status_any();
        assert_eq!(ran.code, Some(0), "{}", ran.stderr);
        ran.stdout_has("version: 1");
    }
}

#[test]
fn an_unexpected_answer_is_an_error_that_names_the_request() {
    for body in ["[]", "{\"unexpected\": true}", "null", "not json"] {
        let server = FakeServer::start(Answer::Json(200, body));
        for args in [
            vec!["export", "--vhost", "v"],
            vec!["plan", "topologies/ecommerce.yaml"],
        ] {
            let ran = Warren::new()
                .args(&args)
                .args(["--http-url", &server.url])
                .status(1);
            assert!(!ran.stderr.contains("panicked"), "{body}: {}", ran.stderr);
            assert!(
                ran.stderr.contains("vhost \"")
                    || ran.stderr.contains("list users")
                    || ran.stderr.contains("GET /api/"),
                "{body} {args:?}: {}",
                ran.stderr
            );
        }
    }
}

#[test]
fn the_broker_s_own_reason_is_kept() {
    let server = FakeServer::start(Answer::Json(
        401,
        r#"{"error":"not_authorised","reason":"Login failed"}"#,
    ));
    let ran = Warren::new()
        .args(["export", "--vhost", "v", "--http-url", &server.url])
        .status(1);
    ran.stderr_has("HTTP 401: Login failed");
}

#[test]
fn an_endless_answer_stops_at_the_size_limit() {
    let server = FakeServer::start(Answer::Endless);
    let ran = Warren::new()
        .env("WARREN_MAX_RESPONSE_SIZE", "1MiB")
        .args(["export", "--vhost", "v", "--http-url", &server.url])
        .status(1);
    ran.stderr_has("larger than 1 MiB");
    ran.stderr_has("WARREN_MAX_RESPONSE_SIZE");
}

#[test]
fn a_silent_endpoint_times_out_and_says_which_request() {
    let server = FakeServer::start(Answer::Silent);
    let started = std::time::Instant::now();
    let ran = Warren::new()
        .args([
            "export",
            "--vhost",
            "v",
            "--timeout",
            "1s",
            "--http-url",
            &server.url,
        ])
        .status(1);
    ran.stderr_has("export the definitions of vhost \"v\": no complete answer within 1s");
    // A hang guard, not a measurement: the default timeout is 30 s.
    assert!(started.elapsed() < std::time::Duration::from_secs(25));
}

#[test]
fn import_gives_every_vhost_a_file_validate_reads() {
    let dir = tempfile::tempdir().unwrap();
    let definitions = write(
        dir.path(),
        "defs.json",
        serde_json::json!({
            "vhosts": [{"name": "/"}, {"name": "default"}, {"name": "Default"}, {"name": ".hidden"}, {"name": "a/b"}, {"name": "a_b"}],
            "exchanges": [], "queues": [], "bindings": [], "policies": []
        })
        .to_string(),
    );
    let out = dir.path().join("out");
    Warren::new()
        .args(["import"])
        .arg_path(&definitions)
        .args(["--out-dir"])
        .arg_path(&out)
        .success();
    let files = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(files, 6);
    let ran = Warren::new().args(["validate"]).arg_path(&out).success();
    for vhost in ["/", "default", "Default", ".hidden", "a/b", "a_b"] {
        assert!(
            ran.stderr.contains(&format!("ok: vhost {vhost:?}")),
            "{vhost}: {}",
            ran.stderr
        );
    }
}

#[test]
fn import_refuses_a_binding_to_no_known_kind_of_destination() {
    let dir = tempfile::tempdir().unwrap();
    let definitions = write(
        dir.path(),
        "defs.json",
        serde_json::json!({
            "exchanges": [{"name": "x", "vhost": "/", "type": "fanout", "durable": true, "auto_delete": false, "internal": false, "arguments": {}}],
            "queues": [{"name": "q", "vhost": "/", "durable": true, "auto_delete": false, "arguments": {}}],
            "bindings": [{"source": "x", "vhost": "/", "destination": "q", "destination_type": "banana", "routing_key": "", "arguments": {}}]
        })
        .to_string(),
    );
    let ran = Warren::new()
        .args(["import"])
        .arg_path(&definitions)
        .status(1);
    ran.stderr_has("destination_type \"banana\"");
}

#[test]
fn write_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = write(dir.path(), "not-a-dir", "x");
    let ran = Warren::new()
        .args([
            "import",
            "tests/corpus/definitions/09-sutazai-4-vhosts-ha-policies.json",
            "--out-dir",
        ])
        .arg_path(&blocker.join("sub"))
        .status(1);
    ran.stderr_has("not-a-dir/sub");
}

#[test]
fn route_json_hops_have_one_shape() {
    let ran = Warren::new()
        .args([
            "route",
            "topologies/ecommerce.yaml",
            "--exchange",
            "order_events",
            "--key",
            "nobody.listens",
            "--json",
        ])
        .success();
    let doc: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let hops = doc["hops"].as_array().unwrap();
    assert!(hops.iter().any(|h| h["via"] == "alternate_exchange"));
    assert!(hops.iter().any(|h| h["via"] == "binding"));
    for hop in hops {
        let mut keys: Vec<&str> = hop
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "destination",
                "destination_type",
                "routing_key",
                "source",
                "via"
            ],
            "{hop}"
        );
    }
}

#[test]
fn a_merge_chain_past_the_nesting_limit_is_refused_in_plain_words() {
    let mut spec = String::from("version: 1\nqueues:\n  q0: &q0 { durable: true }\n");
    for i in 1..100 {
        spec.push_str(&format!("  q{i}: &q{i} {{ <<: *q{} }}\n", i - 1));
    }
    let loaded = warren::spec::load_str("merge.yaml", &spec);
    let message = &loaded.diagnostics[0].message;
    assert!(
        !message.contains("Depth {") && !message.contains("budget"),
        "{message}"
    );
}

#[test]
fn a_key_longer_than_amqp_allows_is_refused_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let key = format!("{}b", "a.".repeat(20_000));
    let spec = write(
        dir.path(),
        "key.yaml",
        format!(
            "version: 1\nexchanges: {{ ex: {{ type: topic }} }}\nqueues:\n  q: {{ external: true, bindings: [{{ exchange: ex, key: \"{key}\" }}] }}\n"
        ),
    );
    let ran = Warren::new().args(["validate"]).arg_path(&spec).status(1);
    ran.stderr_has("at most 255");
    let fine = write(
        dir.path(),
        "ok.yaml",
        "version: 1\nexchanges: { ex: { type: topic } }\nqueues:\n  q: { external: true, bindings: [{ exchange: ex, key: \"a.#\" }] }\n",
    );
    let ran = Warren::new()
        .args(["route"])
        .arg_path(&fine)
        .args(["--exchange", "ex", "--key", &key])
        .status(64);
    ran.stderr_has("at most 255 bytes");
    assert!(ran.stderr.len() < 1_000);
}

#[test]
fn a_fifo_given_by_name_with_no_writer_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("f.yaml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let ran = Warren::new().args(["validate"]).arg_path(&fifo).status(1);
    ran.stderr_has("nothing writes to it");
    let ran = Warren::new().args(["import"]).arg_path(&fifo).status(1);
    ran.stderr_has("nothing writes to it");
    let ran = Warren::new()
        .args(["plan", "topologies/ecommerce.yaml", "--ca-cert"])
        .arg_path(&fifo)
        .status(1);
    ran.stderr_has("nothing writes to");
    // A pipe with a writer is read to its end.
    let ran = std::process::Command::new("bash")
        .args([
            "-c",
            &format!(
                "{} validate <(cat topologies/ecommerce.yaml)",
                env!("CARGO_BIN_EXE_warren")
            ),
        ])
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
}

#[test]
fn a_password_in_a_spec_is_not_shown_in_its_snippet() {
    let ran = Warren::new()
        .args(["validate", "tests/broken/E004-password-in-spec.yaml"])
        .status(1);
    ran.stderr_has("E004");
    ran.stderr_lacks("hunter2");
}

#[test]
fn huge_arguments_are_not_echoed_whole() {
    let huge = "x".repeat(100_000);
    let dir = tempfile::tempdir().unwrap();
    let vhost = write(dir.path(), "v.yaml", format!("version: 1\nvhost: {huge}\n"));
    for ran in [
        Warren::new().args(["validate"]).arg_path(&vhost).success(),
        Warren::new()
            .args(["validate", "--format", &huge, "topologies/"])
            .status(64),
        Warren::new()
            .args([
                "route",
                "topologies/ecommerce.yaml",
                "--exchange",
                "order_events",
                "--key",
                "k",
                "--header",
                &huge,
            ])
            .status(64),
        Warren::new()
            .args(["plan", "--timeout", &huge, "topologies/ecommerce.yaml"])
            .status(64),
    ] {
        assert!(
            ran.stdout.len() + ran.stderr.len() < 5_000,
            "{}",
            ran.stderr.len()
        );
    }
}

#[test]
fn graph_output_escapes_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write(
        dir.path(),
        "g.yaml",
        "version: 1\nexchanges:\n  \"ex\\e[2J\\a\\r\": { type: fanout }\nqueues:\n  q: { external: true, bindings: [{ exchange: \"ex\\e[2J\\a\\r\" }] }\n",
    );
    for format in ["mermaid", "dot"] {
        // Such a name is refused (E105), and the refusal escapes it too.
        let ran = Warren::new()
            .args(["graph", "--format", format])
            .arg_path(&spec)
            .status(1);
        ran.stderr_has("E105");
        let printed = format!("{}{}", ran.stdout, ran.stderr);
        assert!(
            !printed.contains(['\u{1b}', '\u{7}', '\r']),
            "{format}: {printed:?}"
        );
    }
}

#[test]
fn an_empty_vhost_is_refused() {
    let ran = Warren::new().args(["export", "--vhost", ""]).status(64);
    ran.stderr_has("--vhost needs a name");
    let dir = tempfile::tempdir().unwrap();
    let spec = write(dir.path(), "e.yaml", "version: 1\nvhost: \"\"\n");
    let ran = Warren::new().args(["validate"]).arg_path(&spec).status(1);
    ran.stderr_has("E010");
}

#[test]
fn parallel_endless_answers_share_one_size_limit() {
    let server = FakeServer::start(Answer::Endless);
    let ran = Warren::new()
        .env("WARREN_MAX_RESPONSE_SIZE", "4MiB")
        .args([
            "plan",
            "topologies/ecommerce.yaml",
            "--http-url",
            &server.url,
        ])
        .status(1);
    ran.stderr_has("larger than 4 MiB");
}

#[tokio::test]
async fn a_write_the_node_in_use_does_not_answer_goes_to_the_next() {
    needs_broker!();
    // A node whose management API is down (a 503 to everything), listed
    // first, then the real broker: the write itself must fail over, as a
    // read does, whichever node served the reads before it.
    let real = crate::support::broker::http_url(None);
    for answer in [Answer::Json(503, "Service Unavailable"), Answer::Silent] {
        let sick = FakeServer::start(answer);
        let input = warren::broker::SettingsInput {
            http_url: Some(format!("{},{real}", sick.url)),
            timeout: Some(std::time::Duration::from_secs(2)),
            ..Default::default()
        };
        let settings = warren::broker::Settings::resolve(&input, |_| None).unwrap();
        let http = warren::broker::http_client(&settings).unwrap();
        let vhost = format!("write-failover-{}", std::process::id());
        http.put_json(
            &format!("vhosts/{vhost}"),
            &serde_json::json!({}),
            "create the vhost",
        )
        .await
        .unwrap();
        assert!(http.endpoint().starts_with(&real), "{}", http.endpoint());
        assert!(
            sick.seen
                .lock()
                .unwrap()
                .iter()
                .any(|r| r.starts_with("PUT"))
        );
        let exists = warren::broker::http_client(&crate::support::broker::settings())
            .unwrap()
            .api()
            .get_vhost(&vhost)
            .await;
        http.delete(&format!("vhosts/{vhost}"), "delete the vhost")
            .await
            .unwrap();
        assert!(exists.is_ok(), "{exists:?}");
    }
}

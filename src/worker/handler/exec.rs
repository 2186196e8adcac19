//! `exec`: one process per message. The body goes on stdin, the metadata
//! in the environment; each line the process prints is an event to emit.
//! Exit 0 is success, 65 (EX_DATAERR) a permanent failure, anything else
//! (a signal too) a transient one.

use std::process::Stdio as Pipe;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ERROR_TAIL, Handler, HandlerFuture, MAX_OUTPUT, tail};
use crate::worker::contract::{PERMANENT_EXIT, env};
use crate::worker::{Event, Failure, Message, Outcome};

/// A handler that runs a command once per message (see the module docs).
pub struct Exec {
    command: Vec<String>,
}

impl Exec {
    /// A handler running `command` (program, then arguments) once per
    /// message.
    pub fn new(command: Vec<String>) -> Exec {
        Exec { command }
    }
}

impl Handler for Exec {
    fn call(&self, message: Message) -> HandlerFuture {
        let command = self.command.clone();
        Box::pin(async move { run(&command, &message).await })
    }
}

/// Kills the whole process group when dropped: after the process ends,
/// and when the call is dropped (a timeout), so that nothing the handler
/// started outlives it.
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(id) = self.0.and_then(|id| i32::try_from(id).ok()) {
            // SAFETY: kill(2) with a negative pid signals a process group;
            // it touches no memory. A group that is gone gives ESRCH.
            unsafe {
                libc::kill(-id, libc::SIGKILL);
            }
        }
    }
}

async fn run(command: &[String], message: &Message) -> Outcome {
    let Some((program, args)) = command.split_first() else {
        return Err(Failure::permanent("the exec handler names no program"));
    };
    let body = serde_json::to_vec(&message.body).unwrap_or_default();
    let headers = serde_json::to_string(&message.headers).unwrap_or_default();
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .env(env::SERVICE, &message.service)
        .env(env::EXCHANGE, &message.exchange)
        .env(env::ROUTING_KEY, &message.routing_key)
        .env(env::MESSAGE_ID, message.message_id.as_deref().unwrap_or(""))
        .env(
            env::CORRELATION_ID,
            message.correlation_id.as_deref().unwrap_or(""),
        )
        .env(env::ATTEMPT, message.attempt.to_string())
        .env(env::HEADERS, headers)
        .stdin(Pipe::piped())
        .stdout(Pipe::piped())
        .stderr(Pipe::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Failure::transient(format!("cannot start {program:?}: {e}")))?;
    let _group = Group(child.id());
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(Failure::transient("the handler's pipes were not opened"));
    };
    // A handler that never reads stdin gets a broken pipe: not a failure.
    let feed = async move {
        let _ = stdin.write_all(&body).await;
        drop(stdin);
    };
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut stdout = stdout.take(MAX_OUTPUT as u64 + 1);
    let read_out = stdout.read_to_end(&mut out);
    let read_err = read_tail(stderr, &mut err);
    let ((), read_out, (), status) = tokio::join!(feed, read_out, read_err, child.wait());
    let status = status.map_err(|e| Failure::transient(format!("waiting for {program:?}: {e}")))?;
    if read_out.is_ok_and(|n| n > MAX_OUTPUT) {
        return Err(Failure::permanent(format!(
            "{program:?} printed more than {MAX_OUTPUT} bytes"
        )));
    }
    let stderr_text = tail(&err);
    match status.code() {
        Some(0) => String::from_utf8_lossy(&out)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Event::from_line(l).map_err(|e| Failure::permanent(e.to_string())))
            .collect(),
        Some(PERMANENT_EXIT) => Err(Failure::permanent(failed(
            program,
            &format!("exit {PERMANENT_EXIT}"),
            &stderr_text,
        ))),
        Some(code) => Err(Failure::transient(failed(
            program,
            &format!("exit {code}"),
            &stderr_text,
        ))),
        None => Err(Failure::transient(failed(
            program,
            "killed by a signal",
            &stderr_text,
        ))),
    }
}

fn failed(program: &str, how: &str, stderr: &str) -> String {
    if stderr.is_empty() {
        format!("{program:?} failed ({how})")
    } else {
        format!("{program:?} failed ({how}): {stderr}")
    }
}

/// Reads `from` to its end, keeping only the last [`ERROR_TAIL`] bytes.
async fn read_tail(mut from: impl AsyncReadExt + Unpin, into: &mut Vec<u8>) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        into.extend_from_slice(&buf[..n]);
        if into.len() > 2 * ERROR_TAIL {
            into.drain(..into.len() - ERROR_TAIL);
        }
    }
}

//! `stdio`: one long-lived process speaking JSON lines both ways. Each
//! request carries an `id`; the reply with that id settles it, in any
//! order, so many messages can be in flight at once. When the process
//! dies, the requests in flight fail as transient (they are retried) and
//! the next call starts a new process.

use std::collections::HashMap;
use std::process::Stdio as Pipe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::ChildStdin;
use tokio::sync::{Mutex, oneshot};

use super::{Handler, HandlerFuture, MAX_OUTPUT, Request};
use crate::worker::{Failure, Message, Outcome, Reply};

/// The soonest a process that died is started again.
const RESTART_PAUSE: Duration = Duration::from_millis(500);

type Pending = Arc<SyncMutex<HashMap<u64, oneshot::Sender<Outcome>>>>;
type Gone = Arc<std::sync::atomic::AtomicBool>;

/// A handler that sends messages to one long-lived process (see the module
/// docs).
pub struct Stdio {
    command: Vec<String>,
    next_id: AtomicU64,
    process: Arc<Mutex<Option<Process>>>,
}

/// The running process: where requests go, and who waits for replies.
struct Process {
    stdin: Arc<Mutex<ChildStdin>>,
    pending: Pending,
    started: Instant,
    /// Set by the reader when the process's output ends.
    gone: Gone,
}

impl Stdio {
    /// Speaks to `command` (program, then arguments), started on the first
    /// call.
    pub fn new(command: Vec<String>) -> Stdio {
        Stdio {
            command,
            next_id: AtomicU64::new(1),
            process: Arc::new(Mutex::new(None)),
        }
    }
}

impl Handler for Stdio {
    fn call(&self, message: Message) -> HandlerFuture {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (command, process) = (self.command.clone(), self.process.clone());
        Box::pin(async move {
            let (stdin, pending, gone) = running(&command, &process).await?;
            let (reply, answered) = oneshot::channel();
            if let Ok(mut p) = pending.lock() {
                p.insert(id, reply);
            }
            // Dropped with the call (a timeout): the request is forgotten.
            let _forget = Forget(pending.clone(), id);
            // The reader marks the process gone before it fails the requests
            // it knows: one registered after that would wait for nothing.
            if gone.load(Ordering::SeqCst) {
                return Err(Failure::crashed("the handler process exited"));
            }
            let mut line = serde_json::to_vec(&Request {
                id: Some(id),
                message: &message,
            })
            .map_err(|e| Failure::permanent(e.to_string()))?;
            line.push(b'\n');
            {
                let mut stdin = stdin.lock().await;
                stdin
                    .write_all(&line)
                    .await
                    .map_err(|e| Failure::crashed(format!("the handler process is gone: {e}")))?;
                stdin
                    .flush()
                    .await
                    .map_err(|e| Failure::crashed(format!("the handler process is gone: {e}")))?;
            }
            answered.await.unwrap_or_else(|_| {
                Err(Failure::crashed(
                    "the handler process exited with the message in flight",
                ))
            })
        })
    }
}

struct Forget(Pending, u64);

impl Drop for Forget {
    fn drop(&mut self) {
        if let Ok(mut p) = self.0.lock() {
            p.remove(&self.1);
        }
    }
}

/// The running process, started (again) if there is none.
async fn running(
    command: &[String],
    process: &Mutex<Option<Process>>,
) -> Result<(Arc<Mutex<ChildStdin>>, Pending, Gone), Failure> {
    let mut slot = process.lock().await;
    if let Some(p) = slot.as_ref()
        && !p.gone.load(Ordering::SeqCst)
    {
        return Ok((p.stdin.clone(), p.pending.clone(), p.gone.clone()));
    }
    if let Some(p) = slot.as_ref() {
        let since = p.started.elapsed();
        if since < RESTART_PAUSE {
            tokio::time::sleep(RESTART_PAUSE - since).await;
        }
    }
    let p = start(command)?;
    let handles = (p.stdin.clone(), p.pending.clone(), p.gone.clone());
    *slot = Some(p);
    Ok(handles)
}

fn start(command: &[String]) -> Result<Process, Failure> {
    let Some((program, args)) = command.split_first() else {
        return Err(Failure::permanent("the stdio handler names no program"));
    };
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Pipe::piped())
        .stdout(Pipe::piped())
        .stderr(Pipe::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Failure::transient(format!("cannot start {program:?}: {e}")))?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(Failure::transient("the handler's pipes were not opened"));
    };
    tracing::info!(program = %program, pid = child.id().unwrap_or_default(), "stdio handler started");
    let pending: Pending = Arc::default();
    let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let program = program.clone();
    tokio::spawn({
        let program = program.clone();
        async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(program = %program, "handler stderr: {}", crate::worker::headers::capped(&line, 2000));
            }
        }
    });
    tokio::spawn({
        let (pending, gone) = (pending.clone(), gone.clone());
        async move {
            read_replies(BufReader::new(stdout), &pending).await;
            gone.store(true, Ordering::SeqCst);
            // Whoever still waits learns the process is gone.
            if let Ok(mut p) = pending.lock() {
                p.clear();
            }
            let status = child.wait().await;
            tracing::warn!(program = %program, ?status, "stdio handler exited; the next message starts it again");
        }
    });
    Ok(Process {
        stdin: Arc::new(Mutex::new(stdin)),
        pending,
        started: Instant::now(),
        gone,
    })
}

/// Settles each request its reply names, until the output ends (or a
/// line grows past [`MAX_OUTPUT`]).
async fn read_replies(mut from: impl AsyncBufReadExt + AsyncReadExt + Unpin, pending: &Pending) {
    let mut line = Vec::new();
    loop {
        line.clear();
        match AsyncReadExt::take(&mut from, MAX_OUTPUT as u64)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) if !line.ends_with(b"\n") && line.len() >= MAX_OUTPUT => {
                tracing::error!(
                    "the stdio handler printed a line longer than {MAX_OUTPUT} bytes; restarting it"
                );
                return;
            }
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        let reply: Reply = match serde_json::from_str(&text) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(
                    "the stdio handler printed a line that is not a reply ({e}): {}",
                    crate::worker::headers::capped(text.trim(), 200)
                );
                continue;
            }
        };
        let Some(id) = reply.id else {
            tracing::warn!(
                "the stdio handler replied without an id; every reply names the request's id"
            );
            continue;
        };
        let waiter = pending.lock().ok().and_then(|mut p| p.remove(&id));
        match waiter {
            Some(w) => {
                let _ = w.send(reply.outcome());
            }
            None => tracing::warn!(id, "a reply to no request in flight (it timed out?)"),
        }
    }
}

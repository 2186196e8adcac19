//! Handlers: how a worker calls a service's code. Every kind keeps the
//! same contract (`message.rs`); the worker around it applies the
//! timeout, so a call may be dropped at any await, and each kind cleans
//! up when it is (exec kills its process group, stdio forgets the
//! request).

mod exec;
mod function;
mod http;
mod stdio;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

use super::{Message, Outcome};

pub use exec::Exec;
pub use function::{Function, function};
pub use http::Http;
pub use stdio::Stdio;

/// What a handler call returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

/// A service's code, called once per message.
pub trait Handler: Send + Sync + 'static {
    /// Handles one message; the future resolves to the events to emit or a
    /// failure.
    fn call(&self, message: Message) -> HandlerFuture;
}

/// The handler a spec names.
///
/// # Errors
/// An HTTP client cannot be built (no TLS roots, say).
pub fn from_spec(handler: &crate::vocabulary::Handler) -> Result<Arc<dyn Handler>, reqwest::Error> {
    use crate::vocabulary::Handler as Spec;
    Ok(match handler {
        Spec::Exec(command) => Arc::new(Exec::new(command.clone())),
        Spec::Stdio(command) => Arc::new(Stdio::new(command.clone())),
        Spec::Http(url) => Arc::new(Http::new(url)?),
    })
}

/// The JSON a `stdio` or `http` handler is sent: the message, and for
/// stdio the id its reply must carry.
/// (`contract::Request` is the handler's reading of it.)
#[derive(Serialize)]
pub(crate) struct Request<'m> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(flatten)]
    pub message: &'m Message,
}

/// Process output past this is refused: a handler printing without end
/// must not exhaust the worker's memory.
const MAX_OUTPUT: usize = 16 * 1024 * 1024;

/// The last part of a handler's error output that a failure keeps.
const ERROR_TAIL: usize = 4096;

/// The end of `bytes` as text, at most [`ERROR_TAIL`] bytes.
fn tail(bytes: &[u8]) -> String {
    let start = bytes.len().saturating_sub(ERROR_TAIL);
    String::from_utf8_lossy(&bytes[start..]).trim().to_string()
}

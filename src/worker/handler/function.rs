//! The Rust API: an async function as a service's handler.

use std::future::Future;

use super::{Handler, HandlerFuture};
use crate::worker::{Message, Outcome};

/// A handler made of an async function or closure.
pub struct Function<F>(F);

/// Wraps `f` as a handler:
///
/// ```no_run
/// use warren::worker::{Event, Failure, handler};
/// let shipping = handler::function(|message: warren::worker::Message| async move {
///     let id = message.body["order_id"].as_u64().ok_or_else(|| Failure::permanent("no order_id"))?;
///     Ok(vec![Event::new("order.shipped", serde_json::json!({ "order_id": id }))])
/// });
/// ```
pub fn function<F, Fut>(f: F) -> Function<F>
where
    F: Fn(Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    Function(f)
}

impl<F, Fut> Handler for Function<F>
where
    F: Fn(Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    fn call(&self, message: Message) -> HandlerFuture {
        Box::pin((self.0)(message))
    }
}

//! W705: exchange types from plugins that warren advises against.
//!
//! The delayed-message exchange (docs/design.md, 7) keeps its delayed
//! messages on one node outside any queue, does not honour `mandatory`
//! (a delayed message that routes nowhere is dropped without a return),
//! is no longer maintained, and fails on the Khepri metadata store that
//! RabbitMQ 4.2 makes the default and 4.3 the only one. Found in a spec
//! or an import alike, since both compile to the same model.

use super::Context;
use crate::diagnostic::{Diagnostic, codes};
use crate::topology::ExchangeType;

pub fn check(cx: &Context, out: &mut Vec<Diagnostic>) {
    for x in cx.topology.exchanges.values() {
        if x.kind != ExchangeType::Plugin("x-delayed-message".into()) {
            continue;
        }
        out.push(
            Diagnostic::new(
                &codes::DELAYED_MESSAGE_PLUGIN,
                format!(
                    "exchange {:?} needs the delayed-message plugin, which is unmaintained, keeps delayed messages on one node, ignores `mandatory` and fails on RabbitMQ 4's metadata store",
                    x.name
                ),
            )
            .label(x.origin.attr("type"), "x-delayed-message")
            .help("delay with warren instead: give the emit a delay, e.g. emits: [{ exchange: X, keys: [K], delay: 5s }], which compiles to a TTL queue per delay"),
        );
    }
}

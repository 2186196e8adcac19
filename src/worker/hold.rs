//! Holding a settled message whose copy the broker would not take, and
//! pausing its service meanwhile.
//!
//! A retry or dead letter is republished (confirmed, `mandatory`) before
//! the delivery is acked. When the broker does not take the copy (its
//! queue was deleted, or is full and refuses), rejecting the delivery
//! instead would send it down its queue's dead-letter route, which leads
//! to the same missing queue: it would be lost. So the message stays
//! unacked, the service takes no new deliveries (the rest stay ready in
//! its queue, for an instance that can settle them), and the copy is tried
//! again every few seconds; the service resumes by itself once it lands.
//!
//! A held message is returned to its queue before the broker's consumer
//! timeout would close the channel (30 minutes by default): after the
//! hold limit it is requeued and handled again, and pauses the service
//! again if its copy is still refused.

use std::time::Duration;

use tokio::sync::watch;

/// How long a held message is kept by default: well below RabbitMQ's
/// default consumer timeout of 30 minutes.
pub const DEFAULT_HOLD_LIMIT: Duration = Duration::from_secs(10 * 60);

/// How often a held copy is tried again.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);

/// Open while no message of the service is held.
pub struct Gate {
    holders: watch::Sender<usize>,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate {
            holders: watch::Sender::new(0),
        }
    }
}

impl Gate {
    /// Closes the gate until the returned guard drops.
    pub fn pause(&self) -> Paused<'_> {
        self.holders.send_modify(|n| *n += 1);
        Paused(self)
    }

    /// Whether no message is held.
    pub fn is_open(&self) -> bool {
        *self.holders.borrow() == 0
    }

    /// Waits until no message is held.
    pub async fn opened(&self) {
        let mut holders = self.holders.subscribe();
        let _ = holders.wait_for(|n| *n == 0).await;
    }
}

/// Keeps its [`Gate`] closed while it lives.
pub struct Paused<'a>(&'a Gate);

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        self.0.holders.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_gate_opens_when_the_last_holder_lets_go() {
        let gate = Gate::default();
        assert!(gate.is_open());
        let (a, b) = (gate.pause(), gate.pause());
        assert!(!gate.is_open());
        drop(a);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), gate.opened())
                .await
                .is_err()
        );
        drop(b);
        gate.opened().await;
        assert!(gate.is_open());
    }
}

//! What happens to a delivery once its handler is done: the one function
//! that decides ([`verdict`]), and the reasons a dead letter carries.

use super::Failure;
use crate::topology::Retry;

/// Why a message went to the dead-letter queue, as the `x-warren-reason`
/// header spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The handler said the failure is permanent.
    PermanentFailure,
    /// The last retry failed too.
    AttemptsExhausted,
    /// The body is not valid JSON.
    MalformedBody,
    /// The content type is set and is not JSON (`application/json` or
    /// `*+json`).
    UnsupportedContentType,
    /// The body is larger than a handler is given
    /// ([`MAX_BODY`](crate::worker::delivery::MAX_BODY)).
    OversizedBody,
    /// The handler emitted a routing key its service does not declare.
    UndeclaredEmit,
    /// The service is idempotent, and the message lacks the key.
    MissingIdempotencyKey,
    /// A retry held by a per-instance worker was waiting when the instance
    /// shut down (its queue goes with it).
    RetryInterrupted,
    /// The handler emitted an event AMQP cannot carry (headers larger than
    /// a frame, a header name over 255 bytes).
    InvalidEvent,
    /// Handling it alone lost the connection again and again.
    KillsConnection,
}

impl Reason {
    /// The word the `x-warren-reason` header carries (`attempts-exhausted`).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::PermanentFailure => "permanent-failure",
            Reason::AttemptsExhausted => "attempts-exhausted",
            Reason::MalformedBody => "malformed-body",
            Reason::UnsupportedContentType => "unsupported-content-type",
            Reason::OversizedBody => "oversized-body",
            Reason::UndeclaredEmit => "undeclared-emit",
            Reason::MissingIdempotencyKey => "missing-idempotency-key",
            Reason::RetryInterrupted => "retry-interrupted",
            Reason::InvalidEvent => "invalid-event",
            Reason::KillsConnection => "kills-connection",
        }
    }
}

/// What the worker does with a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Handled: ack (after every emit is confirmed).
    Ack,
    /// Republish to the delay queue `retry.delays[delay]` with the next
    /// attempt number, then ack.
    Retry {
        /// Index into the retry's delays: 0 for the first.
        delay: usize,
    },
    /// Reject back to the queue, which delays the redelivery itself and
    /// counts the failure (`retry: { via: broker }`, RabbitMQ 4.3).
    Requeue,
    /// Publish to the service's dead-letter queue with the reason, then ack.
    DeadLetter(Reason),
    /// The service has no retry chain: reject without requeue, and the
    /// queue's own dead-letter settings decide where the message goes.
    Reject(Reason),
}

/// The verdict on a delivery that is attempt `attempt` (1 for the first)
/// and failed with `failure` (none: it succeeded). Retries go through the
/// delay queues; a requeue only where the queue delays it (`via: broker`),
/// since a quorum queue counts every failed delivery against its limit.
pub fn verdict(failure: Option<&Failure>, attempt: u32, retry: Option<&Retry>) -> Verdict {
    let Some(failure) = failure else {
        return Verdict::Ack;
    };
    let reason = if failure.permanent {
        Reason::PermanentFailure
    } else {
        Reason::AttemptsExhausted
    };
    let Some(retry) = retry else {
        return Verdict::Reject(reason);
    };
    if failure.permanent || attempt.max(1) >= retry.attempts() {
        Verdict::DeadLetter(reason)
    } else if retry.broker.is_some() {
        Verdict::Requeue
    } else {
        let next = usize::try_from(attempt.max(1) - 1).unwrap_or(usize::MAX);
        Verdict::Retry { delay: next }
    }
}

/// The verdict on what retrying cannot fix: bad input (it never reaches
/// the handler) and an emit the service does not declare.
pub fn not_retried(reason: Reason, retry: Option<&Retry>) -> Verdict {
    match retry {
        Some(_) => Verdict::DeadLetter(reason),
        None => Verdict::Reject(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::Duration;

    fn retry(delays: usize) -> Retry {
        Retry {
            delays: (0..delays)
                .map(|i| Duration::from_millis(1000 * (i as u64 + 1)))
                .collect(),
            exchange: "svc.retry".into(),
            delay_queues: Vec::new(),
            dead_letter_queue: "svc.dlq".into(),
            held: false,
            broker: None,
            span: None,
        }
    }

    #[test]
    fn a_broker_retry_requeues_until_its_attempts_are_spent() {
        let r = Retry {
            broker: Some(crate::topology::BrokerRetry {
                min: Duration::from_millis(1000),
                max: Duration::from_millis(5000),
                attempts: 3,
            }),
            ..retry(0)
        };
        let t = Failure::transient("busy");
        assert_eq!(verdict(Some(&t), 1, Some(&r)), Verdict::Requeue);
        assert_eq!(verdict(Some(&t), 2, Some(&r)), Verdict::Requeue);
        assert_eq!(
            verdict(Some(&t), 3, Some(&r)),
            Verdict::DeadLetter(Reason::AttemptsExhausted)
        );
        assert_eq!(
            verdict(Some(&Failure::permanent("no")), 1, Some(&r)),
            Verdict::DeadLetter(Reason::PermanentFailure)
        );
        assert_eq!(
            r.schedule(),
            [Duration::from_millis(1000), Duration::from_millis(2000)]
        );
    }

    #[test]
    fn each_transient_failure_takes_the_next_delay_until_none_is_left() {
        let r = retry(2);
        let t = Failure::transient("busy");
        assert_eq!(verdict(None, 1, Some(&r)), Verdict::Ack);
        assert_eq!(verdict(Some(&t), 1, Some(&r)), Verdict::Retry { delay: 0 });
        assert_eq!(verdict(Some(&t), 2, Some(&r)), Verdict::Retry { delay: 1 });
        assert_eq!(
            verdict(Some(&t), 3, Some(&r)),
            Verdict::DeadLetter(Reason::AttemptsExhausted)
        );
        assert_eq!(
            verdict(Some(&t), u32::MAX, Some(&r)),
            Verdict::DeadLetter(Reason::AttemptsExhausted)
        );
        // A missing or zero attempt header counts as the first attempt.
        assert_eq!(verdict(Some(&t), 0, Some(&r)), Verdict::Retry { delay: 0 });
    }

    #[test]
    fn a_permanent_failure_skips_the_retries_and_without_a_chain_the_queue_decides() {
        let r = retry(3);
        let p = Failure::permanent("no such order");
        assert_eq!(
            verdict(Some(&p), 1, Some(&r)),
            Verdict::DeadLetter(Reason::PermanentFailure)
        );
        assert_eq!(
            verdict(Some(&p), 1, None),
            Verdict::Reject(Reason::PermanentFailure)
        );
        assert_eq!(
            verdict(Some(&Failure::transient("x")), 1, None),
            Verdict::Reject(Reason::AttemptsExhausted)
        );
        assert_eq!(
            not_retried(Reason::MalformedBody, Some(&r)),
            Verdict::DeadLetter(Reason::MalformedBody)
        );
        assert_eq!(
            not_retried(Reason::MalformedBody, None),
            Verdict::Reject(Reason::MalformedBody)
        );
    }
}

//! The headers warren reads and writes on messages, and the cap on their
//! size. One oversized header (a long stack trace) would exceed the frame
//! size, and the broker answers that by closing the whole connection.

/// The attempt a delivery is (1 when absent). Counted by warren itself:
/// the broker's `x-death` is not kept across republishing on 3.13+.
pub const ATTEMPT: &str = "x-warren-attempt";
/// The failed deliveries a quorum queue has counted (RabbitMQ 4.x): a
/// retry via the broker counts attempts by it.
pub const DELIVERY_COUNT: &str = "x-delivery-count";
/// Where a message was first published: a retry comes back through the
/// default exchange, so the delivery itself no longer says.
pub const EXCHANGE: &str = "x-warren-exchange";
/// The routing key a message was first published with (see [`EXCHANGE`]).
pub const ROUTING_KEY: &str = "x-warren-routing-key";
/// On a dead letter: why, as one of [`Reason`](crate::worker::Reason)'s
/// words.
pub const REASON: &str = "x-warren-reason";
/// On a dead letter: the handler's error text, at most
/// [`MAX_ERROR_TEXT`] bytes.
pub const ERROR: &str = "x-warren-error";
/// On a dead letter: the service that dead-lettered it.
pub const SERVICE: &str = "x-warren-service";
/// On a dead letter: when it was dead-lettered, in Unix milliseconds.
pub const DEAD_LETTERED_AT: &str = "x-warren-dead-lettered-at";

/// The most of a handler's error text a dead letter carries, in bytes.
/// Far below the smallest frame size a broker allows (4 KiB), with room
/// for the other headers.
pub const MAX_ERROR_TEXT: usize = 1024;

/// Whether a header is warren's own (not shown to handlers as theirs).
pub fn is_warren(name: &str) -> bool {
    name.starts_with("x-warren-")
}

/// `text` cut to at most `max` bytes on a character boundary, marked when
/// cut.
pub fn capped(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capping_keeps_short_text_and_cuts_long_text_on_a_character() {
        assert_eq!(capped("short", 10), "short");
        let long = "é".repeat(1000);
        let cut = capped(&long, MAX_ERROR_TEXT);
        assert!(cut.len() <= MAX_ERROR_TEXT, "{}", cut.len());
        assert!(cut.ends_with("..."));
        assert!(cut.starts_with('é'));
    }
}

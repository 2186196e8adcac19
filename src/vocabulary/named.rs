//! The named queue fields of a spec and the RabbitMQ arguments they stand
//! for: compile writes them, E007 and the JSON Schema refuse both at once.

/// Each named queue field and the queue argument it sets. Setting both in
/// one queue is E007; the JSON Schema refuses the same pairs.
pub const NAMED_ARGUMENTS: &[(&str, &str)] = &[
    ("max_length", "x-max-length"),
    ("max_length_bytes", "x-max-length-bytes"),
    ("delivery_limit", "x-delivery-limit"),
    ("message_ttl", "x-message-ttl"),
    ("expires", "x-expires"),
    ("overflow", "x-overflow"),
    ("dead_letter_strategy", "x-dead-letter-strategy"),
    ("max_priority", "x-max-priority"),
    ("single_active_consumer", "x-single-active-consumer"),
    ("max_age", "x-max-age"),
    ("dead_letter", "x-dead-letter-exchange"),
    ("dead_letter", "x-dead-letter-routing-key"),
];

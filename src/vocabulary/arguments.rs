//! The queue arguments warren reads or writes by name, each spelled once.
//! The settings table's rows name them too; a setting's meaning is in its
//! row, not here.

/// The queue's type.
pub const QUEUE_TYPE: &str = "x-queue-type";
/// How long a message may stay in the queue.
pub const MESSAGE_TTL: &str = "x-message-ttl";
/// The most messages the queue holds.
pub const MAX_LENGTH: &str = "x-max-length";
/// The most message body bytes the queue holds.
pub const MAX_LENGTH_BYTES: &str = "x-max-length-bytes";
/// What the queue does when it is full.
pub const OVERFLOW: &str = "x-overflow";
/// How many failed deliveries of one message a quorum queue allows.
pub const DELIVERY_LIMIT: &str = "x-delivery-limit";
/// Where the queue dead-letters to.
pub const DEAD_LETTER_EXCHANGE: &str = "x-dead-letter-exchange";
/// The routing key dead letters are republished with.
pub const DEAD_LETTER_ROUTING_KEY: &str = "x-dead-letter-routing-key";
/// How a quorum queue dead-letters.
pub const DEAD_LETTER_STRATEGY: &str = "x-dead-letter-strategy";
/// RabbitMQ 4.3's delayed redelivery on a quorum queue (`retry: { via:
/// broker }`): the kind, and the first and longest delay.
pub const DELAYED_RETRY_TYPE: &str = "x-delayed-retry-type";
/// The first delay of a delayed redelivery, in milliseconds.
pub const DELAYED_RETRY_MIN: &str = "x-delayed-retry-min";
/// The longest delay of a delayed redelivery, in milliseconds.
pub const DELAYED_RETRY_MAX: &str = "x-delayed-retry-max";

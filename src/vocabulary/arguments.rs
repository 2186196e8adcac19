//! The queue arguments warren reads or writes by name, each spelled once.
//! The settings table's rows name them too; a setting's meaning is in its
//! row, not here.

pub const QUEUE_TYPE: &str = "x-queue-type";
pub const MESSAGE_TTL: &str = "x-message-ttl";
pub const MAX_LENGTH: &str = "x-max-length";
pub const MAX_LENGTH_BYTES: &str = "x-max-length-bytes";
pub const OVERFLOW: &str = "x-overflow";
pub const DELIVERY_LIMIT: &str = "x-delivery-limit";
pub const DEAD_LETTER_EXCHANGE: &str = "x-dead-letter-exchange";
pub const DEAD_LETTER_ROUTING_KEY: &str = "x-dead-letter-routing-key";
pub const DEAD_LETTER_STRATEGY: &str = "x-dead-letter-strategy";
/// RabbitMQ 4.3's delayed redelivery on a quorum queue (`retry: { via:
/// broker }`): the kind, and the first and longest delay.
pub const DELAYED_RETRY_TYPE: &str = "x-delayed-retry-type";
pub const DELAYED_RETRY_MIN: &str = "x-delayed-retry-min";
pub const DELAYED_RETRY_MAX: &str = "x-delayed-retry-max";

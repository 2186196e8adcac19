//! Tests against the real broker, each in a vhost of its own.

mod routing_differential;

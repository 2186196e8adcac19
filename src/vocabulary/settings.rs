//! Every queue and exchange setting warren knows, one row each: its spec
//! field, its `x-` argument, its policy key, the values RabbitMQ accepts,
//! the queue types it applies to and what each release does with it
//! ([`Setting::on_queue`]: honours, ignores or refuses). The rows were
//! checked by declaring every argument on every queue type on RabbitMQ
//! 3.10, 4.0 and 4.3 (tests/broker/versions.rs runs that on each).
//!
//! Compile, the spec writer, value checks, queue-type checks, policy-key
//! checks, version checks and effective-policy lookups all read this table,
//! and the JSON Schema is generated from it: adding a setting is adding a
//! row.

use serde_json::Value;

use super::arguments as arg;
use super::{QueueType, Version};

/// One setting.
#[derive(Debug)]
pub struct Setting {
    /// The spec's named field; `dead_letter.exchange` for a field of a
    /// nested block.
    pub field: Option<&'static str>,
    /// The queue or exchange argument that sets it at declaration.
    pub argument: Option<&'static str>,
    /// The policy key that sets it.
    pub policy_key: Option<&'static str>,
    /// What the broker accepts as its value.
    pub value: ValueKind,
    /// The objects it applies to, in the newest release.
    pub applies: Applies,
    /// The first release that knows it. An older broker takes the argument
    /// as one it does not know, and ignores it; it refuses the policy key.
    pub since: Option<Version>,
    /// A queue type of `applies` that takes it only from a release; older
    /// releases refuse it on that type.
    pub type_since: Option<(QueueType, Version)>,
    /// The first release on which it does nothing, and why.
    pub no_effect_from: Option<(Version, &'static str)>,
    /// The first release that refuses it.
    pub refused_from: Option<Version>,
    /// Whether a declare checks the value: where it does not, a bad value
    /// is taken and silently means something else (warren checks it all
    /// the same).
    pub declare_checks_value: bool,
    /// The plugin that must be enabled for the broker to know it.
    pub plugin: Option<&'static str>,
    /// A limit: set both by a queue's argument and by its policy, the lower
    /// of the two applies. For any other setting the argument does.
    pub lower_wins: bool,
}

/// What a release does with a setting given at declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It takes the setting and acts on it.
    Honoured,
    /// It takes the declaration and does nothing with the setting.
    Ignored,
    /// It refuses the declaration ("invalid arg", PRECONDITION_FAILED).
    Refused,
}

/// What a setting's value must be, in the broker's own form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// A whole number in `min..=max`.
    Whole {
        /// The smallest value accepted.
        min: i64,
        /// The largest value accepted.
        max: i64,
    },
    /// A whole number of milliseconds, at least `min`; the spec writes a
    /// duration.
    Millis {
        /// The fewest milliseconds accepted.
        min: i64,
    },
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// true or false.
    Flag,
    /// A stream age: a whole number and a unit of Y, M, D, h, m or s.
    Age,
    /// Any text.
    Text,
    /// Checked against another key (`ha-params` depends on `ha-mode`).
    Any,
}

/// The objects a setting applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applies {
    /// Queues of these types.
    Queues(&'static [QueueType]),
    /// Exchanges.
    Exchanges,
    /// Queues of these types and exchanges.
    Both(&'static [QueueType]),
}

impl Applies {
    /// The queue types it applies to; none for exchanges only.
    pub fn queue_types(self) -> &'static [QueueType] {
        match self {
            Applies::Queues(types) | Applies::Both(types) => types,
            Applies::Exchanges => &[],
        }
    }

    /// Whether it applies to queues of some type.
    pub fn to_queues(self) -> bool {
        !self.queue_types().is_empty()
    }

    /// Whether it applies to exchanges.
    pub fn to_exchanges(self) -> bool {
        matches!(self, Applies::Exchanges | Applies::Both(_))
    }
}

/// Of two values of a limit (`Setting::lower_wins`), the one that applies:
/// the lower, where a negative limit is none.
pub fn lower_limit<'v>(a: &'v Value, b: &'v Value) -> &'v Value {
    let limit = |v: &Value| v.as_f64().filter(|n| *n >= 0.0).unwrap_or(f64::INFINITY);
    if limit(b) < limit(a) { b } else { a }
}

const ALL: &[QueueType] = &[QueueType::Classic, QueueType::Quorum, QueueType::Stream];
const NOT_STREAMS: &[QueueType] = &[QueueType::Classic, QueueType::Quorum];
const CLASSIC: &[QueueType] = &[QueueType::Classic];
const QUORUM: &[QueueType] = &[QueueType::Quorum];
const STREAM: &[QueueType] = &[QueueType::Stream];
const COUNT: ValueKind = ValueKind::Whole {
    min: 0,
    max: i64::MAX,
};
const MAX: i64 = i64::MAX;
const V3_12: Version = Version::new(3, 12);
const V4_0: Version = Version::new(4, 0);
const V4_3: Version = Version::new(4, 3);

const fn row(
    field: Option<&'static str>,
    argument: Option<&'static str>,
    policy_key: Option<&'static str>,
    value: ValueKind,
    applies: Applies,
) -> Setting {
    Setting {
        field,
        argument,
        policy_key,
        value,
        applies,
        since: None,
        type_since: None,
        no_effect_from: None,
        refused_from: None,
        declare_checks_value: true,
        plugin: None,
        lower_wins: false,
    }
}

/// A limit row (`lower_wins`).
const fn limit(setting: Setting) -> Setting {
    Setting {
        lower_wins: true,
        ..setting
    }
}

/// Classic queue mirroring, gone from 4.0: its keys are refused there
/// ("not recognised policy settings").
const fn mirroring(key: &'static str, value: ValueKind) -> Setting {
    Setting {
        refused_from: Some(V4_0),
        ..row(None, None, Some(key), value, Applies::Queues(CLASSIC))
    }
}

const fn federation(key: &'static str) -> Setting {
    Setting {
        plugin: Some("rabbitmq_federation"),
        ..row(
            None,
            None,
            Some(key),
            ValueKind::Text,
            Applies::Both(NOT_STREAMS),
        )
    }
}

/// A quorum queue's own delayed redelivery (RabbitMQ 4.3): the broker does
/// not check these on declare, and a bad value turns the feature off.
const fn delayed_retry(argument: &'static str, key: &'static str, value: ValueKind) -> Setting {
    Setting {
        since: Some(V4_3),
        declare_checks_value: false,
        ..row(
            None,
            Some(argument),
            Some(key),
            value,
            Applies::Queues(QUORUM),
        )
    }
}

/// The table. Queue types follow RabbitMQ's documentation of each queue
/// type's features; a policy that holds a key its queue's type lacks is
/// passed over whole by the broker (`topology::policy_match`).
pub static SETTINGS: &[Setting] = {
    use Applies::*;
    use ValueKind::*;
    &[
        Setting::QUEUE_TYPE,
        Setting::MAX_LENGTH,
        Setting::MAX_LENGTH_BYTES,
        Setting::OVERFLOW,
        Setting::MESSAGE_TTL,
        Setting::EXPIRES,
        Setting::DEAD_LETTER_EXCHANGE,
        Setting::DEAD_LETTER_ROUTING_KEY,
        Setting::DEAD_LETTER_STRATEGY,
        Setting::DELIVERY_LIMIT,
        Setting::MAX_PRIORITY,
        // A stream's single active consumer is asked for when consuming
        // (stream protocol), never at declaration: every release refuses
        // the argument on a stream.
        row(
            Some("single_active_consumer"),
            Some("x-single-active-consumer"),
            None,
            Flag,
            Queues(NOT_STREAMS),
        ),
        row(
            Some("max_age"),
            Some("x-max-age"),
            Some("max-age"),
            Age,
            Queues(STREAM),
        ),
        limit(row(
            None,
            Some("x-max-in-memory-length"),
            Some("max-in-memory-length"),
            COUNT,
            Queues(QUORUM),
        )),
        limit(row(
            None,
            Some("x-max-in-memory-bytes"),
            Some("max-in-memory-bytes"),
            COUNT,
            Queues(QUORUM),
        )),
        // Classic queues place their leader by it from 4.0, when it took
        // over from x-queue-master-locator. random and least-leaders are
        // the older names of balanced, still accepted.
        Setting {
            type_since: Some((QueueType::Classic, V4_0)),
            ..row(
                Some("leader_locator"),
                Some("x-queue-leader-locator"),
                Some("queue-leader-locator"),
                OneOf(&["client-local", "balanced", "random", "least-leaders"]),
                Queues(ALL),
            )
        },
        Setting::INITIAL_GROUP_SIZE,
        Setting::INITIAL_CLUSTER_SIZE,
        row(
            None,
            Some("x-stream-max-segment-size-bytes"),
            Some("stream-max-segment-size-bytes"),
            Whole { min: 1, max: MAX },
            Queues(STREAM),
        ),
        // Still accepted by 4.3.
        Setting {
            no_effect_from: Some((
                V3_12,
                "classic queues (version 2) keep messages on disk anyway: there is no lazy mode left to choose; remove it",
            )),
            ..row(
                None,
                Some("x-queue-mode"),
                Some("queue-mode"),
                OneOf(&["default", "lazy"]),
                Queues(CLASSIC),
            )
        },
        Setting::QUEUE_VERSION,
        Setting {
            refused_from: Some(V4_3),
            ..row(
                None,
                Some("x-queue-master-locator"),
                Some("queue-master-locator"),
                Text,
                Queues(CLASSIC),
            )
        },
        Setting::DELAYED_RETRY_TYPE,
        Setting::DELAYED_RETRY_MIN,
        Setting::DELAYED_RETRY_MAX,
        mirroring("ha-mode", OneOf(&["all", "exactly", "nodes"])),
        mirroring("ha-params", Any),
        mirroring("ha-sync-mode", OneOf(&["manual", "automatic"])),
        mirroring("ha-sync-batch-size", Whole { min: 1, max: MAX }),
        mirroring("ha-promote-on-shutdown", OneOf(&["when-synced", "always"])),
        mirroring("ha-promote-on-failure", OneOf(&["when-synced", "always"])),
        // Per queue from 3.11.15; the release lines count here.
        Setting {
            since: Some(V3_12),
            ..row(
                None,
                None,
                Some("consumer-timeout"),
                COUNT,
                Queues(NOT_STREAMS),
            )
        },
        Setting::ALTERNATE_EXCHANGE,
        federation("federation-upstream"),
        federation("federation-upstream-set"),
    ]
};

/// Typed handles for the rows warren's own code reads, so that it names a
/// setting, never spells its argument or policy key:
/// `Setting::MESSAGE_TTL.arg()`. The table lists them with the other rows.
impl Setting {
    /// The queue type (`type`): classic, quorum or stream.
    pub const QUEUE_TYPE: Setting = row(
        Some("type"),
        Some(arg::QUEUE_TYPE),
        None,
        ValueKind::OneOf(&["classic", "quorum", "stream"]),
        Applies::Queues(ALL),
    );

    /// The most messages a queue holds (`max_length`).
    pub const MAX_LENGTH: Setting = limit(row(
        Some("max_length"),
        Some(arg::MAX_LENGTH),
        Some("max-length"),
        COUNT,
        Applies::Queues(NOT_STREAMS),
    ));

    /// The most body bytes a queue holds (`max_length_bytes`).
    pub const MAX_LENGTH_BYTES: Setting = limit(row(
        Some("max_length_bytes"),
        Some(arg::MAX_LENGTH_BYTES),
        Some("max-length-bytes"),
        COUNT,
        Applies::Queues(ALL),
    ));

    /// What a full queue does (`overflow`): drop its oldest or refuse new messages.
    pub const OVERFLOW: Setting = row(
        Some("overflow"),
        Some(arg::OVERFLOW),
        Some("overflow"),
        ValueKind::OneOf(&["drop-head", "reject-publish", "reject-publish-dlx"]),
        Applies::Queues(NOT_STREAMS),
    );

    /// How long a message may wait in the queue, in milliseconds (`message_ttl`).
    pub const MESSAGE_TTL: Setting = limit(row(
        Some("message_ttl"),
        Some(arg::MESSAGE_TTL),
        Some("message-ttl"),
        ValueKind::Millis { min: 0 },
        Applies::Queues(NOT_STREAMS),
    ));

    /// How long an unused queue lives, in milliseconds (`expires`).
    pub const EXPIRES: Setting = limit(row(
        Some("expires"),
        Some("x-expires"),
        Some("expires"),
        ValueKind::Millis { min: 1 },
        Applies::Queues(NOT_STREAMS),
    ));

    /// Where dead letters go (`dead_letter.exchange`); empty is the default exchange.
    pub const DEAD_LETTER_EXCHANGE: Setting = row(
        Some("dead_letter.exchange"),
        Some(arg::DEAD_LETTER_EXCHANGE),
        Some("dead-letter-exchange"),
        ValueKind::Text,
        Applies::Queues(NOT_STREAMS),
    );

    /// The key dead letters are republished with (`dead_letter.routing_key`).
    pub const DEAD_LETTER_ROUTING_KEY: Setting = row(
        Some("dead_letter.routing_key"),
        Some(arg::DEAD_LETTER_ROUTING_KEY),
        Some("dead-letter-routing-key"),
        ValueKind::Text,
        Applies::Queues(NOT_STREAMS),
    );

    /// A quorum queue's dead-lettering guarantee (`dead_letter_strategy`).
    pub const DEAD_LETTER_STRATEGY: Setting = row(
        Some("dead_letter_strategy"),
        Some(arg::DEAD_LETTER_STRATEGY),
        Some("dead-letter-strategy"),
        ValueKind::OneOf(&["at-most-once", "at-least-once"]),
        Applies::Queues(QUORUM),
    );

    /// How many times a quorum queue delivers a message before it
    /// dead-letters it (`delivery_limit`); -1 is no limit, and RabbitMQ 4.0
    /// and later default to 20. No release checks that it is a number.
    pub const DELIVERY_LIMIT: Setting = Setting {
        lower_wins: true,
        declare_checks_value: false,
        ..row(
            Some("delivery_limit"),
            Some(arg::DELIVERY_LIMIT),
            Some("delivery-limit"),
            ValueKind::Whole { min: -1, max: MAX },
            Applies::Queues(QUORUM),
        )
    };

    /// The highest message priority a classic queue orders by (`max_priority`).
    pub const MAX_PRIORITY: Setting = row(
        Some("max_priority"),
        Some("x-max-priority"),
        None,
        ValueKind::Whole { min: 0, max: 255 },
        Applies::Queues(CLASSIC),
    );

    /// How many replicas a new quorum queue gets (`initial_group_size`).
    pub const INITIAL_GROUP_SIZE: Setting = row(
        Some("initial_group_size"),
        Some("x-quorum-initial-group-size"),
        None,
        ValueKind::Whole { min: 1, max: MAX },
        Applies::Queues(QUORUM),
    );

    /// How many replicas a new stream gets.
    pub const INITIAL_CLUSTER_SIZE: Setting = row(
        None,
        Some("x-initial-cluster-size"),
        Some("initial-cluster-size"),
        ValueKind::Whole { min: 1, max: MAX },
        Applies::Queues(STREAM),
    );

    /// Which redeliveries a quorum queue delays itself (RabbitMQ 4.3).
    pub const DELAYED_RETRY_TYPE: Setting = delayed_retry(
        arg::DELAYED_RETRY_TYPE,
        "delayed-retry-type",
        ValueKind::OneOf(&["all", "failed", "returned", "disabled"]),
    );

    /// The first delay of a quorum queue's own redelivery, in milliseconds.
    pub const DELAYED_RETRY_MIN: Setting = delayed_retry(
        arg::DELAYED_RETRY_MIN,
        "delayed-retry-min",
        ValueKind::Millis { min: 1 },
    );

    /// The longest delay of a quorum queue's own redelivery, in milliseconds.
    pub const DELAYED_RETRY_MAX: Setting = delayed_retry(
        arg::DELAYED_RETRY_MAX,
        "delayed-retry-max",
        ValueKind::Millis { min: 1 },
    );

    /// A classic queue's storage version (1 is gone from RabbitMQ 4.3).
    pub const QUEUE_VERSION: Setting = row(
        None,
        Some("x-queue-version"),
        Some("queue-version"),
        ValueKind::Whole { min: 1, max: 2 },
        Applies::Queues(CLASSIC),
    );

    /// Where an exchange sends what it cannot route (`alternate_exchange`).
    pub const ALTERNATE_EXCHANGE: Setting = row(
        Some("alternate_exchange"),
        Some("alternate-exchange"),
        Some("alternate-exchange"),
        ValueKind::Text,
        Applies::Exchanges,
    );
}

impl Setting {
    /// The `x-` argument of a row that has one (every handle's row but
    /// `ALTERNATE_EXCHANGE`'s, whose argument has no `x-`).
    pub const fn arg(&self) -> &'static str {
        match self.argument {
            Some(argument) => argument,
            None => panic!("a setting without an argument"),
        }
    }

    /// The policy key of a row that has one.
    pub const fn key(&self) -> &'static str {
        match self.policy_key {
            Some(key) => key,
            None => panic!("a setting without a policy key"),
        }
    }

    /// The row for a spec field (`max_length`, `dead_letter.exchange`).
    pub fn by_field(field: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.field == Some(field))
    }

    /// The row for a queue or exchange argument.
    pub fn by_argument(argument: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.argument == Some(argument))
    }

    /// The row for a policy key.
    pub fn by_policy_key(key: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.policy_key == Some(key))
    }

    /// The spec's top-level field: `dead_letter` for `dead_letter.exchange`.
    pub fn top_field(&self) -> Option<&'static str> {
        self.field.map(|f| f.split('.').next().unwrap_or(f))
    }

    /// Whether queues of `queue_type` take this setting on the newest
    /// release.
    pub fn applies_to(&self, queue_type: QueueType) -> bool {
        self.applies.queue_types().contains(&queue_type)
    }

    /// The release from which queues of `queue_type` take it, when that is
    /// later than the setting itself.
    pub fn type_since(&self, queue_type: QueueType) -> Option<Version> {
        self.type_since
            .filter(|(t, _)| *t == queue_type)
            .map(|(_, v)| v)
    }

    /// What `release` does with this setting as a policy key (the broker
    /// validates a policy's keys when it is declared).
    pub fn on_policy(&self, release: Version) -> Verdict {
        if self.since.is_some_and(|since| release < since)
            || self.refused_from.is_some_and(|v| release >= v)
        {
            Verdict::Refused
        } else if self.no_effect_from.is_some_and(|(v, _)| release >= v) {
            Verdict::Ignored
        } else {
            Verdict::Honoured
        }
    }

    /// What `release` does with this setting as an argument of a queue of
    /// `queue_type`.
    pub fn on_queue(&self, queue_type: QueueType, release: Version) -> Verdict {
        if self.since.is_some_and(|since| release < since) {
            return Verdict::Ignored;
        }
        let taken =
            self.applies_to(queue_type) && self.type_since(queue_type).is_none_or(|v| release >= v);
        if !taken || self.refused_from.is_some_and(|v| release >= v) {
            return Verdict::Refused;
        }
        if self.no_effect_from.is_some_and(|(v, _)| release >= v) {
            return Verdict::Ignored;
        }
        Verdict::Honoured
    }

    /// Why a stream does not take it, for messages.
    pub fn stream_refusal(&self) -> &'static str {
        match self.argument {
            Some("x-single-active-consumer") => {
                "a stream's consumers ask for a single active consumer when they subscribe, not the declaration"
            }
            _ => {
                "streams keep messages until retention removes them: use max_age or max_length_bytes, or make this a quorum queue"
            }
        }
    }

    /// What takes it, for messages: "classic and quorum queues".
    pub fn applies_text(&self) -> String {
        let names: Vec<&str> = self
            .applies
            .queue_types()
            .iter()
            .map(|t| t.as_str())
            .collect();
        let queues = match names.as_slice() {
            [] => String::new(),
            [one] => format!("{one} queues"),
            [rest @ .., last] => format!("{} and {last} queues", rest.join(", ")),
        };
        match self.applies {
            Applies::Queues(_) => queues,
            Applies::Exchanges => "exchanges".into(),
            Applies::Both(_) => format!("{queues} and exchanges"),
        }
    }

    /// Why RabbitMQ would refuse `value` for this setting.
    pub fn value_problem(&self, value: &Value) -> Option<String> {
        self.value.problem(value)
    }
}

impl ValueKind {
    /// Why RabbitMQ would refuse `value`.
    pub fn problem(self, value: &Value) -> Option<String> {
        match self {
            ValueKind::Whole { min, max } => whole_problem(value, min, max),
            ValueKind::Millis { min } => whole_problem(value, min, i64::MAX),
            ValueKind::OneOf(words) => match value.as_str() {
                Some(w) if words.contains(&w) => None,
                _ => Some(format!("it must be one of {}", words.join(", "))),
            },
            ValueKind::Flag => (!value.is_boolean()).then(|| "it must be true or false".into()),
            ValueKind::Age => match value.as_str() {
                Some(age) if is_age(age) => None,
                _ => Some(
                    "it must be a whole number and a unit of Y, M, D, h, m or s, such as 7D".into(),
                ),
            },
            ValueKind::Text => (!value.is_string()).then(|| "it must be text".into()),
            ValueKind::Any => None,
        }
    }
}

fn whole_problem(value: &Value, min: i64, max: i64) -> Option<String> {
    match value.as_i64() {
        Some(n) if (min..=max).contains(&n) => None,
        // A whole number past what RabbitMQ stores (a signed 64-bit one).
        None if value.is_u64() => Some(format!(
            "it is larger than {max}, the largest RabbitMQ takes"
        )),
        _ if max == i64::MAX => Some(format!("it must be a whole number of at least {min}")),
        _ => Some(format!("it must be a whole number from {min} to {max}")),
    }
}

fn is_age(age: &str) -> bool {
    let Some(unit) = age.chars().last() else {
        return false;
    };
    let digits = &age[..age.len() - unit.len_utf8()];
    "YMDhms".contains(unit) && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_name_has_one_row() {
        for s in SETTINGS {
            for (name, find) in [
                (
                    s.field,
                    Setting::by_field as fn(&str) -> Option<&'static Setting>,
                ),
                (s.argument, Setting::by_argument),
                (s.policy_key, Setting::by_policy_key),
            ] {
                if let Some(name) = name {
                    assert!(std::ptr::eq(find(name).unwrap(), s), "{name} twice");
                }
            }
            assert!(s.field.is_none() || s.argument.is_some(), "{s:?}");
        }
    }

    #[test]
    fn each_release_honours_ignores_or_refuses() {
        let v = Version::new;
        let locator = Setting::by_field("leader_locator").unwrap();
        assert_eq!(
            locator.on_queue(QueueType::Classic, v(3, 10)),
            Verdict::Refused
        );
        assert_eq!(
            locator.on_queue(QueueType::Classic, v(4, 0)),
            Verdict::Honoured
        );
        let retry = Setting::by_argument("x-delayed-retry-min").unwrap();
        assert_eq!(
            retry.on_queue(QueueType::Classic, v(4, 0)),
            Verdict::Ignored
        );
        assert_eq!(
            retry.on_queue(QueueType::Classic, v(4, 3)),
            Verdict::Refused
        );
        assert_eq!(
            retry.on_queue(QueueType::Quorum, v(4, 3)),
            Verdict::Honoured
        );
        let mode = Setting::by_argument("x-queue-mode").unwrap();
        assert_eq!(
            mode.on_queue(QueueType::Classic, v(3, 10)),
            Verdict::Honoured
        );
        assert_eq!(mode.on_queue(QueueType::Classic, v(4, 3)), Verdict::Ignored);
        let master = Setting::by_argument("x-queue-master-locator").unwrap();
        assert_eq!(
            master.on_queue(QueueType::Classic, v(4, 3)),
            Verdict::Refused
        );
    }

    #[test]
    fn values_are_checked_as_the_broker_checks_them() {
        let ttl = Setting::by_argument("x-message-ttl").unwrap();
        assert_eq!(ttl.value_problem(&json!(1000)), None);
        assert!(ttl.value_problem(&json!(1.5)).is_some());
        assert!(ttl.value_problem(&json!(-1)).is_some());
        assert!(ttl.value_problem(&json!("1000")).is_some());
        let priority = Setting::by_field("max_priority").unwrap();
        assert_eq!(priority.value_problem(&json!(255)), None);
        assert_eq!(
            priority.value_problem(&json!(256)).unwrap(),
            "it must be a whole number from 0 to 255"
        );
        let age = Setting::by_policy_key("max-age").unwrap();
        assert_eq!(age.value_problem(&json!("7D")), None);
        assert!(age.value_problem(&json!("7 days")).is_some());
        assert!(age.value_problem(&json!("D")).is_some());
        let flag = Setting::by_argument("x-single-active-consumer").unwrap();
        assert!(flag.value_problem(&json!("true")).is_some());
        assert_eq!(
            Setting::by_policy_key("expires")
                .unwrap()
                .value_problem(&json!(0))
                .unwrap(),
            "it must be a whole number of at least 1"
        );
    }
}

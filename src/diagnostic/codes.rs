//! Every diagnostic code warren emits. Codes are stable: a released id keeps
//! its meaning. docs/checks.md documents each one (a test keeps them in step).

use super::{Code, Severity::*};

macro_rules! codes {
    ($($const:ident = $id:literal $name:literal $sev:ident $summary:literal;)*) => {
        $(#[doc = concat!("`", $id, "` (", $name, "): ", $summary, ".")]
        pub const $const: Code = Code { id: $id, name: $name, severity: $sev, summary: $summary };)*
        /// All codes, in id order.
        pub const ALL: &[&Code] = &[$(&$const),*];
    };
}

codes! {
    // The spec file itself.
    SPEC_INVALID = "E001" "spec-invalid" Error "the file is not valid YAML or not a valid spec (unknown field, wrong type, duplicate key, YAML 1.1 boolean, alias bomb)";
    UNSUPPORTED_VERSION = "E002" "unsupported-version" Error "the spec declares a version other than 1";
    PASSWORD_IN_SPEC = "E004" "password-in-spec" Error "a user has a password written in the spec";
    INVALID_BINDING = "E005" "invalid-binding" Error "a binding names no destination, two destinations, or one where none is allowed";
    INVALID_CONSUMES = "E006" "invalid-consumes" Error "a service's consumes names both or neither of exchange and queue";
    ARGUMENT_CONFLICT = "E007" "argument-conflict" Error "a named setting and a raw argument set the same thing";
    AMBIGUOUS_BOOLEAN = "W008" "ambiguous-boolean" Warning "a raw value reads yes/no/on/off, a string here, a boolean to YAML 1.1 tools";
    INVALID_VALUE = "E010" "invalid-value" Error "a setting's value that RabbitMQ refuses or cannot represent (a stream max_age under a second or not whole seconds, a routing key over 255 bytes)";
    INVALID_PATTERN = "E009" "invalid-pattern" Error "an ignore or policy pattern is not a valid regular expression";
    // Names and references.
    UNKNOWN_EXCHANGE = "E101" "unknown-exchange" Error "a reference to an exchange the topology does not declare";
    UNKNOWN_QUEUE = "E102" "unknown-queue" Error "a reference to a queue the topology does not declare";
    DUPLICATE_NAME = "E103" "duplicate-name" Error "two objects of one kind share a name";
    RESERVED_NAME = "E104" "reserved-name" Error "a name starts with amq., which RabbitMQ reserves, or a policy's with warren.settings., which warren gives its own";
    INVALID_NAME = "E105" "invalid-name" Error "a name is empty or longer than 255 bytes";
    DEFAULT_EXCHANGE_BINDING = "E106" "default-exchange-binding" Error "a binding to or from the default exchange";
    EMIT_TO_INTERNAL = "E108" "emit-to-internal-exchange" Error "a service emits to an internal exchange, to which the broker refuses publishes";
    UNKNOWN_USER = "E107" "unknown-user" Error "a service runs as a user the topology does not declare";
    // Queue types.
    REPLICATED_NOT_DURABLE = "E201" "replicated-queue-not-durable" Error "a quorum queue or stream that is not durable, or is exclusive or auto-delete";
    PRIORITY_NOT_SUPPORTED = "E202" "priority-not-supported" Error "max_priority on a quorum queue or stream";
    REJECT_PUBLISH_DLX_ON_QUORUM = "E203" "reject-publish-dlx-on-quorum" Error "overflow reject-publish-dlx on a quorum queue";
    STREAM_UNSUPPORTED = "E204" "stream-unsupported-setting" Error "TTL, dead-lettering, max-length count, overflow or delivery limit on a stream";
    SETTING_IGNORED = "W205" "setting-ignored" Warning "a queue argument RabbitMQ does not know (a typo such as x-message_ttl), which the broker accepts and ignores";
    QUEUE_TYPE_REFUSES = "E206" "queue-type-refuses-setting" Error "a setting the classic or quorum queue type refuses (delivery_limit on classic, max_age off streams)";
    // Bindings and routing.
    INVALID_X_MATCH = "E301" "invalid-x-match" Error "a headers binding whose x-match is not all, any, all-with-x or any-with-x";
    WILDCARD_INSIDE_WORD = "W302" "wildcard-inside-word" Warning "* or # inside a word of a topic key, where it matches literally";
    KEY_IGNORED = "W303" "key-ignored" Warning "a binding key on a fanout or headers exchange, which ignores keys";
    UNROUTABLE_EMIT = "W304" "unroutable-emit" Warning "an emitted routing key that no binding matches and no alternate exchange catches";
    WILDCARD_IN_EMIT = "W305" "wildcard-in-emit" Warning "an emitted routing key contains * or #, which publishers send literally";
    EMPTY_HEADERS_BINDING = "W306" "empty-headers-binding" Warning "a headers binding with no header to match";
    // Message flow.
    QUEUE_UNREACHABLE = "W321" "queue-unreachable" Warning "a queue that no binding or dead-letter route reaches";
    QUEUE_NOT_CONSUMED = "W322" "queue-not-consumed" Warning "a queue no service consumes and that is not marked external";
    SERVICE_EVENT_LOOP = "W323" "service-event-loop" Warning "services that trigger each other in a cycle";
    // Dead-lettering.
    DEAD_LETTER_CYCLE = "E401" "dead-letter-cycle" Error "a dead-letter cycle in which nothing rejects: the broker drops those messages";
    SILENT_LOSS = "W402" "silent-message-loss" Warning "TTL or drop-head overflow without a dead-letter target";
    AT_LEAST_ONCE_WITHOUT_REJECT_PUBLISH = "E403" "at-least-once-without-reject-publish" Error "at-least-once dead-lettering without overflow reject-publish";
    RETRY_EXCEEDS_DELIVERY_LIMIT = "W404" "retry-exceeds-delivery-limit" Warning "more attempts than the quorum queue's delivery limit allows";
    AT_LEAST_ONCE_NOT_QUORUM = "W405" "at-least-once-not-quorum" Warning "at-least-once dead-lettering on a queue that is not quorum";
    FAILURES_DROPPED = "W406" "failures-dropped" Warning "a service with a handler and no retry whose queue has no dead-letter target: every message its handler fails is dropped";
    // Policies.
    OVERLAPPING_POLICIES = "W501" "overlapping-policies" Warning "several policies match a queue; only the highest priority applies";
    POLICY_TIE = "E502" "policy-tie" Error "several policies of the same highest priority match a queue";
    POLICY_KEY_NOT_APPLICABLE = "W503" "policy-key-not-applicable" Warning "a policy the broker passes over for a queue, because the queue's type does not support one of its keys";
    UNKNOWN_POLICY_KEY = "W504" "unknown-policy-key" Warning "a policy key RabbitMQ does not know";
    LIVE_POLICY_CONFLICT = "W505" "live-policy-conflict" Warning "on the broker, a policy the spec does not name ties with or overrides the spec's policy for a queue";
    SETTINGS_NOT_APPLIED = "E507" "settings-not-applied" Error "an exchange or queue with `settings: policy` does not get its settings: another policy applies to it instead of the one warren generated";
    ARGUMENT_OVERRIDES_POLICY = "W506" "argument-overrides-policy" Warning "a queue argument and its policy set the same key; the argument takes part over the policy";
    // Broker versions.
    QUORUM_DEFAULT_DELIVERY_LIMIT = "W701" "quorum-default-delivery-limit" Warning "from RabbitMQ 4.0, a consumed quorum queue without a dead-letter target or delivery limit drops a message after 20 failed deliveries";
    NO_EFFECT_ON_VERSION = "W702" "no-effect-on-version" Warning "a setting that does nothing on a targeted RabbitMQ version (ha-* mirroring keys from 4.0, x-queue-mode from 3.12, a queue argument the release does not know yet)";
    REFUSED_BY_VERSION = "E703" "refused-by-version" Error "a setting every targeted RabbitMQ version refuses (x-queue-version 1 and x-queue-master-locator from 4.3; apply_to by queue type before 3.12; leader_locator on a classic queue before 4.0)";
    GROUP_LARGER_THAN_CLUSTER = "W706" "group-larger-than-cluster" Warning "a quorum queue or stream asks for more replicas than the cluster has nodes; it gets one per node";
    DELAYED_MESSAGE_PLUGIN = "W705" "delayed-message-plugin" Warning "an x-delayed-message exchange: the plugin is unmaintained, keeps delayed messages on one node, ignores mandatory and fails on RabbitMQ 4's metadata store";
    BROKER_RETRY_NEEDS_4_3 = "E708" "broker-retry-needs-4-3" Error "retry via the broker where a targeted RabbitMQ release is older than 4.3, which takes the queue's delayed-retry settings and ignores them: every retry would come at once";
    OPEN_FILES_LOW = "W709" "open-files-low" Warning "on RabbitMQ 3.x, the nodes' open-files limit is too low for the topology's quorum queues (about 3 files each): past it every classic queue waits for a file handle, and apply and workers stall";
    DEPRECATED_BY_VERSION = "W707" "deprecated-by-version" Warning "a feature a targeted RabbitMQ version deprecates and still permits by default (transient non-exclusive queues from 4.0)";
    REFUSED_BY_SOME_VERSIONS = "W704" "refused-by-some-versions" Warning "a setting some of the RabbitMQ versions the spec may run on refuse; the message names them";
    // Services.
    IDLE_SERVICE = "W601" "idle-service" Warning "a service that neither consumes nor emits";
    RETRY_WITHOUT_QUEUE = "E602" "retry-without-queue" Error "retry on a service that consumes nothing";
    HANDLER_WITHOUT_QUEUE = "E603" "handler-without-queue" Error "a handler on a service that consumes nothing";
    RETRY_CONFLICT = "E604" "retry-conflict" Error "retry on a queue that already dead-letters elsewhere";
    CONFLICTING_EMIT = "E605" "conflicting-emit" Error "a service lists one routing key on one exchange twice, so a worker cannot tell which delay applies";
    BROKER_RETRY_NEEDS_QUORUM = "E608" "broker-retry-needs-quorum" Error "retry via the broker on a queue that is not a quorum queue (classic, stream or per-instance)";
    DELAY_INTO_GENERATED = "E607" "delay-into-generated" Error "a delayed emit into an exchange warren generates (a retry or delay exchange)";
    EMIT_INTO_GENERATED = "E609" "emit-into-generated" Error "an emit into an exchange warren generates for a service (its retry exchange or a delay exchange): the event would enter that service's retry chain or skip its delay";
    APP_DECLARATION_REFUSED = "E610" "app-declaration-refused" Error "an exchange or queue a service's own code declares (`asserts:`) differs from the one warren manages: RabbitMQ refuses the declaration with PRECONDITION_FAILED";
    APP_DECLARES_UNMANAGED = "W611" "app-declares-unmanaged" Warning "a service's `asserts:` declares an exchange or queue the spec does not: the application creates it, unmanaged";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique() {
        let mut ids: Vec<_> = ALL.iter().map(|c| c.id).collect();
        let mut names: Vec<_> = ALL.iter().map(|c| c.name).collect();
        ids.sort();
        ids.dedup();
        names.sort();
        names.dedup();
        assert_eq!(ids.len(), ALL.len());
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn id_prefix_matches_severity() {
        for code in ALL {
            let expected = if code.severity == Error { 'E' } else { 'W' };
            assert!(code.id.starts_with(expected), "{code}");
        }
    }
}

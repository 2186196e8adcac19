//! E010 invalid-value: values of a spec that RabbitMQ (or `warren run`)
//! would refuse, reported at the value itself. Compile runs these while it
//! still has the spec's spans.

use super::{Compiler, at};
use crate::diagnostic::{Diagnostic, codes};
use crate::source::FileId;
use crate::spec::{BindingSpec, PolicySpec, QueueSpec, ServiceSpec, Spanned, UserSpec};
use crate::vocabulary::{Handler, Setting};

impl Compiler {
    fn invalid(
        &mut self,
        span: Option<crate::source::Span>,
        message: String,
        label: &str,
        help: &str,
    ) {
        self.report(
            Diagnostic::new(&codes::INVALID_VALUE, message)
                .label(span, label)
                .help(help),
        );
    }

    pub(super) fn queue_values(&mut self, file: FileId, name: &str, q: &QueueSpec) {
        if let Some(e) = q.expires.as_ref().filter(|e| e.value.millis == 0) {
            self.invalid(
                at(file, e),
                format!("queue {name:?} expires after 0s"),
                "RabbitMQ refuses x-expires 0",
                "expires is how long an unused queue lives: give at least 1ms, or leave it out",
            );
        }
    }

    pub(super) fn binding_values(&mut self, file: FileId, b: &BindingSpec) {
        for (header, value) in &b.headers {
            if value.is_null() {
                self.invalid(
                    at(file, header),
                    format!("header {:?} has no value", header.value),
                    "null header value",
                    "a headers binding compares values: give one (a string, number or boolean)",
                );
            }
        }
    }

    pub(super) fn policy_values(&mut self, file: FileId, name: &str, p: &PolicySpec) {
        for (key, value) in p.definition.iter() {
            if let Some(problem) =
                Setting::by_policy_key(&key.value).and_then(|s| s.value_problem(value))
            {
                self.invalid(
                    at(file, key),
                    format!("policy {name:?} sets {:?} to {value}: {problem}", key.value),
                    "refused by RabbitMQ",
                    "RabbitMQ refuses the whole policy when one value is wrong: fix the value",
                );
            }
        }
    }

    pub(super) fn service_values(&mut self, file: FileId, name: &str, s: &ServiceSpec) {
        self.service_limits(file, name, s);
        if let Some(retry) = s.retry.as_ref().filter(|r| {
            r.value.via() == crate::vocabulary::RetryVia::Queues && r.value.delays.is_empty()
        }) {
            self.invalid(
                at(file, retry),
                format!("service {name:?} retries with no delay"),
                "empty delays",
                "list one delay per retry, e.g. retry: { delays: [5s, 1m] }, or remove retry",
            );
        }
        self.emit_values(file, name, s);
        if let Some(handler) = &s.handler {
            let problem = match &handler.value {
                Handler::Exec(cmd) | Handler::Stdio(cmd)
                    if cmd.first().is_none_or(|c| c.trim().is_empty()) =>
                {
                    Some(
                        "the command is empty: name the program to run, e.g. exec: [./handle.sh]"
                            .to_string(),
                    )
                }
                Handler::Http(url) => http_handler_problem(url),
                _ => None,
            };
            if let Some(problem) = problem {
                self.invalid(
                    at(file, handler),
                    format!("service {name:?} has an unusable handler: {problem}"),
                    "handler",
                    "see docs/spec.md, Services, for the handler forms",
                );
            }
        }
    }

    /// Delays RabbitMQ can hold, on named exchanges; each key on each
    /// exchange listed once, so the worker knows which delay applies.
    fn emit_values(&mut self, file: FileId, name: &str, s: &ServiceSpec) {
        let mut seen: Vec<(&str, &str, Option<crate::source::Span>)> = Vec::new();
        for e in s.emits.iter() {
            if let Some(d) = &e.delay {
                let problem = if d.value.millis == 0 {
                    Some("a delay of 0s delays nothing: leave `delay:` out")
                } else if d.value.millis > MAX_TTL_MILLIS {
                    Some(
                        "RabbitMQ's message TTL, which holds the delay, ends at 2^32-1 ms (about 49 days): give a shorter delay",
                    )
                } else if e.exchange.value.is_empty() {
                    Some(
                        "a delay dead-letters into an exchange by name: emit to a named exchange, not the default one",
                    )
                } else {
                    None
                };
                if let Some(help) = problem {
                    self.invalid(
                        at(file, d),
                        format!(
                            "service {name:?} delays its emits to {:?} by {}",
                            e.exchange.value, d.value
                        ),
                        "delay",
                        help,
                    );
                }
            }
            for k in &e.keys {
                let here = at(file, k);
                match seen
                    .iter()
                    .find(|(x, key, _)| *x == e.exchange.value && *key == k.value)
                {
                    Some((_, _, first)) => self.report(
                        Diagnostic::new(
                            &codes::CONFLICTING_EMIT,
                            format!(
                                "service {name:?} lists key {:?} on exchange {:?} twice",
                                k.value, e.exchange.value
                            ),
                        )
                        .label(here, "listed again here")
                        .label(*first, "first listed here")
                        .help("list each key once per exchange; to send an event both now and later, give the delayed one its own key"),
                    ),
                    None => seen.push((&e.exchange.value, &k.value, here)),
                }
            }
        }
    }

    fn service_limits(&mut self, file: FileId, name: &str, s: &ServiceSpec) {
        use crate::topology::{BROKER_CONSUMER_TIMEOUT, IdempotencyKey, IdempotencyStore};
        if let Some(t) = &s.timeout
            && (t.value.millis == 0 || t.value >= BROKER_CONSUMER_TIMEOUT)
        {
            self.invalid(
                at(file, t),
                format!("service {name:?} has a handler timeout of {}", t.value),
                "timeout",
                "give more than 0s and less than 30m: the broker closes a channel whose delivery stays unacknowledged for 30 minutes (consumer_timeout)",
            );
        }
        let Some(i) = &s.idempotency else { return };
        if IdempotencyKey::parse(&i.value.key.value).is_none() {
            self.invalid(
                at(file, &i.value.key),
                format!(
                    "service {name:?}: idempotency key {:?} is neither message_id nor a JSON pointer",
                    i.value.key.value
                ),
                "key",
                "write key: message_id, or a JSON pointer into the body such as key: /order_id",
            );
        }
        if let Some(store) = &i.value.store
            && IdempotencyStore::parse(&store.value).is_none()
        {
            self.invalid(
                at(file, store),
                format!(
                    "service {name:?}: unknown idempotency store {:?}",
                    store.value
                ),
                "store",
                "write store: memory, or a Redis URL such as store: redis://127.0.0.1:6379",
            );
        }
        if let Some(ttl) = i.value.ttl.as_ref().filter(|t| t.value.millis == 0) {
            self.invalid(
                at(file, ttl),
                format!("service {name:?} remembers handled keys for 0s"),
                "ttl",
                "give how long a duplicate can still arrive, e.g. ttl: 1h",
            );
        }
    }

    pub(super) fn user_values(&mut self, file: FileId, name_span: &Spanned<String>, u: &UserSpec) {
        let name = name_span.value.as_str();
        if u.password_env.is_none() && u.password.is_none() {
            self.invalid(
                at(file, name_span),
                format!("user {name:?} has no password source"),
                "no password_env",
                &format!(
                    "name the environment variable that holds the password, e.g. password_env: {}",
                    crate::topology::default_password_env(name)
                ),
            );
        }
        if let Some(var) = &u.password_env
            && !is_variable_name(&var.value)
        {
            self.invalid(
                at(file, var),
                format!("user {name:?} reads its password from {:?}, which is not an environment variable name", var.value),
                "not a variable name",
                "write a name of letters, digits and underscores that does not start with a digit, e.g. WARREN_PASSWORD_INVENTORY",
            );
        }
    }
}

/// The largest `x-message-ttl` RabbitMQ accepts.
const MAX_TTL_MILLIS: u64 = u32::MAX as u64;

fn http_handler_problem(url: &str) -> Option<String> {
    match url::Url::parse(url) {
        Err(e) => Some(format!("{:?} is not a URL ({e})", crate::printable::redact(url))),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            Some(format!("{:?} is not http(s)", crate::printable::redact(url)))
        }
        Ok(u) if !u.username().is_empty() || u.password().is_some() => Some(
            "the URL holds credentials, which `warren expand` would print: put them in the handler's own configuration".into(),
        ),
        Ok(_) => None,
    }
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

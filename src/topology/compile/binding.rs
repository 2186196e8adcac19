//! Binding blocks to bindings: one per key, headers folded into arguments.

use serde_json::Value;

use super::{Compiler, at};
use crate::diagnostic::{Diagnostic, codes};
use crate::source::FileId;
use crate::spec::BindingSpec;
use crate::topology::{Arguments, Binding, DestinationType, Origin, canonical};

impl Compiler {
    /// Compiles a binding block. `queue` is the enclosing queue block, if any.
    pub(super) fn binding(
        &mut self,
        file: FileId,
        spec: &BindingSpec,
        queue: Option<&str>,
        generated_by: Option<&str>,
    ) {
        self.binding_values(file, spec);
        let Some((destination, destination_type, dest_span)) = self.destination(file, spec, queue)
        else {
            return;
        };
        let mut origin = match generated_by {
            Some(service) => Origin::generated(service, at(file, &spec.exchange)),
            None => Origin::at(at(file, &spec.exchange)),
        };
        origin.with_attr("destination", dest_span);
        let mut arguments = Arguments::new();
        for (name, value) in &spec.headers {
            self.raw_value(file, name, value);
            arguments.insert(name.value.clone(), canonical(value.clone()));
            origin.with_attr(name.value.clone(), at(file, name));
        }
        if let Some(m) = &spec.match_ {
            arguments.insert("x-match".into(), Value::from(m.value.as_str()));
            origin.with_attr("x-match", at(file, m));
        } else if !spec.headers.is_empty() {
            arguments.insert("x-match".into(), Value::from("all"));
        }
        for (name, value) in &spec.arguments {
            self.raw_value(file, name, value);
            if arguments.contains_key(&name.value) {
                self.report(
                    Diagnostic::new(
                        &codes::ARGUMENT_CONFLICT,
                        format!("binding argument {:?} is also set by `headers:` or `match:`", name.value),
                    )
                    .label(at(file, name), "raw argument")
                    .help("set headers with `headers:` and the match mode with `match:`, not both ways"),
                );
                continue;
            }
            arguments.insert(name.value.clone(), canonical(value.clone()));
            origin.with_attr(name.value.clone(), at(file, name));
        }
        let keys: Vec<_> = spec.key.iter().chain(&spec.keys).collect();
        if keys.is_empty() {
            self.push_binding(
                spec,
                &destination,
                destination_type,
                String::new(),
                &arguments,
                origin,
            );
            return;
        }
        for key in keys {
            let mut origin = origin.clone();
            origin.with_attr("key", at(file, key));
            self.push_binding(
                spec,
                &destination,
                destination_type,
                key.value.clone(),
                &arguments,
                origin,
            );
        }
    }

    fn push_binding(
        &mut self,
        spec: &BindingSpec,
        destination: &str,
        destination_type: DestinationType,
        routing_key: String,
        arguments: &Arguments,
        origin: Origin,
    ) {
        self.topology.bindings.push(Binding {
            source: spec.exchange.value.clone(),
            destination: destination.to_string(),
            destination_type,
            routing_key,
            arguments: arguments.clone(),
            origin,
        });
    }

    fn destination(
        &mut self,
        file: FileId,
        spec: &BindingSpec,
        queue: Option<&str>,
    ) -> Option<(String, DestinationType, Option<crate::source::Span>)> {
        let error = |message: &str, help: &str| {
            Diagnostic::new(&codes::INVALID_BINDING, message.to_string())
                .label(at(file, &spec.exchange), "this binding")
                .help(help.to_string())
        };
        match (queue, &spec.queue, &spec.to_exchange) {
            (Some(q), None, None) => Some((
                q.to_string(),
                DestinationType::Queue,
                at(file, &spec.exchange),
            )),
            (Some(_), _, _) => {
                self.report(error(
                    "a binding inside a queue block binds that queue and names no destination",
                    "remove `queue:`/`to_exchange:`, or move the binding to the top-level `bindings:`",
                ));
                None
            }
            (None, Some(q), None) => Some((q.value.clone(), DestinationType::Queue, at(file, q))),
            (None, None, Some(x)) => {
                Some((x.value.clone(), DestinationType::Exchange, at(file, x)))
            }
            (None, Some(_), Some(_)) => {
                self.report(error(
                    "a binding has both `queue:` and `to_exchange:`",
                    "a binding has one destination: write two bindings",
                ));
                None
            }
            (None, None, None) => {
                self.report(error(
                    "a top-level binding names no destination",
                    "add `queue: NAME` or `to_exchange: NAME`, or move it into the queue's `bindings:`",
                ));
                None
            }
        }
    }
}

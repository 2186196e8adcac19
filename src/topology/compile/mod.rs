//! Spec files to [`Topology`]: merging files, turning named settings into
//! RabbitMQ arguments, and expanding services and their retry chains.
//!
//! Compile reports what it cannot make sense of (duplicate names, a binding
//! with two destinations) and carries on, so one run shows every problem.
//! Questions about the compiled graph (does this reference exist? can this
//! message be routed?) are `check`'s.

mod binding;
mod delay;
mod names;
mod permissions;
mod queue;

mod retry;
mod service;
mod values;

use crate::diagnostic::{Diagnostic, codes};
use crate::source::{FileId, Span};
use crate::spec::{Loaded, Loc, Spanned, SpecFile};
use crate::topology::{Exchange, Origin, Policy, Topology, User, canonical};

use names::{Kind, Seen};

/// Compiles loaded files into one [`Topology`] per vhost: files that name
/// the same vhost (or none, for "/") are merged, in the order they were
/// loaded, so one directory can hold the topologies of several vhosts.
pub fn compile(loaded: &Loaded) -> (Vec<Topology>, Vec<Diagnostic>) {
    let mut groups: Vec<(&str, Vec<&(FileId, SpecFile)>)> = Vec::new();
    for entry in &loaded.files {
        let vhost = entry.1.vhost.as_ref().map_or("/", |v| v.value.as_str());
        match groups.iter_mut().find(|(v, _)| *v == vhost) {
            Some((_, files)) => files.push(entry),
            None => groups.push((vhost, vec![entry])),
        }
    }
    let mut diagnostics = Vec::new();
    let topologies = groups
        .into_iter()
        .map(|(vhost, files)| {
            let (topology, found) = compile_vhost(vhost, &files);
            diagnostics.extend(found);
            topology
        })
        .collect();
    (topologies, diagnostics)
}

/// Compiles the files of one vhost.
fn compile_vhost(vhost: &str, files: &[&(FileId, SpecFile)]) -> (Topology, Vec<Diagnostic>) {
    let mut cx = Compiler {
        topology: Topology {
            vhost: vhost.to_string(),
            ..Topology::default()
        },
        diagnostics: Vec::new(),
        seen: Seen::default(),
        delay_chains: Default::default(),
        delay_types: Vec::new(),
    };
    for (file, spec) in files {
        cx.header(*file, spec);
    }
    // Declared objects first, from every file, so that services in one file
    // can consume queues declared in another.
    for (file, spec) in files {
        cx.exchanges(*file, spec);
        cx.queues(*file, spec);
        cx.users(*file, spec);
        cx.policies(*file, spec);
        cx.top_level_bindings(*file, spec);
        cx.ignore(*file, spec);
    }
    // Before services: a queue typed by a raw x-queue-type is a quorum queue
    // to the retry chain a service builds on it, too. Compile has refused
    // raw arguments that repeat a named field, so nothing can disagree.
    let disagreements = crate::topology::normalize(&mut cx.topology);
    debug_assert!(disagreements.is_empty(), "{disagreements:?}");
    for (file, spec) in files {
        cx.services(*file, spec);
    }
    cx.all_delay_chains();
    permissions::derive(&mut cx.topology);
    (cx.topology, cx.diagnostics)
}

struct Compiler {
    topology: Topology,
    diagnostics: Vec<Diagnostic>,
    seen: Seen,
    /// The delay exchanges generated so far: services share them.
    delay_chains: std::collections::HashSet<String>,
    /// Each compiled service and its file's default queue type, for the
    /// delay chains generated after every service.
    delay_types: Vec<(String, crate::topology::QueueType)>,
}

/// The span of a spanned value in `file`.
fn at<T>(file: FileId, value: &Spanned<T>) -> Option<Span> {
    Some(span(file, value.loc))
}

fn span(file: FileId, loc: Loc) -> Span {
    Span::new(file, loc.start as usize, loc.len as usize)
}

impl Compiler {
    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn header(&mut self, file: FileId, spec: &SpecFile) {
        if *spec.version != 1 {
            self.report(
                Diagnostic::new(
                    &codes::UNSUPPORTED_VERSION,
                    format!("spec version {} is not supported", *spec.version),
                )
                .label(at(file, &spec.version), "version")
                .help("this warren reads version: 1"),
            );
        }
        if let Some(versions) = spec.broker.as_ref().and_then(|b| b.version.as_ref()) {
            for text in versions.value.iter() {
                match crate::vocabulary::Version::parse(text) {
                    Some(v) => {
                        if !self.topology.broker_versions.contains(&v) {
                            self.topology.broker_versions.push(v);
                            self.topology.broker_versions.sort();
                        }
                    }
                    None => self.report(
                        Diagnostic::new(
                            &codes::INVALID_VALUE,
                            format!("{text:?} is not a RabbitMQ version"),
                        )
                        .label(at(file, versions), "broker version")
                        .help("write the release line, such as \"3.13\" or \"4.1\", or a list of them"),
                    ),
                }
            }
        }
        if let Some(nodes) = spec.broker.as_ref().and_then(|b| b.nodes.as_ref()) {
            if nodes.value == 0 {
                self.report(
                    Diagnostic::new(&codes::INVALID_VALUE, "a cluster of 0 nodes")
                        .label(at(file, nodes), "nodes")
                        .help("give the cluster's node count (1 for a single broker), or leave it out"),
                );
            } else {
                self.topology.cluster_nodes = Some(nodes.value);
            }
        }
        if let Some(vhost) = spec.vhost.as_ref().filter(|v| v.value.is_empty()) {
            self.report(
                Diagnostic::new(&codes::INVALID_VALUE, "the vhost name is empty")
                    .label(at(file, vhost), "empty vhost")
                    .help("RabbitMQ's default vhost is \"/\": write vhost: \"/\" or leave the field out"),
            );
        }
    }

    fn exchanges(&mut self, file: FileId, spec: &SpecFile) {
        for (name, x) in &spec.exchanges {
            if !self
                .seen
                .declared(Kind::Exchange, name, file, &mut self.diagnostics)
            {
                continue;
            }
            let mut origin = Origin::at(at(file, name));
            origin.with_attr("type", at(file, &x.kind));
            let alternate_exchange = x.alternate_exchange.as_ref().map(|ae| {
                origin.with_attr("alternate_exchange", at(file, ae));
                ae.value.clone()
            });
            let mut arguments = crate::topology::Arguments::new();
            for (k, v) in &x.arguments {
                if k.value == crate::topology::ALTERNATE_EXCHANGE && alternate_exchange.is_some() {
                    self.report(queue::conflict(file, k, "alternate_exchange"));
                    continue;
                }
                origin.with_attr(k.value.clone(), at(file, k));
                arguments.insert(k.value.clone(), canonical(v.clone()));
            }
            self.topology.exchanges.insert(
                name.value.clone(),
                Exchange {
                    name: name.value.clone(),
                    kind: x.kind.value.clone(),
                    durable: x.durable.unwrap_or(true),
                    auto_delete: x.auto_delete.unwrap_or(false),
                    internal: x.internal.unwrap_or(false),
                    alternate_exchange,
                    arguments,
                    origin,
                },
            );
        }
    }

    fn queues(&mut self, file: FileId, spec: &SpecFile) {
        let default_type = spec.default_queue_type();
        for (name, q) in &spec.queues {
            if !self
                .seen
                .declared(Kind::Queue, name, file, &mut self.diagnostics)
            {
                continue;
            }
            let origin = Origin::at(at(file, name));
            self.queue_values(file, &name.value, q);
            let mut queue = queue::build(self, file, &name.value, q, default_type, origin);
            if q.external == Some(true) {
                queue.consumer = crate::topology::Consumer::External;
            }
            for b in &q.bindings {
                self.binding(file, b, Some(&name.value), None);
            }
            self.topology.queues.insert(name.value.clone(), queue);
        }
    }

    fn top_level_bindings(&mut self, file: FileId, spec: &SpecFile) {
        for b in &spec.bindings {
            self.binding(file, b, None, None);
        }
    }

    fn policies(&mut self, file: FileId, spec: &SpecFile) {
        for (name, p) in &spec.policies {
            if !self
                .seen
                .declared(Kind::Policy, name, file, &mut self.diagnostics)
            {
                continue;
            }
            self.policy_values(file, &name.value, p);
            let mut origin = Origin::at(at(file, name));
            origin.with_attr("pattern", at(file, &p.pattern));
            origin.with_attr("definition", at(file, &p.definition));
            if let Some(a) = &p.apply_to {
                origin.with_attr("apply_to", at(file, a));
            }
            let definition = p
                .definition
                .iter()
                .map(|(k, v)| {
                    origin.with_attr(k.value.clone(), at(file, k));
                    self.ambiguous_boolean(file, k, v);
                    (k.value.clone(), canonical(v.clone()))
                })
                .collect();
            self.topology.policies.insert(
                name.value.clone(),
                Policy {
                    name: name.value.clone(),
                    pattern: p.pattern.value.clone(),
                    apply_to: p
                        .apply_to
                        .as_ref()
                        .map_or(crate::topology::ApplyTo::All, |a| a.value),
                    priority: p.priority.as_ref().map_or(0, |p| p.value),
                    definition,
                    origin,
                },
            );
        }
    }

    fn users(&mut self, file: FileId, spec: &SpecFile) {
        for (name, u) in &spec.users {
            if !self
                .seen
                .declared(Kind::User, name, file, &mut self.diagnostics)
            {
                continue;
            }
            self.user_values(file, name, u);
            if let Some(password) = &u.password {
                self.report(
                    Diagnostic::new(
                        &codes::PASSWORD_IN_SPEC,
                        format!("user {:?} has a password in the spec", name.value),
                    )
                    .label(at(file, password), "secret written here")
                    .help("remove it and set password_env: VARIABLE; warren reads the password from that environment variable"),
                );
            }
            self.topology.users.insert(
                name.value.clone(),
                User {
                    name: name.value.clone(),
                    password_env: u.password_env.as_ref().map(|p| p.value.clone()),
                    tags: u.tags.clone(),
                    permissions: None,
                    topic_permissions: Vec::new(),
                    origin: Origin::at(at(file, name)),
                },
            );
        }
    }

    fn ignore(&mut self, file: FileId, spec: &SpecFile) {
        for pattern in &spec.ignore {
            if let Err(error) = regex::Regex::new(&pattern.value) {
                self.report(
                    Diagnostic::new(
                        &codes::INVALID_PATTERN,
                        format!("ignore pattern {:?} is not a valid regular expression", pattern.value),
                    )
                    .label(at(file, pattern), first_line(&error.to_string()))
                    .help("ignore takes regular expressions matched against object names, e.g. \"^tmp\\\\.\""),
                );
                continue;
            }
            self.topology.ignore.push(pattern.value.clone());
        }
    }

    /// Raw values `yes`, `no`, `on`, `off` are strings to warren (YAML 1.2)
    /// but booleans to YAML 1.1 tools: flag them rather than guess.
    fn ambiguous_boolean(
        &mut self,
        file: FileId,
        key: &Spanned<String>,
        value: &serde_json::Value,
    ) {
        let Some(text) = value.as_str() else { return };
        if matches!(
            text.to_ascii_lowercase().as_str(),
            "yes" | "no" | "on" | "off" | "y" | "n"
        ) {
            self.report(
                Diagnostic::new(
                    &codes::AMBIGUOUS_BOOLEAN,
                    format!("{:?} is set to the string {text:?}", key.value),
                )
                .label(at(file, key), "string, not boolean")
                .help("write true or false for a boolean, or quote the value to keep the string"),
            );
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines().last().unwrap_or(text).trim().to_string()
}

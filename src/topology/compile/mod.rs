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
use std::collections::BTreeMap;

use crate::topology::{
    Exchange, LiveTypes, Origin, Policy, Queue, QueueType, Topology, TypeFrom, User, canonical,
    takes_default,
};
use crate::vocabulary::SettingsVia;

use names::{Kind, Seen};

/// Compiles loaded files into one [`Topology`] per vhost: files that name
/// the same vhost (or none, for "/") are merged, in the order they were
/// loaded, so one directory can hold the topologies of several vhosts.
pub fn compile(loaded: &Loaded) -> (Vec<Topology>, Vec<Diagnostic>) {
    compile_for(loaded, &BTreeMap::new())
}

/// [`compile`] knowing what each live vhost says of queue types: a queue
/// that states no type keeps the one it has there, and one that does not
/// exist yet takes the live vhost's default when neither its file nor the
/// spec's vhost gives one (see `TypeFrom`).
pub fn compile_for(
    loaded: &Loaded,
    live: &BTreeMap<String, LiveTypes>,
) -> (Vec<Topology>, Vec<Diagnostic>) {
    let mut groups: Vec<(&str, Vec<&(FileId, SpecFile)>)> = Vec::new();
    for entry in &loaded.files {
        let vhost = entry.1.vhost_name();
        match groups.iter_mut().find(|(v, _)| *v == vhost) {
            Some((_, files)) => files.push(entry),
            None => groups.push((vhost, vec![entry])),
        }
    }
    let mut diagnostics = Vec::new();
    let topologies = groups
        .into_iter()
        .map(|(vhost, files)| {
            let (topology, found) = compile_vhost(vhost, &files, live.get(vhost));
            diagnostics.extend(found);
            topology
        })
        .collect();
    (topologies, diagnostics)
}

/// Compiles the files of one vhost.
fn compile_vhost(
    vhost: &str,
    files: &[&(FileId, SpecFile)],
    live: Option<&LiveTypes>,
) -> (Topology, Vec<Diagnostic>) {
    let mut cx = Compiler {
        topology: Topology {
            vhost: vhost.to_string(),
            ..Topology::default()
        },
        diagnostics: Vec::new(),
        seen: Seen::default(),
        delay_chains: Default::default(),
        delay_types: Vec::new(),
        vhost_default: None,
        live_queues: live.map(|l| l.queues.clone()).unwrap_or_default(),
        file_settings: files
            .iter()
            .filter_map(|(file, spec)| Some((*file, spec.default_settings()?)))
            .collect(),
    };
    for (file, spec) in files {
        cx.header(*file, spec);
    }
    cx.vhost_default = match cx.topology.settings.default_queue_type {
        Some(t) => Some((t, TypeFrom::Vhost)),
        None => live
            .and_then(|l| l.default_queue_type)
            .map(|t| (t, TypeFrom::LiveVhost)),
    };
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
    cx.generated_settings();
    crate::topology::settings_policies::generate(&mut cx.topology);
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
    delay_types: Vec<(String, Option<QueueType>)>,
    /// The vhost's default queue type: the spec's, else the live vhost's.
    vhost_default: Option<(QueueType, TypeFrom)>,
    /// The types of the queues the live vhost has.
    live_queues: BTreeMap<String, QueueType>,
    /// Each file's `defaults.settings`, where it states one.
    file_settings: BTreeMap<FileId, SettingsVia>,
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

    /// Gives `queue`, which states no type, its type: the file's default,
    /// else the vhost's where the queue can take it (the broker keeps an
    /// exclusive, transient or auto-delete queue classic, and a queue that
    /// expires messages cannot be a stream), else classic.
    fn default_type(&self, queue: &mut Queue, file_default: Option<QueueType>) {
        let (queue_type, from) = match (file_default, self.vhost_default) {
            (Some(t), _) => (t, TypeFrom::FileDefault),
            (None, Some((t, from)))
                if takes_default(
                    t,
                    queue.durable,
                    queue.exclusive,
                    queue.auto_delete,
                    queue.message_ttl().is_some(),
                ) =>
            {
                (t, from)
            }
            _ => (QueueType::Classic, TypeFrom::Broker),
        };
        (queue.queue_type, queue.type_from) = match self.live_queues.get(&queue.name) {
            Some(live) if *live != queue_type => (*live, TypeFrom::Kept(queue_type)),
            _ => (queue_type, from),
        };
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
        if let Some(vhost) = spec.vhost.as_ref().filter(|v| v.name.value.is_empty()) {
            self.report(
                Diagnostic::new(&codes::INVALID_VALUE, "the vhost name is empty")
                    .label(at(file, &vhost.name), "empty vhost")
                    .help("RabbitMQ's default vhost is \"/\": write vhost: \"/\" or leave the field out"),
            );
        }
        if let Some(vhost) = spec.vhost.as_ref().filter(|v| !v.settings.is_empty()) {
            self.vhost_settings(file, vhost);
        }
    }

    /// The vhost's metadata, which one file states.
    fn vhost_settings(&mut self, file: FileId, vhost: &crate::spec::VhostSpec) {
        let stated = &vhost.settings;
        if !self.topology.settings.is_empty() {
            self.report(
                Diagnostic::new(
                    &codes::DUPLICATE_NAME,
                    format!("the settings of vhost {:?} are stated twice", vhost.name.value),
                )
                .label(at(file, &vhost.name), "stated again here")
                .label(self.topology.settings.origin.span, "first stated here")
                .help("state description, tags and default_queue_type in one file; the others name the vhost alone (vhost: NAME)"),
            );
            return;
        }
        let mut origin = Origin::at(at(file, &vhost.name));
        let settings = &mut self.topology.settings;
        if let Some(d) = &stated.description {
            settings.description = Some(d.value.clone());
            origin.with_attr("description", at(file, d));
        }
        if let Some(tags) = &stated.tags {
            let mut list: Vec<String> = tags.iter().map(|t| t.value.clone()).collect();
            // The broker keeps tags as a set, in no promised order.
            list.sort();
            list.dedup();
            settings.tags = Some(list);
            if let Some(first) = tags.first() {
                origin.with_attr("tags", at(file, first));
            }
        }
        if let Some(t) = &stated.default_queue_type {
            settings.default_queue_type = Some(t.value);
            origin.with_attr("default_queue_type", at(file, t));
        }
        settings.origin = origin;
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
                self.raw_value(file, k, v);
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
                    settings_via: self.settings_via(file, x.settings.as_ref()),
                    arguments,
                    origin,
                },
            );
        }
    }

    /// How an object of `file` gets its settings: its own `settings:`,
    /// else the file's default, else arguments.
    fn settings_via(&self, file: FileId, own: Option<&Spanned<SettingsVia>>) -> SettingsVia {
        own.map(|s| s.value)
            .or_else(|| self.file_settings.get(&file).copied())
            .unwrap_or_default()
    }

    /// What a service generated (retry and delay queues and exchanges)
    /// follows the service's queue, or the service's file when it has
    /// none; per-instance queues are declared by each worker, with their
    /// arguments.
    fn generated_settings(&mut self) {
        let t = &self.topology;
        // Each service's way: its queue's, else its file's default.
        let by_service: BTreeMap<String, SettingsVia> = t
            .services
            .values()
            .filter_map(|s| {
                let via = match s.queue.as_ref().and_then(|q| t.queues.get(q)) {
                    Some(q) => q.settings_via,
                    None => *self.file_settings.get(&s.origin.span?.file)?,
                };
                Some((s.name.clone(), via))
            })
            .collect();
        let own_queues: std::collections::BTreeSet<String> = t
            .services
            .values()
            .filter_map(|s| s.queue.clone())
            .collect();
        let follows = |origin: &Origin| by_service.get(origin.generated_by.as_deref()?).copied();
        for q in self.topology.queues.values_mut() {
            if q.per_instance || own_queues.contains(&q.name) {
                continue;
            }
            if let Some(via) = follows(&q.origin) {
                q.settings_via = via;
            }
        }
        for x in self.topology.exchanges.values_mut() {
            if let Some(via) = follows(&x.origin) {
                x.settings_via = via;
            }
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
            queue.settings_via = self.settings_via(file, q.settings.as_ref());
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
            if name
                .value
                .starts_with(crate::topology::SETTINGS_POLICY_PREFIX)
            {
                self.report(
                    Diagnostic::new(
                        &codes::RESERVED_NAME,
                        format!("policy {:?} takes a name warren gives its own policies", name.value),
                    )
                    .label(at(file, name), "reserved")
                    .help(format!(
                        "names starting {:?} are the policies that carry `settings: policy`: rename the policy",
                        crate::topology::SETTINGS_POLICY_PREFIX
                    )),
                );
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
                    self.raw_value(file, k, v);
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
    /// A raw value of an argument, binding argument or policy key: null
    /// is refused (the broker keeps it as `undefined`, which never equals
    /// the spec again), and a YAML 1.1 boolean word is pointed out.
    fn raw_value(&mut self, file: FileId, key: &Spanned<String>, value: &serde_json::Value) {
        fn has_null(v: &serde_json::Value) -> bool {
            match v {
                serde_json::Value::Null => true,
                serde_json::Value::Array(items) => items.iter().any(has_null),
                serde_json::Value::Object(map) => map.values().any(has_null),
                _ => false,
            }
        }
        if has_null(value) {
            self.report(
                Diagnostic::new(
                    &codes::INVALID_VALUE,
                    format!(
                        "{:?} is set to null, which RabbitMQ keeps as `undefined`",
                        key.value
                    ),
                )
                .label(at(file, key), "null")
                .help("give it a value, or leave the key out"),
            );
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load_str;

    const SPEC: &str = "version: 1\nvhost: VHOST\nDEFAULTS\nexchanges: { ev: { type: topic } }\nqueues:\n  typed: { type: classic, external: true, bindings: [{ exchange: ev, key: a }] }\n  plain: { external: true, bindings: [{ exchange: ev, key: b }] }\n  scratch: { durable: false, external: true, bindings: [{ exchange: ev, key: c }] }\n";

    fn types(
        vhost: &str,
        defaults: &str,
        live: Option<LiveTypes>,
    ) -> Vec<(String, QueueType, TypeFrom)> {
        let text = SPEC.replace("VHOST", vhost).replace("DEFAULTS", defaults);
        let loaded = load_str("t.yaml", &text);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let live: BTreeMap<String, LiveTypes> =
            live.into_iter().map(|l| ("shop".to_string(), l)).collect();
        let (topologies, diagnostics) = compile_for(&loaded, &live);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        topologies[0]
            .queues
            .values()
            .map(|q| (q.name.clone(), q.queue_type, q.type_from))
            .collect()
    }

    fn one(found: &[(String, QueueType, TypeFrom)], name: &str) -> (QueueType, TypeFrom) {
        found
            .iter()
            .find(|(n, ..)| n == name)
            .map(|(_, t, f)| (*t, *f))
            .unwrap()
    }

    #[test]
    fn a_queue_type_comes_from_the_queue_then_the_file_then_the_vhost_then_the_broker() {
        use QueueType::*;
        let plain = types("shop", "", None);
        assert_eq!(one(&plain, "typed"), (Classic, TypeFrom::Queue));
        assert_eq!(one(&plain, "plain"), (Classic, TypeFrom::Broker));
        let vhost = types("{ name: shop, default_queue_type: quorum }", "", None);
        assert_eq!(one(&vhost, "plain"), (Quorum, TypeFrom::Vhost));
        // A transient queue cannot take a quorum default: the broker keeps
        // it classic, and so does warren.
        assert_eq!(one(&vhost, "scratch"), (Classic, TypeFrom::Broker));
        let file = types(
            "{ name: shop, default_queue_type: quorum }",
            "defaults: { queue_type: stream }",
            None,
        );
        assert_eq!(one(&file, "plain"), (Stream, TypeFrom::FileDefault));
        let live = LiveTypes {
            default_queue_type: Some(Quorum),
            queues: BTreeMap::new(),
        };
        let from_live = types("shop", "", Some(live.clone()));
        assert_eq!(one(&from_live, "plain"), (Quorum, TypeFrom::LiveVhost));
        // The spec's vhost default goes before the live one.
        let stated = types("{ name: shop, default_queue_type: stream }", "", Some(live));
        assert_eq!(one(&stated, "plain"), (Stream, TypeFrom::Vhost));
    }

    #[test]
    fn an_untyped_queue_keeps_the_type_it_has_on_the_broker() {
        use QueueType::*;
        let live = LiveTypes {
            default_queue_type: Some(Quorum),
            queues: BTreeMap::from([
                ("plain".to_string(), Classic),
                ("typed".to_string(), Quorum),
            ]),
        };
        let found = types("shop", "defaults: { queue_type: quorum }", Some(live));
        assert_eq!(one(&found, "plain"), (Classic, TypeFrom::Kept(Quorum)));
        // Its own type is kept even against the broker: plan replaces it.
        assert_eq!(one(&found, "typed"), (Classic, TypeFrom::Queue));
    }

    #[test]
    fn the_vhost_settings_are_stated_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.yaml"),
            "version: 1\nvhost: { name: shop, description: Orders, tags: [prod, eu, prod] }\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b.yaml"),
            "version: 1\nvhost:\n  name: shop\n  default_queue_type: quorum\n",
        )
        .unwrap();
        let loaded = crate::spec::load_paths(&[dir.path().to_path_buf()]).unwrap();
        let (topologies, diagnostics) = compile(&loaded);
        assert_eq!(topologies.len(), 1);
        let settings = &topologies[0].settings;
        assert_eq!(settings.description.as_deref(), Some("Orders"));
        assert_eq!(
            settings.tags,
            Some(vec!["eu".to_string(), "prod".to_string()])
        );
        let codes: Vec<&str> = diagnostics.iter().map(|d| d.code.id).collect();
        assert_eq!(codes, ["E103"], "{diagnostics:?}");
    }
}

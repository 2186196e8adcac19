//! Desired × live → changes.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use serde_json::{Value, json};

use super::{Action, Attr, Change, Key, Object, ObjectKind, Plan};
use crate::definitions::binding_key;
use crate::topology::{Binding, DestinationType, Exchange, Policy, Queue, Topology, User};

/// How [`diff`] compares.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Delete what the spec does not name (never `amq.*`, server-named or
    /// ignored objects: observe leaves those out, `ignore:` filters here).
    pub prune: bool,
    /// The vhost does not exist on the broker: creating it is the first
    /// change.
    pub vhost_missing: bool,
}

type Attrs = BTreeMap<String, Value>;

/// Compares two topologies of one vhost.
pub fn diff(desired: &Topology, live: &Topology, options: &Options) -> Plan {
    // Per-instance queues are the workers' to declare, never the plan's.
    let desired = &*desired.shared();
    let ignore: Vec<Regex> = desired
        .ignore
        .iter()
        .filter_map(|p| Regex::new(p).ok())
        .collect();
    let ignored = |name: &str| ignore.iter().any(|re| re.is_match(name));
    let mut plan = Plan {
        vhost: desired.vhost.clone(),
        ..Plan::default()
    };
    if let Some(change) = vhost(desired, live, options.vhost_missing) {
        plan.changes.push(change);
    }
    let mut out = Out {
        plan: &mut plan,
        prune: options.prune,
    };

    compare(
        &mut out,
        ObjectKind::Exchange,
        &desired.exchanges,
        &live.exchanges,
        exchange_attrs,
        |x| Object::Exchange(x.clone()),
        |x| x.origin.span,
        &ignored,
        replace(
            "an exchange's",
            "; publishes to it fail (NOT_FOUND) or go to no queue while it is deleted and declared again",
            exchange_attrs,
        ),
        |_| false,
    );
    compare(
        &mut out,
        ObjectKind::Queue,
        &desired.queues,
        &live.queues,
        queue_attrs,
        |q| Object::Queue(q.clone()),
        |q| q.origin.span,
        &ignored,
        replace(
            "a queue's",
            " (redeclaring fails with PRECONDITION_FAILED)",
            queue_attrs,
        ),
        |_| false,
    );
    queue_types(&mut out, desired);
    bindings(&mut out, desired, live, &ignored);
    rebind_replaced(&mut out, desired, live);
    compare(
        &mut out,
        ObjectKind::Policy,
        &desired.policies,
        &live.policies,
        policy_attrs,
        |p| Object::Policy(p.clone()),
        |p| p.origin.span,
        &ignored,
        |_, _| (Action::Update, None),
        |name| name.starts_with(crate::topology::SETTINGS_POLICY_PREFIX),
    );
    users(&mut out, desired, live);
    permit_replaced(&mut out, desired);
    super::order::sort(&mut plan.changes);
    plan
}

/// The vhost: created when missing, with the metadata the spec states;
/// updated when a stated field differs from the broker's. A default queue
/// type is compared only where the broker keeps one (not on 3.10, which
/// takes it and drops it).
fn vhost(desired: &Topology, live: &Topology, missing: bool) -> Option<Change> {
    let stated = &desired.settings;
    let theirs = &live.settings;
    let attrs = |s: &crate::topology::VhostSettings, with_type: bool| -> Attrs {
        let mut a = Attrs::new();
        if let Some(d) = &s.description {
            a.insert("description".into(), json!(d));
        }
        if let Some(t) = &s.tags {
            a.insert("tags".into(), json!(t));
        }
        if let Some(t) = s.default_queue_type.filter(|_| with_type) {
            a.insert("default_queue_type".into(), json!(t.as_str()));
        }
        a
    };
    let key = Key::Named(ObjectKind::Vhost, desired.vhost.clone());
    let (action, attributes) = if missing {
        (
            Action::Create,
            attr_diff(&Attrs::new(), &attrs(stated, true)),
        )
    } else {
        let with_type = theirs.default_queue_type.is_some();
        // Only the fields the spec states are compared; the broker's
        // missing description and tags are empty ones.
        let mut before = attrs(
            &crate::topology::VhostSettings {
                description: Some(theirs.description.clone().unwrap_or_default()),
                tags: Some(theirs.tags.clone().unwrap_or_default()),
                ..theirs.clone()
            },
            with_type,
        );
        let after = attrs(stated, with_type);
        before.retain(|k, _| after.contains_key(k));
        let changed = attr_diff(&before, &after);
        if changed.is_empty() {
            return None;
        }
        (Action::Update, changed)
    };
    // What a PUT sets: the spec's fields over the broker's.
    let merged = crate::topology::VhostSettings {
        description: stated.description.clone().or(theirs.description.clone()),
        tags: stated.tags.clone().or(theirs.tags.clone()),
        default_queue_type: stated.default_queue_type.or(theirs.default_queue_type),
        origin: stated.origin.clone(),
    };
    let mut change = Change::new(action, ObjectKind::Vhost, &desired.vhost, key);
    change.attributes = attributes;
    change.span = stated.origin.span;
    change.desired = Some(Object::Vhost(desired.vhost.clone(), merged));
    change.live = (!missing).then(|| Object::Vhost(live.vhost.clone(), theirs.clone()));
    Some(change)
}

/// Says where a queue's type comes from when the queue does not state it,
/// on the queue's create or replace; notes each queue that keeps its live
/// type against a default, which a plan never changes.
fn queue_types(out: &mut Out, desired: &Topology) {
    for c in &mut out.plan.changes {
        let Some(Object::Queue(q)) = &c.desired else {
            continue;
        };
        if q.type_from.is_stated() {
            continue;
        }
        if let Some(a) = c.attributes.iter_mut().find(|a| a.name == "type") {
            a.from = Some(q.type_from.describe().to_string());
        }
    }
    for q in desired.queues.values() {
        if let crate::topology::TypeFrom::Kept(default) = q.type_from {
            out.plan.notes.push(format!(
                "queue {:?} stays {}, as the broker has it: it states no type, and the default would make it {default}; give it `type: {default}` to convert it (a replace)",
                q.name, q.queue_type
            ));
        }
    }
}

struct Out<'p> {
    plan: &'p mut Plan,
    prune: bool,
}

impl Out<'_> {
    fn push(&mut self, change: Change) {
        self.plan.changes.push(change);
    }

    /// Permissions: created when there were none, updated when they differ.
    #[allow(clippy::too_many_arguments)]
    fn grant(
        &mut self,
        kind: ObjectKind,
        name: String,
        key: Key,
        user: &User,
        live: Option<&User>,
        before: Attrs,
        after: Attrs,
    ) {
        let attributes = attr_diff(&before, &after);
        if attributes.is_empty() {
            return;
        }
        let action = if before.is_empty() {
            Action::Create
        } else {
            Action::Update
        };
        let mut change = Change::new(action, kind, name, key);
        change.attributes = attributes;
        change.span = user.origin.span;
        change.desired = Some(Object::User(user.clone()));
        change.live = live.map(|l| Object::User(l.clone()));
        self.push(change);
    }

    /// A live object the spec does not have: deleted with `--prune`, or
    /// always when warren `owns` it (a settings policy nothing needs any
    /// more), else reported as unmanaged.
    fn absent(
        &mut self,
        kind: ObjectKind,
        name: &str,
        key: Key,
        owns: bool,
        live: Object,
        before: Attrs,
    ) {
        if self.prune || owns {
            let mut change = Change::new(Action::Delete, kind, name, key);
            change.attributes = before
                .into_iter()
                .map(|(n, v)| Attr {
                    name: n,
                    before: Some(v),
                    after: None,
                    from: None,
                })
                .collect();
            change.live = Some(live);
            self.push(change);
        } else {
            self.plan.unmanaged.push((kind, name.to_string()));
        }
    }
}

/// Creates, changes (as `on_change` classifies them) and deletions for one
/// kind of named object.
#[allow(clippy::too_many_arguments)]
fn compare<T>(
    out: &mut Out,
    kind: ObjectKind,
    desired: &BTreeMap<String, T>,
    live: &BTreeMap<String, T>,
    attrs: fn(&T) -> Attrs,
    object: fn(&T) -> Object,
    span: fn(&T) -> Option<crate::source::Span>,
    ignored: &dyn Fn(&str) -> bool,
    on_change: impl Fn(&T, &T) -> (Action, Option<String>),
    owns: fn(&str) -> bool,
) {
    let key = |name: &str| Key::Named(kind, name.to_string());
    for (name, d) in desired {
        let after = attrs(d);
        match live.get(name) {
            None => {
                let mut change = Change::new(Action::Create, kind, name, key(name));
                change.attributes = after
                    .into_iter()
                    .map(|(n, v)| Attr {
                        name: n,
                        before: None,
                        after: Some(v),
                        from: None,
                    })
                    .collect();
                change.span = span(d);
                change.desired = Some(object(d));
                out.push(change);
            }
            Some(l) => {
                let before = attrs(l);
                let attributes = attr_diff(&before, &after);
                if !attributes.is_empty() {
                    let (action, reason) = on_change(d, l);
                    let mut change = Change::new(action, kind, name, key(name));
                    change.attributes = attributes;
                    change.reason = reason;
                    change.span = span(d);
                    change.desired = Some(object(d));
                    change.live = Some(object(l));
                    out.push(change);
                }
            }
        }
    }
    for (name, l) in live {
        if !desired.contains_key(name) && !ignored(name) {
            out.absent(kind, name, key(name), owns(name), object(l), attrs(l));
        }
    }
}

fn attr_diff(before: &Attrs, after: &Attrs) -> Vec<Attr> {
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter(|n| before.get(*n) != after.get(*n))
        .map(|n| Attr {
            name: n.clone(),
            before: before.get(n).cloned(),
            after: after.get(n).cloned(),
            from: None,
        })
        .collect()
}

/// Classifies a difference in an immutable object: a replace, naming the
/// attributes that differ.
fn replace<T>(
    object: &'static str,
    note: &'static str,
    attrs: fn(&T) -> Attrs,
) -> impl Fn(&T, &T) -> (Action, Option<String>) {
    move |desired, live| {
        let changed: Vec<String> = attr_diff(&attrs(live), &attrs(desired))
            .into_iter()
            .map(|a| a.name)
            .collect();
        (
            Action::Replace,
            Some(format!(
                "{object} {} cannot change in place{note}",
                changed.join(", ")
            )),
        )
    }
}

fn with_arguments(mut attrs: Attrs, prefix: &str, args: &crate::topology::Arguments) -> Attrs {
    for (k, v) in args {
        attrs.insert(format!("{prefix}{k}"), v.clone());
    }
    attrs
}

fn exchange_attrs(x: &Exchange) -> Attrs {
    let mut a = Attrs::new();
    a.insert("type".into(), json!(x.kind.as_str()));
    a.insert("durable".into(), json!(x.durable));
    a.insert("auto_delete".into(), json!(x.auto_delete));
    a.insert("internal".into(), json!(x.internal));
    // Only what the declaration carries: a policy that carries the rest is
    // a policy of its own in the plan.
    if let Some(ae) = x.declared_alternate() {
        a.insert("alternate_exchange".into(), json!(ae));
    }
    with_arguments(a, "arguments.", &x.arguments)
}

fn queue_attrs(q: &Queue) -> Attrs {
    let mut a = Attrs::new();
    a.insert("type".into(), json!(q.queue_type.as_str()));
    a.insert("durable".into(), json!(q.durable));
    a.insert("auto_delete".into(), json!(q.auto_delete));
    with_arguments(a, "arguments.", &q.declared_arguments())
}

fn policy_attrs(p: &Policy) -> Attrs {
    let mut a = Attrs::new();
    a.insert("pattern".into(), json!(p.pattern));
    a.insert("apply_to".into(), json!(p.apply_to.as_str()));
    a.insert("priority".into(), json!(p.priority));
    with_arguments(a, "definition.", &p.definition)
}

/// `source -> destination [key]` (with arguments when there are any).
pub fn binding_name(b: &Binding) -> String {
    let arrow = match b.destination_type {
        DestinationType::Queue => "->",
        DestinationType::Exchange => "=>",
    };
    let mut name = format!("{} {arrow} {} [{}]", b.source, b.destination, b.routing_key);
    if !b.arguments.is_empty() {
        name.push_str(&format!(
            " {}",
            Value::from(
                b.arguments
                    .clone()
                    .into_iter()
                    .collect::<serde_json::Map<_, _>>()
            )
        ));
    }
    name
}

fn bindings(out: &mut Out, desired: &Topology, live: &Topology, ignored: &dyn Fn(&str) -> bool) {
    let live_keys: BTreeSet<_> = live.bindings.iter().map(binding_key).collect();
    let desired_keys: BTreeSet<_> = desired.bindings.iter().map(binding_key).collect();
    let mut seen = BTreeSet::new();
    for b in &desired.bindings {
        let key = binding_key(b);
        if !live_keys.contains(&key) && seen.insert(key) {
            out.push(binding_create(b));
        }
    }
    for b in &live.bindings {
        if !desired_keys.contains(&binding_key(b))
            && !ignored(&b.source)
            && !ignored(&b.destination)
        {
            out.absent(
                ObjectKind::Binding,
                &binding_name(b),
                Key::of_binding(b),
                false,
                Object::Binding(b.clone()),
                Attrs::new(),
            );
        }
    }
}

fn binding_create(b: &Binding) -> Change {
    let mut change = Change::new(
        Action::Create,
        ObjectKind::Binding,
        binding_name(b),
        Key::of_binding(b),
    );
    change.span = b.origin.span;
    change.desired = Some(Object::Binding(b.clone()));
    change
}

/// Deleting a queue or an exchange deletes every binding to and from it,
/// so replacing one must declare them again: the spec's bindings, and,
/// unless they are being pruned, the broker's own. Each becomes a create
/// that says why.
fn rebind_replaced(out: &mut Out, desired: &Topology, live: &Topology) {
    let replaced: Vec<(ObjectKind, String)> = out
        .plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Replace)
        .filter(|c| matches!(c.kind, ObjectKind::Queue | ObjectKind::Exchange))
        .map(|c| (c.kind, c.name.clone()))
        .collect();
    if replaced.is_empty() {
        return;
    }
    let touches = |b: &Binding, kind: ObjectKind, name: &str| match kind {
        ObjectKind::Exchange => {
            b.source == name
                || (b.destination_type == DestinationType::Exchange && b.destination == name)
        }
        _ => b.destination_type == DestinationType::Queue && b.destination == name,
    };
    let deleted: BTreeSet<Key> = out
        .plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete && c.kind == ObjectKind::Binding)
        .map(|c| c.key.clone())
        .collect();
    let mut planned: BTreeSet<Key> = out
        .plan
        .changes
        .iter()
        .filter(|c| c.kind == ObjectKind::Binding && c.action == Action::Create)
        .map(|c| c.key.clone())
        .collect();
    let mut rebinds = Vec::new();
    for (kind, name) in &replaced {
        for b in desired.bindings.iter().chain(&live.bindings) {
            let key = Key::of_binding(b);
            if touches(b, *kind, name) && !deleted.contains(&key) && planned.insert(key) {
                let mut change = binding_create(b);
                change.because = Some(format!("{} {name:?} is replaced", kind.as_str()));
                rebinds.push(change);
            }
        }
    }
    out.plan.changes.extend(rebinds);
}

fn topic_attrs(write: &str, read: &str) -> Attrs {
    [
        ("write".to_string(), json!(write)),
        ("read".to_string(), json!(read)),
    ]
    .into()
}

/// RabbitMQ 4.3 deletes the topic permissions on an exchange with the
/// exchange, and does not bring them back when it is declared again (3.10
/// and 4.0 keep them). So replacing an exchange sets them again: each
/// becomes a create that says why, harmless where they were kept.
fn permit_replaced(out: &mut Out, desired: &Topology) {
    let replaced: BTreeSet<String> = out
        .plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Replace && c.kind == ObjectKind::Exchange)
        .map(|c| c.name.clone())
        .collect();
    if replaced.is_empty() {
        return;
    }
    let planned: BTreeSet<Key> = out
        .plan
        .changes
        .iter()
        .filter(|c| c.kind == ObjectKind::TopicPermissions)
        .map(|c| c.key.clone())
        .collect();
    let mut again = Vec::new();
    for (name, user) in &desired.users {
        for tp in user
            .topic_permissions
            .iter()
            .filter(|tp| replaced.contains(&tp.exchange))
        {
            let key = Key::TopicPermission {
                user: name.clone(),
                exchange: tp.exchange.clone(),
            };
            if planned.contains(&key) {
                continue;
            }
            let mut change = Change::new(
                Action::Create,
                ObjectKind::TopicPermissions,
                format!("{name} on {}", tp.exchange),
                key,
            );
            change.attributes = attr_diff(&Attrs::new(), &topic_attrs(&tp.write, &tp.read));
            change.span = user.origin.span;
            change.desired = Some(Object::User(user.clone()));
            change.because = Some(format!(
                "exchange {:?} is replaced, and RabbitMQ 4.3 deletes its topic permissions with it",
                tp.exchange
            ));
            again.push(change);
        }
    }
    out.plan.changes.extend(again);
}

/// A create or update of user `d` (`l` as the broker has it).
pub(super) fn user_change(
    action: Action,
    d: &User,
    l: Option<&User>,
    attributes: Vec<Attr>,
) -> Change {
    let key = Key::Named(ObjectKind::User, d.name.clone());
    let mut change = Change::new(action, ObjectKind::User, &d.name, key);
    change.attributes = attributes;
    change.span = d.origin.span;
    change.desired = Some(Object::User(d.clone()));
    change.live = l.map(|l| Object::User(l.clone()));
    change
}

/// The password as a plan shows it: the variable it comes from, never
/// the secret; `before` says what is wrong with the broker's.
pub(super) fn password_attr(d: &User, before: Option<&str>) -> Attr {
    let var = d.password_var();
    Attr {
        name: "password".into(),
        before: before.map(|b| json!(b)),
        after: Some(json!(format!("from ${var}"))),
        from: None,
    }
}

fn users(out: &mut Out, desired: &Topology, live: &Topology) {
    for (name, d) in &desired.users {
        let l: Option<&User> = live.users.get(name);
        let tags = |u: &User| {
            let mut tags = u.tags.clone();
            tags.sort();
            json!(tags.join(","))
        };
        match l {
            None => out.push(user_change(
                Action::Create,
                d,
                None,
                vec![
                    Attr {
                        name: "tags".into(),
                        before: None,
                        after: Some(tags(d)),
                        from: None,
                    },
                    password_attr(d, None),
                ],
            )),
            Some(lu) if tags(lu) != tags(d) => out.push(user_change(
                Action::Update,
                d,
                l,
                vec![Attr {
                    name: "tags".into(),
                    before: Some(tags(lu)),
                    after: Some(tags(d)),
                    from: None,
                }],
            )),
            Some(_) => {}
        }
        let perm_attrs = |p: &crate::topology::Permissions| -> Attrs {
            [
                ("configure", &p.configure),
                ("write", &p.write),
                ("read", &p.read),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect()
        };
        if let Some(dp) = &d.permissions {
            let before = l.and_then(|l| l.permissions.as_ref()).map(perm_attrs);
            out.grant(
                ObjectKind::Permissions,
                name.clone(),
                Key::Named(ObjectKind::Permissions, name.clone()),
                d,
                l,
                before.unwrap_or_default(),
                perm_attrs(dp),
            );
        }
        for tp in &d.topic_permissions {
            let attrs = topic_attrs;
            let before = l
                .and_then(|l| {
                    l.topic_permissions
                        .iter()
                        .find(|x| x.exchange == tp.exchange)
                })
                .map(|x| attrs(&x.write, &x.read));
            out.grant(
                ObjectKind::TopicPermissions,
                format!("{name} on {}", tp.exchange),
                Key::TopicPermission {
                    user: name.clone(),
                    exchange: tp.exchange.clone(),
                },
                d,
                l,
                before.unwrap_or_default(),
                attrs(&tp.write, &tp.read),
            );
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::spec::load_str;
    use crate::topology::compile::compile;

    /// `yaml`, a spec of one vhost, compiled.
    pub(in crate::plan) fn topology(yaml: &str) -> Topology {
        let loaded = load_str("t.yaml", yaml);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        compile(&loaded).0.remove(0)
    }

    const BASE: &str = "version: 1\nexchanges:\n  e: { type: topic }\nqueues:\n  q: { message_ttl: 5s, bindings: [{ exchange: e, key: a }] }\npolicies:\n  p: { pattern: '^q$', definition: { max-length: 10 } }\n";

    #[test]
    fn identical_topologies_have_no_changes() {
        let t = topology(BASE);
        assert!(
            diff(
                &t,
                &t,
                &Options {
                    prune: true,
                    ..Options::default()
                }
            )
            .is_empty()
        );
    }

    #[test]
    fn empty_live_creates_everything() {
        let plan = diff(&topology(BASE), &Topology::default(), &Options::default());
        let kinds: Vec<(Action, ObjectKind)> =
            plan.changes.iter().map(|c| (c.action, c.kind)).collect();
        assert_eq!(
            kinds,
            [
                (Action::Create, ObjectKind::Policy),
                (Action::Create, ObjectKind::Exchange),
                (Action::Create, ObjectKind::Queue),
                (Action::Create, ObjectKind::Binding)
            ]
        );
    }

    #[test]
    fn change_classes() {
        let live = topology(BASE);
        let desired = topology(
            &BASE
                .replace("message_ttl: 5s", "message_ttl: 6s")
                .replace("max-length: 10", "max-length: 20"),
        );
        let plan = diff(&desired, &live, &Options::default());
        let queue = plan
            .changes
            .iter()
            .find(|c| c.kind == ObjectKind::Queue)
            .unwrap();
        assert_eq!(queue.action, Action::Replace);
        assert_eq!(queue.attributes[0].name, "arguments.x-message-ttl");
        assert_eq!(queue.attributes[0].before, Some(json!(5000)));
        assert!(
            queue
                .reason
                .as_deref()
                .unwrap()
                .contains("arguments.x-message-ttl")
        );
        let policy = plan
            .changes
            .iter()
            .find(|c| c.kind == ObjectKind::Policy)
            .unwrap();
        assert_eq!(policy.action, Action::Update);
    }

    #[test]
    fn replacing_a_queue_or_an_exchange_binds_it_again() {
        let base = "version: 1\nexchanges:\n  e: { type: topic }\n  f: { type: fanout }\nqueues:\n  q: { message_ttl: 5s, bindings: [{ exchange: e, key: a }] }\n  r: { bindings: [{ exchange: f }] }\nbindings:\n  - { exchange: e, to_exchange: f, key: b }\n";
        let live = topology(base);
        let desired = topology(
            &base
                .replace("message_ttl: 5s", "message_ttl: 6s")
                .replace("f: { type: fanout }", "f: { type: fanout, internal: true }"),
        );
        let plan = diff(&desired, &live, &Options::default());
        let rebinds: Vec<(&str, &str)> = plan
            .changes
            .iter()
            .filter(|c| c.because.is_some())
            .map(|c| (c.name.as_str(), c.because.as_deref().unwrap()))
            .collect();
        assert_eq!(
            rebinds,
            [
                ("e -> q [a]", "queue \"q\" is replaced"),
                ("e => f [b]", "exchange \"f\" is replaced"),
                ("f -> r []", "exchange \"f\" is replaced"),
            ]
        );
        // Rebinding runs after the replaces.
        let last_replace = plan
            .changes
            .iter()
            .rposition(|c| c.action == Action::Replace)
            .unwrap();
        let first_rebind = plan
            .changes
            .iter()
            .position(|c| c.because.is_some())
            .unwrap();
        assert!(last_replace < first_rebind);
    }

    #[test]
    fn integral_floats_from_the_broker_equal_integers_in_the_spec() {
        let desired = topology(BASE);
        let mut doc = crate::definitions::to_definitions(&desired);
        doc["queues"][0]["arguments"]["x-message-ttl"] = json!(5000.0);
        let live = crate::definitions::from_definitions(&doc, "/")
            .unwrap()
            .topologies
            .remove(0);
        assert_eq!(live.queues["q"].arguments["x-message-ttl"], json!(5000));
        assert!(
            diff(
                &desired,
                &live,
                &Options {
                    prune: true,
                    ..Options::default()
                }
            )
            .is_empty()
        );
    }

    #[test]
    fn removals_need_prune() {
        let live = topology(BASE);
        let desired = topology("version: 1\n");
        let kept = diff(&desired, &live, &Options::default());
        assert!(kept.is_empty());
        assert_eq!(kept.unmanaged.len(), 4);
        let pruned = diff(
            &desired,
            &live,
            &Options {
                prune: true,
                ..Options::default()
            },
        );
        assert_eq!(pruned.summary().delete, 4);
    }

    #[test]
    fn ignored_names_are_never_deleted() {
        let live = topology(BASE);
        let desired = topology("version: 1\nignore: ['^[eqp]$']\n");
        let plan = diff(
            &desired,
            &live,
            &Options {
                prune: true,
                ..Options::default()
            },
        );
        assert!(plan.is_empty(), "{:?}", plan.changes);
        assert!(plan.unmanaged.is_empty());
    }
}

//! AMQP 0-9-1 routing as RabbitMQ implements it, without a broker.
//!
//! Given a [`Topology`], an exchange, a routing key and headers, [`Router`]
//! answers which queues a message reaches and by which path. The rules follow
//! RabbitMQ's `rabbit_exchange:route/2`: each exchange is visited at most
//! once; an exchange whose own bindings match nothing hands the message to
//! its alternate exchange; exchange-to-exchange bindings are followed;
//! the default exchange delivers to the queue named by the key.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use crate::topology::{Binding, DestinationType, Exchange, ExchangeType, Topology};

/// Message headers, typed as a publisher sends them.
pub type Headers = BTreeMap<String, Value>;

/// Where a message went.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Route {
    /// Every queue the message reaches, each once.
    pub queues: BTreeSet<String>,
    /// The edges followed, in the order the broker follows them.
    pub hops: Vec<Hop>,
    /// Plugin exchanges on the path, whose routing warren cannot predict.
    pub unknown: Vec<String>,
}

/// A route by reference into the topology ([`Router::reach`]).
#[derive(Debug, Default)]
pub struct Reached<'t> {
    /// Every queue the message reaches, each once.
    pub queues: BTreeSet<&'t str>,
    /// Plugin exchanges on the path.
    pub unknown: Vec<&'t str>,
    hops: Vec<HopRef<'t>>,
}

impl Reached<'_> {
    /// As [`Route::dropped`].
    pub fn dropped(&self) -> bool {
        self.queues.is_empty() && self.unknown.is_empty()
    }
}

#[derive(Clone, Copy, Debug)]
enum HopRef<'t> {
    Binding(&'t Binding),
    Alternate(&'t str, &'t str),
    Default(&'t str),
}

impl Route {
    /// True when the broker would drop the message (no queue, and no plugin
    /// exchange that might have routed it).
    pub fn dropped(&self) -> bool {
        self.queues.is_empty() && self.unknown.is_empty()
    }
}

/// One step of a message's path. Serialised in one shape for every kind
/// of hop (`via`, `source`, `destination`, `destination_type`,
/// `routing_key`), so a program reads every hop the same way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hop {
    /// A binding matched.
    Binding {
        /// The exchange the binding starts at.
        source: String,
        /// The queue or exchange it delivers to.
        destination: String,
        /// Whether `destination` is a queue or an exchange.
        destination_type: DestinationType,
        /// The binding's key (the pattern, on a topic exchange), not the
        /// message's.
        routing_key: String,
    },
    /// `from` matched nothing and passed the message to its alternate exchange.
    AlternateExchange {
        /// The exchange where no binding matched.
        from: String,
        /// Its alternate exchange.
        to: String,
    },
    /// The default exchange delivered to the queue named by the key.
    DefaultExchange {
        /// The queue, named by the routing key.
        queue: String,
    },
}

impl Serialize for Hop {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// `routing_key` is the key of the binding that matched: the queue's
        /// name for the default exchange, none for an alternate exchange.
        #[derive(Serialize)]
        struct Flat<'a> {
            via: &'static str,
            source: &'a str,
            destination: &'a str,
            destination_type: DestinationType,
            routing_key: Option<&'a str>,
        }
        let flat = match self {
            Hop::Binding {
                source,
                destination,
                destination_type,
                routing_key,
            } => Flat {
                via: "binding",
                source,
                destination,
                destination_type: *destination_type,
                routing_key: Some(routing_key),
            },
            Hop::AlternateExchange { from, to } => Flat {
                via: "alternate_exchange",
                source: from,
                destination: to,
                destination_type: DestinationType::Exchange,
                routing_key: None,
            },
            Hop::DefaultExchange { queue } => Flat {
                via: "default_exchange",
                source: "",
                destination: queue,
                destination_type: DestinationType::Queue,
                routing_key: Some(queue),
            },
        };
        flat.serialize(serializer)
    }
}

/// Why a message cannot be routed at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The exchange published to is not in the topology.
    #[error("exchange {0:?} does not exist")]
    UnknownExchange(String),
    /// The exchange published to is internal: only other exchanges can route to
    /// it.
    #[error("exchange {0:?} is internal: publishers cannot publish to it")]
    InternalExchange(String),
    /// The routing key is longer than AMQP allows; holds its length in bytes.
    #[error("a routing key is at most 255 bytes; this one is {0}")]
    KeyTooLong(usize),
}

/// Bindings indexed by source exchange, built once per topology: direct
/// bindings by key, topic bindings in a trie of words (as RabbitMQ keeps
/// them), so that routing one message costs the bindings it matches, not
/// every binding of the exchange. Checks route every emitted event; with
/// thousands of services a linear scan made validation quadratic.
pub struct Router<'t> {
    topology: &'t Topology,
    by_source: HashMap<&'t str, Index<'t>>,
}

/// One exchange's bindings, numbered in topology order so that a route
/// lists its hops in that order whatever the index. Bindings to queues and
/// to exchanges are looked up apart: the first end a route, the second
/// carry it on with the same key, and [`Router::reach_groups`] hands out
/// the first as whole groups without visiting each.
#[derive(Default)]
struct Index<'t> {
    all: Vec<&'t Binding>,
    to_queues: Lookup<'t>,
    to_exchanges: Lookup<'t>,
}

/// The bindings of one exchange to one kind of destination.
#[derive(Default)]
struct Lookup<'t> {
    /// Every one, in order: what fanout and headers exchanges go through.
    every: Vec<usize>,
    by_key: HashMap<&'t str, Vec<usize>>,
    trie: Trie<'t>,
    /// Topic bindings whose key is too long for the trie.
    long: Vec<usize>,
}

/// The longest routing or binding key AMQP 0-9-1 carries (a short string).
pub const MAX_KEY_BYTES: usize = 255;

/// Topic binding keys, word by word; `*` and `#` are children of their own.
#[derive(Default)]
struct Trie<'t> {
    words: HashMap<&'t str, Trie<'t>>,
    star: Option<Box<Trie<'t>>>,
    hash: Option<Box<Trie<'t>>>,
    /// Bindings whose key ends here.
    bindings: Vec<usize>,
}

impl<'t> Trie<'t> {
    fn insert(&mut self, pattern: &[&'t str], binding: usize) {
        match pattern.split_first() {
            None => self.bindings.push(binding),
            Some((&"*", rest)) => self.star.get_or_insert_default().insert(rest, binding),
            Some((&"#", rest)) => self.hash.get_or_insert_default().insert(rest, binding),
            Some((word, rest)) => self.words.entry(word).or_default().insert(rest, binding),
        }
    }

    /// Adds to `out` the bindings of every node whose pattern matches
    /// `key`, a node's bindings as one group. `visited` keeps `#` from
    /// trying the same (node, position) twice, which keeps the walk linear
    /// in the trie times the key.
    fn matches<'s>(
        &'s self,
        key: &[&str],
        at: usize,
        out: &mut Vec<&'s [usize]>,
        visited: &mut HashSet<(*const Trie<'t>, usize)>,
    ) {
        if !visited.insert((self as *const Trie<'t>, at)) {
            return;
        }
        if at == key.len() {
            if !self.bindings.is_empty() {
                out.push(&self.bindings);
            }
        } else {
            if let Some(next) = self.words.get(key[at]) {
                next.matches(key, at + 1, out, visited);
            }
            if let Some(star) = &self.star {
                star.matches(key, at + 1, out, visited);
            }
        }
        if let Some(hash) = &self.hash {
            // `#` takes zero or more words.
            for skip in at..=key.len() {
                hash.matches(key, skip, out, visited);
            }
        }
    }
}

impl<'t> Lookup<'t> {
    fn add(&mut self, kind: Option<&ExchangeType>, key: &'t str, i: usize) {
        self.every.push(i);
        match kind {
            Some(ExchangeType::Direct) => self.by_key.entry(key).or_default().push(i),
            // AMQP keys are at most 255 bytes, so the trie is at most 128
            // words deep; a longer key (refused by validate) is matched by
            // scanning, never by recursion.
            Some(ExchangeType::Topic) if key.len() <= MAX_KEY_BYTES => {
                self.trie.insert(&words(key), i)
            }
            Some(ExchangeType::Topic) => self.long.push(i),
            _ => {}
        }
    }

    /// The bindings that match, in groups that match together: a direct
    /// key's, a trie node's, a fanout's all, one binding otherwise. Each
    /// group is a slice that lives as long as the router, so its address
    /// names it.
    fn groups<'s>(
        &'s self,
        all: &[&'t Binding],
        kind: &ExchangeType,
        key: &str,
        headers: &Headers,
    ) -> Vec<&'s [usize]> {
        let one = |list: &'s [usize], j: usize| &list[j..=j];
        let mut out = Vec::new();
        match kind {
            ExchangeType::Direct => out.extend(self.by_key.get(key).map(Vec::as_slice)),
            ExchangeType::Topic => {
                for (j, &i) in self.long.iter().enumerate() {
                    if topic_matches(&all[i].routing_key, key) {
                        out.push(one(&self.long, j));
                    }
                }
                self.trie
                    .matches(&words(key), 0, &mut out, &mut HashSet::new());
            }
            ExchangeType::Fanout if !self.every.is_empty() => out.push(&self.every),
            ExchangeType::Headers => {
                for (j, &i) in self.every.iter().enumerate() {
                    if headers_match(&all[i].arguments, headers) {
                        out.push(one(&self.every, j));
                    }
                }
            }
            _ => {}
        }
        out
    }
}

impl<'t> Index<'t> {
    fn add(&mut self, kind: Option<&ExchangeType>, binding: &'t Binding) {
        let i = self.all.len();
        self.all.push(binding);
        let lookup = match binding.destination_type {
            DestinationType::Queue => &mut self.to_queues,
            DestinationType::Exchange => &mut self.to_exchanges,
        };
        lookup.add(kind, &binding.routing_key, i);
    }
}

/// Queues a message reaches together ([`Router::reach_groups`]): the
/// bindings of one exchange that match as one (a direct key's, a topic
/// pattern's, a fanout's), or the queue the default exchange delivers to.
#[derive(Clone, Copy, Debug)]
pub struct QueueGroup<'t> {
    members: &'t [usize],
    all: &'t [&'t Binding],
    default: Option<&'t str>,
}

impl<'t> QueueGroup<'t> {
    /// The same for every message that reaches this group through this
    /// router, and different for every other group.
    pub fn id(&self) -> (usize, usize) {
        match self.default {
            Some(queue) => (queue.as_ptr() as usize, usize::MAX),
            None => (self.members.as_ptr() as usize, self.members.len()),
        }
    }

    /// The queues the group's bindings name (some may be missing from the
    /// topology; the default exchange's queue is not).
    pub fn queues(&self) -> impl Iterator<Item = &'t str> + '_ {
        let bound = self
            .members
            .iter()
            .map(|&i| self.all[i].destination.as_str());
        self.default.into_iter().chain(bound)
    }
}

/// What routing found at one exchange, for [`Router::walk`]'s caller.
enum Step<'v, 's, 't> {
    /// The default exchange delivers to this queue.
    Default(&'t str),
    /// The bindings of an exchange that matched: to queues in their groups,
    /// to exchanges (already followed by the walk) one by one.
    Matched {
        all: &'s [&'t Binding],
        queues: &'v [&'s [usize]],
        exchanges: &'v [usize],
    },
    Alternate(&'t str, &'t str),
    Unknown(&'t str),
}

impl<'t> Router<'t> {
    /// Indexes the bindings of `topology`.
    pub fn new(topology: &'t Topology) -> Router<'t> {
        let mut by_source: HashMap<&str, Index> = HashMap::new();
        for binding in &topology.bindings {
            let kind = topology.exchange(&binding.source).map(|x| &x.kind);
            by_source
                .entry(binding.source.as_str())
                .or_default()
                .add(kind, binding);
        }
        Router {
            topology,
            by_source,
        }
    }

    /// Routes a message published to `exchange` ("" is the default exchange).
    ///
    /// # Errors
    /// The exchange does not exist or is internal (the broker refuses the
    /// publish in both cases).
    pub fn route(&self, exchange: &str, key: &str, headers: &Headers) -> Result<Route, RouteError> {
        let reached = self.reach(exchange, key, headers)?;
        Ok(Route {
            queues: reached.queues.iter().map(|q| q.to_string()).collect(),
            hops: reached
                .hops
                .iter()
                .map(|hop| match *hop {
                    HopRef::Binding(b) => Hop::Binding {
                        source: b.source.clone(),
                        destination: b.destination.clone(),
                        destination_type: b.destination_type,
                        routing_key: b.routing_key.clone(),
                    },
                    HopRef::Alternate(from, to) => Hop::AlternateExchange {
                        from: from.to_string(),
                        to: to.to_string(),
                    },
                    HopRef::Default(queue) => Hop::DefaultExchange {
                        queue: queue.to_string(),
                    },
                })
                .collect(),
            unknown: reached.unknown.iter().map(|x| x.to_string()).collect(),
        })
    }

    /// [`Router::route`] by reference into the topology, without copying a
    /// name: what checks ask for every emitted event.
    ///
    /// # Errors
    /// As [`Router::route`].
    pub fn reach(
        &self,
        exchange: &str,
        key: &str,
        headers: &Headers,
    ) -> Result<Reached<'t>, RouteError> {
        let mut route = Reached::default();
        self.walk(exchange, key, headers, |step| match step {
            Step::Default(queue) => {
                route.queues.insert(queue);
                route.hops.push(HopRef::Default(queue));
            }
            Step::Matched {
                all,
                queues,
                exchanges,
            } => {
                let mut matched: Vec<usize> = queues.iter().copied().flatten().copied().collect();
                matched.extend(exchanges);
                matched.sort_unstable();
                matched.dedup();
                for b in matched.into_iter().map(|i| all[i]) {
                    route.hops.push(HopRef::Binding(b));
                    if b.destination_type == DestinationType::Queue
                        && let Some((queue, _)) = self.topology.queues.get_key_value(&b.destination)
                    {
                        route.queues.insert(queue.as_str());
                    }
                }
            }
            Step::Alternate(from, to) => route.hops.push(HopRef::Alternate(from, to)),
            Step::Unknown(exchange) => route.unknown.push(exchange),
        })?;
        Ok(route)
    }

    /// The queues a message reaches, as the groups of bindings that
    /// matched together rather than queue by queue: with thousands of
    /// queues bound by one pattern (`#`), a check that asks for every
    /// emitted event costs the groups, not the queues. Plugin exchanges on
    /// the path route nothing here.
    ///
    /// # Errors
    /// As [`Router::route`].
    pub fn reach_groups<'s>(
        &'s self,
        exchange: &str,
        key: &str,
        headers: &Headers,
    ) -> Result<Vec<QueueGroup<'s>>, RouteError> {
        let mut groups = Vec::new();
        self.walk(exchange, key, headers, |step| match step {
            Step::Default(queue) => groups.push(QueueGroup {
                members: &[],
                all: &[],
                default: Some(queue),
            }),
            Step::Matched { all, queues, .. } => {
                groups.extend(queues.iter().map(|&members| QueueGroup {
                    members,
                    all,
                    default: None,
                }));
            }
            Step::Alternate(..) | Step::Unknown(_) => {}
        })?;
        Ok(groups)
    }

    /// Whether the broker would keep a message (the negation of
    /// [`Route::dropped`]), without listing where it goes: what the
    /// unroutable-emit check asks for every emitted event.
    ///
    /// # Errors
    /// As [`Router::route`].
    pub fn delivers(
        &self,
        exchange: &str,
        key: &str,
        headers: &Headers,
    ) -> Result<bool, RouteError> {
        let mut kept = false;
        self.walk(exchange, key, headers, |step| match step {
            Step::Default(_) | Step::Unknown(_) => kept = true,
            Step::Matched { all, queues, .. } => {
                kept = kept
                    || queues
                        .iter()
                        .flat_map(|g| g.iter())
                        .any(|&i| self.topology.queues.contains_key(&all[i].destination));
            }
            Step::Alternate(..) => {}
        })?;
        Ok(kept)
    }

    /// Routes as RabbitMQ's `rabbit_exchange:route/2` does, telling `visit`
    /// what matched at each exchange: each exchange visited once; one whose
    /// bindings match nothing hands the message to its alternate exchange;
    /// exchange-to-exchange bindings are followed with the same key.
    fn walk<'s>(
        &'s self,
        exchange: &str,
        key: &str,
        headers: &Headers,
        mut visit: impl FnMut(Step<'_, 's, 't>),
    ) -> Result<(), RouteError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(RouteError::KeyTooLong(key.len()));
        }
        if exchange.is_empty() {
            if let Some((queue, _)) = self.topology.queues.get_key_value(key) {
                visit(Step::Default(queue.as_str()));
            }
            return Ok(());
        }
        let start = self
            .topology
            .exchange(exchange)
            .ok_or_else(|| RouteError::UnknownExchange(exchange.to_string()))?;
        if start.internal {
            return Err(RouteError::InternalExchange(exchange.to_string()));
        }
        let mut seen: HashSet<&str> = HashSet::from([start.name.as_str()]);
        let mut work: Vec<&'t Exchange> = vec![start];
        while let Some(x) = work.pop() {
            if let ExchangeType::Plugin(_) = x.kind {
                visit(Step::Unknown(x.name.as_str()));
                continue;
            }
            let Some(index) = self.by_source.get(x.name.as_str()) else {
                self.alternate(x, &mut seen, &mut work, &mut visit);
                continue;
            };
            let queues = index.to_queues.groups(&index.all, &x.kind, key, headers);
            let exchanges: Vec<usize> = index
                .to_exchanges
                .groups(&index.all, &x.kind, key, headers)
                .into_iter()
                .flatten()
                .copied()
                .collect();
            if queues.is_empty() && exchanges.is_empty() {
                self.alternate(x, &mut seen, &mut work, &mut visit);
                continue;
            }
            visit(Step::Matched {
                all: &index.all,
                queues: &queues,
                exchanges: &exchanges,
            });
            let mut next: Vec<usize> = exchanges;
            next.sort_unstable();
            for b in next.into_iter().map(|i| index.all[i]) {
                if seen.insert(b.destination.as_str())
                    && let Some(next) = self.topology.exchange(&b.destination)
                {
                    work.push(next);
                }
            }
        }
        Ok(())
    }

    /// `x` matched nothing: on to its alternate exchange, if it has one.
    fn alternate<'s>(
        &'s self,
        x: &'t Exchange,
        seen: &mut HashSet<&'t str>,
        work: &mut Vec<&'t Exchange>,
        visit: &mut impl FnMut(Step<'_, 's, 't>),
    ) {
        if let Some(ae) = &x.alternate_exchange {
            visit(Step::Alternate(x.name.as_str(), ae.as_str()));
            // An exchange missing from the topology routes nothing.
            if seen.insert(ae.as_str())
                && let Some(next) = self.topology.exchange(ae)
            {
                work.push(next);
            }
        }
    }
}

/// Topic matching: keys and patterns are dot-separated words (the empty
/// string is zero words); `*` matches exactly one word, `#` zero or more.
/// `*` or `#` inside a longer word is an ordinary character.
pub fn topic_matches(pattern: &str, key: &str) -> bool {
    let pattern = words(pattern);
    let key = words(key);
    // can[j] = pattern[i..] matches key[j..], computed from the back.
    let mut next = vec![false; key.len() + 1];
    next[key.len()] = true;
    for p in pattern.iter().rev() {
        let mut can = vec![false; key.len() + 1];
        for j in (0..=key.len()).rev() {
            can[j] = match *p {
                "#" => next[j] || (j < key.len() && can[j + 1]),
                "*" => j < key.len() && next[j + 1],
                word => j < key.len() && key[j] == word && next[j + 1],
            };
        }
        next = can;
    }
    next[0]
}

fn words(text: &str) -> Vec<&str> {
    if text.is_empty() {
        Vec::new()
    } else {
        text.split('.').collect()
    }
}

/// Headers matching as RabbitMQ's headers exchange does it: `x-match` picks
/// all or any; the `-with-x` modes also compare `x-` arguments; values must
/// agree in type and value.
pub fn headers_match(arguments: &BTreeMap<String, Value>, headers: &Headers) -> bool {
    let mode = arguments
        .get("x-match")
        .and_then(Value::as_str)
        .unwrap_or("all");
    let (all, with_x) = match mode {
        "any" => (false, false),
        "all-with-x" => (true, true),
        "any-with-x" => (false, true),
        _ => (true, false),
    };
    let mut wanted = arguments
        .iter()
        .filter(|(k, _)| k.as_str() != "x-match" && (with_x || !k.starts_with("x-")));
    let matches =
        |(k, v): (&String, &Value)| headers.get(k).is_some_and(|h| same_typed_value(v, h));
    if all {
        wanted.all(matches)
    } else {
        wanted.any(matches)
    }
}

/// Integers match integers and floats floats, as in RabbitMQ's type classes.
fn same_typed_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            (x.is_f64() == y.is_f64())
                && (x.as_i64() == y.as_i64()
                    && x.as_u64() == y.as_u64()
                    && x.as_f64() == y.as_f64())
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests;

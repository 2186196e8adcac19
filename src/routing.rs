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
        source: String,
        destination: String,
        destination_type: DestinationType,
        routing_key: String,
    },
    /// `from` matched nothing and passed the message to its alternate exchange.
    AlternateExchange { from: String, to: String },
    /// The default exchange delivered to the queue named by the key.
    DefaultExchange { queue: String },
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

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("exchange {0:?} does not exist")]
    UnknownExchange(String),
    #[error("exchange {0:?} is internal: publishers cannot publish to it")]
    InternalExchange(String),
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
/// lists its hops in that order whatever the index.
#[derive(Default)]
struct Index<'t> {
    all: Vec<&'t Binding>,
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

    /// Adds to `out` every binding whose pattern matches `key`.
    /// `visited` keeps `#` from trying the same (node, position) twice,
    /// which keeps the walk linear in the trie times the key.
    fn matches(
        &self,
        key: &[&str],
        at: usize,
        out: &mut Vec<usize>,
        visited: &mut HashSet<(*const Trie<'t>, usize)>,
    ) {
        if !visited.insert((self as *const Trie<'t>, at)) {
            return;
        }
        if at == key.len() {
            out.extend(&self.bindings);
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

impl<'t> Index<'t> {
    fn add(&mut self, kind: Option<&ExchangeType>, binding: &'t Binding) {
        let i = self.all.len();
        self.all.push(binding);
        match kind {
            Some(ExchangeType::Direct) => self
                .by_key
                .entry(binding.routing_key.as_str())
                .or_default()
                .push(i),
            // AMQP keys are at most 255 bytes, so the trie is at most 128
            // words deep; a longer key (refused by validate) is matched by
            // scanning, never by recursion.
            Some(ExchangeType::Topic) if binding.routing_key.len() <= MAX_KEY_BYTES => {
                self.trie.insert(&words(&binding.routing_key), i)
            }
            Some(ExchangeType::Topic) => self.long.push(i),
            _ => {}
        }
    }

    /// The bindings that match, in topology order.
    fn matching(&self, kind: &ExchangeType, key: &str, headers: &Headers) -> Vec<&'t Binding> {
        let mut found = match kind {
            ExchangeType::Direct => self.by_key.get(key).cloned().unwrap_or_default(),
            ExchangeType::Topic => {
                let mut found: Vec<usize> = self
                    .long
                    .iter()
                    .copied()
                    .filter(|&i| topic_matches(&self.all[i].routing_key, key))
                    .collect();
                self.trie
                    .matches(&words(key), 0, &mut found, &mut HashSet::new());
                found
            }
            _ => (0..self.all.len())
                .filter(|&i| binding_matches(kind, self.all[i], key, headers))
                .collect(),
        };
        found.sort_unstable();
        found.dedup();
        found.into_iter().map(|i| self.all[i]).collect()
    }
}

impl<'t> Router<'t> {
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
    /// name: what checks ask for every emitted event (thousands of
    /// services, each reaching thousands of queues).
    ///
    /// # Errors
    /// As [`Router::route`].
    pub fn reach(
        &self,
        exchange: &str,
        key: &str,
        headers: &Headers,
    ) -> Result<Reached<'t>, RouteError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(RouteError::KeyTooLong(key.len()));
        }
        let mut route = Reached::default();
        if exchange.is_empty() {
            if let Some((queue, _)) = self.topology.queues.get_key_value(key) {
                route.queues.insert(queue.as_str());
                route.hops.push(HopRef::Default(queue.as_str()));
            }
            return Ok(route);
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
                route.unknown.push(x.name.as_str());
                continue;
            }
            let matched = self
                .by_source
                .get(x.name.as_str())
                .map(|index| index.matching(&x.kind, key, headers))
                .unwrap_or_default();
            if matched.is_empty() {
                if let Some(ae) = &x.alternate_exchange {
                    route
                        .hops
                        .push(HopRef::Alternate(x.name.as_str(), ae.as_str()));
                    // An exchange missing from the topology routes nothing.
                    if seen.insert(ae.as_str())
                        && let Some(next) = self.topology.exchange(ae)
                    {
                        work.push(next);
                    }
                }
                continue;
            }
            for b in matched {
                route.hops.push(HopRef::Binding(b));
                match b.destination_type {
                    DestinationType::Queue => {
                        if let Some((queue, _)) = self.topology.queues.get_key_value(&b.destination)
                        {
                            route.queues.insert(queue.as_str());
                        }
                    }
                    DestinationType::Exchange => {
                        if seen.insert(b.destination.as_str())
                            && let Some(next) = self.topology.exchange(&b.destination)
                        {
                            work.push(next);
                        }
                    }
                }
            }
        }
        Ok(route)
    }
}

fn binding_matches(kind: &ExchangeType, binding: &Binding, key: &str, headers: &Headers) -> bool {
    match kind {
        ExchangeType::Direct => binding.routing_key == key,
        ExchangeType::Fanout => true,
        ExchangeType::Topic => topic_matches(&binding.routing_key, key),
        ExchangeType::Headers => headers_match(&binding.arguments, headers),
        ExchangeType::Plugin(_) => false,
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

//! The effective-policy decision against RabbitMQ itself: random queues
//! (of every type, with non-ASCII names) and random policies and operator
//! policies (PCRE patterns, keys some queue types do not support, equal
//! priorities) are loaded into a fresh vhost, and the `policy` and
//! `operator_policy` the management API shows for each queue must be what
//! `plan::effective_policies` says.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use warren::definitions::to_definitions;
use warren::plan::effective_policies;
use warren::topology::{ApplyTo, Origin, Policy, Queue, QueueType, Topology};

use crate::support::broker::TestVhost;
use crate::support::rng::Rng;

const CASES: u64 = 8;
const FIRST_SEED: u64 = 0x9011_c1e5;

const NAMES: &[&str] = &[
    "c1",
    "orders",
    "orders.eu",
    "Orders",
    "ünï.q3",
    "q3",
    "aa",
    "amqp-like",
    "events.dlq",
];
const PATTERNS: &[&str] = &[
    "^c",
    ".*",
    "^o",
    "(?i)^orders",
    "\\w+\\.q\\d",
    "^..n",
    "^(?!orders)",
    "^(a)\\1$",
    "^ü",
    "q3$",
    "\\.",
    "^[a-z]+$",
];

fn definition(rng: &mut Rng) -> BTreeMap<String, Value> {
    let keys: &[(&str, Value)] = &[
        ("max-length", json!(10)),
        ("message-ttl", json!(60_000)),
        ("expires", json!(3_600_000)),
        ("delivery-limit", json!(5)),
        ("max-age", json!("1D")),
        ("max-length-bytes", json!(1_000_000)),
        ("overflow", json!("reject-publish")),
    ];
    let mut d = BTreeMap::new();
    for _ in 0..=rng.below(2) {
        let (k, v) = rng.pick(keys);
        d.insert(k.to_string(), v.clone());
    }
    d
}

fn policy(rng: &mut Rng, name: String, operator: bool) -> Policy {
    let mut definition = definition(rng);
    if operator {
        // Operator policies accept a few keys only.
        definition.retain(|k, _| {
            ["max-length", "message-ttl", "expires", "max-length-bytes"].contains(&k.as_str())
        });
        if definition.is_empty() {
            definition.insert("max-length".into(), json!(100));
        }
    }
    Policy {
        name,
        pattern: rng.pick(PATTERNS).to_string(),
        apply_to: if rng.chance(50) {
            ApplyTo::Queues
        } else {
            ApplyTo::All
        },
        priority: rng.below(3) as i64,
        definition,
        origin: Origin::default(),
    }
}

fn case(seed: u64, vhost: &str) -> (Topology, Vec<Policy>) {
    let mut rng = Rng(seed);
    let mut t = Topology {
        vhost: vhost.to_string(),
        ..Topology::default()
    };
    for name in NAMES {
        if rng.chance(70) {
            let kind = *rng.pick(&[QueueType::Classic, QueueType::Quorum, QueueType::Stream]);
            t.queues
                .insert(name.to_string(), Queue::new(*name, kind, Origin::default()));
        }
    }
    for i in 0..1 + rng.below(4) {
        let p = policy(&mut rng, format!("p{i}"), false);
        t.policies.insert(p.name.clone(), p);
    }
    let operators = (0..rng.below(3))
        .map(|i| policy(&mut rng, format!("op{i}"), true))
        .collect();
    (t, operators)
}

/// What warren predicts for one queue.
#[derive(Debug)]
struct Want {
    policy: Option<String>,
    operator: Option<String>,
    /// Policies of the winner's priority: the broker may pick any.
    tied: Vec<String>,
}

/// Each queue's (policy, operator policy) as the broker shows them.
async fn broker_view(vhost: &TestVhost) -> BTreeMap<String, (Option<String>, Option<String>)> {
    let queues: Vec<Value> = vhost
        .http
        .get_json(
            &format!(
                "queues/{}?columns=name,policy,operator_policy",
                warren::broker::segment(&vhost.name)
            ),
            "list queues",
        )
        .await
        .expect("queues");
    let text = |q: &Value, k: &str| q[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    queues
        .iter()
        .map(|q| {
            (
                q["name"].as_str().unwrap_or_default().to_string(),
                (text(q, "policy"), text(q, "operator_policy")),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn effective_policies_match_the_broker() {
    needs_broker!();
    for n in 0..CASES {
        let seed = FIRST_SEED + n;
        let vhost = TestVhost::new("policies").await;
        let (t, operators) = case(seed, &vhost.name);
        vhost.import(to_definitions(&t)).await;
        for op in &operators {
            use rabbitmq_http_client::commons::PolicyTarget;
            let params = rabbitmq_http_client::requests::PolicyParams {
                vhost: &vhost.name,
                name: &op.name,
                pattern: &op.pattern,
                apply_to: match op.apply_to {
                    ApplyTo::Queues => PolicyTarget::Queues,
                    _ => PolicyTarget::All,
                },
                priority: op.priority as i32,
                definition: op.definition.clone().into_iter().collect(),
            };
            vhost
                .http
                .api()
                .declare_operator_policy(&params)
                .await
                .unwrap_or_else(|e| panic!("seed {seed:#x}: operator policy {}: {e}", op.name));
        }
        let predicted = effective_policies(&t, &[], &operators);
        let expected: BTreeMap<String, Want> = t
            .queues
            .keys()
            .map(|q| {
                let e = predicted.iter().find(|e| &e.queue == q);
                (
                    q.clone(),
                    Want {
                        policy: e.and_then(|e| e.policy.clone()),
                        operator: e.and_then(|e| e.operator_policy.clone()),
                        tied: e.map(|e| e.tied_with.clone()).unwrap_or_default(),
                    },
                )
            })
            .collect();
        // Policies reach queues a moment after they are declared.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let seen = broker_view(&vhost).await;
            let agrees = expected.iter().all(
                |(
                    q,
                    Want {
                        policy,
                        operator,
                        tied,
                    },
                )| {
                    let Some((p, o)) = seen.get(q) else {
                        return false;
                    };
                    // A tie is the broker's choice: any of the tied policies.
                    let policy_ok = p == policy || p.as_ref().is_some_and(|p| tied.contains(p));
                    policy_ok && o == operator
                },
            );
            if agrees {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "seed {seed:#x}: the broker applies {seen:#?}\nwarren says {expected:#?}\npolicies {:#?}\noperator policies {operators:#?}",
                t.policies
            );
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    }
}

//! What an order is, and the bodies of the events about it.

use serde::{Deserialize, Serialize};

/// The most items and the largest quantity one order may carry.
const MAX_ITEMS: usize = 50;
const MAX_QUANTITY: i32 = 100;

/// Test cards, as card providers publish them: one is always declined,
/// one times out on the first try.
pub const CARD_OK: &str = "4242-4242-4242-4242";
pub const CARD_DECLINED: &str = "4000-0000-0000-0002";
pub const CARD_FLAKY: &str = "4000-0000-0000-0119";

/// Where the shop ships. Each country and category is a word of the
/// regional routing key `order.<country>.<category>`, which the spec lists
/// for the order API, so the list lives here and there.
pub const COUNTRIES: [&str; 3] = ["india", "germany", "brazil"];

/// The catalogue's category of a SKU: `sku-1` to `sku-7` are electronics,
/// `sku-8` to `sku-14` books, the rest apparel.
pub fn category(sku: &str) -> &'static str {
    match sku.strip_prefix("sku-").and_then(|n| n.parse::<u32>().ok()) {
        Some(1..=7) => "electronics",
        Some(8..=14) => "books",
        _ => "apparel",
    }
}

/// How the customer pays: by card now, or cash on delivery. The order
/// API's key on the `payments` direct exchange.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Payment {
    #[default]
    Prepaid,
    Cod,
}

impl Payment {
    pub fn as_str(self) -> &'static str {
        match self {
            Payment::Prepaid => "prepaid",
            Payment::Cod => "cod",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub sku: String,
    pub quantity: i32,
    pub price_cents: i64,
}

/// What `POST /orders` takes. `id` is the client's key for the order: a
/// POST repeated after a timeout creates nothing new.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    pub id: String,
    pub customer: String,
    pub items: Vec<Item>,
    /// Needed for prepaid orders; a cash-on-delivery order may leave it out.
    #[serde(default)]
    pub card: String,
    /// One of [`COUNTRIES`].
    pub country: String,
    #[serde(default)]
    pub payment: Payment,
}

impl NewOrder {
    /// # Errors
    /// What is wrong with the order, in words for the client.
    pub fn validate(&self) -> Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok {
            return Err("id: 1 to 64 letters, digits, '-' or '_'".into());
        }
        if self.customer.trim().is_empty() || self.customer.len() > 200 {
            return Err("customer: 1 to 200 characters".into());
        }
        if self.items.is_empty() || self.items.len() > MAX_ITEMS {
            return Err(format!("items: 1 to {MAX_ITEMS}"));
        }
        for item in &self.items {
            if !(1..=MAX_QUANTITY).contains(&item.quantity) {
                return Err(format!("{}: quantity 1 to {MAX_QUANTITY}", item.sku));
            }
            if !(1..=10_000_000).contains(&item.price_cents) {
                return Err(format!("{}: price_cents 1 to 10000000", item.sku));
            }
        }
        if self.payment == Payment::Prepaid && self.card.len() != 19 {
            return Err(
                "card: 16 digits in groups of four, as 4242-4242-4242-4242 (or payment: cod)"
                    .into(),
            );
        }
        if !COUNTRIES.contains(&self.country.as_str()) {
            return Err(format!("country: one of {}", COUNTRIES.join(", ")));
        }
        Ok(())
    }

    /// The order's key on the regional topic routing: its country and the
    /// category of its first item.
    pub fn regional_key(&self) -> String {
        let category = self.items.first().map_or("apparel", |i| category(&i.sku));
        format!("order.{}.{category}", self.country)
    }

    pub fn amount_cents(&self) -> i64 {
        self.items
            .iter()
            .map(|i| i64::from(i.quantity) * i.price_cents)
            .sum()
    }

    /// The body of `order.created`.
    pub fn created(&self) -> OrderEvent {
        OrderEvent {
            order_id: self.id.clone(),
            customer: Some(self.customer.clone()),
            items: self.items.clone(),
            amount_cents: Some(self.amount_cents()),
            card: Some(self.card.clone()).filter(|c| !c.is_empty()),
            country: Some(self.country.clone()),
            payment: Some(self.payment),
            ..OrderEvent::default()
        }
    }
}

/// The body of every `order.*` event. Each service passes on what the
/// next one needs; `order_id` is always there.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct OrderEvent {
    pub order_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_cents: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
}

/// Where an order stands (the `state` column). Events from different
/// queues arrive in any order, so a state only ever moves forward, and
/// `shipped` and `failed` are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderState {
    Created,
    Reserved,
    Paid,
    Shipped,
    Failed,
}

impl OrderState {
    pub const ALL: [OrderState; 5] = [
        OrderState::Created,
        OrderState::Reserved,
        OrderState::Paid,
        OrderState::Shipped,
        OrderState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Created => "created",
            OrderState::Reserved => "reserved",
            OrderState::Paid => "paid",
            OrderState::Shipped => "shipped",
            OrderState::Failed => "failed",
        }
    }

    /// The state the event `routing_key` moves an order to.
    pub fn after(routing_key: &str) -> Option<OrderState> {
        Some(match routing_key {
            "order.inventory_checked" => OrderState::Reserved,
            "order.payment_success" => OrderState::Paid,
            "order.shipped" => OrderState::Shipped,
            "order.failed" => OrderState::Failed,
            _ => return None,
        })
    }

    /// How far along the flow the state is; the two final states are
    /// equally far.
    fn step(self) -> u8 {
        match self {
            OrderState::Created => 0,
            OrderState::Reserved => 1,
            OrderState::Paid => 2,
            OrderState::Shipped | OrderState::Failed => 3,
        }
    }

    /// Whether an order in this state may move to `next`: forward only, so
    /// a late `reserved` never overwrites `shipped`.
    pub fn may_become(self, next: OrderState) -> bool {
        self.step() < next.step()
    }
}

impl OrderEvent {
    /// Reads an event body; one that is not an order event can never be
    /// handled, so the error is meant as a permanent failure.
    ///
    /// # Errors
    /// The body is not an order event, or has no order id.
    pub fn read(body: &serde_json::Value) -> Result<OrderEvent, String> {
        let event: OrderEvent = serde_json::from_value(body.clone())
            .map_err(|e| format!("the body is not an order event: {e}"))?;
        if event.order_id.is_empty() {
            return Err("the order event has an empty order_id".into());
        }
        Ok(event)
    }

    /// This event under `key`: what a handler answers when it emits it.
    pub fn emitted(self, key: &str) -> warren::worker::Outcome {
        let body = serde_json::to_value(self).unwrap_or_default();
        Ok(vec![warren::worker::Event::new(key, body)])
    }
}

/// A number in [0, 1) fixed by `text`: the same order always draws the
/// same fault.
pub fn draw(text: &str) -> f64 {
    // FNV-1a, stable across runs and builds unlike std's hasher, then
    // murmur3's finaliser: FNV alone leaves ids that differ in their last
    // digits close together in the high bits.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// A rate from the environment (0 when unset), for fault injection.
pub fn rate(var: &str) -> f64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|r| (0.0..=1.0).contains(r))
        .unwrap_or(0.0)
}

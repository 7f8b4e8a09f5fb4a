//! The order model and a seeded generator of realistic order activity (pure, no AWS): new
//! orders, status moves and deletes, planned so the CDC stream carries INSERT, MODIFY, REMOVE.

use chrono::{DateTime, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

/// Which attributes a written item carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// The full order: ids, product, category, quantity, price, total, currency, region,
    /// status and timestamps.
    Orders,
    /// Exactly the four attributes of the widely copied tutorial table: orderid,
    /// product_name, quantity, price.
    Tutorial,
}

impl Schema {
    /// The partition key attribute this schema writes.
    pub fn key_attribute(self) -> &'static str {
        match self {
            Schema::Orders => "order_id",
            Schema::Tutorial => "orderid",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Pending,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Paid => "PAID",
            OrderStatus::Shipped => "SHIPPED",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }

    /// Delivered and cancelled orders do not move any more.
    pub fn is_final(self) -> bool {
        matches!(self, OrderStatus::Delivered | OrderStatus::Cancelled)
    }
}

/// A DynamoDB attribute value as the generator writes it: strings and exact numbers only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    S(String),
    /// Decimal text, exactly as DynamoDB's `N` takes it.
    N(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub order_id: String,
    pub customer_id: String,
    pub product_name: &'static str,
    pub category: &'static str,
    pub quantity: u32,
    pub price: Decimal,
    pub total: Decimal,
    pub currency: &'static str,
    pub region: &'static str,
    pub status: OrderStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Order {
    /// The item's attributes for `schema`, in a stable order.
    pub fn attributes(&self, schema: Schema) -> Vec<(&'static str, AttrValue)> {
        match schema {
            Schema::Tutorial => vec![
                ("orderid", AttrValue::S(self.order_id.clone())),
                ("product_name", AttrValue::S(self.product_name.to_string())),
                ("quantity", AttrValue::N(self.quantity.to_string())),
                ("price", AttrValue::N(self.price.to_string())),
            ],
            Schema::Orders => vec![
                ("order_id", AttrValue::S(self.order_id.clone())),
                ("customer_id", AttrValue::S(self.customer_id.clone())),
                ("product_name", AttrValue::S(self.product_name.to_string())),
                ("category", AttrValue::S(self.category.to_string())),
                ("quantity", AttrValue::N(self.quantity.to_string())),
                ("price", AttrValue::N(self.price.to_string())),
                ("total", AttrValue::N(self.total.to_string())),
                ("currency", AttrValue::S(self.currency.to_string())),
                ("region", AttrValue::S(self.region.to_string())),
                ("status", AttrValue::S(self.status.as_str().to_string())),
                ("created_at", AttrValue::S(iso_millis(self.created_at))),
                ("updated_at", AttrValue::S(iso_millis(self.updated_at))),
            ],
        }
    }

    /// The order as one JSON object (what `generate --output json` prints).
    pub fn to_json(&self, schema: Schema) -> String {
        let mut out = String::from("{");
        for (i, (name, value)) in self.attributes(schema).into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(name).unwrap_or_default());
            out.push(':');
            match value {
                AttrValue::S(s) => out.push_str(&serde_json::to_string(&s).unwrap_or_default()),
                AttrValue::N(n) => out.push_str(&n),
            }
        }
        out.push('}');
        out
    }
}

/// UTC ISO-8601 with milliseconds, e.g. `2026-11-20T08:15:02.114Z`.
pub fn iso_millis(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What a planned operation does to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    Insert,
    Update,
    Delete,
}

/// One write the generator wants made. For a delete, `order` is the order being removed.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedOp {
    pub kind: OpKind,
    pub order: Order,
}

/// Shares of operations and the seed.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    pub seed: Option<u64>,
    pub update_ratio: f64,
    pub delete_ratio: f64,
    /// Makes order ids unique across runs, so a re-run never overwrites earlier orders
    /// (which would turn its INSERTs into MODIFYs).
    pub run_tag: String,
}

struct Product {
    name: &'static str,
    category: &'static str,
    /// Price band in cents.
    min_cents: i64,
    max_cents: i64,
}

const CATALOGUE: &[Product] = &[
    Product {
        name: "Laptop",
        category: "computers",
        min_cents: 79_900,
        max_cents: 249_900,
    },
    Product {
        name: "Monitor",
        category: "computers",
        min_cents: 14_900,
        max_cents: 89_900,
    },
    Product {
        name: "Keyboard",
        category: "accessories",
        min_cents: 1_999,
        max_cents: 17_900,
    },
    Product {
        name: "Mouse",
        category: "accessories",
        min_cents: 999,
        max_cents: 9_900,
    },
    Product {
        name: "Headphones",
        category: "audio",
        min_cents: 2_999,
        max_cents: 39_900,
    },
    Product {
        name: "Speaker",
        category: "audio",
        min_cents: 3_999,
        max_cents: 29_900,
    },
    Product {
        name: "Smartphone",
        category: "phones",
        min_cents: 19_900,
        max_cents: 139_900,
    },
    Product {
        name: "Phone Case",
        category: "phones",
        min_cents: 999,
        max_cents: 4_999,
    },
    Product {
        name: "Tablet",
        category: "computers",
        min_cents: 24_900,
        max_cents: 119_900,
    },
    Product {
        name: "Smartwatch",
        category: "wearables",
        min_cents: 12_900,
        max_cents: 79_900,
    },
    Product {
        name: "USB-C Cable",
        category: "accessories",
        min_cents: 599,
        max_cents: 2_999,
    },
    Product {
        name: "Webcam",
        category: "accessories",
        min_cents: 3_999,
        max_cents: 19_900,
    },
];

/// Region and its currency; weights favour the larger markets.
const REGIONS: &[(&str, &str, u32)] = &[
    ("us-east", "USD", 30),
    ("us-west", "USD", 20),
    ("eu-west", "EUR", 20),
    ("eu-central", "EUR", 12),
    ("uk", "GBP", 8),
    ("ap-southeast", "SGD", 6),
    ("sa-east", "BRL", 4),
];

/// Most orders are for one item; a few are bulk.
const QUANTITY_WEIGHTS: &[(u32, u32)] = &[
    (1, 55),
    (2, 22),
    (3, 10),
    (4, 5),
    (5, 3),
    (6, 2),
    (8, 1),
    (10, 1),
    (12, 1),
];

/// Live orders beyond this are forgotten (left in the table untouched) to bound memory.
const MAX_TRACKED: usize = 100_000;

/// Plans operations. Orders only become eligible for an update or delete once their
/// previous write was acknowledged, so no two writes of one order are ever in flight at once
/// and the stream sees every order's changes in order.
pub struct OrderGenerator {
    rng: StdRng,
    config: GeneratorConfig,
    next_seq: u64,
    /// Acknowledged orders that can still move along.
    open: Vec<Order>,
    /// Acknowledged delivered/cancelled orders: deletable only.
    closed: Vec<Order>,
    /// Updates also change the quantity (see [`OrderGenerator::for_schema`]).
    quantity_updates: bool,
}

impl OrderGenerator {
    /// Fits the updates to the item layout: the tutorial's items carry no status, so an
    /// update that only moves the status would rewrite an identical item, which DynamoDB
    /// Streams does not record ("If you perform a PutItem or UpdateItem operation that does
    /// not change any data in an item, DynamoDB Streams does not write a stream record"):
    /// there an update changes the quantity (and the total with it).
    pub fn for_schema(mut self, schema: Schema) -> OrderGenerator {
        self.quantity_updates = schema == Schema::Tutorial;
        self
    }

    pub fn new(config: GeneratorConfig) -> OrderGenerator {
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        OrderGenerator {
            rng,
            config,
            next_seq: 0,
            open: Vec::new(),
            closed: Vec::new(),
            quantity_updates: false,
        }
    }

    /// Orders acknowledged and not deleted that the generator still tracks.
    pub fn tracked(&self) -> usize {
        self.open.len() + self.closed.len()
    }

    /// The operations for one new order: zero or more updates/deletes of earlier orders,
    /// drawn with the configured shares, then the insert.
    pub fn plan_new_order(&mut self, now: DateTime<Utc>) -> Vec<PlannedOp> {
        let mut ops = Vec::new();
        loop {
            let roll: f64 = self.rng.random();
            // A delete or update with no eligible order falls through to the insert.
            let extra = if roll < self.config.delete_ratio {
                self.plan_delete()
            } else if roll < self.config.delete_ratio + self.config.update_ratio {
                self.plan_update(now)
            } else {
                None
            };
            if let Some(op) = extra {
                ops.push(op);
                continue;
            }
            ops.push(self.plan_insert(now));
            return ops;
        }
    }

    /// Records that `op` is durably written: its order becomes eligible again.
    pub fn acknowledge(&mut self, op: PlannedOp) {
        if op.kind == OpKind::Delete {
            return;
        }
        if self.tracked() >= MAX_TRACKED {
            // Forget the oldest-looking entry rather than grow without bound.
            let pool = if self.closed.is_empty() {
                &mut self.open
            } else {
                &mut self.closed
            };
            if !pool.is_empty() {
                pool.swap_remove(0);
            }
        }
        if op.order.status.is_final() {
            self.closed.push(op.order);
        } else {
            self.open.push(op.order);
        }
    }

    /// Records that `op` failed for good: the order is no longer touched, so a failed
    /// insert can never be "updated" into existence later.
    pub fn forget(&mut self, _op: PlannedOp) {}

    fn plan_insert(&mut self, now: DateTime<Utc>) -> PlannedOp {
        self.next_seq += 1;
        let product = &CATALOGUE[pick_by_popularity(&mut self.rng, CATALOGUE.len())];
        let (region, currency) = pick_weighted(&mut self.rng, REGIONS);
        let quantity = pick_weighted_value(&mut self.rng, QUANTITY_WEIGHTS);
        let cents = self.rng.random_range(product.min_cents..=product.max_cents);
        // Shelf prices end in .99 or .49 or .00 more often than not.
        let cents = match self.rng.random_range(0..10) {
            0..=4 => cents / 100 * 100 + 99,
            5..=6 => cents / 100 * 100 + 49,
            7 => cents / 100 * 100,
            _ => cents,
        };
        let price = Decimal::new(cents, 2);
        let total = price * Decimal::from(quantity);
        let order = Order {
            order_id: format!("o-{}-{:08}", self.config.run_tag, self.next_seq),
            customer_id: format!("C-{:05}", self.rng.random_range(1..=20_000)),
            product_name: product.name,
            category: product.category,
            quantity,
            price,
            total,
            currency,
            region,
            status: OrderStatus::Pending,
            created_at: now,
            updated_at: now,
        };
        PlannedOp {
            kind: OpKind::Insert,
            order,
        }
    }

    fn plan_update(&mut self, now: DateTime<Utc>) -> Option<PlannedOp> {
        if self.open.is_empty() {
            return None;
        }
        let index = self.rng.random_range(0..self.open.len());
        let mut order = self.open.swap_remove(index);
        let roll = self.rng.random_range(0..100);
        order.status = match order.status {
            OrderStatus::Pending if roll < 85 => OrderStatus::Paid,
            OrderStatus::Pending => OrderStatus::Cancelled,
            OrderStatus::Paid if roll < 95 => OrderStatus::Shipped,
            OrderStatus::Paid => OrderStatus::Cancelled,
            OrderStatus::Shipped => OrderStatus::Delivered,
            done => done,
        };
        order.updated_at = now.max(order.updated_at);
        if self.quantity_updates {
            order.quantity = order.quantity % 9 + 1;
            order.total = order.price * Decimal::from(order.quantity);
        }
        Some(PlannedOp {
            kind: OpKind::Update,
            order,
        })
    }

    fn plan_delete(&mut self) -> Option<PlannedOp> {
        let total = self.tracked();
        if total == 0 {
            return None;
        }
        let index = self.rng.random_range(0..total);
        let order = if index < self.open.len() {
            self.open.swap_remove(index)
        } else {
            self.closed.swap_remove(index - self.open.len())
        };
        Some(PlannedOp {
            kind: OpKind::Delete,
            order,
        })
    }
}

/// Product popularity rank of a catalogue as real shops see it: a few best sellers and a long
/// tail (Zipf's law, weight 1/rank^1.2 by `POPULARITY` order), not every product alike.
fn pick_by_popularity(rng: &mut StdRng, products: usize) -> usize {
    let weight = |rank: usize| 1.0 / ((rank + 1) as f64).powf(1.2);
    let total: f64 = (0..products).map(weight).sum();
    let mut roll = rng.random_range(0.0..total);
    for (rank, &index) in POPULARITY.iter().take(products).enumerate() {
        if roll < weight(rank) {
            return index;
        }
        roll -= weight(rank);
    }
    POPULARITY[0]
}

/// Catalogue indexes from best seller down: cheap accessories and phones sell most, a few
/// big-ticket items least.
const POPULARITY: [usize; 12] = [10, 7, 6, 3, 4, 2, 0, 11, 1, 9, 5, 8];

fn pick_weighted<A: Copy, B: Copy>(rng: &mut StdRng, table: &[(A, B, u32)]) -> (A, B) {
    let total: u32 = table.iter().map(|e| e.2).sum();
    let mut roll = rng.random_range(0..total);
    for &(a, b, weight) in table {
        if roll < weight {
            return (a, b);
        }
        roll -= weight;
    }
    (table[0].0, table[0].1)
}

fn pick_weighted_value(rng: &mut StdRng, table: &[(u32, u32)]) -> u32 {
    let total: u32 = table.iter().map(|e| e.1).sum();
    let mut roll = rng.random_range(0..total);
    for &(value, weight) in table {
        if roll < weight {
            return value;
        }
        roll -= weight;
    }
    table[0].0
}

/// A short tag unique to this run (base-36 milliseconds since the epoch, plus randomness).
pub fn new_run_tag() -> String {
    let millis = Utc::now().timestamp_millis().unsigned_abs();
    let salt: u16 = rand::rng().random();
    to_base36(millis * 1296 + u64::from(salt % 1296))
}

fn to_base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_few_products_sell_most_and_the_tail_is_long() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = [0u32; 12];
        for _ in 0..60_000 {
            counts[pick_by_popularity(&mut rng, CATALOGUE.len())] += 1;
        }
        let mut sorted = counts;
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        let top3: u32 = sorted[..3].iter().sum();
        assert!(
            f64::from(top3) / 60_000.0 > 0.5,
            "top three sell most: {counts:?}"
        );
        assert!(sorted[0] > 5 * sorted[11], "a long tail: {counts:?}");
        assert!(
            counts.iter().all(|&c| c > 0),
            "every product sells: {counts:?}"
        );
        let mut ranked = POPULARITY;
        ranked.sort_unstable();
        assert_eq!(
            ranked,
            std::array::from_fn(|i| i),
            "a rank for every product"
        );
    }

    fn generator(seed: u64, update_ratio: f64, delete_ratio: f64) -> OrderGenerator {
        OrderGenerator::new(GeneratorConfig {
            seed: Some(seed),
            update_ratio,
            delete_ratio,
            run_tag: "t".into(),
        })
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_162_500 + seconds, 0).unwrap()
    }

    #[test]
    fn same_seed_same_orders() {
        let mut a = generator(7, 0.2, 0.05);
        let mut b = generator(7, 0.2, 0.05);
        for i in 0..200 {
            let (x, y) = (a.plan_new_order(at(i)), b.plan_new_order(at(i)));
            assert_eq!(x, y);
            x.into_iter().for_each(|op| a.acknowledge(op));
            y.into_iter().for_each(|op| b.acknowledge(op));
        }
    }

    #[test]
    fn prices_are_exact_cents_within_the_band_and_total_is_price_times_quantity() {
        let mut g = generator(1, 0.0, 0.0);
        for i in 0..2_000 {
            let op = g.plan_new_order(at(i)).pop().unwrap();
            let o = &op.order;
            assert_eq!(o.price.scale(), 2, "{}", o.price);
            let product = CATALOGUE.iter().find(|p| p.name == o.product_name).unwrap();
            let cents = (o.price * Decimal::from(100)).trunc();
            assert!(cents >= Decimal::from(product.min_cents / 100 * 100));
            assert!(cents <= Decimal::from(product.max_cents / 100 * 100 + 99));
            assert_eq!(o.total, o.price * Decimal::from(o.quantity));
            assert!((1..=12).contains(&o.quantity));
        }
    }

    #[test]
    fn tutorial_schema_has_exactly_the_four_columns() {
        let mut g = generator(3, 0.0, 0.0);
        let op = g.plan_new_order(at(0)).pop().unwrap();
        let names: Vec<_> = op
            .order
            .attributes(Schema::Tutorial)
            .iter()
            .map(|a| a.0)
            .collect();
        assert_eq!(names, ["orderid", "product_name", "quantity", "price"]);
        assert_eq!(Schema::Tutorial.key_attribute(), "orderid");
    }

    #[test]
    fn json_keeps_decimal_digits() {
        let mut g = generator(4, 0.0, 0.0);
        let mut op = g.plan_new_order(at(0)).pop().unwrap();
        op.order.price = Decimal::new(124_990, 2);
        let json = op.order.to_json(Schema::Tutorial);
        assert!(json.ends_with("\"price\":1249.90}"), "{json}");
    }

    #[test]
    fn shares_of_operations_follow_the_ratios() {
        let mut g = generator(11, 0.2, 0.05);
        let mut counts: HashMap<OpKind, usize> = HashMap::new();
        for i in 0..20_000 {
            for op in g.plan_new_order(at(i)) {
                *counts.entry(op.kind).or_default() += 1;
                g.acknowledge(op);
            }
        }
        let total: usize = counts.values().sum();
        let share = |k| counts[&k] as f64 / total as f64;
        assert!((share(OpKind::Update) - 0.2).abs() < 0.02, "{counts:?}");
        assert!((share(OpKind::Delete) - 0.05).abs() < 0.01, "{counts:?}");
        assert_eq!(counts[&OpKind::Insert], 20_000);
    }

    #[test]
    fn a_tutorial_update_changes_what_the_tutorial_item_holds() {
        // Streams records no write that leaves the item as it was.
        let mut g = generator(11, 0.9, 0.0).for_schema(Schema::Tutorial);
        let mut items: HashMap<String, String> = HashMap::new();
        let mut updates = 0;
        for i in 0..200 {
            for op in g.plan_new_order(at(i)) {
                let item = format!("{:?}", op.order.attributes(Schema::Tutorial));
                let before = items.insert(op.order.order_id.clone(), item.clone());
                if op.kind == OpKind::Update {
                    updates += 1;
                    assert_ne!(
                        before.as_deref(),
                        Some(item.as_str()),
                        "an update that changes nothing"
                    );
                    assert_eq!(
                        op.order.total,
                        op.order.price * Decimal::from(op.order.quantity)
                    );
                }
                g.acknowledge(op);
            }
        }
        assert!(updates > 50, "{updates}");
    }

    #[test]
    fn an_update_is_never_dated_before_the_orders_last_write() {
        // A backfill passes past times as `now`; should one come out of order (a late
        // acknowledgement, a clock step), the update keeps the order's own timestamp.
        let mut g = generator(5, 0.9, 0.0);
        for op in g.plan_new_order(at(100)) {
            g.acknowledge(op);
        }
        let ops = g.plan_new_order(at(50));
        let update = ops.iter().find(|op| op.kind == OpKind::Update).unwrap();
        assert_eq!(update.order.created_at, at(100));
        assert_eq!(update.order.updated_at, at(100));
        ops.into_iter().for_each(|op| g.acknowledge(op));
        let later = g.plan_new_order(at(200));
        assert!(later.iter().any(|op| op.kind == OpKind::Update));
        for op in later.iter().filter(|op| op.kind == OpKind::Update) {
            assert_eq!(op.order.updated_at, at(200));
        }
    }

    proptest! {
        /// Replaying the plan against a model table: updates and deletes only touch orders
        /// that exist and are not in flight, statuses only move forward, ids never repeat.
        #[test]
        fn plans_are_consistent_with_the_table(seed in any::<u64>(), update in 0.0f64..0.6, delete in 0.0f64..0.3, acks_per_round in 1usize..4) {
            let mut g = generator(seed, update, delete);
            let mut table: HashMap<String, OrderStatus> = HashMap::new();
            let mut in_flight: Vec<PlannedOp> = Vec::new();
            let mut ids = HashSet::new();
            for i in 0..300 {
                for op in g.plan_new_order(at(i)) {
                    let id = op.order.order_id.clone();
                    prop_assert!(!in_flight.iter().any(|f| f.order.order_id == id), "two writes in flight for {}", id);
                    match op.kind {
                        OpKind::Insert => {
                            prop_assert!(ids.insert(id.clone()));
                            prop_assert!(!table.contains_key(&id));
                        }
                        OpKind::Update => {
                            let before = table.get(&id).copied();
                            prop_assert!(before.is_some_and(|s| !s.is_final()));
                            prop_assert_ne!(before, Some(op.order.status));
                        }
                        OpKind::Delete => prop_assert!(table.contains_key(&id)),
                    }
                    in_flight.push(op);
                }
                // Acknowledge a few at a time, as concurrent batches would.
                while in_flight.len() > acks_per_round {
                    let op = in_flight.remove(0);
                    match op.kind {
                        OpKind::Delete => { table.remove(&op.order.order_id); }
                        _ => { table.insert(op.order.order_id.clone(), op.order.status); }
                    }
                    g.acknowledge(op);
                }
            }
        }
    }

    #[test]
    fn run_tags_are_short_base36() {
        let tag = new_run_tag();
        assert!(
            tag.len() <= 13 && tag.chars().all(|c| c.is_ascii_alphanumeric()),
            "{tag}"
        );
        assert_eq!(to_base36(0), "0");
        assert_eq!(to_base36(36 * 36 + 35), "10z");
    }
}

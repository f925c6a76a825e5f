//! DynamoDB's capacity rules as code: what a write costs on the table and on each global
//! secondary index, which partition key values it lands on, and what that costs per million
//! orders. The table design is judged with it (write units per order, the hottest key's write
//! rate at a given order rate), so the figures in `docs/aws.md` come from here, not from
//! prose.
//!
//! The rules, from the DynamoDB Developer Guide ("Item sizes and formats", "Read/write
//! capacity mode", "Provisioned throughput considerations for GSIs", "Transactions"):
//! - an item's size is the sum of its attribute names' and values' sizes; a string is its
//!   UTF-8 bytes, a number about one byte per two significant digits plus one, a list or map
//!   three bytes plus one per element, null and booleans one byte;
//! - a write costs one unit per started KB of the item (the larger of before and after for an
//!   update), at least one, also when its condition fails; reads cost one unit per started
//!   4 KB (half for an eventually consistent read);
//! - a transactional write or read costs twice that (prepare and commit);
//! - an index is written when an item enters it (one put), leaves it (one delete), changes
//!   its index key (a delete and a put) or changes an attribute the index projects (one
//!   update); each of those costs per started KB of the index entry; nothing else touches it.
//!   Index writes are not doubled by a transaction.

use std::collections::BTreeMap;

/// A DynamoDB attribute value, as far as its size is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    S(String),
    /// The number's text (DynamoDB trims leading and trailing zeros before sizing).
    N(String),
    /// Binary, by its length.
    B(usize),
    Bool(bool),
    Null,
    L(Vec<Value>),
    M(Item),
}

/// An item: attribute name → value.
pub type Item = BTreeMap<String, Value>;

/// Bytes DynamoDB counts for a value.
pub fn value_size(value: &Value) -> usize {
    match value {
        Value::S(s) => s.len(),
        Value::N(n) => number_size(n),
        Value::B(len) => *len,
        Value::Bool(_) | Value::Null => 1,
        Value::L(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        Value::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
    }
}

/// One byte per two significant digits, plus one.
fn number_size(text: &str) -> usize {
    let digits: String = text
        .split(['e', 'E'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let significant = digits.trim_start_matches('0');
    // Trailing zeros of the digit string are trimmed too (1000 is stored as 1E3).
    let significant = significant.trim_end_matches('0');
    significant.len().div_ceil(2) + 1
}

/// Bytes DynamoDB counts for an item.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// Units of a standard write of `bytes`: one per started KB, at least one.
pub fn write_units(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX)
}

/// How a read is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Eventual,
    Strong,
    Transactional,
}

/// Read units, in half units (an eventually consistent read of 4 KB is one half unit), so the
/// arithmetic stays exact.
pub fn read_half_units(bytes: usize, read: Read) -> u32 {
    let blocks = u32::try_from(bytes.div_ceil(4096).max(1)).unwrap_or(u32::MAX);
    match read {
        Read::Eventual => blocks,
        Read::Strong => 2 * blocks,
        Read::Transactional => 4 * blocks,
    }
}

/// Which attributes an index copies besides the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    All,
    KeysOnly,
    Include(&'static [&'static str]),
}

/// A global secondary index: its key attributes and projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub hash: &'static str,
    pub range: &'static str,
    pub projection: Projection,
}

/// A table: its key attributes and its indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub hash: &'static str,
    pub indexes: &'static [Index],
}

/// A write to one item: what it was before (`None`: absent) and after (`None`: deleted).
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    pub before: Option<&'a Item>,
    pub after: Option<&'a Item>,
    pub transactional: bool,
}

/// Where a write's units land: the table or an index, and the partition key value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Landing {
    /// `None` for the table, else the index name.
    pub index: Option<&'static str>,
    pub key: String,
    pub units: u32,
}

impl Table {
    /// The units one write consumes, per table or index partition key value.
    pub fn write(&self, write: Write<'_>) -> Vec<Landing> {
        let mut out = Vec::new();
        let size = |i: Option<&Item>| i.map(item_size).unwrap_or(0);
        let table_item = write.after.or(write.before);
        if let Some(key) = table_item.and_then(|i| key_text(i, self.hash)) {
            let units = write_units(size(write.before).max(size(write.after)));
            let factor = if write.transactional { 2 } else { 1 };
            out.push(Landing {
                index: None,
                key,
                units: units * factor,
            });
        }
        for index in self.indexes {
            let old = write.before.and_then(|i| self.entry(index, i));
            let new = write.after.and_then(|i| self.entry(index, i));
            let keyed = |e: &Item| key_text(e, index.hash).unwrap_or_default();
            let land = |e: &Item, out: &mut Vec<Landing>| {
                out.push(Landing {
                    index: Some(index.name),
                    key: keyed(e),
                    units: write_units(item_size(e)),
                })
            };
            match (&old, &new) {
                (None, None) => {}
                (None, Some(n)) => land(n, &mut out),
                (Some(o), None) => land(o, &mut out),
                (Some(o), Some(n)) => {
                    let same_keys = o.get(index.hash) == n.get(index.hash)
                        && o.get(index.range) == n.get(index.range);
                    if !same_keys {
                        land(o, &mut out);
                        land(n, &mut out);
                    } else if o != n {
                        land(n, &mut out);
                    }
                }
            }
        }
        out
    }

    /// The writes of one item's life: created as `states[0]` (in a transaction if
    /// `transactional_create`), then updated to each following state in turn.
    pub fn life(&self, states: &[&Item], transactional_create: bool) -> Vec<Landing> {
        let mut out = Vec::new();
        let mut before = None;
        for (i, state) in states.iter().enumerate() {
            out.extend(self.write(Write {
                before,
                after: Some(state),
                transactional: i == 0 && transactional_create,
            }));
            before = Some(state);
        }
        out
    }

    /// The index entry of `item`, if the item is in the index (it has both index keys).
    fn entry(&self, index: &Index, item: &Item) -> Option<Item> {
        if !item.contains_key(index.hash) || !item.contains_key(index.range) {
            return None;
        }
        let keep = |name: &str| {
            name == self.hash
                || name == index.hash
                || name == index.range
                || match index.projection {
                    Projection::All => true,
                    Projection::KeysOnly => false,
                    Projection::Include(names) => names.contains(&name),
                }
        };
        Some(
            item.iter()
                .filter(|(k, _)| keep(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }
}

fn key_text(item: &Item, name: &str) -> Option<String> {
    match item.get(name)? {
        Value::S(s) | Value::N(s) => Some(s.clone()),
        other => Some(format!("{other:?}")),
    }
}

/// Write units per partition key value over many orders, and what they mean at an order rate.
#[derive(Debug, Default, Clone)]
pub struct KeyLoad {
    orders: u64,
    per_key: BTreeMap<(Option<&'static str>, String), u64>,
    total: u64,
}

impl KeyLoad {
    /// Adds the writes of one order's life.
    pub fn add_order(&mut self, landings: impl IntoIterator<Item = Landing>) {
        self.orders += 1;
        for l in landings {
            self.total += u64::from(l.units);
            *self.per_key.entry((l.index, l.key)).or_default() += u64::from(l.units);
        }
    }

    /// Write units per order, table and indexes together.
    pub fn units_per_order(&self) -> f64 {
        if self.orders == 0 {
            return 0.0;
        }
        self.total as f64 / self.orders as f64
    }

    /// The most written key (index name or `None` for the table, key value) and its write
    /// units per second when orders arrive at `orders_per_second` with the same mix.
    pub fn hottest(&self, orders_per_second: f64) -> Option<(Option<&'static str>, String, f64)> {
        let ((index, key), units) = self.per_key.iter().max_by_key(|(_, u)| **u)?;
        let per_order = *units as f64 / self.orders.max(1) as f64;
        Some((*index, key.clone(), per_order * orders_per_second))
    }
}

impl KeyLoad {
    /// Like [`KeyLoad::hottest`], for keys spread evenly over a family of keys: `spread` names
    /// a key's family and how many keys share its load (`PENDING#07` → `("PENDING#*", 32)`
    /// when the shard comes from a random id), or `None` for a key only one order ever writes
    /// (the order's own item). A sample of a few orders says little about one shard key, but
    /// exactly what an order writes to its family; the rate of each key follows from it.
    pub fn hottest_spread(
        &self,
        orders_per_second: f64,
        spread: impl Fn(Option<&str>, &str) -> Option<(String, u32)>,
    ) -> Option<(Option<&'static str>, String, f64)> {
        let mut families: BTreeMap<(Option<&'static str>, String), (u64, u32)> = BTreeMap::new();
        for ((index, key), units) in &self.per_key {
            if let Some((family, keys)) = spread(*index, key) {
                let entry = families.entry((*index, family)).or_insert((0, keys.max(1)));
                entry.0 += units;
            }
        }
        let orders = self.orders.max(1) as f64;
        families
            .into_iter()
            .map(|((index, family), (units, keys))| {
                let rate = units as f64 / orders * orders_per_second / f64::from(keys);
                (index, family, rate)
            })
            .max_by(|a, b| a.2.total_cmp(&b.2))
    }
}

/// On-demand prices in us-east-1 (since November 2024), US dollars per million request units.
pub const WRITE_PRICE_PER_MILLION: f64 = 0.625;
pub const READ_PRICE_PER_MILLION: f64 = 0.125;

/// What a million orders cost in DynamoDB requests, from the units one order takes.
pub fn cost_per_million_orders(write_units_per_order: f64, read_units_per_order: f64) -> f64 {
    write_units_per_order * WRITE_PRICE_PER_MILLION + read_units_per_order * READ_PRICE_PER_MILLION
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, Value)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn s(text: &str) -> Value {
        Value::S(text.to_owned())
    }

    /// Order `n` as the DynamoDB adapter stores it when created (one line, PENDING, with the
    /// create's trace context), plus the index keys of the design under test.
    fn placed(n: u32, keys: &[(&str, Value)]) -> Item {
        let id = format!("{n:08}-0000-4000-8000-000000000000");
        let line = Value::M(item(&[
            ("sku", s("SKU-1")),
            ("qty", Value::N("2".into())),
            ("price", Value::N("19.99".into())),
        ]));
        let mut order = item(&[
            ("pk", s(&format!("ORDER#{id}"))),
            ("id", s(&id)),
            ("customerName", s("Ada Lovelace")),
            ("items", Value::L(vec![line])),
            ("status", s("PENDING")),
            ("total", Value::N("39.98".into())),
            ("itemCount", Value::N("2".into())),
            ("createdAt", s("2026-12-02T10:00:00.000Z")),
            ("updatedAt", s("2026-12-02T10:00:00.000Z")),
            ("createdAtId", s(&format!("2026-12-02T10:00:00.000Z#{id}"))),
            ("createdIn", s(&format!("00-{n:032x}-{n:016x}-01"))),
        ]);
        order.extend(item(keys));
        order
    }

    #[test]
    fn sizes_follow_the_documented_rules() {
        assert_eq!(value_size(&s("héllo")), 6, "UTF-8 bytes");
        assert_eq!(value_size(&Value::N("12345".into())), 4, "5 digits: 3 + 1");
        assert_eq!(
            value_size(&Value::N("0.10".into())),
            2,
            "zeros trimmed: 1 digit"
        );
        assert_eq!(value_size(&Value::N("1000".into())), 2);
        assert_eq!(value_size(&Value::Bool(true)), 1);
        assert_eq!(value_size(&Value::Null), 1);
        assert_eq!(value_size(&Value::L(vec![])), 3);
        assert_eq!(value_size(&Value::L(vec![s("ab"), s("c")])), 3 + 3 + 2);
        let map = Value::M(item(&[("sku", s("A1"))]));
        assert_eq!(value_size(&map), 3 + 1 + 3 + 2);
        assert_eq!(
            item_size(&item(&[("pk", s("abc")), ("n", Value::Null)])),
            2 + 3 + 1 + 1
        );
    }

    #[test]
    fn writes_round_up_to_the_started_kilobyte_and_reads_to_4_kb() {
        assert_eq!(write_units(0), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        assert_eq!(read_half_units(1, Read::Eventual), 1);
        assert_eq!(read_half_units(4097, Read::Eventual), 2);
        assert_eq!(read_half_units(4096, Read::Strong), 2);
        assert_eq!(read_half_units(4096, Read::Transactional), 4);
    }

    const BY_STATUS: Index = Index {
        name: "byStatus",
        hash: "status",
        range: "sk",
        projection: Projection::All,
    };
    const KEYS: Index = Index {
        name: "keys",
        hash: "list",
        range: "sk",
        projection: Projection::KeysOnly,
    };
    const TABLE: Table = Table {
        hash: "pk",
        indexes: &[BY_STATUS, KEYS],
    };

    fn order(status: &str) -> Item {
        item(&[
            ("pk", s("ORDER#1")),
            ("sk", s("2026#1")),
            ("status", s(status)),
            ("list", s("ALL#3")),
            ("note", s("x")),
        ])
    }

    #[test]
    fn a_transaction_doubles_the_table_write_only() {
        let new = order("PENDING");
        let plain = TABLE.write(Write {
            before: None,
            after: Some(&new),
            transactional: false,
        });
        let tx = TABLE.write(Write {
            before: None,
            after: Some(&new),
            transactional: true,
        });
        let units = |l: &[Landing], index: Option<&str>| {
            l.iter()
                .filter(|x| x.index == index)
                .map(|x| x.units)
                .sum::<u32>()
        };
        assert_eq!(units(&plain, None), 1);
        assert_eq!(units(&tx, None), 2);
        assert_eq!(units(&tx, Some("byStatus")), 1);
        assert_eq!(units(&tx, Some("keys")), 1);
    }

    #[test]
    fn a_key_change_is_a_delete_and_a_put_on_the_old_and_new_keys() {
        let (old, new) = (order("PENDING"), order("CONFIRMED"));
        let l = TABLE.write(Write {
            before: Some(&old),
            after: Some(&new),
            transactional: false,
        });
        let on_status: Vec<_> = l
            .iter()
            .filter(|x| x.index == Some("byStatus"))
            .map(|x| (x.key.as_str(), x.units))
            .collect();
        assert_eq!(on_status, [("PENDING", 1), ("CONFIRMED", 1)]);
        // `status` is not projected into the keys-only index: no write there.
        assert!(!l.iter().any(|x| x.index == Some("keys")));
    }

    #[test]
    fn a_projected_attribute_change_is_one_index_write_and_an_unprojected_one_none() {
        let old = order("PENDING");
        let mut new = old.clone();
        new.insert("note".into(), s("changed"));
        let l = TABLE.write(Write {
            before: Some(&old),
            after: Some(&new),
            transactional: false,
        });
        let indexes: Vec<_> = l.iter().filter_map(|x| x.index).collect();
        assert_eq!(
            indexes,
            ["byStatus"],
            "ALL projects note, KEYS_ONLY does not"
        );
    }

    #[test]
    fn leaving_a_sparse_index_is_one_delete_and_absent_items_cost_nothing() {
        let old = order("PENDING");
        let mut new = old.clone();
        new.remove("list");
        let l = TABLE.write(Write {
            before: Some(&old),
            after: Some(&new),
            transactional: false,
        });
        let on_keys: Vec<_> = l.iter().filter(|x| x.index == Some("keys")).collect();
        assert_eq!(on_keys.len(), 1);
        assert_eq!(on_keys[0].key, "ALL#3");
        let again = TABLE.write(Write {
            before: Some(&new),
            after: Some(&new),
            transactional: false,
        });
        assert_eq!(
            again.len(),
            1,
            "only the table: the item is in no index change"
        );
    }

    #[test]
    fn large_items_and_entries_cost_per_kilobyte_and_updates_take_the_larger_size() {
        let mut big = order("PENDING");
        big.insert("note".into(), s(&"x".repeat(1500)));
        let small = order("PENDING");
        let l = TABLE.write(Write {
            before: Some(&big),
            after: Some(&small),
            transactional: false,
        });
        assert_eq!(l[0].index, None);
        assert_eq!(l[0].units, 2, "the larger of before and after");
        let status = l.iter().find(|x| x.index == Some("byStatus"));
        assert_eq!(status.map(|x| x.units), Some(1), "the new entry is small");
    }

    /// Today's design (three indexes projecting everything, a one-item transaction, the
    /// marker cleared by its own write) with an order shaped like the DynamoDB adapter's item:
    /// the model gives the 13 units and the hot `PENDING` key measured on moto.
    #[test]
    fn todays_design_costs_13_units_an_order_with_3_on_one_status_key() {
        // The names of that design, as they were: the settings now describe the new one.
        const INDEXES: [Index; 3] = [
            Index {
                name: "byStatus",
                hash: "status",
                range: "createdAtId",
                projection: Projection::All,
            },
            Index {
                name: "byCreatedAt",
                hash: "listPk",
                range: "createdAtId",
                projection: Projection::All,
            },
            Index {
                name: "unpublished",
                hash: "unpublished",
                range: "createdAtId",
                projection: Projection::All,
            },
        ];
        let today = Table {
            hash: "pk",
            indexes: &INDEXES,
        };
        let mut load = KeyLoad::default();
        for n in 0..100 {
            let created = placed(n, &[("listPk", s("ORDERS")), ("unpublished", s("1"))]);
            let mut published = created.clone();
            published.remove("unpublished");
            published.remove("createdIn");
            let mut confirmed = published.clone();
            confirmed.insert("status".into(), s("CONFIRMED"));
            confirmed.insert("updatedAt".into(), s("2026-12-02T10:00:01.000Z"));
            load.add_order(today.life(&[&created, &published, &confirmed], true));
        }
        assert!((load.units_per_order() - 13.0).abs() < 1e-9);
        let (index, key, rate) = load.hottest(10_000.0).unwrap_or_default();
        assert!(
            [Some("byStatus"), Some("byCreatedAt")].contains(&index),
            "{index:?} {key}"
        );
        assert!((rate - 30_000.0).abs() < 1e-6, "3 writes an order: {rate}");
        let dollars = cost_per_million_orders(load.units_per_order(), 0.0);
        // $8.125: docs/aws.md rounds it to the cent, half up.
        assert_eq!((dollars * 100.0).round(), 813.0, "{dollars}");
    }

    /// The table as built (`settings::table`): index keys sharded 32 ways from the order id,
    /// both listing indexes keys-only, a plain conditional put when the request has no
    /// `Idempotency-Key`, and no marker: the table's stream is the outbox. An order is two
    /// writes (its put and its status change), 6 units with its index entries; no key takes
    /// more than 625 units/s at 10,000 orders/s; DynamoDB writes cost 54% less than the
    /// $8.13 of the design before. docs/aws.md and the README quote these figures.
    #[test]
    fn the_table_as_built_costs_6_units_an_order_and_no_key_above_625_per_second() {
        use crate::domain::OrderStatus::{Confirmed, Pending};
        use crate::settings::table as t;
        let mut load = KeyLoad::default();
        for n in 0..(t::SHARDS * 10) {
            let shard = n % t::SHARDS;
            let created = placed(
                n,
                &[
                    (t::STATUS_SHARD_ATTRIBUTE, s(&t::status_key(Pending, shard))),
                    (t::LIST_SHARD_ATTRIBUTE, s(&t::list_key(shard))),
                    ("correlationId", s("7d0c2b0e-5a1f-4f0e-9d43-1c2b3a4d5e6f")),
                ],
            );
            let mut confirmed = created.clone();
            confirmed.insert(t::STATUS_ATTRIBUTE.into(), s("CONFIRMED"));
            confirmed.insert(
                t::STATUS_SHARD_ATTRIBUTE.into(),
                s(&t::status_key(Confirmed, shard)),
            );
            confirmed.insert("updatedAt".into(), s("2026-12-02T10:00:01.000Z"));
            load.add_order(t::DESIGN.life(&[&created, &confirmed], false));
        }
        assert!((load.units_per_order() - 6.0).abs() < 1e-9);
        let (index, key, rate) = load
            .hottest_spread(10_000.0, t::key_family)
            .unwrap_or_default();
        assert_eq!((index, key.as_str()), (Some(t::STATUS_INDEX), "PENDING#*"));
        assert!((rate - 625.0).abs() < 1e-6, "{rate}");
        let dollars = cost_per_million_orders(load.units_per_order(), 0.0);
        // $3.75, 54% below $8.13.
        assert_eq!((dollars * 100.0).round(), 375.0, "{dollars}");
        assert!(dollars <= 0.6 * 8.13, "{dollars}");
    }

    #[test]
    fn a_family_of_shard_keys_shares_its_load_and_an_own_key_takes_none() {
        let mut load = KeyLoad::default();
        // Four orders: two on shard 0, one each on 1 and 2 (a small, uneven sample).
        for (n, shard) in [0, 0, 1, 2].into_iter().enumerate() {
            load.add_order([
                Landing {
                    index: None,
                    key: format!("ORDER#{n}"),
                    units: 3,
                },
                Landing {
                    index: Some("byStatusShard"),
                    key: format!("PENDING#{shard:02}"),
                    units: 2,
                },
            ]);
        }
        let spread = |index: Option<&str>, key: &str| {
            index?;
            let (family, _) = key.rsplit_once('#')?;
            Some((format!("{family}#*"), 32))
        };
        let (index, family, rate) = load.hottest_spread(10_000.0, spread).unwrap_or_default();
        assert_eq!(
            (index, family.as_str()),
            (Some("byStatusShard"), "PENDING#*")
        );
        // 2 units an order over 32 keys, whatever the sample's own spread.
        assert!((rate - 625.0).abs() < 1e-9, "{rate}");
        // Read key by key, the sample's two orders on shard 0 make it look 16 times as hot.
        let (_, key, naive) = load.hottest(10_000.0).unwrap_or_default();
        assert_eq!((key.as_str(), naive), ("PENDING#00", 10_000.0));
    }

    #[test]
    fn the_hottest_key_scales_with_the_order_rate_and_the_cost_with_the_units() {
        let mut load = KeyLoad::default();
        for shard in 0..4 {
            load.add_order([
                Landing {
                    index: None,
                    key: format!("ORDER#{shard}"),
                    units: 1,
                },
                Landing {
                    index: Some("byStatus"),
                    key: "PENDING".into(),
                    units: 2,
                },
            ]);
        }
        assert!((load.units_per_order() - 3.0).abs() < 1e-9);
        let (index, key, rate) = load.hottest(10_000.0).unwrap_or_default();
        assert_eq!((index, key.as_str()), (Some("byStatus"), "PENDING"));
        assert!((rate - 20_000.0).abs() < 1e-6);
        let cost = cost_per_million_orders(13.0, 0.0);
        assert!((cost - 8.125).abs() < 1e-9, "{cost}");
    }
}

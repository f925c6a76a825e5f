//! One ordered listing read from many shards: the k-way merge behind a listing whose index
//! key is spread over `<value>#<shard>` partitions (see [`crate::settings::table`]).
//!
//! Every shard is sorted by the same key (`createdAtId`), so the merged order is total and a
//! listing resumes from the last key it returned: each shard's position is "the first key
//! beyond it". The public cursor stays one key long, however many shards there are.
//!
//! Reads are lazy: the first round asks every shard (a bounded number of queries in flight at
//! a time) for three times its even share of the page, plus two, and only shards that run dry
//! while the page is still short are asked again, each for all the page could still need from
//! it (so a shard is asked at most twice). With ids spread at random a shard holds more than
//! that of a page of 100 about once in ten thousand pages, so a page is one round of queries;
//! a skewed spread takes a round per shard that runs dry. On DynamoDB the generous first ask costs nothing: a keys-only entry is about
//! 150 bytes, and a query is billed per 4 KB read.

use crate::ports::SortOrder;
use std::collections::VecDeque;
use std::future::Future;

/// What one shard query returned: its items in the listing's order, and whether the shard
/// may hold more beyond the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPage<T> {
    pub items: Vec<T>,
    pub more: bool,
}

/// One merged page: up to `want` items, whether more follow, and how many rounds of shard
/// queries it took (each round waits for the one before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged<T> {
    pub items: Vec<T>,
    pub more: bool,
    pub rounds: u32,
}

struct Shard<T, K> {
    buffer: VecDeque<T>,
    /// The last key read from this shard (the listing's cursor before the first read).
    after: Option<K>,
    more: bool,
}

/// Merges `shards` sorted shards into one page of `want` items in `sort` order.
///
/// `fetch(shard, after, limit)` returns up to `limit` items of `shard` strictly beyond
/// `after` (or from the start), in `sort` order; `key` gives an item's sort key, which must
/// be unique across shards. The caller's cursor is the `after` of the first round. At most
/// `at_once` fetches are in flight (at least one).
pub async fn merge<T, K, E, F, Fut>(
    shards: usize,
    at_once: usize,
    sort: SortOrder,
    want: usize,
    cursor: Option<K>,
    key: impl Fn(&T) -> K,
    fetch: F,
) -> Result<Merged<T>, E>
where
    K: Ord + Clone,
    F: Fn(usize, Option<K>, usize) -> Fut,
    Fut: Future<Output = Result<ShardPage<T>, E>>,
{
    // One beyond the page tells whether another page exists, so the last page never
    // carries a cursor to an empty one.
    let goal = want.saturating_add(1);
    let share = goal
        .div_ceil(shards.max(1))
        .saturating_mul(3)
        .saturating_add(2);
    let mut state: Vec<Shard<T, K>> = (0..shards)
        .map(|_| Shard {
            buffer: VecDeque::new(),
            after: cursor.clone(),
            more: true,
        })
        .collect();
    let mut out: Vec<T> = Vec::with_capacity(goal.min(1024));
    let mut rounds = 0u32;
    while out.len() < goal {
        // A shard may hold the next item only once its buffer has its next one: refill every
        // shard that ran dry and is not done, all at once.
        let dry: Vec<usize> = (0..shards)
            .filter(|&i| state[i].buffer.is_empty() && state[i].more)
            .collect();
        if !dry.is_empty() {
            let ask = if rounds == 0 { share } else { goal - out.len() };
            rounds += 1;
            // In waves of `at_once`: a plain join per wave keeps the future `Send` for the
            // stores' async traits, where a buffered stream of these closures is not.
            let mut pages: Vec<ShardPage<T>> = Vec::with_capacity(dry.len());
            for wave in dry.chunks(at_once.max(1)) {
                let fetched = futures::future::try_join_all(
                    wave.iter().map(|&i| fetch(i, state[i].after.clone(), ask)),
                )
                .await?;
                pages.extend(fetched);
            }
            for (&i, page) in dry.iter().zip(pages) {
                let shard = &mut state[i];
                if let Some(last) = page.items.last() {
                    shard.after = Some(key(last));
                }
                // A shard that returned nothing has nothing more, whatever it said (the shard
                // queries carry no filter, so an empty answer is the end).
                shard.more = page.more && !page.items.is_empty();
                shard.buffer.extend(page.items);
            }
        }
        let next = state
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.buffer.front().map(|item| (i, key(item))))
            .reduce(|best, candidate| {
                let better = match sort {
                    SortOrder::Asc => candidate.1 < best.1,
                    SortOrder::Desc => candidate.1 > best.1,
                };
                if better { candidate } else { best }
            });
        let Some((i, _)) = next else {
            break; // every shard is exhausted
        };
        if let Some(item) = state[i].buffer.pop_front() {
            out.push(item);
        }
    }
    let more = out.len() > want;
    out.truncate(want);
    Ok(Merged {
        items: out,
        more,
        rounds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    /// Shards as sorted vectors, and a log of the calls the merge made.
    struct Shards {
        data: Vec<Vec<u32>>,
        calls: RefCell<Vec<(usize, Option<u32>, usize)>>,
        in_flight: Cell<usize>,
        most_in_flight: Cell<usize>,
        at_once: usize,
    }

    impl Shards {
        fn spread(
            keys: impl IntoIterator<Item = u32>,
            shards: usize,
            of: impl Fn(u32) -> usize,
        ) -> Self {
            let mut data = vec![Vec::new(); shards];
            for k in keys {
                data[of(k)].push(k);
            }
            data.iter_mut().for_each(|d| d.sort_unstable());
            Shards {
                data,
                calls: RefCell::new(Vec::new()),
                in_flight: Cell::new(0),
                most_in_flight: Cell::new(0),
                at_once: shards,
            }
        }

        async fn fetch(
            &self,
            sort: SortOrder,
            shard: usize,
            after: Option<u32>,
            limit: usize,
        ) -> Result<ShardPage<u32>, String> {
            self.calls.borrow_mut().push((shard, after, limit));
            // Suspends once, as a query does, so fetches started together overlap.
            let now = self.in_flight.get() + 1;
            self.in_flight.set(now);
            self.most_in_flight.set(self.most_in_flight.get().max(now));
            tokio::task::yield_now().await;
            self.in_flight.set(self.in_flight.get() - 1);
            let mut keys: Vec<u32> = self.data[shard]
                .iter()
                .copied()
                .filter(|&k| match (sort, after) {
                    (_, None) => true,
                    (SortOrder::Asc, Some(a)) => k > a,
                    (SortOrder::Desc, Some(a)) => k < a,
                })
                .collect();
            if sort == SortOrder::Desc {
                keys.reverse();
            }
            let more = keys.len() > limit;
            keys.truncate(limit);
            Ok(ShardPage { items: keys, more })
        }

        async fn page(&self, sort: SortOrder, want: usize, cursor: Option<u32>) -> Merged<u32> {
            merge(
                self.data.len(),
                self.at_once,
                sort,
                want,
                cursor,
                |k| *k,
                |s, a, l| self.fetch(sort, s, a, l),
            )
            .await
            .unwrap()
        }

        /// Walks the listing to its end with pages of `want`.
        async fn walk(&self, sort: SortOrder, want: usize) -> Vec<u32> {
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let page = self.page(sort, want, cursor).await;
                assert!(page.items.len() <= want);
                cursor = page.items.last().copied();
                seen.extend(&page.items);
                if !page.more {
                    return seen;
                }
                assert_eq!(
                    page.items.len(),
                    want,
                    "a page short of its size says more follow"
                );
            }
        }
    }

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn every_page_size_walks_every_key_once_in_order_however_the_keys_are_spread() {
        let keys: Vec<u32> = (0..97).map(|k| k * 7 + 3).collect();
        type Spread = Box<dyn Fn(u32) -> usize>;
        let spreads: [(&str, Spread); 3] = [
            ("even", Box::new(|k| (k % 8) as usize)),
            ("all on one shard", Box::new(|_| 5)),
            ("runs", Box::new(|k| (k / 100 % 8) as usize)),
        ];
        for (name, of) in spreads {
            let shards = Shards::spread(keys.clone(), 8, of);
            for want in 1..=100 {
                let asc = run(shards.walk(SortOrder::Asc, want));
                assert_eq!(asc, keys, "{name}, pages of {want}, oldest first");
                let desc = run(shards.walk(SortOrder::Desc, want));
                let mut reversed = keys.clone();
                reversed.reverse();
                assert_eq!(desc, reversed, "{name}, pages of {want}, newest first");
            }
        }
    }

    #[test]
    fn an_even_spread_costs_one_query_per_shard_and_no_shard_more_than_two() {
        let shards = Shards::spread(0..3200, 32, |k| (k % 32) as usize);
        let page = run(shards.page(SortOrder::Desc, 100, None));
        assert_eq!(page.items, (3100..3200).rev().collect::<Vec<_>>());
        assert!(page.more);
        let calls = shards.calls.borrow();
        assert_eq!(calls.len(), 32, "one round: {calls:?}");
        // Three times each shard's share of 101 items, plus two.
        assert!(
            calls
                .iter()
                .all(|&(_, after, limit)| after.is_none() && limit == 14)
        );

        let lopsided = Shards::spread(
            0..3200,
            32,
            |k| if k >= 3000 { 0 } else { (k % 32) as usize },
        );
        let page = run(lopsided.page(SortOrder::Desc, 100, None));
        assert_eq!(page.items, (3100..3200).rev().collect::<Vec<_>>());
        let calls = lopsided.calls.borrow();
        let on_zero: Vec<_> = calls.iter().filter(|c| c.0 == 0).collect();
        assert_eq!(on_zero.len(), 2, "{on_zero:?}");
        // The refill resumes after the last key read and asks for all the page still lacks.
        assert_eq!(*on_zero[1], (0, Some(3186), 87));
        assert_eq!(calls.len(), 33);
        assert_eq!(page.rounds, 2);
    }

    #[test]
    fn no_more_fetches_in_flight_than_allowed_and_the_same_page() {
        let all = Shards::spread(0..3200, 32, |k| (k % 32) as usize);
        let page = run(all.page(SortOrder::Desc, 100, None));
        assert_eq!(all.most_in_flight.get(), 32, "one round, all at once");

        let mut bounded = Shards::spread(0..3200, 32, |k| (k % 32) as usize);
        bounded.at_once = 8;
        assert_eq!(run(bounded.page(SortOrder::Desc, 100, None)), page);
        assert_eq!(bounded.most_in_flight.get(), 8);
        assert_eq!(bounded.calls.borrow().len(), 32);
    }

    /// splitmix64's finaliser: keys scattered over 32 shards the way random order ids are.
    fn scatter(k: u32) -> usize {
        let mut x = u64::from(k) ^ 0x9E37_79B9_7F4A_7C15;
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
        (x % 32) as usize
    }

    #[test]
    fn a_random_spread_takes_one_round_of_queries_a_page() {
        let shards = Shards::spread(0..3200, 32, scatter);
        for sort in [SortOrder::Desc, SortOrder::Asc] {
            let (mut cursor, mut rounds) = (None, Vec::new());
            loop {
                let page = run(shards.page(sort, 100, cursor));
                rounds.push(page.rounds);
                cursor = page.items.last().copied();
                if !page.more {
                    break;
                }
            }
            assert_eq!(rounds.len(), 32, "{sort:?}");
            assert!(rounds.iter().all(|&r| r == 1), "{sort:?}: {rounds:?}");
        }
    }

    #[test]
    fn a_cursor_resumes_every_shard_strictly_after_it() {
        let shards = Shards::spread(0..40, 4, |k| (k % 4) as usize);
        let page = run(shards.page(SortOrder::Asc, 5, Some(17)));
        assert_eq!(page.items, vec![18, 19, 20, 21, 22]);
        assert!(shards.calls.borrow().iter().all(|c| c.1 == Some(17)));
        let last = run(shards.page(SortOrder::Desc, 50, Some(3)));
        assert_eq!(
            last,
            Merged {
                items: vec![2, 1, 0],
                more: false,
                rounds: 1
            }
        );
    }

    #[test]
    fn empty_shards_and_an_empty_listing() {
        let shards = Shards::spread(Vec::<u32>::new(), 32, |_| 0);
        let page = run(shards.page(SortOrder::Desc, 10, None));
        assert_eq!(
            page,
            Merged {
                items: vec![],
                more: false,
                rounds: 1
            }
        );
        assert_eq!(shards.calls.borrow().len(), 32);
        let one = Shards::spread([9], 1, |_| 0);
        assert_eq!(
            run(one.page(SortOrder::Asc, 1, None)),
            Merged {
                items: vec![9],
                more: false,
                rounds: 1
            }
        );
    }

    #[test]
    fn a_failed_shard_fails_the_page() {
        let out = run(merge(
            3,
            3,
            SortOrder::Asc,
            10,
            None::<u32>,
            |k: &u32| *k,
            |s, _, _| async move {
                if s == 1 {
                    Err("shard 1 is down")
                } else {
                    Ok(ShardPage {
                        items: vec![s as u32],
                        more: false,
                    })
                }
            },
        ));
        assert_eq!(out, Err("shard 1 is down"));
    }
}

//! One behavioural suite for every adapter of the `orders` ports: SQLite for the local stack
//! today, DynamoDB/SQS (on moto server) later. Each check is a `pub async fn` that panics with
//! a message naming the broken rule, so an adapter can run them from its own
//! `#[tokio::test]`s ([`store_tests!`] writes one per check) or all at once ([`run_all`]).
//!
//! Rules every store check relies on:
//! - It gets an **empty** store of its own (listings count every order in the store).
//! - It uses only the port: no SQL, no SDK, no clock. Times are fixed instants carried by the
//!   orders themselves, so a check behaves the same on every adapter and every day.
//! - A store judges an idempotency key's expiry against the `createdAt` of the order being
//!   created (the request's time); see [`expired_idempotency_key_is_reusable`].

use chrono::{DateTime, Utc};
use orders::domain::{LineItem, NewOrder, Order, OrderStatus, money};
use orders::ports::{
    CreateOutcome, DependencyError, IdempotencyKey, ListQuery, OrderCreated, OrderQueue,
    OrderStore, Outbox, SortOrder, Transition, TransitionRequest,
};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::str::FromStr;
use telemetry::trace::Carrier;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Helpers, public so adapters' own tests can build the same data.
// ---------------------------------------------------------------------------------------------

/// The processor's move: order `id` out of `PENDING` to `to`, at `at`.
pub fn from_pending(
    id: Uuid,
    to: OrderStatus,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> TransitionRequest {
    TransitionRequest {
        id,
        from: OrderStatus::Pending,
        to,
        reason: reason.map(str::to_owned),
        at,
    }
}

/// 2026-01-01T00:00:00.000Z, the instant every check's times are counted from.
pub fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_767_225_600_000).unwrap_or_default()
}

/// `base_time()` plus `ms` milliseconds.
pub fn at(ms: i64) -> DateTime<Utc> {
    base_time() + chrono::Duration::milliseconds(ms)
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_else(|e| panic!("test data: {text}: {e}"))
}

/// A `PENDING` order with a fresh id, amounts that binary floating point would get wrong
/// (0.10 + 0.20), and text that needs escaping.
pub fn sample_order(created_at: DateTime<Utc>) -> Order {
    let items = vec![
        LineItem {
            sku: "SKU-A".into(),
            qty: 3,
            price: dec("0.10"),
        },
        LineItem {
            sku: "SKU-B".into(),
            qty: 1,
            price: dec("0.20"),
        },
        LineItem {
            sku: "SKU-\"C\"".into(),
            qty: 2,
            price: dec("1234.56"),
        },
    ];
    let new = NewOrder {
        customer_name: "Zoë O'Brien 🍕".into(),
        items,
    };
    Order::place(Uuid::new_v4(), new, created_at)
}

/// A key that has not been used, for a request with fingerprint `hash`.
pub fn fresh_key(hash: &str, expires_at: DateTime<Utc>) -> IdempotencyKey {
    IdempotencyKey {
        key: format!("conformance-{}", Uuid::new_v4()),
        request_hash: hash.to_owned(),
        expires_at,
    }
}

fn ok<T>(what: &str, result: Result<T, DependencyError>) -> T {
    result.unwrap_or_else(|e| panic!("{what}: unexpected error: {e}"))
}

async fn create(store: &dyn OrderStore, order: &Order) -> Order {
    match ok("create", store.create(order, None, CORRELATION_ID).await) {
        CreateOutcome::Created(stored) => stored,
        other => panic!(
            "create of new order {} returned {other:?}, want Created",
            order.id
        ),
    }
}

/// Moves a pending order to `to` and returns it as updated; anything but `Applied` panics.
async fn move_pending(
    store: &dyn OrderStore,
    id: Uuid,
    to: OrderStatus,
    at: DateTime<Utc>,
) -> Order {
    match ok(
        "transition",
        store.transition(&from_pending(id, to, None, at)).await,
    ) {
        Transition::Applied(o) => o,
        other => panic!("transition of pending order {id} returned {other:?}, want Applied"),
    }
}

fn ids(orders: &[Order]) -> Vec<Uuid> {
    orders.iter().map(|o| o.id).collect()
}

/// `orders` in the store's listing order: (`createdAt`, `id`), ascending or descending.
fn sorted(orders: &[Order], sort: SortOrder) -> Vec<Uuid> {
    let mut keyed: Vec<_> = orders.iter().map(|o| (o.created_at, o.id)).collect();
    keyed.sort();
    if sort == SortOrder::Desc {
        keyed.reverse();
    }
    keyed.into_iter().map(|(_, id)| id).collect()
}

fn query(status: Option<OrderStatus>, limit: u32, sort: SortOrder) -> ListQuery {
    ListQuery {
        status,
        limit,
        sort,
        cursor: None,
    }
}

/// Follows cursors to the end and returns every order seen, checking each page on the way:
/// no page above `limit`, a page that has a cursor is full (nothing writes during the walk:
/// see [`orders::ports::Page`]), and the cursor always advances.
pub async fn list_all(
    store: &dyn OrderStore,
    status: Option<OrderStatus>,
    sort: SortOrder,
    limit: u32,
    expected_total: usize,
) -> Vec<Order> {
    let mut q = query(status, limit, sort);
    let mut seen = Vec::new();
    // One page more than needed allows a store whose last full page still has a cursor.
    let max_pages = expected_total / limit as usize + 2;
    for page_no in 1..=max_pages {
        let page = ok("list", store.list(&q).await);
        let what = format!(
            "list {status:?} {} limit {limit}, page {page_no}",
            sort.as_str()
        );
        assert!(
            page.orders.len() <= limit as usize,
            "{what}: {} orders, more than the limit",
            page.orders.len()
        );
        if let Some(s) = status {
            for o in &page.orders {
                assert_eq!(o.status, s, "{what}: order {} has another status", o.id);
            }
        }
        seen.extend(page.orders.iter().cloned());
        match page.cursor {
            None => return seen,
            Some(cursor) => {
                assert_eq!(
                    page.orders.len(),
                    limit as usize,
                    "{what}: a page with a cursor must be full"
                );
                assert_ne!(
                    q.cursor.as_ref(),
                    Some(&cursor),
                    "{what}: the cursor did not move"
                );
                q.cursor = Some(cursor);
            }
        }
    }
    panic!(
        "list {status:?} {} limit {limit}: still a cursor after {max_pages} pages for {expected_total} orders",
        sort.as_str()
    );
}

fn assert_same_sequence(what: &str, got: &[Uuid], want: &[Uuid]) {
    if got == want {
        return;
    }
    let got_set: BTreeSet<_> = got.iter().collect();
    let dupes = got.len() - got_set.len();
    let missing = want.iter().filter(|id| !got_set.contains(id)).count();
    let first_diff = got.iter().zip(want).position(|(g, w)| g != w);
    panic!(
        "{what}: got {} orders, want {}; {dupes} repeated, {missing} missing, first difference at \
         position {first_diff:?}",
        got.len(),
        want.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Order store checks. Each needs an empty store.
// ---------------------------------------------------------------------------------------------

/// What `create` returns, `get` returns: the same order, money to the cent (as decimal text,
/// never via floats), timestamps to the millisecond, text unchanged.
pub async fn create_then_get_round_trips(store: &dyn OrderStore) {
    let order = sample_order(at(123));
    let created = create(store, &order).await;
    assert_eq!(created, order, "create must return the order as written");

    let got = ok("get", store.get(order.id).await)
        .unwrap_or_else(|| panic!("order {} not found right after create", order.id));
    assert_eq!(got, order, "get must return the order exactly as created");
    assert_eq!(money::format(got.total), "2469.62", "total must be exact");
    assert_eq!(
        money::format(got.items[0].price),
        "0.10",
        "price must be exact"
    );
    assert_eq!(
        got.created_at.timestamp_subsec_millis(),
        123,
        "createdAt keeps milliseconds"
    );
    assert_eq!(got.updated_at, got.created_at);
    assert_eq!(got.status, OrderStatus::Pending);
    assert_eq!(got.status_reason, None);

    // A large exact amount, and a reason, survive too.
    let mut big = sample_order(at(124));
    big.items = vec![LineItem {
        sku: "BIG".into(),
        qty: 10_000,
        price: dec("999999.99"),
    }];
    big.total = dec("9999999900.00");
    big.item_count = 10_000;
    big.status_reason = Some("line 1: «quoted» \"reason\"\n".into());
    create(store, &big).await;
    let got =
        ok("get", store.get(big.id).await).unwrap_or_else(|| panic!("order {} missing", big.id));
    assert_eq!(got, big);
    assert_eq!(money::format(got.total), "9999999900.00");
}

pub async fn get_missing_is_none(store: &dyn OrderStore) {
    create(store, &sample_order(at(0))).await;
    let missing = Uuid::new_v4();
    assert_eq!(
        ok("get", store.get(missing).await),
        None,
        "get of unknown id {missing}"
    );
    assert_eq!(
        ok("get", store.get(Uuid::nil()).await),
        None,
        "get of the nil id"
    );
}

/// Writing an order whose id exists is an error and changes nothing.
pub async fn duplicate_id_is_rejected(store: &dyn OrderStore) {
    let order = sample_order(at(0));
    create(store, &order).await;
    let mut again = order.clone();
    again.customer_name = "Someone Else".into();
    let result = store.create(&again, None, CORRELATION_ID).await;
    assert!(
        result.is_err(),
        "creating a second order with id {} returned {result:?}",
        order.id
    );
    let got = ok("get", store.get(order.id).await);
    assert_eq!(got, Some(order), "the first order must be untouched");
}

/// A retry with the same key and request gets the first order back and writes nothing.
pub async fn idempotent_create_replays(store: &dyn OrderStore) {
    let key = fresh_key("hash-1", at(3_600_000));
    let first = sample_order(at(0));
    match ok(
        "create",
        store.create(&first, Some(&key), CORRELATION_ID).await,
    ) {
        CreateOutcome::Created(o) => assert_eq!(o, first),
        other => panic!("first use of a key returned {other:?}, want Created"),
    }
    // The retry is a new request: the handler placed a new order with a new id and time.
    let retry = sample_order(at(5_000));
    match ok(
        "create",
        store.create(&retry, Some(&key), CORRELATION_ID).await,
    ) {
        CreateOutcome::Replayed(o) => assert_eq!(o, first, "a replay returns the first order"),
        other => panic!("same key and request returned {other:?}, want Replayed"),
    }
    assert_eq!(
        ok("get", store.get(retry.id).await),
        None,
        "a replay must not write the retry's order"
    );
    let all = list_all(store, None, SortOrder::Desc, 100, 1).await;
    assert_eq!(
        ids(&all),
        vec![first.id],
        "exactly one order after a replay"
    );
}

/// The same key with another request is a conflict and writes nothing.
pub async fn idempotent_key_conflict(store: &dyn OrderStore) {
    let key = fresh_key("hash-1", at(3_600_000));
    let first = sample_order(at(0));
    ok(
        "create",
        store.create(&first, Some(&key), CORRELATION_ID).await,
    );
    let other_request = IdempotencyKey {
        request_hash: "hash-2".into(),
        ..key.clone()
    };
    let second = sample_order(at(5_000));
    let outcome = ok(
        "create",
        store
            .create(&second, Some(&other_request), CORRELATION_ID)
            .await,
    );
    assert_eq!(
        outcome,
        CreateOutcome::KeyConflict,
        "same key, other request"
    );
    assert_eq!(
        ok("get", store.get(second.id).await),
        None,
        "a conflict must not write the order"
    );
    // The key still belongs to the first request.
    match ok(
        "create",
        store
            .create(&sample_order(at(6_000)), Some(&key), CORRELATION_ID)
            .await,
    ) {
        CreateOutcome::Replayed(o) => assert_eq!(o.id, first.id),
        other => panic!("after a conflict the key's own request returned {other:?}, want Replayed"),
    }
    // Different keys are independent, whatever the request.
    let third = sample_order(at(7_000));
    match ok(
        "create",
        store
            .create(
                &third,
                Some(&fresh_key("hash-1", at(3_600_000))),
                CORRELATION_ID,
            )
            .await,
    ) {
        CreateOutcome::Created(o) => assert_eq!(o.id, third.id),
        other => panic!("a new key returned {other:?}, want Created"),
    }
}

/// Once a key has expired (judged at the new order's `createdAt`), it may be used again, by
/// any request, and then belongs to the new order.
pub async fn expired_idempotency_key_is_reusable(store: &dyn OrderStore) {
    let hour = 3_600_000;
    let key = fresh_key("hash-1", at(hour));
    let first = sample_order(at(0));
    ok(
        "create",
        store.create(&first, Some(&key), CORRELATION_ID).await,
    );

    let later = sample_order(at(2 * hour));
    let reused = IdempotencyKey {
        request_hash: "hash-2".into(),
        expires_at: at(26 * hour),
        ..key.clone()
    };
    match ok(
        "create",
        store.create(&later, Some(&reused), CORRELATION_ID).await,
    ) {
        CreateOutcome::Created(o) => assert_eq!(o.id, later.id),
        other => panic!("reusing an expired key returned {other:?}, want Created"),
    }
    match ok(
        "create",
        store
            .create(&sample_order(at(3 * hour)), Some(&reused), CORRELATION_ID)
            .await,
    ) {
        CreateOutcome::Replayed(o) => assert_eq!(o.id, later.id, "the key now names the new order"),
        other => panic!("retry after reuse returned {other:?}, want Replayed"),
    }
    assert!(
        ok("get", store.get(first.id).await).is_some(),
        "the first order stays"
    );
}

/// A transition applies once; a second delivery finds it done and changes nothing.
pub async fn transition_applies_once(store: &dyn OrderStore) {
    let order = create(store, &sample_order(at(0))).await;
    let when = at(61_001);
    let reason = Some("total 2469.62 needs a look");
    let applied = ok(
        "transition",
        store
            .transition(&from_pending(
                order.id,
                OrderStatus::PendingReview,
                reason,
                when,
            ))
            .await,
    );
    let Transition::Applied(updated) = applied else {
        panic!("first transition from PENDING returned {applied:?}, want Applied");
    };
    let want = Order {
        status: OrderStatus::PendingReview,
        updated_at: when,
        status_reason: reason.map(str::to_owned),
        ..order.clone()
    };
    assert_eq!(updated, want, "Applied carries the order as updated");
    assert_eq!(
        ok("get", store.get(order.id).await),
        Some(want.clone()),
        "get sees the update"
    );

    let again = ok(
        "transition",
        store
            .transition(&from_pending(
                order.id,
                OrderStatus::Confirmed,
                None,
                at(99_000),
            ))
            .await,
    );
    assert_eq!(
        again,
        Transition::AlreadyDone(want.clone()),
        "a duplicate delivery"
    );
    assert_eq!(
        ok("get", store.get(order.id).await),
        Some(want),
        "AlreadyDone changes nothing"
    );

    // Without a reason, the order carries none.
    let plain = create(store, &sample_order(at(1))).await;
    match ok(
        "transition",
        store
            .transition(&from_pending(plain.id, OrderStatus::Confirmed, None, at(2)))
            .await,
    ) {
        Transition::Applied(o) => {
            assert_eq!(o.status, OrderStatus::Confirmed);
            assert_eq!(o.status_reason, None);
            assert_eq!(o.updated_at, at(2));
        }
        other => panic!("transition of a pending order returned {other:?}, want Applied"),
    }
}

pub async fn transition_missing_is_not_found(store: &dyn OrderStore) {
    let missing = Uuid::new_v4();
    let result = ok(
        "transition",
        store
            .transition(&from_pending(missing, OrderStatus::Confirmed, None, at(0)))
            .await,
    );
    assert_eq!(
        result,
        Transition::NotFound,
        "transition of unknown order {missing}"
    );
    assert_eq!(
        ok("get", store.get(missing).await),
        None,
        "a missed transition must not create"
    );
}

pub async fn list_empty_store(store: &dyn OrderStore) {
    for sort in [SortOrder::Desc, SortOrder::Asc] {
        let page = ok("list", store.list(&query(None, 10, sort)).await);
        assert!(
            page.orders.is_empty() && page.cursor.is_none(),
            "empty store, {sort:?}: {page:?}"
        );
    }
}

/// Newest first by default and with `Desc`, oldest first with `Asc`.
pub async fn list_sorts_by_creation(store: &dyn OrderStore) {
    let mut orders = Vec::new();
    for ms in [5_000, 1_000, 3_000, 4_000, 2_000] {
        orders.push(create(store, &sample_order(at(ms))).await);
    }
    let default = ListQuery {
        status: None,
        limit: 10,
        sort: SortOrder::default(),
        cursor: None,
    };
    let page = ok("list", store.list(&default).await);
    assert_same_sequence(
        "default listing (newest first)",
        &ids(&page.orders),
        &sorted(&orders, SortOrder::Desc),
    );
    assert_eq!(page.cursor, None, "everything fit in one page");
    assert_eq!(page.orders[0].created_at, at(5_000));

    let page = ok("list", store.list(&query(None, 10, SortOrder::Asc)).await);
    assert_same_sequence(
        "asc listing",
        &ids(&page.orders),
        &sorted(&orders, SortOrder::Asc),
    );

    let page = ok("list", store.list(&query(None, 2, SortOrder::Desc)).await);
    assert_same_sequence(
        "first page of 2",
        &ids(&page.orders),
        &sorted(&orders, SortOrder::Desc)[..2],
    );
    assert!(
        page.cursor.is_some(),
        "more orders follow, so the page needs a cursor"
    );
}

/// A status listing holds exactly the orders in that status now, sorted like the full one.
pub async fn list_filters_by_status(store: &dyn OrderStore) {
    let mut orders = Vec::new();
    for i in 0..9 {
        orders.push(create(store, &sample_order(at(i * 10))).await);
    }
    let targets = [
        OrderStatus::Confirmed,
        OrderStatus::PendingReview,
        OrderStatus::PendingApproval,
    ];
    for (i, order) in orders.iter_mut().enumerate().skip(1) {
        // Order 0 stays pending; the rest spread over the final statuses.
        let to = targets[i % targets.len()];
        *order = move_pending(store, order.id, to, at(1_000)).await;
    }
    for status in OrderStatus::ALL {
        let want = with_status(&orders, status);
        for sort in [SortOrder::Desc, SortOrder::Asc] {
            let page = ok("list", store.list(&query(Some(status), 100, sort)).await);
            assert_same_sequence(
                &format!("status {status} {}", sort.as_str()),
                &ids(&page.orders),
                &sorted(&want, sort),
            );
            let by_id: BTreeMap<Uuid, &Order> = want.iter().map(|o| (o.id, o)).collect();
            for o in &page.orders {
                assert_eq!(
                    Some(&o),
                    by_id.get(&o.id),
                    "status {status}: listed orders are the current ones"
                );
            }
        }
    }
}

/// The orders of `orders` in `status`, in their order: what a status filter should list.
fn with_status(orders: &[Order], status: OrderStatus) -> Vec<Order> {
    orders
        .iter()
        .filter(|o| o.status == status)
        .cloned()
        .collect()
}

/// 55 orders, most of them created in the same few milliseconds, listed with every page size
/// from 1 to 100: every order exactly once, in order, in both directions, with and without a
/// status filter.
pub async fn list_paginates_every_order_once(store: &dyn OrderStore) {
    let mut orders = Vec::new();
    for i in 0..55i64 {
        // 30 orders share one millisecond, 15 another, and 10 have their own.
        let ms = match i {
            0..30 => 1_000,
            30..45 => 2_000,
            _ => 3_000 + i,
        };
        orders.push(create(store, &sample_order(at(ms))).await);
    }
    for sort in [SortOrder::Desc, SortOrder::Asc] {
        for limit in 1..=100 {
            let got = list_all(store, None, sort, limit, orders.len()).await;
            assert_same_sequence(
                &format!("all orders {} limit {limit}", sort.as_str()),
                &ids(&got),
                &sorted(&orders, sort),
            );
        }
    }
    // Every third order confirmed; both statuses paginate cleanly.
    for order in orders.iter_mut().step_by(3) {
        *order = move_pending(store, order.id, OrderStatus::Confirmed, at(9_000)).await;
    }
    for status in [OrderStatus::Confirmed, OrderStatus::Pending] {
        let want = with_status(&orders, status);
        for sort in [SortOrder::Desc, SortOrder::Asc] {
            for limit in 1..=100 {
                let got = list_all(store, Some(status), sort, limit, want.len()).await;
                assert_same_sequence(
                    &format!("status {status} {} limit {limit}", sort.as_str()),
                    &ids(&got),
                    &sorted(&want, sort),
                );
            }
        }
    }
}

/// A cursor the store did not issue is refused as corrupt (the handler checks tokens first;
/// this is defence in depth), never read as "start from the beginning".
pub async fn list_rejects_a_garbage_cursor(store: &dyn OrderStore) {
    create(store, &sample_order(at(0))).await;
    for garbage in ["", "not a cursor", "{\"id\":", "🍕"] {
        let q = ListQuery {
            cursor: Some(garbage.to_owned()),
            ..query(None, 10, SortOrder::Desc)
        };
        match store.list(&q).await {
            Err(DependencyError::Corrupt { .. }) => {}
            other => panic!("cursor {garbage:?} returned {other:?}, want a Corrupt error"),
        }
    }
}

/// A page that ends exactly at the last order carries no cursor: no client is sent to an
/// empty page. With and without a status filter (they are different indexes on DynamoDB).
pub async fn list_last_page_has_no_cursor_even_when_full(store: &dyn OrderStore) {
    for i in 0..6 {
        create(store, &sample_order(at(i))).await;
    }
    for status in [None, Some(OrderStatus::Pending)] {
        let mut q = ListQuery {
            status,
            limit: 3,
            sort: SortOrder::Asc,
            cursor: None,
        };
        let first = ok("list", store.list(&q).await);
        assert!(first.cursor.is_some(), "{status:?}: a second page follows");
        q.cursor = first.cursor;
        let second = ok("list", store.list(&q).await);
        assert_eq!(
            second.orders.len(),
            3,
            "{status:?}: the second page is full"
        );
        assert_eq!(
            second.cursor, None,
            "{status:?}: exactly two full pages, no cursor to an empty third"
        );
    }
}

/// A zero limit is the handler's bug, refused rather than answered with an empty page.
pub async fn list_refuses_a_zero_limit(store: &dyn OrderStore) {
    let q = ListQuery {
        status: None,
        limit: 0,
        sort: SortOrder::Desc,
        cursor: None,
    };
    let result = store.list(&q).await;
    assert!(
        result.is_err(),
        "limit 0 returned {result:?}, want an error"
    );
}

/// The correlation id every check's creates pass (the request's `x-correlation-id`).
pub const CORRELATION_ID: &str = "conformance-correlation-id";

/// Every order created is in the outbox once, in write order, with its correlation id, until
/// acknowledged; a replayed or refused create adds nothing, and an entry handed out but not
/// acknowledged is handed out again.
pub async fn outbox_holds_each_new_order_once_until_acknowledged(
    store: &dyn OrderStore,
    outbox: &dyn Outbox,
) {
    let a = create(store, &sample_order(at(3_000))).await;
    let key = fresh_key("hash-b", at(3_600_000));
    let b = sample_order(at(1_000));
    ok("create", store.create(&b, Some(&key), CORRELATION_ID).await);
    let replay = ok(
        "create",
        store
            .create(&sample_order(at(1_500)), Some(&key), CORRELATION_ID)
            .await,
    );
    assert!(matches!(replay, CreateOutcome::Replayed(_)), "{replay:?}");
    let conflict = fresh_key("hash-other", at(3_600_000));
    let refused = store
        .create(
            &sample_order(at(1_600)),
            Some(&IdempotencyKey {
                key: key.key.clone(),
                ..conflict
            }),
            CORRELATION_ID,
        )
        .await;
    assert!(
        matches!(refused, Ok(CreateOutcome::KeyConflict)),
        "{refused:?}"
    );
    let duplicate = store.create(&a, None, CORRELATION_ID).await;
    assert!(duplicate.is_err(), "{duplicate:?}");
    let c = create(store, &sample_order(at(2_000))).await;

    let read = |limit| async move { ok("pending", outbox.pending(limit).await) };
    let read_ids = |limit| async move {
        let entries = read(limit).await;
        entries.iter().map(|e| e.order.id).collect::<Vec<_>>()
    };
    let all = read(10).await;
    let order_ids: Vec<Uuid> = all.iter().map(|e| e.order.id).collect();
    assert_eq!(
        order_ids,
        vec![a.id, b.id, c.id],
        "one entry per order written, in write order (not creation time)"
    );
    for entry in &all {
        assert_eq!(entry.correlation_id.as_deref(), Some(CORRELATION_ID));
        assert_eq!(entry.message().order_id, entry.order.id);
    }
    assert_eq!(all[0].order, a, "the entry holds the order as written");
    let sequences: BTreeSet<&str> = all.iter().map(|e| e.sequence.as_str()).collect();
    assert_eq!(sequences.len(), 3, "sequences are distinct: {all:?}");
    assert_eq!(
        read(2).await.iter().map(|e| e.order.id).collect::<Vec<_>>(),
        vec![a.id, b.id],
        "limit"
    );
    assert_eq!(read(10).await.len(), 3, "reading acknowledges nothing");

    ok(
        "acknowledge",
        outbox
            .acknowledge(&[all[1].sequence.clone(), "not-a-sequence".to_owned()])
            .await,
    );
    assert_eq!(
        read_ids(10).await,
        vec![a.id, c.id],
        "b was acknowledged; an unknown sequence is ignored"
    );
    // A status change is no new entry: only writes of new orders are published.
    move_pending(store, c.id, OrderStatus::Confirmed, at(4_000)).await;
    ok(
        "acknowledge",
        outbox
            .acknowledge(&[all[0].sequence.clone(), all[2].sequence.clone()])
            .await,
    );
    assert!(read(10).await.is_empty(), "all acknowledged");
    let d = create(store, &sample_order(at(500))).await;
    assert_eq!(read_ids(10).await, vec![d.id], "a later order follows");
}

/// An entry keeps the trace context of the span its create ran in (the publish continues
/// it); an order created outside any trace has none.
pub async fn outbox_keeps_the_creating_trace(store: &dyn OrderStore, outbox: &dyn Outbox) {
    use tracing::Instrument as _;
    use tracing::instrument::WithSubscriber as _;
    use tracing_subscriber::prelude::*;
    let tracer =
        telemetry::trace::Tracing::new(telemetry::trace::resource("conformance", vec![]), vec![]);
    let traced = sample_order(at(1_000));
    let untraced = sample_order(at(2_000));
    let request = async {
        let span = tracing::info_span!("create order request");
        let context = Carrier::of(&span);
        create(store, &traced).instrument(span).await;
        context
    };
    let context = request
        .with_subscriber(tracing_subscriber::registry().with(tracer.layer()))
        .await;
    assert!(context.traceparent.is_some(), "the request span is traced");
    create(store, &untraced).await;

    let found = ok("pending", outbox.pending(10).await);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].order.id, traced.id);
    assert_eq!(
        found[0].created_in.traceparent, context.traceparent,
        "the create's trace context is kept with the entry"
    );
    assert_eq!(found[1].order.id, untraced.id);
    assert!(
        found[1].created_in.is_empty(),
        "no trace, no context: {:?}",
        found[1].created_in
    );
}

/// The outbox checks, expanded into tests ([`outbox_tests!`]): `$make` returns
/// `(store, outbox, guard)`, an empty store, the outbox of its writes, and what must
/// outlive them.
#[doc(hidden)]
#[macro_export]
macro_rules! __outbox_checks {
    ($make:tt; $($check:ident),*) => {
        $(
            #[tokio::test]
            async fn $check() {
                let (store, outbox, guard) = $make().await;
                $crate::$check(&*store, &*outbox).await;
                drop((store, outbox, guard));
            }
        )*
    };
}

/// Writes one `#[tokio::test]` per outbox check (see [`__outbox_checks`]); `store` and
/// `outbox` are `Arc<dyn OrderStore>` and `Arc<dyn Outbox>`.
#[macro_export]
macro_rules! outbox_tests {
    ($make:expr) => {
        $crate::__outbox_checks!($make;
            outbox_holds_each_new_order_once_until_acknowledged,
            outbox_keeps_the_creating_trace
        );
    };
}

pub async fn ping_answers(store: &dyn OrderStore) {
    ok("ping on an empty store", store.ping().await);
    create(store, &sample_order(at(0))).await;
    ok("ping", store.ping().await);
}

/// The one list of store checks, expanded into tests ([`store_tests!`]) or into the body of
/// [`run_all`], so a new check reaches every adapter.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_checks {
    (@expand tests $make:tt; $($check:ident),*) => {
        $(
            #[tokio::test]
            async fn $check() {
                let (store, guard) = $make().await;
                $crate::$check(&store).await;
                drop(store);
                drop(guard);
            }
        )*
    };
    (@expand run $make:tt; $($check:ident),*) => {
        $(
            let (store, guard) = $make().await;
            eprintln!("conformance: {}", stringify!($check));
            $crate::$check(&store).await;
            drop(store);
            drop(guard);
        )*
    };
    ($mode:ident $make:tt) => {
        $crate::__store_checks!(@expand $mode $make;
            create_then_get_round_trips,
            get_missing_is_none,
            duplicate_id_is_rejected,
            idempotent_create_replays,
            idempotent_key_conflict,
            expired_idempotency_key_is_reusable,
            transition_applies_once,
            transition_missing_is_not_found,
            list_empty_store,
            list_sorts_by_creation,
            list_filters_by_status,
            list_paginates_every_order_once,
            list_rejects_a_garbage_cursor,
            list_last_page_has_no_cursor_even_when_full,
            list_refuses_a_zero_limit,
            ping_answers
        );
    };
}

/// Writes one `#[tokio::test]` per store check. `$make` is an async fn (or closure) returning
/// `(store, guard)`: a fresh, empty store and whatever must outlive it (a temp dir, or `()`).
/// The calling crate needs `tokio` with the `macros` feature.
///
/// ```ignore
/// async fn fresh() -> (SqliteOrderStore, tempfile::TempDir) { ... }
/// conformance::store_tests!(fresh);
/// ```
#[macro_export]
macro_rules! store_tests {
    ($make:expr) => {
        $crate::__store_checks!(tests($make));
    };
}

/// Runs every store check, each on a fresh store from `make` (see [`store_tests!`]).
pub async fn run_all<S, G, F, Fut>(mut make: F)
where
    S: OrderStore,
    F: FnMut() -> Fut,
    Fut: Future<Output = (S, G)>,
{
    __store_checks!(run(make));
}

// ---------------------------------------------------------------------------------------------
// Order queue checks. The port can only publish, so reading back goes through `drain`, an
// adapter-specific function that receives (and may delete) everything now on the queue.
// ---------------------------------------------------------------------------------------------

/// A message as a consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub body: String,
    /// String message attributes.
    pub attributes: BTreeMap<String, String>,
}

pub async fn queue_ping(queue: &dyn OrderQueue) {
    ok("queue ping", queue.ping().await);
}

pub async fn queue_publish_returns_distinct_ids(queue: &dyn OrderQueue) {
    let mut seen = BTreeSet::new();
    for i in 0..5 {
        let msg = OrderCreated {
            order_id: Uuid::new_v4(),
            created_at: at(i),
            correlation_id: None,
        };
        let id = ok("publish", queue.publish(&msg).await);
        assert!(
            !id.trim().is_empty(),
            "publish returned an empty message id"
        );
        assert!(
            seen.insert(id.clone()),
            "publish returned message id {id} twice"
        );
    }
}

/// Needs an empty queue. What a consumer receives is the message exactly (camelCase JSON that
/// the processor parses strictly), with `correlationId` as a message attribute when set.
pub async fn queue_publish_delivers<F, Fut>(queue: &dyn OrderQueue, drain: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Vec<Delivered>>,
{
    let with = OrderCreated {
        order_id: Uuid::new_v4(),
        created_at: at(1_234),
        correlation_id: Some("corr-42".into()),
    };
    let without = OrderCreated {
        order_id: Uuid::new_v4(),
        created_at: at(1_235),
        correlation_id: None,
    };
    ok("publish", queue.publish(&with).await);
    ok("publish", queue.publish(&without).await);

    let delivered = drain().await;
    assert_eq!(
        delivered.len(),
        2,
        "two messages published, {} delivered: {delivered:?}",
        delivered.len()
    );
    for want in [&with, &without] {
        let found: Vec<_> = delivered
            .iter()
            .filter_map(|d| {
                let parsed: OrderCreated = serde_json::from_str(&d.body)
                    .unwrap_or_else(|e| panic!("body {:?} is not an OrderCreated: {e}", d.body));
                (parsed.order_id == want.order_id).then_some((parsed, d))
            })
            .collect();
        assert_eq!(
            found.len(),
            1,
            "order {} delivered {} times",
            want.order_id,
            found.len()
        );
        let (parsed, d) = &found[0];
        assert_eq!(parsed, want, "the body carries the message exactly");
        assert!(d.body.contains("\"orderId\""), "camelCase body: {}", d.body);
        assert_eq!(
            d.attributes.get("correlationId"),
            want.correlation_id.as_ref(),
            "correlationId attribute of {}",
            want.order_id
        );
    }
}

/// Runs every queue check on one empty queue. `drain` must see messages published to it.
pub async fn run_queue_all<F, Fut>(queue: &dyn OrderQueue, drain: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Vec<Delivered>>,
{
    queue_ping(queue).await;
    // First, while the queue is empty.
    queue_publish_delivers(queue, drain).await;
    queue_publish_returns_distinct_ids(queue).await;
}

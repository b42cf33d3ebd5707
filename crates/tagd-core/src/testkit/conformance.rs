//! Engine-agnostic store behaviour tests. Each engine runs all of them through
//! [`crate::store_conformance!`]; `MemStore` runs them too, which keeps the reference honest.

use crate::account::{AccessKeyId, Account, AccountId, Credential, SecretKey};
use crate::catalogue::{
    KeyQuery, PresetDelete, PresetKey, PresetKeyInfo, PresetValue, TextMatch, ValueQuery,
};
use crate::change::{
    ApplyReport, Atomicity, CatalogueChange, ChangeSet, ResourceChange, ResourceProblem, TagOp,
};
use crate::error::StoreError;
use crate::model::{Region, ResourceId, ResourceRef, ResourceType, Tag};
use crate::query::{Cursor, ResourceQuery, TagFilter, TypeFilter};
use crate::store::Store;
use crate::tagset::TagSet;

/// Every case of the suite, in the order the macro instantiates them.
#[macro_export]
macro_rules! store_conformance {
    ($make:path) => {
        $crate::store_conformance!(@cases $make;
            upsert_and_read, overwrite_counts_once, limit_is_all_or_nothing,
            per_resource_atomicity, untag_and_remove_all, empty_resources_disappear,
            query_by_ids, query_by_tags, query_order_and_cursor, query_type_filters,
            account_and_region_isolation, registered_resources, accounts_and_keys,
            token_key_is_stable, concurrent_writers_respect_the_limit, matches_reference_model,
            long_listings_match_reference_model,
            catalogue_follows_resources, catalogue_filters_and_paging, presets,
            explicit_catalogue_ids_and_quota, explicit_catalogue_delete_unbinds_everywhere,
            explicit_catalogue_is_all_or_nothing_with_resources, a_replace_records_the_uuid);
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $make().await;
                $crate::testkit::conformance::$case(store).await;
            }
        )*
    };
}

fn account(n: u8) -> AccountId {
    AccountId::parse(&format!("100000000000000{n}")).expect("valid id")
}

fn region(name: &str) -> Region {
    Region::parse(name).expect("valid region")
}

fn rds() -> ResourceType {
    ResourceType::new("ALIYUN", "RDS", "INSTANCE").expect("valid type")
}

fn ecs() -> ResourceType {
    ResourceType::new("ALIYUN", "ECS", "INSTANCE").expect("valid type")
}

fn res(t: &ResourceType, id: &str) -> ResourceRef {
    ResourceRef {
        region: region("cn-hangzhou"),
        resource_type: t.clone(),
        id: ResourceId::parse(id).expect("valid id"),
    }
}

fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs.iter().map(|(k, v)| Tag::new(*k, *v)).collect()
}

fn set(pairs: &[(&str, &str)]) -> TagSet {
    TagSet::from_tags(tags(pairs))
}

fn change_set(
    acct: &AccountId,
    changes: Vec<(ResourceRef, TagOp)>,
    atomicity: Atomicity,
) -> ChangeSet {
    ChangeSet {
        account: acct.clone(),
        changes: changes
            .into_iter()
            .map(|(resource, op)| ResourceChange { resource, op })
            .collect(),
        atomicity,
        require_registered: false,
        catalogue: None,
    }
}

async fn apply<S: Store>(
    store: &S,
    acct: &AccountId,
    changes: Vec<(ResourceRef, TagOp)>,
) -> ApplyReport {
    store
        .apply(change_set(acct, changes, Atomicity::AllOrNothing))
        .await
        .expect("apply succeeds at the engine level")
}

fn query(acct: &AccountId) -> ResourceQuery {
    ResourceQuery {
        account: acct.clone(),
        region: region("cn-hangzhou"),
        types: TypeFilter::Exact(rds()),
        ids: Vec::new(),
        tags: Vec::new(),
        start: None,
        limit: 1000,
    }
}

fn ids_of(found: &[crate::query::ResourceTags]) -> Vec<String> {
    found
        .iter()
        .map(|r| r.resource.id.as_str().to_owned())
        .collect()
}

fn filter(key: &str, value: Option<&str>) -> TagFilter {
    TagFilter::new(key, value)
}

/// `key` carrying one of `values` (any value when `values` is empty).
fn any_of(key: &str, values: &[&str]) -> TagFilter {
    TagFilter {
        key: key.into(),
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn product(namespace: &str, product: &str) -> TypeFilter {
    TypeFilter::Product {
        namespace: namespace.into(),
        product: product.into(),
    }
}

fn twenty() -> Vec<Tag> {
    (0..20).map(|i| Tag::new(format!("k{i:02}"), "v")).collect()
}

pub async fn upsert_and_read<S: Store>(store: S) {
    let a = account(1);
    let r = res(&rds(), "rm-1");
    let report = apply(
        &store,
        &a,
        vec![(
            r.clone(),
            TagOp::Set(tags(&[("env", "prod"), ("数据", "")])),
        )],
    )
    .await;
    assert!(report.failures.is_empty());
    assert_eq!(
        store.get_tags(&a, &r).await.expect("read"),
        set(&[("env", "prod"), ("数据", "")])
    );
    apply(
        &store,
        &a,
        vec![(r.clone(), TagOp::Set(tags(&[("env", "dev")])))],
    )
    .await;
    assert_eq!(
        store.get_tags(&a, &r).await.expect("read"),
        set(&[("env", "dev"), ("数据", "")])
    );
}

pub async fn overwrite_counts_once<S: Store>(store: S) {
    let a = account(1);
    let r = res(&rds(), "rm-1");
    assert!(
        apply(&store, &a, vec![(r.clone(), TagOp::Set(twenty()))])
            .await
            .failures
            .is_empty()
    );
    let overwrite = TagOp::Set(tags(&[("k00", "new"), ("k19", "new")]));
    assert!(
        apply(&store, &a, vec![(r.clone(), overwrite)])
            .await
            .failures
            .is_empty()
    );
    let now = store.get_tags(&a, &r).await.expect("read");
    assert_eq!(now.len(), 20);
    assert_eq!(now.get("k00"), Some("new"));
}

pub async fn limit_is_all_or_nothing<S: Store>(store: S) {
    let a = account(1);
    let full = res(&rds(), "rm-full");
    let empty = res(&rds(), "rm-empty");
    apply(&store, &a, vec![(full.clone(), TagOp::Set(twenty()))]).await;
    let op = TagOp::Set(tags(&[("extra", "1")]));
    let report = apply(
        &store,
        &a,
        vec![(empty.clone(), op.clone()), (full.clone(), op)],
    )
    .await;
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].index, 1);
    assert_eq!(
        report.failures[0].problem,
        ResourceProblem::TagQuotaExceeded
    );
    assert!(
        store.get_tags(&a, &empty).await.expect("read").is_empty(),
        "nothing applied"
    );
    assert_eq!(store.get_tags(&a, &full).await.expect("read").len(), 20);
    let found = store
        .query(ResourceQuery {
            tags: vec![filter("extra", None)],
            ..query(&a)
        })
        .await;
    assert!(found.expect("query").is_empty(), "no index entry leaked");
}

pub async fn per_resource_atomicity<S: Store>(store: S) {
    let a = account(1);
    let full = res(&rds(), "rm-full");
    let empty = res(&rds(), "rm-empty");
    apply(&store, &a, vec![(full.clone(), TagOp::Set(twenty()))]).await;
    let op = TagOp::Set(tags(&[("extra", "1")]));
    let cs = change_set(
        &a,
        vec![(full.clone(), op.clone()), (empty.clone(), op)],
        Atomicity::PerResource,
    );
    let report = store.apply(cs).await.expect("apply");
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].resource, full);
    assert_eq!(
        store.get_tags(&a, &empty).await.expect("read"),
        set(&[("extra", "1")])
    );
    assert_eq!(
        store.get_tags(&a, &full).await.expect("read").get("extra"),
        None
    );
}

pub async fn untag_and_remove_all<S: Store>(store: S) {
    let a = account(1);
    let r = res(&rds(), "rm-1");
    let mut with_system = tags(&[("a", "1"), ("b", "2"), ("c", "3")]);
    with_system.push(Tag::new("acs:rm:rgId", "rg-1"));
    apply(&store, &a, vec![(r.clone(), TagOp::Set(with_system))]).await;
    apply(
        &store,
        &a,
        vec![(r.clone(), TagOp::Remove(vec!["a".into(), "missing".into()]))],
    )
    .await;
    assert_eq!(
        store.get_tags(&a, &r).await.expect("read"),
        set(&[("acs:rm:rgId", "rg-1"), ("b", "2"), ("c", "3")])
    );
    apply(&store, &a, vec![(r.clone(), TagOp::RemoveAll)]).await;
    assert_eq!(
        store.get_tags(&a, &r).await.expect("read"),
        set(&[("acs:rm:rgId", "rg-1")])
    );
    let by_b = store
        .query(ResourceQuery {
            tags: vec![filter("b", Some("2"))],
            ..query(&a)
        })
        .await;
    assert!(by_b.expect("query").is_empty(), "index follows removals");
}

pub async fn empty_resources_disappear<S: Store>(store: S) {
    let a = account(1);
    let r = res(&rds(), "rm-1");
    apply(
        &store,
        &a,
        vec![(r.clone(), TagOp::Set(tags(&[("a", "1")])))],
    )
    .await;
    apply(
        &store,
        &a,
        vec![(r.clone(), TagOp::Remove(vec!["a".into()]))],
    )
    .await;
    let found = store
        .query(ResourceQuery {
            ids: vec![(rds(), r.id.clone())],
            ..query(&a)
        })
        .await;
    assert!(found.expect("query").is_empty());
    let all = store
        .query(ResourceQuery {
            types: TypeFilter::Namespace("ALIYUN".into()),
            ..query(&a)
        })
        .await;
    assert!(all.expect("query").is_empty());
}

async fn seed_three<S: Store>(store: &S, a: &AccountId) {
    apply(
        store,
        a,
        vec![
            (
                res(&rds(), "rm-a"),
                TagOp::Set(tags(&[("env", "prod"), ("team", "x")])),
            ),
            (
                res(&rds(), "rm-b"),
                TagOp::Set(tags(&[("env", "dev"), ("team", "x")])),
            ),
            (res(&rds(), "rm-c"), TagOp::Set(tags(&[("env", "prod")]))),
        ],
    )
    .await;
}

pub async fn query_by_ids<S: Store>(store: S) {
    let a = account(1);
    seed_three(&store, &a).await;
    let id = |s: &str| (rds(), ResourceId::parse(s).expect("id"));
    let q = ResourceQuery {
        ids: vec![id("rm-c"), id("rm-a"), id("rm-zz"), id("rm-a")],
        ..query(&a)
    };
    let found = store.query(q).await.expect("query");
    assert_eq!(
        ids_of(&found),
        vec!["rm-a", "rm-c"],
        "OR, sorted, deduplicated, unknown skipped"
    );
    assert_eq!(
        found[0].tags,
        set(&[("env", "prod"), ("team", "x")]),
        "all tags of each"
    );
    let q = ResourceQuery {
        ids: vec![id("rm-a"), id("rm-b")],
        tags: vec![filter("env", Some("prod"))],
        ..query(&a)
    };
    assert_eq!(
        ids_of(&store.query(q).await.expect("query")),
        vec!["rm-a"],
        "ids ∩ tags"
    );
}

pub async fn query_by_tags<S: Store>(store: S) {
    let a = account(1);
    seed_three(&store, &a).await;
    let run = |filters: Vec<TagFilter>| {
        store.query(ResourceQuery {
            tags: filters,
            ..query(&a)
        })
    };
    assert_eq!(
        ids_of(&run(vec![filter("env", Some("prod"))]).await.expect("q")),
        vec!["rm-a", "rm-c"]
    );
    assert_eq!(
        ids_of(&run(vec![filter("team", None)]).await.expect("q")),
        vec!["rm-a", "rm-b"]
    );
    let both = vec![filter("env", Some("prod")), filter("team", Some("x"))];
    assert_eq!(ids_of(&run(both).await.expect("q")), vec!["rm-a"], "AND");
    let key_and_kv = vec![filter("team", None), filter("env", Some("dev"))];
    assert_eq!(ids_of(&run(key_and_kv).await.expect("q")), vec!["rm-b"]);
    assert!(
        run(vec![filter("env", Some("PROD"))])
            .await
            .expect("q")
            .is_empty(),
        "case-sensitive"
    );
    assert!(run(vec![filter("nope", None)]).await.expect("q").is_empty());
    // Several values of one key are OR'ed (AWS RGTA's `Values`), filters still AND'ed.
    assert_eq!(
        ids_of(&run(vec![any_of("env", &["dev", "prod"])]).await.expect("q")),
        vec!["rm-a", "rm-b", "rm-c"]
    );
    assert_eq!(
        ids_of(&run(vec![any_of("env", &["nope", "dev"])]).await.expect("q")),
        vec!["rm-b"]
    );
    assert_eq!(
        ids_of(
            &run(vec![any_of("env", &["prod", "prod"])])
                .await
                .expect("q")
        ),
        vec!["rm-a", "rm-c"],
        "a repeated value"
    );
    let values_and_key = vec![any_of("env", &["prod", "dev"]), filter("team", Some("x"))];
    assert_eq!(
        ids_of(&run(values_and_key).await.expect("q")),
        vec!["rm-a", "rm-b"]
    );
    let values_and_values = vec![any_of("env", &["prod", "x"]), any_of("team", &["y", "x"])];
    assert_eq!(
        ids_of(&run(values_and_values).await.expect("q")),
        vec!["rm-a"]
    );
    assert!(
        run(vec![any_of("env", &["PROD", "DEV"])])
            .await
            .expect("q")
            .is_empty(),
        "case-sensitive"
    );
    assert_eq!(
        ids_of(&run(vec![any_of("team", &[])]).await.expect("q")),
        vec!["rm-a", "rm-b"],
        "no values: any value"
    );
}

pub async fn query_order_and_cursor<S: Store>(store: S) {
    let a = account(1);
    let mut changes = Vec::new();
    for i in (0..25).rev() {
        changes.push((
            res(&rds(), &format!("rm-{i:03}")),
            TagOp::Set(tags(&[("env", "prod")])),
        ));
    }
    apply(&store, &a, changes).await;
    for filters in [
        vec![filter("env", Some("prod"))],
        vec![filter("env", None)],
        vec![],
    ] {
        let mut seen = Vec::new();
        let mut start = None;
        loop {
            let q = ResourceQuery {
                tags: filters.clone(),
                start: start.clone(),
                limit: 7,
                ..query(&a)
            };
            let page = store.query(q).await.expect("query");
            seen.extend(ids_of(&page));
            let Some(last) = page.last() else { break };
            start = Some(Cursor {
                resource_type: rds(),
                id: last.resource.id.clone(),
                inclusive: false,
            });
            if page.len() < 7 {
                break;
            }
        }
        let want: Vec<String> = (0..25).map(|i| format!("rm-{i:03}")).collect();
        assert_eq!(
            seen, want,
            "every resource once, in order, filters {filters:?}"
        );
    }
    let inclusive = Cursor {
        resource_type: rds(),
        id: ResourceId::parse("rm-010").expect("id"),
        inclusive: true,
    };
    let q = ResourceQuery {
        tags: vec![filter("env", Some("prod"))],
        start: Some(inclusive),
        limit: 2,
        ..query(&a)
    };
    assert_eq!(
        ids_of(&store.query(q).await.expect("query")),
        vec!["rm-010", "rm-011"]
    );
}

pub async fn query_type_filters<S: Store>(store: S) {
    let a = account(1);
    apply(
        &store,
        &a,
        vec![
            (res(&rds(), "x-1"), TagOp::Set(tags(&[("env", "prod")]))),
            (res(&ecs(), "x-1"), TagOp::Set(tags(&[("env", "prod")]))),
        ],
    )
    .await;
    let bce = ResourceType::new("BCE", "BCC", "INSTANCE").expect("type");
    apply(
        &store,
        &a,
        vec![(res(&bce, "x-1"), TagOp::Set(tags(&[("env", "prod")])))],
    )
    .await;
    let f = vec![filter("env", Some("prod"))];
    let exact = store
        .query(ResourceQuery {
            tags: f.clone(),
            ..query(&a)
        })
        .await
        .expect("q");
    assert_eq!(exact.len(), 1);
    assert_eq!(exact[0].resource.resource_type, rds());
    let ns = ResourceQuery {
        tags: f,
        types: TypeFilter::Namespace("ALIYUN".into()),
        ..query(&a)
    };
    let found = store.query(ns).await.expect("q");
    let types: Vec<&str> = found
        .iter()
        .map(|r| r.resource.resource_type.as_str())
        .collect();
    assert_eq!(
        types,
        vec!["ALIYUN::ECS::INSTANCE", "ALIYUN::RDS::INSTANCE"],
        "ordered by type, one namespace"
    );
    let types_of = |found: Vec<crate::query::ResourceTags>| -> Vec<String> {
        found
            .iter()
            .map(|r| r.resource.resource_type.as_str().to_owned())
            .collect()
    };
    for tags in [
        vec![],
        vec![filter("env", Some("prod"))],
        vec![filter("env", None)],
    ] {
        let run = |types: TypeFilter| {
            store.query(ResourceQuery {
                tags: tags.clone(),
                types,
                ..query(&a)
            })
        };
        assert_eq!(
            types_of(run(product("ALIYUN", "ECS")).await.expect("q")),
            vec!["ALIYUN::ECS::INSTANCE"],
            "one product, {tags:?}"
        );
        assert!(
            run(product("ALIYUN", "BCC")).await.expect("q").is_empty(),
            "a product of another namespace, {tags:?}"
        );
        let any = TypeFilter::AnyOf(vec![
            TypeFilter::Exact(bce.clone()),
            product("ALIYUN", "RDS"),
        ]);
        assert_eq!(
            types_of(run(any).await.expect("q")),
            vec!["ALIYUN::RDS::INSTANCE", "BCE::BCC::INSTANCE"],
            "any of several, in type order, {tags:?}"
        );
        assert!(
            run(TypeFilter::AnyOf(Vec::new()))
                .await
                .expect("q")
                .is_empty(),
            "any of none, {tags:?}"
        );
    }
}

pub async fn account_and_region_isolation<S: Store>(store: S) {
    let (a, b) = (account(1), account(2));
    seed_three(&store, &a).await;
    let r = res(&rds(), "rm-a");
    assert!(store.get_tags(&b, &r).await.expect("read").is_empty());
    let q = ResourceQuery {
        tags: vec![filter("env", None)],
        ..query(&b)
    };
    assert!(store.query(q).await.expect("q").is_empty());
    let other_region = ResourceQuery {
        region: region("cn-beijing"),
        tags: vec![filter("env", None)],
        ..query(&a)
    };
    assert!(store.query(other_region).await.expect("q").is_empty());
    let scan = ResourceQuery {
        region: region("cn-beijing"),
        ..query(&a)
    };
    assert!(store.query(scan).await.expect("q").is_empty());
}

pub async fn registered_resources<S: Store>(store: S) {
    let a = account(1);
    let known = res(&rds(), "rm-known");
    let unknown = res(&rds(), "rm-unknown");
    store.register_resource(&a, &known).await.expect("register");
    store
        .register_resource(&a, &known)
        .await
        .expect("idempotent");
    let op = TagOp::Set(tags(&[("env", "prod")]));
    let mut cs = change_set(
        &a,
        vec![(known.clone(), op.clone()), (unknown.clone(), op.clone())],
        Atomicity::AllOrNothing,
    );
    cs.require_registered = true;
    let report = store.apply(cs).await.expect("apply");
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].problem, ResourceProblem::NotRegistered);
    assert!(
        store.get_tags(&a, &known).await.expect("read").is_empty(),
        "nothing changed"
    );
    let mut cs = change_set(&a, vec![(known.clone(), op)], Atomicity::AllOrNothing);
    cs.require_registered = true;
    assert!(store.apply(cs).await.expect("apply").failures.is_empty());
    assert!(
        store
            .deregister_resource(&a, &known)
            .await
            .expect("deregister")
    );
    assert!(
        store.get_tags(&a, &known).await.expect("read").is_empty(),
        "deregister deletes tags"
    );
    let q = ResourceQuery {
        tags: vec![filter("env", None)],
        ..query(&a)
    };
    assert!(
        store.query(q).await.expect("q").is_empty(),
        "and their index entries"
    );
    assert!(
        !store
            .deregister_resource(&a, &known)
            .await
            .expect("deregister")
    );
}

pub async fn accounts_and_keys<S: Store>(store: S) {
    let acct = Account {
        id: account(7),
        name: "team".into(),
        root: false,
        created_at: 1,
    };
    let key = |id: &str, enabled: bool| Credential {
        access_key_id: AccessKeyId::parse(id).expect("id"),
        secret: SecretKey::new(format!("secret-{id}")).expect("secret"),
        account_id: acct.id.clone(),
        enabled,
        created_at: 2,
    };
    store
        .create_account(acct.clone(), key("LTAIone", true))
        .await
        .expect("create");
    assert_eq!(
        store.get_account(&acct.id).await.expect("get"),
        Some(acct.clone())
    );
    let again = Account {
        id: account(8),
        ..acct.clone()
    };
    let clash = store
        .create_account(again.clone(), key("LTAIone", true))
        .await;
    assert!(
        matches!(clash, Err(StoreError::Conflict(_))),
        "a key id exists once"
    );
    assert_eq!(
        store.get_account(&again.id).await.expect("get"),
        None,
        "and nothing was created"
    );
    store
        .put_key(key("LTAItwo", true))
        .await
        .expect("second key");
    store.put_key(key("LTAIone", false)).await.expect("disable");
    let one = store
        .get_key(&AccessKeyId::parse("LTAIone").expect("id"))
        .await
        .expect("get");
    assert_eq!(one.map(|k| k.enabled), Some(false));
    let mut ids: Vec<String> = store
        .list_keys(&acct.id)
        .await
        .expect("list")
        .into_iter()
        .map(|k| k.access_key_id.as_str().to_owned())
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["LTAIone", "LTAItwo"]);
    assert_eq!(store.list_accounts().await.expect("list").len(), 1);
    let orphan = Credential {
        account_id: account(9),
        ..key("LTAIthree", true)
    };
    assert!(
        store.put_key(orphan).await.is_err(),
        "a key needs an account"
    );
    assert_eq!(
        store
            .get_key(&AccessKeyId::parse("LTAIthree").expect("id"))
            .await
            .expect("get"),
        None
    );
}

pub async fn token_key_is_stable<S: Store>(store: S) {
    let k1 = store.token_key().await.expect("key");
    let k2 = store.token_key().await.expect("key");
    assert_eq!(k1, k2);
    assert_ne!(k1, [0u8; 32]);
}

/// Many concurrent single-tag writers on one resource: exactly the limit's worth succeed.
pub async fn concurrent_writers_respect_the_limit<S: Store + Clone>(store: S) {
    let a = account(1);
    let r = res(&rds(), "rm-hot");
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (store, a, r) = (store.clone(), a.clone(), r.clone());
        tasks.push(tokio::spawn(async move {
            let op = TagOp::Set(vec![Tag::new(format!("k{i:02}"), "v")]);
            store
                .apply(change_set(&a, vec![(r, op)], Atomicity::AllOrNothing))
                .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let report = task.await.expect("task").expect("apply");
        if report.failures.is_empty() {
            ok += 1;
        }
    }
    assert_eq!(ok, 20);
    assert_eq!(store.get_tags(&a, &r).await.expect("read").len(), 20);
}

/// A fixed pseudo-random sequence of operations gives the same observable state as `MemStore`.
pub async fn matches_reference_model<S: Store>(store: S) {
    let reference = super::MemStore::new();
    let a = account(1);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let keys = ["env", "team", "cost", "owner", "app"];
    let values = ["a", "b", "c", ""];
    for _ in 0..300 {
        let mut changes = Vec::new();
        for _ in 0..=next(3) {
            let r = res(&rds(), &format!("rm-{}", next(12)));
            let op = match next(4) {
                0 | 1 => TagOp::Set(
                    (0..=next(3))
                        .map(|_| Tag::new(keys[next(5) as usize], values[next(4) as usize]))
                        .collect::<TagSet>()
                        .iter()
                        .map(|(k, v)| Tag::new(k, v))
                        .collect(),
                ),
                2 => TagOp::Remove(vec![keys[next(5) as usize].to_owned()]),
                _ => TagOp::RemoveAll,
            };
            if !changes.iter().any(|(c, _): &(ResourceRef, TagOp)| c == &r) {
                changes.push((r, op));
            }
        }
        let atomicity = if next(2) == 0 {
            Atomicity::AllOrNothing
        } else {
            Atomicity::PerResource
        };
        let want = reference
            .apply(change_set(&a, changes.clone(), atomicity))
            .await
            .expect("ref");
        let got = store
            .apply(change_set(&a, changes, atomicity))
            .await
            .expect("engine");
        assert_eq!(got, want);
    }
    for filters in [
        vec![],
        vec![filter("env", Some("a"))],
        vec![filter("team", None), filter("cost", Some(""))],
    ] {
        let q = ResourceQuery {
            tags: filters,
            ..query(&a)
        };
        let want = reference.query(q.clone()).await.expect("ref");
        let got = store.query(q).await.expect("engine");
        assert_eq!(got, want);
    }
}

/// Listings of hundreds of matches (an engine may read them in parts, or on more than one
/// thread), paged with every limit around where it might split them, answer what the reference
/// answers: with one filter or several, one value, several or any, by namespace, product, exact
/// type or several types.
pub async fn long_listings_match_reference_model<S: Store>(store: S) {
    let reference = super::MemStore::new();
    let a = account(1);
    let bcc = ResourceType::new("BCE", "BCC", "INSTANCE").expect("valid type");
    for batch in 0..14 {
        let changes: Vec<(ResourceRef, TagOp)> = (batch * 50..batch * 50 + 50)
            .map(|i| {
                let t = match i {
                    i if i % 7 == 0 => &bcc,
                    i if i % 5 == 0 => &ecs(),
                    _ => &rds(),
                };
                let mut pairs = vec![
                    ("env", if i % 2 == 0 { "prod" } else { "dev" }.to_owned()),
                    ("team", format!("t{}", i % 3)),
                ];
                if i % 50 == 0 {
                    pairs.push(("rare", "x".to_owned()));
                }
                let op = TagOp::Set(pairs.into_iter().map(|(k, v)| Tag::new(k, v)).collect());
                (res(t, &format!("r-{i:04}")), op)
            })
            .collect();
        let want = reference
            .apply(change_set(&a, changes.clone(), Atomicity::AllOrNothing))
            .await
            .expect("ref");
        let got = store
            .apply(change_set(&a, changes, Atomicity::AllOrNothing))
            .await
            .expect("engine");
        assert_eq!(got, want);
    }
    let filter_sets = [
        vec![filter("env", Some("prod"))],
        vec![filter("env", Some("prod")), filter("team", Some("t1"))],
        vec![filter("team", Some("t2")), filter("env", Some("dev"))],
        vec![filter("rare", Some("x"))],
        vec![filter("team", None), filter("env", Some("dev"))],
        vec![filter("env", Some("none"))],
        vec![filter("team", None)],
        vec![filter("env", None), filter("rare", None)],
        vec![any_of("team", &["t0", "t2"])],
        vec![any_of("team", &["t1", "t9"]), filter("env", Some("prod"))],
        vec![any_of("env", &["dev", "prod"]), any_of("team", &["t2"])],
    ];
    for tags in filter_sets {
        for types in [
            TypeFilter::Namespace("ALIYUN".into()),
            TypeFilter::Exact(rds()),
            product("ALIYUN", "ECS"),
            TypeFilter::AnyOf(vec![
                TypeFilter::Exact(bcc.clone()),
                product("ALIYUN", "RDS"),
            ]),
        ] {
            for limit in [1, 31, 32, 33, 63, 64, 65, 100, 129, 1000] {
                let mut q = ResourceQuery {
                    tags: tags.clone(),
                    types: types.clone(),
                    limit,
                    ..query(&a)
                };
                for page in 0..12 {
                    let want = reference.query(q.clone()).await.expect("ref");
                    let got = store.query(q.clone()).await.expect("engine");
                    assert_eq!(
                        ids_of(&got),
                        ids_of(&want),
                        "page {page} of {tags:?}, {types:?}, limit {limit}"
                    );
                    assert_eq!(got, want);
                    let Some(last) = got.last() else { break };
                    if got.len() < limit {
                        break;
                    }
                    q.start = Some(Cursor {
                        resource_type: last.resource.resource_type.clone(),
                        id: last.resource.id.clone(),
                        inclusive: false,
                    });
                }
            }
        }
    }
}

fn keys_query(acct: &AccountId, types: TypeFilter, matching: TextMatch) -> KeyQuery {
    KeyQuery {
        account: acct.clone(),
        region: region("cn-hangzhou"),
        types,
        matching,
        after: None,
        limit: 100,
    }
}

fn values_query(acct: &AccountId, key: &str, matching: TextMatch) -> ValueQuery {
    ValueQuery {
        account: acct.clone(),
        region: region("cn-hangzhou"),
        types: TypeFilter::Namespace("ALIYUN".into()),
        key: key.into(),
        matching,
        after: None,
        limit: 100,
    }
}

fn ns() -> TypeFilter {
    TypeFilter::Namespace("ALIYUN".into())
}

/// Keys and values appear with the first resource that carries them and drop out with the last.
pub async fn catalogue_follows_resources<S: Store>(store: S) {
    let a = account(1);
    let r1 = res(&rds(), "rm-1");
    let r2 = res(&ecs(), "i-1");
    apply(
        &store,
        &a,
        vec![
            (
                r1.clone(),
                TagOp::Set(tags(&[("env", "prod"), ("team", "x")])),
            ),
            (
                r2.clone(),
                TagOp::Set(tags(&[("env", "dev"), ("acs:rm:rgId", "rg")])),
            ),
        ],
    )
    .await;
    let keys = store
        .list_tag_keys(keys_query(&a, ns(), TextMatch::Any))
        .await
        .expect("keys");
    assert_eq!(keys, vec!["acs:rm:rgId", "env", "team"]);
    let keys_of = |types: TypeFilter| store.list_tag_keys(keys_query(&a, types, TextMatch::Any));
    assert_eq!(
        keys_of(product("ALIYUN", "ECS")).await.expect("keys"),
        vec!["acs:rm:rgId", "env"],
        "one product's keys"
    );
    let any = TypeFilter::AnyOf(vec![product("ALIYUN", "VPC"), TypeFilter::Exact(rds())]);
    assert_eq!(
        keys_of(any).await.expect("keys"),
        vec!["env", "team"],
        "any of several types"
    );
    assert!(
        keys_of(TypeFilter::AnyOf(Vec::new()))
            .await
            .expect("keys")
            .is_empty(),
        "any of none"
    );
    let mut ecs_values = values_query(&a, "env", TextMatch::Any);
    ecs_values.types = product("ALIYUN", "ECS");
    assert_eq!(
        store.list_tag_values(ecs_values).await.expect("values"),
        vec!["dev"],
        "one product's values"
    );
    let values = store
        .list_tag_values(values_query(&a, "env", TextMatch::Any))
        .await
        .expect("values");
    assert_eq!(values, vec!["dev", "prod"]);
    apply(
        &store,
        &a,
        vec![(r1.clone(), TagOp::Remove(vec!["team".into()]))],
    )
    .await;
    apply(
        &store,
        &a,
        vec![(r2.clone(), TagOp::Set(tags(&[("env", "prod")])))],
    )
    .await;
    let keys = store
        .list_tag_keys(keys_query(&a, ns(), TextMatch::Any))
        .await
        .expect("keys");
    assert_eq!(
        keys,
        vec!["acs:rm:rgId", "env"],
        "team dropped out with its last carrier"
    );
    let values = store
        .list_tag_values(values_query(&a, "env", TextMatch::Any))
        .await
        .expect("values");
    assert_eq!(values, vec!["prod"], "dev dropped out");
    let other = store
        .list_tag_keys(keys_query(&account(2), ns(), TextMatch::Any))
        .await
        .expect("keys");
    assert!(other.is_empty(), "another account sees nothing");
    let mut elsewhere = keys_query(&a, ns(), TextMatch::Any);
    elsewhere.region = region("cn-beijing");
    assert!(
        store
            .list_tag_keys(elsewhere)
            .await
            .expect("keys")
            .is_empty(),
        "another region sees nothing"
    );
}

pub async fn catalogue_filters_and_paging<S: Store>(store: S) {
    let a = account(1);
    let bce = ResourceType::new("BCE", "BCC", "INSTANCE").expect("type");
    apply(
        &store,
        &a,
        vec![
            (
                res(&rds(), "rm-1"),
                TagOp::Set(tags(&[("env", "prod"), ("envoy", "a"), ("owner", "ann")])),
            ),
            (
                res(&ecs(), "i-1"),
                TagOp::Set(tags(&[("ecs-only", "1"), ("env", "edge")])),
            ),
            (
                res(&bce, "b-1"),
                TagOp::Set(tags(&[("bce-only", "1"), ("env", "bce")])),
            ),
        ],
    )
    .await;
    let list = |types: TypeFilter, m: TextMatch| store.list_tag_keys(keys_query(&a, types, m));
    assert_eq!(
        list(ns(), TextMatch::Any).await.expect("k"),
        vec!["ecs-only", "env", "envoy", "owner"],
        "namespace"
    );
    assert_eq!(
        list(TypeFilter::Exact(rds()), TextMatch::Any)
            .await
            .expect("k"),
        vec!["env", "envoy", "owner"],
        "exact type"
    );
    assert_eq!(
        list(ns(), TextMatch::Prefix("env".into()))
            .await
            .expect("k"),
        vec!["env", "envoy"]
    );
    assert_eq!(
        list(ns(), TextMatch::Exact("env".into())).await.expect("k"),
        vec!["env"]
    );
    assert!(
        list(ns(), TextMatch::Exact("en".into()))
            .await
            .expect("k")
            .is_empty()
    );
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let q = KeyQuery {
            after: after.clone(),
            limit: 1,
            ..keys_query(&a, ns(), TextMatch::Any)
        };
        let page = store.list_tag_keys(q).await.expect("page");
        let Some(last) = page.last() else { break };
        after = Some(last.clone());
        paged.extend(page);
    }
    assert_eq!(
        paged,
        vec!["ecs-only", "env", "envoy", "owner"],
        "paging with after"
    );
    let values = |m: TextMatch| store.list_tag_values(values_query(&a, "env", m));
    assert_eq!(
        values(TextMatch::Any).await.expect("v"),
        vec!["edge", "prod"]
    );
    assert_eq!(
        values(TextMatch::Prefix("pr".into())).await.expect("v"),
        vec!["prod"]
    );
    let rds_only = ValueQuery {
        types: TypeFilter::Exact(rds()),
        ..values_query(&a, "env", TextMatch::Any)
    };
    assert_eq!(
        store.list_tag_values(rds_only).await.expect("v"),
        vec!["prod"]
    );
    let after_edge = ValueQuery {
        after: Some("edge".into()),
        ..values_query(&a, "env", TextMatch::Any)
    };
    assert_eq!(
        store.list_tag_values(after_edge).await.expect("v"),
        vec!["prod"]
    );
}

pub async fn presets<S: Store>(store: S) {
    let a = account(1);
    let value = |v: &str| PresetValue {
        value: v.into(),
        description: format!("{v} desc"),
    };
    let preset = |k: &str, values: Vec<PresetValue>| PresetKey {
        key: k.into(),
        description: format!("{k} key"),
        values,
    };
    store
        .put_presets(
            &a,
            vec![
                preset("env", vec![value("prod"), value("dev")]),
                preset("team", vec![]),
            ],
        )
        .await
        .expect("put");
    store
        .put_presets(
            &a,
            vec![PresetKey {
                description: "new".into(),
                ..preset("team", vec![value("x")])
            }],
        )
        .await
        .expect("update");
    let keys = store
        .list_preset_keys(&a, TextMatch::Any, None, 10)
        .await
        .expect("keys");
    assert_eq!(
        keys,
        vec![
            PresetKeyInfo {
                key: "env".into(),
                description: "env key".into()
            },
            PresetKeyInfo {
                key: "team".into(),
                description: "new".into()
            },
        ]
    );
    assert_eq!(
        store
            .list_preset_keys(&a, TextMatch::Any, Some("env".into()), 10)
            .await
            .expect("k")
            .len(),
        1
    );
    assert_eq!(
        store
            .list_preset_keys(&a, TextMatch::Prefix("te".into()), None, 10)
            .await
            .expect("k")
            .len(),
        1
    );
    assert!(
        store
            .list_preset_keys(&account(2), TextMatch::Any, None, 10)
            .await
            .expect("k")
            .is_empty()
    );
    let env = store
        .list_preset_values(&a, "env", TextMatch::Any, None, 10)
        .await
        .expect("v");
    assert_eq!(env, Some(vec!["dev".to_owned(), "prod".to_owned()]));
    assert_eq!(
        store
            .list_preset_values(&a, "nope", TextMatch::Any, None, 10)
            .await
            .expect("v"),
        None
    );
    assert_eq!(
        store.delete_preset(&a, "env", None).await.expect("d"),
        PresetDelete::KeyHasValues
    );
    assert_eq!(
        store.delete_preset(&a, "env", Some("zz")).await.expect("d"),
        PresetDelete::ValueNotFound
    );
    assert_eq!(
        store.delete_preset(&a, "nope", None).await.expect("d"),
        PresetDelete::KeyNotFound
    );
    assert_eq!(
        store
            .delete_preset(&a, "env", Some("dev"))
            .await
            .expect("d"),
        PresetDelete::Deleted
    );
    assert_eq!(
        store
            .delete_preset(&a, "env", Some("prod"))
            .await
            .expect("d"),
        PresetDelete::Deleted
    );
    assert_eq!(
        store.delete_preset(&a, "env", None).await.expect("d"),
        PresetDelete::Deleted
    );
    let keys = store
        .list_preset_keys(&a, TextMatch::Any, None, 10)
        .await
        .expect("keys");
    assert_eq!(keys.len(), 1);
    let in_use = store
        .list_tag_keys(keys_query(&a, ns(), TextMatch::Any))
        .await
        .expect("keys");
    assert!(in_use.is_empty(), "presets are not tags in use");
}

fn bce() -> ResourceType {
    ResourceType::new("BCE", "BCC", "RESOURCE").expect("type")
}

fn bce_res(region_name: &str, id: &str) -> ResourceRef {
    ResourceRef {
        region: region(region_name),
        resource_type: bce(),
        id: ResourceId::parse(id).expect("id"),
    }
}

fn catalogue_set(
    acct: &AccountId,
    create: &[(&str, &str)],
    delete: &[(&str, &str)],
    quota: usize,
    changes: Vec<(ResourceRef, TagOp)>,
) -> ChangeSet {
    ChangeSet {
        catalogue: Some(CatalogueChange {
            namespace: "BCE".into(),
            create: tags(create),
            delete: tags(delete),
            quota,
        }),
        ..change_set(acct, changes, Atomicity::AllOrNothing)
    }
}

async fn catalogue_of<S: Store>(store: &S, acct: &AccountId) -> Vec<(String, String, u64)> {
    let tags = store
        .list_catalogue(acct, "BCE", None, None)
        .await
        .expect("catalogue");
    tags.into_iter().map(|t| (t.key, t.value, t.id)).collect()
}

pub async fn explicit_catalogue_ids_and_quota<S: Store>(store: S) {
    let a = account(1);
    let r = store
        .apply(catalogue_set(
            &a,
            &[("env", "prod"), ("env", "dev"), ("env", "prod")],
            &[],
            3,
            vec![],
        ))
        .await;
    assert_eq!(r.expect("apply"), ApplyReport::default());
    let first = catalogue_of(&store, &a).await;
    let keys: Vec<(&str, &str)> = first
        .iter()
        .map(|(k, v, _)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        keys,
        vec![("env", "dev"), ("env", "prod")],
        "ordered, duplicates once"
    );
    assert_ne!(first[0].2, first[1].2, "distinct ids");
    // Re-creating existing tags is skipped and keeps their ids, even at the limit.
    store
        .apply(catalogue_set(
            &a,
            &[("env", "prod"), ("team", "x")],
            &[],
            3,
            vec![],
        ))
        .await
        .expect("apply");
    let now = catalogue_of(&store, &a).await;
    assert_eq!(now.len(), 3);
    assert_eq!(
        now.iter().find(|t| t.1 == "prod").map(|t| t.2),
        Some(first[1].2),
        "stable id"
    );
    let at_limit = store
        .apply(catalogue_set(&a, &[("env", "prod")], &[], 3, vec![]))
        .await
        .expect("apply");
    assert!(!at_limit.catalogue_full, "nothing new at the limit is fine");
    let over = store
        .apply(catalogue_set(
            &a,
            &[("owner", "ann"), ("env", "dev")],
            &[],
            3,
            vec![],
        ))
        .await
        .expect("apply");
    assert!(over.catalogue_full);
    assert_eq!(catalogue_of(&store, &a).await, now, "nothing created");
    assert!(
        catalogue_of(&store, &account(2)).await.is_empty(),
        "per account"
    );
    // Ids are never reused.
    store
        .apply(catalogue_set(&a, &[], &[("team", "x")], 3, vec![]))
        .await
        .expect("delete");
    store
        .apply(catalogue_set(&a, &[("team", "x")], &[], 3, vec![]))
        .await
        .expect("recreate");
    let team = catalogue_of(&store, &a)
        .await
        .into_iter()
        .find(|t| t.0 == "team")
        .expect("team");
    assert!(
        now.iter().all(|t| t.2 != team.2),
        "a new id for a re-created tag"
    );
    assert_eq!(
        store
            .list_catalogue(&a, "BCE", Some("env"), None)
            .await
            .expect("c")
            .len(),
        2
    );
    assert_eq!(
        store
            .list_catalogue(&a, "BCE", Some("env"), Some("dev"))
            .await
            .expect("c")
            .len(),
        1
    );
    assert_eq!(
        store
            .list_catalogue(&a, "BCE", None, Some("x"))
            .await
            .expect("c")
            .len(),
        1
    );
}

pub async fn explicit_catalogue_delete_unbinds_everywhere<S: Store>(store: S) {
    let a = account(1);
    let bind = |r: ResourceRef| (r, TagOp::Set(tags(&[("env", "prod"), ("team", "x")])));
    let binding = catalogue_set(
        &a,
        &[("env", "prod"), ("team", "x")],
        &[],
        200,
        vec![bind(bce_res("bj", "i-1")), bind(bce_res("gz", "i-2"))],
    );
    assert_eq!(
        store.apply(binding).await.expect("apply"),
        ApplyReport::default()
    );
    // An Alibaba resource with the same key and value is not the catalogue's.
    apply(
        &store,
        &a,
        vec![(res(&rds(), "rm-1"), TagOp::Set(tags(&[("env", "prod")])))],
    )
    .await;
    let mut regions: Vec<String> = store
        .list_regions(&a)
        .await
        .expect("regions")
        .iter()
        .map(|r| r.as_str().to_owned())
        .collect();
    regions.sort();
    assert_eq!(regions, vec!["bj", "cn-hangzhou", "gz"]);
    store
        .apply(catalogue_set(
            &a,
            &[],
            &[("env", "prod"), ("nope", "x")],
            200,
            vec![],
        ))
        .await
        .expect("delete");
    for r in [bce_res("bj", "i-1"), bce_res("gz", "i-2")] {
        assert_eq!(
            store.get_tags(&a, &r).await.expect("read"),
            set(&[("team", "x")]),
            "unbound in {}",
            r.region
        );
    }
    assert_eq!(
        store
            .get_tags(&a, &res(&rds(), "rm-1"))
            .await
            .expect("read"),
        set(&[("env", "prod")])
    );
    let q = ResourceQuery {
        region: region("bj"),
        types: TypeFilter::Namespace("BCE".into()),
        tags: vec![filter("env", None)],
        ..query(&a)
    };
    assert!(
        store.query(q).await.expect("q").is_empty(),
        "the index follows"
    );
    let left: Vec<String> = catalogue_of(&store, &a)
        .await
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert_eq!(left, vec!["team"]);
}

pub async fn explicit_catalogue_is_all_or_nothing_with_resources<S: Store>(store: S) {
    let a = account(1);
    let many: Vec<Tag> = (0..1000)
        .map(|i| Tag::new(format!("k{i:04}"), "v"))
        .collect();
    let full = bce_res("bj", "i-full");
    apply(&store, &a, vec![(full.clone(), TagOp::Set(many))]).await;
    // A new catalogue tag plus a bind that overflows one resource: neither happens.
    let set = catalogue_set(
        &a,
        &[("extra", "1")],
        &[],
        200,
        vec![
            (bce_res("bj", "i-ok"), TagOp::Set(tags(&[("extra", "1")]))),
            (full.clone(), TagOp::Set(tags(&[("extra", "1")]))),
        ],
    );
    let report = store.apply(set).await.expect("apply");
    assert_eq!(report.failures.len(), 1);
    assert!(
        catalogue_of(&store, &a).await.is_empty(),
        "catalogue untouched"
    );
    assert!(
        store
            .get_tags(&a, &bce_res("bj", "i-ok"))
            .await
            .expect("read")
            .is_empty()
    );
    // And a quota failure leaves the resource changes out too.
    let set = catalogue_set(
        &a,
        &[("a", "1"), ("b", "2")],
        &[],
        1,
        vec![(bce_res("bj", "i-ok"), TagOp::Set(tags(&[("a", "1")])))],
    );
    assert!(store.apply(set).await.expect("apply").catalogue_full);
    assert!(
        store
            .get_tags(&a, &bce_res("bj", "i-ok"))
            .await
            .expect("read")
            .is_empty()
    );
}

impl FromIterator<Tag> for TagSet {
    fn from_iter<I: IntoIterator<Item = Tag>>(iter: I) -> Self {
        TagSet::from_tags(iter)
    }
}

async fn uuid_of<S: Store>(store: &S, a: &AccountId, r: &ResourceRef) -> Option<String> {
    store
        .get_tags(a, r)
        .await
        .expect("read")
        .uuid()
        .map(str::to_owned)
}

/// Replaces `r`'s tags with `pairs` and records `uuid`, creating `create` in the catalogue.
async fn replace_with_uuid<S: Store>(
    store: &S,
    a: &AccountId,
    r: &ResourceRef,
    create: &[(&str, &str)],
    pairs: &[(&str, &str)],
    uuid: &str,
) {
    let op = TagOp::Replace {
        tags: tags(pairs),
        uuid: uuid.into(),
    };
    store
        .apply(catalogue_set(a, create, &[], 10, vec![(r.clone(), op)]))
        .await
        .expect("replace");
}

/// Baidu's createAndAssign records the resource's uuid with its tags: reads and queries return
/// it, other changes keep it, a later replace overwrites (or, empty, clears) it, and it goes
/// when the resource loses its last tag.
pub async fn a_replace_records_the_uuid<S: Store>(store: S) {
    let a = account(1);
    let r = bce_res("bj", "i-uuid");
    replace_with_uuid(
        &store,
        &a,
        &r,
        &[("env", "prod")],
        &[("env", "prod")],
        "u-1",
    )
    .await;
    assert_eq!(uuid_of(&store, &a, &r).await.as_deref(), Some("u-1"));
    let found = store
        .query(ResourceQuery {
            types: TypeFilter::Namespace("BCE".into()),
            region: region("bj"),
            ..query(&a)
        })
        .await
        .expect("query");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].tags.uuid(), Some("u-1"), "queries carry it");
    // Other changes keep it.
    apply(
        &store,
        &a,
        vec![(r.clone(), TagOp::Set(tags(&[("team", "a")])))],
    )
    .await;
    assert_eq!(uuid_of(&store, &a, &r).await.as_deref(), Some("u-1"));
    // A replace with the same tags and another uuid is still a change.
    replace_with_uuid(
        &store,
        &a,
        &r,
        &[],
        &[("env", "prod"), ("team", "a")],
        "u-2",
    )
    .await;
    assert_eq!(uuid_of(&store, &a, &r).await.as_deref(), Some("u-2"));
    // An empty uuid clears it.
    replace_with_uuid(&store, &a, &r, &[], &[("env", "prod")], "").await;
    assert_eq!(uuid_of(&store, &a, &r).await, None);
    // The last tag takes it along: tagging the resource again starts without one.
    replace_with_uuid(&store, &a, &r, &[], &[("env", "prod")], "u-3").await;
    apply(&store, &a, vec![(r.clone(), TagOp::RemoveAll)]).await;
    apply(
        &store,
        &a,
        vec![(r.clone(), TagOp::Set(tags(&[("env", "dev")])))],
    )
    .await;
    assert_eq!(uuid_of(&store, &a, &r).await, None);
}

//! The shared store conformance suite against a real PostgreSQL server.
//!
//! The database is `TAGD_TEST_DATABASE_URL`, by default the machine's own server
//! (`postgres://postgres@127.0.0.1:5432/test`, as CI has it). Each test gets a schema of its
//! own, dropped when it ends, so tests run side by side. A server that cannot be reached fails
//! the tests: they are never skipped.

use std::str::FromStr as _;

use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tagd_store_pg::PgStore;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn url() -> String {
    std::env::var("TAGD_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Drops the test's schema when the test ends.
struct Schema {
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let name = self.name.clone();
        // The test's runtime may be going away: a thread of its own with its own runtime.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut conn = PgConnection::connect(&url()).await.expect("connect");
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {name} CASCADE")))
                    .execute(&mut conn)
                    .await
                    .expect("drop schema");
            });
        })
        .join();
        if dropped.is_err() {
            eprintln!("could not drop test schema {}", self.name);
        }
    }
}

async fn make() -> (PgStore, Schema) {
    let (options, schema) = fresh_schema().await;
    let store = PgStore::connect_with(options, 4).await.expect("open store");
    (store, schema)
}

/// A new schema, and the options of a connection that works in it.
async fn fresh_schema() -> (PgConnectOptions, Schema) {
    let url = url();
    let name = format!("tagd_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} (TAGD_TEST_DATABASE_URL): {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
        .execute(&mut conn)
        .await
        .expect("create schema");
    let options = PgConnectOptions::from_str(&url)
        .expect("url")
        .options([("search_path", name.as_str())]);
    (options, Schema { name })
}

tagd_core::store_conformance!(make);

/// Several tagd nodes on one database: each with its own pool, as separate processes would be.
mod nodes {
    use tagd_core::{
        AccountId, Atomicity, ChangeSet, Region, ResourceChange, ResourceId, ResourceRef,
        ResourceType, Store as _, Tag, TagOp,
    };

    use tagd_store_pg::{account_lock_key, resource_lock_key};

    use super::*;

    fn hot() -> ResourceRef {
        ResourceRef {
            region: Region::parse("cn-hangzhou").expect("region"),
            resource_type: ResourceType::new("ALIYUN", "RDS", "INSTANCE").expect("type"),
            id: ResourceId::parse("rm-hot").expect("id"),
        }
    }

    fn set(account: &AccountId, key: String) -> ChangeSet {
        ChangeSet {
            account: account.clone(),
            changes: vec![ResourceChange {
                resource: hot(),
                op: TagOp::Set(vec![Tag::new(key, "v")]),
            }],
            atomicity: Atomicity::AllOrNothing,
            require_registered: false,
            catalogue: None,
        }
    }

    /// Writers on three nodes at once: each change set meets the state the one before it
    /// left, whichever node ran it, so exactly the limit's worth of new keys gets in.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_limit_holds_across_nodes() {
        let (options, _schema) = fresh_schema().await;
        let mut nodes = Vec::new();
        for _ in 0..3 {
            nodes.push(
                PgStore::connect_with(options.clone(), 3)
                    .await
                    .expect("node"),
            );
        }
        let account = AccountId::parse("1000000000000001").expect("account");
        let mut tasks = Vec::new();
        for i in 0..45 {
            let (node, account) = (nodes[i % 3].clone(), account.clone());
            tasks.push(tokio::spawn(async move {
                node.apply(set(&account, format!("k{i:02}"))).await
            }));
        }
        let mut ok = 0;
        for task in tasks {
            if task
                .await
                .expect("task")
                .expect("apply")
                .failures
                .is_empty()
            {
                ok += 1;
            }
        }
        assert_eq!(ok, 20);
        for node in &nodes {
            assert_eq!(
                node.get_tags(&account, &hot()).await.expect("read").len(),
                20
            );
        }
    }

    fn on(id: &str, key: &str) -> (ResourceRef, ChangeSet) {
        let resource = ResourceRef {
            id: ResourceId::parse(id).expect("id"),
            ..hot()
        };
        let account = AccountId::parse("1000000000000777").expect("account");
        let changes = ChangeSet {
            account,
            changes: vec![ResourceChange {
                resource: resource.clone(),
                op: TagOp::Set(vec![Tag::new(key, "v")]),
            }],
            atomicity: Atomicity::AllOrNothing,
            require_registered: false,
            catalogue: None,
        };
        (resource, changes)
    }

    /// Waits (at most 30 s) until some session waits for the advisory lock `key`.
    async fn someone_waits_for(conn: &mut PgConnection, key: i64) {
        let bits = u64::from_ne_bytes(key.to_ne_bytes());
        for _ in 0..3000 {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                 AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1",
            )
            .bind(i64::try_from(bits >> 32).expect("high half"))
            .bind(i64::try_from(bits & 0xffff_ffff).expect("low half"))
            .fetch_one(&mut *conn)
            .await
            .expect("pg_locks");
            if waiting > 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("nobody waits for lock {key}");
    }

    /// A change set waits for another write to one of its resources, or for a write across
    /// its account (a catalogue change), whichever node holds it, and for nothing else: a
    /// write to another resource of the account goes through meanwhile.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writers_wait_for_their_resources_and_account_wide_writes_only() {
        let (options, _schema) = fresh_schema().await;
        let node = PgStore::connect_with(options.clone(), 4)
            .await
            .expect("node");
        let mut other = PgConnection::connect_with(&options).await.expect("connect");
        let mut watcher = PgConnection::connect_with(&options).await.expect("connect");
        let bound = std::time::Duration::from_secs(30);
        let (a, on_a) = on("rm-a", "first");
        let (_, on_b) = on("rm-b", "first");
        let account = on_a.account.clone();

        // Another node is writing rm-a.
        let mut tx = sqlx::Connection::begin(&mut other).await.expect("begin");
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(resource_lock_key(&account, &a))
            .execute(&mut *tx)
            .await
            .expect("lock rm-a");
        let report = tokio::time::timeout(bound, node.apply(on_b))
            .await
            .expect("a write to rm-b does not wait for rm-a's")
            .expect("apply");
        assert!(report.failures.is_empty());
        waits_until_released(
            &node,
            &mut watcher,
            tx,
            on_a,
            resource_lock_key(&account, &a),
        )
        .await;

        // Another node is changing the account's catalogue: every write of the account waits.
        let (c, on_c) = on("rm-c", "first");
        let mut tx = sqlx::Connection::begin(&mut other).await.expect("begin");
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(account_lock_key(&account))
            .execute(&mut *tx)
            .await
            .expect("lock the account");
        waits_until_released(&node, &mut watcher, tx, on_c, account_lock_key(&account)).await;
        let tags = node.get_tags(&account, &c).await.expect("read");
        assert_eq!(tags.get("first"), Some("v"));
    }

    /// `changes` waits while `holder` holds the lock `key`, then goes through once it commits.
    async fn waits_until_released(
        node: &PgStore,
        watcher: &mut PgConnection,
        holder: sqlx::Transaction<'_, sqlx::Postgres>,
        changes: ChangeSet,
        key: i64,
    ) {
        let waiting = tokio::spawn({
            let node = node.clone();
            async move { node.apply(changes).await }
        });
        someone_waits_for(watcher, key).await;
        assert!(!waiting.is_finished(), "the write waits for lock {key}");
        holder.commit().await.expect("commit");
        let report = tokio::time::timeout(std::time::Duration::from_secs(30), waiting)
            .await
            .expect("then goes through")
            .expect("task")
            .expect("apply");
        assert!(report.failures.is_empty());
    }

    /// What one node acknowledged, every node reads at once; they seal page tokens with the
    /// same key, so a token from one is good on another.
    #[tokio::test]
    async fn nodes_see_one_state_and_one_token_key() {
        let (options, _schema) = fresh_schema().await;
        let first = PgStore::connect_with(options.clone(), 2)
            .await
            .expect("node");
        let second = PgStore::connect_with(options, 2).await.expect("node");
        let account = AccountId::parse("1000000000000001").expect("account");
        let report = first
            .apply(set(&account, "env".into()))
            .await
            .expect("apply");
        assert!(report.failures.is_empty());
        let tags = second.get_tags(&account, &hot()).await.expect("read");
        assert_eq!(tags.get("env"), Some("v"));
        assert_eq!(
            first.token_key().await.expect("key"),
            second.token_key().await.expect("key")
        );
    }
}

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

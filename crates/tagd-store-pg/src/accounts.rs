//! Accounts, their access keys, registered resources and the page-token key.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row as _};
use tagd_core::{AccessKeyId, Account, AccountId, Credential, ResourceRef, SecretKey, StoreError};

use crate::sql::{self, db_error};

fn account_of(row: &PgRow) -> Result<Account, StoreError> {
    let get = |e: sqlx::Error| db_error(&e);
    let id: String = row.try_get("id").map_err(get)?;
    let created_at: i64 = row.try_get("created_at").map_err(get)?;
    Ok(Account {
        id: AccountId::parse(&id).ok_or_else(|| sql::corrupt("account id"))?,
        name: row.try_get("name").map_err(get)?,
        root: row.try_get("root").map_err(get)?,
        created_at: u64::try_from(created_at).map_err(|_| sql::corrupt("account"))?,
    })
}

fn key_of(row: &PgRow) -> Result<Credential, StoreError> {
    let get = |e: sqlx::Error| db_error(&e);
    let id: String = row.try_get("id").map_err(get)?;
    let account: String = row.try_get("account_id").map_err(get)?;
    let secret: String = row.try_get("secret").map_err(get)?;
    let created_at: i64 = row.try_get("created_at").map_err(get)?;
    Ok(Credential {
        access_key_id: AccessKeyId::parse(&id).ok_or_else(|| sql::corrupt("access key id"))?,
        secret: SecretKey::new(secret).ok_or_else(|| sql::corrupt("secret"))?,
        account_id: AccountId::parse(&account).ok_or_else(|| sql::corrupt("account id"))?,
        enabled: row.try_get("enabled").map_err(get)?,
        created_at: u64::try_from(created_at).map_err(|_| sql::corrupt("access key"))?,
    })
}

fn seconds(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}

/// Creates the account with its first key; `Conflict` if either id exists (nothing is written).
pub(crate) async fn create_account(
    pool: &PgPool,
    account: &Account,
    key: &Credential,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(|e| db_error(&e))?;
    let made = sqlx::query(
        "INSERT INTO accounts (id, name, root, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(account.id.as_str())
    .bind(&account.name)
    .bind(account.root)
    .bind(seconds(account.created_at))
    .execute(&mut *tx)
    .await
    .map_err(|e| db_error(&e))?;
    if made.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "account {} exists",
            account.id.as_str()
        )));
    }
    let made = sqlx::query(
        "INSERT INTO access_keys (id, account_id, secret, enabled, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(key.access_key_id.as_str())
    .bind(key.account_id.as_str())
    .bind(key.secret.expose())
    .bind(key.enabled)
    .bind(seconds(key.created_at))
    .execute(&mut *tx)
    .await
    .map_err(|e| db_error(&e))?;
    if made.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "access key {} exists",
            key.access_key_id.as_str()
        )));
    }
    tx.commit().await.map_err(|e| db_error(&e))
}

pub(crate) async fn get_account(
    pool: &PgPool,
    id: &AccountId,
) -> Result<Option<Account>, StoreError> {
    let row = sqlx::query("SELECT id, name, root, created_at FROM accounts WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(pool)
        .await
        .map_err(|e| db_error(&e))?;
    row.as_ref().map(account_of).transpose()
}

pub(crate) async fn list_accounts(pool: &PgPool) -> Result<Vec<Account>, StoreError> {
    let rows = sqlx::query("SELECT id, name, root, created_at FROM accounts ORDER BY id")
        .fetch_all(pool)
        .await
        .map_err(|e| db_error(&e))?;
    rows.iter().map(account_of).collect()
}

/// Stores a key, replacing one with the same id; `Conflict` if its account does not exist.
pub(crate) async fn put_key(pool: &PgPool, key: &Credential) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO access_keys (id, account_id, secret, enabled, created_at) \
         SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $2) \
         ON CONFLICT (id) DO UPDATE SET account_id = EXCLUDED.account_id, \
         secret = EXCLUDED.secret, enabled = EXCLUDED.enabled, created_at = EXCLUDED.created_at",
    )
    .bind(key.access_key_id.as_str())
    .bind(key.account_id.as_str())
    .bind(key.secret.expose())
    .bind(key.enabled)
    .bind(seconds(key.created_at))
    .execute(pool)
    .await
    .map_err(|e| db_error(&e))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict("no such account".into()));
    }
    Ok(())
}

pub(crate) async fn get_key(
    pool: &PgPool,
    id: &AccessKeyId,
) -> Result<Option<Credential>, StoreError> {
    let row = sqlx::query(
        "SELECT id, account_id, secret, enabled, created_at FROM access_keys WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(pool)
    .await
    .map_err(|e| db_error(&e))?;
    row.as_ref().map(key_of).transpose()
}

pub(crate) async fn list_keys(
    pool: &PgPool,
    account: &AccountId,
) -> Result<Vec<Credential>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, account_id, secret, enabled, created_at FROM access_keys \
         WHERE account_id = $1 ORDER BY id",
    )
    .bind(account.as_str())
    .fetch_all(pool)
    .await
    .map_err(|e| db_error(&e))?;
    rows.iter().map(key_of).collect()
}

pub(crate) async fn register_resource(
    pool: &PgPool,
    account: &AccountId,
    resource: &ResourceRef,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO registered (account, region, rtype, rid) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(account.as_str())
    .bind(resource.region.as_str())
    .bind(resource.resource_type.as_str())
    .bind(resource.id.as_str())
    .execute(pool)
    .await
    .map_err(|e| db_error(&e))?;
    Ok(())
}

/// The key that seals page tokens: made by the first node that asks, then the same for every
/// node and every restart.
pub(crate) async fn token_key(pool: &PgPool) -> Result<[u8; 32], StoreError> {
    let fresh: [u8; 32] = tagd_core::account::random_bytes();
    sqlx::query("INSERT INTO meta (name, value) VALUES ('token_key', $1) ON CONFLICT DO NOTHING")
        .bind(fresh.to_vec())
        .execute(pool)
        .await
        .map_err(|e| db_error(&e))?;
    let stored: Vec<u8> = sqlx::query_scalar("SELECT value FROM meta WHERE name = 'token_key'")
        .fetch_one(pool)
        .await
        .map_err(|e| db_error(&e))?;
    stored.try_into().map_err(|_| sql::corrupt("token key"))
}

//! Account-wide tag catalogues: Alibaba's preset keys and values, and the explicit catalogue
//! of a namespace (Baidu's) as it is listed (its changes go with change sets, `apply.rs`).

use sqlx::{PgPool, Postgres, QueryBuilder, Row as _};
use tagd_core::AccountId;
use tagd_core::StoreError;
use tagd_core::catalogue::{PresetDelete, PresetKey, PresetKeyInfo, TextMatch};
use tagd_core::change::CatalogueTag;

use crate::sql::{self, db_error};

pub(crate) async fn put_presets(
    pool: &PgPool,
    account: &AccountId,
    presets: &[PresetKey],
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(|e| db_error(&e))?;
    sql::lock_account(&mut tx, account).await?;
    for preset in presets {
        sqlx::query(
            "INSERT INTO preset_keys (account, key, description) VALUES ($1, $2, $3) \
             ON CONFLICT (account, key) DO UPDATE SET description = EXCLUDED.description",
        )
        .bind(account.as_str())
        .bind(preset.key.as_bytes())
        .bind(preset.description.as_bytes())
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(&e))?;
        for value in &preset.values {
            sqlx::query(
                "INSERT INTO preset_values (account, key, value, description) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (account, key, value) \
                 DO UPDATE SET description = EXCLUDED.description",
            )
            .bind(account.as_str())
            .bind(preset.key.as_bytes())
            .bind(value.value.as_bytes())
            .bind(value.description.as_bytes())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(&e))?;
        }
    }
    tx.commit().await.map_err(|e| db_error(&e))
}

pub(crate) async fn delete_preset(
    pool: &PgPool,
    account: &AccountId,
    key: &str,
    value: Option<&str>,
) -> Result<PresetDelete, StoreError> {
    let mut tx = pool.begin().await.map_err(|e| db_error(&e))?;
    sql::lock_account(&mut tx, account).await?;
    if !preset_key_exists(&mut tx, account, key).await? {
        return Ok(PresetDelete::KeyNotFound);
    }
    let outcome = match value {
        Some(value) => {
            let gone = sqlx::query(
                "DELETE FROM preset_values WHERE account = $1 AND key = $2 AND value = $3",
            )
            .bind(account.as_str())
            .bind(key.as_bytes())
            .bind(value.as_bytes())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error(&e))?;
            if gone.rows_affected() == 0 {
                PresetDelete::ValueNotFound
            } else {
                PresetDelete::Deleted
            }
        }
        None => {
            let has_values: Option<i32> = sqlx::query_scalar(
                "SELECT 1 FROM preset_values WHERE account = $1 AND key = $2 LIMIT 1",
            )
            .bind(account.as_str())
            .bind(key.as_bytes())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| db_error(&e))?;
            if has_values.is_some() {
                PresetDelete::KeyHasValues
            } else {
                sqlx::query("DELETE FROM preset_keys WHERE account = $1 AND key = $2")
                    .bind(account.as_str())
                    .bind(key.as_bytes())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| db_error(&e))?;
                PresetDelete::Deleted
            }
        }
    };
    tx.commit().await.map_err(|e| db_error(&e))?;
    Ok(outcome)
}

pub(crate) async fn list_preset_keys(
    pool: &PgPool,
    account: &AccountId,
    matching: &TextMatch,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<PresetKeyInfo>, StoreError> {
    let mut b =
        QueryBuilder::<Postgres>::new("SELECT key, description FROM preset_keys WHERE account = ");
    b.push_bind(account.as_str().to_owned());
    sql::push_match(&mut b, "key", matching);
    if let Some(after) = after {
        b.push(" AND key > ");
        b.push_bind(after.as_bytes().to_vec());
    }
    b.push(" ORDER BY key LIMIT ");
    b.push_bind(sql::limit(limit));
    let rows = b.build().fetch_all(pool).await.map_err(|e| db_error(&e))?;
    rows.into_iter()
        .map(|row| {
            let get = |e: sqlx::Error| db_error(&e);
            Ok(PresetKeyInfo {
                key: sql::text(row.try_get("key").map_err(get)?, "preset key")?,
                description: sql::text(row.try_get("description").map_err(get)?, "description")?,
            })
        })
        .collect()
}

pub(crate) async fn list_preset_values(
    pool: &PgPool,
    account: &AccountId,
    key: &str,
    matching: &TextMatch,
    after: Option<&str>,
    limit: usize,
) -> Result<Option<Vec<String>>, StoreError> {
    let mut tx = pool.begin().await.map_err(|e| db_error(&e))?;
    if !preset_key_exists(&mut tx, account, key).await? {
        return Ok(None);
    }
    let mut b = QueryBuilder::<Postgres>::new("SELECT value FROM preset_values WHERE account = ");
    b.push_bind(account.as_str().to_owned());
    b.push(" AND key = ");
    b.push_bind(key.as_bytes().to_vec());
    sql::push_match(&mut b, "value", matching);
    if let Some(after) = after {
        b.push(" AND value > ");
        b.push_bind(after.as_bytes().to_vec());
    }
    b.push(" ORDER BY value LIMIT ");
    b.push_bind(sql::limit(limit));
    let rows = b
        .build()
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| db_error(&e))?;
    tx.commit().await.map_err(|e| db_error(&e))?;
    let values = rows
        .into_iter()
        .map(|row| {
            sql::text(
                row.try_get("value").map_err(|e| db_error(&e))?,
                "preset value",
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(values))
}

pub(crate) async fn list_catalogue(
    pool: &PgPool,
    account: &AccountId,
    namespace: &str,
    key: Option<&str>,
    value: Option<&str>,
) -> Result<Vec<CatalogueTag>, StoreError> {
    let mut b =
        QueryBuilder::<Postgres>::new("SELECT key, value, id FROM catalogue WHERE account = ");
    b.push_bind(account.as_str().to_owned());
    b.push(" AND namespace = ");
    b.push_bind(namespace.to_owned());
    if let Some(key) = key {
        b.push(" AND key = ");
        b.push_bind(key.as_bytes().to_vec());
    }
    if let Some(value) = value {
        b.push(" AND value = ");
        b.push_bind(value.as_bytes().to_vec());
    }
    b.push(" ORDER BY key, value");
    let rows = b.build().fetch_all(pool).await.map_err(|e| db_error(&e))?;
    rows.into_iter()
        .map(|row| {
            let get = |e: sqlx::Error| db_error(&e);
            let id: i64 = row.try_get("id").map_err(get)?;
            Ok(CatalogueTag {
                key: sql::text(row.try_get("key").map_err(get)?, "catalogue key")?,
                value: sql::text(row.try_get("value").map_err(get)?, "catalogue value")?,
                id: u64::try_from(id).map_err(|_| sql::corrupt("catalogue id"))?,
            })
        })
        .collect()
}

/// Whether `account` has the preset key `key`.
async fn preset_key_exists(
    tx: &mut sqlx::PgConnection,
    account: &AccountId,
    key: &str,
) -> Result<bool, StoreError> {
    let known: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM preset_keys WHERE account = $1 AND key = $2")
            .bind(account.as_str())
            .bind(key.as_bytes())
            .fetch_optional(tx)
            .await
            .map_err(|e| db_error(&e))?;
    Ok(known.is_some())
}

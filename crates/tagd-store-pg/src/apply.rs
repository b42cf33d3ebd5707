//! Change sets: one transaction each, under their resources' locks (the account's for a
//! catalogue change), computed with the core's own
//! rules (`TagSet::apply`) against the state the transaction reads, then written as the rows
//! that changed.

use std::collections::{HashMap, HashSet};

use sqlx::{PgConnection, PgPool, Row as _};
use tagd_core::change::CatalogueChange;
use tagd_core::change::ResourceProblem;
use tagd_core::rules::rules_for_namespace;
use tagd_core::{
    AccountId, ApplyReport, Atomicity, ChangeSet, ResourceFailure, ResourceRef, StoreError, TagSet,
};

use crate::sql::{self, db_error};

pub(crate) async fn apply(pool: &PgPool, changes: &ChangeSet) -> Result<ApplyReport, StoreError> {
    let mut tx = pool.begin().await.map_err(|e| db_error(&e))?;
    let resources: Vec<&ResourceRef> = changes.changes.iter().map(|c| &c.resource).collect();
    match &changes.catalogue {
        // A catalogue change may unbind a tag from every resource, and its quota is the
        // account's: it waits for every other write of the account.
        Some(catalogue) => {
            sql::lock_account(&mut tx, &changes.account).await?;
            if !apply_catalogue(&mut tx, &changes.account, catalogue).await? {
                // Dropping the transaction rolls back the catalogue's part.
                return Ok(ApplyReport {
                    failures: Vec::new(),
                    catalogue_full: true,
                });
            }
        }
        // Everything else a change set checks is its resources' own state.
        None => sql::lock_resources(&mut tx, &changes.account, &resources).await?,
    }
    let current = load(&mut tx, &changes.account, &resources).await?;
    let registered = if changes.require_registered {
        Some(load_registered(&mut tx, &changes.account, &resources).await?)
    } else {
        None
    };
    let mut failures = Vec::new();
    let mut writes = Vec::new();
    for (index, change) in changes.changes.iter().enumerate() {
        let fail = |problem| ResourceFailure {
            index,
            resource: change.resource.clone(),
            problem,
        };
        if registered
            .as_ref()
            .is_some_and(|known| !known.contains(&change.resource))
        {
            failures.push(fail(ResourceProblem::NotRegistered));
            continue;
        }
        let before = current.get(&change.resource).cloned().unwrap_or_default();
        let rules = rules_for_namespace(change.resource.resource_type.namespace());
        match before.apply(&change.op, rules) {
            Ok(after) => writes.push((&change.resource, after)),
            Err(problem) => failures.push(fail(problem)),
        }
    }
    if changes.atomicity == Atomicity::AllOrNothing && !failures.is_empty() {
        failures.truncate(1);
        return Ok(ApplyReport {
            failures,
            catalogue_full: false,
        });
    }
    // Each change was computed against the state before the change set (as the reference
    // model does); a resource named twice ends with its last change.
    let empty = TagSet::new();
    let mut last: HashMap<&ResourceRef, usize> = HashMap::new();
    for (index, (resource, _)) in writes.iter().enumerate() {
        last.insert(resource, index);
    }
    let finals: Vec<(&ResourceRef, &TagSet, &TagSet)> = writes
        .iter()
        .enumerate()
        .filter(|(index, (resource, _))| last.get(resource) == Some(index))
        .map(|(_, (resource, after))| (*resource, current.get(*resource).unwrap_or(&empty), after))
        .collect();
    write(&mut tx, &changes.account, &finals).await?;
    tx.commit().await.map_err(|e| db_error(&e))?;
    Ok(ApplyReport {
        failures,
        catalogue_full: false,
    })
}

/// The catalogue's part of a change set: deletions (each also unbound from every resource of
/// the namespace, in every region), then creations. `false` if the catalogue would then hold
/// more than its quota.
async fn apply_catalogue(
    tx: &mut PgConnection,
    account: &AccountId,
    catalogue: &CatalogueChange,
) -> Result<bool, StoreError> {
    let namespace_prefix = format!("{}::", catalogue.namespace);
    for tag in &catalogue.delete {
        let deleted = sqlx::query(
            "DELETE FROM catalogue WHERE account = $1 AND namespace = $2 AND key = $3 \
             AND value = $4",
        )
        .bind(account.as_str())
        .bind(&catalogue.namespace)
        .bind(tag.key.as_bytes())
        .bind(tag.value.as_bytes())
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(&e))?;
        if deleted.rows_affected() == 0 {
            continue;
        }
        // Region by region (a skip scan of the account's resources finds them): the index
        // leads with (account, region, key, value), so each region is one range.
        let carriers = sqlx::query(
            "WITH RECURSIVE regions(region) AS ( \
             (SELECT region FROM resources WHERE account = $1 ORDER BY region LIMIT 1) \
             UNION ALL SELECT (SELECT r.region FROM resources r WHERE r.account = $1 \
             AND r.region > regions.region ORDER BY r.region LIMIT 1) \
             FROM regions WHERE regions.region IS NOT NULL) \
             SELECT b.region, b.rtype, b.rid FROM regions CROSS JOIN LATERAL \
             (SELECT region, rtype, rid FROM bindings WHERE account = $1 \
             AND region = regions.region AND key = $2 AND value = $3 \
             AND starts_with(rtype, $4) OFFSET 0) AS b",
        )
        .bind(account.as_str())
        .bind(tag.key.as_bytes())
        .bind(tag.value.as_bytes())
        .bind(&namespace_prefix)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| db_error(&e))?;
        let resources = carriers
            .iter()
            .map(sql::resource_ref)
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&ResourceRef> = resources.iter().collect();
        let current = load(tx, account, &refs).await?;
        let afters: Vec<(&ResourceRef, &TagSet, TagSet)> = current
            .iter()
            .map(|(resource, before)| {
                let mut after = before.clone();
                after.remove(&tag.key);
                (resource, before, after)
            })
            .collect();
        let changes: Vec<(&ResourceRef, &TagSet, &TagSet)> = afters
            .iter()
            .map(|(resource, before, after)| (*resource, *before, after))
            .collect();
        write(tx, account, &changes).await?;
    }
    let mut created = false;
    for tag in &catalogue.create {
        let made = sqlx::query(
            "INSERT INTO catalogue (account, namespace, key, value, id) \
             SELECT $1, $2, $3, $4, nextval('catalogue_ids') \
             WHERE NOT EXISTS (SELECT 1 FROM catalogue WHERE account = $1 AND namespace = $2 \
             AND key = $3 AND value = $4)",
        )
        .bind(account.as_str())
        .bind(&catalogue.namespace)
        .bind(tag.key.as_bytes())
        .bind(tag.value.as_bytes())
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(&e))?;
        created |= made.rows_affected() > 0;
    }
    if !created {
        return Ok(true);
    }
    let held: i64 =
        sqlx::query_scalar("SELECT count(*) FROM catalogue WHERE account = $1 AND namespace = $2")
            .bind(account.as_str())
            .bind(&catalogue.namespace)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| db_error(&e))?;
    Ok(usize::try_from(held).is_ok_and(|held| held <= catalogue.quota))
}

/// The current tag sets of `resources` (those that have tags), in one statement: a lookup by
/// primary key per resource (`OFFSET 0`). As a semi-join, with a plan made while the table was
/// small, the planner hashed the names and scanned every resource of the account, so writes
/// slowed with N (5.5 ms of PostgreSQL's CPU a write at 50k resources).
async fn load(
    tx: &mut PgConnection,
    account: &AccountId,
    resources: &[&ResourceRef],
) -> Result<HashMap<ResourceRef, TagSet>, StoreError> {
    let named = Columns::of(resources);
    let rows = sqlx::query(
        "SELECT r.region, r.rtype, r.rid, r.keys, r.vals, r.uuid \
         FROM unnest($2::text[], $3::text[], $4::text[]) AS x(region, rtype, rid) \
         CROSS JOIN LATERAL (SELECT * FROM resources WHERE account = $1 \
         AND region = x.region AND rtype = x.rtype AND rid = x.rid OFFSET 0) AS r",
    )
    .bind(account.as_str())
    .bind(named.regions)
    .bind(named.types)
    .bind(named.ids)
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| db_error(&e))?;
    let mut out = HashMap::with_capacity(rows.len());
    for row in rows {
        let get = |e: sqlx::Error| db_error(&e);
        let resource = sql::resource_ref(&row)?;
        let tags = sql::tag_set(
            row.try_get("keys").map_err(get)?,
            row.try_get("vals").map_err(get)?,
            row.try_get("uuid").map_err(get)?,
        )?;
        out.insert(resource, tags);
    }
    Ok(out)
}

/// Which of `resources` are registered.
async fn load_registered(
    tx: &mut PgConnection,
    account: &AccountId,
    resources: &[&ResourceRef],
) -> Result<HashSet<ResourceRef>, StoreError> {
    let named = Columns::of(resources);
    let rows = sqlx::query(
        "SELECT r.region, r.rtype, r.rid \
         FROM unnest($2::text[], $3::text[], $4::text[]) AS x(region, rtype, rid) \
         CROSS JOIN LATERAL (SELECT * FROM registered WHERE account = $1 \
         AND region = x.region AND rtype = x.rtype AND rid = x.rid OFFSET 0) AS r",
    )
    .bind(account.as_str())
    .bind(named.regions)
    .bind(named.types)
    .bind(named.ids)
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| db_error(&e))?;
    rows.iter().map(sql::resource_ref).collect()
}

/// Resources column by column (PostgreSQL takes them as arrays and `unnest`s them).
#[derive(Default)]
struct Columns {
    regions: Vec<String>,
    types: Vec<String>,
    ids: Vec<String>,
}

impl Columns {
    fn of(resources: &[&ResourceRef]) -> Self {
        let mut columns = Self::default();
        for resource in resources {
            columns.push(resource);
        }
        columns
    }

    fn push(&mut self, resource: &ResourceRef) {
        self.regions.push(resource.region.as_str().to_owned());
        self.types.push(resource.resource_type.as_str().to_owned());
        self.ids.push(resource.id.as_str().to_owned());
    }
}

/// Bindings of a write, column by column.
#[derive(Default)]
struct BindingColumns {
    of: Columns,
    keys: Vec<Vec<u8>>,
    values: Vec<Vec<u8>>,
}

impl BindingColumns {
    fn push(&mut self, resource: &ResourceRef, key: &str, value: &str) {
        self.of.push(resource);
        self.keys.push(key.as_bytes().to_vec());
        self.values.push(value.as_bytes().to_vec());
    }
}

/// Writes each resource's change from its `before` to its `after` tag set (each resource once)
/// in one statement: the bindings that went and came, and the resources' rows (deleted once
/// they have no tags: the uuid goes with them). One round trip whatever the change set's size.
async fn write(
    tx: &mut PgConnection,
    account: &AccountId,
    changes: &[(&ResourceRef, &TagSet, &TagSet)],
) -> Result<(), StoreError> {
    let mut gone = BindingColumns::default();
    let mut new = BindingColumns::default();
    let mut emptied = Columns::default();
    // The resources that keep tags, with an index into the flattened tags of each.
    let mut kept = Columns::default();
    let mut kept_uuids: Vec<Option<Vec<u8>>> = Vec::new();
    let mut tag_of: Vec<i32> = Vec::new();
    let mut kept_keys: Vec<Vec<u8>> = Vec::new();
    let mut kept_values: Vec<Vec<u8>> = Vec::new();
    for &(resource, before, after) in changes {
        if before == after {
            continue;
        }
        for (key, value) in before.iter() {
            if after.get(key) != Some(value) {
                gone.push(resource, key, value);
            }
        }
        for (key, value) in after.iter() {
            if before.get(key) != Some(value) {
                new.push(resource, key, value);
            }
        }
        if after.is_empty() {
            emptied.push(resource);
            continue;
        }
        let index = i32::try_from(kept_uuids.len())
            .map_err(|_| StoreError::Engine("change set too large".into()))?;
        kept.push(resource);
        kept_uuids.push(after.uuid().map(|u| u.as_bytes().to_vec()));
        for (key, value) in after.iter() {
            tag_of.push(index);
            kept_keys.push(key.as_bytes().to_vec());
            kept_values.push(value.as_bytes().to_vec());
        }
    }
    if gone.keys.is_empty() && new.keys.is_empty() && emptied.ids.is_empty() && kept.ids.is_empty()
    {
        return Ok(());
    }
    // Every part runs once, on the snapshot the statement starts with; they touch different
    // rows. Removed bindings are found by their whole primary key, one index lookup each:
    // `OFFSET 0` keeps each lookup driven by its row (flattened, the planner scanned every
    // binding of the account and region, ~1 ms at 30k bindings and growing with N). The tags
    // of each kept resource are gathered in key order (`ord`, the order they were sent in).
    sqlx::query(
        "WITH gone AS (\
           DELETE FROM bindings WHERE ctid = ANY(ARRAY(\
             SELECT b.ctid FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[], \
               $6::bytea[]) AS x(region, rtype, rid, k, v) \
             CROSS JOIN LATERAL (SELECT ctid FROM bindings WHERE account = $1 \
               AND region = x.region AND key = x.k AND value = x.v AND rtype = x.rtype \
               AND rid = x.rid OFFSET 0) AS b))), \
         came AS (\
           INSERT INTO bindings (account, region, key, value, rtype, rid) \
           SELECT $1, region, k, v, rtype, rid FROM unnest($7::text[], $8::text[], \
             $9::text[], $10::bytea[], $11::bytea[]) AS x(region, rtype, rid, k, v)), \
         emptied AS (\
           DELETE FROM resources WHERE ctid = ANY(ARRAY(\
             SELECT r.ctid FROM unnest($12::text[], $13::text[], $14::text[]) \
               AS x(region, rtype, rid) \
             CROSS JOIN LATERAL (SELECT ctid FROM resources WHERE account = $1 \
               AND region = x.region AND rtype = x.rtype AND rid = x.rid OFFSET 0) AS r))), \
         tags AS (\
           SELECT i, array_agg(k ORDER BY ord) AS keys, array_agg(v ORDER BY ord) AS vals \
           FROM unnest($18::int4[], $19::bytea[], $20::bytea[]) WITH ORDINALITY \
             AS t(i, k, v, ord) GROUP BY i) \
         INSERT INTO resources (account, region, rtype, rid, keys, vals, uuid) \
         SELECT $1, r.region, r.rtype, r.rid, tags.keys, tags.vals, r.uuid \
         FROM unnest($15::text[], $16::text[], $17::text[], $21::bytea[]) WITH ORDINALITY \
           AS r(region, rtype, rid, uuid, n) \
         JOIN tags ON tags.i = r.n - 1 \
         ON CONFLICT (account, region, rtype, rid) DO UPDATE \
         SET keys = EXCLUDED.keys, vals = EXCLUDED.vals, uuid = EXCLUDED.uuid",
    )
    .bind(account.as_str())
    .bind(gone.of.regions)
    .bind(gone.of.types)
    .bind(gone.of.ids)
    .bind(gone.keys)
    .bind(gone.values)
    .bind(new.of.regions)
    .bind(new.of.types)
    .bind(new.of.ids)
    .bind(new.keys)
    .bind(new.values)
    .bind(emptied.regions)
    .bind(emptied.types)
    .bind(emptied.ids)
    .bind(kept.regions)
    .bind(kept.types)
    .bind(kept.ids)
    .bind(tag_of)
    .bind(kept_keys)
    .bind(kept_values)
    .bind(kept_uuids)
    .execute(&mut *tx)
    .await
    .map_err(|e| db_error(&e))?;
    Ok(())
}

/// Deregisters a resource and deletes its tags, under the resource's lock (so a change set in
/// flight meets either both or neither).
pub(crate) async fn deregister_resource(
    pool: &PgPool,
    account: &AccountId,
    resource: &ResourceRef,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await.map_err(|e| db_error(&e))?;
    sql::lock_resources(&mut tx, account, &[resource]).await?;
    let current = load(&mut tx, account, &[resource]).await?;
    if let Some(before) = current.get(resource) {
        write(&mut tx, account, &[(resource, before, &TagSet::new())]).await?;
    }
    let gone = sqlx::query(
        "DELETE FROM registered WHERE account = $1 AND region = $2 AND rtype = $3 AND rid = $4",
    )
    .bind(account.as_str())
    .bind(resource.region.as_str())
    .bind(resource.resource_type.as_str())
    .bind(resource.id.as_str())
    .execute(&mut *tx)
    .await
    .map_err(|e| db_error(&e))?;
    tx.commit().await.map_err(|e| db_error(&e))?;
    Ok(gone.rows_affected() > 0)
}

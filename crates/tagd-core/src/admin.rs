//! Administrative operations on accounts, keys and registered resources. The server's admin API
//! and the CLI (when it opens the store itself) both call these, so they behave the same.

use crate::account::{AccessKeyId, Account, AccountId, Credential, SecretKey, unix_now};
use crate::error::StoreError;
use crate::model::ResourceRef;
use crate::store::Store;

/// A new account with its first key, as printed once to its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAccount {
    pub account: Account,
    pub key: Credential,
}

/// Why an admin operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no account {0}")]
    NoSuchAccount(String),
    #[error("no access key {0}")]
    NoSuchKey(String),
    #[error("invalid {what}: {value:?}")]
    Invalid { what: &'static str, value: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn new_key(account_id: &AccountId) -> Credential {
    Credential {
        access_key_id: AccessKeyId::generate(),
        secret: SecretKey::generate(),
        account_id: account_id.clone(),
        enabled: true,
        created_at: unix_now(),
    }
}

/// Creates an account and its first key.
pub async fn create_account<S: Store>(
    store: &S,
    name: &str,
    root: bool,
) -> Result<NewAccount, AdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 128 {
        return Err(AdminError::Invalid {
            what: "account name",
            value: name.to_owned(),
        });
    }
    let account = Account {
        id: AccountId::generate(),
        name: name.to_owned(),
        root,
        created_at: unix_now(),
    };
    let key = new_key(&account.id);
    store.create_account(account.clone(), key.clone()).await?;
    Ok(NewAccount { account, key })
}

fn parse_account(id: &str) -> Result<AccountId, AdminError> {
    AccountId::parse(id).ok_or_else(|| AdminError::NoSuchAccount(id.to_owned()))
}

/// Adds a key to an existing account.
pub async fn create_key<S: Store>(store: &S, account: &str) -> Result<Credential, AdminError> {
    let id = parse_account(account)?;
    if store.get_account(&id).await?.is_none() {
        return Err(AdminError::NoSuchAccount(account.to_owned()));
    }
    let key = new_key(&id);
    store.put_key(key.clone()).await?;
    Ok(key)
}

/// The keys of an account.
pub async fn list_keys<S: Store>(store: &S, account: &str) -> Result<Vec<Credential>, AdminError> {
    let id = parse_account(account)?;
    if store.get_account(&id).await?.is_none() {
        return Err(AdminError::NoSuchAccount(account.to_owned()));
    }
    let mut keys = store.list_keys(&id).await?;
    keys.sort_by(|a, b| (a.created_at, &a.access_key_id).cmp(&(b.created_at, &b.access_key_id)));
    Ok(keys)
}

/// Disables a key: requests signed with it get `InvalidAccessKeyId.Inactive`.
pub async fn disable_key<S: Store>(store: &S, key_id: &str) -> Result<Credential, AdminError> {
    let id = AccessKeyId::parse(key_id).ok_or_else(|| AdminError::NoSuchKey(key_id.to_owned()))?;
    let mut key = store
        .get_key(&id)
        .await?
        .ok_or_else(|| AdminError::NoSuchKey(key_id.to_owned()))?;
    key.enabled = false;
    store.put_key(key.clone()).await?;
    Ok(key)
}

/// What [`ensure_root_key`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootKey {
    /// The key existed as given.
    Unchanged(Credential),
    /// The key existed with another secret or disabled; it now has the given secret, enabled.
    Updated(Credential),
    /// A root account was created to own the key.
    Created(NewAccount),
}

/// Makes sure a root account owns this key with this secret (idempotent across restarts).
pub async fn ensure_root_key<S: Store>(
    store: &S,
    key_id: &str,
    secret: &str,
) -> Result<RootKey, AdminError> {
    let id = AccessKeyId::parse(key_id).ok_or_else(|| AdminError::Invalid {
        what: "access key id",
        value: key_id.to_owned(),
    })?;
    let secret = SecretKey::new(secret.to_owned()).ok_or_else(|| AdminError::Invalid {
        what: "access key secret",
        value: String::new(),
    })?;
    if let Some(mut existing) = store.get_key(&id).await? {
        if existing.secret == secret && existing.enabled {
            return Ok(RootKey::Unchanged(existing));
        }
        existing.secret = secret;
        existing.enabled = true;
        store.put_key(existing.clone()).await?;
        return Ok(RootKey::Updated(existing));
    }
    let account = Account {
        id: AccountId::generate(),
        name: "root".into(),
        root: true,
        created_at: unix_now(),
    };
    let key = Credential {
        access_key_id: id,
        secret,
        account_id: account.id.clone(),
        enabled: true,
        created_at: unix_now(),
    };
    store.create_account(account.clone(), key.clone()).await?;
    Ok(RootKey::Created(NewAccount { account, key }))
}

/// Creates the first (root) account with a fresh key when the store has no account at all.
pub async fn bootstrap_root<S: Store>(store: &S) -> Result<Option<NewAccount>, AdminError> {
    if !store.list_accounts().await?.is_empty() {
        return Ok(None);
    }
    create_account(store, "root", true).await.map(Some)
}

/// Registers a resource of an existing account.
pub async fn register_resource<S: Store>(
    store: &S,
    account: &str,
    resource: &ResourceRef,
) -> Result<(), AdminError> {
    let id = parse_account(account)?;
    if store.get_account(&id).await?.is_none() {
        return Err(AdminError::NoSuchAccount(account.to_owned()));
    }
    store.register_resource(&id, resource).await?;
    Ok(())
}

/// Deregisters a resource and deletes its tags; returns whether it was registered.
pub async fn deregister_resource<S: Store>(
    store: &S,
    account: &str,
    resource: &ResourceRef,
) -> Result<bool, AdminError> {
    let id = parse_account(account)?;
    Ok(store.deregister_resource(&id, resource).await?)
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::testkit::MemStore;

    #[tokio::test]
    async fn root_key_is_idempotent_and_rotates() {
        let store = MemStore::new();
        let first = ensure_root_key(&store, "LTAIroot", "s1")
            .await
            .expect("create");
        let RootKey::Created(created) = first else {
            panic!("expected a new root account")
        };
        assert!(created.account.root);
        let again = ensure_root_key(&store, "LTAIroot", "s1")
            .await
            .expect("again");
        assert!(matches!(again, RootKey::Unchanged(_)));
        let rotated = ensure_root_key(&store, "LTAIroot", "s2")
            .await
            .expect("rotate");
        let RootKey::Updated(key) = rotated else {
            panic!("expected an update")
        };
        assert_eq!(key.secret.expose(), "s2");
        assert_eq!(key.account_id, created.account.id);
        assert_eq!(store.list_accounts().await.expect("list").len(), 1);
        assert!(bootstrap_root(&store).await.expect("bootstrap").is_none());
    }

    #[tokio::test]
    async fn keys_and_accounts() {
        let store = MemStore::new();
        let made = bootstrap_root(&store)
            .await
            .expect("bootstrap")
            .expect("created");
        let acct = made.account.id.as_str().to_owned();
        let second = create_key(&store, &acct).await.expect("key");
        assert_eq!(list_keys(&store, &acct).await.expect("list").len(), 2);
        let disabled = disable_key(&store, second.access_key_id.as_str())
            .await
            .expect("disable");
        assert!(!disabled.enabled);
        assert!(matches!(
            create_key(&store, "999").await,
            Err(AdminError::NoSuchAccount(_))
        ));
        assert!(matches!(
            disable_key(&store, "nope").await,
            Err(AdminError::NoSuchKey(_))
        ));
        assert!(matches!(
            create_account(&store, "  ", false).await,
            Err(AdminError::Invalid { .. })
        ));
    }
}

//! `tagd account|key|resource`: with `--database-url`, work on the PostgreSQL database itself
//! (every node reads it); else open the embedded store directly when no server holds it, or
//! call the running server's admin API (its address and token are in `<data-dir>/admin.json`).

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tagd_core::{Store, admin};
use tagd_server::admin::{AccountJson, DeregisteredJson, KeyInfoJson, KeyJson, ResourceBody};
use tagd_store_pg::PgStore;
use tagd_store_redb::{OpenError, RedbStore};

use crate::cli::{AccountCommand, KeyCommand, ResourceArgs, ResourceCommand, Target};

/// Where the data is reached.
enum Access {
    Embedded(RedbStore),
    Postgres(PgStore),
    Remote { endpoint: String, token: String },
}

async fn access(target: &Target) -> anyhow::Result<Access> {
    let file = tagd_server::admin_file(&target.data_dir);
    let from_file = || -> Option<(String, String)> {
        let text = std::fs::read_to_string(&file).ok()?;
        let json: Value = serde_json::from_str(&text).ok()?;
        Some((
            json["endpoint"].as_str()?.to_owned(),
            json["token"].as_str()?.to_owned(),
        ))
    };
    if let Some(endpoint) = &target.endpoint {
        let token = std::env::var("TAGD_ADMIN_TOKEN")
            .ok()
            .or_else(|| from_file().map(|(_, t)| t));
        let Some(token) = token else {
            bail!("no admin token: set TAGD_ADMIN_TOKEN or point --data-dir at the server's data");
        };
        return Ok(Access::Remote {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            token,
        });
    }
    if let Some(url) = &target.database_url {
        // Nodes re-read a key within their --credential-cache-secs, so a change made here
        // reaches every node without going through one of them.
        let store = PgStore::connect(url, 2)
            .await
            .context("cannot open the PostgreSQL store (--database-url)")?;
        return Ok(Access::Postgres(store));
    }
    // Opening creates the store: a mistyped --data-dir would get a new, empty one, and
    // `account create` would print a key the real server has never heard of.
    if !target.data_dir.is_dir() {
        bail!(
            "no data directory {} (check --data-dir or TAGD_DATA_DIR; `tagd serve` creates it)",
            target.data_dir.display()
        );
    }
    match RedbStore::open(&target.data_dir) {
        Ok(store) => Ok(Access::Embedded(store)),
        Err(OpenError::Locked(_)) => match from_file() {
            Some((endpoint, token)) => Ok(Access::Remote { endpoint, token }),
            None => bail!(
                "{} is held by a running tagd but {} is missing; pass --endpoint",
                target.data_dir.display(),
                file.display()
            ),
        },
        Err(err) => Err(err.into()),
    }
}

/// One admin operation, done on a store or through a server's admin API; either way its
/// answer is the admin API's JSON.
enum Op {
    CreateAccount { name: String },
    ListAccounts,
    CreateKey { account: String },
    ListKeys { account: String },
    DisableKey { key_id: String },
    Register(ResourceBody),
    Deregister(ResourceBody),
}

impl Op {
    async fn on_store<S: Store>(&self, store: &S) -> anyhow::Result<Value> {
        Ok(match self {
            Op::CreateAccount { name } => {
                json!(KeyJson::from(
                    &admin::create_account(store, name, false).await?
                ))
            }
            Op::ListAccounts => {
                let accounts = store.list_accounts().await?;
                json!(accounts.iter().map(AccountJson::from).collect::<Vec<_>>())
            }
            Op::CreateKey { account } => {
                json!(KeyJson::from(&admin::create_key(store, account).await?))
            }
            Op::ListKeys { account } => {
                let keys = admin::list_keys(store, account).await?;
                json!(keys.iter().map(KeyInfoJson::from).collect::<Vec<_>>())
            }
            Op::DisableKey { key_id } => {
                json!(KeyInfoJson::from(&admin::disable_key(store, key_id).await?))
            }
            Op::Register(body) => {
                let resource = body.resource().map_err(anyhow::Error::msg)?;
                admin::register_resource(store, &body.account_id, &resource).await?;
                json!({})
            }
            Op::Deregister(body) => {
                let resource = body.resource().map_err(anyhow::Error::msg)?;
                let was_registered =
                    admin::deregister_resource(store, &body.account_id, &resource).await?;
                json!(DeregisteredJson { was_registered })
            }
        })
    }

    /// The admin API call doing the same: method, path under `/admin/v1`, body.
    fn request(&self) -> (http::Method, String, Option<Value>) {
        use http::Method;
        match self {
            Op::CreateAccount { name } => (
                Method::POST,
                "/accounts".into(),
                Some(json!({ "name": name })),
            ),
            Op::ListAccounts => (Method::GET, "/accounts".into(), None),
            Op::CreateKey { account } => (
                Method::POST,
                format!("/accounts/{}/keys", path_segment(account)),
                None,
            ),
            Op::ListKeys { account } => (
                Method::GET,
                format!("/accounts/{}/keys", path_segment(account)),
                None,
            ),
            Op::DisableKey { key_id } => (
                Method::POST,
                format!("/keys/{}/disable", path_segment(key_id)),
                None,
            ),
            Op::Register(body) => (
                Method::POST,
                "/resources/register".into(),
                Some(json!(body)),
            ),
            Op::Deregister(body) => (
                Method::POST,
                "/resources/deregister".into(),
                Some(json!(body)),
            ),
        }
    }

    /// Does it wherever `target` says, and reads the answer as `T`.
    async fn perform<T: DeserializeOwned>(&self, target: &Target) -> anyhow::Result<T> {
        let answer = match access(target).await? {
            Access::Embedded(store) => {
                let answer = self.on_store(&store).await;
                store.close();
                answer?
            }
            Access::Postgres(store) => {
                let answer = self.on_store(&store).await;
                store.close().await;
                answer?
            }
            Access::Remote { endpoint, token } => {
                let (method, path, body) = self.request();
                call(&endpoint, &token, method, &path, body).await?
            }
        };
        Ok(serde_json::from_value(answer)?)
    }
}

async fn call(
    endpoint: &str,
    token: &str,
    method: http::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let payload = match body {
        Some(b) => Bytes::from(serde_json::to_vec(&b)?),
        None => Bytes::new(),
    };
    let request = http::Request::builder()
        .method(method)
        .uri(format!("{endpoint}/admin/v1{path}"))
        .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(payload))?;
    let response = client
        .request(request)
        .await
        .with_context(|| format!("cannot reach {endpoint}"))?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
        bail!("{message} (HTTP {status})");
    }
    Ok(serde_json::from_slice(&bytes)?)
}

/// `name` as one segment of an admin API path: every byte but RFC 3986's unreserved characters
/// percent-encoded, so that a name with a space, `/`, `?` or `..` reaches the server as typed
/// (and is refused there as an unknown account or key, as it is without a server).
fn path_segment(name: &str) -> String {
    let mut segment = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            segment.push(char::from(byte));
        } else {
            segment.push_str(&format!("%{byte:02X}"));
        }
    }
    segment
}

fn print_key(key: &KeyJson, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(key)?);
    } else {
        println!(
            "account_id: {}\naccess_key_id: {}\naccess_key_secret: {}",
            key.account_id, key.access_key_id, key.access_key_secret
        );
    }
    Ok(())
}

pub async fn account(cmd: AccountCommand) -> anyhow::Result<()> {
    match cmd {
        AccountCommand::Create { name, target } => {
            let key: KeyJson = Op::CreateAccount { name }.perform(&target).await?;
            print_key(&key, target.json)
        }
        AccountCommand::List { target } => {
            let accounts: Vec<AccountJson> = Op::ListAccounts.perform(&target).await?;
            if target.json {
                println!("{}", serde_json::to_string(&accounts)?);
            } else {
                for a in accounts {
                    println!(
                        "{}\t{}{}",
                        a.account_id,
                        a.name,
                        if a.root { "\t(root)" } else { "" }
                    );
                }
            }
            Ok(())
        }
    }
}

pub async fn key(cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Create { account, target } => {
            let key: KeyJson = Op::CreateKey { account }.perform(&target).await?;
            print_key(&key, target.json)
        }
        KeyCommand::List { account, target } => {
            let keys: Vec<KeyInfoJson> = Op::ListKeys { account }.perform(&target).await?;
            if target.json {
                println!("{}", serde_json::to_string(&keys)?);
            } else {
                for k in keys {
                    println!(
                        "{}\t{}",
                        k.access_key_id,
                        if k.enabled { "enabled" } else { "disabled" }
                    );
                }
            }
            Ok(())
        }
        KeyCommand::Disable { key_id, target } => {
            let key: KeyInfoJson = Op::DisableKey { key_id }.perform(&target).await?;
            if target.json {
                println!("{}", serde_json::to_string(&key)?);
            } else {
                println!("{} disabled", key.access_key_id);
            }
            Ok(())
        }
    }
}

fn body(args: &ResourceArgs) -> ResourceBody {
    ResourceBody {
        account_id: args.account.clone(),
        region: args.region.clone(),
        resource_type: args.resource_type.clone(),
        resource_id: args.resource_id.clone(),
    }
}

pub async fn resource(cmd: ResourceCommand) -> anyhow::Result<()> {
    match cmd {
        ResourceCommand::Register { resource, target } => {
            let _: Value = Op::Register(body(&resource)).perform(&target).await?;
            if !target.json {
                println!(
                    "registered {} {} {}",
                    resource.region, resource.resource_type, resource.resource_id
                );
            } else {
                println!("{{}}");
            }
            Ok(())
        }
        ResourceCommand::Deregister { resource, target } => {
            let result: DeregisteredJson = Op::Deregister(body(&resource)).perform(&target).await?;
            if target.json {
                println!("{}", serde_json::to_string(&result)?);
            } else if result.was_registered {
                println!(
                    "deregistered {} (its tags are deleted)",
                    resource.resource_id
                );
            } else {
                println!(
                    "{} was not registered (any tags it had are deleted)",
                    resource.resource_id
                );
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn a_path_segment_keeps_unreserved_characters_and_escapes_the_rest() {
        assert_eq!(path_segment("1234567890123456"), "1234567890123456");
        assert_eq!(path_segment("LTAI-ab_c.d~"), "LTAI-ab_c.d~");
        assert_eq!(path_segment("../x"), "..%2Fx");
        assert_eq!(path_segment("a b?c#d%"), "a%20b%3Fc%23d%25");
        assert_eq!(path_segment("é"), "%C3%A9");
        assert_eq!(path_segment(""), "");
    }
}

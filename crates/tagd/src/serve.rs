//! `tagd serve`: open the store, make sure a root key exists, listen, announce, serve, and on
//! SIGTERM / Ctrl-C finish in-flight requests, flush and exit 0.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tagd_core::admin::{self, RootKey};
use tagd_core::{Store, TagService};
use tagd_server::{AppState, ServerConfig};
use tagd_store_pg::PgStore;
use tagd_store_redb::{OpenError, RedbStore, StoreOptions};

use crate::cli::{ResourceMode, ServeArgs};
use crate::logging;

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    logging::init(args.log_format, &args.log);
    tagd_server::telemetry::install();
    // From here on a stop is a clean one, even while the store opens or right after "ready".
    let shutdown = tagd_server::shutdown_signal();
    if let Some(url) = &args.database_url {
        let store = PgStore::connect(url, args.database_connections)
            .await
            .context("cannot open the PostgreSQL store (--database-url)")?;
        let ttl = Some(Duration::from_secs(args.credential_cache_secs));
        let served = serve(store.clone(), &args, "postgres", ttl, shutdown).await;
        store.close().await;
        return served;
    }
    let mut options = StoreOptions {
        cache_bytes: args.cache_mib.max(1) << 20,
        ..StoreOptions::default()
    };
    options.checkpoint.every = std::time::Duration::from_millis(args.checkpoint_ms.max(1));
    options.checkpoint.replay = std::time::Duration::from_millis(args.checkpoint_replay_ms);
    options.writeback = std::time::Duration::from_millis(args.writeback_ms);
    let store = match RedbStore::open_with(&args.data_dir, options) {
        Ok(store) => store,
        Err(OpenError::Locked(path)) => {
            anyhow::bail!("{} is in use by another tagd process", path.display())
        }
        Err(err) => return Err(err.into()),
    };
    let served = serve(store.clone(), &args, "embedded", None, shutdown).await;
    // Every acknowledged write is already durable (fsync before the answer); closing waits for
    // the writer to drain anything still queued.
    store.close();
    served
}

/// Serves `store` until `shutdown`: the root key, the listener, the admin and ready files.
async fn serve<S: Store + Clone>(
    store: S,
    args: &ServeArgs,
    engine: &'static str,
    credential_ttl: Option<Duration>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    ensure_root(&store, args).await?;
    let registered = args.resources == ResourceMode::Registered;
    let mut service = TagService::new(store, registered).await?;
    if let Some(ttl) = credential_ttl {
        service = service.with_credential_ttl(ttl);
    }
    let service = Arc::new(service);
    let config = ServerConfig {
        listen: args.listen,
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
    };
    let listener = tagd_server::bind(&config)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let local = listener.local_addr()?;
    let admin_token = hex_token();
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    let admin_file = tagd_server::admin_file(&args.data_dir);
    let endpoint = admin_endpoint(local);
    let admin_json = serde_json::json!({ "endpoint": endpoint, "token": admin_token });
    write_private(&admin_file, &admin_json.to_string())?;
    let state = Arc::new(AppState::with_bce_quota(
        service,
        admin_token,
        args.bce_tag_quota,
    ));
    if let Some(ready) = &args.ready_file {
        let body = serde_json::json!({ "listen": local.to_string(), "pid": std::process::id() });
        write_private(ready, &body.to_string())?;
    }
    tracing::info!(listen = %local, engine, data_dir = %args.data_dir.display(), resources = ?args.resources, "tagd ready");
    let served = tagd_server::serve(listener, state, &config, shutdown).await;
    if let Err(err) = std::fs::remove_file(&admin_file) {
        tracing::warn!(error = %err, "cannot remove the admin file");
    }
    served.context("server failed")?;
    tracing::info!("tagd stopped");
    Ok(())
}

async fn ensure_root<S: Store>(store: &S, args: &ServeArgs) -> anyhow::Result<()> {
    match (&args.access_key_id, &args.access_key_secret) {
        (Some(id), Some(secret)) => {
            match admin::ensure_root_key(store, id, secret).await? {
                RootKey::Created(made) => {
                    tracing::info!(account = %made.account.id, access_key_id = %made.key.access_key_id, "root account created for TAGD_ACCESS_KEY_ID");
                }
                RootKey::Updated(key) => {
                    tracing::info!(account = %key.account_id, access_key_id = %key.access_key_id, "root key secret set from TAGD_ACCESS_KEY_SECRET");
                }
                RootKey::Unchanged(_) => {}
            }
            Ok(())
        }
        (Some(_), None) | (None, Some(_)) => {
            anyhow::bail!("set both TAGD_ACCESS_KEY_ID and TAGD_ACCESS_KEY_SECRET, or neither")
        }
        (None, None) => {
            if let Some(made) = admin::bootstrap_root(store).await? {
                println!(
                    "tagd: created the root account {} and its access key; the secret is shown only now:\n  \
                     TAGD_ACCESS_KEY_ID={}\n  TAGD_ACCESS_KEY_SECRET={}",
                    made.account.id,
                    made.key.access_key_id,
                    made.key.secret.expose()
                );
            }
            Ok(())
        }
    }
}

/// The URL at which local admin commands reach a server listening on `local`: its loopback
/// address when it listens on every address, and an IPv6 address in brackets.
fn admin_endpoint(local: SocketAddr) -> String {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, local.port()))
}

fn hex_token() -> String {
    let bytes: [u8; 32] = tagd_core::account::random_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a file readable by its owner only, atomically (temp file + rename).
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::admin_endpoint;

    /// `admin.json` held `http://::1:PORT` for `--listen [::1]:PORT`, which no admin command
    /// could parse ("invalid authority").
    #[test]
    fn the_admin_endpoint_is_a_url_for_every_listen_address() {
        let cases = [
            ("127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("0.0.0.0:8080", "http://127.0.0.1:8080"),
            ("[::1]:8080", "http://[::1]:8080"),
            ("[::]:8080", "http://[::1]:8080"),
            ("[fe80::1]:9", "http://[fe80::1]:9"),
        ];
        for (listen, want) in cases {
            let endpoint = admin_endpoint(listen.parse().expect("an address"));
            assert_eq!(endpoint, want, "listen {listen}");
            let uri: http::Uri = endpoint.parse().expect("the endpoint is a URI");
            assert!(uri.authority().is_some(), "{endpoint}");
        }
    }
}

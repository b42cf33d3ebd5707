//! `tagd-bench load`: fills a fresh data directory, or a PostgreSQL database
//! (`--database-url`), with a synthetic dataset through the store's bulk path, without HTTP.
//!
//! The store is opened directly (`RedbStore::open`: no `tagd serve` may hold it, redb locks
//! the file; or `PgStore::connect`, which servers may share). The dataset goes in as change
//! sets of 50 resources each (`AllOrNothing`, `TagOp::Set`), many in flight at once. The
//! embedded store's writer thread takes everything queued as one batch, one redb transaction
//! and one log fdatasync; PostgreSQL commits each change set, `--database-connections` at a
//! time. Either way each change set is acknowledged durably, as an HTTP `TagResources` would
//! be, but without one call per tag. The manifest goes into the data directory in both cases.
//!
//! The root key is created as `tagd serve` would with the same `TAGD_ACCESS_KEY_ID` /
//! `TAGD_ACCESS_KEY_SECRET` (`tagd_core::admin::ensure_root_key`), so a later
//! `tagd serve --data-dir DIR` with those variables serves the dataset as that account.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use tagd_core::Store;
use tagd_core::admin::{self, RootKey};
use tagd_core::{
    Account, AccountId, Atomicity, ChangeSet, Credential, Region, ResourceChange, ResourceId,
    ResourceRef, ResourceType, SecretKey, Tag, TagOp,
};
use tagd_store_pg::PgStore;
use tagd_store_redb::{OpenError, RedbStore};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::task::JoinSet;

use crate::cpu;
use crate::dataset::{Census, Dataset, DatasetSpec, MAX_TAGS, MIN_TAGS, resource_id};
use crate::manifest::{self, LoadStats, Manifest};
use crate::workload::RESOURCE_TYPE;

/// Most resources one load accepts.
pub const MAX_RESOURCES: u64 = 50_000_000;
/// The shares of the resources W4's targets should match.
pub const TARGET_FRACTIONS: [f64; 2] = [0.001, 0.01];

/// Fill an empty data directory with N resources × ~T tags (deterministic from the seed), and
/// write `bench-manifest.json` beside the data.
#[derive(Parser, Debug, Clone)]
#[command(name = "tagd-bench load")]
pub struct LoadArgs {
    /// The data directory of a future `tagd serve`; must not hold a store yet. With
    /// `--database-url`, it only receives the manifest.
    #[arg(long)]
    pub data_dir: PathBuf,

    /// Load into this PostgreSQL database (as `tagd serve --database-url` takes it) instead of
    /// the embedded store in the data directory.
    #[arg(long, env = "TAGD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Connections to PostgreSQL the load uses (with --database-url).
    #[arg(long, default_value_t = 8)]
    pub database_connections: u32,

    /// Resources to create (`rm-bench000000` …).
    #[arg(long)]
    pub resources: u64,

    /// Mean tags per resource (5..=20).
    #[arg(long, default_value_t = 10)]
    pub tags: u32,

    /// Seed of the dataset: the same seed, size and mean give the same tags.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,

    /// The account id that owns the resources (16 digits). Default: the account the root key
    /// gets (a fresh random id).
    #[arg(long)]
    pub account: Option<String>,

    /// AccessKeyId of the root key `tagd serve` will be started with.
    #[arg(long, env = "TAGD_ACCESS_KEY_ID", hide_env_values = true)]
    pub access_key_id: String,

    /// Its secret.
    #[arg(long, env = "TAGD_ACCESS_KEY_SECRET", hide_env_values = true)]
    pub access_key_secret: String,

    /// RegionId of every resource.
    #[arg(long, default_value = "cn-hangzhou")]
    pub region: String,

    /// Resources per change set (the RDS per-call limit is 50).
    #[arg(long, default_value_t = 50)]
    pub batch: usize,

    /// Change sets in flight at once (the store's writer takes up to 1024 per batch; more in
    /// flight than one batch lets the next batch be applied while the last one is fsynced).
    #[arg(long, default_value_t = 1024)]
    pub concurrency: usize,

    /// Print progress on stderr once a second.
    #[arg(long)]
    pub progress: bool,
}

impl LoadArgs {
    fn validate(&self) -> anyhow::Result<()> {
        if self.resources == 0 || self.resources > MAX_RESOURCES {
            bail!("--resources must be between 1 and {MAX_RESOURCES}");
        }
        let tags = usize::try_from(self.tags).unwrap_or(usize::MAX);
        if !(MIN_TAGS..=MAX_TAGS).contains(&tags) {
            bail!("--tags must be between {MIN_TAGS} and {MAX_TAGS}");
        }
        if self.batch == 0 || self.batch > 1000 {
            bail!("--batch must be between 1 and 1000");
        }
        if self.concurrency == 0 || self.concurrency > 4096 {
            bail!("--concurrency must be between 1 and 4096");
        }
        if self.access_key_id.is_empty() || self.access_key_secret.is_empty() {
            bail!("set --access-key-id and --access-key-secret (or TAGD_ACCESS_KEY_ID / _SECRET)");
        }
        Ok(())
    }
}

pub fn main(args: &LoadArgs) -> anyhow::Result<()> {
    args.validate()?;
    if args.database_url.is_none() && args.data_dir.join("tagd.redb").exists() {
        bail!(
            "{} already holds a store; load into an empty directory",
            args.data_dir.display()
        );
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create {}", args.data_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let manifest = runtime.block_on(load(args))?;
    let file = manifest.write(&args.data_dir)?;
    let load = &manifest.load;
    println!(
        "loaded {} resources, {} tag bindings ({} distinct keys) in {:.1} s: {:.0} resources/s, \
         {:.0} tags/s durably; close {:.2} s; store {:.1} MiB; manifest {}",
        manifest.dataset.resources,
        manifest.bindings,
        manifest.distinct_keys,
        load.apply_seconds,
        load.resources_per_second,
        load.bindings_per_second,
        load.close_seconds,
        load.store_bytes as f64 / (1024.0 * 1024.0),
        file.display()
    );
    for target in &manifest.targets {
        println!(
            "W4 target ~{:.1}%: {}={} on {} resources ({:.3}%)",
            target.wanted_fraction * 100.0,
            target.key,
            target.value,
            target.resources,
            target.fraction * 100.0
        );
    }
    Ok(())
}

/// The account the dataset belongs to: the existing owner of the key, or a new root account.
async fn root_account<S: Store>(store: &S, args: &LoadArgs) -> anyhow::Result<AccountId> {
    if let Some(wanted) = &args.account {
        let id = AccountId::parse(wanted).context("--account must be 1 to 32 digits")?;
        let key_id =
            tagd_core::AccessKeyId::parse(&args.access_key_id).context("invalid access key id")?;
        if let Some(existing) = store.get_key(&key_id).await? {
            if existing.account_id != id {
                bail!(
                    "key {} belongs to account {}, not {wanted}",
                    args.access_key_id,
                    existing.account_id
                );
            }
        } else {
            let now = tagd_core::account::unix_now();
            let account = Account {
                id: id.clone(),
                name: "root".to_owned(),
                root: true,
                created_at: now,
            };
            let key = Credential {
                access_key_id: key_id,
                secret: SecretKey::new(args.access_key_secret.clone())
                    .context("invalid access key secret")?,
                account_id: id.clone(),
                enabled: true,
                created_at: now,
            };
            store.create_account(account, key).await?;
        }
        // Leaves the key exactly as `tagd serve` will want it (same secret, enabled).
        admin::ensure_root_key(store, &args.access_key_id, &args.access_key_secret).await?;
        return Ok(id);
    }
    let account =
        match admin::ensure_root_key(store, &args.access_key_id, &args.access_key_secret).await? {
            RootKey::Unchanged(key) | RootKey::Updated(key) => key.account_id,
            RootKey::Created(made) => made.account.id,
        };
    Ok(account)
}

async fn load(args: &LoadArgs) -> anyhow::Result<Manifest> {
    if let Some(url) = &args.database_url {
        let store = PgStore::connect(url, args.database_connections)
            .await
            .context("cannot open the PostgreSQL store (--database-url)")?;
        let (mut manifest, closing) = fill(store.clone(), args).await?;
        manifest.load.store_bytes = store.size_bytes().await?;
        store.close().await;
        manifest.load.close_seconds = closing.elapsed().as_secs_f64();
        return Ok(manifest);
    }
    let store = match RedbStore::open(&args.data_dir) {
        Ok(store) => store,
        Err(OpenError::Locked(path)) => {
            bail!("{} is in use (stop `tagd serve` first)", path.display())
        }
        Err(err) => return Err(err.into()),
    };
    let (mut manifest, closing) = fill(store.clone(), args).await?;
    store.close();
    drop(store);
    manifest.load.close_seconds = closing.elapsed().as_secs_f64();
    manifest.load.store_bytes = store_bytes(&args.data_dir);
    Ok(manifest)
}

/// Loads the dataset into `store`; the manifest's close time and store size are left for the
/// caller, which closes the store (from the returned instant on).
async fn fill<S: Store + Clone + 'static>(
    store: S,
    args: &LoadArgs,
) -> anyhow::Result<(Manifest, Instant)> {
    let account = root_account(&store, args).await?;
    let region = Region::parse(&args.region).context("invalid --region")?;
    let resource_type =
        ResourceType::new("ALIYUN", "RDS", RESOURCE_TYPE).context("resource type")?;
    let spec = DatasetSpec {
        seed: args.seed,
        resources: args.resources,
        tags_mean: args.tags,
    };
    let dataset = Dataset::new(spec);
    let mut census = Census::default();
    let cpu_before = cpu::process_cpu_seconds(None)?;
    let started = Instant::now();
    let mut in_flight: JoinSet<Result<usize, String>> = JoinSet::new();
    let mut acknowledged: u64 = 0;
    let mut next_report = started + Duration::from_secs(1);
    let batch = args.batch as u64;
    let mut first = 0;
    while first < args.resources {
        let last = (first + batch).min(args.resources);
        let mut changes = Vec::with_capacity(args.batch);
        for index in first..last {
            let tags = dataset.tags(index);
            census.add(&tags);
            changes.push(ResourceChange {
                resource: ResourceRef {
                    region: region.clone(),
                    resource_type: resource_type.clone(),
                    id: ResourceId::parse(&resource_id(index)).context("resource id")?,
                },
                op: TagOp::Set(
                    tags.into_iter()
                        .map(|(key, value)| Tag::new(key, value))
                        .collect(),
                ),
            });
        }
        let change_set = ChangeSet {
            account: account.clone(),
            changes,
            atomicity: Atomicity::AllOrNothing,
            require_registered: false,
            catalogue: None,
        };
        let store = store.clone();
        in_flight.spawn(async move {
            let count = change_set.changes.len();
            match store.apply(change_set).await {
                Ok(report) if report.failures.is_empty() => Ok(count),
                Ok(report) => Err(format!("refused: {:?}", report.failures[0])),
                Err(err) => Err(err.to_string()),
            }
        });
        first = last;
        while in_flight.len() >= args.concurrency {
            acknowledged += joined(in_flight.join_next().await)?;
        }
        if args.progress && Instant::now() >= next_report {
            next_report += Duration::from_secs(1);
            progress(acknowledged, args.resources, started);
        }
    }
    while let Some(done) = in_flight.join_next().await {
        acknowledged += joined(Some(done))?;
        if args.progress && Instant::now() >= next_report {
            next_report += Duration::from_secs(1);
            progress(acknowledged, args.resources, started);
        }
    }
    let apply_seconds = started.elapsed().as_secs_f64();
    if args.progress {
        progress(acknowledged, args.resources, started);
        eprintln!();
    }
    let closing = Instant::now();
    let cpu_seconds = cpu::process_cpu_seconds(None)? - cpu_before;
    let targets = census.targets(&TARGET_FRACTIONS);
    let manifest = Manifest {
        version: manifest::VERSION,
        dataset: spec,
        account_id: account.as_str().to_owned(),
        access_key_id: args.access_key_id.clone(),
        region: args.region.clone(),
        resource_type: RESOURCE_TYPE.to_owned(),
        id_format: "rm-bench{index:06}".to_owned(),
        first_id: resource_id(0),
        last_id: resource_id(args.resources - 1),
        bindings: census.bindings,
        max_tags_per_resource: census.max_tags,
        distinct_keys: census.keys.len() as u64,
        keys: census.key_summary(),
        targets,
        env_values: census.top_values("env", 4),
        load: LoadStats {
            resources_per_change_set: args.batch,
            concurrency: args.concurrency,
            apply_seconds,
            close_seconds: 0.0,
            resources_per_second: acknowledged as f64 / apply_seconds,
            bindings_per_second: census.bindings as f64 / apply_seconds,
            cpu_seconds,
            store_bytes: 0,
            peak_rss_kib: cpu::status_kib(None, "VmHWM").ok(),
            finished_at: OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .unwrap_or_default(),
        },
    };
    Ok((manifest, closing))
}

fn joined(
    done: Option<Result<Result<usize, String>, tokio::task::JoinError>>,
) -> anyhow::Result<u64> {
    match done {
        None => Ok(0),
        Some(Ok(Ok(count))) => Ok(count as u64),
        Some(Ok(Err(err))) => bail!("a change set failed: {err}"),
        Some(Err(err)) => bail!("a load task failed: {err}"),
    }
}

fn progress(done: u64, total: u64, started: Instant) {
    let elapsed = started.elapsed().as_secs_f64();
    let rate = if elapsed > 0.0 {
        done as f64 / elapsed
    } else {
        0.0
    };
    let mut stderr = std::io::stderr().lock();
    let _ = write!(
        stderr,
        "\rload {elapsed:6.0}s  resources {done:>10}/{total}  {rate:>9.0}/s"
    );
    let _ = stderr.flush();
}

fn store_bytes(dir: &Path) -> u64 {
    ["tagd.redb", "tagd.wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(dir.join(name)).ok())
        .map(|meta| meta.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> LoadArgs {
        let mut argv = vec![
            "tagd-bench load",
            "--data-dir",
            "/tmp/x",
            "--access-key-id",
            "k",
            "--access-key-secret",
            "s",
        ];
        if !extra.contains(&"--resources") {
            argv.extend_from_slice(&["--resources", "100"]);
        }
        argv.extend_from_slice(extra);
        LoadArgs::try_parse_from(argv).unwrap()
    }

    #[test]
    fn limits() {
        assert!(args(&[]).validate().is_ok());
        assert!(args(&["--tags", "21"]).validate().is_err());
        assert!(args(&["--tags", "4"]).validate().is_err());
        assert!(args(&["--batch", "0"]).validate().is_err());
        assert!(args(&["--resources", "0"]).validate().is_err());
    }

    /// A small load end to end, into a temporary directory: every resource is there with the
    /// tags the dataset says, the key works, and the manifest matches.
    #[test]
    fn loads_a_small_dataset() {
        let dir = tempdir();
        let mut load_args = args(&["--resources", "120", "--batch", "50", "--concurrency", "2"]);
        load_args.data_dir = dir.clone();
        load_args.access_key_id = "LTAIbenchload0000000000".to_owned();
        load_args.access_key_secret = "benchloadsecret00000000000000".to_owned();
        load_args.account = Some("1000000000000042".to_owned());
        main(&load_args).unwrap();
        let manifest = Manifest::read(&dir).unwrap();
        assert_eq!(manifest.dataset.resources, 120);
        assert_eq!(manifest.account_id, "1000000000000042");
        assert_eq!(manifest.targets.len(), 2);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let store = RedbStore::open(&dir).unwrap();
            let key = tagd_core::AccessKeyId::parse("LTAIbenchload0000000000").unwrap();
            let credential = store.get_key(&key).await.unwrap().unwrap();
            assert_eq!(credential.account_id.as_str(), "1000000000000042");
            let dataset = Dataset::new(manifest.dataset);
            let account = AccountId::parse("1000000000000042").unwrap();
            let mut bindings = 0;
            for index in [0, 49, 50, 119] {
                let resource = ResourceRef {
                    region: Region::parse("cn-hangzhou").unwrap(),
                    resource_type: ResourceType::new("ALIYUN", "RDS", "INSTANCE").unwrap(),
                    id: ResourceId::parse(&resource_id(index)).unwrap(),
                };
                let stored = store.get_tags(&account, &resource).await.unwrap();
                let expected = dataset.tags(index);
                assert_eq!(stored.len(), expected.len());
                for (key, value) in &expected {
                    assert_eq!(stored.get(key), Some(value.as_str()));
                }
                bindings += expected.len();
            }
            assert!(bindings > 0);
            store.close();
        });
        // A second load into the same directory is refused.
        assert!(main(&load_args).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The same load into PostgreSQL (TAGD_TEST_DATABASE_URL, default the machine's server; a
    /// schema of its own, dropped after): the tags are in the database, the manifest in the
    /// directory, and the key works.
    #[test]
    fn loads_a_small_dataset_into_postgres() {
        use sqlx::Connection as _;
        let url = std::env::var("TAGD_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let schema = format!("tagd_load_{}", uuid::Uuid::new_v4().simple());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let admin = |sql: String| {
            let url = url.clone();
            runtime.block_on(async move {
                let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            });
        };
        admin(format!("CREATE SCHEMA {schema}"));
        let dir = tempdir();
        let mut load_args = args(&["--resources", "120", "--batch", "50", "--concurrency", "3"]);
        load_args.data_dir = dir.clone();
        load_args.database_url = Some(format!("{url}?options[search_path]={schema}"));
        load_args.access_key_id = "LTAIbenchload0000000000".to_owned();
        load_args.access_key_secret = "benchloadsecret00000000000000".to_owned();
        load_args.account = Some("1000000000000042".to_owned());
        let loaded = main(&load_args);
        let manifest = Manifest::read(&dir);
        let checked = runtime.block_on(async {
            loaded?;
            let manifest = manifest?;
            anyhow::ensure!(manifest.dataset.resources == 120);
            anyhow::ensure!(manifest.load.store_bytes > 0, "the tables' size");
            let store =
                PgStore::connect(load_args.database_url.as_deref().unwrap_or(""), 1).await?;
            let key = tagd_core::AccessKeyId::parse("LTAIbenchload0000000000").unwrap();
            let credential = store.get_key(&key).await?.unwrap();
            anyhow::ensure!(credential.account_id.as_str() == "1000000000000042");
            let dataset = Dataset::new(manifest.dataset);
            let account = AccountId::parse("1000000000000042").unwrap();
            for index in [0, 49, 50, 119] {
                let resource = ResourceRef {
                    region: Region::parse("cn-hangzhou").unwrap(),
                    resource_type: ResourceType::new("ALIYUN", "RDS", "INSTANCE").unwrap(),
                    id: ResourceId::parse(&resource_id(index)).unwrap(),
                };
                let stored = store.get_tags(&account, &resource).await?;
                let expected = dataset.tags(index);
                anyhow::ensure!(stored.len() == expected.len(), "resource {index}");
                for (key, value) in &expected {
                    anyhow::ensure!(stored.get(key) == Some(value.as_str()), "{index} {key}");
                }
            }
            store.close().await;
            Ok(())
        });
        admin(format!("DROP SCHEMA {schema} CASCADE"));
        std::fs::remove_dir_all(&dir).unwrap();
        checked.unwrap();
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "tagd-bench-load-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}

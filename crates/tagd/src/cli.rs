//! The command line. Every `serve` flag can also be set by a `TAGD_*` environment variable;
//! a flag wins over the variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "tagd",
    version,
    about = "A self-hosted cloud resource tag service"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the service.
    Serve(ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage access keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Register resources (for `serve --resources registered`).
    #[command(subcommand)]
    Resource(ResourceCommand),
}

/// Which resources may be tagged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ResourceMode {
    /// Any well-formed resource id.
    Any,
    /// Only resources registered through the admin interface.
    Registered,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; see --ready-file).
    #[arg(long, env = "TAGD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the embedded store keeps its data (with --database-url: only the admin file).
    #[arg(long, env = "TAGD_DATA_DIR", default_value = "./tagd-data")]
    pub data_dir: PathBuf,
    /// Keep everything in this PostgreSQL database (`postgres://user@host:port/db`) instead of
    /// the embedded store: any number of tagd processes may serve the same database.
    #[arg(long, env = "TAGD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections to PostgreSQL this process keeps at most (with --database-url).
    #[arg(long, env = "TAGD_DATABASE_CONNECTIONS", default_value_t = 8)]
    pub database_connections: u32,
    /// How long, in seconds, a node trusts an access key it read from PostgreSQL: a key
    /// disabled or deleted through another node stops working here within this time
    /// (with --database-url; the embedded store has one process and needs none).
    #[arg(long, env = "TAGD_CREDENTIAL_CACHE_SECS", default_value_t = 5)]
    pub credential_cache_secs: u64,
    /// Which resources may be tagged.
    #[arg(long, env = "TAGD_RESOURCES", value_enum, default_value_t = ResourceMode::Any)]
    pub resources: ResourceMode,
    /// Once ready, write `{"listen": "IP:PORT", "pid": N}` to this file.
    #[arg(long, env = "TAGD_READY_FILE")]
    pub ready_file: Option<PathBuf>,
    #[arg(long, env = "TAGD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// A tracing filter: `info`, `warn`, `tagd=debug`, ...
    #[arg(long, env = "TAGD_LOG", default_value = "info")]
    pub log: String,
    /// The embedded store's page cache, in MiB.
    #[arg(long, env = "TAGD_CACHE_MIB", default_value_t = 64)]
    pub cache_mib: usize,
    /// Threads that run store reads (and other blocking work) at most. Two cores keep a
    /// handful busy; more only add memory.
    #[arg(long, env = "TAGD_READ_THREADS", default_value_t = 8)]
    pub read_threads: usize,
    /// How often, at most, the embedded store makes its database durable and empties its
    /// write-ahead log while writes arrive (milliseconds). Shorter bounds what a restart after a
    /// crash replays; longer writes fewer pages.
    #[arg(long, env = "TAGD_CHECKPOINT_MS", default_value_t = 1000)]
    pub checkpoint_ms: u64,
    /// ...and as soon as replaying the batches in the log after a crash would take about this
    /// long (milliseconds): the writer's time applying them, plus a cold read for each
    /// tag-index chunk they read from the database.
    #[arg(long, env = "TAGD_CHECKPOINT_REPLAY_MS", default_value_t = 600)]
    pub checkpoint_replay_ms: u64,
    /// How often the embedded store has the kernel write its database file back between
    /// checkpoints (milliseconds; 0: never), so that a restart after a crash finds little
    /// left to write before it is ready.
    #[arg(long, env = "TAGD_WRITEBACK_MS", default_value_t = 200)]
    pub writeback_ms: u64,
    /// Most tags one account's Baidu catalogue may hold (Baidu's default is 200).
    #[arg(long, env = "TAGD_BCE_TAG_QUOTA", default_value_t = 200)]
    pub bce_tag_quota: usize,
    /// Longest a request may take before it is answered 503 (seconds; in the dialect's error
    /// shape: `ServiceUnavailable`).
    #[arg(long, env = "TAGD_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Root access key id; with --access-key-secret, an account owning it is ensured at start.
    #[arg(long, env = "TAGD_ACCESS_KEY_ID", hide_env_values = true)]
    pub access_key_id: Option<String>,
    #[arg(long, env = "TAGD_ACCESS_KEY_SECRET", hide_env_values = true)]
    pub access_key_secret: Option<String>,
}

/// How admin commands reach the data.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// The data directory: opened directly when no server holds it, else its admin.json says
    /// where the running server is.
    #[arg(long, env = "TAGD_DATA_DIR", default_value = "./tagd-data")]
    pub data_dir: PathBuf,
    /// A running server's address (e.g. http://127.0.0.1:8080); its admin token is read from
    /// <data-dir>/admin.json or TAGD_ADMIN_TOKEN.
    #[arg(long, env = "TAGD_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Work on this PostgreSQL database (the one the servers use with --database-url);
    /// --endpoint, when given, wins.
    #[arg(long, env = "TAGD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account and its first access key (the secret is printed once).
    Create {
        name: String,
        #[command(flatten)]
        target: Target,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create another access key for an account.
    Create {
        account: String,
        #[command(flatten)]
        target: Target,
    },
    /// List an account's keys (without secrets).
    List {
        account: String,
        #[command(flatten)]
        target: Target,
    },
    /// Disable a key: requests signed with it get InvalidAccessKeyId.Inactive.
    Disable {
        key_id: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ResourceArgs {
    pub account: String,
    pub region: String,
    /// Canonical type, e.g. ALIYUN::RDS::INSTANCE.
    pub resource_type: String,
    pub resource_id: String,
}

#[derive(Subcommand, Debug)]
pub enum ResourceCommand {
    /// Register a resource so that it may be tagged under `--resources registered`.
    Register {
        #[command(flatten)]
        resource: ResourceArgs,
        #[command(flatten)]
        target: Target,
    },
    /// Deregister a resource and delete its tags.
    Deregister {
        #[command(flatten)]
        resource: ResourceArgs,
        #[command(flatten)]
        target: Target,
    },
}

//! Command line of `tagd-bench`, and the checks that keep a run bounded and on this machine.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use serde::Serialize;

use crate::workload::{PoolOrder, Workload};

/// Longest run accepted (warmup + duration): a forgotten run must still end by itself.
pub const MAX_RUN: Duration = Duration::from_secs(3600);
/// Most connections accepted (each is one task and one socket).
pub const MAX_CONNECTIONS: usize = 10_000;
/// Largest resource pool accepted.
pub const MAX_POOL: u32 = 50_000_000;
/// Warmup when `--warmup` is not given and `--requests` is not either.
pub const DEFAULT_WARMUP: Duration = Duration::from_secs(2);

/// Closed-loop load generator for tagd: each connection sends freshly signed requests back to
/// back over one keep-alive HTTP/1.1 connection, and the run stops after warmup + duration.
#[derive(Parser, Debug, Clone)]
#[command(name = "tagd-bench", version)]
pub struct Args {
    /// Where tagd listens, `host:port`; only loopback addresses are accepted.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub endpoint: String,

    /// AccessKeyId that signs the requests.
    #[arg(
        long,
        env = "TAGD_ACCESS_KEY_ID",
        hide_env_values = true,
        default_value = ""
    )]
    pub access_key_id: String,

    /// AccessKeySecret that signs the requests.
    #[arg(
        long,
        env = "TAGD_ACCESS_KEY_SECRET",
        hide_env_values = true,
        default_value = ""
    )]
    pub access_key_secret: String,

    /// What each request does.
    #[arg(long, value_enum)]
    pub workload: Workload,

    /// Concurrent connections, each with one request in flight.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,

    /// Recorded period (`10s`, `500ms`, `2m`; a bare number is seconds).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Unrecorded period before the recorded one (default 2s; 0 with `--requests`).
    #[arg(long, value_parser = parse_duration)]
    pub warmup: Option<Duration>,

    /// Signature scheme: V1 (HMAC-SHA1 in the query) or V3 (ACS3-HMAC-SHA256 header).
    #[arg(long, value_enum, default_value_t = SignScheme::V1)]
    pub sign: SignScheme,

    /// Size of the pool of resource ids (`rm-bench000000` …) the workloads pick from
    /// (default: the manifest's resources, else 1000).
    #[arg(long)]
    pub resources: Option<u32>,

    /// A dataset manifest (`bench-manifest.json`, or the data directory holding it) written by
    /// `tagd-bench load`: the pool is its resources and `list-tag` and `find-tag` list its target tag.
    #[arg(long)]
    pub manifest: Option<PathBuf>,

    /// Which manifest target `list-tag` and `find-tag` list: the tag on about this share of the resources.
    #[arg(long, default_value_t = 0.001)]
    pub selectivity: f64,

    /// The `list-tag` filter's key (with `--tag-value`), instead of a manifest target.
    #[arg(long, requires = "tag_value")]
    pub tag_key: Option<String>,

    /// The `list-tag` filter's value.
    #[arg(long, requires = "tag_key")]
    pub tag_value: Option<String>,

    /// Stop after this many operations (a listing of several pages counts once); the run is
    /// still bounded by warmup + duration.
    #[arg(long)]
    pub requests: Option<u64>,

    /// How requests pick their pool resource.
    #[arg(long, value_enum, default_value_t = PoolOrder::Random)]
    pub order: PoolOrder,

    /// RegionId of every request.
    #[arg(long, default_value = "cn-hangzhou")]
    pub region: String,

    /// Worker threads of the client runtime (default: number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,

    /// Write the summary as one JSON object to this file.
    #[arg(long)]
    pub json_out: Option<PathBuf>,

    /// Also report the CPU time this process (the server) used during the recorded period.
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// Print a one-line progress indicator on stderr every second.
    #[arg(long)]
    pub progress: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignScheme {
    V1,
    V3,
}

impl Args {
    /// Checks what clap cannot, and resolves the endpoint to a loopback socket address.
    pub fn validate(&self) -> anyhow::Result<SocketAddr> {
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            bail!("--connections must be between 1 and {MAX_CONNECTIONS}");
        }
        if self.duration.is_zero() {
            bail!("--duration must be positive");
        }
        if self.warmup() + self.duration > MAX_RUN {
            bail!("warmup + duration must not exceed {}s", MAX_RUN.as_secs());
        }
        if self.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        if self.workload.is_signed() {
            if self.access_key_id.is_empty() || self.access_key_secret.is_empty() {
                bail!(
                    "workload {} needs --access-key-id and --access-key-secret \
                     (or TAGD_ACCESS_KEY_ID / TAGD_ACCESS_KEY_SECRET)",
                    self.workload.name()
                );
            }
            if self.resources == Some(0) || self.resources.is_some_and(|n| n > MAX_POOL) {
                bail!("--resources must be between 1 and {MAX_POOL}");
            }
        }
        if self.requests == Some(0) {
            bail!("--requests must be at least 1");
        }
        if !(self.selectivity > 0.0 && self.selectivity <= 1.0) {
            bail!("--selectivity must be in (0, 1]");
        }
        loopback_endpoint(&self.endpoint)
    }

    /// The warmup to run with.
    pub fn warmup(&self) -> Duration {
        self.warmup.unwrap_or(if self.requests.is_some() {
            Duration::ZERO
        } else {
            DEFAULT_WARMUP
        })
    }

    /// The worker threads to run with.
    pub fn threads(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }
}

/// Resolves `host:port` and refuses it unless every address it names is loopback: this tool
/// must never put load on another machine.
pub fn loopback_endpoint(endpoint: &str) -> anyhow::Result<SocketAddr> {
    if endpoint.contains('/') {
        bail!("--endpoint is host:port, without scheme or path: {endpoint}");
    }
    let addrs: Vec<SocketAddr> = endpoint
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve endpoint {endpoint}"))?
        .collect();
    let Some(first) = addrs.first().copied() else {
        bail!("endpoint {endpoint} resolves to no address");
    };
    if let Some(other) = addrs.iter().find(|addr| !addr.ip().is_loopback()) {
        bail!("endpoint {endpoint} resolves to {other}, which is not loopback: refused");
    }
    Ok(first)
}

/// `10s`, `500ms`, `2m`, `1h` or a bare number of seconds (fractions allowed: `1.5s`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "unknown duration unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("invalid duration {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn only_loopback_endpoints() {
        assert!(loopback_endpoint("127.0.0.1:18080").is_ok());
        assert!(loopback_endpoint("127.1.2.3:80").is_ok());
        assert!(loopback_endpoint("[::1]:18080").is_ok());
        assert!(loopback_endpoint("localhost:18080").is_ok());
        assert!(loopback_endpoint("10.0.0.1:80").is_err());
        assert!(loopback_endpoint("192.168.1.1:80").is_err());
        assert!(loopback_endpoint("0.0.0.0:80").is_err());
        assert!(loopback_endpoint("http://127.0.0.1:80").is_err());
        assert!(loopback_endpoint("127.0.0.1").is_err());
    }

    #[test]
    fn runs_are_bounded() {
        let args = Args::try_parse_from([
            "tagd-bench",
            "--endpoint",
            "127.0.0.1:1",
            "--workload",
            "healthz",
            "--duration",
            "2h",
        ])
        .unwrap();
        assert!(args.validate().is_err());
        let signed = Args::try_parse_from([
            "tagd-bench",
            "--endpoint",
            "127.0.0.1:1",
            "--workload",
            "tag",
            "--access-key-id",
            "",
        ])
        .unwrap();
        assert!(signed.validate().is_err());
    }
}

//! `tagd-bench`: a closed-loop load generator for a tagd running on this machine. Every request
//! is signed afresh (new `SignatureNonce` and `Timestamp`), as tagd refuses replays, so a
//! fixed-request tool would only measure the rejection path.
//!
//! ```text
//! tagd-bench --endpoint 127.0.0.1:18080 --workload tag --connections 64 --duration 10s \
//!     --warmup 2s [--sign v1|v3] [--server-pid PID] [--json-out run.json] [--progress] \
//!     [--manifest DATA_DIR --selectivity 0.01] [--requests N --order sequential]
//! tagd-bench load --data-dir DIR --resources 1000000 [--tags 10] [--seed 7] [--account ID]
//! ```
//!
//! `load` fills a stopped server's data directory with a synthetic dataset through the store's
//! bulk path and writes `bench-manifest.json` beside it ([`load`]).

/// The same allocator as `tagd` (the client shares the two cores with the server).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod cpu;
mod dataset;
mod load;
mod manifest;
mod report;
mod request;
mod runner;
mod workload;

use anyhow::Context as _;
use clap::Parser as _;

use crate::cli::Args;
use crate::report::{ConfigSummary, Summary};
use crate::request::Signer;
use crate::runner::RunConfig;
use crate::workload::{ResourcePool, Targets};

fn main() -> anyhow::Result<()> {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|first| first == "load") {
        argv.remove(1);
        return load::main(&load::LoadArgs::parse_from(argv));
    }
    let args = Args::parse_from(argv);
    let addr = args.validate()?;
    let manifest = args
        .manifest
        .as_deref()
        .map(manifest::Manifest::read)
        .transpose()?;
    let pool_size = match (args.resources, &manifest) {
        (Some(size), _) => size,
        (None, Some(manifest)) => u32::try_from(manifest.dataset.resources)
            .context("the manifest has more resources than a pool can hold")?,
        (None, None) => 1000,
    };
    let list_filter = match (&args.tag_key, &args.tag_value, &manifest) {
        (Some(key), Some(value), _) => Some((key.clone(), value.clone())),
        (_, _, Some(manifest)) => {
            let target = manifest
                .target(args.selectivity)
                .context("the manifest names no target tag")?;
            Some((target.key.clone(), target.value.clone()))
        }
        _ => None,
    };
    let region = manifest
        .as_ref()
        .map_or_else(|| args.region.clone(), |m| m.region.clone());
    let threads = args.threads();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let config = RunConfig {
        workload: args.workload,
        connections: args.connections,
        warmup: args.warmup(),
        duration: args.duration,
        addr,
        signer: Signer::new(
            args.sign,
            args.access_key_id.clone(),
            args.access_key_secret.clone(),
            region.clone(),
            args.endpoint.clone(),
        ),
        targets: Targets {
            pool: ResourcePool { size: pool_size },
            order: args.order,
            list_filter: list_filter.clone(),
        },
        requests: args.requests,
        progress: args.progress,
        server_pid: args.server_pid,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let result = runtime.block_on(runner::run(config))?;
    // Tasks still in flight were abandoned at the deadline; do not wait for them.
    runtime.shutdown_background();

    let summary = Summary::new(
        ConfigSummary {
            workload: args.workload,
            endpoint: args.endpoint.clone(),
            sign: args.sign,
            connections: args.connections,
            threads,
            warmup_seconds: args.warmup().as_secs_f64(),
            duration_seconds: args.duration.as_secs_f64(),
            resources: pool_size,
            region,
            server_pid: args.server_pid,
            requests: args.requests,
            order: args.order,
            list_filter: list_filter.map(|(key, value)| format!("{key}={value}")),
            manifest: args
                .manifest
                .as_ref()
                .map(|path| path.display().to_string()),
        },
        &result,
        cores,
    );
    print!("{}", summary.table());
    if let Some(path) = &args.json_out {
        let json = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

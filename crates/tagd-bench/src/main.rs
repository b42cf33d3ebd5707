//! `tagd-bench`: a closed-loop load generator for a tagd running on this machine. Every request
//! is signed afresh (new `SignatureNonce` and `Timestamp`), as tagd refuses replays, so a
//! fixed-request tool would only measure the rejection path.
//!
//! ```text
//! tagd-bench --endpoint 127.0.0.1:18080 --workload tag --connections 64 --duration 10s \
//!     --warmup 2s [--sign v1|v3] [--server-pid PID] [--json-out run.json] [--progress]
//! ```

mod cli;
mod cpu;
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
use crate::workload::ResourcePool;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let addr = args.validate()?;
    let threads = args.threads();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let config = RunConfig {
        workload: args.workload,
        connections: args.connections,
        warmup: args.warmup,
        duration: args.duration,
        addr,
        signer: Signer {
            scheme: args.sign,
            access_key_id: args.access_key_id.clone(),
            secret: args.access_key_secret.clone(),
            region: args.region.clone(),
            host: args.endpoint.clone(),
        },
        pool: ResourcePool {
            size: args.resources,
        },
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
            warmup_seconds: args.warmup.as_secs_f64(),
            duration_seconds: args.duration.as_secs_f64(),
            resources: args.resources,
            region: args.region.clone(),
            server_pid: args.server_pid,
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

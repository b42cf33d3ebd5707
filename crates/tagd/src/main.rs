//! `tagd`: the service (`tagd serve`) and its admin commands (`tagd account|key|resource`).

/// mimalloc: glibc malloc took ~20% of the request threads in W1 (bench/README.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin_cli;
mod cli;
mod logging;
mod serve;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let cli::Command::Serve(args) = &cli.command {
        // Store reads run on the blocking pool; tokio's default of 512 threads let 64
        // connections of reads start ~75 threads, each with its own allocator heap
        // (bench/README.md, RSS).
        builder.max_blocking_threads(args.read_threads.max(1));
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("tagd: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(args) => serve::run(args).await,
            cli::Command::Account(cmd) => admin_cli::account(cmd).await,
            cli::Command::Key(cmd) => admin_cli::key(cmd).await,
            cli::Command::Resource(cmd) => admin_cli::resource(cmd).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tagd: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

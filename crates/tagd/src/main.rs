//! `tagd`: the service (`tagd serve`) and its admin commands (`tagd account|key|resource`).

/// mimalloc: glibc malloc took ~20% of the request threads in W1 (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin_cli;
mod cli;
mod logging;
mod serve;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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

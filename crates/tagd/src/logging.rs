//! Log setup: text or JSON lines on stderr, filtered by `--log`.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub fn init(format: LogFormat, filter: &str) {
    let filter = match EnvFilter::try_new(filter) {
        Ok(parsed) => parsed,
        Err(err) => {
            eprintln!("tagd: invalid --log filter {filter:?} ({err}); logging at info");
            EnvFilter::new("info")
        }
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Err(err) = installed {
        eprintln!("tagd: logging not initialised: {err}");
    }
}

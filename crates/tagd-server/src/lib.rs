//! tagd's HTTP server: routes each request to its wire dialect, serves the admin API, health
//! and metrics, and shuts down gracefully. Dialects and the core know nothing of axum.

pub mod admin;
mod dispatch;
pub mod telemetry;

use std::future::{Future, IntoFuture as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tagd_aliyun::Aliyun;
use tagd_bce::api::Bce;
use tagd_core::{Store, TagService};
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

/// Largest request body accepted (an RDS call with 50 ids × 20 tags is ~20 KiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything a request handler reaches.
pub struct AppState<S> {
    pub service: Arc<TagService<S>>,
    pub aliyun: Aliyun<S>,
    pub bce: Bce<S>,
    /// The bearer token of the admin API (written to the data dir for the local CLI).
    pub admin_token: String,
}

impl<S: Store> AppState<S> {
    /// The state with Baidu's default catalogue quota.
    pub fn new(service: Arc<TagService<S>>, admin_token: String) -> Self {
        Self::with_bce_quota(service, admin_token, tagd_bce::api::DEFAULT_QUOTA)
    }

    /// The state with another Baidu catalogue quota (tags per account).
    pub fn with_bce_quota(
        service: Arc<TagService<S>>,
        admin_token: String,
        bce_quota: usize,
    ) -> Self {
        Self {
            aliyun: Aliyun::new(Arc::clone(&service)),
            bce: Bce::new(Arc::clone(&service), bce_quota),
            service,
            admin_token,
        }
    }
}

/// The whole application, without a socket (tests drive it with `oneshot`).
///
/// Every request has `request_timeout` to be answered. The dialects' requests (the fallback) are
/// timed by [`dispatch::dispatch`], which answers in the dialect's error shape; the layer times
/// tagd's own routes.
pub fn router<S: Store>(state: Arc<AppState<S>>, request_timeout: Duration) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(telemetry::render))
        .nest("/admin/v1", admin::router::<S>())
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
        .fallback(
            move |state: axum::extract::State<Arc<AppState<S>>>,
                  request: http::Request<axum::body::Body>| {
                dispatch::dispatch(state, request, request_timeout)
            },
        )
        .with_state(state)
}

/// Where to listen and what to announce once listening.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub request_timeout: Duration,
}

/// Binds the listener (so the caller learns the real port before serving).
pub async fn bind(config: &ServerConfig) -> std::io::Result<TcpListener> {
    TcpListener::bind(config.listen).await
}

/// How long after the request timeout a stopping server still waits for its connections: the
/// time to write a last answer.
const SHUTDOWN_MARGIN: Duration = Duration::from_secs(2);

/// Serves until `shutdown` resolves, then stops accepting and waits for in-flight requests.
///
/// The wait is bounded: every request is answered within `request_timeout`, so a connection
/// still open `request_timeout` plus [`SHUTDOWN_MARGIN`] after the stop carries no request
/// (a client that sent part of its headers and went quiet), and it is closed. Without the
/// bound such a client kept a stopping server alive for as long as it held the connection.
pub async fn serve<S: Store>(
    listener: TcpListener,
    state: Arc<AppState<S>>,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state, config.request_timeout);
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = stopping.send(());
    };
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .into_future();
    let grace = config.request_timeout + SHUTDOWN_MARGIN;
    let grace_over = async move {
        match stopped.await {
            Ok(()) => tokio::time::sleep(grace).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = served => served,
        () = grace_over => {
            tracing::warn!(
                grace_ms = grace.as_millis() as u64,
                "connections still open after the shutdown grace period: closing them"
            );
            Ok(())
        }
    }
}

/// Starts listening for SIGINT (Ctrl-C) and SIGTERM at once; the future resolves on the first.
///
/// The handlers are installed by this call, not when the future is first polled: a process
/// manager may stop tagd as soon as it says it is ready, and a signal with no handler yet takes
/// the default action, which kills the process without its closing checkpoint.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        [SignalKind::interrupt(), SignalKind::terminate()].map(|kind| {
            signal(kind)
                .inspect_err(
                    |err| tracing::error!(error = %err, ?kind, "cannot listen for a signal"),
                )
                .ok()
        })
    };
    async move {
        #[cfg(unix)]
        {
            let [interrupt, terminate] = signals;
            tokio::select! {
                () = until(interrupt) => {},
                () = until(terminate) => {},
            }
        }
        #[cfg(not(unix))]
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutdown requested: finishing in-flight requests");
    }
}

/// Waits for the signal `signal` listens for, or forever if nothing listens.
#[cfg(unix)]
async fn until(signal: Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(mut signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// The file through which a running server tells local admin commands where and how to reach it.
pub fn admin_file(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("admin.json")
}

#[cfg(all(test, unix))]
mod shutdown {
    use std::time::Duration;

    /// A SIGTERM that arrives after `shutdown_signal()` returns but before its future is first
    /// polled (a stop right after "ready") resolves the future: without a handler installed
    /// by then it would kill this test process.
    #[tokio::test]
    async fn a_stop_before_the_first_poll_is_a_clean_one() {
        let shutdown = super::shutdown_signal();
        let pid = std::process::id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {pid}: {status}");
        tokio::time::timeout(Duration::from_secs(10), shutdown)
            .await
            .expect("the SIGTERM resolves the shutdown future");
    }
}

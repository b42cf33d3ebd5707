//! The closed-loop engine: `connections` tasks, each owning one keep-alive HTTP/1.1 connection
//! and sending its next request as soon as the previous response is read.
//!
//! Timeline: warmup (nothing recorded) → recorded window of `duration` → stop. A request is
//! recorded only if it both started and finished inside the window; requests still in flight at
//! the end are abandoned, so a run never outlasts warmup + duration (plus the final join).
//! With `--requests N` the run also stops once N operations were issued and answered (a
//! listing of several pages is one operation); the window then ends with the last answer.
//! Each task keeps its own histogram and counters and the runner merges them at the end, so the
//! hot path shares only two relaxed counters (for `--progress`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::cpu;
use crate::request::{self, Signer};
use crate::workload::{Operation, Rng, RpcCall, Targets, Workload, next_page};

/// Highest latency the histograms track (longer ones are clamped to it).
const MAX_LATENCY_US: u64 = 3_600_000_000;
/// Pause between failed connection attempts, so a dead server is not hammered with SYNs.
const RECONNECT_PAUSE: Duration = Duration::from_millis(50);

/// What a run needs, resolved from the command line.
pub struct RunConfig {
    pub workload: Workload,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub addr: SocketAddr,
    pub signer: Signer,
    pub targets: Targets,
    /// Stop after this many operations (each listing counts once).
    pub requests: Option<u64>,
    pub progress: bool,
    pub server_pid: Option<u32>,
}

/// Counters of one task, merged into one for the run.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latency of every recorded HTTP response, successful or not, in µs.
    pub latency_us: Histogram<u64>,
    /// Responses with status 200.
    pub ok: u64,
    pub by_status: BTreeMap<u16, u64>,
    /// `Code` of the JSON body of non-2xx responses.
    pub by_code: BTreeMap<String, u64>,
    /// Requests that got no response: `connect`, `send` (the connection broke), `closed`.
    pub transport_errors: BTreeMap<&'static str, u64>,
    /// Paginated listings whose last page was read in the window (`list-tag`).
    pub listings_completed: u64,
    /// Latency of whole listings (first page sent → last page read), in µs.
    pub listing_us: Histogram<u64>,
    /// Latency per kind of request ([`Operation::label`]), in µs.
    pub by_label: BTreeMap<&'static str, Histogram<u64>>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("static histogram bounds are valid")
}

fn micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    pub fn new() -> Self {
        Self {
            latency_us: histogram(),
            ok: 0,
            by_status: BTreeMap::new(),
            by_code: BTreeMap::new(),
            transport_errors: BTreeMap::new(),
            listings_completed: 0,
            listing_us: histogram(),
            by_label: BTreeMap::new(),
        }
    }

    /// All recorded requests: responses plus requests that got none.
    pub fn requests(&self) -> u64 {
        self.by_status.values().sum::<u64>() + self.transport_errors.values().sum::<u64>()
    }

    pub fn record_response(
        &mut self,
        label: &'static str,
        status: StatusCode,
        latency: Duration,
        body: &[u8],
    ) {
        let micros = micros(latency);
        self.latency_us.saturating_record(micros);
        self.by_label
            .entry(label)
            .or_insert_with(histogram)
            .saturating_record(micros);
        *self.by_status.entry(status.as_u16()).or_default() += 1;
        if status == StatusCode::OK {
            self.ok += 1;
        } else if !status.is_success() {
            *self.by_code.entry(request::error_code(body)).or_default() += 1;
        }
    }

    pub fn record_listing(&mut self, latency: Duration) {
        self.listings_completed += 1;
        self.listing_us.saturating_record(micros(latency));
    }

    pub fn record_transport_error(&mut self, kind: &'static str) {
        *self.transport_errors.entry(kind).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Stats) {
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency_us.add(&other.latency_us);
        let _ = self.listing_us.add(&other.listing_us);
        for (label, histogram) in &other.by_label {
            let _ = self
                .by_label
                .entry(label)
                .or_insert_with(self::histogram)
                .add(histogram);
        }
        self.ok += other.ok;
        self.listings_completed += other.listings_completed;
        for (status, count) in &other.by_status {
            *self.by_status.entry(*status).or_default() += count;
        }
        for (code, count) in &other.by_code {
            *self.by_code.entry(code.clone()).or_default() += count;
        }
        for (kind, count) in &other.transport_errors {
            *self.transport_errors.entry(kind).or_default() += count;
        }
    }
}

/// The merged counters plus the CPU time measured over the recorded window.
pub struct RunResult {
    pub stats: Stats,
    /// The recorded window: `--duration`, or less when `--requests` ended the run sooner.
    pub measured: Duration,
    /// Wall time between the two CPU samples (≈ `measured`).
    pub cpu_wall: Duration,
    pub client_cpu_seconds: f64,
    /// `None` without `--server-pid` or when its `/proc` entry could not be read.
    pub server_cpu_seconds: Option<f64>,
}

/// Shared by the tasks and the progress line.
#[derive(Default)]
struct Progress {
    completed: AtomicU64,
    failed: AtomicU64,
    /// Operations handed out so far (the next one's number).
    issued: AtomicU64,
}

/// When the recorded window opens and closes.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

/// Runs the whole benchmark; call inside a multi-thread runtime.
pub async fn run(config: RunConfig) -> anyhow::Result<RunResult> {
    let config = Arc::new(config);
    let begin = Instant::now();
    let window = Window {
        start: begin + config.warmup,
        end: begin + config.warmup + config.duration,
    };
    let progress = Arc::new(Progress::default());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..config.connections {
        let config = Arc::clone(&config);
        let progress = Arc::clone(&progress);
        tasks.spawn(async move { connection_loop(&config, &progress, window).await });
    }
    let reporter = config.progress.then(|| {
        let progress = Arc::clone(&progress);
        tokio::spawn(async move { report_progress(&progress, begin, window).await })
    });

    sleep_until(window.start).await;
    let client_before = cpu::process_cpu_seconds(None)?;
    let server_before = config
        .server_pid
        .and_then(|pid| cpu::process_cpu_seconds(Some(pid)).ok());
    let sampled_at = Instant::now();
    let mut stats = Stats::new();
    // Until the window closes, or every connection is done (`--requests` reached).
    let mut ended_early = false;
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(task) => stats.merge(&task?),
                None => {
                    ended_early = true;
                    break;
                }
            },
            () = sleep_until(window.end) => break,
        }
    }
    let client_after = cpu::process_cpu_seconds(None)?;
    let server_after = config
        .server_pid
        .and_then(|pid| cpu::process_cpu_seconds(Some(pid)).ok());
    let cpu_wall = sampled_at.elapsed();
    while let Some(task) = tasks.join_next().await {
        stats.merge(&task?);
    }
    if let Some(reporter) = reporter {
        reporter.abort();
        eprintln!();
    }
    let server_cpu_seconds = match (server_before, server_after) {
        (Some(before), Some(after)) => Some(after - before),
        _ => None,
    };
    Ok(RunResult {
        stats,
        measured: if ended_early {
            cpu_wall.min(config.duration)
        } else {
            config.duration
        },
        cpu_wall,
        client_cpu_seconds: client_after - client_before,
        server_cpu_seconds,
    })
}

type Connection = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

async fn connect(addr: SocketAddr) -> anyhow::Result<(SendRequest<Full<Bytes>>, Connection)> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(http1::handshake(TokioIo::new(stream)).await?)
}

/// Sends one request and reads the whole response.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> hyper::Result<(StatusCode, Bytes)> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// One connection's loop: (re)connect, then request after request until the window closes.
async fn connection_loop(config: &RunConfig, progress: &Progress, window: Window) -> Stats {
    let mut stats = Stats::new();
    let mut rng = Rng::from_entropy();
    let in_window =
        |started: Instant, finished: Instant| started >= window.start && finished <= window.end;
    // The next page of a paginated listing, fetched before a new operation is drawn, and when
    // that listing's first page was sent.
    let mut next: Option<RpcCall> = None;
    let mut listing_started = Instant::now();
    while Instant::now() < window.end {
        let attempt = Instant::now();
        let (mut sender, connection) = match timeout_at(window.end, connect(config.addr)).await {
            Err(_) => break,
            Ok(Ok(connected)) => connected,
            Ok(Err(_)) => {
                if in_window(attempt, Instant::now()) {
                    stats.record_transport_error("connect");
                }
                progress.failed.fetch_add(1, Ordering::Relaxed);
                sleep_until((Instant::now() + RECONNECT_PAUSE).min(window.end)).await;
                continue;
            }
        };
        // The connection is driven in this task (no spawn), so a request wakes one task only.
        let mut connection = pin!(connection);
        loop {
            let fresh = next.is_none();
            let operation = match next.take() {
                Some(call) => Operation::Rpc(call),
                None => {
                    let ticket = progress.issued.fetch_add(1, Ordering::Relaxed);
                    if config.requests.is_some_and(|limit| ticket >= limit) {
                        return stats;
                    }
                    config.workload.operation(&config.targets, &mut rng, ticket)
                }
            };
            let request = config.signer.request(&operation);
            let started = Instant::now();
            if fresh {
                listing_started = started;
            }
            let outcome = tokio::select! {
                biased;
                outcome = exchange(&mut sender, request) => outcome.map_err(|_| "send"),
                _ = &mut connection => Err("closed"),
                () = sleep_until(window.end) => return stats,
            };
            let finished = Instant::now();
            progress.completed.fetch_add(1, Ordering::Relaxed);
            let recorded = in_window(started, finished);
            match outcome {
                Ok((status, body)) => {
                    if status != StatusCode::OK {
                        progress.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    if recorded {
                        stats.record_response(operation.label(), status, finished - started, &body);
                    }
                    if status == StatusCode::OK
                        && config.workload.paginates()
                        && let Operation::Rpc(call) = &operation
                    {
                        next = next_page(call, &request::next_token(&body));
                        if next.is_none() && in_window(listing_started, finished) {
                            stats.record_listing(finished - listing_started);
                        }
                    }
                }
                Err(kind) => {
                    progress.failed.fetch_add(1, Ordering::Relaxed);
                    if recorded {
                        stats.record_transport_error(kind);
                    }
                    // A listing cut short starts over on the new connection.
                    next = None;
                    break;
                }
            }
        }
    }
    stats
}

/// The one-line progress indicator on stderr, once a second.
async fn report_progress(progress: &Progress, begin: Instant, window: Window) {
    let mut ticker =
        tokio::time::interval_at(begin + Duration::from_secs(1), Duration::from_secs(1));
    let mut last_completed = 0;
    loop {
        let now = ticker.tick().await;
        let completed = progress.completed.load(Ordering::Relaxed);
        let failed = progress.failed.load(Ordering::Relaxed);
        let phase = if now < window.start { "warmup" } else { "run" };
        let elapsed = now.duration_since(begin).as_secs_f64();
        let total = window.end.duration_since(begin).as_secs_f64();
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r{phase:<6} {elapsed:5.0}/{total:.0}s  requests {completed:>10}  \
             rate {:>9}/s  errors {failed:<8}",
            completed - last_completed
        );
        let _ = stderr.flush();
        last_completed = completed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_count_and_merge() {
        let mut a = Stats::new();
        a.record_response("tag", StatusCode::OK, Duration::from_micros(100), b"{}");
        a.record_response(
            "tag",
            StatusCode::BAD_REQUEST,
            Duration::from_micros(300),
            br#"{"Code":"InvalidParameter"}"#,
        );
        let mut b = Stats::new();
        b.record_response("list-id", StatusCode::OK, Duration::from_micros(200), b"{}");
        b.record_transport_error("send");
        b.record_listing(Duration::from_micros(5000));
        a.merge(&b);
        assert_eq!(a.by_label["tag"].len(), 2);
        assert_eq!(a.by_label["list-id"].len(), 1);
        assert_eq!(a.listings_completed, 1);
        assert!(a.listing_us.equivalent(a.listing_us.max(), 5000));
        assert_eq!(a.ok, 2);
        assert_eq!(a.requests(), 4);
        assert_eq!(a.by_status[&200], 2);
        assert_eq!(a.by_code["InvalidParameter"], 1);
        assert_eq!(a.transport_errors["send"], 1);
        assert_eq!(a.latency_us.len(), 3);
        assert_eq!(a.latency_us.max(), 300);
    }
}

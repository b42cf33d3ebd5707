//! What the server's request path costs, without the network, the load generator or the rest
//! of the machine: the whole router (routing, parameters, the V1 signature, the service, the
//! embedded store with its writer and syncer, rendering) driven in-process with `oneshot` on a
//! 10k-resource store, its CPU time summed over the process's threads from
//! `/proc/self/task/*/schedstat` (nanoseconds).
//!
//! The end-to-end suite (`bench/suite.py`) says what tagd serves over HTTP; this says how much
//! of a request's server CPU is tagd's own code, steadily enough to show a change of a few
//! microseconds that the two shared cores' noise hides in a throughput figure. Run:
//!
//! ```text
//! cargo bench -p tagd-server --bench request_path
//! ```
//!
//! Rows: `healthz` (the router alone), `list-id` (W3: RDS `ListTagResources` of one
//! resource), `find-tag` (Tag service `ListTagResources` by `owner=user-7`, 10 matches) and
//! `find-100` (the same by `cost=cc-7`, 100 matches: the per-match cost), each
//! sent one at a time; `tag` (W1: RDS `TagResources`, 1 resource × 5 tags, durable) from 64
//! concurrent tasks. Five rounds each; the table shows the best and the median round (the best
//! is the steadier figure on a shared machine: interference only adds CPU time). `REQUEST_PATH_ONLY=tag`
//! (or another row's name) runs only that row, e.g. under `perf record`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use http::{Request, StatusCode};
use tagd_aliyun::sign::{format_timestamp, v1};
use tagd_core::{TagService, admin};
use tagd_server::{AppState, router};
use tagd_store_redb::RedbStore;
use tower::ServiceExt as _;

const RESOURCES: u32 = 10_000;
const ROUNDS: usize = 5;
/// Requests of one round of a sequential row.
const SEQUENTIAL: usize = 20_000;
const WRITERS: usize = 64;
const TAGS_PER_WRITER: usize = 200;

struct Bench {
    app: axum::Router,
    key_id: String,
    key: v1::SigningKey,
}

impl Bench {
    /// A V1-signed `POST /?…` as `aliyun-python-sdk-core` sends it.
    fn request(&self, action: &str, version: &str, api: &[(&str, &str)]) -> Request<Body> {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let timestamp = format_timestamp(time::OffsetDateTime::now_utc());
        let common = v1::Common {
            action,
            version,
            access_key_id: &self.key_id,
            nonce: &nonce,
            region: "cn-hangzhou",
            timestamp: &timestamp,
        };
        let mut params = common.params().to_vec();
        params.extend_from_slice(api);
        let mut uri = String::from("/?");
        self.key.signed_query_into(&mut uri, "POST", &params);
        Request::post(uri).body(Body::empty()).expect("request")
    }

    async fn send(&self, request: Request<Body>) -> usize {
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let body = to_bytes(response.into_body(), 16 << 20)
            .await
            .expect("body");
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        body.len()
    }

    /// W1's call: `index`'s five tags, with values drawn by `seed` (0: the fixed ones).
    fn tag(&self, index: u32, seed: u64) -> Request<Body> {
        let id = format!("rm-bench{index:06}");
        let pick = |salt: u64, n: u64| {
            if seed == 0 {
                u64::from(index) % n
            } else {
                mix(seed ^ salt) % n
            }
        };
        let env = ["prod", "staging", "dev", "test"][usize::try_from(pick(1, 4)).unwrap_or(0)];
        let team = format!("team-{}", pick(2, 8));
        let app = format!("app-{}", pick(3, 32));
        let owner = format!("user-{}", pick(4, 1000));
        let cost = format!("cc-{}", pick(5, 100));
        let api = [
            ("ResourceType", "INSTANCE"),
            ("ResourceId.1", id.as_str()),
            ("Tag.1.Key", "env"),
            ("Tag.1.Value", env),
            ("Tag.2.Key", "team"),
            ("Tag.2.Value", team.as_str()),
            ("Tag.3.Key", "app"),
            ("Tag.3.Value", app.as_str()),
            ("Tag.4.Key", "owner"),
            ("Tag.4.Value", owner.as_str()),
            ("Tag.5.Key", "cost"),
            ("Tag.5.Value", cost.as_str()),
        ];
        self.request("TagResources", "2014-08-15", &api)
    }
}

/// SplitMix64: a well-mixed value of `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// CPU time of every thread of this process so far.
fn process_cpu() -> Duration {
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let on_cpu = std::fs::read_to_string(task.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
            total += on_cpu.unwrap_or(0);
        }
    }
    Duration::from_nanos(total)
}

/// One measured round: requests done, wall time, CPU time.
struct Round {
    requests: u64,
    wall: Duration,
    cpu: Duration,
}

impl Round {
    fn cpu_us_per_request(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }
    fn rate(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64()
    }
}

/// Sends `requests` one at a time; the requests are built (and signed) before the clocks start.
async fn sequential(bench: &Bench, requests: Vec<Request<Body>>) -> Round {
    let count = requests.len() as u64;
    let cpu = process_cpu();
    let started = Instant::now();
    for request in requests {
        bench.send(request).await;
    }
    Round {
        requests: count,
        wall: started.elapsed(),
        cpu: process_cpu() - cpu,
    }
}

/// W1 from [`WRITERS`] tasks at once, [`TAGS_PER_WRITER`] calls each (built beforehand).
async fn concurrent_tags(bench: &Arc<Bench>, round: u64) -> Round {
    let batches: Vec<Vec<Request<Body>>> = (0..WRITERS as u64)
        .map(|task| {
            let mut seed = mix(round << 32 | task) | 1;
            (0..TAGS_PER_WRITER)
                .map(|_| {
                    seed = mix(seed);
                    let index = u32::try_from(seed % u64::from(RESOURCES)).unwrap_or(0);
                    bench.tag(index, seed)
                })
                .collect()
        })
        .collect();
    let cpu = process_cpu();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for batch in batches {
        let bench = Arc::clone(bench);
        tasks.spawn(async move {
            for request in batch {
                bench.send(request).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
    Round {
        requests: (WRITERS * TAGS_PER_WRITER) as u64,
        wall: started.elapsed(),
        cpu: process_cpu() - cpu,
    }
}

fn report(name: &str, mut rounds: Vec<Round>) {
    rounds.sort_by(|a, b| a.cpu_us_per_request().total_cmp(&b.cpu_us_per_request()));
    let best = &rounds[0];
    let median = &rounds[rounds.len() / 2];
    println!(
        "{name:<9} {:>9.1} {:>11.1} {:>12.0} {:>12.0}",
        best.cpu_us_per_request(),
        median.cpu_us_per_request(),
        best.rate(),
        median.rate(),
    );
}

async fn run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::open(dir.path()).expect("open store");
    let root = admin::bootstrap_root(&store)
        .await
        .expect("bootstrap")
        .expect("a new root key");
    let service = Arc::new(TagService::new(store, false).await.expect("service"));
    let state = Arc::new(AppState::new(service, "bench-admin-token".into()));
    let bench = Arc::new(Bench {
        app: router(state, Duration::from_secs(30)),
        key_id: root.key.access_key_id.as_str().to_owned(),
        key: v1::SigningKey::new(root.key.secret.expose()),
    });

    // The dataset: every resource with its fixed W1 tags (owner=user-7 on 10 of them).
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..WRITERS as u32 {
        let bench = Arc::clone(&bench);
        tasks.spawn(async move {
            for index in (task..RESOURCES).step_by(WRITERS) {
                bench.send(bench.tag(index, 0)).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("load task");
    }

    let only = std::env::var("REQUEST_PATH_ONLY").ok();
    let wanted = |row: &str| only.as_deref().is_none_or(|only| only == row);
    println!(
        "{:<9} {:>9} {:>11} {:>12} {:>12}",
        "request", "best µs", "median µs", "best req/s", "median req/s"
    );
    println!("(CPU µs per request over every thread of the process; rates of those rounds)");
    if wanted("healthz") {
        healthz(&bench).await;
    }
    if wanted("list-id") {
        list_id(&bench).await;
    }
    if wanted("find-tag") {
        find_tag(&bench, "find-tag", r#"{"owner":"user-7"}"#).await;
    }
    if wanted("find-100") {
        find_tag(&bench, "find-100", r#"{"cost":"cc-7"}"#).await;
    }
    if wanted("tag") {
        let mut rounds = Vec::new();
        for round in 0..ROUNDS as u64 {
            rounds.push(concurrent_tags(&bench, round + 1).await);
        }
        report("tag", rounds);
    }
}

async fn healthz(bench: &Bench) {
    let mut rounds = Vec::new();
    for _ in 0..ROUNDS {
        let requests = (0..SEQUENTIAL * 10)
            .map(|_| Request::get("/healthz").body(Body::empty()).expect("req"))
            .collect();
        rounds.push(sequential(bench, requests).await);
    }
    report("healthz", rounds);
}

async fn list_id(bench: &Bench) {
    let mut rounds = Vec::new();
    for round in 0..ROUNDS as u64 {
        let requests = (0..SEQUENTIAL as u64)
            .map(|n| {
                let index = u32::try_from(mix(round << 32 | n) % u64::from(RESOURCES)).unwrap_or(0);
                let id = format!("rm-bench{index:06}");
                let api = [("ResourceType", "INSTANCE"), ("ResourceId.1", id.as_str())];
                bench.request("ListTagResources", "2014-08-15", &api)
            })
            .collect();
        rounds.push(sequential(bench, requests).await);
    }
    report("list-id", rounds);
}

async fn find_tag(bench: &Bench, row: &str, filter: &str) {
    let mut rounds = Vec::new();
    for _ in 0..ROUNDS {
        let api = [("Tags", filter), ("PageSize", "1000")];
        let requests = (0..SEQUENTIAL)
            .map(|_| bench.request("ListTagResources", "2018-08-28", &api))
            .collect();
        rounds.push(sequential(bench, requests).await);
    }
    report(row, rounds);
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

//! The summary of a run: one table on stdout and, with `--json-out`, the same as one JSON
//! object (latencies in µs there, in ms in the table).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use hdrhistogram::Histogram;

use crate::cli::SignScheme;
use crate::runner::RunResult;
use crate::workload::{PoolOrder, Workload};

/// The run's settings, echoed in the summary so two JSON files can be compared on their own.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigSummary {
    pub workload: Workload,
    pub endpoint: String,
    pub sign: SignScheme,
    pub connections: usize,
    pub threads: usize,
    pub warmup_seconds: f64,
    pub duration_seconds: f64,
    pub resources: u32,
    pub region: String,
    pub server_pid: Option<u32>,
    /// `--requests`: the run stopped after this many operations.
    pub requests: Option<u64>,
    pub order: PoolOrder,
    /// `key=value` of the `list-tag` filter (and the mix's list page).
    pub list_filter: Option<String>,
    /// The dataset manifest the run targeted.
    pub manifest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    /// Responses the percentiles are taken over (all statuses).
    pub count: u64,
    pub min: u64,
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientCpu {
    pub cpu_seconds: f64,
    pub wall_seconds: f64,
    /// CPU seconds / wall seconds: how many cores the client kept busy.
    pub cores_used: f64,
    /// Cores of this machine.
    pub cores: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerCpu {
    pub pid: u32,
    pub cpu_seconds: f64,
    pub cores_used: f64,
    /// Server CPU µs per successful request (`None` without successes).
    pub us_per_ok: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub config: ConfigSummary,
    pub measured_seconds: f64,
    pub requests: u64,
    pub ok: u64,
    /// Every recorded request that was not a 200, with or without a response.
    pub errors: u64,
    /// Successes per second: the throughput.
    pub throughput_rps: f64,
    /// All recorded requests per second.
    pub request_rps: f64,
    pub by_status: BTreeMap<String, u64>,
    pub by_code: BTreeMap<String, u64>,
    pub transport_errors: BTreeMap<String, u64>,
    /// Paginated listings read to their last page (each page is one request).
    pub listings_completed: u64,
    /// Tags written per second by successful calls (write workloads only).
    pub tags_per_second: Option<f64>,
    /// In microseconds, per request (per page for listings).
    pub latency_us: Latency,
    /// Per kind of request (the mix's `list-id`, `list-tag-page`, `tag`, `untag`), in µs.
    pub latency_by_label_us: BTreeMap<String, Latency>,
    /// Whole listings, first page to last (`list-tag`), in µs.
    pub listing_latency_us: Option<Latency>,
    pub client_cpu: ClientCpu,
    pub server_cpu: Option<ServerCpu>,
}

impl Summary {
    pub fn new(config: ConfigSummary, result: &RunResult, cores: usize) -> Self {
        let stats = &result.stats;
        let measured = result.measured.as_secs_f64();
        let wall = result.cpu_wall.as_secs_f64();
        let requests = stats.requests();
        let latency = Latency::of(&stats.latency_us);
        let tags_per_call = config.workload.tags_per_call();
        let server_cpu = match (config.server_pid, result.server_cpu_seconds) {
            (Some(pid), Some(cpu_seconds)) => Some(ServerCpu {
                pid,
                cpu_seconds,
                cores_used: ratio(cpu_seconds, wall),
                us_per_ok: (stats.ok > 0).then(|| cpu_seconds * 1e6 / stats.ok as f64),
            }),
            _ => None,
        };
        Self {
            config,
            measured_seconds: measured,
            requests,
            ok: stats.ok,
            errors: requests - stats.ok,
            throughput_rps: ratio(stats.ok as f64, measured),
            request_rps: ratio(requests as f64, measured),
            by_status: stats
                .by_status
                .iter()
                .map(|(status, count)| (status.to_string(), *count))
                .collect(),
            by_code: stats.by_code.clone(),
            transport_errors: stats
                .transport_errors
                .iter()
                .map(|(kind, count)| ((*kind).to_owned(), *count))
                .collect(),
            listings_completed: stats.listings_completed,
            tags_per_second: (tags_per_call > 0)
                .then(|| ratio((stats.ok * tags_per_call) as f64, measured)),
            latency_us: latency,
            latency_by_label_us: stats
                .by_label
                .iter()
                .map(|(label, histogram)| ((*label).to_owned(), Latency::of(histogram)))
                .collect(),
            listing_latency_us: (!stats.listing_us.is_empty())
                .then(|| Latency::of(&stats.listing_us)),
            client_cpu: ClientCpu {
                cpu_seconds: result.client_cpu_seconds,
                wall_seconds: wall,
                cores_used: ratio(result.client_cpu_seconds, wall),
                cores,
            },
            server_cpu,
        }
    }

    /// The table printed on stdout: a header row, one row for the run, then the error
    /// breakdown and the CPU sentence.
    pub fn table(&self) -> String {
        let server_per_ok = self
            .server_cpu
            .as_ref()
            .and_then(|server| server.us_per_ok)
            .map_or_else(|| "-".to_owned(), |us| format!("{us:.1}"));
        let latency = &self.latency_us;
        // No response at all (a dead server): no percentile to show.
        let shown_ms = |micros: u64| {
            if latency.count == 0 {
                "-".to_owned()
            } else {
                millis(micros)
            }
        };
        let columns: [(&str, String); 14] = [
            ("workload", self.config.workload.name().to_owned()),
            ("sign", self.sign_name().to_owned()),
            ("conns", self.config.connections.to_string()),
            ("secs", format!("{:.1}", self.measured_seconds)),
            ("requests", self.requests.to_string()),
            ("ok", self.ok.to_string()),
            ("errors", self.errors.to_string()),
            ("ok/s", format!("{:.0}", self.throughput_rps)),
            ("p50 ms", shown_ms(latency.p50)),
            ("p90 ms", shown_ms(latency.p90)),
            ("p99 ms", shown_ms(latency.p99)),
            ("p99.9 ms", shown_ms(latency.p999)),
            ("max ms", shown_ms(latency.max)),
            ("srv µs/ok", server_per_ok),
        ];
        let mut header = String::new();
        let mut row = String::new();
        for (position, (name, value)) in columns.iter().enumerate() {
            let width = name.chars().count().max(value.chars().count());
            let gap = if position == 0 { "" } else { "  " };
            // Names left-aligned, numbers right-aligned.
            if position < 2 {
                let _ = write!(header, "{gap}{name:<width$}");
                let _ = write!(row, "{gap}{value:<width$}");
            } else {
                let _ = write!(header, "{gap}{name:>width$}");
                let _ = write!(row, "{gap}{value:>width$}");
            }
        }
        let mut out = format!("{header}\n{row}\n");
        if self.errors > 0 {
            if !self.by_status.is_empty() {
                let _ = writeln!(out, "responses by status: {}", join_counts(&self.by_status));
            }
            if !self.by_code.is_empty() {
                let _ = writeln!(out, "errors by code: {}", join_counts(&self.by_code));
            }
            if !self.transport_errors.is_empty() {
                let _ = writeln!(
                    out,
                    "requests without response: {}",
                    join_counts(&self.transport_errors)
                );
            }
        }
        if let Some(filter) = &self.config.list_filter
            && matches!(
                self.config.workload,
                Workload::ListTag | Workload::FindTag | Workload::Mix
            )
        {
            let _ = writeln!(out, "tag filter: {filter}");
        }
        if self.listings_completed > 0 {
            let _ = write!(
                out,
                "listings read to the end: {} ({:.1} pages each)",
                self.listings_completed,
                ratio(self.ok as f64, self.listings_completed as f64)
            );
            if let Some(listing) = &self.listing_latency_us {
                let _ = write!(
                    out,
                    "; per listing p50 {} ms, p99 {} ms, max {} ms",
                    millis(listing.p50),
                    millis(listing.p99),
                    millis(listing.max)
                );
            }
            out.push('\n');
        }
        if self.latency_by_label_us.len() > 1 {
            for (label, latency) in &self.latency_by_label_us {
                let _ = writeln!(
                    out,
                    "  {label:<14} {:>9} requests  p50 {} ms  p99 {} ms  max {} ms",
                    latency.count,
                    millis(latency.p50),
                    millis(latency.p99),
                    millis(latency.max)
                );
            }
        }
        if let Some(tags) = self.tags_per_second {
            let _ = writeln!(out, "tags written: {tags:.0}/s (durable when acknowledged)");
        }
        let _ = write!(
            out,
            "client used {:.2} of {} cores",
            self.client_cpu.cores_used, self.client_cpu.cores
        );
        if let Some(server) = &self.server_cpu {
            let _ = write!(
                out,
                "; server (pid {}) used {:.2} cores, {:.2} CPU s",
                server.pid, server.cores_used, server.cpu_seconds
            );
        }
        out.push('\n');
        out
    }
}

impl Summary {
    /// `-` for unsigned workloads, where the scheme plays no part.
    fn sign_name(&self) -> &'static str {
        match (self.config.workload.is_signed(), self.config.sign) {
            (false, _) => "-",
            (true, SignScheme::V1) => "v1",
            (true, SignScheme::V3) => "v3",
        }
    }
}

impl Latency {
    pub fn of(histogram: &Histogram<u64>) -> Self {
        Self {
            count: histogram.len(),
            min: histogram.min(),
            mean: histogram.mean(),
            p50: histogram.value_at_quantile(0.50),
            p90: histogram.value_at_quantile(0.90),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
        }
    }
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

/// Microseconds as milliseconds with three decimals (the histogram keeps 3 significant digits).
fn millis(micros: u64) -> String {
    format!("{:.3}", micros as f64 / 1000.0)
}

fn join_counts(counts: &BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = counts
        .iter()
        .map(|(name, count)| format!("{name}={count}"))
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::StatusCode;

    use super::*;
    use crate::runner::Stats;

    fn config() -> ConfigSummary {
        ConfigSummary {
            workload: Workload::ListTag,
            endpoint: "127.0.0.1:18080".to_owned(),
            sign: SignScheme::V3,
            connections: 64,
            threads: 2,
            warmup_seconds: 2.0,
            duration_seconds: 10.0,
            resources: 1000,
            region: "cn-hangzhou".to_owned(),
            server_pid: Some(42),
            requests: None,
            order: PoolOrder::Random,
            list_filter: None,
            manifest: None,
        }
    }

    /// 1000 responses of 1..=1000 µs, one 404 among them, over 10 s.
    fn result() -> RunResult {
        let mut stats = Stats::new();
        for micros in 1..=1000 {
            let status = if micros == 500 {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            stats.record_response(
                "list-tag",
                status,
                Duration::from_micros(micros),
                br#"{"Code":"InvalidResourceId.NotFound"}"#,
            );
        }
        RunResult {
            stats,
            measured: Duration::from_secs(10),
            cpu_wall: Duration::from_secs(10),
            client_cpu_seconds: 9.0,
            server_cpu_seconds: Some(0.999),
        }
    }

    #[test]
    fn percentiles_rates_and_cpu() {
        let summary = Summary::new(config(), &result(), 2);
        assert_eq!(summary.requests, 1000);
        assert_eq!(summary.ok, 999);
        assert_eq!(summary.errors, 1);
        assert!((summary.throughput_rps - 99.9).abs() < 1e-9);
        assert!((summary.request_rps - 100.0).abs() < 1e-9);
        let latency = &summary.latency_us;
        assert_eq!((latency.min, latency.p50, latency.p90), (1, 500, 900));
        assert_eq!((latency.p99, latency.p999, latency.max), (990, 999, 1000));
        assert!((summary.client_cpu.cores_used - 0.9).abs() < 1e-9);
        let server = summary.server_cpu.as_ref().unwrap();
        assert!((server.us_per_ok.unwrap() - 1000.0).abs() < 1e-9);
        assert_eq!(summary.by_code["InvalidResourceId.NotFound"], 1);
        assert_eq!(summary.by_status["404"], 1);
    }

    #[test]
    fn table_layout() {
        let table = Summary::new(config(), &result(), 2).table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "workload  sign  conns  secs  requests   ok  errors  ok/s  p50 ms  p90 ms  p99 ms  \
             p99.9 ms  max ms  srv µs/ok"
        );
        assert_eq!(
            lines[1],
            "list-tag  v3       64  10.0      1000  999       1   100   0.500   0.900   0.990     \
             0.999   1.000     1000.0"
        );
        assert_eq!(lines[2], "responses by status: 200=999, 404=1");
        assert_eq!(lines[3], "errors by code: InvalidResourceId.NotFound=1");
        assert_eq!(
            lines[4],
            "client used 0.90 of 2 cores; server (pid 42) used 0.10 cores, 1.00 CPU s"
        );
    }

    #[test]
    fn json_shape() {
        let json = serde_json::to_value(Summary::new(config(), &result(), 2)).unwrap();
        assert_eq!(json["config"]["workload"], "list-tag");
        assert_eq!(json["config"]["sign"], "v3");
        assert_eq!(json["latency_us"]["p99"], 990);
        assert_eq!(json["by_status"]["200"], 999);
        assert_eq!(json["server_cpu"]["pid"], 42);
        assert_eq!(json["latency_by_label_us"]["list-tag"]["count"], 1000);
        assert!(json["tags_per_second"].is_null());
        assert!(json["listing_latency_us"].is_null());
        assert_eq!(json["config"]["order"], "random");
    }
}

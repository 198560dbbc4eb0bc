//! The exporter's own metrics, on `/metrics`: scrapes answered, scans run, errors, scans in
//! flight, scan durations, the cache, reloads and memory.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

fn scan_histogram() -> Histogram {
    Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0])
}

pub struct ExporterMetrics {
    registry: Registry,
    probes: Family<Labels, Counter>,
    scans: Family<Labels, Counter>,
    failed: Family<Labels, Counter>,
    bad_requests: Family<Labels, Counter>,
    in_flight: Gauge,
    scan_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    cache_entries: Gauge,
    reload_ok: Gauge,
    reload_time: Gauge<f64, AtomicU64>,
    reloads: Family<Labels, Counter>,
    resident: Gauge,
}

/// Where a probe's answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A scan made for this scrape.
    Scan,
    /// The result of an earlier or concurrent scan of the target (its minimum interval).
    Cache,
    /// No result within the scrape's time (waiting for a scan another scrape started).
    Late,
}

impl Source {
    fn key(self) -> &'static str {
        match self {
            Source::Scan => "scan",
            Source::Cache => "cache",
            Source::Late => "late",
        }
    }
}

impl Default for ExporterMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ExporterMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tlsmatrix_exporter");
        let probes = Family::<Labels, Counter>::default();
        registry.register(
            "probes",
            "Probe requests answered, by module and by where the answer came from (scan, cache, late)",
            probes.clone(),
        );
        let scans = Family::<Labels, Counter>::default();
        registry.register("scans", "Scans run, by module", scans.clone());
        let failed = Family::<Labels, Counter>::default();
        registry.register(
            "probe_failures",
            "Probe answers with tlsmatrix_probe_success 0, by module",
            failed.clone(),
        );
        let bad_requests = Family::<Labels, Counter>::default();
        registry.register(
            "bad_requests",
            "Requests answered 400, by what was wrong (parameter, target, module, timeout_header)",
            bad_requests.clone(),
        );
        let in_flight = Gauge::default();
        registry.register("scans_in_flight", "Scans running now", in_flight.clone());
        let scan_seconds =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(scan_histogram);
        registry.register(
            "scan_duration_seconds",
            "How long scans took, by module",
            scan_seconds.clone(),
        );
        let cache_entries = Gauge::default();
        registry.register(
            "cache_entries",
            "Results kept for the minimum interval, and scans running",
            cache_entries.clone(),
        );
        let reload_ok = Gauge::default();
        registry.register(
            "config_last_reload_successful",
            "1 when the last reading of the configuration succeeded",
            reload_ok.clone(),
        );
        let reload_time = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "config_last_reload_success_timestamp_seconds",
            "When the configuration was last read successfully",
            reload_time.clone(),
        );
        let reloads = Family::<Labels, Counter>::default();
        registry.register(
            "config_reloads",
            "Readings of the configuration on SIGHUP, by result (success, failure)",
            reloads.clone(),
        );
        let resident = Gauge::default();
        registry.register(
            "resident_memory_bytes",
            "Resident memory of the exporter process",
            resident.clone(),
        );
        registry.register(
            "build",
            "The version of tlsmatrix",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION").to_string())]),
        );
        let m = ExporterMetrics {
            registry,
            probes,
            scans,
            failed,
            bad_requests,
            in_flight,
            scan_seconds,
            cache_entries,
            reload_ok,
            reload_time,
            reloads,
            resident,
        };
        m.loaded();
        m
    }

    pub fn probe(&self, module: &str, source: Source, success: bool) {
        self.probes
            .get_or_create(&vec![
                ("module", module.to_string()),
                ("source", source.key().to_string()),
            ])
            .inc();
        if !success {
            self.failed
                .get_or_create(&vec![("module", module.to_string())])
                .inc();
        }
    }

    pub fn scan_started(&self) {
        self.in_flight.inc();
    }

    pub fn scan_finished(&self, module: &str, took: Duration) {
        self.in_flight.dec();
        let m = vec![("module", module.to_string())];
        self.scans.get_or_create(&m).inc();
        self.scan_seconds
            .get_or_create(&m)
            .observe(took.as_secs_f64());
    }

    pub fn bad_request(&self, reason: &'static str) {
        self.bad_requests
            .get_or_create(&vec![("reason", reason.to_string())])
            .inc();
    }

    /// The configuration was read successfully (at start or on a reload).
    pub fn loaded(&self) {
        self.reload_ok.set(1);
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        self.reload_time.set(now.as_secs_f64());
    }

    pub fn reloaded(&self, ok: bool) {
        let result = if ok { "success" } else { "failure" };
        self.reloads
            .get_or_create(&vec![("result", result.to_string())])
            .inc();
        if ok {
            self.loaded();
        } else {
            self.reload_ok.set(0);
        }
    }

    /// The exposition, with the gauges read now.
    pub fn render(&self, cache_entries: usize) -> String {
        self.cache_entries.set(cache_entries as i64);
        if let Some(bytes) = resident_bytes() {
            self.resident.set(bytes as i64);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String does not fail");
        out
    }
}

/// Resident set size of this process, from /proc (Linux).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

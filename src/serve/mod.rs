//! `tlsmatrix serve`: an HTTP exporter that Prometheus schedules, in the manner of
//! blackbox_exporter. `GET /probe?target=TARGET&module=NAME` scans one target (every address of
//! its name) and answers with the matrix as metrics ([`crate::output::prometheus`]);
//! `GET /metrics` gives the exporter's own metrics.
//!
//! The servers probed are protected three ways: a target scanned less than the module's
//! minimum interval ago gets the last result (`tlsmatrix_probe_cached 1`), and scrapes that
//! arrive while its scan runs share that scan; every scan counts against one global limit and
//! one per-address limit, shared by all scrapes ([`SharedLimits`]); and a probe ends within
//! the scrape timeout Prometheus sends (`X-Prometheus-Scrape-Timeout-Seconds`, less an offset).
//!
//! HTTP is served by axum (on hyper) through axum-server, which also brings the OpenSSL
//! listener for the exporter's own TLS and a graceful shutdown.

pub mod cache;
pub mod metrics;
pub mod settings;
pub mod web;
pub mod yaml;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::headers::authorization::Basic;
use axum_extra::headers::{Authorization, HeaderMapExt};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use self::cache::{Cache, Key, Lookup, ProbeResult};
use self::metrics::{ExporterMetrics, Source};
use self::settings::{DEFAULT_MODULE, ExporterSettings, Module};
use crate::output::prometheus::{self as exposition, Exposition, ProbeMeta};
use crate::scan::{SharedLimits, Silent, scan_within};
use crate::target::{Target, parse_target};

/// The header in which Prometheus sends the scrape timeout, in seconds.
pub const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";

/// Shortest time a probe may be given.
const SHORTEST_PROBE: Duration = Duration::from_millis(100);

/// The settings in force, and the limits built from them.
struct Loaded {
    settings: ExporterSettings,
    limits: Arc<SharedLimits>,
}

/// The state every request shares.
pub struct Exporter {
    loaded: RwLock<Arc<Loaded>>,
    users: RwLock<Arc<BTreeMap<String, String>>>,
    cache: Cache,
    metrics: ExporterMetrics,
}

/// A probe request, validated.
#[derive(Debug)]
pub struct ProbeRequest {
    pub target: Target,
    pub module: String,
    /// The module's settings when the request was read (a reload may change them meanwhile).
    pub settings: Module,
    /// The probe must answer within this.
    pub within: Duration,
}

/// A request that cannot be probed: what was wrong (for the metric) and what to say.
#[derive(Debug, PartialEq, Eq)]
pub struct BadRequest {
    pub reason: &'static str,
    pub message: String,
}

fn bad(reason: &'static str, message: String) -> BadRequest {
    BadRequest { reason, message }
}

/// Check the query and headers of `/probe` against the settings.
pub fn probe_request(
    query: Option<&str>,
    headers: &HeaderMap,
    settings: &ExporterSettings,
) -> Result<ProbeRequest, BadRequest> {
    let mut target = None;
    let mut module = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let slot = match k.as_ref() {
            "target" => &mut target,
            "module" => &mut module,
            other => {
                return Err(bad(
                    "parameter",
                    format!("unknown parameter '{other}' (expected target and module)"),
                ));
            }
        };
        if slot.is_some() {
            return Err(bad("parameter", format!("parameter '{k}' given twice")));
        }
        *slot = Some(v.into_owned());
    }
    let Some(target) = target.filter(|t| !t.trim().is_empty()) else {
        return Err(bad(
            "parameter",
            "missing parameter 'target' (as in /probe?target=ldaps://dc1.example.com&module=NAME)"
                .into(),
        ));
    };
    let module = module.unwrap_or_else(|| DEFAULT_MODULE.to_string());
    let Some(m) = settings.modules.get(&module) else {
        let known: Vec<&str> = settings.modules.keys().map(String::as_str).collect();
        return Err(bad(
            "module",
            format!(
                "unknown module '{module}' (this exporter has: {})",
                known.join(", ")
            ),
        ));
    };
    let target = parse_target(&target)
        .map_err(|e| bad("target", format!("target '{target}': {e}")))?
        .with_starttls(m.starttls);
    let limits = &settings.limits;
    let within = match headers.get(SCRAPE_TIMEOUT_HEADER) {
        None => limits.max_probe_time,
        Some(v) => {
            let text = v.to_str().unwrap_or("");
            let secs = text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .ok_or_else(|| {
                    bad(
                        "timeout_header",
                        format!(
                            "X-Prometheus-Scrape-Timeout-Seconds '{text}' is not a number of seconds"
                        ),
                    )
                })?;
            let scrape = Duration::from_secs_f64(secs);
            let left = scrape.saturating_sub(limits.timeout_offset);
            if left < SHORTEST_PROBE {
                return Err(bad(
                    "timeout_header",
                    format!(
                        "a scrape timeout of {scrape:?} leaves {left:?} for the probe once the \
                         offset of {:?} is taken off; raise scrape_timeout or lower \
                         limits.timeout_offset",
                        limits.timeout_offset
                    ),
                ));
            }
            left.min(limits.max_probe_time)
        }
    };
    Ok(ProbeRequest {
        target,
        module,
        settings: m.clone(),
        within,
    })
}

impl Exporter {
    pub fn new(settings: ExporterSettings, users: BTreeMap<String, String>) -> Arc<Self> {
        Arc::new(Exporter {
            loaded: RwLock::new(Arc::new(load(settings))),
            users: RwLock::new(Arc::new(users)),
            cache: Cache::default(),
            metrics: ExporterMetrics::new(),
        })
    }

    fn loaded(&self) -> Arc<Loaded> {
        self.loaded.read().expect("lock").clone()
    }

    /// The settings in force.
    pub fn settings(&self) -> ExporterSettings {
        self.loaded().settings.clone()
    }

    /// Take new settings (a reload). Results of modules that changed are forgotten; scans
    /// running go on under the limits they started with.
    pub fn reload(&self, settings: ExporterSettings, users: BTreeMap<String, String>) {
        let old = self.loaded();
        let limits_changed = old.settings.limits.concurrency != settings.limits.concurrency
            || old.settings.limits.per_host != settings.limits.per_host;
        let new = Loaded {
            limits: if limits_changed {
                Arc::new(SharedLimits::new(
                    settings.limits.concurrency,
                    settings.limits.per_host,
                ))
            } else {
                old.limits.clone()
            },
            settings,
        };
        self.cache.retain_modules(|m| {
            let before = old.settings.modules.get(m);
            before.is_some() && before == new.settings.modules.get(m)
        });
        *self.loaded.write().expect("lock") = Arc::new(new);
        *self.users.write().expect("lock") = Arc::new(users);
        self.metrics.reloaded(true);
    }

    /// A reload that failed: the settings in force stay.
    pub fn reload_failed(&self) {
        self.metrics.reloaded(false);
    }

    /// The HTTP routes, behind basic authentication when users are configured.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route("/", get(index))
            .route("/probe", get(probe))
            .route("/metrics", get(own_metrics))
            .route("/-/healthy", get(|| async { "OK\n" }))
            .layer(middleware::from_fn_with_state(self.clone(), basic_auth))
            .with_state(self.clone())
    }

    /// Answer one probe request: from the cache, from a scan running for another scrape, or
    /// from a new scan. Never longer than `req.within` (and the time to render).
    pub async fn probe(self: &Arc<Self>, req: ProbeRequest) -> (String, bool) {
        let loaded = self.loaded();
        let module = req.settings.clone();
        let key: Key = (req.module.clone(), req.target.input.clone());
        let begun = Instant::now();
        let (result, source) = match self.cache.lookup(&key, module.min_interval) {
            Lookup::Fresh(r) => (Some(r), Source::Cache),
            Lookup::Running(slot) => (wait(slot, req.within).await, Source::Cache),
            Lookup::Start(tx, slot) => {
                let target = req.target.clone();
                self.start_scan(&loaded, key, module, target, req.within, tx);
                // The scan stops itself at `within`; a moment more lets it hand over.
                let result = wait(slot, req.within + Duration::from_millis(250)).await;
                (result, Source::Scan)
            }
        };
        let (text, success) = match &result {
            Some(r) => {
                let success = exposition::succeeded(&r.report, &req.target.input);
                let text = exposition::render(&Exposition {
                    report: &r.report,
                    probe: Some(ProbeMeta {
                        duration: r.duration,
                        cached: source == Source::Cache,
                        age: r.finished.elapsed(),
                    }),
                    check: None,
                });
                (text, success)
            }
            None => (
                exposition::render_without_result(&req.target.input, begun.elapsed()),
                false,
            ),
        };
        let source = if result.is_none() {
            Source::Late
        } else {
            source
        };
        self.metrics.probe(&req.module, source, success);
        (text, success)
    }

    fn start_scan(
        self: &Arc<Self>,
        loaded: &Loaded,
        key: Key,
        module: Module,
        target: Target,
        within: Duration,
        tx: watch::Sender<Option<Arc<ProbeResult>>>,
    ) {
        let x = self.clone();
        // Probes end by themselves a little before the deadline, so that a server that does
        // not answer shows as a timeout rather than as a probe cut short.
        let config = module.scan_config(&loaded.settings.limits, within.mul_f64(0.9));
        let limits = loaded.limits.clone();
        tokio::spawn(async move {
            x.metrics.scan_started();
            let begun = Instant::now();
            let cancel = CancellationToken::new();
            let scan = scan_within(
                &config,
                vec![target],
                Vec::new(),
                cancel.clone(),
                &Silent,
                &limits,
            );
            tokio::pin!(scan);
            let report = tokio::select! {
                r = &mut scan => r,
                _ = tokio::time::sleep(within) => {
                    // Out of time: the scan returns what it has; cells it could not start are
                    // `interrupted`.
                    cancel.cancel();
                    scan.await
                }
            };
            let duration = begun.elapsed();
            x.metrics.scan_finished(&key.0, duration);
            let result = Arc::new(ProbeResult {
                report,
                duration,
                finished: Instant::now(),
            });
            x.cache.finish(key, result, module.min_interval, tx);
        });
    }
}

fn load(settings: ExporterSettings) -> Loaded {
    Loaded {
        limits: Arc::new(SharedLimits::new(
            settings.limits.concurrency,
            settings.limits.per_host,
        )),
        settings,
    }
}

/// The result a running scan hands over, if it does within `limit`.
async fn wait(
    mut slot: watch::Receiver<Option<Arc<ProbeResult>>>,
    limit: Duration,
) -> Option<Arc<ProbeResult>> {
    let got = tokio::time::timeout(limit, slot.wait_for(Option::is_some)).await;
    match got {
        Ok(Ok(r)) => r.clone(),
        _ => None,
    }
}

fn text_response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

const PLAIN: &str = "text/plain; charset=utf-8";

async fn probe(
    State(x): State<Arc<Exporter>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let settings = x.loaded();
    match probe_request(query.as_deref(), &headers, &settings.settings) {
        Err(e) => {
            x.metrics.bad_request(e.reason);
            text_response(StatusCode::BAD_REQUEST, PLAIN, format!("{}\n", e.message))
        }
        Ok(req) => {
            let (text, _) = x.probe(req).await;
            text_response(StatusCode::OK, exposition::CONTENT_TYPE, text)
        }
    }
}

async fn own_metrics(State(x): State<Arc<Exporter>>) -> Response {
    text_response(
        StatusCode::OK,
        exposition::CONTENT_TYPE,
        x.metrics.render(x.cache.len()),
    )
}

async fn index(State(x): State<Arc<Exporter>>) -> Response {
    let loaded = x.loaded();
    let modules: Vec<&str> = loaded.settings.modules.keys().map(String::as_str).collect();
    text_response(
        StatusCode::OK,
        PLAIN,
        format!(
            "tlsmatrix {} exporter\n\n\
             /probe?target=ldaps://dc1.example.com&module=NAME   scan one target\n\
             /metrics                                           the exporter's own metrics\n\n\
             modules: {}\n",
            env!("CARGO_PKG_VERSION"),
            modules.join(", ")
        ),
    )
}

async fn basic_auth(State(x): State<Arc<Exporter>>, req: Request, next: Next) -> Response {
    let users = x.users.read().expect("lock").clone();
    if users.is_empty() {
        return next.run(req).await;
    }
    let allowed = match req.headers().typed_get::<Authorization<Basic>>() {
        Some(Authorization(creds)) => {
            let hash = users.get(creds.username()).cloned();
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| web::dummy_hash().to_string());
            let password = creds.password().to_string();
            let matches = tokio::task::spawn_blocking(move || {
                bcrypt::verify(password, &hash).unwrap_or(false)
            })
            .await
            .unwrap_or(false);
            known && matches
        }
        None => false,
    };
    if allowed {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"tlsmatrix\""),
            )],
            "unauthorized\n",
        )
            .into_response()
    }
}

/// Serve until `shutdown`, then stop taking connections and let requests in progress finish
/// for at most `grace`.
pub async fn serve(
    exporter: Arc<Exporter>,
    listener: std::net::TcpListener,
    tls: Option<axum_server::tls_openssl::OpenSSLConfig>,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.cancelled().await;
        stopper.graceful_shutdown(Some(grace));
    });
    let app = exporter.router().into_make_service();
    let server = axum_server::from_tcp(listener)?.handle(handle);
    match tls {
        None => server.serve(app).await,
        Some(config) => {
            server
                .acceptor(axum_server::tls_openssl::OpenSSLAcceptor::new(config))
                .serve(app)
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ExporterSettings {
        settings::parse(
            "modules:\n  ldap:\n    starttls: ldap\n  default:\n",
            std::path::Path::new("."),
        )
        .unwrap()
    }

    fn req(query: &str, timeout: Option<&str>) -> Result<ProbeRequest, BadRequest> {
        let mut h = HeaderMap::new();
        if let Some(t) = timeout {
            h.insert(SCRAPE_TIMEOUT_HEADER, HeaderValue::from_str(t).unwrap());
        }
        probe_request(Some(query), &h, &settings())
    }

    #[test]
    fn the_scrape_timeout_bounds_the_probe() {
        let r = req("target=dc1:389&module=ldap", Some("10")).unwrap();
        assert_eq!(r.within, Duration::from_millis(9500));
        assert_eq!(r.target.protocol, crate::report::Protocol::LdapStarttls);
        let r = req("target=dc1", None).unwrap();
        assert_eq!(r.module, "default");
        assert_eq!(r.within, Duration::from_secs(60));
        let r = req("target=dc1", Some("600")).unwrap();
        assert_eq!(
            r.within,
            Duration::from_secs(60),
            "never past max_probe_time"
        );
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let e = |q: &str, t: Option<&str>| req(q, t).unwrap_err();
        assert_eq!(e("module=ldap", None).reason, "parameter");
        assert!(
            e("target=", None)
                .message
                .starts_with("missing parameter 'target'")
        );
        assert_eq!(
            e("target=a&target=b", None).message,
            "parameter 'target' given twice"
        );
        assert_eq!(
            e("target=a&modul=x", None).message,
            "unknown parameter 'modul' (expected target and module)"
        );
        assert_eq!(
            e("target=a&module=nope", None).message,
            "unknown module 'nope' (this exporter has: default, ldap)"
        );
        assert_eq!(
            e("target=ftp://a", None).message,
            "target 'ftp://a': unknown scheme 'ftp://' (expected ldap, ldaps, gc, gcs, rdp, https or tls)"
        );
        assert_eq!(e("target=a", Some("soon")).reason, "timeout_header");
        assert!(
            e("target=a", Some("0.5"))
                .message
                .contains("raise scrape_timeout")
        );
    }
}

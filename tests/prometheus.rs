//! The Prometheus side with the real thing: Debian's prometheus scraping `tlsmatrix serve` and a
//! node_exporter reading the textfile of `tlsmatrix scan`, the alerting rules evaluated by it
//! (and unit-tested by promtool), the dashboard's queries run against it, and the example
//! configuration files of contrib/ checked by the tools that read them.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tlsmatrix::lab::{Behaviour, LabServer, RdpReply, StartTlsReply};
use tlsmatrix::probe::ldap::ResultCode;
use tlsmatrix::report::TlsVersion::{self, *};

use crate::util::*;

const CONTRIB: &str = "contrib/prometheus";

async fn run(program: &str, args: &[&str]) -> std::process::Output {
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .unwrap_or_else(|_| panic!("{program} ran over a minute"))
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/test installs it)"))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rules_pass_promtool_check_and_their_unit_tests() {
    let rules = format!("{CONTRIB}/tlsmatrix-rules.yml");
    let out = run("promtool", &["check", "rules", &rules]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("SUCCESS: 6 rules found"),
        "{}",
        text(&out)
    );
    let out = run(
        "promtool",
        &[
            "test",
            "rules",
            &format!("{CONTRIB}/tlsmatrix-rules.test.yml"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    // The example scrape configuration is valid, rule file included.
    let out = run(
        "promtool",
        &["check", "config", &format!("{CONTRIB}/prometheus.yml")],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_textfile_passes_promtool_check_metrics() {
    let lab = tls_server(Tls12, Tls13).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tls.prom");
    let target = format!("tls://{}", lab.addr());
    let out = run_cli(
        &[
            "scan",
            "-q",
            &target,
            "--policy",
            "tls12-plus",
            "--suites",
            "-o",
            file.to_str().unwrap(),
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let metrics = std::fs::read_to_string(&file).unwrap();
    let pass = [("policy", "tls12-plus"), ("result", "pass")];
    assert_eq!(
        sample(&metrics, "tlsmatrix_policy_compliance", &pass),
        Some(1.0)
    );
    // With --suites, the suite series are there too (and pass promtool's lint below).
    for v in ["tls1.2", "tls1.3"] {
        assert_eq!(
            sample(&metrics, "tlsmatrix_suites_complete", &[("version", v)]),
            Some(1.0),
            "{v}: {metrics}"
        );
        let ok = sample(
            &metrics,
            "tlsmatrix_suites_accepted",
            &[("version", v), ("class", "ok")],
        );
        assert!(ok.is_some_and(|n| n >= 1.0), "{v}: {metrics}");
    }
    let check = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .await
        .expect("promtool");
    assert!(check.status.success(), "{}\n{metrics}", text(&check));
    // check, from the saved scan, writes the same metrics.
    let json = dir.path().join("scan.json");
    run_cli(
        &["scan", "-q", &target, "-o", json.to_str().unwrap()],
        &[],
        None,
    )
    .await;
    let out = run_cli(
        &[
            "check",
            json.to_str().unwrap(),
            "--policy",
            "tls12-plus",
            "--format",
            "prom",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        sample(&stdout(&out), "tlsmatrix_policy_compliance", &pass),
        Some(1.0)
    );
    // A comparison has no metrics form, and says so.
    let out = run_cli(
        &[
            "diff",
            json.to_str().unwrap(),
            json.to_str().unwrap(),
            "--format",
            "prometheus",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`diff` has no Prometheus form"),
        "{}",
        stderr(&out)
    );
}

/// A Prometheus server of its own, on a free loopback port, with its data in a temporary
/// folder; killed when dropped.
struct Prometheus {
    _child: tokio::process::Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Start with `config`, and `files` beside it (rule files).
    async fn start(config: &str, files: &[(&str, String)]) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write_file(dir.path(), "prometheus.yml", config);
        for (name, body) in files {
            write_file(dir.path(), name, body);
        }
        for _ in 0..5 {
            let port = free_port();
            let base = format!("http://127.0.0.1:{port}");
            let mut child = tokio::process::Command::new("prometheus")
                .arg(format!("--config.file={cfg}"))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("prometheus (scripts/test installs it)");
            for _ in 0..200 {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if let Ok(resp) = client().get(format!("{base}/-/ready")).send().await
                    && resp.status().is_success()
                {
                    return Prometheus {
                        _child: child,
                        base,
                        _dir: dir,
                    };
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = child.kill().await;
        }
        panic!("prometheus did not start");
    }

    /// The result of an instant query (which must be valid PromQL).
    async fn query(&self, q: &str) -> Vec<Value> {
        let resp: Value = client()
            .get(format!(
                "{}/api/v1/query?{}",
                self.base,
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("query", q)
                    .finish()
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(resp["status"], "success", "{q}: {resp}");
        resp["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Query until `done` holds for the result, for at most `limit`.
    async fn wait_for(
        &self,
        q: &str,
        limit: Duration,
        done: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let end = tokio::time::Instant::now() + limit;
        loop {
            let r = self.query(q).await;
            if done(&r) || tokio::time::Instant::now() > end {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn label<'a>(series: &'a Value, name: &str) -> &'a str {
    series["metric"][name].as_str().unwrap_or("")
}

fn value(series: &Value) -> f64 {
    series["value"][1].as_str().unwrap().parse().unwrap()
}

/// `text` with `from` replaced by `to`, which must be there exactly `times` times (so that the
/// test notices when the example file changes).
fn replaced(text: &str, from: &str, to: &str, times: usize) -> String {
    assert_eq!(text.matches(from).count(), times, "'{from}' in\n{text}");
    text.replace(from, to)
}

/// The shipped rules with every `for:` shortened to a second.
fn quick_rules() -> String {
    let rules = std::fs::read_to_string(format!("{CONTRIB}/tlsmatrix-rules.yml")).unwrap();
    let lines: Vec<String> = rules
        .lines()
        .map(|l| match l.trim_start().strip_prefix("for: ") {
            Some(_) => format!("{}for: 1s", &l[..l.len() - l.trim_start().len()]),
            None => l.to_string(),
        })
        .collect();
    assert_eq!(
        lines.iter().filter(|l| l.trim() == "for: 1s").count(),
        6,
        "every rule has a `for`"
    );
    lines.join("\n") + "\n"
}

/// The ExecStart of a shipped systemd unit, as arguments, with paths replaced.
fn exec_start(unit: &str, replace: &[(&str, &str)]) -> Vec<String> {
    let text = std::fs::read_to_string(format!("contrib/systemd/{unit}")).unwrap();
    let joined = text.replace("\\\n", " ");
    let line = joined
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let mut line = line.to_string();
    for (from, to) in replace {
        line = replaced(&line, from, to, 1);
    }
    line.split_whitespace().map(str::to_string).collect()
}

/// The matrix Prometheus holds for one job: (target, address, version) -> accepted.
async fn matrix(p: &Prometheus, job: &str) -> Vec<(String, String, String, f64)> {
    let mut rows: Vec<(String, String, String, f64)> = p
        .query(&format!("tlsmatrix_version_accepted{{job=\"{job}\"}}"))
        .await
        .iter()
        .map(|s| {
            (
                label(s, "target").to_string(),
                label(s, "address").to_string(),
                label(s, "version").to_string(),
                value(s),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rows
}

fn expected(
    targets: &[(&str, &str, TlsVersion, TlsVersion)],
) -> Vec<(String, String, String, f64)> {
    let mut rows = Vec::new();
    for (target, address, min, max) in targets {
        for v in TlsVersion::ALL {
            let on = (*min..=*max).contains(&v);
            rows.push((
                target.to_string(),
                address.to_string(),
                v.key().to_string(),
                if on { 1.0 } else { 0.0 },
            ));
        }
    }
    rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_exporter_and_the_textfile_and_the_alert_fires_on_a_regression() {
    // The estate: dc1.lab.test has two addresses, both enforced (LDAPS, TLS 1.2 and 1.3);
    // LDAP with StartTLS and RDP on 127.0.0.1.
    let ldaps = |min| Behaviour::Ldap {
        starttls: None,
        min,
        max: Tls13,
        answers: true,
    };
    let mut pair = None;
    for _ in 0..20 {
        let a = server(ldaps(Tls12)).await;
        let at = SocketAddr::new("127.0.0.2".parse().unwrap(), a.addr().port());
        if let Ok(b) = LabServer::start(at, ldaps(Tls12)).await {
            pair = Some((a, b));
            break;
        }
    }
    let (_dc1a, dc1b) = pair.expect("a port free on 127.0.0.1 and 127.0.0.2");
    let p1 = _dc1a.addr().port();
    let ldap = server(Behaviour::Ldap {
        starttls: Some(StartTlsReply::Result(ResultCode::Success)),
        min: Tls12,
        max: Tls13,
        answers: true,
    })
    .await;
    let rdp = server(Behaviour::Rdp(RdpReply::Tls {
        min: Tls12,
        max: Tls12,
    }))
    .await;
    let t_dc1 = format!("ldaps://dc1.lab.test:{p1}");
    let t_ldap = format!("ldap://{}", ldap.addr());
    let t_rdp = format!("rdp://{}", rdp.addr());

    let dir = tempfile::tempdir().unwrap();
    let exporter_config = write_file(
        dir.path(),
        "exporter.yml",
        &format!(
            "limits:\n  min_interval: 0\n  timeout_offset: 300ms\nmodules:\n  dc:\n    resolve: ['dc1.lab.test:{p1}:127.0.0.1,127.0.0.2']\n"
        ),
    );
    let exporter = Served::start(&["--config", &exporter_config]).await;

    // The textfile route, with the command line of the shipped systemd unit.
    let textfiles = tempfile::tempdir().unwrap();
    let targets = write_file(dir.path(), "targets.txt", &format!("{t_ldap}\n{t_rdp}\n"));
    let prom_file = textfiles.path().join("tlsmatrix.prom");
    let args = exec_start(
        "tlsmatrix-textfile.service",
        &[
            ("/usr/local/bin/tlsmatrix", env!("CARGO_BIN_EXE_tlsmatrix")),
            ("/etc/tlsmatrix/targets.txt", &targets),
            (
                "/var/lib/prometheus/node-exporter/tlsmatrix.prom",
                prom_file.to_str().unwrap(),
            ),
        ],
    );
    let out = run(
        &args[0],
        &args[1..].iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let node_port = free_port();
    let _node = tokio::process::Command::new("prometheus-node-exporter")
        .args([
            "--collector.disable-defaults",
            "--collector.textfile",
            &format!(
                "--collector.textfile.directory={}",
                textfiles.path().display()
            ),
            &format!("--web.listen-address=127.0.0.1:{node_port}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus-node-exporter (scripts/test installs it)");

    // The example scrape configuration of contrib/, pointed at this exporter and these targets.
    let example = std::fs::read_to_string(format!("{CONTRIB}/prometheus.yml")).unwrap();
    let mut config = replaced(&example, "127.0.0.1:9636", &exporter.addr.to_string(), 2);
    config = replaced(&config, "scrape_interval: 1m", "scrape_interval: 2s", 1);
    config = replaced(&config, "scrape_timeout: 30s", "scrape_timeout: 2s", 1);
    config = replaced(
        &config,
        "          - ldaps://dc1.corp.example.com\n          - ldap://dc1.corp.example.com\n          - gcs://dc1.corp.example.com\n          - rdp://dc1.corp.example.com\n",
        &format!("          - {t_dc1}\n          - {t_ldap}\n          - {t_rdp}\n"),
        1,
    );
    config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{config}\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{node_port}']\n"
    );
    let prom = Prometheus::start(&config, &[("tlsmatrix-rules.yml", quick_rules())]).await;

    // Every endpoint and version, as the exporter answered and Prometheus stored it.
    let want = expected(&[
        (&t_dc1, "127.0.0.1", Tls12, Tls13),
        (&t_dc1, "127.0.0.2", Tls12, Tls13),
        (&t_ldap, "127.0.0.1", Tls12, Tls13),
        (&t_rdp, "127.0.0.1", Tls12, Tls12),
    ]);
    let limit = Duration::from_secs(30);
    prom.wait_for(
        "tlsmatrix_version_accepted{job=\"tlsmatrix\"}",
        limit,
        |r| r.len() == want.len(),
    )
    .await;
    assert_eq!(matrix(&prom, "tlsmatrix").await, want, "{}", exporter.log());
    let success = prom
        .query("tlsmatrix_probe_success{job=\"tlsmatrix\"}")
        .await;
    assert_eq!(success.len(), 3);
    for s in &success {
        assert_eq!(value(s), 1.0, "{s}");
        // The instance is the target, as for blackbox_exporter, and the site is a label.
        assert_eq!(label(s, "instance"), label(s, "target"));
        assert_eq!(label(s, "vantage"), "paris");
    }
    let works = prom
        .query("tlsmatrix_version_works{job=\"tlsmatrix\",protocol=\"ldap_starttls\",version=\"tls1.2\"}")
        .await;
    assert_eq!(works.len(), 1);
    assert_eq!(value(&works[0]), 1.0, "the directory answered over TLS 1.2");
    let dse = prom
        .query("tlsmatrix_ldap_root_dse_info{job=\"tlsmatrix\",dns_host_name=\"dc1.lab.test\"}")
        .await;
    assert_eq!(dse.len(), 3, "two LDAPS addresses and the StartTLS server");
    let own = prom
        .wait_for(
            "tlsmatrix_exporter_scans_total{job=\"tlsmatrix_exporter\"}",
            limit,
            |r| !r.is_empty(),
        )
        .await;
    assert!(!own.is_empty() && value(&own[0]) >= 1.0, "{own:?}");

    // The textfile route: the same cells through node_exporter, with the policy result.
    let textfile = prom
        .wait_for("tlsmatrix_version_accepted{job=\"node\"}", limit, |r| {
            r.len() == 10
        })
        .await;
    assert_eq!(textfile.len(), 10);
    let want_textfile = expected(&[
        (&t_ldap, "127.0.0.1", Tls12, Tls13),
        (&t_rdp, "127.0.0.1", Tls12, Tls12),
    ]);
    assert_eq!(matrix(&prom, "node").await, want_textfile);
    let policy = prom
        .query("tlsmatrix_policy_result{job=\"node\",policy=\"tls12-only\",result=\"pass\"}")
        .await;
    assert_eq!(policy.len(), 1);
    assert_eq!(value(&policy[0]), 1.0);

    // The certificates, as the servers sent them: the lab's are made for 30 days, so the
    // certificate alert fires for every row of both routes.
    let not_after = prom
        .query("tlsmatrix_certificate_not_after_timestamp_seconds")
        .await;
    assert_eq!(
        not_after.len(),
        6,
        "four rows scraped, two in the textfile: {not_after:?}"
    );
    let lab_expiry = tlsmatrix::lab::identity().1.not_after();
    let expected_expiry = openssl::asn1::Asn1Time::from_unix(0)
        .unwrap()
        .diff(lab_expiry)
        .unwrap();
    let expected_expiry = expected_expiry.days as f64 * 86400.0 + expected_expiry.secs as f64;
    for s in &not_after {
        assert_eq!(value(s), expected_expiry, "{s}");
    }
    let left = prom
        .query("tlsmatrix_certificate_remaining_seconds{job=\"tlsmatrix\"} / 86400")
        .await;
    assert_eq!(left.len(), 4);
    assert!(
        left.iter().all(|s| (29.9..30.0).contains(&value(s))),
        "{left:?}"
    );
    let expiring = prom
        .wait_for(
            "ALERTS{alertname=\"TlsCertificateExpiresSoon\",alertstate=\"firing\"}",
            limit,
            |r| r.len() == 6,
        )
        .await;
    assert_eq!(expiring.len(), 6, "{expiring:?}");
    // Nothing else to alert on yet.
    let alerts = prom
        .query("ALERTS{alertname!=\"TlsCertificateExpiresSoon\"}")
        .await;
    assert!(alerts.is_empty(), "{alerts:?}");

    // A restore brings back the second address of dc1 with TLS 1.0 and 1.1 on.
    let at = dc1b.addr();
    dc1b.shutdown().await;
    let _restored = LabServer::start_again(at, ldaps(Tls10)).await.unwrap();
    let firing = prom
        .wait_for(
            "ALERTS{alertname=\"TlsLegacyVersionAccepted\",alertstate=\"firing\"}",
            limit,
            |r| r.len() == 2,
        )
        .await;
    let mut seen: Vec<(&str, &str, &str)> = firing
        .iter()
        .map(|a| (label(a, "target"), label(a, "address"), label(a, "version")))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (t_dc1.as_str(), "127.0.0.2", "tls1.0"),
            (t_dc1.as_str(), "127.0.0.2", "tls1.1"),
        ],
        "{}",
        exporter.log()
    );
    let others = prom
        .query("ALERTS{alertname!~\"TlsLegacyVersionAccepted|TlsCertificateExpiresSoon\"}")
        .await;
    assert!(others.is_empty(), "{others:?}");

    // Every query of the dashboard is valid PromQL against these series, and the matrix
    // panels show them.
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string("contrib/grafana/tlsmatrix-dashboard.json").unwrap(),
    )
    .unwrap();
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap();
        for t in panel["targets"].as_array().unwrap() {
            let expr = t["expr"]
                .as_str()
                .unwrap()
                .replace("$job", ".*")
                .replace("$target", ".*")
                .replace("$__rate_interval", "1m");
            let result = prom.query(&expr).await;
            queries += 1;
            if title.starts_with("The matrix")
                || title.starts_with("Certificate")
                || title == "Rows by verdict"
            {
                assert!(!result.is_empty(), "{title}: {expr} gives nothing");
            }
        }
    }
    assert!(queries >= 10, "{queries} queries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_shows_the_scrape_configuration_that_is_tested() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let example = std::fs::read_to_string(format!("{CONTRIB}/prometheus.yml")).unwrap();
    let relabel = &example[example.find("    relabel_configs:").unwrap()..];
    let relabel = &relabel[..relabel.find("\n\n").unwrap()];
    assert!(readme.contains(relabel), "README lacks:\n{relabel}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systemd_units_pass_systemd_analyze_verify() {
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for unit in [
        "tlsmatrix-textfile.service",
        "tlsmatrix-textfile.timer",
        "tlsmatrix-exporter.service",
    ] {
        let body = std::fs::read_to_string(format!("contrib/systemd/{unit}")).unwrap();
        // The binary where this build put it.
        let body = body.replace("/usr/local/bin/tlsmatrix", env!("CARGO_BIN_EXE_tlsmatrix"));
        names.push(write_file(dir.path(), unit, &body));
    }
    let args: Vec<&str> = std::iter::once("verify")
        .chain(names.iter().map(String::as_str))
        .collect();
    let out = run("systemd-analyze", &args).await;
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.lines().all(|l| !l.contains("tlsmatrix")),
        "systemd-analyze: {said}"
    );
}

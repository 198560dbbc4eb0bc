//! The before/after flow as a user runs it: scan, change the servers, scan again, diff, check,
//! merge; with the exit statuses a pipeline relies on.

use std::net::SocketAddr;

use serde_json::Value;
use tlsmatrix::lab::{Behaviour, LabServer};
use tlsmatrix::report::{Report, Status, TlsVersion::*, Verdict};

use crate::util::*;

fn path(dir: &tempfile::TempDir, name: &str) -> String {
    dir.path().join(name).to_str().unwrap().to_string()
}

async fn scan_to(file: &str, label: &str, targets: &[String]) -> std::process::Output {
    let mut args = vec![
        "scan",
        "-q",
        "--versions",
        "tls1.0,tls1.1,tls1.2,tls1.3",
        "--label",
        label,
        "-o",
        file,
    ];
    args.extend(targets.iter().map(String::as_str));
    run_cli(&args, &[], None).await
}

async fn restart(server: LabServer, behaviour: Behaviour) -> LabServer {
    let addr: SocketAddr = server.addr();
    server.shutdown().await;
    LabServer::start_again(addr, behaviour).await.unwrap()
}

fn transition(d: &Value, i: usize, v: &str) -> String {
    d["endpoints"][i]["versions"][v]["transition"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_then_diff_check_and_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let all = || Behaviour::tls(Tls10, Tls13);
    let enforced = tls_server(Tls10, Tls13).await;
    let forgotten = tls_server(Tls10, Tls13).await;
    let broken = tls_server(Tls10, Tls13).await;
    let retired = tls_server(Tls12, Tls13).await;
    let targets: Vec<String> = [&enforced, &forgotten, &broken, &retired]
        .iter()
        .map(|s| s.addr().to_string())
        .collect();
    let before = path(&dir, "before.json");
    let out = scan_to(&before, "before", &targets).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The change: TLS 1.2+ only; one server forgotten; one wrongly left with TLS 1.3 only; one
    // taken away.
    let enforced = restart(enforced, Behaviour::tls(Tls12, Tls13)).await;
    let forgotten = restart(forgotten, all()).await;
    let broken = restart(broken, Behaviour::tls(Tls13, Tls13)).await;
    retired.shutdown().await;
    let newcomer = tls_server(Tls12, Tls13).await;
    let mut after_targets = targets.clone();
    after_targets.push(newcomer.addr().to_string());
    let after = path(&dir, "after.json");
    scan_to(&after, "after", &after_targets).await;

    let out = run_cli(&["diff", &before, &after, "--format", "json"], &[], None).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results: Vec<&str> = d["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        [
            "enforced",
            "still_accepted",
            "regression",
            "regression",
            "added"
        ]
    );
    assert_eq!(transition(&d, 0, "tls1.0"), "enforced");
    assert_eq!(transition(&d, 0, "tls1.2"), "unchanged");
    assert_eq!(transition(&d, 1, "tls1.1"), "still_accepted");
    assert_eq!(transition(&d, 2, "tls1.2"), "regression");
    assert_eq!(transition(&d, 2, "tls1.3"), "unchanged");
    // Gone after the change: its TLS 1.2 no longer answers.
    assert_eq!(transition(&d, 3, "tls1.2"), "regression");
    assert_eq!(transition(&d, 3, "tls1.0"), "inconclusive");

    // --allow-inconclusive never hides a regression.
    let out = run_cli(
        &[
            "diff",
            &before,
            &after,
            "--allow-inconclusive",
            "--format",
            "json",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(1));

    let table = run_cli(&["diff", &before, &after, "--format", "table"], &[], None).await;
    let text = stdout(&table);
    assert!(
        text.contains(
            "5 endpoints: 2 regressions, 1 still accepts TLS 1.0, TLS 1.1, 1 added, 1 enforced"
        ),
        "{text}"
    );
    assert!(text.contains("FAIL"), "{text}");

    let check = run_cli(
        &[
            "check",
            &after,
            "--require",
            "tls1.2",
            "--forbid",
            "tls1.0,tls1.1",
            "--format",
            "json",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(check.status.code(), Some(1));
    let c: Value = serde_json::from_slice(&check.stdout).unwrap();
    let results: Vec<&str> = c["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["pass", "fail", "fail", "inconclusive", "pass"]);
    assert_eq!(
        c["endpoints"][1]["findings"][0]["message"],
        "TLS 1.0 is accepted"
    );
    assert_eq!(
        c["endpoints"][2]["findings"][0]["message"],
        "TLS 1.2 is not accepted"
    );

    // The endpoint that was enforced passes on its own, scanned against the baseline.
    let one = path(&dir, "one.json");
    scan_to(&one, "before-one", &[targets[0].clone()]).await;
    let enforced_again = restart(enforced, Behaviour::tls(Tls10, Tls13)).await;
    let regressed = run_cli(
        &[
            "scan",
            "-q",
            "--versions",
            "tls1.0,tls1.1,tls1.2,tls1.3",
            "--baseline",
            &one,
            "--format",
            "json",
            &targets[0],
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(
        regressed.status.code(),
        Some(1),
        "TLS 1.0 came back: {}",
        stdout(&regressed)
    );
    let d: Value = serde_json::from_slice(&regressed.stdout).unwrap();
    assert_eq!(transition(&d, 0, "tls1.0"), "newly_accepted");
    let fixed = restart(enforced_again, Behaviour::tls(Tls12, Tls13)).await;
    let ok = run_cli(
        &[
            "scan",
            "-q",
            "--versions",
            "tls1.0,tls1.1,tls1.2,tls1.3",
            "--baseline",
            &one,
            "--format",
            "json",
            &targets[0],
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let policy = run_cli(
        &[
            "scan",
            "-q",
            "--versions",
            "tls1.0,tls1.1,tls1.2,tls1.3",
            "--policy",
            "tls12-plus",
            "--format",
            "json",
            &targets[0],
        ],
        &[],
        None,
    )
    .await;
    // SSLv3 was not scanned, so tls12-plus cannot be decided for it: never a pass.
    assert_eq!(policy.status.code(), Some(3), "{}", stdout(&policy));
    drop((fixed, forgotten, broken, newcomer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_named_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let s = tls_server(Tls12, Tls13).await;
    let good = path(&dir, "good.json");
    scan_to(&good, "good", &[s.addr().to_string()]).await;
    let text = std::fs::read_to_string(&good).unwrap();

    let empty = path(&dir, "empty.json");
    std::fs::write(&empty, "").unwrap();
    let truncated = path(&dir, "truncated.json");
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let future = path(&dir, "future.json");
    std::fs::write(
        &future,
        text.replace("\"schema_version\": 2", "\"schema_version\": 99"),
    )
    .unwrap();
    let other = path(&dir, "other.json");
    std::fs::write(&other, "{\"name\": \"not a scan\"}").unwrap();
    let elsewhere = tls_server(Tls12, Tls13).await;
    let disjoint = path(&dir, "disjoint.json");
    scan_to(&disjoint, "elsewhere", &[elsewhere.addr().to_string()]).await;

    for (file, needle) in [
        (&empty, "the file is empty, not a tlsmatrix scan"),
        (&truncated, "truncated JSON"),
        (&future, "schema version 99 is not supported"),
        (&other, "not a tlsmatrix scan (no schema_version field)"),
        (&disjoint, "have no endpoint in common"),
    ] {
        let out = run_cli(&["diff", &good, file], &[], None).await;
        assert_eq!(out.status.code(), Some(2), "{file}");
        let err = stderr(&out);
        assert!(err.contains(needle), "{file}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    let out = run_cli(&["check", &future, "--policy", "tls12-only"], &[], None).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("future.json: schema version 99"),
        "{}",
        stderr(&out)
    );
    // A report of schema 1 is still read, its unprobed cells as `interrupted`.
    let old = path(&dir, "old.json");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["schema_version"] = 1.into();
    v["endpoints"][0]["versions"]["tls1.0"] = serde_json::json!({
        "status": "error", "detail": "not probed: the scan was interrupted", "elapsed_ms": 0
    });
    std::fs::write(&old, serde_json::to_vec(&v).unwrap()).unwrap();
    let loaded = tlsmatrix::report::load::load(&old).unwrap();
    assert_eq!(
        loaded.endpoints[0].versions[&Tls10].status(),
        Status::Interrupted
    );
    let out = run_cli(&["check", &good], &[], None).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("check needs --policy"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_shows_disagreement_between_vantage_points() {
    let dir = tempfile::tempdir().unwrap();
    let s = tls_server(Tls10, Tls13).await;
    let target = s.addr().to_string();
    let a = path(&dir, "site-a.json");
    scan_to(&a, "site-a", std::slice::from_ref(&target)).await;
    // Seen from site b, the same endpoint refuses TLS 1.0 (another path, another answer).
    let s = restart(s, Behaviour::tls(Tls11, Tls13)).await;
    let b = path(&dir, "site-b.json");
    scan_to(&b, "site-b", std::slice::from_ref(&target)).await;
    let all = path(&dir, "all.json");
    let out = run_cli(&["merge", &a, &b, "-o", &all], &[], None).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "a disagreement leaves the endpoint undecided"
    );
    let merged: Report = serde_json::from_slice(&std::fs::read(&all).unwrap()).unwrap();
    let e = &merged.endpoints[0];
    assert_eq!(merged.vantage_points.len(), 2);
    assert_eq!(e.seen_by.keys().collect::<Vec<_>>(), ["site-a", "site-b"]);
    assert_eq!(e.versions[&Tls10].status(), Status::Error);
    assert!(
        e.disagreements[0].contains("site-a: accepted"),
        "{:?}",
        e.disagreements
    );
    assert!(
        e.disagreements[0].contains("site-b: refused"),
        "{:?}",
        e.disagreements
    );
    assert_eq!(
        e.versions[&Tls11].status(),
        Status::Accepted,
        "agreement is kept"
    );
    assert_eq!(e.verdict, Verdict::Legacy, "TLS 1.1 is accepted from both");
    drop(s);
}

/// The defect: a declined StartTLS put no ClientHello on the wire, yet `diff` called it
/// `enforced` and `check --policy tls12-only` passed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_cell_is_never_a_refusal_in_diff_or_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_cli(&["demo", "--save", dir.path().to_str().unwrap()], &[], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("before.json")).unwrap()).unwrap();
    let mut after: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("after.json")).unwrap()).unwrap();
    let find = |r: &Value, prefix: &str| -> usize {
        r["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .position(|e| e["target"].as_str().unwrap().starts_with(prefix))
            .unwrap()
    };
    let dc2 = find(&before, "ldap://dc2");
    let declined = before["endpoints"][dc2]["versions"]["tls1.0"].clone();
    assert_eq!(declined["tls_declined"], true, "{declined}");
    let dc1 = find(&after, "ldap://dc1");
    for v in ["tls1.0", "tls1.1"] {
        after["endpoints"][dc1]["versions"][v] = declined.clone();
    }
    let after_path = path(&dir, "after-declined.json");
    std::fs::write(&after_path, serde_json::to_vec(&after).unwrap()).unwrap();
    let before_path = path(&dir, "before.json");

    let d = run_cli(
        &["diff", &before_path, &after_path, "--format", "table"],
        &[],
        None,
    )
    .await;
    let text = stdout(&d);
    assert_eq!(d.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL"), "{text}");
    assert!(!text.contains("PASS"), "{text}");

    let c = run_cli(
        &[
            "check",
            &after_path,
            "--policy",
            "tls12-only",
            "--format",
            "json",
        ],
        &[],
        None,
    )
    .await;
    let report: Value = serde_json::from_slice(&c.stdout).unwrap();
    assert_eq!(c.status.code(), Some(3), "{}", stdout(&c));
    assert_eq!(report["result"], "inconclusive");
    let e = &report["endpoints"][dc1];
    assert_eq!(e["result"], "inconclusive", "{e}");
    assert!(e["findings"].to_string().contains("never offered"), "{e}");
}

/// The after-proof on a real estate: an endpoint unreachable on both sides is said once, an
/// exception covers what the administrator accepted for a while (and fails once expired),
/// `--allow-inconclusive` names what was not verified, a removed endpoint never passes, and
/// `--exclude` leaves an endpoint out of the scan, listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_after_proof_can_close_with_exceptions_and_says_what_it_did_not_verify() {
    let dir = tempfile::tempdir().unwrap();
    let good = tls_server(Tls12, Tls13).await;
    let legacy = tls_server(Tls10, Tls13).await;
    let dead = format!("127.0.0.1:{}", closed_port());
    let targets = vec![
        good.addr().to_string(),
        legacy.addr().to_string(),
        dead.clone(),
    ];
    let (before, after) = (path(&dir, "before.json"), path(&dir, "after.json"));
    scan_to(&before, "before", &targets).await;
    scan_to(&after, "after", &targets).await;

    let diff = |extra: Vec<String>| {
        let mut args: Vec<String> = ["diff", &before, &after, "--format", "table"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(extra);
        async move {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            run_cli(&a, &[], None).await
        }
    };
    let out = diff(vec![]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let dead_lines: Vec<&str> = text.lines().filter(|l| l.contains(&dead)).collect();
    assert_eq!(
        dead_lines
            .iter()
            .filter(|l| l.starts_with("not verified:"))
            .count(),
        1,
        "{text}"
    );
    assert!(
        text.contains(&format!("not verified: {dead} [127.0.0.1]"))
            || text.contains("unreachable before and after"),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("inconclusive:") && l.contains(&dead)),
        "no line per version for an endpoint unreachable on both sides: {text}"
    );

    // Exceptions for the legacy endpoint's old versions and the dead endpoint.
    let exceptions = path(&dir, "exceptions.txt");
    std::fs::write(
        &exceptions,
        format!(
            "# pattern versions expires reason\n{} tls1.0,tls1.1 2099-01-01 print server, replaced in March\n{dead} all 2099-01-01 DC decommissioned\n",
            legacy.addr()
        ),
    )
    .unwrap();
    let out = diff(vec!["--exceptions".into(), exceptions.clone()]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("excepted: "), "{text}");
    assert!(text.contains("print server, replaced in March"), "{text}");
    assert!(text.contains("passed by exception"), "{text}");

    let out = run_cli(
        &[
            "check",
            &after,
            "--require",
            "tls1.2",
            "--forbid",
            "tls1.0,tls1.1",
            "--exceptions",
            &exceptions,
            "--format",
            "json",
        ],
        &[],
        None,
    )
    .await;
    let c: Value = serde_json::from_slice(&out.stdout).unwrap();
    let legacy_check = c["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["port"] == legacy.addr().port())
        .unwrap();
    assert_eq!(legacy_check["result"], "pass", "{legacy_check}");
    assert!(legacy_check["findings"][0]["excepted"]["reason"].is_string());

    // An expired exception fails loudly, in diff and check alike.
    let expired = path(&dir, "expired.txt");
    std::fs::write(&expired, format!("{dead} all 2020-01-01 forgotten\n")).unwrap();
    let out = diff(vec!["--exceptions".into(), expired.clone()]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("expired on 2020-01-01"),
        "{}",
        stdout(&out)
    );
    let out = run_cli(
        &[
            "check",
            &after,
            "--policy",
            "tls12-only",
            "--exceptions",
            &expired,
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("an exception has expired"),
        "{}",
        stdout(&out)
    );

    // --allow-inconclusive names what it let through.
    let (b2, a2) = (path(&dir, "b2.json"), path(&dir, "a2.json"));
    let two = vec![good.addr().to_string(), dead.clone()];
    scan_to(&b2, "before", &two).await;
    scan_to(&a2, "after", &two).await;
    let out = run_cli(
        &[
            "diff",
            &b2,
            &a2,
            "--allow-inconclusive",
            "--format",
            "table",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("PASS for 1 of 2 endpoints; 1 not verified (--allow-inconclusive)"),
        "{}",
        stdout(&out)
    );

    // A removed endpoint is never a pass.
    let one = path(&dir, "one.json");
    scan_to(&one, "after", &[good.addr().to_string()]).await;
    let out = run_cli(&["diff", &b2, &one, "--allow-inconclusive"], &[], None).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));

    // --exclude leaves an endpoint out and says so.
    let out = run_cli(
        &[
            "scan",
            "--format",
            "json",
            "--exclude",
            &dead,
            &good.addr().to_string(),
            &dead,
        ],
        &[],
        None,
    )
    .await;
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(r.endpoints.len(), 1);
    assert_eq!(r.excluded.len(), 1);
    assert_eq!(r.excluded[0].pattern, dead);
}

/// A Markdown comparison or check opens with the evidence a change ticket needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markdown_documents_start_with_the_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let s = tls_server(Tls12, Tls13).await;
    let (before, after) = (path(&dir, "before.json"), path(&dir, "after.json"));
    scan_to(&before, "before", &[s.addr().to_string()]).await;
    scan_to(&after, "after", &[s.addr().to_string()]).await;
    let d = run_cli(&["diff", &before, &after, "--format", "md"], &[], None).await;
    let text = stdout(&d);
    let head: Vec<&str> = text.lines().take(10).collect();
    let head = head.join("\n");
    for needle in [
        "| **file** | ",
        &before,
        &after,
        "| **label** | before | after |",
        "| **started** |",
        "| **finished** |",
        concat!("tlsmatrix ", env!("CARGO_PKG_VERSION")),
        "OpenSSL",
    ] {
        assert!(head.contains(needle), "{needle}: {head}");
    }
    let c = run_cli(
        &["check", &after, "--require", "tls1.2", "--format", "md"],
        &[],
        None,
    )
    .await;
    let text = stdout(&c);
    assert!(
        text.contains("| **file** | ") && text.contains(&after),
        "{text}"
    );
    assert!(
        text.contains("Checked ") && text.contains(" by tlsmatrix "),
        "{text}"
    );
}

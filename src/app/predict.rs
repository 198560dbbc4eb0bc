//! `tlsmatrix predict`: which clients will break once the endpoints accept only TLS 1.2 and
//! newer (or, with --as-is, which break on the endpoints as they are).

use tokio_util::sync::CancellationToken;

use crate::app::Exit;
use crate::app::emit::emit_with;
use crate::config::{self, PredictJob};
use crate::error::Error;
use crate::output::{self, escape};
use crate::predict::{self, PredictReport, clients, live};
use crate::report::InputError;

pub(crate) async fn run(mut job: PredictJob, cancel: CancellationToken) -> Result<Exit, Error> {
    let out = job.output.clone();
    if job.list_profiles {
        emit_with(&out, |w, format, look| {
            output::write_profiles(&job.profiles, format, look, w)
        })?;
        return Ok(Exit::Ok);
    }
    let mut input_errors = std::mem::take(&mut job.input_errors);

    // The clients: every distinct hello of the captures, then the profiles.
    let mut replayed = Vec::new();
    let mut own_probes = 0;
    let mut read_any = job.clients.is_empty();
    for path in &job.clients {
        let loaded = clients::load(path, &job.ports);
        own_probes += loaded.own_probes;
        if let Some(e) = &loaded.error {
            input_errors.push(InputError {
                source: format!("--clients {path}"),
                message: e.clone(),
            });
        }
        read_any |= !loaded.hellos.is_empty() || loaded.error.is_none();
        match clients::from_offers(&loaded.hellos, &loaded.offers) {
            Ok(c) => replayed.extend(c),
            Err(message) => input_errors.push(InputError {
                source: format!("--clients {path}"),
                message,
            }),
        }
    }
    replayed.extend(clients::from_profiles(&job.profiles));
    for e in &input_errors {
        eprintln!("tlsmatrix: error: {}", escape::term(&e.to_string()));
    }
    if !read_any && replayed.is_empty() {
        return Ok(Exit::Input);
    }

    // Offline: the saved scan's endpoints, every cell computed.
    if let Some(saved) = job.saved.take() {
        let report = PredictReport {
            schema_version: predict::SCHEMA_VERSION,
            mode: job.live.mode,
            cells: predict::computed(job.live.mode, &replayed, &saved.report),
            clients: replayed.into_iter().map(|r| r.client).collect(),
            endpoints: predict::saved_endpoints(&saved.report),
            input_errors,
            own_probes,
            scan: Some(saved.path.clone()),
            complete: true,
        };
        emit_with(&out, |w, format, look| {
            output::write_predict(&report, format, look, w)
        })?;
        return Ok(exit_status(&report));
    }

    // The endpoints.
    if let Some(domain) = job.domain.take() {
        add_discovered(&mut job, &domain).await;
    }
    if job.targets.is_empty() {
        return Err(Error::NoTargets);
    }
    let endpoints = predict::endpoints(
        &job.targets,
        &job.resolve,
        job.sni.as_deref(),
        job.live.limits.connect_timeout,
    )
    .await;

    if !out.quiet {
        eprintln!(
            "tlsmatrix: {} client{} x {} endpoint{}{}",
            replayed.len(),
            if replayed.len() == 1 { "" } else { "s" },
            endpoints.len(),
            if endpoints.len() == 1 { "" } else { "s" },
            if own_probes > 0 {
                format!(" ({own_probes} connections of tlsmatrix's own probes left out)")
            } else {
                String::new()
            }
        );
    }
    let (cells, complete) = live::run(&job.live, &replayed, &endpoints, &cancel).await;
    let report = PredictReport {
        schema_version: predict::SCHEMA_VERSION,
        mode: job.live.mode,
        clients: replayed.into_iter().map(|r| r.client).collect(),
        endpoints,
        cells,
        input_errors,
        own_probes,
        scan: None,
        complete,
    };
    emit_with(&out, |w, format, look| {
        output::write_predict(&report, format, look, w)
    })?;
    Ok(exit_status(&report))
}

/// 130 interrupted, 1 when a client breaks, 2 for bad input, 3 when a cell is unknown, else 0.
pub fn exit_status(report: &PredictReport) -> Exit {
    if !report.complete {
        Exit::Interrupted
    } else if !report.breaking().is_empty() {
        Exit::Fail
    } else if !report.input_errors.is_empty() {
        Exit::Input
    } else if report.unknown() > 0 {
        Exit::Undecided
    } else {
        Exit::Ok
    }
}

/// The DCs of a domain, found through DNS, as endpoints; what DNS could not answer is a
/// warning, as for scan.
async fn add_discovered(job: &mut PredictJob, d: &config::DomainJob) {
    let found = crate::discover::discover(&d.domain, d.site.as_deref(), &d.dns).await;
    for p in &found.problems {
        let line = format!("DNS {}: {p}", d.domain);
        eprintln!("tlsmatrix: warning: {}", escape::term(&line));
    }
    if !job.output.quiet {
        eprintln!(
            "tlsmatrix: {}",
            escape::term(&output::discovery_summary(&found))
        );
    }
    let (targets, resolve) = crate::discover::targets(&found, d.with_rdp);
    job.targets.extend(targets);
    config::dedupe(&mut job.targets);
    job.resolve.extend(resolve);
}

//! `tlsmatrix serve`: the Prometheus exporter, until SIGTERM or Ctrl-C; SIGHUP reads the
//! configuration files again.

use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_openssl::OpenSSLConfig;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::app::Exit;
use crate::config::{ServeFiles, ServeJob};
use crate::error::Error;
use crate::serve::settings::ExporterSettings;
use crate::serve::{Exporter, serve};

pub(crate) async fn run(job: ServeJob, cancel: CancellationToken) -> Result<Exit, Error> {
    if job.check_only {
        crate::app::to_stdout(|w| {
            writeln!(w, "{}", describe(&job.files, &job.settings))?;
            if job.web.tls.is_some() || !job.web.users.is_empty() {
                writeln!(
                    w,
                    "web: {}; {} user(s) with basic authentication",
                    if job.web.tls.is_some() {
                        "TLS"
                    } else {
                        "no TLS"
                    },
                    job.web.users.len()
                )?;
            }
            Ok(())
        })?;
        return Ok(Exit::Ok);
    }
    let listener = std::net::TcpListener::bind(job.listen)
        .map_err(|e| Error::Usage(format!("--listen {}: cannot listen there: {e}", job.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Usage(e.to_string()))?;
    let tls = job
        .web
        .tls
        .as_ref()
        .map(|t| OpenSSLConfig::from_acceptor(t.acceptor.clone()));
    let exporter = Exporter::new(job.settings.clone(), job.web.users.clone());
    let scheme = if tls.is_some() { "https" } else { "http" };
    eprintln!(
        "tlsmatrix: listening on {scheme}://{addr}; {}",
        describe(&job.files, &job.settings)
    );

    let shutdown = cancel.clone();
    let stop = shutdown.clone();
    let mut term = signal(SignalKind::terminate()).map_err(|e| Error::Usage(e.to_string()))?;
    tokio::spawn(async move {
        if term.recv().await.is_some() {
            eprintln!(
                "tlsmatrix: stopping: no new connections; answering the requests in progress"
            );
            stop.cancel();
        }
    });
    let mut hup = signal(SignalKind::hangup()).map_err(|e| Error::Usage(e.to_string()))?;
    let reloading = exporter.clone();
    let files = job.files.clone();
    let reload_tls = tls.clone();
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            reload(&reloading, &files, reload_tls.as_ref());
        }
    });

    // Requests in progress may take up to the longest probe to finish.
    let grace = job.settings.limits.max_probe_time + Duration::from_secs(1);
    serve(exporter, listener, tls, shutdown, grace)
        .await
        .map_err(|e| Error::Usage(format!("serving on {addr}: {e}")))?;
    eprintln!("tlsmatrix: stopped");
    Ok(Exit::Ok)
}

/// `config.yml: 3 modules (default, ldap, ldaps)`.
fn describe(files: &ServeFiles, settings: &ExporterSettings) -> String {
    let source = match &files.config {
        Some(p) => p.display().to_string(),
        None => "no configuration file".to_string(),
    };
    let modules: Vec<&str> = settings.modules.keys().map(String::as_str).collect();
    format!(
        "{source}: {} module{} ({})",
        modules.len(),
        if modules.len() == 1 { "" } else { "s" },
        modules.join(", ")
    )
}

/// Read the files again; on any mistake keep what is in force and say why.
fn reload(exporter: &Arc<Exporter>, files: &ServeFiles, tls: Option<&OpenSSLConfig>) {
    if files.config.is_none() && files.web_config.is_none() {
        eprintln!("tlsmatrix: SIGHUP: no configuration file to read again");
        return;
    }
    let loaded = files.load().and_then(|(settings, web)| {
        match (tls, &web.tls) {
            (Some(config), Some(new)) => config.reload_from_acceptor(new.acceptor.clone()),
            (None, None) => {}
            _ => {
                return Err(Error::Usage(
                    "TLS cannot be turned on or off by a reload: restart the exporter".into(),
                ));
            }
        }
        Ok((settings, web))
    });
    match loaded {
        Ok((settings, web)) => {
            eprintln!(
                "tlsmatrix: configuration read again: {}",
                describe(files, &settings)
            );
            exporter.reload(settings, web.users);
        }
        Err(e) => {
            for line in e.lines() {
                eprintln!("tlsmatrix: error: {}", crate::output::escape::term(&line));
            }
            eprintln!("tlsmatrix: the configuration in force stays");
            exporter.reload_failed();
        }
    }
}

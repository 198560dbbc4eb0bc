//! `tlsmatrix discover`: the domain controllers of a domain, from DNS SRV records.

use crate::app::Exit;
use crate::app::emit::{emit_with, no_metrics};
use crate::config::DiscoverJob;
use crate::error::Error;
use crate::{discover, output};

pub(crate) async fn run(job: DiscoverJob) -> Result<Exit, Error> {
    no_metrics(&job.output, "discover")?;
    let d = &job.domain;
    let found = discover::discover(&d.domain, d.site.as_deref(), &d.dns).await;
    emit_with(&job.output, |w, format, _| {
        if job.as_targets {
            output::write_target_list(&found, d.with_rdp, w)
        } else {
            output::write_discovery(&found, format, d.with_rdp, w)
        }
    })?;
    Ok(if found.dcs.is_empty() {
        Exit::Input
    } else if !found.problems.is_empty() {
        Exit::Undecided
    } else {
        Exit::Ok
    })
}

//! `tlsmatrix discover`: the domain controllers of a domain, from DNS SRV records.

use crate::app::Exit;
use crate::app::emit::{emit_with, no_metrics};
use crate::error::Error;
use crate::{cli, config, discover, output};

pub(crate) async fn run(args: cli::DiscoverArgs) -> Result<Exit, Error> {
    let settings = config::dns_settings(&args.dns);
    let out = config::output_config(&args.output);
    no_metrics(&out, "discover")?;
    let found = discover::discover(&args.domain, args.dns.site.as_deref(), &settings).await;
    emit_with(&out, |w, format, _| {
        output::write_discovery(&found, format, args.dns.with_rdp, w)
    })?;
    Ok(if found.dcs.is_empty() {
        Exit::Input
    } else if !found.problems.is_empty() {
        Exit::Undecided
    } else {
        Exit::Ok
    })
}

//! `tlsmatrix check`: a saved scan held against a policy.

use crate::analysis::policy;
use crate::app::Exit;
use crate::app::emit::emit_with;
use crate::error::Error;
use crate::report::load;
use crate::{cli, config, output};

pub(crate) fn run(args: cli::CheckArgs) -> Result<Exit, Error> {
    let policy = config::policy(&args.policy)?.ok_or_else(|| {
        Error::Usage("check needs --policy NAME or --require/--forbid LIST".into())
    })?;
    let report = load::load(&args.scan)?;
    let out = config::output_config(&args.output);
    let c = policy::check(&report, &policy);
    emit_with(&out, |w, format, color| match format {
        // The metrics of the scan with those of its check, for a textfile collector.
        output::Format::Prometheus => output::write_prometheus(
            &output::Exposition {
                report: &report,
                probe: None,
                check: Some(&c),
            },
            w,
        ),
        _ => output::write_check(&c, format, color, w),
    })?;
    Ok(check_exit(&c))
}

pub(crate) fn check_exit(c: &policy::CheckReport) -> Exit {
    match c.result {
        policy::Compliance::Pass => Exit::Ok,
        policy::Compliance::Fail => Exit::Fail,
        policy::Compliance::Inconclusive => Exit::Undecided,
    }
}

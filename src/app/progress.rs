//! The progress bar on standard error.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::Endpoint;
use crate::scan::ScanObserver;

/// Endpoints done out of the total, with an estimate of the time left. Hidden when standard
/// error is not a terminal (indicatif checks) or when asked to be quiet.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    pub fn new(quiet: bool) -> Self {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} probing [{bar:30}] {pos}/{len} endpoints, {elapsed} elapsed, ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Bar { bar }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl ScanObserver for Bar {
    fn started(&self, endpoints: usize) {
        self.bar.set_length(endpoints as u64);
        self.bar
            .enable_steady_tick(std::time::Duration::from_millis(120));
    }

    fn endpoint_done(&self, _endpoint: &Endpoint) {
        self.bar.inc(1);
    }
}

//! The progress bar on standard error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::Endpoint;
use crate::scan::{ProbeId, ScanObserver};

/// A probe waiting this long is named on the bar.
const SLOW: Duration = Duration::from_secs(2);

/// Probes done out of those planned, with an estimate of the time left from the probes' pace,
/// how many are in flight, and the one waited on longest once it is slow. Hidden when standard
/// error is not a terminal (indicatif checks) or when asked to be quiet.
pub struct Bar {
    bar: ProgressBar,
    in_flight: Arc<Mutex<HashMap<ProbeId, (String, Instant)>>>,
    endpoints: Arc<Mutex<(usize, usize)>>,
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
                "{spinner} [{bar:25}] {pos}/{len} probes, ETA {eta} {wide_msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Bar {
            bar,
            in_flight: Arc::default(),
            endpoints: Arc::default(),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn refresh(&self) {
        refresh(&self.bar, &self.in_flight, &self.endpoints);
    }
}

/// The bar's message: endpoints done, probes in flight, and the slowest of them.
fn message(
    in_flight: &HashMap<ProbeId, (String, Instant)>,
    (done, total): (usize, usize),
    now: Instant,
) -> String {
    let mut m = format!("({done}/{total} endpoints, {} in flight)", in_flight.len());
    if let Some((what, since)) = in_flight.values().min_by_key(|(_, since)| *since) {
        let waited = now.saturating_duration_since(*since);
        if waited >= SLOW {
            m.push_str(&format!("; waiting on {what}, {} s", waited.as_secs()));
        }
    }
    m
}

fn refresh(
    bar: &ProgressBar,
    in_flight: &Mutex<HashMap<ProbeId, (String, Instant)>>,
    endpoints: &Mutex<(usize, usize)>,
) {
    let counts = *endpoints.lock().expect("lock");
    let m = message(&in_flight.lock().expect("lock"), counts, Instant::now());
    bar.set_message(m);
}

impl ScanObserver for Bar {
    fn started(&self, endpoints: usize) {
        self.endpoints.lock().expect("lock").1 = endpoints;
        self.bar.enable_steady_tick(Duration::from_millis(120));
        // The slowest probe's wait grows between events: look again twice a second.
        let (bar, in_flight, counts) = (
            self.bar.clone(),
            self.in_flight.clone(),
            self.endpoints.clone(),
        );
        tokio::spawn(async move {
            while !bar.is_finished() {
                refresh(&bar, &in_flight, &counts);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }

    fn probes_planned(&self, probes: usize) {
        self.bar.set_length(probes as u64);
    }

    fn probe_started(&self, id: ProbeId, what: &str) {
        self.in_flight
            .lock()
            .expect("lock")
            .insert(id, (what.to_string(), Instant::now()));
        self.refresh();
    }

    fn probe_finished(&self, id: ProbeId) {
        self.in_flight.lock().expect("lock").remove(&id);
        self.bar.inc(1);
        self.refresh();
    }

    fn endpoint_done(&self, _endpoint: &Endpoint) {
        self.endpoints.lock().expect("lock").0 += 1;
        self.refresh();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::TlsVersion;

    #[test]
    fn the_slowest_probe_is_named_once_it_is_slow() {
        let now = Instant::now();
        let mut m = HashMap::new();
        m.insert(
            (0, Some(TlsVersion::Tls12)),
            ("10.0.0.5:636 TLS 1.2".to_string(), now),
        );
        assert_eq!(message(&m, (1, 3), now), "(1/3 endpoints, 1 in flight)");
        m.insert(
            (1, Some(TlsVersion::Tls10)),
            (
                "10.0.0.6:636 TLS 1.0".to_string(),
                now - Duration::from_secs(7),
            ),
        );
        assert_eq!(
            message(&m, (1, 3), now),
            "(1/3 endpoints, 2 in flight); waiting on 10.0.0.6:636 TLS 1.0, 7 s"
        );
    }
}

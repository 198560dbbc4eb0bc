//! The minimum interval between two scans of one target: the last result of each (module,
//! target) is kept, and a scrape inside the interval gets it; scrapes that arrive while a scan
//! of the same target runs wait for that scan instead of starting another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::report::Report;

/// A scan made for a scrape, as kept for later ones.
#[derive(Debug)]
pub struct ProbeResult {
    pub report: Report,
    /// How long the scan took.
    pub duration: Duration,
    /// When it finished.
    pub finished: Instant,
}

/// Module name and target as the scrape wrote it.
pub type Key = (String, String);

type Slot = watch::Receiver<Option<Arc<ProbeResult>>>;

enum Entry {
    Running(Slot),
    Done {
        result: Arc<ProbeResult>,
        min_interval: Duration,
    },
}

/// What a scrape should do.
pub enum Lookup {
    /// A result younger than the minimum interval.
    Fresh(Arc<ProbeResult>),
    /// A scan of the same target is running: wait for it.
    Running(Slot),
    /// Nothing usable: this scrape scans, and hands the result to [`Cache::finish`].
    Start(watch::Sender<Option<Arc<ProbeResult>>>, Slot),
}

#[derive(Default)]
pub struct Cache {
    entries: Mutex<HashMap<Key, Entry>>,
    /// Size after the last sweep of expired entries.
    swept_at: Mutex<usize>,
}

impl Cache {
    pub fn lookup(&self, key: &Key, min_interval: Duration) -> Lookup {
        let mut entries = self.entries.lock().expect("lock");
        match entries.get(key) {
            Some(Entry::Done {
                result,
                min_interval: _,
            }) if result.finished.elapsed() < min_interval => {
                return Lookup::Fresh(result.clone());
            }
            // A scan whose task is gone (it cannot send any more) is not waited for.
            Some(Entry::Running(slot)) if slot.has_changed().is_ok() => {
                return Lookup::Running(slot.clone());
            }
            _ => {}
        }
        let (tx, rx) = watch::channel(None);
        entries.insert(key.clone(), Entry::Running(rx.clone()));
        drop(entries);
        self.sweep_if_grown();
        Lookup::Start(tx, rx)
    }

    /// Keep the result of a finished scan and hand it to the scrapes waiting for it.
    pub fn finish(
        &self,
        key: Key,
        result: Arc<ProbeResult>,
        min_interval: Duration,
        tx: watch::Sender<Option<Arc<ProbeResult>>>,
    ) {
        {
            let mut entries = self.entries.lock().expect("lock");
            if min_interval.is_zero() {
                entries.remove(&key);
            } else {
                entries.insert(
                    key,
                    Entry::Done {
                        result: result.clone(),
                        min_interval,
                    },
                );
            }
        }
        let _ = tx.send(Some(result));
    }

    /// Forget the results of modules that `keep` rejects (a reload changed or removed them).
    pub fn retain_modules(&self, keep: impl Fn(&str) -> bool) {
        let mut entries = self.entries.lock().expect("lock");
        entries.retain(|(module, _), e| matches!(e, Entry::Running(_)) || keep(module));
    }

    /// Results and scans kept now.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop expired results whenever the map has doubled since the last sweep, so that it holds
    /// about as many entries as targets scraped within their interval.
    fn sweep_if_grown(&self) {
        let mut swept_at = self.swept_at.lock().expect("lock");
        let mut entries = self.entries.lock().expect("lock");
        if entries.len() < (*swept_at * 2).max(64) {
            return;
        }
        entries.retain(|_, e| match e {
            Entry::Running(slot) => slot.has_changed().is_ok(),
            Entry::Done {
                result,
                min_interval,
            } => result.finished.elapsed() < *min_interval,
        });
        *swept_at = entries.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result() -> Arc<ProbeResult> {
        let report: Report = serde_json::from_value(serde_json::json!({
            "schema_version": 1,
            "tool": {"name": "tlsmatrix", "version": "0"},
            "tls_library": "x",
            "label": null,
            "scanner": null,
            "started": "2026-01-01T00:00:00Z",
            "finished": "2026-01-01T00:00:00Z",
            "complete": true,
            "options": {"versions": [], "concurrency": 1, "per_host": 1, "connect_timeout_ms": 1,
                        "timeout_ms": 1, "retries": 0, "sni": null},
            "summary": {},
            "endpoints": []
        }))
        .unwrap();
        Arc::new(ProbeResult {
            report,
            duration: Duration::from_millis(1),
            finished: Instant::now(),
        })
    }

    fn key(t: &str) -> Key {
        ("m".into(), t.into())
    }

    #[test]
    fn a_scrape_inside_the_interval_gets_the_last_result_and_one_after_scans() {
        let c = Cache::default();
        let Lookup::Start(tx, _) = c.lookup(&key("a"), Duration::from_secs(60)) else {
            panic!("first scrape scans");
        };
        assert!(matches!(
            c.lookup(&key("a"), Duration::from_secs(60)),
            Lookup::Running(_)
        ));
        c.finish(key("a"), result(), Duration::from_secs(60), tx);
        assert!(matches!(
            c.lookup(&key("a"), Duration::from_secs(60)),
            Lookup::Fresh(_)
        ));
        assert!(matches!(
            c.lookup(&key("a"), Duration::ZERO),
            Lookup::Start(..)
        ));
    }

    #[test]
    fn a_scan_whose_task_died_is_not_waited_for() {
        let c = Cache::default();
        let Lookup::Start(tx, _) = c.lookup(&key("a"), Duration::from_secs(60)) else {
            panic!();
        };
        drop(tx);
        assert!(matches!(
            c.lookup(&key("a"), Duration::from_secs(60)),
            Lookup::Start(..)
        ));
    }

    #[test]
    fn expired_results_are_swept_as_the_map_grows() {
        let c = Cache::default();
        for i in 0..1000 {
            let k = key(&i.to_string());
            if let Lookup::Start(tx, _) = c.lookup(&k, Duration::ZERO) {
                c.finish(k, result(), Duration::from_nanos(1), tx);
            }
        }
        assert!(c.len() < 130, "{} entries kept", c.len());
    }
}

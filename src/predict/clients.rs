//! The clients to predict for: the offers of a capture (or of a saved clients report) and the
//! built-in profiles.
//!
//! Every distinct hello of a client address is one client, except the hellos it retried with
//! after a failure (fallbacks): they are listed under the hello they fell back from, which is
//! what the client sends first and what decides whether it works.

use super::live::Replayed;
use super::profiles::Profile;
use super::{Client, Fallback, Origin};
use crate::capture::ClientsReport;
use crate::capture::offers::{Hello, Offer, versions};
use crate::tls::clienthello::{ClientHello, from_hex, to_hex};

/// Clients from a capture's (or a saved clients report's) hellos and offers.
pub fn from_offers(hellos: &[Hello], offers: &[Offer]) -> Result<Vec<Replayed>, String> {
    let mut out = Vec::new();
    for o in offers.iter().filter(|o| o.fallback_of.is_none()) {
        let h = hellos
            .iter()
            .find(|h| h.id == o.hello)
            .ok_or_else(|| format!("client {}: no hello {} in the report", o.client, o.hello))?;
        let bytes = from_hex(&h.hello)
            .ok_or_else(|| format!("client {} ({}): its hello is not hex", o.client, h.ja4))?;
        let hello = ClientHello::parse(&bytes)
            .map_err(|e| format!("client {} ({}): its hello: {e:?}", o.client, h.ja4))?;
        let fallbacks = offers
            .iter()
            .filter(|f| f.client == o.client && f.fallback_of == Some(o.hello))
            .map(|f| Fallback {
                ja4: f.ja4.clone(),
                highest: f.highest.clone(),
            })
            .collect();
        out.push(Replayed {
            client: Client {
                name: o.client.to_string(),
                origin: Origin::Observed {
                    address: o.client,
                    sni: o.sni.clone(),
                    connections: o.connections,
                    fallbacks,
                    fallback_only: o.fallback_scsv,
                },
                ja4: h.ja4.clone(),
                ja3: h.ja3.clone(),
                versions: h.versions.clone(),
                suites: hello.suites.len(),
                enable_tls12: None,
                hello: h.hello.clone(),
            },
            hello,
            profile: false,
        });
    }
    Ok(out)
}

/// Clients from built-in profiles.
pub fn from_profiles(profiles: &[Profile]) -> Vec<Replayed> {
    profiles
        .iter()
        .map(|p| Replayed {
            client: Client {
                name: p.name.clone(),
                origin: Origin::Profile {
                    name: p.name.clone(),
                    title: p.title.clone(),
                    source: p.source.clone(),
                },
                ja4: p.hello.ja4(),
                ja3: p.hello.ja3(),
                versions: versions(&p.hello),
                suites: p.hello.suites.len(),
                enable_tls12: p.enable_tls12.clone(),
                hello: to_hex(&p.hello.encode()),
            },
            hello: p.hello.clone(),
            profile: true,
        })
        .collect()
}

/// What one `--clients` file gave.
pub struct Loaded {
    pub hellos: Vec<Hello>,
    pub offers: Vec<Offer>,
    pub own_probes: u64,
    /// Why the file could not be read (to its end), if it could not.
    pub error: Option<String>,
}

/// Read a `--clients` file: a saved clients report (JSON) or a capture.
pub fn load(path: &str, ports: &[u16]) -> Loaded {
    let failed = |error: String| Loaded {
        hellos: Vec::new(),
        offers: Vec::new(),
        own_probes: 0,
        error: Some(error),
    };
    let head = match std::fs::File::open(path).and_then(|mut f| {
        let mut b = [0u8; 64];
        let n = std::io::Read::read(&mut f, &mut b)?;
        Ok(b[..n].to_vec())
    }) {
        Ok(h) => h,
        Err(e) => return failed(e.to_string()),
    };
    let report: ClientsReport = if head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        let bytes = match crate::input::read_limited(
            path,
            crate::input::MAX_REPORT_FILE,
            "a clients report",
        ) {
            Ok(b) => b,
            Err(e) => return failed(e.to_string()),
        };
        match serde_json::from_slice::<ClientsReport>(&bytes) {
            Ok(r) if r.schema_version < 2 => {
                return failed(
                    "a clients report of schema 1 holds no ClientHellos: run tlsmatrix clients \
                     on the capture again"
                        .into(),
                );
            }
            Ok(r) => r,
            Err(e) => return failed(format!("not a clients report: {e}")),
        }
    } else {
        crate::capture::analyze(&[path.to_string()], ports.to_vec())
    };
    let error = report.files.iter().find_map(|f| f.error.clone());
    Loaded {
        hellos: report.hellos,
        offers: report.offers,
        own_probes: report.own_probes,
        error,
    }
}

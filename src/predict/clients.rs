//! The clients to predict for: the offers of a capture (or of a saved clients report) and the
//! built-in profiles.
//!
//! Every distinct hello of a client address is one client, except the hellos it retried with
//! after a failure (fallbacks): they are listed under the hello they fell back from, which is
//! what the client sends first and what decides whether it works.

use super::live::Replayed;
use super::profiles::Profile;
use super::{Client, Fallback, Origin};
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

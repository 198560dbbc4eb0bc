//! Who will break: each client's own ClientHello against each endpoint, as the endpoint will be
//! once it accepts only TLS 1.2 and newer.
//!
//! Clients come from captures (every distinct hello a client sent, see `capture::offers`) and
//! from built-in profiles ([`profiles`]). For each client and endpoint the answer is one of
//! [`Prediction`]: it works (with the version and suite the client would get), it breaks (and
//! why, and what to change), or it is unknown (the endpoint could not be asked). Never a guess:
//!
//! - **live** ([`live`]): the client's hello is replayed to the endpoint, through its StartTLS
//!   or RDP prelude, with the versions below TLS 1.2 removed (or as it is, with `--as-is`, to
//!   verify the clients after the switch), and the server's answer decides. When the server
//!   says no, the hello is sent again with more suites, then more groups, then more signature
//!   algorithms (and their pairs): the first change the server accepts names what the client
//!   lacks and what the server would choose instead;
//! - **computed**: a client that offers nothing from TLS 1.2 up breaks whatever the endpoint
//!   does, and is said to without a connection; offline ([`offline`]), every cell is computed
//!   from what a saved `scan --suites` says the endpoint accepts.

pub mod clients;
pub mod live;
pub mod offline;
pub mod profiles;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::report::{InputError, Protocol};

/// Version of the prediction document's layout.
pub const SCHEMA_VERSION: u32 = 1;

/// What the prediction assumes of the endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Before the switch: the clients' versions below TLS 1.2 are removed, as a TLS 1.2-only
    /// endpoint would leave them unused.
    Tls12Only,
    /// After the switch: the clients' hellos as they are, against the endpoints as they are.
    AsIs,
}

/// Where a client's hello comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// Seen in a capture.
    Observed {
        address: IpAddr,
        /// Server names it sent.
        sni: Vec<String>,
        connections: u64,
        /// The lower-version hellos it retried with after a failure (their JA4 and highest
        /// version): used only when this hello fails.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fallbacks: Vec<Fallback>,
        /// This hello itself is a retry after a failure (TLS_FALLBACK_SCSV) whose first
        /// attempt was not in the capture.
        #[serde(default)]
        fallback_only: bool,
    },
    /// A built-in profile.
    Profile {
        name: String,
        title: String,
        /// Where the profile's hello comes from.
        source: String,
    },
}

/// A retry with a lower version, seen after a failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fallback {
    pub ja4: String,
    pub highest: String,
}

/// One client: a hello and where it comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// How the matrix names it: the address, or the profile's name.
    pub name: String,
    pub origin: Origin,
    pub ja4: String,
    pub ja3: String,
    /// The versions offered, newest first.
    pub versions: Vec<String>,
    pub suites: usize,
    /// What to change when the client lacks TLS 1.2 (a profile may say it precisely).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_tls12: Option<String>,
    /// The hello, as hex (the handshake message): what is replayed.
    pub hello: String,
}

/// One endpoint: an address of a target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The target as written.
    pub target: String,
    pub host: String,
    pub address: Option<IpAddr>,
    pub port: u16,
    pub protocol: Protocol,
    /// The server name sent in replays (the client's own when the endpoint has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Why it could not be asked at all (a name that does not resolve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<String>,
}

/// Why a client breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The client offers nothing from TLS 1.2 up.
    NoTls12,
    NoSharedSuite,
    NoSharedGroup,
    NoSharedSignatureAlgorithm,
    /// The server refused for another reason (see the alert and the detail).
    Other,
}

impl Reason {
    pub fn key(self) -> &'static str {
        match self {
            Reason::NoTls12 => "no_tls12",
            Reason::NoSharedSuite => "no_shared_suite",
            Reason::NoSharedGroup => "no_shared_group",
            Reason::NoSharedSignatureAlgorithm => "no_shared_signature_algorithm",
            Reason::Other => "other",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Reason::NoTls12 => "no TLS 1.2",
            Reason::NoSharedSuite => "no shared suite",
            Reason::NoSharedGroup => "no shared group",
            Reason::NoSharedSignatureAlgorithm => "no shared signature algorithm",
            Reason::Other => "other",
        }
    }
}

/// What happens to one client on one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Prediction {
    Works {
        version: String,
        suite: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    Breaks {
        /// What the client lacks; more than one when only changing all of them together
        /// makes the server answer.
        reasons: Vec<Reason>,
        /// The alert the server sent, if it sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alert: Option<u8>,
        detail: String,
        /// What to change on the client.
        change: String,
    },
    Unknown {
        detail: String,
    },
}

impl Prediction {
    pub fn key(&self) -> &'static str {
        match self {
            Prediction::Works { .. } => "works",
            Prediction::Breaks { .. } => "breaks",
            Prediction::Unknown { .. } => "unknown",
        }
    }

    /// `works (TLS 1.3)`, `breaks: no shared suite`, `unknown`.
    pub fn short(&self) -> String {
        match self {
            Prediction::Works { version, .. } => format!("works ({version})"),
            Prediction::Breaks { reasons, .. } => format!(
                "breaks: {}",
                reasons
                    .iter()
                    .map(|r| r.text())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Prediction::Unknown { .. } => "unknown".into(),
        }
    }

    pub fn breaks(&self) -> bool {
        matches!(self, Prediction::Breaks { .. })
    }
}

/// How a cell was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The hello was sent to the endpoint and its answer read.
    Live,
    /// Decided without a connection (from what the client offers, or from a saved scan).
    Computed,
}

/// One client on one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub client: usize,
    pub endpoint: usize,
    pub method: Method,
    #[serde(flatten)]
    pub prediction: Prediction,
}

/// The prediction document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictReport {
    pub schema_version: u32,
    pub mode: Mode,
    pub clients: Vec<Client>,
    pub endpoints: Vec<Endpoint>,
    /// Every client on every endpoint, by client then endpoint.
    pub cells: Vec<Cell>,
    /// Inputs that could not be used (a target line, a capture file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_errors: Vec<InputError>,
    /// Connections in the captures that were tlsmatrix's own probes, left out.
    #[serde(default)]
    pub own_probes: u64,
    /// Offline: the saved scan the cells were computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<String>,
    /// False when the run was interrupted.
    pub complete: bool,
}

/// A client that breaks, with its cells that break.
pub struct Breaking<'a> {
    pub client: &'a Client,
    pub cells: Vec<&'a Cell>,
}

impl PredictReport {
    pub fn cell(&self, client: usize, endpoint: usize) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.client == client && c.endpoint == endpoint)
    }

    /// The clients that break on at least one endpoint, in order.
    pub fn breaking(&self) -> Vec<Breaking<'_>> {
        self.clients
            .iter()
            .enumerate()
            .filter_map(|(i, client)| {
                let cells: Vec<&Cell> = self
                    .cells
                    .iter()
                    .filter(|c| c.client == i && c.prediction.breaks())
                    .collect();
                (!cells.is_empty()).then_some(Breaking { client, cells })
            })
            .collect()
    }

    pub fn unknown(&self) -> usize {
        self.cells
            .iter()
            .filter(|c| matches!(c.prediction, Prediction::Unknown { .. }))
            .count()
    }
}

/// The endpoints of the targets: one per address (a name that does not resolve is one endpoint
/// that cannot be asked).
pub async fn endpoints(
    targets: &[crate::target::Target],
    overrides: &crate::target::ResolveOverrides,
    sni: Option<&str>,
    limit: std::time::Duration,
) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for t in targets {
        let name = sni
            .map(str::to_string)
            .or_else(|| t.default_sni().map(str::to_string));
        let base = |address, unresolved| Endpoint {
            target: t.input.clone(),
            host: t.host.to_string(),
            address,
            port: t.port,
            protocol: t.protocol,
            sni: name.clone(),
            unresolved,
        };
        match crate::target::resolve(t, overrides, limit).await {
            Ok(addrs) => out.extend(addrs.into_iter().map(|a| base(Some(a), None))),
            Err(why) => out.push(base(None, Some(why))),
        }
    }
    out
}

/// The endpoints of a saved scan, as the prediction names them.
pub fn saved_endpoints(r: &crate::report::Report) -> Vec<Endpoint> {
    r.endpoints
        .iter()
        .map(|e| Endpoint {
            target: e.target.clone(),
            host: e.host.clone(),
            address: e.address,
            port: e.port,
            protocol: e.protocol,
            sni: e.sni.clone(),
            unresolved: e.address.is_none().then(|| e.verdict_detail.clone()),
        })
        .collect()
}

/// Every client on every endpoint of a saved scan, computed (see [`offline`]).
pub fn computed(mode: Mode, clients: &[live::Replayed], scan: &crate::report::Report) -> Vec<Cell> {
    let accepts: Vec<offline::Accepts> = scan.endpoints.iter().map(offline::accepts).collect();
    let mut cells = Vec::with_capacity(clients.len() * accepts.len());
    for (ci, c) in clients.iter().enumerate() {
        for (ei, (a, e)) in accepts.iter().zip(&scan.endpoints).enumerate() {
            let prediction = if e.address.is_none() {
                Prediction::Unknown {
                    detail: format!("in the saved scan: {}", e.verdict_detail),
                }
            } else {
                offline::compute(
                    &c.hello,
                    a,
                    &offline::Compute {
                        mode,
                        enable_tls12: c.client.enable_tls12.as_deref(),
                    },
                )
            };
            cells.push(Cell {
                client: ci,
                endpoint: ei,
                method: Method::Computed,
                prediction,
            });
        }
    }
    cells
}

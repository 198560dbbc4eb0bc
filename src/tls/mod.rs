//! Pure bytes: protocol versions, alerts, ClientHello building and the reading of TLS records.
//! Nothing here opens a socket or decides an outcome.

pub mod alert;
pub mod answer;
pub mod clienthello;
pub mod hello;
pub mod names;
pub mod record;
pub mod replay;
pub mod version;

pub use alert::alert_name;
pub use version::TlsVersion;

//! Pure bytes: protocol versions, alerts, ClientHello building, the reading of TLS records, and
//! the facts about cipher suites, groups and signature algorithms (with the suites'
//! classification). Nothing here opens a socket or decides an outcome.

pub mod alert;
pub mod answer;
pub mod clienthello;
pub mod hello;
pub mod names;
pub mod record;
pub mod replay;
pub mod suites;
pub mod version;

pub use alert::alert_name;
pub use version::TlsVersion;

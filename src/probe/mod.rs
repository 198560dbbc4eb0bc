//! One endpoint, one version: connect, the StartTLS or RDP prelude, a handshake by the OpenSSL
//! engine or the wire engine (or both, combined), and the classification of what came back.

pub mod classify;
pub mod combine;
pub mod connect;
pub mod contexts;
pub mod ldap;
pub mod openssl;
pub mod prelude;
pub mod suites;
pub mod tap;
pub mod wire;

pub use combine::probe_cell;
pub use connect::{
    ConnectGate, Endpoint, Limits, Opened, Permits, ProbeResult, Slots, open,
    rdp_standard_security, show_duration,
};

//! The integration tests, one binary made of modules. Every server is real TLS on loopback.

mod util;

mod before_after;
mod bounds;
mod certs;
mod cli;
mod clients;
mod discovery;
mod hellos;
mod hostile;
mod interop;
mod keys;
mod ldap;
mod matrix;
mod offered;
mod s_server;
mod slapd;
mod suites;
mod wire;

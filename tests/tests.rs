//! The integration tests, one binary made of modules. Every server is real TLS on loopback.

mod util;

mod before_after;
mod bounds;
mod certs;
mod cli;
mod clients;
mod connections;
mod discovery;
mod escaping;
mod files;
mod fuzz;
mod hellos;
mod hostile;
mod html;
mod interop;
mod keys;
mod ldap;
mod matrix;
mod offered;
mod predict;
mod prometheus;
mod s_server;
mod serve;
mod slapd;
mod suites;
mod wire;

//! tlsmatrix: which TLS versions do your endpoints accept?
//!
//! The library behind the `tlsmatrix` command. Data flows one way: arguments are validated into
//! a job ([`config`]); targets ([`target`]) are resolved and probed once per forced version
//! ([`probe`], fanned out by [`scan`]); each probe gives a [`report::Cell`], and [`analysis`]
//! decides what the cells prove (verdicts, comparisons, policies); renderers in [`output`] write
//! the documents, and [`app`] runs the commands.
//!
//! ```no_run
//! # async fn f() {
//! use tlsmatrix::{scan, target};
//! let targets = vec![target::parse_target("ldaps://dc1.example.com").unwrap()];
//! let config = scan::ScanConfig::default();
//! let report = scan::scan(&config, targets, vec![], Default::default(), &scan::Silent).await;
//! for e in &report.endpoints {
//!     println!("{} {:?} {:?}", e.target, e.address, e.verdict);
//! }
//! # }
//! ```

pub mod analysis;
pub mod app;
pub mod capture;
pub mod cert;
pub mod cli;
pub mod config;
pub mod discover;
pub mod error;
pub mod input;
#[cfg(feature = "lab")]
pub mod lab;
pub mod output;
pub mod predict;
pub mod probe;
pub mod report;
pub mod scan;
pub mod serve;
pub mod target;
pub mod tls;

pub use app::{cancel_on_ctrl_c, run};

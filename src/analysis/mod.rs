//! Pure functions over reports: what a cell proves, the verdict of an endpoint, the comparison
//! of two scans, policy checks and the merging of vantage points.

pub mod certs;
pub mod diff;
pub mod merge;
pub mod policy;
pub mod verdict;

//! Every hand-written key (`key()`, `Display`) must be the name serde writes and reads, or the
//! table, CSV and JSON would name one thing two ways.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tlsmatrix::analysis::diff::{EndpointResult, Transition};
use tlsmatrix::analysis::policy::Compliance;
use tlsmatrix::capture::ClientVerdict;
use tlsmatrix::discover::Role;
use tlsmatrix::report::{
    Engine, Protocol, RdpStandardSecurity, Status, SuiteOrder, TlsVersion, Verdict,
};
use tlsmatrix::tls::suites::{Flaw, SuiteClass};

fn same<T>(values: &[T], key: impl Fn(&T) -> String)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let mut seen = std::collections::HashSet::new();
    for v in values {
        let json = serde_json::to_value(v).unwrap();
        assert_eq!(json, serde_json::Value::String(key(v)), "{v:?}");
        let back: T = serde_json::from_value(json).unwrap();
        assert_eq!(&back, v);
        assert!(seen.insert(key(v)), "{v:?}: key used twice");
    }
}

#[test]
fn every_key_table_matches_its_serde_name() {
    same(&TlsVersion::ALL, |v| v.key().into());
    same(&Verdict::ALL, |v| v.key().into());
    use Status::*;
    same(
        &[
            Accepted,
            Refused,
            Unreachable,
            Timeout,
            NotTestable,
            Error,
            Interrupted,
        ],
        |v| v.key().into(),
    );
    use Protocol::*;
    same(&[Tls, Ldaps, LdapStarttls, Rdp], |v| v.key().into());
    same(&[Engine::Openssl, Engine::Wire, Engine::Both], |v| {
        v.key().into()
    });
    use RdpStandardSecurity as S;
    same(&[S::Allowed, S::Refused, S::Unknown], |v| v.key().into());
    use Transition as T;
    same(
        &[
            T::Regression,
            T::StillAccepted,
            T::NewlyAccepted,
            T::Inconclusive,
            T::Enforced,
            T::Unchanged,
            T::NotTestable,
        ],
        |v| v.key().into(),
    );
    use EndpointResult as R;
    same(
        &[
            R::Regression,
            R::StillAccepted,
            R::Inconclusive,
            R::Removed,
            R::Added,
            R::Enforced,
            R::Improved,
            R::Unchanged,
        ],
        |v| v.key().into(),
    );
    same(
        &[Compliance::Fail, Compliance::Inconclusive, Compliance::Pass],
        |v| v.to_string(),
    );
    same(
        &[
            ClientVerdict::Breaks,
            ClientVerdict::OkButNegotiatedLegacy,
            ClientVerdict::Ok,
        ],
        |v| v.key().into(),
    );
    use Role::*;
    same(&[Dc, Gc, Kdc, Site, DomainAddress], |v| v.key().into());
    same(&SuiteClass::ALL, |v| v.key().into());
    same(&SuiteClass::ALL, |v| v.to_string());
    same(&Flaw::ALL, |v| v.key().into());
    same(
        &[SuiteOrder::Server, SuiteOrder::Client, SuiteOrder::Unknown],
        |v| v.key().into(),
    );
    use tlsmatrix::cert::Severity as V;
    same(&[V::Error, V::Warning, V::Info], |v| v.key().into());
}

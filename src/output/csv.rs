use std::io::{self, Write};

use super::{certs, suites};
use crate::report::{Outcome, Refusal, Report};

/// One row per endpoint and version.
pub fn write_csv(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut out = ::csv::Writer::from_writer(w);
    out.write_record([
        "target",
        "host",
        "address",
        "port",
        "protocol",
        "sni",
        "version",
        "status",
        "how",
        "detail",
        "cipher",
        "elapsed_ms",
        "verdict",
        certs::CSV_HEADER[0],
        certs::CSV_HEADER[1],
        certs::CSV_HEADER[2],
        certs::CSV_HEADER[3],
        certs::CSV_HEADER[4],
        certs::CSV_HEADER[5],
        certs::CSV_HEADER[6],
        suites::CSV_HEADER[0],
        suites::CSV_HEADER[1],
        suites::CSV_HEADER[2],
        suites::CSV_HEADER[3],
        suites::CSV_HEADER[4],
        suites::CSV_HEADER[5],
    ])?;
    for e in &report.endpoints {
        let address = e.address.map(|a| a.to_string()).unwrap_or_default();
        let port = e.port.to_string();
        for (v, c) in &e.versions {
            let how = match &c.outcome {
                Outcome::Refused(r) => match r {
                    Refusal::Alert { code } => format!("alert:{code}"),
                    Refusal::Reset => "reset".into(),
                    Refusal::Closed => "closed".into(),
                    Refusal::OtherVersion { .. } => "other_version".into(),
                    Refusal::NotTls { .. } => "not_tls".into(),
                },
                Outcome::Timeout { phase, .. } => format!("{phase:?}").to_ascii_lowercase(),
                _ => String::new(),
            };
            let cipher = match &c.outcome {
                Outcome::Accepted { cipher, .. } => cipher.clone().unwrap_or_default(),
                _ => String::new(),
            };
            let [c0, c1, c2, c3, c4, c5, c6] = certs::csv_fields(e, *v);
            let [s0, s1, s2, s3, s4, s5] = suites::csv_fields(e, *v);
            out.write_record([
                e.target.as_str(),
                e.host.as_str(),
                address.as_str(),
                port.as_str(),
                e.protocol.key(),
                e.sni.as_deref().unwrap_or(""),
                v.key(),
                c.status().key(),
                how.as_str(),
                c.outcome.detail().as_str(),
                cipher.as_str(),
                c.elapsed_ms.to_string().as_str(),
                e.verdict.key(),
                &c0,
                &c1,
                &c2,
                &c3,
                &c4,
                &c5,
                &c6,
                &s0,
                &s1,
                &s2,
                &s3,
                &s4,
                &s5,
            ])?;
        }
    }
    out.flush()
}

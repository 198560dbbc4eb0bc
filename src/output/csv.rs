use std::io::{self, Write};

use super::escape;
use super::{certs, suites};
use crate::report::{Outcome, Refusal, Report};

/// Every CSV the tool writes goes through here: each field is quoted, its control characters
/// escaped, and a field a spreadsheet would read as a formula neutralised (OWASP's guidance on
/// CSV injection), whoever wrote the text.
pub struct CsvOut<'a> {
    out: ::csv::Writer<&'a mut dyn Write>,
}

impl<'a> CsvOut<'a> {
    pub fn new(w: &'a mut dyn Write) -> Self {
        CsvOut {
            out: ::csv::WriterBuilder::new()
                .quote_style(::csv::QuoteStyle::Always)
                .from_writer(w),
        }
    }

    pub fn row<S: AsRef<str>>(&mut self, fields: impl IntoIterator<Item = S>) -> io::Result<()> {
        let fields: Vec<String> = fields
            .into_iter()
            .map(|f| escape::csv(f.as_ref()).into_owned())
            .collect();
        self.out.write_record(&fields)?;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// One row per endpoint and version.
pub fn write_csv(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut out = CsvOut::new(w);
    out.row([
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
            out.row([
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
    out.finish()
}

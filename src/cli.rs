//! The command line: clap types only. `config` turns them into validated settings.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::tls::TlsVersion;

#[derive(Debug, Parser)]
#[command(
    name = "tlsmatrix",
    version,
    propagate_version = true,
    about = "Which TLS versions do your endpoints accept? Force each version, get the matrix.",
    long_about = "Probes endpoints (LDAP with StartTLS, LDAPS, Global Catalog, RDP, HTTPS, any TLS \
port) with one protocol version at a time (SSLv3, TLS 1.0, 1.1, 1.2, 1.3) and reports, per \
endpoint and version, whether the server accepted it, how it refused, or why it could not be \
tested; then a verdict per endpoint for a move to TLS 1.2-only. Compares scans before and after \
the change, checks them against a policy, finds domain controllers in DNS, and reads packet \
captures to find the clients that still use old versions."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe endpoints with each TLS version and print the matrix.
    Scan(Box<ScanArgs>),
    /// Find the domain controllers of an Active Directory domain through DNS SRV records.
    Discover(DiscoverArgs),
    /// Compare two saved scans: one transition per endpoint and version.
    Diff(DiffArgs),
    /// Check a saved scan against a policy (tls12-only, tls12-plus, tls13-only, or custom).
    Check(CheckArgs),
    /// Merge scans of the same estate made from several vantage points.
    Merge(MergeArgs),
    /// Which clients use which TLS versions, read from packet captures (pcap, pcapng, gzip).
    Clients(ClientsArgs),
    /// Who will break: replay each client's own ClientHello (from captures or built-in
    /// profiles) to each endpoint as it will be once it accepts only TLS 1.2 and newer.
    Predict(Box<PredictArgs>),
    /// Run as a Prometheus exporter: /probe?target=TARGET&module=NAME scans a target and
    /// answers with the matrix as metrics; /metrics has the exporter's own.
    Serve(ServeArgs),
    /// Start a local lab of TLS servers that behave like domain controllers before and after
    /// "TLS 1.2 only", scan it, and print both matrices.
    #[cfg(feature = "lab")]
    Demo(DemoArgs),
    /// Print a completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff); e.g. `tlsmatrix man > /usr/local/share/man/man1/tlsmatrix.1`.
    Man,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// The Active Directory domain (e.g. corp.example.com).
    #[arg(value_name = "DOMAIN")]
    pub domain: String,
    #[command(flatten)]
    pub dns: DnsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct DnsArgs {
    /// Also ask for the DCs of this site (_ldap._tcp.SITE._sites.dc._msdcs.DOMAIN).
    #[arg(long, value_name = "SITE")]
    pub site: Option<String>,
    /// DNS server to ask, ADDR or ADDR:PORT (usually a DC) [default: the system's].
    #[arg(long, env = "TLSMATRIX_DNS_SERVER", value_name = "ADDR[:PORT]", value_parser = parse_dns_server)]
    pub dns_server: Option<std::net::SocketAddr>,
    /// Limit of each DNS query (at most 1h).
    #[arg(long, default_value = "3s", value_parser = parse_duration, value_name = "DURATION")]
    pub dns_timeout: Duration,
    /// Also scan RDP (3389) on each DC found.
    #[arg(long)]
    pub with_rdp: bool,
}

fn parse_dns_server(s: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(a) = s.parse::<std::net::SocketAddr>() {
        return Ok(a);
    }
    match s
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    {
        Ok(ip) => Ok(std::net::SocketAddr::new(ip, 53)),
        Err(_) => Err(format!(
            "invalid DNS server '{s}' (expected ADDR or ADDR:PORT)"
        )),
    }
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The scan made before the change.
    #[arg(value_name = "BEFORE")]
    pub before: String,
    /// The scan made after it.
    #[arg(value_name = "AFTER")]
    pub after: String,
    /// Pass even when some cells could not be decided (never hides a regression).
    #[arg(long)]
    pub allow_inconclusive: bool,
    #[command(flatten)]
    pub exceptions: ExceptionsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A saved scan ('-' for standard input).
    #[arg(value_name = "SCAN")]
    pub scan: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub exceptions: ExceptionsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ClientsArgs {
    /// Capture files: pcap or pcapng, gzip-compressed or not.
    #[arg(value_name = "CAPTURE", required = true)]
    pub captures: Vec<String>,
    /// Only connections to these server ports (e.g. 636,3269,389,3268) [default: every port].
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_port)]
    pub ports: Vec<u16>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
#[command(
    long_about = "Who will break once the endpoints accept only TLS 1.2 and newer, and why. \
Each client's own ClientHello (every distinct hello seen in a capture, or a built-in profile) \
is sent to each endpoint, through its StartTLS or RDP prelude, with the versions below TLS 1.2 \
removed; the server's answer says whether it works (version and suite) or breaks (no TLS 1.2, \
no shared suite, group or signature algorithm, or another refusal, and what to change on the \
client). After the switch, --as-is replays the hellos unchanged to verify the clients. Exit \
status: 0 no client breaks, 1 some break, 2 bad input, 3 some cells unknown."
)]
pub struct PredictArgs {
    /// Endpoints, as for scan: HOST, HOST:PORT, or URLs ldap://HOST, ldaps://HOST, gc://HOST,
    /// gcs://HOST, rdp://HOST, https://HOST, tls://HOST:PORT.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// The five services of a domain controller: ldap, ldaps, gc, gcs and rdp.
    #[arg(long, value_name = "HOST")]
    pub dc: Vec<String>,

    /// The domain controllers of DOMAIN, found through DNS.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,

    #[command(flatten)]
    pub dns: DnsArgs,

    /// Read endpoints from FILE, one a line; '-' reads standard input.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<String>,

    /// What to speak before TLS on targets written without a scheme [default: by port].
    #[arg(long, value_enum, value_name = "MODE")]
    pub starttls: Option<StartTlsArg>,

    /// Clients: a capture (pcap or pcapng, gzip-compressed or not) or a saved clients report
    /// (JSON from `tlsmatrix clients`); every distinct ClientHello of each client is one
    /// client. Repeatable.
    #[arg(long = "clients", value_name = "FILE")]
    pub clients: Vec<String>,

    /// With --clients: only connections to these server ports in the captures.
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_port)]
    pub ports: Vec<u16>,

    /// Built-in client profiles, comma-separated, or `all`; `--profiles list` lists them with
    /// their sources.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub profiles: Vec<String>,

    /// Replay the hellos as they are (no versions removed): after the switch, verify the
    /// clients against the endpoints as they are.
    #[arg(long)]
    pub as_is: bool,

    /// Offline: the endpoints of a saved scan (JSON, made with `scan --suites`), each cell
    /// computed from what it accepts, without a connection.
    #[arg(long, value_name = "SCAN", conflicts_with_all = ["targets", "dc", "domain", "files"])]
    pub scan: Option<String>,

    /// Replays in flight at once, over all endpoints.
    #[arg(long, env = "TLSMATRIX_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// Replays in flight at once against one address.
    #[arg(long, env = "TLSMATRIX_PER_HOST", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub per_host: u32,

    /// Limit of each TCP connect attempt [default: 5s, or --timeout if that is shorter].
    #[arg(long, env = "TLSMATRIX_CONNECT_TIMEOUT", value_parser = parse_duration, value_name = "DURATION")]
    pub connect_timeout: Option<Duration>,

    /// Limit of one replay: connect, prelude and the server's answer.
    #[arg(long, env = "TLSMATRIX_TIMEOUT", default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// Server name to send instead of each target's host name.
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,

    /// Use these addresses for HOST:PORT instead of DNS (PORT may be '*'), as curl does.
    #[arg(long, value_name = "HOST:PORT:ADDR[,ADDR...]")]
    pub resolve: Vec<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Scans to merge (two or more).
    #[arg(value_name = "SCAN", num_args = 2.., required = true)]
    pub scans: Vec<String>,
    /// A name for the merged report.
    #[arg(long)]
    pub label: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// A named policy.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub policy: Option<PolicyArg>,
    /// Versions that must work (a custom policy), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_version)]
    pub require: Vec<TlsVersion>,
    /// Versions that must be refused (a custom policy), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "LIST", value_parser = parse_version)]
    pub forbid: Vec<TlsVersion>,
    /// Fail an endpoint that accepts a forbidden cipher suite with any version it accepts:
    /// `insecure` (NULL, anonymous, export, RC4, DES, 3DES), `weak` (weak and insecure: also
    /// CBC with SHA-1, RSA key exchange, no forward secrecy), or suites by IANA or OpenSSL name
    /// or code point, comma-separated. Needs a scan made with --suites.
    #[arg(long, value_name = "insecure|weak|LIST")]
    pub forbid_suites: Option<String>,
    /// Fail an endpoint whose certificate (or an intermediate sent) has fewer than N days left,
    /// counted from now.
    #[arg(long, value_name = "N")]
    pub cert_min_days: Option<u32>,
    /// Fail an endpoint whose certificate is not trusted (by the scan's trust store, with a
    /// complete chain); a self-signed RDP certificate fails too.
    #[arg(long)]
    pub cert_trusted: bool,
    /// Fail an endpoint whose certificate does not cover the names clients use (the name
    /// scanned, the directory's dnsHostName).
    #[arg(long)]
    pub cert_name: bool,
    /// Fail an endpoint whose certificate does not cover NAME (e.g. '*.corp.example.com', the
    /// wildcard Entra Domain Services requires). Repeatable.
    #[arg(long, value_name = "NAME")]
    pub cert_require_name: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// TLS 1.2 works; SSLv3, TLS 1.0 and 1.1 refused.
    #[value(name = "tls12-only")]
    Tls12Only,
    /// TLS 1.2 or 1.3 works; nothing older accepted.
    #[value(name = "tls12-plus")]
    Tls12Plus,
    /// TLS 1.3 works; everything older refused.
    #[value(name = "tls13-only")]
    Tls13Only,
    /// tls12-only, and a certificate with 30 days left at least, trusted, covering its names.
    #[value(name = "tls12-only-certs")]
    Tls12OnlyCerts,
    /// tls12-only, and no weak or insecure cipher suite accepted (a scan made with --suites).
    #[value(name = "tls12-only-suites")]
    Tls12OnlySuites,
}

impl PolicyArg {
    pub fn name(self) -> &'static str {
        match self {
            PolicyArg::Tls12Only => "tls12-only",
            PolicyArg::Tls12Plus => "tls12-plus",
            PolicyArg::Tls13Only => "tls13-only",
            PolicyArg::Tls12OnlyCerts => "tls12-only-certs",
            PolicyArg::Tls12OnlySuites => "tls12-only-suites",
        }
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Targets: HOST, HOST:PORT, [IPV6]:PORT, or URLs ldap://HOST (389, StartTLS),
    /// ldaps://HOST (636), gc://HOST (3268, StartTLS), gcs://HOST (3269), rdp://HOST (3389),
    /// https://HOST (443), tls://HOST:PORT. A bare host means port 443.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Scan the five services of a domain controller: ldap, ldaps, gc, gcs and rdp.
    #[arg(long, value_name = "HOST")]
    pub dc: Vec<String>,

    /// Find the domain controllers of DOMAIN through DNS and scan their services.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,

    #[command(flatten)]
    pub dns: DnsArgs,

    /// What to speak before TLS on targets written without a scheme [default: by port: 389 and
    /// 3268 ldap, 3389 rdp, others none].
    #[arg(long, value_enum, value_name = "MODE")]
    pub starttls: Option<StartTlsArg>,

    /// Do not search the RootDSE over each accepted version on LDAP endpoints.
    #[arg(long)]
    pub no_ldap_check: bool,

    /// Report certificates expiring in fewer than N days as `expires_soon`.
    #[arg(
        long,
        env = "TLSMATRIX_CERT_WARN_DAYS",
        value_name = "N",
        default_value_t = 30
    )]
    pub cert_warn_days: u32,

    /// Also trust the CA certificates in this PEM file (an enterprise CA), besides the
    /// system store.
    #[arg(long, env = "TLSMATRIX_CA_FILE", value_name = "PEM")]
    pub ca_file: Option<PathBuf>,

    /// Also trust the CA certificates in the PEM files of this folder.
    #[arg(long, env = "TLSMATRIX_CA_DIR", value_name = "DIR")]
    pub ca_dir: Option<PathBuf>,

    /// Probe engines: OpenSSL handshakes, hand-written ClientHellos (any version, every
    /// registered suite), or both (each cell decided by both, the wire engine alone where
    /// OpenSSL cannot offer the version).
    #[arg(long, env = "TLSMATRIX_ENGINE", value_enum, default_value_t = EngineArg::Both)]
    pub engine: EngineArg,

    /// Read targets from FILE, one a line; '#' starts a comment; '-' reads standard input.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<String>,

    /// Also list the cipher suites each accepted version takes (with their class: insecure,
    /// weak, ok), the server's preference order, its key-exchange groups and TLS 1.2 signature
    /// algorithms; what testssl.sh -E, sslyze and nmap ssl-enum-ciphers list.
    #[arg(long, visible_alias = "ciphers")]
    pub suites: bool,

    /// Versions to probe, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        default_value = "ssl3,tls1.0,tls1.1,tls1.2,tls1.3",
        value_parser = parse_version
    )]
    pub versions: Vec<TlsVersion>,

    /// Connections in flight at once, over all endpoints (a probe with both engines holds two);
    /// a connect whose SYN gets no answer within 25 ms gives its place back while it waits
    /// (see --max-open).
    #[arg(long, env = "TLSMATRIX_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// Connections open at once at most, connects waiting for an answer included [default:
    /// the open-file limit less 64, at most 4096].
    #[arg(long, env = "TLSMATRIX_MAX_OPEN", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_open: Option<u32>,

    /// Probes in flight at once against one address.
    #[arg(long, env = "TLSMATRIX_PER_HOST", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub per_host: u32,

    /// Limit of each TCP connect attempt (e.g. 5s, 500ms; at most 1h) [default: 5s, or
    /// --timeout if that is shorter].
    #[arg(long, env = "TLSMATRIX_CONNECT_TIMEOUT", value_parser = parse_duration, value_name = "DURATION")]
    pub connect_timeout: Option<Duration>,

    /// Limit of a whole probe: connect attempts and handshake (at most 1h).
    #[arg(long, env = "TLSMATRIX_TIMEOUT", default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,

    /// Extra connect attempts after a connect-phase failure (never after a TLS answer).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,

    /// Server name to send in every ClientHello, instead of each target's host name.
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,

    /// Use these addresses for HOST:PORT instead of DNS (PORT may be '*'), as curl does.
    #[arg(long, value_name = "HOST:PORT:ADDR[,ADDR...]")]
    pub resolve: Vec<String>,

    /// A name for this scan, kept in the report (e.g. before, after).
    #[arg(long)]
    pub label: Option<String>,

    /// Compare this scan with a saved one and report the transitions (as `diff` does).
    #[arg(long, value_name = "SCAN")]
    pub baseline: Option<String>,

    /// With --baseline: pass even when some cells could not be decided (the verdict line names
    /// the endpoints that were not verified).
    #[arg(long)]
    pub allow_inconclusive: bool,

    #[command(flatten)]
    pub policy: PolicyArgs,

    #[command(flatten)]
    pub exceptions: ExceptionsArgs,

    /// Leave out endpoints whose target, host, address, HOST:PORT or ADDRESS:PORT matches
    /// PATTERN (`*` and `?` wildcards); they are listed as excluded in the report.
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ExceptionsArgs {
    /// Exceptions to the after-proof: one `PATTERN VERSIONS|all EXPIRES REASON` a line (see
    /// the README); what they cover is listed as excepted, and an expired one fails the run.
    #[arg(long, env = "TLSMATRIX_EXCEPTIONS", value_name = "FILE")]
    pub exceptions: Option<String>,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Report format [default: the table, on a terminal or in a pipe; with -o, from the file's
    /// extension: .json, .csv, .md, .txt, .html]
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// Write the report to FILE (atomically: a temporary file renamed into place).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The wide table: every cell's detail (`no: alert 70`), one line a row, however wide
    /// (the default table fits the terminal, a word a cell, reasons in the notes).
    #[arg(long, env = "TLSMATRIX_WIDE")]
    pub wide: bool,

    /// No progress bar and no notes on standard error.
    #[arg(short, long)]
    pub quiet: bool,

    /// When to colour the table.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (YAML): limits, and the modules a scrape names with module=NAME
    /// [default: one module, `default`, that scans as `tlsmatrix scan` does]. Read again on
    /// SIGHUP.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address and port to listen on (the loopback by default: open it to Prometheus on
    /// purpose, with --web-config for TLS and passwords).
    #[arg(long, default_value = "127.0.0.1:9636", value_name = "ADDR:PORT")]
    pub listen: std::net::SocketAddr,

    /// TLS and basic authentication for the exporter, in the format of Prometheus'
    /// exporter-toolkit web configuration (tls_server_config, basic_auth_users). Read again on
    /// SIGHUP.
    #[arg(long, value_name = "FILE")]
    pub web_config: Option<PathBuf>,

    /// Check the configuration files, say what they define, and exit (2 on a mistake).
    #[arg(long)]
    pub check_config: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Also save the two reports as before.json and after.json in this folder.
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,

    /// When to colour the tables.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,

    /// The wide tables: every cell's detail, however wide.
    #[arg(long)]
    pub wide: bool,

    /// Enumerate the cipher suites of each accepted version, as `scan --suites` does (the tables,
    /// the saved reports and report.html show them).
    #[arg(long)]
    pub suites: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Table,
    /// `discover` only: a targets file for `scan -f`.
    Targets,
    Json,
    Csv,
    #[value(alias = "markdown")]
    Md,
    /// One self-contained page (inline style, nothing loaded), for people and for print.
    Html,
    /// The Prometheus exposition format, for node_exporter's textfile collector (scan, check and
    /// merge; `-o FILE.prom` picks it too).
    #[value(alias = "prom")]
    Prometheus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EngineArg {
    Openssl,
    Wire,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StartTlsArg {
    None,
    Ldap,
    Rdp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

/// A port number, or the name of a service tlsmatrix knows (`ldaps` is 636).
fn parse_port(s: &str) -> Result<u16, String> {
    let known = [
        ("ldap", 389),
        ("ldaps", 636),
        ("gc", 3268),
        ("gcs", 3269),
        ("rdp", 3389),
        ("https", 443),
    ];
    let s = s.trim();
    if let Some((_, p)) = known.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok(*p);
    }
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!(
            "'{s}' is not a port (1 to 65535) or one of ldap, ldaps, gc, gcs, rdp, https"
        )),
    }
}

fn parse_version(s: &str) -> Result<TlsVersion, String> {
    s.parse()
}

/// The longest duration any option takes: one hour. Longer limits make no sense for a probe or
/// a DNS query, and deadlines computed from them must not overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// `5s`, `500ms`, `1m`, or a bare number of seconds; at most [`MAX_DURATION`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let too_long = || format!("duration '{s}' is longer than the maximum of 1h");
    let d = match s.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => {
            if secs > MAX_DURATION.as_secs_f64() {
                return Err(too_long());
            }
            Duration::from_secs_f64(secs)
        }
        Ok(_) => return Err(format!("invalid duration '{s}'")),
        Err(_) => humantime::parse_duration(s.trim())
            .map_err(|e| format!("invalid duration '{s}': {e}"))?,
    };
    if d.is_zero() {
        return Err(format!("duration '{s}' must be more than zero"));
    }
    if d > MAX_DURATION {
        return Err(too_long());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_duration("1h").unwrap(), MAX_DURATION);
        assert_eq!(parse_duration("3600").unwrap(), MAX_DURATION);
    }

    #[test]
    fn huge_durations_are_rejected_not_a_panic() {
        for s in ["1e20", "1e19", "3601", "1h1s", "100000000000years", "1e300"] {
            let e = parse_duration(s).unwrap_err();
            assert!(e.contains("maximum of 1h"), "{s}: {e}");
        }
    }
}

//! From parsed arguments to validated settings. No clap type goes past this module.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use crate::analysis::certs::CertPolicy;
use crate::analysis::exceptions::{Date, Exceptions};
use crate::analysis::policy::Policy;
use crate::cert::TrustStore;
use crate::cert::trust::TrustSources;
use crate::cli::{
    Cli, ColorArg, Command, FormatArg, OutputArgs, PolicyArgs, ScanArgs, StartTlsArg,
};
use crate::discover::DnsSettings;
use crate::error::Error;
use crate::output::Format;
use crate::report::{InputError, Report};
use crate::scan::{CertConfig, ScanConfig};
use crate::target::{
    DC_SCHEMES, ResolveOverrides, StartTls, Target, parse_target, parse_target_list,
};

/// Where and how the report goes.
#[derive(Clone, Debug)]
pub struct OutputConfig {
    pub format: Format,
    pub file: Option<PathBuf>,
    /// Also show the table on the terminal while the report goes to a file.
    pub echo_table: bool,
    pub color: bool,
    pub quiet: bool,
}

/// One command line, validated: what the commands in `app` run.
pub enum Job {
    Scan(Box<ScanJob>),
    Diff(DiffJob),
    Check(CheckJob),
    Merge(MergeJob),
    Clients(ClientsJob),
    Discover(DiscoverJob),
    #[cfg(feature = "lab")]
    Demo(DemoJob),
    /// Describe the command line itself: completions or the manual page.
    Describe(Describe),
}

/// What `completions` and `man` print.
pub enum Describe {
    Completions(clap_complete::Shell),
    Man,
}

/// A saved report and the file it came from.
pub struct Loaded {
    pub path: String,
    pub report: Box<Report>,
}

impl Loaded {
    pub fn load(path: &str) -> Result<Loaded, Error> {
        Ok(Loaded {
            path: path.to_string(),
            report: Box::new(crate::report::load::load(path)?),
        })
    }
}

/// A domain whose controllers are found through DNS SRV records.
#[derive(Clone, Debug)]
pub struct DomainJob {
    pub domain: String,
    /// Only the DCs of this Active Directory site.
    pub site: Option<String>,
    pub dns: DnsSettings,
    /// Add each DC's RDP service (3389).
    pub with_rdp: bool,
}

/// What a scan's result is held against, if anything.
pub enum Compare {
    /// The scan itself is the answer.
    Nothing,
    /// A before/after comparison with a saved scan.
    Baseline {
        before: Loaded,
        allow_inconclusive: bool,
    },
    Policy(Policy),
}

/// A scan, ready to run.
pub struct ScanJob {
    pub exceptions: Exceptions,
    pub config: ScanConfig,
    pub targets: Vec<Target>,
    pub input_errors: Vec<InputError>,
    pub output: OutputConfig,
    pub compare: Compare,
    /// Discover the DCs of this domain and add their services.
    pub domain: Option<DomainJob>,
}

pub struct DiffJob {
    pub exceptions: Exceptions,
    pub before: Loaded,
    pub after: Loaded,
    pub allow_inconclusive: bool,
    pub output: OutputConfig,
}

pub struct CheckJob {
    pub exceptions: Exceptions,
    pub scan: Loaded,
    pub policy: Policy,
    pub output: OutputConfig,
}

pub struct MergeJob {
    pub scans: Vec<Loaded>,
    pub label: Option<String>,
    pub output: OutputConfig,
}

pub struct ClientsJob {
    pub captures: Vec<String>,
    /// Server ports to read; empty means the usual TLS ports.
    pub ports: Vec<u16>,
    pub output: OutputConfig,
}

pub struct DiscoverJob {
    pub domain: DomainJob,
    pub output: OutputConfig,
}

#[cfg(feature = "lab")]
pub struct DemoJob {
    /// Also save before.json and after.json here.
    pub save: Option<PathBuf>,
    pub color: bool,
}

/// Validate a command line into the job it asks for.
pub fn job(cli: Cli) -> Result<Job, Error> {
    Ok(match cli.command {
        Command::Scan(args) => Job::Scan(Box::new(scan_job(*args)?)),
        Command::Diff(args) => Job::Diff(DiffJob {
            exceptions: exceptions(&args.exceptions)?,
            before: Loaded::load(&args.before)?,
            after: Loaded::load(&args.after)?,
            allow_inconclusive: args.allow_inconclusive,
            output: output_config(&args.output)?,
        }),
        Command::Check(args) => Job::Check(CheckJob {
            exceptions: exceptions(&args.exceptions)?,
            policy: policy(&args.policy)?.ok_or_else(|| {
                Error::Usage(
                    "check needs --policy NAME, --require/--forbid LIST, --forbid-suites or a --cert-* \
                     flag"
                        .into(),
                )
            })?,
            scan: Loaded::load(&args.scan)?,
            output: output_config(&args.output)?,
        }),
        Command::Merge(args) => Job::Merge(MergeJob {
            scans: args
                .scans
                .iter()
                .map(|p| Loaded::load(p))
                .collect::<Result<_, _>>()?,
            label: args.label.clone(),
            output: output_config(&args.output)?,
        }),
        Command::Clients(args) => Job::Clients(ClientsJob {
            output: output_config(&args.output)?,
            captures: args.captures,
            ports: args.ports,
        }),
        Command::Discover(args) => Job::Discover(DiscoverJob {
            domain: domain_job(args.domain, &args.dns),
            output: output_config(&args.output)?,
        }),
        Command::Completions { shell } => Job::Describe(Describe::Completions(shell)),
        Command::Man => Job::Describe(Describe::Man),
        #[cfg(feature = "lab")]
        Command::Demo(args) => Job::Demo(DemoJob {
            save: args.save,
            color: color_enabled(args.color, std::io::stdout().is_terminal()),
        }),
    })
}

/// The exceptions file, read and checked; none when not given.
fn exceptions(args: &crate::cli::ExceptionsArgs) -> Result<Exceptions, Error> {
    let Some(path) = &args.exceptions else {
        return Ok(Exceptions::default());
    };
    let text = std::fs::read_to_string(path).map_err(|e| Error::Usage(format!("{path}: {e}")))?;
    Exceptions::parse(&text, path, Date::today()).map_err(Error::Usage)
}

fn domain_job(domain: String, dns: &crate::cli::DnsArgs) -> DomainJob {
    DomainJob {
        domain,
        site: dns.site.clone(),
        dns: dns_settings(dns),
        with_rdp: dns.with_rdp,
    }
}

/// A TCP connect's limit unless `--connect-timeout` says otherwise (never above `--timeout`).
const DEFAULT_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The policy the arguments ask for, if any. Certificate flags add to a named or custom
/// policy, or make a policy of their own.
pub fn policy(args: &PolicyArgs) -> Result<Option<Policy>, Error> {
    let custom = !args.require.is_empty() || !args.forbid.is_empty();
    if let Some(v) = args.require.iter().find(|v| args.forbid.contains(v)) {
        return Err(Error::Usage(format!(
            "{} is both in --require and in --forbid",
            v.key()
        )));
    }
    let policy = match (args.policy, custom) {
        (Some(_), true) => {
            return Err(Error::Usage(
                "give either --policy or --require/--forbid, not both".into(),
            ));
        }
        (Some(p), false) => Policy::named(p.name()),
        (None, true) => Some(Policy::custom(args.require.clone(), args.forbid.clone())),
        (None, false) => None,
    };
    let policy = match &args.forbid_suites {
        None => policy,
        Some(text) => {
            let rule = crate::analysis::suites::SuiteRule::parse(text)
                .map_err(|e| Error::Usage(format!("--forbid-suites: {e}")))?;
            let mut p = match policy {
                Some(mut p) => {
                    p.name = format!("{} and no {}", p.name, rule.describe());
                    p
                }
                None => {
                    let mut p = Policy::certificates_only();
                    p.name = format!("no {}", rule.describe());
                    p
                }
            };
            p.forbid_suites = Some(rule);
            Some(p)
        }
    };
    let certs = CertPolicy {
        min_days: args.cert_min_days,
        trusted: args.cert_trusted,
        name: args.cert_name,
        names: args.cert_require_name.clone(),
    };
    if certs.is_empty() {
        return Ok(policy);
    }
    let mut p = policy.unwrap_or_else(Policy::certificates_only);
    let mut merged = p.certificate.take().unwrap_or_default();
    merged.min_days = match (merged.min_days, certs.min_days) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    merged.trusted |= certs.trusted;
    merged.name |= certs.name;
    merged.names.extend(certs.names);
    p.certificate = Some(merged);
    Ok(Some(p))
}

pub fn scan_job(args: ScanArgs) -> Result<ScanJob, Error> {
    let mut targets = Vec::new();
    let mut input_errors = Vec::new();
    for host in &args.dc {
        for scheme in DC_SCHEMES {
            match parse_target(&format!("{scheme}://{host}")) {
                Ok(t) => targets.push(t),
                Err(message) => {
                    input_errors.push(InputError {
                        source: format!("--dc '{host}'"),
                        message,
                    });
                    break;
                }
            }
        }
    }
    for (i, t) in args.targets.iter().enumerate() {
        match parse_target(t) {
            Ok(t) => targets.push(t),
            Err(message) => input_errors.push(InputError {
                source: format!("argument {} ('{t}')", i + 1),
                message,
            }),
        }
    }
    let mut stdin_used = false;
    for f in &args.files {
        let (text, name) = if f == "-" {
            if stdin_used {
                return Err(Error::Usage("'-f -' given twice".into()));
            }
            stdin_used = true;
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|source| Error::ReadTargets {
                    path: "standard input".into(),
                    source,
                })?;
            (s, "<stdin>".to_string())
        } else {
            let s = std::fs::read_to_string(f).map_err(|source| Error::ReadTargets {
                path: f.clone(),
                source,
            })?;
            (s, f.clone())
        };
        let (t, e) = parse_target_list(&text, &name);
        targets.extend(t);
        input_errors.extend(e);
    }
    let starttls = args.starttls.map(|m| match m {
        StartTlsArg::None => StartTls::None,
        StartTlsArg::Ldap => StartTls::Ldap,
        StartTlsArg::Rdp => StartTls::Rdp,
    });
    let mut targets: Vec<Target> = targets
        .into_iter()
        .map(|t| t.with_starttls(starttls))
        .collect();
    dedupe(&mut targets);
    if targets.is_empty() && input_errors.is_empty() && args.domain.is_none() {
        return Err(Error::Usage(
            "no targets: give TARGET arguments, --dc HOST or -f FILE (see --help)".into(),
        ));
    }

    let mut resolve = ResolveOverrides::default();
    for r in &args.resolve {
        resolve.parse_entry(r).map_err(Error::Usage)?;
    }
    let mut versions = args.versions.clone();
    versions.sort();
    versions.dedup();
    let connect_timeout = match args.connect_timeout {
        Some(c) if c > args.timeout => {
            return Err(Error::Usage(format!(
                "--connect-timeout ({}) is longer than --timeout ({}), which bounds the whole probe",
                crate::probe::show_duration(c),
                crate::probe::show_duration(args.timeout)
            )));
        }
        Some(c) => c,
        None => DEFAULT_CONNECT_TIMEOUT.min(args.timeout),
    };
    if let Some(name) = &args.sni
        && (name.is_empty() || name.parse::<std::net::IpAddr>().is_ok())
    {
        return Err(Error::Usage(format!(
            "--sni '{name}' must be a host name (TLS sends no address as server name)"
        )));
    }

    let config = ScanConfig {
        versions,
        concurrency: args.concurrency as usize,
        per_host: args.per_host as usize,
        connect_timeout,
        timeout: args.timeout,
        retries: args.retries,
        sni: args.sni.clone(),
        resolve,
        label: args.label.clone(),
        ldap_check: !args.no_ldap_check,
        exclude: args.exclude.clone(),
        engine: match args.engine {
            crate::cli::EngineArg::Openssl => crate::report::Engine::Openssl,
            crate::cli::EngineArg::Wire => crate::report::Engine::Wire,
            crate::cli::EngineArg::Both => crate::report::Engine::Both,
        },
        certificates: cert_config(&args)?,
        suites: args.suites,
        max_open: args.max_open.map(|n| n as usize),
    };
    let policy = policy(&args.policy)?;
    if policy.is_some() && args.baseline.is_some() {
        return Err(Error::Usage(
            "give --baseline or a policy, not both (save the scan with -o and run check on it)"
                .into(),
        ));
    }
    let compare = match (&args.baseline, policy) {
        (Some(path), _) => Compare::Baseline {
            before: Loaded::load(path)?,
            allow_inconclusive: args.allow_inconclusive,
        },
        (None, Some(p)) => Compare::Policy(p),
        (None, None) => Compare::Nothing,
    };
    Ok(ScanJob {
        exceptions: exceptions(&args.exceptions)?,
        config,
        targets,
        input_errors,
        output: output_config(&args.output)?,
        compare,
        domain: args.domain.clone().map(|d| domain_job(d, &args.dns)),
    })
}

/// Certificate settings; the CA files are read now, so a bad one is a usage error naming it.
fn cert_config(args: &ScanArgs) -> Result<CertConfig, Error> {
    let trust = TrustSources {
        ca_file: args.ca_file.clone(),
        ca_dir: args.ca_dir.clone(),
    };
    TrustStore::load(&trust).map_err(Error::Usage)?;
    Ok(CertConfig {
        warn_days: args.cert_warn_days,
        trust,
        domain: args
            .domain
            .as_deref()
            .map(|d| d.trim_end_matches('.').to_ascii_lowercase()),
    })
}

pub fn dns_settings(args: &crate::cli::DnsArgs) -> DnsSettings {
    DnsSettings {
        server: args.dns_server,
        timeout: args.dns_timeout,
    }
}

/// The same endpoint written twice is scanned once.
pub fn dedupe(targets: &mut Vec<Target>) {
    let mut seen = std::collections::HashSet::new();
    targets.retain(|t| seen.insert((t.host.clone(), t.port, t.protocol)));
}

/// Where the report goes and in which format. The human table is the default everywhere, on a
/// terminal or in a pipe (colour follows the terminal); a machine format only when asked for
/// with `--format` or by the extension of `-o FILE`.
pub fn output_config(args: &OutputArgs) -> Result<OutputConfig, Error> {
    let stdout_tty = std::io::stdout().is_terminal();
    let format = match (args.format, &args.output) {
        (Some(f), _) => from_arg(f),
        (None, Some(path)) => Format::from_path(path).ok_or_else(|| {
            Error::Usage(format!(
                "-o {}: cannot tell the format from the file name; use one of {} or give --format",
                path.display(),
                Format::EXTENSIONS.join(", ")
            ))
        })?,
        (None, None) => Format::Table,
    };
    Ok(OutputConfig {
        format,
        file: args.output.clone(),
        echo_table: args.output.is_some() && stdout_tty && !args.quiet,
        color: color_enabled(args.color, stdout_tty),
        quiet: args.quiet,
    })
}

fn from_arg(f: FormatArg) -> Format {
    match f {
        FormatArg::Table => Format::Table,
        FormatArg::Json => Format::Json,
        FormatArg::Csv => Format::Csv,
        FormatArg::Md => Format::Markdown,
    }
}

/// Colour follows the terminal check, `NO_COLOR` and `TERM=dumb`, unless forced.
pub fn color_enabled(choice: ColorArg, stdout_tty: bool) -> bool {
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            stdout_tty
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    }
}

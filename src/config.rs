//! From parsed arguments to validated settings. No clap type goes past this module.

use std::io::IsTerminal;
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
use crate::output::{Format, Look};
use crate::report::{InputError, Report};
use crate::scan::{CertConfig, ScanConfig};
use crate::target::{DC_SCHEMES, ResolveOverrides, StartTls, Target, parse_target};

/// Where and how the report goes.
#[derive(Clone, Debug)]
pub struct OutputConfig {
    pub format: Format,
    pub file: Option<PathBuf>,
    /// Also show the table on the terminal while the report goes to a file.
    pub echo_table: bool,
    /// Colour, width, and whether the table is the wide one.
    pub look: Look,
    pub quiet: bool,
}

/// One command line, validated: what the commands in `app` run.
pub enum Job {
    Scan(Box<ScanJob>),
    Diff(DiffJob),
    Check(CheckJob),
    Merge(MergeJob),
    Clients(ClientsJob),
    Predict(Box<PredictJob>),
    Discover(DiscoverJob),
    #[cfg(feature = "lab")]
    Demo(DemoJob),
    /// Describe the command line itself: completions or the manual page.
    Describe(Describe),
    Serve(Box<ServeJob>),
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
    /// Write a targets file for `scan -f` instead of the document.
    pub as_targets: bool,
}

#[cfg(feature = "lab")]
pub struct DemoJob {
    /// Also save before.json and after.json here.
    pub save: Option<PathBuf>,
    pub look: Look,
    /// Enumerate the suites of each accepted version (`--suites`).
    pub suites: bool,
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
        Command::Predict(args) => Job::Predict(Box::new(predict_job(*args)?)),
        Command::Clients(args) => Job::Clients(ClientsJob {
            output: output_config(&args.output)?,
            captures: args.captures,
            ports: args.ports,
        }),
        Command::Discover(mut args) => {
            let as_targets = args.output.format == Some(FormatArg::Targets);
            if as_targets {
                args.output.format = Some(FormatArg::Table);
            }
            Job::Discover(DiscoverJob {
                domain: domain_job(args.domain, &args.dns),
                output: output_config(&args.output)?,
                as_targets,
            })
        }
        Command::Completions { shell } => Job::Describe(Describe::Completions(shell)),
        Command::Man => Job::Describe(Describe::Man),
        Command::Serve(args) => Job::Serve(Box::new(serve_job(&args)?)),
        #[cfg(feature = "lab")]
        Command::Demo(args) => Job::Demo(DemoJob {
            save: args.save,
            suites: args.suites,
            look: {
                let tty = std::io::stdout().is_terminal();
                Look {
                    color: color_enabled(args.color, tty),
                    wide: args.wide,
                    width: terminal_width(tty),
                }
            },
        }),
    })
}

/// The exceptions file, read and checked; none when not given.
fn exceptions(args: &crate::cli::ExceptionsArgs) -> Result<Exceptions, Error> {
    let Some(path) = &args.exceptions else {
        return Ok(Exceptions::default());
    };
    let bytes =
        crate::input::read_limited(path, crate::input::MAX_TARGETS_FILE, "an exceptions file")
            .map_err(|e| Error::Usage(format!("{path}: {e}")))?;
    let text =
        String::from_utf8(bytes).map_err(|_| Error::Usage(format!("{path}: not UTF-8 text")))?;
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
    let (targets, input_errors) =
        gather_targets(&args.targets, &args.dc, &args.files, args.starttls)?;
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
/// Without any, nothing is read here: the scan loads the system store once, and reading it
/// twice put about 50 ms (more on a busy machine) before the first probe.
fn cert_config(args: &ScanArgs) -> Result<CertConfig, Error> {
    let trust = TrustSources {
        ca_file: args.ca_file.clone(),
        ca_dir: args.ca_dir.clone(),
    };
    if trust.ca_file.is_some() || trust.ca_dir.is_some() {
        TrustStore::load(&trust).map_err(Error::Usage)?;
    }
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
        (Some(f), _) => from_arg(f)?,
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
        look: Look {
            color: color_enabled(args.color, stdout_tty),
            wide: args.wide,
            width: terminal_width(stdout_tty),
        },
        quiet: args.quiet,
    })
}

fn from_arg(f: FormatArg) -> Result<Format, Error> {
    Ok(match f {
        FormatArg::Table => Format::Table,
        FormatArg::Targets => {
            return Err(Error::Usage("--format targets is for discover only".into()));
        }
        FormatArg::Json => Format::Json,
        FormatArg::Csv => Format::Csv,
        FormatArg::Md => Format::Markdown,
        FormatArg::Html => Format::Html,
        FormatArg::Prometheus => Format::Prometheus,
    })
}

/// The width compact tables fit: `COLUMNS` where it is set, else the terminal's, else 80.
pub fn terminal_width(stdout_tty: bool) -> u16 {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok());
    let from_tty = stdout_tty
        .then(|| terminal_size::terminal_size().map(|(w, _)| w.0))
        .flatten();
    from_env.or(from_tty).unwrap_or(80).clamp(40, 1000)
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

/// `predict`, ready to run.
pub struct PredictJob {
    /// `--profiles list`: print the built-in profiles and stop.
    pub list_profiles: bool,
    /// Capture files or saved clients reports.
    pub clients: Vec<String>,
    /// Server ports read in the captures; empty for every port.
    pub ports: Vec<u16>,
    pub profiles: Vec<crate::predict::profiles::Profile>,
    pub targets: Vec<Target>,
    pub input_errors: Vec<InputError>,
    /// Discover the DCs of this domain and add their services.
    pub domain: Option<DomainJob>,
    pub resolve: ResolveOverrides,
    /// Server name to send instead of each target's host name.
    pub sni: Option<String>,
    pub live: crate::predict::live::LiveConfig,
    /// Offline: the saved scan whose endpoints the cells are computed from.
    pub saved: Option<Loaded>,
    pub output: OutputConfig,
}

/// Targets as `scan` takes them: TARGET arguments, `--dc HOST`, `-f FILE`, `--starttls`.
fn gather_targets(
    args: &[String],
    dcs: &[String],
    files: &[String],
    starttls: Option<StartTlsArg>,
) -> Result<(Vec<Target>, Vec<InputError>), Error> {
    let mut targets = Vec::new();
    let mut input_errors = Vec::new();
    for host in dcs {
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
    for (i, t) in args.iter().enumerate() {
        match parse_target(t) {
            Ok(t) => targets.push(t),
            Err(message) => input_errors.push(InputError {
                source: format!("argument {} ('{t}')", i + 1),
                message,
            }),
        }
    }
    if files.iter().filter(|f| *f == "-").count() > 1 {
        return Err(Error::Usage("'-f -' given twice".into()));
    }
    for f in files {
        let (t, e) = crate::target::read_target_file(f)?;
        targets.extend(t);
        input_errors.extend(e);
    }
    let starttls = starttls.map(|m| match m {
        StartTlsArg::None => StartTls::None,
        StartTlsArg::Ldap => StartTls::Ldap,
        StartTlsArg::Rdp => StartTls::Rdp,
    });
    let mut targets: Vec<Target> = targets
        .into_iter()
        .map(|t| t.with_starttls(starttls))
        .collect();
    dedupe(&mut targets);
    Ok((targets, input_errors))
}

pub fn predict_job(args: crate::cli::PredictArgs) -> Result<PredictJob, Error> {
    let list_profiles = args.profiles.iter().any(|p| p == "list");
    let output = output_config(&args.output)?;
    let mode = if args.as_is {
        crate::predict::Mode::AsIs
    } else {
        crate::predict::Mode::Tls12Only
    };
    let limits = crate::probe::Limits {
        connect_timeout: match args.connect_timeout {
            Some(c) if c > args.timeout => {
                return Err(Error::Usage(format!(
                    "--connect-timeout ({}) is longer than --timeout ({}), which bounds each replay",
                    crate::probe::show_duration(c),
                    crate::probe::show_duration(args.timeout)
                )));
            }
            Some(c) => c,
            None => DEFAULT_CONNECT_TIMEOUT.min(args.timeout),
        },
        timeout: args.timeout,
        retries: 0,
    };
    let live = crate::predict::live::LiveConfig {
        mode,
        limits,
        concurrency: args.concurrency as usize,
        per_host: args.per_host as usize,
    };
    if list_profiles {
        return Ok(PredictJob {
            list_profiles,
            clients: Vec::new(),
            ports: Vec::new(),
            profiles: crate::predict::profiles::all().map_err(Error::Usage)?,
            targets: Vec::new(),
            input_errors: Vec::new(),
            domain: None,
            resolve: ResolveOverrides::default(),
            sni: None,
            live,
            saved: None,
            output,
        });
    }
    let profiles = if args.profiles.is_empty() {
        Vec::new()
    } else {
        crate::predict::profiles::select(&args.profiles).map_err(Error::Usage)?
    };
    if profiles.is_empty() && args.clients.is_empty() {
        return Err(Error::Usage(
            "no clients: give --clients FILE (a capture or a clients report) or --profiles \
             LIST|all (--profiles list shows them)"
                .into(),
        ));
    }
    let saved = match &args.scan {
        Some(path) => Some(Loaded::load(path)?),
        None => None,
    };
    let (targets, input_errors) =
        gather_targets(&args.targets, &args.dc, &args.files, args.starttls)?;
    if targets.is_empty() && input_errors.is_empty() && args.domain.is_none() && saved.is_none() {
        return Err(Error::Usage(
            "no endpoints: give TARGET arguments, --dc HOST, --domain DOMAIN, -f FILE or --scan \
             SCAN"
                .into(),
        ));
    }
    let mut resolve = ResolveOverrides::default();
    for r in &args.resolve {
        resolve.parse_entry(r).map_err(Error::Usage)?;
    }
    if let Some(name) = &args.sni
        && (name.is_empty() || name.parse::<std::net::IpAddr>().is_ok())
    {
        return Err(Error::Usage(format!(
            "--sni '{name}' must be a host name (TLS sends no address as server name)"
        )));
    }
    Ok(PredictJob {
        list_profiles,
        clients: args.clients,
        ports: args.ports,
        profiles,
        targets,
        input_errors,
        domain: args.domain.clone().map(|d| domain_job(d, &args.dns)),
        resolve,
        sni: args.sni,
        live,
        saved,
        output,
    })
}

/// The exporter, ready to run.
pub struct ServeJob {
    pub listen: std::net::SocketAddr,
    pub files: ServeFiles,
    pub settings: crate::serve::settings::ExporterSettings,
    pub web: crate::serve::web::WebSettings,
    /// Only check the files.
    pub check_only: bool,
}

/// The files the exporter reads at start and again on SIGHUP.
#[derive(Clone, Debug)]
pub struct ServeFiles {
    pub config: Option<PathBuf>,
    pub web_config: Option<PathBuf>,
}

impl ServeFiles {
    /// Read and validate both files; every mistake of a file is in its error.
    pub fn load(
        &self,
    ) -> Result<
        (
            crate::serve::settings::ExporterSettings,
            crate::serve::web::WebSettings,
        ),
        Error,
    > {
        let read = |path: &PathBuf| {
            std::fs::read_to_string(path).map_err(|e| Error::Config {
                path: path.clone(),
                errors: vec![crate::serve::yaml::ConfigError {
                    line: 0,
                    column: 0,
                    path: String::new(),
                    message: format!("cannot read the file: {e}"),
                }],
            })
        };
        let settings = match &self.config {
            None => crate::serve::settings::ExporterSettings::default(),
            Some(path) => {
                let base = path.parent().unwrap_or(std::path::Path::new("."));
                crate::serve::settings::parse(&read(path)?, base).map_err(|errors| {
                    Error::Config {
                        path: path.clone(),
                        errors,
                    }
                })?
            }
        };
        let web = match &self.web_config {
            None => crate::serve::web::WebSettings {
                tls: None,
                users: Default::default(),
            },
            Some(path) => {
                let base = path.parent().unwrap_or(std::path::Path::new("."));
                crate::serve::web::parse(&read(path)?, base).map_err(|errors| Error::Config {
                    path: path.clone(),
                    errors,
                })?
            }
        };
        Ok((settings, web))
    }
}

pub fn serve_job(args: &crate::cli::ServeArgs) -> Result<ServeJob, Error> {
    let files = ServeFiles {
        config: args.config.clone(),
        web_config: args.web_config.clone(),
    };
    let (settings, web) = files.load()?;
    Ok(ServeJob {
        listen: args.listen,
        files,
        settings,
        web,
        check_only: args.check_config,
    })
}

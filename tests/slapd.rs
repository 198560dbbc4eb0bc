//! A real OpenLDAP slapd (Debian's, linked with GnuTLS), before and after enforcement.
//!
//! slapd ignores `TLSProtocolMin` in this build; the version range is set with a GnuTLS
//! priority string in `TLSCipherSuite`. Where slapd is missing the test says so loudly; in CI
//! (`CI=true`) a missing slapd is a failure.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tlsmatrix::report::{Protocol, Verdict};

use crate::util::*;

const SLAPD: &str = "/usr/sbin/slapd";

pub(crate) struct Slapd {
    dir: tempfile::TempDir,
    pub(crate) ldap: SocketAddr,
    pub(crate) ldaps: SocketAddr,
}

impl Slapd {
    /// Start slapd on two free loopback ports with this GnuTLS priority string.
    pub(crate) fn start(priority: &str) -> Slapd {
        let (key, cert) = tlsmatrix::lab::identity();
        Self::start_with(
            priority,
            &cert.to_pem().unwrap(),
            &key.private_key_to_pem_pkcs8().unwrap(),
        )
    }

    /// Start slapd presenting this certificate chain (PEM, its own certificate first) and key.
    pub(crate) fn start_with(priority: &str, chain_pem: &[u8], key_pem: &[u8]) -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("key.pem"), key_pem).unwrap();
        std::fs::write(d.join("cert.pem"), chain_pem).unwrap();
        std::fs::create_dir(d.join("db")).unwrap();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             pidfile {d}/slapd.pid\nargsfile {d}/slapd.args\n\
             modulepath /usr/lib/ldap\nmoduleload back_mdb\n\
             TLSCertificateFile {d}/cert.pem\nTLSCertificateKeyFile {d}/key.pem\n\
             TLSCipherSuite {priority}\n\
             database mdb\nsuffix \"dc=lab,dc=test\"\ndirectory {d}/db\n",
            d = d.display()
        );
        std::fs::write(d.join("slapd.conf"), conf).unwrap();
        for _ in 0..20 {
            let (p1, p2) = (free_port(), free_port());
            let urls = format!("ldap://127.0.0.1:{p1}/ ldaps://127.0.0.1:{p2}/");
            let status = Command::new(SLAPD)
                .arg("-f")
                .arg(d.join("slapd.conf"))
                .args(["-h", &urls])
                .status()
                .expect("run slapd");
            if status.success() && wait_listening(p1) && wait_listening(p2) {
                return Slapd {
                    dir,
                    ldap: SocketAddr::new(LOCALHOST, p1),
                    ldaps: SocketAddr::new(LOCALHOST, p2),
                };
            }
            stop(d);
        }
        panic!("slapd did not start");
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        stop(self.dir.path());
    }
}

fn wait_listening(port: u16) -> bool {
    (0..100).any(|_| {
        let up = std::net::TcpStream::connect((LOCALHOST, port)).is_ok();
        if !up {
            std::thread::sleep(Duration::from_millis(20));
        }
        up
    })
}

/// SIGINT to the pid in the pidfile, then wait for the process to go.
fn stop(dir: &Path) {
    let Ok(pid) = std::fs::read_to_string(dir.join("slapd.pid")) else {
        return;
    };
    let pid = pid.trim().to_string();
    let _ = Command::new("kill").args(["-INT", &pid]).status();
    let proc = PathBuf::from(format!("/proc/{pid}"));
    for _ in 0..100 {
        if !proc.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill").args(["-KILL", &pid]).status();
}

/// True when slapd can run here; panics in CI where it must.
pub(crate) fn slapd_available() -> bool {
    if Path::new(SLAPD).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "slapd is not installed, and CI must run the slapd tests (scripts/test installs it)"
        );
    }
    eprintln!(
        "\n*** SKIPPED: {SLAPD} is missing, so the slapd tests did not run. \
         Run scripts/test as root to install it. ***\n"
    );
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slapd_before_and_after_tls12_only() {
    if !slapd_available() {
        return;
    }
    let config = quick();
    let targets = |s: &Slapd| vec![format!("ldap://{}", s.ldap), format!("ldaps://{}", s.ldaps)];

    let before =
        Slapd::start("NORMAL:-VERS-ALL:+VERS-TLS1.0:+VERS-TLS1.1:+VERS-TLS1.2:+VERS-TLS1.3");
    let report = scan_targets(&config, &targets(&before)).await;
    drop(before);
    assert_eq!(report.endpoints.len(), 2);
    for (e, protocol) in report
        .endpoints
        .iter()
        .zip([Protocol::LdapStarttls, Protocol::Ldaps])
    {
        assert_eq!(e.protocol, protocol);
        let r = row(e);
        let cells: Vec<&str> = ["tls1.0", "tls1.1", "tls1.2", "tls1.3"]
            .iter()
            .map(|v| r[v].as_str())
            .collect();
        assert_eq!(cells, ["yes", "yes", "yes", "yes"], "before, {}", e.target);
        assert_eq!(e.verdict, Verdict::Legacy);
        let dse = e
            .root_dse
            .as_ref()
            .expect("slapd answered the RootDSE search");
        assert_eq!(dse.supported_ldap_version, vec!["3"]);
    }

    let after = Slapd::start("NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3");
    let report = scan_targets(&config, &targets(&after)).await;
    drop(after);
    for e in &report.endpoints {
        let r = row(e);
        let cells: Vec<&str> = ["tls1.0", "tls1.1", "tls1.2", "tls1.3"]
            .iter()
            .map(|v| r[v].as_str())
            .collect();
        // GnuTLS closes without an alert on versions it does not allow.
        assert_eq!(
            cells,
            ["no: closed", "no: closed", "yes", "yes"],
            "after, {}",
            e.target
        );
        assert_eq!(e.verdict, Verdict::Ready);
    }
}

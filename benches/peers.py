#!/usr/bin/env python3
"""tlsmatrix against its peers, on this machine, in one run.

Scenarios (each measured in the same run, so figures are ratios on the same machine state):
  loopback  N TLS endpoints on their own loopback addresses with mixed version ranges; tlsmatrix
            (OpenSSL engine, and both engines), the bare handshake loop, a serial sslscan loop,
            nmap ssl-enum-ciphers, sslyze and testssl.sh; every peer's answers compared cell by
            cell with what the endpoints really accept.
  suites    cipher suite enumeration on an estate of four suite profiles (modern with the
            server's order, legacy DEFAULT, 3DES only, anonymous DH only): tlsmatrix --suites
            against sslyze (every cipher suite command), a serial sslscan loop, nmap
            ssl-enum-ciphers, and testssl.sh -E on one endpoint of each profile; every tool's
            list compared with ours per endpoint and version.
  latency   the suite estate behind a delay proxy (benches/delay_proxy.py, 50 ms each way,
            loopback only: this kernel has no netem); our wall time against the round-trip floor
            for versions and for suites, and the peers under the same proxy.
  dead      1,000 endpoints that never answer a SYN plus 10 live ones, at the default settings.
  memory    peak RSS at 1,000 and 10,000 endpoints (all but 10 refusing connections), with and
            without --suites.

Usage: python3 benches/peers.py [--n 200] [--runs 3] [--peer-subset 50] [--suite-n 48]
                                [--only loopback,suites,latency,dead,memory]
Peers missing from the machine are installed (Debian packages nmap, testssl.sh, sslscan,
lighttpd and lighttpd-mod-mbedtls for the 3DES servers; sslyze from PyPI into a venv under
target/) unless --no-install is given. Wall times are medians; RSS is the peak of the process
tree measured by /usr/bin/time.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
TLSMATRIX = os.path.join(REL, "tlsmatrix")
ESTATE = os.path.join(REL, "examples", "estate")
PROXY = os.path.join(ROOT, "benches", "delay_proxy.py")
VENV = os.path.join(ROOT, "target", "bench-venv")
SSLYZE = os.path.join(VENV, "bin", "sslyze")
ALL_VERSIONS = ["ssl3", "tls1.0", "tls1.1", "tls1.2", "tls1.3"]
BARE = os.path.join(REL, "examples", "bare_loop")
VERSIONS = ["tls1.0", "tls1.1", "tls1.2", "tls1.3"]
ORDER = ["ssl3", "tls1.0", "tls1.1", "tls1.2", "tls1.3"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def install(skip):
    need_apt = [p for p, exe in (("nmap", "nmap"), ("testssl.sh", "testssl"), ("sslscan", "sslscan"),
                                 ("time", "/usr/bin/time"), ("lighttpd", "lighttpd"))
                if not shutil.which(exe)]
    if not os.path.exists("/usr/lib/lighttpd/mod_mbedtls.so"):
        need_apt.append("lighttpd-mod-mbedtls")
    if need_apt and not skip:
        log("installing", " ".join(need_apt))
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        # lighttpd must not start as a system daemon on port 80.
        made = not os.path.exists("/usr/sbin/policy-rc.d")
        if made:
            with open("/usr/sbin/policy-rc.d", "w") as f:
                f.write("#!/bin/sh\nexit 101\n")
            os.chmod("/usr/sbin/policy-rc.d", 0o755)
        try:
            # apt's lock may be held by other work on the machine: wait for it.
            for _ in range(60):
                if subprocess.run(["apt-get", "update", "-qq"], env=env).returncode == 0 and \
                        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                                        *need_apt], env=env).returncode == 0:
                    break
                time.sleep(5)
        finally:
            if made:
                os.remove("/usr/sbin/policy-rc.d")
    if not os.path.exists(SSLYZE) and not skip:
        log("installing sslyze into", VENV)
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
                        "sslyze"], check=True)


def build():
    log("building tlsmatrix and the benchmark helpers (release)")
    subprocess.run(["cargo", "build", "--release", "--locked", "--bins", "--examples"], cwd=ROOT, check=True)


class Estate:
    """examples/estate serving N endpoints until we close its standard input."""

    def __init__(self, mode, n, path):
        self.proc = subprocess.Popen([ESTATE, mode, str(n), path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"estate {mode} {n} did not start: {line!r}")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def timed(cmd, timeout=1800):
    """Wall seconds and peak RSS (KiB) of a command, with its stdout."""
    with tempfile.NamedTemporaryFile("r") as tf:
        start = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name, *cmd], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, timeout=timeout)
        wall = time.monotonic() - start
        try:
            rss = int(tf.read().strip().splitlines()[-1])
        except (ValueError, IndexError):
            rss = 0
    return wall, rss, p.stdout, p.returncode


def read_targets(path):
    """[(addr, {version: accepted})] from an estate targets file."""
    out = []
    for line in open(path):
        parts = line.split()
        if not parts:
            continue
        truth = {}
        if len(parts) > 1:
            lo, hi = parts[1].split("-")
            for v in VERSIONS:
                truth[v] = ORDER.index(lo) <= ORDER.index(v) <= ORDER.index(hi)
        out.append((parts[0], truth))
    return out


def write_plain(targets, path):
    with open(path, "w") as f:
        for addr, _ in targets:
            f.write(addr + "\n")


def agreement(matrix, targets):
    """(cells that agree with the truth, cells compared)."""
    good = total = 0
    for addr, truth in targets:
        for v, accepted in truth.items():
            got = matrix.get(addr, {}).get(v)
            if got is None:
                total += 1
                continue
            total += 1
            good += got == accepted
    return good, total


# --- the tools ------------------------------------------------------------------------------

def run_ours(plain, engine, extra=()):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        wall, rss, _, _ = timed([TLSMATRIX, "scan", "-q", "-f", plain, "--versions", ",".join(VERSIONS),
                                 "--engine", engine, "--format", "json", "-o", out.name, *extra])
        report = json.load(open(out.name))
    matrix = {}
    for e in report["endpoints"]:
        addr = f"{e['address']}:{e['port']}"
        matrix[addr] = {v: c["status"] == "accepted" for v, c in e["versions"].items()}
    return wall, rss, matrix, report


def run_bare(plain):
    wall, rss, out, _ = timed([BARE, plain, "64"])
    return wall, rss, None


def run_sslscan(targets):
    start = time.monotonic()
    matrix = {}
    peak = 0
    for addr, _ in targets:
        _, rss, out, _ = timed(["sslscan", "--no-colour", "--no-ciphersuites", "--no-fallback",
                                "--no-renegotiation", "--no-compression", "--no-heartbleed", "--no-groups",
                                "--no-check-certificate", addr])
        peak = max(peak, rss)
        row = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"):
                row["tls" + parts[0][4:]] = parts[1] == "enabled"
        matrix[addr] = row
    return time.monotonic() - start, peak, matrix


def run_nmap(targets):
    hosts = [a.rsplit(":", 1)[0] for a, _ in targets]
    port = targets[0][0].rsplit(":", 1)[1]
    with tempfile.NamedTemporaryFile(suffix=".xml") as out:
        wall, rss, _, _ = timed(["nmap", "-Pn", "-n", "-p", port, "--script", "ssl-enum-ciphers",
                                 "-oX", out.name, *hosts])
        tree = ET.parse(out.name)
    matrix = {}
    for host in tree.getroot().iter("host"):
        addr = host.find("address").get("addr")
        row = {v: False for v in VERSIONS}
        for script in host.iter("script"):
            if script.get("id") == "ssl-enum-ciphers":
                for t in script.findall("table"):
                    key = t.get("key", "")
                    if key.startswith("TLSv1."):
                        row["tls1." + key[6:]] = True
        matrix[f"{addr}:{port}"] = row
    return wall, rss, matrix


def run_sslyze(targets):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        wall, rss, _, _ = timed([SSLYZE, "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3",
                                 "--mozilla_config", "disable", f"--json_out={out.name}",
                                 *[a for a, _ in targets]])
        report = json.load(open(out.name))
    keys = {"tls1.0": "tls_1_0_cipher_suites", "tls1.1": "tls_1_1_cipher_suites",
            "tls1.2": "tls_1_2_cipher_suites", "tls1.3": "tls_1_3_cipher_suites"}
    matrix = {}
    for s in report["server_scan_results"]:
        loc = s["server_location"]
        res = s.get("scan_result") or {}
        row = {}
        for v, k in keys.items():
            r = (res.get(k) or {}).get("result")
            if r is not None:
                row[v] = len(r["accepted_cipher_suites"]) > 0
        matrix[f"{loc['ip_address']}:{loc['port']}"] = row
    return wall, rss, matrix


def run_testssl(targets):
    with tempfile.TemporaryDirectory() as d:
        listing = os.path.join(d, "targets.txt")
        write_plain(targets, listing)
        out = os.path.join(d, "out.json")
        wall, rss, _, _ = timed(["testssl", "--quiet", "--color", "0", "-p", "--parallel",
                                 "--jsonfile", out, "--file", listing])
        entries = json.load(open(out))
    ids = {"TLS1": "tls1.0", "TLS1_1": "tls1.1", "TLS1_2": "tls1.2", "TLS1_3": "tls1.3"}
    matrix = {}
    for e in entries:
        if e.get("id") in ids:
            addr = f"{e['ip'].split('/')[-1]}:{e['port']}"
            matrix.setdefault(addr, {})[ids[e["id"]]] = e["finding"].startswith("offered")
    return wall, rss, matrix


# --- scenarios ------------------------------------------------------------------------------

def median_of(runs, fn):
    results = [fn() for _ in range(runs)]
    walls = [r[0] for r in results]
    return statistics.median(walls), max(r[1] for r in results), results[-1][2]


def table(title, header, rows):
    print(f"\n## {title}\n")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)))


def mib(kib):
    return f"{kib / 1024:.1f}"


def scenario_loopback(n, runs, subset, tmp):
    path = os.path.join(tmp, f"live{n}.txt")
    estate = Estate("live", n, path)
    try:
        targets = read_targets(path)
        plain = os.path.join(tmp, f"live{n}.plain")
        write_plain(targets, plain)
        sub = targets[:subset]
        sub_plain = os.path.join(tmp, f"live{n}-sub.plain")
        write_plain(sub, sub_plain)
        cells = n * len(VERSIONS)
        log(f"loopback {n}: tlsmatrix")
        o_wall, o_rss, o_m = median_of(runs, lambda: run_ours(plain, "openssl")[:3])
        b_wall, b_rss, b_m = median_of(runs, lambda: run_ours(plain, "both")[:3])
        log(f"loopback {n}: bare handshake loop")
        bare_wall, bare_rss, _ = median_of(runs, lambda: run_bare(plain))
        log(f"loopback {n}: sslscan loop")
        s_wall, s_rss, s_m = median_of(runs, lambda: run_sslscan(targets))
        log(f"loopback {n}: nmap")
        n_wall, n_rss, n_m = median_of(runs, lambda: run_nmap(targets))
        log(f"loopback {n}: tlsmatrix on the {len(sub)}-endpoint subset")
        os_wall, os_rss, os_m = median_of(runs, lambda: run_ours(sub_plain, "openssl")[:3])
        log(f"loopback {n}: sslyze on {len(sub)} endpoints (one run)")
        y_wall, y_rss, y_m = run_sslyze(sub)
        log(f"loopback {n}: testssl.sh on {len(sub)} endpoints (one run)")
        t_wall, t_rss, t_m = run_testssl(sub)
    finally:
        estate.close()

    def agree(m, t):
        g, c = agreement(m, t)
        return f"{g}/{c}"

    rows = [
        ("tlsmatrix --engine openssl", n, f"{o_wall:.2f}", mib(o_rss), "1.00", agree(o_m, targets)),
        ("tlsmatrix (both engines)", n, f"{b_wall:.2f}", mib(b_rss), f"{b_wall / o_wall:.2f}", agree(b_m, targets)),
        ("bare handshake loop", n, f"{bare_wall:.2f}", mib(bare_rss), f"{bare_wall / o_wall:.2f}", "-"),
        ("sslscan, serial loop", n, f"{s_wall:.2f}", mib(s_rss), f"{s_wall / o_wall:.2f}", agree(s_m, targets)),
        ("nmap ssl-enum-ciphers", n, f"{n_wall:.2f}", mib(n_rss), f"{n_wall / o_wall:.2f}", agree(n_m, targets)),
        ("tlsmatrix --engine openssl", len(sub), f"{os_wall:.2f}", mib(os_rss), "1.00", agree(os_m, sub)),
        ("sslyze (1 run)", len(sub), f"{y_wall:.2f}", mib(y_rss), f"{y_wall / os_wall:.1f}", agree(y_m, sub)),
        ("testssl.sh --parallel (1 run)", len(sub), f"{t_wall:.2f}", mib(t_rss), f"{t_wall / os_wall:.1f}", agree(t_m, sub)),
    ]
    table(f"Loopback estate: {n} endpoints x {len(VERSIONS)} versions ({cells} cells), median of {runs}",
          ["tool", "endpoints", "wall s", "peak RSS MiB", "x tlsmatrix", "cells right"], rows)
    rate = bare_wall / o_wall * 100
    return (f"loopback {n}: tlsmatrix {o_wall:.2f} s ({cells / o_wall:.0f} cells/s, {rate:.0f}% of the bare "
            f"handshake rate); sslscan loop {s_wall / o_wall:.1f}x, nmap {n_wall / o_wall:.1f}x, "
            f"sslyze {y_wall / os_wall:.0f}x, testssl.sh {t_wall / os_wall:.0f}x slower; both engines "
            f"{b_wall / o_wall:.2f}x the OpenSSL engine's time")


# --- suites: the tools' lists ----------------------------------------------------------------

PEER_VERSION = {"SSLv3": "ssl3", "TLSv1.0": "tls1.0", "TLSv1.1": "tls1.1", "TLSv1.2": "tls1.2",
                "TLSv1.3": "tls1.3"}
TESTSSL_VERSION = {"ssl3": "ssl3", "tls1": "tls1.0", "tls1_1": "tls1.1", "tls1_2": "tls1.2",
                   "tls1_3": "tls1.3"}
SSLYZE_KEYS = {"ssl3": "ssl_3_0_cipher_suites", "tls1.0": "tls_1_0_cipher_suites",
               "tls1.1": "tls_1_1_cipher_suites", "tls1.2": "tls_1_2_cipher_suites",
               "tls1.3": "tls_1_3_cipher_suites"}
PROFILES = ("modern", "legacy", "3des", "anon")


class Names:
    """IANA name -> code point, learnt from tlsmatrix's reports (which carry both) and from the
    peers that print both (sslscan, testssl.sh): lists are compared by code point."""

    def __init__(self):
        self.ids = {}

    def learn(self, name, ident):
        self.ids.setdefault(name, ident)

    def key(self, x):
        if not isinstance(x, str):
            return x
        # nmap writes TLS 1.3 suites as TLS_AKE_WITH_...
        name = x.replace("TLS_AKE_WITH_", "TLS_")
        return self.ids.get(name, name)


def suite_estate(n, tmp, tag):
    path = os.path.join(tmp, f"suites{n}-{tag}.txt")
    estate = Estate("suites", n, path)
    targets = []
    for line in open(path):
        addr, profile = line.split()
        targets.append((addr, profile))
    return estate, targets


def write_addrs(addrs, path):
    with open(path, "w") as f:
        for a in addrs:
            f.write(a + "\n")


def median_of4(runs, fn, costs=None):
    """Median wall, peak RSS, the last run's lists and orders; with `costs` (a Meter), what each
    run cost (connections, server and tool CPU) is kept in it."""
    results = []
    for _ in range(runs):
        if costs is None:
            results.append(fn())
        else:
            with costs.measure():
                results.append(fn())
    return (statistics.median(r[0] for r in results), max(r[1] for r in results), results[-1][2],
            results[-1][3])


def proc_cpu(pid):
    """User + system CPU seconds of a process and its threads (0 when it is gone)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid):
    """The process and every process under it."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


class Meter:
    """What a tool's runs against the estate cost: TCP connections opened to the estate (SYNs
    seen by tcpdump on lo, to 127.1.0.0/16), CPU time of the estate's servers (its process and
    the lighttpd processes under it), and CPU time of the tool (every child process waited for
    meanwhile). Medians over the runs measured."""

    def __init__(self, estate_pid):
        self.servers = descendants(estate_pid)
        self.runs = []

    class _Run:
        def __init__(self, meter):
            self.meter = meter

        def __enter__(self):
            self.log = tempfile.NamedTemporaryFile("r")
            self.dump = None
            if shutil.which("tcpdump"):
                self.dump = subprocess.Popen(
                    ["tcpdump", "-i", "lo", "-nn", "-q", "-l", "-B", "8192",
                     "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and dst net 127.1.0.0/16"],
                    stdout=open(self.log.name, "w"), stderr=subprocess.PIPE, text=True)
                # Wait until it listens.
                self.dump.stderr.readline()
            self.server0 = sum(proc_cpu(p) for p in self.meter.servers)
            t = os.times()
            self.tool0 = t.children_user + t.children_system
            return self

        def __exit__(self, *exc):
            t = os.times()
            tool = t.children_user + t.children_system - self.tool0
            server = sum(proc_cpu(p) for p in self.meter.servers) - self.server0
            syns = None
            if self.dump:
                time.sleep(0.3)
                self.dump.terminate()
                self.dump.wait(timeout=10)
                syns = sum(1 for _ in open(self.log.name))
            self.log.close()
            self.meter.runs.append((syns, server, tool))
            return False

    def measure(self):
        return Meter._Run(self)

    def median(self):
        """(connections, server CPU s, tool CPU s), medians over the runs."""
        if not self.runs:
            return None, 0.0, 0.0
        syns = [r[0] for r in self.runs if r[0] is not None]
        return (statistics.median(syns) if syns else None, statistics.median(r[1] for r in self.runs),
                statistics.median(r[2] for r in self.runs))


def ours_suites(plain, engine, names, extra=()):
    """Wall, RSS, {addr: {version: set of code points}}, {addr: {version: order}}, report."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        wall, rss, _, _ = timed([TLSMATRIX, "scan", "-q", "--suites", "-f", plain, "--engine", engine,
                                 "--format", "json", "-o", out.name, *extra])
        report = json.load(open(out.name))
    lists, orders = {}, {}
    for e in report["endpoints"]:
        addr = f"{e['address']}:{e['port']}"
        row = {v: set() for v in ALL_VERSIONS}
        for v, s in e.get("suites", {}).items():
            row[v] = {x["id"] for x in s["suites"]}
            for x in s["suites"]:
                names.learn(x["name"], x["id"])
            orders.setdefault(addr, {})[v] = s["order"]
        lists[addr] = row
    return wall, rss, lists, orders, report


def sslyze_suites(addrs, names):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        wall, rss, _, _ = timed([SSLYZE, "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3",
                                 "--mozilla_config", "disable", "--quiet", f"--json_out={out.name}", *addrs])
        report = json.load(open(out.name))
    lists = {}
    for s in report["server_scan_results"]:
        loc = s["server_location"]
        res = s.get("scan_result") or {}
        row = {}
        for v, k in SSLYZE_KEYS.items():
            r = (res.get(k) or {}).get("result")
            if r is not None:
                row[v] = {a["cipher_suite"]["name"] for a in r["accepted_cipher_suites"]}
        lists[f"{loc['ip_address']}:{loc['port']}"] = row
    return wall, rss, lists, {}


def sslscan_suites(addrs, names):
    start = time.monotonic()
    lists, peak = {}, 0
    for addr in addrs:
        with tempfile.NamedTemporaryFile(suffix=".xml") as out:
            _, rss, _, _ = timed(["sslscan", "--no-colour", "--no-fallback", "--no-renegotiation",
                                  "--no-compression", "--no-heartbleed", "--no-groups",
                                  "--no-check-certificate", f"--xml={out.name}", addr])
            peak = max(peak, rss)
            try:
                tree = ET.parse(out.name)
            except ET.ParseError:
                lists[addr] = {}
                continue
            row = {v: set() for v in ALL_VERSIONS}
            for c in tree.getroot().iter("cipher"):
                v = PEER_VERSION.get(c.get("sslversion"))
                if v and c.get("status") in ("accepted", "preferred"):
                    ident = int(c.get("id"), 16)
                    names.learn(c.get("cipher"), ident)
                    row[v].add(ident)
            lists[addr] = row
    return time.monotonic() - start, peak, lists, {}


def nmap_suites(addrs, names):
    hosts = [a.rsplit(":", 1)[0] for a in addrs]
    port = addrs[0].rsplit(":", 1)[1]
    with tempfile.NamedTemporaryFile(suffix=".xml") as out:
        wall, rss, _, _ = timed(["nmap", "-Pn", "-n", "-p", port, "--script", "ssl-enum-ciphers",
                                 "-oX", out.name, *hosts])
        tree = ET.parse(out.name)
    lists, orders = {}, {}
    for host in tree.getroot().iter("host"):
        addr = f"{host.find('address').get('addr')}:{port}"
        row = {v: set() for v in ALL_VERSIONS}
        for script in host.iter("script"):
            if script.get("id") != "ssl-enum-ciphers":
                continue
            for vt in script.findall("table"):
                v = PEER_VERSION.get(vt.get("key"))
                if not v:
                    continue
                for sub in vt.findall("table"):
                    if sub.get("key") == "ciphers":
                        for c in sub.findall("table"):
                            for el in c.findall("elem"):
                                if el.get("key") == "name":
                                    row[v].add(el.text)
                for el in vt.findall("elem"):
                    if el.get("key") == "cipher preference":
                        orders.setdefault(addr, {})[v] = el.text
        lists[addr] = row
    return wall, rss, lists, orders


def testssl_suites(addrs, names):
    """testssl.sh -E on each address, side by side; its lists, and why it listed nothing where
    it said why."""
    with tempfile.TemporaryDirectory() as d:
        listing = os.path.join(d, "targets.txt")
        with open(listing, "w") as f:
            for a in addrs:
                f.write(f"-E {a}\n")
        out = os.path.join(d, "out.json")
        wall, rss, _, _ = timed(["testssl", "--quiet", "--color", "0", "--parallel", "--jsonfile", out,
                                 "--file", listing], timeout=3600)
        try:
            entries = json.load(open(out))
        except (OSError, ValueError):
            entries = []
    lists, problems = {}, {}
    for e in entries:
        addr = f"{e.get('ip', '').split('/')[-1]}:{e.get('port')}"
        m = re.match(r"cipher-(ssl3|tls1|tls1_1|tls1_2|tls1_3)_x([0-9a-f]+)$", e.get("id", ""))
        if m:
            row = lists.setdefault(addr, {v: set() for v in ALL_VERSIONS})
            ident = int(m.group(2), 16)
            names.learn(e["finding"].split()[-1], ident)
            row[TESTSSL_VERSION[m.group(1)]].add(ident)
        elif e.get("id") == "optimal_proto" and e.get("severity") == "WARN":
            problems[addr] = e.get("finding", "")
    return wall, rss, lists, problems


def compare_lists(ours, theirs, addrs, names):
    """(endpoint x version lists that agree, lists compared, [disagreements])."""
    good = total = 0
    diffs = []
    for a in addrs:
        mine = ours.get(a, {})
        row = theirs.get(a)
        if not row:
            continue
        for v in ALL_VERSIONS:
            if v not in row:
                continue
            total += 1
            want = mine.get(v, set())
            got = {names.key(x) for x in row[v]}
            if got == want:
                good += 1
            else:
                diffs.append((a, v, sorted(want - got, key=str), sorted(got - want, key=str)))
    return good, total, diffs


def show_id(x):
    return f"0x{x:04X}" if isinstance(x, int) else x


def scenario_suites(n, runs, tmp):
    names = Names()
    estate, targets = suite_estate(n, tmp, "loopback")
    profiles = dict(targets)
    addrs = [a for a, _ in targets]
    plain = os.path.join(tmp, "suites.plain")
    write_addrs(addrs, plain)
    sub = [next(a for a, q in targets if q == p) for p in PROFILES]
    sub_plain = os.path.join(tmp, "suites-sub.plain")
    write_addrs(sub, sub_plain)
    costs = {k: Meter(estate.proc.pid) for k in ("wire", "both", "sslyze", "sslscan", "nmap")}
    last = {}

    def ours(engine):
        r = ours_suites(plain, engine, names)
        last[engine] = r[4]
        return r[:4]

    try:
        log(f"suites {n}: tlsmatrix --suites --engine wire")
        w_wall, w_rss, w_lists, w_orders = median_of4(runs, lambda: ours("wire"), costs["wire"])
        log(f"suites {n}: tlsmatrix --suites (both engines)")
        b_wall, b_rss, b_lists, _ = median_of4(runs, lambda: ours("both"), costs["both"])
        log(f"suites {n}: sslyze")
        y_wall, y_rss, y_lists, _ = median_of4(runs, lambda: sslyze_suites(addrs, names), costs["sslyze"])
        log(f"suites {n}: sslscan loop")
        s_wall, s_rss, s_lists, _ = median_of4(runs, lambda: sslscan_suites(addrs, names), costs["sslscan"])
        log(f"suites {n}: nmap ssl-enum-ciphers")
        n_wall, n_rss, n_lists, n_orders = median_of4(runs, lambda: nmap_suites(addrs, names), costs["nmap"])
        log(f"suites {n}: tlsmatrix on the {len(sub)}-endpoint subset")
        ws_wall, ws_rss, _, _ = median_of4(runs, lambda: ours_suites(sub_plain, "wire", names)[:4])
        log(f"suites {n}: testssl.sh -E --parallel on {len(sub)} endpoints (one run)")
        t_wall, t_rss, t_lists, t_problems = testssl_suites(sub, names)
    finally:
        estate.close()

    peers = [("sslyze (every cipher suite command)", y_wall, y_rss, y_lists, addrs, w_wall),
             ("sslscan, serial loop", s_wall, s_rss, s_lists, addrs, w_wall),
             ("nmap ssl-enum-ciphers", n_wall, n_rss, n_lists, addrs, w_wall),
             ("testssl.sh -E --parallel (1 run)", t_wall, t_rss, t_lists, sub, ws_wall)]
    g, c, _ = compare_lists(w_lists, b_lists, addrs, names)
    rows = [("tlsmatrix --suites --engine wire", len(addrs), f"{w_wall:.2f}", mib(w_rss), "1.00", "reference"),
            ("tlsmatrix --suites (both engines)", len(addrs), f"{b_wall:.2f}", mib(b_rss),
             f"{b_wall / w_wall:.2f}", f"{g}/{c}"),
            ("tlsmatrix --suites --engine wire", len(sub), f"{ws_wall:.2f}", mib(ws_rss), "1.00", "reference")]
    details, summary = [], []
    for name, wall, rss, lists, on, ref in peers:
        good, total, diffs = compare_lists(w_lists, lists, on, names)
        rows.append((name, len(on), f"{wall:.2f}", mib(rss), f"{wall / ref:.1f}", f"{good}/{total}"))
        summary.append(f"{name.split(' ')[0]} {wall / ref:.1f}x slower ({good}/{total} lists equal)")
        for a, v, only_ours, only_theirs in diffs:
            details.append(f"{name}: {a} ({profiles.get(a)}) {v}: only tlsmatrix "
                           f"{[show_id(x) for x in only_ours]}, only the peer {[show_id(x) for x in only_theirs]}")
        for a in on:
            if not lists.get(a):
                why = t_problems.get(a, "no result") if name.startswith("testssl") else "no result"
                details.append(f"{name}: {a} ({profiles.get(a)}): nothing listed: {why}")
    table(f"Suite enumeration: {len(addrs)} endpoints (modern, legacy, 3DES only, anonymous DH), "
          f"median of {runs}", ["tool", "endpoints", "wall s", "peak RSS MiB", "x tlsmatrix",
                                "lists equal to ours"], rows)
    order_good = order_total = 0
    for a in addrs:
        for v, o in n_orders.get(a, {}).items():
            if len(w_lists[a].get(v, ())) >= 2:
                order_total += 1
                order_good += o == w_orders.get(a, {}).get(v)
    print(f"\nServer order (ours against nmap's \"cipher preference\", versions with two suites or more): "
          f"{order_good}/{order_total} agree")
    if details:
        print("\nDisagreements:")
        for d in details:
            print(f"  {d}")
    where = where_suite_time_goes(len(addrs), costs, {"wire": w_wall, "both": b_wall, "sslyze": y_wall,
                                                     "sslscan": s_wall, "nmap": n_wall}, last, profiles)
    return (f"suites {len(addrs)}: tlsmatrix --suites {w_wall:.2f} s (wire), {b_wall:.2f} s (both engines); "
            f"{', '.join(summary)}; server order agrees with nmap on {order_good}/{order_total}; {where}")


def where_suite_time_goes(n, costs, walls, last, profiles):
    """A table of what each tool's suite enumeration cost the estate and itself, and our own
    connections by kind; returns a one-line summary."""
    labels = {"wire": "tlsmatrix --suites --engine wire", "both": "tlsmatrix --suites (both engines)",
              "sslyze": "sslyze", "sslscan": "sslscan, serial loop", "nmap": "nmap ssl-enum-ciphers"}
    rows, per = [], {}
    for k, label in labels.items():
        syns, server, tool = costs[k].median()
        wall = walls[k]
        per[k] = (syns, server, wall)
        rows.append((label, f"{wall:.2f}", "-" if syns is None else f"{syns:.0f}",
                     "-" if syns is None else f"{syns / n:.1f}", f"{server:.2f}",
                     "-" if not syns else f"{server / syns * 1000:.2f}", f"{server / wall * 100:.0f}%",
                     f"{tool:.2f}"))
    table(f"Where the suite enumeration's time goes ({n} endpoints, medians): connections opened to the "
          f"estate (SYNs on lo), CPU time of the estate's servers (2 cores in all) and of the tool",
          ["tool", "wall s", "connections", "per endpoint", "server CPU s", "server ms/connection",
           "server CPU / wall", "tool CPU s"], rows)
    # Our connections by kind, from the last report of each engine.
    kinds = []
    for engine in ("wire", "both"):
        report = last.get(engine)
        if not report:
            continue
        by_profile = {}
        for e in report["endpoints"]:
            addr = f"{e['address']}:{e['port']}"
            probes = sum(c.get("attempts", 0) for c in e["versions"].values())
            suites = sum(s["connections"] for s in e.get("suites", {}).values())
            found = sum(len(s["suites"]) for s in e.get("suites", {}).values())
            extra = sum(len(s.get("groups", [])) + len(s.get("signature_algorithms", []))
                        for s in e.get("suites", {}).values())
            acc = by_profile.setdefault(profiles.get(addr, "?"), [0, 0, 0, 0, 0])
            for i, x in enumerate((1, probes, suites, found, extra)):
                acc[i] += x
        for prof, (k, probes, suites, found, extra) in sorted(by_profile.items()):
            kinds.append((engine, prof, k, f"{probes / k:.1f}", f"{suites / k:.1f}", f"{found / k:.1f}",
                          f"{extra / k:.1f}"))
    if kinds:
        table("tlsmatrix's connections per endpoint, by suite profile (last run)",
              ["engine", "profile", "endpoints", "version probes", "suite enumeration",
               "suites found", "groups + signature algorithms found"], kinds)
    w, nm = per["wire"], per["nmap"]
    cores = os.cpu_count() or 1
    print(f"\nThe estate's servers run on this machine's {cores} cores, with the tool and whatever else runs "
          f"here. Every suite, group or signature algorithm a server takes costs it a handshake's key "
          f"exchange and signature (a refusal costs next to nothing), so the servers' CPU time is a floor "
          f"on the wall time of any tool that lists the same things: {w[1]:.2f} s of server CPU for "
          f"tlsmatrix is at least {w[1] / cores:.2f} s of wall on {cores} cores, against {w[2]:.2f} s "
          f"measured; nmap's {nm[1]:.2f} s of server CPU (it lists no signature algorithms) is at least "
          f"{nm[1] / cores:.2f} s, so 10x faster than nmap ({nm[2] / 10:.2f} s) is out of reach on a "
          f"loopback estate sharing the cores, whatever the client does. Against real servers the "
          f"servers' CPU is theirs and the round trips set the pace: see the latency scenario.")
    if w[0] and nm[0]:
        return (f"connections per endpoint: tlsmatrix {w[0] / n:.1f}, nmap {nm[0] / n:.1f}; estate CPU "
                f"{w[1]:.1f} s (tlsmatrix) against {nm[1]:.1f} s (nmap), i.e. {w[1] / w[2] * 100:.0f}% and "
                f"{nm[1] / nm[2] * 100:.0f}% of their wall time")
    return "connections not counted (no tcpdump)"


# --- latency ----------------------------------------------------------------------------------

class Proxy:
    """benches/delay_proxy.py in front of the given addresses: 127.1.x.y:PORT gets 127.6.x.y:PORT."""

    def __init__(self, delay_ms, addrs, tmp):
        self.map = {}
        lines = []
        for a in addrs:
            host, port = a.rsplit(":", 1)
            o = host.split(".")
            front = f"127.6.{o[2]}.{o[3]}:{port}"
            self.map[a] = front
            lines.append(f"{front} {a}")
        path = os.path.join(tmp, "proxy.map")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([sys.executable, PROXY, str(delay_ms), path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the delay proxy did not start")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


OLD_TLS = ("ssl3", "tls1.0", "tls1.1", "tls1.2")


def cell_rtts(version, cell):
    """Round trips one version probe needs at least, its engines side by side: the wire engine
    two a connection (the TCP handshake, then the hello and the server's first flight), its
    connections one after another; the OpenSSL engine one connection, and before TLS 1.3 one
    round trip more when its handshake completed (the client's Finished and the server's)."""
    engines = cell.get("engines") or {}
    attempts = cell.get("attempts", 0)
    answer = engines.get("openssl") or {}
    o = answer.get("status")
    if not engines or o is None:
        return 2 * attempts
    # The OpenSSL engine put one connection on the wire unless this OpenSSL cannot offer the
    # version (a handshake_failure to what it offered is not_testable too, after a connection).
    tried = o not in ("not_testable", "interrupted") or answer.get("detail", "").startswith("the server")
    o_conns = 1 if tried and attempts else 0
    wire = 2 * max(attempts - o_conns, 0)
    openssl = 0
    if o_conns:
        openssl = 3 if o == "accepted" and version in OLD_TLS and cell.get("status") == "accepted" \
            and "handshake is not finished" not in cell.get("detail", "") else 2
    return max(wire, openssl)


def packed(durations, slots):
    """The shortest time `durations` take on `slots` side by side (exact for a handful,
    else the lower bound: the longest, or the total spread evenly)."""
    durations = sorted((d for d in durations if d), reverse=True)
    if not durations:
        return 0
    if len(durations) > 8:
        return max(durations[0], sum(durations) / slots)
    best = [sum(durations)]

    def place(i, loads):
        if max(loads) >= best[0]:
            return
        if i == len(durations):
            best[0] = max(loads)
            return
        seen = set()
        for k in range(len(loads)):
            if loads[k] in seen:
                continue
            seen.add(loads[k])
            loads[k] += durations[i]
            place(i + 1, loads)
            loads[k] -= durations[i]

    place(0, [0] * min(slots, len(durations)))
    return best[0]


def floor_seconds(report, rtt, per_host, concurrency, with_suites):
    """The fewest round trips our probes need. Per endpoint: its version probes (see
    `cell_rtts`; a probe takes one `--per-host` slot whatever its engines) packed onto the
    per-host slots, and with --suites every enumeration connection too (two round trips each,
    one slot each), never less than the longest version probe (the enumeration's chains of
    hellos one after another are left out: a lower bound). Over the estate: every connection
    packed onto `--concurrency` slots."""
    worst = total = 0
    for e in report["endpoints"]:
        cells = [cell_rtts(v, c) for v, c in e["versions"].items()]
        jobs = list(cells)
        conns = sum(c.get("attempts", 0) for c in e["versions"].values())
        if with_suites:
            extra = sum(s["connections"] for s in e.get("suites", {}).values())
            jobs += [2] * extra
            conns += extra
        total += conns
        worst = max(worst, packed(jobs, per_host))
    rtts = max(worst, 2 * total / concurrency)
    return rtts * rtt, rtts


def scenario_latency(n, runs, tmp, delay_ms=50):
    rtt = 2 * delay_ms / 1000
    names = Names()
    estate, targets = suite_estate(n, tmp, "latency")
    addrs = [a for a, _ in targets]
    proxy = Proxy(delay_ms, addrs, tmp)
    plain = os.path.join(tmp, "latency.plain")
    write_addrs([proxy.map[a] for a in addrs], plain)
    # The same scans without the proxy: the local work (the handshakes' CPU on both sides, on
    # this machine's cores) that no round trip accounts for.
    direct = os.path.join(tmp, "latency-direct.plain")
    write_addrs(addrs, direct)
    # The peers make hundreds of connections an endpoint: one endpoint of each profile.
    sub = [proxy.map[next(a for a, q in targets if q == p)] for p in PROFILES]
    sub_plain = os.path.join(tmp, "latency-sub.plain")
    write_addrs(sub, sub_plain)
    per_host, concurrency = 4, 256
    settings = ["--per-host", str(per_host), "--concurrency", str(concurrency)]
    rows = []
    try:
        for label, extra, suites in (("versions, --engine wire", ["--engine", "wire"], False),
                                     ("versions, both engines", [], False),
                                     ("--suites, --engine wire", ["--engine", "wire", "--suites"], True),
                                     ("--suites, both engines", ["--suites"], True)):
            log(f"latency: tlsmatrix {label}")
            results = []
            for _ in range(runs):
                with tempfile.NamedTemporaryFile(suffix=".json") as out:
                    wall = timed([TLSMATRIX, "scan", "-q", "-f", plain, "--format", "json", "-o", out.name,
                                  *settings, *extra])[0]
                    results.append((wall, json.load(open(out.name))))
            wall = statistics.median(r[0] for r in results)
            report = results[-1][1]
            floor, rounds = floor_seconds(report, rtt, per_host, concurrency, suites)
            conns = sum(e.get("connections") or 0 for e in report["endpoints"])
            local = statistics.median(
                timed([TLSMATRIX, "scan", "-q", "-f", direct, "--format", "json", *settings, *extra])[0]
                for _ in range(runs))
            rows.append((f"tlsmatrix {label}", len(addrs), f"{wall:.2f}", f"{floor:.2f} ({rounds:g} RTT)",
                         f"{wall / floor:.2f}", conns, f"{local:.2f}"))
        log(f"latency: tlsmatrix --suites --engine wire on the {len(sub)}-endpoint subset")
        sw = statistics.median(timed([TLSMATRIX, "scan", "-q", "--suites", "--engine", "wire", "-f", sub_plain,
                                      "--format", "json", *settings])[0]
                               for _ in range(runs))
        rows.append(("tlsmatrix --suites, --engine wire", len(sub), f"{sw:.2f}", "", "1.00", "", ""))
        for name, fn in (("nmap ssl-enum-ciphers", lambda: nmap_suites(sub, names)),
                         ("sslyze", lambda: sslyze_suites(sub, names)),
                         ("sslscan, serial loop", lambda: sslscan_suites(sub, names))):
            log(f"latency: {name} on {len(sub)} endpoints (one run)")
            wall = fn()[0]
            rows.append((name, len(sub), f"{wall:.2f}", "", f"{wall / sw:.1f}", "", ""))
    finally:
        proxy.close()
        estate.close()
    table(f"Latency: the suite estate behind {delay_ms} ms each way (--per-host {per_host}, --concurrency "
          f"{concurrency}); tlsmatrix median of {runs}, peers one run",
          ["run", "endpoints", "wall s", "round-trip floor s", "x floor (peers: x tlsmatrix)", "connections",
           "same scan without the proxy, wall s"],
          rows)
    print("\nThe floor: per endpoint its version probes packed onto --per-host slots (a wire hello two round "
          "trips, as the proxy holds a connection's first bytes one round trip more, as the TCP handshake would; "
          "the wire engine's hellos of one probe one after another; the OpenSSL engine's handshake side by side "
          "with them, one round trip more when it completes before TLS 1.3), with --suites every enumeration "
          "connection too (two round trips, one slot each), never less than the longest probe; over the "
          "estate every connection onto --concurrency slots. The last column is the "
          "same scan straight to the estate: the time the handshakes' CPU takes on this machine (the estate's "
          "servers, the proxy and tlsmatrix share its cores), which the floor leaves out and the wall time "
          "with the proxy includes. testssl.sh is not run here: it took about 40 s per endpoint without the "
          "delay.")
    return ("latency: " + "; ".join(f"{r[0]} {r[2]} s = {r[4]}x the floor ({r[6]} s without the proxy)"
                                    for r in rows[:4]) + "; on "
            + f"{len(sub)} endpoints " + ", ".join(f"{r[0]} {r[4]}x tlsmatrix" for r in rows[5:]))


# --- dead hosts and memory --------------------------------------------------------------------

def scenario_dead(runs, tmp):
    dead_path = os.path.join(tmp, "dead.txt")
    live_path = os.path.join(tmp, "live10.txt")
    dead = Estate("dead", 1000, dead_path)
    live = Estate("live", 10, live_path)
    timeout_s = 5  # the default connect timeout
    try:
        live_targets = read_targets(live_path)
        plain = os.path.join(tmp, "dead-and-live.plain")
        with open(plain, "w") as f:
            f.write(open(dead_path).read())
            for a, _ in live_targets:
                f.write(a + "\n")
        log("dead hosts: tlsmatrix at the defaults")
        wall, rss, m = median_of(runs, lambda: run_ours(plain, "both")[:3])
        g, c = agreement(m, live_targets)
        results = [("at the defaults", wall, rss, f"{g}/{c}")]
    finally:
        dead.close()
        live.close()
    rows = [(f"tlsmatrix {l}", f"{w:.2f}", mib(r), f"{w / timeout_s:.2f}", a) for l, w, r, a in results]
    table(f"Dead hosts: 1,000 silent endpoints + 10 live, default connect timeout {timeout_s} s",
          ["run", "wall s", "peak RSS MiB", "x connect timeout", "live cells right"], rows)
    best = results[0]
    return (f"dead hosts: {best[1]:.2f} s = {best[1] / timeout_s:.2f}x one connect timeout at the defaults; "
            f"live cells {best[3]}")


def scenario_memory(tmp):
    rows = []
    live_path = os.path.join(tmp, "mem-live.txt")
    live = Estate("live", 10, live_path)
    peaks = {}
    try:
        live_targets = read_targets(live_path)
        for n in (1000, 10000):
            plain = os.path.join(tmp, f"mem{n}.plain")
            with open(plain, "w") as f:
                for a, _ in live_targets:
                    f.write(a + "\n")
                for i in range(n - len(live_targets)):
                    # Nothing listens on these loopback addresses: each connection is refused.
                    f.write(f"127.3.{i // 250}.{i % 250 + 1}:4433\n")
            for label, extra in (("versions", []), ("--suites", ["--suites"])):
                log(f"memory: {n} endpoints, {label}")
                wall, rss, m, _ = run_ours(plain, "both", extra)
                g, c = agreement(m, live_targets)
                peaks[(n, label)] = rss
                rows.append((n, label, f"{wall:.2f}", mib(rss), f"{g}/{c}"))
    finally:
        live.close()
    table("Memory: endpoints that refuse connections (10 live among them), default settings",
          ["endpoints", "scan", "wall s", "peak RSS MiB", "live cells right"], rows)
    return (f"memory: peak RSS at 10,000 endpoints {mib(peaks[(10000, 'versions')])} MiB, "
            f"{mib(peaks[(10000, '--suites')])} MiB with --suites (1,000: {mib(peaks[(1000, 'versions')])} / "
            f"{mib(peaks[(1000, '--suites')])} MiB)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="endpoints in the loopback estate")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peer-subset", type=int, default=50,
                    help="endpoints given to the slow peers (sslyze, testssl.sh)")
    ap.add_argument("--suite-n", type=int, default=48, help="endpoints in the suite estate")
    ap.add_argument("--only", default="loopback,suites,latency,dead,memory")
    ap.add_argument("--no-install", action="store_true")
    args = ap.parse_args()
    install(args.no_install)
    build()
    only = args.only.split(",")
    print(f"# tlsmatrix benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**30} GiB")
    summary = []
    with tempfile.TemporaryDirectory() as tmp:
        if "loopback" in only:
            summary.append(scenario_loopback(args.n, args.runs, args.peer_subset, tmp))
        if "suites" in only:
            summary.append(scenario_suites(args.suite_n, args.runs, tmp))
        if "latency" in only:
            summary.append(scenario_latency(args.suite_n, args.runs, tmp))
        if "dead" in only:
            summary.append(scenario_dead(args.runs, tmp))
        if "memory" in only:
            summary.append(scenario_memory(tmp))
    print("\n## Summary\n")
    for s in summary:
        print(s)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""tlsmatrix against its peers, on this machine, in one run.

Scenarios (each measured in the same run, so figures are ratios on the same machine state):
  loopback  N TLS endpoints on their own loopback addresses with mixed version ranges; tlsmatrix
            (OpenSSL engine, and both engines), the bare handshake loop, a serial sslscan loop,
            nmap ssl-enum-ciphers, sslyze and testssl.sh; every peer's answers compared cell by
            cell with what the endpoints really accept.
  latency   the same endpoints behind 50 ms each way (network namespace + tc netem), when the
            kernel has netem.
  dead      1,000 endpoints that never answer a SYN plus 10 live ones.
  memory    peak RSS at 1,000 and 10,000 endpoints (all but 10 refusing connections).

Usage: python3 benches/peers.py [--n 200] [--runs 3] [--peer-subset 50] [--only loopback,...]
Peers missing from the machine are installed (Debian packages nmap, testssl.sh, sslscan; sslyze
from PyPI) unless --no-install is given. Wall times are medians; RSS is the peak of the
process tree measured by /usr/bin/time.
"""

import argparse
import json
import os
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
BARE = os.path.join(REL, "examples", "bare_loop")
VERSIONS = ["tls1.0", "tls1.1", "tls1.2", "tls1.3"]
ORDER = ["ssl3", "tls1.0", "tls1.1", "tls1.2", "tls1.3"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def install(skip):
    need_apt = [p for p, exe in (("nmap", "nmap"), ("testssl.sh", "testssl"), ("sslscan", "sslscan"),
                                 ("time", "/usr/bin/time")) if not shutil.which(exe)]
    if need_apt and not skip:
        log("installing", " ".join(need_apt))
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *need_apt],
                       check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not shutil.which("sslyze") and not skip:
        log("installing sslyze")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "sslyze"], check=True)


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
        wall, rss, _, _ = timed(["sslyze", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3",
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


def scenario_dead(runs, tmp, timeout_s=2):
    dead_path = os.path.join(tmp, "dead.txt")
    live_path = os.path.join(tmp, "live10.txt")
    dead = Estate("dead", 1000, dead_path)
    live = Estate("live", 10, live_path)
    try:
        live_targets = read_targets(live_path)
        plain = os.path.join(tmp, "dead-and-live.plain")
        with open(plain, "w") as f:
            f.write(open(dead_path).read())
            for a, _ in live_targets:
                f.write(a + "\n")
        results = []
        for label, extra in (("default --concurrency 64", []), ("--concurrency 2048", ["--concurrency", "2048"])):
            log(f"dead hosts: tlsmatrix {label}")
            args = ["--connect-timeout", f"{timeout_s}s", "--timeout", f"{timeout_s * 2}s", *extra]
            wall, rss, m = median_of(runs, lambda: run_ours(plain, "both", args)[:3])
            g, c = agreement(m, live_targets)
            results.append((label, wall, rss, f"{g}/{c}"))
    finally:
        dead.close()
        live.close()
    rows = [(f"tlsmatrix {l}", f"{w:.2f}", mib(r), f"{w / timeout_s:.2f}", a) for l, w, r, a in results]
    table(f"Dead hosts: 1,000 silent endpoints + 10 live, connect timeout {timeout_s} s, median of {runs}",
          ["run", "wall s", "peak RSS MiB", "x connect timeout", "live cells right"], rows)
    best = results[-1]
    return (f"dead hosts: {best[1]:.2f} s = {best[1] / timeout_s:.2f}x one connect timeout with "
            f"--concurrency 2048 ({results[0][1]:.1f} s with the default 64); live cells {best[3]}")


def scenario_memory(tmp):
    rows = []
    live_path = os.path.join(tmp, "mem-live.txt")
    live = Estate("live", 10, live_path)
    try:
        live_targets = read_targets(live_path)
        peaks = {}
        for n in (1000, 10000):
            plain = os.path.join(tmp, f"mem{n}.plain")
            with open(plain, "w") as f:
                for a, _ in live_targets:
                    f.write(a + "\n")
                for i in range(n - len(live_targets)):
                    # Nothing listens on these loopback addresses: each connection is refused.
                    f.write(f"127.3.{i // 250}.{i % 250 + 1}:4433\n")
            log(f"memory: {n} endpoints")
            wall, rss, m, _ = run_ours(plain, "both", ["--concurrency", "256"])
            g, c = agreement(m, live_targets)
            peaks[n] = rss
            rows.append((n, f"{wall:.2f}", mib(rss), f"{g}/{c}"))
    finally:
        live.close()
    table("Memory: endpoints that refuse connections (10 live among them)",
          ["endpoints", "wall s", "peak RSS MiB", "live cells right"], rows)
    return (f"memory: peak RSS {mib(peaks[1000])} MiB at 1,000 endpoints, {mib(peaks[10000])} MiB at 10,000 "
            f"({peaks[10000] / peaks[1000]:.2f}x for 10x the endpoints)")


def scenario_latency():
    probe = subprocess.run(["sh", "-c", "ip netns add tlsmatrix-netem-probe && "
                            "ip netns exec tlsmatrix-netem-probe tc qdisc add dev lo root netem delay 1ms; "
                            "r=$?; ip netns del tlsmatrix-netem-probe; exit $r"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["unknown"])[-1]
        print(f"\n## Latency\n\nnot measured: tc netem is not available on this kernel ({why})")
        return f"latency: not measured (no tc netem here: {why})"
    print("\n## Latency\n\nnetem is available, but this benchmark does not drive it yet")
    return "latency: not measured"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="endpoints in the loopback estate")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peer-subset", type=int, default=50,
                    help="endpoints given to the slow peers (sslyze, testssl.sh)")
    ap.add_argument("--only", default="loopback,latency,dead,memory")
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
        if "latency" in only:
            summary.append(scenario_latency())
        if "dead" in only:
            summary.append(scenario_dead(args.runs, tmp))
        if "memory" in only:
            summary.append(scenario_memory(tmp))
    print("\n## Summary\n")
    for s in summary:
        print(s)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The exporter under many scrapes: is its memory flat, how fast does it answer?

Starts a loopback estate (examples/estate, N TLS endpoints with mixed version ranges), then
`tlsmatrix serve` with `min_interval: 0` (every scrape is a real scan), and scrapes
/probe?target=... round-robin over the estate from C threads, S scrapes in all. The exporter's
resident memory (VmRSS from /proc) is read every S/20 scrapes; the first reading after a warm-up
of S/10 scrapes is the baseline, and the growth after it is the figure to watch. Then a second
round with `min_interval: 1h` checks that cached answers (the same targets again) keep the cache
at one entry per target.

Usage: python3 benches/serve.py [--scrapes 20000] [--threads 8] [--endpoints 20]
Every answer is checked: HTTP 200 and tlsmatrix_probe_success 1 with the verdict the endpoint's
range calls for.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
TLSMATRIX = os.path.join(REL, "tlsmatrix")
ESTATE = os.path.join(REL, "examples", "estate")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def sample(text, name):
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            return float(line.rsplit(" ", 1)[1])
    return None


class Exporter:
    def __init__(self, config):
        self.proc = subprocess.Popen([TLSMATRIX, "serve", "--listen", "127.0.0.1:0", "--config", config],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        if "listening on " not in line:
            raise RuntimeError(f"serve did not start: {line!r}")
        self.base = line.split("listening on ", 1)[1].split(";", 1)[0]
        # Keep reading its standard error so that it never blocks on a full pipe.
        threading.Thread(target=lambda: self.proc.stderr.read(), daemon=True).start()

    def get(self, path, timeout=30):
        req = urllib.request.Request(self.base + path, headers={"X-Prometheus-Scrape-Timeout-Seconds": "10"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def scrape_round(exporter, targets, scrapes, threads, readings):
    """Scrape round-robin; returns latencies (s). `readings` gets (scrapes done, RSS KiB)."""
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "bad": []}
    latencies = []
    every = max(1, scrapes // 20)

    def worker():
        while True:
            with lock:
                i = state["next"]
                if i >= scrapes:
                    return
                state["next"] += 1
            addr, want = targets[i % len(targets)]
            start = time.monotonic()
            status, text = exporter.get(f"/probe?target=tls://{addr}")
            took = time.monotonic() - start
            ok = status == 200 and sample(text, "tlsmatrix_probe_success") == 1.0
            verdict = f'verdict="{want}"}} 1.0'
            ok = ok and any(l.startswith("tlsmatrix_endpoint_verdict{") and l.endswith(verdict)
                            for l in text.splitlines())
            with lock:
                latencies.append(took)
                if not ok:
                    state["bad"].append((addr, status, text[:300]))
                state["done"] += 1
                if state["done"] % every == 0:
                    readings.append((state["done"], rss_kib(exporter.proc.pid)))

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if state["bad"]:
        raise RuntimeError(f"{len(state['bad'])} wrong answers, first: {state['bad'][0]}")
    return latencies


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scrapes", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--endpoints", type=int, default=20)
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    if not a.no_build:
        log("building tlsmatrix and examples/estate (release)")
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "tlsmatrix", "--example", "estate"],
                       cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp(prefix="tlsmatrix-serve-bench-")
    targets_file = os.path.join(tmp, "targets.txt")
    estate = subprocess.Popen([ESTATE, "live", str(a.endpoints), targets_file], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    if estate.stdout.readline().strip() != "ready":
        raise RuntimeError("the estate did not start")
    # The verdict each range calls for (TLS 1.0 to 1.3 probed).
    verdicts = {("tls1.0", "tls1.3"): "legacy", ("tls1.2", "tls1.3"): "ready",
                ("tls1.2", "tls1.2"): "ready", ("tls1.3", "tls1.3"): "ready"}
    targets = []
    for line in open(targets_file):
        addr, rng = line.split()
        lo, hi = rng.split("-")
        targets.append((addr, verdicts[(lo, hi)]))

    results = {}
    try:
        config = os.path.join(tmp, "fresh.yml")
        with open(config, "w") as f:
            f.write("limits:\n  min_interval: 0\nmodules:\n  default:\n    versions: [tls1.0, tls1.1, tls1.2, tls1.3]\n")
        ex = Exporter(config)
        readings = []
        start = time.monotonic()
        lat = scrape_round(ex, targets, a.scrapes, a.threads, readings)
        wall = time.monotonic() - start
        _, own = ex.get("/metrics")
        ex.close()
        warm = next(r for n, r in readings if n >= a.scrapes // 10)
        results["fresh"] = dict(wall=wall, lat=lat, readings=readings, warm=warm,
                                scans=sample(own, "tlsmatrix_exporter_scans_total"),
                                cache=sample(own, "tlsmatrix_exporter_cache_entries"))

        config = os.path.join(tmp, "cached.yml")
        with open(config, "w") as f:
            f.write("limits:\n  min_interval: 1h\nmodules:\n  default:\n    versions: [tls1.0, tls1.1, tls1.2, tls1.3]\n")
        ex = Exporter(config)
        readings = []
        start = time.monotonic()
        lat = scrape_round(ex, targets, a.scrapes, a.threads, readings)
        wall = time.monotonic() - start
        _, own = ex.get("/metrics")
        ex.close()
        warm = next(r for n, r in readings if n >= a.scrapes // 10)
        results["cached"] = dict(wall=wall, lat=lat, readings=readings, warm=warm,
                                 scans=sample(own, "tlsmatrix_exporter_scans_total"),
                                 cache=sample(own, "tlsmatrix_exporter_cache_entries"))
    finally:
        estate.stdin.close()
        estate.wait(timeout=30)

    print(f"{a.scrapes} scrapes per round, {a.threads} threads, {a.endpoints} endpoints x TLS 1.0-1.3")
    print()
    print("| round | scrapes/s | p50 ms | p99 ms | scans run | cache entries | RSS after warm-up | RSS at the end | growth |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        lat = sorted(r["lat"])
        p50 = statistics.median(lat) * 1000
        p99 = lat[int(len(lat) * 0.99) - 1] * 1000
        end = r["readings"][-1][1]
        print(f"| {name} | {len(lat) / r['wall']:.0f} | {p50:.1f} | {p99:.1f} | {r['scans']:.0f} | "
              f"{r['cache']:.0f} | {r['warm'] / 1024:.1f} MiB | {end / 1024:.1f} MiB | "
              f"{(end - r['warm']) / 1024:+.1f} MiB |")
    print()
    print("RSS (MiB) every", a.scrapes // 20, "scrapes, fresh round:",
          " ".join(f"{k / 1024:.1f}" for _, k in results["fresh"]["readings"]))


if __name__ == "__main__":
    main()

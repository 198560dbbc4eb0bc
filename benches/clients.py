#!/usr/bin/env python3
"""tlsmatrix clients on large synthetic captures: peak memory and time per GiB.

The captures are generated at bench time by examples/capture_gen (nothing is downloaded or
kept): `mixed` is a busy domain controller's traffic (complete connections, 32 KiB of data each),
`hostile` is connections that announce a ClientHello, never finish it and send 64 KiB past a gap
(what drove memory to gigabytes before the limits). For each mode and size the capture is piped
straight into `tlsmatrix clients /dev/stdin` (so a multi-gigabyte capture needs no disk), under
/usr/bin/time for the peak RSS; the generator alone is timed too, and one GiB of each mode is
also read from a file to give the reading speed without the generator.

Usage: python3 benches/clients.py [--sizes 1,4] [--modes mixed,hostile] [--no-build]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, "target", "release")
TLSMATRIX = os.path.join(REL, "tlsmatrix")
GEN = os.path.join(REL, "examples", "capture_gen")
GIB = 1 << 30


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def timed_shell(script):
    """Wall seconds and peak RSS (KiB) of the last command of a pipeline run under time -v."""
    with tempfile.NamedTemporaryFile("r") as tf:
        start = time.monotonic()
        r = subprocess.run(["bash", "-o", "pipefail", "-c", script.replace("TIME", f"/usr/bin/time -v -o {tf.name}")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wall = time.monotonic() - start
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tf.read())
    if r.returncode not in (0, 3):
        raise RuntimeError(f"{script}: exit {r.returncode}: {r.stderr[-2000:]}")
    return wall, int(m.group(1)) if m else None, r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,4", help="capture sizes in GiB, comma-separated")
    ap.add_argument("--modes", default="mixed,hostile")
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()
    if not os.path.exists("/usr/bin/time"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "time"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not a.no_build:
        log("building tlsmatrix and capture_gen (release)")
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "tlsmatrix",
                        "--example", "capture_gen"], cwd=ROOT, check=True)
    sizes = [float(s) for s in a.sizes.split(",")]
    rows = []
    for mode in a.modes.split(","):
        for gib in sizes:
            n = int(gib * GIB)
            gen_wall, _, _ = timed_shell(f"{GEN} {mode} {n} > /dev/null")
            wall, rss, out = timed_shell(
                f"{GEN} {mode} {n} | TIME {TLSMATRIX} clients /dev/stdin --ports 636 --format json")
            import json
            rep = json.loads(out)
            conns = sum(r["connections"] for r in rep["rows"])
            rows.append((mode, f"{gib:g} GiB piped", wall, wall / gib, rss, gen_wall, conns, rep["dropped"]))
            log(f"{mode} {gib:g} GiB: {wall:.1f} s ({wall / gib:.1f} s/GiB), peak RSS {rss / 1024:.1f} MiB, "
                f"generator alone {gen_wall:.1f} s, dropped {rep['dropped']}")
        with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "target")) as d:
            path = os.path.join(d, f"{mode}.pcap")
            subprocess.run(f"{GEN} {mode} {GIB} > {path}", shell=True, check=True)
            size = os.path.getsize(path) / GIB
            wall, rss, out = timed_shell(f"TIME {TLSMATRIX} clients {path} --ports 636 --format json")
            rows.append((mode, f"{size:.2f} GiB file", wall, wall / size, rss, None, None, None))
            log(f"{mode} file {size:.2f} GiB: {wall:.1f} s ({wall / size:.1f} s/GiB), peak RSS {rss / 1024:.1f} MiB")
    print("| capture | size | wall | per GiB | peak RSS | generator alone | connections in rows | dropped |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, size, wall, per, rss, gen, conns, dropped in rows:
        print(f"| {mode} | {size} | {wall:.1f} s | {per:.1f} s | {rss / 1024:.1f} MiB | "
              f"{'' if gen is None else f'{gen:.1f} s'} | {'' if conns is None else conns} | "
              f"{'' if dropped is None else dropped['connections']} |")


if __name__ == "__main__":
    main()

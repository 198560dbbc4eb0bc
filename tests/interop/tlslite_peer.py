"""tlslite-ng on loopback for the interoperability tests: servers, and a client as an oracle.

    tlslite_peer.py serve SPEC_JSON   start one listener per spec on its loopback host, port 0;
                                      print {"name": port, ...} on one line; serve until stdin
                                      closes
    tlslite_peer.py probe JOBS_JSON   one handshake per job, as a client offering only the job's
                                      version and every cipher tlslite has; print
                                      [{"ok": bool, "detail": str}, ...]

A server spec: {"name", "host", "cert", "key", "min", "max", "ciphers": [...]?, "reqcert": bool?}.
A job: {"host", "port", "version", "cert"?, "key"?}. Versions are "ssl3", "tls1.0" .. "tls1.3".
"""

import json
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from tlslite.api import HandshakeSettings, TLSConnection, X509CertChain, parsePEMKey
from tlslite.handshakesettings import ALL_CIPHER_NAMES, TLS13_PERMITTED_GROUPS

VERSIONS = {
    "ssl3": (3, 0),
    "tls1.0": (3, 1),
    "tls1.1": (3, 2),
    "tls1.2": (3, 3),
    "tls1.3": (3, 4),
}
# Every key exchange that works with an RSA certificate, and every cipher and MAC tlslite has.
KEX = ["rsa", "dhe_rsa", "ecdhe_rsa"]
MACS = ["sha", "sha256", "sha384", "aead", "md5"]


def settings(lo, hi, ciphers):
    s = HandshakeSettings()
    s.minVersion = VERSIONS[lo]
    s.maxVersion = VERSIONS[hi]
    s.versions = [v for v in sorted(VERSIONS.values(), reverse=True) if s.minVersion <= v <= s.maxVersion]
    s.cipherNames = list(ciphers or ALL_CIPHER_NAMES)
    s.keyExchangeNames = list(KEX)
    s.macNames = list(MACS)
    if s.minVersion == (3, 4):
        # tlslite refuses to offer or accept groups TLS 1.3 forbids in a TLS 1.3-only setting.
        s.eccCurves = [g for g in s.eccCurves if g in TLS13_PERMITTED_GROUPS]
        s.keyShares = [g for g in s.keyShares if g in s.eccCurves]
    return s


def identity(cert, key):
    with open(cert) as f:
        chain = X509CertChain()
        chain.parsePemList(f.read())
    with open(key) as f:
        return chain, parsePEMKey(f.read(), private=True)


def serve(specs):
    listeners = {}
    for spec in specs:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((spec["host"], 0))
        sock.listen(64)
        chain, key = identity(spec["cert"], spec["key"])
        s = settings(spec["min"], spec["max"], spec.get("ciphers"))
        listeners[spec["name"]] = sock.getsockname()[1]
        t = threading.Thread(target=accept_loop, args=(sock, chain, key, s, spec.get("reqcert", False)), daemon=True)
        t.start()
    print(json.dumps(listeners), flush=True)
    # Serve until the test that started us goes away.
    sys.stdin.read()


def accept_loop(sock, chain, key, s, reqcert):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=handle, args=(conn, chain, key, s, reqcert), daemon=True).start()


def handle(conn, chain, key, s, reqcert):
    conn.settimeout(10)
    tls = TLSConnection(conn)
    try:
        tls.handshakeServer(certChain=chain, privateKey=key, settings=s, reqCert=reqcert)
        tls.close()
    except Exception:
        pass
    finally:
        conn.close()


def probe_one(job):
    v = job["version"]
    sock = None
    try:
        sock = socket.create_connection((job["host"], job["port"]), timeout=10)
        tls = TLSConnection(sock)
        chain, key = None, None
        if job.get("cert"):
            chain, key = identity(job["cert"], job["key"])
        tls.handshakeClientCert(certChain=chain, privateKey=key, settings=settings(v, v, None))
        got = tls.version
        tls.close()
        if got != VERSIONS[v]:
            return {"ok": False, "detail": "negotiated %r" % (got,)}
        return {"ok": True, "detail": tls.getCipherName() or ""}
    except Exception as e:
        return {"ok": False, "detail": "%s: %s" % (type(e).__name__, e)}
    finally:
        if sock is not None:
            sock.close()


def probe(jobs):
    with ThreadPoolExecutor(max_workers=16) as pool:
        print(json.dumps(list(pool.map(probe_one, jobs))), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(json.loads(sys.argv[2]))
    elif sys.argv[1] == "probe":
        probe(json.loads(sys.argv[2]))
    else:
        sys.exit("usage: tlslite_peer.py serve SPECS | probe JOBS")

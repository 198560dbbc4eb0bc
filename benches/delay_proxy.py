#!/usr/bin/env python3
"""A TCP delay proxy for the latency benchmark, loopback only (this kernel has no netem).

    delay_proxy.py DELAY_MS MAP_FILE

MAP_FILE has one `LISTEN_ADDR:PORT UPSTREAM_ADDR:PORT` a line; both must be loopback addresses.
Every byte is held DELAY_MS in each direction (so a request and its answer take one round trip of
2 x DELAY_MS), and the first bytes a client sends are held one round trip more: the kernel
completes the TCP handshake at once, so without that a connection would cost one round trip
less than on a real network. Prints "ready" when every listener is up; runs until stdin closes.
"""

import asyncio
import ipaddress
import os
import sys
import time


def loopback(hostport):
    host, port = hostport.rsplit(":", 1)
    host = host.strip("[]")
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit(f"delay_proxy: {host} is not a loopback address")
    return host, int(port)


async def pump(reader, writer, delay, first_extra):
    """Copy reader to writer, each chunk released `delay` seconds after it arrived (the first
    one `first_extra` later still), order kept."""
    queue = asyncio.Queue()

    async def release():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                writer.write(data)
                await writer.drain()
            except (ConnectionError, OSError):
                break
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            pass

    releaser = asyncio.create_task(release())
    extra = first_extra
    try:
        while True:
            data = await reader.read(65536)
            now = time.monotonic()
            if not data:
                await queue.put((now + delay, None))
                break
            await queue.put((now + delay + extra, data))
            extra = 0
    except (ConnectionError, OSError):
        await queue.put((time.monotonic(), None))
    await releaser


async def handle(client_r, client_w, upstream, delay):
    try:
        server_r, server_w = await asyncio.open_connection(*upstream)
    except OSError:
        client_w.close()
        return
    await asyncio.gather(
        pump(client_r, server_w, delay, 2 * delay),
        pump(server_r, client_w, delay, 0),
    )
    for w in (client_w, server_w):
        try:
            w.close()
        except (ConnectionError, OSError):
            pass


async def main():
    delay = float(sys.argv[1]) / 1000
    servers = []
    for line in open(sys.argv[2]):
        if not line.strip():
            continue
        listen, upstream = line.split()
        host, port = loopback(listen)
        up = loopback(upstream)
        servers.append(await asyncio.start_server(
            lambda r, w, up=up: handle(r, w, up, delay), host, port, backlog=1024))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for s in servers:
        s.close()
    # Connections still open die with the process; nothing to flush.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Many concurrent FTP control sessions, each with one PASV, for the scale
selftest.  asyncio; every wait is bounded.

  scale_peer.py server --listen ADDR [--port 21] [--port-base 10000]
      a 220 banner; "PASV" is answered with a 227 naming ADDR and port
      port-base + k for the k-th session (so that no two expectations
      clash); anything else with "200 ok".  Runs until killed.

  scale_peer.py client --server ADDR [--port 21] --count N --want TEXT
                       [--parallel 256] [--timeout S] [--hold FILE]
      N sessions at once: each reads the banner, sends PASV and reads the
      reply, which must contain TEXT (e.g. the public address "192,0,2,254").
      Prints "ready OK BAD STALLED" once every session has its answer (or
      ran out of time), then keeps all connections open until FILE exists
      (--hold), closes them with RST and prints "closed".  Exit status 0 when all N got TEXT.
"""

import argparse
import asyncio
import os
import resource
import socket
import struct
import sys
import time


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        # As root the hard limit may go up too.
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n), max(hard, n)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n)), hard))


async def serve(a):
    count = 0
    host = a.listen.replace(".", ",")

    async def session(reader, writer):
        nonlocal count
        k = count
        count += 1
        port = a.port_base + k % 50000
        try:
            writer.write(b"220 scale ready\r\n")
            await writer.drain()
            while True:
                line = await reader.readline()
                if not line:
                    break
                if line.strip().upper() == b"PASV":
                    writer.write(b"227 Entering Passive Mode (%s,%d,%d).\r\n"
                                 % (host.encode(), port >> 8, port & 255))
                else:
                    writer.write(b"200 ok\r\n")
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(session, a.listen, a.port, backlog=4096)
    async with srv:
        await srv.serve_forever()


async def run_client(a):
    sem = asyncio.Semaphore(a.parallel)
    want = a.want.encode()
    deadline = time.monotonic() + a.timeout
    conns = []
    result = {"ok": 0, "bad": 0, "stalled": 0}
    bad = []

    async def one(i):
        async with sem:
            left = deadline - time.monotonic()
            try:
                r, w = await asyncio.wait_for(
                    asyncio.open_connection(a.server, a.port), left)
            except (asyncio.TimeoutError, OSError):
                result["stalled"] += 1
                return
        conns.append(w)
        try:
            left = deadline - time.monotonic()
            await asyncio.wait_for(r.readline(), left)
            w.write(b"PASV\r\n")
            await w.drain()
            left = deadline - time.monotonic()
            reply = await asyncio.wait_for(r.readline(), left)
        except (asyncio.TimeoutError, OSError):
            result["stalled"] += 1
            return
        if want in reply:
            result["ok"] += 1
        else:
            result["bad"] += 1
            if len(bad) < 3:
                bad.append(reply)

    await asyncio.gather(*(one(i) for i in range(a.count)))
    print("ready %d %d %d" % (result["ok"], result["bad"], result["stalled"]),
          flush=True)
    for b in bad:
        print("bad reply: %r" % b, file=sys.stderr)
    if a.hold:
        end = time.monotonic() + a.hold_timeout
        while not os.path.exists(a.hold) and time.monotonic() < end:
            await asyncio.sleep(0.2)
    # By RST: no TIME_WAIT sockets left to distort the next measurement.
    for w in conns:
        sock = w.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        w.close()
    await asyncio.sleep(0.5)
    print("closed", flush=True)
    return 0 if result["ok"] == a.count else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--listen", required=True)
    s.add_argument("--port", type=int, default=21)
    s.add_argument("--port-base", type=int, default=10000)
    c = sub.add_parser("client")
    c.add_argument("--server", required=True)
    c.add_argument("--port", type=int, default=21)
    c.add_argument("--count", type=int, required=True)
    c.add_argument("--want", required=True)
    c.add_argument("--parallel", type=int, default=256)
    c.add_argument("--timeout", type=float, default=300.0)
    c.add_argument("--hold")
    c.add_argument("--hold-timeout", type=float, default=300.0)
    a = p.parse_args()
    raise_nofile(100000)
    if a.cmd == "server":
        asyncio.run(serve(a))
        return 0
    return asyncio.run(run_client(a))


if __name__ == "__main__":
    sys.exit(main())

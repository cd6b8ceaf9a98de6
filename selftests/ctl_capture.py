#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Record FTP control segments as they cross network interfaces.

  ctl_capture.py --ports 21,2121 --out FILE [--limit S] IFNAME...

Writes one JSON object per line for every TCP segment with payload from or
to one of the ports, as the interface carries it (so on a router, after
NAT and the helper's rewriting for packets it sends):

  {"t": 1700000000.1, "if": "eth_c", "sent": true, "src": "192.0.2.254",
   "sport": 21, "dst": "192.0.2.1", "dport": 40000, "data": "227 ..."}

"sent" is true for packets this host sent on the interface; "data" is the
payload decoded as Latin-1.  Prints "ready" once listening, and stops on
SIGTERM or SIGINT, or after --limit seconds (default 600).
"""

import argparse
import json
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def tcp_segment(frame):
    """(src, dst, sport, dport, payload) of an Ethernet frame, or None."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if ethertype == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 6:
            return None
        total = struct.unpack("!H", ip[2:4])[0]
        src = socket.inet_ntop(socket.AF_INET, ip[12:16])
        dst = socket.inet_ntop(socket.AF_INET, ip[16:20])
        tcp = ip[ihl:total]
    elif ethertype == 0x86DD and len(ip) >= 40:
        if ip[6] != 6:
            return None
        plen = struct.unpack("!H", ip[4:6])[0]
        src = socket.inet_ntop(socket.AF_INET6, ip[8:24])
        dst = socket.inet_ntop(socket.AF_INET6, ip[24:40])
        tcp = ip[40:40 + plen]
    else:
        return None
    if len(tcp) < 20:
        return None
    sport, dport = struct.unpack("!HH", tcp[0:4])
    off = (tcp[12] >> 4) * 4
    return src, dst, sport, dport, tcp[off:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=float, default=600.0)
    ap.add_argument("ifnames", nargs="+")
    args = ap.parse_args()
    ports = {int(p) for p in args.ports.split(",")}

    socks = {}
    for name in args.ifnames:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                          socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        socks[s] = name

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    deadline = time.time() + args.limit
    print("ready")
    sys.stdout.flush()
    with open(args.out, "w") as out:
        while not stop and time.time() < deadline:
            try:
                ready, _, _ = select.select(list(socks), [], [], 0.5)
            except InterruptedError:
                continue
            for s in ready:
                frame, addr = s.recvfrom(65535)
                seg = tcp_segment(frame)
                if not seg or not seg[4]:
                    continue
                src, dst, sport, dport, payload = seg
                if sport not in ports and dport not in ports:
                    continue
                out.write(json.dumps({
                    "t": time.time(), "if": socks[s],
                    "sent": addr[2] == PACKET_OUTGOING,
                    "src": src, "sport": sport, "dst": dst, "dport": dport,
                    "data": payload.decode("latin-1")}) + "\n")
                out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

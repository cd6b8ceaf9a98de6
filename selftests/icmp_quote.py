#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Send ICMP(v6) port-unreachable errors that quote a forged TCP segment.

  icmp_quote.py --family 4|6 --dst ADDR --inner-src ADDR --inner-dst ADDR
                --inner-sport N --inner-dport N --payload TEXT
                [--unused N[,N...]] [--count N]

The error goes to --dst from this host's address on that route; it quotes
a segment inner-src:inner-sport -> inner-dst:inner-dport carrying TEXT
(backslash escapes decoded).  Conntrack classifies such an error RELATED
to the connection the quote belongs to.  A helper that reads it as a TCP
segment of that connection finds its "sequence number" in the ICMP header's
unused field (--unused, one error per value) and its "data offset" in the
quoted IP header: the IPv4 identification and the IPv6 payload length are
chosen so that the TEXT is where such a helper looks for payload.
"""

import argparse
import codecs
import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def inner_tcp(sport, dport, text):
    # ACK|PSH, data offset 5, no options; the checksum is never checked.
    return struct.pack("!HHIIBBHHH", sport, dport, 0x1000, 0x2000,
                       5 << 4, 0x18, 512, 0, 0) + text


def quote4(a, text):
    seg = inner_tcp(a.inner_sport, a.inner_dport, text)
    # Identification 0xc000: its first byte read as a TCP data offset is
    # 12 words, 48 bytes: ICMP (8) + IP (20) + TCP (20), the TEXT.
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 0xC000, 0,
                      64, socket.IPPROTO_TCP, 0,
                      socket.inet_pton(socket.AF_INET, a.inner_src),
                      socket.inet_pton(socket.AF_INET, a.inner_dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + seg


def quote6(a, text):
    seg = inner_tcp(a.inner_sport, a.inner_dport, text)
    # Payload length 0xf0xx: its first byte read as a TCP data offset is
    # 15 words, 60 bytes: the TEXT then starts 12 bytes into the quoted
    # TCP header, whose flags and window come first (no LF among them).
    plen = 0xF000 | len(seg)
    hdr = struct.pack("!IHBB16s16s", 6 << 28, plen, socket.IPPROTO_TCP, 64,
                      socket.inet_pton(socket.AF_INET6, a.inner_src),
                      socket.inet_pton(socket.AF_INET6, a.inner_dst))
    return hdr + seg


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--family", type=int, choices=(4, 6), required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--inner-src", required=True)
    p.add_argument("--inner-dst", required=True)
    p.add_argument("--inner-sport", type=int, required=True)
    p.add_argument("--inner-dport", type=int, required=True)
    p.add_argument("--payload", required=True)
    p.add_argument("--unused", default="0")
    a = p.parse_args()

    text = codecs.decode(a.payload, "unicode_escape").encode("latin-1")
    unused = [int(v, 0) & 0xFFFFFFFF for v in a.unused.split(",")]
    if a.family == 4:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                          socket.IPPROTO_ICMP)
        body = quote4(a, text)
        for u in unused:
            msg = struct.pack("!BBHI", 3, 3, 0, u) + body
            msg = msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
            s.sendto(msg, (a.dst, 0))
    else:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW,
                          socket.IPPROTO_ICMPV6)
        body = quote6(a, text)
        for u in unused:
            # The kernel fills in the ICMPv6 checksum.
            s.sendto(struct.pack("!BBHI", 1, 4, 0, u) + body, (a.dst, 0))
    print("sent %d" % len(unused))
    return 0


if __name__ == "__main__":
    sys.exit(main())

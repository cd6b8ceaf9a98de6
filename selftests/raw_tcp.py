#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""A scripted TCP client on a raw socket, for segments no TCP stack sends on
purpose: retransmissions that start inside a line, or that cover rewritten
lines and fill a segment up to the MSS.  IPv4 only.

  raw_tcp.py --src ADDR --dst ADDR [--dport 21] --sport N --script FILE
             [--timeout S]

The host's own TCP stack must not answer for --sport: drop its RSTs first
(nft: tcp sport N tcp flags rst drop).  Every IP packet goes out with DF.
The script has one action per line ("#" starts a comment):

  send OFF TEXT   a segment at stream offset OFF (0: the first byte after
                  the SYN) with TEXT (backslash escapes decoded)
  deliver         until the peer acknowledged the whole stream sent so far:
                  resend what is missing from its acknowledgment on, in
                  segments of at most --mss bytes, every 300 ms
  wait TEXT       until the bytes received contain TEXT
  sleep MS
  exec CMD...     run CMD (split at blanks), which must succeed

It prints "ok" and exits 0 when the script ran to its end within
--timeout, else prints the reason and exits 1.  Received bytes go to
--received FILE if given.
"""

import argparse
import codecs
import random
import select
import shlex
import socket
import struct
import subprocess
import sys
import time

ACK, PSH, RST, SYN, FIN = 0x10, 0x08, 0x04, 0x02, 0x01
# <linux/in.h>; Python's socket module does not name them.
IP_MTU_DISCOVER = 10
IP_PMTUDISC_DO = 2


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Conn:
    def __init__(self, a):
        self.a = a
        self.src = socket.inet_aton(a.src)
        self.dst = socket.inet_aton(a.dst)
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                socket.IPPROTO_TCP)
        self.tx.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER,
                           IP_PMTUDISC_DO)
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                socket.IPPROTO_TCP)
        self.isn = random.getrandbits(32)
        self.rcv_nxt = 0
        self.una = 0            # stream offset the peer acknowledged
        self.stream = {}        # offset -> byte, everything sent
        self.received = b""
        self.deadline = time.monotonic() + a.timeout

    def seq(self, off):
        return (self.isn + 1 + off) & 0xFFFFFFFF

    def segment(self, seq, flags, payload=b""):
        hdr = struct.pack("!HHIIBBHHH", self.a.sport, self.a.dport, seq,
                          self.rcv_nxt, 5 << 4, flags, 65000, 0, 0)
        pseudo = struct.pack("!4s4sBBH", self.src, self.dst, 0,
                             socket.IPPROTO_TCP, len(hdr) + len(payload))
        c = csum(pseudo + hdr + payload)
        hdr = hdr[:16] + struct.pack("!H", c) + hdr[18:]
        self.tx.sendto(hdr + payload, (self.a.dst, 0))

    def left(self):
        return self.deadline - time.monotonic()

    def poll(self, wait):
        """Read what arrived within @wait seconds; ack new data."""
        end = time.monotonic() + wait
        while True:
            t = min(end, self.deadline) - time.monotonic()
            if t <= 0:
                return
            r, _, _ = select.select([self.rx], [], [], t)
            if not r:
                return
            pkt = self.rx.recv(65535)
            ihl = (pkt[0] & 15) * 4
            if pkt[12:16] != self.dst or pkt[16:20] != self.src:
                continue
            sport, dport, seq, ack, off, flags = struct.unpack(
                "!HHIIBB", pkt[ihl:ihl + 14])
            if sport != self.a.dport or dport != self.a.sport:
                continue
            data = pkt[ihl + (off >> 4) * 4:]
            if flags & RST:
                raise SystemExit("peer reset the connection")
            if flags & SYN:
                self.rcv_nxt = (seq + 1) & 0xFFFFFFFF
                self.server_isn = seq
            elif data and seq == self.rcv_nxt:
                self.received += data
                self.rcv_nxt = (seq + len(data)) & 0xFFFFFFFF
            if flags & ACK:
                acked = (ack - self.isn - 1) & 0xFFFFFFFF
                if acked < 1 << 30 and acked > self.una:
                    self.una = acked
            if data or flags & (SYN | FIN):
                if flags & FIN and seq == self.rcv_nxt:
                    self.rcv_nxt = (self.rcv_nxt + 1) & 0xFFFFFFFF
                self.segment(self.seq(self.sent_end()), ACK)

    def sent_end(self):
        return max(self.stream) + 1 if self.stream else 0

    def connect(self):
        for _ in range(10):
            self.segment(self.isn, SYN)
            self.poll(0.5)
            if self.rcv_nxt:
                self.segment(self.seq(0), ACK)
                return
        raise SystemExit("no SYN-ACK")

    def send(self, off, data):
        for i, b in enumerate(data):
            self.stream[off + i] = b
        self.segment(self.seq(off), ACK | PSH, data)
        self.poll(0.05)

    def deliver(self):
        end = self.sent_end()
        while self.una < end:
            if self.left() <= 0:
                raise SystemExit("not acknowledged: %d of %d" %
                                 (self.una, end))
            off = self.una
            while off < end:
                n = min(self.a.mss, end - off)
                chunk = bytes(self.stream.get(off + i, 0x20)
                              for i in range(n))
                self.segment(self.seq(off), ACK | PSH, chunk)
                off += n
            self.poll(0.3)

    def wait(self, text):
        while text not in self.received:
            if self.left() <= 0:
                raise SystemExit("never received %r" % text)
            self.poll(0.2)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--sport", type=int, required=True)
    p.add_argument("--dport", type=int, default=21)
    p.add_argument("--mss", type=int, default=1400)
    p.add_argument("--script", required=True)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--received")
    a = p.parse_args()

    c = Conn(a)
    try:
        c.connect()
        with open(a.script) as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                verb, _, rest = line.partition(" ")
                if verb == "send":
                    off, _, text = rest.partition(" ")
                    data = codecs.decode(text, "unicode_escape")
                    c.send(int(off), data.encode("latin-1"))
                elif verb == "deliver":
                    c.deliver()
                elif verb == "wait":
                    c.wait(codecs.decode(rest, "unicode_escape")
                           .encode("latin-1"))
                elif verb == "sleep":
                    c.poll(int(rest) / 1000.0)
                elif verb == "exec":
                    if subprocess.call(shlex.split(rest)) != 0:
                        raise SystemExit("line %d failed: %s" % (n, rest))
                else:
                    raise SystemExit("line %d: unknown action %s" % (n, verb))
        print("ok")
        return 0
    except SystemExit as e:
        print(e)
        return 1
    finally:
        if a.received:
            with open(a.received, "wb") as f:
                f.write(c.received)
        # A FIN, not a RST: the host's RSTs for this port are dropped,
        # and the peer must see the session end.
        try:
            c.segment(c.seq(c.sent_end()), FIN | ACK)
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Scripted FTP client and server for the selftests.

Real servers and clients (vsftpd, curl, lftp) cover normal sessions; this
peer covers what they never do on purpose: a command or reply split across
TCP segments at chosen byte offsets, several commands in one segment, odd
reply texts, floods and malformed input.  Every wait is bounded.

  ftp_peer.py client --server ADDR [--port 21] --mode port|eprt|pasv|epsv
                     [--split 3,7] [--gap-ms 150] [--pipeline] ...
  ftp_peer.py server --listen ADDR [--port 21] [--split ...] [--reply227 TEXT]

Exit status 0 when the transfer completed and the data matched.
"""

import argparse
import hashlib
import socket
import sys
import time

TIMEOUT = 20.0


def log(*args):
    print("ftp_peer:", *args, file=sys.stderr, flush=True)


def send_split(sock, data, offsets, gap):
    """Send data as separate segments cut at the given byte offsets."""
    cuts = sorted({o for o in offsets if 0 < o < len(data)})
    start = 0
    for cut in cuts + [len(data)]:
        sock.sendall(data[start:cut])
        start = cut
        if cut != len(data):
            time.sleep(gap)


def nodelay(sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Lines:
    """Line reader on a socket with a deadline."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def line(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no line within %.0f s" % timeout)
            self.sock.settimeout(left)
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("latin-1")

    def reply(self, timeout=TIMEOUT):
        """A whole (possibly multi-line) reply: (code, last line)."""
        first = self.line(timeout)
        if len(first) >= 4 and first[3] == "-":
            code = first[:3]
            while True:
                nxt = self.line(timeout)
                if nxt.startswith(code + " "):
                    return int(code), nxt
        return int(first[:3]), first


def parse_227(text):
    digits = "".join(c if c.isdigit() or c == "," else " " for c in text[4:])
    for word in digits.split():
        parts = word.split(",")
        if len(parts) == 6:
            n = [int(p) for p in parts]
            return "%d.%d.%d.%d" % tuple(n[:4]), n[4] * 256 + n[5]
    raise ValueError("bad 227: " + text)


def parse_229(text):
    inner = text[text.index("(") + 1:text.index(")")]
    d = inner[0]
    return int(inner.split(d)[3])


def recv_all(sock, timeout=TIMEOUT):
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("data transfer too slow")
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def client(args):
    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    ctl = socket.create_connection((args.server, args.port), timeout=TIMEOUT)
    nodelay(ctl)
    rd = Lines(ctl)
    gap = args.gap_ms / 1000.0
    offsets = [int(x) for x in args.split.split(",") if x] if args.split else []

    def cmd(text, expect=None, split=False):
        data = (text + "\r\n").encode("latin-1")
        if split:
            send_split(ctl, data, offsets, gap)
        else:
            ctl.sendall(data)
        code, line = rd.reply()
        log("->", text, "<-", line)
        if expect and str(code)[0] not in expect:
            raise RuntimeError("%s: unexpected reply %s" % (text, line))
        return code, line

    code, line = rd.reply()
    if code != 220:
        raise RuntimeError("banner: " + line)
    cmd("USER " + args.user, "23")
    if args.password is not None:
        cmd("PASS " + args.password, "23")
    cmd("TYPE I", "2")

    for _ in range(args.repeat):
        for extra in args.before or []:
            cmd(extra)
        listener = None
        mode = args.mode
        if mode in ("port", "eprt"):
            local = ctl.getsockname()[0]
            listener = socket.socket(family, socket.SOCK_STREAM)
            listener.bind((local, args.data_port))
            listener.listen(1)
            dport = listener.getsockname()[1]
            addr = args.announce or local
            if mode == "port":
                text = "PORT %s,%d,%d" % (addr.replace(".", ","),
                                          dport >> 8, dport & 255)
            else:
                af = 2 if ":" in addr else 1
                text = "EPRT %s%d%s%s%s%d%s" % (args.delim, af, args.delim,
                                                addr, args.delim, dport,
                                                args.delim)
            if args.pipeline:
                # PORT and RETR in one segment, replies read afterwards.
                data = (text + "\r\nRETR " + args.retr + "\r\n").encode()
                send_split(ctl, data, offsets, gap)
                code, line = rd.reply()
                log("->", text, "<-", line)
                if code != 200:
                    raise RuntimeError("PORT refused: " + line)
            else:
                cmd(text, "2", split=True)
                ctl.sendall(("RETR %s\r\n" % args.retr).encode())
            listener.settimeout(TIMEOUT)
            data_sock, _ = listener.accept()
        else:
            text = "PASV" if mode == "pasv" else "EPSV"
            if args.pipeline:
                send_split(ctl, ("NOOP\r\n%s\r\n" % text).encode(), offsets,
                           gap)
                rd.reply()
                code, line = rd.reply()
            else:
                code, line = cmd(text, "2", split=True)
            if mode == "pasv":
                host, dport = parse_227(line)
                if not args.use_pasv_addr:
                    host = args.server
            else:
                host, dport = args.server, parse_229(line)
            data_sock = socket.create_connection((host, dport),
                                                 timeout=TIMEOUT)
            ctl.sendall(("RETR %s\r\n" % args.retr).encode())
        code, line = rd.reply()
        if code not in (125, 150):
            raise RuntimeError("RETR: " + line)
        payload = recv_all(data_sock)
        data_sock.close()
        if listener:
            listener.close()
        code, line = rd.reply(TIMEOUT * 3)
        if code != 226:
            raise RuntimeError("transfer: " + line)
        digest = hashlib.sha256(payload).hexdigest()
        log("received", len(payload), "bytes sha256", digest)
        if args.sha256 and digest != args.sha256:
            raise RuntimeError("checksum mismatch")
    cmd("QUIT")
    ctl.close()
    return 0


def server(args):
    family = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.listen, args.port))
    lsock.listen(4)
    gap = args.gap_ms / 1000.0
    offsets = [int(x) for x in args.split.split(",") if x] if args.split else []
    payload = open(args.file, "rb").read() if args.file else b"x" * 4096
    lsock.settimeout(args.accept_timeout)
    for _ in range(args.sessions):
        ctl, peer = lsock.accept()
        nodelay(ctl)
        try:
            serve_one(ctl, args, family, offsets, gap, payload)
        except (OSError, RuntimeError, ValueError) as err:
            log("session with", peer, "failed:", err)
        finally:
            ctl.close()
    return 0


def serve_one(ctl, args, family, offsets, gap, payload):
    rd = Lines(ctl)
    ctl.sendall(b"220 ftp_peer ready\r\n")
    data_listener = None
    active = None
    while True:
        line = rd.line(TIMEOUT * 3)
        verb = line.split(" ", 1)[0].upper()
        arg = line[len(verb) + 1:]
        if verb == "USER":
            ctl.sendall(b"331 any password\r\n")
        elif verb == "PASS":
            ctl.sendall(b"230 logged in\r\n")
        elif verb in ("TYPE", "NOOP", "MODE", "STRU"):
            ctl.sendall(b"200 ok\r\n")
        elif verb in ("PASV", "EPSV"):
            local = ctl.getsockname()[0]
            data_listener = socket.socket(family, socket.SOCK_STREAM)
            data_listener.bind((local, 0))
            data_listener.listen(1)
            dport = data_listener.getsockname()[1]
            if verb == "PASV":
                addr = (args.pasv_addr or local).replace(".", ",")
                text = args.reply227 % ("%s,%d,%d" % (addr, dport >> 8,
                                                      dport & 255))
            else:
                text = args.reply229 % dport
            send_split(ctl, (text + "\r\n").encode(), offsets, gap)
        elif verb == "PORT":
            n = [int(x) for x in arg.split(",")]
            active = ("%d.%d.%d.%d" % tuple(n[:4]), n[4] * 256 + n[5])
            ctl.sendall(b"200 PORT ok\r\n")
        elif verb == "EPRT":
            d = arg[0]
            parts = arg.split(d)
            active = (parts[2], int(parts[3]))
            ctl.sendall(b"200 EPRT ok\r\n")
        elif verb == "RETR":
            ctl.sendall(b"150 sending\r\n")
            if data_listener:
                data_listener.settimeout(TIMEOUT)
                dsock, _ = data_listener.accept()
                data_listener.close()
                data_listener = None
            elif active:
                dsock = socket.create_connection(active, timeout=TIMEOUT)
                active = None
            else:
                ctl.sendall(b"425 no data connection\r\n")
                continue
            dsock.sendall(payload)
            dsock.close()
            ctl.sendall(b"226 done\r\n")
        elif verb == "QUIT":
            ctl.sendall(b"221 bye\r\n")
            return
        else:
            ctl.sendall(b"502 not implemented\r\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="role", required=True)
    c = sub.add_parser("client")
    c.add_argument("--server", required=True)
    c.add_argument("--port", type=int, default=21)
    c.add_argument("--user", default="anonymous")
    c.add_argument("--password", default="test@example.org")
    c.add_argument("--mode", choices=("port", "eprt", "pasv", "epsv"),
                   required=True)
    c.add_argument("--split", default="", help="byte offsets to cut at")
    c.add_argument("--gap-ms", type=int, default=150)
    c.add_argument("--pipeline", action="store_true")
    c.add_argument("--retr", default="file.bin")
    c.add_argument("--sha256")
    c.add_argument("--announce", help="address to put in PORT/EPRT")
    c.add_argument("--data-port", type=int, default=0)
    c.add_argument("--delim", default="|")
    c.add_argument("--use-pasv-addr", action="store_true")
    c.add_argument("--repeat", type=int, default=1)
    c.add_argument("--before", action="append",
                   help="extra command before each transfer")
    s = sub.add_parser("server")
    s.add_argument("--listen", required=True)
    s.add_argument("--port", type=int, default=21)
    s.add_argument("--split", default="")
    s.add_argument("--gap-ms", type=int, default=150)
    s.add_argument("--pasv-addr")
    s.add_argument("--reply227", default="227 Entering Passive Mode (%s).")
    s.add_argument("--reply229",
                   default="229 Entering Extended Passive Mode (|||%d|)")
    s.add_argument("--file")
    s.add_argument("--sessions", type=int, default=1)
    s.add_argument("--accept-timeout", type=float, default=120.0)
    args = ap.parse_args()
    try:
        return client(args) if args.role == "client" else server(args)
    except (OSError, RuntimeError, ValueError) as err:
        log("failed:", err)
        return 1


if __name__ == "__main__":
    sys.exit(main())

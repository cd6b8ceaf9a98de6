#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Scripted FTP client and server for the selftests.

Real servers and clients (vsftpd, curl, lftp) cover normal sessions; this
peer covers what they never do on purpose: a command or reply split across
TCP segments at chosen byte offsets, several commands in one segment, odd
reply texts, unsolicited replies, floods and malformed input.  Every wait is
bounded.

  ftp_peer.py client --server ADDR [--port 21] --mode port|eprt|pasv|epsv
                     [--split 3,-2] [--gap-ms 150] [--pipeline] [--hold FILE]
                     [--timeout S] ...
  ftp_peer.py client --server ADDR --control FIFO
  ftp_peer.py server --listen ADDR [--port 21] [--split ...]... \
                     [--reply227 TEXT]... [--reply VERB=TEXT]... \
                     [--banner TEXT] [--record PREFIX]
  ftp_peer.py compare --c2s SENT RECEIVED --s2c SENT RECEIVED [--plan FILE]
  ftp_peer.py flood --server ADDR [--port 21] --count N --send TEMPLATE ...
  ftp_peer.py flood-server --listen ADDR [--port 21]

Split offsets are byte offsets into the text sent (the CRLF included);
negative ones count from its end: -1 cuts between CR and LF, -2 just before
the CR.  Write "--split=-2" so that the value is not taken for an option.

Client, one shot: log in, run --repeat transfers in --mode, QUIT.  Exit
status 0 when every transfer completed and the data matched, 2 when the
PORT/EPRT/PASV/EPSV command got no reply in time (the control connection
stalled), 3 when the data connection could not be made, 1 otherwise.
--hold FILE: after the endpoint exchange write FILE.ready ("port N") and
wait until FILE exists before opening the data connection, so that a test
can look at the expectation first.

Client, --control FIFO: log in, print "ok 0 login port=<local port>", then
read one action per line from FIFO and print exactly one line per action,
"ok N <detail>" or "fail N status=S <error>" (N counts the actions from 1):

  cmd TEXT          send TEXT + CRLF, read the reply; detail: the reply line
  send TEXT         send TEXT + CRLF, do not wait for a reply
  sendraw TEXT      send TEXT with backslash escapes (\\r, \\n, \\x00) decoded
  reply             read one reply
  xfer OPTIONS      one transfer; OPTIONS as for the one-shot client
                    (--mode, --split, --pipeline, --announce, ...); with
                    --hold the detail is "held port=N" and the transfer ends
                    with the next action, which must be "go" (or "close");
                    --mark TOKEN: a mark (below) once the transfer is done
  go                finish the held transfer; detail: "done bytes=N sha256=X"
  sendfile PATH [--split OFFSETS] [--gap-ms N]
                    send the bytes of PATH as they are, cut at OFFSETS
  mark TOKEN        send "SITE MARK TOKEN", read lines until the server's
                    "200 MARK TOKEN"; detail: "lines=K first=<first line>"
                    (K lines came before it, the first one escaped)
  probe [--file PATH [--split OFFSETS]] [--next PATH [--next-split OFFSETS]]
        [--send TEXT] [--mark TOKEN]
                    in one action: "SITE NEXT PATH" (the scripted server's
                    next reply), the bytes of PATH, TEXT + CRLF, then mark
  quit              QUIT and exit
  close             close the control connection and exit

Server: a minimal FTP server.  The k-th 227/229 reply is cut at the k-th
--split (the last one applies to every later reply; "" for none); the k-th
PASV is answered with the k-th --reply227 template (the last one repeats;
"%s" becomes h1,h2,h3,h4,p1,p2, a text without it is sent as it is), EPSV
likewise with --reply229 ("%d": the port).  --reply VERB=TEXT answers VERB
with TEXT (escapes decoded) instead, whatever VERB is.  Listening on "::"
also accepts IPv4.  "SITE MARK TOKEN" is answered "200 MARK TOKEN";
"SITE NEXT PATH [OFFSETS]" makes the bytes of PATH, sent as they are and cut
at OFFSETS, the reply to the next command other than SITE (for PASV/EPSV
"%s"/"%d" in them become the real tuple/port).

--record PREFIX (client and server): append every byte sent on the control
connection to PREFIX.out and every byte received to PREFIX.in (the server
adds the session number: PREFIX.1.in ...).  "compare" splits such records
at the marks and tells, per mark, whether what one side received is what
the other sent, after the OLD=NEW replacements the plan allows (NAT):
plan lines are "TOKEN [c2s:OLD=NEW|s2c:OLD=NEW]...".

flood: COUNT control connections open at once, each sending TEMPLATE
(escapes decoded, "%P" -> "p1,p2" of --port-base + its index); prints
"ready N" and holds them until --release FILE exists, then closes them
(with --rst: by RST) and prints "closed N".  flood-server accepts any
number of connections at once: a 220 banner, "200 ok" per line.
"""

import argparse
import codecs
import hashlib
import os
import re
import select
import selectors
import shlex
import socket
import struct
import sys
import time

TIMEOUT = 20.0


def time_scale():
    """NF_FTP_SYM_TIME_SCALE (lib.sh): how much slower this machine is."""
    try:
        return max(1, int(os.environ.get("NF_FTP_SYM_TIME_SCALE", "1")))
    except ValueError:
        return 1


# The pause between the pieces of a split line is scaled like every other
# wait (on a slow guest the first piece must still have left before the
# second is written), but not beyond GAP_CAP: a pause longer than TCP's
# minimum retransmission timeout (200 ms) turns the split into a
# retransmission of the first piece, another case.  A pause asked for
# above the cap is kept as it is.
GAP_SCALE = time_scale()
GAP_CAP = 0.12


def scaled_gap(gap):
    return min(gap * GAP_SCALE, max(gap, GAP_CAP))

EXIT_FAIL = 1
EXIT_STALLED = 2
EXIT_DATA = 3


class PeerError(Exception):
    """A failure, with the exit status that says where it happened."""

    def __init__(self, msg, status=EXIT_FAIL):
        super().__init__(msg)
        self.status = status


class ArgError(ValueError):
    pass


class Parser(argparse.ArgumentParser):
    """An argument parser that raises instead of exiting (control mode)."""

    def error(self, message):
        raise ArgError(message)


def log(*args):
    print("ftp_peer:", *args, file=sys.stderr, flush=True)


def unescape(text):
    return codecs.escape_decode(text.encode("latin-1"))[0]


def parse_offsets(spec):
    if not spec:
        return []
    return [int(x) for x in spec.split(",") if x.strip()]


def cuts_for(length, offsets):
    cuts = set()
    for off in offsets:
        if off < 0:
            off += length
        if 0 < off < length:
            cuts.add(off)
    return sorted(cuts)


def send_split(sock, data, offsets, gap):
    """Send data as separate segments cut at the given byte offsets."""
    start = 0
    cuts = cuts_for(len(data), offsets)
    for cut in cuts + [len(data)]:
        sock.sendall(data[start:cut])
        start = cut
        if cut != len(data):
            time.sleep(scaled_gap(gap))


def nodelay(sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Recorder:
    """A control socket that appends what it sends to PREFIX.out and what
    it receives to PREFIX.in, unbuffered, so a reader sees every byte
    once the peer has answered it."""

    def __init__(self, sock, prefix):
        self.sock = sock
        # pylint: disable=consider-using-with
        self.fin = open(prefix + ".in", "ab", buffering=0)
        self.fout = open(prefix + ".out", "ab", buffering=0)

    def sendall(self, data):
        self.fout.write(data)
        return self.sock.sendall(data)

    def recv(self, size):
        data = self.sock.recv(size)
        self.fin.write(data)
        return data

    def close(self):
        self.sock.close()
        self.fin.close()
        self.fout.close()

    def __getattr__(self, name):
        return getattr(self.sock, name)


def printable(data, limit=80):
    """One line of text, escaped, for a report."""
    if isinstance(data, str):
        data = data.encode("latin-1")
    text = data[:limit].decode("latin-1")
    text = ascii(text)[1:-1]
    return text + ("..." if len(data) > limit else "")


class Lines:
    """Line reader on a socket with a deadline."""

    def __init__(self, sock, timeout):
        self.sock = sock
        self.buf = b""
        self.timeout = timeout

    def line(self, timeout=None):
        timeout = self.timeout if timeout is None else timeout
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

    def reply(self, timeout=None):
        """A whole (possibly multi-line) reply: (code, last line)."""
        first = self.line(timeout)
        if len(first) >= 4 and first[3] == "-":
            code = first[:3]
            while True:
                nxt = self.line(timeout)
                if nxt.startswith(code + " "):
                    return int(code), nxt
        if len(first) < 3 or not first[:3].isdigit():
            raise PeerError("not a reply: %r" % first)
        return int(first[:3]), first


def parse_227(text):
    digits = "".join(c if c.isdigit() or c == "," else " " for c in text[4:])
    for word in digits.split():
        parts = word.split(",")
        if len(parts) == 6:
            n = [int(p) for p in parts]
            return "%d.%d.%d.%d" % tuple(n[:4]), n[4] * 256 + n[5]
    raise PeerError("bad 227: " + text)


def parse_229(text):
    try:
        inner = text[text.index("(") + 1:text.index(")")]
        return int(inner.split(inner[0])[3])
    except (ValueError, IndexError) as err:
        raise PeerError("bad 229: %s (%s)" % (text, err)) from err


def recv_all(sock, timeout):
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise PeerError("data transfer too slow", EXIT_DATA)
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def wait_file(path, timeout):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise PeerError("hold: %s did not appear" % path)
        time.sleep(0.05)


def add_xfer_options(p):
    p.add_argument("--mode", choices=("port", "eprt", "pasv", "epsv"),
                   default="pasv")
    p.add_argument("--split", default="",
                   help="cut the endpoint command at these byte offsets")
    p.add_argument("--gap-ms", type=int, default=150)
    p.add_argument("--pipeline", action="store_true",
                   help="PORT/EPRT+RETR, or NOOP+PASV/EPSV, in one send")
    p.add_argument("--retr", default="file.bin")
    p.add_argument("--sha256")
    p.add_argument("--announce", help="address to put in PORT/EPRT")
    p.add_argument("--data-port", type=int, default=0)
    p.add_argument("--delim", default="|")
    p.add_argument("--use-pasv-addr", action="store_true")
    p.add_argument("--data-timeout", type=float,
                   help="limit for the data connection (default --timeout)")
    p.add_argument("--before", action="append",
                   help="extra command before the transfer")
    p.add_argument("--lower", action="store_true",
                   help="send the verbs in lowercase (port, pasv, retr)")
    p.add_argument("--eol", choices=("crlf", "lf"), default="crlf",
                   help="line end of the commands of the transfer")


def verb_of(verb, o):
    return verb.lower() if o.lower else verb


class Client:
    def __init__(self, args):
        self.args = args
        self.timeout = args.timeout
        self.family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
        self.ctl = socket.create_connection((args.server, args.port),
                                            timeout=self.timeout)
        nodelay(self.ctl)
        if getattr(args, "record", None):
            self.ctl = Recorder(self.ctl, args.record)
        self.rd = Lines(self.ctl, self.timeout)

    def send(self, text, offsets=(), gap=0.15, eol="\r\n"):
        data = (text + eol).encode("latin-1")
        if offsets:
            send_split(self.ctl, data, offsets, gap)
        else:
            self.ctl.sendall(data)

    def reply(self, what, stall=False):
        try:
            return self.rd.reply()
        except TimeoutError as err:
            raise PeerError("%s: %s" % (what, err),
                            EXIT_STALLED if stall else EXIT_FAIL) from err

    def cmd(self, text, expect=None, offsets=(), gap=0.15, stall=False,
            eol="\r\n"):
        self.send(text, offsets, gap, eol)
        code, line = self.reply(text, stall)
        log("->", text, "<-", line)
        if expect and str(code)[0] not in expect:
            raise PeerError("%s: unexpected reply %s" % (text, line))
        return code, line

    def login(self):
        # A test may put other replies before the 220.
        for _ in range(8):
            code, line = self.reply("banner")
            if code == 220:
                break
            log("before the banner:", line)
        else:
            raise PeerError("no 220 banner")
        self.cmd("USER " + self.args.user, "23")
        if self.args.password is not None:
            self.cmd("PASS " + self.args.password, "23")
        self.cmd("TYPE I", "2")

    def prepare(self, o):
        """The endpoint exchange of one transfer: what finish() needs."""
        offsets = parse_offsets(o.split)
        gap = o.gap_ms / 1000.0
        eol = "\n" if o.eol == "lf" else "\r\n"
        st = {"mode": o.mode, "retr_sent": False, "listener": None}
        for extra in o.before or []:
            self.cmd(extra)
        if o.mode in ("port", "eprt"):
            local = self.ctl.getsockname()[0]
            listener = socket.socket(self.family, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((local, o.data_port))
            listener.listen(1)
            st["listener"] = listener
            dport = listener.getsockname()[1]
            st["port"] = dport
            addr = o.announce or local
            if o.mode == "port":
                text = "%s %s,%d,%d" % (verb_of("PORT", o),
                                        addr.replace(".", ","),
                                        dport >> 8, dport & 255)
            else:
                af = 2 if ":" in addr else 1
                text = "%s %s%d%s%s%s%d%s" % (verb_of("EPRT", o), o.delim,
                                              af, o.delim, addr, o.delim,
                                              dport, o.delim)
            if o.pipeline:
                data = (text + eol + verb_of("RETR", o) + " " + o.retr +
                        eol).encode()
                send_split(self.ctl, data, offsets, gap)
                st["retr_sent"] = True
                code, line = self.reply(text, stall=True)
                log("->", text, "+ RETR <-", line)
                if code != 200:
                    raise PeerError("%s refused: %s" % (text, line))
            else:
                self.cmd(text, "2", offsets, gap, stall=True, eol=eol)
        else:
            verb = verb_of("PASV" if o.mode == "pasv" else "EPSV", o)
            if o.pipeline:
                send_split(self.ctl,
                           ("NOOP%s%s%s" % (eol, verb, eol)).encode(),
                           offsets, gap)
                self.reply("NOOP", stall=True)
                code, line = self.reply(verb, stall=True)
                log("-> NOOP +", verb, "<-", line)
                if code // 100 != 2:
                    raise PeerError("%s refused: %s" % (verb, line))
            else:
                code, line = self.cmd(verb, "2", offsets, gap, stall=True,
                                      eol=eol)
            if o.mode == "pasv":
                host, dport = parse_227(line)
                if not o.use_pasv_addr:
                    host = self.args.server
            else:
                host, dport = self.args.server, parse_229(line)
            st["host"] = host
            st["port"] = dport
        return st

    def finish(self, st, o):
        """Open the data connection, RETR, check what arrived."""
        dto = o.data_timeout or self.timeout
        listener = st["listener"]
        eol = "\n" if o.eol == "lf" else "\r\n"
        retr = verb_of("RETR", o) + " " + o.retr
        try:
            if listener:
                if not st["retr_sent"]:
                    self.send(retr, eol=eol)
                listener.settimeout(dto)
                try:
                    data_sock, _ = listener.accept()
                except OSError as err:
                    raise PeerError("no data connection to port %d: %s" %
                                    (st["port"], err), EXIT_DATA) from err
            else:
                try:
                    data_sock = socket.create_connection(
                        (st["host"], st["port"]), timeout=dto)
                except OSError as err:
                    raise PeerError("cannot connect to %s port %d: %s" %
                                    (st["host"], st["port"], err),
                                    EXIT_DATA) from err
                self.send(retr, eol=eol)
            code, line = self.reply("RETR")
            if code not in (125, 150):
                raise PeerError("RETR: " + line)
            payload = recv_all(data_sock, dto)
            data_sock.close()
        finally:
            if listener:
                listener.close()
        code, line = self.rd.reply(self.timeout * 3)
        if code != 226:
            raise PeerError("transfer: " + line)
        digest = hashlib.sha256(payload).hexdigest()
        log("received", len(payload), "bytes sha256", digest)
        if o.sha256 and digest != o.sha256:
            raise PeerError("checksum mismatch", EXIT_DATA)
        return len(payload), digest


    def mark(self, token):
        """SITE MARK TOKEN, then every line up to its answer."""
        self.send("SITE MARK " + token)
        want = "200 MARK " + token
        lines = []
        while True:
            line = self.rd.line()
            if line == want:
                break
            lines.append(line)
        first = printable(lines[0], 40) if lines else "-"
        return "lines=%d first=%s" % (len(lines), first)

    def sendfile(self, path, offsets, gap):
        with open(path, "rb") as f:
            data = f.read()
        send_split(self.ctl, data, offsets, gap)
        return len(data)


def client_oneshot(args):
    cl = Client(args)
    cl.login()
    for _ in range(args.repeat):
        st = cl.prepare(args)
        if args.hold:
            with open(args.hold + ".ready", "w", encoding="ascii") as f:
                f.write("port %d\n" % st["port"])
            wait_file(args.hold, args.timeout * 3)
        cl.finish(st, args)
    cl.cmd("QUIT")
    cl.ctl.close()
    return 0


def control(args):
    xp = Parser(prog="xfer", add_help=False)
    add_xfer_options(xp)
    xp.add_argument("--hold", action="store_true")
    xp.add_argument("--mark", help="mark (see below) once it is done")
    fp = Parser(prog="sendfile", add_help=False)
    fp.add_argument("path")
    fp.add_argument("--split", default="")
    fp.add_argument("--gap-ms", type=int, default=150)
    pp = Parser(prog="probe", add_help=False)
    pp.add_argument("--file")
    pp.add_argument("--split", default="")
    pp.add_argument("--gap-ms", type=int, default=150)
    pp.add_argument("--next")
    pp.add_argument("--next-split", default="")
    pp.add_argument("--send")
    pp.add_argument("--mark")

    def out(n, ok, msg):
        print("%s %d %s" % ("ok" if ok else "fail", n, msg), flush=True)

    try:
        cl = Client(args)
        cl.login()
    except (OSError, PeerError, ValueError) as err:
        out(0, False, "status=%d %s" % (getattr(err, "status", 1), err))
        return 1
    out(0, True, "login port=%d" % cl.ctl.getsockname()[1])

    fd = os.open(args.control, os.O_RDONLY | os.O_NONBLOCK)
    buf = b""
    n = 0
    held = None
    while True:
        deadline = time.monotonic() + args.idle_timeout
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                log("control: no action for %.0f s" % args.idle_timeout)
                return 1
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                log("control: FIFO closed")
                return 0
            buf += chunk
        raw, buf = buf.split(b"\n", 1)
        n += 1
        # Only the newline goes: trailing blanks may be the test's point.
        verb, _, rest = raw.decode("latin-1").rstrip("\r\n").lstrip() \
            .partition(" ")
        try:
            if held and verb not in ("go", "close"):
                raise PeerError("a transfer is held: go or close must follow")
            if verb == "cmd":
                _, line = cl.cmd(rest)
                out(n, True, line)
            elif verb == "send":
                cl.send(rest)
                out(n, True, "sent")
            elif verb == "sendraw":
                cl.ctl.sendall(unescape(rest))
                out(n, True, "sent")
            elif verb == "reply":
                _, line = cl.reply("reply")
                out(n, True, line)
            elif verb == "xfer":
                o = xp.parse_args(shlex.split(rest))
                st = cl.prepare(o)
                if o.hold:
                    held = (st, o)
                    out(n, True, "held port=%d" % st["port"])
                else:
                    size, digest = cl.finish(st, o)
                    if o.mark:
                        cl.mark(o.mark)
                    out(n, True, "done bytes=%d sha256=%s" % (size, digest))
            elif verb == "go":
                if not held:
                    raise PeerError("nothing held")
                st, o = held
                held = None
                size, digest = cl.finish(st, o)
                if o.mark:
                    cl.mark(o.mark)
                out(n, True, "done bytes=%d sha256=%s" % (size, digest))
            elif verb == "sendfile":
                o = fp.parse_args(shlex.split(rest))
                size = cl.sendfile(o.path, parse_offsets(o.split),
                                   o.gap_ms / 1000.0)
                out(n, True, "sent bytes=%d" % size)
            elif verb == "mark":
                out(n, True, cl.mark(rest.strip()))
            elif verb == "probe":
                o = pp.parse_args(shlex.split(rest))
                detail = "next reply set"
                if o.next:
                    cl.send(("SITE NEXT %s %s" %
                             (o.next, o.next_split)).rstrip())
                    # Replies left over from a failed action go first.
                    while True:
                        line = cl.rd.line()
                        if line.startswith("200 next"):
                            break
                        if line.startswith("550"):
                            raise PeerError("SITE NEXT: " + line)
                if o.file:
                    cl.sendfile(o.file, parse_offsets(o.split),
                                o.gap_ms / 1000.0)
                if o.send:
                    cl.send(o.send)
                if o.mark:
                    detail = cl.mark(o.mark)
                out(n, True, detail)
            elif verb == "quit":
                _, line = cl.cmd("QUIT")
                out(n, True, line)
                return 0
            elif verb == "close":
                if held and held[0]["listener"]:
                    held[0]["listener"].close()
                cl.ctl.close()
                out(n, True, "closed")
                return 0
            else:
                raise PeerError("unknown action %r" % verb)
        except (OSError, PeerError, ValueError) as err:
            if held and held[0]["listener"]:
                held[0]["listener"].close()
            held = None
            status = getattr(err, "status", EXIT_FAIL)
            log("action", n, verb, "failed:", err)
            out(n, False, "status=%d %s" % (status, err))


def client(args):
    if args.control:
        return control(args)
    return client_oneshot(args)


class ServerState:
    """What the server remembers across sessions."""

    def __init__(self, args):
        self.splits = [parse_offsets(s) for s in args.split] or [[]]
        self.r227 = args.reply227 or ["227 Entering Passive Mode (%s)."]
        self.r229 = args.reply229 or [
            "229 Entering Extended Passive Mode (|||%d|)"]
        self.overrides = {}
        for spec in args.reply or []:
            verb, _, text = spec.partition("=")
            data = unescape(text)
            if not data.endswith(b"\n"):
                data += b"\r\n"
            self.overrides[verb.upper()] = data
        self.endpoint_replies = 0
        self.npasv = 0
        self.nepsv = 0
        self.next_reply = None
        self.sessions = 0

    def next_split(self):
        k = min(self.endpoint_replies, len(self.splits) - 1)
        self.endpoint_replies += 1
        return self.splits[k]


def pick(templates, k):
    return templates[min(k, len(templates) - 1)]


def unmap(addr):
    """Local address of a control connection, IPv4-mapped ones as IPv4."""
    if addr.startswith("::ffff:") and "." in addr:
        return addr[7:], socket.AF_INET
    return addr, socket.AF_INET6 if ":" in addr else socket.AF_INET


def server(args):
    family = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        lsock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY,
                         0 if args.listen == "::" else 1)
    lsock.bind((args.listen, args.port))
    lsock.listen(4)
    gap = args.gap_ms / 1000.0
    payload = b"x" * 4096
    if args.file:
        with open(args.file, "rb") as f:
            payload = f.read()
    state = ServerState(args)
    lsock.settimeout(args.accept_timeout)
    for _ in range(args.sessions):
        ctl, peer = lsock.accept()
        nodelay(ctl)
        state.sessions += 1
        state.next_reply = None
        if args.record:
            ctl = Recorder(ctl, "%s.%d" % (args.record, state.sessions))
        try:
            serve_one(ctl, args, state, gap, payload)
        except (OSError, PeerError, ValueError) as err:
            log("session with", peer, "failed:", err)
        finally:
            ctl.close()
    return 0


def pasv_listener(ctl, args, state):
    """A data listener for PASV/EPSV: (socket, port, "h1,...,p2")."""
    local, dfam = unmap(ctl.getsockname()[0])
    lsock = socket.socket(dfam, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    nth = state.npasv + state.nepsv
    lsock.bind((local, args.data_port_base + nth
                if args.data_port_base else 0))
    lsock.listen(1)
    dport = lsock.getsockname()[1]
    addr = (args.pasv_addr or local).replace(".", ",")
    return lsock, dport, "%s,%d,%d" % (addr, dport >> 8, dport & 255)


def site(ctl, arg, state):
    """SITE MARK TOKEN and SITE NEXT PATH [OFFSETS]."""
    sub, _, rest = arg.partition(" ")
    sub = sub.upper()
    if sub == "MARK":
        ctl.sendall(b"200 MARK " + rest.encode("latin-1") + b"\r\n")
    elif sub == "NEXT":
        path, _, offsets = rest.partition(" ")
        try:
            with open(path, "rb") as f:
                state.next_reply = (f.read(), parse_offsets(offsets))
            ctl.sendall(b"200 next reply set\r\n")
        except (OSError, ValueError):
            ctl.sendall(b"550 cannot read the next reply\r\n")
    else:
        ctl.sendall(b"502 not implemented\r\n")


def serve_one(ctl, args, state, gap, payload):
    rd = Lines(ctl, args.timeout * 3)
    ctl.sendall(unescape(args.banner) + b"\r\n")
    data_listener = None
    active = None
    while True:
        line = rd.line()
        verb = line.split(" ", 1)[0].upper()
        arg = line[len(verb) + 1:]
        if state.next_reply is not None and verb != "SITE":
            data, offsets = state.next_reply
            state.next_reply = None
            if verb in ("PASV", "EPSV"):
                if data_listener:
                    data_listener.close()
                data_listener, dport, tup = pasv_listener(ctl, args, state)
                data = data.replace(b"%s", tup.encode()).replace(
                    b"%d", str(dport).encode())
            send_split(ctl, data, offsets, gap)
            continue
        if verb in state.overrides:
            ctl.sendall(state.overrides[verb])
            if verb == "QUIT":
                return
            continue
        if verb == "USER":
            ctl.sendall(b"331 any password\r\n")
        elif verb == "PASS":
            ctl.sendall(b"230 logged in\r\n")
        elif verb in ("TYPE", "NOOP", "MODE", "STRU"):
            ctl.sendall(b"200 ok\r\n")
        elif verb in ("PASV", "EPSV"):
            if data_listener:
                data_listener.close()
            data_listener, dport, tup = pasv_listener(ctl, args, state)
            if verb == "PASV":
                tmpl = pick(state.r227, state.npasv)
                state.npasv += 1
                text = tmpl % tup if "%s" in tmpl else tmpl
            else:
                tmpl = pick(state.r229, state.nepsv)
                state.nepsv += 1
                text = tmpl % dport if "%d" in tmpl else tmpl
            send_split(ctl, (text + "\r\n").encode("latin-1"),
                       state.next_split(), gap)
        elif verb in ("PORT", "EPRT"):
            # An active transfer replaces a passive one not used.
            if data_listener:
                data_listener.close()
                data_listener = None
            try:
                if verb == "PORT":
                    n = [int(x) for x in arg.split(",")]
                    active = ("%d.%d.%d.%d" % tuple(n[:4]),
                              n[4] * 256 + n[5])
                else:
                    parts = arg.split(arg[0])
                    active = (parts[2], int(parts[3]))
                ctl.sendall(b"200 %s ok\r\n" % verb.encode())
            except (ValueError, IndexError, TypeError):
                active = None
                ctl.sendall(b"501 bad argument\r\n")
        elif verb == "RETR":
            ctl.sendall(b"150 sending\r\n")
            try:
                if data_listener:
                    data_listener.settimeout(args.timeout)
                    dsock, _ = data_listener.accept()
                elif active:
                    dsock = socket.create_connection(active,
                                                     timeout=args.timeout)
                else:
                    ctl.sendall(b"425 no data connection\r\n")
                    continue
            except OSError as err:
                log("data connection failed:", err)
                ctl.sendall(b"425 no data connection\r\n")
                continue
            finally:
                if data_listener:
                    data_listener.close()
                data_listener = None
                active = None
            dsock.sendall(payload)
            dsock.close()
            ctl.sendall(b"226 done\r\n")
        elif verb == "QUIT":
            ctl.sendall(b"221 bye\r\n")
            return
        elif verb == "SITE":
            site(ctl, arg, state)
        else:
            ctl.sendall(b"502 not implemented\r\n")


def split_marks(data, pattern):
    """Cut a recorded stream after each mark: [(token, bytes)], the bytes
    after the last mark as token "tail"."""
    segs = []
    pos = 0
    for m in re.finditer(pattern, data):
        segs.append((m.group(1).decode("latin-1"), data[pos:m.end()]))
        pos = m.end()
    segs.append(("tail", data[pos:]))
    return segs


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def compare(args):
    """Per mark: what one side received is what the other sent, after the
    replacements the plan allows.  Prints one line per mark and direction
    ("same", "rewritten" or "BAD ...") and one "whole" line per direction;
    exit status 1 if anything is BAD."""
    subs = {}
    if args.plan:
        with open(args.plan, encoding="latin-1") as f:
            for line in f:
                words = line.split()
                if not words:
                    continue
                for w in words[1:]:
                    d, _, rule = w.partition(":")
                    old, _, new = rule.partition("=")
                    subs.setdefault((words[0], d), []).append(
                        (old.encode("latin-1"), new.encode("latin-1")))
    bad = 0
    pats = {"c2s": rb"SITE MARK (\S+)\r\n", "s2c": rb"200 MARK (\S+)\r\n"}
    for d in ("c2s", "s2c"):
        sent_path, recv_path = getattr(args, d)
        with open(sent_path, "rb") as f:
            sent = f.read()
        with open(recv_path, "rb") as f:
            recv = f.read()
        rsegs = dict(split_marks(recv, pats[d]))
        for tok, seg in split_marks(sent, pats[d]):
            want = seg
            for old, new in subs.get((tok, d), []):
                want = want.replace(old, new)
            got = rsegs.pop(tok, None)
            if got is None:
                print("BAD %s %s: never received (%d bytes sent)" %
                      (tok, d, len(seg)))
                bad += 1
            elif got == want:
                print("%s %s %s %d bytes" %
                      ("rewritten" if want != seg else "same", tok, d,
                       len(got)))
            else:
                i = first_difference(got, want)
                lo = max(0, i - 24)
                print("BAD %s %s: %d bytes sent, %d received, %d expected; "
                      "at %d expected '%s' received '%s'" %
                      (tok, d, len(seg), len(got), len(want), i,
                       printable(want[lo:i + 40], 64),
                       printable(got[lo:i + 40], 64)))
                bad += 1
        for tok in rsegs:
            if tok != "tail" or rsegs[tok]:
                print("BAD %s %s: received, never sent" % (tok, d))
                bad += 1
        print("whole %s sent=%s received=%s %s" %
              (d, hashlib.sha256(sent).hexdigest()[:16],
               hashlib.sha256(recv).hexdigest()[:16],
               "identical" if sent == recv else "differ"))
    return 1 if bad else 0


def flood(args):
    """COUNT control connections at once, each sending the template."""
    family = socket.AF_INET6 if ":" in args.server else socket.AF_INET
    tmpl = unescape(args.send or "")
    socks = []
    try:
        for i in range(args.count):
            port = args.port_base + i
            s = socket.socket(family, socket.SOCK_STREAM)
            socks.append(s)
            s.settimeout(args.timeout)
            s.connect((args.server, args.port))
            nodelay(s)
            s.sendall(tmpl.replace(b"%P", b"%d,%d" % (port >> 8,
                                                      port & 255)))
        print("ready %d" % len(socks), flush=True)
        if args.release:
            wait_file(args.release, args.hold_timeout)
    finally:
        for s in socks:
            if args.rst:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
            s.close()
    print("closed %d" % len(socks), flush=True)
    return 0


def flood_server(args):
    """Any number of control connections at once: a banner, then "200 ok"
    for each line, until the peer closes; ends after --accept-timeout
    seconds without a new connection."""
    family = socket.AF_INET6 if ":" in args.listen else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        lsock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY,
                         0 if args.listen == "::" else 1)
    lsock.bind((args.listen, args.port))
    lsock.listen(1024)
    lsock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ, None)
    last = time.monotonic()
    while time.monotonic() - last < args.accept_timeout:
        for key, _ in sel.select(1.0):
            if key.data is None:
                try:
                    conn, _ = lsock.accept()
                except OSError:
                    continue
                last = time.monotonic()
                conn.setblocking(False)
                try:
                    conn.send(b"220 flood ready\r\n")
                except OSError:
                    pass
                sel.register(conn, selectors.EVENT_READ, [b""])
                continue
            conn = key.fileobj
            try:
                chunk = conn.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(conn)
                conn.close()
                continue
            buf = key.data[0] + chunk
            lines = buf.count(b"\n")
            key.data[0] = buf[buf.rfind(b"\n") + 1:] if lines else buf
            if len(key.data[0]) > 65536:
                key.data[0] = b""
            try:
                conn.send(b"200 ok\r\n" * lines)
            except OSError:
                pass
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="role", required=True)
    c = sub.add_parser("client")
    c.add_argument("--timeout", type=float, default=TIMEOUT,
                   help="limit for every wait on the control connection")
    c.add_argument("--server", required=True)
    c.add_argument("--port", type=int, default=21)
    c.add_argument("--user", default="anonymous")
    c.add_argument("--password", default="test@example.org")
    add_xfer_options(c)
    c.add_argument("--repeat", type=int, default=1)
    c.add_argument("--hold", metavar="FILE")
    c.add_argument("--control", metavar="FIFO",
                   help="take actions from FIFO (see the top of the file)")
    c.add_argument("--idle-timeout", type=float, default=600.0)
    c.add_argument("--record", metavar="PREFIX",
                   help="append the control bytes to PREFIX.out/.in")
    s = sub.add_parser("server")
    s.add_argument("--timeout", type=float, default=TIMEOUT)
    s.add_argument("--listen", required=True)
    s.add_argument("--port", type=int, default=21)
    s.add_argument("--split", action="append", default=[])
    s.add_argument("--gap-ms", type=int, default=150)
    s.add_argument("--pasv-addr")
    s.add_argument("--reply227", action="append")
    s.add_argument("--reply229", action="append")
    s.add_argument("--reply", action="append", metavar="VERB=TEXT")
    s.add_argument("--banner", default="220 ftp_peer ready")
    s.add_argument("--data-port-base", type=int, default=0,
                   help="the k-th PASV/EPSV listens on this port + k "
                   "(default: any port), so reply lengths stay fixed")
    s.add_argument("--file")
    s.add_argument("--sessions", type=int, default=1)
    s.add_argument("--accept-timeout", type=float, default=120.0)
    s.add_argument("--record", metavar="PREFIX",
                   help="append session N's control bytes to "
                   "PREFIX.N.out/.in")
    m = sub.add_parser("compare")
    m.add_argument("--c2s", nargs=2, required=True,
                   metavar=("SENT", "RECEIVED"))
    m.add_argument("--s2c", nargs=2, required=True,
                   metavar=("SENT", "RECEIVED"))
    m.add_argument("--plan")
    f = sub.add_parser("flood")
    f.add_argument("--server", required=True)
    f.add_argument("--port", type=int, default=21)
    f.add_argument("--count", type=int, default=200)
    f.add_argument("--send", help="what each connection sends")
    f.add_argument("--port-base", type=int, default=40000)
    f.add_argument("--timeout", type=float, default=TIMEOUT)
    f.add_argument("--release", metavar="FILE")
    f.add_argument("--hold-timeout", type=float, default=120.0)
    f.add_argument("--rst", action="store_true")
    fs = sub.add_parser("flood-server")
    fs.add_argument("--listen", required=True)
    fs.add_argument("--port", type=int, default=21)
    fs.add_argument("--accept-timeout", type=float, default=120.0)
    args = ap.parse_args()
    roles = {"client": client, "server": server, "compare": compare,
             "flood": flood, "flood-server": flood_server}
    try:
        return roles[args.role](args)
    except PeerError as err:
        log("failed:", err)
        return err.status
    except (OSError, ValueError) as err:
        log("failed:", err)
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())

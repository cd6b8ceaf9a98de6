#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""One download with Python's ftplib, the client of the interop selftests.

  ftplib_client.py --host ADDR [--port 21] [--active] [--user U]
                   [--password P] [--timeout S] FILE OUT

ftplib chooses the commands itself: PASV or EPSV (passive, by the control
connection's family), PORT or EPRT (--active).  The conversation goes to
standard output as ftplib's debug lines ("*cmd* 'PASV'", "*resp* '227
...'").  Exit status 0 when the file was received, 1 otherwise.
"""

import argparse
import ftplib
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=21)
    ap.add_argument("--active", action="store_true")
    ap.add_argument("--user", default="anonymous")
    ap.add_argument("--password", default="ftp@example.com")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("file")
    ap.add_argument("out")
    args = ap.parse_args()

    ftp = ftplib.FTP(timeout=args.timeout)
    ftp.set_debuglevel(1)
    try:
        ftp.connect(args.host, args.port)
        ftp.login(args.user, args.password)
        ftp.set_pasv(not args.active)
        with open(args.out, "wb") as out:
            ftp.retrbinary("RETR " + args.file, out.write)
        ftp.quit()
    except (OSError, EOFError, ftplib.Error) as e:
        print("ftplib_client: %s: %s" % (type(e).__name__, e))
        sys.stdout.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

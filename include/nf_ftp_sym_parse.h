/* SPDX-License-Identifier: GPL-2.0-only */
/* FTP control-line parser shared by the kernel module and userspace tests.
 *
 * Everything here is pure: no allocation, no locking, no skb, no global
 * state.  Every function takes a buffer and its length and never reads
 * past the length; the buffer is never assumed to be NUL terminated.
 */
#ifndef _NF_FTP_SYM_PARSE_H
#define _NF_FTP_SYM_PARSE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
#endif

/* Longest line, terminator included, that the helper buffers when a line
 * is split across segments.  Longer lines are skipped, never truncated.
 */
#define FTP_SYM_LINE_MAX	256

/* Room for the longest text ftp_sym_format() writes:
 * "2|" + 45 characters of IPv6 text + "|65535" plus slack.
 */
#define FTP_SYM_TEXT_MAX	64

enum ftp_sym_kind {
	FTP_SYM_K_NONE = 0,	/* unclassified: empty, garbage, telnet IAC */
	FTP_SYM_K_COMMAND,	/* any other command: the sender is a client */
	FTP_SYM_K_REPLY,	/* any other numeric reply: the sender is a server */
	FTP_SYM_K_PORT,		/* PORT h1,h2,h3,h4,p1,p2 */
	FTP_SYM_K_EPRT,		/* EPRT <d>af<d>addr<d>port<d> (RFC 2428) */
	FTP_SYM_K_PASV,		/* PASV command */
	FTP_SYM_K_EPSV,		/* EPSV [1|2] command; "EPSV ALL" is a COMMAND */
	FTP_SYM_K_AUTH,		/* AUTH TLS, AUTH SSL, AUTH TLS-C, AUTH TLS-P */
	FTP_SYM_K_227,		/* 227 reply (RFC 959, RFC 1123 4.1.2.6) */
	FTP_SYM_K_229,		/* 229 reply (RFC 2428) */
	FTP_SYM_K_234,		/* 234 reply: security data exchange complete */
	FTP_SYM_K_MAX
};

/* Return values of ftp_sym_parse_line(). */
enum ftp_sym_status {
	FTP_SYM_SKIP = 0,	/* no line end; nothing that follows can matter */
	FTP_SYM_COMPLETE = 1,	/* a whole line was parsed: see consumed */
	FTP_SYM_PARTIAL = -1,	/* no line end yet; the prefix may matter */
};

/* Why an endpoint-bearing line (PORT, EPRT, 227, 229) carries no endpoint. */
enum ftp_sym_error {
	FTP_SYM_E_OK = 0,
	FTP_SYM_E_SYNTAX,	/* missing field, bad separator, trailing junk */
	FTP_SYM_E_RANGE,	/* octet > 255, port 0 or > 65535 */
	FTP_SYM_E_OVERLONG,	/* number with too many digits */
	FTP_SYM_E_NUL,		/* NUL byte inside the line */
	FTP_SYM_E_FAMILY,	/* EPRT network protocol other than 1 or 2 */
	FTP_SYM_E_ADDR,		/* malformed IPv4 or IPv6 address text */
	FTP_SYM_E_DELIM,	/* EPRT/229 delimiter invalid or inconsistent */
	FTP_SYM_E_NONUM,	/* 227 without numbers ("227 Logout.") */
	FTP_SYM_E_LONGLINE,	/* line longer than FTP_SYM_LINE_MAX */
	FTP_SYM_E_MAX
};

struct ftp_sym_endpoint {
	u8 family;		/* 4, 6, or 0 when the text has no address (229) */
	u8 addr[16];		/* network byte order; IPv4 uses addr[0..3] */
	u16 port;		/* host byte order, 1..65535 */
};

struct ftp_sym_line {
	u8 kind;		/* enum ftp_sym_kind */
	u8 error;		/* enum ftp_sym_error (PORT, EPRT, 227, 229) */
	u8 multiline;		/* reply is "NNN-", a multi-line reply opener */
	char delim;		/* EPRT/229 delimiter character */
	u16 code;		/* reply code for REPLY/227/229/234, else 0 */
	u16 consumed;		/* COMPLETE: bytes up to and including LF */
	u16 match_off;		/* offset of the rewritable text in the line */
	u16 match_len;		/* its length; 0 when there is no endpoint */
	struct ftp_sym_endpoint ep;
};

/* Parse the line that starts at data[0].
 *
 * Returns FTP_SYM_COMPLETE when a LF is found within len bytes: all fields
 * of @line describe that line, consumed is its length including the LF.
 * Returns FTP_SYM_PARTIAL when there is no LF yet but the line may still
 * turn out to be one the helper acts on (PORT, EPRT, PASV, EPSV, AUTH,
 * 227, 229, 234, or a prefix too short to tell); kind is set as far as
 * it is known (FTP_SYM_K_NONE while undecided).  Returns FTP_SYM_SKIP when
 * there is no LF and the line cannot matter, or it is longer than
 * FTP_SYM_LINE_MAX; kind is still set for role learning (COMMAND/REPLY).
 * The LF is looked for in the first 65535 bytes only, so that consumed
 * fits its u16: a LF further away is reported as a SKIP with E_LONGLINE.
 */
int ftp_sym_parse_line(const char *data, size_t len, struct ftp_sym_line *line);

/* True if the kind carries an endpoint that NAT rewrites. */
static inline bool ftp_sym_kind_has_endpoint(unsigned int kind)
{
	return kind == FTP_SYM_K_PORT || kind == FTP_SYM_K_EPRT ||
	       kind == FTP_SYM_K_227 || kind == FTP_SYM_K_229;
}

/* True if the kind is sent by the client (a command). */
static inline bool ftp_sym_kind_is_command(unsigned int kind)
{
	return kind == FTP_SYM_K_COMMAND || kind == FTP_SYM_K_PORT ||
	       kind == FTP_SYM_K_EPRT || kind == FTP_SYM_K_PASV ||
	       kind == FTP_SYM_K_EPSV || kind == FTP_SYM_K_AUTH;
}

/* True if the kind is sent by the server (a numeric reply). */
static inline bool ftp_sym_kind_is_reply(unsigned int kind)
{
	return kind == FTP_SYM_K_REPLY || kind == FTP_SYM_K_227 ||
	       kind == FTP_SYM_K_229 || kind == FTP_SYM_K_234;
}

/* True when @data, a segment whose place in the stream is unknown (a
 * connection that came through ctnetlink, before the peer acknowledged
 * anything), may be the rest of a line whose endpoint a NAT router
 * rewrites, the start of which went to another router: then it must not
 * be taken as a line start.  A line starts with a known command verb
 * (then a blank, CR or LF) or a reply code (three digits, then a blank,
 * '-', CR or LF).  A first line that is not text (TLS records, telnet
 * IAC) is not suspect either.  Anything else is suspect when its first
 * line (up to LF, or all of @data) is shorter than three bytes, holds a
 * separator (printable, not a letter or digit) next to a digit, or has no
 * letter: what the endpoint of PORT, EPRT, 227 or 229 is made of, or what
 * follows it.
 */
bool ftp_sym_may_continue_line(const char *data, size_t len);

/* Write the replacement for the match span of a line of @kind:
 *   PORT, 227: "h1,h2,h3,h4,p1,p2"		(ep->family must be 4)
 *   EPRT:      "1<d>a.b.c.d<d>port" or "2<d>ipv6<d>port" (RFC 5952 text)
 *   229:       "port"
 * @delim is the delimiter of the original EPRT line (ignored otherwise).
 * Returns the number of bytes written (never NUL terminated), or -1 when
 * the kind, family or delimiter is invalid or @size is too small.
 */
int ftp_sym_format(char *buf, size_t size, unsigned int kind, char delim,
		   const struct ftp_sym_endpoint *ep);

/* Short stable names, used in logs, counters and tests. */
const char *ftp_sym_kind_name(unsigned int kind);
const char *ftp_sym_error_name(unsigned int error);

#endif /* _NF_FTP_SYM_PARSE_H */

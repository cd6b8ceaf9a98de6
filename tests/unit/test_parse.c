// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for nf_ftp_sym_parse.c: a table of vectors, every split point
 * of every relevant line, format/parse round trips, generated endpoints
 * checked against inet_pton()/inet_ntop(), and the formatter's bounds.
 *
 * Output is TAP version 13; the last line is "N passed, M failed".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nf_ftp_sym_parse.h"

/* ------------------------------------------------------------------ */
/* TAP output, buffered so that the plan can come first.               */

struct result {
	int ok;
	char *desc;
	char *diag;
};

static struct result *results;
static size_t nresults, cap_results;

static char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0) {
		perror("vasprintf");
		exit(2);
	}
	return s;
}

static char *xasprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

static void record(int ok, char *desc, char *diag)
{
	if (nresults == cap_results) {
		cap_results = cap_results ? 2 * cap_results : 256;
		results = realloc(results, cap_results * sizeof(*results));
		if (!results) {
			perror("realloc");
			exit(2);
		}
	}
	results[nresults].ok = ok;
	results[nresults].desc = desc;
	results[nresults].diag = diag;
	nresults++;
}

/* A test accumulates failures in a diagnostic; the first one is kept. */
struct check {
	char *diag;
	unsigned int failures;
};

static void fail(struct check *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(struct check *c, const char *fmt, ...)
{
	va_list ap;

	c->failures++;
	if (c->diag)
		return;
	va_start(ap, fmt);
	c->diag = xvasprintf(fmt, ap);
	va_end(ap);
}

static void finish(struct check *c, char *desc)
{
	if (c->failures > 1) {
		char *d = xasprintf("%s (and %u more failures)", c->diag,
				    c->failures - 1);

		free(c->diag);
		c->diag = d;
	}
	record(!c->failures, desc, c->diag);
	c->diag = NULL;
	c->failures = 0;
}

/* Short-lived strings for messages come from a ring of static buffers, so
 * that nothing leaks and LeakSanitizer stays quiet.
 */
static char *scratch(void)
{
	static char ring[16][512];
	static unsigned int next;

	return ring[next++ % 16];
}

/* Printable rendering of a byte string for descriptions. */
static char *escape(const char *s, size_t len, size_t max)
{
	char *out = scratch();
	size_t i, o = 0;

	if (max > 100)
		max = 100;
	for (i = 0; i < len && i < max; i++) {
		unsigned char c = s[i];

		if (c == '\r') {
			out[o++] = '\\';
			out[o++] = 'r';
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
		} else if (c < 32 || c > 126 || c == '#' || c == '\\') {
			/* '#' would start a TAP directive. */
			o += sprintf(out + o, "\\x%02x", c);
		} else {
			out[o++] = c;
		}
	}
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = 0;
	return out;
}

/* Parse from an exact-size heap copy so that ASan sees any overread. */
static int parse(const char *s, size_t len, struct ftp_sym_line *line)
{
	char *copy = malloc(len ? len : 1);
	int st;

	if (!copy)
		exit(2);
	memcpy(copy, s, len);
	st = ftp_sym_parse_line(copy, len, line);
	free(copy);
	return st;
}

static const char *status_name(int st)
{
	switch (st) {
	case FTP_SYM_COMPLETE:
		return "complete";
	case FTP_SYM_PARTIAL:
		return "partial";
	case FTP_SYM_SKIP:
		return "skip";
	}
	return "?";
}

static int kind_is_relevant(unsigned int kind)
{
	return kind == FTP_SYM_K_PORT || kind == FTP_SYM_K_EPRT ||
	       kind == FTP_SYM_K_PASV || kind == FTP_SYM_K_EPSV ||
	       kind == FTP_SYM_K_AUTH || kind == FTP_SYM_K_227 ||
	       kind == FTP_SYM_K_229 || kind == FTP_SYM_K_234;
}

static int ep_equal(const struct ftp_sym_endpoint *a,
		    const struct ftp_sym_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static char *ep_text(const struct ftp_sym_endpoint *ep)
{
	char addr[INET6_ADDRSTRLEN] = "-";
	char *out = scratch();

	if (ep->family == 4)
		inet_ntop(AF_INET, ep->addr, addr, sizeof(addr));
	else if (ep->family == 6)
		inet_ntop(AF_INET6, ep->addr, addr, sizeof(addr));
	snprintf(out, 512, "family %u addr %s port %u", ep->family, addr,
		 ep->port);
	return out;
}

/* ------------------------------------------------------------------ */
/* The vector table.                                                   */

struct vec {
	const char *in;
	size_t len;
	int status;
	unsigned int kind;
	unsigned int error;
	size_t consumed;	/* WHOLE: the whole input */
	unsigned int code;
	int multiline;
	char delim;
	int family;		/* 0, 4 or 6 */
	const char *addr;	/* inet_pton() text of the address */
	unsigned int port;
	const char *match;	/* text of the match span; NULL: none */
};

#define WHOLE	((size_t)-1)
#define IN(s)	.in = (s), .len = sizeof(s) - 1
#define K(k)	.kind = FTP_SYM_K_##k
#define E(e)	.error = FTP_SYM_E_##e
#define DONE	.status = FTP_SYM_COMPLETE, .consumed = WHOLE

/* Complete lines without endpoint. */
#define LINE(s, k)		{ IN(s), DONE, K(k) }
#define REPLY(s, c)		{ IN(s), DONE, K(REPLY), .code = (c) }
#define MULTI(s, c)		{ IN(s), DONE, K(REPLY), .code = (c), \
				  .multiline = 1 }
#define R234(s)			{ IN(s), DONE, K(234), .code = 234 }
/* Complete endpoint lines. */
#define PORT(s, a, p, m)	{ IN(s), DONE, K(PORT), .family = 4, \
				  .addr = (a), .port = (p), .match = (m) }
#define EPRT4(s, d, a, p, m)	{ IN(s), DONE, K(EPRT), .delim = (d), \
				  .family = 4, .addr = (a), .port = (p), \
				  .match = (m) }
#define EPRT6(s, d, a, p, m)	{ IN(s), DONE, K(EPRT), .delim = (d), \
				  .family = 6, .addr = (a), .port = (p), \
				  .match = (m) }
#define R227(s, a, p, m)	{ IN(s), DONE, K(227), .code = 227, \
				  .family = 4, .addr = (a), .port = (p), \
				  .match = (m) }
#define R229(s, d, p, m)	{ IN(s), DONE, K(229), .code = 229, \
				  .delim = (d), .port = (p), .match = (m) }
/* Complete endpoint lines with an error. */
#define BAD(s, k, e)		{ IN(s), DONE, K(k), E(e) }
#define BAD227(s, e)		{ IN(s), DONE, K(227), E(e), .code = 227 }
#define BAD229(s, e)		{ IN(s), DONE, K(229), E(e), .code = 229 }
/* Unterminated lines. */
#define PART(s, k)		{ IN(s), .status = FTP_SYM_PARTIAL, K(k) }
#define PARTR(s, k, c)		{ IN(s), .status = FTP_SYM_PARTIAL, K(k), \
				  .code = (c) }
#define SKIP(s, k)		{ IN(s), .status = FTP_SYM_SKIP, K(k) }
#define SKIPR(s, k, c, ml)	{ IN(s), .status = FTP_SYM_SKIP, K(k), \
				  .code = (c), .multiline = (ml) }

static const struct vec vectors[] = {
	/* PORT, valid */
	PORT("PORT 1,2,3,4,5,6\r\n", "1.2.3.4", 1286, "1,2,3,4,5,6"),
	PORT("PORT 192,168,1,2,4,1\r\n", "192.168.1.2", 1025,
	     "192,168,1,2,4,1"),
	PORT("port 10,0,0,1,0,21\r\n", "10.0.0.1", 21, "10,0,0,1,0,21"),
	PORT("Port 10,0,0,1,0,21\n", "10.0.0.1", 21, "10,0,0,1,0,21"),
	PORT("pOrT 10,0,0,1,0,21\r\n", "10.0.0.1", 21, "10,0,0,1,0,21"),
	PORT("PORT 255,255,255,255,255,255\r\n", "255.255.255.255", 65535,
	     "255,255,255,255,255,255"),
	PORT("PORT 0,0,0,0,0,1\r\n", "0.0.0.0", 1, "0,0,0,0,0,1"),
	PORT("PORT 001,002,003,004,005,006\r\n", "1.2.3.4", 1286,
	     "001,002,003,004,005,006"),
	PORT("PORT 010,0,0,011,0,21\r\n", "10.0.0.11", 21,
	     "010,0,0,011,0,21"),
	PORT("PORT 1,2,3,4,5,6 \r\n", "1.2.3.4", 1286, "1,2,3,4,5,6"),
	PORT("PORT 1,2,3,4,5,6\t\r\n", "1.2.3.4", 1286, "1,2,3,4,5,6"),
	PORT("PORT 1,2,3,4,5,6 \t \t\r\n", "1.2.3.4", 1286, "1,2,3,4,5,6"),
	PORT("PORT   1,2,3,4,5,6\r\n", "1.2.3.4", 1286, "1,2,3,4,5,6"),
	PORT("PORT 1,2,3,4,0,255\r\n", "1.2.3.4", 255, "1,2,3,4,0,255"),
	PORT("PORT 1,2,3,4,1,0\r\n", "1.2.3.4", 256, "1,2,3,4,1,0"),
	PORT("PORT 127,0,0,1,200,10\n", "127.0.0.1", 51210,
	     "127,0,0,1,200,10"),
	PORT("PORT 9,99,199,249,250,251\r\n", "9.99.199.249", 64251,
	     "9,99,199,249,250,251"),
	{ IN("PORT 1,2,3,4,5,6\r\nNOOP\r\n"), .status = FTP_SYM_COMPLETE,
	  .consumed = 18, K(PORT), .family = 4, .addr = "1.2.3.4",
	  .port = 1286, .match = "1,2,3,4,5,6" },
	{ IN("PORT 1,2,3,4,5,6\nPORT"), .status = FTP_SYM_COMPLETE,
	  .consumed = 17, K(PORT), .family = 4, .addr = "1.2.3.4",
	  .port = 1286, .match = "1,2,3,4,5,6" },

	/* PORT, malformed */
	BAD("PORT 256,2,3,4,5,6\r\n", PORT, RANGE),
	BAD("PORT 1,2,3,256,5,6\r\n", PORT, RANGE),
	BAD("PORT 1,2,3,4,256,6\r\n", PORT, RANGE),
	BAD("PORT 1,2,3,4,5,256\r\n", PORT, RANGE),
	BAD("PORT 999,2,3,4,5,6\r\n", PORT, RANGE),
	BAD("PORT 1,2,3,4,0,0\r\n", PORT, RANGE),
	BAD("PORT 1,2,3,4,000,000\r\n", PORT, RANGE),
	BAD("PORT 0001,2,3,4,5,6\r\n", PORT, OVERLONG),
	BAD("PORT 1,2,3,4,5,0006\r\n", PORT, OVERLONG),
	BAD("PORT 1,2,3,4,5,1234\r\n", PORT, OVERLONG),
	BAD("PORT 1,2,3,4,5\r\n", PORT, SYNTAX),
	BAD("PORT 1,2,3,4,5,6,7\r\n", PORT, SYNTAX),
	BAD("PORT 1,2,3,4,5,\r\n", PORT, SYNTAX),
	BAD("PORT ,1,2,3,4,5\r\n", PORT, SYNTAX),
	BAD("PORT 1,,2,3,4,5,6\r\n", PORT, SYNTAX),
	BAD("PORT +1,2,3,4,5,6\r\n", PORT, SYNTAX),
	BAD("PORT -1,2,3,4,5,6\r\n", PORT, SYNTAX),
	BAD("PORT 1,-2,3,4,5,6\r\n", PORT, SYNTAX),
	BAD("PORT 1,2,3,4,5,+6\r\n", PORT, SYNTAX),
	BAD("PORT 1, 2,3,4,5,6\r\n", PORT, SYNTAX),
	BAD("PORT 1 ,2,3,4,5,6\r\n", PORT, SYNTAX),
	BAD("PORT 1,2,3,4,5,6x\r\n", PORT, SYNTAX),
	BAD("PORT 1,2,3,4,5,6 x\r\n", PORT, SYNTAX),
	BAD("PORT 1,2,3,4,5,6;\r\n", PORT, SYNTAX),
	BAD("PORT 1,2,3,4,5,6\r\r\n", PORT, SYNTAX),
	BAD("PORT 1,2,3,4,5,6\rx\n", PORT, SYNTAX),
	BAD("PORT 1,2,3,4\r5,6\r\n", PORT, SYNTAX),
	BAD("PORT\r\n", PORT, SYNTAX),
	BAD("PORT \r\n", PORT, SYNTAX),
	BAD("PORT\n", PORT, SYNTAX),
	BAD("PORT 1.2.3.4.5.6\r\n", PORT, SYNTAX),
	BAD("PORT a,b,c,d,e,f\r\n", PORT, SYNTAX),
	BAD("PORT 0x1,2,3,4,5,6\r\n", PORT, SYNTAX),
	BAD("PORT (1,2,3,4,5,6)\r\n", PORT, SYNTAX),
	BAD("PORT 1,2,3,4,5,6\0\r\n", PORT, NUL),
	BAD("PORT 1,2\0,3,4,5,6\r\n", PORT, NUL),
	BAD("PORT \0\r\n", PORT, NUL),
	LINE("PORT\t1,2,3,4,5,6\r\n", NONE),
	LINE("PORTS 1,2,3,4,5,6\r\n", NONE),
	LINE(" PORT 1,2,3,4,5,6\r\n", NONE),
	LINE("XPORT 1,2,3,4,5,6\r\n", NONE),
	LINE("PORT\0 1,2,3,4,5,6\r\n", NONE),
	LINE("P0RT 1,2,3,4,5,6\r\n", NONE),

	/* EPRT, IPv4 */
	EPRT4("EPRT |1|132.235.1.2|6275|\r\n", '|', "132.235.1.2", 6275,
	      "1|132.235.1.2|6275"),
	EPRT4("eprt |1|10.0.0.1|21|\r\n", '|', "10.0.0.1", 21,
	      "1|10.0.0.1|21"),
	EPRT4("EPRT |1|10.0.0.1|21|\n", '|', "10.0.0.1", 21,
	      "1|10.0.0.1|21"),
	EPRT4("EPRT !1!1.2.3.4!1025!\r\n", '!', "1.2.3.4", 1025,
	      "1!1.2.3.4!1025"),
	EPRT4("EPRT $1$1.2.3.4$65535$\r\n", '$', "1.2.3.4", 65535,
	      "1$1.2.3.4$65535"),
	EPRT4("EPRT %1%1.2.3.4%1%\r\n", '%', "1.2.3.4", 1, "1%1.2.3.4%1"),
	EPRT4("EPRT x1x1.2.3.4x99x\r\n", 'x', "1.2.3.4", 99,
	      "1x1.2.3.4x99"),
	EPRT4("EPRT ~1~1.2.3.4~99~\r\n", '~', "1.2.3.4", 99,
	      "1~1.2.3.4~99"),
	EPRT4("EPRT (1(1.2.3.4(99(\r\n", '(', "1.2.3.4", 99,
	      "1(1.2.3.4(99"),
	EPRT4("EPRT |1|001.002.003.004|00021|\r\n", '|', "1.2.3.4", 21,
	      "1|001.002.003.004|00021"),
	EPRT4("EPRT |1|255.255.255.255|65535|\r\n", '|', "255.255.255.255",
	      65535, "1|255.255.255.255|65535"),
	EPRT4("EPRT |1|0.0.0.0|1|\r\n", '|', "0.0.0.0", 1, "1|0.0.0.0|1"),
	EPRT4("EPRT |1|1.2.3.4|5| \t\r\n", '|', "1.2.3.4", 5,
	      "1|1.2.3.4|5"),
	EPRT4("EPRT   |1|1.2.3.4|5|\r\n", '|', "1.2.3.4", 5, "1|1.2.3.4|5"),

	/* EPRT, IPv6 */
	EPRT6("EPRT |2|1080::8:800:200C:417A|5282|\r\n", '|',
	      "1080::8:800:200c:417a", 5282, "2|1080::8:800:200C:417A|5282"),
	EPRT6("EPRT #2#::1#2121#\r\n", '#', "::1", 2121, "2#::1#2121"),
	EPRT6("EPRT |2|::|1|\r\n", '|', "::", 1, "2|::|1"),
	EPRT6("EPRT |2|::1|1|\r\n", '|', "::1", 1, "2|::1|1"),
	EPRT6("EPRT |2|1::|1|\r\n", '|', "1::", 1, "2|1::|1"),
	EPRT6("EPRT |2|2001:db8::1|21|\r\n", '|', "2001:db8::1", 21,
	      "2|2001:db8::1|21"),
	EPRT6("EPRT |2|2001:0db8:0000:0000:0000:ff00:0042:8329|8329|\r\n",
	      '|', "2001:db8::ff00:42:8329", 8329,
	      "2|2001:0db8:0000:0000:0000:ff00:0042:8329|8329"),
	EPRT6("EPRT |2|1:2:3:4:5:6:7:8|80|\r\n", '|', "1:2:3:4:5:6:7:8", 80,
	      "2|1:2:3:4:5:6:7:8|80"),
	EPRT6("EPRT |2|::ffff:192.0.2.1|80|\r\n", '|', "::ffff:192.0.2.1",
	      80, "2|::ffff:192.0.2.1|80"),
	EPRT6("EPRT |2|::192.0.2.1|80|\r\n", '|', "::192.0.2.1", 80,
	      "2|::192.0.2.1|80"),
	EPRT6("EPRT |2|64:ff9b::192.0.2.33|80|\r\n", '|',
	      "64:ff9b::c000:221", 80, "2|64:ff9b::192.0.2.33|80"),
	EPRT6("EPRT |2|1:2:3:4:5:6:1.2.3.4|80|\r\n", '|',
	      "1:2:3:4:5:6:102:304", 80, "2|1:2:3:4:5:6:1.2.3.4|80"),
	EPRT6("EPRT |2|1:2:3:4:5:6:7::|80|\r\n", '|', "1:2:3:4:5:6:7:0", 80,
	      "2|1:2:3:4:5:6:7::|80"),
	EPRT6("EPRT |2|::2:3:4:5:6:7:8|80|\r\n", '|', "0:2:3:4:5:6:7:8", 80,
	      "2|::2:3:4:5:6:7:8|80"),
	EPRT6("EPRT |2|1:2:3::5:6:7:8|80|\r\n", '|', "1:2:3:0:5:6:7:8", 80,
	      "2|1:2:3::5:6:7:8|80"),
	EPRT6("EPRT |2|FE80::ABCD|80|\r\n", '|', "fe80::abcd", 80,
	      "2|FE80::ABCD|80"),
	EPRT6("EPRT |2|fe80::1:2|80|\r\n", '|', "fe80::1:2", 80,
	      "2|fe80::1:2|80"),
	EPRT6("EPRT |2|0:0:0:0:0:0:0:1|80|\r\n", '|', "::1", 80,
	      "2|0:0:0:0:0:0:0:1|80"),
	EPRT6("EPRT |2|1::2:3|80|\r\n", '|', "1::2:3", 80, "2|1::2:3|80"),
	EPRT6("EPRT |2|a:b::c:d|80|\r\n", '|', "a:b::c:d", 80,
	      "2|a:b::c:d|80"),
	EPRT6("EPRT |2|0000:0000:0000:0000:0000:0000:0000:0000|7|\r\n", '|',
	      "::", 7, "2|0000:0000:0000:0000:0000:0000:0000:0000|7"),
	EPRT6("EPRT |2|1111:2222:3333:4444:5555:6666:123.123.123.123|21|\r\n",
	      '|', "1111:2222:3333:4444:5555:6666:123.123.123.123", 21,
	      "2|1111:2222:3333:4444:5555:6666:123.123.123.123|21"),
	EPRT6("EPRT |2|::0.0.0.0|21|\r\n", '|', "::", 21, "2|::0.0.0.0|21"),
	EPRT6("EPRT |2|::ffff:001.002.003.004|21|\r\n", '|',
	      "::ffff:1.2.3.4", 21, "2|::ffff:001.002.003.004|21"),
	EPRT6("EPRT !2!2001:db8:0:0:1:0:0:1!65535!  \r\n", '!',
	      "2001:db8::1:0:0:1", 65535, "2!2001:db8:0:0:1:0:0:1!65535"),
	EPRT6("EPRT z2z::1z21z\r\n", 'z', "::1", 21, "2z::1z21"),
	EPRT6("EPRT %2%fe80::1%21%\r\n", '%', "fe80::1", 21,
	      "2%fe80::1%21"),

	/* EPRT, malformed IPv6 */
	BAD("EPRT |2|:::|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|1::2::3|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|::1::|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|12345::1|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|1:2:3:4:5:6:7:8:9|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|1:2:3:4:5:6:7|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|1:2:3:4:5:6:7:8::|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|::1:2:3:4:5:6:7:8|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|:1::|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|1::2:|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|1:|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|:|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|fe80::1%eth0|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|fe80::1%1|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|1.2.3.4|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|::1.2.3|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|::1.2.3.256|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|::1.2.3.4:5|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|::1.2.3.4.5|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|1.2.3.4::|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|1:2:3:4:5:6:7:1.2.3.4|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|::a.b.c.d|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|g::1|21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|::1 |21|\r\n", EPRT, ADDR),
	BAD("EPRT |2||21|\r\n", EPRT, ADDR),
	BAD("EPRT |2|1111:2222:3333:4444:5555:6666:0123.123.123.123|21|\r\n",
	    EPRT, ADDR),
	BAD("EPRT |2|00000::1|21|\r\n", EPRT, ADDR),

	/* EPRT, other errors */
	BAD("EPRT |1|1.2.3|21|\r\n", EPRT, ADDR),
	BAD("EPRT |1|1.2.3.4.5|21|\r\n", EPRT, ADDR),
	BAD("EPRT |1|256.1.1.1|21|\r\n", EPRT, ADDR),
	BAD("EPRT |1|1.2.3.0004|21|\r\n", EPRT, ADDR),
	BAD("EPRT |1|::1|21|\r\n", EPRT, ADDR),
	BAD("EPRT |1|1.2.3.4a|21|\r\n", EPRT, ADDR),
	BAD("EPRT |1|1..3.4|21|\r\n", EPRT, ADDR),
	BAD("EPRT |1|1.2.3.4 |21|\r\n", EPRT, ADDR),
	BAD("EPRT |1||21|\r\n", EPRT, ADDR),
	BAD("EPRT |3|1.2.3.4|21|\r\n", EPRT, FAMILY),
	BAD("EPRT |0|1.2.3.4|21|\r\n", EPRT, FAMILY),
	BAD("EPRT |01|1.2.3.4|21|\r\n", EPRT, FAMILY),
	BAD("EPRT |12|1.2.3.4|21|\r\n", EPRT, FAMILY),
	BAD("EPRT ||1.2.3.4|21|\r\n", EPRT, FAMILY),
	BAD("EPRT |x|1.2.3.4|21|\r\n", EPRT, FAMILY),
	BAD("EPRT |1x|1.2.3.4|21|\r\n", EPRT, FAMILY),
	BAD("EPRT |3\r\n", EPRT, FAMILY),
	BAD("EPRT |1|1.2.3.4|0|\r\n", EPRT, RANGE),
	BAD("EPRT |1|1.2.3.4|00000|\r\n", EPRT, RANGE),
	BAD("EPRT |1|1.2.3.4|65536|\r\n", EPRT, RANGE),
	BAD("EPRT |2|::1|99999|\r\n", EPRT, RANGE),
	BAD("EPRT |1|1.2.3.4|000021|\r\n", EPRT, OVERLONG),
	BAD("EPRT |1|1.2.3.4|123456|\r\n", EPRT, OVERLONG),
	BAD("EPRT |1|1.2.3.4||\r\n", EPRT, SYNTAX),
	BAD("EPRT |1|1.2.3.4|21\r\n", EPRT, SYNTAX),
	BAD("EPRT |1|1.2.3.4|21|x\r\n", EPRT, SYNTAX),
	BAD("EPRT |1|1.2.3.4|21||\r\n", EPRT, SYNTAX),
	BAD("EPRT |1|1.2.3.4|21|\r\r\n", EPRT, SYNTAX),
	BAD("EPRT |1|1.2.3.4|-21|\r\n", EPRT, SYNTAX),
	BAD("EPRT |1|1.2.3.4|+21|\r\n", EPRT, SYNTAX),
	BAD("EPRT |1|1.2.3.4|21 |\r\n", EPRT, SYNTAX),
	BAD("EPRT |1|1.2.3.4|21a|\r\n", EPRT, SYNTAX),
	BAD("EPRT\r\n", EPRT, SYNTAX),
	BAD("EPRT \r\n", EPRT, SYNTAX),
	BAD("EPRT |\r\n", EPRT, SYNTAX),
	BAD("EPRT |1\r\n", EPRT, SYNTAX),
	BAD("EPRT |1|\r\n", EPRT, SYNTAX),
	BAD("EPRT |1|1.2.3.4\r\n", EPRT, SYNTAX),
	BAD("EPRT |2|::1\r\n", EPRT, SYNTAX),
	BAD("EPRT |1|1.2.3.4|\r\n", EPRT, SYNTAX),
	BAD("EPRT |1!1.2.3.4!21!\r\n", EPRT, DELIM),
	BAD("EPRT |1|1.2.3.4!21!\r\n", EPRT, DELIM),
	BAD("EPRT |1|1.2.3.4|21!\r\n", EPRT, DELIM),
	BAD("EPRT |2|::1#21|\r\n", EPRT, DELIM),
	BAD("EPRT a1a1.2.3.4a21a\r\n", EPRT, DELIM),
	BAD("EPRT F1F1.2.3.4F21F\r\n", EPRT, DELIM),
	BAD("EPRT 1111.2.3.41211\r\n", EPRT, DELIM),
	BAD("EPRT .1.1.2.3.4.21.\r\n", EPRT, DELIM),
	BAD("EPRT :2:::1:21:\r\n", EPRT, DELIM),
	BAD("EPRT \t1\t1.2.3.4\t21\t\r\n", EPRT, DELIM),
	BAD("EPRT \x7f" "1\x7f" "1.2.3.4\x7f" "21\x7f\r\n", EPRT, DELIM),
	BAD("EPRT \x80" "1\x80" "1.2.3.4\x80" "21\x80\r\n", EPRT, DELIM),
	BAD("EPRT |1|1.2.3.4|21|\0\r\n", EPRT, NUL),
	BAD("EPRT |2|::1\0|21|\r\n", EPRT, NUL),
	LINE("EPRT\t|1|1.2.3.4|21|\r\n", NONE),

	/* 227 */
	R227("227 Entering Passive Mode (192,168,1,2,4,1)\r\n",
	     "192.168.1.2", 1025, "192,168,1,2,4,1"),
	R227("227 Entering Passive Mode (192,168,1,2,4,1).\r\n",
	     "192.168.1.2", 1025, "192,168,1,2,4,1"),
	R227("227 Entering Passive Mode 10,0,0,1,0,21\r\n", "10.0.0.1", 21,
	     "10,0,0,1,0,21"),
	R227("227 =10,0,0,1,0,21\r\n", "10.0.0.1", 21, "10,0,0,1,0,21"),
	R227("227 (1,2,3,4,5,6).\r\n", "1.2.3.4", 1286, "1,2,3,4,5,6"),
	R227("227 1,2,3,4,5,6\r\n", "1.2.3.4", 1286, "1,2,3,4,5,6"),
	R227("227 1,2,3,4,5,6\n", "1.2.3.4", 1286, "1,2,3,4,5,6"),
	R227("227 Entering Passive Mode (1,2,3,4,5,6). Have fun 7,8\r\n",
	     "1.2.3.4", 1286, "1,2,3,4,5,6"),
	R227("227 Entering Passive Mode (001,002,003,004,005,006)\r\n",
	     "1.2.3.4", 1286, "001,002,003,004,005,006"),
	R227("227 (255,255,255,255,255,255)\r\n", "255.255.255.255", 65535,
	     "255,255,255,255,255,255"),
	R227("227 Entering Passive Mode (1,2,3,4,5,6)\r\r\n", "1.2.3.4",
	     1286, "1,2,3,4,5,6"),
	R227("227  (1,2,3,4,5,6) \t\r\n", "1.2.3.4", 1286, "1,2,3,4,5,6"),
	R227("227 Passive:1,2,3,4,5,6;ok\r\n", "1.2.3.4", 1286,
	     "1,2,3,4,5,6"),
	BAD227("227 Logout.\r\n", NONUM),
	BAD227("227 \r\n", NONUM),
	BAD227("227 Entering Passive Mode\r\n", NONUM),
	BAD227("227 Entering Passive Mode (256,1,1,1,1,1)\r\n", RANGE),
	BAD227("227 (1,2,3,4,0,0)\r\n", RANGE),
	BAD227("227 (1,2,3,4,5)\r\n", SYNTAX),
	BAD227("227 (1,2,3,4,5,6,7)\r\n", SYNTAX),
	BAD227("227 (1,2,3,4,5,6,)\r\n", SYNTAX),
	BAD227("227 (1,2,3,4,5,1234)\r\n", OVERLONG),
	BAD227("227 (1234,2,3,4,5,6)\r\n", OVERLONG),
	BAD227("227 (1,2,3,4,5,6\0)\r\n", NUL),
	BAD227("227 \0(1,2,3,4,5,6)\r\n", NUL),
	BAD227("227 (-1,2,3,4,5,6)\r\n", SYNTAX),
	BAD227("227 (+1,2,3,4,5,6)\r\n", SYNTAX),
	BAD227("227 (1, 2,3,4,5,6)\r\n", SYNTAX),
	BAD227("227 (1,2,3,4,5,-6)\r\n", SYNTAX),
	BAD227("227 Mode v2 (1,2,3,4,5,6)\r\n", SYNTAX),
	BAD227("227 (1.2.3.4.5.6)\r\n", SYNTAX),
	REPLY("227\r\n", 227),
	MULTI("227-Entering Passive Mode (1,2,3,4,5,6)\r\n", 227),
	LINE("227x (1,2,3,4,5,6)\r\n", NONE),
	LINE("2270 (1,2,3,4,5,6)\r\n", NONE),

	/* 229 */
	R229("229 Entering Extended Passive Mode (|||6446|)\r\n", '|', 6446,
	     "6446"),
	R229("229 Entering Extended Passive Mode (|||6446|)\n", '|', 6446,
	     "6446"),
	R229("229 (!!!1!)\r\n", '!', 1, "1"),
	R229("229 (###65535#)\r\n", '#', 65535, "65535"),
	R229("229 Entering Extended Passive Mode (|||00021|)\r\n", '|', 21,
	     "00021"),
	R229("229 (|||6446|) ok\r\n", '|', 6446, "6446"),
	R229("229 x (|||6446|)\r\n", '|', 6446, "6446"),
	R229("229 (aaa21a)\r\n", 'a', 21, "21"),
	R229("229 ((((21()\r\n", '(', 21, "21"),
	R229("229 ()))21))\r\n", ')', 21, "21"),
	R229("229 (...21.)\r\n", '.', 21, "21"),
	R229("229 (|||6446|)(|||1|)\r\n", '|', 6446, "6446"),
	BAD229("229 Entering Extended Passive Mode\r\n", SYNTAX),
	BAD229("229 \r\n", SYNTAX),
	BAD229("229 (\r\n", SYNTAX),
	BAD229("229 (|\r\n", SYNTAX),
	BAD229("229 (|||\r\n", SYNTAX),
	BAD229("229 (|||0|)\r\n", RANGE),
	BAD229("229 (|||65536|)\r\n", RANGE),
	BAD229("229 (|||123456|)\r\n", OVERLONG),
	BAD229("229 (||6446|)\r\n", DELIM),
	BAD229("229 (|!|6446|)\r\n", DELIM),
	BAD229("229 (|||6446!)\r\n", DELIM),
	BAD229("229 (|||6446)\r\n", DELIM),
	BAD229("229 (1116446)\r\n", DELIM),
	BAD229("229 ( 6446 )\r\n", DELIM),
	BAD229("229 (\t\t\t6446\t)\r\n", DELIM),
	BAD229("229 (\x7f\x7f\x7f" "6446\x7f)\r\n", DELIM),
	BAD229("229 (|||6446|\r\n", SYNTAX),
	BAD229("229 (|||6446\r\n", SYNTAX),
	BAD229("229 (|||6446|x\r\n", SYNTAX),
	BAD229("229 (|||)\r\n", SYNTAX),
	BAD229("229 (|||x|)\r\n", SYNTAX),
	BAD229("229 (|||-1|)\r\n", SYNTAX),
	BAD229("229 (|||6446|)\0\r\n", NUL),
	MULTI("229-(|||6446|)\r\n", 229),
	REPLY("229\r\n", 229),

	/* Other commands */
	LINE("PASV\r\n", PASV),
	LINE("pasv\r\n", PASV),
	LINE("PASV\n", PASV),
	LINE("PASV foo bar\r\n", PASV),
	LINE("PASV x\0y\r\n", PASV),
	LINE("PASV\0\r\n", NONE),
	LINE("PASV\tx\r\n", NONE),
	LINE("EPSV\r\n", EPSV),
	LINE("EPSV 1\r\n", EPSV),
	LINE("EPSV 2\r\n", EPSV),
	LINE("epsv\r\n", EPSV),
	LINE("EPSV ALLX\r\n", EPSV),
	LINE("EPSV ALL x\r\n", EPSV),
	LINE("EPSV AL\r\n", EPSV),
	LINE("EPSV ALL\r\n", COMMAND),
	LINE("epsv all\r\n", COMMAND),
	LINE("EPSV aLl \t\r\n", COMMAND),
	LINE("EPSV  ALL\r\n", COMMAND),
	LINE("AUTH TLS\r\n", AUTH),
	LINE("auth tls\r\n", AUTH),
	LINE("AUTH SSL\r\n", AUTH),
	LINE("AUTH TLS-C\r\n", AUTH),
	LINE("AUTH TLS-P\r\n", AUTH),
	LINE("AUTH tls-p \r\n", AUTH),
	LINE("AUTH  Tls\n", AUTH),
	LINE("AUTH GSSAPI\r\n", COMMAND),
	LINE("AUTH KERBEROS_V4\r\n", COMMAND),
	LINE("AUTH\r\n", COMMAND),
	LINE("AUTH \r\n", COMMAND),
	LINE("AUTH TLSX\r\n", COMMAND),
	LINE("AUTH TLS X\r\n", COMMAND),
	LINE("AUTH TLS-\r\n", COMMAND),
	LINE("AUTH TLS-X\r\n", COMMAND),
	LINE("USER anonymous\r\n", COMMAND),
	LINE("CWD /pub\r\n", COMMAND),
	LINE("cwd\r\n", COMMAND),
	LINE("NOOP\r\n", COMMAND),
	LINE("noop\n", COMMAND),
	LINE("RETR file.txt\r\n", COMMAND),
	LINE("FEAT\r\n", COMMAND),
	LINE("SITE PORT 1,2,3,4,5,6\r\n", COMMAND),
	LINE("STOR x\0y\r\n", COMMAND),
	LINE("PAS\r\n", COMMAND),
	LINE("AB\r\n", NONE),
	LINE("ABCDE\r\n", NONE),
	LINE("AB1 x\r\n", NONE),
	LINE("\r\n", NONE),
	LINE("\n", NONE),
	LINE("\r\r\n", NONE),
	LINE(" PASV\r\n", NONE),
	LINE("\xff\xf4\xff\xf2" "ABOR\r\n", NONE),
	LINE("\xff\xfb\x01\r\n", NONE),
	LINE("1234\r\n", NONE),
	LINE("600 x\r\n", NONE),
	LINE("099 x\r\n", NONE),
	LINE("22 x\r\n", NONE),
	LINE("2x0 x\r\n", NONE),
	LINE("220\tWelcome\r\n", NONE),

	/* Replies */
	REPLY("220 Welcome\r\n", 220),
	REPLY("230 Logged in\r\n", 230),
	REPLY("150 Opening data connection\r\n", 150),
	REPLY("550\r\n", 550),
	REPLY("226 Transfer complete\n", 226),
	REPLY("500 PORT 1,2,3,4,5,6\r\n", 500),
	REPLY("599 x\r\n", 599),
	REPLY("100 x\r\n", 100),
	REPLY("228 x\r\n", 228),
	REPLY("230 x\0y\r\n", 230),
	MULTI("220-Welcome\r\n", 220),
	MULTI("211-Features:\r\n", 211),
	MULTI("234-x\r\n", 234),
	R234("234 AUTH TLS OK\r\n"),
	R234("234 \r\n"),
	R234("234 x\0\r\n"),
	REPLY("234\r\n", 234),

	/* Unterminated lines that may still matter */
	PART("", NONE),
	PART("P", NONE),
	PART("po", NONE),
	PART("POR", NONE),
	PART("PORT", PORT),
	PART("PORT ", PORT),
	PART("PORT 19", PORT),
	PART("port 1,2,3,4,5,6", PORT),
	PART("PORT\r", PORT),
	PART("PORT 1,2,3,4,5,6\r", PORT),
	PART("PORT 1,2,3,4,5,6\r\r", PORT),
	PART("PORT 999,x\0", PORT),
	PART("E", NONE),
	PART("EPR", NONE),
	PART("EPRT", EPRT),
	PART("EPRT |1|", EPRT),
	PART("EPRT |2|::1|21|\r", EPRT),
	PART("PA", NONE),
	PART("PASV", PASV),
	PART("PASV\r", PASV),
	PART("pasv x", PASV),
	PART("EPSV", EPSV),
	PART("EPSV AL", EPSV),
	PART("EPSV ALL", EPSV),
	PART("EPSV ALL\r", EPSV),
	PART("AUTH", AUTH),
	PART("AUTH ", AUTH),
	PART("AUTH T", AUTH),
	PART("AUTH TLS", AUTH),
	PART("AUTH TLS-", AUTH),
	PART("AUTH tls \t", AUTH),
	PART("AUTH TLS\r", AUTH),
	PART("AUTH G", COMMAND),
	PART("AUTH GSSAPI", COMMAND),
	PART("AUTH TLSX", COMMAND),
	PART("AUTH TL\r", COMMAND),
	PART("2", NONE),
	PART("22", NONE),
	PART("227", NONE),
	PART("229", NONE),
	PART("23", NONE),
	PART("234", NONE),
	PARTR("227 ", 227, 227),
	PARTR("227 Ent", 227, 227),
	PARTR("227 Entering Passive Mode (1,2,3,4,5,6)\r", 227, 227),
	PARTR("229 (|||", 229, 229),
	PARTR("234 x", 234, 234),

	/* Unterminated lines that cannot matter */
	SKIP("RETR fi", COMMAND),
	SKIP("RETR", COMMAND),
	SKIP("RETR\r", COMMAND),
	SKIP("USER x", COMMAND),
	SKIP("CWD ", COMMAND),
	SKIP("RET", NONE),
	SKIP("PAS\r", NONE),
	SKIP("PORTX", NONE),
	SKIP("PORT\rX", NONE),
	SKIP("PORT\0", NONE),
	SKIP("PORT\t", NONE),
	SKIP("EPSVX", NONE),
	SKIP("X", NONE),
	SKIP(" ", NONE),
	SKIP("\r", NONE),
	SKIP("\0", NONE),
	SKIP("\xff", NONE),
	SKIP("\xff\xf4", NONE),
	SKIP("6", NONE),
	SKIP("28", NONE),
	SKIP("220", NONE),
	SKIP("227\r", NONE),
	SKIP("2270", NONE),
	SKIPR("220 We", REPLY, 220, 0),
	SKIPR("225 ", REPLY, 225, 0),
	SKIPR("220-", REPLY, 220, 1),
	SKIPR("227-", REPLY, 227, 1),
	SKIPR("229-(|||6446|)", REPLY, 229, 1),

	/* Several lines in one buffer: only the first is parsed */
	{ IN("PASV\r\nPORT 1,2,3,4,5,6\r\n"), .status = FTP_SYM_COMPLETE,
	  .consumed = 6, K(PASV) },
	{ IN("\r\nPORT 1,2,3,4,5,6\r\n"), .status = FTP_SYM_COMPLETE,
	  .consumed = 2, K(NONE) },
	{ IN("\nPORT 1,2,3,4,5,6\r\n"), .status = FTP_SYM_COMPLETE,
	  .consumed = 1, K(NONE) },
	{ IN("227 (1,2,3,4,5,6)\r\n220 x\r\n"), .status = FTP_SYM_COMPLETE,
	  .consumed = 19, K(227), .code = 227, .family = 4,
	  .addr = "1.2.3.4", .port = 1286, .match = "1,2,3,4,5,6" },
	{ IN("229 (|||6446|)\n\n"), .status = FTP_SYM_COMPLETE,
	  .consumed = 15, K(229), .code = 229, .delim = '|', .port = 6446,
	  .match = "6446" },
	{ IN("EPRT |1|1.2.3.4|21|\r\n\r\n"), .status = FTP_SYM_COMPLETE,
	  .consumed = 21, K(EPRT), .delim = '|', .family = 4,
	  .addr = "1.2.3.4", .port = 21, .match = "1|1.2.3.4|21" },
	{ IN("PORT 1,2,3,4,5,6\r\r\n\n"), .status = FTP_SYM_COMPLETE,
	  .consumed = 19, K(PORT), E(SYNTAX) },
};

#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

static size_t expected_consumed(const struct vec *v)
{
	if (v->status != FTP_SYM_COMPLETE)
		return 0;
	return v->consumed == WHOLE ? v->len : v->consumed;
}

static void expected_endpoint(const struct vec *v,
			      struct ftp_sym_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = v->family;
	ep->port = v->port;
	if (v->family == 4 && inet_pton(AF_INET, v->addr, ep->addr) != 1)
		abort();
	if (v->family == 6 && inet_pton(AF_INET6, v->addr, ep->addr) != 1)
		abort();
}

static void check_line(struct check *c, const char *in,
		       const struct ftp_sym_line *l, const struct vec *v)
{
	struct ftp_sym_endpoint want;
	size_t mlen = v->match ? strlen(v->match) : 0;

	if (l->kind != v->kind)
		fail(c, "kind %s, want %s", ftp_sym_kind_name(l->kind),
		     ftp_sym_kind_name(v->kind));
	if (l->error != v->error)
		fail(c, "error %s, want %s", ftp_sym_error_name(l->error),
		     ftp_sym_error_name(v->error));
	if (l->consumed != expected_consumed(v))
		fail(c, "consumed %u, want %zu", l->consumed,
		     expected_consumed(v));
	if (l->code != v->code)
		fail(c, "code %u, want %u", l->code, v->code);
	if (l->multiline != v->multiline)
		fail(c, "multiline %u, want %d", l->multiline, v->multiline);
	if (l->delim != v->delim)
		fail(c, "delim 0x%02x, want 0x%02x", (unsigned char)l->delim,
		     (unsigned char)v->delim);
	expected_endpoint(v, &want);
	if (!ep_equal(&l->ep, &want))
		fail(c, "endpoint %s, want %s", ep_text(&l->ep),
		     ep_text(&want));
	if (l->match_len != mlen)
		fail(c, "match_len %u, want %zu", l->match_len, mlen);
	else if (mlen && (l->match_off + mlen > expected_consumed(v) ||
			  memcmp(in + l->match_off, v->match, mlen)))
		fail(c, "match text at %u differs from \"%s\"", l->match_off,
		     v->match);
}

static void test_vectors(void)
{
	struct ftp_sym_line l;
	struct check c = { 0 };
	size_t i;

	for (i = 0; i < NVECTORS; i++) {
		const struct vec *v = &vectors[i];
		int st = parse(v->in, v->len, &l);

		if (st != v->status)
			fail(&c, "status %s, want %s", status_name(st),
			     status_name(v->status));
		check_line(&c, v->in, &l, v);
		/* Table sanity: an endpoint line without error has a span. */
		if (v->status == FTP_SYM_COMPLETE && !v->error &&
		    ftp_sym_kind_has_endpoint(v->kind) && !v->match)
			fail(&c, "table error: endpoint vector without match");
		finish(&c, xasprintf("vector %zu: %s %s \"%s\"", i + 1,
				     status_name(v->status),
				     ftp_sym_kind_name(v->kind),
				     escape(v->in, v->len, 60)));
	}
}

/* Every proper prefix of a relevant line must be PARTIAL, with no kind or
 * the final kind; every prefix of any line must not be COMPLETE.
 */
static void check_prefixes(struct check *c, const char *in, size_t consumed,
			   const struct ftp_sym_line *whole)
{
	struct ftp_sym_line l;
	size_t i;
	int st;

	for (i = 0; i < consumed; i++) {
		st = parse(in, i, &l);
		if (st == FTP_SYM_COMPLETE) {
			fail(c, "prefix %zu is complete", i);
			continue;
		}
		if (!kind_is_relevant(whole->kind) ||
		    consumed > FTP_SYM_LINE_MAX)
			continue;
		if (st != FTP_SYM_PARTIAL)
			fail(c, "prefix of %zu bytes: %s, want partial", i,
			     status_name(st));
		if (l.kind != FTP_SYM_K_NONE && l.kind != whole->kind)
			fail(c, "prefix of %zu bytes: kind %s, line is %s", i,
			     ftp_sym_kind_name(l.kind),
			     ftp_sym_kind_name(whole->kind));
		if (l.code && l.code != whole->code)
			fail(c, "prefix of %zu bytes: code %u, line has %u", i,
			     l.code, whole->code);
		if (l.consumed || l.match_len || l.error)
			fail(c, "prefix of %zu bytes: consumed %u match %u "
			     "error %u", i, l.consumed, l.match_len, l.error);
	}
}

static void test_splits(void)
{
	struct ftp_sym_line l;
	struct check c = { 0 };
	size_t i;

	for (i = 0; i < NVECTORS; i++) {
		const struct vec *v = &vectors[i];

		if (v->status != FTP_SYM_COMPLETE ||
		    !kind_is_relevant(v->kind))
			continue;
		parse(v->in, v->len, &l);
		check_prefixes(&c, v->in, l.consumed, &l);
		finish(&c, xasprintf("every split of vector %zu is partial: "
				     "\"%s\"", i + 1,
				     escape(v->in, v->len, 50)));
	}
}

/* Replace the match span of @in by @text and re-parse. */
static void splice_and_check(struct check *c, const char *in, size_t len,
			     const struct ftp_sym_line *old, const char *text,
			     size_t text_len)
{
	size_t new_len = len - old->match_len + text_len;
	char *buf = malloc(new_len + 1);
	struct ftp_sym_line l;
	int st;

	if (!buf)
		exit(2);
	memcpy(buf, in, old->match_off);
	memcpy(buf + old->match_off, text, text_len);
	memcpy(buf + old->match_off + text_len,
	       in + old->match_off + old->match_len,
	       len - old->match_off - old->match_len);
	st = parse(buf, new_len, &l);
	if (st != FTP_SYM_COMPLETE || l.kind != old->kind || l.error) {
		fail(c, "spliced line \"%s\": %s %s %s",
		     escape(buf, new_len, 80), status_name(st),
		     ftp_sym_kind_name(l.kind), ftp_sym_error_name(l.error));
	} else {
		if (!ep_equal(&l.ep, &old->ep))
			fail(c, "spliced endpoint %s, want %s",
			     ep_text(&l.ep), ep_text(&old->ep));
		if (l.delim != old->delim)
			fail(c, "spliced delimiter changed");
		if (l.match_off != old->match_off ||
		    l.match_len != text_len ||
		    memcmp(buf + l.match_off, text, text_len))
			fail(c, "spliced match span is not the new text");
		if (l.consumed != old->consumed - old->match_len + text_len)
			fail(c, "spliced consumed %u", l.consumed);
	}
	free(buf);
}

static void roundtrip_line(struct check *c, const char *in, size_t len)
{
	char text[FTP_SYM_TEXT_MAX], again[FTP_SYM_TEXT_MAX];
	struct ftp_sym_line l;
	int n, m;

	if (parse(in, len, &l) != FTP_SYM_COMPLETE || l.error ||
	    !ftp_sym_kind_has_endpoint(l.kind)) {
		fail(c, "\"%s\" is not a valid endpoint line",
		     escape(in, len, 80));
		return;
	}
	n = ftp_sym_format(text, sizeof(text), l.kind, l.delim, &l.ep);
	if (n <= 0 || n > (int)sizeof(text)) {
		fail(c, "format returned %d", n);
		return;
	}
	splice_and_check(c, in, len, &l, text, n);
	/* Formatting is canonical: the re-parsed endpoint formats the same. */
	{
		struct ftp_sym_line l2;
		char *buf = malloc(len + n);

		if (!buf)
			exit(2);
		memcpy(buf, in, l.match_off);
		memcpy(buf + l.match_off, text, n);
		memcpy(buf + l.match_off + n, in + l.match_off + l.match_len,
		       len - l.match_off - l.match_len);
		parse(buf, len - l.match_len + n, &l2);
		m = ftp_sym_format(again, sizeof(again), l2.kind, l2.delim,
				   &l2.ep);
		if (m != n || memcmp(text, again, n))
			fail(c, "formatting is not idempotent");
		free(buf);
	}
}

static void test_roundtrip_vectors(void)
{
	struct check c = { 0 };
	size_t i;

	for (i = 0; i < NVECTORS; i++) {
		const struct vec *v = &vectors[i];

		if (v->status != FTP_SYM_COMPLETE || v->error ||
		    !ftp_sym_kind_has_endpoint(v->kind))
			continue;
		roundtrip_line(&c, v->in, v->len);
		finish(&c, xasprintf("format/splice/parse of vector %zu", i + 1));
	}
}

/* ------------------------------------------------------------------ */
/* Generated endpoints.                                                */

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static unsigned int rnd(void)
{
	unsigned long long x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return (unsigned int)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

static unsigned int rnd_port(void)
{
	switch (rnd() % 4) {
	case 0:
		return 1 + rnd() % 1024;
	case 1:
		return 65535 - rnd() % 16;
	default:
		return 1 + rnd() % 65535;
	}
}

static void rnd_ipv6(unsigned char *addr)
{
	unsigned int i, g, zero_bias = rnd() % 4;

	for (i = 0; i < 8; i++) {
		if (rnd() % 4 < zero_bias)
			g = 0;
		else if (rnd() % 3 == 0)
			g = rnd() % 16;
		else
			g = rnd() & 0xffff;
		addr[2 * i] = g >> 8;
		addr[2 * i + 1] = g & 0xff;
	}
	if (rnd() % 16 == 0) {
		/* IPv4-mapped: inet_ntop() prints a dotted quad for it. */
		memset(addr, 0, 10);
		addr[10] = 0xff;
		addr[11] = 0xff;
	}
}

static char rnd_eprt_delim(void)
{
	static const char delims[] = "|!#$%&'()*+,-/;<=>?@[]^_`{}~"
				     "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ\"";

	return delims[rnd() % (sizeof(delims) - 1)];
}

static void test_generated(unsigned int kind, unsigned int rounds)
{
	char text[FTP_SYM_TEXT_MAX], line[256], ntop[INET6_ADDRSTRLEN];
	struct ftp_sym_endpoint ep;
	struct ftp_sym_line l;
	struct check c = { 0 };
	unsigned int i;
	char delim = 0;
	int n, len;

	for (i = 0; i < rounds; i++) {
		memset(&ep, 0, sizeof(ep));
		ep.port = rnd_port();
		if (kind == FTP_SYM_K_EPRT) {
			delim = rnd_eprt_delim();
			ep.family = rnd() % 2 ? 6 : 4;
		} else if (kind != FTP_SYM_K_229) {
			ep.family = 4;
		}
		if (ep.family == 4)
			for (n = 0; n < 4; n++)
				ep.addr[n] = rnd();
		else if (ep.family == 6)
			rnd_ipv6(ep.addr);

		n = ftp_sym_format(text, sizeof(text), kind, delim, &ep);
		if (n <= 0) {
			fail(&c, "format failed for %s", ep_text(&ep));
			continue;
		}
		switch (kind) {
		case FTP_SYM_K_PORT:
			len = snprintf(line, sizeof(line), "PORT %.*s\r\n", n,
				       text);
			break;
		case FTP_SYM_K_EPRT:
			len = snprintf(line, sizeof(line), "EPRT %c%.*s%c\r\n",
				       delim, n, text, delim);
			break;
		case FTP_SYM_K_227:
			len = snprintf(line, sizeof(line),
				       "227 Entering Passive Mode (%.*s).\r\n",
				       n, text);
			break;
		default:
			len = snprintf(line, sizeof(line),
				       "229 Entering Extended Passive Mode "
				       "(|||%.*s|)\r\n", n, text);
			break;
		}
		if (parse(line, len, &l) != FTP_SYM_COMPLETE ||
		    l.kind != kind || l.error || !ep_equal(&l.ep, &ep)) {
			fail(&c, "\"%s\" parsed as %s %s %s, want %s",
			     escape(line, len, 80), ftp_sym_kind_name(l.kind),
			     ftp_sym_error_name(l.error), ep_text(&l.ep),
			     ep_text(&ep));
			continue;
		}
		if (l.match_len != n || memcmp(line + l.match_off, text, n))
			fail(&c, "match span of \"%s\" is not the formatted "
			     "text", escape(line, len, 80));
		check_prefixes(&c, line, len, &l);

		if (ep.family != 6)
			continue;
		/* RFC 5952 text must agree with glibc unless it used a dotted
		 * quad; and glibc's text, dotted quad or not, must parse.
		 */
		inet_ntop(AF_INET6, ep.addr, ntop, sizeof(ntop));
		if (!strchr(ntop, '.') &&
		    ((size_t)n < strlen(ntop) + 4 ||
		     memcmp(text + 2, ntop, strlen(ntop)) ||
		     text[2 + strlen(ntop)] != delim))
			fail(&c, "IPv6 text \"%.*s\", inet_ntop() \"%s\"", n,
			     text, ntop);
		len = snprintf(line, sizeof(line), "EPRT |2|%s|%u|\r\n", ntop,
			       ep.port);
		if (parse(line, len, &l) != FTP_SYM_COMPLETE || l.error ||
		    !ep_equal(&l.ep, &ep))
			fail(&c, "\"%s\" parsed as %s %s", escape(line, len, 80),
			     ftp_sym_error_name(l.error), ep_text(&l.ep));
	}
	finish(&c, xasprintf("%u generated %s endpoints: format, parse, "
			     "splits", rounds, ftp_sym_kind_name(kind)));
}

/* True if the dotted quad part (after the last ':') has a number with a
 * leading zero.
 */
static int has_quad_leading_zero(const char *text)
{
	const char *p = strrchr(text, ':');

	p = p ? p + 1 : text;
	if (!strchr(p, '.'))
		return 0;
	for (; *p; p++)
		if ((p == text || p[-1] == '.' || p[-1] == ':') && p[0] == '0' &&
		    p[1] >= '0' && p[1] <= '9')
			return 1;
	return 0;
}

/* Random IPv6 text built from plausible tokens, checked against
 * inet_pton().  glibc refuses leading zeros in a dotted quad, which RFC
 * 2428 text allows, so such strings are left out.
 */
static void test_ipv6_vs_inet_pton(unsigned int rounds)
{
	char addr_text[128], line[256];
	unsigned char want[16];
	struct ftp_sym_line l;
	struct check c = { 0 };
	unsigned int i, t, ntok, accepted = 0;
	int len, ok_pton, ok_ours, leading_zero;
	size_t o;

	for (i = 0; i < rounds; i++) {
		o = 0;
		leading_zero = 0;
		ntok = rnd() % 12;
		for (t = 0; t < ntok && o < 80; t++) {
			unsigned int r = rnd() % 10;

			if (r < 4) {
				unsigned int digits = 1 + rnd() % 5, d;

				if (rnd() % 2)
					digits = 1 + rnd() % 4;
				for (d = 0; d < digits; d++)
					addr_text[o++] =
						"0123456789abcdefABCDEF"[rnd() % 22];
			} else if (r < 8) {
				addr_text[o++] = ':';
			} else if (r < 9) {
				addr_text[o++] = ':';
				addr_text[o++] = ':';
			} else {
				unsigned int q, parts = 3 + rnd() % 3, v;

				for (q = 0; q < parts; q++) {
					v = rnd() % 4 ? rnd() % 256 :
						rnd() % 1000;
					if (q)
						addr_text[o++] = '.';
					o += sprintf(addr_text + o, "%u", v);
				}
			}
		}
		addr_text[o] = 0;
		leading_zero = has_quad_leading_zero(addr_text);
		if (leading_zero)
			continue;
		ok_pton = inet_pton(AF_INET6, addr_text, want) == 1;
		len = snprintf(line, sizeof(line), "EPRT |2|%s|21|\r\n",
			       addr_text);
		parse(line, len, &l);
		ok_ours = !l.error;
		if (ok_pton != ok_ours)
			fail(&c, "\"%s\": inet_pton %d, parser %s", addr_text,
			     ok_pton, ftp_sym_error_name(l.error));
		else if (ok_ours && memcmp(l.ep.addr, want, 16))
			fail(&c, "\"%s\": address differs", addr_text);
		else if (!ok_ours && l.error != FTP_SYM_E_ADDR)
			fail(&c, "\"%s\": error %s, want addr", addr_text,
			     ftp_sym_error_name(l.error));
		accepted += ok_ours;
	}
	if (!accepted)
		fail(&c, "no generated address was valid");
	finish(&c, xasprintf("%u generated IPv6 texts agree with inet_pton() "
			     "(%u valid)", rounds, accepted));
}

/* ------------------------------------------------------------------ */
/* Delimiters, long lines, the formatter, the names.                  */

static int eprt_delim_ok(unsigned int c)
{
	return c >= 33 && c <= 126 && !strchr("0123456789abcdefABCDEF.:", c);
}

static void test_delimiter_sweep(void)
{
	struct check c = { 0 };
	struct ftp_sym_line l;
	char line[64];
	unsigned int d;
	bool ok;
	int len;

	for (d = 0; d < 256; d++) {
		/* Built by hand: the delimiter may be NUL or LF. */
		memcpy(line, "EPRT ?1?1.2.3.4?21?\r\n", 21);
		line[5] = d;
		line[7] = d;
		line[15] = d;
		line[18] = d;
		len = 21;
		parse(line, len, &l);
		ok = l.error == FTP_SYM_E_OK;
		if (!!eprt_delim_ok(d) != ok)
			fail(&c, "EPRT delimiter 0x%02x: %s", d,
			     ftp_sym_error_name(l.error));
		if (!l.error && (l.delim != (char)d || l.ep.port != 21))
			fail(&c, "EPRT delimiter 0x%02x: wrong result", d);

		memcpy(line, "229 Extended (", 14);
		line[14] = d;
		line[15] = d;
		line[16] = d;
		memcpy(line + 17, "6446", 4);
		line[21] = d;
		memcpy(line + 22, ")\r\n", 3);
		parse(line, 25, &l);
		if ((d >= 33 && d <= 126 && !(d >= '0' && d <= '9')) !=
		    (l.error == FTP_SYM_E_OK && l.kind == FTP_SYM_K_229))
			fail(&c, "229 delimiter 0x%02x: %s %s", d,
			     ftp_sym_kind_name(l.kind),
			     ftp_sym_error_name(l.error));
		if (!l.error && l.kind == FTP_SYM_K_229 &&
		    (l.delim != (char)d || l.ep.port != 6446))
			fail(&c, "229 delimiter 0x%02x: wrong result", d);
	}
	finish(&c, xasprintf("EPRT and 229 accept exactly the allowed "
			     "delimiters (all 256 bytes)"));
}

static void expect(struct check *c, const char *what, int st, int want_st,
		   const struct ftp_sym_line *l, unsigned int kind,
		   unsigned int error, unsigned int consumed)
{
	if (st != want_st || l->kind != kind || l->error != error ||
	    l->consumed != consumed)
		fail(c, "%s: %s %s %s %u, want %s %s %s %u", what,
		     status_name(st), ftp_sym_kind_name(l->kind),
		     ftp_sym_error_name(l->error), l->consumed,
		     status_name(want_st), ftp_sym_kind_name(kind),
		     ftp_sym_error_name(error), consumed);
}

static char *padded(const char *head, const char *tail, size_t total,
		    char pad)
{
	char *buf = malloc(total);
	size_t h = strlen(head), t = strlen(tail);

	if (!buf || h + t > total)
		exit(2);
	memcpy(buf, head, h);
	memset(buf + h, pad, total - h - t);
	memcpy(buf + total - t, tail, t);
	return buf;
}

static void test_long_lines(void)
{
	struct ftp_sym_line l;
	struct check c;
	char *buf;
	int st;

	c = (struct check){ 0 };
	buf = padded("PORT 1,2,3,4,5,6", "\r\n", FTP_SYM_LINE_MAX, ' ');
	st = parse(buf, FTP_SYM_LINE_MAX, &l);
	expect(&c, "PORT, 256 bytes", st, FTP_SYM_COMPLETE, &l,
	       FTP_SYM_K_PORT, FTP_SYM_E_OK, FTP_SYM_LINE_MAX);
	if (l.ep.port != 1286 || l.match_len != 11)
		fail(&c, "PORT, 256 bytes: no endpoint");
	check_prefixes(&c, buf, FTP_SYM_LINE_MAX, &l);
	free(buf);
	finish(&c, xasprintf("a PORT line of exactly FTP_SYM_LINE_MAX bytes "
			     "is parsed, its prefixes are partial"));

	c = (struct check){ 0 };
	buf = padded("PORT 1,2,3,4,5,6", "\r\n", FTP_SYM_LINE_MAX + 1, ' ');
	st = parse(buf, FTP_SYM_LINE_MAX + 1, &l);
	expect(&c, "PORT, 257 bytes", st, FTP_SYM_COMPLETE, &l,
	       FTP_SYM_K_PORT, FTP_SYM_E_LONGLINE, FTP_SYM_LINE_MAX + 1);
	if (l.ep.port || l.ep.family || l.match_len)
		fail(&c, "PORT, 257 bytes: endpoint left set");
	st = parse(buf, FTP_SYM_LINE_MAX - 1, &l);
	expect(&c, "its first 255 bytes", st, FTP_SYM_PARTIAL, &l,
	       FTP_SYM_K_PORT, FTP_SYM_E_OK, 0);
	st = parse(buf, FTP_SYM_LINE_MAX, &l);
	expect(&c, "its first 256 bytes", st, FTP_SYM_SKIP, &l,
	       FTP_SYM_K_PORT, FTP_SYM_E_LONGLINE, 0);
	free(buf);
	finish(&c, xasprintf("a PORT line one byte over FTP_SYM_LINE_MAX is "
			     "longline; its 256-byte prefix is skipped"));

	c = (struct check){ 0 };
	buf = padded("227 Entering Passive Mode (1,2,3,4,5,6)", "\n", 300,
		     'x');
	st = parse(buf, 300, &l);
	expect(&c, "227, 300 bytes", st, FTP_SYM_COMPLETE, &l, FTP_SYM_K_227,
	       FTP_SYM_E_LONGLINE, 300);
	if (l.code != 227)
		fail(&c, "227, 300 bytes: code %u", l.code);
	free(buf);
	buf = padded("229 (|||21|)", "\r\n", 1000, '.');
	st = parse(buf, 1000, &l);
	expect(&c, "229, 1000 bytes", st, FTP_SYM_COMPLETE, &l,
	       FTP_SYM_K_229, FTP_SYM_E_LONGLINE, 1000);
	free(buf);
	buf = padded("EPRT |1|1.2.3.4|21|", "\r\n", 400, '\t');
	st = parse(buf, 400, &l);
	expect(&c, "EPRT, 400 bytes", st, FTP_SYM_COMPLETE, &l,
	       FTP_SYM_K_EPRT, FTP_SYM_E_LONGLINE, 400);
	free(buf);
	buf = padded("PASV ", "\r\n", 500, 'p');
	st = parse(buf, 500, &l);
	expect(&c, "PASV, 500 bytes", st, FTP_SYM_COMPLETE, &l,
	       FTP_SYM_K_PASV, FTP_SYM_E_OK, 500);
	free(buf);
	buf = padded("220 ", "\r\n", 500, 'w');
	st = parse(buf, 500, &l);
	expect(&c, "220, 500 bytes", st, FTP_SYM_COMPLETE, &l,
	       FTP_SYM_K_REPLY, FTP_SYM_E_OK, 500);
	st = parse(buf, 400, &l);
	expect(&c, "220, 400 of 500 bytes", st, FTP_SYM_SKIP, &l,
	       FTP_SYM_K_REPLY, FTP_SYM_E_LONGLINE, 0);
	if (l.code != 220)
		fail(&c, "220 prefix: code %u", l.code);
	free(buf);
	buf = padded("RETR ", "", 300, 'f');
	st = parse(buf, 300, &l);
	expect(&c, "RETR, 300 bytes, no LF", st, FTP_SYM_SKIP, &l,
	       FTP_SYM_K_COMMAND, FTP_SYM_E_LONGLINE, 0);
	free(buf);
	buf = padded("AUTH TLS", "", 256, ' ');
	st = parse(buf, 256, &l);
	expect(&c, "AUTH, 256 bytes, no LF", st, FTP_SYM_SKIP, &l,
	       FTP_SYM_K_AUTH, FTP_SYM_E_LONGLINE, 0);
	free(buf);
	buf = padded("", "", 256, '\xff');
	st = parse(buf, 256, &l);
	expect(&c, "garbage, 256 bytes, no LF", st, FTP_SYM_SKIP, &l,
	       FTP_SYM_K_NONE, FTP_SYM_E_LONGLINE, 0);
	free(buf);
	finish(&c, xasprintf("long 227/229/EPRT lines are longline, other "
			     "kinds are classified"));

	/* consumed is a u16: the LF search window ends at 65535 bytes. */
	c = (struct check){ 0 };
	buf = padded("NOOP ", "\n", 65535, 'n');
	st = parse(buf, 65535, &l);
	expect(&c, "LF at offset 65534", st, FTP_SYM_COMPLETE, &l,
	       FTP_SYM_K_COMMAND, FTP_SYM_E_OK, 65535);
	free(buf);
	buf = padded("PORT ", "\n", 65536, '1');
	st = parse(buf, 65536, &l);
	expect(&c, "LF at offset 65535", st, FTP_SYM_SKIP, &l,
	       FTP_SYM_K_PORT, FTP_SYM_E_LONGLINE, 0);
	free(buf);
	buf = padded("PORT ", "", 200000, '1');
	st = parse(buf, 200000, &l);
	expect(&c, "200000 bytes without LF", st, FTP_SYM_SKIP, &l,
	       FTP_SYM_K_PORT, FTP_SYM_E_LONGLINE, 0);
	free(buf);
	finish(&c, xasprintf("the LF search stops at 65535 bytes so that "
			     "consumed fits"));
}

/* Walk a stream the way the helper does. */
static void test_stream_walk(void)
{
	static const char stream[] =
		"USER ftp\r\nPASS x\r\nPASV\r\n"
		"227 Entering Passive Mode (10,0,0,1,19,137).\r\n"
		"EPRT |2|2001:db8::7|6000|\r\n"
		"229 Entering Extended Passive Mode (|||6001|)\r\n"
		"PORT 10,0,0,2,4,1\n"
		"220-multi\r\n220 end\r\n"
		"PORT 10,0,0";
	static const unsigned int kinds[] = {
		FTP_SYM_K_COMMAND, FTP_SYM_K_COMMAND, FTP_SYM_K_PASV,
		FTP_SYM_K_227, FTP_SYM_K_EPRT, FTP_SYM_K_229, FTP_SYM_K_PORT,
		FTP_SYM_K_REPLY, FTP_SYM_K_REPLY,
	};
	struct check c = { 0 };
	struct ftp_sym_line l;
	size_t off = 0, len = sizeof(stream) - 1, n = 0;
	int st;

	while ((st = parse(stream + off, len - off, &l)) == FTP_SYM_COMPLETE) {
		if (n >= sizeof(kinds) / sizeof(kinds[0]) ||
		    l.kind != kinds[n] || l.error)
			fail(&c, "line %zu: %s %s", n + 1,
			     ftp_sym_kind_name(l.kind),
			     ftp_sym_error_name(l.error));
		off += l.consumed;
		n++;
	}
	if (n != sizeof(kinds) / sizeof(kinds[0]))
		fail(&c, "%zu complete lines", n);
	if (st != FTP_SYM_PARTIAL || l.kind != FTP_SYM_K_PORT ||
	    strcmp(stream + off, "PORT 10,0,0"))
		fail(&c, "tail: %s %s", status_name(st),
		     ftp_sym_kind_name(l.kind));
	finish(&c, xasprintf("walking a control stream line by line"));
}

static void format_case(struct check *c, unsigned int kind, char delim,
			int family, const char *addr, unsigned int port,
			const char *want)
{
	struct ftp_sym_endpoint ep = { 0 };
	char buf[FTP_SYM_TEXT_MAX + 8];
	size_t size, wlen = want ? strlen(want) : 0;
	int n;

	ep.family = family;
	ep.port = port;
	if (family == 4)
		inet_pton(AF_INET, addr, ep.addr);
	else if (family == 6)
		inet_pton(AF_INET6, addr, ep.addr);

	memset(buf, '#', sizeof(buf));
	n = ftp_sym_format(buf, FTP_SYM_TEXT_MAX, kind, delim, &ep);
	if (!want) {
		if (n != -1)
			fail(c, "format %s/%d/%s/%u returned %d, want -1",
			     ftp_sym_kind_name(kind), family,
			     addr ? addr : "-", port, n);
		return;
	}
	if (n != (int)wlen || memcmp(buf, want, wlen)) {
		fail(c, "format %s %s: \"%.*s\", want \"%s\"",
		     ftp_sym_kind_name(kind), addr ? addr : "-", n > 0 ? n : 0, buf, want);
		return;
	}
	/* Every smaller buffer fails and is not written past its end. */
	for (size = 0; size < wlen; size++) {
		memset(buf, '#', sizeof(buf));
		n = ftp_sym_format(buf, size, kind, delim, &ep);
		if (n != -1)
			fail(c, "format into %zu bytes returned %d", size, n);
		if (buf[size] != '#')
			fail(c, "format into %zu bytes wrote past the end",
			     size);
	}
	memset(buf, '#', sizeof(buf));
	if (ftp_sym_format(buf, wlen, kind, delim, &ep) != (int)wlen ||
	    buf[wlen] != '#')
		fail(c, "format into exactly %zu bytes failed", wlen);
}

static void test_format(void)
{
	struct check c = { 0 };

	format_case(&c, FTP_SYM_K_PORT, 0, 4, "1.2.3.4", 1286, "1,2,3,4,5,6");
	format_case(&c, FTP_SYM_K_PORT, 0, 4, "255.255.255.255", 65535,
		    "255,255,255,255,255,255");
	format_case(&c, FTP_SYM_K_227, 0, 4, "10.0.0.1", 21, "10,0,0,1,0,21");
	format_case(&c, FTP_SYM_K_227, 0, 4, "0.0.0.0", 256, "0,0,0,0,1,0");
	format_case(&c, FTP_SYM_K_EPRT, '|', 4, "132.235.1.2", 6275,
		    "1|132.235.1.2|6275");
	format_case(&c, FTP_SYM_K_EPRT, '!', 4, "1.2.3.4", 1, "1!1.2.3.4!1");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "::", 21, "2|::|21");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "::1", 21, "2|::1|21");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "1::", 21, "2|1::|21");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "2001:DB8:0:0:0:0:0:1", 21,
		    "2|2001:db8::1|21");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "2001:db8:0:0:1:0:0:1", 21,
		    "2|2001:db8::1:0:0:1|21");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "2001:0:0:1:0:0:0:1", 21,
		    "2|2001:0:0:1::1|21");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "2001:db8:0:1:1:1:1:1", 21,
		    "2|2001:db8:0:1:1:1:1:1|21");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "1:0:1:0:1:0:1:0", 21,
		    "2|1:0:1:0:1:0:1:0|21");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "0:0:1:0:0:1:0:0", 21,
		    "2|::1:0:0:1:0:0|21");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "::ffff:1.2.3.4", 21,
		    "2|::ffff:102:304|21");
	format_case(&c, FTP_SYM_K_EPRT, '$', 6,
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
		    "2$ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff$65535");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "fe80::abcd:0:0:0", 21,
		    "2|fe80::abcd:0:0:0|21");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "1:2:3:4:5:6:7:0", 21,
		    "2|1:2:3:4:5:6:7:0|21");
	format_case(&c, FTP_SYM_K_EPRT, '|', 6, "1:2:3:4:5:6:0:0", 21,
		    "2|1:2:3:4:5:6::|21");
	format_case(&c, FTP_SYM_K_229, 0, 0, NULL, 6446, "6446");
	format_case(&c, FTP_SYM_K_229, 0, 4, "1.2.3.4", 65535, "65535");
	format_case(&c, FTP_SYM_K_229, 0, 6, "::1", 1, "1");
	finish(&c, xasprintf("ftp_sym_format() output, RFC 5952 text, "
			     "every short buffer refused"));

	c = (struct check){ 0 };
	format_case(&c, FTP_SYM_K_PORT, 0, 4, "1.2.3.4", 0, NULL);
	format_case(&c, FTP_SYM_K_PORT, 0, 6, "::1", 21, NULL);
	format_case(&c, FTP_SYM_K_PORT, 0, 0, NULL, 21, NULL);
	format_case(&c, FTP_SYM_K_227, 0, 6, "::1", 21, NULL);
	format_case(&c, FTP_SYM_K_EPRT, '|', 0, NULL, 21, NULL);
	format_case(&c, FTP_SYM_K_EPRT, '|', 5, NULL, 21, NULL);
	format_case(&c, FTP_SYM_K_EPRT, '|', 4, "1.2.3.4", 0, NULL);
	format_case(&c, FTP_SYM_K_EPRT, 'a', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_EPRT, 'F', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_EPRT, '1', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_EPRT, '.', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_EPRT, ':', 6, "::1", 21, NULL);
	format_case(&c, FTP_SYM_K_EPRT, ' ', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_EPRT, 0, 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_EPRT, '\x7f', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_EPRT, '\x80', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_229, '|', 5, NULL, 21, NULL);
	format_case(&c, FTP_SYM_K_229, '|', 0, NULL, 0, NULL);
	format_case(&c, FTP_SYM_K_NONE, '|', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_COMMAND, '|', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_REPLY, '|', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_PASV, '|', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_EPSV, '|', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_AUTH, '|', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_234, '|', 4, "1.2.3.4", 21, NULL);
	format_case(&c, FTP_SYM_K_MAX, '|', 4, "1.2.3.4", 21, NULL);
	format_case(&c, 1000, '|', 4, "1.2.3.4", 21, NULL);
	if (ftp_sym_format(NULL, 0, FTP_SYM_K_229, 0, NULL) != -1)
		fail(&c, "NULL endpoint accepted");
	finish(&c, xasprintf("ftp_sym_format() refuses bad kind, family, "
			     "delimiter and port 0"));

	c = (struct check){ 0 };
	{
		struct ftp_sym_endpoint ep = { .family = 6, .port = 65535 };
		char buf[FTP_SYM_TEXT_MAX];
		unsigned int d;
		int n, max = 0;
		bool ok;

		/* The longest text fits FTP_SYM_TEXT_MAX. */
		memset(ep.addr, 0xff, sizeof(ep.addr));
		for (d = 0; d < 256; d++) {
			n = ftp_sym_format(buf, sizeof(buf), FTP_SYM_K_EPRT,
					   (char)d, &ep);
			ok = n > 0;
			if (ok != eprt_delim_ok(d))
				fail(&c, "delimiter 0x%02x: %d", d, n);
			if (n > max)
				max = n;
		}
		if (max != 47)
			fail(&c, "longest EPRT text %d", max);
	}
	finish(&c, xasprintf("ftp_sym_format() accepts exactly the EPRT "
			     "delimiters; longest text fits"));
}

static void test_names(void)
{
	static const char *const kinds[] = {
		"none", "command", "reply", "port", "eprt", "pasv", "epsv",
		"auth", "227", "229", "234",
	};
	static const char *const errors[] = {
		"ok", "syntax", "range", "overlong", "nul", "family", "addr",
		"delim", "nonum", "longline",
	};
	struct check c = { 0 };
	unsigned int i;

	if (sizeof(kinds) / sizeof(kinds[0]) != FTP_SYM_K_MAX ||
	    sizeof(errors) / sizeof(errors[0]) != FTP_SYM_E_MAX)
		fail(&c, "enum sizes changed");
	for (i = 0; i < FTP_SYM_K_MAX; i++)
		if (strcmp(ftp_sym_kind_name(i), kinds[i]))
			fail(&c, "kind %u is \"%s\"", i, ftp_sym_kind_name(i));
	for (i = 0; i < FTP_SYM_E_MAX; i++)
		if (strcmp(ftp_sym_error_name(i), errors[i]))
			fail(&c, "error %u is \"%s\"", i,
			     ftp_sym_error_name(i));
	if (strcmp(ftp_sym_kind_name(FTP_SYM_K_MAX), "?") ||
	    strcmp(ftp_sym_kind_name(~0u), "?") ||
	    strcmp(ftp_sym_error_name(FTP_SYM_E_MAX), "?") ||
	    strcmp(ftp_sym_error_name(~0u), "?"))
		fail(&c, "out of range name is not \"?\"");
	finish(&c, xasprintf("kind and error names"));
}

/* Every line of up to two bytes plus LF, and of up to two bytes without:
 * nothing crashes, framing is right, and a COMPLETE relevant line has
 * PARTIAL prefixes.
 */
static void test_short_exhaustive(void)
{
	struct check c = { 0 };
	struct ftp_sym_line l;
	unsigned int a, b;
	char buf[3];
	int st;

	for (a = 0; a < 256; a++) {
		for (b = 0; b < 256; b++) {
			buf[0] = a;
			buf[1] = b;
			buf[2] = '\n';
			st = parse(buf, 3, &l);
			if (st != FTP_SYM_COMPLETE ||
			    l.consumed != (a == '\n' ? 1 : b == '\n' ? 2 : 3))
				fail(&c, "%02x %02x LF: %s consumed %u", a, b,
				     status_name(st), l.consumed);
			check_prefixes(&c, buf, l.consumed, &l);
		}
	}
	finish(&c, xasprintf("all 65536 two-byte lines frame correctly"));
}

/* ftp_sym_may_continue_line(): line starts are taken, and no piece of an
 * endpoint line that follows its first byte is, at any split point; the
 * buffers are copied to exactly their length, so that a read past it
 * shows under valgrind and ASan.
 */
static bool may_continue(const char *s, size_t len)
{
	char *b = malloc(len ? len : 1);
	bool r;

	if (!b) {
		perror("malloc");
		exit(2);
	}
	memcpy(b, s, len);
	r = ftp_sym_may_continue_line(b, len);
	free(b);
	return r;
}

static void test_may_continue(void)
{
	static const char *const starts[] = {
		"PORT 192,0,2,1,156,64\r\n", "EPRT |1|192.0.2.1|40000|\r\n",
		"EPRT |2|2001:db8::1|40000|\r\n", "PASV\r\n", "EPSV\r\n",
		"TYPE I\r\n", "pwd\r\n", "RETR report,2024.txt\r\n",
		"STOR a|b\r\n", "MODE S\r\n", "PORT", "PAS", "227 ",
		"227 Entering Passive Mode (198,51,100,1,156,64).\r\n",
		"229 Entering Extended Passive Mode (|||40000|)\r\n",
		"230-Welcome, 2 users\r\n", "200 PORT command successful.\r\n",
		" EPSV\r\n", "Welcome to the server\r\n", "XCRC file\r\n",
		"HOST 192.0.2.10\r\n", "CLNT NcFTP 3.2.6\r\n",
		"HASH file-1.iso\r\n", "AVBL /pub/2024\r\n",
		"\x17\x03\x03\x00\x40,1|2:3", "\xff\xf4\xff\xf2,1",
	};
	static const char *const endpoints[] = {
		"PORT 192,0,2,1,156,64\r\n",
		"port 203,0,113,254,4,1\n",
		"EPRT |1|192.0.2.1|40000|\r\n",
		"EPRT !2!2001:db8::1!40000!\r\n",
		"227 Entering Passive Mode (198,51,100,1,156,64).\r\n",
		"227 =198,51,100,1,156,64\r\n",
		"229 Entering Extended Passive Mode (|||40000|)\r\n",
	};
	struct check c = { 0 };
	size_t i, k, len;

	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
		if (may_continue(starts[i], strlen(starts[i])))
			fail(&c, "line start \"%s\" taken for the rest of a line",
			     starts[i]);
	finish(&c, xasprintf("may_continue_line: %zu line starts are taken",
			     sizeof(starts) / sizeof(starts[0])));

	for (i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		len = strlen(endpoints[i]);
		for (k = 1; k < len; k++)
			if (!may_continue(endpoints[i] + k, len - k))
				fail(&c, "\"%s\" from byte %zu taken as a line start",
				     endpoints[i], k);
	}
	finish(&c, xasprintf("may_continue_line: no rest of %zu endpoint lines is taken",
			     sizeof(endpoints) / sizeof(endpoints[0])));

	if (!may_continue("", 0) || !may_continue("\n", 1))
		fail(&c, "an empty segment or a bare LF taken as a line start");
	finish(&c, xasprintf("may_continue_line: nothing and a bare LF are suspect"));
}

int main(void)
{
	size_t i, passed = 0;

	test_vectors();
	test_splits();
	test_roundtrip_vectors();
	test_generated(FTP_SYM_K_PORT, 2000);
	test_generated(FTP_SYM_K_227, 2000);
	test_generated(FTP_SYM_K_EPRT, 5000);
	test_generated(FTP_SYM_K_229, 2000);
	test_ipv6_vs_inet_pton(50000);
	test_delimiter_sweep();
	test_long_lines();
	test_stream_walk();
	test_format();
	test_names();
	test_short_exhaustive();
	test_may_continue();

	printf("TAP version 13\n1..%zu\n", nresults);
	for (i = 0; i < nresults; i++) {
		printf("%sok %zu - %s\n", results[i].ok ? "" : "not ", i + 1,
		       results[i].desc);
		if (!results[i].ok)
			printf("# %s\n", results[i].diag);
		passed += results[i].ok;
	}
	printf("%zu passed, %zu failed\n", passed, nresults - passed);
	for (i = 0; i < nresults; i++) {
		free(results[i].desc);
		free(results[i].diag);
	}
	free(results);
	return passed == nresults ? 0 : 1;
}

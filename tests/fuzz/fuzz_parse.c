// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer harness for nf_ftp_sym_parse.c, one binary per entry point.
 *
 * FUZZ_ENTRY_PARSE: the input is walked line by line the way the conntrack
 * helper walks a segment, and every ftp_sym_parse_line() result is checked
 * against the parser's contract (formatted endpoints are spliced back and
 * re-parsed on the way); any violation calls abort().
 * FUZZ_ENTRY_FORMAT: the input is an arbitrary endpoint, kind, delimiter
 * and buffer size for ftp_sym_format(), whose output must parse back.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nf_ftp_sym_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)				\
	do {					\
		if (!(cond))			\
			abort();		\
	} while (0)

static int kind_is_relevant(unsigned int kind)
{
	return kind == FTP_SYM_K_PORT || kind == FTP_SYM_K_EPRT ||
	       kind == FTP_SYM_K_PASV || kind == FTP_SYM_K_EPSV ||
	       kind == FTP_SYM_K_AUTH || kind == FTP_SYM_K_227 ||
	       kind == FTP_SYM_K_229 || kind == FTP_SYM_K_234;
}

static int ep_is_zero(const struct ftp_sym_endpoint *ep)
{
	unsigned int i;

	for (i = 0; i < sizeof(ep->addr); i++)
		if (ep->addr[i])
			return 0;
	return !ep->family && !ep->port;
}

static int ep_equal(const struct ftp_sym_endpoint *a,
		    const struct ftp_sym_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* Parse @len bytes from an allocation of exactly that size, so that ASan
 * catches a read past the length.
 */
static int parse_exact(const char *s, size_t len, struct ftp_sym_line *line)
{
	char *copy = malloc(len ? len : 1);
	int st;

	CHECK(copy);
	if (len)
		memcpy(copy, s, len);
	st = ftp_sym_parse_line(copy, len, line);
	free(copy);
	return st;
}

/* Fields that hold for every result, whatever the status. */
static void check_common(const struct ftp_sym_line *l)
{
	CHECK(l->kind < FTP_SYM_K_MAX);
	CHECK(l->error < FTP_SYM_E_MAX);
	CHECK(ftp_sym_kind_name(l->kind)[0] != '?');
	CHECK(ftp_sym_error_name(l->error)[0] != '?');
	CHECK(l->multiline <= 1);
	if (ftp_sym_kind_is_reply(l->kind))
		CHECK(l->code >= 100 && l->code <= 599);
	else
		CHECK(!l->code);
	if (l->multiline)
		CHECK(l->kind == FTP_SYM_K_REPLY);
	if (l->kind == FTP_SYM_K_227)
		CHECK(l->code == 227);
	if (l->kind == FTP_SYM_K_229)
		CHECK(l->code == 229);
	if (l->kind == FTP_SYM_K_234)
		CHECK(l->code == 234);
}

/* A dotted quad with a leading zero ("::1.02.3.4") is valid RFC 4291 text
 * for this parser but refused by glibc's inet_pton().
 */
static int quad_has_leading_zero(const char *text)
{
	const char *p = strrchr(text, ':');

	p = p ? p + 1 : text;
	if (!strchr(p, '.'))
		return 0;
	for (; *p; p++)
		if ((p == text || p[-1] == '.' || p[-1] == ':') &&
		    p[0] == '0' && p[1] >= '0' && p[1] <= '9')
			return 1;
	return 0;
}

/* The address text of a valid EPRT |2| line must mean to inet_pton() what
 * it means to the parser.
 */
static void check_ipv6_oracle(const char *line, const struct ftp_sym_line *l)
{
	const char *addr = line + l->match_off + 2;
	const char *end = memchr(addr, l->delim,
				 l->match_len - 2);
	unsigned char want[16];
	char text[64];
	size_t n;

	CHECK(end);
	n = end - addr;
	CHECK(n <= 45);
	memcpy(text, addr, n);
	text[n] = 0;
	if (inet_pton(AF_INET6, text, want) == 1)
		CHECK(!memcmp(want, l->ep.addr, 16));
	else
		CHECK(quad_has_leading_zero(text));
}

/* Format the endpoint of a valid line, put it in place of the match span
 * and parse again: the endpoint must come back unchanged.
 */
static void check_roundtrip(const char *line, const struct ftp_sym_line *l)
{
	char text[FTP_SYM_TEXT_MAX], again[FTP_SYM_TEXT_MAX];
	struct ftp_sym_line l2;
	size_t new_len;
	char *buf;
	int n, m, st;

	n = ftp_sym_format(text, sizeof(text), l->kind, l->delim, &l->ep);
	CHECK(n > 0 && n <= (int)sizeof(text));
	new_len = l->consumed - l->match_len + n;
	buf = malloc(new_len);
	CHECK(buf);
	memcpy(buf, line, l->match_off);
	memcpy(buf + l->match_off, text, n);
	memcpy(buf + l->match_off + n, line + l->match_off + l->match_len,
	       l->consumed - l->match_off - l->match_len);

	st = ftp_sym_parse_line(buf, new_len, &l2);
	CHECK(st == FTP_SYM_COMPLETE);
	CHECK(l2.consumed == new_len);
	CHECK(l2.kind == l->kind);
	if (new_len > FTP_SYM_LINE_MAX) {
		/* RFC 5952 text may be longer: "1::2:3:4:5:6:7" */
		CHECK(l2.error == FTP_SYM_E_LONGLINE);
		free(buf);
		return;
	}
	CHECK(l2.error == FTP_SYM_E_OK);
	CHECK(ep_equal(&l2.ep, &l->ep));
	CHECK(l2.delim == l->delim);
	CHECK(l2.match_off == l->match_off);
	CHECK(l2.match_len == n);
	CHECK(!memcmp(buf + l2.match_off, text, n));
	m = ftp_sym_format(again, sizeof(again), l2.kind, l2.delim, &l2.ep);
	CHECK(m == n && !memcmp(again, text, n));
	free(buf);
}

/* Every proper prefix of a relevant line that fits the line buffer is
 * PARTIAL, and knows no kind but the line's.
 */
static void check_prefixes(const char *line, const struct ftp_sym_line *l)
{
	struct ftp_sym_line p;
	size_t i;
	int st;

	if (!kind_is_relevant(l->kind) || l->consumed > FTP_SYM_LINE_MAX)
		return;
	for (i = 0; i < l->consumed; i++) {
		st = parse_exact(line, i, &p);
		CHECK(st == FTP_SYM_PARTIAL);
		check_common(&p);
		CHECK(p.kind == FTP_SYM_K_NONE || p.kind == l->kind);
		CHECK(!p.code || p.code == l->code);
		CHECK(!p.consumed && !p.match_len && !p.error);
		CHECK(ep_is_zero(&p.ep));
	}
}

static void check_complete(const char *line, size_t len,
			   const struct ftp_sym_line *l)
{
	const char *lf;

	check_common(l);
	CHECK(l->consumed >= 1 && l->consumed <= len);
	lf = memchr(line, '\n', len);
	CHECK(lf && (size_t)(lf - line) + 1 == l->consumed);
	CHECK((size_t)l->match_off + l->match_len <= l->consumed);

	if (!ftp_sym_kind_has_endpoint(l->kind)) {
		CHECK(l->error == FTP_SYM_E_OK);
		CHECK(!l->match_len && !l->delim && ep_is_zero(&l->ep));
		return;
	}
	if (l->consumed > FTP_SYM_LINE_MAX)
		CHECK(l->error == FTP_SYM_E_LONGLINE);
	if (l->error != FTP_SYM_E_OK) {
		CHECK(!l->match_len && !l->delim && ep_is_zero(&l->ep));
		if (memchr(line, 0, l->consumed) &&
		    l->consumed <= FTP_SYM_LINE_MAX)
			CHECK(l->error == FTP_SYM_E_NUL);
		return;
	}

	CHECK(!memchr(line, 0, l->consumed));
	CHECK(l->ep.port != 0);
	CHECK(l->match_len > 0);
	switch (l->kind) {
	case FTP_SYM_K_PORT:
	case FTP_SYM_K_227:
		CHECK(l->ep.family == 4 && !l->delim);
		break;
	case FTP_SYM_K_EPRT:
		CHECK(l->ep.family == 4 || l->ep.family == 6);
		CHECK(l->delim);
		if (l->ep.family == 6)
			check_ipv6_oracle(line, l);
		break;
	case FTP_SYM_K_229:
		CHECK(l->ep.family == 0 && l->delim);
		break;
	}
	check_roundtrip(line, l);
}

/* Arbitrary endpoint, delimiter and buffer size from the input's first
 * bytes: the result is -1 or a length that fits, nothing is written past
 * the size, and a success parses back.
 */
static void fuzz_format(const uint8_t *data, size_t size)
{
	static const unsigned int families[] = { 0, 4, 6, 4, 6, 0, 4, 6 };
	char buf[FTP_SYM_TEXT_MAX + 16], line[FTP_SYM_TEXT_MAX + 64];
	struct ftp_sym_endpoint ep;
	struct ftp_sym_line l;
	unsigned int kind;
	size_t out_size, len;
	char delim;
	int n;

	if (size < 24)
		return;
	kind = data[0] % (FTP_SYM_K_MAX + 2);
	delim = data[1];
	ep.family = data[2] & 0x80 ? data[2] : families[data[2] & 7];
	memcpy(ep.addr, data + 3, 16);
	ep.port = data[19] << 8 | data[20];
	out_size = data[21] % (FTP_SYM_TEXT_MAX + 8);

	memset(buf, 0x5a, sizeof(buf));
	n = ftp_sym_format(buf, out_size, kind, delim, &ep);
	for (len = out_size; len < sizeof(buf); len++)
		CHECK(buf[len] == 0x5a);
	CHECK(n == -1 || (n > 0 && (size_t)n <= out_size));
	if (n == -1) {
		/* Refusals only for a bad request or a short buffer. */
		n = ftp_sym_format(buf, FTP_SYM_TEXT_MAX, kind, delim, &ep);
		if (n > 0)
			CHECK((size_t)n > out_size);
		return;
	}

	switch (kind) {
	case FTP_SYM_K_PORT:
		len = 5;
		memcpy(line, "PORT ", len);
		break;
	case FTP_SYM_K_227:
		len = 5;
		memcpy(line, "227 (", len);
		break;
	case FTP_SYM_K_EPRT:
		len = 6;
		memcpy(line, "EPRT ", 5);
		line[5] = delim;
		break;
	case FTP_SYM_K_229:
		len = 8;
		memcpy(line, "229 (|||", len);
		break;
	default:
		abort();
	}
	memcpy(line + len, buf, n);
	len += n;
	if (kind == FTP_SYM_K_EPRT)
		line[len++] = delim;
	if (kind == FTP_SYM_K_229)
		line[len++] = '|';
	if (kind == FTP_SYM_K_227 || kind == FTP_SYM_K_229)
		line[len++] = ')';
	line[len++] = '\r';
	line[len++] = '\n';

	CHECK(parse_exact(line, len, &l) == FTP_SYM_COMPLETE);
	CHECK(l.kind == kind && l.error == FTP_SYM_E_OK);
	CHECK(l.match_len == n && !memcmp(line + l.match_off, buf, n));
	CHECK(l.ep.port == ep.port);
	if (kind == FTP_SYM_K_229)
		return;
	CHECK(l.ep.family == ep.family);
	CHECK(!memcmp(l.ep.addr, ep.addr, ep.family == 4 ? 4 : 16));
}

/* A SKIP promises that no continuation of the text can be relevant; try
 * the obvious ones.
 */
static void check_skip_is_final(const char *text, size_t len)
{
	static const char *const tails[] = {
		"\n", "\r\n", " \r\n", " 1,2,3,4,5,6\r\n", " |1|1.2.3.4|5|\n",
		" TLS\r\n", "T TLS\r\n", " (|||5|)\r\n", "7 (1,2,3,4,5,6)\n",
		"4 x\n", "V\r\n", "RT 1,2,3,4,5,6\n",
	};
	struct ftp_sym_line l;
	char *buf = malloc(len + 32);
	size_t i, n;

	CHECK(buf);
	memcpy(buf, text, len);
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		n = strlen(tails[i]);
		memcpy(buf + len, tails[i], n);
		CHECK(parse_exact(buf, len + n, &l) == FTP_SYM_COMPLETE);
		CHECK(!kind_is_relevant(l.kind));
	}
	free(buf);
}

#ifdef FUZZ_ENTRY_FORMAT
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_format(data, size);
	return 0;
}
#else
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct ftp_sym_line l;
	size_t off = 0;
	int st;

	/* Bounds only (ASan): what it says is a heuristic. */
	(void)ftp_sym_may_continue_line(p, size);
	for (;;) {
		st = parse_exact(p + off, size - off, &l);
		if (st != FTP_SYM_COMPLETE)
			break;
		check_complete(p + off, size - off, &l);
		check_prefixes(p + off, &l);
		off += l.consumed;
	}

	CHECK(st == FTP_SYM_PARTIAL || st == FTP_SYM_SKIP);
	check_common(&l);
	CHECK(!l.consumed && !l.match_len && ep_is_zero(&l.ep));
	CHECK(!memchr(p + off, '\n', size - off < 0xffff ? size - off : 0xffff));
	if (size - off >= FTP_SYM_LINE_MAX) {
		CHECK(st == FTP_SYM_SKIP);
		CHECK(l.error == FTP_SYM_E_LONGLINE);
	} else {
		CHECK(l.error == FTP_SYM_E_OK);
		if (st == FTP_SYM_SKIP)
			check_skip_is_final(p + off, size - off);
	}
	return 0;
}
#endif /* FUZZ_ENTRY_FORMAT */

// SPDX-License-Identifier: GPL-2.0-only
/* parse_bench: the cost of ftp-sym's line parser (nf_ftp_sym_parse.c) and
 * of the stock helper's matching (the 6.1 source's find_pattern() and its
 * helpers, cut out by bench/extract-stock.sh) on the same inputs.
 *
 *   parse_bench time            ns per call, best of 7 runs of >= 20 ms
 *   parse_bench callgrind N     N calls per case between callgrind
 *                               client requests (run under valgrind
 *                               --tool=callgrind); bench/parse_report.py
 *                               reads the dumps
 *
 * Three functions per input:
 *   sym     ftp_sym_parse_line() over every line of the input, as the
 *           helper walks a segment
 *   stock   the stock helper's matching as it runs per packet: the two
 *           patterns of the direction, at the start of the segment only
 *   stockl  the same at the start of every line (what it would take the
 *           stock code to see every line; it never does)
 * Output, one line per input: name, group, bytes, lines, then
 * "<fn>=<value>" for each function.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

#include "nf_ftp_sym_parse.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wshadow"
#include "stock_shim.h"
#include "stock_match.c"
#pragma GCC diagnostic pop

#define SEGMENT		1400

struct input {
	const char *name;
	const char *group;	/* cmd, reply, other, linear, segment */
	int dir;		/* IP_CT_DIR_ORIGINAL: client to server */
	int family;		/* PF_INET or PF_INET6 */
	char *buf;
	size_t len;
};

typedef int (*bench_fn)(const struct input *in);

/* ftp-sym: every line of the input. */
static __attribute__((noinline)) int fn_sym(const struct input *in)
{
	struct ftp_sym_line line;
	size_t off = 0;
	int n = 0;

	while (off < in->len &&
	       ftp_sym_parse_line(in->buf + off, in->len - off, &line) ==
	       FTP_SYM_COMPLETE) {
		off += line.consumed;
		n += line.kind;
	}
	return n;
}

/* The stock helper's search loop of help(), on one buffer. */
static int stock_match(const struct input *in, const char *data, size_t len)
{
	struct nf_conntrack_man cmd;
	unsigned int matchoff = 0, matchlen = 0, i;
	int found = 0;

	memset(&cmd, 0, sizeof(cmd));
	cmd.l3num = in->family;
	for (i = 0; i < 2; i++) {
		found = find_pattern(data, len, search[in->dir][i].pattern,
				     search[in->dir][i].plen,
				     search[in->dir][i].skip,
				     search[in->dir][i].term, &matchoff,
				     &matchlen, &cmd,
				     search[in->dir][i].getnum);
		if (found)
			break;
	}
	return found * 16 + (int)matchlen;
}

static __attribute__((noinline)) int fn_stock(const struct input *in)
{
	return stock_match(in, in->buf, in->len);
}

/* lib/string.c's memchr(), which x86-64 kernels use: a byte loop (glibc's
 * vector memchr would flatter the line splitting).
 */
static const char *kernel_memchr(const char *s, int c, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	while (n-- != 0) {
		if ((unsigned char)c == *p++)
			return (const char *)(p - 1);
	}
	return NULL;
}

static __attribute__((noinline)) int fn_stockl(const struct input *in)
{
	const char *p = in->buf, *end = in->buf + in->len, *lf;
	int n = 0;

	while (p < end && (lf = kernel_memchr(p, '\n', end - p))) {
		n += stock_match(in, p, lf + 1 - p);
		p = lf + 1;
	}
	return n;
}

/* The harness alone, for callgrind's baseline. */
static __attribute__((noinline)) int fn_base(const struct input *in)
{
	__asm__ volatile("" : : "r"(in) : "memory");
	return 0;
}

static const struct {
	const char *name;
	bench_fn fn;
} fns[] = {
	{ "sym", fn_sym },
	{ "stock", fn_stock },
	{ "stockl", fn_stockl },
};

static struct input inputs[64];
static unsigned int ninputs;

static void add(const char *name, const char *group, int dir, int family,
		const char *text, size_t len)
{
	struct input *in = &inputs[ninputs++];

	in->name = name;
	in->group = group;
	in->dir = dir;
	in->family = family;
	in->buf = malloc(len);
	if (!in->buf)
		exit(1);
	memcpy(in->buf, text, len);
	in->len = len;
}

static void add_text(const char *name, const char *group, int dir,
		     int family, const char *text)
{
	add(name, group, dir, family, text, strlen(text));
}

/* A line of @len bytes, CRLF included: @prefix, then 'x's. */
static void add_long(const char *name, int dir, const char *prefix,
		     size_t len)
{
	char buf[4096];
	size_t p = strlen(prefix);

	memcpy(buf, prefix, p);
	memset(buf + p, 'x', len - p - 2);
	memcpy(buf + len - 2, "\r\n", 2);
	add(name, "linear", dir, PF_INET, buf, len);
}

/* About SEGMENT bytes of whole lines, cycling through @lines. */
static void add_segment(const char *name, int dir, const char *const *lines,
			unsigned int n)
{
	char buf[SEGMENT + 256];
	size_t len = 0, l;
	unsigned int i;

	for (i = 0;; i++) {
		l = strlen(lines[i % n]);
		if (len + l > SEGMENT)
			break;
		memcpy(buf + len, lines[i % n], l);
		len += l;
	}
	add(name, "segment", dir, PF_INET, buf, len);
}

static void setup(void)
{
	static const char *const client[] = {
		"TYPE I\r\n", "PWD\r\n", "CWD /pub/linux\r\n", "NOOP\r\n",
		"SIZE file.bin\r\n", "PORT 192,0,2,1,195,80\r\n",
		"EPRT |1|192.0.2.1|50001|\r\n", "PASV\r\n", "EPSV\r\n",
		"RETR file.bin\r\n",
	};
	static const char *const server[] = {
		"200 Switching to Binary mode.\r\n",
		"257 \"/\" is the current directory\r\n",
		"250 Directory successfully changed.\r\n",
		"200 NOOP ok.\r\n", "213 1048576\r\n",
		"227 Entering Passive Mode (198,51,100,1,156,64).\r\n",
		"229 Entering Extended Passive Mode (|||40001|)\r\n",
		"150 Opening BINARY mode data connection.\r\n",
		"226 Transfer complete.\r\n",
	};
	static const size_t lens[] = { 16, 32, 64, 128, 256, 512, 1024 };
	static char names[2][7][24];
	const int o = IP_CT_DIR_ORIGINAL, r = IP_CT_DIR_REPLY;
	unsigned int i;

	add_text("PORT", "cmd", o, PF_INET, "PORT 192,0,2,1,195,80\r\n");
	add_text("EPRT1", "cmd", o, PF_INET, "EPRT |1|192.0.2.1|50000|\r\n");
	add_text("EPRT2", "cmd", o, PF_INET6,
		 "EPRT |2|2001:db8:1::1|50000|\r\n");
	add_text("PASV", "cmd", o, PF_INET, "PASV\r\n");
	add_text("EPSV", "cmd", o, PF_INET, "EPSV\r\n");
	add_text("AUTH", "cmd", o, PF_INET, "AUTH TLS\r\n");
	add_text("227", "reply", r, PF_INET,
		 "227 Entering Passive Mode (198,51,100,1,156,64).\r\n");
	add_text("229", "reply", r, PF_INET,
		 "229 Entering Extended Passive Mode (|||40000|)\r\n");
	add_text("USER", "other", o, PF_INET, "USER anonymous\r\n");
	add_text("RETR", "other", o, PF_INET, "RETR file.bin\r\n");
	add_text("NOOP", "other", o, PF_INET, "NOOP\r\n");
	add_text("200", "other", r, PF_INET, "200 Command okay.\r\n");
	add_text("150", "other", r, PF_INET,
		 "150 Opening BINARY mode data connection for file.bin (1048576 bytes).\r\n");
	add_text("226", "other", r, PF_INET, "226 Transfer complete.\r\n");
	for (i = 0; i < 7; i++) {
		snprintf(names[0][i], sizeof(names[0][i]), "SITE-%zu", lens[i]);
		add_long(names[0][i], o, "SITE ", lens[i]);
		snprintf(names[1][i], sizeof(names[1][i]), "211-%zu", lens[i]);
		add_long(names[1][i], r, "211 ", lens[i]);
	}
	add_segment("seg-client", o, client, 10);
	add_segment("seg-server", r, server, 9);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Keep a result alive without a volatile store in the timed loop. */
static void sink(int v)
{
	__asm__ volatile("" : : "r"(v));
}

static double time_one(bench_fn fn, const struct input *in)
{
	double best = 1e18, t0, t;
	unsigned long iters = 1, i;
	int run, acc;

	/* Calibrate to >= 20 ms per run. */
	for (;;) {
		t0 = now_ns();
		for (i = 0, acc = 0; i < iters; i++)
			acc += fn(in);
		t = now_ns() - t0;
		sink(acc);
		if (t >= 20e6 || iters >= 1UL << 30)
			break;
		iters *= 2;
	}
	for (run = 0; run < 7; run++) {
		t0 = now_ns();
		for (i = 0, acc = 0; i < iters; i++)
			acc += fn(in);
		t = (now_ns() - t0) / iters;
		sink(acc);
		if (t < best)
			best = t;
	}
	return best;
}

static unsigned int lines_of(const struct input *in)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < in->len; i++)
		n += in->buf[i] == '\n';
	return n;
}

static void mode_time(void)
{
	unsigned int i, f;

	for (i = 0; i < ninputs; i++) {
		printf("%s %s bytes=%zu lines=%u", inputs[i].name,
		       inputs[i].group, inputs[i].len, lines_of(&inputs[i]));
		for (f = 0; f < sizeof(fns) / sizeof(fns[0]); f++)
			printf(" %s=%.1f", fns[f].name,
			       time_one(fns[f].fn, &inputs[i]));
		printf("\n");
	}
}

/* One callgrind dump per input and function, named "<fn> <input>". */
static void run_dump(const char *what, const char *name, bench_fn fn,
		     const struct input *in, unsigned long n)
{
	char label[128];
	unsigned long i;
	int acc = 0;

	snprintf(label, sizeof(label), "%s %s", what, name);
	CALLGRIND_ZERO_STATS;
	for (i = 0; i < n; i++)
		acc += fn(in);
	CALLGRIND_DUMP_STATS_AT(label);
	sink(acc);
}

static void mode_callgrind(unsigned long n)
{
	unsigned int i, f;

	run_dump("base", "-", fn_base, &inputs[0], n);
	for (i = 0; i < ninputs; i++) {
		printf("%s %s bytes=%zu lines=%u\n", inputs[i].name,
		       inputs[i].group, inputs[i].len, lines_of(&inputs[i]));
		for (f = 0; f < sizeof(fns) / sizeof(fns[0]); f++)
			run_dump(fns[f].name, inputs[i].name, fns[f].fn,
				 &inputs[i], n);
	}
}

int main(int argc, char **argv)
{
	setup();
	if (argc == 2 && !strcmp(argv[1], "time")) {
		mode_time();
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "callgrind")) {
		mode_callgrind(strtoul(argv[2], NULL, 10));
		return 0;
	}
	fprintf(stderr, "usage: parse_bench time | callgrind N\n");
	return 2;
}

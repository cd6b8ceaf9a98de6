// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym: the snapshot as a table, one row per control connection,
 * expectation and data connection, then the counters and parameters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "ftp-sym.h"
#include "proc.h"
#include "render.h"

#define TABLE_COLS	8

struct table {
	struct vec rows;	/* char *[TABLE_COLS] */
	int err;
};

struct row {
	char *cell[TABLE_COLS];
};

static void table_row(struct table *t, const char *const *cells)
{
	struct row *r = vec_push(&t->rows);
	int i;

	if (!r) {
		t->err = ENOMEM;
		return;
	}
	for (i = 0; i < TABLE_COLS; i++) {
		r->cell[i] = strdup(cells[i] ? cells[i] : "");
		if (!r->cell[i])
			t->err = ENOMEM;
	}
}

static void table_print(const struct table *t)
{
	size_t w[TABLE_COLS] = { 0 };
	size_t i, len;
	int c, last;

	for (i = 0; i < t->rows.n; i++) {
		const struct row *r = VEC_AT(&t->rows, struct row, i);

		for (c = 0; c < TABLE_COLS; c++) {
			len = r->cell[c] ? strlen(r->cell[c]) : 0;
			if (len > w[c])
				w[c] = len;
		}
	}
	for (i = 0; i < t->rows.n; i++) {
		const struct row *r = VEC_AT(&t->rows, struct row, i);

		last = TABLE_COLS - 1;
		while (last > 0 && (!r->cell[last] || !r->cell[last][0]))
			last--;
		for (c = 0; c <= last; c++) {
			const char *s = r->cell[c] ? r->cell[c] : "";

			if (c == last)
				printf("%s\n", s);
			else
				printf("%-*s  ", (int)w[c], s);
		}
	}
}

static void table_free(struct table *t)
{
	size_t i;
	int c;

	for (i = 0; i < t->rows.n; i++)
		for (c = 0; c < TABLE_COLS; c++)
			free(VEC_AT(&t->rows, struct row, i)->cell[c]);
	vec_free(&t->rows);
}

static void fmt_secs(char *buf, size_t size, bool known, int64_t secs)
{
	if (known)
		snprintf(buf, size, "%" PRId64 "s", secs);
	else
		snprintf(buf, size, "unknown");
}

static void control_row(struct table *t, const struct snapshot *s,
			const struct conn *c, bool ka_on,
			const struct timespec *now)
{
	char orig[TUPLE_LEN], repl[TUPLE_LEN], to[16], age[24];
	char ep[EP_LEN], info[3 * EP_LEN + 64];
	const char *cells[TABLE_COLS];
	int64_t a = conn_age(c, now);
	size_t n = 0;

	fmt_tuple(orig, sizeof(orig), &c->orig);
	fmt_tuple(repl, sizeof(repl), &c->repl);
	fmt_secs(to, sizeof(to), c->has_timeout, c->timeout);
	fmt_secs(age, sizeof(age), a >= 0, a);
	info[0] = '\0';
	if (conn_snat(c)) {
		fmt_ep(ep, sizeof(ep), c->repl.l3, c->repl.dst, false,
		       c->repl.dport, false);
		bufcat(info, sizeof(info), &n, "SNAT to %s, ", ep);
	}
	if (conn_dnat(c)) {
		fmt_ep(ep, sizeof(ep), c->repl.l3, c->repl.src, false,
		       c->repl.sport, false);
		bufcat(info, sizeof(info), &n, "DNAT to %s, ", ep);
	}
	bufcat(info, sizeof(info), &n, "keepalive %s, id %u",
	       control_held(s, c, ka_on) ? "holding" : "no", c->id);
	cells[0] = "control";
	cells[1] = family_name(c->orig.l3);
	cells[2] = orig;
	cells[3] = repl;
	cells[4] = tcp_state(c) ? tcp_state(c) : "-";
	cells[5] = to;
	cells[6] = age;
	cells[7] = info;
	table_row(t, cells);
}

static void expect_row(struct table *t, const struct expect *e)
{
	char tup[TUPLE_LEN], to[16], ep[EP_LEN], info[EP_LEN + 64];
	const char *cells[TABLE_COLS];
	size_t n = 0;

	fmt_exp_tuple(tup, sizeof(tup), e);
	snprintf(to, sizeof(to), "%us", e->timeout);
	bufcat(info, sizeof(info), &n, "fn %s", e->fn[0] ? e->fn : "-");
	if (e->has_nat) {
		fmt_ep(ep, sizeof(ep), e->tuple.l3, e->nat.src,
		       addr_zero(e->nat.src), e->nat.sport, !e->nat.sport);
		bufcat(info, sizeof(info), &n, ", NAT %s to %s",
		       exp_dir_name(e->nat_dir), ep);
	}
	cells[0] = "  expect";
	cells[1] = family_name(e->tuple.l3);
	cells[2] = tup;
	cells[3] = "-";
	cells[4] = "-";
	cells[5] = to;
	cells[6] = "-";
	cells[7] = info;
	table_row(t, cells);
}

static void data_row(struct table *t, const struct conn *d,
		     const struct timespec *now)
{
	char orig[TUPLE_LEN], repl[TUPLE_LEN], to[16], age[24], info[128];
	const char *cells[TABLE_COLS];
	int64_t a = conn_age(d, now);
	size_t n = 0;

	fmt_tuple(orig, sizeof(orig), &d->orig);
	fmt_tuple(repl, sizeof(repl), &d->repl);
	fmt_secs(to, sizeof(to), d->has_timeout, d->timeout);
	fmt_secs(age, sizeof(age), a >= 0, a);
	info[0] = '\0';
	if (d->has_acct)
		bufcat(info, sizeof(info), &n, "bytes %" PRIu64 "/%" PRIu64 ", ",
		       d->bytes[0], d->bytes[1]);
	bufcat(info, sizeof(info), &n, "offload %s%s",
	       d->status & CT_HW_OFFLOAD ? "hw" :
	       d->status & CT_OFFLOAD ? "yes" : "no",
	       state_alive(d) ? ", holds master" : "");
	cells[0] = "  data";
	cells[1] = family_name(d->orig.l3);
	cells[2] = orig;
	cells[3] = repl;
	cells[4] = tcp_state(d) ? tcp_state(d) : "-";
	cells[5] = to;
	cells[6] = age;
	cells[7] = info;
	table_row(t, cells);
}

/* name value pairs in three column groups, filled column by column. */
static void print_kv_columns(const struct vec *v)
{
	const size_t groups = 3;
	size_t rows = (v->n + groups - 1) / groups;
	size_t nw[3] = { 0 }, vw[3] = { 0 };
	size_t r, g, i;

	for (i = 0; i < v->n; i++) {
		const struct kv *e = VEC_AT(v, struct kv, i);

		g = i / rows;
		if (strlen(e->name) > nw[g])
			nw[g] = strlen(e->name);
		if (strlen(e->value) > vw[g])
			vw[g] = strlen(e->value);
	}
	for (r = 0; r < rows; r++) {
		for (g = 0; g < groups; g++) {
			const struct kv *e;

			i = g * rows + r;
			if (i >= v->n)
				break;
			e = VEC_AT(v, struct kv, i);
			printf("%s%-*s %*s", g ? "    " : "  ", (int)nw[g],
			       e->name, (int)vw[g], e->value);
		}
		putchar('\n');
	}
}

void print_counters_table(const struct vec *counters,
			  const struct vec *params)
{
	size_t i;

	printf("COUNTERS (this network namespace)\n");
	print_kv_columns(counters);
	printf("\nSETTINGS (this network namespace: %s, %s)\n ",
	       "net.netfilter.nf_ftp_sym_*", "else the module parameter");
	for (i = 0; i < params->n; i++)
		printf(" %s=%s", VEC_AT(params, struct kv, i)->name,
		       VEC_AT(params, struct kv, i)->value);
	if (!params->n)
		printf(" (none readable)");
	putchar('\n');
}

static const char *onoff(long v)
{
	return v < 0 ? "unknown" : v ? "on" : "off";
}

int print_table(const struct snapshot *s, const struct vec *counters,
		const struct vec *params, const struct timespec *now)
{
	static const char *const head[TABLE_COLS] = {
		"KIND", "FAMILY", "ORIGINAL", "REPLY", "STATE", "TIMEOUT",
		"AGE", "DETAILS",
	};
	bool ka_on = keepalive_enabled(params);
	struct table t = {
		.rows = VEC_INIT(struct row),
	};
	size_t i, k;
	long ts = read_sysctl("nf_conntrack_timestamp");
	long acct = read_sysctl("nf_conntrack_acct");

	printf("FTP SESSIONS (helper %s, %s): %zu control connection%s\n",
	       opt.helper, opt.family == AF_INET ? "IPv4" :
	       opt.family == AF_INET6 ? "IPv6" : "IPv4 and IPv6",
	       s->controls.n, s->controls.n == 1 ? "" : "s");
	printf("  conntrack timestamps %s%s, accounting %s, keep-alive %s\n",
	       onoff(ts), ts > 0 ? "" : " (age unknown)", onoff(acct),
	       ka_on ? "on" : "off");
	if (s->controls.n) {
		putchar('\n');
		table_row(&t, head);
	}
	for (i = 0; i < s->controls.n; i++) {
		const struct conn *c = VEC_AT(&s->controls, struct conn, i);

		control_row(&t, s, c, ka_on, now);
		for (k = 0; k < s->expects.n; k++) {
			const struct expect *e =
				VEC_AT(&s->expects, struct expect, k);

			if (tuple_eq(&e->master, &c->orig))
				expect_row(&t, e);
		}
		for (k = 0; k < s->data.n; k++) {
			const struct conn *d = VEC_AT(&s->data, struct conn, k);

			if (tuple_eq(&d->master, &c->orig))
				data_row(&t, d, now);
		}
	}
	if (t.err) {
		table_free(&t);
		errmsg("out of memory");
		return EXIT_FAIL;
	}
	table_print(&t);
	table_free(&t);
	putchar('\n');
	print_counters_table(counters, params);
	return EXIT_OK;
}

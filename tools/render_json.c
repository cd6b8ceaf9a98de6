// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym: the snapshot as one JSON document (schema in ftp-sym(8)). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "ftp-sym.h"
#include "proc.h"
#include "render.h"

void json_value(struct json *j, const char *key, const char *val)
{
	uint64_t num;

	if (parse_u64(val, &num))
		json_u64(j, key, num);
	else if (!strcmp(val, "Y"))
		json_bool(j, key, true);
	else if (!strcmp(val, "N"))
		json_bool(j, key, false);
	else
		json_str(j, key, val);
}

void json_kv(struct json *j, const char *key, const struct vec *v)
{
	size_t i;

	json_obj_begin(j, key);
	for (i = 0; i < v->n; i++)
		json_value(j, VEC_AT(v, struct kv, i)->name,
			   VEC_AT(v, struct kv, i)->value);
	json_obj_end(j);
}

void json_tuple(struct json *j, const char *key, const struct tuple *t)
{
	char a[INET6_ADDRSTRLEN];

	if (!t->l3) {
		json_null(j, key);
		return;
	}
	json_obj_begin(j, key);
	fmt_addr(a, sizeof(a), t->l3, t->src);
	json_str(j, "src", a);
	json_u64(j, "sport", t->sport);
	fmt_addr(a, sizeof(a), t->l3, t->dst);
	json_str(j, "dst", a);
	json_u64(j, "dport", t->dport);
	json_obj_end(j);
}

static void json_ep(struct json *j, const char *key, uint8_t l3,
		    const uint32_t *addr, uint16_t port)
{
	char a[INET6_ADDRSTRLEN];

	json_obj_begin(j, key);
	fmt_addr(a, sizeof(a), l3, addr);
	json_str(j, "addr", a);
	json_u64(j, "port", port);
	json_obj_end(j);
}

static void json_status(struct json *j, uint32_t status)
{
	unsigned int i;

	json_arr_begin(j, "status");
	for (i = 0; i < 32; i++)
		if ((status & (1U << i)) && ct_status_name(i))
			json_str(j, NULL, ct_status_name(i));
	json_arr_end(j);
}

void json_conn(struct json *j, const struct conn *c,
	       const struct timespec *now)
{
	int64_t age = conn_age(c, now);
	int i;

	json_u64(j, "id", c->id);
	json_str(j, "family", family_name(c->orig.l3));
	json_u64(j, "zone", c->zone);
	json_str(j, "helper", c->helper[0] ? c->helper : NULL);
	json_tuple(j, "original", &c->orig);
	json_tuple(j, "reply", &c->repl);
	json_obj_begin(j, "nat");
	if (c->repl.l3 && conn_snat(c))
		json_ep(j, "snat", c->repl.l3, c->repl.dst, c->repl.dport);
	else
		json_null(j, "snat");
	if (c->repl.l3 && conn_dnat(c))
		json_ep(j, "dnat", c->repl.l3, c->repl.src, c->repl.sport);
	else
		json_null(j, "dnat");
	json_obj_end(j);
	if (c->has_status)
		json_status(j, c->status);
	else
		json_null(j, "status");
	json_str(j, "tcp_state", tcp_state(c));
	if (c->has_timeout)
		json_u64(j, "timeout", c->timeout);
	else
		json_null(j, "timeout");
	if (age >= 0)
		json_i64(j, "age", age);
	else
		json_null(j, "age");
	if (!c->has_acct) {
		json_null(j, "acct");
		return;
	}
	json_obj_begin(j, "acct");
	for (i = 0; i < 2; i++) {
		json_obj_begin(j, i ? "reply" : "original");
		json_u64(j, "packets", c->packets[i]);
		json_u64(j, "bytes", c->bytes[i]);
		json_obj_end(j);
	}
	json_obj_end(j);
}

void json_data_extra(struct json *j, const struct conn *c)
{
	json_bool(j, "offloaded", c->status & CT_OFFLOAD);
	json_bool(j, "hw_offloaded", c->status & CT_HW_OFFLOAD);
	if (c->has_state)
		json_bool(j, "holds_master", state_alive(c));
	else
		json_null(j, "holds_master");
}

void json_expect(struct json *j, const struct expect *e)
{
	char a[INET6_ADDRSTRLEN];
	unsigned int i;

	json_str(j, "family", family_name(e->tuple.l3));
	json_u64(j, "zone", e->zone);
	json_obj_begin(j, "expected");
	if (addr_zero(e->mask.src)) {
		json_null(j, "src");
	} else {
		fmt_addr(a, sizeof(a), e->tuple.l3, e->tuple.src);
		json_str(j, "src", a);
	}
	if (e->mask.sport)
		json_u64(j, "sport", e->tuple.sport);
	else
		json_null(j, "sport");
	fmt_addr(a, sizeof(a), e->tuple.l3, e->tuple.dst);
	json_str(j, "dst", a);
	json_u64(j, "dport", e->tuple.dport);
	json_obj_end(j);
	json_u64(j, "timeout", e->timeout);
	json_arr_begin(j, "flags");
	for (i = 0; i < 32; i++)
		if ((e->flags & (1U << i)) && exp_flag_name(i))
			json_str(j, NULL, exp_flag_name(i));
	json_arr_end(j);
	json_u64(j, "class", e->class);
	json_str(j, "helper", e->helper[0] ? e->helper : NULL);
	json_str(j, "fn", e->fn[0] ? e->fn : NULL);
	if (e->has_nat) {
		json_obj_begin(j, "nat");
		json_str(j, "dir", exp_dir_name(e->nat_dir));
		/* saved_addr and saved_proto: zero when not used */
		if (addr_zero(e->nat.src)) {
			json_null(j, "addr");
		} else {
			fmt_addr(a, sizeof(a), e->tuple.l3, e->nat.src);
			json_str(j, "addr", a);
		}
		if (e->nat.sport)
			json_u64(j, "port", e->nat.sport);
		else
			json_null(j, "port");
		json_obj_end(j);
	} else {
		json_null(j, "nat");
	}
}

void json_header(struct json *j, const struct timespec *now)
{
	json_str(j, "tool", "ftp-sym");
	json_str(j, "version", FTP_SYM_VERSION);
	json_u64(j, "schema", FTP_SYM_SCHEMA);
	json_time(j, "time", now->tv_sec, now->tv_nsec / 1000);
}

void print_json(const struct snapshot *s, const struct vec *counters,
		const struct vec *params, const struct timespec *now)
{
	bool ka_on = keepalive_enabled(params);
	static const char *const sysctls[] = {
		"nf_conntrack_acct", "nf_conntrack_timestamp",
		"nf_conntrack_events",
	};
	struct json j;
	size_t i, k;
	long v;

	json_init(&j, stdout, true);
	json_obj_begin(&j, NULL);
	json_header(&j, now);
	if (s) {
		json_str(&j, "family", opt.family == AF_INET ? "ipv4" :
			 opt.family == AF_INET6 ? "ipv6" : "all");
		json_obj_begin(&j, "sysctl");
		for (i = 0; i < N_ELEM(sysctls); i++) {
			v = read_sysctl(sysctls[i]);
			if (v < 0)
				json_null(&j, sysctls[i]);
			else
				json_i64(&j, sysctls[i], v);
		}
		json_obj_end(&j);
	}
	json_kv(&j, "params", params);
	json_kv(&j, "counters", counters);
	if (!s)
		goto out;

	json_arr_begin(&j, "sessions");
	for (i = 0; i < s->controls.n; i++) {
		const struct conn *c = VEC_AT(&s->controls, struct conn, i);

		json_obj_begin(&j, NULL);
		json_conn(&j, c, now);
		json_str(&j, "keepalive",
			 control_held(s, c, ka_on) ? "holding" : "no");
		json_arr_begin(&j, "expectations");
		for (k = 0; k < s->expects.n; k++) {
			const struct expect *e =
				VEC_AT(&s->expects, struct expect, k);

			if (!tuple_eq(&e->master, &c->orig))
				continue;
			json_obj_begin(&j, NULL);
			json_expect(&j, e);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_arr_begin(&j, "data");
		for (k = 0; k < s->data.n; k++) {
			const struct conn *d = VEC_AT(&s->data, struct conn, k);

			if (!tuple_eq(&d->master, &c->orig))
				continue;
			json_obj_begin(&j, NULL);
			json_conn(&j, d, now);
			json_data_extra(&j, d);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
	}
	json_arr_end(&j);
out:
	json_obj_end(&j);
	if (!json_finish(&j))
		errmsg("internal error: unbalanced JSON");
}

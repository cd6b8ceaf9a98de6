// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym: conntracks and expectations from ctnetlink (see conntrack.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conntrack.h"
#include "ftp-sym.h"

enum { T_ORIG, T_REPL, T_MASTER };

static const struct {
	enum nf_conntrack_attr l3, l4, v4src, v4dst, v6src, v6dst, sport, dport;
} tuple_attr[] = {
	[T_ORIG] = { ATTR_ORIG_L3PROTO, ATTR_ORIG_L4PROTO, ATTR_ORIG_IPV4_SRC,
		     ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_SRC, ATTR_ORIG_IPV6_DST,
		     ATTR_ORIG_PORT_SRC, ATTR_ORIG_PORT_DST },
	[T_REPL] = { ATTR_REPL_L3PROTO, ATTR_REPL_L4PROTO, ATTR_REPL_IPV4_SRC,
		     ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_SRC, ATTR_REPL_IPV6_DST,
		     ATTR_REPL_PORT_SRC, ATTR_REPL_PORT_DST },
	[T_MASTER] = { ATTR_MASTER_L3PROTO, ATTR_MASTER_L4PROTO,
		       ATTR_MASTER_IPV4_SRC, ATTR_MASTER_IPV4_DST,
		       ATTR_MASTER_IPV6_SRC, ATTR_MASTER_IPV6_DST,
		       ATTR_MASTER_PORT_SRC, ATTR_MASTER_PORT_DST },
};

static void get_addr(const struct nf_conntrack *ct, enum nf_conntrack_attr a,
		     size_t len, uint32_t *out)
{
	const void *p = nfct_get_attr(ct, a);

	if (p)
		memcpy(out, p, len);
}

/* Tuple @which of @ct; l3 stays 0 if the conntrack does not carry it. */
static void get_tuple(const struct nf_conntrack *ct, int which,
		      struct tuple *t)
{
	memset(t, 0, sizeof(*t));
	if (nfct_attr_is_set(ct, tuple_attr[which].l3) <= 0)
		return;
	t->l3 = nfct_get_attr_u8(ct, tuple_attr[which].l3);
	t->l4 = nfct_get_attr_u8(ct, tuple_attr[which].l4);
	if (t->l3 == AF_INET) {
		get_addr(ct, tuple_attr[which].v4src, 4, t->src);
		get_addr(ct, tuple_attr[which].v4dst, 4, t->dst);
	} else if (t->l3 == AF_INET6) {
		get_addr(ct, tuple_attr[which].v6src, 16, t->src);
		get_addr(ct, tuple_attr[which].v6dst, 16, t->dst);
	}
	t->sport = ntohs(nfct_get_attr_u16(ct, tuple_attr[which].sport));
	t->dport = ntohs(nfct_get_attr_u16(ct, tuple_attr[which].dport));
}

bool tuple_eq(const struct tuple *a, const struct tuple *b)
{
	return a->l3 && a->l3 == b->l3 && a->l4 == b->l4 &&
	       !memcmp(a->src, b->src, sizeof(a->src)) &&
	       !memcmp(a->dst, b->dst, sizeof(a->dst)) &&
	       a->sport == b->sport && a->dport == b->dport;
}

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, NAME_LEN, "%s", src ? src : "");
}

void conn_from_ct(const struct nf_conntrack *ct, struct conn *c)
{
	memset(c, 0, sizeof(*c));
	get_tuple(ct, T_ORIG, &c->orig);
	get_tuple(ct, T_REPL, &c->repl);
	get_tuple(ct, T_MASTER, &c->master);
	c->id = nfct_get_attr_u32(ct, ATTR_ID);
	c->zone = nfct_get_attr_u16(ct, ATTR_ZONE);
	if (nfct_attr_is_set(ct, ATTR_HELPER_NAME) > 0)
		copy_name(c->helper, nfct_get_attr(ct, ATTR_HELPER_NAME));
	c->has_status = nfct_attr_is_set(ct, ATTR_STATUS) > 0;
	c->status = nfct_get_attr_u32(ct, ATTR_STATUS);
	c->has_state = nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0;
	c->state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
	c->has_timeout = nfct_attr_is_set(ct, ATTR_TIMEOUT) > 0;
	c->timeout = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
	c->has_tstamp = nfct_attr_is_set(ct, ATTR_TIMESTAMP_START) > 0;
	c->tstamp_start = nfct_get_attr_u64(ct, ATTR_TIMESTAMP_START);
	c->tstamp_stop = nfct_get_attr_u64(ct, ATTR_TIMESTAMP_STOP);
	c->has_acct = nfct_attr_is_set(ct, ATTR_ORIG_COUNTER_BYTES) > 0;
	c->packets[0] = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS);
	c->packets[1] = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS);
	c->bytes[0] = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES);
	c->bytes[1] = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES);
}

static void get_exp_tuple(const struct nf_expect *exp, enum nf_expect_attr a,
			  struct tuple *t)
{
	const struct nf_conntrack *ct = nfexp_get_attr(exp, a);

	if (ct)
		get_tuple(ct, T_ORIG, t);
	else
		memset(t, 0, sizeof(*t));
}

void expect_from_nf(const struct nf_expect *exp, struct expect *e)
{
	memset(e, 0, sizeof(*e));
	get_exp_tuple(exp, ATTR_EXP_MASTER, &e->master);
	get_exp_tuple(exp, ATTR_EXP_EXPECTED, &e->tuple);
	get_exp_tuple(exp, ATTR_EXP_MASK, &e->mask);
	e->has_nat = nfexp_attr_is_set(exp, ATTR_EXP_NAT_TUPLE) > 0;
	if (e->has_nat) {
		get_exp_tuple(exp, ATTR_EXP_NAT_TUPLE, &e->nat);
		e->nat_dir = nfexp_get_attr_u32(exp, ATTR_EXP_NAT_DIR);
	}
	e->zone = nfexp_get_attr_u16(exp, ATTR_EXP_ZONE);
	e->timeout = nfexp_get_attr_u32(exp, ATTR_EXP_TIMEOUT);
	e->flags = nfexp_get_attr_u32(exp, ATTR_EXP_FLAGS);
	e->class = nfexp_get_attr_u32(exp, ATTR_EXP_CLASS);
	if (nfexp_attr_is_set(exp, ATTR_EXP_HELPER_NAME) > 0)
		copy_name(e->helper, nfexp_get_attr(exp, ATTR_EXP_HELPER_NAME));
	if (nfexp_attr_is_set(exp, ATTR_EXP_FN) > 0)
		copy_name(e->fn, nfexp_get_attr(exp, ATTR_EXP_FN));
}

bool family_ok(uint8_t l3)
{
	return opt.family == AF_UNSPEC || opt.family == l3;
}

/* A data connection may carry its master's helper too (some stable
 * kernels give it to every expected connection): a control connection is
 * one with the helper and no master.
 */
bool is_control(const struct conn *c)
{
	return c->orig.l4 == IPPROTO_TCP && !c->master.l3 &&
	       !(c->has_status && (c->status & IPS_EXPECTED)) &&
	       !strcmp(c->helper, opt.helper);
}

bool state_alive(const struct conn *c)
{
	return c->has_state &&
	       (c->state == TCP_CT_SYN_SENT || c->state == TCP_CT_SYN_RECV ||
		c->state == TCP_CT_ESTABLISHED || c->state == TCP_CT_SYN_SENT2);
}

static int dump_ct_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		      void *data)
{
	struct snapshot *s = data;
	struct conn c, *slot;

	(void)type;
	conn_from_ct(ct, &c);
	if (!family_ok(c.orig.l3))
		return NFCT_CB_CONTINUE;
	if (is_control(&c))
		slot = vec_push(&s->controls);
	else if (c.master.l3 && c.master.l4 == IPPROTO_TCP)
		slot = vec_push(&s->data);
	else
		return NFCT_CB_CONTINUE;
	if (!slot) {
		s->err = ENOMEM;
		return NFCT_CB_STOP;
	}
	*slot = c;
	return NFCT_CB_CONTINUE;
}

static int dump_exp_cb(enum nf_conntrack_msg_type type, struct nf_expect *exp,
		       void *data)
{
	struct snapshot *s = data;
	struct expect e, *slot;

	(void)type;
	expect_from_nf(exp, &e);
	if (!family_ok(e.master.l3) || e.master.l4 != IPPROTO_TCP)
		return NFCT_CB_CONTINUE;
	slot = vec_push(&s->expects);
	if (!slot) {
		s->err = ENOMEM;
		return NFCT_CB_STOP;
	}
	*slot = e;
	return NFCT_CB_CONTINUE;
}

void snapshot_free(struct snapshot *s)
{
	vec_free(&s->controls);
	vec_free(&s->data);
	vec_free(&s->expects);
}

int snapshot_take(struct snapshot *s)
{
	uint32_t family = opt.family;
	struct nfct_handle *h;
	int err = 0;

	h = nfct_open(CONNTRACK, 0);
	if (!h)
		return netlink_error("cannot open ctnetlink", lib_errno());
	if (nfct_callback_register(h, NFCT_T_ALL, dump_ct_cb, s) < 0 ||
	    nfct_query(h, NFCT_Q_DUMP, &family) < 0)
		err = lib_errno();
	nfct_close(h);
	if (err || s->err)
		return netlink_error("conntrack dump", err ? err : s->err);

	h = nfct_open(EXPECT, 0);
	if (!h)
		return netlink_error("cannot open ctnetlink_exp", lib_errno());
	if (nfexp_callback_register(h, NFCT_T_ALL, dump_exp_cb, s) < 0 ||
	    nfexp_query(h, NFCT_Q_DUMP, &family) < 0)
		err = lib_errno();
	nfct_close(h);
	if (err || s->err)
		return netlink_error("expectation dump", err ? err : s->err);
	return EXIT_OK;
}

bool control_held(const struct snapshot *s, const struct conn *ctl,
		  bool ka_on)
{
	size_t i;

	if (!ka_on)
		return false;
	for (i = 0; i < s->data.n; i++) {
		const struct conn *d = VEC_AT(&s->data, struct conn, i);

		if (tuple_eq(&d->master, &ctl->orig) && state_alive(d))
			return true;
	}
	return false;
}

struct masters {
	struct vec *conns;
	size_t n_expect;
	int err;
};

static int masters_ct_cb(enum nf_conntrack_msg_type type,
			 struct nf_conntrack *ct, void *data)
{
	struct masters *m = data;
	struct conn c, *slot;

	(void)type;
	conn_from_ct(ct, &c);
	if (c.orig.l4 != IPPROTO_TCP || c.master.l3 ||
	    (c.has_status && (c.status & IPS_EXPECTED)))
		return NFCT_CB_CONTINUE;
	slot = vec_push(m->conns);
	if (!slot) {
		m->err = ENOMEM;
		return NFCT_CB_STOP;
	}
	*slot = c;
	return NFCT_CB_CONTINUE;
}

static int masters_exp_cb(enum nf_conntrack_msg_type type,
			  struct nf_expect *exp, void *data)
{
	struct masters *m = data;

	(void)type;
	(void)exp;
	m->n_expect++;
	return NFCT_CB_CONTINUE;
}

int dump_masters(struct vec *conns, size_t *n_expect)
{
	struct masters m = { .conns = conns };
	uint32_t family = AF_UNSPEC;
	struct nfct_handle *h;
	int err = 0;

	h = nfct_open(CONNTRACK, 0);
	if (!h)
		return netlink_error("cannot open ctnetlink", lib_errno());
	if (nfct_callback_register(h, NFCT_T_ALL, masters_ct_cb, &m) < 0 ||
	    nfct_query(h, NFCT_Q_DUMP, &family) < 0)
		err = lib_errno();
	nfct_close(h);
	if (err || m.err)
		return netlink_error("conntrack dump", err ? err : m.err);

	h = nfct_open(EXPECT, 0);
	if (!h)
		return netlink_error("cannot open ctnetlink_exp", lib_errno());
	if (nfexp_callback_register(h, NFCT_T_ALL, masters_exp_cb, &m) < 0 ||
	    nfexp_query(h, NFCT_Q_DUMP, &family) < 0)
		err = lib_errno();
	nfct_close(h);
	if (err)
		return netlink_error("expectation dump", err);
	*n_expect = m.n_expect;
	return EXIT_OK;
}

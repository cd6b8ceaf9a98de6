// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym check: port sets, actions and the ruleset (see ruleset.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ruleset.h"

void ps_free(struct portset *ps)
{
	vec_free(&ps->r);
}

static struct port_range *ps_at(const struct portset *ps, size_t i)
{
	return VEC_AT(&ps->r, struct port_range, i);
}

int ps_add(struct portset *ps, uint16_t lo, uint16_t hi)
{
	struct port_range *r;
	size_t i, j;

	if (lo > hi)
		return 0;
	/* Find the first range that ends at or after lo - 1. */
	for (i = 0; i < ps->r.n; i++)
		if ((uint32_t)ps_at(ps, i)->hi + 1 >= lo)
			break;
	/* Merge every range that touches [lo, hi] into it. */
	j = i;
	while (j < ps->r.n && ps_at(ps, j)->lo <= (uint32_t)hi + 1) {
		if (ps_at(ps, j)->lo < lo)
			lo = ps_at(ps, j)->lo;
		if (ps_at(ps, j)->hi > hi)
			hi = ps_at(ps, j)->hi;
		j++;
	}
	if (j > i) {
		ps_at(ps, i)->lo = lo;
		ps_at(ps, i)->hi = hi;
		memmove(ps_at(ps, i + 1), ps_at(ps, j),
			(ps->r.n - j) * sizeof(struct port_range));
		ps->r.n -= j - i - 1;
		return 0;
	}
	if (!vec_push(&ps->r))
		return -1;
	memmove(ps_at(ps, i + 1), ps_at(ps, i),
		(ps->r.n - 1 - i) * sizeof(struct port_range));
	r = ps_at(ps, i);
	r->lo = lo;
	r->hi = hi;
	return 0;
}

int ps_set_all(struct portset *ps)
{
	ps->r.n = 0;
	return ps_add(ps, 0, 65535);
}

int ps_copy(struct portset *dst, const struct portset *src)
{
	size_t i;

	dst->r.n = 0;
	for (i = 0; i < src->r.n; i++)
		if (ps_add(dst, ps_at(src, i)->lo, ps_at(src, i)->hi))
			return -1;
	return 0;
}

int ps_union(struct portset *dst, const struct portset *other)
{
	size_t i;

	for (i = 0; i < other->r.n; i++)
		if (ps_add(dst, ps_at(other, i)->lo, ps_at(other, i)->hi))
			return -1;
	return 0;
}

int ps_invert(struct portset *ps)
{
	struct portset out = PORTSET_INIT;
	uint32_t next = 0;
	size_t i;
	int ret = 0;

	for (i = 0; i < ps->r.n && !ret; i++) {
		if (ps_at(ps, i)->lo > next)
			ret = ps_add(&out, next, ps_at(ps, i)->lo - 1);
		next = (uint32_t)ps_at(ps, i)->hi + 1;
	}
	if (!ret && next <= 65535)
		ret = ps_add(&out, next, 65535);
	if (ret) {
		ps_free(&out);
		return -1;
	}
	ps_free(ps);
	*ps = out;
	return 0;
}

int ps_intersect(struct portset *dst, const struct portset *other)
{
	struct portset out = PORTSET_INIT;
	size_t i, k;
	int ret = 0;

	for (i = 0; i < dst->r.n && !ret; i++) {
		for (k = 0; k < other->r.n && !ret; k++) {
			uint16_t lo = ps_at(dst, i)->lo, hi = ps_at(dst, i)->hi;

			if (ps_at(other, k)->lo > lo)
				lo = ps_at(other, k)->lo;
			if (ps_at(other, k)->hi < hi)
				hi = ps_at(other, k)->hi;
			if (lo <= hi)
				ret = ps_add(&out, lo, hi);
		}
	}
	if (ret) {
		ps_free(&out);
		return -1;
	}
	ps_free(dst);
	*dst = out;
	return 0;
}

int ps_subtract(struct portset *dst, const struct portset *other)
{
	struct portset inv = PORTSET_INIT;
	int ret;

	ret = ps_copy(&inv, other);
	if (!ret)
		ret = ps_invert(&inv);
	if (!ret)
		ret = ps_intersect(dst, &inv);
	ps_free(&inv);
	return ret;
}

bool ps_has(const struct portset *ps, uint16_t port)
{
	size_t i;

	for (i = 0; i < ps->r.n; i++)
		if (ps_at(ps, i)->lo <= port && port <= ps_at(ps, i)->hi)
			return true;
	return false;
}

bool ps_empty(const struct portset *ps)
{
	return ps->r.n == 0;
}

bool ps_all(const struct portset *ps)
{
	return ps->r.n == 1 && ps_at(ps, 0)->lo == 0 &&
	       ps_at(ps, 0)->hi == 65535;
}

void ps_format(char *buf, size_t size, const struct portset *ps)
{
	size_t i, len = 0;

	buf[0] = '\0';
	if (ps_all(ps)) {
		snprintf(buf, size, "any");
		return;
	}
	if (ps_empty(ps)) {
		snprintf(buf, size, "none");
		return;
	}
	for (i = 0; i < ps->r.n; i++) {
		const struct port_range *r = ps_at(ps, i);

		if (r->lo == r->hi)
			bufcat(buf, size, &len, "%s%u", i ? "," : "", r->lo);
		else
			bufcat(buf, size, &len, "%s%u-%u", i ? "," : "",
			       r->lo, r->hi);
	}
}

int match_init(struct rs_match *m, unsigned int fams)
{
	memset(m, 0, sizeof(*m));
	m->fams = fams;
	m->dports.r = (struct vec)VEC_INIT(struct port_range);
	return ps_set_all(&m->dports);
}

int match_copy(struct rs_match *dst, const struct rs_match *src)
{
	*dst = *src;
	dst->dports.r = (struct vec)VEC_INIT(struct port_range);
	return ps_copy(&dst->dports, &src->dports);
}

void match_free(struct rs_match *m)
{
	ps_free(&m->dports);
}

int action_from_match(struct rs_action *a, const struct rs_match *m)
{
	a->fams = m->fams;
	a->daddr = m->daddr;
	a->dports.r = (struct vec)VEC_INIT(struct port_range);
	return ps_copy(&a->dports, &m->dports);
}

void ruleset_free(struct ruleset *rs)
{
	size_t i;

	for (i = 0; i < rs->actions.n; i++)
		ps_free(&VEC_AT(&rs->actions, struct rs_action, i)->dports);
	vec_free(&rs->actions);
	vec_free(&rs->objects);
}

int ruleset_add(struct ruleset *rs, struct rs_action *a)
{
	struct rs_action *slot = vec_push(&rs->actions);

	if (!slot) {
		ps_free(&a->dports);
		rs->err = ENOMEM;
		return -1;
	}
	*slot = *a;
	a->dports.r = (struct vec)VEC_INIT(struct port_range);
	return 0;
}

int ruleset_read(struct ruleset *rs)
{
	if (ruleset_read_nft(rs) || ruleset_read_ipt(rs, 0) ||
	    ruleset_read_ipt(rs, 1) || rs->err)
		return -1;
	return 0;
}

const char *hook_name(enum rs_hook hook)
{
	switch (hook) {
	case HOOK_PREROUTING:
		return "prerouting";
	case HOOK_INPUT:
		return "input";
	case HOOK_FORWARD:
		return "forward";
	case HOOK_OUTPUT:
		return "output";
	case HOOK_POSTROUTING:
		return "postrouting";
	default:
		return "none";
	}
}

const char *source_name(enum rs_source src)
{
	switch (src) {
	case SRC_NFT:
		return "nft";
	case SRC_IPTABLES:
		return "iptables";
	default:
		return "ip6tables";
	}
}

const char *fams_name(unsigned int fams)
{
	switch (fams & FAM_ALL) {
	case FAM_IPV4:
		return "ipv4";
	case FAM_IPV6:
		return "ipv6";
	case FAM_ALL:
		return "ipv4,ipv6";
	default:
		return "none";
	}
}

// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym: text forms of conntrack values (see format.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "util.h"

static const char *const status_names[] = {
	"EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", "SRC_NAT",
	"DST_NAT", "SEQ_ADJUST", "SRC_NAT_DONE", "DST_NAT_DONE", "DYING",
	"FIXED_TIMEOUT", "TEMPLATE", "UNTRACKED", "HELPER", "OFFLOAD",
	"HW_OFFLOAD",
};

static const char *const tcp_state_names[] = {
	"NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
	"CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
};

static const char *const exp_flag_names[] = {
	"PERMANENT", "INACTIVE", "USERSPACE",
};

const char *ct_status_name(unsigned int bit)
{
	return bit < N_ELEM(status_names) ? status_names[bit] : NULL;
}

const char *exp_flag_name(unsigned int bit)
{
	return bit < N_ELEM(exp_flag_names) ? exp_flag_names[bit] : NULL;
}

const char *family_name(uint8_t l3)
{
	return l3 == AF_INET6 ? "ipv6" : l3 == AF_INET ? "ipv4" : "unknown";
}

void fmt_addr(char *buf, size_t size, uint8_t l3, const uint32_t *a)
{
	if (!inet_ntop(l3 == AF_INET6 ? AF_INET6 : AF_INET, a, buf, size))
		snprintf(buf, size, "?");
}

void fmt_ep(char *buf, size_t size, uint8_t l3, const uint32_t *a,
	    bool any_addr, uint16_t port, bool any_port)
{
	char ab[INET6_ADDRSTRLEN], pb[8];

	if (any_addr)
		snprintf(ab, sizeof(ab), "*");
	else
		fmt_addr(ab, sizeof(ab), l3, a);
	if (any_port)
		snprintf(pb, sizeof(pb), "*");
	else
		snprintf(pb, sizeof(pb), "%u", port);
	if (l3 == AF_INET6 && !any_addr)
		snprintf(buf, size, "[%s]:%s", ab, pb);
	else
		snprintf(buf, size, "%s:%s", ab, pb);
}

void fmt_tuple(char *buf, size_t size, const struct tuple *t)
{
	char s[EP_LEN], d[EP_LEN];

	fmt_ep(s, sizeof(s), t->l3, t->src, false, t->sport, false);
	fmt_ep(d, sizeof(d), t->l3, t->dst, false, t->dport, false);
	snprintf(buf, size, "%s -> %s", s, d);
}

bool addr_zero(const uint32_t *a)
{
	return !a[0] && !a[1] && !a[2] && !a[3];
}

void fmt_exp_tuple(char *buf, size_t size, const struct expect *e)
{
	char s[EP_LEN], d[EP_LEN];

	fmt_ep(s, sizeof(s), e->tuple.l3, e->tuple.src,
	       addr_zero(e->mask.src), e->tuple.sport, !e->mask.sport);
	fmt_ep(d, sizeof(d), e->tuple.l3, e->tuple.dst, false,
	       e->tuple.dport, false);
	snprintf(buf, size, "%s -> %s", s, d);
}

const char *tcp_state(const struct conn *c)
{
	if (!c->has_state)
		return NULL;
	if (c->state < N_ELEM(tcp_state_names))
		return tcp_state_names[c->state];
	return "UNKNOWN";
}

bool conn_snat(const struct conn *c)
{
	return (c->status & IPS_SRC_NAT) ||
	       memcmp(c->orig.src, c->repl.dst, sizeof(c->orig.src)) ||
	       c->orig.sport != c->repl.dport;
}

bool conn_dnat(const struct conn *c)
{
	return (c->status & IPS_DST_NAT) ||
	       memcmp(c->orig.dst, c->repl.src, sizeof(c->orig.dst)) ||
	       c->orig.dport != c->repl.sport;
}

int64_t conn_age(const struct conn *c, const struct timespec *now)
{
	uint64_t end;

	if (!c->has_tstamp || !c->tstamp_start)
		return -1;
	end = c->tstamp_stop ? c->tstamp_stop :
	      (uint64_t)now->tv_sec * 1000000000ULL + now->tv_nsec;
	if (end < c->tstamp_start)
		return 0;
	return (int64_t)((end - c->tstamp_start) / 1000000000ULL);
}

const char *exp_dir_name(uint32_t dir)
{
	return dir == 0 ? "original" : dir == 1 ? "reply" : "unknown";
}


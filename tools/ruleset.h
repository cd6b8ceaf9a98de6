/* SPDX-License-Identifier: GPL-2.0-only */
/* ftp-sym check: the firewall ruleset of this network namespace, reduced
 * to what matters to an FTP helper.  The nft ruleset (ruleset_nft.c) and
 * the iptables and ip6tables rulesets (ruleset_ipt.c) are walked from
 * their base chains through jumps and gotos, and every rule that attaches
 * a conntrack helper or does NAT becomes one "action" with what the path
 * to it matches: address families, TCP destination ports, and whether it
 * looks at the destination address.  Everything else (interfaces, source
 * addresses, verdicts earlier in a chain) is ignored: an action is what
 * the ruleset may do, not what it does to a given packet.
 */
#ifndef FTP_SYM_RULESET_H
#define FTP_SYM_RULESET_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define FAM_IPV4	0x1
#define FAM_IPV6	0x2
#define FAM_ALL		(FAM_IPV4 | FAM_IPV6)

enum rs_hook {
	HOOK_NONE,
	HOOK_PREROUTING,
	HOOK_INPUT,
	HOOK_FORWARD,
	HOOK_OUTPUT,
	HOOK_POSTROUTING,
};

/* Where DNAT happens in prerouting and output (NF_IP_PRI_NAT_DST). */
#define PRIO_DSTNAT	(-100)

/* A set of TCP ports: sorted, disjoint, non-adjacent ranges. */
struct port_range {
	uint16_t lo, hi;
};

struct portset {
	struct vec r;		/* struct port_range */
};

#define PORTSET_INIT	{ .r = { .size = sizeof(struct port_range) } }

void ps_free(struct portset *ps);
/* Returns 0, or -1 when out of memory. */
int ps_add(struct portset *ps, uint16_t lo, uint16_t hi);
int ps_set_all(struct portset *ps);
int ps_copy(struct portset *dst, const struct portset *src);
/* @dst becomes @dst OR @other. */
int ps_union(struct portset *dst, const struct portset *other);
/* @ps becomes its complement in 0-65535. */
int ps_invert(struct portset *ps);
/* @dst becomes @dst AND @other. */
int ps_intersect(struct portset *dst, const struct portset *other);
/* @dst becomes @dst AND NOT @other. */
int ps_subtract(struct portset *dst, const struct portset *other);
bool ps_has(const struct portset *ps, uint16_t port);
bool ps_empty(const struct portset *ps);
bool ps_all(const struct portset *ps);
/* "21,2100-2200", "any" or "none". */
void ps_format(char *buf, size_t size, const struct portset *ps);

enum rs_source {
	SRC_NFT,
	SRC_IPTABLES,
	SRC_IP6TABLES,
};

enum rs_kind {
	ACT_HELPER,		/* attach a conntrack helper */
	ACT_DNAT,		/* dnat, redirect, -j DNAT, -j REDIRECT */
	ACT_SNAT,		/* snat, masquerade, -j SNAT, -j MASQUERADE */
};

/* What the path to a rule matches, and the rule. */
struct rs_action {
	enum rs_kind kind;
	enum rs_source source;
	enum rs_hook hook;
	int prio;
	unsigned int fams;	/* FAM_* */
	struct portset dports;	/* TCP destination ports; all if unmatched */
	bool daddr;		/* the path matches the destination address */
	char helper[32];	/* ACT_HELPER: the helper's name ("ftp-sym") */
	int to_port;		/* ACT_DNAT: new port, 0 unchanged, -1 unknown */
	char where[192];	/* where the rule is, for people */
};

/* An nft "ct helper" object, to tell defined from used. */
struct rs_helper_obj {
	char helper[32];
	char where[160];
	bool used;
};

struct ruleset {
	struct vec actions;	/* struct rs_action */
	struct vec objects;	/* struct rs_helper_obj */
	bool nft_read;		/* nft -j list ruleset worked */
	bool ipt_read[2];	/* iptables-save, ip6tables-save worked */
	char nft_error[160];	/* why not, for a note */
	char ipt_error[2][160];
	int err;		/* ENOMEM while building */
};

#define RULESET_INIT {					\
	.actions = VEC_INIT(struct rs_action),		\
	.objects = VEC_INIT(struct rs_helper_obj),	\
}

void ruleset_free(struct ruleset *rs);
/* Append @a (its port set is moved, not copied). */
int ruleset_add(struct ruleset *rs, struct rs_action *a);
/* Read every source that is installed; a missing or failing one is noted
 * in @rs, not fatal.  Returns 0, or -1 when out of memory.
 */
int ruleset_read(struct ruleset *rs);
int ruleset_read_nft(struct ruleset *rs);
int ruleset_read_ipt(struct ruleset *rs, int v6);
/* The same from what "nft -j list ruleset" and "iptables-save" (@v6:
 * "ip6tables-save") printed; @text is cut up in place.  For the unit test.
 */
int ruleset_parse_nft(struct ruleset *rs, const char *json, size_t len);
int ruleset_parse_ipt(struct ruleset *rs, int v6, char *text);

const char *hook_name(enum rs_hook hook);
const char *source_name(enum rs_source src);
/* "ipv4", "ipv6", "ipv4,ipv6" */
const char *fams_name(unsigned int fams);

/* The path-independent part of a rule that a walk accumulates: the
 * families and destination ports that reach it, and whether a
 * destination address was matched on the way.
 */
struct rs_match {
	unsigned int fams;
	struct portset dports;
	bool daddr;
	bool never;		/* cannot match TCP (udp dport, -p udp ...) */
};

int match_init(struct rs_match *m, unsigned int fams);
int match_copy(struct rs_match *dst, const struct rs_match *src);
void match_free(struct rs_match *m);
/* Fill @a's match fields from @m (copying the port set). */
int action_from_match(struct rs_action *a, const struct rs_match *m);

#endif /* FTP_SYM_RULESET_H */

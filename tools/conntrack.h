/* SPDX-License-Identifier: GPL-2.0-only */
/* ftp-sym: the conntrack and expectation tables of this network namespace,
 * read through ctnetlink (libnetfilter_conntrack), as plain structures.
 */
#ifndef FTP_SYM_CONNTRACK_H
#define FTP_SYM_CONNTRACK_H

#include <stdbool.h>
#include <stdint.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "util.h"

/* CT_OFFLOAD and CT_HW_OFFLOAD (uapi values): older library headers
 * lack them.
 */
#define CT_OFFLOAD		0x4000
#define CT_HW_OFFLOAD		0x8000

/* Kernel TCP conntrack states (enum tcp_conntrack). */
#define TCP_CT_SYN_SENT		1
#define TCP_CT_SYN_RECV		2
#define TCP_CT_ESTABLISHED	3
#define TCP_CT_SYN_SENT2	9

#define NAME_LEN		32

struct tuple {
	uint8_t l3;		/* AF_INET, AF_INET6; 0: not present */
	uint8_t l4;
	uint32_t src[4];	/* network byte order */
	uint32_t dst[4];
	uint16_t sport;		/* host byte order */
	uint16_t dport;
};

struct conn {
	uint32_t id;
	uint16_t zone;
	struct tuple orig, repl, master;
	char helper[NAME_LEN];
	uint32_t status;
	bool has_status;
	bool has_state;
	uint8_t state;
	bool has_timeout;
	uint32_t timeout;
	bool has_tstamp;
	uint64_t tstamp_start, tstamp_stop;	/* ns, CLOCK_REALTIME */
	bool has_acct;
	uint64_t packets[2], bytes[2];
};

struct expect {
	struct tuple master, tuple, mask, nat;
	uint16_t zone;
	uint32_t timeout, flags, class;
	bool has_nat;
	uint32_t nat_dir;
	char helper[NAME_LEN];
	char fn[NAME_LEN];
};

struct snapshot {
	struct vec controls;	/* struct conn, helper ftp-sym */
	struct vec data;	/* struct conn, with a master tuple */
	struct vec expects;	/* struct expect, master is a control */
	int err;		/* errno from a callback */
};

#define SNAPSHOT_INIT {					\
	.controls = VEC_INIT(struct conn),		\
	.data = VEC_INIT(struct conn),			\
	.expects = VEC_INIT(struct expect),		\
}

void conn_from_ct(const struct nf_conntrack *ct, struct conn *c);
void expect_from_nf(const struct nf_expect *exp, struct expect *e);
bool tuple_eq(const struct tuple *a, const struct tuple *b);
/* @l3 is the family the options ask for. */
bool family_ok(uint8_t l3);
/* A control connection of the helper the options name. */
bool is_control(const struct conn *c);
/* The TCP states in which the module's worker keeps the master alive. */
bool state_alive(const struct conn *c);

/* Dump conntracks, then expectations.  Returns an exit status. */
int snapshot_take(struct snapshot *s);
void snapshot_free(struct snapshot *s);
/* Keep-alive holds @ctl: it is on and a data connection of @ctl is in a
 * state that keeps the master alive.
 */
bool control_held(const struct snapshot *s, const struct conn *ctl,
		  bool ka_on);

/* Every TCP conntrack without a master (struct conn in @conns), whatever
 * its helper, and the number of expectations in this network namespace.
 * Returns an exit status.
 */
int dump_masters(struct vec *conns, size_t *n_expect);

#endif /* FTP_SYM_CONNTRACK_H */

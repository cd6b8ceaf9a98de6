/* SPDX-License-Identifier: GPL-2.0-only */
/* Interface between nf_conntrack_ftp_sym and nf_nat_ftp_sym. */
#ifndef _NF_FTP_SYM_H
#define _NF_FTP_SYM_H

#include <linux/skbuff.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>

#include "nf_ftp_sym_parse.h"

/* At most 8 characters: nf_ct_helper_init() builds "ip_nat_" NAME into 16
 * bytes for the NAT module alias.
 */
#define NF_FTP_SYM_NAME		"ftp-sym"

/* What the NAT module does for the conntrack module.  The conntrack module
 * owns the stream (what to rewrite and where); the NAT module owns address
 * translation (which public endpoint the peer must see) and the packet
 * editing primitives that live in nf_nat.
 */
struct nf_ftp_sym_nat_ops {
	/* Make @exp follow the master's NAT, register it under a free public
	 * port and return in @pub the endpoint the peer has to use.
	 */
	int (*expect)(struct nf_conn *ct, struct nf_conntrack_expect *exp,
		      enum ip_conntrack_dir dir, struct ftp_sym_endpoint *pub);
	/* Replace @len payload bytes at @off with @rep, fixing lengths and
	 * checksums but not sequence numbers: the caller owns seqadj.
	 */
	bool (*mangle)(struct sk_buff *skb, struct nf_conn *ct,
		       enum ip_conntrack_info ctinfo, unsigned int protoff,
		       unsigned int off, unsigned int len,
		       const char *rep, unsigned int rep_len);
	/* ctnetlink handed us a connection in @net (conntrackd on an HA
	 * backup): its expectations may come the same way, without their
	 * expectfn.  Called under rcu_read_lock(): must not sleep.
	 */
	void (*replicated)(struct net *net);
};

extern const struct nf_ftp_sym_nat_ops __rcu *nf_ftp_sym_nat_ops;

/* Called by the NAT module's expectfn once the data connection's NAT is
 * set up, so the master is kept alive while the data connection lives.
 */
void nf_ftp_sym_keepalive_track(struct nf_conn *ct,
				struct nf_conntrack_expect *exp);

/* Called by the NAT module when it gave a data connection whose
 * expectation had no expectfn its master's NAT: counted, and tracked for
 * keep-alive like the others.
 */
void nf_ftp_sym_adopted(struct nf_conn *ct);

#endif /* _NF_FTP_SYM_H */

// SPDX-License-Identifier: GPL-2.0-only
/* NAT half of the symmetric FTP helper ("ftp-sym").
 *
 * nf_conntrack_ftp_sym decides which text of the control stream has to
 * change and keeps the stream consistent across segments; this module does
 * what needs nf_nat: it makes each data connection follow the NAT of its
 * control connection, picks the public port, and edits packets.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "nf_ftp_sym_compat.h"

#include <linux/module.h>
#include <linux/netfilter.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/netfilter/nf_nat.h>
#include <net/netfilter/nf_nat_helper.h>

#include "nf_ftp_sym.h"

MODULE_LICENSE("GPL");
MODULE_AUTHOR("nf-ftp-sym developers");
MODULE_VERSION(NF_FTP_SYM_VERSION);
MODULE_DESCRIPTION("Symmetric FTP NAT helper");
MODULE_ALIAS_NF_NAT_HELPER(NF_FTP_SYM_NAME);

static struct nf_conntrack_nat_helper nat_helper_ftp_sym =
	NF_CT_NAT_HELPER_INIT(NF_FTP_SYM_NAME);

/* The data connection appears: NAT it like its master, then let the
 * conntrack module keep the master alive while it lives.
 */
static void nf_nat_ftp_sym_follow_master(struct nf_conn *ct,
					 struct nf_conntrack_expect *exp)
{
	nf_nat_follow_master(ct, exp);
	nf_ftp_sym_keepalive_track(ct, exp);
}

static struct nf_ct_helper_expectfn nf_nat_ftp_sym_expectfn = {
	.name		= "nat-" NF_FTP_SYM_NAME,
	.expectfn	= nf_nat_ftp_sym_follow_master,
};

static int nf_nat_ftp_sym_expect(struct nf_conn *ct,
				 struct nf_conntrack_expect *exp,
				 enum ip_conntrack_dir dir,
				 struct ftp_sym_endpoint *pub)
{
	const union nf_inet_addr *addr = &ct->tuplehash[!dir].tuple.dst.u3;
	u16 port;

	/* The data connection comes to where this packet goes: the peer
	 * must see our side of the NAT, and the connection is mapped back
	 * to the sender's real address and port by the expectfn.
	 */
	exp->saved_proto.tcp.port = exp->tuple.dst.u.tcp.port;
	/* Not used by nf_nat_follow_master(); recorded so that "conntrack
	 * -L expect" and the ftp-sym tool show where the connection goes.
	 */
	exp->saved_addr = ct->tuplehash[dir].tuple.src.u3;
	exp->dir = !dir;
	exp->expectfn = nf_nat_ftp_sym_follow_master;

	port = nf_nat_exp_find_port(exp, ntohs(exp->saved_proto.tcp.port));
	if (!port)
		return -EBUSY;

	memset(pub, 0, sizeof(*pub));
	if (nf_ct_l3num(ct) == NFPROTO_IPV4) {
		pub->family = 4;
		memcpy(pub->addr, &addr->ip, 4);
	} else {
		pub->family = 6;
		memcpy(pub->addr, addr->ip6, 16);
	}
	pub->port = port;
	return 0;
}

static bool nf_nat_ftp_sym_mangle(struct sk_buff *skb, struct nf_conn *ct,
				  enum ip_conntrack_info ctinfo,
				  unsigned int protoff, unsigned int off,
				  unsigned int len, const char *rep,
				  unsigned int rep_len)
{
	return __nf_nat_mangle_tcp_packet(skb, ct, ctinfo, protoff, off, len,
					  rep, rep_len, false);
}

static const struct nf_ftp_sym_nat_ops nf_nat_ftp_sym_ops = {
	.expect	= nf_nat_ftp_sym_expect,
	.mangle	= nf_nat_ftp_sym_mangle,
};

static int __init nf_nat_ftp_sym_init(void)
{
	if (WARN_ON_ONCE(rcu_access_pointer(nf_ftp_sym_nat_ops)))
		return -EBUSY;

	nf_nat_helper_register(&nat_helper_ftp_sym);
	nf_ct_helper_expectfn_register(&nf_nat_ftp_sym_expectfn);
	rcu_assign_pointer(nf_ftp_sym_nat_ops, &nf_nat_ftp_sym_ops);
	return 0;
}

static void __exit nf_nat_ftp_sym_fini(void)
{
	RCU_INIT_POINTER(nf_ftp_sym_nat_ops, NULL);
	nf_ct_helper_expectfn_unregister(&nf_nat_ftp_sym_expectfn);
	nf_nat_helper_unregister(&nat_helper_ftp_sym);
	synchronize_rcu();
	/* Expectations still pointing at our expectfn would call into a
	 * module that is gone.
	 */
	nf_ct_helper_expectfn_destroy(&nf_nat_ftp_sym_expectfn);
}

module_init(nf_nat_ftp_sym_init);
module_exit(nf_nat_ftp_sym_fini);

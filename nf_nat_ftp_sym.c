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
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
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

/* An expectation created through ctnetlink comes without its expectfn
 * and NAT whenever userspace builds it with libnetfilter_conntrack 1.0.9,
 * which drops CTA_EXPECT_FN and CTA_EXPECT_NAT: conntrackd does, on an HA
 * backup (docs/ha.md).  Its data connection would then reach the router's
 * public address untranslated.  Give it what nf_nat_follow_master() would
 * have: the expectation faced the direction of the master whose
 * destination address the connection goes to, and the port is the one
 * expected.  nf_nat_ftp_sym_expect() keeps the sender's port unless
 * another expectation holds it; when it had to move it, the sender's port
 * is not in what reaches the backup, and the connection goes to the moved
 * one (the transfer fails, as it would without this).  Called right after
 * conntrack, for a connection not yet confirmed.
 */
static void nf_nat_ftp_sym_adopt(struct nf_conn *ct)
{
	const struct nf_conntrack_tuple *t = &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	const struct nf_conntrack_tuple *m;
	struct nf_conn *master = ct->master;
	const struct nf_conntrack_helper *helper;
	struct nf_nat_range2 range = {};
	struct nf_conn_help *help;
	int dir = -1, d;

	if (!test_bit(IPS_EXPECTED_BIT, &ct->status) ||
	    t->dst.protonum != IPPROTO_TCP ||
	    !(READ_ONCE(master->status) & IPS_NAT_MASK) ||
	    nf_nat_initialized(ct, NF_NAT_MANIP_SRC) ||
	    nf_nat_initialized(ct, NF_NAT_MANIP_DST))
		return;
	help = nfct_help(master);
	helper = help ? rcu_dereference(help->helper) : NULL;
	if (!helper || strcmp(helper->name, NF_FTP_SYM_NAME))
		return;

	for (d = IP_CT_DIR_ORIGINAL; d < IP_CT_DIR_MAX; d++) {
		if (!nf_inet_addr_cmp(&t->dst.u3,
				      &master->tuplehash[d].tuple.dst.u3))
			continue;
		if (dir >= 0)
			return;	/* both directions: no way to tell */
		dir = d;
	}
	if (dir < 0)
		return;

	m = &master->tuplehash[!dir].tuple;
	range.flags = NF_NAT_RANGE_MAP_IPS;
	range.min_addr = m->dst.u3;
	range.max_addr = m->dst.u3;
	nf_nat_setup_info(ct, &range, NF_NAT_MANIP_SRC);
	range.flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
	range.min_proto.tcp.port = t->dst.u.tcp.port;
	range.max_proto.tcp.port = t->dst.u.tcp.port;
	range.min_addr = m->src.u3;
	range.max_addr = m->src.u3;
	nf_nat_setup_info(ct, &range, NF_NAT_MANIP_DST);
	nf_ftp_sym_adopted(ct);
}

static unsigned int nf_nat_ftp_sym_hook(void *priv, struct sk_buff *skb,
					const struct nf_hook_state *state)
{
	enum ip_conntrack_info ctinfo;
	struct nf_conn *ct = nf_ct_get(skb, &ctinfo);

	/* Only the first packet of an expected connection. */
	if (ct && ctinfo == IP_CT_RELATED && ct->master &&
	    !nf_ct_is_confirmed(ct))
		nf_nat_ftp_sym_adopt(ct);
	return NF_ACCEPT;
}

/* Right after conntrack, in both families, for forwarded and local
 * connections: where the expectfn would have run, so that mangle and
 * filter rules (ct status dnat, ct original daddr, ...) see the data
 * connection's NAT as they do on the primary.
 */
static const struct nf_hook_ops nf_nat_ftp_sym_hook_ops[] = {
	{
		.hook		= nf_nat_ftp_sym_hook,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP_PRI_CONNTRACK + 1,
	},
	{
		.hook		= nf_nat_ftp_sym_hook,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP_PRI_CONNTRACK + 1,
	},
	{
		.hook		= nf_nat_ftp_sym_hook,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_PRE_ROUTING,
		.priority	= NF_IP6_PRI_CONNTRACK + 1,
	},
	{
		.hook		= nf_nat_ftp_sym_hook,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_LOCAL_OUT,
		.priority	= NF_IP6_PRI_CONNTRACK + 1,
	},
};

/* The hook costs every packet of a namespace a call, so a namespace only
 * gets it once ctnetlink hands ftp-sym a connection there: routers that
 * never receive replicated state never pay.  Registering sleeps, and
 * from_nlattr() runs in atomic context: a work item does it.
 */
struct nf_nat_ftp_sym_net {
	struct net *net;
	struct work_struct hook_work;
	struct mutex lock;	/* hooked, dead */
	bool hooked;
	bool dead;
};

static unsigned int nf_nat_ftp_sym_net_id __read_mostly;

static void nf_nat_ftp_sym_hook_work(struct work_struct *work)
{
	struct nf_nat_ftp_sym_net *nn =
		container_of(work, struct nf_nat_ftp_sym_net, hook_work);
	int err;

	mutex_lock(&nn->lock);
	if (!nn->hooked && !nn->dead) {
		err = nf_register_net_hooks(nn->net, nf_nat_ftp_sym_hook_ops,
					    ARRAY_SIZE(nf_nat_ftp_sym_hook_ops));
		if (err)
			pr_warn_ratelimited("cannot hook replicated expectations: %d\n",
					    err);
		else
			WRITE_ONCE(nn->hooked, true);
	}
	mutex_unlock(&nn->lock);
}

static void nf_nat_ftp_sym_replicated(struct net *net)
{
	struct nf_nat_ftp_sym_net *nn = net_generic(net, nf_nat_ftp_sym_net_id);

	if (!READ_ONCE(nn->hooked))
		schedule_work(&nn->hook_work);
}

static int __net_init nf_nat_ftp_sym_net_init(struct net *net)
{
	struct nf_nat_ftp_sym_net *nn = net_generic(net, nf_nat_ftp_sym_net_id);

	nn->net = net;
	mutex_init(&nn->lock);
	INIT_WORK(&nn->hook_work, nf_nat_ftp_sym_hook_work);
	return 0;
}

static void __net_exit nf_nat_ftp_sym_net_exit(struct net *net)
{
	struct nf_nat_ftp_sym_net *nn = net_generic(net, nf_nat_ftp_sym_net_id);

	mutex_lock(&nn->lock);
	nn->dead = true;
	mutex_unlock(&nn->lock);
	cancel_work_sync(&nn->hook_work);
	if (nn->hooked)
		nf_unregister_net_hooks(net, nf_nat_ftp_sym_hook_ops,
					ARRAY_SIZE(nf_nat_ftp_sym_hook_ops));
}

static struct pernet_operations nf_nat_ftp_sym_net_ops = {
	.init	= nf_nat_ftp_sym_net_init,
	.exit	= nf_nat_ftp_sym_net_exit,
	.id	= &nf_nat_ftp_sym_net_id,
	.size	= sizeof(struct nf_nat_ftp_sym_net),
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
	.replicated = nf_nat_ftp_sym_replicated,
};

static int __init nf_nat_ftp_sym_init(void)
{
	int ret;

	if (WARN_ON_ONCE(rcu_access_pointer(nf_ftp_sym_nat_ops)))
		return -EBUSY;

	ret = register_pernet_subsys(&nf_nat_ftp_sym_net_ops);
	if (ret)
		return ret;
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
	/* No from_nlattr() schedules hooking any more: take the hooks out
	 * of every namespace.
	 */
	unregister_pernet_subsys(&nf_nat_ftp_sym_net_ops);
	/* Expectations still pointing at our expectfn would call into a
	 * module that is gone.
	 */
	nf_ct_helper_expectfn_destroy(&nf_nat_ftp_sym_expectfn);
}

module_init(nf_nat_ftp_sym_init);
module_exit(nf_nat_ftp_sym_fini);

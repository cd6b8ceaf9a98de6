// SPDX-License-Identifier: GPL-2.0-only
/* Symmetric FTP connection tracking helper ("ftp-sym").
 *
 * Unlike the stock nf_conntrack_ftp, which expects PORT/EPRT in the original
 * direction and 227/229 in the reply direction, this helper learns from the
 * traffic which side is the client (commands) and which is the server
 * (numeric replies).  It follows the byte stream of each direction: every
 * line of a segment is parsed, the first payload of each direction too, and
 * a line split across segments is reassembled in a small bounded buffer.
 * Data connections keep their control connection alive, also when the data
 * connection is offloaded to a flowtable.  NAT is done by nf_nat_ftp_sym,
 * reached through nf_ftp_sym_nat_ops; docs/design.md explains how it fits.
 *
 * This file is the module: parameters, registration, and help(), which
 * decides what of a packet is the control connection's byte stream.  The
 * other concerns have their own files, listed in nf_ftp_sym_priv.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "nf_ftp_sym_compat.h"

#include <linux/cache.h>
#include <linux/hash.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/tcp.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>

#include "nf_ftp_sym_priv.h"

MODULE_LICENSE("GPL");
MODULE_AUTHOR("nf-ftp-sym developers");
MODULE_VERSION(NF_FTP_SYM_VERSION);
MODULE_DESCRIPTION("Symmetric FTP connection tracking helper");
MODULE_ALIAS_NFCT_HELPER(NF_FTP_SYM_NAME);
/* nft and iptables never load NAT helpers: pull ours in with us. */
MODULE_SOFTDEP("post: nf_nat_ftp_sym");

/* Module parameters are the defaults of every network namespace's policy
 * (net.netfilter.nf_ftp_sym_*, see nf_ftp_sym_policy.c).
 */
int nf_ftp_sym_max_expected __read_mostly = 4;
module_param_named(max_expected, nf_ftp_sym_max_expected, int, 0444);
MODULE_PARM_DESC(max_expected,
		 "outstanding expectations per control connection, 1-255 (default 4; a namespace may set fewer)");

int nf_ftp_sym_expect_timeout __read_mostly = 5 * 60;
module_param_named(expect_timeout, nf_ftp_sym_expect_timeout, int, 0444);
MODULE_PARM_DESC(expect_timeout,
		 "seconds an expectation waits for its data connection (default 300)");

bool nf_ftp_sym_loose __read_mostly;
module_param_named(loose, nf_ftp_sym_loose, bool, 0644);
MODULE_PARM_DESC(loose,
		 "expect data connections to third-party addresses named in PORT/EPRT/227 (default N: refuse, FTP bounce protection)");

bool nf_ftp_sym_allow_low_ports __read_mostly;
module_param_named(allow_low_ports, nf_ftp_sym_allow_low_ports, bool, 0644);
MODULE_PARM_DESC(allow_low_ports,
		 "accept data ports below 1024 (default N)");

unsigned int nf_ftp_sym_keepalive_interval __read_mostly = 5;

/* Bounded, so that the grace derived from it fits the 32-bit ct->timeout
 * arithmetic with room to spare.
 */
static int keepalive_interval_set(const char *val,
				  const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, FTP_SYM_KEEPALIVE_MAX);
}

static const struct kernel_param_ops keepalive_interval_ops = {
	.set	= keepalive_interval_set,
	.get	= param_get_uint,
};

module_param_cb(keepalive_interval, &keepalive_interval_ops,
		&nf_ftp_sym_keepalive_interval, 0644);
MODULE_PARM_DESC(keepalive_interval,
		 "seconds between checks that keep a control connection alive while its data connections live, 0 disables, at most 3600 (default 5)");

unsigned int nf_ftp_sym_max_streams __read_mostly = 4096;
module_param_named(max_streams, nf_ftp_sym_max_streams, uint, 0644);
MODULE_PARM_DESC(max_streams,
		 "control connections per network namespace that may hold a split line or unacknowledged rewrites at once (default 4096)");

unsigned int nf_ftp_sym_max_keepalive __read_mostly = 65536;
module_param_named(max_keepalive, nf_ftp_sym_max_keepalive, uint, 0644);
MODULE_PARM_DESC(max_keepalive,
		 "data connections per network namespace tracked for keep-alive (default 65536)");

const struct nf_ftp_sym_nat_ops __rcu *nf_ftp_sym_nat_ops __read_mostly;
EXPORT_SYMBOL_GPL(nf_ftp_sym_nat_ops);

/* The two directions of one connection may be handled on two CPUs at once:
 * see nf_ftp_sym_lock() in nf_ftp_sym_priv.h.
 */
#define FTP_SYM_LOCK_BITS	8

struct ftp_sym_lock {
	spinlock_t lock;	/* one connection's nf_ct_ftp_sym and stream */
} ____cacheline_aligned_in_smp;

static struct ftp_sym_lock ftp_sym_locks[1 << FTP_SYM_LOCK_BITS];

spinlock_t *nf_ftp_sym_lock(const struct nf_conn *ct)
{
	return &ftp_sym_locks[hash_ptr(ct, FTP_SYM_LOCK_BITS)].lock;
}

static struct nf_conntrack_expect_policy ftp_sym_exp_policy __read_mostly;
static struct nf_conntrack_helper ftp_sym_helpers[2] __read_mostly;
static struct ftp_sym_scratch __percpu *ftp_sym_scratch;
static unsigned int ftp_sym_net_id __read_mostly;

struct ftp_sym_net *nf_ftp_sym_pernet(const struct net *net)
{
	return net_generic(net, ftp_sym_net_id);
}

bool nf_ftp_sym_helper_is_ours(const struct nf_conn *ct)
{
	const struct nf_conn_help *help = nfct_help(ct);
	const struct nf_conntrack_helper *helper;

	if (!help)
		return false;
	helper = rcu_access_pointer(help->helper);
	return helper == &ftp_sym_helpers[0] || helper == &ftp_sym_helpers[1];
}

static struct nf_ct_helper_expectfn ftp_sym_expectfn_desc = {
	.name		= NF_FTP_SYM_NAME,
	.expectfn	= nf_ftp_sym_expectfn,
};

/* A pure acknowledgment: it may let records of the other direction go. */
static void ftp_sym_ack_only(struct ftp_sym_ctx *c, u32 ack)
{
	spinlock_t *lock = nf_ftp_sym_lock(c->ct);

	spin_lock_bh(lock);
	nf_ftp_sym_peer_ack(c, ack);
	nf_ftp_sym_ack(c, ack);
	nf_ftp_sym_stream_put_idle(c);
	spin_unlock_bh(lock);
}

static int ftp_sym_help(struct sk_buff *skb, unsigned int protoff,
			struct nf_conn *ct, enum ip_conntrack_info ctinfo)
{
	struct nf_ct_ftp_sym *info = ftp_sym_info(ct);
	const struct nf_ftp_sym_nat_ops *nat;
	const struct tcphdr *th;
	struct ftp_sym_ctx c;
	unsigned int dataoff;
	struct tcphdr _th;
	spinlock_t *lock;	/* nf_ftp_sym_lock(ct) */
	bool has_ack;
	u32 seq, ack;
	int ret;

	/* Only the control connection's own segments are its byte stream.
	 * An ICMP error quoting one of them is RELATED: its quote and any
	 * bytes after it were never sent on this connection.
	 */
	if (ctinfo == IP_CT_RELATED || ctinfo == IP_CT_RELATED_REPLY) {
		if (info)
			ftp_sym_stat(nf_ftp_sym_pernet(nf_ct_net(ct)),
				     FTP_SYM_STAT_RELATED);
		return NF_ACCEPT;
	}
	if (!info || READ_ONCE(info->flags) & FTP_SYM_F_TLS)
		return NF_ACCEPT;
	/* Some stable kernels (6.12.95) give an expected connection its
	 * master's helper.  A data connection is never a control channel:
	 * its bytes are the user's file and must not be parsed, let alone
	 * rewritten.
	 */
	if (ct->master)
		return NF_ACCEPT;

	th = skb_header_pointer(skb, protoff, sizeof(_th), &_th);
	if (!th)
		return NF_ACCEPT;
	dataoff = protoff + th->doff * 4;
	/* th may point into the head that skb_linearize() frees. */
	seq = ntohl(th->seq);
	ack = ntohl(th->ack_seq);
	has_ack = th->ack;

	memset(&c, 0, sizeof(c));
	c.skb = skb;
	c.ct = ct;
	c.info = info;
	c.fsn = nf_ftp_sym_pernet(nf_ct_net(ct));
	c.ctinfo = ctinfo;
	c.dir = CTINFO2DIR(ctinfo);
	c.protoff = protoff;
	c.seq = seq;

	if (dataoff >= skb->len) {
		if (has_ack && (READ_ONCE(info->stream) ||
				!(READ_ONCE(info->dflags[!c.dir]) & FTP_SYM_D_SEEN)))
			ftp_sym_ack_only(&c, ack);
		if (c.to_free)
			nf_ftp_sym_stream_free(c.to_free);
		return NF_ACCEPT;
	}

	if (unlikely(skb_linearize(skb))) {
		nf_ct_helper_log(skb, ct, "cannot linearize packet");
		return NF_DROP;
	}
	c.data = skb->data + dataoff;
	c.len = skb->len - dataoff;
	/* A stream needs an extension area that no longer moves and a
	 * conntrack that someone will still reap (see stream.c).
	 */
	c.may_alloc = nf_ct_is_confirmed(ct) && !nf_ct_is_dying(ct);

	nat = rcu_dereference(nf_ftp_sym_nat_ops);
	if (nat && (ct->status & IPS_NAT_MASK)) {
		c.nat = nat;
		c.room = nf_ftp_sym_room(skb);
	}

	ftp_sym_stat(c.fsn, FTP_SYM_STAT_PACKETS);
	lock = nf_ftp_sym_lock(ct);
	spin_lock_bh(lock);
	if (has_ack) {
		nf_ftp_sym_peer_ack(&c, ack);
		nf_ftp_sym_ack(&c, ack);
	}
	if ((ct->status & IPS_NAT_MASK) &&
	    (!nat || unlikely(nf_ct_is_dying(ct))) &&
	    nf_ftp_sym_needs_nat(info, c.dir, c.data, c.len)) {
		/* No NAT helper, or a connection on its way out: nothing
		 * that needs translating may leave, and no state moves.
		 */
		c.why = nat ? "connection is being deleted" :
			"nf_nat_ftp_sym not loaded: line withheld";
		if (!nat)
			ftp_sym_stat(c.fsn, FTP_SYM_STAT_NAT_FAILED);
		ret = NF_DROP;
	} else if (unlikely(nf_ct_is_dying(ct))) {
		ret = NF_ACCEPT;
	} else {
		c.sc = this_cpu_ptr(ftp_sym_scratch);
		ret = nf_ftp_sym_segment(&c);
	}
	nf_ftp_sym_stream_put_idle(&c);
	spin_unlock_bh(lock);

	if (c.to_free)
		nf_ftp_sym_stream_free(c.to_free);
	kfree(c.spare);
	if (ret != NF_ACCEPT) {
		ftp_sym_stat(c.fsn, FTP_SYM_STAT_DROP);
		nf_ct_helper_log(skb, ct, "%s", c.why ? c.why : "error");
	}
	return ret;
}

/* ctnetlink (conntrackd failover) injected or updated this conntrack.  A
 * new entry has a zeroed help area: each direction's first payload is
 * taken as a line start.  For an existing one, see stream_resync().
 * conntrackd never sends CTA_HELP_INFO, so @attr is not looked at.
 */
static int ftp_sym_from_nlattr(struct nlattr *attr, struct nf_conn *ct)
{
	struct nf_ct_ftp_sym *info = ftp_sym_info(ct);
	spinlock_t *lock = nf_ftp_sym_lock(ct);
	const struct nf_ftp_sym_nat_ops *nat;
	struct ftp_sym_stream *st;

	if (!info)
		return 0;
	rcu_read_lock();
	nat = rcu_dereference(nf_ftp_sym_nat_ops);
	if (nat)
		nat->replicated(nf_ct_net(ct));
	rcu_read_unlock();
	/* An update of a data connection (6.12 gives children their
	 * master's helper) keeps it alive like one made from an
	 * expectation.  A created one has no ct->master yet (ctnetlink sets
	 * it after the helper): like the children that carry no helper, it
	 * is found by the rescan that any entry of ours coming through
	 * ctnetlink starts.
	 */
	if (ct->master) {
		nf_ftp_sym_keepalive_track(ct, NULL);
		return 0;
	}
	nf_ftp_sym_ka_rescan(nf_ftp_sym_pernet(nf_ct_net(ct)));
	spin_lock_bh(lock);
	st = nf_ftp_sym_stream_resync(ct, info);
	spin_unlock_bh(lock);
	if (st)
		nf_ftp_sym_stream_free(st);
	return 0;
}

void nf_ftp_sym_adopted(struct nf_conn *ct)
{
	ftp_sym_stat(nf_ftp_sym_pernet(nf_ct_net(ct)), FTP_SYM_STAT_NAT_ADOPTED);
	nf_ftp_sym_keepalive_track(ct, NULL);
}
EXPORT_SYMBOL_GPL(nf_ftp_sym_adopted);

static int __net_init ftp_sym_net_init(struct net *net)
{
	struct ftp_sym_net *fsn = nf_ftp_sym_pernet(net);
	int ret;

	fsn->net = net;
	ratelimit_state_init(&fsn->log_rs, 5 * HZ, 10);
	nf_ftp_sym_stream_net_init(fsn);
	nf_ftp_sym_ka_net_init(fsn);
	ret = nf_ftp_sym_stats_net_init(fsn);
	if (ret)
		return ret;
	ret = nf_ftp_sym_policy_net_init(fsn);
	if (ret)
		nf_ftp_sym_stats_net_exit(fsn);
	return ret;
}

static void __net_exit ftp_sym_net_exit(struct net *net)
{
	struct ftp_sym_net *fsn = nf_ftp_sym_pernet(net);

	nf_ftp_sym_policy_net_exit(fsn);
	nf_ftp_sym_stream_net_exit(fsn);
	nf_ftp_sym_ka_net_exit(fsn);
	nf_ftp_sym_stats_net_exit(fsn);
}

static struct pernet_operations ftp_sym_net_ops = {
	.init	= ftp_sym_net_init,
	.exit	= ftp_sym_net_exit,
	.id	= &ftp_sym_net_id,
	.size	= sizeof(struct ftp_sym_net),
};

static int __init nf_conntrack_ftp_sym_init(void)
{
	int ret, i;

	BUILD_BUG_ON(sizeof(struct nf_ct_ftp_sym) >
		     sizeof_field(struct nf_conn_help, data));

	if (nf_ftp_sym_max_expected < 1 ||
	    nf_ftp_sym_max_expected > NF_CT_EXPECT_MAX_CNT) {
		pr_err("max_expected must be 1-%u\n", NF_CT_EXPECT_MAX_CNT);
		return -EINVAL;
	}
	if (nf_ftp_sym_expect_timeout < 1) {
		pr_err("expect_timeout must be positive\n");
		return -EINVAL;
	}
	ftp_sym_exp_policy.max_expected = nf_ftp_sym_max_expected;
	ftp_sym_exp_policy.timeout = nf_ftp_sym_expect_timeout;

	for (i = 0; i < ARRAY_SIZE(ftp_sym_locks); i++)
		spin_lock_init(&ftp_sym_locks[i].lock);

	ftp_sym_scratch = alloc_percpu(struct ftp_sym_scratch);
	if (!ftp_sym_scratch)
		return -ENOMEM;

	ret = register_pernet_subsys(&ftp_sym_net_ops);
	if (ret < 0)
		goto out_scratch;

	nf_ct_helper_expectfn_register(&ftp_sym_expectfn_desc);

	/* Port 0 and our own name: never collides with nf_conntrack_ftp,
	 * and nothing assigns us automatically; nft/iptables rules do.  No
	 * .destroy: the core takes any helper with one for PPTP.
	 */
	nf_ct_helper_init(&ftp_sym_helpers[0], AF_INET, IPPROTO_TCP,
			  NF_FTP_SYM_NAME, 0, 0, 0, &ftp_sym_exp_policy, 0,
			  ftp_sym_help, ftp_sym_from_nlattr, THIS_MODULE);
	nf_ct_helper_init(&ftp_sym_helpers[1], AF_INET6, IPPROTO_TCP,
			  NF_FTP_SYM_NAME, 0, 0, 0, &ftp_sym_exp_policy, 0,
			  ftp_sym_help, ftp_sym_from_nlattr, THIS_MODULE);

	ret = nf_conntrack_helpers_register(ftp_sym_helpers,
					    ARRAY_SIZE(ftp_sym_helpers));
	if (ret < 0) {
		pr_err("cannot register helper: %d\n", ret);
		goto out_expectfn;
	}
	return 0;

out_expectfn:
	nf_ct_helper_expectfn_unregister(&ftp_sym_expectfn_desc);
	unregister_pernet_subsys(&ftp_sym_net_ops);
out_scratch:
	free_percpu(ftp_sym_scratch);
	return ret;
}

static void __exit nf_conntrack_ftp_sym_fini(void)
{
	/* Also destroys our expectations and waits for RCU readers, so no
	 * help() or expectfn runs after it.
	 */
	nf_conntrack_helpers_unregister(ftp_sym_helpers,
					ARRAY_SIZE(ftp_sym_helpers));
	nf_ct_helper_expectfn_unregister(&ftp_sym_expectfn_desc);
	synchronize_rcu();
	nf_ct_helper_expectfn_destroy(&ftp_sym_expectfn_desc);
	/* Frees every stream, giving back its conntrack reference. */
	unregister_pernet_subsys(&ftp_sym_net_ops);
	free_percpu(ftp_sym_scratch);
}

module_init(nf_conntrack_ftp_sym_init);
module_exit(nf_conntrack_ftp_sym_fini);

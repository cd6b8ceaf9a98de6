// SPDX-License-Identifier: GPL-2.0-only
/* Policy per network namespace: /proc/sys/net/netfilter/nf_ftp_sym_*.
 *
 * A multi-tenant router or a container host wants bounce protection, the
 * low-port rule, the expectation limits and keep-alive set per namespace.
 * Each setting follows its module parameter until it is written in the
 * namespace; from then on the namespace keeps its own value.  Writing the
 * module parameter (the runtime-writable ones) thus still changes every
 * namespace that did not choose otherwise.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "nf_ftp_sym_compat.h"

#include <linux/slab.h>
#include <linux/sysctl.h>
#include <net/net_namespace.h>
#include <net/netfilter/nf_conntrack_expect.h>

#include "nf_ftp_sym_priv.h"

static int ftp_sym_one_day = 86400;
static int ftp_sym_ka_max = FTP_SYM_KEEPALIVE_MAX;

unsigned int nf_ftp_sym_knob(const struct ftp_sym_net *fsn,
			     enum ftp_sym_knob k)
{
	const struct ftp_sym_knob_state *ks = &fsn->pol.knob[k];

	if (READ_ONCE(ks->own))
		return READ_ONCE(ks->val);
	switch (k) {
	case FTP_SYM_KNOB_LOOSE:
		return READ_ONCE(nf_ftp_sym_loose);
	case FTP_SYM_KNOB_ALLOW_LOW_PORTS:
		return READ_ONCE(nf_ftp_sym_allow_low_ports);
	case FTP_SYM_KNOB_MAX_EXPECTED:
		return nf_ftp_sym_max_expected;
	case FTP_SYM_KNOB_EXPECT_TIMEOUT:
		return nf_ftp_sym_expect_timeout;
	case FTP_SYM_KNOB_KEEPALIVE_INTERVAL:
		return READ_ONCE(nf_ftp_sym_keepalive_interval);
	default:
		return 0;
	}
}

static int ftp_sym_sysctl_knob(nf_ftp_sym_ctl_table *table, int write,
			       void *buffer, size_t *lenp, loff_t *ppos)
{
	struct ftp_sym_knob_state *ks = table->data;
	struct ftp_sym_net *fsn = container_of(ks - ks->id,
					       struct ftp_sym_net, pol.knob[0]);
	struct ctl_table tmp = *table;
	int val = nf_ftp_sym_knob(fsn, ks->id);
	int ret;

	tmp.data = &val;
	tmp.maxlen = sizeof(val);
	ret = proc_dointvec_minmax(&tmp, write, buffer, lenp, ppos);
	if (write && !ret) {
		WRITE_ONCE(ks->val, val);
		WRITE_ONCE(ks->own, true);
	}
	return ret;
}

/* max_expected may go down per namespace, never above what the helper
 * was registered with (the module parameter), which the core enforces.
 */
static const struct ctl_table ftp_sym_sysctl_template[] = {
	[FTP_SYM_KNOB_LOOSE] = {
		.procname	= "nf_ftp_sym_loose",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ftp_sym_sysctl_knob,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	[FTP_SYM_KNOB_ALLOW_LOW_PORTS] = {
		.procname	= "nf_ftp_sym_allow_low_ports",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ftp_sym_sysctl_knob,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	[FTP_SYM_KNOB_MAX_EXPECTED] = {
		.procname	= "nf_ftp_sym_max_expected",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ftp_sym_sysctl_knob,
		.extra1		= SYSCTL_ONE,
		.extra2		= &nf_ftp_sym_max_expected,
	},
	[FTP_SYM_KNOB_EXPECT_TIMEOUT] = {
		.procname	= "nf_ftp_sym_expect_timeout",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ftp_sym_sysctl_knob,
		.extra1		= SYSCTL_ONE,
		.extra2		= &ftp_sym_one_day,
	},
	[FTP_SYM_KNOB_KEEPALIVE_INTERVAL] = {
		.procname	= "nf_ftp_sym_keepalive_interval",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= ftp_sym_sysctl_knob,
		.extra1		= SYSCTL_ZERO,
		.extra2		= &ftp_sym_ka_max,
	},
	{ }
};

/* After @exp was inserted: the namespace's expectation lifetime, and its
 * limit per control connection (the oldest go first, as in the core).
 */
void nf_ftp_sym_expect_limits(struct ftp_sym_net *fsn, struct nf_conn *ct,
			      struct nf_conntrack_expect *exp)
{
	unsigned int max = nf_ftp_sym_knob(fsn, FTP_SYM_KNOB_MAX_EXPECTED);
	unsigned int t = nf_ftp_sym_knob(fsn, FTP_SYM_KNOB_EXPECT_TIMEOUT);
	struct nf_conn_help *help = nfct_help(ct);
	struct nf_conntrack_expect *e, *oldest;
	unsigned int i;

	if (!help || (max >= nf_ftp_sym_max_expected &&
		      t == nf_ftp_sym_expect_timeout))
		return;
	/* Bounded: the core keeps at most nf_ftp_sym_max_expected. */
	for (i = 0; i <= nf_ftp_sym_max_expected; i++) {
		unsigned int live = 0;

		spin_lock_bh(&nf_conntrack_expect_lock);
		if (i == 0 && t != nf_ftp_sym_expect_timeout)
			nf_ftp_sym_exp_set_timeout(exp, t);
		/* Newest first on the list: the last one alive is the oldest. */
		oldest = NULL;
		hlist_for_each_entry(e, &help->expectations, lnode) {
			if (e->class != NF_CT_EXPECT_CLASS_DEFAULT ||
			    !nf_ftp_sym_exp_alive(e))
				continue;
			live++;
			oldest = e;
		}
		if (live <= max || oldest == exp ||
		    !refcount_inc_not_zero(&oldest->use))
			oldest = NULL;
		spin_unlock_bh(&nf_conntrack_expect_lock);
		if (!oldest)
			return;
		nf_ct_unexpect_related(oldest);
		nf_ct_expect_put(oldest);
	}
}

int nf_ftp_sym_policy_net_init(struct ftp_sym_net *fsn)
{
	struct ctl_table *table;
	int k;

	for (k = 0; k < FTP_SYM_KNOB_MAX; k++)
		fsn->pol.knob[k].id = k;
	table = kmemdup(ftp_sym_sysctl_template,
			sizeof(ftp_sym_sysctl_template), GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	for (k = 0; k < FTP_SYM_KNOB_MAX; k++)
		table[k].data = &fsn->pol.knob[k];
	fsn->pol.header = nf_ftp_sym_register_net_sysctl(fsn->net,
							 "net/netfilter", table,
							 FTP_SYM_KNOB_MAX);
	if (!fsn->pol.header) {
		kfree(table);
		return -ENOMEM;
	}
	fsn->pol.table = table;
	return 0;
}

void nf_ftp_sym_policy_net_exit(struct ftp_sym_net *fsn)
{
	unregister_net_sysctl_table(fsn->pol.header);
	kfree(fsn->pol.table);
}

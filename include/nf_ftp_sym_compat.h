/* SPDX-License-Identifier: GPL-2.0-only */
/* Kernel API differences, in one place.
 *
 * Every kernel source of the project includes this header first (after
 * pr_fmt); Kbuild passes NF_FTP_SYM_HAVE_* from feature probes on the
 * target's headers.  No other file may test a kernel version or a probe
 * result: the .c files are written against the newest API and this header
 * maps it onto older kernels.
 */
#ifndef _NF_FTP_SYM_COMPAT_H
#define _NF_FTP_SYM_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "nf-ftp-sym needs Linux 6.1 or newer (tested: 6.1 and 6.12)"
#endif

#include <linux/netfilter.h>
#include <linux/sysctl.h>
#include <linux/timer.h>
#include <net/net_namespace.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>

#ifndef NF_FTP_SYM_HAVE_EXPECTFN_DESTROY
static inline bool
nf_ftp_sym_expectfn_matches(struct nf_conntrack_expect *exp, void *data)
{
	const struct nf_ct_helper_expectfn *n = data;

	return exp->expectfn == n->expectfn;
}

/* Older 6.1.y: the same walk as the later in-tree helper. */
static inline void
nf_ct_helper_expectfn_destroy(const struct nf_ct_helper_expectfn *n)
{
	nf_ct_expect_iterate_destroy(nf_ftp_sym_expectfn_matches, (void *)n);
}
#endif /* NF_FTP_SYM_HAVE_EXPECTFN_DESTROY */

/* Give an inserted expectation @secs to live from now.  Caller holds
 * nf_conntrack_expect_lock; an expectation already unlinked is left alone.
 */
/* Is the expectation still in force (not expired, not removed)?  Caller
 * holds nf_conntrack_expect_lock.  Where expectations expire by time
 * stamp, a removed one stays listed, marked, until garbage collection.
 */
#ifdef NF_FTP_SYM_HAVE_EXP_TIMEOUT_STAMP
static inline void
nf_ftp_sym_exp_set_timeout(struct nf_conntrack_expect *exp, unsigned int secs)
{
	if (!hlist_unhashed(&exp->hnode))
		WRITE_ONCE(exp->timeout, nfct_time_stamp + secs * HZ);
}

static inline bool nf_ftp_sym_exp_alive(const struct nf_conntrack_expect *exp)
{
	return !hlist_unhashed(&exp->hnode) && !nf_ct_exp_is_expired(exp);
}
#else
static inline void
nf_ftp_sym_exp_set_timeout(struct nf_conntrack_expect *exp, unsigned int secs)
{
	if (timer_pending(&exp->timeout))
		mod_timer(&exp->timeout, jiffies + secs * HZ);
}

static inline bool nf_ftp_sym_exp_alive(const struct nf_conntrack_expect *exp)
{
	return timer_pending(&exp->timeout);
}
#endif /* NF_FTP_SYM_HAVE_EXP_TIMEOUT_STAMP */

#ifdef NF_FTP_SYM_HAVE_CONST_CTL_TABLE
#define nf_ftp_sym_ctl_table	const struct ctl_table
#else
#define nf_ftp_sym_ctl_table	struct ctl_table
#endif

/* @table has @n entries and an empty one after them. */
#ifdef NF_FTP_SYM_HAVE_NET_SYSCTL_SZ
static inline struct ctl_table_header *
nf_ftp_sym_register_net_sysctl(struct net *net, const char *path,
			       struct ctl_table *table, size_t n)
{
	return register_net_sysctl_sz(net, path, table, n);
}
#else
static inline struct ctl_table_header *
nf_ftp_sym_register_net_sysctl(struct net *net, const char *path,
			       struct ctl_table *table, size_t n)
{
	return register_net_sysctl(net, path, table);
}
#endif /* NF_FTP_SYM_HAVE_NET_SYSCTL_SZ */

#endif /* _NF_FTP_SYM_COMPAT_H */

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

#endif /* _NF_FTP_SYM_COMPAT_H */

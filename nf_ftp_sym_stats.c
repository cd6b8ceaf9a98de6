// SPDX-License-Identifier: GPL-2.0-only
/* Counters of nf_conntrack_ftp_sym, per network namespace and per CPU, and
 * /proc/net/nf_ftp_sym that sums them.
 *
 * Per CPU because every control packet bumps at least one: a shared atomic
 * would make the counters the one cache line all CPUs fight over.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "nf_ftp_sym_compat.h"

#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>

#include "nf_ftp_sym_priv.h"

static const char *const ftp_sym_stat_names[FTP_SYM_STAT_MAX] = {
	[FTP_SYM_STAT_PACKETS]		= "packets",
	[FTP_SYM_STAT_LINES]		= "lines",
	[FTP_SYM_STAT_PORT]		= "port",
	[FTP_SYM_STAT_EPRT]		= "eprt",
	[FTP_SYM_STAT_227]		= "pasv_227",
	[FTP_SYM_STAT_229]		= "epsv_229",
	[FTP_SYM_STAT_EXPECT_CREATED]	= "expect_created",
	[FTP_SYM_STAT_EXPECT_FAILED]	= "expect_failed",
	[FTP_SYM_STAT_REJECT_BOUNCE]	= "reject_bounce",
	[FTP_SYM_STAT_REJECT_LOW_PORT]	= "reject_low_port",
	[FTP_SYM_STAT_REJECT_UNSOLICITED] = "reject_unsolicited",
	[FTP_SYM_STAT_REJECT_DIRECTION]	= "reject_direction",
	[FTP_SYM_STAT_REJECT_FAMILY]	= "reject_family",
	[FTP_SYM_STAT_PARSE_ERROR]	= "parse_error",
	[FTP_SYM_STAT_PARTIAL]		= "partial_lines",
	[FTP_SYM_STAT_PARTIAL_UNTRACKED] = "partial_untracked",
	[FTP_SYM_STAT_OVERLONG]		= "overlong_lines",
	[FTP_SYM_STAT_OUT_OF_ORDER]	= "out_of_order",
	[FTP_SYM_STAT_RETRANSMIT]	= "retransmitted",
	[FTP_SYM_STAT_ROLE_CONFLICT]	= "role_conflict",
	[FTP_SYM_STAT_TLS]		= "tls_sessions",
	[FTP_SYM_STAT_RELATED]		= "related_ignored",
	[FTP_SYM_STAT_KA_TRACKED]	= "keepalive_tracked",
	[FTP_SYM_STAT_KA_REFRESH]	= "keepalive_refreshes",
	[FTP_SYM_STAT_KA_UNTRACKED]	= "keepalive_untracked",
	[FTP_SYM_STAT_NAT_REWRITE]	= "nat_rewrites",
	[FTP_SYM_STAT_NAT_HOLD]		= "nat_held_lines",
	[FTP_SYM_STAT_NAT_REEMIT]	= "nat_reemitted",
	[FTP_SYM_STAT_NAT_RETRANS_ACKED] = "nat_retrans_acked",
	[FTP_SYM_STAT_NAT_MISSED]	= "nat_missed",
	[FTP_SYM_STAT_NAT_FAILED]	= "nat_failed",
	[FTP_SYM_STAT_NAT_ADOPTED]	= "nat_adopted",
	[FTP_SYM_STAT_STREAMS_CREATED]	= "streams_created",
	[FTP_SYM_STAT_STREAMS_FREED]	= "streams_freed",
	[FTP_SYM_STAT_STREAMS_REAPED]	= "streams_reaped",
	[FTP_SYM_STAT_STREAM_REFUSED]	= "streams_refused",
	[FTP_SYM_STAT_DROP]		= "dropped",
};

static unsigned long ftp_sym_sum(const struct ftp_sym_net *fsn,
				 const unsigned long *first)
{
	size_t off = (const char *)first - (const char *)fsn->stats;
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		const char *p = (const char *)per_cpu_ptr(fsn->stats, cpu);

		sum += *(const unsigned long *)(p + off);
	}
	return sum;
}

static int ftp_sym_stats_show(struct seq_file *s, void *v)
{
	struct ftp_sym_net *fsn = nf_ftp_sym_pernet(seq_file_single_net(s));
	unsigned int streams, ka;
	int i;

	for (i = 0; i < FTP_SYM_STAT_MAX; i++)
		seq_printf(s, "%s %lu\n", ftp_sym_stat_names[i],
			   ftp_sym_sum(fsn, &fsn->stats->v[i]));
	for (i = 1; i < FTP_SYM_E_MAX; i++)
		seq_printf(s, "parse_error_%s %lu\n", ftp_sym_error_name(i),
			   ftp_sym_sum(fsn, &fsn->stats->parse_errors[i]));

	spin_lock_bh(&fsn->sn.lock);
	streams = fsn->sn.count;
	spin_unlock_bh(&fsn->sn.lock);
	spin_lock_bh(&fsn->ka.lock);
	ka = fsn->ka.count;
	spin_unlock_bh(&fsn->ka.lock);
	seq_printf(s, "streams_active %u\n", streams);
	seq_printf(s, "keepalive_active %u\n", ka);
	return 0;
}

int nf_ftp_sym_stats_net_init(struct ftp_sym_net *fsn)
{
	fsn->stats = alloc_percpu(struct ftp_sym_stats);
	if (!fsn->stats)
		return -ENOMEM;
	if (!proc_create_net_single("nf_ftp_sym", 0444, fsn->net->proc_net,
				    ftp_sym_stats_show, NULL)) {
		free_percpu(fsn->stats);
		fsn->stats = NULL;
		return -ENOMEM;
	}
	return 0;
}

void nf_ftp_sym_stats_net_exit(struct ftp_sym_net *fsn)
{
	remove_proc_entry("nf_ftp_sym", fsn->net->proc_net);
	free_percpu(fsn->stats);
	fsn->stats = NULL;
}

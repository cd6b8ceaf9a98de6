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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "nf_ftp_sym_compat.h"

#include <linux/atomic.h>
#include <linux/hash.h>
#include <linux/in.h>
#include <linux/inet.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/netfilter.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/tcp.h>
#include <linux/workqueue.h>
#include <net/checksum.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/tcp.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/netfilter/nf_conntrack_seqadj.h>
#include <net/netfilter/nf_conntrack_tuple.h>
#include <net/netfilter/nf_conntrack_zones.h>

#include "nf_ftp_sym.h"

/* The parser is one translation unit with this file: see Kbuild. */
#include "nf_ftp_sym_parse.c"

MODULE_LICENSE("GPL");
MODULE_AUTHOR("nf-ftp-sym developers");
MODULE_VERSION(NF_FTP_SYM_VERSION);
MODULE_DESCRIPTION("Symmetric FTP connection tracking helper");
MODULE_ALIAS_NFCT_HELPER(NF_FTP_SYM_NAME);
/* nft and iptables never load NAT helpers: pull ours in with us. */
MODULE_SOFTDEP("post: nf_nat_ftp_sym");

static unsigned int max_expected __read_mostly = 4;
module_param(max_expected, uint, 0444);
MODULE_PARM_DESC(max_expected,
		 "outstanding expectations per control connection, 1-255 (default 4)");

static unsigned int expect_timeout __read_mostly = 5 * 60;
module_param(expect_timeout, uint, 0444);
MODULE_PARM_DESC(expect_timeout,
		 "seconds an expectation waits for its data connection (default 300)");

static bool loose __read_mostly;
module_param(loose, bool, 0644);
MODULE_PARM_DESC(loose,
		 "expect data connections to third-party addresses named in PORT/EPRT/227 (default N: refuse, FTP bounce protection)");

static bool allow_low_ports __read_mostly;
module_param(allow_low_ports, bool, 0644);
MODULE_PARM_DESC(allow_low_ports,
		 "accept data ports below 1024 (default N)");

#define FTP_SYM_KEEPALIVE_MAX	3600

static unsigned int keepalive_interval __read_mostly = 5;

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
		&keepalive_interval, 0644);
MODULE_PARM_DESC(keepalive_interval,
		 "seconds between checks that keep a control connection alive while its data connections live, 0 disables, at most 3600 (default 5)");

static unsigned int max_streams __read_mostly = 4096;
module_param(max_streams, uint, 0644);
MODULE_PARM_DESC(max_streams,
		 "control connections per network namespace that may hold reassembly state at once (default 4096)");

static unsigned int max_keepalive __read_mostly = 65536;
module_param(max_keepalive, uint, 0644);
MODULE_PARM_DESC(max_keepalive,
		 "data connections per network namespace tracked for keep-alive (default 65536)");

const struct nf_ftp_sym_nat_ops __rcu *nf_ftp_sym_nat_ops __read_mostly;
EXPORT_SYMBOL_GPL(nf_ftp_sym_nat_ops);

/* Per network namespace counters, /proc/net/nf_ftp_sym. */
enum ftp_sym_stat {
	FTP_SYM_STAT_PACKETS,
	FTP_SYM_STAT_LINES,
	FTP_SYM_STAT_PORT,
	FTP_SYM_STAT_EPRT,
	FTP_SYM_STAT_227,
	FTP_SYM_STAT_229,
	FTP_SYM_STAT_EXPECT_CREATED,
	FTP_SYM_STAT_EXPECT_FAILED,
	FTP_SYM_STAT_REJECT_BOUNCE,
	FTP_SYM_STAT_REJECT_LOW_PORT,
	FTP_SYM_STAT_REJECT_UNSOLICITED,
	FTP_SYM_STAT_REJECT_DIRECTION,
	FTP_SYM_STAT_REJECT_FAMILY,
	FTP_SYM_STAT_PARSE_ERROR,
	FTP_SYM_STAT_PARTIAL,
	FTP_SYM_STAT_PARTIAL_UNTRACKED,
	FTP_SYM_STAT_OVERLONG,
	FTP_SYM_STAT_OUT_OF_ORDER,
	FTP_SYM_STAT_RETRANSMIT,
	FTP_SYM_STAT_ROLE_CONFLICT,
	FTP_SYM_STAT_TLS,
	FTP_SYM_STAT_KA_TRACKED,
	FTP_SYM_STAT_KA_REFRESH,
	FTP_SYM_STAT_KA_UNTRACKED,
	FTP_SYM_STAT_NAT_REWRITE,
	FTP_SYM_STAT_NAT_HOLD,
	FTP_SYM_STAT_NAT_REEMIT,
	FTP_SYM_STAT_NAT_MISSED,
	FTP_SYM_STAT_NAT_FAILED,
	FTP_SYM_STAT_DROP,
	FTP_SYM_STAT_MAX
};

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
	[FTP_SYM_STAT_KA_TRACKED]	= "keepalive_tracked",
	[FTP_SYM_STAT_KA_REFRESH]	= "keepalive_refreshes",
	[FTP_SYM_STAT_KA_UNTRACKED]	= "keepalive_untracked",
	[FTP_SYM_STAT_NAT_REWRITE]	= "nat_rewrites",
	[FTP_SYM_STAT_NAT_HOLD]		= "nat_held_lines",
	[FTP_SYM_STAT_NAT_REEMIT]	= "nat_reemitted",
	[FTP_SYM_STAT_NAT_MISSED]	= "nat_missed",
	[FTP_SYM_STAT_NAT_FAILED]	= "nat_failed",
	[FTP_SYM_STAT_DROP]		= "dropped",
};

struct ftp_sym_net {
	struct net *net;
	atomic_long_t stats[FTP_SYM_STAT_MAX];
	atomic_long_t parse_errors[FTP_SYM_E_MAX];
	atomic_t streams;

	/* keep-alive: data connections whose masters we hold up */
	spinlock_t ka_lock;
	struct list_head ka_list;
	unsigned int ka_count;
	bool ka_dead;
	struct delayed_work ka_work;
};

static unsigned int ftp_sym_net_id __read_mostly;

static struct ftp_sym_net *ftp_sym_pernet(const struct net *net)
{
	return net_generic(net, ftp_sym_net_id);
}

static void ftp_sym_stat(struct ftp_sym_net *fsn, enum ftp_sym_stat stat)
{
	atomic_long_inc(&fsn->stats[stat]);
}

/* A line being reassembled, or a line rewritten or held back under NAT,
 * kept so that retransmissions get exactly the same bytes.
 */
struct ftp_sym_rec {
	u32 start;		/* original sequence number of the line */
	u32 end;		/* original sequence number after its LF */
	s16 delta;		/* emitted length minus original length */
	u16 len;		/* bytes in text */
	char text[FTP_SYM_LINE_MAX + FTP_SYM_TEXT_MAX];
};

/* Rewritten lines in flight per direction that a retransmission can
 * still get exactly as before; an older one is dropped, not mangled.
 * Four keep struct ftp_sym_stream within one 4 KiB allocation.
 */
#define FTP_SYM_RECS	4

struct ftp_sym_half {
	u32 line_seq;		/* sequence number of buf[0] */
	u16 len;		/* bytes in buf */
	bool hold;		/* buf was cut out of the stream (NAT) */
	u8 nrec;		/* valid entries of rec[], rec[0] newest */
	bool evicted;		/* an older record was dropped */
	u32 evicted_start;	/* newest start among dropped records */
	s32 cum;		/* sum of all rewrite deltas so far */
	char buf[FTP_SYM_LINE_MAX];
	struct ftp_sym_rec rec[FTP_SYM_RECS];
};

/* Allocated on demand, only for connections that split a line across
 * segments or are rewritten by NAT.  Bounded by max_streams per netns,
 * freed on conntrack destroy, or at module unload (after the helpers are
 * unregistered, so neither help() nor destroy() can still run).
 */
struct ftp_sym_stream {
	struct list_head node;		/* on ftp_sym_streams */
	struct ftp_sym_net *fsn;	/* for the per-netns budget */
	char scratch[FTP_SYM_LINE_MAX + FTP_SYM_TEXT_MAX];
	struct ftp_sym_half half[IP_CT_DIR_MAX];
};

static LIST_HEAD(ftp_sym_streams);
static DEFINE_SPINLOCK(ftp_sym_streams_lock);

/* Per-connection state inside nf_conn_help.data (32 bytes). */
struct nf_ct_ftp_sym {
	struct ftp_sym_stream *stream;
	u32 next_seq[IP_CT_DIR_MAX];	/* first byte not yet processed */
	u16 ml_code[IP_CT_DIR_MAX];	/* open multi-line reply, or 0 */
	u16 flags;			/* FTP_SYM_F_* */
	u8 dflags[IP_CT_DIR_MAX];	/* FTP_SYM_D_* */
	u16 req_fifo;			/* requests awaiting a final reply */
	u8 req_count;			/* entries in req_fifo */
};

#define FTP_SYM_F_ROLES		BIT(0)	/* client direction is known */
#define FTP_SYM_F_CLIENT_REPLY	BIT(1)	/* the client sends in REPLY dir */
#define FTP_SYM_F_TLS		BIT(3)	/* encrypted: stop parsing */

#define FTP_SYM_D_SEEN		BIT(0)	/* next_seq is valid */
#define FTP_SYM_D_SKIP		BIT(1)	/* ignore bytes up to the next LF */
#define FTP_SYM_D_BUF		BIT(2)	/* half->buf holds a line start */

/* A 227 counts as solicited only if it is the final reply to a PASV, a 229
 * to an EPSV, a 234 to an AUTH: replies come in the order of the commands,
 * so the last FTP_SYM_REQS commands are kept, two bits each, oldest in the
 * low bits.  Pipelining (NOOP+PASV in one segment) keeps working; a reply
 * to something else, an error answering the PASV, or a 227 nobody asked
 * for opens nothing.
 */
#define FTP_SYM_REQS		8
#define FTP_SYM_REQ_OTHER	0
#define FTP_SYM_REQ_PASV	1
#define FTP_SYM_REQ_EPSV	2
#define FTP_SYM_REQ_AUTH	3
#define FTP_SYM_REQ_NONE	4	/* nothing outstanding */

/* Several CPUs may see the two directions of one connection at once.
 * ct->lock cannot be used: seqadj takes it while we edit the packet.
 */
#define FTP_SYM_LOCK_BITS	6
static spinlock_t ftp_sym_locks[1 << FTP_SYM_LOCK_BITS];

static spinlock_t *ftp_sym_lock(const struct nf_conn *ct)
{
	return &ftp_sym_locks[hash_ptr(ct, FTP_SYM_LOCK_BITS)];
}

static struct nf_conntrack_expect_policy ftp_sym_exp_policy __read_mostly;
static struct nf_conntrack_helper ftp_sym_helpers[2] __read_mostly;

/* ------------------------------------------------------------------ */
/* Keep-alive of control connections                                   */
/* ------------------------------------------------------------------ */

/* The data connection is found again by its tuple at each check rather than
 * through a reference, so nothing pins conntracks and nothing needs a
 * per-packet callback: the check works the same when the data connection
 * is offloaded to a flowtable and no hook sees its packets.
 */
struct ftp_sym_ka_entry {
	struct list_head node;
	struct nf_conntrack_tuple tuple;
	struct nf_conntrack_zone zone;
	bool missed;		/* not found once already */
};

static unsigned long ftp_sym_ka_grace(void)
{
	unsigned int interval = READ_ONCE(keepalive_interval);

	return (2UL * interval + 2) * HZ;
}

/* Make @master live at least @grace more jiffies.  Never shortens: a
 * concurrent refresh from a control packet may win the race, and must.
 */
static bool ftp_sym_extend(struct nf_conn *master, unsigned long grace)
{
	u32 old, want;

	if (!nf_ct_is_confirmed(master) || nf_ct_is_dying(master) ||
	    test_bit(IPS_FIXED_TIMEOUT_BIT, &master->status))
		return false;

	want = nfct_time_stamp + grace;
	old = READ_ONCE(master->timeout);
	while ((s32)(old - want) < 0) {
		u32 seen = cmpxchg(&master->timeout, old, want);

		if (seen == old)
			return true;
		old = seen;
	}
	return false;
}

static bool ftp_sym_data_alive(const struct nf_conn *child)
{
	u8 state = READ_ONCE(child->proto.tcp.state);

	if (nf_ct_is_dying(child))
		return false;
	return state == TCP_CONNTRACK_SYN_SENT ||
	       state == TCP_CONNTRACK_SYN_RECV ||
	       state == TCP_CONNTRACK_SYN_SENT2 ||
	       state == TCP_CONNTRACK_ESTABLISHED;
}

static void ftp_sym_ka_work(struct work_struct *work)
{
	struct ftp_sym_net *fsn = container_of(to_delayed_work(work),
					       struct ftp_sym_net, ka_work);
	unsigned long grace = ftp_sym_ka_grace();
	unsigned int interval = READ_ONCE(keepalive_interval);
	struct ftp_sym_ka_entry *e, *tmp;
	unsigned int dropped = 0;
	LIST_HEAD(batch);

	spin_lock_bh(&fsn->ka_lock);
	list_splice_init(&fsn->ka_list, &batch);
	spin_unlock_bh(&fsn->ka_lock);

	list_for_each_entry_safe(e, tmp, &batch, node) {
		struct nf_conntrack_tuple_hash *h;
		struct nf_conn *child;
		bool keep = false;

		h = nf_conntrack_find_get(fsn->net, &e->zone, &e->tuple);
		if (!h) {
			/* Not confirmed yet, or gone: give it one round. */
			keep = !e->missed && interval;
			e->missed = true;
		} else {
			child = nf_ct_tuplehash_to_ctrack(h);
			if (interval && child->master &&
			    ftp_sym_data_alive(child)) {
				keep = true;
				e->missed = false;
				if (ftp_sym_extend(child->master, grace))
					ftp_sym_stat(fsn, FTP_SYM_STAT_KA_REFRESH);
			}
			nf_ct_put(child);
		}
		if (!keep) {
			list_del(&e->node);
			kfree(e);
			dropped++;
		}
	}

	spin_lock_bh(&fsn->ka_lock);
	list_splice(&batch, &fsn->ka_list);
	fsn->ka_count -= dropped;
	if (!list_empty(&fsn->ka_list) && !fsn->ka_dead)
		schedule_delayed_work(&fsn->ka_work,
				      max_t(unsigned long, interval, 1) * HZ);
	spin_unlock_bh(&fsn->ka_lock);
}

/* expectfn context: softirq, under rcu_read_lock, @ct not yet confirmed. */
void nf_ftp_sym_keepalive_track(struct nf_conn *ct,
				struct nf_conntrack_expect *exp)
{
	struct ftp_sym_net *fsn = ftp_sym_pernet(nf_ct_net(ct));
	unsigned int interval = READ_ONCE(keepalive_interval);
	struct ftp_sym_ka_entry *e;
	bool first;

	if (!interval || !ct->master)
		return;

	/* Cover the time until the first check. */
	ftp_sym_extend(ct->master, ftp_sym_ka_grace());

	e = kzalloc(sizeof(*e), GFP_ATOMIC);
	if (!e) {
		ftp_sym_stat(fsn, FTP_SYM_STAT_KA_UNTRACKED);
		return;
	}
	e->tuple = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	e->zone = *nf_ct_zone(ct);

	spin_lock_bh(&fsn->ka_lock);
	if (fsn->ka_dead || fsn->ka_count >= READ_ONCE(max_keepalive)) {
		spin_unlock_bh(&fsn->ka_lock);
		kfree(e);
		ftp_sym_stat(fsn, FTP_SYM_STAT_KA_UNTRACKED);
		return;
	}
	first = list_empty(&fsn->ka_list);
	list_add_tail(&e->node, &fsn->ka_list);
	fsn->ka_count++;
	if (first)
		schedule_delayed_work(&fsn->ka_work,
				      (unsigned long)interval * HZ);
	spin_unlock_bh(&fsn->ka_lock);
	ftp_sym_stat(fsn, FTP_SYM_STAT_KA_TRACKED);
}
EXPORT_SYMBOL_GPL(nf_ftp_sym_keepalive_track);

static void ftp_sym_expectfn(struct nf_conn *ct,
			     struct nf_conntrack_expect *exp)
{
	nf_ftp_sym_keepalive_track(ct, exp);
}

static struct nf_ct_helper_expectfn ftp_sym_expectfn_desc = {
	.name		= NF_FTP_SYM_NAME,
	.expectfn	= ftp_sym_expectfn,
};

/* ------------------------------------------------------------------ */
/* Reassembly state                                                    */
/* ------------------------------------------------------------------ */

static struct ftp_sym_stream *ftp_sym_stream_get(struct nf_ct_ftp_sym *info,
						 struct ftp_sym_net *fsn)
{
	struct ftp_sym_stream *st = info->stream;

	if (st)
		return st;
	if (atomic_inc_return(&fsn->streams) > READ_ONCE(max_streams))
		goto out_budget;
	st = kzalloc(sizeof(*st), GFP_ATOMIC);
	if (!st)
		goto out_budget;
	st->fsn = fsn;
	spin_lock_bh(&ftp_sym_streams_lock);
	list_add(&st->node, &ftp_sym_streams);
	spin_unlock_bh(&ftp_sym_streams_lock);
	info->stream = st;
	return st;

out_budget:
	atomic_dec(&fsn->streams);
	return NULL;
}

static void ftp_sym_stream_free(struct ftp_sym_stream *st)
{
	spin_lock_bh(&ftp_sym_streams_lock);
	list_del(&st->node);
	spin_unlock_bh(&ftp_sym_streams_lock);
	atomic_dec(&st->fsn->streams);
	kfree(st);
}

static struct nf_ct_ftp_sym *ftp_sym_info(const struct nf_conn *ct)
{
	struct nf_conn_help *help = nfct_help(ct);

	return help ? (struct nf_ct_ftp_sym *)help->data : NULL;
}

static void ftp_sym_destroy(struct nf_conn *ct)
{
	struct nf_ct_ftp_sym *info = ftp_sym_info(ct);

	if (info && info->stream) {
		ftp_sym_stream_free(info->stream);
		info->stream = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Segment processing                                                  */
/* ------------------------------------------------------------------ */

/* Edits of one segment, and a copy of every replacement text: records
 * move when a newer line is recorded, so an edit must never point into
 * one.  Per CPU, used under the connection's lock with BHs off; big enough
 * for every line of a full-sized segment, and a larger (GRO) segment is
 * cut (ftp_sym_cut) and comes again in the sender's retransmission.
 */
#define FTP_SYM_EDITS_MAX	64
#define FTP_SYM_ARENA_SIZE	8192
/* The most text one edit can carry: a whole recorded line. */
#define FTP_SYM_EDIT_TEXT_MAX	(FTP_SYM_LINE_MAX + FTP_SYM_TEXT_MAX)

/* A planned change of the payload, in original payload offsets. */
struct ftp_sym_edit {
	unsigned int off;
	unsigned int len;
	const char *rep;
	unsigned int rep_len;
};

struct ftp_sym_scratch {
	struct ftp_sym_edit edits[FTP_SYM_EDITS_MAX];
	char arena[FTP_SYM_ARENA_SIZE];
};

static struct ftp_sym_scratch __percpu *ftp_sym_scratch;

struct ftp_sym_ctx {
	struct sk_buff *skb;
	struct nf_conn *ct;
	struct nf_ct_ftp_sym *info;
	struct ftp_sym_net *fsn;
	const struct nf_ftp_sym_nat_ops *nat;	/* NULL: conntrack only */
	enum ip_conntrack_info ctinfo;
	enum ip_conntrack_dir dir;
	unsigned int protoff;
	const char *data;		/* payload */
	unsigned int len;
	u32 seq;			/* original sequence number of data[0] */

	/* NAT: how to turn the segment into what the peer must see */
	struct ftp_sym_scratch *sc;	/* edits[] and texts, this CPU's */
	unsigned int nedits;
	unsigned int arena_used;
	int grow;			/* sum of the edits' length changes */
	unsigned int room;		/* growth the route's MTU allows */
	unsigned int shift;		/* move the start back by this much */
	unsigned int cut;		/* drop payload from here on, if set */
	bool has_cut;
	s32 delta;			/* sum of new rewrite deltas */
	u32 adj_seq;			/* line start where delta begins */
	bool adjust;
	const char *why;		/* set: drop the segment, log this */
};

static bool ftp_sym_client_dir(const struct nf_ct_ftp_sym *info,
			       enum ip_conntrack_dir dir)
{
	bool reply = info->flags & FTP_SYM_F_CLIENT_REPLY;

	return reply == (dir == IP_CT_DIR_REPLY);
}

/* Learn or check the sender's role from what it sent. */
static bool ftp_sym_learn_role(struct ftp_sym_ctx *c, bool is_command)
{
	struct nf_ct_ftp_sym *info = c->info;
	bool sender_is_reply = c->dir == IP_CT_DIR_REPLY;

	if (!(info->flags & FTP_SYM_F_ROLES)) {
		info->flags |= FTP_SYM_F_ROLES;
		if (is_command == sender_is_reply)
			info->flags |= FTP_SYM_F_CLIENT_REPLY;
		return true;
	}
	if (ftp_sym_client_dir(info, c->dir) != is_command) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_ROLE_CONFLICT);
		return false;
	}
	return true;
}

static bool ftp_sym_plan(struct ftp_sym_ctx *c, unsigned int off,
			 unsigned int len, const char *rep,
			 unsigned int rep_len)
{
	struct ftp_sym_edit *e;

	if (c->nedits == FTP_SYM_EDITS_MAX ||
	    rep_len > FTP_SYM_ARENA_SIZE - c->arena_used)
		return false;
	e = &c->sc->edits[c->nedits++];
	e->off = off;
	e->len = len;
	e->rep = NULL;
	e->rep_len = rep_len;
	c->grow += (int)rep_len - (int)len;
	if (rep_len) {
		e->rep = c->sc->arena + c->arena_used;
		memcpy(c->sc->arena + c->arena_used, rep, rep_len);
		c->arena_used += rep_len;
	}
	return true;
}

static bool ftp_sym_plan_room(const struct ftp_sym_ctx *c)
{
	return c->nedits + 2 <= FTP_SYM_EDITS_MAX &&
	       c->arena_used + 2 * FTP_SYM_EDIT_TEXT_MAX <= FTP_SYM_ARENA_SIZE;
}

static struct ftp_sym_rec *ftp_sym_rec_new(struct ftp_sym_half *h)
{
	if (h->nrec == FTP_SYM_RECS) {
		struct ftp_sym_rec *old = &h->rec[FTP_SYM_RECS - 1];

		if (!h->evicted || after(old->start, h->evicted_start))
			h->evicted_start = old->start;
		h->evicted = true;
		h->nrec--;
	}
	memmove(&h->rec[1], &h->rec[0], h->nrec * sizeof(h->rec[0]));
	h->nrec++;
	return &h->rec[0];
}

/* Everything decided about one endpoint-bearing line. */
struct ftp_sym_verdict {
	bool expect;		/* an expectation was created */
	bool rewrite;		/* NAT translated the endpoint: see text */
	bool changed;		/* ...and the text differs from the line's */
	const char *retry;	/* NAT failed: withhold the line, say why */
	struct ftp_sym_endpoint pub;
	int tlen;
	char text[FTP_SYM_TEXT_MAX];
};

static void ftp_sym_log_reject(struct ftp_sym_ctx *c, const char *what,
			       const struct ftp_sym_line *line)
{
	const struct nf_conntrack_tuple *t = &c->ct->tuplehash[c->dir].tuple;

	if (nf_ct_l3num(c->ct) == NFPROTO_IPV4)
		net_info_ratelimited("%s: %s from %pI4: no expectation for port %u\n",
				     ftp_sym_kind_name(line->kind), what,
				     &t->src.u3.ip, line->ep.port);
	else
		net_info_ratelimited("%s: %s from %pI6c: no expectation for port %u\n",
				     ftp_sym_kind_name(line->kind), what,
				     &t->src.u3.ip6, line->ep.port);
}

/* Address and port policy, then the expectation, for an endpoint line
 * whose sender is allowed to send it.
 */
static void ftp_sym_expect(struct ftp_sym_ctx *c,
			   const struct ftp_sym_line *line,
			   struct ftp_sym_verdict *v)
{
	struct nf_conn *ct = c->ct;
	enum ip_conntrack_dir dir = c->dir;
	u16 l3num = nf_ct_l3num(ct);
	unsigned int alen = l3num == NFPROTO_IPV4 ? 4 : 16;
	const union nf_inet_addr *own = &ct->tuplehash[dir].tuple.src.u3;
	const union nf_inet_addr *seen = &ct->tuplehash[!dir].tuple.dst.u3;
	const union nf_inet_addr *daddr = seen;
	struct nf_conntrack_expect *exp;
	union nf_inet_addr third = {};
	bool third_party = false;
	__be16 port;
	int ret;

	if (line->ep.family) {
		u16 want = line->ep.family == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6;

		if (want != l3num) {
			ftp_sym_stat(c->fsn, FTP_SYM_STAT_REJECT_FAMILY);
			return;
		}
		/* The sender's own address, or the one its peer used to reach
		 * it (a server behind DNAT announcing its public address):
		 * anything else names a third party (FTP bounce).
		 */
		if (memcmp(own, line->ep.addr, alen) &&
		    memcmp(seen, line->ep.addr, alen)) {
			if (!READ_ONCE(loose)) {
				ftp_sym_stat(c->fsn,
					     FTP_SYM_STAT_REJECT_BOUNCE);
				ftp_sym_log_reject(c, "third-party address",
						   line);
				return;
			}
			memcpy(&third, line->ep.addr, alen);
			daddr = &third;
			third_party = true;
		}
	}

	if (line->ep.port < 1024 && !READ_ONCE(allow_low_ports)) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_REJECT_LOW_PORT);
		ftp_sym_log_reject(c, "privileged port", line);
		return;
	}

	exp = nf_ct_expect_alloc(ct);
	if (!exp) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_EXPECT_FAILED);
		if (c->nat && !third_party)
			v->retry = "cannot allocate expectation";
		return;
	}

	/* The data connection comes from the peer, so use the reverse
	 * direction's view of the addresses; any source port.
	 */
	port = htons(line->ep.port);
	nf_ct_expect_init(exp, NF_CT_EXPECT_CLASS_DEFAULT, l3num,
			  &ct->tuplehash[!dir].tuple.src.u3, daddr,
			  IPPROTO_TCP, NULL, &port);
	exp->expectfn = ftp_sym_expectfn;

	/* A third party (loose) is not ours to translate: the text stays. */
	if (c->nat && !third_party) {
		ret = c->nat->expect(ct, exp, dir, &v->pub);
		if (ret) {
			ftp_sym_stat(c->fsn, FTP_SYM_STAT_EXPECT_FAILED);
			v->retry = "no expectation: ports in use or table full";
		} else {
			v->expect = true;
			v->rewrite = true;
		}
	} else {
		ret = nf_ct_expect_related(exp, 0);
		if (ret) {
			ftp_sym_stat(c->fsn, FTP_SYM_STAT_EXPECT_FAILED);
			pr_debug("cannot add expectation: %d\n", ret);
		} else {
			v->expect = true;
		}
	}
	if (v->expect)
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_EXPECT_CREATED);
	nf_ct_expect_put(exp);
}

static void ftp_sym_req_push(struct nf_ct_ftp_sym *info, unsigned int req)
{
	/* Overflowing: forget the oldest, a reply for it may be refused. */
	if (info->req_count == FTP_SYM_REQS) {
		info->req_fifo >>= 2;
		info->req_count--;
	}
	info->req_fifo |= req << (2 * info->req_count);
	info->req_count++;
}

static unsigned int ftp_sym_req_head(const struct nf_ct_ftp_sym *info)
{
	return info->req_count ? info->req_fifo & 3 : FTP_SYM_REQ_NONE;
}

static void ftp_sym_req_pop(struct nf_ct_ftp_sym *info)
{
	if (info->req_count) {
		info->req_fifo >>= 2;
		info->req_count--;
	}
}

static unsigned int ftp_sym_req_of(unsigned int kind)
{
	switch (kind) {
	case FTP_SYM_K_PASV:
		return FTP_SYM_REQ_PASV;
	case FTP_SYM_K_EPSV:
		return FTP_SYM_REQ_EPSV;
	case FTP_SYM_K_AUTH:
		return FTP_SYM_REQ_AUTH;
	default:
		return FTP_SYM_REQ_OTHER;
	}
}

/* Counters, parse errors and policy for a PORT, EPRT, 227 or 229 line from
 * the right side; @solicited tells whether a reply answers its request.
 */
static void ftp_sym_endpoint_line(struct ftp_sym_ctx *c,
				  const struct ftp_sym_line *line,
				  bool solicited, struct ftp_sym_verdict *v)
{
	static const enum ftp_sym_stat seen_stat[FTP_SYM_K_MAX] = {
		[FTP_SYM_K_PORT]	= FTP_SYM_STAT_PORT,
		[FTP_SYM_K_EPRT]	= FTP_SYM_STAT_EPRT,
		[FTP_SYM_K_227]		= FTP_SYM_STAT_227,
		[FTP_SYM_K_229]		= FTP_SYM_STAT_229,
	};

	ftp_sym_stat(c->fsn, seen_stat[line->kind]);
	if (line->error != FTP_SYM_E_OK) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_PARSE_ERROR);
		atomic_long_inc(&c->fsn->parse_errors[line->error]);
		pr_debug("%s: %s\n", ftp_sym_kind_name(line->kind),
			 ftp_sym_error_name(line->error));
		return;
	}
	if (!solicited) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_REJECT_UNSOLICITED);
		ftp_sym_log_reject(c, "unsolicited reply", line);
		return;
	}
	ftp_sym_expect(c, line, v);
}

/* Roles, requests and their replies, TLS: the state machine of one whole
 * line.  Returns the verdict for an endpoint line, whose text NAT may
 * rewrite.  Commands come from the client, replies from the server; a
 * line from the wrong side is counted and otherwise ignored.
 */
static void ftp_sym_line(struct ftp_sym_ctx *c, const struct ftp_sym_line *line,
			 struct ftp_sym_verdict *v)
{
	struct nf_ct_ftp_sym *info = c->info;
	u16 *ml = &info->ml_code[c->dir];
	unsigned int req;
	bool final;

	memset(v, 0, sizeof(*v));
	ftp_sym_stat(c->fsn, FTP_SYM_STAT_LINES);

	/* Lines inside a multi-line reply are free text. */
	if (*ml) {
		if (!ftp_sym_kind_is_reply(line->kind) || line->multiline ||
		    line->code != *ml)
			return;
		*ml = 0;
	} else if (ftp_sym_kind_is_reply(line->kind) && line->multiline) {
		if (ftp_sym_learn_role(c, false))
			*ml = line->code;
		return;
	}

	if (ftp_sym_kind_is_command(line->kind)) {
		if (!ftp_sym_learn_role(c, true)) {
			if (ftp_sym_kind_has_endpoint(line->kind))
				ftp_sym_stat(c->fsn,
					     FTP_SYM_STAT_REJECT_DIRECTION);
			return;
		}
		if (ftp_sym_kind_has_endpoint(line->kind))
			ftp_sym_endpoint_line(c, line, true, v);
		/* A withheld line comes again: count its request then. */
		if (!v->retry)
			ftp_sym_req_push(info, ftp_sym_req_of(line->kind));
		return;
	}

	if (!ftp_sym_kind_is_reply(line->kind))
		return;
	if (!ftp_sym_learn_role(c, false)) {
		if (ftp_sym_kind_has_endpoint(line->kind))
			ftp_sym_stat(c->fsn, FTP_SYM_STAT_REJECT_DIRECTION);
		return;
	}

	/* 1xx replies are preliminary: the request stays outstanding. */
	final = line->code >= 200;
	req = final ? ftp_sym_req_head(info) : FTP_SYM_REQ_NONE;
	switch (line->kind) {
	case FTP_SYM_K_227:
		ftp_sym_endpoint_line(c, line, req == FTP_SYM_REQ_PASV, v);
		break;
	case FTP_SYM_K_229:
		ftp_sym_endpoint_line(c, line, req == FTP_SYM_REQ_EPSV, v);
		break;
	case FTP_SYM_K_234:
		if (req == FTP_SYM_REQ_AUTH) {
			info->flags |= FTP_SYM_F_TLS;
			ftp_sym_stat(c->fsn, FTP_SYM_STAT_TLS);
		}
		break;
	default:
		break;
	}
	if (final && !v->retry)
		ftp_sym_req_pop(info);
}

/* A line that is not parsed whole (too long, or irrelevant before its
 * end) still tells the state machine that a command or a reply went by.
 */
static void ftp_sym_unparsed_line(struct ftp_sym_ctx *c,
				  struct ftp_sym_line *pl)
{
	struct ftp_sym_verdict v;

	if (pl->kind == FTP_SYM_K_NONE)
		return;
	if (ftp_sym_kind_has_endpoint(pl->kind) && pl->error == FTP_SYM_E_OK)
		pl->error = FTP_SYM_E_LONGLINE;
	ftp_sym_line(c, pl, &v);
}

/* May this incomplete line still need rewriting?  Then NAT holds it back
 * instead of letting its first bytes through unmodified.
 */
static bool ftp_sym_hold_worthy(const struct ftp_sym_ctx *c,
				const struct ftp_sym_line *line,
				const char *p)
{
	const struct nf_ct_ftp_sym *info = c->info;
	bool known = info->flags & FTP_SYM_F_ROLES;
	bool client = known && ftp_sym_client_dir(info, c->dir);
	bool server = known && !client;
	bool digits;

	if (info->ml_code[c->dir])
		return false;

	switch (line->kind) {
	case FTP_SYM_K_PORT:
	case FTP_SYM_K_EPRT:
		return !server;
	case FTP_SYM_K_227:
		return !client &&
		       ftp_sym_req_head(info) == FTP_SYM_REQ_PASV;
	case FTP_SYM_K_229:
		return !client &&
		       ftp_sym_req_head(info) == FTP_SYM_REQ_EPSV;
	case FTP_SYM_K_NONE:
		/* Too short to tell: "P", "EP", "22"... */
		digits = *p >= '0' && *p <= '9';
		if (digits)
			return !client &&
			       (ftp_sym_req_head(info) == FTP_SYM_REQ_PASV ||
				ftp_sym_req_head(info) == FTP_SYM_REQ_EPSV);
		return !server;
	default:
		return false;
	}
}

/* The text NAT puts in place of the line's endpoint, and whether that
 * changes anything (a masqueraded server's own 227 stays as it is).
 */
static bool ftp_sym_format_verdict(const struct ftp_sym_line *pl,
				   const char *line, struct ftp_sym_verdict *v)
{
	v->tlen = ftp_sym_format(v->text, sizeof(v->text), pl->kind,
				 pl->delim, &v->pub);
	if (v->tlen < 0)
		return false;
	v->changed = v->tlen != pl->match_len ||
		     memcmp(v->text, line + pl->match_off, v->tlen);
	return true;
}

/* Record what the peer gets for the line [start, start + len). */
static struct ftp_sym_rec *ftp_sym_record(struct ftp_sym_half *h, u32 start,
					  const char *line, unsigned int len,
					  const struct ftp_sym_line *pl,
					  const struct ftp_sym_verdict *v)
{
	unsigned int n = pl->match_off;
	struct ftp_sym_rec *r;

	if (len > FTP_SYM_LINE_MAX)
		return NULL;

	r = ftp_sym_rec_new(h);
	r->start = start;
	r->end = start + len;
	if (!v->changed) {
		memcpy(r->text, line, len);
		r->len = len;
		r->delta = 0;
		return r;
	}
	memcpy(r->text, line, n);
	memcpy(r->text + n, v->text, v->tlen);
	memcpy(r->text + n + v->tlen, line + n + pl->match_len,
	       len - n - pl->match_len);
	r->len = len - pl->match_len + v->tlen;
	r->delta = v->tlen - (int)pl->match_len;
	return r;
}

static void ftp_sym_note_delta(struct ftp_sym_ctx *c, struct ftp_sym_half *h,
			       u32 line_start, s16 delta)
{
	if (!delta)
		return;
	if (!c->adjust) {
		c->adjust = true;
		c->adj_seq = line_start;
	}
	c->delta += delta;
	h->cum += delta;
}

/* Under NAT, stop at the line starting at data offset @off: the rest of
 * the segment is removed and left to the sender's retransmission, which we
 * see as new bytes again.  Used when a segment needs more edits or memory
 * than we have; sequence numbers are not affected.
 */
static void ftp_sym_cut(struct ftp_sym_ctx *c, unsigned int off)
{
	c->has_cut = true;
	c->cut = off;
	c->info->next_seq[c->dir] = c->seq + off;
}

/* NAT could not set up the data connection for a line (no free port, no
 * memory): nothing of the line may leave untranslated, so it is withheld
 * and the sender's retransmission gets another try.
 */
static void ftp_sym_withhold(struct ftp_sym_ctx *c, unsigned int off,
			     const char *why)
{
	ftp_sym_stat(c->fsn, FTP_SYM_STAT_NAT_FAILED);
	nf_ct_helper_log(c->skb, c->ct, "withholding a line: %s", why);
	ftp_sym_cut(c, off);
}

/* A complete line that starts in this segment at data offset @off. */
static void ftp_sym_inline_line(struct ftp_sym_ctx *c, unsigned int off,
				const struct ftp_sym_line *pl)
{
	const char *line = c->data + off;
	struct ftp_sym_verdict v;
	struct ftp_sym_stream *st = NULL;
	struct ftp_sym_rec *r;
	u32 start = c->seq + off;

	/* A rewrite needs a record for retransmissions: get it before any
	 * state changes, so that the line can simply come again.
	 */
	if (c->nat && ftp_sym_kind_has_endpoint(pl->kind)) {
		st = ftp_sym_stream_get(c->info, c->fsn);
		if (!st) {
			ftp_sym_withhold(c, off, "no memory to record a rewrite");
			return;
		}
	}

	ftp_sym_line(c, pl, &v);
	if (v.retry) {
		ftp_sym_withhold(c, off, v.retry);
		return;
	}
	if (!v.rewrite || !st)
		return;
	if (!ftp_sym_format_verdict(pl, line, &v)) {
		c->why = "cannot format rewritten endpoint";
		return;
	}
	if (!v.changed)
		return;

	r = ftp_sym_record(&st->half[c->dir], start, line, pl->consumed, pl,
			   &v);
	if (!r) {
		c->why = "line too long to record";
		return;
	}
	if (!ftp_sym_plan(c, off + pl->match_off, pl->match_len,
			  r->text + pl->match_off, v.tlen)) {
		c->why = "too many rewrites in one segment";
		return;
	}
	ftp_sym_note_delta(c, &st->half[c->dir], start, r->delta);
	ftp_sym_stat(c->fsn, FTP_SYM_STAT_NAT_REWRITE);
}

/* Start buffering the incomplete line at data offset @off. */
static void ftp_sym_start_buffer(struct ftp_sym_ctx *c, unsigned int off,
				 const struct ftp_sym_line *pl)
{
	struct nf_ct_ftp_sym *info = c->info;
	struct ftp_sym_line copy = *pl;
	unsigned int n = c->len - off;
	struct ftp_sym_stream *st;
	struct ftp_sym_half *h;
	bool hold;

	hold = c->nat && ftp_sym_hold_worthy(c, pl, c->data + off);
	st = ftp_sym_stream_get(info, c->fsn);
	if (!st) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_PARTIAL_UNTRACKED);
		if (hold) {
			ftp_sym_cut(c, off);
			return;
		}
		/* Not parsed, but a request or reply all the same. */
		ftp_sym_unparsed_line(c, &copy);
		info->dflags[c->dir] |= FTP_SYM_D_SKIP;
		return;
	}
	h = &st->half[c->dir];
	memcpy(h->buf, c->data + off, n);
	h->len = n;
	h->line_seq = c->seq + off;
	h->hold = hold;
	info->dflags[c->dir] |= FTP_SYM_D_BUF;
	if (hold) {
		/* Cut it out; it goes out, rewritten, with the rest. */
		if (!ftp_sym_plan(c, off, n, NULL, 0))
			c->why = "too many edits in one segment";
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_NAT_HOLD);
	}
}

/* The buffered line continues at data offset @off (always the first new
 * byte).  @phys is where the line's bytes already present in this segment
 * begin (a retransmission may carry some of them again).
 * Returns the offset after the bytes consumed.
 */
static unsigned int ftp_sym_continue_buffer(struct ftp_sym_ctx *c,
					    unsigned int off,
					    unsigned int phys)
{
	struct nf_ct_ftp_sym *info = c->info;
	struct ftp_sym_stream *st = info->stream;
	struct ftp_sym_half *h = &st->half[c->dir];
	unsigned int avail = c->len - off, take, i;
	unsigned int held = h->len;
	struct ftp_sym_verdict v;
	struct ftp_sym_line pl;
	struct ftp_sym_rec *r;
	int status;

	for (i = 0; i < avail && c->data[off + i] != '\n'; i++)
		;
	take = i < avail ? i + 1 : avail;

	if (h->len + take > FTP_SYM_LINE_MAX) {
		/* Too long to matter: let it pass as it was. */
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_OVERLONG);
		ftp_sym_parse_line(h->buf, h->len, &pl);
		ftp_sym_unparsed_line(c, &pl);
		info->dflags[c->dir] &= ~FTP_SYM_D_BUF;
		if (i == avail)
			info->dflags[c->dir] |= FTP_SYM_D_SKIP;
		if (h->hold)
			goto release;
		return off + take;
	}

	memcpy(h->buf + h->len, c->data + off, take);
	h->len += take;
	status = ftp_sym_parse_line(h->buf, h->len, &pl);
	if (status == FTP_SYM_PARTIAL) {
		if (h->hold && !ftp_sym_plan(c, phys, c->len - phys, NULL, 0))
			c->why = "too many edits in one segment";
		return off + take;
	}

	info->dflags[c->dir] &= ~FTP_SYM_D_BUF;
	if (status == FTP_SYM_SKIP) {
		ftp_sym_unparsed_line(c, &pl);
		info->dflags[c->dir] |= FTP_SYM_D_SKIP;
		if (h->hold)
			goto release;
		return off + take;
	}

	ftp_sym_stat(c->fsn, FTP_SYM_STAT_PARTIAL);
	if (!h->hold) {
		const struct nf_ftp_sym_nat_ops *nat = c->nat;

		/* Its start already left unmodified: no rewrite possible. */
		c->nat = NULL;
		ftp_sym_line(c, &pl, &v);
		c->nat = nat;
		if (nat && ftp_sym_kind_has_endpoint(pl.kind))
			ftp_sym_stat(c->fsn, FTP_SYM_STAT_NAT_MISSED);
		return off + take;
	}

	ftp_sym_line(c, &pl, &v);
	if (v.retry) {
		/* Keep holding what was held; the rest comes again. */
		h->len = held;
		info->dflags[c->dir] |= FTP_SYM_D_BUF;
		if (off > phys && !ftp_sym_plan(c, phys, off - phys, NULL, 0))
			c->why = "too many edits in one segment";
		ftp_sym_withhold(c, off, v.retry);
		return off;
	}

	if (v.rewrite && !ftp_sym_format_verdict(&pl, h->buf, &v)) {
		c->why = "cannot format rewritten endpoint";
		return off + take;
	}
	r = ftp_sym_record(h, h->line_seq, h->buf, h->len, &pl, &v);
	if (!r) {
		c->why = "cannot record a held line";
		return off + take;
	}
	if (v.changed)
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_NAT_REWRITE);
	ftp_sym_note_delta(c, h, r->start, r->delta);
	/* Replace the line's bytes present here by the whole line, moving the
	 * segment start back over the bytes that were held.
	 */
	c->shift = c->seq + phys - r->start;
	if (!ftp_sym_plan(c, phys, off + take - phys, r->text, r->len))
		c->why = "too many edits in one segment";
	h->hold = false;
	return off + take;

release:
	/* Give the held bytes back unmodified, then let the rest flow. */
	memcpy(st->scratch, h->buf, held);
	c->shift = c->seq + phys - h->line_seq;
	if (!ftp_sym_plan(c, phys, off - phys, st->scratch, held))
		c->why = "too many edits in one segment";
	h->hold = false;
	return off + take;
}

/* Process the new bytes data[off..len) of this direction. */
static void ftp_sym_new_bytes(struct ftp_sym_ctx *c, unsigned int off,
			      unsigned int phys)
{
	struct nf_ct_ftp_sym *info = c->info;
	u8 *df = &info->dflags[c->dir];
	struct ftp_sym_line pl;
	int status;

	if (*df & FTP_SYM_D_BUF)
		off = ftp_sym_continue_buffer(c, off, phys);

	while (off < c->len && !c->why && !c->has_cut) {
		if (info->flags & FTP_SYM_F_TLS)
			return;
		if (*df & FTP_SYM_D_SKIP) {
			while (off < c->len && c->data[off] != '\n')
				off++;
			if (off == c->len)
				return;
			off++;
			*df &= ~FTP_SYM_D_SKIP;
			continue;
		}
		/* One edit per line and one for a held tail must fit. */
		if (c->nat && !ftp_sym_plan_room(c)) {
			ftp_sym_cut(c, off);
			return;
		}
		status = ftp_sym_parse_line(c->data + off, c->len - off, &pl);
		if (status == FTP_SYM_COMPLETE && c->nat &&
		    ftp_sym_kind_has_endpoint(pl.kind) &&
		    c->grow + FTP_SYM_TEXT_MAX > (int)c->room) {
			/* Its rewrite may not fit the MTU: the line goes
			 * first in the retransmission, alone if need be.
			 */
			if (off) {
				ftp_sym_cut(c, off);
				return;
			}
			ftp_sym_inline_line(c, off, &pl);
			off += pl.consumed;
			if (!c->why && !c->has_cut && off < c->len)
				ftp_sym_cut(c, off);
			return;
		}
		if (status == FTP_SYM_COMPLETE) {
			ftp_sym_inline_line(c, off, &pl);
			off += pl.consumed;
			continue;
		}
		if (status == FTP_SYM_PARTIAL) {
			ftp_sym_start_buffer(c, off, &pl);
			return;
		}
		/* Cannot matter, or too long: skip to the next line. */
		if (pl.error == FTP_SYM_E_LONGLINE)
			ftp_sym_stat(c->fsn, FTP_SYM_STAT_OVERLONG);
		ftp_sym_unparsed_line(c, &pl);
		*df |= FTP_SYM_D_SKIP;
		return;
	}
}

/* A NATed connection whose NAT helper is gone (nf_nat_ftp_sym unloaded
 * on its own): does this segment carry an endpoint line, or the rest of a
 * line held back for rewriting?  Such a segment would tell the peer an
 * untranslated address, so it is dropped, and its retransmission with it,
 * until the NAT helper is back.  Pure: nothing is recorded.
 */
static bool ftp_sym_needs_nat(const struct nf_ct_ftp_sym *info,
			      enum ip_conntrack_dir dir, const char *data,
			      unsigned int len)
{
	const struct ftp_sym_stream *st = info->stream;
	struct ftp_sym_line pl;
	unsigned int off = 0;
	int status;

	if ((info->dflags[dir] & FTP_SYM_D_BUF) && st && st->half[dir].hold)
		return true;
	while (off < len) {
		status = ftp_sym_parse_line(data + off, len - off, &pl);
		if (status != FTP_SYM_SKIP &&
		    ftp_sym_kind_has_endpoint(pl.kind))
			return true;
		if (status != FTP_SYM_COMPLETE)
			return false;
		off += pl.consumed;
	}
	return false;
}

/* How much the segment may grow and still leave whole: a rewritten
 * segment above the route's MTU would be dropped (DF) after our state
 * moved on.  A GSO packet is cut to size later; a local one has no limit.
 */
static unsigned int ftp_sym_room(const struct sk_buff *skb)
{
	const struct dst_entry *dst = skb_dst(skb);
	unsigned int mtu;

	if (!dst || skb_is_gso(skb))
		return INT_MAX;
	mtu = dst_mtu(dst);
	return mtu > skb->len ? mtu - skb->len : 0;
}

/* Old bytes [c->seq, end) of a retransmission: under NAT, give them the
 * same treatment as the first time, from the records.
 */
static void ftp_sym_old_bytes(struct ftp_sym_ctx *c, u32 end, bool more)
{
	struct ftp_sym_stream *st = c->info->stream;
	struct ftp_sym_half *h;
	u32 s = c->seq;
	int i;

	if (!c->nat || !st)
		return;
	h = &st->half[c->dir];

	/* Oldest first, so the edits stay in payload order. */
	for (i = h->nrec - 1; i >= 0; i--) {
		struct ftp_sym_rec *r = &h->rec[i];

		if (!before(s, r->end) || !after(end, r->start))
			continue;
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_NAT_REEMIT);
		if (!after(r->start, s) && after(s, r->start) &&
		    !before(end, r->end)) {
			/* Starts inside the line: resend it whole. */
			c->shift = s - r->start;
			ftp_sym_plan(c, 0, r->end - s, r->text, r->len);
		} else if (!before(r->start, s) && !before(end, r->end)) {
			ftp_sym_plan(c, r->start - s, r->end - r->start,
				     r->text, r->len);
		} else {
			/* Ends inside the line: the part that carries its
			 * end will bring it whole.
			 */
			u32 from = after(r->start, s) ? r->start : s;

			ftp_sym_plan(c, from - s, end - from, NULL, 0);
		}
	}

	/* Bytes of a line still held back stay out, unless new bytes follow:
	 * then ftp_sym_continue_buffer() emits the whole line in place.
	 */
	if ((c->info->dflags[c->dir] & FTP_SYM_D_BUF) && h->hold && !more &&
	    after(end, h->line_seq)) {
		u32 from = after(h->line_seq, s) ? h->line_seq : s;

		ftp_sym_plan(c, from - s, end - from, NULL, 0);
	}
}

/* Under NAT, check that seqadj will map this segment the way our records
 * say; with one correction point per direction an old retransmission may
 * not be representable, and must not go out with a wrong sequence number.
 */
static bool ftp_sym_seq_consistent(struct ftp_sym_ctx *c)
{
	struct ftp_sym_stream *st = c->info->stream;
	u32 out = c->seq - c->shift;
	struct ftp_sym_half *h;
	s32 want, have;
	int i;

	if (!st || c->adjust)
		return true;
	h = &st->half[c->dir];
	if (h->evicted && !after(out, h->evicted_start))
		return false;
	want = h->cum;
	for (i = 0; i < h->nrec; i++)
		if (!before(h->rec[i].start, out))
			want -= h->rec[i].delta;
	have = nf_ct_seq_offset(c->ct, c->dir, out);
	return want == have;
}

/* Turn the planned edits into the packet the peer gets. */
static bool ftp_sym_apply(struct ftp_sym_ctx *c)
{
	struct sk_buff *skb = c->skb;
	int grow = 0, i;
	struct tcphdr *th;
	__be32 oldseq, newseq;

	for (i = 0; i < c->nedits; i++)
		grow += (int)c->sc->edits[i].rep_len - (int)c->sc->edits[i].len;
	if (c->has_cut)
		grow -= c->len - c->cut;
	if (skb_ensure_writable(skb, skb->len))
		return false;
	if (grow > 0 && skb->len + grow > 65535)
		return false;
	if (grow > 0 && grow > skb_tailroom(skb) &&
	    pskb_expand_head(skb, 0, grow - skb_tailroom(skb), GFP_ATOMIC))
		return false;

	if (c->has_cut && !c->nat->mangle(skb, c->ct, c->ctinfo, c->protoff,
					  c->cut, c->len - c->cut, NULL, 0))
		return false;
	for (i = c->nedits - 1; i >= 0; i--) {
		struct ftp_sym_edit *e = &c->sc->edits[i];

		if (c->has_cut && e->off >= c->cut)
			continue;
		if (!c->nat->mangle(skb, c->ct, c->ctinfo, c->protoff, e->off,
				    e->len, e->rep, e->rep_len))
			return false;
	}

	if (c->shift) {
		th = (struct tcphdr *)(skb->data + c->protoff);
		oldseq = th->seq;
		newseq = htonl(c->seq - c->shift);
		th->seq = newseq;
		inet_proto_csum_replace4(&th->check, skb, oldseq, newseq,
					 false);
	}
	return true;
}

static int ftp_sym_segment(struct ftp_sym_ctx *c)
{
	struct nf_ct_ftp_sym *info = c->info;
	u8 *df = &info->dflags[c->dir];
	u32 next = info->next_seq[c->dir];
	u32 end = c->seq + c->len;
	unsigned int off = 0;

	if (!(*df & FTP_SYM_D_SEEN)) {
		/* Implicit FTPS: a TLS ClientHello instead of FTP. */
		if (!(info->dflags[!c->dir] & FTP_SYM_D_SEEN) &&
		    c->len >= 2 && c->data[0] == 0x16 && c->data[1] == 0x03) {
			info->flags |= FTP_SYM_F_TLS;
			ftp_sym_stat(c->fsn, FTP_SYM_STAT_TLS);
			return NF_ACCEPT;
		}
		/* First payload of this direction, or a mid-stream pickup:
		 * assume it starts a line.
		 */
		*df |= FTP_SYM_D_SEEN;
		next = c->seq;
	}

	if (after(c->seq, next)) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_OUT_OF_ORDER);
		/* Under NAT every line must be seen in order to be rewritten:
		 * let the sender retransmit once the gap is filled.
		 */
		if (c->nat) {
			c->why = "out-of-order segment";
			return NF_DROP;
		}
		/* Bytes went by unseen: resynchronise at the next LF. */
		*df &= ~FTP_SYM_D_BUF;
		*df |= FTP_SYM_D_SKIP;
		next = c->seq;
	}

	if (before(c->seq, next)) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_RETRANSMIT);
		ftp_sym_old_bytes(c, before(end, next) ? end : next,
				  after(end, next));
		if (!after(end, next))
			goto done;
		off = next - c->seq;
	}

	info->next_seq[c->dir] = end;
	{
		unsigned int phys = off;
		struct ftp_sym_stream *st = info->stream;

		if ((*df & FTP_SYM_D_BUF) && st) {
			u32 ls = st->half[c->dir].line_seq;

			phys = after(ls, c->seq) ? ls - c->seq : 0;
		}
		ftp_sym_new_bytes(c, off, phys);
	}

done:
	/* State has moved on as if this segment went out; if it is dropped
	 * below, its retransmission is rebuilt from the records and must
	 * meet the same sequence numbers.
	 */
	if (c->adjust && c->delta)
		nf_ct_seqadj_set(c->ct, c->ctinfo, htonl(c->adj_seq),
				 c->delta);
	if (c->why)
		return NF_DROP;
	if (c->nat && (c->nedits || c->shift || c->has_cut)) {
		if (!ftp_sym_seq_consistent(c)) {
			c->why = "retransmission not representable by seqadj";
			return NF_DROP;
		}
		if (!ftp_sym_apply(c)) {
			c->why = "cannot mangle packet";
			return NF_DROP;
		}
	} else if (c->nat && c->info->stream && !ftp_sym_seq_consistent(c)) {
		c->why = "retransmission not representable by seqadj";
		return NF_DROP;
	}
	return NF_ACCEPT;
}

static int ftp_sym_help(struct sk_buff *skb, unsigned int protoff,
			struct nf_conn *ct, enum ip_conntrack_info ctinfo)
{
	struct nf_ct_ftp_sym *info = ftp_sym_info(ct);
	const struct nf_ftp_sym_nat_ops *nat;
	unsigned int dataoff;
	struct tcphdr _th;
	const struct tcphdr *th;
	struct ftp_sym_ctx c;
	u32 seq;
	int ret;

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
	if (dataoff >= skb->len)
		return NF_ACCEPT;
	/* th may point into the head that skb_linearize() frees. */
	seq = ntohl(th->seq);

	if (unlikely(skb_linearize(skb))) {
		nf_ct_helper_log(skb, ct, "cannot linearize packet");
		return NF_DROP;
	}

	memset(&c, 0, sizeof(c));
	c.skb = skb;
	c.ct = ct;
	c.info = info;
	c.fsn = ftp_sym_pernet(nf_ct_net(ct));
	c.ctinfo = ctinfo;
	c.dir = CTINFO2DIR(ctinfo);
	c.protoff = protoff;
	c.data = skb->data + dataoff;
	c.len = skb->len - dataoff;
	c.seq = seq;

	nat = rcu_dereference(nf_ftp_sym_nat_ops);
	if (nat && (ct->status & IPS_NAT_MASK)) {
		c.nat = nat;
		c.room = ftp_sym_room(skb);
	}

	ftp_sym_stat(c.fsn, FTP_SYM_STAT_PACKETS);
	spin_lock_bh(ftp_sym_lock(ct));
	if (!nat && (ct->status & IPS_NAT_MASK) &&
	    ftp_sym_needs_nat(info, c.dir, c.data, c.len)) {
		spin_unlock_bh(ftp_sym_lock(ct));
		ftp_sym_stat(c.fsn, FTP_SYM_STAT_NAT_FAILED);
		ftp_sym_stat(c.fsn, FTP_SYM_STAT_DROP);
		nf_ct_helper_log(skb, ct, "nf_nat_ftp_sym not loaded: line withheld");
		return NF_DROP;
	}
	c.sc = this_cpu_ptr(ftp_sym_scratch);
	ret = ftp_sym_segment(&c);
	spin_unlock_bh(ftp_sym_lock(ct));

	if (ret != NF_ACCEPT) {
		ftp_sym_stat(c.fsn, FTP_SYM_STAT_DROP);
		nf_ct_helper_log(skb, ct, "%s", c.why ? c.why : "error");
	}
	return ret;
}

/* ctnetlink (conntrackd failover) injected this conntrack: take the next
 * payload of each direction as a line start, as after a loose pickup.
 */
static int ftp_sym_from_nlattr(struct nlattr *attr, struct nf_conn *ct)
{
	struct nf_ct_ftp_sym *info = ftp_sym_info(ct);

	if (info) {
		info->dflags[IP_CT_DIR_ORIGINAL] = 0;
		info->dflags[IP_CT_DIR_REPLY] = 0;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Counters                                                            */
/* ------------------------------------------------------------------ */

static int ftp_sym_stats_show(struct seq_file *s, void *v)
{
	struct ftp_sym_net *fsn = ftp_sym_pernet(seq_file_single_net(s));
	int i;

	for (i = 0; i < FTP_SYM_STAT_MAX; i++)
		seq_printf(s, "%s %lu\n", ftp_sym_stat_names[i],
			   atomic_long_read(&fsn->stats[i]));
	for (i = 1; i < FTP_SYM_E_MAX; i++)
		seq_printf(s, "parse_error_%s %lu\n", ftp_sym_error_name(i),
			   atomic_long_read(&fsn->parse_errors[i]));
	seq_printf(s, "streams_active %d\n", atomic_read(&fsn->streams));
	spin_lock_bh(&fsn->ka_lock);
	seq_printf(s, "keepalive_active %u\n", fsn->ka_count);
	spin_unlock_bh(&fsn->ka_lock);
	return 0;
}

static int __net_init ftp_sym_net_init(struct net *net)
{
	struct ftp_sym_net *fsn = ftp_sym_pernet(net);

	fsn->net = net;
	spin_lock_init(&fsn->ka_lock);
	INIT_LIST_HEAD(&fsn->ka_list);
	INIT_DELAYED_WORK(&fsn->ka_work, ftp_sym_ka_work);
	if (!proc_create_net_single("nf_ftp_sym", 0444, net->proc_net,
				    ftp_sym_stats_show, NULL))
		return -ENOMEM;
	return 0;
}

static void ftp_sym_ka_flush(struct ftp_sym_net *fsn)
{
	struct ftp_sym_ka_entry *e, *tmp;

	spin_lock_bh(&fsn->ka_lock);
	fsn->ka_dead = true;
	spin_unlock_bh(&fsn->ka_lock);
	cancel_delayed_work_sync(&fsn->ka_work);
	list_for_each_entry_safe(e, tmp, &fsn->ka_list, node) {
		list_del(&e->node);
		kfree(e);
	}
	fsn->ka_count = 0;
}

static void __net_exit ftp_sym_net_exit(struct net *net)
{
	struct ftp_sym_net *fsn = ftp_sym_pernet(net);

	remove_proc_entry("nf_ftp_sym", net->proc_net);
	ftp_sym_ka_flush(fsn);
}

static struct pernet_operations ftp_sym_net_ops = {
	.init	= ftp_sym_net_init,
	.exit	= ftp_sym_net_exit,
	.id	= &ftp_sym_net_id,
	.size	= sizeof(struct ftp_sym_net),
};

/* ------------------------------------------------------------------ */
/* Module                                                              */
/* ------------------------------------------------------------------ */

static void ftp_sym_free_streams(void)
{
	struct ftp_sym_stream *st, *tmp;

	/* The helpers are gone: whatever is left belongs to conntracks
	 * whose helper pointer was cleared, which nobody reads again.
	 */
	list_for_each_entry_safe(st, tmp, &ftp_sym_streams, node) {
		list_del(&st->node);
		atomic_dec(&st->fsn->streams);
		kfree(st);
	}
}

static int __init nf_conntrack_ftp_sym_init(void)
{
	int ret, i;

	BUILD_BUG_ON(sizeof(struct nf_ct_ftp_sym) >
		     sizeof_field(struct nf_conn_help, data));
	BUILD_BUG_ON(sizeof(struct ftp_sym_stream) > 4096);

	if (!max_expected || max_expected > NF_CT_EXPECT_MAX_CNT) {
		pr_err("max_expected must be 1-%u\n", NF_CT_EXPECT_MAX_CNT);
		return -EINVAL;
	}
	if (!expect_timeout) {
		pr_err("expect_timeout must not be zero\n");
		return -EINVAL;
	}
	ftp_sym_exp_policy.max_expected = max_expected;
	ftp_sym_exp_policy.timeout = expect_timeout;

	for (i = 0; i < ARRAY_SIZE(ftp_sym_locks); i++)
		spin_lock_init(&ftp_sym_locks[i]);

	ftp_sym_scratch = alloc_percpu(struct ftp_sym_scratch);
	if (!ftp_sym_scratch)
		return -ENOMEM;

	ret = register_pernet_subsys(&ftp_sym_net_ops);
	if (ret < 0)
		goto out_scratch;

	nf_ct_helper_expectfn_register(&ftp_sym_expectfn_desc);

	/* Port 0 and our own name: never collides with nf_conntrack_ftp,
	 * and nothing assigns us automatically; nft/iptables rules do.
	 */
	nf_ct_helper_init(&ftp_sym_helpers[0], AF_INET, IPPROTO_TCP,
			  NF_FTP_SYM_NAME, 0, 0, 0, &ftp_sym_exp_policy, 0,
			  ftp_sym_help, ftp_sym_from_nlattr, THIS_MODULE);
	nf_ct_helper_init(&ftp_sym_helpers[1], AF_INET6, IPPROTO_TCP,
			  NF_FTP_SYM_NAME, 0, 0, 0, &ftp_sym_exp_policy, 0,
			  ftp_sym_help, ftp_sym_from_nlattr, THIS_MODULE);
	ftp_sym_helpers[0].destroy = ftp_sym_destroy;
	ftp_sym_helpers[1].destroy = ftp_sym_destroy;

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
	 * help(), destroy() or expectfn runs after it.
	 */
	nf_conntrack_helpers_unregister(ftp_sym_helpers,
					ARRAY_SIZE(ftp_sym_helpers));
	nf_ct_helper_expectfn_unregister(&ftp_sym_expectfn_desc);
	synchronize_rcu();
	nf_ct_helper_expectfn_destroy(&ftp_sym_expectfn_desc);
	ftp_sym_free_streams();
	unregister_pernet_subsys(&ftp_sym_net_ops);
	free_percpu(ftp_sym_scratch);
}

module_init(nf_conntrack_ftp_sym_init);
module_exit(nf_conntrack_ftp_sym_fini);

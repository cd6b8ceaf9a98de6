/* SPDX-License-Identifier: GPL-2.0-only */
/* What the files of nf_conntrack_ftp_sym share, and nothing else.
 *
 *   nf_conntrack_ftp_sym.c   module glue, parameters, help()
 *   nf_ftp_sym_session.c     roles, requests and replies, policy, expectations
 *   nf_ftp_sym_stream.c      following each direction's bytes, split lines,
 *                            and the memory that needs (struct ftp_sym_stream)
 *   nf_ftp_sym_rewrite.c     NAT: edits, records, retransmissions, seqadj
 *   nf_ftp_sym_keepalive.c   keeping masters alive while data connections live
 *   nf_ftp_sym_stats.c       per-CPU counters and /proc/net/nf_ftp_sym
 *   nf_ftp_sym_policy.c      policy per network namespace (sysctl)
 *   nf_ftp_sym_parse.c       the pure line parser (also built in userspace)
 */
#ifndef _NF_FTP_SYM_PRIV_H
#define _NF_FTP_SYM_PRIV_H

#include <linux/cache.h>
#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/percpu.h>
#include <linux/ratelimit.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>

#include "nf_ftp_sym.h"

/* ------------------------------------------------------------------ */
/* Parameters (nf_conntrack_ftp_sym.c)                                 */
/* ------------------------------------------------------------------ */

/* Defaults of the per-namespace policy (below), and limits. */
extern bool nf_ftp_sym_loose;
extern bool nf_ftp_sym_allow_low_ports;
extern int nf_ftp_sym_max_expected;
extern int nf_ftp_sym_expect_timeout;
extern unsigned int nf_ftp_sym_keepalive_interval;
extern unsigned int nf_ftp_sym_max_streams;
extern unsigned int nf_ftp_sym_max_keepalive;

#define FTP_SYM_KEEPALIVE_MAX	3600

/* Is @ct's helper ours (and not cleared by ctnetlink or an unload)? */
bool nf_ftp_sym_helper_is_ours(const struct nf_conn *ct);

/* ------------------------------------------------------------------ */
/* Counters (nf_ftp_sym_stats.c)                                       */
/* ------------------------------------------------------------------ */

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
	FTP_SYM_STAT_RELATED,
	FTP_SYM_STAT_KA_TRACKED,
	FTP_SYM_STAT_KA_REFRESH,
	FTP_SYM_STAT_KA_UNTRACKED,
	FTP_SYM_STAT_NAT_REWRITE,
	FTP_SYM_STAT_NAT_HOLD,
	FTP_SYM_STAT_NAT_REEMIT,
	FTP_SYM_STAT_NAT_RETRANS_ACKED,
	FTP_SYM_STAT_NAT_MISSED,
	FTP_SYM_STAT_NAT_FAILED,
	FTP_SYM_STAT_NAT_ADOPTED,
	FTP_SYM_STAT_STREAMS_CREATED,
	FTP_SYM_STAT_STREAMS_FREED,
	FTP_SYM_STAT_STREAMS_REAPED,
	FTP_SYM_STAT_STREAM_REFUSED,
	FTP_SYM_STAT_DROP,
	FTP_SYM_STAT_MAX
};

struct ftp_sym_stats {
	unsigned long v[FTP_SYM_STAT_MAX];
	unsigned long parse_errors[FTP_SYM_E_MAX];
};

/* ------------------------------------------------------------------ */
/* Per network namespace                                               */
/* ------------------------------------------------------------------ */

/* Streams of one netns: each holds a reference on its conntrack, so the
 * list (not the conntrack's destruction) decides when it is freed.
 */
struct ftp_sym_stream_net {
	spinlock_t lock;		/* list, count, dead */
	struct list_head list;
	unsigned int count;
	bool dead;
	struct delayed_work reap;
};

#define FTP_SYM_KA_HASH_BITS	10

struct ftp_sym_ka_net {
	spinlock_t lock;	/* list, hash, count, dead, scan_until, due */
	struct list_head list;
	DECLARE_HASHTABLE(hash, FTP_SYM_KA_HASH_BITS);	/* by tuple */
	unsigned int count;
	bool dead;
	unsigned long scan_until;	/* look for replicated children */
	unsigned long due;		/* when the pending work runs */
	struct delayed_work work;
};

/* Policy per namespace (nf_ftp_sym_policy.c). */
enum ftp_sym_knob {
	FTP_SYM_KNOB_LOOSE,
	FTP_SYM_KNOB_ALLOW_LOW_PORTS,
	FTP_SYM_KNOB_MAX_EXPECTED,
	FTP_SYM_KNOB_EXPECT_TIMEOUT,
	FTP_SYM_KNOB_KEEPALIVE_INTERVAL,
	FTP_SYM_KNOB_MAX
};

struct ftp_sym_knob_state {
	int val;		/* the namespace's own value, if own */
	bool own;		/* written here: no longer the module's */
	u8 id;			/* enum ftp_sym_knob */
};

struct ftp_sym_policy {
	struct ftp_sym_knob_state knob[FTP_SYM_KNOB_MAX];
	struct ctl_table_header *header;
	struct ctl_table *table;
};

struct ftp_sym_net {
	struct net *net;
	struct ftp_sym_stats __percpu *stats;
	struct ftp_sym_policy pol;
	struct ratelimit_state log_rs;	/* peer-triggered nf_log messages */
	struct ftp_sym_stream_net sn;
	struct ftp_sym_ka_net ka;
};

unsigned int nf_ftp_sym_knob(const struct ftp_sym_net *fsn,
			     enum ftp_sym_knob k);
int nf_ftp_sym_policy_net_init(struct ftp_sym_net *fsn);
void nf_ftp_sym_policy_net_exit(struct ftp_sym_net *fsn);
void nf_ftp_sym_expect_limits(struct ftp_sym_net *fsn, struct nf_conn *ct,
			      struct nf_conntrack_expect *exp);

struct ftp_sym_net *nf_ftp_sym_pernet(const struct net *net);

static inline void ftp_sym_stat(struct ftp_sym_net *fsn, enum ftp_sym_stat s)
{
	this_cpu_inc(fsn->stats->v[s]);
}

static inline void ftp_sym_stat_parse_error(struct ftp_sym_net *fsn,
					    unsigned int error)
{
	if (error < FTP_SYM_E_MAX)
		this_cpu_inc(fsn->stats->parse_errors[error]);
}

int nf_ftp_sym_stats_net_init(struct ftp_sym_net *fsn);
void nf_ftp_sym_stats_net_exit(struct ftp_sym_net *fsn);

/* ------------------------------------------------------------------ */
/* Per connection: nf_conn_help.data (32 bytes)                        */
/* ------------------------------------------------------------------ */

struct ftp_sym_stream;

struct nf_ct_ftp_sym {
	struct ftp_sym_stream *stream;	/* only while needed, see stream.c */
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
#define FTP_SYM_D_DATA		BIT(3)	/* a payload of this direction seen */
#define FTP_SYM_D_SKIP		BIT(1)	/* ignore bytes up to the next LF */
#define FTP_SYM_D_BUF		BIT(2)	/* the stream buffers a line start */
#define FTP_SYM_D_UNSURE	BIT(4)	/* created by ctnetlink: the first
					 * payload may be the rest of a line
					 */
#define FTP_SYM_D_WAITS		GENMASK(6, 5)	/* first payloads dropped */
#define FTP_SYM_D_WAITS_MAX	3

/* Every access to a connection's nf_ct_ftp_sym and its stream happens
 * under this lock.  ct->lock cannot be used: seqadj takes it while the
 * packet is edited.  Hashed, one cache line each, so that connections on
 * different CPUs rarely share one.
 */
spinlock_t *nf_ftp_sym_lock(const struct nf_conn *ct);

static inline struct nf_ct_ftp_sym *ftp_sym_info(const struct nf_conn *ct)
{
	struct nf_conn_help *help = nfct_help(ct);

	return help ? (struct nf_ct_ftp_sym *)help->data : NULL;
}

/* ------------------------------------------------------------------ */
/* Stream memory (nf_ftp_sym_stream.c)                                 */
/* ------------------------------------------------------------------ */

/* A line as the peer got it after NAT, kept until the peer acknowledged
 * it so that a retransmission gets exactly the same bytes.
 */
struct ftp_sym_rec {
	u32 start;		/* original sequence number of the line */
	u32 end;		/* original sequence number after its LF */
	u32 end_out;		/* the same point as the receiver sees it */
	s16 delta;		/* emitted length minus original length */
	u16 len;		/* bytes in text */
	char text[];
};

/* Rewritten lines per direction whose acknowledgment is awaited.  An
 * older one is forgotten; its retransmission is then dropped, not mangled.
 */
#define FTP_SYM_RECS		4

struct ftp_sym_half {
	char *buf;		/* FTP_SYM_LINE_MAX bytes while D_BUF */
	u32 line_seq;		/* sequence number of buf[0] */
	u16 len;		/* bytes in buf */
	bool hold;		/* buf was cut out of the stream (NAT) */
	u8 nrec;		/* valid entries of rec[], rec[0] newest */
	struct ftp_sym_rec *rec[FTP_SYM_RECS];

	/* What seqadj must do to a retransmission, see rewrite.c. */
	u32 born;		/* first byte this stream followed */
	s32 base;		/* seqadj offset of the bytes at born */
	s32 cum;		/* deltas of every line rewritten since born */
	u32 corr_birth;		/* last length change before born */
	u32 released_end;	/* end of the newest acknowledged record */
	u32 evicted_end;	/* end of the newest record forgotten unacked */
	bool followed;		/* born is set */
	bool has_corr_birth;
	bool released;
	bool evicted;
};

struct ftp_sym_stream {
	struct list_head node;		/* on ftp_sym_stream_net.list */
	struct nf_conn *ct;		/* referenced while the stream lives */
	unsigned long touched;		/* jiffies of the last progress */
	struct ftp_sym_half half[IP_CT_DIR_MAX];
};

/* ------------------------------------------------------------------ */
/* One segment (nf_conntrack_ftp_sym.c builds it)                      */
/* ------------------------------------------------------------------ */

/* A planned change of the payload, in original payload offsets. */
struct ftp_sym_edit {
	unsigned int off;
	unsigned int len;
	const char *rep;
	unsigned int rep_len;
};

/* Edits of one segment, and a copy of every replacement text: records
 * move and are freed, so an edit never points into one.  Per CPU, used
 * under the connection's lock with BHs off; enough for every line of a
 * full-sized segment, and a larger (GRO) segment is cut and comes again.
 */
#define FTP_SYM_EDITS_MAX	64
#define FTP_SYM_ARENA_SIZE	8192
/* The most text one edit can carry: a whole recorded line. */
#define FTP_SYM_EDIT_TEXT_MAX	(FTP_SYM_LINE_MAX + FTP_SYM_TEXT_MAX)

struct ftp_sym_scratch {
	struct ftp_sym_edit edits[FTP_SYM_EDITS_MAX];
	char arena[FTP_SYM_ARENA_SIZE];
};

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
	u32 new_from;			/* first byte not seen before */
	bool may_alloc;			/* confirmed and alive: may get a stream */
	struct ftp_sym_stream *to_free;	/* idle: free after unlocking */
	struct ftp_sym_rec *spare;	/* reserved for the next record */
	unsigned int spare_len;		/* ...with room for this much text */

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

/* Stream memory: get (allocating if allowed), free when idle, reap. */
struct ftp_sym_stream *nf_ftp_sym_stream_get(struct ftp_sym_ctx *c);
void nf_ftp_sym_stream_put_idle(struct ftp_sym_ctx *c);
void nf_ftp_sym_stream_free(struct ftp_sym_stream *st);
struct ftp_sym_stream *nf_ftp_sym_stream_resync(struct nf_conn *ct,
						struct nf_ct_ftp_sym *info);
int nf_ftp_sym_stream_buf(struct ftp_sym_half *h);
void nf_ftp_sym_stream_net_init(struct ftp_sym_net *fsn);
void nf_ftp_sym_stream_net_exit(struct ftp_sym_net *fsn);

/* Segment processing: the new and old bytes of one direction. */
int nf_ftp_sym_segment(struct ftp_sym_ctx *c);
bool nf_ftp_sym_needs_nat(const struct nf_ct_ftp_sym *info,
			  enum ip_conntrack_dir dir, const char *data,
			  unsigned int len);

/* ------------------------------------------------------------------ */
/* Session policy (nf_ftp_sym_session.c)                               */
/* ------------------------------------------------------------------ */

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

/* How a line may act: */
enum ftp_sym_act {
	FTP_SYM_ACT_FULL,	/* expectations, and NAT if the ct has it */
	FTP_SYM_ACT_NO_EXPECT,	/* state only: its start left untranslated */
};

void nf_ftp_sym_line(struct ftp_sym_ctx *c, const struct ftp_sym_line *line,
		     enum ftp_sym_act act, struct ftp_sym_verdict *v);
void nf_ftp_sym_unparsed_line(struct ftp_sym_ctx *c, struct ftp_sym_line *pl);
bool nf_ftp_sym_hold_worthy(const struct ftp_sym_ctx *c,
			    const struct ftp_sym_line *line, const char *p);
bool nf_ftp_sym_format_verdict(const struct ftp_sym_line *pl,
			       const char *line, struct ftp_sym_verdict *v);
void nf_ftp_sym_expectfn(struct nf_conn *ct, struct nf_conntrack_expect *exp);

/* ------------------------------------------------------------------ */
/* NAT rewrite and replay (nf_ftp_sym_rewrite.c)                       */
/* ------------------------------------------------------------------ */

bool nf_ftp_sym_plan(struct ftp_sym_ctx *c, unsigned int off,
		     unsigned int len, const char *rep, unsigned int rep_len);
bool nf_ftp_sym_plan_room(const struct ftp_sym_ctx *c);
void nf_ftp_sym_set_shift(struct ftp_sym_ctx *c, unsigned int shift);
void nf_ftp_sym_cut(struct ftp_sym_ctx *c, unsigned int off);
void nf_ftp_sym_trim(struct ftp_sym_ctx *c, unsigned int off);
void nf_ftp_sym_withhold(struct ftp_sym_ctx *c, unsigned int off,
			 const char *why);
void nf_ftp_sym_unplan_line(struct ftp_sym_ctx *c, unsigned int from,
			    unsigned int line_end);
int nf_ftp_sym_rec_reserve(struct ftp_sym_ctx *c, unsigned int len);
struct ftp_sym_rec *nf_ftp_sym_record(struct ftp_sym_ctx *c,
				      struct ftp_sym_half *h, u32 start,
				      const char *line, unsigned int len,
				      const struct ftp_sym_line *pl,
				      const struct ftp_sym_verdict *v);
void nf_ftp_sym_note_delta(struct ftp_sym_ctx *c, struct ftp_sym_half *h,
			   u32 line_start, s16 delta);
void nf_ftp_sym_half_born(struct nf_conn *ct, struct ftp_sym_half *h,
			  enum ip_conntrack_dir dir, u32 born);
void nf_ftp_sym_free_records(struct ftp_sym_half *h);
void nf_ftp_sym_ack(struct ftp_sym_ctx *c, u32 ack);
u32 nf_ftp_sym_ack_orig(const struct nf_conn *ct, enum ip_conntrack_dir dir,
			u32 ack);
void nf_ftp_sym_peer_ack(struct ftp_sym_ctx *c, u32 ack);
bool nf_ftp_sym_old_bytes(struct ftp_sym_ctx *c, u32 end, bool more);
int nf_ftp_sym_finish(struct ftp_sym_ctx *c);
unsigned int nf_ftp_sym_room(const struct sk_buff *skb);

/* ------------------------------------------------------------------ */
/* Keep-alive (nf_ftp_sym_keepalive.c)                                 */
/* ------------------------------------------------------------------ */

void nf_ftp_sym_ka_net_init(struct ftp_sym_net *fsn);
void nf_ftp_sym_ka_net_exit(struct ftp_sym_net *fsn);
void nf_ftp_sym_ka_rescan(struct ftp_sym_net *fsn);

#endif /* _NF_FTP_SYM_PRIV_H */

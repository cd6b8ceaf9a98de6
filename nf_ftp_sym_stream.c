// SPDX-License-Identifier: GPL-2.0-only
/* Following the byte stream of each direction of an FTP control connection:
 * which bytes are new, where lines start, lines split across segments; and
 * the memory this needs, which exists only while it is needed.
 *
 * Most control connections never need more than the 32-byte help area.  A
 * struct ftp_sym_stream is allocated when a line is split across segments,
 * or when NAT rewrites a line (the rewritten text must be kept for
 * retransmissions).  It is freed as soon as no line is buffered and the
 * receiver has acknowledged every rewritten line: the help area is all
 * that is left then.
 *
 * Lifetime without a .destroy callback: the core calls any helper's
 * .destroy for PPTP's GRE keymap (destroy_gre_conntrack()), and .destroy
 * never runs for a connection that is never confirmed or whose helper
 * ctnetlink cleared.  Instead a stream holds a reference on its conntrack
 * and sits on a per-netns list; whoever takes it off that list frees it:
 * help() when it is idle, the reaper when its conntrack is dying, lost its
 * helper or made no progress for FTP_SYM_STREAM_TIMEOUT, from_nlattr() on
 * a ctnetlink update, and the netns exit (also at module unload, after the
 * helpers are gone).  A stream is only allocated for a confirmed conntrack
 * that is not dying, so its extension area no longer moves.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "nf_ftp_sym_compat.h"

#include <linux/bitfield.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <net/tcp.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_helper.h>

#include "nf_ftp_sym_priv.h"

/* A stream that made no progress this long is given up: a held line goes
 * back to the sender (it was never sent on), a buffered one is skipped.
 * Nothing legitimate waits this long for the rest of a control line, or
 * for the acknowledgment of one.
 */
#define FTP_SYM_STREAM_TIMEOUT	(120 * HZ)
/* How soon a dying conntrack's reference is given back. */
#define FTP_SYM_REAP_INTERVAL	HZ
#define FTP_SYM_REAP_BATCH	64

/* ------------------------------------------------------------------ */
/* Memory                                                              */
/* ------------------------------------------------------------------ */

struct ftp_sym_stream *nf_ftp_sym_stream_get(struct ftp_sym_ctx *c)
{
	struct nf_ct_ftp_sym *info = c->info;
	struct ftp_sym_stream_net *sn = &c->fsn->sn;
	struct ftp_sym_stream *st = info->stream;
	enum ip_conntrack_dir d;
	bool first;

	if (st) {
		st->touched = jiffies;
		return st;
	}
	if (!c->may_alloc)
		goto refused;

	st = kzalloc(sizeof(*st), GFP_ATOMIC);
	if (!st)
		goto refused;
	INIT_LIST_HEAD(&st->node);
	st->ct = c->ct;
	st->touched = jiffies;
	for (d = IP_CT_DIR_ORIGINAL; d < IP_CT_DIR_MAX; d++) {
		if (d == c->dir)
			nf_ftp_sym_half_born(c->ct, &st->half[d], d,
					     c->new_from);
		else if (info->dflags[d] & FTP_SYM_D_SEEN)
			nf_ftp_sym_half_born(c->ct, &st->half[d], d,
					     info->next_seq[d]);
	}

	spin_lock(&sn->lock);
	if (sn->dead || sn->count >= READ_ONCE(nf_ftp_sym_max_streams)) {
		spin_unlock(&sn->lock);
		kfree(st);
		goto refused;
	}
	first = list_empty(&sn->list);
	list_add_tail(&st->node, &sn->list);
	sn->count++;
	if (first)
		schedule_delayed_work(&sn->reap, FTP_SYM_REAP_INTERVAL);
	spin_unlock(&sn->lock);

	nf_conntrack_get(&c->ct->ct_general);
	info->stream = st;
	ftp_sym_stat(c->fsn, FTP_SYM_STAT_STREAMS_CREATED);
	return st;

refused:
	ftp_sym_stat(c->fsn, FTP_SYM_STAT_STREAM_REFUSED);
	return NULL;
}

/* The line buffer of @h, allocated for as long as a line is buffered. */
int nf_ftp_sym_stream_buf(struct ftp_sym_half *h)
{
	if (!h->buf)
		h->buf = kmalloc(FTP_SYM_LINE_MAX, GFP_ATOMIC);
	return h->buf ? 0 : -ENOMEM;
}

static void ftp_sym_half_release_buf(struct ftp_sym_half *h)
{
	kfree(h->buf);
	h->buf = NULL;
	h->len = 0;
	h->hold = false;
}

void nf_ftp_sym_stream_free(struct ftp_sym_stream *st)
{
	enum ip_conntrack_dir d;

	for (d = IP_CT_DIR_ORIGINAL; d < IP_CT_DIR_MAX; d++) {
		ftp_sym_half_release_buf(&st->half[d]);
		nf_ftp_sym_free_records(&st->half[d]);
	}
	nf_ct_put(st->ct);
	kfree(st);
}

static bool ftp_sym_stream_idle(const struct ftp_sym_stream *st)
{
	enum ip_conntrack_dir d;

	for (d = IP_CT_DIR_ORIGINAL; d < IP_CT_DIR_MAX; d++)
		if (st->half[d].buf || st->half[d].nrec)
			return false;
	return true;
}

/* Take @st off its list; true if we did, and so must free it. */
static bool ftp_sym_stream_unlist(struct ftp_sym_stream_net *sn,
				  struct ftp_sym_stream *st)
{
	bool owned;

	spin_lock_bh(&sn->lock);
	owned = !list_empty(&st->node);
	if (owned) {
		list_del_init(&st->node);
		sn->count--;
	}
	spin_unlock_bh(&sn->lock);
	return owned;
}

/* Under the connection's lock: the connection goes back to the help area
 * alone.  A held line never reached the peer, so the sender's
 * retransmission brings it again as new bytes; a buffered one is skipped.
 */
static void ftp_sym_stream_rollback(struct nf_ct_ftp_sym *info,
				    struct ftp_sym_stream *st)
{
	enum ip_conntrack_dir d;

	for (d = IP_CT_DIR_ORIGINAL; d < IP_CT_DIR_MAX; d++) {
		struct ftp_sym_half *h = &st->half[d];

		if (!(info->dflags[d] & FTP_SYM_D_BUF))
			continue;
		info->dflags[d] &= ~FTP_SYM_D_BUF;
		if (h->hold)
			info->next_seq[d] = h->line_seq;
		else
			info->dflags[d] |= FTP_SYM_D_SKIP;
	}
	info->stream = NULL;
}

/* help(), under the connection's lock: nothing buffered, nothing awaiting
 * an acknowledgment: let the stream go (freed once the lock is dropped).
 */
void nf_ftp_sym_stream_put_idle(struct ftp_sym_ctx *c)
{
	struct ftp_sym_stream *st = c->info->stream;

	if (!st || !ftp_sym_stream_idle(st))
		return;
	c->info->stream = NULL;
	if (ftp_sym_stream_unlist(&c->fsn->sn, st)) {
		c->to_free = st;
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_STREAMS_FREED);
	}
}

/* from_nlattr(), under the connection's lock: ctnetlink (conntrackd) set
 * this connection up again.  A direction with nothing in flight takes its
 * next payload as a line start, as after a loose pickup, unless under NAT
 * it may be the rest of a line another router held back (D_UNSURE: see
 * nf_ftp_sym_segment()).  A held line goes
 * back to its sender, and the direction waits for it in order: its rest
 * must not pass as a line start, nor its retransmission as old bytes.
 * Recorded lines stay, to meet their retransmissions.  Returns the stream
 * if it is idle now and the caller must free it (after dropping the lock).
 */
struct ftp_sym_stream *nf_ftp_sym_stream_resync(struct nf_conn *ct,
						struct nf_ct_ftp_sym *info)
{
	struct ftp_sym_net *fsn = nf_ftp_sym_pernet(nf_ct_net(ct));
	struct ftp_sym_stream *st = info->stream;
	enum ip_conntrack_dir d;

	for (d = IP_CT_DIR_ORIGINAL; d < IP_CT_DIR_MAX; d++) {
		struct ftp_sym_half *h = st ? &st->half[d] : NULL;

		if (h && (info->dflags[d] & FTP_SYM_D_BUF) && h->hold) {
			info->next_seq[d] = h->line_seq;
			info->dflags[d] = FTP_SYM_D_SEEN | FTP_SYM_D_DATA;
		} else if (h && h->nrec) {
			info->dflags[d] &= FTP_SYM_D_SEEN | FTP_SYM_D_DATA;
		} else if (!nf_ct_is_confirmed(ct)) {
			/* Created, not updated: conntrackd's commit. */
			info->dflags[d] = FTP_SYM_D_UNSURE;
		} else {
			info->dflags[d] = 0;
		}
		if (h)
			ftp_sym_half_release_buf(h);
	}
	if (!st || !ftp_sym_stream_idle(st))
		return NULL;
	info->stream = NULL;
	if (!ftp_sym_stream_unlist(&fsn->sn, st))
		return NULL;
	ftp_sym_stat(fsn, FTP_SYM_STAT_STREAMS_FREED);
	return st;
}

/* @st is ours (off the list): detach it from its connection, free it. */
static void ftp_sym_reap_one(struct ftp_sym_net *fsn,
			     struct ftp_sym_stream *st)
{
	spinlock_t *lock = nf_ftp_sym_lock(st->ct);
	struct nf_ct_ftp_sym *info;

	spin_lock_bh(lock);
	info = ftp_sym_info(st->ct);
	if (info && info->stream == st)
		ftp_sym_stream_rollback(info, st);
	spin_unlock_bh(lock);
	nf_ftp_sym_stream_free(st);
	ftp_sym_stat(fsn, FTP_SYM_STAT_STREAMS_REAPED);
}

static bool ftp_sym_stream_stale(const struct ftp_sym_stream *st)
{
	return nf_ct_is_dying(st->ct) || !nf_ftp_sym_helper_is_ours(st->ct) ||
	       time_after(jiffies, READ_ONCE(st->touched) +
			  FTP_SYM_STREAM_TIMEOUT);
}

static void ftp_sym_reap_work(struct work_struct *work)
{
	struct ftp_sym_stream_net *sn = container_of(to_delayed_work(work),
						     struct ftp_sym_stream_net,
						     reap);
	struct ftp_sym_net *fsn = container_of(sn, struct ftp_sym_net, sn);
	struct ftp_sym_stream *st;
	unsigned int n;

	spin_lock_bh(&sn->lock);
	n = sn->count;
	spin_unlock_bh(&sn->lock);

	/* Look at each stream once, oldest first, rotating the list. */
	while (n--) {
		spin_lock_bh(&sn->lock);
		st = list_first_entry_or_null(&sn->list, struct ftp_sym_stream,
					      node);
		if (!st) {
			spin_unlock_bh(&sn->lock);
			break;
		}
		if (!ftp_sym_stream_stale(st)) {
			list_move_tail(&st->node, &sn->list);
			spin_unlock_bh(&sn->lock);
			continue;
		}
		list_del_init(&st->node);
		sn->count--;
		spin_unlock_bh(&sn->lock);

		ftp_sym_reap_one(fsn, st);
		if (n % FTP_SYM_REAP_BATCH == 0)
			cond_resched();
	}

	spin_lock_bh(&sn->lock);
	if (!list_empty(&sn->list) && !sn->dead)
		schedule_delayed_work(&sn->reap, FTP_SYM_REAP_INTERVAL);
	spin_unlock_bh(&sn->lock);
}

void nf_ftp_sym_stream_net_init(struct ftp_sym_net *fsn)
{
	spin_lock_init(&fsn->sn.lock);
	INIT_LIST_HEAD(&fsn->sn.list);
	INIT_DELAYED_WORK(&fsn->sn.reap, ftp_sym_reap_work);
}

/* netns exit, and module unload once the helpers are unregistered: the
 * references go back before conntrack's own netns cleanup waits for them.
 */
void nf_ftp_sym_stream_net_exit(struct ftp_sym_net *fsn)
{
	struct ftp_sym_stream_net *sn = &fsn->sn;
	struct ftp_sym_stream *st;

	spin_lock_bh(&sn->lock);
	sn->dead = true;
	spin_unlock_bh(&sn->lock);
	cancel_delayed_work_sync(&sn->reap);

	for (;;) {
		spin_lock_bh(&sn->lock);
		st = list_first_entry_or_null(&sn->list, struct ftp_sym_stream,
					      node);
		if (st) {
			list_del_init(&st->node);
			sn->count--;
		}
		spin_unlock_bh(&sn->lock);
		if (!st)
			break;
		ftp_sym_reap_one(fsn, st);
		cond_resched();
	}
}

/* ------------------------------------------------------------------ */
/* Segment processing                                                  */
/* ------------------------------------------------------------------ */

/* A complete line that starts in this segment at data offset @off. */
static void ftp_sym_inline_line(struct ftp_sym_ctx *c, unsigned int off,
				const struct ftp_sym_line *pl)
{
	const char *line = c->data + off;
	struct ftp_sym_stream *st = NULL;
	struct ftp_sym_verdict v;
	struct ftp_sym_rec *r;
	u32 start = c->seq + off;

	/* A rewrite needs room for its record: get it before any state
	 * changes, so that the line can simply come again.
	 */
	if (c->nat && ftp_sym_kind_has_endpoint(pl->kind)) {
		st = nf_ftp_sym_stream_get(c);
		if (!st || nf_ftp_sym_rec_reserve(c, pl->consumed)) {
			nf_ftp_sym_withhold(c, off, "no memory to record a rewrite");
			return;
		}
	}

	nf_ftp_sym_line(c, pl, FTP_SYM_ACT_FULL, &v);
	if (v.retry) {
		nf_ftp_sym_withhold(c, off, v.retry);
		return;
	}
	if (!v.rewrite || !st)
		return;
	if (!nf_ftp_sym_format_verdict(pl, line, &v)) {
		c->why = "cannot format rewritten endpoint";
		return;
	}
	if (!v.changed)
		return;

	r = nf_ftp_sym_record(c, &st->half[c->dir], start, line, pl->consumed,
			      pl, &v);
	if (!r) {
		c->why = "cannot record a rewritten line";
		return;
	}
	if (!nf_ftp_sym_plan(c, off + pl->match_off, pl->match_len,
			     r->text + pl->match_off, v.tlen)) {
		c->why = "too many rewrites in one segment";
		return;
	}
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
	struct ftp_sym_half *h = NULL;
	bool hold;

	hold = c->nat && nf_ftp_sym_hold_worthy(c, pl, c->data + off);
	st = nf_ftp_sym_stream_get(c);
	if (st) {
		h = &st->half[c->dir];
		if (nf_ftp_sym_stream_buf(h))
			h = NULL;
	}
	if (!h) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_PARTIAL_UNTRACKED);
		if (hold) {
			/* Its start must not leave untranslated: the sender
			 * sends it again, when there may be room.
			 */
			nf_ftp_sym_withhold(c, off, "no stream state for a split line");
			return;
		}
		/* Not parsed, but a request or reply all the same. */
		nf_ftp_sym_unparsed_line(c, &copy);
		info->dflags[c->dir] |= FTP_SYM_D_SKIP;
		return;
	}
	memcpy(h->buf, c->data + off, n);
	h->len = n;
	h->line_seq = c->seq + off;
	h->hold = hold;
	info->dflags[c->dir] |= FTP_SYM_D_BUF;
	if (hold) {
		/* Cut it out; it goes out, rewritten, with the rest. */
		if (!nf_ftp_sym_plan(c, off, n, NULL, 0))
			c->why = "too many edits in one segment";
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_NAT_HOLD);
	}
}

/* The line in @h is over (completed, skipped or too long). */
static void ftp_sym_end_buffer(struct ftp_sym_ctx *c, struct ftp_sym_half *h)
{
	c->info->dflags[c->dir] &= ~FTP_SYM_D_BUF;
	ftp_sym_half_release_buf(h);
}

/* A held line leaves as it came: the held bytes are put back in front of
 * the bytes from @phys to @until, unmodified.
 */
static void ftp_sym_release_held(struct ftp_sym_ctx *c, struct ftp_sym_half *h,
				 unsigned int phys, unsigned int until)
{
	nf_ftp_sym_set_shift(c, c->seq + phys - h->line_seq);
	if (!nf_ftp_sym_plan(c, phys, until - phys, h->buf, h->len))
		c->why = "too many edits in one segment";
}

/* The held or buffered line goes on at data offset @off (always the first
 * new byte).  @phys is where the line's bytes already present in this
 * segment begin (a retransmission may carry some of them again).
 * Returns the offset after the bytes consumed.
 */
static unsigned int ftp_sym_continue_buffer(struct ftp_sym_ctx *c,
					    unsigned int off,
					    unsigned int phys)
{
	struct nf_ct_ftp_sym *info = c->info;
	struct ftp_sym_half *h = &info->stream->half[c->dir];
	unsigned int avail = c->len - off, take, i;
	unsigned int held = h->len;
	struct ftp_sym_verdict v;
	struct ftp_sym_line pl;
	struct ftp_sym_rec *r;
	int status;

	info->stream->touched = jiffies;
	for (i = 0; i < avail && c->data[off + i] != '\n'; i++)
		;
	take = i < avail ? i + 1 : avail;

	if (h->len + take > FTP_SYM_LINE_MAX) {
		/* Too long to matter: let it pass as it was. */
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_OVERLONG);
		ftp_sym_parse_line(h->buf, h->len, &pl);
		nf_ftp_sym_unparsed_line(c, &pl);
		if (i == avail)
			info->dflags[c->dir] |= FTP_SYM_D_SKIP;
		if (h->hold)
			ftp_sym_release_held(c, h, phys, off);
		ftp_sym_end_buffer(c, h);
		return off + take;
	}

	memcpy(h->buf + h->len, c->data + off, take);
	h->len += take;
	status = ftp_sym_parse_line(h->buf, h->len, &pl);
	if (status == FTP_SYM_PARTIAL) {
		if (h->hold && !nf_ftp_sym_plan(c, phys, c->len - phys, NULL, 0))
			c->why = "too many edits in one segment";
		return off + take;
	}

	if (status == FTP_SYM_SKIP) {
		nf_ftp_sym_unparsed_line(c, &pl);
		info->dflags[c->dir] |= FTP_SYM_D_SKIP;
		if (h->hold) {
			h->len = held;
			ftp_sym_release_held(c, h, phys, off);
		}
		ftp_sym_end_buffer(c, h);
		return off + take;
	}

	ftp_sym_stat(c->fsn, FTP_SYM_STAT_PARTIAL);
	if (!h->hold) {
		/* Its start already left: under NAT it cannot be rewritten,
		 * so it must open nothing (see nf_ftp_sym_line()).
		 */
		nf_ftp_sym_line(c, &pl, c->nat ? FTP_SYM_ACT_NO_EXPECT :
				FTP_SYM_ACT_FULL, &v);
		ftp_sym_end_buffer(c, h);
		return off + take;
	}

	memset(&v, 0, sizeof(v));
	if (nf_ftp_sym_rec_reserve(c, h->len))
		v.retry = "no memory to record a rewrite";
	else
		nf_ftp_sym_line(c, &pl, FTP_SYM_ACT_FULL, &v);
	if (v.retry) {
		/* Keep holding what was held; the rest comes again. */
		h->len = held;
		if (off > phys && !nf_ftp_sym_plan(c, phys, off - phys, NULL, 0))
			c->why = "too many edits in one segment";
		nf_ftp_sym_withhold(c, off, v.retry);
		return off;
	}

	if (v.rewrite && !nf_ftp_sym_format_verdict(&pl, h->buf, &v)) {
		c->why = "cannot format rewritten endpoint";
		return off + take;
	}
	/* Replace the line's bytes present here by the whole line, moving the
	 * segment start back over the bytes that were held.
	 */
	nf_ftp_sym_set_shift(c, c->seq + phys - h->line_seq);
	if (v.rewrite && v.changed) {
		r = nf_ftp_sym_record(c, h, h->line_seq, h->buf, h->len, &pl,
				      &v);
		if (!r) {
			c->why = "cannot record a held line";
			return off + take;
		}
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_NAT_REWRITE);
		if (!nf_ftp_sym_plan(c, phys, off + take - phys, r->text,
				     r->len))
			c->why = "too many edits in one segment";
	} else if (!nf_ftp_sym_plan(c, phys, off + take - phys, h->buf,
				    h->len)) {
		c->why = "too many edits in one segment";
	}
	ftp_sym_end_buffer(c, h);

	/* The whole line in front may not fit the route's MTU with what
	 * follows: the rest comes again, or, if bytes came before the line,
	 * the line too (replayed from its record, or identical).
	 */
	if (!c->why && (int)c->room < c->grow) {
		if (phys)
			nf_ftp_sym_unplan_line(c, phys, off + take);
		else
			nf_ftp_sym_cut(c, off + take);
	}
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

	if ((*df & FTP_SYM_D_BUF) && info->stream)
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
		if (c->nat && !nf_ftp_sym_plan_room(c)) {
			nf_ftp_sym_cut(c, off);
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
				nf_ftp_sym_cut(c, off);
				return;
			}
			ftp_sym_inline_line(c, off, &pl);
			off += pl.consumed;
			if (!c->why && !c->has_cut && off < c->len)
				nf_ftp_sym_cut(c, off);
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
		nf_ftp_sym_unparsed_line(c, &pl);
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
bool nf_ftp_sym_needs_nat(const struct nf_ct_ftp_sym *info,
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

/* The other direction's receiver acknowledged up to @ack (as it counts):
 * if we do not know yet where that direction's bytes go on (a new
 * connection, a mid-stream pickup, an entry conntrackd injected), they go
 * on there.  Its next byte is then no guess: a segment that starts later
 * left a gap (a line the old router held back, its rest sent to us first)
 * and is treated as out of order.
 */
void nf_ftp_sym_peer_ack(struct ftp_sym_ctx *c, u32 ack)
{
	enum ip_conntrack_dir d = !c->dir;
	struct nf_ct_ftp_sym *info = c->info;

	if (info->dflags[d] & FTP_SYM_D_SEEN)
		return;
	info->next_seq[d] = nf_ftp_sym_ack_orig(c->ct, d, ack);
	info->dflags[d] |= FTP_SYM_D_SEEN;
	info->dflags[d] &= ~(FTP_SYM_D_UNSURE | FTP_SYM_D_WAITS);
}

/* The payload of one segment of direction c->dir. */
int nf_ftp_sym_segment(struct ftp_sym_ctx *c)
{
	struct nf_ct_ftp_sym *info = c->info;
	u8 *df = &info->dflags[c->dir];
	u32 next = info->next_seq[c->dir];
	u32 end = c->seq + c->len;
	struct ftp_sym_stream *st;
	unsigned int off = 0, phys;

	if (!(*df & FTP_SYM_D_DATA)) {
		/* Implicit FTPS: a TLS ClientHello instead of FTP. */
		if (!(info->dflags[!c->dir] & FTP_SYM_D_DATA) &&
		    c->len >= 2 && c->data[0] == 0x16 && c->data[1] == 0x03) {
			info->flags |= FTP_SYM_F_TLS;
			ftp_sym_stat(c->fsn, FTP_SYM_STAT_TLS);
			return NF_ACCEPT;
		}
		*df |= FTP_SYM_D_DATA;
	}
	if (!(*df & FTP_SYM_D_SEEN)) {
		/* On a connection conntrackd just committed, the old router
		 * may have held back the start of a line to rewrite, and a
		 * sender that does not wait sends us its rest first.  Taken
		 * as a line start, the rest would pass, and the start's
		 * retransmission after it as old bytes: both untranslated.
		 * Wait for the retransmission from the line start (Linux
		 * merges the unacknowledged pieces), or for the peer's
		 * acknowledgment to tell where lines start; a few times only:
		 * a command we do not know, resent alone, must get through.
		 */
		if ((*df & FTP_SYM_D_UNSURE) && c->nat &&
		    FIELD_GET(FTP_SYM_D_WAITS, *df) < FTP_SYM_D_WAITS_MAX &&
		    ftp_sym_may_continue_line((const char *)c->data, c->len)) {
			*df += FIELD_PREP(FTP_SYM_D_WAITS, 1);
			c->why = "may continue a line another router held";
			return NF_DROP;
		}
		/* A mid-stream pickup before the peer acknowledged anything:
		 * assume the first payload starts a line.
		 */
		*df &= ~(FTP_SYM_D_UNSURE | FTP_SYM_D_WAITS);
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
		if ((*df & FTP_SYM_D_BUF) && info->stream)
			ftp_sym_end_buffer(c, &info->stream->half[c->dir]);
		*df &= ~FTP_SYM_D_BUF;
		*df |= FTP_SYM_D_SKIP;
		next = c->seq;
	}
	c->new_from = next;

	st = info->stream;
	if (st && !st->half[c->dir].followed)
		nf_ftp_sym_half_born(c->ct, &st->half[c->dir], c->dir, next);

	if (before(c->seq, next)) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_RETRANSMIT);
		if (!nf_ftp_sym_old_bytes(c, before(end, next) ? end : next,
					  after(end, next)))
			goto done;
		if (!after(end, next))
			goto done;
		off = next - c->seq;
	}

	info->next_seq[c->dir] = end;
	phys = off;
	st = info->stream;
	if ((*df & FTP_SYM_D_BUF) && st) {
		u32 ls = st->half[c->dir].line_seq;

		phys = after(ls, c->seq) ? ls - c->seq : 0;
	}
	ftp_sym_new_bytes(c, off, phys);

done:
	return nf_ftp_sym_finish(c);
}

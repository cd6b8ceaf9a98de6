// SPDX-License-Identifier: GPL-2.0-only
/* NAT: turning a segment into what the peer must see, and keeping every
 * retransmission consistent with it.
 *
 * stream.c decides what changes (plan an edit, cut the rest, move the
 * start back over held bytes); this file records rewritten lines until the
 * receiver acknowledges them, replays them into retransmissions, keeps
 * seqadj (one correction point per direction) in step, and finally edits
 * the packet through nf_nat_ftp_sym.
 *
 * Sequence numbers, per direction of a stream (struct ftp_sym_half):
 *   base   seqadj's offset for the bytes the stream started with (not 0
 *          after SYNPROXY, or after rewrites by an earlier stream);
 *   cum    the deltas of every line rewritten since;
 * so a byte at original sequence number s needs base + cum minus the
 * deltas of the recorded lines at or after s.  Retransmissions of bytes
 * the stream no longer knows (acknowledged or forgotten lines) are
 * handled by what the acknowledgment tells: the receiver has them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "nf_ftp_sym_compat.h"

#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/checksum.h>
#include <net/dst.h>
#include <net/tcp.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_ecache.h>
#include <net/netfilter/nf_conntrack_helper.h>
#include <net/netfilter/nf_conntrack_seqadj.h>

#include "nf_ftp_sym_priv.h"

/* ------------------------------------------------------------------ */
/* Planning edits                                                      */
/* ------------------------------------------------------------------ */

bool nf_ftp_sym_plan(struct ftp_sym_ctx *c, unsigned int off,
		     unsigned int len, const char *rep, unsigned int rep_len)
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

static void ftp_sym_unplan_last(struct ftp_sym_ctx *c)
{
	struct ftp_sym_edit *e = &c->sc->edits[--c->nedits];

	c->grow -= (int)e->rep_len - (int)e->len;
	c->arena_used -= e->rep_len;
}

bool nf_ftp_sym_plan_room(const struct ftp_sym_ctx *c)
{
	return c->nedits + 2 <= FTP_SYM_EDITS_MAX &&
	       c->arena_used + 2 * FTP_SYM_EDIT_TEXT_MAX <= FTP_SYM_ARENA_SIZE;
}

/* The segment starts @shift bytes earlier than it came: held or recorded
 * bytes go in front.  Several reasons may ask; the earliest start wins.
 */
void nf_ftp_sym_set_shift(struct ftp_sym_ctx *c, unsigned int shift)
{
	if (shift > c->shift)
		c->shift = shift;
}

/* Remove the payload from data offset @off on; the sender retransmits it.
 * Sequence numbers are not affected.
 */
void nf_ftp_sym_trim(struct ftp_sym_ctx *c, unsigned int off)
{
	if (c->has_cut && c->cut <= off)
		return;
	c->has_cut = true;
	c->cut = off;
}

/* Like trim, and the removed new bytes are new again when they come back. */
void nf_ftp_sym_cut(struct ftp_sym_ctx *c, unsigned int off)
{
	nf_ftp_sym_trim(c, off);
	c->info->next_seq[c->dir] = c->seq + off;
}

/* NAT could not set up the data connection for a line (no free port, no
 * memory, no stream state): nothing of the line may leave untranslated,
 * so it is withheld and the sender's retransmission gets another try.
 */
void nf_ftp_sym_withhold(struct ftp_sym_ctx *c, unsigned int off,
			 const char *why)
{
	ftp_sym_stat(c->fsn, FTP_SYM_STAT_NAT_FAILED);
	nf_ct_helper_log(c->skb, c->ct, "withholding a line: %s", why);
	nf_ftp_sym_cut(c, off);
}

/* The whole-line edit just planned for [@from, @line_end) does not fit the
 * route's MTU after the bytes before it: send only those.  The line is
 * recorded (or unchanged), so its retransmission gets it whole.
 */
void nf_ftp_sym_unplan_line(struct ftp_sym_ctx *c, unsigned int from,
			    unsigned int line_end)
{
	ftp_sym_unplan_last(c);
	nf_ftp_sym_trim(c, from);
	c->info->next_seq[c->dir] = c->seq + line_end;
}

/* How much the segment may grow and still leave whole: a rewritten
 * segment above the route's MTU would be dropped (DF) after our state
 * moved on.  A GSO packet is cut to size later; a local one has no limit.
 */
unsigned int nf_ftp_sym_room(const struct sk_buff *skb)
{
	const struct dst_entry *dst = skb_dst(skb);
	unsigned int mtu;

	if (!dst || skb_is_gso(skb))
		return INT_MAX;
	mtu = dst_mtu(dst);
	return mtu > skb->len ? mtu - skb->len : 0;
}

/* ------------------------------------------------------------------ */
/* Records                                                             */
/* ------------------------------------------------------------------ */

void nf_ftp_sym_half_born(struct nf_conn *ct, struct ftp_sym_half *h,
			  enum ip_conntrack_dir dir, u32 born)
{
	struct nf_conn_seqadj *seqadj = nfct_seqadj(ct);

	h->followed = true;
	h->born = born;
	h->base = 0;
	h->cum = 0;
	h->has_corr_birth = false;
	if (seqadj) {
		const struct nf_ct_seqadj *s = &seqadj->seq[dir];

		/* New bytes normally lie after every correction point; after
		 * a failover the first ones may be the line at it again.
		 */
		h->base = nf_ct_seq_offset(ct, dir, born);
		if (s->offset_before != s->offset_after &&
		    before(s->correction_pos, born)) {
			h->has_corr_birth = true;
			h->corr_birth = s->correction_pos;
		}
	}
}

/* Room for the record of a line of @len bytes, reserved before the line
 * changes any state: if there is none, the line is withheld instead.
 */
int nf_ftp_sym_rec_reserve(struct ftp_sym_ctx *c, unsigned int len)
{
	len += FTP_SYM_TEXT_MAX;
	if (c->spare && c->spare_len >= len)
		return 0;
	kfree(c->spare);
	c->spare_len = len;
	c->spare = kmalloc(struct_size(c->spare, text, len), GFP_ATOMIC);
	return c->spare ? 0 : -ENOMEM;
}

static void ftp_sym_rec_forget_oldest(struct ftp_sym_half *h)
{
	struct ftp_sym_rec *old = h->rec[--h->nrec];

	if (!h->evicted || after(old->end, h->evicted_end))
		h->evicted_end = old->end;
	h->evicted = true;
	h->rec[h->nrec] = NULL;
	kfree(old);
}

/* Record what the peer gets for the changed line [start, start + len), at
 * its real length, and account for its length change.
 */
struct ftp_sym_rec *nf_ftp_sym_record(struct ftp_sym_ctx *c,
				      struct ftp_sym_half *h, u32 start,
				      const char *line, unsigned int len,
				      const struct ftp_sym_line *pl,
				      const struct ftp_sym_verdict *v)
{
	unsigned int n = pl->match_off;
	unsigned int rlen = len - pl->match_len + v->tlen;
	struct ftp_sym_rec *r;

	if (len > FTP_SYM_LINE_MAX || !c->spare || rlen > c->spare_len)
		return NULL;

	/* The reserve is sized for the worst case; keep the real size. */
	r = kmalloc(struct_size(r, text, rlen), GFP_ATOMIC);
	if (r)
		kfree(c->spare);
	else
		r = c->spare;
	c->spare = NULL;

	r->start = start;
	r->end = start + len;
	memcpy(r->text, line, n);
	memcpy(r->text + n, v->text, v->tlen);
	memcpy(r->text + n + v->tlen, line + n + pl->match_len,
	       len - n - pl->match_len);
	r->len = rlen;
	r->delta = v->tlen - (int)pl->match_len;

	if (h->nrec == FTP_SYM_RECS)
		ftp_sym_rec_forget_oldest(h);
	memmove(&h->rec[1], &h->rec[0], h->nrec * sizeof(h->rec[0]));
	h->rec[0] = r;
	h->nrec++;

	/* One seqadj call per segment, at the first rewritten line start:
	 * two calls for one segment would lose the first delta.
	 */
	if (r->delta) {
		if (!c->adjust) {
			c->adjust = true;
			c->adj_seq = start;
		}
		c->delta += r->delta;
		h->cum += r->delta;
	}
	r->end_out = r->end + h->base + h->cum;
	return r;
}

void nf_ftp_sym_free_records(struct ftp_sym_half *h)
{
	while (h->nrec) {
		h->nrec--;
		kfree(h->rec[h->nrec]);
		h->rec[h->nrec] = NULL;
	}
}

/* @ack acknowledges bytes of direction @dir as their receiver counts them:
 * the original sequence number, undoing seqadj as nf_ct_seq_adjust() does.
 */
u32 nf_ftp_sym_ack_orig(const struct nf_conn *ct, enum ip_conntrack_dir dir,
			u32 ack)
{
	struct nf_conn_seqadj *seqadj = nfct_seqadj(ct);
	const struct nf_ct_seqadj *s;

	if (!seqadj)
		return ack;
	s = &seqadj->seq[dir];
	if (after(ack - s->offset_before, s->correction_pos))
		return ack - s->offset_after;
	return ack - s->offset_before;
}

/* The other direction acknowledged up to @ack, as its receiver counts:
 * rewritten lines of ours that it has can never be retransmitted whole
 * again, so their records go.
 */
void nf_ftp_sym_ack(struct ftp_sym_ctx *c, u32 ack)
{
	struct ftp_sym_stream *st = c->info->stream;
	struct ftp_sym_half *h;

	if (!st)
		return;
	h = &st->half[!c->dir];
	while (h->nrec) {
		struct ftp_sym_rec *r = h->rec[h->nrec - 1];

		if (before(ack, r->end_out))
			break;
		if (!h->released || after(r->end, h->released_end))
			h->released_end = r->end;
		h->released = true;
		h->rec[--h->nrec] = NULL;
		kfree(r);
		st->touched = jiffies;
	}
}

/* ------------------------------------------------------------------ */
/* Retransmissions                                                     */
/* ------------------------------------------------------------------ */

/* A retransmission of bytes the receiver acknowledged: the old text would
 * land at the wrong place after a length change, and the receiver has it.
 * Send the segment without payload: its old sequence number makes the
 * receiver repeat its acknowledgment, and the sender moves on.
 */
static void ftp_sym_retrans_acked(struct ftp_sym_ctx *c)
{
	ftp_sym_stat(c->fsn, FTP_SYM_STAT_NAT_RETRANS_ACKED);
	nf_ftp_sym_trim(c, 0);
}

/* After a replayed record the segment may no longer fit the route's MTU:
 * send what comes before the record, or the record alone.  Returns false
 * if it had to cut.
 */
static bool ftp_sym_replay_fits(struct ftp_sym_ctx *c, u32 s,
				const struct ftp_sym_rec *r)
{
	if ((int)c->room >= c->grow)
		return true;
	if (after(r->start, s)) {
		ftp_sym_unplan_last(c);
		nf_ftp_sym_trim(c, r->start - s);
	} else {
		nf_ftp_sym_trim(c, r->end - s);
	}
	return false;
}

/* Old bytes [c->seq, end) of a retransmission under NAT: give them the
 * same treatment as the first time, from the records.  @more: new bytes
 * follow.  Returns false when the segment is settled (nothing new may be
 * looked at), with c->why set if it must be dropped.
 */
bool nf_ftp_sym_old_bytes(struct ftp_sym_ctx *c, u32 end, bool more)
{
	struct ftp_sym_stream *st = c->info->stream;
	struct ftp_sym_half *h;
	u32 s = c->seq;
	int i;

	if (!c->nat)
		return true;

	if (!st) {
		/* Every rewritten line was acknowledged before the stream
		 * went, the last length change at seqadj's correction point
		 * among them.
		 */
		struct nf_conn_seqadj *seqadj = nfct_seqadj(c->ct);
		const struct nf_ct_seqadj *sa;

		if (!seqadj)
			return true;
		sa = &seqadj->seq[c->dir];
		if (sa->offset_before != sa->offset_after &&
		    !after(s, sa->correction_pos)) {
			ftp_sym_retrans_acked(c);
			return false;
		}
		return true;
	}

	h = &st->half[c->dir];
	if (h->released && before(s, h->released_end)) {
		ftp_sym_retrans_acked(c);
		return false;
	}
	if (h->evicted && before(s, h->evicted_end)) {
		c->why = "retransmission of a rewritten line no longer recorded";
		return false;
	}
	if (before(s, h->born) && h->has_corr_birth &&
	    !after(s, h->corr_birth)) {
		ftp_sym_retrans_acked(c);
		return false;
	}

	/* Oldest first, so the edits stay in payload order. */
	for (i = h->nrec - 1; i >= 0; i--) {
		struct ftp_sym_rec *r = h->rec[i];

		if (!before(s, r->end) || !after(end, r->start))
			continue;
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_NAT_REEMIT);
		if (after(s, r->start) && !before(end, r->end)) {
			/* Starts inside the line: resend it whole. */
			nf_ftp_sym_set_shift(c, s - r->start);
			if (!nf_ftp_sym_plan(c, 0, r->end - s, r->text, r->len))
				goto too_many;
			if (!ftp_sym_replay_fits(c, s, r))
				return false;
		} else if (!before(r->start, s) && !before(end, r->end)) {
			if (!nf_ftp_sym_plan(c, r->start - s, r->end - r->start,
					     r->text, r->len))
				goto too_many;
			if (!ftp_sym_replay_fits(c, s, r))
				return false;
		} else {
			/* Ends inside the line: the part that carries its
			 * end will bring it whole.
			 */
			u32 from = after(r->start, s) ? r->start : s;

			if (!nf_ftp_sym_plan(c, from - s, end - from, NULL, 0))
				goto too_many;
		}
	}

	/* Bytes of a line still held back stay out, unless new bytes follow:
	 * then the held line is emitted whole in place (stream.c).
	 */
	if ((c->info->dflags[c->dir] & FTP_SYM_D_BUF) && h->hold && !more &&
	    after(end, h->line_seq)) {
		u32 from = after(h->line_seq, s) ? h->line_seq : s;

		if (!nf_ftp_sym_plan(c, from - s, end - from, NULL, 0))
			goto too_many;
	}
	return true;

too_many:
	c->why = "too many edits in one segment";
	return false;
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */
/* ------------------------------------------------------------------ */

/* Will seqadj give the segment the offset our records say it needs?  With
 * one correction point per direction, a retransmission from before the
 * last two length changes cannot be represented.
 */
static bool ftp_sym_seq_consistent(struct ftp_sym_ctx *c)
{
	struct ftp_sym_stream *st = c->info->stream;
	struct nf_conn_seqadj *seqadj;
	u32 out = c->seq - c->shift;
	struct ftp_sym_half *h;
	s32 want, have;
	int i;

	/* New bytes only: they lie after every correction point. */
	if (!before(c->seq, c->new_from) || !st)
		return true;
	h = &st->half[c->dir];
	if (before(out, h->born)) {
		want = h->base;
	} else {
		want = h->base + h->cum;
		for (i = 0; i < h->nrec; i++)
			if (!before(h->rec[i]->start, out))
				want -= h->rec[i]->delta;
	}
	seqadj = nfct_seqadj(c->ct);
	if (!seqadj)
		return want == 0;
	/* This segment's own seqadj call moves the correction point to a
	 * line after out, where the current total then applies.
	 */
	have = c->adjust ? seqadj->seq[c->dir].offset_after :
	       nf_ct_seq_offset(c->ct, c->dir, out);
	return want == have;
}

/* Turn the planned edits into the packet the peer gets. */
static bool ftp_sym_apply(struct ftp_sym_ctx *c)
{
	struct sk_buff *skb = c->skb;
	int grow = 0, i;
	struct tcphdr *th;
	__be32 oldseq, newseq;

	for (i = 0; i < c->nedits; i++) {
		if (c->has_cut && c->sc->edits[i].off >= c->cut)
			continue;
		grow += (int)c->sc->edits[i].rep_len - (int)c->sc->edits[i].len;
	}
	if (c->has_cut)
		grow -= c->len - c->cut;
	if (skb_ensure_writable(skb, skb->len))
		return false;
	if (grow > 0 && skb->len + grow > 65535)
		return false;
	if (grow > 0 && grow > skb_tailroom(skb) &&
	    pskb_expand_head(skb, 0, grow - skb_tailroom(skb), GFP_ATOMIC))
		return false;

	if (c->has_cut && c->cut < c->len &&
	    !c->nat->mangle(skb, c->ct, c->ctinfo, c->protoff, c->cut,
			    c->len - c->cut, NULL, 0))
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

/* The segment is decided: seqadj, then the packet. */
int nf_ftp_sym_finish(struct ftp_sym_ctx *c)
{
	bool consistent = true;

	if (c->nat)
		consistent = ftp_sym_seq_consistent(c);

	/* State has moved on as if this segment went out; if it is dropped
	 * below, its retransmission is rebuilt from the records and must
	 * meet the same sequence numbers.
	 */
	if (c->adjust && c->delta) {
		nf_ct_seqadj_set(c->ct, c->ctinfo, htonl(c->adj_seq), c->delta);
		/* nf_ct_seqadj_set() raises no event, and ctnetlink puts the
		 * adjustment only in events that name it: without this,
		 * conntrackd never hands it to an HA backup, and there every
		 * later segment of this direction is off by the rewrite.
		 */
		nf_conntrack_event_cache(IPCT_SEQADJ, c->ct);
	}
	if (c->why)
		return NF_DROP;
	if (!consistent) {
		c->why = "retransmission not representable by seqadj";
		return NF_DROP;
	}
	if (c->nat && (c->nedits || c->shift || c->has_cut) &&
	    !ftp_sym_apply(c)) {
		c->why = "cannot mangle packet";
		return NF_DROP;
	}
	return NF_ACCEPT;
}

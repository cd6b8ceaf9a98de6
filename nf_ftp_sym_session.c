// SPDX-License-Identifier: GPL-2.0-only
/* The FTP session as ftp-sym sees it: who is the client, which requests
 * await a reply, what a PORT/EPRT/227/229 line may open, and the
 * expectation it opens.  Works on whole parsed lines only; where the bytes
 * came from and how they reach the peer is stream.c's and rewrite.c's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "nf_ftp_sym_compat.h"

#include <linux/in.h>
#include <linux/net.h>
#include <linux/ratelimit.h>
#include <net/netfilter/nf_log.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_expect.h>
#include <net/netfilter/nf_conntrack_helper.h>

#include "nf_ftp_sym_priv.h"

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

/* A refusal goes through nf_log, as the in-tree helpers' messages do, so
 * that it reaches the namespace's own logger (nfnetlink_log, ulogd, "log
 * group" setups), rate-limited per namespace: a peer triggers it.
 */
static void ftp_sym_log_reject(struct ftp_sym_ctx *c, const char *what,
			       const struct ftp_sym_line *line)
{
	if (!__ratelimit(&c->fsn->log_rs))
		return;
	nf_log_packet(nf_ct_net(c->ct), nf_ct_l3num(c->ct), 0, c->skb, NULL,
		      NULL, NULL, "nf_ct_%s: refused %s: %s, port %u ",
		      NF_FTP_SYM_NAME, ftp_sym_kind_name(line->kind), what,
		      line->ep.port);
}

/* The data connection is up: keep its master alive while it lives. */
void nf_ftp_sym_expectfn(struct nf_conn *ct, struct nf_conntrack_expect *exp)
{
	nf_ftp_sym_keepalive_track(ct, exp);
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
			if (!nf_ftp_sym_knob(c->fsn, FTP_SYM_KNOB_LOOSE)) {
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

	if (line->ep.port < 1024 &&
	    !nf_ftp_sym_knob(c->fsn, FTP_SYM_KNOB_ALLOW_LOW_PORTS)) {
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
	exp->expectfn = nf_ftp_sym_expectfn;

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
	if (v->expect) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_EXPECT_CREATED);
		nf_ftp_sym_expect_limits(c->fsn, ct, exp);
	}
	nf_ct_expect_put(exp);
}

/* Counters, parse errors and policy for a PORT, EPRT, 227 or 229 line from
 * the right side; @solicited tells whether a reply answers its request.
 */
static void ftp_sym_endpoint_line(struct ftp_sym_ctx *c,
				  const struct ftp_sym_line *line,
				  bool solicited, enum ftp_sym_act act,
				  struct ftp_sym_verdict *v)
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
		ftp_sym_stat_parse_error(c->fsn, line->error);
		pr_debug("%s: %s\n", ftp_sym_kind_name(line->kind),
			 ftp_sym_error_name(line->error));
		return;
	}
	if (!solicited) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_REJECT_UNSOLICITED);
		ftp_sym_log_reject(c, "unsolicited reply", line);
		return;
	}
	/* Its start already left untranslated under NAT: an expectation
	 * would point at our own public address, which no NAT follows.
	 */
	if (act == FTP_SYM_ACT_NO_EXPECT) {
		ftp_sym_stat(c->fsn, FTP_SYM_STAT_NAT_MISSED);
		return;
	}
	ftp_sym_expect(c, line, v);
}

/* Roles, requests and their replies, TLS: the state machine of one whole
 * line.  Returns the verdict for an endpoint line, whose text NAT may
 * rewrite.  Commands come from the client, replies from the server; a
 * line from the wrong side is counted and otherwise ignored.
 */
void nf_ftp_sym_line(struct ftp_sym_ctx *c, const struct ftp_sym_line *line,
		     enum ftp_sym_act act, struct ftp_sym_verdict *v)
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
			ftp_sym_endpoint_line(c, line, true, act, v);
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
		ftp_sym_endpoint_line(c, line, req == FTP_SYM_REQ_PASV, act, v);
		break;
	case FTP_SYM_K_229:
		ftp_sym_endpoint_line(c, line, req == FTP_SYM_REQ_EPSV, act, v);
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
void nf_ftp_sym_unparsed_line(struct ftp_sym_ctx *c, struct ftp_sym_line *pl)
{
	struct ftp_sym_verdict v;

	if (pl->kind == FTP_SYM_K_NONE)
		return;
	if (ftp_sym_kind_has_endpoint(pl->kind) && pl->error == FTP_SYM_E_OK)
		pl->error = FTP_SYM_E_LONGLINE;
	nf_ftp_sym_line(c, pl, FTP_SYM_ACT_FULL, &v);
}

/* May this incomplete line still need rewriting?  Then NAT holds it back
 * instead of letting its first bytes through unmodified.
 */
bool nf_ftp_sym_hold_worthy(const struct ftp_sym_ctx *c,
			    const struct ftp_sym_line *line, const char *p)
{
	const struct nf_ct_ftp_sym *info = c->info;
	bool known = info->flags & FTP_SYM_F_ROLES;
	bool client = known && ftp_sym_client_dir(info, c->dir);
	bool server = known && !client;
	unsigned int head = ftp_sym_req_head(info);

	if (info->ml_code[c->dir])
		return false;

	switch (line->kind) {
	case FTP_SYM_K_PORT:
	case FTP_SYM_K_EPRT:
		return !server;
	case FTP_SYM_K_227:
		return !client && head == FTP_SYM_REQ_PASV;
	case FTP_SYM_K_229:
		return !client && head == FTP_SYM_REQ_EPSV;
	case FTP_SYM_K_NONE:
		/* Too short to tell: "P", "EP", "22"... */
		if (*p >= '0' && *p <= '9')
			return !client && (head == FTP_SYM_REQ_PASV ||
					   head == FTP_SYM_REQ_EPSV);
		return !server;
	default:
		return false;
	}
}

/* The text NAT puts in place of the line's endpoint, and whether that
 * changes anything (a masqueraded server's own 227 stays as it is).
 */
bool nf_ftp_sym_format_verdict(const struct ftp_sym_line *pl,
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

// SPDX-License-Identifier: GPL-2.0-only
/* What conntrackd and other ctnetlink users can do to a control
 * connection, for the selftests (the conntrack tool cannot: it has no
 * master tuple and no helper update).
 *
 *   nfct_inject gre-child SRC DST SPORT DPORT
 *	create an IPv4 GRE conntrack (keys 1 and 2, between 203.0.113.1 and
 *	203.0.113.2) whose master is the TCP connection SRC:SPORT -> DST:DPORT,
 *	as PPTP's GRE data channels are made
 *   nfct_inject helper SRC DST SPORT DPORT HELPER
 *	update that TCP connection with CTA_HELP naming HELPER (its current
 *	helper): the kernel calls the helper's from_nlattr(), as for an entry
 *	conntrackd sends again
 *   nfct_inject resync-expect SRC DST SPORT DPORT
 *	delete the expectations of that TCP connection and create them again
 *	as conntrackd does on an HA backup with libnetfilter_conntrack 1.0.9,
 *	whose builder drops the expectfn, the NAT tuple and the class
 *	(docs/ha.md); then print each one as the kernel has it now:
 *	"expect dport=N fn=NAME|none"
 *   nfct_inject seqadj
 *	print the sequence adjustment of every TCP connection to port 21,
 *	one line each: "SRC:SPORT seqadj orig POS BEFORE AFTER reply POS
 *	BEFORE AFTER" ("none" without one): what a rewrite left, or what
 *	conntrackd brought
 *
 * IPv4 only; exit status 0 on success, 1 with a message otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

static int usage(void)
{
	fprintf(stderr,
		"usage: nfct_inject gre-child SRC DST SPORT DPORT\n"
		"       nfct_inject helper SRC DST SPORT DPORT HELPER\n"
		"       nfct_inject resync-expect SRC DST SPORT DPORT\n"
		"       nfct_inject seqadj\n");
	return 1;
}

static int addr(const char *s, unsigned int *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "nfct_inject: bad address %s\n", s);
		return -1;
	}
	*out = a.s_addr;
	return 0;
}

static int run(enum nf_conntrack_query q, struct nf_conntrack *ct)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	int ret;

	if (!h) {
		perror("nfct_open");
		return 1;
	}
	ret = nfct_query(h, q, ct);
	if (ret < 0)
		fprintf(stderr, "nfct_inject: %s\n", strerror(errno));
	nfct_close(h);
	return ret < 0;
}

#define MAX_EXP 64

struct exp_walk {
	const struct nf_conntrack *master;
	struct nf_expect *found[MAX_EXP];
	int n;
	int print;
};

static int exp_cb(enum nf_conntrack_msg_type type, struct nf_expect *exp,
		  void *data)
{
	struct exp_walk *w = data;
	const struct nf_conntrack *m, *t;
	const char *fn = "none";

	(void)type;
	m = nfexp_get_attr(exp, ATTR_EXP_MASTER);
	if (!m || !nfct_cmp(w->master, m, NFCT_CMP_ORIG))
		return NFCT_CB_CONTINUE;
	if (w->print) {
		t = nfexp_get_attr(exp, ATTR_EXP_EXPECTED);
		if (nfexp_attr_is_set(exp, ATTR_EXP_FN))
			fn = nfexp_get_attr(exp, ATTR_EXP_FN);
		printf("expect dport=%u fn=%s\n",
		       t ? ntohs(nfct_get_attr_u16(t, ATTR_PORT_DST)) : 0, fn);
	} else if (w->n < MAX_EXP) {
		w->found[w->n++] = nfexp_clone(exp);
	}
	return NFCT_CB_CONTINUE;
}

/* The callback registered with @h sees every expectation. */
static int exp_dump(struct nfct_handle *h)
{
	uint32_t family = AF_INET;

	if (nfexp_query(h, NFCT_Q_DUMP, &family) < 0) {
		fprintf(stderr, "nfct_inject: dump: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static int resync_expect(const struct nf_conntrack *master)
{
	struct exp_walk w = { .master = master };
	struct nfct_handle *h = nfct_open(EXPECT, 0);
	int i, ret = 0;

	if (!h) {
		perror("nfct_open");
		return 1;
	}
	nfexp_callback_register(h, NFCT_T_ALL, exp_cb, &w);
	if (exp_dump(h)) {
		nfct_close(h);
		return 1;
	}
	for (i = 0; i < w.n; i++) {
		if (nfexp_query(h, NFCT_Q_DESTROY, w.found[i]) < 0) {
			fprintf(stderr, "nfct_inject: delete: %s\n",
				strerror(errno));
			ret = 1;
		}
		/* What 1.0.9's nfexp_nlmsg_build() leaves out. */
		nfexp_attr_unset(w.found[i], ATTR_EXP_FN);
		nfexp_attr_unset(w.found[i], ATTR_EXP_NAT_TUPLE);
		nfexp_attr_unset(w.found[i], ATTR_EXP_NAT_DIR);
		nfexp_attr_unset(w.found[i], ATTR_EXP_CLASS);
		if (nfexp_query(h, NFCT_Q_CREATE, w.found[i]) < 0) {
			fprintf(stderr, "nfct_inject: create: %s\n",
				strerror(errno));
			ret = 1;
		}
		nfexp_destroy(w.found[i]);
	}
	w.print = 1;
	if (exp_dump(h))
		ret = 1;
	nfct_close(h);
	if (!w.n) {
		fprintf(stderr, "nfct_inject: no expectation of that connection\n");
		ret = 1;
	}
	return ret;
}

static int seqadj_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		     void *data)
{
	static const int a[] = {
		ATTR_ORIG_NAT_SEQ_CORRECTION_POS,
		ATTR_ORIG_NAT_SEQ_OFFSET_BEFORE,
		ATTR_ORIG_NAT_SEQ_OFFSET_AFTER,
		ATTR_REPL_NAT_SEQ_CORRECTION_POS,
		ATTR_REPL_NAT_SEQ_OFFSET_BEFORE,
		ATTR_REPL_NAT_SEQ_OFFSET_AFTER,
	};
	char src[INET_ADDRSTRLEN];
	unsigned int v[6];
	struct in_addr in;
	int i;

	(void)type;
	(void)data;
	if (nfct_get_attr_u8(ct, ATTR_L4PROTO) != IPPROTO_TCP ||
	    ntohs(nfct_get_attr_u16(ct, ATTR_PORT_DST)) != 21)
		return NFCT_CB_CONTINUE;
	in.s_addr = nfct_get_attr_u32(ct, ATTR_IPV4_SRC);
	inet_ntop(AF_INET, &in, src, sizeof(src));
	printf("%s:%u seqadj", src, ntohs(nfct_get_attr_u16(ct, ATTR_PORT_SRC)));
	for (i = 0; i < 6; i++) {
		if (!nfct_attr_is_set(ct, a[i])) {
			printf(" none\n");
			return NFCT_CB_CONTINUE;
		}
		v[i] = nfct_get_attr_u32(ct, a[i]);
	}
	printf(" orig %u %d %d reply %u %d %d\n", v[0], (int)v[1], (int)v[2],
	       v[3], (int)v[4], (int)v[5]);
	return NFCT_CB_CONTINUE;
}

static int seqadj_dump(void)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	uint32_t family = AF_INET;
	int ret = 0;

	if (!h) {
		perror("nfct_open");
		return 1;
	}
	nfct_callback_register(h, NFCT_T_ALL, seqadj_cb, NULL);
	if (nfct_query(h, NFCT_Q_DUMP, &family) < 0) {
		fprintf(stderr, "nfct_inject: dump: %s\n", strerror(errno));
		ret = 1;
	}
	nfct_close(h);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned int src, dst, gsrc, gdst;
	struct nf_conntrack *ct;
	int ret;

	if (argc == 2 && !strcmp(argv[1], "seqadj"))
		return seqadj_dump();
	if (argc < 6 || addr(argv[2], &src) || addr(argv[3], &dst))
		return usage();
	ct = nfct_new();
	if (!ct)
		return 1;

	if (!strcmp(argv[1], "gre-child") && argc == 6) {
		if (addr("203.0.113.1", &gsrc) || addr("203.0.113.2", &gdst))
			return 1;
		nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
		nfct_set_attr_u32(ct, ATTR_IPV4_SRC, gsrc);
		nfct_set_attr_u32(ct, ATTR_IPV4_DST, gdst);
		nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_GRE);
		/* GRE keys travel in the port attributes. */
		nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(1));
		nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(2));
		nfct_setobjopt(ct, NFCT_SOPT_SETUP_REPLY);
		nfct_set_attr_u32(ct, ATTR_TIMEOUT, 30);
		nfct_set_attr_u8(ct, ATTR_MASTER_L3PROTO, AF_INET);
		nfct_set_attr_u8(ct, ATTR_MASTER_L4PROTO, IPPROTO_TCP);
		nfct_set_attr_u32(ct, ATTR_MASTER_IPV4_SRC, src);
		nfct_set_attr_u32(ct, ATTR_MASTER_IPV4_DST, dst);
		nfct_set_attr_u16(ct, ATTR_MASTER_PORT_SRC,
				  htons(atoi(argv[4])));
		nfct_set_attr_u16(ct, ATTR_MASTER_PORT_DST,
				  htons(atoi(argv[5])));
		ret = run(NFCT_Q_CREATE, ct);
	} else if (!strcmp(argv[1], "helper") && argc == 7) {
		nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
		nfct_set_attr_u32(ct, ATTR_IPV4_SRC, src);
		nfct_set_attr_u32(ct, ATTR_IPV4_DST, dst);
		nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_TCP);
		nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(atoi(argv[4])));
		nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(atoi(argv[5])));
		nfct_set_attr(ct, ATTR_HELPER_NAME, argv[6]);
		ret = run(NFCT_Q_UPDATE, ct);
	} else if (!strcmp(argv[1], "resync-expect") && argc == 6) {
		nfct_set_attr_u8(ct, ATTR_L3PROTO, AF_INET);
		nfct_set_attr_u32(ct, ATTR_IPV4_SRC, src);
		nfct_set_attr_u32(ct, ATTR_IPV4_DST, dst);
		nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_TCP);
		nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(atoi(argv[4])));
		nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(atoi(argv[5])));
		ret = resync_expect(ct);
	} else {
		ret = usage();
	}
	nfct_destroy(ct);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0-only
/* Unit test of ftp-sym check's ruleset reading (ruleset*.c): port sets,
 * and what outputs of "nft -j list ruleset" and "iptables-save" reduce to.
 * testdata/features.json is what nft 1.0.6 printed for
 * testdata/features.nft plus one iptables-nft rule (an "xt" expression,
 * which must be left to iptables-save), port-forward.json for
 * examples/port-forward-server.nft; both were made where ftp-sym is not
 * loaded, with the stock helper's type, then renamed.  iptables-save.txt
 * is iptables-save 1.8.9's output, one line added by hand (a udp rule the
 * stock helper refuses).
 *
 *   ruleset_test DIR
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftp-sym.h"
#include "ruleset.h"

struct ftp_sym_opts opt;

static int failures, checks;

static void __attribute__((format(printf, 2, 3)))
expect(bool ok, const char *fmt, ...)
{
	va_list ap;

	checks++;
	if (ok)
		return;
	failures++;
	fputs("ruleset_test: FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[512], *buf = NULL;
	size_t cap = 0, n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f) {
		printf("ruleset_test: cannot open %s\n", path);
		exit(1);
	}
	*len = 0;
	do {
		if (cap - *len < 4096) {
			cap = cap * 2 + 4096;
			buf = realloc(buf, cap);
			if (!buf)
				exit(1);
		}
		n = fread(buf + *len, 1, cap - *len - 1, f);
		*len += n;
	} while (n);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

static void expect_ports(const struct portset *ps, const char *want,
			 const char *what)
{
	char got[256];

	ps_format(got, sizeof(got), ps);
	expect(!strcmp(got, want), "%s: ports %s, want %s", what, got, want);
}

static void test_portsets(void)
{
	struct portset a = PORTSET_INIT, b = PORTSET_INIT;

	ps_add(&a, 21, 21);
	ps_add(&a, 2100, 2200);
	ps_add(&a, 22, 22);		/* adjacent: merges with 21 */
	ps_add(&a, 2150, 2300);		/* overlaps */
	expect_ports(&a, "21-22,2100-2300", "add and merge");
	ps_add(&a, 23, 2099);		/* fills the gap */
	expect_ports(&a, "21-2300", "add fills a gap");
	ps_set_all(&b);
	expect(ps_all(&b), "set_all is all");
	expect_ports(&b, "any", "all");
	ps_invert(&b);
	expect(ps_empty(&b), "the complement of all is empty");
	expect_ports(&b, "none", "none");
	ps_add(&b, 0, 20);
	ps_add(&b, 65535, 65535);
	ps_invert(&b);
	expect_ports(&b, "21-65534", "invert at both ends");
	ps_free(&b);
	ps_add(&b, 1000, 2150);
	ps_intersect(&a, &b);
	expect_ports(&a, "1000-2150", "intersect");
	b.r.n = 0;
	ps_add(&b, 1500, 1500);
	ps_subtract(&a, &b);
	expect_ports(&a, "1000-1499,1501-2150", "subtract one port");
	expect(ps_has(&a, 1000) && ps_has(&a, 2150) && !ps_has(&a, 1500) &&
	       !ps_has(&a, 999), "has");
	b.r.n = 0;
	ps_add(&b, 5, 6);
	ps_union(&a, &b);
	expect_ports(&a, "5-6,1000-1499,1501-2150", "union");
	ps_free(&a);
	ps_free(&b);
}

/* The @n-th action (from 0) of @kind whose place contains @where. */
static const struct rs_action *find(const struct ruleset *rs,
				    enum rs_kind kind, const char *where,
				    size_t n)
{
	size_t i;

	for (i = 0; i < rs->actions.n; i++) {
		const struct rs_action *a =
			VEC_AT(&rs->actions, struct rs_action, i);

		if (a->kind == kind && strstr(a->where, where) && !n--)
			return a;
	}
	return NULL;
}

static size_t count(const struct ruleset *rs, enum rs_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < rs->actions.n; i++)
		n += VEC_AT(&rs->actions, struct rs_action, i)->kind == kind;
	return n;
}

static void expect_action(const struct rs_action *a, const char *what,
			  enum rs_hook hook, int prio, unsigned int fams,
			  const char *ports, const char *helper, int to_port,
			  bool daddr)
{
	if (!a) {
		expect(false, "%s: no such action", what);
		return;
	}
	expect(a->hook == hook && a->prio == prio,
	       "%s: hook %s priority %d, want %s %d", what,
	       hook_name(a->hook), a->prio, hook_name(hook), prio);
	expect(a->fams == fams, "%s: families %s, want %s", what,
	       fams_name(a->fams), fams_name(fams));
	expect_ports(&a->dports, ports, what);
	if (helper)
		expect(!strcmp(a->helper, helper), "%s: helper %s, want %s",
		       what, a->helper, helper);
	expect(a->to_port == to_port, "%s: to_port %d, want %d", what,
	       a->to_port, to_port);
	expect(a->daddr == daddr, "%s: daddr %d, want %d", what, a->daddr,
	       daddr);
}

static void test_nft_features(const char *dir)
{
	struct ruleset rs = RULESET_INIT;
	size_t len, i;
	char *json;

	json = slurp(dir, "features.json", &len);
	expect(ruleset_parse_nft(&rs, json, len) == 0 && rs.nft_read,
	       "features.json parses");
	/* sub is reached twice: through @ports and through the vmap. */
	expect_action(find(&rs, ACT_HELPER, "chain sub ", 0),
		      "helper via the named set", HOOK_PREROUTING, -150,
		      FAM_IPV4, "21,2100-2149,2151-2200", "ftp-sym", 0, false);
	expect_action(find(&rs, ACT_HELPER, "chain sub ", 1),
		      "helper via the verdict map", HOOK_PREROUTING, -150,
		      FAM_IPV4, "990", "ftp-sym", 0, false);
	expect_action(find(&rs, ACT_HELPER, "chain local_out ", 0),
		      "helper in output", HOOK_OUTPUT, 0, FAM_IPV4, "21",
		      "ftp-sym", 0, false);
	/* udp dport 21: never TCP; nfproto ipv6 with an "ip" object: none */
	expect(count(&rs, ACT_HELPER) == 3, "%zu helper actions, want 3",
	       count(&rs, ACT_HELPER));
	expect_action(find(&rs, ACT_DNAT, "chain dstnat handle 14", 0),
		      "dnat ip to :21", HOOK_PREROUTING, -100, FAM_IPV4,
		      "2121", NULL, 21, true);
	expect_action(find(&rs, ACT_DNAT, "chain dstnat handle 16", 0),
		      "dnat ip6 without a port", HOOK_PREROUTING, -100,
		      FAM_IPV6, "21,2121", NULL, 0, true);
	expect(count(&rs, ACT_DNAT) == 2 && count(&rs, ACT_SNAT) == 0,
	       "the iptables-nft rule (xt) is left out");
	for (i = 0; i < rs.objects.n; i++) {
		const struct rs_helper_obj *o =
			VEC_AT(&rs.objects, struct rs_helper_obj, i);

		expect(!strcmp(o->helper, "ftp-sym"), "object %s: helper %s",
		       o->where, o->helper);
		expect(o->used == !strstr(o->where, "unused"),
		       "object %s: used %d", o->where, o->used);
	}
	expect(rs.objects.n == 2, "%zu objects, want 2", rs.objects.n);
	ruleset_free(&rs);
	free(json);

	json = slurp(dir, "port-forward.json", &len);
	rs = (struct ruleset)RULESET_INIT;
	expect(ruleset_parse_nft(&rs, json, len) == 0,
	       "port-forward.json parses");
	expect_action(find(&rs, ACT_HELPER, "chain pre ", 0),
		      "port-forward-server.nft: helper", HOOK_PREROUTING,
		      -150, FAM_IPV4, "21,2121", "ftp-sym", 0, true);
	expect_action(find(&rs, ACT_DNAT, "chain dstnat ", 0),
		      "port-forward-server.nft: dnat", HOOK_PREROUTING, -100,
		      FAM_IPV4, "21,2121", NULL, 21, true);
	ruleset_free(&rs);
	free(json);

	rs = (struct ruleset)RULESET_INIT;
	expect(ruleset_parse_nft(&rs, "{\"nftables\": [", 14) == 0 &&
	       !rs.nft_read && strstr(rs.nft_error, "bad JSON"),
	       "bad JSON is noted, not fatal: %s", rs.nft_error);
	ruleset_free(&rs);
}

static void test_iptables(const char *dir)
{
	struct ruleset rs = RULESET_INIT;
	size_t len;
	char *text;

	text = slurp(dir, "iptables-save.txt", &len);
	expect(ruleset_parse_ipt(&rs, 0, text) == 0 && rs.ipt_read[0],
	       "iptables-save.txt parses");
	expect_action(find(&rs, ACT_HELPER, "-A FTPH -p tcp -m multiport", 0),
		      "CT in a user chain, multiport, a quoted comment",
		      HOOK_PREROUTING, -300, FAM_IPV4, "21,2121", "ftp-sym",
		      0, false);
	expect_action(find(&rs, ACT_HELPER, "! --dport 21", 0),
		      "CT with a negated port", HOOK_PREROUTING, -300,
		      FAM_IPV4, "0-20,22-65535", "ftp", 0, false);
	expect(count(&rs, ACT_HELPER) == 2,
	       "%zu helper actions, want 2 (not the udp one)",
	       count(&rs, ACT_HELPER));
	expect_action(find(&rs, ACT_DNAT, "-j DNAT", 0), "DNAT to :21",
		      HOOK_PREROUTING, -100, FAM_IPV4, "2121", NULL, 21, true);
	expect_action(find(&rs, ACT_DNAT, "-j REDIRECT", 0),
		      "REDIRECT of a port range", HOOK_PREROUTING, -100,
		      FAM_IPV4, "3000-3010", NULL, 21, false);
	expect_action(find(&rs, ACT_SNAT, "MASQUERADE", 0), "MASQUERADE",
		      HOOK_POSTROUTING, 100, FAM_IPV4, "any", NULL, 0, false);
	ruleset_free(&rs);
	free(text);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "testdata";

	test_portsets();
	test_nft_features(dir);
	test_iptables(dir);
	printf("ruleset_test: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym check: gather the facts of this network namespace (modules,
 * ruleset, live connections, counters, settings) and decide what is wrong
 * (see check.h).  Every finding has its own id, message and fix; the ids
 * are listed in ftp-sym(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "conntrack.h"
#include "format.h"
#include "ftp-sym.h"
#include "proc.h"

#define FTP_PORT		21
/* Where the expectation table counts as nearly full, in percent. */
#define EXPECT_NEAR_FULL	80
/* At most this many connections are named in a finding. */
#define MAX_NAMED		5

static struct diag *diag_new(struct check *c, const char *id,
			     enum severity sev)
{
	struct diag *d = vec_push(&c->diags);

	if (!d) {
		c->rs.err = ENOMEM;
		return NULL;
	}
	d->id = id;
	d->sev = sev;
	d->where = (struct vec)VEC_INIT(char *);
	return d;
}

static char *vfmt(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static void __attribute__((format(printf, 3, 4)))
diag_text(struct check *c, char **field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(*field);
	*field = vfmt(fmt, ap);
	va_end(ap);
	if (!*field)
		c->rs.err = ENOMEM;
}

static void __attribute__((format(printf, 3, 4)))
diag_where(struct check *c, struct diag *d, const char *fmt, ...)
{
	char **slot;
	va_list ap;
	size_t i;
	char *s;

	va_start(ap, fmt);
	s = vfmt(fmt, ap);
	va_end(ap);
	if (!s) {
		c->rs.err = ENOMEM;
		return;
	}
	for (i = 0; i < d->where.n; i++) {
		if (!strcmp(*VEC_AT(&d->where, char *, i), s)) {
			free(s);
			return;
		}
	}
	slot = vec_push(&d->where);
	if (!slot) {
		free(s);
		c->rs.err = ENOMEM;
		return;
	}
	*slot = s;
}

const char *severity_name(enum severity sev)
{
	return sev == SEV_ERROR ? "error" : sev == SEV_WARNING ? "warning" :
	       "note";
}

static bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static bool module_present(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return path_exists(path);
}

static struct rs_action *action_at(const struct check *c, size_t i)
{
	return VEC_AT(&c->rs.actions, struct rs_action, i);
}

static bool is_ours(const struct rs_action *a)
{
	return a->kind == ACT_HELPER && !strcmp(a->helper, FTP_SYM_HELPER);
}

/* A rule that runs before DNAT sees the address and port the client used. */
static bool before_dnat(const struct rs_action *a)
{
	return a->hook == HOOK_PREROUTING && a->prio < PRIO_DSTNAT;
}

static bool after_dnat(const struct rs_action *a)
{
	return (a->hook == HOOK_PREROUTING && a->prio >= PRIO_DSTNAT) ||
	       a->hook == HOOK_INPUT || a->hook == HOOK_FORWARD ||
	       a->hook == HOOK_POSTROUTING;
}

/* After DNAT, a rule that matches a destination address is looking for
 * the address DNAT has replaced; one that does not may still match.
 */
static bool after_dnat_may_match(const struct rs_action *a)
{
	return after_dnat(a) && !a->daddr;
}

static bool has_ours(const struct check *c, unsigned int fam,
		     bool (*pred)(const struct rs_action *))
{
	size_t i;

	for (i = 0; i < c->rs.actions.n; i++) {
		const struct rs_action *a = action_at(c, i);

		if (is_ours(a) && (a->fams & fam) && pred(a))
			return true;
	}
	return false;
}

/* Add every range of @ports to @out. */
static int ps_add_ports(struct portset *out, const struct portset *ports)
{
	const struct port_range *r;
	size_t k;

	for (k = 0; k < ports->r.n; k++) {
		r = VEC_AT(&ports->r, struct port_range, k);
		if (ps_add(out, r->lo, r->hi))
			return -1;
	}
	return 0;
}

/* Ports of the ftp-sym rules of family @fam that pass @pred. */
static int attached_ports(const struct check *c, unsigned int fam,
			  bool (*pred)(const struct rs_action *),
			  struct portset *out)
{
	size_t i;

	for (i = 0; i < c->rs.actions.n; i++) {
		const struct rs_action *a = action_at(c, i);

		if (!is_ours(a) || !(a->fams & fam) || !pred(a))
			continue;
		if (ps_add_ports(out, &a->dports))
			return -1;
	}
	return 0;
}

/* 21 and every port a helper rule (of any helper) names: the ports that
 * are FTP control ports on this router.
 */
static int known_control_ports(const struct check *c, struct portset *out)
{
	size_t i;

	if (ps_add(out, FTP_PORT, FTP_PORT))
		return -1;
	for (i = 0; i < c->rs.actions.n; i++) {
		const struct rs_action *a = action_at(c, i);

		if (a->kind != ACT_HELPER || ps_all(&a->dports))
			continue;
		if (ps_add_ports(out, &a->dports))
			return -1;
	}
	return 0;
}

/* The control ports DNAT rule @d forwards (before translation). */
static int forwarded_control_ports(const struct rs_action *d,
				   const struct portset *known,
				   struct portset *out)
{
	if (d->to_port > 0 && ps_has(known, (uint16_t)d->to_port)) {
		/* Everything it matches goes to a control port. */
		if (ps_all(&d->dports))
			return ps_add(out, (uint16_t)d->to_port,
				      (uint16_t)d->to_port);
		return ps_copy(out, &d->dports);
	}
	if (d->to_port > 0)
		return 0;
	if (ps_copy(out, &d->dports))
		return -1;
	return ps_intersect(out, known);
}

static void check_modules(struct check *c)
{
	struct diag *d;

	if (c->loaded)
		return;
	d = diag_new(c, "helper-not-loaded", SEV_ERROR);
	if (!d)
		return;
	diag_text(c, &d->message,
		  "nf_conntrack_ftp_sym is not loaded: no helper named %s exists in this network namespace",
		  FTP_SYM_HELPER);
	diag_text(c, &d->fix,
		  "modprobe nf_conntrack_ftp_sym (it loads nf_nat_ftp_sym too); an nft \"ct helper\" object of type \"%s\" loads it by itself",
		  FTP_SYM_HELPER);
	diag_where(c, d, "%s", opt.proc_counters);
}

static void check_attach_rule(struct check *c)
{
	struct diag *d;
	size_t i;

	for (i = 0; i < c->rs.actions.n; i++)
		if (is_ours(action_at(c, i)))
			return;
	d = diag_new(c, "no-helper-rule", SEV_ERROR);
	if (!d)
		return;
	diag_text(c, &d->message,
		  "no rule attaches the %s helper to FTP control connections: it never sees them (helpers are not assigned automatically since Linux 6.0)",
		  FTP_SYM_HELPER);
	diag_text(c, &d->fix,
		  "nft: ct helper ftp { type \"%s\" protocol tcp; l3proto inet; } and, in a chain \"type filter hook prerouting priority -150\", tcp dport 21 ct helper set \"ftp\"; iptables: -t raw -A PREROUTING -p tcp --dport 21 -j CT --helper %s",
		  FTP_SYM_HELPER, FTP_SYM_HELPER);
	for (i = 0; i < c->rs.objects.n; i++) {
		const struct rs_helper_obj *o =
			VEC_AT(&c->rs.objects, struct rs_helper_obj, i);

		if (!strcmp(o->helper, FTP_SYM_HELPER) && !o->used)
			diag_where(c, d, "%s (defined, but no rule in a base chain's path sets it)",
				   o->where);
	}
}

static void check_nat_half(struct check *c)
{
	struct diag *d = NULL;
	size_t i, named = 0;

	if (!c->loaded || c->nat_loaded)
		return;
	for (i = 0; i < c->rs.actions.n; i++) {
		const struct rs_action *a = action_at(c, i);

		if (a->kind == ACT_HELPER)
			continue;
		if (!d) {
			d = diag_new(c, "nat-helper-not-loaded", SEV_ERROR);
			if (!d)
				return;
		}
		if (named++ < MAX_NAMED)
			diag_where(c, d, "%s", a->where);
	}
	if (!d)
		return;
	diag_text(c, &d->message,
		  "the ruleset does NAT but nf_nat_ftp_sym is not loaded: lines that need translating (PORT, EPRT, 227, 229) are withheld and those transfers stall");
	diag_text(c, &d->fix, "modprobe nf_nat_ftp_sym");
}

/* A DNAT rule that forwards control ports: are they covered before
 * DNAT, or only after it, or not at all?
 */
static int check_one_dnat(struct check *c, const struct rs_action *dn,
			  const struct portset *known)
{
	static const unsigned int fams[] = { FAM_IPV4, FAM_IPV6 };
	struct portset fwd = PORTSET_INIT, before = PORTSET_INIT;
	struct portset after = PORTSET_INIT, post = PORTSET_INIT;
	char ports[256];
	struct diag *d;
	size_t f, i;
	int ret = 0;

	for (f = 0; f < N_ELEM(fams) && !ret; f++) {
		if (!(dn->fams & fams[f]))
			continue;
		fwd.r.n = 0;
		before.r.n = 0;
		after.r.n = 0;
		post.r.n = 0;
		if (forwarded_control_ports(dn, known, &fwd) ||
		    attached_ports(c, fams[f], before_dnat, &before) ||
		    attached_ports(c, fams[f], after_dnat_may_match, &after) ||
		    ps_subtract(&fwd, &before)) {
			ret = -1;
			break;
		}
		if (ps_empty(&fwd))
			continue;
		ps_format(ports, sizeof(ports), &fwd);
		/* What a rule after DNAT would have to match, and what of
		 * that no such rule does.
		 */
		if (dn->to_port > 0)
			ret = ps_add(&post, (uint16_t)dn->to_port,
				     (uint16_t)dn->to_port);
		else
			ret = ps_copy(&post, &fwd);
		if (!ret)
			ret = ps_subtract(&post, &after);
		if (ret)
			break;
		if (has_ours(c, fams[f], after_dnat)) {
			bool works = ps_empty(&post);

			d = diag_new(c, "helper-after-dnat",
				     works ? SEV_NOTE : SEV_ERROR);
			if (!d)
				break;
			if (works)
				diag_text(c, &d->message,
					  "%s is attached after DNAT, to what DNAT made of the connections forwarded from port %s (%s): this works as long as the rule matches the translated address and port",
					  FTP_SYM_HELPER, ports,
					  fams_name(fams[f]));
			else
				diag_text(c, &d->message,
					  "%s is attached after DNAT: that rule sees the translated destination, not the address and port the client used, so connections forwarded from port %s (%s) get no helper",
					  FTP_SYM_HELPER, ports,
					  fams_name(fams[f]));
			diag_text(c, &d->fix,
				  "attach it in a chain \"type filter hook prerouting priority -150\" (before dstnat, -100), matching the public address and port %s",
				  ports);
			for (i = 0; i < c->rs.actions.n; i++) {
				const struct rs_action *a = action_at(c, i);

				if (is_ours(a) && (a->fams & fams[f]) &&
				    after_dnat(a))
					diag_where(c, d, "%s (%s priority %d)",
						   a->where, hook_name(a->hook),
						   a->prio);
			}
			diag_where(c, d, "%s (DNAT)", dn->where);
			continue;
		}
		d = diag_new(c, "port-not-covered", SEV_ERROR);
		if (!d)
			break;
		diag_text(c, &d->message,
			  "DNAT forwards FTP control port %s (%s) but no rule attaches %s to it before DNAT: a forwarded server's 227 keeps its private address and passive transfers hang",
			  ports, fams_name(fams[f]), FTP_SYM_HELPER);
		diag_text(c, &d->fix,
			  "add %s to the ports of the rule that attaches %s (tcp dport { 21, %s }), in a prerouting chain before dstnat",
			  ports, FTP_SYM_HELPER, ports);
		diag_where(c, d, "%s (DNAT)", dn->where);
		for (i = 0; i < c->rs.actions.n; i++) {
			const struct rs_action *a = action_at(c, i);

			if (is_ours(a) && (a->fams & fams[f]) && before_dnat(a))
				diag_where(c, d, "%s (attaches %s)", a->where,
					   FTP_SYM_HELPER);
		}
	}
	ps_free(&fwd);
	ps_free(&before);
	ps_free(&after);
	ps_free(&post);
	return ret;
}

static int check_dnat(struct check *c)
{
	struct portset known = PORTSET_INIT, fwd = PORTSET_INIT;
	bool ours = false;
	size_t i;
	int ret;

	for (i = 0; i < c->rs.actions.n; i++)
		ours |= is_ours(action_at(c, i));
	ret = known_control_ports(c, &known);
	if (!ret)
		ret = ps_union(&c->control_ports, &known);
	for (i = 0; !ret && i < c->rs.actions.n; i++) {
		const struct rs_action *a = action_at(c, i);

		if (a->kind != ACT_DNAT || a->hook != HOOK_PREROUTING)
			continue;
		fwd.r.n = 0;
		ret = forwarded_control_ports(a, &known, &fwd);
		if (!ret)
			ret = ps_union(&c->control_ports, &fwd);
		/* Without any rule, no-helper-rule says it all. */
		if (!ret && ours)
			ret = check_one_dnat(c, a, &known);
	}
	ps_free(&known);
	ps_free(&fwd);
	return ret;
}

/* Output chains see what this machine opens; the other hooks what it
 * forwards or receives.
 */
static bool local(const struct rs_action *a)
{
	return a->hook == HOOK_OUTPUT;
}

/* The stock helper and ftp-sym on the same hook, family and ports. */
static int check_stock_overlap(struct check *c)
{
	struct portset both = PORTSET_INIT;
	char ports[256];
	struct diag *d;
	size_t i, k;
	int ret = 0;

	for (i = 0; i < c->rs.actions.n && !ret; i++) {
		const struct rs_action *a = action_at(c, i);

		if (!is_ours(a))
			continue;
		for (k = 0; k < c->rs.actions.n && !ret; k++) {
			const struct rs_action *b = action_at(c, k);

			if (b->kind != ACT_HELPER || strcmp(b->helper, "ftp") ||
			    !(a->fams & b->fams) || local(a) != local(b))
				continue;
			ret = ps_copy(&both, &a->dports);
			if (!ret)
				ret = ps_intersect(&both, &b->dports);
			if (ret || ps_empty(&both))
				continue;
			ps_format(ports, sizeof(ports), &both);
			d = diag_new(c, "stock-helper-overlap", SEV_ERROR);
			if (!d)
				break;
			diag_text(c, &d->message,
				  "the stock helper \"ftp\" and %s are attached to the same connections (port %s, %s): whichever rule runs first wins, so some sessions get the stock helper's behaviour",
				  FTP_SYM_HELPER, ports,
				  fams_name(a->fams & b->fams));
			diag_text(c, &d->fix,
				  "remove the stock helper's rule or give it other ports; docs/migrating.md shows the rule changes");
			diag_where(c, d, "%s (attaches %s)", a->where,
				   FTP_SYM_HELPER);
			diag_where(c, d, "%s (attaches ftp)", b->where);
		}
	}
	ps_free(&both);
	return ret;
}

static void check_auto_assign(struct check *c)
{
	long v = read_sysctl("nf_conntrack_helper");
	struct diag *d;

	if (v <= 0)
		return;
	d = diag_new(c, "stock-auto-assign", SEV_WARNING);
	if (!d)
		return;
	diag_text(c, &d->message,
		  "net.netfilter.nf_conntrack_helper is 1: the kernel attaches the stock helper%s to every connection to port 21 that no rule gives a helper",
		  c->stock_loaded ? " (nf_conntrack_ftp is loaded)" : "");
	diag_text(c, &d->fix,
		  "sysctl -w net.netfilter.nf_conntrack_helper=0 and attach %s explicitly",
		  FTP_SYM_HELPER);
	diag_where(c, d, "%snf_conntrack_helper", opt.proc_sysctl);
}

/* TCP states in which a control connection is in use. */
static bool conn_live(const struct conn *k)
{
	return k->has_state && k->state != 0 && k->state != 7 &&
	       k->state != 8;
}

static void check_live(struct check *c)
{
	char tuple[TUPLE_LEN];
	struct diag *d = NULL;
	size_t i, named = 0;

	for (i = 0; i < c->conns.n; i++) {
		const struct conn *k = VEC_AT(&c->conns, struct conn, i);

		if (!conn_live(k) || !ps_has(&c->control_ports, k->orig.dport))
			continue;
		if (!strcmp(k->helper, FTP_SYM_HELPER)) {
			c->attached++;
			continue;
		}
		c->unattached++;
		if (!d)
			d = diag_new(c, "unattached-connections", SEV_ERROR);
		if (!d)
			return;
		if (named++ >= MAX_NAMED)
			continue;
		fmt_tuple(tuple, sizeof(tuple), &k->orig);
		diag_where(c, d, "%s %s (%s)", family_name(k->orig.l3), tuple,
			   k->helper[0] ? k->helper : "no helper");
	}
	if (!d)
		return;
	diag_text(c, &d->message,
		  "%zu live connection%s to FTP control ports carr%s no %s helper: the rule that should attach it does not match %s",
		  c->unattached, c->unattached == 1 ? "" : "s",
		  c->unattached == 1 ? "ies" : "y", FTP_SYM_HELPER,
		  c->unattached == 1 ? "it" : "them");
	diag_text(c, &d->fix,
		  "make the rule match them (interface, address, port) in a chain that runs before DNAT; a helper is attached only when a connection starts, so existing ones keep going without it");
}

/* A counter that points at a problem; @setting, if set, is the bool
 * setting that turns the refusal off, offered last in the fix.
 */
struct counter_diag {
	const char *name, *id, *what, *fix, *setting;
};

static const struct counter_diag counter_diags[] = {
	{ "reject_bounce", "reject-bounce",
	  "PORT/EPRT/227 lines named an address other than the sender's (FTP bounce protection refused them)",
	  "a server behind NAT that announces a wrong public address needs its passive address corrected (vsftpd pasv_address, ProFTPD MasqueradeAddress, Pure-FTPd -P); the protection is turned off by",
	  "loose",
	},
	{ "reject_low_port", "reject-low-port",
	  "PORT/EPRT/227/229 lines named a data port below 1024",
	  "give the server a passive port range above 1023, or allow them with",
	  "allow_low_ports",
	},
	{ "reject_unsolicited", "reject-unsolicited",
	  "227/229 replies came without a PASV/EPSV before them",
	  "nothing, unless transfers fail: a server or a middlebox sends replies nobody asked for",
	  NULL,
	},
	{ "reject_direction", "reject-direction",
	  "commands came from the server's side or replies from the client's",
	  "nothing, unless transfers fail: one side of these sessions does not behave as FTP client or server",
	  NULL,
	},
	{ "reject_family", "reject-family",
	  "PORT/227 lines came over IPv6, or EPRT |2| over IPv4",
	  "configure the FTP software to use EPRT/EPSV on IPv6",
	  NULL,
	},
	{ "nat_failed", "nat-failed",
	  "lines that needed NAT could not be translated and were withheld (no free port, a full expectation table, or nf_nat_ftp_sym not loaded)",
	  "keep nf_nat_ftp_sym loaded and raise net.netfilter.nf_conntrack_expect_max",
	  NULL,
	},
	{ "expect_failed", "expect-failed",
	  "expectations could not be created (a full expectation table or no memory): their data connections were not RELATED",
	  "raise net.netfilter.nf_conntrack_expect_max",
	  NULL,
	},
};

/* How to turn bool setting @name on where it applies: its per-netns
 * sysctl if the module has one, else the module parameter.
 */
static const char *setting_hint(const struct check *c, const char *name,
				char *buf, size_t size)
{
	size_t i;

	for (i = 0; i < c->settings.n; i++) {
		const struct setting *st =
			VEC_AT(&c->settings, struct setting, i);

		if (!strcmp(st->name, name) && !strcmp(st->source, "netns")) {
			snprintf(buf, size,
				 "sysctl -w net.netfilter.%s%s=1 (this network namespace)",
				 SETTING_SYSCTL_PREFIX, name);
			return buf;
		}
	}
	snprintf(buf, size, "%s=Y (module parameter, %s/%s)", name,
		 opt.sys_params, name);
	return buf;
}

static uint64_t counter_value(const struct vec *v, const char *name)
{
	const char *s = kv_get(v, name);
	uint64_t num;

	return s && parse_u64(s, &num) ? num : 0;
}

/* @before is NULL without --interval: then the counts since the module
 * was loaded in this netns are judged, else what changed in between.
 */
static void check_counters(struct check *c, const struct vec *before)
{
	const struct counter_diag *cd;
	const char *name;
	struct diag *d;
	char hint[160];
	uint64_t n, b;
	size_t i, k;
	bool known;

	for (i = 0; i < c->counters.n; i++) {
		name = VEC_AT(&c->counters, struct kv, i)->name;
		cd = NULL;
		for (k = 0; k < N_ELEM(counter_diags); k++)
			if (!strcmp(counter_diags[k].name, name))
				cd = &counter_diags[k];
		known = cd;
		if (!known && strncmp(name, "reject_", 7))
			continue;
		n = counter_value(&c->counters, name);
		b = before ? counter_value(before, name) : 0;
		if (n <= b)
			continue;
		d = diag_new(c, known ? cd->id : "reject-other", SEV_WARNING);
		if (!d)
			return;
		if (before)
			diag_text(c, &d->message,
				  "%s grew by %llu in %u s: %s",
				  name, (unsigned long long)(n - b),
				  opt.interval,
				  known ? cd->what : "the helper refused lines");
		else
			diag_text(c, &d->message,
				  "%s is %llu: %s",
				  name, (unsigned long long)n,
				  known ? cd->what : "the helper refused lines");
		if (known && cd->setting)
			diag_text(c, &d->fix, "%s %s", cd->fix,
				  setting_hint(c, cd->setting, hint,
					       sizeof(hint)));
		else if (known)
			diag_text(c, &d->fix, "%s", cd->fix);
		else
			diag_text(c, &d->fix,
				  "see the kernel log (nf_ct_%s) for the refused lines",
				  FTP_SYM_HELPER);
		diag_where(c, d, "%s %s", opt.proc_counters, name);
	}
}

static void check_expect_table(struct check *c)
{
	struct diag *d;

	c->expect_max = read_sysctl("nf_conntrack_expect_max");
	if (c->expect_max <= 0 ||
	    c->n_expect * 100 < (size_t)c->expect_max * EXPECT_NEAR_FULL)
		return;
	d = diag_new(c, "expect-table-near-full", SEV_WARNING);
	if (!d)
		return;
	diag_text(c, &d->message,
		  "the expectation table of this network namespace holds %zu of at most %ld: new expectations fail when it is full (data connections not RELATED, NATed lines withheld)",
		  c->n_expect, c->expect_max);
	diag_text(c, &d->fix,
		  "raise net.netfilter.nf_conntrack_expect_max (in the initial network namespace; it applies to each one)");
	diag_where(c, d, "%snf_conntrack_expect_max", opt.proc_sysctl);
}

static void check_output_chain(struct check *c)
{
	struct diag *d;
	size_t i;
	bool ours = false;

	for (i = 0; i < c->rs.actions.n; i++) {
		if (!is_ours(action_at(c, i)))
			continue;
		ours = true;
		if (action_at(c, i)->hook == HOOK_OUTPUT)
			return;
	}
	if (!ours)
		return;
	d = diag_new(c, "no-output-chain", SEV_NOTE);
	if (!d)
		return;
	diag_text(c, &d->message,
		  "no output chain attaches %s: FTP sessions this machine opens itself get no helper (forwarded ones are not affected)",
		  FTP_SYM_HELPER);
	diag_text(c, &d->fix,
		  "if this machine runs FTP clients: a chain \"type filter hook output priority -150\" with tcp dport 21 ct helper set \"ftp\"");
}

static void check_sources(struct check *c)
{
	static const char *const names[] = { "iptables", "ip6tables" };
	struct diag *d;
	int v6;

	if (!c->rs.nft_read) {
		d = diag_new(c, "ruleset-not-read", SEV_NOTE);
		if (!d)
			return;
		diag_text(c, &d->message,
			  "the nftables ruleset was not inspected: %s",
			  c->rs.nft_error);
		diag_where(c, d, "nft -j list ruleset");
	}
	for (v6 = 0; v6 < 2; v6++) {
		if (c->rs.ipt_read[v6])
			continue;
		d = diag_new(c, "ruleset-not-read", SEV_NOTE);
		if (!d)
			return;
		diag_text(c, &d->message,
			  "the %s ruleset was not inspected: %s", names[v6],
			  c->rs.ipt_error[v6]);
		diag_where(c, d, "%s-save", names[v6]);
	}
}

static void check_free(struct check *c)
{
	size_t i, k;

	for (i = 0; i < c->diags.n; i++) {
		struct diag *d = VEC_AT(&c->diags, struct diag, i);

		free(d->message);
		free(d->fix);
		for (k = 0; k < d->where.n; k++)
			free(*VEC_AT(&d->where, char *, k));
		vec_free(&d->where);
	}
	vec_free(&c->diags);
	ruleset_free(&c->rs);
	vec_free(&c->settings);
	kv_free(&c->counters);
	vec_free(&c->conns);
	ps_free(&c->control_ports);
}

/* The counters again after --interval seconds; @before gets the first read. */
static int sample_counters(struct check *c, struct vec *before)
{
	int ret;

	if (!c->loaded || !opt.interval)
		return EXIT_OK;
	*before = c->counters;
	c->counters = (struct vec)VEC_INIT(struct kv);
	sleep(opt.interval);
	ret = read_counters(&c->counters);
	return ret == EXIT_NOT_LOADED ? EXIT_FAIL : ret;
}

int run_check(void)
{
	struct check c = {
		.diags = VEC_INIT(struct diag),
		.rs = RULESET_INIT,
		.settings = VEC_INIT(struct setting),
		.counters = VEC_INIT(struct kv),
		.conns = VEC_INIT(struct conn),
		.control_ports = PORTSET_INIT,
	};
	struct vec before = VEC_INIT(struct kv);
	bool sampled;
	size_t i;
	int ret;

	/* Netlink first: without CAP_NET_ADMIN nothing else can be read. */
	ret = dump_masters(&c.conns, &c.n_expect);
	if (ret)
		goto out;
	c.loaded = path_exists(opt.proc_counters);
	c.nat_loaded = module_present("nf_nat_ftp_sym");
	c.stock_loaded = module_present("nf_conntrack_ftp");
	if (c.loaded) {
		ret = read_counters(&c.counters);
		if (ret)
			goto out;
	}
	if (read_settings(&c.settings) || ruleset_read(&c.rs)) {
		ret = EXIT_FAIL;
		errmsg("out of memory");
		goto out;
	}
	ret = sample_counters(&c, &before);
	if (ret)
		goto out;
	sampled = c.loaded && opt.interval;

	check_modules(&c);
	check_attach_rule(&c);
	check_nat_half(&c);
	if (check_dnat(&c) || check_stock_overlap(&c))
		c.rs.err = ENOMEM;
	check_auto_assign(&c);
	check_live(&c);
	check_counters(&c, sampled ? &before : NULL);
	check_expect_table(&c);
	check_output_chain(&c);
	check_sources(&c);
	if (c.rs.err) {
		errmsg("out of memory");
		ret = EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < c.diags.n; i++) {
		switch (VEC_AT(&c.diags, struct diag, i)->sev) {
		case SEV_ERROR:
			c.errors++;
			break;
		case SEV_WARNING:
			c.warnings++;
			break;
		default:
			c.notes++;
		}
	}
	if (opt.json)
		check_report_json(&c);
	else
		check_report_text(&c);
	ret = c.errors || c.warnings ? EXIT_PROBLEMS : EXIT_OK;
out:
	kv_free(&before);
	check_free(&c);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym check: the iptables and ip6tables rulesets, from iptables-save
 * and ip6tables-save (see ruleset.h).  Only the raw table (where the CT
 * target attaches helpers) and the nat table matter; the built-in chains
 * run at the priorities of their tables (raw -300, nat -100 before
 * routing and 100 after).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ruleset.h"

#define MAX_DEPTH	16
#define MAX_VISITS	20000
#define MAX_TOKENS	128

struct ipt_line {
	const char *table;	/* "raw", "nat" */
	const char *chain;
	char *text;		/* after "-A CHAIN " */
};

struct ipt_walk {
	struct ruleset *rs;
	enum rs_source source;
	unsigned int fams;
	struct vec lines;	/* struct ipt_line */
	size_t visits;
};

static const struct {
	const char *table, *chain;
	enum rs_hook hook;
	int prio;
} builtin[] = {
	{ "raw", "PREROUTING", HOOK_PREROUTING, -300 },
	{ "raw", "OUTPUT", HOOK_OUTPUT, -300 },
	{ "nat", "PREROUTING", HOOK_PREROUTING, PRIO_DSTNAT },
	{ "nat", "OUTPUT", HOOK_OUTPUT, PRIO_DSTNAT },
	{ "nat", "INPUT", HOOK_INPUT, 100 },
	{ "nat", "POSTROUTING", HOOK_POSTROUTING, 100 },
};

/* Split @s in place into words; "double quoted" words keep their spaces.
 * Returns the number of words.
 */
static int tokenize(char *s, char **tok, int max)
{
	char *p = s, *o;
	int n = 0;

	while (*p && n < max) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (*p == '"') {
			tok[n++] = ++p;
			for (o = p; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				*o++ = *p;
			}
			if (*p)
				p++;
			*o = '\0';
			continue;
		}
		tok[n++] = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

/* "21", "2100:2200" or a comma list of them (multiport). */
static int parse_ports(const char *spec, struct portset *ps)
{
	char buf[512], *save = NULL, *part, *colon;
	uint64_t lo, hi;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (part = strtok_r(buf, ",", &save); part;
	     part = strtok_r(NULL, ",", &save)) {
		colon = strchr(part, ':');
		if (colon)
			*colon++ = '\0';
		if (!parse_u64(part[0] ? part : "0", &lo) ||
		    !parse_u64(colon ? (colon[0] ? colon : "65535") : part, &hi) ||
		    lo > 65535 || hi > 65535)
			return 1;
		if (ps_add(ps, (uint16_t)lo, (uint16_t)hi))
			return -1;
	}
	return 0;
}

/* The port of a DNAT --to-destination or REDIRECT --to-ports value: the
 * port, 0 when the value has none, -1 for a range.
 */
static int to_port(const char *v, bool redirect)
{
	const char *p = NULL, *dash;
	uint64_t port;
	char buf[16];

	if (redirect)
		p = v;
	else if (v[0] == '[')
		p = strstr(v, "]:") ? strstr(v, "]:") + 2 : NULL;
	else if (strchr(v, ':') && strchr(v, ':') == strrchr(v, ':'))
		p = strchr(v, ':') + 1;
	if (!p)
		return 0;
	dash = strchr(p, '-');
	snprintf(buf, sizeof(buf), "%.*s", dash ? (int)(dash - p) : 15, p);
	if (!parse_u64(buf, &port) || port == 0 || port > 65535)
		return -1;
	if (dash && strcmp(dash + 1, buf))
		return -1;
	return (int)port;
}

static bool chain_exists(struct ipt_walk *w, const char *table,
			 const char *chain)
{
	size_t i;

	for (i = 0; i < w->lines.n; i++) {
		const struct ipt_line *l = VEC_AT(&w->lines, struct ipt_line, i);

		if (!strcmp(l->table, table) && !strcmp(l->chain, chain))
			return true;
	}
	return false;
}

static int walk_chain(struct ipt_walk *w, const char *table,
		      const char *chain, const struct rs_match *in,
		      enum rs_hook hook, int prio, int depth);

static int emit(struct ipt_walk *w, const struct ipt_line *l,
		const struct rs_match *m, enum rs_hook hook, int prio,
		enum rs_kind kind, const char *helper, int port)
{
	struct rs_action a;

	memset(&a, 0, sizeof(a));
	if (action_from_match(&a, m)) {
		ps_free(&a.dports);
		return -1;
	}
	a.kind = kind;
	a.source = w->source;
	a.hook = hook;
	a.prio = prio;
	a.to_port = port;
	if (helper)
		snprintf(a.helper, sizeof(a.helper), "%s", helper);
	snprintf(a.where, sizeof(a.where), "%s -t %s -A %s %s",
		 source_name(w->source), l->table, l->chain, l->text);
	if (ps_empty(&a.dports)) {
		ps_free(&a.dports);
		return 0;
	}
	return ruleset_add(w->rs, &a);
}

/* One rule: its matches narrow a copy of @in, its target acts. */
static int walk_rule(struct ipt_walk *w, const struct ipt_line *l,
		     const struct rs_match *in, enum rs_hook hook, int prio,
		     int depth)
{
	const char *target = NULL, *helper = NULL, *to = NULL, *jump = NULL;
	char *tok[MAX_TOKENS], *copy;
	struct portset ps = PORTSET_INIT;
	struct rs_match m;
	bool neg = false;
	int n, i, ret = 0, r;

	copy = strdup(l->text);
	if (!copy || match_copy(&m, in)) {
		free(copy);
		return -1;
	}
	n = tokenize(copy, tok, MAX_TOKENS);
	for (i = 0; i < n && !ret; i++) {
		const char *o = tok[i], *v = i + 1 < n ? tok[i + 1] : "";

		if (!strcmp(o, "!")) {
			neg = true;
			continue;
		}
		if (!strcmp(o, "-p") || !strcmp(o, "--protocol")) {
			bool tcp = !strcmp(v, "tcp") || !strcmp(v, "6");

			if (neg ? tcp : !tcp && strcmp(v, "all"))
				m.never = true;
		} else if ((!strcmp(o, "-d") || !strcmp(o, "--destination")) &&
			   !neg) {
			m.daddr = true;
		} else if (!strcmp(o, "--dport") ||
			   !strcmp(o, "--destination-port") ||
			   !strcmp(o, "--dports") ||
			   !strcmp(o, "--destination-ports") ||
			   !strcmp(o, "--ports")) {
			ps.r.n = 0;
			r = parse_ports(v, &ps);
			if (r < 0)
				ret = -1;
			else if (r == 0)
				ret = neg ? ps_subtract(&m.dports, &ps) :
					    ps_intersect(&m.dports, &ps);
		} else if (!strcmp(o, "-j") || !strcmp(o, "--jump")) {
			target = v;
		} else if (!strcmp(o, "-g") || !strcmp(o, "--goto")) {
			jump = v;
		} else if (!strcmp(o, "--helper")) {
			helper = v;
		} else if (!strcmp(o, "--to-destination") ||
			   !strcmp(o, "--to-ports")) {
			to = v;
		}
		neg = false;
	}
	ps_free(&ps);
	if (!ret && !m.never && target) {
		if (!strcmp(target, "CT") && helper)
			ret = emit(w, l, &m, hook, prio, ACT_HELPER, helper, 0);
		else if (!strcmp(target, "DNAT"))
			ret = emit(w, l, &m, hook, prio, ACT_DNAT, NULL,
				   to ? to_port(to, false) : 0);
		else if (!strcmp(target, "REDIRECT"))
			ret = emit(w, l, &m, hook, prio, ACT_DNAT, NULL,
				   to ? to_port(to, true) : 0);
		else if (!strcmp(target, "SNAT") ||
			 !strcmp(target, "MASQUERADE"))
			ret = emit(w, l, &m, hook, prio, ACT_SNAT, NULL, 0);
		else if (chain_exists(w, l->table, target))
			jump = target;
	}
	if (!ret && !m.never && jump)
		ret = walk_chain(w, l->table, jump, &m, hook, prio, depth + 1);
	match_free(&m);
	free(copy);
	return ret;
}

static int walk_chain(struct ipt_walk *w, const char *table,
		      const char *chain, const struct rs_match *in,
		      enum rs_hook hook, int prio, int depth)
{
	size_t i;
	int ret;

	if (depth > MAX_DEPTH || ++w->visits > MAX_VISITS)
		return 0;
	for (i = 0; i < w->lines.n; i++) {
		const struct ipt_line *l = VEC_AT(&w->lines, struct ipt_line, i);

		if (strcmp(l->table, table) || strcmp(l->chain, chain))
			continue;
		ret = walk_rule(w, l, in, hook, prio, depth);
		if (ret)
			return ret;
	}
	return 0;
}

/* The "-A CHAIN ..." lines of the raw and nat tables, in order. */
static int collect_lines(struct ipt_walk *w, char *out)
{
	const char *table = NULL;
	struct ipt_line *l;
	char *line, *save = NULL, *sp;

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '*') {
			table = !strcmp(line + 1, "raw") ? "raw" :
				!strcmp(line + 1, "nat") ? "nat" : NULL;
			continue;
		}
		if (!table || strncmp(line, "-A ", 3))
			continue;
		sp = strchr(line + 3, ' ');
		l = vec_push(&w->lines);
		if (!l)
			return -1;
		l->table = table;
		l->chain = line + 3;
		l->text = sp ? sp + 1 : line + strlen(line);
		if (sp)
			*sp = '\0';
	}
	return 0;
}

int ruleset_parse_ipt(struct ruleset *rs, int v6, char *text)
{
	struct ipt_walk w = {
		.rs = rs,
		.source = v6 ? SRC_IP6TABLES : SRC_IPTABLES,
		.fams = v6 ? FAM_IPV6 : FAM_IPV4,
		.lines = VEC_INIT(struct ipt_line),
	};
	struct rs_match m;
	size_t i;
	int rc;

	rs->ipt_read[v6] = true;
	rc = collect_lines(&w, text);
	for (i = 0; !rc && i < N_ELEM(builtin); i++) {
		if (match_init(&m, w.fams)) {
			rc = -1;
			break;
		}
		rc = walk_chain(&w, builtin[i].table, builtin[i].chain, &m,
				builtin[i].hook, builtin[i].prio, 0);
		match_free(&m);
	}
	vec_free(&w.lines);
	return rc ? -1 : 0;
}

int ruleset_read_ipt(struct ruleset *rs, int v6)
{
	char *const argv[] = { v6 ? "ip6tables-save" : "iptables-save", NULL };
	char *err = rs->ipt_error[v6];
	size_t len;
	char *out;
	int rc;

	rc = run_capture(argv, &out, &len, err, sizeof(rs->ipt_error[v6]));
	if (rc < 0)
		return errno == ENOMEM ? -1 : 0;
	if (rc) {
		if (rc == 127)
			snprintf(err, sizeof(rs->ipt_error[v6]),
				 "%s is not installed", argv[0]);
		else if (!err[0])
			snprintf(err, sizeof(rs->ipt_error[v6]),
				 "%s exited with status %d", argv[0], rc);
		free(out);
		return 0;
	}
	rc = ruleset_parse_ipt(rs, v6, out);
	free(out);
	return rc;
}

// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym check: the nft ruleset, from "nft -j list ruleset" (see
 * ruleset.h).  Rules that contain an "xt" expression belong to
 * iptables-nft, whose own listing (iptables-save) says what they do: they
 * are left to ruleset_ipt.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ruleset.h"

/* nft refuses deeper jump chains; we also bound the total work, since
 * every path is walked on its own.
 */
#define MAX_DEPTH	16
#define MAX_VISITS	20000

struct nft_walk {
	struct ruleset *rs;
	json_t *items;		/* the "nftables" array */
	size_t visits;
};

static const char *jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The item's own object if the item is of @kind ("chain", "rule", ...). */
static json_t *item_of(json_t *item, const char *kind)
{
	return json_object_get(item, kind);
}

static bool same_table(json_t *a, const char *family, const char *table)
{
	const char *f = jstr(a, "family"), *t = jstr(a, "table");

	return f && t && !strcmp(f, family) && !strcmp(t, table);
}

static unsigned int family_fams(const char *family)
{
	if (!strcmp(family, "ip"))
		return FAM_IPV4;
	if (!strcmp(family, "ip6"))
		return FAM_IPV6;
	if (!strcmp(family, "inet"))
		return FAM_ALL;
	return 0;
}

static enum rs_hook parse_hook(const char *hook)
{
	static const struct {
		const char *name;
		enum rs_hook hook;
	} hooks[] = {
		{ "prerouting", HOOK_PREROUTING },
		{ "input", HOOK_INPUT },
		{ "forward", HOOK_FORWARD },
		{ "output", HOOK_OUTPUT },
		{ "postrouting", HOOK_POSTROUTING },
	};
	size_t i;

	for (i = 0; hook && i < N_ELEM(hooks); i++)
		if (!strcmp(hook, hooks[i].name))
			return hooks[i].hook;
	return HOOK_NONE;
}

/* A port value: a number, a numeric string or a service name. */
static int port_value(json_t *v, uint16_t *port)
{
	const char *s = json_string_value(v);
	struct servent *se;
	uint64_t num;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 || json_integer_value(v) > 65535)
			return -1;
		*port = (uint16_t)json_integer_value(v);
		return 0;
	}
	if (!s)
		return -1;
	if (parse_u64(s, &num) && num <= 65535) {
		*port = (uint16_t)num;
		return 0;
	}
	se = getservbyname(s, "tcp");
	if (!se)
		return -1;
	*port = ntohs((uint16_t)se->s_port);
	return 0;
}

static json_t *find_set(struct nft_walk *w, const char *family,
			const char *table, const char *name)
{
	json_t *item, *set;
	size_t i;

	json_array_foreach(w->items, i, item) {
		set = item_of(item, "set");
		if (!set)
			set = item_of(item, "map");
		if (set && same_table(set, family, table) && jstr(set, "name") &&
		    !strcmp(jstr(set, "name"), name))
			return set;
	}
	return NULL;
}

/* Add the ports of one element (a port, a range, an element object) to
 * @ps.  Returns 0, 1 when it is not a port, -1 when out of memory.
 */
static int add_port_elem(struct portset *ps, json_t *e)
{
	json_t *range = json_object_get(e, "range");
	uint16_t lo, hi;

	if (json_object_get(e, "elem"))
		return add_port_elem(ps, json_object_get(json_object_get(e, "elem"), "val"));
	if (range) {
		if (port_value(json_array_get(range, 0), &lo) ||
		    port_value(json_array_get(range, 1), &hi))
			return 1;
		return ps_add(ps, lo, hi);
	}
	if (port_value(e, &lo))
		return 1;
	return ps_add(ps, lo, lo);
}

/* The ports on the right of a match.  Returns 0, 1 when they cannot be
 * told (then @ps is left empty), -1 when out of memory.
 */
static int ports_of(struct nft_walk *w, const char *family, const char *table,
		    json_t *right, struct portset *ps)
{
	const char *s = json_string_value(right);
	json_t *list = NULL, *e, *set;
	size_t i;
	int ret;

	if (s && s[0] == '@') {
		set = find_set(w, family, table, s + 1);
		list = set ? json_object_get(set, "elem") : NULL;
		if (!list)
			return set ? 0 : 1;	/* an empty set matches nothing */
	} else if (json_object_get(right, "set")) {
		list = json_object_get(right, "set");
	} else if (json_is_array(right)) {
		list = right;
	}
	if (!list)
		return add_port_elem(ps, right);
	json_array_foreach(list, i, e) {
		ret = add_port_elem(ps, e);
		if (ret)
			return ret;
	}
	return 0;
}

static bool right_has(json_t *right, const char *want)
{
	json_t *list = json_object_get(right, "set"), *e;
	size_t i;

	if (json_is_string(right))
		return !strcmp(json_string_value(right), want);
	if (!list && json_is_array(right))
		list = right;
	json_array_foreach(list, i, e)
		if (json_is_string(e) && !strcmp(json_string_value(e), want))
			return true;
	return false;
}

/* Narrow @m by one "match" expression of table @family/@table. */
static int apply_match(struct nft_walk *w, const char *family,
		       const char *table, json_t *match, struct rs_match *m)
{
	json_t *left = json_object_get(match, "left");
	json_t *right = json_object_get(match, "right");
	const char *op = jstr(match, "op");
	json_t *payload = json_object_get(left, "payload");
	json_t *meta = json_object_get(left, "meta");
	bool neg = op && !strcmp(op, "!=");
	struct portset ps = PORTSET_INIT;
	const char *proto, *field, *key;
	unsigned int fams = 0;
	int ret;

	if (payload) {
		proto = jstr(payload, "protocol");
		field = jstr(payload, "field");
		if (!proto || !field)
			return 0;
		if (!strcmp(proto, "ip") || !strcmp(proto, "ip6")) {
			m->fams &= !strcmp(proto, "ip") ? FAM_IPV4 : FAM_IPV6;
			if (!strcmp(field, "daddr") && !neg)
				m->daddr = true;
			if (!strcmp(field, "protocol") ||
			    !strcmp(field, "nexthdr"))
				if (!neg && !right_has(right, "tcp"))
					m->never = true;
			return 0;
		}
		if (strcmp(field, "dport"))
			return 0;
		if (strcmp(proto, "tcp") && strcmp(proto, "th")) {
			if (!neg)
				m->never = true;	/* udp dport ... */
			return 0;
		}
		ret = ports_of(w, family, table, right, &ps);
		if (ret == 0)
			ret = neg ? ps_subtract(&m->dports, &ps) :
				    ps_intersect(&m->dports, &ps);
		else if (ret == 1)
			ret = 0;	/* unknown: no narrowing */
		ps_free(&ps);
		return ret;
	}
	if (!meta)
		return 0;
	key = jstr(meta, "key");
	if (!key)
		return 0;
	if (!strcmp(key, "nfproto") || !strcmp(key, "protocol")) {
		if (right_has(right, "ipv4") || right_has(right, "ip"))
			fams |= FAM_IPV4;
		if (right_has(right, "ipv6") || right_has(right, "ip6"))
			fams |= FAM_IPV6;
		m->fams &= neg ? ~fams : fams;
	} else if (!strcmp(key, "l4proto")) {
		if (neg ? right_has(right, "tcp") : !right_has(right, "tcp"))
			m->never = true;
	}
	return 0;
}

static void rule_where(char *buf, size_t size, json_t *rule)
{
	snprintf(buf, size, "nft table %s %s chain %s handle %lld",
		 jstr(rule, "family") ? jstr(rule, "family") : "?",
		 jstr(rule, "table") ? jstr(rule, "table") : "?",
		 jstr(rule, "chain") ? jstr(rule, "chain") : "?",
		 (long long)json_integer_value(json_object_get(rule, "handle")));
}

static int emit(struct nft_walk *w, json_t *rule, const struct rs_match *m,
		enum rs_hook hook, int prio, enum rs_kind kind,
		unsigned int fams, const char *helper, int to_port)
{
	struct rs_action a;

	memset(&a, 0, sizeof(a));
	if (action_from_match(&a, m)) {
		ps_free(&a.dports);
		return -1;
	}
	a.kind = kind;
	a.source = SRC_NFT;
	a.hook = hook;
	a.prio = prio;
	a.fams &= fams;
	a.to_port = to_port;
	if (helper)
		snprintf(a.helper, sizeof(a.helper), "%s", helper);
	rule_where(a.where, sizeof(a.where), rule);
	if (!a.fams || ps_empty(&a.dports)) {
		ps_free(&a.dports);
		return 0;
	}
	return ruleset_add(w->rs, &a);
}

/* The "ct helper" object @name of the rule's table: its helper and the
 * families it serves.
 */
static struct rs_helper_obj *find_object(struct nft_walk *w, json_t *rule,
					 const char *name, unsigned int *fams)
{
	const char *family = jstr(rule, "family"), *table = jstr(rule, "table");
	json_t *item, *obj;
	const char *l3;
	size_t i, k = 0;

	json_array_foreach(w->items, i, item) {
		obj = item_of(item, "ct helper");
		if (!obj)
			continue;
		k++;
		if (!same_table(obj, family, table) || !jstr(obj, "name") ||
		    strcmp(jstr(obj, "name"), name))
			continue;
		l3 = jstr(obj, "l3proto");
		*fams = l3 ? family_fams(l3) : family_fams(family);
		if (k <= w->rs->objects.n)
			return VEC_AT(&w->rs->objects, struct rs_helper_obj,
				      k - 1);
		return NULL;
	}
	return NULL;
}

static int walk_chain(struct nft_walk *w, const char *family,
		      const char *table, const char *chain,
		      const struct rs_match *in, enum rs_hook hook, int prio,
		      int depth);

static int walk_verdict(struct nft_walk *w, json_t *rule, json_t *v,
			const struct rs_match *m, enum rs_hook hook, int prio,
			int depth)
{
	json_t *target = json_object_get(v, "jump");

	if (!target)
		target = json_object_get(v, "goto");
	if (!target || !json_string_value(json_object_get(target, "target")))
		return 0;
	return walk_chain(w, jstr(rule, "family"), jstr(rule, "table"),
			  json_string_value(json_object_get(target, "target")),
			  m, hook, prio, depth + 1);
}

/* A verdict map on the destination port: each element's verdict is walked
 * with that element's ports.
 */
static int walk_vmap(struct nft_walk *w, json_t *rule, json_t *vmap,
		     const struct rs_match *m, enum rs_hook hook, int prio,
		     int depth)
{
	json_t *payload = json_object_get(json_object_get(vmap, "key"),
					  "payload");
	json_t *data = json_object_get(vmap, "data"), *list, *e;
	struct portset ps = PORTSET_INIT;
	struct rs_match sub;
	const char *field;
	size_t i;
	int ret = 0;

	field = payload ? jstr(payload, "field") : NULL;
	if (!field || strcmp(field, "dport"))
		return 0;
	list = json_object_get(data, "set");
	if (!list && json_is_string(data) && json_string_value(data)[0] == '@') {
		json_t *set = find_set(w, jstr(rule, "family"),
				       jstr(rule, "table"),
				       json_string_value(data) + 1);

		list = json_object_get(set, "elem");
	}
	json_array_foreach(list, i, e) {
		ps.r.n = 0;
		if (add_port_elem(&ps, json_array_get(e, 0)) < 0 ||
		    match_copy(&sub, m)) {
			ret = -1;
			break;
		}
		ret = ps_intersect(&sub.dports, &ps);
		if (!ret)
			ret = walk_verdict(w, rule, json_array_get(e, 1), &sub,
					   hook, prio, depth);
		match_free(&sub);
		if (ret)
			break;
	}
	ps_free(&ps);
	return ret;
}

static bool has_xt(json_t *exprs)
{
	json_t *e;
	size_t i;

	json_array_foreach(exprs, i, e)
		if (json_object_get(e, "xt"))
			return true;
	return false;
}

static int nat_port(json_t *stmt)
{
	json_t *port = json_object_get(stmt, "port");

	if (!port)
		return 0;
	if (json_is_integer(port) && json_integer_value(port) > 0 &&
	    json_integer_value(port) <= 65535)
		return (int)json_integer_value(port);
	return -1;
}

/* One statement of a rule, with what the rule matched before it. */
static int walk_stmt(struct nft_walk *w, json_t *rule, json_t *e,
		     struct rs_match *m, enum rs_hook hook, int prio,
		     int depth)
{
	const char *family = jstr(rule, "family"), *table = jstr(rule, "table");
	struct rs_helper_obj *obj;
	unsigned int fams;
	json_t *v;

	v = json_object_get(e, "match");
	if (v)
		return apply_match(w, family, table, v, m);
	if (m->never)
		return 0;
	v = json_object_get(e, "ct helper");
	if (json_is_string(v)) {
		fams = 0;
		obj = find_object(w, rule, json_string_value(v), &fams);
		if (!obj)
			return 0;
		obj->used = true;
		return emit(w, rule, m, hook, prio, ACT_HELPER, fams,
			    obj->helper, 0);
	}
	v = json_object_get(e, "dnat");
	if (v || json_object_get(e, "redirect")) {
		fams = FAM_ALL;
		if (v && jstr(v, "family"))
			fams = family_fams(jstr(v, "family"));
		if (!v)
			v = json_object_get(e, "redirect");
		return emit(w, rule, m, hook, prio, ACT_DNAT, fams, NULL,
			    nat_port(v));
	}
	if (json_object_get(e, "snat") || json_object_get(e, "masquerade"))
		return emit(w, rule, m, hook, prio, ACT_SNAT, FAM_ALL, NULL, 0);
	if (json_object_get(e, "jump") || json_object_get(e, "goto"))
		return walk_verdict(w, rule, e, m, hook, prio, depth);
	v = json_object_get(e, "vmap");
	if (v)
		return walk_vmap(w, rule, v, m, hook, prio, depth);
	return 0;
}

static int walk_chain(struct nft_walk *w, const char *family,
		      const char *table, const char *chain,
		      const struct rs_match *in, enum rs_hook hook, int prio,
		      int depth)
{
	json_t *item, *rule, *exprs, *e;
	struct rs_match m;
	size_t i, k;
	int ret = 0;

	if (!family || !table || !chain || depth > MAX_DEPTH ||
	    ++w->visits > MAX_VISITS)
		return 0;
	json_array_foreach(w->items, i, item) {
		rule = item_of(item, "rule");
		if (!rule || !same_table(rule, family, table) ||
		    !jstr(rule, "chain") || strcmp(jstr(rule, "chain"), chain))
			continue;
		exprs = json_object_get(rule, "expr");
		if (has_xt(exprs))
			continue;
		if (match_copy(&m, in))
			return -1;
		json_array_foreach(exprs, k, e) {
			ret = walk_stmt(w, rule, e, &m, hook, prio, depth);
			if (ret)
				break;
		}
		match_free(&m);
		if (ret)
			return ret;
	}
	return 0;
}

static int collect_objects(struct nft_walk *w)
{
	struct rs_helper_obj *o;
	json_t *item, *obj;
	size_t i;

	json_array_foreach(w->items, i, item) {
		obj = item_of(item, "ct helper");
		if (!obj)
			continue;
		o = vec_push(&w->rs->objects);
		if (!o)
			return -1;
		snprintf(o->helper, sizeof(o->helper), "%s",
			 jstr(obj, "type") ? jstr(obj, "type") : "");
		snprintf(o->where, sizeof(o->where),
			 "nft table %s %s ct helper %s",
			 jstr(obj, "family") ? jstr(obj, "family") : "?",
			 jstr(obj, "table") ? jstr(obj, "table") : "?",
			 jstr(obj, "name") ? jstr(obj, "name") : "?");
	}
	return 0;
}

static int walk_base_chains(struct nft_walk *w)
{
	json_t *item, *chain;
	const char *family;
	struct rs_match m;
	enum rs_hook hook;
	size_t i;
	int ret = 0;

	json_array_foreach(w->items, i, item) {
		chain = item_of(item, "chain");
		if (!chain)
			continue;
		family = jstr(chain, "family");
		hook = parse_hook(jstr(chain, "hook"));
		if (!family || !family_fams(family) || hook == HOOK_NONE)
			continue;
		if (match_init(&m, family_fams(family)))
			return -1;
		ret = walk_chain(w, family, jstr(chain, "table"),
				 jstr(chain, "name"), &m, hook,
				 (int)json_integer_value(json_object_get(chain, "prio")),
				 0);
		match_free(&m);
		if (ret)
			return ret;
	}
	return 0;
}

int ruleset_parse_nft(struct ruleset *rs, const char *json, size_t len)
{
	struct nft_walk w = { .rs = rs };
	json_error_t jerr;
	json_t *doc;
	int rc = 0;

	doc = json_loadb(json, len, 0, &jerr);
	if (!doc) {
		snprintf(rs->nft_error, sizeof(rs->nft_error),
			 "nft -j list ruleset: bad JSON: %.100s", jerr.text);
		return 0;
	}
	w.items = json_object_get(doc, "nftables");
	if (json_is_array(w.items)) {
		rc = collect_objects(&w);
		if (!rc)
			rc = walk_base_chains(&w);
		rs->nft_read = true;
	} else {
		snprintf(rs->nft_error, sizeof(rs->nft_error),
			 "nft -j list ruleset: no \"nftables\" array");
	}
	json_decref(doc);
	return rc ? -1 : 0;
}

int ruleset_read_nft(struct ruleset *rs)
{
	char *const argv[] = { "nft", "-j", "list", "ruleset", NULL };
	size_t len;
	char *out;
	int rc;

	rc = run_capture(argv, &out, &len, rs->nft_error,
			 sizeof(rs->nft_error));
	if (rc < 0)
		return errno == ENOMEM ? -1 : 0;
	if (rc == 127) {
		snprintf(rs->nft_error, sizeof(rs->nft_error),
			 "nft is not installed");
		free(out);
		return 0;
	}
	if (rc) {
		if (!rs->nft_error[0])
			snprintf(rs->nft_error, sizeof(rs->nft_error),
				 "nft exited with status %d", rc);
		free(out);
		return 0;
	}
	rc = ruleset_parse_nft(rs, out, len);
	free(out);
	return rc;
}

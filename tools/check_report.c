// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym check: the findings and what they were drawn from, as text or
 * as one JSON document (see check.h and ftp-sym(8)).
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "ftp-sym.h"
#include "json.h"
#include "proc.h"
#include "render.h"

#define WRAP		78

static const enum severity severities[] = {
	SEV_ERROR, SEV_WARNING, SEV_NOTE,
};

/* @text on lines of at most WRAP columns (longer words stay whole), the
 * first one after @first, the others after @rest.
 */
static void print_wrapped(const char *first, const char *rest,
			  const char *text)
{
	size_t col = strlen(first), w;
	const char *p = text;
	bool empty = true;

	fputs(first, stdout);
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		w = strcspn(p, " ");
		if (!empty && col + 1 + w > WRAP) {
			printf("\n%s", rest);
			col = strlen(rest);
			empty = true;
		}
		if (!empty) {
			putchar(' ');
			col++;
		}
		printf("%.*s", (int)w, p);
		col += w;
		p += w;
		empty = false;
	}
	putchar('\n');
}

static const char *plural(int n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void print_rules_text(const struct check *c)
{
	char ports[256], to[16];
	size_t i;

	printf("\nRules that attach a helper or do NAT:\n");
	if (!c->rs.actions.n)
		printf("  (none)\n");
	for (i = 0; i < c->rs.actions.n; i++) {
		const struct rs_action *a =
			VEC_AT(&c->rs.actions, struct rs_action, i);

		ps_format(ports, sizeof(ports), &a->dports);
		to[0] = '\0';
		if (a->kind == ACT_DNAT && a->to_port > 0)
			snprintf(to, sizeof(to), " to :%d", a->to_port);
		printf("  %-8s %-11s %5d  %-9s tcp dport %s%s\n",
		       a->kind == ACT_HELPER ? a->helper :
		       a->kind == ACT_DNAT ? "DNAT" : "SNAT",
		       hook_name(a->hook), a->prio, fams_name(a->fams), ports,
		       to);
		printf("           %s\n", a->where);
	}
}

void check_report_text(const struct check *c)
{
	char ports[256], head[96];
	size_t i, k, s;

	printf("ftp-sym check: %s (%d %s, %d %s, %d %s)\n",
	       c->errors || c->warnings ? "problems found" : "ok",
	       c->errors, plural(c->errors, "error", "errors"),
	       c->warnings, plural(c->warnings, "warning", "warnings"),
	       c->notes, plural(c->notes, "note", "notes"));
	for (s = 0; s < N_ELEM(severities); s++) {
		for (i = 0; i < c->diags.n; i++) {
			const struct diag *d =
				VEC_AT(&c->diags, struct diag, i);

			if (d->sev != severities[s])
				continue;
			snprintf(head, sizeof(head), "\n%s %s\n",
				 severity_name(d->sev), d->id);
			fputs(head, stdout);
			print_wrapped("  ", "  ", d->message);
			if (d->fix)
				print_wrapped("  fix: ", "       ", d->fix);
			for (k = 0; k < d->where.n; k++)
				print_wrapped("  at: ", "      ",
					      *VEC_AT(&d->where, char *, k));
		}
	}
	print_rules_text(c);
	ps_format(ports, sizeof(ports), &c->control_ports);
	printf("\nControl ports: %s; live control connections: %zu with %s, %zu without\n",
	       ports, c->attached, FTP_SYM_HELPER, c->unattached);
	if (c->expect_max > 0)
		printf("Expectations: %zu (nf_conntrack_expect_max %ld)\n",
		       c->n_expect, c->expect_max);
	else
		printf("Expectations: %zu\n", c->n_expect);
	printf("Modules: nf_conntrack_ftp_sym %s, nf_nat_ftp_sym %s, nf_conntrack_ftp %s\n",
	       c->loaded ? "loaded" : "not loaded",
	       c->nat_loaded ? "loaded" : "not loaded",
	       c->stock_loaded ? "loaded" : "not loaded");
	printf("Settings:");
	for (i = 0; i < c->settings.n; i++) {
		const struct setting *st =
			VEC_AT(&c->settings, struct setting, i);

		printf(" %s=%s%s", st->name, st->value,
		       strcmp(st->source, "netns") ? "" : " (netns)");
	}
	printf("%s\n", c->settings.n ? "" : " (none readable)");
}

static void json_ports(struct json *j, const char *key,
		       const struct portset *ps)
{
	size_t i;

	if (ps_all(ps)) {
		json_null(j, key);
		return;
	}
	json_arr_begin(j, key);
	for (i = 0; i < ps->r.n; i++) {
		const struct port_range *r =
			VEC_AT(&ps->r, struct port_range, i);

		json_arr_begin(j, NULL);
		json_u64(j, NULL, r->lo);
		json_u64(j, NULL, r->hi);
		json_arr_end(j);
	}
	json_arr_end(j);
}

static void json_fams(struct json *j, unsigned int fams)
{
	json_arr_begin(j, "families");
	if (fams & FAM_IPV4)
		json_str(j, NULL, "ipv4");
	if (fams & FAM_IPV6)
		json_str(j, NULL, "ipv6");
	json_arr_end(j);
}

static void json_rules(struct json *j, const struct check *c)
{
	static const char *const kinds[] = {
		[ACT_HELPER] = "helper", [ACT_DNAT] = "dnat",
		[ACT_SNAT] = "snat",
	};
	size_t i;

	json_arr_begin(j, "rules");
	for (i = 0; i < c->rs.actions.n; i++) {
		const struct rs_action *a =
			VEC_AT(&c->rs.actions, struct rs_action, i);

		json_obj_begin(j, NULL);
		json_str(j, "kind", kinds[a->kind]);
		json_str(j, "helper", a->kind == ACT_HELPER ? a->helper : NULL);
		json_str(j, "source", source_name(a->source));
		json_str(j, "hook", hook_name(a->hook));
		json_i64(j, "priority", a->prio);
		json_fams(j, a->fams);
		json_ports(j, "dports", &a->dports);
		if (a->kind == ACT_DNAT && a->to_port > 0)
			json_u64(j, "to_port", (uint64_t)a->to_port);
		else
			json_null(j, "to_port");
		json_str(j, "where", a->where);
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void json_diags(struct json *j, const struct check *c)
{
	size_t i, k, s;

	json_arr_begin(j, "diagnoses");
	for (s = 0; s < N_ELEM(severities); s++) {
		for (i = 0; i < c->diags.n; i++) {
			const struct diag *d =
				VEC_AT(&c->diags, struct diag, i);

			if (d->sev != severities[s])
				continue;
			json_obj_begin(j, NULL);
			json_str(j, "id", d->id);
			json_str(j, "severity", severity_name(d->sev));
			json_str(j, "message", d->message);
			json_str(j, "fix", d->fix);
			json_arr_begin(j, "where");
			for (k = 0; k < d->where.n; k++)
				json_str(j, NULL, *VEC_AT(&d->where, char *, k));
			json_arr_end(j);
			json_obj_end(j);
		}
	}
	json_arr_end(j);
}

void check_report_json(const struct check *c)
{
	struct timespec now;
	struct json j;
	size_t i;

	now_real(&now);
	json_init(&j, stdout, true);
	json_obj_begin(&j, NULL);
	json_header(&j, &now);
	json_str(&j, "check", c->errors || c->warnings ? "problems" : "ok");
	json_u64(&j, "errors", (uint64_t)c->errors);
	json_u64(&j, "warnings", (uint64_t)c->warnings);
	json_u64(&j, "notes", (uint64_t)c->notes);
	json_diags(&j, c);
	json_obj_begin(&j, "modules");
	json_bool(&j, "nf_conntrack_ftp_sym", c->loaded);
	json_bool(&j, "nf_nat_ftp_sym", c->nat_loaded);
	json_bool(&j, "nf_conntrack_ftp", c->stock_loaded);
	json_obj_end(&j);
	json_obj_begin(&j, "rulesets");
	json_bool(&j, "nft", c->rs.nft_read);
	json_bool(&j, "iptables", c->rs.ipt_read[0]);
	json_bool(&j, "ip6tables", c->rs.ipt_read[1]);
	json_obj_end(&j);
	json_rules(&j, c);
	json_ports(&j, "control_ports", &c->control_ports);
	json_obj_begin(&j, "connections");
	json_u64(&j, "with_helper", c->attached);
	json_u64(&j, "without_helper", c->unattached);
	json_obj_end(&j);
	json_obj_begin(&j, "expectations");
	json_u64(&j, "count", c->n_expect);
	if (c->expect_max > 0)
		json_i64(&j, "max", c->expect_max);
	else
		json_null(&j, "max");
	json_obj_end(&j);
	json_obj_begin(&j, "settings");
	for (i = 0; i < c->settings.n; i++) {
		const struct setting *st =
			VEC_AT(&c->settings, struct setting, i);

		json_obj_begin(&j, st->name);
		json_value(&j, "value", st->value);
		json_str(&j, "source", st->source);
		json_obj_end(&j);
	}
	json_obj_end(&j);
	json_kv(&j, "counters", &c->counters);
	json_obj_end(&j);
	if (!json_finish(&j))
		errmsg("internal error: unbalanced JSON");
}

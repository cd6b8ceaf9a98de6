/* SPDX-License-Identifier: GPL-2.0-only */
/* ftp-sym check: what is wrong with the FTP helper setup of this network
 * namespace, each finding with its own message and fix (ftp-sym(8),
 * CHECK).  check.c gathers the facts and decides, check_report.c prints
 * the result as text or JSON.
 */
#ifndef FTP_SYM_CHECK_H
#define FTP_SYM_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "ruleset.h"
#include "util.h"

enum severity {
	SEV_ERROR,	/* FTP through this router breaks */
	SEV_WARNING,	/* something went wrong, or will */
	SEV_NOTE,	/* worth knowing; not a problem */
};

struct diag {
	const char *id;		/* stable, e.g. "port-not-covered" */
	enum severity sev;
	char *message;
	char *fix;		/* NULL if there is nothing to do */
	struct vec where;	/* char *: rules, connections, files */
};

/* Everything the check looked at, for the report. */
struct check {
	struct vec diags;	/* struct diag, most severe first */
	struct ruleset rs;
	struct vec settings;	/* struct setting */
	struct vec counters;	/* struct kv */
	struct vec conns;	/* struct conn: TCP masters */
	struct portset control_ports;
	size_t n_expect;
	long expect_max;
	bool loaded;		/* nf_conntrack_ftp_sym */
	bool nat_loaded;	/* nf_nat_ftp_sym */
	bool stock_loaded;	/* nf_conntrack_ftp */
	size_t attached;	/* live control connections with ftp-sym */
	size_t unattached;	/* live ones without */
	int errors, warnings, notes;
};

/* ftp-sym check: gather, decide, print.  Returns an exit status. */
int run_check(void);

void check_report_text(const struct check *c);
void check_report_json(const struct check *c);

const char *severity_name(enum severity sev);

#endif /* FTP_SYM_CHECK_H */

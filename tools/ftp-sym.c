// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym: show the FTP sessions that the ftp-sym conntrack helper handles
 * in the current network namespace: control connections, their outstanding
 * expectations and live data connections, whether keep-alive holds the
 * control connection, the helper's counters and the module parameters.
 * A snapshot as a table (default) or as JSON, or a live event stream.
 *
 * Everything comes from ctnetlink (libnetfilter_conntrack), from
 * /proc/net/nf_ftp_sym and from /sys/module/nf_conntrack_ftp_sym.  See
 * ftp-sym(8).  This file holds the options and main(); the pieces:
 *
 *   conntrack.c     the conntrack and expectation tables (ctnetlink)
 *   proc.c          counters, module parameters, sysctls
 *   format.c        text forms of tuples, states, NAT
 *   render_table.c  the table
 *   render_json.c   the JSON document
 *   watch.c         --watch
 *   check.c         ftp-sym check: the findings
 *   check_report.c  ftp-sym check: text and JSON
 *   ruleset*.c      ftp-sym check: the nft and iptables rulesets
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "conntrack.h"
#include "ftp-sym.h"
#include "proc.h"
#include "render.h"
#include "util.h"
#include "watch.h"

struct ftp_sym_opts opt = {
	.family = AF_UNSPEC,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ftp-sym [-4|-6] [--json] [--watch | --counters]\n"
		"       ftp-sym check [--json] [--interval SECONDS]\n"
		"\n"
		"Show the FTP sessions handled by the ftp-sym conntrack helper in the\n"
		"current network namespace, the helper's counters and parameters;\n"
		"\"check\" tells what is wrong with the helper's setup, and how to fix it.\n"
		"\n"
		"  -4, -6          only IPv4 or only IPv6 sessions\n"
		"  -j, --json      one JSON document (with --watch: one object per line)\n"
		"  -w, --watch     follow conntrack and expectation events until SIGINT/SIGTERM\n"
		"  -c, --counters  only the counters and module parameters\n"
		"  -i, --interval SECONDS\n"
		"                  check: judge the counters by what they do in SECONDS\n"
		"  -h, --help      this help\n"
		"  -V, --version   print the version\n"
		"\n"
		"Exit status: 0 ok, 1 netlink or other failure, 2 usage, 3 module not\n"
		"loaded in this network namespace, 4 permission denied (need CAP_NET_ADMIN),\n"
		"5 check found errors or warnings.\n"
		"See ftp-sym(8).\n");
}

/* Everything written reached stdout, or the exit status says so. */
static int finish(int ret)
{
	if (fflush(stdout) || ferror(stdout)) {
		errmsg("write error: %s", strerror(errno));
		if (!ret || ret == EXIT_PROBLEMS)
			ret = EXIT_FAIL;
	}
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "watch", no_argument, NULL, 'w' },
		{ "counters", no_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct snapshot s = SNAPSHOT_INIT;
	struct vec counters = VEC_INIT(struct kv);
	struct vec params = VEC_INIT(struct kv);
	struct timespec now;
	uint64_t num;
	int c, ret;

	/* For tests and comparisons (see ftp-sym(8), ENVIRONMENT). */
	opt.helper = getenv("FTP_SYM_HELPER");
	if (!opt.helper || !*opt.helper)
		opt.helper = FTP_SYM_HELPER;
	opt.proc_counters = getenv("FTP_SYM_PROC_COUNTERS");
	if (!opt.proc_counters || !*opt.proc_counters)
		opt.proc_counters = PROC_COUNTERS;
	opt.sys_params = getenv("FTP_SYM_SYS_PARAMS");
	if (!opt.sys_params || !*opt.sys_params)
		opt.sys_params = SYS_PARAMS;
	opt.proc_sysctl = getenv("FTP_SYM_PROC_SYSCTL");
	if (!opt.proc_sysctl || !*opt.proc_sysctl)
		opt.proc_sysctl = PROC_SYSCTL;

	while ((c = getopt_long(argc, argv, "46jwci:hV", longopts, NULL)) != -1) {
		switch (c) {
		case '4':
			opt.family = AF_INET;
			break;
		case '6':
			opt.family = AF_INET6;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'w':
			opt.watch = true;
			break;
		case 'c':
			opt.counters = true;
			break;
		case 'i':
			if (!parse_u64(optarg, &num) || !num || num > 3600) {
				errmsg("--interval wants 1 to 3600 seconds, not '%s'",
				       optarg);
				return EXIT_USAGE;
			}
			opt.interval = (unsigned int)num;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("ftp-sym %s\n", FTP_SYM_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc && !strcmp(argv[optind], "check")) {
		opt.check = true;
		optind++;
	}
	if (optind < argc) {
		errmsg("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (opt.watch && opt.counters) {
		errmsg("--watch and --counters exclude each other");
		return EXIT_USAGE;
	}
	if (opt.check && (opt.watch || opt.counters ||
			  opt.family != AF_UNSPEC)) {
		errmsg("check takes only --json and --interval");
		return EXIT_USAGE;
	}
	if (opt.interval && !opt.check) {
		errmsg("--interval is for check");
		return EXIT_USAGE;
	}
	if (opt.check)
		return finish(run_check());

	ret = read_counters(&counters);
	if (ret)
		goto out;
	if (read_params(&params) || overlay_netns_settings(&params)) {
		errmsg("out of memory");
		ret = EXIT_FAIL;
		goto out;
	}

	if (opt.watch) {
		ret = watch();
		goto out;
	}

	if (!opt.counters) {
		ret = snapshot_take(&s);
		if (ret)
			goto out;
	}
	now_real(&now);
	if (opt.json)
		print_json(opt.counters ? NULL : &s, &counters, &params, &now);
	else if (opt.counters)
		print_counters_table(&counters, &params);
	else
		ret = print_table(&s, &counters, &params, &now);
out:
	snapshot_free(&s);
	kv_free(&counters);
	kv_free(&params);
	return finish(ret);
}

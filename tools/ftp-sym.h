/* SPDX-License-Identifier: GPL-2.0-only */
/* ftp-sym: what every part of the tool shares: the version, the exit
 * status, the command-line options and the paths they may override.
 */
#ifndef FTP_SYM_H
#define FTP_SYM_H

#include <stdbool.h>

#define FTP_SYM_VERSION		"1.0"
#define FTP_SYM_SCHEMA		1
#define FTP_SYM_HELPER		"ftp-sym"
#define PROC_COUNTERS		"/proc/net/nf_ftp_sym"
#define SYS_PARAMS		"/sys/module/nf_conntrack_ftp_sym/parameters"
#define PROC_SYSCTL		"/proc/sys/net/netfilter/"

/* Exit status, see ftp-sym(8). */
#define EXIT_OK			0
#define EXIT_FAIL		1	/* netlink or other runtime failure */
#define EXIT_USAGE		2
#define EXIT_NOT_LOADED		3	/* /proc/net/nf_ftp_sym missing */
#define EXIT_PERM		4	/* EPERM: need CAP_NET_ADMIN */
#define EXIT_PROBLEMS		5	/* check: errors or warnings found */

struct ftp_sym_opts {
	bool json;
	bool watch;
	bool counters;
	bool check;
	unsigned int interval;	/* check: seconds between counter reads */
	int family;		/* AF_UNSPEC, AF_INET or AF_INET6 */
	const char *helper;
	const char *proc_counters;
	const char *sys_params;
	const char *proc_sysctl;	/* with a trailing slash */
};

extern struct ftp_sym_opts opt;

#endif /* FTP_SYM_H */

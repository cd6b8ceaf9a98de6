/* SPDX-License-Identifier: GPL-2.0-only */
/* ftp-sym: what the modules show in /proc and /sys: the helper's counters
 * of this network namespace, the module parameters and netfilter sysctls,
 * as lists of name and value strings.
 */
#ifndef FTP_SYM_PROC_H
#define FTP_SYM_PROC_H

#include <stdbool.h>

#include "util.h"

struct kv {
	char *name;
	char *value;
};

/* Free the strings of a vec of struct kv, and the vec. */
void kv_free(struct vec *v);
int kv_add(struct vec *v, const char *name, const char *value);
/* The value of @name in @v, NULL if it is not there. */
const char *kv_get(const struct vec *v, const char *name);

/* The helper's counters in this netns, in file order.  Returns EXIT_OK,
 * EXIT_NOT_LOADED or EXIT_FAIL (message printed).
 */
int read_counters(struct vec *out);
/* The module parameters, sorted by name.  A missing directory gives none.
 * Returns 0, or -1 when out of memory.
 */
int read_params(struct vec *out);
/* A netfilter sysctl of this netns as an integer, -1 if unreadable. */
long read_sysctl(const char *name);
/* keepalive_interval > 0, from @params. */
bool keepalive_enabled(const struct vec *params);

/* The helper's settings as they apply to this network namespace: a
 * per-netns sysctl (/proc/sys/net/netfilter/nf_ftp_sym_NAME) where there
 * is one, else the module parameter NAME.
 */
#define SETTING_SYSCTL_PREFIX	"nf_ftp_sym_"

struct setting {
	char name[64];
	char value[64];
	const char *source;	/* "netns" or "module" */
};

/* Sorted by name.  Returns 0, or -1 when out of memory. */
int read_settings(struct vec *out);
/* Give @params (from read_params()) the values of this namespace's
 * per-netns sysctls, so that what is shown is what applies here.  Returns
 * 0, or -1 when out of memory.
 */
int overlay_netns_settings(struct vec *params);
/* The value of setting @name, NULL if there is none. */
const char *setting_get(const struct vec *settings, const char *name);

#endif /* FTP_SYM_PROC_H */

// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym: counters, module parameters and sysctls (see proc.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftp-sym.h"
#include "proc.h"

void kv_free(struct vec *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(VEC_AT(v, struct kv, i)->name);
		free(VEC_AT(v, struct kv, i)->value);
	}
	vec_free(v);
}

int kv_add(struct vec *v, const char *name, const char *value)
{
	struct kv *e = vec_push(v);

	if (!e)
		return -1;
	e->name = strdup(name);
	e->value = strdup(value);
	if (!e->name || !e->value)
		return -1;
	return 0;
}

/* The helper's counters in this netns, in file order.  Returns EXIT_OK,
 * EXIT_NOT_LOADED or EXIT_FAIL (message printed).
 */
int read_counters(struct vec *out)
{
	char line[256], *sp;
	FILE *f;
	int ret = EXIT_OK;

	f = fopen(opt.proc_counters, "re");
	if (!f) {
		if (errno == ENOENT) {
			errmsg("nf_conntrack_ftp_sym is not loaded in this network namespace"
			       " (no %s)", opt.proc_counters);
			return EXIT_NOT_LOADED;
		}
		errmsg("%s: %s", opt.proc_counters, strerror(errno));
		return EXIT_FAIL;
	}
	while (fgets(line, sizeof(line), f)) {
		strip(line);
		sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp++ = '\0';
		if (kv_add(out, line, sp)) {
			errmsg("out of memory");
			ret = EXIT_FAIL;
			break;
		}
	}
	if (ret == EXIT_OK && ferror(f)) {
		errmsg("%s: read error", opt.proc_counters);
		ret = EXIT_FAIL;
	}
	fclose(f);
	return ret;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->name,
		      ((const struct kv *)b)->name);
}

/* The first line of the file @path, stripped, in @val; false if unreadable. */
static bool read_line_of(const char *path, char *val, size_t size)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	if (!fgets(val, size, f))
		val[0] = '\0';
	fclose(f);
	strip(val);
	return true;
}

/* The module parameters, sorted by name.  A missing directory gives none. */
int read_params(struct vec *out)
{
	char path[512], val[256];
	struct dirent *de;
	DIR *d;

	d = opendir(opt.sys_params);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", opt.sys_params,
			 de->d_name);
		if (!read_line_of(path, val, sizeof(val)))
			continue;
		if (kv_add(out, de->d_name, val)) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (out->n)
		qsort(out->items, out->n, out->size, kv_cmp);
	return 0;
}

const char *kv_get(const struct vec *v, const char *name)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (!strcmp(VEC_AT(v, struct kv, i)->name, name))
			return VEC_AT(v, struct kv, i)->value;
	return NULL;
}

/* A netfilter sysctl of this netns as an integer, -1 if unreadable. */
long read_sysctl(const char *name)
{
	char path[256], buf[64], *end;
	long val;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", opt.proc_sysctl, name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	errno = 0;
	val = strtol(buf, &end, 10);
	if (errno || end == buf)
		return -1;
	return val;
}

/* keepalive_interval > 0, from the module parameters. */
bool keepalive_enabled(const struct vec *params)
{
	const char *v = kv_get(params, "keepalive_interval");
	uint64_t num;

	return v && parse_u64(v, &num) && num > 0;
}

static int setting_cmp(const void *a, const void *b)
{
	return strcmp(((const struct setting *)a)->name,
		      ((const struct setting *)b)->name);
}

static struct setting *setting_slot(struct vec *out, const char *name)
{
	struct setting *st;
	size_t i;

	for (i = 0; i < out->n; i++) {
		st = VEC_AT(out, struct setting, i);
		if (!strcmp(st->name, name))
			return st;
	}
	st = vec_push(out);
	if (st)
		snprintf(st->name, sizeof(st->name), "%s", name);
	return st;
}

/* The per-netns settings (net.netfilter.nf_ftp_sym_NAME) of this
 * namespace, as NAME and value.  A missing directory has none.  Returns 0,
 * or -1 when out of memory.
 */
static int read_netns_settings(struct vec *out)
{
	size_t plen = strlen(SETTING_SYSCTL_PREFIX);
	char path[512], val[64];
	struct dirent *de;
	int ret = 0;
	DIR *d;

	d = opendir(opt.proc_sysctl);
	while (!ret && d && (de = readdir(d))) {
		if (strncmp(de->d_name, SETTING_SYSCTL_PREFIX, plen) ||
		    !de->d_name[plen])
			continue;
		snprintf(path, sizeof(path), "%s%s", opt.proc_sysctl,
			 de->d_name);
		if (read_line_of(path, val, sizeof(val)))
			ret = kv_add(out, de->d_name + plen, val) ? -1 : 0;
	}
	if (d)
		closedir(d);
	return ret;
}

/* Add @src (struct kv, source @source) to @out (struct setting). */
static int settings_add(struct vec *out, const struct vec *src,
			const char *source)
{
	const struct kv *kv;
	struct setting *st;
	size_t i;

	for (i = 0; i < src->n; i++) {
		kv = VEC_AT(src, struct kv, i);
		st = setting_slot(out, kv->name);
		if (!st)
			return -1;
		snprintf(st->value, sizeof(st->value), "%s", kv->value);
		st->source = source;
	}
	return 0;
}

int read_settings(struct vec *out)
{
	struct vec params = VEC_INIT(struct kv);
	struct vec netns = VEC_INIT(struct kv);
	int ret;

	ret = read_params(&params) || read_netns_settings(&netns) ||
	      settings_add(out, &params, "module") ||
	      settings_add(out, &netns, "netns") ? -1 : 0;
	kv_free(&params);
	kv_free(&netns);
	if (!ret && out->n)
		qsort(out->items, out->n, out->size, setting_cmp);
	return ret;
}

/* A boolean module parameter reads Y or N, its sysctl 1 or 0: keep one
 * form, so that an output's type does not depend on where a value came from.
 */
static const char *bool_as_param(const char *param, const char *sysctl)
{
	if ((!strcmp(param, "Y") || !strcmp(param, "N")) &&
	    (!strcmp(sysctl, "0") || !strcmp(sysctl, "1")))
		return sysctl[0] == '1' ? "Y" : "N";
	return sysctl;
}

int overlay_netns_settings(struct vec *params)
{
	struct vec netns = VEC_INIT(struct kv);
	const struct kv *n;
	struct kv *kv;
	size_t i, k;
	int ret;
	char *v;

	ret = read_netns_settings(&netns);
	for (i = 0; !ret && i < netns.n; i++) {
		n = VEC_AT(&netns, struct kv, i);
		for (k = 0; k < params->n; k++) {
			kv = VEC_AT(params, struct kv, k);
			if (!strcmp(kv->name, n->name))
				break;
		}
		if (k == params->n) {
			ret = kv_add(params, n->name, n->value) ? -1 : 0;
			continue;
		}
		v = strdup(bool_as_param(kv->value, n->value));
		if (!v) {
			ret = -1;
			break;
		}
		free(kv->value);
		kv->value = v;
	}
	kv_free(&netns);
	if (!ret && params->n)
		qsort(params->items, params->n, params->size, kv_cmp);
	return ret;
}

const char *setting_get(const struct vec *settings, const char *name)
{
	size_t i;

	for (i = 0; i < settings->n; i++)
		if (!strcmp(VEC_AT(settings, struct setting, i)->name, name))
			return VEC_AT(settings, struct setting, i)->value;
	return NULL;
}

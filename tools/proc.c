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

/* The module parameters, sorted by name.  A missing directory gives none. */
int read_params(struct vec *out)
{
	char path[512], val[256];
	struct dirent *de;
	DIR *d;
	FILE *f;

	d = opendir(opt.sys_params);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", opt.sys_params,
			 de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(val, sizeof(val), f))
			val[0] = '\0';
		fclose(f);
		strip(val);
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

int read_settings(struct vec *out)
{
	struct vec params = VEC_INIT(struct kv);
	char path[512], val[64];
	struct setting *st;
	struct dirent *de;
	size_t i, plen;
	FILE *f;
	DIR *d;
	int ret = 0;

	if (read_params(&params)) {
		kv_free(&params);
		return -1;
	}
	for (i = 0; i < params.n && !ret; i++) {
		st = setting_slot(out, VEC_AT(&params, struct kv, i)->name);
		if (!st) {
			ret = -1;
			break;
		}
		snprintf(st->value, sizeof(st->value), "%s",
			 VEC_AT(&params, struct kv, i)->value);
		st->source = "module";
	}
	kv_free(&params);
	plen = strlen(SETTING_SYSCTL_PREFIX);
	d = opendir(opt.proc_sysctl);
	while (!ret && d && (de = readdir(d))) {
		if (strncmp(de->d_name, SETTING_SYSCTL_PREFIX, plen) ||
		    !de->d_name[plen])
			continue;
		snprintf(path, sizeof(path), "%s%s", opt.proc_sysctl,
			 de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(val, sizeof(val), f))
			val[0] = '\0';
		fclose(f);
		strip(val);
		st = setting_slot(out, de->d_name + plen);
		if (!st) {
			ret = -1;
			break;
		}
		snprintf(st->value, sizeof(st->value), "%s", val);
		st->source = "netns";
	}
	if (d)
		closedir(d);
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
	struct vec settings = VEC_INIT(struct setting);
	const struct setting *st;
	struct kv *kv;
	size_t i, k;
	char *v;
	int ret;

	ret = read_settings(&settings);
	for (i = 0; !ret && i < settings.n; i++) {
		st = VEC_AT(&settings, struct setting, i);
		if (strcmp(st->source, "netns"))
			continue;
		for (k = 0; k < params->n; k++) {
			kv = VEC_AT(params, struct kv, k);
			if (strcmp(kv->name, st->name))
				continue;
			v = strdup(bool_as_param(kv->value, st->value));
			if (!v) {
				ret = -1;
				break;
			}
			free(kv->value);
			kv->value = v;
			break;
		}
		if (k == params->n && kv_add(params, st->name, st->value))
			ret = -1;
	}
	vec_free(&settings);
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

// SPDX-License-Identifier: GPL-2.0-only
/* ftp-sym: messages, growable arrays and string helpers (see util.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftp-sym.h"
#include "util.h"

void errmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("ftp-sym: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A failed netlink operation: EPERM means we lack CAP_NET_ADMIN. */
int netlink_error(const char *what, int err)
{
	if (err == EPERM || err == EACCES) {
		errmsg("need CAP_NET_ADMIN (run as root)");
		return EXIT_PERM;
	}
	errmsg("%s: %s", what, strerror(err));
	return EXIT_FAIL;
}

/* errno after a failed library call, never 0. */
int lib_errno(void)
{
	return errno ? errno : EIO;
}

/* A new zeroed element at the end of @v, NULL when out of memory. */
void *vec_push(struct vec *v)
{
	void *p;

	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;

		p = reallocarray(v->items, cap, v->size);
		if (!p)
			return NULL;
		v->items = p;
		v->cap = cap;
	}
	p = (char *)v->items + v->n * v->size;
	memset(p, 0, v->size);
	v->n++;
	return p;
}

void vec_free(struct vec *v)
{
	free(v->items);
	v->items = NULL;
	v->n = 0;
	v->cap = 0;
}

/* Append to the string of @len bytes in @buf; truncates, never overflows. */
void bufcat(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*len += (size_t)n;
	if (*len >= size)
		*len = size - 1;
}

void now_real(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

void strip(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

bool parse_u64(const char *s, uint64_t *val)
{
	const char *p;

	if (!*s)
		return false;
	for (p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	*val = strtoull(s, NULL, 10);
	return errno == 0;
}

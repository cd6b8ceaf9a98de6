/* SPDX-License-Identifier: GPL-2.0-only */
/* ftp-sym: messages, growable arrays and string helpers. */
#ifndef FTP_SYM_UTIL_H
#define FTP_SYM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define N_ELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* "ftp-sym: " and the message on stderr. */
void __attribute__((format(printf, 1, 2))) errmsg(const char *fmt, ...);
/* A failed netlink operation: EPERM means we lack CAP_NET_ADMIN.
 * Returns the exit status.
 */
int netlink_error(const char *what, int err);
/* errno after a failed library call, never 0. */
int lib_errno(void);

struct vec {
	void *items;
	size_t n, cap, size;
};

#define VEC_INIT(type)		{ .size = sizeof(type) }
#define VEC_AT(v, type, i)	(&((type *)(v)->items)[i])

/* A new zeroed element at the end of @v, NULL when out of memory. */
void *vec_push(struct vec *v);
void vec_free(struct vec *v);

/* Append to the string of @len bytes in @buf; truncates, never overflows. */
void __attribute__((format(printf, 4, 5)))
bufcat(char *buf, size_t size, size_t *len, const char *fmt, ...);

void now_real(struct timespec *ts);
/* Remove trailing newlines, spaces and tabs. */
void strip(char *s);
/* @s as an unsigned decimal number: digits only, fits in 64 bits. */
bool parse_u64(const char *s, uint64_t *val);

/* Run @argv (PATH searched) with stdin from /dev/null.  Its standard
 * output goes into *@out (malloc'd, NUL-terminated, length in *@len), the
 * first line of its standard error into @err.  Returns its exit status,
 * 127 when it could not be started, or -1 on a failure here (errno set).
 */
int run_capture(char *const argv[], char **out, size_t *len,
		char *err, size_t errsize);

#endif /* FTP_SYM_UTIL_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/* ftp-sym: the snapshot as a table (render_table.c) or as one JSON
 * document (render_json.c), and the JSON pieces the watch and the check
 * reuse.
 */
#ifndef FTP_SYM_RENDER_H
#define FTP_SYM_RENDER_H

#include <time.h>

#include "conntrack.h"
#include "json.h"
#include "util.h"

/* The table: sessions, counters and parameters.  Returns an exit status. */
int print_table(const struct snapshot *s, const struct vec *counters,
		const struct vec *params, const struct timespec *now);
void print_counters_table(const struct vec *counters,
			  const struct vec *params);

/* The JSON document of ftp-sym(8); without @s only the counters and the
 * parameters.
 */
void print_json(const struct snapshot *s, const struct vec *counters,
		const struct vec *params, const struct timespec *now);

/* tool, version, schema, time */
void json_header(struct json *j, const struct timespec *now);
/* A counter or parameter value: a number, Y/N as a boolean, or a string. */
void json_value(struct json *j, const char *key, const char *val);
/* An object of the struct kv in @v. */
void json_kv(struct json *j, const char *key, const struct vec *v);
void json_tuple(struct json *j, const char *key, const struct tuple *t);
/* The members every conntrack (control or data) has. */
void json_conn(struct json *j, const struct conn *c,
	       const struct timespec *now);
/* The members only data connections have. */
void json_data_extra(struct json *j, const struct conn *c);
void json_expect(struct json *j, const struct expect *e);

#endif /* FTP_SYM_RENDER_H */

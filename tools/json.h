/* SPDX-License-Identifier: GPL-2.0-only */
/* A small streaming JSON writer for ftp-sym: objects, arrays, strings
 * (escaped, always valid UTF-8 on output), integers, booleans and null.
 * Commas and indentation are handled here; the caller only says what
 * comes next.
 */
#ifndef FTP_SYM_JSON_H
#define FTP_SYM_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH	16

struct json {
	FILE *f;
	bool pretty;		/* newlines and two-space indents */
	int depth;		/* open objects and arrays */
	bool bad;		/* nesting misuse: a bug in the caller */
	bool empty[JSON_MAX_DEPTH];	/* nothing written at that level yet */
};

/* Start a document on @f; @pretty indents it, otherwise it is one line. */
void json_init(struct json *j, FILE *f, bool pretty);
/* End the document: a final newline.  Returns false if the nesting was
 * unbalanced or misused (a bug), true otherwise.
 */
bool json_finish(struct json *j);

/* @key is the member name inside an object, NULL inside an array or at the
 * top level.
 */
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);

/* A NULL @val writes null. */
void json_str(struct json *j, const char *key, const char *val);
void json_u64(struct json *j, const char *key, uint64_t val);
void json_i64(struct json *j, const char *key, int64_t val);
void json_bool(struct json *j, const char *key, bool val);
void json_null(struct json *j, const char *key);
/* Seconds with microseconds, e.g. 1700000000.123456 (a JSON number). */
void json_time(struct json *j, const char *key, int64_t sec, long usec);

/* Write @s as a JSON string literal (with quotes) to @f: ", \ and control
 * characters escaped, invalid UTF-8 replaced by U+FFFD.
 */
void json_write_string(FILE *f, const char *s);

#endif /* FTP_SYM_JSON_H */

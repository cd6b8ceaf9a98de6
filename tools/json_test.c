// SPDX-License-Identifier: GPL-2.0-only
/* Unit test of the JSON writer (json.c): exact output for nesting, commas,
 * indentation and string escaping.  "json_test --emit" prints one document
 * with every case in it, for a check with a real JSON parser.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int failures;

struct str_case {
	const char *in;
	const char *out;
};

static const struct str_case str_cases[] = {
	{ "plain", "\"plain\"" },
	{ "", "\"\"" },
	{ "q\"b\\s/", "\"q\\\"b\\\\s/\"" },
	{ "\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"" },
	{ "\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"" },
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", /* é € U+1F600 */
	  "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
	{ "a\x80z", "\"a\\ufffdz\"" },			/* lone continuation */
	{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },		/* overlong '/' */
	{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },	/* surrogate */
	{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" }, /* > U+10FFFF */
	{ "x\xe2\x82", "\"x\\ufffd\\ufffd\"" },		/* truncated */
	{ "\xff", "\"\\ufffd\"" },
};

/* Output to *@f lands in *@buf (valid after fclose, to be freed). */
static FILE *capture(char **buf, size_t *len)
{
	FILE *f;

	*buf = NULL;
	f = open_memstream(buf, len);
	if (!f) {
		perror("open_memstream");
		exit(1);
	}
	return f;
}

static void expect_eq(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want)) {
		fprintf(stderr, "FAIL %s\n  got:  %s\n  want: %s\n", what, got,
			want);
		failures++;
	}
}

static void test_strings(void)
{
	size_t i, len;
	char *buf;
	FILE *f;

	for (i = 0; i < sizeof(str_cases) / sizeof(str_cases[0]); i++) {
		f = capture(&buf, &len);
		json_write_string(f, str_cases[i].in);
		fclose(f);
		expect_eq("string", buf, str_cases[i].out);
		free(buf);
	}
}

static void emit_doc(FILE *f, bool pretty, bool with_strings)
{
	struct json j;
	size_t i;

	json_init(&j, f, pretty);
	json_obj_begin(&j, NULL);
	json_str(&j, "name", "ftp-sym");
	json_u64(&j, "big", 18446744073709551615ULL);
	json_i64(&j, "neg", -42);
	json_bool(&j, "yes", true);
	json_null(&j, "nothing");
	json_str(&j, "null_str", NULL);
	json_time(&j, "time", 1700000000, 5);
	json_obj_begin(&j, "empty_obj");
	json_obj_end(&j);
	json_arr_begin(&j, "empty_arr");
	json_arr_end(&j);
	json_arr_begin(&j, "list");
	json_u64(&j, NULL, 1);
	json_obj_begin(&j, NULL);
	json_str(&j, "k\"ey", "v");
	json_obj_end(&j);
	json_arr_end(&j);
	if (with_strings) {
		json_arr_begin(&j, "strings");
		for (i = 0; i < sizeof(str_cases) / sizeof(str_cases[0]); i++)
			json_str(&j, NULL, str_cases[i].in);
		json_arr_end(&j);
	}
	json_obj_end(&j);
	if (!json_finish(&j)) {
		fprintf(stderr, "FAIL json_finish on a balanced document\n");
		failures++;
	}
}

static void test_documents(void)
{
	static const char *const compact =
		"{\"name\":\"ftp-sym\",\"big\":18446744073709551615,"
		"\"neg\":-42,\"yes\":true,\"nothing\":null,\"null_str\":null,"
		"\"time\":1700000000.000005,\"empty_obj\":{},\"empty_arr\":[],"
		"\"list\":[1,{\"k\\\"ey\":\"v\"}]}\n";
	static const char *const pretty =
		"{\n"
		"  \"name\": \"ftp-sym\",\n"
		"  \"big\": 18446744073709551615,\n"
		"  \"neg\": -42,\n"
		"  \"yes\": true,\n"
		"  \"nothing\": null,\n"
		"  \"null_str\": null,\n"
		"  \"time\": 1700000000.000005,\n"
		"  \"empty_obj\": {},\n"
		"  \"empty_arr\": [],\n"
		"  \"list\": [\n"
		"    1,\n"
		"    {\n"
		"      \"k\\\"ey\": \"v\"\n"
		"    }\n"
		"  ]\n"
		"}\n";
	struct json j;
	size_t len;
	char *buf;
	FILE *f;

	f = capture(&buf, &len);
	emit_doc(f, false, false);
	fclose(f);
	expect_eq("compact document", buf, compact);
	free(buf);

	f = capture(&buf, &len);
	emit_doc(f, true, false);
	fclose(f);
	expect_eq("pretty document", buf, pretty);
	free(buf);

	/* Misuse is reported, not hidden. */
	f = capture(&buf, &len);
	json_init(&j, f, false);
	json_obj_begin(&j, NULL);
	if (json_finish(&j)) {
		fprintf(stderr, "FAIL json_finish on an unclosed object\n");
		failures++;
	}
	json_init(&j, f, false);
	json_obj_end(&j);
	if (json_finish(&j)) {
		fprintf(stderr, "FAIL json_finish on a stray close\n");
		failures++;
	}
	json_init(&j, f, false);
	json_u64(&j, NULL, 1);
	json_u64(&j, NULL, 2);
	if (json_finish(&j)) {
		fprintf(stderr, "FAIL json_finish on two top-level values\n");
		failures++;
	}
	fclose(f);
	free(buf);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--emit")) {
		emit_doc(stdout, true, true);
		return 0;
	}
	test_strings();
	test_documents();
	if (failures) {
		fprintf(stderr, "json_test: %d failure(s)\n", failures);
		return 1;
	}
	printf("json_test: all passed\n");
	return 0;
}

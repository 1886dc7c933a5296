/* SPDX-License-Identifier: BSD-2-Clause */
/* test-table - text, JSON and CSV rendering of result tables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "tap.h"

/* render - what a printer writes for t, as an allocated string */
static char *
render(const struct table *t, void (*print)(const struct table *, FILE *))
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	print(t, fp);
	fclose(fp);
	return text;
}

static void
print_csv(const struct table *t, FILE *fp)
{
	table_print_csv(t, fp, 1);
}

static struct table *
sample(void)
{
	struct table *t = table_create(4);
	const char *r1[] = { "bob@bad.example", "12", "t", "{\"a\": 1}" };
	const char *r2[] = { "x", "3", "f", NULL };
	const char *r3[] = { "caf\xc3\xa9@x", NULL, NULL, "[]" };

	table_column(t, 0, "address", TABLE_TEXT);
	table_column(t, 1, "n", TABLE_NUMBER);
	table_column(t, 2, "hard", TABLE_BOOL);
	table_column(t, 3, "tags", TABLE_JSON);
	table_add_row(t, r1);
	table_add_row(t, r2);
	table_add_row(t, r3);
	return t;
}

static void
test_text(void)
{
	struct table *t = sample();
	char *text = render(t, table_print_text);

	tap_is_str(text,
		   "address           n  hard  tags\n"
		   "bob@bad.example  12  yes   {\"a\": 1}\n"
		   "x                 3  no    -\n"
		   "caf\xc3\xa9@x            -  -     []\n",
		   "aligned text: numbers right, NULL as -, bools as yes/no, UTF-8 width");
	free(text);
	table_free(&t);
	tap_ok(t == NULL, "table_free clears the pointer");
	table_free(&t);
}

static void
test_record(void)
{
	struct table *t = sample();
	char *text = render(t, table_print_record);

	tap_ok(strncmp(text, "address: bob@bad.example\nn:       12\nhard:    yes\n"
			     "tags:    {\"a\": 1}\n\naddress: x\n", 62) == 0,
	       "a record: one aligned \"name: value\" line per column, a blank line between rows");
	free(text);
	table_free(&t);
}

static void
test_json(void)
{
	struct table *t = sample();
	char *text = render(t, table_print_json);

	tap_is_str(text,
		   "[{\"address\":\"bob@bad.example\",\"n\":12,\"hard\":true,\"tags\":{\"a\": 1}},"
		   "{\"address\":\"x\",\"n\":3,\"hard\":false,\"tags\":null},"
		   "{\"address\":\"caf\xc3\xa9@x\",\"n\":null,\"hard\":null,\"tags\":[]}]",
		   "JSON array with typed values");
	free(text);
	text = render(t, table_print_json_lines);
	tap_ok(strncmp(text, "{\"address\":\"bob@bad.example\"", 28) == 0 &&
		       strchr(text, '\n') != NULL && text[strlen(text) - 1] == '\n',
	       "JSON lines: one object per line");
	free(text);
	table_free(&t);
}

static void
test_escapes(void)
{
	static const struct {
		const char *in;
		enum table_type type;
		const char *json;
	} cases[] = {
		{ "a\"b\\c", TABLE_TEXT, "\"a\\\"b\\\\c\"" },
		{ "line\nbreak\ttab\r", TABLE_TEXT, "\"line\\nbreak\\ttab\\r\"" },
		{ "esc\x1b[31m", TABLE_TEXT, "\"esc\\u001b[31m\"" },
		{ "0.5000", TABLE_NUMBER, "0.5000" },
		{ "-12e+3", TABLE_NUMBER, "-12e+3" },
		{ "NaN", TABLE_NUMBER, "\"NaN\"" },
		{ "01", TABLE_NUMBER, "\"01\"" },
		{ "1.", TABLE_NUMBER, "\"1.\"" },
		{ "true", TABLE_BOOL, "true" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&text, &len);

		table_json_value(cases[i].in, cases[i].type, fp);
		fclose(fp);
		tap_is_str(text, cases[i].json, "JSON value %zu", i);
		free(text);
	}
}

static void
test_printable(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain@example.org", "plain@example.org" },
		{ "esc\x1b[2Jx", "esc?[2Jx" },
		{ "nl\nx\x7f", "nl?x?" },
		{ "c1\xc2\x9b" "31m", "c1?31m" },
		{ "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac" },
		{ "bad\xff\xc3", "bad??" },
	};
	char out[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		table_printable(cases[i].in, out, sizeof(out));
		tap_is_str(out, cases[i].out, "printable %zu", i);
	}
	table_printable("\xe2\x82\xac\xe2\x82\xac", out, 5);
	tap_is_str(out, "\xe2\x82\xac", "cut at a character boundary");
	tap_is_int((long long)table_width("caf\xc3\xa9"), 4, "width counts characters");
}

static void
test_csv(void)
{
	struct table *t = table_create(3);
	const char *r1[] = { "a,b", "say \"hi\"", NULL };
	const char *r2[] = { " padded", "multi\nline", "plain" };
	char *text;

	table_column(t, 0, "x", TABLE_TEXT);
	table_column(t, 1, "y", TABLE_TEXT);
	table_column(t, 2, "z", TABLE_TEXT);
	table_add_row(t, r1);
	table_add_row(t, r2);
	text = render(t, print_csv);
	tap_is_str(text, "x,y,z\n\"a,b\",\"say \"\"hi\"\"\",\n\" padded\",\"multi\nline\",plain\n",
		   "CSV quoting (RFC 4180), NULL as empty");
	free(text);
	table_free(&t);
}

int
main(void)
{
	test_text();
	test_record();
	test_json();
	test_escapes();
	test_printable();
	test_csv();
	return tap_done();
}

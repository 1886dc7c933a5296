/* SPDX-License-Identifier: BSD-2-Clause */
/* test-mtags - X-Rebound-Tag header parsing and its bounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtags.h"
#include "tap.h"

static const struct {
	const char *value;
	const char *json;	/* NULL: the header must be refused */
} cases[] = {
	{ "campaign=spring", "{\"campaign\": \"spring\"}" },
	{ " a = 1 ;b=two words ; ", "{\"a\": \"1\", \"b\": \"two words\"}" },
	{ "a=1; a=2", "{\"a\": \"2\"}" },
	{ "k=", "{\"k\": \"\"}" },
	{ "q=\"quoted\\\\\"", "{\"q\": \"\\\"quoted\\\\\\\\\\\"\"}" },
	{ "", NULL },
	{ " ; ", NULL },
	{ "novalue", NULL },
	{ "=x", NULL },
	{ "bad key=1", NULL },
	{ "k=caf\xc3\xa9", NULL },
	{ "a=1; junk", NULL },
};

int
main(void)
{
	char longkey[MTAGS_KEY_MAX + 8], longval[MTAGS_VALUE_MAX + 8], many[1024];
	const char *error;
	struct mtags *t;
	char *json;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		t = mtags_create();
		ret = mtags_parse(t, cases[i].value, &error);
		json = mtags_json(t);
		if (cases[i].json == NULL) {
			tap_ok(ret < 0 && strcmp(json, "{}") == 0, "refused: \"%s\"", cases[i].value);
		} else {
			tap_ok(ret == 0, "parsed: \"%s\"", cases[i].value);
			tap_is_str(json, cases[i].json, "json of \"%s\"", cases[i].value);
		}
		free(json);
		mtags_free(&t);
	}

	/* A bad header leaves the tags of earlier headers alone. */
	t = mtags_create();
	tap_ok(mtags_parse(t, "a=1", &error) == 0, "first header");
	tap_ok(mtags_parse(t, "b=2; bad", &error) < 0, "second header refused");
	json = mtags_json(t);
	tap_is_str(json, "{\"a\": \"1\"}", "first header's tags kept whole");
	free(json);
	mtags_free(&t);

	/* Bounds: key and value length, number of tags. */
	memset(longkey, 'k', MTAGS_KEY_MAX + 1);
	strcpy(longkey + MTAGS_KEY_MAX + 1, "=v");
	t = mtags_create();
	tap_ok(mtags_parse(t, longkey, &error) < 0, "key of %d characters refused",
	       MTAGS_KEY_MAX + 1);
	longkey[MTAGS_KEY_MAX] = '=';
	longkey[MTAGS_KEY_MAX + 1] = '\0';
	tap_ok(mtags_parse(t, longkey, &error) == 0, "key of %d characters taken", MTAGS_KEY_MAX);
	mtags_free(&t);
	strcpy(longval, "v=");
	memset(longval + 2, 'x', MTAGS_VALUE_MAX + 1);
	longval[MTAGS_VALUE_MAX + 3] = '\0';
	t = mtags_create();
	tap_ok(mtags_parse(t, longval, &error) < 0, "value too long refused");
	longval[MTAGS_VALUE_MAX + 2] = '\0';
	tap_ok(mtags_parse(t, longval, &error) == 0, "value of %d characters taken",
	       MTAGS_VALUE_MAX);
	mtags_free(&t);
	for (int i = 0; i < MTAGS_MAX + 1; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "k%d=%d;", i, i);
	t = mtags_create();
	tap_ok(mtags_parse(t, many, &error) < 0, "%d tags refused", MTAGS_MAX + 1);
	tap_is_int((long long)mtags_count(t), 0, "and none kept");
	mtags_free(&t);
	return tap_done();
}

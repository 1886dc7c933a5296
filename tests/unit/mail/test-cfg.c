/* SPDX-License-Identifier: BSD-2-Clause */
/* test-cfg - rebound.conf parsing, defaults and errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/cfg.h"
#include "tap.h"

static const struct {
	const char *text;
	const char *error;	/* substring of the error, NULL for success */
} cases[] = {
	{ "", NULL },
	{ "# comment\n\n  # indented comment\n", NULL },
	{ "database = dbname=x\n", NULL },
	{ "bogus = 1\n", "test.conf, line 1: unknown parameter \"bogus\"" },
	/* Typos get a suggestion: a letter wrong, missing, doubled, swapped. */
	{ "datbase = x\n", "unknown parameter \"datbase\" (did you mean \"database\"?)" },
	{ "milter_scoket = x\n", "\"milter_scoket\" (did you mean \"milter_socket\"?)" },
	{ "bounce_domain = x\n", "\"bounce_domain\" (did you mean \"bounce_domains\"?)" },
	{ "token_keyfile = x\n", "\"token_keyfile\" (did you mean \"token_key_file\"?)" },
	{ "Log_File = x\n", "\"Log_File\" (did you mean \"log_file\"?)" },
	/* A name left without its first words. */
	{ "pid_file = x\n", "\"pid_file\" (did you mean \"milter_pid_file\"?)" },
	{ "\n\nmax_message_size = lots\n", "test.conf, line 3: max_message_size: bad size" },
	{ "max_message_size = 1k\n", "line 1: max_message_size: value \"1k\" out of range" },
	{ "db_connect_timeout = 5x\n", "line 1: db_connect_timeout: bad time" },
	{ "verp_delimiters = +\n", "verp_delimiters: want two characters" },
	{ "verp_delimiters = ab\n", "verp_delimiters: want two characters" },
	{ "raw_messages = some\n", "raw_messages: bad value" },
	{ "database\n", "line 1: missing '='" },
	{ "   continued = 1\n", "line 1: continuation line without a setting" },
};

/*
 * check_manual - every parameter in the table is documented in
 * rebound.conf(5) as ".It Cm name No =", and the page documents no
 * parameter that does not exist.
 */
static void
check_manual(const char *path)
{
	FILE *fp = fopen(path, "r");
	char line[512];
	int documented[128] = { 0 };
	int stray = 0;

	if (!tap_ok(fp != NULL, "read %s (run from the top of the tree)", path))
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		char name[64];
		size_t i;

		if (sscanf(line, ".It Cm %63s No =", name) != 1)
			continue;
		for (i = 0; cfg_param_name(i) != NULL; i++)
			if (strcmp(cfg_param_name(i), name) == 0)
				break;
		if (cfg_param_name(i) == NULL || i >= 128) {
			tap_diag("documented but unknown: %s", name);
			stray++;
		} else {
			documented[i] = 1;
		}
	}
	fclose(fp);
	for (size_t i = 0; cfg_param_name(i) != NULL && i < 128; i++)
		tap_ok(documented[i], "%s documented in %s", cfg_param_name(i), path);
	tap_is_int(stray, 0, "no undocumented-but-listed parameters");
}

int
main(void)
{
	struct cfg *cfg;
	char *error;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = cfg_parse(cases[i].text, strlen(cases[i].text), "test.conf", &cfg, &error);

		if (cases[i].error == NULL) {
			tap_is_int(ret, 0, "accepts case %zu", i);
			cfg_free(&cfg);
			continue;
		}
		tap_is_int(ret, -1, "rejects case %zu", i);
		tap_ok(ret < 0 && strstr(error, cases[i].error) != NULL, "error \"%s\" contains \"%s\"",
		       ret < 0 ? error : "", cases[i].error);
		if (ret < 0)
			free(error);
	}

	tap_is_int(cfg_parse("bogus = 1\n", 10, "t", &cfg, &error), -1, "an unknown name");
	tap_is_str(error, "t, line 1: unknown parameter \"bogus\"", "far from every name: no suggestion");
	free(error);

	tap_is_int(cfg_parse("", 0, "empty", &cfg, &error), 0, "defaults");
	tap_is_str(cfg->database, "dbname=rebound", "default database");
	tap_is_int((long long)cfg->max_message_size, 10 * 1024 * 1024, "default size cap");
	tap_is_str(cfg->verp_delimiters, "+=", "default delimiters");
	tap_ok(cfg->local_mta_names[0] == NULL, "local_mta_names, obsolete, is empty by default");
	cfg_free(&cfg);
	tap_ok(cfg == NULL, "cfg_free clears the pointer");

	{
		static const char text[] =
			"database = host=/tmp\n"
			"    dbname=rebound\n"
			"sender_domains = mta.example.test,\n"
			"\tmx2.example.test  Other.Example\n"
			"max_message_size = 2m\n"
			"db_statement_timeout = 2m\n"
			"raw_messages = all\n"
			"database = host=/run dbname=final\n";

		tap_is_int(cfg_parse(text, strlen(text), "t", &cfg, &error), 0, "full file");
		tap_is_str(cfg->database, "host=/run dbname=final", "later setting wins");
		tap_is_str(cfg->sender_domains[1], "mx2.example.test", "list continuation");
		tap_is_str(cfg->sender_domains[2], "Other.Example", "list separated by blanks too");
		tap_ok(cfg->sender_domains[3] == NULL, "three list entries");
		tap_is_int((long long)cfg->max_message_size, 2 * 1024 * 1024, "size in m");
		tap_is_int(cfg->db_statement_timeout, 120, "time in minutes");
		tap_is_int(cfg->raw_messages, CFG_RAW_ALL, "raw_messages all");
		cfg_free(&cfg);
	}
	tap_is_int(cfg_load("/nonexistent/rebound.conf", &cfg, &error), -1, "missing file");
	tap_ok(strstr(error, "/nonexistent/rebound.conf") != NULL, "error names the file");
	free(error);
	tap_ok(cfg_param_name(0) != NULL, "parameter table is visible");
	check_manual("man/rebound.conf.5");
	return tap_done();
}
